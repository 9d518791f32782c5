/* Symbol resolution: binds every name in the used code to a local, a
 * parameter, a global or a function, pulling tapset files into the
 * program when they define what a script needs, until nothing new comes
 * in.  Also checks the uses that need no types: arrays that are not
 * global, break/continue outside loops, @entry outside return probes,
 * probe conditions on locals, and stores into an array under foreach. */
#include <stdlib.h>
#include <string.h>

#include "elab.h"
#include "privilege.h"

/* A call made inside foreach loops, checked once every function's writes
 * are known. */
struct foreach_call {
	struct expr *call;
	struct vardecl **arrays;      /* arrays being iterated at the call */
	int narrays;
};

static struct ptrvec foreach_calls;  /* struct foreach_call *, this run */

struct scope {
	struct program *prog;
	struct stapfile *file;        /* whose private names are visible */
	struct ptrvec *locals;        /* where new locals go */
	struct functiondecl *func;    /* NULL in probes */
	struct derived_probe *probe;  /* NULL in functions */
	int loops;                    /* enclosing loop depth */
	bool in_cond;                 /* probe condition: globals only */
	struct ptrvec iterating;      /* vardecl * of arrays under foreach */
};

static void resolve_expr(struct scope *sc, struct expr *e);
static void resolve_stmt(struct scope *sc, struct stmt *st);

static bool visible(const struct stapfile *owner, bool is_private, const struct scope *sc)
{
	return !is_private || owner == sc->file;
}

static void use_global(struct program *prog, struct vardecl *v)
{
	if (v->file && !v->file->used)
		use_file(prog, v->file);
	if (!v->in_program) {
		v->in_program = true;
		pv_push(&prog->globals, v);
	}
}

/* Globals: the current file's, then those of files in use, then the first
 * library file that declares one (which comes into the program). */
static struct vardecl *lookup_global(struct scope *sc, const char *name)
{
	struct program *prog = sc->prog;
	const struct ptrvec *all = strmap_get(&prog->globals_by_name, name);
	struct vardecl *best = NULL;
	int best_rank = 3;   /* 0 own file, 1 file in use, 2 library */
	for (size_t k = 0; all && k < all->n; k++) {
		struct vardecl *v = all->v[k];
		if (!visible(v->file, v->is_private, sc))
			continue;
		int rank = v->file == sc->file ? 0 : v->file->used ? 1 : 2;
		if (rank < best_rank) {
			best = v;
			best_rank = rank;
		}
	}
	if (best)
		use_global(prog, best);
	return best;
}

static struct vardecl *find_local(struct scope *sc, const char *name)
{
	if (sc->func)
		for (int k = 0; k < sc->func->nparams; k++)
			if (!strcmp(sc->func->params[k]->name, name))
				return sc->func->params[k];
	for (size_t k = 0; k < sc->locals->n; k++) {
		struct vardecl *v = sc->locals->v[k];
		if (!strcmp(v->name, name))
			return v;
	}
	return NULL;
}

static struct vardecl *new_local(struct scope *sc, const struct expr *e)
{
	struct vardecl *v = arena_alloc(&sc->prog->s->arena, sizeof *v);
	v->name = v->unmangled = e->name;
	v->pos = e->pos;
	v->tok = e->tok;
	v->file = sc->file;
	v->arity = 0;
	v->arity_pos = e->pos;
	v->arity_tok = e->tok;
	v->hist_kind = -1;
	v->variance_shift = -1;
	pv_push(sc->locals, v);
	return v;
}

/* Settle or check how many indexes a variable takes (0 = scalar). */
static void check_arity(struct scope *sc, struct vardecl *v, int arity, const struct expr *e)
{
	struct session *s = sc->prog->s;
	if (arity < 0)
		return;
	if (arity == 0 && v->maxsize) {
		sem_error(s, e->pos, e->tok,
			  "inconsistent arity: '%s' is declared as an array ([%lld]) but used as a scalar",
			  v->unmangled, (long long)v->maxsize);
		return;
	}
	if (v->arity < 0) {
		v->arity = arity;
		v->arity_pos = e->pos;
		v->arity_tok = e->tok;
		if (arity > 0)
			v->index_types = arena_alloc(&s->arena, (size_t)arity * sizeof *v->index_types);
	} else if (v->arity != arity) {
		sem_error(s, e->pos, e->tok, "inconsistent arity (%d vs %d)", v->arity, arity);
		sem_error(s, v->arity_pos, v->arity_tok, "arity %d first inferred here", v->arity);
	}
}

