#!/usr/bin/env bash
# tests/http/run.sh: stap-serverd's HTTP/JSON API (docs/http-api.md) on
# 127.0.0.1 over HTTPS with the server's own certificate: every endpoint
# and error status, hostile submissions (the server keeps serving),
# concurrent and identical submissions, /metrics moving as it should, the
# examples of docs/http-api.md run as written, `stap --use-http-server`,
# the status page in headless Chromium, and SIGHUP with a replaced, an
# expired and an expiring certificate (both ports serve the new one, the
# connections under way go on).
#
#   tests/http/run.sh [--keep DIR] [--vm]
#
# --vm: lastly, a module built over HTTP runs in the QEMU target
# (tests/vm/run.sh; one boot).
#
# Ends with "N passed, N failed"; exit 0 when none failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
kver=${STAP_KVER:-6.1.0-56-amd64}
keep="" vm=0
while [ $# -gt 0 ]; do
	case $1 in
	--keep) keep=$2; shift 2 ;;
	--vm) vm=1; shift ;;
	*) echo "usage: tests/http/run.sh [--keep DIR] [--vm]" >&2; exit 2 ;;
	esac
done
work=${keep:-$(mktemp -d "${TMPDIR:-/tmp}/httptest.XXXXXX")}
mkdir -p "$work"
server_pid="" load_pid=""

