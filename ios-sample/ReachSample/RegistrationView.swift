// The registration screen: each button records the event a campaign of the bundled pack
// waits for (reach-rules.json), so each popup template can be seen without a server.

import Reach
import SwiftUI

struct RegistrationView: View {
    @State private var phone = ""
    @State private var registered = false

    var body: some View {
        NavigationView {
            Form {
                Section("Create your account") {
                    TextField("Phone number", text: $phone)
                        .keyboardType(.phonePad)
                        .textContentType(.telephoneNumber)
                    Button("Register with SMS") {
                        // The modal "New member lottery" answers this event, once.
                        try? Reach.shared.track("register", ["method": "sms"])
                        try? Reach.shared.identify("sample-\(phone.isEmpty ? "anonymous" : phone)")
                        registered = true
                    }
                    .disabled(registered)
                }
                #if DEBUG
                Section("QA") {
                    // Debug builds only: the lottery popup now, whatever its caps; its events
                    // carry "test": true, so the server's stats leave them out.
                    Button("Preview the lottery popup") {
                        try? Reach.shared.preview("new-user-lottery")
                    }
                }
                #endif
                Section("After registering") {
                    Button("Complete profile") {
                        try? Reach.shared.track("profile_completed", ["fields": 4])  // a banner
                    }
                    Button("Start the tour") {
                        try? Reach.shared.track("tour_started")  // a fullscreen popup
                    }
                }
            }
            .navigationTitle("Reach sample")
            .onAppear { try? Reach.shared.screen("Registration") }
        }
    }
}