/* Resolve a plain name.  `arity`: indexes it is used with (0 = scalar),
 * or -1 where any arity fits (delete x). */
static struct vardecl *resolve_name(struct scope *sc, struct expr *e, int arity)
{
	struct session *s = sc->prog->s;
	struct vardecl *v = find_local(sc, e->name);
	if (!v)
		v = lookup_global(sc, e->name);
	if (sc->in_cond && (!v || !v->is_global)) {
		sem_error(s, e->pos, e->tok, "probe condition must not reference undeclared global");
		return NULL;
	}
	if (!v) {
		if (arity > 0) {
			sem_error(s, e->pos, e->tok,
				  "unresolved arity-%d global array %s, missing global declaration?",
				  arity, e->name);
			return NULL;
		}
		v = new_local(sc, e);
		/* input.char and input.line hand the script its input in a local */
		if (sc->probe && sc->probe->family &&
		    !strcmp(family_name(sc->probe->family), "input") &&
		    (!strcmp(e->name, "char") || !strcmp(e->name, "line"))) {
			v->type = T_STRING;
			v->type_pos = e->pos;
			v->type_tok = e->tok;
			v->type_pos_set = true;
		}
	}
	check_arity(sc, v, arity, e);
	e->referent = v;
	return v;
}

/* ---- functions ---- */

static void use_function(struct program *prog, struct functiondecl *f)
{
	if (f->used)
		return;
	f->used = true;
	if (!f->file->used)
		use_file(prog, f->file);
	pv_push(&prog->functions, f);
}

static int cmp_overload(const void *a, const void *b)
{
	const struct functiondecl *x = *(struct functiondecl *const *)a;
	const struct functiondecl *y = *(struct functiondecl *const *)b;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return x->serial - y->serial;
}

/* Edit distance, for "similar:" suggestions (bounded: names are short). */
static int distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	if (n > 64 || m > 64)
		return 99;
	int row[65];
	for (size_t j = 0; j <= m; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= n; i++) {
		int prev = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= m; j++) {
			int cur = row[j];
			int best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best) best = row[j] + 1;
			if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[m];
}

static void all_files(struct program *prog, struct ptrvec *out)
{
	for (size_t k = 0; k < prog->files.n; k++)
		pv_push(out, prog->files.v[k]);
	for (size_t k = 0; k < prog->library.n; k++)
		if (!((struct stapfile *)prog->library.v[k])->used)
			pv_push(out, prog->library.v[k]);
}

static char *similar_functions(struct scope *sc, const char *name)
{
	struct ptrvec files = {0};
	all_files(sc->prog, &files);
	const char *best[5] = {0};
	int bestd[5] = { 99, 99, 99, 99, 99 };
	for (size_t f = 0; f < files.n; f++) {
		struct stapfile *file = files.v[f];
		for (size_t k = 0; k < file->functions.n; k++) {
			struct functiondecl *fn = file->functions.v[k];
			if (!visible(file, fn->is_private, sc) || fn->unmangled[0] == '_')
				continue;
			int d = distance(name, fn->unmangled);
			if (d > 3)
				continue;
			bool dup = false;
			for (int j = 0; j < 5; j++)
				if (best[j] && !strcmp(best[j], fn->unmangled))
					dup = true;
			for (int j = 0; j < 5 && !dup; j++) {
				if (d < bestd[j]) {
					for (int m = 4; m > j; m--) {
						best[m] = best[m - 1];
						bestd[m] = bestd[m - 1];
					}
					best[j] = fn->unmangled;
					bestd[j] = d;
					break;
				}
			}
		}
	}
	pv_free(&files);
	if (!best[0])
		return NULL;
	struct strbuf sb;
	sb_init(&sb);
	for (int j = 0; j < 5 && best[j]; j++)
		sb_printf(&sb, "%s%s", j ? ", " : "", best[j]);
	return sb_detach(&sb);
}

