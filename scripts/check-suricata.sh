#!/usr/bin/env bash
# `filtergen suricata` and `filtergen report --eve` against the real
# Suricata of a Debian suite, in a chroot cached under target/ (built by
# scripts/suricata-chroot.sh). Usage: scripts/check-suricata.sh trixie|sid
#
# 1. For every shipped profile and every sample capture (and the six
#    Roborock-like hours read together), Suricata runs exactly
#    `suricata -S DIR/phonehome.rules -r CAPTURE -l OUT` with the suite's
#    stock suricata.yaml. The addresses it raises "unexpected destination"
#    for must be exactly the addresses `filtergen report` marks UNEXPECTED
#    on the same capture, and "hard-coded resolver" must name exactly the
#    resolvers the report calls not local (114.114.114.114 in the Roborock-like
#    hours, nothing elsewhere).
# 2. The key-free signatures fire on the captures that carry their pattern
#    (miIO token leak, Kalay master, PPPP server, Tuya leaving the LAN) and
#    nowhere else.
# 3. `filtergen report --eve` on Suricata's EVE output finds the same
#    endpoints, names, statuses, resolvers and DNS periods as the
#    tshark-based report (what EVE cannot carry is listed, not compared).
# Needs root (chroot). Not part of `make test`: `make check-suricata`.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
suite=${1:-trixie}
start=$(date +%s)
[ "$(id -u)" = 0 ] || { echo "check-suricata: needs root (chroot)" >&2; exit 2; }

scripts/suricata-chroot.sh "$suite"
root=$repo/target/suricata-$suite
version=$(chroot "$root" suricata -V | grep -o '[0-9][0-9.]*' | head -1)

cargo build --release --quiet -p filtergen -p phonehome-samples -p phonehome-dissector
filtergen=$repo/target/release/filtergen
[ -f "$repo/target/release/libphonehome.so" ] && export PHONEHOME_PLUGIN=${PHONEHOME_PLUGIN:-$repo/target/release/libphonehome.so}

# The work folder lives inside the chroot, so Suricata reads and writes
# plain paths there; the host sees the same files under $root.
inside=/phonehome-check
work=$root$inside
rm -rf "$work"
mkdir -p "$work/captures" "$work/roborock"
"$repo/target/release/phonehome-samples" "$work/captures" >/dev/null
mv "$work"/captures/roborock-hour*.pcap "$work/roborock/"
# Tuya leaving the LAN: the Tuya 3.4 session with its app side moved to a
# documentation address outside any LAN.
tcprewrite --dstipmap=192.168.50.10/32:203.0.113.10/32 --srcipmap=192.168.50.10/32:203.0.113.10/32 \
    --infile="$work/captures/tuya-session-3.4.pcap" --outfile="$work/captures/tuya-session-wan.pcap"

suricata_run() { # rules-dir input out-dir
    mkdir -p "$work/$3"
    chroot "$root" suricata -S "$inside/$1/phonehome.rules" -r "$inside/$2" -l "$inside/$3" >"$work/$3/suricata.out" 2>&1 ||
        { echo "suricata failed on $2:" >&2; tail -20 "$work/$3/suricata.out" >&2; exit 1; }
    if grep -qiE '<Error>|\bE: ' "$work/$3/suricata.out"; then
        echo "suricata reported errors on $2:" >&2
        grep -iE '<Error>|\bE: ' "$work/$3/suricata.out" | head >&2
        exit 1
    fi
}

status=0
checked=0
# One comparison: profile, rules dir, inputs (host paths), out dir.
compare() {
    local profile=$1 rules=$2 out=$3
    shift 3
    local name
    name=$(basename "$profile" .yaml)
    "$filtergen" report "$profile" "$@" --format json -o "$work/$out/report.json" 2>/dev/null || true
    "$filtergen" report "$profile" --eve "$work/$out/eve.json" --format json -o "$work/$out/report-eve.json" 2>/dev/null || true
    if ! python3 "$repo/scripts/suricata-compare.py" "$name" "$work/$out" "$*"; then
        status=1
    fi
    checked=$((checked + 1))
}

# Suricata knows a device by its address only, so the report it is compared
# with does too: each profile is copied without its device MACs (a sample
# host may carry a MAC that a profile's placeholder also has).
mkdir -p "$work/profiles"
cp -r profiles/noise "$work/profiles/"
for p in profiles/*.yaml; do
    awk '/^device:/ { dev = 1; print; next } /^[^ #]/ { dev = 0 } !(dev && $1 == "mac:")' "$p" >"$work/profiles/$(basename "$p")"
done

captures=("$work"/captures/*.pcap)
seed_ip=10.10.10.8 # samples/src/roborock_hours.rs device()
for profile in "$work"/profiles/*.yaml; do
    name=$(basename "$profile" .yaml)
    for cap in "${captures[@]}"; do
        c=$(basename "$cap" .pcap)
        rules=rules-$name-$c
        "$filtergen" suricata "$profile" -o "$work/$rules" --resolve-from "$cap" >/dev/null 2>"$work/warnings-$name"
        suricata_run "$rules" "captures/$c.pcap" "out-$name-$c"
        compare "$profile" "$rules" "out-$name-$c" "$cap"
    done
    # The six hours together (Suricata reads the folder), the Roborock-like
    # device moved to this profile's device address so that every profile
    # meets the same traffic: each sorts it differently.
    ip=$(grep -m1 -oP '^\s+ip:\s*\[\s*"?\K[^",\]\s]+' "$profile")
    set_dir=roborock-as-$name
    mkdir -p "$work/$set_dir"
    for h in "$work"/roborock/*.pcap; do
        tcprewrite --fixcsum --srcipmap="$seed_ip/32:$ip/32" --dstipmap="$seed_ip/32:$ip/32" \
            --infile="$h" --outfile="$work/$set_dir/$(basename "$h")"
    done
    rules=rules-$name-roborock
    "$filtergen" suricata "$profile" -o "$work/$rules" --resolve-from "$work/$set_dir"/*.pcap >/dev/null 2>>"$work/warnings-$name"
    suricata_run "$rules" "$set_dir" "out-$name-roborock"
    compare "$profile" "$rules" "out-$name-roborock" "$work/$set_dir"
done

# The key-free signatures: where each must fire, and that it fires nowhere else.
python3 "$repo/scripts/suricata-compare.py" --signatures "$work" || status=1

echo "check-suricata ($suite, Suricata $version): $checked comparisons, $(( $(date +%s) - start )) s"
[ $status = 0 ] && echo "check-suricata: all equal" || echo "check-suricata: FAILED" >&2
exit $status
