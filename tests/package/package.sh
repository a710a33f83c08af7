#!/bin/sh
# The Debian packages, end to end, as on a fresh machine:
#  1. a clean copy of the source (the files git knows, untracked ones
#     included, none it ignores: no build directories) gets its build
#     dependencies through `apt-get build-dep ./`;
#  2. `dpkg-buildpackage -us -uc -b` builds vnet-p2p, libvnet-p2p-driver0 and
#     libvnet-p2p-driver-dev; each package holds exactly the expected
#     files, and no maintainer script enables or starts a unit;
#  3. lintian checks the binary packages and the source package (built with
#     dpkg-source from the same copy): any error or warning fails, the
#     overridden ones (explained in debian/) excepted; info tags are shown;
#  4. `apt-get install ./*.deb` installs them, debian/tests/smoke runs
#     against the installed programs (a server from /usr/sbin/vnet-p2p, two
#     clients built against the -dev package exchanging frames, man pages,
#     units), and `apt-get purge` removes them again, leaving the machine as
#     it was. The packages are kept in build-deb/.
# Needs root for apt-get (sudo otherwise); installs the tools it needs with
# scripts/deps.sh package. The packages it installs are purged at the end,
# whatever happens, and so are ones of the same name found installed
# before. scripts/test.sh runs it.
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)

fail() { echo "FAIL: $*" >&2; exit 1; }
scripts/deps.sh package >&2
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
# Wait for another apt or dpkg run to finish instead of failing at once.
apt_lock=-oDPkg::Lock::Timeout=300

