// The Swift face of Reach: a thin, Foundation-only wrapper over the generated
// uniffi bindings (module `ReachFFI`). It exists so that apps write
// `try reach.track("signup", ["plan": "pro", "seats": 3])` with an ordinary
// `[String: Any]` instead of building `PropertyValue` enums, and pass a closure
// instead of implementing a foreign-trait protocol. The calls are the Rust core's;
// where they go first (the pre-setup buffer, the dispatch queue, or straight to
// the core) is decided in CallQueue.swift, and `Reach.setup` / `Reach.shared` live
// in SharedInstance.swift.
//
// Foundation only (no UIKit/SwiftUI) so the same source compiles on iOS, macOS
// and Linux, where the tests run. Lifecycle hooks (`onForeground()`,
// `onBackground()`) are called by the app from its own UIKit/SwiftUI code.

import Foundation
import ReachFFI

/// One Reach instance per data directory.
///
/// Thread-safe: every method may be called from any thread. `track()` and the
/// other recording calls (`screen`, `identify`, `setUserProperties`,
/// `unsetUserProperties`, `reset`, `setConsent`, `onForeground`) stamp the call
/// with the caller's time and queue it; Reach's `reach-dispatch` thread hands
/// queued calls to the core in batches, in order. A call that waits or answers
/// (`flush()`, `consent`, `diagnostics()`, `explain`, popup reports, `close()`,
/// `uploadNow`...) first applies what this thread queued, so it sees it. Only
/// `flush()`, `onBackground()`, `close()` and `uploadNow` wait, each bounded.
///
/// In strict mode (`ReachConfig.strict`, for debug builds) nothing is queued:
/// every call goes to the core directly so that refusals throw on the caller's
/// thread.
///
/// Releasing the last reference without `close()` is safe: the Rust worker
/// still commits everything already enqueued and then frees the directory. It
/// does so in the background, which is why `deinit` does not call `close()`:
/// a bounded but real wait on whatever thread happens to drop the last
/// reference (often the main thread) is worse than an asynchronous release.
/// Call `close()` when you need the directory free at a known moment.
public final class Reach: Sendable {
    let calls = CallQueue()
    /// The app's handler and the strict flag, kept for the wrapper's own
    /// reports (see `guarded(_:)`); the core holds its own handler reference.
    let settings = HostSettings()

    /// An instance that is not open yet: `Reach.shared` before setup.
    init(pending: Void) {}

    deinit {
        calls.release()
    }

    /// Opens Reach on `config.dataDir` (created if missing).
    ///
    /// Cheap on the calling thread: the database is opened on Reach's worker
    /// thread, and events tracked before it is ready wait in the queue.
    ///
    /// - Parameter logSink: receives Reach's log lines; see `LogHandler`. Without
    ///   one, lines are discarded: an SDK must not write to the app's console
    ///   uninvited.
    /// - Throws: `ReachError.AlreadyOpen` when another instance (in this or
    ///   another process) uses the directory; `ReachError.Storage` when the
    ///   directory cannot be created or locked.
    ///   These two are thrown even outside strict mode: without an instance there
    ///   is nothing to return, and the app must know to keep the one it has.
    public convenience init(config: ReachConfig, logSink: LogHandler? = nil) throws {
        self.init(pending: ())
        try open(config: config, logSink: logSink, disableOnFailure: false)
    }

    /// Records an event. Never blocks on disk.
    ///
    /// Property values are converted as described at `propertyValue(_:)`; a value
    /// Reach cannot store refuses the whole event, with the value's type named in
    /// the log, rather than silently dropping the property.
    ///
    /// - Throws: only in strict mode, `ReachError.InvalidInput` for a refused
    ///   event (empty or reserved name, bad property...). Otherwise refusals are
    ///   logged and counted in `diagnostics().rejectedByReason`.
    public func track(_ name: String, _ properties: [String: Any] = [:]) throws {
        try record(.track(name: name, properties: properties, at: RecordedCall.now()))
    }

    /// Records a screen view. Same rules as `track(_:_:)`.
    public func screen(_ name: String, _ properties: [String: Any] = [:]) throws {
        try record(.screen(name: name, properties: properties, at: RecordedCall.now()))
    }