cleanup() {
	[ -n "$server_pid" ] && kill -TERM "$server_pid" 2> /dev/null
	[ -n "$server_pid" ] && wait "$server_pid" 2> /dev/null
	[ -n "$load_pid" ] && kill -KILL "$load_pid" 2> /dev/null
	[ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT

. "$top/tests/lib/check.sh"
check_out=$work/check.out

for t in "$top/stap-serverd" "$top/stap"; do
	[ -x "$t" ] || { echo "http-test: $t not built"; echo "0 passed, 1 failed"; exit 1; }
done
command -v curl > /dev/null || { echo "http-test: curl missing"; echo "0 passed, 1 failed"; exit 1; }
"$top/scripts/stap-prep" "$kver" > "$work/prep.log" 2>&1 ||
	{ cat "$work/prep.log"; echo "0 passed, 1 failed"; exit 1; }

# --- the server ----------------------------------------------------------------------
export STAP_PR11197_OVERRIDE=1	# the tests run as root
srv=$work/srv
mkdir -p "$srv/home" "$srv/tmp"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
hport=$(free_port)
serverd() {	# run in the background: exec, so that $! is the server itself
	exec env HOME="$srv/home" SYSTEMTAP_DIR="$srv/stapdir" TMPDIR="$srv/tmp" \
		SYSTEMTAP_TAPSET="$top/tapset" SYSTEMTAP_RUNTIME="$top/runtime/kernel" \
		"$top/stap-serverd" --listen 127.0.0.1 --port 0 -r "$kver" --no-avahi "$@"
}
serverd --log "$work/server.log" --max-threads 2 --http-port "$hport" --http-listen 127.0.0.1 \
	> "$work/server.out" 2>&1 &
server_pid=$!
wait_log "$work/server.log" 'HTTP API (HTTPS)' 1 "$server_pid"
grep -q 'HTTP API (HTTPS)' "$work/server.log" 2> /dev/null ||
	{ cat "$work/server.out" "$work/server.log"; echo "0 passed, 1 failed"; exit 1; }
port=$(grep 'Using network address' "$work/server.log" | tail -n 1 | sed -E 's/.*\]:([0-9]+)$/\1/')
openssl x509 -inform DER -in "$srv/stapdir/ssl/server/stap.cert" -out "$work/server.pem"
# curl checks the host name: the certificate names this machine (its
# subjectAltName), so that name is pointed at 127.0.0.1 (~/.curlrc)
name=$(openssl x509 -in "$work/server.pem" -noout -ext subjectAltName | grep -o 'DNS:[^,]*' | head -n 1 | cut -c5-)
SERVER=https://$name:$hport
export HOME=$work/curlhome
mkdir -p "$HOME"
echo "resolve = \"$name:$hport:127.0.0.1\"" > "$HOME/.curlrc"
api() { curl -s --cacert "$work/server.pem" "$@"; }
# STATUS BODYFILE: the status code of a request, its body in BODYFILE
status() { local out=$1; shift; api -o "$out" -w '%{http_code}' "$@"; }
json_field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(v.get(sys.argv[2], ""))' "$@"; }
metric() { api "$SERVER/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
submit() {	# JSON [CURLARGS...]: prints the build id (empty when refused)
	local body=$1; shift
	api -H 'Content-Type: application/json' --data-binary "$body" "$@" "$SERVER/v1/builds" |
		python3 -c 'import json,sys; print(json.load(sys.stdin).get("id",""))' 2> /dev/null
}
wait_done() {	# ID: long-polls until the state is final; prints the last answer to $work/state.json
	local i
	for i in $(seq 1 30); do
		api "$SERVER/v1/builds/$1?wait=30" > "$work/state.json"
		case $(json_field "$work/state.json" state) in done | failed | cancelled) return 0 ;; esac
	done
	return 1
}

check tls-untrusted-refused sh -c "! curl -s '$SERVER/v1/health' > /dev/null 2>&1"
check tls-own-certificate sh -c "curl -s --cacert '$work/server.pem' '$SERVER/v1/health' | grep -q '\"status\":\"ok\"'"
check plain-http-refused-on-tls-port sh -c "! curl -s --max-time 5 'http://127.0.0.1:$hport/v1/health' | grep -q ok"

# --- every endpoint ----------------------------------------------------------------------
check health sh -c "[ \$(curl -s --cacert '$work/server.pem' -o /dev/null -w '%{http_code}' '$SERVER/v1/health') = 200 ]"
api "$SERVER/v1/kernels" > "$work/kernels.json"
check kernels python3 -c "import json; k=json.load(open('$work/kernels.json'))['kernels']; assert any(e['release']=='$kver' and len(e['build_id'])==40 for e in k)"

hello='{"files":{"hello.stp":"probe begin { printf(\"hello http\\n\") exit() }"},"kernel":{"release":"'$kver'"},"privilege":"stapusr"}'
api -D "$work/h.hdr" -o "$work/h.json" -H 'Content-Type: application/json' --data-binary "$hello" "$SERVER/v1/builds"
id=$(json_field "$work/h.json" id)
check submit-202-location sh -c "head -n1 '$work/h.hdr' | grep -q ' 202' && grep -qi '^Location: /v1/builds/$id' '$work/h.hdr' && [ ${#id} -eq 32 ]"
check state-while-unfinished sh -c "curl -s --cacert '$work/server.pem' '$SERVER/v1/builds/$id' | grep -Eq '\"state\":\"(queued|building|done)\"'"
check module-before-done-409 sh -c "[ \"\$(curl -s --cacert '$work/server.pem' -o /dev/null -w '%{http_code}' '$SERVER/v1/builds/$id/module')\" = 409 ] || curl -s --cacert '$work/server.pem' '$SERVER/v1/builds/$id' | grep -q '\"state\":\"done\"'"
t0=$(date +%s.%N)
api "$SERVER/v1/builds/$id?wait=60" > "$work/state.json"
check long-poll-returns-final-state python3 -c "import json; s=json.load(open('$work/state.json')); assert s['state']=='done' and s['rc']==0 and s['module'].endswith('.ko') and not s['cached'], s"
openssl x509 -inform DER -in "$srv/stapdir/ssl/server/stap.cert" -pubkey -noout > "$work/pub.pem"
api -o "$work/hello.ko" "$SERVER/v1/builds/$id/module"
api -o "$work/hello.ko.sgn" "$SERVER/v1/builds/$id/module.sgn"
check module-is-a-kernel-module sh -c "readelf -W -S '$work/hello.ko' | grep -q stap_kernel_build_id"
check module-sgn-verifies sh -c "openssl dgst -sha256 -verify '$work/pub.pem' -signature '$work/hello.ko.sgn' '$work/hello.ko' | grep -q 'Verified OK'"
check cancel-finished-409 sh -c "[ \$(curl -s --cacert '$work/server.pem' -X DELETE -o /dev/null -w '%{http_code}' '$SERVER/v1/builds/$id') = 409 ]"
check long-poll-wait-bounded sh -c "s=\$(date +%s); curl -s --cacert '$work/server.pem' '$SERVER/v1/builds/$id?wait=100000' > /dev/null; [ \$((\$(date +%s) - s)) -lt 5 ]"

# a cache hit: the same submission again moves hits by one
hits0=$(metric stapcs_cache_hits_total)
id2=$(submit "$hello")
wait_done "$id2"
check resubmit-from-cache python3 -c "import json; s=json.load(open('$work/state.json')); assert s['state']=='done' and s['cached'], s"
hits1=$(metric stapcs_cache_hits_total)
check metrics-cache-hit-counted test "$hits1" -eq $((hits0 + 1))
check metrics-http-built test "$(metric 'stapcs_requests_total{protocol="http",outcome="built"}')" -ge 1
check metrics-http-cached test "$(metric 'stapcs_requests_total{protocol="http",outcome="cached"}')" -ge 1
check metrics-kernel-served test "$(metric "stapcs_kernel_requests_total{kernel=\"$kver\"}")" -ge 2
check metrics-build-histogram test "$(metric stapcs_build_seconds_count)" -ge 1
check metrics-gauges sh -c "curl -s --cacert '$work/server.pem' '$SERVER/metrics' | grep -q '^stapcs_queue_depth 0' && curl -s --cacert '$work/server.pem' '$SERVER/metrics' | grep -q '^stapcs_builds_running 0'"
check metrics-content-type sh -c "curl -s --cacert '$work/server.pem' -D - -o /dev/null '$SERVER/metrics' | grep -qi '^Content-Type: text/plain; version=0.0.4'"

# a failing script: state failed, the translator's message, no module
bad='{"files":{"bad.stp":"probe nosuchthing { }"},"kernel":{"release":"'$kver'"}}'
id3=$(submit "$bad")
wait_done "$id3"
check failed-build python3 -c "import json; s=json.load(open('$work/state.json')); assert s['state']=='failed' and s['rc']!=0 and 'nosuchthing' in s['stderr'], s"
check failed-build-no-module-404 sh -c "[ \$(curl -s --cacert '$work/server.pem' -o /dev/null -w '%{http_code}' '$SERVER/v1/builds/$id3/module') = 404 ]"
check metrics-http-failed test "$(metric 'stapcs_requests_total{protocol="http",outcome="failed"}')" -ge 1

# stapdev: no signature
dev='{"files":{"dev.stp":"probe begin { printf(\"dev\\n\") exit() }"},"kernel":{"release":"'$kver'"},"options":["-DMAXACTION=1234"]}'
id4=$(submit "$dev")
wait_done "$id4"
check stapdev-no-sgn-404 sh -c "[ \$(curl -s --cacert '$work/server.pem' -o /dev/null -w '%{http_code}' '$SERVER/v1/builds/$id4/module.sgn') = 404 ] && [ \$(curl -s --cacert '$work/server.pem' -o /dev/null -w '%{http_code}' '$SERVER/v1/builds/$id4/module') = 200 ]"

# a tapset file beside the script, and script arguments
tap='{"files":{"main.stp":"probe begin { printf(\"%s %d\\n\", greet(), $1) exit() }","lib.stp":"function greet() { return \"hi\" }"},"script":"main.stp","args":["42"],"kernel":{"release":"'$kver'"}}'
id5=$(submit "$tap")
wait_done "$id5"
check tapset-and-args python3 -c "import json; s=json.load(open('$work/state.json')); assert s['state']=='done', s"

# the status page's content (the Chromium check is further down)
api "$SERVER/" > "$work/index.html"
check status-page sh -c "grep -q 'stap-serverd status' '$work/index.html' && grep -q '$kver' '$work/index.html' && grep -q '<svg' '$work/index.html' && ! grep -Eq '(src|href)=\"https?:' '$work/index.html'"

# --- every error status -----------------------------------------------------------------------
code() { api -o "$work/err.json" -w '%{http_code}' "$@"; }
is_error() {	# NAME STATUS CURLARGS...: status matches and the body is {"error": ...}
	local n=$1 want=$2 got; shift 2
	got=$(code "$@")
	if [ "$got" = "$want" ] && python3 -c "import json,sys; e=json.load(open('$work/err.json')); assert isinstance(e['error'], str) and e['status']==$want" 2> /dev/null; then
		pass "$n"
	else
		fail "$n" "status $got (want $want): $(head -c 300 "$work/err.json")"
	fi
}
J=(-H 'Content-Type: application/json')
is_error unknown-path-404 404 "$SERVER/v2/nothing"
is_error unknown-build-404 404 "$SERVER/v1/builds/0123456789abcdef0123456789abcdef"
is_error unknown-build-module-404 404 "$SERVER/v1/builds/nosuch/module"
is_error path-trick-url-404 404 "$SERVER/v1/builds/../../etc/passwd" --path-as-is
is_error get-builds-405 405 "$SERVER/v1/builds"
is_error put-kernels-405 405 -X PUT "$SERVER/v1/kernels"
is_error post-build-405 405 -X POST "${J[@]}" --data '{}' "$SERVER/v1/builds/$id"
check 405-allow-header sh -c "curl -s --cacert '$work/server.pem' -D - -o /dev/null '$SERVER/v1/builds' | grep -qi '^Allow: POST'"
is_error wrong-type-415 415 -H 'Content-Type: text/plain' --data 'x' "$SERVER/v1/builds"
is_error no-type-415 415 --data-binary "$hello" -H 'Content-Type:' "$SERVER/v1/builds"
is_error bad-json-400 400 "${J[@]}" --data '{"files":' "$SERVER/v1/builds"
is_error trailing-json-400 400 "${J[@]}" --data "$hello $hello" "$SERVER/v1/builds"
is_error not-object-400 400 "${J[@]}" --data '[1,2,3]' "$SERVER/v1/builds"
is_error empty-body-400 400 "${J[@]}" --data '' "$SERVER/v1/builds"
python3 -c 'print("["*100000 + "]"*100000)' > "$work/deep.json"
is_error deep-json-400 400 "${J[@]}" --data-binary "@$work/deep.json" "$SERVER/v1/builds"
is_error unknown-field-400 400 "${J[@]}" --data '{"files":{"a.stp":"probe begin{}"},"kernel":{"release":"'$kver'"},"evil":1}' "$SERVER/v1/builds"
is_error unknown-kernel-field-400 400 "${J[@]}" --data '{"files":{"a.stp":"probe begin{}"},"kernel":{"release":"'$kver'","path":"/"}}' "$SERVER/v1/builds"
is_error files-wrong-type-400 400 "${J[@]}" --data '{"files":["a.stp"],"kernel":{"release":"'$kver'"}}' "$SERVER/v1/builds"
is_error content-wrong-type-400 400 "${J[@]}" --data '{"files":{"a.stp":42},"kernel":{"release":"'$kver'"}}' "$SERVER/v1/builds"
is_error options-wrong-type-400 400 "${J[@]}" --data '{"files":{"a.stp":"x"},"options":"-v","kernel":{"release":"'$kver'"}}' "$SERVER/v1/builds"
is_error option-not-string-400 400 "${J[@]}" --data '{"files":{"a.stp":"x"},"options":[1],"kernel":{"release":"'$kver'"}}' "$SERVER/v1/builds"
is_error nul-in-option-400 400 "${J[@]}" --data '{"files":{"a.stp":"x"},"options":["-v\u0000x"],"kernel":{"release":"'$kver'"}}' "$SERVER/v1/builds"
for name in '../x.stp' '/etc/passwd' 'a/b.stp' '.hidden' '..' 'a\\b' '' 'x y.stp' "$(printf 'a%.0s' $(seq 1 200))"; do
	is_error "file-name-refused[$name]" 400 "${J[@]}" --data '{"files":{"'"$name"'":"probe begin{}"},"kernel":{"release":"'$kver'"}}' "$SERVER/v1/builds"
done
is_error script-not-in-files-400 400 "${J[@]}" --data '{"files":{"a.stp":"x"},"script":"b.stp","kernel":{"release":"'$kver'"}}' "$SERVER/v1/builds"
is_error two-files-no-script-400 400 "${J[@]}" --data '{"files":{"a.stp":"x","b.stp":"y"},"kernel":{"release":"'$kver'"}}' "$SERVER/v1/builds"
is_error no-kernel-400 400 "${J[@]}" --data '{"files":{"a.stp":"x"}}' "$SERVER/v1/builds"
is_error bad-release-400 400 "${J[@]}" --data '{"files":{"a.stp":"x"},"kernel":{"release":"../../etc"}}' "$SERVER/v1/builds"
is_error unknown-kernel-400 400 "${J[@]}" --data '{"files":{"a.stp":"x"},"kernel":{"release":"9.9.9-nosuch"}}' "$SERVER/v1/builds"
is_error bad-build-id-400 400 "${J[@]}" --data '{"files":{"a.stp":"x"},"kernel":{"release":"'$kver'","build_id":"XYZ"}}' "$SERVER/v1/builds"
is_error bad-arch-400 400 "${J[@]}" --data '{"files":{"a.stp":"x"},"arch":"sparc","kernel":{"release":"'$kver'"}}' "$SERVER/v1/builds"
is_error bad-privilege-400 400 "${J[@]}" --data '{"files":{"a.stp":"x"},"privilege":"root","kernel":{"release":"'$kver'"}}' "$SERVER/v1/builds"
is_error bad-mok-400 400 "${J[@]}" --data '{"files":{"a.stp":"x"},"mok_fingerprints":["; rm -rf /"],"kernel":{"release":"'$kver'"}}' "$SERVER/v1/builds"
is_error bad-wait-400 400 "$SERVER/v1/builds/$id?wait=-1"
python3 -c "import json; print(json.dumps({'files':{'f%d.stp'%i:'' for i in range(65)},'script':'f0.stp','kernel':{'release':'$kver'}}))" > "$work/many.json"
is_error too-many-files-413 413 "${J[@]}" --data-binary "@$work/many.json" "$SERVER/v1/builds"
python3 -c "import json; print(json.dumps({'files':{'a.stp':'x'},'options':['-v']*300,'kernel':{'release':'$kver'}}))" > "$work/words.json"
is_error too-many-words-413 413 "${J[@]}" --data-binary "@$work/words.json" "$SERVER/v1/builds"
head -c $((5 << 20)) /dev/zero | tr '\0' ' ' > "$work/big.json"
is_error too-large-413 413 "${J[@]}" --data-binary "@$work/big.json" "$SERVER/v1/builds"
is_error too-large-chunked-413 413 "${J[@]}" -H 'Transfer-Encoding: chunked' --data-binary "@$work/big.json" "$SERVER/v1/builds"
check refusals-counted test "$(metric 'stapcs_rejected_total{reason="bad_json"}')" -ge 20
check still-serving-after-hostile sh -c "curl -s --cacert '$work/server.pem' '$SERVER/v1/health' | grep -q '\"status\":\"ok\"'"
check server-alive kill -0 "$server_pid"

# --- concurrency: 20 identical at once share one build; 6 different at once ----------------------
same='{"files":{"same.stp":"probe begin { printf(\"same '$$'\\n\") exit() }"},"kernel":{"release":"'$kver'"},"privilege":"stapusr"}'
built0=$(metric 'stapcs_build_seconds_count')
pids=()	# (a bare `wait` would wait for the server too)
# from two client addresses: one has at most 16 builds unfinished
for i in $(seq 1 20); do submit "$same" --interface "127.0.0.$((i % 2 + 1))" > "$work/same.$i" & pids+=($!); done
wait "${pids[@]}"
for i in $(seq 1 20); do
	sid=$(cat "$work/same.$i")
	[ -n "$sid" ] && wait_done "$sid" && cp "$work/state.json" "$work/same.$i.json"
	api -o "$work/same.$i.ko" "$SERVER/v1/builds/$sid/module"
done
check identical-20-all-done sh -c "[ \$(grep -l '\"state\":\"done\"' '$work'/same.*.json | wc -l) -eq 20 ]"
check identical-20-one-build test "$(metric 'stapcs_build_seconds_count')" -eq $((built0 + 1))
check identical-20-same-module sh -c "[ \$(md5sum '$work'/same.*.ko | awk '{print \$1}' | sort -u | wc -l) -eq 1 ]"
pids=()
for i in $(seq 1 6); do
	submit '{"files":{"d.stp":"probe begin { printf(\"diff '$i' '$$'\\n\") exit() }"},"kernel":{"release":"'$kver'"},"privilege":"stapusr"}' > "$work/diff.$i" &
	pids+=($!)
done
wait "${pids[@]}"
ok=0
for i in $(seq 1 6); do
	wait_done "$(cat "$work/diff.$i")" && grep -q '"state":"done"' "$work/state.json" && ok=$((ok + 1))
done
check different-6-all-built test "$ok" -eq 6

# cancel: with both slots busy, a third build waits and can be cancelled
for i in 1 2; do
	submit '{"files":{"busy.stp":"probe begin { printf(\"busy '$i' '$$'\\n\") exit() }"},"kernel":{"release":"'$kver'"}}' > "$work/busy.$i"
done
qid=$(submit '{"files":{"q.stp":"probe begin { printf(\"queued '$$'\\n\") exit() }"},"kernel":{"release":"'$kver'"}}')
sleep 0.5
api "$SERVER/v1/builds/$qid" > "$work/q.json"
check third-build-queued grep -q '"state":"queued"' "$work/q.json"
check queue-depth-metric test "$(metric stapcs_queue_depth)" -ge 1
check cancel-queued-200 sh -c "[ \$(curl -s --cacert '$work/server.pem' -X DELETE -o '$work/c.json' -w '%{http_code}' '$SERVER/v1/builds/$qid') = 200 ] && grep -q '\"state\":\"cancelled\"' '$work/c.json'"
check cancelled-module-404 sh -c "[ \$(curl -s --cacert '$work/server.pem' -o /dev/null -w '%{http_code}' '$SERVER/v1/builds/$qid/module') = 404 ]"
check cancel-twice-409 sh -c "[ \$(curl -s --cacert '$work/server.pem' -X DELETE -o /dev/null -w '%{http_code}' '$SERVER/v1/builds/$qid') = 409 ]"
for i in 1 2; do wait_done "$(cat "$work/busy.$i")"; done
check slots-free-after-cancel sh -c "[ \"\$(curl -s --cacert '$work/server.pem' '$SERVER/metrics' | awk '\$1==\"stapcs_builds_running\"{print \$2}')\" = 0 ]"

# 429: one client floods; it has at most 16 builds unfinished at once (the
# whole table, from many clients, is in the hostile-load section below)
slow='{"files":{"slow.stp":"probe begin { printf(\"slow '$$'\\n\") exit() }"},"kernel":{"release":"'$kver'"}}'
printf '%s\n' $(seq 1 270) | xargs -P 8 -I{} curl -s --cacert "$work/server.pem" -o /dev/null -w '%{http_code}\n' \
	-H 'Content-Type: application/json' --data-binary "$slow" "$SERVER/v1/builds" > "$work/flood.codes"
check client-flood-429 sh -c "grep -q '^429' '$work/flood.codes' && grep -q '^202' '$work/flood.codes' && ! grep -Evq '^(202|429)$' '$work/flood.codes'"
check still-serving-after-flood sh -c "curl -s --cacert '$work/server.pem' '$SERVER/v1/health' | grep -q ok"
for i in $(seq 1 120); do	# the flood's build ends; its jobs become finished ones
	[ "$(metric stapcs_builds_running)" = 0 ] && [ "$(metric stapcs_queue_depth)" = 0 ] && break
	sleep 1
done
sleep 1

# --- hostile load: one build slot, many clients, cancels, SIGTERM, SIGHUP ---------------------
# A plain-HTTP server on loopback with one slot; its clients come from
# 127.0.0.N.  A build is held (never by sleeping): its embedded C includes
# a fifo, which gcc reads only when the test writes to it.
cat > "$work/load.py" << 'PY'
# load.py MODE PORT ...: the HTTP API under hostile load, on a plain-HTTP
# server on loopback with one build slot.  Clients come from 127.0.0.N
# (all loopback).  Prints "ok NAME" or "no NAME WHY" per check; every
# loop is bounded in count and time.
import errno, http.client, io, json, os, sys, threading, time, zipfile
from concurrent.futures import ThreadPoolExecutor

mode, port = sys.argv[1], int(sys.argv[2])
KVER = os.environ.get("KVER", "6.1.0-56-amd64")
TAG = str(os.getpid())

def verdict(name, good, why=""):
    print(("ok %s" % name) if good else ("no %s %s" % (name, str(why)[:400].replace("\n", " "))), flush=True)

def req(method, path, body=None, ctype="application/json", src=1, timeout=60):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                   source_address=("127.0.0.%d" % src, 0))
    try:
        hdr = {"Content-Type": ctype} if body is not None else {}
        data = json.dumps(body) if isinstance(body, dict) else body
        c.request(method, path, body=data, headers=hdr)
        r = c.getresponse()
        d = r.read()
        try:
            j = json.loads(d) if d else None
        except ValueError:
            j = {"raw": d[:200].decode("latin-1")}
        return r.status, j
    except (OSError, http.client.HTTPException) as e:
        return type(e).__name__, None
    finally:
        c.close()

def job(script, opts=None):
    b = {"files": {"s.stp": script}, "kernel": {"release": KVER}}
    if opts:
        b["options"] = opts
    return b

def state(i, src=1):
    return req("GET", "/v1/builds/" + i, src=src)[1] or {}

def until(pred, secs, step=0.1):
    end = time.time() + secs
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()

def release(fifo, held, secs=180):
    """Lets the held build go on until it ends: gcc reads the fifo, then
    kbuild's fixdep opens it too."""
    end, fed = time.time() + secs, 0
    while time.time() < end:
        if state(held).get("state") in ("done", "failed", "cancelled"):
            return fed > 0
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
            time.sleep(0.05)
            continue
        os.write(fd, b"/* go on */\n")
        os.close(fd)
        fed += 1
    return False

def held_script(fifo, n):
    return '%%{\n#include "%s"\n%%}\nprobe begin { printf("held %s %s\\n") exit() }' % (fifo, n, TAG)

def hold(fifo, n, src):
    st, a = req("POST", "/v1/builds", job(held_script(fifo, n), ["-g"]), src=src)
    if st != 202:
        return None
    until(lambda: state(a["id"]).get("state") == "building", 20)
    return a["id"]

def final(i, secs):
    return until(lambda: (lambda s: s if s.get("state") in ("done", "failed", "cancelled") else None)(state(i)), secs, 0.5) or state(i)

def metric(name):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        c.close()
    for l in text.splitlines():
        if l.split(" ")[0] == name:
            return float(l.split(" ")[1])
    return None

def rejected(reason):
    return metric('stapcs_rejected_total{reason="%s"}' % reason) or 0

def refused():
    return metric('stapcs_requests_total{protocol="http",outcome="refused"}') or 0

def big_archive(mb, seed):
    """A request archive of about mb MiB unpacked that is no zip bomb to
    the server (under 1000:1): random text every 32 KiB."""
    b = io.BytesIO()
    z = zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED)
    z.writestr("version", "5.2")
    z.writestr("sysinfo", "sysinfo: %s x86_64" % KVER)
    z.writestr("argv1", "script/x.stp")
    line = " " * (32 << 10)
    z.writestr("script/x.stp", "probe begin { exit() } # %s %s\n" % (seed, TAG) +
               "".join("#" + os.urandom(40).hex() + line + "\n" for _ in range(mb * 32)))
    z.close()
    return b.getvalue()

