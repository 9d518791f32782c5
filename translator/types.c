/* Type inference and checking (pass 2).
 *
 * Flow-insensitive, over the whole program: every rule pushes an expected
 * type into an expression and takes back what it learns, until a sweep
 * changes nothing.  Sweeps run silently; one last sweep reports conflicts,
 * then whatever is still unknown is "unresolved type".  Rules follow
 * SystemTap's (docs/language.md): no implicit conversions, strings are not
 * truth values, statistics only where an aggregate is allowed.
 *
 * Unlike SystemTap, dead code is type-checked too: `x = "a" . 1` is an
 * error even when x is never read. */
#include <stdlib.h>
#include <string.h>

#include "elab.h"
#include "format.h"
#include "re_compile.h"

enum { MAX_SWEEPS = 200 };

struct tctx {
	struct program *prog;
	bool report;                  /* last sweep: report errors */
	int changed;                  /* types learned in this sweep */
	struct functiondecl *func;    /* function being checked, or NULL */
	struct derived_probe *probe;  /* probe being checked, or NULL */
	bool assigning;               /* inferring the target of an assignment */
};

static enum exp_type infer(struct tctx *t, struct expr *e, enum exp_type expected);

static const char *tn(enum exp_type x)
{
	return exp_type_name(x);
}

static void mismatch(struct tctx *t, const struct expr *e, enum exp_type want,
		     enum exp_type found)
{
	if (t->report)
		sem_error(t->prog->s, e->pos, e->tok, "type mismatch: expected %s but found %s",
			  tn(want), tn(found));
}

/* Learn the type of an expression node. */
static enum exp_type settle(struct tctx *t, struct expr *e, enum exp_type ty)
{
	if (ty == T_UNKNOWN)
		return e->type;
	if (e->type == T_UNKNOWN) {
		e->type = ty;
		t->changed++;
	} else if (e->type != ty) {
		mismatch(t, e, ty, e->type);
	}
	return e->type;
}

/* Unify a variable's (or array value's) type with ty, learned at e. */
static void unify_var(struct tctx *t, struct vardecl *v, enum exp_type ty, const struct expr *e)
{
	if (!v || ty == T_UNKNOWN)
		return;
	if (v->type == T_UNKNOWN) {
		v->type = ty;
		v->type_pos = e->pos;
		v->type_tok = e->tok;
		v->type_pos_set = true;
		t->changed++;
	} else if (v->type != ty && t->report) {
		sem_error(t->prog->s, e->pos, e->tok, "type mismatch (%s)", tn(ty));
		if (v->type_pos_set)
			sem_error(t->prog->s, v->type_pos, v->type_tok,
				  "type was first inferred here (%s)", tn(v->type));
	}
}

static void unify_index(struct tctx *t, struct vardecl *v, int k, enum exp_type ty,
			const struct expr *e)
{
	if (ty == T_UNKNOWN || ty == T_STATS)
		return;
	enum exp_type *slot = &v->index_types[k];
	if (!v->index_pos)
		v->index_pos = arena_alloc(&t->prog->s->arena, (size_t)v->arity * sizeof *v->index_pos);
	if (*slot == T_UNKNOWN) {
		*slot = ty;
		v->index_pos[k] = e;
		t->changed++;
	} else if (*slot != ty && t->report) {
		sem_error(t->prog->s, e->pos, e->tok, "index %d type mismatch (%s)", k, tn(ty));
		if (v->index_pos[k])
			sem_error(t->prog->s, v->index_pos[k]->pos, v->index_pos[k]->tok,
				  "type of index %d was first inferred here (%s)", k, tn(*slot));
	}
}

/* Arity was settled and checked by symbol resolution; synthesised code
 * may still meet a variable first here. */
static void set_arity(struct tctx *t, struct vardecl *v, int arity, const struct expr *e)
{
	if (!v || v->arity >= 0)
		return;
	v->arity = arity;
	v->arity_pos = e->pos;
	v->arity_tok = e->tok;
	if (arity > 0)
		v->index_types = arena_alloc(&t->prog->s->arena, (size_t)arity * sizeof *v->index_types);
	t->changed++;
}

/* A variable used where a value is read: statistics are not values. */
static enum exp_type var_value(struct tctx *t, struct vardecl *v, struct expr *e,
			       enum exp_type expected)
{
	if (v->type == T_STATS) {
		if (t->report)
			sem_error(t->prog->s, e->pos, e->tok, "invalid type stats");
		return T_UNKNOWN;
	}
	unify_var(t, v, expected, e);
	return settle(t, e, v->type);
}

