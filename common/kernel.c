/* The target kernel record (see kernel.h): resolving -r, build-ids from
 * ELF notes (elfutils libelf) and from /sys/kernel/notes, lazy BTF. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "btf.h"
#include "kernel.h"
#include "util.h"

enum {
	MAX_LINE_FILE = 4096,        /* release, build-id files */
	MAX_NOTES_BYTES = 64 * 1024, /* /sys/kernel/notes is a few hundred bytes */
	MAX_BUILD_ID = 64,           /* bytes of a build-id descriptor (sha1: 20) */
};

#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif

const char *kernel_store_dir(void)
{
	const char *s = getenv("STAP_KERNEL_STORE");
	return s && *s ? s : KERNEL_STORE_DEFAULT;
}

static const char *sysfs_root(void)
{
	const char *s = getenv("STAP_SYSFS");
	return s && *s ? s : "/sys";
}

const char *kernel_names_text(enum kernel_names n)
{
	switch (n) {
	case KERNEL_NAMES_BTF_VMLINUX:
		return "BTF of vmlinux";
	case KERNEL_NAMES_BTF_SYSFS:
		return "BTF of the running kernel";
	case KERNEL_NAMES_NONE:
		break;
	}
	return "none";
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* First line of a small file, without its newline; NULL if unreadable. */
static char *read_line_file(const char *path)
{
	char *text = read_file_bounded(path, MAX_LINE_FILE, NULL);
	if (!text)
		return NULL;
	text[strcspn(text, "\r\n")] = '\0';
	return text;
}

static char *hex_string(const unsigned char *p, size_t n)
{
	char *s = xmalloc(2 * n + 1);
	for (size_t k = 0; k < n; k++)
		snprintf(s + 2 * k, 3, "%02x", p[k]);
	s[2 * n] = '\0';
	return s;
}

static bool is_build_id_note(const char *name, size_t namesz, uint32_t type, size_t descsz)
{
	return type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
	       descsz > 0 && descsz <= MAX_BUILD_ID;
}

char *kernel_notes_build_id(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t off = 0;
	while (len - off >= 12) {
		uint32_t hdr[3];
		memcpy(hdr, p + off, sizeof hdr);
		size_t namesz = hdr[0], descsz = hdr[1];
		size_t name_pad = (namesz + 3) & ~(size_t)3, desc_pad = (descsz + 3) & ~(size_t)3;
		off += 12;
		if (namesz > len - off || name_pad > len - off)
			return NULL;
		const char *name = (const char *)p + off;
		off += name_pad;
		if (descsz > len - off || desc_pad > len - off)
			return NULL;
		if (is_build_id_note(name, namesz, hdr[2], descsz))
			return hex_string(p + off, descsz);
		off += desc_pad;
	}
	return NULL;
}

/* Look through one SHT_NOTE section's data for the build-id. */
static char *section_build_id(Elf_Data *data)
{
	GElf_Nhdr nh;
	size_t off = 0, name_off, desc_off;
	while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const char *name = (const char *)data->d_buf + name_off;
		if (is_build_id_note(name, nh.n_namesz, nh.n_type, nh.n_descsz))
			return hex_string((const unsigned char *)data->d_buf + desc_off, nh.n_descsz);
	}
	return NULL;
}

