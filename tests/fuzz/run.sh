#!/bin/sh
# Fuzz the translator's front end for SECONDS (default 600).
#
#   tests/fuzz/run.sh [SECONDS]
#
# Two fuzzers run side by side, one per core:
#   full  pass 1 + pass 2 with the whole tapset library (about 25 execs/s)
#   fast  pass 1 + pass 2 without the library (STAP_FUZZ_NO_TAPSETS=1,
#         a few hundred execs/s): the lexer, preprocessor, parser and the
#         checks of the script's own code get most of the mutations here
# Each runs libFuzzer in fork mode with -ignore_crashes, so a crash does not
# end the session.  Working state lives in tests/fuzz/work/ (kept between
# runs, not in git): seeds/ (copied from tests/corpus each run), corpus-MODE/,
# artifacts-MODE/, MODE.log.
#
# Afterwards every crash, timeout, leak or OOM input is minimised (crashes
# with -minimize_crash=1, up to MINIMIZE_SECONDS each, default 60), reduced
# to one input per distinct sanitizer report, and copied into
# tests/fuzz/regressions/ as KIND-WHAT-WHERE-MODE-HASH.stp, e.g.
# crash-heap-buffer-overflow-parse_primary-fast-1a2b3c4d.stp.
# Known, already reported UBSan bugs are suppressed by known-bugs.supp.
#
# Exit status: 0 nothing new found, 1 new regression inputs saved, 2 usage
# or build error.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:-600}
case $seconds in
''|0|*[!0-9]*) echo "run.sh: SECONDS must be a positive number, not '$seconds'" >&2; exit 2 ;;
esac
minimize_seconds=${MINIMIZE_SECONDS:-60}

"$here/build.sh" libfuzzer replay || exit 2

work=$here/work
mkdir -p "$work/seeds" "$here/regressions"
rm -f "$work"/seeds/*
for f in "$root"/tests/corpus/*/*.stp; do
	# the set name keeps same-named scripts of different sets apart
	set_name=$(basename "$(dirname "$f")")
	cp "$f" "$work/seeds/$set_name-$(basename "$f")"
done

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$here/known-bugs.supp"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"

fuzz_mode() {
	mode=$1 other=$2
	mkdir -p "$work/corpus-$mode" "$work/corpus-$other" "$work/artifacts-$mode"
	# run from the artifacts folder: fork mode leaves its job logs in the cwd
	(
		cd "$work/artifacts-$mode" || exit 2
		[ "$mode" = fast ] && export STAP_FUZZ_NO_TAPSETS=1
		exec "$here/fuzz_front" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 \
			-ignore_ooms=1 -max_total_time="$seconds" \
			-max_len=4096 -timeout=10 -rss_limit_mb=2048 \
			-dict="$here/stap.dict" -artifact_prefix="$work/artifacts-$mode/" \
			"$work/corpus-$mode" "$work/seeds" "$work/corpus-$other"
	) >"$work/$mode.log" 2>&1
}

echo "run.sh: fuzzing for $seconds s (logs: $work/full.log, $work/fast.log)"
fuzz_mode full fast &
full_pid=$!
fuzz_mode fast full &
fast_pid=$!
wait "$full_pid"
wait "$fast_pid"

for mode in full fast; do
	grep -E '^#[0-9]+: cov:|INITED|DONE' "$work/$mode.log" | tail -1 |
		sed "s/^/run.sh: $mode: /"
done

# summary FILE MODE: the sanitizer's one-line verdict on FILE ("" if none),
# known bugs still suppressed so the verdict names the new one
summary() {
	if [ "$2" = fast ]; then
		STAP_FUZZ_NO_TAPSETS=1 timeout 20 "$here/fuzz_front_replay" "$1" 2>&1
	else
		timeout 20 "$here/fuzz_front_replay" "$1" 2>&1
	fi | grep -m1 -E '^SUMMARY: |runtime error:' || true
}

# describe KIND SUMMARY: a file-name part such as heap-buffer-overflow-parse_primary
describe() {
	echo "$2" | sed -E \
		-e 's/^SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer): //' \
		-e 's/^([a-z-]+) [^ ]*:[0-9]+(:[0-9]+)? in ([A-Za-z_0-9]+).*/\1-\3/' \
		-e 's/^[^ ]*\/([a-z_]+)\.c:[0-9]+:[0-9]+: runtime error: ([a-z]+ [a-z]+).*/ub-\1-\2/' \
		-e 's/^([0-9]+) byte.* leaked in ([0-9]+) allocation.*/leak/' \
		-e 's/^still running.*/hang/' \
		-e 's/[^A-Za-z0-9_-]+/-/g' | cut -c1-60
}

new=0
for mode in full fast; do
	for a in "$work/artifacts-$mode"/crash-* "$work/artifacts-$mode"/timeout-* \
		 "$work/artifacts-$mode"/leak-* "$work/artifacts-$mode"/oom-*; do
		[ -f "$a" ] || continue
		case $a in *.min|*.minlog) continue ;; esac
		kind=$(basename "$a" | cut -d- -f1)
		input=$a
		verdict=$(summary "$a" "$mode")
		if [ "$kind" = timeout ] || [ "$kind" = oom ]; then
			[ "$mode" = fast ] && export STAP_FUZZ_NO_TAPSETS=1
			timeout 20 "$here/fuzz_front_replay" "$a" >/dev/null 2>&1
			[ $? -eq 124 ] && verdict="still running after 20 s"
			unset STAP_FUZZ_NO_TAPSETS
		fi
		if [ -z "$verdict" ]; then
			# fixed since it was found, or a bug added to known-bugs.supp
			echo "run.sh: $(basename "$a") no longer fails; dropped"
			rm -f "$a"
			continue
		fi
		if [ "$kind" = crash ] || [ "$kind" = leak ]; then
			min="$a.min"
			[ "$mode" = fast ] && export STAP_FUZZ_NO_TAPSETS=1
			# -runs bounds each step: the first one re-runs the input that often
			"$here/fuzz_front" -minimize_crash=1 -max_total_time="$minimize_seconds" \
				-runs=2000 -timeout=10 -exact_artifact_path="$min" "$a" \
				>"$a.minlog" 2>&1
			unset STAP_FUZZ_NO_TAPSETS
			if [ -s "$min" ]; then
				input=$min
				verdict=$(summary "$input" "$mode")
			fi
		fi
		what=$(describe "$kind" "$verdict")
		[ -n "$what" ] || what=unknown
		# one regression per distinct report
		if ls "$here/regressions/$kind-$what-"* >/dev/null 2>&1; then
			rm -f "$a" "$a.min" "$a.minlog"
			continue
		fi
		hash=$(sha1sum <"$input" | cut -c1-8)
		dest="$here/regressions/$kind-$what-$mode-$hash.stp"
		cp "$input" "$dest"
		echo "run.sh: new $kind: $(basename "$dest")"
		echo "        $verdict"
		new=$((new + 1))
		rm -f "$a" "$a.min" "$a.minlog"
	done
done
echo "run.sh: $new new regression input(s) in $here/regressions"
[ "$new" -eq 0 ]
