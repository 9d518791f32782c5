/* Preprocessor.  Macros expand first (a @define in a branch that a later
 * conditional drops still defines), then conditionals pick token runs.
 * The condition language is deliberately tiny: TERM {&&|| TERM}, each TERM
 * three tokens LHS OP RHS, && binding tighter than ||. */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "preproc.h"
#include "session.h"
#include "util.h"

enum {
	MAX_MACRO_DEPTH = 64,
	MAX_EXPANSIONS = 100000,
	MAX_EXPANDED_TOKENS = 4 * 1024 * 1024,
};

struct pp {
	struct session *s;
	const struct source_file *file;
	struct ptrvec macros;       /* file-local struct macro * */
	size_t produced;            /* tokens emitted by expansion, bounded */
	size_t expansions;          /* macro uses expanded, bounded */
	bool overflow_reported;
};

static void pp_error(struct pp *pp, const struct token *t, const char *fmt, const char *arg)
{
	diag_report(&pp->s->diag, DIAG_PARSE, t->pos, tok_describe(pp->s, t), fmt, arg);
}

static struct macro *find_macro(struct pp *pp, const char *name)
{
	for (size_t i = pp->macros.n; i-- > 0;) {
		struct macro *m = pp->macros.v[i];
		if (strcmp(m->name, name) == 0)
			return m;
	}
	struct ptrvec *lib = &pp->s->library_macros;
	for (size_t i = lib->n; i-- > 0;) {
		struct macro *m = lib->v[i];
		if (strcmp(m->name, name) == 0)
			return m;
	}
	return NULL;
}

static bool is_builtin_atword(const char *w)
{
	static const char *const builtins[] = {
		"cast", "var", "defined", "entry", "perf", "probewrite", "count",
		"sum", "min", "max", "avg", "variance", "hist_linear", "hist_log",
		"const", "kregister", "uregister", "kderef", "uderef", "define",
		NULL,
	};
	for (const char *const *b = builtins; *b; b++)
		if (strcmp(*b, w) == 0)
			return true;
	return false;
}

/* ---- stage 1: macros ---- */

/* Parse "@define NAME [(a, b)] %( body %)" starting at in[*i] (the
 * @define).  Advances *i past it. */
