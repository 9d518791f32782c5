/* The runtime's statistics, compiled in user space: accumulation, the
 * exact @avg/@variance arithmetic, and histogram rendering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stat.h"

static struct stp_stat *new_stat(const struct stp_hist *h)
{
	struct stp_stat *s = calloc(1, sizeof *s + (size_t)h->buckets * sizeof(int64_t));
	return s;
}

static struct stp_hist linear(int64_t lo, int64_t hi, int64_t w)
{
	struct stp_hist h = { STP_HIST_LINEAR, lo, hi, w, 0, 0 };
	h.buckets = stp_hist_linear_buckets(lo, hi, w);
	return h;
}

static char *render(const struct stp_hist *h, const struct stp_stat *s)
{
	size_t n = stp_hist_render(NULL, 0, h, s);
	char *buf = malloc(n + 1);
	assert_int_equal(stp_hist_render(buf, n + 1, h, s), n);
	return buf;
}

/* A row: label right-aligned in `vw` columns, bar, count after it. */
static void row(char *out, size_t size, int vw, const char *label, int bar, int64_t count,
		int cw)
{
	char bars[64];
	memset(bars, '@', (size_t)bar);
	bars[bar] = '\0';
	snprintf(out, size, "%*s |%s%*lld\n", vw, label, bars, 50 - bar + 1 + cw,
		 (long long)count);
}

static const char *header5 =
	"value |-------------------------------------------------- count\n";

static void test_avg_and_extremes(void **state)
{
	(void)state;
	struct stp_hist h = { STP_HIST_NONE, 0, 0, 0, 0, 0 };
	struct stp_stat *s = new_stat(&h);
	stp_stat_add(&h, s, 444);
	stp_stat_add(&h, s, 999);
	const struct stp_stat *parts[] = { s };
	struct stp_stat *all = new_stat(&h);
	stp_stat_aggregate(&h, all, parts, 1);
	assert_int_equal(all->count, 2);
	assert_int_equal(all->sum, 1443);
	assert_int_equal(all->min, 444);
	assert_int_equal(all->max, 999);
	assert_int_equal(all->sum / all->count, 721);   /* @avg truncates */
	free(s);
	free(all);
}

/* stap(1): samples 1..5 give @variance 12, and 2 with a shift of 1 */
static void test_variance_worked_example(void **state)
{
	(void)state;
	for (int shift = 0; shift <= 1; shift++) {
		struct stp_hist h = { STP_HIST_NONE, 0, 0, 0, 0, shift };
		struct stp_stat *s = new_stat(&h), *all = new_stat(&h);
		for (int v = 1; v <= 5; v++)
			stp_stat_add(&h, s, v);
		const struct stp_stat *parts[] = { s };
		stp_stat_aggregate(&h, all, parts, 1);
		assert_int_equal(all->variance, shift ? 2 : 12);
		free(s);
		free(all);
	}
}

/* Per-CPU parts merge around the exact mean: spreading the same samples
 * over CPUs may change the (truncated) result, but empty parts do not. */
static void test_variance_merge(void **state)
{
	(void)state;
	struct stp_hist h = { STP_HIST_NONE, 0, 0, 0, 0, 0 };
	struct stp_stat *a = new_stat(&h), *b = new_stat(&h), *empty = new_stat(&h);
	struct stp_stat *all = new_stat(&h);
	stp_stat_add(&h, a, 1);
	stp_stat_add(&h, a, 2);
	stp_stat_add(&h, b, 3);
	stp_stat_add(&h, b, 4);
	stp_stat_add(&h, b, 5);
	const struct stp_stat *parts[] = { a, empty, b };
	stp_stat_aggregate(&h, all, parts, 3);
	assert_int_equal(all->count, 5);
	assert_int_equal(all->sum, 15);
	/* a: avg 1 (truncated), var 1; b: avg 4, var 1; mean 3:
	 * (2*(1-3)^2 + 1*1 + 3*(4-3)^2 + 2*1) / 4 = 14/4 = 3 */
	assert_int_equal(all->variance, 3);
	/* one sample has no variance */
	struct stp_stat *one = new_stat(&h);
	stp_stat_add(&h, one, 7);
	const struct stp_stat *p1[] = { one };
	stp_stat_aggregate(&h, all, p1, 1);
	assert_int_equal(all->variance, 0);
	free(a);
	free(b);
	free(empty);
	free(all);
	free(one);
}

static void test_log_buckets(void **state)
{
	(void)state;
	assert_int_equal(stp_hist_log_bucket(0), 64);
	assert_int_equal(stp_hist_log_bucket(1), 65);
	assert_int_equal(stp_hist_log_bucket(4), 67);     /* labelled 4 */
	assert_int_equal(stp_hist_log_value(67), 4);
	assert_int_equal(stp_hist_log_bucket(7), 67);
	assert_int_equal(stp_hist_log_bucket(INT64_MAX), 127);
	assert_int_equal(stp_hist_log_bucket(-2), 62);
	assert_int_equal(stp_hist_log_value(62), -2);
	assert_int_equal(stp_hist_log_bucket(INT64_MIN), 0);
	assert_true(stp_hist_log_value(0) == INT64_MIN);
	for (int b = 0; b < STP_HIST_LOG_BUCKETS; b++)
		assert_int_equal(stp_hist_log_bucket(stp_hist_log_value(b)), b);
}

