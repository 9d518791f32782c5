/* printf-style formats of the print family, as SystemTap defines them:
 * %[flag][width][.precision][l]conv with at most one flag. */
#ifndef STAP_FORMAT_H
#define STAP_FORMAT_H

#include <stddef.h>

enum fmt_conv {
	FC_LITERAL,      /* text between conversions */
	FC_PERCENT,      /* %% */
	FC_SIGNED,       /* d i */
	FC_UNSIGNED,     /* u */
	FC_OCTAL,        /* o */
	FC_HEX,          /* x */
	FC_HEX_UPPER,    /* X */
	FC_POINTER,      /* p */
	FC_CHAR,         /* c */
	FC_STRING,       /* s */
	FC_BINARY,       /* b */
	FC_MEMORY,       /* m */
	FC_MEMORY_HEX,   /* M */
};

enum { FMT_WIDTH_NONE = -1, FMT_STAR = -2 };

struct fmt_piece {
	enum fmt_conv conv;
	const char *text;   /* FC_LITERAL: start of the text in the format */
	size_t len;         /* FC_LITERAL: its length */
	char flag;          /* one of "-+ #0" or 0 */
	int width;          /* FMT_WIDTH_NONE, FMT_STAR or a value */
	int precision;      /* FMT_WIDTH_NONE, FMT_STAR or a value */
};

/* Parse fmt[0..len).  Returns the number of pieces (stored in *out, heap,
 * caller frees) or -1 with *err set to a message. */
int format_parse(const char *fmt, size_t len, struct fmt_piece **out, const char **err);

/* Number of arguments the pieces consume (stars count). */
int format_arg_count(const struct fmt_piece *p, int n);

#endif
