// `Reach.setup(config:logSink:)` once, then `Reach.shared` everywhere, as Airship's
// `takeOff` / `Airship.shared` and Braze's shared instance: app code never passes an
// instance around, and a call made before setup (a view's `onAppear` racing the app
// delegate) is kept instead of lost (braze-web-sdk#45 is the bug this prevents).

import Foundation
import ReachFFI

extension Reach {
    /// The instance `Reach.setup(config:logSink:)` opens. It exists before setup:
    /// until then it keeps recording calls (up to 1,000, oldest dropped first and
    /// counted as `pre_setup_overflow` in `diagnostics()`), each with the time it
    /// was made, and applies them at setup, in order. A presenter, claim client or
    /// log sink set before setup is installed at setup.
    public static let shared = Reach(pending: ())

    /// Opens `Reach.shared`; call it once, early (e.g. in your `App`'s `init` or
    /// `application(_:didFinishLaunchingWithOptions:)`).
    ///
    /// A second call is ignored (and logged): the shared instance stays as it is.
    ///
    /// Outside strict mode this never throws: if the data directory cannot be
    /// opened (another process holds it, `ReachError.AlreadyOpen`, or storage
    /// fails), the shared instance is disabled, logs why once, and refuses every
    /// call, counting them as `disabled` in `diagnostics()`: analytics must not
    /// take the app down. In strict mode the error is thrown and the instance
    /// stays unopened (calls are still buffered), so setup may be retried.
    @discardableResult
    public static func setup(config: ReachConfig, logSink: LogHandler? = nil) throws -> Reach {
        try shared.open(config: config, logSink: logSink, disableOnFailure: true)
        return shared
    }

    /// Opens a pending instance: `Reach.shared` at setup, and every app-owned
    /// instance in its initializer (`disableOnFailure: false`: it throws as before).
    func open(config: ReachConfig, logSink: LogHandler?, disableOnFailure: Bool) throws {
        if let logSink { settings.setHandler(logSink) }
        guard calls.beginOpening() else {
            settings.log(.warn, "Reach.setup was called again and ignored: Reach is already set up")
            return
        }
        settings.strict = config.strict
        let core: ReachFFI.Reach
        do {
            core = try ReachFFI.Reach(
                config: config, logSink: settings.handler.map(ClosureLogSink.init))
        } catch {
            if config.strict || !disableOnFailure {
                calls.abortOpening()
                throw error
            }
            calls.disable()
            settings.log(
                .error,
                "Reach is disabled: it could not open \(config.dataDir) (\(error)). Every call is "
                    + "refused and counted as \"disabled\" in diagnostics().")
            return
        }
        calls.finishOpening(core: core, strict: config.strict)
    }
}
