insmod ./dummy.ko || exit 9
./staprun -o out.txt -c 'cat /sys/class/net/dummy0/statistics/rx_packets >/dev/null' $MOD.ko; rc=$?
cat out.txt
rmmod dummy
exit $rc
