/* Canonical printing of the syntax tree (the output of `stap -p1`).
 *
 * Every compound operand is parenthesised and every statement sits on its
 * own line, so the text parses back to the same tree.  Numbers print in
 * decimal (as unsigned, which re-parses to the same 64-bit value) and
 * strings with normalised escapes. */
#include <inttypes.h>
#include <string.h>

#include "ast.h"
#include "token.h"
#include "util.h"

static bool is_primary(const struct expr *e)
{
	switch (e->kind) {
	case E_NUMBER: case E_STRING: case E_SYMBOL: case E_ARRAYINDEX:
	case E_FUNCALL: case E_PRINT: case E_STATOP: case E_HIST: case E_TARGET:
	case E_CAST: case E_ATVAR: case E_DEFINED: case E_ENTRY: case E_PERF:
	case E_CONST: case E_PROBEWRITE: case E_REGISTER: case E_DEREF:
	case E_EMBEDDED: case E_TARGET_VARS:
		return true;
	case E_AUTOCAST:
		return true;
	default:
		return false;
	}
}

static void operand(struct strbuf *sb, const struct expr *e)
{
	if (is_primary(e)) {
		print_expr(sb, e);
	} else {
		sb_putc(sb, '(');
		print_expr(sb, e);
		sb_putc(sb, ')');
	}
}

static void print_args(struct strbuf *sb, struct expr *const *args, int n)
{
	for (int k = 0; k < n; k++) {
		if (k)
			sb_puts(sb, ", ");
		if (args[k])
			print_expr(sb, args[k]);
		else
			sb_putc(sb, '*');
	}
}

static void print_comps(struct strbuf *sb, const struct expr *e)
{
	for (int k = 0; k < e->ncomps; k++) {
		const struct target_comp *c = &e->comps[k];
		if (c->kind == COMP_MEMBER) {
			sb_puts(sb, "->");
			sb_puts(sb, c->member);
		} else {
			sb_putc(sb, '[');
			print_expr(sb, c->index);
			sb_putc(sb, ']');
		}
	}
	if (e->pretty)
		sb_puts(sb, e->pretty == 2 ? "$$" : "$");
}

static void print_number(struct strbuf *sb, int64_t v)
{
	sb_printf(sb, "%" PRIu64, (uint64_t)v);
}

void print_literal(struct strbuf *sb, const struct literal *l)
{
	if (l->is_string)
		quote_string(sb, l->str, l->len);
	else
		sb_printf(sb, "%" PRId64, l->num);
}

