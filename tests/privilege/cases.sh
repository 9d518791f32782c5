# The cases of tests/privilege/run.sh (sourced there).  Each body runs in
# the guest in /test with lib.sh loaded (SR, BLESS, as, setstore, loaded,
# wait_for, userdir); "refN" is the row of ref staprun-runtime.md §10.
# Bodies that change shared state (store, blessed directory) undo it.

# ---- who may run staprun at all (ref1, F12) ----
case_ ref1-no-group-exec 127 "" "Permission denied" <<'EOF'
as un $SR stap_pr_usr.ko
EOF
case_ ref1-no-group-in-code 255 "" "You are trying to run systemtap as a normal user" <<'EOF'
cp $SR /opt/stapcs/bin/staprun4755 && chmod 4755 /opt/stapcs/bin/staprun4755
as un /opt/stapcs/bin/staprun4755 stap_pr_usr.ko; rc=$?
rm -f /opt/stapcs/bin/staprun4755; exit $rc
EOF
case_ root-runs-unsigned 0 "dev ok" "" <<'EOF'
$SR stap_pr_dev.ko
EOF

# ---- unsigned modules and the blessed directory (ref2-12, F1) ----
case_ ref2-stapusr-unsigned 255 "" "can only use unsigned modules within the \"/lib/modules/ && Unable to verify the signature for the module stap_pr_dev.ko." <<'EOF'
as uu $SR stap_pr_dev.ko
EOF
case_ ref3-blessed-bare-name 0 "blessed copy" "" <<'EOF'
as uu $SR stap_pr_bless
EOF
case_ ref3-blessed-stapsys 0 "blessed copy" "" <<'EOF'
as us $SR $BLESS/stap_pr_bless.ko
EOF
case_ ref4-blessed-dir-not-roots 255 "" "must be owned by root and writable by nobody else" <<'EOF'
chown 1001 $BLESS; as uu $SR stap_pr_bless; rc=$?; chown 0 $BLESS; exit $rc
EOF
case_ ref5-blessed-dir-world-writable 255 "" "must be owned by root and writable by nobody else" <<'EOF'
chmod 0757 $BLESS; as uu $SR stap_pr_bless; rc=$?; chmod 0755 $BLESS; exit $rc
EOF
case_ ref6-blessed-module-not-roots 255 "" "must be owned by root." <<'EOF'
chown 1001 $BLESS/stap_pr_bless.ko; as uu $SR stap_pr_bless; rc=$?; chown 0 $BLESS/stap_pr_bless.ko; exit $rc
EOF
case_ ref7-blessed-module-writable 255 "" "must not be writable by group or others" <<'EOF'
chmod 0646 $BLESS/stap_pr_bless.ko; as uu $SR stap_pr_bless; rc=$?; chmod 0644 $BLESS/stap_pr_bless.ko; exit $rc
EOF
case_ ref8-dotdot-out-of-blessed 255 "" "does not exist within that directory" <<'EOF'
userdir; cp stap_pr_bless.user.ko /tmp/uu/stap_pr_bless.ko; chown 1001 /tmp/uu/stap_pr_bless.ko
as uu $SR $BLESS/../../../../tmp/uu/stap_pr_bless.ko
EOF
case_ ref9-symlink-in-blessed 1 "" "is a symbolic link" <<'EOF'
userdir; cp stap_pr_bless.user.ko /tmp/uu/stap_pr_bless.ko
ln -s /tmp/uu/stap_pr_bless.ko $BLESS/stap_pr_link.ko
as uu $SR stap_pr_link; rc=$?; rm -f $BLESS/stap_pr_link.ko; exit $rc
EOF
case_ ref10-sibling-directory 255 "" "does not exist within that directory" <<'EOF'
mkdir -p ${BLESS}mod && cp $BLESS/stap_pr_bless.ko ${BLESS}mod/
as uu $SR ${BLESS}mod/stap_pr_bless.ko; rc=$?; rm -rf ${BLESS}mod; exit $rc
EOF
case_ blessed-subdirectory 255 "" "does not exist within that directory" <<'EOF'
mkdir -p $BLESS/sub && cp $BLESS/stap_pr_bless.ko $BLESS/sub/
as uu $SR $BLESS/sub/stap_pr_bless.ko; rc=$?; rm -rf $BLESS/sub; exit $rc
EOF
# ref11: a directory of the path swapped between the blessed directory and
# the user's own directory while staprun runs; only the blessed file may
# ever run (the user's copy prints "user copy")
case_ ref11-directory-swap-race 0 "user copies run: 0" "" <<'EOF'
userdir; mkdir -p /tmp/uu/real; cp stap_pr_bless.user.ko /tmp/uu/real/stap_pr_bless.ko; chown -R 1001 /tmp/uu
as uu sh -c "i=0; while [ \$i -lt 400 ]; do ln -sfn $BLESS /tmp/uu/d; ln -sfn /tmp/uu/real /tmp/uu/d; i=\$((i+1)); done" &
sw=$!
i=0; : > /tmp/race.out
while [ $i -lt 15 ]; do as uu $SR /tmp/uu/d/stap_pr_bless.ko >> /tmp/race.out 2>/dev/null; i=$((i+1)); done
wait $sw
echo "blessed runs: $(grep -c 'blessed copy' /tmp/race.out)"
echo "user copies run: $(grep -c 'user copy' /tmp/race.out)"
EOF
# ref12: the last component swapped between a symlink to the blessed file
# and the user's own file: neither may run (a symlink is never followed)
case_ ref12-final-component-race 0 "runs: 0" "" <<'EOF'
userdir; mkdir -p /tmp/uu/f; cp stap_pr_bless.user.ko /tmp/uu/own.ko; chown -R 1001 /tmp/uu
as uu sh -c "i=0; while [ \$i -lt 400 ]; do ln -sf $BLESS/stap_pr_bless.ko /tmp/uu/f/stap_pr_bless.ko; cp /tmp/uu/own.ko /tmp/uu/f/x.ko && mv -f /tmp/uu/f/x.ko /tmp/uu/f/stap_pr_bless.ko; i=\$((i+1)); done" &
sw=$!
i=0; : > /tmp/race.out
while [ $i -lt 15 ]; do as uu $SR /tmp/uu/f/stap_pr_bless.ko >> /tmp/race.out 2>/dev/null; i=$((i+1)); done
wait $sw
echo "runs: $(grep -c 'copy' /tmp/race.out)"
EOF

