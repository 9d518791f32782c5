/* common/zip.c: archives we write read back and pass Info-ZIP's unzip;
 * archives Info-ZIP's zip writes read fine; every hostile archive is
 * refused with a message that says why; extraction never leaves its
 * directory.
 *
 * Hostile archives are assembled here byte by byte (raw_zip), so that
 * names, types, sizes and CRCs can say whatever a peer might make them
 * say, or written with libarchive's own writer where it can express the
 * trick (symlinks, "hard links"). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "util.h"
#include "zip.h"

enum { ERRLEN = 512, MIB = 1 << 20 };

/* ---- fixtures ---- */

static char *make_temp_dir(void)
{
	char tmpl[] = "/tmp/stap-unit-zip-XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	return xstrdup(dir);
}

static void remove_tree(char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(dir);
}

static void write_at(const char *dir, const char *name, const void *data, size_t len)
{
	char *path = xasprintf("%s/%s", dir, name);
	char *slash = strrchr(path, '/');
	*slash = 0;
	char *mk = xasprintf("mkdir -p '%s'", path);
	assert_int_equal(system(mk), 0);
	*slash = '/';
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(mk);
	free(path);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	char *s = read_file_bounded(path, 256 * MIB, len);
	assert_non_null(s);
	return (unsigned char *)s;
}

static bool have_program(const char *name)
{
	char *cmd = xasprintf("command -v %s >/dev/null 2>&1", name);
	bool ok = system(cmd) == 0;
	free(cmd);
	return ok;
}

/* ---- archives assembled by hand ---- */

struct bytes { unsigned char *p; size_t n; };

static void put(struct bytes *b, const void *data, size_t n)
{
	b->p = xrealloc(b->p, b->n + n + 1);
	if (n)
		memcpy(b->p + b->n, data, n);
	b->n += n;
}

static void put16(struct bytes *b, unsigned v)
{
	unsigned char c[2] = { v & 0xff, (v >> 8) & 0xff };
	put(b, c, 2);
}

static void put32(struct bytes *b, uint32_t v)
{
	put16(b, v & 0xffff);
	put16(b, v >> 16);
}

/* One entry as it is stored.  usize and crc are what the headers claim. */
struct raw {
	const char *name;
	const void *data;     /* bytes as stored (compressed when method 8) */
	size_t len;
	unsigned method;      /* 0 stored, 8 deflated */
	uint32_t crc;
	size_t usize;
	unsigned mode;        /* Unix st_mode with type bits; 0: made by DOS */
	const char *local_name;   /* name in the local header when not `name` */
};

static struct raw stored(const char *name, const char *text, unsigned mode)
{
	size_t len = strlen(text);
	return (struct raw){ name, text, len, 0, crc32(0, (const Bytef *)text, (uInt)len), len, mode, NULL };
}

/* Raw deflate of data; the caller frees r.data. */
static struct raw deflated(const char *name, const void *data, size_t len, unsigned mode)
{
	z_stream zs = { 0 };
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	size_t cap = deflateBound(&zs, len);
	unsigned char *out = xmalloc(cap);
	zs.next_in = (Bytef *)data;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	size_t clen = zs.total_out;
	deflateEnd(&zs);
	uint32_t crc = crc32(0, data, (uInt)len);
	return (struct raw){ name, out, clen, 8, crc, len, mode, NULL };
}

/* A complete archive of the entries; `count` overrides the entry count
 * of the end record when not (size_t)-1. */
static unsigned char *raw_zip_count(const struct raw *r, size_t n, size_t count, size_t *len)
{
	struct bytes out = { 0 }, cd = { 0 };
	for (size_t k = 0; k < n; k++) {
		uint32_t offset = (uint32_t)out.n;
		const char *lname = r[k].local_name ? r[k].local_name : r[k].name;
		size_t nlen = strlen(r[k].name), lnlen = strlen(lname);
		put32(&out, 0x04034b50);
		put16(&out, 20);
		put16(&out, 0);
		put16(&out, r[k].method);
		put16(&out, 0);
		put16(&out, 0x21);                  /* 1980-01-01 */
		put32(&out, r[k].crc);
		put32(&out, (uint32_t)r[k].len);
		put32(&out, (uint32_t)r[k].usize);
		put16(&out, (unsigned)lnlen);
		put16(&out, 0);
		put(&out, lname, lnlen);
		put(&out, r[k].data, r[k].len);

		put32(&cd, 0x02014b50);
		put16(&cd, r[k].mode ? 0x031e : 0x0014);   /* Unix 3.0 / DOS 2.0 */
		put16(&cd, 20);
		put16(&cd, 0);
		put16(&cd, r[k].method);
		put16(&cd, 0);
		put16(&cd, 0x21);
		put32(&cd, r[k].crc);
		put32(&cd, (uint32_t)r[k].len);
		put32(&cd, (uint32_t)r[k].usize);
		put16(&cd, (unsigned)nlen);
		put16(&cd, 0);
		put16(&cd, 0);
		put16(&cd, 0);
		put16(&cd, 0);
		put32(&cd, (uint32_t)r[k].mode << 16);
		put32(&cd, offset);
		put(&cd, r[k].name, nlen);
	}
	uint32_t cd_off = (uint32_t)out.n;
	put(&out, cd.p, cd.n);
	if (count == (size_t)-1)
		count = n;
	put32(&out, 0x06054b50);
	put16(&out, 0);
	put16(&out, 0);
	put16(&out, (unsigned)count);
	put16(&out, (unsigned)count);
	put32(&out, (uint32_t)cd.n);
	put32(&out, cd_off);
	put16(&out, 0);
	free(cd.p);
	*len = out.n;
	return out.p;
}

