#!/usr/bin/env bash
# Type-checks the Android layer without the Android SDK: the library module's adapters
# (bindings/kotlin/android/src/main/kotlin) and the sample app (android-sample/app/src/main/kotlin)
# are compiled with kotlinc against the REAL wrapper and generated bindings, plus stand-ins for
# exactly the Android/AndroidX declarations they use (tests/android-stubs, Java, as the SDK is).
# Any call into dev.reach.* that does not match the wrapper's API fails here, as it would in
# Gradle. Compiled as Gradle does: one module of wrapper + generated + adapters (so `internal`
# is visible to the adapters, as in the AAR), then the sample as its own module against it.
# It also checks, by reading the files, that:
#   - the R8 consumer rules keep the package the generated Kotlin really uses;
#   - build-android.sh writes the jniLibs and generated-sources directories the module reads;
#   - every class the sample's manifest names is one the compile produced;
#   - the sample's R.string references exist in res/values/strings.xml (R.java is generated from
#     it here) and BuildConfig is enabled when the sample uses it.
# Not covered (needs the SDK): resources other than strings, the manifest merge, R8 itself, and
# behaviour on a device. Exits 2 on a missing tool or input, 1 on a failed check.
#
# Environment:
#   REACH_TOOLS        tools cache written by scripts/install-tools.sh (kotlinc, JNA)
#   REACH_SKIP_BUILD=1 use target/bindings/kotlin as it is (else scripts/build-bindings.sh runs)
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "check-android-layer: ERROR: $*" >&2; exit 2; }
fail() { echo "check-android-layer: FAILED: $*" >&2; failures=$((failures + 1)); }
failures=0

tools=${REACH_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/reach-tools}
[ -f "$tools/env.sh" ] || die "$tools/env.sh not found: run scripts/install-tools.sh first (it installs kotlinc and JNA)"
# shellcheck source=/dev/null
source "$tools/env.sh"
[ -x "${KOTLINC:-}" ] || die "kotlinc not found at '${KOTLINC:-}': run scripts/install-tools.sh"
[ -f "${JNA_JAR:-}" ] || die "JNA not found at '${JNA_JAR:-}': run scripts/install-tools.sh"
# javac comes with the JDK that kotlinc runs on.
command -v javac >/dev/null || die "javac not found: run scripts/install-tools.sh"

if [ "${REACH_SKIP_BUILD:-0}" != 1 ]; then bash scripts/build-bindings.sh; fi
generated_dir=target/bindings/kotlin
generated=$generated_dir/dev/reach/ffi/reach.kt
[ -f "$generated" ] || die "$generated not found: run scripts/build-bindings.sh (or unset REACH_SKIP_BUILD)"