/* SystemTap's rule for the functions a call may reach (privilege.h),
 * checked at every call, a tapset's own calls included: a function with
 * embedded C that stapusr may not run is reported at its declaration, a
 * guru function called without -g at the call. */
static void check_call_privilege(struct scope *sc, const struct expr *call,
				 const struct functiondecl *f)
{
	struct session *s = sc->prog->s;
	int level = privilege_from_name(s->privilege);
	bool caller_privileged = s->guru || (sc->file && sc->file->privileged);
	switch (privilege_call_refusal(level, f, caller_privileged)) {
	case CALL_ALLOWED:
		break;
	case CALL_NEEDS_PRIVILEGE:
		sem_error(s, f->pos, f->tok, "function may not be used when --privilege=%s is specified",
			  privilege_name(level));
		break;
	case CALL_NEEDS_GURU:
		sem_error(s, call->pos, call->tok, "function may not be used unless -g is specified");
		break;
	}
}

static void resolve_call(struct scope *sc, struct expr *e)
{
	struct program *prog = sc->prog;
	struct session *s = prog->s;
	if (sc->iterating.n) {
		struct foreach_call *fc = arena_alloc(&s->arena, sizeof *fc);
		fc->call = e;
		fc->narrays = (int)sc->iterating.n;
		fc->arrays = arena_alloc(&s->arena, sc->iterating.n * sizeof *fc->arrays);
		memcpy(fc->arrays, sc->iterating.v, sc->iterating.n * sizeof *fc->arrays);
		pv_push(&foreach_calls, fc);
	}
	struct ptrvec same_name = {0};
	const struct ptrvec *all = strmap_get(&prog->functions_by_name, e->name);
	for (size_t k = 0; all && k < all->n; k++) {
		struct functiondecl *fn = all->v[k];
		if (visible(fn->file, fn->is_private, sc))
			pv_push(&same_name, fn);
	}
	struct ptrvec chain = {0};
	for (size_t k = 0; k < same_name.n; k++) {
		struct functiondecl *fn = same_name.v[k];
		if (fn->nparams == e->nargs)
			pv_push(&chain, fn);
	}
	if (same_name.n == 0) {
		char *sim = similar_functions(sc, e->name);
		if (sim)
			sem_error(s, e->pos, e->tok, "unresolved function %s (similar: %s)", e->name, sim);
		else
			sem_error(s, e->pos, e->tok, "unresolved function %s", e->name);
		free(sim);
	} else if (chain.n == 0) {
		struct functiondecl *fn = same_name.v[0];
		sem_error(s, e->pos, e->tok, "arity mismatch found (function '%s' takes %d args)",
			  e->name, fn->nparams);
	} else {
		qsort(chain.v, chain.n, sizeof *chain.v, cmp_overload);
		e->func = chain.v[0];
		e->noverloads = (int)chain.n;
		e->overloads = arena_alloc(&s->arena, chain.n * sizeof *e->overloads);
		for (size_t k = 0; k < chain.n; k++) {
			e->overloads[k] = chain.v[k];
			check_call_privilege(sc, e, chain.v[k]);
			use_function(prog, chain.v[k]);
		}
	}
	pv_free(&same_name);
	pv_free(&chain);
	for (int k = 0; k < e->nargs; k++)
		resolve_expr(sc, e->args[k]);
}

/* ---- stores into arrays under foreach ---- */

static struct vardecl *stored_array(const struct expr *target)
{
	if (target && target->kind == E_ARRAYINDEX && target->base->kind == E_SYMBOL)
		return target->base->referent;
	if (target && target->kind == E_SYMBOL && target->referent &&
	    target->referent->arity > 0)
		return target->referent;
	return NULL;
}

static void check_store(struct scope *sc, const struct expr *target, const struct expr *at)
{
	struct vardecl *v = stored_array(target);
	if (!v)
		return;
	for (size_t k = 0; k < sc->iterating.n; k++)
		if (sc->iterating.v[k] == v)
			sem_error(sc->prog->s, target->pos, target->tok ? target->tok : at->tok,
				  "variable '%s' modified during 'foreach' iteration", v->unmangled);
}

/* ---- walkers ---- */

static void resolve_indexable(struct scope *sc, struct expr *base, int arity)
{
	if (base->kind == E_SYMBOL) {
		/* the arity itself is settled by type inference */
		resolve_name(sc, base, arity);
	} else {
		resolve_expr(sc, base);
	}
}

