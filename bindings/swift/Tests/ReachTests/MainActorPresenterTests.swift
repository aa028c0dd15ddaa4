// `Reach.mainActorPresenter`: the host's code runs on the main actor, the decision is
// returned to Reach's presenter thread, and a main thread that does not get to it in time
// is answered `.later(delayMs: 5000)` without the host's code ever running for that offer.
// The test's main thread turns its run loop while waiting, as an app's does.

import Foundation
@testable import Reach
import XCTest

final class MainActorPresenterTests: XCTestCase {
    /// Turns the main run loop (so main-queue work runs) until `condition` or 5 s.
    private func runMainLoop(for seconds: TimeInterval = 5, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() && Date() < deadline {
            RunLoop.current.run(until: Date().addingTimeInterval(0.01))
        }
        return condition()
    }

    func testShowRunsOnTheMainActorAndItsDecisionIsReturned() throws {
        let seen = AtomicCounter()
        let onMain = AtomicCounter()
        let handler = Reach.mainActorPresenter { popup in
            seen.add()
            if Thread.isMainThread { onMain.add() }
            return popup.offerId == "discard-me" ? .discard : .showNow
        }
        let answers = DecisionBox()
        let (first, second) = (popup("show-me"), popup("discard-me"))
        Thread {
            answers.append(handler(first))
            answers.append(handler(second))
        }.start()
        try check(runMainLoop { answers.count == 2 }, "both offers answered")
        try checkEqual(answers.all, [.showNow, .discard], "the decisions of show")
        try checkEqual(onMain.value, 2, "show ran on the main thread both times")
    }

    func testABusyMainThreadIsAnsweredLaterAndShowNeverRuns() throws {
        let seen = AtomicCounter()
        let handler = Reach.mainActorPresenter(timeout: 0.2) { _ in
            seen.add()
            return .showNow
        }
        let answers = DecisionBox()
        let late = popup("late")
        Thread { answers.append(handler(late)) }.start()
        // The main thread is "busy": it does not turn its run loop for 0.5 s.
        Thread.sleep(forTimeInterval: 0.5)
        try checkEqual(answers.all, [.later(delayMs: 5_000)], "answered later after the timeout")
        _ = runMainLoop(for: 0.3) { false }  // the late task runs now, and must do nothing
        try checkEqual(seen.value, 0, "the late main-thread task did nothing")
    }

    func testARealOfferThroughReach() throws {
        let reach = try Reach(config: config(freshDir("main-actor-presenter")))
        try reach.loadRulePack(lotteryPack)
        let shown = AtomicCounter()
        try reach.setPopupPresenter(Reach.mainActorPresenter { [weak reach] popup in
            shown.add()
            try? reach?.popupShown(popup.offerId)
            return .showNow
        })
        try reach.track("register", ["method": "sms"])
        try check(runMainLoop { shown.value == 1 }, "the popup reached the main actor")
        try check(runMainLoop { reach.diagnostics().popupsOffered == 1 }, "one offer")
        reach.close()
    }
}

private func popup(_ offerId: String) -> Popup {
    Popup(
        offerId: offerId, campaignId: "c", variant: "default", template: .modal, title: "Hi",
        body: nil, imageUrl: nil, buttons: [], payload: [:])
}

/// Decisions collected from another thread.
final class DecisionBox: @unchecked Sendable {
    private let lock = NSLock()
    private var decisions: [PresenterDecision] = []
    func append(_ d: PresenterDecision) {
        lock.lock()
        decisions.append(d)
        lock.unlock()
    }
    var all: [PresenterDecision] {
        lock.lock()
        defer { lock.unlock() }
        return decisions
    }
    var count: Int { all.count }
}
