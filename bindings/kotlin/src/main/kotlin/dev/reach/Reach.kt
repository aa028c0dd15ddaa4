package dev.reach

import dev.reach.ffi.QueuedCall
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicLong
import dev.reach.ffi.Reach as FfiReach

/**
 * Reach for Kotlin: a thin, idiomatic layer over the generated `dev.reach.ffi` bindings.
 *
 * Most apps set it up once and use the shared instance everywhere:
 * ```
 * Reach.setup(ReachConfig(dataDir, appInfo, Consent.PENDING)) { level, line -> Log.i("Reach", line) }
 * Reach.track("checkout", mapOf("items" to 3, "total" to 19.99, "coupons" to listOf("SPRING")))
 * ```
 * Calls made before [setup] (from any thread) are kept in order, stamped with the time they were
 * made, and applied at setup ([PRE_SETUP_BUFFER_LIMIT] at most; see [Companion]). Apps that own
 * the lifetime (tests, one instance per signed-in account) construct instances instead:
 * `Reach(config, logSink)`.
 *
 * What it adds over the generated class:
 * - `track()` and the other hot calls only stamp the call and queue it (a [CallQueue]); one
 *   Reach-owned thread hands queued calls to the core in batches, so the caller's thread never
 *   waits for a JNA call (one costs ~25–50 µs, milliseconds at p99). In strict mode every call goes
 *   straight to the core instead, so a refusal throws on the caller's thread;
 * - properties as `Map<String, Any?>` (see [track] for the conversions), the log sink as a lambda,
 *   the popup presenter as a [PopupPresenter] `fun interface`, the claim client as a plain
 *   [ClaimClient] interface whose exceptions Reach survives;
 * - no exception escapes a call unless `ReachConfig.strict` is true: an analytics call must never
 *   crash the app that makes it. The one deliberate exception is [loadRulePack] (see there).
 *
 * No call does disk or network work on the calling thread. Only [flush], [onBackground],
 * [shutdown]/[close] wait, at most `ReachConfig.flushTimeoutMs`, and [consent], [diagnostics],
 * [explain] and the popup reports make one direct call into the core; [uploadNow] waits for the
 * network and is for background work only. Thread-safe: call it from any thread.
 *
 * One instance per data directory, across processes.
 *
 * @param config where and how to store events; `config.strict` makes bad input throw.
 * @param logSink receives Reach's log lines, on Reach's worker thread (never the caller's).
 *   Exceptions it throws are swallowed.
 * @throws AlreadyOpenException another instance holds [ReachConfig.dataDir].
 * @throws StorageException the data directory cannot be created or locked.
 *   These two are thrown even in non-strict mode by this constructor (the app chose to own the
 *   instance and must know); [setup] gives a disabled instance instead.
 */
class Reach private constructor(private val calls: CallQueue) : AutoCloseable {

    constructor(config: ReachConfig, logSink: ((LogLevel, String) -> Unit)? = null) :
        this(CallQueue(PRE_SETUP_BUFFER_LIMIT)) {
        open(config, logSink, disableWhenRefused = false)
    }

    private enum class Mode {
        /** The shared instance before [setup]: calls are buffered. */
        UNOPENED,

        /** Open, non-strict: hot calls are queued for the dispatcher. */
        QUEUED,

        /** Open in strict mode, or closed: every call goes straight to the core. */
        DIRECT,

        /** [setup] could not open the data directory (another process has it): calls are refused. */
        DISABLED,
    }

    @Volatile private var mode = Mode.UNOPENED
    @Volatile private var ffi: FfiReach? = null
    @Volatile private var strict = false
    @Volatile private var flushTimeoutMs = 1_000L

    /** For the wrapper's own last-resort reports; the core keeps its own reference. */
    @Volatile private var sink: ((LogLevel, String) -> Unit)? = null

    private val setupLock = Any()
    private val closing = AtomicBoolean(false)

