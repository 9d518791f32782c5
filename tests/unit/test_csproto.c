/* common/csproto.c: versions, the request as SystemTap's 4.8 client sends
 * it and its server reads it (argv, sysinfo, locale and MOK checks with
 * SystemTap's messages), our own request builder, and the response as the
 * client reads it.  Archives are made with zip_writer (and once with
 * Info-ZIP's zip, skipped when it is missing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "csproto.h"
#include "util.h"
#include "zip.h"

enum { ERRLEN = 512 };

/* ---- fixtures ---- */

/* An archive from NULL-terminated pairs name, content; a name ending in
 * '/' is a directory (its content is ignored). */
static void make_zip(struct zip_archive *z, ...)
{
	struct zip_writer *w = zip_writer_new();
	assert_non_null(w);
	va_list ap;
	va_start(ap, z);
	for (const char *name; (name = va_arg(ap, const char *));) {
		const char *text = va_arg(ap, const char *);
		if (name[strlen(name) - 1] == '/')
			assert_int_equal(zip_writer_add_dir(w, name), 0);
		else
			assert_int_equal(zip_writer_add(w, name, text, strlen(text), 0644), 0);
	}
	va_end(ap);
	unsigned char *buf;
	size_t len;
	assert_int_equal(zip_writer_finish(w, &buf, &len), 0);
	char err[ERRLEN];
	if (zip_read_mem(buf, len, NULL, z, err, sizeof err))
		fail_msg("%s", err);
	free(buf);
}

static void assert_strings(char **got, size_t n, const char *const *want, size_t nwant)
{
	for (size_t k = 0; k < n && k < nwant; k++)
		assert_string_equal(got[k], want[k]);
	assert_int_equal(n, nwant);
}

#define ASSERT_STRINGS(got, n, ...) do { \
		const char *const want_[] = { __VA_ARGS__ }; \
		assert_strings(got, n, want_, sizeof want_ / sizeof *want_); \
	} while (0)

static const char SCRIPT[] = "probe begin { printf(\"%s\\n\", @1); exit() }\n";
#define SYSINFO "sysinfo: 6.1.0-56-amd64 x86_64"
#define LOCALE_48 "LANG=C\nLC_ALL=C.UTF-8\nLC_MESSAGES=C\nLC_TIME=C\n"

/* ---- versions ---- */

static void test_version_compare(void **state)
{
	(void)state;
	static const struct { const char *a, *b; int sign; } cases[] = {
		{ "1.6", "1.6.1", -1 },
		{ "1.6.1", "1.6", 1 },
		{ "4.8", "1.6", 1 },
		{ "1.6", "4.8", -1 },
		{ "4.8", "4.8", 0 },
		{ "4.10", "4.9", 1 },          /* numbers, not strings */
		{ "0x10", "16", 0 },           /* strtoul base 0 */
		{ "0x10", "15.99", 1 },
		{ "010", "8", 0 },             /* ... octal too */
		{ "5.0", "4.99.99", 1 },
		{ "abc", "1.0", 0 },           /* not a version: 1.0 */
		{ "", "1.0", 0 },
		{ "4.8beta", "1.0", 0 },
		{ "4.8", "abc", 1 },
		{ "1.5", "xyz", 1 },
		{ "0.9", "", -1 },
		{ "4..8", "1.0", 0 },
		{ ".4", "1.0", 0 },
		{ "4.", "1.0", 0 },
		{ "-4.8", "1.0", 0 },
		{ "+4", "1.0", 0 },
		{ " 4", "1.0", 0 },
		{ "4.8 ", "1.0", 0 },
		{ "0x", "1.0", 0 },
		{ "08", "1.0", 0 },            /* not octal */
		{ "99999999999999999999999", "1.0", 0 },   /* overflows */
		{ "1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1", "1.0", 0 },  /* 17 parts */
		{ NULL, "1.0", 0 },
	};
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		int got = cs_version_compare(cases[k].a, cases[k].b);
		int sign = got < 0 ? -1 : got > 0;
		if (sign != cases[k].sign)
			fail_msg("cs_version_compare(\"%s\", \"%s\") = %d, expected sign %d",
				 cases[k].a ? cases[k].a : "(null)", cases[k].b, got, cases[k].sign);
		int back = cs_version_compare(cases[k].b, cases[k].a);
		assert_int_equal(back < 0 ? -1 : back > 0, -cases[k].sign);
	}
	char *longv = xmalloc(10001);
	for (size_t k = 0; k < 10000; k++)
		longv[k] = k % 2 ? '.' : '1';
	longv[9999] = '1';
	longv[10000] = 0;
	assert_int_equal(cs_version_compare(longv, "1.0"), 0);
	free(longv);
}

