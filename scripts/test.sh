#!/bin/sh
# Build vnet-p2p and run every test three times: with clang, with gcc plus
# AddressSanitizer and UndefinedBehaviorSanitizer, and with plain gcc (the
# build the demo uses). Stops at the first failure; ends with meson's summary.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh test

run() {
	dir=$1
	cc=$2
	shift 2
	[ -f "$dir/build.ninja" ] || CC="$cc" meson setup "$dir" "$@" >/dev/null
	meson compile -C "$dir" >/dev/null
	echo "== all tests: $dir (CC=$cc $*)"
	meson test -C "$dir" --print-errorlogs
}

run build-clang clang
run build-asan gcc -Db_sanitize=address,undefined -Db_lundef=false
run build gcc
