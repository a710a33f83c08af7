#!/bin/bash
# DPDK virtio-user clients (dpdk-testpmd from Debian's dpdk-dev) on both
# ports: one sends (txonly), the other receives (rxonly), for a fixed time.
# The sender stops first, the receiver drains, and then every packet sent
# must have arrived, and the server's counters must agree.
#
#   dpdk.sh TXPKTS [SECONDS [DEVARGS]]
#     e.g. dpdk.sh 64, dpdk.sh 1500, dpdk.sh 512,512,476, dpdk.sh 1500 4 in_order=0
#
# DEVARGS are added to both virtio-user ports. By default virtio-user asks
# for IN_ORDER and, since the server offers it, takes its in-order TX and RX
# paths; in_order=0 keeps the standard ones. Either way the test checks
# which was negotiated, so a silent fallback cannot pass for the other.
set -euo pipefail

# Without the client software this test cannot run: skip (77) when run by
# hand, fail where it is required (CI sets VNET_P2P_REQUIRE_REAL_CLIENTS=1).
if ! command -v dpdk-testpmd >/dev/null; then
	echo "dpdk-testpmd is not installed"
	[ "${VNET_P2P_REQUIRE_REAL_CLIENTS:-0}" = 1 ] && exit 1
	exit 77
fi

txpkts=${1:?txpkts}
seconds=${2:-4}
devargs=${3:+,$3}
server=${VNET_P2P_BIN:?}
ctl_bin=${VNET_P2P_CTL_BIN:?}
work=$(mktemp -d /tmp/vnp-dpdk.XXXXXX)
svr=$work/ctl.sock
eal="--no-huge -m 512 --no-pci"
pids=()

cleanup() {
	local rc=$?
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

# The last "Forward statistics" block's value of a counter.
stat_of() { sed -n "/Forward statistics for port 0/,/----------/s/.*$2: *\([0-9]*\).*/\1/p" "$work/$1.log" | tail -n1; }
# metric PORT NAME MORE_LABELS: one value from `status --prometheus`.
metric() { ctl status --prometheus | sed -n "s/^vnet_p2p_$2{port=\"$1\"$3} //p"; }

"$server" --svr "$svr" 2>"$work/server.log" &
server_pid=$!
for i in $(seq 100); do [ -S "$svr" ] && break; sleep 0.05; done
ctl create listen="$work/p0.sock" >/dev/null
ctl create listen="$work/p1.sock" >/dev/null

# shellcheck disable=SC2086
dpdk-testpmd $eal --file-prefix="vnp-rx-$$" --vdev "net_virtio_user0,path=$work/p1.sock$devargs" -- \
	--forward-mode=rxonly --stats-period 1 --total-num-mbufs=16384 >"$work/rx.log" 2>&1 &
rx=$!
pids+=("$rx")
for i in $(seq 100); do ctl status | grep -q "^port 1: running" && break; sleep 0.1; done
ctl status | grep -q "^port 1: running" || fail "the receiver did not start"

# shellcheck disable=SC2086
dpdk-testpmd $eal --file-prefix="vnp-tx-$$" --vdev "net_virtio_user0,path=$work/p0.sock$devargs" -- \
	--forward-mode=txonly --txpkts="$txpkts" --stats-period 1 --total-num-mbufs=16384 \
	>"$work/tx.log" 2>&1 &
tx=$!
pids+=("$tx")
sleep "$seconds"
# Both ports negotiated IN_ORDER exactly when the clients were not told otherwise.
n_in_order=$(ctl status | grep -c '^  features .*IN_ORDER' || true)
case "$devargs" in
*in_order=0*) [ "$n_in_order" = 0 ] || fail "IN_ORDER negotiated despite in_order=0" ;;
*) [ "$n_in_order" = 2 ] || fail "IN_ORDER negotiated on $n_in_order of 2 ports" ;;
esac
kill -INT "$tx"
wait "$tx" || true
# Let the receiver drain what is still in flight, then stop it.
sleep 1.5
kill -INT "$rx"
wait "$rx" || true

sent=$(stat_of tx TX-packets)
received=$(stat_of rx RX-packets)
[ -n "$sent" ] && [ "$sent" -gt 0 ] || fail "the sender sent nothing"
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
bytes=$(metric 1 bytes_total ',direction="rx"')
echo "server: $fwd packets forwarded, $bytes bytes, no drops"
echo "passed"
