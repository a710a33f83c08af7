#!/bin/bash
# The vnet-p2p benchmark: vnet-p2p against DPDK's vhost switch (testpmd with
# two net_vhost ports in io mode), driven by the same load generator.
#
#   bench/run.sh [--quick] [--rounds N] [--seconds S] [--sizes 64,1500] [--out FILE]
#                [--chart FILE] [--bulk-only]
#
# The generator is one dpdk-testpmd with two virtio-user ports, one on each
# port of the switch under test, in io forwarding with --tx-first, so packets
# circulate A -> switch -> B -> A. The switch runs on CPU 0, the generator on
# CPU 1 (taskset). Switches are measured alternately within one run
# (dpdk, vnet-p2p, vnet-p2p -p, dpdk, ...) and medians reported, because this
# machine is shared and noisy: only side-by-side ratios mean something.
#
# Packed virtqueues (issue 16): the same generator on packed rings
# (virtio-user packed_vq=1), through vnet-p2p and through DPDK's vhost
# switch serving packed rings, at every size beside the split figures.
# Two queue pairs (issue 17): both switches' ports with queues=2, the
# generator's ports with queues=2 and --rxq=2 --txq=2 (one lcore, as with
# one pair), at 64 and 1500 bytes, beside the one-pair figures of the same
# rounds. The short mode (--quick) runs both at 64 bytes only.
#
# Also: instructions per forwarded packet (valgrind --tool=callgrind, stable
# where wall-clock figures are not; at 64, 1500 and 4000 bytes, split and
# packed, two pairs at 64 and 1500; at 64 bytes
# the generator's own as well, which limits any switch's lead), round-trip
# latency of a ping-pong between two driver-library clients, the server's CPU
# use with two idle clients, and its private memory.
#
# The bulk case: 64 KB TCPv4 GSO frames (45 segments of 1448 bytes) from one
# driver-library client to another (bench/bulk.c, both on CPU 1), in TCP
# payload Gbit/s: passed through whole to a receiver with GUEST_TSO4, beside
# DPDK's vhost switch with tso=1; cut into 1514-byte segments by vnet-p2p
# for a receiver without it; and the same bytes sent as ordinary 1514-byte
# frames. Callgrind gives the server's instructions per delivered payload
# byte when it segments and when it forwards the 1514-byte frames.
#
# Prints a table and writes JSON (default bench/results.json) and an SVG
# chart of it (bench/chart.py; default: the JSON's name with .svg).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

rounds=3
seconds=6
warmup=3
quick=0
out=$root/bench/results.json
chart=
sizes=(64 256 1500 4000)
poll_usec=100
bulk_only=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1; rounds=1; seconds=2; warmup=2; sizes=(64 1500) ;;
	--rounds) rounds=$2; shift ;;
	--seconds) seconds=$2; shift ;;
	--sizes) IFS=, read -r -a sizes <<<"$2"; shift ;;
	--out) out=$2; shift ;;
	--chart) chart=$2; shift ;;
	--bulk-only) bulk_only=1 ;;
	*) echo "usage: $0 [--quick] [--rounds N] [--seconds S] [--sizes 64,1500,..] [--out FILE] [--chart FILE] [--bulk-only]" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$chart" ] || chart=${out%.json}.svg
# --bulk-only: the bulk case alone (its figures; the rest of the JSON empty).
[ $bulk_only = 1 ] && sizes=()
# in_list WORD LIST...: whether WORD is one of LIST.
in_list() {
	local w=$1 x
	shift
	for x in "$@"; do [ "$x" = "$w" ] && return 0; done
	return 1
}
# Packed rings at every size; two queue pairs at 64 and 1500 bytes (those of
# them the run has: the one-pair figures come from the same rounds). The
# short mode keeps both to 64 bytes.
packed_sizes=("${sizes[@]}")
mq_sizes=()
for size in "${sizes[@]}"; do in_list "$size" 64 1500 && mq_sizes+=("$size"); done
if [ $quick = 1 ]; then
	packed_sizes=() mq_sizes=()
	in_list 64 "${sizes[@]}" && packed_sizes=(64) mq_sizes=(64)
fi
mq_pairs=2

scripts/deps.sh test >&2
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }
# An optimised build of our own, so the figures do not depend on a dev build.
[ -f build-release/build.ninja ] ||
	meson setup build-release --buildtype=release -Db_lto=true >/dev/null
meson compile -C build-release >/dev/null
server=$root/build-release/src/vnet-p2p
ctl_bin=$root/build-release/tools/vnet-p2p-ctl
peer=$root/build-release/tools/vnet-p2p-peer
pingpong=$root/build-release/bench/vnet-p2p-pingpong
bulk_bin=$root/build-release/bench/vnet-p2p-bulk

work=$(mktemp -d /tmp/vnp-bench.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
eal="--no-huge -m 512 --no-pci"
A=$work/a.sock
B=$work/b.sock

# ---- the switches -----------------------------------------------------------

sw_pid=
# Extra arguments of the switches: the bulk case sets them (TSO, big rings).
dpdk_vdev_extra=
vnp_extra=()
# Queue pairs of every port, switch and generator alike; extra virtio-user
# keys of the generator (packed_vq=1). set_variant sets them from a kind.
pairs=1
gen_vdev_extra=
# set_variant KIND: the switch kind to start (in $base) and the generator's
# ring format and pairs: KIND-packed has packed rings, KIND-2q two pairs.
set_variant() {
	base=$1 pairs=1 gen_vdev_extra=
	case $1 in
	*-packed) base=${1%-packed} gen_vdev_extra=",packed_vq=1" ;;
	*-2q) base=${1%-2q} pairs=$mq_pairs ;;
	esac
	[ "$pairs" = 1 ] || gen_vdev_extra="$gen_vdev_extra,queues=$pairs"
}
# start_switch dpdk|dpdk-ext|vnp|vnp-poll [wrapper...]: the switch on CPU 0
# (dpdk-ext: DPDK taking a big frame into one external buffer, ext-buffer=1,
# instead of a chain of mbufs; OVS-DPDK does so when TSO is on).
start_switch() {
	local kind=$1 vdev=$dpdk_vdev_extra
	shift
	rm -f "$A" "$B" "$work/ctl.sock"
	case $kind in
	dpdk | dpdk-ext)
		[ "$kind" = dpdk-ext ] && vdev="$vdev,ext-buffer=1"
		# shellcheck disable=SC2086
		taskset -c 0 "$@" dpdk-testpmd $eal --file-prefix="vnp-sw-$$" --lcores 0@0,1@0 \
			--vdev "net_vhost0,iface=$A,queues=$pairs$vdev" \
			--vdev "net_vhost1,iface=$B,queues=$pairs$vdev" -- \
			--forward-mode=io --nb-cores=1 --rxq="$pairs" --txq="$pairs" \
			--stats-period 1 --total-num-mbufs=16384 >"$work/switch.log" 2>&1 &
		sw_pid=$!
		;;
	vnp | vnp-poll)
		local args=() q=()
		[ "$kind" = vnp-poll ] && args=(-p "$poll_usec")
		[ "$pairs" = 1 ] || q=(queues="$pairs")
		taskset -c 0 "$@" "$server" --svr "$work/ctl.sock" "${args[@]}" "${vnp_extra[@]}" \
			>"$work/switch.log" 2>&1 &
		sw_pid=$!
		for _ in $(seq 200); do [ -S "$work/ctl.sock" ] && break; sleep 0.05; done
		"$ctl_bin" --svr "$work/ctl.sock" create listen="$A" "${q[@]}" >/dev/null
		"$ctl_bin" --svr "$work/ctl.sock" create listen="$B" "${q[@]}" >/dev/null
		;;
	esac
	pids+=("$sw_pid")
	for _ in $(seq 200); do [ -S "$A" ] && [ -S "$B" ] && return; sleep 0.05; done
	echo "the $kind switch did not come up" >&2
	cat "$work/switch.log" >&2
	exit 1
}

