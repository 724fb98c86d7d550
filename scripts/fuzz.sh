#!/usr/bin/env bash
# Runs every cargo-fuzz target for FUZZ_SECONDS seconds each (make fuzz).
#
#   FUZZ_SECONDS=600 FUZZ_JOBS=2 scripts/fuzz.sh            all targets
#   FUZZ_TARGETS="tuya pppp" FUZZ_SECONDS=30 scripts/fuzz.sh  some of them
#
# Seeds come from the sample captures (phonehome-fuzz-seeds) and go into
# fuzz/seeds/TARGET; what libFuzzer learns stays in fuzz/corpus/TARGET for
# the next run. Each target's log is fuzz/logs/TARGET.log, crashes land in
# fuzz/artifacts/TARGET/. The summary gives executions, corpus size and
# coverage per target; the exit status is 1 when any target found a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
# Stable rustc accepts the nightly flags cargo-fuzz passes with this.
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi
cargo build --release --quiet -p phonehome-samples --bin phonehome-fuzz-seeds
targets=${FUZZ_TARGETS:-$(cd fuzz && cargo fuzz list)}
# shellcheck disable=SC2086
target/release/phonehome-fuzz-seeds fuzz/seeds $targets
(cd fuzz && cargo fuzz build --release)

mkdir -p fuzz/logs
run_one() {
    local t=$1
    mkdir -p "fuzz/corpus/$t"
    (cd fuzz && cargo fuzz run --release "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1) \
        >"fuzz/logs/$t.log" 2>&1
}

declare -A status
running=()
for t in $targets; do
    run_one "$t" & running+=("$!:$t")
    if ((${#running[@]} >= jobs)); then
        entry=${running[0]}; running=("${running[@]:1}")
        if wait "${entry%%:*}"; then status[${entry#*:}]=ok; else status[${entry#*:}]=CRASH; fi
    fi
done
for entry in "${running[@]}"; do
    if wait "${entry%%:*}"; then status[${entry#*:}]=ok; else status[${entry#*:}]=CRASH; fi
done

failed=0
printf '%-14s %7s %12s %8s %8s %10s %s\n' target seconds executions cov ft corpus result
for t in $targets; do
    log=fuzz/logs/$t.log
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo '?')
    ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo '?')
    corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' <<<"$last" | cut -d' ' -f2 || echo '?')
    printf '%-14s %7s %12s %8s %8s %10s %s\n' "$t" "$seconds" "$execs" "$cov" "$ft" "$corp" "${status[$t]}"
    [[ ${status[$t]} == ok ]] || failed=1
done
if ((failed)); then
    echo "crashes: see fuzz/logs/*.log and fuzz/artifacts/" >&2
fi
exit $failed