if mode == "race":
    # One slot held; the table filled by 16 addresses (16 each); a queued
    # build cancelled, another submitted: the cancelled one's slot is not
    # given away while its thread lives; every build ends as it should.
    fifo = sys.argv[3]
    a = hold(fifo, 1, 2)
    verdict("race-held-build", a is not None)
    fill = job("probe begin { syntax error %s" % TAG)    # identical: one shared build
    srcs = [2] * 15 + [s for s in range(3, 18) for _ in range(16)]   # 255 places
    with ThreadPoolExecutor(8) as ex:
        got = list(ex.map(lambda s: req("POST", "/v1/builds", fill, src=s), srcs[:254]))
    ids = [j["id"] for st, j in got if st == 202]
    verdict("race-table-filled-from-16-addresses", len(ids) == 254,
            "%d accepted: %s" % (len(ids), sorted(set(str(st) for st, _ in got))))
    st, c = req("POST", "/v1/builds", job("probe begin { printf(\"C %s\\n\") exit() }" % TAG), src=17)
    verdict("race-last-place-taken", st == 202, (st, c))
    c = (c or {}).get("id", "")
    st, e = req("POST", "/v1/builds", job("probe begin { exit() } // E"), src=18)
    verdict("race-table-full-429", st == 429 and "256 builds" in (e or {}).get("error", ""), (st, e))
    st, e = req("POST", "/v1/builds", job("probe begin { exit() } // F"), src=2)
    verdict("per-client-limit-429", st == 429 and "client address" in (e or {}).get("error", "")
            and e.get("status") == 429, (st, e))
    # C waits for the slot behind the shared build
    cst = until(lambda: (lambda r: r if r[0] == 200 else None)(req("DELETE", "/v1/builds/" + c)), 10, 0.2)
    verdict("race-cancel-queued", cst and cst[0] == 200 and cst[1].get("state") == "cancelled", cst)
    s = state(c)
    verdict("cancelled-shows-no-rc", s.get("state") == "cancelled" and "rc" not in s, s)
    # D: the slot C held comes free as soon as C's thread has left the queue
    r = until(lambda: (lambda r: r if r[0] == 202 else None)(
        req("POST", "/v1/builds", job("probe begin { printf(\"D %s\\n\") exit() }" % TAG), src=18)), 10, 0.2)
    verdict("race-new-build-after-cancel", r is not None and r[0] == 202, r)
    d = r[1]["id"] if r else ""
    verdict("race-released", release(fifo, a))
    sa = final(a, 180)
    verdict("race-held-build-done", sa.get("state") == "done" and sa.get("rc") == 0, sa)
    sd = final(d, 180)
    verdict("race-new-build-done", sd.get("state") == "done" and sd.get("rc") == 0, sd)
    bad = [i for i in ids if final(i, 30).get("state") != "failed"]
    verdict("race-filled-builds-failed", not bad, "%d not failed, e.g. %s" % (len(bad), bad[:1] and state(bad[0])))
    s = state(c)    # or gone: the oldest finished job when the table was full
    verdict("race-cancelled-stays-cancelled", (s.get("state") == "cancelled" and "rc" not in s) or
            s.get("status") == 404, s)
    st, h = req("GET", "/v1/health")
    verdict("race-server-alive", st == 200, (st, h))
    verdict("race-queue-empty", until(lambda: metric("stapcs_queue_depth") == 0 and
                                      metric("stapcs_builds_running") == 0, 30), "")
    verdict("client-limit-counted", rejected("client_limit") >= 1, rejected("client_limit"))

