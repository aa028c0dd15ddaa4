/**
 * Tests of the Kotlin wrapper against the real host-built library, on real data directories.
 *
 * A plain `main` runner instead of JUnit: nothing beyond kotlinc and JNA is installable here.
 * Its last line is `N passed, N failed` and it exits non-zero on any failure, which is what CI
 * counts. Run with `scripts/test-kotlin.sh`; pass test names (substrings) to run only those.
 *
 * Behaviour is observed through `diagnostics()` and by reopening a directory after `close()`
 * (no JDBC driver is available to read the SQLite file directly).
 */
package dev.reach

import dev.reach.ffi.PropertyValue
import java.io.File
import java.nio.file.Files
import java.time.Instant
import java.util.Collections
import java.util.Date
import java.util.UUID
import java.util.concurrent.CountDownLatch
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlin.system.exitProcess

// ---------------------------------------------------------------------------------------------
// A minimal runner.

internal class TestFailure(message: String) : AssertionError(message)

internal fun check(condition: Boolean, message: () -> String) {
    if (!condition) throw TestFailure(message())
}

internal fun <T> assertEq(expected: T, actual: T, what: String) =
    check(expected == actual) { "$what: expected <$expected>, got <$actual>" }

/** Runs [block] and returns what it threw, failing if it threw nothing or something else. */
internal inline fun <reified E : Throwable> assertThrows(what: String, block: () -> Unit): E {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) return e
        throw TestFailure("$what: expected ${E::class.java.name}, got $e")
    }
    throw TestFailure("$what: expected ${E::class.java.name}, nothing was thrown")
}

internal class TestCase(val name: String, val body: (File) -> Unit)

internal val tests = mutableListOf<TestCase>()

/** Declares a test; each gets a fresh temporary directory, deleted afterwards. */
internal fun test(name: String, body: (File) -> Unit) {
    tests += TestCase(name, body)
}

// ---------------------------------------------------------------------------------------------
// Helpers.

internal val app = AppInfo(
    appVersion = "1.2.3", build = "45", platform = "jvm-test", osVersion = "17",
    locale = "zh-CN", timezone = "Asia/Shanghai",
)

internal fun config(
    dir: File,
    strict: Boolean = false,
    consent: Consent = Consent.GRANTED,
    recordAppOpen: Boolean = true,
    maxQueuedEvents: ULong = 50_000uL,
    flushTimeoutMs: ULong = 10_000uL,
    bundledRulePack: String? = null,
) = ReachConfig(
    dataDir = File(dir, "reach").path, app = app, consent = consent,
    maxQueuedEvents = maxQueuedEvents, maxQueuedBytes = 64uL * 1024uL * 1024uL, strict = strict,
    recordAppOpen = recordAppOpen, flushTimeoutMs = flushTimeoutMs,
    bundledRulePack = bundledRulePack,
)

/** Flushes (so the counts are settled) and returns the stored event count. */
internal fun Reach.storedAfterFlush(): Long {
    check(flush()) { "flush() did not complete" }
    return diagnostics().stored.toLong()
}

internal fun Diagnostics.rejected(code: String): Long = rejectedByReason[code]?.toLong() ?: 0L

/** Collects log lines with the thread each arrived on. */
internal class LogCollector {
    val lines: MutableList<Triple<LogLevel, String, Thread>> = Collections.synchronizedList(mutableListOf())
    private val latches = Collections.synchronizedList(mutableListOf<Pair<String, CountDownLatch>>())

    val sink: (LogLevel, String) -> Unit = { level, line ->
        lines += Triple(level, line, Thread.currentThread())
        synchronized(latches) { latches.filter { line.contains(it.first) }.forEach { it.second.countDown() } }
    }

    fun expect(fragment: String): CountDownLatch =
        CountDownLatch(1).also { latch ->
            synchronized(latches) {
                latches += fragment to latch
                if (snapshot().any { it.second.contains(fragment) }) latch.countDown()
            }
        }

    fun snapshot() = synchronized(lines) { lines.toList() }
    fun contains(fragment: String) = snapshot().any { it.second.contains(fragment) }
}

internal fun CountDownLatch.awaitOrFail(what: String) =
    check(await(10, TimeUnit.SECONDS)) { "timed out waiting for $what" }

/** Scenario 01 (tests/fixtures/packs/01-registration-lottery.json): one lottery popup per person. */
internal const val LOTTERY_PACK = """
{"format":"1.0","campaigns":[{"id":"new-user-lottery","trigger":{"event":"register"},
 "frequency":{"max_total":1},
 "popup":{"template":"modal","title":"New member lottery","buttons":[
   {"id":"draw","text":"Draw now","action":{"type":"deep_link","url":"app://lottery"}},
   {"id":"later","text":"Later","action":{"type":"dismiss"}}]}}]}
"""

/** The same pack with an unknown operator: refused at `campaigns[0].trigger.where[0].op`. */
internal val INVALID_PACK = LOTTERY_PACK.replace(
    """"trigger":{"event":"register"}""",
    """"trigger":{"event":"register","where":[{"prop":"method","op":"gtx","value":1}]}""",
).also { check(it != LOTTERY_PACK) { "INVALID_PACK did not change the pack" } }

internal const val INVALID_PACK_PATH = "campaigns[0].trigger.where[0].op"

/**
 * A [PopupPresenter] written in Kotlin: records every popup with the thread it arrived on, and
 * answers with [answers] in order, then [ShowNowDecision].
 */
internal class RecordingPresenter(vararg answers: PresenterDecision) : PopupPresenter {
    private val answers = ArrayDeque(answers.toList())
    private val offers = LinkedBlockingQueue<Pair<Popup, Thread>>()
    private val count = AtomicInteger()

    override fun offer(popup: Popup): PresenterDecision {
        val answer = synchronized(answers) { answers.removeFirstOrNull() } ?: ShowNowDecision
        count.incrementAndGet()
        offers.put(popup to Thread.currentThread())
        return answer
    }

    /** The next popup offered, waiting at most 5 s for it. */
    fun next(what: String): Pair<Popup, Thread> =
        offers.poll(5, TimeUnit.SECONDS) ?: throw TestFailure("timed out waiting for $what")

    /** The next popup if one comes within [ms]. */
    fun poll(ms: Long): Popup? = offers.poll(ms, TimeUnit.MILLISECONDS)?.first

    val offered: Int get() = count.get()
}

/**
 * Scenario 06 (tests/fixtures/packs/06-prize-inventory.json) inline, format 1.1: a prize from a
 * limited stock, claimed before the popup is shown, one per person, nothing shown offline.
 */
internal const val PRIZE_PACK = """
{"format":"1.1","campaigns":[{"id":"golden-week-gift","trigger":{"event":"purchase"},
 "inventory":{"per_user":1,"offline":"skip"},
 "popup":{"template":"modal","title":"A golden week gift for you","buttons":[
   {"id":"claim","text":"Claim","action":{"type":"deep_link","url":"app://gifts/golden-week"}}]}}]}
"""

