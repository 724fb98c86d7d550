#!/usr/bin/env bash
# Builds this source against Wireshark 4.4 (Debian trixie) in a debootstrapped
# chroot, installs the plugin into that tshark's global plugin folder, and
# checks it decodes the sample (and the real capture in ../shared, if any)
# exactly as the host's Wireshark does. Needs root (debootstrap, chroot,
# mount). Measured here (2 cores, shared with other builds): a first run
# (debootstrap ~25 s, apt ~20 s, cold release build) took 7 min 7 s; later
# runs reuse the chroot and the build and take about 20 s.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
root=${PHONEHOME_TRIXIE_ROOT:-/var/tmp/phonehome-trixie}
target=target/wireshark-4.4
tuya_key='uat:tuya_keys:"bf91aa7e5c3d2b1a0f9e8d","phdemo34localkey"'
# Only frames that carry our protocols: TCP's own Info text for a segment
# of a reassembled PDU differs between 4.0 and 4.4.
ours='tuya || miio || iotc || pppp'
start=$(date +%s)

[ "$(id -u)" = 0 ] || { echo "check-wireshark-4.4: needs root (debootstrap, chroot, mount)" >&2; exit 2; }
command -v cargo >/dev/null || { echo "check-wireshark-4.4: cargo not found" >&2; exit 2; }

if [ ! -x "$root/usr/bin/tshark" ] || ! chroot "$root" pkg-config --exists wireshark 2>/dev/null; then
    command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    echo "debootstrap trixie into $root"
    [ -x "$root/bin/bash" ] || debootstrap --variant=minbase trixie "$root" http://deb.debian.org/debian >/dev/null
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        tshark libwireshark-dev libglib2.0-dev pkg-config gcc libc6-dev ca-certificates >/dev/null
fi

# The host's toolchain, crate cache and this repository, bind-mounted in.
cargo_home=${CARGO_HOME:-$HOME/.cargo}
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
mounts=()
bind() {
    mkdir -p "$root$2"
    mount --bind "$1" "$root$2"
    mounts=("$root$2" "${mounts[@]}")
}
cleanup() {
    for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || true; done
    umount "$root/proc" 2>/dev/null || true
}
trap cleanup EXIT
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
bind "$repo" /src
bind "$cargo_home" /opt/cargo
bind "$rustup_home" /opt/rustup
[ -d "$repo/../shared/captures" ] && bind "$repo/../shared/captures" /shared

# Fetch on the host (the chroot builds offline from the same cache).
cargo fetch --quiet
in_chroot() {
    chroot "$root" env HOME=/root CARGO_HOME=/opt/cargo RUSTUP_HOME=/opt/rustup \
        PATH=/opt/cargo/bin:/usr/bin:/bin CARGO_TARGET_DIR="/src/$target" bash -c "$1"
}
ws44=$(in_chroot 'pkg-config --modversion wireshark')
echo "building against Wireshark $ws44"
in_chroot 'cd /src && cargo build --offline --release --quiet -p phonehome-dissector -p phonehome-samples'
in_chroot 'install -m 0644 "$CARGO_TARGET_DIR/release/libphonehome.so" "$(pkg-config --variable=plugindir wireshark)/epan/phonehome.so"'
in_chroot 'tshark -G plugins' | grep -q '^phonehome.so' || { echo "tshark $ws44 does not list phonehome.so" >&2; exit 1; }

# Every field of the plugin's protocols, as the host's tshark lists them.
mapfile -t fields < <(target/release/filtergen tshark -- -G fields 2>/dev/null |
    awk -F'\t' '$1 == "F" && $3 ~ /^(tuya|miio|iotc|pppp)\./ { print "-e"; print $3 }')
fields+=(-e frame.number -e _ws.col.Protocol -e _ws.col.Info)
echo "comparing ${#fields[@]} field arguments"

# The same captures, decoded by both Wireshark versions.
"$repo/target/release/phonehome-samples" "$repo/target/samples" >/dev/null 2>&1 ||
    cargo run --quiet --release -p phonehome-samples -- "$repo/target/samples" >/dev/null
captures=(target/samples/*.pcap)
[ -d "$repo/../shared/captures" ] && captures+=(/shared/tuya-discovery-ndpi.pcap)
status=0
for c in "${captures[@]}"; do
    host_path=$c
    [[ $c == /shared/* ]] && host_path="$repo/../shared/captures/${c#/shared/}"
    # As root, tshark 4.4 reads the global plugin folder; its notice about
    # running as root is the one line of stderr allowed.
    new=$(in_chroot "cd /src && tshark -r '$c' -o '$tuya_key' -Y '$ours' -T fields ${fields[*]} 2>&1" | grep -v '^Running as user "root"')
    old=$(target/release/filtergen tshark -- -r "$host_path" -o "$tuya_key" -Y "$ours" -T fields "${fields[@]}" 2>&1)
    frames=$(printf '%s\n' "$new" | grep -c . || true)
    if [ "$new" = "$old" ]; then
        echo "same decode under $ws44 and $(pkg-config --modversion wireshark): $c ($frames frames)"
        printf '%s\n' "$new" | head -3 | sed 's/^/    /'
    else
        echo "DIFFERENT decode for $c:" >&2
        diff <(printf '%s\n' "$old") <(printf '%s\n' "$new") | head -20 >&2
        status=1
    fi
done
echo "check-wireshark-4.4 took $(( $(date +%s) - start )) s"
exit $status
