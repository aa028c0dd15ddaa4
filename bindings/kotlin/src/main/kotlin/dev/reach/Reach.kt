package dev.reach

import dev.reach.ffi.Reach as FfiReach

/**
 * Reach for Kotlin: a thin, idiomatic layer over the generated `dev.reach.ffi` bindings.
 *
 * ```
 * val reach = Reach(ReachConfig(dataDir, appInfo, Consent.PENDING)) { level, line -> Log.i("Reach", line) }
 * reach.track("checkout", mapOf("items" to 3, "total" to 19.99, "coupons" to listOf("SPRING")))
 * ```
 *
 * What it adds over the generated class:
 * - properties as `Map<String, Any?>` (see [track] for the conversions);
 * - the log sink as a plain lambda;
 * - the popup presenter as a [PopupPresenter] `fun interface` (a lambda works), and the prize
 *   claim client as a plain [ClaimClient] interface whose exceptions Reach survives;
 * - no exception escapes a call unless `ReachConfig.strict` is true. The core already refuses
 *   bad input by logging and counting it; the wrapper extends that promise to the JVM side
 *   (e.g. a Rust panic surfacing as `InternalException`), because an analytics call must never
 *   crash the app that makes it. The one deliberate exception is [loadRulePack], which throws
 *   [InvalidRulePackException] in every mode (see there).
 *
 * No call does disk or network work on the calling thread: events go to Reach's worker thread.
 * Only [flush], [onBackground], [shutdown] and [close] wait for it, at most
 * `ReachConfig.flushTimeoutMs` (and [consent] and [diagnostics] right after opening, until the
 * stored state is loaded). Thread-safe: call it from any thread.
 *
 * One instance per data directory, across processes: keep it in a singleton.
 *
 * @param config where and how to store events; `config.strict` makes bad input throw.
 * @param logSink receives Reach's log lines (refused events, storage trouble). Called on Reach's
 *   background worker thread, never on the thread that called Reach, so a slow logger cannot
 *   slow [track] down. Exceptions it throws are swallowed.
 * @throws AlreadyOpenException another instance holds [ReachConfig.dataDir].
 * @throws StorageException the data directory cannot be created or locked.
 *   These two are thrown even in non-strict mode: without an instance there is nothing to
 *   return, and the app must know to keep using the one it already has.
 */
