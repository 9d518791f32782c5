/* Parser: precedence and associativity (through the canonical print),
 * statements, foreach forms, probe points, aliases, declarations, and
 * error reporting with positions and recovery. */
#include "helpers.h"

#include <stdlib.h>
#include <string.h>

/* Canonical print of one expression statement; fails the test on errors. */
static const char *E(struct th *t, const char *expr)
{
	const char *r = th_expr(t, expr);
	if (!r)
		print_error("parse of '%s' failed:\n%s\n", expr, th_diag(t));
	assert_non_null(r);
	return r;
}

/* Parse a script that must have exactly one parse error containing msg. */
static void expect_error(const char *src, const char *msg)
{
	struct th t;
	th_init(&t);
	th_parse(&t, src);
	if (th_errors(&t) != 1)
		print_error("for '%s':\n%s\n", src, th_diag(&t));
	assert_int_equal(th_errors(&t), 1);
	assert_diag(&t, msg);
	th_free(&t);
}

static struct stmt *first_stmt(struct stapfile *f)
{
	assert_int_equal(f->probes.n, 1);
	struct probe *pr = f->probes.v[0];
	assert_true(pr->body->nbody >= 1);
	return pr->body->body[0];
}

/* ---- expressions ---- */

static void test_precedence_ladder(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(E(&t, "a || b && c | d ^ e & f == g << i . j + k * -l++"),
			    "a || (b && (c | (d ^ (e & (f == (g << (i . (j + (k * (-(l++)))))))))))");
	th_free(&t);
}

static void test_bitand_below_compare(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(E(&t, "x & 1 == 1"), "x & (1 == 1)");
	assert_string_equal(E(&t, "x | y ^ z"), "x | (y ^ z)");
	assert_string_equal(E(&t, "x ^ y & z"), "x ^ (y & z)");
	th_free(&t);
}

static void test_left_associativity(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(E(&t, "a - b - c"), "(a - b) - c");
	assert_string_equal(E(&t, "a / b * c % d"), "((a / b) * c) % d");
	assert_string_equal(E(&t, "a < b == c"), "(a < b) == c");
	assert_string_equal(E(&t, "a >> b >>> c << d"), "((a >> b) >>> c) << d");
	assert_string_equal(E(&t, "a . b . c"), "(a . b) . c");
	assert_string_equal(E(&t, "a && b && c"), "(a && b) && c");
	assert_string_equal(E(&t, "a || b || c"), "(a || b) || c");
	th_free(&t);
}

static void test_concat_below_add(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(E(&t, "a . b + c"), "a . (b + c)");
	assert_string_equal(E(&t, "a << b . c"), "a << (b . c)");
	th_free(&t);
}

static void test_assignment_right_assoc(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(E(&t, "a = b = c"), "a = (b = c)");
	assert_string_equal(E(&t, "a += b -= c"), "a += (b -= c)");
	static const char *const ops[] = {
		"=", "<<<", "+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "^=", "|=", ".=", NULL,
	};
	for (const char *const *op = ops; *op; op++) {
		char *src = xasprintf("x %s 1 + 2", *op);
		char *want = xasprintf("x %s (1 + 2)", *op);
		assert_string_equal(E(&t, src), want);
		free(src);
		free(want);
	}
	th_free(&t);
}

static void test_ternary_chains(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(E(&t, "a ? b : c ? d : e"), "a ? b : (c ? d : e)");
	assert_string_equal(E(&t, "a ? b ? c : d : e"), "a ? (b ? c : d) : e");
	assert_string_equal(E(&t, "x = a || b ? c = 1 : d"), "x = ((a || b) ? (c = 1) : d)");
	th_free(&t);
}

static void test_unary_forms(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(E(&t, "- - x"), "-(-x)");
	assert_string_equal(E(&t, "! ~x"), "!(~x)");
	assert_string_equal(E(&t, "-x++"), "-(x++)");
	assert_string_equal(E(&t, "++a[1]"), "++a[1]");
	assert_string_equal(E(&t, "x--"), "x--");
	assert_string_equal(E(&t, "+x"), "+x");
	th_free(&t);
}

