/* Probe-point resolution: aliases (with wildcards and alias suffixes) and
 * the built-in probe families.
 *
 * Built-in families are written as patterns in one table below, e.g.
 * "timer.{ms|s}(n)[.randomize(n)]": `{a|b}` alternatives, `[...]` optional
 * parts, `(n)` a number argument, `(s)` a string, `(sn)` either, `(?n)` an
 * optional number.  At pass 2 a point resolves symbolically when it fits a
 * pattern; kprobe.function and kernel.function names are checked against
 * the target kernel's BTF when it has one (common/btf.c). */
#define _GNU_SOURCE
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "elab.h"
#include "privilege.h"

enum { MAX_ALIAS_DEPTH = 32, MAX_DERIVED_PER_PROBE = 100000 };

/* ---- built-in families ---- */

struct pattern_comp {
	const char *name;
	char arg;      /* 0 none, 'n' number, 's' string, 'a' any literal */
	bool arg_optional;
};

struct family {
	const char *name;          /* short name for messages and pass 3 */
	const char *spec;          /* pattern text */
	bool stapusr;              /* stapusr may use it too; stapsys and stapdev
				    * may use every family */
};

struct pattern {
	const struct family *family;
	struct pattern_comp *comps;
	int ncomps;
};

/* The stapusr column: SystemTap opens begin/end/error/never and the
 * interval timers to stapusr (what cannot touch another user's data), and
 * also process.*, java and python probes behind a run-time owner check.
 * Those have no such check here yet (pass 3 cannot translate them), so
 * they stay closed: a module is never built on a promise the runtime does
 * not keep. */
static const struct family families[] = {
	{ "begin", "begin(?n)", true },
	{ "end", "end(?n)", true },
	{ "error", "error(?n)", true },
	{ "never", "never", true },
	{ "timer", "timer.{jiffies|s|sec|ms|msec|us|usec|ns|nsec}(n)[.randomize(n)]", true },
	{ "timer", "timer.hz(n)", true },
	{ "timer.profile", "timer.profile.tick", false },
	{ "kprobe", "kprobe.function(s)[.call]", false },
	{ "kprobe", "kprobe.function(s).return[.maxactive(n)]", false },
	{ "kprobe", "kprobe.module(s).function(s)[.call]", false },
	{ "kprobe", "kprobe.module(s).function(s).return[.maxactive(n)]", false },
	{ "kprobe", "kprobe.statement(n).absolute", false },
	{ "kernel.function", "{kernel|module(s)}.function(s)[.{call|exported|inline}]", false },
	{ "kernel.function", "{kernel|module(s)}.function(s)[.{call|exported}].return[.maxactive(n)]", false },
	{ "kernel.function", "{kernel|module(s)}.function(s).{label|callee}(s)", false },
	{ "kernel.function", "{kernel|module(s)}.function(s).callees[(?n)]", false },
	{ "kernel.statement", "{kernel|module(s)}.statement(a)[.{nearest|absolute}]", false },
	{ "kernel.trace", "{kernel|module(s)}.{trace|tracepoint}(s)", false },
	{ "kernel.mark", "kernel.mark(s)[.format(s)]", false },
	{ "kernel.data", "kernel.data(a).{write|rw}[.length(n)]", false },
	{ "process", "process[(a)].{begin|end|thread.begin|thread.end}", false },
	{ "process", "process[(a)].syscall[.return]", false },
	{ "process", "process(a)[.library(s)].function(s)[.{call|exported|inline}]", false },
	{ "process", "process(a)[.library(s)].function(s)[.{call|exported}].return[.maxactive(n)]", false },
	{ "process", "process(a)[.library(s)].function(s).{label|callee}(s)", false },
	{ "process", "process(a)[.library(s)].statement(a)[.{nearest|absolute}]", false },
	{ "process", "process(a)[.library(s)].plt[(s)][.return]", false },
	{ "process", "process(a)[.library(s)][.provider(s)].mark(s)", false },
	{ "procfs", "procfs[(s)][.umask(n)].read[.maxsize(n)]", false },
	{ "procfs", "procfs[(s)][.umask(n)].write", false },
	{ "input", "input.{char|line}", false },
	{ "netfilter", "netfilter.{hook|pf|priority}(s).{hook|pf|priority}(s)[.{hook|pf|priority}(s)]", false },
	{ "perf", "perf.type(n).config(n)[.{sample|hz}(n)][.process[(s)]][.counter(s)]", false },
	{ "java", "java(a).class(s).method(s)[.return]", false },
	{ "python", "{python2|python3}.module(s).function(s)[.{call|return}]", false },
	{ NULL, NULL, false },
};