static void test_linear_bucket_count(void **state)
{
	(void)state;
	assert_int_equal(stp_hist_linear_buckets(0, 10, 1), 13);
	assert_int_equal(stp_hist_linear_buckets(0, 1500, 50), 33);
	assert_int_equal(stp_hist_linear_buckets(0, 0, 1), 3);
	assert_int_equal(stp_hist_linear_buckets(0, 1500, 2), -1);   /* > 128 */
	assert_int_equal(stp_hist_linear_buckets(0, 10, 0), -1);
	assert_int_equal(stp_hist_linear_buckets(10, 0, 1), -1);
}

/* 444 and 999 in 0..1500 by 50: the zero rows between them are elided */
static void test_render_linear_with_elision(void **state)
{
	(void)state;
	struct stp_hist h = linear(0, 1500, 50);
	struct stp_stat *s = new_stat(&h);
	stp_stat_add(&h, s, 444);
	stp_stat_add(&h, s, 999);
	char want[4096] = "", line[128];
	strcat(want, header5);
	const char *labels[] = { "300", "350", "400", "450", "500" };
	for (int k = 0; k < 5; k++) {
		row(line, sizeof line, 5, labels[k], k == 2, k == 2, 1);
		strcat(want, line);
	}
	strcat(want, "      ~\n");
	const char *labels2[] = { "850", "900", "950", "1000", "1050" };
	for (int k = 0; k < 5; k++) {
		row(line, sizeof line, 5, labels2[k], k == 2, k == 2, 1);
		strcat(want, line);
	}
	strcat(want, "\n");
	char *got = render(&h, s);
	assert_string_equal(got, want);
	free(got);
	free(s);
}

/* negative values widen the label column of a log histogram */
static void test_render_log_negative(void **state)
{
	(void)state;
	struct stp_hist h = { STP_HIST_LOG, 0, 0, 0, STP_HIST_LOG_BUCKETS, 0 };
	struct stp_stat *s = new_stat(&h);
	stp_stat_add(&h, s, -2);
	stp_stat_add(&h, s, -4096);
	char *got = render(&h, s);
	assert_true(strncmp(got, " value |---", 11) == 0);
	assert_non_null(strstr(got, "\n-16384 |   "));
	assert_non_null(strstr(got, "\n -4096 |@  "));
	assert_non_null(strstr(got, "\n    -2 |@  "));
	/* the rows between -4096 and -2 are zero and far from data: elided */
	assert_non_null(strstr(got, "\n       ~\n"));
	assert_non_null(strstr(got, "\n     0 |   "));
	free(got);
	free(s);
}

/* bars scale so that the largest count fits in 50 columns */
static void test_render_scale(void **state)
{
	(void)state;
	struct stp_hist h = linear(0, 10, 5);
	struct stp_stat *s = new_stat(&h);
	for (int k = 0; k < 1025; k++)
		stp_stat_add(&h, s, 1);
	for (int k = 0; k < 4; k++)
		stp_stat_add(&h, s, 6);
	char *got = render(&h, s);
	char line[128];
	/* scale = ceil(1025 / 50) = 21: 1025 / 21 = 48 '@' */
	row(line, sizeof line, 5, "0", 48, 1025, 4);
	assert_non_null(strstr(got, line));
	row(line, sizeof line, 5, "5", 0, 4, 4);
	assert_non_null(strstr(got, line));
	free(got);
	free(s);
}

/* out-of-range rows appear, labelled <lo and >last, only when counted */
static void test_render_out_of_range(void **state)
{
	(void)state;
	struct stp_hist h = linear(0, 100, 10);
	struct stp_stat *s = new_stat(&h);
	stp_stat_add(&h, s, -5);
	stp_stat_add(&h, s, 500);
	char *got = render(&h, s);
	assert_non_null(strstr(got, "\n   <0 |@"));
	assert_non_null(strstr(got, "\n >100 |@"));
	free(got);
	stp_stat_clear(&h, s);
	stp_stat_add(&h, s, 50);
	got = render(&h, s);
	assert_null(strstr(got, "<0"));
	assert_null(strstr(got, ">"));
	free(got);
	free(s);
}

static void test_render_truncates_like_snprintf(void **state)
{
	(void)state;
	struct stp_hist h = linear(0, 10, 1);
	struct stp_stat *s = new_stat(&h);
	stp_stat_add(&h, s, 3);
	char small[16];
	size_t need = stp_hist_render(small, sizeof small, &h, s);
	assert_true(need > sizeof small);
	assert_int_equal(strlen(small), sizeof small - 1);
	assert_true(strncmp(small, header5, sizeof small - 1) == 0);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_avg_and_extremes),
		cmocka_unit_test(test_variance_worked_example),
		cmocka_unit_test(test_variance_merge),
		cmocka_unit_test(test_log_buckets),
		cmocka_unit_test(test_linear_bucket_count),
		cmocka_unit_test(test_render_linear_with_elision),
		cmocka_unit_test(test_render_log_negative),
		cmocka_unit_test(test_render_scale),
		cmocka_unit_test(test_render_out_of_range),
		cmocka_unit_test(test_render_truncates_like_snprintf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
