/**
 * The generated types an app needs, under the wrapper's package, so that app code imports
 * `dev.reach.*` and never `dev.reach.ffi` (whose layout follows uniffi, not us).
 *
 * Kotlin cannot reach a nested class through a type alias (`ReachException.InvalidInput` does not
 * resolve through an alias of `ReachException`), so each error case gets its own flat alias too.
 */
package dev.reach

/**
 * How Reach is opened: data directory, app info, initial consent and limits, and
 * `bundledRulePack`: the JSON of a rule pack shipped inside the app, active until a pack is loaded
 * with [Reach.loadRulePack] (a loaded pack is persisted and wins at every later open). A bundled
 * pack that fails validation is logged at ERROR and no campaign is active; it does not throw.
 */
typealias ReachConfig = dev.reach.ffi.ReachConfig

/** The app and device, copied into every event's context. */
typealias AppInfo = dev.reach.ffi.AppInfo

/** Whether the user agreed to analytics (`GRANTED`, `PENDING`, `DENIED`). */
typealias Consent = dev.reach.ffi.Consent

/** Level of a line sent to the log sink. */
typealias LogLevel = dev.reach.ffi.LogLevel

/**
 * Counters from [Reach.diagnostics]: queue sizes, what was refused or dropped and why, and
 * `popupsOffered` (popups handed to the presenter since open).
 */
typealias Diagnostics = dev.reach.ffi.Diagnostics

/**
 * What Reach throws. Opening throws [AlreadyOpenException] or [StorageException]; every other
 * call throws only when `ReachConfig.strict` is true (debug builds), never in production.
 */
typealias ReachException = dev.reach.ffi.ReachException

/** Strict mode only: the input was refused; `code` is the `Diagnostics.rejectedByReason` key. */
typealias InvalidInputException = dev.reach.ffi.ReachException.InvalidInput

/** Another [Reach] instance (in this process or another) has the data directory open. */
typealias AlreadyOpenException = dev.reach.ffi.ReachException.AlreadyOpen

/** The data directory cannot be created or locked. */
typealias StorageException = dev.reach.ffi.ReachException.Storage

/** Strict mode only: the instance was closed. */
typealias ClosedException = dev.reach.ffi.ReachException.Closed

/**
 * Thrown by [Reach.loadRulePack] in every mode, strict or not: the pack was refused and the
 * active pack keeps serving. `path` names the first offending field
 * (e.g. `campaigns[0].trigger.where[0].op`), `detail` says what is wrong with it.
 */
typealias InvalidRulePackException = dev.reach.ffi.ReachException.InvalidRulePack

// ---------------------------------------------------------------------------------------------
// Popups. Variants of the sealed classes get flat aliases (see the file comment); match the
// objects with `is` (`is DismissAction ->`) so that a `when` stays exhaustive.

/**
 * A popup to show, already localised for the device: `offerId` (pass it back to
 * [Reach.popupShown], [Reach.popupClicked], [Reach.popupDismissed]), `campaignId`, `variant`,
 * `template`, optional `title`, `body`, `imageUrl`, `imagePath` (the image as a local file Reach
 * downloaded, once it has; load it instead of `imageUrl` to work offline), the `buttons`, and a
 * free `payload`.
 */
typealias Popup = dev.reach.ffi.Popup

/**
 * An OS local notification for a [NotificationScheduler] to schedule at `fireAtMs`: `title`,
 * optional `body` (localised), `campaignId`, and `notificationId` (cancel by it; report a tap with
 * [Reach.notificationTapped]).
 */
typealias LocalNotification = dev.reach.ffi.LocalNotification

/** A popup button: report its `id` with [Reach.popupClicked]; `text` is localised. */
typealias PopupButton = dev.reach.ffi.PopupButton

/** How to draw a popup: `MODAL`, `BANNER`, `FULLSCREEN`, or `CUSTOM` (drawn from `payload`). */
typealias PopupTemplate = dev.reach.ffi.PopupTemplate