# ---- signed modules and levels (ref13-19, 25) ----
case_ ref13-stapusr-signed 0 "usr ok" "" <<'EOF'
as uu $SR stap_pr_usr.ko
EOF
case_ ref14-stapusr-stapsys-module 255 "" "Your privilege credentials (stapusr) are insufficient to load the module stap_pr_sys.ko (stapsys required)" <<'EOF'
as uu $SR stap_pr_sys.ko
EOF
case_ ref15-stapsys-stapsys-module 0 "sys ok" "" <<'EOF'
as us $SR stap_pr_sys.ko
EOF
case_ ref16-stapsys-stapdev-module 255 "" "Your privilege credentials (stapsys) are insufficient to load the module devs/stap_pr_dev.ko (stapdev required)" <<'EOF'
as us $SR devs/stap_pr_dev.ko
EOF
case_ ref17-no-privilege-section 0 "nosec ok" "" <<'EOF'
/test/as uu $SR stap_pr_nosec.ko && as us $SR stap_pr_nosec.ko
EOF
case_ ref18-privilege-0x10 255 "" "(stapdev required)" <<'EOF'
as us $SR stap_pr_x10.ko
EOF
case_ ref18-privilege-8-bytes 255 "" "(stapdev required)" <<'EOF'
as us $SR stap_pr_b8.ko
EOF
case_ ref19-untrusted-signer 255 "" "Unable to verify the signature for the module b/stap_pr_usr.ko. && !altered" <<'EOF'
as uu $SR b/stap_pr_usr.ko
EOF
case_ ref25-stapdev-unsigned 0 "dev ok" "" <<'EOF'
as ud $SR stap_pr_dev.ko
EOF
case_ stapdev-only-user-exec 127 "" "Permission denied" <<'EOF'
/test/runas 1006 1006,902 $SR stap_pr_dev.ko
EOF

