// Shared helpers of the Swift wrapper's tests (XCTest, run by `swift test`
// through scripts/test-swift.sh): assertions that throw, collectors for the
// threads Reach calls back on, the rule packs the tests load, and configs on
// fresh temporary directories. Each test opens Reach on its own directory and
// asserts through `diagnostics()` and by reopening the directory, so what is
// checked is what the Rust core really stored.

import Dispatch
import Foundation
@testable import Reach

// MARK: - A minimal runner

struct Failure: Error, CustomStringConvertible {
    let description: String
}

func check(
    _ condition: Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) throws {
    if !condition { throw Failure(description: "\(file):\(line): \(message())") }
}

func checkEqual<T: Equatable>(
    _ actual: T, _ expected: T, _ what: String,
    file: StaticString = #fileID, line: UInt = #line
) throws {
    try check(actual == expected, "\(what): got \(actual), expected \(expected)", file: file, line: line)
}

/// Runs `body`, which must throw a `ReachError`, and returns that error.
func expectReachError(
    _ what: String, file: StaticString = #fileID, line: UInt = #line, _ body: () throws -> Void
) throws -> ReachError {
    do {
        try body()
    } catch let error as ReachError {
        return error
    }
    throw Failure(description: "\(file):\(line): \(what): expected a ReachError, nothing was thrown")
}

func expectInvalidInput(
    _ code: String, _ what: String, file: StaticString = #fileID, line: UInt = #line,
    _ body: () throws -> Void
) throws {
    let error = try expectReachError(what, file: file, line: line, body)
    guard case .InvalidInput(let actual, let message) = error else {
        throw Failure(description: "\(file):\(line): \(what): expected InvalidInput(\(code)), got \(error)")
    }
    try checkEqual(actual, code, "\(what): error code", file: file, line: line)
    try check(!message.isEmpty, "\(what): the error has a message", file: file, line: line)
}

/// Collects log lines from Reach's worker thread.
final class LogCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(level: LogLevel, message: String, onMainThread: Bool)] = []

    var handler: LogHandler {
        { [self] level, message in
            let main = Thread.isMainThread
            lock.lock()
            entries.append((level, message, main))
            lock.unlock()
        }
    }

    var lines: [(level: LogLevel, message: String, onMainThread: Bool)] {
        lock.lock()
        defer { lock.unlock() }
        return entries
    }

    func contains(_ needle: String) -> Bool {
        lines.contains { $0.message.contains(needle) }
    }
}

/// A counter several threads can bump.
final class AtomicCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add(_ n: Int = 1) {
        lock.lock()
        count += n
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}

/// Polls `condition` every 10 ms until it holds or `timeout` runs out; returns
/// whether it held. Presenter calls arrive on Reach's presenter thread, so tests
/// wait for them, bounded, instead of sleeping a guessed time.
func waitUntil(timeout: TimeInterval = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        if Date() >= deadline { return false }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return true
}

/// A `PopupPresenter` written in Swift, as an app writes one: records every
/// offer (and whether it came on the main thread) and answers from a script,
/// then with `fallback`.
final class RecordingPresenter: PopupPresenter, @unchecked Sendable {
    private let lock = NSLock()
    private var received: [(popup: Popup, onMainThread: Bool)] = []
    private var script: [PresenterDecision]
    private let fallback: PresenterDecision

    init(answers: [PresenterDecision] = [], then fallback: PresenterDecision = .showNow) {
        script = answers
        self.fallback = fallback
    }

    func offer(_ popup: Popup) -> PresenterDecision {
        let main = Thread.isMainThread
        lock.lock()
        defer { lock.unlock() }
        received.append((popup, main))
        return script.isEmpty ? fallback : script.removeFirst()
    }

    var popups: [Popup] {
        lock.lock()
        defer { lock.unlock() }
        return received.map(\.popup)
    }

    var anyOnMainThread: Bool {
        lock.lock()
        defer { lock.unlock() }
        return received.contains { $0.onMainThread }
    }

    /// Waits (at most 5 s) until `count` popups have arrived.
    func waitFor(_ count: Int, timeout: TimeInterval = 5) -> Bool {
        waitUntil(timeout: timeout) { popups.count >= count }
    }
}

