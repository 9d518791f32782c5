#!/usr/bin/env bash
# The main job: set up and build, prepare a Debian kernel (headers, image,
# vmlinux with its BTF), start our compile server on 127.0.0.1, have the
# thin client (stap --use-server) compile an example script through it into
# a module for that kernel, then boot the kernel in QEMU and run the module
# there with our staprun/stapio while a small workload runs; print what the
# script printed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
"$top/scripts/stap-prep"
store=${STAP_KERNEL_STORE:-/var/lib/stapcs/kernels}
kver=$(ls "$store" | grep -E '^6\.1\.0-[0-9]+-amd64$' | sort -V | tail -n 1)
script="$top/docs/examples/opens.stp"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The server: loopback only, its own certificate, cache and log.  (As
# root here, hence the override SystemTap also asks for; a real
# deployment runs it as its own user.)
srvdir=${STAP_MAIN_SERVER_DIR:-/var/lib/stapcs/main-server}
mkdir -p "$srvdir/tmp"
echo "== starting stap-serverd on 127.0.0.1 (log: $srvdir/server.log)"
: > "$srvdir/server.log"
STAP_PR11197_OVERRIDE=1 SYSTEMTAP_DIR="$srvdir" TMPDIR="$srvdir/tmp" \
	SYSTEMTAP_TAPSET="$top/tapset" SYSTEMTAP_RUNTIME="$top/runtime/kernel" \
	"$top/stap-serverd" --listen 127.0.0.1 --port 0 -r "$kver" --log "$srvdir/server.log" &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT
port=""
for _ in $(seq 1 600); do
	port=$(sed -nE 's/.*Using network address \[.*\]:([0-9]+)$/\1/p' "$srvdir/server.log" | tail -n 1)
	[ -n "$port" ] && break
	kill -0 "$server" 2>/dev/null || { cat "$srvdir/server.log" >&2; exit 1; }
	sleep 0.1
done
[ -n "$port" ] || { echo "main: the server did not start" >&2; exit 1; }
client_home="$work/client"
mkdir -p "$client_home"
echo "== stap --use-server=127.0.0.1:$port --trust-servers=ssl,no-prompt"
HOME="$client_home" "$top/stap" --use-server="127.0.0.1:$port" --trust-servers=ssl,no-prompt
echo "== stap --use-server=127.0.0.1:$port -r $kver -p4 -m stap_opens $script"
(cd "$work" && HOME="$client_home" "$top/stap" --use-server="127.0.0.1:$port" \
	-r "$kver" -p4 -m stap_opens "$script")
grep -E 'complete|refused' "$srvdir/server.log" | tail -n 1 | sed 's/^/server: /'
mkdir -p "$work/vm"
cp "$work/stap_opens.ko" "$top/staprun" "$top/stapio" "$work/vm/"
echo "./staprun -c 'sh -c \"ls / > /dev/null; cat /proc/version > /dev/null; ls /sys > /dev/null\"' stap_opens.ko" \
	> "$work/vm/runlist"
echo "== booting $kver in QEMU and running: staprun stap_opens.ko"
"$top/tests/vm/run.sh" --kver "$kver" "$work/vm" >&2
echo "== the script's output:"
cat "$work/vm/out/1.stdout"
cat "$work/vm/out/1.stderr" >&2
status=$(cat "$work/vm/out/1.status" 2>/dev/null || echo 1)
echo "== staprun exit status: $status"
exit "$status"
