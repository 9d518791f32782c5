/* Associative arrays, compiled in user space: SystemTap's semantics and
 * the testsuite's systemtap.maps expectations that C can reproduce. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "map.h"

static const struct stp_hist no_hist = { STP_HIST_NONE, 0, 0, 0, 0, 0 };

struct tmap {
	struct stp_map m;
	void *mem;
};

static struct tmap *new_map(enum stp_map_type type, int nkeys, const bool *str_key,
			    uint32_t max, bool wrap)
{
	struct tmap *t = calloc(1, sizeof(*t));
	const struct stp_hist *h = type == STP_MAP_STAT ? &no_hist : NULL;
	size_t size = stp_map_mem_size(type, nkeys, str_key, h, max);

	assert_true(size > 0);
	t->mem = malloc(size);
	assert_int_equal(stp_map_init(&t->m, type, nkeys, str_key, h, max, wrap, 0x1234, t->mem,
				      size), 0);
	return t;
}

static void free_map(struct tmap *t)
{
	free(t->mem);
	free(t);
}

static union stp_key K(int64_t v)
{
	union stp_key k;

	k.num = v;
	return k;
}

static union stp_key KS(const char *s)
{
	union stp_key k;

	k.str = s;
	return k;
}

/* "k=v " for each entry of a long->long map, in list order */
static const char *dump(struct stp_map *m)
{
	static char buf[4096];
	struct stp_map_node *n;

	buf[0] = '\0';
	for (n = stp_map_first(m); n; n = stp_map_next(m, n))
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%lld=%lld ",
			 (long long)stp_map_key_long(m, n, 0), (long long)*stp_map_node_long(m, n));
	return buf;
}

static void test_shape_checks(void **state)
{
	struct stp_map m;
	char mem[64];
	bool s[10] = { 0 };

	(void)state;
	assert_int_equal(stp_map_mem_size(STP_MAP_LONG, 0, s, NULL, 10), 0);
	assert_int_equal(stp_map_mem_size(STP_MAP_LONG, 10, s, NULL, 10), 0);
	assert_int_equal(stp_map_mem_size(STP_MAP_LONG, 1, s, NULL, 0), 0);
	assert_int_equal(stp_map_mem_size(STP_MAP_STAT, 1, s, NULL, 10), 0);
	assert_int_equal(stp_map_init(&m, STP_MAP_LONG, 1, s, NULL, 10, false, 0, mem, sizeof(mem)),
			 STP_MAP_EINVAL);
	assert_true(stp_map_mem_size(STP_MAP_LONG, 9, s, NULL, MAXMAPENTRIES) > 0);
}

/* systemtap.maps/exists.stp */
static void test_exists_exp(void **state)
{
	bool s1[] = { false }, s2[] = { false, false }, ss[] = { true };
	struct tmap *a = new_map(STP_MAP_LONG, 1, s1, MAXMAPENTRIES, false);
	struct tmap *b = new_map(STP_MAP_LONG, 2, s2, MAXMAPENTRIES, false);
	struct tmap *c = new_map(STP_MAP_STRING, 1, ss, MAXMAPENTRIES, false);
	union stp_key k[2];

	(void)state;
	for (int i = 0; i < 11; i++) {
		k[0] = K(i);
		assert_int_equal(stp_map_set_long(&a->m, k, i * i), 0);
	}
	k[0] = K(0);
	assert_true(stp_map_exists(&a->m, k));
	k[0] = K(50);
	assert_false(stp_map_exists(&a->m, k));
	k[0] = K(0);
	stp_map_set_long(&a->m, k, 0);
	assert_true(stp_map_exists(&a->m, k));           /* storing 0 keeps it */
	stp_map_delete(&a->m, k);
	assert_false(stp_map_exists(&a->m, k));
	for (int i = 0; i < 11; i++) {
		k[0] = K(i);
		k[1] = K(10 * i);
		stp_map_set_long(&b->m, k, i * i);
	}
	for (int i = 0; i < 11; i++) {
		k[0] = K(i);
		k[1] = K(10 * i);
		assert_true(stp_map_exists(&b->m, k));
		k[1] = K(10 * i + 1);
		assert_false(stp_map_exists(&b->m, k));
	}
	k[0] = KS("");
	stp_map_set_str(&c->m, k, "empty string");
	k[0] = KS("hello");
	stp_map_set_str(&c->m, k, "HELLO");
	k[0] = KS("");
	assert_true(stp_map_exists(&c->m, k));
	stp_map_set_str(&c->m, k, "");
	assert_true(stp_map_exists(&c->m, k));           /* storing "" keeps it */
	stp_map_delete(&c->m, k);
	assert_false(stp_map_exists(&c->m, k));
	k[0] = KS(NULL);                                 /* NULL reads as "" */
	assert_false(stp_map_exists(&c->m, k));
	free_map(a);
	free_map(b);
	free_map(c);
}

