/* Kernel function names and prototypes from BTF (see btf.h).
 *
 * The index: every FUNC as (name, id) sorted by name, so equal names are
 * neighbours and wildcards walk them in order; an open-addressing table
 * maps each distinct name to its first entry. */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "btf.h"
#include "util.h"

enum { MAX_SIMILAR_NAME = 128 };   /* longer names get no suggestions */

struct func_entry {
	const char *name;    /* in the BTF string section */
	uint32_t id;         /* FUNC type id */
	uint32_t proto;      /* its FUNC_PROTO type id */
};

struct kernel_btf {
	struct btf *btf;
	struct func_entry *funcs;  /* sorted by name, then id */
	size_t nfuncs;
	uint32_t *first;           /* nnames + 1 indexes into funcs: each name's first entry */
	size_t nnames;
	uint32_t *table;           /* 0 empty, else 1 + index into first[] */
	size_t mask;               /* table size - 1 (a power of two) */
	struct ptrvec alias_names; /* char *, owned: syscall stub names BTF lacks */
};

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct func_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->id < y->id ? -1 : x->id > y->id;
}

static const char *name_at(const struct kernel_btf *kb, size_t n)
{
	return kb->funcs[kb->first[n]].name;
}

static void push_entry(struct kernel_btf *kb, size_t *cap, struct func_entry e)
{
	if (kb->nfuncs == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		kb->funcs = xrealloc(kb->funcs, *cap * sizeof *kb->funcs);
	}
	kb->funcs[kb->nfuncs++] = e;
}

/* Sort the entries, then (re)build first[] and the hash table. */
static void index_names(struct kernel_btf *kb)
{
	if (kb->nfuncs)
		qsort(kb->funcs, kb->nfuncs, sizeof *kb->funcs, cmp_entry);
	free(kb->first);
	free(kb->table);
	kb->nnames = 0;
	kb->first = xmalloc((kb->nfuncs + 1) * sizeof *kb->first);
	for (size_t k = 0; k < kb->nfuncs; k++)
		if (k == 0 || strcmp(kb->funcs[k].name, kb->funcs[k - 1].name) != 0)
			kb->first[kb->nnames++] = (uint32_t)k;
	kb->first[kb->nnames] = (uint32_t)kb->nfuncs;

	size_t size = 64;
	while (size < kb->nnames * 2)
		size *= 2;
	kb->mask = size - 1;
	kb->table = xcalloc(size, sizeof *kb->table);
	for (size_t n = 0; n < kb->nnames; n++) {
		size_t i = name_hash(name_at(kb, n)) & kb->mask;
		while (kb->table[i])
			i = (i + 1) & kb->mask;
		kb->table[i] = (uint32_t)n + 1;
	}
}

static long find_name(const struct kernel_btf *kb, const char *name);

/* Is there any function whose name starts with prefix? */
static bool has_prefix(const struct kernel_btf *kb, const char *prefix)
{
	size_t lo = 0, hi = kb->nnames, n = strlen(prefix);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(name_at(kb, mid), prefix) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < kb->nnames && strncmp(name_at(kb, lo), prefix, n) == 0;
}

/* System-call entry stubs that BTF does not list.  On x86 a syscall
 * without arguments (SYSCALL_DEFINE0: getpid, fork, sync, ...) gets its
 * entry symbol __x64_sys_NAME as an *alias* of __do_sys_NAME, and an
 * alias has no FUNC of its own, although kallsyms has it and kprobes take
 * it.  For each __do_[compat_]sys_NAME, add the stub names of the ABIs
 * this kernel has stubs for (seen from its other stubs) under the same
 * FUNC. */
