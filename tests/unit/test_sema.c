/* Pass 2 (elaboration): type inference, semantic errors, probe-point and
 * alias resolution, automatic display of write-only globals.  Types are
 * checked on the -p2 listing and on the declarations themselves. */
#include "helpers.h"

#include <stdlib.h>
#include <string.h>

/* Elaborate src, which must succeed; returns the listing. */
static const char *ok_listing(struct th *t, const char *src)
{
	const char *listing;
	bool ok = th_elab(t, src, &listing);
	if (!ok)
		print_error("pass 2 of:\n%s\nfailed:\n%s\n", src, th_diag(t));
	assert_true(ok);
	return listing;
}

/* Elaborate src, which must fail with a message containing msg. */
static void expect_sem_error(const char *src, const char *msg)
{
	struct th t;
	th_init(&t);
	bool ok = th_elab(&t, src, NULL);
	if (ok)
		print_error("pass 2 of:\n%s\nunexpectedly succeeded\n", src);
	assert_false(ok);
	assert_diag(&t, msg);
	assert_true(t.s.diag.semantic_errors > 0);
	th_free(&t);
}

/* The user's stapfile (named "<test>") after elaboration. */
static struct stapfile *user_file(struct th *t)
{
	for (size_t k = t->s.stapfiles.n; k-- > 0;) {
		struct stapfile *f = t->s.stapfiles.v[k];
		if (!strcmp(f->name, "<test>"))
			return f;
	}
	fail_msg("no user file");
	return NULL;
}

static struct vardecl *global_named(struct stapfile *f, const char *name)
{
	for (size_t k = 0; k < f->globals.n; k++) {
		struct vardecl *v = f->globals.v[k];
		if (!strcmp(v->name, name))
			return v;
	}
	fail_msg("no global %s", name);
	return NULL;
}

static struct functiondecl *function_named(struct stapfile *f, const char *name)
{
	for (size_t k = 0; k < f->functions.n; k++) {
		struct functiondecl *fn = f->functions.v[k];
		if (!strcmp(fn->name, name))
			return fn;
	}
	fail_msg("no function %s", name);
	return NULL;
}

/* ---- inference ---- */

static void test_local_types(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	const char *l = ok_listing(&t, "probe begin { x = 1; s = \"a\"; c = s . \"b\"; "
				       "n = x + 1; b = s == c; print(x, s, c, n, b) }");
	assert_contains(l, "  x:long\n");
	assert_contains(l, "  s:string\n");
	assert_contains(l, "  c:string\n");
	assert_contains(l, "  n:long\n");
	assert_contains(l, "  b:long\n");
	th_free(&t);
}

static void test_types_flow_backwards(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	/* y's type is only known from the later assignment to x */
	const char *l = ok_listing(&t, "probe begin { x = y; x = \"s\"; print(x) }");
	assert_contains(l, "  y:string\n");
	th_free(&t);
}

static void test_global_and_index_types(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	const char *l = ok_listing(&t,
		"global arr, cnt, st, name\n"
		"probe begin { arr[\"k\", 1] = cnt; cnt++; st <<< 5; name = \"n\" }\n"
		"probe end { foreach ([a, b] in arr) print(a, b, @count(st), name) }\n");
	assert_contains(l, "arr:long [string, long]\n");
	assert_contains(l, "cnt:long\n");
	assert_contains(l, "st:stats\n");
	assert_contains(l, "name:string\n");
	assert_contains(l, "  a:string\n");
	assert_contains(l, "  b:long\n");
	struct stapfile *f = user_file(&t);
	struct vardecl *arr = global_named(f, "arr");
	assert_int_equal(arr->type, T_LONG);
	assert_int_equal(arr->arity, 2);
	assert_int_equal(arr->index_types[0], T_STRING);
	assert_int_equal(arr->index_types[1], T_LONG);
	assert_int_equal(global_named(f, "st")->type, T_STATS);
	assert_int_equal(global_named(f, "cnt")->arity, 0);
	th_free(&t);
}

static void test_function_types(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	const char *l = ok_listing(&t,
		"function cat(a, b) { return a . b }\n"
		"function id(x) { return x }\n"
		"function twice:long (n:long) { return 2 * n }\n"
		"probe begin { s = cat(\"x\", \"y\"); v = id(3); w = twice(v); print(s, v, w) }\n");
	assert_contains(l, "cat:string (a:string, b:string)\n");
	assert_contains(l, "id:long (x:long)\n");
	assert_contains(l, "twice:long (n:long)\n");
	struct functiondecl *fn = function_named(user_file(&t), "cat");
	assert_int_equal(fn->type, T_STRING);
	assert_int_equal(fn->params[0]->type, T_STRING);
	th_free(&t);
}

