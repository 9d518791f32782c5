/* client/discover.c: what a resolution's TXT records become, and version
 * order.  SystemTap 4.8 took every record after the first mok_info as a
 * MOK fingerprint (ref protocol §8.2, §13); ours takes mok_info only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <avahi-common/strlst.h>
#include <string.h>

#include "remote_internal.h"

/* A list as the client gets it from the wire: the stock server's order
 * sysinfo, optinfo, version, certinfo, mok_info..., reversed by Avahi. */
static AvahiStringList *stock_records(void)
{
	return avahi_string_list_new("sysinfo=6.1.0-56-amd64 x86_64", "optinfo=-DX=1",
				     "version=4.8", "certinfo=00:cc:26:2e:ed",
				     "mok_info=5d:5e:aa", "mok_info=11:22:33", NULL);
}

static void txt_fields(void **state)
{
	AvahiStringList *l = stock_records();
	struct online_server s = { 0 };
	online_server_read_txt(&s, l);
	assert_string_equal(s.sysinfo, "6.1.0-56-amd64 x86_64");
	assert_string_equal(s.certinfo, "00:cc:26:2e:ed");
	assert_string_equal(s.version, "4.8");
	/* only the two mok_info values, whatever follows them in the list */
	assert_int_equal(s.nmoks, 2);
	for (size_t i = 0; i < s.nmoks; i++)
		assert_true(strcmp(s.moks[i], "5d:5e:aa") == 0 || strcmp(s.moks[i], "11:22:33") == 0);
	online_server_clear(&s);
	avahi_string_list_free(l);
}

static void txt_hostile(void **state)
{
	/* no version: 1.0; a key without '=', empty values, repeated keys:
	 * the first value wins, nothing crashes */
	AvahiStringList *l = avahi_string_list_new("sysinfo", "certinfo=", "mok_info=",
						   "sysinfo=a b", "sysinfo=c d", NULL);
	struct online_server s = { 0 };
	online_server_read_txt(&s, l);
	assert_string_equal(s.version, "1.0");
	assert_int_equal(s.nmoks, 0);
	assert_non_null(s.sysinfo);
	online_server_clear(&s);
	avahi_string_list_free(l);
}

static void versions(void **state)
{
	assert_true(version_compare("5.2", "4.9") > 0);
	assert_true(version_compare("4.10", "4.9") > 0);
	assert_true(version_compare("4.8", "4.8") == 0);
	assert_true(version_compare("4.8", "4.8.0") == 0);
	assert_true(version_compare("1.0", "4.8") < 0);
	/* unknown forms count as 1.0 */
	assert_true(version_compare("garbage", "1.0") == 0);
	assert_true(version_compare("", "1.0") == 0);
	assert_true(version_compare(NULL, "1.1") < 0);
}

static void compatible(void **state)
{
	struct online_server s = { .sysinfo = (char *)"6.1.0-56-amd64 x86_64" };
	char *moks[] = { (char *)"11:22:33" };
	char *missing[] = { (char *)"missing" };
	char *server_moks[] = { (char *)"11:22:33" };
	assert_true(online_server_compatible(&s, "6.1.0-56-amd64", "x86_64", NULL, 0));
	assert_false(online_server_compatible(&s, "6.1.0-55-amd64", "x86_64", NULL, 0));
	assert_false(online_server_compatible(&s, "6.1.0-56-amd64", "aarch64", NULL, 0));
	/* signing needed: a MOK in common, or "missing" */
	assert_false(online_server_compatible(&s, "6.1.0-56-amd64", "x86_64", moks, 1));
	assert_true(online_server_compatible(&s, "6.1.0-56-amd64", "x86_64", missing, 1));
	s.moks = server_moks;
	s.nmoks = 1;
	assert_true(online_server_compatible(&s, "6.1.0-56-amd64", "x86_64", moks, 1));
	struct online_server archonly = { .sysinfo = (char *)"x86_64" };
	assert_true(online_server_compatible(&archonly, "6.9.9", "x86_64", NULL, 0));
	struct online_server none = { 0 };
	assert_false(online_server_compatible(&none, "6.1.0-56-amd64", "x86_64", NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(txt_fields),
		cmocka_unit_test(txt_hostile),
		cmocka_unit_test(versions),
		cmocka_unit_test(compatible),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
