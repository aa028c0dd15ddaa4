// The app's entry point: Reach is set up once, before the first view, with the bundled
// pack (so the registration popup works offline on the first launch), the system log
// sink and the local reference server; the background upload task is registered here
// because BGTaskScheduler requires it before launch finishes.

import Reach
import SwiftUI

/// Info.plist lists it under BGTaskSchedulerPermittedIdentifiers.
let uploadTaskIdentifier = "dev.reach.sample.upload"

/// Kept for the app's life: UNUserNotificationCenter holds its delegate weakly.
let localNotifications = LocalNotifications()

@main
struct ReachSampleApp: App {
    @Environment(\.scenePhase) private var scenePhase
    @StateObject private var popups = PopupCenter()
    /// `.inactive` → `.active` (Control Center, a system alert, the app switcher) is no
    /// return to the app: only the first `.active` after `.background` (or launch) is, or
    /// each would record another `app_open` and re-offer deferred popups.
    @State private var inBackground = true

    init() {
        do {
            let config = ReachConfig(
                dataDir: try Reach.defaultDataDirectory(),
                app: .current(),
                consent: .granted,  // a real app asks first and starts with .pending
                bundledRulePack: try Reach.bundledRulePack(),
                // The reference server (README.md "Reference server"); the simulator
                // shares the Mac's localhost.
                serverUrl: "http://localhost:8787",
                writeKey: "wk-demo",
                // CFBundleURLSchemes in project.yml: a pack's popup may link only to the
                // app's own scheme or to https.
                appUrlSchemes: ["reachsample"])
            try Reach.setup(config: config, logSink: Reach.systemLogSink(subsystem: "dev.reach.sample"))
        } catch {
            // Outside strict mode setup never throws; only the data directory can fail.
            assertionFailure("Reach could not start: \(error)")
        }
        Reach.registerBackgroundUpload(identifier: uploadTaskIdentifier)
        localNotifications.install()
    }

    var body: some Scene {
        WindowGroup {
            RegistrationView()
                .reachPopups(popups)
        }
        .onChange(of: scenePhase) { phase in
            switch phase {
            case .active where inBackground:
                inBackground = false
                try? Reach.shared.onForeground()
            case .background:
                inBackground = true
                Reach.shared.onBackground()  // flushes, bounded
                Reach.scheduleBackgroundUpload(identifier: uploadTaskIdentifier)
            default:
                break
            }
        }
    }
}
