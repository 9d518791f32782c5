#!/usr/bin/env bash
# tests/packaging/run.sh: debian/ builds installable packages, and they work
# once installed.
#   1. a clean copy of the working tree (the files git tracks or would add,
#      so no build output) is built with `dpkg-buildpackage -us -uc -b`;
#   2. the four packages hold what they should, no file is in two of them,
#      they conflict with (and replace) the SystemTap packages that ship the
#      same files, staprun is shipped plain (postinst sets its mode);
#   3. a fresh Debian 12 root (debootstrap --variant=minbase, kept as a
#      tarball in /var/cache/stapcs after the first run) gets them with apt
#      from the configured mirror; there: stap -V, stap -p2 with the
#      installed tapsets, stap-serverd --help, staprun root:stapusr 4750
#      through dpkg-statoverride, the groups and the stap-server user, the
#      service installed but not enabled, a man page for every program; the
#      installed server run as stap-server answers the installed client
#      (-p2 over TLS on 127.0.0.1); apt would remove stapcs-runtime for
#      systemtap-runtime; purging removes the statoverride.
#   With --vm, the README's main job from the installed files: the module
#   the installed server built from docs/examples/opens.stp runs under the
#   installed staprun/stapio in the QEMU target (tests/vm/run.sh).
#
#   tests/packaging/run.sh [--vm]   (as root; needs the Debian mirror)
#
# Ends with "N passed, N failed"; exit 0 when none failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${STAPCS_ROOT_CACHE:-/var/cache/stapcs}
kver=${STAP_KVER:-6.1.0-56-amd64}
vm=no
[ "${1:-}" = --vm ] && vm=yes
. "$top/tests/lib/check.sh"
give_up() { echo "packaging-test: $*"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }

