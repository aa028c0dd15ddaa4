#!/usr/bin/env bash
# Fuzzes every target in fuzz/ (cargo-fuzz, libFuzzer, nightly) for a bounded
# time each, seeded from tests/fixtures and fuzz/seeds, and fails on the
# first crash, leak, timeout or out-of-memory. The test command runs it as a
# smoke run; longer runs take the seconds per target as an argument
# (fuzz/README.md keeps their figures).
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 20 s, every target)
# Environment:
#   REACH_TOOLS   cache dir of installed tools (default ${XDG_CACHE_HOME:-$HOME/.cache}/reach-tools);
#                 cargo-fuzz is installed under it once (scripts/install-tools.sh does it too)
#   REACH_FUZZ_JOBS  libFuzzer -jobs/-workers for long runs (default 1)
# Exit: 0 no crash; 1 a crash (its input under fuzz/artifacts/TARGET/); 77 no nightly toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-20}
shift || true
REACH_TOOLS=${REACH_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/reach-tools}
CARGO_FUZZ_VERSION=0.13.2
CARGO_FUZZ_ROOT=$REACH_TOOLS/cargo-fuzz
TARGETS=(rule_pack track upload_answer pack_download claim_answer server_batch)
[ $# -gt 0 ] && TARGETS=("$@")

# cargo-fuzz needs nightly (-Zsanitizer); a toolchain is not fetched here.
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz: no nightly toolchain (rustup toolchain list): fuzzing SKIPPED" >&2
  exit 77
fi
if ! "$CARGO_FUZZ_ROOT/bin/cargo-fuzz" --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION into $CARGO_FUZZ_ROOT"
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" --root "$CARGO_FUZZ_ROOT" --quiet
fi
export PATH=$CARGO_FUZZ_ROOT/bin:$PATH

# Seeds: the fixtures the normal tests use, and fuzz/seeds' hand-made answers.
# The corpus (fuzz/corpus, not committed) grows across runs on one machine.
seed() { mkdir -p "fuzz/corpus/$1"; }
seed rule_pack && cp tests/fixtures/packs/*.json tests/fixtures/packs/invalid/*.json cli/templates/*.json \
  fuzz/corpus/rule_pack/ 2>/dev/null || true
seed server_batch && cp tests/fixtures/batches/*.json server/tests/fixtures/*.json fuzz/corpus/server_batch/
seed track
for t in upload_answer claim_answer pack_download; do seed "$t" && cp fuzz/seeds/"$t"/* "fuzz/corpus/$t/"; done
# A fixture pack as a signed 200 answer (mode 0, status 200, no headers).
for f in tests/fixtures/packs/0*.json; do
  { printf '\x00\xc8\x00\x00'; cat "$f"; } >"fuzz/corpus/pack_download/fixture-$(basename "$f")"
done

dict_for() {
  case $1 in
    rule_pack | pack_download) echo "-dict=fuzz/dicts/rule_pack.dict" ;;
    server_batch) echo "-dict=fuzz/dicts/batch.dict" ;;
  esac
}
# Larger inputs than libFuzzer's 4 KB default: packs and batches are tens of KB.
max_len_for() {
  case $1 in
    rule_pack | pack_download | server_batch) echo "-max_len=65536" ;;
    *) echo "-max_len=8192" ;;
  esac
}

cargo +nightly fuzz build >/dev/null 2>fuzz/build.log || { cat fuzz/build.log >&2; exit 1; }
rc=0 summary=()
for t in "${TARGETS[@]}"; do
  log=fuzz/$t.log
  start=$SECONDS
  # shellcheck disable=SC2046
  if cargo +nightly fuzz run "$t" "fuzz/corpus/$t" -- -max_total_time="$SECONDS_PER_TARGET" \
    -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 $(dict_for "$t") $(max_len_for "$t") \
    ${REACH_FUZZ_JOBS:+-jobs=$REACH_FUZZ_JOBS -workers=$REACH_FUZZ_JOBS} >"$log" 2>&1; then
    status=ok
  else
    status=CRASH rc=1
    grep -E "panicked|ERROR: libFuzzer|SUMMARY|Test unit written" "$log" | head -n 8 >&2 || true
  fi
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | paste -sd+ | bc 2>/dev/null || echo "?")
  corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
  summary+=("$(printf '%-14s %-5s %10s execs in %3d s, corpus %d' "$t" "$status" "$execs" $((SECONDS - start)) "$corpus")")
  echo "${summary[-1]}"
done
echo
echo "fuzz summary ($SECONDS_PER_TARGET s per target; logs in fuzz/TARGET.log):"
printf '  %s\n' "${summary[@]}"
exit $rc
