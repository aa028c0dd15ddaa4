// A popup presenter that runs the host's SwiftUI/UIKit code on the main actor.
//
// Reach offers popups on its own presenter thread and waits for the answer; drawing must
// happen on the main thread. This adapter hops there and waits, bounded: a main thread
// that is busy (a long layout, a modal alert's nested run loop) must not hold the
// presenter thread, so after `timeout` the offer is answered `.later(delayMs: 5000)` and
// the late main-thread task does nothing (the same rule as the Kotlin wrapper's
// mainThreadPresenter).

import Dispatch
import Foundation
import ReachFFI

/// The answer given when the main actor did not run the host's code in time: offered
/// again 5 s later (a busy main thread is usually free by then), nothing counted meanwhile.
let lateMainActorDecision = PresenterDecision.later(delayMs: 5_000)

extension Reach {
    /// A presenter that calls `show` on the main actor and returns its decision:
    ///
    ///     try Reach.shared.setPopupPresenter(Reach.mainActorPresenter { popup in
    ///         model.current = popup      // SwiftUI state, on the main actor
    ///         return .showNow
    ///     })
    ///
    /// - Parameters:
    ///   - timeout: how long Reach's presenter thread waits for the main actor to
    ///     start `show` (2 s). When it has not started by then the offer is answered
    ///     `.later(delayMs: 5000)` and `show` is never called for it.
    ///   - show: runs on the main actor; return `.showNow` (then report
    ///     `popupShown(_:)`), `.later(delayMs:)` or `.discard`.
    public static func mainActorPresenter(
        timeout: TimeInterval = 2,
        _ show: @escaping @MainActor @Sendable (Popup) -> PresenterDecision
    ) -> PopupHandler {
        { popup in
            // Reach never offers on the main thread; if a host calls the handler
            // there itself, hopping and waiting would only wait out the timeout.
            if Thread.isMainThread {
                return MainActor.assumeIsolated { show(popup) }
            }
            let hop = MainActorHop()
            DispatchQueue.main.async {
                guard hop.start() else { return }  // too late: answered already
                let decision = MainActor.assumeIsolated { show(popup) }
                hop.finish(decision)
            }
            return hop.wait(timeout: timeout) ?? lateMainActorDecision
        }
    }
}

/// One offer's trip to the main actor: whoever comes first, the main-thread task
/// (`start`) or the time-out (`wait`), decides; a task that started is waited for.
private final class MainActorHop: @unchecked Sendable {
    private enum State {
        case waiting, running, done(PresenterDecision), abandoned
    }

    private let condition = NSCondition()
    private var state = State.waiting

    /// On the main thread: false when the presenter thread gave up already.
    func start() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard case .waiting = state else { return false }
        state = .running
        return true
    }

    func finish(_ decision: PresenterDecision) {
        condition.lock()
        state = .done(decision)
        condition.broadcast()
        condition.unlock()
    }

    /// On the presenter thread: the decision, or nil when the main actor did not start
    /// within `timeout`. Once started, `show` is waited for to the end: its popup may
    /// already be on screen, and answering `.later` would offer it twice.
    func wait(timeout: TimeInterval) -> PresenterDecision? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            switch state {
            case .done(let decision):
                return decision
            case .waiting:
                if !condition.wait(until: deadline), case .waiting = state {
                    state = .abandoned
                    return nil
                }
            case .running:
                condition.wait()
            case .abandoned:
                return nil
            }
        }
    }
}
