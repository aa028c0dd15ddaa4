#!/usr/bin/env bash
# Runs a command in the Swift chroot built by scripts/install-tools.sh:
#   scripts/swift-chroot-run.sh BUILD_DIR -- COMMAND...
# BUILD_DIR is copied fresh to /build in the chroot, /proc is mounted for the run (swiftc fails
# without it) and unmounted on any exit, and COMMAND runs in /build with HOME=/root,
# LANG=C.UTF-8 and LD_LIBRARY_PATH=/build. The exit code is COMMAND's.
# A single COMMAND word is run by bash, so shell syntax works:
#   scripts/swift-chroot-run.sh build -- 'swiftc main.swift -o t && ./t'
#
# Exit code 77 means SKIPPED (no chroot, not root, mount/chroot refused): callers must report
# the Swift tests as skipped, never as passed.
#
# Chroot location: $SWIFT_CHROOT if set, else the one recorded in $REACH_TOOLS/env.sh.
set -euo pipefail

SKIP=77
usage() { echo "usage: $0 BUILD_DIR -- COMMAND..." >&2; exit 2; }
skip() {
  cat >&2 <<EOF

###############################################################################
#  SWIFT TESTS SKIPPED: $1
#  (exit code $SKIP: count these tests as skipped, not passed)
###############################################################################

EOF
  exit "$SKIP"
}

[ $# -ge 3 ] && [ "$2" = "--" ] || usage
BUILD_DIR=$1
shift 2
[ -d "$BUILD_DIR" ] || { echo "$0: BUILD_DIR '$BUILD_DIR' is not a directory" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || skip "not running as root (uid $(id -u)); mount and chroot need root"

REACH_TOOLS=${REACH_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/reach-tools}
if [ -z "${SWIFT_CHROOT+set}" ] && [ -f "$REACH_TOOLS/env.sh" ]; then
  # shellcheck source=/dev/null
  SWIFT_CHROOT=$(. "$REACH_TOOLS/env.sh" && echo "$SWIFT_CHROOT")
fi
CH=${SWIFT_CHROOT:-}
[ -n "$CH" ] || skip "no Swift chroot installed (run scripts/install-tools.sh; it needs root, mount and chroot)"
[ -f "$CH/.reach-swift-chroot-complete" ] && [ -x "$CH/usr/bin/swiftc" ] ||
  skip "Swift chroot at $CH is missing or incomplete (re-run scripts/install-tools.sh)"

# One run at a time: runs share /build and the /proc mount.
exec 9>"$CH.lock"
flock 9

# shellcheck disable=SC2329 # invoked by the EXIT trap
cleanup() {
  if mountpoint -q "$CH/proc"; then umount "$CH/proc" 2>/dev/null || umount -l "$CH/proc" || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# A /proc still mounted here is left from a killed run (we hold the lock).
if mountpoint -q "$CH/proc"; then umount -l "$CH/proc" || true; fi
mount -t proc proc "$CH/proc" 2>/dev/null || skip "mount -t proc refused (sandbox without CAP_SYS_ADMIN?)"
chroot "$CH" /bin/true 2>/dev/null || skip "chroot refused (no CAP_SYS_CHROOT?)"

rm -rf --one-file-system "$CH/build"
mkdir -p "$CH/build"
cp -a "$BUILD_DIR"/. "$CH/build/"

status=0
# shellcheck disable=SC2016 # expanded by the bash inside the chroot
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=dumb LD_LIBRARY_PATH=/build \
  chroot "$CH" /bin/bash -c 'cd /build && if [ $# -eq 1 ]; then eval "$1"; else "$@"; fi' \
  swift-chroot-run "$@" || status=$?
exit "$status"
