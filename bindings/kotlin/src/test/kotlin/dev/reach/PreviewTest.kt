package dev.reach

// Preview on a test device from Kotlin: `preview(campaignId, variant)` and a pack's
// `test_persons` (format 1.2), through the real library on the JVM.

/** A paused campaign with two variants, and one test person by user id. */
internal const val QA_PACK = """
{"format":"1.2","test_persons":{"user_ids":["qa-lin"]},"campaigns":[
 {"id":"spring","enabled":false,"trigger":{"event":"open_shop"},
  "variants":[{"id":"a","weight":1,"popup":{"template":"modal","title":"Spring A"}},
              {"id":"b","weight":1,"popup":{"template":"modal","title":"Spring B"}}],
  "popup":{"template":"modal","title":"Spring sale"}}]}
"""

internal fun definePreviewTests() {

test("preview() offers a paused campaign now, flagged as a test; a bad variant is explained") { dir ->
    Reach(config(dir)).use { reach ->
        val presenter = RecordingPresenter()
        reach.loadRulePack(QA_PACK)
        reach.setPopupPresenter(presenter)
        reach.track("open_shop")
        assertEq(null, presenter.poll(200), "a paused campaign for a person who is not a test person")

        reach.preview("spring")
        val (popup, _) = presenter.next("the preview")
        assertEq("spring", popup.campaignId, "campaignId")
        assertEq("Spring sale", popup.title, "the campaign's own popup")
        check(popup.test) { "popup.test is false for a preview" }
        reach.popupShown(popup.offerId)
        reach.popupDismissed(popup.offerId)
        // open_shop, reach.popup.offered, reach.popup.shown, reach.popup.dismissed
        assertEq(4L, reach.storedAfterFlush(), "stored after the preview")

        reach.preview("spring", variant = "b")
        val (b, _) = presenter.next("variant b")
        assertEq("Spring B", b.title, "variant b's popup")
        reach.popupDismissed(b.offerId)

        reach.preview("spring", variant = "zzz")
        val e = reach.explainUntil("spring", "the refused preview") { x ->
            x.reasons.any { it.contains("preview not offered: the campaign has no variant \"zzz\"") }
        }
        check(e.impressions == 0u) { "a preview counted in the caps: ${e.text}" }
        reach.preview("not-in-the-pack")
        assertEq(null, presenter.poll(200), "a preview of an unknown campaign")
    }
}

test("a test person gets a paused campaign from its trigger, flagged as a test") { dir ->
    Reach(config(dir)).use { reach ->
        val presenter = RecordingPresenter()
        reach.loadRulePack(QA_PACK)
        reach.setPopupPresenter(presenter)
        reach.identify("qa-lin")
        reach.track("open_shop")
        val (popup, _) = presenter.next("the test person's popup")
        assertEq("spring", popup.campaignId, "campaignId")
        check(popup.test) { "popup.test is false for a test person" }
        check(popup.variant == "a" || popup.variant == "b") { "variant ${popup.variant}" }
    }
}

} // definePreviewTests