static void add_syscall_stub_aliases(struct kernel_btf *kb)
{
	static const char *const abis[] = { "__x64_", "__ia32_", "__x32_", "__arm64_",
					    "__s390x_", "__riscv_", NULL };
	static const char *const kinds[] = { "sys_", "compat_sys_", NULL };
	struct ptrvec stubs = { 0 };   /* "__x64_sys_" etc. present in this BTF */
	for (int a = 0; abis[a]; a++)
		for (int k = 0; kinds[k]; k++) {
			char *p = xasprintf("%s%s", abis[a], kinds[k]);
			if (has_prefix(kb, p))
				pv_push(&stubs, p);
			else
				free(p);
		}
	size_t cap = kb->nfuncs, before = kb->nfuncs;
	for (size_t k = 0; k < before && stubs.n; k++) {
		const char *name = kb->funcs[k].name;
		if (strncmp(name, "__do_", 5) != 0)
			continue;
		const char *rest = name + 5;   /* "sys_NAME" or "compat_sys_NAME" */
		for (size_t s = 0; s < stubs.n; s++) {
			const char *stub = stubs.v[s];
			size_t abi_len = strcspn(stub + 2, "_") + 3;   /* "__x64_" */
			const char *kind = stub + abi_len;             /* "sys_" */
			if (strncmp(rest, kind, strlen(kind)) != 0)
				continue;
			char *alias = xasprintf("%.*s%s", (int)abi_len, stub, rest);
			if (find_name(kb, alias) >= 0) {
				free(alias);
				continue;
			}
			pv_push(&kb->alias_names, alias);
			struct func_entry e = kb->funcs[k];
			e.name = alias;
			push_entry(kb, &cap, e);
		}
	}
	for (size_t s = 0; s < stubs.n; s++)
		free(stubs.v[s]);
	pv_free(&stubs);
	if (kb->nfuncs != before)
		index_names(kb);
}

static void build_index(struct kernel_btf *kb)
{
	uint32_t ntypes = btf__type_cnt(kb->btf);
	size_t cap = 0;
	for (uint32_t id = 1; id < ntypes; id++) {
		const struct btf_type *t = btf__type_by_id(kb->btf, id);
		if (!t || !btf_is_func(t))
			continue;
		const char *name = btf__name_by_offset(kb->btf, t->name_off);
		if (name && *name)
			push_entry(kb, &cap, (struct func_entry){ name, id, t->type });
	}
	index_names(kb);
	add_syscall_stub_aliases(kb);
}

/* Index into first[] of name, or -1. */
static long find_name(const struct kernel_btf *kb, const char *name)
{
	for (size_t i = name_hash(name) & kb->mask; kb->table[i]; i = (i + 1) & kb->mask) {
		size_t n = kb->table[i] - 1;
		if (strcmp(name_at(kb, n), name) == 0)
			return (long)n;
	}
	return -1;
}

