#!/usr/bin/env bash
# check-wireshark.sh X.Y: builds this source against Wireshark X.Y (4.4:
# Debian trixie, 4.6: sid; 4.0: bookworm) in a chroot, installs the plugin in
# that tshark's global plugin folder, and checks that every plugin field
# decodes the same on every sample (and the real capture in ../shared, if
# any) as under the host's Wireshark, and that the device view (the stats
# tree `-z phonehome,tree`) counts the same. Needs root. The chroot is made
# once under target/ and reused; the mirror is the one this machine's apt uses.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
# shellcheck source=scripts/lib/suite.sh
. scripts/lib/suite.sh
xy=${1:?usage: check-wireshark.sh X.Y (4.0, 4.4 or 4.6)}
need_root check-wireshark
command -v cargo >/dev/null || { echo "check-wireshark: cargo not found" >&2; exit 2; }
start=$(date +%s)
tuya_key='uat:tuya_keys:"bf91aa7e5c3d2b1a0f9e8d","phdemo34localkey"'
# Only frames that carry our protocols: TCP's own Info text for a segment
# of a reassembled PDU differs between Wireshark versions.
ours='tuya || miio || iotc || pppp'

root=$(build_root "$xy")
trap chroot_unmount_all EXIT
mount_build_root "$root" "$repo"
[ -d "$repo/../shared/captures" ] && chroot_mount "$repo/../shared/captures" "$root" /shared

# Fetch on the host (the chroot builds offline from the same cache).
cargo fetch --quiet
ws=$(chroot "$root" pkg-config --modversion wireshark)
echo "building against Wireshark $ws ($(suite_for_ws "$xy"))"
in_build_root "$root" "$repo" 'cargo build --offline --release --quiet -p phonehome-dissector'
in_build_root "$root" "$repo" 'install -m 0644 "$CARGO_TARGET_DIR/release/libphonehome.so" "$(pkg-config --variable=plugindir wireshark)/epan/phonehome.so"'
chroot "$root" tshark -G plugins 2>/dev/null | grep -q '^phonehome.so' ||
    { echo "tshark $ws does not list phonehome.so" >&2; exit 1; }

# The plugin's field names in a `tshark -G fields` listing, sorted.
plugin_fields() { awk -F'\t' '$1 == "F" && $3 ~ /^(tuya|miio|iotc|pppp)\./ { print $3 }' | sort; }
# Every field as the host's tshark lists them; the other version must list
# the same ones (a field missing on either side fails).
mapfile -t host_fields < <(target/release/filtergen tshark -- -G fields 2>/dev/null | plugin_fields)
diff <(printf '%s\n' "${host_fields[@]}") <(chroot "$root" tshark -G fields 2>/dev/null | plugin_fields) ||
    { echo "the plugin registers different fields under Wireshark $ws" >&2; exit 1; }
fields=()
for f in "${host_fields[@]}"; do fields+=(-e "$f"); done
fields+=(-e frame.number -e _ws.col.Protocol -e _ws.col.Info)
echo "comparing $(( ${#fields[@]} / 2 )) fields"

# The device view's rows as "indent+name count": the other columns (rates,
# percentages, burst times) are formatted differently between versions.
tree_counts() { sed -nE 's/^( *)([^ ]+( [^ ]+)*) {2,}([0-9]+)( .*)?$/\1\2 \4/p'; }

# The same captures, decoded by both Wireshark versions.
[ -x target/release/phonehome-samples ] || cargo build --quiet --release -p phonehome-samples
target/release/phonehome-samples target/samples >/dev/null
captures=(target/samples/*.pcap)
[ -d "$repo/../shared/captures" ] && captures+=(/shared/tuya-discovery-ndpi.pcap)
status=0
for c in "${captures[@]}"; do
    host_path=$c
    [[ $c == /shared/* ]] && host_path="$repo/../shared/captures/${c#/shared/}"
    # As root, tshark reads the global plugin folder; its notice about
    # running as root is the one line of stderr allowed.
    new=$(chroot "$root" bash -c "cd /src && tshark -r '$c' -o '$tuya_key' -Y '$ours' -T fields ${fields[*]} 2>&1" |
        grep -v '^Running as user "root"')
    old=$(target/release/filtergen tshark -- -r "$host_path" -o "$tuya_key" -Y "$ours" -T fields "${fields[@]}" 2>&1)
    frames=$(printf '%s\n' "$new" | grep -c . || true)
    if [ "$new" = "$old" ]; then
        echo "same decode under $ws and $(pkg-config --modversion wireshark): $c ($frames frames)"
    else
        echo "DIFFERENT decode for $c:" >&2
        diff <(printf '%s\n' "$old") <(printf '%s\n' "$new") | head -20 >&2
        status=1
    fi
    new=$(chroot "$root" bash -c "cd /src && tshark -r '$c' -o '$tuya_key' -q -z phonehome,tree 2>/dev/null" | tree_counts)
    old=$(target/release/filtergen tshark -- -r "$host_path" -o "$tuya_key" -q -z phonehome,tree 2>/dev/null | tree_counts)
    if [ -z "$old" ]; then
        echo "the host's device view of $c has no rows" >&2
        status=1
    elif [ "$new" = "$old" ]; then
        echo "same device view: $c ($(printf '%s\n' "$new" | wc -l) rows)"
    else
        echo "DIFFERENT device view for $c:" >&2
        diff <(printf '%s\n' "$old") <(printf '%s\n' "$new") | head -20 >&2
        status=1
    fi
done
echo "check-wireshark $xy took $(( $(date +%s) - start )) s"
exit $status
