#!/usr/bin/env bash
# Builds the Swift package (bindings/swift/Package.swift) with SwiftPM and runs its XCTest
# suite against the real libreach.so:
#   scripts/test-swift.sh                      # regenerates bindings first
#   REACH_SKIP_BUILD=1 scripts/test-swift.sh   # reuses target/debug + target/bindings/swift
#
# Swift 6 runs only inside the Debian 13 chroot (see scripts/swift-chroot-run.sh), so this
# script assembles the package in target/swift-build/ (the committed sources, the generated
# ReachFFI.swift and ReachCore.h, and lib/libreach.so) and runs, in ONE chroot call:
#   swift build --build-tests   the manifest itself is checked: ReachFFI in Swift 5 mode
#                               (generated), Reach and the tests in Swift 6 mode, warnings
#                               are errors everywhere
#   swift test --skip-build     XCTest, against libreach.so on temporary data directories
# The last line is `N passed, N failed`, counted from XCTest's own summary.
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
for f in "$gen/ReachFFI.swift" "$gen/ReachCore.h" "$lib"; do
  [ -f "$f" ] || { echo "$0: missing $f (run scripts/build-bindings.sh)" >&2; exit 2; }
done

build=target/swift-build
rm -rf "$build"
mkdir -p "$build/lib"
# cp -p keeps modification times, so SwiftPM's build directory (kept in the chroot between
# runs, below) rebuilds only what changed.
cp -pR bindings/swift/Package.swift bindings/swift/Sources bindings/swift/Tests "$build/"
mkdir -p "$build/Sources/ReachFFI"
cp -p "$gen/ReachFFI.swift" "$build/Sources/ReachFFI/"
cp -p "$gen/ReachCore.h" "$build/Sources/ReachCore/"
cp -p "$lib" "$build/lib/"

# Runs in the chroot with cwd /build. SwiftPM's scratch directory lives outside /build
# (which is replaced on every run) so that a second run is incremental.
# shellcheck disable=SC2016 # expanded by the bash inside the chroot
command='
set -uo pipefail
export LD_LIBRARY_PATH=/build/lib
scratch=/root/reach-swiftpm
flags=(--scratch-path "$scratch" -Xswiftc -warnings-as-errors -Xlinker -L/build/lib)
t0=$(date +%s)
echo "swift-build: swift build --build-tests (Swift 6 language mode, warnings as errors)"
build_status=0
swift build --build-tests "${flags[@]}" >/tmp/swift-build.log 2>&1 || build_status=$?
grep -v "^\[[0-9]*/[0-9]*\] " /tmp/swift-build.log || true
if [ "$build_status" != 0 ]; then
  echo "swift-build: FAILED (exit $build_status)"
  echo "0 passed, 1 failed"
  exit 1
fi
t1=$(date +%s)
echo "swift-build: built in $((t1 - t0)) s"
rm -rf /tmp/reach-swift-tests-*
swift test --skip-build "${flags[@]}" 2>&1 | tee /tmp/swift-test.log
status=${PIPESTATUS[0]}
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?" /tmp/swift-test.log | tail -n 1)
total=$(echo "$summary" | sed -E "s/^[[:space:]]*Executed ([0-9]+) tests?.*/\1/")
failed=$(echo "$summary" | sed -E "s/.*with ([0-9]+) failures?.*/\1/")
if [ -z "$summary" ]; then
  echo "swift-test: no XCTest summary (crash?), exit $status"
  echo "0 passed, 1 failed"
  exit 1
fi
[ "$status" = 0 ] || [ "$failed" != 0 ] || failed=1
echo "$((total - failed)) passed, $failed failed"
exit "$status"
'

start=$(date +%s)
status=0
scripts/swift-chroot-run.sh "$build" -- "$command" || status=$?
end=$(date +%s)
case $status in
  0) echo "test-swift: PASSED in $((end - start)) s" >&2 ;;
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
