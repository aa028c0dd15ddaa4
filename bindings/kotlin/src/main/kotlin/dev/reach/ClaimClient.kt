package dev.reach

/**
 * Claims prizes from the stock an app keeps in its own backend, for campaigns with an
 * `inventory` (rule pack format 1.1). Set it with [Reach.setClaimClient]:
 *
 * ```
 * reach.setClaimClient(object : ClaimClient {
 *     override fun claim(campaignId: String, personId: String, idempotencyKey: String): ClaimOutcome =
 *         when (val r = api.claimPrize(campaignId, personId, idempotencyKey, timeoutSeconds = 3)) {
 *             is Ok -> GrantedOutcome(claimId = r.claimId)
 *             is SoldOut -> ExhaustedOutcome
 *         }                                        // an IOException becomes UnavailableOutcome
 *     override fun release(campaignId: String, idempotencyKey: String) {
 *         api.releasePrize(campaignId, idempotencyKey)
 *     }
 * })
 * ```
 *
 * Before a campaign with an inventory shows its popup, Reach calls [claim] and then: on
 * [GrantedOutcome] the popup is offered to the [PopupPresenter]; on [ExhaustedOutcome] the pack's
 * `sold_out` popup, or nothing; on [UnavailableOutcome] the campaign's `offline` policy decides
 * (`skip`: nothing is shown; `show_unclaimed`: the popup without a prize). When the presenter
 * answers [DiscardDecision] (or an offer expires), Reach calls [release] with the same key.
 *
 * **Threading.** Both methods are called on Reach's own `reach-claims` thread, never on the UI
 * (main) thread and never on the thread that called Reach, one call at a time. They may block on
 * the network, but should give up within a few seconds: Reach applies the offline policy after
 * 10 s anyway, and a late answer is then released.
 *
 * **Idempotency.** Every claim carries an idempotency key, stored with the offer before the call
 * so that a retry (after a time-out, a crash, a restart) reuses it. The backend must grant at most
 * one prize per key: the same key must never take a second prize.
 *
 * **Errors.** An exception thrown by [claim] is treated as [UnavailableOutcome] with the
 * exception's message as `reason` (so the offline policy decides); an exception thrown by
 * [release] is reported to Reach's log sink. Neither reaches Reach's thread as a crash.
 */
interface ClaimClient {
    /**
     * Claims one prize of [campaignId]'s stock for [personId] (the user id, or the anonymous id
     * before [Reach.identify]) under [idempotencyKey]. Called on the `reach-claims` thread.
     */
    fun claim(campaignId: String, personId: String, idempotencyKey: String): ClaimOutcome

    /**
     * Gives back the prize claimed under [idempotencyKey] (the host discarded the popup).
     * Releasing a key that holds no prize must succeed. Called on the `reach-claims` thread.
     */
    fun release(campaignId: String, idempotencyKey: String)
}

/**
 * Adapts a [ClaimClient] to the generated interface. Left to propagate, an exception thrown by
 * the host's code would reach Rust as an unexpected callback error (a panic on `reach-claims`
 * for [claim], which returns no `Result`); instead a failed claim is an
 * [UnavailableOutcome] and a failed release a `CallbackException`, which Reach logs.
 */
internal class ClaimClientAdapter(private val client: ClaimClient) : dev.reach.ffi.ClaimClient {
    override fun claim(campaignId: String, personId: String, idempotencyKey: String): ClaimOutcome =
        try {
            client.claim(campaignId, personId, idempotencyKey)
        } catch (e: VirtualMachineError) {
            throw e
        } catch (e: Throwable) {
            UnavailableOutcome(reason = describe(e))
        }

    override fun release(campaignId: String, idempotencyKey: String) {
        try {
            client.release(campaignId, idempotencyKey)
        } catch (e: VirtualMachineError) {
            throw e
        } catch (e: dev.reach.ffi.CallbackException) {
            throw e
        } catch (e: Throwable) {
            throw dev.reach.ffi.CallbackException.Failed(detail = describe(e))
        }
    }

    /** The exception's message, or its class name when it has none. */
    private fun describe(e: Throwable): String = e.message ?: e.javaClass.name
}
