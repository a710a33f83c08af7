#!/bin/bash
# Two Linux guests (QEMU, TCG, the kernel's virtio_net driver) joined by a
# vnet-p2p link: ping both ways, ping with 1472-byte payloads, and a TCP
# transfer whose MD5 must match on both sides.
#
#   guests.sh SCENARIO     (listen, path, mismatch, mac, restart-listen, restart-path,
#                           server-restart, tap, tap-plain, offload, offload-segment,
#                           offload-segment-reverse, offload-compare, tap-tso,
#                           dpdk-tso, dpdk-tso-segment, and packed rings:
#                           packed-X and mixed-X for X in duplex, poll,
#                           kill, server-restart, reset, offload-segment, and
#                           packed-X for X in tap, tap-plain, tap-tso; see
#                           packed-lib.sh;
#                           several queue pairs: mq-2, mq-4, mq-4-1,
#                           mq-ethtool; see mq-lib.sh)
#
# tap and tap-plain join one guest to a TAP end (create tap=) instead of a
# second guest: the host's own stack, in a network namespace of its own,
# pings the guest and fetches the file over TCP (checksum offload both ways
# with tap; neither checksum feature nor mergeable buffers with tap-plain).
#
# The offload scenarios move 64 MiB each way between two guests, timed, and
# read from the server's counters that GSO frames crossed as they should:
# offload (both devices as QEMU makes them: TSO offered and taken both
# ways, every GSO frame passes whole), offload-segment (the client guest's
# device without guest_tso4/6, guest_ecn, guest_ufo: the server cuts the
# other guest's GSO frames into segments for it, while its own pass whole),
# offload-segment-reverse (the same with the server guest's device), and
# offload-compare (offload, then again with every TSO/UFO property off on
# both devices, then with checksum offload off as well: prints the times
# and their ratio). tap-tso: 64 MiB each way between the host's stack and
# a guest with TSO, large frames seen on the TAP by tcpdump and counted by
# the server. dpdk-tso and dpdk-tso-segment put DPDK's testpmd between two
# guests (two servers; testpmd's csum engine with LRO and `tso set` on
# virtio-user ports), so that GSO frames reach it whole and it sends GSO
# frames of its own; with dpdk-tso-segment the second server cuts them.
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
tap* | packed-tap*)
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
	# A failure shows the server's counts as they were when it happened.
	if [ $rc -ne 0 ] && [ -n "${server_pid:-}" ] && kill -0 "$server_pid" 2>/dev/null; then
		echo "---- the server's packet counts at the failure"
		"$ctl_bin" --svr "$svr" status --prometheus 2>&1 | grep -E '_(packets|drops)_total' || true
	fi
	stop_all
	[ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	[ -n "${server2_pid:-}" ] && kill "$server2_pid" 2>/dev/null && wait "$server2_pid" 2>/dev/null
	if [ $rc -ne 0 ]; then
		for f in "$work"/*.log "$work"/*.qemu; do echo "---- $f"; tail -n 30 "$f"; done
	fi
	# VNP_KEEP_WORK=1 (by hand): a failed run's files stay for a look.
	if [ $rc -ne 0 ] && [ "${VNP_KEEP_WORK:-0}" = 1 ]; then
		echo "kept $work"
	else
		rm -rf "$work"
	fi
	exit $rc
}
trap cleanup EXIT
# A timeout's SIGTERM (or ^C) ends the test through cleanup too, so no
# guest or server outlives it.
trap 'exit 143' TERM INT

fail() { echo "FAIL: $*" >&2; exit 1; }
ctl() { "$ctl_bin" --svr "$svr" "$@"; }
# shellcheck source=../guest/guest-lib.sh
. "$here/../guest/guest-lib.sh"

# The client's results: pings answered, and the transfer intact.
# check_client CLIENT SERVER [SECONDS to wait for it]
check_client() {
	local client=$1 server=$2 sent got
	wait_line "$client" "^VNP done" "${3:-240}" || exit 1
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

# metric PORT NAME [MORE_LABELS]: one value from `status --prometheus`;
# metric_in TEXT PORT NAME [MORE_LABELS]: from such an answer already read
# (several values from one answer agree with each other).
metric_in() { echo "$1" | sed -n "s/^vnet_p2p_$3{port=\"$2\"${4:-}} //p"; }
metric() { metric_in "$(ctl status --prometheus)" "$@"; }
has_feature() { [[ ",$(features_of "$1")," == *",$2,"* ]]; }

# start_server [SERVER OPTIONS...]
start_server() {
	"$server" --svr "$svr" -v "$@" 2>>"$work/vnet-p2p.log" &
	server_pid=$!
	for i in $(seq 100); do [ -S "$svr" ] && break; sleep 0.05; done
	[ -S "$svr" ] || fail "server did not start"
}

# A new server for the next part of a scenario: the guests stop, the
# server's log is checked, and the ports (and their counters) start afresh.
# restart_server [SERVER OPTIONS...]
restart_server() {
	stop_all
	pids=()
	check_server_log
	kill "$server_pid"
	wait "$server_pid" 2>/dev/null || true
	for f in "$work"/*.log "$work"/*.qemu; do
		[ "$f" = "$work/vnet-p2p.log" ] || rm -f "$f"
	done
	start_server "$@"
}

# How GSO frames from port SRC to port DST went, by the server's counters:
# gso_path SRC DST whole|segmented|none
gso_path() {
	local src=$1 dst=$2 want=$3 tx seg rx snap
	# One status answer: a frame is counted on both ends in it, or on neither.
	snap=$(ctl status --prometheus)
	tx=$(metric_in "$snap" "$src" gso_frames_total ',direction="tx"')
	seg=$(metric_in "$snap" "$src" gso_segmented_total)
	rx=$(metric_in "$snap" "$dst" gso_frames_total ',direction="rx"')
	echo "port $src -> port $dst: $tx GSO frames sent, $seg cut into segments, $rx taken whole"
	case "$want" in
	whole)
		[ "$tx" -gt 0 ] || fail "port $src sent no GSO frame"
		[ "$seg" = 0 ] || fail "port $src: $seg GSO frames were cut, none should be"
		[ "$rx" = "$tx" ] || fail "port $dst took $rx of port $src's $tx GSO frames whole"
		;;
	segmented)
		[ "$tx" -gt 0 ] || fail "port $src sent no GSO frame"
		[ "$seg" = "$tx" ] || fail "port $src: only $seg of $tx GSO frames were cut into segments"
		[ "$rx" = 0 ] || fail "port $dst, without GUEST_TSO, was given $rx GSO frames"
		;;
	none)
		[ "$tx" = 0 ] && [ "$rx" = 0 ] || fail "GSO frames crossed from port $src with the offloads off"
		;;
	esac
}

# No frame was too big for its receiver or refused as malformed (a GSO
# header the server did not accept counts as bad_chain).
check_no_drops() {
	local p dir reason n
	for p in 0 1; do
		for dir in tx rx; do
			for reason in too_big bad_chain; do
				n=$(metric "$p" drops_total ",direction=\"$dir\",reason=\"$reason\"")
				[ "$n" = 0 ] || fail "port $p: $n $dir drops ($reason)"
			done
		done
	done
}

# Every TSO/UFO property off, checksum offload left on.
no_gso=",host_tso4=off,host_tso6=off,host_ecn=off,host_ufo=off"
no_gso+=",guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off"
no_guest_gso=",guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off"
# tap-plain's device: neither checksum feature, no mergeable buffers.
tap_plain=",csum=off,guest_csum=off,mrg_rxbuf=off"

# The median of some numbers.
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Each of guest TAKER's REPS transfers from guest GIVER arrived intact.
# check_taken TAKER GIVER REPS
check_taken() {
	local sent got n=0 md5
	sent=$(value "$2" sent-md5)
	got=$(values "$1" got-md5)
	[ -n "$sent" ] || fail "$2 did not say what it sent"
	for md5 in $got; do
		[ "$md5" = "$sent" ] || fail "$1: transfer damaged: sent $sent, got $md5 ($(values "$1" got-bytes) bytes)"
		n=$((n + 1))
	done
	[ "$n" = "$3" ] || fail "$1: $n of $3 transfers arrived"
	echo "$1: $3 x $(value "$1" got-bytes) bytes intact (md5 $sent), seconds: $(values "$1" seconds)"
}

# Two guests with 64 MiB each to give, on listen= ports, devices with
# SERVER_EXTRA and CLIENT_EXTRA: the client guest fetches the server
# guest's file REPS times (1 unless given), then the server guest the
# client's. Every transfer must arrive intact; their times are in
# $secs_fwd (server to client) and $secs_back, space-separated.
# offload_pair SERVER_EXTRA CLIENT_EXTRA [REPS]
offload_pair() {
	local reps=${3:-1}
	ctl create listen="$work/p0.sock" >/dev/null
	ctl create listen="$work/p1.sock" >/dev/null
	GUEST_MEM=512 GUEST_PREALLOC=1 GUEST_APPEND="vnp.back=1 vnp.reps=$reps" \
		start_guest server "$work/p0.sock" 10.0.0.2 10.0.0.1 server 64 "$1"
	wait_line server "VNP sent-md5" 180 || exit 1
	GUEST_MEM=512 GUEST_PREALLOC=1 GUEST_APPEND="vnp.back=1 vnp.reps=$reps" \
		start_guest client "$work/p1.sock" 10.0.0.1 10.0.0.2 client 64 "$2"
	check_client client server 900
	wait_line server "^VNP done" 900 || exit 1
	check_taken client server "$reps"
	check_taken server client "$reps"
	secs_fwd=$(values client seconds)
	secs_back=$(values server seconds)
	echo "64 MiB server -> client: $secs_fwd s; client -> server: $secs_back s"
	echo "port 0 features: $(features_of 0)"
	echo "port 1 features: $(features_of 1)"
	ctl status | grep -E '^port|gso:'
	check_no_drops
}

# offload_segment SERVER_EXTRA CLIENT_EXTRA: offload_pair with the client
# guest's device taking no GSO frames: the server cuts the server guest's
# into segments, the client guest's pass whole.
offload_segment() {
	offload_pair "$1" "$2$no_guest_gso"
	check_tso_features 1
	gso_path 0 1 segmented
	gso_path 1 0 whole
}

# Both devices took TSO both ways (Linux does once it is offered), or not
# the guest side on the port given.
# check_tso_features PORT_WITHOUT_GUEST_TSO (or -)
check_tso_features() {
	local p f
	for p in 0 1; do
		for f in HOST_TSO4 HOST_TSO6; do
			has_feature "$p" "$f" || fail "port $p did not negotiate $f"
		done
		for f in GUEST_TSO4 GUEST_TSO6; do
			if [ "$p" = "$1" ]; then
				has_feature "$p" "$f" && fail "port $p negotiated $f, its device has it off"
			else
				has_feature "$p" "$f" || fail "port $p did not negotiate $f"
			fi
		done
	done
	return 0
}

# A guest on port 0 (its device with EXTRA), port 1 a TAP end that has
# 10.0.0.1 in this network namespace; the guest has MIB MiB to give over
# TCP. Once it is up, the host's stack pings it, with 1472-byte payloads too.
# tap_guest EXTRA MIB
tap_guest() {
	local ok=0 i
	ctl create listen="$work/p0.sock" >/dev/null
	ctl create tap=vnpg0 >/dev/null
	ip addr add 10.0.0.1/24 dev vnpg0
	ip link set vnpg0 up
	start_guest server "$work/p0.sock" 10.0.0.2 10.0.0.1 server "$2" "$1"
	wait_line server "VNP sent-md5" 180 || exit 1
	ip link show dev vnpg0 | grep -q LOWER_UP || fail "the TAP has no carrier with the guest up"
	for i in $(seq 90); do ping -c 1 -W 1 10.0.0.2 >/dev/null 2>&1 && { ok=1; break; }; done
	[ $ok = 1 ] || fail "the guest does not answer pings through the TAP"
	ping -q -c 5 -i 0.2 10.0.0.2 | grep -q " 0% packet loss" || fail "ping through the TAP lost packets"
	ping -q -c 3 -i 0.2 -s 1472 10.0.0.2 | grep -q " 0% packet loss" ||
		fail "1472-byte ping through the TAP lost packets"
}

# The host's stack fetches tap_guest's file: intact.
tap_fetch() {
	local sent got
	timeout 180 busybox nc 10.0.0.2 5001 >"$work/got" || true
	sent=$(value server sent-md5)
	got=$(md5sum <"$work/got" | cut -d' ' -f1)
	[ "$sent" = "$got" ] || fail "transfer damaged: sent $sent, got $got ($(wc -c <"$work/got") bytes)"
	echo "host via TAP: ping ok, ping -s 1472 ok, $(wc -c <"$work/got") bytes intact (md5 $got)"
	ctl status --prometheus | grep -E 'vnet_p2p_port_info|_packets_total' || true
}

# After tap_guest with TSO: its 64 MiB to the host's stack and 64 MiB back
# into its sink on port 5002, both intact, TSO negotiated and given to the
# TAP, frames larger than Ethernet's on the TAP both ways and whole through
# the server, nothing dropped.
tap_tso_check() {
	local sent got up t0 t1 dir n max tcpdump_pid i f
	for f in HOST_TSO4 HOST_TSO6 GUEST_TSO4 GUEST_TSO6; do
		has_feature 0 "$f" || fail "the guest's port did not negotiate $f"
	done
	# The server gave the TAP the guest's offloads (TUNSETOFFLOAD).
	ethtool -k vnpg0 | grep -E '^tcp-segmentation-offload|^	tx-tcp6?-segmentation'
	ethtool -k vnpg0 | grep -q '^tcp-segmentation-offload: on' || fail "the TAP does not do TSO"
	# Frames larger than Ethernet's 1514 bytes, both ways, as the TAP
	# carries them (headers only).
	tcpdump -i vnpg0 -nn -s 128 -w "$work/large.pcap" 'tcp and greater 1515' 2>"$work/tcpdump.err" &
	tcpdump_pid=$!
	pids+=("$tcpdump_pid")
	for i in $(seq 100); do grep -q "listening on" "$work/tcpdump.err" && break; sleep 0.1; done
	grep -q "listening on" "$work/tcpdump.err" || fail "tcpdump did not start"
	# guest -> host
	t0=$(date +%s.%N)
	timeout 600 bash -c 'exec cat </dev/tcp/10.0.0.2/5001' >"$work/got" || true
	t1=$(date +%s.%N)
	sent=$(value server sent-md5)
	got=$(md5sum <"$work/got" | cut -d' ' -f1)
	[ "$sent" = "$got" ] || fail "guest -> host: damaged: sent $sent, got $got ($(wc -c <"$work/got") bytes)"
	up=$(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }")
	echo "guest -> host: $(wc -c <"$work/got") bytes intact (md5 $got) in $up s"
	rm -f "$work/got"
	# host -> guest, into the guest's sink on 5002
	head -c 64M /dev/urandom >"$work/data"
	sent=$(md5sum <"$work/data" | cut -d' ' -f1)
	for i in $(seq 30); do
		timeout 600 bash -c 'exec cat "$1" >/dev/tcp/10.0.0.2/5002' sh "$work/data" 2>/dev/null && break
		sleep 1
	done
	wait_line server "VNP got-md5" 300 || exit 1
	got=$(value server got-md5)
	[ "$sent" = "$got" ] || fail "host -> guest: damaged: sent $sent, got $got ($(value server got-bytes) bytes)"
	echo "host -> guest: $(value server got-bytes) bytes intact (md5 $got) in $(value server seconds) s" \
		"(the guest's count)"
	kill -INT "$tcpdump_pid"
	wait "$tcpdump_pid" 2>/dev/null || true
	# What tcpdump saw: frames above 1514 bytes each way, and the largest.
	for dir in "guest -> host:src host 10.0.0.2" "host -> guest:src host 10.0.0.1"; do
		n=$(tcpdump -r "$work/large.pcap" -nn "${dir#*:}" 2>/dev/null | wc -l)
		max=$(tcpdump -r "$work/large.pcap" -nn -e "${dir#*:}" 2>/dev/null |
			sed -n 's/.*, length \([0-9]*\): .*/\1/p' | sort -n | tail -n1)
		echo "${dir%%:*}: $n frames larger than 1514 bytes on the TAP, the largest $max bytes"
		[ "$n" -gt 0 ] || fail "${dir%%:*}: no frame larger than 1514 bytes crossed the TAP"
	done
	tcpdump -r "$work/large.pcap" -nn -e -c 4 2>/dev/null
	# The kernel's own count: bytes per packet well above 1514. (/proc/net
	# is this network namespace's; /sys is the one it was mounted in.)
	awk '{ sub(/:/, " "); $0 = $0 } $1 == "vnpg0" {
		printf "TAP rx (from the guest, the kernel'"'"'s count): %d packets, %d bytes, %d bytes per packet\n", $3, $2, $2 / $3
		printf "TAP tx (to the guest, the kernel'"'"'s count): %d packets, %d bytes, %d bytes per packet\n", $11, $10, $10 / $11
	}' /proc/net/dev
	ctl status | grep -E '^port|gso:'
	# Port 1 is the TAP end: its tx is what the kernel sent to the guest.
	gso_path 0 1 whole
	gso_path 1 0 whole
	check_no_drops
}

