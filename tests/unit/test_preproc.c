/* Preprocessor: conditionals (every condition kind, precedence, nesting,
 * errors) and macros (parameters, nesting, limits, errors). */
#include "helpers.h"

#include <stdlib.h>
#include <string.h>

static const char *pp(struct th *t, const char *src)
{
	return th_pp_text(t, src);
}

/* A session whose target kernel is a temporary build tree. */
static char *kernel_session(struct th *t, const char *release, const char *config)
{
	th_init(t);
	char *dir = th_make_kernel_dir(release, config);
	session_set_kernel(&t->s, dir);
	return dir;
}

static void test_kernel_v_ordering(void **state)
{
	(void)state;
	struct th t;
	char *dir = kernel_session(&t, "6.1.0-56-amd64", "CONFIG_X=y\n");
	assert_string_equal(t.s.kernel.release, "6.1.0-56-amd64");
	assert_string_equal(t.s.kernel.version, "6.1.0");
	assert_string_equal(pp(&t, "%( kernel_v == \"6.1.0\" %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( kernel_v > \"5.10\" %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( kernel_v < \"6.10\" %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( kernel_v >= \"6.1\" %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( kernel_v <= \"6.0.99\" %? a %: b %)"), "b");
	assert_string_equal(pp(&t, "%( kernel_v != \"6.1.0\" %? a %: b %)"), "b");
	assert_int_equal(th_errors(&t), 0);
	th_free(&t);
	th_remove_kernel_dir(dir);
}

static void test_kernel_vr_and_glob(void **state)
{
	(void)state;
	struct th t;
	char *dir = kernel_session(&t, "6.1.0-56-amd64", "CONFIG_X=y\n");
	assert_string_equal(pp(&t, "%( kernel_vr == \"6.1.0-56-amd64\" %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( kernel_vr > \"6.1.0-5-amd64\" %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( kernel_vr == \"6.1*\" %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( kernel_v == \"5.*\" %? a %: b %)"), "b");
	assert_string_equal(pp(&t, "%( kernel_v != \"5.*\" %? a %: b %)"), "a");
	assert_int_equal(th_errors(&t), 0);
	pp(&t, "%( kernel_v < \"6.*\" %? a %: b %)");
	assert_int_equal(th_errors(&t), 1);
	assert_diag(&t, "expected '==' or '!='");
	th_free(&t);
	th_remove_kernel_dir(dir);
}

static void test_kernel_release_without_tree(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	session_set_kernel(&t.s, "5.10.0-20-amd64");
	assert_string_equal(t.s.kernel.version, "5.10.0");
	assert_string_equal(t.s.kernel.build_dir, "/lib/modules/5.10.0-20-amd64/build");
	assert_string_equal(pp(&t, "%( kernel_v < \"5.9\" %? a %: b %)"), "b");
	th_free(&t);
}

static void test_arch_glob(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	free(t.s.kernel.arch);
	t.s.kernel.arch = xstrdup("x86_64");
	assert_string_equal(pp(&t, "%( arch == \"x86_64\" %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( arch == \"x86*\" %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( arch == \"i?86\" %? a %: b %)"), "b");
	assert_string_equal(pp(&t, "%( arch != \"arm*\" %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( arch == \"[xy]86_64\" %? a %: b %)"), "a");
	assert_int_equal(th_errors(&t), 0);
	pp(&t, "%( arch < \"x\" %? a %)");
	assert_diag(&t, "expected '==' or '!='");
	th_free(&t);
}

static const char config_text[] =
	"# comment line\n"
	"CONFIG_FOO=y\n"
	"CONFIG_MOD=m\n"
	"CONFIG_NUM=42\n"
	"CONFIG_HEX=0x10\n"
	"CONFIG_STR=\"abc\"\n"
	"# CONFIG_BAR is not set\n"
	"CONFIG_X=3\n"
	"CONFIG_X8=2\n"
	"CONFIG_X86=y\n"
	"CONFIG_X86_64=y\n"
	"CONFIG_X1=1\n"
	"NOT_CONFIG=1\n";