    /** Calls a disabled instance refused. */
    private val refused = AtomicLong()

    /** Calls the pre-setup buffer dropped (counted once setup has run). */
    @Volatile private var droppedBeforeSetup = 0L

    // What was set before setup(), installed by it.
    @Volatile private var pendingPresenter: PopupPresenter? = null
    @Volatile private var pendingClaimClient: ClaimClient? = null
    @Volatile private var pendingScheduler: NotificationScheduler? = null
    @Volatile private var pendingPack: String? = null
    @Volatile private var pendingConsent: Consent? = null
    @Volatile private var pendingDelete = false

    /**
     * Opens the core. With [disableWhenRefused] (non-strict [setup]), a data directory held by
     * another process (a `:remote` service, WorkManager in another process) gives a disabled
     * instance instead of a crash at start-up.
     */
    private fun open(config: ReachConfig, logSink: ((LogLevel, String) -> Unit)?, disableWhenRefused: Boolean) {
        synchronized(setupLock) {
            if (mode != Mode.UNOPENED) {
                report(LogLevel.WARN, "Reach.setup() was called again; the first setup stays in force")
                return
            }
            if (logSink != null) sink = logSink
            strict = config.strict
            flushTimeoutMs = config.flushTimeoutMs.toLong()
            val core = try {
                FfiReach(config, sink?.let(::LambdaLogSink))
            } catch (e: ReachException) {
                if (!disableWhenRefused || config.strict) throw e
                refused.addAndGet(calls.discardAll().toLong())
                mode = Mode.DISABLED
                report(LogLevel.ERROR, "Reach is disabled in this process, nothing is recorded: $e")
                return
            }
            ffi = core
            droppedBeforeSetup = calls.dropped.get()
            if (droppedBeforeSetup > 0) {
                report(LogLevel.WARN, "$droppedBeforeSetup calls made before Reach.setup() were dropped: the buffer keeps $PRE_SETUP_BUFFER_LIMIT")
            }
            guard {
                if (pendingDelete) core.deleteLocalData()
                pendingPresenter?.let { core.setPopupPresenter(PresenterAdapter(it, ::reportPresenterFailure)) }
                pendingClaimClient?.let { core.setClaimClient(ClaimClientAdapter(it)) }
                pendingScheduler?.let { core.setNotificationScheduler(NotificationSchedulerAdapter(it)) }
            }
            pendingPack?.let { pack ->
                try {
                    core.loadRulePack(pack)
                } catch (e: Exception) {
                    report(LogLevel.ERROR, "the rule pack loaded before setup() is refused: $e")
                }
            }
            // The buffered calls go first, then whatever races this setup; in strict mode they
            // are handed over here, so the direct calls after setup come after them.
            calls.start(::applyBatch, QUEUE_LIMIT_AFTER_SETUP)
            if (config.strict) {
                calls.drainNow()
                mode = Mode.DIRECT
            } else {
                mode = Mode.QUEUED
            }
        }
    }

    /** What [setup] does to [shared]; tests call it on an [unopened] instance. */
    internal fun setUp(config: ReachConfig, logSink: ((LogLevel, String) -> Unit)?): Reach {
        open(config, logSink, disableWhenRefused = true)
        return this
    }

    /** The dispatcher's (and [CallQueue.drainNow]'s) one crossing into the core. */
    private fun applyBatch(batch: List<QueuedCall>) {
        val core = ffi ?: return
        try {
            core.applyCalls(batch)
        } catch (e: Exception) {
            reportInternalFailure(e)
        }
    }

    /**
     * A hot call: queued while open or before setup, direct in strict mode or after close,
     * refused when disabled. Inline, so the lambdas allocate nothing.
     */
    private inline fun hot(viaCore: (FfiReach) -> Unit, queued: () -> QueuedCall) {
        when (mode) {
            Mode.QUEUED, Mode.UNOPENED -> {
                val before = mode
                calls.add(queued())
                // close() or setup() ran meanwhile: make sure the call is not stranded.
                if (mode != before) settle()
            }
            Mode.DIRECT -> ffi?.let { core -> guard { viaCore(core) } }
            Mode.DISABLED -> refused.incrementAndGet()
        }
    }