static void test_version_from_file(void **state)
{
	(void)state;
	static const struct { const char *data; size_t len; const char *want; } cases[] = {
		{ "4.8", 3, "4.8" },
		{ "  4.8\n", 6, "4.8" },
		{ "4.8 extra words", 15, "4.8" },
		{ "5.1.2\n", 6, "5.1.2" },
		{ "", 0, "1.0" },
		{ "\n\n", 2, "1.0" },
		{ "abc", 3, "1.0" },
		{ "4.8beta", 7, "1.0" },
		{ "4.8\0junk", 8, "4.8" },
		{ "4\0.8", 4, "4" },
	};
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		char *v = cs_version_from_file(cases[k].data, cases[k].len);
		assert_string_equal(v, cases[k].want);
		free(v);
	}
}

/* ---- single checks ---- */

static void test_checks(void **state)
{
	(void)state;
	const char *keys[] = { "LANG", "LC_ALL", "LC_COLLATE", "LC_CTYPE", "LC_MESSAGES",
			       "LC_MONETARY", "LC_NUMERIC", "LC_TIME" };
	for (size_t k = 0; k < 8; k++)
		assert_true(cs_locale_key_ok(keys[k]));
	assert_false(cs_locale_key_ok("LANGUAGE"));
	assert_false(cs_locale_key_ok("LC_PAPER"));
	assert_false(cs_locale_key_ok("LD_PRELOAD"));
	assert_false(cs_locale_key_ok("lang"));
	assert_false(cs_locale_key_ok(""));
	assert_false(cs_locale_key_ok(NULL));

	assert_true(cs_locale_value_ok("C"));
	assert_true(cs_locale_value_ok("en_US.UTF-8"));
	assert_true(cs_locale_value_ok("de_DE@euro"));
	assert_true(cs_locale_value_ok("a=b"));
	assert_true(cs_locale_value_ok(""));
	assert_false(cs_locale_value_ok("$(id)"));
	assert_false(cs_locale_value_ok("a b"));
	assert_false(cs_locale_value_ok("/x"));
	assert_false(cs_locale_value_ok("C\n"));
	assert_false(cs_locale_value_ok("\xc3\xa9"));

	assert_true(cs_mok_fingerprint_ok("missing"));
	assert_true(cs_mok_fingerprint_ok("aa:bb"));
	assert_true(cs_mok_fingerprint_ok("5d:5e:aa:00:19:0e:9d"));
	assert_false(cs_mok_fingerprint_ok("aa"));
	assert_false(cs_mok_fingerprint_ok("AA:BB"));
	assert_false(cs_mok_fingerprint_ok("ZZ:top"));
	assert_false(cs_mok_fingerprint_ok("aa:bb:"));
	assert_false(cs_mok_fingerprint_ok("aa:b"));
	assert_false(cs_mok_fingerprint_ok("aa-bb"));
	assert_false(cs_mok_fingerprint_ok("Missing"));
	assert_false(cs_mok_fingerprint_ok(""));
	assert_false(cs_mok_fingerprint_ok(NULL));

	assert_true(cs_kernel_release_ok("6.1.0-56-amd64"));
	assert_true(cs_kernel_release_ok("5.14.0-284.11.1.el9_2.x86_64"));
	assert_true(cs_kernel_release_ok("6.18.44-fc-v669+"));
	assert_false(cs_kernel_release_ok(""));
	assert_false(cs_kernel_release_ok(NULL));
	assert_false(cs_kernel_release_ok("/lib/modules/6.1"));
	assert_false(cs_kernel_release_ok("6.1 0"));
	assert_false(cs_kernel_release_ok("6.1.0-Generic"));
	char rel[130];
	memset(rel, '1', 129);
	rel[129] = 0;
	assert_false(cs_kernel_release_ok(rel));
	rel[128] = 0;
	assert_true(cs_kernel_release_ok(rel));
}

/* ---- requests ---- */

/* What the 4.8 client sends for
 *   stap -r 6.1.0-56-amd64 -p2 /tmp/x.stp foo 'bar baz'
 * (docs/protocol.md section 4.3). */
