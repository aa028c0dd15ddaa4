package dev.reach.sample

import android.app.Activity
import android.content.ActivityNotFoundException
import android.content.Intent
import android.graphics.Color
import android.graphics.Typeface
import android.graphics.drawable.GradientDrawable
import android.net.Uri
import android.view.Gravity
import android.view.View
import android.view.ViewGroup
import android.widget.Button
import android.widget.FrameLayout
import android.widget.LinearLayout
import android.widget.TextView
import androidx.core.view.ViewCompat
import androidx.core.view.WindowInsetsCompat
import dev.reach.DeepLinkAction
import dev.reach.DismissAction
import dev.reach.Popup
import dev.reach.PopupButton
import dev.reach.PopupTemplate
import dev.reach.Reach
import dev.reach.TrackEventAction

/**
 * Draws Reach's MODAL, BANNER and FULLSCREEN popups as plain Views laid over [activity]'s content,
 * and reports what the person does: [Reach.popupShown] once on screen, [Reach.popupClicked] for a
 * button, [Reach.popupDismissed] for back, a tap outside, the close button or the banner timing out.
 *
 * Main thread only (ReachAndroid.setup's presenter runs there). The window is edge to edge, so
 * every popup pads itself by the system bars and the display cutout: drawn under the status or
 * navigation bar on Android 15 is the bug other SDKs shipped (braze-android-sdk#63).
 */
class PopupRenderer(private val activity: Activity) {

    private class OnScreen(val offerId: String, val view: View, val blocksContent: Boolean)

    /** Drawn popups, the newest last (back closes it first). */
    private val onScreen = ArrayList<OnScreen>()

    /** The window's content frame; lazy, so the renderer may be made before setContentView. */
    private val content: FrameLayout by lazy { activity.findViewById(android.R.id.content) }

    /** Draws [popup]; `false` for a template the sample does not draw (CUSTOM). */
    fun show(popup: Popup): Boolean {
        val (view, params) = when (popup.template) {
            PopupTemplate.MODAL -> modal(popup) to matchParent()
            PopupTemplate.FULLSCREEN -> fullscreen(popup) to matchParent()
            PopupTemplate.BANNER -> banner(popup) to FrameLayout.LayoutParams(
                ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT, Gravity.TOP,
            )
            PopupTemplate.CUSTOM -> return false
        }
        val blocks = popup.template != PopupTemplate.BANNER
        onScreen.add(OnScreen(popup.offerId, view, blocks))
        content.addView(view, params)
        // A view added after the window's first layout gets no insets until it asks.
        ViewCompat.requestApplyInsets(view)
        if (blocks) hideContentFromAccessibility(true)
        // TalkBack announces the popup as a pane, by its title.
        ViewCompat.setAccessibilityPaneTitle(view, popup.title ?: popup.body)
        // Shown once laid out and drawn: the impression frequency caps count.
        view.post { Reach.popupShown(popup.offerId) }
        if (popup.template == PopupTemplate.BANNER) {
            view.postDelayed({ if (remove(popup.offerId)) Reach.popupDismissed(popup.offerId) }, BANNER_MS)
        }
        return true
    }

    /** Back: closes the newest popup as a dismissal; `false` when none is on screen. */
    fun dismissTop(): Boolean {
        val top = onScreen.lastOrNull() ?: return false
        remove(top.offerId)
        Reach.popupDismissed(top.offerId)
        return true
    }

    /** The Activity is going away with its popups: each offer ends as a dismissal. */
    fun dismissAll() {
        while (dismissTop()) {
            // Each round closes the newest.
        }
    }

    private fun modal(popup: Popup): View {
        val card = card(popup, closeButton = false).apply {
            background = rounded(Color.WHITE, dp(16).toFloat())
            // Taps on the card must not reach the scrim behind it.
            isClickable = true
        }
        val scrim = FrameLayout(activity).apply {
            setBackgroundColor(SCRIM)
            setOnClickListener { if (remove(popup.offerId)) Reach.popupDismissed(popup.offerId) }
        }
        scrim.addView(card, FrameLayout.LayoutParams(dp(300), ViewGroup.LayoutParams.WRAP_CONTENT, Gravity.CENTER))
        padBySystemBars(scrim)
        return scrim
    }

    private fun fullscreen(popup: Popup): View {
        val page = card(popup, closeButton = true).apply {
            setBackgroundColor(Color.WHITE)
            gravity = Gravity.CENTER_VERTICAL
            isClickable = true
        }
        padBySystemBars(page)
        return page
    }