static int discard_libbpf_message(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static bool is_elf_file(const char *path)
{
	unsigned char magic[4] = { 0 };
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	size_t n = fread(magic, 1, sizeof magic, f);
	fclose(f);
	return n == 4 && memcmp(magic, "\177ELF", 4) == 0;
}

struct kernel_btf *btf_load(const char *path, char **err)
{
	/* libbpf prints its own complaints to stderr; ours say it once */
	libbpf_print_fn_t old = libbpf_set_print(discard_libbpf_message);
	bool elf = is_elf_file(path);
	errno = 0;
	struct btf *b = elf ? btf__parse(path, NULL) : btf__parse_raw(path);
	int e = errno;
	libbpf_set_print(old);
	if (!b) {
		if (err) {
			const char *why = e == ENOENT && elf ? "the ELF file has no .BTF section"
				: e ? strerror(e) : "not BTF";
			*err = xasprintf("cannot read BTF from %s: %s", path, why);
		}
		return NULL;
	}
	struct kernel_btf *kb = xcalloc(1, sizeof *kb);
	kb->btf = b;
	build_index(kb);
	return kb;
}

void btf_unload(struct kernel_btf *kb)
{
	if (!kb)
		return;
	btf__free(kb->btf);
	free(kb->funcs);
	free(kb->first);
	free(kb->table);
	for (size_t k = 0; k < kb->alias_names.n; k++)
		free(kb->alias_names.v[k]);
	pv_free(&kb->alias_names);
	free(kb);
}

const struct btf *btf_raw(const struct kernel_btf *kb)
{
	return kb->btf;
}

size_t btf_function_count(const struct kernel_btf *kb)
{
	return kb->nnames;
}

bool btf_has_function(const struct kernel_btf *kb, const char *name)
{
	return find_name(kb, name) >= 0;
}

/* First index into first[] whose name is >= key. */
static size_t lower_bound(const struct kernel_btf *kb, const char *key)
{
	size_t lo = 0, hi = kb->nnames;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(name_at(kb, mid), key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t btf_functions_matching(const struct kernel_btf *kb, const char *glob,
			      btf_name_fn fn, void *arg)
{
	size_t fixed = strcspn(glob, "*?[\\");
	if (!glob[fixed]) {
		long n = find_name(kb, glob);
		if (n < 0)
			return 0;
		fn(name_at(kb, (size_t)n), arg);
		return 1;
	}
	/* only names that start with the literal prefix can match */
	char *prefix = xstrndup(glob, fixed);
	size_t count = 0;
	for (size_t n = lower_bound(kb, prefix); n < kb->nnames; n++) {
		const char *name = name_at(kb, n);
		if (strncmp(name, prefix, fixed) != 0)
			break;
		if (fnmatch(glob, name, 0) != 0)
			continue;
		count++;
		if (fn(name, arg))
			break;
	}
	free(prefix);
	return count;
}

/* Levenshtein distance, or limit + 1 once it must exceed limit. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb, size_t limit)
{
	size_t row[MAX_SIMILAR_NAME + 1];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0], best = i;
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t v = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
			if (v < best)
				best = v;
		}
		if (best > limit)
			return limit + 1;
	}
	return row[lb];
}

size_t btf_similar_functions(const struct kernel_btf *kb, const char *name,
			     const char **out, size_t max)
{
	size_t len = strlen(name);
	if (len == 0 || len > MAX_SIMILAR_NAME || max == 0)
		return 0;
	size_t limit = len / 3 < 1 ? 1 : len / 3 > 4 ? 4 : len / 3;
	size_t *dist = xmalloc(max * sizeof *dist);
	size_t found = 0;
	for (size_t n = 0; n < kb->nnames; n++) {
		const char *cand = name_at(kb, n);
		size_t lc = strlen(cand);
		if (lc > MAX_SIMILAR_NAME || (lc > len ? lc - len : len - lc) > limit)
			continue;
		size_t d = edit_distance(name, len, cand, lc, limit);
		if (d > limit || (found == max && d >= dist[found - 1]))
			continue;
		/* insert in (distance, name) order; names arrive sorted */
		size_t at = found < max ? found++ : max - 1;
		while (at > 0 && dist[at - 1] > d) {
			out[at] = out[at - 1];
			dist[at] = dist[at - 1];
			at--;
		}
		out[at] = cand;
		dist[at] = d;
	}
	free(dist);
	return found;
}

bool btf_func_proto(const struct kernel_btf *kb, const char *name, struct btf_proto *out)
{
	memset(out, 0, sizeof *out);
	long n = find_name(kb, name);
	if (n < 0)
		return false;
	size_t lo = kb->first[n], hi = kb->first[n + 1];
	const struct func_entry *f = &kb->funcs[lo];
	out->func_id = f->id;
	out->nfuncs = (int)(hi - lo);
	for (size_t k = lo; k < hi; k++) {
		size_t j = lo;
		while (j < k && kb->funcs[j].proto != kb->funcs[k].proto)
			j++;
		if (j == k)
			out->nprotos++;
	}
	const struct btf_type *proto = btf__type_by_id(kb->btf, f->proto);
	if (!proto || !btf_is_func_proto(proto))
		return true;
	const struct btf_param *p = btf_params(proto);
	int vlen = btf_vlen(proto);
	out->param_names = xcalloc((size_t)vlen + 1, sizeof *out->param_names);
	for (int k = 0; k < vlen; k++) {
		if (k == vlen - 1 && p[k].type == 0 && p[k].name_off == 0) {
			out->varargs = true;
			break;
		}
		const char *pn = btf__name_by_offset(kb->btf, p[k].name_off);
		out->param_names[out->nparams++] = pn ? pn : "";
	}
	return true;
}

void btf_proto_free(struct btf_proto *p)
{
	free(p->param_names);
	p->param_names = NULL;
	p->nparams = 0;
}
