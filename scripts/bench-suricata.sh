#!/usr/bin/env bash
# Suricata with and without the phonehome rules, and `filtergen report --eve`
# against the tshark-based `filtergen report`, side by side in one run on
# the same capture set: the six Roborock-like hours, time-shifted copies
# joined until the set has SIZE_MB (default 1024).
# Usage: scripts/bench-suricata.sh [trixie|sid] [SIZE_MB] [--suricata-only]
# (--suricata-only leaves out the report comparison, which takes minutes).
# Needs root (the Suricata chroot, see scripts/suricata-chroot.sh). The
# machine may be shared: read the ratios, not the seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:-trixie}
mb=${2:-1024}
only=${3:-}
case $only in "" | --suricata-only) ;; *) echo "bench-suricata: unknown option '$only' (usage: [trixie|sid] [SIZE_MB] [--suricata-only])" >&2; exit 2 ;; esac
scripts/suricata-chroot.sh "$suite" >/dev/null
root=$PWD/target/suricata-$suite
inside=/phonehome-bench
work=$root$inside
mkdir -p "$work"
cargo build --release -q -p filtergen -p phonehome-samples
filtergen=$PWD/target/release/filtergen
profile=profiles/roborock-tuya.yaml

set_file=$work/set-$mb.pcap
if [ ! -s "$set_file" ]; then
    target/release/phonehome-samples "$work/hours" >/dev/null
    hour_bytes=$(du -cb "$work"/hours/roborock-hour*.pcap | tail -1 | cut -f1)
    copies=$(( (mb << 20) / hour_bytes + 1 ))
    echo "building the set: $copies copies of the six hours"
    parts=()
    for c in $(seq 0 $((copies - 1))); do
        for h in "$work"/hours/roborock-hour*.pcap; do
            out=$work/parts/$c-$(basename "$h")
            mkdir -p "$work/parts"
            editcap -t $((c * 6 * 3600)) "$h" "$out"
            parts+=("$out")
        done
    done
    mergecap -a -F pcap -w "$set_file.part" "${parts[@]}"
    mv "$set_file.part" "$set_file"
    rm -rf "$work/parts"
fi
echo "capture set: $(( $(stat -c %s "$set_file") >> 20 )) MiB, $(capinfos -c -M "$set_file" | awk '/Number of packets/ {print $NF}') packets"

"$filtergen" suricata "$profile" -o "$work/rules" --resolve-from "$work"/hours/roborock-hour*.pcap >/dev/null 2>&1
# The baselines the phonehome rules are measured against:
# - no rules at all (Suricata then skips detection for every packet);
# - the floor of any ruleset: two signatures that look at all TCP and all UDP
#   traffic turn Suricata's per-packet detection on for every packet;
# - Debian's stock rules, the event rules the package ships in
#   /etc/suricata/rules (suricata-update puts them in every sensor's set).
: > "$work/empty.rules"
printf '%s\n' \
    'alert tcp any any -> any any (msg:"floor: a content no packet has"; content:"phonehome-floor-0000"; sid:1000002; rev:1;)' \
    'alert udp any any -> any any (msg:"floor: a content no packet has"; content:"phonehome-floor-0000"; sid:1000003; rev:1;)' \
    >"$work/floor.rules"
cat "$root"/etc/suricata/rules/*.rules >"$work/stock.rules"
cp "$work/rules/phonehome.rules" "$work/phonehome.rules"
cat "$work/floor.rules" "$work/rules/phonehome.rules" >"$work/floor+phonehome.rules"
cat "$work/stock.rules" "$work/rules/phonehome.rules" >"$work/stock+phonehome.rules"
# user+system CPU seconds and wall seconds of one command.
measure() {
    /usr/bin/time -f "%U %S %e %M" -o "$work/.t" "$@" >/dev/null 2>"$work/.err" || { tail "$work/.err" >&2; exit 1; }
    awk '{ printf "%.2f %.2f %d\n", $1 + $2, $3, $4 / 1024 }' "$work/.t"
}
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
run_suricata() { # rules out
    rm -rf "${work:?}/${2:?}"
    mkdir -p "$work/$2"
    # Bounded: a Suricata that stalls (seen once with 7.0.10, its reader
    # idle for 14 minutes) fails the run instead of holding it forever.
    measure timeout 1800 chroot "$root" suricata -S "$inside/$1" -r "$inside/set-$mb.pcap" -l "$inside/$2"
}
# Each three times, interleaved; the least CPU of each counts (the machine
# may be shared: another process only ever adds time).
sets=(empty phonehome floor floor+phonehome stock stock+phonehome)
least() { sort -n | head -1; }
rm -f "$work"/*.times
for _ in 1 2 3; do
    for r in "${sets[@]}"; do run_suricata "$r.rules" "out-$r" >>"$work/$r.times"; done
done
declare -A cpu wall mem
for r in "${sets[@]}"; do read -r "cpu[$r]" "wall[$r]" "mem[$r]" < <(least <"$work/$r.times"); done
rm -f "$work"/*.times
alerts=$(grep -c '"event_type":"alert"' "$work/out-phonehome/eve.json" || true)
echo "Suricata $(chroot "$root" suricata -V | grep -o '[0-9][0-9.]*' | head -1), least CPU of 3 ($(grep -c '^alert' "$work/rules/phonehome.rules") phonehome signatures, $alerts alerts, $(grep -c '^alert' "$work/stock.rules") stock signatures):"
without() { # baseline with
    echo "  $1 ${cpu[$1]} s CPU (${wall[$1]} s wall, ${mem[$1]} MiB) -> with phonehome ${cpu[$2]} s CPU (${wall[$2]} s wall, ${mem[$2]} MiB): $(ratio "${cpu[$2]}" "${cpu[$1]}")x CPU, $(ratio "${wall[$2]}" "${wall[$1]}")x wall"
}
without empty phonehome
without floor floor+phonehome
without stock stock+phonehome

[ "$only" = --suricata-only ] && exit 0
eve_mb=$(( $(stat -c %s "$work/out-phonehome/eve.json") >> 20 ))
read -r r0 rw0 rm0 < <(measure "$filtergen" report "$profile" "$set_file" --format json --engine tshark)
read -r rn rwn rmn < <(measure "$filtergen" report "$profile" "$set_file" --format json --engine native)
read -r r1 rw1 rm1 < <(measure "$filtergen" report "$profile" --eve "$work/out-phonehome/eve.json" --format json)
echo "report: tshark-based ${r0} s CPU (${rw0} s wall, ${rm0} MiB), native ${rn} s CPU (${rwn} s wall, ${rmn} MiB), --eve on ${eve_mb} MiB of EVE ${r1} s CPU (${rw1} s wall, ${rm1} MiB): in CPU the native report is $(ratio "$r0" "$rn")x faster than the tshark-based one, --eve $(ratio "$r0" "$r1")x faster than the tshark-based and $(ratio "$rn" "$r1")x than the native"