# The TAP scenario NAME (tap, tap-plain, tap-tso), the guest's device with
# EXTRA.
# tap_scenario NAME EXTRA
tap_scenario() {
	case "$1" in
	tap)
		tap_guest "$2" 8
		tap_fetch
		;;
	tap-plain)
		tap_guest "$2$tap_plain" 8
		tap_fetch
		;;
	tap-tso)
		# 64 MiB each way between the host's stack and a guest with TSO.
		GUEST_MEM=512 GUEST_PREALLOC=1 GUEST_APPEND=vnp.sink=5002 tap_guest "$2" 64
		tap_tso_check
		;;
	*) fail "no TAP scenario $1" ;;
	esac
}

start_server

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
		# This test's victim only: its console file names this test's
		# scratch directory (other tests' guests have 10.0.0.1 too).
		pkill -9 -f "qemu-system-x86_64 .*file:$work/victim.log" || true
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
tap | tap-plain | tap-tso)
	tap_scenario "$scenario" ""
	;;
packed-* | mixed-*)
	# Packed rings (packed-lib.sh): on both devices, or port 1's only.
	# shellcheck source=packed-lib.sh
	. "$here/packed-lib.sh"
	ring_mode=${scenario%%-*}
	packed_scenario "${scenario#*-}"
	;;
