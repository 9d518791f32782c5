#!/bin/sh
# bench/kbuild1.sh -- one from-scratch kbuild of a module source directory,
# done the way stap -p4 does it (translator/kbuild.c): a fresh temporary
# directory, `make -C BUILD M=DIR -jNPROC modules`, the .ko copied out.
#
#   kbuild1.sh SRCDIR BUILDDIR OUTDIR
#
# Copies SRCDIR's Kbuild, *.c and *.h (nothing built) into a new directory
# under ${TMPDIR:-/tmp}, builds, copies every .ko to OUTDIR, removes the
# directory.  Exit status: make's.  Used by bench/compile.sh as the floor.
set -u
src=$1 build=$2 out=$3
dir=$(mktemp -d "${TMPDIR:-/tmp}/kbuild1.XXXXXX") || exit 1
for f in "$src"/Kbuild "$src"/*.c "$src"/*.h; do
	[ -f "$f" ] && cp "$f" "$dir/"
done
make -C "$build" M="$dir" -j"$(nproc)" modules >"$dir/build.log" 2>&1
rc=$?
if [ $rc -eq 0 ]; then
	cp "$dir"/*.ko "$out/" || rc=1
else
	tail -n 20 "$dir/build.log" >&2
fi
rm -rf "$dir"
exit $rc
