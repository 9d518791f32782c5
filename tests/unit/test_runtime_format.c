/* The runtime's print formatting, compiled in user space: expectations
 * from SystemTap's testsuite (systemtap.printf/ *.exp), facts of its
 * runtime (vsprintf.c as stap 4.8 compiles it), and glibc where the two
 * agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "format.h"

/* A small parser for the tests: the translator does this for real. */
static int parse(const char *f, struct stp_fmt_piece *p)
{
	int n = 0;

	while (*f) {
		memset(&p[n], 0, sizeof(p[n]));
		if (*f != '%') {
			p[n].conv = STP_FC_LITERAL;
			p[n].text = f;
			while (*f && *f != '%')
				f++;
			p[n].len = (size_t)(f - p[n].text);
			n++;
			continue;
		}
		f++;
		if (strchr("-+ #0", *f) && *f)
			p[n].flag = *f++;
		p[n].width = p[n].precision = STP_FMT_NONE;
		if (*f == '*') {
			p[n].width = STP_FMT_STAR;
			f++;
		} else if (*f >= '0' && *f <= '9') {
			p[n].width = (int)strtol(f, (char **)&f, 10);
		}
		if (*f == '.') {
			f++;
			if (*f == '*') {
				p[n].precision = STP_FMT_STAR;
				f++;
			} else if (*f >= '0' && *f <= '9') {
				p[n].precision = (int)strtol(f, (char **)&f, 10);
			}
		}
		if (*f == 'l')
			f++;
		switch (*f++) {
		case '%': p[n].conv = STP_FC_PERCENT; break;
		case 'd': case 'i': p[n].conv = STP_FC_SIGNED; break;
		case 'u': p[n].conv = STP_FC_UNSIGNED; break;
		case 'o': p[n].conv = STP_FC_OCTAL; break;
		case 'x': p[n].conv = STP_FC_HEX; break;
		case 'X': p[n].conv = STP_FC_HEX_UPPER; break;
		case 'p': p[n].conv = STP_FC_POINTER; break;
		case 'c': p[n].conv = STP_FC_CHAR; break;
		case 's': p[n].conv = STP_FC_STRING; break;
		case 'b': p[n].conv = STP_FC_BINARY; break;
		case 'm': p[n].conv = STP_FC_MEMORY; break;
		case 'M': p[n].conv = STP_FC_MEMORY_HEX; break;
		default: fail_msg("bad test format");
		}
		n++;
	}
	return n;
}

static struct stp_fmt_arg L(int64_t v)
{
	struct stp_fmt_arg a = { STP_ARG_LONG, v, NULL };
	return a;
}

static struct stp_fmt_arg S(const char *s)
{
	struct stp_fmt_arg a = { STP_ARG_STRING, 0, s };
	return a;
}

static char out[4096];
static long out_len;

/* fake memory: [0x1000, 0x1000 + sizeof fake_mem) is readable */
static const char fake_mem[] = "/usr/bin/hello\0\x01\xab\xff";
#define FAKE_BASE 0x1000u
static int fake_reads, fake_user_reads;

static int fake_read(void *ctx, uint64_t addr, void *dst, size_t n, int user)
{
	(void)ctx;
	fake_reads++;
	if (user)
		fake_user_reads++;
	if (addr < FAKE_BASE || addr + n > FAKE_BASE + sizeof(fake_mem))
		return -1;
	memcpy(dst, fake_mem + (addr - FAKE_BASE), n);
	return 0;
}

static const struct stp_fmt_mem fake = { fake_read, NULL };

static long fmt_args(const char *f, const struct stp_fmt_arg *args, int nargs, int64_t *bad)
{
	struct stp_fmt_piece p[64];
	int n = parse(f, p);

	memset(out, 'Z', sizeof(out));
	out_len = stp_format(out, sizeof(out), p, n, args, nargs, &fake, bad);
	return out_len;
}