static struct pattern *patterns;
static int npatterns;

const char *family_name(const struct family *f)
{
	return f ? f->name : "alias";
}

/* Expand one pattern spec into concrete component lists. */
struct spec_state {
	struct pattern_comp comps[16];
	int ncomps;
};

static void add_pattern(const struct family *fam, const struct spec_state *st)
{
	patterns = xrealloc(patterns, (size_t)(npatterns + 1) * sizeof *patterns);
	struct pattern *p = &patterns[npatterns++];
	p->family = fam;
	p->ncomps = st->ncomps;
	p->comps = xmalloc((size_t)st->ncomps * sizeof *p->comps);
	memcpy(p->comps, st->comps, (size_t)st->ncomps * sizeof *p->comps);
}

/* Find the end of a bracketed group starting at s (s[0] is the opener). */
static const char *group_end(const char *s)
{
	int depth = 0;
	for (; *s; s++) {
		if (*s == '{' || *s == '[')
			depth++;
		else if ((*s == '}' || *s == ']') && --depth == 0)
			return s;
	}
	return s;
}

static void expand_spec(const struct family *fam, const char *spec, struct spec_state st,
			const char *rest_after);

/* Continue expansion with text `spec`, then `rest_after` (may be NULL). */
static void expand_spec(const struct family *fam, const char *spec, struct spec_state st,
			const char *rest_after)
{
	while (*spec == '.')
		spec++;
	if (!*spec) {
		if (rest_after && *rest_after)
			expand_spec(fam, rest_after, st, NULL);
		else
			add_pattern(fam, &st);
		return;
	}
	if (*spec == '[' || *spec == '{') {
		const char *end = group_end(spec);
		size_t inner_len = (size_t)(end - spec - 1);
		char *tail = rest_after ? xasprintf("%s%s", end + 1, rest_after) : xstrdup(end + 1);
		if (*spec == '[') {
			/* without the optional part, then with it */
			expand_spec(fam, tail, st, NULL);
			char *with = xasprintf("%.*s%s", (int)inner_len, spec + 1, tail);
			expand_spec(fam, with, st, NULL);
			free(with);
		} else {
			const char *alt = spec + 1;
			const char *stop = end;
			while (alt < stop) {
				const char *bar = alt;
				int depth = 0;
				while (bar < stop && !(depth == 0 && *bar == '|')) {
					if (*bar == '{' || *bar == '[') depth++;
					if (*bar == '}' || *bar == ']') depth--;
					bar++;
				}
				char *with = xasprintf("%.*s%s", (int)(bar - alt), alt, tail);
				expand_spec(fam, with, st, NULL);
				free(with);
				alt = bar + 1;
			}
		}
		free(tail);
		return;
	}
	if (*spec == '(') {
		/* argument of the previous component */
		struct pattern_comp *c = &st.comps[st.ncomps - 1];
		const char *p = spec + 1;
		c->arg_optional = *p == '?';
		if (*p == '?')
			p++;
		c->arg = p[0] == 's' && p[1] == 'n' ? 'a' : *p;
		if (*p == 'a')
			c->arg = 'a';
		expand_spec(fam, strchr(spec, ')') + 1, st, rest_after);
		return;
	}
	size_t n = strcspn(spec, ".([{|}]");
	st.comps[st.ncomps].name = xstrndup(spec, n);
	st.comps[st.ncomps].arg = 0;
	st.comps[st.ncomps].arg_optional = false;
	st.ncomps++;
	expand_spec(fam, spec + n, st, rest_after);
}

static void init_patterns(void)
{
	if (patterns)
		return;
	for (const struct family *f = families; f->name; f++) {
		struct spec_state st = { .ncomps = 0 };
		expand_spec(f, f->spec, st, NULL);
	}
}

static bool comp_matches(const struct pattern_comp *pc, const struct pp_component *c)
{
	if (fnmatch(c->name, pc->name, 0) != 0)
		return false;
	if (!c->arg)
		return pc->arg == 0 || pc->arg_optional;
	if (pc->arg == 0)
		return false;
	if (pc->arg == 'a')
		return true;
	return c->arg->is_string ? pc->arg == 's' : pc->arg == 'n';
}

static const struct pattern *match_builtin(const struct probe_point *pp)
{
	init_patterns();
	for (int k = 0; k < npatterns; k++) {
		const struct pattern *p = &patterns[k];
		if (p->ncomps != pp->ncomps)
			continue;
		int c;
		for (c = 0; c < p->ncomps; c++)
			if (!comp_matches(&p->comps[c], &pp->comps[c]))
				break;
		if (c == p->ncomps)
			return p;
	}
	return NULL;
}

