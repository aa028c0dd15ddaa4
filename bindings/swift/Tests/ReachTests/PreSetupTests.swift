// Calls made before setup (the same semantics and tests as the Kotlin wrapper's): kept in
// order, bounded to 1,000 with the oldest dropped and counted, stamped with their own time,
// applied at setup, and never overtaken by calls racing the setup on other threads. Plus
// setup twice and the disabled instance.
//
// `Reach.shared` is one per process, so these tests use fresh pending instances
// (`Reach(pending:)`, the same type and code path as the shared one); the shared instance
// itself is exercised once, in SharedInstanceTests.

import Foundation
@testable import Reach
import XCTest

final class PreSetupTests: XCTestCase {
    func testBufferedCallsAreAppliedAtSetupInOrderWithTheirOwnTime() throws {
        let server = try CollectorServer()
        defer { server.stop() }
        let reach = Reach(pending: ())
        try reach.track("early", ["n": 1])
        try reach.identify("u-early")
        try reach.track("early", ["n": 2])
        try reach.setConsent(.granted)
        try checkEqual(reach.consent, .granted, "consent before setup: the last one set")
        try checkEqual(reach.diagnostics().queued, 4, "four calls buffered")
        try check(!reach.flush(), "flush() before setup answers false")
        let madeBy = RecordedCall.now()
        Thread.sleep(forTimeInterval: 0.05)
        let setupAt = RecordedCall.now()

        try reach.open(
            config: uploadingConfig(freshDir("pre-order"), server: server), logSink: nil,
            disableOnFailure: true)
        try reach.track("late")
        let events = try uploadAll(reach, server, count: 4)
        let early = tracked(events, "early")
        try checkEqual(early.compactMap { intProperty($0, "n") }, [1, 2], "buffered events, in order")
        try checkEqual(early[0]["userId"] as? String, nil, "the first was made before identify")
        try checkEqual(early[1]["userId"] as? String, "u-early", "the second after it")
        try check(early.allSatisfy { (timestampMs($0) ?? .max) <= madeBy }, "stamped when made, not at setup")
        try check((timestampMs(tracked(events, "late")[0]) ?? 0) >= setupAt, "later calls: their time")
        reach.close()
    }

    func testOverflowDropsTheOldestAndIsCounted() throws {
        let server = try CollectorServer()
        defer { server.stop() }
        let reach = Reach(pending: ())
        for i in 0..<(preSetupBufferLimit + 25) { try reach.track("early", ["i": i]) }
        let before = reach.diagnostics()
        try checkEqual(before.queued, UInt64(preSetupBufferLimit), "buffered, bounded")
        try checkEqual(rejected(before, "pre_setup_overflow"), 25, "overflow counted before setup")

        try reach.open(
            config: uploadingConfig(freshDir("pre-overflow"), server: server), logSink: nil,
            disableOnFailure: true)
        let d = try settled(reach)
        try checkEqual(d.stored, UInt64(preSetupBufferLimit), "the newest 1,000 are stored")
        try checkEqual(rejected(d, "pre_setup_overflow"), 25, "overflow still reported after setup")
        let events = try uploadAll(reach, server, count: preSetupBufferLimit)
        let order = tracked(events, "early").compactMap { intProperty($0, "i") }
        try checkEqual(order, Array(25..<(preSetupBufferLimit + 25)), "the oldest 25 dropped, order kept")
        reach.close()
    }

    func testThreadsRacingSetupLoseNothingAndKeepTheirOrder() throws {
        let server = try CollectorServer()
        defer { server.stop() }
        let reach = Reach(pending: ())
        let threads = 4
        let perThread = 600  // some before setup, most after; under the buffer's bound
        let started = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        for t in 0..<threads {
            group.enter()
            Thread {
                started.signal()
                for i in 0..<perThread {
                    try? reach.track("race", ["thread": t, "seq": i])
                    if i == 50 { Thread.sleep(forTimeInterval: 0.02) }  // let setup happen mid-way
                }
                group.leave()
            }.start()
        }
        for _ in 0..<threads { started.wait() }
        try reach.open(
            config: uploadingConfig(freshDir("pre-race"), server: server), logSink: nil,
            disableOnFailure: true)
        group.wait()
        let d = try settled(reach)
        let overflow = rejected(d, "pre_setup_overflow")
        try checkEqual(overflow, 0, "no overflow at this volume")
        try checkEqual(d.stored, UInt64(threads * perThread), "every call stored")
        let events = try uploadAll(reach, server, count: threads * perThread)
        for t in 0..<threads {
            let seqs = events.filter { intProperty($0, "thread") == t }.compactMap { intProperty($0, "seq") }
            try checkEqual(seqs, Array(0..<perThread), "thread \(t) in order across setup")
        }
        reach.close()
    }

    func testPresenterSetBeforeSetupIsInstalledAtSetup() throws {
        let reach = Reach(pending: ())
        let presenter = RecordingPresenter()
        try reach.setPopupPresenter(presenter)
        try reach.track("register", ["method": "sms"])  // before the pack: nothing to offer
        var c = config(freshDir("pre-presenter"))
        c.bundledRulePack = lotteryPack
        try reach.open(config: c, logSink: nil, disableOnFailure: true)
        try check(presenter.waitFor(1), "the buffered register event offered the popup")
        try checkEqual(presenter.popups.first?.campaignId, "new-user-lottery", "campaign")
        reach.close()
    }

    func testSecondSetupIsIgnoredAndLogged() throws {
        let log = LogCollector()
        let reach = Reach(pending: ())
        let first = freshDir("pre-twice-1")
        try reach.open(config: config(first), logSink: log.handler, disableOnFailure: true)
        try reach.open(config: config(freshDir("pre-twice-2")), logSink: nil, disableOnFailure: true)
        try check(log.contains("called again"), "the second setup is logged")
        try reach.track("x")
        try check(reach.flush(), "still the first instance, working")
        reach.close()
        let reopened = try Reach(config: config(first))
        try checkEqual(try settled(reopened).stored, 1, "the event went to the first directory")
        reopened.close()
    }

    func testSetupOnADirectoryInUseGivesADisabledInstance() throws {
        let dir = freshDir("pre-disabled")
        let owner = try Reach(config: config(dir))
        let log = LogCollector()
        let reach = Reach(pending: ())
        try reach.track("buffered")
        try reach.open(config: config(dir), logSink: log.handler, disableOnFailure: true)
        try check(log.contains("disabled"), "the reason is logged once")
        try reach.track("refused")
        try reach.identify("u")
        try check(!reach.flush(), "a disabled instance flushes nothing")
        let d = reach.diagnostics()
        try checkEqual(rejected(d, "disabled"), 4, "buffered + 2 calls + flush refused")
        try checkEqual(reach.uploadNow(timeoutMs: 100).stop, .closed, "uploadNow refused")
        owner.close()

        let strict = Reach(pending: ())
        let second = try Reach(config: config(freshDir("pre-disabled-strict")))
        let c = config(freshDir("pre-disabled-strict"), strict: true)
        let error = try expectReachError("strict setup on a directory in use") {
            try strict.open(config: c, logSink: nil, disableOnFailure: true)
        }
        guard case .AlreadyOpen = error else { throw Failure(description: "expected AlreadyOpen, got \(error)") }
        second.close()
    }
}
