#!/usr/bin/env bash
# tests/install/run.sh: `make install DESTDIR=<scratch>` as root, with the
# prefix as configured, then what Makefile.am's install-exec-hook did:
# staprun root:stapusr 4750 (runnable by root and stapusr only), stapio
# 0755 and not setuid, nothing else setuid, the man pages there; with a
# DESTDIR no group is made and the real system is untouched.  The hook
# again without DESTDIR (bindir in the scratch tree; groupadd, getent and
# chown replaced by stand-ins that record) asks for the three groups; run
# by a user who is not root it warns and leaves staprun without its
# setuid bit.
#
#   tests/install/run.sh          (needs root; never installs outside a DESTDIR)
#
# Ends with "N passed, N failed"; exit 0 when none failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/lib/check.sh"
give_up() { echo "install-test: $*"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }

[ "$(id -u)" = 0 ] || { echo "install-test: needs root"; echo "0 passed, 1 failed"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stapcs-install.XXXXXX") || give_up "no scratch directory"
check_out=$tmp/check.out
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"	# so that other users can reach the installed files

# what the build was configured with; DESTDIR is prepended to it
makevar() {	# NAME: the value make gives a variable of the top-level Makefile
	printf 'print-stapcs-var:\n\t@echo $(%s)\n' "$1" |
		make -s --no-print-directory -C "$top" -f Makefile -f - print-stapcs-var | tail -n 1
}	# (the last line: make may first regenerate the Makefile and say so)
bindir=$(makevar bindir)
case $bindir in /*) ;; *) give_up "bindir '$bindir' is not an absolute path" ;; esac

# the real system before: the groups and any staprun/stapio already installed
sysstate() {
	sha256sum /etc/group /etc/gshadow 2> /dev/null
	stat -c '%n %a %U %G %Y' "$bindir/staprun" "$bindir/stapio" 2> /dev/null
}
sysstate > "$tmp/sys.before"

root=$tmp/root
make -C "$top" install DESTDIR="$root" > "$tmp/install.log" 2>&1
rc=$?
check make-install-destdir sh -c "[ $rc -eq 0 ] || { tail -n 15 '$tmp/install.log'; false; }"

f=$root$bindir/staprun io=$root$bindir/stapio
check staprun-installed test -f "$f" -a -x "$f"
check staprun-mode-4750 sh -c "m=\$(stat -c %a '$f'); echo \"mode \$m\"; [ \"\$m\" = 4750 ]"
check staprun-setuid test -u "$f"
check staprun-owner-root sh -c "o=\$(stat -c %U '$f'); echo \"owner \$o\"; [ \"\$o\" = root ]"
if getent group stapusr > /dev/null; then
	check staprun-group-stapusr sh -c "g=\$(stat -c %G '$f'); echo \"group \$g\"; [ \"\$g\" = stapusr ]"
	check install-says-what-it-did grep -qF "chown root:stapusr $f && chmod 4750 $f" "$tmp/install.log"
	# 4750: a member of stapusr may run it, anyone else may not (access(2), nothing runs)
	gid=$(getent group stapusr | cut -d: -f3)
	check stapusr-may-run setpriv --reuid=65534 --regid=65534 --groups="$gid" test -x "$f"
	check others-may-not-run sh -c "! setpriv --reuid=65534 --regid=65534 --clear-groups test -x '$f'"
else
	# no stapusr on this machine: the hook leaves the group to the postinst
	check staprun-group-left-to-postinst grep -q "NOTE: no group stapusr here" "$tmp/install.log"
fi
check stapio-mode-0755 sh -c "m=\$(stat -c '%a %U' '$io'); echo \"\$m\"; [ \"\$m\" = '755 root' ]"
check stapio-not-setuid sh -c "[ ! -u '$io' ] && [ ! -g '$io' ]"
check only-staprun-setuid sh -c "s=\$(find '$root' -type f -perm /6000); echo \"\$s\"; [ \"\$s\" = '$f' ]"
mandir=$(makevar mandir)
check man-pages-installed sh -c "for m in man8/staprun.8 man8/stap-authorize-cert.8 man8/stap-serverd.8 man1/stap.1; do
	[ -f '$root$mandir/'\$m ] || { echo \"missing \$m\"; exit 1; }; done"

# without DESTDIR, root's install makes the missing groups.  Here bindir
# points into the scratch tree and getent, groupadd and chown are
# stand-ins that only record what they were asked (every group is
# missing for the stand-in getent until the stand-in groupadd "made" it),
# so no group is made and no file outside the scratch tree is touched.
fake=$tmp/fakebin nodest=$tmp/nodestdir
mkdir -p "$fake" "$nodest/bin"
install -m 755 "$top/staprun" "$nodest/bin/staprun"
printf '#!/bin/sh\n[ "$1" = group ] && grep -qx "$2" "%s/made" 2> /dev/null && echo "$2:x:999:"\n' \
	"$tmp" > "$fake/getent"
printf '#!/bin/sh\necho "groupadd $*" >> "%s/calls"\nfor g; do :; done\necho "$g" >> "%s/made"\n' \
	"$tmp" "$tmp" > "$fake/groupadd"
printf '#!/bin/sh\necho "chown $*" >> "%s/calls"\n' "$tmp" > "$fake/chown"
chmod 755 "$fake/getent" "$fake/groupadd" "$fake/chown"
stand_ins_first() {	# the hook will find the stand-ins, not the real tools
	for t in getent groupadd chown; do
		[ "$(PATH="$fake:$PATH" sh -c "command -v $t")" = "$fake/$t" ] || return 1
	done
}
if [ -n "$tmp" ] && [ -d "$nodest/bin" ] && stand_ins_first; then
	PATH="$fake:$PATH" make -s --no-print-directory -C "$top" install-exec-hook \
		DESTDIR= bindir="$nodest/bin" > "$tmp/nodest.log" 2>&1
	rc=$?
	check groups-made-without-destdir sh -c "cat '$tmp/nodest.log' '$tmp/calls'; [ $rc -eq 0 ] &&
		[ \"\$(grep -cxE 'groupadd --system stap(usr|sys|dev)' '$tmp/calls')\" -eq 3 ] &&
		grep -qx 'chown root:stapusr $nodest/bin/staprun' '$tmp/calls' &&
		[ \"\$(stat -c %a '$nodest/bin/staprun')\" = 4750 ]"
else
	fail groups-made-without-destdir "could not set up the stand-in tools; the hook was not run"
fi

# not root: the hook says so, and staprun keeps the 0755 it was installed with
user=$tmp/user
mkdir -p "$user$bindir"
install -m 755 "$top/staprun" "$user$bindir/staprun"
chown -R 65534:65534 "$user"
setpriv --reuid=65534 --regid=65534 --clear-groups \
	make -s --no-print-directory -C "$top" install-exec-hook DESTDIR="$user" > "$tmp/user.log" 2>&1
rc=$?
check non-root-warns sh -c "[ $rc -eq 0 ] && grep -q 'WARNING: not installing as root: .* WITHOUT its setuid bit' '$tmp/user.log' || { cat '$tmp/user.log'; false; }"
check non-root-no-setuid sh -c "m=\$(stat -c %a '$user$bindir/staprun'); echo \"mode \$m\"; [ \"\$m\" = 755 ]"

# and nothing of the above reached the real system
sysstate > "$tmp/sys.after"
check real-system-untouched diff "$tmp/sys.before" "$tmp/sys.after"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
