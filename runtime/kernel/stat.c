/* Statistics: accumulation, aggregation and histogram rendering.
 *
 * Integer arithmetic throughout, in the same order as SystemTap's runtime,
 * because scripts see the truncations: @avg truncates, and @variance is a
 * per-CPU Welford update followed by a "total variance" merge around the
 * exact mean (samples 1..5 on one CPU give 12, with a shift of 1 give 2). */
#include "stat.h"

#ifdef STP_USER_TEST
#include <stdio.h>
#define stp_snprintf snprintf
#else
#include <linux/kernel.h>
#define stp_snprintf snprintf
#endif

int stp_hist_linear_buckets(int64_t start, int64_t stop, int64_t interval)
{
	if (interval <= 0 || stop < start)
		return -1;
	uint64_t span = (uint64_t)stop - (uint64_t)start;
	uint64_t n = span / (uint64_t)interval + 3;
	return n > STP_HIST_MAX_BUCKETS ? -1 : (int)n;
}

/* floor(log2(v)) + 1 for v > 0 */
static int bit_length(uint64_t v)
{
	int n = 0;
	while (v) {
		n++;
		v >>= 1;
	}
	return n;
}

int stp_hist_log_bucket(int64_t val)
{
	if (val == 0)
		return STP_HIST_LOG_BUCKET0;
	if (val > 0)
		return STP_HIST_LOG_BUCKET0 + bit_length((uint64_t)val);
	/* magnitude as unsigned: INT64_MIN lands in bucket 0 */
	return STP_HIST_LOG_BUCKET0 - bit_length(0 - (uint64_t)val);
}

int64_t stp_hist_log_value(int bucket)
{
	if (bucket == STP_HIST_LOG_BUCKET0)
		return 0;
	if (bucket > STP_HIST_LOG_BUCKET0)
		return (int64_t)((uint64_t)1 << (bucket - STP_HIST_LOG_BUCKET0 - 1));
	return (int64_t)(0 - ((uint64_t)1 << (STP_HIST_LOG_BUCKET0 - 1 - bucket)));
}

static int linear_bucket(const struct stp_hist *h, int64_t val)
{
	if (val < h->start)
		return 0;
	uint64_t idx = ((uint64_t)val - (uint64_t)h->start) / (uint64_t)h->interval + 1;
	return idx >= (uint64_t)(h->buckets - 1) ? h->buckets - 1 : (int)idx;
}

void stp_stat_clear(const struct stp_hist *h, struct stp_stat *s)
{
	memset(s, 0, sizeof *s + (size_t)h->buckets * sizeof s->histogram[0]);
}

void stp_stat_add(const struct stp_hist *h, struct stp_stat *s, int64_t val)
{
	int64_t x = (int64_t)((uint64_t)val << h->shift);
	if (s->count == 0) {
		s->count = 1;
		s->sum = s->min = s->max = val;
		s->avg_s = x;
		s->m2 = 0;
	} else {
		s->count++;
		s->sum += val;
		if (val > s->max)
			s->max = val;
		if (val < s->min)
			s->min = val;
		int64_t delta = x - s->avg_s;
		s->avg_s += delta / s->count;
		s->m2 += delta * (x - s->avg_s);
	}
	if (h->kind == STP_HIST_LOG)
		s->histogram[stp_hist_log_bucket(val)]++;
	else if (h->kind == STP_HIST_LINEAR)
		s->histogram[linear_bucket(h, val)]++;
}

void stp_stat_aggregate(const struct stp_hist *h, struct stp_stat *out,
			const struct stp_stat *const *parts, int nparts)
{
	stp_stat_clear(h, out);
	for (int p = 0; p < nparts; p++) {
		const struct stp_stat *s = parts[p];
		if (s->count == 0)
			continue;
		if (out->count == 0) {
			out->min = s->min;
			out->max = s->max;
		} else {
			if (s->min < out->min)
				out->min = s->min;
			if (s->max > out->max)
				out->max = s->max;
		}
		out->count += s->count;
		out->sum += s->sum;
		for (int b = 0; b < h->buckets; b++)
			out->histogram[b] += s->histogram[b];
	}
	if (out->count < 2)
		return;
	/* merge around the exact mean of the shifted values */
	int64_t mean = (int64_t)((uint64_t)out->sum << h->shift) / out->count;
	int64_t total = 0;
	for (int p = 0; p < nparts; p++) {
		const struct stp_stat *s = parts[p];
		if (s->count == 0)
			continue;
		int64_t var_s = s->count > 1 ? s->m2 / (s->count - 1) : 0;
		int64_t d = s->avg_s - mean;
		total += s->count * d * d + (s->count - 1) * var_s;
	}
	out->variance = (total / (out->count - 1)) >> (2 * h->shift);
}

/* ---- rendering ---- */

struct hist_out {
	char *buf;
	size_t size, len;
};

static void hist_put(struct hist_out *o, const char *text, size_t n)
{
	if (o->len < o->size) {
		size_t room = o->size - o->len - 1;
		memcpy(o->buf + o->len, text, n < room ? n : room);
	}
	o->len += n;
}

