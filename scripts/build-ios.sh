#!/usr/bin/env bash
# Builds bindings/swift/ReachCore.xcframework (and a zip with its SwiftPM checksum) for the
# Swift package's binary target. Runs only on a Mac with Xcode:
#   scripts/build-ios.sh
#
#  1. static libraries (cargo rustc --profile release-mobile --lib --crate-type staticlib, without the bundled tz database) for aarch64-apple-ios (devices),
#     aarch64-apple-ios-sim and x86_64-apple-ios (simulators on Apple silicon and Intel);
#  2. the bundled SQLite made private to each library (below);
#  3. the two simulator slices joined with lipo;
#  4. the Swift bindings generated from the device library (uniffi library mode reads the
#     metadata out of the archive), copied into bindings/swift/Sources by prepare-package.sh;
#  5. xcodebuild -create-xcframework with the generated header and its module map;
#  6. ReachCore.xcframework.zip and its `swift package compute-checksum`, for a
#     .binaryTarget(url:checksum:) in a release manifest.
#
# Why SQLite is localized: rusqlite's `bundled` feature compiles SQLite into the archive
# with ordinary global symbols, and every iOS app also links the system libsqlite3 (through
# CoreData, Firebase, GRDB...). The app's static link would then bind the app's sqlite3_*
# references to our copy, or ours to the system's: whichever the linker meets first, with a
# crash at launch on an OS whose SQLite lacks a function the other copy has. Compiling SQLite
# with hidden visibility (LIBSQLITE3_FLAGS=-DSQLITE_API=...) does not prevent this: hidden
# ("private extern") symbols of a static library still take part in the app's static link.
# So, as matrix-rust-sdk does, the objects that define or use sqlite3_* are merged with
# `ld -r -unexported_symbols_list`, which binds their references to each other and turns the
# definitions into local symbols; the rest of the archive is left as it was. The script then
# checks that no sqlite3_* symbol is still exported.
set -euo pipefail

# On anything but a Mac with Xcode: one line, before anything is built.
if [ "$(uname -s)" != Darwin ] || ! command -v xcodebuild >/dev/null 2>&1 ||
  ! xcodebuild -version >/dev/null 2>&1; then
  echo "build-ios.sh: needs macOS with Xcode (xcodebuild not found); nothing was built" >&2
  exit 1
fi

cd "$(dirname "$0")/.."
root=$PWD

DEVICE=aarch64-apple-ios
SIMULATORS=(aarch64-apple-ios-sim x86_64-apple-ios)
# Matches Package.swift's `platforms: [.iOS(.v13)]` (BGTaskScheduler's first release).
export IPHONEOS_DEPLOYMENT_TARGET=13.0
# The symbols kept private to Reach, as ld -unexported_symbols_list patterns.
PRIVATE_SYMBOLS='_sqlite3_*'

out=$root/target/ios
headers=$out/headers
framework=$root/bindings/swift/ReachCore.xcframework
rm -rf "$out" "$framework" "$framework.zip"
mkdir -p "$out" "$headers"

step() { echo "build-ios: $*"; }

step "rust targets"
rustup target add "$DEVICE" "${SIMULATORS[@]}" >/dev/null

for t in "$DEVICE" "${SIMULATORS[@]}"; do
  step "cargo rustc --profile release-mobile --lib --crate-type staticlib --target $t"
  # iOS ships the IANA time zones (/usr/share/zoneinfo): no bundled copy.
  # The static library alone, not the crate types of Cargo.toml together:
  # the rlib among them keeps LTO from dropping what the FFI never reaches
  # (scripts/check-size.sh). The app's linker folds identical code itself.
  cargo rustc --quiet --profile release-mobile --lib -p reach --target "$t" \
    --crate-type staticlib --no-default-features --features builtin-transport
done

# Makes $PRIVATE_SYMBOLS local to the archive $1 (see the header).
localize_sqlite() {
  local lib=$1 work members crates
  work=$(mktemp -d "$out/localize.XXXXXX")
  printf '%s\n' "$PRIVATE_SYMBOLS" >"$work/private.txt"
  # Every member of a crate that defines or references sqlite3_*: a crate's codegen units
  # share hidden symbols that could not bind across the merge. Objects that do not come
  # from a crate (SQLite's own sqlite3.o) count as their own "crate".
  crates=$(nm -A -g "$lib" 2>/dev/null | awk '$NF ~ /^_sqlite3_/ { print $1 }' |
    sed -E 's/^[^:]*:([^:]*):.*/\1/' | sed -E 's/^([^-]+)-[0-9a-f]{16}\..*/\1/' | sort -u)
  [ -n "$crates" ] || { echo "build-ios: no object uses sqlite3_* in $lib" >&2; exit 1; }
  members=$(ar t "$lib" | while read -r m; do
    c=$(echo "$m" | sed -E 's/^([^-]+)-[0-9a-f]{16}\..*/\1/')
    grep -qxF "$c" <<<"$crates" && echo "$m"
  done)
  (cd "$work" && echo "$members" | xargs ar x "$lib")
  while read -r m; do
    [ -f "$work/$m" ] || { echo "build-ios: $m was not extracted from $lib" >&2; exit 1; }
  done <<<"$members"
  cp "$lib" "$work/remainder.a"
  echo "$members" | xargs ar d "$work/remainder.a"
  (cd "$work" && echo "$members" | xargs ld -r -unexported_symbols_list private.txt -o merged.o)
  libtool -static -no_warning_for_no_symbols -o "$lib" "$work/merged.o" "$work/remainder.a"
  rm -rf "$work"
  if nm -g "$lib" 2>/dev/null | grep -E ' [TDBS] _sqlite3_' >/dev/null; then
    echo "build-ios: sqlite3_* is still exported from $lib" >&2
    exit 1
  fi
}

step "bindings (uniffi library mode, from the device library)"
cargo build --quiet -p uniffi-bindgen
rm -rf target/bindings/swift
target/debug/uniffi-bindgen generate --no-format --library "target/$DEVICE/release-mobile/libreach.a" \
  --language swift --out-dir target/bindings/swift >/dev/null
cp target/bindings/swift/ReachCore.h "$headers/"
# The xcframework's headers folder needs the module map under this exact name.
cp target/bindings/swift/ReachCore.modulemap "$headers/module.modulemap"
REACH_SKIP_BUILD=1 bash bindings/swift/prepare-package.sh >/dev/null

for t in "$DEVICE" "${SIMULATORS[@]}"; do
  step "localize SQLite in $t"
  localize_sqlite "target/$t/release-mobile/libreach.a"
done

step "lipo ${SIMULATORS[*]}"
mkdir -p "$out/ios-simulator"
sim_libs=()
for t in "${SIMULATORS[@]}"; do sim_libs+=("target/$t/release-mobile/libreach.a"); done
lipo -create "${sim_libs[@]}" -output "$out/ios-simulator/libreach.a"

step "xcodebuild -create-xcframework"
xcodebuild -create-xcframework \
  -library "target/$DEVICE/release-mobile/libreach.a" -headers "$headers" \
  -library "$out/ios-simulator/libreach.a" -headers "$headers" \
  -output "$framework" >/dev/null

step "zip and checksum"
(cd bindings/swift && ditto -c -k --sequesterRsrc --keepParent ReachCore.xcframework \
  ReachCore.xcframework.zip)
checksum=$(cd bindings/swift && swift package compute-checksum ReachCore.xcframework.zip)
echo "$checksum" >bindings/swift/ReachCore.xcframework.zip.checksum
step "done: bindings/swift/ReachCore.xcframework"
step "      bindings/swift/ReachCore.xcframework.zip (checksum $checksum)"
