#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "util.h"

enum { MAX_FORMAT_FIELD = 1000000 };

static int read_number(const char *fmt, size_t len, size_t *i)
{
	long v = 0;
	while (*i < len && isdigit((unsigned char)fmt[*i])) {
		if (v < MAX_FORMAT_FIELD)
			v = v * 10 + (fmt[*i] - '0');
		(*i)++;
	}
	return v > MAX_FORMAT_FIELD ? MAX_FORMAT_FIELD : (int)v;
}

static bool conv_of(char c, enum fmt_conv *conv)
{
	switch (c) {
	case 'd': case 'i': *conv = FC_SIGNED; return true;
	case 'u': *conv = FC_UNSIGNED; return true;
	case 'o': *conv = FC_OCTAL; return true;
	case 'x': *conv = FC_HEX; return true;
	case 'X': *conv = FC_HEX_UPPER; return true;
	case 'p': *conv = FC_POINTER; return true;
	case 'c': *conv = FC_CHAR; return true;
	case 's': *conv = FC_STRING; return true;
	case 'b': *conv = FC_BINARY; return true;
	case 'm': *conv = FC_MEMORY; return true;
	case 'M': *conv = FC_MEMORY_HEX; return true;
	case '%': *conv = FC_PERCENT; return true;
	default: return false;
	}
}

int format_parse(const char *fmt, size_t len, struct fmt_piece **out, const char **err)
{
	struct fmt_piece *v = NULL;
	int n = 0, cap = 0;
	size_t i = 0;
	*err = NULL;
	while (i < len) {
		if (n + 1 >= cap) {
			cap = cap ? cap * 2 : 8;
			v = xrealloc(v, (size_t)cap * sizeof *v);
		}
		struct fmt_piece *p = &v[n];
		memset(p, 0, sizeof *p);
		p->width = p->precision = FMT_WIDTH_NONE;
		if (fmt[i] != '%') {
			size_t start = i;
			while (i < len && fmt[i] != '%')
				i++;
			p->conv = FC_LITERAL;
			p->text = fmt + start;
			p->len = i - start;
			n++;
			continue;
		}
		i++;
		if (i < len && strchr("-+ #0", fmt[i]) && fmt[i]) {
			p->flag = fmt[i++];
		}
		if (i < len && fmt[i] == '*') {
			p->width = FMT_STAR;
			i++;
		} else if (i < len && isdigit((unsigned char)fmt[i])) {
			p->width = read_number(fmt, len, &i);
		}
		if (i < len && fmt[i] == '.') {
			i++;
			if (i < len && fmt[i] == '*') {
				p->precision = FMT_STAR;
				i++;
			} else if (i < len && isdigit((unsigned char)fmt[i])) {
				p->precision = read_number(fmt, len, &i);
			}
			/* a lone '.' is no precision at all, as stap 4.8 has it */
		}
		if (i < len && fmt[i] == 'l')
			i++;
		if (i >= len) {
			*err = "trailing incomplete print format conversion";
			free(v);
			return -1;
		}
		if (!conv_of(fmt[i], &p->conv)) {
			*err = "invalid or missing conversion specifier";
			free(v);
			return -1;
		}
		i++;
		n++;
	}
	*out = v;
	return n;
}

int format_arg_count(const struct fmt_piece *p, int n)
{
	int count = 0;
	for (int k = 0; k < n; k++) {
		if (p[k].conv == FC_LITERAL || p[k].conv == FC_PERCENT)
			continue;
		count += (p[k].width == FMT_STAR) + (p[k].precision == FMT_STAR) + 1;
	}
	return count;
}