char *kernel_elf_build_id(const char *path, char **err)
{
	if (err)
		*err = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		if (err)
			*err = xasprintf("libelf: %s", elf_errmsg(-1));
		return NULL;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (err)
			*err = xasprintf("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	char *id = NULL;
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (err)
			*err = xasprintf("%s is not an ELF file%s%s", path, elf ? "" : ": ",
					 elf ? "" : elf_errmsg(-1));
		goto out;
	}
	for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn && !id; scn = elf_nextscn(elf, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		for (Elf_Data *d = elf_getdata(scn, NULL); d && !id; d = elf_getdata(scn, d))
			id = section_build_id(d);
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return id;
}

char *kernel_running_build_id(void)
{
	char *path = xasprintf("%s/kernel/notes", sysfs_root());
	size_t len = 0;
	/* sysfs files report size 4096 or the real size; read_file_bounded
	 * reads until EOF either way */
	char *buf = read_file_bounded(path, MAX_NOTES_BYTES, &len);
	free(path);
	if (!buf)
		return NULL;
	char *id = kernel_notes_build_id(buf, len);
	free(buf);
	return id;
}

static void lowercase(char *s)
{
	for (; s && *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* ---- the three places a kernel can come from ---- */

/* Build-id of k->vmlinux into k->build_id; false (with *err) if the file
 * is there but unreadable and `strict`. */
static bool read_vmlinux_build_id(struct kernel *k, bool strict, char **err)
{
	char *why = NULL;
	k->build_id = kernel_elf_build_id(k->vmlinux, &why);
	if (why && strict) {
		*err = xasprintf("cannot read the build-id of %s: %s", k->vmlinux, why);
		free(why);
		return false;
	}
	free(why);
	return true;
}

static bool open_store(struct kernel *k, const char *entry, const char *kver, char **err)
{
	k->origin = KERNEL_FROM_STORE;
	char *path = xasprintf("%s/release", entry);
	char *release = read_line_file(path);
	free(path);
	if (release && strcmp(release, kver) != 0) {
		*err = xasprintf("kernel store entry %s is for release '%s', not '%s'", entry,
				 release, kver);
		free(release);
		return false;
	}
	k->release = release ? release : xstrdup(kver);
	k->build_dir = xasprintf("%s/build", entry);
	path = xasprintf("%s/config", entry);
	if (is_file(path))
		k->config_path = path;
	else
		free(path);

	path = xasprintf("%s/vmlinux", entry);
	if (is_file(path)) {
		k->vmlinux = path;
		k->names = KERNEL_NAMES_BTF_VMLINUX;
		k->names_path = xstrdup(path);
		if (!read_vmlinux_build_id(k, true, err))
			return false;
	} else {
		free(path);
		k->note = xasprintf("kernel store entry %s has no vmlinux: "
				    "function names cannot be checked", entry);
	}

	path = xasprintf("%s/build-id", entry);
	char *recorded = read_line_file(path);
	free(path);
	lowercase(recorded);
	if (recorded && k->build_id && strcmp(recorded, k->build_id) != 0) {
		*err = xasprintf("kernel store entry %s: vmlinux has build-id %s but the "
				 "build-id file says %s", entry, k->build_id, recorded);
		free(recorded);
		return false;
	}
	if (recorded && !k->build_id && *recorded)
		k->build_id = recorded;
	else
		free(recorded);
	return true;
}

/* A vmlinux left in the build tree (a self-built kernel) gives BTF names
 * and the build-id. */
static void use_build_vmlinux(struct kernel *k)
{
	char *path = xasprintf("%s/vmlinux", k->build_dir);
	if (!is_file(path)) {
		free(path);
		return;
	}
	k->vmlinux = path;
	k->names = KERNEL_NAMES_BTF_VMLINUX;
	k->names_path = xstrdup(path);
	read_vmlinux_build_id(k, false, NULL);
}

static bool open_build_dir(struct kernel *k, const char *dir, char **err)
{
	(void)err;
	k->origin = KERNEL_FROM_BUILD_DIR;
	k->build_dir = xstrdup(dir);
	char *path = xasprintf("%s/include/config/kernel.release", dir);
	k->release = read_line_file(path);
	free(path);
	if (!k->release)
		k->release = xstrdup("unknown");
	use_build_vmlinux(k);
	return true;
}

static bool open_modules(struct kernel *k, const char *kver, bool running, char **err)
{
	(void)err;
	k->origin = KERNEL_FROM_MODULES;
	k->release = xstrdup(kver);
	k->build_dir = xasprintf("/lib/modules/%s/build", kver);
	if (running) {
		char *btf = xasprintf("%s/kernel/btf/vmlinux", sysfs_root());
		if (is_file(btf)) {
			k->names = KERNEL_NAMES_BTF_SYSFS;
			k->names_path = btf;
		} else {
			free(btf);
		}
		k->build_id = kernel_running_build_id();
		return true;
	}
	use_build_vmlinux(k);
	return true;
}

/* Fill in the .config and explain what is missing. */
static void finish(struct kernel *k)
{
	if (!k->config_path) {
		char *path = xasprintf("%s/.config", k->build_dir);
		if (is_file(path))
			k->config_path = path;
		else
			free(path);
	}
	if (!k->config_path) {
		char *path = xasprintf("/boot/config-%s", k->release);
		if (is_file(path))
			k->config_path = path;
		else
			free(path);
	}
	if (k->note)
		return;
	if (k->names == KERNEL_NAMES_NONE && !is_dir(k->build_dir))
		k->note = xasprintf("no kernel store entry and no kbuild tree for kernel %s "
				    "(looked for %s/%s and %s)", k->release, kernel_store_dir(),
				    k->release, k->build_dir);
	else if (k->names == KERNEL_NAMES_NONE && !k->build_id)
		k->note = xasprintf("only headers for kernel %s (%s): no vmlinux, so no build-id "
				    "is recorded and function names cannot be checked",
				    k->release, k->build_dir);
	else if (k->names == KERNEL_NAMES_NONE)
		k->note = xasprintf("no vmlinux or BTF for kernel %s: function names cannot "
				    "be checked", k->release);
	else if (!k->build_id)
		k->note = xasprintf("no build-id note for kernel %s in %s", k->release,
				    k->vmlinux ? k->vmlinux : "/sys/kernel/notes");
}

/* A release name usable as a store directory: one path component. */
static bool store_key_ok(const char *r)
{
	return *r && !strchr(r, '/') && strcmp(r, ".") != 0 && strcmp(r, "..") != 0;
}

struct kernel *kernel_open(const char *r, char **err)
{
	struct utsname u;
	if (uname(&u) != 0)
		memset(&u, 0, sizeof u);
	const char *rel = r && *r ? r : u.release;
	struct kernel *k = xcalloc(1, sizeof *k);
	char *why = NULL;
	bool ok;
	char *entry = store_key_ok(rel) ? xasprintf("%s/%s", kernel_store_dir(), rel) : NULL;
	if (entry && is_dir(entry))
		ok = open_store(k, entry, rel, &why);
	else if (strchr(rel, '/'))
		ok = open_build_dir(k, rel, &why);
	else
		ok = open_modules(k, rel, strcmp(rel, u.release) == 0, &why);
	free(entry);
	if (!ok) {
		if (err)
			*err = why;
		else
			free(why);
		kernel_close(k);
		return NULL;
	}
	finish(k);
	return k;
}

void kernel_close(struct kernel *k)
{
	if (!k)
		return;
	free(k->release);
	free(k->build_dir);
	free(k->vmlinux);
	free(k->config_path);
	free(k->build_id);
	free(k->names_path);
	free(k->note);
	btf_unload(k->btf);
	free(k->btf_error);
	free(k);
}

struct kernel_btf *kernel_btf(struct kernel *k)
{
	if (!k->btf_tried) {
		k->btf_tried = true;
		if (k->names_path)
			k->btf = btf_load(k->names_path, &k->btf_error);
	}
	return k->btf;
}
