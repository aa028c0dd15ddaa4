// swift-tools-version:6.0
//
// Reach for Swift: three modules, as an app sees them.
//
//   ReachCore  (C)      the Rust core's C ABI: header + module map, with the compiled
//                      library (ReachCore.xcframework on Apple platforms, libreach.so
//                      on Linux).
//   ReachFFI  (Swift)  the uniffi-generated bindings. Generated, never committed:
//                      they must match the uniffi version the library was built with.
//                      `./prepare-package.sh` copies them into Sources/ReachFFI.
//   Reach     (Swift)  the hand-written, Foundation-only wrapper apps import, with
//                      its privacy manifest (PrivacyInfo.xcprivacy) as a resource.
//
// CI builds this manifest with `swift build` and runs `swift test` on Linux, inside
// the Debian 13 chroot, against the host-built libreach.so (scripts/test-swift.sh).

import PackageDescription

#if os(Linux)
    // Linux: the host-built libreach.so, through a system-library module map that
    // links it. Pass its directory when building: swift build -Xlinker -L<dir>.
    let core: Target = .systemLibrary(name: "ReachCore", path: "Sources/ReachCore")
#else
    // iOS and macOS: every slice of the static library with the generated header and
    // module map, built by scripts/build-ios.sh (see README.md).
    let core: Target = .binaryTarget(name: "ReachCore", path: "ReachCore.xcframework")
#endif

let package = Package(
    name: "Reach",
    // iOS 13: BGTaskScheduler. The os.Logger sink is marked iOS 14 on its own.
    platforms: [.iOS(.v13), .macOS(.v10_15)],
    products: [
        .library(name: "Reach", targets: ["Reach"])
    ],
    targets: [
        core,
        .target(
            name: "ReachFFI",
            dependencies: ["ReachCore"],
            path: "Sources/ReachFFI",
            // Generated code is not ours to fix: it stays in Swift 5 mode, where
            // uniffi's output compiles cleanly. Everything hand-written is Swift 6.
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .target(
            name: "Reach",
            dependencies: ["ReachFFI"],
            path: "Sources/Reach",
            // Apple requires SDKs that collect data to ship a privacy manifest; Xcode
            // merges it into the app's privacy report. On Linux it is just a file.
            resources: [.copy("PrivacyInfo.xcprivacy")]
        ),
        .testTarget(
            name: "ReachTests",
            dependencies: ["Reach"],
            path: "Tests/ReachTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