    /// Attributes events from now on to `userId` and records an `identify`
    /// event. Identifying a different user than the current one starts a fresh
    /// person (as `reset()` then `identify(_:)`), so one user's history never
    /// becomes another's.
    public func identify(_ userId: String) throws {
        try record(.identify(userId: userId, at: RecordedCall.now()))
    }

    /// Merges `properties` into the user's properties and records an `identify`
    /// event carrying them. Values convert as for `track(_:_:)`.
    public func setUserProperties(_ properties: [String: Any]) throws {
        try record(.setUserProperties(properties: properties, at: RecordedCall.now()))
    }

    /// Removes user properties by key. Records no event.
    public func unsetUserProperties(_ keys: String...) throws {
        try unsetUserProperties(keys)
    }

    /// Removes user properties by key. Records no event.
    public func unsetUserProperties(_ keys: [String]) throws {
        try record(.unsetUserProperties(keys: keys))
    }

    /// Logout: a new anonymous id, no user id, no user properties, a new
    /// session. Events already stored keep the identity they were recorded with.
    public func reset() throws {
        try record(.reset(at: RecordedCall.now()))
    }

    /// Takes effect at once for every later call. `.denied` also deletes every
    /// stored event and refuses new ones (counted as `consent_denied`). Persisted:
    /// after a reopen the stored consent wins over `ReachConfig.consent`.
    public func setConsent(_ consent: Consent) throws {
        try record(.setConsent(consent))
    }

    /// The current consent: the persisted choice, which wins over
    /// `ReachConfig.consent`. Right after opening this waits (at most the
    /// flush timeout) for Reach's worker to have read it.
    ///
    /// Before `Reach.setup`: the consent last passed to `setConsent(_:)`, or
    /// `.pending`.
    public var consent: Consent {
        switch calls.drained(countingRefusal: false) {
        case .core(let core): return core.consent()
        case .notSetUp: return calls.counters().lastConsent ?? .pending
        case .disabled: return .pending
        }
    }

    /// Deletes stored events, user properties and ids (a new anonymous id
    /// follows). Keeps consent, so a user who denied it stays denied.
    public func deleteLocalData() throws {
        try direct { try $0.deleteLocalData() }
    }

    /// Waits until everything recorded before this call is on disk, at most
    /// `ReachConfig.flushTimeoutMs`. Never waits for the network.
    ///
    /// - Returns: whether it completed in time; `false` after `close()`.
    @discardableResult
    public func flush() -> Bool {
        guard case .core(let core) = calls.drained() else { return false }
        return core.flush()
    }

    /// Call when the app comes to the foreground: starts a new session after
    /// `sessionTimeoutMs` in the background, and records `app_open` unless
    /// `ReachConfig.recordAppOpen` is false. Hands the core the device's current
    /// timezone first, so a zone changed while the app ran moves quiet hours and
    /// local-time rules (before setup, the config's timezone applies).
    public func onForeground() throws {
        if case .core(let core) = calls.drained(countingRefusal: false) {
            // Foundation caches the system zone for the life of the process;
            // a zone changed while the app ran is read only after a reset.
            NSTimeZone.resetSystemTimeZone()
            try guarded { try core.setTimezone(timezone: TimeZone.current.identifier) }
        }
        try record(.foreground(at: RecordedCall.now()))
    }

    /// Call when the app goes to the background: notes the time (for the session
    /// timeout) and flushes, bounded, since iOS may suspend or kill a background
    /// app at any moment.
    ///
    /// - Returns: whether the flush completed; `false` after `close()`.
    @discardableResult
    public func onBackground() -> Bool {
        switch calls.submit(.background(at: RecordedCall.now())) {
        case .done: return flush()
        case .direct(let core): return core.onBackground()
        }
    }

