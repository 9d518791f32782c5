/* Unit tests of stapio/staprun's I/O-free parts: message numbering, OOB
 * classification, the trace-record framer (including hostile streams),
 * the sequence serializer, option and module-option validation, and the
 * ELF section lookup behind -R. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <cmocka.h>

#include "common.h"
#include "modimage.h"
#include "transport_user.h"

static void test_numbering(void **state)
{
	(void)state;
	assert_int_equal(stp_msg_type(STP_NUM_V5, STP_IDX_START), 0x50);
	assert_int_equal(stp_msg_type(STP_NUM_V4, STP_IDX_START), 0);
	assert_int_equal(stp_msg_type(STP_NUM_V5, STP_IDX_REQUEST_EXIT), 93);
	assert_int_equal(stp_msg_type(STP_NUM_V4, STP_IDX_REMOTE_ID), 16);
	assert_int_equal(stp_msg_type(STP_NUM_V5, STP_IDX_NAMESPACES_PID), 98);
	assert_int_equal(stp_msg_type(STP_NUM_V5, STP_IDX_MNT_NS_FDS), 99);
	assert_int_equal(stp_msg_index(STP_NUM_V5, 84), STP_IDX_TRANSPORT);
	assert_int_equal(stp_msg_index(STP_NUM_V4, 4), STP_IDX_TRANSPORT);
	assert_int_equal(stp_msg_index(STP_NUM_V5, 4), -1);
	assert_int_equal(stp_msg_index(STP_NUM_V4, 84), -1);
	assert_int_equal(stp_msg_index(STP_NUM_V5, 100), -1);
	assert_int_equal(stp_msg_index(STP_NUM_V4, 19), -1);	/* no MNT_NS_FDS in 4.x */
	assert_int_equal(stp_msg_index(STP_NUM_V5, 0xffffffffu), -1);
}

static void test_encode(void **state)
{
	struct stp_msg_start st = { 1234, 0 };
	unsigned char buf[16];
	uint32_t type;

	(void)state;
	assert_int_equal(sizeof(struct stp_msg_start), 8);
	assert_int_equal(sizeof(struct stp_msg_relocation), 264);
	assert_int_equal(sizeof(struct stp_msg_tzinfo), 72);
	assert_int_equal(sizeof(struct stp_msg_remote_id), 132);
	assert_int_equal(stp_msg_encode(STP_NUM_V5, STP_IDX_START, &st, sizeof(st), buf, sizeof(buf)), 12);
	memcpy(&type, buf, 4);
	assert_int_equal(type, 0x50);
	assert_memory_equal(buf + 4, &st, 8);
	assert_int_equal(stp_msg_encode(STP_NUM_V4, STP_IDX_START, &st, sizeof(st), buf, 11), -1);
	assert_int_equal(stp_msg_encode(STP_NUM_V4, STP_IDX_EXIT, NULL, 0, buf, 4), 4);
}

static void test_oob(void **state)
{
	const char *body;
	size_t len;

	(void)state;
	assert_int_equal(stp_oob_classify("WARNING: x y\n", 13, &body, &len), STP_OOB_WARNING);
	assert_int_equal(len, 3);
	assert_memory_equal(body, "x y", 3);
	assert_int_equal(stp_oob_classify("ERROR: boom\n\0", 13, &body, &len), STP_OOB_ERROR);
	assert_int_equal(len, 4);
	assert_int_equal(stp_oob_classify("hello\n", 6, &body, &len), STP_OOB_OTHER);
	assert_int_equal(stp_oob_classify("WARN", 4, &body, &len), STP_OOB_OTHER);
	assert_int_equal(stp_oob_classify("ERROR: ", 7, &body, &len), STP_OOB_ERROR);
	assert_int_equal(len, 0);
}

/* Appends a record with the given header values to buf. */
static size_t put_record(unsigned char *buf, enum stp_numbering num,
			 uint32_t seq, uint32_t len, const char *payload)
{
	size_t n = 0;

	if (num == STP_NUM_V5) {
		buf[0] = 0xF0; buf[1] = 0x9F; buf[2] = 0xA9; buf[3] = 0xBA;
		n = 4;
	}
	memcpy(buf + n, &seq, 4);
	memcpy(buf + n + 4, &len, 4);
	n += 8;
	if (payload) {
		memcpy(buf + n, payload, len);
		n += len;
	}
	return n;
}

