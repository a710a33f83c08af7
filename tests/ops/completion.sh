#!/bin/bash
# The bash completions (completion/vnet-p2p, completion/vnet-p2p-ctl):
#   - what they offer for a set of command lines, computed as bash would
#     (COMP_LINE, COMP_POINT, COMP_WORDS split at = and :), and the word
#     each candidate makes once bash has put it in place;
#   - coverage: every option the programs' --help shows, every command of
#     vnet-p2p-ctl and every key the create parser knows is offered, so
#     adding one without its completion fails here;
#   - all of it twice: alone, and with bash-completion loaded (as installed);
#   - a real bash in tmux, with TAB pressed, for a few lines.
# Usage: completion.sh VNET_P2P VNET_P2P_CTL (SOURCE_ROOT in the
# environment). A missing bash-completion or tmux fails: CI installs them.
set -u

server=$1
ctl=$2
: "${SOURCE_ROOT:?}"
comp=$SOURCE_ROOT/completion
bash_completion=/usr/share/bash-completion/bash_completion
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
die() { echo "FAIL: $*" >&2; exit 1; }
[ -r "$bash_completion" ] || die "bash-completion is not installed (Debian: bash-completion)"
command -v tmux >/dev/null || die "tmux is not installed (Debian: tmux)"

work=$(mktemp -d /tmp/vnp-compl.XXXXXX)
T="tmux -S $work/tmux.sock -f /dev/null"
trap '$T kill-server 2>/dev/null; rm -rf "$work"' EXIT
# The paths to complete, apart from the test's own files.
f=$work/files
mkdir -p "$f/dir"
touch "$f/svr.sock" "$f/port.sock" "$f/other"

# Option words of a --help text, as tests/ops/man.sh takes them.
option_words() {
	tr -c 'A-Za-z0-9_-' '\n' | grep -E '^(--[a-z][a-z0-9-]*|-[A-Za-z])$' | sort -u
}

