package dev.reach

/**
 * Shows Reach's popups. Set it with [Reach.setPopupPresenter]; a lambda converts to it:
 *
 * ```
 * reach.setPopupPresenter { popup ->
 *     if (checkoutInProgress) LaterDecision(delayMs = null)   // again at the next onForeground()
 *     else {
 *         mainHandler.post { PopupView.show(popup) }         // draw on the UI thread
 *         ShowNowDecision
 *     }
 * }
 * ```
 *
 * **Threading.** [offer] is called on Reach's own presenter thread, never on the UI (main) thread
 * and never on the thread that called Reach: hop to the UI thread to draw, and return the decision
 * without waiting for the popup to be drawn. Reach offers one popup at a time, so a slow answer
 * only delays the next offer; it never slows recording down.
 *
 * **After [ShowNowDecision]** report what happened, from any thread, with the popup's `offerId`:
 * [Reach.popupShown] once it is on screen (the impression that frequency caps count), then
 * [Reach.popupClicked] with the tapped button's `id` (a [DismissAction] button counts as a
 * dismiss) or [Reach.popupDismissed] when the person closes it otherwise. A popup answered
 * "show now" but not reported shown within 30 s is counted as shown, so a forgotten report never
 * makes a popup repeat.
 *
 * An exception thrown by [offer] is treated as [DiscardDecision] and reported to the log sink.
 */
fun interface PopupPresenter {
    /** Decides what to do with [popup]; called on Reach's presenter thread (see the class comment). */
    fun offer(popup: Popup): PresenterDecision
}

/**
 * Adapts a [PopupPresenter] to the generated interface. An exception thrown by the host's code
 * becomes a discard: left to propagate, uniffi would turn it into a panic on Reach's presenter
 * thread (which Reach survives, but noisily and without telling the host's log sink why).
 */
internal class PresenterAdapter(
    private val presenter: PopupPresenter,
    private val onFailure: (Throwable) -> Unit,
) : dev.reach.ffi.PopupPresenter {
    override fun offer(popup: Popup): PresenterDecision = try {
        presenter.offer(popup)
    } catch (e: VirtualMachineError) {
        throw e
    } catch (e: Throwable) {
        try {
            onFailure(e)
        } catch (_: Throwable) {
            // A failing logger must not turn a discarded popup into a crash.
        }
        DiscardDecision
    }
}