void print_expr(struct strbuf *sb, const struct expr *e)
{
	switch (e->kind) {
	case E_NUMBER:
		print_number(sb, e->num);
		break;
	case E_STRING:
		quote_string(sb, e->str, e->len);
		break;
	case E_SYMBOL:
		sb_puts(sb, e->name);
		break;
	case E_ARRAYINDEX:
		print_expr(sb, e->base);
		sb_putc(sb, '[');
		print_args(sb, e->args, e->nargs);
		sb_putc(sb, ']');
		break;
	case E_FUNCALL:
		sb_puts(sb, e->name);
		sb_putc(sb, '(');
		print_args(sb, e->args, e->nargs);
		sb_putc(sb, ')');
		break;
	case E_PRINT:
		sb_puts(sb, e->name);
		sb_putc(sb, '(');
		if (e->fmt) {
			quote_string(sb, e->fmt->str, e->fmt->len);
			if (e->nargs)
				sb_puts(sb, ", ");
		}
		print_args(sb, e->args, e->nargs);
		sb_putc(sb, ')');
		break;
	case E_UNARY:
		sb_puts(sb, e->op);
		operand(sb, e->left);
		break;
	case E_BINARY: case E_LOGICAL: case E_COMPARE: case E_CONCAT:
		operand(sb, e->left);
		sb_printf(sb, " %s ", e->op);
		operand(sb, e->right);
		break;
	case E_ASSIGN:
		operand(sb, e->left);
		sb_printf(sb, " %s ", e->op);
		operand(sb, e->right);
		break;
	case E_REGEX:
		operand(sb, e->left);
		sb_printf(sb, " %s ", e->op);
		quote_string(sb, e->str, e->len);
		break;
	case E_TERNARY:
		operand(sb, e->cond);
		sb_puts(sb, " ? ");
		operand(sb, e->left);
		sb_puts(sb, " : ");
		operand(sb, e->right);
		break;
	case E_PREINC:
		sb_puts(sb, e->op);
		operand(sb, e->left);
		break;
	case E_POSTINC:
		operand(sb, e->left);
		sb_puts(sb, e->op);
		break;
	case E_IN:
		sb_putc(sb, '[');
		for (int k = 0; k < e->nargs; k++) {
			if (k)
				sb_puts(sb, ", ");
			if (e->args[k])
				operand(sb, e->args[k]);
			else
				sb_putc(sb, '*');
		}
		sb_puts(sb, "] in ");
		print_expr(sb, e->base);
		break;
	case E_STATOP:
		sb_printf(sb, "%s(", e->name);
		print_expr(sb, e->left);
		if (e->num >= 0)
			sb_printf(sb, ", %" PRId64, e->num);
		sb_putc(sb, ')');
		break;
	case E_HIST:
		sb_printf(sb, "%s(", e->name);
		print_expr(sb, e->left);
		if (e->hist_kind == 0)
			sb_printf(sb, ", %" PRId64 ", %" PRId64 ", %" PRId64, e->hist_lo,
				  e->hist_hi, e->hist_width);
		sb_putc(sb, ')');
		break;
	case E_TARGET:
		if (e->addressof)
			sb_putc(sb, '&');
		sb_puts(sb, e->name);
		print_comps(sb, e);
		break;
	case E_CAST:
	case E_ATVAR:
		/* @cast(value, "type" [, "module"]) / @var("name" [, "module"]) */
		if (e->addressof)
			sb_putc(sb, '&');
		sb_puts(sb, e->kind == E_CAST ? "@cast(" : "@var(");
		if (e->kind == E_CAST) {
			print_expr(sb, e->left);
			sb_puts(sb, ", ");
		}
		quote_string(sb, e->cast_type, strlen(e->cast_type));
		if (e->cast_module) {
			sb_puts(sb, ", ");
			quote_string(sb, e->cast_module, strlen(e->cast_module));
		}
		sb_putc(sb, ')');
		print_comps(sb, e);
		break;
	case E_AUTOCAST:
		if (e->addressof)
			sb_putc(sb, '&');
		/* always in parentheses: `(p)[0]` must not read back as an
		 * array element */
		sb_putc(sb, '(');
		print_expr(sb, e->left);
		sb_putc(sb, ')');
		print_comps(sb, e);
		break;
	case E_DEFINED:
		sb_puts(sb, "@defined(");
		print_expr(sb, e->left);
		sb_putc(sb, ')');
		break;
	case E_ENTRY:
		sb_puts(sb, "@entry(");
		print_expr(sb, e->left);
		sb_putc(sb, ')');
		break;
	case E_PERF:
	case E_CONST:
		sb_puts(sb, e->kind == E_PERF ? "@perf(" : "@const(");
		quote_string(sb, e->str, e->len);
		sb_putc(sb, ')');
		break;
	case E_PROBEWRITE:
		sb_printf(sb, "@probewrite(%s)", e->name);
		break;
	case E_REGISTER:
		sb_printf(sb, "%s(%" PRId64 ")", e->name, e->num);
		break;
	case E_DEREF:
		sb_printf(sb, "%s(%" PRId64 ", ", e->name, e->num);
		print_expr(sb, e->left);
		sb_putc(sb, ')');
		break;
	case E_EMBEDDED:
		sb_puts(sb, "%{");
		sb_putn(sb, e->str, e->len);
		sb_puts(sb, "%}");
		break;
	case E_TARGET_VARS:
		sb_puts(sb, e->name);
		if (e->pretty)
			sb_puts(sb, e->pretty == 2 ? "$$" : "$");
		break;
	}
}

static void indent_to(struct strbuf *sb, int indent)
{
	for (int k = 0; k < indent; k++)
		sb_puts(sb, "  ");
}

/* An if without else whose then-branch ends in an open if would capture a
 * following else when re-parsed: such branches print inside braces. */
static bool ends_in_open_if(const struct stmt *st)
{
	while (st) {
		switch (st->kind) {
		case S_IF:
			if (!st->els)
				return true;
			st = st->els;
			break;
		case S_WHILE: case S_FOR: case S_FOREACH:
			st = st->then;
			break;
		default:
			return false;
		}
	}
	return false;
}

