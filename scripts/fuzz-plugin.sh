#!/usr/bin/env bash
# Whole-plugin mutation run (make fuzz-plugin): every sample capture, the
# real captures in ../shared/captures and tests/regressions/captures,
# corrupted with editcap -E, cut at and inside every frame, frames shortened
# to random lengths; each mutant through tshark with the release plugin and
# every sample key. Fails on a crash, an abort, a hang or an assertion.
#
#   scripts/fuzz-plugin.sh            the full run
#   scripts/fuzz-plugin.sh --quick    a few mutants per capture
#   scripts/fuzz-plugin.sh x.pcap     given captures only
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p phonehome-dissector
cargo build --release --quiet -p phonehome-e2e --bin phonehome-mutate
PHONEHOME_PLUGIN=$PWD/target/release/libphonehome.so exec target/release/phonehome-mutate "$@"
