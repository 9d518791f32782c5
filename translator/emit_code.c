/* Pass 3: statements and expressions to C.
 *
 * Expressions become three-address code: every operation stores into a
 * temporary of the unit's locals struct, in the script's left-to-right
 * order, and every step that can fail is followed by a check of
 * c->last_error that jumps to the innermost catch (or the end of the
 * handler).  Strings are MAXSTRINGLEN buffers; longs wrap. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "format.h"
#include "re_compile.h"

static void line(struct unit *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void line(struct unit *u, const char *fmt, ...)
{
	for (int k = 0; k < u->indent; k++)
		sb_putc(&u->code, '\t');
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(&u->code, fmt, ap);
	va_end(ap);
	sb_putc(&u->code, '\n');
}

static struct session *S(struct unit *u)
{
	return u->prog->s;
}

const char *c_type(enum exp_type t)
{
	return t == T_STRING ? "string_t" : "int64_t";
}

static const char *temp(struct unit *u, enum exp_type t)
{
	int n = u->ntemps++;
	sb_printf(&u->decls, "\t%s t%d;\n", c_type(t), n);
	return arena_printf(&S(u)->arena, "l->t%d", n);
}

static int new_label(struct unit *u)
{
	return u->nlabels++;
}

static void unsupported(struct unit *u, const struct expr *e, const char *what)
{
	sem_error(S(u), e->pos, e->tok, "pass 3 cannot translate %s yet", what);
	u->ok = false;
}

static void check_error(struct unit *u)
{
	line(u, "if (unlikely(c->last_error)) goto %s;", u->errlabel);
}

/* Embedded C tagged myproc-unprivileged runs, in a stapusr module, only
 * in a task of the loader (SystemTap's assert_is_myproc, privilege.h). */
static void check_myproc(struct unit *u, const char *code)
{
	if (strstr(code, "/* myproc-unprivileged */"))
		line(u, "if (unlikely(!stp_myproc_ok(c))) goto %s;", u->errlabel);
}

void c_string_literal(struct strbuf *sb, const char *s, size_t len)
{
	sb_putc(sb, '"');
	for (size_t k = 0; k < len; k++) {
		unsigned char ch = (unsigned char)s[k];
		if (ch == '"' || ch == '\\')
			sb_printf(sb, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f || ch == '?')
			sb_printf(sb, "\\%03o", ch);   /* '?' avoids trigraphs */
		else
			sb_putc(sb, (char)ch);
	}
	sb_putc(sb, '"');
}

static const char *literal(struct unit *u, const char *s, size_t len);

/* "operator '/' at f.stp:3:12", for run-time error messages */
static const char *where(struct unit *u, const struct expr *e)
{
	const char *what = e->tok ? tok_describe(S(u), e->tok) : "expression";
	if (!e->pos.file)
		return what;
	return arena_printf(&S(u)->arena, "%s at %s:%d:%d", what, e->pos.file->name, e->pos.line,
			    e->pos.col);
}

static const char *literal(struct unit *u, const char *s, size_t len)
{
	struct strbuf sb;
	sb_init(&sb);
	c_string_literal(&sb, s, len);
	const char *r = arena_strdup(&S(u)->arena, sb.s);
	sb_free(&sb);
	return r;
}

/* C name of a script variable.  Globals are file-scoped (index of the
 * declaring file keeps private ones apart); locals live in the unit's
 * locals struct, parameters in the function frame. */
static const char *var(struct unit *u, const struct vardecl *v)
{
	if (v->is_global)
		return arena_printf(&S(u)->arena, "global_%s_%d", v->unmangled,
				    v->file && v->file->src ? v->file->src->index : 0);
	if (v->is_param)
		return arena_printf(&S(u)->arena, "l->a_%s", v->name);
	return arena_printf(&S(u)->arena, "l->v_%s", v->name);
}

char *c_function(const struct functiondecl *f)
{
	return xasprintf("function_%s_%d", f->unmangled, f->serial);
}

static const char *emit_expr(struct unit *u, const struct expr *e);

/* Store a value of type t into a C lvalue. */
static void assign(struct unit *u, const char *dst, const char *src, enum exp_type t)
{
	if (t == T_STRING)
		line(u, "stp_strcpy(%s, %s);", dst, src);
	else
		line(u, "%s = %s;", dst, src);
}

static const char *where(struct unit *u, const struct expr *e);

static const char *long_op(struct unit *u, const char *op, const char *a, const char *b,
			   const struct expr *at)
{
	const char *t = temp(u, T_LONG);
	if (!strcmp(op, "+"))
		line(u, "%s = stp_add(%s, %s);", t, a, b);
	else if (!strcmp(op, "-"))
		line(u, "%s = stp_sub(%s, %s);", t, a, b);
	else if (!strcmp(op, "*"))
		line(u, "%s = stp_mul(%s, %s);", t, a, b);
	else if (!strcmp(op, "/") || !strcmp(op, "%")) {
		if (at) {
			const char *w = where(u, at);
			line(u, "c->last_stmt = %s;", literal(u, w, strlen(w)));
		}
		line(u, "%s = stp_%s(%s, %s, &c->last_error);", t, op[0] == '/' ? "div" : "mod", a, b);
		check_error(u);
	} else if (!strcmp(op, "<<"))
		line(u, "%s = stp_shl(%s, %s);", t, a, b);
	else if (!strcmp(op, ">>"))
		line(u, "%s = stp_shr(%s, %s);", t, a, b);
	else if (!strcmp(op, ">>>"))
		line(u, "%s = stp_lshr(%s, %s);", t, a, b);
	else
		line(u, "%s = %s %s %s;", t, a, op, b);   /* & | ^ */
	return t;
}

