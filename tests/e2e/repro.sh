#!/usr/bin/env bash
# Pass 4 is reproducible and the module says what it is: the same script
# built twice (in different temporary directories) gives the same bytes,
# and the module carries .stap_privilege, .stap_kernel_build_id (the
# build-id of the kernel's vmlinux) and .stap_version.  The runtime object
# cache (translator/rtcache.h) changes no byte: a module linked with a
# cached stap_rt.o equals one built with --disable-cache, whatever the
# module name; other -D flags get their own entry; a damaged entry or a
# newer runtime file makes kbuild compile the object again.
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
export SYSTEMTAP_DIR=$work/stapdir   # this test's own runtime object cache
cache=$SYSTEMTAP_DIR/cache/runtime
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

# --- the runtime object cache ---------------------------------------------------------
# build DIR [stap options...]: -p4 of stats.stp in DIR, the kbuild log kept in DIR/build.log
build() {
	local d=$work/$1
	shift
	mkdir -p "$d"
	(cd "$d" && STAP_KEEP_BUILD=1 SYSTEMTAP_RUNTIME="$rt" "$top/stap" --tapset-dir="$top/tapset" \
		-r "$kver" -p4 "$@" "$here/stats.stp" > out 2> err)
	local kept
	kept=$(sed -n 's/^stap: build directory kept: //p' "$d/out" "$d/err" | head -n 1)
	[ -n "$kept" ] && cp "$kept/build.log" "$d/build.log" && rm -rf "$kept"
}
compiled_rt() { grep -q 'CC \[M\].*/stap_rt\.o' "$work/$1/build.log"; }
entries() { find "$cache" -name '*.o' 2>/dev/null | wc -l; }
rt=$top/runtime/kernel
compiled_rt 1 2>/dev/null || true
[ "$(entries)" = 1 ]; check "the first build filled the cache with one runtime object" $?
[ "$(stat -c %a "$cache")" = 700 ] && [ -z "$(find "$cache" -type f ! -perm 600)" ]
check "the cache is private (directory 0700, files 0600)" $?
build hit
! compiled_rt hit && grep -q 'CC \[M\].*/stap_all\.o' "$work/hit/build.log"
check "a second build links the cached stap_rt.o and compiles only the script" $?
build nocache --disable-cache
compiled_rt nocache; check "--disable-cache compiles stap_rt.o" $?
cmp -s "$ko1" "$work/hit/$(basename "$ko1")" && cmp -s "$ko1" "$work/nocache/$(basename "$ko1")"
check "cached, uncached and first builds give the same bytes" $?
build named -m stap_other_name
build named-nc -m stap_other_name --disable-cache
! compiled_rt named && [ "$(entries)" = 1 ]
check "another module name uses the same entry" $?
cmp -s "$work/named/stap_other_name.ko" "$work/named-nc/stap_other_name.ko"
check "  and its module equals the uncached build" $?
build define -D MAXSTRINGLEN=1024
compiled_rt define && [ "$(entries)" = 2 ]; check "other -D flags get their own entry" $?
# the cache keeps at most 64 entries: the least recently used go first
for i in $(seq 1 70); do
	k=$(printf '%064x' "$i")
	: > "$cache/$k.o"; : > "$cache/$k.cmd"; touch -d 2001-01-01 "$cache/$k.o" "$cache/$k.cmd"
done
build bounded -D MAXSTRINGLEN=2048
[ "$(entries)" = 64 ] && [ "$(find "$cache" -name '*.cmd' -newermt 2002-01-01 | wc -l)" = 3 ]
check "at most 64 entries; the least recently used went, the real three stayed" $?
find "$cache" -name '0000*' -delete
# a damaged entry: the build still succeeds, with the right bytes, and repairs it
for o in "$cache"/*.o; do
	head -c 4096 /dev/urandom > "$o.new" && touch -r "$o" "$o.new" && mv "$o.new" "$o"
done
build damaged
cmp -s "$ko1" "$work/damaged/$(basename "$ko1")"; check "a damaged cache entry does not change the module" $?
build after-damage
! compiled_rt after-damage && cmp -s "$ko1" "$work/after-damage/$(basename "$ko1")"
check "  and the entry was repaired" $?
# a runtime file newer than the cached object (same content): kbuild compiles it again
rt=$work/runtime
cp -a "$top/runtime/kernel" "$rt"
touch "$rt/transport.c"
build touched
compiled_rt touched && cmp -s "$ko1" "$work/touched/$(basename "$ko1")"
check "a runtime file newer than the cached object is compiled again, same bytes" $?
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
