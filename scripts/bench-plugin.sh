#!/usr/bin/env bash
# Plugin benchmark (make bench): tshark with the plugin vs tshark without it
# on the same >= 1M-frame mixed capture, side by side in one run, plus the
# pure-Rust parser throughput.
#
#   BENCH_FRAMES=1000000 BENCH_REPS=3 scripts/bench-plugin.sh
#
# The capture (target/bench/, not committed) mixes every sample capture of
# the corpus, Tuya sessions 3.3/3.4/3.5 with keys, Kalay, PPPP and miIO with
# a token, new conversations each round, with DNS, HTTP and random UDP.
# Each case runs REPS times, alternating with and without the plugin; the
# best CPU time (user + system: steadier than wall time on a shared
# machine) and the peak RSS (/usr/bin/time) of each side are reported.
set -euo pipefail
cd "$(dirname "$0")/.."
frames=${BENCH_FRAMES:-1000000}
reps=${BENCH_REPS:-3}

[ -x /usr/bin/time ] || { echo "installing GNU time" >&2; apt-get install -y -qq time >/dev/null; }
cargo build --release --quiet -p phonehome-dissector
cargo build --release --quiet -p phonehome-samples --bin phonehome-bench
mkdir -p target/bench
cap=target/bench/mixed-$frames.pcap
[ -f "$cap" ] || target/release/phonehome-bench capture "$cap" "$frames"
mapfile -t keys < <(target/release/phonehome-bench keys)

# Two private HOMEs, one with the plugin; as root tshark runs as nobody
# (root ignores per-user plugins), reading the capture on stdin.
xy=$(pkg-config --modversion wireshark | cut -d. -f1,2)
work=$(mktemp -d /tmp/phonehome-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/with/.local/lib/wireshark/plugins/$xy/epan" "$work/without"
cp target/release/libphonehome.so "$work/with/.local/lib/wireshark/plugins/$xy/epan/phonehome.so"
as=()
if [ "$(id -u)" = 0 ]; then
    chown -R nobody:nogroup "$work"
    as=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
fi

# run HOME ARGS...: prints "cpu-seconds peak-KiB" of one tshark run.
run() {
    local home=$1; shift
    /usr/bin/time -f '%U %S %M' -o "$work/time" "${as[@]}" env HOME="$work/$home" LC_ALL=C \
        tshark -r - "$@" <"$cap" >"$work/out-$home" 2>"$work/err-$home" || {
        echo "tshark failed ($home): $(head -3 "$work/err-$home")" >&2; exit 1; }
    awk '{printf "%.2f %d\n", $1 + $2, $3}' "$work/time"
}

# case NAME "ARGS with" "ARGS without": best of REPS, alternating sides.
bench() {
    local name=$1 with=$2 without=$3 bw=999999 bo=999999 mw=0 mo=0 t m
    for ((i = 0; i < reps; i++)); do
        read -r t m < <(eval run with "${keys[*]@Q}" "$with")
        bw=$(echo "$t $bw" | awk '{print ($1 < $2) ? $1 : $2}'); ((m > mw)) && mw=$m
        read -r t m < <(eval run without "$without")
        bo=$(echo "$t $bo" | awk '{print ($1 < $2) ? $1 : $2}'); ((m > mo)) && mo=$m
    done
    local rows
    rows=$(wc -l <"$work/out-with")
    printf '%-46s %9s %9s %7s %10s %10s %7s %9s\n' "$name" "$bw" "$bo" \
        "$(awk -v a="$bw" -v b="$bo" 'BEGIN{printf "%.2f", a/b}')" "$((mw / 1024))" "$((mo / 1024))" \
        "$(awk -v a="$mw" -v b="$mo" 'BEGIN{printf "%.2f", a/b}')" "$rows"
}

echo "capture: $cap ($(capinfos -c -M "$cap" | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}') frames, $(du -m "$cap" | cut -f1) MB); best of $reps"
printf '%-46s %9s %9s %7s %10s %10s %7s %9s\n' case "cpu with" "cpu w/o" ratio "MiB with" "MiB w/o" ratio "rows"
common="-T fields -e frame.number -e ip.src -e ip.dst -e udp.dstport -e tcp.dstport -e _ws.col.Protocol"
bench "-T fields (built-in fields + Protocol column)" "$common" "$common"
ports="-Y 'tcp.port == 6668 || udp.port in {6667, 10001, 32100, 32108, 32761, 54321}'"
bench "-Y on the device ports (same filter)" "$ports" "$ports"
bench "-Y 'tuya.json contains \"dps\"' vs port filter" "-Y 'tuya.json contains \"dps\"'" "$ports"
bench "-V (full trees) | wc" "-V" "-V"

echo
target/release/phonehome-bench throughput 2
