#!/bin/sh
# A live demo of the link: builds vnet-p2p, starts a server, creates its two
# ports through vnet-p2p-ctl and puts a client on each (vnet-p2p-peer, built
# on the driver-side library). One end sends numbered, checksummed frames
# of random sizes; the other sends each one back. Then it shows what the
# server counted and cleans up.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh build >&2
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build >/dev/null

work=$(mktemp -d /tmp/vnet-p2p-demo.XXXXXX)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

svr=$work/ctl.sock
ctl="build/tools/vnet-p2p-ctl --svr $svr"
peer=build/tools/vnet-p2p-peer
count=${DEMO_FRAMES:-2000}

build/src/vnet-p2p --svr "$svr" 2>"$work/server.log" &
server_pid=$!
i=0
until [ -S "$svr" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && { cat "$work/server.log"; exit 1; }
	sleep 0.05
done

echo "vnet-p2p demo: one server, one virtual wire, two ports"
echo "  server:  build/src/vnet-p2p --svr $svr"
echo "  port 0:  $peer echo      (defaults: mergeable RX buffers, checksum offload)"
echo "  port 1:  $peer ping      (no mergeable RX buffers, no checksum offload)"
echo

$ctl create mac=02:00:00:00:00:02 -- $peer echo --count 0 -q &
echo_pid=$!
sleep 0.2
$ctl create mac=02:00:00:00:00:01 -- $peer ping --count "$count" --size 60-9000 \
	--no-mrg-rxbuf --no-csum

echo
echo "The echo end is still connected; the ping end has left and its port is free again:"
$ctl status | sed 's/ features / \n          features /; s/ tx-packets/\n         tx-packets/'
kill $echo_pid
wait $echo_pid 2>/dev/null || true

echo
echo "The server's log:"
sed -n 's/^[0-9:.]* vnet-p2p //p' "$work/server.log"
