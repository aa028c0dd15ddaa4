#!/usr/bin/env bash
# Installs the tools the binding tests need, caching everything outside the repository:
#   - apt: libjna-java (JNA for the Kotlin bindings), debootstrap (to build the Swift chroot),
#     postgresql (the server's tests run its PostgreSQL store against a throwaway cluster)
#   - Kotlin compiler (npm package kotlin-compiler, the full JVM kotlinc distribution)
#   - a Python venv with pytest
#   - cargo-fuzz (from the crate registry, built once into $REACH_TOOLS/cargo-fuzz) when the nightly toolchain is there
#   - a Debian 13 (trixie) chroot with swiftlang, because Debian 12 has no Swift (optional:
#     needs root, mount and chroot; if refused, Swift tests are reported as SKIPPED)
# and writes $REACH_TOOLS/env.sh for other scripts to `source`.
#
# Idempotent: a second run only checks what is there and takes seconds.
# Environment:
#   REACH_TOOLS          cache dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/reach-tools)
#   REACH_DEBIAN_MIRROR  Debian mirror for debootstrap (default: the host's apt source for Debian)
#   REACH_SKIP_SWIFT=1   do not build the Swift chroot
set -euo pipefail

REACH_TOOLS=${REACH_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/reach-tools}
KOTLIN_VERSION=2.4.20
SWIFT_SUITE=trixie
JNA_JAR=/usr/share/java/jna.jar

KOTLIN_PREFIX=$REACH_TOOLS/kotlinc
KOTLIN_HOME=$KOTLIN_PREFIX/node_modules/kotlin-compiler
KOTLINC=$KOTLIN_HOME/bin/kotlinc
REACH_VENV=$REACH_TOOLS/venv
# scripts/fuzz.sh checks for the same version at the same place.
CARGO_FUZZ_VERSION=0.13.2
CARGO_FUZZ_ROOT=$REACH_TOOLS/cargo-fuzz
CHROOT_DIR=$REACH_TOOLS/swift-chroot
# Written last into a finished chroot: a directory without it is an interrupted attempt.
CHROOT_MARKER=.reach-swift-chroot-complete
# Environment for everything run inside the chroot: the host's HOME, locale and TMPDIR
# may not exist there.
CHROOT_ENV=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  HOME=/root LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive)

