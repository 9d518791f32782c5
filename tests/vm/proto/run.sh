#!/usr/bin/env bash
# tests/vm/proto/run.sh: builds the hand-written transport test module
# (5.x and 4.x framing), staprun, stapio and proto_ctl, runs the transport
# cases in the QEMU target VM (tests/vm/run.sh) and checks each result.
#
#   tests/vm/proto/run.sh [--kver KVER] [--keep DIR]
#
# Exit status: 0 all cases passed, 1 a case failed, 2 build or VM error.
set -euo pipefail

prog=proto-run
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
kver=${STAP_KVER:-6.1.0-56-amd64}
keep=""
while [ $# -gt 0 ]; do
	case $1 in
	--kver) kver=$2; shift 2 ;;
	--keep) keep=$2; shift 2 ;;
	-h|--help) sed -n '2,8s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "$prog: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
kdir=/lib/modules/$kver/build
[ -d "$kdir" ] || { echo "$prog: $kdir: no kbuild tree for $kver" >&2; exit 2; }

work=${keep:-$(mktemp -d "${TMPDIR:-/tmp}/proto.XXXXXX")}
mkdir -p "$work"
[ -n "$keep" ] || trap 'rm -rf "$work"' EXIT
run=$work/rundir
mkdir -p "$run"

