#!/usr/bin/env bash
# tests/avahi/run.sh: Avahi discovery between two hosts on one machine.
# Two network namespaces joined by a veth pair (192.0.2.1 and
# 192.0.2.2), each with its own mount and UTS namespace (host names
# stapa and stapb), its own dbus-daemon and avahi-daemon.  Our
# stap-serverd runs on stapa and announces itself; on stapb our stap and
# Debian's 4.8 stap list it, trust it and compile through it with a bare
# --use-server.  Also: an incompatible and a dead server announced with
# avahi-publish-service are skipped, a kernel added to the store shows
# up in the records without a restart (a MOK too, and the MOK filter of a
# client that must sign), the server keeps serving while avahi-daemon is
# down and is announced again when it returns, a stopped server is
# withdrawn, a daemon that refuses the service for a while gives one log
# line and then "registered again", and SystemTap 4.8's own stap-serverd
# is listed by our client exactly as by Debian's.  The lines for a
# trusted server, online and offline, are compared with Debian's
# client's.  Last, with only IPv6 link-local addresses on the link, the
# server is found and used at fe80::a%<interface>.  All traffic stays
# inside the namespaces.
#
#   tests/avahi/run.sh [--keep DIR]      (root)
#
# Ends with "N passed, N failed"; exit 0 when none failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
kver=${STAP_KVER:-6.1.0-56-amd64}
kver2=6.12.107+deb12-amd64
keep=""
[ "${1:-}" = --keep ] && keep=$2
work=${keep:-$(mktemp -d "${TMPDIR:-/tmp}/avahitest.XXXXXX")}
mkdir -p "$work"
chmod 755 "$work"
passed=0 failed=0
tag=stapav$$
nsa=${tag}a nsb=${tag}b
holder_a="" holder_b="" server_pid="" fake_pids=()
daemon_pids=()	# dbus-daemon and avahi-daemon of both hosts, killed by pid at the end
serverd=${STAP_SERVERD:-$top/stap-serverd}
stap=${STAP_CLIENT:-$top/stap}

pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }

# in_a / in_b CMD...: run in that host (network, mount and UTS namespace)
in_a() { nsenter -t "$holder_a" -m -n -u --wd="$PWD" -- "$@"; }
in_b() { nsenter -t "$holder_b" -m -n -u --wd="$PWD" -- "$@"; }

# the daemons fork into sessions of their own: remember their pids, so
# that they are stopped even when the holders are already gone
note_daemons() { # a|b
	local p
	for p in $("in_$1" cat /run/dbus/pid /run/avahi-daemon/pid 2> /dev/null); do
		case $p in *[!0-9]*|"") ;; *) daemon_pids+=("$p") ;; esac
	done
}

