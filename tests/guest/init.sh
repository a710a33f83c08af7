#!/bin/busybox sh
# The test guest's init: load virtio-net, configure eth0 from the kernel
# command line (vnp.ip=, vnp.peer=, vnp.mtu=), run the role (vnp.role=),
# print results as "VNP <key> <value>" lines on the console, power off.
/bin/busybox --install -s /bin
export PATH=/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
for m in failover net_failover virtio_ring virtio virtio_pci_modern_dev \
	virtio_pci_legacy_dev virtio_pci virtio_net; do
	[ -f /modules/$m.ko ] && insmod /modules/$m.ko
done

arg() { sed -n "s/.*vnp\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
say() { echo "VNP $*"; }
ip=$(arg ip)
peer=$(arg peer)
role=$(arg role)
size=$(arg mib)
[ -n "$size" ] || size=8
# vnp.reps=N: take the peer's file N times over (each reported), for times
# that do not rest on one run.
reps=$(arg reps)
[ -n "$reps" ] || reps=1

for i in $(seq 50); do [ -e /sys/class/net/eth0 ] && break; sleep 0.1; done
ip link set lo up
ip addr add "$ip/24" dev eth0
# vnp.combined=N: use N queue pairs (ethtool -L), set before the link is
# up: a change later could meet the peer's first pings.
combined=$(arg combined)
if [ -n "$combined" ]; then
	ethtool -L eth0 combined "$combined" || say error "ethtool -L eth0 combined $combined failed"
fi
ip link set eth0 up
say mac "$(cat /sys/class/net/eth0/address)"
say up "$ip"

# What this guest serves, to whoever connects to port 5001 (and 5002 with
# vnp.back=1), as often as asked: vnp.mib MiB of random bytes in /tmp/data.
make_data() {
	dd if=/dev/urandom of=/tmp/data bs=1M count="$size" 2>/dev/null
	say sent-md5 "$(md5sum /tmp/data | cut -d' ' -f1)"
}
printf '#!/bin/sh\nexec cat /tmp/data\n' >/bin/serve
# One transfer in: the socket is stdin (nc -e), the bytes go to /tmp/got
# in 64 KiB reads (nc's own loop moves 1 KiB at a time, which under TCG
# would time busybox rather than the link), and /tmp/t0, /tmp/t1 take the
# uptime at the connection's start and end.
printf '#!/bin/sh\ncut -d" " -f1 /proc/uptime >/tmp/t0\ndd of=/tmp/got bs=64k 2>/dev/null\ncut -d" " -f1 /proc/uptime >/tmp/t1\n' >/bin/recv
chmod +x /bin/serve /bin/recv
# Five pings and three 1472-byte ones (a 1500-byte MTU filled exactly):
# the summaries as "VNP ping"/"VNP ping1472", each reply as "VNP pingline",
# so that a failure shows which one went missing.
pings() {
	ping -c 5 -i 0.2 "$peer" >/tmp/ping.out
	ping -c 3 -i 0.2 -s 1472 "$peer" >/tmp/ping1472.out
	sed 's/^/VNP pingline /' /tmp/ping.out /tmp/ping1472.out
	tail -n 2 /tmp/ping.out | sed 's/^/VNP ping /'
	tail -n 2 /tmp/ping1472.out | sed 's/^/VNP ping1472 /'
}
# A guest that changes its own device (a driver reset, ethtool -L) while
# the peer still pings would have the peer's pings dropped, as they should
# be: so each guest says its pings are done with a connection to the
# peer's port 5900 (pings_done_tell; apart from the ports the roles serve
# on, 5001 and up), and the one that changes its device waits for that
# word first (peer_pings_wait; peer_pings_listen started before any ping).
peer_pings_listen() { (nc -l -p 5900 -e /bin/true; touch /tmp/peer-pinged) & }
pings_done_tell() { (for i in $(seq 120); do nc "$peer" 5900 -e /bin/true 2>/dev/null && break; sleep 0.5; done) & }
peer_pings_wait() {
	for i in $(seq 1200); do [ -e /tmp/peer-pinged ] && return 0; sleep 0.1; done
	say error "the peer never said its pings were done"
}
# fetch PORT: take the peer's file from PORT (retrying until it serves).
fetch() {
	for i in $(seq 60); do
		rm -f /tmp/got
		nc "$peer" "$1" -e /bin/recv 2>/dev/null && [ -s /tmp/got ] && break
		sleep 0.5
	done
	touch /tmp/got
}
# The transfer's results: bytes, MD5, and seconds from connection to end
# (with vnp.reps, one set of lines per transfer).
report_got() {
	say got-bytes "$(wc -c </tmp/got)"
	say got-md5 "$(md5sum /tmp/got | cut -d' ' -f1)"
	[ -s /tmp/t1 ] && say seconds "$(awk "BEGIN { printf \"%.2f\", $(cat /tmp/t1) - $(cat /tmp/t0) }")"
}

case "$role" in
mq)
	# Several queue pairs: serve vnp.mib MiB of random bytes and fetch the
	# peer's over vnp.streams connections at once (4 unless given), each
	# MD5-checked. Linux keeps a flow on one TX queue, the one its CPU
	# maps to (XPS), so stream s runs on CPU s-1 modulo the CPUs, both
	# ends: it is served on port 5000+s by a listener bound to that CPU,
	# and fetched by a process bound to it (vnp.combined: above).
	# vnp.flip=A.B...: while the fetches run, set the pairs in use to A,
	# B, ... in turn, one change per 256 KiB that arrived (so every
	# change lands on a running transfer).
	# vnp.pace=1: serve a MiB at a time, 0.3 s apart, so the transfers
	# outlast the changes.
	streams=$(arg streams)
	[ -n "$streams" ] || streams=4
	say txqueues "$(ls -d /sys/class/net/eth0/queues/tx-* | wc -l)"
	say rxqueues "$(ls -d /sys/class/net/eth0/queues/rx-* | wc -l)"
	say combined "$(ethtool -l eth0 2>/dev/null | sed -n 's/^Combined:[[:space:]]*//p' | tail -n1)"
	dd if=/dev/urandom of=/tmp/data bs=1M count="$size" 2>/dev/null
	say sent-md5 "$(md5sum /tmp/data | cut -d' ' -f1)"
	if [ "$(arg pace)" = 1 ]; then
		printf '#!/bin/sh\nfor i in $(seq 0 %s); do dd if=/tmp/data bs=1M skip=$i count=1 2>/dev/null; sleep 0.3; done\n' $((size - 1)) >/bin/serve
	fi
	printf '#!/bin/sh\nexec dd of="$1" bs=64k 2>/dev/null\n' >/bin/recvto
	chmod +x /bin/serve /bin/recvto
	cpus=$(nproc)
	for s in $(seq "$streams"); do
		taskset -c $(((s - 1) % cpus)) nc -ll -p $((5000 + s)) -e /bin/serve &
	done
	# Changes of the pairs in use (vnp.flip) wait until the peer's pings
	# are done.
	peer_pings_listen
	ok=0
	for i in $(seq 60); do ping -c 1 -W 1 "$peer" >/dev/null 2>&1 && { ok=1; break; }; done
	[ $ok = 1 ] || { say error "peer unreachable"; poweroff -f; }
	pings
	pings_done_tell
	# One fetch per stream, retried until the peer serves.
	for s in $(seq "$streams"); do
		(
			for i in $(seq 60); do
				rm -f /tmp/got.$s
				taskset -c $(((s - 1) % cpus)) nc "$peer" $((5000 + s)) -e /bin/recvto /tmp/got.$s 2>/dev/null &&
					[ -s /tmp/got.$s ] && break
				sleep 0.5
			done
			touch /tmp/got.$s /tmp/done.$s
		) &
	done
	all_done() { [ "$(ls /tmp/done.* 2>/dev/null | wc -l)" = "$streams" ]; }
	flip=$(arg flip)
	flips=0
	if [ -n "$flip" ]; then
		peer_pings_wait
		last=0
		while ! all_done; do
			now=$(ls -l /tmp/got.* 2>/dev/null | awk '{ s += $5 } END { print s + 0 }')
			if [ "$now" -ge $((last + 262144)) ]; then
				set -- $(echo "$flip" | tr . ' ')
				shift $((flips % $#))
				ethtool -L eth0 combined "$1" || say error "ethtool -L eth0 combined $1 failed"
				flips=$((flips + 1))
				last=$now
			fi
			sleep 0.1
		done
	fi
	while ! all_done; do sleep 0.1; done
	say flips "$flips"
	say combined-end "$(ethtool -l eth0 2>/dev/null | sed -n 's/^Combined:[[:space:]]*//p' | tail -n1)"
	for s in $(seq "$streams"); do
		say got-bytes "$(wc -c </tmp/got.$s)"
		say got-md5 "$(md5sum /tmp/got.$s | cut -d' ' -f1)"
	done
	say done
	# Answer pings and serve until powered off by the harness.
	while true; do sleep 1; done
	;;
server)
	# Serve a file of random bytes to whoever connects, twice over.
	make_data
	# One sender per connection, so a dead client does not block the next.
	nc -ll -p 5001 -e /bin/serve &
	# vnp.sink=PORT: also take one transfer on PORT (the host's, through
	# a TAP end).
	sink=$(arg sink)
	if [ -n "$sink" ]; then
		(nc -l -p "$sink" -e /bin/recv && report_got) &
	fi
	# vnp.back=1: the other direction, once the client has its file and
	# says so (a connection to port 5003): fetch the client's from 5002.
	if [ "$(arg back)" = 1 ]; then
		nc -l -p 5003 -e /bin/true
		for r in $(seq "$reps"); do
			fetch 5002
			report_got
		done
		say done
	fi
	# Answer pings until powered off by the harness.
	while true; do sleep 1; done
	;;
pingwatch)
	# Ping once a second for ever; say how many answers came so far.
	n=0
	while true; do
		if ping -c 1 -W 1 "$peer" >/dev/null 2>&1; then
			n=$((n + 1))
			say answered "$n"
		else
			say unanswered
		fi
		sleep 0.5
	done
	;;
