// Prize claims (ClaimClient), explain() and holdouts (rule pack format 1.1).

import Foundation
@testable import Reach
import XCTest

struct BackendDown: Error, CustomStringConvertible {
    var description: String { "prize backend unreachable" }
}

final class ThrowingClaimClient: ClaimClient, @unchecked Sendable {
    let claims = AtomicCounter()
    let releases = AtomicCounter()

    func claim(campaignId: String, personId: String, idempotencyKey: String) throws -> ClaimOutcome {
        claims.add()
        throw BackendDown()
    }

    func release(campaignId: String, idempotencyKey: String) throws {
        releases.add()
        throw BackendDown()
    }
}

final class ClaimTests: XCTestCase {
    func testClaimClientGrantsOnce() throws {
        let reach = try Reach(config: config(freshDir("claim-granted")))
        let client = StockClaimClient(prizes: 1)
        let presenter = RecordingPresenter()
        try reach.loadRulePack(prizePack)
        try reach.setClaimClient(client)
        try reach.setPopupPresenter(presenter)

        try reach.track("purchase", ["amount": 120])
        try check(presenter.waitFor(1), "the prize popup is offered within 5 s")
        guard let first = client.claims.first else { throw Failure(description: "the popup came without a claim") }
        try checkEqual(first.campaignId, "golden-week-gift", "campaignId of the claim")
        try check(!first.key.isEmpty, "the claim has an idempotency key")
        try check(!first.personId.isEmpty, "the claim has a person id")
        try check(!first.onMainThread, "claim is called off the main thread")
        let popup = presenter.popups[0]
        try checkEqual(popup.campaignId, "golden-week-gift", "campaignId of the popup")
        try checkEqual(popup.title, "A golden week gift for you", "title")
        try reach.popupShown(popup.offerId)
        try reach.popupClicked(popup.offerId, button: "claim")
        let granted = try explainUntil(reach, "golden-week-gift", "the impression") { $0.impressions == 1 }
        try check(granted.reasons.contains { $0.contains("prize claimed (claim prize-1)") }, granted.text)

        // A second person: the stock is gone, nothing is shown.
        try reach.reset()
        try reach.track("purchase", ["amount": 80])
        try check(waitUntil { client.claims.count == 2 }, "the second person's claim")
        let second = client.claims[1]
        try check(second.personId != first.personId, "reset() gives a new person id")
        try check(second.key != first.key, "a new claim has a new key")
        let e = try explainUntil(reach, "golden-week-gift", "the exhausted answer") {
            $0.reasons.contains { $0.contains("the stock is exhausted: no popup") }
        }
        try checkEqual(e.outcome, "not offered", "outcome (the engine chose it; the claim said no)")
        try check(!presenter.waitFor(2, timeout: 0.3), "no popup for the second person")
        try checkEqual(presenter.popups.count, 1, "offers the presenter received")
        try checkEqual(client.releases.count, 0, "releases (nothing was discarded)")
        // purchase, reach.popup.shown, reach.popup.clicked, purchase
        try checkEqual(try settled(reach).stored, 6, "stored: each exposure point also records reach.popup.offered")
        reach.close()
    }

    func testDiscardReleasesThePrize() throws {
        let reach = try Reach(config: config(freshDir("claim-discard")))
        let client = StockClaimClient(prizes: 1)
        let presenter = RecordingPresenter(answers: [.discard], then: .showNow)
        try reach.loadRulePack(prizePack)
        try reach.setClaimClient(client)
        try reach.setPopupPresenter(presenter)
        try reach.track("purchase")
        try check(presenter.waitFor(1), "the prize popup (discarded)")
        try check(waitUntil { client.releases.count == 1 }, "a release after the discard")
        let claim = client.claims[0]
        let release = client.releases[0]
        try checkEqual(release.campaignId, "golden-week-gift", "campaignId of the release")
        try checkEqual(release.key, claim.key, "the released key")
        try check(!release.onMainThread, "release is called off the main thread")
        // The prize is back and nothing was counted: the next purchase shows it.
        try reach.track("purchase")
        try check(presenter.waitFor(2), "the popup after the discard")
        try check(client.claims.count == 2 && client.claims[1].key != claim.key, "a new claim with a new key")
        reach.close()
    }