static unsigned char *raw_zip(const struct raw *r, size_t n, size_t *len)
{
	return raw_zip_count(r, n, (size_t)-1, len);
}

/* ---- archives written by libarchive directly ---- */

struct la_out { unsigned char *p; size_t n, cap; };

static la_ssize_t la_append(struct archive *a, void *client, const void *data, size_t n)
{
	(void)a;
	struct la_out *o = client;
	if (o->n + n > o->cap) {
		o->cap = (o->n + n) * 2;
		o->p = xrealloc(o->p, o->cap);
	}
	memcpy(o->p + o->n, data, n);
	o->n += n;
	return (la_ssize_t)n;
}

static struct archive *la_open(struct la_out *o)
{
	struct archive *a = archive_write_new();
	assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_set_bytes_per_block(a, 0), ARCHIVE_OK);
	assert_int_equal(archive_write_open(a, o, NULL, la_append, NULL), ARCHIVE_OK);
	return a;
}

/* An entry of `size` zero bytes, written 1 MiB at a time. */
static void la_zeros(struct archive *a, const char *name, size_t size)
{
	static unsigned char zeros[MIB];
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)size);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	for (size_t done = 0; done < size;) {
		size_t n = size - done < MIB ? size - done : MIB;
		assert_int_equal(archive_write_data(a, zeros, n), (la_ssize_t)n);
		done += n;
	}
	archive_entry_free(e);
}

static unsigned char *la_close(struct archive *a, struct la_out *o, size_t *len)
{
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	*len = o->n;
	return o->p;
}

/* ---- checks ---- */

/* The archive is refused, with a message containing `why`, and nothing
 * is left in the output. */
static void expect_refused(const void *buf, size_t len, const struct zip_limits *lim,
			   const char *why)
{
	struct zip_archive z;
	char err[ERRLEN];
	int rc = zip_read_mem(buf, len, lim, &z, err, sizeof err);
	if (getenv("TEST_ZIP_VERBOSE"))
		fprintf(stderr, "refused: %s\n", rc ? err : "(accepted)");
	if (rc == 0 || !strstr(err, why))
		fail_msg("expected a refusal containing \"%s\"; got rc %d, \"%s\"", why, rc,
			 rc ? err : "");
	assert_null(z.e);
	assert_int_equal(z.n, 0);
	assert_null(strchr(err, '\n'));
}

static void expect_raw_refused(const struct raw *r, size_t n, const char *why)
{
	size_t len;
	unsigned char *zip = raw_zip(r, n, &len);
	expect_refused(zip, len, NULL, why);
	free(zip);
}

static const char SCRIPT[] =
	"#! /usr/bin/env stap\n"
	"probe begin { printf(\"hello world\\n\"); exit() }\n"
	"probe end { printf(\"bye, world\\n\") }\n"
	"probe begin { printf(\"hello world\\n\"); exit() }\n";
static const unsigned char BINARY[] = { 0, 1, 2, 0, 0xff, 'P', 'K', 5, 6, 0 };

/* An archive of every kind of entry we write. */
static unsigned char *sample_zip(size_t *len)
{
	struct zip_writer *w = zip_writer_new();
	assert_non_null(w);
	assert_int_equal(zip_writer_add(w, "version", "4.8", 3, 0), 0);
	assert_int_equal(zip_writer_add_dir(w, "script"), 0);
	assert_int_equal(zip_writer_add_dir(w, "script/tmp/"), 0);
	assert_int_equal(zip_writer_add(w, "script/tmp/x.stp", SCRIPT, strlen(SCRIPT), 0755), 0);
	assert_int_equal(zip_writer_add(w, "locale", "", 0, 0644), 0);
	assert_int_equal(zip_writer_add(w, "bin", BINARY, sizeof BINARY, 0600), 0);
	unsigned char *buf;
	assert_int_equal(zip_writer_finish(w, &buf, len), 0);
	return buf;
}

