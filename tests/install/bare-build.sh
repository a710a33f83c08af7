#!/bin/sh
# A build as a packager or a new user makes it: with no test library in
# reach (pkg-config and cmake hidden, so cmocka and json-c cannot be found)
# `meson setup` must succeed with the tests left out, and the server, the
# control tool and the library must build; -Dtests=enabled must refuse.
set -eu
: "${MESON:?}" "${SOURCE_ROOT:?}"

fail() { echo "FAIL: $*" >&2; exit 1; }

work=$(mktemp -d /tmp/vnp-bare.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
printf "[binaries]\npkgconfig = '/bin/false'\npkg-config = '/bin/false'\ncmake = '/bin/false'\n" \
	>"$work/no-test-libs.ini"

"$MESON" setup "$work/b" "$SOURCE_ROOT" --native-file "$work/no-test-libs.ini" >"$work/setup.log" 2>&1 ||
	{ cat "$work/setup.log" >&2; fail "meson setup failed without the test libraries"; }
grep -q "cmocka found: NO" "$work/setup.log" || fail "cmocka was found: the test proves nothing"
grep -q "suites are left out" "$work/setup.log" || fail "setup did not say the suites are left out"
"$MESON" compile -C "$work/b" >"$work/compile.log" 2>&1 ||
	{ tail -n 30 "$work/compile.log" >&2; fail "the build failed without the test libraries"; }
for f in src/vnet-p2p tools/vnet-p2p-ctl lib/libvnet-p2p-driver.so.0; do
	[ -e "$work/b/$f" ] || fail "$f was not built"
done
"$work/b/src/vnet-p2p" --version >/dev/null || fail "the server does not run"

if "$MESON" setup "$work/e" "$SOURCE_ROOT" --native-file "$work/no-test-libs.ini" -Dtests=enabled \
	>"$work/enabled.log" 2>&1; then
	fail "-Dtests=enabled succeeded without cmocka"
fi
echo "ok: built without the test libraries; -Dtests=enabled refuses"
