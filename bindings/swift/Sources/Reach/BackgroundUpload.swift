// Uploading stored events while the app is in the background.
//
// `uploadNow(timeoutMs:)` is the core's one-shot upload: commit what is queued, send what
// is stored, stop at the deadline. iOS grants a background app refresh task about 30 s and
// ends it with an expiration handler, so `BackgroundUpload` runs the upload off the calling
// thread, completes exactly once (success, failure or expiration, whichever comes first),
// and the BGTaskScheduler glue below (iOS only) registers and reschedules the task.
// The core part is Foundation-only, so it is tested on Linux.

import Foundation
import ReachFFI

public typealias UploadOutcome = ReachFFI.UploadOutcome
/// Why `uploadNow(timeoutMs:)` stopped: `.drained` (nothing left), `.failed`, `.timedOut`,
/// `.consentNotGranted`, `.noServer` (no `ReachConfig.serverUrl`) or `.closed`.
public typealias UploadStop = ReachFFI.UploadStop

/// The bound on one background upload: inside the ~30 s iOS gives an app refresh task,
/// with time left to commit and report completion before the system's deadline.
public let backgroundUploadTimeoutMs: UInt64 = 25_000

extension Reach {
    /// Commits what is queued, then uploads what is stored, once, waiting at most
    /// `timeoutMs`. For background tasks (see `BackgroundUpload`); it blocks on
    /// the network, so **never call it on the main thread**.
    ///
    /// Before `Reach.setup`, after `close()` and on a disabled instance it answers
    /// `.closed` at once.
    public func uploadNow(timeoutMs: UInt64 = backgroundUploadTimeoutMs) -> UploadOutcome {
        switch calls.drained() {
        case .core(let core):
            return core.uploadNow(timeoutMs: timeoutMs)
        case .notSetUp:
            return UploadOutcome(
                acknowledged: 0, remaining: 0, stop: .closed, detail: "Reach.setup has not been called")
        case .disabled:
            return UploadOutcome(
                acknowledged: 0, remaining: 0, stop: .closed,
                detail: "Reach is disabled (its data directory could not be opened)")
        }
    }
}

/// One background upload: `uploadNow` on its own thread, reported once to `completion`.
public final class BackgroundUpload: @unchecked Sendable {
    private let lock = NSLock()
    private var completion: (@Sendable (Bool) -> Void)?

    private init(completion: @escaping @Sendable (Bool) -> Void) {
        self.completion = completion
    }

    /// Whether an outcome means the task did its work: everything was sent, or there
    /// was nothing it could do (no server configured, consent not granted). A failure,
    /// a time-out or a closed instance asks the system to try again later.
    public static func succeeded(_ outcome: UploadOutcome) -> Bool {
        switch outcome.stop {
        case .drained, .noServer, .consentNotGranted: return true
        case .failed, .timedOut, .closed: return false
        }
    }

    /// Starts an upload on a background thread (named `reach-background-upload`) and
    /// calls `completion` once: with `succeeded(outcome)`, or with `false` if
    /// `expire()` comes first.
    @discardableResult
    public static func start(
        _ reach: Reach, timeoutMs: UInt64 = backgroundUploadTimeoutMs,
        completion: @escaping @Sendable (Bool) -> Void
    ) -> BackgroundUpload {
        let run = BackgroundUpload(completion: completion)
        let thread = Thread {
            let outcome = reach.uploadNow(timeoutMs: timeoutMs)
            run.complete(succeeded(outcome))
        }
        thread.name = "reach-background-upload"
        thread.start()
        return run
    }

    /// The system is ending the task (a BGTask's expiration handler): completes now
    /// with `false`. The upload itself stops at its own deadline; what it sent is
    /// acknowledged, what it did not stays stored for the next run.
    public func expire() {
        complete(false)
    }

    private func complete(_ success: Bool) {
        lock.lock()
        let once = completion
        completion = nil
        lock.unlock()
        once?(success)
    }
}

#if canImport(BackgroundTasks) && os(iOS)
    import BackgroundTasks

    /// A BGTask crosses to the upload thread only to be completed, which BGTask allows
    /// from any thread.
    private struct CompletableTask: @unchecked Sendable {
        let task: BGTask
    }

    extension Reach {
        /// How often a background upload is requested: the system decides when it
        /// really runs (often less often), so asking for more gains nothing.
        public static let backgroundUploadInterval: TimeInterval = 15 * 60

        /// Registers the background upload task. Call it before the app finishes
        /// launching (BGTaskScheduler's rule), with an identifier listed under
        /// `BGTaskSchedulerPermittedIdentifiers` in Info.plist, and `fetch` in
        /// `UIBackgroundModes`; then call `scheduleBackgroundUpload(identifier:)`
        /// when the app goes to the background.
        ///
        /// Each run uploads with `uploadNow(timeoutMs:)` and schedules the next one.
        @discardableResult
        public static func registerBackgroundUpload(
            identifier: String, reach: Reach = .shared,
            timeoutMs: UInt64 = backgroundUploadTimeoutMs
        ) -> Bool {
            BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
                scheduleBackgroundUpload(identifier: identifier, reach: reach)
                let completable = CompletableTask(task: task)
                let run = BackgroundUpload.start(reach, timeoutMs: timeoutMs) { success in
                    completable.task.setTaskCompleted(success: success)
                }
                task.expirationHandler = { run.expire() }
            }
        }

        /// Asks for the next background upload, no earlier than `after` seconds from
        /// now. A refusal (the simulator, Background App Refresh off) is logged.
        public static func scheduleBackgroundUpload(
            identifier: String, reach: Reach = .shared,
            after: TimeInterval = backgroundUploadInterval
        ) {
            let request = BGAppRefreshTaskRequest(identifier: identifier)
            request.earliestBeginDate = Date(timeIntervalSinceNow: after)
            do {
                try BGTaskScheduler.shared.submit(request)
            } catch {
                reach.settings.log(.warn, "background upload not scheduled: \(error)")
            }
        }
    }
#endif
