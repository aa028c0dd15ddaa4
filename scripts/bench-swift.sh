#!/usr/bin/env bash
# What a Swift caller pays per Reach call (issue 15), in the Debian 13 chroot:
#   scripts/bench-swift.sh
# Builds the release library (cargo build --release: minutes when cold) and the bindings,
# compiles ReachFFI, the Reach wrapper and benches/swift/main.swift with -O, and prints
# p50 / p99 per row (3 repeats of 20,000 calls). Not run by CI: timings on a shared
# machine are not a pass/fail signal.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet --release --lib -p reach
cargo build --quiet -p uniffi-bindgen
gen=target/bindings/swift-release
rm -rf "$gen"
target/debug/uniffi-bindgen generate --no-format --library target/release/libreach.so --language swift \
  --out-dir "$gen" >/dev/null

build=target/swift-bench
rm -rf "$build"
mkdir -p "$build/Sources"
cp "$gen/ReachFFI.swift" "$gen/ReachCore.h" "$gen/ReachCore.modulemap" target/release/libreach.so "$build/"
cp bindings/swift/Sources/Reach/*.swift "$build/Sources/"
cp benches/swift/main.swift "$build/"

# shellcheck disable=SC2016 # expanded by the bash inside the chroot
command='
set -euo pipefail
FFI="-Xcc -fmodule-map-file=/build/ReachCore.modulemap -I /build -L /build"
swiftc -O -parse-as-library -module-name ReachFFI -emit-library -emit-module \
  -emit-module-path ReachFFI.swiftmodule $FFI -lreach ReachFFI.swift -o libReachFFI.so
swiftc -O -swift-version 6 -parse-as-library -module-name Reach -emit-library -emit-module \
  -emit-module-path Reach.swiftmodule $FFI -lReachFFI -lreach Sources/*.swift -o libReach.so
swiftc -O -swift-version 6 -module-name Bench $FFI -lReach -lReachFFI -lreach main.swift -o bench
./bench
'
scripts/swift-chroot-run.sh "$build" -- "$command"
