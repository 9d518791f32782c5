#!/usr/bin/env bash
# tests/vm/smoke.sh: end-to-end proof of the QEMU target host.  Prepares the
# kernel (scripts/stap-prep), builds tests/vm/hello with kbuild against it,
# and in ONE VM boot loads it, reads its debugfs file, unloads it, and checks
# that failing commands and binary output come back intact.
#
#   tests/vm/smoke.sh [--kver KVER] [--keep]
#
# Prints PASS/FAIL per check, the timings, and "N passed, N failed".
# Exit status: 0 all passed, 1 a check failed or the harness broke.
set -euo pipefail

prog=vm-smoke
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
store=${STAP_KERNEL_STORE:-/var/lib/stapcs/kernels}
kver=""
keep=no

die() {
	echo "$prog: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case $1 in
	--kver) [ $# -ge 2 ] || die "--kver needs a value"; kver=$2; shift 2 ;;
	--keep) keep=yes; shift ;;
	-h|--help) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
done

# Microseconds since the epoch, and seconds between two of them.
now_us() { echo "${EPOCHREALTIME/./}"; }
secs() { printf '%d.%03d' $((($2 - $1) / 1000000)) $((($2 - $1) % 1000000 / 1000)); }

t0=$(now_us)
prep_log=$("$top/scripts/stap-prep" ${kver:+"$kver"}) || die "scripts/stap-prep failed"
printf '%s\n' "$prep_log"
if [ -z "$kver" ]; then
	kver=$(printf '%s\n' "$prep_log" | sed -n 's/^stap-prep: \([^ :]*\): ready in .*/\1/p' | tail -n 1)
	[ -n "$kver" ] || die "cannot tell which release stap-prep prepared"
fi
t_prep=$(secs "$t0" "$(now_us)")
"$here/setup.sh" > /dev/null || die "tests/vm/setup.sh failed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/stapvm-smoke.XXXXXX")
if [ "$keep" = yes ]; then
	trap 'echo "$prog: kept $tmp" >&2' EXIT
else
	trap 'rm -rf "$tmp"' EXIT
fi

mod=$tmp/mod
mkdir -p "$mod"
cp "$here/hello/hello.c" "$here/hello/Kbuild" "$mod/"
t0=$(now_us)
timeout 600 make -s -C "$store/$kver/build" M="$mod" modules > "$tmp/kbuild.log" 2>&1 ||
	{ cat "$tmp/kbuild.log" >&2; die "kbuild of tests/vm/hello failed"; }
t_kbuild=$(secs "$t0" "$(now_us)")
[ -f "$mod/stapvm_hello.ko" ] || die "kbuild made no stapvm_hello.ko"

run=$tmp/run
mkdir -p "$run"
cp "$mod/stapvm_hello.ko" "$run/"
cat > "$run/runlist" <<'EOF'
# 1: load by path (no /lib/modules in the guest)
insmod /test/stapvm_hello.ko
# 2: the load message is in the kernel log
dmesg | grep 'stapvm_hello: loaded'
# 3: the module's debugfs file
cat /sys/kernel/debug/stapvm_hello/greeting
# 4: listed while loaded
grep '^stapvm_hello ' /proc/modules | cut -d' ' -f1,5
# 5: unload
rmmod stapvm_hello
# 6: gone from /proc/modules, and the unload message logged
! grep '^stapvm_hello ' /proc/modules && dmesg | grep 'stapvm_hello: unloaded'
# 7: a failing command: non-zero status and its stderr come back
ls /no/such/file
# 8: an exact exit status
exit 42
# 9: binary output survives the serial path
head -c 65536 /dev/urandom > /tmp/b; md5sum < /tmp/b | cut -d' ' -f1 >&2; cat /tmp/b
# 10: a run past its own limit is killed and the next one still runs
@2 sleep 30
# 11: the VM is still alive after that
echo alive
# 12: the booted kernel is the store's vmlinux (its build-id note)
xxd -p /sys/kernel/notes | tr -d '\n'
# 13: a dynamic host program runs with the libraries run.sh copied
./gstat -c %s /test/stapvm_hello.ko
EOF
cp /usr/bin/stat "$run/gstat"

t0=$(now_us)
rc=0
"$here/run.sh" --kver "$kver" "$run" || rc=$?
t_vm=$(secs "$t0" "$(now_us)")

passed=0
failed=0
check() {
	local name=$1
	shift
	if "$@" > /dev/null 2>&1; then
		echo "PASS $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		failed=$((failed + 1))
	fi
}
status_is() { [ "$(cat "$run/out/$1.status" 2>/dev/null)" = "$2" ]; }
status_not() { [ -f "$run/out/$1.status" ] && [ "$(cat "$run/out/$1.status")" != "$2" ]; }
stdout_is() { [ "$(cat "$run/out/$1.stdout" 2>/dev/null)" = "$2" ]; }
stderr_has() { grep -F -- "$2" "$run/out/$1.stderr"; }
binary_intact() {
	[ "$(stat -c %s "$run/out/9.stdout")" = 65536 ] &&
		[ "$(md5sum < "$run/out/9.stdout" | cut -d' ' -f1)" = "$(cat "$run/out/9.stderr")" ]
}

check "vm: every run finished" test "$rc" = 0
check "insmod by path" status_is 1 0
check "dmesg has the load line" status_is 2 0
check "debugfs file reads back" stdout_is 3 "hello from stapvm_hello"
check "module listed live in /proc/modules" stdout_is 4 "stapvm_hello Live"
check "rmmod" status_is 5 0
check "module gone after rmmod, unload logged" status_is 6 0
check "failing command: non-zero status" status_not 7 0
check "failing command: stderr comes back" stderr_has 7 "No such file"
check "exit status 42" status_is 8 42
check "64 KiB of binary output intact" binary_intact
check "run over its limit is killed" status_is 10 137
check "next run still runs" stdout_is 11 alive
check "console log captured" test -s "$run/out/console.log"
check "guest kernel has the store's build-id" \
	grep -F "$(cat "$store/$kver/build-id")" "$run/out/12.stdout"
check "dynamic host program runs" stdout_is 13 "$(stat -c %s "$run/stapvm_hello.ko")"

boot=$(sed -n 's/^boot_s //p' "$run/out/times" 2>/dev/null || true)
echo "timing: stap-prep ${t_prep}s, kbuild of hello ${t_kbuild}s," \
	"VM boot to first run ${boot:-?}s, whole VM run ${t_vm}s ($kver)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
