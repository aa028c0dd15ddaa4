/**
 * The generated types an app needs, under the wrapper's package, so that app code imports
 * `dev.reach.*` and never `dev.reach.ffi` (whose layout follows uniffi, not us).
 *
 * Kotlin cannot reach a nested class through a type alias (`ReachException.InvalidInput` does not
 * resolve through an alias of `ReachException`), so each error case gets its own flat alias too.
 */
package dev.reach

/** How Reach is opened: data directory, app info, initial consent and limits. */
typealias ReachConfig = dev.reach.ffi.ReachConfig

/** The app and device, copied into every event's context. */
typealias AppInfo = dev.reach.ffi.AppInfo

/** Whether the user agreed to analytics (`GRANTED`, `PENDING`, `DENIED`). */
typealias Consent = dev.reach.ffi.Consent

/** Level of a line sent to the log sink. */
typealias LogLevel = dev.reach.ffi.LogLevel

/** Counters from [Reach.diagnostics]: queue sizes, and what was refused or dropped and why. */
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
