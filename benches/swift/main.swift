// What a Swift caller pays per Reach call, on the caller's thread: p50 and p99 over
// 20,000 calls per row, 3 repeats, each call timed alone with the monotonic clock
// (~25 ns of the figures are the clock itself). Run by scripts/bench-swift.sh with the
// release library, compiled with -O. Not a test: nothing here fails.
//
// Rows marked "(direct)" call the generated bindings without the wrapper's queue, to
// show where the cost of the old path went: conversion `[String: Any]` → PropertyValue,
// then uniffi's serialisation into a RustBuffer and the call into Rust.

import Foundation
import Reach
import ReachFFI

#if canImport(Glibc)
    import Glibc
#endif

let callsPerRow = 20_000
let repeats = 3

@inline(__always) func nowNs() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

func measure(_ name: String, _ body: (Int) -> Void) {
    var rows: [String] = []
    for _ in 0..<repeats {
        var samples = [UInt64](repeating: 0, count: callsPerRow)
        for i in 0..<callsPerRow {
            let start = nowNs()
            body(i)
            samples[i] = nowNs() - start
        }
        samples.sort()
        let p50 = Double(samples[callsPerRow / 2]) / 1000
        let p99 = Double(samples[callsPerRow * 99 / 100]) / 1000
        rows.append(String(format: "%.2f / %.2f", p50, p99))
    }
    print(name.padding(toLength: 44, withPad: " ", startingAt: 0) + rows.joined(separator: "   "))
}

func app() -> AppInfo {
    AppInfo(appVersion: "1.0", build: "1", platform: "linux-bench", osVersion: "13", locale: "en-US", timezone: "UTC")
}

func dir(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "reach-bench-\(name)-\(UUID().uuidString)"
    return path
}

let props: [String: Any] = ["method": "sms", "step": 3, "price": 9.99, "first": true, "plan": "pro"]
let converted = Reach.propertyValues(props)

// Large queue bounds: the bench must not measure the core's overflow path.
let queuedConfig = ReachConfig(dataDir: dir("queued"), app: app(), consent: .granted, maxQueuedEvents: 10_000_000,
                               maxQueuedBytes: 4_000_000_000, recordAppOpen: false)
let reach = try Reach(config: queuedConfig)
let directConfig = ReachConfig(dataDir: dir("direct"), app: app(), consent: .granted, maxQueuedEvents: 10_000_000,
                               maxQueuedBytes: 4_000_000_000, recordAppOpen: false)
let core = try ReachFFI.Reach(config: directConfig, logSink: nil)

// Warm-up: first calls page in code and grow the queues.
for i in 0..<20_000 { try reach.track("warm", ["i": i]) }
reach.flush()

print("Swift caller, p50 / p99 in µs per call, \(callsPerRow) calls per row, \(repeats) repeats")
measure("consent getter") { _ in _ = reach.consent }
reach.flush()
measure("track(name)") { _ in try? reach.track("tap") }
reach.flush()
measure("track(name, 5 properties)") { _ in try? reach.track("register", props) }
reach.flush()
measure("identify(id)") { i in try? reach.identify("user-\(i & 7)") }
reach.flush()
measure("screen(name)") { _ in try? reach.screen("Home") }
reach.flush()
measure("setUserProperties(2 properties)") { i in try? reach.setUserProperties(["plan": "pro", "n": i]) }
reach.flush()
measure("(direct) conversion of 5 properties alone") { _ in _ = Reach.propertyValues(props) }
measure("(direct) core.track, 5 pre-converted props") { _ in try? core.track(name: "register", properties: converted) }
_ = core.flush()
measure("(direct) core.track, 5 props converted") { _ in
    try? core.track(name: "register", properties: Reach.propertyValues(props))
}
_ = core.flush()
measure("(direct) core.consent()") { _ in _ = core.consent() }
reach.close()
_ = core.close()
