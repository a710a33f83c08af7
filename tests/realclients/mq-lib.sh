# Several queue pairs with real guests: the scenarios of guests.sh named
# mq-*. Two guests with two vCPUs each (-smp 2), ports created with
# queues=N and devices with the netdev's queues=N and mq=on, each guest
# serving a file and fetching the other's over 4 TCP connections at once
# (role mq of init.sh: Linux keeps a flow on one TX queue, so several
# flows spread over the queues). Sourced by guests.sh, whose helpers and
# variables (ctl, fail, start_guest, wait_line, value, values, metric,
# features_of, check_no_drops, work) it uses; libvirt.sh takes its checks
# for its round with two pairs.
#
#   2          queues=2 on both ends
#   4          queues=4 on both ends, all 4 in use (ethtool -L: Linux takes
#              no more pairs than it has CPUs)
#   4-1        queues=4 on port 0, a single-queue device on port 1
#   ethtool    queues=2 on both ends, both guests switching between 1 and
#              2 pairs (ethtool -L) again and again while the transfers run
#
# Each checks: pings and 1472-byte pings answered; every stream's file
# intact (MD5); the guest used the pairs it was meant to; MQ negotiated
# on ports with several pairs (and not on single ones); by the
# server's per-pair counters (status --json), more than one pair carried
# each multiqueue port's traffic each way (streams run on both vCPUs), and a single-queue sender's
# frames went to the receiver's first pair only, and equal pairs on both
# ends were lanes (TX ring q into RX ring q); every packet sent with
# both ports up was delivered; the server logged no failure.

streams=4

# JSON status of port n; port_in TEXT N: from a status --json answer
# already read (several values from one answer agree with each other).
port_in() { echo "$1" | jq ".ports[] | select(.port == $2)"; }
port_json() { port_in "$(ctl status --json)" "$1"; }
# The pairs of port n whose counter (tx_packets or rx_packets) is above 0.
busy_pairs() { port_json "$1" | jq "[.queue[] | select(.$2 >= 50)] | length"; }
pair_counts() { port_json "$1" | jq -r "[.queue[] | .$2] | map(tostring) | join(\" \")"; }

# The packets the server dropped from a port's TX, by its JSON status
# (on stdin).
tx_drops() { jq '.tx.drops.no_peer + .tx.drops.too_big + .tx.drops.bad_chain'; }

# Mark the drops so far: a guest that boots first sends before its peer
# is there (dropped: no peer).
mq_mark_drops() {
	until ctl status | grep -q "^port 1: running" && ctl status | grep -q "^port 0: running"; do
		sleep 0.1
	done
	mq_drops0=$(port_json 0 | tx_drops)
	mq_drops1=$(port_json 1 | tx_drops)
}

# Each port's TX packets all reached the other's RX, none dropped since
# mq_mark_drops, and the per-pair counters add up to the port's. All
# read from one status answer: the guests are still up and may send a
# frame between two (the server answers between batches, so in one
# answer a frame is counted on both ends or on neither).
mq_check_lossless() {
	local a b tx rx d d0 qtx qrx snap pa pb
	snap=$(ctl status --json)
	for a in 0 1; do
		b=$((1 - a))
		pa=$(port_in "$snap" "$a")
		pb=$(port_in "$snap" "$b")
		tx=$(echo "$pa" | jq .tx.packets)
		rx=$(echo "$pb" | jq .rx.packets)
		d=$(echo "$pa" | tx_drops)
		d0=$([ "$a" = 0 ] && echo "$mq_drops0" || echo "$mq_drops1")
		[ -n "$tx" ] && [ "$tx" = "$rx" ] ||
			fail "port $a sent $tx packets, port $b got $rx ($d dropped)"
		[ "$d" = "$d0" ] || fail "port $a: $((d - d0)) packets dropped with both ports up"
		qtx=$(echo "$pa" | jq '[.queue[].tx_packets] | add')
		qrx=$(echo "$pb" | jq '[.queue[].rx_packets] | add')
		[ "$qtx" = "$tx" ] || fail "port $a: its pairs sent $qtx packets, the port $tx"
		[ "$qrx" = "$rx" ] || fail "port $b: its pairs got $qrx packets, the port $rx"
		echo "port $a -> port $b: $tx packets forwarded, $rx delivered; $d dropped, all while port $b was not up;" \
			"$(echo "$pa" | jq .tx.drops.ring_off) sent on TX rings the guest had turned off (discarded)"
	done
}

# Wait up to $2 seconds for guest $1 to say it is done, or fail as soon
# as it reports an error (it powers off then).
mq_wait_done() {
	local deadline=$((SECONDS + $2))
	until grep -q "^VNP done" "$work/$1.log" 2>/dev/null; do
		grep -a "^VNP error" "$work/$1.log" && fail "$1 reported an error"
		[ $SECONDS -lt $deadline ] || fail "$1: not done within $2 s"
		sleep 0.2
	done
}