elif mode == "memory":
    # Queued request archives hold at most 512 MiB unpacked: 8 of 60 MiB
    # are taken, the 9th is 503; cancelled ones give their bytes back.
    fifo = sys.argv[3]
    a = hold(fifo, 2, 30)
    verdict("memory-held-build", a is not None)
    r0, m0 = refused(), rejected("memory")
    ids, sts = [], []
    for n in range(9):
        st, j = req("POST", "/v1/builds", big_archive(60, n), "application/zip", src=40 + n)
        sts.append(st)
        if st == 202:
            ids.append(j["id"])
    verdict("memory-8-taken", sts[:8] == [202] * 8, sts)
    verdict("memory-9th-503", sts[8] == 503 and "MiB" in (j or {}).get("error", ""), (sts, j))
    verdict("memory-counted", rejected("memory") == m0 + 1 and refused() == r0 + 1,
            (rejected("memory"), m0, refused(), r0))
    for i in ids:
        until(lambda: req("DELETE", "/v1/builds/" + i)[0] == 200, 10, 0.2)
    cancelled = [i for i in ids if state(i).get("state") == "cancelled"]
    verdict("memory-queued-cancelled", len(cancelled) == 8, len(cancelled))
    r = until(lambda: (lambda r: r if r[0] == 202 else None)(
        req("POST", "/v1/builds", big_archive(60, "again"), "application/zip", src=49)), 10, 0.5)
    verdict("memory-freed-by-cancel", r is not None, r)
    if r:
        until(lambda: req("DELETE", "/v1/builds/" + r[1]["id"])[0] == 200, 10, 0.2)
    # an archive over --max-request-size unpacked: 413, as JSON over its limits
    st, j = req("POST", "/v1/builds", big_archive(70, "big"), "application/zip", src=50)
    verdict("archive-unpacked-too-large-413", st == 413 and "too large" in (j or {}).get("error", ""), (st, j))
    verdict("memory-released", release(fifo, a))
    sa = final(a, 180)
    verdict("memory-held-build-done", sa.get("state") == "done", sa)
    verdict("memory-server-alive", req("GET", "/v1/health")[0] == 200)

