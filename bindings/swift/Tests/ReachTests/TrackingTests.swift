// Recording calls on an app-owned instance: persistence, conversion of Swift values,
// strict and non-strict refusals, consent, identity, threads, close.

import Foundation
@testable import Reach
import XCTest

final class TrackingTests: XCTestCase {
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

        // A directory that cannot be created is a Storage error in strict
        // mode, not a crash; without strict mode the events live in memory
        // and diagnostics say why.
        let file = testRoot.appendingPathComponent("a-file").path
        try check(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)), "create a file")
        let storage = try expectReachError("data directory under a regular file") {
            _ = try Reach(config: config(file + "/reach", strict: true))
        }
        guard case .Storage = storage else { throw Failure(description: "expected Storage, got \(storage)") }
        let inMemory = try Reach(config: config(file + "/reach"))
        try inMemory.track("still_recorded")
        try check(inMemory.flush(), "flush")
        let d = inMemory.diagnostics()
        try checkEqual(d.persistent, false, "persistent")
        try check(d.storageProblem?.contains(file) == true, "storageProblem: \(String(describing: d.storageProblem))")
        inMemory.close()
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
}
