#!/bin/sh
# Build the libFuzzer targets if needed and run each for FUZZ_SECONDS
# (default 60) on a copy of its seed corpus (fuzz/corpus/<target>),
# FUZZ_JOBS targets at a time (default 2: the CI machine's cores; the
# default list of six then takes three times FUZZ_SECONDS).
# First replays the inputs saved in fuzz/crashes/<target>-* (findings).
# Exits non-zero when a replay fails, or when any target crashed, leaked,
# timed out or had a sanitizer report; the inputs that did it are kept in
# $FUZZ_BUILD_DIR/fuzz-run/<target>/artifacts/.
#
#   FUZZ_SECONDS=30 fuzz/run.sh                  all targets
#   fuzz/run.sh fuzz_forward fuzz_vu_dev         some of them
#   FUZZ_BUILD_DIR=/tmp/bf FUZZ_JOBS=1 FUZZ_ARGS=-jobs=2 fuzz/run.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
secs=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
targets=${*:-fuzz_virtqueue fuzz_forward fuzz_vu_dev fuzz_tap fuzz_create fuzz_options}

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dfuzz=true >/dev/null || exit 1
elif ! grep -q 'fuzz_vu_dev' "$build/build.ninja"; then
	meson configure "$build" -Dfuzz=true >/dev/null || exit 1
fi
ninja_targets=
for t in $targets; do ninja_targets="$ninja_targets fuzz/$t"; done
# shellcheck disable=SC2086
ninja -C "$build" $ninja_targets >/dev/null || { ninja -C "$build" $ninja_targets; exit 1; }

# Every sanitizer report is fatal and leaves its input behind.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

# One target: replay its findings, fuzz it; what it says goes to
# $work/summary, 1 to $work/failed when it failed.
run_target() {
	t=$1
	work=$build/fuzz-run/$t
	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/artifacts"
	: >"$work/summary"
	# Inputs that once found a bug (fuzz/crashes/<target>-*) must pass first.
	for c in "$here/crashes/$t"-*; do
		[ -f "$c" ] || continue
		if ! "$build/fuzz/$t" "$c" >"$work/replay.log" 2>&1; then
			echo 1 >"$work/failed"
			{
				echo "$t: FAIL replaying $c (still crashes); log $work/replay.log"
				grep -E 'ERROR|runtime error|invariant failed' "$work/replay.log" | head -n 3 |
					sed 's/^/  /'
			} >>"$work/summary"
		fi
	done
	cp "$here/corpus/$t"/* "$work/corpus/"
	dict=
	[ -f "$here/dict/$t.dict" ] && dict="-dict=$here/dict/$t.dict"
	# shellcheck disable=SC2086
	"$build/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=20000 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
		$dict ${FUZZ_ARGS:-} "$work/corpus" >"$work/log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -n 1)
	last=$(grep -E '^#[0-9]+.*cov: ' "$work/log" | tail -n 1)
	cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(printf '%s\n' "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	artifacts=$(ls "$work/artifacts" 2>/dev/null)
	if [ "$rc" -ne 0 ] || [ -n "$artifacts" ] ||
		grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:|fuzz invariant failed' "$work/log"; then
		echo 1 >"$work/failed"
		{
			echo "$t: FAIL (exit $rc) after ${execs:-?} execs; log $work/log"
			grep -E 'ERROR|runtime error|invariant failed|SUMMARY' "$work/log" | head -n 5 |
				sed 's/^/  /'
			for a in $artifacts; do echo "  input: $work/artifacts/$a"; done
		} >>"$work/summary"
	else
		echo "$t: ok, ${execs:-?} execs in ${secs}s (${rate:-?}/s), cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}" >>"$work/summary"
	fi
}

# The seeds, written once if a corpus is missing (before any target runs).
for t in $targets; do
	[ -d "$here/corpus/$t" ] || { python3 "$here/make_seeds.py" >/dev/null; break; }
done

# FUZZ_JOBS targets at a time, each reported once its batch is done.
failed=0
# shellcheck disable=SC2086
set -- $targets
while [ $# -gt 0 ]; do
	batch=
	n=0
	while [ $# -gt 0 ] && [ "$n" -lt "$jobs" ]; do
		run_target "$1" &
		batch="$batch $1"
		n=$((n + 1))
		shift
	done
	wait
	for t in $batch; do
		cat "$build/fuzz-run/$t/summary"
		[ -f "$build/fuzz-run/$t/failed" ] && failed=1
	done
done
exit $failed
