/* Canonical printing (the -p1 output): layout of declarations and
 * statements, literal spelling, and the round trip print -> parse -> print
 * over a few dozen snippets. */
#include "helpers.h"

#include <stdlib.h>
#include <string.h>

static const char *P(struct th *t, const char *src)
{
	const char *r = th_print(t, src);
	if (!r)
		print_error("parse of:\n%s\nfailed:\n%s\n", src, th_diag(t));
	assert_non_null(r);
	return r;
}

static void test_print_probe_layout(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(P(&t, "probe begin{x=1;y=2}"),
			    "probe begin {\n  x = 1;\n  y = 2;\n}\n");
	th_free(&t);
}

static void test_print_globals(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	const char *p = P(&t, "global a%[10], b = -5, c = \"x\", d[3]\nprobe begin {}");
	assert_contains(p, "global a%[10]\n");
	assert_contains(p, "global b = -5\n");
	assert_contains(p, "global c = \"x\"\n");
	assert_contains(p, "global d[3]\n");
	th_free(&t);
}

static void test_print_function(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	const char *p = P(&t, "function f:long(n:long, s):3 { return n + 1 }");
	assert_contains(p, "function f:long (n:long, s) : 3 {\n  return n + 1;\n}\n");
	th_free(&t);
}

static void test_print_aliases(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	const char *p = P(&t, "probe x = y.z { p = 1 }, { e = 2 }\nprobe q += y { r = 1 }");
	assert_contains(p, "probe x = y.z {\n  p = 1;\n}, {\n  e = 2;\n}\n");
	assert_contains(p, "probe q += y {\n  r = 1;\n}\n");
	th_free(&t);
}

static void test_print_probe_points(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	const char *p = P(&t, "probe begin, kernel.function(\"foo\").return ?, "
			      "timer.ms(100) if (b > 0), end! {}");
	assert_contains(p, "probe begin, kernel.function(\"foo\").return?, "
			   "timer.ms(100) if (b > 0), end! {\n}");
	th_free(&t);
}

static void test_print_if_else(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	const char *p = P(&t, "probe begin { if (a) x = 1 else if (b) x = 2 else { x = 3 } }");
	assert_contains(p, "if (a)\n    x = 1;\n  else if (b)\n    x = 2;\n  else {\n    x = 3;\n  }");
	th_free(&t);
}

static void test_print_string_escapes(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	const char *p = P(&t, "probe begin { x = \"q\\\"b\\\\n\\n\\t\\001\\x7f\\q\" }");
	assert_contains(p, "x = \"q\\\"b\\\\n\\n\\t\\001\\177q\";");
	th_free(&t);
}

static void test_print_numbers(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	const char *p = P(&t, "probe begin { a = 0x10; b = 010; c = 18446744073709551615; "
			      "d = -1 }");
	assert_contains(p, "a = 16;");
	assert_contains(p, "b = 8;");
	assert_contains(p, "c = 18446744073709551615;");
	assert_contains(p, "d = (-1);");   /* unary minus on 1 */
	th_free(&t);
}

static void test_print_foreach(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	const char *p = P(&t, "probe begin { foreach (v = [k] in a @sum- limit 3) ; "
			      "foreach ([k1, k2-] in a[*, 2]) ; }");
	assert_contains(p, "foreach (v = [k] in a @sum- limit 3)");
	assert_contains(p, "foreach ([k1, k2-] in a[*, 2])");
	th_free(&t);
}

