# Two spinning processes of uid 1000 (one set-uid root), then the module.
grep -q '^u1000:' /etc/passwd 2>/dev/null || {
	mkdir -p /etc
	echo 'root:x:0:0:root:/:/bin/sh' >> /etc/passwd
	echo 'u1000:x:1000:1000:u1000:/tmp:/bin/sh' >> /etc/passwd
	echo 'u1000:x:1000:' >> /etc/group
}
# a 122-byte static x86_64 ELF whose only instruction is "jmp ." (spins)
printf '\177ELF\2\1\1\0\0\0\0\0\0\0\0\0\2\0\76\0\1\0\0\0\170\0\100\0\0\0\0\0\100\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\100\0\70\0\1\0\0\0\0\0\0\0\1\0\0\0\5\0\0\0\0\0\0\0\0\0\0\0\0\0\100\0\0\0\0\0\0\0\100\0\0\0\0\0\172\0\0\0\0\0\0\0\172\0\0\0\0\0\0\0\0\20\0\0\0\0\0\0\353\376' > spin
cp spin spin_setuid
chmod 755 spin
chmod 4755 spin_setuid
su -s /bin/sh u1000 -c ./spin & a=$!
su -s /bin/sh u1000 -c ./spin_setuid & b=$!
./staprun $MOD.ko; rc=$?
kill $a $b 2>/dev/null
killall spin spin_setuid 2>/dev/null
exit $rc
