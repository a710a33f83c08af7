#!/bin/bash
# DPDK virtio-user clients (dpdk-testpmd from Debian's dpdk-dev) on both
# ports: one sends (txonly), the other receives (rxonly), for a fixed time.
# The sender stops forwarding first, the server drains its ring into the
# receiver, and then every packet sent must have arrived, and the server's
# counters must agree.
#
#   dpdk.sh [--restart] [--poll USEC] TXPKTS [SECONDS [DEVARGS [RX_DEVARGS]]]
#     e.g. dpdk.sh 64, dpdk.sh 1500, dpdk.sh 512,512,476, dpdk.sh 1500 4 in_order=0,
#          dpdk.sh 1500 4 packed_vq=1, dpdk.sh 1500 4 packed_vq=1 packed_vq=0,
#          dpdk.sh 64 4 queues=2, dpdk.sh 64 4 queues=2 queues=1
#
# DEVARGS are added to both virtio-user ports, or to the sender's only when
# RX_DEVARGS (the receiver's) are given. By default virtio-user asks for
# IN_ORDER and, since the server offers it, takes its in-order TX and RX
# paths; in_order=0 keeps the standard ones; packed_vq=1 asks for packed
# rings; mrg_rxbuf=0 does without mergeable RX buffers. The test checks
# what each port negotiated, so a silent fallback cannot pass for the other.
#
# queues=N in a side's devargs gives it N queue pairs: its port is created
# with queues=N and testpmd runs --rxq=N --txq=N (txonly sends on every TX
# queue). Then the port must have negotiated MQ, and the server's per-pair
# counters must show the frames where its steering puts them: the
# sender's TX ring q into the receiver's RX ring q modulo the receiver's
# pairs, each ring's count matching (with N pairs on both sides, lane by
# lane).
#
# --restart: halfway through, the sender's port is stopped, reconfigured
# (LRO on: new features, so virtio-user resets the device and the server
# stops its rings wherever they are in their lap) and started again; no
# packet may be lost across it.
#
# --poll USEC: the server polls the rings (-p USEC), and its rings tell the
# clients not to kick: the sender may kick while its rings start, 10 times
# at most, whatever it sends.
set -euo pipefail

# Without the client software this test cannot run: skip (77) when run by
# hand, fail where it is required (CI sets VNET_P2P_REQUIRE_REAL_CLIENTS=1).
if ! command -v dpdk-testpmd >/dev/null; then
	echo "dpdk-testpmd is not installed"
	[ "${VNET_P2P_REQUIRE_REAL_CLIENTS:-0}" = 1 ] && exit 1
	exit 77
fi

restart=0
if [ "${1:-}" = --restart ]; then
	restart=1
	shift
fi
poll=()
if [ "${1:-}" = --poll ]; then
	poll=(-p "${2:?--poll USEC}")
	shift 2
fi
txpkts=${1:?txpkts}
seconds=${2:-4}
tx_devargs=${3:+,$3}
rx_devargs=${4-${3-}}
rx_devargs=${rx_devargs:+,$rx_devargs}
# queues=N of some devargs (1 without).
queues_of() {
	local q
	q=$(echo ",$1," | sed -n 's/.*,queues=\([0-9]*\),.*/\1/p')
	echo "${q:-1}"
}
txq=$(queues_of "${tx_devargs#,}")
rxq=$(queues_of "${rx_devargs#,}")
server=${VNET_P2P_BIN:?}
ctl_bin=${VNET_P2P_CTL_BIN:?}
work=$(mktemp -d /tmp/vnp-dpdk.XXXXXX)
svr=$work/ctl.sock
eal="--no-huge -m 512 --no-pci"
pids=()

