/* Privilege levels in the translator: level names and bits, the rule for
 * calls of embedded-C functions, the probe points and tapset functions
 * stapusr may use (pass 2), the run-time checks put into a stapusr module
 * (pass 3), and the options that need -g. */
#include "helpers.h"

#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "privilege.h"

/* ---- names and bits ---- */

static void test_level_names(void **state)
{
	(void)state;
	assert_int_equal(privilege_from_name("stapusr"), PR_STAPUSR);
	assert_int_equal(privilege_from_name("stapsys"), PR_STAPSYS);
	assert_int_equal(privilege_from_name("stapdev"), PR_STAPDEV);
	assert_int_equal(privilege_from_name("root"), PR_NONE);
	assert_int_equal(privilege_from_name(""), PR_NONE);
	assert_int_equal(privilege_from_name(NULL), PR_NONE);
	/* SystemTap's bits: modules carry them, staprun sends them back */
	assert_int_equal(PR_STAPUSR, 2);
	assert_int_equal(PR_STAPSYS, 4);
	assert_int_equal(PR_STAPDEV, 8);
}

static void test_mask_names(void **state)
{
	(void)state;
	/* the highest level a mask holds */
	assert_string_equal(privilege_name(0x2), "stapusr");
	assert_string_equal(privilege_name(0x6), "stapsys");
	assert_string_equal(privilege_name(0xE), "stapdev");
	assert_string_equal(privilege_name(0x8), "stapdev");
	assert_string_equal(privilege_name(0x0), "none");
	assert_string_equal(privilege_name(0x1), "unknown");
	assert_string_equal(privilege_name(0x10), "unknown");
}

static void test_contains(void **state)
{
	(void)state;
	assert_true(privilege_contains(0xE, PR_STAPUSR));
	assert_true(privilege_contains(0x6, PR_STAPSYS));
	assert_false(privilege_contains(0x6, PR_STAPDEV));
	assert_false(privilege_contains(0x0, PR_STAPUSR));
	assert_true(privilege_is_unprivileged(PR_STAPUSR));
	assert_false(privilege_is_unprivileged(PR_STAPSYS));
	assert_false(privilege_is_unprivileged(PR_STAPDEV));
}

/* ---- the rule for embedded C ---- */

static void test_code_refusal(void **state)
{
	(void)state;
	const char *plain = "/* pure */ STAP_RETVALUE = 1;";
	const char *unpriv = "/* pure */ /* unprivileged */ STAP_RETVALUE = 1;";
	const char *myproc = "/* myproc-unprivileged */ STAP_RETVALUE = 1;";
	const char *guru = "/* guru */ panic(\"x\");";
	const char *guru_unpriv = "/* guru */ /* unprivileged */ x();";

	assert_int_equal(privilege_code_refusal(PR_STAPUSR, plain, false), CALL_NEEDS_PRIVILEGE);
	/* a tapset caller does not lift the level rule */
	assert_int_equal(privilege_code_refusal(PR_STAPUSR, plain, true), CALL_NEEDS_PRIVILEGE);
	assert_int_equal(privilege_code_refusal(PR_STAPUSR, unpriv, false), CALL_ALLOWED);
	assert_int_equal(privilege_code_refusal(PR_STAPUSR, myproc, false), CALL_ALLOWED);
	assert_int_equal(privilege_code_refusal(PR_STAPSYS, plain, false), CALL_ALLOWED);
	assert_int_equal(privilege_code_refusal(PR_STAPDEV, plain, false), CALL_ALLOWED);
	/* guru needs a privileged caller at every level, stapdev included */
	assert_int_equal(privilege_code_refusal(PR_STAPDEV, guru, false), CALL_NEEDS_GURU);
	assert_int_equal(privilege_code_refusal(PR_STAPSYS, guru, false), CALL_NEEDS_GURU);
	assert_int_equal(privilege_code_refusal(PR_STAPDEV, guru, true), CALL_ALLOWED);
	/* the level comes first, as in SystemTap */
	assert_int_equal(privilege_code_refusal(PR_STAPUSR, guru, false), CALL_NEEDS_PRIVILEGE);
	assert_int_equal(privilege_code_refusal(PR_STAPUSR, guru_unpriv, false), CALL_NEEDS_GURU);
	assert_int_equal(privilege_code_refusal(PR_STAPUSR, guru_unpriv, true), CALL_ALLOWED);
}

