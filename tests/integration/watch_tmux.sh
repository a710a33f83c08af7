#!/bin/sh
# status --watch on a real terminal: tmux runs it in a pane beside a server
# carrying traffic (two vnet-p2p-peer clients). capture-pane reads the
# screen: both ports and non-zero rates, on the alternate screen with the
# cursor hidden and the terminal without echo or line editing while it
# runs. Each way out must give the terminal back exactly as it was (stty -a
# before and after, the normal screen, the cursor): q, ^C (SIGINT), SIGTERM,
# ^Z (and fg) under bash, and the server going away (status 1, a message). A missing tmux fails
# the test: CI installs it.
set -eu
[ -n "${WATCH_TMUX_DEBUG:-}" ] && set -x

fail() { echo "FAIL: $*" >&2; exit 1; }
: "${VNET_P2P_BIN:?}" "${VNET_P2P_CTL_BIN:?}" "${VNET_P2P_PEER_BIN:?}"
command -v tmux >/dev/null || fail "tmux is not installed (Debian: tmux)"

work=$(mktemp -d /tmp/vnp-tmux.XXXXXX)
svr=$work/svr.sock
T="tmux -S $work/tmux.sock -f /dev/null"
pids=""
cleanup() {
	$T kill-server 2>/dev/null || true
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Wait up to $1 tenths of a second for the command after it to succeed.
wait_for() {
	n=$1
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}

# Whether $1 ports run.
running() {
	[ "$("$VNET_P2P_CTL_BIN" --svr "$svr" status --json | grep -c '"state": "running"')" = "$1" ]
}

start_server() {
	"$VNET_P2P_BIN" --svr "$svr" -q 2>>"$work/server.log" &
	server_pid=$!
	pids="$pids $server_pid"
	wait_for 100 test -S "$svr" || fail "the server did not start"
	# Traffic that lasts: one client echoes, the other sends and checks
	# (once the echo runs: ping gives up on its first unanswered frame).
	"$VNET_P2P_CTL_BIN" --svr "$svr" create -- "$VNET_P2P_PEER_BIN" echo --count 0 \
		>/dev/null 2>>"$work/peers.log" &
	pids="$pids $!"
	wait_for 100 running 1 || fail "the echo's port does not run"
	"$VNET_P2P_CTL_BIN" --svr "$svr" create -- "$VNET_P2P_PEER_BIN" ping --count 10000000 \
		--size 1000 --timeout 10000 -q >/dev/null 2>>"$work/peers.log" &
	pids="$pids $!"
	wait_for 100 running 2 || fail "the ports do not run"
}

# The pane's program: the terminal's settings before and after, the tool's
# pid and exit status. The shell ignores nothing, so the tool gets ^C as a
# user's would; the trap only keeps the shell itself to write the result.
cat >"$work/pane.sh" <<EOF
#!/bin/sh
trap ':' INT
stty -a >"\$1.before"
sh -c 'echo \$\$ >"\$0.pid"; exec "\$@"' "\$1" "$VNET_P2P_CTL_BIN" --svr "$svr" status --watch 0.3
echo \$? >"\$1.rc"
stty -a >"\$1.after"
echo "pane: the tool has exited"
exec sleep 600
EOF

screen() { $T capture-pane -p -t "$1"; }
fmt() { $T display-message -p -t "$1" "$2"; }

# Port 0's tx packets/s on the screen of session $1 (empty when not shown).
port0_tx_rate() {
	screen "$1" | awk '$1 == "0" && $2 == "running" && $3 == "tx" { print $4 }'
}

# Start the tool in a new session $1; wait for a screen with rates.
start_watch() {
	s=$1
	$T new-session -d -s "$s" -x 120 -y 30 "sh $work/pane.sh $work/$s"
	# One capture for every check below: a later interval may be idle
	# for a moment on a loaded machine.
	n=100
	until screen "$s" >"$work/$s.screen" &&
		awk '$1 == "0" && $3 == "tx" && $4 > 0 { found = 1 } END { exit !found }' \
			"$work/$s.screen"; do
		n=$((n - 1))
		[ $n -gt 0 ] || { cat "$work/$s.screen"; fail "$s: no screen with port 0's rates"; }
		sleep 0.1
	done
	out=$(cat "$work/$s.screen")
	for want in "vnet-p2p $svr" "packets/s" "bits/s" "drops/s" "(q: quit)" \
		"1     running    tx" "link             tx"; do
		printf '%s\n' "$out" | grep -qF -- "$want" || { echo "$out"; fail "$s: no '$want' on the screen"; }
	done
	# At least one 1000-byte frame in 0.3 s: 26.7 kbit/s.
	printf '%s\n' "$out" | grep -qE '^0 +running +tx +[0-9.]+ +[0-9.]+ (k|M|G)bit/s' ||
		{ echo "$out"; fail "$s: port 0's bits/s are not in kbit/s or more"; }
	[ "$(fmt "$s" '#{alternate_on}')" = 1 ] || fail "$s: not on the alternate screen"
	[ "$(fmt "$s" '#{cursor_flag}')" = 0 ] || fail "$s: the cursor is not hidden"
	tty=$(fmt "$s" '#{pane_tty}')
	settings=$(stty -a -F "$tty")
	printf '%s\n' "$settings" | grep -q -- "-icanon" || fail "$s: the terminal is still canonical"
	printf '%s\n' "$settings" | grep -q -- "-echo " || fail "$s: the terminal still echoes"
	# Redrawn in place: the screen holds one table, not a scroll of them.
	[ "$(screen "$s" | grep -c 'packets/s')" = 1 ] || fail "$s: more than one table on the screen"
}

# The tool of session $1 ended with status $2: the terminal is as before.
check_ended() {
	s=$1
	wait_for 100 test -s "$work/$s.after" || { screen "$s"; fail "$s: the tool did not exit"; }
	[ "$(cat "$work/$s.rc")" = "$2" ] || fail "$s: exit status $(cat "$work/$s.rc"), not $2"
	cmp -s "$work/$s.before" "$work/$s.after" || {
		diff "$work/$s.before" "$work/$s.after" || true
		fail "$s: the terminal's settings were not restored"
	}
	grep -qE '(^| )icanon( |;|$)' "$work/$s.after" || fail "$s: icanon is off after the exit"
	grep -qE '(^| )echo( |;|$)' "$work/$s.after" || fail "$s: echo is off after the exit"
	wait_for 50 sh -c "[ \"\$($T display-message -p -t $s '#{alternate_on}')\" = 0 ]" ||
		fail "$s: still on the alternate screen"
	[ "$(fmt "$s" '#{cursor_flag}')" = 1 ] || fail "$s: the cursor is still hidden"
	wait_for 50 sh -c "$T capture-pane -p -t $s | grep -q 'pane: the tool has exited'" ||
		fail "$s: the pane did not go on"
	if screen "$s" | grep -q 'packets/s'; then
		screen "$s"
		fail "$s: the table stayed on the normal screen"
	fi
	echo "$s: exit $2, terminal restored"
}

start_server

start_watch q
$T send-keys -t q q
check_ended q 0

start_watch int
$T send-keys -t int C-c
check_ended int 0

start_watch term
kill -TERM "$(cat "$work/term.pid")"
check_ended term 0

# ^Z under a shell with job control: the terminal comes back while the
# tool is stopped, the screen returns with fg, and q still ends it.
$T new-session -d -s tstp -x 120 -y 30 "bash --norc --noprofile -i"
$T send-keys -t tstp "PS1='$ '; stty -a >$work/tstp.before" Enter
$T send-keys -t tstp "'$VNET_P2P_CTL_BIN' --svr '$svr' status --watch 0.3" Enter
wait_for 100 sh -c "$T capture-pane -p -t tstp | grep -q '^link '" || fail "tstp: no screen"
$T send-keys -t tstp C-z
wait_for 50 sh -c "$T capture-pane -p -t tstp | grep -q 'Stopped'" || fail "tstp: not stopped"
[ "$(fmt tstp '#{alternate_on}')" = 0 ] || fail "tstp: stopped on the alternate screen"
[ "$(fmt tstp '#{cursor_flag}')" = 1 ] || fail "tstp: stopped with the cursor hidden"
$T send-keys -t tstp "stty -a >$work/tstp.stopped" Enter
wait_for 50 test -s "$work/tstp.stopped" || fail "tstp: the shell does not answer"
cmp -s "$work/tstp.before" "$work/tstp.stopped" || fail "tstp: stopped with the terminal changed"
$T send-keys -t tstp "fg" Enter
# The tool sets the keys' mode before it switches screens: once the
# alternate screen is back, q is read as a key.
wait_for 50 sh -c "[ \"\$($T display-message -p -t tstp '#{alternate_on}')\" = 1 ]" ||
	fail "tstp: the screen did not come back with fg"
wait_for 50 sh -c "$T capture-pane -p -t tstp | grep -q '^link '" || fail "tstp: no screen after fg"
$T send-keys -t tstp q
# Typed before the tool is gone, the next line could go to it with the q.
wait_for 100 sh -c "[ \"\$($T display-message -p -t tstp '#{alternate_on}')\" = 0 ]" ||
	fail "tstp: q did not end the tool after fg"
wait_for 50 sh -c "$T capture-pane -p -t tstp | grep -qx '\\$'" ||
	fail "tstp: no prompt after the tool"
$T send-keys -t tstp "echo rc=\$? >$work/tstp.rc; stty -a >$work/tstp.after" Enter
wait_for 100 test -s "$work/tstp.after" || fail "tstp: q did not end the tool after fg"
[ "$(cat "$work/tstp.rc")" = rc=0 ] || fail "tstp: $(cat "$work/tstp.rc")"
cmp -s "$work/tstp.before" "$work/tstp.after" || fail "tstp: the terminal was not restored"
echo "tstp: ^Z and fg give the terminal back and take it again"

start_watch gone
kill -TERM "$server_pid"
check_ended gone 1
screen gone | grep -q "vnet-p2p-ctl: status --watch: lost the server at $svr" ||
	{ screen gone; fail "gone: no message saying the server is gone"; }

echo "status --watch in tmux: q, ^C, SIGTERM and the server gone all restore the terminal"
