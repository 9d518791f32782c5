#!/bin/bash
# tests/certs/run.sh -- certificates, trust stores, module signatures and
# TLS (common/nss.h, certs/) held against the real thing: NSS's certutil,
# OpenSSL, and Debian's SystemTap 4.8 tools (/usr/lib/systemtap/stap-gen-cert,
# stap-sign-module, stap-authorize-cert, and the stap client for a
# trust-on-first-use connection).
#
# Runs inside a private network and mount namespace: only lo, and
# /etc/systemtap (and /tmp/nssinit.log, where SystemTap 4.8 appends a
# debug line) replaced by scratch copies, so nothing leaves the machine and
# no real store is touched.  Needs root (or user namespaces).
#   CERTS_BUILD=DIR   take the tools and libstapcommon.a from DIR (e.g. an
#                     ASan build from scripts/build-asan.sh); default: the tree
# Ends with "N passed, N failed"; exit 1 on any failure.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${CERTS_BUILD:-$top}

if [ -z "${STAPCS_CERTS_NS:-}" ] && ! make -C "$build" -s stap-gen-cert stap-authorize-cert \
		stap-sign-module libstapcommon.a >/dev/null; then
	echo "cannot build the certs tools"
	echo "0 passed, 1 failed"
	exit 1
fi
. "$top/tests/lib/netns.sh"
in_private_netns STAPCS_CERTS_NS "$0" "$@"

# ---- inside the namespace ----
setup_failed() {
	echo "setup: $*"
	echo "0 passed, 1 failed"
	exit 1
}
ip link set lo up || setup_failed "cannot bring lo up"
work=$(mktemp -d /tmp/stapcs-certs.XXXXXX)
mkdir -p "$work/etc-systemtap" "$work/home" "$work/tmp"
mount --bind "$work/etc-systemtap" /etc/systemtap || setup_failed "cannot bind /etc/systemtap"
# SystemTap 4.8's tools append a debug line to /tmp/nssinit.log: to a copy
touch "$work/nssinit.log"
if [ -e /tmp/nssinit.log ]; then
	mount --bind "$work/nssinit.log" /tmp/nssinit.log || setup_failed "cannot bind /tmp/nssinit.log"
fi
export HOME=$work/home SYSTEMTAP_DIR=$work/home/.systemtap TMPDIR=$work/tmp
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent   # no Avahi
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

deb=/usr/lib/systemtap
for tool in certutil openssl gcc pkg-config "$deb/stap-gen-cert" "$deb/stap-sign-module" \
	"$deb/stap-authorize-cert" /usr/bin/stap; do
	command -v "$tool" >/dev/null || setup_failed "missing $tool"
done

# test helpers, built here against the library under test
CFLAGS_T="-std=gnu11 -Wall -Wextra -Wno-unused-parameter -Werror -I$top/common $(pkg-config --cflags nss)"
LIBS_T="$build/libstapcommon.a $(pkg-config --libs nss) -lpthread"
sanitized=
case "$(cat "$build/Makefile" 2>/dev/null)" in
*fsanitize*)
	sanitized=1
	CFLAGS_T="$CFLAGS_T -fsanitize=address,undefined"
	LIBS_T="$LIBS_T -fsanitize=address,undefined"
	# reports go to files, checked by the last case
	export ASAN_OPTIONS=detect_leaks=1:log_path=$work/sanitizer
	export UBSAN_OPTIONS=print_stacktrace=1:log_path=$work/sanitizer
	;;
esac
for t in nsscheck tlsecho; do
	# shellcheck disable=SC2086
	gcc $CFLAGS_T -o "$work/$t" "$here/$t.c" $LIBS_T 2>"$work/$t.build" ||
		setup_failed "cannot build $t: $(head -5 "$work/$t.build")"
done
chk=$work/nsscheck
echo_tool=$work/tlsecho