# CPU time of a process so far, in clock ticks (user and system, all threads).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

stop_pid() {
	kill -INT "$1" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# ---- the generator ------------------------------------------------------------

gen_pid=
# start_generator SIZE [wrapper...]: 4000 is sent as two segments of 2000
# (multi-buffer). Ring format and pairs as set_variant left them.
start_generator() {
	local txpkts=$1
	[ "$1" = 4000 ] && txpkts=2000,2000
	shift
	# shellcheck disable=SC2086
	taskset -c 1 "$@" dpdk-testpmd $eal --file-prefix="vnp-gen-$$" --lcores 0@1,1@1 \
		--vdev "net_virtio_user0,path=$A$gen_vdev_extra" --vdev "net_virtio_user1,path=$B$gen_vdev_extra" -- \
		--forward-mode=io --tx-first --nb-cores=1 --rxq="$pairs" --txq="$pairs" --stats-period 1 \
		--total-num-mbufs=16384 --txpkts="$txpkts" \
		>"$work/gen.log" 2>&1 &
	gen_pid=$!
	pids+=("$gen_pid")
	# EAL takes a moment; time starts with the first statistics.
	for _ in $(seq 300); do grep -qa "Rx-pps:" "$work/gen.log" 2>/dev/null && return; sleep 0.1; done
	echo "the generator did not start" >&2
	tail -n 20 "$work/gen.log" >&2
}

# Packets per second received by the generator on both ports together,
# averaged over the stats periods after the warm-up.
generator_pps() {
	grep -a "Rx-pps:" "$work/gen.log" | awk -v skip=$((warmup * 2)) '
		NR > skip { sum += $2; n++ }
		END { if (n < 2) print 0; else printf "%d\n", sum / (n / 2) }'
}

# wait_periods N: until the generator has printed N statistics periods after
# its first (both ports), or for four times as long as that takes: a starved
# generator prints late, and its rates are per period whenever it prints.
wait_periods() {
	local want=$((($1 + 1) * 2)) _
	for _ in $(seq $((40 * $1))); do
		[ "$(grep -ac "Rx-pps:" "$work/gen.log")" -ge "$want" ] && return
		sleep 0.1
	done
}

# until_moved LABEL CMD [ARGS...]: CMD's figure (a count or a decimal), CMD
# started again (twice at most) while it is 0. The packets circulate from
# the generator's first burst: a burst sent while the switch was still
# setting up its other port is dropped whole (no peer yet), and nothing
# moves; and on a machine shared with other busy processes the switch's CPU
# can be taken from it for seconds (seen beside guest tests under load).
# A switch that never moves anything still gives 0.
until_moved() {
	local label=$1 v try
	shift
	for try in 1 2 3; do
		v=$("$@")
		awk -v v="$v" 'BEGIN { exit !(v > 0) }' && break
		echo "  $label moved nothing (start $try of 3)" >&2
	done
	echo "$v"
}

# measure_once KIND SIZE: one measurement, packets/s (KIND as set_variant takes it).
measure_once() {
	set_variant "$1"
	start_switch "$base"
	start_generator "$2"
	wait_periods $((warmup + seconds))
	stop_pid "$gen_pid"
	stop_pid "$sw_pid"
	generator_pps
}

# run_once KIND SIZE: measure_once, until it moved something.
run_once() { until_moved "$1 at $2 bytes" measure_once "$1" "$2"; }

median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END { print v[int((NR + 1) / 2)] }'; }

# ---- packets per second -----------------------------------------------------

declare -A pps rounds_of
echo "packets/s, both directions together; $rounds round(s) of ${seconds}s after ${warmup}s warm-up" >&2
for size in "${sizes[@]}"; do
	# Split rings with one pair, then packed rings, then two pairs: all
	# alternating within each round.
	kinds=(dpdk vnp vnp-poll)
	in_list "$size" "${packed_sizes[@]}" && kinds+=(dpdk-packed vnp-packed)
	in_list "$size" "${mq_sizes[@]}" && kinds+=(dpdk-2q vnp-2q)
	declare -A samples=()
	for r in $(seq "$rounds"); do
		for kind in "${kinds[@]}"; do
			v=$(run_once "$kind" "$size")
			samples[$kind]="${samples[$kind]:-} $v"
			echo "  size $size round $r $kind: $v" >&2
		done
	done
	for kind in "${kinds[@]}"; do
		# shellcheck disable=SC2086
		pps[$kind,$size]=$(median ${samples[$kind]})
		rounds_of[$kind,$size]=$(echo ${samples[$kind]} | tr ' ' ,)
	done
	unset samples
done

# ---- instructions per packet (callgrind) ------------------------------------

# Packets the vnet-p2p switch has forwarded (both ports' TX).
vnp_forwarded() {
	"$ctl_bin" --svr "$work/ctl.sock" status --prometheus |
		sed -n 's/^vnet_p2p_packets_total{port="[01]",direction="tx"} //p' |
		awk '{s += $1} END {print s}'
}
# Packets the generator has received (its cumulative RX-packets, both ports).
gen_received() {
	grep -a "RX-packets:" "$work/gen.log" | tail -n 2 | awk '{s += $2} END {print s}'
}

# callgrind_window PID CG COUNTER: instructions per packet of PID, running
# under callgrind into CG, over a window after a warm-up; COUNTER names the
# function that counts the packets. Stops the generator and the switch.
callgrind_window() {
	local pid=$1 cg=$2 counter=$3 before after
	sleep $((quick ? 6 : 10))
	callgrind_control -z "$pid" >/dev/null
	before=$("$counter")
	sleep $((quick ? 8 : 20))
	after=$("$counter")
	callgrind_control -d "$pid" >/dev/null
	stop_pid "$gen_pid"
	stop_pid "$sw_pid"
	awk -v b="$before" -v a="$after" '/^summary:/ { if (a > b) printf "%d\n", $2 / (a - b); else print 0; exit }' "$cg".1
}

# callgrind_ipp KIND SIZE: instructions per forwarded packet of the switch
# (KIND as set_variant takes it).
callgrind_ipp() {
	local counter=vnp_forwarded cg="$work/cg.out"
	set_variant "$1"
	rm -f "$cg"*
	start_switch "$base" valgrind --tool=callgrind --fair-sched=yes --callgrind-out-file="$cg"
	start_generator "$2"
	[ "$base" = dpdk ] && counter=gen_received
	callgrind_window "$sw_pid" "$cg" "$counter"
}

declare -A ipp
# 4000 B too: two segments a packet, the way a multi-segment sender's
# packets take (an indirect table, several receive buffers a frame).
ipp_sizes=()
for size in 64 1500 4000; do in_list "$size" "${sizes[@]}" && ipp_sizes+=("$size"); done
ipp_kinds=(vnp dpdk)
[ $quick = 1 ] && ipp_kinds=(vnp) && ipp_sizes=(64)
[ $bulk_only = 1 ] && ipp_sizes=()
for size in "${ipp_sizes[@]}"; do
	for k in "${ipp_kinds[@]}"; do
		kinds=("$k")
		in_list "$size" "${packed_sizes[@]}" && kinds+=("$k-packed")
		in_list "$size" "${mq_sizes[@]}" && kinds+=("$k-2q")
		for kind in "${kinds[@]}"; do
			ipp[$kind,$size]=$(until_moved "$kind at $size bytes under callgrind" \
				callgrind_ipp "$kind" "$size")
			echo "  instructions per packet, $kind, size $size: ${ipp[$kind,$size]}" >&2
		done
	done
done

# generator_ipp KIND SIZE: instructions per forwarded packet of the generator
# itself (callgrind on it, vnet-p2p native). Where the generator costs more
# than the switch, it sets the loop's pace: however cheap a switch, its
# packets/s then lead DPDK's by roughly DPDK's instructions over the
# generator's (64 B, and packed rings above all: DPDK's packed switch costs
# little more than the generator).
generator_ipp() {
	local cg="$work/gen-cg.out"
	set_variant "$1"
	rm -f "$cg"*
	start_switch "$base"
	start_generator "$2" valgrind --tool=callgrind --fair-sched=yes --callgrind-out-file="$cg"
	callgrind_window "$gen_pid" "$cg" vnp_forwarded
}
declare -A gen_ipp variant_rings=([vnp]=split [vnp-packed]=packed)
if [ $quick = 0 ] && in_list 64 "${ipp_sizes[@]}"; then
	kinds=(vnp)
	in_list 64 "${packed_sizes[@]}" && kinds+=(vnp-packed)
	for kind in "${kinds[@]}"; do
		gen_ipp[$kind]=$(until_moved "the generator at 64 bytes under callgrind" generator_ipp "$kind" 64)
		echo "  the generator's own instructions per packet, ${variant_rings[$kind]} rings, size 64: ${gen_ipp[$kind]}" >&2
	done
fi

# ---- bulk TCP: 64 KB GSO frames between two driver-library clients -------------

# Rings of 1024 (QEMU's largest), 4 KB receive buffers (Linux's mergeable
# buffers under bulk traffic): a ring then holds 64 super-packets, more than
# DPDK's burst of 32. DPDK's net_vhost with tso=1 alone turns a GSO frame into
# an mbuf flagged as received LRO (its checksum completed in software), which
# its own transmit path ignores: the receiver got a 65226-byte frame with no
# gso_type at all (found by bench/bulk.c, checked again in each full run).
# legacy-ol-flags=1 keeps the guest's request as a TSO request, and the frame
# crosses whole.
bulk_queue=1024
bulk_dpdk_vdev=",tso=1,legacy-ol-flags=1"
# bulk_client MODE [ARGS...]: both clients, on CPU 1.
bulk_client() {
	local mode=$1
	shift
	taskset -c 1 "$bulk_bin" --mode "$mode" --queue "$bulk_queue" "$@" "$A" "$B"
}
# field NAME LINE: the value of NAME=... in a key=value line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

# bulk_once KIND MODE ROUND: payload Gbit/s (0 if the client failed), of
# the last start (until_moved); the client's summary line goes to
# $work/bulk-lines.
bulk_once() {
	local kind=$1 mode=$2 line
	until_moved "bulk $mode through $kind" bulk_try "$kind" "$mode" >/dev/null
	line=$(cat "$work/bulk-try")
	echo "$kind $line" >>"$work/bulk-lines"
	echo "  bulk round $3 $kind $mode: $(field payload_gbps "$line") (switch busy $(field switch_cpu "$line") of CPU 0," \
		"clients $(field client_cpu "$line") of CPU 1; $(field whole "$line") frames whole," \
		"$(field segments "$line") segments, $(field lost_bytes "$line") bytes lost)" >&2
	field payload_gbps "$line"
}

# bulk_try KIND MODE: payload Gbit/s of one run of the clients through a
# fresh switch; its summary line, with the switch's CPU, in $work/bulk-try.
bulk_try() {
	local kind=$1 mode=$2 line cpid t0 t1 busy
	start_switch "$kind"
	bulk_client "$mode" --seconds "$seconds" --warmup "$warmup" >"$work/bulk.log" 2>&1 &
	cpid=$!
	# The switch's CPU time over (about) the client's measured window:
	# under 1, it waited for the clients, which then set the pace.
	sleep "$warmup"
	t0=$(cpu_ticks "$sw_pid")
	sleep "$seconds"
	t1=$(cpu_ticks "$sw_pid")
	busy=$(awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v s="$seconds" 'BEGIN { printf "%.2f", d / hz / s }')
	if wait "$cpid"; then
		line="$(grep '^bulk ' "$work/bulk.log" | tail -n 1) switch_cpu=$busy"
	else
		echo "  bulk $mode through $kind failed: $(tail -n 1 "$work/bulk.log")" >&2
		line="bulk mode=$mode payload_gbps=0 switch_cpu=$busy"
	fi
	stop_pid "$sw_pid"
	echo "$line" >"$work/bulk-try"
	field payload_gbps "$line"
}

# Payload bytes the receiver has counted, asked for with SIGUSR1.
bulk_bytes() {
	kill -USR1 "$1"
	sleep 0.3
	sed -n 's/^stats .* payload_bytes=\([0-9]*\).*/\1/p' "$work/bulk-cg.log" | tail -n 1
}
# callgrind_ipb MODE: the vnet-p2p server's instructions per delivered TCP
# payload byte (as callgrind_ipp, with the receiver's count of bytes). Rings
# of 4096 here: under valgrind the server is some 50 times slower, and with
# that much queued it does not run dry (and count idle polling as work)
# while other load keeps the clients off their CPU for a while.
callgrind_ipb() {
	local mode=$1 before after cpid cg="$work/cg.out" queue=4096
	rm -f "$cg"*
	vnp_extra=(-s "$queue")
	start_switch vnp valgrind --tool=callgrind --fair-sched=yes --callgrind-out-file="$cg"
	# Not through bulk_client: $! must be the client itself, for the signals.
	taskset -c 1 "$bulk_bin" --mode "$mode" --queue "$queue" --seconds 0 "$A" "$B" \
		>"$work/bulk-cg.log" 2>&1 &
	cpid=$!
	pids+=("$cpid")
	# Traffic first (connecting to a server under valgrind takes a while
	# on a loaded machine), then a little longer before the window opens.
	# (The client takes SIGUSR1 once it runs main: a second is plenty.)
	sleep 1
	for _ in $(seq 60); do
		[ "$(bulk_bytes "$cpid")" -gt 0 ] 2>/dev/null && break
		sleep 0.7
	done
	sleep $((quick ? 3 : 5))
	callgrind_control -z "$sw_pid" >/dev/null
	before=$(bulk_bytes "$cpid")
	sleep $((quick ? 4 : 20))
	after=$(bulk_bytes "$cpid")
	callgrind_control -d "$sw_pid" >/dev/null
	stop_pid "$cpid"
	stop_pid "$sw_pid"
	[ -n "$before" ] && [ -n "$after" ] ||
		echo "  bulk $mode under callgrind: no count from the client: $(tail -n 2 "$work/bulk-cg.log")" >&2
	awk -v b="${before:-0}" -v a="${after:-0}" \
		'/^summary:/ { if (a > b) printf "%.4f\n", $2 / (a - b); else print 0; exit }' "$cg".1
}

dpdk_vdev_extra=$bulk_dpdk_vdev
vnp_extra=(-s "$bulk_queue")
: >"$work/bulk-lines"
declare -A bulk_gbps bulk_rounds
bulk_runs=(dpdk:pass dpdk-ext:pass vnp:pass vnp:seg dpdk:plain vnp:plain)
[ $quick = 1 ] && bulk_runs=(dpdk:pass vnp:pass vnp:seg)
echo "bulk TCP, payload Gbit/s; $rounds round(s) of ${seconds}s after ${warmup}s warm-up" >&2
declare -A samples=()
for r in $(seq "$rounds"); do
	for run in "${bulk_runs[@]}"; do
		v=$(bulk_once "${run%:*}" "${run#*:}" "$r")
		samples[$run]="${samples[$run]:-} $v"
	done
done
for run in "${bulk_runs[@]}"; do
	# shellcheck disable=SC2086
	bulk_gbps[$run]=$(median ${samples[$run]})
	# shellcheck disable=SC2086
	bulk_rounds[$run]=$(echo ${samples[$run]} | tr ' ' ,)
done
unset samples
# What each switch delivered, over all rounds: frames whole or segmented,
# bytes lost (a gap in the stream: DPDK drops what a full ring cannot take),
# sampled frames whose checksum field lacked the length (DPDK).
bulk_sum() { # KIND MODE FIELD
	awk -v k="$1" -v m="mode=$2" -v f="$3" '$1 == k && $3 == m {
		for (i = 4; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) s += kv[2] } }
		END { printf "%d\n", s }' "$work/bulk-lines"
}
# bulk_med KIND MODE FIELD: the median of a field over the rounds.
bulk_med() {
	awk -v k="$1" -v m="mode=$2" -v f="$3" '$1 == k && $3 == m {
		for (i = 4; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) print kv[2] } }' \
		"$work/bulk-lines" | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'
}
# DPDK and a receiver without GUEST_TSO4: what arrives?
start_switch dpdk
bulk_client seg --expect any --seconds $((quick ? 1 : 2)) --warmup 1 >"$work/bulk.log" 2>&1 || true
stop_pid "$sw_pid"
dpdk_seg_line=$(grep '^bulk ' "$work/bulk.log" | tail -n 1 || true)
[ -n "$dpdk_seg_line" ] || dpdk_seg_line="error=$(tail -n 1 "$work/bulk.log" | tr ' =' '_:')"
dpdk_seg_whole=$(field whole "$dpdk_seg_line")
dpdk_seg_segments=$(field segments "$dpdk_seg_line")
if [ "${dpdk_seg_whole:-0}" -gt 0 ] && [ "${dpdk_seg_segments:-0}" = 0 ]; then
	dpdk_seg_note="DPDK delivered every 64 KB frame whole, gso_type TCPV4, to the receiver that had not negotiated GUEST_TSO4 ($dpdk_seg_whole frames); it does not segment"