# ---- signatures that do not hold (ref20-24, F2, F15) ----
case_ ref20-altered-stapusr 255 "" "It may have been altered since it was created" <<'EOF'
as uu $SR alt/stap_pr_usr.ko
EOF
case_ ref20-altered-stapdev 255 "" "It may have been altered since it was created" <<'EOF'
as ud $SR alt/stap_pr_usr.ko
EOF
case_ ref20-altered-root 255 "" "It may have been altered since it was created" <<'EOF'
$SR alt/stap_pr_usr.ko
EOF
case_ ref21-garbage-sgn 255 "" "Unable to verify the signature for the module garb/stap_pr_usr.ko. && !altered" <<'EOF'
as uu $SR garb/stap_pr_usr.ko
EOF
case_ ref21-garbage-sgn-root 0 "usr ok" "!altered" <<'EOF'
$SR garb/stap_pr_usr.ko
EOF
case_ ref22-sgn-directory 255 "" "Unable to verify the signature for the module sgnd/stap_pr_usr.ko." <<'EOF'
as uu $SR sgnd/stap_pr_usr.ko
EOF
case_ ref22-sgn-empty 255 "" "Unable to verify the signature for the module sgne/stap_pr_usr.ko." <<'EOF'
as uu $SR sgne/stap_pr_usr.ko
EOF
case_ ref22-sgn-fifo 255 "" "Unable to verify the signature for the module sgnf/stap_pr_usr.ko." <<'EOF'
mkfifo sgnf/stap_pr_usr.ko.sgn; as uu $SR sgnf/stap_pr_usr.ko; rc=$?; rm -f sgnf/stap_pr_usr.ko.sgn; exit $rc
EOF
case_ ref23-store-group-writable 255 "" "Unable to use the trust store && Unable to verify the signature" <<'EOF'
chmod 0775 /etc/systemtap/staprun; as uu $SR stap_pr_usr.ko
EOF
case_ ref23-store-not-roots 255 "" "Unable to use the trust store" <<'EOF'
chown 1001 /etc/systemtap/staprun; as uu $SR stap_pr_usr.ko
EOF
case_ store-file-writable 255 "" "cert9.db must be a regular file owned by root and writable by nobody else" <<'EOF'
chmod 0666 /etc/systemtap/staprun/cert9.db; as uu $SR stap_pr_usr.ko
EOF
case_ ref24-store-missing-stapusr 255 "" "Unable to verify the signature" <<'EOF'
rm -rf /etc/systemtap/staprun; as uu $SR stap_pr_usr.ko
EOF
case_ ref24-store-missing-stapdev 0 "usr ok" "" <<'EOF'
rm -rf /etc/systemtap/staprun; as ud $SR stap_pr_usr.ko
EOF
case_ ref24-store-missing-root 0 "usr ok" "" <<'EOF'
rm -rf /etc/systemtap/staprun; $SR stap_pr_usr.ko
EOF
# ref26 (F2): nothing is written as root to a fixed path, whatever the environment
case_ ref26-no-root-log 0 "root file unchanged, /tmp unchanged" "" <<'EOF'
echo secret > /rootfile; chmod 0600 /rootfile
ln -sf /rootfile /tmp/nssinit.log; ls -a /tmp > /tmp.before
as uu env SYSTEMTAP_DIR="$(printf 'x\ninjected')" NSPR_LOG_MODULES=all:5 NSPR_LOG_FILE=/tmp/nspr.log $SR stap_pr_usr.ko
ls -a /tmp > /tmp.after
[ "$(cat /rootfile)" = secret ] && cmp -s /tmp.before /tmp.after && echo "root file unchanged, /tmp unchanged"
rm -f /tmp/nssinit.log /rootfile /tmp.before /tmp.after
EOF

