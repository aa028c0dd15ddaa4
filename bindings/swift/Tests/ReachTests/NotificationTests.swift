// The local-notification fallback through the Swift wrapper, with a fake
// NotificationScheduler as an app writes one over UNUserNotificationCenter.

import Foundation
import XCTest

@testable import Reach

/// A delayed campaign with a local-notification fallback: an hour after `add_to_cart`.
let cartNotificationPack = """
    {"format":"1.1","campaigns":[{"id":"cart","trigger":{"event":"add_to_cart"},
     "delay":{"after":"1h"},"channels":["in_app","local_notification"],
     "notification":{"title":"Your cart misses you","body":"Come back"},
     "popup":{"template":"modal","title":"Still thinking?"}}]}
    """

struct NotificationsOff: Error, CustomStringConvertible {
    var description: String { "notifications are off" }
}

final class RecordingScheduler: NotificationScheduler, @unchecked Sendable {
    private let lock = NSLock()
    private var scheduledCalls: [(LocalNotification, Bool)] = []
    private var cancelCalls: [String] = []
    let fail: Bool

    init(fail: Bool = false) {
        self.fail = fail
    }

    func schedule(_ notification: LocalNotification) throws {
        let main = Thread.isMainThread
        lock.lock()
        scheduledCalls.append((notification, main))
        lock.unlock()
        if fail { throw NotificationsOff() }
    }

    func cancel(notificationId: String) throws {
        lock.lock()
        cancelCalls.append(notificationId)
        lock.unlock()
    }

    var scheduled: [(LocalNotification, Bool)] {
        lock.lock()
        defer { lock.unlock() }
        return scheduledCalls
    }

    var cancelled: [String] {
        lock.lock()
        defer { lock.unlock() }
        return cancelCalls
    }
}

final class NotificationTests: XCTestCase {
    func testScheduledAtBackgroundAndCancelledWhenTheAppReturnsFirst() throws {
        let reach = try Reach(config: config(freshDir("notify-cancel"), recordAppOpen: false))
        let scheduler = RecordingScheduler()
        try reach.loadRulePack(cartNotificationPack)
        try reach.setNotificationScheduler(scheduler)
        try reach.onForeground()
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        try reach.track("add_to_cart")
        try check(reach.onBackground(), "onBackground() committed")
        try check(waitUntil { scheduler.scheduled.count == 1 }, "schedule() is called")
        let (n, onMain) = scheduler.scheduled[0]
        try checkEqual(n.campaignId, "cart", "campaignId")
        try checkEqual(n.title, "Your cart misses you", "title")
        try checkEqual(n.body, "Come back", "body")
        try check(n.fireAtMs >= before + 3_600_000, "fires at the delay's due time: \(n.fireAtMs)")
        try check(!onMain, "schedule() is not called on the main thread")
        try reach.onForeground()
        try check(waitUntil { scheduler.cancelled == [n.notificationId] }, "cancel() with its id")
        reach.close()
    }

    func testATapIsTheClickAndAThrowingSchedulerIsLogged() throws {
        let log = LogCollector()
        let reach = try Reach(
            config: config(freshDir("notify-tap"), recordAppOpen: false), logSink: log.handler)
        let scheduler = RecordingScheduler(fail: true)
        try reach.loadRulePack(cartNotificationPack)
        try reach.setNotificationScheduler(scheduler)
        try reach.onForeground()
        try reach.track("add_to_cart")
        try check(reach.onBackground(), "onBackground() committed")
        try check(waitUntil { scheduler.scheduled.count == 1 }, "schedule() is called")
        try check(waitUntil { log.contains("notifications are off") }, "the thrown error is logged")
        try reach.notificationTapped(scheduler.scheduled[0].0.notificationId)
        let e = try explainUntil(reach, "cart", "the click") { $0.text.contains("tapped: a click") }
        try checkEqual(e.impressions, 1, "impressions")
        reach.close()
    }
}