#define FMT(f, ...) do { \
	struct stp_fmt_arg a_[] = { __VA_ARGS__ }; \
	assert_true(fmt_args(f, a_, (int)(sizeof(a_) / sizeof(a_[0])), NULL) >= 0); \
} while (0)

#define EXPECT(want, f, ...) do { \
	FMT(f, __VA_ARGS__); \
	assert_string_equal(out, want); \
	assert_int_equal(out_len, strlen(want)); \
} while (0)

static void test_literals_and_percent(void **state)
{
	struct stp_fmt_piece p[4];
	int n;

	(void)state;
	n = parse("Hello%%World", p);
	assert_int_equal(stp_format(out, sizeof(out), p, n, NULL, 0, NULL, NULL), 11);
	assert_string_equal(out, "Hello%World");          /* basic6.exp */
	n = parse("", p);
	assert_int_equal(stp_format(out, sizeof(out), p, n, NULL, 0, NULL, NULL), 0);
	assert_string_equal(out, "");
}

/* systemtap.printf/int1.exp, every line */
static void test_int1_exp(void **state)
{
	static const char *const fmts[] = {
		"%d", "%2d", "%16d", "%016d", "%ld", "%#d", "%#ld",
		"%u", "%2u", "%16u", "%016u", "%lu", "%#u", "%#lu",
		"%x", "%2x", "%16x", "%016x", "%16X", "%016X", "%lx", "%#x", "%#lx",
		"%o", "%2o", "%16o", "%016o", "%lo", "%#o", "%#lo",
	};
	static const char *const want[] = {
		"1,10,9000000000000,-1,-1024",
		" 1,10,9000000000000,-1,-1024",
		"               1,              10,   9000000000000,              -1,           -1024",
		"0000000000000001,0000000000000010,0009000000000000,-000000000000001,-000000000001024",
		"1,10,9000000000000,-1,-1024",
		"1,10,9000000000000,-1,-1024",
		"1,10,9000000000000,-1,-1024",
		"1,10,9000000000000,18446744073709551615,18446744073709550592",
		" 1,10,9000000000000,18446744073709551615,18446744073709550592",
		"               1,              10,   9000000000000,18446744073709551615,18446744073709550592",
		"0000000000000001,0000000000000010,0009000000000000,18446744073709551615,18446744073709550592",
		"1,10,9000000000000,18446744073709551615,18446744073709550592",
		"1,10,9000000000000,18446744073709551615,18446744073709550592",
		"1,10,9000000000000,18446744073709551615,18446744073709550592",
		"1,a,82f79cd9000,ffffffffffffffff,fffffffffffffc00",
		" 1, a,82f79cd9000,ffffffffffffffff,fffffffffffffc00",
		"               1,               a,     82f79cd9000,ffffffffffffffff,fffffffffffffc00",
		"0000000000000001,000000000000000a,0000082f79cd9000,ffffffffffffffff,fffffffffffffc00",
		"               1,               A,     82F79CD9000,FFFFFFFFFFFFFFFF,FFFFFFFFFFFFFC00",
		"0000000000000001,000000000000000A,0000082F79CD9000,FFFFFFFFFFFFFFFF,FFFFFFFFFFFFFC00",
		"1,a,82f79cd9000,ffffffffffffffff,fffffffffffffc00",
		"0x1,0xa,0x82f79cd9000,0xffffffffffffffff,0xfffffffffffffc00",
		"0x1,0xa,0x82f79cd9000,0xffffffffffffffff,0xfffffffffffffc00",
		"1,12,202757163310000,1777777777777777777777,1777777777777777776000",
		" 1,12,202757163310000,1777777777777777777777,1777777777777777776000",
		"               1,              12, 202757163310000,1777777777777777777777,1777777777777777776000",
		"0000000000000001,0000000000000012,0202757163310000,1777777777777777777777,1777777777777777776000",
		"1,12,202757163310000,1777777777777777777777,1777777777777777776000",
		"01,012,0202757163310000,01777777777777777777777,01777777777777777776000",
		"01,012,0202757163310000,01777777777777777777777,01777777777777777776000",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		char f[64];
		snprintf(f, sizeof(f), "%s,%s,%s,%s,%s", fmts[i], fmts[i], fmts[i], fmts[i], fmts[i]);
		FMT(f, L(1), L(10), L(9000000000000LL), L(-1), L(-1024));
		assert_string_equal(out, want[i]);
	}
}

