# Packed virtqueues with real guests: the scenarios of guests.sh named
# packed-* (VIRTIO_F_RING_PACKED on both devices) and mixed-* (port 0
# split, port 1 packed). Sourced by guests.sh, whose helpers and variables
# (ctl, fail, start_guest, wait_line, value, check_client, metric,
# metric_in, features_of, has_feature, work, server, svr, server_pid,
# offload_segment, tap_scenario) it uses; libvirt.sh takes check_rings
# for its round with packed rings.
#
#   duplex          ping, 1472-byte ping (no IP fragments either side), and
#                   8 MiB each way at once, MD5-checked
#   poll            duplex with the server polling the rings (-p 100): the
#                   rings keep the guests from kicking
#   kill            the port 1 guest killed mid-transfer, a fresh one in its
#                   place fetches the file from the port 0 guest
#   server-restart  the server killed and started again; QEMU's reconnect=
#                   takes the guests back and pings are answered again
#   offload-segment guests.sh's offload-segment on these rings: 64 MiB
#                   each way, the port 1 guest's device taking no GSO
#                   frames, so the server cuts port 0's into its RX ring
#                   (packed in either mode), while port 1's pass whole
#   tap, tap-plain, tap-tso
#                   guests.sh's scenarios of those names with the guest's
#                   device packed (packed-* only: a TAP end has no rings)
#   reset           32 MiB each way while the port 1 guest reloads
#                   virtio_net (its rings reset) and the port 0 guest's VM
#                   is stopped and continued (its rings stopped mid-lap and
#                   started again where they were): both files intact, and
#                   each side's packets all delivered

# The ring format of each port's device: on or off for port n.
ring_packed() { if [ "$1" = 0 ] && [ "$ring_mode" = mixed ]; then echo off; else echo on; fi; }
# As QEMU options for guest n, or as its device's property.
ring_opts() { echo "-global virtio-net-pci.packed=$(ring_packed "$1")"; }
ring_dev() { echo ",packed=$(ring_packed "$1")"; }

# Both ports negotiated what their devices asked for: RING_PACKED on
# packed ones, not on split ones (no silent fallback either way).
check_rings() {
	local n f
	for n in 0 1; do
		f=$(features_of "$n")
		[ -n "$f" ] || fail "port $n shows no features"
		if [ "$n" = 0 ] && [ "$ring_mode" = mixed ]; then
			echo "$f" | grep -qw RING_PACKED && fail "port $n (split) negotiated RING_PACKED: $f"
			echo "port $n: split ($f)"
		else
			echo "$f" | grep -qw RING_PACKED || fail "port $n (packed) did not negotiate RING_PACKED: $f"
			echo "port $n: packed ($f)"
		fi
	done
}

# drops TEXT PORT: the packets the server dropped from port PORT's TX, by
# a status --prometheus answer.
drops() {
	local reason n sum=0
	for reason in no_peer too_big bad_chain; do
		n=$(metric_in "$1" "$2" drops_total ",direction=\"tx\",reason=\"$reason\"")
		sum=$((sum + ${n:-0}))
	done
	echo "$sum"
}

# Mark the drops so far (a guest that boots first sends before its peer
# is there: dropped, no peer).
mark_drops() {
	local snap
	until ctl status | grep -q "^port 1: running" && ctl status | grep -q "^port 0: running"; do
		sleep 0.1
	done
	snap=$(ctl status --prometheus)
	drops0=$(drops "$snap" 0)
	drops1=$(drops "$snap" 1)
}

# Each port's TX packets forwarded all reached the other's RX, and none
# was dropped since mark_drops (before it: the peer not there, or stopped).
# All from one status answer: the guests are still up and may send a
# frame between two (the server answers between batches, so in one answer
# a frame is counted on both ends or on neither).
check_lossless() {
	local a b tx rx d d0 snap
	snap=$(ctl status --prometheus)
	for a in 0 1; do
		b=$((1 - a))
		tx=$(metric_in "$snap" "$a" packets_total ',direction="tx"')
		rx=$(metric_in "$snap" "$b" packets_total ',direction="rx"')
		d=$(drops "$snap" "$a")
		d0=$([ "$a" = 0 ] && echo "$drops0" || echo "$drops1")
		[ -n "$tx" ] && [ "$tx" = "$rx" ] ||
			fail "port $a sent $tx packets, port $b got $rx ($d dropped)"
		[ "$d" = "$d0" ] || fail "port $a: $((d - d0)) packets dropped with both ports up"
		echo "port $a -> port $b: $tx packets forwarded, $rx delivered; $d dropped, all while port $b was not up"
	done
}

