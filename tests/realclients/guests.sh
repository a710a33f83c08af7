#!/bin/bash
# Two Linux guests (QEMU, TCG, the kernel's virtio_net driver) joined by a
# vnet-p2p link: ping both ways, ping with 1472-byte payloads, and a TCP
# transfer whose MD5 must match on both sides.
#
#   guests.sh SCENARIO     (listen, path, mismatch, mac, restart-listen, restart-path,
#                           server-restart, tap, tap-plain)
#
# tap and tap-plain join one guest to a TAP end (create tap=) instead of a
# second guest: the host's own stack, in a network namespace of its own,
# pings the guest and fetches the file over TCP (checksum offload both ways
# with tap; neither checksum feature nor mergeable buffers with tap-plain).
#
# Needs VNET_P2P_BIN and VNET_P2P_CTL_BIN (meson sets them), qemu-system-x86,
# busybox-static and cpio. Facts of this machine kind: guests hang under KVM,
# so TCG; QEMU 7.2 under TCG crashes in vhost-user virtio-net-pci's MSI-X set-up
# unless vectors=0; vhost-user needs shareable guest memory.
set -euo pipefail

# Without the client software this test cannot run: skip (77) when run by
# hand, fail where it is required (CI sets VNET_P2P_REQUIRE_REAL_CLIENTS=1).
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "qemu-system-x86_64 is not installed"
	[ "${VNET_P2P_REQUIRE_REAL_CLIENTS:-0}" = 1 ] && exit 1
	exit 77
fi

scenario=${1:?scenario}
# The TAP scenarios touch only a network namespace of their own.
case "$scenario" in
tap*)
	if [ -z "${VNP_GUESTS_NETNS:-}" ]; then
		VNP_GUESTS_NETNS=1 exec unshare -n "$0" "$@"
	fi
	ip link set lo up
	;;
esac
here=$(cd "$(dirname "$0")" && pwd)
server=${VNET_P2P_BIN:?}
ctl_bin=${VNET_P2P_CTL_BIN:?}
guest=$("$here/../guest/prepare.sh")
work=$(mktemp -d /tmp/vnp-guests.XXXXXX)
svr=$work/ctl.sock
pids=()

