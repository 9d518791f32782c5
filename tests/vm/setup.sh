#!/usr/bin/env bash
# tests/vm/setup.sh: installs what the QEMU target host needs and builds the
# cached base initramfs (busybox-static + tests/vm/init).  Idempotent: the
# packages are installed only when missing and the base is rebuilt only when
# busybox, the init script or this file changed.
#
#   tests/vm/setup.sh [--force]
#
# Prints the path of the base cpio on its last line.  Exit status 0 or 1.
set -euo pipefail

prog=vm-setup
here=$(cd "$(dirname "$0")" && pwd)
cache=${STAP_VM_CACHE:-/var/lib/stapcs/vm}
force=no

die() {
	echo "$prog: $*" >&2
	exit 1
}

case ${1:-} in
'') ;;
--force) force=yes ;;
-h|--help)
	sed -n '2,9s/^# \{0,1\}//p' "$0"
	exit 0 ;;
*) die "unknown argument '$1' (try --help)" ;;
esac

packages=(qemu-system-x86 busybox-static cpio xz-utils zstd binutils
	build-essential)
missing=()
for p in "${packages[@]}"; do
	[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] ||
		missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || die "need root to install: ${missing[*]}"
	echo "$prog: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	timeout 1800 apt-get install -y -q --no-install-recommends "${missing[@]}" > /dev/null ||
		{ timeout 600 apt-get update -q > /dev/null &&
		  timeout 1800 apt-get install -y -q --no-install-recommends "${missing[@]}" > /dev/null; } ||
		die "cannot install ${missing[*]}"
fi

busybox=/bin/busybox
[ -x "$busybox" ] && [ "$(LC_ALL=C readelf -l "$busybox" 2>/dev/null | grep -c INTERP || true)" = 0 ] ||
	die "$busybox is not the static busybox (install busybox-static)"

base=$cache/base.cpio
stamp=$(cat "$busybox" "$here/init" "$0" | md5sum | cut -d' ' -f1)
if [ "$force" = no ] && [ -s "$base" ] && [ "$(cat "$cache/base.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$prog: base initramfs up to date"
	echo "$base"
	exit 0
fi

mkdir -p "$cache"
stage=$(mktemp -d "$cache/stage.XXXXXX")
trap 'rm -rf "$stage" "$stage.cpio"' EXIT
(
	cd "$stage"
	mkdir -p bin sbin usr/bin usr/sbin lib lib64 usr/lib etc root tmp \
		proc sys dev run mnt var/tmp test stap/runs
	chmod 1777 tmp var/tmp
	chmod 700 root
	cp "$busybox" bin/busybox
	# Every applet as a symlink where busybox says it belongs.
	for applet in $("$busybox" --list-full); do
		[ -e "$applet" ] || ln -s /bin/busybox "$applet"
	done
	# devtmpfs is mounted by /init; the kernel needs a console before that.
	mknod -m 600 dev/console c 5 1
	mknod -m 666 dev/null c 1 3
	printf 'root:x:0:0:root:/root:/bin/sh\n' > etc/passwd
	printf 'root:x:0:\n' > etc/group
	printf 'root::0:0:99999:7:::\n' > etc/shadow
	chmod 600 etc/shadow
	install -m 755 "$here/init" init
	find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet > "$stage.cpio"
)
# Renamed into place, so a concurrent run.sh sees the old or the new base.
mv "$stage.cpio" "$base"
echo "$stamp" > "$cache/base.stamp"
echo "$prog: built base initramfs ($(stat -c %s "$base") bytes)"
echo "$base"