static void test_kconfig_lookup(void **state)
{
	(void)state;
	struct th t;
	char *dir = kernel_session(&t, "6.1.0-test", config_text);
	assert_non_null(t.s.kernel.config_path);
	assert_string_equal(session_kconfig(&t.s, "CONFIG_FOO"), "y");
	assert_string_equal(session_kconfig(&t.s, "CONFIG_NUM"), "42");
	assert_string_equal(session_kconfig(&t.s, "CONFIG_STR"), "\"abc\"");
	assert_string_equal(session_kconfig(&t.s, "CONFIG_BAR"), "");
	assert_string_equal(session_kconfig(&t.s, "CONFIG_NU"), "");
	assert_string_equal(session_kconfig(&t.s, "CONFIG_X"), "3");
	assert_string_equal(session_kconfig(&t.s, "CONFIG_X8"), "2");
	assert_string_equal(session_kconfig(&t.s, "CONFIG_X86"), "y");
	assert_string_equal(session_kconfig(&t.s, "CONFIG_X86_64"), "y");
	assert_string_equal(session_kconfig(&t.s, "CONFIG_X1"), "1");
	assert_string_equal(session_kconfig(&t.s, "NOT_CONFIG"), "");
	assert_string_equal(th_diag(&t), "");   /* no warning: .config was found */
	th_free(&t);
	th_remove_kernel_dir(dir);
}

static void test_config_conditions(void **state)
{
	(void)state;
	struct th t;
	char *dir = kernel_session(&t, "6.1.0-test", config_text);
	assert_string_equal(pp(&t, "%( CONFIG_FOO == \"y\" %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( CONFIG_MOD == \"[ym]\" %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( CONFIG_BAR == \"\" %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( CONFIG_BAR == \"y\" %? a %: b %)"), "b");
	assert_string_equal(pp(&t, "%( CONFIG_NUM > 40 %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( CONFIG_NUM == 42 %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( CONFIG_HEX == 16 %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( CONFIG_NUM > CONFIG_X %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( CONFIG_X8 < CONFIG_X %? a %: b %)"), "a");
	/* an unset option is 0 to a number, as SystemTap has it */
	assert_string_equal(pp(&t, "%( CONFIG_BAR == 0 %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( CONFIG_BAR < 1 %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( CONFIG_BAR != 0 %? a %: b %)"), "b");
	assert_int_equal(th_errors(&t), 0);
	th_free(&t);
	th_remove_kernel_dir(dir);
}

static void test_missing_config_warns_once(void **state)
{
	(void)state;
	struct th t;
	char *dir = kernel_session(&t, "0.0.1-no-such-kernel", NULL);
	assert_null(t.s.kernel.config_path);
	assert_string_equal(pp(&t, "%( CONFIG_FOO == \"y\" %? a %: b %)"), "b");
	assert_string_equal(pp(&t, "%( CONFIG_FOO == \"\" %? a %: b %)"), "a");
	const char *d = th_diag(&t);
	const char *w = strstr(d, "no .config found");
	assert_non_null(w);
	assert_null(strstr(w + 1, "no .config found"));
	assert_int_equal(th_errors(&t), 0);
	th_free(&t);
	th_remove_kernel_dir(dir);
}

static void test_systemtap_v(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(pp(&t, "%( systemtap_v >= \"4.0\" %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( systemtap_v < \"4.10\" %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( systemtap_v == \"4.8\" %? a %: b %)"), "a");
	t.s.compat = "3.0";
	assert_string_equal(pp(&t, "%( systemtap_v >= \"4.0\" %? a %: b %)"), "b");
	assert_string_equal(pp(&t, "%( systemtap_v == \"3.*\" %? a %: b %)"), "a");
	th_free(&t);
}