pass=0 fail=0
# check NAME FUNCTION: FUNCTION runs in a subshell and fails the case by
# calling say (its exit status does not count); what it prints is shown
# under the name when the case fails.
check() {
	local out
	rm -f "$work/case-failed"
	out=$("$2" 2>&1)
	if [ ! -e "$work/case-failed" ]; then
		pass=$((pass + 1))
		echo "ok   $1"
	else
		fail=$((fail + 1))
		echo "FAIL $1"
		printf '%s\n' "$out" | head -n 20 | sed 's/^/     /'
	fi
}
# say WHY: a failed expectation inside a case
say() {
	echo "$*"
	: >"$work/case-failed"
}

# ---- the two databases ----
ours=$work/ours deb_db=$work/deb
node=$(uname -n)
gen_ours() { "$build/stap-gen-cert" "$ours" extra1.example.org extra2 || say "exit status $?"; }
gen_debian() {
	timeout 120 "$deb/stap-gen-cert" "$deb_db" extra1.example.org extra2 >/dev/null ||
		say "exit status $?"
}
check "our stap-gen-cert makes a database" gen_ours
check "Debian's stap-gen-cert makes a database (reference)" gen_debian
[ -f "$ours/stap.cert" ] || setup_failed "no $ours/stap.cert"
[ -f "$deb_db/stap.cert" ] || setup_failed "no $deb_db/stap.cert"
our_cert=$ours/stap.cert deb_cert=$deb_db/stap.cert
x509() { openssl x509 -inform DER -in "$@"; }

# the DER of TBSCertificate's child number $2 (0 = version) of certificate $1
tbs_child() {
	local tbs=$work/tbs.$$ line
	openssl asn1parse -inform DER -in "$1" -strparse 4 -noout -out "$tbs" || return 1
	line=$(openssl asn1parse -inform DER -in "$tbs" |
		sed -nE 's/^ *([0-9]+):d=1 +hl= *([0-9]+) +l= *([0-9]+).*/\1 \2 \3/p' | sed -n "$(($2 + 1))p")
	set -- $line
	dd if="$tbs" bs=1 skip="$1" count=$(($2 + $3)) 2>/dev/null | od -An -tx1 | tr -d ' \n'
	rm -f "$tbs"
}

# SEQUENCE { SET { OU PrintableString "Systemtap" } SET { CN PrintableString "Systemtap Compile Server" } }
SUBJECT_HEX=303731123010060355040b1309$(printf 'Systemtap' | od -An -tx1 | tr -d ' \n')
SUBJECT_HEX=${SUBJECT_HEX}3121301f06035504031318$(printf 'Systemtap Compile Server' | od -An -tx1 | tr -d ' \n')