/* Index arguments against an array's key types. */
static void infer_indexes(struct tctx *t, struct vardecl *v, struct expr **args, int n)
{
	for (int k = 0; k < n; k++) {
		if (!args[k])
			continue;
		enum exp_type want = v && v->arity == n ? v->index_types[k] : T_UNKNOWN;
		enum exp_type got = infer(t, args[k], want);
		if (v && v->arity == n)
			unify_index(t, v, k, got, args[k]);
	}
}

/* An operand that must be a statistics variable (`x <<< v`, @count(x)). */
static struct vardecl *infer_stats(struct tctx *t, struct expr *e)
{
	struct vardecl *v = NULL;
	if (e->kind == E_SYMBOL) {
		v = e->referent;
		set_arity(t, v, 0, e);
	} else if (e->kind == E_ARRAYINDEX && e->base->kind == E_SYMBOL) {
		v = e->base->referent;
		set_arity(t, v, e->nargs, e);
		infer_indexes(t, v, e->args, e->nargs);
	} else {
		if (t->report)
			sem_error(t->prog->s, e->pos, e->tok, "expected a statistics variable");
		infer(t, e, T_UNKNOWN);
		return NULL;
	}
	if (!v)
		return NULL;
	if (!v->is_global) {
		if (t->report && v->type != T_STATS)
			sem_error(t->prog->s, e->pos, e->tok,
				  "stat locals not supported, missing global declaration?");
		if (t->report)
			v->type = T_STATS;   /* said once; no "unresolved type" after it */
		return NULL;
	}
	unify_var(t, v, T_STATS, e);
	if (v->type != T_STATS && t->report)
		sem_error(t->prog->s, e->pos, e->tok, "type mismatch: expected stats but found %s",
			  tn(v->type));
	e->type = T_STATS;
	return v;
}

static void record_hist(struct tctx *t, struct vardecl *v, struct expr *h)
{
	if (!v)
		return;
	if (!v->hist_first) {
		v->hist_first = h;
		v->hist_kind = h->hist_kind;
		v->hist_lo = h->hist_lo;
		v->hist_hi = h->hist_hi;
		v->hist_width = h->hist_width;
		return;
	}
	if ((v->hist_kind != h->hist_kind || v->hist_lo != h->hist_lo ||
	     v->hist_hi != h->hist_hi || v->hist_width != h->hist_width) && t->report)
		sem_error(t->prog->s, h->pos, h->tok, "multiple histogram types declared on '%s'",
			  v->unmangled);
}

static void check_hist_params(struct tctx *t, struct expr *h)
{
	if (h->hist_kind != 0 || !t->report)
		return;
	if (h->hist_width <= 0)
		sem_error(t->prog->s, h->pos, h->tok, "histogram bucket width must be positive");
	else if (h->hist_hi < h->hist_lo)
		sem_error(t->prog->s, h->pos, h->tok,
			  "histogram high value must not be below the low value");
	else if ((h->hist_hi - h->hist_lo) / h->hist_width + 3 > 128)
		sem_error(t->prog->s, h->pos, h->tok,
			  "histogram has too many buckets (limit 128, including the two out-of-range buckets)");
}

static struct vardecl *infer_hist(struct tctx *t, struct expr *h)
{
	struct vardecl *v = infer_stats(t, h->left);
	record_hist(t, v, h);
	check_hist_params(t, h);
	return v;
}

static void infer_print(struct tctx *t, struct expr *e)
{
	const char *n = e->name;
	if (strstr(n, "printf")) {
		struct fmt_piece *pieces = NULL;
		const char *err;
		int np = format_parse(e->fmt->str, e->fmt->len, &pieces, &err);
		if (np < 0)
			return;   /* reported by the parser */
		int want = format_arg_count(pieces, np);
		if (want != e->nargs && t->report)
			sem_error(t->prog->s, e->pos, e->tok,
				  "Wrong number of args to formatted print operator");
		int a = 0;
		for (int k = 0; k < np && a < e->nargs; k++) {
			const struct fmt_piece *p = &pieces[k];
			if (p->conv == FC_LITERAL || p->conv == FC_PERCENT)
				continue;
			if (p->width == FMT_STAR && a < e->nargs)
				settle(t, e->args[a], infer(t, e->args[a], T_LONG)), a++;
			if (p->precision == FMT_STAR && a < e->nargs)
				settle(t, e->args[a], infer(t, e->args[a], T_LONG)), a++;
			if (a >= e->nargs)
				break;
			enum exp_type want_t = p->conv == FC_STRING ? T_STRING : T_LONG;
			enum exp_type got = infer(t, e->args[a], want_t);
			if (got != T_UNKNOWN && got != want_t)
				mismatch(t, e->args[a], want_t, got);
			a++;
		}
		for (; a < e->nargs; a++)
			infer(t, e->args[a], T_UNKNOWN);
		free(pieces);
		return;
	}
	if (!strcmp(n, "print_char")) {
		enum exp_type got = infer(t, e->args[0], T_LONG);
		if (got != T_UNKNOWN && got != T_LONG)
			mismatch(t, e->args[0], T_LONG, got);
		return;
	}
	for (int k = 0; k < e->nargs; k++) {
		struct expr *a = e->args[k];
		if (a->kind == E_HIST)
			infer_hist(t, a);
		else
			infer(t, a, T_UNKNOWN);
	}
}

