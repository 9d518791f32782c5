/* Print formatting with the runtime's exact rules (see format.h).
 *
 * Differences from C's printf that scripts see: "%#x" and "%p" print
 * "0x" even for 0 and "%#o" prints a leading 0 even for 0; "0" padding
 * still applies when a precision is given; "%.0d" of 0 prints "0";
 * a negative '*' width is 0, not left alignment; "%0s" (also %0m, %0M)
 * appends a NUL byte; "%c" of 0 writes a NUL byte. */
#include "format.h"

/* The runtime's print_flag bits. */
#define F_ZEROPAD 1
#define F_SIGN    2
#define F_PLUS    4
#define F_SPACE   8
#define F_LEFT    16
#define F_SPECIAL 32
#define F_LARGE   64

struct out {
	char *buf;
	size_t size;
	size_t pos;    /* length so far, even past the end */
};

static void put(struct out *o, char c)
{
	if (o->pos + 1 < o->size)
		o->buf[o->pos] = c;
	o->pos++;
}

static void put_n(struct out *o, char c, long n)
{
	while (n-- > 0)
		put(o, c);
}

static void put_bytes(struct out *o, const char *s, size_t n)
{
	while (n--)
		put(o, *s++);
}

static int flag_bits(char flag)
{
	switch (flag) {
	case '-': return F_LEFT;
	case '+': return F_PLUS;
	case ' ': return F_SPACE;
	case '#': return F_SPECIAL;
	case '0': return F_ZEROPAD;
	}
	return 0;
}

static int clamp_count(int64_t v)
{
	if (v < 0)
		return 0;
	return v > STP_FMT_MAX_WIDTH ? STP_FMT_MAX_WIDTH : (int)v;
}

/* number() of the runtime: sign, "0x"/"0" prefix, padding, digits */
static void number(struct out *o, uint64_t num, int base, int width, int precision,
		   int flags)
{
	const char *digits = (flags & F_LARGE) ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24], sign = 0;
	int i = 0, prefix = 0;

	if (flags & F_LEFT)
		flags &= ~F_ZEROPAD;
	if (flags & F_SIGN) {
		if ((int64_t)num < 0) {
			sign = '-';
			num = 0 - num;
		} else if (flags & F_PLUS) {
			sign = '+';
		} else if (flags & F_SPACE) {
			sign = ' ';
		}
	}
	if (flags & F_SPECIAL)
		prefix = base == 16 ? 2 : base == 8 ? 1 : 0;
	do {
		tmp[i++] = digits[num % (unsigned int)base];
		num /= (unsigned int)base;
	} while (num);
	if (precision < i)
		precision = i;
	width -= (sign ? 1 : 0) + prefix + precision;
	if (!(flags & (F_ZEROPAD | F_LEFT))) {
		put_n(o, ' ', width);
		width = 0;
	}
	if (sign)
		put(o, sign);
	if (prefix)
		put(o, '0');
	if (prefix == 2)
		put(o, (flags & F_LARGE) ? 'X' : 'x');
	if (!(flags & F_LEFT)) {
		put_n(o, (flags & F_ZEROPAD) ? '0' : ' ', width);
		width = 0;
	}
	put_n(o, '0', precision - i);
	while (i > 0)
		put(o, tmp[--i]);
	put_n(o, ' ', width);	/* left alignment */
}

static char char_escape(char c)
{
	switch (c) {
	case '\a': return 'a';
	case '\b': return 'b';
	case '\f': return 'f';
	case '\n': return 'n';
	case '\r': return 'r';
	case '\t': return 't';
	case '\v': return 'v';
	case '\'': return '\'';
	case '\\': return '\\';
	}
	return 0;
}

/* %c: one byte, or with '#' a C escape ('\n', '\'', '\\') or "\ooo"
 * for anything that is not printable ASCII */
static void fmt_char(struct out *o, char c, int width, int flags)
{
	int printable = c >= 0x20 && c < 0x7F && c != '\'' && c != '\\';
	int size = 1;

	if ((flags & F_SPECIAL) && !printable)
		size = char_escape(c) ? 2 : 4;
	if (!(flags & F_LEFT))
		put_n(o, ' ', width - size);
	if (size == 1) {
		put(o, c);
	} else if (size == 2) {
		put(o, '\\');
		put(o, char_escape(c));
	} else {
		put(o, '\\');
		put(o, (char)('0' + ((c >> 6) & 3)));
		put(o, (char)('0' + ((c >> 3) & 7)));
		put(o, (char)('0' + (c & 7)));
	}
	if (flags & F_LEFT)
		put_n(o, ' ', width - size);
}