static void test_in_operator(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(E(&t, "!k in a"), "[(!k)] in a");
	assert_string_equal(E(&t, "[1, *] in a"), "[1, *] in a");
	assert_string_equal(E(&t, "k + 1 in a"), "[(k + 1)] in a");
	assert_string_equal(E(&t, "x = k in a && y"), "x = (([k] in a) && y)");
	th_free(&t);
}

static void test_in_then_compare_is_error(void **state)
{
	(void)state;
	expect_error("probe begin { k in a == 0 }", "expected expression");
	struct th t;
	th_init(&t);
	assert_string_equal(E(&t, "(k in a) == 0"), "([k] in a) == 0");
	th_free(&t);
}

static void test_regex_then_compare_is_error(void **state)
{
	(void)state;
	expect_error("probe begin { x = s =~ \"x\" == 1 }", "");
	struct th t;
	th_init(&t);
	assert_string_equal(E(&t, "(s =~ \"x\") == 1"), "(s =~ \"x\") == 1");
	assert_string_equal(E(&t, "s !~ \"a\" \"b\""), "s !~ \"ab\"");
	assert_null(th_expr(&t, "s =~ r"));
	assert_diag(&t, "expected literal string as regular expression");
	th_free(&t);
}

static void test_string_concatenation_of_literals(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(E(&t, "x = \"a\" /* c */ \"b\"\n\"c\""), "x = \"abc\"");
	th_free(&t);
}

static void test_target_and_cast_forms(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(E(&t, "$a->b[1]$"), "$a->b[1]$");
	assert_string_equal(E(&t, "&$x->y"), "&$x->y");
	assert_string_equal(E(&t, "$$vars$"), "$$vars$");
	assert_string_equal(E(&t, "@cast(p, \"task_struct\")->pid"),
			    "@cast(p, \"task_struct\")->pid");
	assert_string_equal(E(&t, "@var(\"jiffies\")"), "@var(\"jiffies\")");
	assert_contains(E(&t, "f(x)->a->b"), "f(x))->a->b");   /* autocast */
	/* '&' of a plain value parses (macros such as @choose_defined build
	 * it); pass 2 decides whether it names something addressable */
	assert_string_equal(E(&t, "&x"), "&x");
	assert_string_equal(E(&t, "&(a ? $x->y : $x->z)"), "&(a ? $x->y : $x->z)");
	th_free(&t);
}

static void test_stat_and_hist_ops(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(E(&t, "@count(s) + @sum(s) + @avg(s[1])"),
			    "(@count(s) + @sum(s)) + @avg(s[1])");
	assert_string_equal(E(&t, "@variance(s, 3)"), "@variance(s, 3)");
	assert_string_equal(E(&t, "print(@hist_log(s))"), "print(@hist_log(s))");
	assert_string_equal(E(&t, "x = @hist_linear(s, 0, 100, 10)[2]"),
			    "x = @hist_linear(s, 0, 100, 10)[2]");
	th_free(&t);
	expect_error("probe begin { print(@hist_linear(s, 0, \"x\", 10)) }",
		     "histogram parameters must be numbers");
}

static void test_print_family_syntax(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(E(&t, "printf(\"%d %s\\n\", 1, \"a\")"), "printf(\"%d %s\\n\", 1, \"a\")");
	assert_string_equal(E(&t, "printd(\",\", 1, 2)"), "printd(\",\", 1, 2)");
	assert_string_equal(E(&t, "println()"), "println()");
	th_free(&t);
	expect_error("probe begin { printf(fmt, 1) }", "expected literal string");
	expect_error("probe begin { printf(\"%q\", 1) }", "invalid or missing conversion specifier");
	expect_error("probe begin { print() }", "needs at least one argument");
	expect_error("probe begin { printd(\",\") }", "needs at least two values");
	expect_error("probe begin { x = @kregister(1) }", "using @kregister operator not permitted; need stap -g");
	expect_error("probe begin { x = @const(\"HZ\") }", "using @const operator not permitted; need stap -g");
	expect_error("probe begin { printdln(\",\", 1) }", "needs at least two values");
	expect_error("probe begin { x = print }", "expected '(' after 'print'");
}

