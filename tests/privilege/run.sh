#!/usr/bin/env bash
# tests/privilege/run.sh: staprun's trust and privilege rules in the QEMU
# target, with real users and groups (none, stapusr, stapsys, stapdev,
# root): every case of the reference's staprun test list (ref
# staprun-runtime.md §10) that applies to us, the end-to-end path through
# our compile server (--privilege=stapusr, signed, trusted with
# `stap --trust-servers=signer`), and signatures made by SystemTap's own
# tools checked by our staprun and ours checked by Debian's staprun 4.8.
#
#   tests/privilege/run.sh [--keep DIR]
#
# On the host: builds the test modules with our translator, two signers
# of ours (A trusted, B not), one of SystemTap's (Debian's stap-gen-cert),
# starts our stap-serverd on 127.0.0.1 in a private network and mount
# namespace, and lays out the guest: users uu (stapusr), us (stapsys),
# ud (stapdev), un (none), uu2 (stapusr); staprun setuid root:stapusr 4750;
# the trust store; the blessed directory.  One VM boot runs every case;
# after each, no stap_ module may be left loaded.
#
# Ends with "N passed, N failed"; exit 0 when none failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/lib/netns.sh"
in_private_netns STAPCS_PRIV_NS "$0" "$@"

kver=${STAP_KVER:-6.1.0-56-amd64}
keep=""
[ "${1:-}" = --keep ] && keep=$2
work=${keep:-$(mktemp -d "${TMPDIR:-/tmp}/privtest.XXXXXX")}
mkdir -p "$work"
# a kept directory of an earlier run starts empty again
rm -rf "${work:?}/vm" "$work/srv" "$work/client" "$work/build" "$work/etc-systemtap" \
	"$work/A" "$work/B" "$work/C" "$work/server.log"