duplex)
	# Both ways at once: serve vnp.mib MiB of random bytes on port 5001
	# and fetch the peer's; ping before, and count IP fragments made or
	# reassembled (a 1472-byte ping fills a 1500-byte MTU exactly).
	# vnp.reset=1: unload and reload virtio_net (a driver reset: the
	# rings stop and start again) while the fetch runs.
	dd if=/dev/urandom of=/tmp/data bs=1M count="$size" 2>/dev/null
	say sent-md5 "$(md5sum /tmp/data | cut -d' ' -f1)"
	# vnp.pace=1: send a MiB at a time, 0.3 s apart, so that the
	# transfers last long enough for what happens during them.
	if [ "$(arg pace)" = 1 ]; then
		printf '#!/bin/sh\nfor i in $(seq 0 %s); do dd if=/tmp/data bs=1M skip=$i count=1 2>/dev/null; sleep 0.3; done\n' $((size - 1)) >/bin/serve
	else
		printf '#!/bin/sh\nexec cat /tmp/data\n' >/bin/serve
	fi
	chmod +x /bin/serve
	nc -ll -p 5001 -e /bin/serve &
	# A reset (vnp.reset=1) waits until the peer's pings are done.
	peer_pings_listen
	frags() { awk '/^Ip:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["FragCreates"] + $c["ReasmReqds"] }' /proc/net/snmp; }
	ok=0
	for i in $(seq 60); do ping -c 1 -W 1 "$peer" >/dev/null 2>&1 && { ok=1; break; }; done
	[ $ok = 1 ] || { say error "peer unreachable"; poweroff -f; }
	f0=$(frags)
	pings
	say frags $(($(frags) - f0))
	pings_done_tell
	if [ "$(arg reset)" = 1 ]; then
		(
			while [ "$(wc -c </tmp/got 2>/dev/null || echo 0)" -lt 1048576 ]; do sleep 0.1; done
			peer_pings_wait
			say reset-at "$(wc -c </tmp/got)"
			ip link set eth0 down
			rmmod virtio_net
			insmod /modules/virtio_net.ko
			for i in $(seq 50); do [ -e /sys/class/net/eth0 ] && break; sleep 0.1; done
			ip addr add "$ip/24" dev eth0
			ip link set eth0 up
			say reset-done
		) &
	fi
	for i in $(seq 20); do
		nc "$peer" 5001 >/tmp/got 2>/dev/null && [ -s /tmp/got ] && break
		sleep 0.5
	done
	say got-bytes "$(wc -c </tmp/got)"
	say got-md5 "$(md5sum /tmp/got | cut -d' ' -f1)"
	say done
	while true; do sleep 1; done
	;;
