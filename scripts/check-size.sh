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

# Budgets in bytes of the stripped library: what CI enforces, the sizes
# measured on 2026-12-03 (4,647,792 and 2,905,712) plus ~2 %, so that growth
# fails the run; raised once the same day after issue 14's features (images
# offline, the local-notification fallback, server segments, personal text)
# measured 4,846,576 and 3,104,752: the new budgets are those plus ~1 %. Raised again on 2026-12-04 after issue 13's
# shared verdicts (the grouping keys link the rule types' Debug code), UUIDv7 messageIds and issue 14's test persons
# and preview measured 4,903,024 and 3,166,416: the budgets are those plus ~1 %. Issue 13's targets are lower
# (4.0 MB and 2.5 MB) and not met yet; the script prints how far each build is from its target.
# benches/README.md ("Size") has the figures and what is left to cut.
# Raise a budget only with a reason in the commit.
BUDGET_DEFAULT=${REACH_BUDGET_DEFAULT:-4950000}
BUDGET_NO_TRANSPORT=${REACH_BUDGET_NO_TRANSPORT:-3200000}
TARGET_DEFAULT=4000000
TARGET_NO_TRANSPORT=2500000
command -v strip >/dev/null || { echo "check-size: strip not found: install binutils" >&2; exit 2; }

out=target/size
mkdir -p "$out"
cargo build --quiet --profile release-mobile --lib -p reach --no-default-features --features builtin-transport
cp target/release-mobile/libreach.so "$out/default.so"
# Same target dir: the dependencies both builds share (SQLite, serde, ...)
# compile once; each feature set keeps its own copy of the rest.
cargo build --quiet --profile release-mobile --lib -p reach --no-default-features
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