# The candidates for LINE (the cursor at its end), one per line, each as
# the whole blank-separated word it would make.
candidates() {
	local line=$1 func i word rest
	local -a words=()

	read -ra words <<<"$line"
	[[ -z $line || $line == *" " ]] && words+=("")
	case ${words[0]} in
	vnet-p2p) func=_vnet_p2p ;;
	vnet-p2p-ctl) func=_vnet_p2p_ctl ;;
	esac
	# COMP_WORDS as bash makes them: = and : are words of their own.
	COMP_WORDS=()
	for ((i = 0; i < ${#words[@]}; i++)); do
		word=${words[i]}
		[[ -z $word ]] && { COMP_WORDS+=(""); continue; }
		while [[ -n $word ]]; do
			rest=${word#*[=:]}
			if [[ $rest == "$word" ]]; then
				COMP_WORDS+=("$word")
				break
			fi
			[[ ${word%%[=:]*} ]] && COMP_WORDS+=("${word%%[=:]*}")
			COMP_WORDS+=("${word:${#word}-${#rest}-1:1}")
			word=$rest
		done
	done
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE=$line
	COMP_POINT=${#line}
	COMPREPLY=()
	"$func" "${words[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]:-}"
	# Bash puts each in place of what follows the last = or :.
	local cur=${words[${#words[@]}-1]}
	local keep=${cur%"${cur##*[=:]}"}
	for word in "${COMPREPLY[@]}"; do
		printf '%s\n' "$keep$word"
	done | sort -u
}

# expect LINE WORD...: exactly these candidates.
expect() {
	local line=$1 got want
	shift
	got=$(candidates "$line")
	want=$(printf '%s\n' "$@" | sed '/^$/d' | sort -u)
	[ "$got" = "$want" ] ||
		fail "$MODE: '$line<TAB>' offers [$(echo $got)], not [$(echo $want)]"
}

# expect_has LINE WORD...: at least these.
expect_has() {
	local line=$1 got w
	shift
	got=$(candidates "$line")
	for w in "$@"; do
		printf '%s\n' "$got" | grep -qxF -- "$w" || fail "$MODE: '$line<TAB>' does not offer '$w'"
	done
}

checks() {
	local w="$f"

	# Outside a real completion the builtin only complains; the options
	# it would set (nospace, filenames) are readline's business.
	compopt() { :; }

	# vnet-p2p-ctl: commands, global options, paths
	expect "vnet-p2p-ctl cr" create
	expect "vnet-p2p-ctl " create status capture
	expect "vnet-p2p-ctl -" --svr --help -h --version
	expect "vnet-p2p-ctl --svr $w/s" "$w/svr.sock"
	expect "vnet-p2p-ctl --svr=$w/s" "--svr=$w/svr.sock"
	expect "vnet-p2p-ctl --svr $w/svr.sock st" status
	# create: keys, their values, options, the command after --
	expect "vnet-p2p-ctl create d" ds-max=
	expect "vnet-p2p-ctl create m" mem-max= mac=
	expect "vnet-p2p-ctl create mem-max=64M m" mac=
	expect "vnet-p2p-ctl create " ds-max= mem-max= queues= mac= listen= tap=
	expect "vnet-p2p-ctl --svr $w/svr.sock create ds-max=4 " mem-max= queues= mac= listen= tap=
	expect "vnet-p2p-ctl create listen=$w/p" "listen=$w/port.sock"
	expect "vnet-p2p-ctl create listen=$w/d" "listen=$w/dir"
	expect "vnet-p2p-ctl create tap=l" tap=lo
	expect "vnet-p2p-ctl create mac=02:00:00:00:00:01 " ds-max= mem-max= queues= listen= tap=
	expect "vnet-p2p-ctl create mac=02:00:0" ""
	expect "vnet-p2p-ctl create -" --path --
	expect "vnet-p2p-ctl create --path -" --
	expect_has "vnet-p2p-ctl create mac=02:00:00:00:00:01 -- ech" echo
	expect_has "vnet-p2p-ctl create --path -- cat $w/ot" "$w/other"
	# status
	expect "vnet-p2p-ctl status " --json --prometheus --watch
	expect "vnet-p2p-ctl status --w" --watch
	expect "vnet-p2p-ctl status --watch 0.5 " --count
	expect "vnet-p2p-ctl status --watch --c" --count
	expect "vnet-p2p-ctl status --watch=2 -" --count
	expect "vnet-p2p-ctl status --watch --count 3 " ""
	expect "vnet-p2p-ctl status --json " ""
	# capture
	expect "vnet-p2p-ctl capture " --port --count -w
	expect "vnet-p2p-ctl capture --port " 0 1
	expect "vnet-p2p-ctl capture --port=" --port=0 --port=1
	expect "vnet-p2p-ctl capture --port 1 -" --count -w
	expect "vnet-p2p-ctl capture -w $w/p" "$w/port.sock"
	expect_has "vnet-p2p-ctl capture -w " -

	# vnet-p2p: options, their values, --port's keys after commas
	expect "vnet-p2p --p" --poll --port
	expect "vnet-p2p --port " ds-max= mem-max= queues= mac= listen= tap=
	expect "vnet-p2p --port listen=$w/p" "listen=$w/port.sock"
	expect "vnet-p2p --port listen=$w/port.sock,d" "listen=$w/port.sock,ds-max="
	expect "vnet-p2p --port listen=$w/port.sock," "listen=$w/port.sock,ds-max=" \
		"listen=$w/port.sock,mem-max=" "listen=$w/port.sock,queues=" "listen=$w/port.sock,mac=" "listen=$w/port.sock,tap="
	expect "vnet-p2p --port tap=vnp0,mem-max=1G,m" "tap=vnp0,mem-max=1G,mac="
	expect "vnet-p2p --port ds-max=4,mac=02:00:00:00:00:01,t" "ds-max=4,mac=02:00:00:00:00:01,tap="
	expect "vnet-p2p --port=t" --port=tap=
	expect "vnet-p2p --port tap=l" tap=lo
	expect "vnet-p2p --svr $w/s" "$w/svr.sock"
	expect "vnet-p2p --svr=$w/s" "--svr=$w/svr.sock"
	expect "vnet-p2p -d $w/p" "$w/port.sock"
	expect "vnet-p2p -s 3" 32 32768
	expect "vnet-p2p --size=1" --size=1 --size=16 --size=128 --size=1024 --size=16384
	expect "vnet-p2p -p " ""

	# Coverage: every option of --help, every command, every create key.
	local o offered
	"$server" --help | option_words >"$work/server.opts"
	[ -s "$work/server.opts" ] || fail "no options in vnet-p2p --help"
	offered=$(candidates "vnet-p2p -")
	while read -r o; do
		printf '%s\n' "$offered" | grep -qxF -- "$o" || fail "$MODE: vnet-p2p $o is not completed"
	done <"$work/server.opts"

	"$ctl" --help >"$work/ctl.help"
	option_words <"$work/ctl.help" >"$work/ctl.opts"
	[ -s "$work/ctl.opts" ] || fail "no options in vnet-p2p-ctl --help"
	offered=$(for l in "" "create " "create --path " "status " "status --watch " "capture "; do
		candidates "vnet-p2p-ctl $l-"
	done)
	while read -r o; do
		printf '%s\n' "$offered" | grep -qxF -- "$o" || fail "$MODE: vnet-p2p-ctl $o is not completed"
	done <"$work/ctl.opts"

	sed -n '/^Commands:/,/^[A-Z]/s/^  \([a-z][a-z-]*\) .*/\1/p' "$work/ctl.help" | sort -u >"$work/cmds"
	[ -s "$work/cmds" ] || fail "no commands in vnet-p2p-ctl --help"
	offered=$(candidates "vnet-p2p-ctl ")
	while read -r o; do
		printf '%s\n' "$offered" | grep -qxF -- "$o" || fail "$MODE: command $o is not completed"
	done <"$work/cmds"

	keys=$(sed -n 's/.*KEY_IS("\([a-z-]*\)").*/\1/p' "$SOURCE_ROOT/src/link/port_config.c")
	[ -n "$keys" ] || fail "no keys found in src/link/port_config.c"
	for k in $keys; do
		expect_has "vnet-p2p-ctl create " "$k="
		expect_has "vnet-p2p --port " "$k="
	done
}

# Alone: nothing but our two files.
(
	MODE=alone
	. "$comp/vnet-p2p"
	. "$comp/vnet-p2p-ctl"
	checks
	exit $failures
) || failures=$((failures + $?))

# With bash-completion, as an installed system has it.
(
	MODE=bash-completion
	. "$bash_completion"
	. "$comp/vnet-p2p"
	. "$comp/vnet-p2p-ctl"
	declare -F _command_offset >/dev/null || die "bash-completion has no _command_offset"
	checks
	exit $failures
) || failures=$((failures + $?))

# A real bash and real TABs: readline's own word breaks and insertion.
cat >"$work/bashrc" <<EOF
. $bash_completion
. $comp/vnet-p2p
. $comp/vnet-p2p-ctl
PS1='$ '
EOF
$T new-session -d -s c -x 200 -y 20 "bash --rcfile $work/bashrc --noprofile -i"
# Keys typed before readline runs would be echoed by the terminal instead.
n=100
until $T capture-pane -p -t c | grep -qx '\$'; do
	n=$((n - 1))
	[ $n -gt 0 ] || die "tmux: bash shows no prompt"
	sleep 0.1
done
tab() {
	local typed=$1 want=$2 n=50
	$T send-keys -t c C-u "$typed" Tab
	# The screen drops trailing blanks: the cursor tells whether a space
	# followed the completed word.
	while ! $T capture-pane -p -t c | grep -qxF -- "\$ ${want% }" ||
		[ "$($T display-message -p -t c '#{cursor_x}')" != $((${#want} + 2)) ]; do
		n=$((n - 1))
		if [ $n -eq 0 ]; then
			$T capture-pane -p -t c >&2
			fail "tmux: '$typed<TAB>' does not give '\$ $want'"
			return
		fi
		sleep 0.1
	done
}
tab "vnet-p2p-ctl cr" "vnet-p2p-ctl create "
tab "vnet-p2p-ctl create d" "vnet-p2p-ctl create ds-max="
tab "vnet-p2p-ctl create listen=$f/po" "vnet-p2p-ctl create listen=$f/port.sock "
tab "vnet-p2p-ctl status --watch 1 --c" "vnet-p2p-ctl status --watch 1 --count "
tab "vnet-p2p --port listen=$f/port.sock,d" "vnet-p2p --port listen=$f/port.sock,ds-max="
tab "vnet-p2p --svr=$f/sv" "vnet-p2p --svr=$f/svr.sock "
$T send-keys -t c C-u

[ $failures -eq 0 ] || { echo "$failures completion checks failed" >&2; exit 1; }
echo "completions: every check passed, alone, with bash-completion and in a real bash"
