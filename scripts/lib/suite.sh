# shellcheck shell=bash
# Debian chroots for another Wireshark X.Y, shared by check-wireshark.sh,
# deb.sh and check-deb.sh. Source it; needs root (debootstrap, chroot, mount).
#
# Which Debian suite ships which Wireshark is written here and nowhere else.

# suite_for_ws X.Y: the Debian suite whose tshark is Wireshark X.Y.
suite_for_ws() {
    case $1 in
        4.0) echo bookworm ;;
        4.4) echo trixie ;;
        4.6) echo sid ;;
        *) echo "no Debian suite is known to ship Wireshark $1 (4.0: bookworm, 4.4: trixie, 4.6: sid)" >&2
           return 2 ;;
    esac
}

# The Debian mirror this machine's own apt configuration uses (deb822 or
# one-line format); the repository names no mirror of its own.
apt_mirror() {
    local m
    m=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    [ -n "$m" ] || m=$(awk '/^deb / && $3 !~ /security/ { print $2; exit }' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
    [ -n "$m" ] || { echo "no Debian mirror found in /etc/apt/sources.list*" >&2; return 2; }
    echo "$m"
}

need_root() {
    [ "$(id -u)" = 0 ] || { echo "$1: needs root (debootstrap, chroot, mount)" >&2; exit 2; }
}

# suite_base SUITE: a minbase tarball of SUITE, made once and cached.
suite_base() {
    local suite=$1 tar=/var/tmp/phonehome-base-$1.tar dir
    if [ ! -s "$tar" ]; then
        command -v debootstrap >/dev/null ||
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
        dir=$(mktemp -d /var/tmp/phonehome-debootstrap.XXXXXX)
        echo "debootstrap $suite (once; cached in $tar)" >&2
        debootstrap --variant=minbase --include=ca-certificates "$suite" "$dir" "$(apt_mirror)" \
            >"$dir.log" 2>&1 || { tail -5 "$dir.log" >&2; rm -rf "$dir" "$dir.log"; return 1; }
        # A name of its own per run: another tree may debootstrap at the same time.
        tar -C "$dir" -cf "$tar.$$.part" . && mv "$tar.$$.part" "$tar"
        rm -rf --one-file-system "$dir" "$dir.log"
    fi
    echo "$tar"
}

# suite_root SUITE DIR: unpack a fresh copy of SUITE's base into DIR, ready
# for apt (resolver, CAs and pip settings of this machine, snapshot dates).
suite_root() {
    local tar
    tar=$(suite_base "$1") || return 1
    mkdir -p "$2"
    tar -C "$2" -xf "$tar"
    chmod 755 "$2"
    cp /etc/resolv.conf "$2/etc/resolv.conf"
    cp /usr/local/share/ca-certificates/* "$2/usr/local/share/ca-certificates/" 2>/dev/null || true
    chroot "$2" update-ca-certificates >/dev/null 2>&1 || true
    # The archive may be a snapshot whose Release files are past Valid-Until.
    echo 'Acquire::Check-Valid-Until "false";' >"$2/etc/apt/apt.conf.d/99phonehome-snapshot"
}

# Mounts made with chroot_mount are undone by chroot_unmount_all (call it
# from an EXIT trap).
CHROOT_MOUNTS=()
chroot_mount() { # chroot_mount SRC ROOT DEST
    mkdir -p "$2$3"
    mount --bind "$1" "$2$3"
    CHROOT_MOUNTS=("$2$3" "${CHROOT_MOUNTS[@]}")
}
chroot_proc() { # chroot_proc ROOT
    mountpoint -q "$1/proc" && return 0
    mount -t proc proc "$1/proc"
    CHROOT_MOUNTS=("$1/proc" "${CHROOT_MOUNTS[@]}")
}
chroot_unmount_all() {
    local m
    for m in "${CHROOT_MOUNTS[@]}"; do umount -l "$m" 2>/dev/null || true; done
    CHROOT_MOUNTS=()
}

# chroot_apt ROOT PACKAGE...: install packages in ROOT, quietly.
chroot_apt() {
    local root=$1
    shift
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# build_root X.Y: a persistent chroot with that Wireshark's development files
# and a packaging toolchain, made once under target/ of the working tree (the
# caller's current folder) and reused. Each tree has its own, so runs from
# two trees at once never bind their sources onto the same /src.
BUILD_PACKAGES=(tshark libwireshark-dev libglib2.0-dev pkg-config gcc libc6-dev ca-certificates dpkg-dev)
build_root() {
    local xy=$1 suite root
    suite=$(suite_for_ws "$xy") || return 2
    root=$PWD/target/chroot-ws$xy
    if ! [ -f "$root/.phonehome-ready" ]; then
        rm -rf --one-file-system "$root"
        suite_root "$suite" "$root" >&2 || return 1
        echo "installing Wireshark $xy development files in $root ($suite)" >&2
        chroot_apt "$root" "${BUILD_PACKAGES[@]}" >&2 || return 1
        touch "$root/.phonehome-ready"
    fi
    echo "$root"
}

# in_build_root ROOT REPO COMMAND: run COMMAND in ROOT with this repository
# at /src, the host's Rust toolchain and crate cache, and a target folder of
# its own so builds for different Wireshark versions never mix.
in_build_root() {
    local root=$1 repo=$2 xy
    xy=$(chroot "$root" pkg-config --modversion wireshark | cut -d. -f1,2)
    chroot "$root" env -i HOME=/root LANG=C.UTF-8 CARGO_HOME=/opt/cargo RUSTUP_HOME=/opt/rustup \
        PATH=/opt/cargo/bin:/usr/sbin:/usr/bin:/sbin:/bin CARGO_TARGET_DIR="/src/target/wireshark-$xy" \
        bash -c "cd /src && $3"
}

# mount_build_root ROOT REPO: bind the repository, toolchain and crate cache.
mount_build_root() {
    chroot_proc "$1"
    chroot_mount "$2" "$1" /src
    chroot_mount "${CARGO_HOME:-$HOME/.cargo}" "$1" /opt/cargo
    chroot_mount "${RUSTUP_HOME:-$HOME/.rustup}" "$1" /opt/rustup
}
