// Tests of the Swift wrapper (module Reach) against the real libreach.
//
// A plain executable rather than XCTest: Linux toolchains do not all ship
// XCTest, and CI only needs the last line, `N passed, N failed`, and the exit
// code (non-zero on any failure). Each test opens Reach on its own temporary
// directory and asserts through `diagnostics()` and by reopening the directory,
// so what is checked is what the Rust core really stored.
//
// Run by scripts/test-swift.sh.

import Dispatch
import Foundation
import Reach

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

// MARK: - Tests

func testTrackFlushCloseReopen() throws {
    let dir = freshDir("persist")
    let n = 250
    // Default flush timeout (1 s): a normal flush of a few hundred events fits.
    let defaults = ReachConfig(
        dataDir: dir,
        app: AppInfo(
            appVersion: "1", platform: "linux-test", osVersion: "13", locale: "en-US",
            timezone: "UTC"),
        consent: .granted)
    let reach = try Reach(config: defaults)
    for i in 0..<n {
        try reach.track("item_viewed", ["index": i, "name": "item \(i)"])
    }
    try check(reach.flush(), "flush() returns true")
    let d = reach.diagnostics()
    try checkEqual(d.stored, UInt64(n), "stored")
    try checkEqual(d.queued, 0, "queued after flush")
    try checkEqual(d.rejectedTotal, 0, "rejected")
    try checkEqual(d.droppedOverflow, 0, "dropped")
    try check(d.persistent, "persistent")
    try check(d.storedBytes > 0, "storedBytes > 0")
    try check(d.databaseBytes > 0, "databaseBytes > 0")
    try check(reach.close(), "close() returns true")

    let reopened = try Reach(config: defaults)
    try checkEqual(try settled(reopened).stored, UInt64(n), "stored after reopening")
    try check(reopened.close(), "close() after reopening")
}

func testScreen() throws {
    let reach = try Reach(config: config(freshDir("screen")))
    try reach.screen("Home")
    try reach.screen("Settings", ["tab": "privacy"])
    try reach.screen("Checkout", ["items": 3, "total": 19.99])
    let d = try settled(reach)
    try checkEqual(d.stored, 3, "stored screens")
    try checkEqual(d.rejectedTotal, 0, "rejected")
    reach.close()

    let strict = try Reach(config: config(freshDir("screen-strict"), strict: true))
    try expectInvalidInput("name_empty", "screen(\"\")") { try strict.screen("") }
    try expectInvalidInput("name_reserved_prefix", "screen(\"reach.x\")") { try strict.screen("reach.x") }
    try checkEqual(try settled(strict).stored, 0, "stored after refused screens")
    strict.close()
}

func testConversionOfNativeTypes() throws {
    let date = Date(timeIntervalSince1970: 1_732_415_295.123_9)
    let cases: [(String, Any, PropertyValue)] = [
        ("String", "hello", .stringValue(value: "hello")),
        ("empty String", "", .stringValue(value: "")),
        ("Substring", "hello world".prefix(5), .stringValue(value: "hello")),
        ("Int", 42, .intValue(value: 42)),
        ("negative Int", -7, .intValue(value: -7)),
        ("Int.max", Int.max, .intValue(value: Int64(Int.max))),
        ("Int8", Int8(-8), .intValue(value: -8)),
        ("Int16", Int16(16), .intValue(value: 16)),
        ("Int32", Int32(32), .intValue(value: 32)),
        ("Int64", Int64.min, .intValue(value: Int64.min)),
        ("UInt8", UInt8(255), .intValue(value: 255)),
        ("UInt16", UInt16(65_535), .intValue(value: 65_535)),
        ("UInt32", UInt32.max, .intValue(value: Int64(UInt32.max))),
        ("UInt", UInt(7), .intValue(value: 7)),
        ("UInt64 = Int64.max", UInt64(Int64.max), .intValue(value: Int64.max)),
        ("Double", 2.5, .floatValue(value: 2.5)),
        ("Float keeps its decimal value", Float(0.1), .floatValue(value: 0.1)),
        ("CGFloat", CGFloat(1.25), .floatValue(value: 1.25)),
        ("Double NaN is passed on (the core refuses it)", Double.infinity, .floatValue(value: .infinity)),
        ("Bool true", true, .boolValue(value: true)),
        ("Bool false", false, .boolValue(value: false)),
        ("Date in epoch milliseconds", date, .timestampValue(epochMs: 1_732_415_295_123)),
        ("Date before 1970 rounds down", Date(timeIntervalSince1970: -0.0005), .timestampValue(epochMs: -1)),
        ("[String]", ["a", "b"], .stringListValue(values: ["a", "b"])),
        ("empty [String]", [String](), .stringListValue(values: [])),
        ("Optional.some(Int)", Optional(5) as Any, .intValue(value: 5)),
        ("Optional.some(String)", Optional("x") as Any, .stringValue(value: "x")),
        ("PropertyValue as is", PropertyValue.timestampValue(epochMs: 5), .timestampValue(epochMs: 5)),
        ("unsupported PropertyValue as is", PropertyValue.unsupportedValue(typeName: "X"), .unsupportedValue(typeName: "X")),
    ]
    for (what, value, expected) in cases {
        try checkEqual(Reach.propertyValue(value), expected, what)
    }
    let map = Reach.propertyValues(["a": 1, "b": "two", "c": true])
    try checkEqual(
        map, ["a": .intValue(value: 1), "b": .stringValue(value: "two"), "c": .boolValue(value: true)],
        "propertyValues")
}