static void define_macro(struct pp *pp, struct tokvec *in, size_t *i, bool library)
{
	struct token *at = in->v[*i];
	size_t j = *i + 1;
	struct token *name = in->v[j];
	if (name->type != TOK_IDENT && name->type != TOK_KEYWORD) {
		pp_error(pp, name, "expected macro name after @define%s", "");
		*i = j;
		return;
	}
	j++;
	struct macro *m = arena_alloc(&pp->s->arena, sizeof *m);
	m->name = name->text;
	m->pos = name->pos;
	if (is_builtin_atword(m->name))
		diag_report(&pp->s->diag, DIAG_WARNING, name->pos, NULL,
			    "macro '@%s' shadows a built-in operator", m->name);
	if (tok_op(in->v[j], "(")) {
		m->has_parens = true;
		j++;
		struct ptrvec params = {0};
		while (!tok_op(in->v[j], ")")) {
			struct token *p = in->v[j];
			if (p->type != TOK_IDENT) {
				pp_error(pp, p, "expected macro parameter name%s", "");
				pv_free(&params);
				*i = j;
				return;
			}
			for (size_t k = 0; k < params.n; k++)
				if (strcmp(params.v[k], p->text) == 0)
					pp_error(pp, p, "duplicate macro parameter '%s'", p->text);
			pv_push(&params, (void *)p->text);
			j++;
			if (tok_op(in->v[j], ","))
				j++;
			else if (!tok_op(in->v[j], ")")) {
				pp_error(pp, in->v[j], "expected ',' or ')' in macro parameters%s", "");
				pv_free(&params);
				*i = j;
				return;
			}
		}
		j++;
		m->nparams = (int)params.n;
		m->params = arena_alloc(&pp->s->arena, params.n * sizeof(char *) + 1);
		if (params.n)
			memcpy(m->params, params.v, params.n * sizeof(char *));
		pv_free(&params);
	}
	if (!tok_op(in->v[j], "%(")) {
		pp_error(pp, in->v[j], "expected '%%(' to start the body of macro '@%s'", m->name);
		*i = j;
		return;
	}
	j++;
	size_t start = j;
	int depth = 1;
	for (;; j++) {
		struct token *t = in->v[j];
		if (t->type == TOK_EOF) {
			diag_report(&pp->s->diag, DIAG_PARSE, at->pos, "operator '@define'",
				    "incomplete macro definition: missing '%%)' (body of '@%s' opened here)",
				    m->name);
			*i = j;
			return;
		}
		if (tok_op(t, "%("))
			depth++;
		else if (tok_op(t, "%)") && --depth == 0)
			break;
		else if (t->type == TOK_ATWORD && strcmp(t->text, "@define") == 0) {
			pp_error(pp, t, "'@define' forbidden inside macro body ('@%s')", m->name);
			m->broken = true;
		}
	}
	m->nbody = j - start;
	m->body = arena_alloc(&pp->s->arena, (m->nbody + 1) * sizeof *m->body);
	if (m->nbody)
		memcpy(m->body, in->v + start, m->nbody * sizeof *m->body);
	*i = j + 1;

	struct ptrvec *where = library ? &pp->s->library_macros : &pp->macros;
	for (size_t k = 0; k < where->n; k++) {
		struct macro *old = where->v[k];
		if (strcmp(old->name, m->name) == 0) {
			pp_error(pp, name, library ? "duplicate definition of library macro '@%s'"
						   : "attempt to redefine macro '@%s' in the same file",
				 m->name);
			pp->s->diag.note_next = true;
			diag_report(&pp->s->diag, DIAG_PARSE, old->pos, NULL,
				    "macro '@%s' first defined here", m->name);
			return;
		}
	}
	pv_push(where, m);
}

static void expand_tokens(struct pp *pp, struct token **toks, size_t n,
			  struct tokvec *out, int depth);

static void push_token(struct pp *pp, struct tokvec *out, struct token *t)
{
	if (pp->produced++ > MAX_EXPANDED_TOKENS) {
		if (!pp->overflow_reported)
			pp_error(pp, t, "macro expansion exceeds %s tokens", "4194304");
		pp->overflow_reported = true;
		return;
	}
	tv_push(out, t);
}

/* Expand @NAME (at toks[*i]) using macro m.  Collects arguments when the
 * macro has parameters. */