[ "$(id -u)" = 0 ] || give_up "needs root"
for t in dpkg-buildpackage dh debootstrap git; do
	command -v "$t" > /dev/null || give_up "$t missing (scripts/setup.sh installs it)"
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stapcs-packaging.XXXXXX") || give_up "no scratch directory"
check_out=$tmp/check.out
root=$tmp/root
server=""
mounts=()
cleanup() {
	local i
	[ -n "$server" ] && { kill "$server" 2> /dev/null; wait "$server" 2> /dev/null; }
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount "${mounts[i]}" 2> /dev/null; done
	mountpoint -q "$root/proc" 2> /dev/null && umount "$root/proc"
	[ -n "${STAPCS_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

# ---- 1. build from a clean copy ----------------------------------------------------
ver=$(sed -nE 's/^AC_INIT\(\[stapcs\], \[([^]]+)\].*/\1/p' "$top/configure.ac")
src=$tmp/build/stapcs-$ver
mkdir -p "$src"
(cd "$top" && git ls-files -z --cached --others --exclude-standard |
	tar --null -T - --ignore-failed-read -cf - 2> /dev/null) | tar -x -C "$src" ||
	give_up "cannot copy the tree"
check copy-without-build-outputs sh -c "! find '$src' \\( -name '*.o' -o -name '*.a' -o -name Makefile -o -name config.status -o -path '*/debian/tmp' \\) | grep ."
start=$(date +%s)
(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b) > "$tmp/build.log" 2>&1
rc=$?
echo "dpkg-buildpackage: $(( $(date +%s) - start )) s"
check dpkg-buildpackage sh -c "tail -n 20 '$tmp/build.log'; [ $rc -eq 0 ]"
debs=()
for p in common client runtime server; do
	f=$(ls "$tmp/build"/stapcs-${p}_*.deb 2> /dev/null | head -n 1)
	check "deb-stapcs-$p" test -f "$f"
	debs+=("$f")
done
[ "${#debs[@]}" -eq 4 ] && [ -f "${debs[3]}" ] || give_up "no packages: $(tail -n 30 "$tmp/build.log")"

# ---- 2. the packages' contents and relations --------------------------------------------
has() {	# DEB PATH...: each PATH is in DEB
	local deb=$1 p; shift
	dpkg-deb -c "$deb" | awk '{ print $6 }' > "$tmp/list"
	for p in "$@"; do grep -qxF "./${p#/}" "$tmp/list" || { echo "$p not in $(basename "$deb")"; return 1; }; done
}
check contents-common has "${debs[0]}" usr/share/stapcs/tapset/context.stp usr/share/stapcs/runtime/kernel/runtime.h
check contents-client has "${debs[1]}" usr/bin/stap usr/bin/stap-prep usr/share/man/man1/stap.1.gz
check contents-runtime has "${debs[2]}" usr/bin/staprun usr/bin/stapio usr/bin/stap-authorize-cert \
	usr/share/man/man8/staprun.8.gz usr/share/man/man8/stapio.8.gz usr/share/man/man8/stap-authorize-cert.8.gz
check contents-server has "${debs[3]}" usr/bin/stap-serverd usr/bin/stap-server usr/bin/stap-gen-cert \
	usr/bin/stap-sign-module etc/stapcs/stap-server.conf etc/logrotate.d/stap-server \
	lib/systemd/system/stap-server.service \
	usr/lib/sysusers.d/stapcs.conf usr/lib/tmpfiles.d/stapcs.conf var/lib/stapcs/kernels/ \
	usr/share/man/man8/stap-serverd.8.gz usr/share/man/man8/stap-server.8.gz \
	usr/share/man/man8/stap-gen-cert.8.gz usr/share/man/man8/stap-sign-module.8.gz
for d in "${debs[@]}"; do dpkg-deb -c "$d" | awk '$1 !~ /^d/ { print $6 }'; done | sort | uniq -d > "$tmp/dups"
check no-file-in-two-packages sh -c "cat '$tmp/dups'; [ ! -s '$tmp/dups' ]"
check staprun-shipped-plain sh -c "dpkg-deb -c '${debs[2]}' | grep -E ' ./usr/bin/staprun\$' | grep -q '^-rwxr-xr-x root/root'"
check server-conffiles sh -c "dpkg-deb --ctrl-tarfile '${debs[3]}' | tar -xO ./conffiles > '$tmp/conffiles'; grep -qx /etc/stapcs/stap-server.conf '$tmp/conffiles' && grep -qx /etc/logrotate.d/stap-server '$tmp/conffiles'"
field() { dpkg-deb -f "$1" "$2"; }
check conflicts-client sh -c "[ \"$(field "${debs[1]}" Conflicts)\" = systemtap ] && [ \"$(field "${debs[1]}" Replaces)\" = systemtap ]"
check conflicts-runtime sh -c "[ \"$(field "${debs[2]}" Conflicts)\" = systemtap-runtime ] && [ \"$(field "${debs[2]}" Replaces)\" = systemtap-runtime ]"
check conflicts-server sh -c "[ \"$(field "${debs[3]}" Conflicts)\" = systemtap-server ] && [ \"$(field "${debs[3]}" Replaces)\" = systemtap-server ]"
# what Debian's packages ship that ours do too: exactly what the Conflicts cover
if dpkg-query -W systemtap systemtap-runtime systemtap-server > /dev/null 2>&1; then
	for pair in "systemtap:${debs[1]}" "systemtap-runtime:${debs[2]}" "systemtap-server:${debs[3]}"; do
		dpkg -L "${pair%%:*}" | sed 's|^/||' | sort > "$tmp/theirs"
		dpkg-deb -c "${pair#*:}" | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\./||' | sort > "$tmp/ours"
		check "shares-files-with-${pair%%:*}" sh -c "comm -12 '$tmp/theirs' '$tmp/ours' | tee /dev/stderr | grep -q ."
	done
fi

# ---- 3. install them in a fresh Debian 12 root ------------------------------------------
mirror=$(sed -nE 's/^URIs: *(http[^ ]*\/debian)\/?$/\1/p' /etc/apt/sources.list.d/*.sources 2> /dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}
if [ ! -s "$cache/bookworm-minbase.tar" ]; then
	mkdir -p "$cache"
	echo "debootstrap --variant=minbase bookworm from $mirror (once; kept in $cache)"
	debootstrap --variant=minbase bookworm "$tmp/boot" "$mirror" > "$tmp/debootstrap.log" 2>&1 ||
		give_up "debootstrap: $(tail -n 5 "$tmp/debootstrap.log")"
	tar -C "$tmp/boot" -cf "$cache/bookworm-minbase.tar.part" . && mv "$cache/bookworm-minbase.tar.part" "$cache/bookworm-minbase.tar"
	rm -rf "$tmp/boot"
fi
mkdir -p "$root"
tar -C "$root" -xf "$cache/bookworm-minbase.tar" || give_up "cannot unpack $cache/bookworm-minbase.tar"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2> /dev/null
# the host's apt configuration: its mirror, its settings
rm -f "$root/etc/apt/sources.list"
cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/" 2> /dev/null
[ -s /etc/apt/sources.list ] && cp /etc/apt/sources.list "$root/etc/apt/"
cp /etc/apt/apt.conf.d/99artifact-registry "$root/etc/apt/apt.conf.d/" 2> /dev/null
mount -t proc proc "$root/proc" 2> /dev/null
# downloaded dependencies are kept for the next run
mkdir -p "$cache/archives"
cp "$cache/archives/"*.deb "$root/var/cache/apt/archives/" 2> /dev/null
mkdir -p "$root/tmp/debs"
cp "${debs[@]}" "$root/tmp/debs/"
in_root apt-get update -qq > "$tmp/update.log" 2>&1 || give_up "apt-get update: $(tail -n 5 "$tmp/update.log")"
inroot_debs=()
for d in "${debs[@]}"; do inroot_debs+=("/tmp/debs/$(basename "$d")"); done
DEBIAN_FRONTEND=noninteractive in_root apt-get install -y -q --no-install-recommends \
	"${inroot_debs[@]}" > "$tmp/install.log" 2>&1
rc=$?
cp -n "$root/var/cache/apt/archives/"*.deb "$cache/archives/" 2> /dev/null
check apt-install sh -c "tail -n 15 '$tmp/install.log'; [ $rc -eq 0 ]"
for p in common client runtime server; do
	check "installed-stapcs-$p" sh -c "chroot '$root' dpkg-query -W -f '\${Status}' stapcs-$p | grep -qx 'install ok installed'"
done

in_root stap -V > "$tmp/V.out" 2>&1
check installed-stap-V grep -q "stapcs $ver" "$tmp/V.out"
in_root stap -p2 -e 'probe begin { printf("%s %d\n", execname(), pid()); exit() }' > "$tmp/p2.out" 2>&1
check installed-stap-p2-tapset sh -c "cat '$tmp/p2.out'; grep -q '^execname:string' '$tmp/p2.out' && grep -q '^pid:long' '$tmp/p2.out'"
check installed-tapset-dir sh -c "in_tapset=\$(chroot '$root' find /usr/share/stapcs/tapset -name '*.stp' | wc -l); [ \$in_tapset -gt 10 ]"
check installed-stap-serverd-help in_root stap-serverd --help
check installed-stap-server-help in_root stap-server --help
check installed-stap-gen-cert-help in_root stap-gen-cert --help
check staprun-4750-root-stapusr sh -c "s=\$(chroot '$root' stat -c '%a %U %G' /usr/bin/staprun); echo \"\$s\"; [ \"\$s\" = '4750 root stapusr' ]"
check staprun-statoverride sh -c "chroot '$root' dpkg-statoverride --list /usr/bin/staprun | grep -qx 'root stapusr 4750 /usr/bin/staprun'"
check stapio-0755 sh -c "[ \"\$(stat -c '%a %U' '$root/usr/bin/stapio')\" = '755 root' ]"
for g in stapusr stapsys stapdev stap-server; do
	check "group-$g" sh -c "chroot '$root' getent group $g"
done
check user-stap-server sh -c "chroot '$root' getent passwd stap-server | grep -E ':/var/lib/stap-server:/usr/sbin/nologin\$'"
check state-dirs sh -c "for d in /var/lib/stap-server /var/cache/stap-server /var/log/stap-server; do s=\$(chroot '$root' stat -c '%U %a' \$d); echo \"\$d \$s\"; [ \"\$s\" = 'stap-server 750' ] || exit 1; done"
check kernel-store test -d "$root/var/lib/stapcs/kernels"
check service-installed-not-enabled sh -c "[ -f '$root/lib/systemd/system/stap-server.service' ] && ! ls '$root'/etc/systemd/system/*/stap-server.service 2> /dev/null"
missing=""
for p in $(chroot "$root" dpkg -L stapcs-client stapcs-runtime stapcs-server | grep '^/usr/bin/'); do
	n=$(basename "$p")
	ls "$root"/usr/share/man/man[18]/"$n".[18].gz > /dev/null 2>&1 || missing="$missing $n"
done
check man-page-for-every-program sh -c "echo 'no man page:$missing'; [ -z '$missing' ]"

# the installed server, as its user, answers the installed client over TLS
# and builds a module for a Debian kernel from the host's kernel store
# (scripts/stap-prep; bound read-only into the root with its kbuild tree)
bind_ro() {	# HOST-PATH: the same path in the root
	[ -e "$1" ] || return 1
	mkdir -p "$root$1" && mount --bind "$1" "$root$1" && mounts+=("$root$1") &&
		mount -o remount,bind,ro "$root$1"
}
kstore_ok=no
if "$top/scripts/stap-prep" "$kver" > "$tmp/prep.log" 2>&1; then
	hdr=$(readlink -f "/var/lib/stapcs/kernels/$kver/build")
	common=$(sed -nE 's/^.*include .*(linux-headers-[^/]*-common).*$/\1/p' "$hdr/Makefile" | head -n 1)
	kbuild=$(readlink -f "$hdr/scripts" | sed 's|/scripts$||')
	bind_ro "/var/lib/stapcs/kernels/$kver" && bind_ro "$hdr" && bind_ro "$kbuild" &&
		{ [ -z "$common" ] || bind_ro "/usr/src/$common"; } && kstore_ok=yes
fi
check kernel-store-bound sh -c "cat '$tmp/prep.log' | tail -n 3; [ $kstore_ok = yes ]"
if mountpoint -q "$root/proc"; then
	mkdir -p "$root/tmp/client"
	chroot --userspec=stap-server:stap-server "$root" /usr/bin/env -i PATH=/usr/bin:/bin \
		HOME=/var/lib/stap-server SYSTEMTAP_DIR=/var/lib/stap-server/.systemtap TMPDIR=/tmp \
		STAP_KERNEL_STORE=/var/lib/stapcs/kernels \
		stap-serverd --config=/etc/stapcs/stap-server.conf --listen 127.0.0.1 --port 0 \
		--no-avahi --log /var/log/stap-server/log > "$tmp/serverd.out" 2>&1 &
	server=$!
	wait_log "$root/var/log/stap-server/log" 'Using network address' 1 "$server"
	port=$(sed -nE 's/.*Using network address \[.*\]:([0-9]+)$/\1/p' "$root/var/log/stap-server/log" 2> /dev/null | tail -n 1)
	check installed-server-starts-as-stap-server sh -c "cat '$tmp/serverd.out'; [ -n '$port' ] && [ \"\$(awk '/^Uid:/ { print \$2 }' /proc/$server/status)\" = \"\$(chroot '$root' id -u stap-server)\" ]"
	in_root env HOME=/tmp/client stap --use-server="127.0.0.1:$port" --trust-servers=ssl,no-prompt > "$tmp/trust.out" 2>&1
	in_root env HOME=/tmp/client stap --use-server="127.0.0.1:$port" -r "$kver" -p2 \
		-e 'probe begin { printf("hello\n"); exit() }' > "$tmp/remote.out" 2>&1
	check installed-client-through-installed-server sh -c "cat '$tmp/remote.out' | head -n 5; grep -q begin '$tmp/remote.out'"
	# the README's main job up to the module: opens.stp built through the server
	cp "$top/docs/examples/opens.stp" "$root/tmp/client/"
	chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/tmp/client sh -c \
		"cd /tmp/client && stap --use-server=127.0.0.1:$port -r $kver -p4 -m stap_opens opens.stp" \
		> "$tmp/p4.out" 2>&1
	check installed-server-builds-module sh -c "cat '$tmp/p4.out' | tail -n 5; [ -s '$root/tmp/client/stap_opens.ko' ] && readelf -S '$root/tmp/client/stap_opens.ko' | grep -q stap_privilege"
	if [ "$vm" = yes ]; then
		mkdir -p "$tmp/vm"
		cp "$root/usr/bin/staprun" "$root/usr/bin/stapio" "$root/tmp/client/stap_opens.ko" "$tmp/vm/"
		echo "./staprun -c 'sh -c \"ls / > /dev/null; cat /proc/version > /dev/null; ls /sys > /dev/null\"' stap_opens.ko" \
			> "$tmp/vm/runlist"
		"$top/tests/vm/run.sh" --kver "$kver" "$tmp/vm" > "$tmp/vm.log" 2>&1
		check vm-main-job-from-installed-files sh -c "head -n 8 '$tmp/vm/out/1.stdout' '$tmp/vm/out/1.stderr'; [ \"\$(cat '$tmp/vm/out/1.status')\" = 0 ] && [ -s '$tmp/vm/out/1.stdout' ]"
	fi
	kill -TERM "$server"; wait "$server" 2> /dev/null; server=""
	check installed-server-stopped-cleanly grep -q 'Server stopped' "$root/var/log/stap-server/log"
else
	echo "SKIP installed server and client: /proc cannot be mounted in the root"
fi

# Conflicts at work: apt would take stapcs-runtime away for systemtap-runtime
in_root apt-get -s install systemtap-runtime > "$tmp/conflict.out" 2>&1
check conflicts-enforced-by-apt grep -q '^Remv stapcs-runtime' "$tmp/conflict.out"
DEBIAN_FRONTEND=noninteractive in_root apt-get purge -y -q stapcs-server stapcs-runtime > "$tmp/purge.log" 2>&1
rc=$?
check purge sh -c "tail -n 5 '$tmp/purge.log'; [ $rc -eq 0 ] && [ ! -e '$root/usr/bin/staprun' ]"
check purge-removes-statoverride sh -c "! chroot '$root' dpkg-statoverride --list /usr/bin/staprun"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