/* %s: at most precision chars, space padded; '0' appends a NUL */
static void fmt_string(struct out *o, const char *s, int width, int precision, int flags)
{
	size_t max = precision < 0 ? STP_FMT_MAX_WIDTH : (size_t)precision, len = 0;

	if (!s)
		s = "<NULL>";
	while (len < max && s[len])
		len++;
	if (!(flags & F_LEFT))
		put_n(o, ' ', width - (long)len);
	put_bytes(o, s, len);
	if (flags & F_LEFT)
		put_n(o, ' ', width - (long)len);
	if (flags & F_ZEROPAD)
		put(o, '\0');
}

/* Copy len bytes at addr through the reader, hex-dumped when hex. */
static int dump_memory(struct out *o, const struct stp_fmt_mem *mem, uint64_t addr,
		       int len, int hex, int user, int64_t *bad)
{
	static const char hexdig[] = "0123456789abcdef";
	unsigned char chunk[64];
	int done = 0;

	while (done < len) {
		size_t n = (size_t)(len - done) < sizeof(chunk) ? (size_t)(len - done) : sizeof(chunk);
		size_t i;

		if (!mem || !mem->read_mem ||
		    mem->read_mem(mem->ctx, addr + (uint64_t)done, chunk, n, user)) {
			/* find the first byte that faults, as a bytewise read would */
			for (i = 0; mem && mem->read_mem && i < n; i++)
				if (mem->read_mem(mem->ctx, addr + (uint64_t)done + i, chunk, 1, user))
					break;
			*bad = (int64_t)(addr + (uint64_t)done + (i < n ? i : 0));
			return STP_FMT_EFAULT;
		}
		for (i = 0; i < n; i++) {
			if (hex) {
				put(o, hexdig[chunk[i] >> 4]);
				put(o, hexdig[chunk[i] & 0xF]);
			} else {
				put(o, (char)chunk[i]);
			}
		}
		done += (int)n;
	}
	return 0;
}

/* %m / %M: precision bytes (default 1) at an address */
static int fmt_memory(struct out *o, const struct stp_fmt_mem *mem, uint64_t addr,
		      int width, int precision, int flags, int hex, int64_t *bad)
{
	int len = precision > 0 ? precision : 1;
	long shown = hex ? 2L * len : len;
	int rc;

	if (!(flags & F_LEFT))
		put_n(o, ' ', width - shown);
	rc = dump_memory(o, mem, addr, len, hex, (flags & F_SPECIAL) != 0, bad);
	if (rc)
		return rc;
	if (flags & F_LEFT)
		put_n(o, ' ', width - shown);
	if (flags & F_ZEROPAD)
		put(o, '\0');
	return 0;
}

static int binary_size(int n)
{
	return (n == 1 || n == 2 || n == 4 || n == 8) ? n : -1;
}

/* %b: the value's low `precision` bytes in host order, NUL padded to
 * the width; one of width/precision defaults to the other, both to 8 */
static void fmt_binary(struct out *o, int64_t num, int width, int precision, int flags)
{
	union {
		int64_t v64;
		int32_t v32;
		int16_t v16;
		int8_t v8;
		char bytes[8];
	} u;

	precision = binary_size(precision);
	if (width < 0) {
		if (precision < 0)
			precision = 8;
		width = precision;
	} else if (precision < 0) {
		precision = binary_size(width);
		if (precision < 0)
			precision = 8;
	}
	switch (precision) {
	case 1: u.v8 = (int8_t)num; break;
	case 2: u.v16 = (int16_t)num; break;
	case 4: u.v32 = (int32_t)num; break;
	default: u.v64 = num; break;
	}
	if (!(flags & F_LEFT))
		put_n(o, '\0', width - precision);
	put_bytes(o, u.bytes, (size_t)precision);
	if (flags & F_LEFT)
		put_n(o, '\0', width - precision);
}

struct arg_cursor {
	const struct stp_fmt_arg *args;
	int n, next;
};

static int take(struct arg_cursor *c, enum stp_fmt_arg_type type,
		const struct stp_fmt_arg **arg)
{
	if (c->next >= c->n || c->args[c->next].type != type)
		return STP_FMT_EARGS;
	*arg = &c->args[c->next++];
	return 0;
}

