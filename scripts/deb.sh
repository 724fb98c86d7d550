#!/usr/bin/env bash
# deb.sh [X.Y]: writes target/debian/phonehome_VERSION+wsX.Y_ARCH.deb.
#
# Without X.Y, or with the host's own Wireshark X.Y, the package is built
# here; for another X.Y (4.4: trixie, 4.6: sid, 4.0: bookworm) it is built in
# that suite's chroot (scripts/lib/suite.sh), so one machine makes all three.
# A plugin loads only in the Wireshark X.Y it was built for, so the package
# puts it in exactly that version's global plugin folder and its Depends pins
# the Wireshark library to X.Y: apt refuses it anywhere else.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out_dir=${DEB_OUT:-target/debian}

host_xy=$(pkg-config --modversion wireshark 2>/dev/null | cut -d. -f1,2 || true)
want=${1:-}
if [ "$want" = "--here" ]; then
    want=$host_xy
    [ -n "$want" ] || { echo "deb: pkg-config finds no wireshark: run 'make deps'" >&2; exit 2; }
elif [ -z "$want" ] || [ "$want" = "$host_xy" ]; then
    [ -n "$host_xy" ] || { echo "deb: pkg-config finds no wireshark: run 'make deps', or name a version: make deb WS=4.4" >&2; exit 2; }
    command -v dpkg-shlibdeps >/dev/null || { echo "deb: needs dpkg-dev (apt-get install dpkg-dev)" >&2; exit 2; }
    exec "$0" --here
else
    # shellcheck source=scripts/lib/suite.sh
    . scripts/lib/suite.sh
    need_root "deb $want"
    root=$(build_root "$want")
    trap chroot_unmount_all EXIT
    mount_build_root "$root" "$repo"
    cargo fetch --quiet
    in_build_root "$root" "$repo" "CARGO_NET_OFFLINE=true DEB_OUT='$out_dir' scripts/deb.sh --here"
    exit
fi

# --- Here: build and package for the Wireshark pkg-config finds. ---
target=${CARGO_TARGET_DIR:-target}
ws=$(pkg-config --modversion wireshark)
xy=$(echo "$ws" | cut -d. -f1,2)
plugindir=$(pkg-config --variable=plugindir wireshark)
version=$(awk -F'"' '/^\[workspace.package\]/ { p = 1 } p && /^version/ { print $2; exit }' Cargo.toml)
arch=$(dpkg --print-architecture)
deb="$out_dir/phonehome_${version}+ws${xy}_${arch}.deb"

echo "deb: building phonehome $version for Wireshark $ws"
cargo build --release --quiet -p phonehome-dissector -p filtergen
bin="$target/release"

stage=$(mktemp -d "${TMPDIR:-/tmp}/phonehome-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
pkg="$stage/pkg"
install -D -m 0644 "$bin/libphonehome.so" "$pkg$plugindir/epan/phonehome.so"
install -D -m 0755 "$bin/filtergen" "$pkg/usr/bin/filtergen"
strip --strip-unneeded "$pkg$plugindir/epan/phonehome.so" "$pkg/usr/bin/filtergen"

# Man pages and completions come from the clap definitions themselves.
"$pkg/usr/bin/filtergen" manpages "$stage/man" 2>/dev/null
install -d "$pkg/usr/share/man/man1"
for page in "$stage"/man/*.1; do
    gzip -9n <"$page" >"$pkg/usr/share/man/man1/$(basename "$page").gz"
done
install -d "$pkg/usr/share/bash-completion/completions" "$pkg/usr/share/zsh/vendor-completions" \
    "$pkg/usr/share/fish/vendor_completions.d"
"$pkg/usr/bin/filtergen" completions bash 2>/dev/null >"$pkg/usr/share/bash-completion/completions/filtergen"
"$pkg/usr/bin/filtergen" completions zsh 2>/dev/null >"$pkg/usr/share/zsh/vendor-completions/_filtergen"
"$pkg/usr/bin/filtergen" completions fish 2>/dev/null >"$pkg/usr/share/fish/vendor_completions.d/filtergen.fish"

install -d "$pkg/usr/share/phonehome/profiles" "$pkg/usr/share/doc/phonehome"
install -m 0644 profiles/*.yaml "$pkg/usr/share/phonehome/profiles/"
gzip -9n <README.md >"$pkg/usr/share/doc/phonehome/README.md.gz"
cat >"$pkg/usr/share/doc/phonehome/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: phonehome
License: GPL-2.0-or-later

Files: *
Copyright: the phonehome authors
License: GPL-2.0-or-later
 On Debian systems, the full text of the GNU General Public License
 version 2 can be found in /usr/share/common-licenses/GPL-2.
EOF

# Shared-library dependencies as dpkg-shlibdeps computes them, plus the pin:
# the package that ships this libwireshark, at exactly X.Y.
libpkg=$(dpkg -S "$(readlink -f "$(pkg-config --variable=libdir wireshark)/libwireshark.so")" | cut -d: -f1)
next_minor="${xy%%.*}.$(( ${xy#*.} + 1 ))"
mkdir -p "$stage/src/debian"
printf 'Source: phonehome\n\nPackage: phonehome\nArchitecture: any\n' >"$stage/src/debian/control"
shlibs=$(cd "$stage/src" && dpkg-shlibdeps -O --warnings=0 \
    "$pkg/usr/bin/filtergen" "$pkg$plugindir/epan/phonehome.so" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
depends="${shlibs:+$shlibs, }$libpkg (>= $xy), $libpkg (<< $next_minor~)"

install -d "$pkg/DEBIAN"
cat >"$pkg/DEBIAN/control" <<EOF
Package: phonehome
Version: ${version}+ws${xy}
Architecture: $arch
Maintainer: phonehome developers <phonehome@localhost>
Installed-Size: $(du -sk "$pkg" | cut -f1)
Depends: $depends
Recommends: tshark | wireshark
Section: net
Priority: optional
Description: decode and audit what smart-home devices send (Wireshark $xy plugin)
 A Wireshark plugin that dissects and decrypts Tuya (3.1-3.5), Xiaomi miIO,
 ThroughTek Kalay/IOTC and CS2 PPPP, and filtergen, which compiles YAML
 device profiles into display filters, capture filters, batch jobs,
 reports and MUD files. Built for Wireshark $xy only.
EOF

mkdir -p "$out_dir"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb.part" >/dev/null
mv "$deb.part" "$deb"
echo "deb: wrote $deb ($(du -h "$deb" | cut -f1); Depends: $depends)"
