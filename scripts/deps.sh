#!/bin/sh
# Install the Debian packages vnet-p2p needs, when missing.
#   scripts/deps.sh build   to build
#   scripts/deps.sh demo    to build and run the guest demo
#   scripts/deps.sh package to build the Debian packages (debian/)
#   scripts/deps.sh test    to build and run every test
set -eu

build_pkgs="meson ninja-build pkg-config gcc"
# ethtool: the host side of tap-tso, and copied into the guest for ethtool -L
guest_pkgs="qemu-system-x86 busybox-static cpio ethtool"
# python3 draws the benchmark's chart (bench/chart.py) and tests it; jq reads
# the server's JSON status in the multiqueue guest tests
test_pkgs="clang libcmocka-dev libclang-rt-14-dev iproute2 iputils-ping procps dpdk-dev libjson-c-dev tcpdump python3 jq"
# libvirtd, its QEMU driver and virsh, for the libvirt guests test (xmllint:
# virt-xml-validate checks the domain XML with it)
libvirt_pkgs="libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients libxml2-utils"
# systemd-analyze and systemd-socket-activate, man pages, readelf and nm;
# tmux for status --watch on a terminal, bash-completion for the completions
ops_pkgs="systemd groff-base man-db binutils tmux bash-completion"
# dpkg-buildpackage with debhelper, lintian, and man for the packages'
# smoke test (tests/package/package.sh, debian/tests/smoke)
package_pkgs="build-essential debhelper dpkg-dev lintian man-db"

case "${1:-build}" in
build) want="$build_pkgs" ;;
demo) want="$build_pkgs $guest_pkgs" ;;
package) want="$build_pkgs $package_pkgs" ;;
test) want="$build_pkgs $guest_pkgs $test_pkgs $libvirt_pkgs $ops_pkgs $package_pkgs" ;;
*) echo "usage: $0 build|demo|package|test" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "Installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing
