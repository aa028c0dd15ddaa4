// The Swift face of Reach: a thin, Foundation-only wrapper over the generated
// uniffi bindings (module `ReachFFI`). It exists so that apps write
// `try reach.track("signup", ["plan": "pro", "seats": 3])` with an ordinary
// `[String: Any]` instead of building `PropertyValue` enums, and pass a closure
// instead of implementing a foreign-trait protocol. Everything else is the Rust
// core's behaviour, unchanged: this file adds no queue, no thread and no state.
//
// Foundation only (no UIKit/SwiftUI) so the same source compiles on iOS, macOS
// and Linux, where the tests run. Lifecycle hooks (`onForeground()`,
// `onBackground()`) are called by the app from its own UIKit/SwiftUI code.

import Foundation
import ReachFFI

// The generated records and enums, re-exported under the wrapper's module so
// that `import Reach` is all an app needs. They are the generated types
// themselves (not copies), so nothing is converted on the way in or out.
public typealias ReachConfig = ReachFFI.ReachConfig
public typealias AppInfo = ReachFFI.AppInfo
public typealias Consent = ReachFFI.Consent
public typealias Diagnostics = ReachFFI.Diagnostics
/// Thrown by `Reach(config:logSink:)` (`AlreadyOpen`, `Storage`), by
/// `loadRulePack(_:)` (`InvalidRulePack`, in every mode) and, in strict mode
/// only, by the recording calls (`InvalidInput` with the diagnostics reason
/// code, `Closed`). Outside strict mode recording calls never throw: bad input
/// is logged and counted in `diagnostics()` so that analytics can never crash
/// or interrupt the app.
public typealias ReachError = ReachFFI.ReachError
public typealias LogLevel = ReachFFI.LogLevel
public typealias PropertyValue = ReachFFI.PropertyValue
/// A popup to show, already localised for the device. Pass its `offerId` back
/// with `popupShown(_:)`, `popupClicked(_:button:)` and `popupDismissed(_:)`.
public typealias Popup = ReachFFI.Popup
/// One button of a `Popup`: report its `id` with `popupClicked(_:button:)`.
public typealias PopupButton = ReachFFI.PopupButton
/// `.modal`, `.banner`, `.fullscreen`, or `.custom` (draw it from `payload`).
public typealias PopupTemplate = ReachFFI.PopupTemplate
/// What a button does: `.deepLink(url:)` (open it), `.dismiss` (close the
/// popup) or `.trackEvent(event:)` (Reach records it when the click is
/// reported). Report every tap with `popupClicked(_:button:)`, whatever the action.
public typealias ButtonAction = ReachFFI.ButtonAction
/// The answer to an offer: `.showNow` (then report `popupShown(_:)`),
/// `.later(delayMs:)` (offered again, same `offerId`, after the delay, or at the
/// next `onForeground()` when `nil`; nothing counted meanwhile) or `.discard`
/// (nothing counted). A deferred popup is only offered again while Reach knows
/// the app is in the foreground, i.e. after `onForeground()`: call it at launch
/// too, not only when returning from the background.
public typealias PresenterDecision = ReachFFI.PresenterDecision
/// What `Reach.explain(_:)` answers: `campaignId`, `inPack` (whether the
/// active pack has it), the `lastEvent` (and `lastEventAtMs`) that triggered
/// or moved it, the `outcome` (`offered`, `scheduled`, `not offered`,
/// `no matching event yet` or `not in the active pack`), the `reasons` with
/// their values, the person's `variant` once assigned (`"control"` for a
/// holdout arm), `pendingDelayDueMs` / `pendingDelayExpiresMs` of a delayed
/// popup, `impressions` (control exposures included), and `text`: all of it as
/// readable lines for a debug screen or a log.
public typealias CampaignExplanation = ReachFFI.CampaignExplanation
/// A `ClaimClient`'s answer: `.granted(claimId:)` (one prize is reserved for
/// the idempotency key), `.exhausted` (the stock is gone: the pack's
/// `sold_out` popup, or nothing) or `.unavailable(reason:)` (no answer: the
/// campaign's `offline` policy decides).
public typealias ClaimOutcome = ReachFFI.ClaimOutcome

