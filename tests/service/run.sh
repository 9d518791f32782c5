#!/usr/bin/env bash
# tests/service/run.sh: the compile server as a service.
#   - systemd/: `systemd-analyze verify` finds nothing to say about the unit
#     (and does complain about a broken copy), its offline security score,
#     the sandbox settings it must have; sysusers.d makes the three groups
#     and the stap-server user in a scratch root; tmpfiles.d makes its
#     directories there; the default configuration parses; `make install`
#     puts all of them where configure says; every installed program has a
#     man page, clean under groff -ww.
#   - stap-serverd (as root with STAP_PR11197_OVERRIDE=1, on 127.0.0.1):
#     SIGHUP keeps the same process and port serving, follows a rotated
#     log, re-reads --config (a live limit takes effect, a port change is
#     logged as needing a restart, an option the command line gave, even
#     abbreviated as --priv=, stays), loads a replaced certificate; SIGTERM
#     during a build finishes it and removes every request directory; a
#     second SIGTERM kills the build and still leaves nothing behind; under
#     systemd (JOURNAL_STREAM) the log lines go undated to stderr.
#   - stap-server: reload, condrestart (same options, new pid), restart,
#     condrestart and reload with no server running.
# Works without systemd as PID 1 (nothing here talks to a running systemd).
#
#   tests/service/run.sh          (as root)
#
# Ends with "N passed, N failed"; exit 0 when none failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
kver=${STAP_KVER:-6.1.0-56-amd64}
. "$top/tests/lib/check.sh"
give_up() { echo "service-test: $*"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }

[ "$(id -u)" = 0 ] || give_up "needs root"
for t in systemd-analyze systemd-sysusers systemd-tmpfiles; do
	command -v "$t" > /dev/null || give_up "$t missing (scripts/setup.sh installs systemd)"
