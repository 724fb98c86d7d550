#!/usr/bin/env bash
# check-deb.sh DEB...: for each package from deb.sh, a fresh minbase chroot
# of the Debian suite that ships its Wireshark X.Y installs it with
# `apt-get install ./DEB`; there root's tshark (which reads the global plugin
# folder) must list phonehome.so and decrypt the Tuya 3.4 sample with its
# key, `filtergen --version` and `man filtergen` must work, a package built
# for another Wireshark must be refused, and `apt-get remove` must leave no
# phonehome file behind. Needs root; each chroot is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/suite.sh
. scripts/lib/suite.sh
need_root check-deb
(($#)) && [ -e "$1" ] || { echo "check-deb: no package given (make deb or make debs first)" >&2; exit 2; }
tuya_key='uat:tuya_keys:"bf91aa7e5c3d2b1a0f9e8d","phdemo34localkey"'
[ -f target/samples/tuya-session-3.4.pcap ] || {
    [ -x target/release/phonehome-samples ] || cargo build --quiet --release -p phonehome-samples
    target/release/phonehome-samples target/samples >/dev/null
}

root=""
cleanup() {
    chroot_unmount_all
    [ -z "$root" ] || rm -rf --one-file-system "$root"
}
trap cleanup EXIT
in_root() { chroot "$root" env -i HOME=/root LANG=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin bash -c "$1"; }
fail() { echo "check-deb: $deb: $*" >&2; exit 1; }

for deb in "$@"; do
    start=$(date +%s)
    name=$(basename "$deb")
    xy=$(echo "$name" | sed -n 's/.*+ws\([0-9]*\.[0-9]*\)_.*/\1/p')
    [ -n "$xy" ] || fail "not a phonehome package name (phonehome_VERSION+wsX.Y_ARCH.deb)"
    suite=$(suite_for_ws "$xy")
    root=$(mktemp -d /var/tmp/phonehome-check-deb.XXXXXX)
    suite_root "$suite" "$root"
    chroot_proc "$root"
    mkdir -p "$root/pkg"
    cp "$deb" target/samples/tuya-session-3.4.pcap "$root/pkg/"
    # man-db first: what `apt-get remove phonehome` must take away is then
    # only what the package brought.
    chroot_apt "$root" man-db
    in_root "find / -xdev -path /proc -prune -o -path /pkg -prune -o -iname '*phonehome*' -print | sort" >"$root/pkg/before"

    in_root "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tshark ./pkg/$name >/dev/null" ||
        fail "apt-get install failed in $suite"
    ws=$(in_root 'dpkg-query -W -f="\${Version}" tshark')
    in_root 'tshark -G plugins 2>/dev/null' | grep -q '^phonehome\.so' || fail "root's tshark $ws does not list phonehome.so"
    decoded=$(in_root "tshark -r /pkg/tuya-session-3.4.pcap -o '$tuya_key' -Y 'tuya.json' -T fields -e tuya.json 2>/dev/null" | grep -c . || true)
    [ "$decoded" -gt 0 ] || fail "tshark $ws decrypted no Tuya 3.4 payload with the sample's key"
    version=$(in_root 'filtergen --version 2>/dev/null')
    [[ $version == filtergen\ * ]] || fail "filtergen --version printed '$version'"
    in_root 'MANPAGER=cat man filtergen 2>/dev/null' | grep -q 'filtergen' || fail "man filtergen shows nothing"
    in_root 'MANPAGER=cat man filtergen-report 2>/dev/null' | grep -q 'report' || fail "man filtergen-report shows nothing"
    for f in /usr/share/bash-completion/completions/filtergen /usr/share/zsh/vendor-completions/_filtergen \
             /usr/share/fish/vendor_completions.d/filtergen.fish /usr/share/phonehome/profiles/wyze-base.yaml; do
        [ -s "$root$f" ] || fail "$f is missing"
    done
    in_root 'filtergen filter /usr/share/phonehome/profiles/wyze-base.yaml 2>/dev/null' | grep -q . ||
        fail "filtergen filter on a shipped profile printed nothing"

    # A package for another Wireshark must not install here.
    for other in "$@"; do
        [ "$(basename "$other")" = "$name" ] && continue
        [[ $(basename "$other") == *+ws"$xy"_* ]] && continue
        cp "$other" "$root/pkg/"
        if in_root "apt-get install -s -qq ./pkg/$(basename "$other") >/dev/null 2>&1"; then
            fail "apt would install $(basename "$other") beside Wireshark $ws"
        fi
        rm -f "$root/pkg/$(basename "$other")"
    done

    in_root 'DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq phonehome >/dev/null' || fail "apt-get remove failed"
    in_root "find / -xdev -path /proc -prune -o -path /pkg -prune -o -iname '*phonehome*' -print | sort" >"$root/pkg/after"
    left=$(comm -13 "$root/pkg/before" "$root/pkg/after")
    [ -z "$left" ] || fail "files left after apt-get remove: $left"
    in_root 'dpkg-query -W -f="\${Status}" phonehome 2>/dev/null' | grep -q 'install ok installed' && fail "still installed after remove"

    echo "check-deb: $name: installed, used and removed cleanly on $suite with Wireshark $ws ($(( $(date +%s) - start )) s)"
    chroot_unmount_all
    rm -rf --one-file-system "$root"
    root=""
done