/// Receives Reach's own log lines (refused events, storage trouble).
///
/// Called on Reach's worker thread, never on the thread that called Reach, so a
/// slow handler (os_log, a file) never slows `track()` down; it must therefore
/// be thread-safe, which `@Sendable` makes the compiler check.
public typealias LogHandler = @Sendable (LogLevel, String) -> Void

/// Decides about, and shows, the popups of the active rule pack: the closure
/// form of `PopupPresenter`.
///
/// Called on Reach's presenter thread, **never on the main thread**: answer
/// quickly and hop to the main queue to draw. See `PopupPresenter`.
public typealias PopupHandler = @Sendable (Popup) -> PresenterDecision

/// Shows Reach's popups. Set it with `Reach.setPopupPresenter(_:)`; without a
/// presenter, eligible campaigns are logged and nothing is offered or counted.
///
/// When an event triggers an eligible campaign of the active rule pack, Reach
/// records the offer on disk and then calls `offer(_:)`. It is called on
/// Reach's own presenter thread, **never on the main thread** (nor on the
/// thread that called `track`), one offer at a time. It must therefore be
/// thread-safe (`Sendable`), return quickly, and draw on the main queue:
///
///     final class Popups: PopupPresenter, @unchecked Sendable {  // reach: set once, first
///         weak var reach: Reach?        // weak: Reach holds its presenter
///         func offer(_ popup: Popup) -> PresenterDecision {
///             DispatchQueue.main.async { [self] in
///                 // draw popup.title, popup.buttons...
///                 try? reach?.popupShown(popup.offerId)
///                 // on a tap: reach?.popupClicked(popup.offerId, button: button.id)
///                 // on close: reach?.popupDismissed(popup.offerId)
///             }
///             return .showNow
///         }
///     }
///
/// Reach holds the presenter until it is replaced or removed, or until
/// `close()`: a presenter that keeps a strong reference to its `Reach` forms a
/// cycle that only `close()` breaks.
///
/// Caps (`frequency` in the pack) count impressions: a popup counts once
/// `popupShown(_:)` is reported, or, if the host answered `.showNow` and
/// reported nothing, after Reach's report timeout (30 s), so a host that forgets
/// to report never causes a repeat.
public protocol PopupPresenter: Sendable {
    /// Reach offers `popup`; answer `.showNow`, `.later(delayMs:)` or `.discard`.
    /// Called off the main thread; see the protocol's documentation.
    func offer(_ popup: Popup) -> PresenterDecision
}

/// Claims prizes from the stock an app keeps in its own backend, for campaigns
/// with an `inventory` (rule pack format 1.1). Set it with
/// `Reach.setClaimClient(_:)`:
///
///     final class Prizes: ClaimClient {
///         func claim(campaignId: String, personId: String, idempotencyKey: String) throws -> ClaimOutcome {
///             // a synchronous request with a short timeout (a few seconds)
///             switch try api.claimPrize(campaignId, personId, key: idempotencyKey, timeout: 3) {
///             case .ok(let id): return .granted(claimId: id)
///             case .soldOut: return .exhausted
///             }                                 // a thrown error becomes .unavailable
///         }
///         func release(campaignId: String, idempotencyKey: String) throws {
///             try api.releasePrize(campaignId, key: idempotencyKey)
///         }
///     }
///
/// Before a campaign with an inventory shows its popup, Reach calls
/// `claim(campaignId:personId:idempotencyKey:)` and then: on `.granted` the
/// popup is offered to the `PopupPresenter`; on `.exhausted` the pack's
/// `sold_out` popup, or nothing; on `.unavailable` the campaign's `offline`
/// policy decides (`skip`: nothing is shown; `show_unclaimed`: the popup
/// without a prize). When the presenter answers `.discard` (or an offer
/// expires), Reach calls `release(campaignId:idempotencyKey:)` with the same key.
///
/// **Threading.** Both methods are called on Reach's own `reach-claims`
/// thread, **never on the main thread** and never on the thread that called
/// Reach, one call at a time (hence `Sendable`). They may block on the network,
/// but should give up within a few seconds: Reach applies the offline policy
/// after 10 s anyway, and a late answer is then released.
///
/// **Idempotency.** Every claim carries an idempotency key, stored with the
/// offer before the call so that a retry (after a time-out, a crash, a restart)
/// reuses it. The backend must grant at most one prize per key: the same key
/// must never take a second prize.
///
/// **Errors.** An error thrown by `claim` is treated as
/// `.unavailable(reason:)` with the error's description as the reason (so the
/// offline policy decides); an error thrown by `release` is reported to
/// Reach's log handler.
public protocol ClaimClient: Sendable {
    /// Claims one prize of `campaignId`'s stock for `personId` (the user id, or
    /// the anonymous id before `identify(_:)`) under `idempotencyKey`. Called on
    /// the `reach-claims` thread.
    func claim(campaignId: String, personId: String, idempotencyKey: String) throws -> ClaimOutcome

