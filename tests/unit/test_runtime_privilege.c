/* The pure parts of runtime/kernel/privilege.h, compiled in user space:
 * mask names for the STP_START message, ptrace's ownership rule (F14:
 * not euid alone), and the user-address range test of stapusr readers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "privilege.h"

static void test_mask_names(void **state)
{
	(void)state;
	assert_string_equal(stp_pr_name(STP_PR_STAPUSR), "stapusr");
	assert_string_equal(stp_pr_name(STP_PR_STAPUSR | STP_PR_STAPSYS), "stapsys");
	assert_string_equal(stp_pr_name(0xE), "stapdev");
	assert_string_equal(stp_pr_name(0), "none");
	assert_string_equal(stp_pr_name(0x1), "unknown");
}

/* What STP_START compares: the loader's mask must hold the module's level. */
static void test_credentials_against_level(void **state)
{
	(void)state;
	assert_true(stp_pr_contains(0xE, STP_PR_STAPDEV));
	assert_true(stp_pr_contains(0x2, STP_PR_STAPUSR));
	assert_false(stp_pr_contains(0x6, STP_PR_STAPDEV));
	assert_false(stp_pr_contains(0x2, STP_PR_STAPSYS));
	assert_false(stp_pr_contains(0x0, STP_PR_STAPUSR));
	/* blessed modules get everything */
	assert_true(stp_pr_contains(0xE, STP_PR_STAPSYS));
}

enum { LOADER = 1000, LOADER_GID = 1000, OTHER = 1001 };

/* A plain process of the loader: every id the loader's, dumpable. */
static struct stp_task_ids own(void)
{
	struct stp_task_ids t = { LOADER, LOADER, LOADER, LOADER_GID, LOADER_GID, LOADER_GID,
				  true, true };
	return t;
}

static void test_own_process_is_mine(void **state)
{
	(void)state;
	struct stp_task_ids t = own();
	assert_true(stp_ids_are_loaders(&t, LOADER, LOADER_GID));
	assert_false(stp_ids_are_loaders(&t, OTHER, LOADER_GID));
}

/* F14: a set-uid-to-the-loader program someone else started has the
 * loader's euid; SystemTap calls it mine, ptrace would not. */
static void test_euid_alone_is_not_enough(void **state)
{
	(void)state;
	struct stp_task_ids t = own();
	t.uid = OTHER;
	assert_false(stp_ids_are_loaders(&t, LOADER, LOADER_GID));
	t = own();
	t.suid = OTHER;
	assert_false(stp_ids_are_loaders(&t, LOADER, LOADER_GID));
	/* and the loader's set-uid-root program is root's */
	t = own();
	t.euid = 0;
	t.suid = 0;
	assert_false(stp_ids_are_loaders(&t, LOADER, LOADER_GID));
}

static void test_gids_count(void **state)
{
	(void)state;
	struct stp_task_ids t = own();
	t.egid = 5;   /* a set-gid program (tty, mail, ...) */
	assert_false(stp_ids_are_loaders(&t, LOADER, LOADER_GID));
	t = own();
	t.sgid = 5;
	assert_false(stp_ids_are_loaders(&t, LOADER, LOADER_GID));
	t = own();
	t.gid = 5;
	assert_false(stp_ids_are_loaders(&t, LOADER, LOADER_GID));
}

static void test_not_dumpable_is_not_mine(void **state)
{
	(void)state;
	struct stp_task_ids t = own();
	t.dumpable = false;   /* changed ids, or prctl(PR_SET_DUMPABLE, 0) */
	assert_false(stp_ids_are_loaders(&t, LOADER, LOADER_GID));
}

/* Kernel threads run with root's ids and no mm: nobody's, not even a
 * root loader's. */
static void test_kernel_thread_is_nobodys(void **state)
{
	(void)state;
	struct stp_task_ids t = { 0, 0, 0, 0, 0, 0, false, false };
	assert_false(stp_ids_are_loaders(&t, 0, 0));
	t.dumpable = true;
	assert_false(stp_ids_are_loaders(&t, 0, 0));
}

static void test_range_below(void **state)
{
	(void)state;
	const uint64_t top = 0x00007ffffffff000ULL;   /* x86_64 TASK_SIZE */
	assert_true(stp_range_below(0x1000, 8, top));
	assert_true(stp_range_below(top - 8, 8, top));
	assert_false(stp_range_below(top - 7, 8, top));
	assert_false(stp_range_below(top, 1, top));
	assert_false(stp_range_below(0xffffffff81000000ULL, 8, top));
	/* no wrap-around past the top of the address space */
	assert_false(stp_range_below(UINT64_MAX - 3, 8, top));
	assert_false(stp_range_below(0, UINT64_MAX, top));
	assert_true(stp_range_below(0, 0, top));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask_names),
		cmocka_unit_test(test_credentials_against_level),
		cmocka_unit_test(test_own_process_is_mine),
		cmocka_unit_test(test_euid_alone_is_not_enough),
		cmocka_unit_test(test_gids_count),
		cmocka_unit_test(test_not_dumpable_is_not_mine),
		cmocka_unit_test(test_kernel_thread_is_nobodys),
		cmocka_unit_test(test_range_below),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