static void check_sample(const struct zip_archive *z)
{
	assert_int_equal(z->n, 6);
	const char *names[] = { "version", "script", "script/tmp", "script/tmp/x.stp", "locale", "bin" };
	for (size_t k = 0; k < 6; k++)
		assert_string_equal(z->e[k].name, names[k]);
	const struct zip_entry *e = zip_find(z, "script/tmp/x.stp");
	assert_non_null(e);
	assert_false(e->is_dir);
	assert_int_equal(e->size, strlen(SCRIPT));
	assert_memory_equal(e->data, SCRIPT, e->size);
	assert_int_equal(e->data[e->size], 0);
	assert_int_equal(e->mode, 0755);
	e = zip_find(z, "script/tmp");
	assert_non_null(e);
	assert_true(e->is_dir);
	assert_null(e->data);
	e = zip_find(z, "locale");
	assert_int_equal(e->size, 0);
	assert_non_null(e->data);
	assert_int_equal(e->data[0], 0);
	e = zip_find(z, "bin");
	assert_int_equal(e->size, sizeof BINARY);
	assert_memory_equal(e->data, BINARY, sizeof BINARY);
	assert_int_equal(e->mode, 0600);
	assert_string_equal((const char *)zip_find(z, "version")->data, "4.8");
	assert_null(zip_find(z, "script/tmp/"));
	assert_null(zip_find(z, "nope"));
}

/* ---- tests ---- */

static void test_names(void **state)
{
	(void)state;
	const char *good[] = { "a", "argv1", "script/tmp/x.stp", "a/.hidden", "a/..b", "...", "script/-" };
	const char *bad[] = { "", "/abs", "../x", "a/../../b", "a//b", "./a", "a/.", "a/..",
			      "a\\b", "..\\x", "a/", ".", ".." };
	for (size_t k = 0; k < sizeof good / sizeof *good; k++)
		assert_true(zip_name_ok(good[k]));
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
		if (zip_name_ok(bad[k]))
			fail_msg("zip_name_ok accepted \"%s\"", bad[k]);
	assert_false(zip_name_ok(NULL));
	char *longname = xmalloc(4098);
	memset(longname, 'a', 4097);
	longname[4097] = 0;
	assert_false(zip_name_ok(longname));
	longname[4096] = 0;
	assert_true(zip_name_ok(longname));
	free(longname);
}

static void test_round_trip(void **state)
{
	(void)state;
	size_t len;
	unsigned char *buf = sample_zip(&len);
	struct zip_archive z;
	char err[ERRLEN];
	assert_int_equal(zip_read_mem(buf, len, NULL, &z, err, sizeof err), 0);
	check_sample(&z);
	zip_archive_free(&z);
	assert_null(z.e);
	zip_archive_free(&z);   /* twice is harmless */
	free(buf);
}

static void test_writer_refuses(void **state)
{
	(void)state;
	struct zip_writer *w = zip_writer_new();
	assert_non_null(w);
	const char *bad[] = { "../x", "/abs", "a//b", "./a", "a\\b", "", "a/" };
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
		assert_int_equal(zip_writer_add(w, bad[k], "x", 1, 0644), -1);
	assert_int_equal(zip_writer_add_dir(w, "a/../b"), -1);
	assert_int_equal(zip_writer_add_dir(w, "/"), -1);
	assert_int_equal(zip_writer_add(w, "a", "x", 1, 0644), 0);
	assert_int_equal(zip_writer_add(w, "a", "y", 1, 0644), -1);    /* twice */
	assert_int_equal(zip_writer_add_dir(w, "a"), -1);              /* file and dir */
	assert_int_equal(zip_writer_add_dir(w, "d"), 0);
	assert_int_equal(zip_writer_add(w, "d", "y", 1, 0644), -1);
	/* refusals do not spoil the archive */
	unsigned char *buf;
	size_t len;
	assert_int_equal(zip_writer_finish(w, &buf, &len), 0);
	struct zip_archive z;
	char err[ERRLEN];
	assert_int_equal(zip_read_mem(buf, len, NULL, &z, err, sizeof err), 0);
	assert_int_equal(z.n, 2);
	zip_archive_free(&z);
	free(buf);
	zip_writer_abort(NULL);
	w = zip_writer_new();
	assert_int_equal(zip_writer_add(w, "x", "data", 4, 0), 0);
	zip_writer_abort(w);    /* no leak: ASan runs check */
}

/* What we write stays small: 76 bytes of headers per entry and the name
 * twice (Info-ZIP: about 110; libarchive alone: 132). */