    private fun settle() {
        when (mode) {
            Mode.DISABLED -> refused.addAndGet(calls.discardAll().toLong())
            Mode.UNOPENED -> {}
            else -> calls.drainNow()
        }
    }

    /**
     * For calls that answer or wait: hands every queued call to the core first (so the answer
     * takes them into account), then runs [block] on the core; [fallback] before setup and when
     * disabled.
     */
    private inline fun <T> direct(fallback: () -> T, block: (FfiReach) -> T): T {
        val core = ffi
        if (core == null || mode == Mode.DISABLED) {
            if (mode == Mode.DISABLED) refused.incrementAndGet()
            return fallback()
        }
        return guard(fallback) {
            calls.drainNow()
            block(core)
        }
    }

    private fun now() = System.currentTimeMillis()

    /**
     * Records an event.
     *
     * Property values convert as follows: `String`; `Int`, `Long`, `Short`, `Byte` and unsigned
     * integers to integers; `Float`, `Double` to floats; `Boolean`; `java.util.Date` and
     * `java.time.Instant` to timestamps (epoch milliseconds, UTC); a `Collection` or `Array` of
     * strings to a list of strings; a `dev.reach.ffi.PropertyValue` as is. Anything else
     * (`null`, other objects, lists holding non-strings) makes the core refuse the whole event
     * under `unsupported_value`, with the value's type in the log line. The map is converted on
     * the calling thread, so changing it afterwards changes nothing.
     *
     * @throws InvalidInputException in strict mode, for an empty or reserved (`reach.`) name,
     *   invalid properties, or while consent is denied.
     */
    fun track(name: String, properties: Map<String, Any?> = emptyMap()): Unit = hot(
        { it.track(name, PropertyConversion.convert(properties)) },
        { QueuedCall.Track(name, PropertyConversion.convert(properties), now()) },
    )

    /** Records a screen view; properties convert as in [track]. */
    fun screen(name: String, properties: Map<String, Any?> = emptyMap()): Unit = hot(
        { it.screen(name, PropertyConversion.convert(properties)) },
        { QueuedCall.Screen(name, PropertyConversion.convert(properties), now()) },
    )

    /**
     * Attributes later events to [userId] and records an `identify` event. Identifying a
     * different user than the current one first starts a fresh anonymous person (as [reset]),
     * so one user's history never becomes another's.
     */
    fun identify(userId: String): Unit = hot({ it.identify(userId) }, { QueuedCall.Identify(userId, now()) })

    /** Merges [properties] into the user's properties and records an `identify` event carrying them. */
    fun setUserProperties(properties: Map<String, Any?>): Unit = hot(
        { it.setUserProperties(PropertyConversion.convert(properties)) },
        { QueuedCall.SetUserProperties(PropertyConversion.convert(properties), now()) },
    )

    /** Removes user properties; records no event. */
    fun unsetUserProperties(vararg keys: String): Unit = unsetUserProperties(keys.asList())

    /** Removes user properties; records no event. */
    fun unsetUserProperties(keys: Collection<String>): Unit =
        hot({ it.unsetUserProperties(keys.toList()) }, { QueuedCall.UnsetUserProperties(keys.toList()) })

    /** Logout: a new anonymous id, no user id, no user properties, a new session. */
    fun reset(): Unit = hot({ it.reset() }, { QueuedCall.Reset(now()) })