elif mode == "badwait":
    # errors of requests that are not submissions are not refused builds
    r0 = refused()
    st, j = req("GET", "/v1/builds/0123456789abcdef0123456789abcdef?wait=x")
    st2, _ = req("GET", "/v1/builds/0123456789abcdef0123456789abcdef")
    verdict("bad-wait-not-counted-refused", st == 400 and st2 == 404 and refused() == r0, (st, st2, refused(), r0))
    r0, b0 = refused(), rejected("bad_json")
    st, _ = req("POST", "/v1/builds", "{", src=60)
    verdict("bad-json-counted-refused", st == 400 and refused() == r0 + 1 and rejected("bad_json") == b0 + 1,
            (st, refused(), r0))

elif mode == "stop":
    # SIGTERM while a submission is being prepared: it gets 503, no build
    # starts after the API drained, the server exits 0.
    pid, log = int(sys.argv[3]), sys.argv[4]
    data = big_archive(400, "stop")
    n0 = open(log).read().count("HTTP request from")
    res = {}
    def go():
        res["r"] = req("POST", "/v1/builds", data, "application/zip", src=70, timeout=120)
    t = threading.Thread(target=go)
    t.start()
    seen = until(lambda: open(log).read().count("HTTP request from") > n0, 60, 0.01)
    os.kill(pid, 15)
    t.join(150)
    r = res.get("r")
    verdict("stop-while-preparing-503", seen and r and r[0] == 503 and "shutting down" in r[1].get("error", ""), r)

elif mode == "hammer":
    # submissions from many addresses, until the file STOP exists (at most
    # 300 s): every one answered with a status
    stopfile = sys.argv[3]
    body = job('probe begin { printf("hammer %s\\n") exit() }' % TAG)
    stats, lock = {}, threading.Lock()
    def run(k):
        end = time.time() + 300
        n = 0
        while time.time() < end and not os.path.exists(stopfile):
            st, _ = req("POST", "/v1/builds", body, src=100 + (n * 4 + k) % 100, timeout=30)
            n += 1
            with lock:
                stats[st] = stats.get(st, 0) + 1
    ts = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    print("# hammer:", stats, flush=True)
    verdict("reload-hammer-all-answered", stats and all(isinstance(k, int) and k in (202, 429, 503) for k in stats), stats)
    verdict("reload-hammer-some-taken", stats.get(202, 0) > 0, stats)
PY
lport=$(free_port)
loadsrv() {	# NAME [OPTIONS]: a plain-HTTP server with one slot on $lport, pid in $load_pid
	local n=$1; shift
	mkdir -p "$work/$n"
	serverd --log "$work/$n/server.log" --max-threads 1 --http-port "$lport" --http-listen 127.0.0.1 \
		--http-plain --cache "$work/$n/cache" "$@" > "$work/$n/server.out" 2>&1 &
	load_pid=$!
	wait_log "$work/$n/server.log" 'HTTP API (plain HTTP)' 1 "$load_pid"
}
stop_load() {	# SIGTERM; a second one after 60 s (a build still held is killed then)
	local i
	kill -TERM "$load_pid"
	for i in $(seq 1 600); do kill -0 "$load_pid" 2> /dev/null || break; sleep 0.1; done
	kill -TERM "$load_pid" 2> /dev/null
	wait "$load_pid"
	load_pid=""
}
load_verdicts() {	# load.py's "ok NAME" / "no NAME WHY" lines on stdin as checks
	local verdict cname why
	while read -r verdict cname why; do
		case $verdict in ok) pass "$cname" ;; no) fail "$cname" "$why" ;; esac
	done
}
load_run() {	# NAME MODE ARGS...: load.py's checks, then NAME-complete when it exited 0
	local n=$1 mode=$2 rc; shift 2
	KVER=$kver timeout 900 python3 "$work/load.py" "$mode" "$lport" "$@" > "$work/$n.out" 2> "$work/$n.err"
	rc=$?
	load_verdicts < "$work/$n.out"
	if [ "$rc" -eq 0 ]; then pass "$n-complete"; else fail "$n-complete" "load.py $mode exited $rc: $(tail -c 400 "$work/$n.err")"; fi
}
mkfifo "$work/hold"
loadsrv load
load_run load-race race "$work/hold"
load_run load-memory memory "$work/hold"
load_run load-badwait badwait
check load-server-alive kill -0 "$load_pid"
stop_load

# SIGTERM while a large submission is being prepared (400 MiB unpacked)
loadsrv stopsrv --max-request-size 512M
load_run load-stop stop "$load_pid" "$work/stopsrv/server.log"
wait "$load_pid"
rc=$?
load_pid=""
check stop-while-preparing-clean sh -c "[ $rc -eq 0 ] && ! grep -q 'HTTP build .* queued' '$work/stopsrv/server.log' && grep -q 'HTTP API stopped' '$work/stopsrv/server.log'"

# SIGHUP with a new certificate while submissions hammer the API: NSS is
# restarted under none of them (a server of its own: its own certificate)
hup=$work/hup
mkdir -p "$hup/home" "$hup/tmp"
env HOME="$hup/home" SYSTEMTAP_DIR="$hup/stapdir" TMPDIR="$hup/tmp" \
	SYSTEMTAP_TAPSET="$top/tapset" SYSTEMTAP_RUNTIME="$top/runtime/kernel" \
	"$top/stap-serverd" --listen 127.0.0.1 --port 0 -r "$kver" --no-avahi --log "$hup/server.log" \
	--max-threads 1 --http-port "$lport" --http-listen 127.0.0.1 --http-plain > "$hup/server.out" 2>&1 &
load_pid=$!
wait_log "$hup/server.log" 'HTTP API (plain HTTP)' 1
KVER=$kver timeout 400 python3 "$work/load.py" hammer "$lport" "$hup/stop" > "$hup/hammer.out" 2> "$hup/hammer.err" &
hammer_pid=$!
sleep 1
reloaded=0
for k in 1 2 3; do
	n=$(grep -c 'is valid' "$hup/server.log")
	SYSTEMTAP_DIR="$hup/stapdir" "$top/stap-gen-cert" "$hup/stapdir/ssl/server" > "$hup/gencert.out" 2>&1
	kill -HUP "$load_pid"
	for i in $(seq 1 600); do
		[ "$(grep -c 'is valid' "$hup/server.log")" -gt "$n" ] && { reloaded=$((reloaded + 1)); break; }
		kill -0 "$load_pid" 2> /dev/null || break
		sleep 0.1
	done