static const char *emit_logical(struct unit *u, const struct expr *e)
{
	/* short-circuit: the right side runs only when it decides */
	const char *t = temp(u, T_LONG);
	const char *l = emit_expr(u, e->left);
	line(u, "%s = %s != 0;", t, l);
	line(u, "if (%s%s) {", !strcmp(e->op, "&&") ? "" : "!", t);
	u->indent++;
	const char *r = emit_expr(u, e->right);
	line(u, "%s = %s != 0;", t, r);
	u->indent--;
	line(u, "}");
	return t;
}

static const char *emit_compare(struct unit *u, const struct expr *e)
{
	const char *l = emit_expr(u, e->left);
	const char *r = emit_expr(u, e->right);
	const char *t = temp(u, T_LONG);
	if (e->left->type == T_STRING)
		line(u, "%s = strcmp(%s, %s) %s 0;", t, l, r, e->op);
	else
		line(u, "%s = %s %s %s;", t, l, e->op, r);
	return t;
}

static const char *emit_ternary(struct unit *u, const struct expr *e)
{
	const char *t = temp(u, e->type);
	const char *cond = emit_expr(u, e->cond);
	line(u, "if (%s) {", cond);
	u->indent++;
	assign(u, t, emit_expr(u, e->left), e->type);
	u->indent--;
	line(u, "} else {");
	u->indent++;
	assign(u, t, emit_expr(u, e->right), e->type);
	u->indent--;
	line(u, "}");
	return t;
}

/* The C lvalue behind a symbol. */
static const char *lvalue(struct unit *u, const struct expr *e)
{
	if (e->kind == E_SYMBOL && e->referent)
		return var(u, e->referent);
	unsupported(u, e, "this assignment target");
	return "l->unsupported";
}

/* ---- arrays (runtime/kernel/map.h) ---- */

static const char *map_of(struct unit *u, const struct vardecl *v)
{
	return arena_printf(&S(u)->arena, "(&%s)", var(u, v));
}

/* Where an error goes, with the token to name in the message. */
static void fail_with(struct unit *u, const struct expr *at, const char *msg)
{
	line(u, "c->last_stmt = %s;", at ? literal(u, where(u, at), strlen(where(u, at))) : "NULL");
	line(u, "c->last_error = %s;", msg);
	line(u, "goto %s;", u->errlabel);
}

/* Evaluate index expressions into a key array of the locals struct.
 * `*` slots (slices) set the matching wild[] entry. */
static const char *emit_keys(struct unit *u, struct expr *const *args, int n,
			     const struct vardecl *arr, const char **wild_out)
{
	int k = u->ntemps++;
	sb_printf(&u->decls, "\tunion stp_key k%d[%d];\n", k, n);
	bool any_wild = false;
	for (int i = 0; i < n; i++)
		any_wild |= args[i] == NULL;
	const char *wild = "NULL";
	if (any_wild) {
		sb_printf(&u->decls, "\tbool w%d[%d];\n", k, n);
		wild = arena_printf(&S(u)->arena, "l->w%d", k);
	}
	for (int i = 0; i < n; i++) {
		if (!args[i]) {
			line(u, "l->w%d[%d] = true;", k, i);
			continue;
		}
		if (any_wild)
			line(u, "l->w%d[%d] = false;", k, i);
		const char *v = emit_expr(u, args[i]);
		bool str = arr && arr->index_types && arr->index_types[i] == T_STRING;
		if (str) {
			/* keep the text: later indexes may reuse buffers */
			const char *t = temp(u, T_STRING);
			line(u, "stp_strcpy(%s, %s);", t, v);
			line(u, "l->k%d[%d].str = %s;", k, i, t);
		} else {
			line(u, "l->k%d[%d].num = %s;", k, i, v);
		}
	}
	if (wild_out)
		*wild_out = wild;
	return arena_printf(&S(u)->arena, "l->k%d", k);
}

static const char *overflow_message(struct unit *u, const struct vardecl *v)
{
	if (v->maxsize)
		return arena_printf(&S(u)->arena, "\"Array overflow, check size limit (%lld)\"",
				    (long long)v->maxsize);
	return "\"Array overflow, check MAXMAPENTRIES\"";
}

/* A store that may overflow the array. */
static void map_store(struct unit *u, const struct expr *at, const struct vardecl *v,
		      const char *call)
{
	line(u, "if (unlikely(%s != 0)) {", call);
	u->indent++;
	fail_with(u, at, overflow_message(u, v));
	u->indent--;
	line(u, "}");
}

static const char *emit_index_read(struct unit *u, const struct expr *e)
{
	const struct vardecl *v = e->base->referent;
	const char *keys = emit_keys(u, e->args, e->nargs, v, NULL);
	const char *t = temp(u, e->type);
	if (e->type == T_STRING)
		line(u, "stp_strcpy(%s, stp_map_get_str(%s, %s));", t, map_of(u, v), keys);
	else
		line(u, "%s = stp_map_get_long(%s, %s);", t, map_of(u, v), keys);
	return t;
}

