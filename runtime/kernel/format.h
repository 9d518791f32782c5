/* The print family's formatting (printf, sprintf, print, println,
 * printd, printdln) as SystemTap's runtime renders it: the per-format
 * code stap 4.8 compiles (translate.cxx emit_compiled_printfs) calling
 * the runtime's number(), _stp_vsprint_char(), _stp_vsprint_memory()
 * and _stp_vsprint_binary().  The format is parsed at translation time;
 * here it arrives as pieces, values as typed arguments.  Pure code: the
 * caller supplies the output buffer and, for %m/%M, a memory reader. */
#ifndef STP_FORMAT_H
#define STP_FORMAT_H

#include "stp_types.h"

/* Same order as translator/format.h's enum fmt_conv. */
enum stp_fmt_conv {
	STP_FC_LITERAL,      /* text between conversions */
	STP_FC_PERCENT,      /* %% */
	STP_FC_SIGNED,       /* d i */
	STP_FC_UNSIGNED,     /* u */
	STP_FC_OCTAL,        /* o */
	STP_FC_HEX,          /* x */
	STP_FC_HEX_UPPER,    /* X */
	STP_FC_POINTER,      /* p: %#x, "0x" counted in the width */
	STP_FC_CHAR,         /* c: low byte; %#c escapes */
	STP_FC_STRING,       /* s */
	STP_FC_BINARY,       /* b: raw bytes in host order */
	STP_FC_MEMORY,       /* m: bytes at an address */
	STP_FC_MEMORY_HEX,   /* M: the same, as lowercase hex pairs */
};

/* width / precision values besides a count, as in translator/format.h.
 * stap 4.8 treats a lone '.' as no precision at all (%.d is %d). */
enum { STP_FMT_NONE = -1, STP_FMT_STAR = -2 };

/* Widths and precisions are clamped to [0, STP_FMT_MAX_WIDTH]: the
 * runtime clamps them to the space left in its buffer (STP_BUFFER_SIZE
 * for printf), which shows the same text. */
#ifndef STP_FMT_MAX_WIDTH
#define STP_FMT_MAX_WIDTH 8192
#endif

/* %m / %M dump at most this many bytes; more is a run-time error
 * "%lld is too many bytes for a memory dump". */
#define STP_FMT_MAX_MEMDUMP 1024

struct stp_fmt_piece {
	enum stp_fmt_conv conv;
	const char *text;    /* STP_FC_LITERAL: the text */
	size_t len;          /* STP_FC_LITERAL: its length */
	char flag;           /* one of "-+ #0" or 0 */
	int width;           /* STP_FMT_NONE, STP_FMT_STAR or a count */
	int precision;       /* STP_FMT_NONE, STP_FMT_STAR or a count */
};

enum stp_fmt_arg_type { STP_ARG_LONG, STP_ARG_STRING };

struct stp_fmt_arg {
	enum stp_fmt_arg_type type;
	int64_t num;         /* STP_ARG_LONG */
	const char *str;     /* STP_ARG_STRING; NULL prints "<NULL>" */
};

/* Reads n bytes of kernel (user == 0) or user (user != 0, the '#' flag)
 * memory at addr into dst, fault-safely.  Returns 0, or nonzero when
 * any byte cannot be read. */
typedef int (*stp_read_mem_fn)(void *ctx, uint64_t addr, void *dst, size_t n, int user);

struct stp_fmt_mem {
	stp_read_mem_fn read_mem;
	void *ctx;
};

/* Errors (negative results).  *bad receives the detail. */
#define STP_FMT_EARGS  (-1)  /* arguments missing or of the wrong type */
#define STP_FMT_EFAULT (-2)  /* %m/%M read fault; *bad = faulting address */
#define STP_FMT_E2BIG  (-3)  /* %m/%M precision > 1024; *bad = it */

/* Render pieces with args into buf[size] like snprintf: buf is
 * NUL-terminated when size > 0 and the result is the full length the
 * text needs (it may contain NUL bytes: %c of 0, %b, %0s).  On error the
 * result is negative, buf holds garbage and nothing should be printed
 * (SystemTap drops the whole printf).  mem may be NULL when there is no
 * %m/%M; bad may be NULL. */
long stp_format(char *buf, size_t size, const struct stp_fmt_piece *pieces, int npieces,
		const struct stp_fmt_arg *args, int nargs, const struct stp_fmt_mem *mem,
		int64_t *bad);

/* print / println / printd / printdln: values joined by sep (NULL or ""
 * for print/println), longs in signed decimal, strings raw, then "\n"
 * when newline.  snprintf-like result. */
size_t stp_format_print(char *buf, size_t size, const struct stp_fmt_arg *args, int nargs,
			const char *sep, int newline);

#endif
