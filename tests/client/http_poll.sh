#!/usr/bin/env bash
# tests/client/http_poll.sh: how `stap --use-http-server=URL` follows a build
# (client/remote_http.c), against a small fake HTTP API server in python3
# on 127.0.0.1 (plain http:// is allowed to a loopback address):
#   - a server that answers every long-poll at once with "queued" (as ours
#     does when its long-poll slots are busy, or a hostile one) is polled a
#     handful of times, with growing pauses, until STAP_CLIENT_TIMEOUT;
#     no ?wait= asks for longer than that timeout;
#   - a build that ends after one early answer is fetched after one pause;
#   - a URL whose host is a certificate serial is refused with a clear
#     message, clean under valgrind (when installed).
# No root needed; nothing leaves 127.0.0.1.
#
#   tests/client/http_poll.sh
#
# Ends with "N passed, N failed"; exit 0 when none failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
stap=${STAP_CLIENT:-$top/stap}
. "$top/tests/lib/check.sh"
give_up() { echo "http-poll-test: $*"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }

[ -x "$stap" ] || give_up "$stap not built"
command -v python3 > /dev/null || give_up "python3 missing"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stapcs-http-poll.XXXXXX") || give_up "no scratch directory"
check_out=$tmp/check.out
fake_pid=""
cleanup() {
	[ -n "$fake_pid" ] && kill "$fake_pid" 2> /dev/null && wait "$fake_pid" 2> /dev/null
	[ -n "${STAPCS_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir -p "$tmp/home" "$tmp/run"
export HOME=$tmp/home SYSTEMTAP_DIR=$tmp/home/.systemtap TMPDIR=$tmp
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent	# no Avahi
unset STAP_CLIENT_TIMEOUT

# The fake: POST /v1/builds -> 202 to /v1/builds/ab.  In mode "queued"
# every GET of the build answers "queued" at once; in mode "done" the
# second one answers "done" with a response_url (whose archive is junk).
# Each request is one line of its log: "METHOD PATH".
cat > "$tmp/fake.py" << 'EOF'
import http.server, json, sys
mode, log = sys.argv[1], open(sys.argv[2], "a", buffering=1)
polls = 0
class Api(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def answer(self, code, body, ctype="application/json", location=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        log.write("POST %s\n" % self.path)
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.answer(202, json.dumps({"id": "ab", "state": "queued"}).encode(),
                    location="/v1/builds/ab")
    def do_GET(self):
        global polls
        log.write("GET %s\n" % self.path)
        if self.path.startswith("/v1/builds/ab/response"):
            self.answer(200, b"not a zip", "application/zip")
            return
        polls += 1
        state = {"id": "ab", "state": "queued"}
        if mode == "done" and polls >= 2:
            state = {"id": "ab", "state": "done", "rc": 0,
                     "response_url": "/v1/builds/ab/response"}
        self.answer(200, json.dumps(state).encode())
server = http.server.HTTPServer(("127.0.0.1", 0), Api)
print(server.server_address[1], flush=True)
server.serve_forever()
EOF

fake_start() {	# MODE: a fresh fake; sets port and flog
	[ -n "$fake_pid" ] && kill "$fake_pid" 2> /dev/null && wait "$fake_pid" 2> /dev/null
	flog=$tmp/fake-$1.log
	: > "$flog"
	python3 "$tmp/fake.py" "$1" "$flog" > "$tmp/fake-$1.port" 2> "$tmp/fake-$1.err" &
	fake_pid=$!
	port=""
	for _ in $(seq 1 50); do
		port=$(head -n 1 "$tmp/fake-$1.port" 2> /dev/null)
		[ -n "$port" ] && return 0
		sleep 0.1
	done
	give_up "the fake server did not start: $(cat "$tmp/fake-$1.err")"
}
ms_now() { date +%s%3N; }
# client [ENV=VALUE...]: stap -p4 through the fake; sets rc, took_ms, $tmp/err
client() {
	local t0
	t0=$(ms_now)
	(cd "$tmp/run" && env "$@" timeout 120 "$stap" --use-http-server="http://127.0.0.1:$port" \
		-p4 -e 'probe begin { exit() }') > "$tmp/out" 2> "$tmp/err"
	rc=$?
	took_ms=$(($(ms_now) - t0))
}

# --- a server that never holds a long-poll ----------------------------------------
fake_start queued
client STAP_CLIENT_TIMEOUT=6
gets=$(grep -c '^GET /v1/builds/ab?wait=' "$flog")
echo "always queued: $gets polls in $took_ms ms, exit $rc"
check poll-gives-up-at-timeout sh -c "cat '$tmp/err'; [ $rc -eq 1 ] && grep -q 'did not finish within 6 s' '$tmp/err'"
check poll-took-about-the-timeout sh -c "echo '$took_ms ms'; [ $took_ms -ge 5000 ] && [ $took_ms -lt 15000 ]"
check poll-backs-off sh -c "echo '$gets polls'; [ $gets -ge 2 ] && [ $gets -le 8 ]"
check poll-wait-within-timeout sh -c "sort '$flog' | uniq -c; ! grep -qE 'wait=([7-9]|[1-9][0-9]+)\$' '$flog'"

# --- a build that ends after one early answer ---------------------------------------
fake_start done
client STAP_CLIENT_TIMEOUT=60
gets=$(grep -c '^GET /v1/builds/ab?wait=' "$flog")
check poll-then-done sh -c "cat '$flog' '$tmp/err'; [ $gets -eq 2 ] && grep -q '^GET /v1/builds/ab/response' '$flog' && [ $took_ms -lt 5000 ]"
kill "$fake_pid" 2> /dev/null
wait "$fake_pid" 2> /dev/null
fake_pid=""

# --- a certificate serial where the host goes ---------------------------------------
serial_url=https://00:cc:26:2e:ed:443
"$stap" --use-http-server="$serial_url" -p4 -e 'probe begin { exit() }' > "$tmp/serial.out" 2>&1
rc=$?
check serial-url-refused sh -c "cat '$tmp/serial.out'; [ $rc -eq 1 ] && grep -q '^stap: ERROR: --use-http-server=$serial_url: a certificate serial is not a host' '$tmp/serial.out'"
if command -v valgrind > /dev/null; then
	valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
		"$stap" --use-http-server="$serial_url" -p4 -e 'probe begin { exit() }' > "$tmp/vg.out" 2>&1
	rc=$?
	check serial-url-valgrind-clean sh -c "cat '$tmp/vg.out'; [ $rc -eq 1 ]"
else
	echo "SKIP serial-url-valgrind-clean: valgrind missing"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