static const char *emit_index_assign(struct unit *u, const struct expr *e)
{
	const struct expr *target = e->left;
	const struct vardecl *v = target->base->referent;
	const char *keys = emit_keys(u, target->args, target->nargs, v, NULL);
	const char *src = emit_expr(u, e->right);
	const char *m = map_of(u, v);
	const char *op = e->op;
	if (!strcmp(op, "<<<")) {
		map_store(u, e, v, arena_printf(&S(u)->arena, "stp_map_add_stat(%s, %s, %s)", m, keys, src));
		return src;
	}
	if (!strcmp(op, "=")) {
		map_store(u, e, v, arena_printf(&S(u)->arena, "stp_map_set_%s(%s, %s, %s)",
						 e->type == T_STRING ? "str" : "long", m, keys, src));
		return src;
	}
	if (!strcmp(op, ".=")) {
		map_store(u, e, v, arena_printf(&S(u)->arena, "stp_map_append_str(%s, %s, %s)", m, keys, src));
		const char *t = temp(u, T_STRING);
		line(u, "stp_strcpy(%s, stp_map_get_str(%s, %s));", t, m, keys);
		return t;
	}
	/* a compound operator: read, compute, store */
	const char *old = temp(u, T_LONG);
	line(u, "%s = stp_map_get_long(%s, %s);", old, m, keys);
	char bop[4];
	snprintf(bop, sizeof bop, "%.*s", (int)strlen(op) - 1, op);
	const char *val = long_op(u, bop, old, src, e);
	map_store(u, e, v, arena_printf(&S(u)->arena, "stp_map_set_long(%s, %s, %s)", m, keys, val));
	return val;
}

static const char *emit_index_crement(struct unit *u, const struct expr *e)
{
	const struct expr *target = e->left;
	const struct vardecl *v = target->base->referent;
	const char *keys = emit_keys(u, target->args, target->nargs, v, NULL);
	const char *m = map_of(u, v);
	const char *t = temp(u, T_LONG);
	line(u, "%s = stp_map_get_long(%s, %s);", t, m, keys);
	map_store(u, e, v, arena_printf(&S(u)->arena, "stp_map_add_long(%s, %s, %s)", m, keys,
					 e->op[0] == '+' ? "1" : "-1"));
	if (e->kind == E_PREINC)
		line(u, "%s = stp_add(%s, %s);", t, t, e->op[0] == '+' ? "1" : "-1");
	return t;
}

static const char *emit_in(struct unit *u, const struct expr *e)
{
	if (e->base->kind != E_SYMBOL || !e->base->referent) {
		unsupported(u, e, "'in' on a histogram");
		return "0";
	}
	const struct vardecl *v = e->base->referent;
	const char *wild;
	const char *keys = emit_keys(u, e->args, e->nargs, v, &wild);
	const char *t = temp(u, T_LONG);
	if (strcmp(wild, "NULL"))
		line(u, "%s = stp_map_exists_matching(%s, %s, %s);", t, map_of(u, v), keys, wild);
	else
		line(u, "%s = stp_map_exists(%s, %s);", t, map_of(u, v), keys);
	return t;
}

/* ---- statistics ---- */

/* The statistic an operand names: a scalar, or an array element (NULL
 * when the element does not exist). */
static const char *stat_of(struct unit *u, const struct expr *e, const struct vardecl **vout)
{
	if (e->kind == E_SYMBOL && e->referent) {
		*vout = e->referent;
		return var(u, e->referent);
	}
	const struct vardecl *v = e->base->referent;
	*vout = v;
	const char *keys = emit_keys(u, e->args, e->nargs, v, NULL);
	int n = u->ntemps++;
	sb_printf(&u->decls, "\tconst struct stp_stat *s%d;\n", n);
	line(u, "l->s%d = stp_map_get_stat(%s, %s);", n, map_of(u, v), keys);
	return arena_printf(&S(u)->arena, "l->s%d", n);
}

static const char *emit_statop(struct unit *u, const struct expr *e)
{
	const struct vardecl *v;
	const char *st = stat_of(u, e->left, &v);
	const char *t = temp(u, T_LONG);
	const char *op = e->name + 1;   /* count, sum, min, max, avg, variance */
	if (!strcmp(op, "count") || !strcmp(op, "sum")) {
		line(u, "%s = %s ? %s->%s : 0;", t, st, st, op);
		return t;
	}
	line(u, "if (!%s || %s->count == 0) {", st, st);
	u->indent++;
	fail_with(u, e, "\"empty aggregate\"");
	u->indent--;
	line(u, "}");
	if (!strcmp(op, "avg"))
		line(u, "%s = div64_s64(%s->sum, %s->count);", t, st, st);
	else if (!strcmp(op, "variance"))
		line(u, "%s = stp_stat_variance1(&%s_hist, %s);", t, var(u, v), st);
	else
		line(u, "%s = %s->%s;", t, st, op);
	return t;
}

static const char *emit_hist_index(struct unit *u, const struct expr *e)
{
	const struct vardecl *v;
	const char *st = stat_of(u, e->base->left, &v);
	const char *i = emit_expr(u, e->args[0]);
	const char *t = temp(u, T_LONG);
	line(u, "if (%s < 0 || %s >= %s_hist.buckets) {", i, i, var(u, v));
	u->indent++;
	fail_with(u, e, "\"histogram index out of range\"");
	u->indent--;
	line(u, "}");
	line(u, "%s = %s ? %s->histogram[%s] : 0;", t, st, st, i);
	return t;
}

