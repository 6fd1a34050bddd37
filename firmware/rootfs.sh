#!/bin/bash
# Prints the path of a tarball holding a minimal Debian bookworm root file system (minbase plus
# what the package and the test need), building it first if it is not cached yet.
#
#   firmware/rootfs.sh            -> build/rootfs/debian-bookworm-minbase-<key>.tar
#   firmware/rootfs.sh --mirror   -> the mirror it would use
#
# The mirror is the one this machine's apt uses for bookworm (apt-get indextargets), else
# deb.debian.org; XWAY_DEBIAN_MIRROR overrides it. The cache key covers suite, variant, package
# list, mirror and recipe, so changing any of them builds a new tarball (older ones are then
# deleted). Delete build/rootfs/ to refresh the packages. Needs root, and mmdebstrap (or
# debootstrap).
set -euo pipefail

fw=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$fw")
cache=${XWAY_ROOTFS_CACHE:-$repo/build/rootfs}
suite=bookworm
variant=minbase
# adduser and etcd-server: the package's dependencies beyond minbase, as apt would bring them
# (dpkg -i does not fetch); systemd: the unit's targets for systemd-analyze and
# deb-systemd-helper, as on a real appliance.
include=adduser,systemd,etcd-server
# Bump when the way the tarball is made changes (the key covers the settings above already).
recipe=1

say() { printf 'rootfs: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

mirror=${XWAY_DEBIAN_MIRROR:-}
if [ -z "$mirror" ] && command -v apt-get >/dev/null; then
  mirror=$(apt-get indextargets --format '$(RELEASE) $(IDENTIFIER) $(REPO_URI)' 2>/dev/null \
    | awk -v s="$suite" '$1 == s && $2 == "Packages" { print $3; exit }')
fi
mirror=${mirror:-http://deb.debian.org/debian/}

if [ "${1:-}" = --mirror ]; then
  echo "$mirror"
  exit 0
fi

key=$(echo "recipe=$recipe suite=$suite variant=$variant include=$include mirror=$mirror" | sha256sum | cut -c1-12)
tarball=$cache/debian-$suite-$variant-$key.tar
if [ -s "$tarball" ]; then
  echo "$tarball"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "building the root file system needs root"
mkdir -p "$cache"
tmp=$(mktemp "$cache/.partial.XXXXXX")
trap 'rm -rf "$tmp" "$tmp.d"' EXIT
started=$(date +%s)
if command -v mmdebstrap >/dev/null; then
  say "mmdebstrap $suite ($variant + $include) from $mirror"
  mmdebstrap --quiet --mode=root --variant="$variant" --include="$include" --format=tar \
    "$suite" "$tmp" "deb $mirror $suite main" >&2 || die "mmdebstrap failed (is $mirror reachable?)"
elif command -v debootstrap >/dev/null; then
  say "debootstrap $suite ($variant + $include) from $mirror"
  debootstrap --variant="$variant" --include="$include" "$suite" "$tmp.d" "$mirror" >&2 \
    || die "debootstrap failed (is $mirror reachable?)"
  tar -C "$tmp.d" --numeric-owner -cf "$tmp" .
else
  die "neither mmdebstrap nor debootstrap is installed (apt-get install mmdebstrap)"
fi
mv "$tmp" "$tarball"
find "$cache" -maxdepth 1 -name "debian-$suite-*.tar" ! -path "$tarball" -delete
say "built $tarball ($(( $(stat -c %s "$tarball") / 1024 / 1024 )) MiB) in $(( $(date +%s) - started )) s"
echo "$tarball"