# A guest's results against its peer's: pings, and every stream intact.
mq_check_guest() {
	local g=$1 peer=$2 sent md5 n=0
	mq_wait_done "$g" 600
	grep -a "^VNP error" "$work/$g.log" && fail "$g reported an error"
	grep -q "VNP ping 5 packets transmitted, 5 packets received" "$work/$g.log" ||
		fail "$g: ping lost packets"
	grep -q "VNP ping1472 3 packets transmitted, 3 packets received" "$work/$g.log" ||
		fail "$g: 1472-byte ping lost packets"
	sent=$(value "$peer" sent-md5)
	[ -n "$sent" ] || fail "$peer did not say what it sent"
	for md5 in $(values "$g" got-md5); do
		[ "$md5" = "$sent" ] || fail "$g: a stream was damaged: sent $sent, got $md5 (bytes: $(values "$g" got-bytes))"
		n=$((n + 1))
	done
	[ "$n" = "$streams" ] || fail "$g: $n of $streams streams arrived"
	echo "$g: ping ok, ping -s 1472 ok, $streams streams of $(value "$g" got-bytes) bytes intact (md5 $sent)"
}

# Guest g uses the pairs it should: its TX and RX queues, as its sysfs
# shows them before the transfers.
mq_check_queues() {
	local g=$1 want=$2 tx rx
	tx=$(value "$g" txqueues)
	rx=$(value "$g" rxqueues)
	echo "$g: $tx TX and $rx RX queues (ethtool: combined $(value "$g" combined))"
	[ "$tx" = "$want" ] && [ "$rx" = "$want" ] || fail "$g: $tx TX and $rx RX queues, not $want"
}

# Port n negotiated MQ if it has several pairs, not if it has one. (QEMU
# serves the control queue itself and leaves CTRL_VQ out of what it
# negotiates with the server, as DPDK's virtio-user does.)
mq_check_features() {
	local n=$1 pairs=$2 f
	f=",$(features_of "$n"),"
	if [ "$pairs" -gt 1 ]; then
		[[ $f == *,MQ,* ]] || fail "port $n (queues=$pairs) did not negotiate MQ: $f"
	else
		[[ $f == *,MQ,* ]] && fail "port $n (one pair) negotiated MQ: $f"
	fi
	echo "port $n: $(port_json "$n" | jq -c '{queues, queues_active}') features ${f:1:-1}"
}

# Port n's pairs that carried traffic each way: more than one when it has
# several (and more than one was in use), exactly pair 0 when told "one".
# Carrying traffic: 50 packets or more, beyond what the pings and ARP
# before the transfers make.
# mq_check_pairs PORT DIRECTION(tx_packets|rx_packets) many|one
mq_check_pairs() {
	local n=$1 dir=$2 want=$3 busy
	busy=$(busy_pairs "$n" "$dir")
	echo "port $n ${dir%_packets} per pair: $(pair_counts "$n" "$dir") ($busy carrying traffic)"
	case "$want" in
	many) [ "$busy" -gt 1 ] || fail "port $n: only $busy pair(s) carried ${dir%_packets} traffic" ;;
	one)
		[ "$(port_json "$n" | jq "[.queue[] | select(.$dir > 0)] | length")" = 1 ] &&
			[ "$(port_json "$n" | jq ".queue[0].$dir")" -ge 50 ] ||
			fail "port $n: ${dir%_packets} traffic on pairs other than 0"
		;;
	esac
}

# Equal pairs on both ends are lanes: port a's TX ring q fed port b's RX
# ring q. Only once both ends run all their pairs: before that, a guest
# that already uses 4 sends from TX ring 3 to a peer that still runs 2,
# into its RX ring 1. So the counts are taken when the server shows every
# pair running on both ports (mq_lanes_mark), and compared with the end's,
# each from one status answer.
mq_lanes_mark() {
	local want=$1 deadline=$((SECONDS + 120))
	wait_line a "VNP combined" 60 || exit 1
	wait_line b "VNP combined" 60 || exit 1
	until [ "$(ctl status --json | jq '[.ports[0,1].queues_active] | join(" ")' -r)" = "$want $want" ]; do
		[ $SECONDS -lt $deadline ] || fail "the server does not show $want pairs running on both ports"
		sleep 0.1
	done
	ctl status --json >"$work/lanes-mark.json"
}
# lane_deltas FILE_THEN FILE_NOW PORT FIELD: per-pair growth, space-separated.
lane_deltas() {
	jq -r -n --slurpfile a "$1" --slurpfile b "$2" \
		"[range(\$b[0].ports[$3].queue | length) as \$q | \$b[0].ports[$3].queue[\$q].$4 - \$a[0].ports[$3].queue[\$q].$4] | map(tostring) | join(\" \")"
}
mq_check_lanes() {
	local a b sent got
	ctl status --json >"$work/lanes-end.json"
	for a in 0 1; do
		b=$((1 - a))
		sent=$(lane_deltas "$work/lanes-mark.json" "$work/lanes-end.json" "$a" tx_packets)
		got=$(lane_deltas "$work/lanes-mark.json" "$work/lanes-end.json" "$b" rx_packets)
		echo "with every pair running: port $a's TX rings sent $sent, port $b's RX rings got $got"
		[ "$sent" = "$got" ] || fail "port $a's TX rings did not feed port $b's RX rings lane by lane"
	done
}

