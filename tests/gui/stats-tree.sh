#!/usr/bin/env bash
# stats-tree.sh CAPTURE PNG: opens CAPTURE in the Wireshark GUI on a private
# Xvfb display with its own session and accessibility buses, opens the
# device view (Statistics > phonehome > Devices) through AT-SPI, prints what
# stats_tree.py reads from it and the X window that shows it, and saves a
# screenshot of the whole screen to PNG. Run it under dbus-run-session; every
# process it starts is stopped when it exits.
set -euo pipefail
capture=${1:?usage: stats-tree.sh CAPTURE PNG}
png=${2:?usage: stats-tree.sh CAPTURE PNG}
here=$(dirname "$0")
export LC_ALL=C QT_ACCESSIBILITY=1 QT_LINUX_ACCESSIBILITY_ALWAYS_ON=1
export XDG_RUNTIME_DIR=$HOME/xdg-runtime
mkdir -p "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"

pids=()
stop() { local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop EXIT

# Xvfb picks a free display number and writes it to descriptor 3.
: >"$HOME/display"
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$HOME/display" 2>"$HOME/xvfb.log" &
pids+=($!)
for _ in $(seq 40); do [ -s "$HOME/display" ] && break; sleep 0.5; done
[ -s "$HOME/display" ] || { echo "Xvfb did not start: $(tail -3 "$HOME/xvfb.log")" >&2; exit 1; }
DISPLAY=:$(head -1 "$HOME/display")
export DISPLAY

# Wait until Wireshark is on the accessibility bus (each check is a fresh
# process: one process does not see applications that register later). The
# first check makes the session bus start the accessibility bus: starting
# them before Wireshark made Qt miss them about one time in three. Should Qt
# still not register, Wireshark is started again.
on_bus='import pyatspi, sys; sys.exit(not any(a is not None and a.name == "Wireshark" for a in pyatspi.Registry.getDesktop(0)))'
registered=false
for attempt in 1 2 3; do
    wireshark -r "$capture" 2>>"$HOME/wireshark.log" &
    pids+=($!)
    for _ in $(seq 10); do
        sleep 2
        if python3 -c "$on_bus" 2>/dev/null; then registered=true; break; fi
    done
    $registered && break
    echo "Wireshark not on the accessibility bus after 20 s (attempt $attempt)" >&2
    kill "${pids[-1]}"
done
$registered || exit 1
python3 "$here/stats_tree.py"
echo "window: $(xdotool search --name '^Wireshark .+Devices .+ ' getwindowname %@ 2>/dev/null | head -1)"
import -window root "$png"