/* procfs probes pass their text in $value: a string, which .read probes
 * assign without guru mode. */
static bool is_procfs_value(const struct tctx *t, const struct expr *e)
{
	return e->kind == E_TARGET && !strcmp(e->name, "$value") && t->probe &&
	       !strcmp(family_name(t->probe->family), "procfs");
}

/* $value: assigned (not read) in .read probes, read (not assigned) in
 * .write probes, and never a structure or an array. */
static enum exp_type infer_procfs_value(struct tctx *t, struct expr *e)
{
	if (t->report) {
		const struct probe_point *pp = t->probe->pp;
		bool write = !strcmp(pp->comps[pp->ncomps - 1].name, "write");
		for (int k = 0; k < e->ncomps; k++)
			sem_error(t->prog->s, e->comps[k].pos, e->tok,
				  e->comps[k].kind == COMP_MEMBER
				  ? "procfs variable '$value' may not be used as a structure"
				  : "procfs variable '$value' may not be used as array");
		if (write && t->assigning)
			sem_error(t->prog->s, e->pos, e->tok,
				  "procfs $value variable is read-only in a procfs write probe");
		else if (!write && !t->assigning)
			sem_error(t->prog->s, e->pos, e->tok,
				  "procfs $value variable cannot be read in a procfs read probe");
	}
	return settle(t, e, T_STRING);
}

static bool is_lvalue(const struct expr *e)
{
	return e->kind == E_SYMBOL || (e->kind == E_ARRAYINDEX && e->base->kind == E_SYMBOL) ||
	       e->kind == E_TARGET || e->kind == E_CAST || e->kind == E_AUTOCAST ||
	       e->kind == E_ATVAR;
}

static void check_lvalue(struct tctx *t, const struct expr *target, const struct expr *op)
{
	if (!t->report)
		return;
	if (!is_lvalue(target)) {
		sem_error(t->prog->s, target->pos, target->tok, "assignment to a non-lvalue");
		return;
	}
	if ((target->kind == E_TARGET || target->kind == E_CAST || target->kind == E_AUTOCAST ||
	     target->kind == E_ATVAR) && !t->prog->s->guru && !is_procfs_value(t, target))
		sem_error(t->prog->s, op->pos, op->tok,
			  "writing to target variables needs guru mode (stap -g)");
	if (target->pretty)
		sem_error(t->prog->s, target->pos, target->tok,
			  "a pretty-printed value ($ suffix) cannot be assigned");
}

static enum exp_type infer_assign(struct tctx *t, struct expr *e, enum exp_type expected)
{
	const char *op = e->op;
	if (!strcmp(op, "<<<")) {
		infer_stats(t, e->left);
		settle(t, e->right, infer(t, e->right, T_LONG));
		if (e->right->type != T_UNKNOWN && e->right->type != T_LONG)
			mismatch(t, e->right, T_LONG, e->right->type);
		return settle(t, e, T_LONG);
	}
	check_lvalue(t, e->left, e);
	if (is_procfs_value(t, e->left)) {
		/* `$value = s` only writes; `$value .= s` also reads, which a
		 * read probe allows for appending */
		t->assigning = true;
		infer(t, e->left, T_STRING);
		t->assigning = false;
		enum exp_type rt = infer(t, e->right, T_STRING);
		if (rt != T_UNKNOWN && rt != T_STRING)
			mismatch(t, e->right, T_STRING, rt);
		if (strcmp(op, "=") && strcmp(op, ".="))
			mismatch(t, e->left, T_LONG, T_STRING);
		return settle(t, e, T_STRING);
	}
	if (!strcmp(op, "=")) {
		/* what the value is decides; a variable that disagrees is the
		 * place to report (with where its type came from) */
		enum exp_type lt = infer(t, e->left, expected);
		enum exp_type rt = infer(t, e->right, T_UNKNOWN);
		if (rt == T_UNKNOWN && lt != T_UNKNOWN)
			rt = infer(t, e->right, lt);
		if (rt != T_UNKNOWN)
			lt = infer(t, e->left, rt);
		if (lt != T_UNKNOWN && rt != T_UNKNOWN && lt != rt && e->left->kind != E_SYMBOL &&
		    e->left->kind != E_ARRAYINDEX)
			mismatch(t, e->right, lt, rt);
		return settle(t, e, rt != T_UNKNOWN ? rt : lt);
	}
	enum exp_type want = !strcmp(op, ".=") ? T_STRING : T_LONG;
	enum exp_type lt = infer(t, e->left, want);
	enum exp_type rt = infer(t, e->right, want);
	if (lt != T_UNKNOWN && lt != want)
		mismatch(t, e->left, want, lt);
	if (rt != T_UNKNOWN && rt != want)
		mismatch(t, e->right, want, rt);
	return settle(t, e, want);
}