done
[ -x "$top/stap-serverd" ] || give_up "$top/stap-serverd not built"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stapcs-service.XXXXXX") || give_up "no scratch directory"
check_out=$tmp/check.out
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2> /dev/null; done
	STAP_SERVER_RUNDIR=$tmp/run "$top/server/stap-server" stop > /dev/null 2>&1
	[ -n "${STAPCS_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT

# ---- systemd/ ------------------------------------------------------------------
make -s -C "$top" systemd/stap-server.service > "$tmp/gen.log" 2>&1 || give_up "$(cat "$tmp/gen.log")"
unit=$top/systemd/stap-server.service
mkdir -p "$tmp/units"
# verify wants the ExecStart program to exist: the built one stands in
sed -E "s|^ExecStart=[^ ]*/stap-serverd|ExecStart=$top/stap-serverd|" "$unit" > "$tmp/units/stap-server.service"
check unit-execstart-serverd grep -qE '^ExecStart=/.*/stap-serverd --config=/.*/stapcs/stap-server.conf$' "$unit"
systemd-analyze verify --man=no "$tmp/units/stap-server.service" > "$tmp/verify.out" 2>&1
rc=$?
check unit-verify-clean sh -c "cat '$tmp/verify.out'; [ $rc -eq 0 ] && [ ! -s '$tmp/verify.out' ]"
# the same check must see a broken unit
{ cat "$tmp/units/stap-server.service"; printf 'ProtectSytem=strict\n'; } |
	sed 's/^PrivateTmp=yes/PrivateTmp=perhaps/' > "$tmp/units/broken.service"
systemd-analyze verify --man=no "$tmp/units/broken.service" > "$tmp/broken.out" 2>&1
check unit-verify-sees-errors sh -c "grep -q ProtectSytem '$tmp/broken.out' && grep -q 'ignoring: perhaps' '$tmp/broken.out'"
for d in 'User=stap-server' 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'PrivateTmp=yes' \
	'ProtectHome=yes' 'StateDirectory=stap-server' 'CacheDirectory=stap-server' \
	'LogsDirectory=stap-server' 'ExecReload=/bin/kill -HUP $MAINPID' 'CapabilityBoundingSet=' \
	'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK' 'LimitNOFILE=8192' 'TasksMax=4096'; do
	check "unit-has-${d%%=*}" grep -qxF -- "$d" "$unit"
done
systemd-analyze security --offline=true "$tmp/units/stap-server.service" > "$tmp/security.out" 2>&1
score=$(sed -nE 's/.*Overall exposure level for .*: ([0-9.]+) .*/\1/p' "$tmp/security.out")
check unit-exposure-at-most-3.5 sh -c "echo 'exposure: ${score:-none}'; [ -n '$score' ] && awk 'BEGIN { exit !($score <= 3.5) }'"

# sysusers.d in an empty root: three groups, the user with its home and no shell
sys=$tmp/sysroot
mkdir -p "$sys/etc"
systemd-sysusers --root="$sys" "$top/systemd/sysusers.d/stapcs.conf" > "$tmp/sysusers.out" 2>&1
rc=$?
check sysusers-runs sh -c "cat '$tmp/sysusers.out'; [ $rc -eq 0 ]"
for g in stapusr stapsys stapdev stap-server; do
	check "sysusers-group-$g" grep -q "^$g:x:[0-9]*:" "$sys/etc/group"
done
check sysusers-user sh -c "grep -E '^stap-server:x:[0-9]+:[0-9]+:[^:]*:/var/lib/stap-server:/usr/sbin/nologin\$' '$sys/etc/passwd'"
check sysusers-system-ids sh -c "id=\$(awk -F: '\$1 == \"stap-server\" { print \$3 }' '$sys/etc/passwd'); [ \"\$id\" -lt 1000 ]"
systemd-sysusers --dry-run "$top/systemd/sysusers.d/stapcs.conf" > "$tmp/sysusers-dry.out" 2>&1
rc=$?
check sysusers-dry-run-here sh -c "cat '$tmp/sysusers-dry.out'; [ $rc -eq 0 ]"

# tmpfiles.d in the same root (its user and groups now exist there)
systemd-tmpfiles --root="$sys" --create "$top/systemd/tmpfiles.d/stapcs.conf" > "$tmp/tmpfiles.out" 2>&1
rc=$?
check tmpfiles-runs sh -c "cat '$tmp/tmpfiles.out'; [ $rc -eq 0 ]"
check tmpfiles-kernel-store sh -c "[ \"\$(stat -c '%a %U' '$sys/var/lib/stapcs/kernels')\" = '755 root' ]"
uid=$(awk -F: '$1 == "stap-server" { print $3 }' "$sys/etc/passwd")
check tmpfiles-rundir sh -c "[ \"\$(stat -c '%a %u' '$sys/run/stap-server')\" = '755 $uid' ]"
check tmpfiles-logdir sh -c "[ \"\$(stat -c '%a %u' '$sys/var/log/stap-server')\" = '750 $uid' ]"

# the default configuration: every key known, every value valid
check config-default-parses "$top/stap-serverd" --config="$top/systemd/stap-server.conf" --help
printf 'PORT=5556\nBOGUS=1\n' > "$tmp/bad.conf"
"$top/stap-serverd" --config="$tmp/bad.conf" --help > "$tmp/bad.out" 2>&1
rc=$?
check config-unknown-key-refused sh -c "cat '$tmp/bad.out'; [ $rc -eq 1 ] && grep -q 'bad.conf:2: unknown key BOGUS' '$tmp/bad.out'"
printf 'MAXREQSIZE=lots\n' > "$tmp/bad2.conf"
"$top/stap-serverd" --config="$tmp/bad2.conf" --help > "$tmp/bad2.out" 2>&1
rc=$?
check config-bad-value-refused sh -c "cat '$tmp/bad2.out'; [ $rc -ne 0 ] && grep -q 'lots' '$tmp/bad2.out'"
# --config in the spellings getopt takes is read too (--conf=FILE, --co FILE)
"$top/stap-serverd" --conf="$tmp/bad.conf" --help > "$tmp/bad3.out" 2>&1
rc=$?
check config-abbreviated-read sh -c "cat '$tmp/bad3.out'; [ $rc -eq 1 ] && grep -q 'bad.conf:2: unknown key BOGUS' '$tmp/bad3.out'"
"$top/stap-serverd" --co "$tmp/bad.conf" --help > "$tmp/bad4.out" 2>&1
rc=$?
check config-abbreviated-two-words-read sh -c "cat '$tmp/bad4.out'; [ $rc -eq 1 ] && grep -q 'bad.conf:2: unknown key BOGUS' '$tmp/bad4.out'"

# make install: the unit, sysusers.d, tmpfiles.d and the configuration
makevar() {	# NAME: the value make gives a variable of the top-level Makefile
	printf 'print-stapcs-var:\n\t@echo $(%s)\n' "$1" |
		make -s --no-print-directory -C "$top" -f Makefile -f - print-stapcs-var | tail -n 1
}
dest=$tmp/dest
make -C "$top" install DESTDIR="$dest" > "$tmp/install.log" 2>&1
check make-install sh -c "tail -n 5 '$tmp/install.log'; grep -q 'Error' '$tmp/install.log' && exit 1; true"
check install-unit test -f "$dest$(makevar systemdsystemunitdir)/stap-server.service"
check install-sysusers test -f "$dest$(makevar sysusersdir)/stapcs.conf"
check install-tmpfiles test -f "$dest$(makevar tmpfilesdir)/stapcs.conf"
check install-config test -f "$dest$(makevar sysconfdir)/stapcs/stap-server.conf"
check install-logrotate test -f "$dest$(makevar sysconfdir)/logrotate.d/stap-server"
check install-unit-paths grep -qF "ExecStart=$(makevar bindir)/stap-serverd --config=$(makevar sysconfdir)/stapcs/stap-server.conf" \
	"$dest$(makevar systemdsystemunitdir)/stap-server.service"

# man pages: one for every installed program, each clean under groff -ww
mandir=$(makevar mandir)
for p in $(makevar bin_PROGRAMS) $(makevar dist_bin_SCRIPTS); do
	n=$(basename "$p")
	check "man-page-$n" sh -c "ls '$dest$mandir'/man[18]/$n.[18]"
done
for m in $(makevar dist_man1_MANS) $(makevar dist_man8_MANS); do
	check "groff-clean-$(basename "$m")" sh -c "out=\$(groff -man -Tutf8 -ww -z '$top/$m' 2>&1); echo \"\$out\"; [ -z \"\$out\" ]"
done

# ---- stap-serverd: SIGHUP and SIGTERM ---------------------------------------------
"$top/scripts/stap-prep" "$kver" > "$tmp/prep.log" 2>&1 || give_up "stap-prep: $(tail -n 5 "$tmp/prep.log")"
export STAP_PR11197_OVERRIDE=1	# the tests run as root
srv=$tmp/srv
mkdir -p "$srv/tmp" "$srv/home" "$tmp/client/home" "$tmp/client/run"
log=$srv/server.log
conf=$srv/stap-server.conf
cat > "$conf" << EOF
LISTEN=127.0.0.1
PORT=0
RELEASE=$kver
LOG=$log
CACHE_SIZE=0
MAXTHREADS=2
MAXCOMPRESSEDREQ=16M
AVAHI=no
EOF
serverd() {	# OPTIONS...: the server in the background, as the unit runs it
	env HOME="$srv/home" SYSTEMTAP_DIR="$srv/stapdir" TMPDIR="$srv/tmp" \
		SYSTEMTAP_TAPSET="$top/tapset" SYSTEMTAP_RUNTIME="$top/runtime/kernel" \
		"$top/stap-serverd" --config="$conf" "$@" > "$srv/out" 2>&1 &
	server=$!
	pids+=("$server")
}
count_in() { local c; c=$(grep -c -- "$2" "$1" 2> /dev/null); echo "${c:-0}"; }
port_of() { grep 'Using network address' "$1" | tail -n 1 | sed -E 's/.*\]:([0-9]+)$/\1/'; }
ostap() {	# our client, its own trust store
	(cd "$tmp/client/run" && env HOME="$tmp/client/home" SYSTEMTAP_DIR="$tmp/client/home/.systemtap" \
		"$top/stap" --use-server="127.0.0.1:$port" "$@")
}
p2() { ostap -r "$kver" -p2 -e 'probe begin { printf("hello\n"); exit() }'; }
leftovers() { find "$srv/tmp" -mindepth 1 -maxdepth 1 -name 'stap-server.*' | head -n 5; }

serverd
wait_log "$log" 'Using network address' 1 || give_up "the server did not start: $(cat "$srv/out" "$log")"
port=$(port_of "$log")
check config-keys-in-force sh -c "grep -q 'Using network address \[127.0.0.1\]' '$log' && grep -q 'Kernel $kver' '$log' && grep -q 'through Avahi (--no-avahi)' '$log'"
ostap --trust-servers=ssl,no-prompt > "$tmp/trust.out" 2>&1
p2 > "$tmp/p2a.out" 2>&1
check serves-before-hup grep -q begin "$tmp/p2a.out"

# log rotation: the old file moved away, SIGHUP, the server writes a new one
mv "$log" "$log.1"
kill -HUP "$server"
wait_log "$log" 'Received SIGHUP' 1
check hup-reopens-log grep -q 'Received SIGHUP: reloading' "$log"
check hup-same-process kill -0 "$server"
check hup-config-read-again grep -q "Configuration $conf read again" "$log"
check hup-kernels-listed grep -q "Kernel $kver" "$log"
check hup-certificate-checked grep -q 'unchanged and valid' "$log"
check hup-no-new-listener sh -c "[ \$(grep -c 'Using network address' '$log') -eq 0 ]"
p2 > "$tmp/p2b.out" 2>&1
check serves-after-hup grep -q begin "$tmp/p2b.out"
check request-logged-in-new-log sh -c "grep -q '127.0.0.1' '$log' && [ \$(grep -c 'Received SIGHUP' '$log.1') -eq 0 ]"

# a live limit from the configuration, then a port change that must wait
sed -i 's/^MAXCOMPRESSEDREQ=.*/MAXCOMPRESSEDREQ=100/' "$conf"
kill -HUP "$server"
wait_log "$log" 'Received SIGHUP' 2
check hup-applies-live-key grep -q 'MAXCOMPRESSEDREQ=100 from now on' "$log"
p2 > "$tmp/p2c.out" 2>&1
check live-limit-refuses sh -c "! grep -q begin '$tmp/p2c.out' && grep -q 'this server accepts at most 100 (--max-compressed-request)' '$log'"
sed -i -e 's/^MAXCOMPRESSEDREQ=.*/MAXCOMPRESSEDREQ=16M/' -e 's/^PORT=.*/PORT=1/' "$conf"
kill -HUP "$server"
wait_log "$log" 'Received SIGHUP' 3
check hup-port-needs-restart grep -q 'PORT changed: it takes effect at the next restart' "$log"
p2 > "$tmp/p2d.out" 2>&1
check live-limit-lifted grep -q begin "$tmp/p2d.out"
sed -i 's/^PORT=.*/PORT=0/' "$conf"

# a bad configuration on SIGHUP is logged and changes nothing
cp "$conf" "$conf.good"
echo 'NOPE=1' >> "$conf"
kill -HUP "$server"
wait_log "$log" 'Received SIGHUP' 4
check hup-bad-config-kept sh -c "grep -q 'Configuration not reloaded: .*unknown key NOPE' '$log' && kill -0 $server"
cp "$conf.good" "$conf"

# a replaced certificate database is loaded; clients trust the new one
old=$(sed -nE 's/.*Certificate ([0-9a-f:]+) in .* is valid$/\1/p' "$log.1" | tail -n 1)
SYSTEMTAP_DIR="$srv/stapdir" "$top/stap-gen-cert" "$srv/stapdir/ssl/server" > "$tmp/gencert.out" 2>&1
kill -HUP "$server"
wait_log "$log" 'Received SIGHUP' 5
wait_log "$log" ' is valid$' 1
new=$(sed -nE 's/.*Certificate ([0-9a-f:]+) in .* is valid$/\1/p' "$log" | tail -n 1)
check hup-loads-new-certificate sh -c "echo 'old $old new $new'; grep -q 'changed: loading it' '$log' && [ -n '$new' ] && [ '$new' != '$old' ]"
ostap --trust-servers=ssl,no-prompt > "$tmp/trust2.out" 2>&1
p2 > "$tmp/p2e.out" 2>&1
check serves-with-new-certificate grep -q begin "$tmp/p2e.out"

# SIGTERM during a build: the build finishes, the server exits 0, nothing left.
# The build is held: its embedded C includes a fifo, which gcc (and then
# kbuild's fixdep) can open only when the test writes to it, so the signal
# always comes mid-build.
mkfifo "$tmp/hold"
printf '%%{\n#include "%s"\n%%}\nprobe begin { printf("held\\n"); exit() }\n' "$tmp/hold" > "$tmp/hold.stp"
p4() { ostap -r "$kver" -p4 -g "$tmp/hold.stp"; }
n=$(count_in "$log" 'Options passed from the client')
p4 > "$tmp/p4a.out" 2>&1 &
client=$!
wait_log "$log" 'Options passed from the client' $((n + 1))
kill -TERM "$server"
sleep 1
# gcc opens the fifo, then kbuild's fixdep does (it reads every dependency):
# feed whoever opens it until the client is done (at most 5 opens, 60 s each)
for _ in 1 2 3 4 5; do
	kill -0 "$client" 2> /dev/null || break
	timeout 60 sh -c "echo '/* the build may go on */' > '$tmp/hold'" 2> /dev/null
	sleep 2
done
wait "$client"
crc=$?
wait "$server"
src=$?
check sigterm-finishes-build sh -c "cat '$tmp/p4a.out'; [ $crc -eq 0 ] && grep -qE '^stap_[0-9a-f_]+\.ko\$' '$tmp/p4a.out'"
check sigterm-exit-0 sh -c "tail -n 3 '$log'; [ $src -eq 0 ] && grep -q 'Server stopped' '$log'"
check sigterm-no-request-dirs sh -c "l=\$(find '$srv/tmp' -mindepth 1 -maxdepth 1); echo \"\$l\"; [ -z \"\$l\" ]"

# a second SIGTERM: the build is killed, still nothing left behind
n=$(count_in "$log" 'Using network address')
serverd
wait_log "$log" 'Using network address' $((n + 1)) || give_up "the server did not start again"
port=$(port_of "$log")
p4 > "$tmp/p4b.out" 2>&1 &	# held for ever: nothing writes to the fifo now
client=$!
for _ in $(seq 1 100); do [ -n "$(leftovers)" ] && break; sleep 0.1; done
kill -TERM "$server"
sleep 0.5
kill -TERM "$server"
wait "$server"
src=$?
wait "$client"
check second-sigterm-exit-1 sh -c "tail -n 3 '$log'; [ $src -eq 1 ] && grep -q 'unfinished' '$log'"
sleep 1
check second-sigterm-no-request-dirs sh -c "l=\$(find '$srv/tmp' -mindepth 1 -maxdepth 1); echo \"\$l\"; [ -z \"\$l\" ]"
check second-sigterm-no-build-left sh -c "! pgrep -f '$srv/tm[p]/stap-server' > /dev/null"

# under systemd (JOURNAL_STREAM set) the log goes to stderr without dates
env HOME="$srv/home" SYSTEMTAP_DIR="$srv/stapdir" TMPDIR="$srv/tmp" JOURNAL_STREAM=8:12345 \
	SYSTEMTAP_TAPSET="$top/tapset" SYSTEMTAP_RUNTIME="$top/runtime/kernel" \
	"$top/stap-serverd" --listen 127.0.0.1 --port 0 --no-avahi > "$srv/journal.out" 2>&1 &
server=$!
pids+=("$server")
wait_log "$srv/journal.out" 'Using network address' 1
kill -TERM "$server"
wait "$server"
check journal-lines-undated sh -c "head -n 3 '$srv/journal.out'; head -n 1 '$srv/journal.out' | grep -q '^===== compile server pid [0-9]* starting =====\$' && grep -q '^Server stopped\$' '$srv/journal.out'"

# the command line wins over --config, also after SIGHUP, in every spelling
# getopt takes: --priv=stapusr (abbreviated) against PRIVILEGE=stapdev.
# The client asks for stapdev (its default): refused before and after.
cp "$conf" "$conf.good"
echo 'PRIVILEGE=stapdev' >> "$conf"
n=$(count_in "$log" 'Using network address')
serverd --priv=stapusr
wait_log "$log" 'Using network address' $((n + 1)) || give_up "the server did not start with --priv=stapusr"
port=$(port_of "$log")
refusals() { count_in "$log" 'refused: this server builds modules up to --privilege=stapusr only'; }
r=$(refusals)
p2 > "$tmp/priv1.out" 2>&1
check priv-abbreviated-in-force sh -c "cat '$tmp/priv1.out'; ! grep -q begin '$tmp/priv1.out' && [ $(refusals) -eq $((r + 1)) ]"
n=$(count_in "$log" "Configuration $conf read again")
kill -HUP "$server"
wait_log "$log" "Configuration $conf read again" $((n + 1))
p2 > "$tmp/priv2.out" 2>&1
check priv-abbreviated-survives-hup sh -c "cat '$tmp/priv2.out'; grep 'PRIVILEGE' '$log'; ! grep -q begin '$tmp/priv2.out' && [ $(refusals) -eq $((r + 2)) ] && ! grep -q 'PRIVILEGE=stapdev from now on' '$log'"
kill -TERM "$server"
wait "$server"
cp "$conf.good" "$conf"

# ---- stap-server, the control script ---------------------------------------------
ctl() { env STAP_SERVER_RUNDIR="$tmp/run" HOME="$srv/home" SYSTEMTAP_DIR="$srv/stapdir" TMPDIR="$srv/tmp" \
	SYSTEMTAP_TAPSET="$top/tapset" SYSTEMTAP_RUNTIME="$top/runtime/kernel" "$top/server/stap-server" "$@"; }
ctl condrestart > "$tmp/cond0.out" 2>&1
rc=$?
check condrestart-none-running sh -c "cat '$tmp/cond0.out'; [ $rc -eq 0 ] && grep -q 'no server running' '$tmp/cond0.out' && [ -z \"\$(ls '$tmp/run'/*.pid 2> /dev/null)\" ]"
ctl reload > "$tmp/reload0.out" 2>&1
check reload-none-running-exit-3 test $? -eq 3
ctl start --config="$conf" > "$tmp/start.out" 2>&1
pid1=$(tail -n 1 "$tmp/start.out")
check ctl-start sh -c "cat '$tmp/start.out'; kill -0 '$pid1'"
n=$(count_in "$log" 'Received SIGHUP')
ctl reload > "$tmp/reload.out" 2>&1
wait_log "$log" 'Received SIGHUP' $((n + 1))
check ctl-reload sh -c "grep -q 'reloading $pid1' '$tmp/reload.out' && kill -0 '$pid1' && [ \$(grep -c 'Received SIGHUP' '$log') -gt $n ]"
starts=$(count_in "$log" 'Using network address')
ctl condrestart > "$tmp/cond.out" 2>&1
pid2=$(tail -n 1 "$tmp/cond.out")
check ctl-condrestart-new-pid sh -c "cat '$tmp/cond.out'; [ '$pid2' != '$pid1' ] && kill -0 '$pid2' && ! kill -0 '$pid1' 2> /dev/null"
check ctl-condrestart-same-options sh -c "[ \$(grep -c 'Using network address \[127.0.0.1\]' '$log') -gt $starts ] && tr '\0' ' ' < '$tmp/run/$pid2.args' | grep -q -- '--config=$conf'"
ctl restart > "$tmp/restart.out" 2>&1
pid3=$(tail -n 1 "$tmp/restart.out")
check ctl-restart sh -c "cat '$tmp/restart.out'; [ '$pid3' != '$pid2' ] && kill -0 '$pid3'"
ctl stop > "$tmp/stop.out" 2>&1
check ctl-stop sh -c "! kill -0 '$pid3' 2> /dev/null && [ -z \"\$(ls '$tmp/run' 2> /dev/null)\" ]"
check ctl-no-request-dirs sh -c "l=\$(find '$srv/tmp' -mindepth 1 -maxdepth 1); echo \"\$l\"; [ -z \"\$l\" ]"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
