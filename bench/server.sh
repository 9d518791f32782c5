#!/usr/bin/env bash
# bench/server.sh -- compile-server benchmark: cache-hit round trip against a
# TLS echo floor, cold -p4 through the server against a local build,
# throughput with one and with N build slots, and the cache-hit round trip
# against Debian's SystemTap 4.8 stap-serverd.  Peak memory of each server.
#
#   bench/server.sh [-n ROUNDS] [-b BUILD_ROUNDS] [-m REQUESTS] [-t p4|p2]
#                   [-o PARTS] [-k]
#
#   -n ROUNDS        round trips for (a) and (d) (default 20)
#   -b BUILD_ROUNDS  cold builds each way for (b) (default 3)
#   -m REQUESTS      concurrent requests for (c) (default 50; half cache hits)
#   -t p4|p2         what the distinct requests of (c) ask for (default p4)
#   -o PARTS         run only these parts, e.g. -o ad (default abcd)
#   -k               keep the temporary directory
#
# Environment: KVER (default 6.1.0-56-amd64, prepared by scripts/stap-prep),
# DEBIAN_SERVERD (default /usr/lib/systemtap/stap-serverd), DEBIAN_RUNTIME
# (default /usr/share/systemtap/runtime).  Everything runs in a private
# network namespace (unshare --net, loopback only): our server listens on
# 127.0.0.1, Debian's binds [::].  See bench/README.  Reports only: exit 0
# unless the harness itself cannot work.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
ROUNDS=20
BROUNDS=3
NREQ=50
KIND=p4
PARTS=abcd
KEEP=0
while getopts "n:b:m:t:o:kh" opt; do
	case $opt in
	n) ROUNDS=$OPTARG ;;
	b) BROUNDS=$OPTARG ;;
	m) NREQ=$OPTARG ;;
	t) KIND=$OPTARG ;;
	o) PARTS=$OPTARG ;;
	k) KEEP=1 ;;
	*) sed -n '2,22p' "$0"; exit 0 ;;
	esac
done
case $KIND in p4|p2) ;; *) echo "server.sh: -t takes p4 or p2"; exit 1 ;; esac
for v in "$ROUNDS" "$BROUNDS" "$NREQ"; do
	case $v in ''|*[!0-9]*|0) echo "server.sh: counts must be positive numbers"; exit 1 ;; esac
done
has() { case $PARTS in *"$1"*) return 0 ;; esac; return 1; }

# --- a private network namespace: nothing listens outside this run -------------
if [ "${STAPBENCH_NETNS:-}" != 1 ]; then
	if [ "$(id -u)" = 0 ] && unshare --net true 2>/dev/null && command -v ip >/dev/null; then
		export STAPBENCH_NETNS=1
		exec unshare --net -- bash "$0" "$@"     # same pid: the traps below hold
	fi
	echo "note: cannot make a network namespace (need root, unshare, ip): part (d) is skipped"
	STAPBENCH_NETNS=0
fi
if [ "$STAPBENCH_NETNS" = 1 ]; then
	ip link set lo up || { echo "server.sh: cannot bring lo up in the namespace"; exit 1; }
fi

KVER=${KVER:-6.1.0-56-amd64}
STORE=${STAP_KERNEL_STORE:-/var/lib/stapcs/kernels}
DSERVERD=${DEBIAN_SERVERD:-/usr/lib/systemtap/stap-serverd}
DRUNTIME=${DEBIAN_RUNTIME:-/usr/share/systemtap/runtime}
CC=${CC:-gcc}
NCPU=$(nproc)
for f in stap stap-serverd libstapcommon.a tests/server/mkzip; do
	[ -e "$ROOT/$f" ] || { echo "server.sh: $ROOT/$f not found (make first)"; exit 1; }
done
[ -d "$STORE/$KVER/build" ] || { echo "server.sh: no kernel $KVER in $STORE (run scripts/stap-prep $KVER)"; exit 1; }
command -v "$CC" >/dev/null && command -v pkg-config >/dev/null && command -v unzip >/dev/null ||
	{ echo "server.sh: need $CC, pkg-config and unzip"; exit 1; }
[ -x /usr/bin/time ] || { echo "server.sh: need /usr/bin/time (package time)"; exit 1; }