mq-*)
	# Several queue pairs (mq-lib.sh).
	# shellcheck source=mq-lib.sh
	. "$here/mq-lib.sh"
	mq_scenario "${scenario#mq-}"
	;;
dpdk-tso | dpdk-tso-segment)
	# guest "server" - vnet-p2p 1 - testpmd port 0 ... testpmd port 1 -
	# vnet-p2p 2 - guest "client". testpmd forwards with its csum engine:
	# LRO on its ports (GUEST_TSO4/6: the guests' GSO frames reach it
	# whole), TSO at 1448 bytes on both (it sends GSO frames on). With
	# dpdk-tso-segment the client guest's device takes no GSO frames, so
	# the second server cuts testpmd's. --rx-offloads: UDP and TCP
	# checksums (GUEST_CSUM) and LRO (virtio-user has no IPv4 checksum
	# offload, so --enable-rx-cksum, which asks for it too, fails).
	command -v dpdk-testpmd >/dev/null || {
		echo "dpdk-testpmd is not installed"
		[ "${VNET_P2P_REQUIRE_REAL_CLIENTS:-0}" = 1 ] && exit 1
		exit 77
	}
	client_extra=",mac=02:00:00:00:00:01"
	[ "$scenario" = dpdk-tso-segment ] && client_extra+=$no_guest_gso
	svr2=$work/ctl2.sock
	"$server" --svr "$svr2" -v 2>>"$work/vnet-p2p.log" &
	server2_pid=$!
	for i in $(seq 100); do [ -S "$svr2" ] && break; sleep 0.05; done
	[ -S "$svr2" ] || fail "the second server did not start"
	ctl create listen="$work/s1p0.sock" >/dev/null
	ctl create listen="$work/s1p1.sock" >/dev/null
	svr=$svr2 ctl create listen="$work/s2p0.sock" >/dev/null
	svr=$svr2 ctl create listen="$work/s2p1.sock" >/dev/null
	cat >"$work/pmd.cmd" <<-EOC
		port stop all
		csum set ip sw 0
		csum set tcp hw 0
		csum set ip sw 1
		csum set tcp hw 1
		tso set 1448 0
		tso set 1448 1
		port start all
		set fwd csum retry
		set burst tx delay 100 retry 200
		show port 0 tx_offload configuration
		show port 1 tx_offload configuration
		show port 0 rx_offload configuration
	EOC
	dpdk-testpmd --no-huge -m 512 --no-pci --file-prefix="vnp-tso-$$" \
		--vdev "net_virtio_user0,path=$work/s1p1.sock" --vdev "net_virtio_user1,path=$work/s2p0.sock" -- \
		--forward-mode=csum --rx-offloads=0x1c --total-num-mbufs=16384 --stats-period 10 \
		--eth-peer=0,02:00:00:00:00:02 --eth-peer=1,02:00:00:00:00:01 \
		--cmdline-file="$work/pmd.cmd" >"$work/testpmd.log" 2>&1 &
	pmd=$!
	pids+=("$pmd")
	# (Without -i, testpmd forwards until a signal only with --stats-period;
	# otherwise it waits for a line on stdin.)
	for i in $(seq 600); do grep -q "^csum packet forwarding.* - ports=2" "$work/testpmd.log" && break; sleep 0.1; done
	grep -q "^csum packet forwarding.* - ports=2" "$work/testpmd.log" || fail "testpmd did not start forwarding"
	sed -n '/^TSO segment size/p; /^Tx Offloading Configuration/,/Queue/p; /^Rx Offloading Configuration/,/Queue/p' "$work/testpmd.log"
	GUEST_MEM=512 GUEST_PREALLOC=1 GUEST_APPEND="vnp.back=1" \
		start_guest server "$work/s1p0.sock" 10.0.0.2 10.0.0.1 server 64 ",mac=02:00:00:00:00:02"
	wait_line server "VNP sent-md5" 180 || exit 1
	GUEST_MEM=512 GUEST_PREALLOC=1 GUEST_APPEND="vnp.back=1" \
		start_guest client "$work/s2p1.sock" 10.0.0.1 10.0.0.2 client 64 "$client_extra"
	check_client client server 900
	wait_line server "^VNP done" 900 || exit 1
	check_taken client server 1
	check_taken server client 1
	# Both of testpmd's ports took TSO and LRO from the servers.
	for s in "$svr" "$svr2"; do
		for f in GUEST_TSO4 GUEST_TSO6 HOST_TSO4 HOST_TSO6 GUEST_CSUM CSUM; do
			p=1
			[ "$s" = "$svr2" ] && p=0
			svr=$s has_feature "$p" "$f" || fail "testpmd's port on $(basename "$s") lacks $f"
		done
	done
	kill -INT "$pmd"
	wait "$pmd" || true
	sed -n '/Forward statistics for port/,/-----------$/p' "$work/testpmd.log" | tail -n 12
	for p in 0 1; do
		stats=$(sed -n "/Forward statistics for port $p/,/-----------\$/p" "$work/testpmd.log" | tail -n 6)
		for c in Bad-ipcsum Bad-l4csum; do
			n=$(echo "$stats" | sed -n "s/.*$c: *\([0-9]*\).*/\1/p")
			[ "$n" = 0 ] || fail "testpmd port $p: $c $n"
		done
	done
	echo "server 1 (guest server on port 0, testpmd's port 0 on port 1):"
	ctl status | grep -E '^port|gso:'
	gso_path 0 1 whole
	gso_path 1 0 whole
	check_no_drops
	echo "server 2 (testpmd's port 1 on port 0, guest client on port 1):"
	svr=$svr2 ctl status | grep -E '^port|gso:'
	if [ "$scenario" = dpdk-tso-segment ]; then
		svr=$svr2 gso_path 0 1 segmented
	else
		svr=$svr2 gso_path 0 1 whole
	fi
	svr=$svr2 gso_path 1 0 whole
	svr=$svr2 check_no_drops
	;;