cleanup() {
	local rc=$?
	stop_all
	[ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	if [ $rc -ne 0 ]; then
		for f in "$work"/*.log "$work"/*.qemu; do echo "---- $f"; tail -n 30 "$f"; done
	fi
	rm -rf "$work"
	exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ctl() { "$ctl_bin" --svr "$svr" "$@"; }
# shellcheck source=../guest/guest-lib.sh
. "$here/../guest/guest-lib.sh"

# The client's results: pings answered, and the transfer intact.
check_client() {
	local client=$1 server=$2 sent got
	wait_line "$client" "^VNP done" 240 || exit 1
	grep -q "VNP ping 5 packets transmitted, 5 packets received" "$work/$client.log" ||
		fail "$client: ping lost packets: $(value "$client" ping)"
	grep -q "VNP ping1472 3 packets transmitted, 3 packets received" "$work/$client.log" ||
		fail "$client: 1472-byte ping lost packets"
	sent=$(value "$server" sent-md5)
	got=$(value "$client" got-md5)
	[ -n "$sent" ] && [ "$sent" = "$got" ] ||
		fail "$client: transfer damaged: sent $sent, got $got ($(value "$client" got-bytes) bytes)"
	echo "$client: ping ok, ping -s 1472 ok, $(value "$client" got-bytes) bytes intact (md5 $got)"
}

# The server saw no client break the rules. (Its log is not server.log:
# that is the console of the guest named server.)
check_server_log() {
	if grep -aE "failed:|refused" "$work/vnet-p2p.log"; then fail "the server refused or failed something"; fi
}

"$server" --svr "$svr" -v 2>"$work/vnet-p2p.log" &
server_pid=$!
for i in $(seq 100); do [ -S "$svr" ] && break; sleep 0.05; done
[ -S "$svr" ] || fail "server did not start"

case "$scenario" in
listen)
	ctl create listen="$work/p0.sock" >/dev/null
	ctl create listen="$work/p1.sock" >/dev/null
	start_guest server "$work/p0.sock" 10.0.0.2 10.0.0.1 server 8
	wait_line server "VNP sent-md5" 60 || exit 1
	start_guest client "$work/p1.sock" 10.0.0.1 10.0.0.2 client 8
	check_client client server
	;;
path)
	start_guest_path server 10.0.0.2 10.0.0.1 server 8
	wait_line server "VNP sent-md5" 60 || exit 1
	start_guest_path client 10.0.0.1 10.0.0.2 client 8
	check_client client server
	# The server guest still runs: its port directory is private.
	for dir in "${XDG_RUNTIME_DIR:-/tmp}"/vnet-p2p-port.*; do
		mode=$(stat -c %a "$dir" 2>/dev/null || true)
		[ -z "$mode" ] || [ "$mode" = 700 ] || fail "port directory $dir has mode $mode"
		[ -z "$mode" ] || echo "port directory $dir: mode $mode"
	done
	;;
mismatch)
	# One end without checksum offload, the other without mergeable buffers.
	ctl create listen="$work/p0.sock" >/dev/null
	ctl create listen="$work/p1.sock" >/dev/null
	start_guest server "$work/p0.sock" 10.0.0.2 10.0.0.1 server 8 ",csum=off,guest_csum=off"
	wait_line server "VNP sent-md5" 60 || exit 1
	start_guest client "$work/p1.sock" 10.0.0.1 10.0.0.2 client 8 ",mrg_rxbuf=off"
	wait_line client "VNP up" 60 || exit 1
	# The negotiated features, from the port_info lines of --prometheus.
	features=$(ctl status --prometheus |
		sed -n 's/^vnet_p2p_port_info{port="\([01]\)".*,features="\([^"]*\)".*/port \1: \2/p')
	check_client client server
	echo "$features"
	echo "$features" | grep "^port 0" | grep -q "GUEST_CSUM" && fail "port 0 negotiated GUEST_CSUM"
	echo "$features" | grep "^port 1" | grep -q "MRG_RXBUF" && fail "port 1 negotiated MRG_RXBUF"
	echo "$features" | grep "^port 1" | grep -q "GUEST_CSUM" || fail "port 1 lacks GUEST_CSUM"
	;;
mac)
	# The MAC of create reaches QEMU's device through VNET_P2P_MAC.
	start_guest_path server 10.0.0.2 10.0.0.1 server 1 ',mac=$VNET_P2P_MAC' mac=02:00:00:00:aa:02
	start_guest_path client 10.0.0.1 10.0.0.2 client 1 ',mac=$VNET_P2P_MAC' mac=02:00:00:00:aa:01
	check_client client server
	[ "$(value server mac)" = 02:00:00:00:aa:02 ] || fail "server guest has MAC $(value server mac)"
	[ "$(value client mac)" = 02:00:00:00:aa:01 ] || fail "client guest has MAC $(value client mac)"
	echo "guest MACs are the ports' MACs: $(value server mac), $(value client mac)"
	;;
restart-listen | restart-path)
	# Kill the client guest mid-transfer; a new one on the same port
	# (listen=) or a new port (--path) gets a working link.
	if [ "$scenario" = restart-listen ]; then
		ctl create listen="$work/p0.sock" >/dev/null
		ctl create listen="$work/p1.sock" >/dev/null
		start_guest server "$work/p0.sock" 10.0.0.2 10.0.0.1 server 64
		wait_line server "VNP sent-md5" 90 || exit 1
		start_guest victim "$work/p1.sock" 10.0.0.1 10.0.0.2 stall 64
	else
		start_guest_path server 10.0.0.2 10.0.0.1 server 64
		wait_line server "VNP sent-md5" 90 || exit 1
		start_guest_path victim 10.0.0.1 10.0.0.2 stall 64
	fi
	victim=$last_pid
	wait_line victim "VNP stalled" 120 || exit 1
	sleep 2
	if [ "$scenario" = restart-listen ]; then
		kill -9 "$victim"
	else
		pkill -9 -f "qemu-system-x86_64.*vnp.ip=10.0.0.1" || true
	fi
	wait "$victim" 2>/dev/null || true
	echo "killed the client guest mid-transfer"
	if [ "$scenario" = restart-listen ]; then
		start_guest client "$work/p1.sock" 10.0.0.1 10.0.0.2 client 64
	else
		start_guest_path client 10.0.0.1 10.0.0.2 client 64
	fi
	check_client client server
	kill -0 "$server_pid" || fail "the server died"
	;;