done
touch "$hup/stop"
wait "$hammer_pid"
load_verdicts < "$hup/hammer.out"
check reload-under-hammer-3-reloads sh -c "echo 'reloaded $reloaded'; tail -n 5 '$hup/server.log'; [ $reloaded -eq 3 ]"
check reload-under-hammer-alive kill -0 "$load_pid"
stop_load

# --- the examples of docs/http-api.md, as written -----------------------------------------------
ex=$work/examples
mkdir -p "$ex"
cp "$work/server.pem" "$ex/"
# hello.json from the document's file=hello.json block; sh blocks with the status line expected
awk -v dir="$ex" '
	/^```json file=/ { f = dir "/" substr($2, 6); grab = "file"; next }
	/^```sh$/ { n++; f = dir "/ex" n ".sh"; grab = "sh"; next }
	/^```http$/ { f = dir "/ex" n ".want"; grab = "http"; next }
	/^```/ { grab = ""; next }
	grab != "" { print > f }
' "$top/docs/http-api.md"
nex=$(ls "$ex"/ex*.sh 2> /dev/null | wc -l)
check doc-examples-found test "$nex" -ge 8
ID=""
for i in $(seq 1 "$nex"); do
	(cd "$ex" && SERVER=$SERVER ID=$ID bash -e "ex$i.sh") > "$ex/ex$i.out" 2>&1
	rc=$?
	want=$(head -n 1 "$ex/ex$i.want" 2> /dev/null | tr -d '\r')
	got=$(head -n 1 "$ex/ex$i.out" | tr -d '\r')
	case $want in
	HTTP/*) want=$(echo "$want" | awk '{print $2}'); got=$(echo "$got" | awk '{print $2}') ;;
	stapcs_*) want=${want%% *}; got=${got%% *} ;;
	esac
	if [ "$rc" -eq 0 ] && [ "$want" = "$got" ]; then pass "doc-example-$i"; else fail "doc-example-$i" "rc $rc, want '$want', got '$got': $(head -c 300 "$ex/ex$i.out")"; fi
	nid=$(grep -i '^Location: /v1/builds/' "$ex/ex$i.out" | tr -d '\r' | sed 's|.*/v1/builds/||')
	[ -n "$nid" ] && ID=$nid
done
check doc-example-module-fetched sh -c "readelf -W -S '$ex/hello.ko' | grep -q stap_kernel_build_id && [ -s '$ex/hello.ko.sgn' ]"

# --- the SystemTap protocol counts too ---------------------------------------------------------------
ours=$work/ours
mkdir -p "$ours/home/.systemtap/ssl" "$ours/run"
ostap() { (cd "$ours/run" && env HOME="$ours/home" SYSTEMTAP_DIR="$ours/home/.systemtap" "$top/stap" "$@"); }
HSERVER=https://127.0.0.1:$hport	# our client pins the certificate (trust store), as --use-server
ostap --use-server="127.0.0.1:$port" --trust-servers=ssl,no-prompt > "$work/otrust.out" 2>&1
st0=$(metric 'stapcs_requests_total{protocol="systemtap",outcome="cached"}')
ostap --use-server="127.0.0.1:$port" -r "$kver" --privilege=stapusr -p4 \
	-e 'probe begin { printf("hello http\n") exit() }' > "$work/op4.out" 2> "$work/op4.err"
check systemtap-protocol-counted sh -c "[ \$(curl -s --cacert '$work/server.pem' '$SERVER/metrics' | awk '\$1 ~ /protocol=\"systemtap\"/ {s+=\$2} END {print s+0}') -ge 1 ]"