static void test_framer_split_feed(void **state)
{
	unsigned char stream[256];
	struct stp_framer f;
	size_t n = 0, i;
	uint32_t seq, len;
	char *p;

	(void)state;
	n += put_record(stream + n, STP_NUM_V5, 1, 5, "hello");
	n += put_record(stream + n, STP_NUM_V5, 2, 6, "world\n");
	stp_framer_init(&f, STP_NUM_V5);
	/* one byte at a time: a record appears only when complete */
	for (i = 0; i < n; i++) {
		assert_int_equal(stp_framer_feed(&f, stream + i, 1), 0);
		if (i == 16) {
			assert_int_equal(stp_framer_next(&f, &seq, &p, &len), 1);
			assert_int_equal(seq, 1);
			assert_memory_equal(p, "hello", 5);
			free(p);
		} else if (i < 16) {
			assert_int_equal(stp_framer_next(&f, &seq, &p, &len), 0);
		}
	}
	assert_int_equal(stp_framer_next(&f, &seq, &p, &len), 1);
	assert_int_equal(seq, 2);
	assert_int_equal(len, 6);
	free(p);
	assert_int_equal(stp_framer_next(&f, &seq, &p, &len), 0);
	assert_int_equal(f.skipped_bytes, 0);
	stp_framer_free(&f);
}

static void test_framer_resync(void **state)
{
	unsigned char stream[512];
	struct stp_framer f;
	size_t n = 0;
	uint32_t seq, len;
	char *p;

	(void)state;
	memcpy(stream, "garbage", 7);		/* 7 non-zero bytes */
	n = 7;
	memset(stream + n, 0, 5);		/* zero padding is not counted */
	n += 5;
	n += put_record(stream + n, STP_NUM_V5, 7, 0, NULL);		/* len 0 */
	n += put_record(stream + n, STP_NUM_V5, 8, 200000, NULL);	/* > 128 KiB */
	stream[n++] = 0xF0;			/* a lone partial magic */
	n += put_record(stream + n, STP_NUM_V5, 9, 3, "abc");
	stp_framer_init(&f, STP_NUM_V5);
	assert_int_equal(stp_framer_feed(&f, stream, n), 0);
	assert_int_equal(stp_framer_next(&f, &seq, &p, &len), 1);
	assert_int_equal(seq, 9);
	assert_memory_equal(p, "abc", 3);
	free(p);
	assert_int_equal(f.bad_headers, 2);
	assert_true(f.skipped_bytes >= 7);
	stp_framer_free(&f);
}

static void test_framer_v4(void **state)
{
	unsigned char stream[64];
	struct stp_framer f;
	size_t n = 0;
	uint32_t seq, len;
	char *p;

	(void)state;
	n += put_record(stream + n, STP_NUM_V4, 3, 2, "hi");
	n += put_record(stream + n, STP_NUM_V4, 4, 2, "yo");
	stp_framer_init(&f, STP_NUM_V4);
	assert_int_equal(stp_framer_feed(&f, stream, n), 0);
	assert_int_equal(stp_framer_next(&f, &seq, &p, &len), 1);
	assert_int_equal(seq, 3);
	free(p);
	assert_int_equal(stp_framer_next(&f, &seq, &p, &len), 1);
	assert_int_equal(seq, 4);
	assert_memory_equal(p, "yo", 2);
	free(p);
	stp_framer_free(&f);
}

static char *dupstr(const char *s)
{
	return strdup(s);
}

static void test_serial_order(void **state)
{
	struct stp_serial s;
	struct stp_record r;

	(void)state;
	stp_serial_init(&s, 2000);
	assert_int_equal(stp_serial_push(&s, 3, dupstr("c"), 1, 0), 0);
	assert_int_equal(stp_serial_push(&s, 2, dupstr("b"), 1, 0), 0);
	/* 1 is missing: nothing until it comes or 2 s pass */
	assert_int_equal(stp_serial_pop(&s, 100, false, &r), 0);
	assert_int_equal(stp_serial_timeout(&s, 100), 1900);
	assert_int_equal(stp_serial_push(&s, 1, dupstr("a"), 1, 150), 0);
	assert_int_equal(stp_serial_timeout(&s, 150), 0);
	assert_int_equal(stp_serial_pop(&s, 150, false, &r), 1);
	assert_int_equal(r.seq, 1);
	free(r.data);
	assert_int_equal(stp_serial_pop(&s, 150, false, &r), 1);
	assert_int_equal(r.seq, 2);
	free(r.data);
	assert_int_equal(stp_serial_pop(&s, 150, false, &r), 1);
	assert_int_equal(r.seq, 3);
	free(r.data);
	assert_int_equal(stp_serial_pop(&s, 150, false, &r), 0);
	assert_int_equal(stp_serial_timeout(&s, 150), -1);
	assert_int_equal(s.lost_msgs, 0);
	stp_serial_free(&s);
}