now() { echo "${EPOCHREALTIME:-$(date +%s.%N)}"; }
T_START=$(now)
T_STEP=$T_START
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
# step NAME STATUS: one line per step, with the step's own time.
step() { printf '%-14s %-40s (%s)\n' "$1" "$2" "$(elapsed "$T_STEP")"; T_STEP=$(now); }
die() { echo "install-tools: ERROR: $*" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif sudo -n true 2>/dev/null; then SUDO=(sudo -n); else SUDO=(); fi
IS_ROOT=0; [ "$(id -u)" -eq 0 ] && IS_ROOT=1

mkdir -p "$REACH_TOOLS"
# Two concurrent runs would build into the same directories.
exec 9>"$REACH_TOOLS/.install.lock"
flock 9

# --- apt packages ------------------------------------------------------------------------------
dpkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
apt_missing=()
for pkg in libjna-java debootstrap postgresql; do dpkg_installed "$pkg" || apt_missing+=("$pkg"); done
# Prerequisites a fresh machine may lack.
command -v java >/dev/null || apt_missing+=(default-jre-headless)
command -v npm >/dev/null || apt_missing+=(npm)
command -v python3 >/dev/null || apt_missing+=(python3)
# scripts/check-size.sh strips copies of the library.
command -v strip >/dev/null || apt_missing+=(binutils)
if [ ${#apt_missing[@]} -gt 0 ]; then
  if [ "$IS_ROOT" -eq 0 ] && [ ${#SUDO[@]} -eq 0 ]; then
    die "missing apt packages (${apt_missing[*]}) and neither root nor passwordless sudo"
  fi
  {
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${apt_missing[@]}"
  } >"$REACH_TOOLS/apt.log" 2>&1 || {
    tail -n 30 "$REACH_TOOLS/apt.log" >&2
    die "apt-get install ${apt_missing[*]} failed (log: $REACH_TOOLS/apt.log)"
  }
  step apt "installed ${apt_missing[*]}"
else
  step apt "already present (libjna-java, debootstrap, postgresql)"
fi
[ -f "$JNA_JAR" ] || die "$JNA_JAR not found after installing libjna-java"
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null ||
  die "no /usr/lib/postgresql/*/bin/initdb after installing postgresql"

# --- Kotlin compiler -------------------------------------------------------------------------------
kotlin_ok() {
  [ -x "$KOTLINC" ] && [ -f "$KOTLIN_HOME/lib/kotlin-stdlib.jar" ] &&
    grep -q "\"version\": *\"$KOTLIN_VERSION\"" "$KOTLIN_HOME/package.json" 2>/dev/null
}
if kotlin_ok; then
  step kotlinc "already present ($KOTLIN_VERSION)"
else
  # Install into a temp prefix and rename, so an interrupted install is never taken as complete.
  rm -rf "$KOTLIN_PREFIX.partial"
  npm install --prefix "$KOTLIN_PREFIX.partial" --no-audit --no-fund --loglevel=error \
    "kotlin-compiler@$KOTLIN_VERSION" >/dev/null
  chmod +x "$KOTLIN_PREFIX.partial/node_modules/kotlin-compiler/bin/"* 2>/dev/null || true
  rm -rf "$KOTLIN_PREFIX"
  mv "$KOTLIN_PREFIX.partial" "$KOTLIN_PREFIX"
  kotlin_ok || die "kotlinc not usable at $KOTLINC"
  step kotlinc "installed ($KOTLIN_VERSION)"
fi

# --- Python venv ---------------------------------------------------------------------------------
# Checked by importing pytest, so an interrupted or broken venv (e.g. its base python removed)
# is rebuilt.
if "$REACH_VENV/bin/python" -c 'import pytest' >/dev/null 2>&1; then
  step venv "already present (pytest $("$REACH_VENV/bin/python" -c 'import pytest; print(pytest.__version__)'))"
else
  rm -rf "$REACH_VENV"
  python3 -m venv "$REACH_VENV"
  "$REACH_VENV/bin/pip" install -q --disable-pip-version-check pytest
  step venv "installed (pytest $("$REACH_VENV/bin/python" -c 'import pytest; print(pytest.__version__)'))"
fi

# --- cargo-fuzz ---------------------------------------------------------------------------------
# Only with a nightly toolchain (the fuzz targets need -Zsanitizer); none is fetched here, and without
# one scripts/fuzz.sh reports the fuzz smoke run as skipped. `cargo install` builds into a temp root
# first, so an interrupted build is never taken as installed.
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  step cargo-fuzz "no nightly toolchain: fuzzing will be SKIPPED"
elif "$CARGO_FUZZ_ROOT/bin/cargo-fuzz" --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  step cargo-fuzz "already present ($CARGO_FUZZ_VERSION)"
else
  rm -rf "$CARGO_FUZZ_ROOT.partial"
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" --root "$CARGO_FUZZ_ROOT.partial" \
    --quiet >"$REACH_TOOLS/cargo-fuzz.log" 2>&1 || {
    tail -n 30 "$REACH_TOOLS/cargo-fuzz.log" >&2
    die "cargo install cargo-fuzz failed (log: $REACH_TOOLS/cargo-fuzz.log)"
  }
  rm -rf "$CARGO_FUZZ_ROOT"
  mv "$CARGO_FUZZ_ROOT.partial" "$CARGO_FUZZ_ROOT"
  step cargo-fuzz "installed ($CARGO_FUZZ_VERSION)"
fi

# --- Swift chroot ----------------------------------------------------------------------------------
SWIFT_CHROOT=""
swift_warning() {
  cat >&2 <<EOF

###############################################################################
#  WARNING: Swift toolchain NOT available.
#  Reason: $1
#  Swift binding tests will be SKIPPED (reported as skipped, never as passed).
#  Kotlin and Python tools are installed normally.
###############################################################################

EOF
}

# Unmounts everything mounted under $1 (deepest first), e.g. left behind by a killed run.
unmount_under() {
  local dir m
  dir=$(readlink -f "$1" 2>/dev/null) || return 0
  findmnt -rn -o TARGET 2>/dev/null | awk -v d="$dir" 'index($0, d "/") == 1' | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# Removes a (possibly half-built) chroot without ever following a mount out of it.
remove_chroot() {
  [ -e "$1" ] || return 0
  unmount_under "$1"
  rm -rf --one-file-system "$1"
}

# The Debian mirror the host already uses (so no host name is written here); debootstrap's own
# default when none is configured.
debian_mirror() {
  if [ -n "${REACH_DEBIAN_MIRROR:-}" ]; then echo "$REACH_DEBIAN_MIRROR"; return; fi
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
    grep -v '^[[:space:]]*#' | grep -oE '(https?|file)://[^[:space:]]*/debian/?([[:space:]]|$)' |
    head -n1 | tr -d '[:space:]' || true
}

chroot_ok() { [ -f "$CHROOT_DIR/$CHROOT_MARKER" ] && [ -x "$CHROOT_DIR/usr/bin/swiftc" ]; }

# Mount and chroot must both work; probed on a scratch dir so a refusal is reported clearly.
probe_mount_chroot() {
  local probe
  [ "$IS_ROOT" -eq 1 ] || { echo "not running as root (uid $(id -u)); mount/chroot need root"; return 1; }
  command -v debootstrap >/dev/null || { echo "debootstrap not installed"; return 1; }
  probe=$(mktemp -d "$REACH_TOOLS/.probe.XXXXXX")
  if ! mount -t proc proc "$probe" 2>/dev/null; then
    rmdir "$probe"; echo "mount -t proc refused (sandbox without CAP_SYS_ADMIN?)"; return 1
  fi
  umount "$probe"; rmdir "$probe"
  chroot / true 2>/dev/null || { echo "chroot refused (no CAP_SYS_CHROOT?)"; return 1; }
}

PARTIAL=$CHROOT_DIR.partial
cleanup_partial_mounts() { unmount_under "$PARTIAL"; }

if [ "${REACH_SKIP_SWIFT:-0}" = 1 ]; then
  step swift-chroot "skipped (REACH_SKIP_SWIFT=1)"
  swift_warning "REACH_SKIP_SWIFT=1"
elif chroot_ok; then
  SWIFT_CHROOT=$CHROOT_DIR
  step swift-chroot "already present ($(cat "$CHROOT_DIR/$CHROOT_MARKER"))"
elif ! reason=$(probe_mount_chroot); then
  step swift-chroot "SKIPPED"
  swift_warning "$reason"
else
  # Build into a temp dir and rename when complete: an interrupted attempt is thrown away.
  remove_chroot "$CHROOT_DIR"
  remove_chroot "$PARTIAL"
  trap cleanup_partial_mounts EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
  mirror=$(debian_mirror)
  echo "swift-chroot   debootstrap $SWIFT_SUITE (minbase) from ${mirror:-debootstrap default}, ~450 MB download..."
  # debootstrap mounts /proc and /sys in the target itself and unmounts them when done.
  if ! debootstrap --variant=minbase "$SWIFT_SUITE" "$PARTIAL" ${mirror:+"$mirror"} \
      >"$REACH_TOOLS/debootstrap.log" 2>&1; then
    tail -n 30 "$REACH_TOOLS/debootstrap.log" >&2
    remove_chroot "$PARTIAL"
    die "debootstrap failed (log: $REACH_TOOLS/debootstrap.log)"
  fi
  step swift-chroot "debootstrap done"
  # apt and swiftc need /proc inside the chroot.
  mount -t proc proc "$PARTIAL/proc"
  {
    "${CHROOT_ENV[@]}" chroot "$PARTIAL" apt-get update -qq &&
      "${CHROOT_ENV[@]}" chroot "$PARTIAL" apt-get install -y -qq --no-install-recommends \
        swiftlang libc6-dev &&
      "${CHROOT_ENV[@]}" chroot "$PARTIAL" apt-get clean
  } >"$REACH_TOOLS/swift-apt.log" 2>&1 || {
    tail -n 30 "$REACH_TOOLS/swift-apt.log" >&2
    die "installing swiftlang in the chroot failed (log: $REACH_TOOLS/swift-apt.log)"
  }
  swift_version=$("${CHROOT_ENV[@]}" chroot "$PARTIAL" swiftc --version 2>&1 | head -n1) ||
    die "swiftc does not run in the chroot: $swift_version"
  umount "$PARTIAL/proc"
  mkdir -p "$PARTIAL/build"
  echo "$swift_version" >"$PARTIAL/$CHROOT_MARKER"
  mv "$PARTIAL" "$CHROOT_DIR"
  trap - EXIT INT TERM HUP
  SWIFT_CHROOT=$CHROOT_DIR
  step swift-chroot "installed ($swift_version; $(du -sh --one-file-system "$CHROOT_DIR" | cut -f1))"
fi

# --- env.sh --------------------------------------------------------------------------------------
{
  echo "# Written by scripts/install-tools.sh; source this file."
  printf 'export REACH_TOOLS=%q\n' "$REACH_TOOLS"
  printf 'export KOTLINC=%q\n' "$KOTLINC"
  printf 'export KOTLIN_HOME=%q\n' "$KOTLIN_HOME"
  printf 'export JNA_JAR=%q\n' "$JNA_JAR"
  printf 'export REACH_VENV=%q\n' "$REACH_VENV"
  printf 'export CARGO_FUZZ_ROOT=%q\n' "$CARGO_FUZZ_ROOT"
  echo "# Empty when the Swift chroot is unavailable: Swift tests are then skipped."
  printf 'export SWIFT_CHROOT=%q\n' "$SWIFT_CHROOT"
} >"$REACH_TOOLS/env.sh.tmp"
mv "$REACH_TOOLS/env.sh.tmp" "$REACH_TOOLS/env.sh"
step env.sh "written $REACH_TOOLS/env.sh"
echo "install-tools: done in $(elapsed "$T_START")"