# With the server polling, each ring tells its driver not to kick (a
# packed ring in its device event suppression area, a split one with
# NO_NOTIFY): a guest kicks only while its rings start, 10 times at most
# (seen: 2 each; with kicks on, the same duplex took over 300 from a
# guest).
check_kicks_off() {
	local p kicks sent snap
	snap=$(ctl status --json)
	for p in 0 1; do
		kicks=$(jq ".ports[$p].kicks" <<<"$snap")
		sent=$(metric "$p" packets_total ',direction="tx"')
		echo "port $p: $kicks kicks for $sent packets sent"
		[ -n "$kicks" ] && [ "$kicks" -le 10 ] ||
			fail "port $p: $kicks kicks for $sent packets, with the server polling"
	done
}

# A duplex guest's results against its peer's.
check_duplex() {
	local g=$1 peer=$2 sent got
	wait_line "$g" "^VNP done" 300 || exit 1
	grep -a "^VNP error" "$work/$g.log" && fail "$g reported an error"
	grep -q "VNP ping 5 packets transmitted, 5 packets received" "$work/$g.log" ||
		fail "$g: ping lost packets"
	grep -q "VNP ping1472 3 packets transmitted, 3 packets received" "$work/$g.log" ||
		fail "$g: 1472-byte ping lost packets"
	[ "$(value "$g" frags)" = 0 ] || fail "$g: $(value "$g" frags) IP fragments around the pings"
	sent=$(value "$peer" sent-md5)
	got=$(value "$g" got-md5)
	[ -n "$sent" ] && [ "$sent" = "$got" ] ||
		fail "$g: transfer damaged: sent $sent, got $got ($(value "$g" got-bytes) bytes)"
	echo "$g: ping ok, ping -s 1472 ok (no fragments), $(value "$g" got-bytes) bytes intact (md5 $got)"
}

# The server's log lines since byte offset $1 matching $2.
log_since() { tail -c +"$(($1 + 1))" "$work/vnet-p2p.log" | grep -a "$2" || true; }

# Talk to guest g's human monitor (a pipe pair made at its start).
monitor() {
	echo "$2" >"$work/$1.mon.in"
}

# A TAP scenario of guests.sh, the guest's device (port 0) packed.
# packed_tap tap | tap-plain | tap-tso
packed_tap() {
	[ "$ring_mode" = packed ] || fail "a TAP end has no rings: there is no mixed-$1"
	tap_scenario "$1" "$(ring_dev 0)"
	has_feature 0 RING_PACKED || fail "port 0 (packed) did not negotiate RING_PACKED: $(features_of 0)"
	echo "port 0: packed ($(features_of 0))"
}

