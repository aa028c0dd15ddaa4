// swift-tools-version:5.9
//
// Reach for Swift: three modules, as an app sees them.
//
//   ReachCore  (C)      the Rust core's C ABI: header + module map, with the compiled
//                      library (ReachCore.xcframework on Apple platforms, libreach.so
//                      on Linux).
//   ReachFFI  (Swift)  the uniffi-generated bindings. Generated, never committed:
//                      they must match the uniffi version the library was built with.
//                      `./prepare-package.sh` copies them into Sources/ReachFFI.
//   Reach     (Swift)  the hand-written, Foundation-only wrapper apps import.
//
// CI does not build this manifest (there is no SwiftPM run there):
// scripts/test-swift.sh compiles the same three modules with swiftc inside a Debian 13
// chroot. See README.md.

import PackageDescription

#if os(Linux)
    // Linux: the host-built libreach.so, through a system-library module map that
    // links it. Pass its directory when building: swift build -Xlinker -L<dir>.
    let core: Target = .systemLibrary(name: "ReachCore", path: "Sources/ReachCore")
#else
    // iOS and macOS: every slice of the static library with the generated header and
    // module map, built by the xcframework script (see README.md).
    let core: Target = .binaryTarget(name: "ReachCore", path: "ReachCore.xcframework")
#endif

let package = Package(
    name: "Reach",
    platforms: [.iOS(.v13), .macOS(.v10_15)],
    products: [
        .library(name: "Reach", targets: ["Reach"])
    ],
    targets: [
        core,
        .target(
            name: "ReachFFI",
            dependencies: ["ReachCore"],
            path: "Sources/ReachFFI"
        ),
        .target(
            name: "Reach",
            dependencies: ["ReachFFI"],
            path: "Sources/Reach"
        ),
        // A plain executable, not an XCTest bundle: it runs the same way on Linux
        // (where XCTest is not always available) and prints `N passed, N failed`.
        .executableTarget(
            name: "ReachTests",
            dependencies: ["Reach"],
            path: "Tests/ReachTests"
        ),
    ]
)
