// Reach's local-notification fallback on iOS: a campaign whose channels list
// local_notification reaches a person who left the app through
// UNUserNotificationCenter; a tap is reported back as the campaign's click.

import Foundation
import Reach
import UserNotifications

/// The key under which a notification carries Reach's id.
private let reachNotificationIdKey = "reach_notification_id"

/// Schedules and cancels Reach's notifications. Reach calls it on its own
/// thread; UNUserNotificationCenter may be used from any thread.
final class LocalNotifications: NSObject, NotificationScheduler, UNUserNotificationCenterDelegate,
    @unchecked Sendable
{
    func schedule(_ notification: LocalNotification) throws {
        let content = UNMutableNotificationContent()
        content.title = notification.title
        content.body = notification.body ?? ""
        content.userInfo = [reachNotificationIdKey: notification.notificationId]
        let seconds = max(1, Double(notification.fireAtMs) / 1000 - Date().timeIntervalSince1970)
        let trigger = UNTimeIntervalNotificationTrigger(timeInterval: seconds, repeats: false)
        UNUserNotificationCenter.current().add(
            UNNotificationRequest(
                identifier: notification.notificationId, content: content, trigger: trigger))
    }

    func cancel(notificationId: String) throws {
        let center = UNUserNotificationCenter.current()
        center.removePendingNotificationRequests(withIdentifiers: [notificationId])
        center.removeDeliveredNotifications(withIdentifiers: [notificationId])
    }

    /// The person tapped a notification: if it is Reach's, that is the campaign's click.
    func userNotificationCenter(
        _ center: UNUserNotificationCenter, didReceive response: UNNotificationResponse,
        withCompletionHandler completionHandler: @escaping () -> Void
    ) {
        if let id = response.notification.request.content.userInfo[reachNotificationIdKey] as? String {
            try? Reach.shared.notificationTapped(id)
        }
        completionHandler()
    }

    /// Installs itself as Reach's scheduler and the center's delegate (before
    /// launch finishes, so a tap that launched the app is delivered), and asks
    /// for permission; without it iOS shows nothing and the popup still shows in
    /// the app when the person returns.
    func install() {
        let center = UNUserNotificationCenter.current()
        center.delegate = self
        center.requestAuthorization(options: [.alert, .sound]) { _, _ in }
        try? Reach.shared.setNotificationScheduler(self)
    }
}
