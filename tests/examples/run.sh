#!/usr/bin/env bash
# Pass 1 of every example script that Debian's systemtap-doc installs, run
# the way its .meta file's test_check line says (with -p1 in place of -p4).
# Usage: tests/examples/run.sh [STAP] [EXAMPLES_DIR]
# Prints one line per script, then "N passed, N failed, N skipped".
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
stap=${1:-$top/stap}
examples=${2:-/usr/share/systemtap/examples}
if [ ! -d "$examples" ]; then
	echo "SKIP: $examples is missing (Debian package systemtap-doc)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
# the target kernel: installed Debian headers when present, else the fixture
kernel=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1)
[ -n "$kernel" ] || kernel="$top/tests/fixtures/kernel-6.1"
common=(--tapset-dir="$top/tapset" -r "$kernel")

# Scripts without a .meta: how to call them (arguments are what the
# script's own comments ask for).
declare -A no_meta=(
	[general/grapher.stp]=""
	[general/pyexample.stp]="python3"
	[process/proc_snoop.stp]=""
	[profiling/graphcall.stp]="/bin/ls main"
	[profiling/syscallsrw.stp]=""
	[security-band-aids/cve-2016-0728-templatized.stp]="-g"
	[security-band-aids/cve-2018-6485-templatized.stp]="-g"
)
# Known not to pass, with the reason (SystemTap 4.8 fails them too).
declare -A known_bad=(
	[security-band-aids/security-bandaid-template.stp]="a template: its probe body is literally '{...}'"
)

pass=0 fail=0 skip=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
cd "$examples" || exit 1
for f in */*.stp; do
	if [ -n "${known_bad[$f]+x}" ]; then
		skip=$((skip + 1))
		echo "SKIP $f: ${known_bad[$f]}"
		continue
	fi
	meta=${f%.stp}.meta
	line=""
	[ -f "$meta" ] && line=$(grep -h -m1 '^test_check:' "$meta")
	[ -z "$line" ] && [ -f "$meta" ] && line=$(grep -h -m1 '^test_installcheck:' "$meta")
	if [ -n "$line" ]; then
		line=${line#*: }
		# no shell: command substitutions and $$ become a plain number
		line=$(printf '%s' "$line" | sed -e 's/`[^`]*`/1/g' -e 's/\(^\| \)\$\$\( \|$\)/\11\2/g' \
			-e 's/\$(\([^)]*\))/1/g')
		mapfile -t words < <(printf '%s' "$line" | xargs -n 1 printf '%s\n' 2>/dev/null)
		args=()
		for w in "${words[@]:1}"; do
			# -p4, -gp4, -wp4 ...: stop after pass 1 instead
			case $w in
			-p[0-9]) continue ;;
			-*p[0-9]) w=${w%p[0-9]} ;;
			esac
			args+=("$w")
		done
	else
		read -r -a extra <<< "${no_meta[$f]-}"
		args=("${extra[@]}")
		case " ${extra[*]} " in
		*" -g "*) args=(-g "$(basename "$f")") ;;
		*) args=("$(basename "$f")" "${extra[@]}") ;;
		esac
	fi
	if (cd "$(dirname "$f")" && timeout 20 "$stap" "${common[@]}" "${args[@]}" -p1 \
		> /dev/null 2> "$tmp"); then
		pass=$((pass + 1))
		echo "PASS $f"
	else
		fail=$((fail + 1))
		echo "FAIL $f: stap ${args[*]}"
		sed 's/^/    | /' "$tmp" | head -n 8
	fi
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
