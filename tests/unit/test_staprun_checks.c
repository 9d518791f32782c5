/* staprun's pure decisions: the caller's level from their groups, the
 * level a module asks for, allowed names, and what staprun reads from a
 * module image before loading it (runtime/staprun/privilege.c,
 * modimage.c).  Images are built here section by section, hostile ones
 * included. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <string.h>

#include "modimage.h"
#include "privilege.h"

/* --- the caller's level ---------------------------------------------------- */

static const struct stp_groups all_groups = {
	.usr = 900, .sys = 901, .dev = 902, .have_usr = true, .have_sys = true, .have_dev = true,
};

static void test_credentials(void **state)
{
	gid_t none[] = { 100, 1001 }, usr[] = { 1001, 900 }, sys[] = { 901 }, dev[] = { 5, 902 };

	(void)state;
	assert_int_equal(stp_credentials(&all_groups, 1001, none, 2), STP_PR_NONE);
	assert_int_equal(stp_credentials(&all_groups, 1001, usr, 2), STP_PR_STAPUSR);
	/* stapsys implies stapusr, stapdev implies both */
	assert_int_equal(stp_credentials(&all_groups, 1001, sys, 1), STP_PR_STAPSYS | STP_PR_STAPUSR);
	assert_int_equal(stp_credentials(&all_groups, 1001, dev, 2), STP_PR_ALL);
	/* the primary gid counts as much as a supplementary one */
	assert_int_equal(stp_credentials(&all_groups, 900, NULL, 0), STP_PR_STAPUSR);
	/* groups that do not exist on this system match nothing */
	struct stp_groups only_usr = { .usr = 900, .have_usr = true };
	assert_int_equal(stp_credentials(&only_usr, 1001, dev, 2), STP_PR_NONE);
	assert_int_equal(stp_credentials(&only_usr, 1001, usr, 2), STP_PR_STAPUSR);
}

static void test_names_and_containment(void **state)
{
	(void)state;
	assert_string_equal(stp_pr_name(STP_PR_ALL), "stapdev");
	assert_string_equal(stp_pr_name(STP_PR_STAPSYS | STP_PR_STAPUSR), "stapsys");
	assert_string_equal(stp_pr_name(STP_PR_STAPUSR), "stapusr");
	assert_string_equal(stp_pr_name(STP_PR_NONE), "none");
	assert_true(stp_pr_contains(STP_PR_ALL, STP_PR_STAPSYS));
	assert_true(stp_pr_contains(STP_PR_STAPSYS | STP_PR_STAPUSR, STP_PR_STAPUSR));
	assert_false(stp_pr_contains(STP_PR_STAPUSR, STP_PR_STAPSYS));
	assert_false(stp_pr_contains(STP_PR_STAPSYS | STP_PR_STAPUSR, STP_PR_STAPDEV));
}

static void test_required_level(void **state)
{
	int32_t v;
	char eight[8] = { 2 };

	(void)state;
	assert_int_equal(stp_required_from_section(false, NULL, 0), STP_PR_STAPUSR);
	for (v = 0; v < 20; v++) {
		int want = (v == 2 || v == 4 || v == 8) ? v : STP_PR_STAPDEV;

		assert_int_equal(stp_required_from_section(true, &v, sizeof(v)), want);
	}
	v = -8;
	assert_int_equal(stp_required_from_section(true, &v, sizeof(v)), STP_PR_STAPDEV);
	assert_int_equal(stp_required_from_section(true, eight, sizeof(eight)), STP_PR_STAPDEV);
	assert_int_equal(stp_required_from_section(true, eight, 0), STP_PR_STAPDEV);
	assert_int_equal(stp_required_from_section(true, eight, 2), STP_PR_STAPDEV);
}

static void test_module_names(void **state)
{
	char longest[56], too_long[57];

	(void)state;
	assert_true(stp_modname_allowed("stap_1a2b"));
	assert_true(stp_modname_allowed("stap_pr_long__123"));
	assert_false(stp_modname_allowed("stap_"));
	assert_false(stp_modname_allowed("ext4"));
	assert_false(stp_modname_allowed("stapx_1"));
	assert_false(stp_modname_allowed("stap_a-b"));
	assert_false(stp_modname_allowed("stap_a.b"));
	assert_false(stp_modname_allowed("stap_a/b"));
	assert_false(stp_modname_allowed(""));
	memset(longest, 'a', sizeof(longest));
	memcpy(longest, "stap_", 5);
	longest[55] = '\0';
	assert_true(stp_modname_allowed(longest));
	memset(too_long, 'a', sizeof(too_long));
	memcpy(too_long, "stap_", 5);
	too_long[56] = '\0';
	assert_false(stp_modname_allowed(too_long));
}

