// Rule packs and popups: presenters written in Swift, decisions, bundled packs.

import Foundation
@testable import Reach
import XCTest

final class PopupTests: XCTestCase {
    func testPresenterReceivesRegistrationPopup() throws {
        let dir = freshDir("popup-lottery")
        let reach = try Reach(config: config(dir))
        try reach.loadRulePack(lotteryPack)
        let presenter = RecordingPresenter()
        try reach.setPopupPresenter(presenter)
        try reach.track("register", ["method": "sms"])
        try check(presenter.waitFor(1), "the presenter is offered the popup within 5 s")

        let popup = presenter.popups[0]
        try checkEqual(popup.campaignId, "new-user-lottery", "campaignId")
        try checkEqual(popup.title, "New member lottery", "title")
        try checkEqual(popup.template, .modal, "template")
        try checkEqual(popup.variant, "default", "variant")
        try checkEqual(popup.body, nil, "body")
        try checkEqual(popup.imageUrl, nil, "imageUrl")
        try checkEqual(popup.payload, [:], "payload")
        try check(!popup.offerId.isEmpty, "offerId is set")
        try checkEqual(popup.buttons.map(\.id), ["draw", "later"], "button ids")
        try checkEqual(popup.buttons.map(\.text), ["Draw now", "Later"], "button texts")
        try checkEqual(popup.buttons[0].action, .deepLink(url: "app://lottery"), "draw's action")
        try checkEqual(popup.buttons[1].action, .dismiss, "later's action")
        try check(!presenter.anyOnMainThread, "the presenter is called off the main thread")
        try checkEqual(reach.diagnostics().popupsOffered, 1, "popupsOffered")

        try reach.popupShown(popup.offerId)
        try reach.popupClicked(popup.offerId, button: "draw")
        var d = try settled(reach)
        // register, reach.popup.shown, reach.popup.clicked
        try checkEqual(d.stored, 4, "stored: the event, offered, shown and clicked")

        // max_total 1: registering again offers nothing.
        try reach.track("register", ["method": "sms"])
        d = try settled(reach)
        try checkEqual(d.popupsOffered, 1, "popupsOffered after a second register")
        try checkEqual(d.stored, 5, "the second register is stored")
        try check(!presenter.waitFor(2, timeout: 0.3), "no second popup")
        try check(reach.close(), "close")

        // The pack and the cap are persisted: still no popup after a reopen.
        let reopened = try Reach(config: config(dir))
        let again = RecordingPresenter()
        try reopened.setPopupPresenter(again)
        try reopened.track("register", ["method": "email"])
        try checkEqual(try settled(reopened).popupsOffered, 0, "popupsOffered after reopening")
        try check(!again.waitFor(1, timeout: 0.3), "no popup after reopening")
        reopened.close()
    }

    func testInvalidRulePackThrows() throws {
        let log = LogCollector()
        let reach = try Reach(config: config(freshDir("pack-invalid")), logSink: log.handler)
        try reach.loadRulePack(lotteryPack)
        // Not strict, and it throws all the same.
        let error = try expectReachError("loadRulePack(invalid)") { try reach.loadRulePack(invalidLotteryPack) }
        guard case .InvalidRulePack(let path, let message) = error else {
            throw Failure(description: "expected InvalidRulePack, got \(error)")
        }
        try checkEqual(path, "campaigns[0].trigger.where[0].op", "path")
        try check(!message.isEmpty, "InvalidRulePack has a message")
        let notJson = try expectReachError("loadRulePack(not JSON)") { try reach.loadRulePack("{not json") }
        guard case .InvalidRulePack = notJson else {
            throw Failure(description: "expected InvalidRulePack for text that is not JSON, got \(notJson)")
        }
        _ = try settled(reach)
        try check(log.contains("rule pack refused"), "the refusal is logged: \(log.lines.map(\.message))")

        // The active pack keeps serving.
        let presenter = RecordingPresenter()
        try reach.setPopupPresenter(presenter)
        try reach.track("register", ["method": "sms"])
        try check(presenter.waitFor(1), "the earlier pack still offers its popup")
        try checkEqual(presenter.popups.first?.campaignId, "new-user-lottery", "campaignId")
        reach.close()

        let strict = try Reach(config: config(freshDir("pack-invalid-strict"), strict: true))
        let strictError = try expectReachError("strict loadRulePack(invalid)") {
            try strict.loadRulePack(invalidLotteryPack)
        }
        guard case .InvalidRulePack(let strictPath, _) = strictError else {
            throw Failure(description: "strict: expected InvalidRulePack, got \(strictError)")
        }
        try checkEqual(strictPath, "campaigns[0].trigger.where[0].op", "strict path")
        strict.close()
    }

