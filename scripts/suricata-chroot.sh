#!/usr/bin/env bash
# Builds (once) and caches a Debian chroot with Suricata under
# target/suricata-SUITE, for scripts/check-suricata.sh and the benchmark.
# Usage: scripts/suricata-chroot.sh SUITE   (trixie: Suricata 7, sid: 8)
# The mirror is the one this machine's apt already uses (first non-security
# URI in /etc/apt/sources.list.d/ or /etc/apt/sources.list). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:?usage: suricata-chroot.sh trixie|sid}
case $suite in trixie|sid) ;; *) echo "suricata-chroot: suite must be trixie or sid, not '$suite'" >&2; exit 2;; esac
root=$PWD/target/suricata-$suite

[ "$(id -u)" = 0 ] || { echo "suricata-chroot: needs root (debootstrap, chroot)" >&2; exit 2; }

apt_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -e "$f" ] || continue
        awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -e "$f" ] || continue
        awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) { if ($i !~ /security/) print $i; break } }' "$f"
    done
}

if [ ! -x "$root/usr/bin/suricata" ]; then
    mirror=${PHONEHOME_DEBIAN_MIRROR:-$(apt_mirror | head -1)}
    [ -n "$mirror" ] || { echo "suricata-chroot: no Debian mirror in /etc/apt (set PHONEHOME_DEBIAN_MIRROR)" >&2; exit 2; }
    command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    echo "suricata-chroot: debootstrap $suite into $root"
    mkdir -p "$root"
    [ -x "$root/bin/bash" ] || debootstrap --variant=minbase "$suite" "$root" "$mirror" >/dev/null
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    # A mirror frozen at a snapshot serves Release files past their Valid-Until.
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Check-Valid-Until=false update -qq
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends suricata >/dev/null
fi
chroot "$root" suricata -V