WORK=$(mktemp -d /tmp/stapbench-s.XXXXXX)
PIDS=()            # every background process we started
cleanup() {
	local p
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	for p in $(jobs -p); do kill "$p" 2>/dev/null; done      # (c)'s clients, if interrupted
	if [ "$KEEP" = 1 ]; then echo "(kept $WORK)"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# descendants of a pid, deepest first (by parent id, from /proc)
descendants() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do descendants "$c"; echo "$c"; done
}
# TERM, up to 10 s to finish, then TERM again (our server: "stop at once"),
# then KILL; builds it forked in their own process groups go too.
stop_pid() {
	local p=$1 i kids
	kids=$(descendants "$p")
	kill -TERM "$p" 2>/dev/null
	for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$p" 2>/dev/null; then
		kill -TERM "$p" 2>/dev/null; sleep 1; kill -KILL "$p" 2>/dev/null
	fi
	wait "$p" 2>/dev/null
	for i in $kids; do kill -KILL "$i" 2>/dev/null; done
	local keep=()                                 # forget it: its pid may be reused
	for i in "${PIDS[@]}"; do [ "$i" = "$p" ] || keep+=("$i"); done
	PIDS=("${keep[@]}")
	return 0
}

mkdir -p "$WORK/bin" "$WORK/out" "$WORK/req" "$WORK/srv/home" "$WORK/srv/tmp" "$WORK/cli"
cd "$WORK" || exit 1
# snapshots: others may rebuild ../stap or edit the runtime meanwhile
cp "$ROOT/stap" "$ROOT/stap-serverd" "$ROOT/tests/server/mkzip" "$WORK/bin/"
cp "$ROOT/libstapcommon.a" "$WORK/"
cp -r "$ROOT/tapset" "$WORK/tapset"
cp -r "$ROOT/runtime/kernel" "$WORK/runtime"
cp "$HERE/hello.stp" "$WORK/"
"$CC" -std=gnu11 -O2 -Wall -Wextra -I"$ROOT/common" $(pkg-config --cflags nss libarchive) \
	-o "$WORK/bin/csbench" "$HERE/csbench.c" "$WORK/libstapcommon.a" \
	$(pkg-config --libs nss libarchive) -lpthread 2>"$WORK/out/csbench.build" ||
	{ cat "$WORK/out/csbench.build"; echo "server.sh: cannot build csbench"; exit 1; }
CSB=$WORK/bin/csbench
MKZIP=$WORK/bin/mkzip
export STAP_PR11197_OVERRIDE=1        # both servers refuse root without it

# --- helpers ---------------------------------------------------------------------
med() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) { print 0; exit }
	print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
mn() { tr ' ' '\n' <<<"$1" | grep . | sort -n | head -n 1; }
mx() { tr ' ' '\n' <<<"$1" | grep . | sort -n | tail -n 1; }
cnt() { tr ' ' '\n' <<<"$1" | grep -c .; }
ms() { awk -v u="${1:-0}" 'BEGIN { printf "%.1f", u / 1000 }'; }
sec() { awk -v u="${1:-0}" 'BEGIN { printf "%.2f", u / 1e6 }'; }
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "-" }'; }
# median over rounds of the per-round ratio A/B (paired: same moment, same load)
pratio() { paste -d' ' <(tr ' ' '\n' <<<"$1" | grep .) <(tr ' ' '\n' <<<"$2" | grep .) |
	awk 'NF == 2 && $2 > 0 { print $1 / $2 }' | sort -g | awk '{ a[NR] = $1 } END { if (!NR) { print "-"; exit }
	printf "%.2fx", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# "noisy" when the slowest round is more than twice the fastest
spread() { awk -v a="$(mn "$1")" -v b="$(mx "$1")" 'BEGIN { if (a > 0 && b / a > 2) printf "  (spread %.1fx: noisy)", b / a }'; }
row() { # label list-of-us [extra]
	printf '  %-52s %9s %9s %9s  n=%-3s%s%s\n' "$1" "$(ms "$(med "$2")")" "$(ms "$(mn "$2")")" \
		"$(ms "$(mx "$2")")" "$(cnt "$2")" "${3:-}" "$(spread "$2")"
}
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo "?"; }
# a request zip: OUT PASS SCRIPT-TEXT
mkreq() {
	"$MKZIP" "$1" "f:version=4.8" "f:sysinfo=sysinfo: $KVER x86_64" "f:locale=" \
		"f:argv1=-$2" "f:argv2=-e$3" || { echo "server.sh: mkzip failed"; exit 1; }
}
# one timed request: [--nodelay] ADDR PORT ZIP -> sets R_US R_BYTES R_RC R_KO
# (R_US empty on failure)
request1() {
	local line nd=()
	[ "$1" = --nodelay ] && { nd=(--nodelay); shift; }
	line=$(CSBENCH_SAVE=$WORK/out/last.resp timeout 960 "$CSB" "${nd[@]}" request "$1" "$2" "$3" 1 \
		2>>"$WORK/out/csbench.err")
	read -r R_US R_BYTES R_RC R_KO <<<"${line:-}"
	R_US=${R_US:-} R_RC=${R_RC:--1} R_KO=${R_KO:-0}
}