/* ---- statements ---- */

static void test_all_statements(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	struct stapfile *f = th_parse(&t,
		"function f(n) {\n"
		"  ;\n"
		"  { }\n"
		"  if (n) x = 1; else x = 2\n"
		"  while (n) { break; continue }\n"
		"  for (i = 0; i < n; i++) next\n"
		"  for (;;) break\n"
		"  foreach (k in a) delete a[k]\n"
		"  try { error(\"e\") } catch (msg) { x = msg }\n"
		"  try { } catch { }\n"
		"  delete a\n"
		"  return x\n"
		"  return\n"
		"}\n");
	assert_int_equal(th_errors(&t), 0);
	struct functiondecl *fn = f->functions.v[0];
	enum stmt_kind want[] = { S_NULL, S_BLOCK, S_IF, S_WHILE, S_FOR, S_FOR, S_FOREACH,
				  S_TRY, S_TRY, S_DELETE, S_RETURN, S_RETURN };
	assert_int_equal(fn->body->nbody, 12);
	for (int k = 0; k < 12; k++)
		assert_int_equal(fn->body->body[k]->kind, want[k]);
	struct stmt *forever = fn->body->body[5];
	assert_null(forever->init);
	assert_null(forever->e);
	assert_null(forever->incr);
	assert_non_null(fn->body->body[7]->catch_var);
	assert_null(fn->body->body[8]->catch_var);
	assert_non_null(fn->body->body[10]->e);
	assert_null(fn->body->body[11]->e);
	th_free(&t);
}

static void test_dangling_else(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	struct stmt *st = first_stmt(th_parse(&t, "probe begin { if (a) if (b) x = 1; else x = 2 }"));
	assert_int_equal(st->kind, S_IF);
	assert_null(st->els);
	assert_int_equal(st->then->kind, S_IF);
	assert_non_null(st->then->els);
	th_free(&t);
}

static void test_return_outside_function(void **state)
{
	(void)state;
	expect_error("probe begin {\n  return 1\n}", "found 'return' not in function context");
	struct th t;
	th_init(&t);
	th_parse(&t, "probe begin {\n  return 1\n}");
	assert_diag(&t, "<test>:2:3");
	th_free(&t);
}

static void test_unexpected_keyword(void **state)
{
	(void)state;
	expect_error("probe begin { else x = 1 }", "expected statement");
	expect_error("probe begin { try { } }", "expected 'catch'");
}

/* ---- foreach ---- */

static struct stmt *foreach_of(struct th *t, const char *header)
{
	char *src = xasprintf("probe begin { foreach (%s) ; }", header);
	struct stapfile *f = th_parse(t, src);
	free(src);
	if (th_errors(t))
		print_error("%s\n", th_diag(t));
	assert_int_equal(th_errors(t), 0);
	struct stmt *st = first_stmt(f);
	assert_int_equal(st->kind, S_FOREACH);
	return st;
}

static void test_foreach_plain(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	struct stmt *st = foreach_of(&t, "k in a");
	assert_int_equal(st->fe_nkeys, 1);
	assert_null(st->fe_value);
	assert_int_equal(st->fe_sort_column, -1);
	assert_int_equal(st->fe_sort_dir, 0);
	assert_null(st->fe_limit);
	st = foreach_of(&t, "[a, b, c] in x");
	assert_int_equal(st->fe_nkeys, 3);
	th_free(&t);
}

