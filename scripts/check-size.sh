#!/usr/bin/env bash
# The library's size budget (issue 13): builds the cdylib as the mobile
# scripts build it (profile release-mobile, no bundled tz database) twice,
# with the built-in HTTPS transport and without it (for apps passing their own
# HttpTransport), strips copies of both and fails when either is over its
# budget. x86_64 stands in for arm64 (no NDK here).
#   bash scripts/check-size.sh            # build both, check, print the sizes
#   REACH_SIZE_TOP=25 bash scripts/check-size.sh   # also the 25 largest symbols
# The test command (scripts/test.sh) runs it. Exit 1 when over budget.
set -euo pipefail
cd "$(dirname "$0")/.."

# Budgets in bytes of the stripped library, what CI enforces: issue 13's
# targets. History (benches/README.md, "Size"): 4,647,792 / 2,905,712 on
# 2026-12-03, 4,903,024 / 3,166,416 on 2026-12-04 after issue 14's features,
# all built the way Cargo builds a `crate-type = ["lib", "cdylib",
# "staticlib"]` package; then, the same day, 3,797,760 / 2,464,864 once the
# mobile libraries were built alone with their own crate type, ICF, packed
# relocations and opt-level "z" (see `build` below), and chrono left the
# library (src/rfc3339.rs); 3,802,752 / 2,469,568 after the upload's shared
# texts (store/upload.rs).
# Lower a budget freely; raise one only with a reason in the commit.
BUDGET_DEFAULT=${REACH_BUDGET_DEFAULT:-4000000}
BUDGET_NO_TRANSPORT=${REACH_BUDGET_NO_TRANSPORT:-2500000}
TARGET_DEFAULT=4000000
TARGET_NO_TRANSPORT=2500000
command -v strip >/dev/null || { echo "check-size: strip not found: install binutils" >&2; exit 2; }

out=target/size
mkdir -p "$out"
# As scripts/build-android.sh builds it, with the host's linker flags for the
# same two things (x86_64 glibc takes RELR packing where Android 6+ takes its
# own "android" format):
# - `cargo rustc --crate-type cdylib`: the cdylib alone. When rustc builds the
#   crate types of Cargo.toml together, the `lib` (rlib) among them keeps
#   every public Rust symbol exported through LTO, so LTO cannot drop what
#   the FFI never reaches: 4,899,696 bytes that way, 4,070,808 alone (the
#   default build, measured 2026-12-04).
# - `--icf=all` folds identical functions (-20 KB) and packed relative
#   relocations shrink .rela.dyn (-60 KB).
build() {
  cargo rustc --quiet --profile release-mobile --lib -p reach --crate-type cdylib "$@" -- \
    -C link-arg=-Wl,--icf=all -C link-arg=-Wl,-z,pack-relative-relocs
}
build --no-default-features --features builtin-transport
cp target/release-mobile/libreach.so "$out/default.so"
# Same target dir: the dependencies both builds share (SQLite, serde, ...)
# compile once; each feature set keeps its own copy of the rest.
build --no-default-features
cp target/release-mobile/libreach.so "$out/no-transport.so"

status=0
check() {
  local name=$1 file=$2 budget=$3 target=$4
  cp "$file" "$file.stripped"
  strip "$file.stripped"
  local size
  size=$(stat -c %s "$file.stripped")
  if [ "$size" -le "$budget" ]; then
    printf 'check-size: %-13s %9d bytes stripped, budget %9d: ok (target %d: %+d)\n' "$name" "$size" "$budget" "$target" "$((size - target))"
  else
    printf 'check-size: %-13s %9d bytes stripped, budget %9d: OVER by %d\n' "$name" "$size" "$budget" "$((size - budget))"
    status=1
  fi
  if [ "${REACH_SIZE_TOP:-0}" -gt 0 ]; then
    { nm --size-sort --reverse-sort --radix=d -C "$file" || true; } | head -n "$REACH_SIZE_TOP" | sed "s/^/    /" || true
  fi
}
check default "$out/default.so" "$BUDGET_DEFAULT" "$TARGET_DEFAULT"
check no-transport "$out/no-transport.so" "$BUDGET_NO_TRANSPORT" "$TARGET_NO_TRANSPORT"
exit "$status"