c_subject_text() {
	local want="CN=Systemtap Compile Server,OU=Systemtap" f
	for f in "$our_cert" "$deb_cert"; do
		[ "$(x509 "$f" -noout -subject -nameopt RFC2253)" = "subject=$want" ] ||
			say "$f: $(x509 "$f" -noout -subject -nameopt RFC2253)"
		[ "$(x509 "$f" -noout -issuer -nameopt RFC2253)" = "issuer=$want" ] ||
			say "$f: $(x509 "$f" -noout -issuer -nameopt RFC2253)"
	done
}
c_subject_der() {
	local os oi ds di
	oi=$(tbs_child "$our_cert" 3) os=$(tbs_child "$our_cert" 5)
	di=$(tbs_child "$deb_cert" 3) ds=$(tbs_child "$deb_cert" 5)
	[ -n "$os" ] || say "cannot extract our subject"
	[ "$os" = "$ds" ] || say "subject DER differs: ours $os, Debian's $ds"
	[ "$oi" = "$di" ] || say "issuer DER differs: ours $oi, Debian's $di"
	[ "$os" = "$oi" ] || say "our subject and issuer differ"
	[ "$os" = "$SUBJECT_HEX" ] || say "subject DER $os, expected $SUBJECT_HEX (PrintableString OU, CN)"
}
ext_names() { x509 "$1" -noout -text | sed -n '/X509v3 extensions:/,/Signature Algorithm/p' | grep -E '^ {12}[A-Za-z]'; }
c_extensions() {
	local t
	t=$(x509 "$our_cert" -noout -text)
	case "$t" in *"Basic Constraints"*) say "has basicConstraints" ;; esac
	case "$t" in *"Key Usage"* | *"Key Identifier"*) say "has key usage or key identifiers" ;; esac
	[ "$(ext_names "$our_cert")" = "$(ext_names "$deb_cert")" ] ||
		say "extensions differ: ours: $(ext_names "$our_cert") / Debian's: $(ext_names "$deb_cert")"
	printf '%s\n' "$t" | grep -A1 'Netscape Cert Type: critical' |
		grep -q 'SSL Server, Object Signing, Object Signing CA' || say "Netscape cert type: $t"
	local ons dns
	ons=$(openssl asn1parse -inform DER -in "$our_cert" | grep -A2 'Netscape Cert Type' | tail -1)
	dns=$(openssl asn1parse -inform DER -in "$deb_cert" | grep -A2 'Netscape Cert Type' | tail -1)
	[ "${ons##*:}" = "${dns##*:}" ] && [ "${ons##*:}" = 03020051 ] ||
		say "Netscape cert type value: ours ${ons##*:}, Debian's ${dns##*:}"
}
san() { x509 "$1" -noout -ext subjectAltName | tail -n +2 | sed 's/^ *//'; }
c_san() {
	local want="DNS:$node, DNS:${node%%.*}.local, DNS:extra1.example.org, DNS:extra2"
	[ "$(san "$our_cert")" = "$want" ] || say "ours: $(san "$our_cert"), want $want"
	[ "$(san "$deb_cert")" = "$want" ] || say "Debian's: $(san "$deb_cert"), want $want"
}
c_key_validity() {
	local t from until days
	t=$(x509 "$our_cert" -noout -text)
	for w in "Version: 3 (0x2)" "Public-Key: (4096 bit)" "Exponent: 65537 (0x10001)" \
		"Signature Algorithm: sha256WithRSAEncryption"; do
		case "$t" in *"$w"*) ;; *) say "no '$w'" ;; esac
	done
	from=$(date -d "$(x509 "$our_cert" -noout -startdate | cut -d= -f2)" +%s)
	until=$(date -d "$(x509 "$our_cert" -noout -enddate | cut -d= -f2)" +%s)
	days=$(((until - from) / 86400))
	[ "$days" = 365 ] || [ "$days" = 366 ] || say "valid for $days days"
	x509 "$our_cert" -out "$work/ours.pem"
	openssl verify -check_ss_sig -partial_chain -trusted "$work/ours.pem" "$work/ours.pem" >/dev/null ||
		say "the self-signature does not verify"
}
# certinfo as SystemTap shows it, from OpenSSL's serial
openssl_certinfo() {
	local hex
	hex=$(x509 "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
	[ $((${#hex} % 2)) = 0 ] || hex=0$hex
	case "$hex" in [89a-f]*) hex=00$hex ;; esac
	echo "$hex" | sed 's/../&:/g; s/:$//'
}
c_serial() {
	local o d on dn
	o=$("$chk" serial "$our_cert") d=$("$chk" serial "$deb_cert")
	[ "$o" = "$(openssl_certinfo "$our_cert")" ] || say "ours $o, OpenSSL $(openssl_certinfo "$our_cert")"
	[ "$d" = "$(openssl_certinfo "$deb_cert")" ] || say "Debian's $d, OpenSSL $(openssl_certinfo "$deb_cert")"
	[[ $o =~ ^00(:[0-9a-f]{2}){4}$ ]] || say "not five fields: $o"
	on=$((16#$(echo "$o" | tr -d :))) dn=$((16#$(echo "$d" | tr -d :)))
	# both are microseconds >> 19 (0.52 s), Debian's made just after ours
	[ $((dn - on)) -ge 0 ] && [ $((dn - on)) -lt 1200 ] || say "serials $o and $d are not minutes apart"
}
c_fingerprint() {
	local o want
	o=$("$chk" fingerprint "$our_cert")
	want=$(x509 "$our_cert" -noout -fingerprint -sha1 | cut -d= -f2 | tr 'A-F' 'a-f')
	[ "$o" = "$want" ] || say "ours $o, OpenSSL $want"
}
c_db_layout() {
	[ "$(stat -c %a "$ours")" = 700 ] || say "directory mode $(stat -c %a "$ours")"
	for f in cert9.db key4.db stap.cert; do
		[ "$(stat -c %a "$ours/$f")" = 600 ] || say "$f mode $(stat -c %a "$ours/$f")"
	done
	certutil -L -d "sql:$ours" -n stap-server -r >"$work/exported.der" || say "certutil cannot export"
	cmp -s "$work/exported.der" "$our_cert" || say "stap.cert is not the stored certificate"
	certutil -K -d "sql:$ours" </dev/null | grep -q 'rsa .*stap-server' || say "no key: $(certutil -K -d "sql:$ours" </dev/null)"
}
trust_of() { certutil -L -d "sql:$1" | awk '$1 == "stap-server" { print $2 }' | sort | tr '\n' ' '; }
c_certutil_trust() {
	[ "$(trust_of "$ours")" = "CPu,u,Cu " ] || say "ours: $(trust_of "$ours")"
	[ "$(trust_of "$deb_db")" = "CPu,u,Cu " ] || say "Debian's: $(trust_of "$deb_db")"
}
c_db_check() {
	local r
	r=$("$chk" check "$ours"); case "$r" in VALID:*) ;; *) say "ours: $r" ;; esac
	r=$("$chk" check "$deb_db"); case "$r" in VALID:*) ;; *) say "Debian's: $r" ;; esac
	r=$("$chk" check "$work/none"); case "$r" in MISSING:*) ;; *) say "none: $r" ;; esac
	r=$("$chk" --db "$ours" identity)
	[ "$r" = "$("$chk" serial "$our_cert")" ] || say "identity: $r"
	r=$("$chk" --db "$deb_db" identity)
	[ "$r" = "$("$chk" serial "$deb_cert")" ] || say "identity of Debian's database: $r"
}
check "subject and issuer text are SystemTap's" c_subject_text
check "subject and issuer DER are byte-identical to Debian's" c_subject_der
check "extensions: no basicConstraints, Netscape cert type critical, as Debian's" c_extensions
check "SAN: node, node.local, extra names" c_san
check "RSA 4096, e=65537, sha256WithRSA, v3, one year, self-signed" c_key_validity
check "certinfo (serial) as OpenSSL reads it, time-based" c_serial
check "SHA-1 fingerprint as OpenSSL's" c_fingerprint
check "database layout: modes, stap.cert, key" c_db_layout
check "certutil shows trust CPu,u,Cu" c_certutil_trust
check "cert_db_check and server_identity_load on both databases" c_db_check

