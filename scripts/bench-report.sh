#!/usr/bin/env bash
# `filtergen report` with the native pass vs the tshark pass (`--engine
# tshark`) vs `filtergen run` (native) on the same captures, side by side in
# one run, plus the native report's peak memory on 40 MiB and on the whole set.
# Usage: scripts/bench-report.sh [TOTAL_MB (default 1024)]
# The set is FILES pcaps of time-shifted copies of the six Roborock-like
# hours (editcap/mergecap), built into target/bench-report/ (not committed).
# The machine may be shared: compare the ratios, not the seconds.
set -euo pipefail
total_mb=${1:-1024}
files=4
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/target/bench-report
bin=$root/target/release/filtergen
profile=$root/profiles/roborock-tuya.yaml
cargo build --release -q -p filtergen -p phonehome-samples --manifest-path "$root/Cargo.toml"
for tool in tshark editcap mergecap capinfos /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench-report: needs $tool" >&2; exit 2; }
done
mkdir -p "$dir/seed" "$dir/set-$total_mb" "$dir/one"
"$root/target/release/phonehome-samples" "$dir/seed" >/dev/null

# A file of about MB MiB: day after day of the six hours, shifted by a day each.
build() { # OUT MB DAY0
    local out=$1 mb=$2 day=$3 parts=() size=0 n=0
    [ -s "$out" ] && [ $(( $(stat -c %s "$out") >> 20 )) -ge "$mb" ] && return
    rm -f "$dir"/part-*.pcap
    while [ $((size >> 20)) -lt "$mb" ]; do
        for h in 0 1 2 3 4 5; do
            editcap -t $(( (day + n) * 86400 )) "$dir/seed/roborock-hour$h.pcap" "$dir/part-$n-$h.pcap"
            parts+=("$dir/part-$n-$h.pcap")
            size=$((size + $(stat -c %s "$dir/part-$n-$h.pcap")))
        done
        n=$((n + 1))
        # mergecap takes the parts in batches, so no command line grows too long.
        if [ ${#parts[@]} -ge 600 ]; then
            mergecap -a -F pcap -w "$dir/batch-$n.pcap" "${parts[@]}" && rm -f "${parts[@]}"
            parts=("$dir/batch-$n.pcap")
        fi
    done
    mergecap -a -F pcap -w "$out.tmp" "${parts[@]}" && mv "$out.tmp" "$out"
    rm -f "$dir"/part-*.pcap "$dir"/batch-*.pcap
}
per_file=$((total_mb / files))
for f in $(seq 1 $files); do
    build "$dir/set-$total_mb/capture$f.pcap" "$per_file" $((f * 10000))
done
build "$dir/one/capture40.pcap" 40 0
packets=$(for f in "$dir/set-$total_mb"/*.pcap; do capinfos -c -M "$f" | awk '/Number of packets/ {print $NF}'; done | paste -sd+ | bc)
size=$(du -sm "$dir/set-$total_mb" | cut -f1)
echo "capture set: $files files, $packets packets, $size MiB"

# Wall seconds, peak RSS (KiB), CPU seconds (user + system).
t() {
    /usr/bin/time -f "%e %M %U %S" -o "$dir/time" "$@" >"$dir/out" 2>"$dir/err" || true
    awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }' "$dir/time"
}
set=("$dir/set-$total_mb")
read -r native native_mem native_cpu < <(t "$bin" report "$profile" "${set[@]}" --format json --jobs 1)
cp "$dir/out" "$dir/native.json"
read -r native2 _ native2_cpu < <(t "$bin" report "$profile" "${set[@]}" --format json --jobs 2)
read -r tshark _ tshark_cpu < <(t "$bin" report "$profile" "${set[@]}" --format json --jobs 1 --engine tshark)
cp "$dir/out" "$dir/tshark.json"
rm -rf "$dir/run"
read -r run _ run_cpu < <(t "$bin" run "$profile" "${set[@]}" --mode device --out "$dir/run" --jobs 1)
read -r _ mem40 _ < <(t "$bin" report "$profile" "$dir/one/capture40.pcap" --format json --jobs 1)
same=$(cmp -s "$dir/native.json" "$dir/tshark.json" && echo "identical" || echo "DIFFERENT")
echo "filtergen report, native, --jobs 1:  ${native} s wall, ${native_cpu} s CPU (peak RSS ${native_mem} KiB)"
echo "filtergen report, native, --jobs 2:  ${native2} s wall, ${native2_cpu} s CPU"
echo "filtergen report --engine tshark:    ${tshark} s wall, ${tshark_cpu} s CPU"
echo "filtergen run --mode device (native): ${run} s wall, ${run_cpu} s CPU"
echo "native report peak RSS on 40 MiB:    ${mem40} KiB; on ${size} MiB: ${native_mem} KiB"
echo "JSON reports of both engines: $same"
awk -v n="$native" -v n2="$native2" -v t="$tshark" -v r="$run" -v nc="$native_cpu" -v tc="$tshark_cpu" -v rc="$run_cpu" 'BEGIN {
    printf "native report vs tshark report: %.0fx faster in wall time, %.0fx in CPU\n", t / n, tc / nc
    printf "native report / native run: %.2f in wall time, %.2f in CPU\n", n / r, nc / rc
    printf "native report --jobs 1 / --jobs 2: %.2fx\n", n / n2 }'
