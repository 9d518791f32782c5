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

static const char *long_op(struct unit *u, const char *op, const char *a, const char *b)
{
	const char *t = temp(u, T_LONG);
	if (!strcmp(op, "+"))
		line(u, "%s = stp_add(%s, %s);", t, a, b);
	else if (!strcmp(op, "-"))
		line(u, "%s = stp_sub(%s, %s);", t, a, b);
	else if (!strcmp(op, "*"))
		line(u, "%s = stp_mul(%s, %s);", t, a, b);
	else if (!strcmp(op, "/") || !strcmp(op, "%")) {
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

/* The C lvalue behind a symbol (arrays come with the map runtime). */
static const char *lvalue(struct unit *u, const struct expr *e)
{
	if (e->kind == E_SYMBOL && e->referent)
		return var(u, e->referent);
	unsupported(u, e, e->kind == E_ARRAYINDEX ? "arrays" : "this assignment target");
	return "l->unsupported";
}

static const char *emit_assign(struct unit *u, const struct expr *e)
{
	if (!strcmp(e->op, "<<<")) {
		unsupported(u, e, "statistics");
		return "0";
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
		const char *v = long_op(u, op, dst, src);
		line(u, "%s = %s;", dst, v);
	}
	return dst;
}

static const char *emit_crement(struct unit *u, const struct expr *e)
{
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
	if (e->noverloads > 1) {
		unsupported(u, e, "overloaded functions with 'next'");
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
	char *fn = c_function(f);
	line(u, "if (unlikely(c->nesting + 1 >= MAXNESTING)) {");
	line(u, "\tc->last_error = \"MAXNESTING exceeded\";");
	line(u, "\tgoto %s;", u->errlabel);
	line(u, "}");
	line(u, "{");
	u->indent++;
	line(u, "struct %s_frame *callee = &c->frames[c->nesting + 1].%s;", fn, fn);
	line(u, "memset(callee, 0, sizeof *callee);");
	for (int k = 0; k < e->nargs; k++)
		assign(u, arena_printf(&S(u)->arena, "callee->a_%s", f->params[k]->name), args[k],
		       f->params[k]->type);
	line(u, "c->nesting++;");
	line(u, "%s(c);", fn);
	line(u, "c->nesting--;");
	const char *t = "0";
	if (f->returns_value && f->type != T_UNKNOWN) {
		t = temp(u, f->type);
		assign(u, t, "callee->retval", f->type);
	}
	u->indent--;
	line(u, "}");
	check_error(u);
	free(fn);
	return t;
}

static char conv_char(enum fmt_conv c)
{
	static const struct { enum fmt_conv conv; char ch; } map[] = {
		{ FC_SIGNED, 'd' }, { FC_UNSIGNED, 'u' }, { FC_OCTAL, 'o' }, { FC_HEX, 'x' },
		{ FC_HEX_UPPER, 'X' }, { FC_POINTER, 'p' }, { FC_CHAR, 'c' }, { FC_STRING, 's' },
		{ FC_BINARY, 'b' }, { FC_MEMORY, 'm' }, { FC_MEMORY_HEX, 'M' },
	};
	for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
		if (map[k].conv == c)
			return map[k].ch;
	return 'd';
}

/* print family: text is built in a string temporary, then printed (or
 * becomes the value of sprint*). */
static const char *emit_print(struct unit *u, const struct expr *e)
{
	const char *n = e->name;
	bool to_string = n[0] == 's';
	const char *out = temp(u, T_STRING);
	line(u, "%s[0] = '\\0';", out);
	if (strstr(n, "printf")) {
		struct fmt_piece *pieces;
		const char *err;
		int np = format_parse(e->fmt->str, e->fmt->len, &pieces, &err);
		int a = 0;
		for (int k = 0; k < np; k++) {
			const struct fmt_piece *p = &pieces[k];
			if (p->conv == FC_LITERAL) {
				line(u, "stp_strcat(%s, %s);", out, literal(u, p->text, p->len));
				continue;
			}
			if (p->conv == FC_PERCENT) {
				line(u, "stp_strcat(%s, \"%%\");", out);
				continue;
			}
			const char *width = p->width == FMT_STAR ? emit_expr(u, e->args[a++])
					  : arena_printf(&S(u)->arena, "%d", p->width);
			const char *prec = p->precision == FMT_STAR ? emit_expr(u, e->args[a++])
					 : arena_printf(&S(u)->arena, "%d", p->precision);
			const char *v = emit_expr(u, e->args[a++]);
			bool str = p->conv == FC_STRING;
			line(u, "stp_format_one(%s, '%c', %s, %s, %s, %s, %s);", out, conv_char(p->conv),
			     p->flag ? arena_printf(&S(u)->arena, "'%c'", p->flag) : "0", width, prec,
			     str ? v : "NULL", str ? "0" : v);
		}
		free(pieces);
	} else {
		bool delim = strstr(n, "printd") != NULL;
		const char *sep = delim ? literal(u, e->fmt->str, e->fmt->len) : NULL;
		for (int k = 0; k < e->nargs; k++) {
			if (e->args[k]->kind == E_HIST) {
				unsupported(u, e->args[k], "histograms");
				continue;
			}
			if (k && sep)
				line(u, "stp_strcat(%s, %s);", out, sep);
			const char *v = emit_expr(u, e->args[k]);
			if (e->args[k]->type == T_STRING)
				line(u, "stp_strcat(%s, %s);", out, v);
			else if (!strcmp(n, "print_char"))
				line(u, "stp_format_one(%s, 'c', 0, -1, -1, NULL, %s);", out, v);
			else
				line(u, "stp_format_one(%s, 'd', 0, -1, -1, NULL, %s);", out, v);
		}
		if (strstr(n, "ln"))
			line(u, "stp_strcat(%s, \"\\n\");", out);
	}
	if (to_string)
		return out;
	line(u, "stp_print(%s, strlen(%s));", out, out);
	return "0";
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
		return long_op(u, e->op, a, b);
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
	case E_EMBEDDED: {
		const char *t = temp(u, e->type);
		if (e->type == T_STRING)
			line(u, "stp_strcpy(%s, (%.*s));", t, (int)e->len, e->str);
		else
			line(u, "%s = (int64_t)(%.*s);", t, (int)e->len, e->str);
		return t;
	}
	case E_ARRAYINDEX: case E_IN:
		unsupported(u, e, "arrays");
		return "0";
	case E_STATOP: case E_HIST:
		unsupported(u, e, "statistics");
		return "0";
	case E_REGEX:
		unsupported(u, e, "regular expressions");
		return "0";
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
		line(u, "continue_%d: ;", n);
		if (st->incr)
			emit_expr(u, st->incr);
		u->indent--;
		line(u, "}");
		line(u, "break_%d: ;", n);
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
		if (u->func) {
			sem_error(S(u), st->pos, st->tok, "pass 3 cannot translate 'next' in functions yet");
			u->ok = false;
		}
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
		} else {
			sem_error(S(u), st->pos, st->tok, "pass 3 cannot translate arrays yet");
			u->ok = false;
		}
		break;
	case S_FOREACH:
		sem_error(S(u), st->pos, st->tok, "pass 3 cannot translate foreach yet");
		u->ok = false;
		break;
	default:
		break;
	}
}

void emit_body(struct unit *u, const struct stmt *body)
{
	u->errlabel = "out";
	u->loop = -1;
	emit_stmt(u, body);
}