# ---- module signatures ----
head -c 200000 /dev/urandom >"$work/mod.ko"
x509 "$our_cert" -noout -pubkey >"$work/ours.pub"
x509 "$deb_cert" -noout -pubkey >"$work/deb.pub"
c_sign_sha256() {
	cp "$work/mod.ko" "$work/a.ko"
	"$build/stap-sign-module" "$work/a.ko" "$ours" || say "stap-sign-module failed"
	[ "$(stat -c %s "$work/a.ko.sgn")" = 512 ] || say "size $(stat -c %s "$work/a.ko.sgn")"
	openssl dgst -sha256 -verify "$work/ours.pub" -signature "$work/a.ko.sgn" "$work/a.ko" >/dev/null ||
		say "OpenSSL: not a SHA-256 signature"
	! openssl dgst -sha1 -verify "$work/ours.pub" -signature "$work/a.ko.sgn" "$work/a.ko" >/dev/null 2>&1 ||
		say "OpenSSL verifies it as SHA-1 too"
}
c_sign_sha1() {
	cp "$work/mod.ko" "$work/b.ko"
	"$build/stap-sign-module" "$work/b.ko" "$ours" --sha1 || say "stap-sign-module --sha1 failed"
	openssl dgst -sha1 -verify "$work/ours.pub" -signature "$work/b.ko.sgn" "$work/b.ko" >/dev/null ||
		say "OpenSSL: not a SHA-1 signature"
	! openssl dgst -sha256 -verify "$work/ours.pub" -signature "$work/b.ko.sgn" "$work/b.ko" >/dev/null 2>&1 ||
		say "OpenSSL verifies it as SHA-256 too"
}
c_debian_signs_with_our_db() {
	cp "$work/mod.ko" "$work/c.ko"
	timeout 60 "$deb/stap-sign-module" "$work/c.ko" "$ours" >"$work/c.log" 2>&1 ||
		say "Debian's stap-sign-module: $(cat "$work/c.log")"
	grep -q 'Certificate is valid' "$work/c.log" || say "Debian's check of our database: $(cat "$work/c.log")"
	openssl dgst -sha1 -verify "$work/ours.pub" -signature "$work/c.ko.sgn" "$work/c.ko" >/dev/null ||
		say "OpenSSL: Debian's signature with our key does not verify"
}
# a store that trusts Debian's certificate, made by our stap-authorize-cert
store_d=$work/store-debian
c_verify_debian_signature() {
	local r
	cp "$work/mod.ko" "$work/d.ko"
	timeout 60 "$deb/stap-sign-module" "$work/d.ko" "$deb_db" >/dev/null 2>&1 || say "Debian's stap-sign-module failed"
	r=$("$chk" verify "$store_d" "$work/d.ko" "$work/d.ko.sgn")
	case "$r" in UNTRUSTED:*) ;; *) say "no store: $r" ;; esac
	"$build/stap-authorize-cert" "$deb_cert" "$store_d" || say "stap-authorize-cert failed"
	for how in "" --nodb "--db $ours"; do
		# shellcheck disable=SC2086
		r=$("$chk" $how verify "$store_d" "$work/d.ko" "$work/d.ko.sgn")
		case "$r" in TRUSTED:*SHA-1*) ;; *) say "trusted store ($how): $r" ;; esac
	done
	cp "$work/d.ko" "$work/e.ko"
	printf '\001' | dd of="$work/e.ko" bs=1 seek=4242 conv=notrunc 2>/dev/null
	r=$("$chk" verify "$store_d" "$work/e.ko" "$work/d.ko.sgn")
	case "$r" in ALTERED:*) ;; *) say "changed module: $r" ;; esac
	"$build/stap-authorize-cert" "$our_cert" "$work/store-ours" || say "stap-authorize-cert failed"
	r=$("$chk" verify "$work/store-ours" "$work/d.ko" "$work/d.ko.sgn")
	case "$r" in UNTRUSTED:*) ;; *) say "store without Debian's certificate: $r" ;; esac
	head -c 512 /dev/urandom >"$work/junk.sgn"
	r=$("$chk" verify "$store_d" "$work/d.ko" "$work/junk.sgn")
	case "$r" in UNTRUSTED:*) ;; *) say "garbage .sgn: $r" ;; esac
	# and ours, both digests, in a store that trusts us
	r=$("$chk" verify "$work/store-ours" "$work/a.ko" "$work/a.ko.sgn")
	case "$r" in TRUSTED:*SHA-256*) ;; *) say "our SHA-256 signature: $r" ;; esac
	r=$("$chk" verify "$work/store-ours" "$work/b.ko" "$work/b.ko.sgn")
	case "$r" in TRUSTED:*SHA-1*) ;; *) say "our SHA-1 signature: $r" ;; esac
}
check "our stap-sign-module: SHA-256, verified by OpenSSL" c_sign_sha256
check "our stap-sign-module --sha1, verified by OpenSSL" c_sign_sha1
check "Debian's stap-sign-module accepts our database" c_debian_signs_with_our_db
check "module_verify: Debian's signature trusted/untrusted/altered" c_verify_debian_signature

