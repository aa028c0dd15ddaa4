#!/usr/bin/env bash
# Runs every test of the project: formatting, clippy, the Rust tests, and the
# Kotlin (JVM), Python and Swift (Debian 13 chroot) binding tests against the
# host-built library, and the Android and iOS layers type-checked against the wrapper.
# Installs what it needs first (cached outside the clone).
# This is the README's test command; .ci/run calls it.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0 failures=()
step() { printf '\n==> %s\n' "$*"; }
suite() {
  local name=$1; shift
  step "$name"
  local start=$SECONDS rc=0
  "$@" || rc=$?
  if [ "$rc" = 0 ]; then
    passed=$((passed + 1)); echo "--- $name: passed ($((SECONDS - start)) s)"
  elif [ "$rc" = 77 ] && [ "${CI:-}" = true ]; then
    # CI machines can run every suite: a skip there is a suite that stopped running.
    failed=$((failed + 1)); failures+=("$name (skipped, not allowed with CI=true)")
    echo "--- $name: FAILED: SKIPPED (exit 77) is not allowed with CI=true ($((SECONDS - start)) s)"
  elif [ "$rc" = 77 ]; then
    skipped=$((skipped + 1)); echo "--- $name: SKIPPED ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "--- $name: FAILED with exit code $rc ($((SECONDS - start)) s)"
  fi
}

# The disk is shared with other machines' work and its free space varies: say
# how much there is, so a run that fails on a full disk says why at the top.
free_mb() { df -Pm . | awk 'NR == 2 { print $4 }'; }
echo "disk: $(free_mb) MB free where the build writes ($(df -P . | awk 'NR == 2 { print $6 }'))"
[ "$(free_mb)" -lt "${REACH_MIN_FREE_MB:-6000}" ] &&
  echo "WARNING: under ${REACH_MIN_FREE_MB:-6000} MB free; a full run (target/ and fuzz/target/) takes ~4,500 MB (2026-12-04)"

step "install tools"
bash scripts/install-tools.sh || { echo "tool installation failed"; exit 1; }

# A clean clone (CI) never rebuilds incrementally: the incremental caches
# would only take disk.
[ "${CI:-}" = true ] && export CARGO_INCREMENTAL=0

# The server's PostgreSQL tests skip without PostgreSQL; here its absence is a failure, never a skip.
export REACH_REQUIRE_PG=1
suite "cargo fmt --check" cargo fmt --all -- --check
suite "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings
suite "Rust tests" cargo test --workspace
suite "Rust tests without the built-in transport" \
  cargo test -p reach --no-default-features --test without_builtin_transport
suite "library size (scripts/check-size.sh)" bash scripts/check-size.sh
# Every fuzz target for 20 s (~2.5 min warm; the first build of fuzz/ adds ~3 min).
suite "Fuzz smoke (cargo-fuzz, nightly)" bash scripts/fuzz.sh 20
step "generate bindings"
bash scripts/build-bindings.sh || { echo "binding generation failed"; exit 1; }
export REACH_SKIP_BUILD=1
suite "Kotlin tests (JVM)" bash scripts/test-kotlin.sh
# The Android module and sample, type-checked against the wrapper with SDK stand-ins (no SDK here).
suite "Android layer against the wrapper (kotlinc, SDK stand-ins)" bash scripts/check-android-layer.sh
suite "Python tests" bash scripts/test-python.sh
suite "Swift tests (Debian 13 chroot)" bash scripts/test-swift.sh
# The iOS-only Swift (SystemLog, BGTaskScheduler glue, ios-sample) type-checked with stand-ins.
suite "iOS layer against the wrapper (swiftc -typecheck, SDK stand-ins)" bash scripts/check-ios-layer.sh

echo
echo "disk: $(free_mb) MB free at the end"
if [ "$skipped" -gt 0 ]; then
  echo "WARNING: $skipped suite(s) SKIPPED (see above); they did not pass."
fi
[ "$failed" -gt 0 ] && echo "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