    /**
     * Takes effect at once for later calls, and is persisted: at the next open the stored value
     * wins over `ReachConfig.consent`. [Consent.DENIED] also deletes every stored event. Consent
     * lives in the core only; this call hands everything queued before it over first.
     */
    fun setConsent(consent: Consent) {
        if (mode == Mode.UNOPENED) pendingConsent = consent
        hot({ it.setConsent(consent) }, { QueuedCall.SetConsent(consent) })
        if (mode == Mode.QUEUED) calls.drainNow()
    }

    /**
     * The current consent. Before [setup]: the consent set since, else [Consent.PENDING].
     * Falls back to [Consent.DENIED] if the core cannot answer (and when disabled), the safe side
     * for privacy.
     */
    val consent: Consent
        get() = when (mode) {
            Mode.UNOPENED -> pendingConsent ?: Consent.PENDING
            else -> direct({ Consent.DENIED }) { it.consent() }
        }

    /** Deletes stored events, user properties and ids (a new anonymous id); keeps consent. */
    fun deleteLocalData() {
        if (mode == Mode.UNOPENED) {
            synchronized(setupLock) {
                if (mode == Mode.UNOPENED) {
                    calls.discardAll()
                    pendingDelete = true
                    return
                }
            }
        }
        direct({}) { it.deleteLocalData() }
    }

    /**
     * Waits until everything recorded before this call is on disk, at most
     * `ReachConfig.flushTimeoutMs`. Returns whether it completed; `false` before [setup] and
     * after [close]. Never waits for the network.
     */
    fun flush(): Boolean = direct({ false }) { it.flush() }

    /**
     * Call when the app comes to the foreground: may start a new session; records `app_open` unless
     * `recordAppOpen` is false. Hands the core the device's current timezone first, so a zone
     * changed while the app ran moves quiet hours and local-time rules (before setup, the
     * config's timezone applies).
     */
    fun onForeground() {
        if (ffi != null && mode != Mode.DISABLED) {
            direct({}) { it.setTimezone(java.util.TimeZone.getDefault().id) }
        }
        hot({ it.onForeground() }, { QueuedCall.Foreground(now()) })
    }

    /**
     * Call when the app goes to the background: notes the time (for the session timeout) and
     * flushes, since the OS may kill a background app at any moment. Returns whether the flush
     * completed (`false` before [setup]: the call is kept and applied at setup).
     */
    fun onBackground(): Boolean {
        if (mode == Mode.DIRECT) return direct({ false }) { it.onBackground() }
        hot({}, { QueuedCall.Background(now()) })
        return flush()
    }

    /**
     * Uploads what is stored, once, and returns how many events the server acknowledged, how
     * many remain and why it stopped, waiting at most [timeoutMs]. For background work
     * (a WorkManager `Worker`, an iOS background task): it blocks on the network, so **never
     * call it on the UI thread**. Before [setup] or when disabled: `stop = CLOSED`.
     */
    fun uploadNow(timeoutMs: Long): UploadOutcome = direct({
        UploadOutcome(0uL, calls.pending.toULong(), UploadStop.CLOSED, notOpenReason())
    }) { it.uploadNow(timeoutMs.coerceAtLeast(0).toULong()) }

    private fun notOpenReason() =
        if (mode == Mode.DISABLED) "Reach is disabled in this process" else "Reach is not set up yet"

    /**
     * Like [close], returning whether everything queued was committed within
     * `ReachConfig.flushTimeoutMs`. A second call does nothing and returns `true`.
     */
    fun shutdown(): Boolean {
        val core = ffi ?: return true
        if (!closing.compareAndSet(false, true)) return true
        // From now on calls go straight to the core, which refuses and counts them (`closed`).
        mode = Mode.DIRECT
        return guard({ false }) {
            calls.stop(flushTimeoutMs)
            core.shutdown()
        }
    }

    /**
     * Commits what is queued (bounded wait), stops the worker and frees the data directory, so
     * another instance may open it. Later calls do nothing and do not throw (in strict mode they
     * throw [ClosedException]); [flush] returns `false`.
     *
     * The native object itself is freed when this wrapper is garbage collected, not here: keeping
     * it means late calls from other threads are refused and counted by the core rather than
     * failing on a freed handle.
     */
    override fun close() {
        shutdown()
    }