static void test_writer_small(void **state)
{
	(void)state;
	struct zip_writer *w = zip_writer_new();
	char name[16];
	size_t payload = 0;
	for (int k = 1; k <= 20; k++) {
		snprintf(name, sizeof name, "argv%d", k);
		assert_int_equal(zip_writer_add(w, name, "-p4", 3, 0), 0);
		payload += 3 + 2 * strlen(name);
	}
	unsigned char *buf;
	size_t len;
	assert_int_equal(zip_writer_finish(w, &buf, &len), 0);
	if (getenv("TEST_ZIP_VERBOSE"))
		fprintf(stderr, "%zu bytes for 20 entries (%zu of headers each)\n", len,
			(len - payload) / 20);
	if ((len - payload) / 20 > 80)
		fail_msg("%zu bytes of headers per entry", (len - payload) / 20);
	free(buf);
}

static void test_unzip_accepts_ours(void **state)
{
	(void)state;
	if (!have_program("unzip"))
		skip();
	size_t len;
	unsigned char *buf = sample_zip(&len);
	char *dir = make_temp_dir();
	write_at(dir, "ours.zip", buf, len);
	char *cmd = xasprintf("cd '%s' && unzip -tq ours.zip >/dev/null 2>&1", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	cmd = xasprintf("cd '%s' && unzip -q ours.zip -d out && cmp -s out/bin bin.ref &&"
			" cmp -s out/script/tmp/x.stp script.ref && test -d out/script/tmp", dir);
	write_at(dir, "script.ref", SCRIPT, strlen(SCRIPT));
	write_at(dir, "bin.ref", BINARY, sizeof BINARY);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(buf);
	remove_tree(dir);
}

/* Archives made by Info-ZIP as SystemTap's client and server make them. */
static void test_infozip_request(void **state)
{
	(void)state;
	if (!have_program("zip"))
		skip();
	char *dir = make_temp_dir();
	write_at(dir, "client/version", "4.8", 3);
	write_at(dir, "client/sysinfo", "sysinfo: 6.1.0-56-amd64 x86_64", 30);
	write_at(dir, "client/locale", "LANG=C\nLC_ALL=C.UTF-8\n", 22);
	write_at(dir, "client/argv1", "script/tmp/x.stp", 16);
	write_at(dir, "client/argv2", "-p2", 3);
	write_at(dir, "client/script/tmp/x.stp", SCRIPT, strlen(SCRIPT));
	write_at(dir, "client/tapset/usr/share/mytap/a.stp", "function f() { return 1 }\n", 26);
	char *big = xmalloc(100000);
	for (size_t k = 0; k < 100000; k++)
		big[k] = (char)('a' + (k * 7 + k / 13) % 26);
	write_at(dir, "client/tapset/usr/share/mytap/big.stp", big, 100000);
	char *cmd = xasprintf("cd '%s/client' && zip -qr ../client.zip *", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);

	char *path = xasprintf("%s/client.zip", dir);
	size_t len;
	unsigned char *buf = slurp(path, &len);
	struct zip_archive z;
	char err[ERRLEN];
	if (zip_read_mem(buf, len, NULL, &z, err, sizeof err))
		fail_msg("Info-ZIP request refused: %s", err);
	const char *dirs[] = { "script", "script/tmp", "tapset", "tapset/usr", "tapset/usr/share",
			       "tapset/usr/share/mytap" };
	for (size_t k = 0; k < sizeof dirs / sizeof *dirs; k++) {
		const struct zip_entry *e = zip_find(&z, dirs[k]);
		assert_non_null(e);
		assert_true(e->is_dir);
	}
	assert_int_equal(z.n, 6 + 8);
	const struct zip_entry *e = zip_find(&z, "script/tmp/x.stp");
	assert_non_null(e);
	assert_memory_equal(e->data, SCRIPT, strlen(SCRIPT));
	e = zip_find(&z, "tapset/usr/share/mytap/big.stp");
	assert_int_equal(e->size, 100000);
	assert_memory_equal(e->data, big, 100000);
	assert_string_equal((const char *)zip_find(&z, "argv2")->data, "-p2");
	assert_string_equal((const char *)zip_find(&z, "locale")->data, "LANG=C\nLC_ALL=C.UTF-8\n");
	zip_archive_free(&z);
	free(buf);

	/* the server's way: zip -r ../response.zip . from inside the directory */
	write_at(dir, "response/version", "4.8", 3);
	write_at(dir, "response/rc", "0", 1);
	write_at(dir, "response/stap000000/stap_1234.ko", big, 5000);
	write_at(dir, "response/stap000000/.hidden", "x", 1);
	cmd = xasprintf("cd '%s/response' && zip -qr ../response.zip .", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(path);
	path = xasprintf("%s/response.zip", dir);
	buf = slurp(path, &len);
	if (zip_read_mem(buf, len, NULL, &z, err, sizeof err))
		fail_msg("Info-ZIP response refused: %s", err);
	assert_non_null(zip_find(&z, "stap000000"));
	assert_non_null(zip_find(&z, "stap000000/.hidden"));
	assert_int_equal(zip_find(&z, "stap000000/stap_1234.ko")->size, 5000);
	zip_archive_free(&z);
	free(buf);

	/* zip -y stores a symlink as a symlink */
	cmd = xasprintf("cd '%s' && ln -s /etc/hostname client/argv3 && "
			"cd client && zip -qry ../sym.zip argv1 argv3", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(path);
	path = xasprintf("%s/sym.zip", dir);
	buf = slurp(path, &len);
	expect_refused(buf, len, NULL, "entry 'argv3': symbolic links are not accepted");
	free(buf);
	free(path);
	free(big);
	remove_tree(dir);
}

static void test_bad_names(void **state)
{
	(void)state;
	static const struct { const char *name, *why; } cases[] = {
		{ "../x", "entry '../x' refused: '..' component" },
		{ "a/../../b", "entry 'a/../../b' refused: '..' component" },
		{ "/abs", "entry '/abs' refused: absolute name" },
		{ "a//b", "entry 'a//b' refused: empty component" },
		{ "./a", "entry './a' refused: '.' component" },
		{ "a\\b", "entry 'a\\b' refused: backslash in name" },
		{ "..\\..\\x", "backslash in name" },
		{ "a/./b", "'.' component" },
	};
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		struct raw r[2] = { stored("ok", "fine", 0100644), stored(cases[k].name, "x", 0100644) };
		expect_raw_refused(r, 2, cases[k].why);
	}
	/* a directory entry is checked too ("../" is a directory named "..") */
	struct raw d = stored("a/../", "", 040755);
	expect_raw_refused(&d, 1, "'..' component");
	/* the local header names something else than the central directory */
	struct raw two_faced = stored("fine", "x", 0100644);
	two_faced.local_name = "../evil";
	expect_raw_refused(&two_faced, 1, "'..' component");
	two_faced.local_name = "fin\\";
	expect_raw_refused(&two_faced, 1, "is named differently in the central directory");
	/* control characters are not echoed */
	struct raw nl = stored("../evil\nname", "", 0100644);
	expect_raw_refused(&nl, 1, "entry '../evil?name' refused");
}

static void test_special_entries(void **state)
{
	(void)state;
	static const struct { unsigned mode; const char *why; } cases[] = {
		{ 0120777, "entry 'e': symbolic links are not accepted" },
		{ 0020644, "entry 'e': character devices are not accepted" },
		{ 0060644, "entry 'e': block devices are not accepted" },
		{ 0010644, "entry 'e': fifos are not accepted" },
		{ 0140644, "entry 'e': sockets are not accepted" },
	};
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		struct raw r = stored("e", "/etc/passwd", cases[k].mode);
		expect_raw_refused(&r, 1, cases[k].why);
	}

	/* a symlink as libarchive writes it */
	struct la_out o = { 0 };
	struct archive *a = la_open(&o);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "argv2");
	archive_entry_set_filetype(e, AE_IFLNK);
	archive_entry_set_symlink(e, "/etc/hostname");
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	archive_entry_free(e);
	size_t len;
	unsigned char *buf = la_close(a, &o, &len);
	expect_refused(buf, len, NULL, "entry 'argv2': symbolic links are not accepted");
	free(buf);

	/* Zip has no hard links: libarchive writes one as an empty file with
	 * no permissions, which reads back as just that, linked to nothing. */
	o = (struct la_out){ 0 };
	a = la_open(&o);
	la_zeros(a, "target", 0);
	e = archive_entry_new();
	archive_entry_set_pathname(e, "link");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_hardlink(e, "target");
	archive_entry_set_size(e, 0);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	archive_entry_free(e);
	buf = la_close(a, &o, &len);
	struct zip_archive z;
	char err[ERRLEN];
	assert_int_equal(zip_read_mem(buf, len, NULL, &z, err, sizeof err), 0);
	assert_int_equal(z.n, 2);
	assert_false(z.e[1].is_dir);
	assert_int_equal(z.e[1].size, 0);
	zip_archive_free(&z);
	free(buf);
}