static void hist_put_repeat(struct hist_out *o, char c, int n)
{
	for (int k = 0; k < n; k++)
		hist_put(o, &c, 1);
}

/* Characters of a decimal number, sign included. */
static int digits(int64_t v)
{
	char tmp[24];
	return stp_snprintf(tmp, sizeof tmp, "%lld", (long long)v);
}

static void hist_put_number(struct hist_out *o, int64_t v, int width)
{
	char tmp[24];
	int n = stp_snprintf(tmp, sizeof tmp, "%lld", (long long)v);
	hist_put_repeat(o, ' ', width - n);
	hist_put(o, tmp, (size_t)n);
}

static int64_t linear_label(const struct stp_hist *h, int i, const char **prefix)
{
	*prefix = "";
	if (i == 0) {
		*prefix = "<";
		return h->start;
	}
	if (i == h->buckets - 1) {
		*prefix = ">";
		return h->start + (int64_t)(i - 2) * h->interval;
	}
	return h->start + (int64_t)(i - 1) * h->interval;
}

/* A zero row is dropped when every row within HIST_ELISION of it (inside
 * the shown range) is zero too. */
static bool elided(const struct stp_hist *h, const struct stp_stat *s, int i, int low, int high)
{
	if (HIST_ELISION < 0)
		return false;
	int reach = HIST_ELISION < h->buckets ? HIST_ELISION : h->buckets;
	int from = i - reach > low ? i - reach : low;
	int to = i + reach < high ? i + reach : high;
	for (int k = from; k <= to; k++)
		if (s->histogram[k])
			return false;
	return true;
}

size_t stp_hist_render(char *buf, size_t size, const struct stp_hist *h,
		       const struct stp_stat *s)
{
	struct hist_out o = { buf, size, 0 };
	if (h->kind == STP_HIST_NONE) {
		if (size)
			buf[0] = '\0';
		return 0;
	}
	int low = -1, high = 0;
	int64_t most = 0;
	for (int i = 0; i < h->buckets; i++) {
		if (s->histogram[i] > 0) {
			if (low < 0)
				low = i;
			high = i;
		}
		if (s->histogram[i] > most)
			most = s->histogram[i];
	}
	int under = 0, over = 0;
	if (low >= 0) {
		/* two empty rows of margin; a log histogram does not reach
		 * below 0 unless it holds negative values */
		for (int k = 0; k < 2; k++) {
			if (low > 0 && !(h->kind == STP_HIST_LOG && low == STP_HIST_LOG_BUCKET0))
				low--;
			if (high < h->buckets - 1)
				high++;
		}
		if (h->kind == STP_HIST_LINEAR) {
			/* the out-of-range rows show only when they count */
			if (low == 0 && s->histogram[0] == 0)
				low++;
			if (high == h->buckets - 1 && s->histogram[high] == 0)
				high--;
			under = low == 0;
			over = high == h->buckets - 1;
		}
	}
	int64_t scale = most <= HIST_WIDTH ? 1 : (most + HIST_WIDTH - 1) / HIST_WIDTH;
	int count_width = digits(most);
	int value_width;
	if (low < 0) {
		value_width = 5;
	} else if (h->kind == STP_HIST_LINEAR) {
		int a = digits(h->start) + under;
		int b = digits(h->start + h->interval * high) + over;
		value_width = a > b ? a : b;
	} else {
		int a = digits(stp_hist_log_value(high));
		int b = digits(stp_hist_log_value(low));
		value_width = a > b ? a : b;
	}
	if (value_width < 5)
		value_width = 5;

	hist_put_repeat(&o, ' ', value_width - 5);
	hist_put(&o, "value |", 7);
	hist_put_repeat(&o, '-', HIST_WIDTH);
	hist_put(&o, " count\n", 7);
	bool skipping = false;
	for (int i = low; low >= 0 && i <= high; i++) {
		if (elided(h, s, i, low, high)) {
			skipping = true;
			continue;
		}
		if (skipping) {
			/* rows were left out: a mark on the axis */
			hist_put_repeat(&o, ' ', value_width);
			hist_put(&o, " ~\n", 3);
			skipping = false;
		}
		const char *prefix = "";
		int64_t label = h->kind == STP_HIST_LINEAR ? linear_label(h, i, &prefix)
							   : stp_hist_log_value(i);
		hist_put_repeat(&o, ' ', value_width - digits(label) - (int)strlen(prefix));
		hist_put(&o, prefix, strlen(prefix));
		hist_put_number(&o, label, 0);
		hist_put(&o, " |", 2);
		int64_t bar = s->histogram[i] / scale;
		hist_put_repeat(&o, '@', (int)bar);
		hist_put_number(&o, s->histogram[i], (int)(HIST_WIDTH - bar + 1 + count_width));
		hist_put(&o, "\n", 1);
	}
	hist_put(&o, "\n", 1);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len;
}
