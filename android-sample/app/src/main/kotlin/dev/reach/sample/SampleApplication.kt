package dev.reach.sample

import android.app.Application
import dev.reach.Consent
import dev.reach.DiscardDecision
import dev.reach.LaterDecision
import dev.reach.Popup
import dev.reach.PresenterDecision
import dev.reach.Reach
import dev.reach.ShowNowDecision
import dev.reach.android.ReachAndroid

/**
 * Sets Reach up for the whole process, the one place an app should: Application.onCreate runs in
 * every process before anything else, also when WorkManager starts the app to upload.
 */
class SampleApplication : Application() {

    /**
     * The renderer of the screen in front, or `null` between screens. Set and cleared by
     * [RegistrationActivity] (onResume / onPause); read by [offer]; both on the main thread.
     */
    var popupRenderer: PopupRenderer? = null

    override fun onCreate() {
        super.onCreate()
        ReachAndroid.setup(
            this,
            // A demo against the developer's own server. A real app starts with Consent.PENDING
            // (recorded, never uploaded) and asks the person first.
            consent = Consent.GRANTED,
            serverUrl = SERVER_URL,
            writeKey = WRITE_KEY,
            // The scheme of the manifest's deep-link filter: a pack's popup may link only to it
            // or to https.
            appUrlSchemes = listOf(DEEP_LINK_SCHEME),
            // Debug builds throw on bad input, so a mistake shows at once; release builds log it.
            strict = BuildConfig.DEBUG,
            presenter = ::offer,
        )
        // Campaigns with a local_notification channel reach a person who left the app.
        Reach.setNotificationScheduler(LocalNotifications(this))
    }

    /** Reach's offer, on the main thread: draw it on the screen in front, if there is one. */
    private fun offer(popup: Popup): PresenterDecision {
        // Between two screens: offered again a moment later, or at the next onForeground if the
        // app has gone to the background meanwhile.
        val renderer = popupRenderer ?: return LaterDecision(delayMs = BETWEEN_SCREENS_RETRY_MS)
        return if (renderer.show(popup)) ShowNowDecision else DiscardDecision
    }

    companion object {
        /** The reference server on the developer's machine, as the emulator reaches it. */
        const val SERVER_URL = "http://10.0.2.2:8787"

        /** What the top README's `reach serve` command accepts (`--write-key wk-demo`). */
        const val WRITE_KEY = "wk-demo"

        /** The sample's own links (`reachsample://gift`), as in AndroidManifest.xml. */
        const val DEEP_LINK_SCHEME = "reachsample"

        /** Long enough for the next Activity to resume, short enough to feel immediate. */
        const val BETWEEN_SCREENS_RETRY_MS: ULong = 1_000uL
    }
}
