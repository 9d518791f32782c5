# Plays staprun on the control file: PRIVILEGE_CREDENTIALS with mask 6
# (stapsys+stapusr), then START; prints the module's error text and the
# START reply (type 0x50, target 0, res -22 = -EINVAL).
insmod ./$MOD.ko || exit 1
c=/proc/systemtap/$MOD/.cmd
printf '\137\0\0\0\6\0\0\0' > $c || echo "credentials refused"
printf 'P\0\0\0\0\0\0\0\0\0\0\0' > $c || echo "start refused"
(timeout 2 cat $c > replies; :) 2>/dev/null
strings replies | grep -F 'ERROR:'
xxd -p replies | tr -d '\n' | grep -q '5000000000000000eaffffff' && echo "START res -22"
rmmod $MOD