static void test_duplicates(void **state)
{
	(void)state;
	struct raw two[] = { stored("a", "1", 0100644), stored("a", "2", 0100644) };
	expect_raw_refused(two, 2, "duplicate entry 'a'");
	struct raw mixed[] = { stored("a", "1", 0100644), stored("a/", "", 040755) };
	expect_raw_refused(mixed, 2, "entry 'a' appears both as a file and as a directory");
	struct raw dirs[] = { stored("d/", "", 040755), stored("d/", "", 040755) };
	expect_raw_refused(dirs, 2, "duplicate entry 'd'");
	struct raw below[] = { stored("x/y/z", "1", 0100644), stored("x/y", "2", 0100644) };
	expect_raw_refused(below, 2, "entry 'x/y/z' lies below the file 'x/y'");
	/* a directory entry after files inside it is fine */
	size_t len;
	struct raw ok[] = { stored("x/y", "1", 0100644), stored("x/", "", 040755) };
	unsigned char *buf = raw_zip(ok, 2, &len);
	struct zip_archive z;
	char err[ERRLEN];
	assert_int_equal(zip_read_mem(buf, len, NULL, &z, err, sizeof err), 0);
	assert_true(zip_find(&z, "x")->is_dir);
	zip_archive_free(&z);
	free(buf);
}