static void make_48_request(struct zip_archive *z, const char *locale)
{
	make_zip(z, "argv1", "script/tmp/x.stp", "argv2", "-r6.1.0-56-amd64",
		 "argv3", "-p2", "argv4", "--", "argv5", "foo", "argv6", "bar baz",
		 "locale", locale, "script/", "", "script/tmp/", "",
		 "script/tmp/x.stp", SCRIPT, "sysinfo", SYSINFO, "version", "4.8", NULL);
}

static void test_request_48(void **state)
{
	(void)state;
	struct zip_archive z;
	make_48_request(&z, LOCALE_48);
	struct cs_request r;
	char err[ERRLEN];
	assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), 0);
	assert_string_equal(r.client_version, "4.8");
	assert_string_equal(r.kernel_release, "6.1.0-56-amd64");
	assert_string_equal(r.arch, "x86_64");
	assert_null(r.kernel_build_id);
	ASSERT_STRINGS(r.argv, r.argc, "script/tmp/x.stp", "-r6.1.0-56-amd64", "-p2", "--", "foo",
		       "bar baz");
	ASSERT_STRINGS(r.locale, r.nlocale, "LANG=C", "LC_ALL=C.UTF-8", "LC_MESSAGES=C", "LC_TIME=C");
	assert_int_equal(r.nmok, 0);
	assert_false(r.mok_sent);
	assert_int_equal(r.nnotes, 0);
	cs_request_free(&r);
	assert_null(r.argv);
	cs_request_free(&r);    /* twice is harmless */
	zip_archive_free(&z);
}

/* The same request packed by Info-ZIP, the way the 4.8 client packs it. */
static void test_request_infozip(void **state)
{
	(void)state;
	if (system("command -v zip >/dev/null 2>&1") != 0)
		skip();
	char tmpl[] = "/tmp/stap-unit-csproto-XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	char *cmd = xasprintf(
		"cd '%s' && mkdir -p client/script/tmp && cd client && "
		"printf 4.8 > version && printf 'sysinfo: 6.1.0-56-amd64 x86_64' > sysinfo && "
		"printf 'LANG=C\\nLC_ALL=C.UTF-8\\n' > locale && printf script/tmp/x.stp > argv1 && "
		"printf -- -p2 > argv2 && printf -- -- > argv3 && printf 'bar baz' > argv4 && "
		"printf 'probe begin { exit() }' > script/tmp/x.stp && "
		"zip -qr ../client.zip * && cd .. && rm -r client", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	char *path = xasprintf("%s/client.zip", dir);
	size_t len;
	char *buf = read_file_bounded(path, 1 << 20, &len);
	assert_non_null(buf);
	struct zip_archive z;
	struct cs_request r;
	char err[ERRLEN];
	if (zip_read_mem(buf, len, NULL, &z, err, sizeof err))
		fail_msg("%s", err);
	assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), 0);
	assert_string_equal(r.kernel_release, "6.1.0-56-amd64");
	ASSERT_STRINGS(r.argv, r.argc, "script/tmp/x.stp", "-p2", "--", "bar baz");
	ASSERT_STRINGS(r.locale, r.nlocale, "LANG=C", "LC_ALL=C.UTF-8");
	assert_true(zip_find(&z, "script/tmp")->is_dir);
	cs_request_free(&r);
	zip_archive_free(&z);
	free(buf);
	unlink(path);
	free(path);
	assert_int_equal(rmdir(dir), 0);
}

