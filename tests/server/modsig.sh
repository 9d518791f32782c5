#!/usr/bin/env bash
# tests/server/modsig.sh: checks a module signed with a machine owner key
# (MOK) the way the kernel reads it (module_signature in the kernel's
# include/linux/module_signature.h, checked by mod_check_sig()):
#
#   module bytes | CMS SignedData (DER, sig_len bytes)
#                | struct module_signature (12 bytes) | "~Module signature appended~\n"
#
# with struct module_signature { u8 algo, hash, id_type, signer_len,
# key_id_len, pad[3]; __be32 sig_len; } and id_type 2 (PKEY_ID_PKCS7), every
# other byte 0.  Called by tests/server/run.sh, one step per `check`:
#
#   modsig.sh split KO DIR         trailer and struct; writes DIR/{module,sig.der}
#   modsig.sh module DIR           DIR/module is a whole ELF object, nothing after it
#   modsig.sh cms DIR              DIR/sig.der is what sign-file writes
#   modsig.sh signer DIR CERT FP   CERT (DER) has SHA-1 fingerprint FP and signed it
#   modsig.sh verify DIR CERT      the CMS signature verifies over DIR/module
#   modsig.sh altered DIR CERT     ... and fails once one byte of the module changes
#   modsig.sh otherkey DIR CERT    ... and fails for another key with CERT's issuer/serial
#
# Each step prints what is wrong and exits 1, or exits 0.
set -uo pipefail

magic='~Module signature appended~'	# and a newline: 28 bytes
die() { echo "modsig: $*"; exit 1; }
bytes() { od -An -v -tu1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }	# stdin as decimal bytes

split() {	# KO DIR
	local ko=$1 dir=$2 size tail12 algo hash id_type signer_len key_id_len pad sig_len
	mkdir -p "$dir" || die "cannot create $dir"
	[ -f "$ko" ] || die "no module $ko"
	size=$(stat -c %s "$ko")
	[ "$size" -gt 40 ] || die "$ko: $size bytes, too short for a signature"
	[ "$(tail -c 28 "$ko" | od -An -v -tx1 | tr -d ' \n')" = \
	  "$(printf '%s\n' "$magic" | od -An -v -tx1 | tr -d ' \n')" ] ||
		die "$ko: the last 28 bytes are not \"$magic\\n\""
	tail12=$(tail -c 40 "$ko" | head -c 12 | bytes)
	read -r algo hash id_type signer_len key_id_len p0 p1 p2 s0 s1 s2 s3 <<< "$tail12"
	pad="$p0 $p1 $p2"
	sig_len=$(( (s0 << 24) | (s1 << 16) | (s2 << 8) | s3 ))
	echo "algo=$algo hash=$hash id_type=$id_type signer_len=$signer_len key_id_len=$key_id_len pad=$pad sig_len=$sig_len"
	[ "$id_type" = 2 ] || die "id_type is $id_type, not 2 (PKEY_ID_PKCS7)"
	[ "$algo" = 0 ] || die "algo is $algo, not 0 (PKCS#7 carries it)"
	[ "$hash" = 0 ] || die "hash is $hash, not 0 (PKCS#7 carries it)"
	[ "$signer_len" = 0 ] || die "signer_len is $signer_len, not 0"
	[ "$key_id_len" = 0 ] || die "key_id_len is $key_id_len, not 0"
	[ "$pad" = "0 0 0" ] || die "pad is $pad, not 0 0 0"
	[ "$sig_len" -gt 0 ] && [ "$sig_len" -lt $((size - 40)) ] ||
		die "sig_len $sig_len does not fit in a $size-byte file"
	head -c $((size - 40 - sig_len)) "$ko" > "$dir/module" &&
		tail -c $((40 + sig_len)) "$ko" | head -c "$sig_len" > "$dir/sig.der" ||
		die "cannot write $dir"
	echo "$sig_len" > "$dir/sig_len"
}

