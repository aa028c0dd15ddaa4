package dev.reach.sample

import android.app.Activity
import android.content.Intent
import android.os.Bundle
import android.view.Gravity
import android.view.View
import android.widget.Button
import android.widget.LinearLayout
import android.widget.TextView
import androidx.core.view.ViewCompat
import androidx.core.view.WindowCompat
import androidx.core.view.WindowInsetsCompat
import dev.reach.Reach

/**
 * The registration screen: its button tracks `register`, which the bundled pack answers with a
 * popup. Plain framework Views on a plain Activity (no AppCompat, no Compose): Reach's presenter
 * takes whatever the host draws with.
 */
class RegistrationActivity : Activity() {

    private lateinit var renderer: PopupRenderer
    private lateinit var status: TextView

    private val sample: SampleApplication
        get() = application as SampleApplication

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // Edge to edge on every API level, as Android 15 imposes it on targetSdk 35: one layout
        // path to get right, and the insets below keep text out from under the system bars.
        WindowCompat.setDecorFitsSystemWindows(window, false)
        renderer = PopupRenderer(this)
        setContentView(content())
        // A recreated Activity (rotation) must not count the same deep link twice.
        if (savedInstanceState == null) {
            openDeepLink(intent)
            reportNotificationTap(intent)
        }
    }

    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        setIntent(intent)
        openDeepLink(intent)
        reportNotificationTap(intent)
    }

    /** Opened from one of Reach's local notifications: the campaign's click. */
    private fun reportNotificationTap(intent: Intent?) {
        val id = intent?.getStringExtra(LocalNotifications.EXTRA_ID) ?: return
        Reach.notificationTapped(id)
    }

    override fun onResume() {
        super.onResume()
        sample.popupRenderer = renderer
    }

    override fun onPause() {
        if (sample.popupRenderer === renderer) sample.popupRenderer = null
        super.onPause()
    }

    override fun onDestroy() {
        // The popups go with the window; Reach must hear that the offer ended.
        renderer.dismissAll()
        super.onDestroy()
    }

    // A plain Activity with targetSdk 35 still gets onBackPressed (predictive back is opt-in
    // until targetSdk 36); AppCompat's OnBackPressedDispatcher is what the sample leaves out.
    @Suppress("OVERRIDE_DEPRECATION", "DEPRECATION")
    override fun onBackPressed() {
        if (!renderer.dismissTop()) super.onBackPressed()
    }

    private fun content(): View {
        val pad = dp(24)
        val root = LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            gravity = Gravity.CENTER_HORIZONTAL
            setPadding(pad, pad, pad, pad)
        }
        root.addView(TextView(this).apply {
            setText(R.string.registration_title)
            textSize = 24f
        })
        root.addView(TextView(this).apply {
            setText(R.string.registration_body)
            setPadding(0, dp(12), 0, dp(24))
        })
        root.addView(Button(this).apply {
            setText(R.string.register_button)
            setOnClickListener {
                Reach.track("register", mapOf("method" to "sms"))
                status.setText(R.string.registered)
            }
        })
        if (BuildConfig.DEBUG) {
            // The QA screen's hook, debug builds only: the registration popup now, whatever its
            // caps; its events carry "test": true, so the server's stats leave them out.
            root.addView(Button(this).apply {
                setText(R.string.preview_button)
                setOnClickListener { Reach.preview("registration-gift") }
            })
        }
        status = TextView(this).apply { setPadding(0, dp(16), 0, 0) }
        root.addView(status)
        // Pads by the system bars and the display cutout, on top of the layout's own padding.
        ViewCompat.setOnApplyWindowInsetsListener(root) { view, insets ->
            val bars = insets.getInsets(
                WindowInsetsCompat.Type.systemBars() or WindowInsetsCompat.Type.displayCutout(),
            )
            view.setPadding(pad + bars.left, pad + bars.top, pad + bars.right, pad + bars.bottom)
            insets
        }
        return root
    }

    /**
     * `reachsample://gift`, the registration popup's deep link, opens "the gift screen" (here a
     * line of text) and tracks `gift_opened`, which the bundled pack answers with a fullscreen.
     */
    private fun openDeepLink(intent: Intent?) {
        val uri = intent?.data ?: return
        if (intent.action != Intent.ACTION_VIEW || uri.scheme != SampleApplication.DEEP_LINK_SCHEME || uri.host != "gift") return
        status.setText(R.string.gift_opened)
        Reach.track("gift_opened", mapOf("source" to "deep_link"))
    }

    private fun dp(value: Int): Int = (value * resources.displayMetrics.density).toInt()
}