/** A delayed campaign with a local-notification fallback: an hour after `add_to_cart`. */
internal const val CART_NOTIFICATION_PACK = """
{"format":"1.1","campaigns":[{"id":"cart","trigger":{"event":"add_to_cart"},
 "delay":{"after":"1h"},"channels":["in_app","local_notification"],
 "notification":{"title":"Your cart misses you","body":"Come back"},
 "popup":{"template":"modal","title":"Still thinking?"}}]}
"""

/** A [NotificationScheduler] as a host writes one, recording each call with its thread. */
internal class RecordingScheduler(private val failWith: Exception? = null) : NotificationScheduler {
    private val schedules = LinkedBlockingQueue<Pair<LocalNotification, Thread>>()
    private val cancels = LinkedBlockingQueue<String>()

    override fun schedule(notification: LocalNotification) {
        schedules.put(notification to Thread.currentThread())
        failWith?.let { throw it }
    }

    override fun cancel(notificationId: String) {
        cancels.put(notificationId)
    }

    fun nextSchedule(): Pair<LocalNotification, Thread> =
        schedules.poll(5, TimeUnit.SECONDS) ?: throw TestFailure("timed out waiting for schedule()")

    fun nextCancel(): String = cancels.poll(5, TimeUnit.SECONDS) ?: throw TestFailure("timed out waiting for cancel()")
}

/** A trigger with a property condition: `purchase` with `amount > 100`. */
internal const val BIG_SPENDER_PACK = """
{"format":"1.1","campaigns":[{"id":"big-spender","trigger":{"event":"purchase",
 "where":[{"prop":"amount","op":"gt","value":100}]},
 "popup":{"template":"banner","title":"Thank you!"}}]}
"""

/** A holdout where everyone is in the control arm: the only arm with weight > 0 is `control`. */
internal const val HOLDOUT_PACK = """
{"format":"1.1","campaigns":[{"id":"vip-upsell","trigger":{"event":"view_item"},
 "variants":[{"id":"treatment","weight":0},{"id":"control","weight":1,"control":true}],
 "popup":{"template":"modal","title":"Become a VIP"}}]}
"""

/**
 * A [ClaimClient] written in Kotlin, as a host writes one over its backend: a stock of [prizes],
 * one per idempotency key (a repeated key gets its prize again, never a second one); records
 * every claim and release with the thread it arrived on. A released key returns its prize.
 */
internal class StockClaimClient(private var prizes: Int) : ClaimClient {
    data class Call(val campaignId: String, val personId: String, val key: String, val thread: Thread)

    private val granted = HashMap<String, String>()
    private val claims = LinkedBlockingQueue<Call>()
    private val releases = LinkedBlockingQueue<Call>()
    val claimCount = AtomicInteger()

    override fun claim(campaignId: String, personId: String, idempotencyKey: String): ClaimOutcome {
        val outcome = synchronized(this) {
            granted[idempotencyKey]?.let { GrantedOutcome(claimId = it) } ?: if (prizes > 0) {
                prizes--
                val id = "prize-${granted.size + 1}"
                granted[idempotencyKey] = id
                GrantedOutcome(claimId = id)
            } else {
                ExhaustedOutcome
            }
        }
        claimCount.incrementAndGet()
        claims.put(Call(campaignId, personId, idempotencyKey, Thread.currentThread()))
        return outcome
    }

    override fun release(campaignId: String, idempotencyKey: String) {
        synchronized(this) { if (granted.remove(idempotencyKey) != null) prizes++ }
        releases.put(Call(campaignId, "", idempotencyKey, Thread.currentThread()))
    }

    fun nextClaim(what: String): Call =
        claims.poll(5, TimeUnit.SECONDS) ?: throw TestFailure("timed out waiting for $what")

    fun nextRelease(what: String): Call =
        releases.poll(5, TimeUnit.SECONDS) ?: throw TestFailure("timed out waiting for $what")

    fun pollRelease(ms: Long): Call? = releases.poll(ms, TimeUnit.MILLISECONDS)
}

/**
 * Asks [Reach.explain] until [condition] holds (claim answers reach Reach's worker from the
 * `reach-claims` thread, after the host's `claim` returned), failing after 5 s with the last text.
 */
internal fun Reach.explainUntil(
    campaignId: String,
    what: String,
    condition: (CampaignExplanation) -> Boolean,
): CampaignExplanation {
    val deadline = System.nanoTime() + 5_000_000_000L
    while (true) {
        val e = explain(campaignId) ?: throw TestFailure("explain(\"$campaignId\") returned null")
        if (condition(e)) return e
        if (System.nanoTime() > deadline) throw TestFailure("timed out waiting for $what; last explanation:\n${e.text}")
        Thread.sleep(10)
    }
}

// ---------------------------------------------------------------------------------------------
// Property conversion (unit level: the exact values and type names).

internal fun conv(v: Any?) = PropertyConversion.toPropertyValue(v)