static void resolve_args(struct scope *sc, struct expr **args, int n)
{
	for (int k = 0; k < n; k++)
		if (args[k])
			resolve_expr(sc, args[k]);
}

static bool family_has_context(const struct derived_probe *dp)
{
	if (!dp || !dp->family)
		return true;
	const char *f = family_name(dp->family);
	const struct probe_point *pp = dp->pp;
	if (!strcmp(pp->comps[pp->ncomps - 1].name, "absolute"))
		return false;   /* a raw address has no debug scope */
	return !strcmp(f, "kernel.function") || !strcmp(f, "kernel.statement") ||
	       !strcmp(f, "kernel.trace") || !strcmp(f, "kernel.mark") ||
	       !strcmp(f, "process") || !strcmp(f, "procfs") || !strcmp(f, "netfilter") ||
	       !strcmp(f, "perf") || !strcmp(f, "java") || !strcmp(f, "python");
}

static void resolve_expr(struct scope *sc, struct expr *e)
{
	struct session *s = sc->prog->s;
	switch (e->kind) {
	case E_NUMBER: case E_STRING: case E_EMBEDDED: case E_PERF: case E_CONST:
	case E_REGISTER: case E_TARGET_VARS:
		break;
	case E_SYMBOL:
		resolve_name(sc, e, 0);
		break;
	case E_ARRAYINDEX:
		resolve_indexable(sc, e->base, e->nargs);
		/* a '*' slot is checked by type inference */
		resolve_args(sc, e->args, e->nargs);
		break;
	case E_FUNCALL:
		resolve_call(sc, e);
		break;
	case E_PRINT:
		resolve_args(sc, e->args, e->nargs);
		break;
	case E_UNARY: case E_BINARY: case E_LOGICAL: case E_COMPARE: case E_CONCAT:
	case E_REGEX:
		resolve_expr(sc, e->left);
		if (e->right)
			resolve_expr(sc, e->right);
		break;
	case E_TERNARY:
		resolve_expr(sc, e->cond);
		resolve_expr(sc, e->left);
		resolve_expr(sc, e->right);
		break;
	case E_ASSIGN:
		resolve_expr(sc, e->left);
		resolve_expr(sc, e->right);
		check_store(sc, e->left, e);
		break;
	case E_PREINC: case E_POSTINC:
		resolve_expr(sc, e->left);
		check_store(sc, e->left, e);
		break;
	case E_IN:
		resolve_args(sc, e->args, e->nargs);
		resolve_indexable(sc, e->base, e->nargs);
		break;
	case E_STATOP: case E_HIST:
		resolve_expr(sc, e->left);
		break;
	case E_TARGET:
		if (sc->probe && !family_has_context(sc->probe))
			sem_error(s, e->pos, e->tok,
				  "unresolved target-symbol expression ('%s' probes have no target variables)",
				  family_name(sc->probe->family));
		for (int k = 0; k < e->ncomps; k++)
			if (e->comps[k].index)
				resolve_expr(sc, e->comps[k].index);
		break;
	case E_CAST: case E_ATVAR: case E_AUTOCAST:
		if (e->left)
			resolve_expr(sc, e->left);
		for (int k = 0; k < e->ncomps; k++)
			if (e->comps[k].index)
				resolve_expr(sc, e->comps[k].index);
		break;
	case E_DEFINED:
		/* a $variable counts as defined where the family provides context;
		 * passes 3-4 refine this with the kernel's type information */
		if (e->left->kind == E_TARGET || e->left->kind == E_TARGET_VARS)
			e->num = family_has_context(sc->probe) ? 1 : 0;
		else if (e->left->kind == E_SYMBOL)
			e->num = find_local(sc, e->left->name) || lookup_global(sc, e->left->name);
		else
			e->num = 1;
		if (e->num && e->left->kind != E_TARGET && e->left->kind != E_TARGET_VARS)
			resolve_expr(sc, e->left);
		break;
	case E_ENTRY:
		if (!sc->probe || !sc->probe->is_return)
			sem_error(s, e->pos, e->tok, "@entry is only valid in .return probes");
		resolve_expr(sc, e->left);
		break;
	case E_PROBEWRITE:
		break;
	case E_DEREF:
		resolve_expr(sc, e->left);
		break;
	}
}