    /// Gives back the prize claimed under `idempotencyKey` (the host discarded
    /// the popup). Releasing a key that holds no prize must succeed. Called on
    /// the `reach-claims` thread.
    func release(campaignId: String, idempotencyKey: String) throws
}

/// One Reach instance per data directory.
///
/// Thread-safe: every method may be called from any thread. `track()` and the
/// other recording calls only validate and enqueue; they never touch the disk
/// on the caller's thread. Only `flush()`, `onBackground()` and `close()` wait,
/// and at most `ReachConfig.flushTimeoutMs`.
///
/// Releasing the last reference without `close()` is safe: the Rust worker
/// still commits everything already enqueued and then frees the directory. It
/// does so in the background, which is why `deinit` does not call `close()`:
/// a bounded but real wait on whatever thread happens to drop the last
/// reference (often the main thread) is worse than an asynchronous release.
/// Call `close()` when you need the directory free at a known moment.
public final class Reach: Sendable {
    private let core: ReachFFI.Reach
    private let strict: Bool
    /// The app's handler, kept for the wrapper's own last-resort report (see
    /// `guarded(_:)`); the core holds its own reference for everything else.
    private let sink: HandlerBox

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
    public init(config: ReachConfig, logSink: LogHandler? = nil) throws {
        core = try ReachFFI.Reach(config: config, logSink: logSink.map(ClosureLogSink.init))
        strict = config.strict
        sink = HandlerBox(logSink)
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
        try guarded { try core.track(name: name, properties: Reach.propertyValues(properties)) }
    }

    /// Records a screen view. Same rules as `track(_:_:)`.
    public func screen(_ name: String, _ properties: [String: Any] = [:]) throws {
        try guarded { try core.screen(name: name, properties: Reach.propertyValues(properties)) }
    }

    /// Attributes events from now on to `userId` and records an `identify`
    /// event. Identifying a different user than the current one starts a fresh
    /// person (as `reset()` then `identify(_:)`), so one user's history never
    /// becomes another's.
    public func identify(_ userId: String) throws {
        try guarded { try core.identify(userId: userId) }
    }

    /// Merges `properties` into the user's properties and records an `identify`
    /// event carrying them. Values convert as for `track(_:_:)`.
    public func setUserProperties(_ properties: [String: Any]) throws {
        try guarded { try core.setUserProperties(properties: Reach.propertyValues(properties)) }
    }

    /// Removes user properties by key. Records no event.
    public func unsetUserProperties(_ keys: String...) throws {
        try unsetUserProperties(keys)
    }

    /// Removes user properties by key. Records no event.
    public func unsetUserProperties(_ keys: [String]) throws {
        try guarded { try core.unsetUserProperties(keys: keys) }
    }

    /// Logout: a new anonymous id, no user id, no user properties, a new
    /// session. Events already stored keep the identity they were recorded with.
    public func reset() throws {
        try guarded { try core.reset() }
    }

    /// Takes effect at once for every later call. `.denied` also deletes every
    /// stored event and refuses new ones (counted as `consent_denied`). Persisted:
    /// after a reopen the stored consent wins over `ReachConfig.consent`.
    public func setConsent(_ consent: Consent) throws {
        try guarded { try core.setConsent(consent: consent) }
    }

    /// The current consent: the persisted choice, which wins over
    /// `ReachConfig.consent`. Right after opening this waits (at most the
    /// flush timeout) for Reach's worker to have read it.
    public var consent: Consent {
        core.consent()
    }

