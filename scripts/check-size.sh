#!/usr/bin/env bash
# The library's size budget (issue 13): builds the release cdylib twice, with
# the default features (the built-in HTTPS transport) and without them (for
# apps passing their own HttpTransport), strips copies of both and fails when
# either is over its budget. x86_64 stands in for arm64 (no NDK here).
#   bash scripts/check-size.sh            # build both, check, print the sizes
#   REACH_SIZE_TOP=25 bash scripts/check-size.sh   # also the 25 largest symbols
# The test command (scripts/test.sh) runs it. Exit 1 when over budget.
set -euo pipefail
cd "$(dirname "$0")/.."

# Budgets in bytes of the stripped library. Why these numbers: issue 13 and
# benches/README.md ("Size"); raise one only with a reason in the commit.
BUDGET_DEFAULT=${REACH_BUDGET_DEFAULT:-4000000}
BUDGET_NO_TRANSPORT=${REACH_BUDGET_NO_TRANSPORT:-2500000}
command -v strip >/dev/null || { echo "check-size: strip not found: install binutils" >&2; exit 2; }

out=target/size
mkdir -p "$out"
# The no-transport build goes to its own target dir: the same profile with
# other features would otherwise overwrite target/release/libreach.so, which
# the benches and the binding generator read.
cargo build --quiet --release --lib -p reach
cp target/release/libreach.so "$out/default.so"
CARGO_TARGET_DIR=target/size-no-transport cargo build --quiet --release --lib -p reach --no-default-features
cp target/size-no-transport/release/libreach.so "$out/no-transport.so"

status=0
check() {
  local name=$1 file=$2 budget=$3
  cp "$file" "$file.stripped"
  strip "$file.stripped"
  local size
  size=$(stat -c %s "$file.stripped")
  if [ "$size" -le "$budget" ]; then
    printf 'check-size: %-13s %9d bytes stripped, budget %9d: ok\n' "$name" "$size" "$budget"
  else
    printf 'check-size: %-13s %9d bytes stripped, budget %9d: OVER by %d\n' "$name" "$size" "$budget" "$((size - budget))"
    status=1
  fi
  if [ -n "${REACH_SIZE_TOP:-}" ]; then
    nm --size-sort --reverse-sort --radix=d -C "$file" | head -n "$REACH_SIZE_TOP" | sed 's/^/    /'
  fi
}
check default "$out/default.so" "$BUDGET_DEFAULT"
check no-transport "$out/no-transport.so" "$BUDGET_NO_TRANSPORT"
exit "$status"