cleanup() {
	local rc=$?
	exec 5>&- 2>/dev/null || true
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	[ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	if [ $rc -ne 0 ]; then
		for f in "$work"/*.log; do echo "---- $f"; tail -n 25 "$f"; done
	fi
	rm -rf "$work"
	exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ctl() { "$ctl_bin" --svr "$svr" "$@"; }

# Wait up to $1 seconds for the command that follows to succeed.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.1
	done
}

# The last "Forward statistics" block's value of a counter.
stat_of() { sed -n "/Forward statistics for port 0/,/----------/s/.*$2: *\([0-9]*\).*/\1/p" "$work/$1.log" | tail -n1; }
# The sum over every "Forward statistics" block (one per forwarding run).
stat_sum() {
	sed -n "/Forward statistics for port 0/,/----------/s/.*$2: *\([0-9]*\).*/\1/p" "$work/$1.log" |
		awk '{ s += $1 } END { print s + 0 }'
}
# What the receiver's periodic port statistics said last.
rx_seen() { sed -n 's/^ *RX-packets: *\([0-9]*\) *RX-missed.*/\1/p' "$work/rx.log" | tail -n1; }
# Whether it says all that was sent arrived: a function, so that each try
# of wait_for reads the log anew (not a value expanded once at the call).
rx_caught_up() { [ "$(rx_seen)" = "$sent" ]; }
# metric PORT NAME MORE_LABELS: one value from `status --prometheus`.
metric() { ctl status --prometheus | sed -n "s/^vnet_p2p_$2{port=\"$1\"$3} //p"; }
port_running() { ctl status | grep -q "^port $1: running"; }
features_of() { ctl status --prometheus | sed -n "s/^vnet_p2p_port_info{port=\"$1\".*,features=\"\([^\"]*\)\".*/\1/p"; }
stats_runs() { [ "$(grep -c "Forward statistics for port 0" "$work/tx.log")" = "$1" ]; }
log_since_mark_has() { tail -n +"$((mark + 1))" "$work/server.log" | grep -q "$1"; }
# Stop forwarding, and let what the sender put in its ring arrive: the
# server's counters reach what was sent. Only then may the sender's port
# stop (its ring goes with it). A server that missed the sender's last
# kick would hold those packets until the ring stopped, and the stop's
# drain would hide it: so they must arrive first.
stop_and_drain() {
	echo stop >&5
	wait_for 30 stats_runs "$runs" || fail "the sender's statistics did not come"
	sent=$(stat_sum tx TX-packets)
	wait_for 30 counters_settled ||
		fail "the server forwarded $(metric 0 packets_total ',direction="tx"') and delivered $(metric 1 packets_total ',direction="rx"') of $sent sent, with the sender stopped (a kick missed?)"
}
counters_settled() {
	[ "$(metric 0 packets_total ',direction="tx"')" = "$sent" ] &&
		[ "$(metric 1 packets_total ',direction="rx"')" = "$sent" ]
}

# Port N negotiated what its devargs asked for: RING_PACKED with
# packed_vq=1 only, IN_ORDER unless in_order=0, MRG_RXBUF unless mrg_rxbuf=0.
check_features() {
	local n=$1 args=$2 f
	f=$(features_of "$n")
	echo "port $n ($args): $f"
	case "$args" in
	*packed_vq=1*) echo ",$f," | grep -q ",RING_PACKED," || fail "port $n: no RING_PACKED" ;;
	*) echo ",$f," | grep -q ",RING_PACKED," && fail "port $n: RING_PACKED not asked for" ;;
	esac
	case "$args" in
	*in_order=0*) echo ",$f," | grep -q ",IN_ORDER," && fail "port $n: IN_ORDER despite in_order=0" ;;
	*) echo ",$f," | grep -q ",IN_ORDER," || fail "port $n: no IN_ORDER" ;;
	esac
	case "$args" in
	*mrg_rxbuf=0*) echo ",$f," | grep -q ",MRG_RXBUF," && fail "port $n: MRG_RXBUF despite mrg_rxbuf=0" ;;
	*) echo ",$f," | grep -q ",MRG_RXBUF," || fail "port $n: no MRG_RXBUF" ;;
	esac
	if [ "$(queues_of "$args")" -gt 1 ]; then
		echo ",$f," | grep -q ",MQ," || fail "port $n: no MQ with $(queues_of "$args") queue pairs"
	else
		echo ",$f," | grep -q ",MQ," && fail "port $n: MQ with one queue pair"
	fi
	return 0
}