    /// Commits what is queued (bounded by the flush timeout), stops the worker
    /// and frees the data directory, so another instance may open it. Later calls
    /// are refused like bad input: counted as `closed`, never thrown outside
    /// strict mode. Calling it twice is harmless.
    ///
    /// - Returns: whether everything was committed within the timeout. When
    ///   `false`, the worker finishes in the background and keeps the directory
    ///   until then: opening it again meanwhile throws `ReachError.AlreadyOpen`.
    @discardableResult
    public func close() -> Bool {
        guard let core = calls.closing() else { return false }
        return core.close()
    }

    /// Counters for support screens and tests: events queued and stored, and
    /// events refused or dropped since this instance opened, by reason. Reading
    /// it never waits for the disk (except to stat the database file).
    ///
    /// Besides the core's reasons, `rejectedByReason` counts
    /// `"pre_setup_overflow"` (calls dropped because more than 1,000 were made
    /// before `Reach.setup`) and `"disabled"` (calls refused by an instance that
    /// could not open its data directory).
    public func diagnostics() -> Diagnostics {
        let counters = calls.counters()
        var d: Diagnostics
        if case .core(let core) = calls.drained(countingRefusal: false) {
            d = core.diagnostics()
        } else {
            d = Diagnostics(
                queued: UInt64(counters.buffered), stored: 0, storedBytes: 0, rejectedTotal: 0,
                rejectedByReason: [:], droppedOverflow: 0, droppedStorageError: 0,
                popupsOffered: 0, databaseBytes: 0, persistent: false, uploadedEvents: 0,
                uploadBatchesSent: 0, uploadBatchesDropped: 0, uploadEventsDropped: 0, uploadConfigurationRefusals: 0,
                droppedOversized: 0, uploadRetries: 0, lastUploadError: nil, lastSyncError: nil,
                packRevision: nil, packVersion: nil, storageProblem: nil)
        }
        for (reason, count) in [
            ("pre_setup_overflow", counters.preSetupOverflow), ("disabled", counters.disabled),
        ] where count > 0 {
            d.rejectedByReason[reason, default: 0] += count
            d.rejectedTotal += count
        }
        return d
    }

    /// Replaces (or with `nil` removes) the log handler. See `LogHandler`.
    ///
    /// Before `Reach.setup` the handler is kept and installed at setup (a
    /// `logSink` passed to setup replaces it).
    public func setLogSink(_ sink: LogHandler?) {
        settings.setHandler(sink)
        if case .core(let core) = calls.drained(countingRefusal: false) {
            core.setLogSink(sink: sink.map(ClosureLogSink.init))
        }
    }

    // MARK: Rule packs and popups

    /// Validates `json` as a rule pack and makes it the active one (persisted,
    /// so it keeps serving offline and after a restart; it replaces
    /// `ReachConfig.bundledRulePack` for good).
    ///
    /// Unlike the recording calls, this throws in every mode, not only in
    /// strict mode: a refused pack is an error the caller must see (it came
    /// from the network or a file and nothing else would tell). The active pack
    /// keeps serving when it throws.
    ///
    /// - Throws: `ReachError.InvalidRulePack(path:message:)`, where `path`
    ///   names the first offending field, e.g. `campaigns[0].trigger.where[0].op`.
    ///   In strict mode also `ReachError.Closed` after `close()`.
    public func loadRulePack(_ json: String) throws {
        switch calls.drained() {
        case .core(let core):
            try guarded(alwaysThrowing: Reach.isInvalidRulePack) { try core.loadRulePack(json: json) }
        case .notSetUp:
            // Nothing could keep serving it: say so rather than drop the pack.
            throw ReachError.Closed(
                message: "loadRulePack before Reach.setup: pass the pack as ReachConfig.bundledRulePack, or load it after setup")
        case .disabled:
            return
        }
    }

    /// Sets the object that shows popups, replacing any earlier presenter. See
    /// `PopupPresenter`: it is called on Reach's presenter thread, never on the
    /// main thread. Remove it with `setPopupPresenter(nil)`.
    ///
    /// - Throws: only in strict mode, `ReachError.Closed` after `close()`.
    public func setPopupPresenter(_ presenter: any PopupPresenter) throws {
        try setPopupPresenter { popup in presenter.offer(popup) }
    }