/* systemtap.printf/ptr-1.3.exp, every block */
static void test_ptr_exp(void **state)
{
	static const int64_t vals[] = { 0, 1, 0x12345678, 0x12345678abcdef00LL, 0x12345678 };
	static const struct { const char *fmt; const char *want[5]; } blocks[] = {
		{ "%p", { "0x0", "0x1", "0x12345678", "0x12345678abcdef00", "0x12345678" } },
		{ "%20pX", { "                 0x0X", "                 0x1X",
			     "          0x12345678X", "  0x12345678abcdef00X", "          0x12345678X" } },
		{ "%-20pX", { "0x0                 X", "0x1                 X",
			      "0x12345678          X", "0x12345678abcdef00  X", "0x12345678          X" } },
		{ "%.20pX", { "0x00000000000000000000X", "0x00000000000000000001X",
			      "0x00000000000012345678X", "0x000012345678abcdef00X",
			      "0x00000000000012345678X" } },
		{ "%20.8pX", { "          0x00000000X", "          0x00000001X",
			       "          0x12345678X", "  0x12345678abcdef00X", "          0x12345678X" } },
		{ "%-20.8pX", { "0x00000000          X", "0x00000001          X",
				"0x12345678          X", "0x12345678abcdef00  X", "0x12345678          X" } },
		{ "%8p", { "     0x0", "     0x1", "0x12345678", "0x12345678abcdef00", "0x12345678" } },
		{ "%-8pX", { "0x0     X", "0x1     X", "0x12345678X", "0x12345678abcdef00X", "0x12345678X" } },
		{ "%.8p", { "0x00000000", "0x00000001", "0x12345678", "0x12345678abcdef00", "0x12345678" } },
		{ "%8.20p", { "0x00000000000000000000", "0x00000000000000000001",
			      "0x00000000000012345678", "0x000012345678abcdef00", "0x00000000000012345678" } },
		{ "%-8.20pX", { "0x00000000000000000000X", "0x00000000000000000001X",
				"0x00000000000012345678X", "0x000012345678abcdef00X",
				"0x00000000000012345678X" } },
	};
	(void)state;
	for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); b++)
		for (int i = 0; i < 5; i++)
			EXPECT(blocks[b].want[i], blocks[b].fmt, L(vals[i]));
}

static void test_pointer_flags(void **state)
{
	(void)state;
	EXPECT("0x00000012", "%010p", L(0x12));         /* zeros after the 0x */
	EXPECT("0xffffffffffffffff", "%p", L(-1));
	EXPECT("0x12", "%+p", L(0x12));                  /* unsigned: no sign */
	EXPECT("0x12", "%#p", L(0x12));
}

/* the runtime's number(): where it differs from C */
static void test_number_runtime_facts(void **state)
{
	(void)state;
	EXPECT("0x0", "%#x", L(0));          /* glibc: 0 */
	EXPECT("00", "%#o", L(0));           /* glibc: 0 */
	EXPECT("0X1F", "%#X", L(31));
	EXPECT("0", "%.0d", L(0));           /* glibc: "" */
	EXPECT("00001", "%05.3d", L(1));     /* glibc: "  001" */
	EXPECT("-0001", "%05.3d", L(-1));
	EXPECT("0x000000ff", "%010p", L(255));
	EXPECT("  0x00ff", "%#8.4x", L(255));
	EXPECT("0377", "%#o", L(255));
	EXPECT("000377", "%#.5o", L(255));   /* prefix, then precision zeros */
	EXPECT("-9223372036854775808", "%d", L(INT64_MIN));
	EXPECT("+9223372036854775807", "%+d", L(INT64_MAX));
	EXPECT("18446744073709551615", "%+u", L(-1));  /* '+' only for signed */
	EXPECT("18446744073709551615", "% u", L(-1));
	EXPECT("1000000000000000000000", "%o", L(INT64_MIN));
	EXPECT("8000000000000000", "%x", L(INT64_MIN));
	EXPECT("42", "%i", L(42));
	EXPECT("42   |", "%-5d|", L(42));
	EXPECT("-0042", "%05d", L(-42));
	EXPECT(" 42", "% d", L(42));
}

