#!/usr/bin/env bash
# bench/run-passes345.sh -- the issue-3 benchmarks in one go: compile.sh
# (cold stap -p4 vs kbuild floor, .ko sizes, peak memory), then
# probe-cost.sh (cost per kprobe hit vs a hand-written module, in the VM).
#   bench/run-passes345.sh [-n COMPILE_RUNS] [-N CALLS] [-r ROUNDS]
# Reports only; exit 0 unless a harness cannot work.  See bench/README.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CARGS=() PARGS=()
while getopts "n:N:r:h" opt; do
	case $opt in
	n) CARGS+=(-n "$OPTARG") ;;
	N) PARGS+=(-N "$OPTARG") ;;
	r) PARGS+=(-r "$OPTARG") ;;
	*) sed -n '2,7p' "$0"; exit 0 ;;
	esac
done
rc=0
"$HERE/compile.sh" "${CARGS[@]}" || rc=1
echo
"$HERE/probe-cost.sh" "${PARGS[@]}" || rc=1
exit $rc