/* ---- resolution ---- */

struct resolve_ctx {
	struct program *prog;
	struct probe *written;
	struct stapfile *file;
	int depth;
	int produced;
};

void index_program(struct program *prog)
{
	struct session *s = prog->s;
	for (size_t f = 0; f <= prog->library.n; f++) {
		struct stapfile *file = f == 0 ? prog->user : prog->library.v[f - 1];
		for (size_t k = 0; k < file->globals.n; k++) {
			struct vardecl *v = file->globals.v[k];
			strmap_add(&prog->globals_by_name, v->unmangled, v);
		}
		for (size_t k = 0; k < file->functions.n; k++) {
			struct functiondecl *fn = file->functions.v[k];
			strmap_add(&prog->functions_by_name, fn->unmangled, fn);
		}
		for (size_t a = 0; a < file->aliases.n; a++) {
			struct probe *al = file->aliases.v[a];
			for (int n = 0; n < al->nalias_names; n++) {
				const struct probe_point *name = al->alias_names[n];
				bool wild = false;
				for (int k = 0; k < name->ncomps; k++)
					wild |= strpbrk(name->comps[k].name, "*?[") != NULL;
				if (wild) {
					sem_error(s, name->pos, NULL,
						  "probe alias names cannot contain wildcards");
					continue;
				}
				struct alias_name *an = arena_alloc(&s->arena, sizeof *an);
				an->alias = al;
				an->index = n;
				strmap_add(&prog->aliases_by_head, al->alias_names[n]->comps[0].name, an);
				pv_push(&prog->all_aliases, an);
			}
		}
	}
}

void free_program_index(struct program *prog)
{
	strmap_free(&prog->globals_by_name);
	strmap_free(&prog->functions_by_name);
	strmap_free(&prog->aliases_by_head);
	pv_free(&prog->all_aliases);
}

void use_file(struct program *prog, struct stapfile *f)
{
	if (f->used)
		return;
	f->used = true;
	pv_push(&prog->files, f);
}

static char *pp_text(const struct probe_point *pp)
{
	struct strbuf sb;
	sb_init(&sb);
	print_probe_point(&sb, pp);
	return sb_detach(&sb);
}

/* Text of an alias definition: "a = b, c" */
static char *alias_text(struct session *s, const struct probe *alias, int name_index)
{
	struct strbuf sb;
	sb_init(&sb);
	(void)name_index;
	for (int k = 0; k < alias->nalias_names; k++) {
		print_probe_point(&sb, alias->alias_names[k]);
		sb_puts(&sb, alias->epilogue_style ? " += " : " = ");
	}
	for (int k = 0; k < alias->npoints; k++) {
		if (k)
			sb_puts(&sb, ", ");
		print_probe_point(&sb, alias->points[k]);
	}
	char *r = arena_strdup(&s->arena, sb.s);
	sb_free(&sb);
	return r;
}

static struct stmt *scoped_block(struct session *s, struct stmt *inner, struct stapfile *file,
				 struct srcpos pos)
{
	struct stmt *b = new_stmt(s, S_BLOCK, pos);
	b->body = arena_alloc(&s->arena, sizeof *b->body);
	b->body[0] = inner;
	b->nbody = 1;
	b->scope_file = file;
	return b;
}

static struct stmt *join_blocks(struct session *s, struct stmt *a, struct stmt *b,
				struct stmt *c, struct srcpos pos)
{
	struct stmt *parts[3] = { a, b, c };
	struct stmt *blk = new_stmt(s, S_BLOCK, pos);
	blk->body = arena_alloc(&s->arena, 3 * sizeof *blk->body);
	for (int k = 0; k < 3; k++)
		if (parts[k])
			blk->body[blk->nbody++] = parts[k];
	return blk;
}

static struct expr *and_cond(struct session *s, struct expr *a, struct expr *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	struct expr *e = new_expr(s, E_LOGICAL, a->pos);
	e->op = "&&";
	e->left = a;
	e->right = b;
	e->tok = a->tok;
	return e;
}

/* A copy of pp with `suffix` components appended. */
static struct probe_point *with_suffix(struct session *s, const struct probe_point *pp,
				       const struct pp_component *suffix, int nsuffix)
{
	struct probe_point *n = arena_alloc(&s->arena, sizeof *n);
	*n = *pp;
	n->ncomps = pp->ncomps + nsuffix;
	n->comps = arena_alloc(&s->arena, (size_t)n->ncomps * sizeof *n->comps);
	memcpy(n->comps, pp->comps, (size_t)pp->ncomps * sizeof *n->comps);
	memcpy(n->comps + pp->ncomps, suffix, (size_t)nsuffix * sizeof *n->comps);
	return n;
}