/** Declares every test, in the order they run. */
internal fun defineTests() {

test("every supported Kotlin type converts to its PropertyValue") {
    val date = Date(1_700_000_000_123L)
    val instant = Instant.ofEpochMilli(1_700_000_000_456L)
    assertEq(PropertyValue.StringValue("s"), conv("s"), "String")
    assertEq(PropertyValue.IntValue(42), conv(42), "Int")
    assertEq(PropertyValue.IntValue(Long.MAX_VALUE), conv(Long.MAX_VALUE), "Long")
    assertEq(PropertyValue.IntValue(-7), conv((-7).toShort()), "Short")
    assertEq(PropertyValue.IntValue(8), conv(8.toByte()), "Byte")
    assertEq(PropertyValue.IntValue(9), conv(9u), "UInt")
    assertEq(PropertyValue.IntValue(10), conv(10.toUShort()), "UShort")
    assertEq(PropertyValue.IntValue(11), conv(11.toUByte()), "UByte")
    assertEq(PropertyValue.IntValue(12), conv(12uL), "ULong")
    assertEq(PropertyValue.FloatValue(2.5), conv(2.5), "Double")
    assertEq(PropertyValue.FloatValue(0.1), conv(0.1f), "Float keeps its decimal value")
    assertEq(PropertyValue.BoolValue(true), conv(true), "Boolean")
    assertEq(PropertyValue.TimestampValue(1_700_000_000_123L), conv(date), "Date")
    assertEq(PropertyValue.TimestampValue(1_700_000_000_123L), conv(java.sql.Timestamp(date.time)), "Date subclass")
    assertEq(PropertyValue.TimestampValue(1_700_000_000_456L), conv(instant), "Instant")
    assertEq(PropertyValue.StringListValue(listOf("a", "b")), conv(listOf("a", "b")), "List<String>")
    assertEq(PropertyValue.StringListValue(listOf("x")), conv(linkedSetOf("x")), "Set<String>")
    assertEq(PropertyValue.StringListValue(listOf("p", "q")), conv(arrayOf("p", "q")), "Array<String>")
    assertEq(PropertyValue.StringListValue(emptyList<String>()), conv(emptyList<String>()), "empty list")
    val explicit = PropertyValue.TimestampValue(5)
    check(conv(explicit) === explicit) { "a PropertyValue passes through unchanged" }
    val map = PropertyConversion.convert(mapOf("a" to 1, "b" to "two"))
    assertEq(mapOf("a" to PropertyValue.IntValue(1), "b" to PropertyValue.StringValue("two")), map, "convert(map)")
}

test("unsupported values become UnsupportedValue with a precise type name") {
    fun typeName(v: Any?) = (conv(v) as? PropertyValue.UnsupportedValue)?.typeName
    assertEq("null", typeName(null), "null")
    assertEq("java.util.UUID", typeName(UUID.randomUUID()), "UUID")
    assertEq("java.lang.Object", typeName(Any()), "Any")
    assertEq("java.lang.Character", typeName('c'), "Char")
    assertEq("java.math.BigDecimal", typeName(java.math.BigDecimal.ONE), "BigDecimal")
    assertEq("java.util.HashMap", typeName(hashMapOf("k" to "v")), "Map")
    assertEq("int[]", typeName(intArrayOf(1)), "IntArray")
    assertEq("list containing java.lang.Integer", typeName(listOf(1, 2)), "List<Int>")
    assertEq("list containing java.lang.Integer", typeName(listOf("a", 2)), "mixed list")
    assertEq("list containing null", typeName(listOf("a", null)), "list with null")
    assertEq("list containing java.lang.Long", typeName(arrayOf<Any>(3L)), "Array<Any> of Long")
    assertEq("kotlin.ULong above ${Long.MAX_VALUE}", typeName(ULong.MAX_VALUE), "huge ULong")
    assertEq("java.time.Instant outside the epoch-millisecond range", typeName(Instant.MAX), "Instant.MAX")
}

// ---------------------------------------------------------------------------------------------
// Events end to end.

test("track and screen store every supported property type") { dir ->
    Reach(config(dir)).use { reach ->
        val props = mapOf(
            "s" to "text", "i" to 1, "l" to 2L, "sh" to 3.toShort(), "b" to 4.toByte(), "f" to 1.5f,
            "d" to 2.5, "bool" to false, "date" to Date(), "instant" to Instant.now(),
            "list" to listOf("a", "b"), "array" to arrayOf("c"), "set" to setOf("d"), "u" to 5u,
            "typed" to PropertyValue.TimestampValue(0),
        )
        reach.track("all_types", props)
        reach.track("no_properties")
        reach.screen("Home", props)
        reach.screen("Settings")
        assertEq(4L, reach.storedAfterFlush(), "stored")
        val d = reach.diagnostics()
        assertEq(0uL, d.rejectedTotal, "rejectedTotal")
        assertEq(0uL, d.queued, "queued after flush")
        check(d.storedBytes > 0uL) { "storedBytes should be > 0, got ${d.storedBytes}" }
        check(d.databaseBytes > 0uL) { "databaseBytes should be > 0, got ${d.databaseBytes}" }
        check(d.persistent) { "the store should be on disk" }
    }
}

test("unsupported values are refused by the core and counted as unsupported_value, not thrown") { dir ->
    val log = LogCollector()
    Reach(config(dir), log.sink).use { reach ->
        val seen = log.expect("java.util.UUID")
        reach.track("bad_null", mapOf("k" to null))
        reach.track("bad_uuid", mapOf("ok" to 1, "k" to UUID.randomUUID()))
        reach.screen("bad_list", mapOf("k" to listOf(1, 2)))
        reach.setUserProperties(mapOf("k" to Any()))
        reach.track("bad_nan", mapOf("k" to Double.NaN))
        assertEq(0L, reach.storedAfterFlush(), "stored")
        val d = reach.diagnostics()
        assertEq(4L, d.rejected("unsupported_value"), "unsupported_value")
        assertEq(1L, d.rejected("non_finite_float"), "non_finite_float")
        assertEq(5uL, d.rejectedTotal, "rejectedTotal")
        seen.awaitOrFail("a log line naming java.util.UUID")
        check(log.contains("list containing java.lang.Integer")) { "log names the list's element type: ${log.snapshot()}" }
    }
}

test("non-strict mode counts an empty or reserved name instead of throwing") { dir ->
    Reach(config(dir)).use { reach ->
        reach.track("")
        reach.track("reach.x")
        reach.screen("")
        reach.track("ok")
        assertEq(1L, reach.storedAfterFlush(), "stored")
        val d = reach.diagnostics()
        assertEq(2L, d.rejected("name_empty"), "name_empty")
        assertEq(1L, d.rejected("name_reserved_prefix"), "name_reserved_prefix")
    }
}

test("strict mode throws InvalidInput with the reason code for bad names and values") { dir ->
    Reach(config(dir, strict = true)).use { reach ->
        val reserved = assertThrows<InvalidInputException>("reserved name") { reach.track("reach.x") }
        assertEq("name_reserved_prefix", reserved.code, "code")
        check(reserved.detail.contains("reach.")) { "detail explains: ${reserved.detail}" }
        val empty = assertThrows<InvalidInputException>("empty name") { reach.track("") }
        assertEq("name_empty", empty.code, "code")
        val screen = assertThrows<InvalidInputException>("empty screen name") { reach.screen("") }
        assertEq("name_empty", screen.code, "code")
        val value = assertThrows<InvalidInputException>("unsupported value") {
            reach.track("e", mapOf("when" to UUID.randomUUID()))
        }
        assertEq("unsupported_value", value.code, "code")
        check(value.detail.contains("java.util.UUID")) { "detail names the type: ${value.detail}" }
        val user = assertThrows<InvalidInputException>("unsupported user property") {
            reach.setUserProperties(mapOf("k" to null))
        }
        assertEq("unsupported_value", user.code, "code")
        assertThrows<InvalidInputException>("empty user id") { reach.identify("") }
        reach.track("fine", mapOf("n" to 1))
        assertEq(1L, reach.storedAfterFlush(), "valid events still stored")
        assertEq(6uL, reach.diagnostics().rejectedTotal, "strict refusals are counted too")
    }
}

// ---------------------------------------------------------------------------------------------
// Opening, closing, persistence.

test("a second instance on the same directory throws AlreadyOpen until the first is closed") { dir ->
    val first = Reach(config(dir))
    val e = assertThrows<AlreadyOpenException>("second open") { Reach(config(dir)) }
    check(e.detail.isNotEmpty()) { "AlreadyOpen has a message" }
    assertThrows<AlreadyOpenException>("second open, non-strict too") { Reach(config(dir, strict = false)) }
    first.close()
    Reach(config(dir)).close()
}

test("an unusable data directory throws Storage in strict mode") { dir ->
    val notADirectory = File(dir, "file").apply { writeText("x") }
    val cfg = config(dir, strict = true).copy(dataDir = File(notADirectory, "reach").path)
    assertThrows<StorageException>("data dir under a file") { Reach(cfg) }
}

test("an unusable data directory keeps events in memory and says why") { dir ->
    val notADirectory = File(dir, "file").apply { writeText("x") }
    val cfg = config(dir).copy(dataDir = File(notADirectory, "reach").path)
    Reach(cfg).use { reach ->
        reach.track("still_recorded")
        check(reach.flush()) { "flush() completed" }
        val d = reach.diagnostics()
        assertEq(false, d.persistent, "persistent")
        check(d.storageProblem?.contains(notADirectory.path) == true) { "storageProblem: ${d.storageProblem}" }
    }
}

test("events survive close and reopen") { dir ->
    Reach(config(dir)).use { reach ->
        repeat(120) { reach.track("e$it", mapOf("i" to it)) }
        repeat(30) { reach.screen("s$it") }
        check(reach.flush()) { "flush() completed" }
        check(reach.shutdown()) { "shutdown() committed in time" }
        check(reach.shutdown()) { "shutdown() is idempotent" }
    }
    Reach(config(dir)).use { reach -> assertEq(150L, reach.storedAfterFlush(), "stored after reopen") }
}

test("calls after close do not throw, are counted as closed, and flush returns false") { dir ->
    val log = LogCollector()
    val reach = Reach(config(dir), log.sink)
    reach.track("before")
    reach.close()
    reach.close()
    reach.track("after", mapOf("k" to 1))
    reach.screen("after")
    reach.identify("u1")
    reach.setUserProperties(mapOf("k" to "v"))
    reach.unsetUserProperties("k")
    reach.unsetUserProperties(listOf("k"))
    reach.reset()
    reach.setConsent(Consent.PENDING)
    reach.deleteLocalData()
    reach.onForeground()
    reach.setLogSink(null)
    reach.loadRulePack(LOTTERY_PACK)
    reach.setPopupPresenter(null)
    reach.popupShown("offer")
    reach.popupClicked("offer", "draw")
    reach.popupDismissed("offer")
    check(!reach.flush()) { "flush() after close returns false" }
    check(!reach.onBackground()) { "onBackground() after close returns false" }
    reach.consent
    val d = reach.diagnostics()
    check(d.rejected("closed") >= 16) { "late calls counted as closed: ${d.rejectedByReason}" }
    Reach(config(dir)).use { again -> assertEq(1L, again.storedAfterFlush(), "only the event before close") }
}

test("strict mode: calls after close throw Closed") { dir ->
    val reach = Reach(config(dir, strict = true))
    reach.close()
    assertThrows<ClosedException>("track after close") { reach.track("late") }
    assertThrows<ClosedException>("screen after close") { reach.screen("late") }
    assertThrows<ClosedException>("identify after close") { reach.identify("u") }
    assertThrows<ClosedException>("reset after close") { reach.reset() }
    assertThrows<ClosedException>("loadRulePack after close") { reach.loadRulePack(LOTTERY_PACK) }
    assertThrows<ClosedException>("setPopupPresenter after close") { reach.setPopupPresenter(null) }
    assertThrows<ClosedException>("popupShown after close") { reach.popupShown("offer") }
    assertThrows<ClosedException>("popupClicked after close") { reach.popupClicked("offer", "draw") }
    assertThrows<ClosedException>("popupDismissed after close") { reach.popupDismissed("offer") }
    check(!reach.flush()) { "flush() after close returns false in strict mode too" }
    reach.close()
}

// ---------------------------------------------------------------------------------------------
// Consent, identity, lifecycle.

test("denied consent deletes stored events, refuses new ones and persists") { dir ->
    Reach(config(dir)).use { reach ->
        assertEq(Consent.GRANTED, reach.consent, "initial consent")
        repeat(5) { reach.track("e") }
        assertEq(5L, reach.storedAfterFlush(), "stored before denial")
        reach.setConsent(Consent.DENIED)
        assertEq(Consent.DENIED, reach.consent, "consent after denial")
        assertEq(0L, reach.storedAfterFlush(), "stored after denial")
        reach.track("refused")
        reach.screen("refused")
        assertEq(0L, reach.storedAfterFlush(), "stored while denied")
        assertEq(2L, reach.diagnostics().rejected("consent_denied"), "consent_denied")
    }
    // The persisted state wins over the config's initial consent.
    Reach(config(dir, consent = Consent.GRANTED)).use { reach ->
        reach.flush()
        assertEq(Consent.DENIED, reach.consent, "consent after reopen")
        reach.setConsent(Consent.PENDING)
        reach.track("recorded_while_pending")
        assertEq(1L, reach.storedAfterFlush(), "pending consent still records locally")
        reach.setConsent(Consent.GRANTED)
        reach.track("recorded_while_granted")
        assertEq(2L, reach.storedAfterFlush(), "granted consent records")
    }
}

test("identify and setUserProperties record identify events; unset and reset do not") { dir ->
    Reach(config(dir)).use { reach ->
        reach.identify("user-1")
        assertEq(1L, reach.storedAfterFlush(), "after identify")
        reach.identify("user-1")
        assertEq(2L, reach.storedAfterFlush(), "after identifying the same user again")
        reach.setUserProperties(mapOf("plan" to "pro", "age" to 30, "tags" to listOf("a")))
        assertEq(3L, reach.storedAfterFlush(), "after setUserProperties")
        reach.unsetUserProperties("plan", "age")
        reach.unsetUserProperties(listOf("tags"))
        reach.unsetUserProperties()
        assertEq(3L, reach.storedAfterFlush(), "after unsetUserProperties")
        reach.reset()
        assertEq(3L, reach.storedAfterFlush(), "after reset")
        reach.identify("user-2")
        assertEq(4L, reach.storedAfterFlush(), "after identifying another user")
        reach.identify("")
        assertEq(1L, reach.diagnostics().rejected("property_key_invalid"), "empty user id counted")
        assertEq(4L, reach.storedAfterFlush(), "empty user id stores nothing")
    }
}

test("deleteLocalData removes stored events and keeps consent") { dir ->
    Reach(config(dir, consent = Consent.PENDING)).use { reach ->
        reach.identify("u")
        repeat(3) { reach.track("e") }
        assertEq(4L, reach.storedAfterFlush(), "before delete")
        reach.deleteLocalData()
        assertEq(0L, reach.storedAfterFlush(), "after delete")
        assertEq(Consent.PENDING, reach.consent, "consent kept")
        reach.track("after_delete")
        assertEq(1L, reach.storedAfterFlush(), "recording continues")
    }
}

test("onForeground records app_open; onBackground flushes and returns true") { dir ->
    Reach(config(dir)).use { reach ->
        reach.onForeground()
        assertEq(1L, reach.storedAfterFlush(), "app_open recorded")
        reach.track("e")
        check(reach.onBackground()) { "onBackground() returns true" }
        assertEq(2L, reach.diagnostics().stored.toLong(), "onBackground() flushed")
        reach.onForeground()
        assertEq(3L, reach.storedAfterFlush(), "second app_open")
    }
}

test("onForeground records nothing when recordAppOpen is false") { dir ->
    Reach(config(dir, recordAppOpen = false)).use { reach ->
        reach.onForeground()
        check(reach.onBackground()) { "onBackground() returns true" }
        reach.onForeground()
        assertEq(0L, reach.storedAfterFlush(), "no app_open")
    }
}

// ---------------------------------------------------------------------------------------------
// Log sink.

test("the log sink gets a line for a refused event, on a background thread") { dir ->
    val log = LogCollector()
    Reach(config(dir), log.sink).use { reach ->
        val latch = log.expect("name_x_refused")
        reach.track("reach.name_x_refused")
        latch.awaitOrFail("the refusal log line")
        val (level, line, thread) = log.snapshot().first { it.second.contains("name_x_refused") }
        assertEq(LogLevel.WARN, level, "level")
        check(line.contains("reserved")) { "line says why: $line" }
        check(thread !== Thread.currentThread()) { "logged on the caller's thread" }
    }
}

test("setLogSink replaces the sink, null silences it, and a throwing sink is harmless") { dir ->
    val first = LogCollector()
    val second = LogCollector()
    Reach(config(dir), first.sink).use { reach ->
        reach.setLogSink(second.sink)
        val latch = second.expect("to_second")
        reach.track("reach.to_second")
        latch.awaitOrFail("the line in the new sink")
        reach.flush()
        check(!first.contains("to_second")) { "the old sink still receives lines" }

        reach.setLogSink(null)
        reach.track("reach.to_nobody")
        check(reach.flush()) { "flush() with no sink" }
        check(!first.contains("to_nobody") && !second.contains("to_nobody")) { "a removed sink still receives lines" }

        val calls = CountDownLatch(2)
        reach.setLogSink { _, _ -> calls.countDown(); throw IllegalStateException("broken logger") }
        reach.track("reach.throwing_1")
        reach.track("reach.throwing_2")
        calls.awaitOrFail("both lines reaching the throwing sink")
        reach.track("still_works")
        assertEq(1L, reach.storedAfterFlush(), "Reach works after the sink threw")
    }
}

// ---------------------------------------------------------------------------------------------
// Rule packs and popups.

test("a Kotlin PopupPresenter receives the registration popup; shown and clicked are recorded, max_total holds") { dir ->
    Reach(config(dir)).use { reach ->
        val presenter = RecordingPresenter()
        reach.loadRulePack(LOTTERY_PACK)
        reach.setPopupPresenter(presenter)
        reach.track("register", mapOf("method" to "sms"))
        val (popup, thread) = presenter.next("the registration popup")
        check(thread !== Thread.currentThread()) { "the presenter was called on the caller's thread" }
        check(!thread.name.contains("main")) { "the presenter was called on ${thread.name}" }
        assertEq("new-user-lottery", popup.campaignId, "campaignId")
        assertEq("New member lottery", popup.title, "title")
        assertEq(PopupTemplate.MODAL, popup.template, "template")
        assertEq(null, popup.body, "body")
        check(popup.offerId.isNotEmpty()) { "offerId is empty" }
        check(popup.variant.isNotEmpty()) { "variant is empty" }
        assertEq(listOf("draw", "later"), popup.buttons.map { it.id }, "button ids")
        assertEq(listOf("Draw now", "Later"), popup.buttons.map { it.text }, "button texts")
        assertEq(DeepLinkAction("app://lottery"), popup.buttons[0].action, "draw action")
        check(popup.buttons[1].action is DismissAction) { "later action: ${popup.buttons[1].action}" }
        // What a host does with the actions: an exhaustive `when` through the aliases.
        val described = popup.buttons.map {
            when (val a = it.action) {
                is DeepLinkAction -> "open ${a.url}"
                is DismissAction -> "close"
                is TrackEventAction -> "track ${a.event}"
            }
        }
        assertEq(listOf("open app://lottery", "close"), described, "actions")

        reach.popupShown(popup.offerId)
        reach.popupClicked(popup.offerId, "draw")
        // register, reach.popup.offered, reach.popup.shown, reach.popup.clicked
        assertEq(4L, reach.storedAfterFlush(), "stored after the click")
        assertEq(1uL, reach.diagnostics().popupsOffered, "popupsOffered")

        reach.track("register", mapOf("method" to "sms"))
        assertEq(5L, reach.storedAfterFlush(), "stored after the second register")
        assertEq(1uL, reach.diagnostics().popupsOffered, "popupsOffered after the second register (max_total 1)")
        assertEq(null, presenter.poll(200), "a second popup")
        assertEq(1, presenter.offered, "offers the presenter received")
    }
}

test("a dismiss-action button counts as a dismiss; popupDismissed ends a popup too") { dir ->
    val log = LogCollector()
    Reach(config(dir), log.sink).use { reach ->
        // max_total 1 counts impressions: after one, the campaign is done.
        reach.loadRulePack(LOTTERY_PACK.replace(""""max_total":1""", """"max_total":2"""))
        val presenter = RecordingPresenter()
        reach.setPopupPresenter(presenter)
        reach.track("register")
        val first = presenter.next("the first popup").first
        reach.popupShown(first.offerId)
        reach.popupClicked(first.offerId, "later")
        reach.track("register")
        val second = presenter.next("the second popup").first
        check(second.offerId != first.offerId) { "a new offer has a new id" }
        reach.popupDismissed(second.offerId)
        // 2 register, 2 shown (the second one implied by the dismiss), 2 dismissed
        assertEq(8L, reach.storedAfterFlush(), "stored") // each offer also records reach.popup.offered
        assertEq(2uL, reach.diagnostics().popupsOffered, "popupsOffered")
        reach.track("register")
        assertEq(9L, reach.storedAfterFlush(), "stored after the third register")
        assertEq(null, presenter.poll(200), "a third popup (max_total 2)")
    }
}

test("an invalid rule pack throws InvalidRulePack with the path, in non-strict and strict mode") { dir ->
    val log = LogCollector()
    Reach(config(dir, strict = false), log.sink).use { reach ->
        reach.loadRulePack(LOTTERY_PACK)
        val e = assertThrows<InvalidRulePackException>("invalid pack, non-strict") { reach.loadRulePack(INVALID_PACK) }
        assertEq(INVALID_PACK_PATH, e.path, "path")
        check(e.detail.isNotEmpty()) { "detail is empty" }
        check(e.detail.contains("gtx")) { "detail names the bad operator: ${e.detail}" }
        val notJson = assertThrows<InvalidRulePackException>("not JSON") { reach.loadRulePack("{") }
        check(notJson.detail.isNotEmpty()) { "detail is empty for bad JSON" }
        // The active pack keeps serving.
        val presenter = RecordingPresenter()
        reach.setPopupPresenter(presenter)
        reach.track("register")
        assertEq("new-user-lottery", presenter.next("the popup of the still-active pack").first.campaignId, "campaign")
        reach.flush()
        check(log.snapshot().any { it.first == LogLevel.ERROR && it.second.contains(INVALID_PACK_PATH) }) {
            "an ERROR log line names the path: ${log.snapshot()}"
        }
    }
    Reach(config(dir, strict = true)).use { reach ->
        val e = assertThrows<InvalidRulePackException>("invalid pack, strict") { reach.loadRulePack(INVALID_PACK) }
        assertEq(INVALID_PACK_PATH, e.path, "path")
    }
}

test("Later and Discard answers do not crash: Later offers the same popup again, Discard counts nothing") { dir ->
    val log = LogCollector()
    Reach(config(dir, recordAppOpen = false), log.sink).use { reach ->
        reach.onForeground()
        reach.loadRulePack(LOTTERY_PACK)
        val presenter = RecordingPresenter(
            LaterDecision(delayMs = 100uL), LaterDecision(delayMs = null), DiscardDecision,
        )
        reach.setPopupPresenter(presenter)
        reach.track("register")
        val first = presenter.next("the first offer (answered later in 100 ms)").first
        // Due again 100 ms later: the app is in the foreground.
        val second = presenter.next("the offer again after the delay (answered later, no delay)").first
        assertEq(first.offerId, second.offerId, "a deferred popup keeps its offer id")
        // Without a delay it comes back at the next foreground. The answer reaches Reach's worker
        // after `offer` returns, so poll: a foreground before it is a no-op.
        var third: Popup? = null
        for (i in 0 until 50) {
            reach.onBackground()
            reach.onForeground()
            third = presenter.poll(100)
            if (third != null) break
        }
        assertEq(first.offerId, third?.offerId, "the deferred popup at the next foreground")
        // Discarded: nothing counted, so the next register is offered again, with a new id.
        val discarded = log.expect("discarded popup ${first.offerId}")
        discarded.awaitOrFail("the discard log line")
        reach.track("register")
        val fourth = presenter.next("a new offer after the discard").first
        check(fourth.offerId != first.offerId) { "a new offer has a new id" }
        reach.popupShown(fourth.offerId)
        reach.popupDismissed(fourth.offerId)
        // 2 register, shown, dismissed: the deferred and discarded offers recorded nothing.
        assertEq(6L, reach.storedAfterFlush(), "stored") // each offer also records reach.popup.offered
        assertEq(4uL, reach.diagnostics().popupsOffered, "popupsOffered")
    }
}

test("a presenter that throws is a discard: logged, and Reach carries on") { dir ->
    val log = LogCollector()
    Reach(config(dir), log.sink).use { reach ->
        reach.loadRulePack(LOTTERY_PACK)
        val threw = log.expect("PopupPresenter threw")
        val discarded = log.expect("discarded popup")
        reach.setPopupPresenter { throw IllegalStateException("host presenter broke") }
        reach.track("register")
        threw.awaitOrFail("the presenter failure log line")
        discarded.awaitOrFail("the discard log line")
        check(log.contains("host presenter broke")) { "the log line carries the exception: ${log.snapshot()}" }
        val presenter = RecordingPresenter()
        reach.setPopupPresenter(presenter)
        reach.track("register")
        assertEq("new-user-lottery", presenter.next("the popup after the failure").first.campaignId, "campaign")
        assertEq(4L, reach.storedAfterFlush(), "stored") // each offer also records reach.popup.offered
    }
}

test("without a presenter nothing is offered or counted; setting one later works") { dir ->
    Reach(config(dir)).use { reach ->
        reach.loadRulePack(LOTTERY_PACK)
        reach.track("register")
        assertEq(1L, reach.storedAfterFlush(), "stored")
        assertEq(0uL, reach.diagnostics().popupsOffered, "popupsOffered without a presenter")
        val presenter = RecordingPresenter()
        reach.setPopupPresenter(presenter)
        reach.setPopupPresenter(null)
        reach.track("register")
        assertEq(2L, reach.storedAfterFlush(), "stored")
        assertEq(0uL, reach.diagnostics().popupsOffered, "popupsOffered after removing the presenter")
        reach.setPopupPresenter(presenter)
        reach.track("register")
        presenter.next("the popup once a presenter is set")
        assertEq(1, presenter.offered, "offers")
    }
}

test("a bundled rule pack works without loadRulePack; a loaded pack replaces it and persists") { dir ->
    Reach(config(dir, bundledRulePack = LOTTERY_PACK)).use { reach ->
        val presenter = RecordingPresenter(DiscardDecision)
        reach.setPopupPresenter(presenter)
        reach.track("register", mapOf("method" to "sms"))
        val popup = presenter.next("the popup of the bundled pack").first
        assertEq("new-user-lottery", popup.campaignId, "campaign")
        assertEq(listOf("Draw now", "Later"), popup.buttons.map { it.text }, "button texts")
        reach.loadRulePack(LOTTERY_PACK.replace("New member lottery", "Loaded lottery"))
    }
    // The loaded pack was persisted and wins over the bundled one.
    Reach(config(dir, bundledRulePack = LOTTERY_PACK)).use { reach ->
        val presenter = RecordingPresenter()
        reach.setPopupPresenter(presenter)
        reach.track("register")
        assertEq("Loaded lottery", presenter.next("the popup of the loaded pack").first.title, "title")
    }
}

test("an invalid bundled pack does not throw at open: logged, no campaign active") { dir ->
    val log = LogCollector()
    val refused = log.expect("bundled rule pack is refused")
    Reach(config(dir, bundledRulePack = INVALID_PACK), log.sink).use { reach ->
        reach.setPopupPresenter(RecordingPresenter())
        reach.track("register")
        assertEq(1L, reach.storedAfterFlush(), "stored")
        assertEq(0uL, reach.diagnostics().popupsOffered, "popupsOffered")
        refused.awaitOrFail("the refused bundled pack log line")
    }
}

// ---------------------------------------------------------------------------------------------
// Prize claims (a Kotlin ClaimClient), explain() and holdouts (rule pack format 1.1).

test("a Kotlin ClaimClient grants the first prize: shown once; the next person finds it exhausted") { dir ->
    Reach(config(dir)).use { reach ->
        val client = StockClaimClient(prizes = 1)
        val presenter = RecordingPresenter()
        reach.loadRulePack(PRIZE_PACK)
        reach.setClaimClient(client)
        reach.setPopupPresenter(presenter)

        reach.track("purchase", mapOf("amount" to 120))
        val first = client.nextClaim("the first claim")
        assertEq("golden-week-gift", first.campaignId, "campaignId of the claim")
        check(first.key.isNotEmpty()) { "the claim has no idempotency key" }
        check(first.personId.isNotEmpty()) { "the claim has no person id" }
        check(first.thread !== Thread.currentThread()) { "claim was called on the caller's thread" }
        check(!first.thread.name.contains("main")) { "claim was called on ${first.thread.name}" }
        val (popup, _) = presenter.next("the prize popup")
        assertEq("golden-week-gift", popup.campaignId, "campaignId of the popup")
        assertEq("A golden week gift for you", popup.title, "title")
        reach.popupShown(popup.offerId)
        reach.popupClicked(popup.offerId, "claim")
        val granted = reach.explainUntil("golden-week-gift", "the impression") { it.impressions == 1u }
        check(granted.reasons.any { it.contains("prize claimed (claim prize-1)") }) { granted.text }

        // A second person: the stock is gone, nothing is shown.
        reach.reset()
        reach.track("purchase", mapOf("amount" to 80))
        val second = client.nextClaim("the second person's claim")
        check(second.personId != first.personId) { "reset() did not change the person id: ${second.personId}" }
        check(second.key != first.key) { "a new claim reused the key ${first.key}" }
        val e = reach.explainUntil("golden-week-gift", "the exhausted answer") { ex ->
            ex.reasons.any { it.contains("the stock is exhausted: no popup") }
        }
        assertEq("not offered", e.outcome, "outcome (the engine chose it; the claim said no)")
        assertEq(null, presenter.poll(200), "a popup for the second person")
        assertEq(1, presenter.offered, "offers the presenter received")
        assertEq(2, client.claimCount.get(), "claims")
        assertEq(null, client.pollRelease(100), "a release (nothing was discarded)")
        // purchase, reach.popup.shown, reach.popup.clicked, purchase
        assertEq(6L, reach.storedAfterFlush(), "stored") // each exposure point records reach.popup.offered
    }
}

test("discarding a prize popup releases the prize with the claim's idempotency key") { dir ->
    Reach(config(dir)).use { reach ->
        val client = StockClaimClient(prizes = 1)
        val presenter = RecordingPresenter(DiscardDecision)
        reach.loadRulePack(PRIZE_PACK)
        reach.setClaimClient(client)
        reach.setPopupPresenter(presenter)
        reach.track("purchase")
        val claim = client.nextClaim("the claim")
        presenter.next("the prize popup (discarded)")
        val release = client.nextRelease("the release after the discard")
        assertEq("golden-week-gift", release.campaignId, "campaignId of the release")
        assertEq(claim.key, release.key, "the released key")
        check(release.thread !== Thread.currentThread()) { "release was called on the caller's thread" }
        // The prize is back and nothing was counted: the next purchase claims and shows it.
        reach.track("purchase")
        val again = client.nextClaim("the claim after the discard")
        check(again.key != claim.key) { "a new offer reused the key" }
        assertEq("golden-week-gift", presenter.next("the popup after the discard").first.campaignId, "campaign")
    }
}

test("a ClaimClient that throws is 'unavailable': offline skip shows nothing; explain says why") { dir ->
    val log = LogCollector()
    Reach(config(dir), log.sink).use { reach ->
        val claims = AtomicInteger()
        val releases = LinkedBlockingQueue<String>()
        reach.loadRulePack(PRIZE_PACK)
        reach.setClaimClient(object : ClaimClient {
            override fun claim(campaignId: String, personId: String, idempotencyKey: String): ClaimOutcome {
                claims.incrementAndGet()
                throw java.io.IOException("prize backend unreachable")
            }

            override fun release(campaignId: String, idempotencyKey: String) {
                releases.put(idempotencyKey)
                throw IllegalStateException("release failed too")
            }
        })
        val presenter = RecordingPresenter()
        reach.setPopupPresenter(presenter)
        reach.track("purchase")
        val e = reach.explainUntil("golden-week-gift", "the unavailable claim") {
            it.text.contains("offline, claim required")
        }
        check(e.text.contains("prize backend unreachable")) { "the reason carries the exception's message: ${e.text}" }
        assertEq(1, claims.get(), "claims")
        assertEq(null, presenter.poll(200), "a popup without a claimed prize (offline: skip)")
        assertEq(0uL, reach.diagnostics().popupsOffered, "popupsOffered")
        // The lost answer may have been a prize: Reach releases the key; the throwing release is logged.
        check(releases.poll(5, TimeUnit.SECONDS) != null) { "no release after the unavailable claim" }
        log.expect("release failed too").awaitOrFail("the failed release in the log")
        // Removing the client: the campaign follows its offline policy.
        reach.setClaimClient(null)
        reach.track("purchase")
        assertEq(4L, reach.storedAfterFlush(), "stored") // each exposure point records reach.popup.offered
        assertEq(null, presenter.poll(200), "a popup without a claim client")
    }
}

test("explain: an unknown campaign is not in the pack; a failed condition names the property and its value") { dir ->
    Reach(config(dir)).use { reach ->
        reach.loadRulePack(BIG_SPENDER_PACK)
        val unknown = reach.explain("no-such-campaign") ?: throw TestFailure("explain returned null")
        assertEq("no-such-campaign", unknown.campaignId, "campaignId")
        assertEq(false, unknown.inPack, "inPack")
        assertEq("not in the active pack", unknown.outcome, "outcome")
        assertEq(null, unknown.lastEvent, "lastEvent")
        assertEq(null, unknown.variant, "variant")
        assertEq(0u, unknown.impressions, "impressions")
        check(unknown.text.contains("not in the active pack")) { unknown.text }

        val before = reach.explain("big-spender") ?: throw TestFailure("explain returned null")
        assertEq(true, before.inPack, "inPack")
        assertEq("no matching event yet", before.outcome, "outcome before any purchase")

        reach.setPopupPresenter(RecordingPresenter())
        reach.track("purchase", mapOf("amount" to 50))
        // explain() waits for the worker: the purchase tracked before it is taken into account.
        val e = reach.explain("big-spender") ?: throw TestFailure("explain returned null")
        assertEq("not offered", e.outcome, "outcome")
        assertEq("purchase", e.lastEvent, "lastEvent")
        check(e.lastEventAtMs != null) { "lastEventAtMs is null" }
        val reason = e.reasons.firstOrNull { it.contains("amount") }
            ?: throw TestFailure("no reason names the property: ${e.reasons}")
        check(reason.contains("50")) { "the reason gives the value seen: $reason" }
        check(e.text.contains(reason)) { "text holds the reasons: ${e.text}" }
        assertEq(0uL, reach.diagnostics().popupsOffered, "popupsOffered")
    }
}

test("explain after close: null, or ClosedException in strict mode") { dir ->
    val log = LogCollector()
    val reach = Reach(config(dir), log.sink)
    reach.loadRulePack(BIG_SPENDER_PACK)
    reach.close()
    assertEq(null, reach.explain("big-spender"), "explain after close")
    reach.setClaimClient(StockClaimClient(prizes = 1))
    reach.setClaimClient(null)
    val strict = Reach(config(File(dir, "strict"), strict = true))
    strict.close()
    assertThrows<ClosedException>("strict explain after close") { strict.explain("big-spender") }
    assertThrows<ClosedException>("strict setClaimClient after close") { strict.setClaimClient(null) }
}

test("a holdout control arm shows nothing, records reach.popup.control, and explain says control") { dir ->
    Reach(config(dir)).use { reach ->
        reach.loadRulePack(HOLDOUT_PACK)
        val presenter = RecordingPresenter()
        reach.setPopupPresenter(presenter)
        reach.track("view_item", mapOf("sku" to "vip"))
        val e = reach.explainUntil("vip-upsell", "the control exposure") { it.impressions == 1u }
        assertEq("control", e.variant, "variant")
        check(e.text.contains("control")) { e.text }
        // view_item and reach.popup.control
        assertEq(2L, reach.storedAfterFlush(), "stored")
        assertEq(null, presenter.poll(200), "a popup for the control arm")
        assertEq(0uL, reach.diagnostics().popupsOffered, "popupsOffered")
    }
}

// ---------------------------------------------------------------------------------------------
// Concurrency.

test("8 threads x 5,000 events tracked concurrently are all stored") { dir ->
    val threads = 8
    val perThread = 5_000
    Reach(config(dir, maxQueuedEvents = 100_000uL, flushTimeoutMs = 60_000uL)).use { reach ->
        val start = CountDownLatch(1)
        val failures = Collections.synchronizedList(mutableListOf<Throwable>())
        val workers = (0 until threads).map { t ->
            Thread {
                try {
                    start.await()
                    repeat(perThread) { i -> reach.track("concurrent", mapOf("thread" to t, "i" to i)) }
                } catch (e: Throwable) {
                    failures += e
                }
            }.apply { start() }
        }
        val t0 = System.nanoTime()
        start.countDown()
        workers.forEach { it.join() }
        val t1 = System.nanoTime()
        check(failures.isEmpty()) { "tracking threads threw: $failures" }
        assertEq((threads * perThread).toLong(), reach.storedAfterFlush(), "stored")
        println("    tracked in ${(t1 - t0) / 1_000_000} ms, stored ${(System.nanoTime() - t1) / 1_000_000} ms later")
        val d = reach.diagnostics()
        assertEq(0uL, d.droppedOverflow, "droppedOverflow")
        assertEq(0uL, d.rejectedTotal, "rejectedTotal")
        assertEq(0uL, d.queued, "queued")
    }
}

test("a batch arrives at the configured server, gzipped, as Segment JSON") { dir ->
    val received = LinkedBlockingQueue<String>()
    val server = com.sun.net.httpserver.HttpServer.create(java.net.InetSocketAddress("127.0.0.1", 0), 0)
    server.createContext("/v1/batch") { ex ->
        val raw = ex.requestBody.readBytes()
        val body = if (ex.requestHeaders.getFirst("Content-Encoding") == "gzip") {
            java.util.zip.GZIPInputStream(raw.inputStream()).readBytes()
        } else raw
        received.put(String(body, Charsets.UTF_8))
        val out = """{"success": true}""".toByteArray()
        ex.sendResponseHeaders(200, out.size.toLong())
        ex.responseBody.use { it.write(out) }
    }
    server.start()
    try {
        val cfg = config(dir, recordAppOpen = false).copy(
            serverUrl = "http://127.0.0.1:${server.address.port}", writeKey = "wk-kotlin",
        )
        Reach(cfg).use { reach ->
            reach.track("add_to_cart", mapOf("sku" to "A1"))
            check(reach.flush()) { "flush completed" }
            val body = received.poll(20, TimeUnit.SECONDS) ?: throw TestFailure("no batch arrived")
            check(body.contains("\"event\":\"add_to_cart\"")) { "the event is in the batch: $body" }
            check(body.contains("\"sku\":\"A1\"")) { "the properties are in the batch: $body" }
            check(body.contains("\"writeKey\":\"wk-kotlin\"")) { "the write key is in the batch" }
            // The network thread counts the acknowledged events, then the
            // worker deletes them and publishes `stored` after its commit:
            // wait for both, not for the first alone.
            val deadline = System.nanoTime() + 20_000_000_000L
            while (reach.diagnostics().let { it.uploadedEvents < 1uL || it.stored != 0uL }) {
                check(System.nanoTime() < deadline) {
                    "the upload was acknowledged and its events deleted: ${reach.diagnostics()}"
                }
                Thread.sleep(20)
            }
            assertEq(1uL, reach.diagnostics().uploadedEvents, "uploaded events")
            assertEq(0uL, reach.diagnostics().stored, "stored after the upload")
        }
    } finally {
        server.stop(0)
    }
}

// ---------------------------------------------------------------------------------------------
// The local-notification fallback (a Kotlin NotificationScheduler).

test("a pending delay is scheduled as a local notification at background, cancelled when the app returns first") { dir ->
    Reach(config(dir, recordAppOpen = false)).use { reach ->
        val scheduler = RecordingScheduler()
        reach.loadRulePack(CART_NOTIFICATION_PACK)
        reach.setNotificationScheduler(scheduler)
        reach.onForeground()
        val before = System.currentTimeMillis()
        reach.track("add_to_cart")
        check(reach.onBackground()) { "onBackground() committed" }
        val (n, thread) = scheduler.nextSchedule()
        assertEq("cart", n.campaignId, "campaignId")
        assertEq("Your cart misses you", n.title, "title")
        assertEq("Come back", n.body, "body")
        check(n.fireAtMs >= before + 3_600_000 && n.fireAtMs <= System.currentTimeMillis() + 3_600_000) {
            "fireAtMs ${n.fireAtMs} is not the delay's due time"
        }
        check(thread !== Thread.currentThread()) { "schedule() was called on the caller's thread" }
        reach.onForeground()
        assertEq(n.notificationId, scheduler.nextCancel(), "the cancelled notification")
    }
}

test("a tapped notification is the campaign's click; a throwing scheduler is only logged") { dir ->
    val log = LogCollector()
    Reach(config(dir, recordAppOpen = false), log.sink).use { reach ->
        val scheduler = RecordingScheduler(failWith = IllegalStateException("notifications are off"))
        val seen = log.expect("notifications are off")
        reach.loadRulePack(CART_NOTIFICATION_PACK)
        reach.setNotificationScheduler(scheduler)
        reach.onForeground()
        reach.track("add_to_cart")
        check(reach.onBackground()) { "onBackground() committed" }
        val (n, _) = scheduler.nextSchedule()
        seen.awaitOrFail("the scheduler's exception in the log")
        reach.notificationTapped(n.notificationId)
        val e = reach.explainUntil("cart", "the click") { ex -> ex.reasons.any { it.contains("tapped: a click") } }
        assertEq(1u, e.impressions, "impressions")
    }
}

} // defineTests

// ---------------------------------------------------------------------------------------------

fun main(args: Array<String>) {
    defineTests()
    defineQueueTests()
    definePreviewTests()
    val selected = if (args.isEmpty()) tests else tests.filter { t -> args.any { t.name.contains(it) } }
    var passed = 0
    var failed = 0
    val started = System.nanoTime()
    for (t in selected) {
        val dir = Files.createTempDirectory("reach-kt-test").toFile()
        val t0 = System.nanoTime()
        try {
            t.body(dir)
            passed++
            println("PASS  ${t.name} (${(System.nanoTime() - t0) / 1_000_000} ms)")
        } catch (e: Throwable) {
            failed++
            println("FAIL  ${t.name}: $e")
            if (e !is TestFailure) e.printStackTrace(System.out)
        } finally {
            dir.deleteRecursively()
        }
    }
    println("total ${(System.nanoTime() - started) / 1_000_000} ms")
    println("$passed passed, $failed failed")
    System.out.flush()
    exitProcess(if (failed == 0 && passed > 0) 0 else 1)
}
