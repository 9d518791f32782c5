/* What generated code needs from the runtime for the language itself:
 * limits, the probe context, arithmetic and string helpers with the
 * script's semantics, and the names embedded C in tapsets uses
 * (STAP_ARG_x, STAP_RETVALUE, CONTEXT, STAP_ERROR, ...).
 *
 * The generated module defines `struct context` (its locals depend on the
 * script) before including the parts of this file that use it. */
#ifndef STP_LANG_H
#define STP_LANG_H

#include "stp_types.h"

#ifndef MAXSTRINGLEN
#define MAXSTRINGLEN 512
#endif
#ifndef MAXACTION
#define MAXACTION 1000
#endif
#ifndef MAXACTION_INTERRUPTIBLE
#define MAXACTION_INTERRUPTIBLE (MAXACTION * 10)
#endif
#ifndef MAXTRYLOCK
#define MAXTRYLOCK 100
#endif
#ifndef TRYLOCKDELAY
#define TRYLOCKDELAY 10 /* microseconds */
#endif
#ifndef MAXERRORS
#define MAXERRORS 0
#endif
#ifndef MAXSKIPPED
#define MAXSKIPPED 100
#endif
#ifndef MAXMAPENTRIES
#define MAXMAPENTRIES 2048
#endif

typedef char string_t[MAXSTRINGLEN];

/* Integer division as SystemTap defines it: x / -1 is -x (INT64_MIN stays
 * INT64_MIN), x % -1 is 0, division by zero is a script error. */
static inline int64_t stp_div(int64_t a, int64_t b, const char **err)
{
	if (b == 0) {
		*err = "division by 0";
		return 0;
	}
	if (b == -1)
		return (int64_t)(0 - (uint64_t)a);
	return a / b;
}

static inline int64_t stp_mod(int64_t a, int64_t b, const char **err)
{
	if (b == 0) {
		*err = "division by 0";
		return 0;
	}
	if (b == -1)
		return 0;
	return a % b;
}

/* Shifts use the low 6 bits of the count; >> is arithmetic, >>> logical. */
static inline int64_t stp_shl(int64_t a, int64_t n)
{
	return (int64_t)((uint64_t)a << (n & 63));
}

static inline int64_t stp_shr(int64_t a, int64_t n)
{
	return a >> (n & 63);
}

static inline int64_t stp_lshr(int64_t a, int64_t n)
{
	return (int64_t)((uint64_t)a >> (n & 63));
}

/* Wrapping arithmetic (no undefined behaviour on overflow). */
static inline int64_t stp_add(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

static inline int64_t stp_sub(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a - (uint64_t)b);
}

static inline int64_t stp_mul(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a * (uint64_t)b);
}

static inline int64_t stp_neg(int64_t a)
{
	return (int64_t)(0 - (uint64_t)a);
}

/* Bounded string copy and append: results are cut at MAXSTRINGLEN - 1. */
static inline void stp_strcpy(char *dst, const char *src)
{
	size_t n = strlen(src);
	if (n > MAXSTRINGLEN - 1)
		n = MAXSTRINGLEN - 1;
	memmove(dst, src, n);
	dst[n] = '\0';
}

static inline void stp_strcat(char *dst, const char *src)
{
	size_t have = strlen(dst);
	size_t n = strlen(src);
	if (have >= MAXSTRINGLEN - 1)
		return;
	if (n > MAXSTRINGLEN - 1 - have)
		n = MAXSTRINGLEN - 1 - have;
	memmove(dst + have, src, n);
	dst[have + n] = '\0';
}

#endif
