#!/usr/bin/env bash
# watch benchmark (make bench-watch): the packet rate `filtergen watch` keeps
# up with before dumpcap reports drops or a ring file is rotated away
# unread. The six seed-004 sample hours (a Roborock on Tuya firmware, every
# packet the device's) are replayed by tcpreplay at increasing --pps into
# one end of a veth pair in a namespace made here; watch (profile
# roborock-tuya, ring 6 files x 2 s) captures the other end. Per rate: the
# rate tcpreplay reached, dumpcap's received/dropped counts, the packets
# watch's final report holds, ring files missed. Needs root, dumpcap, tcpreplay.
#
#   BENCH_SECONDS=6 BENCH_RATES="5000 10000 20000 40000 80000" scripts/bench-watch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-6}
rates=${BENCH_RATES:-"5000 10000 20000 40000 80000 160000"}

[ "$(id -u)" = 0 ] || { echo "bench-watch: needs root (network namespace)" >&2; exit 2; }
for tool in dumpcap tcpreplay nsenter; do
    command -v "$tool" >/dev/null || { echo "bench-watch: needs $tool" >&2; exit 2; }
done
cargo build --release --quiet -p filtergen -p phonehome-samples --bin filtergen --bin phonehome-samples
work=$(mktemp -d /tmp/phonehome-bench-watch.XXXXXX)
ns=phbw$$
cleanup() {
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
target/release/phonehome-samples "$work/samples" >/dev/null
caps=("$work"/samples/seed004-hour*.pcap)
ip netns add "$ns"
in_ns() { nsenter --net="/var/run/netns/$ns" "$@"; }
in_ns ip link add cap0 type veth peer name rep0
for dev in cap0 rep0; do
    in_ns sysctl -q -w "net.ipv6.conf.$dev.disable_ipv6=1"
    in_ns ip link set "$dev" up
done

printf '%-10s %-12s %-12s %-10s %-12s %-8s\n' "asked pps" "sent pps" "received" "dropped" "in report" "missed"
best=0
for pps in $rates; do
    dir="$work/ring-$pps"
    limit=$((pps * seconds))
    in_ns target/release/filtergen watch profiles/roborock-tuya.yaml -i cap0 --dir "$dir" --ring 6:2 \
        >"$work/alerts-$pps" 2>"$work/stderr-$pps" &
    watch_pid=$!
    for _ in $(seq 100); do compgen -G "$dir/watch_*.pcapng" >/dev/null && break; sleep 0.1; done
    sent=$(in_ns tcpreplay -i rep0 --pps "$pps" --loop 0 --limit "$limit" "${caps[@]}" 2>&1 \
        | awk '/Rated:/ { for (i = 1; i <= NF; i++) if ($i ~ /pps/) { print int($(i - 1)); exit } }')
    sleep 3
    kill -TERM "$watch_pid"
    wait "$watch_pid" || true
    read -r received dropped < <(sed -n 's/.*dumpcap received \([0-9]*\) packets, dropped \([0-9]*\).*/\1 \2/p' "$work/stderr-$pps")
    reported=$(grep -o '"device_packets": *[0-9]*' "$dir/roborock-tuya.report.json" | grep -o '[0-9]*$')
    missed=$(grep -o 'ring files were rotated away[^"]*' "$dir/roborock-tuya.report.json" | head -1 | wc -l)
    printf '%-10s %-12s %-12s %-10s %-12s %-8s\n' "$pps" "${sent:-?}" "${received:-?}" "${dropped:-?}" "${reported:-?}" "$missed"
    if [ "${dropped:-1}" = 0 ] && [ "$missed" = 0 ] && [ "${reported:-0}" -ge "$limit" ]; then
        best=${sent:-$pps}
    else
        break
    fi
done
echo "watch keeps up with $best packets/s (no dumpcap drops, every packet in the report, no ring file missed)"