    func testPresenterDiscard() throws {
        let reach = try Reach(config: config(freshDir("popup-discard")))
        try reach.loadRulePack(lotteryPack)
        let presenter = RecordingPresenter(answers: [.discard], then: .showNow)
        try reach.setPopupPresenter(presenter)
        try reach.track("register", ["method": "sms"])
        try check(presenter.waitFor(1), "first offer")
        // A discard counts nothing: the campaign (max_total 1) is offered again.
        var offered = false
        for _ in 0..<50 where !offered {  // the discard reaches the worker asynchronously
            try reach.track("register", ["method": "sms"])
            offered = presenter.waitFor(2, timeout: 0.1)
        }
        try check(offered, "offered again after a discard")
        let popups = presenter.popups
        try check(popups[0].offerId != popups[1].offerId, "a new offer, with a new id")
        try reach.popupShown(popups[1].offerId)
        try reach.popupDismissed(popups[1].offerId)
        try checkEqual(try settled(reach).popupsOffered, 2, "popupsOffered")
        reach.close()
    }

    func testPresenterLater() throws {
        // Later without a delay: offered again, same offer, at the next foreground.
        let reach = try Reach(config: config(freshDir("popup-later"), recordAppOpen: false))
        try reach.loadRulePack(lotteryPack)
        let presenter = RecordingPresenter(answers: [.later(delayMs: nil)], then: .showNow)
        try reach.setPopupPresenter(presenter)
        try reach.track("register", ["method": "sms"])
        try check(presenter.waitFor(1), "first offer")
        try check(!presenter.waitFor(2, timeout: 0.3), "not offered again before the foreground")
        try reach.onForeground()
        try check(presenter.waitFor(2), "offered again at the foreground")
        var popups = presenter.popups
        try checkEqual(popups[1].offerId, popups[0].offerId, "the deferred offer keeps its id")
        try reach.popupShown(popups[1].offerId)
        try reach.popupClicked(popups[1].offerId, button: "later")  // a dismiss button
        try checkEqual(try settled(reach).stored, 4, "register, offered, shown, dismissed")
        reach.close()

        // Later with a delay: offered again once it is due (in the foreground).
        let delayed = try Reach(config: config(freshDir("popup-later-delay"), recordAppOpen: false))
        try delayed.loadRulePack(lotteryPack)
        try delayed.onForeground()
        let second = RecordingPresenter(answers: [.later(delayMs: 200)], then: .showNow)
        try delayed.setPopupPresenter(second)
        let asked = Date()
        try delayed.track("register", ["method": "sms"])
        try check(second.waitFor(1), "first offer")
        try check(second.waitFor(2, timeout: 10), "offered again after the delay")
        try check(Date().timeIntervalSince(asked) >= 0.2, "not before the delay")
        popups = second.popups
        try checkEqual(popups[1].offerId, popups[0].offerId, "the deferred offer keeps its id")
        try delayed.popupDismissed(popups[1].offerId)
        let d = try settled(delayed)
        try checkEqual(d.stored, 4, "register, offered, shown (counted with the dismiss), dismissed")
        delayed.close()
    }

    func testBundledRulePack() throws {
        let reach = try Reach(config: {
            var c = config(freshDir("pack-bundled"))
            c.bundledRulePack = lotteryPack
            return c
        }())
        let presenter = RecordingPresenter()
        try reach.setPopupPresenter(presenter)
        try reach.track("register", ["method": "sms"])
        try check(presenter.waitFor(1), "the bundled pack offers its popup without loadRulePack")
        try checkEqual(presenter.popups.first?.campaignId, "new-user-lottery", "campaignId")
        reach.close()

        // A bundled pack that is refused: logged, nothing active, nothing thrown.
        let log = LogCollector()
        var bad = config(freshDir("pack-bundled-invalid"))
        bad.bundledRulePack = invalidLotteryPack
        let quiet = try Reach(config: bad, logSink: log.handler)
        let none = RecordingPresenter()
        try quiet.setPopupPresenter(none)
        try quiet.track("register", ["method": "sms"])
        try checkEqual(try settled(quiet).popupsOffered, 0, "popupsOffered with a refused bundled pack")
        try check(log.contains("bundled rule pack is refused"), "logged: \(log.lines.map(\.message))")
        try check(log.contains("campaigns[0].trigger.where[0].op"), "the log names the field")
        quiet.close()

        // Reach.bundledRulePack(): the resource's text, or nil without one.
        try checkEqual(try Reach.bundledRulePack(named: "no-such-pack"), nil, "a missing resource")
        let bundleDir = testRoot.appendingPathComponent("Pack.bundle", isDirectory: true)
        try FileManager.default.createDirectory(at: bundleDir, withIntermediateDirectories: true)
        try lotteryPack.write(
            to: bundleDir.appendingPathComponent("reach-rules.json"), atomically: true, encoding: .utf8)
        guard let bundle = Bundle(url: bundleDir) else { throw Failure(description: "Bundle(url:) failed") }
        try checkEqual(try Reach.bundledRulePack(bundle: bundle), lotteryPack, "the bundled resource")
    }

