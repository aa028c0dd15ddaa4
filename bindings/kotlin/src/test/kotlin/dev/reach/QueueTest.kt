/**
 * Tests of the wrapper's call path: the queue the hot calls take, the buffer before setup, the
 * shared instance, the disabled instance of a second process, the main-thread presenter and
 * uploadNow. Events are checked where an app's events end up: a loopback collector.
 */
package dev.reach

import java.io.File
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executor
import java.util.concurrent.Executors
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger

private fun Reach.uploadAll(): UploadOutcome {
    val outcome = uploadNow(20_000)
    assertEq(UploadStop.DRAINED, outcome.stop, "uploadNow stop (${outcome.detail})")
    return outcome
}

private fun Map<String, Any?>.prop(key: String): Any? = (this["properties"] as? Map<*, *>)?.get(key)

/** Per-thread sequence numbers must arrive in the order each thread made its calls. */
private fun checkPerThreadOrder(events: List<Map<String, Any?>>, threads: Int) {
    val last = IntArray(threads) { -1 }
    for (e in events) {
        val t = (e.prop("t") as? Double ?: continue).toInt()
        val i = (e.prop("i") as Double).toInt()
        check(i > last[t]) { "thread $t: event $i arrived after ${last[t]}" }
        last[t] = i
    }
}