/** What a button does: [DeepLinkAction], [DismissAction] or [TrackEventAction]. */
typealias ButtonAction = dev.reach.ffi.ButtonAction

/** Open `url` in the app, then report [Reach.popupClicked]. */
typealias DeepLinkAction = dev.reach.ffi.ButtonAction.DeepLink

/** Close the popup, then report [Reach.popupClicked]: Reach counts it as a dismiss. */
typealias DismissAction = dev.reach.ffi.ButtonAction.Dismiss

/** Report [Reach.popupClicked]: Reach records `event` itself; the host does nothing else. */
typealias TrackEventAction = dev.reach.ffi.ButtonAction.TrackEvent

/** The host's answer to an offer: [ShowNowDecision], [LaterDecision] or [DiscardDecision]. */
typealias PresenterDecision = dev.reach.ffi.PresenterDecision

/** Show it now (hop to the UI thread), then report [Reach.popupShown] and later a click or dismiss. */
typealias ShowNowDecision = dev.reach.ffi.PresenterDecision.ShowNow

/**
 * Not now (e.g. during checkout): Reach offers the same popup (same `offerId`) again once
 * `delayMs` has passed and the app is in the foreground (at once if it is, otherwise at the next
 * [Reach.onForeground]); with `delayMs = null`, at the next [Reach.onForeground]. Nothing is
 * counted meanwhile; an offer deferred for a day expires. Meanwhile no other popup is offered.
 */
typealias LaterDecision = dev.reach.ffi.PresenterDecision.Later

/** Do not show it: nothing is counted (the campaign may be offered again), the decision is logged. */
typealias DiscardDecision = dev.reach.ffi.PresenterDecision.Discard

// ---------------------------------------------------------------------------------------------
// Campaigns: prize claims and explanations.

/**
 * What [Reach.explain] answers: `campaignId`, `inPack` (whether the active pack has it), the
 * `lastEvent` (and `lastEventAtMs`) that triggered or moved it, the `outcome` (`offered`,
 * `scheduled`, `not offered`, `no matching event yet` or `not in the active pack`), the `reasons`
 * with their values, the person's `variant` once assigned (`"control"` for a holdout arm),
 * `pendingDelayDueMs` / `pendingDelayExpiresMs` of a delayed popup, `impressions` (control
 * exposures included), and `text`: all of it as readable lines.
 */
typealias CampaignExplanation = dev.reach.ffi.CampaignExplanation

/** A [ClaimClient]'s answer: [GrantedOutcome], [ExhaustedOutcome] or [UnavailableOutcome]. */
typealias ClaimOutcome = dev.reach.ffi.ClaimOutcome

/** One prize is reserved for the idempotency key; `claimId` names it (it appears in `explain`). */
typealias GrantedOutcome = dev.reach.ffi.ClaimOutcome.Granted

/** The stock is gone: the pack's `sold_out` popup is offered, or nothing. */
typealias ExhaustedOutcome = dev.reach.ffi.ClaimOutcome.Exhausted

/** No answer (offline, time-out, server error): the campaign's `offline` policy decides; `reason` says why. */
typealias UnavailableOutcome = dev.reach.ffi.ClaimOutcome.Unavailable

// ---------------------------------------------------------------------------------------------
// Background uploads.

/**
 * What [Reach.uploadNow] achieved: `acknowledged` (events the server took during the call),
 * `remaining` (events still stored), `stop` (why it returned) and `detail` (the last upload error
 * when it failed or timed out).
 */
typealias UploadOutcome = dev.reach.ffi.UploadOutcome

/**
 * Why [Reach.uploadNow] returned: `DRAINED` (nothing left), `FAILED` (a request failed; retry
 * later), `TIMED_OUT`, `CONSENT_NOT_GRANTED`, `NO_SERVER` (no `serverUrl`), `CLOSED` (closed, not
 * set up, or disabled in this process).
 */
typealias UploadStop = dev.reach.ffi.UploadStop