    private fun banner(popup: Popup): View {
        val strip = card(popup, closeButton = false).apply {
            background = rounded(BANNER_COLOR, 0f)
            isClickable = true
        }
        // Only the top, left and right bars: the banner hangs from the top edge.
        padBySystemBars(strip, bottom = false)
        return strip
    }

    /** Title, body and buttons in a column. */
    private fun card(popup: Popup, closeButton: Boolean): LinearLayout {
        val pad = dp(20)
        val column = LinearLayout(activity).apply {
            orientation = LinearLayout.VERTICAL
            setPadding(pad, pad, pad, pad)
        }
        if (closeButton) {
            column.addView(TextView(activity).apply {
                setText(R.string.popup_close)
                gravity = Gravity.END
                setPadding(0, 0, 0, dp(16))
                contentDescription = activity.getString(R.string.popup_close)
                setOnClickListener { if (remove(popup.offerId)) Reach.popupDismissed(popup.offerId) }
            })
        }
        popup.title?.let { title ->
            column.addView(TextView(activity).apply {
                text = title
                textSize = 20f
                setTypeface(typeface, Typeface.BOLD)
                // Read as a heading by TalkBack.
                ViewCompat.setAccessibilityHeading(this, true)
            })
        }
        popup.body?.let { body ->
            column.addView(TextView(activity).apply {
                text = body
                setPadding(0, dp(8), 0, 0)
            })
        }
        for (button in popup.buttons) {
            column.addView(Button(activity).apply {
                text = button.text
                setOnClickListener { click(popup, button) }
            }, LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT).apply {
                topMargin = dp(8)
            })
        }
        return column
    }

    /** Every tap closes the popup (the format says so), then the action runs. */
    private fun click(popup: Popup, button: PopupButton) {
        if (!remove(popup.offerId)) return
        // Reported before a deep link leaves the screen: the offer ends now, and a popup the link
        // triggers (the sample's fullscreen) is free to be offered.
        Reach.popupClicked(popup.offerId, button.id)
        when (val action = button.action) {
            is DeepLinkAction -> open(action.url)
            // Reach counts it as a dismissal; nothing else to do.
            is DismissAction -> Unit
            // Reach records the button's event itself.
            is TrackEventAction -> Unit
        }
    }

    private fun open(url: String) {
        val intent = Intent(Intent.ACTION_VIEW, Uri.parse(url))
        try {
            activity.startActivity(intent)
        } catch (_: ActivityNotFoundException) {
            // A link no app handles: the click is already reported; nothing to open.
        }
    }

    /** Takes the popup off the screen; `false` when it already was (a double tap, the timer). */
    private fun remove(offerId: String): Boolean {
        val index = onScreen.indexOfFirst { it.offerId == offerId }
        if (index < 0) return false
        val gone = onScreen.removeAt(index)
        content.removeView(gone.view)
        if (onScreen.none { it.blocksContent }) hideContentFromAccessibility(false)
        return true
    }

    /** While a modal or fullscreen is up, TalkBack must not wander into the screen beneath. */
    private fun hideContentFromAccessibility(hide: Boolean) {
        val mode = if (hide) View.IMPORTANT_FOR_ACCESSIBILITY_NO_HIDE_DESCENDANTS else View.IMPORTANT_FOR_ACCESSIBILITY_AUTO
        for (i in 0 until content.childCount) {
            val child = content.getChildAt(i)
            if (onScreen.none { it.view === child }) child.importantForAccessibility = mode
        }
    }

    /** Pads [view] by the system bars and the cutout, on top of its own padding. */
    private fun padBySystemBars(view: View, bottom: Boolean = true) {
        val left = view.paddingLeft
        val top = view.paddingTop
        val right = view.paddingRight
        val base = view.paddingBottom
        ViewCompat.setOnApplyWindowInsetsListener(view) { v, insets ->
            val bars = insets.getInsets(
                WindowInsetsCompat.Type.systemBars() or WindowInsetsCompat.Type.displayCutout(),
            )
            v.setPadding(left + bars.left, top + bars.top, right + bars.right, base + if (bottom) bars.bottom else 0)
            // Not consumed: the screen beneath and other popups pad themselves too.
            insets
        }
    }

    private fun matchParent() = FrameLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.MATCH_PARENT)

    private fun rounded(color: Int, radius: Float) = GradientDrawable().apply {
        setColor(color)
        cornerRadius = radius
    }

    private fun dp(value: Int): Int = (value * activity.resources.displayMetrics.density).toInt()

    private companion object {
        /** How long a banner stays before it closes itself (reported as a dismissal). */
        const val BANNER_MS = 8_000L
        const val SCRIM = 0x99000000.toInt()
        const val BANNER_COLOR = 0xFFFFF3C4.toInt()
    }
}
