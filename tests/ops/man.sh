#!/bin/sh
# The manual pages:
#   man.sh warnings PAGE...   each renders without a single warning, through
#                             groff (-ww, every warning) and man-db
#   man.sh options PROG PAGE  the options PROG --help shows and those in the
#                             page's SYNOPSIS, OPTIONS and COMMANDS are the
#                             same set; the page documents every port key
#                             the create parser knows and has the sections
#                             an administrator looks for
# A missing groff or man fails the test: CI installs them.
set -eu

fail() { echo "FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || fail "$1 is not installed (Debian: $2)"; }
work=$(mktemp -d /tmp/vnp-man.XXXXXX)
trap 'rm -rf "$work"' EXIT

warnings() {
	need groff groff-base
	need man man-db
	for page in "$@"; do
		for dev in ps utf8 ascii; do
			groff -t -man -T"$dev" -ww -z "$page" >"$work/out" 2>&1 ||
				fail "groff -T$dev failed on $page"
			[ -s "$work/out" ] && { cat "$work/out"; fail "groff -T$dev warns on $page"; }
		done
		for width in 80 120; do
			MANWIDTH=$width LC_ALL=C.UTF-8 man --warnings -l "$page" 2>"$work/out" >/dev/null ||
				fail "man -l failed on $page"
			[ -s "$work/out" ] && { cat "$work/out"; fail "man --warnings (width $width) warns on $page"; }
		done
		# The footer names the version being installed.
		grep -q "^\.TH .* \"vnet\\\\-p2p $VERSION\" " "$page" ||
			fail "$page: the .TH line does not name vnet\\-p2p $VERSION"
		echo "$page: no warnings, version $VERSION"
	done
}

# Option words: --long or -x, cut at anything but letters, digits, '_'
# and '-' (so -s/--size, [-v|-q] and --svr=PATH count, ds-max does not).
option_words() {
	tr -c 'A-Za-z0-9_-' '\n' | grep -E '^(--[a-z][a-z0-9-]*|-[A-Za-z])$' | sort -u
}

# The rendered text of the sections named (SYNOPSIS, OPTIONS, COMMANDS).
sections() {
	page=$1
	shift
	groff -t -man -Tascii -P-cbou "$page" 2>/dev/null | awk -v want=" $* " '
		/^[A-Z][A-Z ]*$/ { keep = index(want, " " $0 " ") > 0; next }
		keep { print }'
}

options() {
	prog=$1
	page=$2
	need groff groff-base
	name=$(basename "$prog")
	"$prog" --help >"$work/help" || fail "$name --help failed"
	option_words <"$work/help" >"$work/help.opts"
	sections "$page" SYNOPSIS OPTIONS COMMANDS | option_words >"$work/man.opts"
	[ -s "$work/help.opts" ] || fail "no options found in $name --help"
	if ! diff -u "$work/help.opts" "$work/man.opts" >"$work/diff"; then
		cat "$work/diff"
		fail "$name: options in --help (-) and in $(basename "$page") (+) differ"
	fi
	echo "$name: $(wc -l <"$work/help.opts") options, the same in --help and the page"

	# Every key of a create request, as the parser spells it, has its own
	# tagged paragraph (the tag at the usual indent of 7).
	keys=$(sed -n 's/.*KEY_IS("\([a-z-]*\)").*/\1/p' "$SOURCE_ROOT/src/link/port_config.c")
	[ -n "$keys" ] || fail "no keys found in src/link/port_config.c"
	text=$(groff -t -man -Tascii -P-cbou "$page" 2>/dev/null)
	for k in $keys; do
		printf '%s\n' "$text" | grep -qE "^ {7}$k=[^ ]+$" || fail "$(basename "$page") does not document $k="
	done
	for s in SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" SIGNALS ENVIRONMENT FILES EXAMPLES \
		"SEE ALSO"; do
		printf '%s\n' "$text" | grep -qx "$s" || fail "$(basename "$page") has no $s section"
	done
}

mode=${1:?warnings or options}
shift
case "$mode" in
warnings) : "${VERSION:?}"; warnings "$@" ;;
options) : "${SOURCE_ROOT:?}"; options "$@" ;;
*) fail "unknown mode '$mode'" ;;
esac
