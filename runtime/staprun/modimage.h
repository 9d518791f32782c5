/* Reading and editing a module image in memory: what staprun checks
 * before loading (name, level, kernel) and -R.  Every offset read from the
 * image is checked against its size. */
#ifndef STAPRUN_MODIMAGE_H
#define STAPRUN_MODIMAGE_H

#include <stdbool.h>
#include <stddef.h>

/* Finds ELF64 section name in image; returns 0 and its file range, or -1
 * (not ELF64, truncated, or no such section). */
int stp_modimage_section(const char *image, size_t size, const char *name,
			 size_t *off, size_t *len);

/* -R: renames module old to a name of the same length ending in "_PID"
 * inside .gnu.linkonce.this_module; writes the new name (or old, when it
 * is too short, after a warning) to out.  0 or -1 with a message. */
int stp_modimage_rename(char *image, size_t size, const char *old, int pid,
			char *out, size_t cap, const char *prog);

/* What staprun checks in a module before loading it. */
struct stp_modimage_info {
	char elf_name[64];	/* the kernel's name for it: struct module's name */
	char info_name[64];	/* modinfo "name=", "" when absent */
	char vermagic[256];	/* modinfo "vermagic=", "" when absent */
	int required;		/* level from .stap_privilege (privilege.h rules) */
	bool has_privilege;	/* the section is there */
	char build_id[130];	/* .stap_kernel_build_id: lower-case hex, "" = none */
	size_t modinfo_off, modinfo_len;
};

/* Fills *mi; -1 when the image is not an ELF64 kernel module (no
 * .gnu.linkonce.this_module, or a name that is not a C string). */
int stp_modimage_inspect(const char *image, size_t size, struct stp_modimage_info *mi);

/* true when modinfo has "parm=NAME:" or "parmtype=NAME:" - a module
 * parameter the module declares (our translator declares every scalar
 * script global that way). */
bool stp_modimage_declares_param(const char *image, const struct stp_modimage_info *mi,
				 const char *name);

/* The GNU build-id (NT_GNU_BUILD_ID, owner "GNU") in a sequence of ELF
 * notes such as /sys/kernel/notes, as lower-case hex.  0 or -1 (none). */
int stp_notes_build_id(const void *notes, size_t len, char *hex, size_t cap);

#endif