# ---- what staprun opens (ref27-29, F3, F4, F7) ----
case_ ref27-relay-fd-option 1 "" "Relay basedir -F option is invalid for staprun" <<'EOF'
as uu $SR -F3 stap_pr_usr.ko
EOF
case_ ref28-dev-zero 255 "" "Module name 'zero' is not allowed" <<'EOF'
as uu $SR /dev/zero
EOF
# the same devices under names that pass the name rule: never opened
case_ ref28-device-named-as-module 1 "" "'/tmp/uu/stap_pr_zero.ko' is not a regular file" <<'EOF'
userdir; mknod /tmp/uu/stap_pr_zero.ko c 1 5
as uu $SR /tmp/uu/stap_pr_zero.ko
EOF
case_ ref28-root-only-device 1 "" "'/tmp/uu/stap_pr_mem.ko' is not a regular file" <<'EOF'
userdir; mknod -m 0600 /tmp/uu/stap_pr_mem.ko c 1 1
as uu $SR /tmp/uu/stap_pr_mem.ko
EOF
case_ ref28-fifo 1 "" "is not a regular file" <<'EOF'
userdir; mkfifo /tmp/uu/stap_pr_fifo.ko; chown 1001 /tmp/uu/stap_pr_fifo.ko
as uu $SR /tmp/uu/stap_pr_fifo.ko
EOF
case_ unreadable-module 1 "" "Permission denied" <<'EOF'
userdir; cp stap_pr_dev.ko /tmp/uu/stap_pr_dev.ko; chmod 0600 /tmp/uu/stap_pr_dev.ko
as uu $SR /tmp/uu/stap_pr_dev.ko
EOF
case_ ref29-bufsize-option 1 "" "invalid module option '_stp_bufsize=100000'" <<'EOF'
as uu $SR stap_pr_glob.ko _stp_bufsize=100000
EOF
case_ ref29-option-with-blank 1 "" "invalid module option 'a=1 _stp_bufsize=-1'" <<'EOF'
as uu $SR stap_pr_glob.ko 'a=1 _stp_bufsize=-1'
EOF
case_ undeclared-option 1 "" "has no global named 'h'" <<'EOF'
as uu $SR stap_pr_glob.ko h=1
EOF
case_ declared-global-option 0 "g=5" "" <<'EOF'
as uu $SR stap_pr_glob.ko g=5
EOF