static void test_privilege_runtime_guru(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(pp(&t, "%( systemtap_privilege == \"stapdev\" %? a %: b %)"), "a");
	t.s.privilege = "stapusr";
	assert_string_equal(pp(&t, "%( systemtap_privilege == \"stapdev\" %? a %: b %)"), "b");
	assert_string_equal(pp(&t, "%( systemtap_privilege != \"stapd*\" %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( runtime == \"kernel\" %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( runtime == \"dyn*\" %? a %: b %)"), "b");
	assert_string_equal(pp(&t, "%( guru_mode == 0 %? a %: b %)"), "a");
	t.s.guru = true;
	assert_string_equal(pp(&t, "%( guru_mode == 1 %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( guru_mode != 1 %? a %: b %)"), "b");
	assert_int_equal(th_errors(&t), 0);
	pp(&t, "%( guru_mode == \"1\" %? a %)");
	assert_diag(&t, "expected '== NUMBER' or '!= NUMBER' after guru_mode");
	th_free(&t);
}

static void test_literal_comparisons(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(pp(&t, "%( \"a\" < \"b\" %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( \"abc\" == \"abc\" %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( 2 > 10 %? a %: b %)"), "b");
	assert_string_equal(pp(&t, "%( 0x10 == 16 %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( 1 <= 1 %? a %: b %)"), "a");
	assert_string_equal(pp(&t, "%( 1 != 1 %? a %: b %)"), "b");
	assert_int_equal(th_errors(&t), 0);
	th_free(&t);
}

static void test_and_binds_tighter(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	/* T || (F && F) = T, while (T || F) && F would be F */
	assert_string_equal(pp(&t, "%( 1 == 1 || 1 == 0 && 1 == 0 %? a %: b %)"), "a");
	/* (F && T) || T = T */
	assert_string_equal(pp(&t, "%( 1 == 0 && 1 == 1 || 1 == 1 %? a %: b %)"), "a");
	/* (T && F) || (F && T) = F */
	assert_string_equal(pp(&t, "%( 1 == 1 && 1 == 0 || 1 == 0 && 1 == 1 %? a %: b %)"), "b");
	assert_string_equal(pp(&t, "%( 1 == 1 && 2 == 2 && 3 == 3 %? a %: b %)"), "a");
	th_free(&t);
}

static void test_nesting_and_else(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(pp(&t, "x %( 1 == 1 %? %( 2 == 3 %? a %: b %) %: c %) y"), "x b y");
	assert_string_equal(pp(&t, "%( 1 == 0 %? a %: %( 1 == 1 %? d %: e %) f %)"), "d f");
	assert_string_equal(pp(&t, "%( 1 == 0 %? a b %)"), "");
	assert_string_equal(pp(&t, "%( 1 == 1 %? a b %)"), "a b");
	assert_string_equal(pp(&t, "%( 1 == 0 %? a %: b c %)"), "b c");
	assert_int_equal(th_errors(&t), 0);
	th_free(&t);
}

static void test_untaken_branch_not_parsed(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	const char *p = th_print(&t, "%( 1 == 0 %? probe ))) ( %: probe begin { x = 1 } %)");
	assert_non_null(p);
	assert_contains(p, "probe begin");
	th_free(&t);
}

static void test_condition_errors(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	pp(&t, "%( foo == 1 %? a %)");
	assert_diag(&t, "expected 'arch', 'kernel_v'");
	th_free(&t);

	th_init(&t);
	pp(&t, "%( 1 == 1 a %)");
	assert_diag(&t, "expected '%?' marker");
	th_free(&t);

	th_init(&t);
	pp(&t, "%( 1 + 1 %? a %)");
	assert_diag(&t, "expected comparison operator in preprocessor condition");
	th_free(&t);

	th_init(&t);
	pp(&t, "x\n%( 1 == 1 %? a");
	assert_diag(&t, "incomplete conditional");
	assert_diag(&t, "to close '%(' at line 2)");
	th_free(&t);

	th_init(&t);
	pp(&t, "%( 1 == 1 %? a %: b %: c %)");
	assert_diag(&t, "incomplete conditional - missing '%(' before this '%:'");
	th_free(&t);

	th_init(&t);
	pp(&t, "%( 1 == 1 %? a %? b %)");
	assert_diag(&t, "incomplete conditional - missing '%(' before this '%?'");
	th_free(&t);

	th_init(&t);
	pp(&t, "%( kernel_v == 5 %? a %)");
	assert_diag(&t, "expected string literal after 'kernel_v' comparison");
	th_free(&t);

	th_init(&t);
	pp(&t, "x %(");
	assert_diag(&t, "incomplete preprocessor condition");
	th_free(&t);

	th_init(&t);
	pp(&t, "%( 1 ==");   /* end of input where the right-hand side should be */
	assert_int_equal(th_errors(&t), 1);
	th_free(&t);
}