static void emit_print_hist(struct unit *u, const struct expr *h, const char *out)
{
	const struct vardecl *v;
	const char *st = stat_of(u, h->left, &v);
	/* the text may exceed a string: it goes out directly */
	line(u, "stp_print(%s, strlen(%s));", out, out);
	line(u, "%s[0] = '\\0';", out);
	line(u, "stp_print_hist(&%s_hist, %s);", var(u, v), st);
}

static const char *emit_assign(struct unit *u, const struct expr *e)
{
	if (e->left->kind == E_ARRAYINDEX)
		return emit_index_assign(u, e);
	if (!strcmp(e->op, "<<<")) {
		const char *v = emit_expr(u, e->right);
		const struct vardecl *sv = e->left->referent;
		line(u, "stp_stat_add(&%s_hist, %s, %s);", var(u, sv), var(u, sv), v);
		return v;
	}
	const char *dst = lvalue(u, e->left);
	const char *src = emit_expr(u, e->right);
	if (!strcmp(e->op, "=")) {
		assign(u, dst, src, e->type);
	} else if (!strcmp(e->op, ".=")) {
		line(u, "stp_strcat(%s, %s);", dst, src);
	} else {
		char op[4];
		snprintf(op, sizeof op, "%.*s", (int)strlen(e->op) - 1, e->op);
		const char *v = long_op(u, op, dst, src, e);
		line(u, "%s = %s;", dst, v);
	}
	return dst;
}

static const char *emit_crement(struct unit *u, const struct expr *e)
{
	if (e->left->kind == E_ARRAYINDEX)
		return emit_index_crement(u, e);
	const char *dst = lvalue(u, e->left);
	const char *delta = e->op[0] == '+' ? "1" : "-1";
	if (e->kind == E_PREINC) {
		line(u, "%s = stp_add(%s, %s);", dst, dst, delta);
		return dst;
	}
	const char *t = temp(u, T_LONG);
	line(u, "%s = %s;", t, dst);
	line(u, "%s = stp_add(%s, %s);", dst, dst, delta);
	return t;
}

/* Call a script or embedded-C function: arguments into temporaries first
 * (they may read the caller's frame), then the callee's frame. */
static const char *emit_call(struct unit *u, const struct expr *e)
{
	const struct functiondecl *f = e->func;
	if (!f) {
		unsupported(u, e, "this call");
		return "0";
	}
	const char **args = arena_alloc(&S(u)->arena, (size_t)(e->nargs + 1) * sizeof *args);
	for (int k = 0; k < e->nargs; k++) {
		const char *v = emit_expr(u, e->args[k]);
		/* copy: a later argument may overwrite a shared temporary */
		const char *t = temp(u, e->args[k]->type);
		assign(u, t, v, e->args[k]->type);
		args[k] = t;
	}
	const char *w = where(u, e);
	line(u, "c->last_stmt = %s;", literal(u, w, strlen(w)));
	line(u, "if (unlikely(c->nesting + 1 >= MAXNESTING)) {");
	line(u, "\tc->last_error = \"MAXNESTING exceeded\";");
	line(u, "\tgoto %s;", u->errlabel);
	line(u, "}");
	const char *t = "0";
	if (f->returns_value && f->type != T_UNKNOWN)
		t = temp(u, f->type);
	/* the overload chain: a candidate that runs `next` hands the call,
	 * same arguments, to the next one */
	int done = new_label(u);
	line(u, "c->overload_next = 0;");
	for (int o = 0; o < e->noverloads; o++) {
		const struct functiondecl *g = e->overloads[o];
		char *fn = c_function(g);
		if (o)
			line(u, "if (c->overload_next) {");
		else
			line(u, "{");
		u->indent++;
		line(u, "struct %s_frame *callee = &c->frames[c->nesting + 1].%s;", fn, fn);
		line(u, "c->overload_next = 0;");
		line(u, "memset(callee, 0, sizeof *callee);");
		for (int k = 0; k < e->nargs; k++)
			assign(u, arena_printf(&S(u)->arena, "callee->a_%s", g->params[k]->name), args[k],
			       g->params[k]->type);
		line(u, "c->nesting++;");
		line(u, "%s(c);", fn);
		line(u, "c->nesting--;");
		if (strcmp(t, "0") && g->type == f->type)
			assign(u, t, "callee->retval", f->type);
		if (e->noverloads > 1)
			line(u, "if (!c->overload_next) goto call_done_%d;", done);
		u->indent--;
		line(u, "}");
		free(fn);
	}
	if (e->noverloads > 1) {
		line(u, "if (c->overload_next) {");
		line(u, "\tc->overload_next = 0;");
		line(u, "\tc->last_error = \"next: no more function candidates\";");
		line(u, "}");
		line(u, "call_done_%d: __attribute__((unused));", done);
	}
	check_error(u);
	return t;
}

/* s =~ "pattern": the pattern's program as static data, run by the
 * runtime's Pike VM; the outcome feeds matched() and ngroups(). */