/* Dynamic width and precision; negative ones clamp to 0 (stap 4.8's
 * compiled printf uses clamp_t(int, arg, 0, ...), no left alignment). */
static void test_star(void **state)
{
	(void)state;
	EXPECT("   42", "%*d", L(5), L(42));
	EXPECT("42", "%*d", L(-5), L(42));
	EXPECT("00042", "%.*d", L(5), L(42));
	EXPECT("42", "%.*d", L(-3), L(42));
	EXPECT("  ab", "%*.*s", L(4), L(2), S("abc"));
	EXPECT("", "%.*s", L(0), S("abc"));
}

static void test_star_negative_precision_string(void **state)
{
	(void)state;
	/* a negative precision clamps to 0 chars, unlike C */
	FMT("%.*s", L(-1), S("abc"));
	assert_string_equal(out, "");
}

static void test_huge_width_is_clamped(void **state)
{
	(void)state;
	FMT("%*d", L(1LL << 40), L(7));
	assert_int_equal(out_len, STP_FMT_MAX_WIDTH);
	FMT("%*d", L(100000), L(7));
	assert_int_equal(out_len, STP_FMT_MAX_WIDTH);
}

/* glibc agrees on the plain cases of d i u o x X */
static void test_against_glibc(void **state)
{
	static const char *const convs[] = { "d", "i", "u", "o", "x", "X" };
	static const char *const flags[] = { "", "-", "+", " ", "0" };
	static const int widths[] = { -1, 0, 1, 5, 21, 30 };
	static const int64_t vals[] = { 0, 1, -1, 7, -8, 255, 4096, 123456789,
					INT64_MAX, INT64_MIN, -1234567 };
	int checked = 0;

	(void)state;
	for (size_t c = 0; c < 6; c++)
		for (size_t f = 0; f < 5; f++)
			for (size_t w = 0; w < 6; w++)
				for (size_t v = 0; v < sizeof(vals) / sizeof(vals[0]); v++) {
					char sf[32], cf[32], want[128];
					if (widths[w] < 0)
						snprintf(sf, sizeof(sf), "%%%s%s", flags[f], convs[c]);
					else
						snprintf(sf, sizeof(sf), "%%%s%d%s", flags[f], widths[w], convs[c]);
					snprintf(cf, sizeof(cf), "%%%s%sll%s", flags[f],
						 widths[w] < 0 ? "" : (char[8]){0}, convs[c]);
					if (widths[w] >= 0)
						snprintf(cf, sizeof(cf), "%%%s%dll%s", flags[f], widths[w], convs[c]);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
					snprintf(want, sizeof(want), cf, (long long)vals[v]);
#pragma GCC diagnostic pop
					FMT(sf, L(vals[v]));
					assert_string_equal(out, want);
					checked++;
				}
	assert_int_equal(checked, 6 * 5 * 6 * 11);
}

/* precision with flags other than '0' also agrees with glibc */
static void test_precision_against_glibc(void **state)
{
	static const char *const flags[] = { "", "-", "+", " " };
	static const int64_t vals[] = { 1, -1, 12345, -12345, INT64_MIN };

	(void)state;
	for (size_t f = 0; f < 4; f++)
		for (int w = 0; w < 12; w += 3)
			for (int p = 1; p < 9; p += 2)
				for (size_t v = 0; v < 5; v++) {
					char sf[32], cf[32], want[128];
					snprintf(sf, sizeof(sf), "%%%s%d.%dd", flags[f], w, p);
					snprintf(cf, sizeof(cf), "%%%s%d.%dlld", flags[f], w, p);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
					snprintf(want, sizeof(want), cf, (long long)vals[v]);
#pragma GCC diagnostic pop
					FMT(sf, L(vals[v]));
					assert_string_equal(out, want);
				}
}

