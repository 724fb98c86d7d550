#!/usr/bin/env bash
# Builds (once) and caches a Debian chroot with Suricata under
# target/suricata-SUITE, for scripts/check-suricata.sh and
# scripts/bench-suricata.sh. Usage: scripts/suricata-chroot.sh trixie|sid
# (trixie: Suricata 7, sid: Suricata 8). Debian's own suricata.yaml is left
# as the package installs it. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/suite.sh
. scripts/lib/suite.sh
suite=${1:?usage: suricata-chroot.sh trixie|sid}
case $suite in trixie|sid) ;; *) echo "suricata-chroot: suite must be trixie or sid, not '$suite'" >&2; exit 2;; esac
need_root suricata-chroot
root=$PWD/target/suricata-$suite
if [ ! -x "$root/usr/bin/suricata" ]; then
    rm -rf --one-file-system "$root"
    suite_root "$suite" "$root"
    echo "installing Suricata in $root ($suite)" >&2
    chroot_apt "$root" suricata
fi
chroot "$root" suricata -V