static void test_error_recovery_continues(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	/* the bad conditional is skipped; what follows is still there */
	assert_string_equal(pp(&t, "%( bogus == 1 %? a %) z"), "z");
	assert_int_equal(th_errors(&t), 1);
	th_free(&t);
}

/* ---- macros ---- */

static void test_macro_without_params(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(pp(&t, "@define foo %( 1 + 2 %) x = @foo * @foo"),
			    "x = 1 + 2 * 1 + 2");
	assert_string_equal(pp(&t, "@define z() %( 9 %) y = @z()"), "y = 9");
	assert_int_equal(th_errors(&t), 0);
	th_free(&t);
}

static void test_macro_with_params(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(pp(&t, "@define add(a, b) %( (@a + @b) %) @add(1, f(2, 3))"),
			    "( 1 + f ( 2 , 3 ) )");
	assert_string_equal(pp(&t, "@define first(a, b) %( @a %) @first(x[1, 2], 3)"),
			    "x [ 1 , 2 ]");
	assert_string_equal(pp(&t, "@define twice(a) %( @a @a %) @twice(\"s\")"), "\"s\" \"s\"");
	assert_int_equal(th_errors(&t), 0);
	th_free(&t);
}

static void test_macro_nested_outer_param(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(pp(&t, "@define inner(x) %( [@x] %) "
				   "@define outer(y) %( @inner(@y + 1) %) @outer(5)"),
			    "[ 5 + 1 ]");
	/* same parameter name at both levels */
	assert_string_equal(pp(&t, "@define i(a) %( < @a > %) @define o(a) %( @i(@a) %) @o(7)"),
			    "< 7 >");
	/* a macro used inside another macro's argument */
	assert_string_equal(pp(&t, "@define one %( 1 %) @define neg(v) %( - @v %) @neg(@one)"),
			    "- 1");
	assert_int_equal(th_errors(&t), 0);
	th_free(&t);
}

static void test_macro_recursion_limit(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	pp(&t, "@define r %( x @r %) @r");
	assert_diag(&t, "macro expansion too deep (limit 64)");
	th_free(&t);

	th_init(&t);
	pp(&t, "@define a %( @b %) @define b %( @a %) @a");
	assert_diag(&t, "macro expansion too deep");
	th_free(&t);
}

static void test_macro_exponential_bounded(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	/* each level doubles: 2^40 tokens must hit the expansion bound */
	struct strbuf sb;
	sb_init(&sb);
	sb_puts(&sb, "@define m0 %( x %)\n");
	for (int k = 1; k <= 40; k++)
		sb_printf(&sb, "@define m%d %%( @m%d @m%d %%)\n", k, k - 1, k - 1);
	sb_puts(&sb, "@m40\n");
	struct tokvec v = {0};
	th_preprocess(&t, sb.s, &v);
	assert_true(th_errors(&t) > 0);
	assert_diag(&t, "too many macro expansions");
	tv_free(&v);
	sb_free(&sb);
	th_free(&t);
}

static void test_macro_redefinition(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	pp(&t, "@define m %( 1 %)\n@define m %( 2 %)");
	assert_diag(&t, "attempt to redefine macro '@m' in the same file");
	assert_diag(&t, "<test>:2:9");
	th_free(&t);
}