static void expand_macro(struct pp *pp, struct macro *m, struct token **toks, size_t n,
			 size_t *i, struct tokvec *out, int depth)
{
	struct token *use = toks[*i];
	size_t j = *i + 1;
	struct tokvec *actuals = NULL;
	if (depth >= MAX_MACRO_DEPTH || ++pp->expansions > MAX_EXPANSIONS) {
		/* one report, then no more expansion in this file */
		if (!pp->overflow_reported)
			pp_error(pp, use, depth >= MAX_MACRO_DEPTH
				 ? "macro expansion too deep (limit 64) at '%s'"
				 : "too many macro expansions (limit 100000) at '%s'", use->text);
		pp->overflow_reported = true;
		*i = n;
		return;
	}
	if (m->has_parens) {
		if (j >= n || !tok_op(toks[j], "(")) {
			pp_error(pp, use, "expected '(' after macro '%s'", use->text);
			*i = j;
			return;
		}
		j++;
		actuals = xcalloc((size_t)m->nparams + 1, sizeof *actuals);
		int argno = 0, nest = 0;
		for (;; j++) {
			if (j >= n || toks[j]->type == TOK_EOF) {
				pp_error(pp, use, "unterminated argument list of macro '%s'", use->text);
				goto out;
			}
			struct token *t = toks[j];
			if (nest == 0 && tok_op(t, ")"))
				break;
			if (nest == 0 && tok_op(t, ",")) {
				argno++;
				continue;
			}
			if (tok_op(t, "(") || tok_op(t, "["))
				nest++;
			if (tok_op(t, ")") || tok_op(t, "]"))
				nest--;
			if (argno < m->nparams)
				tv_push(&actuals[argno], t);
		}
		int given = argno + 1;
		if (argno == 0 && actuals[0].n == 0 && m->nparams == 0)
			given = 0;
		if (given != m->nparams) {
			char *msg = xasprintf("too %s parameters for macro '%s' (expected %d)",
					      given < m->nparams ? "few" : "many", use->text, m->nparams);
			pp_error(pp, toks[j], "%s", msg);
			free(msg);
			j++;
			goto out;
		}
		j++;
	}
	if (m->broken)
		goto out;
	/* substitute parameters, then rescan: an argument is thus expanded in
	 * the context where it was written */
	struct tokvec body = {0};
	for (size_t b = 0; b < m->nbody && !pp->overflow_reported; b++) {
		struct token *t = m->body[b];
		int k = m->nparams;
		if (t->type == TOK_ATWORD)
			for (k = 0; k < m->nparams; k++)
				if (strcmp(m->params[k], t->text + 1) == 0)
					break;
		/* substituted text counts against the expansion budget too: a
		 * parameter used twice doubles the text at every level */
		if (k < m->nparams) {
			for (size_t a = 0; a < actuals[k].n && !pp->overflow_reported; a++)
				push_token(pp, &body, actuals[k].v[a]);
		} else {
			push_token(pp, &body, t);
		}
	}
	expand_tokens(pp, body.v, body.n, out, depth + 1);
	tv_free(&body);
out:
	*i = j;
	if (actuals) {
		for (int k = 0; k <= m->nparams; k++)
			tv_free(&actuals[k]);
		free(actuals);
	}
}

static void expand_tokens(struct pp *pp, struct token **toks, size_t n,
			  struct tokvec *out, int depth)
{
	for (size_t i = 0; i < n && !pp->overflow_reported;) {
		struct token *t = toks[i];
		if (t->type != TOK_ATWORD) {
			push_token(pp, out, t);
			i++;
			continue;
		}
		const char *w = t->text + 1;
		if (strcmp(w, "define") == 0) {
			if (depth > 0) {
				pp_error(pp, t, "'@define' is not allowed inside a macro body or argument%s", "");
				i++;
			} else {
				struct tokvec tv = { toks, n, n };
				define_macro(pp, &tv, &i, false);
			}
			continue;
		}
		struct macro *m = find_macro(pp, w);
		if (m) {
			expand_macro(pp, m, toks, n, &i, out, depth);
			continue;
		}
		push_token(pp, out, t);
		i++;
	}
}

/* ---- stage 2: conditionals ---- */

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* strverscmp-style comparison result against op */
static bool cmp_result(int c, const char *op)
{
	if (!strcmp(op, "==")) return c == 0;
	if (!strcmp(op, "!=")) return c != 0;
	if (!strcmp(op, "<")) return c < 0;
	if (!strcmp(op, "<=")) return c <= 0;
	if (!strcmp(op, ">")) return c > 0;
	if (!strcmp(op, ">=")) return c >= 0;
	return false;
}

static bool parse_num(const char *s, long long *v)
{
	char *end;
	if (!*s)
		return false;
	errno = 0;
	*v = strtoll(s, &end, 0);
	return *end == '\0' && errno == 0;
}

/* Compare a string value with an RHS string, as glob when it has one. */
static bool glob_or_equal(struct pp *pp, const struct token *optok, const char *value,
			  const char *rhs)
{
	const char *op = optok->text;
	if (strcmp(op, "==") && strcmp(op, "!=")) {
		pp_error(pp, optok, "expected '==' or '!='%s", "");
		return false;
	}
	bool match = fnmatch(rhs, value, 0) == 0;
	return strcmp(op, "==") == 0 ? match : !match;
}

