/* The runtime object cache of pass 4.
 *
 * Every module links the same runtime parts (transport, relay, formatter,
 * strings, module entry) compiled as one unit, stap_rt.o; only the
 * script's unit differs.  kbuild compiles stap_rt.o once per kernel tree,
 * compiler, runtime sources and compiler flags; later builds find it here
 * and kbuild, seeing an object newer than everything its .cmd file lists,
 * links it instead of compiling it again.  The module's bytes are the
 * same either way (checked by tests/e2e/rtcache.sh).
 *
 * An entry is two files in the cache directory: KEY.o, and KEY.cmd, the
 * object's kbuild .cmd file with the build directory and the module name
 * replaced by placeholders.  KEY is the SHA-256 of everything that changes the object
 * (rtcache_key).  Entries are written whole and renamed into place; the
 * oldest go beyond RTCACHE_MAX_ENTRIES. */
#ifndef STAPCS_RTCACHE_H
#define STAPCS_RTCACHE_H

#include <stdbool.h>
#include <time.h>

#include "util.h"

enum { RTCACHE_MAX_ENTRIES = 64 };

struct rtcache {
	char *dir;               /* the cache directory, NULL: no cache */
	char key[65];            /* "" until computed */
	bool placed;             /* an entry was put into the build directory */
	struct timespec mtime;   /* the placed object's mtime */
};

/* The key: the flags kbuild gives the unit (ccflags, KCFLAGS with the
 * build directory replaced), every runtime file in build_dir's copy
 * (names and contents: `files`, sorted), stap_rt.c's text, and the
 * kernel tree (its real path, configuration, release, compiler).  False
 * when the kernel tree cannot be read; then nothing is cached. */
bool rtcache_key(struct rtcache *c, const char *kernel_build, const char *flags,
		 const char *build_dir, const struct ptrvec *files);

/* Put KEY.o and its .cmd into build_dir when the cache has them.
 * Returns whether it did. */
bool rtcache_place(struct rtcache *c, const char *build_dir, const char *modname);

/* After a successful kbuild: keep build_dir's stap_rt.o when kbuild
 * compiled it in this build (no entry, or one it found out of date).
 * Failures to write are silent: the cache is an optimisation. */
void rtcache_store(struct rtcache *c, const char *build_dir, const char *modname);

void rtcache_free(struct rtcache *c);

#endif