# the last request1 succeeded: rc 0 and, for -p4, a module
answered() { [ -n "$R_US" ] && [ "$R_RC" = 0 ] && { [ "$1" != p4 ] || [ "$R_KO" = 1 ]; }; }

# our server: NAME EXTRA-ARGS... -> SPID, SPORT; log in $WORK/out/NAME.log
SSL=$WORK/srv/stapdir/ssl/server
start_ours() {
	local name=$1 log=$WORK/out/$1.log i; shift
	env HOME="$WORK/srv/home" SYSTEMTAP_DIR="$WORK/srv/stapdir" TMPDIR="$WORK/srv/tmp" \
		SYSTEMTAP_TAPSET="$WORK/tapset" SYSTEMTAP_RUNTIME="$WORK/runtime" \
		"$WORK/bin/stap-serverd" --listen 127.0.0.1 --port 0 -r "$KVER" --log "$log" "$@" \
		>"$WORK/out/$name.out" 2>&1 &
	SPID=$!
	PIDS+=("$SPID")
	for ((i = 0; i < 600; i++)); do      # 60 s: the first start makes a 4096-bit key
		grep -q 'Using network address' "$log" 2>/dev/null && break
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	SPORT=$(grep 'Using network address' "$log" 2>/dev/null | tail -n 1 | sed -E 's/.*\]:([0-9]+)$/\1/')
	if [ -z "$SPORT" ] || ! "$CSB" probe 127.0.0.1 "$SPORT" 30 2>>"$WORK/out/csbench.err"; then
		echo "server.sh: our server did not start; its output:"
		tail -n 20 "$WORK/out/$name.out" "$log" 2>/dev/null | sed 's/^/    /'
		exit 1
	fi
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== compile-server benchmark: cache hits, cold builds, throughput, Debian's stap-serverd =="
echo "binaries: $ROOT/stap-serverd ($(stat -c %s "$ROOT/stap-serverd") bytes, $(date -r "$ROOT/stap-serverd" '+%F %T')),"
echo "          $ROOT/stap, client bench/csbench.c (built now against libstapcommon.a)"
echo "kernel  : $KVER (kernel store $STORE)"
echo "host    : $NCPU CPU(s), $(uname -r); load avg $LOAD0"
if [ "$STAPBENCH_NETNS" = 1 ]; then
	echo "network : a private network namespace (unshare --net), loopback only"
else
	echo "network : the host's loopback (127.0.0.1 only)"
fi
echo "method  : round trips timed inside csbench (CLOCK_MONOTONIC around connect, TLS handshake,"
echo "          send, receive to EOF, close; a full handshake every time, no session resumption;"
echo "          process and NSS start-up not timed); rounds interleaved so drifting load hits"
echo "          both sides alike; median (min, max) in ms unless said otherwise"
echo

declare -A SUM          # summary lines, by part
MEMS=()                 # peak memory lines

HELLO='probe begin { println("hello world"); exit() }'
mkreq "$WORK/req/hit-p4.zip" p4 "$HELLO"
mkreq "$WORK/req/hit-p2.zip" p2 "$HELLO"

# one server for (a) and (d), with its cache
NEED_S1=0
has a && NEED_S1=1
has d && [ "$STAPBENCH_NETNS" = 1 ] && NEED_S1=1
if [ "$NEED_S1" = 1 ] || has b || has c; then
	start_ours s1 --cache "$WORK/cache-s1"
	S1PID=$SPID S1PORT=$SPORT
	request1 127.0.0.1 "$S1PORT" "$WORK/req/hit-p4.zip"     # fills the cache
	if [ "$R_RC" != 0 ] || [ "$R_KO" != 1 ]; then
		echo "server.sh: our server could not build hello.stp (rc $R_RC); its answer:"
		unzip -p "$WORK/out/last.resp" stderr 2>/dev/null | tail -n 15 | sed 's/^/    /'
		exit 1
	fi
	S1COLD=$R_US S1BYTES=$R_BYTES
fi

# --- (a) cache hit vs TLS echo floor ----------------------------------------------
if has a; then
	cp -r "$SSL" "$WORK/echo-db"          # the same 4096-bit key and certificate
	"$CSB" echo-server "$WORK/echo-db" "$WORK/echo.port" >"$WORK/out/echo.out" 2>&1 &
	EPID=$!
	PIDS+=("$EPID")
	for ((i = 0; i < 100; i++)); do [ -f "$WORK/echo.port" ] && break; sleep 0.1; done
	EPORT=$(cat "$WORK/echo.port" 2>/dev/null)
	[ -n "$EPORT" ] || { echo "server.sh: the echo server did not start"; cat "$WORK/out/echo.out"; exit 1; }
	"$CSB" echo 127.0.0.1 "$EPORT" 2 >/dev/null                 # warm-up
	request1 127.0.0.1 "$S1PORT" "$WORK/req/hit-p4.zip"
	A_FLOOR="" A_OURS="" A_FLOORND="" A_OURSND="" A_FAIL=0
	for ((i = 0; i < ROUNDS; i++)); do
		A_FLOOR+="$("$CSB" echo 127.0.0.1 "$EPORT" 1 2>>"$WORK/out/csbench.err") "
		request1 127.0.0.1 "$S1PORT" "$WORK/req/hit-p4.zip"
		if answered p4; then A_OURS+="$R_US "; else A_FAIL=$((A_FAIL + 1)); fi
		A_FLOORND+="$("$CSB" --nodelay echo 127.0.0.1 "$EPORT" 1 2>>"$WORK/out/csbench.err") "
		request1 --nodelay 127.0.0.1 "$S1PORT" "$WORK/req/hit-p4.zip"
		answered p4 && A_OURSND+="$R_US "
	done
	HITS=$(grep -c 'from the cache' "$WORK/out/s1.log")
	echo "--- (a) cache-hit round trip (-p4 of hello.stp, already cached) vs TLS echo floor: $ROUNDS rounds ---"
	echo "  first build of it (cold, fills the cache): $(sec "$S1COLD") s; response $S1BYTES bytes (zip with the .ko)"
	printf '  %-52s %9s %9s %9s\n' "" "median" "min" "max"
	row "FLOOR: TLS connect + 1 KiB echo (same NSS, same key)" "$A_FLOOR"
	row "ours: cache hit, connect..module received..close" "$A_OURS"
	echo "  ratio ours/floor: $(ratio "$(med "$A_OURS")" "$(med "$A_FLOOR")") (medians), $(pratio "$A_OURS" "$A_FLOOR") (median of per-round ratios)"
	echo "  diagnostic, the client sets TCP_NODELAY after the handshake (common/tls.c does not):"
	row "floor, TCP_NODELAY" "$A_FLOORND"
	row "ours, TCP_NODELAY" "$A_OURSND"
	echo "  ratio ours/floor with TCP_NODELAY: $(ratio "$(med "$A_OURSND")" "$(med "$A_FLOORND")") (medians), $(pratio "$A_OURSND" "$A_FLOORND") (per-round)"
	echo "  server log: $HITS answers 'from the cache'; failed rounds: $A_FAIL"
	echo "  server's own time per hit (its log, accept..sent): $(grep 'from the cache' "$WORK/out/s1.log" |
		sed -E 's/.* ([0-9]+) ms$/\1/' | sort -n | awk '{ a[NR] = $1 } END { if (NR) printf "median %d ms, min %d, max %d", a[int((NR + 1) / 2)], a[1], a[NR] }')"
	echo
	R=$(awk -v a="$(med "$A_OURS")" -v b="$(med "$A_FLOOR")" 'BEGIN { print (b > 0 && a > 0 && a / b <= 3) ? "met" : "NOT met" }')
	SUM[a]=$(printf '(a) cache-hit round trip  ours %s ms, floor %s ms: %s; goal <= 3x: %s\n    (with TCP_NODELAY: ours %s ms, floor %s ms: %s)' \
		"$(ms "$(med "$A_OURS")")" "$(ms "$(med "$A_FLOOR")")" "$(ratio "$(med "$A_OURS")" "$(med "$A_FLOOR")")" "$R" \
		"$(ms "$(med "$A_OURSND")")" "$(ms "$(med "$A_FLOORND")")" "$(ratio "$(med "$A_OURSND")" "$(med "$A_FLOORND")")")
	SUM[a]+=$'\n'"    the floors differ by $(ms $(( $(med "$A_FLOOR") - $(med "$A_FLOORND") ))) ms: without TCP_NODELAY (common/tls.c) the first"
	SUM[a]+=$'\n'"    write after the handshake waits for a delayed ACK; that inflates the plain floor"
	stop_pid "$EPID"
