#!/usr/bin/env bash
# tests/server/run.sh: our stap-serverd on 127.0.0.1 with real NSS TLS.
# Debian's SystemTap 4.8 client (/usr/bin/stap) and our own stap compile
# through it; hostile requests (tests/server/rawclient, mkzip) get clear
# refusals while the server goes on serving; 100 concurrent clients; the
# module cache across a restart; no temporary directory left behind; a
# module signed with a MOK checked as the kernel reads it (modsig.sh).
#
#   tests/server/run.sh [--keep DIR]
#
# Ends with "N passed, N failed"; exit 0 when none failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
kver=${STAP_KVER:-6.1.0-56-amd64}
keep=""
[ "${1:-}" = --keep ] && keep=$2
work=${keep:-$(mktemp -d "${TMPDIR:-/tmp}/srvtest.XXXXXX")}
mkdir -p "$work"
server_pid=""

cleanup() {
	[ -n "$server_pid" ] && kill -TERM "$server_pid" 2> /dev/null
	[ -n "$server_pid" ] && wait "$server_pid" 2> /dev/null
	jobs -p | xargs -r kill 2> /dev/null
	[ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT

. "$top/tests/lib/check.sh"
check_out=$work/check.out

raw=$top/tests/server/rawclient
mkzip=$top/tests/server/mkzip
for t in "$top/stap-serverd" "$raw" "$mkzip"; do
	[ -x "$t" ] || { echo "server-test: $t not built"; echo "0 passed, 1 failed"; exit 1; }
done
"$top/scripts/stap-prep" "$kver" > "$work/prep.log" 2>&1 ||
	{ cat "$work/prep.log"; echo "0 passed, 1 failed"; exit 1; }

# --- the server ------------------------------------------------------------
export STAP_PR11197_OVERRIDE=1	# the tests run as root
srv=$work/srv
mkdir -p "$srv/home" "$srv/tmp"
port=""
start_server() {
	local starts
	starts=$(cat "$work/server.log" 2> /dev/null | grep -c 'Using network address')
	: > "$work/server.out"
	env HOME="$srv/home" SYSTEMTAP_DIR="$srv/stapdir" TMPDIR="$srv/tmp" \
		SYSTEMTAP_TAPSET="$top/tapset" SYSTEMTAP_RUNTIME="$top/runtime/kernel" \
		"$top/stap-serverd" --listen 127.0.0.1 --port "${port:-0}" -r "$kver" \
		--log "$work/server.log" --idle-timeout 3 --read-timeout 10 \
		--max-threads 2 "$@" > "$work/server.out" 2>&1 &
	server_pid=$!
	wait_log "$work/server.log" 'Using network address' $((starts + 1)) "$server_pid"
	port=$(grep 'Using network address' "$work/server.log" | tail -n 1 | sed -E 's/.*\]:([0-9]+)$/\1/')
	[ -n "$port" ] || { cat "$work/server.out" "$work/server.log"; echo "0 passed, 1 failed"; exit 1; }
}
stop_server() {
	kill -TERM "$server_pid"
	wait "$server_pid"
	local rc=$?
	server_pid=""
	return $rc
}
start_server
cert=$srv/stapdir/ssl/server/stap.cert
openssl x509 -inform DER -in "$cert" -pubkey -noout > "$work/pub.pem"

# --- Debian's SystemTap 4.8 client ------------------------------------------
cli=$work/cli
mkdir -p "$cli/home"
dstap() {	# runs Debian's stap as a client with its own trust store
	env HOME="$cli/home" SYSTEMTAP_DIR="$cli/home/.systemtap" TMPDIR="$cli" \
		/usr/bin/stap --use-server="127.0.0.1:$port" "$@"
}
if [ -x /usr/bin/stap ] && /usr/bin/stap -V 2>&1 | grep -q 'version 4.8'; then
	dstap -p2 -e 'probe begin { exit() }' > "$work/untrusted.out" 2>&1
	rc=$?
	check debian-untrusted-refused test "$rc" -ne 0 -a -n "$(grep -l 'Unable to connect to a server' "$work/untrusted.out")"

	dstap --trust-servers=ssl,no-prompt > "$work/trust.out" 2>&1
	check debian-trust-probe grep -q 'Trust probe' "$work/server.log"
	check debian-trust-store sh -c "certutil -L -d sql:$cli/home/.systemtap/ssl/client | grep -q stap-server"

	dstap -r "$kver" -p2 -e 'probe begin { printf("hello\n"); exit() }' > "$work/p2.out" 2> "$work/p2.err"
	check debian-p2 grep -q 'begin' "$work/p2.out"

	dstap -r "$kver" -p2 -e 'probe begin { x = }' > "$work/perr.out" 2> "$work/perr.err"
	rc=$?
	check debian-parse-error sh -c "[ $rc -ne 0 ] && grep -q 'parse error' '$work/perr.err'"

	mkdir -p "$work/d4" && cd "$work/d4"
	dstap -r "$kver" -p4 -e 'probe begin { printf("hello\n"); exit() }' > "$work/p4.out" 2> "$work/p4.err"
	rc=$?
	ko=$(head -n 1 "$work/p4.out")
	check debian-p4 sh -c "[ $rc -eq 0 ] && [ -f '$ko' ] && readelf -W -S '$ko' | grep -q stap_privilege"
	check debian-p4-prints-module-name-only sh -c "[ \$(wc -l < '$work/p4.out') -eq 1 ] && grep -qE '^stap_[0-9a-f]+\.ko\$' '$work/p4.out'"
	cp "$ko" "$work/first.ko" 2> /dev/null
	dstap -r "$kver" -p4 -e 'probe begin { printf("hello\n"); exit() }' > "$work/p4b.out" 2> "$work/p4b.err"
	check cache-hit sh -c "grep 'complete' '$work/server.log' | tail -n 1 | grep -q 'from the cache' && cmp -s '$work/first.ko' \"\$(head -n 1 '$work/p4b.out')\""

	mkdir -p "$work/usr" && cd "$work/usr"
	dstap -r "$kver" -p4 --privilege=stapusr -e 'probe begin { printf("hi\n"); exit() }' > "$work/usr.out" 2> "$work/usr.err"
	ko=$(head -n 1 "$work/usr.out")
	check debian-stapusr-signed sh -c "[ -f '$ko.sgn' ] && [ \$(stat -c %s '$ko.sgn') -eq 512 ] && openssl dgst -sha256 -verify '$work/pub.pem' -signature '$ko.sgn' '$ko' | grep -q 'Verified OK'"
	check stapusr-privilege-section sh -c "objcopy -O binary --only-section=.stap_privilege '$ko' '$work/priv.bin' && [ \"\$(od -An -tx1 '$work/priv.bin' | tr -d ' \n')\" = 02000000 ]"
	cd "$work"

	# a request of about 30 entries (a script, a -I tree, 20 options):
	# over SystemTap's 5000-byte default, well within ours
	mkdir -p "$work/itree"
	for i in $(seq 1 20); do echo "function f$i() { return $i }" > "$work/itree/t$i.stp"; done
	defs=()
	for i in $(seq 1 20); do defs+=("-DDEF$i=$i"); done
	dstap -r "$kver" -p2 -I "$work/itree" "${defs[@]}" -e 'probe begin { println(f3() + f20()) exit() }' > "$work/big30.out" 2> "$work/big30.err"
	rc=$?
	check thirty-entry-request sh -c "[ $rc -eq 0 ] && grep -B2 'Options passed from the client: -I tapset' '$work/server.log' | grep -E 'Request from .*: [0-9]+ bytes' | awk '{ if (\$(NF-1) > 5000) big = 1 } END { exit !big }'"

	# Secure Boot (ref cases 11, 12): a fake mokutil says which keys are enrolled
	mkdir -p "$work/fakebin" "$work/mok1" "$work/mok2"
	printf '#!/bin/sh\ncat "%s"\n' "$work/mokutil.txt" > "$work/fakebin/mokutil"
	chmod +x "$work/fakebin/mokutil"
	printf '[key 1]\nSHA1 Fingerprint: 11:22:33:44\nCertificate:\n    Data:\n        Issuer: O=Other vendor, CN=Their key\n' > "$work/mokutil.txt"
	(cd "$work/mok1" && PATH="$work/fakebin:$PATH" SYSTEMTAP_SIGN=1 dstap -r "$kver" -p4 \
		-e 'probe begin { println("mok") exit() }' > "$work/mok1.out" 2> "$work/mok1.err")
	rc=$?
	check mok-none-in-common sh -c "[ $rc -ne 0 ] && [ -s '$work/mok1/signing_key.x509' ] &&
		grep -q 'No matching machine owner key (MOK) available on the server' '$work/mok1.err' &&
		grep -q 'mokutil --import signing_key.x509' '$work/mok1.err'"
	fp=$(openssl x509 -inform DER -in "$work/mok1/signing_key.x509" -noout -fingerprint -sha1 2> /dev/null |
		sed 's/.*=//' | tr 'A-F' 'a-f')
	check mok-offered-is-servers test -n "$fp" -a -d "$srv/stapdir/ssl/server/moks/$fp"
	printf '[key 1]\nSHA1 Fingerprint: %s\nCertificate:\n    Data:\n        Issuer: O=Systemtap, CN=Systemtap module signing key\n' "$fp" > "$work/mokutil.txt"
	(cd "$work/mok2" && PATH="$work/fakebin:$PATH" SYSTEMTAP_SIGN=1 dstap -r "$kver" -p4 \
		-e 'probe begin { println("mok") exit() }' > "$work/mok2.out" 2> "$work/mok2.err")
	rc=$?
	ko=$work/mok2/$(head -n 1 "$work/mok2.out")
	check mok-signed sh -c "[ $rc -eq 0 ] && [ -f '$ko' ] && grep -q 'Module signed with MOK, fingerprint \"$fp\"' '$work/mok2.err' &&
		[ \"\$(tail -c 28 '$ko')\" = '~Module signature appended~' ]"
	# the appended signature as the kernel reads it, checked field by field
	# and verified with the MOK the server offered (tests/server/modsig.sh)
	ms=$here/modsig.sh sd=$work/modsig mokcert=$work/mok1/signing_key.x509
	check mok-offered-cert-is-signing-cert cmp "$mokcert" "$srv/stapdir/ssl/server/moks/$fp/signing_key.x509"
	check mok-sig-trailer "$ms" split "$ko" "$sd"
	check mok-sig-original-module "$ms" module "$sd"
	check mok-sig-pkcs7 "$ms" cms "$sd"
	check mok-sig-signer-is-clients-mok "$ms" signer "$sd" "$mokcert" "$fp"
	check mok-sig-verifies "$ms" verify "$sd" "$mokcert"
	check mok-sig-one-byte-changed-fails "$ms" altered "$sd" "$mokcert"
	check mok-sig-other-key-fails "$ms" otherkey "$sd" "$mokcert"

	# revoking by the certificate's serial (ref case 28), then trusting again
	serial=$(grep -o 'Certificate [0-9a-f:]* in' "$work/server.log" | head -n 1 | cut -d' ' -f2)
	env HOME="$cli/home" SYSTEMTAP_DIR="$cli/home/.systemtap" TMPDIR="$cli" \
		/usr/bin/stap --use-server="$serial" --trust-servers=revoke,no-prompt > "$work/revoke.out" 2>&1
	check debian-revoke-by-serial sh -c "! certutil -L -d sql:$cli/home/.systemtap/ssl/client 2>/dev/null | grep -q stap-server"
	dstap --trust-servers=ssl,no-prompt > "$work/trust2.out" 2>&1

	dstap -r 5.10.0-99-amd64 -p2 -e 'probe begin { exit() }' > "$work/unk.out" 2> "$work/unk.err"
	rc=$?
	check unknown-kernel sh -c "[ $rc -ne 0 ] && grep -q 'not supported by this server' '$work/unk.err' && grep -q '$kver' '$work/unk.err'"
else
	echo "server-test: Debian's SystemTap 4.8 client is not installed: its cases fail"
	fail debian-client "/usr/bin/stap 4.8 missing (package systemtap-client)"
fi

# --- hostile requests ---------------------------------------------------------
# a valid request, to compare against and to check the server still serves
good_req() {	# OUT SCRIPT
	"$mkzip" "$1" "f:version=4.8" "f:sysinfo=sysinfo: $kver x86_64" "f:locale=" \
		"f:argv1=-p2" "f:argv2=-e$2"
}
answer() {	# ZIP ENTRY: prints an entry of a response
	unzip -p "$1" "$2" 2> /dev/null
}
serves() {	# the server still answers a good request with rc 0
	good_req "$work/ok.zip" "probe begin { exit() }"
	"$raw" 127.0.0.1 "$port" "$work/ok.zip" > "$work/ok.resp" 2> /dev/null &&
		[ "$(answer "$work/ok.resp" rc)" = 0 ]
}
refused() {	# NAME RESPONSE PATTERN: rc 1, the pattern in stderr, server still serving
	local n=$1 r=$2 pat=$3
	if [ "$(answer "$r" rc)" = 1 ] && answer "$r" stderr | grep -q -- "$pat" && serves; then
		pass "$n"
	else
		fail "$n" "rc=$(answer "$r" rc) stderr=$(answer "$r" stderr | head -c 300)"
	fi
}

check good-request serves
"$raw" --len -1 127.0.0.1 "$port" "$work/ok.zip" > "$work/neg.resp" 2> /dev/null
refused negative-length "$work/neg.resp" 'negative'
"$raw" --len 0x7fffffff 127.0.0.1 "$port" "$work/ok.zip" > "$work/huge.resp" 2> /dev/null
refused two-gib-length "$work/huge.resp" 'accepts at most'
head -c 3000 /dev/urandom > "$work/garbage"
"$raw" 127.0.0.1 "$port" "$work/garbage" > "$work/garbage.resp" 2> /dev/null
refused not-a-zip "$work/garbage.resp" 'refused'
"$mkzip" "$work/dotdot.zip" "f:version=4.8" "f:sysinfo=sysinfo: $kver x86_64" "f:argv1=-p2" "f:../../etc/x=evil"
"$raw" 127.0.0.1 "$port" "$work/dotdot.zip" > "$work/dotdot.resp" 2> /dev/null
refused dotdot-entry "$work/dotdot.resp" 'refused'
"$mkzip" "$work/abs.zip" "f:version=4.8" "f:sysinfo=sysinfo: $kver x86_64" "f:/etc/x=evil"
"$raw" 127.0.0.1 "$port" "$work/abs.zip" > "$work/abs.resp" 2> /dev/null
refused absolute-entry "$work/abs.resp" 'refused'
"$mkzip" "$work/link.zip" "f:version=4.8" "f:sysinfo=sysinfo: $kver x86_64" "f:argv1=-p2" "l:argv2=/etc/hostname"
"$raw" 127.0.0.1 "$port" "$work/link.zip" > "$work/link.resp" 2> /dev/null
refused symlink-entry "$work/link.resp" 'refused'
"$mkzip" "$work/dev.zip" "f:version=4.8" "f:sysinfo=sysinfo: $kver x86_64" "c:script/dev"
"$raw" 127.0.0.1 "$port" "$work/dev.zip" > "$work/dev.resp" 2> /dev/null
refused device-entry "$work/dev.resp" 'refused'
"$mkzip" "$work/dup.zip" "f:version=4.8" "f:sysinfo=sysinfo: $kver x86_64" "f:argv1=-p2" "f:argv1=-p4"
"$raw" 127.0.0.1 "$port" "$work/dup.zip" > "$work/dup.resp" 2> /dev/null
refused duplicate-entry "$work/dup.resp" 'refused'
"$mkzip" "$work/bomb.zip" "f:version=4.8" "f:sysinfo=sysinfo: $kver x86_64" "z:script/bomb=200000000"
"$raw" 127.0.0.1 "$port" "$work/bomb.zip" > "$work/bomb.resp" 2> /dev/null
refused zip-bomb "$work/bomb.resp" 'refused'
"$mkzip" "$work/nosys.zip" "f:version=4.8" "f:argv1=-p2"
"$raw" 127.0.0.1 "$port" "$work/nosys.zip" > "$work/nosys.resp" 2> /dev/null
refused no-sysinfo "$work/nosys.resp" 'sysinfo'

"$mkzip" "$work/ver.zip" "f:version=abc" "f:sysinfo=sysinfo: $kver x86_64" "f:argv1=-p2" "f:argv2=-eprobe begin { exit() }"
"$raw" 127.0.0.1 "$port" "$work/ver.zip" > "$work/ver.resp" 2> /dev/null
check bad-version-served sh -c "[ \"\$(unzip -p '$work/ver.resp' rc)\" = 0 ] && grep -q 'Client version is 1.0' '$work/server.log'"

for opt in "-BCONFIG_X=y" "--tmpdir=/x" "--sign-module=/etc" "-d/etc/passwd" "-R/tmp" "-k" "--use-server=1.2.3.4:5"; do
	"$mkzip" "$work/opt.zip" "f:version=4.8" "f:sysinfo=sysinfo: $kver x86_64" "f:argv1=-p2" "f:argv2=$opt" "f:argv3=-eprobe begin { exit() }"
	"$raw" 127.0.0.1 "$port" "$work/opt.zip" > "$work/opt.resp" 2> /dev/null
	refused "option-refused($opt)" "$work/opt.resp" 'invalid with --client-options'
done
"$mkzip" "$work/path.zip" "f:version=4.8" "f:sysinfo=sysinfo: $kver x86_64" "f:argv1=/etc/passwd" "f:argv2=-p2"
"$raw" 127.0.0.1 "$port" "$work/path.zip" > "$work/path.resp" 2> /dev/null
refused server-file-as-script "$work/path.resp" 'not a file of the request'
"$mkzip" "$work/priv.zip" "f:version=4.8" "f:sysinfo=sysinfo: $kver x86_64" "f:argv1=--privilege=stapusr" "f:argv2=-DFOO=1" "f:argv3=-p2" "f:argv4=-eprobe begin { exit() }"
"$raw" 127.0.0.1 "$port" "$work/priv.zip" > "$work/priv.resp" 2> /dev/null
refused stapusr-with-D "$work/priv.resp" "You can't specify -D when --privilege=stapusr"
"$mkzip" "$work/guru.zip" "f:version=4.8" "f:sysinfo=sysinfo: $kver x86_64" "f:argv1=--unprivileged" "f:argv2=-g" "f:argv3=-p2" "f:argv4=-eprobe begin { exit() }"
"$raw" 127.0.0.1 "$port" "$work/guru.zip" > "$work/guru.resp" 2> /dev/null
refused unprivileged-with-g "$work/guru.resp" "You can't specify -g and --privilege=stapusr together"
# the level must read the same to the server (its limit, cache key and
# signature) and to the translator: an abbreviation or a split form that
# would turn a stapusr request into a guru stapdev build is refused, and
# nothing is built or signed
guru=$'%{\n#include "/etc/hostname"\n%}\nprobe begin { exit() }'
"$mkzip" "$work/abbr.zip" "f:version=4.8" "f:sysinfo=sysinfo: $kver x86_64" "f:argv1=--privilege=stapusr" \
	"f:argv2=--priv=stapdev" "f:argv3=-g" "f:argv4=-p4" "f:argv5=-e$guru"
"$raw" 127.0.0.1 "$port" "$work/abbr.zip" > "$work/abbr.resp" 2> /dev/null
refused privilege-abbreviation "$work/abbr.resp" "give --privilege=LEVEL in full"
check privilege-abbreviation-nothing-built sh -c "! unzip -l '$work/abbr.resp' | grep -Eq '\.ko|\.sgn' && ! answer '$work/abbr.resp' stderr | grep -q \"\$(cat /etc/hostname)\""
"$mkzip" "$work/split.zip" "f:version=4.8" "f:sysinfo=sysinfo: $kver x86_64" "f:argv1=--unprivileged" \
	"f:argv2=--privilege" "f:argv3=stapdev" "f:argv4=-p4" "f:argv5=-eprobe begin { exit() }"
"$raw" 127.0.0.1 "$port" "$work/split.zip" > "$work/split.resp" 2> /dev/null
refused privilege-split-form "$work/split.resp" "give --privilege=LEVEL in full"
# a gap in the argv numbering: what follows it is ignored, as SystemTap does
"$mkzip" "$work/gap.zip" "f:version=4.8" "f:sysinfo=sysinfo: $kver x86_64" "f:argv1=-p2" "f:argv2=-eprobe begin { exit() }" "f:argv4=-BX=1"
"$raw" 127.0.0.1 "$port" "$work/gap.zip" > "$work/gap.resp" 2> /dev/null
check argv-gap-ignored sh -c "[ \"\$(unzip -p '$work/gap.resp' rc)\" = 0 ] && grep 'Options passed from the client' '$work/server.log' | tail -n 1 | grep -qv -- '-BX=1'"
"$mkzip" "$work/loc.zip" "f:version=4.8" "f:sysinfo=sysinfo: $kver x86_64" \
	'f:locale=LC_ALL=$(id)\nLD_PRELOAD=/x\nnoequals\nLANG=C\n' "f:argv1=-p2" "f:argv2=-eprobe begin { exit() }"
"$raw" 127.0.0.1 "$port" "$work/loc.zip" > "$work/loc.resp" 2> /dev/null
check locale-checked sh -c "[ \"\$(unzip -p '$work/loc.resp' rc)\" = 0 ] &&
	unzip -p '$work/loc.resp' stderr | grep -q \"Server: Localization value\" &&
	unzip -p '$work/loc.resp' stderr | grep -q \"Server: Localization key 'LD_PRELOAD' not found in global list\" &&
	unzip -p '$work/loc.resp' stderr | grep -q \"Server: Localization key=value line 'noequals' cannot be parsed\""

# a client that connects and sends nothing, one that stops half-way, one
# that goes away in the middle of the response: others are served meanwhile
"$raw" --idle 6 127.0.0.1 "$port" > /dev/null 2>&1 &
idle_pid=$!
"$raw" --len 1000 --send 100 --wait 12 127.0.0.1 "$port" "$work/ok.zip" > "$work/trunc.resp" 2> /dev/null &
trunc_pid=$!
sleep 0.5
check served-while-idle-client-waits serves
wait "$idle_pid" "$trunc_pid"
check idle-client-timed-out grep -q 'no request: timed out' "$work/server.log"
check truncated-request-logged grep -q 'incomplete request of 1000 bytes' "$work/server.log"
good_req "$work/big.zip" "probe begin { println(\"x\") exit() }"
"$raw" --read 10 127.0.0.1 "$port" "$work/big.zip" > /dev/null 2>&1
check disconnect-mid-response serves

# --- one address cannot take every connection: 128 (half of 256) at once ---
# 128 idle connections from 127.0.0.1 are held (until the 3 s idle timeout);
# the 129th is closed at once; 127.0.0.2 still gets in; afterwards all is well
cat > "$work/flood.py" << 'PY'
import socket, sys, time
port = int(sys.argv[1])
held = []
for _ in range(128):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    held.append(s)
def closed_at_once(src):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(1.0)
    s.connect(("127.0.0.1", port))
    try:
        return s.recv(1) == b""     # EOF: the server closed it
    except socket.timeout:
        return False                # held open: accepted
    except ConnectionResetError:
        return True
    finally:
        s.close()
print("same-address-refused", closed_at_once("127.0.0.1"))
print("other-address-accepted", not closed_at_once("127.0.0.2"))
for s in held:
    s.close()
PY
timeout 60 python3 "$work/flood.py" "$port" > "$work/flood.out" 2>&1
check per-client-connection-limit grep -q 'same-address-refused True' "$work/flood.out"
check per-client-limit-other-address-served grep -q 'other-address-accepted True' "$work/flood.out"
check per-client-limit-logged grep -q 'Too many connections from 127.0.0.1 (128 at once)' "$work/server.log"
sleep 4		# the held connections time out on the server (--idle-timeout 3)
check per-client-limit-then-serves serves

# --- 100 concurrent clients: 50 distinct scripts, 50 repeats ---------------
mkdir -p "$work/many"
for i in $(seq 1 50); do
	good_req "$work/many/$i.zip" "probe begin { println($i) exit() }"
done
pids=()
for i in $(seq 1 100); do
	j=$(( (i - 1) % 50 + 1 ))
	"$raw" 127.0.0.1 "$port" "$work/many/$j.zip" > "$work/many/$i.resp" 2> "$work/many/$i.err" &
	pids+=($!)
done
bad=0
for i in $(seq 1 100); do
	wait "${pids[$((i - 1))]}" || bad=$((bad + 1))
	[ "$(answer "$work/many/$i.resp" rc)" = 0 ] || bad=$((bad + 1))
done
check hundred-concurrent-clients test "$bad" -eq 0
check served-after-concurrency serves

# identical requests in flight are built once
good_req "$work/twin.zip" "probe begin { println(\"twins $$\") exit() }"
"$raw" 127.0.0.1 "$port" "$work/twin.zip" > "$work/twin1.resp" 2> /dev/null &
t1=$!
"$raw" 127.0.0.1 "$port" "$work/twin.zip" > "$work/twin2.resp" 2> /dev/null &
t2=$!
wait "$t1" "$t2"
twin_built=$(grep -A2 "println(\"twins $$\")" "$work/server.log" | grep -c 'rc 0, built')
check identical-requests-built-once sh -c "[ $twin_built -eq 1 ] && [ \"\$(unzip -p '$work/twin1.resp' rc)\" = 0 ] && [ \"\$(unzip -p '$work/twin2.resp' rc)\" = 0 ]"

# --- our own client --------------------------------------------------------------
ours=$work/ours
mkdir -p "$ours/home/.systemtap/ssl" "$ours/run"
ostap() {
	(cd "$ours/run" && env HOME="$ours/home" SYSTEMTAP_DIR="$ours/home/.systemtap" \
		"$top/stap" --use-server="127.0.0.1:$port" "$@")
}
ostap --trust-servers=ssl,no-prompt > "$work/otrust.out" 2>&1
check our-client-trust sh -c "certutil -L -d sql:$ours/home/.systemtap/ssl/client | grep -q stap-server"
ostap -r "$kver" -p4 -e 'probe begin { printf("ours\n"); exit() }' > "$work/op4.out" 2> "$work/op4.err"
check our-client-p4 sh -c "ko=\$(head -n 1 '$work/op4.out'); [ -f '$ours/run/'\$ko ] && readelf -W -S '$ours/run/'\$ko | grep -q stap_kernel_build_id"

if [ -n "${fp:-}" ]; then
	mkdir -p "$ours/mok"
	(cd "$ours/mok" && env HOME="$ours/home" SYSTEMTAP_DIR="$ours/home/.systemtap" \
		PATH="$work/fakebin:$PATH" SYSTEMTAP_SIGN=1 "$top/stap" --use-server="127.0.0.1:$port" \
		-r "$kver" -p4 -e 'probe begin { println("our mok") exit() }' > "$work/omok.out" 2> "$work/omok.err")
	rc=$?
	ko=$ours/mok/$(head -n 1 "$work/omok.out")
	check our-client-mok-signed sh -c "[ $rc -eq 0 ] && [ \"\$(tail -c 28 '$ko')\" = '~Module signature appended~' ]"
	check our-client-mok-sig-verifies sh -c "'$ms' split '$ko' '$work/omodsig' && '$ms' module '$work/omodsig' &&
		'$ms' cms '$work/omodsig' && '$ms' signer '$work/omodsig' '$mokcert' '$fp' && '$ms' altered '$work/omodsig' '$mokcert'"
fi

# --- restart: the cache survives; clean shutdown; nothing left behind -----------
check clean-shutdown stop_server
check shutdown-logged grep -q 'Server stopped' "$work/server.log"
left=$(find "$srv/tmp" -maxdepth 1 -name 'stap-server.*' | wc -l)
check no-temp-dirs-left test "$left" -eq 0
start_server
good_req "$work/again.zip" "probe begin { println(1) exit() }"
"$raw" 127.0.0.1 "$port" "$work/again.zip" > "$work/again.resp" 2> /dev/null
check cache-survives-restart sh -c "grep 'complete' '$work/server.log' | tail -n 1 | grep -q 'from the cache'"
stop_server > /dev/null 2>&1

# the cache stays within --cache-size: least recently used entries go
start_server --cache-size 40K
used=$(find "$srv/stapdir/server-cache" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
check cache-bounded test "$used" -le 40960
stop_server > /dev/null 2>&1

# stap-server: start, status, stop, and the kernel store commands
ctl=$top/server/stap-server
export STAP_SERVER_RUNDIR=$work/run
env HOME="$srv/home" SYSTEMTAP_DIR="$srv/stapdir" TMPDIR="$srv/tmp" \
	SYSTEMTAP_TAPSET="$top/tapset" SYSTEMTAP_RUNTIME="$top/runtime/kernel" \
	"$ctl" start --listen 127.0.0.1 --log "$work/ctl.log" > "$work/ctl.out" 2>&1
ctl_pid=$(tail -n 1 "$work/ctl.out")
check stap-server-start sh -c "kill -0 '$ctl_pid' && '$ctl' status | grep -q 'pid $ctl_pid running'"
check stap-server-list sh -c "'$ctl' list | grep -q '^$kver build-id [0-9a-f]'"
check stap-server-stop sh -c "'$ctl' stop | grep -q 'stopped $ctl_pid' && ! kill -0 '$ctl_pid' 2>/dev/null"
mkdir -p "$work/store/9.9.9-fake"
echo 9.9.9-fake > "$work/store/9.9.9-fake/release"
check stap-server-remove sh -c "STAP_KERNEL_STORE='$work/store' '$ctl' remove 9.9.9-fake && [ ! -e '$work/store/9.9.9-fake' ]"
check stap-server-remove-refuses-paths sh -c "! STAP_KERNEL_STORE='$work/store' '$ctl' remove ../etc 2>/dev/null"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