static void test_request_argv(void **state)
{
	(void)state;
	struct zip_archive z;
	struct cs_request r;
	char err[ERRLEN];
	/* a gap drops argv4 and after; words are verbatim, newline included */
	make_zip(&z, "sysinfo", SYSINFO, "argv1", "-p1\n", "argv2", " spaced ", "argv4", "-g",
		 "argv5", "x", NULL);
	assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), 0);
	ASSERT_STRINGS(r.argv, r.argc, "-p1\n", " spaced ");
	assert_string_equal(r.client_version, "1.0");    /* no version entry */
	cs_request_free(&r);
	zip_archive_free(&z);

	/* numbering starts at 1; argv0 is nobody's */
	make_zip(&z, "sysinfo", SYSINFO, "argv0", "evil", "argv2", "-p2", NULL);
	assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), 0);
	assert_int_equal(r.argc, 0);
	assert_null(r.argv);
	cs_request_free(&r);
	zip_archive_free(&z);

	/* a directory called argv1 is no word */
	make_zip(&z, "sysinfo", SYSINFO, "argv1/", "", "argv1/x", "y", NULL);
	assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), 0);
	assert_int_equal(r.argc, 0);
	cs_request_free(&r);
	zip_archive_free(&z);

	/* "argv01" is not argv1 */
	make_zip(&z, "sysinfo", SYSINFO, "argv01", "x", NULL);
	assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), 0);
	assert_int_equal(r.argc, 0);
	cs_request_free(&r);
	zip_archive_free(&z);

	/* many words */
	struct zip_writer *w = zip_writer_new();
	assert_int_equal(zip_writer_add(w, "sysinfo", SYSINFO, strlen(SYSINFO), 0), 0);
	for (int k = 1; k <= 500; k++) {
		char name[16], word[16];
		snprintf(name, sizeof name, "argv%d", k);
		snprintf(word, sizeof word, "-D%d", k);
		assert_int_equal(zip_writer_add(w, name, word, strlen(word), 0), 0);
	}
	unsigned char *buf;
	size_t len;
	assert_int_equal(zip_writer_finish(w, &buf, &len), 0);
	assert_int_equal(zip_read_mem(buf, len, NULL, &z, err, sizeof err), 0);
	assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), 0);
	assert_int_equal(r.argc, 500);
	assert_string_equal(r.argv[499], "-D500");
	cs_request_free(&r);
	zip_archive_free(&z);
	free(buf);
}

static void test_request_sysinfo(void **state)
{
	(void)state;
	struct zip_archive z;
	struct cs_request r;
	char err[ERRLEN];
	make_zip(&z, "version", "4.8", "argv1", "-p2", NULL);
	assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), -1);
	assert_string_equal(err, "the request has no sysinfo");
	assert_null(r.client_version);      /* nothing left behind */
	cs_request_free(&r);
	zip_archive_free(&z);

	static const char *const refused[] = {
		"6.1.0-56-amd64 x86_64", "sysinfo:", "sysinfo:   \n", "", "Sysinfo: 6.1 x86_64",
		"sysinfo:6.1 x86_64",
	};
	for (size_t k = 0; k < sizeof refused / sizeof *refused; k++) {
		make_zip(&z, "sysinfo", refused[k], NULL);
		assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), -1);
		assert_string_equal(err, "the request's sysinfo is not 'sysinfo: RELEASE ARCH'");
		zip_archive_free(&z);
	}
	/* sysinfo as a directory is no sysinfo */
	make_zip(&z, "sysinfo/", "", NULL);
	assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), -1);
	zip_archive_free(&z);

	/* unusable release or arch: served, and the server says "not supported" */
	static const struct { const char *text, *rel, *arch; } served[] = {
		{ "sysinfo: 6.1.0-56-amd64 x86_64", "6.1.0-56-amd64", "x86_64" },
		{ "sysinfo: 6.1.0-56-amd64", "6.1.0-56-amd64", NULL },
		{ "  sysinfo:\t6.1.0-56-amd64  aarch64 extra\n", "6.1.0-56-amd64", "aarch64" },
		{ "sysinfo: /etc/passwd x86_64", NULL, "x86_64" },
		{ "sysinfo: 6.1.0 X86;rm", "6.1.0", NULL },
	};
	for (size_t k = 0; k < sizeof served / sizeof *served; k++) {
		make_zip(&z, "sysinfo", served[k].text, NULL);
		assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), 0);
		if (served[k].rel)
			assert_string_equal(r.kernel_release, served[k].rel);
		else
			assert_null(r.kernel_release);
		if (served[k].arch)
			assert_string_equal(r.arch, served[k].arch);
		else
			assert_null(r.arch);
		cs_request_free(&r);
		zip_archive_free(&z);
	}
}