static void test_foreach_sort_value(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	struct stmt *st = foreach_of(&t, "v- = [k] in a");
	assert_non_null(st->fe_value);
	assert_int_equal(st->fe_sort_column, 0);
	assert_int_equal(st->fe_sort_dir, -1);
	st = foreach_of(&t, "k in a+");
	assert_int_equal(st->fe_sort_column, 0);
	assert_int_equal(st->fe_sort_dir, 1);
	th_free(&t);
}

static void test_foreach_sort_key(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	struct stmt *st = foreach_of(&t, "[a, b+] in x");
	assert_int_equal(st->fe_sort_column, 2);
	assert_int_equal(st->fe_sort_dir, 1);
	st = foreach_of(&t, "k- in x");
	assert_int_equal(st->fe_sort_column, 1);
	assert_int_equal(st->fe_sort_dir, -1);
	th_free(&t);
}

static void test_foreach_aggregate_sort(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	struct stmt *st = foreach_of(&t, "k in s @sum-");
	assert_non_null(st->fe_sort_agg);
	assert_string_equal(st->fe_sort_agg, "@sum");
	assert_int_equal(st->fe_sort_column, 0);
	assert_int_equal(st->fe_sort_dir, -1);
	th_free(&t);
	expect_error("probe begin { foreach (k in s @sum) ; }", "after @sum");
}

static void test_foreach_limit_and_slice(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	struct stmt *st = foreach_of(&t, "[a, b] in x[*, 5] limit n + 1");
	assert_int_equal(st->fe_nslice, 2);
	assert_null(st->fe_slice[0]);
	assert_non_null(st->fe_slice[1]);
	assert_non_null(st->fe_limit);
	assert_int_equal(st->fe_limit->kind, E_BINARY);
	st = foreach_of(&t, "i in @hist_log(s)");
	assert_int_equal(st->fe_base->kind, E_HIST);
	th_free(&t);
}

static void test_foreach_errors(void **state)
{
	(void)state;
	expect_error("probe begin { foreach ([a+, b-] in x) ; }", "multiple sort directives");
	expect_error("probe begin { foreach (v+ = k in x-) ; }", "multiple sort directives");
	expect_error("probe begin { foreach (k x) ; }", "expected 'in'");
	expect_error("probe begin { foreach (1 in x) ; }", "expected identifier in foreach");
}

/* ---- probe points ---- */

static const char *first_points(struct th *t, const char *src)
{
	struct stapfile *f = th_parse(t, src);
	assert_int_equal(th_errors(t), 0);
	struct probe *pr = f->probes.n ? f->probes.v[0] : f->aliases.v[0];
	struct strbuf sb;
	sb_init(&sb);
	for (int k = 0; k < pr->npoints; k++) {
		if (k)
			sb_puts(&sb, " | ");
		print_probe_point(&sb, pr->points[k]);
	}
	const char *r = arena_strdup(&t->s.arena, sb.s);
	sb_free(&sb);
	return r;
}

static void test_probe_point_globbing_glue(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	struct stapfile *f = th_parse(&t, "probe sys*_open.*.x**y {}");
	assert_int_equal(th_errors(&t), 0);
	struct probe *pr = f->probes.v[0];
	assert_int_equal(pr->points[0]->ncomps, 3);
	assert_string_equal(pr->points[0]->comps[0].name, "sys*_open");
	assert_string_equal(pr->points[0]->comps[1].name, "*");
	assert_string_equal(pr->points[0]->comps[2].name, "x**y");
	/* keywords are valid components */
	assert_string_equal(first_points(&t, "probe kernel.function(\"f\").return {}"),
			    "kernel.function(\"f\").return");
	th_free(&t);
}

static void test_probe_point_arguments(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(first_points(&t, "probe timer.ms(100) {}"), "timer.ms(100)");
	assert_string_equal(first_points(&t, "probe begin(-1000) {}"), "begin(-1000)");
	assert_string_equal(first_points(&t, "probe kernel.function(\"a\" \"b\") {}"),
			    "kernel.function(\"ab\")");
	th_free(&t);
	expect_error("probe timer.ms(1 + 2) {}", "expected ')'");
}