stall)
	# Start a transfer and never read it: the link fills up and stays full.
	for i in $(seq 60); do ping -c 1 -W 1 "$peer" >/dev/null 2>&1 && break; done
	say stalled
	nc "$peer" 5001 | sleep 100000
	;;
client)
	# vnp.back=1: this guest serves a file of its own too (made before
	# any transfer, so that no transfer is timed against dd).
	back=$(arg back)
	[ "$back" = 1 ] && make_data
	ok=0
	for i in $(seq 60); do ping -c 1 -W 1 "$peer" >/dev/null 2>&1 && { ok=1; break; }; done
	[ $ok = 1 ] || { say error "peer unreachable"; poweroff -f; }
	pings
	for r in $(seq "$reps"); do
		fetch 5001
		report_got
	done
	say done
	if [ "$back" = 1 ]; then
		# Serve on 5002, then tell the server guest to fetch.
		nc -ll -p 5002 -e /bin/serve &
		for i in $(seq 60); do nc "$peer" 5003 -e /bin/true 2>/dev/null && break; sleep 0.5; done
		while true; do sleep 1; done
	fi
	# Stay up a moment when asked, so the link can be looked at.
	linger=$(arg linger)
	[ -n "$linger" ] && sleep "$linger"
	;;
esac
poweroff -f