static const char *emit_regex(struct unit *u, const struct expr *e)
{
	struct re_prog prog;
	const char *err;
	const char *subject = emit_expr(u, e->left);
	const char *t = temp(u, T_LONG);
	if (!regex_compile(e->str, e->len, &prog, &err)) {
		unsupported(u, e, "this regular expression");
		return t;
	}
	static const char *const ops[] = { "STP_RE_CHAR", "STP_RE_ANY", "STP_RE_CLASS",
		"STP_RE_SPLIT", "STP_RE_JMP", "STP_RE_SAVE", "STP_RE_BOL", "STP_RE_EOL", "STP_RE_MATCH" };
	line(u, "{");
	u->indent++;
	for (int k = 0; k < prog.n; k++) {
		if (!prog.v[k].has_cls)
			continue;
		struct strbuf sb;
		sb_init(&sb);
		for (int b = 0; b < 32; b++)
			sb_printf(&sb, "%s%u", b ? "," : "", prog.v[k].cls[b]);
		line(u, "static const uint8_t cls%d[32] = { %s };", k, sb.s);
		sb_free(&sb);
	}
	line(u, "static const struct stp_re_inst prog[] = {");
	for (int k = 0; k < prog.n; k++) {
		const struct re_inst *in = &prog.v[k];
		line(u, "\t{ %s, %d, %d, %d, %s },", ops[in->op], in->arg, in->x, in->y,
		     in->has_cls ? arena_printf(&S(u)->arena, "cls%d", k) : "NULL");
	}
	line(u, "};");
	line(u, "%s = %sstp_regex_match(prog, %d, %d, %s, &c->last_match, &c->re_scratch);", t,
	     !strcmp(e->op, "!~") ? "!" : "", prog.n, prog.ngroups, subject);
	u->indent--;
	line(u, "}");
	free(prog.v);
	u->uses_regex = true;
	return t;
}

/* print family: text is built in a string temporary, then printed (or
 * becomes the value of sprint*). */
static const char *fc_name(enum fmt_conv c)
{
	static const char *const names[] = {
		"STP_FC_LITERAL", "STP_FC_PERCENT", "STP_FC_SIGNED", "STP_FC_UNSIGNED",
		"STP_FC_OCTAL", "STP_FC_HEX", "STP_FC_HEX_UPPER", "STP_FC_POINTER", "STP_FC_CHAR",
		"STP_FC_STRING", "STP_FC_BINARY", "STP_FC_MEMORY", "STP_FC_MEMORY_HEX",
	};
	return names[c];
}

/* The arguments of a print call, evaluated in order, as a stp_fmt_arg
 * initialiser list. */
static const char *print_args(struct unit *u, struct expr *const *args, int n)
{
	struct strbuf sb;
	sb_init(&sb);
	for (int k = 0; k < n; k++) {
		const char *v = emit_expr(u, args[k]);
		if (args[k]->type == T_STRING) {
			/* a copy: a later argument may reuse the buffer */
			const char *t = temp(u, T_STRING);
			line(u, "stp_strcpy(%s, %s);", t, v);
			sb_printf(&sb, "%s{ STP_ARG_STRING, 0, %s }", k ? ", " : "", t);
		} else {
			sb_printf(&sb, "%s{ STP_ARG_LONG, %s, NULL }", k ? ", " : "", v);
		}
	}
	const char *r = arena_strdup(&S(u)->arena, n ? sb.s : "{ STP_ARG_LONG, 0, NULL }");
	sb_free(&sb);
	return r;
}

/* printf family: the format was parsed at translation time; its pieces
 * become a static table and stp_format renders them (runtime/kernel/
 * format.c), into c->printbuf for printing or a string for sprintf. */
static const char *emit_printf(struct unit *u, const struct expr *e, const char *out)
{
	struct fmt_piece *pieces;
	const char *err;
	int np = format_parse(e->fmt->str, e->fmt->len, &pieces, &err);
	const char *args = print_args(u, e->args, e->nargs);
	bool to_string = e->name[0] == 's';
	line(u, "{");
	u->indent++;
	line(u, "static const struct stp_fmt_piece fmt[] = {");
	for (int k = 0; k < np; k++) {
		const struct fmt_piece *p = &pieces[k];
		const char *text = p->conv == FC_LITERAL ? literal(u, p->text, p->len) : "NULL";
		line(u, "\t{ %s, %s, %zu, %d, %d, %d },", fc_name(p->conv), text,
		     p->conv == FC_LITERAL ? p->len : 0, p->flag, p->width, p->precision);
	}
	if (!np)
		line(u, "\t{ STP_FC_LITERAL, \"\", 0, 0, -1, -1 },");
	line(u, "};");
	line(u, "const struct stp_fmt_arg args[] = { %s };", args);
	line(u, "int64_t bad = 0;");
	const char *buf = to_string ? out : "c->printbuf";
	const char *size = to_string ? "MAXSTRINGLEN" : "sizeof c->printbuf";
	line(u, "long n = stp_format(%s, %s, fmt, %d, args, %d, &stp_read_mem, &bad);", buf, size,
	     np ? np : 1, e->nargs);
	line(u, "if (unlikely(n < 0)) {");
	u->indent++;
	line(u, "stp_format_error(c, n, bad);");
	line(u, "goto %s;", u->errlabel);
	u->indent--;
	line(u, "}");
	if (!to_string)
		line(u, "stp_print(%s, (size_t)n < sizeof c->printbuf ? (size_t)n : sizeof c->printbuf - 1);",
		     buf);
	u->indent--;
	line(u, "}");
	free(pieces);
	return to_string ? out : "0";
}

/* print family: text is built in a string temporary, then printed (or
 * becomes the value of sprint*). */
