// Stand-in for Apple's BackgroundTasks framework (iOS 13), only so that scripts/check-ios-layer.sh
// can type-check the BGTaskScheduler glue in bindings/swift/Sources/Reach/BackgroundUpload.swift
// on Linux. The declarations Reach uses, with the SDK's names, labels and types; bodies trap.

@_exported import Foundation

open class BGTask: NSObject {
    open var identifier: String { fatalError() }
    open var expirationHandler: (() -> Void)?
    open func setTaskCompleted(success: Bool) {}
}

open class BGTaskRequest: NSObject {
    open var identifier: String { fatalError() }
    open var earliestBeginDate: Date?
}

open class BGAppRefreshTaskRequest: BGTaskRequest {
    public init(identifier: String) {}
}

open class BGTaskScheduler: NSObject {
    public class var shared: BGTaskScheduler { fatalError() }
    open func register(
        forTaskWithIdentifier identifier: String, using queue: DispatchQueue?,
        launchHandler: @escaping @Sendable (BGTask) -> Void
    ) -> Bool { fatalError() }
    open func submit(_ taskRequest: BGTaskRequest) throws {}
}
