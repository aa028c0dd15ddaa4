// The types an app sees through `import Reach`: the generated records and enums
// re-exported under the wrapper's module, and the closure and protocol forms of the
// callbacks (log sink, popup presenter, claim client).

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
/// `imagePath`, once set, is the image as a local file Reach downloaded: load it
/// instead of `imageUrl` to work offline.
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
/// An OS local notification for a `NotificationScheduler` to schedule at
/// `fireAtMs` (ms since 1970): `title`, optional `body` (localised),
/// `campaignId`, and `notificationId` (cancel by it; report a tap with
/// `Reach.notificationTapped(_:)`).
public typealias LocalNotification = ReachFFI.LocalNotification

/// Schedules OS local notifications for campaigns whose `channels` list
/// `local_notification`: a delayed campaign ("come back in 30 min") reaches a
/// person who left the app through the OS instead of a popup. With
/// `UNUserNotificationCenter`:
///
///     final class Notifications: NotificationScheduler {
///         func schedule(_ n: LocalNotification) throws {
///             let content = UNMutableNotificationContent()
///             content.title = n.title
///             content.body = n.body ?? ""
///             content.userInfo = ["reach_notification_id": n.notificationId]
///             let seconds = max(1, Double(n.fireAtMs) / 1000 - Date().timeIntervalSince1970)
///             let trigger = UNTimeIntervalNotificationTrigger(timeInterval: seconds, repeats: false)
///             UNUserNotificationCenter.current().add(
///                 UNNotificationRequest(identifier: n.notificationId, content: content, trigger: trigger))
///         }
///         func cancel(notificationId: String) throws {
///             let center = UNUserNotificationCenter.current()
///             center.removePendingNotificationRequests(withIdentifiers: [notificationId])
///             center.removeDeliveredNotifications(withIdentifiers: [notificationId])
///         }
///     }
///
/// When the app goes to the background with such a delay pending, Reach calls
/// `schedule` with the due time (moved out of the pack's quiet hours, only when
/// the campaign's caps allow it). It calls `cancel` when the delay is cancelled
/// (a `cancel_on` event, `reset()`, consent denied) or the app returns before the
/// time came. A notification whose time came counts as the campaign's
/// impression; report a tap with `Reach.notificationTapped(_:)` (from
/// `userNotificationCenter(_:didReceive:withCompletionHandler:)`): its click.
///
/// **Threading.** Called on Reach's own `reach-notifications` thread, never on
/// the main thread, one call at a time (hence `Sendable`). **Errors.** A thrown
/// error is reported to Reach's log handler and changes nothing else.
public protocol NotificationScheduler: Sendable {
    func schedule(_ notification: LocalNotification) throws
    func cancel(notificationId: String) throws
}

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