cleanup() {
	local p
	for p in "${fake_pids[@]}"; do kill "$p" 2> /dev/null; done
	if [ -n "$server_pid" ]; then
		kill -TERM "$server_pid" 2> /dev/null
		for _ in $(seq 1 50); do kill -0 "$server_pid" 2> /dev/null || break; sleep 0.1; done
		kill -KILL "$server_pid" 2> /dev/null
	fi
	for p in "${daemon_pids[@]}"; do	# only if the pid is still such a daemon
		grep -qE '^(avahi-daemon|dbus-daemon)' "/proc/$p/comm" 2> /dev/null && kill "$p"
	done
	for p in $holder_a $holder_b; do kill "$p" 2> /dev/null; done
	ip netns del "$nsa" 2> /dev/null
	ip netns del "$nsb" 2> /dev/null
	[ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ "$(id -u)" -eq 0 ] || { echo "avahi-test: needs root (namespaces)"; echo "0 passed, 1 failed"; exit 1; }
for t in "$serverd" "$stap" /usr/sbin/avahi-daemon /usr/bin/dbus-daemon /usr/bin/avahi-publish-service; do
	[ -x "$t" ] || { echo "avahi-test: $t missing"; echo "0 passed, 1 failed"; exit 1; }
done
"$top/scripts/stap-prep" "$kver" > "$work/prep.log" 2>&1 ||
	{ cat "$work/prep.log"; echo "0 passed, 1 failed"; exit 1; }

# --- two hosts ----------------------------------------------------------------------
ip netns add "$nsa" && ip netns add "$nsb" &&
	ip link add "${tag}va" netns "$nsa" type veth peer name "${tag}vb" netns "$nsb" || {
	echo "avahi-test: cannot make the namespaces"; echo "0 passed, 1 failed"; exit 1; }
make_host() { # NS NAME ADDR IFACE -> prints the holder's pid
	local ns=$1 name=$2 addr=$3 iface=$4 d=$work/$2
	mkdir -p "$d/etc-systemtap" "$d/home"
	cat > "$d/avahi.conf" <<-EOF
	[server]
	host-name=$name
	domain-name=local
	use-ipv4=yes
	use-ipv6=no
	allow-interfaces=$iface
	ratelimit-interval-usec=1000000
	ratelimit-burst=1000
	[wide-area]
	enable-wide-area=no
	[publish]
	publish-hinfo=no
	publish-workstation=no
	EOF
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$addr/24" dev "$iface"
	ip -n "$ns" link set "$iface" multicast on up
	# the holder keeps the host's mount and UTS namespace alive: a tmpfs
	# on /run for the daemons' sockets and pid files, an empty
	# /etc/systemtap (no trust of the machine leaks in or out)
	ip netns exec "$ns" unshare -m -u --propagation private sh -c '
		hostname "$1" && mount -t tmpfs tmpfs /run &&
		mkdir -p /run/dbus /run/avahi-daemon &&
		mount --bind "$2/etc-systemtap" /etc/systemtap &&
		exec sleep 3600' sh "$name" "$d" > "$d/holder.log" 2>&1 &
	echo $!
}
holder_a=$(make_host "$nsa" stapa 192.0.2.1 "${tag}va")
holder_b=$(make_host "$nsb" stapb 192.0.2.2 "${tag}vb")
# wait until both holders have their mounts
for _ in $(seq 1 50); do
	in_a test -d /run/avahi-daemon 2> /dev/null && in_b test -d /run/avahi-daemon 2> /dev/null && break
	sleep 0.1
done
start_avahi() { # a|b
	"in_$1" dbus-daemon --system --fork > /dev/null 2>&1 || return 1
	"in_$1" avahi-daemon --daemonize --no-drop-root --no-chroot --no-rlimits \
		-f "$work/stap$1/avahi.conf" > /dev/null 2>&1
}
avahi_running() { "in_$1" avahi-daemon --check 2> /dev/null; }
if start_avahi a && start_avahi b; then pass "two hosts with dbus and avahi-daemon"; else
	fail "two hosts" "$(cat "$work"/stap?/holder.log)"; finish; fi
for _ in $(seq 1 50); do avahi_running a && avahi_running b && break; sleep 0.1; done
note_daemons a
note_daemons b

# --- the server on stapa ------------------------------------------------------------
store=$work/store
mkdir -p "$store" "$work/srv/tmp"
ln -s "/var/lib/stapcs/kernels/$kver" "$store/$kver"
slog=$work/server.log
start_server() {
	# nsenter directly (no function): $! is the server itself
	nsenter -t "$holder_a" -m -n -u -- env STAP_PR11197_OVERRIDE=1 HOME="$work/stapa/home" SYSTEMTAP_DIR="$work/srv/stapdir" \
		TMPDIR="$work/srv/tmp" STAP_KERNEL_STORE="$store" \
		SYSTEMTAP_TAPSET="$top/tapset" SYSTEMTAP_RUNTIME="$top/runtime/kernel" \
		"$serverd" --port 0 -r "$kver" --log "$slog" --max-threads 2 "$@" \
		>> "$work/server.out" 2>&1 &
	server_pid=$!
	for _ in $(seq 1 300); do
		grep -q 'Using network address' "$slog" 2> /dev/null && break
		kill -0 "$server_pid" 2> /dev/null || break
		sleep 0.1
	done
	port=$(grep 'Using network address' "$slog" | tail -n 1 | sed -E 's/.*\]:([0-9]+)$/\1/')
}
start_server
[ -n "${port:-}" ] || { fail "server starts" "$(cat "$work/server.out" "$slog")"; finish; }
serial=$(openssl x509 -inform DER -in "$work/srv/stapdir/ssl/server/stap.cert" -noout -serial |
	sed -E 's/^serial=//' | tr 'A-F' 'a-f')
[ $(( ${#serial} % 2 )) -eq 1 ] && serial=0$serial
[ "${#serial}" -eq 8 ] && serial=00$serial
certinfo=$(echo "$serial" | sed -E 's/(..)/\1:/g; s/:$//')
wait_log() { # PATTERN SECONDS
	local i
	for i in $(seq 1 $(($2 * 10))); do grep -q "$1" "$slog" && return 0; sleep 0.1; done
	return 1
}
if wait_log "Avahi service 'Systemtap Compile Server on stapa' successfully established" 10; then
	pass "server announced (log)"
else
	fail "server announced (log)" "$(tail -n 20 "$slog")"
fi

# --- stapb: our client ---------------------------------------------------------------
cli=$work/stapb
bstap() { in_b timeout 900 env HOME="$cli/home" SYSTEMTAP_DIR="$cli/stapdir" "$stap" "$@"; }
dstap() { in_b timeout 60 env HOME="$cli/dhome" SYSTEMTAP_DIR="$cli/dstapdir" /usr/bin/stap "$@"; }
want_line=" host=stapa.local address=192.0.2.1 port=$port sysinfo=\"$kver x86_64\" version=4.8 certinfo=\"$certinfo\""
# LIST PROPS PATTERN SECONDS [absent]: lists until PATTERN shows (or is gone)
list_until() {
	local props=$1 pat=$2 secs=$3 absent=${4:-} end=$((SECONDS + $3))
	while :; do
		bstap --list-servers="$props" > "$work/list.out" 2>&1
		if [ -z "$absent" ]; then grep -qF -- "$pat" "$work/list.out" && return 0
		else grep -qF -- "$pat" "$work/list.out" || return 0; fi
		[ $SECONDS -lt $end ] || return 1
		sleep 0.5
	done
}
if list_until online "$want_line" 15; then
	pass "stap --list-servers=online shows host, address, port, sysinfo, version, certinfo"
else
	fail "list online" "want [$want_line] got: $(cat "$work/list.out")"
fi
head -n 1 "$work/list.out" | grep -qx "Systemtap Compile Server Status for 'online'" &&
	pass "list header" || fail "list header" "$(head -n 1 "$work/list.out")"
bstap -r "$kver" --list-servers > "$work/list-default.out" 2>&1
if grep -qx "Systemtap Compile Server Status for 'online,trusted,compatible'" "$work/list-default.out" &&
   grep -qx "No servers found" "$work/list-default.out"; then
	pass "default list: untrusted server left out"
else
	fail "default list before trust" "$(cat "$work/list-default.out")"
fi

# Debian's client sees the same fields
if [ -x /usr/bin/stap ]; then
	dstap --list-servers=all > "$work/dlist.out" 2>&1
	dline=$(grep -F "certinfo=\"$certinfo\"" "$work/dlist.out" | head -n 1)
	if [ "$dline" = "$want_line" ]; then
		pass "Debian's 4.8 stap --list-servers=all: the same line"
	else
		fail "Debian's list" "want [$want_line] got: $(cat "$work/dlist.out")"
	fi
fi

# trust through the Avahi-found address
addr=$(grep -F "certinfo=\"$certinfo\"" "$work/list.out" | sed -E 's/.* address=([^ ]+) port=([0-9]+) .*/\1:\2/' | head -n 1)
if bstap --trust-servers=ssl,no-prompt --use-server="$addr" > "$work/trust.out" 2>&1 &&
   bstap -r "$kver" --list-servers > "$work/list-trusted.out" 2>&1 &&
   grep -qF -- "$want_line" "$work/list-trusted.out"; then
	pass "--trust-servers=ssl with the address Avahi gave ($addr); default list (-r $kver) shows it"
else
	fail "trust" "$(cat "$work/trust.out" "$work/list-trusted.out" 2> /dev/null)"
fi

# revoke by serial (no connection), trust again by the Avahi name alone
if bstap --trust-servers=revoke,no-prompt --use-server="$certinfo" > "$work/revoke.out" 2>&1 &&
   bstap -r "$kver" --list-servers > "$work/list-revoked.out" 2>&1 &&
   grep -qx "No servers found" "$work/list-revoked.out" &&
   bstap --trust-servers=ssl,no-prompt --use-server=stapa > "$work/trust2.out" 2>&1 &&
   bstap -r "$kver" --list-servers > "$work/list-trusted2.out" 2>&1 &&
   grep -qF -- "$want_line" "$work/list-trusted2.out"; then
	pass "revoked by certificate serial, trusted again by the name stapa (found through Avahi)"
else
	fail "revoke and trust by name" "$(cat "$work/revoke.out" "$work/list-revoked.out" "$work/trust2.out" "$work/list-trusted2.out" 2> /dev/null)"
fi

# a trusted server that is online: every listing that has it shows its
# Avahi name and address, as Debian's 4.8 client does once it trusts it
# too (SystemTap merges the announcement into its certificate's entry)
if [ -x /usr/bin/stap ]; then
	dstap --trust-servers=ssl,no-prompt --use-server="192.0.2.1:$port" > "$work/dtrust.out" 2>&1
	for props in all trusted online,trusted online ""; do
		bstap -r "$kver" --list-servers="$props" > "$work/cmp-ours.out" 2>&1
		dstap -r "$kver" --list-servers="$props" > "$work/cmp-theirs.out" 2>&1
		ours=$(grep -F "certinfo=\"$certinfo\"" "$work/cmp-ours.out")
		theirs=$(grep -F "certinfo=\"$certinfo\"" "$work/cmp-theirs.out")
		if [ "$ours" = "$want_line" ] && [ "$ours" = "$theirs" ]; then
			pass "trusted and online, --list-servers=${props:-(default)}: the line of Debian's 4.8 client"
		else
			fail "trusted list =$props" "want [$want_line] ours [$ours] Debian's [$theirs] $(cat "$work/dtrust.out")"
		fi
	done
fi

# announcements that must be skipped: another kernel (newest version),
# and a compatible one whose port is dead (newer than ours)
fake() { # NAME PORT SYSINFO VERSION
	nsenter -t "$holder_a" -m -n -u -- avahi-publish-service "Systemtap Compile Server on $1" _stap._tcp "$2" \
		"sysinfo=$3" "optinfo=" "version=$4" "certinfo=$certinfo" > "$work/fake-$1.log" 2>&1 &
	fake_pids+=($!)
}
fake foreign 6001 "5.99.0-foreign x86_64" 9.9
fake dead 6002 "$kver x86_64" 5.0
list_until online "port=6002" 10 > /dev/null
list_until online "port=6001" 10 > /dev/null
grep -q "port=6001" "$work/list.out" && grep -q "port=6002" "$work/list.out" &&
	pass "two more servers announced with avahi-publish-service" ||
	fail "fake announcements" "$(cat "$work/list.out")"
# sorted newest first
order=$(grep -oE 'version=[0-9.]+' "$work/list.out" | tr '\n' ' ')
[ "$order" = "version=9.9 version=5.0 version=4.8 " ] && pass "listed newest version first" ||
	fail "list order" "$order"
bstap --list-servers=compatible -r "$kver" > "$work/list-compat.out" 2>&1
if grep -qF "port=$port" "$work/list-compat.out" && ! grep -q "port=6001" "$work/list-compat.out"; then
	pass "--list-servers=compatible leaves out the foreign kernel"
else
	fail "compatible list" "$(cat "$work/list-compat.out")"
fi

# --- compile with a bare --use-server ----------------------------------------------------
mkdir -p "$cli/run"
if (cd "$cli/run" && bstap --use-server -vv -r "$kver" -p4 -m avahi_hello \
	-e 'probe begin { printf("hi\n"); exit() }' > "$work/compile.out" 2> "$work/compile.err") &&
   [ -s "$cli/run/avahi_hello.ko" ]; then
	pass "stap --use-server (no address) -r $kver -p4: module built on stapa"
else
	fail "bare --use-server" "$(tail -n 30 "$work/compile.err")"
fi
# the dead 5.0 server was tried first (newest compatible), then ours
if grep -q "192.0.2.1:6002" "$work/compile.err" && ! grep -q ":6001" "$work/compile.err"; then
	pass "newest compatible tried first, fell back on failure, foreign kernel skipped"
else
	fail "selection order" "$(grep -E 'Attempt|Unable|192.0.2' "$work/compile.err" | head)"
fi
for p in "${fake_pids[@]}"; do kill "$p" 2> /dev/null; done
fake_pids=()

# spec_build SPEC PREFIX PASS-TEXT: the client builds through --use-server=SPEC
spec_build() {
	local m=$2$(echo "$1" | tr -c 'a-z0-9\n' _)
	if (cd "$cli/run" && bstap --use-server="$1" -r "$kver" -p4 -m "$m" \
		-e 'probe begin { printf("hi\n"); exit() }' > "$work/spec.out" 2>&1) &&
	   [ -s "$cli/run/$m.ko" ]; then
		pass "$3"
	else
		fail "--use-server=$1" "$(tail -n 10 "$work/spec.out")"
	fi
}

# servers named without a port, by serial, or NAME.local:PORT (not in DNS)
for spec in stapa stapa.local 192.0.2.1 "$certinfo" "stapa.local:$port"; do
	spec_build "$spec" avahi_ "--use-server=$spec found through Avahi"
done

# --- a kernel added to the store is announced without a restart --------------------------
if [ -d "/var/lib/stapcs/kernels/$kver2/build" ] || [ -L "/var/lib/stapcs/kernels/$kver2/build" ]; then
	before=$(grep -c "Adding Avahi service" "$slog")
	ln -s "/var/lib/stapcs/kernels/$kver2" "$store/$kver2"
	ok=""
	for _ in $(seq 1 100); do
		[ "$(grep -c "Adding Avahi service" "$slog")" -gt "$before" ] && { ok=1; break; }
		sleep 0.1
	done
	browse() { in_b timeout 5 avahi-browse -r -p -t _stap._tcp 2>/dev/null; }
	seen=""
	for _ in $(seq 1 10); do
		browse > "$work/browse.out"
		grep -q "sysinfo=$kver2 x86_64" "$work/browse.out" && { seen=1; break; }
		sleep 1
	done
	if [ -n "$ok" ] && [ -n "$seen" ]; then
		pass "kernel $kver2 added to the store: re-announced, its sysinfo seen from stapb"
	else
		fail "kernel added" "log=$ok seen=$seen $(cat "$work/browse.out")"
	fi
	before=$(grep -c "Adding Avahi service" "$slog")
	rm -f "$store/$kver2"
	gone=""
	for _ in $(seq 1 10); do
		sleep 1
		[ "$(grep -c "Adding Avahi service" "$slog")" -gt "$before" ] || continue
		browse > "$work/browse2.out"
		grep -q "sysinfo=$kver x86_64" "$work/browse2.out" &&
			! grep -q "sysinfo=$kver2" "$work/browse2.out" && { gone=1; break; }
	done
	[ -n "$gone" ] && pass "kernel $kver2 removed from the store: its record withdrawn" ||
		fail "kernel removed" "$(cat "$work/browse2.out" 2> /dev/null)"
fi

# --- a MOK added to the server: mok_info without a restart; MOK filtering ----------------------
mok_tmp=$work/mok
mkdir -p "$mok_tmp"
if openssl req -new -x509 -newkey rsa:2048 -nodes -keyout "$mok_tmp/signing_key.priv" \
	-outform DER -out "$mok_tmp/signing_key.x509" -days 30 -subj "/CN=Systemtap test MOK" \
	> "$mok_tmp/openssl.log" 2>&1; then
	fp=$(openssl x509 -inform DER -in "$mok_tmp/signing_key.x509" -noout -fingerprint -sha1 |
		sed 's/.*=//' | tr 'A-F' 'a-f')
	mkdir -p "$work/srv/stapdir/ssl/server/moks"
	cp -r "$mok_tmp" "$work/srv/stapdir/ssl/server/moks/$fp"
	rm -f "$work/srv/stapdir/ssl/server/moks/$fp/openssl.log"
	if list_until online "$want_line mok_fingerprints=\"$fp\"" 15; then
		pass "MOK added: mok_info announced without a restart, listed as mok_fingerprints"
	else
		fail "MOK announced" "$(cat "$work/list.out")"
	fi
	# what Debian's 4.8 client makes of these records (its multi-value TXT
	# bug, ref §8.2), compared below with SystemTap's own server
	dstap --list-servers=online > "$work/dlist-mok.out" 2>&1
	# a client that must sign modules: only servers holding one of its MOKs
	mkdir -p "$cli/bin"
	fake_mokutil() { printf '#!/bin/sh\necho "[key 1]"\necho "SHA1 Fingerprint: %s"\necho "        Issuer: CN=Systemtap test MOK"\n' "$1" > "$cli/bin/mokutil"; chmod +x "$cli/bin/mokutil"; }
	signing_list() { in_b env PATH="$cli/bin:$PATH" SYSTEMTAP_SIGN=1 HOME="$cli/home" \
		SYSTEMTAP_DIR="$cli/stapdir" "$stap" -r "$kver" --list-servers=online,compatible 2>&1; }
	fake_mokutil "$fp"
	signing_list > "$work/sign1.out"
	fake_mokutil "01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13:14"
	signing_list > "$work/sign2.out"
	if grep -qF "certinfo=\"$certinfo\" mok_fingerprints=\"$fp\"" "$work/sign1.out" &&
	   grep -qx "No servers found" "$work/sign2.out"; then
		pass "modules must be signed: compatible only with a MOK in common"
	else
		fail "MOK filter" "$(cat "$work/sign1.out" "$work/sign2.out")"
	fi
	rm -rf "$work/srv/stapdir/ssl/server/moks/$fp"
	gone=""
	for _ in $(seq 1 15); do
		bstap --list-servers=online > "$work/list.out" 2>&1
		grep -qxF -- "$want_line" "$work/list.out" && { gone=1; break; }
		sleep 1
	done
	[ -n "$gone" ] && pass "MOK removed: mok_info withdrawn" || fail "MOK removed" "$(cat "$work/list.out")"
fi

# --- avahi-daemon stops and returns -------------------------------------------------------------
in_a avahi-daemon --kill > /dev/null 2>&1
for _ in $(seq 1 50); do avahi_running a || break; sleep 0.1; done
sleep 1
if (cd "$cli/run" && bstap --use-server="192.0.2.1:$port" -r "$kver" -p4 -m avahi_hello2 \
	-e 'probe begin { printf("hi\n"); exit() }' > "$work/noavahi.out" 2>&1) &&
   kill -0 "$server_pid" 2> /dev/null; then
	pass "avahi-daemon gone: the server still answers over TLS"
else
	fail "serving without avahi-daemon" "$(tail -n 20 "$work/noavahi.out"; tail -n 5 "$slog")"
fi
grep -q "Avahi daemon disconnected" "$slog" && pass "the server logged the daemon's loss" ||
	fail "daemon loss logged" "$(tail -n 10 "$slog")"
before=$(grep -c "successfully established" "$slog")
in_a avahi-daemon --daemonize --no-drop-root --no-chroot --no-rlimits \
	-f "$work/stapa/avahi.conf" > /dev/null 2>&1
for _ in $(seq 1 50); do avahi_running a && break; sleep 0.1; done
note_daemons a
ok=""
for _ in $(seq 1 150); do
	[ "$(grep -c "successfully established" "$slog")" -gt "$before" ] && { ok=1; break; }
	sleep 0.1
done
if [ -n "$ok" ] && list_until online "$want_line" 15; then
	pass "avahi-daemon back: announced again, listed from stapb"
else
	fail "re-announce" "established=$ok $(cat "$work/list.out"; tail -n 10 "$slog")"
fi

# --- stopping the server withdraws it --------------------------------------------------------------
kill -TERM "$server_pid"
for _ in $(seq 1 100); do kill -0 "$server_pid" 2> /dev/null || break; sleep 0.1; done
kill -0 "$server_pid" 2> /dev/null && fail "server stops" "still running" || server_pid=""
if list_until online "certinfo=\"$certinfo\"" 10 absent; then
	pass "server stopped: gone from the list"
else
	fail "withdraw" "$(cat "$work/list.out")"
fi

# a trusted server that is not online: its certificate's host name,
# address=offline port=unknown (SystemTap 4.8's get_server_info_from_db)
offline_line=" host=stapa address=offline port=unknown sysinfo=\"unknown\" version=unknown certinfo=\"$certinfo\""
for props in trusted all; do
	bstap --list-servers="$props" > "$work/offline.out" 2>&1
	if grep -qxF -- "$offline_line" "$work/offline.out"; then
		pass "trusted server offline, --list-servers=$props: [$offline_line]"
	else
		fail "offline trusted =$props" "want [$offline_line] got: $(cat "$work/offline.out")"
	fi
done
bstap --use-server="$certinfo" --list-servers > "$work/offline-spec.out" 2>&1
bstap -r "$kver" --list-servers > "$work/offline-default.out" 2>&1
if grep -qxF -- "$offline_line" "$work/offline-spec.out" &&
   grep -qx "Systemtap Compile Server Status for 'specified'" "$work/offline-spec.out" &&
   grep -qx "No servers found" "$work/offline-default.out"; then
	pass "offline: listed when named by its serial (specified), not by the default list"
else
	fail "offline specified/default" "$(cat "$work/offline-spec.out" "$work/offline-default.out")"
fi
if [ -x /usr/bin/stap ]; then
	dstap --list-servers=trusted > "$work/doffline.out" 2>&1
	dstap --use-server="$certinfo" --list-servers > "$work/doffline-spec.out" 2>&1
	if grep -qxF -- "$offline_line" "$work/doffline.out" &&
	   grep -qxF -- "$offline_line" "$work/doffline-spec.out"; then
		pass "Debian's 4.8 stap --list-servers=trusted (and specified by serial) prints the same offline line"
	else
		fail "Debian's offline line" "want [$offline_line] got: $(cat "$work/doffline.out" "$work/doffline-spec.out")"
	fi
fi

# --- SystemTap's own stap-serverd 4.8, seen by both clients alike ---------------------------------
dserverd=/usr/lib/systemtap/stap-serverd
if [ -x "$dserverd" ] && [ -d "/lib/modules/$kver/build" ]; then
	dlog=$work/dserver.log
	dmoks=$work/stapa/dhome/.systemtap/ssl/server/moks
	start_dserver() {
		: > "$dlog"
		nsenter -t "$holder_a" -m -n -u -- env STAP_PR11197_OVERRIDE=1 HOME="$work/stapa/dhome" \
			SYSTEMTAP_DIR="$work/stapa/dhome/.systemtap" TMPDIR="$work/srv/tmp" \
			timeout 600 "$dserverd" -r "$kver" --port 5598 --log="$dlog" > "$work/dserver.out" 2>&1 &
		fake_pids+=($!)
		for _ in $(seq 1 600); do grep -q "successfully established" "$dlog" 2> /dev/null && break; sleep 0.1; done
	}
	start_dserver
	if [ -n "${fp:-}" ]; then
		# once its certificate exists, again with the MOK ours had
		for p in "${fake_pids[@]}"; do kill "$p" 2> /dev/null; done
		for _ in $(seq 1 50); do pgrep -f -- "--port 5598 --log=$dlog" > /dev/null || break; sleep 0.1; done
		fake_pids=()
		mkdir -p "$dmoks/$fp"
		cp "$mok_tmp/signing_key.x509" "$mok_tmp/signing_key.priv" "$dmoks/$fp/"
		start_dserver
	fi
	if list_until online "port=5598" 10; then
		in_b timeout 5 avahi-browse -r -p -t _stap._tcp > "$work/dbrowse.out" 2>&1
		ours=$(grep -F "port=5598" "$work/list.out")
		dstap --list-servers=online > "$work/dlist2.out" 2>&1
		# the 4.8 client's extra "fingerprints" cut off, the lines are equal
		theirs=$(grep -F "port=5598" "$work/dlist2.out" | sed -E 's/(mok_fingerprints="[^,"]*)[^"]*"/\1"/')
		if [ -n "$ours" ] && [ "$ours" = "$theirs" ] && [[ $ours == *"sysinfo=\"$kver x86_64\" version=4.8"* ]]; then
			pass "SystemTap 4.8's stap-serverd: our list line equals Debian's client's"
		else
			fail "Debian server listed" "ours [$ours] theirs [$theirs]"
		fi
		if [ -n "${fp:-}" ]; then
			# a 4.8 client reads our records as it reads the stock
			# server's: the same number of "fingerprints" for each
			count_fps() { grep -F "sysinfo=\"$kver x86_64\"" "$1" | grep -F "port=$2" |
				sed -nE 's/.*mok_fingerprints="([^"]*)".*/\1/p' | tr ',' '\n' | grep -c .; }
			n_stock=$(count_fps "$work/dlist2.out" 5598)
			n_ours=$(count_fps "$work/dlist-mok.out" "$port")
			mine=$(grep -F "port=5598" "$work/list.out" | grep -F "sysinfo=\"$kver x86_64\"")
			if [ "$n_stock" -ge 1 ] && [ "$n_stock" = "$n_ours" ] &&
			   [[ $mine == *"mok_fingerprints=\"$fp\"" ]]; then
				pass "MOK records: a 4.8 client sees ours as the stock server's ($n_stock value(s)); ours lists only mok_info"
			else
				fail "MOK records vs the stock server" "stock=$n_stock ours=$n_ours mine=[$mine] $(cat "$work/dlist2.out" "$work/dlist-mok.out")"
			fi
		fi
	else
		fail "Debian server listed" "$(cat "$work/list.out"; tail -n 5 "$dlog")"
	fi
	for p in "${fake_pids[@]}"; do kill "$p" 2> /dev/null; done
	fake_pids=()
else
	echo "SKIP: Debian's stap-serverd or /lib/modules/$kver/build missing"
fi

# --- --no-avahi ----------------------------------------------------------------------------------
slog=$work/server-noavahi.log
start_server --no-avahi
sleep 3
if grep -q "Not announcing" "$slog" && ! grep -q "Adding Avahi service" "$slog" &&
   list_until online "certinfo=\"$certinfo\"" 1 absent; then
	pass "--no-avahi: not announced"
else
	fail "--no-avahi" "$(cat "$slog" "$work/list.out")"
fi
kill -TERM "$server_pid"
for _ in $(seq 1 100); do kill -0 "$server_pid" 2> /dev/null || break; sleep 0.1; done
kill -0 "$server_pid" 2> /dev/null || server_pid=""

# --- a lasting failure to announce: logged once, its end logged ----------------------------------
# stapa's avahi-daemon refuses services from its clients
# (disable-user-service-publishing); the server tries again every 2 s
# and must not log each try.  Then the daemon comes back allowing them.
restart_avahi_a() { # CONFIG
	in_a avahi-daemon --kill > /dev/null 2>&1
	for _ in $(seq 1 50); do avahi_running a || break; sleep 0.1; done
	in_a avahi-daemon --daemonize --no-drop-root --no-chroot --no-rlimits -f "$1" > /dev/null 2>&1
	for _ in $(seq 1 50); do avahi_running a && break; sleep 0.1; done
	note_daemons a
}
sed 's/^\[publish\]$/[publish]\ndisable-user-service-publishing=yes/' "$work/stapa/avahi.conf" \
	> "$work/stapa/avahi-refusing.conf"
restart_avahi_a "$work/stapa/avahi-refusing.conf"
slog=$work/server-refused.log
start_server
sleep 10
fail_re="avahi_entry_group_new|Failed to add|Failed to commit|entry group failure"
nfail=$(grep -cE "$fail_re" "$slog")
nadd=$(grep -c "Adding Avahi service" "$slog")
if [ -n "${port:-}" ] && [ "$nfail" -eq 1 ] && [ "$nadd" -le 1 ] && ! grep -q "successfully established" "$slog"; then
	pass "avahi-daemon refusing the service for 10 s: one line says so ($(grep -E "$fail_re" "$slog" | sed 's/^[^:]*:[^:]*:[^:]*: //'))"
else
	fail "lasting failure logged once" "$nfail failure lines, $nadd 'Adding' lines: $(tail -n 12 "$slog")"
fi
restart_avahi_a "$work/stapa/avahi.conf"
if wait_log "Avahi: registered again" 20 && grep -q "successfully established" "$slog"; then
	pass "avahi-daemon accepting again: 'Avahi: registered again' logged"
else
	fail "recovery logged" "$(tail -n 12 "$slog")"
fi
kill -TERM "$server_pid"
for _ in $(seq 1 100); do kill -0 "$server_pid" 2> /dev/null || break; sleep 0.1; done
kill -0 "$server_pid" 2> /dev/null || server_pid=""

# --- IPv6 link-local only --------------------------------------------------------------------------
# Both hosts lose their IPv4 address and get one fixed link-local IPv6
# address each (no other: the kernel's own is flushed), and Avahi runs on
# IPv6 only.  The client finds the server at fe80::a%<its veth> (the
# scope is the interface Avahi found it on, printed by name as
# SystemTap's PR_NetAddrToString does) and compiles through it.
lla=fe80::a llb=fe80::b vb=${tag}vb
for h in a b; do "in_$h" avahi-daemon --kill > /dev/null 2>&1; done
for _ in $(seq 1 50); do avahi_running a || avahi_running b || break; sleep 0.1; done
v6_host() { # NS IFACE V4 LINKLOCAL
	ip -n "$1" addr del "$3/24" dev "$2" &&
	ip -n "$1" link set dev "$2" addrgenmode none &&
	ip -n "$1" -6 addr flush dev "$2" &&
	ip -n "$1" addr add "$4/64" dev "$2" nodad
}
v6ok=""
if v6_host "$nsa" "${tag}va" 192.0.2.1 "$lla" && v6_host "$nsb" "$vb" 192.0.2.2 "$llb"; then
	for h in a b; do
		sed -i 's/^use-ipv4=yes/use-ipv4=no/; s/^use-ipv6=no/use-ipv6=yes/' "$work/stap$h/avahi.conf"
		"in_$h" avahi-daemon --daemonize --no-drop-root --no-chroot --no-rlimits \
			-f "$work/stap$h/avahi.conf" > /dev/null 2>&1
	done
	for _ in $(seq 1 50); do avahi_running a && avahi_running b && break; sleep 0.1; done
	note_daemons a
	note_daemons b
	addrs_a=$(ip -n "$nsa" -o addr show dev "${tag}va" | awk '{print $4}' | tr '\n' ' ')
	if avahi_running a && avahi_running b && [ "$addrs_a" = "$lla/64 " ]; then
		v6ok=1
		pass "IPv6 link-local only: stapa has $addrs_a, avahi-daemon on IPv6 only"
	else
		fail "IPv6 link-local set-up" "addresses [$addrs_a]"
	fi
else
	fail "IPv6 link-local set-up" "ip failed"
fi
if [ -n "$v6ok" ]; then
	slog=$work/server-v6.log
	start_server
	ll_line=" host=stapa.local address=$lla%$vb port=$port sysinfo=\"$kver x86_64\" version=4.8 certinfo=\"$certinfo\""
	if [ -n "${port:-}" ] && wait_log "successfully established" 10 && list_until online "$ll_line" 15; then
		pass "found through Avahi over IPv6: [$ll_line]"
	else
		fail "link-local listed" "want [$ll_line] got: $(cat "$work/list.out"; tail -n 5 "$slog")"
	fi
	if [ -x /usr/bin/stap ]; then
		dstap --list-servers=online > "$work/dlist-v6.out" 2>&1
		theirs=$(grep -F "port=$port " "$work/dlist-v6.out")
		[ "$theirs" = "$ll_line" ] && pass "Debian's 4.8 stap prints the same link-local line" ||
			fail "Debian's link-local line" "want [$ll_line] got: $(cat "$work/dlist-v6.out")"
	fi
	if (cd "$cli/run" && bstap --use-server -vv -r "$kver" -p4 -m avahi_ll \
		-e 'probe begin { printf("hi\n"); exit() }' > "$work/ll.out" 2> "$work/ll.err") &&
	   [ -s "$cli/run/avahi_ll.ko" ] && grep -qF "[$lla%$vb]:$port" "$work/ll.err"; then
		pass "bare --use-server: compiled through [$lla%$vb]:$port"
	else
		fail "compile over link-local" "$(tail -n 20 "$work/ll.err")"
	fi
	for spec in "[$lla%$vb]:$port" "$lla%$vb" "$lla" "[$lla]"; do
		spec_build "$spec" avahi_ll_ "--use-server=$spec over link-local"
	done
fi

finish
