/* String helpers of the string tapset, with SystemTap's exact clipping
 * and escaping rules (see stp_string.h). */
#include "stp_string.h"

size_t stp_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

size_t stp_strlcat(char *dst, const char *src, size_t size)
{
	size_t used = 0;

	while (used < size && dst[used])
		used++;
	if (used == size)	/* not terminated: nothing fits */
		return size + strlen(src);
	return used + stp_strlcpy(dst + used, src, size - used);
}

void stp_substr(char *out, const char *str, int64_t start, int64_t length)
{
	/* length + 1 wraps like the kernel's -fno-strict-overflow build */
	int64_t room = (int64_t)((uint64_t)length + 1);

	out[0] = '\0';
	if (room > MAXSTRINGLEN)
		room = MAXSTRINGLEN;
	if (start < 0 || (uint64_t)start >= strlen(str) || room <= 0)
		return;
	stp_strlcpy(out, str + start, (size_t)room);
}

int stp_stringat(const char *str, int64_t pos, int64_t *code)
{
	if (pos < 0 || (uint64_t)pos >= strlen(str)) {
		*code = 0;
		return -1;
	}
	*code = (signed char)str[pos];
	return 0;
}

static const char *find(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (strncmp(hay, needle, n) == 0)
			return hay;
	return n == 0 ? hay : NULL;
}

int64_t stp_strpos(const char *hay, const char *needle)
{
	const char *at = find(hay, needle);

	return at ? at - hay : -1;
}

int stp_isinstr(const char *hay, const char *needle)
{
	return find(hay, needle) != NULL;
}

/* Append n bytes of src to out (length *len), keeping MAXSTRINGLEN-1. */
static void append(char *out, size_t *len, const char *src, size_t n)
{
	size_t room = MAXSTRINGLEN - 1 - *len;

	if (n > room)
		n = room;
	memcpy(out + *len, src, n);
	*len += n;
	out[*len] = '\0';
}

void stp_str_replace(char *out, const char *str, const char *from, const char *to)
{
	size_t flen = strlen(from), tlen = strlen(to), len = 0;
	const char *at;

	out[0] = '\0';
	if (flen == 0) {
		append(out, &len, str, strlen(str));
		return;
	}
	while ((at = find(str, from)) != NULL) {
		append(out, &len, str, (size_t)(at - str));
		append(out, &len, to, tlen);
		str = at + flen;
	}
	append(out, &len, str, strlen(str));
}

static int is_hex(char c)
{
	unsigned int lc = (unsigned char)c | 0x20;

	return (c >= '0' && c <= '9') || (lc >= 'a' && lc <= 'f');
}

/* simple_strtoull: radix fix-up, then digits until one does not fit */
static uint64_t parse_unsigned(const char *s, unsigned int base)
{
	uint64_t res = 0;

	if (base == 0) {
		if (s[0] == '0')
			base = ((s[1] | 0x20) == 'x' && is_hex(s[2])) ? 16 : 8;
		else
			base = 10;
	}
	if (base == 16 && s[0] == '0' && (s[1] | 0x20) == 'x')
		s += 2;
	for (;; s++) {
		unsigned int c = (unsigned char)*s, lc = c | 0x20, val;

		if (c >= '0' && c <= '9')
			val = c - '0';
		else if (lc >= 'a' && lc <= 'f')
			val = lc - 'a' + 10;
		else
			break;
		if (val >= base)
			break;
		res = res * base + val;
	}
	return res;
}

int64_t stp_strtol(const char *str, int64_t base)
{
	if (str[0] == '-')
		return (int64_t)(0 - parse_unsigned(str + 1, (unsigned int)base));
	return (int64_t)parse_unsigned(str, (unsigned int)base);
}

int stp_isdigit(const char *str)
{
	return str[0] >= '0' && str[0] <= '9';
}

static int is_delim(char c, const char *delims)
{
	for (; *delims; delims++)
		if (*delims == c)
			return 1;
	return 0;
}

/* strsep: the token at t->next, cut at the first delimiter */
static char *next_token(struct stp_tokenizer *t, const char *delims)
{
	char *tok = t->next, *p;

	if (!tok)
		return NULL;
	for (p = tok; *p && !is_delim(*p, delims); p++)
		;
	if (*p) {
		*p = '\0';
		t->next = p + 1;
	} else {
		t->next = NULL;
	}
	return tok;
}

void stp_tokenize(struct stp_tokenizer *t, char *out, const char *input,
		  const char *delims)
{
	char *tok;

	if (input[0]) {
		stp_strlcpy(t->str, input, sizeof(t->str));
		t->next = t->str;
	}
	do {
		tok = next_token(t, delims);
	} while (tok && !tok[0]);
	stp_strlcpy(out, tok ? tok : "", MAXSTRINGLEN);
}

