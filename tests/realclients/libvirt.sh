#!/bin/bash
# Two Linux guests started by a real libvirtd through virsh, each on its own
# vnet-p2p port (<interface type='vhostuser'> on the port's listen= socket),
# from the domain XML the README shows (docs/libvirt-domain.xml). Round 1:
# the guest on port 0 serves a file, the one on port 1 pings it (also with
# 1472-byte payloads) and fetches the file over TCP; both are destroyed.
# Round 2: the same with the roles swapped, so the file crosses the link both
# ways. MD5s must match, MACs must be the XML's, the server must count the
# bytes and see each QEMU leave when its domain is destroyed. Round 3: the
# XML's commented <driver queues='2' packed='on'/> taken in, two vCPUs,
# ports with queues=2: both guests send files both ways at once over four
# connections each; both ports must negotiate packed rings and several
# pairs, and both pairs must carry traffic each way.
#
# The libvirtd is private, so it cannot collide with a system one and
# changes nothing on the machine: it runs in a mount namespace of its own in
# which /etc/libvirt (its qemu.conf), /var and /run are directories of this
# test, its sockets are in the test's directory, and /etc/passwd and
# /etc/group are copies with a libvirt-qemu user added when the machine has
# none (Debian's libvirt-daemon-system makes that user; the three packages
# this test needs do not). QEMU runs as libvirt-qemu, as under a stock
# configuration, so the port's socket is given to that user (README).
#
# Needs VNET_P2P_BIN and VNET_P2P_CTL_BIN (meson sets them), libvirt-daemon,
# libvirt-daemon-driver-qemu, libvirt-clients, libxml2-utils, qemu-system-x86,
# busybox-static, cpio and jq; runs as root.
set -euo pipefail

# Without the client software this test cannot run: skip (77) when run by
# hand, fail where it is required (CI sets VNET_P2P_REQUIRE_REAL_CLIENTS=1).
for prog in qemu-system-x86_64 libvirtd virsh virt-xml-validate xmllint unshare jq; do
	if ! command -v "$prog" >/dev/null; then
		echo "$prog is not installed"
		[ "${VNET_P2P_REQUIRE_REAL_CLIENTS:-0}" = 1 ] && exit 1
		exit 77
	fi
done
if [ "$(id -u)" -ne 0 ]; then
	echo "needs root (a libvirtd of its own in a mount namespace)"
	[ "${VNET_P2P_REQUIRE_REAL_CLIENTS:-0}" = 1 ] && exit 1
	exit 77
fi

here=$(cd "$(dirname "$0")" && pwd)
template=$here/../../docs/libvirt-domain.xml
server=${VNET_P2P_BIN:?}
ctl_bin=${VNET_P2P_CTL_BIN:?}
guest=$("$here/../guest/prepare.sh")
work=$(mktemp -d /tmp/vnp-libvirt.XXXXXX)
# QEMU, as libvirt-qemu, must reach the sockets, kernel and initrd in here.
chmod 0711 "$work"
svr=$work/ctl.sock
export LIBVIRT_DEFAULT_URI="qemu:///system?socket=$work/sock/libvirt-sock"
libvirtd_pid=
server_pid=
pids=()

fail() { echo "FAIL: $*" >&2; exit 1; }
ctl() { "$ctl_bin" --svr "$svr" "$@"; }
v() { timeout 120 virsh -q "$@"; }

# The QEMU processes of this test's domains, by the pid files libvirtd
# keeps in its (private) /run; each is checked to be one of ours before
# anything is done to it.
our_qemus() {
	local f p
	for f in "$work"/run/libvirt/qemu/vnp-*.pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f" 2>/dev/null) || continue
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null |
			grep -q "^[^ ]*qemu-system-x86_64 .*-kernel $work/guest/" && echo "$p"
	done
	return 0
}