static int resolve_point(struct resolve_ctx *rc, const struct probe_point *pp,
			 struct stmt *body, struct expr *cond, const char *origin);

/* Does the alias name match a prefix of pp?  Returns the number of pp
 * components it covers (0 = no match).  `**` in pp is not matched here. */
static int alias_prefix_match(const struct probe_point *name, const struct probe_point *pp)
{
	if (name->ncomps > pp->ncomps)
		return 0;
	for (int k = 0; k < name->ncomps; k++) {
		const struct pp_component *c = &pp->comps[k];
		if (c->arg || name->comps[k].arg)
			return 0;
		if (fnmatch(c->name, name->comps[k].name, 0) != 0)
			return 0;
	}
	return name->ncomps;
}

static bool has_wildcard(const struct probe_point *pp)
{
	for (int k = 0; k < pp->ncomps; k++)
		if (strchr(pp->comps[k].name, '*') || strchr(pp->comps[k].name, '?') ||
		    strchr(pp->comps[k].name, '['))
			return true;
	return false;
}

/* Expand one alias (already matched over `covered` components of pp). */
static int expand_alias(struct resolve_ctx *rc, struct probe *alias, int name_index,
			const struct probe_point *pp, int covered, struct stmt *body,
			struct expr *cond, const char *origin)
{
	struct session *s = rc->prog->s;
	struct stapfile *afile = alias->file;
	use_file(rc->prog, afile);
	struct stmt *pro = NULL, *epi = NULL;
	if (alias->epilogue_style)
		epi = scoped_block(s, clone_stmt(s, alias->body), afile, alias->body->pos);
	else
		pro = scoped_block(s, clone_stmt(s, alias->body), afile, alias->body->pos);
	if (alias->epilogue)
		epi = scoped_block(s, clone_stmt(s, alias->epilogue), afile, alias->epilogue->pos);
	struct stmt *combined = join_blocks(s, pro, body, epi, body->pos);
	const char *chain = arena_printf(&s->arena, "%s <- %s", alias_text(s, alias, name_index),
					 origin);
	int total = 0;
	rc->depth++;
	for (int k = 0; k < alias->npoints; k++) {
		const struct probe_point *inner = alias->points[k];
		struct probe_point *target = with_suffix(s, inner, pp->comps + covered,
							 pp->ncomps - covered);
		target->optional = inner->optional || pp->optional;
		target->sufficient = inner->sufficient;
		/* each alternative gets its own copy of the combined body */
		struct stmt *copy = k == 0 ? combined : clone_stmt(s, combined);
		struct expr *c2 = and_cond(s, inner->cond ? clone_expr(s, inner->cond) : NULL,
					   cond ? clone_expr(s, cond) : NULL);
		int n = resolve_point(rc, target, copy, c2, chain);
		total += n;
		if (n > 0 && inner->sufficient)
			break;
	}
	rc->depth--;
	return total;
}

static bool point_is_return(const struct probe_point *pp)
{
	for (int k = 1; k < pp->ncomps; k++)
		if (!strcmp(pp->comps[k].name, "return"))
			return true;
	return false;
}

struct found_problem {
	struct srcpos pos;
	char *msg;
};

/* procfs("path") stays below /proc/systemtap/MODULE/; maxsize(N) > 0. */
static void check_procfs(const struct probe_point *pp, struct found_problem *found, int *n)
{
	const struct pp_component *c = &pp->comps[0];
	if (c->arg && c->arg->is_string) {
		const char *path = c->arg->str;
		const char *why = NULL;
		if (path[0] == '/')
			why = "procfs path cannot start with a '/'";
		else if (*path && path[strlen(path) - 1] == '/')
			why = "procfs path cannot end with a '/'";
		else if (!*path || strstr(path, "//"))
			why = "procfs path component cannot be empty";
		else {
			char *copy = xstrdup(path), *save = NULL;
			for (char *part = strtok_r(copy, "/", &save); part && !why;
			     part = strtok_r(NULL, "/", &save))
				if (!strcmp(part, ".") || !strcmp(part, ".."))
					why = "procfs path cannot be relative (and contain '.' or '..')";
			free(copy);
		}
		if (why)
			found[(*n)++] = (struct found_problem){ c->arg->pos, xstrdup(why) };
	}
	for (int k = 1; k < pp->ncomps; k++)
		if (!strcmp(pp->comps[k].name, "maxsize") && pp->comps[k].arg &&
		    pp->comps[k].arg->num <= 0)
			found[(*n)++] = (struct found_problem){ pp->comps[k].arg->pos,
				xstrdup("maxsize must be greater than 0") };
}

