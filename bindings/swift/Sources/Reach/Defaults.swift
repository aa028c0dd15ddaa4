// Sensible values for `ReachConfig` taken from the running app, so that a
// typical setup is two lines:
//
//     let config = ReachConfig(dataDir: try Reach.defaultDataDirectory(),
//                              app: .current(), consent: .pending,
//                              bundledRulePack: try Reach.bundledRulePack())
//     let reach = try Reach(config: config) { level, line in os_log("%{public}@", "\(line)") }
//
// Foundation only, so it compiles (and is tested) on Linux as well.

import Foundation
import ReachFFI

extension AppInfo {
    /// The app and device as Foundation sees them: version and build from the
    /// bundle's Info.plist, the OS name and version, the user's locale (BCP 47)
    /// and time zone (IANA). Copied into every event's context.
    ///
    /// - Parameter bundle: the app's bundle; `.main` in an app. Missing keys
    ///   (a command-line tool, a test) give `appVersion` "unknown" and an empty
    ///   `build`, never a crash.
    public static func current(bundle: Bundle = .main) -> AppInfo {
        let info = bundle.infoDictionary ?? [:]
        let os = ProcessInfo.processInfo.operatingSystemVersion
        return AppInfo(
            appVersion: info["CFBundleShortVersionString"] as? String ?? "unknown",
            build: info["CFBundleVersion"] as? String ?? "",
            platform: platformName,
            osVersion: "\(os.majorVersion).\(os.minorVersion).\(os.patchVersion)",
            locale: bcp47(Locale.current),
            timezone: TimeZone.current.identifier
        )
    }

    private static var platformName: String {
        #if os(iOS)
            return "ios"
        #elseif os(macOS)
            return "macos"
        #elseif os(tvOS)
            return "tvos"
        #elseif os(watchOS)
            return "watchos"
        #elseif os(visionOS)
            return "visionos"
        #elseif os(Linux)
            return "linux"
        #else
            return "unknown"
        #endif
    }

    /// Foundation identifiers use underscores (`zh_Hans_CN`); the core expects
    /// BCP 47 (`zh-Hans-CN`). The POSIX locale (no user locale set, e.g. a CI
    /// machine) has no BCP 47 form and is reported as `und` ("undetermined").
    private static func bcp47(_ locale: Locale) -> String {
        let id = locale.identifier
        if id.isEmpty || id == "en_US_POSIX" || id == "C" || id == "POSIX" { return "und" }
        return id.replacingOccurrences(of: "_", with: "-")
    }
}

extension Reach {
    /// `Application Support/reach`, created if missing: private to the app and
    /// never purged by the OS, unlike Caches. Pass it as `ReachConfig.dataDir`.
    ///
    /// - Excluded from iCloud and device backups (`isExcludedFromBackup`): a queue
    ///   restored onto another device would send the old events a second time and
    ///   make two devices share one anonymous id.
    /// - On iOS, file protection `completeUntilFirstUserAuthentication`: encrypted
    ///   until the person first unlocks the device after a restart, readable after
    ///   that even while it is locked, so a background upload (BGTaskScheduler) can
    ///   still open the database. The stricter `.complete` would make every
    ///   background run fail while the phone is locked. Files SQLite creates later
    ///   (journal, WAL) inherit the directory's class.
    ///
    /// On Linux (the tests) the directory is `~/.local/share/reach`; the backup flag
    /// is set where Foundation supports it and file protection does not exist.
    public static func defaultDataDirectory() throws -> String {
        let base = try FileManager.default.url(
            for: .applicationSupportDirectory, in: .userDomainMask,
            appropriateFor: nil, create: true)
        return try dataDirectory(under: base).path
    }

    /// `base/reach`, created and protected as `defaultDataDirectory()` describes.
    static func dataDirectory(under base: URL) throws -> URL {
        var dir = base.appendingPathComponent("reach", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        #if os(iOS) || os(tvOS) || os(watchOS) || os(visionOS)
            try FileManager.default.setAttributes(
                [.protectionKey: FileProtectionType.completeUntilFirstUserAuthentication],
                ofItemAtPath: dir.path)
        #endif
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        #if canImport(Darwin)
            try dir.setResourceValues(values)
        #else
            // swift-corelibs-foundation has the key but no backup to exclude from: a
            // refusal there is not an error.
            try? dir.setResourceValues(values)
        #endif
        return dir
    }
}

extension Reach {
    /// The rule pack shipped in the app, for `ReachConfig.bundledRulePack`: its
    /// campaigns are active from the first launch, offline, until a pack is
    /// loaded with `loadRulePack(_:)` (which then replaces it for good).
    ///
    /// - Parameters:
    ///   - name: the resource's name without the `.json` extension.
    ///   - bundle: where the resource is; `.main` in an app.
    /// - Returns: the file's text, or `nil` when the bundle has no such resource
    ///   (an app that ships no pack). The pack itself is checked when Reach
    ///   opens: a bundled pack that is refused is reported to the log handler
    ///   and no campaign is active.
    /// - Throws: when the resource exists but cannot be read as UTF-8 text.
    public static func bundledRulePack(
        named name: String = "reach-rules", bundle: Bundle = .main
    ) throws -> String? {
        guard let url = bundle.url(forResource: name, withExtension: "json") else { return nil }
        return try String(contentsOf: url, encoding: .utf8)
    }
}
