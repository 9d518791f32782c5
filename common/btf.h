/* Kernel function names and prototypes from BTF, read with libbpf.
 *
 * A kernel's BTF holds one FUNC per out-of-line function (about 45,000 in
 * a Debian 6.1 vmlinux among 100,000 types).  btf_load() parses it once and
 * indexes the FUNC names, so that checking a probe point's function is a
 * hash lookup and a wildcard walks the names in sorted order. */
#ifndef STAP_COMMON_BTF_H
#define STAP_COMMON_BTF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct btf;          /* libbpf's parsed BTF */
struct kernel_btf;   /* that, plus the function-name index */

/* Parse `path`: an ELF file with a .BTF section (vmlinux), or raw BTF
 * (/sys/kernel/btf/vmlinux).  NULL on failure, with *err (heap) saying why. */
struct kernel_btf *btf_load(const char *path, char **err);
void btf_unload(struct kernel_btf *kb);

/* libbpf's object, for readers of types (member paths, @cast) later. */
const struct btf *btf_raw(const struct kernel_btf *kb);

/* Number of distinct function names. */
size_t btf_function_count(const struct kernel_btf *kb);

bool btf_has_function(const struct kernel_btf *kb, const char *name);

/* Call fn(name, arg) for each distinct function name that fnmatch()es
 * glob, in strcmp order; fn returns non-zero to stop early.  Returns how
 * many names fn was called for. */
typedef int (*btf_name_fn)(const char *name, void *arg);
size_t btf_functions_matching(const struct kernel_btf *kb, const char *glob,
			      btf_name_fn fn, void *arg);

/* Up to max names closest to `name` by edit distance (for "similar
 * functions: ..." in error messages); returns how many were stored.  The
 * names point into kb. */
size_t btf_similar_functions(const struct kernel_btf *kb, const char *name,
			     const char **out, size_t max);

/* The prototype of a function.  Several static functions of one name can
 * have different prototypes; params then come from the first FUNC. */
struct btf_proto {
	uint32_t func_id;         /* BTF id of the (first) FUNC */
	int nparams;
	const char **param_names; /* nparams entries, "" when unnamed; heap array */
	bool varargs;             /* ends in "..." (not counted in nparams) */
	int nfuncs;               /* FUNC entries with this name */
	int nprotos;              /* distinct FUNC_PROTO ids among them (> 1: ambiguous) */
};

/* Fill *out; false when there is no FUNC of that name.  Free with
 * btf_proto_free(). */
bool btf_func_proto(const struct kernel_btf *kb, const char *name, struct btf_proto *out);
void btf_proto_free(struct btf_proto *p);

#endif