static bool eval_term(struct pp *pp, struct token *lhs, struct token *op, struct token *rhs,
		      bool *ok)
{
	struct session *s = pp->s;
	*ok = true;
	struct token *three[] = { lhs, op, rhs };
	for (int k = 0; k < 3; k++) {
		if (three[k]->type == TOK_BADARG) {
			diag_report(&s->diag, DIAG_PARSE, three[k]->pos, NULL, "%s", three[k]->text);
			*ok = false;
			return false;
		}
	}
	if (!tok_is_relop(op)) {
		pp_error(pp, op, "expected comparison operator in preprocessor condition%s", "");
		*ok = false;
		return false;
	}
	if (lhs->type == TOK_IDENT) {
		const char *n = lhs->text;
		if (!strcmp(n, "kernel_v") || !strcmp(n, "kernel_vr") || !strcmp(n, "systemtap_v")) {
			const char *value = !strcmp(n, "kernel_v") ? s->kernel.version
					  : !strcmp(n, "kernel_vr") ? s->kernel.release : s->compat;
			if (rhs->type != TOK_STRING) {
				pp_error(pp, rhs, "expected string literal after '%s' comparison", n);
				*ok = false;
				return false;
			}
			if (has_glob(rhs->text))
				return glob_or_equal(pp, op, value, rhs->text);
			return cmp_result(strverscmp(value, rhs->text), op->text);
		}
		if (!strcmp(n, "arch") || !strcmp(n, "runtime") || !strcmp(n, "systemtap_privilege")) {
			const char *value = !strcmp(n, "arch") ? s->kernel.arch
					  : !strcmp(n, "runtime") ? "kernel" : s->privilege;
			if (rhs->type != TOK_STRING) {
				pp_error(pp, rhs, "expected string literal after '%s' comparison", n);
				*ok = false;
				return false;
			}
			return glob_or_equal(pp, op, value, rhs->text);
		}
		if (!strcmp(n, "guru_mode")) {
			long long v;
			if (rhs->type != TOK_NUMBER || !parse_num(rhs->text, &v) ||
			    (strcmp(op->text, "==") && strcmp(op->text, "!="))) {
				pp_error(pp, rhs, "expected '== NUMBER' or '!= NUMBER' after guru_mode%s", "");
				*ok = false;
				return false;
			}
			return cmp_result((s->guru ? 1 : 0) == v ? 0 : 1, op->text);
		}
		if (!strncmp(n, "CONFIG_", 7)) {
			const char *value = session_kconfig(s, n);
			long long a, b;
			if (rhs->type == TOK_STRING) {
				if (has_glob(rhs->text) || !strcmp(op->text, "==") || !strcmp(op->text, "!="))
					return glob_or_equal(pp, op, value, rhs->text);
				return cmp_result(strcmp(value, rhs->text), op->text);
			}
			if (rhs->type == TOK_NUMBER) {
				if (!parse_num(rhs->text, &b)) {
					pp_error(pp, rhs, "malformed number in preprocessor condition%s", "");
					*ok = false;
					return false;
				}
				/* an unset option is 0 to a number (SystemTap does so) */
				if (!*value)
					a = 0;
				else if (!parse_num(value, &a))
					return !strcmp(op->text, "!=");
				return cmp_result(a < b ? -1 : a > b, op->text);
			}
			if (rhs->type == TOK_IDENT && !strncmp(rhs->text, "CONFIG_", 7)) {
				const char *v2 = session_kconfig(s, rhs->text);
				if (parse_num(value, &a) && parse_num(v2, &b))
					return cmp_result(a < b ? -1 : a > b, op->text);
				return cmp_result(strcmp(value, v2), op->text);
			}
			pp_error(pp, rhs, "expected string, number or CONFIG_ name after '%s' comparison", n);
			*ok = false;
			return false;
		}
	} else if (lhs->type == TOK_STRING && rhs->type == TOK_STRING) {
		return cmp_result(strcmp(lhs->text, rhs->text), op->text);
	} else if (lhs->type == TOK_NUMBER && rhs->type == TOK_NUMBER) {
		long long a, b;
		if (parse_num(lhs->text, &a) && parse_num(rhs->text, &b))
			return cmp_result(a < b ? -1 : a > b, op->text);
	}
	pp_error(pp, lhs,
		 "expected 'arch', 'kernel_v', 'kernel_vr', 'systemtap_v', 'runtime', "
		 "'systemtap_privilege', 'guru_mode', 'CONFIG_...' or a literal comparison%s", "");
	*ok = false;
	return false;
}