cleanup() {
	local rc=$? d p i
	trap - EXIT INT TERM
	if [ -n "$libvirtd_pid" ] && kill -0 "$libvirtd_pid" 2>/dev/null; then
		for d in $(v list --name 2>/dev/null); do v destroy "$d" >/dev/null 2>&1 || true; done
	fi
	# What libvirtd could not take down (say it died): kill it ourselves.
	for p in $(our_qemus); do kill -9 "$p" 2>/dev/null || true; done
	if [ -n "$libvirtd_pid" ]; then
		kill "$libvirtd_pid" 2>/dev/null || true
		for i in $(seq 100); do kill -0 "$libvirtd_pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$libvirtd_pid" 2>/dev/null || true
		wait "$libvirtd_pid" 2>/dev/null || true
	fi
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [ $rc -ne 0 ]; then
		for f in "$work"/*.log "$work"/libvirtd.out "$work"/var/log/libvirt/qemu/*.log; do
			[ -f "$f" ] || continue
			echo "---- $f"
			tail -n 30 "$f"
		done
	fi
	rm -rf "$work"
	exit $rc
}
trap cleanup EXIT
# A meson timeout (SIGTERM) or ^C still takes everything down.
trap 'exit 143' TERM
trap 'exit 130' INT

# shellcheck source=../guest/guest-lib.sh
. "$here/../guest/guest-lib.sh"
# shellcheck source=mq-lib.sh
. "$here/mq-lib.sh"
# shellcheck source=packed-lib.sh
. "$here/packed-lib.sh"

# QEMU runs as libvirt-qemu: it reads its own copy of the guest's kernel and
# initramfs (the cache lives in the caller's home).
mkdir -m 0755 "$work/guest"
cp -L "$guest/vmlinuz" "$work/guest/vmlinuz"
cp -L "$guest/initramfs.cpio.gz" "$work/guest/initrd"
chmod 0644 "$work/guest/vmlinuz" "$work/guest/initrd"

# libvirtd's own world: passwd and group (with libvirt-qemu), qemu.conf,
# /var, /run, and its sockets in $work/sock.
cp /etc/passwd "$work/passwd"
cp /etc/group "$work/group"
if ! grep -q '^libvirt-qemu:' "$work/passwd"; then
	id=64055 # Debian's usual one, unless taken
	while cut -d: -f3 "$work/passwd" "$work/group" | grep -qx "$id"; do id=$((id + 1)); done
	echo "libvirt-qemu:x:$id:$id:QEMU under the test's libvirtd:/nonexistent:/usr/sbin/nologin" >>"$work/passwd"
	echo "libvirt-qemu:x:$id:" >>"$work/group"
fi
qemu_uid=$(grep '^libvirt-qemu:' "$work/passwd" | cut -d: -f3)
qemu_gid=$(grep '^libvirt-qemu:' "$work/passwd" | cut -d: -f4)

# start_link [,KEYS]: the link, a server with two ports bound to paths
# (both with KEYS), each given to QEMU's user.
start_link() {
	rm -f "$work/p0.sock" "$work/p1.sock"
	"$server" --svr "$svr" --port listen="$work/p0.sock${1:-}" --port listen="$work/p1.sock${1:-}" -v \
		2>>"$work/vnet-p2p.log" &
	server_pid=$!
	for _ in $(seq 100); do [ -S "$work/p0.sock" ] && [ -S "$work/p1.sock" ] && break; sleep 0.05; done
	[ -S "$work/p0.sock" ] && [ -S "$work/p1.sock" ] || fail "server did not start"
	chown "$qemu_uid:$qemu_gid" "$work/p0.sock" "$work/p1.sock"
}
start_link

mkdir -p "$work/etc" "$work/var/lib/libvirt" "$work/var/cache/libvirt" "$work/var/log/libvirt" \
	"$work/run/libvirt" "$work/sock"
# What a container needs: no cgroups or per-domain namespaces to set up, no
# confinement, no virtlogd; QEMU still runs as an unprivileged user.
cat >"$work/etc/qemu.conf" <<EOF
user = "libvirt-qemu"
group = "+$qemu_gid"
security_driver = "none"
remember_owner = 0
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
EOF
cat >"$work/libvirtd.conf" <<EOF
unix_sock_dir = "$work/sock"
unix_sock_ro_perms = "0700"
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:file:$work/libvirtd.log"
EOF
unshare --mount --propagation private sh -ec "
	mount --bind '$work/passwd' /etc/passwd
	mount --bind '$work/group' /etc/group
	mount --bind '$work/etc' /etc/libvirt
	mount --bind '$work/var' /var
	mount --bind '$work/run' /run
	exec libvirtd --config '$work/libvirtd.conf'" >"$work/libvirtd.out" 2>&1 &
libvirtd_pid=$!
# Ready once it answers (the first answer waits for its QEMU probe).
t0=$(date +%s)
until v version >/dev/null 2>&1; do
	kill -0 "$libvirtd_pid" 2>/dev/null || fail "libvirtd ended"
	[ $(($(date +%s) - t0)) -lt 180 ] || fail "libvirtd did not answer within 180 s"
	sleep 0.2
done
echo "libvirtd ready after $(($(date +%s) - t0)) s: $(v version | grep -i 'running hypervisor')"

# start NAME PORT IP PEER ROLE [GUEST_ARGS]: a domain from the README's
# XML. With PACKED_MQ=1: the template's commented <driver> line taken in
# (packed rings, two queue pairs), two vCPUs as the README says, and room
# for four streams' files (384 MiB).
start() {
	local name=$1 port=$2 ip=$3 peer=$4 role=$5 xml=$work/$1.xml out
	local variant=(-e '/<!-- packed rings and two queue pairs/,/-->/d')
	if [ "${PACKED_MQ:-0}" = 1 ]; then
		variant=(-e '/<!-- packed rings and two queue pairs/,/-->/{/<driver /!d}'
			-e 's|<vcpu>1</vcpu>|<vcpu>2</vcpu>|'
			-e "s|<memory unit='MiB'>256</memory>|<memory unit='MiB'>384</memory>|")
	fi
	sed -e "s|@NAME@|vnp-$name|" \
		-e "s|@KERNEL@|$work/guest/vmlinuz|" \
		-e "s|@INITRD@|$work/guest/initrd|" \
		-e "s|@ARGS@|vnp.ip=$ip vnp.peer=$peer vnp.role=$role vnp.mib=8 vnp.linger=600 ${6:-}|" \
		-e "s|@MAC@|52:54:00:00:00:1$port|" \
		-e "s|@SOCKET@|$work/p$port.sock|" \
		-e "s|@CONSOLE@|$work/$name.log|" \
		"${variant[@]}" "$template" >"$xml"
	! grep -n '@[A-Z]*@' "$xml" || fail "$xml: a placeholder is left"
	out=$(virt-xml-validate "$xml" domain 2>&1) || fail "$xml is not a valid domain: $out"
	if [ "${PACKED_MQ:-0}" = 1 ]; then
		[ "$(xmllint --xpath 'string(//interface/driver/@packed)' "$xml")" = on ] &&
			[ "$(xmllint --xpath 'string(//interface/driver/@queues)' "$xml")" = 2 ] &&
			[ "$(xmllint --xpath 'string(//vcpu)' "$xml")" = 2 ] &&
			[ "$(xmllint --xpath 'string(//memory)' "$xml")" = 384 ] ||
			fail "$xml: no packed rings, two queue pairs and two vCPUs"
	else
		[ -z "$(xmllint --xpath '//interface/driver' "$xml" 2>/dev/null)" ] ||
			fail "$xml: a <driver> in the plain domain"
	fi
	v create "$xml" >/dev/null || fail "virsh create $name failed"
}

# disconnects PORT: how often the server saw that port's client leave.
disconnects() { grep -c "port$1: client disconnected" "$work/vnet-p2p.log" || true; }

# destroy NAME...: the domains go, their QEMUs end and leave the ports.
destroy() {
	local n d0 d1 i qemus
	d0=$(disconnects 0)
	d1=$(disconnects 1)
	qemus=$(our_qemus)
	[ "$(echo "$qemus" | wc -w)" = $# ] || fail "expected $# QEMUs, found: $qemus"
	for n in "$@"; do v destroy "vnp-$n" >/dev/null || fail "virsh destroy vnp-$n failed"; done
	[ -z "$(v list --all --name)" ] || fail "domains left after destroy: $(v list --all --name)"
	for i in $(seq 300); do
		[ "$(disconnects 0)" -gt "$d0" ] && [ "$(disconnects 1)" -gt "$d1" ] && break
		sleep 0.1
	done
	[ "$(disconnects 0)" -gt "$d0" ] && [ "$(disconnects 1)" -gt "$d1" ] ||
		fail "the server did not see both QEMUs leave"
	for n in $qemus; do [ ! -e "/proc/$n" ] || fail "QEMU $n outlived its domain"; done
	echo "destroyed $*: domains gone, QEMUs gone, both ports left by their clients"
}

# round SERVER SERVER_PORT CLIENT CLIENT_PORT: the server guest serves 8 MiB,
# the client guest pings it and fetches the file; MD5s must agree.
round() {
	local s=$1 sp=$2 c=$3 cp=$4 sent got
	start "$s" "$sp" "10.0.0.$((sp + 1))" "10.0.0.$((cp + 1))" server
	wait_line "$s" "^VNP sent-md5" 180 || exit 1
	start "$c" "$cp" "10.0.0.$((cp + 1))" "10.0.0.$((sp + 1))" client
	wait_line "$c" "^VNP done" 300 || exit 1
	grep -q "VNP ping 5 packets transmitted, 5 packets received" "$work/$c.log" ||
		fail "$c: ping lost packets: $(value "$c" ping)"
	grep -q "VNP ping1472 3 packets transmitted, 3 packets received" "$work/$c.log" ||
		fail "$c: 1472-byte ping lost packets"
	sent=$(value "$s" sent-md5)
	got=$(value "$c" got-md5)
	[ -n "$sent" ] && [ "$sent" = "$got" ] ||
		fail "port $sp -> port $cp: transfer damaged: sent $sent, got $got ($(value "$c" got-bytes) bytes)"
	[ "$(value "$s" mac)" = "52:54:00:00:00:1$sp" ] || fail "$s has MAC $(value "$s" mac)"
	[ "$(value "$c" mac)" = "52:54:00:00:00:1$cp" ] || fail "$c has MAC $(value "$c" mac)"
	echo "port $sp -> port $cp: ping ok, ping -s 1472 ok, $(value "$c" got-bytes) bytes intact (md5 $got)"
	destroy "$s" "$c"
}

# tx_bytes PORT: the frame bytes the server took from that port's client.
tx_bytes() {
	ctl status --prometheus |
		sed -n "s/^vnet_p2p_bytes_total{port=\"$1\",direction=\"tx\"} \([0-9]*\)$/\1/p"
}

# VNP_LIBVIRT_ROUNDS: which rounds run (all three unless told; for trying
# one again and again).
rounds=" ${VNP_LIBVIRT_ROUNDS:-1 2 3} "
t0=$(date +%s)
if [[ $rounds == *" 1 "* ]]; then
	round a1 0 b1 1
	[ "$(tx_bytes 0)" -gt $((8 << 20)) ] || fail "port 0's client sent $(tx_bytes 0) bytes, less than the file"
fi
if [[ $rounds == *" 2 "* ]]; then
	round b2 1 a2 0
	[ "$(tx_bytes 1)" -gt $((8 << 20)) ] || fail "port 1's client sent $(tx_bytes 1) bytes, less than the file"
fi
[[ $rounds != *" "[12]" "* ]] ||
	echo "rounds 1 and 2 in $(($(date +%s) - t0)) s; the server counted $(tx_bytes 0) bytes from port 0, $(tx_bytes 1) from port 1"

# Round 3: packed rings and two queue pairs, the template's <driver> line
# taken in. The server again, its ports with queues=2; both guests at
# once, each serving a file and fetching the other's over four TCP
# connections, two per vCPU (role mq), so both pairs carry traffic.
if [[ $rounds == *" 3 "* ]]; then
	kill "$server_pid"
	wait "$server_pid" 2>/dev/null || true
	start_link ,queues=2
	t0=$(date +%s)
	PACKED_MQ=1 start a3 0 10.0.0.1 10.0.0.2 mq "vnp.streams=$streams"
	PACKED_MQ=1 start b3 1 10.0.0.2 10.0.0.1 mq "vnp.streams=$streams"
	# The checks of the multiqueue and packed guest tests (mq-lib.sh,
	# packed-lib.sh).
	mq_check_guest a3 b3
	mq_check_guest b3 a3
	mq_check_queues a3 2
	mq_check_queues b3 2
	ring_mode=packed
	check_rings
	for n in 0 1; do
		mq_check_features "$n" 2
		mq_check_pairs "$n" tx_packets many
		mq_check_pairs "$n" rx_packets many
	done
	destroy a3 b3
	echo "packed rings, two queue pairs: both ways in $(($(date +%s) - t0)) s"
fi

if grep -aE "failed:|refused" "$work/vnet-p2p.log"; then fail "the server refused or failed something"; fi
echo "libvirt guests: passed"