static void test_unused_function_dropped(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	const char *l = ok_listing(&t, "function unused(x) { return x } probe begin { }");
	assert_null(strstr(l, "unused"));
	th_free(&t);
}

static void test_tapset_function_pulled_in(void **state)
{
	(void)state;
	struct th t;
	th_init_tapsets(&t);
	const char *l = ok_listing(&t, "probe begin { x = strlen(\"abc\"); print(x) }");
	assert_contains(l, "strlen:long (s:string)");
	assert_contains(l, "  x:long\n");
	th_free(&t);
}

/* ---- type errors ---- */

static void test_type_mismatch_assign(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_false(th_elab(&t, "probe begin {\n  x = 5\n  x = \"a\"\n}", NULL));
	assert_diag(&t, "type mismatch");
	assert_diag(&t, "<test>:3:3");
	assert_diag(&t, "first inferred here");
	assert_diag(&t, "<test>:2:3");
	th_free(&t);
}

static void test_type_mismatch_operators(void **state)
{
	(void)state;
	expect_sem_error("probe begin { x = \"a\" . 1; print(x) }", "type mismatch");
	expect_sem_error("probe begin { if (\"str\") print(1) }", "type mismatch");
	expect_sem_error("probe begin { s = \"a\"; s++; print(s) }", "type mismatch");
	expect_sem_error("probe begin { x = 1 ? \"a\" : 2; print(x) }", "type mismatch");
	expect_sem_error("probe begin { x = \"a\" + 1; print(x) }", "type mismatch");
	expect_sem_error("probe begin { x = 1 < \"a\"; print(x) }", "type mismatch");
}

static void test_index_type_mismatch(void **state)
{
	(void)state;
	expect_sem_error("global a\nprobe begin { a[1] = 1; a[\"x\"] = 2 }", "index 0 type mismatch");
}

static void test_stats_misuse(void **state)
{
	(void)state;
	expect_sem_error("global s\nprobe begin { s <<< 1; x = s; print(x) }", "invalid type stats");
	expect_sem_error("global s\nprobe begin { s <<< \"a\" }", "type mismatch");
}

static void test_unresolved_function(void **state)
{
	(void)state;
	expect_sem_error("probe begin { g() }", "unresolved function g");
}

static void test_arity_mismatch(void **state)
{
	(void)state;
	expect_sem_error("function f(a) { return a }\nprobe begin { f(1, 2) }",
			 "arity mismatch found (function 'f' takes 1 args)");
}

static void test_inconsistent_arity(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_false(th_elab(&t, "global a\nprobe begin { a[1] = 1; a[1, 2] = 3 }", NULL));
	assert_diag(&t, "inconsistent arity (1 vs 2)");
	assert_diag(&t, "arity 1 first inferred here");
	th_free(&t);
	/* string indexing makes an array of a scalar */
	expect_sem_error("global s = \"abc\"\nprobe begin { print(s[1]) }", "arity");
}

static void test_array_local(void **state)
{
	(void)state;
	expect_sem_error("probe begin { a[1] = 1 }", "missing global declaration");
}

static void test_foreach_modification(void **state)
{
	(void)state;
	expect_sem_error("global a\nprobe begin { a[1] = 1; foreach (k in a) a[k] = 2 }",
			 "variable 'a' modified during 'foreach' iteration");
	expect_sem_error("global a\nprobe begin { a[1] = 1; foreach (k in a) delete a[k] }",
			 "modified during 'foreach' iteration");
	/* reading is fine */
	struct th t;
	th_init(&t);
	ok_listing(&t, "global a\nprobe begin { a[1] = 1; foreach (k in a) print(a[k]) }");
	th_free(&t);
}

static void test_multiple_histogram_types(void **state)
{
	(void)state;
	expect_sem_error("global s\nprobe begin { s <<< 1; print(@hist_log(s)); "
			 "print(@hist_linear(s, 0, 10, 1)) }",
			 "multiple histogram types declared on 's'");
}

static void test_variance_shift_range(void **state)
{
	(void)state;
	expect_sem_error("global s\nprobe begin { s <<< 1; x = @variance(s, 63); print(x) }",
			 "out of range");
}

