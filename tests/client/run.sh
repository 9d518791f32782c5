#!/bin/bash
# tests/client/run.sh -- the thin client (client/remote*.c, server_spec.c,
# trust_cmd.c) through tests/client/remote_driver:
#   * against Debian's SystemTap 4.8 stap-serverd (package systemtap-server),
#   * against tests/client/fakeserver, which replays hostile responses.
# Everything runs inside a private network and mount namespace (only lo,
# /etc/systemtap replaced by a scratch directory), so no traffic leaves
# the machine and no real trust store is touched.  Needs root (or user
# namespaces).  Ends with "N passed, N failed"; exit 1 on any failure.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
drv=${CLIENT_DRIVER:-$top/tests/client/remote_driver}   # CLIENT_DRIVER: e.g. an ASan build
fake=${CLIENT_FAKESERVER:-$top/tests/client/fakeserver}

if [ -z "${STAPCS_CLIENT_NS:-}" ] && ! make -C "$top" -s tests/client/remote_driver \
		tests/client/fakeserver >/dev/null; then
	echo "cannot build the test programs"
	echo "0 passed, 1 failed"
	exit 1
fi
. "$top/tests/lib/netns.sh"
in_private_netns STAPCS_CLIENT_NS "$0" "$@"

# ---- inside the namespace ----
ip link set lo up || { echo "cannot bring lo up"; echo "0 passed, 1 failed"; exit 1; }
scratch=$(mktemp -d /tmp/stapcs-client-test.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir -p "$scratch/etc-systemtap"
mount --bind "$scratch/etc-systemtap" /etc/systemtap || { echo "cannot bind /etc/systemtap"; echo "0 passed, 1 failed"; exit 1; }

chome=$scratch/client-home
cstore=$chome/.systemtap/ssl/client
mkdir -p "$chome" "$scratch/client-tmp" "$scratch/cwd"
export HOME=$chome SYSTEMTAP_DIR=$chome/.systemtap TMPDIR=$scratch/client-tmp
unset STAP_CLIENT_TIMEOUT
# no D-Bus: nothing may reach an Avahi daemon outside the namespace
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent

passed=0
failed=0
out=$scratch/out
err=$scratch/err
cwd=$scratch/cwd

ok() { passed=$((passed + 1)); echo "PASS: $1"; }
bad() {
	failed=$((failed + 1))
	echo "FAIL: $1"
	echo "  --- exit $rc; stdout:"; head -c 3000 "$out" | sed 's/^/    /'
	echo "  --- stderr:"; head -c 3000 "$err" | sed 's/^/    /'
}
# check NAME CONDITION...: one case; the condition is a shell command
check() {
	local name=$1
	shift
	if eval "$@"; then ok "$name"; else bad "$name"; fi
}
has_out() { grep -qF -- "$1" "$out"; }
has_err() { grep -qF -- "$1" "$err"; }
cwd_empty() { [ -z "$(ls -A "$cwd")" ]; }
fresh_cwd() { rm -rf "$cwd"; mkdir -p "$cwd"; }

# client ARGS...: the driver in $cwd; sets rc, fills $out and $err
client() {
	(cd "$cwd" && timeout 300 "$drv" "$@" </dev/null) >"$out" 2>"$err"
	rc=$?
}
store_certs() { certutil -L -d "sql:$1" 2>/dev/null | grep -c '^stap-server ' || true; }

script='probe begin { printf("hi\n"); exit() }'

# =====================================================================
# Hostile fake server
# =====================================================================
fdb=$scratch/fake-db
fdb2=$scratch/fake-db2
flog=$scratch/fake.log
freq=$scratch/fake-request.zip
fport=
fpid=

fake_stop() {
	if [ -n "$fpid" ]; then
		kill "$fpid" 2>/dev/null
		wait "$fpid" 2>/dev/null
		fpid=
	fi
}
# fake_start SCENARIO [DB]: a fresh fake server; sets fport
fake_start() {
	fake_stop
	rm -f "$scratch/fake.port" "$freq"
	"$fake" serve "${2:-$fdb}" "$scratch/fake.port" "$1" "$freq" >>"$flog" 2>&1 &
	fpid=$!
	pids+=("$fpid")
	for _ in $(seq 100); do
		[ -s "$scratch/fake.port" ] && break
		sleep 0.1
	done
	fport=$(cat "$scratch/fake.port" 2>/dev/null)
	[ -n "$fport" ]
}

if ! "$fake" gen "$fdb" >>"$flog" 2>&1 || ! "$fake" gen "$fdb2" >>"$flog" 2>&1; then
	rc=-; : >"$out"; cp "$flog" "$err"
	bad "fake server: certificate databases"
fi

# --- server specs and trust, no server needed ---
fresh_cwd
client -p2 -e "$script"
check "bare --use-server, no Avahi daemon: no server found" '[ $rc = 1 ] && has_err "Failed to create Avahi client" && has_err "Unable to find a suitable compile server" && has_err "No servers online to select from." && has_err "Passes: via server failed"'
client --use-server=127.0.0.1 -p2 -e "$script"
check "spec without a port: looked up through Avahi, none online" '[ $rc = 1 ] && has_err "no server online matches '"'127.0.0.1'"'" && has_err "Avahi"'
client --use-server=::1 -p2 -e "$script"
check "bare IPv6 without a port: looked up through Avahi" '[ $rc = 1 ] && has_err "no server online matches '"'::1'"'"'
client --use-server=00:cc:26:2e:ed -p2 -e "$script"
check "serial spec: looked up through Avahi, none online" '[ $rc = 1 ] && has_err "no server online matches '"'00:cc:26:2e:ed'"'"'
client --use-server=127.0.0.1:99999 -p2 -e "$script"
check "bad port" '[ $rc = 1 ] && has_err "bad port"'
client --use-server=no/such/host:1 -p2 -e "$script"
check "garbage spec" '[ $rc = 1 ] && has_err "is not an address"'
client --trust-servers=ssl,no-prompt
check "--trust-servers without servers" '[ $rc = 1 ] && has_err "No servers identified for trust"'

# --- untrusted fake server: no request is sent ---
fake_start good "$fdb2"
: >"$flog"
client --use-server=127.0.0.1:$fport -p4 -e "$script"
check "untrusted server: refused, nothing sent" \
	'[ $rc = 1 ] && has_err "Unable to connect to a server." && ! grep -q "request of" "$flog" && cwd_empty'
client --use-server=127.0.0.1:$fport -v -p4 -e "$script"
check "untrusted server with -v: the reason" '[ $rc = 1 ] && has_err "is not in"'

# --- trust the fake server (prompt refused, then no-prompt) ---
fake_start good
client --trust-servers=ssl --use-server=127.0.0.1:$fport
check "trust prompt answered with nothing: unchanged" \
	'[ $rc = 0 ] && has_err "Add trust in the following servers as an SSL peer for the current user?" && has_err "[y/N]" && has_err "Server trust unchanged" && [ ! -e "$cstore" ]'
(cd "$cwd" && echo y | "$drv" --trust-servers=ssl --use-server=127.0.0.1:$fport) >"$out" 2>"$err"
rc=$?
check "trust prompt answered y: added" '[ $rc = 0 ] && has_err "[y/N]" && [ "$(store_certs "$cstore")" = 1 ]'
: >"$flog"
client --trust-servers=ssl,no-prompt,bogus -v --use-server=127.0.0.1:$fport
fserial=$(sed -n 's/.*certinfo "\([0-9a-f:]*\)".*/\1/p' "$err" | head -1)
check "trust again (ssl,no-prompt): already trusted, probe sent, unknown item warned" \
	'[ $rc = 0 ] && has_err "Adding trust" && has_err "bogus" && has_err "already trusted" && [ "$(store_certs "$cstore")" = 1 ] && grep -q "probe" "$flog" && [ -n "$fserial" ]'
certutil -L -d "sql:$cstore" -n stap-server -r >"$scratch/fake-trusted.der" 2>/dev/null
check "trusted certificate is the server's, trust P,P,P" \
	'cmp -s "$scratch/fake-trusted.der" "$fdb/stap.cert" && certutil -L -d "sql:$cstore" | grep -q "^stap-server *P,P,P"'
ls -l "$cstore"/cert9.db >"$scratch/ls" 2>&1
check "trust store files are 0644" 'grep -q "^-rw-r--r--" "$scratch/ls"'

# --- the request ---
mkdir -p "$scratch/src/tap/sub" "$scratch/src/tap/.hidden"
printf 'probe begin { exit() }\n' >"$scratch/src/t.stp"
echo 'function a() { return 1 }' >"$scratch/src/tap/a.stp"
echo '@define B %( 1 %)' >"$scratch/src/tap/sub/b.stpm"
echo 'not a tapset' >"$scratch/src/tap/c.txt"
ln -s /etc/passwd "$scratch/src/tap/evil.stp"
ln -s a.stp "$scratch/src/tap/inside.stp"
ln -s "$scratch/src" "$scratch/src/tap/loop"
fake_start good
fresh_cwd
client --use-server=127.0.0.1:$fport -p2 -I "$scratch/src/tap" -v "$scratch/src/t.stp" foo "bar baz"
rel=${scratch#/}
req_entry() { unzip -p "$freq" "$1" 2>/dev/null; }
check "request argv in SystemTap's order" \
	'[ $rc = 0 ] && [ "$(req_entry argv1)" = "script/$rel/src/t.stp" ] && [ "$(req_entry argv2)" = "-I" ] && [ "$(req_entry argv3)" = "tapset/$rel/src/tap" ] && [ "$(req_entry argv4)" = "-p2" ] && [ "$(req_entry argv5)" = "-v" ] && [ "$(req_entry argv6)" = "--" ] && [ "$(req_entry argv7)" = "foo" ] && [ "$(req_entry argv8)" = "bar baz" ] && [ -z "$(req_entry argv9)" ]'
check "request files: script, tapsets; no symlink out, no other files" \
	'[ "$(req_entry "script/$rel/src/t.stp")" = "probe begin { exit() }" ] && req_entry "tapset/$rel/src/tap/a.stp" | grep -q "function a" && req_entry "tapset/$rel/src/tap/sub/b.stpm" | grep -q define && req_entry "tapset/$rel/src/tap/inside.stp" | grep -q "function a" && ! unzip -l "$freq" | grep -q -e evil.stp -e c.txt -e loop'
check "request: version, sysinfo, build-id of the running kernel" \
	'[ "$(req_entry version)" = 4.8 ] && [ "$(req_entry sysinfo)" = "sysinfo: $(uname -r) $(uname -m)" ] && req_entry kernel_build_id | grep -Eq "^[0-9a-f]{16,}$"'
check "request: -v says which symlink was not sent" 'has_err "Not sending" && has_err "evil.stp"'
client --use-server=127.0.0.1:$fport -p2 -r 6.1.0-56-amd64 -e "$script"
check "request for another kernel: -r in sysinfo and argv, no build-id" \
	'[ $rc = 0 ] && [ "$(req_entry sysinfo)" = "sysinfo: 6.1.0-56-amd64 $(uname -m)" ] && [ "$(req_entry argv1)" = "-p2" ] && [ "$(req_entry argv2)" = "-r6.1.0-56-amd64" ] && [ "$(req_entry argv3)" = "-e$script" ] && ! unzip -l "$freq" | grep -q kernel_build_id'
printf 'probe begin { exit() }' | (cd "$cwd" && "$drv" --use-server=127.0.0.1:$fport -p2 - >"$out" 2>"$err")
rc=$?
check "script from stdin: script/-" '[ $rc = 0 ] && [ "$(req_entry argv1)" = "script/-" ] && [ "$(req_entry script/-)" = "probe begin { exit() }" ]'

# --- good responses ---
fresh_cwd
client --use-server=127.0.0.1:$fport -p4 -e "$script"
check "pass 4: module and .sgn copied, name printed, .ko line hidden" \
	'[ $rc = 0 ] && [ "$(cat "$out")" = "$(printf "hello from the server\nstap_abc.ko")" ] && has_err "a server warning" && [ "$(cat "$cwd/stap_abc.ko")" = "MODULE BYTES" ] && [ "$(cat "$cwd/stap_abc.ko.sgn")" = "SIGNATURE" ] && [ -z "$(ls -A "$cwd" | grep -v "^stap_abc.ko")" ]'
fresh_cwd
echo "precious" >"$scratch/victim"
ln -s "$scratch/victim" "$cwd/stap_abc.ko"
client --use-server=127.0.0.1:$fport -p4 -e "$script"
check "pass 4: a symlink in the cwd is replaced, not followed" \
	'[ $rc = 0 ] && [ "$(cat "$scratch/victim")" = precious ] && [ ! -L "$cwd/stap_abc.ko" ] && [ "$(cat "$cwd/stap_abc.ko")" = "MODULE BYTES" ]'
fresh_cwd
client --use-server=127.0.0.1:$fport -p2 -e "$script"
check "pass 2: nothing copied" '[ $rc = 0 ] && cwd_empty && has_out "hello from the server"'
client --use-server=127.0.0.1:$fport -p5 -e "$script"
check "pass 5: module copied and handed back" '[ $rc = 0 ] && has_err "module stap_abc.ko" && [ -f "$cwd/stap_abc.ko" ] && ! has_out "stap_abc.ko"'
fresh_cwd
client --use-server=127.0.0.1:$fport -p4 -m other -e "$script"
check "-m NAME but the server sent another module: refused" '[ $rc = 1 ] && has_err "not other.ko" && cwd_empty'
client --use-server=localhost:$fport -p4 -e "$script"
check "host name spec (localhost)" '[ $rc = 0 ] && [ -f "$cwd/stap_abc.ko" ]'
fresh_cwd
client --use-server=127.0.0.1:$fport -k -p4 -e "$script"
keep=$(sed -n 's/^Keeping temporary directory "\(.*\)"$/\1/p' "$err")
check "-k: temp directory kept with both archives and the unpacked response" \
	'[ $rc = 0 ] && [ -n "$keep" ] && [ -f "$keep/client.zip" ] && [ -f "$keep/server.zip" ] && [ -f "$keep/server/stap000000/stap_abc.ko" ] && cmp -s "$keep/client.zip" "$freq"'

# --- hostile responses ---
hostile() { # hostile SCENARIO NAME CONDITION [client args]
	local scen=$1 name=$2 cond=$3
	shift 3
	fake_start "$scen"
	fresh_cwd
	client --use-server=127.0.0.1:$fport -p4 -e "$script" "$@"
	check "$name" "$cond"
}
hostile symlink "symlink stap000000/x.ko -> /etc/passwd: refused, nothing copied" \
	'[ $rc = 1 ] && has_err "Unable to unzip the server response" && cwd_empty'
hostile dotdot "'stap000000/../../evil.ko': refused, nothing written" \
	'[ $rc = 1 ] && cwd_empty && [ ! -e "$scratch/evil.ko" ] && [ ! -e "$cwd/../evil.ko" ]'
hostile dotdot2 "'../evil.ko': refused" '[ $rc = 1 ] && cwd_empty && [ ! -e "$scratch/evil.ko" ]'
hostile absolute "'/tmp/evil.ko': refused" '[ $rc = 1 ] && cwd_empty && [ ! -e /tmp/evil.ko ]'
hostile twodirs "two stap?????? directories" '[ $rc = 1 ] && has_err "Incorrect number of files in server response" && cwd_empty'
hostile twoko "two modules" '[ $rc = 1 ] && has_err "Incorrect number of modules in server response" && cwd_empty'
hostile badname "module name outside [A-Za-z0-9_]+.ko" '[ $rc = 1 ] && has_err "evil-name.ko" && cwd_empty'
hostile nomodule "rc 0 without a module at pass 4" '[ $rc = 1 ] && has_err "No module was returned by the server." && cwd_empty'
hostile rcabc "rc 'abc'" '[ $rc = 1 ] && has_err "not an integer" && has_err "Passes: via server failed"'
hostile rc3 "rc 3: server stderr shown, exit 1" \
	'[ $rc = 1 ] && has_err "semantic error: x" && has_err "Passes: via server failed.  Try again with another '"'"'-v'"'"' option." && cwd_empty'
hostile norc "no rc (unsupported kernel)" '[ $rc = 1 ] && has_err "Unable to open file '"'"'rc'"'"'" && has_err "Passes: via server failed"'
hostile noversion "no version: the 1.0 notices, Keeping lines dropped" \
	'[ $rc = 1 ] && has_err "Server protocol version is 1.0" && has_err "The server does not use localization information passed by the client" && ! has_err "Keeping temporary directory \"/tmp/x\"" && has_err "kept line" && has_out "old server"' 
fake_start noversion
client --use-server=127.0.0.1:$fport -p2 -e "$script"
check "no version at pass 2: exit 0" '[ $rc = 0 ] && has_err "Server protocol version is 1.0"'
fake_start versionabc
client --use-server=127.0.0.1:$fport -p2 -e "$script"
check "version 'abc': treated as 1.0, no crash" '[ $rc = 0 ] && has_err "Server protocol version is 1.0" && has_out "odd version"'
hostile mok "MOK fallback: signing_key.x509 copied, exit 1" \
	'[ $rc = 1 ] && [ "$(cat "$cwd/signing_key.x509" 2>/dev/null)" = CERT ] && has_err "Server: No matching machine owner key"'
start=$SECONDS
hostile big "response beyond 256 MiB: refused" '[ $rc = 1 ] && has_err "256 MiB" && cwd_empty'
hostile close "server closes without answering" '[ $rc = 1 ] && has_err "Unable to unzip the server response" && cwd_empty'
start=$SECONDS
STAP_CLIENT_TIMEOUT=2 hostile hang "server never answers: timeout (STAP_CLIENT_TIMEOUT=2)" \
	'[ $rc = 1 ] && has_err "STAP_CLIENT_TIMEOUT" && [ $((SECONDS - start)) -lt 30 ]'
fake_start good
STAP_CLIENT_TIMEOUT=abc client --use-server=127.0.0.1:$fport -p2 -e "$script"
check "bad STAP_CLIENT_TIMEOUT warns and uses the default" '[ $rc = 0 ] && has_err "STAP_CLIENT_TIMEOUT='"'"'abc'"'"'"'

# --- revoke ---
client --trust-servers=revoke,no-prompt --use-server=127.0.0.1:$fport
check "revoke by address removes the certificate" '[ $rc = 0 ] && has_err "Revoking trust" && [ "$(store_certs "$cstore")" = 0 ]'
client --use-server=127.0.0.1:$fport -p2 -e "$script"
check "revoked server is refused again" '[ $rc = 1 ] && has_err "Unable to connect to a server."'
client --trust-servers=ssl,no-prompt --use-server=127.0.0.1:$fport
client --trust-servers=revoke,no-prompt --use-server="$fserial"
check "revoke by certificate serial (no connection)" '[ $rc = 0 ] && [ -n "$fserial" ] && [ "$(store_certs "$cstore")" = 0 ]'
client --trust-servers=revoke,no-prompt --use-server="$fserial"
check "revoking what is not trusted warns" '[ $rc = 0 ] && has_err "was trusted"'

# --- root-only stores (the bind-mounted /etc/systemtap) ---
client --trust-servers=signer,all-users,no-prompt --use-server=127.0.0.1:$fport
check "signer,all-users: only the staprun store (all-users is about ssl)" \
	'[ $rc = 0 ] && has_err "as a module signer for all users." && [ "$(store_certs /etc/systemtap/staprun)" = 1 ] && [ "$(store_certs /etc/systemtap/ssl/client)" = 0 ] && [ "$(store_certs "$cstore")" = 0 ]'
client --trust-servers=ssl,signer,all-users,no-prompt --use-server=127.0.0.1:$fport
check "ssl,signer,all-users: staprun and global SSL stores" \
	'[ $rc = 0 ] && has_err "as an SSL peer for all users and as a module signer for all users" && [ "$(store_certs /etc/systemtap/staprun)" = 1 ] && [ "$(store_certs /etc/systemtap/ssl/client)" = 1 ] && [ "$(store_certs "$cstore")" = 0 ]'
fresh_cwd
client --use-server=127.0.0.1:$fport -p4 -e "$script"
check "a server in the global store is trusted" '[ $rc = 0 ] && [ -f "$cwd/stap_abc.ko" ]'
client --trust-servers=revoke,ssl,signer,all-users,no-prompt --use-server=127.0.0.1:$fport
check "revoke from the global and staprun stores" \
	'[ $rc = 0 ] && [ "$(store_certs /etc/systemtap/staprun)" = 0 ] && [ "$(store_certs /etc/systemtap/ssl/client)" = 0 ]'
fake_stop
# the same as an ordinary user
if (cd / && setpriv --reuid=65534 --regid=65534 --clear-groups true) 2>/dev/null; then
	for item in signer all-users; do
		(cd / && setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$drv" --trust-servers=$item,no-prompt --use-server=127.0.0.1:1) >"$out" 2>"$err"
		rc=$?
		check "$item needs root" '[ $rc = 1 ] && has_err "Only root can specify '"'"'$item'"'"' on --trust-servers"'
	done
else
	echo "SKIP: cannot switch to an ordinary user for the root-only checks"
fi

# =====================================================================
# SystemTap's automatic options: pass 5 by a user without stapdev
# =====================================================================
# as_user GROUPS ARGS...: ./stap as uid 65534 with the supplementary groups
# GROUPS (a comma list of names, "" for none); sets rc, $out, $err.  No
# server is reachable (no D-Bus, no trust store), so a build fails after
# the automatic choices, which are then explained.
as_user() {
	local groups=$1 gids="" g gopt=(--clear-groups)
	shift
	for g in ${groups//,/ }; do gids+=${gids:+,}$(getent group "$g" | cut -d: -f3); done
	[ -n "$gids" ] && gopt=(--groups="$gids")
	(cd / && HOME=/nonexistent SYSTEMTAP_DIR=/nonexistent TMPDIR=/tmp \
		setpriv --reuid=65534 --regid=65534 "${gopt[@]}" \
		timeout 120 "$top/stap" --tapset-dir="$top/tapset" "$@" </dev/null) >"$out" 2>"$err"
	rc=$?
}
use_server_msg="--use-server was automatically selected in order to request compilation by a compile-server."
if getent group stapusr >/dev/null && getent group stapsys >/dev/null && getent group stapdev >/dev/null &&
	(cd / && setpriv --reuid=65534 --regid=65534 --clear-groups true) 2>/dev/null; then
	as_user "" -e "$script"
	check "no stap group: told to be root or in stapusr" \
		'[ $rc = 1 ] && has_err "You are trying to run systemtap as a normal user." && has_err "possibly one of the groups \"stapsys\" or \"stapdev\".  [man stap]"'
	as_user stapusr -e "$script"
	check "stapusr: --privilege=stapusr and --use-server chosen, explained after the failure" \
		'[ $rc = 1 ] && has_err "--privilege=stapusr was automatically selected because you are a member of the group stapusr.  [man stap]" && has_err "For users with the privilege level stapusr, the module created by compiling your script must be signed by a trusted systemtap compile-server.  [man stap-server]" && has_err "$use_server_msg"'
	as_user stapusr,stapsys -e "$script"
	check "stapsys: --privilege=stapsys chosen" \
		'[ $rc = 1 ] && has_err "--privilege=stapsys was automatically selected because you are a member of the groups stapusr and stapsys.  [man stap]" && has_err "privilege level stapsys, the module"'
	as_user stapusr --privilege=stapusr -e "$script"
	check "a level given is kept; --use-server still chosen" \
		'[ $rc = 1 ] && ! has_err "automatically selected because" && has_err "$use_server_msg"'
	as_user stapusr -g -e "$script"
	check "stapusr with -g: refused as SystemTap does" \
		'[ $rc = 1 ] && has_err "You can'"'"'t specify -g and --privilege=stapusr together."'
	as_user stapusr -p4 -e "$script"
	check "-p4 is not pass 5: nothing automatic" '! has_err "automatically selected"'
	as_user stapusr,stapdev -e "$script"
	check "stapdev: nothing automatic" '! has_err "automatically selected"'
	as_user stapusr -v -p2 -e "$script" --use-server=127.0.0.1:1
	check "-v explains before the passes (none here: -p2)" '! has_err "automatically selected"'
else
	echo "SKIP: the stap groups or setpriv are missing: no automatic-options checks"
fi
(cd "$cwd" && SYSTEMTAP_SIGN=1 timeout 120 "$top/stap" --tapset-dir="$top/tapset" -p2 -e "$script") >"$out" 2>"$err"
rc=$?
check "a kernel that wants signed modules (SYSTEMTAP_SIGN): --use-server chosen, explained" \
	'[ $rc = 1 ] && has_err "The kernel on your system requires modules to be signed for loading." && has_err "$use_server_msg"'

# =====================================================================
# Debian's SystemTap 4.8 compile server
# =====================================================================
serverd=/usr/lib/systemtap/stap-serverd
kver=6.1.0-56-amd64
if [ ! -x "$serverd" ] || [ ! -d /lib/modules/$kver/build ]; then
	echo "SKIP: Debian's stap-serverd or the $kver headers are missing"
else
	srv=$scratch/srv
	mkdir -p "$srv/home" "$srv/tmp"
	sport=5599
	(
		export HOME=$srv/home SYSTEMTAP_DIR=$srv/home/.systemtap TMPDIR=$srv/tmp
		export STAP_PR11197_OVERRIDE=1
		exec timeout 900 "$serverd" -r $kver --port $sport --log="$srv/log" >"$srv/out" 2>&1
	) &
	spid=$!
	pids+=("$spid")
	for _ in $(seq 120); do
		grep -qi "avahi" "$srv/log" 2>/dev/null && break
		sleep 0.5
	done
	if ! grep -q "Using network address" "$srv/log" 2>/dev/null; then
		rc=-; cp "$srv/out" "$out"; cp "$srv/log" "$err" 2>/dev/null
		bad "stap-serverd starts"
	else
		rm -rf "$cstore"
		fresh_cwd
		client --use-server=127.0.0.1:$sport -r $kver -p2 -e "$script"
		check "4.8 server, untrusted: Unable to connect, no request" \
			'[ $rc = 1 ] && has_err "Unable to connect to a server." && ! grep -q "Client version" "$srv/log"'
		client --trust-servers=ssl,no-prompt --use-server=127.0.0.1:$sport
		certutil -L -d "sql:$cstore" -n stap-server -r >"$scratch/srv-trusted.der" 2>/dev/null
		check "4.8 server: --trust-servers=ssl,no-prompt stores its certificate" \
			'[ $rc = 0 ] && certutil -L -d "sql:$cstore" | grep -q "^stap-server *P,P,P" && cmp -s "$scratch/srv-trusted.der" "$srv/home/.systemtap/ssl/server/stap.cert" && ! grep -q "Client version" "$srv/log"'
		client --use-server=127.0.0.1:$sport -r $kver -p2 -e "$script"
		check "4.8 server: -p2 prints the server's pass-2 output" \
			'[ $rc = 0 ] && has_out "# probes" && has_out "begin /* <- begin */" && grep -q "Client version is 4.8" "$srv/log"'
		client --use-server="[::1]:$sport" -r $kver -p2 -e "$script"
		check "4.8 server over IPv6 [::1]:PORT" '[ $rc = 0 ] && has_out "# probes"'
		client --use-server=localhost:$sport -r $kver -p2 -e "$script"
		check "4.8 server by host name" '[ $rc = 0 ] && has_out "# probes"'
		printf 'probe begin { printf("from a file\\n"); exit() }\n' >"$scratch/file.stp"
		client --use-server=127.0.0.1:$sport -r $kver -p2 "$scratch/file.stp" a1
		check "4.8 server: script file with an argument" '[ $rc = 0 ] && has_out "begin /* <- begin */"'
		client --use-server=127.0.0.1:$sport -r $kver -p2 -e 'probe begin {'
		check "4.8 server: parse error shown, exit 1" \
			'[ $rc = 1 ] && has_err "parse error" && has_err "Passes: via server failed"'
		fresh_cwd
		client --use-server=127.0.0.1:$sport -r $kver -p4 -e "$script"
		check "4.8 server: -p4 fails on the 6.1 headers and is reported" \
			'[ $rc = 1 ] && has_err "task_work_cancel" && has_err "Passes: via server failed" && cwd_empty'
		client --trust-servers=revoke,no-prompt --use-server=127.0.0.1:$sport
		check "4.8 server: revoke by address removes the certificate" \
			'[ $rc = 0 ] && [ "$(store_certs "$cstore")" = 0 ]'
		client --use-server=127.0.0.1:$sport -r $kver -p2 -e "$script"
		check "4.8 server: refused again after revoke" '[ $rc = 1 ] && has_err "Unable to connect to a server."'
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
