/* Pass 1: recursive-descent parser for the stap language.
 *
 * Each parse_* function reads like its grammar rule (see docs/language.md
 * and ../shared/ref/language.md §2).  A syntax error is reported with its
 * position and what was open, then the parser skips to the next top-level
 * declaration, so one run lists every error of the file.  Trees live in the
 * session arena, which makes the longjmp recovery leak-free. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "format.h"
#include "preproc.h"
#include "session.h"
#include "token.h"
#include "util.h"

enum {
	MAX_NESTING = 400,          /* expression/statement recursion */
	MAX_TREE_DEPTH = 2000,      /* operators chained in one expression: the
	                               later passes walk trees recursively */
	MAX_PROBE_POINT_PRODUCT = 4096, /* brace expansion results */
};

struct parser {
	struct session *s;
	struct stapfile *file;
	struct tokvec toks;
	size_t i;
	int depth;                  /* recursion guard */
	int chain;                  /* left-nested operators being built */
	bool in_function;
	bool privileged;            /* tapset file or guru mode */
	struct strmap global_names; /* for "duplicate global name" */
	jmp_buf recover;
};

/* Growable array in the arena (old storage is simply abandoned). */
struct list {
	void **v;
	int n, cap;
};

static void list_push(struct parser *p, struct list *l, void *x)
{
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 4;
		void **v = arena_alloc(&p->s->arena, (size_t)cap * sizeof *v);
		if (l->n)
			memcpy(v, l->v, (size_t)l->n * sizeof *v);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = x;
}

/* ---- token helpers ---- */

static struct token *peek(struct parser *p)
{
	return p->toks.v[p->i];
}

static struct token *peek_at(struct parser *p, size_t k)
{
	size_t j = p->i + k;
	return j < p->toks.n ? p->toks.v[j] : p->toks.v[p->toks.n - 1];
}

static struct token *next(struct parser *p)
{
	struct token *t = p->toks.v[p->i];
	if (t->type != TOK_EOF)
		p->i++;
	return t;
}