func testBoolAndIntNeverSwap() throws {
    // Native values: Foundation would happily bridge these through NSNumber.
    try checkEqual(Reach.propertyValue(true), .boolValue(value: true), "true")
    try checkEqual(Reach.propertyValue(1), .intValue(value: 1), "1")
    try checkEqual(Reach.propertyValue(0), .intValue(value: 0), "0")
    try checkEqual(Reach.propertyValue(Int8(1)), .intValue(value: 1), "Int8(1)")
    try checkEqual(Reach.propertyValue(1.0), .floatValue(value: 1.0), "1.0")
    // NSNumber, as from Objective-C APIs and UserDefaults.
    try checkEqual(Reach.propertyValue(NSNumber(value: true)), .boolValue(value: true), "NSNumber(true)")
    try checkEqual(Reach.propertyValue(NSNumber(value: false)), .boolValue(value: false), "NSNumber(false)")
    try checkEqual(Reach.propertyValue(NSNumber(value: 1)), .intValue(value: 1), "NSNumber(1)")
    try checkEqual(Reach.propertyValue(NSNumber(value: 0)), .intValue(value: 0), "NSNumber(0)")
    try checkEqual(Reach.propertyValue(NSNumber(value: Int8(1))), .intValue(value: 1), "NSNumber(Int8(1))")
    try checkEqual(Reach.propertyValue(NSNumber(value: 1.5)), .floatValue(value: 1.5), "NSNumber(1.5)")
    try checkEqual(Reach.propertyValue(NSNumber(value: Float(0.1))), .floatValue(value: 0.1), "NSNumber(Float 0.1)")
    try checkEqual(
        Reach.propertyValue(NSNumber(value: UInt64(Int64.max))), .intValue(value: Int64.max),
        "NSNumber(UInt64 = Int64.max)")
    try checkEqual(
        Reach.propertyValue(NSNumber(value: UInt64.max)),
        .unsupportedValue(typeName: "NSNumber above Int64.max"), "NSNumber(UInt64.max)")
    // Decoded JSON: every number is an NSNumber there.
    let json = #"{"b": true, "f": false, "one": 1, "zero": 0, "x": 1.5, "big": 12345678901}"#
    let decoded = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
    let values = Reach.propertyValues(decoded)
    try checkEqual(values["b"], .boolValue(value: true), "JSON true")
    try checkEqual(values["f"], .boolValue(value: false), "JSON false")
    try checkEqual(values["one"], .intValue(value: 1), "JSON 1")
    try checkEqual(values["zero"], .intValue(value: 0), "JSON 0")
    try checkEqual(values["x"], .floatValue(value: 1.5), "JSON 1.5")
    try checkEqual(values["big"], .intValue(value: 12_345_678_901), "JSON 12345678901")
}