static void test_request_locale(void **state)
{
	(void)state;
	struct zip_archive z;
	struct cs_request r;
	char err[ERRLEN];
	make_48_request(&z, "LC_ALL=$(id)\nLD_PRELOAD=/x\nnoequals\nLANG=C\n\nLC_TIME=a b\n"
			"LC_CTYPE=en_US.UTF-8\nLC_NUMERIC=\nLC_MESSAGES=C");
	assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), 0);
	ASSERT_STRINGS(r.notes, r.nnotes,
		       "Server: Localization value '$(id)' contains illegal characters",
		       "Server: Localization key 'LD_PRELOAD' not found in global list",
		       "Server: Localization key=value line 'noequals' cannot be parsed",
		       "Server: Localization key=value line '' cannot be parsed",
		       "Server: Localization value 'a b' contains illegal characters");
	ASSERT_STRINGS(r.locale, r.nlocale, "LANG=C", "LC_CTYPE=en_US.UTF-8", "LC_NUMERIC=",
		       "LC_MESSAGES=C");
	/* the rest of the request is untouched */
	assert_int_equal(r.argc, 6);
	cs_request_free(&r);
	zip_archive_free(&z);

	/* control characters are not echoed; long lines are cut */
	char *text = xmalloc(2000);
	memset(text, 'x', 1999);
	text[1999] = 0;
	memcpy(text, "LANG=\033[2J", 9);
	make_48_request(&z, text);
	assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), 0);
	assert_int_equal(r.nnotes, 1);
	assert_non_null(strstr(r.notes[0], "'?[2Jxxx"));
	assert_non_null(strstr(r.notes[0], "xxx...' contains illegal characters"));
	assert_true(strlen(r.notes[0]) < 400);
	cs_request_free(&r);
	zip_archive_free(&z);
	free(text);

	/* a flood of lines is cut short with one note */
	struct strbuf sb;
	sb_init(&sb);
	for (int k = 0; k < 5000; k++)
		sb_puts(&sb, "BAD=1\n");
	make_48_request(&z, sb.s);
	assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), 0);
	assert_int_equal(r.nnotes, 101);
	assert_string_equal(r.notes[100], "Server: Localization file has more than 100 lines; "
			    "the rest is ignored");
	cs_request_free(&r);
	zip_archive_free(&z);
	sb_free(&sb);

	/* a 1.0 client's locale is ignored, as SystemTap's server ignores it */
	make_zip(&z, "sysinfo", SYSINFO, "version", "1.5", "locale", "LANG=$(id)\n",
		 "mok_fingerprints", "aa:bb\n", NULL);
	assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), 0);
	assert_int_equal(r.nlocale + r.nnotes + r.nmok, 0);
	assert_false(r.mok_sent);
	cs_request_free(&r);
	zip_archive_free(&z);
}

static void test_request_mok(void **state)
{
	(void)state;
	struct zip_archive z;
	struct cs_request r;
	char err[ERRLEN];
	make_zip(&z, "sysinfo", SYSINFO, "version", "4.8",
		 "mok_fingerprints", "ZZ:top\nAA:BB\naa:bb:cc\nmissing\n5d:5e", NULL);
	assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), 0);
	assert_true(r.mok_sent);
	ASSERT_STRINGS(r.mok, r.nmok, "aa:bb:cc", "missing", "5d:5e");
	ASSERT_STRINGS(r.notes, r.nnotes,
		       "Server: MOK fingerprint value 'ZZ:top' isn't in the correct format",
		       "Server: MOK fingerprint value 'AA:BB' isn't in the correct format");
	cs_request_free(&r);
	zip_archive_free(&z);

	/* sent but empty, or every line refused: still "sent" */
	make_zip(&z, "sysinfo", SYSINFO, "version", "4.8", "mok_fingerprints", "", NULL);
	assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), 0);
	assert_true(r.mok_sent);
	assert_int_equal(r.nmok, 0);
	cs_request_free(&r);
	zip_archive_free(&z);
	make_zip(&z, "sysinfo", SYSINFO, "version", "4.8", "mok_fingerprints", "nope\n", NULL);
	assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), 0);
	assert_true(r.mok_sent);
	assert_int_equal(r.nmok, 0);
	assert_int_equal(r.nnotes, 1);
	cs_request_free(&r);
	zip_archive_free(&z);
}

