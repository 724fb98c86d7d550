#!/usr/bin/env bash
# The demo: dissect the sample captures (and the real ones in ../shared when
# present) with the installed plugin, and show filtergen on a shipped profile.
set -euo pipefail
cd "$(dirname "$0")/.."
samples=${1:-target/samples}
shared=${2:-../shared/captures}
# tshark with the installed plugin, even as root.
tshark_user() { target/release/filtergen tshark -- "$@"; }

devices() {
    local capture=$1
    echo
    echo "== Tuya devices announcing themselves in $capture"
    tshark_user -r "$capture" -Y tuya.gw_id -T fields \
        -e tuya.gw_id -e tuya.ip -e tuya.product_key -e tuya.version -e tuya.checksum.status |
        sort | uniq -c |
        awk 'BEGIN { printf "%-24s %-16s %-18s %-7s %s\n", "DEVICE ID", "IP", "PRODUCT KEY", "VERSION", "BROADCASTS (checksum ok)" }
             { ok = ($6 == 1) ? $1 : 0; n[$2] = $3 FS $4 FS $5; c[$2] += $1; g[$2] += ok }
             END { for (id in n) { split(n[id], f, FS); printf "%-24s %-16s %-18s %-7s %d (%d)\n", id, f[1], f[2], f[3], c[id], g[id] } }' |
        { read -r header; echo "$header"; sort -b -k2,2V; }
}

ws=$(pkg-config --modversion wireshark)
loaded=$(tshark_user -G plugins 2>/dev/null | awk -F'\t' '$1 ~ /^phonehome\.so */ { print "phonehome.so", $2 }')
[ -n "$loaded" ] || { echo "demo: tshark $ws does not load phonehome.so (run 'make install')" >&2; exit 1; }
echo "== phonehome plugin installed for Wireshark ${ws%.*}: tshark $ws loads $loaded"

devices "$samples/tuya-discovery.pcap"
if [ -d "$shared" ]; then
    for capture in "$shared"/*.pcap; do
        [ -e "$capture" ] && devices "$capture"
    done
fi

echo
echo "== A Tuya 3.4 session, decrypted with the device's local key ($samples/tuya-session-3.4.pcap)"
echo "   tshark -o 'uat:tuya_keys:\"bf91aa7e5c3d2b1a0f9e8d\",\"phdemo34localkey\"' ..."
tshark_user -r "$samples/tuya-session-3.4.pcap" -o 'uat:tuya_keys:"bf91aa7e5c3d2b1a0f9e8d","phdemo34localkey"' \
    -Y 'tuya && tcp' -T fields -e frame.number -e tuya.checksum.status -e _ws.col.Info -e tuya.json |
    awk -F'\t' '{ printf "%4s  %-5s %-52s %s\n", $1, ($2 == 1 ? "good" : "BAD"), $3, $4 }'

echo
echo "== Xiaomi miIO: a device that gives its token away ($samples/miio-lan.pcap)"
tshark_user -r "$samples/miio-lan.pcap" -T fields -e frame.number -e _ws.col.Info -e miio.json |
    awk -F'\t' '{ printf "%4s  %-48s %s\n", $1, $2, $3 }'

p2p_uids() {
    local capture=$1 proto=$2
    echo
    echo "== $proto device UIDs exposed in $capture"
    tshark_user -r "$capture" -Y "$proto.uid" -T fields -e "$proto.uid" -e ip.src -e ip.dst -e _ws.col.Info |
        awk -F'\t' 'BEGIN { printf "%-22s %-16s %-16s %s\n", "UID", "FROM", "TO", "FIRST MESSAGE" }
                     !seen[$1 FS $2 FS $3]++ { printf "%-22s %-16s %-16s %s\n", $1, $2, $3, $4 }'
}
p2p_uids "$samples/iotc-session.pcap" iotc
p2p_uids "$samples/pppp-session.pcap" pppp

if [ -x target/release/filtergen ] && [ -f profiles/roborock-tuya.yaml ]; then
    echo
    echo "== filtergen: display filter for profiles/roborock-tuya.yaml (mode clean)"
    target/release/filtergen filter profiles/roborock-tuya.yaml --mode clean
    echo
    echo "== filtergen: capture filter (BPF) for the same profile (mode device)"
    target/release/filtergen bpf profiles/roborock-tuya.yaml --mode device
    echo
    echo "== filtergen run: clean the six hours (native engine, tshark only for what needs dissection)"
    target/release/filtergen run profiles/roborock-tuya.yaml "$samples"/roborock-hour*.pcap --mode clean --out "$samples/clean"
    echo
    echo "== filtergen report: six hours of a Roborock like the published analysis's ($samples/roborock-hour*.pcap)"
    target/release/filtergen report profiles/roborock-tuya.yaml "$samples"/roborock-hour*.pcap
fi
