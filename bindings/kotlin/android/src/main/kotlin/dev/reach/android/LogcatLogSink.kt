package dev.reach.android

import android.util.Log
import dev.reach.LogLevel

/**
 * Sends Reach's log lines to Logcat under [tag]; pass it as the log sink of `Reach.setup`
 * (a `(LogLevel, String) -> Unit`). Reach calls it on its worker thread, which is fine for Logcat.
 */
class LogcatLogSink(private val tag: String = DEFAULT_TAG) : (LogLevel, String) -> Unit {

    override fun invoke(level: LogLevel, line: String) {
        Log.println(priorityOf(level), tag, line)
    }

    private fun priorityOf(level: LogLevel): Int = when (level) {
        LogLevel.DEBUG -> Log.DEBUG
        LogLevel.INFO -> Log.INFO
        LogLevel.WARN -> Log.WARN
        LogLevel.ERROR -> Log.ERROR
    }

    companion object {
        /** `adb logcat -s Reach` shows Reach alone. */
        const val DEFAULT_TAG = "Reach"
    }
}
