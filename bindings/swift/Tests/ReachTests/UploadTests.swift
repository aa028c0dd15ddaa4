// uploadNow(timeoutMs:) against a loopback collector, the BackgroundUpload run that a
// BGTaskScheduler task wraps (completes exactly once), and the data directory helper.

import Foundation
@testable import Reach
import XCTest

final class UploadTests: XCTestCase {
    func testUploadNowSendsWhatIsQueuedAndStored() throws {
        let server = try CollectorServer()
        defer { server.stop() }
        let reach = try Reach(config: uploadingConfig(freshDir("upload-now"), server: server))
        for i in 0..<120 { try reach.track("viewed", ["i": i]) }
        // No flush: uploadNow commits what is queued first.
        let outcome = reach.uploadNow(timeoutMs: 10_000)
        try checkEqual(outcome.stop, .drained, "stop (detail: \(outcome.detail ?? "-"))")
        try checkEqual(outcome.acknowledged, 120, "acknowledged")
        try checkEqual(outcome.remaining, 0, "remaining")
        try checkEqual(tracked(server.events, "viewed").count, 120, "events at the collector")
        reach.close()
        try checkEqual(reach.uploadNow(timeoutMs: 100).stop, .closed, "after close")
    }

    func testOnForegroundHandsTheCoreTheCurrentTimezone() throws {
        let server = try CollectorServer()
        defer { server.stop() }
        let home = ProcessInfo.processInfo.environment["TZ"]
        defer {
            if let home { setenv("TZ", home, 1) } else { unsetenv("TZ") }
            NSTimeZone.resetSystemTimeZone()
        }
        let reach = try Reach(config: uploadingConfig(freshDir("foreground-zone"), server: server))
        try reach.track("at_home")
        // The person lands in New York while the app runs.
        setenv("TZ", "America/New_York", 1)
        try reach.onForeground()
        try reach.track("abroad")
        try checkEqual(reach.uploadNow(timeoutMs: 10_000).stop, .drained, "uploaded")
        let zones = server.events
            .filter { ["at_home", "abroad"].contains($0["event"] as? String ?? "") }
            .map { ($0["context"] as? [String: Any])?["timezone"] as? String }
        try checkEqual(zones, ["UTC", "America/New_York"], "context.timezone (the config says UTC)")
        try checkEqual(TimeZone.current.identifier, "America/New_York", "the system zone moved")
        reach.close()
    }

    func testUploadNowWithoutAServerOrBeforeSetup() throws {
        let reach = try Reach(config: config(freshDir("upload-no-server")))
        try checkEqual(reach.uploadNow(timeoutMs: 1_000).stop, .noServer, "no serverUrl")
        reach.close()
        try checkEqual(Reach(pending: ()).uploadNow(timeoutMs: 100).stop, .closed, "before setup")
    }

    func testBackgroundUploadCompletesOnceWithSuccess() throws {
        let server = try CollectorServer()
        defer { server.stop() }
        let reach = try Reach(config: uploadingConfig(freshDir("upload-background"), server: server))
        try reach.track("background_me")
        let results = ResultBox()
        let run = BackgroundUpload.start(reach, timeoutMs: 10_000) { results.append($0) }
        try check(waitUntil { results.all.count == 1 }, "completed")
        run.expire()  // too late: already completed
        try checkEqual(results.all, [true], "completed once, with success")
        try checkEqual(tracked(server.events, "background_me").count, 1, "uploaded")
        reach.close()
    }

    func testExpiredBackgroundUploadCompletesOnceWithFailure() throws {
        let reach = Reach(pending: ())  // answers at once, but expire() comes first below
        let results = ResultBox()
        let gate = DispatchSemaphore(value: 0)
        let run = BackgroundUpload.start(reach, timeoutMs: 100) { success in
            results.append(success)
            gate.signal()
        }
        run.expire()
        gate.wait()
        Thread.sleep(forTimeInterval: 0.1)  // the upload's own answer arrives, ignored
        try checkEqual(results.all.count, 1, "exactly one completion")
        try check(BackgroundUpload.succeeded(UploadOutcome(acknowledged: 0, remaining: 0, stop: .noServer, detail: nil)),
            "no server: nothing to do counts as success")
        try check(!BackgroundUpload.succeeded(UploadOutcome(acknowledged: 3, remaining: 5, stop: .timedOut, detail: nil)),
            "a time-out asks to run again")
    }

    func testDataDirectoryIsReachUnderTheBaseAndReusable() throws {
        let base = testRoot.appendingPathComponent("app-support", isDirectory: true)
        let dir = try Reach.dataDirectory(under: base)
        try checkEqual(dir.lastPathComponent, "reach", "directory name")
        var isDirectory: ObjCBool = false
        try check(FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory) && isDirectory.boolValue,
            "created")
        try checkEqual(try Reach.dataDirectory(under: base).path, dir.path, "a second call reuses it")
        #if canImport(Darwin)
            let values = try dir.resourceValues(forKeys: [.isExcludedFromBackupKey])
            try checkEqual(values.isExcludedFromBackup, true, "excluded from backup")
        #endif
        #if os(iOS)
            let protection = try FileManager.default.attributesOfItem(atPath: dir.path)[.protectionKey]
            try checkEqual(protection as? FileProtectionType, .completeUntilFirstUserAuthentication, "protection")
        #endif
        let reach = try Reach(config: config(dir.path))
        try reach.track("stored_here")
        try checkEqual(try settled(reach).stored, 1, "Reach opens on it")
        reach.close()
        let path = try Reach.defaultDataDirectory()
        try check(path.hasSuffix("/reach"), "defaultDataDirectory() ends in /reach: \(path)")
    }
}

final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Bool] = []
    func append(_ v: Bool) {
        lock.lock()
        values.append(v)
        lock.unlock()
    }
    var all: [Bool] {
        lock.lock()
        defer { lock.unlock() }
        return values
    }
}