func testConversionOfFoundationObjects() throws {
    try checkEqual(Reach.propertyValue(NSString(string: "ns")), .stringValue(value: "ns"), "NSString")
    try checkEqual(
        Reach.propertyValue(NSDate(timeIntervalSince1970: 2)), .timestampValue(epochMs: 2000), "NSDate")
    try checkEqual(
        Reach.propertyValue(NSArray(array: ["a", "b"])), .stringListValue(values: ["a", "b"]),
        "NSArray of strings")
    try checkEqual(
        Reach.propertyValue(["a", "b"] as [Any]), .stringListValue(values: ["a", "b"]), "[Any] of strings")
    let decoded = try JSONSerialization.jsonObject(with: Data(#"{"tags": ["x", "y"], "mixed": ["x", 1]}"#.utf8))
    let values = Reach.propertyValues(decoded as! [String: Any])
    try checkEqual(values["tags"], .stringListValue(values: ["x", "y"]), "JSON array of strings")
    guard case .unsupportedValue(let mixedType)? = values["mixed"] else {
        throw Failure(description: "JSON array with a number: expected unsupported, got \(String(describing: values["mixed"]))")
    }
    try check(mixedType.contains("NSNumber"), "the mixed array names the element type: \(mixedType)")
    try checkEqual(
        Reach.propertyValue(["x", 1] as [Any]), .unsupportedValue(typeName: "Array<Any> containing Int"),
        "[Any] with an Int")
    try checkEqual(
        Reach.propertyValue(NSDecimalNumber(string: "1.5")),
        .unsupportedValue(typeName: "NSDecimalNumber"), "NSDecimalNumber")
}

func testUnsupportedValuesKeepTheirTypeName() throws {
    let none: Int? = nil
    let cases: [(String, Any, String)] = [
        ("NSNull", NSNull(), "NSNull"),
        ("Optional.none", none as Any, "Optional<Int>"),
        ("[Int]", [1, 2], "Array<Int>"),
        ("empty [Int]", [Int](), "Array<Int>"),
        ("[Double]", [1.5], "Array<Double>"),
        ("dictionary", ["a": 1], "Dictionary<String, Int>"),
        ("custom struct", Point(), "Point"),
        ("Decimal", Decimal(string: "1.5")!, "Decimal"),
        ("URL", URL(string: "https://example.com")!, "URL"),
        ("Character", Character("c"), "Character"),
        ("UInt64 above Int64.max", UInt64.max, "UInt64 above Int64.max"),
        ("UInt above Int64.max", UInt.max, "UInt above Int64.max"),
        ("Date out of range", Date(timeIntervalSince1970: 1e300), "Date out of range"),
    ]
    for (what, value, typeName) in cases {
        try checkEqual(Reach.propertyValue(value), .unsupportedValue(typeName: typeName), what)
    }
}

func testEverySupportedTypeIsStored() throws {
    let reach = try Reach(config: config(freshDir("all-types"), strict: true))
    let properties: [String: Any] = [
        "string": "s", "substring": "abc".prefix(2), "int": 1, "int8": Int8(2), "int16": Int16(3),
        "int32": Int32(4), "int64": Int64(5), "uint8": UInt8(6), "uint16": UInt16(7),
        "uint32": UInt32(8), "uint": UInt(9), "uint64": UInt64(10), "double": 1.5,
        "float": Float(2.5), "cgfloat": CGFloat(3.5), "bool": true, "date": Date(),
        "list": ["a", "b"], "nsnumber": NSNumber(value: 11), "nsbool": NSNumber(value: false),
        "nsstring": NSString(string: "n"), "nsdate": NSDate(), "optional": Optional(12) as Any,
        "typed": PropertyValue.timestampValue(epochMs: 1_700_000_000_000),
    ]
    // Strict: any conversion the core refused would throw here.
    try reach.track("all_types", properties)
    try reach.screen("AllTypes", properties)
    try reach.setUserProperties(properties)
    let d = try settled(reach)
    try checkEqual(d.stored, 3, "stored (track + screen + identify)")
    try checkEqual(d.rejectedTotal, 0, "rejected")
    reach.close()
}

func testUnsupportedValuesAreRejectedAndCounted() throws {
    let log = LogCollector()
    let reach = try Reach(config: config(freshDir("unsupported")), logSink: log.handler)
    let none: String? = nil
    let bad: [Any] = [NSNull(), none as Any, [1, 2], Point(), ["k": "v"], Float.nan]
    for (i, value) in bad.enumerated() {
        try reach.track("bad_\(i)", ["ok": 1, "bad": value])
    }
    try reach.track("good", ["ok": 1])
    let d = try settled(reach)
    try checkEqual(rejected(d, "unsupported_value"), 5, "rejectedByReason[unsupported_value]")
    try checkEqual(rejected(d, "non_finite_float"), 1, "rejectedByReason[non_finite_float] (Float.nan)")
    try checkEqual(d.rejectedTotal, 6, "rejectedTotal")
    try checkEqual(d.stored, 1, "only the good event is stored")
    for typeName in ["NSNull", "Optional<String>", "Array<Int>", "Point", "Dictionary<String, String>"] {
        try check(log.contains("type \(typeName)"), "the log names the type \(typeName): \(log.lines.map(\.message))")
    }
    reach.close()

    let strict = try Reach(config: config(freshDir("unsupported-strict"), strict: true))
    try expectInvalidInput("unsupported_value", "strict track with NSNull") {
        try strict.track("bad", ["v": NSNull()])
    }
    try expectInvalidInput("unsupported_value", "strict setUserProperties with [Int]") {
        try strict.setUserProperties(["v": [1]])
    }
    try checkEqual(rejected(try settled(strict), "unsupported_value"), 2, "strict counts too")
    strict.close()
}

func testStrictModeThrowsForBadNames() throws {
    let reach = try Reach(config: config(freshDir("strict"), strict: true))
    try expectInvalidInput("name_reserved_prefix", "track(\"reach.x\")") { try reach.track("reach.x") }
    try expectInvalidInput("name_empty", "track(\"\")") { try reach.track("") }
    try expectInvalidInput("property_key_invalid", "empty property key") { try reach.track("ok", ["": 1]) }
    try reach.track("fine")
    let d = try settled(reach)
    try checkEqual(d.stored, 1, "only the valid event is stored")
    try checkEqual(d.rejectedTotal, 3, "strict refusals are counted too")
    reach.close()
}

func testNonStrictModeCountsBadNames() throws {
    let reach = try Reach(config: config(freshDir("lenient")))
    try reach.track("reach.x")
    try reach.track("")
    try reach.track("Reach.Upper")
    try reach.track("fine")
    let d = try settled(reach)
    try checkEqual(d.stored, 1, "stored")
    try checkEqual(
        d.rejectedByReason, ["name_reserved_prefix": 2, "name_empty": 1], "rejectedByReason")
    try checkEqual(d.rejectedTotal, 3, "rejectedTotal")
    reach.close()
}

func testSecondInstanceOnTheSameDirectoryThrows() throws {
    let dir = freshDir("locked")
    let first = try Reach(config: config(dir))
    let error = try expectReachError("second Reach on the same directory") { _ = try Reach(config: config(dir)) }
    guard case .AlreadyOpen(let message) = error else {
        throw Failure(description: "expected AlreadyOpen, got \(error)")
    }
    try check(!message.isEmpty, "AlreadyOpen has a message")
    try first.track("still_works")
    try checkEqual(try settled(first).stored, 1, "the first instance still works")
    try check(first.close(), "close")
    // The directory is free again once closed.
    let second = try Reach(config: config(dir))
    try checkEqual(try settled(second).stored, 1, "the second instance sees the first's event")
    second.close()

    // A directory that cannot be created is a Storage error, not a crash.
    let file = testRoot.appendingPathComponent("a-file").path
    try check(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)), "create a file")
    let storage = try expectReachError("data directory under a regular file") {
        _ = try Reach(config: config(file + "/reach"))
    }
    guard case .Storage = storage else { throw Failure(description: "expected Storage, got \(storage)") }
}

