package dev.reach.android

import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import dev.reach.Reach

/**
 * Tells Reach when the app (not one Activity) comes to the foreground and leaves it, through
 * [ProcessLifecycleOwner]: sessions, `app_open`, deferred popups and the flush before the OS may
 * kill a background app all hang on these two calls.
 *
 * [ReachAndroid.setup] registers it; register it yourself with [register] only when setting Reach
 * up without that helper. [onLeft] runs after [Reach.onBackground] (setup passes the upload
 * scheduling there).
 */
class ReachLifecycleObserver(
    private val onLeft: () -> Unit = {},
) : DefaultLifecycleObserver {

    override fun onStart(owner: LifecycleOwner) {
        Reach.onForeground()
    }

    /**
     * On the main thread, and it waits for the flush (at most `ReachConfig.flushTimeoutMs`, 1 s by
     * default): ProcessLifecycleOwner dispatches ON_STOP about 700 ms after the last Activity
     * stopped, so nothing is on screen to stutter, and waiting here keeps the order of calls that
     * a hop to another thread would lose (a quick return to the app could overtake it).
     */
    override fun onStop(owner: LifecycleOwner) {
        Reach.onBackground()
        onLeft()
    }

    /** Observes the process lifecycle. Call on the main thread (Lifecycle requires it). */
    fun register() {
        ProcessLifecycleOwner.get().lifecycle.addObserver(this)
    }
}