static void test_reads_do_not_create(void **state)
{
	bool s1[] = { false }, ss[] = { true };
	struct tmap *a = new_map(STP_MAP_LONG, 1, s1, 4, false);
	struct tmap *c = new_map(STP_MAP_STRING, 1, ss, 4, false);
	union stp_key k = K(7), ks = KS("x");

	(void)state;
	assert_int_equal(stp_map_get_long(&a->m, &k), 0);
	assert_string_equal(stp_map_get_str(&c->m, &ks), "");
	assert_null(stp_map_find(&a->m, &k));
	assert_int_equal(stp_map_size(&a->m), 0);
	assert_int_equal(stp_map_size(&c->m), 0);
	assert_null(stp_map_first(&a->m));
	assert_int_equal(stp_map_add_long(&a->m, &k, 0), 0);  /* a[7] += 0 creates */
	assert_int_equal(stp_map_size(&a->m), 1);
	assert_int_equal(stp_map_append_str(&c->m, &ks, ""), 0);
	assert_true(stp_map_exists(&c->m, &ks));
	free_map(a);
	free_map(c);
}

static void test_values(void **state)
{
	bool s1[] = { false };
	struct tmap *a = new_map(STP_MAP_LONG, 1, s1, 8, false);
	struct tmap *c = new_map(STP_MAP_STRING, 1, s1, 8, false);
	union stp_key k = K(1);
	char big[MAXSTRINGLEN + 50];

	(void)state;
	stp_map_add_long(&a->m, &k, 5);
	stp_map_add_long(&a->m, &k, -7);
	assert_int_equal(stp_map_get_long(&a->m, &k), -2);
	stp_map_set_long(&a->m, &k, INT64_MAX);
	stp_map_add_long(&a->m, &k, 1);                   /* wraps */
	assert_int_equal(stp_map_get_long(&a->m, &k), INT64_MIN);
	stp_map_set_str(&c->m, &k, "foo");
	stp_map_append_str(&c->m, &k, "bar");
	assert_string_equal(stp_map_get_str(&c->m, &k), "foobar");
	stp_map_set_str(&c->m, &k, NULL);
	assert_string_equal(stp_map_get_str(&c->m, &k), "");
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	stp_map_set_str(&c->m, &k, big);
	assert_int_equal(strlen(stp_map_get_str(&c->m, &k)), MAXSTRINGLEN - 1);
	stp_map_append_str(&c->m, &k, "more");
	assert_int_equal(strlen(stp_map_get_str(&c->m, &k)), MAXSTRINGLEN - 1);
	stp_map_set_str(&c->m, &k, stp_map_get_str(&c->m, &k));  /* a[1] = a[1] */
	assert_int_equal(strlen(stp_map_get_str(&c->m, &k)), MAXSTRINGLEN - 1);
	free_map(a);
	free_map(c);
}

/* string keys are truncated to MAXSTRINGLEN-1 like every string */
static void test_long_string_keys(void **state)
{
	bool ss[] = { true };
	struct tmap *c = new_map(STP_MAP_LONG, 1, ss, 8, false);
	char k1[MAXSTRINGLEN + 10], k2[MAXSTRINGLEN + 10];
	union stp_key k;

	(void)state;
	memset(k1, 'k', sizeof(k1) - 1);
	k1[sizeof(k1) - 1] = '\0';
	memcpy(k2, k1, sizeof(k2));
	k2[MAXSTRINGLEN + 5] = 'X';                      /* differs after the cut */
	k = KS(k1);
	stp_map_set_long(&c->m, &k, 1);
	k = KS(k2);
	assert_true(stp_map_exists(&c->m, &k));
	stp_map_set_long(&c->m, &k, 2);
	assert_int_equal(stp_map_size(&c->m), 1);
	assert_int_equal(strlen(stp_map_key_str(&c->m, stp_map_first(&c->m), 0)), MAXSTRINGLEN - 1);
	free_map(c);
}

