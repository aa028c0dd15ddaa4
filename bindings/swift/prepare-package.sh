#!/usr/bin/env bash
# Puts the generated Swift sources where Package.swift expects them:
#   bindings/swift/Sources/ReachFFI/ReachFFI.swift   (module ReachFFI)
#   bindings/swift/Sources/ReachCore/ReachCore.h      (C module ReachCore, Linux builds)
# Regenerates them first (scripts/build-bindings.sh) unless REACH_SKIP_BUILD=1.
# Both files are generated, hence git-ignored: they must match the uniffi version the
# library was built with.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ "${REACH_SKIP_BUILD:-0}" != 1 ]; then
  bash "$root/scripts/build-bindings.sh"
fi
gen=$root/target/bindings/swift
mkdir -p "$here/Sources/ReachFFI"
cp "$gen/ReachFFI.swift" "$here/Sources/ReachFFI/ReachFFI.swift"
cp "$gen/ReachCore.h" "$here/Sources/ReachCore/ReachCore.h"
echo "Swift package sources ready in $here/Sources (library: $root/target/debug/libreach.so)"
