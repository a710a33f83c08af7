#!/bin/bash
# A live demo of the link: two tiny Linux guests (QEMU, the kernel's own
# virtio_net driver) on the two ports of one vnet-p2p server. They ping each
# other and copy a file over TCP; the demo tells what happened and what the
# server counted, then cleans up.
#
# It installs what it needs from Debian (meson, QEMU, busybox-static, ...),
# builds vnet-p2p, and the first time downloads Debian's kernel package for
# the guests (cached in ~/.cache/vnet-p2p-guest).
#
#   scripts/demo.sh             the guests
#   scripts/demo.sh --clients   no guests: two clients of the driver-side library
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/deps.sh demo >&2
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build >/dev/null

work=$(mktemp -d /tmp/vnet-p2p-demo.XXXXXX)
svr=$work/ctl.sock
ctl_bin=$root/build/tools/vnet-p2p-ctl
peer=$root/build/tools/vnet-p2p-peer
pids=()
server_pid=
ctl() { "$ctl_bin" --svr "$svr" "$@"; }

cleanup() {
	[ ${#pids[@]} -gt 0 ] && stop_all
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

start_server() {
	build/src/vnet-p2p --svr "$svr" 2>"$work/server.log" &
	server_pid=$!
	for _ in $(seq 100); do [ -S "$svr" ] && return; sleep 0.05; done
	cat "$work/server.log"
	exit 1
}

# `vnet-p2p-ctl status`, trimmed to what a reader wants.
show_status() {
	ctl status | grep -v -E '^  (features|listen) '
}

if [ "${1:-}" = --clients ]; then
	start_server
	echo "vnet-p2p demo: two driver-library clients on one wire"
	ctl create mac=02:00:00:00:00:02 -- "$peer" echo --count 0 -q &
	echo_pid=$!
	sleep 0.2
	ctl create mac=02:00:00:00:00:01 -- "$peer" ping --count 2000 --size 60-9000 \
		--no-mrg-rxbuf --no-csum
	echo
	show_status
	kill $echo_pid
	wait $echo_pid 2>/dev/null || true
	exit 0
fi

echo "Preparing the guests (the first time this downloads Debian's kernel package) ..."
guest=$(tests/guest/prepare.sh)
# shellcheck source=../tests/guest/guest-lib.sh
. tests/guest/guest-lib.sh
start_server

cat <<EOF

vnet-p2p demo: one server, one virtual wire, two QEMU guests
  server:  vnet-p2p --svr $svr
  guest B: 10.0.0.2, port 0, MAC 02:00:00:00:00:02 (serves a file)
  guest A: 10.0.0.1, port 1, MAC 02:00:00:00:00:01 (pings B, fetches the file)
  Each guest is started by 'vnet-p2p-ctl create mac=... --path -- qemu-system-x86_64 ...':
  its port is a socket in a directory only this user can enter, gone when QEMU exits.

EOF

started=$(date +%s)
start_guest_path guestB 10.0.0.2 10.0.0.1 server 16 ',mac=$VNET_P2P_MAC' mac=02:00:00:00:00:02
wait_line guestB "VNP sent-md5" 120
GUEST_APPEND=vnp.linger=3 start_guest_path guestA 10.0.0.1 10.0.0.2 client 16 \
	',mac=$VNET_P2P_MAC' mac=02:00:00:00:00:01
wait_line guestA "VNP done" 240
status=$(show_status)

sent=$(value guestB sent-md5)
got=$(value guestA got-md5)
echo "guest A's eth0 is $(value guestA mac), guest B's is $(value guestB mac) (the ports' MACs)"
echo "A pings B:              $(value guestA ping | head -n1)"
echo "A pings B, 1472 bytes:  $(value guestA ping1472 | head -n1)"
echo "B sends A a 16 MiB file over TCP (netcat):"
echo "  sent     md5 $sent"
echo "  received md5 $got, $(value guestA got-bytes) bytes"
if [ -n "$sent" ] && [ "$sent" = "$got" ]; then
	echo "  intact."
else
	echo "  DAMAGED: the demo failed." >&2
	exit 1
fi
echo
echo "What the server counted (vnet-p2p-ctl status; port 0 dropped what B sent before A was up):"
echo "$status"
echo
echo "Done in $(($(date +%s) - started)) s. Guests stopped, ports released, server stopped."