static void test_nine_mixed_keys(void **state)
{
	bool s[9] = { false, true, false, true, false, true, false, true, false };
	struct tmap *t = new_map(STP_MAP_LONG, 9, s, 64, false);
	union stp_key k[9];
	char names[9][8];

	(void)state;
	for (int v = 0; v < 50; v++) {
		for (int i = 0; i < 9; i++) {
			snprintf(names[i], sizeof(names[i]), "s%d", v + i);
			k[i] = s[i] ? KS(names[i]) : K(v * 10 + i);
		}
		assert_int_equal(stp_map_set_long(&t->m, k, v), 0);
	}
	assert_int_equal(stp_map_size(&t->m), 50);
	for (int v = 0; v < 50; v++) {
		for (int i = 0; i < 9; i++) {
			snprintf(names[i], sizeof(names[i]), "s%d", v + i);
			k[i] = s[i] ? KS(names[i]) : K(v * 10 + i);
		}
		assert_int_equal(stp_map_get_long(&t->m, k), v);
		k[8] = K(-1);
		assert_false(stp_map_exists(&t->m, k));
	}
	free_map(t);
}

/* insertion order; overwrite keeps the position; delete + re-add appends;
 * systemtap.maps/foreach_limit.exp's unsorted part */
static void test_list_order(void **state)
{
	bool s1[] = { false };
	struct tmap *a = new_map(STP_MAP_LONG, 1, s1, MAXMAPENTRIES, false);
	static const int keys[] = { 9, 1, 8, 2, 7, 3, 6, 5, 4, 10 };
	static const int vals[] = { 18, 40, 16, 4, 14, 36, 12, 10, 8, 20 };
	union stp_key k;

	(void)state;
	for (int i = 0; i < 10; i++) {
		k = K(keys[i]);
		stp_map_set_long(&a->m, &k, vals[i]);
	}
	assert_string_equal(dump(&a->m), "9=18 1=40 8=16 2=4 7=14 3=36 6=12 5=10 4=8 10=20 ");
	k = K(1);
	stp_map_set_long(&a->m, &k, 41);
	assert_string_equal(dump(&a->m), "9=18 1=41 8=16 2=4 7=14 3=36 6=12 5=10 4=8 10=20 ");
	stp_map_delete(&a->m, &k);
	stp_map_set_long(&a->m, &k, 40);
	assert_string_equal(dump(&a->m), "9=18 8=16 2=4 7=14 3=36 6=12 5=10 4=8 10=20 1=40 ");
	stp_map_clear(&a->m);
	assert_string_equal(dump(&a->m), "");
	assert_int_equal(stp_map_size(&a->m), 0);
	free_map(a);
}

/* systemtap.maps/foreach_limit.exp: sorted parts */
static void test_foreach_limit_exp(void **state)
{
	bool s1[] = { false };
	struct tmap *a = new_map(STP_MAP_LONG, 1, s1, MAXMAPENTRIES, false);
	static const int keys[] = { 9, 1, 8, 2, 7, 3, 6, 5, 4, 10 };
	static const int vals[] = { 18, 40, 16, 4, 14, 36, 12, 10, 8, 20 };
	union stp_key k;

	(void)state;
	for (int i = 0; i < 10; i++) {
		k = K(keys[i]);
		stp_map_set_long(&a->m, &k, vals[i]);
	}
	stp_map_sortn(&a->m, 5, 0, +1);                  /* array+ limit 5 */
	assert_memory_equal(dump(&a->m), "2=4 4=8 5=10 6=12 7=14 ", 23);
	stp_map_sortn(&a->m, 5, 1, +1);                  /* key+ limit 5 */
	assert_memory_equal(dump(&a->m), "1=40 2=4 3=36 4=8 5=10 ", 23);
	stp_map_sortn(&a->m, 3, 0, +1);
	assert_memory_equal(dump(&a->m), "2=4 4=8 5=10 ", 13);
	stp_map_sortn(&a->m, 6, 0, +1);
	assert_memory_equal(dump(&a->m), "2=4 4=8 5=10 6=12 7=14 8=16 ", 28);
	stp_map_sortn(&a->m, 4, 0, +1);
	assert_memory_equal(dump(&a->m), "2=4 4=8 5=10 6=12 ", 18);
	free_map(a);
}

/* full sorts: every key still there, list re-linked, later unsorted
 * iteration sees the sorted order */
