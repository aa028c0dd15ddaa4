#!/usr/bin/env bash
# Type-checks the iOS-only Swift without Xcode, in the Debian 13 chroot (scripts/swift-chroot-run.sh):
#   - bindings/swift/Sources/Reach (the whole Reach module, Swift 6, warnings as errors) with
#     SystemLog.swift and the BGTaskScheduler part of BackgroundUpload.swift, which Linux
#     builds leave out (`canImport(os)`, `os(iOS)`), compiled in against stand-ins for `os`
#     and BackgroundTasks (tests/ios-stubs);
#   - ios-sample/ReachSample/*.swift (Swift 6, complete concurrency checking, as project.yml
#     sets) against that real Reach module, the generated ReachFFI, and SwiftUI and
#     UserNotifications stand-ins.
# It also checks that PrivacyInfo.xcprivacy is a Reach resource in Package.swift and a valid
# property list with a reason for each API it declares.
# A Reach call the wrapper does not have, a wrong label or type, fails here. The stand-ins
# declare only what those files use; SwiftUI layout, the app's Info.plist and behaviour on a
# device are not covered (they need Xcode).
#
# Exit code: 0 all type-check, 1 a file does not, 2 missing inputs, 77 SKIPPED (no chroot,
# as scripts/test-swift.sh; with CI=true a skip is a failure).
#
# Environment:
#   REACH_SKIP_BUILD=1 use target/bindings/swift as it is (else scripts/build-bindings.sh runs)
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "check-ios-layer: ERROR: $*" >&2; exit 2; }
if [ "${REACH_SKIP_BUILD:-0}" != 1 ]; then bash scripts/build-bindings.sh; fi
gen=target/bindings/swift
for f in "$gen/ReachFFI.swift" "$gen/ReachCore.h"; do
  [ -f "$f" ] || die "missing $f (run scripts/build-bindings.sh)"
done

# The privacy manifest: a resource of the Reach target, and a property list Xcode can read with
# the keys Apple's privacy report needs.
manifest=bindings/swift/Sources/Reach/PrivacyInfo.xcprivacy
grep -qF '.copy("PrivacyInfo.xcprivacy")' bindings/swift/Package.swift ||
  { echo "check-ios-layer: FAILED: Package.swift does not list PrivacyInfo.xcprivacy as a resource of Reach" >&2; exit 1; }
python3 - "$manifest" <<'PY' || exit 1
import plistlib, sys
try:
    d = plistlib.load(open(sys.argv[1], "rb"))
except Exception as e:
    sys.exit(f"check-ios-layer: FAILED: {sys.argv[1]} is not a valid property list: {e}")
missing = [k for k in ("NSPrivacyTracking", "NSPrivacyCollectedDataTypes", "NSPrivacyAccessedAPITypes") if k not in d]
if missing:
    sys.exit(f"check-ios-layer: FAILED: {sys.argv[1]} lacks {missing}")
for t in d["NSPrivacyAccessedAPITypes"]:
    if not t.get("NSPrivacyAccessedAPITypeReasons"):
        sys.exit(f"check-ios-layer: FAILED: {t.get('NSPrivacyAccessedAPIType')} has no reason")
print("check-ios-layer: privacy manifest parses: collects",
      ", ".join(t["NSPrivacyCollectedDataType"] for t in d["NSPrivacyCollectedDataTypes"]),
      "; APIs", ", ".join(t["NSPrivacyAccessedAPIType"] for t in d["NSPrivacyAccessedAPITypes"]))
PY

build=target/ios-check
rm -rf "$build"
mkdir -p "$build/stubs" "$build/ReachCore" "$build/Reach" "$build/sample"
cp tests/ios-stubs/*.swift "$build/stubs/"
cp bindings/swift/Sources/ReachCore/module.modulemap "$gen/ReachCore.h" "$build/ReachCore/"
cp "$gen/ReachFFI.swift" "$build/"
cp bindings/swift/Sources/Reach/*.swift "$build/Reach/"
cp ios-sample/ReachSample/*.swift "$build/sample/"
# The BGTaskScheduler glue is iOS-only; on Linux its condition is false whatever is importable.
# Only the platform half of the condition is dropped, so a changed condition fails here.
ios_only='#if canImport(BackgroundTasks) && os(iOS)'
grep -qxF "$ios_only" "$build/Reach/BackgroundUpload.swift" ||
  die "BackgroundUpload.swift no longer has the line '$ios_only': update this script"
sed -i "s/^#if canImport(BackgroundTasks) \&\& os(iOS)\$/#if canImport(BackgroundTasks)/" "$build/Reach/BackgroundUpload.swift"

# shellcheck disable=SC2016 # expanded by the bash inside the chroot
command='
set -uo pipefail
m=/build/modules
mkdir -p "$m"
status=0
step() {
  local what=$1; shift
  echo "check-ios-layer: $what"
  "$@" || { echo "check-ios-layer: FAILED: $what"; status=1; return 1; }
}
for stub in os BackgroundTasks SwiftUI UserNotifications; do
  step "stand-in $stub" swiftc -parse-as-library -swift-version 6 -emit-module -module-name "$stub" \
    -emit-module-path "$m/$stub.swiftmodule" "stubs/$stub.swift" || exit 1
done
# Generated: Swift 5 mode, as Package.swift builds it.
step "ReachFFI (generated)" swiftc -parse-as-library -swift-version 5 -emit-module -module-name ReachFFI \
  -I ReachCore -emit-module-path "$m/ReachFFI.swiftmodule" ReachFFI.swift || exit 1
step "Reach module with SystemLog.swift and the BGTaskScheduler glue" \
  swiftc -parse-as-library -swift-version 6 -warnings-as-errors -emit-module -module-name Reach \
  -I "$m" -I ReachCore -emit-module-path "$m/Reach.swiftmodule" Reach/*.swift || exit 1
# -D DEBUG: the debug build, a superset of the release one (the QA preview hook).
step "ios-sample against Reach (Swift 6, complete concurrency checking, debug)" \
  swiftc -parse-as-library -swift-version 6 -strict-concurrency=complete -warnings-as-errors -typecheck -D DEBUG \
  -module-name ReachSample -I "$m" -I ReachCore sample/*.swift
exit "$status"
'
status=0
scripts/swift-chroot-run.sh "$build" -- "$command" || status=$?
case $status in
  0) echo "check-ios-layer: the Reach module (with its iOS-only files) and ios-sample type-check" ;;
  77)
    if [ "${CI:-}" = true ]; then
      echo "check-ios-layer: FAILED: SKIPPED (exit 77) and CI=true does not allow a skip" >&2
      status=1
    else
      echo "check-ios-layer: SKIPPED (exit 77, see the banner above)" >&2
    fi ;;
  *) echo "check-ios-layer: FAILED (exit $status)" >&2 ;;
esac
exit "$status"