elif [ -n "$dpdk_seg_whole" ]; then
	dpdk_seg_note="DPDK delivered $dpdk_seg_whole frames whole and $dpdk_seg_segments segments to a receiver without GUEST_TSO4"
else
	dpdk_seg_note="DPDK with a receiver without GUEST_TSO4: $(tail -n 1 "$work/bulk.log")"
fi
echo "  $dpdk_seg_note" >&2

# DPDK with tso=1 alone (not legacy-ol-flags=1): what the receiver gets.
dpdk_tso_only_note=
if [ $quick = 0 ]; then
	dpdk_vdev_extra=",tso=1"
	start_switch dpdk
	if bulk_client pass --expect any --seconds 1 --warmup 1 >"$work/bulk.log" 2>&1; then
		dpdk_tso_only_note="passed the 64 KB frames through whole: $(grep '^bulk ' "$work/bulk.log" | tail -n 1)"
	else
		dpdk_tso_only_note="the receiver got what bench/bulk.c refuses: $(tail -n 1 "$work/bulk.log" | sed 's/^vnet-p2p-bulk: //')"
	fi
	stop_pid "$sw_pid"
	dpdk_vdev_extra=$bulk_dpdk_vdev
	echo "  DPDK with tso=1 alone: $dpdk_tso_only_note" >&2