static void test_request_build_id(void **state)
{
	(void)state;
	static const struct { const char *text, *want; } cases[] = {
		{ "deadbeef00112233445566778899aabbccddee0f", "deadbeef00112233445566778899aabbccddee0f" },
		{ "deadbeef\n", "deadbeef" },
		{ "ab", "ab" },
		{ "a", NULL },
		{ "", NULL },
		{ "DEADBEEF", NULL },
		{ "deadbeeg", NULL },
		{ "dead beef", NULL },
		{ "deadbeef\n\n", NULL },
		{ "../../etc/passwd", NULL },
	};
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		struct zip_archive z;
		struct cs_request r;
		char err[ERRLEN];
		make_zip(&z, "sysinfo", SYSINFO, "kernel_build_id", cases[k].text, NULL);
		assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), 0);
		if (cases[k].want)
			assert_string_equal(r.kernel_build_id, cases[k].want);
		else
			assert_null(r.kernel_build_id);
		cs_request_free(&r);
		zip_archive_free(&z);
	}
	char hex[130];
	memset(hex, 'a', 129);
	hex[129] = 0;
	struct zip_archive z;
	struct cs_request r;
	char err[ERRLEN];
	make_zip(&z, "sysinfo", SYSINFO, "kernel_build_id", hex, NULL);
	assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), 0);
	assert_null(r.kernel_build_id);
	cs_request_free(&r);
	zip_archive_free(&z);
	hex[128] = 0;
	make_zip(&z, "sysinfo", SYSINFO, "kernel_build_id", hex, NULL);
	assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), 0);
	assert_string_equal(r.kernel_build_id, hex);
	cs_request_free(&r);
	zip_archive_free(&z);
}

static void set_locale_env(const char *lang, const char *lc_all, const char *lc_time)
{
	const char *all[] = { "LANG", "LC_ALL", "LC_COLLATE", "LC_CTYPE", "LC_MESSAGES",
			      "LC_MONETARY", "LC_NUMERIC", "LC_TIME" };
	for (size_t k = 0; k < 8; k++)
		unsetenv(all[k]);
	if (lang)
		setenv("LANG", lang, 1);
	if (lc_all)
		setenv("LC_ALL", lc_all, 1);
	if (lc_time)
		setenv("LC_TIME", lc_time, 1);
}

static const char *entry_text(const struct zip_archive *z, const char *name)
{
	const struct zip_entry *e = zip_find(z, name);
	if (!e)
		fail_msg("no entry '%s'", name);
	assert_false(e->is_dir);
	return (const char *)e->data;
}

static void test_request_build(void **state)
{
	(void)state;
	set_locale_env("C", "en_US.UTF-8", "bad value;rm");
	setenv("LANGUAGE", "de", 1);     /* not one SystemTap sends */
	char *argv[] = { "script/tmp/x.stp", "-r6.1.0-56-amd64", "-p2", "--", "foo", "bar baz" };
	struct cs_file files[] = { { "script/tmp/x.stp", SCRIPT, strlen(SCRIPT) } };
	char *mok[] = { "aa:bb:cc", "missing" };
	unsigned char *buf;
	size_t len;
	assert_int_equal(cs_request_build("6.1.0-56-amd64", "x86_64", "deadbeef", argv, 6, files, 1,
					  mok, 2, &buf, &len), 0);
	unsetenv("LANGUAGE");

	struct zip_archive z;
	char err[ERRLEN];
	assert_int_equal(zip_read_mem(buf, len, NULL, &z, err, sizeof err), 0);
	assert_string_equal(entry_text(&z, "version"), "4.8");
	assert_string_equal(entry_text(&z, "version"), CS_PROTOCOL_VERSION);
	assert_string_equal(entry_text(&z, "sysinfo"), "sysinfo: 6.1.0-56-amd64 x86_64");
	assert_string_equal(entry_text(&z, "locale"), "LANG=C\nLC_ALL=en_US.UTF-8\n");
	assert_string_equal(entry_text(&z, "argv1"), "script/tmp/x.stp");
	assert_string_equal(entry_text(&z, "argv6"), "bar baz");
	assert_null(zip_find(&z, "argv7"));
	assert_null(zip_find(&z, "argv0"));
	assert_string_equal(entry_text(&z, "script/tmp/x.stp"), SCRIPT);
	assert_string_equal(entry_text(&z, "kernel_build_id"), "deadbeef");
	assert_string_equal(entry_text(&z, "mok_fingerprints"), "aa:bb:cc\nmissing\n");
	assert_int_equal(z.n, 12);

	struct cs_request r;
	assert_int_equal(cs_request_parse(&z, &r, err, sizeof err), 0);
	assert_string_equal(r.client_version, "4.8");
	assert_string_equal(r.kernel_release, "6.1.0-56-amd64");
	assert_string_equal(r.arch, "x86_64");
	assert_string_equal(r.kernel_build_id, "deadbeef");
	ASSERT_STRINGS(r.argv, r.argc, "script/tmp/x.stp", "-r6.1.0-56-amd64", "-p2", "--", "foo",
		       "bar baz");
	ASSERT_STRINGS(r.locale, r.nlocale, "LANG=C", "LC_ALL=en_US.UTF-8");
	ASSERT_STRINGS(r.mok, r.nmok, "aa:bb:cc", "missing");
	assert_true(r.mok_sent);
	assert_int_equal(r.nnotes, 0);
	cs_request_free(&r);
	zip_archive_free(&z);
	free(buf);

	/* nothing set: an empty locale entry; no build-id or MOK entries */
	set_locale_env(NULL, NULL, NULL);
	assert_int_equal(cs_request_build("6.1.0-56-amd64", NULL, NULL, NULL, 0, NULL, 0, NULL, 0,
					  &buf, &len), 0);
	assert_int_equal(zip_read_mem(buf, len, NULL, &z, err, sizeof err), 0);
	assert_int_equal(zip_find(&z, "locale")->size, 0);
	assert_string_equal(entry_text(&z, "sysinfo"), "sysinfo: 6.1.0-56-amd64");
	assert_null(zip_find(&z, "kernel_build_id"));
	assert_null(zip_find(&z, "mok_fingerprints"));
	assert_null(zip_find(&z, "argv1"));
	assert_int_equal(z.n, 3);
	zip_archive_free(&z);
	free(buf);
}

