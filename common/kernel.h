/* The target kernel of a translation: one record saying where its kbuild
 * tree, vmlinux, .config, build-id and function names come from.
 *
 * kernel_open(r) resolves `stap -r KVER|DIR` (r NULL: the running kernel):
 *   1. the kernel store, $STAP_KERNEL_STORE (default /var/lib/stapcs/kernels),
 *      when it has a directory KVER (written by scripts/stap-prep):
 *        KVER/release   one line, KVER
 *        KVER/vmlinux   uncompressed ELF with .BTF and .notes
 *        KVER/build-id  one line, lowercase hex NT_GNU_BUILD_ID
 *        KVER/config    the kernel's .config
 *        KVER/build     symlink to the kbuild tree
 *   2. r names a directory (has a '/'): a kbuild tree (release from
 *      include/config/kernel.release, DIR/vmlinux when built there);
 *   3. /lib/modules/KVER/build, plus /sys/kernel/notes (build-id) and
 *      /sys/kernel/btf/vmlinux (BTF) only when KVER is the running kernel.
 *      $STAP_SYSFS (default /sys) moves that sysfs root, for tests.
 * The .config falls back to /boot/config-KVER.  A vmlinux build-id that
 * differs from the store's build-id file is an error, never a silently
 * wrong module. */
#ifndef STAP_COMMON_KERNEL_H
#define STAP_COMMON_KERNEL_H

#include <stdbool.h>
#include <stddef.h>

#include "btf.h"   /* what kernel_btf() returns is queried with btf.h */

#define KERNEL_STORE_DEFAULT "/var/lib/stapcs/kernels"

enum kernel_origin {
	KERNEL_FROM_STORE,      /* $STAP_KERNEL_STORE/KVER */
	KERNEL_FROM_BUILD_DIR,  /* -r DIR */
	KERNEL_FROM_MODULES,    /* /lib/modules/KVER/build */
};

/* Where function names (for pass-2 checks and wildcards) come from. */
enum kernel_names {
	KERNEL_NAMES_NONE,         /* headers only: names cannot be checked */
	KERNEL_NAMES_BTF_VMLINUX,  /* the .BTF section of vmlinux */
	KERNEL_NAMES_BTF_SYSFS,    /* /sys/kernel/btf/vmlinux of the running kernel */
};

struct kernel {
	char *release;        /* "6.1.0-56-amd64" */
	char *build_dir;      /* kbuild tree (may not exist) */
	char *vmlinux;        /* uncompressed vmlinux ELF, NULL if none */
	char *config_path;    /* .config found, NULL if none */
	char *build_id;       /* lowercase hex NT_GNU_BUILD_ID, NULL if unknown */
	enum kernel_origin origin;
	enum kernel_names names;
	char *names_path;     /* the file BTF is read from; NULL with KERNEL_NAMES_NONE */
	char *note;           /* what is missing and why ("only headers ..."), or NULL */

	struct kernel_btf *btf;  /* loaded by kernel_btf() */
	char *btf_error;         /* why loading failed */
	bool btf_tried;
};

/* Resolve r as above.  NULL only on a contradiction (build-id mismatch,
 * a store entry for another release), with *err (heap) saying what; a
 * kernel with nothing on disk still gets a record. */
struct kernel *kernel_open(const char *r, char **err);
void kernel_close(struct kernel *k);

/* The kernel's BTF, parsed on first use; NULL when there is none or it
 * cannot be read (k->btf_error then says why). */
struct kernel_btf *kernel_btf(struct kernel *k);

/* One line for messages: where names come from, or why there are none. */
const char *kernel_names_text(enum kernel_names n);

/* NT_GNU_BUILD_ID of an ELF file, from its SHT_NOTE sections, as lowercase
 * hex (heap); NULL when it has none or is not ELF (*err then says why). */
char *kernel_elf_build_id(const char *path, char **err);

/* NT_GNU_BUILD_ID from a raw note sequence such as /sys/kernel/notes. */
char *kernel_notes_build_id(const void *buf, size_t len);
/* The running kernel's build-id from $STAP_SYSFS/kernel/notes (default
 * /sys); NULL if unavailable.  Caller frees. */
char *kernel_running_build_id(void);

/* $STAP_KERNEL_STORE or the default. */
const char *kernel_store_dir(void);

#endif