    func testPresenterClosureSetAndRemove() throws {
        let reach = try Reach(config: config(freshDir("popup-closure")))
        try reach.loadRulePack(pingPack)
        // Without a presenter nothing is offered (nor counted).
        try reach.track("ping")
        try checkEqual(try settled(reach).popupsOffered, 0, "popupsOffered without a presenter")

        // The closure form, reporting from another queue as an app reports from
        // the main queue; `reach` captured weakly, as the documentation advises.
        let received = AtomicCounter()
        let offMain = AtomicCounter()
        let lastPopup = PopupBox()
        try reach.setPopupPresenter { [weak reach] popup in
            received.add()
            if !Thread.isMainThread { offMain.add() }
            lastPopup.set(popup)
            guard let reach else { return .discard }
            DispatchQueue.global().async {
                try? reach.popupShown(popup.offerId)
                try? reach.popupClicked(popup.offerId, button: "ok")
            }
            return .showNow
        }
        try reach.track("ping")
        try check(waitUntil { received.value == 1 }, "the closure is offered the popup")
        try checkEqual(offMain.value, 1, "called off the main thread")
        let popup = try lastPopup.get()
        try checkEqual(popup.template, .banner, "template")
        try checkEqual(popup.body, "Pong", "body")
        try checkEqual(popup.imageUrl, "https://example.com/p.png", "imageUrl")
        try checkEqual(popup.buttons.first?.action, .trackEvent(event: "ping_ok"), "track_event action")
        try checkEqual(
            popup.payload, ["color": .stringValue(value: "red"), "size": .intValue(value: 2)], "payload")
        // ping, ping, reach.popup.offered, reach.popup.shown, reach.popup.clicked, ping_ok (the button's event)
        try check(
            waitUntil { reach.flush() && reach.diagnostics().stored == 6 },
            "shown, clicked and the button's event are recorded: stored \(reach.diagnostics().stored)")

        // Removed: nothing more is offered.
        try reach.setPopupPresenter(nil)
        try reach.track("ping")
        let d = try settled(reach)
        try checkEqual(d.popupsOffered, 1, "popupsOffered after removing the presenter")
        try checkEqual(received.value, 1, "the removed closure is not called")
        reach.close()
    }

    func testPopupCallsAfterClose() throws {
        let reach = try Reach(config: config(freshDir("popup-closed")))
        reach.close()
        // Not strict: none of these throw (a valid pack is accepted and ignored).
        try reach.loadRulePack(lotteryPack)
        try reach.setPopupPresenter(RecordingPresenter())
        try reach.setPopupPresenter(nil)
        try reach.popupShown("x")
        try reach.popupClicked("x", button: "draw")
        try reach.popupDismissed("x")
        try check(rejected(reach.diagnostics(), "closed") >= 6, "counted as closed: \(reach.diagnostics().rejectedByReason)")
        // ...but a refused pack still throws.
        let error = try expectReachError("loadRulePack(invalid) after close") {
            try reach.loadRulePack(invalidLotteryPack)
        }
        guard case .InvalidRulePack = error else { throw Failure(description: "expected InvalidRulePack, got \(error)") }

        let strict = try Reach(config: config(freshDir("popup-closed-strict"), strict: true))
        strict.close()
        let calls: [(String, () throws -> Void)] = [
            ("loadRulePack", { try strict.loadRulePack(lotteryPack) }),
            ("setPopupPresenter", { try strict.setPopupPresenter(RecordingPresenter()) }),
            ("popupShown", { try strict.popupShown("x") }),
            ("popupClicked", { try strict.popupClicked("x", button: "draw") }),
            ("popupDismissed", { try strict.popupDismissed("x") }),
        ]
        for (name, call) in calls {
            let error = try expectReachError("strict \(name) after close", call)
            guard case .Closed = error else {
                throw Failure(description: "strict \(name) after close: unexpected \(error)")
            }
        }
    }
}
