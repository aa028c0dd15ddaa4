#!/usr/bin/env bash
# What a Kotlin app pays per call (issue 15): builds the release library, generates the Kotlin
# bindings from it, compiles benches/kotlin/CallCost.kt with the wrapper and runs it on the JVM.
# Not run by CI (it measures, it asserts nothing). Needs the tools of scripts/install-tools.sh.
#   bash scripts/bench-kotlin.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tools=${REACH_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/reach-tools}
[ -f "$tools/env.sh" ] || { echo "bench-kotlin: run scripts/install-tools.sh first (kotlinc, JNA)" >&2; exit 2; }
# shellcheck source=/dev/null
source "$tools/env.sh"
cargo build --quiet --release --lib -p reach
cargo build --quiet -p uniffi-bindgen
out=target/bench-kotlin
rm -rf "$out"; mkdir -p "$out"
target/debug/uniffi-bindgen generate --no-format --library target/release/libreach.so --language kotlin \
  --out-dir "$out/bindings" >/dev/null
mapfile -t wrapper < <(find bindings/kotlin/src/main -name '*.kt' | sort)
"$KOTLINC" -nowarn -cp "$JNA_JAR" $(find "$out/bindings" -name '*.kt') "${wrapper[@]}" benches/kotlin/CallCost.kt \
  -d "$out/bench.jar" 2>&1 | grep -v '^warning:' || true
[ -f "$out/bench.jar" ] || { echo "bench-kotlin: kotlinc failed" >&2; exit 1; }
exec java "-Djna.library.path=$PWD/target/release" -cp "$out/bench.jar:$JNA_JAR:$KOTLIN_HOME/lib/kotlin-stdlib.jar" \
  dev.reach.bench.CallCostKt