static void test_sort_relinks(void **state)
{
	bool s1[] = { false };
	struct tmap *a = new_map(STP_MAP_LONG, 1, s1, 64, false);
	union stp_key k;

	(void)state;
	for (int i = 0; i < 10; i++) {
		k = K(i);
		stp_map_set_long(&a->m, &k, (i * 7) % 10);
	}
	stp_map_sort(&a->m, 0, +1);
	assert_string_equal(dump(&a->m), "0=0 3=1 6=2 9=3 2=4 5=5 8=6 1=7 4=8 7=9 ");
	stp_map_sort(&a->m, 0, -1);
	assert_string_equal(dump(&a->m), "7=9 4=8 1=7 8=6 5=5 2=4 9=3 6=2 3=1 0=0 ");
	stp_map_sort(&a->m, 1, +1);
	assert_string_equal(dump(&a->m), "0=0 1=7 2=4 3=1 4=8 5=5 6=2 7=9 8=6 9=3 ");
	/* still a working hash table and list after sorting */
	k = K(10);
	stp_map_set_long(&a->m, &k, 100);
	assert_string_equal(dump(&a->m), "0=0 1=7 2=4 3=1 4=8 5=5 6=2 7=9 8=6 9=3 10=100 ");
	k = K(5);
	stp_map_delete(&a->m, &k);
	assert_string_equal(dump(&a->m), "0=0 1=7 2=4 3=1 4=8 6=2 7=9 8=6 9=3 10=100 ");
	free_map(a);
}

/* ties keep the previous list order, both directions */
static void test_sort_is_stable(void **state)
{
	bool s1[] = { false };
	struct tmap *a = new_map(STP_MAP_LONG, 1, s1, 256, false);
	union stp_key k;

	(void)state;
	for (int i = 0; i < 200; i++) {
		k = K(1000 - i);
		stp_map_set_long(&a->m, &k, i % 3);
	}
	stp_map_sort(&a->m, 0, +1);
	{
		struct stp_map_node *n = stp_map_first(&a->m), *next;
		for (; (next = stp_map_next(&a->m, n)); n = next) {
			int64_t v1 = *stp_map_node_long(&a->m, n), v2 = *stp_map_node_long(&a->m, next);
			assert_true(v1 <= v2);
			if (v1 == v2)  /* inserted first = larger key first */
				assert_true(stp_map_key_long(&a->m, n, 0) > stp_map_key_long(&a->m, next, 0));
		}
	}
	stp_map_sort(&a->m, 0, -1);
	{
		struct stp_map_node *n = stp_map_first(&a->m), *next;
		for (; (next = stp_map_next(&a->m, n)); n = next) {
			int64_t v1 = *stp_map_node_long(&a->m, n), v2 = *stp_map_node_long(&a->m, next);
			assert_true(v1 >= v2);
			if (v1 == v2)
				assert_true(stp_map_key_long(&a->m, n, 0) > stp_map_key_long(&a->m, next, 0));
		}
	}
	free_map(a);
}

/* the partial sort: ties in list order within the top n, and the rest
 * left where SystemTap's algorithm leaves it */
static void test_sortn_ties_and_rest(void **state)
{
	bool s1[] = { false };
	struct tmap *a = new_map(STP_MAP_LONG, 1, s1, 64, false);
	static const int vals[] = { 5, 3, 5, 1, 3, 9, 1, 7 };
	union stp_key k;

	(void)state;
	for (int i = 0; i < 8; i++) {
		k = K(i);
		stp_map_set_long(&a->m, &k, vals[i]);
	}
	stp_map_sortn(&a->m, 3, 0, +1);
	/* top 3 ascending: 3=1 6=1 1=3; then the displaced entries in
	 * reverse order of displacement, then the untouched rest */
	assert_string_equal(dump(&a->m), "3=1 6=1 1=3 4=3 0=5 2=5 5=9 7=7 ");
	stp_map_sortn(&a->m, 2, 0, -1);
	assert_memory_equal(dump(&a->m), "5=9 7=7 ", 8);
	/* n > 30 and n == 0 sort everything */
	stp_map_sortn(&a->m, 31, 1, +1);
	assert_string_equal(dump(&a->m), "0=5 1=3 2=5 3=1 4=3 5=9 6=1 7=7 ");
	stp_map_sortn(&a->m, 0, 0, +1);
	assert_string_equal(dump(&a->m), "3=1 6=1 1=3 4=3 0=5 2=5 7=7 5=9 ");
	/* n larger than the map */
	stp_map_sortn(&a->m, 20, 0, -1);
	assert_string_equal(dump(&a->m), "5=9 7=7 0=5 2=5 1=3 4=3 3=1 6=1 ");
	free_map(a);
}

