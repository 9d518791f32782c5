/* Statistics (aggregates): what `x <<< v` accumulates per CPU, how the
 * per-CPU parts combine when the script reads @count, @sum, @min, @max,
 * @avg, @variance or a histogram, and the ASCII rendering of histograms.
 * Pure computation: locking and per-CPU storage belong to the caller. */
#ifndef STP_STAT_H
#define STP_STAT_H

#include "stp_types.h"

#define STP_HIST_LOG_BUCKETS 128      /* index 64 holds 0 */
#define STP_HIST_LOG_BUCKET0 64
#define STP_HIST_MAX_BUCKETS 128      /* linear, out-of-range buckets included */
#ifndef HIST_WIDTH
#define HIST_WIDTH 50                 /* columns of '@' at most */
#endif
#ifndef HIST_ELISION
#define HIST_ELISION 2                /* zero rows kept around data; <0: none elided */
#endif

enum stp_hist_kind { STP_HIST_NONE, STP_HIST_LINEAR, STP_HIST_LOG };

/* The shape of a statistic, fixed at translation time. */
struct stp_hist {
	enum stp_hist_kind kind;
	int64_t start, stop, interval;  /* linear only */
	int buckets;                    /* 0 for STP_HIST_NONE */
	int shift;                      /* @variance bit shift, 0..62 */
};

/* One CPU's (or the aggregated) data.  histogram[] has hist->buckets
 * entries and follows the struct. */
struct stp_stat {
	int64_t count, sum, min, max;
	int64_t avg_s;    /* running mean of the shifted values (Welford) */
	int64_t m2;       /* running sum of squared deviations, shifted */
	int64_t variance; /* set by stp_stat_aggregate */
	int64_t histogram[];
};

/* Number of buckets of a linear histogram (start, stop, interval), or -1
 * when the parameters cannot make one. */
int stp_hist_linear_buckets(int64_t start, int64_t stop, int64_t interval);

/* Bucket of a value in a log histogram, and the label of a bucket. */
int stp_hist_log_bucket(int64_t val);
int64_t stp_hist_log_value(int bucket);

void stp_stat_clear(const struct stp_hist *h, struct stp_stat *s);
void stp_stat_add(const struct stp_hist *h, struct stp_stat *s, int64_t val);

/* Combine per-CPU parts into `out` (cleared first), computing the mean
 * and the variance the way SystemTap does, so results match exactly. */
void stp_stat_aggregate(const struct stp_hist *h, struct stp_stat *out,
			const struct stp_stat *const *parts, int nparts);

/* Render a histogram into buf (NUL-terminated when size > 0); returns the
 * length the full text needs, like snprintf. */
size_t stp_hist_render(char *buf, size_t size, const struct stp_hist *h,
		       const struct stp_stat *s);

#endif
