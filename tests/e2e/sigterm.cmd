: > t.out; ./staprun $MOD.ko > t.out & p=$!; i=0; while ! grep -q started t.out && [ $i -lt 60 ]; do sleep 1; i=$((i+1)); done; kill -TERM $p; wait $p; rc=$?; cat t.out; exit $rc