static void test_serial_gap_and_late(void **state)
{
	struct stp_serial s;
	struct stp_record r;

	(void)state;
	stp_serial_init(&s, 2000);
	stp_serial_push(&s, 1, dupstr("a"), 1, 0);
	assert_int_equal(stp_serial_pop(&s, 0, false, &r), 1);
	free(r.data);
	stp_serial_push(&s, 5, dupstr("e"), 1, 10);
	assert_int_equal(stp_serial_pop(&s, 2009, false, &r), 0);
	assert_int_equal(stp_serial_pop(&s, 2010, false, &r), 1);	/* waited 2 s */
	assert_int_equal(r.seq, 5);
	free(r.data);
	assert_int_equal(s.lost_msgs, 3);
	stp_serial_push(&s, 3, dupstr("c"), 1, 3000);		/* too late */
	assert_int_equal(stp_serial_pop(&s, 3000, false, &r), 1);
	free(r.data);
	assert_int_equal(s.unexpected, 1);
	/* drain emits at once, in order */
	stp_serial_push(&s, 9, dupstr("i"), 1, 4000);
	stp_serial_push(&s, 8, dupstr("h"), 1, 4000);
	assert_int_equal(stp_serial_pop(&s, 4000, true, &r), 1);
	assert_int_equal(r.seq, 8);
	free(r.data);
	assert_int_equal(stp_serial_pop(&s, 4000, true, &r), 1);
	assert_int_equal(r.seq, 9);
	free(r.data);
	stp_serial_free(&s);
}

static void test_serial_many(void **state)
{
	struct stp_serial s;
	struct stp_record r;
	uint32_t i, expect = 1;

	(void)state;
	stp_serial_init(&s, 2000);
	/* two interleaved "CPUs" delivering in bursts */
	for (i = 2; i <= 1000; i += 2)
		stp_serial_push(&s, i, dupstr("x"), 1, 0);
	for (i = 1; i <= 999; i += 2)
		stp_serial_push(&s, i, dupstr("y"), 1, 0);
	while (stp_serial_pop(&s, 0, false, &r)) {
		assert_int_equal(r.seq, expect++);
		free(r.data);
	}
	assert_int_equal(expect, 1001);
	stp_serial_free(&s);
}

static void test_modopts(void **state)
{
	(void)state;
	assert_true(stp_modopt_valid("count=5"));
	assert_true(stp_modopt_valid("_x=abc"));
	assert_true(stp_modopt_valid("mode=lines"));
	assert_false(stp_modopt_valid("_stp_bufsize=100000"));
	assert_false(stp_modopt_valid("_stpx=1"));
	assert_false(stp_modopt_valid("a=1 _stp_bufsize=-1"));
	assert_false(stp_modopt_valid("a=\"1\""));
	assert_false(stp_modopt_valid("a='1'"));
	assert_false(stp_modopt_valid("=1"));
	assert_false(stp_modopt_valid("novalue"));
	assert_false(stp_modopt_valid("1a=2"));
	assert_false(stp_modopt_valid("a-b=2"));
	assert_false(stp_modopt_valid("a=\t"));
}

static void test_module_name(void **state)
{
	char name[STP_MODNAME_MAX + 1];
	char longname[80];

	(void)state;
	assert_int_equal(stp_module_name("t", "/x/y/stap_abc.ko", name, sizeof(name)), 0);
	assert_string_equal(name, "stap_abc");
	assert_int_equal(stp_module_name("t", "stap_abc", name, sizeof(name)), 0);
	assert_string_equal(name, "stap_abc");
	assert_int_equal(stp_module_name("t", "dir/", name, sizeof(name)), -1);
	memset(longname, 'a', 56);
	strcpy(longname + 56, ".ko");
	assert_int_equal(stp_module_name("t", longname, name, sizeof(name)), -1);
	longname[55] = '\0';
	assert_int_equal(stp_module_name("t", longname, name, sizeof(name)), 0);
}

