#!/usr/bin/env bash
# Builds and runs the Swift wrapper's tests against the real libreach.so:
#   scripts/test-swift.sh            # regenerates bindings first
#   REACH_SKIP_BUILD=1 scripts/test-swift.sh   # reuses target/debug + target/bindings/swift
#
# Swift 6 runs only inside the Debian 13 chroot (see scripts/swift-chroot-run.sh),
# so this script assembles target/swift-build/ and compiles and runs everything in
# ONE chroot call (each call replaces /build). Three modules, as an app gets them:
#   ReachFFI  the generated uniffi code (Swift 5 mode: it is not ours to fix)
#   Reach     the hand-written wrapper, bindings/swift/Sources/Reach (Swift 6 mode,
#             warnings are errors)
#   reach-tests  bindings/swift/Tests/ReachTests/main.swift, importing Reach
#
# Exit code: the tests' (0 = all passed), 77 = SKIPPED (no chroot, not root, mount or
# chroot refused; a loud banner is printed). Callers must report 77 as skipped, never
# as passed. With CI=true a skip is a failure (exit 1): CI machines can run the suite,
# so a skip there means it silently stopped running; only a local run may skip.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${REACH_SKIP_BUILD:-0}" != 1 ]; then
  bash scripts/build-bindings.sh
fi

gen=target/bindings/swift
lib=target/debug/libreach.so
for f in "$gen/ReachFFI.swift" "$gen/ReachCore.h" "$gen/ReachCore.modulemap" "$lib"; do
  [ -f "$f" ] || { echo "$0: missing $f (run scripts/build-bindings.sh)" >&2; exit 2; }
done

build=target/swift-build
rm -rf "$build"
mkdir -p "$build/Sources" "$build/Tests"
cp "$gen/ReachFFI.swift" "$gen/ReachCore.h" "$gen/ReachCore.modulemap" "$lib" "$build/"
cp -R bindings/swift/Sources/Reach "$build/Sources/"
cp -R bindings/swift/Tests/ReachTests "$build/Tests/"

# Runs in the chroot with cwd /build and LD_LIBRARY_PATH=/build: every library is
# written to /build, so the test binary finds libReach, libReachFFI and libreach.
# The module map path must be absolute.
# shellcheck disable=SC2016 # expanded by the bash inside the chroot
command='
set -euo pipefail
FFI="-Xcc -fmodule-map-file=/build/ReachCore.modulemap -I /build -L /build"
step() { echo "swift-build: $1"; }
t0=$(date +%s)
step "module ReachFFI (generated)"
swiftc -parse-as-library -module-name ReachFFI -emit-library -emit-module \
  -emit-module-path ReachFFI.swiftmodule $FFI -lreach ReachFFI.swift -o libReachFFI.so
step "module Reach (wrapper)"
swiftc -swift-version 6 -warnings-as-errors -parse-as-library -module-name Reach \
  -emit-library -emit-module -emit-module-path Reach.swiftmodule $FFI -lReachFFI -lreach \
  Sources/Reach/*.swift -o libReach.so
step "reach-tests"
swiftc -swift-version 6 -warnings-as-errors -module-name ReachTests $FFI \
  -lReach -lReachFFI -lreach Tests/ReachTests/main.swift -o reach-tests
t1=$(date +%s)
echo "swift-build: compiled in $((t1 - t0)) s"
./reach-tests
'

start=$(date +%s)
status=0
scripts/swift-chroot-run.sh "$build" -- "$command" || status=$?
end=$(date +%s)
case $status in
  0) echo "test-swift: PASSED in $((end - start)) s" ;;
  77)
    if [ "${CI:-}" = true ]; then
      echo "test-swift: FAILED: the suite was SKIPPED (exit 77, see the banner above) and CI=true does not allow a skip" >&2
      status=1
    else
      echo "test-swift: SKIPPED (exit 77, see the banner above)" >&2
    fi ;;
  *) echo "test-swift: FAILED (exit $status) after $((end - start)) s" >&2 ;;
esac
exit "$status"