server-restart)
	# The server dies and comes back; QEMU's reconnect= takes the guests
	# back to it without restarting them.
	ctl create listen="$work/p0.sock" >/dev/null
	ctl create listen="$work/p1.sock" >/dev/null
	GUEST_CHARDEV=,reconnect=1 start_guest server "$work/p0.sock" 10.0.0.2 10.0.0.1 server 1
	GUEST_CHARDEV=,reconnect=1 start_guest client "$work/p1.sock" 10.0.0.1 10.0.0.2 pingwatch 1
	wait_line client "VNP answered 3[[:space:]]*$" 120 || exit 1
	kill -9 "$server_pid"
	wait "$server_pid" 2>/dev/null || true
	before=$(grep -c "VNP answered" "$work/client.log")
	echo "server killed after $before answered pings"
	sleep 3
	"$server" --svr "$svr" -v 2>>"$work/vnet-p2p.log" &
	server_pid=$!
	for i in $(seq 100); do [ -S "$svr" ] && break; sleep 0.05; done
	ctl create listen="$work/p0.sock" >/dev/null
	ctl create listen="$work/p1.sock" >/dev/null
	wait_line client "VNP answered $((before + 3))[[:space:]]*$" 90 || exit 1
	echo "pings answered again after the restart: $(grep -c "VNP answered" "$work/client.log") in all"
	;;
tap | tap-plain)
	extra=""
	[ "$scenario" = tap-plain ] && extra=",csum=off,guest_csum=off,mrg_rxbuf=off"
	ctl create listen="$work/p0.sock" >/dev/null
	ctl create tap=vnpg0 >/dev/null
	ip addr add 10.0.0.1/24 dev vnpg0
	ip link set vnpg0 up
	start_guest server "$work/p0.sock" 10.0.0.2 10.0.0.1 server 8 "$extra"
	wait_line server "VNP sent-md5" 90 || exit 1
	ip link show dev vnpg0 | grep -q LOWER_UP || fail "the TAP has no carrier with the guest up"
	ok=0
	for i in $(seq 60); do ping -c 1 -W 1 10.0.0.2 >/dev/null 2>&1 && { ok=1; break; }; done
	[ $ok = 1 ] || fail "the guest does not answer pings through the TAP"
	ping -q -c 5 -i 0.2 10.0.0.2 | grep -q " 0% packet loss" || fail "ping through the TAP lost packets"
	ping -q -c 3 -i 0.2 -s 1472 10.0.0.2 | grep -q " 0% packet loss" ||
		fail "1472-byte ping through the TAP lost packets"
	timeout 180 busybox nc 10.0.0.2 5001 >"$work/got" || true
	sent=$(value server sent-md5)
	got=$(md5sum <"$work/got" | cut -d' ' -f1)
	[ "$sent" = "$got" ] || fail "transfer damaged: sent $sent, got $got ($(wc -c <"$work/got") bytes)"
	echo "host via TAP: ping ok, ping -s 1472 ok, $(wc -c <"$work/got") bytes intact (md5 $got)"
	ctl status --prometheus | grep -E 'vnet_p2p_port_info|_packets_total' || true
	;;
*)
	fail "unknown scenario $scenario"
	;;
esac
check_server_log
echo "scenario $scenario: passed"