static void check_builtin(struct resolve_ctx *rc, const struct probe_point *pp,
			  const struct pattern *pat)
{
	struct session *s = rc->prog->s;
	/* problems are collected first: "while resolving" leads them */
	struct found_problem found[4];
	int nfound = 0;
	if (!strcmp(pp->comps[pp->ncomps - 1].name, "absolute") && !s->guru &&
	    !rc->written->privileged) {
		found[nfound++] = (struct found_problem){ pp->comps[pp->ncomps - 1].pos,
			xstrdup("absolute statement probe in unprivileged script; need stap -g") };
		goto report;
	}
	if (!strcmp(pat->family->name, "procfs")) {
		check_procfs(pp, found, &nfound);
		goto report;
	}
	if (strcmp(pat->family->name, "timer") != 0)
		return;
	const struct pp_component *c = &pp->comps[1];
	int64_t n = c->arg ? c->arg->num : 0;
	static const struct { const char *unit; int64_t ns; } units[] = {
		{ "s", 1000000000LL }, { "sec", 1000000000LL }, { "ms", 1000000LL },
		{ "msec", 1000000LL }, { "us", 1000LL }, { "usec", 1000LL }, { "ns", 1 },
		{ "nsec", 1 }, { NULL, 0 },
	};
	struct srcpos at = c->arg ? c->arg->pos : c->pos;
	if (!strcmp(c->name, "jiffies")) {
		if (n < 1 || n > 1000000)
			found[nfound++] = (struct found_problem){ at, xstrdup("interval value out of range (1, 1000000)") };
	} else if (!strcmp(c->name, "hz")) {
		if (n < 1 || n > 1000000000)
			found[nfound++] = (struct found_problem){ at, xstrdup("frequency value out of range (1, 1000000000)") };
	} else {
		for (int k = 0; units[k].unit; k++) {
			if (strcmp(units[k].unit, c->name))
				continue;
			/* 100 microseconds to one day, in the probe's own unit */
			int64_t lo = (100000 + units[k].ns - 1) / units[k].ns;
			int64_t hi = 86400LL * 1000000000LL / units[k].ns;
			if (n < lo || n > hi)
				found[nfound++] = (struct found_problem){ at,
					xasprintf("interval value out of range (%lld, %lld)",
						  (long long)lo, (long long)hi) };
		}
	}
	if (pp->ncomps == 3) {
		int64_t r = pp->comps[2].arg->num;
		if (r < 0 || r >= n)
			found[nfound++] = (struct found_problem){ pp->comps[2].arg->pos,
				xasprintf("randomize value out of range (0, %lld)", (long long)(n - 1)) };
	}
report:
	if (nfound) {
		char *text = pp_text(pp);
		sem_error(s, pp->pos, NULL, "while resolving probe point '%s'", text);
		free(text);
	}
	for (int k = 0; k < nfound; k++) {
		sem_error(s, found[k].pos, NULL, "%s", found[k].msg);
		free(found[k].msg);
	}
}

/* One derived probe for the concrete point pp; returns 1, or 0 past the
 * limit. */
static int add_derived(struct resolve_ctx *rc, const struct probe_point *pp,
		       const struct pattern *pat, struct stmt *body, struct expr *cond,
		       const char *origin)
{
	struct program *prog = rc->prog;
	if (++rc->produced > MAX_DERIVED_PER_PROBE) {
		if (rc->produced == MAX_DERIVED_PER_PROBE + 1)
			sem_error(prog->s, pp->pos, NULL, "probe expands to too many points (limit %d)",
				  MAX_DERIVED_PER_PROBE);
		return 0;
	}
	check_builtin(rc, pp, pat);
	struct derived_probe *dp = arena_alloc(&prog->s->arena, sizeof *dp);
	/* the concrete point: its ?/! and condition did their work */
	struct probe_point *concrete = arena_alloc(&prog->s->arena, sizeof *concrete);
	*concrete = *pp;
	concrete->optional = concrete->sufficient = false;
	concrete->cond = NULL;
	dp->pp = concrete;
	dp->origin = origin;
	dp->body = body;
	dp->written = rc->written;
	dp->file = rc->file;
	dp->cond = cond;
	dp->family = pat->family;
	dp->is_return = point_is_return(pp);
	dp->optional = pp->optional;
	dp->serial = (int)prog->probes.n;
	pv_push(&prog->probes, dp);
	return 1;
}