/* Snippets whose print must parse back and print identically. */
static const char *const snippets[] = {
	"probe begin { x = 1 }",
	"probe begin { x = a || b && c | d ^ e & f == g < h << i . j + k * -l++ }",
	"probe begin { x = a ? b : c ? d : e; y = a ? b ? c : d : e }",
	"probe begin { a = b = c += d }",
	"probe begin { x = !k in a; y = [1, *] in a; z = (k in a) == 0 }",
	"probe begin { x = (s =~ \"a+\") == 1; y = s !~ \"b\" }",
	"probe begin { x = - - y; z = ~!w; ++a[1]; b--; --c }",
	"probe begin { x = \"a\\\"b\\\\c\\n\\t\\r\\a\\b\\f\\v\\001\\377\" }",
	"probe begin { x = 18446744073709551615 + 9223372036854775808 }",
	"probe begin { if (a) if (b) x = 1; else x = 2 }",
	"probe begin { if (a) { if (b) x = 1 } else x = 2 }",
	"probe begin { if (a) x = 1 else if (b) x = 2 else x = 3 }",
	"probe begin { while (i < 10) { i++; if (i == 5) break; continue } }",
	"probe begin { for (i = 0; i < 3; i++) print(i); for (;;) break }",
	"probe begin { foreach (k in a) print(k) }",
	"probe begin { foreach (v- = [k1, k2] in a limit 10) print(v) }",
	"probe begin { foreach ([k1, k2+] in a[*, \"x\"]) ; }",
	"probe begin { foreach (k in s @avg+) ; foreach (i in @hist_log(s)) ; }",
	"probe begin { try { error(\"x\") } catch (m) { print(m) } try { } catch { } }",
	"probe begin { delete a[*, 1]; delete a; delete x }",
	"probe begin { printf(\"%5.2d %-s %%\\n\", 1, \"s\"); printd(\",\", 1, 2); println() }",
	"probe begin { print(@hist_linear(s, 0, 100, 10)); x = @hist_log(s)[3] }",
	"probe begin { x = @count(s) + @variance(s, 2) + @avg(a[1, \"k\"]) }",
	"probe begin { x = $a->b[1]->c; y = $p$$; z = &$x->y; w = $$parms$ }",
	"probe begin { x = @cast(p, \"task_struct\", \"kernel\")->pid; y = @var(\"jiffies\") }",
	"probe kernel.function(\"f\").return { x = @entry($a); y = @defined($b) ? 1 : 0 }",
	"probe begin { x = @perf(\"cycles\"); z = @uregister(3) }",
	"probe begin { x = @uderef(4, p); y = @probewrite(g) }",
	"probe begin { x = f(1, \"a\", g()) . string(1); y = long(2) }",
	"probe a.{b, c}.d?, e! if (g), f(\"x\").g(-5) { }",
	"probe sys*_open.**.x { }",
	"probe x = y { p = 1 }, { e = 2 }",
	"probe q += r.s { t = 1 }",
	"probe m = n = timer.s(1) { }",
	"global a%[10], b = -5, c = \"x\", d[3]%\nprobe begin { }",
	"private global p\nprivate function pf(a:string) { }\nprobe begin { }",
	"function f:long (n:long, s:string) :3 { return n + 1 }",
	"function g() { return }\nfunction h:string () { return \"\" }",
	"function string:string (x) { next }",
	"probe begin { ; ; { } x = f(x)->a[2] }",
};

static void test_round_trips(void **state)
{
	(void)state;
	int failures = 0;
	for (size_t k = 0; k < sizeof snippets / sizeof snippets[0]; k++) {
		struct th t;
		th_init(&t);
		const char *a, *b;
		if (!th_round_trip(&t, snippets[k], &a, &b)) {
			print_error("round trip failed for:\n%s\nfirst:\n%s\nsecond:\n%s\ndiag:\n%s\n",
				    snippets[k], a ? a : "(error)", b ? b : "(error)", th_diag(&t));
			failures++;
		}
		th_free(&t);
	}
	assert_int_equal(failures, 0);
}

static void test_round_trip_guru(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	t.s.guru = true;
	const char *a, *b;
	bool same = th_round_trip(&t,
		"%{ #include <linux/x.h> %}\n"
		"function f:long () %{ /* pure */ STAP_RETURN(1); %}\n"
		"probe begin { %{ do(); %} x = %{ 1 %} }\n"
		"probe end { y = @const(\"X\") + @kregister(3) + @kderef(4, p) }", &a, &b);
	if (!same)
		print_error("first:\n%s\nsecond:\n%s\n%s", a ? a : "-", b ? b : "-", th_diag(&t));
	assert_true(same);
	th_free(&t);
}

static void test_round_trip_tapset_library(void **state)
{
	(void)state;
	/* every library file parses and its print round-trips */
	struct th t;
	th_init_tapsets(&t);
	struct ptrvec lib = {0};
	tapset_parse_library(&t.s, &lib);
	if (th_errors(&t))
		print_error("%s\n", th_diag(&t));
	assert_int_equal(th_errors(&t), 0);
	assert_true(lib.n > 0);
	int failures = 0;
	for (size_t k = 0; k < lib.n; k++) {
		struct stapfile *f = lib.v[k];
		struct strbuf a, b;
		sb_init(&a);
		sb_init(&b);
		print_file(&a, f);
		struct source_file *src = session_add_text(&t.s, "again.stp", a.s, true);
		struct stapfile *g = parse_file(&t.s, src);
		print_file(&b, g);
		if (strcmp(a.s, b.s)) {
			print_error("round trip of %s differs\n", f->name);
			failures++;
		}
		sb_free(&a);
		sb_free(&b);
	}
	assert_int_equal(th_errors(&t), 0);
	assert_int_equal(failures, 0);
	pv_free(&lib);
	th_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_print_probe_layout),
		cmocka_unit_test(test_print_globals),
		cmocka_unit_test(test_print_function),
		cmocka_unit_test(test_print_aliases),
		cmocka_unit_test(test_print_probe_points),
		cmocka_unit_test(test_print_if_else),
		cmocka_unit_test(test_print_string_escapes),
		cmocka_unit_test(test_print_numbers),
		cmocka_unit_test(test_print_foreach),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_round_trip_guru),
		cmocka_unit_test(test_round_trip_tapset_library),
	};
	return cmocka_run_group_tests_name("print", tests, NULL, NULL);
}
