#!/usr/bin/env bash
# bench/run.sh -- speed and memory benchmark for the stap translator (-p1/-p2).
#
#   bench/run.sh [-n RUNS] [-s SEED] [-l LINES] [-k] [-q]
#
#   -n RUNS   timed runs per measurement, the median is reported (default 7)
#   -s SEED   seed for the generated script (default 42)
#   -l LINES  size of the generated script (default 10000)
#   -k        keep the temporary directory (inputs, outputs, helpers)
#   -q        skip the scaling series
#
# Environment: STAP (binary, default ../stap), TAPSET (library, default
# ../tapset), DEBIAN_STAP (default /usr/bin/stap), KVER (kernel release
# for Debian's stap, default: first linux-headers-* found).
# See bench/README.  Never fails because something is slow: exit 0 unless
# the harness itself cannot work (no compiler, no stap binary).
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
RUNS=${N:-7}
SEED=42
LINES=10000
KEEP=0
SCALING=1
while getopts "n:s:l:kqh" opt; do
	case $opt in
	n) RUNS=$OPTARG ;;
	s) SEED=$OPTARG ;;
	l) LINES=$OPTARG ;;
	k) KEEP=1 ;;
	q) SCALING=0 ;;
	*) sed -n '2,16p' "$0"; exit 0 ;;
	esac
done

STAP_SRC=${STAP:-$ROOT/stap}
TAPSET_SRC=${TAPSET:-$ROOT/tapset}
DEBIAN_STAP=${DEBIAN_STAP:-/usr/bin/stap}
CC=${CC:-gcc}

if [ ! -x "$STAP_SRC" ]; then
	echo "run.sh: $STAP_SRC not found; building it (make -j2 in $ROOT)"
	make -C "$ROOT" -j2 >/dev/null || { echo "run.sh: build failed"; exit 1; }
fi
command -v "$CC" >/dev/null || { echo "run.sh: need a C compiler ($CC)"; exit 1; }

WORK=$(mktemp -d /tmp/stapbench.XXXXXX)
if [ "$KEEP" = 1 ]; then
	trap 'echo "(kept $WORK)"' EXIT
else
	trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK/bin" "$WORK/out"

# --- helpers, and a snapshot of the binary and library under test --------
for p in bt gen tokfloor; do
	"$CC" -O2 -o "$WORK/bin/$p" "$HERE/$p.c" || { echo "run.sh: cannot build $p"; exit 1; }
done
BT=$WORK/bin/bt
GEN=$WORK/bin/gen
TOK=$WORK/bin/tokfloor
# Others may rebuild ../stap or edit ../tapset while we run: measure copies.
cp "$STAP_SRC" "$WORK/stap"
cp -r "$TAPSET_SRC" "$WORK/tapset"
STAP="$WORK/stap"
OURS=("$STAP" --tapset-dir="$WORK/tapset")

# --- inputs ----------------------------------------------------------------
BIG=$WORK/big.stp
"$GEN" -l "$LINES" -s "$SEED" -o "$BIG" -c "$WORK/big.c"
SMALL=$WORK/small.stp
cp "$HERE/small.stp" "$SMALL"
SMALL_LINES=$(wc -l <"$SMALL")
"$GEN" -l 40 -s "$SEED" -c "$WORK/small.c"      # smallest C the generator makes
# The whole library as one script: macro files first (as the loader does),
# then every .stp, in name order.
TAP=$WORK/tapset-all.stp
{ find "$WORK/tapset" -name '*.stpm' | LC_ALL=C sort
  find "$WORK/tapset" -name '*.stp' | LC_ALL=C sort; } >"$WORK/tapset-files"
xargs cat <"$WORK/tapset-files" >"$TAP"
TAP_FILES=$(wc -l <"$WORK/tapset-files")
TAP_LINES=$(wc -l <"$TAP")
"$GEN" -l "$TAP_LINES" -s "$SEED" -c "$WORK/tap.c"

