#!/bin/sh
# `meson install` into a temporary DESTDIR, then:
#   install.sh tree     the installed tree is exactly the expected files: the
#                       programs, the shared library with its soname links
#                       and only the public API exported, the header, the
#                       pkg-config file, the man pages, the bash
#                       completions and the systemd units
#   install.sh units    the installed units pass systemd-analyze verify without
#                       a word, with the drop-in vnet-p2p(8) gives for TAP
#                       ports too, and the service's sandbox keeps its
#                       exposure at or below 2.0 (systemd-analyze security)
#   install.sh client   a program built against the installed library through
#                       pkg-config exchanges a frame with vnet-p2p-peer echo
#                       through a server from the build tree
# Meson gives the build's paths in the environment (tests/install/meson.build).
# A missing tool fails the test: CI installs them (.ci/run, scripts/deps.sh).
set -eu

mode=${1:?tree or client}
: "${MESON:?}" "${BUILD_ROOT:?}" "${SOURCE_ROOT:?}" "${PREFIX:?}" "${BINDIR:?}" "${SBINDIR:?}"
: "${LIBDIR:?}" "${INCLUDEDIR:?}" "${MANDIR:?}" "${UNITDIR?}" "${VERSION:?}"
: "${COMPLETIONSDIR:?}"

# Meson points this at the build tree's library; we want the installed one.
unset LD_LIBRARY_PATH