static void test_macro_arg_count(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	pp(&t, "@define m(a, b) %( @a %) @m(1)");
	assert_diag(&t, "too few parameters for macro '@m' (expected 2)");
	th_free(&t);

	th_init(&t);
	pp(&t, "@define m(a) %( @a %) @m(1, 2)");
	assert_diag(&t, "too many parameters for macro '@m' (expected 1)");
	th_free(&t);

	th_init(&t);
	pp(&t, "@define m(a) %( @a %) @m");
	assert_diag(&t, "expected '(' after macro '@m'");
	th_free(&t);

	th_init(&t);
	pp(&t, "@define m(a) %( @a %) @m(1");
	assert_diag(&t, "unterminated argument list of macro '@m'");
	th_free(&t);
}

static void test_macro_definition_errors(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	pp(&t, "@define m %( @define n %( 1 %) %)");
	assert_diag(&t, "'@define' forbidden inside macro body");
	th_free(&t);

	th_init(&t);
	pp(&t, "@define m(a, a) %( 1 %)");
	assert_diag(&t, "duplicate macro parameter 'a'");
	th_free(&t);

	th_init(&t);
	pp(&t, "@define m %( 1 2 3");
	assert_diag(&t, "incomplete macro definition");
	th_free(&t);

	th_init(&t);
	pp(&t, "@define m 1 2");
	assert_diag(&t, "expected '%(' to start the body of macro '@m'");
	th_free(&t);

	th_init(&t);
	pp(&t, "@define count %( 1 %)");
	assert_int_equal(th_errors(&t), 0);
	assert_int_equal(t.s.diag.warnings, 1);
	assert_diag(&t, "shadows a built-in operator");
	th_free(&t);
}

static void test_macro_defined_in_false_branch(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	/* macros expand before conditionals choose */
	assert_string_equal(pp(&t, "%( 1 == 0 %? @define m %( 5 %) %) @m"), "5");
	th_free(&t);
}

static void test_macro_with_conditional_body(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_string_equal(pp(&t, "@define pick(a, b) %( %( 1 == 1 %? @a %: @b %) %) @pick(x, y)"),
			    "x");
	th_free(&t);
}

static void test_unknown_atword_is_parse_error(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	assert_null(th_print(&t, "probe begin { x = @nosuch(1) }"));
	assert_diag(&t, "unknown operator @nosuch");
	th_free(&t);
}

static void test_library_macro(void **state)
{
	(void)state;
	struct th t;
	th_init_tapsets(&t);
	assert_int_equal(th_errors(&t), 0);
	const char *p = th_print(&t, "probe begin { x = @choose_defined($nosuch, 3) }");
	assert_non_null(p);
	assert_contains(p, "@defined($nosuch)");
	th_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_v_ordering),
		cmocka_unit_test(test_kernel_vr_and_glob),
		cmocka_unit_test(test_kernel_release_without_tree),
		cmocka_unit_test(test_arch_glob),
		cmocka_unit_test(test_kconfig_lookup),
		cmocka_unit_test(test_config_conditions),
		cmocka_unit_test(test_missing_config_warns_once),
		cmocka_unit_test(test_systemtap_v),
		cmocka_unit_test(test_privilege_runtime_guru),
		cmocka_unit_test(test_literal_comparisons),
		cmocka_unit_test(test_and_binds_tighter),
		cmocka_unit_test(test_nesting_and_else),
		cmocka_unit_test(test_untaken_branch_not_parsed),
		cmocka_unit_test(test_condition_errors),
		cmocka_unit_test(test_error_recovery_continues),
		cmocka_unit_test(test_macro_without_params),
		cmocka_unit_test(test_macro_with_params),
		cmocka_unit_test(test_macro_nested_outer_param),
		cmocka_unit_test(test_macro_recursion_limit),
		cmocka_unit_test(test_macro_exponential_bounded),
		cmocka_unit_test(test_macro_redefinition),
		cmocka_unit_test(test_macro_arg_count),
		cmocka_unit_test(test_macro_definition_errors),
		cmocka_unit_test(test_macro_defined_in_false_branch),
		cmocka_unit_test(test_macro_with_conditional_body),
		cmocka_unit_test(test_unknown_atword_is_parse_error),
		cmocka_unit_test(test_library_macro),
	};
	return cmocka_run_group_tests_name("preproc", tests, NULL, NULL);
}