internal fun defineQueueTests() {

    test("calls before setup are kept in order, with their own time, and applied at setup") { dir ->
        Collector().use { collector ->
            val reach = Reach.unopened()
            val before = System.currentTimeMillis()
            reach.track("before_login", mapOf("step" to 1))
            reach.identify("u-1")
            reach.setUserProperties(mapOf("plan" to "pro"))
            reach.track("logged_in", mapOf("step" to 2))
            reach.reset()
            reach.screen("home")
            assertEq(false, reach.flush(), "flush() before setup")
            assertEq(Consent.PENDING, reach.consent, "consent before setup")
            assertEq(6uL, reach.diagnostics().queued, "queued before setup")
            val made = System.currentTimeMillis()
            Thread.sleep(30)
            reach.setUp(config(dir, recordAppOpen = false).uploadingTo(collector), null)
            try {
                assertEq(5uL, reach.uploadAll().acknowledged, "acknowledged (reset records no event)")
                val events = collector.events()
                assertEq(listOf("before_login", "identify", "identify", "logged_in", "home"), collector.names(), "names")
                for (e in events) {
                    val at = java.time.Instant.parse(e["timestamp"] as String).toEpochMilli()
                    check(at in before..made) { "stamped when the call was made ($before..$made), not at setup: $at" }
                }
                assertEq(null, events[0]["userId"], "userId before identify")
                assertEq("u-1", events[3]["userId"], "userId after identify")
                assertEq("pro", (events[2]["traits"] as Map<*, *>)["plan"], "traits")
                assertEq(null, events[4]["userId"], "userId after reset")
                check(events[4]["anonymousId"] != events[0]["anonymousId"]) { "reset gave a new anonymous id" }
            } finally {
                reach.close()
            }
        }
    }

    test("onForeground hands the core the device's current timezone") { dir ->
        val home = java.util.TimeZone.getDefault()
        Collector().use { collector ->
            val reach = Reach.unopened()
            reach.setUp(config(dir, recordAppOpen = false).uploadingTo(collector), null)
            try {
                reach.track("at_home")
                // The person lands in New York while the app runs.
                java.util.TimeZone.setDefault(java.util.TimeZone.getTimeZone("America/New_York"))
                reach.onForeground()
                reach.track("abroad")
                assertEq(2uL, reach.uploadAll().acknowledged, "acknowledged")
                val zones = collector.events().map { (it["context"] as Map<*, *>)["timezone"] }
                assertEq(listOf<Any?>("Asia/Shanghai", "America/New_York"), zones, "context.timezone")
            } finally {
                java.util.TimeZone.setDefault(home)
                reach.close()
            }
        }
    }

    test("the buffer before setup keeps the newest 1,000 calls and counts the others") { dir ->
        Collector().use { collector ->
            val reach = Reach.unopened()
            for (i in 0 until 1_500) reach.track("early", mapOf("i" to i))
            assertEq(500L, reach.diagnostics().rejected("pre_setup_overflow"), "counted before setup")
            reach.setUp(config(dir, recordAppOpen = false).uploadingTo(collector), null)
            try {
                assertEq(1_000L, reach.storedAfterFlush(), "stored")
                val d = reach.diagnostics()
                assertEq(500L, d.rejected("pre_setup_overflow"), "pre_setup_overflow after setup")
                assertEq(1_000uL, reach.uploadAll().acknowledged, "acknowledged")
                val firsts = collector.events().map { (it.prop("i") as Double).toInt() }
                assertEq((500 until 1_500).toList(), firsts, "the oldest were dropped, the rest kept in order")
            } finally {
                reach.close()
            }
        }
    }

    test("threads racing setup lose nothing uncounted and keep their own order") { dir ->
        Collector().use { collector ->
            val reach = Reach.unopened()
            val threads = 4
            val perThread = 3_000
            val start = CountDownLatch(1)
            val workers = (0 until threads).map { t ->
                Thread {
                    start.await()
                    for (i in 0 until perThread) reach.track("race", mapOf("t" to t, "i" to i))
                }.apply { start() }
            }
            start.countDown()
            Thread.sleep(2)
            reach.setUp(config(dir, recordAppOpen = false).uploadingTo(collector), null)
            workers.forEach { it.join() }
            try {
                val dropped = reach.diagnostics().let { it.rejected("pre_setup_overflow") + it.droppedOverflow.toLong() }
                assertEq((threads * perThread).toLong() - dropped, reach.storedAfterFlush(), "stored + dropped = tracked")
                reach.uploadAll()
                assertEq((threads * perThread).toLong() - dropped, collector.events().size.toLong(), "uploaded")
                checkPerThreadOrder(collector.events(), threads)
            } finally {
                reach.close()
            }
        }
    }

    test("the shared instance: Reach.track before Reach.setup, then Reach.* everywhere") { dir ->
        Collector().use { collector ->
            Reach.track("early_shared", mapOf("at" to "start"))
            Reach.setConsent(Consent.GRANTED)
            val log = LogCollector()
            val shared = Reach.setup(config(dir, recordAppOpen = false, consent = Consent.PENDING).uploadingTo(collector), log.sink)
            check(shared === Reach.shared) { "setup returns the shared instance" }
            Reach.identify("u-shared")
            Reach.track("after_setup")
            assertEq(Consent.GRANTED, Reach.consent, "the consent set before setup applies")
            val again = Reach.setup(config(File(dir, "other")), null)
            check(again === Reach.shared) { "a second setup returns the same instance" }
            check(log.contains("setup() was called again")) { "a second setup is logged" }
            assertEq(3uL, Reach.uploadNow(20_000).acknowledged, "acknowledged")
            assertEq(listOf("early_shared", "identify", "after_setup"), collector.names(), "names")
            check(Reach.shared.shutdown()) { "shutdown" }
        }
    }

    test("setup in a second process gives a disabled instance that logs once and counts") { dir ->
        val owner = Reach(config(dir))
        try {
            val log = LogCollector()
            val second = Reach.unopened()
            second.track("before")
            second.setUp(config(dir), log.sink)
            second.track("x")
            second.identify("u")
            second.screen("s")
            assertEq(false, second.flush(), "flush on a disabled instance")
            assertEq(UploadStop.CLOSED, second.uploadNow(100).stop, "uploadNow on a disabled instance")
            val d = second.diagnostics()
            check(d.rejected("disabled") >= 4) { "the refused calls are counted: $d" }
            assertEq(1, log.snapshot().count { it.second.contains("disabled") }, "logged once")
            assertEq(0uL, d.stored, "nothing stored")
            second.close()
            // Strict mode still throws, and so does the constructor.
            assertThrows<AlreadyOpenException>("strict setup") { Reach.unopened().setUp(config(dir, strict = true), null) }
            assertThrows<AlreadyOpenException>("constructor") { Reach(config(dir)) }
        } finally {
            owner.close()
        }
        // The owner's events are intact and the directory opens again.
        Reach(config(dir)).use { check(it.flush()) { "reopened" } }
    }

    test("flush() covers every call queued before it, from every thread") { dir ->
        Reach(config(dir, recordAppOpen = false)).use { reach ->
            val threads = (0 until 4).map { t ->
                Thread { for (i in 0 until 2_500) reach.track("e", mapOf("t" to t, "i" to i)) }.apply { start() }
            }
            threads.forEach { it.join() }
            check(reach.flush()) { "flush completed" }
            assertEq(10_000uL, reach.diagnostics().stored, "stored right after flush, no waiting")
        }
    }

    test("track, identify and reset from several threads keep each thread's order") { dir ->
        Collector().use { collector ->
            Reach(config(dir, recordAppOpen = false).uploadingTo(collector)).use { reach ->
                val threads = 4
                val workers = (0 until threads).map { t ->
                    Thread {
                        var i = 0
                        repeat(100) {
                            reach.track("a", mapOf("t" to t, "i" to i++))
                            reach.identify("user-$t")
                            reach.track("b", mapOf("t" to t, "i" to i++))
                            reach.reset()
                        }
                    }.apply { start() }
                }
                workers.forEach { it.join() }
                reach.uploadAll()
                val events = collector.events()
                assertEq(threads * 200, events.count { it["type"] == "track" }, "tracks")
                assertEq(threads * 100, events.count { it["type"] == "identify" }, "identifies")
                checkPerThreadOrder(events, threads)
            }
        }
        // One thread alone: an identify() affects exactly the calls after it.
        Collector().use { collector ->
            Reach(config(File(dir, "one"), recordAppOpen = false).uploadingTo(collector)).use { reach ->
                for (n in 0 until 50) {
                    reach.track("anon", mapOf("n" to n))
                    reach.identify("u-$n")
                    reach.track("known", mapOf("n" to n))
                    reach.reset()
                }
                reach.uploadAll()
                for (e in collector.events().filter { it["type"] == "track" }) {
                    val n = (e.prop("n") as Double).toInt()
                    val expected = if (e["event"] == "known") "u-$n" else null
                    assertEq(expected, e["userId"], "userId of ${e["event"]} $n")
                }
            }
        }
    }

    test("strict mode still throws on the caller's thread") { dir ->
        Reach(config(dir, strict = true)).use { reach ->
            assertThrows<InvalidInputException>("empty name") { reach.track("") }
            assertThrows<InvalidInputException>("reserved name") { reach.screen("reach.x") }
            assertThrows<InvalidInputException>("unsupported value") { reach.setUserProperties(mapOf("k" to null)) }
            reach.track("fine")
            assertEq(1L, reach.storedAfterFlush(), "only the good event")
        }
    }

    test("nothing queued is lost at close(), and calls after it are counted as closed") { dir ->
        val reach = Reach(config(dir, recordAppOpen = false))
        for (i in 0 until 20_000) reach.track("burst", mapOf("i" to i))
        check(reach.shutdown()) { "shutdown committed everything" }
        reach.track("late")
        assertEq(1L, reach.diagnostics().rejected("closed"), "the call after close")
        Reach(config(dir, recordAppOpen = false)).use { assertEq(20_000L, it.storedAfterFlush(), "stored after reopening") }
    }

    test("uploadNow: drained, failed with the reason, no server, not set up, no consent") { dir ->
        Collector().use { collector ->
            Reach(config(dir, recordAppOpen = false).uploadingTo(collector)).use { reach ->
                for (i in 0 until 40) reach.track("bg", mapOf("i" to i))
                collector.status = 503
                val failed = reach.uploadNow(20_000)
                assertEq(UploadStop.FAILED, failed.stop, "stop when the server fails")
                assertEq(0uL to 40uL, failed.acknowledged to failed.remaining, "acknowledged/remaining")
                check(failed.detail?.contains("503") == true) { "the reason: ${failed.detail}" }
                collector.status = 200
                val drained = reach.uploadNow(20_000)
                assertEq(UploadStop.DRAINED, drained.stop, "stop")
                assertEq(40uL to 0uL, drained.acknowledged to drained.remaining, "acknowledged/remaining")
            }
        }
        Reach(config(File(dir, "offline"))).use {
            assertEq(UploadStop.NO_SERVER, it.uploadNow(1_000).stop, "no server")
        }
        assertEq(UploadStop.CLOSED, Reach.unopened().uploadNow(1_000).stop, "before setup")
        Collector().use { collector ->
            Reach(config(File(dir, "pending"), consent = Consent.PENDING).uploadingTo(collector)).use {
                it.track("x")
                assertEq(UploadStop.CONSENT_NOT_GRANTED, it.uploadNow(5_000).stop, "consent pending")
                assertEq(0, collector.requests.get(), "nothing sent")
            }
        }
    }

    test("mainThreadPresenter shows the popup on the executor's thread and returns its decision") { dir ->
        val ui = Executors.newSingleThreadExecutor { r -> Thread(r, "test-ui") }
        try {
            val shownOn = LinkedBlockingQueue<String>()
            Reach(config(dir, bundledRulePack = LOTTERY_PACK)).use { reach ->
                reach.setPopupPresenter(mainThreadPresenter(ui) { popup ->
                    shownOn.put(Thread.currentThread().name + ":" + popup.campaignId)
                    ShowNowDecision
                })
                reach.track("register")
                assertEq("test-ui:new-user-lottery", shownOn.poll(10, TimeUnit.SECONDS), "shown on the UI executor")
                val deadline = System.nanoTime() + 10_000_000_000L
                while (reach.diagnostics().popupsOffered < 1uL) {
                    check(System.nanoTime() < deadline) { "the offer was counted" }
                    Thread.sleep(10)
                }
            }
        } finally {
            ui.shutdownNow()
        }
    }

    test("mainThreadPresenter answers later when the UI thread is stuck, and the late task draws nothing") { _ ->
        val held = LinkedBlockingQueue<Runnable>()
        val stuck = Executor { held.put(it) }
        val drawn = AtomicInteger()
        val presenter = mainThreadPresenter(stuck, timeoutMs = 50) { drawn.incrementAndGet(); ShowNowDecision }
        val popup = Popup(
            offerId = "o-1", campaignId = "c", variant = "default", template = PopupTemplate.MODAL,
            title = "t", body = null, imageUrl = null, buttons = emptyList(), payload = emptyMap(),
        )
        val decision = presenter.offer(popup)
        check(decision is LaterDecision) { "a stuck UI thread gets 'later': $decision" }
        assertEq(MAIN_THREAD_PRESENTER_RETRY_MS.toULong(), (decision as LaterDecision).delayMs, "retry delay")
        held.poll(1, TimeUnit.SECONDS)!!.run()
        assertEq(0, drawn.get(), "the task that ran too late did not draw")
        // A UI thread that runs at once answers with the presenter's decision; what it throws discards.
        assertEq(ShowNowDecision, mainThreadPresenter(Executor { it.run() }) { ShowNowDecision }.offer(popup), "direct")
        val failing = PresenterAdapter(mainThreadPresenter(Executor { it.run() }) { error("boom") }) {}
        assertEq(DiscardDecision, failing.offer(popup), "a throwing show() discards")
    }
}