/* ---- kernel function names, checked against the kernel's BTF ---- */

enum { MAX_FUNCTION_MATCHES = 1000, MAX_SIMILAR = 5 };

/* The function component of kprobe.function("F") and kernel.function("F")
 * (with any suffix), whose F pass 2 checks; NULL for every other point.
 * kprobe.module(...) and module("m").function(...) need module BTF, which
 * comes later. */
static const struct pp_component *checked_function(const struct probe_point *pp,
						   const struct pattern *pat)
{
	if (strcmp(pat->family->name, "kprobe") && strcmp(pat->family->name, "kernel.function"))
		return NULL;
	if (pp->ncomps < 2 || strcmp(pp->comps[1].name, "function"))
		return NULL;
	if (strcmp(pp->comps[0].name, "kprobe") && strcmp(pp->comps[0].name, "kernel"))
		return NULL;
	const struct pp_component *c = &pp->comps[1];
	return c->arg && c->arg->is_string ? c : NULL;
}

/* Once per session: without BTF the points stay symbolic. */
static void warn_names_unchecked(struct session *s, const struct probe_point *pp)
{
	struct kernel_info *ki = &s->kernel;
	if (ki->names_warned)
		return;
	ki->names_warned = true;
	struct kernel *k = ki->rec;
	if (!k)
		sem_warning(s, pp->pos, NULL, "kernel function names were not checked: "
			    "the target kernel could not be resolved");
	else if (k->btf_error)
		sem_warning(s, pp->pos, NULL, "kernel function names were not checked: %s",
			    k->btf_error);
	else
		sem_warning(s, pp->pos, NULL, "kernel function names were not checked: no vmlinux "
			    "or BTF for kernel %s (%s)", k->release,
			    k->origin == KERNEL_FROM_STORE ? "kernel store entry without vmlinux"
			    : "only headers");
}

static void report_no_function(struct session *s, const struct probe_point *pp,
			       const struct pp_component *fc, const char *name,
			       const struct kernel_btf *kb)
{
	const char *similar[MAX_SIMILAR];
	size_t n = strpbrk(name, "*?[") ? 0 : btf_similar_functions(kb, name, similar, MAX_SIMILAR);
	struct strbuf sb;
	sb_init(&sb);
	for (size_t k = 0; k < n; k++)
		sb_printf(&sb, "%s%s", k ? ", " : " (similar functions: ", similar[k]);
	if (n)
		sb_putc(&sb, ')');
	char *text = pp_text(pp);
	sem_error(s, pp->pos, NULL, "while resolving probe point '%s'", text);
	sem_error(s, fc->arg->pos, NULL, "no match for kernel function '%s'%s", name, sb.s);
	free(text);
	sb_free(&sb);
}

static int collect_name(const char *name, void *arg)
{
	struct ptrvec *names = arg;
	pv_push(names, (void *)name);
	return names->n > MAX_FUNCTION_MATCHES;   /* one past the limit: stop */
}

/* A copy of pp naming the function `spec` in component `at`. */
static struct probe_point *with_function(struct session *s, const struct probe_point *pp,
					 int at, const char *spec)
{
	struct probe_point *n = arena_alloc(&s->arena, sizeof *n);
	*n = *pp;
	n->comps = arena_alloc(&s->arena, (size_t)pp->ncomps * sizeof *n->comps);
	memcpy(n->comps, pp->comps, (size_t)pp->ncomps * sizeof *n->comps);
	struct literal *lit = arena_alloc(&s->arena, sizeof *lit);
	*lit = *pp->comps[at].arg;
	lit->str = arena_strdup(&s->arena, spec);
	lit->len = strlen(spec);
	n->comps[at].arg = lit;
	return n;
}

/* May the session's level use this family?  Checked, as SystemTap does,
 * once a concrete point (aliases expanded) matched a family and before
 * anything is built; reported at the point's last component.  An optional
 * point that is not allowed yields no probe without a word, like any other
 * failure of an optional point. */
static bool family_allowed(struct session *s, const struct probe_point *pp,
			   const struct pattern *pat)
{
	int level = privilege_from_name(s->privilege);
	if (pat->family->stapusr || !privilege_is_unprivileged(level))
		return true;
	if (!pp->optional) {
		char *text = pp_text(pp);
		sem_error(s, pp->pos, NULL, "while resolving probe point '%s'", text);
		sem_error(s, pp->comps[pp->ncomps - 1].pos, NULL,
			  "probe point is not allowed for --privilege=%s", privilege_name(level));
		free(text);
	}
	return false;
}