# ---- trust stores ----
c_our_store_for_certutil() {
	[ "$(trust_of "$store_d")" = "P,P,P " ] || say "certutil: $(trust_of "$store_d")"
	certutil -L -d "sql:$store_d" -n stap-server -r >"$work/got.der" || say "certutil cannot export"
	cmp -s "$work/got.der" "$deb_cert" || say "the stored certificate is not Debian's"
	[ "$(stat -c %a "$store_d/cert9.db")" = 644 ] || say "cert9.db mode $(stat -c %a "$store_d/cert9.db")"
}
c_debian_adds_to_our_store() {
	# 4.8's stap-authorize-cert exits 1 even when it worked: judge the store
	timeout 60 "$deb/stap-authorize-cert" "$our_cert" "$store_d" >/dev/null 2>&1
	[ "$(trust_of "$store_d")" = "P,P,P P,P,P " ] || say "certutil: $(trust_of "$store_d")"
	[ "$("$chk" has "$store_d" "$our_cert")" = 1 ] || say "trust_has_cert: ours not trusted"
	[ "$("$chk" has "$store_d" "$deb_cert")" = 1 ] || say "trust_has_cert: Debian's not trusted"
	[ "$("$chk" list "$store_d" | sort)" = "$(printf '%s\n%s\n' "$("$chk" serial "$our_cert")" \
		"$("$chk" serial "$deb_cert")" | sort)" ] || say "trust_list: $("$chk" list "$store_d")"
}
c_debian_store_for_us() {
	local s=$work/store-made-by-debian
	timeout 60 "$deb/stap-authorize-cert" "$deb_cert" "$s" >/dev/null 2>&1
	[ "$(trust_of "$s")" = "P,P,P " ] || say "Debian's store: $(trust_of "$s")"
	[ "$("$chk" has "$s" "$deb_cert")" = 1 ] || say "trust_has_cert: Debian's not trusted"
	[ "$("$chk" --nodb has "$s" "$deb_cert")" = 1 ] || say "trust_has_cert after nss_start_nodb"
	[ "$("$chk" --db "$ours" has "$s" "$deb_cert")" = 1 ] || say "trust_has_cert after nss_start"
	[ "$("$chk" has "$s" "$our_cert")" = 0 ] || say "trust_has_cert: ours trusted"
	"$build/stap-authorize-cert" "$our_cert" "$s" || say "our stap-authorize-cert on Debian's store"
	[ "$(trust_of "$s")" = "P,P,P P,P,P " ] || say "both: $(trust_of "$s")"
	[ "$("$chk" has "$s" "$our_cert")" = 1 ] || say "trust_has_cert: ours not trusted after adding"
}
c_revoke() {
	local s=$work/store-made-by-debian so
	so=$("$chk" serial "$our_cert")
	"$build/stap-authorize-cert" --revoke "$so" "$s" || say "--revoke failed"
	[ "$(trust_of "$s")" = "P,P,P " ] || say "after revoke: $(trust_of "$s")"
	certutil -L -d "sql:$s" -n stap-server -r >"$work/left.der" && cmp -s "$work/left.der" "$deb_cert" ||
		say "the wrong certificate went"
	[ "$("$chk" has "$s" "$our_cert")" = 0 ] || say "trust_has_cert: still trusted"
	! "$build/stap-authorize-cert" --revoke "$so" "$s" 2>"$work/rev.err" || say "second --revoke succeeded"
	grep -q "^stap-authorize-cert: no certificate with serial $so in $s\$" "$work/rev.err" ||
		say "second --revoke said: $(cat "$work/rev.err")"
	# the server database still has its own certificate and trust
	[ "$(trust_of "$ours")" = "CPu,u,Cu " ] || say "server database: $(trust_of "$ours")"
}
c_pem() {
	x509 "$our_cert" -outform PEM -out "$work/ours-pem.crt"
	"$build/stap-authorize-cert" "$work/ours-pem.crt" "$work/store-pem" || say "PEM refused"
	[ "$("$chk" has "$work/store-pem" "$our_cert")" = 1 ] || say "not trusted after PEM import"
}
c_default_dirs() {
	# stap-gen-cert and stap-sign-module default to $SYSTEMTAP_DIR/ssl/server
	SYSTEMTAP_DIR=$work/sd "$build/stap-gen-cert" || say "stap-gen-cert without DIR failed"
	[ -f "$work/sd/ssl/server/stap.cert" ] || say "no $work/sd/ssl/server/stap.cert"
	cp "$work/mod.ko" "$work/f.ko"
	SYSTEMTAP_DIR=$work/sd "$build/stap-sign-module" "$work/f.ko" || say "stap-sign-module without DIR failed"
	x509 "$work/sd/ssl/server/stap.cert" -noout -pubkey >"$work/sd.pub"
	openssl dgst -sha256 -verify "$work/sd.pub" -signature "$work/f.ko.sgn" "$work/f.ko" >/dev/null ||
		say "signature by the default database does not verify"
	# stap-authorize-cert defaults to /etc/systemtap/staprun (here the scratch copy)
	"$build/stap-authorize-cert" "$our_cert" || say "stap-authorize-cert without DIR failed"
	[ "$(trust_of /etc/systemtap/staprun)" = "P,P,P " ] || say "staprun store: $(trust_of /etc/systemtap/staprun)"
}
c_cli_errors() {
	local p out
	for p in stap-gen-cert stap-authorize-cert stap-sign-module; do
		"$build/$p" --help | grep -q "^Usage: $p" || say "$p --help"
		out=$("$build/$p" --bogus 2>&1) && say "$p --bogus succeeded"
		[ "$out" = "$p: unknown option --bogus (see --help)" ] || say "$p --bogus: $out"
	done
	out=$("$build/stap-authorize-cert" /etc/hostname "$work/store-x" 2>&1) && say "a text file was accepted"
	[ "$out" = "stap-authorize-cert: /etc/hostname: not a certificate (DER or PEM expected)" ] || say "$out"
	out=$("$build/stap-authorize-cert" "$work/nonexistent" "$work/store-x" 2>&1) && say "a missing file was accepted"
	[ "$out" = "stap-authorize-cert: cannot read $work/nonexistent: No such file or directory" ] || say "$out"
	out=$("$build/stap-sign-module" "$work/mod.ko" "$work/no-db" 2>&1) && say "signing without a database succeeded"
	[ "$out" = "stap-sign-module: no certificate database in $work/no-db" ] || say "$out"
	out=$("$build/stap-sign-module" 2>&1) && say "no module given succeeded"
	[ "$out" = "stap-sign-module: no module given (see --help)" ] || say "$out"
	out=$("$build/stap-sign-module" "$work/mod.ko" "$store_d" 2>&1) && say "signing with a trust store succeeded"
	case "$out" in "stap-sign-module: no signing key in $store_d: "*) ;; *) say "$out" ;; esac
}
c_own_cert_into_store() {
	# a server trusting its own certificate in a client store while its
	# database is open (read-only and read-write): the trust goes to the
	# store, the server database keeps CPu,u,Cu
	local how s r
	for how in --db --dbrw; do
		cp -a "$ours" "$work/own$how"
		s=$work/own-store$how
		r=$("$chk" "$how" "$work/own$how" add "$s" "$our_cert")
		[ "$r" = added ] || say "$how: $r"
		[ "$(trust_of "$s")" = "P,P,P " ] || say "$how: store: $(trust_of "$s")"
		[ "$(trust_of "$work/own$how")" = "CPu,u,Cu " ] || say "$how: server database: $(trust_of "$work/own$how")"
		[ "$("$chk" has "$s" "$our_cert")" = 1 ] || say "$how: trust_has_cert in a fresh process"
	done
}
check "our trust store reads back with certutil (P,P,P, DER, 0644)" c_our_store_for_certutil
check "trusting the server's own certificate leaves its database alone" c_own_cert_into_store
check "Debian's stap-authorize-cert adds to our store; trust_has_cert sees both" c_debian_adds_to_our_store
check "a store made by Debian's stap-authorize-cert works with trust_*" c_debian_store_for_us
check "stap-authorize-cert --revoke removes by serial, only there" c_revoke
check "stap-authorize-cert reads PEM" c_pem
check "default directories" c_default_dirs
check "command-line errors: prog: what: why, exit 1" c_cli_errors