static void test_sort_strings(void **state)
{
	bool ss[] = { true, false };
	struct tmap *c = new_map(STP_MAP_STRING, 2, ss, 16, false);
	static const char *const names[] = { "pear", "apple", "Zed", "apple", "", "fig" };
	union stp_key k[2];
	char buf[256] = "";
	struct stp_map_node *n;

	(void)state;
	for (int i = 0; i < 6; i++) {
		k[0] = KS(names[i]);
		k[1] = K(i);
		stp_map_set_str(&c->m, k, names[5 - i]);
	}
	stp_map_sort(&c->m, 1, +1);                      /* by the string key */
	for (n = stp_map_first(&c->m); n; n = stp_map_next(&c->m, n))
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "[%s,%lld]",
			 stp_map_key_str(&c->m, n, 0), (long long)stp_map_key_long(&c->m, n, 1));
	assert_string_equal(buf, "[,4][Zed,2][apple,1][apple,3][fig,5][pear,0]");
	buf[0] = '\0';
	stp_map_sort(&c->m, 0, -1);                      /* by the string value */
	for (n = stp_map_first(&c->m); n; n = stp_map_next(&c->m, n))
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s|", stp_map_node_str(&c->m, n));
	assert_string_equal(buf, "pear|fig|apple|apple|Zed||");
	stp_map_sort(&c->m, 2, -1);                      /* by the long key */
	assert_int_equal(stp_map_key_long(&c->m, stp_map_first(&c->m), 1), 5);
	free_map(c);
}

/* systemtap.maps/map_wrap1.stp: a%[5] keeps the 5 newest */
static void test_wrap(void **state)
{
	bool s1[] = { false };
	struct tmap *a = new_map(STP_MAP_LONG, 1, s1, 5, true);
	union stp_key k;

	(void)state;
	for (int i = 0; i < 10; i++) {
		k = K(i);
		assert_int_equal(stp_map_set_long(&a->m, &k, i), 0);
	}
	assert_string_equal(dump(&a->m), "5=5 6=6 7=7 8=8 9=9 ");
	for (int i = 0; i < 5; i++) {
		k = K(i);
		assert_false(stp_map_exists(&a->m, &k));
	}
	/* overwriting does not evict; a sort changes which is oldest */
	k = K(5);
	stp_map_set_long(&a->m, &k, 50);
	stp_map_sort(&a->m, 0, -1);
	assert_string_equal(dump(&a->m), "5=50 9=9 8=8 7=7 6=6 ");
	k = K(11);
	stp_map_set_long(&a->m, &k, 11);
	assert_string_equal(dump(&a->m), "9=9 8=8 7=7 6=6 11=11 ");
	free_map(a);
}

/* systemtap.maps/map_wrap2.stp: stats wrap the same way */
static void test_wrap_stats(void **state)
{
	bool s1[] = { false };
	struct tmap *a = new_map(STP_MAP_STAT, 1, s1, 5, true);
	union stp_key k;
	struct stp_map_node *n;
	char buf[256] = "";

	(void)state;
	for (int i = 0; i < 10; i++) {
		k = K(i);
		stp_map_add_stat(&a->m, &k, i);
	}
	stp_map_sort(&a->m, 1, +1);
	for (n = stp_map_first(&a->m); n; n = stp_map_next(&a->m, n)) {
		const struct stp_stat *s = stp_map_node_stat(&a->m, n);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			 "foo[%lld]: count:%lld  sum:%lld  avg:%lld  min:%lld  max:%lld\n",
			 (long long)stp_map_key_long(&a->m, n, 0), (long long)s->count,
			 (long long)s->sum, (long long)(s->sum / s->count), (long long)s->min,
			 (long long)s->max);
	}
	assert_string_equal(buf,
		"foo[5]: count:1  sum:5  avg:5  min:5  max:5\n"
		"foo[6]: count:1  sum:6  avg:6  min:6  max:6\n"
		"foo[7]: count:1  sum:7  avg:7  min:7  max:7\n"
		"foo[8]: count:1  sum:8  avg:8  min:8  max:8\n"
		"foo[9]: count:1  sum:9  avg:9  min:9  max:9\n");
	free_map(a);
}

