// One recording call as the caller made it, stamped with the caller's time, waiting in
// the pre-setup buffer or the dispatch queue (CallQueue.swift) until Reach's
// `reach-dispatch` thread hands it to the core's `applyCalls(calls:)`.
//
// The properties stay a `[String: Any]` here and are converted to `PropertyValue` on
// the dispatch thread, not the caller's: measured in the Debian 13 chroot, the
// conversion and uniffi's serialisation are most of what `track()` with 5 properties
// cost on the caller's thread (see scripts/bench-swift.sh). Deferring it is safe because
// a Swift dictionary is a value: the caller cannot change it after the call. The one
// exception is a mutable Foundation object inside it (an `NSMutableString`, an
// `NSMutableArray`) changed after the call: it is recorded as it is when converted.

import Foundation
import ReachFFI

/// A recording call waiting to be applied. `@unchecked Sendable`: the `[String: Any]`
/// values are immutable once captured (see the file's header) and only the dispatch
/// thread reads them.
enum RecordedCall: @unchecked Sendable {
    case track(name: String, properties: [String: Any], at: Int64)
    case screen(name: String, properties: [String: Any], at: Int64)
    case identify(userId: String, at: Int64)
    case setUserProperties(properties: [String: Any], at: Int64)
    case unsetUserProperties(keys: [String])
    case reset(at: Int64)
    case setConsent(Consent)
    case foreground(at: Int64)
    case background(at: Int64)

    /// The caller's wall-clock time in epoch milliseconds, as the core stamps events.
    static func now() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// The core's form of the call; converts the properties (on the dispatch thread).
    var queued: QueuedCall {
        switch self {
        case .track(let name, let properties, let at):
            return .track(name: name, properties: Reach.propertyValues(properties), timestampMs: at)
        case .screen(let name, let properties, let at):
            return .screen(name: name, properties: Reach.propertyValues(properties), timestampMs: at)
        case .identify(let userId, let at):
            return .identify(userId: userId, timestampMs: at)
        case .setUserProperties(let properties, let at):
            return .setUserProperties(properties: Reach.propertyValues(properties), timestampMs: at)
        case .unsetUserProperties(let keys):
            return .unsetUserProperties(keys: keys)
        case .reset(let at):
            return .reset(timestampMs: at)
        case .setConsent(let consent):
            return .setConsent(consent: consent)
        case .foreground(let at):
            return .foreground(timestampMs: at)
        case .background(let at):
            return .background(timestampMs: at)
        }
    }

    /// The same call on the direct path (strict mode: errors reach the caller's thread;
    /// the core stamps its own time, which is the caller's, since it runs now).
    func applyDirectly(to core: ReachFFI.Reach) throws {
        switch self {
        case .track(let name, let properties, _):
            try core.track(name: name, properties: Reach.propertyValues(properties))
        case .screen(let name, let properties, _):
            try core.screen(name: name, properties: Reach.propertyValues(properties))
        case .identify(let userId, _):
            try core.identify(userId: userId)
        case .setUserProperties(let properties, _):
            try core.setUserProperties(properties: Reach.propertyValues(properties))
        case .unsetUserProperties(let keys):
            try core.unsetUserProperties(keys: keys)
        case .reset:
            try core.reset()
        case .setConsent(let consent):
            try core.setConsent(consent: consent)
        case .foreground:
            try core.onForeground()
        case .background:
            // Notes the time; the wrapper's onBackground() flushes after.
            _ = core.onBackground()
        }
    }
}

/// A fixed-capacity FIFO that drops its oldest element when full: the calls made before
/// `Reach.setup`. A ring, so a full buffer drops in O(1) on the caller's thread.
struct BoundedBuffer<Element> {
    private var storage: [Element?]
    private var head = 0
    private(set) var count = 0
    /// Elements dropped because the buffer was full, since it was created.
    private(set) var dropped: UInt64 = 0

    init(capacity: Int) {
        precondition(capacity > 0)
        storage = Array(repeating: nil, count: capacity)
    }

    mutating func append(_ element: Element) {
        let capacity = storage.count
        if count == capacity {
            storage[head] = element  // overwrites the oldest
            head = (head + 1) % capacity
            dropped += 1
        } else {
            storage[(head + count) % capacity] = element
            count += 1
        }
    }

    /// Everything held, oldest first; empties the buffer (the drop count stays).
    mutating func takeAll() -> [Element] {
        var out: [Element] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            let index = (head + i) % storage.count
            out.append(storage[index]!)
            storage[index] = nil
        }
        head = 0
        count = 0
        return out
    }
}