fi

# --- (d) cache hit: ours vs Debian's stap-serverd ------------------------------------
if has d; then
	echo "--- (d) cache-hit round trip: ours vs Debian's SystemTap 4.8 stap-serverd ---"
	if [ "$STAPBENCH_NETNS" != 1 ]; then
		echo "  skipped: Debian's server binds every address and no network namespace could be made"
		SUM[d]="(d) vs Debian's stap-serverd: skipped (no network namespace)"
	elif [ ! -x "$DSERVERD" ] || [ ! -x /usr/bin/stap ] || [ ! -d "$DRUNTIME" ]; then
		echo "  skipped: $DSERVERD, /usr/bin/stap or $DRUNTIME missing (package systemtap-server)"
		SUM[d]="(d) vs Debian's stap-serverd: skipped (not installed)"
	else
		# Debian's 4.8 runtime calls task_work_cancel(task, func), which 6.1.0-56
		# (stable backport) turned into bool task_work_cancel(task, cb); its
		# task_work_cancel_func has the old meaning.  Patch that one wrapper in a copy.
		cp -r "$DRUNTIME" "$WORK/debian-runtime"
		TW=$WORK/debian-runtime/stp_task_work.c
		sed -i -E 's/\btask_work_cancel\b/task_work_cancel_func/g' "$TW"
		PATCHED=$(diff "$DRUNTIME/stp_task_work.c" "$TW" | grep -c '^>')
		D=$WORK/debian
		mkdir -p "$D/home" "$D/tmp"
		DPORT=40123
		env HOME="$D/home" SYSTEMTAP_DIR="$D/home/.systemtap" TMPDIR="$D/tmp" \
			"$DSERVERD" -r "$KVER" -R "$WORK/debian-runtime" --port "$DPORT" --log "$WORK/out/debian.log" \
			>"$WORK/out/debian.out" 2>&1 &
		DPID=$!
		PIDS+=("$DPID")
		if ! "$CSB" probe 127.0.0.1 "$DPORT" 60 2>>"$WORK/out/csbench.err"; then
			echo "  Debian's server did not start; its log:"
			tail -n 15 "$WORK/out/debian.out" "$WORK/out/debian.log" | sed 's/^/    /'
			SUM[d]="(d) vs Debian's stap-serverd: its server did not start"
		else
			echo "  Debian's server: $DSERVERD -r $KVER --port $DPORT"
			echo "    -R <a copy of $DRUNTIME; stp_task_work.c: task_work_cancel ->"
			echo "    task_work_cancel_func, $PATCHED lines>; the same client (csbench) and request zip for both"
			DP=p4
			request1 127.0.0.1 "$DPORT" "$WORK/req/hit-p4.zip"
			if [ "$R_RC" = 0 ] && [ "$R_KO" = 1 ]; then
				echo "  Debian's first -p4 of hello.stp (cold, fills its cache): $(sec "$R_US") s, rc 0, .ko received"
			else
				echo "  Debian's -p4 FAILED (rc $R_RC): measuring -p2 round trips on both servers instead; its stderr:"
				unzip -p "$WORK/out/last.resp" stderr 2>/dev/null | grep -v '^$' | tail -n 12 | sed 's/^/    /'
				DP=p2
				request1 127.0.0.1 "$DPORT" "$WORK/req/hit-p2.zip"
				request1 127.0.0.1 "$S1PORT" "$WORK/req/hit-p2.zip"
			fi
			request1 127.0.0.1 "$DPORT" "$WORK/req/hit-$DP.zip"                # warm
			D_OURS="" D_THEIRS="" D_OURSND="" D_THEIRSND="" D_FAIL=0
			for ((i = 0; i < ROUNDS; i++)); do
				request1 127.0.0.1 "$S1PORT" "$WORK/req/hit-$DP.zip"
				if answered "$DP"; then D_OURS+="$R_US "; OB=$R_BYTES; else D_FAIL=$((D_FAIL + 1)); fi
				request1 127.0.0.1 "$DPORT" "$WORK/req/hit-$DP.zip"
				if answered "$DP"; then D_THEIRS+="$R_US "; DB=$R_BYTES; else D_FAIL=$((D_FAIL + 1)); fi
				request1 --nodelay 127.0.0.1 "$S1PORT" "$WORK/req/hit-$DP.zip"
				answered "$DP" && D_OURSND+="$R_US "
				request1 --nodelay 127.0.0.1 "$DPORT" "$WORK/req/hit-$DP.zip"
				answered "$DP" && D_THEIRSND+="$R_US "
			done
			printf '  %-52s %9s %9s %9s\n' "" "median" "min" "max"
			row "ours: -$DP cache hit" "$D_OURS" "  (${OB:-?} bytes)"
			row "Debian 4.8 stap-serverd: -$DP cache hit" "$D_THEIRS" "  (${DB:-?} bytes)"
			X=$(awk -v a="$(med "$D_THEIRS")" -v b="$(med "$D_OURS")" 'BEGIN { if (a > 0 && b > 0) printf "%.1f", a / b; else print 0 }')
			XND=$(awk -v a="$(med "$D_THEIRSND")" -v b="$(med "$D_OURSND")" 'BEGIN { if (a > 0 && b > 0) printf "%.1f", a / b; else print 0 }')
			G=$(awk -v x="$X" 'BEGIN { print (x >= 20) ? "met" : "NOT met" }')
			echo "  ours is ${X}x faster (medians), $(pratio "$D_THEIRS" "$D_OURS") per round; goal >= 20x: $G; failed rounds: $D_FAIL"
			echo "  diagnostic, the client sets TCP_NODELAY after the handshake (both servers):"
			row "ours, TCP_NODELAY" "$D_OURSND"
			row "Debian 4.8, TCP_NODELAY" "$D_THEIRSND"
			echo "  ours is ${XND}x faster with TCP_NODELAY (medians), $(pratio "$D_THEIRSND" "$D_OURSND") per round"
			echo "  (Debian's server runs /usr/bin/stap for every request: passes 1-2 over its tapset"
			echo "  library before its own cache is consulted)"
			DH=$(hwm "$DPID")
			MEMS+=("Debian's stap-serverd VmHWM (parent only; its stap children not included): $DH KiB")
			SUM[d]=$(printf '(d) -%s cache hit vs Debian  ours %s ms, Debian 4.8 %s ms: ours %sx faster; goal >= 20x: %s\n    (with TCP_NODELAY: ours %s ms, Debian %s ms: %sx faster)' \
				"$DP" "$(ms "$(med "$D_OURS")")" "$(ms "$(med "$D_THEIRS")")" "$X" "$G" \
				"$(ms "$(med "$D_OURSND")")" "$(ms "$(med "$D_THEIRSND")")" "$XND")
			[ "$DP" = p2 ] && SUM[d]+=" (-p2: Debian's -p4 failed)"
		fi
		stop_pid "$DPID"
		echo
	fi