static const char *emit_print(struct unit *u, const struct expr *e)
{
	const char *n = e->name;
	bool to_string = n[0] == 's';
	const char *out = temp(u, T_STRING);
	line(u, "%s[0] = '\\0';", out);
	if (strstr(n, "printf"))
		return emit_printf(u, e, out);
	if (e->nargs == 1 && e->args[0]->kind == E_HIST) {
		emit_print_hist(u, e->args[0], out);
		if (strstr(n, "ln"))
			line(u, "stp_print(\"\\n\", 1);");
		return to_string ? out : "0";
	}
	if (!strcmp(n, "print_char")) {
		const char *v = emit_expr(u, e->args[0]);
		line(u, "{ char ch = (char)%s; stp_print(&ch, 1); }", v);
		return "0";
	}
	bool delim = strstr(n, "printd") != NULL;
	const char *sep = delim ? literal(u, e->fmt->str, e->fmt->len) : "NULL";
	const char *args = print_args(u, e->args, e->nargs);
	line(u, "{");
	u->indent++;
	line(u, "const struct stp_fmt_arg args[] = { %s };", args);
	const char *buf = to_string ? out : "c->printbuf";
	const char *size = to_string ? "MAXSTRINGLEN" : "sizeof c->printbuf";
	line(u, "size_t n = stp_format_print(%s, %s, args, %d, %s, %d);", buf, size, e->nargs, sep,
	     strstr(n, "ln") ? 1 : 0);
	if (!to_string)
		line(u, "stp_print(%s, n < sizeof c->printbuf ? n : sizeof c->printbuf - 1);", buf);
	u->indent--;
	line(u, "}");
	return to_string ? out : "0";
}

static const char *emit_expr(struct unit *u, const struct expr *e)
{
	struct session *s = S(u);
	switch (e->kind) {
	case E_NUMBER:
		return arena_printf(&s->arena, "((int64_t)%" PRId64 "LL)", e->num);
	case E_STRING:
		return literal(u, e->str, e->len);
	case E_SYMBOL:
		if (!e->referent)
			return "0";
		return var(u, e->referent);
	case E_FUNCALL:
		return emit_call(u, e);
	case E_PRINT:
		return emit_print(u, e);
	case E_UNARY: {
		const char *v = emit_expr(u, e->left);
		const char *t = temp(u, T_LONG);
		if (!strcmp(e->op, "-"))
			line(u, "%s = stp_neg(%s);", t, v);
		else if (!strcmp(e->op, "!"))
			line(u, "%s = !%s;", t, v);
		else if (!strcmp(e->op, "~"))
			line(u, "%s = ~%s;", t, v);
		else if (!strcmp(e->op, "+"))
			line(u, "%s = %s;", t, v);
		else
			unsupported(u, e, "'&' of target variables");
		return t;
	}
	case E_BINARY: {
		const char *a = emit_expr(u, e->left);
		const char *b = emit_expr(u, e->right);
		return long_op(u, e->op, a, b, e);
	}
	case E_LOGICAL:
		return emit_logical(u, e);
	case E_COMPARE:
		return emit_compare(u, e);
	case E_CONCAT: {
		const char *a = emit_expr(u, e->left);
		const char *b = emit_expr(u, e->right);
		const char *t = temp(u, T_STRING);
		line(u, "stp_strcpy(%s, %s);", t, a);
		line(u, "stp_strcat(%s, %s);", t, b);
		return t;
	}
	case E_TERNARY:
		return emit_ternary(u, e);
	case E_ASSIGN:
		return emit_assign(u, e);
	case E_PREINC:
	case E_POSTINC:
		return emit_crement(u, e);
	case E_DEFINED:
		return e->num ? "((int64_t)1)" : "((int64_t)0)";
	case E_ENTRY: {
		/* computed when the function was entered (emit_entry_values),
		 * handed over in the kretprobe instance's data */
		int k = (int)u->entries.n;
		pv_push(&u->entries, (void *)e->left);
		const char *t = temp(u, e->type);
		assign(u, t, arena_printf(&s->arena, "((struct probe_entry_%d *)c->entry_data)->e%d",
					  u->probe ? u->probe->serial : 0, k), e->type);
		return t;
	}
	case E_EMBEDDED: {
		check_myproc(u, e->str);
		const char *t = temp(u, e->type);
		if (e->type == T_STRING)
			line(u, "stp_strcpy(%s, (%.*s));", t, (int)e->len, e->str);
		else
			line(u, "%s = (int64_t)(%.*s);", t, (int)e->len, e->str);
		return t;
	}
	case E_ARRAYINDEX:
		if (e->base->kind == E_HIST)
			return emit_hist_index(u, e);
		return emit_index_read(u, e);
	case E_IN:
		return emit_in(u, e);
	case E_STATOP:
		return emit_statop(u, e);
	case E_HIST:
		unsupported(u, e, "a histogram outside print");
		return "0";
	case E_REGEX:
		return emit_regex(u, e);
	default:
		unsupported(u, e, "target variables and type operators");
		return "0";
	}
}

/* ---- statements ---- */

static void emit_stmt(struct unit *u, const struct stmt *st);

/* Every statement and loop iteration spends one action. */
static void count_action(struct unit *u)
{
	line(u, "STP_ACTION();");
}

static int sort_column(const struct stmt *st, const struct vardecl *arr)
{
	if (st->fe_sort_column > 0)
		return st->fe_sort_column;
	if (arr->type != T_STATS || !st->fe_sort_agg)
		return 0;   /* value; for statistics by @count */
	static const struct { const char *name; const char *col; } aggs[] = {
		{ "@count", "STP_SORT_COUNT" }, { "@sum", "STP_SORT_SUM" }, { "@min", "STP_SORT_MIN" },
		{ "@max", "STP_SORT_MAX" }, { "@avg", "STP_SORT_AVG" },
	};
	for (size_t k = 0; k < sizeof aggs / sizeof aggs[0]; k++)
		if (!strcmp(aggs[k].name, st->fe_sort_agg))
			return -1 - (int)k;   /* resolved by sort_column_name */
	return 0;
}