# ---- other users' modules and names (ref30-37, F8) ----
case_ ref30-foreign-module 0 "d=255 A=255 loaded" "belongs to another user" <<'EOF'
/test/as uu2 $SR -L stap_pr_long.ko > /dev/null 2>&1
as uu $SR -d stap_pr_long; d=$?
as uu $SR -A stap_pr_long; a=$?
loaded stap_pr_long && echo "d=$d A=$a loaded"
$SR -d stap_pr_long
EOF
case_ ref31-real-kernel-module 0 "refused 255, dummy still loaded" "is not allowed" <<'EOF'
insmod /test/dummy.ko
as uu $SR -d dummy; rc=$?
grep -q '^dummy ' /proc/modules && echo "refused $rc, dummy still loaded"
rmmod dummy
EOF
case_ ref31-squatting-name 255 "" "Module name 'ext4' is not allowed" <<'EOF'
as uu $SR ext4.ko
EOF
case_ ref32-remove-attached 0 "d=1 rc=0 end" "stapio is attached" <<'EOF'
rm -f /tmp/l.out; /test/as uu $SR stap_pr_long.ko > /tmp/l.out 2>&1 & p=$!
wait_for /tmp/l.out started
as uu $SR -d stap_pr_long; d=$?
kill -INT $p; wait $p; rc=$?
grep -q '^end' /tmp/l.out && echo "d=$d rc=$rc end"
EOF
case_ ref33-remove-all-own 0 "lon2 still loaded" "Module stap_pr_long removed." <<'EOF'
/test/as uu $SR -L stap_pr_long.ko > /dev/null 2>&1
/test/as uu2 $SR -L stap_pr_lon2.ko > /dev/null 2>&1
as uu $SR -d '*'
! loaded stap_pr_long && loaded stap_pr_lon2 && echo "lon2 still loaded"
$SR -d stap_pr_lon2
EOF
case_ ref34-35-same-name-then-rename 0 "rc=1 renamed-ran" "Rerun with staprun option '-R' to rename this module." <<'EOF'
/test/as uu $SR -L stap_pr_long.ko > /dev/null 2>&1
as uu $SR stap_pr_long.ko; rc=$?
rm -f /tmp/r.out; /test/as uu $SR -R stap_pr_long.ko > /tmp/r.out 2>&1 & p=$!
wait_for /tmp/r.out started
kill -INT $p; wait $p && grep -q '^end' /tmp/r.out && echo "rc=$rc renamed-ran"
$SR -d stap_pr_long
EOF
case_ ref36-file-name-differs 1 "" "calls itself 'stap_pr_usr'" <<'EOF'
userdir; cp stap_pr_usr.ko /tmp/uu/stap_pr_other.ko; cp stap_pr_usr.ko.sgn /tmp/uu/stap_pr_other.ko.sgn
as uu $SR /tmp/uu/stap_pr_other.ko
EOF
case_ ref37-name-too-long 1 "" "is too long" <<'EOF'
as uu $SR /tmp/stap_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.ko
EOF
case_ ref38-option-conflicts 0 "1 1 1 1 1 1 1 1" "" <<'EOF'
r=""
for args in "-A -L stap_pr_long" "-D stap_pr_usr.ko" "-b 0 stap_pr_usr.ko" "-b 4096 stap_pr_usr.ko" \
	"-c true -x 1 stap_pr_usr.ko" "-A stap_pr_long a=1" "-T 0 stap_pr_usr.ko" "-C bogus stap_pr_usr.ko"; do
	/test/as uu $SR $args > /dev/null 2>&1; r="$r $?"
done
echo $r
EOF
# ref39 (F6): the FIPS override is root's only
case_ ref39-fips-override-not-for-users 0 "user=1 root=0" "FIPS mode" <<'EOF'
echo 1 > /tmp/fips; mount --bind /tmp/fips /proc/sys/crypto/fips_enabled || exit 9
as uu env STAP_FIPS_OVERRIDE=1 $SR stap_pr_usr.ko; u=$?
STAP_FIPS_OVERRIDE=1 $SR stap_pr_usr.ko > /dev/null; r=$?
umount /proc/sys/crypto/fips_enabled
echo "user=$u root=$r"
EOF

# ---- the run as the user (ref40-42, F9) ----
case_ ref40-command-as-user 0 "1001" "" <<'EOF'
as uu $SR -c 'id -u' stap_pr_long.ko
EOF
case_ ref40-command-fails 1 "" "Child process exited with status 3" <<'EOF'
as uu $SR -c 'sh -c "exit 3"' stap_pr_long.ko
EOF
case_ ref41-sigint-three-times 0 "unloaded" "" <<'EOF'
rm -f /tmp/l.out; /test/as uu $SR stap_pr_long.ko > /tmp/l.out 2>&1 & p=$!
wait_for /tmp/l.out started
kill -INT $p; kill -INT $p; kill -INT $p; wait $p
i=0; while loaded stap_pr_long && [ $i -lt 20 ]; do sleep 0.5; i=$((i+1)); done
loaded stap_pr_long || echo unloaded
EOF
case_ ref42-sigquit-detach-reattach 0 "detached rc=0 loaded, reattached end" "" <<'EOF'
rm -f /tmp/q.out; /test/as uu $SR stap_pr_long.ko > /tmp/q.out 2>&1 & p=$!
wait_for /tmp/q.out started
kill -QUIT $p; wait $p; rc=$?
grep -q 'Disconnecting from systemtap module' /tmp/q.out && loaded stap_pr_long && echo "detached rc=$rc loaded" | tr -d '\n'
rm -f /tmp/a.out; /test/as uu $SR -A stap_pr_long > /tmp/a.out 2>&1 & p=$!
sleep 2; kill -INT $p; wait $p
grep -q '^end' /tmp/a.out && echo ", reattached end"
EOF
case_ stapio-killed-module-removed 0 "removed by the unloader" "" <<'EOF'
rm -f /tmp/k.out; /test/as uu $SR stap_pr_long.ko > /tmp/k.out 2>&1 & p=$!
wait_for /tmp/k.out started
kill -KILL $p; wait $p
i=0; while loaded stap_pr_long && [ $i -lt 20 ]; do sleep 0.5; i=$((i+1)); done
loaded stap_pr_long || echo "removed by the unloader"
EOF

