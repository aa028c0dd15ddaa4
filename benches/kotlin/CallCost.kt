/**
 * What a Kotlin app pays per Reach call on its own thread: a plain JVM main over the generated
 * bindings and the wrapper, against the release library (scripts/bench-kotlin.sh builds and runs
 * it). Each row times CALLS single calls with System.nanoTime() around each one, after a warm-up
 * that lets the JIT compile the path, and prints p50 / p99 / max per repeat.
 *
 * Two paths: "queued" is the wrapper as apps get it (non-strict: the hot calls only stamp and
 * queue); "direct" is strict mode, one JNA call per call — what every call cost before the queue.
 */
package dev.reach.bench

import dev.reach.AppInfo
import dev.reach.Consent
import dev.reach.Reach
import dev.reach.ReachConfig
import java.nio.file.Files

private const val CALLS = 20_000
private const val REPEATS = 3
private const val WARMUP_CALLS = 30_000

private val props = mapOf("sku" to "A-1042", "price" to 19.99, "qty" to 2, "member" to true, "coupon" to "SPRING")

private fun percentile(sorted: LongArray, p: Double) = sorted[((sorted.size - 1) * p).toInt()]

private fun row(label: String, call: (Int) -> Unit) {
    repeat(WARMUP_CALLS) { call(it) }
    val results = (1..REPEATS).map {
        val ns = LongArray(CALLS)
        for (i in 0 until CALLS) {
            val t0 = System.nanoTime()
            call(i)
            ns[i] = System.nanoTime() - t0
        }
        ns.sort()
        Triple(percentile(ns, 0.50), percentile(ns, 0.99), ns.last())
    }
    val text = results.joinToString("  ") { (p50, p99, max) ->
        "%.2f / %.1f / %.0f".format(p50 / 1000.0, p99 / 1000.0, max / 1000.0)
    }
    println("%-44s %s".format(label, text))
}

fun main() {
    val app = AppInfo(appVersion = "1.0", build = "1", platform = "jvm-bench", osVersion = "17",
        locale = "en-US", timezone = "UTC")
    println("p50 / p99 / max in µs, $CALLS calls per repeat, $REPEATS repeats (JVM ${System.getProperty("java.version")})")
    for (strict in listOf(false, true)) {
        val dir = Files.createTempDirectory("reach-kt-bench").toFile()
        val path = if (strict) "direct (strict, one JNA call each)" else "queued (the default)"
        val reach = Reach(ReachConfig(dataDir = dir.resolve("reach").path, app = app, consent = Consent.GRANTED,
            strict = strict, recordAppOpen = false, maxQueuedEvents = 10_000_000uL, maxQueuedBytes = 4_000_000_000uL,
            flushTimeoutMs = 60_000uL))
        println("-- $path")
        row("consent getter") { reach.consent }
        row("track(name)") { reach.track("tap") }
        row("track(name, 5 properties)") { reach.track("add_to_cart", props) }
        row("screen(name, 5 properties)") { reach.screen("product", props) }
        row("identify(userId)") { reach.identify("user-${it and 7}") }
        row("setUserProperties(5 properties)") { reach.setUserProperties(props) }
        check(reach.flush()) { "flush" }
        reach.close()
        dir.deleteRecursively()
    }
}