    func testThrowingClaimClientIsUnavailable() throws {
        let log = LogCollector()
        let reach = try Reach(config: config(freshDir("claim-throws")), logSink: log.handler)
        let client = ThrowingClaimClient()
        try reach.loadRulePack(prizePack)
        try reach.setClaimClient(client)
        let presenter = RecordingPresenter()
        try reach.setPopupPresenter(presenter)
        try reach.track("purchase")
        let e = try explainUntil(reach, "golden-week-gift", "the unavailable claim") {
            $0.text.contains("offline, claim required")
        }
        try check(e.text.contains("prize backend unreachable"), "the reason carries the error: \(e.text)")
        try checkEqual(client.claims.value, 1, "claims")
        try check(!presenter.waitFor(1, timeout: 0.3), "no popup without a claimed prize (offline: skip)")
        try checkEqual(reach.diagnostics().popupsOffered, 0, "popupsOffered")
        // The lost answer may have been a prize: Reach releases the key; the failed release is logged.
        try check(waitUntil { client.releases.value == 1 }, "a release after the unavailable claim")
        try check(waitUntil { log.contains("could not release") }, "the failed release is logged")
        // Without a client the offline policy applies.
        try reach.setClaimClient(nil)
        try reach.track("purchase")
        try checkEqual(try settled(reach).stored, 4, "stored: each exposure point also records reach.popup.offered")
        try check(!presenter.waitFor(1, timeout: 0.3), "no popup without a claim client")
        reach.close()
    }

    func testExplain() throws {
        let reach = try Reach(config: config(freshDir("explain")))
        try reach.loadRulePack(bigSpenderPack)
        guard let unknown = try reach.explain("no-such-campaign") else {
            throw Failure(description: "explain returned nil")
        }
        try checkEqual(unknown.campaignId, "no-such-campaign", "campaignId")
        try checkEqual(unknown.inPack, false, "inPack")
        try checkEqual(unknown.outcome, "not in the active pack", "outcome")
        try checkEqual(unknown.lastEvent, nil, "lastEvent")
        try checkEqual(unknown.variant, nil, "variant")
        try checkEqual(unknown.impressions, 0, "impressions")

        try checkEqual(try reach.explain("big-spender")?.outcome, "no matching event yet", "outcome before any purchase")
        try reach.setPopupPresenter(RecordingPresenter())
        try reach.track("purchase", ["amount": 50])
        // explain() waits for the worker: the purchase tracked before it counts.
        guard let e = try reach.explain("big-spender") else { throw Failure(description: "explain returned nil") }
        try checkEqual(e.inPack, true, "inPack")
        try checkEqual(e.outcome, "not offered", "outcome")
        try checkEqual(e.lastEvent, "purchase", "lastEvent")
        try check(e.lastEventAtMs != nil, "lastEventAtMs is set")
        guard let reason = e.reasons.first(where: { $0.contains("amount") }) else {
            throw Failure(description: "no reason names the property: \(e.reasons)")
        }
        try check(reason.contains("50"), "the reason gives the value seen: \(reason)")
        try check(e.text.contains(reason), "text holds the reasons: \(e.text)")
        reach.close()

        // After close: nil, or Closed in strict mode.
        try checkEqual(try reach.explain("big-spender"), nil, "explain after close")
        try reach.setClaimClient(nil)
        let strict = try Reach(config: config(freshDir("explain-strict"), strict: true))
        strict.close()
        for (name, call) in [
            ("explain", { _ = try strict.explain("big-spender") }),
            ("setClaimClient", { try strict.setClaimClient(StockClaimClient(prizes: 1)) }),
        ] as [(String, () throws -> Void)] {
            let error = try expectReachError("strict \(name) after close", call)
            guard case .Closed = error else {
                throw Failure(description: "strict \(name) after close: unexpected \(error)")
            }
        }
    }

    func testHoldoutControl() throws {
        let reach = try Reach(config: config(freshDir("holdout")))
        try reach.loadRulePack(holdoutPack)
        let presenter = RecordingPresenter()
        try reach.setPopupPresenter(presenter)
        try reach.track("view_item", ["sku": "vip"])
        let e = try explainUntil(reach, "vip-upsell", "the control exposure") { $0.impressions == 1 }
        try checkEqual(e.variant, "control", "variant")
        // view_item and reach.popup.control
        try checkEqual(try settled(reach).stored, 2, "stored")
        try check(!presenter.waitFor(1, timeout: 0.3), "no popup for the control arm")
        try checkEqual(reach.diagnostics().popupsOffered, 0, "popupsOffered")
        reach.close()
    }
}