# ---- TLS on loopback ----
"$echo_tool" server "$ours" "$work/port" 20 >"$work/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	[ -s "$work/port" ] && break
	sleep 0.1
done
port=$(cat "$work/port" 2>/dev/null)
only_deb=$work/store-only-debian
"$build/stap-authorize-cert" "$deb_cert" "$only_deb" >/dev/null 2>&1
c_tls_our_client() {
	[ -n "$port" ] || say "the echo server did not start: $(cat "$work/server.log")"
	local r
	r=$("$echo_tool" client "$port" "$our_cert") || say "exact certificate: $r"
	[ "$r" = "accepted: ping" ] || say "exact certificate: $r"
	r=$("$echo_tool" client "$port" "$deb_cert") && say "another certificate accepted: $r"
	case "$r" in "refused: "*"is not trusted") ;; *) say "another certificate: $r" ;; esac
	r=$("$echo_tool" client "$port" --store "$store_d") || say "store with ours: $r"
	r=$("$echo_tool" client "$port" --store "$only_deb") && say "store without ours accepted: $r"
}
s_client() {
	printf 'ping\n' | timeout 20 openssl s_client -connect "127.0.0.1:$port" "$1" -ign_eof 2>&1
}
c_tls_openssl() {
	[ -n "$port" ] || say "the echo server did not start"
	local out
	for v in 1_2 1_3; do
		out=$(s_client -tls$v)
		printf '%s\n' "$out" | grep -q "^ping\$" || say "TLS ${v/_/.}: no echo: $(printf '%s\n' "$out" | tail -5)"
		printf '%s\n' "$out" | grep -q "New, TLSv${v/_/.}, Cipher is" || say "TLS ${v/_/.}: $(printf '%s\n' "$out" | grep 'New,')"
	done
	out=$(s_client -tls1_1)
	! printf '%s\n' "$out" | grep -q "^ping\$" || say "TLS 1.1 was accepted"
}
c_tls_debian_client_trusts() {
	# SystemTap 4.8's client, trust on first use: it must be able to import our
	# certificate (SEC_ERROR_CA_CERT_INVALID path) under stap-server
	[ -n "$port" ] || say "the echo server did not start"
	timeout 60 /usr/bin/stap --use-server="127.0.0.1:$port" --trust-servers=ssl,no-prompt \
		>"$work/stap.log" 2>&1
	local cdb=$SYSTEMTAP_DIR/ssl/client
	[ "$(trust_of "$cdb")" = "P,P,P " ] || say "client store: $(trust_of "$cdb") ($(cat "$work/stap.log"))"
	certutil -L -d "sql:$cdb" -n stap-server -r >"$work/tofu.der" && cmp -s "$work/tofu.der" "$our_cert" ||
		say "the client stored another certificate"
	[ "$("$chk" has "$cdb" "$our_cert")" = 1 ] || say "trust_has_cert on the client's store"
}
check "TLS: tls_client_connect accepts only what the check trusts" c_tls_our_client
check "TLS: openssl s_client 1.2 and 1.3 echo, 1.1 refused" c_tls_openssl
check "TLS: SystemTap 4.8's client trusts our certificate on first use" c_tls_debian_client_trusts
# the echo server stops within a second of SIGTERM (then its sanitizer
# report, if any, is written)
kill -TERM "${pids[0]}" 2>/dev/null
wait "${pids[0]}" 2>/dev/null
pids=()

c_sanitizers() {
	local f
	for f in "$work"/sanitizer.*; do
		[ -e "$f" ] || continue
		say "$f:"
		head -n 15 "$f"
	done
}
[ -z "$sanitized" ] || check "no ASan/UBSan reports" c_sanitizers

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