/* Both operands of a binary rule must have type `want`. */
static enum exp_type both(struct tctx *t, struct expr *e, enum exp_type want,
			  enum exp_type result)
{
	struct expr *ops[2] = { e->left, e->right };
	for (int k = 0; k < 2; k++) {
		if (!ops[k])
			continue;
		enum exp_type got = infer(t, ops[k], want);
		if (got != T_UNKNOWN && got != want)
			mismatch(t, ops[k], want, got);
	}
	return settle(t, e, result);
}

static enum exp_type infer_call(struct tctx *t, struct expr *e, enum exp_type expected)
{
	struct functiondecl *f = e->func;
	if (!f) {
		for (int k = 0; k < e->nargs; k++)
			infer(t, e->args[k], T_UNKNOWN);
		return T_UNKNOWN;
	}
	for (int k = 0; k < e->nargs; k++) {
		for (int o = 0; o < e->noverloads; o++) {
			struct vardecl *p = e->overloads[o]->params[k];
			enum exp_type got = infer(t, e->args[k], p->type);
			unify_var(t, p, got, e->args[k]);
			if (p->type != T_UNKNOWN && got != T_UNKNOWN && got != p->type)
				mismatch(t, e->args[k], p->type, got);
		}
	}
	for (int o = 0; o < e->noverloads; o++) {
		struct functiondecl *g = e->overloads[o];
		if (g->type == T_UNKNOWN && expected != T_UNKNOWN && g->returns_value) {
			g->type = expected;
			g->type_pos = e->pos;
			g->type_pos_set = true;
			t->changed++;
		}
	}
	if (f->type != T_UNKNOWN && expected != T_UNKNOWN && f->type != expected)
		mismatch(t, e, expected, f->type);
	/* a function that returns nothing reads as 0 where a number is
	 * expected (`n && exit()`), as in SystemTap; elsewhere its value has
	 * no type, which the variable receiving it then reports */
	if (!f->returns_value)
		return expected == T_LONG ? settle(t, e, T_LONG) : e->type;
	return settle(t, e, f->type);
}

/* Can `&` apply to e?  Through @choose_defined's ternary, either arm. */
static bool addressable(const struct expr *e)
{
	switch (e->kind) {
	case E_TARGET: case E_CAST: case E_ATVAR: case E_AUTOCAST:
		return true;
	case E_TERNARY:
		if (e->cond->kind == E_DEFINED)
			return addressable(e->cond->num ? e->left : e->right);
		return addressable(e->left) && addressable(e->right);
	default:
		return false;
	}
}

