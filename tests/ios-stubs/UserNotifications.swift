// Stand-in for Apple's UserNotifications framework (iOS 10), only so that scripts/check-ios-layer.sh
// can type-check ios-sample/ReachSample/LocalNotifications.swift on Linux. The declarations the
// sample uses, with the SDK's names, labels, types and Sendable annotations; bodies trap.
// The delegate's methods are optional in the SDK (Objective-C): here they have empty defaults.

@_exported import Foundation

public struct UNAuthorizationOptions: OptionSet, Sendable {
    public let rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }
    public static let badge = UNAuthorizationOptions(rawValue: 1 << 0)
    public static let sound = UNAuthorizationOptions(rawValue: 1 << 1)
    public static let alert = UNAuthorizationOptions(rawValue: 1 << 2)
}

open class UNNotificationContent: NSObject, @unchecked Sendable {
    open var title: String { fatalError() }
    open var body: String { fatalError() }
    open var userInfo: [AnyHashable: Any] { fatalError() }
}

open class UNMutableNotificationContent: UNNotificationContent, @unchecked Sendable {
    public override init() {}
    open override var title: String { get { fatalError() } set {} }
    open override var body: String { get { fatalError() } set {} }
    open override var userInfo: [AnyHashable: Any] { get { fatalError() } set {} }
}

open class UNNotificationTrigger: NSObject, @unchecked Sendable {
    open var repeats: Bool { fatalError() }
}

open class UNTimeIntervalNotificationTrigger: UNNotificationTrigger, @unchecked Sendable {
    public init(timeInterval: TimeInterval, repeats: Bool) {}
    open var timeInterval: TimeInterval { fatalError() }
}

open class UNNotificationRequest: NSObject, @unchecked Sendable {
    public init(identifier: String, content: UNNotificationContent, trigger: UNNotificationTrigger?) {}
    open var identifier: String { fatalError() }
    open var content: UNNotificationContent { fatalError() }
    open var trigger: UNNotificationTrigger? { fatalError() }
}

open class UNNotification: NSObject, @unchecked Sendable {
    open var date: Date { fatalError() }
    open var request: UNNotificationRequest { fatalError() }
}

open class UNNotificationResponse: NSObject, @unchecked Sendable {
    open var actionIdentifier: String { fatalError() }
    open var notification: UNNotification { fatalError() }
}

public protocol UNUserNotificationCenterDelegate: NSObjectProtocol {
    func userNotificationCenter(
        _ center: UNUserNotificationCenter, didReceive response: UNNotificationResponse,
        withCompletionHandler completionHandler: @escaping () -> Void)
}

extension UNUserNotificationCenterDelegate {
    public func userNotificationCenter(
        _ center: UNUserNotificationCenter, didReceive response: UNNotificationResponse,
        withCompletionHandler completionHandler: @escaping () -> Void
    ) {}
}

open class UNUserNotificationCenter: NSObject, @unchecked Sendable {
    open class func current() -> UNUserNotificationCenter { fatalError() }
    weak open var delegate: (any UNUserNotificationCenterDelegate)?
    open func requestAuthorization(
        options: UNAuthorizationOptions = [],
        completionHandler: @escaping @Sendable (Bool, (any Error)?) -> Void
    ) {}
    open func add(
        _ request: UNNotificationRequest,
        withCompletionHandler completionHandler: (@Sendable ((any Error)?) -> Void)? = nil
    ) {}
    open func removePendingNotificationRequests(withIdentifiers identifiers: [String]) {}
    open func removeDeliveredNotifications(withIdentifiers identifiers: [String]) {}
}