server_pid=""
cleanup() {
	[ -n "$server_pid" ] && kill -TERM "$server_pid" 2> /dev/null && wait "$server_pid" 2> /dev/null
	[ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT
setup_failed() {
	echo "privilege-test: $*"
	echo "0 passed, 1 failed"
	exit 1
}
ip link set lo up || setup_failed "cannot bring lo up"
deb=/usr/lib/systemtap
for t in "$top/stap" "$top/staprun" "$top/stapio" "$top/stap-serverd" "$top/stap-gen-cert" \
	"$top/stap-sign-module" "$top/stap-authorize-cert" "$deb/stap-gen-cert" \
	"$deb/stap-sign-module" "$deb/stap-authorize-cert" /usr/bin/staprun; do
	[ -x "$t" ] || setup_failed "missing $t"
done
"$top/scripts/stap-prep" "$kver" > "$work/prep.log" 2>&1 || setup_failed "stap-prep: $(tail -n 3 "$work/prep.log")"
store=${STAP_KERNEL_STORE:-/var/lib/stapcs/kernels}

run=$work/vm
mods=$run			# becomes /test in the guest
root=$run/rootfs
mkdir -p "$run/cases" "$run/stores" "$root/etc" "$root/opt/stapcs/bin"

# --- signers -----------------------------------------------------------------
"$top/stap-gen-cert" "$work/A" > "$work/gen.log" 2>&1 || setup_failed "stap-gen-cert A: $(cat "$work/gen.log")"
"$top/stap-gen-cert" "$work/B" > "$work/gen.log" 2>&1 || setup_failed "stap-gen-cert B: $(cat "$work/gen.log")"
timeout 180 "$deb/stap-gen-cert" "$work/C" > "$work/gen.log" 2>&1 ||
	setup_failed "Debian's stap-gen-cert: $(tail -n 3 "$work/gen.log")"

# Trust stores for the guest.  /etc/systemtap is a scratch bind mount (we
# are in a private mount namespace) so that `stap --trust-servers` and
# SystemTap's stap-authorize-cert write where they always write.
mkdir -p "$work/etc-systemtap"
mount --bind "$work/etc-systemtap" /etc/systemtap || setup_failed "cannot bind /etc/systemtap"
take_store() {	# NAME: the store now in /etc/systemtap/staprun becomes stores/NAME
	cp -a /etc/systemtap/staprun "$run/stores/$1" && rm -rf /etc/systemtap/staprun
}
"$top/stap-authorize-cert" "$work/A/stap.cert" > "$work/auth.log" 2>&1 ||
	setup_failed "stap-authorize-cert A: $(cat "$work/auth.log")"
take_store a || setup_failed "no store a"
# SystemTap's tool exits 1 after making an sql store (ref §4.5); the store is what counts
"$deb/stap-authorize-cert" "$work/C/stap.cert" /etc/systemtap/staprun > "$work/auth.log" 2>&1
[ -f /etc/systemtap/staprun/cert9.db ] || setup_failed "Debian's stap-authorize-cert made no store: $(cat "$work/auth.log")"
take_store deb || setup_failed "no store deb"
# what Debian's staprun 4.8 needs to read a store at all: the legacy names
cp -a "$run/stores/a" "$run/stores/a48"
for f in cert8.db key3.db secmod.db; do : > "$run/stores/a48/$f"; chmod 0644 "$run/stores/a48/$f"; done

# --- our compile server: the end-to-end path ---------------------------------
export STAP_PR11197_OVERRIDE=1
srv=$work/srv
mkdir -p "$srv/home" "$srv/tmp" "$work/client"
env HOME="$srv/home" SYSTEMTAP_DIR="$srv/stapdir" TMPDIR="$srv/tmp" \
	SYSTEMTAP_TAPSET="$top/tapset" SYSTEMTAP_RUNTIME="$top/runtime/kernel" \
	"$top/stap-serverd" --listen 127.0.0.1 --port 0 -r "$kver" --log "$work/server.log" \
	> "$work/server.out" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 300); do
	port=$(grep 'Using network address' "$work/server.log" 2> /dev/null | tail -n 1 | sed -E 's/.*\]:([0-9]+)$/\1/')
	[ -n "$port" ] && break
	kill -0 "$server_pid" 2> /dev/null || break
	sleep 0.1
done
[ -n "$port" ] || setup_failed "stap-serverd did not start: $(cat "$work/server.out")"
client() { (cd "$work/client" && HOME="$work/client" "$top/stap" --use-server="127.0.0.1:$port" "$@"); }
client --trust-servers=ssl,signer,no-prompt > "$work/trust.log" 2>&1 ||
	setup_failed "stap --trust-servers=ssl,signer: $(cat "$work/trust.log")"
take_store server || setup_failed "stap --trust-servers=signer made no store"
mkdir -p "$mods/srv"
# below stapdev a client may not choose the name (-m): the server's is kept
client -r "$kver" -p4 --privilege=stapusr \
	-e 'probe begin { println("server ok") exit() }' > "$work/srv1.out" 2> "$work/srv1.log" ||
	setup_failed "server build (stapusr): $(cat "$work/srv1.log")"
srvmod=$(basename "$(head -n 1 "$work/srv1.out")" .ko)
[[ $srvmod =~ ^stap_[A-Za-z0-9_]+$ ]] || setup_failed "server build (stapusr): no module name in '$(cat "$work/srv1.out")'"
client -r "$kver" -p4 -m stap_pr_srvdev \
	-e 'probe begin { println("server dev") exit() }' > "$work/srv2.log" 2>&1 ||
	setup_failed "server build (stapdev): $(cat "$work/srv2.log")"
cp "$work/client/$srvmod.ko" "$work/client/$srvmod.ko.sgn" "$work/client/stap_pr_srvdev.ko" "$mods/srv/" ||
	setup_failed "the server returned no signed stapusr module"
[ ! -e "$work/client/stap_pr_srvdev.ko.sgn" ] || setup_failed "the server signed a stapdev module"
mkdir -p "$mods/srvnosig" && cp "$work/client/$srvmod.ko" "$mods/srvnosig/"
echo "$srvmod" > "$mods/srv/name"
# SystemTap's own 4.8 client through our server: a signed stapusr module
# with the 4.x transport, for Debian's staprun to verify in the guest
dstap() {
	(cd "$work/dclient" && env HOME="$work/dclient" SYSTEMTAP_DIR="$work/dclient/.systemtap" \
		TMPDIR="$work/dclient" /usr/bin/stap --use-server="127.0.0.1:$port" "$@")
}
mkdir -p "$work/dclient"
dstap --trust-servers=ssl,no-prompt > "$work/dtrust.log" 2>&1 ||
	setup_failed "Debian's stap --trust-servers=ssl: $(cat "$work/dtrust.log")"
dstap -r "$kver" -p4 --privilege=stapusr -e 'probe begin { println("v4 server ok") exit() }' \
	> "$work/dsrv.out" 2> "$work/dsrv.log" || setup_failed "Debian's client build: $(cat "$work/dsrv.log")"
dmod=$(basename "$(head -n 1 "$work/dsrv.out")" .ko)
mkdir -p "$mods/dsrv" && cp "$work/dclient/$dmod.ko" "$work/dclient/$dmod.ko.sgn" "$mods/dsrv/" ||
	setup_failed "Debian's client got no signed module from our server"
echo "$dmod" > "$mods/dsrv/name"
kill -TERM "$server_pid"; wait "$server_pid" 2> /dev/null; server_pid=""

# --- test modules (our translator, for the guest's kernel) -------------------
mkdir -p "$work/build"
build() {	# NAME PRIVILEGE SCRIPT [STAP OPTIONS...]
	local name=$1 priv=$2 script=$3
	shift 3
	mkdir -p "$work/build/$name"
	(cd "$work/build/$name" && SYSTEMTAP_RUNTIME="$top/runtime/kernel" "$top/stap" \
		--tapset-dir="$top/tapset" -r "$kver" -p4 -m "$name" --privilege="$priv" "$@" -e "$script" \
		> build.log 2>&1) || { echo "build of $name failed: $(tail -n 5 "$work/build/$name/build.log")"; return 1; }
}
long='global n probe begin { println("started") } probe timer.ms(50) { n++ } probe end { println("end") }'
builds=(
	"stap_pr_usr|stapusr|probe begin { println(\"usr ok\") exit() }"
	"stap_pr_sys|stapsys|probe begin { println(\"sys ok\") exit() }"
	"stap_pr_dev|stapdev|probe begin { println(\"dev ok\") exit() }"
	"stap_pr_nosec|stapusr|probe begin { println(\"nosec ok\") exit() }"
	"stap_pr_x10|stapusr|probe begin { println(\"x10 ran\") exit() }"
	"stap_pr_b8|stapusr|probe begin { println(\"b8 ran\") exit() }"
	"stap_pr_bid|stapusr|probe begin { println(\"bid ran\") exit() }"
	"stap_pr_glob|stapusr|global g = 1 probe begin { printf(\"g=%d\\n\", g) exit() }"
	"stap_pr_long|stapusr|$long"
	"stap_pr_lon2|stapusr|$long"
	"stap_pr_bless|stapdev|probe begin { println(\"blessed copy\") exit() }"
	"stap_pr_err|stapusr|probe begin { error(\"x\") }"
	"stap_pr_div|stapusr|global z probe begin { println(1 / z) }"
	"stap_pr_arr|stapusr|global a[3] probe begin { for (i = 0; i < 4; i++) a[i] = i; exit() }"
	"stap_pr_maxact|stapusr|probe begin { while (1) { } }"
	"ext4|stapusr|probe begin { println(\"squatter\") exit() }"
	"stap_pr_badkp|stapdev|probe kprobe.function(\"kprobe_int3_handler\") { } probe begin { println(\"badkp started\") }"
)
pids=()
for b in "${builds[@]}"; do
	IFS='|' read -r name priv script <<< "$b"
	build "$name" "$priv" "$script" &
	pids+=($!)
	[ ${#pids[@]} -ge 2 ] && { wait "${pids[0]}"; pids=("${pids[@]:1}"); }
done
build stap_pr_v4 stapusr 'probe begin { println("v4 ok") exit() }' -DSTP_TRANSPORT_V4 &
pids+=($!)
mkdir -p "$work/build/user"
(cd "$work/build/user" && SYSTEMTAP_RUNTIME="$top/runtime/kernel" "$top/stap" --tapset-dir="$top/tapset" \
	-r "$kver" -p4 -m stap_pr_bless -e 'probe begin { println("user copy") exit() }' > build.log 2>&1) ||
	setup_failed "build of the user's stap_pr_bless failed"
wait "${pids[@]}"
for b in "${builds[@]}" "stap_pr_v4"; do
	name=${b%%|*}
	[ -f "$work/build/$name/$name.ko" ] || setup_failed "no $name.ko"
	cp "$work/build/$name/$name.ko" "$mods/"
done
cp "$work/build/user/stap_pr_bless.ko" "$mods/stap_pr_bless.user.ko"

# section edits (ref §10 cases 17, 18, 52), then signatures over the result
printf '\x10\x00\x00\x00' > "$work/p10"
printf '\x02\x00\x00\x00\x00\x00\x00\x00' > "$work/p8"
printf '%040d\0' 0 > "$work/bid"
objcopy --rename-section .stap_privilege=.stap_privilegx "$mods/stap_pr_nosec.ko" &&
	objcopy --update-section .stap_privilege="$work/p10" "$mods/stap_pr_x10.ko" &&
	objcopy --update-section .stap_privilege="$work/p8" "$mods/stap_pr_b8.ko" &&
	objcopy --update-section .stap_kernel_build_id="$work/bid" "$mods/stap_pr_bid.ko" ||
	setup_failed "objcopy failed"
sign() {	# DB MODULE [options]
	"$top/stap-sign-module" "$2" "$1" "${@:3}" > "$work/sign.log" 2>&1 ||
		setup_failed "stap-sign-module $2: $(cat "$work/sign.log")"
}
for m in usr sys nosec x10 b8 bid glob long lon2 err div arr maxact v4; do
	sign "$work/A" "$mods/stap_pr_$m.ko"
done
sign "$work/A" "$mods/ext4.ko"
cp "$mods/stap_pr_dev.ko" "$mods/stap_pr_devs.ko.tmp"
mkdir -p "$mods/devs" && mv "$mods/stap_pr_devs.ko.tmp" "$mods/devs/stap_pr_dev.ko" && sign "$work/A" "$mods/devs/stap_pr_dev.ko"
# copies of stap_pr_usr with one thing wrong each, in their own directories
copy_usr() { mkdir -p "$mods/$1" && cp "$mods/stap_pr_usr.ko" "$mods/$1/"; }
copy_usr b && sign "$work/B" "$mods/b/stap_pr_usr.ko"
# one byte of the translator's version string changed: still a valid module
tamper() {
	local off
	off=$(readelf -S -W "$1" | sed -nE 's/.*\] \.stap_version +PROGBITS +[0-9a-f]+ ([0-9a-f]+) .*/\1/p')
	[ -n "$off" ] || setup_failed "no .stap_version in $1"
	printf 'X' | dd of="$1" bs=1 seek=$((16#$off)) conv=notrunc status=none
}
copy_usr alt && cp "$mods/stap_pr_usr.ko.sgn" "$mods/alt/" && tamper "$mods/alt/stap_pr_usr.ko"
copy_usr garb && head -c 512 /dev/urandom > "$mods/garb/stap_pr_usr.ko.sgn"
copy_usr sgnd && mkdir "$mods/sgnd/stap_pr_usr.ko.sgn"
copy_usr sgne && : > "$mods/sgne/stap_pr_usr.ko.sgn"
copy_usr sgnf		# the FIFO is made in the guest
copy_usr dsha1 && timeout 120 "$deb/stap-sign-module" "$mods/dsha1/stap_pr_usr.ko" "$work/C" > "$work/sign.log" 2>&1
[ -s "$mods/dsha1/stap_pr_usr.ko.sgn" ] || setup_failed "Debian's stap-sign-module: $(cat "$work/sign.log")"
openssl x509 -inform DER -in "$work/C/stap.cert" -pubkey -noout > "$work/C.pub"
openssl dgst -sha1 -verify "$work/C.pub" -signature "$mods/dsha1/stap_pr_usr.ko.sgn" "$mods/dsha1/stap_pr_usr.ko" > /dev/null ||
	setup_failed "Debian's signature is not SHA-1"
copy_usr dsha256 && sign "$work/C" "$mods/dsha256/stap_pr_usr.ko"	# SystemTap's key, SHA-256 (as SystemTap 5.5+)
openssl dgst -sha256 -verify "$work/C.pub" -signature "$mods/dsha256/stap_pr_usr.ko.sgn" "$mods/dsha256/stap_pr_usr.ko" > /dev/null ||
	setup_failed "the SHA-256 signature with SystemTap's key does not verify"
mkdir -p "$mods/v4alt" && cp "$mods/stap_pr_v4.ko" "$mods/stap_pr_v4.ko.sgn" "$mods/v4alt/" &&
	tamper "$mods/v4alt/stap_pr_v4.ko"

# --- the guest's files ---------------------------------------------------------
cp "$top/staprun" "$top/stapio" "$root/opt/stapcs/bin/"
chown 0:900 "$root/opt/stapcs/bin/staprun" && chmod 4750 "$root/opt/stapcs/bin/staprun"
chmod 0755 "$root/opt/stapcs/bin/stapio"
cat > "$root/etc/passwd" << 'EOF'
root:x:0:0:root:/root:/bin/sh
uu:x:1001:1001:stapusr:/tmp:/bin/sh
us:x:1002:1002:stapsys:/tmp:/bin/sh
ud:x:1003:1003:stapdev:/tmp:/bin/sh
un:x:1004:1004:none:/tmp:/bin/sh
uu2:x:1005:1005:stapusr 2:/tmp:/bin/sh
EOF
cat > "$root/etc/group" << 'EOF'
root:x:0:
stapusr:x:900:uu,us,ud,uu2
stapsys:x:901:us
stapdev:x:902:ud
uu:x:1001:
us:x:1002:
ud:x:1003:
un:x:1004:
uu2:x:1005:
EOF
mkdir -p "$root/etc/systemtap" "$root/lib/modules/$kver/systemtap"
cp -a "$run/stores/a" "$root/etc/systemtap/staprun"
cp "$mods/stap_pr_bless.ko" "$root/lib/modules/$kver/systemtap/"
chmod 0644 "$root/lib/modules/$kver/systemtap/stap_pr_bless.ko"
chown -R 0:0 "$root/etc" "$root/lib" "$root/opt/stapcs/bin/stapio"
chmod 0755 "$root/etc" "$root/etc/systemtap" "$root/lib" "$root/lib/modules" "$root/lib/modules/$kver" \
	"$root/lib/modules/$kver/systemtap" "$root/opt" "$root/opt/stapcs" "$root/opt/stapcs/bin"
gcc -O2 -Wall -Werror -o "$run/runas" "$here/runas.c" || setup_failed "cannot build runas"
s=$top/runtime/staprun
gcc -O2 -Wall -Werror -I"$s" -I"$top/runtime/kernel" -DSTP_USER_TEST -o "$run/ctl" "$here/ctl.c" \
	"$s/common.c" "$s/transport_user.c" || setup_failed "cannot build ctl"
cp "$here/as" "$run/as"
cp "$store/$kver/image/lib/modules/$kver/kernel/drivers/net/dummy.ko" "$run/" || setup_failed "no dummy.ko"
echo /usr/bin/staprun > "$run/hostfiles"
dpkg -L systemtap-runtime | grep '/stapio$' | head -n 1 >> "$run/hostfiles"
cat > "$run/lib.sh" << 'EOF'
# sourced by every case (tests/privilege/run.sh)
SR=/opt/stapcs/bin/staprun
KREL=$(uname -r)
BLESS=/lib/modules/$KREL/systemtap
as() { /test/as "$@"; }
setstore() { rm -rf /etc/systemtap/staprun && cp -a "/test/stores/$1" /etc/systemtap/staprun; }
loaded() { grep -q "^$1 " /proc/modules; }
# waits (at most 30 s) until file $1 holds $2 (remove $1 before starting
# the writer: a redirection truncates it only once the writer runs)
wait_for() { i=0; while ! grep -q "$2" "$1" 2>/dev/null && [ $i -lt 60 ]; do sleep 0.5; i=$((i+1)); done; }
userdir() { mkdir -p /tmp/uu && chown 1001:1001 /tmp/uu; }
EOF
cat > "$run/one" << 'EOF'
#!/bin/sh
# one NAME: runs case NAME, then makes sure no stap_ module is left
cd /test
( . /test/lib.sh; . "/test/cases/$1.sh" )
rc=$?
left=$(grep -o '^stap_[A-Za-z0-9_]*' /proc/modules)
if [ -n "$left" ]; then
	# a failed case must not spoil the next: stop its stapio, then unload
	echo "MODULE LEFT LOADED: $left" >&2
	killall -KILL stapio 2>/dev/null; sleep 1
	for m in $(grep -o '^stap_[A-Za-z0-9_]*' /proc/modules); do rmmod "$m" 2>/dev/null; done
fi
setstore_default() { rm -rf /etc/systemtap/staprun && cp -a /test/stores/a /etc/systemtap/staprun; }
setstore_default
exit $rc
EOF
chmod 0755 "$run/one" "$run/as"

# --- the cases -----------------------------------------------------------------
# case_ NAME STATUS STDOUT STDERR <<< body: STDOUT and STDERR are patterns
# the output must contain ("" = anything); STDERR may hold several
# patterns separated by " && ", each "!..." one that must be absent.
names=()
declare -A want_status want_out want_err
case_() {
	names+=("$1"); want_status[$1]=$2; want_out[$1]=$3; want_err[$1]=$4
	cat > "$run/cases/$1.sh"
}
. "$here/cases.sh"

: > "$run/runlist"
for n in "${names[@]}"; do
	printf '@120 /test/one %s\n' "$n" >> "$run/runlist"
done
"$top/tests/vm/run.sh" --kver "$kver" --timeout 1500 "$run" > "$work/vm.log" 2>&1
vmrc=$?

# --- checks --------------------------------------------------------------------
pass=0 fail=0 i=0
for n in "${names[@]}"; do
	i=$((i + 1))
	out=$run/out/$i.stdout err=$run/out/$i.stderr st=$run/out/$i.status why=""
	if [ ! -f "$st" ]; then
		why="did not finish (VM status $vmrc)"
	elif [ "$(cat "$st")" != "${want_status[$n]}" ]; then
		why="exit status $(cat "$st"), expected ${want_status[$n]}"
	elif [ -n "${want_out[$n]}" ] && ! grep -qF -- "${want_out[$n]}" "$out"; then
		why="stdout lacks '${want_out[$n]}'"
	elif grep -q 'MODULE LEFT LOADED' "$err"; then
		why="$(grep 'MODULE LEFT LOADED' "$err")"
	else
		spec=${want_err[$n]}
		while [ -n "$spec" ]; do
			pat=${spec%% && *}
			[ "$pat" = "$spec" ] && spec="" || spec=${spec#* && }
			if [ "${pat#!}" != "$pat" ]; then
				grep -qF -- "${pat#!}" "$err" && { why="stderr has '${pat#!}'"; break; }
			elif ! grep -qF -- "$pat" "$err"; then
				why="stderr lacks '$pat'"; break
			fi
		done
	fi
	if [ -z "$why" ]; then
		pass=$((pass + 1)); echo "PASS $n"
	else
		fail=$((fail + 1)); echo "FAIL $n: $why"
		sed 's/^/    | /' "$out" 2> /dev/null | head -n 6
		sed 's/^/    ! /' "$err" 2> /dev/null | head -n 6
	fi
done
[ "$vmrc" = 0 ] || { echo "FAIL vm: tests/vm/run.sh exit $vmrc"; tail -n 5 "$work/vm.log"; fail=$((fail + 1)); }
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