/* A width or precision: a count, none (-1) or the next long argument */
static int take_count(struct arg_cursor *c, int spec, int *out)
{
	const struct stp_fmt_arg *a;

	if (spec == STP_FMT_NONE) {
		*out = -1;
		return 0;
	}
	if (spec != STP_FMT_STAR) {
		*out = clamp_count(spec);
		return 0;
	}
	if (take(c, STP_ARG_LONG, &a))
		return STP_FMT_EARGS;
	*out = clamp_count(a->num);
	return 0;
}

static int number_base(enum stp_fmt_conv conv, int *flags)
{
	switch (conv) {
	case STP_FC_SIGNED:
		*flags |= F_SIGN;
		return 10;
	case STP_FC_OCTAL:
		return 8;
	case STP_FC_HEX_UPPER:
		*flags |= F_LARGE;
		return 16;
	case STP_FC_HEX:
		return 16;
	case STP_FC_POINTER:
		*flags |= F_SPECIAL;
		return 16;
	default:
		return 10;
	}
}

static int fmt_piece(struct out *o, const struct stp_fmt_piece *p, struct arg_cursor *c,
		     const struct stp_fmt_mem *mem, int64_t *bad)
{
	const struct stp_fmt_arg *a;
	int flags = flag_bits(p->flag), width, precision, base;
	int64_t raw_prec = p->precision;

	if (p->conv == STP_FC_LITERAL) {
		put_bytes(o, p->text, p->len);
		return 0;
	}
	if (p->conv == STP_FC_PERCENT) {
		put(o, '%');
		return 0;
	}
	if (take_count(c, p->width, &width))
		return STP_FMT_EARGS;
	if (p->precision == STP_FMT_STAR && c->next < c->n)
		raw_prec = c->args[c->next].num;
	if (take_count(c, p->precision, &precision))
		return STP_FMT_EARGS;
	if (take(c, p->conv == STP_FC_STRING ? STP_ARG_STRING : STP_ARG_LONG, &a))
		return STP_FMT_EARGS;
	switch (p->conv) {
	case STP_FC_STRING:
		fmt_string(o, a->str, width, precision, flags);
		return 0;
	case STP_FC_CHAR:
		fmt_char(o, (char)a->num, width, flags);
		return 0;
	case STP_FC_BINARY:
		fmt_binary(o, a->num, width, precision, flags);
		return 0;
	case STP_FC_MEMORY:
	case STP_FC_MEMORY_HEX:
		if (raw_prec > STP_FMT_MAX_MEMDUMP) {
			*bad = raw_prec;
			return STP_FMT_E2BIG;
		}
		return fmt_memory(o, mem, (uint64_t)a->num, width, precision, flags,
				  p->conv == STP_FC_MEMORY_HEX, bad);
	default:
		base = number_base(p->conv, &flags);
		number(o, (uint64_t)a->num, base, width, precision, flags);
		return 0;
	}
}

static size_t finish(struct out *o)
{
	if (o->size)
		o->buf[o->pos < o->size ? o->pos : o->size - 1] = '\0';
	return o->pos;
}

long stp_format(char *buf, size_t size, const struct stp_fmt_piece *pieces, int npieces,
		const struct stp_fmt_arg *args, int nargs, const struct stp_fmt_mem *mem,
		int64_t *bad)
{
	struct out o = { buf, size, 0 };
	struct arg_cursor c = { args, nargs, 0 };
	int64_t scratch;
	int i, rc;

	if (!bad)
		bad = &scratch;
	for (i = 0; i < npieces; i++) {
		rc = fmt_piece(&o, &pieces[i], &c, mem, bad);
		if (rc)
			return rc;
	}
	if (c.next != c.n)
		return STP_FMT_EARGS;
	return (long)finish(&o);
}

size_t stp_format_print(char *buf, size_t size, const struct stp_fmt_arg *args, int nargs,
			const char *sep, int newline)
{
	struct out o = { buf, size, 0 };
	int i;

	for (i = 0; i < nargs; i++) {
		if (i && sep)
			put_bytes(&o, sep, strlen(sep));
		if (args[i].type == STP_ARG_STRING)
			put_bytes(&o, args[i].str ? args[i].str : "", args[i].str ? strlen(args[i].str) : 0);
		else
			number(&o, (uint64_t)args[i].num, 10, -1, -1, F_SIGN);
	}
	if (newline)
		put(&o, '\n');
	return finish(&o);
}