/* One character of input: a UTF-8 code point (returns its byte count,
 * 2..4) or a single byte taken verbatim (returns 1). */
static int decode_utf8(const char *in, int size, int *cp)
{
	unsigned char b = (unsigned char)in[0];
	int n, c, i;

	if ((b & 0xE0) == 0xC0 && size >= 2) {
		n = 2;
		c = b & 0x1F;
	} else if ((b & 0xF0) == 0xE0 && size >= 3) {
		n = 3;
		c = b & 0x0F;
	} else if ((b & 0xF8) == 0xF0 && size >= 4) {
		n = 4;
		c = b & 0x07;
	} else {
		goto verbatim;
	}
	for (i = 1; i < n; i++) {
		unsigned char b2 = (unsigned char)in[i];

		if ((b2 & 0xC0) != 0x80)
			goto verbatim;
		c = (c << 6) | (b2 & 0x3F);
	}
	if ((c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF || c < 0x80 ||
	    (n == 3 && c < 0x800) || (n == 4 && c < 0x10000))
		goto verbatim;
	*cp = c;
	return n;
verbatim:
	*cp = b;
	return 1;
}

static char short_escape(int c)
{
	switch (c) {
	case '\a': return 'a';
	case '\b': return 'b';
	case '\f': return 'f';
	case '\n': return 'n';
	case '\r': return 'r';
	case '\t': return 't';
	case '\v': return 'v';
	case '"': return '"';
	case '\\': return '\\';
	}
	return 0;
}

/* Escape one character into out; returns the chars written. */
static int escape_one(char *out, int c, int nbytes)
{
	static const char hex[] = "0123456789abcdef";
	int i, num;

	if (nbytes > 1) {
		num = c <= 0xFFFF ? 6 : 10;
		out[0] = '\\';
		out[1] = c <= 0xFFFF ? 'u' : 'U';
		for (i = num - 3; i >= 0; i--)
			out[num - 1 - i] = hex[(c >> (i * 4)) & 0xF];
		return num;
	}
	if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	if (short_escape(c)) {
		out[1] = short_escape(c);
		return 2;
	}
	out[1] = (char)('0' + ((c >> 6) & 3));
	out[2] = (char)('0' + ((c >> 3) & 7));
	out[3] = (char)('0' + (c & 7));
	return 4;
}

static int escaped_len(int c, int nbytes)
{
	if (nbytes > 1)
		return c <= 0xFFFF ? 6 : 10;
	if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\')
		return 1;
	return short_escape(c) ? 2 : 4;
}

void stp_text_str_n(char *out, const char *in, int inlen, int outlen, int quoted)
{
	char *o = out, *esc = NULL;
	int c = 0, esc_len = 0;

	if (inlen <= 0 || inlen > MAXSTRINGLEN - 1)
		inlen = MAXSTRINGLEN - 1;
	if (outlen <= 0 || outlen > MAXSTRINGLEN - 1)
		outlen = MAXSTRINGLEN - 1;
	if (quoted) {
		outlen = (outlen > 5 ? outlen : 5) - 2;
		*o++ = '"';
	}
	while (inlen > 0) {
		int n = decode_utf8(in, inlen, &c), num;

		if (c == 0 || outlen <= 0)
			break;
		in += n;
		inlen -= n;
		num = escaped_len(c, n);
		/* remember the first escape the "..." could cut in half */
		if (num > 1 && !esc && outlen - 3 < num) {
			esc = o;
			esc_len = num;
		}
		if (outlen < num)
			break;
		o += escape_one(o, c, n);
		outlen -= num;
	}
	if (quoted) {
		if (c && inlen > 0) {
			char *cut = o - 3 + outlen;

			o = (esc && esc < cut && cut < esc + esc_len) ? esc : cut;
			memcpy(o, "\"...", 4);
			o += 4;
		} else {
			*o++ = '"';
		}
	}
	*o = '\0';
}

void stp_text_str(char *out, const char *in)
{
	stp_text_str_n(out, in, 0, 0, 0);
}

void stp_text_strn(char *out, const char *in, int64_t len, int64_t quoted)
{
	if (len < 0)
		len = 0;
	if (len > MAXSTRINGLEN)
		len = MAXSTRINGLEN;
	stp_text_str_n(out, in, 0, (int)len, (uint32_t)quoted != 0);
}

void stp_string_quoted(char *out, const char *in)
{
	stp_text_str_n(out, in, MAXSTRINGLEN, MAXSTRINGLEN, 1);
}