static const char *sort_column_name(struct unit *u, int col)
{
	static const char *const aggs[] = {
		"STP_SORT_COUNT", "STP_SORT_SUM", "STP_SORT_MIN", "STP_SORT_MAX", "STP_SORT_AVG",
	};
	if (col < 0)
		return aggs[-1 - col];
	return arena_printf(&S(u)->arena, "%d", col);
}

/* The body of a foreach loop opened by the caller (one indent level in),
 * its continue and break labels, and the loop's closing brace. */
static void emit_foreach_body(struct unit *u, const struct stmt *st, int n)
{
	int saved = u->loop;
	u->loop = n;
	emit_stmt(u, st->then);
	u->loop = saved;
	line(u, "continue_%d: __attribute__((unused));", n);
	u->indent--;
	line(u, "}");
	line(u, "break_%d: __attribute__((unused));", n);
}

/* foreach over a histogram: every bucket index in order (reversed for a
 * descending key sort), the count of the bucket as the value. */
static void emit_foreach_hist(struct unit *u, const struct stmt *st)
{
	if (st->fe_sort_dir && st->fe_sort_column == 0) {
		sem_error(S(u), st->pos, st->tok, "pass 3 cannot sort a histogram's buckets by count");
		u->ok = false;
		return;
	}
	const struct vardecl *v;
	const char *sp = stat_of(u, st->fe_base->left, &v);
	int n = new_label(u);
	const char *limit = st->fe_limit ? emit_expr(u, st->fe_limit) : NULL;
	int it = u->ntemps++;
	sb_printf(&u->decls, "\tint64_t b%d;\n\tint64_t c%d;\n", it, it);
	line(u, "l->c%d = 0;", it);
	if (st->fe_sort_dir < 0)
		line(u, "for (l->b%d = %s_hist.buckets - 1; l->b%d >= 0; l->b%d--) {", it, var(u, v), it, it);
	else
		line(u, "for (l->b%d = 0; l->b%d < %s_hist.buckets; l->b%d++) {", it, it, var(u, v), it);
	u->indent++;
	if (limit)
		line(u, "if (l->c%d++ >= %s) goto break_%d;", it, limit, n);
	count_action(u);
	if (st->fe_nkeys == 1 && st->fe_keys[0]->referent)
		line(u, "%s = l->b%d;", var(u, st->fe_keys[0]->referent), it);
	if (st->fe_value && st->fe_value->referent)
		line(u, "%s = %s ? %s->histogram[l->b%d] : 0;", var(u, st->fe_value->referent),
		     sp, sp, it);
	emit_foreach_body(u, st, n);
}

/* foreach over an array: optional sort (which re-links the list, as in
 * SystemTap), then the list in order, slices filtered, `limit` counted. */
static void emit_foreach(struct unit *u, const struct stmt *st)
{
	if (st->fe_base->kind == E_HIST) {
		emit_foreach_hist(u, st);
		return;
	}
	const struct vardecl *arr = st->fe_base->referent;
	const char *m = map_of(u, arr);
	int n = new_label(u);
	const char *limit = NULL;
	if (st->fe_limit)
		limit = emit_expr(u, st->fe_limit);
	const char *wild = "NULL", *keys = NULL;
	if (st->fe_nslice)
		keys = emit_keys(u, st->fe_slice, st->fe_nslice, arr, &wild);
	if (st->fe_sort_dir) {
		const char *col = sort_column_name(u, sort_column(st, arr));
		if (limit)
			line(u, "stp_map_sortn(%s, %s > 0 && %s < INT_MAX ? (int)%s : 0, %s, %d);", m, limit,
			     limit, limit, col, st->fe_sort_dir);
		else
			line(u, "stp_map_sort(%s, %s, %d);", m, col, st->fe_sort_dir);
	}
	int it = u->ntemps++;
	sb_printf(&u->decls, "\tstruct stp_map_node *n%d;\n\tint64_t c%d;\n", it, it);
	line(u, "l->c%d = 0;", it);
	line(u, "for (l->n%d = stp_map_first(%s); l->n%d; l->n%d = stp_map_next(%s, l->n%d)) {",
	     it, m, it, it, m, it);
	u->indent++;
	if (keys)
		line(u, "if (!stp_map_node_matches(%s, l->n%d, %s, %s)) continue;", m, it, keys, wild);
	if (limit)
		line(u, "if (l->c%d++ >= %s) goto break_%d;", it, limit, n);
	count_action(u);
	for (int k = 0; k < st->fe_nkeys; k++) {
		const struct vardecl *kv = st->fe_keys[k]->referent;
		if (!kv)
			continue;
		if (kv->type == T_STRING)
			line(u, "stp_strcpy(%s, stp_map_key_str(%s, l->n%d, %d));", var(u, kv), m, it, k);
		else
			line(u, "%s = stp_map_key_long(%s, l->n%d, %d);", var(u, kv), m, it, k);
	}
	if (st->fe_value && st->fe_value->referent) {
		const struct vardecl *vv = st->fe_value->referent;
		if (vv->type == T_STRING)
			line(u, "stp_strcpy(%s, stp_map_node_str(%s, l->n%d));", var(u, vv), m, it);
		else
			line(u, "%s = *stp_map_node_long(%s, l->n%d);", var(u, vv), m, it);
	}
	emit_foreach_body(u, st, n);
}