fi

declare -A ipb
ipb_modes=(seg plain)
[ $quick = 1 ] && ipb_modes=(seg)
for mode in "${ipb_modes[@]}"; do
	ipb[$mode]=$(callgrind_ipb "$mode")
	echo "  instructions per payload byte, vnp, bulk $mode: ${ipb[$mode]}" >&2
done
dpdk_vdev_extra=
vnp_extra=()

# ---- latency: ping-pong between two driver-library clients ----------------------

# latency KIND: "p50 p99" round-trip in microseconds, of a ping-pong between
# two polling driver-library clients (one process, on CPU 1).
latency() {
	start_switch "$1"
	taskset -c 1 "$pingpong" "$A" "$B" $((quick ? 2000 : 20000)) 64 >"$work/ping.log" 2>&1 || true
	stop_pid "$sw_pid"
	sed -n 's/.*p50 \([0-9.]*\) us, p99 \([0-9.]*\) us.*/\1 \2/p' "$work/ping.log"
}
# Alternating rounds, medians: on this VM a cache line's trip between the
# two CPUs flips between two speeds over minutes (bench/HISTORY.md), and
# round trips follow it; one figure per switch minutes apart compares the
# host's moods, not the switches.
lat_vnp_p50='' lat_vnp_p99='' lat_dpdk_p50='' lat_dpdk_p99=''
if [ $bulk_only = 0 ]; then
	declare -a lv50=() lv99=() ld50=() ld99=()
	for _ in $(seq "$rounds"); do
		read -r a b < <(latency vnp)
		[ -n "$a" ] && lv50+=("$a") && lv99+=("$b")
		read -r a b < <(latency dpdk)
		[ -n "$a" ] && ld50+=("$a") && ld99+=("$b")
	done
	[ ${#lv50[@]} -gt 0 ] && lat_vnp_p50=$(median "${lv50[@]}") && lat_vnp_p99=$(median "${lv99[@]}")
	[ ${#ld50[@]} -gt 0 ] && lat_dpdk_p50=$(median "${ld50[@]}") && lat_dpdk_p99=$(median "${ld99[@]}")
	echo "  ping-pong p50 (us), rounds: vnet-p2p ${lv50[*]}; dpdk ${ld50[*]}" >&2
fi

# ---- idle CPU and memory ------------------------------------------------------

# Private resident memory without the clients' shared regions (memfd maps).
private_kib() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { skip = ($0 ~ /memfd:|\/dev\/shm|hugepages/) }
	     /^Private_(Clean|Dirty):/ && !skip { s += $2 } END { print s }' "/proc/$1/smaps"
}

# idle KIND: "cpu% private_KiB" with two connected, silent clients.
idle() {
	start_switch "$1"
	for s in "$A" "$B"; do
		"$peer" --path "$s" echo --count 0 -q >/dev/null 2>&1 &
		pids+=($!)
	done
	sleep 2
	local t0 t1 hz
	hz=$(getconf CLK_TCK)
	t0=$(cpu_ticks "$sw_pid")
	sleep 5
	t1=$(cpu_ticks "$sw_pid")
	awk -v d=$((t1 - t0)) -v hz="$hz" 'BEGIN { printf "%.1f ", 100 * d / hz / 5 }'
	private_kib "$sw_pid"
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	stop_pid "$sw_pid"
}
idle_vnp_cpu='' mem_vnp_kib='' idle_dpdk_cpu='' mem_dpdk_kib=''
if [ $bulk_only = 0 ]; then
	read -r idle_vnp_cpu mem_vnp_kib < <(idle vnp)
	read -r idle_dpdk_cpu mem_dpdk_kib < <(idle dpdk)
fi

# ---- report -------------------------------------------------------------------

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
mpps() { awk -v v="$1" 'BEGIN { printf "%.2f", v / 1e6 }'; }

echo
echo "vnet-p2p benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $rounds round(s), medians)"
printf '%-10s %12s %12s %12s %10s %10s\n' size "dpdk Mpps" "vnp Mpps" "vnp -p Mpps" "vnp/dpdk" "vnp-p/dpdk"
for size in "${sizes[@]}"; do
	printf '%-10s %12s %12s %12s %10s %10s\n' "$size" "$(mpps "${pps[dpdk,$size]}")" \
		"$(mpps "${pps[vnp,$size]}")" "$(mpps "${pps[vnp-poll,$size]}")" \
		"$(ratio "${pps[vnp,$size]}" "${pps[dpdk,$size]}")" \
		"$(ratio "${pps[vnp-poll,$size]}" "${pps[dpdk,$size]}")"
done
echo
printf '%-34s %12s %12s\n' "" vnet-p2p dpdk
for size in "${ipp_sizes[@]}"; do
	printf '%-34s %12s %12s\n' "instructions/packet, $size B" "${ipp[vnp,$size]}" "${ipp[dpdk,$size]:--}"
	[ -z "${ipp[vnp-packed,$size]:-}" ] || printf '%-34s %12s %12s\n' "  packed rings, $size B" \
		"${ipp[vnp-packed,$size]}" "${ipp[dpdk-packed,$size]:--}"
	[ -z "${ipp[vnp-2q,$size]:-}" ] || printf '%-34s %12s %12s\n' "  $mq_pairs queue pairs, $size B" \
		"${ipp[vnp-2q,$size]}" "${ipp[dpdk-2q,$size]:--}"
done
printf '%-34s %12s %12s\n' "ping-pong round trip p50 (us)" "$lat_vnp_p50" "$lat_dpdk_p50"
printf '%-34s %12s %12s\n' "ping-pong round trip p99 (us)" "$lat_vnp_p99" "$lat_dpdk_p99"
printf '%-34s %12s %12s\n' "CPU with two idle clients (%)" "$idle_vnp_cpu" "$idle_dpdk_cpu"
printf '%-34s %12s %12s\n' "private memory (KiB)" "$mem_vnp_kib" "$mem_dpdk_kib"

# ipp_ratio A B: A/B to three decimals (instructions repeat to three digits).
ipp_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.3f", a / b; else print "-" }'; }
if [ ${#packed_sizes[@]} -gt 0 ]; then
	echo
	echo "packed rings beside split, Mpps (the same rounds, medians; the generator on packed_vq=1)"
	printf '%-6s %10s %10s %10s %10s %11s %11s %11s %11s\n' size "dpdk split" "dpdk pack" "vnp split" "vnp pack" \
		"vnp pk/sp" "dpdk pk/sp" "lead split" "lead pack"
	for size in "${packed_sizes[@]}"; do
		printf '%-6s %10s %10s %10s %10s %11s %11s %11s %11s\n' "$size" "$(mpps "${pps[dpdk,$size]}")" \
			"$(mpps "${pps[dpdk-packed,$size]}")" "$(mpps "${pps[vnp,$size]}")" "$(mpps "${pps[vnp-packed,$size]}")" \
			"$(ratio "${pps[vnp-packed,$size]}" "${pps[vnp,$size]}")" \
			"$(ratio "${pps[dpdk-packed,$size]}" "${pps[dpdk,$size]}")" \
			"$(ratio "${pps[vnp,$size]}" "${pps[dpdk,$size]}")" \
			"$(ratio "${pps[vnp-packed,$size]}" "${pps[dpdk-packed,$size]}")"
	done
	echo "  (lead: vnet-p2p's packets/s over DPDK's vhost switch with the same ring format)"
fi
if [ ${#mq_sizes[@]} -gt 0 ]; then
	echo
	echo "$mq_pairs queue pairs beside one, Mpps (the same rounds, medians; ports with queues=$mq_pairs," \
		"generator --rxq=$mq_pairs --txq=$mq_pairs on one lcore)"
	printf '%-6s %10s %10s %10s %10s %10s %10s %11s %11s\n' size "dpdk 1" "dpdk $mq_pairs" "vnp 1" "vnp $mq_pairs" \
		"vnp $mq_pairs/1" "dpdk $mq_pairs/1" "vnp/dpdk 1" "vnp/dpdk $mq_pairs"
	for size in "${mq_sizes[@]}"; do
		printf '%-6s %10s %10s %10s %10s %10s %10s %11s %11s\n' "$size" "$(mpps "${pps[dpdk,$size]}")" \
			"$(mpps "${pps[dpdk-2q,$size]}")" "$(mpps "${pps[vnp,$size]}")" "$(mpps "${pps[vnp-2q,$size]}")" \
			"$(ratio "${pps[vnp-2q,$size]}" "${pps[vnp,$size]}")" \
			"$(ratio "${pps[dpdk-2q,$size]}" "${pps[dpdk,$size]}")" \
			"$(ratio "${pps[vnp,$size]}" "${pps[dpdk,$size]}")" \
			"$(ratio "${pps[vnp-2q,$size]}" "${pps[dpdk-2q,$size]}")"
	done
	for size in "${ipp_sizes[@]}"; do
		[ -n "${ipp[vnp-2q,$size]:-}" ] || continue
		echo "  instructions/packet, $size B, 1 -> $mq_pairs pairs: vnet-p2p ${ipp[vnp,$size]} -> ${ipp[vnp-2q,$size]}" \
			"($(ipp_ratio "${ipp[vnp-2q,$size]}" "${ipp[vnp,$size]}")x)$([ -z "${ipp[dpdk-2q,$size]:-}" ] ||
				echo ", DPDK ${ipp[dpdk,$size]} -> ${ipp[dpdk-2q,$size]}" \
				"($(ipp_ratio "${ipp[dpdk-2q,$size]}" "${ipp[dpdk,$size]}")x)")"
	done
fi

gb() { if [ -n "$1" ]; then printf '%.2f' "$1"; else echo -; fi; }
# Percent of the stream DPDK dropped in the measured windows of KIND MODE.
lost_percent() {
	awk -v k="$1" -v m="mode=$2" '$1 == k && $3 == m {
		for (i = 4; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		lost += v["lost_bytes"]; got += v["payload_gbps"] * 1e9 / 8 * v["seconds"] }
		END { if (lost + got > 0) printf "%.1f\n", 100 * lost / (lost + got); else print "-" }' "$work/bulk-lines"
}
# Against the better of DPDK's two ways of holding a big frame.
bulk_dpdk_best=$(awk -v a="${bulk_gbps[dpdk:pass]:-}" -v b="${bulk_gbps[dpdk-ext:pass]:-}" \
	'BEGIN { print (b != "" && b + 0 > a + 0) ? b : a }')
bulk_pass_ratio=$(ratio "${bulk_gbps[vnp:pass]:-}" "$bulk_dpdk_best")
bulk_pass_ratio_chain=$(ratio "${bulk_gbps[vnp:pass]:-}" "${bulk_gbps[dpdk:pass]:-}")
bulk_pass_ratio_ext=$(ratio "${bulk_gbps[vnp:pass]:-}" "${bulk_gbps[dpdk-ext:pass]:-}")
bulk_plain_ratio=$(ratio "${bulk_gbps[vnp:plain]:-}" "${bulk_gbps[dpdk:plain]:-}")
ipb_ratio=$(awk -v a="${ipb[seg]:-}" -v b="${ipb[plain]:-}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }')
# The generator's 1500-byte frames (one descriptor each: the server's fast
# path), per the 1448 payload bytes a 1500-byte IP packet carries in TCP
# with timestamps.
gen_ipb=$(awk -v p="${ipp[vnp,1500]:-}" 'BEGIN { if (p > 0) printf "%.4f", p / 1448; else print "-" }')
gen_ipb_ratio=$(awk -v a="${ipb[seg]:-}" -v b="$gen_ipb" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }')
dpdk_pass_lost=$(lost_percent dpdk pass)
dpdk_ext_pass_lost=$(lost_percent dpdk-ext pass)
dpdk_plain_lost=$(lost_percent dpdk plain)
# How much of CPU 1 the clients had (1: all of it; less: other load shared it).
bulk_cpu=$(awk '{ for (i = 4; i <= NF; i++) if ($i ~ /^client_cpu=/) { split($i, kv, "="); print kv[2] } }' \
	"$work/bulk-lines" | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print 0 }')
dpdk_checked=$(bulk_sum dpdk pass checked)
dpdk_nolen=$(bulk_sum dpdk pass csum_nolen)
echo
echo "bulk TCP: 64 KB GSO frames (45 segments of 1448 bytes), TCP payload Gbit/s, medians"
printf '  %-44s %10s %10s %10s\n' "" dpdk vnet-p2p vnp/dpdk
printf '  %-44s %10s %10s %10s\n' "passed through whole (receiver GUEST_TSO4)" \
	"$(gb "${bulk_gbps[dpdk:pass]:-}")" "$(gb "${bulk_gbps[vnp:pass]:-}")" "$bulk_pass_ratio_chain"
printf '  %-44s %10s %10s %10s\n' "  the same, DPDK with ext-buffer=1" \
	"$(gb "${bulk_gbps[dpdk-ext:pass]:-}")" "" "$bulk_pass_ratio_ext"
printf '  %-44s %10s %10s %10s\n' "segmented by the switch (no GUEST_TSO4)" - "$(gb "${bulk_gbps[vnp:seg]:-}")" -
printf '  %-44s %10s %10s %10s\n' "the same bytes as 1514-byte frames" \
	"$(gb "${bulk_gbps[dpdk:plain]:-}")" "$(gb "${bulk_gbps[vnp:plain]:-}")" "$bulk_plain_ratio"
echo "  DPDK (${bulk_dpdk_vdev#,}) dropped what the receiver's ring could not take: $dpdk_pass_lost% of the" \
	"64 KB frames' bytes ($dpdk_ext_pass_lost% with ext-buffer=1), $dpdk_plain_lost% of the 1514-byte frames'" \
	"(vnet-p2p holds a frame until the receiver has room: none);" \
	"$dpdk_nolen of $dpdk_checked sampled 64 KB frames had a TCP checksum field without the length."
echo "  $dpdk_seg_note."
[ -z "$dpdk_tso_only_note" ] || echo "  DPDK with tso=1 alone $dpdk_tso_only_note."
echo "  Share of its CPU each side had busy (medians; the switch under 1: it waited for the clients;" \
	"the clients under 1: other load took CPU 1):"
for run in "${bulk_runs[@]}"; do
	printf '    %-12s switch %5s   clients %5s\n' "${run%:*} ${run#*:}" "$(bulk_med "${run%:*}" "${run#*:}" switch_cpu)" \
		"$(bulk_med "${run%:*}" "${run#*:}" client_cpu)"
done
echo "  vnet-p2p, instructions per delivered TCP payload byte (callgrind): segmenting 64 KB frames ${ipb[seg]:--}" \
	"($(awk -v b="${ipb[seg]:-}" 'BEGIN { if (b > 0) printf "%d", b * 1448; else print "-" }') per 1514-byte segment);" \
	"forwarding the same stream as 1514-byte frames, headers and payload in two descriptors as Linux sends" \
	"TCP, ${ipb[plain]:--} ($(awk -v b="${ipb[plain]:-}" 'BEGIN { if (b > 0) printf "%d", b * 1448; else print "-" }') per frame);" \
	"the generator's one-descriptor 1500-byte frames ${ipp[vnp,1500]:--} per frame, $gen_ipb per 1448 bytes."

# The goals, read off this run's figures; reported, never asserted.
best_ratio() {
	local a b
	a=$(ratio "${pps[vnp,$1]}" "${pps[dpdk,$1]}")
	b=$(ratio "${pps[vnp-poll,$1]}" "${pps[dpdk,$1]}")
	awk -v a="$a" -v b="$b" 'BEGIN { print (a + 0 > b + 0) ? a : b }'
}
verdict() { awk -v v="$1" -v g="$2" 'BEGIN { print (v + 0 >= g + 0) ? "met" : "NOT met" }'; }
echo
echo "goals, in this run:"
for goal in 64:1.5 1500:2; do
	size=${goal%:*}
	[ -n "${pps[dpdk,$size]:-}" ] || continue
	r=$(best_ratio "$size")
	printf '  %-58s %6s  %s\n' "$size B, best vnet-p2p mode, at least ${goal#*:}x DPDK" "$r" "$(verdict "$r" "${goal#*:}")"
done
worst=
for size in "${sizes[@]}"; do
	r=$(ratio "${pps[vnp,$size]}" "${pps[dpdk,$size]}")
	worst=$(awk -v w="${worst:-99}" -v r="$r" 'BEGIN { print (r + 0 < w + 0) ? r : w }')
done
if [ $bulk_only = 0 ]; then
	printf '  %-58s %6s  %s\n' "default mode at least on par with DPDK (lowest ratio)" "$worst" "$(verdict "$worst" 1)"
	printf '  %-58s %6s  %s\n' "CPU with two idle clients 0% (over 5 s, in clock ticks)" "$idle_vnp_cpu" \
		"$(awk -v c="$idle_vnp_cpu" 'BEGIN { print (c + 0 == 0) ? "met" : "NOT met" }')"
	printf '  %-58s %6s  %s\n' "private memory under 2048 KiB" "$mem_vnp_kib" \
		"$(awk -v m="$mem_vnp_kib" 'BEGIN { print (m + 0 < 2048) ? "met" : "NOT met" }')"
fi
printf '  %-58s %6s  %s\n' "bulk 64 KB GSO passed through, at least 2x DPDK (its best)" "$bulk_pass_ratio" \
	"$(verdict "$bulk_pass_ratio" 2)"
at_most_1() { awk -v r="$1" 'BEGIN { print (r == "-") ? "not measured" : (r + 0 <= 1) ? "met" : "NOT met" }'; }
printf '  %-58s %6s  %s\n' "segmenting: instructions/payload byte at most 1514 B's" "$ipb_ratio" "$(at_most_1 "$ipb_ratio")"
printf '  %-58s %6s  %s\n' "... and at most the generator's one-descriptor 1500 B's" "$gen_ipb_ratio" \
	"$(at_most_1 "$gen_ipb_ratio")"

# Packets/s move by several percent from round to round here: a shortfall
# under 5% is marked as such (still not met).
verdict_pps() {
	awk -v v="$1" -v g="$2" 'BEGIN {
		if (v == "-") print "not measured"; else if (v + 0 >= g + 0) print "met"
		else if (v + 0 >= 0.95 * g) print "NOT met (short by under 5%, within round-to-round noise)"
		else print "NOT met" }'
}
# goal_line LABEL VALUE VERDICT [LIST]: prints it; a verdict other than met
# adds LABEL to the named list of shortfalls.
goal_line() {
	printf '  %-58s %6s  %s\n' "$1" "$2" "$3"
	[ "$3" = met ] || [ -z "${4:-}" ] || printf -v "$4" '%s%s; ' "${!4}" "$1"
}
# Packed rings (issue 16): at least as fast as split, and the same lead
# over DPDK's vhost (itself on packed rings) as split has.
packed_short='' packed_goals=null
for size in "${packed_sizes[@]}"; do
	r=$(ratio "${pps[vnp-packed,$size]}" "${pps[vnp,$size]}")
	goal_line "packed, $size B: packets/s at least split's (packed/split)" "$r" "$(verdict_pps "$r" 1)" packed_short
	ls=$(ratio "${pps[vnp,$size]}" "${pps[dpdk,$size]}")
	lp=$(ratio "${pps[vnp-packed,$size]}" "${pps[dpdk-packed,$size]}")
	r=$(ratio "$lp" "$ls")
	goal_line "packed, $size B: lead over DPDK ${lp}x, split's ${ls}x (pk/sp)" "$r" "$(verdict_pps "$r" 1)" packed_short
done
for size in "${ipp_sizes[@]}"; do
	[ -n "${ipp[vnp-packed,$size]:-}" ] || continue
	r=$(ipp_ratio "${ipp[vnp-packed,$size]}" "${ipp[vnp,$size]}")
	goal_line "packed, $size B: instructions/packet at most split's" "$r" "$(at_most_1 "$r")" packed_short
	[ -n "${ipp[dpdk-packed,$size]:-}" ] || continue
	ls=$(ratio "${ipp[dpdk,$size]}" "${ipp[vnp,$size]}")
	lp=$(ratio "${ipp[dpdk-packed,$size]}" "${ipp[vnp-packed,$size]}")
	r=$(ipp_ratio "$lp" "$ls")
	goal_line "packed, $size B: ${lp}x fewer instructions than DPDK, split ${ls}x" "$r" "$(verdict "$r" 1)" packed_short
done
# How far any switch's packets/s can lead DPDK's at 64 B, where the
# generator sets the pace: about DPDK's instructions over the generator's
# (generator_ipp); an estimate, as both sides' cache misses differ.
for kind in vnp vnp-packed; do
	[ -n "${gen_ipp[$kind]:-}" ] || continue
	[ -n "${ipp[${kind/vnp/dpdk},64]:-}" ] || continue
	printf '  %-58s %6s  %s\n' "64 B, ${variant_rings[$kind]}: room for a lead in packets/s (DPDK/generator)" \
		"$(ratio "${ipp[${kind/vnp/dpdk},64]}" "${gen_ipp[$kind]}")" \
		"(instructions a packet: DPDK ${ipp[${kind/vnp/dpdk},64]}, the generator ${gen_ipp[$kind]})"
done
if [ ${#packed_sizes[@]} -gt 0 ]; then
	if [ -z "$packed_short" ]; then
		packed_goals=true
		echo "  packed rings (issue 16): every goal met in this run"
	else
		packed_goals=false
		echo "  packed rings (issue 16): NOT met in this run: ${packed_short%; }"
	fi
fi
# Queue pairs (issue 17): instructions per packet flat in their number
# (callgrind repeats to three digits: up to 1% more counts as flat).
mq_short='' mq_goals=null mq_measured=0
for size in "${ipp_sizes[@]}"; do
	[ -n "${ipp[vnp-2q,$size]:-}" ] || continue
	mq_measured=1
	r=$(ipp_ratio "${ipp[vnp-2q,$size]}" "${ipp[vnp,$size]}")
	goal_line "$mq_pairs pairs, $size B: instructions/packet at most 1 pair's (+1%)" "$r" \
		"$(awk -v r="$r" 'BEGIN { print (r == "-") ? "not measured" : (r + 0 <= 1.01) ? "met" : "NOT met" }')" mq_short
done
if [ $mq_measured = 1 ]; then
	if [ -z "$mq_short" ]; then
		mq_goals=true
		echo "  queue pairs (issue 17): instructions per packet flat from 1 to $mq_pairs pairs in this run: met"
	else
		mq_goals=false
		echo "  queue pairs (issue 17): instructions per packet grew from 1 to $mq_pairs pairs in this run: NOT met (${mq_short%; })"
	fi
fi

{
	echo "{"
	echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\", \"rounds\": $rounds, \"seconds\": $seconds,"
	echo "  \"poll_usec\": $poll_usec,"
	echo "  \"pps\": {"
	first=1
	for size in "${sizes[@]}"; do
		[ $first = 1 ] || echo ","
		first=0
		printf '    "%s": {"dpdk": %s, "vnet-p2p": %s, "vnet-p2p-poll": %s,\n' "$size" \
			"${pps[dpdk,$size]}" "${pps[vnp,$size]}" "${pps[vnp-poll,$size]}"
		printf '      "ratio": {"vnet-p2p": %s, "vnet-p2p-poll": %s},\n' \
			"$(ratio "${pps[vnp,$size]}" "${pps[dpdk,$size]}" | sed 's/^-$/null/')" \
			"$(ratio "${pps[vnp-poll,$size]}" "${pps[dpdk,$size]}" | sed 's/^-$/null/')"
		printf '      "rounds": {"dpdk": [%s], "vnet-p2p": [%s], "vnet-p2p-poll": [%s]}}' \
			"${rounds_of[dpdk,$size]}" "${rounds_of[vnp,$size]}" "${rounds_of[vnp-poll,$size]}"
	done
	echo
	echo "  },"
	echo "  \"instructions_per_packet\": {"
	first=1
	for size in "${ipp_sizes[@]}"; do
		[ $first = 1 ] || echo ","
		first=0
		printf '    "%s": {"vnet-p2p": %s, "dpdk": %s' "$size" "${ipp[vnp,$size]}" "${ipp[dpdk,$size]:-null}"
		[ "$size" != 64 ] || [ -z "${gen_ipp[vnp]:-}" ] || printf ', "generator": %s' "${gen_ipp[vnp]}"
		if [ -n "${ipp[vnp-packed,$size]:-}" ]; then
			printf ',\n      "packed": {"vnet-p2p": %s, "dpdk": %s' \
				"${ipp[vnp-packed,$size]}" "${ipp[dpdk-packed,$size]:-null}"
			[ "$size" != 64 ] || [ -z "${gen_ipp[vnp-packed]:-}" ] || printf ', "generator": %s' "${gen_ipp[vnp-packed]}"
			printf '}'
		fi
		[ -z "${ipp[vnp-2q,$size]:-}" ] || printf ',\n      "pairs%s": {"vnet-p2p": %s, "dpdk": %s}' "$mq_pairs" \
			"${ipp[vnp-2q,$size]}" "${ipp[dpdk-2q,$size]:-null}"
		printf '}'
	done
	echo
	echo "  },"
	jr() { ratio "$@" | sed 's/^-$/null/'; }
	echo "  \"pps_packed\": {"
	first=1
	for size in "${packed_sizes[@]}"; do
		[ $first = 1 ] || echo ","
		first=0
		printf '    "%s": {"dpdk": %s, "vnet-p2p": %s,\n' "$size" "${pps[dpdk-packed,$size]}" "${pps[vnp-packed,$size]}"
		printf '      "ratio": {"vnet-p2p": %s}, "ratio_split": {"vnet-p2p": %s},\n' \
			"$(jr "${pps[vnp-packed,$size]}" "${pps[dpdk-packed,$size]}")" "$(jr "${pps[vnp,$size]}" "${pps[dpdk,$size]}")"
		printf '      "packed_over_split": {"dpdk": %s, "vnet-p2p": %s},\n' \
			"$(jr "${pps[dpdk-packed,$size]}" "${pps[dpdk,$size]}")" "$(jr "${pps[vnp-packed,$size]}" "${pps[vnp,$size]}")"
		printf '      "rounds": {"dpdk": [%s], "vnet-p2p": [%s]}}' \
			"${rounds_of[dpdk-packed,$size]}" "${rounds_of[vnp-packed,$size]}"
	done
	echo
	echo "  },"
	echo "  \"multiqueue\": {\"pairs\": $mq_pairs, \"pps\": {"
	first=1
	for size in "${mq_sizes[@]}"; do
		[ $first = 1 ] || echo ","
		first=0
		printf '    "%s": {"dpdk": %s, "vnet-p2p": %s, "ratio": {"vnet-p2p": %s},\n' "$size" \
			"${pps[dpdk-2q,$size]}" "${pps[vnp-2q,$size]}" "$(jr "${pps[vnp-2q,$size]}" "${pps[dpdk-2q,$size]}")"
		printf '      "one_pair": {"dpdk": %s, "vnet-p2p": %s, "ratio": {"vnet-p2p": %s}},\n' \
			"${pps[dpdk,$size]}" "${pps[vnp,$size]}" "$(jr "${pps[vnp,$size]}" "${pps[dpdk,$size]}")"
		printf '      "pairs_over_one": {"dpdk": %s, "vnet-p2p": %s},\n' \
			"$(jr "${pps[dpdk-2q,$size]}" "${pps[dpdk,$size]}")" "$(jr "${pps[vnp-2q,$size]}" "${pps[vnp,$size]}")"
		printf '      "rounds": {"dpdk": [%s], "vnet-p2p": [%s]}}' "${rounds_of[dpdk-2q,$size]}" "${rounds_of[vnp-2q,$size]}"
	done
	echo
	printf '  }, "instructions_per_packet_over_one_pair": {'
	first=1
	for size in "${ipp_sizes[@]}"; do
		[ -n "${ipp[vnp-2q,$size]:-}" ] || continue
		[ $first = 1 ] || printf ', '
		first=0
		printf '"%s": {"vnet-p2p": %s, "dpdk": %s}' "$size" \
			"$(ipp_ratio "${ipp[vnp-2q,$size]}" "${ipp[vnp,$size]}" | sed 's/^-$/null/')" \
			"$(ipp_ratio "${ipp[dpdk-2q,$size]:-}" "${ipp[dpdk,$size]:-}" | sed 's/^-$/null/')"
	done
	echo "}},"
	echo "  \"goals_met\": {\"packed\": $packed_goals, \"multiqueue_instructions_flat\": $mq_goals},"
	echo "  \"latency_us\": {\"vnet-p2p\": {\"p50\": ${lat_vnp_p50:-null}, \"p99\": ${lat_vnp_p99:-null}}, \"dpdk\": {\"p50\": ${lat_dpdk_p50:-null}, \"p99\": ${lat_dpdk_p99:-null}}},"
	echo "  \"idle_cpu_percent\": {\"vnet-p2p\": ${idle_vnp_cpu:-null}, \"dpdk\": ${idle_dpdk_cpu:-null}},"
	echo "  \"private_memory_kib\": {\"vnet-p2p\": ${mem_vnp_kib:-null}, \"dpdk\": ${mem_dpdk_kib:-null}},"
	nul() { if [ -n "$1" ] && [ "$1" != - ]; then echo "$1"; else echo null; fi; }
	echo "  \"bulk\": {"
	echo "    \"frame\": {\"payload_bytes\": 65160, \"mss\": 1448, \"segment_frame_bytes\": 1514, \"queue\": $bulk_queue, \"rx_buf\": 4096},"
	echo "    \"dpdk_vdev\": \"${bulk_dpdk_vdev#,}\","
	echo "    \"payload_gbps\": {"
	printf '      "pass": {"dpdk": %s, "dpdk-ext": %s, "vnet-p2p": %s,\n' \
		"$(nul "$(gb "${bulk_gbps[dpdk:pass]:-}")")" "$(nul "$(gb "${bulk_gbps[dpdk-ext:pass]:-}")")" \
		"$(nul "$(gb "${bulk_gbps[vnp:pass]:-}")")"
	printf '        "ratio": %s, "ratio_dpdk": %s, "ratio_dpdk_ext": %s,\n' "$(nul "$bulk_pass_ratio")" \
		"$(nul "$bulk_pass_ratio_chain")" "$(nul "$bulk_pass_ratio_ext")"
	printf '        "rounds": {"dpdk": [%s], "dpdk-ext": [%s], "vnet-p2p": [%s]}},\n' "${bulk_rounds[dpdk:pass]:-}" \
		"${bulk_rounds[dpdk-ext:pass]:-}" "${bulk_rounds[vnp:pass]:-}"
	printf '      "seg": {"vnet-p2p": %s, "rounds": {"vnet-p2p": [%s]}},\n' \
		"$(nul "$(gb "${bulk_gbps[vnp:seg]:-}")")" "${bulk_rounds[vnp:seg]:-}"
	printf '      "plain": {"dpdk": %s, "vnet-p2p": %s, "ratio": %s,\n' \
		"$(nul "$(gb "${bulk_gbps[dpdk:plain]:-}")")" "$(nul "$(gb "${bulk_gbps[vnp:plain]:-}")")" "$(nul "$bulk_plain_ratio")"
	printf '        "rounds": {"dpdk": [%s], "vnet-p2p": [%s]}}\n' "${bulk_rounds[dpdk:plain]:-}" "${bulk_rounds[vnp:plain]:-}"
	echo "    },"
	echo "    \"client_cpu_median\": $bulk_cpu,"
	printf '    "cpu_busy": {'
	first=1
	for run in "${bulk_runs[@]}"; do
		[ $first = 1 ] || printf ', '
		first=0
		printf '"%s %s": {"switch": %s, "clients": %s}' "${run%:*}" "${run#*:}" \
			"$(nul "$(bulk_med "${run%:*}" "${run#*:}" switch_cpu)")" "$(nul "$(bulk_med "${run%:*}" "${run#*:}" client_cpu)")"
	done
	echo "},"
	echo "    \"dpdk_lost_percent\": {\"pass\": $(nul "$dpdk_pass_lost"), \"pass_ext\": $(nul "$dpdk_ext_pass_lost"), \"plain\": $(nul "$dpdk_plain_lost")},"
	echo "    \"dpdk_sampled_csum_without_length\": {\"checked\": $dpdk_checked, \"without_length\": $dpdk_nolen},"
	echo "    \"dpdk_without_guest_tso4\": {\"whole\": $(nul "$dpdk_seg_whole"), \"segments\": $(nul "$dpdk_seg_segments"), \"note\": \"${dpdk_seg_note//[\"\\]/}\"},"
	echo "    \"dpdk_tso_only\": \"${dpdk_tso_only_note//[\"\\]/}\","
	echo "    \"instructions_per_payload_byte\": {\"seg\": $(nul "${ipb[seg]:-}"), \"plain\": $(nul "${ipb[plain]:-}"), \"ratio\": $(nul "$ipb_ratio"),"
	echo "      \"generator_1500\": $(nul "$gen_ipb"), \"ratio_generator_1500\": $(nul "$gen_ipb_ratio")}"
	echo "  }"
	echo "}"
} >"$out"
echo
echo "results written to $out"
if python3 "$root/bench/chart.py" "$out" "$chart"; then
	echo "chart written to $chart"
else
	chart_failed=1
fi
echo
echo "What moved which number (bench/HISTORY.md):"
sed -n '/^| change/,/^$/p' bench/HISTORY.md | cut -c1-160

# A benchmark that measured nothing has rotted: fail, so CI notices.
missing=
# need_pps KIND... -- SIZE...: a packets/s figure for each kind at each size.
need_pps() {
	local kinds=() kind size
	while [ "$1" != -- ]; do
		kinds+=("$1")
		shift
	done
	shift
	for size in "$@"; do
		for kind in "${kinds[@]}"; do
			[ "${pps[$kind,$size]:-0}" -gt 0 ] || missing="$missing pps/$kind/$size"
		done
	done
}
need_pps dpdk vnp vnp-poll -- "${sizes[@]}"
need_pps dpdk-packed vnp-packed -- "${packed_sizes[@]}"
need_pps dpdk-2q vnp-2q -- "${mq_sizes[@]}"
for size in "${ipp_sizes[@]}"; do
	[ "${ipp[vnp,$size]:-0}" -gt 0 ] || missing="$missing instructions/$size"
	! in_list "$size" "${packed_sizes[@]}" || [ "${ipp[vnp-packed,$size]:-0}" -gt 0 ] ||
		missing="$missing instructions/packed/$size"
	! in_list "$size" "${mq_sizes[@]}" || [ "${ipp[vnp-2q,$size]:-0}" -gt 0 ] ||
		missing="$missing instructions/pairs$mq_pairs/$size"
done
if [ $bulk_only = 0 ]; then
	[ -n "$lat_vnp_p50" ] && [ -n "$lat_dpdk_p50" ] || missing="$missing latency"
	[ "${mem_vnp_kib:-0}" -gt 0 ] || missing="$missing memory"
fi
for run in "${bulk_runs[@]}"; do
	awk -v v="${bulk_gbps[$run]}" 'BEGIN { exit !(v > 0) }' || missing="$missing bulk/$run"
done
for mode in "${ipb_modes[@]}"; do
	awk -v v="${ipb[$mode]:-0}" 'BEGIN { exit !(v > 0) }' || missing="$missing instructions-per-byte/$mode"
done
[ -z "${chart_failed:-}" ] || missing="$missing chart"
if [ -n "$missing" ]; then
	echo "bench: no figure for:$missing" >&2
	exit 1
fi