static void test_brace_products(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(first_points(&t, "probe a.{b,c}.{d,e} {}"),
			    "a.b.d | a.b.e | a.c.d | a.c.e");
	assert_string_equal(first_points(&t, "probe {x, y.{z, w}}.q {}"),
			    "x.q | y.z.q | y.w.q");
	th_free(&t);
}

static void test_probe_point_flags(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	struct stapfile *f = th_parse(&t, "probe a?, b!, c if (g > 1), d? if (g) {}");
	assert_int_equal(th_errors(&t), 0);
	struct probe *pr = f->probes.v[0];
	assert_int_equal(pr->npoints, 4);
	assert_true(pr->points[0]->optional);
	assert_false(pr->points[0]->sufficient);
	assert_true(pr->points[1]->optional);
	assert_true(pr->points[1]->sufficient);
	assert_non_null(pr->points[2]->cond);
	assert_false(pr->points[2]->optional);
	assert_true(pr->points[3]->optional);
	assert_non_null(pr->points[3]->cond);
	assert_string_equal(first_points(&t, "probe a.{b?, c!} {}"), "a.b? | a.c!");
	th_free(&t);
	expect_error("probe a.{b?, c}.d {}", "must only be specified in suffix");
	expect_error("probe a.{b?}? {}", "only one '?'/'!'");
	expect_error("probe 1.x {}", "expected probe point component");
}

static void test_brace_product_limit(void **state)
{
	(void)state;
	/* 2^13 points: over the limit of 4096 */
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "probe a");
	for (int k = 0; k < 13; k++)
		sb_puts(&sb, ".{x,y}");
	sb_puts(&sb, " {}");
	expect_error(sb.s, "too many points");
	sb_free(&sb);
}

/* ---- aliases ---- */

static void test_alias_forms(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	struct stapfile *f = th_parse(&t,
		"probe a.b = begin, end { x = 1 }\n"
		"probe c += timer.s(1) { y = 1 }\n"
		"probe d = begin { p = 1 }, { e = 1 }\n"
		"probe e = f = begin { }\n"
		"probe begin { }\n");
	assert_int_equal(th_errors(&t), 0);
	assert_int_equal(f->aliases.n, 4);
	assert_int_equal(f->probes.n, 1);
	struct probe *a = f->aliases.v[0];
	assert_int_equal(a->nalias_names, 1);
	assert_int_equal(a->npoints, 2);
	assert_false(a->epilogue_style);
	assert_null(a->epilogue);
	struct probe *c = f->aliases.v[1];
	assert_true(c->epilogue_style);
	struct probe *d = f->aliases.v[2];
	assert_non_null(d->epilogue);
	struct probe *e = f->aliases.v[3];
	assert_int_equal(e->nalias_names, 2);
	th_free(&t);
}

static void test_alias_errors(void **state)
{
	(void)state;
	/* a wildcard in an alias name is a pass-2 error (test_sema), as in
	 * SystemTap, whose pass 1 accepts it */
	expect_error("probe a? = begin { }", "cannot be optional");
	expect_error("probe a, b = begin { }", "must be a single probe point");
	expect_error("probe a = b += begin { }", "only '=' or only '+='");
}

/* ---- declarations ---- */

static void test_globals(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	struct stapfile *f = th_parse(&t,
		"global a, b%, c[10], d%[20], e[30]%\n"
		"global s = \"x\" \"y\", n = -5, h = 0x10;\n"
		"private p\n"
		"private global q = 1\n");
	assert_int_equal(th_errors(&t), 0);
	assert_int_equal(f->globals.n, 10);
	struct vardecl **g = (struct vardecl **)f->globals.v;
	assert_false(g[0]->wrap);
	assert_true(g[1]->wrap);
	assert_int_equal(g[2]->maxsize, 10);
	assert_false(g[2]->wrap);
	assert_true(g[3]->wrap);
	assert_int_equal(g[3]->maxsize, 20);
	assert_true(g[4]->wrap);
	assert_int_equal(g[4]->maxsize, 30);
	assert_true(g[5]->init->is_string);
	assert_string_equal(g[5]->init->str, "xy");
	assert_int_equal(g[6]->init->num, -5);
	assert_int_equal(g[7]->init->num, 16);
	assert_true(g[8]->is_private);
	assert_true(g[9]->is_private);
	assert_int_equal(g[9]->init->num, 1);
	th_free(&t);
}

