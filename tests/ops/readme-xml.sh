#!/bin/sh
# The libvirt domain XML the README shows is docs/libvirt-domain.xml, the
# template the libvirt-guests test fills in, byte for byte: what the README
# offers is what was tested.
#   readme-xml.sh README TEMPLATE
set -eu

fail() { echo "FAIL: $*" >&2; exit 1; }
readme=${1:?README}
template=${2:?template}
work=$(mktemp -d /tmp/vnp-readme-xml.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Every ```xml block of the README that is a domain, one file each.
awk -v dir="$work" '
	/^```xml$/ { n++; inside = 1; next }
	/^```$/ { inside = 0; next }
	inside { print > (dir "/block" n) }
' "$readme"
found=0
for block in "$work"/block*; do
	[ -f "$block" ] || continue
	head -n1 "$block" | grep -q '^<domain ' || continue
	found=$((found + 1))
	diff -u "$template" "$block" >"$work/diff" ||
		{ cat "$work/diff"; fail "the README's domain XML is not $template"; }
done
[ "$found" = 1 ] || fail "expected one domain XML in the README, found $found"
echo "the README's domain XML is $template"