packed_scenario() {
	local what=$1 mark before stops starts
	case "$what" in
	offload-segment)
		# offload_pair makes the ports.
		offload_segment "$(ring_dev 0)" "$(ring_dev 1)"
		check_rings
		return
		;;
	tap | tap-plain | tap-tso)
		packed_tap "$what"
		return
		;;
	poll)
		# duplex with the server polling every ring (-p 100).
		restart_server -p 100
		;;
	esac
	ctl create listen="$work/p0.sock" >/dev/null
	ctl create listen="$work/p1.sock" >/dev/null
	case "$what" in
	duplex | poll)
		GUEST_QEMU=$(ring_opts 0) start_guest a "$work/p0.sock" 10.0.0.2 10.0.0.1 duplex 8
		GUEST_QEMU=$(ring_opts 1) start_guest b "$work/p1.sock" 10.0.0.1 10.0.0.2 duplex 8
		wait_line a "VNP up" 120 || exit 1
		wait_line b "VNP up" 120 || exit 1
		mark_drops
		check_rings
		check_duplex a b
		check_duplex b a
		check_lossless
		if [ "$what" = poll ]; then
			check_kicks_off
		fi
		;;
	kill)
		GUEST_QEMU=$(ring_opts 0) start_guest server "$work/p0.sock" 10.0.0.2 10.0.0.1 server 16
		wait_line server "VNP sent-md5" 90 || exit 1
		GUEST_QEMU=$(ring_opts 1) start_guest victim "$work/p1.sock" 10.0.0.1 10.0.0.2 stall 16
		victim=$last_pid
		wait_line victim "VNP stalled" 120 || exit 1
		check_rings
		# Mid-transfer: the server guest's packets are on their way.
		before=$(metric 0 packets_total ',direction="tx"')
		for i in $(seq 300); do
			[ "$(metric 0 packets_total ',direction="tx"')" -gt $((before + 20)) ] && break
			sleep 0.1
		done
		kill -9 "$victim"
		wait "$victim" 2>/dev/null || true
		echo "[$SECONDS s] killed the port 1 guest mid-transfer ($(metric 0 packets_total ',direction="tx"') packets from port 0)"
		GUEST_QEMU=$(ring_opts 1) start_guest client "$work/p1.sock" 10.0.0.1 10.0.0.2 client 16
		wait_line client "VNP up" 120 || exit 1
		echo "[$SECONDS s] a fresh guest on port 1"
		check_rings
		check_client client server
		echo "[$SECONDS s] done"
		kill -0 "$server_pid" || fail "the server died"
		;;
	server-restart)
		GUEST_CHARDEV=,reconnect=1 GUEST_QEMU=$(ring_opts 0) \
			start_guest server "$work/p0.sock" 10.0.0.2 10.0.0.1 server 1
		GUEST_CHARDEV=,reconnect=1 GUEST_QEMU=$(ring_opts 1) \
			start_guest client "$work/p1.sock" 10.0.0.1 10.0.0.2 pingwatch 1
		# Enough pings that the rings are well into a lap.
		wait_line client "VNP answered 20[[:space:]]*$" 180 || exit 1
		check_rings
		kill -9 "$server_pid"
		wait "$server_pid" 2>/dev/null || true
		before=$(grep -c "VNP answered" "$work/client.log")
		echo "server killed after $before answered pings"
		mark=$(stat -c %s "$work/vnet-p2p.log")
		"$server" --svr "$svr" -v 2>>"$work/vnet-p2p.log" &
		server_pid=$!
		for i in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
		ctl create listen="$work/p0.sock" >/dev/null
		ctl create listen="$work/p1.sock" >/dev/null
		wait_line client "VNP answered $((before + 5))[[:space:]]*$" 120 || exit 1
		echo "pings answered again after the restart: $(grep -c "VNP answered" "$work/client.log") in all"
		log_since "$mark" "resuming there"
		check_rings
		;;
	reset)
		GUEST_QEMU="$(ring_opts 0) -chardev pipe,id=mon,path=$work/a.mon -mon chardev=mon,mode=readline"
		mkfifo "$work/a.mon.in" "$work/a.mon.out"
		# The monitor's answers go nowhere; the pipe holds far more.
		GUEST_APPEND=vnp.pace=1 GUEST_QEMU=$GUEST_QEMU \
			start_guest a "$work/p0.sock" 10.0.0.2 10.0.0.1 duplex 32
		GUEST_APPEND="vnp.pace=1 vnp.reset=1" GUEST_QEMU=$(ring_opts 1) \
			start_guest b "$work/p1.sock" 10.0.0.1 10.0.0.2 duplex 32
		wait_line a "VNP up" 120 || exit 1
		wait_line b "VNP up" 120 || exit 1
		check_rings
		# The driver reset in b, mid-transfer (it starts after 1 MiB).
		wait_line b "VNP reset-done" 300 || exit 1
		echo "b reloaded virtio_net after $(value b reset-at) bytes"
		# Then a's VM stopped while both transfers run, and continued.
		before=$(metric 0 packets_total ',direction="tx"')
		for i in $(seq 300); do
			[ "$(metric 0 packets_total ',direction="tx"')" -gt $((before + 50)) ] && break
			sleep 0.1
		done
		mark=$(stat -c %s "$work/vnet-p2p.log")
		monitor a stop
		for i in $(seq 300); do
			[ "$(log_since "$mark" "port0: ring 1 stopped" | wc -l)" -ge 1 ] && break
			sleep 0.1
		done
		grep -q "VNP got-bytes" "$work/a.log" "$work/b.log" &&
			fail "a transfer ended before the VM stopped: too late to test a stop mid-transfer"
		stops=$(log_since "$mark" "port0: ring [01] stopped at")
		[ "$(echo "$stops" | grep -c .)" = 2 ] || fail "a's rings did not stop: $stops"
		monitor a cont
		for i in $(seq 300); do
			[ "$(log_since "$mark" "port0: ring 1 started" | wc -l)" -ge 1 ] && break
			sleep 0.1
		done
		starts=$(log_since "$mark" "port0: ring [01] started")
		echo "$stops"
		echo "$starts"
		# Each ring started exactly where it stopped, and not at a lap's
		# start: a stop in the middle of a lap, resumed as it was.
		for r in 0 1; do
			s=$(echo "$stops" | sed -n "s/.*ring $r stopped at \(0x[0-9a-f]*\).*/\1/p")
			t=$(echo "$starts" | sed -n "s/.*ring $r started .*base \(0x[0-9a-f]*\).*/\1/p")
			[ -n "$s" ] && [ "$s" = "$t" ] || fail "ring $r stopped at $s, started at $t"
			[ $((s & 0x7fff)) != 0 ] || fail "ring $r stopped at a lap's start ($s)"
		done
		log_since "$mark" "resuming there" | grep . && fail "a ring resynced after stop/cont"
		# From here on, with both ports up again, nothing may be lost.
		mark_drops
		check_duplex a b
		check_duplex b a
		check_lossless
		;;
	*)
		fail "unknown packed scenario $what"
		;;
	esac
}