/* --- module images ------------------------------------------------------------ */

#define MAX_SECTIONS 8
struct image {
	char buf[8192];
	size_t used;
	Elf64_Shdr sh[MAX_SECTIONS];
	char names[256];
	size_t names_len;
	int n;
};

static void image_init(struct image *im)
{
	memset(im, 0, sizeof(*im));
	im->used = sizeof(Elf64_Ehdr);
	im->n = 1;		/* section 0 is the null section */
	im->names_len = 1;
}

static void image_add(struct image *im, const char *name, const void *data, size_t len)
{
	Elf64_Shdr *sh = &im->sh[im->n++];

	sh->sh_name = (Elf64_Word)im->names_len;
	memcpy(im->names + im->names_len, name, strlen(name) + 1);
	im->names_len += strlen(name) + 1;
	sh->sh_offset = im->used;
	sh->sh_size = len;
	memcpy(im->buf + im->used, data, len);
	im->used += (len + 7) & ~(size_t)7;
}

/* Adds .shstrtab and the header; returns the image size. */
static size_t image_finish(struct image *im)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)im->buf;
	int strndx = im->n;

	image_add(im, ".shstrtab", "", 0);
	im->sh[strndx].sh_name = (Elf64_Word)im->names_len;
	memcpy(im->names + im->names_len, ".shstrtab", 10);
	im->names_len += 10;
	im->sh[strndx].sh_offset = im->used;
	im->sh[strndx].sh_size = im->names_len;
	memcpy(im->buf + im->used, im->names, im->names_len);
	im->used += (im->names_len + 7) & ~(size_t)7;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = (Elf64_Half)im->n;
	eh->e_shstrndx = (Elf64_Half)strndx;
	eh->e_shoff = im->used;
	memcpy(im->buf + im->used, im->sh, sizeof(Elf64_Shdr) * (size_t)im->n);
	im->used += sizeof(Elf64_Shdr) * (size_t)im->n;
	return im->used;
}

static void this_module(char *out, const char *name)
{
	memset(out, 0, 0x380);
	strcpy(out + 24, name);		/* struct module's name on x86-64 */
}

static const char modinfo[] =
	"license=GPL\0name=stap_t\0vermagic=6.1.0-56-amd64 SMP preempt mod_unload \0"
	"parm=_stp_bufsize:relay buffer\0parmtype=_stp_bufsize:uint\0"
	"parm=count:script global (long)\0parmtype=limit:int\0";

static size_t full_image(struct image *im, int32_t level, const char *bid)
{
	char tm[0x380];

	image_init(im);
	this_module(tm, "stap_t");
	image_add(im, ".gnu.linkonce.this_module", tm, sizeof(tm));
	image_add(im, ".modinfo", modinfo, sizeof(modinfo));
	image_add(im, ".stap_privilege", &level, sizeof(level));
	image_add(im, ".stap_kernel_build_id", bid, strlen(bid) + 1);
	return image_finish(im);
}

static void test_inspect(void **state)
{
	struct image im;
	struct stp_modimage_info mi;
	size_t n = full_image(&im, 4, "eb4fbcd037e7");

	(void)state;
	assert_int_equal(stp_modimage_inspect(im.buf, n, &mi), 0);
	assert_string_equal(mi.elf_name, "stap_t");
	assert_string_equal(mi.info_name, "stap_t");
	assert_string_equal(mi.vermagic, "6.1.0-56-amd64 SMP preempt mod_unload ");
	assert_true(mi.has_privilege);
	assert_int_equal(mi.required, STP_PR_STAPSYS);
	assert_string_equal(mi.build_id, "eb4fbcd037e7");
	/* declared parameters: parm= or parmtype=, whole names only */
	assert_true(stp_modimage_declares_param(im.buf, &mi, "count"));
	assert_true(stp_modimage_declares_param(im.buf, &mi, "limit"));
	assert_true(stp_modimage_declares_param(im.buf, &mi, "_stp_bufsize"));
	assert_false(stp_modimage_declares_param(im.buf, &mi, "coun"));
	assert_false(stp_modimage_declares_param(im.buf, &mi, "counts"));
	assert_false(stp_modimage_declares_param(im.buf, &mi, "GPL"));
	assert_false(stp_modimage_declares_param(im.buf, &mi, "name"));
}

