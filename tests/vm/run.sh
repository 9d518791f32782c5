#!/usr/bin/env bash
# tests/vm/run.sh: boots one QEMU VM on a kernel from the kernel store and
# runs RUNDIR's run list in it; see tests/vm/README for RUNDIR's layout and
# what comes back in RUNDIR/out/.
set -euo pipefail

prog=vm-run
here=$(cd "$(dirname "$0")" && pwd)
store=${STAP_KERNEL_STORE:-/var/lib/stapcs/kernels}
kver=${STAP_KVER:-}
timeout=300             # seconds for the whole VM, boot included
run_limit=60            # default seconds for one run
mem=${STAP_VM_MEM:-512M}
smp=${STAP_VM_SMP:-1}
append=""
keep=no

usage() {
	cat <<EOF
usage: tests/vm/run.sh [options] RUNDIR

Boots one QEMU (TCG) VM on STORE/KVER/vmlinux with a busybox initramfs
plus RUNDIR's files, runs each line of RUNDIR/runlist in order (sh syntax,
cwd /test, stdin /dev/null), and writes RUNDIR/out/N.stdout, N.stderr,
N.status for run N, plus console.log and times.

  --kver KVER          kernel release (default: \$STAP_KVER, else the
                       newest prepared 6.1.0-N-amd64 in the store)
  --timeout SECS       limit for the whole VM, boot included (default $timeout)
  --run-timeout SECS   default limit of one run (default $run_limit); a
                       runlist line "@SECS command" sets its own
  --append ARGS        extra kernel command-line arguments
  --keep               keep the work directory (initrd, raw channels)
  -h, --help           show this help

RUNDIR: runlist (required), rootfs/ (merged into /, owners kept),
hostfiles (host paths copied to the same path), anything else -> /test.
Dynamic ELF executables and host files bring the libraries ldd lists.
Exit status: 0 every run finished (whatever its status), 1 harness
error, 3 the VM ended or was killed before every run finished.
EOF
}

die() {
	echo "$prog: $*" >&2
	exit 1
}

is_uint() {
	[[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]
}

while [ $# -gt 0 ]; do
	case $1 in
	--kver) [ $# -ge 2 ] || die "--kver needs a value"; kver=$2; shift 2 ;;
	--timeout) [ $# -ge 2 ] && is_uint "$2" || die "--timeout needs a number of seconds"
		timeout=$2; shift 2 ;;
	--run-timeout) [ $# -ge 2 ] && is_uint "$2" || die "--run-timeout needs a number of seconds"
		run_limit=$2; shift 2 ;;
	--append) [ $# -ge 2 ] || die "--append needs a value"; append=$2; shift 2 ;;
	--keep) keep=yes; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; break ;;
	-*) die "unknown option '$1' (try --help)" ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || die "expected one RUNDIR (try --help)"
rundir=$(cd "$1" 2>/dev/null && pwd) || die "$1: no such directory"
[ -f "$rundir/runlist" ] || die "$rundir/runlist: missing"
[ "$(id -u)" -eq 0 ] || die "need root (device nodes and owners in the initramfs)"