# ---- the control channel (ref45-47, F11, F16) ----
case_ ref45-46-root-messages-and-start 0 "START: Operation not permitted" "" <<'EOF'
/test/ctl loadas 1001 /test/stap_pr_long.ko || exit 9
as uu /test/ctl rootmsgs stap_pr_long; rc=$?
rmmod stap_pr_long; exit $rc
EOF
case_ ref47-second-opener 0 "busy" "" <<'EOF'
rm -f /tmp/l.out; /test/as uu $SR stap_pr_long.ko > /tmp/l.out 2>&1 & p=$!
wait_for /tmp/l.out started
as uu /test/ctl open stap_pr_long | grep -q 'Device or resource busy' && echo busy
kill -INT $p; wait $p
EOF

# ---- script errors in stapusr modules (ref48-51) ----
case_ ref48-error 1 "" "ERROR: x" <<'EOF'
as uu $SR stap_pr_err.ko
EOF
case_ ref49-division 1 "" "division by 0" <<'EOF'
as uu $SR stap_pr_div.ko
EOF
case_ ref50-array-overflow 1 "" "Array overflow" <<'EOF'
as uu $SR stap_pr_arr.ko
EOF
case_ ref51-maxaction 1 "" "MAXACTION exceeded" <<'EOF'
as uu $SR stap_pr_maxact.ko
EOF
# ref52: staprun refuses before loading (SystemTap finds it in the module's init)
case_ ref52-build-id-mismatch 1 "" "was built for a kernel with build-id 0000000000000000000000000000000000000000" <<'EOF'
as uu $SR stap_pr_bid.ko
EOF

# ---- compatibility with SystemTap's signatures and staprun ----
case_ systemtap-signed-sha1 0 "usr ok" "" <<'EOF'
setstore deb; as uu $SR dsha1/stap_pr_usr.ko
EOF
case_ systemtap-key-sha256 0 "usr ok" "" <<'EOF'
setstore deb; as uu $SR dsha256/stap_pr_usr.ko
EOF
case_ systemtap-store-our-signer-untrusted 255 "" "Unable to verify the signature" <<'EOF'
setstore deb; as uu $SR stap_pr_usr.ko
EOF
case_ debian-staprun-verifies-ours 0 "v4 ok" "verify_module returns 1" <<'EOF'
setstore a48; /usr/bin/staprun -v -v stap_pr_v4.ko
EOF
case_ debian-staprun-verifies-our-server 0 "v4 server ok" "verify_module returns 1" <<'EOF'
setstore server; for f in cert8.db key3.db secmod.db; do : > /etc/systemtap/staprun/$f; done
/usr/bin/staprun -v -v dsrv/$(cat dsrv/name).ko
EOF
case_ debian-staprun-altered-ours 255 "" "altered" <<'EOF'
setstore a48; /usr/bin/staprun v4alt/stap_pr_v4.ko
EOF

# ---- end to end: our server, --privilege=stapusr, stap --trust-servers=signer ----
case_ server-signed-stapusr 0 "server ok" "" <<'EOF'
setstore server; as uu $SR srv/$(cat srv/name).ko
EOF
case_ server-module-unsigned-copy 255 "" "Unable to verify the signature" <<'EOF'
setstore server; as uu $SR srvnosig/$(cat srv/name).ko
EOF
case_ server-stapdev-module 255 "" "Unable to verify the signature" <<'EOF'
setstore server; as uu $SR srv/stap_pr_srvdev.ko
EOF