static enum exp_type infer(struct tctx *t, struct expr *e, enum exp_type expected)
{
	switch (e->kind) {
	case E_NUMBER:
		return settle(t, e, T_LONG);
	case E_STRING:
		return settle(t, e, T_STRING);
	case E_SYMBOL: {
		struct vardecl *v = e->referent;
		if (!v)
			return T_UNKNOWN;
		set_arity(t, v, 0, e);
		return var_value(t, v, e, expected);
	}
	case E_ARRAYINDEX: {
		if (e->base->kind == E_HIST) {
			infer_hist(t, e->base);
			for (int k = 0; k < e->nargs; k++) {
				if (!e->args[k])
					continue;
				enum exp_type got = infer(t, e->args[k], T_LONG);
				if (got != T_UNKNOWN && got != T_LONG)
					mismatch(t, e->args[k], T_LONG, got);
			}
			if (e->nargs != 1 && t->report)
				sem_error(t->prog->s, e->pos, e->tok, "a histogram takes exactly one index");
			return settle(t, e, T_LONG);
		}
		struct vardecl *v = e->base->referent;
		if (!v) {
			for (int k = 0; k < e->nargs; k++)
				if (e->args[k])
					infer(t, e->args[k], T_UNKNOWN);
			return T_UNKNOWN;
		}
		set_arity(t, v, e->nargs, e);
		infer_indexes(t, v, e->args, e->nargs);
		for (int k = 0; k < e->nargs; k++)
			if (!e->args[k] && t->report)
				sem_error(t->prog->s, e->pos, e->tok,
					  "wildcard '*' is only allowed in 'delete' and 'in'");
		return var_value(t, v, e, expected);
	}
	case E_FUNCALL:
		return infer_call(t, e, expected);
	case E_PRINT:
		infer_print(t, e);
		return settle(t, e, strncmp(e->name, "sprint", 6) == 0 ? T_STRING : T_LONG);
	case E_UNARY:
		if (!strcmp(e->op, "&") && t->report && !addressable(e->left))
			sem_error(t->prog->s, e->pos, e->tok,
				  "'&' needs a target variable, @cast or @var member");
		return both(t, e, T_LONG, T_LONG);
	case E_BINARY:
	case E_LOGICAL:
		return both(t, e, T_LONG, T_LONG);
	case E_CONCAT:
		return both(t, e, T_STRING, T_STRING);
	case E_COMPARE: {
		enum exp_type lt = infer(t, e->left, T_UNKNOWN);
		enum exp_type rt = infer(t, e->right, T_UNKNOWN);
		if (lt == T_UNKNOWN && rt != T_UNKNOWN) {
			infer(t, e->left, rt);
		} else if (rt == T_UNKNOWN && lt != T_UNKNOWN) {
			infer(t, e->right, lt);
		} else if (lt != rt && t->report) {
			/* blame a variable, which says where its type came from */
			if (e->left->kind == E_SYMBOL || e->left->kind == E_ARRAYINDEX)
				infer(t, e->left, rt);
			else if (e->right->kind == E_SYMBOL || e->right->kind == E_ARRAYINDEX)
				infer(t, e->right, lt);
			else
				mismatch(t, e->right, lt, rt);
		}
		return settle(t, e, T_LONG);
	}
	case E_REGEX: {
		if (t->report) {
			struct re_prog prog;
			const char *err;
			if (!regex_compile(e->str, e->len, &prog, &err))
				sem_error(t->prog->s, e->pos, e->tok, "%s", err);
			else
				free(prog.v);
		}
		enum exp_type lt = infer(t, e->left, T_STRING);
		if (lt != T_UNKNOWN && lt != T_STRING)
			mismatch(t, e->left, T_STRING, lt);
		return settle(t, e, T_LONG);
	}
	case E_TERNARY: {
		enum exp_type ct = infer(t, e->cond, T_LONG);
		if (ct != T_UNKNOWN && ct != T_LONG)
			mismatch(t, e->cond, T_LONG, ct);
		enum exp_type want = expected != T_UNKNOWN ? expected : e->type;
		enum exp_type lt = infer(t, e->left, want);
		enum exp_type rt = infer(t, e->right, lt != T_UNKNOWN ? lt : want);
		if (lt == T_UNKNOWN && rt != T_UNKNOWN)
			lt = infer(t, e->left, rt);
		if (lt != T_UNKNOWN && rt != T_UNKNOWN && lt != rt)
			mismatch(t, e->right, lt, rt);
		return settle(t, e, lt != T_UNKNOWN ? lt : rt);
	}
	case E_ASSIGN:
		return infer_assign(t, e, expected);
	case E_PREINC:
	case E_POSTINC: {
		check_lvalue(t, e->left, e);
		enum exp_type lt = infer(t, e->left, T_LONG);
		if (lt != T_UNKNOWN && lt != T_LONG)
			mismatch(t, e->left, T_LONG, lt);
		return settle(t, e, T_LONG);
	}
	case E_IN: {
		if (e->base->kind == E_HIST) {
			infer_hist(t, e->base);
			for (int k = 0; k < e->nargs; k++)
				if (e->args[k])
					infer(t, e->args[k], T_LONG);
			return settle(t, e, T_LONG);
		}
		struct vardecl *v = e->base->referent;
		if (v) {
			set_arity(t, v, e->nargs, e);
			infer_indexes(t, v, e->args, e->nargs);
		}
		return settle(t, e, T_LONG);
	}
	case E_STATOP: {
		struct vardecl *v = infer_stats(t, e->left);
		if (e->num > 62 && t->report)
			sem_error(t->prog->s, e->pos, e->tok, "bit shift (%lld) out of range <0..62>",
				  (long long)e->num);
		if (v && !strcmp(e->name, "@variance") && e->num >= 0 && e->num <= 62) {
			if (v->variance_shift < 0)
				v->variance_shift = (int)e->num;
			else if (v->variance_shift != e->num && t->report)
				sem_error(t->prog->s, e->pos, e->tok,
					  "conflicting @variance bit shifts on '%s'", v->unmangled);
		}
		return settle(t, e, T_LONG);
	}
	case E_HIST:
		infer_hist(t, e);
		if (t->report)
			sem_error(t->prog->s, e->pos, e->tok,
				  "base histogram operator where expression expected");
		return T_UNKNOWN;
	case E_TARGET:
		if (is_procfs_value(t, e))
			return infer_procfs_value(t, e);
		/* fall through */
	case E_CAST:
	case E_ATVAR:
	case E_AUTOCAST:
		if (e->left)
			infer(t, e->left, T_LONG);
		for (int k = 0; k < e->ncomps; k++)
			if (e->comps[k].index)
				infer(t, e->comps[k].index, T_LONG);
		return settle(t, e, e->pretty ? T_STRING : T_LONG);
	case E_TARGET_VARS:
		return settle(t, e, T_STRING);
	case E_DEFINED:
		return settle(t, e, T_LONG);
	case E_ENTRY:
		return settle(t, e, infer(t, e->left, expected));
	case E_PERF:
	case E_CONST:
	case E_PROBEWRITE:
	case E_REGISTER:
		return settle(t, e, T_LONG);
	case E_DEREF:
		infer(t, e->left, T_LONG);
		return settle(t, e, T_LONG);
	case E_EMBEDDED:
		return settle(t, e, strstr(e->str, "/* string */") ? T_STRING : T_LONG);
	}
	return T_UNKNOWN;
}