static void resolve_delete(struct scope *sc, struct stmt *st)
{
	struct expr *e = st->e;
	if (e->kind == E_ARRAYINDEX && e->base->kind == E_SYMBOL) {
		resolve_indexable(sc, e->base, e->nargs);
		resolve_args(sc, e->args, e->nargs);
	} else if (e->kind == E_SYMBOL) {
		resolve_name(sc, e, -1);
	} else {
		sem_error(sc->prog->s, e->pos, e->tok, "'delete' needs a variable or array element");
		return;
	}
	check_store(sc, e, e);
}

static void resolve_stmt(struct scope *sc, struct stmt *st)
{
	struct session *s = sc->prog->s;
	switch (st->kind) {
	case S_NULL: case S_EMBEDDED: case S_NEXT:
		break;
	case S_BLOCK: {
		struct stapfile *saved = sc->file;
		if (st->scope_file)
			sc->file = st->scope_file;
		for (int k = 0; k < st->nbody; k++)
			resolve_stmt(sc, st->body[k]);
		sc->file = saved;
		break;
	}
	case S_EXPR:
		resolve_expr(sc, st->e);
		break;
	case S_IF:
		resolve_expr(sc, st->e);
		resolve_stmt(sc, st->then);
		if (st->els)
			resolve_stmt(sc, st->els);
		break;
	case S_WHILE: case S_FOR:
		if (st->init)
			resolve_expr(sc, st->init);
		if (st->e)
			resolve_expr(sc, st->e);
		if (st->incr)
			resolve_expr(sc, st->incr);
		sc->loops++;
		resolve_stmt(sc, st->then);
		sc->loops--;
		break;
	case S_FOREACH: {
		resolve_indexable(sc, st->fe_base, st->fe_nkeys);
		for (int k = 0; k < st->fe_nkeys; k++)
			resolve_name(sc, st->fe_keys[k], 0);
		if (st->fe_value)
			resolve_name(sc, st->fe_value, 0);
		resolve_args(sc, st->fe_slice, st->fe_nslice);
		if (st->fe_limit)
			resolve_expr(sc, st->fe_limit);
		if (st->fe_base->kind == E_HIST && st->fe_nkeys != 1)
			sem_error(s, st->pos, st->tok, "a histogram foreach takes exactly one key");
		if (st->fe_nslice && st->fe_nslice != st->fe_nkeys)
			sem_error(s, st->pos, st->tok,
				  "foreach slice has %d indexes but %d keys", st->fe_nslice,
				  st->fe_nkeys);
		struct vardecl *arr = st->fe_base->kind == E_SYMBOL ? st->fe_base->referent : NULL;
		if (arr)
			pv_push(&sc->iterating, arr);
		sc->loops++;
		resolve_stmt(sc, st->then);
		sc->loops--;
		if (arr)
			sc->iterating.n--;
		break;
	}
	case S_RETURN:
		if (st->e)
			resolve_expr(sc, st->e);
		break;
	case S_DELETE:
		resolve_delete(sc, st);
		break;
	case S_BREAK: case S_CONTINUE:
		if (sc->loops == 0)
			sem_error(s, st->pos, st->tok, "cannot '%s' outside loop",
				  st->kind == S_BREAK ? "break" : "continue");
		break;
	case S_TRY:
		resolve_stmt(sc, st->then);
		if (st->catch_var)
			resolve_name(sc, st->catch_var, 0);
		resolve_stmt(sc, st->els);
		break;
	}
}

static void resolve_probe(struct program *prog, struct derived_probe *dp)
{
	struct scope sc = { .prog = prog, .file = dp->file, .locals = &dp->locals, .probe = dp };
	resolve_stmt(&sc, dp->body);
	if (dp->cond) {
		sc.in_cond = true;
		resolve_expr(&sc, dp->cond);
		sc.in_cond = false;
	}
	pv_free(&sc.iterating);
}

static void resolve_function(struct program *prog, struct functiondecl *f)
{
	if (!f->body)
		return;
	struct scope sc = { .prog = prog, .file = f->file, .locals = &f->locals, .func = f };
	resolve_stmt(&sc, f->body);
	pv_free(&sc.iterating);
}