static void test_overflow(void **state)
{
	bool s1[] = { false };
	struct tmap *a = new_map(STP_MAP_LONG, 1, s1, 3, false);
	union stp_key k;
	int err = 0;

	(void)state;
	for (int i = 0; i < 3; i++) {
		k = K(i);
		assert_int_equal(stp_map_set_long(&a->m, &k, i), 0);
	}
	k = K(3);
	assert_int_equal(stp_map_set_long(&a->m, &k, 3), STP_MAP_EOVERFLOW);
	assert_int_equal(stp_map_add_long(&a->m, &k, 3), STP_MAP_EOVERFLOW);
	assert_null(stp_map_lookup_create(&a->m, &k, &err));
	assert_int_equal(err, STP_MAP_EOVERFLOW);
	assert_false(stp_map_exists(&a->m, &k));
	k = K(1);
	assert_int_equal(stp_map_set_long(&a->m, &k, 10), 0);   /* existing keys still work */
	stp_map_delete(&a->m, &k);
	k = K(3);
	assert_int_equal(stp_map_set_long(&a->m, &k, 3), 0);     /* room again */
	assert_string_equal(dump(&a->m), "0=0 2=2 3=3 ");
	free_map(a);
}

/* default capacity: MAXMAPENTRIES entries, then overflow */
static void test_maxmapentries(void **state)
{
	bool s1[] = { false };
	struct tmap *a = new_map(STP_MAP_LONG, 1, s1, MAXMAPENTRIES, false);
	union stp_key k;

	(void)state;
	for (int i = 0; i < MAXMAPENTRIES; i++) {
		k = K((int64_t)i * 0x100000001LL);
		assert_int_equal(stp_map_set_long(&a->m, &k, i), 0);
	}
	k = K(-1);
	assert_int_equal(stp_map_set_long(&a->m, &k, 0), STP_MAP_EOVERFLOW);
	for (int i = 0; i < MAXMAPENTRIES; i++) {
		k = K((int64_t)i * 0x100000001LL);
		assert_int_equal(stp_map_get_long(&a->m, &k), i);
	}
	assert_int_equal(stp_map_size(&a->m), MAXMAPENTRIES);
	stp_map_clear(&a->m);
	for (int i = 0; i < MAXMAPENTRIES; i++) {
		k = K(-i);
		assert_int_equal(stp_map_set_long(&a->m, &k, i), 0);
	}
	free_map(a);
}

/* delete a[*, k2], [*, k2] in a, and slice iteration */
static void test_slices(void **state)
{
	bool s[] = { false, true };
	struct tmap *b = new_map(STP_MAP_LONG, 2, s, 64, false);
	static const char *const tags[] = { "x", "y", "z" };
	union stp_key k[2];
	bool wild0[] = { true, false }, wild_all[] = { true, true };
	struct stp_map_node *n;
	int count = 0;

	(void)state;
	for (int i = 0; i < 9; i++) {
		k[0] = K(i);
		k[1] = KS(tags[i % 3]);
		stp_map_set_long(&b->m, k, i);
	}
	k[1] = KS("y");
	assert_true(stp_map_exists_matching(&b->m, k, wild0));
	for (n = stp_map_first(&b->m); n; n = stp_map_next(&b->m, n))
		if (stp_map_node_matches(&b->m, n, k, wild0))
			count++;
	assert_int_equal(count, 3);
	assert_int_equal(stp_map_delete_matching(&b->m, k, wild0), 3);
	assert_false(stp_map_exists_matching(&b->m, k, wild0));
	assert_int_equal(stp_map_size(&b->m), 6);
	k[0] = K(3);
	k[1] = KS("x");
	assert_true(stp_map_exists_matching(&b->m, k, NULL));
	assert_int_equal(stp_map_delete_matching(&b->m, k, NULL), 1);
	k[1] = KS("nope");
	assert_int_equal(stp_map_delete_matching(&b->m, k, wild0), 0);
	assert_int_equal(stp_map_delete_matching(&b->m, k, wild_all), 5);
	assert_int_equal(stp_map_size(&b->m), 0);
	free_map(b);
}