# The default kernel: the newest complete 6.1.0-N-amd64 entry (the project's
# target), else the newest complete entry.  stap-prep writes "release" last.
default_kver() {
	local all
	all=$(cd "$store" 2>/dev/null && cat ./*/release 2>/dev/null | sort -V || true)
	printf '%s\n' "$all" | grep -E '^6\.1\.0-[0-9]+-amd64$' | tail -n 1 | grep . ||
		printf '%s\n' "$all" | tail -n 1
}
if [ -z "$kver" ]; then
	kver=$(default_kver)
	[ -n "$kver" ] || die "$store: no prepared kernel (run scripts/stap-prep)"
fi
vmlinux=$store/$kver/vmlinux
[ -s "$vmlinux" ] && [ -f "$store/$kver/release" ] ||
	die "$store/$kver: not prepared (run scripts/stap-prep $kver)"

base=$("$here/setup.sh" | tail -n 1) || die "tests/vm/setup.sh failed"
[ -s "$base" ] || die "$base: no base initramfs"

work=$(mktemp -d "${TMPDIR:-/tmp}/stapvm.XXXXXX")
qpid=""
cleanup() {
	[ -z "$qpid" ] || kill "$qpid" 2>/dev/null || true
	if [ "$keep" = yes ]; then
		echo "$prog: work directory kept: $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
stage=$work/root
mkdir -p "$stage/test" "$stage/stap/runs"

# --- the overlay: run list, RUNDIR's files, libraries ---------------------

# Copies host file $1 to the same path in the stage (content, not link).
copy_host_file() {
	local f=$1
	[ -e "$stage$f" ] && return 0
	[ -f "$f" ] || die "$f: no such host file"
	mkdir -p "$stage$(dirname "$f")"
	cp -L --preserve=mode "$f" "$stage$f"
}

# True when $1 is an ELF file with a program interpreter (dynamic).
is_dynamic_elf() {
	[ "$(head -c 4 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] || return 1
	LC_ALL=C readelf -l "$1" 2>/dev/null | grep 'Requesting program interpreter' > /dev/null ||
		LC_ALL=C readelf -d "$1" 2>/dev/null | grep '(NEEDED)' > /dev/null
}

# NSS loads its crypto token at run time (dlopen): programs linked with
# libnss3 (our staprun verifies .sgn files with it) need these too.
nss_runtime="libsoftokn3.so libsoftokn3.chk libfreeblpriv3.so libfreeblpriv3.chk libfreebl3.so libfreebl3.chk"

# Copies the libraries (and the loader) ldd lists for ELF file $1.
copy_libraries() {
	local lib f
	for lib in $(ldd "$1" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\).*/\1/p'); do
		copy_host_file "$lib"
		# beside libnss3: that is where NSS looks for them
		if [[ $lib == */libnss3.so ]] && [ ! -e "$stage${lib%/*}/libsoftokn3.so" ]; then
			for f in $nss_runtime; do
				[ -e "${lib%/*}/$f" ] || continue
				copy_host_file "${lib%/*}/$f"
				if [[ $f == *.so ]]; then copy_libraries "${lib%/*}/$f"; fi
			done
		fi
	done
}

n=0
while IFS= read -r line || [ -n "$line" ]; do
	case $line in
	''|'#'*) continue ;;
	esac
	[[ $line =~ ^[[:space:]]*$ ]] && continue
	limit=$run_limit
	if [[ $line =~ ^@([0-9]+)[[:space:]]+(.*)$ ]]; then
		limit=${BASH_REMATCH[1]}
		line=${BASH_REMATCH[2]}
		is_uint "$limit" || die "runlist: '@$limit': a limit must be positive"
	fi
	n=$((n + 1))
	printf '%s\n' "$line" > "$stage/stap/runs/$n.sh"
	echo "$limit" > "$stage/stap/runs/$n.limit"
	printf '%s\n' "$line" > "$work/cmd.$n"
done < "$rundir/runlist"
[ "$n" -gt 0 ] || die "$rundir/runlist: no runs"
echo "$n" > "$stage/stap/count"

for f in "$rundir"/* "$rundir"/.[!.]*; do
	[ -e "$f" ] || [ -L "$f" ] || continue
	case ${f##*/} in
	runlist|out|rootfs|hostfiles) continue ;;
	esac
	cp -a "$f" "$stage/test/"
done
chown -R 0:0 "$stage/test"
if [ -d "$rundir/rootfs" ]; then
	cp -a "$rundir/rootfs/." "$stage/"