    /**
     * Counters since this instance opened, and the current queue size (calls waiting for the
     * dispatcher included). Calls dropped before setup are under `pre_setup_overflow` in
     * `rejectedByReason`; a disabled instance counts what it refused under `disabled`.
     */
    fun diagnostics(): Diagnostics {
        val core = ffi
        if (core == null || mode == Mode.DISABLED) {
            return emptyDiagnostics().let { d ->
                val extra = if (mode == Mode.DISABLED) "disabled" to refused.get() else "pre_setup_overflow" to calls.dropped.get()
                d.copy(
                    queued = calls.pending.toULong(),
                    rejectedTotal = extra.second.toULong(),
                    rejectedByReason = if (extra.second > 0) mapOf(extra.first to extra.second.toULong()) else emptyMap(),
                )
            }
        }
        val d = guard(::emptyDiagnostics) {
            calls.drainNow()
            core.diagnostics()
        }
        val dropped = droppedBeforeSetup
        val droppedAfter = (calls.dropped.get() - dropped).coerceAtLeast(0)
        return d.copy(
            queued = d.queued + calls.pending.toULong(),
            rejectedTotal = d.rejectedTotal + dropped.toULong(),
            rejectedByReason = if (dropped > 0) d.rejectedByReason + ("pre_setup_overflow" to dropped.toULong()) else d.rejectedByReason,
            droppedOverflow = d.droppedOverflow + droppedAfter.toULong(),
        )
    }

    /** Replaces the log sink (`null` to stop logging). Same threading as the constructor's `logSink`. */
    fun setLogSink(logSink: ((LogLevel, String) -> Unit)?) {
        sink = logSink
        ffi?.let { core -> guard { core.setLogSink(logSink?.let(::LambdaLogSink)) } }
    }

    // -----------------------------------------------------------------------------------------
    // Campaigns and popups.

    /**
     * Validates [json] as a rule pack and makes it the active pack. Validation runs on the
     * calling thread (CPU only, no disk); the worker then persists the pack, so it stays active
     * across restarts and replaces `ReachConfig.bundledRulePack` from then on. Before [setup] the
     * pack is kept and loaded at setup (a refusal is then logged, there is no caller to throw to).
     *
     * @throws InvalidRulePackException when the pack is refused, **in strict and non-strict mode
     *   alike**: a refused pack is a developer or operator error that the caller must see. `path`
     *   names the first offending field (e.g. `campaigns[0].trigger.where[0].op`) and `detail`
     *   explains it. The active pack keeps serving; nothing else changes.
     */
    fun loadRulePack(json: String) {
        if (mode == Mode.UNOPENED) {
            synchronized(setupLock) {
                if (mode == Mode.UNOPENED) {
                    pendingPack = json
                    return
                }
            }
        }
        val core = ffi ?: return
        if (mode == Mode.DISABLED) return
        try {
            calls.drainNow()
            core.loadRulePack(json)
        } catch (e: InvalidRulePackException) {
            throw e
        } catch (e: Exception) {
            if (strict) throw e
            reportInternalFailure(e)
        }
    }

    /**
     * Sets the [PopupPresenter] that shows Reach's popups, replacing the previous one, or removes
     * it with `null`. Without a presenter nothing is offered. Called on Reach's presenter thread,
     * **never on the UI thread**: hop to it to draw, or wrap the presenter in
     * [mainThreadPresenter]. What it throws is treated as [DiscardDecision] and logged.
     */
    fun setPopupPresenter(presenter: PopupPresenter?) {
        if (installLater { pendingPresenter = presenter }) return
        val core = ffi ?: return
        guard { core.setPopupPresenter(presenter?.let { p -> PresenterAdapter(p, ::reportPresenterFailure) }) }
    }