/// Scenario 01 (tests/fixtures/packs/01-registration-lottery.json): one popup
/// at registration, at most once per person.
let lotteryPack = #"""
    {"format":"1.0","campaigns":[{"id":"new-user-lottery","trigger":{"event":"register"},
    "frequency":{"max_total":1},"popup":{"template":"modal","title":"New member lottery",
    "buttons":[{"id":"draw","text":"Draw now","action":{"type":"deep_link","url":"app://lottery"}},
    {"id":"later","text":"Later","action":{"type":"dismiss"}}]}}]}
    """#

/// The same pack with an unknown operator in `where`.
let invalidLotteryPack = lotteryPack.replacingOccurrences(
    of: #""trigger":{"event":"register"}"#,
    with: #""trigger":{"event":"register","where":[{"prop":"method","op":"gtx","value":1}]}"#)

/// A campaign without caps: offered on every "ping" while no popup is in flight.
let pingPack = #"""
    {"format":"1.0","campaigns":[{"id":"ping","trigger":{"event":"ping"},
    "popup":{"template":"banner","title":"Ping","body":"Pong","image_url":"https://example.com/p.png",
    "buttons":[{"id":"ok","text":"OK","action":{"type":"track_event","event":"ping_ok"}}],
    "payload":{"color":"red","size":2}}}]}
    """#

/// The last popup a closure presenter received, readable from any thread.
final class PopupBox: @unchecked Sendable {
    private let lock = NSLock()
    private var popup: Popup?
    func set(_ p: Popup) {
        lock.lock()
        popup = p
        lock.unlock()
    }
    func get() throws -> Popup {
        lock.lock()
        defer { lock.unlock() }
        guard let p = popup else { throw Failure(description: "no popup received") }
        return p
    }
}

/// Scenario 06 (tests/fixtures/packs/06-prize-inventory.json) inline, format
/// 1.1: a prize claimed before the popup is shown, one per person, nothing
/// shown offline.
let prizePack = #"""
    {"format":"1.1","campaigns":[{"id":"golden-week-gift","trigger":{"event":"purchase"},
    "inventory":{"per_user":1,"offline":"skip"},
    "popup":{"template":"modal","title":"A golden week gift for you","buttons":[
    {"id":"claim","text":"Claim","action":{"type":"deep_link","url":"app://gifts/golden-week"}}]}}]}
    """#

/// A trigger with a property condition: `purchase` with `amount > 100`.
let bigSpenderPack = #"""
    {"format":"1.1","campaigns":[{"id":"big-spender","trigger":{"event":"purchase",
    "where":[{"prop":"amount","op":"gt","value":100}]},
    "popup":{"template":"banner","title":"Thank you!"}}]}
    """#

/// A holdout where everyone is in the control arm (the only arm with weight > 0).
let holdoutPack = #"""
    {"format":"1.1","campaigns":[{"id":"vip-upsell","trigger":{"event":"view_item"},
    "variants":[{"id":"treatment","weight":0},{"id":"control","weight":1,"control":true}],
    "popup":{"template":"modal","title":"Become a VIP"}}]}
    """#

/// A `ClaimClient` written in Swift, as a host writes one over its backend: a
/// stock of `prizes`, at most one per idempotency key; records every claim and
/// release (and whether it came on the main thread). A released key returns
/// its prize.
final class StockClaimClient: ClaimClient, @unchecked Sendable {
    struct Call {
        let campaignId: String
        let personId: String
        let key: String
        let onMainThread: Bool
    }

    private let lock = NSLock()
    private var prizes: Int
    private var granted: [String: String] = [:]
    private var claimCalls: [Call] = []
    private var releaseCalls: [Call] = []

    init(prizes: Int) {
        self.prizes = prizes
    }

    func claim(campaignId: String, personId: String, idempotencyKey: String) -> ClaimOutcome {
        let main = Thread.isMainThread
        lock.lock()
        defer { lock.unlock() }
        claimCalls.append(Call(campaignId: campaignId, personId: personId, key: idempotencyKey, onMainThread: main))
        if let id = granted[idempotencyKey] { return .granted(claimId: id) }
        guard prizes > 0 else { return .exhausted }
        prizes -= 1
        let id = "prize-\(granted.count + 1)"
        granted[idempotencyKey] = id
        return .granted(claimId: id)
    }

    func release(campaignId: String, idempotencyKey: String) {
        let main = Thread.isMainThread
        lock.lock()
        defer { lock.unlock() }
        releaseCalls.append(Call(campaignId: campaignId, personId: "", key: idempotencyKey, onMainThread: main))
        if granted.removeValue(forKey: idempotencyKey) != nil { prizes += 1 }
    }

    var claims: [Call] {
        lock.lock()
        defer { lock.unlock() }
        return claimCalls
    }

    var releases: [Call] {
        lock.lock()
        defer { lock.unlock() }
        return releaseCalls
    }
}

/// Asks `explain(_:)` until `condition` holds (a claim's answer reaches Reach's
/// worker after the host's `claim` returned); fails after `timeout` with the
/// last explanation.
func explainUntil(
    _ reach: Reach, _ campaignId: String, _ what: String, timeout: TimeInterval = 5,
    file: StaticString = #fileID, line: UInt = #line,
    _ condition: (CampaignExplanation) -> Bool
) throws -> CampaignExplanation {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        guard let e = try reach.explain(campaignId) else {
            throw Failure(description: "\(file):\(line): explain(\"\(campaignId)\") returned nil")
        }
        if condition(e) { return e }
        if Date() >= deadline {
            throw Failure(description: "\(file):\(line): timed out waiting for \(what); last explanation:\n\(e.text)")
        }
        Thread.sleep(forTimeInterval: 0.01)
    }
}

let testRoot = FileManager.default.temporaryDirectory
    .appendingPathComponent("reach-swift-tests-\(UUID().uuidString)", isDirectory: true)

/// A fresh, not yet existing data directory (Reach creates it).
func freshDir(_ name: String) -> String {
    testRoot.appendingPathComponent(name, isDirectory: true).path
}

func config(
    _ dir: String, strict: Bool = false, recordAppOpen: Bool = true,
    consent: Consent = .granted, flushTimeoutMs: UInt64 = 10_000
) -> ReachConfig {
    ReachConfig(
        dataDir: dir,
        app: AppInfo(
            appVersion: "1.2.3", build: "45", platform: "linux-test", osVersion: "13",
            locale: "en-US", timezone: "UTC"),
        consent: consent, strict: strict, recordAppOpen: recordAppOpen,
        flushTimeoutMs: flushTimeoutMs)
}

/// Flushes (which must complete) and returns the diagnostics.
func settled(_ reach: Reach, file: StaticString = #fileID, line: UInt = #line) throws -> Diagnostics {
    try check(reach.flush(), "flush() completed", file: file, line: line)
    return reach.diagnostics()
}

func rejected(_ d: Diagnostics, _ code: String) -> UInt64 {
    d.rejectedByReason[code] ?? 0
}

/// A type Reach cannot store.
struct Point {
    var x = 1
    var y = 2
}

/// A config whose uploads go to `server` (a `CollectorServer`) and only when asked:
/// `uploadFlushAt`/`uploadIntervalMs` high, so the tests decide when with `uploadNow`.
func uploadingConfig(_ dir: String, server: CollectorServer, strict: Bool = false) -> ReachConfig {
    var c = config(dir, strict: strict, recordAppOpen: false)
    c.serverUrl = server.url
    c.writeKey = "wk-test"
    c.uploadFlushAt = 1_000_000
    c.uploadIntervalMs = 3_600_000
    return c
}

/// Uploads until the server holds `count` events (or 10 s pass); returns them.
func uploadAll(_ reach: Reach, _ server: CollectorServer, count: Int) throws -> [[String: Any]] {
    let deadline = Date().addingTimeInterval(10)
    while server.events.count < count && Date() < deadline {
        _ = reach.uploadNow(timeoutMs: 5_000)
    }
    try checkEqual(server.events.count, count, "events received by the collector")
    return server.events
}

/// The tracked events named `name`, in upload order.
func tracked(_ events: [[String: Any]], _ name: String) -> [[String: Any]] {
    events.filter { $0["type"] as? String == "track" && $0["event"] as? String == name }
}

/// An event's `properties[key]` as an Int (JSON numbers arrive as NSNumber or Int).
func intProperty(_ event: [String: Any], _ key: String) -> Int? {
    let value = (event["properties"] as? [String: Any])?[key]
    if let n = value as? Int { return n }
    if let n = value as? NSNumber { return n.intValue }
    return nil
}

/// An event's timestamp (ISO 8601 with milliseconds) in epoch milliseconds.
func timestampMs(_ event: [String: Any]) -> Int64? {
    guard let text = event["timestamp"] as? String else { return nil }
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    guard let date = formatter.date(from: text) else { return nil }
    return Int64((date.timeIntervalSince1970 * 1000).rounded())
}