static void test_global_errors(void **state)
{
	(void)state;
	expect_error("global a[0]", "array size out of range");
	expect_error("global a[2147483648]", "array size out of range");
	expect_error("global a[10] = 1", "an array cannot have an initial value");
	expect_error("global a = b", "expected literal string or number");
	expect_error("global 1", "expected global variable name");
}

static void test_functions(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	struct stapfile *f = th_parse(&t,
		"function f:long (a:string, b) :3 { return 1 }\n"
		"function g() { }\n"
		"function string:string (x:long) { return \"\" }\n"
		"private function h(x) { }\n");
	assert_int_equal(th_errors(&t), 0);
	assert_int_equal(f->functions.n, 4);
	struct functiondecl *fn = f->functions.v[0];
	assert_int_equal(fn->decl_type, T_LONG);
	assert_int_equal(fn->nparams, 2);
	assert_int_equal(fn->params[0]->type, T_STRING);
	assert_int_equal(fn->params[1]->type, T_UNKNOWN);
	assert_true(fn->has_priority);
	assert_int_equal(fn->priority, 3);
	struct functiondecl *g = f->functions.v[1];
	assert_false(g->has_priority);
	assert_int_equal(g->priority, 0);
	assert_int_equal(g->decl_type, T_UNKNOWN);
	assert_string_equal(((struct functiondecl *)f->functions.v[2])->name, "string");
	assert_true(((struct functiondecl *)f->functions.v[3])->is_private);
	th_free(&t);
}

static void test_function_errors(void **state)
{
	(void)state;
	expect_error("function f() :0 { }", "priority must be > 0");
	expect_error("function f(a, a) { }", "duplicate parameter name");
	expect_error("function f:int () { }", "expected 'string' or 'long'");
	expect_error("function 1() { }", "expected function name");
}

static void test_embedded_needs_guru(void **state)
{
	(void)state;
	expect_error("%{ #include <x.h> %}", "need stap -g");
	expect_error("function f() %{ /* pure */ %}", "need stap -g");
	expect_error("probe begin { x = %{ 1 %} }", "need stap -g");

	struct th t;
	th_init(&t);
	t.s.guru = true;
	struct stapfile *f = th_parse(&t,
		"%{ #include <x.h> %}\n"
		"function f:long () %{ /* pure */ /* unprivileged */ STAP_RETURN(1); %}\n"
		"probe begin { %{ do_it(); %} x = %{ /* string */ \"a\" %} }\n");
	assert_int_equal(th_errors(&t), 0);
	assert_int_equal(f->embeds.n, 1);
	struct functiondecl *fn = f->functions.v[0];
	assert_non_null(fn->embedded);
	assert_true(fn->pure);
	assert_true(fn->unprivileged);
	assert_false(fn->guru);
	struct probe *pr = f->probes.v[0];
	assert_int_equal(pr->body->body[0]->kind, S_EMBEDDED);
	th_free(&t);
}

static void test_embedded_in_privileged_file(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	struct source_file *src = session_add_text(&t.s, "lib.stp", "function f() %{ x %}", true);
	struct stapfile *f = parse_file(&t.s, src);
	assert_int_equal(th_errors(&t), 0);
	assert_true(f->privileged);
	th_free(&t);
}

/* ---- errors ---- */