/* ---- pass 2 with the real tapset library ---- */

/* Pass 2 of src at `level` (a name), with the tapsets and maybe -g. */
static bool elab_at(struct th *t, const char *level, bool guru, const char *src)
{
	th_init_tapsets(t);
	t->s.privilege = level;
	t->s.guru = guru;
	return th_elab(t, src, NULL);
}

static void expect_refused(const char *level, const char *src, const char *msg)
{
	struct th t;
	bool ok = elab_at(&t, level, false, src);
	if (ok)
		print_error("--privilege=%s: pass 2 of:\n%s\nunexpectedly succeeded\n", level, src);
	assert_false(ok);
	assert_diag(&t, msg);
	th_free(&t);
}

static void expect_allowed(const char *level, const char *src)
{
	struct th t;
	bool ok = elab_at(&t, level, false, src);
	if (!ok)
		print_error("--privilege=%s: pass 2 of:\n%s\nfailed:\n%s\n", level, src, th_diag(&t));
	assert_true(ok);
	th_free(&t);
}

static void test_stapusr_probe_points(void **state)
{
	(void)state;
	expect_allowed("stapusr", "probe begin, begin(-5), end, end(3), error, error(1), never { }");
	expect_allowed("stapusr", "probe timer.s(1), timer.sec(1), timer.ms(10), timer.msec(10), "
		       "timer.us(200), timer.usec(200), timer.ns(200000), timer.nsec(200000), "
		       "timer.jiffies(5), timer.hz(100), timer.ms(100).randomize(5) { }");
	static const char *const refused[] = {
		"probe kprobe.function(\"vfs_read\") { }",
		"probe kprobe.function(\"vfs_read\").return { }",
		"probe kprobe.module(\"ext4\").function(\"ext4_sync_fs\") { }",
		"probe kernel.function(\"vfs_read\") { }",
		"probe module(\"ext4\").function(\"ext4_sync_fs\") { }",
		"probe kernel.trace(\"sched_switch\") { }",
		"probe timer.profile.tick { }",
		"probe procfs(\"x\").read { }",
		"probe process(\"/bin/true\").begin { }",
		"probe perf.type(0).config(0) { }",
		"probe input.char { }",
	};
	for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++)
		expect_refused("stapusr", refused[k],
			       "probe point is not allowed for --privilege=stapusr");
	/* stapsys may use every probe point */
	expect_allowed("stapsys", "probe kprobe.function(\"vfs_read\"), timer.profile.tick, "
		       "procfs(\"x\").read { }");
}

/* The position is the last component of the point, as SystemTap's. */
static void test_probe_point_position(void **state)
{
	(void)state;
	struct th t;
	assert_false(elab_at(&t, "stapusr", false, "probe begin { }\n"
			     "probe kernel.trace(\"sched_switch\") { }"));
	assert_diag(&t, "while resolving probe point 'kernel.trace(\"sched_switch\")' at <test>:2:7");
	assert_diag(&t, "probe point is not allowed for --privilege=stapusr at <test>:2:14");
	assert_int_equal(th_errors(&t), 2);
	th_free(&t);
}

/* Aliases are checked on the points they resolve to. */
static void test_alias_resolves_to_refused_point(void **state)
{
	(void)state;
	expect_refused("stapusr", "probe mine = kprobe.function(\"vfs_read\") { }\nprobe mine { }",
		       "probe point is not allowed for --privilege=stapusr");
	expect_allowed("stapusr", "probe tick = timer.s(1) { }\nprobe tick { }");
	/* the library's timer.profile: its perf alternative is refused */
	expect_refused("stapusr", "probe timer.profile { }",
		       "probe point is not allowed for --privilege=stapusr");
}

/* An optional point that is not allowed yields nothing, quietly. */
static void test_optional_point_refused_quietly(void **state)
{
	(void)state;
	struct th t;
	const char *listing;
	th_init_tapsets(&t);
	t.s.privilege = "stapusr";
	assert_true(th_elab(&t, "probe kprobe.function(\"vfs_read\")?, begin { }", &listing));
	assert_false(th_diag_has(&t, "not allowed"));
	/* one derived probe (the origin comment still names both points) */
	assert_contains(listing, "# probes\nbegin /* <- ");
	assert_null(strstr(listing, "\nkprobe"));
	th_free(&t);
}

