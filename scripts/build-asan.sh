#!/usr/bin/env bash
# Build a copy of the tree with -fsanitize=address,undefined in DIR
# (default build-asan/), including the unit test programs.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build-asan}
mkdir -p "$dir"
# a separate copy: automake refuses an out-of-tree build of a configured tree
(cd "$top" && git ls-files -co --exclude-standard -z | grep -zv '^build-' |
	xargs -0 cp --parents -t "$dir" 2>/dev/null) || true
cd "$dir"
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
	autoreconf -fi > /dev/null
fi
[ -f Makefile ] || ./configure --enable-werror --enable-sanitizers > /dev/null
export ASAN_OPTIONS=detect_leaks=1
make -j"$(nproc)" > /dev/null
make -j"$(nproc)" check > /dev/null 2>&1 || true   # builds tests; test.sh runs them
echo "built $dir/stap with ASan/UBSan"
