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
server_pid=""

cleanup() {
	[ -n "$server_pid" ] && kill -TERM "$server_pid" 2> /dev/null
	[ -n "$server_pid" ] && wait "$server_pid" 2> /dev/null
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
for i in $(seq 1 300); do
	grep -q 'HTTP API (HTTPS)' "$work/server.log" 2> /dev/null && break
	kill -0 "$server_pid" 2> /dev/null || break
	sleep 0.1
done
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
submit() {	# BODYFILE-or-JSON: prints the build id (empty when refused)
	api -H 'Content-Type: application/json' --data-binary "$1" "$SERVER/v1/builds" |
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
for i in $(seq 1 20); do submit "$same" > "$work/same.$i" & pids+=($!); done
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

# 429: the job table (256) full of builds still under way
slow='{"files":{"slow.stp":"probe begin { printf(\"slow '$$'\\n\") exit() }"},"kernel":{"release":"'$kver'"}}'
printf '%s\n' $(seq 1 270) | xargs -P 8 -I{} curl -s --cacert "$work/server.pem" -o /dev/null -w '%{http_code}\n' \
	-H 'Content-Type: application/json' --data-binary "$slow" "$SERVER/v1/builds" > "$work/flood.codes"
check job-table-full-429 sh -c "grep -q '^429' '$work/flood.codes' && grep -q '^202' '$work/flood.codes' && ! grep -Evq '^(202|429)$' '$work/flood.codes'"
check still-serving-after-flood sh -c "curl -s --cacert '$work/server.pem' '$SERVER/v1/health' | grep -q ok"
for i in $(seq 1 120); do	# the flood's build ends; its jobs become finished ones
	[ "$(metric stapcs_builds_running)" = 0 ] && [ "$(metric stapcs_queue_depth)" = 0 ] && break
	sleep 1
done
sleep 1

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
	until ! openssl x509 -in "$work/short.pem" -noout -checkend 0 > /dev/null; do sleep 1; done
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
for i in $(seq 1 300); do
	grep -q 'HTTP API (HTTPS)' "$work/server2.log" 2> /dev/null && break
	sleep 0.1
done
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