packages="vnet-p2p libvnet-p2p-driver0 libvnet-p2p-driver-dev"
start=$(date +%s)
work=$(mktemp -d /tmp/vnp-package.XXXXXX)
installed=
cleanup() {
	rc=$?
	set +e
	if [ -n "$installed" ]; then
		# shellcheck disable=SC2086
		$SUDO apt-get "$apt_lock" purge -y -q $packages >"$work/purge.log" 2>&1 ||
			{ cat "$work/purge.log"; echo "FAIL: apt-get purge $packages" >&2; rc=1; }
	fi
	if [ $rc -ne 0 ]; then
		for f in "$work"/*.log; do [ -f "$f" ] && { echo "---- $f"; tail -n 40 "$f"; }; done
	fi
	rm -rf "$work"
	exit $rc
}
trap cleanup EXIT INT TERM

# 1. The copy, and its build dependencies.
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
upstream=${version%-*}
src=$work/vnet-p2p-$upstream
mkdir "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# Tracked files deleted in the work tree are left out (tar's word on
	# them goes to copy.log).
	git ls-files -z -c -o --exclude-standard |
		tar --null -T - --ignore-failed-read -cf - 2>"$work/copy.log" | tar -xf - -C "$src"
else
	tar --exclude='./build' --exclude='./build-*' --exclude=./.git -cf - . | tar -xf - -C "$src"
fi
if [ ! -f "$src/debian/control" ] || [ ! -f "$src/meson.build" ]; then
	fail "the copy in $src is incomplete"
fi
$SUDO apt-get "$apt_lock" build-dep -y -q "$src" >"$work/build-dep.log" 2>&1 || fail "apt-get build-dep $src"
echo "ok: a clean copy of the source; its build dependencies are installed"

# The source package, for lintian's checks of debian/ (the upstream tarball
# is the copy without debian/).
(cd "$work" && tar --exclude="vnet-p2p-$upstream/debian" --owner=0 --group=0 --sort=name \
	-czf "vnet-p2p_$upstream.orig.tar.gz" "vnet-p2p-$upstream")
(cd "$work" && dpkg-source -b "vnet-p2p-$upstream") >"$work/source.log" 2>&1 || fail "dpkg-source -b"

# 2. The binary packages.
t=$(date +%s)
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || fail "dpkg-buildpackage -us -uc -b"
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
echo "ok: dpkg-buildpackage -us -uc -b built $(cd "$work" && echo *.deb) in $(($(date +%s) - t)) s"

lib=usr/lib/$multiarch/libvnet-p2p-driver.so
doc=usr/share/doc
overrides=usr/share/lintian/overrides
expect() { # package, then the files (not directories) it holds
	pkg=$1
	shift
	deb=$work/${pkg}_${version}_$arch.deb
	[ -f "$deb" ] || fail "no $deb"
	printf '%s\n' "$@" | sort >"$work/$pkg.expected"
	dpkg-deb --fsys-tarfile "$deb" | tar -t | grep -v '/$' | sed 's|^\./||' | sort >"$work/$pkg.files"
	diff -u "$work/$pkg.expected" "$work/$pkg.files" >"$work/$pkg.diff" ||
		{ cat "$work/$pkg.diff"; fail "$pkg does not hold the expected files (- expected, + packaged)"; }
}
expect vnet-p2p usr/sbin/vnet-p2p usr/bin/vnet-p2p-ctl \
	usr/share/man/man8/vnet-p2p.8.gz usr/share/man/man8/vnet-p2p-ctl.8.gz \
	lib/systemd/system/vnet-p2p@.socket lib/systemd/system/vnet-p2p@.service \
	usr/share/bash-completion/completions/vnet-p2p \
	usr/share/bash-completion/completions/vnet-p2p-ctl \
	$doc/vnet-p2p/README.Debian $doc/vnet-p2p/examples/lab.conf \
	$doc/vnet-p2p/changelog.Debian.gz $doc/vnet-p2p/copyright $overrides/vnet-p2p
expect libvnet-p2p-driver0 "$lib.0" "$lib.$upstream" \
	$doc/libvnet-p2p-driver0/changelog.Debian.gz $doc/libvnet-p2p-driver0/copyright \
	$overrides/libvnet-p2p-driver0
expect libvnet-p2p-driver-dev "$lib" "usr/lib/$multiarch/pkgconfig/vnet-p2p-driver.pc" \
	usr/include/vnet-p2p/driver.h \
	$doc/libvnet-p2p-driver-dev/changelog.Debian.gz $doc/libvnet-p2p-driver-dev/copyright \
	$overrides/libvnet-p2p-driver-dev
# Anything else built is a -dbgsym package (unless DEB_BUILD_OPTIONS has
# noddebs): installed with the rest, purged with the rest.
packages=
for deb in "$work"/*.deb; do
	p=$(dpkg-deb -f "$deb" Package)
	case "$p" in
	vnet-p2p | libvnet-p2p-driver0 | libvnet-p2p-driver-dev | *-dbgsym) packages="$packages $p" ;;
	*) fail "an unexpected package: $deb" ;;
	esac
done
# No maintainer script of vnet-p2p enables, starts or restarts anything.
dpkg-deb -e "$work/vnet-p2p_${version}_$arch.deb" "$work/control.vnet-p2p"
if grep -E -n 'deb-systemd-invoke|deb-systemd-helper +(enable|update-state)|systemctl' \
	"$work/control.vnet-p2p/"*inst "$work/control.vnet-p2p/"*rm 2>/dev/null; then
	fail "a maintainer script of vnet-p2p handles units"
fi
echo "ok: each package holds the expected files; no maintainer script touches a unit"

# 3. lintian: errors and warnings fail (overrides in debian/ explain the
# ones kept); everything down to info is printed.
changes=$work/vnet-p2p_${version}_$arch.changes
lintian -I --fail-on error,warning "$changes" "$work/vnet-p2p_$version.dsc" \
	>"$work/lintian.log" 2>"$work/lintian.err" || { cat "$work/lintian.log"; fail "lintian"; }
if [ -s "$work/lintian.log" ]; then sed 's/^/lintian: /' "$work/lintian.log"; fi
echo "ok: lintian: $(grep -c '^E:' "$work/lintian.log" || true) errors," \
	"$(grep -c '^W:' "$work/lintian.log" || true) warnings, $(grep -c '^I:' "$work/lintian.log" || true) info"

# 4. Installed as a user installs them, tested, purged (by cleanup). Any
# of them already on the machine goes first, so this is a first install.
installed=yes
for p in $packages; do
	v=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$p" 2>/dev/null || true)
	case "$v" in
	not-installed* | "") ;;
	*)
		echo "note: $p ${v#* } was on this machine: purged first, not put back"
		$SUDO apt-get "$apt_lock" purge -y -q "$p" >"$work/purge-first.log" 2>&1 || fail "apt-get purge $p"
		;;
	esac
done
(cd "$work" && $SUDO apt-get "$apt_lock" install -y -q ./*.deb) >"$work/install.log" 2>&1 ||
	fail "apt-get install ./*.deb"
for p in $packages; do
	[ "$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$p")" = "installed $version" ] ||
		fail "$p $version is not installed"
done
echo "ok: apt-get install ./*.deb"
(cd "$src" && debian/tests/smoke) || fail "debian/tests/smoke"

mkdir -p "$top/build-deb"
rm -f "$top/build-deb/"*.deb
cp "$work"/*.deb "$top/build-deb/"

# shellcheck disable=SC2086
$SUDO apt-get "$apt_lock" purge -y -q $packages >"$work/purge.log" 2>&1 || fail "apt-get purge $packages"
installed=
for p in $packages; do
	s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ -z "$s" ] || [ "$s" = not-installed ] || fail "$p is '$s' after the purge"
done
for f in /usr/sbin/vnet-p2p "/$lib.0" /lib/systemd/system/vnet-p2p@.service; do
	[ ! -e "$f" ] || fail "$f is left after the purge"
done
echo "ok: purged; the packages are in build-deb/"
echo "package test passed in $(($(date +%s) - start)) s"