fail() { echo "FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || fail "$1 is not installed (Debian: $2)"; }

work=$(mktemp -d /tmp/vnp-install.XXXXXX)
server_pid=
peer_pid=
cleanup() {
	rc=$?
	set +e
	[ -n "$peer_pid" ] && kill "$peer_pid" 2>/dev/null
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
	if [ $rc -ne 0 ]; then
		for f in "$work"/*.log; do [ -f "$f" ] && { echo "---- $f"; tail -n 30 "$f"; }; done
	fi
	rm -rf "$work"
	exit $rc
}
trap cleanup EXIT INT TERM

dest=$work/dest
"$MESON" install -C "$BUILD_ROOT" --no-rebuild --destdir "$dest" --quiet >"$work/install.log" 2>&1 ||
	fail "meson install failed"

tree() {
	need readelf binutils
	need nm binutils
	need pkg-config pkg-config

	# Exactly these files and links, nothing else (no test helpers, no
	# internal headers or static archives).
	lib=libvnet-p2p-driver.so
	cat >"$work/expected" <<-EOF
		$SBINDIR/vnet-p2p
		$BINDIR/vnet-p2p-ctl
		$LIBDIR/$lib
		$LIBDIR/$lib.0
		$LIBDIR/$lib.$VERSION
		$LIBDIR/pkgconfig/vnet-p2p-driver.pc
		$INCLUDEDIR/vnet-p2p/driver.h
		$MANDIR/man8/vnet-p2p.8
		$MANDIR/man8/vnet-p2p-ctl.8
		$COMPLETIONSDIR/vnet-p2p
		$COMPLETIONSDIR/vnet-p2p-ctl
	EOF
	# UNITDIR is empty when configured with -Dsystemdunitdir=no.
	[ -n "$UNITDIR" ] && printf '%s\n' "$UNITDIR/vnet-p2p@.service" "$UNITDIR/vnet-p2p@.socket" \
		>>"$work/expected"
	sort -o "$work/expected" "$work/expected"
	(cd "$dest" && find . ! -type d | sed 's/^\.//' | sort) >"$work/installed"
	diff -u "$work/expected" "$work/installed" >"$work/tree.diff" ||
		{ cat "$work/tree.diff"; fail "the installed files differ from the expected (- expected, + installed)"; }

	# The programs run from where they were installed.
	"$dest$SBINDIR/vnet-p2p" --version | grep -qx "vnet-p2p $VERSION" || fail "vnet-p2p --version"
	"$dest$BINDIR/vnet-p2p-ctl" --version | grep -qx "vnet-p2p-ctl $VERSION" ||
		fail "vnet-p2p-ctl --version"
	[ -x "$dest$SBINDIR/vnet-p2p" ] && [ -x "$dest$BINDIR/vnet-p2p-ctl" ] || fail "programs not executable"

	# The library: a file, the soname link and the development link.
	[ -f "$dest$LIBDIR/$lib.$VERSION" ] && [ ! -L "$dest$LIBDIR/$lib.$VERSION" ] ||
		fail "$lib.$VERSION is not a regular file"
	[ "$(readlink "$dest$LIBDIR/$lib.0")" = "$lib.$VERSION" ] || fail "$lib.0 does not point to $lib.$VERSION"
	[ "$(readlink "$dest$LIBDIR/$lib")" = "$lib.0" ] || fail "$lib does not point to $lib.0"
	soname=$(readelf -d "$dest$LIBDIR/$lib.$VERSION" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
	[ "$soname" = "$lib.0" ] || fail "soname is '$soname', not $lib.0"

	# Exported: exactly the functions the public header declares, versioned.
	sed -n 's/^[a-z].*[ *]\(vnd_[a-z_]*\)(.*/\1/p' "$SOURCE_ROOT/include/vnet-p2p/driver.h" |
		sort >"$work/declared"
	[ -s "$work/declared" ] || fail "no functions found in driver.h"
	nm -D --defined-only "$dest$LIBDIR/$lib.$VERSION" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }' |
		sed 's/@.*//' | sort -u >"$work/exported"
	diff -u "$work/declared" "$work/exported" >"$work/symbols.diff" ||
		{ cat "$work/symbols.diff"; fail "exported symbols differ from driver.h (- declared, + exported)"; }
	nm -D --defined-only "$dest$LIBDIR/$lib.$VERSION" | grep -q ' T vnd_send@@VNET_P2P_DRIVER_0$' ||
		fail "symbols are not versioned VNET_P2P_DRIVER_0"
	# vnd_config grew: the old struct's users keep their versions.
	for f in vnd_config_init vnd_open_fd vnd_open_path; do
		nm -D --defined-only "$dest$LIBDIR/$lib.$VERSION" | grep -q " T $f@VNET_P2P_DRIVER_0\$" &&
			nm -D --defined-only "$dest$LIBDIR/$lib.$VERSION" | grep -q " T $f@@VNET_P2P_DRIVER_1\$" ||
			fail "$f is not in both VNET_P2P_DRIVER_0 and _1"
	done

	# The header as in the source tree; the pkg-config file's version.
	cmp -s "$SOURCE_ROOT/include/vnet-p2p/driver.h" "$dest$INCLUDEDIR/vnet-p2p/driver.h" ||
		fail "installed driver.h differs from include/vnet-p2p/driver.h"
	v=$(PKG_CONFIG_LIBDIR="$dest$LIBDIR/pkgconfig" pkg-config --modversion vnet-p2p-driver) ||
		fail "pkg-config cannot read vnet-p2p-driver.pc"
	[ "$v" = "$VERSION" ] || fail "vnet-p2p-driver.pc has version '$v', not $VERSION"

	# The man pages as written; the units start the installed server.
	for p in vnet-p2p.8 vnet-p2p-ctl.8; do
		cmp -s "$SOURCE_ROOT/man/$p" "$dest$MANDIR/man8/$p" || fail "installed $p differs from man/$p"
	done
	# The completions as written, where bash-completion looks for them.
	for p in vnet-p2p vnet-p2p-ctl; do
		cmp -s "$SOURCE_ROOT/completion/$p" "$dest$COMPLETIONSDIR/$p" ||
			fail "installed completion $p differs from completion/$p"
	done
	if [ -n "$UNITDIR" ]; then
		grep -qx "ExecStart=$SBINDIR/vnet-p2p \$VNET_P2P_OPTS" "$dest$UNITDIR/vnet-p2p@.service" ||
			fail "vnet-p2p@.service does not start $SBINDIR/vnet-p2p"
		grep -q '@[A-Z]*@' "$dest$UNITDIR/vnet-p2p@.service" "$dest$UNITDIR/vnet-p2p@.socket" &&
			fail "a unit has an unsubstituted @VARIABLE@"
	fi
	echo "installed tree OK: $(wc -l <"$work/installed") files"
}