func testConsent() throws {
    let dir = freshDir("consent")
    let reach = try Reach(config: config(dir, consent: .granted))
    try checkEqual(reach.consent, .granted, "initial consent")
    for i in 0..<10 { try reach.track("before_denial", ["i": i]) }
    try checkEqual(try settled(reach).stored, 10, "stored before denial")

    try reach.setConsent(.denied)
    try checkEqual(reach.consent, .denied, "consent after setConsent(.denied)")
    try checkEqual(try settled(reach).stored, 0, "denial deletes stored events")
    try reach.track("after_denial")
    try reach.screen("AfterDenial")
    try reach.track("after_denial", ["x": 1])
    var d = try settled(reach)
    try checkEqual(d.stored, 0, "nothing stored while denied")
    try checkEqual(rejected(d, "consent_denied"), 3, "refused as consent_denied")
    reach.close()

    // Persisted: the stored denial wins over the config's initial consent.
    let reopened = try Reach(config: config(dir, consent: .granted))
    _ = try settled(reopened)
    try checkEqual(reopened.consent, .denied, "consent after reopening")
    try reopened.track("still_denied")
    d = try settled(reopened)
    try checkEqual(d.stored, 0, "still nothing stored")
    try checkEqual(rejected(d, "consent_denied"), 1, "refused after reopening")

    try reopened.setConsent(.pending)
    try checkEqual(reopened.consent, .pending, "pending")
    try reopened.track("while_pending")
    try reopened.setConsent(.granted)
    try checkEqual(reopened.consent, .granted, "granted again")
    try reopened.track("granted_again")
    try checkEqual(try settled(reopened).stored, 2, "pending and granted events are stored")
    reopened.close()
}