    /// Sets (or with `nil` removes) the closure that shows popups, replacing
    /// any earlier presenter:
    ///
    ///     try reach.setPopupPresenter { popup in
    ///         DispatchQueue.main.async { show(popup) }   // then popupShown(...)
    ///         return .showNow
    ///     }
    ///
    /// The closure is called on Reach's presenter thread, **never on the main
    /// thread**; see `PopupPresenter`. Without a presenter nothing is offered.
    ///
    /// - Throws: only in strict mode, `ReachError.Closed` after `close()`.
    ///
    /// Before `Reach.setup` the presenter is kept and installed at setup.
    public func setPopupPresenter(_ present: PopupHandler?) throws {
        if calls.keep(presenter: present) { return }
        try direct { try $0.setPopupPresenter(presenter: present.map(ClosurePresenter.init)) }
    }

    /// The popup of `offerId` is on screen: records `reach.popup.shown` and
    /// counts an impression (caps count these). Reporting it twice counts once.
    ///
    /// - Throws: only in strict mode (`ReachError.Closed`). An unknown or stale
    ///   `offerId` is ignored.
    public func popupShown(_ offerId: String) throws {
        try direct { try $0.popupShown(offerId: offerId) }
    }

    /// The person tapped `button` (a `PopupButton.id`) of the popup of `offerId`:
    /// records `reach.popup.clicked` with `button_id` (or `reach.popup.dismissed`
    /// for a button whose action is `.dismiss`) and frees Reach for the next
    /// popup. Counts the impression too if `popupShown(_:)` was not reported.
    ///
    /// - Throws: only in strict mode (`ReachError.Closed`).
    public func popupClicked(_ offerId: String, button: String) throws {
        try direct { try $0.popupClicked(offerId: offerId, buttonId: button) }
    }

    /// The person closed the popup of `offerId` without acting: records
    /// `reach.popup.dismissed` and frees Reach for the next popup.
    ///
    /// - Throws: only in strict mode (`ReachError.Closed`).
    public func popupDismissed(_ offerId: String) throws {
        try direct { try $0.popupDismissed(offerId: offerId) }
    }

    /// Sets the client that claims prizes for campaigns with an `inventory`,
    /// replacing any earlier one, or with `nil` removes it (such campaigns then
    /// follow their `offline` policy: by default nothing is shown).
    ///
    /// The client is called on Reach's `reach-claims` thread, **never on the
    /// main thread**; it may block on the network but should give up within a
    /// few seconds, and the same idempotency key must never take a second prize
    /// (see `ClaimClient`). An error thrown by its `claim` is treated as
    /// `.unavailable`; one thrown by its `release` is logged.
    ///
    /// - Throws: only in strict mode, `ReachError.Closed` after `close()`.
    ///
    /// Before `Reach.setup` the client is kept and installed at setup.
    public func setClaimClient(_ client: (any ClaimClient)?) throws {
        if calls.keep(claimClient: client) { return }
        try direct { try $0.setClaimClient(client: client.map(ClaimClientAdapter.init)) }
    }

    /// Sets the scheduler of OS local notifications for campaigns whose
    /// `channels` list `local_notification`, or with `nil` removes it (such
    /// campaigns are then in-app only). Called on Reach's `reach-notifications`
    /// thread, never on the main thread; an error it throws is logged. See
    /// `NotificationScheduler`.
    ///
    /// - Throws: only in strict mode, `ReachError.Closed` after `close()`.
    ///
    /// Before `Reach.setup` the scheduler is kept and installed at setup.
    public func setNotificationScheduler(_ scheduler: (any NotificationScheduler)?) throws {
        if calls.keep(scheduler: scheduler) { return }
        try direct {
            try $0.setNotificationScheduler(scheduler: scheduler.map(NotificationSchedulerAdapter.init))
        }
    }

    /// The person tapped the local notification `notificationId` (from
    /// `LocalNotification.notificationId`): Reach records the campaign's click.
    ///
    /// - Throws: only in strict mode (`ReachError.Closed`).
    public func notificationTapped(_ notificationId: String) throws {
        try direct { try $0.notificationTapped(notificationId: notificationId) }
    }