/* systemtap.printf/char1.exp and char2.exp */
static void test_chars(void **state)
{
	const char *chars = "abc-ABC 123!";
	char got[256] = "";

	(void)state;
	EXPECT("stap", "%c%c%c%c", L(115), L(116), L(97), L(112));
	for (size_t i = 0; i < strlen(chars); i++) {
		FMT("%#c", L(chars[i]));
		strcat(got, out);
	}
	assert_string_equal(got, "abc-ABC 123!");
	got[0] = '\0';
	chars = "\a\b\f\n\r\t\v\'\\";
	for (size_t i = 0; i < strlen(chars); i++) {
		FMT("%#c", L(chars[i]));
		strcat(got, out);
	}
	assert_string_equal(got, "\\a\\b\\f\\n\\r\\t\\v\\'\\\\");
	EXPECT("\\000\\033\\177\\222\\333\\377", "%#c%#c%#c%#c%#c%#c",
	       L(0), L(033), L(0177), L(0222), L(0333), L(0377));
	EXPECT("\\354", "%#c", L(236));          /* pretty-char.exp */
	EXPECT("\"", "%#c", L('"'));              /* '"' is printable for %c */
	EXPECT("A", "%c", L(0x141));              /* low byte */
}

static void test_char_width(void **state)
{
	(void)state;
	EXPECT("    A", "%5c", L('A'));
	EXPECT("A    |", "%-5c|", L('A'));
	EXPECT("    A", "%05c", L('A'));           /* no zero padding */
	EXPECT("  \\n", "%#4c", L('\n'));
	EXPECT(" \\001", "%#5c", L(1));
	EXPECT("\\001", "%#2c", L(1));
	/* %c of 0 writes a NUL byte */
	FMT("x%cy", L(0));
	assert_int_equal(out_len, 3);
	assert_memory_equal(out, "x\0y", 4);
}

/* systemtap.printf/string1.exp, string2.exp and %s facts */
static void test_strings(void **state)
{
	char t[101];

	(void)state;
	EXPECT("The string is <Foobar!>\n", "The string is <%s>\n", S("Foobar!"));
	EXPECT("XYZZYFoobar!XYZZYFoobar!", "%s%s%s%s", S("XYZZY"), S("Foobar!"), S("XYZZY"),
	       S("Foobar!"));
	for (int i = 0; i < 100; i++)
		t[i] = (char)('0' + (i + 1) % 10);
	t[100] = '\0';
	FMT("%2d: %s", L(7), S(t));
	assert_int_equal(out_len, 104);
	assert_memory_equal(out, " 7: 1234567890", 14);
	EXPECT("  abc", "%5s", S("abc"));
	EXPECT("abc  |", "%-5s|", S("abc"));
	EXPECT("ab", "%.2s", S("abc"));
	EXPECT("   ab", "%5.2s", S("abc"));
	EXPECT("", "%.0s", S("abc"));
	EXPECT("abc", "%.s", S("abc"));        /* lone '.': no precision */
	EXPECT("abc", "%#s", S("abc"));
	EXPECT("abc", "%+s", S("abc"));
	EXPECT("  abc", "% 5s", S("abc"));
	EXPECT("<NULL>", "%s", S(NULL));
	EXPECT("", "%s", S(""));
	EXPECT("     ", "%5s", S(""));
	/* '0' appends a NUL byte after the (space-padded) string */
	FMT("%05s|", S("ab"));
	assert_int_equal(out_len, 7);
	assert_memory_equal(out, "   ab\0|", 8);
}