func testIdentifyAndUserProperties() throws {
    let reach = try Reach(config: config(freshDir("identify")))
    try reach.identify("user-1")
    try checkEqual(try settled(reach).stored, 1, "identify records an identify event")
    try reach.setUserProperties(["plan": "pro", "seats": 3, "trial": false])
    try checkEqual(try settled(reach).stored, 2, "setUserProperties records an identify event")
    try reach.unsetUserProperties(["plan", "never_set"])
    try reach.unsetUserProperties("seats", "trial")
    try reach.unsetUserProperties()
    try checkEqual(try settled(reach).stored, 2, "unsetUserProperties records nothing")
    try reach.reset()
    try checkEqual(try settled(reach).stored, 2, "reset records nothing and keeps stored events")
    try reach.identify("user-2")
    try reach.track("after_identify")
    var d = try settled(reach)
    try checkEqual(d.stored, 4, "identify + track after reset")
    try checkEqual(d.rejectedTotal, 0, "nothing refused so far")

    try reach.identify("")
    try reach.setUserProperties(["bad": NSNull()])
    try reach.setUserProperties(["": "empty key"])
    d = try settled(reach)
    try checkEqual(d.stored, 4, "bad identify calls store nothing")
    try checkEqual(rejected(d, "property_key_invalid"), 2, "empty user id and empty key")
    try checkEqual(rejected(d, "unsupported_value"), 1, "NSNull user property")
    reach.close()

    let strict = try Reach(config: config(freshDir("identify-strict"), strict: true))
    try expectInvalidInput("property_key_invalid", "identify(\"\")") { try strict.identify("") }
    strict.close()
}

func testForegroundRecordsAppOpen() throws {
    let reach = try Reach(config: config(freshDir("foreground")))
    try reach.onForeground()
    try checkEqual(try settled(reach).stored, 1, "onForeground records app_open")
    try check(reach.onBackground(), "onBackground() returns true")
    try checkEqual(reach.diagnostics().stored, 1, "onBackground records nothing")
    try reach.onForeground()
    try checkEqual(try settled(reach).stored, 2, "every foreground records app_open")
    reach.close()

    let quiet = try Reach(config: config(freshDir("foreground-quiet"), recordAppOpen: false))
    try quiet.onForeground()
    try checkEqual(try settled(quiet).stored, 0, "recordAppOpen=false: no app_open")
    try check(quiet.onBackground(), "onBackground() returns true")
    quiet.close()
}