    /// Offers the campaign `campaignId`'s popup now through the presenter, as a
    /// test: for a QA screen in a debug build. It is offered whether or not the
    /// campaign has started, is paused or is capped; `variant` picks a
    /// variant's popup (`nil`: the campaign's own). Its events carry
    /// `"test": true` and `"preview": true`, it claims no prize and counts in
    /// no cap or goal, and the presenter sees `popup.test == true`. Returns at
    /// once: `explain(_:)` and the log say why a preview could not be offered.
    ///
    /// - Throws: only in strict mode (`ReachError.Closed`).
    public func preview(_ campaignId: String, variant: String? = nil) throws {
        try direct { try $0.preview(campaignId: campaignId, variant: variant) }
    }

    /// Why the campaign `campaignId` did or did not fire for the last event that
    /// concerned it: the `outcome`, the `reasons` with the values seen (the
    /// failed condition, the cap that held it back, the claim's answer...), the
    /// person's `variant`, a pending delay, the impressions, and all of it as
    /// readable `text`. See `CampaignExplanation`.
    ///
    /// Takes everything tracked before the call into account: it waits for
    /// Reach's worker, at most `ReachConfig.flushTimeoutMs`, so call it off the
    /// main thread in production.
    ///
    /// - Returns: the explanation, or `nil` when Reach could not answer: after
    ///   `close()`, or when the worker did not answer within the flush timeout
    ///   (reported to the log handler, as every internal failure).
    /// - Throws: only in strict mode, instead of returning `nil`:
    ///   `ReachError.Closed` after `close()`, `ReachError.Storage` for the
    ///   time-out.
    public func explain(_ campaignId: String) throws -> CampaignExplanation? {
        try directValue { try $0.explain(campaignId: campaignId) }
    }

    // MARK: Routing

    /// A recording call: buffered, queued, or (strict mode, after close) made now.
    private func record(_ call: RecordedCall) throws {
        if case .direct(let core) = calls.submit(call) {
            try guarded { try call.applyDirectly(to: core) }
        }
    }

    /// A call that needs the core now: applies what is queued first. Before setup
    /// and on a disabled instance it does nothing (a disabled one counts it).
    private func direct(
        alwaysThrowing: (Error) -> Bool = { _ in false }, _ call: (ReachFFI.Reach) throws -> Void
    ) throws {
        _ = try directValue(alwaysThrowing: alwaysThrowing, call)
    }

    private func directValue<T>(
        alwaysThrowing: (Error) -> Bool = { _ in false }, _ call: (ReachFFI.Reach) throws -> T
    ) throws -> T? {
        guard case .core(let core) = calls.drained() else { return nil }
        return try guardedValue(alwaysThrowing: alwaysThrowing) { try call(core) }
    }

    static func isInvalidRulePack(_ error: Error) -> Bool {
        if case .InvalidRulePack? = error as? ReachError { return true }
        return false
    }

    /// Runs a throwing call into the core. In strict mode every error
    /// propagates: debug builds should fail loudly. Otherwise the core throws
    /// nothing by design (it logs and counts instead), so anything caught here
    /// is an internal failure, e.g. a Rust panic surfacing as a uniffi error:
    /// it is reported to the log handler and the call returns normally, because
    /// an analytics call must never take the app down with it.
    ///
    /// `alwaysThrowing` picks out the errors that are part of a call's contract
    /// in every mode (a refused rule pack) and always propagate.
    private func guarded(
        alwaysThrowing: (Error) -> Bool = { _ in false }, _ call: () throws -> Void
    ) throws {
        _ = try guardedValue(alwaysThrowing: alwaysThrowing, call)
    }

    /// `guarded(_:)` for a call that answers: `nil` when it failed outside
    /// strict mode.
    private func guardedValue<T>(
        alwaysThrowing: (Error) -> Bool = { _ in false }, _ call: () throws -> T
    ) throws -> T? {
        do {
            return try call()
        } catch {
            if settings.strict || alwaysThrowing(error) { throw error }
            // The one line sent from the caller's thread: there is no worker to
            // hand it to when the call into the core itself failed.
            settings.log(.error, "Reach call failed internally and was ignored: \(error)")
            return nil
        }
    }
}

