package dev.reach

import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executor
import java.util.concurrent.RejectedExecutionException
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger

/**
 * How long a popup offered to a busy UI thread waits before it is answered "later": the UI
 * thread of a healthy app runs a posted task within a frame or two; one that does not within
 * 2 s is stuck (a long layout, an ANR in the making) and the popup would only add to it.
 */
const val MAIN_THREAD_PRESENTER_TIMEOUT_MS = 2_000L

/** When a popup that timed out is offered again: soon, once the UI thread has caught up. */
const val MAIN_THREAD_PRESENTER_RETRY_MS = 5_000L

/**
 * A [PopupPresenter] that runs [show] on the UI thread: Reach calls presenters on its own
 * presenter thread, and drawing must happen on the UI thread. Pass the main thread's executor
 * (`ContextCompat.getMainExecutor(context)` on Android, `Executor { handler.post(it) }`); tests
 * pass their own.
 *
 * [show] returns the decision on the UI thread ([ShowNowDecision] after putting the popup on
 * screen). If the executor has not run it within [timeoutMs], Reach's thread stops waiting and
 * answers [LaterDecision] (the same popup is offered again after [MAIN_THREAD_PRESENTER_RETRY_MS]);
 * the late task then does nothing, so the popup is never drawn after it was answered "later".
 * An executor that refuses the task, or a [show] that throws, answers [DiscardDecision].
 */
@JvmOverloads
fun mainThreadPresenter(
    executor: Executor,
    timeoutMs: Long = MAIN_THREAD_PRESENTER_TIMEOUT_MS,
    show: (Popup) -> PresenterDecision,
): PopupPresenter = PopupPresenter { popup -> MainThreadOffer(popup, show).run(executor, timeoutMs) }

/** One offer's hop to the UI thread; its state settles who decides: the UI task or the time-out. */
private class MainThreadOffer(private val popup: Popup, private val show: (Popup) -> PresenterDecision) {
    private val state = AtomicInteger(WAITING)
    private val done = CountDownLatch(1)
    @Volatile private var decision: PresenterDecision = DiscardDecision
    @Volatile private var failure: Throwable? = null

    fun run(executor: Executor, timeoutMs: Long): PresenterDecision {
        try {
            executor.execute(::onUiThread)
        } catch (e: RejectedExecutionException) {
            return DiscardDecision
        }
        if (done.await(timeoutMs.coerceAtLeast(0), TimeUnit.MILLISECONDS)) return result()
        // Too late: unless the UI task has started, it must never draw this popup.
        if (state.compareAndSet(WAITING, TIMED_OUT)) return LaterDecision(MAIN_THREAD_PRESENTER_RETRY_MS.toULong())
        // It started just now: its answer is moments away (show() only puts a view up).
        done.await()
        return result()
    }

    private fun result(): PresenterDecision {
        failure?.let { throw it }
        return decision
    }

    private fun onUiThread() {
        if (!state.compareAndSet(WAITING, RUNNING)) return
        try {
            decision = show(popup)
        } catch (e: Throwable) {
            // Rethrown on Reach's presenter thread, where PresenterAdapter logs it and discards.
            failure = e
        } finally {
            done.countDown()
        }
    }

    private companion object {
        const val WAITING = 0
        const val RUNNING = 1
        const val TIMED_OUT = 2
    }
}
