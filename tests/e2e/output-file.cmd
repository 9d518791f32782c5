rm -f o.txt; ./staprun -o o.txt $MOD.ko; rc=$?; echo "file:"; cat o.txt; exit $rc
