#!/bin/sh
# Replay the saved fuzz regressions and the conformance corpus once through
# an ASan+UBSan build of pass 1 and pass 2, and the protocol seeds through
# fuzz_proto; fail if any input crashes, leaks, trips UBSan or runs longer
# than 10 s.  This is what CI runs.
#
#   tests/fuzz/replay.sh
#
# Inputs: tests/fuzz/regressions/* (a name containing "-fast-" runs without
# the tapset library, as it was found) and tests/corpus/*/*.stp (with it);
# tests/fuzz/seeds_proto/* (archives, and regressions of fuzz_proto).
# Prints one line per input, then "N passed, N failed".  No suppressions:
# a regression keeps failing until its bug is fixed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

"$here/build.sh" replay proto-replay >/dev/null || {
	echo "replay.sh: build failed" >&2
	exit 2
}

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS="detect_leaks=1"

passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

replay_one() {
	f=$1
	target=${2:-fuzz_front_replay}
	case $(basename "$f") in
	*-fast-*) no_tapsets=1 ;;
	*) no_tapsets=0 ;;
	esac
	STAP_FUZZ_NO_TAPSETS=$no_tapsets timeout 10 "$here/$target" "$f" >"$log" 2>&1
	rc=$?
	name=${f#"$root"/}
	if [ "$rc" -eq 0 ]; then
		echo "PASS $name"
		passed=$((passed + 1))
		return
	fi
	if [ "$rc" -eq 124 ]; then
		why="timeout (10 s)"
	else
		why=$(grep -m1 -E '^SUMMARY: |runtime error:' "$log" || echo "exit status $rc")
	fi
	echo "FAIL $name: $why"
	failed=$((failed + 1))
}

for f in "$here"/regressions/* "$root"/tests/corpus/*/*.stp; do
	[ -f "$f" ] || continue
	replay_one "$f"
done
for f in "$here"/seeds_proto/*; do
	[ -f "$f" ] || continue
	replay_one "$f" fuzz_proto_replay
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
