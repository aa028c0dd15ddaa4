#!/usr/bin/env bash
# Runs the Python binding tests (bindings/python/tests) against the real library:
# builds the cdylib and generates the bindings (scripts/build-bindings.sh), assembles
# the generated reach.py with libreach.so next to it, and runs pytest from the venv
# that scripts/install-tools.sh made. Exits with pytest's status; "no tests collected"
# (pytest exit 5) is a failure.
#
# Environment:
#   REACH_TOOLS          tools cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/reach-tools)
#   REACH_SKIP_BUILD=1   use the existing target/debug/libreach.so and target/bindings/python
#   REACH_PY_DIR         where to assemble the importable module (default target/py)
#   REACH_PY_TIMEOUT     seconds before the whole pytest run is killed (default 900)
# Extra arguments are passed to pytest (e.g. -k consent, -x).
set -euo pipefail
cd "$(dirname "$0")/.."

REACH_TOOLS=${REACH_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/reach-tools}
ENV_SH=$REACH_TOOLS/env.sh
if [ ! -f "$ENV_SH" ]; then
  echo "test-python: ERROR: $ENV_SH not found; run scripts/install-tools.sh first" >&2
  exit 2
fi
# shellcheck source=/dev/null
source "$ENV_SH"
PYTEST=${REACH_VENV:-}/bin/pytest
if [ -z "${REACH_VENV:-}" ] || [ ! -x "$PYTEST" ]; then
  echo "test-python: ERROR: no pytest at '$PYTEST' (REACH_VENV from $ENV_SH);" \
    "run scripts/install-tools.sh again" >&2
  exit 2
fi

if [ "${REACH_SKIP_BUILD:-0}" = 1 ]; then
  echo "test-python: REACH_SKIP_BUILD=1, using the existing build"
else
  bash scripts/build-bindings.sh
fi

lib=target/debug/libreach.so
gen=target/bindings/python/reach.py
for f in "$lib" "$gen"; do
  if [ ! -f "$f" ]; then
    echo "test-python: ERROR: $f not found; run scripts/build-bindings.sh (or unset REACH_SKIP_BUILD)" >&2
    exit 2
  fi
done

# The generated module loads libreach.so from its own folder.
export REACH_PY_DIR=${REACH_PY_DIR:-$PWD/target/py}
rm -rf "$REACH_PY_DIR"
mkdir -p "$REACH_PY_DIR"
cp "$gen" "$lib" "$REACH_PY_DIR/"
export PYTHONPATH=$REACH_PY_DIR${PYTHONPATH:+:$PYTHONPATH}
# Keep the source tree clean: no __pycache__ or .pytest_cache under bindings/.
export PYTHONDONTWRITEBYTECODE=1

start=$(date +%s.%N)
status=0
# faulthandler_timeout dumps every thread's stack if one test hangs (e.g. a deadlocked
# callback); timeout ends the run if it never returns.
timeout --signal=TERM --kill-after=30 "${REACH_PY_TIMEOUT:-900}" \
  "$PYTEST" -q -p no:cacheprovider -o faulthandler_timeout=120 bindings/python/tests "$@" ||
  status=$?
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

case $status in
  0) echo "test-python: PASSED (${elapsed}s)" ;;
  5) echo "test-python: FAILED: pytest collected no tests (${elapsed}s)" >&2; status=1 ;;
  124 | 137) echo "test-python: FAILED: pytest timed out after ${REACH_PY_TIMEOUT:-900}s" >&2 ;;
  *) echo "test-python: FAILED: pytest exit status $status (${elapsed}s)" >&2 ;;
esac
exit "$status"