func testDeleteLocalData() throws {
    let dir = freshDir("delete")
    let reach = try Reach(config: config(dir, consent: .pending))
    try reach.identify("someone")
    try reach.setUserProperties(["plan": "pro"])
    for i in 0..<5 { try reach.track("e", ["i": i]) }
    try checkEqual(try settled(reach).stored, 7, "stored before delete")
    try reach.deleteLocalData()
    try checkEqual(try settled(reach).stored, 0, "deleteLocalData removes stored events")
    try checkEqual(reach.consent, .pending, "consent is kept")
    try reach.track("after_delete")
    try checkEqual(try settled(reach).stored, 1, "tracking continues")
    reach.close()

    let reopened = try Reach(config: config(dir, consent: .granted))
    let d = try settled(reopened)
    try checkEqual(d.stored, 1, "after reopening")
    try checkEqual(reopened.consent, .pending, "consent kept across reopen")
    reopened.close()
}

func testLogSink() throws {
    let first = LogCollector()
    let reach = try Reach(config: config(freshDir("log")), logSink: first.handler)
    try reach.track("reach.secret")
    _ = try settled(reach)
    let refused = first.lines.filter { $0.message.contains("reach.secret") }
    try check(!refused.isEmpty, "the sink received a line for the refused event: \(first.lines.map(\.message))")
    try check(refused.allSatisfy { $0.level == .warn }, "refusals are warnings")
    try check(refused.allSatisfy { $0.message.contains("refused") }, "the line says refused")
    try check(
        first.lines.allSatisfy { !$0.onMainThread }, "the sink is called on Reach's thread, not the caller's")

    let second = LogCollector()
    reach.setLogSink(second.handler)
    try reach.track("")
    _ = try settled(reach)
    try check(second.contains("refused"), "the replacement sink receives lines")
    try check(!first.contains("track(\"\")"), "the replaced sink receives nothing more")

    reach.setLogSink(nil)
    let before = second.lines.count
    try reach.track("reach.after_removal")
    _ = try settled(reach)
    try checkEqual(second.lines.count, before, "no sink, no lines")
    try checkEqual(rejected(reach.diagnostics(), "name_reserved_prefix"), 2, "still counted")
    reach.close()
}

func testConcurrentTracking() throws {
    let dir = freshDir("threads")
    let reach = try Reach(config: config(dir, flushTimeoutMs: 60_000))
    let threads = 8
    let perThread = 5_000
    let errors = AtomicCounter()
    let started = Date()
    // Real threads, not DispatchQueue.concurrentPerform: that one runs on as many
    // threads as there are cores, which on a 2-core CI machine is not 8.
    let done = DispatchGroup()
    let start = DispatchSemaphore(value: 0)
    for t in 0..<threads {
        done.enter()
        Thread {
            start.wait()
            for i in 0..<perThread {
                do {
                    try reach.track("concurrent", ["thread": t, "i": i, "even": i % 2 == 0])
                } catch {
                    errors.add()
                }
            }
            done.leave()
        }.start()
    }
    for _ in 0..<threads { start.signal() }  // all at once, to contend
    done.wait()
    let tracked = Date().timeIntervalSince(started)
    try checkEqual(errors.value, 0, "track() errors")
    let d = try settled(reach)
    let total = Date().timeIntervalSince(started)
    print(String(format: "    %d events on %d threads: tracked in %.2f s, stored in %.2f s", threads * perThread, threads, tracked, total))
    try checkEqual(d.stored, UInt64(threads * perThread), "stored")
    try checkEqual(d.queued, 0, "queued")
    try checkEqual(d.rejectedTotal, 0, "rejected")
    try checkEqual(d.droppedOverflow, 0, "dropped")
    try checkEqual(d.droppedStorageError, 0, "storage errors")
    try check(reach.close(), "close")
    let reopened = try Reach(config: config(dir))
    try checkEqual(try settled(reopened).stored, UInt64(threads * perThread), "stored after reopening")
    reopened.close()
}