    /** Before setup, runs [keep] and returns true; otherwise false. */
    private inline fun installLater(keep: () -> Unit): Boolean {
        if (mode != Mode.UNOPENED) return false
        synchronized(setupLock) {
            if (mode != Mode.UNOPENED) return false
            keep()
            return true
        }
    }

    /**
     * The popup of [offerId] (from [Popup.offerId]) is on screen: Reach records
     * `reach.popup.shown` and counts an impression against the campaign's frequency caps.
     * Unknown or stale offer ids are ignored. Any thread.
     */
    fun popupShown(offerId: String): Unit = direct({}) { it.popupShown(offerId) }

    /**
     * The person tapped the button [buttonId] (from [PopupButton.id]) of the popup [offerId]:
     * Reach records `reach.popup.clicked` with `button_id` (and a [TrackEventAction]'s event), or
     * `reach.popup.dismissed` when the button's action is [DismissAction].
     */
    fun popupClicked(offerId: String, buttonId: String): Unit = direct({}) { it.popupClicked(offerId, buttonId) }

    /** The person closed the popup [offerId] without using a button: Reach records `reach.popup.dismissed`. */
    fun popupDismissed(offerId: String): Unit = direct({}) { it.popupDismissed(offerId) }

    /**
     * Sets the [ClaimClient] that claims prizes for campaigns with an `inventory`, or removes it
     * with `null` (such campaigns then follow their `offline` policy). Called on Reach's
     * `reach-claims` thread, never on the UI thread; see [ClaimClient].
     */
    fun setClaimClient(client: ClaimClient?) {
        if (installLater { pendingClaimClient = client }) return
        val core = ffi ?: return
        guard { core.setClaimClient(client?.let(::ClaimClientAdapter)) }
    }

    /**
     * Sets the [NotificationScheduler] for campaigns with a `local_notification` channel, or
     * removes it with `null` (such campaigns are then in-app only). See [NotificationScheduler].
     */
    fun setNotificationScheduler(scheduler: NotificationScheduler?) {
        if (installLater { pendingScheduler = scheduler }) return
        val core = ffi ?: return
        guard { core.setNotificationScheduler(scheduler?.let(::NotificationSchedulerAdapter)) }
    }

    /**
     * The person tapped the local notification [notificationId] (from
     * [LocalNotification.notificationId]): Reach records the campaign's click. Any thread.
     */
    fun notificationTapped(notificationId: String): Unit = direct({}) { it.notificationTapped(notificationId) }

    /**
     * Offers the campaign [campaignId]'s popup now through the presenter, as a test: for a QA
     * screen in a debug build. It is offered whether or not the campaign has started, is paused
     * or is capped; [variant] picks a variant's popup (`null`: the campaign's own). Its events
     * carry `"test": true` and `"preview": true`, it claims no prize and counts in no cap or goal,
     * and the presenter sees `popup.test == true`. Returns at once, any thread: [explain] and
     * the log say why a preview could not be offered.
     */
    fun preview(campaignId: String, variant: String? = null): Unit =
        direct({}) { it.preview(campaignId, variant) }

    /**
     * Why the campaign [campaignId] did or did not fire for the last event that concerned it
     * (`outcome`, `reasons` with the values seen, `variant`, a pending delay, `impressions`, and
     * all of it as readable `text`). Waits for Reach's worker, at most
     * `ReachConfig.flushTimeoutMs`, so call it off the UI thread in production.
     *
     * @return the explanation, or `null` when Reach could not answer (before setup, after
     *   [close], or on a time-out). In strict mode the latter two throw instead.
     */
    fun explain(campaignId: String): CampaignExplanation? = direct({ null }) { it.explain(campaignId) }