offload)
	offload_pair "" ""
	check_tso_features -
	gso_path 0 1 whole
	gso_path 1 0 whole
	;;
offload-segment)
	offload_segment "" ""
	;;
offload-segment-reverse)
	# The server guest's device takes no GSO frames.
	offload_pair "$no_guest_gso" ""
	check_tso_features 0
	gso_path 0 1 whole
	gso_path 1 0 segmented
	;;
offload-compare)
	# Three transfers each way per pair; the medians are compared.
	offload_pair "" "" 3
	check_tso_features -
	gso_path 0 1 whole
	gso_path 1 0 whole
	on_fwd=$secs_fwd on_back=$secs_back
	restart_server
	offload_pair "$no_gso" "$no_gso" 3
	gso_path 0 1 none
	gso_path 1 0 none
	off_fwd=$secs_fwd off_back=$secs_back
	restart_server
	offload_pair ",csum=off,guest_csum=off" ",csum=off,guest_csum=off" 3
	gso_path 0 1 none
	gso_path 1 0 none
	nocsum_fwd=$secs_fwd nocsum_back=$secs_back
	ratio() { awk "BEGIN { printf \"%.1f\", $1 / $2 }"; }
	# shellcheck disable=SC2086
	{
		m_on_fwd=$(median $on_fwd) m_on_back=$(median $on_back)
		m_off_fwd=$(median $off_fwd) m_off_back=$(median $off_back)
		m_nocsum_fwd=$(median $nocsum_fwd) m_nocsum_back=$(median $nocsum_back)
	}
	echo "64 MiB over TCP, seconds (3 runs; median)  server -> client          client -> server"
	printf '%-28s %-18s %6s   %-18s %6s\n' \
		"offloads on" "$on_fwd" "$m_on_fwd" "$on_back" "$m_on_back" \
		"TSO/UFO off, checksums on" "$off_fwd" "$m_off_fwd" "$off_back" "$m_off_back" \
		"csum=off,guest_csum=off" "$nocsum_fwd" "$m_nocsum_fwd" "$nocsum_back" "$m_nocsum_back"
	echo "offloads on: $(ratio "$m_off_fwd" "$m_on_fwd")x and $(ratio "$m_off_back" "$m_on_back")x" \
		"as fast as TSO/UFO off, $(ratio "$m_nocsum_fwd" "$m_on_fwd")x and" \
		"$(ratio "$m_nocsum_back" "$m_on_back")x as fast as csum=off (medians)"
	;;
*)
	fail "unknown scenario $scenario"
	;;
esac
check_server_log
echo "scenario $scenario: passed"