static void test_break_outside_loop(void **state)
{
	(void)state;
	expect_sem_error("probe begin { break }", "cannot 'break' outside loop");
	expect_sem_error("probe begin { continue }", "cannot 'continue' outside loop");
}

static void test_entry_outside_return(void **state)
{
	(void)state;
	expect_sem_error("probe begin { x = @entry(1); print(x) }",
			 "@entry is only valid in .return probes");
}

static void test_void_function_as_value(void **state)
{
	(void)state;
	expect_sem_error("function f() { }\nprobe begin { x = f(); print(x) }", "f");
}

static void test_no_probes(void **state)
{
	(void)state;
	expect_sem_error("function f(x) { return x }", "no probes found");
}

/* ---- probe points and aliases ---- */

static void test_alias_name_wildcard(void **state)
{
	(void)state;
	expect_sem_error("probe a.* = begin { }\nprobe begin { }",
			 "probe alias names cannot contain wildcards");
}

static void test_function_modifies_array_in_foreach(void **state)
{
	(void)state;
	expect_sem_error("global a\nfunction f() { a[1] = 2 }\nfunction g() { f() }\n"
			 "probe begin { a[1] = 1; foreach (k in a) g() }",
			 "function call modifies var 'a' during 'foreach' iteration");
}

static void test_sized_array_as_scalar(void **state)
{
	(void)state;
	expect_sem_error("global a[10]\nprobe begin { a <<< 1; print(@count(a)) }",
			 "inconsistent arity");
}

static void test_procfs_value_rules(void **state)
{
	(void)state;
	expect_sem_error("probe procfs(\"x\").read { print($value) }",
			 "cannot be read in a procfs read probe");
	expect_sem_error("probe procfs(\"x\").write { $value = \"a\" }",
			 "read-only in a procfs write probe");
	expect_sem_error("probe procfs(\"../x\").read { $value = \"a\" }",
			 "procfs path cannot be relative");
	expect_sem_error("probe procfs(\"x\").read.maxsize(0) { $value = \"a\" }",
			 "maxsize must be greater than 0");
}

static void test_probe_point_mismatch(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_false(th_elab(&t, "probe nosuch.point { }", NULL));
	assert_diag(&t, "while resolving probe point 'nosuch.point'");
	assert_diag(&t, "probe point mismatch at position 1: 'nosuch'");
	th_free(&t);
	expect_sem_error("probe timer.ms(100).bogus { }", "bogus");
}

static void test_optional_probe_point(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	const char *l = ok_listing(&t, "probe nosuch ?, begin { }");
	assert_contains(l, "begin /* <- ");
	th_free(&t);
}

static void test_sufficient_probe_point(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	const char *l = ok_listing(&t, "probe begin !, end { }");
	assert_true(!strncmp(l, "# probes\nbegin", 14));
	assert_null(strstr(l, "\nend /* <- "));
	th_free(&t);
}

static void test_builtin_families(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	const char *l = ok_listing(&t, "probe timer.ms(100), timer.s(1).randomize(0), "
				       "kernel.function(\"vfs_read\").return, "
				       "process(\"/bin/ls\").function(\"main\") { }");
	assert_contains(l, "timer.ms(100) /* <- ");
	assert_contains(l, "kernel.function(\"vfs_read\").return /* <- ");
	assert_contains(l, "process(\"/bin/ls\").function(\"main\") /* <- ");
	th_free(&t);
	expect_sem_error("probe timer.jiffies(0) { }", "out of range");
}

static void test_alias_expansion(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	const char *l = ok_listing(&t,
		"probe my.a = begin { pre = 1 }\n"
		"probe my.a { print(pre) }\n");
	assert_contains(l, "begin /* <- my.a = begin <- my.a */");
	assert_contains(l, "  pre:long\n");
	th_free(&t);
}

static void test_alias_prologue_order(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	t.s.verbose = 1;
	const char *l = ok_listing(&t,
		"probe pro = begin { first = 1 }\n"
		"probe epi += end { third = 3 }\n"
		"probe pro { second = 2 }\n"
		"probe epi { second = 2 }\n");
	const char *p1 = strstr(l, "first = 1");
	const char *p2 = p1 ? strstr(p1, "second = 2") : NULL;
	assert_non_null(p1);
	assert_non_null(p2);
	const char *e2 = strstr(p2 + 1, "second = 2");
	const char *e3 = e2 ? strstr(e2, "third = 3") : NULL;
	assert_non_null(e2);
	assert_non_null(e3);
	th_free(&t);
}