    private fun reportPresenterFailure(e: Throwable) {
        report(LogLevel.ERROR, "the PopupPresenter threw, the popup is discarded: $e")
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

    private fun reportInternalFailure(e: Exception) = report(LogLevel.ERROR, "Reach call failed internally and was ignored: $e")

    /** A line from the wrapper itself, on the calling thread (there is no worker to hand it to). */
    private fun report(level: LogLevel, line: String) {
        try {
            sink?.invoke(level, line)
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
        storageProblem = null,
    )

    /**
     * The shared instance: `Reach.setup(config)` once (from `Application.onCreate`), then
     * `Reach.track(...)` and the rest anywhere. Each function here calls the same function of
     * [shared], which exists from the start: calls before setup are kept (see [PRE_SETUP_BUFFER_LIMIT]).
     * They are not `@JvmStatic` (the JVM cannot hold a static and an instance method of one
     * signature): Java callers use `Reach.getShared().track(...)`.
     */
    companion object {
        /** The instance behind `Reach.track(...)` and friends; usable (buffering) before [setup]. */
        @JvmStatic
        val shared: Reach = Reach(CallQueue(PRE_SETUP_BUFFER_LIMIT))

        /**
         * Opens the shared instance and applies the calls made before, in order, with their own
         * timestamps. Call once; a second call is logged and ignored. In non-strict mode, a data
         * directory another process holds (a `:remote` service) or that cannot be created gives a
         * disabled instance: it logs once, records nothing and counts what it refused under
         * `disabled`. In strict mode those throw [AlreadyOpenException] / [StorageException].
         */
        @JvmStatic
        @JvmOverloads
        fun setup(config: ReachConfig, logSink: ((LogLevel, String) -> Unit)? = null): Reach =
            shared.setUp(config, logSink)

        /** A new instance in the state [shared] has before [setup]: for tests of that path. */
        internal fun unopened(): Reach = Reach(CallQueue(PRE_SETUP_BUFFER_LIMIT))

        fun track(name: String, properties: Map<String, Any?> = emptyMap()) = shared.track(name, properties)
        fun screen(name: String, properties: Map<String, Any?> = emptyMap()) = shared.screen(name, properties)
        fun identify(userId: String) = shared.identify(userId)
        fun setUserProperties(properties: Map<String, Any?>) = shared.setUserProperties(properties)
        fun unsetUserProperties(vararg keys: String) = shared.unsetUserProperties(keys.asList())
        fun reset() = shared.reset()
        fun setConsent(consent: Consent) = shared.setConsent(consent)
        val consent: Consent get() = shared.consent
        fun deleteLocalData() = shared.deleteLocalData()
        fun flush() = shared.flush()
        fun onForeground() = shared.onForeground()
        fun onBackground() = shared.onBackground()
        /** See [Reach.uploadNow]: blocks on the network, never call it on the UI thread. */
        fun uploadNow(timeoutMs: Long) = shared.uploadNow(timeoutMs)
        fun diagnostics() = shared.diagnostics()
        fun setLogSink(logSink: ((LogLevel, String) -> Unit)?) = shared.setLogSink(logSink)
        fun loadRulePack(json: String) = shared.loadRulePack(json)
        fun setPopupPresenter(presenter: PopupPresenter?) = shared.setPopupPresenter(presenter)
        fun setClaimClient(client: ClaimClient?) = shared.setClaimClient(client)
        fun setNotificationScheduler(scheduler: NotificationScheduler?) = shared.setNotificationScheduler(scheduler)
        fun notificationTapped(notificationId: String) = shared.notificationTapped(notificationId)
        fun preview(campaignId: String, variant: String? = null) = shared.preview(campaignId, variant)
        fun popupShown(offerId: String) = shared.popupShown(offerId)
        fun popupClicked(offerId: String, buttonId: String) = shared.popupClicked(offerId, buttonId)
        fun popupDismissed(offerId: String) = shared.popupDismissed(offerId)
        fun explain(campaignId: String) = shared.explain(campaignId)
    }
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
