#!/usr/bin/env bash
# Runs the Kotlin binding tests on the JVM against the host-built library:
#   1. builds libreach.so and generates the Kotlin bindings (scripts/build-bindings.sh),
#      unless REACH_SKIP_BUILD=1 (the caller has just built them);
#   2. compiles generated code + wrapper (bindings/kotlin/src/main) + tests (bindings/kotlin/src/test)
#      into target/kt/tests.jar, skipped when none of the inputs changed since the last compile;
#   3. runs the tests (a plain `main`; its last line, and this script's, is `N passed, N failed`)
#      and exits with their status.
# Arguments are passed to the test runner: test-name substrings to run only those.
#
# Environment:
#   REACH_TOOLS        tools cache written by scripts/install-tools.sh
#                      (default ${XDG_CACHE_HOME:-$HOME/.cache}/reach-tools)
#   REACH_SKIP_BUILD=1 use target/debug/libreach.so and target/bindings/kotlin as they are
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

now() { echo "${EPOCHREALTIME:-$(date +%s.%N)}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
die() { echo "test-kotlin: ERROR: $*" >&2; exit 2; }
t_start=$(now)

tools=${REACH_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/reach-tools}
[ -f "$tools/env.sh" ] || die "$tools/env.sh not found: run scripts/install-tools.sh first (it installs kotlinc and JNA)"
# shellcheck source=/dev/null
source "$tools/env.sh"
[ -x "${KOTLINC:-}" ] || die "kotlinc not found at '${KOTLINC:-}': run scripts/install-tools.sh"
[ -f "${JNA_JAR:-}" ] || die "JNA not found at '${JNA_JAR:-}': run scripts/install-tools.sh"
stdlib=$KOTLIN_HOME/lib/kotlin-stdlib.jar
[ -f "$stdlib" ] || die "$stdlib not found: run scripts/install-tools.sh"
command -v java >/dev/null || die "java not found: run scripts/install-tools.sh"

if [ "${REACH_SKIP_BUILD:-0}" = 1 ]; then
  echo "test-kotlin: REACH_SKIP_BUILD=1, using the existing library and bindings"
else
  t=$(now)
  bash scripts/build-bindings.sh
  echo "test-kotlin: build-bindings $(elapsed "$t")"
fi

lib=$root/target/debug/libreach.so
generated=$root/target/bindings/kotlin/dev/reach/ffi/reach.kt
[ -f "$lib" ] || die "$lib not found: run scripts/build-bindings.sh (or unset REACH_SKIP_BUILD)"
[ -f "$generated" ] || die "$generated not found: run scripts/build-bindings.sh (or unset REACH_SKIP_BUILD)"

mapfile -t wrapper < <(find bindings/kotlin/src/main -name '*.kt' | sort)
mapfile -t tests < <(find bindings/kotlin/src/test -name '*.kt' | sort)
[ ${#wrapper[@]} -gt 0 ] || die "no wrapper sources under bindings/kotlin/src/main"
[ ${#tests[@]} -gt 0 ] || die "no test sources under bindings/kotlin/src/test"

out=target/kt
jar=$out/tests.jar
stamp=$out/tests.jar.inputs
mkdir -p "$out"

# kotlinc takes 20+ s on this machine: recompile only when an input or the compiler changed.
inputs=$({ "$KOTLINC" -version 2>&1; sha256sum "$generated" "${wrapper[@]}" "${tests[@]}"; } | sha256sum | cut -d' ' -f1)
if [ -f "$jar" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$inputs" ]; then
  echo "test-kotlin: $jar is up to date, not recompiling"
else
  rm -f "$jar" "$stamp"
  compile=("$KOTLINC" -cp "$JNA_JAR" "$generated" "${wrapper[@]}" "${tests[@]}" -d "$jar")
  echo "+ $(printf "%q " "${compile[@]}")"
  t=$(now)
  if ! log=$("${compile[@]}" 2>&1); then
    # Only errors: the generated code's warnings are not ours to fix.
    grep -v '^warning:' <<<"$log" | head -n 60 >&2
    if grep -qE "conflicting overloads|hides member of supertype 'Throwable'" <<<"$log"; then
      cat >&2 <<'EOF'

test-kotlin: the GENERATED Kotlin does not compile: a Rust name clashes with a JVM member.
  - a method named `close` on an exported object clashes with AutoCloseable.close(), which
    uniffi adds to every object;
  - an error variant field named `message` clashes with Throwable.message.
Fix in uniffi.toml, for Kotlin only (the wrapper calls `shutdown()` and reads `detail`):
  [bindings.kotlin.rename]
  "Reach.close" = "shutdown"
  "ReachError.InvalidInput.message" = "detail"
  ...and the same for AlreadyOpen, Storage and Closed.
EOF
    fi
    die "kotlinc failed ($(elapsed "$t"))"
  fi
  echo "$inputs" >"$stamp"
  echo "test-kotlin: compiled in $(elapsed "$t")"
fi

run=(java "-Djna.library.path=$root/target/debug" -cp "$jar:$JNA_JAR:$stdlib" dev.reach.ReachTestKt "$@")
echo "test-kotlin: ready to run after $(elapsed "$t_start")"
echo "+ $(printf "%q " "${run[@]}")"
# exec: the runner's `N passed, N failed` stays the last line and its status is ours.
exec "${run[@]}"