/// The app's log handler and the strict flag, readable from any thread. Both are
/// set at setup (the handler also by `setLogSink(_:)`, before or after).
final class HostSettings: @unchecked Sendable {
    private let lock = NSLock()
    private var handlerValue: LogHandler?
    private var strictValue = false

    var handler: LogHandler? {
        lock.lock()
        defer { lock.unlock() }
        return handlerValue
    }

    func setHandler(_ newHandler: LogHandler?) {
        lock.lock()
        handlerValue = newHandler
        lock.unlock()
    }

    var strict: Bool {
        get {
            lock.lock()
            defer { lock.unlock() }
            return strictValue
        }
        set {
            lock.lock()
            strictValue = newValue
            lock.unlock()
        }
    }

    /// A line from the wrapper itself, on the calling thread.
    func log(_ level: LogLevel, _ message: String) {
        handler?(level, message)
    }
}

/// Adapts a closure to the generated foreign-trait protocol, so apps never see
/// the uniffi protocol. Immutable, hence safe to call from the worker thread.
final class ClosureLogSink: ReachFFI.LogSink {
    private let handler: LogHandler

    init(_ handler: @escaping LogHandler) {
        self.handler = handler
    }

    func log(level: LogLevel, message: String) {
        handler(level, message)
    }
}

/// Adapts a closure to the generated foreign-trait protocol, so apps never see
/// the uniffi protocol. Immutable, hence safe to call from the presenter thread.
final class ClosurePresenter: ReachFFI.PopupPresenter {
    private let present: PopupHandler

    init(_ present: @escaping PopupHandler) {
        self.present = present
    }

    func offer(popup: Popup) -> PresenterDecision {
        present(popup)
    }
}

/// Adapts a `NotificationScheduler` to the generated foreign-trait protocol:
/// an error thrown by the host's code becomes a `CallbackError`, which Reach
/// logs. Immutable, hence safe to call from the `reach-notifications` thread.
final class NotificationSchedulerAdapter: ReachFFI.NotificationScheduler {
    private let scheduler: any NotificationScheduler

    init(_ scheduler: any NotificationScheduler) {
        self.scheduler = scheduler
    }

    func schedule(notification: LocalNotification) throws {
        try guarded { try scheduler.schedule(notification) }
    }

    func cancel(notificationId: String) throws {
        try guarded { try scheduler.cancel(notificationId: notificationId) }
    }

    private func guarded(_ call: () throws -> Void) throws {
        do {
            try call()
        } catch let error as ReachFFI.CallbackError {
            throw error
        } catch {
            throw ReachFFI.CallbackError.Failed(message: ClaimClientAdapter.describe(error))
        }
    }
}

/// Adapts a `ClaimClient` to the generated foreign-trait protocol. Errors
/// thrown by the host's code never reach Rust as unexpected callback errors: a
/// failed claim is `.unavailable(reason:)` (the offline policy decides), a
/// failed release a `CallbackError`, which Reach logs. Immutable, hence safe to
/// call from the `reach-claims` thread.
final class ClaimClientAdapter: ReachFFI.ClaimClient {
    private let client: any ClaimClient

    init(_ client: any ClaimClient) {
        self.client = client
    }

    func claim(campaignId: String, personId: String, idempotencyKey: String) -> ClaimOutcome {
        do {
            return try client.claim(
                campaignId: campaignId, personId: personId, idempotencyKey: idempotencyKey)
        } catch {
            return .unavailable(reason: ClaimClientAdapter.describe(error))
        }
    }

    func release(campaignId: String, idempotencyKey: String) throws {
        do {
            try client.release(campaignId: campaignId, idempotencyKey: idempotencyKey)
        } catch let error as ReachFFI.CallbackError {
            throw error
        } catch {
            throw ReachFFI.CallbackError.Failed(message: ClaimClientAdapter.describe(error))
        }
    }

    /// A `LocalizedError`'s description, otherwise the error as Swift prints it.
    static func describe(_ error: Error) -> String {
        if let localized = error as? LocalizedError, let text = localized.errorDescription {
            return text
        }
        return String(describing: error)
    }
}