/* A statement that follows `if (...)`, `else`, or a loop header. */
static void print_substmt(struct strbuf *sb, const struct stmt *st, int indent, bool brace)
{
	if (st->kind == S_BLOCK) {
		sb_putc(sb, ' ');
		print_stmt(sb, st, indent);
	} else if (brace) {
		sb_puts(sb, " {\n");
		indent_to(sb, indent + 1);
		print_stmt(sb, st, indent + 1);
		sb_putc(sb, '\n');
		indent_to(sb, indent);
		sb_putc(sb, '}');
	} else {
		sb_putc(sb, '\n');
		indent_to(sb, indent + 1);
		print_stmt(sb, st, indent + 1);
	}
}

static void print_foreach(struct strbuf *sb, const struct stmt *st, int indent)
{
	sb_puts(sb, "foreach (");
	if (st->fe_value) {
		print_expr(sb, st->fe_value);
		sb_puts(sb, " = ");
	}
	sb_putc(sb, '[');
	for (int k = 0; k < st->fe_nkeys; k++) {
		if (k)
			sb_puts(sb, ", ");
		print_expr(sb, st->fe_keys[k]);
		if (st->fe_sort_dir && st->fe_sort_column == k + 1)
			sb_putc(sb, st->fe_sort_dir > 0 ? '+' : '-');
	}
	sb_puts(sb, "] in ");
	print_expr(sb, st->fe_base);
	if (st->fe_nslice) {
		sb_putc(sb, '[');
		print_args(sb, st->fe_slice, st->fe_nslice);
		sb_putc(sb, ']');
	}
	if (st->fe_sort_agg)
		sb_printf(sb, " %s", st->fe_sort_agg);
	if (st->fe_sort_dir && st->fe_sort_column == 0)
		sb_putc(sb, st->fe_sort_dir > 0 ? '+' : '-');
	if (st->fe_limit) {
		sb_puts(sb, " limit ");
		operand(sb, st->fe_limit);
	}
	sb_putc(sb, ')');
	print_substmt(sb, st->then, indent, false);
}

void print_stmt(struct strbuf *sb, const struct stmt *st, int indent)
{
	switch (st->kind) {
	case S_NULL:
		sb_putc(sb, ';');
		break;
	case S_BLOCK:
		sb_puts(sb, "{\n");
		for (int k = 0; k < st->nbody; k++) {
			indent_to(sb, indent + 1);
			print_stmt(sb, st->body[k], indent + 1);
			sb_putc(sb, '\n');
		}
		indent_to(sb, indent);
		sb_putc(sb, '}');
		break;
	case S_EXPR:
		print_expr(sb, st->e);
		sb_putc(sb, ';');
		break;
	case S_EMBEDDED:
		sb_puts(sb, "%{");
		sb_puts(sb, st->code);
		sb_puts(sb, "%};");
		break;
	case S_IF:
		sb_puts(sb, "if (");
		print_expr(sb, st->e);
		sb_putc(sb, ')');
		print_substmt(sb, st->then, indent, st->els && ends_in_open_if(st->then));
		if (st->els) {
			sb_putc(sb, '\n');
			indent_to(sb, indent);
			sb_puts(sb, "else");
			if (st->els->kind == S_IF) {
				sb_putc(sb, ' ');
				print_stmt(sb, st->els, indent);
			} else {
				print_substmt(sb, st->els, indent, false);
			}
		}
		break;
	case S_WHILE:
		sb_puts(sb, "while (");
		print_expr(sb, st->e);
		sb_putc(sb, ')');
		print_substmt(sb, st->then, indent, false);
		break;
	case S_FOR:
		sb_puts(sb, "for (");
		if (st->init)
			print_expr(sb, st->init);
		sb_puts(sb, "; ");
		if (st->e)
			print_expr(sb, st->e);
		sb_puts(sb, "; ");
		if (st->incr)
			print_expr(sb, st->incr);
		sb_putc(sb, ')');
		print_substmt(sb, st->then, indent, false);
		break;
	case S_FOREACH:
		print_foreach(sb, st, indent);
		break;
	case S_RETURN:
		sb_puts(sb, "return");
		if (st->e) {
			sb_putc(sb, ' ');
			print_expr(sb, st->e);
		}
		sb_putc(sb, ';');
		break;
	case S_DELETE:
		sb_puts(sb, "delete ");
		print_expr(sb, st->e);
		sb_putc(sb, ';');
		break;
	case S_BREAK:
		sb_puts(sb, "break;");
		break;
	case S_CONTINUE:
		sb_puts(sb, "continue;");
		break;
	case S_NEXT:
		sb_puts(sb, "next;");
		break;
	case S_TRY:
		sb_puts(sb, "try ");
		print_stmt(sb, st->then, indent);
		sb_puts(sb, " catch");
		if (st->catch_var) {
			sb_puts(sb, " (");
			print_expr(sb, st->catch_var);
			sb_putc(sb, ')');
		}
		sb_putc(sb, ' ');
		print_stmt(sb, st->els, indent);
		break;
	}
}