func testCallsAfterClose() throws {
    let log = LogCollector()
    let reach = try Reach(config: config(freshDir("closed")), logSink: log.handler)
    try reach.track("before_close")
    try check(reach.close(), "close() returns true")
    // None of these may throw outside strict mode.
    try reach.track("after_close", ["x": 1])
    try reach.screen("AfterClose")
    try reach.identify("u")
    try reach.setUserProperties(["a": 1])
    try reach.unsetUserProperties(["a"])
    try reach.reset()
    try reach.setConsent(.denied)
    try reach.deleteLocalData()
    try reach.onForeground()
    try check(!reach.flush(), "flush() returns false after close")
    try check(!reach.onBackground(), "onBackground() returns false after close")
    try check(reach.close(), "a second close() is harmless")
    reach.setLogSink(nil)
    _ = reach.consent
    let d = reach.diagnostics()
    try check(rejected(d, "closed") >= 9, "calls after close are counted as closed: \(d.rejectedByReason)")
    try checkEqual(d.queued, 0, "nothing is left queued")

    // Strict mode: calls after close throw a ReachError (never crash).
    let strict = try Reach(config: config(freshDir("closed-strict"), strict: true))
    strict.close()
    let calls: [(String, () throws -> Void)] = [
        ("track", { try strict.track("x") }),
        ("identify", { try strict.identify("u") }),
        ("reset", { try strict.reset() }),
    ]
    for (name, call) in calls {
        let error = try expectReachError("strict \(name) after close", call)
        switch error {
        case .Closed: break
        default: throw Failure(description: "strict \(name) after close: unexpected \(error)")
        }
    }
}

func testReleaseWithoutClose() throws {
    let dir = freshDir("release")
    do {
        let reach = try Reach(config: config(dir))
        for i in 0..<20 { try reach.track("unclosed", ["i": i]) }
        // Released here without flush() or close().
    }
    // The worker commits and frees the directory in the background.
    var reopened: Reach?
    let deadline = Date().addingTimeInterval(10)
    while reopened == nil {
        do {
            reopened = try Reach(config: config(dir))
        } catch ReachError.AlreadyOpen {
            try check(Date() < deadline, "the directory is freed after the last reference goes")
            Thread.sleep(forTimeInterval: 0.01)
        }
    }
    try checkEqual(try settled(reopened!).stored, 20, "events tracked before the release are kept")
    reopened!.close()
}

func testDefaults() throws {
    let app = AppInfo.current()
    #if os(Linux)
        try checkEqual(app.platform, "linux", "platform")
    #endif
    try check(!app.appVersion.isEmpty, "appVersion is set")
    try check(!app.osVersion.isEmpty && app.osVersion != "0.0.0", "osVersion: \(app.osVersion)")
    try check(!app.locale.isEmpty && !app.locale.contains("_"), "locale is BCP 47: \(app.locale)")
    try check(!app.timezone.isEmpty, "timezone is set")

    let fm = FileManager.default
    let base = try fm.url(for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: false)
    let expected = base.appendingPathComponent("reach").path
    let existed = fm.fileExists(atPath: expected)
    let dir = try Reach.defaultDataDirectory()
    defer { if !existed { try? fm.removeItem(atPath: dir) } }
    try checkEqual(dir, expected, "defaultDataDirectory()")
    var isDir: ObjCBool = false
    try check(fm.fileExists(atPath: dir, isDirectory: &isDir) && isDir.boolValue, "the directory exists")

    // A config built from both opens and records.
    let reach = try Reach(config: ReachConfig(dataDir: freshDir("defaults"), app: app, consent: .granted))
    try reach.track("with_defaults")
    try checkEqual(try settled(reach).stored, 1, "stored")
    reach.close()
}