module=bindings/kotlin/android
sample=android-sample/app
mapfile -t wrapper < <(find bindings/kotlin/src/main/kotlin -name '*.kt' | sort)
mapfile -t adapters < <(find "$module/src/main/kotlin" -name '*.kt' | sort)
mapfile -t app < <(find "$sample/src/main/kotlin" -name '*.kt' | sort)
mapfile -t stubs < <(find tests/android-stubs -name '*.java' | sort)
[ ${#adapters[@]} -gt 0 ] || die "no Kotlin sources under $module/src/main/kotlin"
[ ${#app[@]} -gt 0 ] || die "no Kotlin sources under $sample/src/main/kotlin"

# --- Files that must agree with each other (read, not compiled). ---------------------------------
generated_package=$(sed -n 's/^package \([A-Za-z0-9_.]*\).*/\1/p' "$generated" | head -n 1)
[ -n "$generated_package" ] || fail "no package line in $generated"
rules=$module/consumer-rules.pro
grep -qxF -- "-keep class $generated_package.** { *; }" "$rules" ||
  fail "$rules does not keep the generated package '$generated_package' (-keep class $generated_package.** { *; })"
grep -qxF -- "-keep class com.sun.jna.** { *; }" "$rules" || fail "$rules does not keep JNA (com.sun.jna.**)"
# The library name JNA loads must be the one build-android.sh puts in jniLibs (libreach.so).
grep -qx '    return "reach"' "$generated" || fail "$generated does not load a library named 'reach' (libreach.so)"
build=scripts/build-android.sh
gradle=$module/build.gradle.kts
grep -q '^jni=bindings/kotlin/android/src/main/jniLibs$' "$build" ||
  fail "$build does not write the module's jniLibs ($module/src/main/jniLibs, AGP's default the module relies on)"
grep -q -- '--out-dir target/bindings/kotlin' "$build" || fail "$build does not generate into target/bindings/kotlin"
grep -q 'resolve("target/bindings/kotlin")' "$gradle" || fail "$gradle does not read the generated sources from target/bindings/kotlin"
grep -q 'kotlin.srcDir(generatedBindings)' "$gradle" || fail "$gradle does not compile the generated sources"
grep -q 'resolve("bindings/kotlin/src/main/kotlin")' "$gradle" || fail "$gradle does not compile the wrapper sources"
! grep -q 'jniLibs.srcDir' "$gradle" || fail "$gradle moves jniLibs away from src/main/jniLibs, where $build writes"

# --- What AGP would generate for the sample: R (strings only) and BuildConfig. -------------------
out=target/android-check
rm -rf "$out/gen"
mkdir -p "$out/gen/dev/reach/sample"
namespace=$(sed -n 's/^ *namespace = "\(.*\)"/\1/p' "$sample/build.gradle.kts")
[ "$namespace" = dev.reach.sample ] || fail "$sample/build.gradle.kts namespace is '$namespace', the sources' package is dev.reach.sample"
{
  echo "package dev.reach.sample;"
  echo "public final class R {"
  echo "  public static final class string {"
  id=$((0x7f0f0000))
  for name in $(sed -n 's/.*<string name="\([a-z_0-9]*\)".*/\1/p' "$sample/src/main/res/values/strings.xml"); do
    printf '    public static final int %s = 0x%x;\n' "$name" "$id"; id=$((id + 1))
  done
  echo "  }"
  echo "  public static final class xml {"
  for f in "$sample"/src/main/res/xml/*.xml; do
    printf '    public static final int %s = 0x%x;\n' "$(basename "$f" .xml)" "$id"; id=$((id + 1))
  done
  echo "  }"
  echo "}"
} >"$out/gen/dev/reach/sample/R.java"
if grep -q 'buildConfig = true' "$sample/build.gradle.kts"; then
  cat >"$out/gen/dev/reach/sample/BuildConfig.java" <<'EOF'
package dev.reach.sample;
public final class BuildConfig {
  public static final boolean DEBUG = Boolean.parseBoolean("true");
  public static final String APPLICATION_ID = "dev.reach.sample";
  public static final String BUILD_TYPE = "debug";
  public static final int VERSION_CODE = 1;
  public static final String VERSION_NAME = "1.0";
}
EOF
fi

# --- Compile. ------------------------------------------------------------------------------------
compile() {
  local what=$1; shift
  echo "+ $(printf "%q " "$@")"
  local log
  if ! log=$("$@" 2>&1); then
    # Only errors: the generated code's warnings are not ours to fix.
    grep -v '^warning:' <<<"$log" | head -n 60 >&2
    fail "$what does not compile"
    return 1
  fi
  # Warnings from the hand-written Android code are shown (deprecations, unchecked casts).
  grep '^warning:' <<<"$log" | grep -v "$generated_dir/" || true
}
# kotlinc takes a minute or more here: recompile only when an input or the compiler changed.
inputs=$({ "$KOTLINC" -version 2>&1; sha256sum "$generated" "${wrapper[@]}" "${adapters[@]}" "${app[@]}" "${stubs[@]}" \
  "$out/gen/dev/reach/sample/"*.java; } | sha256sum | cut -d' ' -f1)
stamp=$out/inputs
if [ -d "$out/app/dev/reach/sample" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$inputs" ]; then
  echo "check-android-layer: nothing changed since the last successful compile, not recompiling"
else
  rm -rf "$out/stubs" "$out/module" "$out/app" "$stamp"
  mkdir -p "$out/stubs" "$out/module" "$out/app"
  compile "the Android/AndroidX stand-ins" javac -nowarn -d "$out/stubs" "${stubs[@]}" "$out/gen/dev/reach/sample/"*.java ||
    die "the stand-ins in tests/android-stubs do not compile"
  compile "the Reach module ($module)" "$KOTLINC" -jvm-target 17 -module-name reach -cp "$JNA_JAR:$out/stubs" \
    "$generated" "${wrapper[@]}" "${adapters[@]}" -d "$out/module" &&
    compile "the sample app ($sample)" "$KOTLINC" -jvm-target 17 -module-name app \
      -cp "$JNA_JAR:$out/stubs:$out/module" "${app[@]}" -d "$out/app" && echo "$inputs" >"$stamp" || true
fi

# --- The manifest's classes exist. ---------------------------------------------------------------
if [ -d "$out/app/dev/reach/sample" ]; then
  for name in $(sed -n 's/.*android:name="\(\.[A-Za-z0-9_.]*\)".*/\1/p' "$sample/src/main/AndroidManifest.xml"); do
    class=$namespace$name
    [ -f "$out/app/${class//.//}.class" ] || fail "$sample/src/main/AndroidManifest.xml names $class, which the sample does not define"
  done
fi

if [ "$failures" -gt 0 ]; then
  echo "check-android-layer: $failures check(s) failed"
  exit 1
fi
echo "check-android-layer: ${#adapters[@]} module and ${#app[@]} sample sources compile against the wrapper; rules, paths and manifest agree"