/* A condition: must be a long. */
static void infer_cond(struct tctx *t, struct expr *e)
{
	enum exp_type got = infer(t, e, T_LONG);
	if (got != T_UNKNOWN && got != T_LONG)
		mismatch(t, e, T_LONG, got);
}

static void infer_stmt(struct tctx *t, struct stmt *st);

static void infer_foreach(struct tctx *t, struct stmt *st)
{
	if (st->fe_base->kind == E_HIST) {
		infer_hist(t, st->fe_base);
		for (int k = 0; k < st->fe_nkeys; k++)
			unify_var(t, st->fe_keys[k]->referent, T_LONG, st->fe_keys[k]);
		if (st->fe_value)
			unify_var(t, st->fe_value->referent, T_LONG, st->fe_value);
	} else {
		struct vardecl *v = st->fe_base->referent;
		if (v) {
			set_arity(t, v, st->fe_nkeys, st->fe_base);
			for (int k = 0; k < st->fe_nkeys && v->arity == st->fe_nkeys; k++) {
				struct vardecl *kv = st->fe_keys[k]->referent;
				if (!kv)
					continue;
				unify_var(t, kv, v->index_types[k], st->fe_keys[k]);
				unify_index(t, v, k, kv->type, st->fe_keys[k]);
			}
			if (v->arity == st->fe_nkeys)
				infer_indexes(t, v, st->fe_slice, st->fe_nslice);
			if (st->fe_value && st->fe_value->referent) {
				struct vardecl *vv = st->fe_value->referent;
				if (v->type == T_STATS) {
					if (t->report)
						sem_error(t->prog->s, st->fe_value->pos, st->fe_value->tok,
							  "invalid type stats for a foreach value");
				} else {
					unify_var(t, vv, v->type, st->fe_value);
					unify_var(t, v, vv->type, st->fe_base);
				}
			}
			if (st->fe_sort_agg && v->type != T_UNKNOWN && v->type != T_STATS && t->report)
				sem_error(t->prog->s, st->pos, st->tok,
					  "aggregate sort %s needs an array of statistics", st->fe_sort_agg);
		}
	}
	if (st->fe_limit)
		infer_cond(t, st->fe_limit);
	infer_stmt(t, st->then);
}

