// `Reach.shared` itself, once per test process: it is a process-wide singleton, so the
// whole story (calls before setup, setup, a second setup, use) is one test, and no other
// test touches `Reach.shared`. The buffer's finer rules are in PreSetupTests.

import Foundation
@testable import Reach
import XCTest

final class SharedInstanceTests: XCTestCase {
    func testSharedInstanceBuffersUntilSetupThenWorks() throws {
        try Reach.shared.track("register", ["method": "sms"])  // before setup: kept
        try Reach.shared.screen("Welcome")
        let dir = freshDir("shared")
        let log = LogCollector()
        let returned = try Reach.setup(config: config(dir, recordAppOpen: false), logSink: log.handler)
        try check(returned === Reach.shared, "setup returns the shared instance")
        try Reach.setup(config: config(freshDir("shared-again")))
        try check(log.contains("called again"), "a second setup is ignored and logged")
        try Reach.shared.track("after_setup")
        let d = try settled(Reach.shared)
        try checkEqual(d.stored, 3, "the two buffered calls and the later one")
        try checkEqual(rejected(d, "pre_setup_overflow"), 0, "no overflow")
        Reach.shared.close()
        let reopened = try Reach(config: config(dir, recordAppOpen: false))
        try checkEqual(try settled(reopened).stored, 3, "all three in the shared directory")
        reopened.close()
    }
}