// MARK: - Rule packs and popups

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
    try checkEqual(d.stored, 3, "stored: the event, shown and clicked")

    // max_total 1: registering again offers nothing.
    try reach.track("register", ["method": "sms"])
    d = try settled(reach)
    try checkEqual(d.popupsOffered, 1, "popupsOffered after a second register")
    try checkEqual(d.stored, 4, "the second register is stored")
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
    try checkEqual(try settled(reach).stored, 3, "register, shown, dismissed")
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
    try checkEqual(d.stored, 3, "register, shown (counted with the dismiss), dismissed")
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
    // ping, ping, reach.popup.shown, reach.popup.clicked, ping_ok (the button's event)
    try check(
        waitUntil { reach.flush() && reach.diagnostics().stored == 5 },
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

// MARK: - Prize claims, explain() and holdouts (rule pack format 1.1)

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
    try checkEqual(e.outcome, "offered", "outcome (the engine chose it; the claim said no)")
    try check(!presenter.waitFor(2, timeout: 0.3), "no popup for the second person")
    try checkEqual(presenter.popups.count, 1, "offers the presenter received")
    try checkEqual(client.releases.count, 0, "releases (nothing was discarded)")
    // purchase, reach.popup.shown, reach.popup.clicked, purchase
    try checkEqual(try settled(reach).stored, 4, "stored")
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
    try checkEqual(try settled(reach).stored, 2, "stored")
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

// MARK: - Main

let tests: [(String, () throws -> Void)] = [
    ("track N, flush, close, reopen: N stored", testTrackFlushCloseReopen),
    ("screen records screen views; strict refuses bad names", testScreen),
    ("conversion: native Swift types", testConversionOfNativeTypes),
    ("conversion: Bool and Int never swap through NSNumber", testBoolAndIntNeverSwap),
    ("conversion: Foundation objects", testConversionOfFoundationObjects),
    ("conversion: unsupported values keep their precise type name", testUnsupportedValuesKeepTheirTypeName),
    ("every supported type is stored (strict mode)", testEverySupportedTypeIsStored),
    ("unsupported values are refused, counted and logged with their type", testUnsupportedValuesAreRejectedAndCounted),
    ("strict mode throws for \"reach.x\" and \"\"", testStrictModeThrowsForBadNames),
    ("non-strict mode counts bad names instead of throwing", testNonStrictModeCountsBadNames),
    ("a second instance on the same directory throws AlreadyOpen", testSecondInstanceOnTheSameDirectoryThrows),
    ("consent: denied deletes and refuses, persisted, granted again", testConsent),
    ("identify/setUserProperties record identify events", testIdentifyAndUserProperties),
    ("onForeground records app_open unless recordAppOpen=false", testForegroundRecordsAppOpen),
    ("deleteLocalData removes events, keeps consent", testDeleteLocalData),
    ("log sink: refused events are logged; setLogSink replaces and removes", testLogSink),
    ("8 threads x 5,000 events: 40,000 stored", testConcurrentTracking),
    ("calls after close do not throw; flush() returns false", testCallsAfterClose),
    ("releasing without close keeps events and frees the directory", testReleaseWithoutClose),
    ("AppInfo.current() and Reach.defaultDataDirectory()", testDefaults),
    ("a Swift PopupPresenter receives the registration popup; shown + clicked caps it", testPresenterReceivesRegistrationPopup),
    ("an invalid rule pack throws InvalidRulePack (non-strict too); the active pack keeps serving", testInvalidRulePackThrows),
    ("presenter answers discard: nothing counted, offered again", testPresenterDiscard),
    ("presenter answers later: re-offered at foreground / after the delay", testPresenterLater),
    ("a bundled rule pack works without loadRulePack; a bad one is logged", testBundledRulePack),
    ("closure presenter off the main thread; setPopupPresenter(nil) removes it", testPresenterClosureSetAndRemove),
    ("popup calls after close: quiet unless strict; a bad pack still throws", testPopupCallsAfterClose),
    ("a Swift ClaimClient grants once: shown once; the next person finds it exhausted", testClaimClientGrantsOnce),
    ("discarding a prize popup releases it with the claim's key", testDiscardReleasesThePrize),
    ("a throwing ClaimClient is unavailable: nothing shown, explain says why", testThrowingClaimClientIsUnavailable),
    ("explain: unknown campaign, failed condition with its value; after close", testExplain),
    ("a holdout control arm: no popup, reach.popup.control stored, variant control", testHoldoutControl),
]

func runAll(_ tests: [(String, () throws -> Void)]) -> Int32 {
    try? FileManager.default.createDirectory(at: testRoot, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: testRoot) }
    var passed = 0
    var failed = 0
    let suiteStart = Date()
    for (name, body) in tests {
        let start = Date()
        do {
            try body()
            passed += 1
            print(String(format: "PASS  %@ (%.0f ms)", name, Date().timeIntervalSince(start) * 1000))
        } catch {
            failed += 1
            print("FAIL  \(name)\n      \(error)")
        }
    }
    print(String(format: "swift tests ran in %.1f s", Date().timeIntervalSince(suiteStart)))
    print("\(passed) passed, \(failed) failed")
    return failed == 0 ? 0 : 1
}

exit(runAll(tests))