static int parse(const char *line, struct stp_options *o)
{
	char buf[512], *argv[32];
	int argc = 0;
	char *tok;

	snprintf(buf, sizeof(buf), "%s", line);
	for (tok = strtok(buf, " "); tok && argc < 31; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	argv[argc] = NULL;
	return stp_parse_options("t", argc, argv, o);
}

static void test_options(void **state)
{
	struct stp_options o;

	(void)state;
	assert_int_equal(parse("staprun -b 4 -o /tmp/o m.ko a=1 b=2", &o), 0);
	assert_int_equal(o.bufsize_mb, 4);
	assert_string_equal(o.module, "m.ko");
	assert_int_equal(o.nmodopts, 2);
	assert_int_equal(parse("staprun -b 0 m.ko", &o), -1);
	assert_int_equal(parse("staprun -b 4096 m.ko", &o), -1);
	assert_int_equal(parse("staprun -A -L m", &o), -1);
	assert_int_equal(parse("staprun -D m.ko", &o), -1);
	assert_int_equal(parse("staprun -c ls -x 3 m.ko", &o), -1);
	assert_int_equal(parse("staprun -A m a=1", &o), -1);
	assert_int_equal(parse("staprun -T 0 m", &o), -1);
	assert_int_equal(parse("staprun -C bogus m", &o), -1);
	assert_int_equal(parse("staprun", &o), -1);
	assert_int_equal(parse("staprun -o rel m.ko", &o), 0);
	assert_true(o.outfile[0] == '/');
}

static void test_modimage(void **state)
{
	/* a minimal ELF64: header, shstrtab, one named section */
	static const char names[] = "\0.shstrtab\0.gnu.linkonce.this_module\0";
	char img[1024];
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Shdr sh[3];
	size_t off, len;
	char newname[64];

	(void)state;
	memset(img, 0, sizeof(img));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = 3;
	eh->e_shstrndx = 1;
	eh->e_shoff = 512;
	memcpy(img + 100, names, sizeof(names));
	memset(sh, 0, sizeof(sh));
	sh[1].sh_name = 1;
	sh[1].sh_offset = 100;
	sh[1].sh_size = sizeof(names);
	sh[2].sh_name = 11;
	sh[2].sh_offset = 200;
	sh[2].sh_size = 100;
	memcpy(img + 512, sh, sizeof(sh));
	strcpy(img + 224, "stap_proto_module");

	assert_int_equal(stp_modimage_section(img, sizeof(img), ".gnu.linkonce.this_module", &off, &len), 0);
	assert_int_equal(off, 200);
	assert_int_equal(stp_modimage_rename(img, sizeof(img), "stap_proto_module", 4321,
					     newname, sizeof(newname), "t"), 0);
	assert_string_equal(newname, "stap_proto_m_4321");
	assert_string_equal(img + 224, "stap_proto_m_4321");
	/* hostile: truncated, section table outside the file, huge offsets */
	assert_int_equal(stp_modimage_section(img, 40, ".shstrtab", &off, &len), -1);
	assert_int_equal(stp_modimage_section(img, 600, ".shstrtab", &off, &len), -1);
	sh[2].sh_offset = 0xffffffffffffff00ull;
	memcpy(img + 512, sh, sizeof(sh));
	assert_int_equal(stp_modimage_section(img, sizeof(img), ".gnu.linkonce.this_module", &off, &len), -1);
	eh->e_shstrndx = 7;
	assert_int_equal(stp_modimage_section(img, sizeof(img), ".shstrtab", &off, &len), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbering),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_oob),
		cmocka_unit_test(test_framer_split_feed),
		cmocka_unit_test(test_framer_resync),
		cmocka_unit_test(test_framer_v4),
		cmocka_unit_test(test_serial_order),
		cmocka_unit_test(test_serial_gap_and_late),
		cmocka_unit_test(test_serial_many),
		cmocka_unit_test(test_modopts),
		cmocka_unit_test(test_module_name),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_modimage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
