#!/usr/bin/env bash
# Compatibility with SystemTap's own target-side tools: modules that our
# translator builds for a 4.8 client (-DSTP_TRANSPORT_V4: 4.x message
# numbers and framing) run under Debian's staprun/stapio 4.8 (package
# systemtap-runtime) in the QEMU target and print exactly what they print
# under ours.  Ends with "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
if ! dpkg-query -W -f='${Status}' systemtap-runtime 2>/dev/null | grep -q 'install ok installed'; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		systemtap-runtime > /dev/null 2>&1 ||
		{ echo "cannot install systemtap-runtime"; echo "0 passed, 1 failed"; exit 1; }
fi
"$top/scripts/stap-prep" > /dev/null || { echo "0 passed, 1 failed"; exit 1; }
store=${STAP_KERNEL_STORE:-/var/lib/stapcs/kernels}
kver=$(ls "$store" | grep -E '^6\.1\.0-[0-9]+-amd64$' | sort -V | tail -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/vm"
cp "$top/staprun" "$top/stapio" "$work/vm/"
stapio48=$(dpkg -L systemtap-runtime | grep '/stapio$' | head -n 1)
printf '/usr/bin/staprun\n%s\n' "$stapio48" > "$work/vm/hostfiles"
cases=(hello printf-formats arrays stats functions)
: > "$work/vm/runlist"
for name in "${cases[@]}"; do
	mod="stap_v4_$(echo "$name" | tr -c 'A-Za-z0-9_\n' '_')"
	(cd "$work" && SYSTEMTAP_RUNTIME="$top/runtime/kernel" "$top/stap" --tapset-dir="$top/tapset" \
		-r "$kver" -DSTP_TRANSPORT_V4 -p4 -m "$mod" "$here/$name.stp" > /dev/null 2> "$name.build") &&
		cp "$work/$mod.ko" "$work/vm/"
	echo "/usr/bin/staprun $mod.ko" >> "$work/vm/runlist"
	echo "./staprun $mod.ko" >> "$work/vm/runlist"
done
"$top/tests/vm/run.sh" --kver "$kver" "$work/vm" > "$work/vm.log" 2>&1
pass=0 fail=0 k=0
for name in "${cases[@]}"; do
	for who in debian ours; do
		k=$((k + 1))
		if [ "$(cat "$work/vm/out/$k.status" 2>/dev/null)" = 0 ] &&
		   cmp -s "$work/vm/out/$k.stdout" "$here/$name.expect"; then
			pass=$((pass + 1))
			echo "PASS $name under $who staprun"
		else
			fail=$((fail + 1))
			echo "FAIL $name under $who staprun (status $(cat "$work/vm/out/$k.status" 2>/dev/null))"
			diff "$here/$name.expect" "$work/vm/out/$k.stdout" 2>&1 | head -n 6 | sed 's/^/    | /'
			head -n 4 "$work/vm/out/$k.stderr" 2>/dev/null | sed 's/^/    ! /'
		fi
	done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
