#!/bin/sh
# Install the Debian packages vnet-p2p needs to build and test, when missing.
# Usage: scripts/deps.sh [build|test]   (test also pulls the test-only tools)
set -eu

build_pkgs="meson ninja-build pkg-config gcc clang libcmocka-dev"
test_pkgs="libclang-rt-14-dev iproute2 procps qemu-system-x86 busybox-static cpio dpdk-dev"

want="$build_pkgs"
[ "${1:-build}" = test ] && want="$want $test_pkgs"

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