static void test_request_build_refuses(void **state)
{
	(void)state;
	char *argv[] = { "-p2", NULL };
	struct cs_file bad_name[] = { { "../x.stp", "x", 1 } };
	struct cs_file clash[] = { { "version", "9.9", 3 } };
	struct cs_file twice[] = { { "script/a", "x", 1 }, { "script/a", "y", 1 } };
	char *bad_mok[] = { "AA:BB" };
	unsigned char *buf = (unsigned char *)"untouched";
	size_t len = 42;
	assert_int_equal(cs_request_build(NULL, "x86_64", NULL, argv, 1, NULL, 0, NULL, 0, &buf, &len), -1);
	assert_null(buf);
	assert_int_equal(len, 0);
	assert_int_equal(cs_request_build("6.1 0", NULL, NULL, argv, 1, NULL, 0, NULL, 0, &buf, &len), -1);
	assert_int_equal(cs_request_build("6.1", "x86 64", NULL, argv, 1, NULL, 0, NULL, 0, &buf, &len), -1);
	assert_int_equal(cs_request_build("6.1", NULL, "DEAD", argv, 1, NULL, 0, NULL, 0, &buf, &len), -1);
	assert_int_equal(cs_request_build("6.1", NULL, NULL, argv, 2, NULL, 0, NULL, 0, &buf, &len), -1);
	assert_int_equal(cs_request_build("6.1", NULL, NULL, argv, 1, bad_name, 1, NULL, 0, &buf, &len), -1);
	assert_int_equal(cs_request_build("6.1", NULL, NULL, argv, 1, clash, 1, NULL, 0, &buf, &len), -1);
	assert_int_equal(cs_request_build("6.1", NULL, NULL, argv, 1, twice, 2, NULL, 0, &buf, &len), -1);
	assert_int_equal(cs_request_build("6.1", NULL, NULL, argv, 1, NULL, 0, bad_mok, 1, &buf, &len), -1);
	assert_null(buf);
}

/* ---- responses ---- */

