// The dispatch queue (issue 15): recording calls are stamped on the caller's thread and
// applied in batches by `reach-dispatch`. Nothing may be lost or reordered: each thread's
// events keep their order relative to its identify calls, the timestamp is the caller's,
// flush() covers what was queued before it, close() applies everything queued, and strict
// mode still throws on the caller's thread. Checked through what the core uploads to a
// loopback collector, i.e. what it really stored.

import Foundation
@testable import Reach
import XCTest

final class QueueTests: XCTestCase {
    func testSeveralThreadsKeepTheirOrderOfTrackAndIdentify() throws {
        let server = try CollectorServer()
        defer { server.stop() }
        let reach = try Reach(config: uploadingConfig(freshDir("queue-order"), server: server))
        let threads = 4
        let perThread = 300
        let identifyEvery = 50
        let group = DispatchGroup()
        let before = RecordedCall.now()
        for t in 0..<threads {
            group.enter()
            Thread {
                for i in 0..<perThread {
                    if i % identifyEvery == 0 { try? reach.identify("user-\(t)-\(i)") }
                    try? reach.track("step", ["thread": t, "seq": i])
                    if i == perThread / 2 { try? reach.reset() }
                }
                group.leave()
            }.start()
        }
        group.wait()
        let after = RecordedCall.now()
        try check(reach.flush(), "flush() completed")
        let identifies = threads * (perThread / identifyEvery)
        let events = try uploadAll(reach, server, count: threads * perThread + identifies)

        for t in 0..<threads {
            // The thread's own calls, in the order the core stored them: each identify
            // must come right before the track with the same seq.
            let mine = events.filter { event in
                if event["type"] as? String == "identify" {
                    return (event["userId"] as? String)?.hasPrefix("user-\(t)-") == true
                }
                return intProperty(event, "thread") == t
            }
            var expected: [String] = []
            for i in 0..<perThread {
                if i % identifyEvery == 0 { expected.append("identify user-\(t)-\(i)") }
                expected.append("step \(i)")
            }
            let actual = mine.map { event -> String in
                if event["type"] as? String == "identify" {
                    return "identify \(event["userId"] as? String ?? "?")"
                }
                return "step \(intProperty(event, "seq") ?? -1)"
            }
            try checkEqual(actual, expected, "thread \(t)'s calls in order")
            let times = mine.compactMap(timestampMs)
            try checkEqual(times.count, mine.count, "every event has a timestamp")
            try check(times == times.sorted(), "thread \(t)'s timestamps never go back")
            try check(
                times.allSatisfy { $0 >= before && $0 <= after },
                "timestamps are the callers' (between \(before) and \(after))")
        }
        reach.close()
    }

    func testFlushCoversEverythingQueuedBeforeIt() throws {
        let reach = try Reach(config: config(freshDir("queue-flush"), recordAppOpen: false))
        for i in 0..<2_000 { try reach.track("tap", ["i": i, "screen": "home"]) }
        try check(reach.flush(), "flush() completed")
        // No wait, no retry: the 2,000 calls are stored once flush() returns.
        try checkEqual(reach.diagnostics().stored, 2_000, "stored right after flush()")
        reach.close()
    }

    func testCallsAfterIdentifyCarryTheUserWithoutWaiting() throws {
        let server = try CollectorServer()
        defer { server.stop() }
        let reach = try Reach(config: uploadingConfig(freshDir("queue-identify"), server: server))
        try reach.track("before")
        try reach.identify("u-1")
        try reach.track("after")
        try reach.reset()
        try reach.track("logged-out")
        let events = try uploadAll(reach, server, count: 4)
        try checkEqual(tracked(events, "before").first?["userId"] as? String, nil, "before identify")
        try checkEqual(tracked(events, "after").first?["userId"] as? String, "u-1", "after identify")
        try checkEqual(tracked(events, "logged-out").first?["userId"] as? String, nil, "after reset")
        reach.close()
    }

    func testNothingIsLostAtClose() throws {
        let dir = freshDir("queue-close")
        let reach = try Reach(config: config(dir, recordAppOpen: false))
        let threads = 4
        let perThread = 2_500
        let group = DispatchGroup()
        for _ in 0..<threads {
            group.enter()
            Thread {
                for i in 0..<perThread { try? reach.track("burst", ["i": i]) }
                group.leave()
            }.start()
        }
        group.wait()
        // Straight to close(), no flush: what is still queued must be applied first.
        try check(reach.close(), "close() committed everything in time")
        let reopened = try Reach(config: config(dir, recordAppOpen: false))
        try checkEqual(try settled(reopened).stored, UInt64(threads * perThread), "stored after reopen")
        reopened.close()
    }

    func testCallsDuringCloseAreAppliedOrRefusedNeverLost() throws {
        let reach = try Reach(config: config(freshDir("queue-racing-close"), recordAppOpen: false))
        let made = AtomicCounter()
        let done = DispatchSemaphore(value: 0)
        Thread {
            for i in 0..<20_000 {
                try? reach.track("racing", ["i": i])
                made.add()
            }
            done.signal()
        }.start()
        Thread.sleep(forTimeInterval: 0.01)
        reach.close()
        done.wait()
        let d = reach.diagnostics()
        // Each call was either stored before close or refused as `closed` after it.
        try checkEqual(d.stored + rejected(d, "closed"), UInt64(made.value), "stored + closed")
    }

    func testStrictModeStillThrowsOnTheCallersThread() throws {
        let reach = try Reach(config: config(freshDir("queue-strict"), strict: true))
        try expectInvalidInput("name_reserved_prefix", "strict track(\"reach.x\")") { try reach.track("reach.x") }
        try expectInvalidInput("unsupported_value", "strict unsupported value") {
            try reach.track("ok", ["p": Point()])
        }
        try reach.track("fine")
        try checkEqual(try settled(reach).stored, 1, "only the valid event")
        reach.close()
        _ = try expectReachError("strict track after close") { try reach.track("late") }
    }
}