client() {
	need pkg-config pkg-config
	: "${CC:?}" "${VNET_P2P_BIN:?}" "${VNET_P2P_CTL_BIN:?}" "${VNET_P2P_PEER_BIN:?}"
	need readelf binutils

	# As a user would, with the installed tree standing in for the system.
	PKG_CONFIG_LIBDIR="$dest$LIBDIR/pkgconfig"
	PKG_CONFIG_SYSROOT_DIR=$dest
	export PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
	flags=$(pkg-config --cflags --libs vnet-p2p-driver) || fail "pkg-config vnet-p2p-driver"
	case "$flags" in *"-I$dest$INCLUDEDIR"*"-L$dest$LIBDIR"*) ;;
		*) fail "pkg-config flags '$flags' do not point into the installed tree" ;; esac
	# Strict ISO C: the public header must stand on its own. Sanitized
	# builds install a sanitized library, which needs its runtime first.
	san=
	[ -n "${SANITIZE:-}" ] && [ "$SANITIZE" != none ] && san="-fsanitize=$SANITIZE"
	# shellcheck disable=SC2086
	$CC -std=c11 -pedantic -Wall -Wextra -Werror $san -o "$work/client" \
		"$SOURCE_ROOT/tests/install/client.c" $flags >"$work/compile.log" 2>&1 ||
		fail "the client does not build against the installed library"
	readelf -d "$work/client" | grep -q 'NEEDED.*\[libvnet-p2p-driver\.so\.0\]' ||
		fail "the client is not linked to libvnet-p2p-driver.so.0"

	svr=$work/ctl.sock
	"$VNET_P2P_BIN" --svr "$svr" >"$work/server.log" 2>&1 &
	server_pid=$!
	i=0
	while [ ! -S "$svr" ]; do
		i=$((i + 1))
		[ $i -gt 200 ] && fail "the server did not start"
		sleep 0.05
	done
	"$VNET_P2P_CTL_BIN" --svr "$svr" create -- "$VNET_P2P_PEER_BIN" echo >"$work/peer.log" 2>&1 &
	peer_pid=$!
	LD_LIBRARY_PATH="$dest$LIBDIR" "$VNET_P2P_CTL_BIN" --svr "$svr" create mac=02:00:00:00:00:0a \
		-- "$work/client" >"$work/client.log" 2>&1 || fail "the client failed"
	cat "$work/client.log"
	grep -q "^library $dest$LIBDIR/libvnet-p2p-driver.so.$VERSION$" "$work/client.log" ||
		fail "the client did not run with the installed library"
	kill "$peer_pid"
	wait "$peer_pid" 2>/dev/null || true
	peer_pid=
	kill "$server_pid"
	wait "$server_pid" || fail "the server did not exit cleanly"
	server_pid=
}

units() {
	need systemd-analyze systemd
	need man man-db
	need groff groff-base
	# verify wants ExecStart's program where the unit says: point it into
	# the DESTDIR tree, and nothing else changes.
	mkdir "$work/units"
	cp "$dest$UNITDIR/vnet-p2p@.socket" "$dest$UNITDIR/vnet-p2p@.service" "$work/units/"
	sed -i "s|^ExecStart=$SBINDIR/vnet-p2p |ExecStart=$dest$SBINDIR/vnet-p2p |" \
		"$work/units/vnet-p2p@.service"
	grep -q "^ExecStart=$dest$SBINDIR/vnet-p2p " "$work/units/vnet-p2p@.service" ||
		fail "no ExecStart=$SBINDIR/vnet-p2p in vnet-p2p@.service"
	# Documentation=man:... is checked with man(1): find the installed pages.
	export MANPATH="$dest$MANDIR"
	verify() {
		systemd-analyze verify "$@" >"$work/verify.log" 2>&1 ||
			{ cat "$work/verify.log"; fail "systemd-analyze verify $* failed"; }
		[ -s "$work/verify.log" ] &&
			{ cat "$work/verify.log"; fail "systemd-analyze verify $* has something to say"; }
		return 0
	}
	verify "$work/units/vnet-p2p@lab.socket" "$work/units/vnet-p2p@lab.service"

	# The drop-in vnet-p2p(8) prescribes for TAP ports, as printed there.
	groff -t -man -Tascii -P-cbou "$dest$MANDIR/man8/vnet-p2p.8" 2>/dev/null |
		sed -n '/# \/etc\/systemd\/system\/vnet-p2p@NAME.service.d\/tap.conf/,/^ *$/p' |
		sed 's/^ *//' >"$work/tap.conf"
	grep -qx '\[Service\]' "$work/tap.conf" && grep -q '^CapabilityBoundingSet=CAP_NET_ADMIN$' "$work/tap.conf" ||
		{ cat "$work/tap.conf"; fail "no TAP drop-in found in vnet-p2p(8)"; }
	mkdir "$work/units/vnet-p2p@tap.service.d"
	cp "$work/tap.conf" "$work/units/vnet-p2p@tap.service.d/tap.conf"
	verify "$work/units/vnet-p2p@tap.service"

	systemd-analyze security --offline=yes --threshold=20 "$work/units/vnet-p2p@lab.service" \
		>"$work/security.log" 2>&1 ||
		{ grep -v '^✓' "$work/security.log"; fail "the service's exposure is above 2.0"; }
	grep 'Overall exposure' "$work/security.log"
}

case "$mode" in
tree) tree ;;
units) units ;;
client) client ;;
*) fail "unknown mode '$mode'" ;;
esac
