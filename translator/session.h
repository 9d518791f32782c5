/* The translator session: options of one translation and everything the
 * passes share (arena for trees, diagnostics, loaded files, kernel facts). */
#ifndef STAP_SESSION_H
#define STAP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "kernel.h"
#include "util.h"

struct kernel_info {
	char *release;       /* "6.1.0-56-amd64" (kernel_vr) */
	char *version;       /* "6.1.0" (kernel_v): release up to the first '-' */
	char *arch;          /* "x86_64" */
	char *build_dir;     /* kbuild tree, may not exist */
	char *config_path;   /* .config that was read, NULL if none */
	char **config;       /* sorted "CONFIG_X=value" strings */
	size_t nconfig;
	bool config_warned;  /* "no .config" reported once */
	struct kernel *rec;  /* where release, tree, vmlinux, BTF come from; NULL after an error */
	bool names_warned;   /* "function names could not be checked" reported once */
};

struct session {
	struct arena arena;         /* trees and tokens live here */
	struct diag diag;

	/* command line */
	char **args;                /* script arguments ($1 ... ) */
	int nargs;
	const char *compat;         /* --compatible, systemtap_v; "4.8" */
	const char *privilege;      /* "stapusr" | "stapsys" | "stapdev" */
	bool guru;                  /* -g */
	bool unoptimized;           /* -u */
	int verbose;                /* -v count */
	struct ptrvec include_dirs; /* -I DIR (char *) */
	struct ptrvec defines;      /* -D NAME[=VAL] (char *) */
	const char *tapset_dir;     /* built-in tapset library root */
	bool no_tapsets;            /* pass 1 only: do not load the library */
	const char *module_name;    /* -m NAME */
	struct ptrvec staprun_args; /* -c/-x/-o/-b/-w/-G for pass 5, as staprun options */
	const char *runtime_dir;    /* runtime/kernel sources for pass 4 */
	const char *out_dir;        /* where pass 4 puts the .ko; NULL = "." */
	const char *cache_dir;      /* runtime object cache (rtcache.h); NULL = none */

	struct kernel_info kernel;

	/* loaded input */
	struct ptrvec files;        /* struct source_file *, owned */
	struct ptrvec library_macros; /* struct macro * from *.stpm */
	struct ptrvec stapfiles;    /* struct stapfile *, parsed */
};

void session_init(struct session *s);
void session_free(struct session *s);

/* Set the target kernel from -r (a release or a build directory) or, when
 * `r` is NULL, from uname (see kernel_open() in common/kernel.h).  Reads
 * its .config if one can be found.  False after an error that was printed
 * and counted (a build-id mismatch in the kernel store); the release and
 * build_dir fields are still set then, so later passes can go on. */
bool session_set_kernel(struct session *s, const char *r);

/* Value of CONFIG_NAME in the target's .config, "" when unset or unknown. */
const char *session_kconfig(struct session *s, const char *name);

/* Load a file into the session; NULL (with an error printed) on failure. */
struct source_file *session_load_file(struct session *s, const char *path,
				      bool privileged);
struct source_file *session_add_text(struct session *s, const char *name,
				     const char *text, bool privileged);

#endif