/* Permission bits come from the central directory; none from DOS. */
static void test_modes(void **state)
{
	(void)state;
	struct raw r[] = { stored("dos", "x", 0), stored("unix", "y", 0100640),
			   stored("dir/", "", 040710), stored("setuid", "z", 0104755) };
	size_t len;
	unsigned char *buf = raw_zip(r, 4, &len);
	struct zip_archive z;
	char err[ERRLEN];
	assert_int_equal(zip_read_mem(buf, len, NULL, &z, err, sizeof err), 0);
	assert_int_equal(zip_find(&z, "dos")->mode, 0);
	assert_int_equal(zip_find(&z, "unix")->mode, 0640);
	assert_int_equal(zip_find(&z, "dir")->mode, 0710);
	assert_true(zip_find(&z, "dir")->is_dir);
	assert_int_equal(zip_find(&z, "setuid")->mode, 0755);
	zip_archive_free(&z);
	free(buf);
}

static void test_entry_count(void **state)
{
	(void)state;
	enum { N = 1001 };
	struct raw *r = xcalloc(N, sizeof *r);
	char (*names)[16] = xcalloc(N, 16);
	for (size_t k = 0; k < N; k++) {
		snprintf(names[k], 16, "f%zu", k);
		r[k] = stored(names[k], "x", 0100644);
	}
	size_t len;
	unsigned char *buf = raw_zip(r, N, &len);
	expect_refused(buf, len, NULL, "too many entries in the archive (1001; the limit is 1000)");
	free(buf);
	/* the same, with an end record that understates the count */
	buf = raw_zip_count(r, N, 10, &len);
	expect_refused(buf, len, NULL, "damaged zip archive: its central directory holds more than "
		       "the 10 entries its end record lists");
	free(buf);
	/* 1000 is fine */
	buf = raw_zip(r, N - 1, &len);
	struct zip_archive z;
	char err[ERRLEN];
	assert_int_equal(zip_read_mem(buf, len, NULL, &z, err, sizeof err), 0);
	assert_int_equal(z.n, 1000);
	zip_archive_free(&z);
	free(buf);
	/* an end record that overstates it */
	buf = raw_zip_count(r, 3, 4, &len);
	expect_refused(buf, len, NULL, "damaged zip archive: central directory entry 4 is cut short");
	free(buf);
	buf = raw_zip_count(r, 3, 2, &len);
	expect_refused(buf, len, NULL, "damaged zip archive: its central directory holds more than "
		       "the 2 entries its end record lists");
	free(buf);
	free(names);
	free(r);
}

static void test_big_entry(void **state)
{
	(void)state;
	struct la_out o = { 0 };
	struct archive *a = la_open(&o);
	la_zeros(a, "big", 17 * MIB);
	size_t len;
	unsigned char *buf = la_close(a, &o, &len);
	expect_refused(buf, len, NULL, "entry 'big' is too large (17825792 bytes; the limit is 16777216)");
	free(buf);

	/* many entries under the per-file limit, over the total */
	o = (struct la_out){ 0 };
	a = la_open(&o);
	for (int k = 0; k < 5; k++) {
		char name[8];
		snprintf(name, sizeof name, "f%d", k);
		la_zeros(a, name, 15 * MIB);
	}
	buf = la_close(a, &o, &len);
	struct zip_limits loose = { 1000, 64 * MIB, 16 * MIB };
	expect_refused(buf, len, &loose, "archive too large (over 67108864 bytes uncompressed)");
	free(buf);
}

static void test_zip_bomb(void **state)
{
	(void)state;
	struct la_out o = { 0 };
	struct archive *a = la_open(&o);
	la_zeros(a, "bomb", 60 * MIB);
	size_t len;
	unsigned char *buf = la_close(a, &o, &len);
	/* refused by the size limit ... */
	expect_refused(buf, len, NULL, "entry 'bomb' is too large");
	/* ... and by its ratio when the limits would let it through */
	struct zip_limits huge = { 1000, 1u << 30, 1u << 30 };
	expect_refused(buf, len, &huge, "compression ratio over 1000:1");
	expect_refused(buf, len, &huge, "refusing a zip bomb");
	free(buf);

	/* a compressible but ordinary file is fine */
	char *text = xmalloc(2 * MIB);
	for (size_t k = 0; k < 2 * MIB; k++)
		text[k] = "probe begin { exit() }\n"[k % 23];
	struct zip_writer *w = zip_writer_new();
	assert_int_equal(zip_writer_add(w, "t.stp", text, 2 * MIB, 0), 0);
	assert_int_equal(zip_writer_finish(w, &buf, &len), 0);
	struct zip_archive z;
	char err[ERRLEN];
	if (zip_read_mem(buf, len, NULL, &z, err, sizeof err))
		fail_msg("%s", err);
	assert_memory_equal(z.e[0].data, text, 2 * MIB);
	zip_archive_free(&z);
	free(buf);
	free(text);
}

