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
import java.util.concurrent.TimeUnit
import kotlin.system.exitProcess

// ---------------------------------------------------------------------------------------------
// A minimal runner.

private class TestFailure(message: String) : AssertionError(message)

private fun check(condition: Boolean, message: () -> String) {
    if (!condition) throw TestFailure(message())
}

private fun <T> assertEq(expected: T, actual: T, what: String) =
    check(expected == actual) { "$what: expected <$expected>, got <$actual>" }

/** Runs [block] and returns what it threw, failing if it threw nothing or something else. */
private inline fun <reified E : Throwable> assertThrows(what: String, block: () -> Unit): E {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) return e
        throw TestFailure("$what: expected ${E::class.java.name}, got $e")
    }
    throw TestFailure("$what: expected ${E::class.java.name}, nothing was thrown")
}

private class TestCase(val name: String, val body: (File) -> Unit)

private val tests = mutableListOf<TestCase>()

/** Declares a test; each gets a fresh temporary directory, deleted afterwards. */
private fun test(name: String, body: (File) -> Unit) {
    tests += TestCase(name, body)
}

// ---------------------------------------------------------------------------------------------
// Helpers.

private val app = AppInfo(
    appVersion = "1.2.3", build = "45", platform = "jvm-test", osVersion = "17",
    locale = "zh-CN", timezone = "Asia/Shanghai",
)

private fun config(
    dir: File,
    strict: Boolean = false,
    consent: Consent = Consent.GRANTED,
    recordAppOpen: Boolean = true,
    maxQueuedEvents: ULong = 50_000uL,
    flushTimeoutMs: ULong = 10_000uL,
) = ReachConfig(
    dataDir = File(dir, "reach").path, app = app, consent = consent,
    maxQueuedEvents = maxQueuedEvents, maxQueuedBytes = 64uL * 1024uL * 1024uL, strict = strict,
    recordAppOpen = recordAppOpen, flushTimeoutMs = flushTimeoutMs,
)

/** Flushes (so the counts are settled) and returns the stored event count. */
private fun Reach.storedAfterFlush(): Long {
    check(flush()) { "flush() did not complete" }
    return diagnostics().stored.toLong()
}

private fun Diagnostics.rejected(code: String): Long = rejectedByReason[code]?.toLong() ?: 0L

/** Collects log lines with the thread each arrived on. */
private class LogCollector {
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

private fun CountDownLatch.awaitOrFail(what: String) =
    check(await(10, TimeUnit.SECONDS)) { "timed out waiting for $what" }

// ---------------------------------------------------------------------------------------------
// Property conversion (unit level: the exact values and type names).

private fun conv(v: Any?) = PropertyConversion.toPropertyValue(v)

/** Declares every test, in the order they run. */
private fun defineTests() {

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

test("an unusable data directory throws Storage") { dir ->
    val notADirectory = File(dir, "file").apply { writeText("x") }
    val cfg = config(dir).copy(dataDir = File(notADirectory, "reach").path)
    assertThrows<StorageException>("data dir under a file") { Reach(cfg) }
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
    check(!reach.flush()) { "flush() after close returns false" }
    check(!reach.onBackground()) { "onBackground() after close returns false" }
    reach.consent
    val d = reach.diagnostics()
    check(d.rejected("closed") >= 11) { "late calls counted as closed: ${d.rejectedByReason}" }
    Reach(config(dir)).use { again -> assertEq(1L, again.storedAfterFlush(), "only the event before close") }
}

test("strict mode: calls after close throw Closed") { dir ->
    val reach = Reach(config(dir, strict = true))
    reach.close()
    assertThrows<ClosedException>("track after close") { reach.track("late") }
    assertThrows<ClosedException>("screen after close") { reach.screen("late") }
    assertThrows<ClosedException>("identify after close") { reach.identify("u") }
    assertThrows<ClosedException>("reset after close") { reach.reset() }
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

} // defineTests

// ---------------------------------------------------------------------------------------------

fun main(args: Array<String>) {
    defineTests()
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