# ---- the rest of the findings the reference lists (F5, F10, F13, F17, F18) ----
# F5: no system-wide change, whether the load is refused or done
case_ f5-no-system-wide-change 0 "unchanged" "" <<'EOF'
before="$(cat /proc/sys/debug/kprobes-optimization /proc/sys/kernel/kptr_restrict; grep -c debugfs /proc/mounts)"
as uu $SR stap_pr_dev.ko 2>/dev/null; as uu $SR stap_pr_usr.ko > /dev/null
after="$(cat /proc/sys/debug/kprobes-optimization /proc/sys/kernel/kptr_restrict; grep -c debugfs /proc/mounts)"
[ "$before" = "$after" ] && echo unchanged
EOF
# F10: stapio runs with the caller's ids, no way back to root
case_ f10-stapio-ids 0 "Uid: 1001 1001 1001 1001 NoNewPrivs: 1" "" <<'EOF'
rm -f /tmp/l.out; /test/as uu $SR stap_pr_long.ko > /tmp/l.out 2>&1 & p=$!
wait_for /tmp/l.out started
echo $(grep -E '^(Uid|NoNewPrivs):' /proc/$p/status)
kill -INT $p; wait $p
EOF
# F13: "root" in a user namespace is not root
case_ f13-user-namespace 1 "" "initial user namespace" <<'EOF'
as uu unshare -U -r $SR stap_pr_usr.ko
EOF
# F17: -V output is flushed into a pipe
case_ f17-version-into-pipe 0 "staprun (stapcs)" "" <<'EOF'
as uu $SR -V | cat
EOF
# F18: -L reads the START reply; a module that cannot start is removed
case_ f18-load-only-start-fails 1 "" "failed to start" <<'EOF'
as ud $SR -L stap_pr_badkp.ko
EOF

# ---- hostile sizes and concurrency ----
# a .sgn one byte over staprun's 64 KiB cap: ignored (said so), so unsigned
case_ hostile-sgn-over-cap 255 "" "WARNING: ignoring the signature && out of range (1 to 65536 bytes) && Unable to verify the signature" <<'EOF2'
userdir; cp stap_pr_usr.ko /tmp/uu/; head -c 65537 /dev/zero > /tmp/uu/stap_pr_usr.ko.sgn
chown 1001 /tmp/uu/stap_pr_usr.ko /tmp/uu/stap_pr_usr.ko.sgn
as uu $SR /tmp/uu/stap_pr_usr.ko; rc=$?; rm -f /tmp/uu/stap_pr_usr.ko*; exit $rc
EOF2
# a module one byte over the 512 MiB cap (sparse): refused before it is read
case_ hostile-module-over-cap 1 "" "out of range (1 to 536870912 bytes)" <<'EOF2'
userdir; truncate -s 536870913 /tmp/uu/stap_pr_big.ko; chown 1001 /tmp/uu/stap_pr_big.ko
as uu $SR /tmp/uu/stap_pr_big.ko; rc=$?; rm -f /tmp/uu/stap_pr_big.ko; exit $rc
EOF2
# five loads of one module at once: one runs, four are refused, and once
# the one is stopped nothing is left loaded (checked after every case)
case_ concurrent-loads-one-wins 0 "started=1 failed=4 end=1" "Couldn't insert module 'stap_pr_long.ko': File exists" <<'EOF2'
rm -f /tmp/c*.out; pids=""
for k in 1 2 3 4 5; do /test/as uu $SR stap_pr_long.ko > /tmp/c$k.out 2>&1 & pids="$pids $!"; done
i=0; while [ "$(cat /tmp/c*.out | grep -c started)" -lt 1 ] && [ $i -lt 60 ]; do sleep 0.5; i=$((i+1)); done
sleep 2
failed=0; for p in $pids; do
	if kill -0 $p 2>/dev/null; then kill -INT $p; wait $p || failed=$((failed+100)); else wait $p || failed=$((failed+1)); fi
done
echo "started=$(cat /tmp/c*.out | grep -c started) failed=$failed end=$(cat /tmp/c*.out | grep -c '^end')"
cat /tmp/c*.out >&2
EOF2