void print_probe_point(struct strbuf *sb, const struct probe_point *pp)
{
	for (int k = 0; k < pp->ncomps; k++) {
		if (k)
			sb_putc(sb, '.');
		sb_puts(sb, pp->comps[k].name);
		if (pp->comps[k].arg) {
			sb_putc(sb, '(');
			print_literal(sb, pp->comps[k].arg);
			sb_putc(sb, ')');
		}
	}
	if (pp->sufficient)
		sb_putc(sb, '!');
	else if (pp->optional)
		sb_putc(sb, '?');
	if (pp->cond) {
		sb_puts(sb, " if (");
		print_expr(sb, pp->cond);
		sb_putc(sb, ')');
	}
}

static void print_points(struct strbuf *sb, struct probe_point *const *pts, int n)
{
	for (int k = 0; k < n; k++) {
		if (k)
			sb_puts(sb, ", ");
		print_probe_point(sb, pts[k]);
	}
}

static void print_global(struct strbuf *sb, const struct vardecl *v)
{
	if (v->is_private)
		sb_puts(sb, "private ");
	sb_printf(sb, "global %s", v->unmangled);
	if (v->wrap)
		sb_putc(sb, '%');
	if (v->maxsize)
		sb_printf(sb, "[%" PRId64 "]", v->maxsize);
	if (v->init) {
		sb_puts(sb, " = ");
		print_literal(sb, v->init);
	}
	sb_putc(sb, '\n');
}

static void print_function(struct strbuf *sb, const struct functiondecl *f)
{
	if (f->is_private)
		sb_puts(sb, "private ");
	sb_printf(sb, "function %s", f->unmangled);
	if (f->decl_type != T_UNKNOWN)
		sb_printf(sb, ":%s", exp_type_name(f->decl_type));
	sb_puts(sb, " (");
	for (int k = 0; k < f->nparams; k++) {
		if (k)
			sb_puts(sb, ", ");
		sb_puts(sb, f->params[k]->name);
		if (f->params[k]->type != T_UNKNOWN && !f->params[k]->synthetic)
			sb_printf(sb, ":%s", exp_type_name(f->params[k]->type));
	}
	sb_putc(sb, ')');
	if (f->has_priority)
		sb_printf(sb, " : %" PRId64, f->priority);
	if (f->embedded) {
		sb_puts(sb, " %{");
		sb_puts(sb, f->embedded);
		sb_puts(sb, "%}\n");
	} else {
		sb_putc(sb, ' ');
		print_stmt(sb, f->body, 0);
		sb_putc(sb, '\n');
	}
}

static void print_probe(struct strbuf *sb, const struct probe *pr)
{
	sb_puts(sb, "probe ");
	for (int k = 0; k < pr->nalias_names; k++) {
		print_probe_point(sb, pr->alias_names[k]);
		sb_puts(sb, pr->epilogue_style ? " += " : " = ");
	}
	print_points(sb, pr->points, pr->npoints);
	sb_putc(sb, ' ');
	print_stmt(sb, pr->body, 0);
	if (pr->epilogue) {
		sb_puts(sb, ", ");
		print_stmt(sb, pr->epilogue, 0);
	}
	sb_putc(sb, '\n');
}

/* Declarations print grouped by kind (globals, embedded code, functions,
 * aliases, probes), each group in source order. */
void print_file(struct strbuf *sb, const struct stapfile *f)
{
	for (size_t k = 0; k < f->globals.n; k++)
		print_global(sb, f->globals.v[k]);
	for (size_t k = 0; k < f->embeds.n; k++) {
		const struct embedded_block *b = f->embeds.v[k];
		sb_printf(sb, "%%{%s%%}\n", b->code);
	}
	for (size_t k = 0; k < f->functions.n; k++)
		print_function(sb, f->functions.v[k]);
	for (size_t k = 0; k < f->aliases.n; k++)
		print_probe(sb, f->aliases.v[k]);
	for (size_t k = 0; k < f->probes.n; k++)
		print_probe(sb, f->probes.v[k]);
}