static void test_stapusr_functions(void **state)
{
	(void)state;
	/* context, time, string and print functions are unprivileged */
	expect_allowed("stapusr", "probe begin { printf(\"%d %d %d %s %s %d %d\\n\", pid(), tid(), "
		       "cpu(), execname(), pp(), gettimeofday_ns(), strlen(substr(\"abc\", 1, 1))) }");
	/* user memory: myproc-unprivileged */
	expect_allowed("stapusr", "probe begin { println(user_string(0), user_long(0), "
		       "user_int_error(0), is_myproc()) }");
	/* kernel memory is not */
	expect_refused("stapusr", "probe begin { println(kernel_long(0)) }",
		       "function may not be used when --privilege=stapusr is specified");
	expect_refused("stapusr", "probe begin { println(kernel_string(0)) }",
		       "function may not be used when --privilege=stapusr is specified");
	/* tags as SystemTap's: user_buffer_quoted and syscall_name are untagged */
	expect_refused("stapusr", "probe begin { println(user_buffer_quoted(0, 1, 2)) }",
		       "function may not be used when --privilege=stapusr is specified");
	expect_refused("stapusr", "probe begin { println(syscall_name(0)) }",
		       "function may not be used when --privilege=stapusr is specified");
	/* stapsys may call untagged embedded C */
	expect_allowed("stapsys", "probe begin { println(kernel_long(0)) }");
}

/* The level error points at the function, the guru error at the call. */
static void test_function_error_positions(void **state)
{
	(void)state;
	struct th t;
	assert_false(elab_at(&t, "stapusr", false, "probe begin { println(kernel_string(0)) }"));
	assert_diag(&t, "function may not be used when --privilege=stapusr is specified: "
		    "identifier 'kernel_string' at ");
	assert_diag(&t, "memory.stp:");
	th_free(&t);

	assert_false(elab_at(&t, "stapdev", false, "probe begin {\n  printk(1, \"x\")\n}"));
	assert_diag(&t, "function may not be used unless -g is specified: identifier 'printk' "
		    "at <test>:2:3");
	th_free(&t);
}

static void test_guru_functions(void **state)
{
	(void)state;
	struct th t;
	/* -g lifts it (only stapdev may have -g) */
	assert_true(elab_at(&t, "stapdev", true, "probe begin { printk(1, \"x\") }"));
	th_free(&t);
	expect_refused("stapsys", "probe begin { printk(1, \"x\") }",
		       "function may not be used unless -g is specified");
	/* at stapusr the level is reported first, once */
	assert_false(elab_at(&t, "stapusr", false, "probe begin { printk(1, \"x\") }"));
	assert_diag(&t, "function may not be used when --privilege=stapusr is specified");
	assert_false(th_diag_has(&t, "unless -g"));
	th_free(&t);
}

/* The check follows calls inside the library: a script-level function
 * that reaches untagged C is refused too. */
static void test_refusal_through_script_function(void **state)
{
	(void)state;
	struct th t;
	assert_false(elab_at(&t, "stapusr", false, "probe begin { println(kernel_int(0)) }"));
	assert_diag(&t, "function may not be used when --privilege=stapusr is specified");
	th_free(&t);
}

static void test_preprocessor_sees_level(void **state)
{
	(void)state;
	struct th t;
	th_init(&t);
	t.s.privilege = "stapusr";
	assert_string_equal(th_pp_text(&t, "%( systemtap_privilege == \"stapusr\" %? a %: b %)"), "a");
	th_free(&t);
	th_init(&t);
	assert_string_equal(th_pp_text(&t, "%( systemtap_privilege == \"stapusr\" %? a %: b %)"), "b");
	assert_string_equal(th_pp_text(&t, "%( systemtap_privilege == \"stapdev\" %? a %: b %)"), "a");
	th_free(&t);
}

/* ---- pass 3: what a stapusr module checks at run time ---- */

static const char *pass3(struct th *t, const char *level, const char *src)
{
	const char *c_source;
	th_init_tapsets(t);
	t->s.privilege = level;
	bool ok = th_elab_pass(t, src, 3, &c_source);
	if (!ok)
		print_error("pass 3 failed:\n%s\n", th_diag(t));
	assert_true(ok);
	return c_source;
}