static _Noreturn void fail_at(struct parser *p, const struct token *t, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static _Noreturn void fail_at(struct parser *p, const struct token *t, const char *fmt, ...)
{
	if (t->type == TOK_BADARG)   /* reported by the preprocessor already */
		longjmp(p->recover, 1);
	va_list ap;
	va_start(ap, fmt);
	struct strbuf sb;
	sb_init(&sb);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	diag_report(&p->s->diag, DIAG_PARSE, t->pos, tok_describe(p->s, t), "%s", sb.s);
	sb_free(&sb);
	longjmp(p->recover, 1);
}

static bool is_op(struct parser *p, const char *op)
{
	return tok_op(peek(p), op);
}

static bool is_kw(struct parser *p, const char *kw)
{
	return tok_kw(peek(p), kw);
}

static bool accept_op(struct parser *p, const char *op)
{
	if (!is_op(p, op))
		return false;
	next(p);
	return true;
}

static struct token *expect_op(struct parser *p, const char *op)
{
	if (!is_op(p, op))
		fail_at(p, peek(p), "expected '%s'", op);
	return next(p);
}

/* Expect the closing `op` of something opened by `open`. */
static void check_match(struct parser *p, const char *op, const struct token *open)
{
	if (is_op(p, op)) {
		next(p);
		return;
	}
	if (open->pos.line == peek(p)->pos.line)
		fail_at(p, peek(p), "expected '%s'", op);
	fail_at(p, peek(p), "expected '%s' (to close '%s' at line %d)", op, open->text,
		open->pos.line);
}

static struct token *expect_ident(struct parser *p, const char *what)
{
	struct token *t = peek(p);
	if (t->type != TOK_IDENT || t->text[0] == '$')
		fail_at(p, t, "expected %s", what);
	return next(p);
}

static void enter(struct parser *p)
{
	if (++p->depth > MAX_NESTING)
		fail_at(p, peek(p), "nesting too deep (limit %d)", MAX_NESTING);
}

static void leave(struct parser *p)
{
	p->depth--;
}

/* ---- literals ---- */

/* Parse an integer token: decimal, 0x hex or leading-0 octal, 0..2^64-1,
 * values >= 2^63 wrap to negative as in SystemTap. */
static int64_t parse_number(struct parser *p, const struct token *t)
{
	const char *s = t->text;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (*end != '\0' || s[0] == '-' || s[0] == '+' || errno == ERANGE)
		fail_at(p, t, "number invalid or out of range (0 to 18446744073709551615)");
	return (int64_t)v;
}

/* STRING {STRING}: adjacent literals concatenate. */
static void parse_strings(struct parser *p, const char **str, size_t *len)
{
	struct token *t = next(p);
	if (peek(p)->type != TOK_STRING) {
		*str = t->text;
		*len = t->len;
		return;
	}
	struct strbuf sb;
	sb_init(&sb);
	sb_putn(&sb, t->text, t->len);
	while (peek(p)->type == TOK_STRING) {
		t = next(p);
		sb_putn(&sb, t->text, t->len);
	}
	*str = arena_strndup(&p->s->arena, sb.s, sb.len);
	*len = sb.len;
	sb_free(&sb);
}

/* literal = STRING {STRING} | ["-"] NUMBER */
static struct literal *parse_literal(struct parser *p)
{
	struct literal *l = arena_alloc(&p->s->arena, sizeof *l);
	struct token *t = peek(p);
	l->pos = t->pos;
	if (t->type == TOK_STRING) {
		l->is_string = true;
		parse_strings(p, &l->str, &l->len);
		return l;
	}
	bool neg = accept_op(p, "-");
	t = peek(p);
	if (t->type != TOK_NUMBER)
		fail_at(p, t, "expected literal string or number");
	next(p);
	int64_t v = parse_number(p, t);
	l->num = neg ? (int64_t)(0 - (uint64_t)v) : v;
	return l;
}

static bool literal_string_expected(struct parser *p, const char **str, size_t *len)
{
	if (peek(p)->type != TOK_STRING)
		fail_at(p, peek(p), "expected literal string");
	parse_strings(p, str, len);
	return true;
}

/* ---- expressions ---- */

static struct expr *parse_expr(struct parser *p);
static struct expr *parse_ternary(struct parser *p);
static struct expr *parse_unary(struct parser *p);
static struct expr *parse_shift(struct parser *p);
static struct stmt *parse_statement(struct parser *p);
static struct stmt *parse_block(struct parser *p);

static struct expr *mk(struct parser *p, enum expr_kind kind, const struct token *t)
{
	struct expr *e = new_expr(p->s, kind, t->pos);
	e->tok = t;
	return e;
}

static struct expr *mk_binary(struct parser *p, enum expr_kind kind, const struct token *op,
			      struct expr *l, struct expr *r)
{
	struct expr *e = mk(p, kind, op);
	e->op = op->text;
	e->left = l;
	e->right = r;
	return e;
}

static bool is_assign_op(const struct token *t)
{
	static const char *const ops[] = {
		"=", "<<<", "+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "^=",
		"|=", ".=", NULL,
	};
	return tok_op_in(t, ops);
}

/* expr = ternary [ assign_op expr ] */
static struct expr *parse_expr(struct parser *p)
{
	enter(p);
	struct expr *l = parse_ternary(p);
	if (is_assign_op(peek(p))) {
		struct token *op = next(p);
		struct expr *r = parse_expr(p);
		l = mk_binary(p, E_ASSIGN, op, l, r);
	}
	leave(p);
	return l;
}

static struct expr *parse_lor(struct parser *p);

/* ternary = lor [ "?" expr ":" ternary ] */
static struct expr *parse_ternary(struct parser *p)
{
	struct expr *c = parse_lor(p);
	if (!is_op(p, "?"))
		return c;
	struct token *q = next(p);
	enter(p);
	struct expr *e = mk(p, E_TERNARY, q);
	e->cond = c;
	e->left = parse_expr(p);
	check_match(p, ":", q);
	e->right = parse_ternary(p);
	leave(p);
	return e;
}

typedef struct expr *(*level_fn)(struct parser *);

/* One left-associative binary level: operand { op operand }. */
static struct expr *binary_level(struct parser *p, level_fn operand, const char *const *ops,
				 enum expr_kind kind)
{
	struct expr *l = operand(p);
	int saved = p->chain;
	for (;;) {
		if (!tok_op_in(peek(p), ops)) {
			p->chain = saved;
			return l;
		}
		struct token *op = next(p);
		if (++p->chain + p->depth > MAX_TREE_DEPTH)
			fail_at(p, op, "expression too deep (limit %d operators)", MAX_TREE_DEPTH);
		l = mk_binary(p, kind, op, l, operand(p));
	}
}

static struct expr *parse_land(struct parser *p);
static struct expr *parse_bor(struct parser *p);
static struct expr *parse_bxor(struct parser *p);
static struct expr *parse_band(struct parser *p);
static struct expr *parse_in(struct parser *p);
static struct expr *parse_cmp(struct parser *p);
static struct expr *parse_concat(struct parser *p);
static struct expr *parse_add(struct parser *p);
static struct expr *parse_mul(struct parser *p);

static const char *const ops_lor[] = { "||", NULL };
static const char *const ops_land[] = { "&&", NULL };
static const char *const ops_bor[] = { "|", NULL };
static const char *const ops_bxor[] = { "^", NULL };
static const char *const ops_band[] = { "&", NULL };
static const char *const ops_shift[] = { "<<", ">>", ">>>", NULL };
static const char *const ops_concat[] = { ".", NULL };
static const char *const ops_add[] = { "+", "-", NULL };
static const char *const ops_mul[] = { "*", "/", "%", NULL };

static struct expr *parse_lor(struct parser *p)
{
	return binary_level(p, parse_land, ops_lor, E_LOGICAL);
}

static struct expr *parse_land(struct parser *p)
{
	return binary_level(p, parse_bor, ops_land, E_LOGICAL);
}

static struct expr *parse_bor(struct parser *p)
{
	return binary_level(p, parse_bxor, ops_bor, E_BINARY);
}

static struct expr *parse_bxor(struct parser *p)
{
	return binary_level(p, parse_band, ops_bxor, E_BINARY);
}

static struct expr *parse_band(struct parser *p)
{
	return binary_level(p, parse_in, ops_band, E_BINARY);
}

static struct expr *parse_shift(struct parser *p)
{
	return binary_level(p, parse_concat, ops_shift, E_BINARY);
}

static struct expr *parse_concat(struct parser *p)
{
	return binary_level(p, parse_add, ops_concat, E_CONCAT);
}

static struct expr *parse_add(struct parser *p)
{
	return binary_level(p, parse_mul, ops_add, E_BINARY);
}

static struct expr *parse_mul(struct parser *p)
{
	return binary_level(p, parse_unary, ops_mul, E_BINARY);
}

static struct expr *parse_hist_op(struct parser *p);

/* indexable = IDENT | hist_op */
static struct expr *parse_indexable(struct parser *p)
{
	struct token *t = peek(p);
	if (t->type == TOK_ATWORD &&
	    (!strcmp(t->text, "@hist_linear") || !strcmp(t->text, "@hist_log")))
		return parse_hist_op(p);
	t = expect_ident(p, "array name or histogram");
	struct expr *e = mk(p, E_SYMBOL, t);
	e->name = t->text;
	return e;
}

/* "[" (cmp | "*") {"," (cmp | "*")} "]" -- returns the count, fills *args */
static int parse_index_list(struct parser *p, struct expr ***args, level_fn item)
{
	struct token *open = expect_op(p, "[");
	struct list l = {0};
	if (is_op(p, "]"))
		fail_at(p, peek(p), "expected index expression");
	do {
		if (is_op(p, "*") && (tok_op(peek_at(p, 1), ",") || tok_op(peek_at(p, 1), "]"))) {
			next(p);
			list_push(p, &l, NULL);
		} else {
			list_push(p, &l, item(p));
		}
	} while (accept_op(p, ","));
	check_match(p, "]", open);
	*args = (struct expr **)l.v;
	return l.n;
}

/* inexpr = cmp [ "in" indexable ] | "[" ... "]" "in" indexable */
static struct expr *parse_in(struct parser *p)
{
	if (is_op(p, "[")) {
		struct token *open = peek(p);
		struct expr *e = mk(p, E_IN, open);
		e->nargs = parse_index_list(p, &e->args, parse_cmp);
		if (!is_kw(p, "in"))
			fail_at(p, peek(p), "expected 'in'");
		e->tok = next(p);
		e->base = parse_indexable(p);
		return e;
	}
	struct expr *l = parse_cmp(p);
	if (!is_kw(p, "in"))
		return l;
	struct token *in = next(p);
	struct expr *e = mk(p, E_IN, in);
	e->pos = l->pos;
	e->args = arena_alloc(&p->s->arena, sizeof *e->args);
	e->args[0] = l;
	e->nargs = 1;
	e->base = parse_indexable(p);
	return e;
}

/* cmp = shift ( ("=~"|"!~") STRING | { relop shift } ) */
static struct expr *parse_cmp(struct parser *p)
{
	struct expr *l = parse_shift(p);
	for (;;) {
		if (is_op(p, "=~") || is_op(p, "!~")) {
			struct token *op = next(p);
			struct expr *e = mk_binary(p, E_REGEX, op, l, NULL);
			if (peek(p)->type != TOK_STRING)
				fail_at(p, peek(p), "expected literal string as regular expression");
			parse_strings(p, &e->str, &e->len);
			return e;
		}
		if (!tok_is_relop(peek(p)))
			return l;
		struct token *op = next(p);
		l = mk_binary(p, E_COMPARE, op, l, parse_shift(p));
	}
}

static struct expr *parse_crement(struct parser *p);

/* unary = ("+"|"-"|"!"|"~") unary | crement */
static struct expr *parse_unary(struct parser *p)
{
	if (is_op(p, "+") || is_op(p, "-") || is_op(p, "!") || is_op(p, "~")) {
		struct token *op = next(p);
		enter(p);
		struct expr *e = mk(p, E_UNARY, op);
		e->op = op->text;
		e->left = parse_unary(p);
		leave(p);
		return e;
	}
	return parse_crement(p);
}

static struct expr *parse_tvalue(struct parser *p);

/* crement = ("++"|"--") tvalue | tvalue ["++"|"--"] */
static struct expr *parse_crement(struct parser *p)
{
	if (is_op(p, "++") || is_op(p, "--")) {
		struct token *op = next(p);
		struct expr *e = mk(p, E_PREINC, op);
		e->op = op->text;
		e->left = parse_tvalue(p);
		return e;
	}
	struct expr *v = parse_tvalue(p);
	if (is_op(p, "++") || is_op(p, "--")) {
		struct token *op = next(p);
		struct expr *e = mk(p, E_POSTINC, op);
		e->pos = v->pos;
		e->op = op->text;
		e->left = v;
		return e;
	}
	return v;
}

/* Strip a trailing "$" or "$$" pretty-print suffix from an identifier. */
static const char *strip_pretty(struct parser *p, const char *name, int *pretty)
{
	size_t n = strlen(name);
	size_t k = 0;
	while (k < n && name[n - 1 - k] == '$')
		k++;
	if (k == 0 || k == n)
		return name;
	if (k > 2)
		k = 2;
	*pretty = (int)k;
	return arena_strndup(&p->s->arena, name, n - k);
}

/* $$vars, $$parms, $$locals, $$return, and the string context values
 * of markers and tracepoints ($$name, $$provider, $$system ...) */
static bool is_target_vars(const char *name)
{
	return name[0] == '$' && name[1] == '$' && name[2] != '\0';
}

static struct expr *parse_value(struct parser *p);

static bool has_components(const struct expr *e)
{
	return e->kind == E_TARGET || e->kind == E_CAST || e->kind == E_ATVAR ||
	       e->kind == E_AUTOCAST;
}

/* A pretty-print suffix written as a separate "$"/"$$" right after ']'. */
static void parse_pretty_suffix(struct parser *p, struct expr *e)
{
	struct token *t = peek(p);
	if (t->space_before)
		return;
	if (tok_op(t, "$")) {
		next(p);
		e->pretty = 1;
		if (tok_op(peek(p), "$") && !peek(p)->space_before) {
			next(p);
			e->pretty = 2;
		}
	} else if (t->type == TOK_IDENT && !strcmp(t->text, "$$")) {
		next(p);
		e->pretty = 2;
	}
}

/* tvalue = ["&"] (DOLLAR_IDENT | cast_op | atvar_op | value)
 *          { "->" member | "[" expr "]" } ["$" | "$$"] */
static struct expr *parse_tvalue(struct parser *p)
{
	struct token *amp = NULL;
	if (is_op(p, "&"))
		amp = next(p);
	struct expr *e;
	struct token *t = peek(p);
	if (t->type == TOK_IDENT && t->text[0] == '$') {
		next(p);
		int pretty = 0;
		const char *name = strip_pretty(p, t->text, &pretty);
		if (is_target_vars(name)) {
			e = mk(p, E_TARGET_VARS, t);
			e->name = name;
			e->pretty = pretty;
			if (amp)
				fail_at(p, amp, "cannot take the address of '%s'", name);
			return e;
		}
		if (!strcmp(name, "$") || !strcmp(name, "$$"))
			fail_at(p, t, "expected target variable name after '$'");
		e = mk(p, E_TARGET, t);
		e->name = name;
		e->pretty = pretty;
	} else {
		e = parse_value(p);
	}
	struct list comps = {0};
	if (e->pretty && (is_op(p, "->") || is_op(p, "[")))
		fail_at(p, peek(p), "-> and [ are not accepted for a pretty-printing variable");
	while (!e->pretty && (is_op(p, "->") || is_op(p, "["))) {
		struct target_comp *c = arena_alloc(&p->s->arena, sizeof *c);
		struct token *op = next(p);
		c->pos = op->pos;
		if (!strcmp(op->text, "->")) {
			struct token *m = peek(p);
			if (m->type != TOK_IDENT && m->type != TOK_KEYWORD)
				fail_at(p, m, "expected field name after '->'");
			next(p);
			c->kind = COMP_MEMBER;
			c->member = strip_pretty(p, m->text, &e->pretty);
		} else {
			c->kind = COMP_INDEX;
			c->index = parse_expr(p);
			check_match(p, "]", op);
		}
		if (!has_components(e)) {
			struct expr *ac = mk(p, E_AUTOCAST, op);
			ac->pos = e->pos;
			ac->left = e;
			e = ac;
		}
		list_push(p, &comps, c);
	}
	if (comps.n) {
		/* append to any components the cast/atvar already had */
		int n = e->ncomps + comps.n;
		struct target_comp *all = arena_alloc(&p->s->arena, (size_t)n * sizeof *all);
		for (int k = 0; k < e->ncomps; k++)
			all[k] = e->comps[k];
		for (int k = 0; k < comps.n; k++)
			all[e->ncomps + k] = *(struct target_comp *)comps.v[k];
		e->comps = all;
		e->ncomps = n;
	}
	if (has_components(e) && !e->pretty)
		parse_pretty_suffix(p, e);
	if (amp) {
		if (e->pretty)
			fail_at(p, amp, "'&' cannot apply to a pretty-printed value");
		if (has_components(e)) {
			e->addressof = true;
		} else {
			/* &(...) of a macro such as @choose_defined: whether it names
			 * something addressable is known once @defined is decided */
			struct expr *u = mk(p, E_UNARY, amp);
			u->op = "&";
			u->left = e;
			e = u;
		}
	}
	return e;
}

static const char *const stat_ops[] = {
	"@count", "@sum", "@min", "@max", "@avg", "@variance", NULL,
};

static bool is_stat_op(const char *w)
{
	for (const char *const *o = stat_ops; *o; o++)
		if (!strcmp(w, *o))
			return true;
	return false;
}

static const char *const print_names[] = {
	"print", "println", "printf", "printd", "printdln", "sprint", "sprintln",
	"sprintf", "sprintd", "sprintdln", "print_char", NULL,
};

static bool is_print_name(const char *w)
{
	for (const char *const *o = print_names; *o; o++)
		if (!strcmp(w, *o))
			return true;
	return false;
}

/* hist_op = "@hist_linear" "(" expr "," lit "," lit "," lit ")"
 *         | "@hist_log" "(" expr ")" */
static struct expr *parse_hist_op(struct parser *p)
{
	struct token *t = next(p);
	struct expr *e = mk(p, E_HIST, t);
	e->name = t->text;
	struct token *open = expect_op(p, "(");
	e->left = parse_expr(p);
	if (!strcmp(t->text, "@hist_linear")) {
		e->hist_kind = 0;
		int64_t *params[] = { &e->hist_lo, &e->hist_hi, &e->hist_width };
		for (int k = 0; k < 3; k++) {
			expect_op(p, ",");
			struct literal *l = parse_literal(p);
			if (l->is_string)
				fail_at(p, t, "histogram parameters must be numbers");
			*params[k] = l->num;
		}
	} else {
		e->hist_kind = 1;
	}
	check_match(p, ")", open);
	return e;
}

/* Arguments of a print-family call.  A histogram may be the only argument
 * of print/println/sprint/sprintln. */
static struct expr *parse_print(struct parser *p, struct token *name)
{
	struct expr *e = mk(p, E_PRINT, name);
	e->name = name->text;
	struct token *open = expect_op(p, "(");
	const char *n = name->text;
	bool fmt = strstr(n, "printf") != NULL;
	bool delim = !strcmp(n, "printd") || !strcmp(n, "printdln") ||
		     !strcmp(n, "sprintd") || !strcmp(n, "sprintdln");
	struct list args = {0};
	if (fmt || delim) {
		struct token *ft = peek(p);
		if (ft->type != TOK_STRING)
			fail_at(p, ft, fmt ? "expected literal string (the print format)"
					   : "expected literal string (the print delimiter)");
		struct expr *f = mk(p, E_STRING, ft);
		parse_strings(p, &f->str, &f->len);
		e->fmt = f;
		if (fmt) {
			struct fmt_piece *pieces;
			const char *err;
			if (format_parse(f->str, f->len, &pieces, &err) < 0)
				fail_at(p, ft, "%s", err);
			free(pieces);
		}
		while (accept_op(p, ","))
			list_push(p, &args, parse_expr(p));
	} else if (!is_op(p, ")")) {
		struct token *h = peek(p);
		if (h->type == TOK_ATWORD &&
		    (!strcmp(h->text, "@hist_linear") || !strcmp(h->text, "@hist_log")) &&
		    strstr(n, "print") && !strstr(n, "printd")) {
			struct expr *hist = parse_hist_op(p);
			if (is_op(p, "[")) {
				struct expr *ix = mk(p, E_ARRAYINDEX, peek(p));
				ix->base = hist;
				ix->nargs = parse_index_list(p, &ix->args, parse_expr);
				list_push(p, &args, ix);
			} else {
				list_push(p, &args, hist);
				check_match(p, ")", open);
				e->args = (struct expr **)args.v;
				e->nargs = args.n;
				return e;
			}
			while (accept_op(p, ","))
				list_push(p, &args, parse_expr(p));
		} else {
			do
				list_push(p, &args, parse_expr(p));
			while (accept_op(p, ","));
		}
	}
	check_match(p, ")", open);
	e->args = (struct expr **)args.v;
	e->nargs = args.n;
	if (delim && e->nargs < 2)
		fail_at(p, name, "'%s' needs at least two values to join", n);
	if ((!strcmp(n, "print") || !strcmp(n, "sprint")) && e->nargs < 1)
		fail_at(p, name, "'%s' needs at least one argument", n);
	if (!strcmp(n, "print_char") && e->nargs != 1)
		fail_at(p, name, "'print_char' takes exactly one argument");
	return e;
}

/* IDENT "(" args ")" */
static struct expr *parse_call(struct parser *p, struct token *name)
{
	struct expr *e = mk(p, E_FUNCALL, name);
	e->name = name->text;
	struct token *open = expect_op(p, "(");
	struct list args = {0};
	if (!is_op(p, ")")) {
		do
			list_push(p, &args, parse_expr(p));
		while (accept_op(p, ","));
	}
	check_match(p, ")", open);
	e->args = (struct expr **)args.v;
	e->nargs = args.n;
	return e;
}

static struct expr *parse_atword(struct parser *p)
{
	struct token *t = peek(p);
	const char *w = t->text;
	if (!strcmp(w, "@hist_linear") || !strcmp(w, "@hist_log")) {
		struct expr *h = parse_hist_op(p);
		if (!is_op(p, "["))
			fail_at(p, t, "base histogram operator where expression expected");
		struct expr *ix = mk(p, E_ARRAYINDEX, peek(p));
		ix->pos = h->pos;
		ix->base = h;
		ix->nargs = parse_index_list(p, &ix->args, parse_expr);
		return ix;
	}
	next(p);
	/* kernel memory and registers, C constants: guru or tapset only */
	if (!p->privileged && (!strcmp(w, "@kregister") || !strcmp(w, "@kderef") ||
			       !strcmp(w, "@const")))
		fail_at(p, t, "using %s operator not permitted; need stap -g", w);
	struct token *open = expect_op(p, "(");
	struct expr *e;
	if (is_stat_op(w)) {
		e = mk(p, E_STATOP, t);
		e->name = w;
		e->num = -1;
		e->left = parse_expr(p);
		if (!strcmp(w, "@variance") && accept_op(p, ",")) {
			struct token *nt = peek(p);
			if (nt->type != TOK_NUMBER)
				fail_at(p, nt, "expected bit shift number (0-62)");
			next(p);
			e->num = parse_number(p, nt);
		}
	} else if (!strcmp(w, "@cast")) {
		e = mk(p, E_CAST, t);
		e->left = parse_expr(p);
		expect_op(p, ",");
		size_t len;
		literal_string_expected(p, &e->cast_type, &len);
		if (accept_op(p, ","))
			literal_string_expected(p, &e->cast_module, &len);
	} else if (!strcmp(w, "@var")) {
		e = mk(p, E_ATVAR, t);
		size_t len;
		literal_string_expected(p, &e->cast_type, &len);
		if (accept_op(p, ","))
			literal_string_expected(p, &e->cast_module, &len);
	} else if (!strcmp(w, "@defined") || !strcmp(w, "@entry")) {
		e = mk(p, !strcmp(w, "@defined") ? E_DEFINED : E_ENTRY, t);
		e->left = parse_expr(p);
	} else if (!strcmp(w, "@perf") || !strcmp(w, "@const")) {
		e = mk(p, !strcmp(w, "@perf") ? E_PERF : E_CONST, t);
		literal_string_expected(p, &e->str, &e->len);
	} else if (!strcmp(w, "@probewrite")) {
		e = mk(p, E_PROBEWRITE, t);
		e->name = expect_ident(p, "variable name")->text;
	} else if (!strcmp(w, "@kregister") || !strcmp(w, "@uregister")) {
		e = mk(p, E_REGISTER, t);
		e->name = w;
		struct token *nt = peek(p);
		if (nt->type != TOK_NUMBER)
			fail_at(p, nt, "expected register number");
		next(p);
		e->num = parse_number(p, nt);
	} else if (!strcmp(w, "@kderef") || !strcmp(w, "@uderef")) {
		e = mk(p, E_DEREF, t);
		e->name = w;
		struct token *nt = peek(p);
		if (nt->type != TOK_NUMBER)
			fail_at(p, nt, "expected size in bytes");
		next(p);
		e->num = parse_number(p, nt);
		expect_op(p, ",");
		e->left = parse_expr(p);
	} else {
		fail_at(p, t, "unknown operator %s", w);
	}
	check_match(p, ")", open);
	return e;
}

/* value = EMBEDDED | "(" expr ")" | literal | atom */
static struct expr *parse_value(struct parser *p)
{
	struct token *t = peek(p);
	switch (t->type) {
	case TOK_EMBEDDED: {
		next(p);
		if (!p->privileged)
			fail_at(p, t, "embedded expression code in unprivileged script; need stap -g");
		struct expr *e = mk(p, E_EMBEDDED, t);
		e->str = t->text;
		e->len = t->len;
		return e;
	}
	case TOK_NUMBER: {
		next(p);
		struct expr *e = mk(p, E_NUMBER, t);
		e->num = parse_number(p, t);
		return e;
	}
	case TOK_STRING: {
		struct expr *e = mk(p, E_STRING, t);
		parse_strings(p, &e->str, &e->len);
		return e;
	}
	case TOK_ATWORD:
		return parse_atword(p);
	case TOK_IDENT: {
		next(p);
		if (is_op(p, "(")) {
			if (is_print_name(t->text))
				return parse_print(p, t);
			return parse_call(p, t);
		}
		if (is_print_name(t->text))
			fail_at(p, t, "expected '(' after '%s'", t->text);
		if (is_op(p, "[")) {
			if (!strcmp(t->text, "$") || t->text[strlen(t->text) - 1] == '$')
				fail_at(p, peek(p), "-> and [ are not accepted for a pretty-printing variable");
			struct expr *e = mk(p, E_ARRAYINDEX, t);
			struct expr *base = mk(p, E_SYMBOL, t);
			base->name = t->text;
			e->base = base;
			e->nargs = parse_index_list(p, &e->args, parse_expr);
			return e;
		}
		struct expr *e = mk(p, E_SYMBOL, t);
		e->name = t->text;
		return e;
	}
	case TOK_KEYWORD:
		if ((!strcmp(t->text, "string") || !strcmp(t->text, "long")) &&
		    tok_op(peek_at(p, 1), "(")) {
			next(p);
			return parse_call(p, t);
		}
		break;
	case TOK_OP:
		if (!strcmp(t->text, "(")) {
			next(p);
			enter(p);
			struct expr *e = parse_expr(p);
			check_match(p, ")", t);
			leave(p);
			return e;
		}
		break;
	default:
		break;
	}
	fail_at(p, t, "expected expression");
}

/* ---- statements ---- */

static struct stmt *mks(struct parser *p, enum stmt_kind kind, const struct token *t)
{
	struct stmt *st = new_stmt(p->s, kind, t->pos);
	st->tok = t;
	return st;
}

/* block = "{" { statement } "}" */
static struct stmt *parse_block(struct parser *p)
{
	struct token *open = expect_op(p, "{");
	struct stmt *b = mks(p, S_BLOCK, open);
	struct list l = {0};
	enter(p);
	while (!is_op(p, "}")) {
		if (peek(p)->type == TOK_EOF)
			fail_at(p, peek(p), "expected statement ('}' to close '{' at line %d)",
				open->pos.line);
		list_push(p, &l, parse_statement(p));
	}
	next(p);
	leave(p);
	b->body = (struct stmt **)l.v;
	b->nbody = l.n;
	return b;
}

static int sort_mark(struct parser *p)
{
	if (is_op(p, "+") || is_op(p, "-"))
		return !strcmp(next(p)->text, "+") ? 1 : -1;
	return 0;
}

static void set_sort(struct parser *p, struct stmt *st, int dir, int column,
		     const struct token *where)
{
	if (!dir)
		return;
	if (st->fe_sort_dir)
		fail_at(p, where, "multiple sort directives in foreach");
	st->fe_sort_dir = dir;
	st->fe_sort_column = column;
}

static struct expr *loop_var(struct parser *p)
{
	struct token *t = expect_ident(p, "identifier in foreach");
	struct expr *e = mk(p, E_SYMBOL, t);
	e->name = t->text;
	return e;
}

/* foreach "(" fe_vars "in" indexable [slice] [agg] [sort] ["limit" expr] ")" stmt */
static struct stmt *parse_foreach(struct parser *p, struct token *kw)
{
	struct stmt *st = mks(p, S_FOREACH, kw);
	st->fe_sort_column = -1;
	struct token *open = expect_op(p, "(");
	struct list keys = {0};

	/* optional "value =" */
	if (peek(p)->type == TOK_IDENT &&
	    (tok_op(peek_at(p, 1), "=") ||
	     ((tok_op(peek_at(p, 1), "+") || tok_op(peek_at(p, 1), "-")) &&
	      tok_op(peek_at(p, 2), "=")))) {
		st->fe_value = loop_var(p);
		struct token *where = peek(p);
		set_sort(p, st, sort_mark(p), 0, where);
		expect_op(p, "=");
	}
	if (is_op(p, "[")) {
		struct token *bopen = next(p);
		do {
			list_push(p, &keys, loop_var(p));
			struct token *where = peek(p);
			set_sort(p, st, sort_mark(p), keys.n, where);
		} while (accept_op(p, ","));
		check_match(p, "]", bopen);
	} else {
		list_push(p, &keys, loop_var(p));
		struct token *where = peek(p);
		set_sort(p, st, sort_mark(p), 1, where);
	}
	st->fe_keys = (struct expr **)keys.v;
	st->fe_nkeys = keys.n;
	if (!is_kw(p, "in"))
		fail_at(p, peek(p), "expected 'in'");
	next(p);
	st->fe_base = parse_indexable(p);
	if (st->fe_base->kind == E_SYMBOL && is_op(p, "["))
		st->fe_nslice = parse_index_list(p, &st->fe_slice, parse_expr);
	struct token *t = peek(p);
	if (t->type == TOK_ATWORD && is_stat_op(t->text)) {
		next(p);
		st->fe_sort_agg = t->text;
		if (!is_op(p, "+") && !is_op(p, "-"))
			fail_at(p, peek(p), "expected sort directive ('+' or '-' after %s)", t->text);
	}
	struct token *where = peek(p);
	set_sort(p, st, sort_mark(p), 0, where);
	if (is_kw(p, "limit")) {
		next(p);
		st->fe_limit = parse_expr(p);
	}
	check_match(p, ")", open);
	st->then = parse_statement(p);
	return st;
}

static bool ends_simple_statement(struct parser *p)
{
	return is_op(p, ";") || is_op(p, "}") || peek(p)->type == TOK_EOF;
}

/* statement (see grammar §2.3).  ";" after a simple statement is optional. */
static struct stmt *parse_statement(struct parser *p)
{
	struct token *t = peek(p);
	struct stmt *st;
	enter(p);
	if (tok_op(t, ";")) {
		next(p);
		st = mks(p, S_NULL, t);
	} else if (tok_op(t, "{")) {
		st = parse_block(p);
	} else if (tok_kw(t, "if")) {
		next(p);
		st = mks(p, S_IF, t);
		struct token *open = expect_op(p, "(");
		st->e = parse_expr(p);
		check_match(p, ")", open);
		st->then = parse_statement(p);
		if (is_kw(p, "else")) {
			next(p);
			st->els = parse_statement(p);
		}
	} else if (tok_kw(t, "while")) {
		next(p);
		st = mks(p, S_WHILE, t);
		struct token *open = expect_op(p, "(");
		st->e = parse_expr(p);
		check_match(p, ")", open);
		st->then = parse_statement(p);
	} else if (tok_kw(t, "for")) {
		next(p);
		st = mks(p, S_FOR, t);
		struct token *open = expect_op(p, "(");
		if (!is_op(p, ";"))
			st->init = parse_expr(p);
		expect_op(p, ";");
		if (!is_op(p, ";"))
			st->e = parse_expr(p);
		expect_op(p, ";");
		if (!is_op(p, ")"))
			st->incr = parse_expr(p);
		check_match(p, ")", open);
		st->then = parse_statement(p);
	} else if (tok_kw(t, "foreach")) {
		next(p);
		st = parse_foreach(p, t);
	} else if (tok_kw(t, "try")) {
		next(p);
		st = mks(p, S_TRY, t);
		st->then = parse_block(p);
		if (!is_kw(p, "catch"))
			fail_at(p, peek(p), "expected 'catch'");
		next(p);
		if (is_op(p, "(")) {
			struct token *open = next(p);
			st->catch_var = loop_var(p);
			check_match(p, ")", open);
		}
		st->els = parse_block(p);
	} else if (t->type == TOK_KEYWORD &&
		   (!strcmp(t->text, "break") || !strcmp(t->text, "continue") ||
		    !strcmp(t->text, "next"))) {
		next(p);
		st = mks(p, !strcmp(t->text, "break") ? S_BREAK
			    : !strcmp(t->text, "continue") ? S_CONTINUE : S_NEXT, t);
		accept_op(p, ";");
	} else if (tok_kw(t, "return")) {
		next(p);
		if (!p->in_function)
			fail_at(p, t, "found 'return' not in function context");
		st = mks(p, S_RETURN, t);
		if (!ends_simple_statement(p))
			st->e = parse_expr(p);
		accept_op(p, ";");
	} else if (tok_kw(t, "delete")) {
		next(p);
		st = mks(p, S_DELETE, t);
		st->e = parse_expr(p);
		accept_op(p, ";");
	} else if (t->type == TOK_KEYWORD && strcmp(t->text, "string") && strcmp(t->text, "long")) {
		fail_at(p, t, "expected statement");
	} else {
		st = mks(p, S_EXPR, t);
		st->e = parse_expr(p);
		if (st->e->kind == E_EMBEDDED) {
			st->kind = S_EMBEDDED;
			st->code = st->e->str;
		}
		accept_op(p, ";");
	}
	leave(p);
	return st;
}

/* ---- probe points ---- */

/* A probe point during brace expansion: a list of components. */
struct pp_build {
	struct list comps;
	bool optional, sufficient;  /* from an alternative inside braces */
	struct expr *cond;
};

static struct probe_point *finish_pp(struct parser *p, struct pp_build *b, struct srcpos pos)
{
	struct probe_point *pp = arena_alloc(&p->s->arena, sizeof *pp);
	pp->ncomps = b->comps.n;
	pp->comps = arena_alloc(&p->s->arena, (size_t)pp->ncomps * sizeof *pp->comps);
	for (int k = 0; k < pp->ncomps; k++)
		pp->comps[k] = *(struct pp_component *)b->comps.v[k];
	pp->pos = pos;
	return pp;
}

static bool is_name_piece(const struct token *t)
{
	return (t->type == TOK_IDENT && t->text[0] != '$') || t->type == TOK_KEYWORD ||
	       tok_op(t, "*") || (t->type == TOK_NUMBER);
}

static void parse_pp_list(struct parser *p, struct list *out, bool allow_flags);

/* One dotted probe point, possibly with brace groups; appends every
 * expansion to `out`. */
static void parse_probe_point(struct parser *p, struct list *out, bool allow_flags)
{
	struct token *first = peek(p);
	struct list partial = {0};  /* struct pp_build * being expanded */
	struct pp_build *seed = arena_alloc(&p->s->arena, sizeof *seed);
	list_push(p, &partial, seed);
	enter(p);
	for (;;) {
		struct token *t = peek(p);
		if (tok_op(t, "{")) {
			next(p);
			struct list alts = {0};
			parse_pp_list(p, &alts, true);
			check_match(p, "}", t);
			for (int b = 0; b < alts.n; b++) {
				struct probe_point *alt = alts.v[b];
				if ((alt->optional || alt->cond) && is_op(p, ".")) {
					struct token at = *peek(p);
					at.pos = alt->pos;
					at.type = TOK_IDENT;
					at.text = alt->comps[0].name;
					fail_at(p, &at, "'?', '!' or condition must only be specified in suffix");
				}
			}
			struct list product = {0};
			for (int a = 0; a < partial.n; a++) {
				for (int b = 0; b < alts.n; b++) {
					if (product.n >= MAX_PROBE_POINT_PRODUCT)
						fail_at(p, t, "probe point expands to too many points (limit %d)",
							MAX_PROBE_POINT_PRODUCT);
					struct pp_build *src = partial.v[a];
					struct probe_point *alt = alts.v[b];
					struct pp_build *nb = arena_alloc(&p->s->arena, sizeof *nb);
					for (int k = 0; k < src->comps.n; k++)
						list_push(p, &nb->comps, src->comps.v[k]);
					for (int k = 0; k < alt->ncomps; k++)
						list_push(p, &nb->comps, &alt->comps[k]);
					nb->optional = src->optional || alt->optional;
					nb->sufficient = src->sufficient || alt->sufficient;
					nb->cond = alt->cond ? alt->cond : src->cond;
					list_push(p, &product, nb);
				}
			}
			partial = product;
		} else if (is_name_piece(t) && t->type != TOK_NUMBER) {
			struct strbuf sb;
			sb_init(&sb);
			sb_puts(&sb, next(p)->text);
			while (is_name_piece(peek(p)) && !peek(p)->space_before)
				sb_puts(&sb, next(p)->text);
			struct pp_component *c = arena_alloc(&p->s->arena, sizeof *c);
			c->name = arena_strndup(&p->s->arena, sb.s, sb.len);
			c->pos = t->pos;
			sb_free(&sb);
			if (is_op(p, "(")) {
				struct token *open = next(p);
				c->arg = parse_literal(p);
				check_match(p, ")", open);
			}
			for (int a = 0; a < partial.n; a++)
				list_push(p, &((struct pp_build *)partial.v[a])->comps, c);
		} else {
			fail_at(p, t, "expected probe point component");
		}
		if (!accept_op(p, "."))
			break;
	}
	bool optional = false, sufficient = false;
	struct expr *cond = NULL;
	struct token *flag = peek(p);
	if (accept_op(p, "?")) {
		optional = true;
	} else if (accept_op(p, "!")) {
		optional = sufficient = true;
	}
	if (is_kw(p, "if")) {
		next(p);
		struct token *open = expect_op(p, "(");
		cond = parse_expr(p);
		check_match(p, ")", open);
	}
	(void)allow_flags;
	for (int a = 0; a < partial.n; a++) {
		struct pp_build *b = partial.v[a];
		if ((optional && b->optional) || (cond && b->cond))
			fail_at(p, flag, "a probe point may carry only one '?'/'!' and one 'if'");
		struct probe_point *pp = finish_pp(p, b, first->pos);
		pp->optional = optional || b->optional;
		pp->sufficient = sufficient || b->sufficient;
		pp->cond = cond ? cond : b->cond;
		list_push(p, out, pp);
	}
	leave(p);
}

/* pp_list = probe_point { "," probe_point } */
static void parse_pp_list(struct parser *p, struct list *out, bool allow_flags)
{
	do
		parse_probe_point(p, out, allow_flags);
	while (accept_op(p, ","));
}

/* ---- declarations ---- */

static void parse_probe(struct parser *p, struct token *kw)
{
	struct probe *pr = arena_alloc(&p->s->arena, sizeof *pr);
	pr->pos = kw->pos;
	pr->file = p->file;
	pr->privileged = p->privileged;
	struct list points = {0}, names = {0};
	const struct token *op_tok = NULL;
	for (;;) {
		struct token *start = peek(p);
		struct list pl = {0};
		parse_pp_list(p, &pl, true);
		if (!is_op(p, "=") && !is_op(p, "+=")) {
			points = pl;
			break;
		}
		struct token *op = next(p);
		if (pl.n != 1)
			fail_at(p, start, "an alias name must be a single probe point");
		struct probe_point *name = pl.v[0];
		if (name->optional || name->cond)
			fail_at(p, start, "probe point alias name cannot be optional nor sufficient");
		if (op_tok && strcmp(op_tok->text, op->text))
			fail_at(p, op, "an alias chain must use only '=' or only '+='");
		op_tok = op;
		list_push(p, &names, name);
	}
	pr->points = (struct probe_point **)points.v;
	pr->npoints = points.n;
	pr->alias_names = (struct probe_point **)names.v;
	pr->nalias_names = names.n;
	pr->epilogue_style = op_tok && !strcmp(op_tok->text, "+=");
	bool saved = p->in_function;
	p->in_function = false;
	pr->body = parse_block(p);
	if (names.n && is_op(p, ",") && tok_op(peek_at(p, 1), "{")) {
		if (pr->epilogue_style)
			fail_at(p, peek(p), "Combined prologue and epilogue cannot be defined with '+='");
		next(p);
		pr->epilogue = parse_block(p);
	}
	p->in_function = saved;
	pv_push(names.n ? &p->file->aliases : &p->file->probes, pr);
}

static enum exp_type parse_type(struct parser *p)
{
	struct token *t = peek(p);
	if (tok_kw(t, "long")) {
		next(p);
		return T_LONG;
	}
	if (tok_kw(t, "string")) {
		next(p);
		return T_STRING;
	}
	fail_at(p, t, "expected 'string' or 'long'");
}

static bool has_pragma(const char *code, const char *pragma)
{
	return strstr(code, pragma) != NULL;
}

static void parse_function(struct parser *p, struct token *kw, bool is_private)
{
	struct functiondecl *f = arena_alloc(&p->s->arena, sizeof *f);
	struct token *name = peek(p);
	if (!(name->type == TOK_IDENT && name->text[0] != '$') && !tok_kw(name, "string") &&
	    !tok_kw(name, "long"))
		fail_at(p, name, "expected function name");
	next(p);
	f->name = f->unmangled = name->text;
	f->pos = name->pos;
	f->tok = name;
	f->file = p->file;
	f->is_private = is_private;
	f->priority = p->file->privileged ? 1 : 0;
	if (accept_op(p, ":"))
		f->decl_type = parse_type(p);
	struct token *open = expect_op(p, "(");
	struct list params = {0};
	if (!is_op(p, ")")) {
		do {
			struct token *pt = expect_ident(p, "parameter name");
			for (int k = 0; k < params.n; k++)
				if (!strcmp(((struct vardecl *)params.v[k])->name, pt->text))
					fail_at(p, pt, "duplicate parameter names ('%s')", pt->text);
			struct vardecl *v = arena_alloc(&p->s->arena, sizeof *v);
			v->name = v->unmangled = pt->text;
			v->pos = pt->pos;
			v->tok = pt;
			v->file = p->file;
			v->is_param = true;
			v->arity = 0;
			v->arity_pos = pt->pos;
			v->arity_tok = pt;
			v->hist_kind = -1;
			v->variance_shift = -1;
			if (accept_op(p, ":"))
				v->type = parse_type(p);
			list_push(p, &params, v);
		} while (accept_op(p, ","));
	}
	check_match(p, ")", open);
	f->params = (struct vardecl **)params.v;
	f->nparams = params.n;
	if (accept_op(p, ":")) {
		struct token *nt = peek(p);
		if (nt->type != TOK_NUMBER)
			fail_at(p, nt, "expected function priority number");
		next(p);
		f->priority = parse_number(p, nt);
		f->has_priority = true;
		if (f->priority < 1)
			fail_at(p, nt, "specified priority must be > 0");
	}
	struct token *bt = peek(p);
	if (bt->type == TOK_EMBEDDED) {
		next(p);
		if (!p->privileged)
			fail_at(p, bt, "embedded code in unprivileged script; need stap -g");
		f->embedded = bt->text;
		f->pure = has_pragma(bt->text, "/* pure */");
		f->unprivileged = has_pragma(bt->text, "/* unprivileged */");
		f->myproc_unprivileged = has_pragma(bt->text, "/* myproc-unprivileged */");
		f->guru = has_pragma(bt->text, "/* guru */");
		f->string_type = has_pragma(bt->text, "/* string */");
	} else {
		p->in_function = true;
		f->body = parse_block(p);
		p->in_function = false;
	}
	(void)kw;
	pv_push(&p->file->functions, f);
}

/* global_item = IDENT ["%"] ["[" NUMBER "]"] ["%"] ["=" literal] */
static void parse_global_item(struct parser *p, bool is_private)
{
	struct token *name = expect_ident(p, "global variable name");
	struct vardecl *v = arena_alloc(&p->s->arena, sizeof *v);
	v->name = v->unmangled = name->text;
	v->pos = name->pos;
	v->tok = name;
	v->file = p->file;
	v->is_global = true;
	v->is_private = is_private;
	v->arity = -1;
	v->hist_kind = -1;
	v->variance_shift = -1;
	if (accept_op(p, "%"))
		v->wrap = true;
	if (is_op(p, "[")) {
		struct token *open = next(p);
		struct token *nt = peek(p);
		if (nt->type != TOK_NUMBER)
			fail_at(p, nt, "expected array size");
		next(p);
		v->maxsize = parse_number(p, nt);
		if (v->maxsize < 1 || v->maxsize > 2147483647)
			fail_at(p, nt, "array size out of range (1 to 2147483647)");
		check_match(p, "]", open);
		if (accept_op(p, "%"))
			v->wrap = true;
	}
	if (strmap_get(&p->global_names, v->name))
		fail_at(p, name, "duplicate global name");
	strmap_add(&p->global_names, v->name, v);
	if (accept_op(p, "=")) {
		if (v->maxsize)
			fail_at(p, peek(p), "an array cannot have an initial value");
		v->init = parse_literal(p);
		v->arity = 0;
	}
	pv_push(&p->file->globals, v);
}

static void parse_globals(struct parser *p, bool is_private)
{
	do
		parse_global_item(p, is_private);
	while (accept_op(p, ","));
	accept_op(p, ";");
}

static void parse_toplevel(struct parser *p)
{
	struct token *t = peek(p);
	if (tok_kw(t, "probe")) {
		next(p);
		parse_probe(p, t);
	} else if (tok_kw(t, "global")) {
		next(p);
		parse_globals(p, false);
	} else if (tok_kw(t, "function")) {
		next(p);
		parse_function(p, t, false);
	} else if (tok_kw(t, "private")) {
		next(p);
		if (is_kw(p, "global")) {
			next(p);
			parse_globals(p, true);
		} else if (is_kw(p, "function")) {
			struct token *ft = next(p);
			parse_function(p, ft, true);
		} else {
			parse_globals(p, true);
		}
	} else if (t->type == TOK_EMBEDDED) {
		next(p);
		if (!p->privileged)
			fail_at(p, t, "embedded code in unprivileged script; need stap -g");
		struct embedded_block *b = arena_alloc(&p->s->arena, sizeof *b);
		b->code = t->text;
		b->pos = t->pos;
		pv_push(&p->file->embeds, b);
	} else {
		fail_at(p, t, "expected 'probe', 'global', 'private', 'function', or '%%{'");
	}
}

/* After an error: skip to the next token that can start a declaration. */
static void resync(struct parser *p, size_t error_at)
{
	if (p->i == error_at)
		next(p);
	for (;;) {
		struct token *t = peek(p);
		if (t->type == TOK_EOF || t->type == TOK_EMBEDDED || tok_kw(t, "probe") ||
		    tok_kw(t, "global") || tok_kw(t, "function") || tok_kw(t, "private"))
			return;
		next(p);
	}
}

struct stapfile *parse_file(struct session *s, struct source_file *src)
{
	struct parser p = { .s = s };
	p.file = arena_alloc(&s->arena, sizeof *p.file);
	p.file->src = src;
	p.file->name = src->name;
	p.file->privileged = src->privileged;
	p.privileged = src->privileged || s->guru;
	pv_push(&s->stapfiles, p.file);

	struct tokvec raw = {0};
	bool was_holding = s->diag.holding;
	if (!was_holding)
		diag_hold(&s->diag);
	lex_file(s, src, &raw);
	bool raw_empty = raw.n == 1;
	preprocess(s, src, &raw, &p.toks);
	tv_free(&raw);

	if (!src->is_macro_lib && p.toks.n == 1 && !src->privileged)
		diag_report(&s->diag, DIAG_PARSE, p.toks.v[0]->pos, NULL,
			    raw_empty ? "Input file '%s' is empty." :
			    "Input file '%s' is empty after preprocessing.", src->name);
	while (peek(&p)->type != TOK_EOF) {
		size_t start = p.i;
		p.depth = 0;
		p.chain = 0;
		p.in_function = false;
		if (setjmp(p.recover) == 0)
			parse_toplevel(&p);
		else
			resync(&p, start);
	}
	tv_free(&p.toks);
	strmap_free(&p.global_names);
	if (!was_holding)
		diag_release(&s->diag);
	return p.file;
}

struct expr *new_expr(struct session *s, enum expr_kind kind, struct srcpos pos)
{
	struct expr *e = arena_alloc(&s->arena, sizeof *e);
	e->kind = kind;
	e->pos = pos;
	return e;
}

struct stmt *new_stmt(struct session *s, enum stmt_kind kind, struct srcpos pos)
{
	struct stmt *st = arena_alloc(&s->arena, sizeof *st);
	st->kind = kind;
	st->pos = pos;
	st->fe_sort_column = -1;
	return st;
}

const char *exp_type_name(enum exp_type t)
{
	switch (t) {
	case T_LONG: return "long";
	case T_STRING: return "string";
	case T_STATS: return "stats";
	default: return "unknown";
	}
}
