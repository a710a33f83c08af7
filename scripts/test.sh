#!/bin/sh
# Build vnet-p2p and run every test: the unit and integration suites four
# times (clang; AddressSanitizer + UndefinedBehaviorSanitizer with gcc and
# again with clang, whose UBSan also checks pointer arithmetic; gcc),
# the libFuzzer targets for a bounded time, the benchmark in its short mode,
# the Debian packages (built, installed, smoke-tested, purged), and the
# real-client suite (QEMU guests, DPDK) once, on the gcc build.
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
	[ -f "$dir/build.ninja" ] || CC="$cc" meson setup "$dir" -Dtests=enabled "$@" >/dev/null
	meson compile -C "$dir" >/dev/null
	echo "== tests in $dir (CC=$cc $*)"
	meson test -C "$dir" --print-errorlogs $suites
}

run build-clang clang "--no-suite realclients"
run build-asan gcc "--no-suite realclients" -Db_sanitize=address,undefined -Db_lundef=false
run build-casan clang "--no-suite realclients" -Db_sanitize=address,undefined -Db_lundef=false

# Each libFuzzer target for a bounded time (FUZZ_SECONDS, default 60; 0
# skips), two at a time (six targets: three times FUZZ_SECONDS): any
# crash, leak or sanitizer report fails the run.
if [ "${FUZZ_SECONDS:-60}" -gt 0 ]; then
	echo "== fuzzing, ${FUZZ_SECONDS:-60} s per target (build-fuzz)"
	FUZZ_SECONDS=${FUZZ_SECONDS:-60} fuzz/run.sh
fi

# The benchmark once in its short mode, so it cannot rot; no speed is
# asserted (VNET_P2P_BENCH=0 skips).
if [ "${VNET_P2P_BENCH:-1}" != 0 ]; then
	echo "== benchmark, short mode (bench/run.sh --quick)"
	bench/run.sh --quick --out build-release/bench-quick.json
fi

# The Debian packages: built from a clean copy with dpkg-buildpackage,
# checked by lintian, installed, smoke-tested and purged
# (VNET_P2P_PACKAGE=0 skips).
if [ "${VNET_P2P_PACKAGE:-1}" != 0 ]; then
	echo "== Debian packages (tests/package/package.sh)"
	tests/package/package.sh
fi

run build gcc ""
