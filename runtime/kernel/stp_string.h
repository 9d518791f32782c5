/* String helpers behind the string tapset functions (strlen, substr,
 * stringat, strpos, isinstr, str_replace, strtol, isdigit, tokenize,
 * text_str, text_strn, string_quoted) and the bounded copies every
 * string-producing operation needs.  Script strings live in buffers of
 * MAXSTRINGLEN bytes and are silently truncated to MAXSTRINGLEN-1 chars.
 * Pure code: no allocation, no locking; outputs are caller buffers of
 * MAXSTRINGLEN bytes unless a size is passed. */
#ifndef STP_STRINGS_H
#define STP_STRINGS_H

#include "stp_types.h"

#ifndef MAXSTRINGLEN
#define MAXSTRINGLEN 512
#endif

/* Copy src into dst[size], truncating; dst is NUL-terminated when size
 * > 0.  Returns strlen(src), so a result >= size means truncation. */
size_t stp_strlcpy(char *dst, const char *src, size_t size);

/* Append src to the string in dst[size], truncating.  Returns the length
 * the concatenation needs. */
size_t stp_strlcat(char *dst, const char *src, size_t size);

/* substr(str, start, length): 0-based; empty when start is negative or
 * at/after the end; length clipped to the string and to MAXSTRINGLEN-1.
 * As SystemTap computes length+1 with wrapping, length == INT64_MAX and
 * negative lengths give "". */
void stp_substr(char *out, const char *str, int64_t start, int64_t length);

/* stringat(str, pos): the char code at pos (a signed char on x86, so
 * bytes >= 0x80 come back negative).  Returns 0 with *code set, or -1
 * when pos is outside [0, strlen) -- the caller raises the error
 * "Position out of bounds" (compatibility >= 2.3). */
int stp_stringat(const char *str, int64_t pos, int64_t *code);

/* strpos: index of the first occurrence of needle, or -1; "" is found at
 * 0.  isinstr: 1 if needle occurs in hay. */
int64_t stp_strpos(const char *hay, const char *needle);
int stp_isinstr(const char *hay, const char *needle);

/* str_replace: every non-overlapping occurrence of from, left to right,
 * replaced by to; the result is truncated to MAXSTRINGLEN-1.  An empty
 * `from` returns str unchanged. */
void stp_str_replace(char *out, const char *str, const char *from, const char *to);

/* strtol: the kernel's simple_strtol.  No whitespace or '+' skipping, a
 * leading '-' negates, base 0 picks 16 ("0x" + hex digit), 8 (leading
 * 0) or 10, base 16 skips an "0x" prefix, digits stop at the first
 * character that is not [0-9a-fA-F] or is >= base, overflow wraps.
 * base is truncated to unsigned int as in the kernel call. */
int64_t stp_strtol(const char *str, int64_t base);

/* isdigit: 1 if the first character is '0'..'9'. */
int stp_isdigit(const char *str);

/* tokenize(input, delims) / tokenize(delims): a non-empty input starts a
 * new string (copied into the state); an empty one continues the
 * previous.  Returns the next non-empty token in out, or "" when there is
 * none.  The state belongs to the caller (one per probe context) and
 * must start zeroed. */
struct stp_tokenizer {
	char str[MAXSTRINGLEN];  /* copy of the input, cut by NULs */
	char *next;              /* where the next search starts; NULL: done */
};
void stp_tokenize(struct stp_tokenizer *t, char *out, const char *input,
		  const char *delims);

/* The escaping of text_str and friends (runtime _stp_text_str of stap
 * 4.8): printable ASCII is copied, except '"' and '\\'; \a \b \f \n \r
 * \t \v \" \\ get short escapes; a valid UTF-8 sequence (2..4 bytes,
 * shortest form, no surrogates, <= 0x10FFFF) becomes \uXXXX or
 * \UXXXXXXXX; any other byte becomes \ooo.  At most inlen input bytes
 * and outlen output chars are used (<= 0 or too big: MAXSTRINGLEN-1);
 * an escape never gets cut.  quoted: wrap in double quotes, and when the
 * input was not consumed entirely end with "... (the text is cut so the
 * whole fits outlen, dropping an escape that would be split).
 * out must hold MAXSTRINGLEN bytes. */
void stp_text_str_n(char *out, const char *in, int inlen, int outlen, int quoted);

/* text_str(s), text_strn(s, len, quoted), string_quoted(s) exactly as the
 * tapset calls the escaper. */
void stp_text_str(char *out, const char *in);
void stp_text_strn(char *out, const char *in, int64_t len, int64_t quoted);
void stp_string_quoted(char *out, const char *in);

#endif