static void emit_try(struct unit *u, const struct stmt *st)
{
	int n = new_label(u);
	const char *outer = u->errlabel;
	char *catch_label = arena_printf(&S(u)->arena, "catch_%d", n);
	line(u, "{");
	u->indent++;
	u->errlabel = catch_label;
	emit_stmt(u, st->then);
	u->errlabel = outer;
	line(u, "goto after_try_%d;", n);
	u->indent--;
	line(u, "%s:", catch_label);
	u->indent++;
	line(u, "if (c->aborted) goto %s;   /* MAXACTION and abort() are not caught */",
	     outer);
	if (st->catch_var && st->catch_var->referent)
		line(u, "stp_strcpy(%s, c->last_error);", var(u, st->catch_var->referent));
	line(u, "c->last_error = NULL;");
	emit_stmt(u, st->els);
	u->indent--;
	line(u, "}");
	line(u, "after_try_%d: ;", n);
}

static void emit_stmt(struct unit *u, const struct stmt *st)
{
	switch (st->kind) {
	case S_NULL:
		return;
	case S_BLOCK:
		for (int k = 0; k < st->nbody; k++)
			emit_stmt(u, st->body[k]);
		return;
	default:
		break;
	}
	count_action(u);
	switch (st->kind) {
	case S_EXPR:
		emit_expr(u, st->e);
		break;
	case S_EMBEDDED:
		check_myproc(u, st->code);
		line(u, "{ %s }", st->code);
		check_error(u);
		break;
	case S_IF: {
		const char *cond = emit_expr(u, st->e);
		line(u, "if (%s) {", cond);
		u->indent++;
		emit_stmt(u, st->then);
		u->indent--;
		if (st->els) {
			line(u, "} else {");
			u->indent++;
			emit_stmt(u, st->els);
			u->indent--;
		}
		line(u, "}");
		break;
	}
	case S_WHILE:
	case S_FOR: {
		/* explicit labels: `continue` still runs the increment */
		int n = new_label(u);
		int saved = u->loop;
		if (st->init)
			emit_expr(u, st->init);
		line(u, "for (;;) {");
		u->indent++;
		count_action(u);
		if (st->e) {
			const char *cond = emit_expr(u, st->e);
			line(u, "if (!%s) goto break_%d;", cond, n);
		}
		u->loop = n;
		emit_stmt(u, st->then);
		u->loop = saved;
		line(u, "continue_%d: __attribute__((unused));", n);
		if (st->incr)
			emit_expr(u, st->incr);
		u->indent--;
		line(u, "}");
		line(u, "break_%d: __attribute__((unused));", n);
		break;
	}
	case S_RETURN:
		if (st->e && u->func) {
			const char *v = emit_expr(u, st->e);
			assign(u, "l->retval", v, u->func->type);
		}
		line(u, "goto out;");
		break;
	case S_NEXT:
		/* in a function: on to the next overload; in a probe: done */
		if (u->func)
			line(u, "c->overload_next = 1;");
		line(u, "goto out;");
		break;
	case S_BREAK:
		line(u, "goto break_%d;", u->loop);
		break;
	case S_CONTINUE:
		line(u, "goto continue_%d;", u->loop);
		break;
	case S_TRY:
		emit_try(u, st);
		break;
	case S_DELETE:
		if (st->e->kind == E_SYMBOL && st->e->referent && st->e->referent->arity == 0) {
			const struct vardecl *v = st->e->referent;
			if (v->type == T_STRING)
				line(u, "%s[0] = '\\0';", var(u, v));
			else
				line(u, "%s = 0;", var(u, v));
		} else if (st->e->kind == E_SYMBOL && st->e->referent) {
			const struct vardecl *v = st->e->referent;
			if (v->arity > 0)
				line(u, "stp_map_clear(%s);", map_of(u, v));
			else
				line(u, "stp_stat_clear(&%s_hist, %s);", var(u, v), var(u, v));
		} else if (st->e->kind == E_ARRAYINDEX && st->e->base->referent) {
			const struct vardecl *v = st->e->base->referent;
			const char *wild;
			const char *keys = emit_keys(u, st->e->args, st->e->nargs, v, &wild);
			if (strcmp(wild, "NULL"))
				line(u, "stp_map_delete_matching(%s, %s, %s);", map_of(u, v), keys, wild);
			else
				line(u, "stp_map_delete(%s, %s);", map_of(u, v), keys);
		}
		break;
	case S_FOREACH:
		emit_foreach(u, st);
		break;
	default:
		break;
	}
}

void emit_entry_values(struct unit *u)
{
	u->errlabel = "out";
	u->loop = -1;
	for (size_t k = 0; k < u->entries.n; k++) {
		const struct expr *x = u->entries.v[k];
		const char *v = emit_expr(u, x);
		assign(u, arena_printf(&S(u)->arena, "d->e%zu", k), v, x->type);
	}
}

/* A probe condition: its value, computed into the unit's locals. */
const char *emit_condition(struct unit *u, const struct expr *cond)
{
	u->errlabel = "out";
	u->loop = -1;
	return emit_expr(u, cond);
}

void emit_body(struct unit *u, const struct stmt *body)
{
	u->errlabel = "out";
	u->loop = -1;
	emit_stmt(u, body);
}