fi
if [ -f "$rundir/hostfiles" ]; then
	while IFS= read -r f || [ -n "$f" ]; do
		case $f in ''|'#'*) continue ;; esac
		[[ $f == /* ]] || die "hostfiles: '$f': not an absolute path"
		copy_host_file "$f"
		if is_dynamic_elf "$f"; then copy_libraries "$f"; fi
	done < "$rundir/hostfiles"
fi
while IFS= read -r -d '' f; do
	if [ -x "$f" ] && is_dynamic_elf "$f"; then copy_libraries "$f"; fi
done < <(find "$stage" -path "$stage/stap" -prune -o -type f -print0)

(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) > "$work/overlay.cpio"
cat "$base" "$work/overlay.cpio" > "$work/initrd"

# --- boot ------------------------------------------------------------------

out=$rundir/out
rm -rf "$out"
mkdir -p "$out"
: > "$work/stdout"
: > "$work/stderr"
: > "$work/status"
: > "$work/console"

cmdline="console=ttyS0 panic=-1 cryptomgr.notests quiet rdinit=/init"
[ -z "$append" ] || cmdline+=" $append"

t_start=${EPOCHREALTIME/./}
# STAP_VM_ICOUNT=N: the guest clock counts instructions (2^N ns each), so
# guest timings are instruction counts, the same whatever the host's load
# (bench/probe-cost.sh -i)
icount=()
[ -z "${STAP_VM_ICOUNT:-}" ] || icount=(-icount "shift=$STAP_VM_ICOUNT")
qemu-system-x86_64 -accel tcg -cpu max -m "$mem" -smp "$smp" "${icount[@]}" \
	-nic none -display none -nodefaults -no-reboot -no-user-config \
	-kernel "$vmlinux" -initrd "$work/initrd" -append "$cmdline" \
	-serial "file:$work/console" -serial "file:$work/stdout" \
	-serial "file:$work/stderr" -serial "file:$work/status" \
	< /dev/null > "$work/qemu.log" 2>&1 &
qpid=$!

# Seconds (3 decimals) since t_start.
since_start() {
	local us=$(( ${EPOCHREALTIME/./} - t_start ))
	printf '%d.%03d' $((us / 1000000)) $((us % 1000000 / 1000))
}

boot_s=""
killed=no
deadline=$(( t_start + timeout * 1000000 ))
while kill -0 "$qpid" 2>/dev/null; do
	if [ -z "$boot_s" ] && grep -a '^stapvm ready' "$work/status" > /dev/null; then
		boot_s=$(since_start)
		echo "$prog: $kver booted in ${boot_s}s, $n run(s)" >&2
	fi
	if [ "${EPOCHREALTIME/./}" -ge "$deadline" ]; then
		echo "$prog: VM still running after ${timeout}s: killing it" >&2
		kill "$qpid" 2>/dev/null || true
		killed=yes
		break
	fi
	sleep 0.1
done
wait "$qpid" 2>/dev/null || true
qpid=""
total_s=$(since_start)
if [ -z "$boot_s" ] && grep -a '^stapvm ready' "$work/status" > /dev/null; then
	boot_s=$total_s
fi
cp "$work/console" "$out/console.log"
[ -s "$work/qemu.log" ] && cp "$work/qemu.log" "$out/qemu.log"

# --- results ---------------------------------------------------------------

# Copies bytes [$2, $2+$3) of $1 into $4; fails when they are not all there
# or their md5 is not $5.
take() {
	local src=$1 off=$2 len=$3 dst=$4 sum=$5
	[ $(( off + len )) -le "$(stat -c %s "$src")" ] || return 1
	dd if="$src" of="$dst" bs=64K iflag=skip_bytes,count_bytes \
		skip="$off" count="$len" status=none
	[ "$(md5sum < "$dst" | cut -d' ' -f1)" = "$sum" ]
}

declare -A finished=()
{
	echo "kver $kver"
	echo "boot_s ${boot_s:-none}"
	echo "total_s $total_s"
} > "$out/times"
bad=0
while read -r tag what i rc ooff olen osum eoff elen esum t0 t1 limit rest; do
	[ "$tag" = stapvm ] && [ "$what" = end ] || continue
	[[ $i =~ ^[0-9]+$ ]] && [ "$i" -ge 1 ] && [ "$i" -le "$n" ] || continue
	ok=yes
	take "$work/stdout" "$ooff" "$olen" "$out/$i.stdout" "$osum" || ok=no
	take "$work/stderr" "$eoff" "$elen" "$out/$i.stderr" "$esum" || ok=no
	if [ "$ok" = no ]; then
		echo "$prog: run $i: its output did not arrive intact" >&2
		bad=1
		continue
	fi
	echo "$rc" > "$out/$i.status"
	finished[$i]=1
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	echo "run $i status $rc guest_s $secs" >> "$out/times"
	if [ "$rc" = 137 ] && awk -v s="$secs" -v l="$limit" 'BEGIN { exit !(s + 0.5 >= l) }'; then
		echo "$prog: run $i: killed at its ${limit}s limit: $(cat "$work/cmd.$i")" >&2
	fi
done < <(tr -d '\r' < "$work/status")

unfinished=()
for ((i = 1; i <= n; i++)); do
	[ -n "${finished[$i]:-}" ] || unfinished+=("$i")
done
if [ "${#unfinished[@]}" -gt 0 ]; then
	reason="the VM stopped"
	[ "$killed" = yes ] && reason="the VM was killed after ${timeout}s"
	[ -n "$boot_s" ] || reason="$reason before the run list started (see $out/console.log)"
	echo "$prog: $reason; runs not finished: ${unfinished[*]}" >&2
	for i in "${unfinished[@]}"; do
		echo "$prog:   run $i: $(cat "$work/cmd.$i")" >&2
	done
	echo "unfinished ${unfinished[*]}" >> "$out/times"
	exit 3
fi
echo "$prog: $n run(s) finished in ${total_s}s (boot ${boot_s}s)" >&2
[ "$bad" -eq 0 ] || exit 1
exit 0