/* systemtap.maps/foreach_limit2.stp: stats arrays sort by @count */
static void test_foreach_limit2_exp(void **state)
{
	static const struct { int key; int n; int64_t v[10]; } adds[] = {
		{ 9, 10, { 18, 9, 54, 1, 2, 18, 18, 18, 18, 18 } },
		{ 1, 9, { 40, 20, 120, 2, 3, 40, 40, 40, 40 } },
		{ 8, 8, { 16, 8, 48, 3, 16, 16, 16, 16 } },
		{ 2, 7, { 4, 2, 12, 4, 4, 4, 4 } },
		{ 7, 6, { 14, 7, 42, 42, 14, 14 } },
		{ 3, 5, { 36, 18, 36, 108, 36 } },
		{ 6, 4, { 12, 6, 12, 12 } },
		{ 5, 3, { 10, 5, 10 } },
		{ 4, 2, { 8, 8 } },
		{ 10, 1, { 20 } },
	};
	bool s1[] = { false };
	struct tmap *a = new_map(STP_MAP_STAT, 1, s1, MAXMAPENTRIES, false);
	union stp_key k;
	char buf[128];
	struct stp_map_node *n;

	(void)state;
	/* insert key order 9 1 8 2 7 3 6 5 4 10, as the script's first round */
	for (int i = 0; i < 10; i++)
		for (int j = 0; j < adds[i].n; j++) {
			k = K(adds[i].key);
			stp_map_add_stat(&a->m, &k, adds[i].v[j]);
		}
	stp_map_sort(&a->m, 0, -1);
	buf[0] = '\0';
	for (n = stp_map_first(&a->m); n; n = stp_map_next(&a->m, n))
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%lld ",
			 (long long)stp_map_key_long(&a->m, n, 0));
	assert_string_equal(buf, "9 1 8 2 7 3 6 5 4 10 ");
	k = K(1);
	n = stp_map_find(&a->m, &k);
	assert_int_equal(stp_map_node_stat(&a->m, n)->sum, 345);
	assert_int_equal(stp_map_node_stat(&a->m, n)->min, 2);
	assert_int_equal(stp_map_node_stat(&a->m, n)->max, 120);
	stp_map_sortn(&a->m, 5, STP_SORT_COUNT, +1);
	buf[0] = '\0';
	n = stp_map_first(&a->m);
	for (int i = 0; i < 5; i++, n = stp_map_next(&a->m, n))
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%lld ",
			 (long long)stp_map_key_long(&a->m, n, 0));
	assert_string_equal(buf, "10 4 5 6 3 ");
	/* by @sum, @min, @max, @avg */
	stp_map_sort(&a->m, STP_SORT_SUM, -1);
	assert_int_equal(stp_map_key_long(&a->m, stp_map_first(&a->m), 0), 1);   /* 345 */
	stp_map_sort(&a->m, STP_SORT_MAX, +1);
	assert_int_equal(stp_map_key_long(&a->m, stp_map_first(&a->m), 0), 4);   /* max 8 */
	stp_map_sort(&a->m, STP_SORT_MIN, +1);
	assert_int_equal(stp_map_key_long(&a->m, stp_map_first(&a->m), 0), 9);   /* min 1 */
	stp_map_sort(&a->m, STP_SORT_AVG, -1);
	assert_int_equal(stp_map_key_long(&a->m, stp_map_first(&a->m), 0), 3);   /* avg 46 */
	free_map(a);
}

/* per-CPU maps combined; @variance through stp_stat_aggregate */
static void test_aggregate(void **state)
{
	bool s1[] = { false };
	struct tmap *cpu0 = new_map(STP_MAP_STAT, 1, s1, 8, false);
	struct tmap *cpu1 = new_map(STP_MAP_STAT, 1, s1, 8, false);
	struct tmap *agg = new_map(STP_MAP_STAT, 1, s1, 8, false);
	struct tmap *tiny = new_map(STP_MAP_STAT, 1, s1, 2, false);
	struct stp_map *parts[] = { &cpu0->m, &cpu1->m };
	const struct stp_stat *scratch[2];
	const struct stp_stat *s;
	union stp_key k;

	(void)state;
	for (int v = 1; v <= 5; v++) {
		k = K(1);
		stp_map_add_stat(&cpu0->m, &k, v);
	}
	k = K(2);
	stp_map_add_stat(&cpu1->m, &k, 7);
	k = K(3);
	stp_map_add_stat(&cpu1->m, &k, 8);
	k = K(1);
	stp_map_add_stat(&cpu1->m, &k, 100);
	assert_int_equal(stp_map_aggregate(&agg->m, parts, 2, scratch), 0);
	assert_int_equal(stp_map_size(&agg->m), 3);
	k = K(1);
	s = stp_map_get_stat(&agg->m, &k);
	assert_int_equal(s->count, 6);
	assert_int_equal(s->sum, 115);
	assert_int_equal(s->max, 100);
	assert_int_equal(s->min, 1);
	/* order: cpu0's keys, then new keys of cpu1 */
	assert_int_equal(stp_map_key_long(&agg->m, stp_map_first(&agg->m), 0), 1);
	/* one CPU with 1..5 gives @variance 12 (stap(1)) */
	stp_map_clear(&cpu1->m);
	assert_int_equal(stp_map_aggregate(&agg->m, parts, 2, scratch), 0);
	k = K(1);
	assert_int_equal(stp_map_get_stat(&agg->m, &k)->variance, 12);
	/* aggregating more keys than the output holds */
	for (int i = 10; i < 13; i++) {
		k = K(i);
		stp_map_add_stat(&cpu1->m, &k, i);
	}
	assert_int_equal(stp_map_aggregate(&tiny->m, parts, 2, scratch), STP_MAP_EOVERFLOW);
	free_map(cpu0);
	free_map(cpu1);
	free_map(agg);
	free_map(tiny);
}