static void test_wildcard_alias(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	const char *l = ok_listing(&t,
		"probe my.a = begin { v = 1 }\n"
		"probe my.b = end { v = 2 }\n"
		"probe my.* { print(v) }\n");
	assert_contains(l, "begin /* <- my.a = begin <- my.* */");
	assert_contains(l, "end /* <- my.b = end <- my.* */");
	th_free(&t);
}

static void test_alias_suffix(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	const char *l = ok_listing(&t,
		"probe my.fn = kernel.function(\"f\") { y = 1 }\n"
		"probe my.fn.return { print(y) }\n");
	assert_contains(l, "kernel.function(\"f\").return /* <- my.fn = kernel.function(\"f\") <- my.fn.return */");
	th_free(&t);
	/* a suffix the target cannot take is a mismatch */
	expect_sem_error("probe my.a = begin { }\nprobe my.a.x { }", "'x' cannot follow 'begin'");
}

static void test_recursive_alias(void **state)
{
	(void)state;
	expect_sem_error("probe a = b { }\nprobe b = a { }\nprobe a { }", "recursive alias");
}

static void test_probe_condition_globals_only(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	ok_listing(&t, "global on = 1\nprobe timer.s(1) if (on) { on = 0 }");
	th_free(&t);
	expect_sem_error("probe timer.s(1) if (loc) { loc = 1 }", "global");
}

/* ---- auto-display ---- */

static void test_auto_display_scalar(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	t.s.verbose = 1;
	const char *l = ok_listing(&t, "global w, r\nprobe begin { w = 1; r = 2 }\n"
				       "probe end { print(r) }");
	assert_contains(l, "printf(\"w=%d\\n\", w)");
	assert_null(strstr(l, "\"r="));
	th_free(&t);
}

static void test_auto_display_string_and_array(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	t.s.verbose = 1;
	const char *l = ok_listing(&t, "global s, a\nprobe begin { s = \"x\"; a[1, \"k\"] = 3 }");
	assert_contains(l, "s=");
	assert_contains(l, "foreach (");
	assert_contains(l, "in a-)");
	th_free(&t);
}

static void test_auto_display_stats(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	t.s.verbose = 1;
	const char *l = ok_listing(&t, "global st\nprobe begin { st <<< 1 }");
	assert_contains(l, "@count(st)");
	th_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_types),
		cmocka_unit_test(test_types_flow_backwards),
		cmocka_unit_test(test_global_and_index_types),
		cmocka_unit_test(test_function_types),
		cmocka_unit_test(test_unused_function_dropped),
		cmocka_unit_test(test_tapset_function_pulled_in),
		cmocka_unit_test(test_type_mismatch_assign),
		cmocka_unit_test(test_type_mismatch_operators),
		cmocka_unit_test(test_index_type_mismatch),
		cmocka_unit_test(test_stats_misuse),
		cmocka_unit_test(test_unresolved_function),
		cmocka_unit_test(test_arity_mismatch),
		cmocka_unit_test(test_inconsistent_arity),
		cmocka_unit_test(test_array_local),
		cmocka_unit_test(test_foreach_modification),
		cmocka_unit_test(test_multiple_histogram_types),
		cmocka_unit_test(test_variance_shift_range),
		cmocka_unit_test(test_break_outside_loop),
		cmocka_unit_test(test_entry_outside_return),
		cmocka_unit_test(test_void_function_as_value),
		cmocka_unit_test(test_alias_name_wildcard),
		cmocka_unit_test(test_function_modifies_array_in_foreach),
		cmocka_unit_test(test_sized_array_as_scalar),
		cmocka_unit_test(test_procfs_value_rules),
		cmocka_unit_test(test_no_probes),
		cmocka_unit_test(test_probe_point_mismatch),
		cmocka_unit_test(test_optional_probe_point),
		cmocka_unit_test(test_sufficient_probe_point),
		cmocka_unit_test(test_builtin_families),
		cmocka_unit_test(test_alias_expansion),
		cmocka_unit_test(test_alias_prologue_order),
		cmocka_unit_test(test_wildcard_alias),
		cmocka_unit_test(test_alias_suffix),
		cmocka_unit_test(test_recursive_alias),
		cmocka_unit_test(test_probe_condition_globals_only),
		cmocka_unit_test(test_auto_display_scalar),
		cmocka_unit_test(test_auto_display_string_and_array),
		cmocka_unit_test(test_auto_display_stats),
	};
	return cmocka_run_group_tests_name("sema", tests, NULL, NULL);
}
