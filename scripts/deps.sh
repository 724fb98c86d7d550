#!/usr/bin/env bash
# Installs what phonehome needs on Debian/Ubuntu, only where it is missing.
set -euo pipefail

packages=(tshark libwireshark-dev libglib2.0-dev pkg-config gcc libc6-dev python3-venv python3-pip python3-dev util-linux tcpdump shellcheck nftables dnsmasq-base iproute2 tcpreplay)
# The device view's test in the Wireshark GUI: a virtual X server, a session
# bus with the accessibility bus that drives the GUI, and a screenshot.
# `wireshark` is the Qt GUI (bookworm: a package depending on wireshark-qt,
# which trixie and sid no longer have).
packages+=(wireshark xvfb dbus at-spi2-core python3-pyatspi xdotool imagemagick)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    # tshark's debconf question (may non-root users capture?) keeps its default: no.
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null; then
    echo "phonehome is written in Rust: install a toolchain (1.85 or newer) with rustup, https://rustup.rs" >&2
    exit 2
fi