"$server" --svr "$svr" -v "${poll[@]}" 2>"$work/server.log" &
server_pid=$!
# The socket file exists before the server listens: wait for an answer.
wait_for 10 ctl status >/dev/null 2>&1 || fail "server did not start"
ctl create listen="$work/p0.sock" queues="$txq" >/dev/null
ctl create listen="$work/p1.sock" queues="$rxq" >/dev/null

# Line-buffered, as the sender below: its periodic statistics (rx_seen)
# must reach the log as printed, not a buffer's worth at a time.
# shellcheck disable=SC2086
stdbuf -oL dpdk-testpmd $eal --file-prefix="vnp-rx-$$" --vdev "net_virtio_user0,path=$work/p1.sock$rx_devargs" -- \
	--forward-mode=rxonly --rxq="$rxq" --txq="$rxq" --stats-period 1 --total-num-mbufs=16384 >"$work/rx.log" 2>&1 &
rx=$!
pids+=("$rx")
wait_for 30 port_running 1 || fail "the receiver did not start"

# Interactive, to stop forwarding before the port goes away (and to stop
# and start the port with --restart): commands through a pipe, answers
# line-buffered (the statistics of a stop are read while it runs).
mkfifo "$work/tx.in"
# shellcheck disable=SC2086
stdbuf -oL dpdk-testpmd $eal --file-prefix="vnp-tx-$$" --vdev "net_virtio_user0,path=$work/p0.sock$tx_devargs" -- \
	-i --forward-mode=txonly --txpkts="$txpkts" --rxq="$txq" --txq="$txq" --total-num-mbufs=16384 \
	<"$work/tx.in" >"$work/tx.log" 2>&1 &
tx=$!
pids+=("$tx")
exec 5>"$work/tx.in"
wait_for 30 port_running 0 || fail "the sender did not start"
echo start >&5
check_features 0 "${tx_devargs#,}"
check_features 1 "${rx_devargs#,}"

# The traffic's duration (not a synchronisation: nothing waits on it).
runs=1
if [ $restart = 1 ]; then
	# The stop must land mid-lap, where a ring that lost its place would
	# show it (at a lap's start it would look fine). Where the sender's
	# ring stands is known from what it sent since its ring last started
	# at its beginning: each packet takes one slot of the 256 (64 B in
	# one descriptor; three segments, not in order, in an indirect
	# table). A server short of CPU finds the ring full at each wake-up
	# and takes whole laps, so a lap's start is common on a slow machine:
	# then one burst more, sent alone (rxonly with tx_first sends one
	# txonly burst and no more), moves it on. Where the server says the
	# ring stopped must be exactly there.
	mark=0
	log_since_mark_has "port0: ring 1 started (.*base 0x8000" ||
		fail "the sender's TX ring did not start at its beginning (the count below assumes it)"
	started_at=0
	half=$(awk "BEGIN { print $seconds / 2 }")
	sleep "$half"
	for try in 1 2 3; do
		# What the ring holds goes first: a port that stops takes it along.
		stop_and_drain
		if [ $(((sent - started_at) % 256)) = 0 ]; then
			echo "the sender's ring is at a lap's start: one burst more"
			echo "set fwd rxonly" >&5
			echo "start tx_first" >&5
			runs=$((runs + 1))
			stop_and_drain
			echo "set fwd txonly" >&5
		fi
		since=$((sent - started_at))
		# Slot and wrap (it starts at 1, and turns each lap), for both
		# the available and the used position.
		at=$((since % 256 | ((since / 256 & 1) ^ 1) << 15))
		want=$(printf '%#x' $((at << 16 | at)))
		echo "the sender sent $since packets since its ring started: its ring is at $want"
		started_at=$sent
		mark=$(wc -l <"$work/server.log")
		echo "port stop 0" >&5
		echo "port config 0 rx_offload tcp_lro $([ $((try % 2)) = 1 ] && echo on || echo off)" >&5
		echo "port start 0" >&5
		echo start >&5
		runs=$((runs + 1))
		wait_for 30 log_since_mark_has "port0: ring 1 started" ||
			fail "the sender's rings did not start again"
		stopped=$(tail -n +"$((mark + 1))" "$work/server.log" |
			sed -n 's/.*port0: ring 1 stopped at \(0x[0-9a-f]*\).*/\1/p')
		[ -n "$stopped" ] || fail "the sender's TX ring did not stop"
		[ $((stopped)) = $((want)) ] || fail "the server stopped the sender's TX ring at $stopped, not at $want"
		echo "sender's TX ring stopped at $stopped (slot $((stopped & 0x7fff)), wrap $((stopped >> 15 & 1))), started again:"
		tail -n +"$((mark + 1))" "$work/server.log" | grep -a "port0: ring . started"
		log_since_mark_has "port0: ring 1 started (.*base 0x8000" ||
			fail "the sender's TX ring did not start again at its beginning (the count above assumes it)"
		[ $((stopped & 0x7fff)) != 0 ] && break
		[ $try != 3 ] || fail "the TX ring stopped at a lap's start 3 times, with a burst sent alone to move it"
		sleep 0.5
	done
	sleep "$half"