module() {	# DIR: the part before the signature is one whole relocatable ELF
	local m=$1/module hdr type shoff shsize shnum
	hdr=$(readelf -h "$m" 2>&1) || die "the stripped module is not ELF: $hdr"
	type=$(echo "$hdr" | sed -nE 's/^ *Type: *([A-Z]+).*/\1/p')
	shoff=$(echo "$hdr" | sed -nE 's/^ *Start of section headers: *([0-9]+).*/\1/p')
	shsize=$(echo "$hdr" | sed -nE 's/^ *Size of section headers: *([0-9]+).*/\1/p')
	shnum=$(echo "$hdr" | sed -nE 's/^ *Number of section headers: *([0-9]+).*/\1/p')
	[ "$type" = REL ] || die "the stripped module is ELF type $type, not REL"
	# ld -r puts the section headers last: they end where the signature begins
	[ $((shoff + shsize * shnum)) -eq "$(stat -c %s "$m")" ] ||
		die "section headers end at $((shoff + shsize * shnum)), the module part at $(stat -c %s "$m")"
	readelf -W -S "$m" | grep -q ' \.gnu\.linkonce\.this_module ' ||
		die "the stripped module has no .gnu.linkonce.this_module"
}

cms() {	# DIR: detached SignedData, SHA-512 RSA, signer by issuer and serial, no certificates
	local d=$1 der=$1/sig.der out outer
	outer=$(openssl asn1parse -inform DER -in "$der" 2>&1 | head -n 1)
	# the DER object is exactly sig_len bytes: header length + content length
	local hl l
	hl=$(echo "$outer" | sed -nE 's/.*hl= *([0-9]+).*/\1/p')
	l=$(echo "$outer" | sed -nE 's/.* l= *([0-9]+).*/\1/p')
	[ -n "$hl" ] && [ $((hl + l)) -eq "$(cat "$d/sig_len")" ] ||
		die "the signature is not one DER object of sig_len bytes: $outer"
	out=$(openssl cms -cmsout -print -inform DER -in "$der" 2>&1) || die "not CMS: $out"
	echo "$out" | grep -q 'contentType: pkcs7-signedData' || die "not SignedData"
	echo "$out" | grep -A1 'encapContentInfo:' | grep -q 'eContentType: pkcs7-data' || die "content type is not data"
	echo "$out" | grep -q 'eContent: <ABSENT>' || die "the content is not detached"
	echo "$out" | grep -A1 '^    certificates:' | grep -q '<ABSENT>' || die "certificates are embedded (sign-file adds none)"
	[ "$(echo "$out" | grep -c 'd.issuerAndSerialNumber:')" -eq 1 ] || die "not exactly one signer named by issuer and serial"
	echo "$out" | grep -A1 '        digestAlgorithm:' | grep -q 'algorithm: sha512' || die "the signer's digest is not SHA-512"
	echo "$out" | grep -A1 'signatureAlgorithm:' | grep -q 'algorithm: rsaEncryption' || die "the signature is not RSA"
	echo "$out" | grep -A1 'signedAttrs:' | grep -q '<ABSENT>' || die "signed attributes present (sign-file adds none)"
}

pem() {	# CERT(DER) OUT
	openssl x509 -inform DER -in "$1" -out "$2" 2> /dev/null || die "$1 is not a DER certificate"
}