static void test_error_position_and_open(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	th_parse(&t, "probe begin { x = (1 +\n2 }\n");
	assert_int_equal(th_errors(&t), 1);
	assert_diag(&t, "parse error: expected ')' (to close '(' at line 1)");
	assert_diag(&t, "at: operator '}' at <test>:2:3");
	assert_diag(&t, "source: 2 }");
	th_free(&t);
}

static void test_error_same_line(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	th_parse(&t, "probe begin { f(1, 2 }");
	assert_diag(&t, "expected ')'\n");
	assert_diag(&t, "<test>:1:22");
	th_free(&t);
}

static void test_recovery_reports_several(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	struct stapfile *f = th_parse(&t,
		"probe begin { x = (1 + }\n"
		"probe end { y = }\n"
		"function f( { }\n"
		"global g = 1\n"
		"probe timer.s(1) { z = 1 }\n");
	assert_int_equal(th_errors(&t), 3);
	assert_diag(&t, "<test>:1:");
	assert_diag(&t, "<test>:2:");
	assert_diag(&t, "<test>:3:");
	/* what follows the errors is still parsed */
	assert_int_equal(f->globals.n, 1);
	assert_int_equal(f->probes.n, 1);
	th_free(&t);
}

static void test_empty_file(void **state)
{
	(void)state;
	expect_error("", "empty");
	expect_error("# only a comment\n/* and another */\n", "empty");
	expect_error("%( 1 == 0 %? probe begin {} %)", "empty");
}

static void test_toplevel_garbage(void **state)
{
	(void)state;
	expect_error("x = 1", "expected 'probe', 'global', 'private', 'function'");
}

static void test_missing_brace(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	th_parse(&t, "probe begin {\n  x = 1\n");
	assert_int_equal(th_errors(&t), 1);
	assert_diag(&t, "'}' to close '{' at line 1");
	th_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_precedence_ladder),
		cmocka_unit_test(test_bitand_below_compare),
		cmocka_unit_test(test_left_associativity),
		cmocka_unit_test(test_concat_below_add),
		cmocka_unit_test(test_assignment_right_assoc),
		cmocka_unit_test(test_ternary_chains),
		cmocka_unit_test(test_unary_forms),
		cmocka_unit_test(test_in_operator),
		cmocka_unit_test(test_in_then_compare_is_error),
		cmocka_unit_test(test_regex_then_compare_is_error),
		cmocka_unit_test(test_string_concatenation_of_literals),
		cmocka_unit_test(test_target_and_cast_forms),
		cmocka_unit_test(test_stat_and_hist_ops),
		cmocka_unit_test(test_print_family_syntax),
		cmocka_unit_test(test_all_statements),
		cmocka_unit_test(test_dangling_else),
		cmocka_unit_test(test_return_outside_function),
		cmocka_unit_test(test_unexpected_keyword),
		cmocka_unit_test(test_foreach_plain),
		cmocka_unit_test(test_foreach_sort_value),
		cmocka_unit_test(test_foreach_sort_key),
		cmocka_unit_test(test_foreach_aggregate_sort),
		cmocka_unit_test(test_foreach_limit_and_slice),
		cmocka_unit_test(test_foreach_errors),
		cmocka_unit_test(test_probe_point_globbing_glue),
		cmocka_unit_test(test_probe_point_arguments),
		cmocka_unit_test(test_brace_products),
		cmocka_unit_test(test_probe_point_flags),
		cmocka_unit_test(test_brace_product_limit),
		cmocka_unit_test(test_alias_forms),
		cmocka_unit_test(test_alias_errors),
		cmocka_unit_test(test_globals),
		cmocka_unit_test(test_global_errors),
		cmocka_unit_test(test_functions),
		cmocka_unit_test(test_function_errors),
		cmocka_unit_test(test_embedded_needs_guru),
		cmocka_unit_test(test_embedded_in_privileged_file),
		cmocka_unit_test(test_error_position_and_open),
		cmocka_unit_test(test_error_same_line),
		cmocka_unit_test(test_recovery_reports_several),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_toplevel_garbage),
		cmocka_unit_test(test_missing_brace),
	};
	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
