#!/usr/bin/env bash
# Every test: unit tests (cmocka), the pass-1/2 corpus, Debian's example
# scripts, the same under AddressSanitizer/UBSan, the fuzz regressions,
# the installed modes (staprun setuid), the compile service on loopback
# (certificates, client, server), the server as a service and the Debian
# packages, and the QEMU target runs (smoke,
# transport, end-to-end scripts).
# Ends with one line "N passed, N failed[, N skipped]"; exit 0 when none failed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/scripts/setup.sh" || { echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0 skipped=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# add the counts from a suite's closing "N passed, N failed[, N skipped]"
count() {
	local name=$1 out=$2 line p f s
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	if [ -z "$line" ]; then
		echo "== $name: no result line (counted as one failure)"
		tail -n 20 "$out"
		failed=$((failed + 1))
		return
	fi
	p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
	s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
	echo "== $name: $line"
	grep -E '^(FAIL|\[  FAILED|\[  ERROR)' "$out" | head -n 40
}

# cmocka programs: each prints "[  PASSED  ] N test(s)." and maybe "[  FAILED  ] N test(s)"
unit() { # DIR
	local dir=$1 t out p f total_p=0 total_f=0
	for t in "$dir"/tests/unit/test_*; do
		[ -x "$t" ] && [ ! -d "$t" ] || continue
		case $t in *.c|*.o) continue ;; esac
		out=$("$t" 2>&1)
		p=$(echo "$out" | sed -nE 's/^\[  PASSED  \] ([0-9]+) test.*/\1/p')
		f=$(echo "$out" | sed -nE 's/^\[  FAILED  \] ([0-9]+) test.*/\1/p')
		[ -n "$p$f" ] || { f=1; echo "FAIL $(basename "$t"): crashed or printed no summary"; }
		total_p=$((total_p + ${p:-0})); total_f=$((total_f + ${f:-0}))
		echo "$out" | grep -E '^\[  (FAILED|ERROR)' | sed "s|^|$(basename "$t"): |"
	done
	echo "$total_p passed, $total_f failed"
}

make -s check > /dev/null 2>&1   # builds the unit test programs
unit "$top" > "$log/unit" 2>&1;              count "unit tests (cmocka)" "$log/unit"
tests/corpus/run.sh > "$log/corpus" 2>&1;    count "corpus (pass 1/2)" "$log/corpus"
tests/examples/run.sh > "$log/examples" 2>&1; count "Debian examples (pass 1)" "$log/examples"

# The same tests against a build with -fsanitize=address,undefined.
asan="$top/build-asan"
if scripts/build-asan.sh "$asan" > "$log/asan-build" 2>&1; then
	unit "$asan" > "$log/asan-unit" 2>&1;        count "unit tests under ASan/UBSan" "$log/asan-unit"
	tests/corpus/run.sh "$asan/stap" > "$log/asan-corpus" 2>&1
	count "corpus under ASan/UBSan" "$log/asan-corpus"
	tests/examples/run.sh "$asan/stap" > "$log/asan-examples" 2>&1
	count "Debian examples under ASan/UBSan" "$log/asan-examples"
else
	echo "== ASan/UBSan build failed:"; tail -n 30 "$log/asan-build"
	failed=$((failed + 1))
fi

if [ -x tests/fuzz/replay.sh ]; then
	tests/fuzz/replay.sh > "$log/fuzz" 2>&1;   count "fuzz regressions and seeds" "$log/fuzz"
fi

# `make install` into a scratch DESTDIR: staprun setuid root:stapusr 4750,
# stapio 0755, and a warning when not root.
tests/install/run.sh > "$log/install" 2>&1;    count "make install (staprun setuid root:stapusr 4750)" "$log/install"

# The compile service on loopback, with real NSS TLS: certificates and
# signatures (against SystemTap 4.8's tools), our client (against Debian's
# stap-serverd 4.8 and a hostile fake server), our server (against Debian's
# 4.8 client, hostile requests, 100 concurrent clients, the cache).
tests/certs/run.sh > "$log/certs" 2>&1;        count "certificates, signatures, trust stores, TLS" "$log/certs"
tests/client/run.sh > "$log/client" 2>&1;      count "thin client (stap --use-server)" "$log/client"
tests/client/http_poll.sh > "$log/http-poll" 2>&1; count "thin client over HTTP: polling against fake servers" "$log/http-poll"
# The server as a service: systemd unit, sysusers.d, tmpfiles.d, config;
# SIGHUP reload and SIGTERM clean-up; the stap-server control script.
tests/service/run.sh > "$log/service" 2>&1;    count "service (systemd/, SIGHUP, SIGTERM, stap-server)" "$log/service"
# debian/: .deb packages built from a copy of the tree, installed with apt in
# a fresh Debian 12 root; the installed server builds the main job's module
# there, which the installed staprun runs in the QEMU target (--vm).
tests/packaging/run.sh --vm > "$log/packaging" 2>&1; count "Debian packages (build, install in a fresh root, main job from them)" "$log/packaging"
# Avahi between two hosts in network namespaces (their own dbus and
# avahi-daemon): announcing, --list-servers, a bare --use-server.
tests/avahi/run.sh > "$log/avahi" 2>&1;        count "Avahi discovery (two hosts in namespaces)" "$log/avahi"
# The HTTP/JSON API (docs/http-api.md): endpoints, errors, hostile input,
# metrics, the document's examples, --use-http-server, the status page in
# headless Chromium; its last step runs an HTTP-built module in the VM.
tests/http/run.sh --vm > "$log/http" 2>&1;      count "HTTP/JSON API (stap-serverd --http-port)" "$log/http"

# The QEMU target: a Debian kernel from the archive (scripts/stap-prep),
# booted under TCG; a hand-written module, the transport with our
# staprun/stapio, then scripts built by stap -p4 and run end to end.
tests/vm/smoke.sh > "$log/vm-smoke" 2>&1;      count "QEMU target smoke test" "$log/vm-smoke"
tests/vm/proto/run.sh > "$log/vm-proto" 2>&1;  count "transport and staprun/stapio in the VM" "$log/vm-proto"
tests/e2e/run.sh > "$log/e2e" 2>&1;            count "end to end (stap -p4, staprun in the VM)" "$log/e2e"
tests/e2e/repro.sh > "$log/repro" 2>&1;        count "reproducible modules and their identity sections" "$log/repro"
tests/e2e/debian-staprun.sh > "$log/deb48" 2>&1; count "our modules under Debian's staprun/stapio 4.8" "$log/deb48"
tests/server/run.sh > "$log/server" 2>&1;      count "compile server (stap-serverd) on loopback" "$log/server"
tests/privilege/run.sh > "$log/privilege" 2>&1; count "trust and privilege: staprun as real users in the VM" "$log/privilege"

if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
