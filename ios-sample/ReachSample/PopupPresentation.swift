// Reach's popups drawn with SwiftUI: `PopupCenter` receives offers on the main actor
// (Reach.mainActorPresenter) and `.reachPopups(_:)` draws the current one by template:
// modal → a sheet, banner → an overlay at the top, fullscreen → a full-screen cover.
// Every outcome is reported back: shown when it appears, clicked with the button's id
// (deep links are opened), dismissed when closed without a button.

import Reach
import SwiftUI

@MainActor
final class PopupCenter: ObservableObject {
    @Published var current: Popup?

    init() {
        // Installed on Reach.shared even before setup: it is kept until then.
        try? Reach.shared.setPopupPresenter(Reach.mainActorPresenter { [weak self] popup in
            guard let self else { return .discard }
            // Drawn by no view below: shown it would stay `current` for good, never reported
            // as shown and blocking every later popup.
            guard popup.template != .custom else { return .discard }
            guard self.current == nil else { return .later(delayMs: 10_000) }  // one at a time
            self.current = popup
            return .showNow
        })
    }

    func appeared(_ popup: Popup) {
        try? Reach.shared.popupShown(popup.offerId)
    }

    func tapped(_ button: PopupButton, of popup: Popup, open: OpenURLAction) {
        try? Reach.shared.popupClicked(popup.offerId, button: button.id)
        if case .deepLink(let url) = button.action, let target = URL(string: url) {
            open(target)
        }
        current = nil
    }

    /// Closed without a button (swipe down, the banner's close).
    func dismissed(_ popup: Popup) {
        guard current?.offerId == popup.offerId else { return }  // already handled by a tap
        try? Reach.shared.popupDismissed(popup.offerId)
        current = nil
    }
}

extension View {
    /// Draws the popups `center` receives over this view.
    func reachPopups(_ center: PopupCenter) -> some View {
        modifier(PopupPresentation(center: center))
    }
}

private struct PopupPresentation: ViewModifier {
    @ObservedObject var center: PopupCenter

    private func binding(for template: PopupTemplate) -> Binding<Bool> {
        Binding(
            get: { center.current?.template == template },
            set: { shown in
                if !shown, let popup = center.current { center.dismissed(popup) }
            })
    }

    func body(content: Content) -> some View {
        content
            .sheet(isPresented: binding(for: .modal)) {
                if let popup = center.current { PopupCard(popup: popup, center: center) }
            }
            .fullScreenCover(isPresented: binding(for: .fullscreen)) {
                if let popup = center.current { PopupCard(popup: popup, center: center) }
            }
            .overlay(alignment: .top) {
                if let popup = center.current, popup.template == .banner {
                    PopupCard(popup: popup, center: center, compact: true)
                        .background(.regularMaterial, in: RoundedRectangle(cornerRadius: 12))
                        .padding()
                        .transition(.move(edge: .top))
                }
            }
            .animation(.default, value: center.current?.offerId)
    }
}

/// A popup's title, body and buttons, for every template.
private struct PopupCard: View {
    let popup: Popup
    let center: PopupCenter
    var compact = false
    @Environment(\.openURL) private var openURL

    var body: some View {
        VStack(alignment: compact ? .leading : .center, spacing: 12) {
            if let title = popup.title {
                Text(title).font(compact ? .headline : .title).accessibilityAddTraits(.isHeader)
            }
            if let text = popup.body {
                Text(text).font(.body)
            }
            HStack {
                ForEach(popup.buttons, id: \.id) { button in
                    Button(button.text) { center.tapped(button, of: popup, open: openURL) }
                        .buttonStyle(.borderedProminent)
                }
                if compact {
                    Button("Close") { center.dismissed(popup) }
                        .accessibilityLabel("Close the message")
                }
            }
        }
        .padding()
        .accessibilityElement(children: .contain)
        .onAppear { center.appeared(popup) }
    }
}