static void infer_stmt(struct tctx *t, struct stmt *st)
{
	switch (st->kind) {
	case S_NULL: case S_EMBEDDED: case S_BREAK: case S_CONTINUE: case S_NEXT:
		break;
	case S_BLOCK:
		for (int k = 0; k < st->nbody; k++)
			infer_stmt(t, st->body[k]);
		break;
	case S_EXPR:
		infer(t, st->e, T_UNKNOWN);
		break;
	case S_IF:
		infer_cond(t, st->e);
		infer_stmt(t, st->then);
		if (st->els)
			infer_stmt(t, st->els);
		break;
	case S_WHILE:
		infer_cond(t, st->e);
		infer_stmt(t, st->then);
		break;
	case S_FOR:
		if (st->init)
			infer(t, st->init, T_UNKNOWN);
		if (st->e)
			infer_cond(t, st->e);
		if (st->incr)
			infer(t, st->incr, T_UNKNOWN);
		infer_stmt(t, st->then);
		break;
	case S_FOREACH:
		infer_foreach(t, st);
		break;
	case S_RETURN:
		if (st->e && t->func) {
			struct functiondecl *f = t->func;
			enum exp_type got = infer(t, st->e, f->type);
			if (f->type == T_UNKNOWN && got != T_UNKNOWN) {
				f->type = got;
				f->type_pos = st->e->pos;
				f->type_pos_set = true;
				t->changed++;
			} else if (got != T_UNKNOWN && got != f->type) {
				mismatch(t, st->e, f->type, got);
			}
		}
		break;
	case S_DELETE: {
		struct expr *e = st->e;
		if (e->kind == E_ARRAYINDEX && e->base->kind == E_SYMBOL && e->base->referent) {
			struct vardecl *v = e->base->referent;
			set_arity(t, v, e->nargs, e);
			infer_indexes(t, v, e->args, e->nargs);
		}
		break;
	}
	case S_TRY:
		infer_stmt(t, st->then);
		if (st->catch_var)
			unify_var(t, st->catch_var->referent, T_STRING, st->catch_var);
		infer_stmt(t, st->els);
		break;
	}
}

static bool stmt_returns_value(const struct stmt *st)
{
	if (!st)
		return false;
	switch (st->kind) {
	case S_RETURN:
		return st->e != NULL;
	case S_BLOCK:
		for (int k = 0; k < st->nbody; k++)
			if (stmt_returns_value(st->body[k]))
				return true;
		return false;
	case S_IF: case S_TRY:
		return stmt_returns_value(st->then) || stmt_returns_value(st->els);
	case S_WHILE: case S_FOR: case S_FOREACH:
		return stmt_returns_value(st->then);
	default:
		return false;
	}
}

static void sweep(struct tctx *t)
{
	struct program *prog = t->prog;
	for (size_t k = 0; k < prog->probes.n; k++) {
		struct derived_probe *dp = prog->probes.v[k];
		t->func = NULL;
		t->probe = dp;
		if (dp->cond)
			infer_cond(t, dp->cond);
		infer_stmt(t, dp->body);
	}
	t->probe = NULL;
	for (size_t k = 0; k < prog->functions.n; k++) {
		struct functiondecl *f = prog->functions.v[k];
		t->func = f;
		if (f->body)
			infer_stmt(t, f->body);
	}
	t->func = NULL;
}

/* ---- what stays unknown ---- */

static void check_var_resolved(struct tctx *t, struct vardecl *v)
{
	struct session *s = t->prog->s;
	if (v->type == T_UNKNOWN)
		sem_error(s, v->pos, v->tok, "unresolved type for %s '%s'",
			  v->is_global ? "global" : v->is_param ? "parameter" : "local", v->unmangled);
	for (int k = 0; k < v->arity; k++)
		if (v->index_types[k] == T_UNKNOWN)
			sem_error(s, v->pos, v->tok, "unresolved type for index %d of array '%s'", k,
				  v->unmangled);
}

/* Expressions whose value is used must have a type. */
static void check_expr_resolved(struct tctx *t, const struct expr *e, bool used);

static void check_children(struct tctx *t, const struct expr *e)
{
	const struct expr *kids[] = { e->left, e->right, e->cond };
	for (int k = 0; k < 3; k++)
		if (kids[k])
			check_expr_resolved(t, kids[k], true);
	if (e->kind != E_HIST && e->base && e->base->kind != E_SYMBOL)
		check_expr_resolved(t, e->base, e->base->kind != E_HIST);
	for (int k = 0; k < e->nargs; k++)
		if (e->args[k] && e->args[k]->kind != E_HIST)
			check_expr_resolved(t, e->args[k], true);
}