# --- build -----------------------------------------------------------------
build_module() {	# NAME EXTRA_CFLAGS
	local b=$work/kb.$1
	mkdir -p "$b"
	cp "$here/proto_mod.c" "$here/Kbuild" "$top"/runtime/kernel/*.[ch] "$b/"
	make -s -C "$kdir" M="$b" PROTO_NAME="$1" PROTO_CFLAGS="$2" modules \
		> "$b/build.log" 2>&1 || { cat "$b/build.log" >&2; exit 2; }
	cp "$b/$1.ko" "$run/"
}
t0=${EPOCHREALTIME/./}
build_module stap_proto ""
t1=${EPOCHREALTIME/./}
build_module stap_proto4 "-DSTP_TRANSPORT_V4"
cflags="-std=gnu11 -O2 -Wall -Wextra -Werror -I$top/runtime/staprun -I$top/runtime/kernel -DSTP_USER_TEST"
s=$top/runtime/staprun
# staprun and stapio of the build tree (make builds them; staprun needs NSS)
make -s -C "$top" staprun stapio > /dev/null || { echo "$prog: make staprun stapio failed" >&2; exit 2; }
cp "$top/staprun" "$top/stapio" "$run/"
gcc $cflags -o "$run/proto_ctl" "$here/proto_ctl.c" $s/common.c $s/transport_user.c
echo "$prog: module built in $(( (t1 - t0) / 1000 )) ms ($(stat -c %s "$run/stap_proto.ko") bytes)" >&2

# Debian's SystemTap 4.8 runtime, when installed, runs the 4.x module.
have48=no
if [ -x /usr/bin/staprun ] && [ -x /usr/lib/systemtap/stapio ]; then
	have48=yes
	printf '/usr/bin/staprun\n/usr/lib/systemtap/stapio\n' > "$run/hostfiles"
fi

# --- the cases (one runlist line each; "gone" checks /proc/modules) --------
gone='; rc=$?; grep -c "^stap_proto" /proc/modules; echo rc=$rc'
cases=(
	"normal|./staprun ./stap_proto.ko count=5 limit=3$gone"
	"exit|./staprun ./stap_proto.ko mode=exit$gone"
	"warn|./staprun ./stap_proto.ko mode=warn$gone"
	"error|./staprun ./stap_proto.ko mode=error$gone"
	"sigint|./staprun ./stap_proto.ko limit=0 & p=\$!; sleep 2; kill -INT \$p; wait \$p; rc=\$?; grep -c '^stap_proto' /proc/modules; echo rc=\$rc"
	"outfile|./staprun -o /tmp/o.txt ./stap_proto.ko count=2 limit=1; rc=\$?; cat /tmp/o.txt; grep -c '^stap_proto' /proc/modules; echo rc=\$rc"
	"cmd|./staprun -c 'sleep 1' ./stap_proto.ko limit=0 count=1$gone"
	"system|./staprun ./stap_proto.ko mode=system; rc=\$?; sleep 1; grep -c '^stap_proto' /proc/modules; echo rc=\$rc"
	"fail|./staprun ./stap_proto.ko mode=fail$gone"
	"ctl|insmod ./stap_proto.ko && ./proto_ctl stap_proto; rc=\$?; rmmod stap_proto; grep -c '^stap_proto' /proc/modules; echo rc=\$rc"
	"badopt|./staprun ./stap_proto.ko _stp_bufsize=100000; ./staprun ./stap_proto.ko 'a=1 _stp_bufsize=-1'$gone"
	"big|read a b < /proc/uptime; ./staprun ./stap_proto.ko mode=big count=20000 > /tmp/big.txt; rc=\$?; read c d < /proc/uptime; wc -l < /tmp/big.txt; sed -n 2,20001p /tmp/big.txt | sort -c && echo sorted; echo secs \$a \$c >&2; grep -c '^stap_proto' /proc/modules; echo rc=\$rc"
	"detach|./staprun -L ./stap_proto.ko limit=20 count=1; grep -c '^stap_proto' /proc/modules; sleep 1; ./staprun -A stap_proto$gone"
	"bufsize|./staprun -b 1 ./stap_proto.ko count=1 limit=1$gone"
	"v4|./staprun ./stap_proto4.ko count=2 limit=2$gone"
)
[ "$have48" = yes ] && cases+=("debian48|/usr/bin/staprun ./stap_proto4.ko count=2 limit=2; rc=\$?; grep -c '^stap_proto' /proc/modules; echo rc=\$rc")

: > "$run/runlist"
names=()
for c in "${cases[@]}"; do
	names+=("${c%%|*}")
	printf '@40 %s\n' "${c#*|}" >> "$run/runlist"
done

"$top/tests/vm/run.sh" --kver "$kver" --timeout 600 "$run" || { echo "$prog: VM run failed" >&2; exit 2; }

# --- checks ----------------------------------------------------------------
fails=0
i=0
# Rebuilds the expected text of a run stopped from outside: begin, lines
# 1..$2, ticks 1..N without a gap, "end ticks=N", 0 modules left, rc=0.
ticks_then_end() {
	local f=$1 lines=$2 n
	n=$(grep -c '^tick ' "$f" || true)
	head -n 1 "$f"
	seq 1 "$lines" | sed 's/^/line /'
	[ "$n" -gt 0 ] && seq 1 "$n" | sed 's/^/tick /'
	echo "end ticks=$n"; echo 0; echo rc=0
}
check() {	# NAME: expected stdout in $want, stderr patterns in $errpat
	local n=$1 out=$run/out/$2.stdout err=$run/out/$2.stderr
	if [ "$(cat "$out")" = "$want" ] && { [ -z "$errpat" ] || grep -q -- "$errpat" "$err"; }; then
		echo "PASS $n"
	else
		echo "FAIL $n"; echo "--- stdout:"; cat "$out"; echo "--- expected:"; echo "$want"
		echo "--- stderr:"; cat "$err"; fails=$((fails + 1))
	fi
}
for n in "${names[@]}"; do
	i=$((i + 1))
	errpat=""
	case $n in
	normal) want=$'begin target=0\nline 1\nline 2\nline 3\nline 4\nline 5\ntick 1\ntick 2\ntick 3\nend ticks=3\n0\nrc=0' ;;
	exit) want=$'begin target=0\nend ticks=0\n0\nrc=0' ;;
	warn) want=$'begin target=0\nafter warning\nend ticks=0\n0\nrc=0'; errpat='^WARNING: something odd: 42$' ;;
	error) want=$'begin target=0\nbefore error\nerror probe\n0\nrc=1'; errpat='^ERROR: it broke near begin$' ;;
	sigint) want=$(ticks_then_end "$run/out/$i.stdout" 5) ;;
	outfile) want=$'begin target=0\nline 1\nline 2\ntick 1\nend ticks=1\n0\nrc=0' ;;
	cmd) want=$(ticks_then_end "$run/out/$i.stdout" 1)
		head -n 1 "$run/out/$i.stdout" | grep -q '^begin target=[1-9]' || want=target-missing ;;
	system)	# system() runs its command in stapio "some time after the probe";
		# where its output lands among the module's lines is not defined
		want=$'begin target=0\nend ticks=0\n0\nrc=0'
		[ "$(grep -c '^from-system$' "$run/out/$i.stdout")" = 1 ] || want=system-output-missing
		sed -i '/^from-system$/d' "$run/out/$i.stdout" ;;
	fail) want=$'0\nrc=1'; errpat='failed to start' ;;
	ctl) want=$(grep -v UNEXPECTED "$run/out/$i.stdout" | grep -q 'all checks passed' && cat "$run/out/$i.stdout" || echo ctl-failed) ;;
	badopt) want=$'0\nrc=1'; errpat='invalid module option' ;;
	big) want=$'20002\nsorted\n0\nrc=0' ;;
	detach) want=$(printf '1\n'; sed -n '2,$p' "$run/out/$i.stdout" | grep -v '^0$\|^rc=' ; echo 0; echo rc=0)
		grep -q '^end ticks=20' "$run/out/$i.stdout" || want=missing-end ;;
	bufsize) want=$'begin target=0\nline 1\ntick 1\nend ticks=1\n0\nrc=0' ;;
	v4|debian48) want=$'begin target=0\nline 1\nline 2\ntick 1\ntick 2\nend ticks=2\n0\nrc=0' ;;
	esac
	check "$n" "$i"
done
echo "$prog: times: $(tr '\n' ' ' < "$run/out/times")"
echo "$(( ${#names[@]} - fails )) passed, $fails failed"
[ "$fails" -eq 0 ] || { echo "$prog: $fails case(s) failed" >&2; exit 1; }
