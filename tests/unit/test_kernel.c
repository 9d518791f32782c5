/* The kernel record (common/kernel.c), the BTF function list
 * (common/btf.c) and the pass-2 check of kernel function names.
 *
 * Everything is built here: a small BTF blob with libbpf's writer, a tiny
 * vmlinux-like ELF (libelf) holding it in .BTF plus a build-id note, kernel
 * store entries and a fake sysfs in temporary directories.  One test uses
 * the running machine's /sys/kernel/btf/vmlinux and is skipped without it. */
#include "helpers.h"

#include <bpf/btf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "btf.h"
#include "kernel.h"

enum { MANY_FUNCS = 1001 };   /* one past the wildcard limit of probes.c */

static const unsigned char BUILD_ID[20] = {
	0xde, 0xad, 0xbe, 0xef, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
	0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0f,
};
#define BUILD_ID_HEX "deadbeef00112233445566778899aabbccddee0f"

/* ---- fixtures ---- */

static char *make_temp_dir(void)
{
	char tmpl[] = "/tmp/stap-unit-kernel-XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	return xstrdup(dir);
}

static void remove_tree(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void write_bytes(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void write_text(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	write_bytes(path, text, strlen(text));
	free(path);
}

/* BTF with: int; vfs_read(file, buf), vfs_readv(fd), vfs_write(file, buf),
 * printk(fmt, ...), two find_patch with different prototypes, a static
 * helper with an unnamed parameter, __x64_sys_read, __do_sys_getpid, and
 * many_0000..many_1000.  The index adds the alias __x64_sys_getpid. */
static struct btf *make_btf(void)
{
	struct btf *b = btf__new_empty();
	assert_non_null(b);
	int i32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	assert_true(i32 > 0);

	int two = btf__add_func_proto(b, i32);
	assert_int_equal(btf__add_func_param(b, "file", i32), 0);
	assert_int_equal(btf__add_func_param(b, "buf", i32), 0);
	int one = btf__add_func_proto(b, i32);
	assert_int_equal(btf__add_func_param(b, "fd", i32), 0);
	int var = btf__add_func_proto(b, i32);
	assert_int_equal(btf__add_func_param(b, "fmt", i32), 0);
	assert_int_equal(btf__add_func_param(b, NULL, 0), 0);   /* ... */
	int unnamed = btf__add_func_proto(b, 0);
	assert_int_equal(btf__add_func_param(b, NULL, i32), 0);

	assert_true(btf__add_func(b, "vfs_write", BTF_FUNC_GLOBAL, two) > 0);
	assert_true(btf__add_func(b, "vfs_read", BTF_FUNC_GLOBAL, two) > 0);
	assert_true(btf__add_func(b, "vfs_readv", BTF_FUNC_STATIC, one) > 0);
	assert_true(btf__add_func(b, "printk", BTF_FUNC_GLOBAL, var) > 0);
	assert_true(btf__add_func(b, "find_patch", BTF_FUNC_STATIC, one) > 0);
	assert_true(btf__add_func(b, "find_patch", BTF_FUNC_STATIC, two) > 0);
	assert_true(btf__add_func(b, "helper", BTF_FUNC_STATIC, unnamed) > 0);
	/* a syscall with arguments has a real stub; SYSCALL_DEFINE0 an alias */
	assert_true(btf__add_func(b, "__x64_sys_read", BTF_FUNC_GLOBAL, one) > 0);
	assert_true(btf__add_func(b, "__do_sys_getpid", BTF_FUNC_STATIC, one) > 0);
	for (int k = 0; k < MANY_FUNCS; k++) {
		char name[32];
		snprintf(name, sizeof name, "many_%04d", k);
		assert_true(btf__add_func(b, name, BTF_FUNC_STATIC, one) > 0);
	}
	return b;
}

static void write_raw_btf(const char *path)
{
	struct btf *b = make_btf();
	uint32_t size = 0;
	const void *raw = btf__raw_data(b, &size);
	assert_non_null(raw);
	write_bytes(path, raw, size);
	btf__free(b);
}

/* Note bytes: a "Linux" note first, then (when id) the GNU build-id. */
static size_t make_notes(unsigned char *out, bool with_id)
{
	size_t n = 0;
	uint32_t linux_hdr[3] = { 6, 4, 1 };
	memcpy(out + n, linux_hdr, sizeof linux_hdr);
	n += sizeof linux_hdr;
	memcpy(out + n, "Linux\0\0\0", 8);
	n += 8;
	memcpy(out + n, "\1\2\3\4", 4);
	n += 4;
	if (with_id) {
		uint32_t gnu_hdr[3] = { 4, sizeof BUILD_ID, 3 /* NT_GNU_BUILD_ID */ };
		memcpy(out + n, gnu_hdr, sizeof gnu_hdr);
		n += sizeof gnu_hdr;
		memcpy(out + n, "GNU", 4);
		n += 4;
		memcpy(out + n, BUILD_ID, sizeof BUILD_ID);
		n += sizeof BUILD_ID;
	}
	return n;
}

static Elf_Scn *add_section(Elf *e, uint32_t name, uint32_t type, void *data, size_t len,
			    size_t align)
{
	Elf_Scn *scn = elf_newscn(e);
	assert_non_null(scn);
	Elf_Data *d = elf_newdata(scn);
	assert_non_null(d);
	d->d_buf = data;
	d->d_size = len;
	d->d_type = ELF_T_BYTE;
	d->d_align = align;
	d->d_version = EV_CURRENT;
	GElf_Shdr sh;
	assert_non_null(gelf_getshdr(scn, &sh));
	sh.sh_name = name;
	sh.sh_type = type;
	sh.sh_addralign = align;
	assert_true(gelf_update_shdr(scn, &sh));
	return scn;
}

/* A vmlinux-like ELF: .notes (build-id when with_id), .BTF when with_btf. */
static void write_vmlinux(const char *path, bool with_id, bool with_btf)
{
	assert_true(elf_version(EV_CURRENT) != EV_NONE);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	Elf *e = elf_begin(fd, ELF_C_WRITE, NULL);
	assert_non_null(e);
	Elf64_Ehdr *eh = elf64_newehdr(e);
	assert_non_null(eh);
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;

	static char shstrtab[] = "\0.notes\0.BTF\0.shstrtab";
	unsigned char notes[128];
	size_t nnotes = make_notes(notes, with_id);
	add_section(e, 1, SHT_NOTE, notes, nnotes, 4);
	void *raw_copy = NULL;
	if (with_btf) {
		struct btf *b = make_btf();
		uint32_t size = 0;
		const void *raw = btf__raw_data(b, &size);
		raw_copy = xmalloc(size);
		memcpy(raw_copy, raw, size);
		btf__free(b);
		add_section(e, 8, SHT_PROGBITS, raw_copy, size, 4);
	}
	Elf_Scn *str = add_section(e, 13, SHT_STRTAB, shstrtab, sizeof shstrtab, 1);
	eh->e_shstrndx = (Elf64_Half)elf_ndxscn(str);
	assert_true(elf_update(e, ELF_C_WRITE) > 0);
	elf_end(e);
	close(fd);
	free(raw_copy);
}

/* A kernel store with entry `release`; returns the store directory. */
static char *make_store(const char *release, const char *recorded_id, const char *release_file,
			bool with_vmlinux)
{
	char *store = make_temp_dir();
	char *entry = xasprintf("%s/%s", store, release);
	assert_int_equal(mkdir(entry, 0755), 0);
	write_text(entry, "release", release_file);
	write_text(entry, "config", "CONFIG_STORE_TEST=y\n");
	if (recorded_id)
		write_text(entry, "build-id", recorded_id);
	if (with_vmlinux) {
		char *vm = xasprintf("%s/vmlinux", entry);
		write_vmlinux(vm, true, true);
		free(vm);
	}
	char *tree = xasprintf("%s/headers", store);
	assert_int_equal(mkdir(tree, 0755), 0);
	char *link = xasprintf("%s/build", entry);
	assert_int_equal(symlink(tree, link), 0);
	free(link);
	free(tree);
	free(entry);
	return store;
}

/* Point the lookups at hermetic places; restored by restore_env(). */
static void hermetic_env(const char *store, const char *sysfs)
{
	setenv("STAP_KERNEL_STORE", store ? store : "/nonexistent/store", 1);
	setenv("STAP_SYSFS", sysfs ? sysfs : "/nonexistent/sysfs", 1);
}

/* ---- BTF ---- */

static struct kernel_btf *load_test_btf(char **dir_out)
{
	char *dir = make_temp_dir();
	char *path = xasprintf("%s/vmlinux.btf", dir);
	write_raw_btf(path);
	char *err = NULL;
	struct kernel_btf *kb = btf_load(path, &err);
	if (!kb)
		fail_msg("btf_load: %s", err);
	free(path);
	*dir_out = dir;
	return kb;
}

static void test_btf_lookup(void **state)
{
	(void)state;
	char *dir;
	struct kernel_btf *kb = load_test_btf(&dir);
	/* find_patch once, plus the __x64_sys_getpid alias */
	assert_int_equal(btf_function_count(kb), 9 + MANY_FUNCS);
	assert_true(btf_has_function(kb, "vfs_read"));
	assert_true(btf_has_function(kb, "vfs_readv"));
	assert_true(btf_has_function(kb, "find_patch"));
	assert_true(btf_has_function(kb, "many_1000"));
	assert_false(btf_has_function(kb, "vfs_rea"));
	assert_false(btf_has_function(kb, "int"));        /* a type, not a function */
	assert_false(btf_has_function(kb, ""));
	/* syscall stubs that are aliases (not in BTF), for the ABIs that exist */
	assert_true(btf_has_function(kb, "__x64_sys_getpid"));
	assert_false(btf_has_function(kb, "__ia32_sys_getpid"));
	assert_false(btf_has_function(kb, "__x64_compat_sys_getpid"));
	struct btf_proto p;
	assert_true(btf_func_proto(kb, "__x64_sys_getpid", &p));
	assert_int_equal(p.nparams, 1);
	assert_string_equal(p.param_names[0], "fd");
	btf_proto_free(&p);
	btf_unload(kb);
	remove_tree(dir);
	free(dir);
}

static int join_name(const char *name, void *arg)
{
	struct strbuf *sb = arg;
	if (sb->len)
		sb_putc(sb, ' ');
	sb_puts(sb, name);
	return 0;
}

static int stop_after_two(const char *name, void *arg)
{
	(void)name;
	return ++*(int *)arg == 2;
}

static const char *matching(struct kernel_btf *kb, const char *glob, struct strbuf *sb)
{
	sb_free(sb);
	sb_init(sb);
	btf_functions_matching(kb, glob, join_name, sb);
	return sb->s;
}

static void test_btf_wildcards(void **state)
{
	(void)state;
	char *dir;
	struct kernel_btf *kb = load_test_btf(&dir);
	struct strbuf sb;
	sb_init(&sb);
	assert_string_equal(matching(kb, "vfs_*", &sb), "vfs_read vfs_readv vfs_write");
	assert_string_equal(matching(kb, "vfs_read", &sb), "vfs_read");
	assert_string_equal(matching(kb, "*_read*", &sb), "__x64_sys_read vfs_read vfs_readv");
	assert_string_equal(matching(kb, "__x64_sys_*", &sb), "__x64_sys_getpid __x64_sys_read");
	assert_string_equal(matching(kb, "vfs_?rite", &sb), "vfs_write");
	assert_string_equal(matching(kb, "[fp]*", &sb), "find_patch printk");
	assert_string_equal(matching(kb, "nothing*", &sb), "");
	assert_string_equal(matching(kb, "many_000[0-2]", &sb), "many_0000 many_0001 many_0002");
	assert_int_equal(btf_functions_matching(kb, "*", join_name, &sb), 9 + MANY_FUNCS);
	int seen = 0;
	assert_int_equal(btf_functions_matching(kb, "vfs_*", stop_after_two, &seen), 2);
	sb_free(&sb);

	const char *similar[3];
	size_t n = btf_similar_functions(kb, "vfs_reed", similar, 3);
	assert_true(n >= 1);
	assert_string_equal(similar[0], "vfs_read");
	assert_int_equal(btf_similar_functions(kb, "no_such_function_xyz", similar, 3), 0);
	btf_unload(kb);
	remove_tree(dir);
	free(dir);
}

static void test_btf_protos(void **state)
{
	(void)state;
	char *dir;
	struct kernel_btf *kb = load_test_btf(&dir);
	struct btf_proto p;
	assert_true(btf_func_proto(kb, "vfs_read", &p));
	assert_int_equal(p.nparams, 2);
	assert_string_equal(p.param_names[0], "file");
	assert_string_equal(p.param_names[1], "buf");
	assert_false(p.varargs);
	assert_int_equal(p.nfuncs, 1);
	assert_int_equal(p.nprotos, 1);
	btf_proto_free(&p);

	assert_true(btf_func_proto(kb, "printk", &p));
	assert_int_equal(p.nparams, 1);
	assert_string_equal(p.param_names[0], "fmt");
	assert_true(p.varargs);
	btf_proto_free(&p);

	assert_true(btf_func_proto(kb, "find_patch", &p));   /* two static ones */
	assert_int_equal(p.nfuncs, 2);
	assert_int_equal(p.nprotos, 2);
	assert_int_equal(p.nparams, 1);                       /* from the first */
	btf_proto_free(&p);

	assert_true(btf_func_proto(kb, "helper", &p));
	assert_int_equal(p.nparams, 1);
	assert_string_equal(p.param_names[0], "");
	btf_proto_free(&p);

	assert_false(btf_func_proto(kb, "nope", &p));
	assert_int_equal(p.nparams, 0);
	assert_null(p.param_names);
	btf_unload(kb);
	remove_tree(dir);
	free(dir);
}

static void test_btf_bad_input(void **state)
{
	(void)state;
	char *dir = make_temp_dir();
	char *err = NULL;
	char *path = xasprintf("%s/garbage", dir);
	static const char garbage[] = "\x9f\xeb\x01\x00 this is not BTF at all";
	write_bytes(path, garbage, sizeof garbage - 1);
	assert_null(btf_load(path, &err));
	assert_non_null(err);
	assert_contains(err, "cannot read BTF from");
	free(err);
	free(path);

	path = xasprintf("%s/no-btf.elf", dir);     /* ELF without .BTF */
	write_vmlinux(path, true, false);
	err = NULL;
	assert_null(btf_load(path, &err));
	assert_non_null(err);
	free(err);
	free(path);

	err = NULL;
	assert_null(btf_load("/nonexistent/vmlinux", &err));
	assert_non_null(err);
	free(err);

	path = xasprintf("%s/vmlinux", dir);        /* the ELF route works */
	write_vmlinux(path, true, true);
	struct kernel_btf *kb = btf_load(path, NULL);
	assert_non_null(kb);
	assert_true(btf_has_function(kb, "vfs_write"));
	btf_unload(kb);
	free(path);
	remove_tree(dir);
	free(dir);
}

/* ---- build-ids ---- */

static void test_build_ids(void **state)
{
	(void)state;
	char *dir = make_temp_dir();
	char *path = xasprintf("%s/vmlinux", dir);
	write_vmlinux(path, true, false);
	char *err = NULL;
	char *id = kernel_elf_build_id(path, &err);
	assert_non_null(id);
	assert_null(err);
	assert_string_equal(id, BUILD_ID_HEX);
	free(id);

	write_vmlinux(path, false, true);           /* notes without a build-id */
	assert_null(kernel_elf_build_id(path, &err));
	assert_null(err);

	write_text(dir, "vmlinux", "not an ELF file");
	assert_null(kernel_elf_build_id(path, &err));
	assert_non_null(err);
	assert_contains(err, "not an ELF file");
	free(err);
	free(path);

	/* raw notes as in /sys/kernel/notes, and hostile truncations */
	unsigned char notes[128];
	size_t n = make_notes(notes, true);
	id = kernel_notes_build_id(notes, n);
	assert_non_null(id);
	assert_string_equal(id, BUILD_ID_HEX);
	free(id);
	for (size_t cut = 0; cut < n; cut++)
		assert_null(kernel_notes_build_id(notes, cut));
	uint32_t huge[3] = { 0xfffffff0u, 0xfffffff0u, 3 };
	assert_null(kernel_notes_build_id(huge, sizeof huge));
	remove_tree(dir);
	free(dir);
}

/* ---- kernel_open ---- */

static void test_open_store(void **state)
{
	(void)state;
	char *store = make_store("9.9.9-test", BUILD_ID_HEX "\n", "9.9.9-test\n", true);
	hermetic_env(store, NULL);
	char *err = NULL;
	struct kernel *k = kernel_open("9.9.9-test", &err);
	if (!k)
		fail_msg("kernel_open: %s", err);
	assert_int_equal(k->origin, KERNEL_FROM_STORE);
	assert_string_equal(k->release, "9.9.9-test");
	char *want = xasprintf("%s/9.9.9-test/build", store);
	assert_string_equal(k->build_dir, want);
	free(want);
	want = xasprintf("%s/9.9.9-test/config", store);
	assert_string_equal(k->config_path, want);
	free(want);
	assert_non_null(k->vmlinux);
	assert_string_equal(k->build_id, BUILD_ID_HEX);
	assert_int_equal(k->names, KERNEL_NAMES_BTF_VMLINUX);
	assert_null(k->note);
	struct kernel_btf *kb = kernel_btf(k);
	assert_non_null(kb);
	assert_ptr_equal(kernel_btf(k), kb);        /* loaded once */
	assert_true(btf_has_function(kb, "vfs_read"));
	kernel_close(k);

	/* an upper-case build-id file is the same id */
	char *entry = xasprintf("%s/9.9.9-test", store);
	write_text(entry, "build-id", "DEADBEEF00112233445566778899AABBCCDDEE0F\n");
	k = kernel_open("9.9.9-test", &err);
	assert_non_null(k);
	kernel_close(k);

	/* a release that is not in the store is looked up elsewhere */
	k = kernel_open("9.9.8-elsewhere", &err);
	assert_non_null(k);
	assert_int_equal(k->origin, KERNEL_FROM_MODULES);
	assert_int_equal(k->names, KERNEL_NAMES_NONE);
	kernel_close(k);
	/* path components never reach into the store */
	k = kernel_open("../9.9.9-test", &err);
	assert_non_null(k);
	assert_int_not_equal(k->origin, KERNEL_FROM_STORE);
	kernel_close(k);
	free(entry);
	remove_tree(store);
	free(store);
}

static void test_open_store_mismatch(void **state)
{
	(void)state;
	char *store = make_store("9.9.9-test", "0000000000000000000000000000000000000000\n",
				 "9.9.9-test\n", true);
	hermetic_env(store, NULL);
	char *err = NULL;
	assert_null(kernel_open("9.9.9-test", &err));
	assert_non_null(err);
	assert_contains(err, "build-id");
	assert_contains(err, BUILD_ID_HEX);
	assert_contains(err, "0000000000000000000000000000000000000000");
	free(err);
	remove_tree(store);
	free(store);

	store = make_store("9.9.9-test", NULL, "9.9.7-other\n", true);
	hermetic_env(store, NULL);
	err = NULL;
	assert_null(kernel_open("9.9.9-test", &err));
	assert_contains(err, "is for release '9.9.7-other'");
	free(err);
	remove_tree(store);
	free(store);

	/* only the build-id file: recorded, names cannot be checked */
	store = make_store("9.9.9-test", BUILD_ID_HEX "\n", "9.9.9-test\n", false);
	hermetic_env(store, NULL);
	struct kernel *k = kernel_open("9.9.9-test", &err);
	assert_non_null(k);
	assert_string_equal(k->build_id, BUILD_ID_HEX);
	assert_int_equal(k->names, KERNEL_NAMES_NONE);
	assert_null(kernel_btf(k));
	assert_non_null(k->note);
	kernel_close(k);
	remove_tree(store);
	free(store);
}

static void test_open_build_dir(void **state)
{
	(void)state;
	hermetic_env(NULL, NULL);
	char *tree = th_make_kernel_dir("6.1.0-test", "CONFIG_X=y\n");
	char *err = NULL;
	struct kernel *k = kernel_open(tree, &err);
	assert_non_null(k);
	assert_int_equal(k->origin, KERNEL_FROM_BUILD_DIR);
	assert_string_equal(k->release, "6.1.0-test");
	assert_string_equal(k->build_dir, tree);
	assert_non_null(k->config_path);
	assert_null(k->vmlinux);
	assert_null(k->build_id);
	assert_int_equal(k->names, KERNEL_NAMES_NONE);
	assert_non_null(k->note);
	assert_contains(k->note, "only headers");
	assert_null(kernel_btf(k));
	kernel_close(k);

	/* a tree with a vmlinux has a build-id and BTF */
	char *vm = xasprintf("%s/vmlinux", tree);
	write_vmlinux(vm, true, true);
	k = kernel_open(tree, &err);
	assert_non_null(k);
	assert_string_equal(k->vmlinux, vm);
	assert_string_equal(k->build_id, BUILD_ID_HEX);
	assert_non_null(kernel_btf(k));
	kernel_close(k);
	free(vm);
	th_remove_kernel_dir(tree);
}

static void test_open_running_kernel(void **state)
{
	(void)state;
	char *sysfs = make_temp_dir();
	char *p = xasprintf("%s/kernel", sysfs);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = xasprintf("%s/kernel/btf", sysfs);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = xasprintf("%s/kernel/btf/vmlinux", sysfs);
	write_raw_btf(p);
	free(p);
	unsigned char notes[128];
	size_t n = make_notes(notes, true);
	p = xasprintf("%s/kernel/notes", sysfs);
	write_bytes(p, notes, n);
	free(p);
	hermetic_env(NULL, sysfs);

	struct kernel *k = kernel_open(NULL, NULL);
	assert_non_null(k);
	assert_int_equal(k->origin, KERNEL_FROM_MODULES);
	assert_int_equal(k->names, KERNEL_NAMES_BTF_SYSFS);
	assert_string_equal(k->build_id, BUILD_ID_HEX);
	struct kernel_btf *kb = kernel_btf(k);
	assert_non_null(kb);
	assert_true(btf_has_function(kb, "vfs_readv"));
	kernel_close(k);

	/* another release never reads the running kernel's sysfs */
	k = kernel_open("0.0.1-not-running", NULL);
	assert_non_null(k);
	assert_int_equal(k->names, KERNEL_NAMES_NONE);
	assert_null(k->build_id);
	kernel_close(k);
	remove_tree(sysfs);
	free(sysfs);
}

/* ---- pass 2 ---- */

/* A session whose kernel is a kbuild tree, with BTF (a vmlinux) or not. */
static char *init_with_tree(struct th *t, bool with_btf)
{
	hermetic_env(NULL, NULL);
	th_init(t);
	char *tree = th_make_kernel_dir("6.1.0-test", "CONFIG_X=y\n");
	if (with_btf) {
		char *vm = xasprintf("%s/vmlinux", tree);
		write_vmlinux(vm, true, true);
		free(vm);
	}
	assert_true(session_set_kernel(&t->s, tree));
	return tree;
}

static void elab_ok(struct th *t, const char *src, const char **listing)
{
	if (!th_elab(t, src, listing))
		fail_msg("pass 2 of:\n%s\nfailed:\n%s", src, th_diag(t));
}

static void elab_fails(struct th *t, const char *src)
{
	if (th_elab(t, src, NULL))
		fail_msg("pass 2 of:\n%s\nunexpectedly succeeded", src);
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_pass2_known_and_unknown(void **state)
{
	(void)state;
	struct th t;
	char *tree = init_with_tree(&t, true);
	const char *l;
	elab_ok(&t, "probe kprobe.function(\"vfs_read\"), kernel.function(\"vfs_write\").return,"
		    " kprobe.function(\"vfs_readv\").return { }", &l);
	assert_contains(l, "kprobe.function(\"vfs_read\") /* <- ");
	assert_contains(l, "kernel.function(\"vfs_write\").return /* <- ");
	assert_contains(l, "kprobe.function(\"vfs_readv\").return /* <- ");
	th_free(&t);
	th_remove_kernel_dir(tree);

	tree = init_with_tree(&t, true);
	elab_fails(&t, "probe kprobe.function(\"vfs_reed\") { }");
	const char *d = th_diag(&t);
	const char *lead = strstr(d, "while resolving probe point 'kprobe.function(\"vfs_reed\")'");
	const char *why = strstr(d, "no match for kernel function 'vfs_reed'");
	assert_non_null(lead);
	assert_non_null(why);
	assert_true(lead < why);                      /* "while resolving" comes first */
	assert_contains(why, "(similar functions: vfs_read");
	th_free(&t);
	th_remove_kernel_dir(tree);

	tree = init_with_tree(&t, true);
	elab_fails(&t, "probe kernel.function(\"nope\").call { }");
	assert_diag(&t, "no match for kernel function 'nope'");
	th_free(&t);
	th_remove_kernel_dir(tree);

	/* module functions wait for module BTF: symbolic */
	tree = init_with_tree(&t, true);
	elab_ok(&t, "probe kprobe.module(\"m\").function(\"nope\"), "
		    "module(\"m\").function(\"nope\") { }", &l);
	assert_contains(l, "kprobe.module(\"m\").function(\"nope\")");
	th_free(&t);
	th_remove_kernel_dir(tree);
}

static void test_pass2_optional(void **state)
{
	(void)state;
	struct th t;
	char *tree = init_with_tree(&t, true);
	const char *l;
	elab_ok(&t, "probe kprobe.function(\"nope\")?, begin { }", &l);
	assert_contains(l, "begin /* <- ");
	assert_false(strstr(l, "nope\") /* <-"));
	assert_int_equal(th_errors(&t), 0);
	th_free(&t);
	th_remove_kernel_dir(tree);

	/* `!`: an unknown function makes nothing, so the next point is tried */
	tree = init_with_tree(&t, true);
	elab_ok(&t, "probe kprobe.function(\"nope\")!, begin { }", &l);
	assert_contains(l, "begin /* <- ");
	th_free(&t);
	th_remove_kernel_dir(tree);

	/* a known one is sufficient: begin is not derived */
	tree = init_with_tree(&t, true);
	elab_ok(&t, "probe kprobe.function(\"vfs_read\")!, begin { }", &l);
	assert_contains(l, "kprobe.function(\"vfs_read\") /* <- ");
	assert_false(strstr(l, "begin /* <- "));
	th_free(&t);
	th_remove_kernel_dir(tree);

	/* through an alias: the optional mark carries over */
	tree = init_with_tree(&t, true);
	elab_ok(&t, "probe my.fn = kprobe.function(\"nope\")?, kprobe.function(\"vfs_read\") { }\n"
		    "probe my.fn { }", &l);
	assert_contains(l, "kprobe.function(\"vfs_read\") /* <- my.fn = ");
	th_free(&t);
	th_remove_kernel_dir(tree);
}

static void test_pass2_wildcards(void **state)
{
	(void)state;
	struct th t;
	char *tree = init_with_tree(&t, true);
	t.s.verbose = 1;                             /* the listing shows bodies */
	const char *l;
	elab_ok(&t, "global n\nprobe kernel.function(\"vfs_read*@fs/*.c\").return if (n < 5) "
		    "{ n++ }", &l);
	assert_contains(l, "kernel.function(\"vfs_read@fs/*.c\").return /* <- "
			   "kernel.function(\"vfs_read*@fs/*.c\").return if (n < 5) */");
	assert_contains(l, "kernel.function(\"vfs_readv@fs/*.c\").return /* <- ");
	assert_int_equal(count_of(l, "/* <- "), 2);
	assert_int_equal(count_of(l, "n++"), 2);     /* each probe has its own body */
	th_free(&t);
	th_remove_kernel_dir(tree);

	tree = init_with_tree(&t, true);
	elab_ok(&t, "probe kprobe.function(\"many_000*\") { }", &l);
	assert_int_equal(count_of(l, "/* <- kprobe.function(\"many_000*\") */"), 10);
	th_free(&t);
	th_remove_kernel_dir(tree);

	tree = init_with_tree(&t, true);
	elab_fails(&t, "probe kprobe.function(\"many_*\") { }");
	assert_diag(&t, "while resolving probe point 'kprobe.function(\"many_*\")'");
	assert_diag(&t, "'many_*' matches more than 1000 kernel functions (limit 1000)");
	th_free(&t);
	th_remove_kernel_dir(tree);

	tree = init_with_tree(&t, true);
	elab_fails(&t, "probe kprobe.function(\"zz*\") { }");
	assert_diag(&t, "no match for kernel function 'zz*'");
	th_free(&t);
	th_remove_kernel_dir(tree);

	tree = init_with_tree(&t, true);
	elab_ok(&t, "probe kprobe.function(\"zz*\")?, never { }", NULL);
	th_free(&t);
	th_remove_kernel_dir(tree);
}

static void test_pass2_without_btf(void **state)
{
	(void)state;
	struct th t;
	char *tree = init_with_tree(&t, false);
	const char *l;
	elab_ok(&t, "probe kprobe.function(\"anything\"), kernel.function(\"else*\") { }\n"
		    "probe kprobe.function(\"more\") { }", &l);
	assert_contains(l, "kprobe.function(\"anything\") /* <- ");
	assert_contains(l, "kernel.function(\"else*\") /* <- ");
	assert_int_equal(count_of(th_diag(&t), "kernel function names were not checked"), 1);
	assert_diag(&t, "only headers");
	th_free(&t);
	th_remove_kernel_dir(tree);

	/* a vmlinux without .BTF: the reason is libbpf's */
	tree = init_with_tree(&t, false);
	char *vm = xasprintf("%s/vmlinux", tree);
	write_vmlinux(vm, true, false);
	free(vm);
	assert_true(session_set_kernel(&t.s, tree));
	elab_ok(&t, "probe kprobe.function(\"anything\") { }", NULL);
	assert_diag(&t, "kernel function names were not checked: cannot read BTF from");
	th_free(&t);
	th_remove_kernel_dir(tree);
}

static void test_session_store_error(void **state)
{
	(void)state;
	char *store = make_store("9.9.9-test", "00\n", "9.9.9-test\n", true);
	hermetic_env(store, NULL);
	struct th t;
	th_init(&t);
	assert_false(session_set_kernel(&t.s, "9.9.9-test"));
	assert_diag(&t, "ERROR: kernel 9.9.9-test: kernel store entry");
	assert_true(th_errors(&t) > 0);
	/* the old fields stay usable */
	assert_string_equal(t.s.kernel.release, "9.9.9-test");
	assert_string_equal(t.s.kernel.version, "9.9.9");
	assert_non_null(t.s.kernel.build_dir);
	th_free(&t);

	/* a good entry: release, tree and .config come from the store */
	remove_tree(store);
	free(store);
	store = make_store("9.9.9-test", BUILD_ID_HEX, "9.9.9-test\n", true);
	hermetic_env(store, NULL);
	th_init(&t);
	assert_true(session_set_kernel(&t.s, "9.9.9-test"));
	assert_string_equal(t.s.kernel.release, "9.9.9-test");
	assert_string_equal(session_kconfig(&t.s, "CONFIG_STORE_TEST"), "y");
	assert_non_null(t.s.kernel.rec);
	assert_string_equal(t.s.kernel.rec->build_id, BUILD_ID_HEX);
	th_free(&t);
	remove_tree(store);
	free(store);
}

/* The running machine's BTF, when it has one. */
static void test_pass2_running_kernel(void **state)
{
	(void)state;
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		skip();
	char *store = make_temp_dir();    /* empty: nothing shadows the running kernel */
	setenv("STAP_KERNEL_STORE", store, 1);
	unsetenv("STAP_SYSFS");
	struct th t;
	th_init(&t);
	session_set_kernel(&t.s, NULL);   /* the running kernel, not the fixture */
	assert_int_equal(t.s.kernel.rec->names, KERNEL_NAMES_BTF_SYSFS);
	const char *l;
	elab_ok(&t, "probe kprobe.function(\"vfs_read\") { }", &l);
	assert_contains(l, "kprobe.function(\"vfs_read\") /* <- ");
	th_free(&t);

	th_init(&t);
	session_set_kernel(&t.s, NULL);   /* the running kernel, not the fixture */
	elab_fails(&t, "probe kprobe.function(\"no_such_function_xyz\") { }");
	assert_diag(&t, "while resolving probe point 'kprobe.function(\"no_such_function_xyz\")'");
	assert_diag(&t, "no match for kernel function 'no_such_function_xyz'");
	th_free(&t);
	remove_tree(store);
	free(store);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_btf_lookup),
		cmocka_unit_test(test_btf_wildcards),
		cmocka_unit_test(test_btf_protos),
		cmocka_unit_test(test_btf_bad_input),
		cmocka_unit_test(test_build_ids),
		cmocka_unit_test(test_open_store),
		cmocka_unit_test(test_open_store_mismatch),
		cmocka_unit_test(test_open_build_dir),
		cmocka_unit_test(test_open_running_kernel),
		cmocka_unit_test(test_pass2_known_and_unknown),
		cmocka_unit_test(test_pass2_optional),
		cmocka_unit_test(test_pass2_wildcards),
		cmocka_unit_test(test_pass2_without_btf),
		cmocka_unit_test(test_session_store_error),
		cmocka_unit_test(test_pass2_running_kernel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
