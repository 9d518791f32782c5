./staprun -c 'grep -q Linux /proc/version' $MOD.ko > bt.out; rc=$?
grep '^symname ' bt.out
grep -c '^symdata do_sys_openat2+0x[0-9a-f]*/0x[0-9a-f]* \[kernel\]$' bt.out
grep -c '^backtrace 0x[0-9a-f]*\( 0x[0-9a-f]*\)\{1,\} \{0,1\}$' bt.out
grep -c '^sprint_backtrace do_sys_openat2+0x[0-9a-f]* \[kernel\]$' bt.out
grep -c '^ 0x[0-9a-f]* : do_sys_openat2+0x[0-9a-f]*/0x[0-9a-f]* \[kernel\]$' bt.out
grep -c '^ 0x[0-9a-f]* : [A-Za-z_0-9.]*+0x[0-9a-f]*/0x[0-9a-f]* \[kernel\]$' bt.out | awk '{ print ($1 >= 2) ? "many" : $1 }'
tail -n 1 bt.out
exit $rc
