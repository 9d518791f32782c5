#!/usr/bin/env bash
# Runs the pass-1/pass-2 corpus (see README here) against a stap binary.
# Usage: tests/corpus/run.sh [STAP]   (default: ./stap of the build tree)
# Prints one line per script, then "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
stap=${1:-$top/stap}
kernel="$top/tests/fixtures/kernel-6.1"
common=(--tapset-dir="$top/tapset" -r "$kernel")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# header NAME.stp KEY -> the words after "# KEY:" on the first line
header() {
	local first
	first=$(head -n 1 "$1")
	case "$first" in "# $2:"*) echo "${first#"# $2:"}" ;; esac
}

# Every .expect line must occur in order in the output file.
expect_in_order() {
	local expect=$1 out=$2 rest line
	[ -f "$expect" ] || return 0
	rest=$(cat "$out")
	while IFS= read -r line || [ -n "$line" ]; do
		[ -z "$line" ] && continue
		case "$rest" in
		*"$line"*) rest=${rest#*"$line"} ;;
		*) echo "    missing: $line"; return 1 ;;
		esac
	done < "$expect"
}

check() { # SET PASS WANT_RC
	local set=$1 pnum=$2 want=$3 f name flags args rc why
	for f in "$here/$set"/*.stp; do
		name=$(basename "$f" .stp)
		read -r -a flags <<< "$(header "$f" flags)"
		read -r -a args <<< "$(header "$f" args)"
		why=""
		(cd "$here/$set" && timeout 20 "$stap" "${common[@]}" "${flags[@]}" -p"$pnum" \
			"$name.stp" "${args[@]}") > "$tmp/out" 2> "$tmp/err"
		rc=$?
		cat "$tmp/out" "$tmp/err" > "$tmp/all"
		if [ "$rc" -gt 1 ]; then
			why="exit status $rc (crash or timeout)"
		elif [ "$rc" -ne "$want" ]; then
			why="exit status $rc, expected $want"
		elif ! expect_in_order "$here/$set/$name.expect" "$tmp/all" > "$tmp/why"; then
			why=$(cat "$tmp/why")
		elif [ "$set" = parse-ok ]; then
			# the -p1 dump must parse back to the same dump
			grep -v '^# ' "$tmp/out" > "$tmp/round.stp"
			if ! "$stap" "${common[@]}" "${flags[@]}" -p1 "$tmp/round.stp" > "$tmp/out2" 2> "$tmp/err2"; then
				why="dump does not parse back: $(head -n 3 "$tmp/err2")"
			elif ! diff <(grep -v '^# ' "$tmp/out") <(grep -v '^# ' "$tmp/out2") > "$tmp/diff"; then
				why="dump differs after a round trip: $(head -n 6 "$tmp/diff")"
			fi
		fi
		if [ -z "$why" ]; then
			pass=$((pass + 1))
			echo "PASS $set/$name"
		else
			fail=$((fail + 1))
			echo "FAIL $set/$name: $why"
			sed 's/^/    | /' "$tmp/all" | head -n 12
		fi
	done
}

check parse-ok 1 0
check parse-fail 1 1
check sema-ok 2 0
check sema-fail 2 1
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