static void test_module_records_level(void **state)
{
	(void)state;
	struct th t;
	const char *c = pass3(&t, "stapusr", "probe begin { exit() }");
	assert_contains(c, "#define STP_PRIVILEGE 0x2\n");
	assert_contains(c, "stp_required_privilege __attribute__((section(\".stap_privilege\"), used)) = "
			"STP_PRIVILEGE;");
	/* the level is known before the runtime is included */
	assert_true(strstr(c, "#define STP_PRIVILEGE") < strstr(c, "#include \"runtime.h\""));
	th_free(&t);
	c = pass3(&t, "stapsys", "probe begin { exit() }");
	assert_contains(c, "#define STP_PRIVILEGE 0x4\n");
	th_free(&t);
	c = pass3(&t, "stapdev", "probe begin { exit() }");
	assert_contains(c, "#define STP_PRIVILEGE 0x8\n");
	th_free(&t);
}

/* Where the C function whose name starts with `prefix` is defined (not
 * merely declared). */
static const char *definition(const char *c, const char *prefix)
{
	for (const char *at = strstr(c, prefix); at; at = strstr(at + 1, prefix)) {
		const char *paren = strchr(at, '(');
		if (paren && !strncmp(paren, "(struct context *c)\n{", 21))
			return at;
	}
	return NULL;
}

/* A myproc-unprivileged body starts with the ownership check. */
static void test_myproc_check_emitted(void **state)
{
	(void)state;
	struct th t;
	const char *c = pass3(&t, "stapusr", "probe timer.s(1) { println(user_string(0)) }");
	const char *fn = definition(c, "function_user_string_n_");
	assert_non_null(fn);
	const char *check = strstr(fn, "if (unlikely(!stp_myproc_ok(c)))");
	const char *body = strstr(fn, "/* myproc-unprivileged */");
	assert_non_null(check);
	assert_non_null(body);
	assert_true(check < body);
	/* an unprivileged function gets none */
	th_free(&t);
	c = pass3(&t, "stapusr", "probe timer.s(1) { println(pid()) }");
	assert_null(strstr(c, "stp_myproc_ok"));
	th_free(&t);
}

/* ---- options ---- */

static int parse_words(const char *const *words, int n)
{
	char *argv[16];
	struct stap_options o;
	assert_true(n < 16);
	for (int k = 0; k < n; k++)
		argv[k] = (char *)words[k];
	argv[n] = NULL;
	int rc = stap_parse_options(n, argv, &o, NULL);
	stap_options_free(&o);
	return rc;
}

static void test_suppress_time_limits_needs_guru(void **state)
{
	(void)state;
	static const char *const no_g[] = { "stap", "--suppress-time-limits", "-e", "probe begin {}" };
	static const char *const g_after[] = { "stap", "--suppress-time-limits", "-g", "-e",
					       "probe begin {}" };
	static const char *const usr[] = { "stap", "--privilege=stapusr", "--suppress-time-limits",
					   "-e", "probe begin {}" };
	assert_int_equal(parse_words(no_g, 4), STAP_OPTS_EXIT_ERROR);
	/* SystemTap wants -g first; either order works here */
	assert_int_equal(parse_words(g_after, 5), STAP_OPTS_RUN);
	assert_int_equal(parse_words(usr, 5), STAP_OPTS_EXIT_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_names),
		cmocka_unit_test(test_mask_names),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_code_refusal),
		cmocka_unit_test(test_stapusr_probe_points),
		cmocka_unit_test(test_probe_point_position),
		cmocka_unit_test(test_alias_resolves_to_refused_point),
		cmocka_unit_test(test_optional_point_refused_quietly),
		cmocka_unit_test(test_stapusr_functions),
		cmocka_unit_test(test_function_error_positions),
		cmocka_unit_test(test_guru_functions),
		cmocka_unit_test(test_refusal_through_script_function),
		cmocka_unit_test(test_preprocessor_sees_level),
		cmocka_unit_test(test_module_records_level),
		cmocka_unit_test(test_myproc_check_emitted),
		cmocka_unit_test(test_suppress_time_limits_needs_guru),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