fi
if [ "$NEED_S1" = 1 ] || has b || has c; then
	MEMS+=("our server, (a)+(d) (cache on, $ROUNDS+ hits): VmHWM $(hwm "$S1PID") KiB")
	stop_pid "$S1PID"
fi

# --- (b) cold -p4 through the server vs local ----------------------------------------
if has b; then
	start_ours s2 --ssl "$SSL" --cache-size 0
	S2PID=$SPID S2PORT=$SPORT
	CLI=(env HOME="$WORK/cli" SYSTEMTAP_DIR="$WORK/cli/.systemtap" "$WORK/bin/stap")
	"${CLI[@]}" --use-server="127.0.0.1:$S2PORT" --trust-servers=ssl,no-prompt >"$WORK/out/trust.out" 2>&1
	mkdir -p "$WORK/b-local" "$WORK/b-remote"
	LOCAL=(env SYSTEMTAP_RUNTIME="$WORK/runtime" "$WORK/bin/stap" --tapset-dir="$WORK/tapset" -r "$KVER" -p4 "$WORK/hello.stp")
	REMOTE=("${CLI[@]}" --use-server="127.0.0.1:$S2PORT" -r "$KVER" -p4 "$WORK/hello.stp")
	B_LOCAL="" B_REMOTE="" B_LRSS=0 B_RRSS=0 B_FAIL=""
	timed() { # DIR NAME CMD... -> T_US T_RSS T_RC
		local dir=$1 name=$2 t0 t1; shift 2
		rm -f "$dir"/*.ko
		t0=$(date +%s%N)
		(cd "$dir" && /usr/bin/time -f '%M' -o "$WORK/out/$name.time" timeout 900 "$@") \
			>"$WORK/out/$name.out" 2>"$WORK/out/$name.err"
		T_RC=$?
		t1=$(date +%s%N)
		T_US=$(( (t1 - t0) / 1000 ))
		T_RSS=$(tail -n 1 "$WORK/out/$name.time" 2>/dev/null)
		[ "$T_RC" = 0 ] && ! ls "$dir"/*.ko >/dev/null 2>&1 && T_RC=99
		return 0
	}
	timed "$WORK/b-local" local "${LOCAL[@]}"          # warm-up, both ways (page cache)
	timed "$WORK/b-remote" remote "${REMOTE[@]}"
	[ "$T_RC" = 0 ] || { echo "  (warm-up through the server failed: rc $T_RC)"; tail -n 5 "$WORK/out/remote.err" | sed 's/^/    /'; }
	for ((i = 0; i < BROUNDS; i++)); do
		for side in local remote; do
			[ $(( i % 2 )) = 1 ] && side=$([ "$side" = local ] && echo remote || echo local)
			if [ "$side" = local ]; then timed "$WORK/b-local" local "${LOCAL[@]}"
			else timed "$WORK/b-remote" remote "${REMOTE[@]}"; fi
			if [ "$T_RC" != 0 ]; then B_FAIL+="$side(rc $T_RC) "; continue; fi
			if [ "$side" = local ]; then B_LOCAL+="$T_US "; B_LRSS=$(( T_RSS > B_LRSS ? T_RSS : B_LRSS ))
			else B_REMOTE+="$T_US "; B_RRSS=$(( T_RSS > B_RRSS ? T_RSS : B_RRSS )); fi
		done
	done
	BUILT=$(grep -c 'rc 0, built' "$WORK/out/s2.log")
	echo "--- (b) cold -p4 of hello.stp: through our server (--cache-size 0) vs local: $BROUNDS rounds each ---"
	echo "  local : SYSTEMTAP_RUNTIME=... stap --tapset-dir=... -r $KVER -p4 hello.stp (no module cache)"
	echo "  server: stap --use-server=127.0.0.1:PORT -r $KVER -p4 hello.stp (our client; wall time"
	echo "          of the client process: request, build on the server, module written here)"
	printf '  %-52s %9s %9s %9s  (s)\n' "" "median" "min" "max"
	brow() { printf '  %-52s %9s %9s %9s  n=%-3s maxRSS %s KiB%s%s\n' "$1" "$(sec "$(med "$2")")" "$(sec "$(mn "$2")")" \
		"$(sec "$(mx "$2")")" "$(cnt "$2")" "$3" "${4:-}" "$(spread "$2")"; }
	brow "local stap -p4" "$B_LOCAL" "$B_LRSS"
	brow "through the server" "$B_REMOTE" "$B_RRSS" " (the client)"
	echo "  overhead ratio server/local: $(ratio "$(med "$B_REMOTE")" "$(med "$B_LOCAL")") (medians), $(pratio "$B_REMOTE" "$B_LOCAL") (per round)"
	echo "  server log: $BUILT builds; server's own time per build: $(grep 'rc 0, built' "$WORK/out/s2.log" |
		sed -E 's/.* ([0-9]+) ms$/\1/' | tr '\n' ' ')ms"
	[ -n "$B_FAIL" ] && { echo "  FAILED: $B_FAIL; last output:"; tail -n 6 "$WORK/out/local.err" "$WORK/out/remote.err" | sed 's/^/    /'; }
	echo "  maxRSS = /usr/bin/time %M: the largest single process of the tree (the translator,"
	echo "  make or cc1), not a sum"
	echo
	MEMS+=("our server, (b) (cache off, $((BROUNDS + 1)) builds): VmHWM $(hwm "$S2PID") KiB (parent; builds are forked children)")
	MEMS+=("local stap -p4 max RSS $B_LRSS KiB; our client (--use-server) max RSS $B_RRSS KiB")
	SUM[b]="(b) cold -p4 overhead      server $(sec "$(med "$B_REMOTE")") s, local $(sec "$(med "$B_LOCAL")") s: $(ratio "$(med "$B_REMOTE")" "$(med "$B_LOCAL")"); no goal stated (report only)"
	stop_pid "$S2PID"
fi

# --- (c) throughput, 1 vs N build slots -------------------------------------------------
if has c; then
	NHIT=$(( NREQ / 2 )) NDIST=$(( NREQ - NREQ / 2 )) NCACHED=5
	for ((j = 1; j <= NCACHED; j++)); do mkreq "$WORK/req/c-hit$j.zip" p4 "probe begin { println(\"hit $j\"); exit() }"; done
	for ((j = 1; j <= NDIST; j++)); do mkreq "$WORK/req/c-new$j.zip" "$KIND" "probe begin { println(\"new $j\"); exit() }"; done
	echo "--- (c) throughput: $NREQ requests at once: $NHIT cache hits (-p4, $NCACHED cached scripts),"
	echo "    $NDIST distinct -$KIND builds; a fresh cache each time, --max-threads 1 vs $NCPU ---"
	declare -A C_RPS
	for slots in 1 "$NCPU"; do
		start_ours "c$slots" --ssl "$SSL" --cache "$WORK/cache-c$slots" --max-threads "$slots"
		for ((j = 1; j <= NCACHED; j++)); do request1 127.0.0.1 "$SPORT" "$WORK/req/c-hit$j.zip"; done
		mkdir -p "$WORK/c$slots"
		cpids=()
		t0=$(date +%s%N)
		for ((k = 0; k < NREQ; k++)); do
			if (( k % 2 == 0 && k / 2 < NHIT )) || (( k / 2 >= NDIST )); then
				z=$WORK/req/c-hit$(( k % NCACHED + 1 )).zip kind=hit
			else
				z=$WORK/req/c-new$(( k / 2 + 1 )).zip kind=new
			fi
			timeout 960 "$CSB" request 127.0.0.1 "$SPORT" "$z" 1 >"$WORK/c$slots/$k.$kind" 2>>"$WORK/out/csbench.err" &
			cpids+=($!)
		done
		for p in "${cpids[@]}"; do wait "$p"; done
		t1=$(date +%s%N)
		WALL=$(( (t1 - t0) / 1000 ))
		OK=$(cat "$WORK/c$slots"/*.* | awk '$3 == 0 { n++ } END { print n + 0 }')
		LH=$(cat "$WORK/c$slots"/*.hit | awk '$3 == 0 { printf "%s ", $1 }')
		LN=$(cat "$WORK/c$slots"/*.new | awk '$3 == 0 { printf "%s ", $1 }')
		C_RPS[$slots]=$(awk -v n="$OK" -v u="$WALL" 'BEGIN { if (u > 0) printf "%.2f", n / (u / 1e6); else print 0 }')
		printf '  --max-threads %-2s wall %7s s  %6s requests/s  ok %s/%s   latency (s) hits: median %s max %s; builds: median %s max %s\n' \
			"$slots" "$(sec "$WALL")" "${C_RPS[$slots]}" "$OK" "$NREQ" "$(sec "$(med "$LH")")" "$(sec "$(mx "$LH")")" \
			"$(sec "$(med "$LN")")" "$(sec "$(mx "$LN")")"
		MEMS+=("our server, (c) --max-threads $slots ($NREQ at once): VmHWM $(hwm "$SPID") KiB")
		stop_pid "$SPID"
	done
	CR=$(awk -v a="${C_RPS[$NCPU]}" -v b="${C_RPS[1]}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')
	echo "  ratio --max-threads $NCPU / 1: $CR (each build's kbuild already runs make -j$NCPU)"
	[ "$KIND" = p2 ] && echo "  (distinct requests at -p2, as asked with -t p2: translator only, no kbuild)"
	echo
	SUM[c]="(c) throughput, $NREQ at once ($KIND)  --max-threads 1: ${C_RPS[1]} req/s, $NCPU: ${C_RPS[$NCPU]} req/s: $CR; no goal stated (report only)"
fi

# --- summary -------------------------------------------------------------------------------
echo "==================== summary (report only; never an assertion) ===================="
for p in a b c d; do [ -n "${SUM[$p]:-}" ] && echo "${SUM[$p]}"; done
echo "peak memory:"
for m in "${MEMS[@]}"; do echo "    $m"; done
echo "load avg before/after: $LOAD0 / $(cut -d' ' -f1-3 /proc/loadavg) on $NCPU CPU(s); other jobs share"
echo "this machine: read min/max and the per-round ratios, not only the medians"
[ -s "$WORK/out/csbench.err" ] && { echo "client errors (csbench):"; sort "$WORK/out/csbench.err" | uniq -c | head -n 8 | sed 's/^/    /'; }
echo "done."
exit 0