static void check_expr_resolved(struct tctx *t, const struct expr *e, bool used)
{
	/* @defined only asks whether its operand resolves */
	if (e->kind == E_STATOP || e->kind == E_HIST || e->kind == E_DEFINED)
		return;
	if (e->kind == E_ASSIGN && !strcmp(e->op, "<<<")) {
		check_expr_resolved(t, e->right, true);
		return;
	}
	check_children(t, e);
	if (used && e->type == T_UNKNOWN && e->kind != E_SYMBOL && e->kind != E_ARRAYINDEX &&
	    !(e->kind == E_FUNCALL && (!e->func || !e->func->returns_value))) {
		sem_error(t->prog->s, e->pos, e->tok, "unresolved type");
	}
}

static void check_stmt_resolved(struct tctx *t, const struct stmt *st)
{
	if (!st)
		return;
	switch (st->kind) {
	case S_BLOCK:
		for (int k = 0; k < st->nbody; k++)
			check_stmt_resolved(t, st->body[k]);
		break;
	case S_EXPR:
		check_expr_resolved(t, st->e, false);
		break;
	case S_IF: case S_WHILE:
		check_expr_resolved(t, st->e, true);
		check_stmt_resolved(t, st->then);
		check_stmt_resolved(t, st->els);
		break;
	case S_FOR:
		if (st->init) check_expr_resolved(t, st->init, false);
		if (st->e) check_expr_resolved(t, st->e, true);
		if (st->incr) check_expr_resolved(t, st->incr, false);
		check_stmt_resolved(t, st->then);
		break;
	case S_FOREACH:
		if (st->fe_limit)
			check_expr_resolved(t, st->fe_limit, true);
		check_stmt_resolved(t, st->then);
		break;
	case S_RETURN:
		if (st->e)
			check_expr_resolved(t, st->e, true);
		break;
	case S_TRY:
		check_stmt_resolved(t, st->then);
		check_stmt_resolved(t, st->els);
		break;
	default:
		break;
	}
}

void infer_types(struct program *prog)
{
	struct tctx t = { .prog = prog };
	for (size_t k = 0; k < prog->functions.n; k++) {
		struct functiondecl *f = prog->functions.v[k];
		f->returns_value = f->embedded ? f->decl_type != T_UNKNOWN
					       : stmt_returns_value(f->body) || f->decl_type != T_UNKNOWN;
		if (f->decl_type != T_UNKNOWN && f->type == T_UNKNOWN) {
			f->type = f->decl_type;
			f->type_pos = f->pos;
			f->type_pos_set = true;
		}
	}
	for (int n = 0; n < MAX_SWEEPS; n++) {
		t.changed = 0;
		sweep(&t);
		if (!t.changed)
			break;
	}
	/* globals never used as arrays are scalars */
	for (size_t k = 0; k < prog->globals.n; k++) {
		struct vardecl *v = prog->globals.v[k];
		if (v->arity < 0)
			v->arity = 0;
		if (v->init && v->type == T_UNKNOWN)
			v->type = v->init->is_string ? T_STRING : T_LONG;
	}
	t.report = true;
	sweep(&t);
	for (size_t k = 0; k < prog->globals.n; k++) {
		struct vardecl *v = prog->globals.v[k];
		if (v->init && v->type != (v->init->is_string ? T_STRING : T_LONG))
			sem_error(prog->s, v->pos, v->tok, "type mismatch: initial value of '%s' is a %s",
				  v->unmangled, v->init->is_string ? "string" : "long");
		if (v->wrap && v->arity == 0)
			sem_error(prog->s, v->pos, v->tok, "wrapping not supported for scalars");
		check_var_resolved(&t, v);
	}
	for (size_t k = 0; k < prog->functions.n; k++) {
		struct functiondecl *f = prog->functions.v[k];
		for (int p = 0; p < f->nparams; p++)
			check_var_resolved(&t, f->params[p]);
		for (size_t l = 0; l < f->locals.n; l++)
			check_var_resolved(&t, f->locals.v[l]);
		if (f->returns_value && f->type == T_UNKNOWN)
			sem_error(prog->s, f->pos, f->tok, "unresolved return type of function '%s'",
				  f->unmangled);
		if (f->body)
			check_stmt_resolved(&t, f->body);
	}
	for (size_t k = 0; k < prog->probes.n; k++) {
		struct derived_probe *dp = prog->probes.v[k];
		for (size_t l = 0; l < dp->locals.n; l++)
			check_var_resolved(&t, dp->locals.v[l]);
		check_stmt_resolved(&t, dp->body);
	}
}