/* Headers that lie about sizes: the bytes actually inflated count. */
static void test_lying_sizes(void **state)
{
	(void)state;
	/* says 10 bytes, inflates to 20 MiB of text */
	size_t n = 20 * MIB;
	char *text = xmalloc(n);
	for (size_t k = 0; k < n; k++)
		text[k] = (char)('a' + (k * 31 + k / 97) % 26);
	struct raw r = deflated("liar", text, n, 0100644);
	r.usize = 10;
	size_t len;
	unsigned char *buf = raw_zip(&r, 1, &len);
	expect_refused(buf, len, NULL, "entry 'liar' is too large (over 16777216 bytes)");
	/* with room for it, the size check after inflating catches it */
	struct zip_limits huge = { 1000, 1u << 30, 1u << 30 };
	expect_refused(buf, len, &huge, "damaged zip archive: entry 'liar': ");
	expect_refused(buf, len, &huge, "(read 20971520, expected 10)");
	free(buf);
	free((void *)r.data);

	/* says 10, holds 100 */
	r = deflated("small", text, 100, 0100644);
	r.usize = 10;
	buf = raw_zip(&r, 1, &len);
	expect_refused(buf, len, NULL, "damaged zip archive: entry 'small': ");
	free(buf);
	free((void *)r.data);

	/* says 1000, holds 100 */
	r = deflated("short", text, 100, 0100644);
	r.usize = 1000;
	buf = raw_zip(&r, 1, &len);
	expect_refused(buf, len, NULL, "damaged zip archive: entry 'short': ");
	free(buf);
	free((void *)r.data);

	/* wrong CRC */
	r = stored("crc", "some data", 0100644);
	r.crc ^= 1;
	buf = raw_zip(&r, 1, &len);
	expect_refused(buf, len, NULL, "damaged zip archive");
	free(buf);
	free(text);
}

static void test_truncated(void **state)
{
	(void)state;
	size_t len;
	unsigned char *buf = sample_zip(&len);
	for (size_t cut = 0; cut < len; cut += 7) {
		unsigned char *part = xmalloc(cut + 1);   /* exact size: ASan sees overreads */
		memcpy(part, buf, cut);
		struct zip_archive z;
		char err[ERRLEN] = "";
		if (zip_read_mem(part, cut, NULL, &z, err, sizeof err) == 0)
			fail_msg("archive cut to %zu of %zu bytes was accepted", cut, len);
		assert_true(err[0] != 0);
		assert_null(z.e);
		free(part);
	}
	free(buf);
}