/* Make the derived probes of one concrete point.  A kernel function is
 * checked against the kernel's BTF when there is one: an unknown name is
 * an error (nothing for an optional point), a wildcard becomes one probe
 * per matching function.  Returns how many were made (`!` counts them). */
static int make_derived(struct resolve_ctx *rc, const struct probe_point *pp,
			const struct pattern *pat, struct stmt *body, struct expr *cond,
			const char *origin)
{
	if (!family_allowed(rc->prog->s, pp, pat))
		return 0;
	const struct pp_component *fc = checked_function(pp, pat);
	if (!fc)
		return add_derived(rc, pp, pat, body, cond, origin);
	struct session *s = rc->prog->s;
	struct kernel_btf *kb = s->kernel.rec ? kernel_btf(s->kernel.rec) : NULL;
	if (!kb) {
		warn_names_unchecked(s, pp);
		return add_derived(rc, pp, pat, body, cond, origin);
	}
	/* "f@file.c:12": the file part is matched later, with line tables */
	const char *spec = fc->arg->str;
	char *name = xstrndup(spec, strcspn(spec, "@"));
	const char *file_part = spec + strlen(name);
	int made = 0;
	if (!strpbrk(name, "*?[")) {
		if (btf_has_function(kb, name))
			made = add_derived(rc, pp, pat, body, cond, origin);
		else if (!pp->optional)
			report_no_function(s, pp, fc, name, kb);
		free(name);
		return made;
	}
	struct ptrvec names = { 0 };
	btf_functions_matching(kb, name, collect_name, &names);
	if (names.n > MAX_FUNCTION_MATCHES) {
		char *text = pp_text(pp);
		sem_error(s, pp->pos, NULL, "while resolving probe point '%s'", text);
		sem_error(s, fc->arg->pos, NULL,
			  "'%s' matches more than %d kernel functions (limit %d)", name,
			  MAX_FUNCTION_MATCHES, MAX_FUNCTION_MATCHES);
		free(text);
	} else if (names.n == 0 && !pp->optional) {
		report_no_function(s, pp, fc, name, kb);
	} else {
		int at = (int)(fc - pp->comps);
		for (size_t k = 0; k < names.n; k++) {
			char *one = xasprintf("%s%s", (const char *)names.v[k], file_part);
			struct probe_point *point = with_function(s, pp, at, one);
			free(one);
			/* each probe gets its own body and condition */
			struct stmt *b = k == 0 ? body : clone_stmt(s, body);
			struct expr *c = k == 0 || !cond ? cond : clone_expr(s, cond);
			made += add_derived(rc, point, pat, b, c, origin);
		}
	}
	pv_free(&names);
	free(name);
	return made;
}

/* Resolve one probe point (which may be an alias, wildcard, or built-in)
 * with its body; returns the number of derived probes made. */
/* How many leading components of pp some alias or family could match. */
static int matched_prefix(struct program *prog, const struct probe_point *pp)
{
	init_patterns();
	int best = 0;
	for (int k = 0; k < npatterns; k++) {
		const struct pattern *p = &patterns[k];
		int c = 0;
		while (c < p->ncomps && c < pp->ncomps &&
		       fnmatch(pp->comps[c].name, p->comps[c].name, 0) == 0)
			c++;
		if (c > best)
			best = c;
	}
	for (size_t f = 0; f < prog->files.n + prog->library.n; f++) {
		struct stapfile *file = f < prog->files.n ? prog->files.v[f]
				      : prog->library.v[f - prog->files.n];
		for (size_t a = 0; a < file->aliases.n; a++) {
			struct probe *al = file->aliases.v[a];
			for (int n = 0; n < al->nalias_names; n++) {
				const struct probe_point *name = al->alias_names[n];
				int c = 0;
				while (c < name->ncomps && c < pp->ncomps &&
				       fnmatch(pp->comps[c].name, name->comps[c].name, 0) == 0)
					c++;
				if (c > best)
					best = c;
			}
		}
	}
	return best;
}

/* Is pp's first k components on their own a complete probe point? */
static bool complete_prefix(struct program *prog, const struct probe_point *pp, int k)
{
	struct probe_point head = *pp;
	head.ncomps = k;
	if (match_builtin(&head))
		return true;
	for (size_t f = 0; f < prog->files.n + prog->library.n; f++) {
		struct stapfile *file = f < prog->files.n ? prog->files.v[f]
				      : prog->library.v[f - prog->files.n];
		for (size_t a = 0; a < file->aliases.n; a++) {
			struct probe *al = file->aliases.v[a];
			for (int n = 0; n < al->nalias_names; n++)
				if (al->alias_names[n]->ncomps == k &&
				    alias_prefix_match(al->alias_names[n], &head) == k)
					return true;
		}
	}
	return false;
}

