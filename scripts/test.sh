#!/bin/sh
# Build vnet-p2p and run every test: the unit and integration suites three
# times (clang; gcc with AddressSanitizer + UndefinedBehaviorSanitizer; gcc),
# and the real-client suite (QEMU guests, DPDK) once, on the gcc build.
# Stops at the first failure; ends with meson's summary.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh test
export VNET_P2P_REQUIRE_REAL_CLIENTS=1

run() {
	dir=$1
	cc=$2
	suites=$3
	shift 3
	[ -f "$dir/build.ninja" ] || CC="$cc" meson setup "$dir" "$@" >/dev/null
	meson compile -C "$dir" >/dev/null
	echo "== tests in $dir (CC=$cc $*)"
	meson test -C "$dir" --print-errorlogs $suites
}

run build-clang clang "--no-suite realclients"
run build-asan gcc "--no-suite realclients" -Db_sanitize=address,undefined -Db_lundef=false
run build gcc ""