static void test_garbage(void **state)
{
	(void)state;
	expect_refused("", 0, NULL, "not a zip archive (empty input)");
	expect_refused(NULL, 0, NULL, "empty input");
	expect_refused("PK\3\4", 4, NULL, "not a zip archive");
	expect_refused("hello, this is not a zip archive at all", 39, NULL,
		       "no end-of-central-directory record");
	srand(12345);
	for (int round = 0; round < 300; round++) {
		size_t len = (size_t)(rand() % 2000) + 1;
		unsigned char *buf = xmalloc(len + 22);
		for (size_t k = 0; k < len; k++)
			buf[k] = (unsigned char)rand();
		if (round % 2) {
			/* an end record pointing into the garbage, so libarchive parses it */
			static const unsigned char eocd[22] = { 'P', 'K', 5, 6, 0, 0, 0, 0, 1, 0, 1, 0,
								46, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
			memcpy(buf + len, eocd, 22);
			if (len >= 46)
				memcpy(buf + len - 46, "PK\1\2", 4);
			len += 22;
		}
		struct zip_archive z;
		char err[ERRLEN] = "";
		if (zip_read_mem(buf, len, NULL, &z, err, sizeof err) == 0)
			zip_archive_free(&z);
		else
			assert_true(err[0] != 0);
		free(buf);
	}
	/* flipped bytes in a valid archive: refused or read, never a crash */
	size_t len;
	unsigned char *good = sample_zip(&len);
	for (size_t k = 0; k < len; k++) {
		unsigned char *buf = xmalloc(len);
		memcpy(buf, good, len);
		buf[k] ^= (unsigned char)(1 + k % 255);
		struct zip_archive z;
		char err[ERRLEN] = "";
		if (zip_read_mem(buf, len, NULL, &z, err, sizeof err) == 0) {
			for (size_t j = 0; j < z.n; j++)
				assert_true(zip_name_ok(z.e[j].name));
			zip_archive_free(&z);
		} else {
			assert_true(err[0] != 0);
		}
		free(buf);
	}
	free(good);
	/* an archive with no entries is an archive */
	struct zip_archive z;
	char err[ERRLEN];
	assert_int_equal(zip_read_mem("PK\5\6\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22, NULL, &z,
				      err, sizeof err), 0);
	assert_int_equal(z.n, 0);
	zip_archive_free(&z);
}

static bool file_has(const char *path, const char *text)
{
	size_t len;
	char *s = read_file_bounded(path, 4096, &len);
	bool same = s && len == strlen(text) && memcmp(s, text, len) == 0;
	free(s);
	return same;
}

static void test_extract(void **state)
{
	(void)state;
	char *dir = make_temp_dir();
	size_t len;
	unsigned char *buf = sample_zip(&len);
	struct zip_archive z;
	char err[ERRLEN];
	assert_int_equal(zip_read_mem(buf, len, NULL, &z, err, sizeof err), 0);
	free(buf);

	char *out = xasprintf("%s/out", dir);
	assert_int_equal(mkdir(out, 0700), 0);
	int fd = open(out, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	if (zip_extract_at(&z, fd, err, sizeof err))
		fail_msg("%s", err);
	char *p = xasprintf("%s/script/tmp/x.stp", out);
	assert_true(file_has(p, SCRIPT));
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(p);
	p = xasprintf("%s/script/tmp", out);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	free(p);
	/* a second time: the files exist, O_EXCL refuses */
	assert_int_equal(zip_extract_at(&z, fd, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot create 'version': File exists"));
	close(fd);
	zip_archive_free(&z);
	free(out);
	remove_tree(dir);
}

/* Symlinks planted in the target directory are never followed. */
static void test_extract_symlinks(void **state)
{
	(void)state;
	char *dir = make_temp_dir();
	char *outside = xasprintf("%s/outside", dir);
	char *target = xasprintf("%s/target", dir);
	assert_int_equal(mkdir(outside, 0700), 0);
	assert_int_equal(mkdir(target, 0700), 0);
	write_at(outside, "victim", "original", 8);
	char *cmd = xasprintf("ln -s '%s' '%s/script' && ln -s '%s/victim' '%s/argv1' && "
			      "ln -s '%s/new' '%s/argv2'", outside, target, outside, target,
			      outside, target);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	int fd = open(target, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);

	struct zip_entry e1 = { .name = "script/victim", .data = (unsigned char *)"evil", .size = 4 };
	struct zip_archive z = { &e1, 1 };
	char err[ERRLEN];
	assert_int_equal(zip_extract_at(&z, fd, err, sizeof err), -1);
	assert_string_equal(err, "'script' is a symbolic link: not followed");

	struct zip_entry e2 = { .name = "argv1", .data = (unsigned char *)"evil", .size = 4 };
	z.e = &e2;
	assert_int_equal(zip_extract_at(&z, fd, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot create 'argv1'"));

	struct zip_entry e3 = { .name = "argv2", .data = (unsigned char *)"evil", .size = 4 };
	z.e = &e3;
	assert_int_equal(zip_extract_at(&z, fd, err, sizeof err), -1);

	struct zip_entry e4 = { .name = "script", .is_dir = true };
	z.e = &e4;
	assert_int_equal(zip_extract_at(&z, fd, err, sizeof err), -1);
	assert_non_null(strstr(err, "symbolic link"));

	/* names are checked again: an archive built by hand is not trusted */
	struct zip_entry e5 = { .name = "../escape", .data = (unsigned char *)"evil", .size = 4 };
	z.e = &e5;
	assert_int_equal(zip_extract_at(&z, fd, err, sizeof err), -1);
	assert_string_equal(err, "entry '../escape' refused: '..' component");
	close(fd);

	char *victim = xasprintf("%s/victim", outside);
	assert_true(file_has(victim, "original"));
	free(victim);
	char *escape = xasprintf("%s/escape", dir);
	char *newf = xasprintf("%s/new", outside);
	assert_int_equal(access(escape, F_OK), -1);
	assert_int_equal(access(newf, F_OK), -1);
	cmd = xasprintf("test $(ls -A '%s' | wc -l) -eq 1", outside);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(escape);
	free(newf);
	free(outside);
	free(target);
	remove_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_writer_refuses),
		cmocka_unit_test(test_writer_small),
		cmocka_unit_test(test_unzip_accepts_ours),
		cmocka_unit_test(test_infozip_request),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_special_entries),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_entry_count),
		cmocka_unit_test(test_big_entry),
		cmocka_unit_test(test_zip_bomb),
		cmocka_unit_test(test_lying_sizes),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_extract),
		cmocka_unit_test(test_extract_symlinks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
