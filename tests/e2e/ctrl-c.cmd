: > c.out; ./staprun $MOD.ko > c.out & p=$!; i=0; while ! grep -q started c.out && [ $i -lt 60 ]; do sleep 1; i=$((i+1)); done; sleep 1; kill -INT $p; wait $p; rc=$?; cat c.out; exit $rc