/* Evaluate the condition starting at v[*i] (just after %(); leaves *i at %?. */
static bool eval_condition(struct pp *pp, struct token **v, size_t n, size_t *i, bool *ok)
{
	struct token *open = v[*i - 1];
	bool result = false;   /* value of the || chain so far */
	bool conj = true;      /* value of the current && chain */
	*ok = true;
	for (;;) {
		if (*i + 3 > n || v[*i]->type == TOK_EOF) {
			pp_error(pp, v[*i < n ? *i : n - 1], "incomplete preprocessor condition%s", "");
			*ok = false;
			return false;
		}
		bool tok_ok;
		bool term = eval_term(pp, v[*i], v[*i + 1], v[*i + 2], &tok_ok);
		if (!tok_ok) {
			*ok = false;
			return false;
		}
		*i += 3;
		conj = conj && term;
		struct token *t = v[*i < n ? *i : n - 1];
		if (tok_op(t, "&&")) {
			(*i)++;
		} else if (tok_op(t, "||")) {
			result = result || conj;
			conj = true;
			(*i)++;
		} else if (tok_op(t, "%?")) {
			return result || conj;
		} else {
			pp_error(pp, open, "expected '%%?' marker for conditional%s", "");
			*ok = false;
			return false;
		}
	}
}

/* Find the end of a branch starting at v[i]: stops at %: or %) of the same
 * level.  Returns the index of that token or n-1 (EOF). */
static size_t branch_end(struct token **v, size_t n, size_t i)
{
	int depth = 0;
	for (; i < n; i++) {
		struct token *t = v[i];
		if (t->type == TOK_EOF)
			return i;
		if (tok_op(t, "%("))
			depth++;
		else if (depth == 0 && (tok_op(t, "%:") || tok_op(t, "%)") || tok_op(t, "%?")))
			return i;
		else if (tok_op(t, "%)"))
			depth--;
	}
	return n - 1;
}