/* Report like SystemTap: the point, then the first component that
 * nothing matches. */
static void report_mismatch(struct program *prog, const struct probe_point *pp)
{
	struct session *s = prog->s;
	int k = matched_prefix(prog, pp);
	if (k >= pp->ncomps)
		k = pp->ncomps - 1;
	const struct pp_component *c = &pp->comps[k];
	char *text = pp_text(pp);
	sem_error(s, pp->pos, NULL, "while resolving probe point '%s'", text);
	if (k > 0 && complete_prefix(prog, pp, k))
		sem_error(s, c->pos, NULL, "invalid suffix for probe: '%s' cannot follow '%s'",
			  c->name, pp->comps[k - 1].name);
	else
		sem_error(s, c->pos, NULL, "probe point mismatch at position %d: '%s'", k + 1,
			  c->name);
	free(text);
}

static int resolve_point(struct resolve_ctx *rc, const struct probe_point *pp,
			 struct stmt *body, struct expr *cond, const char *origin)
{
	struct program *prog = rc->prog;
	struct session *s = prog->s;
	if (rc->depth > MAX_ALIAS_DEPTH) {
		sem_error(s, pp->pos, NULL, "probe alias expansion too deep (limit %d): recursive alias?",
			  MAX_ALIAS_DEPTH);
		return 0;
	}
	/* aliases: longest prefix match wins; wildcards may match several */
	const struct ptrvec *heads = strchr(pp->comps[0].name, '*') ||
				     strchr(pp->comps[0].name, '?') ||
				     strchr(pp->comps[0].name, '[')
		? &prog->all_aliases : strmap_get(&prog->aliases_by_head, pp->comps[0].name);
	int best = 0;
	int total = 0;
	for (size_t a = 0; heads && a < heads->n; a++) {
		const struct alias_name *an = heads->v[a];
		int m = alias_prefix_match(an->alias->alias_names[an->index], pp);
		if (m > best)
			best = m;
	}
	bool wild = has_wildcard(pp);
	/* an exact family match beats an alias used with a suffix */
	const struct pattern *pat = match_builtin(pp);
	if (best > 0 && best < pp->ncomps && pat && !wild)
		return make_derived(rc, pp, pat, body, cond, origin);
	if (best > 0) {
		/* wildcards take every match of the best length */
		struct ptrvec cands = {0};
		for (size_t a = 0; a < heads->n; a++) {
			struct alias_name *an = heads->v[a];
			if (alias_prefix_match(an->alias->alias_names[an->index], pp) == best) {
				pv_push(&cands, an->alias);
				pv_push(&cands, (void *)(intptr_t)an->index);
			}
		}
		for (size_t k = 0; k < cands.n; k += 2) {
			struct stmt *copy = k == 0 ? body : clone_stmt(s, body);
			total += expand_alias(rc, cands.v[k], (int)(intptr_t)cands.v[k + 1], pp, best,
					      copy, cond, origin);
			if (!wild)
				break;
		}
		pv_free(&cands);
		if (total > 0 || !wild)
			return total;
	}
	if (pat && !wild)
		return make_derived(rc, pp, pat, body, cond, origin);
	if (!pp->optional)
		report_mismatch(prog, pp);
	return 0;
}

void derive_probes(struct program *prog, struct probe *pr, struct stapfile *file)
{
	struct session *s = prog->s;
	struct resolve_ctx rc = { .prog = prog, .written = pr, .file = file };
	struct strbuf sb;
	sb_init(&sb);
	for (int k = 0; k < pr->npoints; k++) {
		if (k)
			sb_putc(&sb, ',');
		print_probe_point(&sb, pr->points[k]);
	}
	const char *all = arena_strdup(&s->arena, sb.s);
	sb_free(&sb);
	for (int k = 0; k < pr->npoints; k++) {
		const struct probe_point *pp = pr->points[k];
		struct stmt *body = scoped_block(s, clone_stmt(s, pr->body), file, pr->body->pos);
		const char *origin = all;
		int n = resolve_point(&rc, pp, body, pp->cond ? clone_expr(s, pp->cond) : NULL, origin);
		if (n > 0 && pp->sufficient)
			break;
	}
}
