# Shell functions to run the test guest under QEMU; sourced by the demo and
# the real-client tests. Expects: $guest (from prepare.sh), $work (a scratch
# directory), $ctl_bin and $svr (for ports created with --path), and a
# bash array pids=() that collects what to stop at the end.
#
# Facts of this machine kind: guests hang under KVM, so TCG; QEMU 7.2 under
# TCG crashes in vhost-user virtio-net-pci's MSI-X set-up unless vectors=0;
# vhost-user needs shareable guest memory.

# The QEMU command line for a guest on a vhost-user socket path.
# no_timer_check: under TCG on a busy host the kernel's boot-time check of
# the IO-APIC timer can take too long and panic ("IO-APIC + timer doesn't
# work"); the check proves nothing about the link.
# GUEST_QEMU: more QEMU options, e.g. -global virtio-net-pci.packed=on.
# GUEST_MEM: the guest's memory in MiB (256 unless set); its files live in
# it (tmpfs), so a guest that both serves and takes 64 MiB wants more.
# GUEST_PREALLOC=1: QEMU allocates that memory up front, so that a timed
# transfer does not also time the host's first touch of each guest page.
# GUEST_QUEUES=N (N > 1): N queue pairs, the netdev's queues=N and the
# device's mq=on (under TCG with vectors=0 as well: without MSI-X the
# queues share the legacy interrupt). GUEST_SMP: the vCPUs (1 unless set).
# GUEST_DEBUG_APPEND, GUEST_DEBUG_QEMU: for looking into a failure by hand
# (scenarios never set them): more kernel arguments after the scenario's
# (e.g. "loglevel=7 oops=panic", later arguments win over quiet) and more
# QEMU options (e.g. '-d guest_errors,cpu_reset -D $work/$1.qdbg').
# qemu_cmd NAME SOCKPATH IP PEER ROLE MIB [extra -device options]
qemu_cmd() {
	local name=$1 sock=$2 ip=$3 peer=$4 role=$5 mib=$6 extra=${7:-}
	local mem=${GUEST_MEM:-256} netq="" devq=""
	if [ "${GUEST_QUEUES:-1}" -gt 1 ]; then
		netq=",queues=$GUEST_QUEUES"
		devq=",mq=on"
	fi
	echo qemu-system-x86_64 -accel tcg -smp "${GUEST_SMP:-1}" -m "$mem" -display none -nodefaults -no-reboot \
		-serial "file:$work/$name.log" -monitor none \
		-kernel "$guest/vmlinuz" -initrd "$guest/initramfs.cpio.gz" \
		-append "\"console=ttyS0 quiet no_timer_check vnp.ip=$ip vnp.peer=$peer vnp.role=$role vnp.mib=$mib ${GUEST_APPEND:-} ${GUEST_DEBUG_APPEND:-}\"" \
		-object "memory-backend-memfd,id=mem,size=${mem}M,share=on${GUEST_PREALLOC:+,prealloc=on}" -numa node,memdev=mem \
		-chardev "socket,id=c0,path=$sock${GUEST_CHARDEV:-}" -netdev "vhost-user,id=n0,chardev=c0$netq" \
		-device "virtio-net-pci,netdev=n0,vectors=0$devq$extra" ${GUEST_QEMU:-} ${GUEST_DEBUG_QEMU:-}
}

# Each guest's process by name, so that wait_line can tell a guest that
# is gone from one that is slow.
declare -gA guest_pid=()

# Start a guest on a socket path in the background; its pid is $last_pid.
start_guest() {
	eval "exec $(qemu_cmd "$@")" </dev/null >"$work/$1.qemu" 2>&1 &
	last_pid=$!
	pids+=("$last_pid")
	guest_pid[$1]=$last_pid
}

# Start a guest through `vnet-p2p-ctl create --path`: a port only it can
# reach. start_guest_path NAME IP PEER ROLE MIB [extra -device options] [create keys]
start_guest_path() {
	local name=$1 ip=$2 peer=$3 role=$4 mib=$5 extra=${6:-} ctl_args=${7:-}
	local cmd
	cmd=$(qemu_cmd "$name" '$VNET_P2P_PORT_PATH' "$ip" "$peer" "$role" "$mib" "$extra")
	# shellcheck disable=SC2086
	"$ctl_bin" --svr "$svr" create $ctl_args --path -- sh -c "exec $cmd" \
		</dev/null >"$work/$name.qemu" 2>&1 &
	last_pid=$!
	pids+=("$last_pid")
	guest_pid[$name]=$last_pid
}

# Stop what pids holds: SIGTERM first (vnet-p2p-ctl passes it on and removes
# its port path), SIGKILL for what is left after 5 s.
stop_all() {
	local p i
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
	done
}

# How a process that ended did: "exit status N" or "killed by SIGNAME"
# (from its status as `wait` gives it). SIGKILL with nothing on the console:
# someone else's kill, or the host's OOM killer; exit status 0 under
# -no-reboot: the guest reset (a triple fault, say) or powered off.
how_ended() {
	if [ "$1" -gt 128 ] && [ "$1" -lt 192 ]; then
		echo "killed by SIG$(kill -l $(($1 - 128)))"
	else
		echo "exit status $1"
	fi
}

# wait_line NAME PATTERN SECONDS: wait for a line on a guest's console.
# A guest started here whose process ends first fails at once, saying how.
wait_line() {
	local i rc pid=${guest_pid[$1]:-}
	for i in $(seq $(($3 * 10))); do
		grep -q "$2" "$work/$1.log" 2>/dev/null && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			grep -q "$2" "$work/$1.log" 2>/dev/null && return 0
			# (In a subshell, wait knows no such child: then 127.)
			rc=0
			wait "$pid" 2>/dev/null || rc=$?
			echo "FAIL: $1: its QEMU ended ($(how_ended "$rc")) before '$2'" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "FAIL: $1: no '$2' within $3 s" >&2
	return 1
}

# value NAME KEY: what the guest reported as "VNP KEY VALUE".
value() { sed -n "s/^VNP $2 //p" "$work/$1.log" | tr -d '\r' | head -n1; }
# values NAME KEY: every "VNP KEY VALUE" of a guest, space-separated.
values() { sed -n "s/^VNP $2 //p" "$work/$1.log" | tr -d '\r' | tr '\n' ' ' | sed 's/ $//'; }

# The features port PORT negotiated, comma-separated, by the server's
# status (the caller's ctl).
features_of() {
	ctl status --prometheus |
		sed -n "s/^vnet_p2p_port_info{port=\"$1\".*,features=\"\([^\"]*\)\".*/\1/p"
}
