#!/usr/bin/env bash
# `filtergen report` vs. one `tshark -T fields` pass over the same captures,
# measured side by side in one run. Usage: scripts/bench-report.sh [DAYS]
# Builds FILES captures of DAYS x the six-hour seed-004-like set each
# (time-shifted copies joined with editcap/mergecap). The machine may be
# shared: compare the ratios, not the seconds.
set -euo pipefail
days=${1:-4}
files=4
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/phonehome-bench-report.XXXXXX)
trap 'rm -rf "$work"' EXIT
cargo build --release -q -p filtergen -p phonehome-samples --manifest-path "$root/Cargo.toml"
"$root/target/release/phonehome-samples" "$work/s" >/dev/null
mkdir -p "$work/set"
for f in $(seq 1 "$files"); do
    parts=()
    for d in $(seq 0 $((days - 1))); do
        for h in 0 1 2 3 4 5; do
            editcap -t $(( (f * days + d) * 86400 )) "$work/s/seed004-hour$h.pcap" "$work/p-$d-$h.pcap"
            parts+=("$work/p-$d-$h.pcap")
        done
    done
    mergecap -a -F pcap -w "$work/set/capture$f.pcap" "${parts[@]}"
    rm -f "$work"/p-*.pcap
done
packets=$(for f in "$work"/set/*.pcap; do capinfos -c -M "$f" | awk '/Number of packets/ {print $NF}'; done | paste -sd+ | bc)
size=$(du -sh "$work/set" | cut -f1)
echo "capture set: $files files, $packets packets, $size"
t() { /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>&1 || true; cat "$work/time"; }
fields=(-T fields -e frame.time_epoch -e ip.src -e ip.dst -e tcp.dstport -e udp.dstport -e dns.qry.name)
read -r plain _ < <(t bash -c "for f in $work/set/*.pcap; do tshark -n -r \$f ${fields[*]}; done")
read -r plugin _ < <(t bash -c "for f in $work/set/*.pcap; do $root/target/release/filtergen tshark -- -n -r \$f ${fields[*]}; done")
read -r rep1 mem1 < <(t "$root/target/release/filtergen" report "$root/profiles/roborock-tuya.yaml" "$work/set" --jobs 1)
read -r repn memn < <(t "$root/target/release/filtergen" report "$root/profiles/roborock-tuya.yaml" "$work/set")
read -r _ memone < <(t "$root/target/release/filtergen" report "$root/profiles/roborock-tuya.yaml" "$work/set/capture1.pcap" --jobs 1)
echo "tshark -T fields, one pass, no plugin:   ${plain} s"
echo "tshark -T fields, one pass, with plugin: ${plugin} s"
echo "filtergen report --jobs 1:              ${rep1} s (peak RSS ${mem1} KiB)"
echo "filtergen report (all cores):           ${repn} s (peak RSS ${memn} KiB)"
echo "filtergen report, one file of $files:        peak RSS ${memone} KiB"
awk -v a="$plugin" -v b="$rep1" -v c="$repn" -v p="$plain" 'BEGIN {
    printf "ratio report --jobs 1 / tshark pass with plugin: %.2f\n", b / a
    printf "ratio report all cores / tshark pass with plugin: %.2f\n", c / a
    printf "ratio report all cores / tshark pass without plugin: %.2f\n", c / p }'
