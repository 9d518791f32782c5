/* The string tapset helpers, compiled in user space: expectations from
 * SystemTap's testsuite (systemtap.string) and the 4.8 runtime's rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stp_string.h"

static char out[MAXSTRINGLEN];

static void test_bounded_copy(void **state)
{
	char small[6], big[MAXSTRINGLEN + 100];

	(void)state;
	assert_int_equal(stp_strlcpy(small, "hello world", sizeof(small)), 11);
	assert_string_equal(small, "hello");
	assert_int_equal(stp_strlcpy(small, "hi", sizeof(small)), 2);
	assert_string_equal(small, "hi");
	assert_int_equal(stp_strlcpy(small, "xyz", 0), 3);
	assert_string_equal(small, "hi");
	assert_int_equal(stp_strlcat(small, "abc", sizeof(small)), 5);
	assert_string_equal(small, "hiabc");
	assert_int_equal(stp_strlcat(small, "def", sizeof(small)), 8);
	assert_string_equal(small, "hiabc");
	/* MAXSTRINGLEN-1 chars survive an assignment */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	stp_strlcpy(out, big, sizeof(out));
	assert_int_equal(strlen(out), MAXSTRINGLEN - 1);
}

/* systemtap.string/substr.exp */
static void test_substr(void **state)
{
	static const struct { int64_t start, len; const char *want; } t[] = {
		{ 0, 0, "" }, { -1, 10, "" }, { 10, 0, "" }, { 0, 1, "H" }, { 1, 1, "e" },
		{ 2, 1, "l" }, { 2, 5, "llo W" }, { 6, 1, "W" }, { 11, 1, "!" }, { 11, 100, "!" },
		{ 12, 1, "" }, { 0, 10, "Hello Worl" }, { 0, 100, "Hello World!" },
		{ 0, 100000, "Hello World!" },
		/* beyond the testsuite */
		{ 0, -1, "" }, { 0, -5, "" }, { 0, INT64_MAX, "" }, { 0, INT64_MIN, "" },
		{ INT64_MAX, 1, "" }, { INT64_MIN, 1, "" }, { 11, INT64_MAX - 1, "!" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(out, 'Z', sizeof(out));
		stp_substr(out, "Hello World!", t[i].start, t[i].len);
		assert_string_equal(out, t[i].want);
	}
	stp_substr(out, "", 0, 5);
	assert_string_equal(out, "");
}

static void test_substr_long_input(void **state)
{
	char big[MAXSTRINGLEN];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	stp_substr(out, big, 0, 100000);
	assert_int_equal(strlen(out), MAXSTRINGLEN - 1);
	stp_substr(out, big, MAXSTRINGLEN - 2, 5);
	assert_string_equal(out, "a");
}

static void test_stringat(void **state)
{
	int64_t c = 99;

	(void)state;
	assert_int_equal(stp_stringat("ok", 0, &c), 0);
	assert_int_equal(c, 'o');
	assert_int_equal(stp_stringat("ok", 1, &c), 0);
	assert_int_equal(c, 'k');
	assert_int_equal(stp_stringat("ok", 2, &c), -1);
	assert_int_equal(c, 0);
	assert_int_equal(stp_stringat("ok", -1, &c), -1);
	assert_int_equal(stp_stringat("", 0, &c), -1);
	assert_int_equal(stp_stringat("ok", INT64_MIN, &c), -1);
	assert_int_equal(stp_stringat("ok", INT64_MAX, &c), -1);
	/* char is signed on x86 */
	assert_int_equal(stp_stringat("\xe9", 0, &c), 0);
	assert_int_equal(c, -23);
}

/* systemtap.string/isinstr.exp and strpos */
static void test_search(void **state)
{
	(void)state;
	assert_int_equal(stp_isinstr("abcfoobad", "foo"), 1);
	assert_int_equal(stp_isinstr("abcdefg", "foo"), 0);
	assert_int_equal(stp_isinstr("", ""), 1);
	assert_int_equal(stp_isinstr("abc", ""), 1);
	assert_int_equal(stp_isinstr("", "a"), 0);
	assert_int_equal(stp_isinstr("fo", "foo"), 0);
	assert_int_equal(stp_strpos("abcfoobad", "foo"), 3);
	assert_int_equal(stp_strpos("foo", "foo"), 0);
	assert_int_equal(stp_strpos("abc", "d"), -1);
	assert_int_equal(stp_strpos("abc", ""), 0);
	assert_int_equal(stp_strpos("", ""), 0);
	assert_int_equal(stp_strpos("aaab", "aab"), 1);
	assert_int_equal(stp_strpos("abab", "b"), 1);
}

/* systemtap.string/str_replace.exp (at MAXSTRINGLEN 512 the long line is
 * whole; the truncation case is below) */
static void test_str_replace(void **state)
{
	const char *s1 = "hello system tap";
	const char *s2 = "Here I am, on the road again. there I am, up on the stage, Here I go, "
			 "playing star again. There I go, turn the page.- Bob Seger";

	(void)state;
	stp_str_replace(out, s1, "system", "pointer");
	assert_string_equal(out, "hello pointer tap");
	stp_str_replace(out, s1, "hello", "pointer");
	assert_string_equal(out, "pointer system tap");
	stp_str_replace(out, s1, "tap", "pointer");
	assert_string_equal(out, "hello system pointer");
	stp_str_replace(out, s2, "Here", "here");
	assert_string_equal(out, "here I am, on the road again. there I am, up on the stage, "
			    "here I go, playing star again. There I go, turn the page.- Bob Seger");
	stp_str_replace(out, s2, "Bob Seger", "Metallica");
	assert_string_equal(out + strlen(out) - 9, "Metallica");
	stp_str_replace(out, s1, "system", "");
	assert_string_equal(out, "hello  tap");
	stp_str_replace(out, s1, "", "pointer");
	assert_string_equal(out, "hello system tap");
	stp_str_replace(out, "", "", "pointer");
	assert_string_equal(out, "");
	stp_str_replace(out, "aaaa", "aa", "b");
	assert_string_equal(out, "bb");
	stp_str_replace(out, "aaa", "aa", "b");
	assert_string_equal(out, "ba");
	stp_str_replace(out, "abc", "abc", "");
	assert_string_equal(out, "");
}

static void test_str_replace_truncates(void **state)
{
	char big[MAXSTRINGLEN];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	stp_str_replace(out, big, "a", "bb");
	assert_int_equal(strlen(out), MAXSTRINGLEN - 1);
	assert_int_equal(strspn(out, "b"), MAXSTRINGLEN - 1);
	big[10] = 'X';
	stp_str_replace(out, big, "X", "0123456789");
	assert_int_equal(strlen(out), MAXSTRINGLEN - 1);
	assert_memory_equal(out + 10, "0123456789aaa", 13);
}

/* systemtap.string/strtol.exp, then simple_strtol's corners */
static void test_strtol(void **state)
{
	(void)state;
	assert_int_equal(stp_strtol("1", 10), 1);
	assert_int_equal(stp_strtol("-1", 10), -1);
	assert_int_equal(stp_strtol("123456789", 10), 123456789);
	assert_int_equal(stp_strtol("-123456789", 10), -123456789);
	assert_int_equal(stp_strtol("abcdef", 10), 0);
	assert_int_equal(stp_strtol("1a2b3c4d5e6f7g8h9", 10), 1);
	assert_int_equal(stp_strtol(" 1 2 3 4", 10), 0);
	assert_int_equal(stp_strtol("", 10), 0);
	assert_int_equal(stp_strtol("1000", 10), 1000);
	assert_int_equal(stp_strtol("1000", 16), 4096);
	assert_int_equal(stp_strtol("1000", 8), 512);
	assert_int_equal(stp_strtol("1000", 2), 8);
	/* base 0 */
	assert_int_equal(stp_strtol("0x1f", 0), 31);
	assert_int_equal(stp_strtol("0X1F", 0), 31);
	assert_int_equal(stp_strtol("017", 0), 15);
	assert_int_equal(stp_strtol("019", 0), 1);     /* octal stops at 9 */
	assert_int_equal(stp_strtol("0x", 0), 0);      /* no hex digit: octal "0" */
	assert_int_equal(stp_strtol("0xg", 0), 0);
	assert_int_equal(stp_strtol("42", 0), 42);
	assert_int_equal(stp_strtol("-0x10", 0), -16);
	/* base 16 skips 0x; other bases do not */
	assert_int_equal(stp_strtol("0x10", 16), 16);
	assert_int_equal(stp_strtol("0x10", 10), 0);
	assert_int_equal(stp_strtol("ff", 16), 255);
	assert_int_equal(stp_strtol("FF", 16), 255);
	/* no '+', no whitespace, one '-' */
	assert_int_equal(stp_strtol("+5", 10), 0);
	assert_int_equal(stp_strtol("--5", 10), 0);
	assert_int_equal(stp_strtol("\t5", 10), 0);
	/* digits above 'f' never count, even in base 36 */
	assert_int_equal(stp_strtol("z", 36), 0);
	assert_int_equal(stp_strtol("fg", 36), 15);
	/* overflow wraps */
	assert_int_equal(stp_strtol("18446744073709551615", 10), -1);
	assert_int_equal(stp_strtol("18446744073709551616", 10), 0);
	assert_int_equal(stp_strtol("9223372036854775808", 10), INT64_MIN);
	/* base 1: only zeros; base is truncated to 32 bits */
	assert_int_equal(stp_strtol("0001", 1), 0);
	assert_int_equal(stp_strtol("12", ((int64_t)1 << 32) | 10), 12);
	assert_int_equal(stp_strtol("0x10", (int64_t)1 << 32), 16);  /* base 0 after truncation */
}

static void test_isdigit(void **state)
{
	(void)state;
	assert_int_equal(stp_isdigit("0"), 1);
	assert_int_equal(stp_isdigit("9abc"), 1);
	assert_int_equal(stp_isdigit("a9"), 0);
	assert_int_equal(stp_isdigit(""), 0);
	assert_int_equal(stp_isdigit(" 1"), 0);
	assert_int_equal(stp_isdigit("-1"), 0);
}

/* tokprint() of systemtap.string/tokenize.stp, joined by '\n' */
static void tokprint(struct stp_tokenizer *t, char *res, const char *str, const char *delim)
{
	char tok[MAXSTRINGLEN];

	strcat(res, "-\n");
	stp_tokenize(t, tok, str, delim);
	while (tok[0]) {
		strcat(res, tok);
		strcat(res, "\n");
		stp_tokenize(t, tok, "", delim);
	}
}

static void test_tokenize_exp(void **state)
{
	static struct stp_tokenizer t;
	char res[2048] = "";

	(void)state;
	tokprint(&t, res, "one|two|three|four|five|six|seven|eight|nine|ten", "|");
	tokprint(&t, res, "one|two|three|four|five|six|seven|eight|nine|ten", ",");
	tokprint(&t, res, "a,b,c,d,e,f,g", ",");
	tokprint(&t, res, "1,,2,3, ,4", ",");
	tokprint(&t, res, "", ",");
	tokprint(&t, res, "this is a string with no delimiters", ",");
	tokprint(&t, res, "this is a string, which has two delimiters", ", ");
	assert_string_equal(res,
		"-\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n"
		"-\none|two|three|four|five|six|seven|eight|nine|ten\n"
		"-\na\nb\nc\nd\ne\nf\ng\n"
		"-\n1\n2\n3\n \n4\n"
		"-\n"
		"-\nthis is a string with no delimiters\n"
		"-\nthis\nis\na\nstring\nwhich\nhas\ntwo\ndelimiters\n");
}

static void test_tokenize_state(void **state)
{
	struct stp_tokenizer t;
	char tok[MAXSTRINGLEN];

	(void)state;
	memset(&t, 0, sizeof(t));
	stp_tokenize(&t, tok, "", ",");            /* nothing started */
	assert_string_equal(tok, "");
	stp_tokenize(&t, tok, ",,a,,b,,", ",");
	assert_string_equal(tok, "a");
	stp_tokenize(&t, tok, "", ",");
	assert_string_equal(tok, "b");
	stp_tokenize(&t, tok, "", ",");
	assert_string_equal(tok, "");
	stp_tokenize(&t, tok, "", ",");            /* stays done */
	assert_string_equal(tok, "");
	stp_tokenize(&t, tok, "x=y=z", "=");
	assert_string_equal(tok, "x");
	stp_tokenize(&t, tok, "", "");             /* no delimiters: the rest */
	assert_string_equal(tok, "y=z");
	stp_tokenize(&t, tok, "a b", "");
	assert_string_equal(tok, "a b");
	/* delimiters may change between calls */
	stp_tokenize(&t, tok, "a,b c", ",");
	stp_tokenize(&t, tok, "", " ");
	assert_string_equal(tok, "b");
	stp_tokenize(&t, tok, "", " ");
	assert_string_equal(tok, "c");
	/* ",,," has no token at all */
	stp_tokenize(&t, tok, ",,,", ",");
	assert_string_equal(tok, "");
}

/* systemtap.string/text_str.exp */
static void test_text_str_exp(void **state)
{
	const char *a = "1234567890", *b = "12345678901234567890";
	const char *c = "123456789012345678901234567890";
	const char *a2 = "\n\nXYZZY\031", *b2 = "\077\231\a\n\n\r\n";
	const char *c2 = "\n\nXYZZY\031\077\231\a\n\n\r\n";

	(void)state;
	stp_text_str(out, c);
	assert_string_equal(out, c);
	stp_text_strn(out, c, 0, 0);
	assert_string_equal(out, c);
	stp_text_strn(out, b, 10, 0);
	assert_string_equal(out, "1234567890");
	stp_text_strn(out, a, 0, 1);
	assert_string_equal(out, "\"1234567890\"");
	stp_text_strn(out, a, 10, 1);
	assert_string_equal(out, "\"12345\"...");
	stp_text_strn(out, c, 10, 1);
	assert_string_equal(out, "\"12345\"...");
	stp_text_strn(out, a, 12, 1);
	assert_string_equal(out, "\"1234567890\"");
	stp_text_strn(out, b, 12, 1);
	assert_string_equal(out, "\"1234567\"...");

	stp_text_str(out, a2);
	assert_string_equal(out, "\\n\\nXYZZY\\031");
	stp_text_str(out, b2);
	assert_string_equal(out, "?\\231\\a\\n\\n\\r\\n");
	stp_text_str(out, c2);
	assert_string_equal(out, "\\n\\nXYZZY\\031?\\231\\a\\n\\n\\r\\n");
	stp_text_strn(out, a2, 10, 0);
	assert_string_equal(out, "\\n\\nXYZZY");
	stp_text_strn(out, b2, 10, 0);
	assert_string_equal(out, "?\\231\\a\\n");
	stp_text_strn(out, b2, 12, 0);
	assert_string_equal(out, "?\\231\\a\\n\\n");
	stp_text_strn(out, c2, 12, 0);
	assert_string_equal(out, "\\n\\nXYZZY");
	stp_text_strn(out, c2, 0, 1);
	assert_string_equal(out, "\"\\n\\nXYZZY\\031?\\231\\a\\n\\n\\r\\n\"");
	stp_text_strn(out, a2, 10, 1);
	assert_string_equal(out, "\"\\n\\nX\"...");
	stp_text_strn(out, b2, 10, 1);
	assert_string_equal(out, "\"?\\231\"...");
	stp_text_strn(out, a2, 15, 1);
	assert_string_equal(out, "\"\\n\\nXYZZY\\031\"");
	/* the 2012 .exp shows "?\231\a\n\"... and "\n\nXYZZY\"...; stap 4.8
	 * drops an escape the cut would split */
	stp_text_strn(out, b2, 15, 1);
	assert_string_equal(out, "\"?\\231\\a\\n\"...");
	stp_text_strn(out, c2, 15, 1);
	assert_string_equal(out, "\"\\n\\nXYZZY\"...");
}

static void test_text_str_escapes(void **state)
{
	(void)state;
	stp_text_str(out, "\a\b\f\n\r\t\v\"\\'");
	assert_string_equal(out, "\\a\\b\\f\\n\\r\\t\\v\\\"\\\\'");
	stp_text_str(out, "\x7f\x01\xff");
	assert_string_equal(out, "\\177\\001\\377");
	/* UTF-8 */
	stp_text_str(out, "caf\xc3\xa9");
	assert_string_equal(out, "caf\\u00e9");
	stp_text_str(out, "\xe2\x82\xac!");
	assert_string_equal(out, "\\u20ac!");
	stp_text_str(out, "\xf0\x9f\x98\x80");
	assert_string_equal(out, "\\U0001f600");
	stp_text_str(out, "\xc0\x80");                  /* overlong */
	assert_string_equal(out, "\\300\\200");
	stp_text_str(out, "\xed\xa0\x80");              /* surrogate */
	assert_string_equal(out, "\\355\\240\\200");
	stp_text_str(out, "\xf4\x90\x80\x80");          /* > 0x10FFFF */
	assert_string_equal(out, "\\364\\220\\200\\200");
	stp_text_str(out, "\xc3(");                     /* bad continuation */
	assert_string_equal(out, "\\303(");
	stp_text_str(out, "\xe2\x82");                  /* cut short */
	assert_string_equal(out, "\\342\\202");
	stp_text_str(out, "");
	assert_string_equal(out, "");
	stp_string_quoted(out, "");
	assert_string_equal(out, "\"\"");
	stp_string_quoted(out, "say \"hi\"\n");
	assert_string_equal(out, "\"say \\\"hi\\\"\\n\"");
}

static void test_text_str_limits(void **state)
{
	char big[MAXSTRINGLEN];

	(void)state;
	/* quoted with a tiny length: at least 3 chars of room */
	stp_text_strn(out, "abcdef", 1, 1);
	assert_string_equal(out, "\"\"...");
	stp_text_strn(out, "abc", 1, 1);
	assert_string_equal(out, "\"abc\"");
	stp_text_strn(out, "\x01" "bcdef", 5, 1);
	assert_string_equal(out, "\"\"...");
	stp_text_strn(out, "abcdef", -3, 0);            /* <= 0: all */
	assert_string_equal(out, "abcdef");
	stp_text_strn(out, "abcdef", 3, 7);             /* any nonzero quotes */
	assert_string_equal(out, "\"\"...");      /* 3 chars of room, minus the "... */
	/* output never exceeds MAXSTRINGLEN-1 */
	memset(big, '\001', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	stp_text_str(out, big);
	assert_int_equal(strlen(out), (MAXSTRINGLEN - 1) / 4 * 4);
	stp_string_quoted(out, big);
	assert_true(strlen(out) <= MAXSTRINGLEN - 1);
	assert_string_equal(out + strlen(out) - 4, "\"...");
	memset(big, 'a', sizeof(big) - 1);
	stp_string_quoted(out, big);
	assert_int_equal(strlen(out), MAXSTRINGLEN - 1);
	assert_string_equal(out + strlen(out) - 4, "\"...");
	big[MAXSTRINGLEN - 3] = 0;
	stp_string_quoted(out, big);                    /* exactly fits */
	assert_int_equal(strlen(out), MAXSTRINGLEN - 1);
	assert_int_equal(out[MAXSTRINGLEN - 2], '"');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounded_copy),
		cmocka_unit_test(test_substr),
		cmocka_unit_test(test_substr_long_input),
		cmocka_unit_test(test_stringat),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_str_replace),
		cmocka_unit_test(test_str_replace_truncates),
		cmocka_unit_test(test_strtol),
		cmocka_unit_test(test_isdigit),
		cmocka_unit_test(test_tokenize_exp),
		cmocka_unit_test(test_tokenize_state),
		cmocka_unit_test(test_text_str_exp),
		cmocka_unit_test(test_text_str_escapes),
		cmocka_unit_test(test_text_str_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
