#!/usr/bin/env bash
# Pass 4 is reproducible and the module says what it is: the same script
# built twice (in different temporary directories) gives the same bytes,
# and the module carries .stap_privilege, .stap_kernel_build_id (the
# build-id of the kernel's vmlinux) and .stap_version.
# Ends with "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
"$top/scripts/stap-prep" > /dev/null || { echo "0 passed, 1 failed"; exit 1; }
store=${STAP_KERNEL_STORE:-/var/lib/stapcs/kernels}
kver=$(ls "$store" | grep -E '^6\.1\.0-[0-9]+-amd64$' | sort -V | tail -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
check() { # NAME CONDITION-RESULT
	if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "PASS $1"; else fail=$((fail + 1)); echo "FAIL $1"; fi
}
for i in 1 2; do
	mkdir -p "$work/$i"
	(cd "$work/$i" && SYSTEMTAP_RUNTIME="$top/runtime/kernel" "$top/stap" --tapset-dir="$top/tapset" \
		-r "$kver" -p4 "$here/stats.stp" > name 2> err)
done
ko1=$work/1/$(basename "$(cat "$work/1/name")")
ko2=$work/2/$(basename "$(cat "$work/2/name")")
[ -f "$ko1" ] && [ -f "$ko2" ]; check "both builds produced a module" $?
cmp -s "$ko1" "$ko2"; check "same script, same module bytes" $?
[ "$(basename "$ko1")" = "$(basename "$ko2")" ]; check "same default module name" $?
readelf -x .stap_privilege "$ko1" 2>/dev/null | grep -q ' 08000000 '; check ".stap_privilege is 8 (stapdev)" $?
want=$(cat "$store/$kver/build-id")
readelf -p .stap_kernel_build_id "$ko1" 2>/dev/null | grep -q "$want"; check ".stap_kernel_build_id is the kernel's build-id" $?
readelf -p .stap_version "$ko1" 2>/dev/null | grep -q 'stapcs '; check ".stap_version names the translator" $?
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