static void test_response(void **state)
{
	(void)state;
	struct zip_archive z;
	struct cs_response r;
	char err[ERRLEN];
	make_zip(&z, "version", "4.8", "rc", "0", "stdout", "stap_abc_1.ko\n", "stderr", "",
		 "stap000000/", "", "stap000000/stap_abc_1.ko", "ELF...",
		 "stap000000/stap_abc_1.ko.sgn", "signature", "stap000000/.hidden.ko", "x",
		 "stap000000/uprobes/uprobes.ko", "u", "stap000000/stap_abc_1.c", "c code",
		 "signing_key.x509", "DER", NULL);
	assert_int_equal(cs_response_parse(&z, &r, err, sizeof err), 0);
	assert_string_equal(r.server_version, "4.8");
	assert_true(r.has_rc);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "stap_abc_1.ko\n");
	assert_int_equal(r.outlen, 14);
	assert_string_equal(r.err, "");
	assert_int_equal(r.errlen, 0);
	assert_non_null(r.module);
	assert_string_equal(r.module->name, "stap000000/stap_abc_1.ko");
	assert_non_null(r.signature);
	assert_string_equal(r.signature->name, "stap000000/stap_abc_1.ko.sgn");
	assert_non_null(r.mok_cert);
	assert_memory_equal(r.mok_cert->data, "DER", 3);
	cs_response_free(&r);
	cs_response_free(&r);
	zip_archive_free(&z);

	/* an unsupported kernel: only the version; an old server: none */
	make_zip(&z, "version", "4.8", NULL);
	assert_int_equal(cs_response_parse(&z, &r, err, sizeof err), 0);
	assert_false(r.has_rc);
	assert_null(r.module);
	assert_null(r.signature);
	assert_null(r.mok_cert);
	assert_string_equal(r.out, "");
	cs_response_free(&r);
	zip_archive_free(&z);
	make_zip(&z, "rc", "1", "stderr", "ERROR: x\n", NULL);
	assert_int_equal(cs_response_parse(&z, &r, err, sizeof err), 0);
	assert_string_equal(r.server_version, "1.0");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "ERROR: x\n");
	cs_response_free(&r);
	zip_archive_free(&z);
	make_zip(&z, "version", "four point eight", "rc", "0", NULL);
	assert_int_equal(cs_response_parse(&z, &r, err, sizeof err), 0);
	assert_string_equal(r.server_version, "1.0");
	cs_response_free(&r);
	zip_archive_free(&z);

	/* a module without its directory entry, no signature */
	make_zip(&z, "rc", "0", "stap123abc/m.ko", "ELF", "stap0000000/x.ko", "not the dir", NULL);
	assert_int_equal(cs_response_parse(&z, &r, err, sizeof err), 0);
	assert_string_equal(r.module->name, "stap123abc/m.ko");
	assert_null(r.signature);
	cs_response_free(&r);
	zip_archive_free(&z);
}

static void test_response_malformed(void **state)
{
	(void)state;
	struct zip_archive z;
	struct cs_response r;
	char err[ERRLEN];
	make_zip(&z, "rc", "0", "stap000000/", "", "stap111111/", "", NULL);
	assert_int_equal(cs_response_parse(&z, &r, err, sizeof err), -1);
	assert_string_equal(err, "Incorrect number of files in server response");
	assert_null(r.server_version);
	zip_archive_free(&z);
	make_zip(&z, "rc", "0", "stap000000/a.ko", "1", "stapxxxxxx", "a file matches too", NULL);
	assert_int_equal(cs_response_parse(&z, &r, err, sizeof err), -1);
	assert_string_equal(err, "Incorrect number of files in server response");
	zip_archive_free(&z);
	make_zip(&z, "rc", "0", "stap000000/a.ko", "1", "stap000000/b.ko", "2", NULL);
	assert_int_equal(cs_response_parse(&z, &r, err, sizeof err), -1);
	assert_string_equal(err, "Incorrect number of modules in server response");
	zip_archive_free(&z);

	static const char *const bad_rc[] = { "abc", "", "0x1", "1 2", "99999999999", "1.5", "--1" };
	for (size_t k = 0; k < sizeof bad_rc / sizeof *bad_rc; k++) {
		make_zip(&z, "version", "4.8", "rc", bad_rc[k], NULL);
		assert_int_equal(cs_response_parse(&z, &r, err, sizeof err), -1);
		assert_non_null(strstr(err, "the server's rc is not an integer: '"));
		assert_null(r.out);
		zip_archive_free(&z);
	}
	static const struct { const char *text; int rc; } good_rc[] = {
		{ "0", 0 }, { "1\n", 1 }, { " -3 ", -3 }, { "+7", 7 }, { "2147483647", 2147483647 },
	};
	for (size_t k = 0; k < sizeof good_rc / sizeof *good_rc; k++) {
		make_zip(&z, "rc", good_rc[k].text, NULL);
		assert_int_equal(cs_response_parse(&z, &r, err, sizeof err), 0);
		assert_true(r.has_rc);
		assert_int_equal(r.rc, good_rc[k].rc);
		cs_response_free(&r);
		zip_archive_free(&z);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_compare),
		cmocka_unit_test(test_version_from_file),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_request_48),
		cmocka_unit_test(test_request_infozip),
		cmocka_unit_test(test_request_argv),
		cmocka_unit_test(test_request_sysinfo),
		cmocka_unit_test(test_request_locale),
		cmocka_unit_test(test_request_mok),
		cmocka_unit_test(test_request_build_id),
		cmocka_unit_test(test_request_build),
		cmocka_unit_test(test_request_build_refuses),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_response_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