/* ---- what each function writes, transitively ---- */

static void writes_expr(struct functiondecl *f, const struct expr *e);

/* Returns true when v was not yet known as written by f. */
static bool add_written(struct functiondecl *f, struct vardecl *v)
{
	for (size_t k = 0; k < f->writes.n; k++)
		if (f->writes.v[k] == v)
			return false;
	pv_push(&f->writes, v);
	return true;
}

static void add_write(struct functiondecl *f, const struct expr *target)
{
	struct vardecl *v = stored_array(target);
	if (v)
		add_written(f, v);
}

static void writes_stmt(struct functiondecl *f, const struct stmt *st)
{
	if (!st)
		return;
	for (int k = 0; k < st->nbody; k++)
		writes_stmt(f, st->body[k]);
	if (st->kind == S_DELETE)
		add_write(f, st->e);
	writes_expr(f, st->e);
	writes_expr(f, st->init);
	writes_expr(f, st->incr);
	writes_expr(f, st->fe_limit);
	writes_stmt(f, st->then);
	writes_stmt(f, st->els);
}

static void writes_expr(struct functiondecl *f, const struct expr *e)
{
	if (!e)
		return;
	if (e->kind == E_ASSIGN || e->kind == E_PREINC || e->kind == E_POSTINC)
		add_write(f, e->left);
	if (e->kind == E_FUNCALL)
		for (int k = 0; k < e->noverloads; k++)
			pv_push(&f->callees, e->overloads[k]);
	writes_expr(f, e->left);
	writes_expr(f, e->right);
	writes_expr(f, e->cond);
	for (int k = 0; k < e->nargs; k++)
		writes_expr(f, e->args[k]);
}

static void check_foreach_calls(struct program *prog)
{
	for (size_t k = 0; k < prog->functions.n; k++) {
		struct functiondecl *f = prog->functions.v[k];
		writes_stmt(f, f->body);
	}
	/* close over calls until nothing new is learned */
	for (bool grew = true; grew;) {
		grew = false;
		for (size_t k = 0; k < prog->functions.n; k++) {
			struct functiondecl *f = prog->functions.v[k];
			for (size_t c = 0; c < f->callees.n; c++) {
				struct functiondecl *g = f->callees.v[c];
				for (size_t w = 0; w < g->writes.n; w++)
					grew |= add_written(f, g->writes.v[w]);
			}
		}
	}
	for (size_t k = 0; k < foreach_calls.n; k++) {
		struct foreach_call *fc = foreach_calls.v[k];
		struct functiondecl *f = fc->call->func;
		for (int o = 0; f && o < fc->call->noverloads; o++) {
			struct functiondecl *g = fc->call->overloads[o];
			for (size_t w = 0; w < g->writes.n; w++)
				for (int a = 0; a < fc->narrays; a++)
					if (g->writes.v[w] == fc->arrays[a])
						sem_error(prog->s, fc->call->pos, fc->call->tok,
							  "function call modifies var '%s' during 'foreach' iteration",
							  fc->arrays[a]->unmangled);
		}
	}
	for (size_t k = 0; k < prog->functions.n; k++) {
		struct functiondecl *f = prog->functions.v[k];
		pv_free(&f->writes);
		pv_free(&f->callees);
	}
	pv_free(&foreach_calls);
}

void resolve_program(struct program *prog)
{
	size_t probes_done = 0, funcs_done = 0;
	for (;;) {
		bool progress = false;
		/* probe by probe, so that errors come in script order */
		while (prog->files_derived < prog->files.n) {
			struct stapfile *f = prog->files.v[prog->files_derived++];
			for (size_t k = 0; k < f->probes.n; k++) {
				derive_probes(prog, f->probes.v[k], f);
				while (probes_done < prog->probes.n)
					resolve_probe(prog, prog->probes.v[probes_done++]);
			}
			progress = true;
		}
		while (probes_done < prog->probes.n) {
			resolve_probe(prog, prog->probes.v[probes_done++]);
			progress = true;
		}
		while (funcs_done < prog->functions.n) {
			resolve_function(prog, prog->functions.v[funcs_done++]);
			progress = true;
		}
		if (!progress)
			break;
	}
	check_foreach_calls(prog);
}
