#!/usr/bin/env bash
# The main job, as far as it is built: set up and build, then translate an
# example script through passes 1 and 2 and print the elaborated program.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
script="$top/docs/examples/tcp-options.stp"
echo
echo "== stap -p2 $script"
"$top/stap" --tapset-dir="$top/tapset" -r "$top/tests/fixtures/kernel-6.1" -p2 "$script"
cat <<'MSG'

This build stops after pass 2 (parse and elaborate).  Building the kernel
module (passes 3-4), the compile server, and running the module with
staprun in a QEMU target come next (issues 3 and 4).
MSG