    /// Deletes stored events, user properties and ids (a new anonymous id
    /// follows). Keeps consent, so a user who denied it stays denied.
    public func deleteLocalData() throws {
        try guarded { try core.deleteLocalData() }
    }

    /// Waits until everything recorded before this call is on disk, at most
    /// `ReachConfig.flushTimeoutMs`. Never waits for the network.
    ///
    /// - Returns: whether it completed in time; `false` after `close()`.
    @discardableResult
    public func flush() -> Bool {
        core.flush()
    }

    /// Call when the app comes to the foreground: starts a new session after
    /// `sessionTimeoutMs` in the background, and records `app_open` unless
    /// `ReachConfig.recordAppOpen` is false.
    public func onForeground() throws {
        try guarded { try core.onForeground() }
    }

    /// Call when the app goes to the background: notes the time (for the session
    /// timeout) and flushes, bounded, since iOS may suspend or kill a background
    /// app at any moment.
    ///
    /// - Returns: whether the flush completed; `false` after `close()`.
    @discardableResult
    public func onBackground() -> Bool {
        core.onBackground()
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
        core.close()
    }

    /// Counters for support screens and tests: events queued and stored, and
    /// events refused or dropped since this instance opened, by reason. Reading
    /// it never waits for the disk (except to stat the database file).
    public func diagnostics() -> Diagnostics {
        core.diagnostics()
    }

    /// Replaces (or with `nil` removes) the log handler. See `LogHandler`.
    public func setLogSink(_ sink: LogHandler?) {
        self.sink.set(sink)
        core.setLogSink(sink: sink.map(ClosureLogSink.init))
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
        try guarded(alwaysThrowing: Reach.isInvalidRulePack) { try core.loadRulePack(json: json) }
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
    public func setPopupPresenter(_ present: PopupHandler?) throws {
        try guarded { try core.setPopupPresenter(presenter: present.map(ClosurePresenter.init)) }
    }

    /// The popup of `offerId` is on screen: records `reach.popup.shown` and
    /// counts an impression (caps count these). Reporting it twice counts once.
    ///
    /// - Throws: only in strict mode (`ReachError.Closed`). An unknown or stale
    ///   `offerId` is ignored.
    public func popupShown(_ offerId: String) throws {
        try guarded { try core.popupShown(offerId: offerId) }
    }

    /// The person tapped `button` (a `PopupButton.id`) of the popup of `offerId`:
    /// records `reach.popup.clicked` with `button_id` (or `reach.popup.dismissed`
    /// for a button whose action is `.dismiss`) and frees Reach for the next
    /// popup. Counts the impression too if `popupShown(_:)` was not reported.
    ///
    /// - Throws: only in strict mode (`ReachError.Closed`).
    public func popupClicked(_ offerId: String, button: String) throws {
        try guarded { try core.popupClicked(offerId: offerId, buttonId: button) }
    }

    /// The person closed the popup of `offerId` without acting: records
    /// `reach.popup.dismissed` and frees Reach for the next popup.
    ///
    /// - Throws: only in strict mode (`ReachError.Closed`).
    public func popupDismissed(_ offerId: String) throws {
        try guarded { try core.popupDismissed(offerId: offerId) }
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
    public func setClaimClient(_ client: (any ClaimClient)?) throws {
        try guarded { try core.setClaimClient(client: client.map(ClaimClientAdapter.init)) }
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
        try guardedValue { try core.explain(campaignId: campaignId) }
    }

    private static func isInvalidRulePack(_ error: Error) -> Bool {
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
            if strict || alwaysThrowing(error) { throw error }
            // The one line sent from the caller's thread: there is no worker to
            // hand it to when the call into the core itself failed.
            sink.get()?(.error, "Reach call failed internally and was ignored: \(error)")
            return nil
        }
    }
}

/// The current log handler, readable from any thread.
private final class HandlerBox: @unchecked Sendable {
    private let lock = NSLock()
    private var handler: LogHandler?

    init(_ handler: LogHandler?) {
        self.handler = handler
    }

    func get() -> LogHandler? {
        lock.lock()
        defer { lock.unlock() }
        return handler
    }

    func set(_ newHandler: LogHandler?) {
        lock.lock()
        handler = newHandler
        lock.unlock()
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