/* the hash seed changes the buckets, not the behaviour */
static void test_seed(void **state)
{
	bool s[] = { true };
	const struct stp_hist *h = NULL;
	size_t size = stp_map_mem_size(STP_MAP_LONG, 1, s, h, 100);
	void *m1 = malloc(size), *m2 = malloc(size);
	struct stp_map a, b;
	char key[16];
	union stp_key k;
	int differ = 0;

	(void)state;
	stp_map_init(&a, STP_MAP_LONG, 1, s, h, 100, false, 1, m1, size);
	stp_map_init(&b, STP_MAP_LONG, 1, s, h, 100, false, 2, m2, size);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "key%d", i);
		k = KS(key);
		stp_map_set_long(&a, &k, i);
		stp_map_set_long(&b, &k, i);
		if (stp_map_find(&a, &k)->hash != stp_map_find(&b, &k)->hash)
			differ++;
	}
	assert_true(differ > 90);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "key%d", i);
		k = KS(key);
		assert_int_equal(stp_map_get_long(&a, &k), i);
		assert_int_equal(stp_map_get_long(&b, &k), i);
	}
	free(m1);
	free(m2);
}

/* a stats entry starts empty; histograms live in the entry */
static void test_stat_histograms(void **state)
{
	bool s1[] = { false };
	struct stp_hist h = { STP_HIST_LINEAR, 0, 100, 10, 0, 0 };
	struct stp_map m;
	size_t size;
	void *mem;
	union stp_key k = K(1);
	const struct stp_stat *st;

	(void)state;
	h.buckets = stp_hist_linear_buckets(0, 100, 10);
	size = stp_map_mem_size(STP_MAP_STAT, 1, s1, &h, 4);
	mem = malloc(size);
	memset(mem, 0xAB, size);                          /* garbage must not leak */
	assert_int_equal(stp_map_init(&m, STP_MAP_STAT, 1, s1, &h, 4, false, 7, mem, size), 0);
	stp_map_add_stat(&m, &k, 15);
	stp_map_add_stat(&m, &k, 15);
	stp_map_add_stat(&m, &k, 500);
	st = stp_map_get_stat(&m, &k);
	assert_int_equal(st->count, 3);
	assert_int_equal(st->histogram[2], 2);
	assert_int_equal(st->histogram[h.buckets - 1], 1);
	assert_int_equal(st->histogram[0], 0);
	k = K(2);
	assert_null(stp_map_get_stat(&m, &k));
	free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape_checks),
		cmocka_unit_test(test_exists_exp),
		cmocka_unit_test(test_reads_do_not_create),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_long_string_keys),
		cmocka_unit_test(test_nine_mixed_keys),
		cmocka_unit_test(test_list_order),
		cmocka_unit_test(test_foreach_limit_exp),
		cmocka_unit_test(test_sort_relinks),
		cmocka_unit_test(test_sort_is_stable),
		cmocka_unit_test(test_sortn_ties_and_rest),
		cmocka_unit_test(test_sort_strings),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_wrap_stats),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_maxmapentries),
		cmocka_unit_test(test_slices),
		cmocka_unit_test(test_foreach_limit2_exp),
		cmocka_unit_test(test_aggregate),
		cmocka_unit_test(test_seed),
		cmocka_unit_test(test_stat_histograms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