/* systemtap.printf/bin6.exp on a little-endian host ("deadbeef" as a
 * big-endian 8-byte value); padding is NUL bytes */
static void test_binary_bin6(void **state)
{
	int64_t v = 0x6665656264616564LL;  /* bytes "deadbeef" in memory */
	static const struct { const char *fmt; int64_t w, p; const char *want; size_t len; } t[] = {
		{ ":%b:", 0, 0, ":deadbeef:", 10 },
		{ ":%1b:", 0, 0, ":d:", 3 }, { ":%2b:", 0, 0, ":de:", 4 },
		{ ":%4b:", 0, 0, ":dead:", 6 }, { ":%8b:", 0, 0, ":deadbeef:", 10 },
		{ ":%.8b:", 0, 0, ":deadbeef:", 10 }, { ":%.4b:", 0, 0, ":dead:", 6 },
		{ ":%.2b:", 0, 0, ":de:", 4 }, { ":%.1b:", 0, 0, ":d:", 3 },
		{ ":%1.8b:", 0, 0, ":deadbeef:", 10 }, { ":%2.4b:", 0, 0, ":dead:", 6 },
		{ ":%4.2b:", 0, 0, ":\0\0de:", 6 }, { ":%8.1b:", 0, 0, ":\0\0\0\0\0\0\0d:", 10 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		FMT(t[i].fmt, L(v));
		assert_int_equal(out_len, t[i].len);
		assert_memory_equal(out, t[i].want, t[i].len);
	}
	/* dynamic forms */
	FMT(":%*b:", L(2), L(v));
	assert_memory_equal(out, ":de:", 4);
	FMT(":%.*b:", L(4), L(v));
	assert_memory_equal(out, ":dead:", 6);
	FMT(":%*.*b:", L(8), L(1), L(v));
	assert_memory_equal(out, ":\0\0\0\0\0\0\0d:", 10);
}

/* bin1..bin5: byte values in host (little-endian) order */
static void test_binary_sizes(void **state)
{
	(void)state;
	FMT("%1b", L(0x42));
	assert_int_equal(out_len, 1);
	assert_int_equal((unsigned char)out[0], 0x42);
	FMT("a=%1b b=%1b", L(0x12), L(0x34));
	assert_memory_equal(out, "a=\x12 b=\x34", 7);
	FMT("%2b", L(0x1234));
	assert_memory_equal(out, "\x34\x12", 2);
	FMT("%4b", L(0x12345678));
	assert_memory_equal(out, "\x78\x56\x34\x12", 4);
	FMT("%8b", L(0x0012345678abcdefLL));
	assert_memory_equal(out, "\xef\xcd\xab\x78\x56\x34\x12\x00", 8);
	FMT("%3b", L(1));                   /* width 3 is no size: 8 bytes */
	assert_int_equal(out_len, 8);
	FMT("%.3b", L(1));
	assert_int_equal(out_len, 8);
	FMT("%10b", L(1));                  /* 8 bytes, 2 NULs before */
	assert_int_equal(out_len, 10);
	assert_memory_equal(out, "\0\0\x01\0\0\0\0\0\0\0", 10);
	FMT("%-10.2b", L(0x4142));
	assert_int_equal(out_len, 10);
	assert_memory_equal(out, "BA\0\0\0\0\0\0\0\0", 10);
}

/* memory1.stp's expectations, against fake memory */
static void test_memory(void **state)
{
	int64_t bad = 0;

	(void)state;
	EXPECT("/", "%m", L(FAKE_BASE));
	EXPECT("/usr/", "%.5m", L(FAKE_BASE));
	EXPECT("/usr/", "%.*m", L(5), L(FAKE_BASE));
	EXPECT("/usr/bin/hello", "%.*m", L(14), L(FAKE_BASE));
	EXPECT("    /", "%5m", L(FAKE_BASE));
	EXPECT("    /", "%*m", L(5), L(FAKE_BASE));
	EXPECT("/usr/", "%4.5m", L(FAKE_BASE));
	EXPECT("          /usr/", "%15.5m", L(FAKE_BASE));
	EXPECT("/usr/", "%*.5m", L(4), L(FAKE_BASE));
	EXPECT("          /usr/", "%*.5m", L(15), L(FAKE_BASE));
	EXPECT(" /usr/bin/hello", "%15.*m", L(14), L(FAKE_BASE));
	EXPECT("/usr/bin/hello", "%*.*m", L(4), L(14), L(FAKE_BASE));
	EXPECT("/usr/", "%-.5m", L(FAKE_BASE));
	EXPECT("/usr/     |", "%-10.5m|", L(FAKE_BASE));
	EXPECT("/", "%.0m", L(FAKE_BASE));   /* 0 bytes means 1 */
	/* %M: hex pairs; width counts the hex digits */
	EXPECT("  2f7573722f62", "%*.*M", L(14), L(6), L(FAKE_BASE));
	EXPECT("2f", "%M", L(FAKE_BASE));
	EXPECT("01abff", "%.3M", L(FAKE_BASE + 15));
	EXPECT("2f75    |", "%-8.2M|", L(FAKE_BASE));
	/* '0' appends a NUL; '#' reads user memory */
	FMT("%0.2m", L(FAKE_BASE));
	assert_int_equal(out_len, 3);
	assert_memory_equal(out, "/u\0", 3);
	fake_user_reads = 0;
	EXPECT("/u", "%#.2m", L(FAKE_BASE));
	assert_true(fake_user_reads > 0);
	/* a dump crossing a chunk works */
	{
		struct stp_fmt_arg a[] = { L(18), L(FAKE_BASE) };
		assert_int_equal(fmt_args("%.*M", a, 2, &bad), 36);
	}
	(void)bad;
}

static void test_memory_errors(void **state)
{
	int64_t bad = 0;
	struct stp_fmt_arg a1[] = { L(0x10) };
	struct stp_fmt_arg a2[] = { L(5), L(FAKE_BASE + sizeof(fake_mem) - 2) };
	struct stp_fmt_arg a3[] = { L(1025), L(FAKE_BASE) };
	struct stp_fmt_arg a4[] = { L(1024), L(0x10) };
	struct stp_fmt_piece p[4];
	int n;

	(void)state;
	assert_int_equal(fmt_args("x%my", a1, 1, &bad), STP_FMT_EFAULT);
	assert_int_equal(bad, 0x10);
	/* the fault address is the first unreadable byte */
	assert_int_equal(fmt_args("%.*m", a2, 2, &bad), STP_FMT_EFAULT);
	assert_int_equal(bad, FAKE_BASE + sizeof(fake_mem));
	assert_int_equal(fmt_args("%.*M", a3, 2, &bad), STP_FMT_E2BIG);
	assert_int_equal(bad, 1025);
	assert_int_equal(fmt_args("%.1025m", a1, 1, &bad), STP_FMT_E2BIG);
	assert_int_equal(fmt_args("%.*m", a4, 2, &bad), STP_FMT_EFAULT);  /* 1024 is fine */
	/* no reader at all: a fault */
	n = parse("%m", p);
	assert_int_equal(stp_format(out, sizeof(out), p, n, a1, 1, NULL, &bad), STP_FMT_EFAULT);
}

static void test_argument_errors(void **state)
{
	struct stp_fmt_arg s[] = { S("x") }, l[] = { L(1) }, two[] = { L(1), L(2) };

	(void)state;
	assert_int_equal(fmt_args("%d", s, 1, NULL), STP_FMT_EARGS);
	assert_int_equal(fmt_args("%s", l, 1, NULL), STP_FMT_EARGS);
	assert_int_equal(fmt_args("%d %d", l, 1, NULL), STP_FMT_EARGS);
	assert_int_equal(fmt_args("%d", two, 2, NULL), STP_FMT_EARGS);
	assert_int_equal(fmt_args("%*s", s, 1, NULL), STP_FMT_EARGS);
	assert_int_equal(fmt_args("%.*d", l, 1, NULL), STP_FMT_EARGS);
}

/* snprintf-like truncation: NUL-terminated, full length returned */
static void test_truncation(void **state)
{
	struct stp_fmt_piece p[8];
	struct stp_fmt_arg a[] = { L(123456), S("hello") };
	char small[8];
	int n = parse("%d-%s", p);

	(void)state;
	memset(small, 'Z', sizeof(small));
	assert_int_equal(stp_format(small, sizeof(small), p, n, a, 2, NULL, NULL), 12);
	assert_string_equal(small, "123456-");
	assert_int_equal(stp_format(small, 1, p, n, a, 2, NULL, NULL), 12);
	assert_string_equal(small, "");
	assert_int_equal(stp_format(NULL, 0, p, n, a, 2, NULL, NULL), 12);
	/* sprintf into MAXSTRINGLEN keeps MAXSTRINGLEN-1 chars */
	{
		char buf[512];
		struct stp_fmt_arg w[] = { L(1000), L(5) };
		n = parse("%*d", p);
		assert_int_equal(stp_format(buf, sizeof(buf), p, n, w, 2, NULL, NULL), 1000);
		assert_int_equal(strlen(buf), 511);
		assert_int_equal(buf[510], ' ');
	}
}

/* systemtap.printf/print.exp, println.exp, printd.exp */
static void test_print_family(void **state)
{
	char buf[128];
	struct stp_fmt_arg a[] = { S("hello"), S(" "), S("world") };
	struct stp_fmt_arg b[] = { S("foo"), L(99) };
	struct stp_fmt_arg c[] = { L(123), L(456), L(789) };
	struct stp_fmt_arg d[] = { S("hello"), S("world"), L(777) };
	struct stp_fmt_arg e[] = { L(-5), L(INT64_MIN) };

	(void)state;
	assert_int_equal(stp_format_print(buf, sizeof(buf), a, 3, NULL, 0), 11);
	assert_string_equal(buf, "hello world");
	stp_format_print(buf, sizeof(buf), b, 2, NULL, 1);
	assert_string_equal(buf, "foo99\n");
	stp_format_print(buf, sizeof(buf), c, 3, "", 0);
	assert_string_equal(buf, "123456789");
	stp_format_print(buf, sizeof(buf), c, 3, " ", 0);
	assert_string_equal(buf, "123 456 789");
	stp_format_print(buf, sizeof(buf), d, 3, "<-->", 0);
	assert_string_equal(buf, "hello<-->world<-->777");
	stp_format_print(buf, sizeof(buf), d, 2, " *** ", 1);
	assert_string_equal(buf, "hello *** world\n");
	stp_format_print(buf, sizeof(buf), e, 2, ",", 0);
	assert_string_equal(buf, "-5,-9223372036854775808");
	assert_int_equal(stp_format_print(buf, sizeof(buf), NULL, 0, NULL, 1), 1);
	assert_string_equal(buf, "\n");
	assert_int_equal(stp_format_print(buf, 4, d, 3, "-", 1), 16);
	assert_string_equal(buf, "hel");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literals_and_percent),
		cmocka_unit_test(test_int1_exp),
		cmocka_unit_test(test_ptr_exp),
		cmocka_unit_test(test_pointer_flags),
		cmocka_unit_test(test_number_runtime_facts),
		cmocka_unit_test(test_star),
		cmocka_unit_test(test_star_negative_precision_string),
		cmocka_unit_test(test_huge_width_is_clamped),
		cmocka_unit_test(test_against_glibc),
		cmocka_unit_test(test_precision_against_glibc),
		cmocka_unit_test(test_chars),
		cmocka_unit_test(test_char_width),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_binary_bin6),
		cmocka_unit_test(test_binary_sizes),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_memory_errors),
		cmocka_unit_test(test_argument_errors),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_print_family),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