signer() {	# DIR CERT FP
	local d=$1 cert=$2 fp=$3 got out issuer serial
	got=$(openssl x509 -inform DER -in "$cert" -noout -fingerprint -sha1 2> /dev/null | sed 's/.*=//' | tr 'A-F' 'a-f')
	[ -n "$fp" ] && [ "$got" = "$fp" ] || die "the certificate's fingerprint is $got, the client sent $fp"
	out=$(openssl cms -cmsout -print -inform DER -in "$d/sig.der" 2>&1)
	issuer=$(echo "$out" | grep -A2 'd.issuerAndSerialNumber:' | sed -nE 's/^ *issuer: *//p')
	serial=$(echo "$out" | grep -A2 'd.issuerAndSerialNumber:' | sed -nE 's/^ *serialNumber: *//p')
	local cissuer cserial
	cissuer=$(openssl x509 -inform DER -in "$cert" -noout -issuer -nameopt oneline 2> /dev/null | sed 's/^issuer=//')
	cserial=$(openssl x509 -inform DER -in "$cert" -noout -serial 2> /dev/null | sed 's/^serial=//')
	# openssl prints a big serial in hex after "0x", a small one in decimal
	case $serial in
	0x*) serial=$(echo "${serial#0x}" | tr 'a-f' 'A-F') ;;
	[0-9]*) serial=$(printf '%X' "${serial%% *}") ;;
	*) die "no signer serial in the signature" ;;
	esac
	[ "$(echo "$serial" | sed 's/^0*//')" = "$(echo "$cserial" | sed 's/^0*//')" ] ||
		die "signed by serial $serial, the MOK's serial is $cserial"
	[ "$(echo "$issuer" | tr -d ' ')" = "$(echo "$cissuer" | tr -d ' ')" ] ||
		die "signed by issuer \"$issuer\", the MOK's issuer is \"$cissuer\""
}

cms_verify() {	# SIG CONTENT CERT(PEM): only CERT may be the signer, and it is the trust anchor
	openssl cms -verify -binary -inform DER -in "$1" -content "$2" \
		-certfile "$3" -nointern -CAfile "$3" -purpose any -out /dev/null 2>&1
}

verify() {	# DIR CERT
	local d=$1 out
	pem "$2" "$d/mok.pem"
	out=$(cms_verify "$d/sig.der" "$d/module" "$d/mok.pem") || die "verification failed: $out"
	echo "$out" | grep -q 'Verification successful' || die "no success from openssl: $out"
}

altered() {	# DIR CERT: the same check fails after a one-byte change
	local d=$1 size off orig flip out
	verify "$d" "$2"
	size=$(stat -c %s "$d/module")
	cp "$d/module" "$d/altered" || die "cannot copy the module"
	off=$((size / 2))
	orig=$(od -An -tu1 -j "$off" -N 1 "$d/altered" | tr -d ' ')
	flip=$(( orig ^ 1 ))
	printf "\\$(printf '%03o' "$flip")" | dd of="$d/altered" bs=1 seek="$off" conv=notrunc 2> /dev/null
	[ "$(cmp -l "$d/module" "$d/altered" | wc -l)" -eq 1 ] || die "the altered copy does not differ in exactly one byte"
	if out=$(cms_verify "$d/sig.der" "$d/altered" "$d/mok.pem"); then
		die "a module with byte $off changed still verifies"
	fi
	echo "$out" | grep -q 'verification failure' || die "failed, but not on the signature: $out"
}

otherkey() {	# DIR CERT: a new key posing as the MOK (same issuer, same serial) is refused
	local d=$1 serial out
	verify "$d" "$2"
	serial=$(openssl x509 -inform DER -in "$2" -noout -serial | sed 's/^serial=//')
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/other.key" -out "$d/other.pem" \
		-subj "$(openssl x509 -inform DER -in "$2" -noout -subject -nameopt oneline |
			sed 's/^subject=/\//; s/ = /=/g; s/, /\//g')" \
		-set_serial "0x$serial" -days 1 > /dev/null 2>&1 || die "cannot make another key"
	if out=$(cms_verify "$d/sig.der" "$d/module" "$d/other.pem"); then
		die "the signature verifies with another key"
	fi
	echo "$out" | grep -q 'verification failure' || die "failed, but not on the signature: $out"
}

case "${1:-}:$#" in
split:3) split "$2" "$3" ;;
module:2) module "$2" ;;
cms:2) cms "$2" ;;
signer:4) signer "$2" "$3" "$4" ;;
verify:3) verify "$2" "$3" ;;
altered:3) altered "$2" "$3" ;;
otherkey:3) otherkey "$2" "$3" ;;
*) die "usage: see the head of $0" ;;
esac