# --- stap --use-http-server ------------------------------------------------------------------------
rm -f "$ours/run"/*.ko
ostap --use-http-server="$HSERVER" -r "$kver" -p4 -e 'probe begin { printf("via http\n") exit() }' \
	> "$work/hp4.out" 2> "$work/hp4.err"
check use-http-server-p4 sh -c "ko=\$(head -n 1 '$work/hp4.out'); [ -f '$ours/run/'\$ko ] && readelf -W -S '$ours/run/'\$ko | grep -q stap_kernel_build_id"
ostap --use-http-server="$HSERVER" -r "$kver" --privilege=stapusr -p4 -e 'probe begin { printf("via http\n") exit() }' \
	> "$work/hp4u.out" 2> "$work/hp4u.err"
check use-http-server-sgn sh -c "ko=\$(head -n 1 '$work/hp4u.out'); [ -s '$ours/run/'\$ko.sgn ]"
check use-http-server-script-error sh -c "! (cd '$ours/run' && env HOME='$ours/home' SYSTEMTAP_DIR='$ours/home/.systemtap' '$top/stap' --use-http-server='$HSERVER' -r '$kver' -p4 -e 'probe nosuch { }') 2> '$work/herr' && grep -q nosuch '$work/herr'"
mkdir -p "$work/untrusted/.systemtap"
check use-http-server-untrusted-refused sh -c "! (cd '$ours/run' && env HOME='$work/untrusted' SYSTEMTAP_DIR='$work/untrusted/.systemtap' '$top/stap' --use-http-server='$HSERVER' -r '$kver' -p4 -e 'probe begin { exit() }') > /dev/null 2>&1"
check use-http-server-plain-remote-refused sh -c "! '$top/stap' --use-http-server=http://192.0.2.1:80 -r '$kver' -p4 -e 'probe begin { exit() }' > /dev/null 2>&1"

# --- --http-plain only on loopback ------------------------------------------------------------------------
check http-plain-non-loopback-refused sh -c "! env HOME='$srv/home' SYSTEMTAP_DIR='$srv/stapdir' '$top/stap-serverd' --no-avahi -r '$kver' --log '$work/plain.log' --http-port $(free_port) --http-listen 0.0.0.0 --http-plain > '$work/plain.out' 2>&1 && grep -q loopback '$work/plain.out'"

# --- the status page in headless Chromium ------------------------------------------------------------------
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$chrome" ]; then
	# Chromium does not know our certificate: it loads the page from a
	# second, plain-HTTP server on loopback that shares nothing but the code
	pport=$(free_port)
	serverd --log "$work/plainsrv.log" --http-port "$pport" --http-listen 127.0.0.1 --http-plain \
		--cache "$work/plaincache" > "$work/plainsrv.out" 2>&1 &
	ppid_=$!
	for i in $(seq 1 100); do grep -q 'HTTP API (plain HTTP)' "$work/plainsrv.log" 2> /dev/null && break; sleep 0.1; done
	for i in 1 2; do	# one build, one cache hit
		pid2=$(curl -s -H 'Content-Type: application/json' --data-binary "$hello" "http://127.0.0.1:$pport/v1/builds" |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
		curl -s "http://127.0.0.1:$pport/v1/builds/$pid2?wait=60" > /dev/null
	done
	cflags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --user-data-dir="$work/chrome")
	timeout 60 "$chrome" "${cflags[@]}" --dump-dom "http://127.0.0.1:$pport/" > "$work/dom.html" 2> "$work/chrome.err"
	check chromium-dom sh -c "grep -q 'stap-serverd status' '$work/dom.html' && grep -q '$kver' '$work/dom.html' && grep -q 'Cache hit rate: 50%' '$work/dom.html' && grep -q '<rect' '$work/dom.html'"
	timeout 60 "$chrome" "${cflags[@]}" --screenshot="$work/status.png" --window-size=900,700 \
		"http://127.0.0.1:$pport/" > /dev/null 2>> "$work/chrome.err"
	check chromium-screenshot sh -c "[ -s '$work/status.png' ] && head -c 8 '$work/status.png' | grep -q PNG"
	[ -n "${STAP_HTTP_SCREENSHOT:-}" ] && cp "$work/status.png" "$STAP_HTTP_SCREENSHOT"
	kill -TERM "$ppid_"; wait "$ppid_"
else
	fail chromium "chromium is not installed (scripts/setup.sh installs it)"
fi

# --- lastly: a module built over HTTP runs in the QEMU target ----------------------------------------------
if [ "$vm" = 1 ]; then
	vmid=$(submit '{"files":{"vm.stp":"probe begin { printf(\"hello from http %d\\n\", 6 * 7) exit() }"},"kernel":{"release":"'$kver'"}}')
	wait_done "$vmid"
	mod=$(json_field "$work/state.json" module)
	run=$work/vmrun
	mkdir -p "$run"
	cp "$top/staprun" "$top/stapio" "$run/"
	api -o "$run/$mod" "$SERVER/v1/builds/$vmid/module"
	printf '@60 ./staprun %s; rc=$?; grep -q "^%s " /proc/modules && echo "MODULE LEFT LOADED" >&2; exit $rc\n' \
		"$mod" "${mod%.ko}" > "$run/runlist"
	"$top/tests/vm/run.sh" --kver "$kver" --timeout 600 "$run" > "$work/vm.log" 2>&1
	check vm-runs-http-module sh -c "[ -n '$mod' ] && [ \"\$(cat '$run/out/1.stdout')\" = 'hello from http 42' ] && [ \"\$(cat '$run/out/1.status')\" = 0 ] && ! grep -q 'MODULE LEFT' '$run/out/1.stderr'"
	[ -f "$run/out/1.status" ] || tail -n 20 "$work/vm.log"
fi

# --- SIGHUP with a new certificate: both ports serve it to new connections ----------------------
# The listener and the connections under way stay: a keep-alive connection
# made before goes on with the old certificate, a long-poll started before
# gets its answer.
ssl=$srv/stapdir/ssl/server
host=${SERVER#https://}	# the name in the certificates ($name was reused by the file-name checks)
host=${host%:*}
served_fp() {	# PORT: the SHA-256 fingerprint of the certificate served there
	openssl s_client -connect "127.0.0.1:$1" < /dev/null 2> /dev/null |
		openssl x509 -fingerprint -sha256 -noout 2> /dev/null | cut -d= -f2
}
file_fp() { openssl x509 -inform DER -in "$ssl/stap.cert" -fingerprint -sha256 -noout | cut -d= -f2; }
served_valid() {	# PORT: the certificate served there is valid now
	openssl s_client -connect "127.0.0.1:$1" < /dev/null 2> /dev/null | openssl x509 -noout -checkend 0
}
served_checks() {	# NAME: both ports serve a valid certificate, the one in the database ($fp, $sfp)
	check "$1-https-valid" served_valid "$hport"
	check "$1-systemtap-port-new" test "$sfp" = "$fp"
	check "$1-systemtap-port-valid" served_valid "$port"
}
reloads() { grep -c 'HTTP API serves certificate' "$work/server.log"; }
hup_and_wait() {	# SIGHUP; until the HTTP API took the new certificate (60 s)
	local n i
	n=$(reloads)
	kill -HUP "$server_pid"
	for i in $(seq 1 600); do
		[ "$(reloads)" -gt "$n" ] && return 0
		kill -0 "$server_pid" 2> /dev/null || return 1
		sleep 0.1
	done
	return 1
}
# KEEPALIVE PORT CAFILE NAME GO: one TLS connection, GET /v1/health on it,
# then again on the same connection once the file GO exists; prints the
# status and the fingerprint of the certificate of each
cat > "$work/keepalive.py" << 'PY'
import hashlib, os, socket, ssl, sys, time
port, cafile, name, go = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=cafile)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname=name)
def health():
    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: " + name.encode() + b"\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return "closed"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
    while length and len(body) < length[0]:
        chunk = s.recv(4096)
        if not chunk:
            return "closed"
        body += chunk
    return head.split(b" ")[1].decode()
fp = lambda: hashlib.sha256(s.getpeercert(True)).hexdigest()
print("before", health(), fp(), flush=True)
for _ in range(1200):
    if os.path.exists(go):
        break
    time.sleep(0.1)
print("after", health(), fp(), flush=True)
PY
old_fp=$(file_fp)
check reload-before-same-on-both-ports sh -c "[ -n '$old_fp' ] && [ '$(served_fp "$hport")' = '$old_fp' ] && [ '$(served_fp "$port")' = '$old_fp' ]"
cp "$work/server.pem" "$work/old.pem"
python3 "$work/keepalive.py" "$hport" "$work/old.pem" "$host" "$work/go" > "$work/keepalive.out" 2>&1 &
ka_pid=$!
lid=$(submit '{"files":{"reload.stp":"probe begin { printf(\"across a reload '$$'\\n\") exit() }"},"kernel":{"release":"'$kver'"}}')
for i in $(seq 1 100); do api "$SERVER/v1/builds/$lid" | grep -q '"state":"building"' && break; sleep 0.1; done
api "$SERVER/v1/builds/$lid?wait=60" > "$work/reload-lp.json" &
lp_pid=$!
sleep 0.5
SYSTEMTAP_DIR="$srv/stapdir" "$top/stap-gen-cert" "$ssl" > "$work/gencert.out" 2>&1
new_fp=$(file_fp)
hup_and_wait
touch "$work/go"
wait "$ka_pid"
wait "$lp_pid"
check reload-logged sh -c "grep -q 'Certificate database $ssl changed: loading it' '$work/server.log' && grep -q 'HTTP API serves certificate' '$work/server.log' && ! grep -q 'previous certificate' '$work/server.log'"
hfp=$(served_fp "$hport") sfp=$(served_fp "$port")
check reload-https-serves-new sh -c "echo 'old $old_fp new $new_fp served $hfp'; [ '$new_fp' != '$old_fp' ] && [ '$hfp' = '$new_fp' ]"
check reload-systemtap-port-serves-new test "$sfp" = "$new_fp"
check reload-long-poll-answered python3 -c "import json; s=json.load(open('$work/reload-lp.json')); assert s['state']=='done' and s['rc']==0, s"
old_hex=$(echo "$old_fp" | tr -d ':' | tr 'A-F' 'a-f')
check reload-keepalive-connection-kept sh -c "cat '$work/keepalive.out'; grep -qx 'before 200 $old_hex' '$work/keepalive.out' && grep -qx 'after 200 $old_hex' '$work/keepalive.out'"
openssl x509 -inform DER -in "$ssl/stap.cert" -out "$work/server.pem"
check reload-new-certificate-verifies sh -c "curl -s --cacert '$work/server.pem' '$SERVER/v1/health' | grep -q '\"status\":\"ok\"'"
check reload-old-certificate-refused sh -c "! curl -s --cacert '$work/old.pem' '$SERVER/v1/health' > /dev/null 2>&1"
check reload-same-port-same-process sh -c "kill -0 $server_pid && [ \$(grep -c 'HTTP API (HTTPS) on' '$work/server.log') -eq 1 ]"

# --- SIGHUP with an expired certificate: a new one is made and served -----------------------
# (a) a database replaced by one whose certificate expired a month ago
rm -f "$ssl"/cert9.db "$ssl"/key4.db "$ssl"/pkcs11.txt
head -c 64 /dev/urandom > "$work/noise"
certutil -N -d "sql:$ssl" --empty-password > "$work/certutil.out" 2>&1
certutil -S -d "sql:$ssl" -n stap-server -s 'CN=Systemtap Compile Server,OU=Systemtap' -x -t 'PCu,,PCu' \
	-k rsa -g 2048 -w -13 -v 12 -z "$work/noise" --nsCertType sslServer,objectSigning,objectSigningCA \
	-8 "$host" >> "$work/certutil.out" 2>&1
certutil -L -d "sql:$ssl" -n stap-server -a | openssl x509 -out "$work/expired.pem" 2>> "$work/certutil.out"
expired_fp=$(openssl x509 -in "$work/expired.pem" -fingerprint -sha256 -noout | cut -d= -f2)
check expired-replacement-made sh -c "cat '$work/certutil.out'; [ -n '$expired_fp' ] && ! openssl x509 -in '$work/expired.pem' -noout -checkend 0"
n=$(grep -c 'Generating a new certificate' "$work/server.log")
hup_and_wait
fp=$(file_fp)
check expired-replacement-regenerated sh -c "[ \$(grep -c 'Generating a new certificate' '$work/server.log') -gt $n ] && grep -q 'is not valid now' '$work/server.log'"
hfp=$(served_fp "$hport") sfp=$(served_fp "$port")
check expired-replacement-https-new sh -c "echo 'expired $expired_fp served $hfp'; [ '$hfp' = '$fp' ] && [ '$fp' != '$expired_fp' ] && [ '$fp' != '$new_fp' ]"
served_checks expired-replacement
openssl x509 -inform DER -in "$ssl/stap.cert" -out "$work/server.pem"
check expired-replacement-serving sh -c "curl -s --cacert '$work/server.pem' '$SERVER/v1/health' | grep -q '\"status\":\"ok\"'"

# (b) the certificate the server runs with expires: a short-lived one is
# loaded, it expires, SIGHUP makes a new one beside the database in use
if python3 -c 'import cryptography' 2> /dev/null; then
	cat > "$work/shortcert.py" << 'PY'
# P12 SECONDS NAME: a key and a self-signed stap-server certificate, valid
# from a minute ago until SECONDS from now, as a PKCS#12 file (no password)
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
out, secs, host = sys.argv[1], int(sys.argv[2]), sys.argv[3]
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
# PrintableStrings, as the server's own (clients keep all under one nickname)
printable = x509.name._ASN1Type.PrintableString
name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Systemtap", _type=printable),
                  x509.NameAttribute(NameOID.COMMON_NAME, "Systemtap Compile Server", _type=printable)])
now = datetime.datetime.now(datetime.timezone.utc)
ns_cert_type = x509.ObjectIdentifier("2.16.840.1.113730.1.1")
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(seconds=secs))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        # Netscape cert type: SSL server, object signing, object signing CA
        .add_extension(x509.UnrecognizedExtension(ns_cert_type, bytes([3, 2, 0, 0x51])), critical=True)
        .sign(key, hashes.SHA256()))
open(out, "wb").write(pkcs12.serialize_key_and_certificates(
    b"stap-server", key, cert, None, serialization.NoEncryption()))
PY
	rm -f "$ssl"/cert9.db "$ssl"/key4.db "$ssl"/pkcs11.txt
	{
		python3 "$work/shortcert.py" "$work/short.p12" 25 "$host" &&
		certutil -N -d "sql:$ssl" --empty-password &&
		pk12util -i "$work/short.p12" -d "sql:$ssl" -W '' &&
		certutil -M -d "sql:$ssl" -n stap-server -t 'PCu,,PCu' &&
		certutil -L -d "sql:$ssl" -n stap-server -a | openssl x509 -out "$work/short.pem"
	} > "$work/short.out" 2>&1
	short_fp=$(openssl x509 -in "$work/short.pem" -fingerprint -sha256 -noout 2> /dev/null | cut -d= -f2)
	hup_and_wait
	hfp=$(served_fp "$hport") sfp=$(served_fp "$port")
	check short-lived-loaded sh -c "cat '$work/short.out'; [ -n '$short_fp' ] && [ '$hfp' = '$short_fp' ] && [ '$sfp' = '$short_fp' ]"
	for i in $(seq 1 90); do	# it expires 25 s after it was made
		openssl x509 -in "$work/short.pem" -noout -checkend 0 > /dev/null || break
		sleep 1
	done
	sleep 1
	n=$(grep -c 'not valid: making a new one' "$work/server.log")
	hup_and_wait
	fp=$(file_fp)
	check expiry-renewed-logged sh -c "[ \$(grep -c 'not valid: making a new one' '$work/server.log') -gt $n ] && ! grep -q 'Unable to generate' '$work/server.log'"
	hfp=$(served_fp "$hport") sfp=$(served_fp "$port")
	check expiry-renewed-https-new sh -c "echo 'short $short_fp now $fp served $hfp'; [ '$fp' != '$short_fp' ] && [ '$hfp' = '$fp' ]"
	served_checks expiry-renewed
	check expiry-renewed-no-scratch-left sh -c "ls -A '$ssl'; [ -z \"\$(find '$ssl' -mindepth 1 -type d)\" ]"
	openssl x509 -inform DER -in "$ssl/stap.cert" -out "$work/server.pem"
else
	fail expiry-renewed "python3-cryptography is not installed (makes the short-lived certificate)"
fi

# a build over HTTP after the reloads: signed with the key loaded last
rid=$(submit '{"files":{"after.stp":"probe begin { printf(\"after the reloads '$$'\\n\") exit() }"},"kernel":{"release":"'$kver'"},"privilege":"stapusr"}')
wait_done "$rid"
check reload-build-after python3 -c "import json; s=json.load(open('$work/state.json')); assert s['state']=='done' and s['rc']==0, s"
openssl x509 -in "$work/server.pem" -pubkey -noout > "$work/pub2.pem"
api -o "$work/after.ko" "$SERVER/v1/builds/$rid/module"
api -o "$work/after.ko.sgn" "$SERVER/v1/builds/$rid/module.sgn"
check reload-build-signed-with-new-key sh -c "openssl dgst -sha256 -verify '$work/pub2.pem' -signature '$work/after.ko.sgn' '$work/after.ko' | grep -q 'Verified OK'"
check reload-server-alive kill -0 "$server_pid"

# --- shutdown: the server stops cleanly with the HTTP API on ---------------------------------------------
# a build under way when the server is told to stop: new submissions get
# 503, the build finishes and can still be followed and fetched
sid=$(submit '{"files":{"last.stp":"probe begin { printf(\"last '$$'\\n\") exit() }"},"kernel":{"release":"'$kver'"}}')
for i in $(seq 1 100); do api "$SERVER/v1/builds/$sid" | grep -q '"state":"building"' && break; sleep 0.1; done
kill -TERM "$server_pid"
for i in $(seq 1 50); do grep -q 'waiting for 1 build under way' "$work/server.log" && break; sleep 0.1; done
is_error stopping-submit-503 503 "${J[@]}" --data-binary "$hello" "$SERVER/v1/builds"
check stopping-health-503 sh -c "[ \$(curl -s --cacert '$work/server.pem' -o /dev/null -w '%{http_code}' '$SERVER/v1/health') = 503 ]"
wait_done "$sid"
check stopping-build-finishes python3 -c "import json; s=json.load(open('$work/state.json')); assert s['state']=='done', s"
check stopping-module-fetched sh -c "curl -sf --cacert '$work/server.pem' -o '$work/last.ko' '$SERVER/v1/builds/$sid/module' && readelf -W -S '$work/last.ko' | grep -q stap_kernel_build_id"
wait "$server_pid"
rc=$?
server_pid=""
check clean-stop sh -c "[ $rc -eq 0 ] && grep -q 'HTTP API stopped' '$work/server.log' && grep -q 'Server stopped' '$work/server.log'"
check no-temporary-left sh -c "[ -z \"\$(ls -A '$srv/tmp')\" ]"

# a second stop signal does not wait for a build the API runs: the server
# kills it, removes its directory and exits 1
serverd --log "$work/server2.log" --max-threads 2 --http-port "$hport" --http-listen 127.0.0.1 \
	> "$work/server2.out" 2>&1 &
server_pid=$!
wait_log "$work/server2.log" 'HTTP API (HTTPS)' 1
sid=$(submit '{"files":{"again.stp":"global n probe begin { n = '$$' } probe timer.s(1) { printf(\"%d\\n\", n) exit() }"},"kernel":{"release":"'$kver'"}}')
for i in $(seq 1 100); do api "$SERVER/v1/builds/$sid" | grep -q '"state":"building"' && break; sleep 0.1; done
kill -TERM "$server_pid"
for i in $(seq 1 50); do grep -q 'waiting for 1 build under way' "$work/server2.log" && break; sleep 0.1; done
kill -TERM "$server_pid"
wait "$server_pid"
rc=$?
server_pid=""
check second-signal-stops-at-once sh -c "[ $rc -eq 1 ] && grep -q 'HTTP API: not waiting for 1 build' '$work/server2.log' && grep -q 'Stopping with 1 request unfinished' '$work/server2.log'"
check second-signal-no-temporary-left sh -c "[ -z \"\$(ls -A '$srv/tmp')\" ]"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
