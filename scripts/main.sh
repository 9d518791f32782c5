#!/usr/bin/env bash
# The main job: set up and build, prepare a Debian kernel (headers, image,
# vmlinux with its BTF), translate and build an example script into a
# module for that kernel, then boot the kernel in QEMU and run the module
# there with our staprun/stapio while a small workload runs; print what the
# script printed.  (The compile server and the client come next: issue 4.)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
"$top/scripts/stap-prep"
store=${STAP_KERNEL_STORE:-/var/lib/stapcs/kernels}
kver=$(ls "$store" | grep -E '^6\.1\.0-[0-9]+-amd64$' | sort -V | tail -n 1)
script="$top/docs/examples/opens.stp"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== stap -p4 -r $kver $script"
(cd "$work" && SYSTEMTAP_RUNTIME="$top/runtime/kernel" "$top/stap" --tapset-dir="$top/tapset" \
	-r "$kver" -p4 -m stap_opens "$script")
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