else
	sleep "$seconds"
fi
stop_and_drain
[ -n "$sent" ] && [ "$sent" -gt 0 ] || fail "the sender sent nothing"
echo quit >&5
exec 5>&-
wait "$tx" || true
wait_for 30 rx_caught_up || true
kill -INT "$rx"
wait "$rx" || true

received=$(stat_of rx RX-packets)
echo "txpkts $txpkts: sent $sent, received $received"
[ "$sent" = "$received" ] || fail "lost $((sent - received)) of $sent packets"
[ "$(stat_of rx RX-dropped)" = 0 ] || fail "the receiver dropped packets"
fwd=$(metric 0 packets_total ',direction="tx"')
delivered=$(metric 1 packets_total ',direction="rx"')
[ "$fwd" = "$sent" ] && [ "$delivered" = "$sent" ] ||
	fail "server counted $fwd forwarded and $delivered delivered for $sent sent"
for reason in no_peer too_big bad_chain; do
	[ "$(metric 0 drops_total ",direction=\"tx\",reason=\"$reason\"")" = 0 ] ||
		fail "server counted drops: $reason"
done
if grep -a "resuming there\|failed:" "$work/server.log"; then fail "the server resynced or failed a ring"; fi
# Per pair: the sender's TX ring q fed the receiver's RX ring q mod rxq
# (the receiver runs all its pairs), and the counts agree ring by ring.
pair_count() { metric "$1" queue_packets_total ",pair=\"$2\",direction=\"$3\""; }
for q in $(seq 0 $((rxq - 1))); do
	want=0
	for t in $(seq 0 $((txq - 1))); do
		[ $((t % rxq)) = "$q" ] && want=$((want + $(pair_count 0 "$t" tx)))
	done
	got=$(pair_count 1 "$q" rx)
	echo "receiver's pair $q: $got packets, from the sender's TX rings q with q mod $rxq = $q: $want"
	[ "$got" = "$want" ] || fail "the receiver's pair $q got $got packets, its TX rings sent $want"
done
busy=0
for t in $(seq 0 $((txq - 1))); do
	n=$(pair_count 0 "$t" tx)
	echo "sender's pair $t: $n packets"
	[ "$n" -gt 0 ] && busy=$((busy + 1))
	[ "$(pair_count 0 "$t" drop)" = 0 ] || fail "the sender's pair $t counted drops"
done
[ "$busy" = "$txq" ] || fail "only $busy of the sender's $txq pairs carried packets"
bytes=$(metric 1 bytes_total ',direction="rx"')
echo "server: $fwd packets forwarded, $bytes bytes, no drops"
if [ ${#poll[@]} -gt 0 ]; then
	kicks=$(ctl status --json | jq '.ports[0].kicks')
	echo "the sender kicked $kicks times for $sent packets, the server polling"
	[ "$kicks" -le 10 ] || fail "the sender kicked $kicks times, with the server polling"
fi
echo "passed"
