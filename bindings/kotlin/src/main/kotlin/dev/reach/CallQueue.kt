package dev.reach

import dev.reach.ffi.QueuedCall
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import java.util.concurrent.locks.LockSupport
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock

/**
 * The hot calls' path into the core: the caller's thread stamps a call and adds it here; one
 * Reach-owned thread (`reach-dispatch`) hands what has gathered to the core in one FFI crossing
 * (`applyCalls`). A JNA call costs ~25–50 µs and up to milliseconds at p99 on this machine's JVM,
 * too much for `track()` on the UI thread; adding to this queue costs a lock-free append.
 *
 * The same queue holds the calls made before `Reach.setup()`: until [start] nothing drains it, and
 * it keeps at most [limit] calls (the oldest are dropped and counted in [dropped]).
 *
 * Order: one FIFO for all threads, so each thread's calls reach the core in the order it made
 * them. Calls that must wait or answer (`flush`, `consent`, `explain`, ...) call [drainNow]
 * first: it hands over everything queued, under the same lock the dispatcher holds while it
 * hands over a batch, so such a call sees every call made before it.
 *
 * Wake-ups: after handing over a batch the dispatcher stays awake for [AWAKE_AFTER_ACTIVITY_NS],
 * looking every [NAP_NS], then parks until a caller unparks it. A caller unparks only a parked
 * dispatcher (one atomic read otherwise), so a burst of calls pays for one wake-up and an idle app
 * runs no timer at all.
 */
internal class CallQueue(@Volatile var limit: Int) {
    private val items = ConcurrentLinkedQueue<QueuedCall>()
    private val size = AtomicInteger()
    private val drainLock = ReentrantLock()
    private val parked = AtomicBoolean(false)

    /** Calls dropped because the queue was full (before setup: [PRE_SETUP_BUFFER_LIMIT]). */
    val dropped = AtomicLong()

    @Volatile private var sink: ((List<QueuedCall>) -> Unit)? = null
    @Volatile private var dispatcher: Thread? = null
    @Volatile private var stopped = false

    /** Calls waiting to be handed to the core. */
    val pending: Int get() = size.get()

    /** Adds [call]; never blocks. Over [limit], the oldest queued call is dropped and counted. */
    fun add(call: QueuedCall) {
        items.offer(call)
        // Over the limit: drop from the head (the oldest), as the core's own queue does. Every
        // offer adds one to `size` and every successful poll takes one off, so it stays exact.
        if (size.incrementAndGet() > limit && items.poll() != null) {
            size.decrementAndGet()
            dropped.incrementAndGet()
        }
        // A volatile read after the volatile write of offer(): if the dispatcher set `parked`
        // before looking at the queue, we see it here; if not, it sees our call (see run()).
        if (parked.get() && parked.compareAndSet(true, false)) {
            dispatcher?.let(LockSupport::unpark)
        }
    }

    /**
     * Starts handing calls to [apply] on a new daemon thread (what was queued goes first). The
     * queue then keeps at most [limitAfterStart] calls: the bound on memory if the core falls
     * behind, far above what a working dispatcher lets gather.
     */
    fun start(apply: (List<QueuedCall>) -> Unit, limitAfterStart: Int) {
        limit = limitAfterStart
        sink = apply
        val thread = Thread(::run, "reach-dispatch").apply { isDaemon = true }
        dispatcher = thread
        thread.start()
    }

    /**
     * Hands everything queued so far to the core on the calling thread, in order, and returns
     * once it is handed over. Before [start] it does nothing (there is no core yet).
     */
    fun drainNow() {
        val apply = sink ?: return
        drainLock.withLock { drainLocked(apply) }
    }

    /** Takes every queued call out without handing it over (a disabled instance refuses them). */
    fun discardAll(): Int {
        var n = 0
        while (items.poll() != null) {
            size.decrementAndGet()
            n++
        }
        return n
    }

    /** Hands over what is queued, stops the dispatcher (waiting at most [timeoutMs] for it). */
    fun stop(timeoutMs: Long) {
        drainNow()
        stopped = true
        val thread = dispatcher ?: return
        LockSupport.unpark(thread)
        if (Thread.currentThread() !== thread) thread.join(timeoutMs.coerceAtLeast(1))
    }

    private fun drainLocked(apply: (List<QueuedCall>) -> Unit) {
        while (true) {
            val batch = ArrayList<QueuedCall>(minOf(size.get(), MAX_CALLS_PER_CROSSING).coerceAtLeast(1))
            while (batch.size < MAX_CALLS_PER_CROSSING) {
                val call = items.poll() ?: break
                size.decrementAndGet()
                batch.add(call)
            }
            if (batch.isEmpty()) return
            apply(batch)
        }
    }

    private fun run() {
        val apply = sink ?: return
        while (!stopped) {
            drainLock.withLock { drainLocked(apply) }
            // Stay awake briefly: calls usually come in bursts, and a napping dispatcher needs no
            // wake-up from the caller.
            val awakeUntil = System.nanoTime() + AWAKE_AFTER_ACTIVITY_NS
            while (items.isEmpty() && !stopped && System.nanoTime() < awakeUntil) {
                LockSupport.parkNanos(this, NAP_NS)
            }
            if (!items.isEmpty() || stopped) continue
            // Announce the park before the last look at the queue: a caller that added a call
            // after that look sees `parked` and unparks us (see add()).
            parked.set(true)
            if (items.isEmpty() && !stopped) LockSupport.park(this)
            parked.set(false)
        }
    }

    companion object {
        /**
         * At most this many calls per FFI crossing: one crossing serialises them all into one
         * buffer, and 512 calls with a few properties each stay well under a megabyte.
         */
        const val MAX_CALLS_PER_CROSSING = 512

        /** How often an awake dispatcher looks for new calls: the most a call waits while awake. */
        val NAP_NS: Long = TimeUnit.MILLISECONDS.toNanos(1)

        /**
         * How long the dispatcher stays awake after handing calls over. Events come in bursts
         * (a screen's worth of taps); 50 ms covers one and costs ~50 short naps, then nothing.
         */
        val AWAKE_AFTER_ACTIVITY_NS: Long = TimeUnit.MILLISECONDS.toNanos(50)
    }
}

/**
 * Calls kept before `Reach.setup()` (from `Application.onCreate` before setup runs, or from a
 * library initialised first). 1,000 covers any start-up burst; past it the oldest are dropped and
 * counted (`pre_setup_overflow` in `diagnostics().rejectedByReason`), so a setup that never comes
 * cannot grow memory without bound.
 */
const val PRE_SETUP_BUFFER_LIMIT = 1_000

/**
 * After setup, the most calls that may wait for the dispatcher: the core's own queue bound
 * (`maxQueuedEvents`, 50,000 by default). Reaching it means the core is that far behind, and
 * dropping here is what the core would do anyway (counted in `droppedOverflow`).
 */
internal const val QUEUE_LIMIT_AFTER_SETUP = 50_000
