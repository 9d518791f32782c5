#!/bin/sh
# Build the front-end fuzz target straight from the sources (no autotools).
#
#   tests/fuzz/build.sh [KIND...]     KIND: libfuzzer (default), replay, afl,
#                                           proto, proto-replay
#
#   libfuzzer  tests/fuzz/fuzz_front        clang -fsanitize=fuzzer,address,undefined
#   replay     tests/fuzz/fuzz_front_replay same sanitizers, plain main(): runs the
#                                           files named on its command line once
#   afl        tests/fuzz/fuzz_front_afl    afl-clang-fast, ASan (no UBSan), persistent mode
#   proto      tests/fuzz/fuzz_proto        the protocol's archives (common/zip.c,
#                                           csproto.c), libfuzzer
#   proto-replay tests/fuzz/fuzz_proto_replay  the same, plain main()
#
# A target is rebuilt only when a source is newer than it (FORCE=1: always).
# CC (default clang) and AFL_CC (default afl-clang-fast) may be overridden.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
CC=${CC:-clang}
AFL_CC=${AFL_CC:-afl-clang-fast}

front_srcs="$root/translator/*.c $root/common/*.c $here/fuzz_front.c"
# common/ also holds the protocol (libarchive) and NSS parts
front_libs="-lbpf -lelf $(pkg-config --libs libarchive nss)"
proto_srcs="$root/common/util.c $root/common/zip.c $root/common/csproto.c $here/fuzz_proto.c"
common_flags="-std=gnu11 -g -O1 -fno-omit-frame-pointer
	-I$root -I$root/common -I$root/translator $(pkg-config --cflags nss)
	-DFUZZ_TAPSET_DIR=\"$root/tapset\""
# UB is a crash, not a message the fuzzer would not notice
san="address,undefined"

# up_to_date TARGET: true when TARGET is newer than every source and header
up_to_date() {
	[ "${FORCE:-0}" = 1 ] && return 1
	[ -x "$1" ] || return 1
	for f in $srcs "$root"/translator/*.h "$root"/common/*.h "$here/build.sh"; do
		[ "$f" -nt "$1" ] && return 1
	done
	return 0
}

build() {
	target=$1
	shift
	if up_to_date "$target"; then
		echo "build.sh: $(basename "$target") is up to date"
		return 0
	fi
	echo "build.sh: building $(basename "$target")"
	# shellcheck disable=SC2086  # word splitting of the flag lists is wanted
	"$@" $common_flags $srcs $libs -o "$target.tmp"
	mv "$target.tmp" "$target"
}

[ $# -gt 0 ] || set -- libfuzzer
for kind in "$@"; do
	srcs=$front_srcs libs=$front_libs
	case $kind in
	libfuzzer)
		build "$here/fuzz_front" "$CC" -fsanitize=fuzzer,$san ;;
	replay)
		build "$here/fuzz_front_replay" "$CC" -fsanitize=$san -DFUZZ_STANDALONE ;;
	afl)
		# our standalone main with __AFL_LOOP (persistent mode).  ASan
		# only: AFL's UBSan traps, so known-bugs.supp could not apply.
		build "$here/fuzz_front_afl" env AFL_USE_ASAN=1 \
			"$AFL_CC" -DFUZZ_STANDALONE ;;
	proto)
		srcs=$proto_srcs libs="-larchive"
		build "$here/fuzz_proto" "$CC" -fsanitize=fuzzer,$san ;;
	proto-replay)
		srcs=$proto_srcs libs="-larchive"
		build "$here/fuzz_proto_replay" "$CC" -fsanitize=$san -DFUZZ_STANDALONE ;;
	*)
		echo "build.sh: unknown kind '$kind' (libfuzzer, replay, afl, proto, proto-replay)" >&2
		exit 2 ;;
	esac
done