static void test_inspect_hostile(void **state)
{
	struct image im;
	struct stp_modimage_info mi;
	char tm[0x380];
	size_t n;

	(void)state;
	/* a build-id that is not lower-case hex */
	n = full_image(&im, 2, "EB4F; rm -rf");
	assert_int_equal(stp_modimage_inspect(im.buf, n, &mi), -1);
	/* no .gnu.linkonce.this_module: not a module */
	image_init(&im);
	image_add(&im, ".modinfo", modinfo, sizeof(modinfo));
	n = image_finish(&im);
	assert_int_equal(stp_modimage_inspect(im.buf, n, &mi), -1);
	/* a name without its NUL inside struct module's name field */
	image_init(&im);
	memset(tm, 'A', sizeof(tm));
	image_add(&im, ".gnu.linkonce.this_module", tm, sizeof(tm));
	n = image_finish(&im);
	assert_int_equal(stp_modimage_inspect(im.buf, n, &mi), -1);
	/* this_module too short to hold the name */
	image_init(&im);
	this_module(tm, "stap_t");
	image_add(&im, ".gnu.linkonce.this_module", tm, 40);
	n = image_finish(&im);
	assert_int_equal(stp_modimage_inspect(im.buf, n, &mi), -1);
	/* no .stap_privilege: an old stapusr module; no modinfo at all */
	image_init(&im);
	this_module(tm, "stap_t");
	image_add(&im, ".gnu.linkonce.this_module", tm, sizeof(tm));
	n = image_finish(&im);
	assert_int_equal(stp_modimage_inspect(im.buf, n, &mi), 0);
	assert_false(mi.has_privilege);
	assert_int_equal(mi.required, STP_PR_STAPUSR);
	assert_string_equal(mi.info_name, "");
	assert_string_equal(mi.build_id, "");
	assert_false(stp_modimage_declares_param(im.buf, &mi, "count"));
	/* modinfo whose last string has no NUL: its value is not used */
	image_init(&im);
	image_add(&im, ".gnu.linkonce.this_module", tm, sizeof(tm));
	image_add(&im, ".modinfo", "parm=x:1\0name=stap_t", 20);
	n = image_finish(&im);
	assert_int_equal(stp_modimage_inspect(im.buf, n, &mi), 0);
	assert_string_equal(mi.info_name, "");
	assert_true(stp_modimage_declares_param(im.buf, &mi, "x"));
	/* truncated images */
	n = full_image(&im, 2, "ab");
	for (size_t cut = 0; cut < n; cut += 61)
		stp_modimage_inspect(im.buf, cut, &mi);	/* must not crash */
	assert_int_equal(stp_modimage_inspect(im.buf, n - 1, &mi), -1);
}

/* --- the running kernel's build-id ---------------------------------------- */

static size_t note(unsigned char *p, uint32_t type, const char *name, const void *desc,
		   uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1;
	size_t npad = (namesz + 3) & ~3u, dpad = (descsz + 3) & ~3u;

	memcpy(p, &namesz, 4);
	memcpy(p + 4, &descsz, 4);
	memcpy(p + 8, &type, 4);
	memset(p + 12, 0, npad + dpad);
	memcpy(p + 12, name, namesz);
	memcpy(p + 12 + npad, desc, descsz);
	return 12 + npad + dpad;
}

static void test_notes_build_id(void **state)
{
	unsigned char notes[256], id[20];
	char hex[64];
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 20; i++)
		id[i] = (unsigned char)(0xa0 + i);
	n += note(notes + n, 6, "Xen", "xxxxxx", 6);	/* another owner first */
	n += note(notes + n, NT_GNU_BUILD_ID, "Linux", id, 20);	/* right type, wrong owner */
	n += note(notes + n, NT_GNU_BUILD_ID, "GNU", id, 20);
	assert_int_equal(stp_notes_build_id(notes, n, hex, sizeof(hex)), 0);
	assert_string_equal(hex, "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3");
	/* too small an output, truncated notes, a lying size */
	assert_int_equal(stp_notes_build_id(notes, n, hex, 40), -1);
	assert_int_equal(stp_notes_build_id(notes, n - 4, hex, sizeof(hex)), -1);
	n = note(notes, NT_GNU_BUILD_ID, "GNU", id, 20);
	notes[4] = 0xff;
	notes[5] = 0xff;
	assert_int_equal(stp_notes_build_id(notes, n, hex, sizeof(hex)), -1);
	assert_int_equal(stp_notes_build_id(notes, 0, hex, sizeof(hex)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_credentials),
		cmocka_unit_test(test_names_and_containment),
		cmocka_unit_test(test_required_level),
		cmocka_unit_test(test_module_names),
		cmocka_unit_test(test_inspect),
		cmocka_unit_test(test_inspect_hostile),
		cmocka_unit_test(test_notes_build_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
