/* Regular expressions for `=~` and `!~`: the translator compiles each
 * pattern (a literal) into a small program; the runtime runs it with a
 * Pike VM -- every thread advances in lock step, so time is linear in the
 * subject times the program, with no recursion and no allocation.
 * Submatches ((...) groups) follow leftmost-first priority. */
#ifndef STP_REGEX_H
#define STP_REGEX_H

#include "stp_types.h"

#ifndef MAXSTRINGLEN
#define MAXSTRINGLEN 512
#endif

#define STP_RE_MAX_INSTS 512       /* the translator refuses longer programs */
#define STP_RE_MAX_GROUPS 10       /* \0 (whole match) and 9 groups */

enum stp_re_op {
	STP_RE_CHAR,    /* arg: the byte */
	STP_RE_ANY,     /* any byte but NUL */
	STP_RE_CLASS,   /* cls: 256-bit set */
	STP_RE_SPLIT,   /* try x, then y */
	STP_RE_JMP,     /* go to x */
	STP_RE_SAVE,    /* arg: slot (2*group, 2*group+1) */
	STP_RE_BOL,     /* at the start */
	STP_RE_EOL,     /* at the end */
	STP_RE_MATCH,
};

struct stp_re_inst {
	uint8_t op;
	uint8_t arg;
	int16_t x, y;
	const uint8_t *cls;   /* 32 bytes, bit b set when byte b is in the class */
};

/* The last =~ of a handler, for matched(n) and ngroups() (the field
 * names are those SystemTap's tapset uses). */
struct stp_re_match {
	int result;                          /* the last =~ matched */
	int num_final_tags;                  /* 2 per group, group 0 included */
	int tag_vals[2 * STP_RE_MAX_GROUPS]; /* start, end of each; -1 unset */
	char matched_str[MAXSTRINGLEN];      /* the subject */
};

/* Scratch space for one run: two thread lists of STP_RE_MAX_INSTS. */
struct stp_re_thread {
	int16_t pc;
	int16_t saves[2 * STP_RE_MAX_GROUPS];
};

struct stp_re_scratch {
	struct stp_re_thread list[2][STP_RE_MAX_INSTS];
	struct stp_re_thread stack[STP_RE_MAX_INSTS + 1];
	uint32_t mark[STP_RE_MAX_INSTS];    /* generation a pc was added in */
};

/* Does the pattern match anywhere in s?  m (when not NULL) records the
 * outcome and, on a match, the groups.  ngroups counts group 0 too. */
bool stp_regex_match(const struct stp_re_inst *prog, int ninsts, int ngroups, const char *s,
		     struct stp_re_match *m, struct stp_re_scratch *scratch);

#endif