class Reach(
    config: ReachConfig,
    logSink: ((LogLevel, String) -> Unit)? = null,
) : AutoCloseable {

    private val strict: Boolean = config.strict

    /** For the wrapper's own last-resort reports; the core keeps its own reference. */
    @Volatile
    private var sink: ((LogLevel, String) -> Unit)? = logSink

    private val ffi: FfiReach = FfiReach(config, logSink?.let(::LambdaLogSink))

    /**
     * Records an event.
     *
     * Property values convert as follows: `String`; `Int`, `Long`, `Short`, `Byte` and unsigned
     * integers to integers; `Float`, `Double` to floats; `Boolean`; `java.util.Date` and
     * `java.time.Instant` to timestamps (epoch milliseconds, UTC); a `Collection` or `Array` of
     * strings to a list of strings; a `dev.reach.ffi.PropertyValue` as is. Anything else
     * (`null`, other objects, lists holding non-strings) is not dropped but makes the core refuse the whole
     * event under `unsupported_value`, with the value's type in the log line, so the mistake is
     * visible instead of silently storing a different event.
     *
     * @throws InvalidInputException in strict mode, for an empty or reserved (`reach.`) name,
     *   invalid properties, or while consent is denied.
     */
    fun track(name: String, properties: Map<String, Any?> = emptyMap()): Unit = guard {
        ffi.track(name, PropertyConversion.convert(properties))
    }

    /** Records a screen view; properties convert as in [track]. */
    fun screen(name: String, properties: Map<String, Any?> = emptyMap()): Unit = guard {
        ffi.screen(name, PropertyConversion.convert(properties))
    }

    /**
     * Attributes later events to [userId] and records an `identify` event. Identifying a
     * different user than the current one first starts a fresh anonymous person (as [reset]),
     * so one user's history never becomes another's.
     */
    fun identify(userId: String): Unit = guard { ffi.identify(userId) }

    /** Merges [properties] into the user's properties and records an `identify` event carrying them. */
    fun setUserProperties(properties: Map<String, Any?>): Unit = guard {
        ffi.setUserProperties(PropertyConversion.convert(properties))
    }

    /** Removes user properties; records no event. */
    fun unsetUserProperties(vararg keys: String): Unit = unsetUserProperties(keys.asList())

    /** Removes user properties; records no event. */
    fun unsetUserProperties(keys: Collection<String>): Unit = guard {
        ffi.unsetUserProperties(keys.toList())
    }

    /** Logout: a new anonymous id, no user id, no user properties, a new session. */
    fun reset(): Unit = guard { ffi.reset() }

    /**
     * Takes effect at once for later calls, and is persisted: at the next open the stored value
     * wins over `ReachConfig.consent`. [Consent.DENIED] also deletes every stored event.
     */
    fun setConsent(consent: Consent): Unit = guard { ffi.setConsent(consent) }

    /** The current consent. Falls back to [Consent.DENIED] if the core cannot answer, the safe side for privacy. */
    val consent: Consent
        get() = guard({ Consent.DENIED }) { ffi.consent() }

    /** Deletes stored events, user properties and ids (a new anonymous id); keeps consent. */
    fun deleteLocalData(): Unit = guard { ffi.deleteLocalData() }

    /**
     * Waits until everything recorded before this call is on disk, at most
     * `ReachConfig.flushTimeoutMs`. Returns whether it completed; `false` after [close].
     * Never waits for the network.
     */
    fun flush(): Boolean = guard({ false }) { ffi.flush() }

    /** Call when the app comes to the foreground: may start a new session; records `app_open` unless `recordAppOpen` is false. */
    fun onForeground(): Unit = guard { ffi.onForeground() }

    /**
     * Call when the app goes to the background: notes the time (for the session timeout) and
     * flushes, since the OS may kill a background app at any moment. Returns whether the flush
     * completed.
     */
    fun onBackground(): Boolean = guard({ false }) { ffi.onBackground() }

    /**
     * Like [close], returning whether everything queued was committed within
     * `ReachConfig.flushTimeoutMs`. A second call does nothing and returns `true`.
     */
    fun shutdown(): Boolean = guard({ false }) { ffi.shutdown() }

    /**
     * Commits what is queued (bounded wait), stops the worker and frees the data directory, so
     * another instance may open it. Later calls do nothing and do not throw (in strict mode they
     * throw [ClosedException]); [flush] returns `false`.
     *
     * The native object itself is freed when this wrapper is garbage collected, not here: keeping
     * it means late calls from other threads are refused and counted in [diagnostics] by the core
     * rather than failing on a freed handle.
     */
    override fun close() {
        shutdown()
    }

    /** Counters since this instance opened, and the current queue size. Never waits for disk. */
    fun diagnostics(): Diagnostics = guard(::emptyDiagnostics) { ffi.diagnostics() }

    /** Replaces the log sink (`null` to stop logging). Same threading as the constructor's `logSink`. */
    fun setLogSink(logSink: ((LogLevel, String) -> Unit)?): Unit = guard {
        sink = logSink
        ffi.setLogSink(logSink?.let(::LambdaLogSink))
    }

    // -----------------------------------------------------------------------------------------
    // Campaigns and popups.

    /**
     * Validates [json] as a rule pack and makes it the active pack. Validation runs on the
     * calling thread (CPU only, no disk); the worker then persists the pack, so it stays active
     * across restarts and replaces `ReachConfig.bundledRulePack` from then on.
     *
     * @throws InvalidRulePackException when the pack is refused, **in strict and non-strict mode
     *   alike**: unlike bad event input, a refused pack is a developer or operator error (a bad
     *   build, a bad server push) that the caller must see and can act on, e.g. by reporting it
     *   to its backend. `path` names the first offending field (e.g.
     *   `campaigns[0].trigger.where[0].op`) and `detail` explains it. The active pack keeps
     *   serving; nothing else changes.
     * @throws ClosedException in strict mode, after [close]. Other failures follow the usual rule:
     *   thrown only in strict mode.
     */
    fun loadRulePack(json: String) {
        try {
            ffi.loadRulePack(json)
        } catch (e: InvalidRulePackException) {
            throw e
        } catch (e: Exception) {
            if (strict) throw e
            reportInternalFailure(e)
        }
    }

    /**
     * Sets the [PopupPresenter] that shows Reach's popups, replacing the previous one, or removes
     * it with `null`. Without a presenter nothing is offered: eligible campaigns are only logged,
     * and nothing is counted.
     *
     * The presenter is called on Reach's presenter thread, **never on the UI thread**: hop to the
     * UI thread to draw (see [PopupPresenter]). What it throws is treated as [DiscardDecision]
     * and reported to the log sink.
     */
    fun setPopupPresenter(presenter: PopupPresenter?): Unit = guard {
        ffi.setPopupPresenter(presenter?.let { p -> PresenterAdapter(p, ::reportPresenterFailure) })
    }

    /**
     * The popup of [offerId] (from [Popup.offerId]) is on screen: Reach records
     * `reach.popup.shown` and counts an impression against the campaign's frequency caps.
     * Unknown or stale offer ids are ignored. Any thread.
     */
    fun popupShown(offerId: String): Unit = guard { ffi.popupShown(offerId) }

    /**
     * The person tapped the button [buttonId] (from [PopupButton.id]) of the popup [offerId]:
     * Reach records `reach.popup.clicked` with `button_id` (and a [TrackEventAction]'s event), or
     * `reach.popup.dismissed` when the button's action is [DismissAction]. Counts the impression
     * too if [popupShown] was not reported. The popup is done after this call.
     */
    fun popupClicked(offerId: String, buttonId: String): Unit = guard {
        ffi.popupClicked(offerId, buttonId)
    }

    /**
     * The person closed the popup [offerId] without using a button (back, swipe, outside tap):
     * Reach records `reach.popup.dismissed`. The popup is done after this call.
     */
    fun popupDismissed(offerId: String): Unit = guard { ffi.popupDismissed(offerId) }

    /**
     * Sets the [ClaimClient] that claims prizes for campaigns with an `inventory`, replacing the
     * previous one, or removes it with `null` (such campaigns then follow their `offline` policy:
     * by default nothing is shown).
     *
     * The client is called on Reach's `reach-claims` thread, **never on the UI thread**; it may
     * block on the network but should give up within a few seconds, and the same idempotency key
     * must never take a second prize (see [ClaimClient]). An exception thrown by its `claim` is
     * treated as [UnavailableOutcome]; one thrown by its `release` is logged.
     */
    fun setClaimClient(client: ClaimClient?): Unit = guard {
        ffi.setClaimClient(client?.let(::ClaimClientAdapter))
    }

    /**
     * Why the campaign [campaignId] did or did not fire for the last event that concerned it: the
     * `outcome` (`offered`, `scheduled`, `not offered`, `no matching event yet` or `not in the
     * active pack`), the `reasons` with the values seen (the failed condition, the cap that held
     * it back, the claim's answer...), the person's `variant`, a pending delay, the impressions,
     * and all of it as readable `text` for a debug screen or a log.
     *
     * Takes everything tracked before the call into account: it waits for Reach's worker, at most
     * `ReachConfig.flushTimeoutMs`, so call it off the UI thread in production.
     *
     * @return the explanation, or `null` when Reach could not answer: after [close], or when the
     *   worker did not answer within `ReachConfig.flushTimeoutMs` (reported to the log sink, as
     *   every internal failure). In strict mode these throw instead ([ClosedException],
     *   [StorageException] for the time-out).
     */
    fun explain(campaignId: String): CampaignExplanation? = guard({ null }) { ffi.explain(campaignId) }

    private fun reportPresenterFailure(e: Throwable) {
        sink?.invoke(LogLevel.ERROR, "the PopupPresenter threw, the popup is discarded: $e")
    }

    private inline fun guard(block: () -> Unit) = guard({}, block)

    /**
     * Runs a call into the core. In strict mode every exception propagates: debug builds should
     * fail loudly. Otherwise the core throws nothing by design, so anything caught here is an
     * internal failure: it is reported to the log sink and the call returns [fallback].
     */
    private inline fun <T> guard(fallback: () -> T, block: () -> T): T = try {
        block()
    } catch (e: Exception) {
        if (strict) throw e
        reportInternalFailure(e)
        fallback()
    }

    /**
     * The one log line sent from the caller's thread: there is no worker to hand it to when
     * the call into the core itself failed.
     */
    private fun reportInternalFailure(e: Exception) {
        val line = "Reach call failed internally and was ignored: $e"
        try {
            sink?.invoke(LogLevel.ERROR, line)
        } catch (_: Exception) {
            // A failing logger must not turn an ignored failure into a crash.
        }
    }

    private fun emptyDiagnostics() = Diagnostics(
        queued = 0uL, stored = 0uL, storedBytes = 0uL, rejectedTotal = 0uL,
        rejectedByReason = emptyMap(), droppedOverflow = 0uL, droppedStorageError = 0uL,
        popupsOffered = 0uL, databaseBytes = 0uL, persistent = false,
        uploadedEvents = 0uL, uploadBatchesSent = 0uL, uploadBatchesDropped = 0uL,
        uploadEventsDropped = 0uL, uploadConfigurationRefusals = 0uL, droppedOversized = 0uL,
        uploadRetries = 0uL,
        lastUploadError = null, lastSyncError = null, packRevision = null, packVersion = null,
    )
}

/**
 * Adapts a Kotlin lambda to the generated `LogSink` interface. Swallows what the lambda throws:
 * uniffi would otherwise report it to Rust as an unexpected error, and a broken app logger must
 * not disturb the worker thread that calls it.
 */
private class LambdaLogSink(private val fn: (LogLevel, String) -> Unit) : dev.reach.ffi.LogSink {
    override fun log(level: LogLevel, message: String) {
        try {
            fn(level, message)
        } catch (e: VirtualMachineError) {
            throw e
        } catch (_: Throwable) {
            // Ignored on purpose: see the class comment.
        }
    }
}