# mq_pair QA QB [GUEST_APPEND for a] [for b]: two mq guests, a on port 0
# with QA pairs, b on port 1 with QB; both fetch the other's file.
mq_pair() {
	local qa=$1 qb=$2
	ctl create listen="$work/p0.sock" queues="$qa" >/dev/null
	ctl create listen="$work/p1.sock" queues="$qb" >/dev/null
	GUEST_SMP=2 GUEST_QUEUES=$qa GUEST_MEM=384 GUEST_APPEND="vnp.streams=$streams ${3:-}" \
		start_guest a "$work/p0.sock" 10.0.0.2 10.0.0.1 mq "${MQ_MIB:-8}"
	GUEST_SMP=2 GUEST_QUEUES=$qb GUEST_MEM=384 GUEST_APPEND="vnp.streams=$streams ${4:-}" \
		start_guest b "$work/p1.sock" 10.0.0.1 10.0.0.2 mq "${MQ_MIB:-8}"
	wait_line a "VNP up" 180 || exit 1
	wait_line b "VNP up" 180 || exit 1
	mq_mark_drops
	mq_check_features 0 "$qa"
	mq_check_features 1 "$qb"
}

mq_scenario() {
	local what=$1 g n
	command -v jq >/dev/null || fail "jq is needed"
	case "$what" in
	2)
		mq_pair 2 2
		mq_lanes_mark 2
		mq_check_guest a b
		mq_check_guest b a
		mq_check_queues a 2
		mq_check_queues b 2
		for n in 0 1; do
			mq_check_pairs "$n" tx_packets many
			mq_check_pairs "$n" rx_packets many
		done
		mq_check_lanes
		mq_check_lossless
		;;
	4)
		mq_pair 4 4 vnp.combined=4 vnp.combined=4
		mq_lanes_mark 4
		mq_check_guest a b
		mq_check_guest b a
		mq_check_queues a 4
		mq_check_queues b 4
		for n in 0 1; do
			mq_check_pairs "$n" tx_packets many
			mq_check_pairs "$n" rx_packets many
		done
		mq_check_lanes
		mq_check_lossless
		;;
	4-1)
		mq_pair 4 1 vnp.combined=4 ""
		mq_check_guest a b
		mq_check_guest b a
		mq_check_queues a 4
		mq_check_queues b 1
		# a's four TX rings all feed b's one RX ring; b's one TX ring
		# feeds a's first RX ring (pair 0 modulo a's running rings).
		mq_check_pairs 0 tx_packets many
		mq_check_pairs 0 rx_packets one
		mq_check_pairs 1 tx_packets one
		mq_check_pairs 1 rx_packets one
		mq_check_lossless
		;;
	ethtool)
		# Paced transfers, long enough for several changes each.
		MQ_MIB=16 mq_pair 2 2 "vnp.pace=1 vnp.flip=1.2" "vnp.pace=1 vnp.flip=1.2"
		mq_check_guest a b
		mq_check_guest b a
		for g in a b; do
			n=$(value "$g" flips)
			echo "$g: changed its pairs $n times during the transfers, $(value "$g" combined-end) in use at the end"
			[ "$n" -ge 4 ] || fail "$g changed its pairs only $n times during the transfers"
		done
		# The changes reached the server on both ports: pair 1's RX
		# ring (2) stopped and started again; its TX ring (3) was
		# turned off and on again (it runs on while off, discarding
		# what the guest still puts there).
		for n in 0 1; do
			stops=$(grep -ac "port$n: ring 2 stopped" "$work/vnet-p2p.log" || true)
			starts=$(grep -ac "port$n: ring 2 started" "$work/vnet-p2p.log" || true)
			offs=$(grep -ac "port$n: ring 3 turned off" "$work/vnet-p2p.log" || true)
			ons=$(grep -ac "port$n: ring 3 turned on again" "$work/vnet-p2p.log" || true)
			echo "port $n: ring 2 started $starts times, stopped $stops times; ring 3 turned off $offs times, on again $ons times"
			[ "$stops" -ge 2 ] && [ "$starts" -ge 3 ] && [ "$offs" -ge 2 ] && [ "$ons" -ge 2 ] ||
				fail "port $n: the guest's changes did not reach the server"
			mq_check_pairs "$n" tx_packets many
			mq_check_pairs "$n" rx_packets many
		done
		mq_check_lossless
		;;
	*)
		fail "unknown multiqueue scenario $what"
		;;
	esac
	check_no_drops
}
