#!/usr/bin/env bash
# Builds libreach.so for the Android ABIs into the library module's jniLibs
# (bindings/kotlin/android/src/main/jniLibs/<abi>/) and generates the Kotlin
# bindings from the built library in library mode (target/bindings/kotlin),
# which the module compiles beside the wrapper. Runs on a developer's machine:
# it needs the Android NDK, cargo-ndk and the four Rust Android targets, and
# stops before building anything, with one line naming what is missing, when
# one of them is not there (tests/build_android_script.rs checks that line).
#
# Environment:
#   ANDROID_NDK_HOME / ANDROID_NDK_ROOT  the NDK; else the newest NDK under
#                      $ANDROID_HOME/ndk (or $ANDROID_SDK_ROOT/ndk), where
#                      Android Studio's SDK Manager installs it
#   REACH_ANDROID_ABIS space-separated subset of the ABIs, e.g. "arm64-v8a"
#                      for a quicker build against one device
set -euo pipefail
cd "$(dirname "$0")/.."

missing() { echo "build-android.sh: $*" >&2; exit 1; }

# The ABIs every current device and emulator runs; x86 is cheap to add and
# still found on older emulator images. minSdk of the module is 23.
all_abis="arm64-v8a armeabi-v7a x86_64 x86"
abis=${REACH_ANDROID_ABIS:-$all_abis}
api_level=23
# Size-tuned release build for the APK (Cargo.toml explains the profile).
profile=release-mobile

triple_of() {
  case $1 in
    arm64-v8a) echo aarch64-linux-android ;;
    armeabi-v7a) echo armv7-linux-androideabi ;;
    x86_64) echo x86_64-linux-android ;;
    x86) echo i686-linux-android ;;
  esac
}
for abi in $abis; do
  case " $all_abis " in
    *" $abi "*) ;;
    *) missing "unknown ABI '$abi' in REACH_ANDROID_ABIS (known: $all_abis)" ;;
  esac
done

# --- Preflight: every check stops at once, before anything is built. ---------
ndk=${ANDROID_NDK_HOME:-${ANDROID_NDK_ROOT:-}}
if [ -z "$ndk" ]; then
  sdk=${ANDROID_HOME:-${ANDROID_SDK_ROOT:-}}
  if [ -n "$sdk" ] && [ -d "$sdk/ndk" ]; then
    ndk=$(find "$sdk/ndk" -mindepth 1 -maxdepth 1 -type d | sort -V | tail -n 1)
  fi
fi
if [ -z "$ndk" ] || [ ! -d "$ndk/toolchains/llvm/prebuilt" ]; then
  missing "Android NDK not found${ndk:+ at $ndk}: install it (Android Studio > SDK Manager > SDK Tools > NDK (Side by side), or sdkmanager \"ndk;27.2.12479018\") and set ANDROID_NDK_HOME to its directory"
fi
export ANDROID_NDK_HOME=$ndk
command -v cargo-ndk >/dev/null 2>&1 ||
  missing "cargo-ndk not found on PATH: install it with 'cargo install cargo-ndk'"
wanted=()
for abi in $abis; do wanted+=("$(triple_of "$abi")"); done
command -v rustup >/dev/null 2>&1 ||
  missing "rustup not found: the Android targets (${wanted[*]}) are added with rustup; install it from rustup.rs"
installed=$(rustup target list --installed)
absent=()
for t in "${wanted[@]}"; do grep -qx "$t" <<<"$installed" || absent+=("$t"); done
[ ${#absent[@]} -eq 0 ] ||
  missing "Rust targets missing: ${absent[*]}: install them with 'rustup target add ${absent[*]}'"
# The NDK's strip, for the copies that go into the APK (see below).
strip_tool=$(find "$ndk/toolchains/llvm/prebuilt" -maxdepth 3 -name llvm-strip -type f | head -n 1)
[ -n "$strip_tool" ] || missing "llvm-strip not found under $ndk/toolchains/llvm/prebuilt: the NDK looks incomplete, reinstall it"

# --- Build. -------------------------------------------------------------------
jni=bindings/kotlin/android/src/main/jniLibs
rm -rf "$jni"
first_lib=
for abi in $abis; do
  triple=$(triple_of "$abi")
  echo "build-android.sh: $abi ($triple, API $api_level)"
  # The cdylib alone (`rustc --crate-type cdylib`, not the crate types of
  # Cargo.toml together: the rlib among them keeps LTO from dropping what the
  # FFI never reaches), identical functions folded, relocations packed in the
  # format Android reads from API 23: scripts/check-size.sh measures the same
  # build on the host.
  cargo ndk --target "$abi" --platform "$api_level" rustc --quiet --lib -p reach --profile "$profile" \
    --crate-type cdylib --no-default-features --features builtin-transport -- \
    -C link-arg=-Wl,--icf=all -C link-arg=-Wl,--pack-dyn-relocs=android
  lib=target/$triple/$profile/libreach.so
  mkdir -p "$jni/$abi"
  # Stripped on the way into jniLibs, not by the profile: uniffi-bindgen reads
  # the UNIFFI_META_* symbols of the unstripped library below, and a stripped
  # ELF library has none (bindgen then generates nothing).
  "$strip_tool" --strip-unneeded -o "$jni/$abi/libreach.so" "$lib"
  first_lib=${first_lib:-$lib}
done

# --- Bindings, from the library the APK ships (any ABI: the metadata is the
# same), with the uniffi version the library was built with. --------------------
cargo build --quiet -p uniffi-bindgen
rm -rf target/bindings/kotlin
target/debug/uniffi-bindgen generate --no-format --library "$first_lib" --language kotlin \
  --out-dir target/bindings/kotlin >/dev/null
echo "build-android.sh: $(find "$jni" -name libreach.so | wc -l) libraries in $jni, Kotlin bindings in target/bindings/kotlin (from $first_lib)"
