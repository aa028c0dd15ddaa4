package dev.reach.android

import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequest
import androidx.work.WorkManager
import androidx.work.Worker
import androidx.work.WorkerParameters
import dev.reach.Reach
import dev.reach.UploadStop
import java.util.concurrent.TimeUnit

/**
 * Uploads what Reach has stored, once, when the OS lets the app use the network in the background:
 * events recorded just before the app left the foreground would otherwise wait for its next launch.
 * [ReachAndroid.setup] enqueues it each time the app goes to the background (when a server is
 * configured); [enqueue] does it by hand.
 *
 * A [Worker], not a CoroutineWorker: `Reach.uploadNow` blocks, which is what WorkManager's
 * background executor is for, and it must never run on the UI thread. The process WorkManager
 * starts for it runs `Application.onCreate` first, so Reach is set up by then.
 */
class ReachUploadWorker(context: Context, params: WorkerParameters) : Worker(context, params) {

    override fun doWork(): Result {
        val outcome = Reach.uploadNow(UPLOAD_TIMEOUT_MS)
        return when (outcome.stop) {
            UploadStop.DRAINED -> Result.success()
            // The server or the network failed, or the time ran out with events left: WorkManager
            // tries again later with its backoff, under the same network constraint.
            UploadStop.FAILED, UploadStop.TIMED_OUT -> Result.retry()
            // A retry would change nothing: Reach's own network thread uploads once consent is
            // granted; CLOSED means closed, not set up or disabled in this process (another one
            // holds the data directory), and those events go at a later launch.
            UploadStop.CONSENT_NOT_GRANTED, UploadStop.CLOSED -> Result.success()
            // A build without ReachConfig.serverUrl should never have enqueued this.
            UploadStop.NO_SERVER -> Result.failure()
        }
    }

    companion object {
        /**
         * How long one run may upload. WorkManager stops a worker after 10 minutes; a minute drains
         * tens of thousands of events and keeps one run's battery cost small (an upload worker
         * running for half an hour in the background is a bug users report).
         */
        const val UPLOAD_TIMEOUT_MS: Long = 60_000

        /** The unique work name: one pending upload at a time, however often the app leaves. */
        const val WORK_NAME = "dev.reach.upload"

        /** First retry after this long; WorkManager doubles it up to its 5-hour cap. */
        private const val BACKOFF_SECONDS: Long = 30

        /**
         * Schedules one upload for when a network is connected. An upload already pending is kept
         * (it uploads everything stored when it runs, including what was recorded since).
         */
        fun enqueue(context: Context) {
            // The Java builder: no need for the work-runtime-ktx artifact.
            val request = OneTimeWorkRequest.Builder(ReachUploadWorker::class.java)
                .setConstraints(
                    Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build(),
                )
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, BACKOFF_SECONDS, TimeUnit.SECONDS)
                .build()
            WorkManager.getInstance(context)
                .enqueueUniqueWork(WORK_NAME, ExistingWorkPolicy.KEEP, request)
        }
    }
}
