#!/usr/bin/env bash
# Builds the host cdylib and generates the Kotlin, Swift and Python bindings
# from it in library mode, into target/bindings/<language>. Generated code is
# never committed: it must match the uniffi version the library was built with.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --lib -p reach
cargo build --quiet -p uniffi-bindgen
lib=target/debug/libreach.so
for lang in kotlin swift python; do
  rm -rf "target/bindings/$lang"
  target/debug/uniffi-bindgen generate --no-format --library "$lib" --language "$lang" \
    --out-dir "target/bindings/$lang" >/dev/null
done
echo "bindings generated in target/bindings/{kotlin,swift,python} from $lib"