# --- Debian's SystemTap, if present ------------------------------------------
DEB=0
DEB_NOTE=""
if [ -x "$DEBIAN_STAP" ]; then
	if [ -z "${KVER:-}" ]; then
		for d in /usr/src/linux-headers-6.1.0-56-amd64 /usr/src/linux-headers-*; do
			[ -d "$d" ] || continue
			case $d in *-common|*-common-rt) continue ;; esac
			KVER=${d#/usr/src/linux-headers-}
			break
		done
	fi
	if [ -n "${KVER:-}" ]; then
		if "$DEBIAN_STAP" -p2 -r "$KVER" -e 'probe begin { print(1) }' >/dev/null 2>&1; then
			DEB=1
			DEB_NOTE="$("$DEBIAN_STAP" -V 2>&1 | head -1), -r $KVER"
		else
			DEB_NOTE="$DEBIAN_STAP -p2 -r $KVER fails on a trivial script: skipped"
		fi
	else
		DEB_NOTE="$DEBIAN_STAP present but no linux-headers-* installed: skipped"
	fi
else
	DEB_NOTE="no $DEBIAN_STAP: comparison skipped"
fi
DEB_TAPSET=/usr/share/systemtap/tapset

# --- measuring ---------------------------------------------------------------
declare -A MED MIN MAX RSS FAILS RC NLINES
# measure KEY LINES CMD...   (N timed runs after one warm-up)
measure() {
	local key=$1 lines=$2
	shift 2
	local r
	r=$("$BT" -n "$RUNS" -w 1 -o "$WORK/out/$key.out" -e "$WORK/out/$key.err" -- "$@")
	if [ -z "$r" ]; then r="0 0 0 0 $RUNS 127"; fi
	read -r MED[$key] MIN[$key] MAX[$key] RSS[$key] FAILS[$key] RC[$key] <<<"$r"
	NLINES[$key]=$lines
}

echo "== stap translator benchmark =="
echo "binary : $STAP_SRC ($(stat -c %s "$STAP_SRC") bytes, $(date -r "$STAP_SRC" '+%F %T'))"
echo "tapset : $TAPSET_SRC ($TAP_FILES files, $TAP_LINES lines of .stp/.stpm)"
echo "host   : $(nproc) CPU(s), $(uname -r); runs per measurement: $RUNS (median; 1 warm-up); load avg $(cut -d' ' -f1-3 /proc/loadavg)"
echo "inputs : generated script $LINES lines / $($TOK "$BIG" | cut -d' ' -f2) tokens (seed $SEED);"
echo "         small script $SMALL_LINES lines; tapset concatenation $TAP_LINES lines"
echo "debian : $DEB_NOTE"

# step 1: the generated script must elaborate
"${OURS[@]}" -p2 "$BIG" >"$WORK/out/check.out" 2>"$WORK/out/check.err"
CHECK=$?
if [ $CHECK -eq 0 ]; then
	echo "check  : stap -p2 accepts the generated script ($(grep -c '' "$WORK/out/check.out") lines of output)"
else
	echo "check  : WARNING: stap -p2 REJECTS the generated script (exit $CHECK); first errors:"
	head -8 "$WORK/out/check.err" | sed 's/^/         /'
fi
"${OURS[@]}" -p2 "$SMALL" >/dev/null 2>"$WORK/out/check-small.err" ||
	{ echo "check  : WARNING: stap -p2 rejects small.stp:"; head -5 "$WORK/out/check-small.err" | sed 's/^/         /'; }
echo

# ours
measure s1   1              "${OURS[@]}" -p1 -e 'probe begin { print(1) }'
measure s2   1              "${OURS[@]}" -p2 -e 'probe begin { print(1) }'
measure a    "$LINES"       "${OURS[@]}" -p1 "$BIG"
measure b    "$LINES"       "${OURS[@]}" -p2 "$BIG"
measure c    "$SMALL_LINES" "${OURS[@]}" -p2 "$SMALL"
measure d    "$TAP_LINES"   "${OURS[@]}" -p1 -g "$TAP"
# optional (e): the small script elaborated against Debian's (much larger)
# tapset library -- the files our loader reads for x86_64.
E=0
if [ -d "$DEB_TAPSET" ]; then
	E=1
	EFILES=()
	for sub in "" /linux /x86_64 /linux/x86_64; do
		for f in "$DEB_TAPSET$sub"/*.stp "$DEB_TAPSET$sub"/*.stpm; do
			[ -f "$f" ] && EFILES+=("$f")
		done
	done
	E_LINES=$(cat "${EFILES[@]}" | wc -l)
	"$GEN" -l "$E_LINES" -s "$SEED" -c "$WORK/deb.c"
	EK=(); [ -n "${KVER:-}" ] && EK=(-r "$KVER")
	measure e "$E_LINES" "$STAP" --tapset-dir="$DEB_TAPSET" "${EK[@]}" -p2 "$SMALL"
fi

# floors
measure ft_a "$LINES"       "$TOK" "$BIG"
measure fg_a "$LINES"       "$CC" -fsyntax-only -w "$WORK/big.c"
measure ft_c "$SMALL_LINES" "$TOK" "$SMALL"
measure fg_c 40             "$CC" -fsyntax-only -w "$WORK/small.c"
measure ft_d "$TAP_LINES"   "$TOK" "$TAP"
measure fg_d "$TAP_LINES"   "$CC" -fsyntax-only -w "$WORK/tap.c"
if [ $E = 1 ]; then
	measure ft_e "$E_LINES" "$TOK" "${EFILES[@]}"
	measure fg_e "$E_LINES" "$CC" -fsyntax-only -w "$WORK/deb.c"
fi

# Debian's stap
if [ $DEB = 1 ]; then
	DS=("$DEBIAN_STAP" -r "$KVER")
	measure D_s1 1              "${DS[@]}" -p1 -e 'probe begin { print(1) }'
	measure D_s2 1              "${DS[@]}" -p2 -e 'probe begin { print(1) }'
	measure D_a  "$LINES"       "${DS[@]}" -p1 "$BIG"
	measure D_b  "$LINES"       "${DS[@]}" -p2 "$BIG"
	measure D_c  "$SMALL_LINES" "${DS[@]}" -p2 "$SMALL"
	measure D_d  "$TAP_LINES"   "${DS[@]}" -p1 -g "$TAP"
fi

# --- report --------------------------------------------------------------------
ms()   { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
per1k() { awk -v u="$1" -v l="$2" 'BEGIN { if (l >= 100) printf "%.0f", u * 1000 / l; else printf "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else printf "-" }'; }
status() { # key
	local k=$1
	if [ "${FAILS[$k]}" != 0 ]; then printf 'FAIL(exit %s)' "${RC[$k]}"; else printf 'ok'; fi
}

hdr() {
	printf '%-44s %6s %9s %9s %9s %9s %8s %8s  %s\n' \
		"$@"
}
row() { # key label tokfloor-key gcc-floor-key
	local k=$1 label=$2 ft=${3:-} fg=${4:-}
	hdr "$label" "${NLINES[$k]}" "$(ms "${MED[$k]}")" "$(ms "${MIN[$k]}")-$(ms "${MAX[$k]}")" \
		"$(per1k "${MED[$k]}" "${NLINES[$k]}")" "${RSS[$k]}" \
		"$( [ -n "$ft" ] && ratio "${MED[$k]}" "${MED[$ft]}" || echo -)" \
		"$( [ -n "$fg" ] && ratio "${MED[$k]}" "${MED[$fg]}" || echo -)" \
		"$(status "$k")"
}

echo "--- ours (median of $RUNS; ms = milliseconds wall; us/1k = microseconds per 1,000 lines) ---"
hdr "measurement" "lines" "median ms" "min-max" "us/1k" "maxRSS KiB" "x tokflr" "x gcc" "status"
row s1 "startup: -p1 trivial script"
row s2 "startup: -p2 trivial script (+library)"
row a  "(a) -p1 generated script" ft_a fg_a
row b  "(b) -p2 generated script" ft_a fg_a
row c  "(c) -p2 small typical script" ft_c fg_c
row d  "(d) -p1 -g whole tapset ($TAP_FILES files, 1 script)" ft_d fg_d
[ $E = 1 ] && row e "(e) -p2 small w/ Debian tapset (${#EFILES[@]} files)" ft_e fg_e
echo
echo "--- floors (same inputs; the C files are generated with the same line counts) ---"
hdr "floor" "lines" "median ms" "min-max" "us/1k" "maxRSS KiB" "" "" "status"
row ft_a "tokfloor: read+tokenize generated script"
row fg_a "gcc -fsyntax-only, C of same size"
row ft_c "tokfloor: small script"
row fg_c "gcc -fsyntax-only, 40-line C"
row ft_d "tokfloor: tapset concatenation"
row fg_d "gcc -fsyntax-only, C of tapset size"
if [ $E = 1 ]; then
	row ft_e "tokfloor: Debian tapset files"
	row fg_e "gcc -fsyntax-only, C of Debian-tapset size"
fi
echo
net() { awk -v a="$1" -v b="$2" -v l="$3" 'BEGIN { v = (a - b) * 1000 / l; if (v < 0) printf "~0"; else printf "%.0f", v }'; }
echo "--- net of process startup (median minus the matching startup row) ---"
printf '  (a) -p1: %s us/1k lines   (b) -p2: %s us/1k lines   (d) tapset -p1: %s us/1k lines\n' \
	"$(net "${MED[a]}" "${MED[s1]}" "$LINES")" "$(net "${MED[b]}" "${MED[s2]}" "$LINES")" \
	"$(net "${MED[d]}" "${MED[s1]}" "$TAP_LINES")"
printf '  floors: tokfloor %s us/1k lines, gcc -fsyntax-only %s us/1k lines (net of their own 40/%s-line runs)\n' \
	"$(net "${MED[ft_a]}" "${MED[ft_c]}" "$LINES")" "$(net "${MED[fg_a]}" "${MED[fg_c]}" "$LINES")" "$SMALL_LINES"
GOAL=$(awk -v u="${MED[c]}" 'BEGIN { print (u < 50000) ? "met" : "NOT met" }')
echo "  goal for (c), typical script with the tapsets < 50 ms: $(ms "${MED[c]}") ms -> $GOAL"
echo

if [ $DEB = 1 ]; then
	echo "--- Debian SystemTap ($DEB_NOTE) on the same inputs ---"
	printf '%-44s %9s %10s %10s %9s %9s  %s\n' "measurement" "Debian ms" "Debian KiB" "ours ms" "ours KiB" "speed-up" "status Debian/ours"
	drow() {
		local d=$1 o=$2 label=$3
		printf '%-44s %9s %10s %10s %9s %9s  %s\n' "$label" "$(ms "${MED[$d]}")" "${RSS[$d]}" \
			"$(ms "${MED[$o]}")" "${RSS[$o]}" "$(ratio "${MED[$d]}" "${MED[$o]}")$( [ "${FAILS[$o]}" != 0 ] && echo '!')" \
			"$(status "$d")/$(status "$o")"
	}
	drow D_s1 s1 "startup: -p1 trivial script"
	drow D_s2 s2 "startup: -p2 trivial script"
	drow D_a  a  "(a) -p1 generated script"
	drow D_b  b  "(b) -p2 generated script"
	drow D_c  c  "(c) -p2 small typical script"
	drow D_d  d  "(d) -p1 -g whole tapset (ours, 1 script)"
	[ $E = 1 ] && drow D_c e "(e) small script, Debian's tapset, both"
	echo "  ('!' = our run failed, so the speed-up is not meaningful)"
	echo "  note: Debian's stap parses its whole tapset library (~480 files) already in"
	echo "  pass 1, so its -p1 rows include that; ours reads only macro files at -p1."
	echo
fi

if [ "$SCALING" = 1 ]; then
	SRUNS=$(( RUNS < 3 ? RUNS : 3 ))
	echo "--- scaling: generated scripts of growing size (median of $SRUNS) ---"
	printf '%8s %10s %8s %10s %10s %8s %10s  %s\n' "lines" "-p1 ms" "us/1k" "-p1 KiB" "-p2 ms" "us/1k" "-p2 KiB" "status"
	RUNS_SAVE=$RUNS
	RUNS=$SRUNS
	for L in 2500 5000 10000 20000 40000; do
		"$GEN" -l "$L" -s "$SEED" -o "$WORK/scale.stp"
		measure sp1 "$L" "${OURS[@]}" -p1 "$WORK/scale.stp"
		measure sp2 "$L" "${OURS[@]}" -p2 "$WORK/scale.stp"
		printf '%8s %10s %8s %10s %10s %8s %10s  %s/%s\n' "$L" \
			"$(ms "${MED[sp1]}")" "$(per1k "${MED[sp1]}" "$L")" "${RSS[sp1]}" \
			"$(ms "${MED[sp2]}")" "$(per1k "${MED[sp2]}" "$L")" "${RSS[sp2]}" \
			"$(status sp1)" "$(status sp2)"
	done
	RUNS=$RUNS_SAVE
	echo
fi

if [ "$SCALING" = 1 ]; then
	# One construct repeated K times; time per doubling ~2x = linear, ~4x = quadratic.
	echo "--- scaling by construct: -p2 of a script that is K copies of one construct (median of $SRUNS) ---"
	printf '%-34s %10s %10s %10s %9s %9s\n' "construct" "K=1000 ms" "K=2000 ms" "K=4000 ms" "x/doubl." "KiB@4000"
	RUNS_SAVE=$RUNS
	RUNS=$SRUNS
	construct() { # kind k
		case $1 in
		globals)   awk -v k="$2" 'BEGIN { for (i = 0; i < k; i++) print "global g" i
			print "probe begin {"; for (i = 0; i < k; i++) print "  g" i " = " i; print "}" }' ;;
		functions) awk -v k="$2" 'BEGIN { for (i = 0; i < k; i++) print "function f" i "(x) { return x + " i " }"
			print "probe begin {"; for (i = 0; i < k; i++) print "  print(f" i "(" i "))"; print "}" }' ;;
		probes)    awk -v k="$2" 'BEGIN { print "global g"; for (i = 0; i < k; i++) print "probe timer.ms(" i + 1 ") { g++ }" }' ;;
		aliases)   awk -v k="$2" 'BEGIN { print "global g"; for (i = 0; i < k; i++) {
			print "probe a" i " = timer.ms(" i + 1 ") { x = 1 }"; print "probe a" i " { g += x }" } }' ;;
		locals)    awk -v k="$2" 'BEGIN { print "probe begin {"; for (i = 0; i < k; i++) print "  v" i " = " i " ; print(v" i ")"; print "}" }' ;;
		esac
	}
	for kind in globals functions locals probes aliases; do
		line=$(printf '%-34s' "$kind (x K)")
		for K in 1000 2000 4000; do
			construct $kind $K >"$WORK/construct.stp"
			measure cx "$K" "${OURS[@]}" -p2 "$WORK/construct.stp"
			eval "T$K=${MED[cx]}"
			line+=$(printf ' %10s' "$(ms "${MED[cx]}")$( [ "${FAILS[cx]}" != 0 ] && echo '!')")
		done
		line+=$(printf ' %9s %9s' "$(ratio "$T4000" "$T2000")" "${RSS[cx]}")
		echo "$line"
	done
	RUNS=$RUNS_SAVE
	echo "  ('!' = stap exited non-zero; x/doubl. = time(4000)/time(2000): ~2x linear, ~4x quadratic)"
	echo
fi

for k in a b c d; do
	if [ "${FAILS[$k]}" != 0 ]; then
		echo "note: measurement ($k) failed (exit ${RC[$k]}); stderr of the last run:"
		head -5 "$WORK/out/$k.err" | sed 's/^/    /'
	fi
done
if [ $E = 1 ] && [ "${FAILS[e]}" != 0 ]; then
	echo "note: (e) our stap does not yet accept Debian's tapset library (exit ${RC[e]}):"
	grep -E '^(parse|semantic) error' "$WORK/out/e.err" | sort | uniq -c | sort -rn | head -5 | sed 's/^/    /'
	grep -oE 'at [^ ]*/tapset/[^:]*' "$WORK/out/e.err" | sort | uniq -c | sort -rn | head -5 | sed 's/^/    /'
fi
echo "done."
exit 0
