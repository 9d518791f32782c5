#!/usr/bin/env bash
# End to end: each tests/e2e/NAME.stp is built with `stap -p4` for a Debian
# kernel and run by our staprun/stapio in the QEMU target (tests/vm), all in
# one boot.  Checked per script: stdout exactly (NAME.expect), stderr lines
# as substrings (NAME.stderr), the exit status (NAME.status, default 0),
# and that no module is left loaded.
#   NAME.stp first line "# flags: ..."   extra stap options (e.g. -DMAXSTRINGLEN=10)
#   NAME.staprun                         extra staprun options (e.g. -c 'cmd')
#   NAME.cmd                             replaces the whole run (NAME.staprun is then
#                                        ignored): a sh script run in the VM's /test with
#                                        $MOD set to the module name, so it loads the
#                                        module itself, e.g. `./staprun $MOD.ko & ...`
#                                        (Ctrl-C, -o FILE, post-processing the output)
#   NAME.args                            sh script run on the host (in a scratch dir,
#                                        with $top, $here, $kver, $store set) whose
#                                        output is the script's arguments ($1...)
#   NAME.modules                         kernel modules of the target kernel to put in
#                                        /test beside the case (paths under its
#                                        lib/modules/KVER/kernel/), e.g. drivers/net/dummy.ko
# Usage: tests/e2e/run.sh [--kver KVER] [NAME...]
# Ends with "N passed, N failed"; exit 1 when anything failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
kver=""
if [ "${1:-}" = --kver ]; then
	kver=$2
	shift 2
fi
"$top/scripts/stap-prep" $kver > /dev/null || { echo "stap-prep failed"; echo "0 passed, 1 failed"; exit 1; }
store=${STAP_KERNEL_STORE:-/var/lib/stapcs/kernels}
if [ -z "$kver" ]; then
	kver=$(ls "$store" | grep -E '^6\.1\.0-[0-9]+-amd64$' | sort -V | tail -n 1)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in "$here"/*.stp; do names+=("$(basename "$f" .stp)"); done
fi

pass=0 fail=0
declare -A built
# builds, two at a time
build_one() {
	local name=$1 mod=$2 flags args=""
	flags=$(head -n 1 "$here/$name.stp" | sed -n 's/^# flags://p')
	if [ -f "$here/$name.args" ]; then
		args=$(mkdir -p "$work/$name.tmp" && cd "$work/$name.tmp" &&
			sh "$here/$name.args" 2>"$work/$name.build") || return 1
	fi
	# shellcheck disable=SC2086
	(cd "$work" && SYSTEMTAP_RUNTIME="$top/runtime/kernel" timeout 300 "$top/stap" \
		--tapset-dir="$top/tapset" -r "$kver" $flags -p4 -m "$mod" "$here/$name.stp" $args \
		> "$work/$name.build" 2>&1)
}
export -f build_one
export top here work kver store
i=0
for name in "${names[@]}"; do
	mod="stap_e2e_$(echo "$name" | tr -c 'A-Za-z0-9_\n' '_')"
	printf '%s %s\n' "$name" "$mod"
done > "$work/list"
xargs -P 2 -L 1 bash -c 'build_one "$0" "$1"' < "$work/list"

run="$work/vm"
mkdir -p "$run"
cp "$top/staprun" "$top/stapio" "$run/"
: > "$run/runlist"
declare -A runno
n=0
while read -r name mod; do
	if [ ! -f "$work/$mod.ko" ]; then
		continue
	fi
	cp "$work/$mod.ko" "$run/"
	if [ -f "$here/$name.modules" ]; then
		# kernel modules of the target kernel the case loads itself
		while read -r km; do
			[ -n "$km" ] || continue
			cp "$store/$kver/image/lib/modules/$kver/kernel/$km" "$run/" ||
				echo "FAIL $name: no $km in the kernel store" >&2
		done < "$here/$name.modules"
	fi
	n=$((n + 1))
	runno[$name]=$n
	if [ -f "$here/$name.cmd" ]; then
		# NAME.cmd replaces the whole run: a sh script run in /test with
		# MOD set to the module's name (load it as ./staprun ... $MOD.ko)
		cp "$here/$name.cmd" "$run/$mod.cmd"
		printf '@60 MOD=%s sh ./%s.cmd; rc=$?; grep -q "^%s " /proc/modules && echo "MODULE LEFT LOADED" >&2; exit $rc\n' \
			"$mod" "$mod" "$mod" >> "$run/runlist"
		continue
	fi
	opts=""
	[ -f "$here/$name.staprun" ] && opts=$(cat "$here/$name.staprun")
	printf '@60 ./staprun %s %s.ko; rc=$?; grep -q "^%s " /proc/modules && echo "MODULE LEFT LOADED" >&2; exit $rc\n' \
		"$opts" "$mod" "$mod" >> "$run/runlist"
done < "$work/list"
if [ "$n" -gt 0 ]; then
	"$top/tests/vm/run.sh" --kver "$kver" --timeout 600 "$run" > "$work/vm.log" 2>&1
fi

while read -r name mod; do
	why=""
	if [ -z "${runno[$name]:-}" ]; then
		why="build failed: $(grep -m 3 -E 'error|ERROR' "$work/$name.build" | tr '\n' ' ')"
	else
		k=${runno[$name]}
		out="$run/out/$k.stdout" err="$run/out/$k.stderr" st="$run/out/$k.status"
		want_status=0
		[ -f "$here/$name.status" ] && want_status=$(cat "$here/$name.status")
		if [ ! -f "$st" ]; then
			why="did not finish in the VM"
		elif [ "$(cat "$st")" != "$want_status" ]; then
			why="exit status $(cat "$st"), expected $want_status"
		elif ! cmp -s "$out" "$here/$name.expect"; then
			why="stdout differs: $(diff "$here/$name.expect" "$out" | head -n 8 | tr '\n' '|')"
		elif grep -q 'MODULE LEFT LOADED' "$err"; then
			why="module left loaded"
		elif [ -f "$here/$name.stderr" ]; then
			while IFS= read -r line; do
				[ -z "$line" ] && continue
				grep -qF -- "$line" "$err" || { why="stderr lacks: $line"; break; }
			done < "$here/$name.stderr"
		fi
		if [ -z "$why" ] && [ ! -f "$here/$name.stderr" ] && [ -s "$err" ]; then
			why="unexpected stderr: $(head -n 3 "$err" | tr '\n' '|')"
		fi
	fi
	if [ -z "$why" ]; then
		pass=$((pass + 1))
		echo "PASS $name"
	else
		fail=$((fail + 1))
		echo "FAIL $name: $why"
		[ -n "${runno[$name]:-}" ] && sed 's/^/    | /' "$run/out/${runno[$name]}.stderr" 2>/dev/null | head -n 5
	fi
done < "$work/list"
if [ "$n" -gt 0 ] && [ ! -f "$run/out/1.status" ]; then
	echo "VM log:"; tail -n 20 "$work/vm.log"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