static void conditionals(struct pp *pp, struct token **v, size_t n, struct tokvec *out,
			 int depth)
{
	for (size_t i = 0; i < n;) {
		struct token *t = v[i];
		if (!tok_op(t, "%(")) {
			tv_push(out, t);
			i++;
			continue;
		}
		struct token *open = t;
		if (depth > 200) {
			pp_error(pp, open, "preprocessor conditionals nested too deeply (limit %s)", "200");
			return;
		}
		i++;
		bool ok;
		bool cond = eval_condition(pp, v, n, &i, &ok);
		if (!ok) {
			/* skip to the matching %) to recover */
			size_t e = i;
			int d = 1;
			for (; e < n && v[e]->type != TOK_EOF; e++) {
				if (tok_op(v[e], "%(")) d++;
				else if (tok_op(v[e], "%)") && --d == 0) break;
			}
			i = e < n && v[e]->type != TOK_EOF ? e + 1 : e;
			continue;
		}
		i++; /* %? */
		size_t then_start = i, then_end = branch_end(v, n, i);
		size_t else_start = then_end, else_end = then_end;
		if (tok_op(v[then_end], "%?")) {
			pp_error(pp, v[then_end], "incomplete conditional - missing '%%(' before this '%%?'%s", "");
			else_end = then_end;
			while (else_end < n - 1 && !tok_op(v[else_end], "%)"))
				else_end++;
			i = else_end + 1;
			continue;
		}
		if (tok_op(v[then_end], "%:")) {
			else_start = then_end + 1;
			else_end = branch_end(v, n, else_start);
			if (!tok_op(v[else_end], "%)") && v[else_end]->type != TOK_EOF) {
				pp_error(pp, v[else_end], "incomplete conditional - missing '%%(' before this '%s'",
					 v[else_end]->text);
				while (else_end < n - 1 && !tok_op(v[else_end], "%)"))
					else_end++;
				i = else_end + 1;
				continue;
			}
		}
		if (!tok_op(v[else_end], "%)")) {
			diag_report(&pp->s->diag, DIAG_PARSE, open->pos, "operator '%('",
				    "incomplete conditional at end of file (missing '%%)' to close "
				    "'%%(' at line %d)", open->pos.line);
			i = else_end;
			continue;
		}
		if (cond)
			conditionals(pp, v + then_start, then_end - then_start, out, depth + 1);
		else if (else_start != then_end)
			conditionals(pp, v + else_start, else_end - else_start, out, depth + 1);
		i = else_end + 1;
	}
}

/* A *.stpm file: @defines, possibly inside conditionals (which choose the
 * definitions that exist).  Scans in->v[start..end). */
static void macro_library(struct pp *pp, struct tokvec *in, size_t start, size_t end)
{
	for (size_t i = start; i < end;) {
		struct token *t = in->v[i];
		if (t->type == TOK_EOF)
			return;
		if (t->type == TOK_ATWORD && !strcmp(t->text, "@define")) {
			define_macro(pp, in, &i, true);
			continue;
		}
		if (!tok_op(t, "%(")) {
			pp_error(pp, t, "only @define is allowed in a macro library file%s", "");
			i++;
			continue;
		}
		i++;
		bool ok;
		bool cond = eval_condition(pp, in->v, end, &i, &ok);
		if (!ok)
			return;
		i++; /* %? */
		size_t then_end = branch_end(in->v, end, i);
		size_t else_start = then_end, else_end = then_end;
		if (tok_op(in->v[then_end], "%:")) {
			else_start = then_end + 1;
			else_end = branch_end(in->v, end, else_start);
		}
		if (!tok_op(in->v[else_end], "%)")) {
			pp_error(pp, t, "incomplete conditional: missing '%%)'%s", "");
			return;
		}
		if (cond)
			macro_library(pp, in, i, then_end);
		else if (else_start != then_end)
			macro_library(pp, in, else_start, else_end);
		i = else_end + 1;
	}
}

void preprocess(struct session *s, const struct source_file *f, struct tokvec *in,
		struct tokvec *out)
{
	struct pp pp = { .s = s, .file = f };
	if (f->is_macro_lib) {
		macro_library(&pp, in, 0, in->n);
		tv_push(out, in->v[in->n - 1]);
		pv_free(&pp.macros);
		return;
	}
	struct tokvec expanded = {0};
	expand_tokens(&pp, in->v, in->n, &expanded, 0);
	if (expanded.n == 0 || expanded.v[expanded.n - 1]->type != TOK_EOF)
		tv_push(&expanded, in->v[in->n - 1]);
	conditionals(&pp, expanded.v, expanded.n, out, 0);
	/* out-of-range arguments that a conditional did not drop */
	for (size_t i = 0; i < out->n; i++) {
		struct token *t = out->v[i];
		if (t->type == TOK_BADARG)
			diag_report(&s->diag, DIAG_PARSE, t->pos, NULL, "%s", t->text);
	}
	if (out->n == 0 || out->v[out->n - 1]->type != TOK_EOF)
		tv_push(out, in->v[in->n - 1]);
	tv_free(&expanded);
	pv_free(&pp.macros);
}
