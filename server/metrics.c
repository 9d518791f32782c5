/* Counters of the whole server, read by GET /metrics (Prometheus text
 * format) and the status page GET / (server/http.c).  Every counter sits
 * under one mutex: they change once per request or build, never in a
 * loop, so one lock costs nothing and keeps a scrape consistent. */
#define _GNU_SOURCE
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

enum {
	MAX_KERNELS = 64,       /* kernels counted by name; more go to "other" */
	RECENT = 20,            /* builds on the status page */
};

static const char *const protocols[] = { "systemtap", "http" };
static const char *const outcomes[] = { "built", "cached", "failed", "refused", "cancelled" };
#define NPROTO (sizeof protocols / sizeof *protocols)
#define NOUTCOME (sizeof outcomes / sizeof *outcomes)
static const char *const refusal_names[REFUSE_COUNT] = {
	[REFUSE_NONE] = "none", [REFUSE_SIZE] = "too_large", [REFUSE_INCOMPLETE] = "incomplete",
	[REFUSE_ARCHIVE] = "bad_archive", [REFUSE_REQUEST] = "bad_request",
	[REFUSE_KERNEL] = "unknown_kernel", [REFUSE_PRIVILEGE] = "privilege",
	[REFUSE_TMPDIR] = "server_error", [REFUSE_JSON] = "bad_json", [REFUSE_BUSY] = "busy",
	[REFUSE_CLIENT_LIMIT] = "client_limit", [REFUSE_MEMORY] = "memory",
};
/* seconds; the last bucket is +Inf */
static const double buckets[] = { 1, 2, 5, 10, 20, 30, 60, 120, 300 };
#define NBUCKET (sizeof buckets / sizeof *buckets)

struct recent_build {
	time_t when;
	char protocol[12], release[64], module[64];
	int rc;
	bool cached;
	double ms;
};

static pthread_mutex_t mlock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long requests[NPROTO][NOUTCOME];
static unsigned long rejected[REFUSE_COUNT];
static unsigned long hist[NBUCKET + 1], hist_count;
static double hist_sum;
static struct { char name[64]; unsigned long n; } kernels[MAX_KERNELS + 1];
static size_t nkernels;
static struct recent_build recent[RECENT];
static size_t nrecent, recent_next;

static size_t index_of(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return n;
}

void metrics_request(const char *protocol, const char *outcome)
{
	size_t p = index_of(protocols, NPROTO, protocol), o = index_of(outcomes, NOUTCOME, outcome);
	if (p == NPROTO || o == NOUTCOME)
		return;
	pthread_mutex_lock(&mlock);
	requests[p][o]++;
	pthread_mutex_unlock(&mlock);
}

void metrics_rejected(enum refusal why)
{
	if (why <= REFUSE_NONE || why >= REFUSE_COUNT)
		return;
	pthread_mutex_lock(&mlock);
	rejected[why]++;
	pthread_mutex_unlock(&mlock);
}

void metrics_build_time(double seconds)
{
	size_t b = 0;
	while (b < NBUCKET && seconds > buckets[b])
		b++;
	pthread_mutex_lock(&mlock);
	hist[b]++;
	hist_count++;
	hist_sum += seconds;
	pthread_mutex_unlock(&mlock);
}

void metrics_kernel(const char *release)
{
	pthread_mutex_lock(&mlock);
	size_t i = 0;
	while (i < nkernels && strcmp(kernels[i].name, release) != 0)
		i++;
	if (i == nkernels) {
		if (nkernels == MAX_KERNELS)
			i = MAX_KERNELS;        /* "other" */
		else
			snprintf(kernels[nkernels++].name, sizeof kernels[0].name, "%s", release);
		if (i == MAX_KERNELS)
			snprintf(kernels[i].name, sizeof kernels[i].name, "other");
	}
	kernels[i].n++;
	pthread_mutex_unlock(&mlock);
}

void metrics_recent(const char *protocol, const char *release, const char *module, int rc,
		    bool cached, double ms)
{
	pthread_mutex_lock(&mlock);
	struct recent_build *b = &recent[recent_next];
	recent_next = (recent_next + 1) % RECENT;
	if (nrecent < RECENT)
		nrecent++;
	b->when = time(NULL);
	snprintf(b->protocol, sizeof b->protocol, "%s", protocol);
	snprintf(b->release, sizeof b->release, "%s", release ? release : "");
	snprintf(b->module, sizeof b->module, "%s", module ? module : "");
	b->rc = rc;
	b->cached = cached;
	b->ms = ms;
	pthread_mutex_unlock(&mlock);
}

/* The cache's and the build queue's counters, read now. */
struct live {
	uint64_t hits, misses, bytes;
	int busy, waiting;
};

static struct live live_now(void)
{
	struct live l;
	cache_stats(&l.hits, &l.misses, &l.bytes);
	queue_stats(&l.busy, &l.waiting);
	return l;
}

/* Label values are kernel releases (checked by cs_kernel_release_ok:
 * no quote or backslash) and fixed names, so they need no escaping. */
char *metrics_text(void)
{
	struct strbuf sb;
	sb_init(&sb);
	struct live st = live_now();
	pthread_mutex_lock(&mlock);
	sb_printf(&sb, "# HELP stapcs_requests_total Requests by protocol and outcome.\n"
		       "# TYPE stapcs_requests_total counter\n");
	for (size_t p = 0; p < NPROTO; p++)
		for (size_t o = 0; o < NOUTCOME; o++)
			sb_printf(&sb, "stapcs_requests_total{protocol=\"%s\",outcome=\"%s\"} %lu\n",
				  protocols[p], outcomes[o], requests[p][o]);
	sb_printf(&sb, "# HELP stapcs_rejected_total Requests refused, by reason.\n"
		       "# TYPE stapcs_rejected_total counter\n");
	for (size_t r = REFUSE_NONE + 1; r < REFUSE_COUNT; r++)
		sb_printf(&sb, "stapcs_rejected_total{reason=\"%s\"} %lu\n", refusal_names[r],
			  rejected[r]);
	sb_printf(&sb, "# HELP stapcs_cache_hits_total Module cache hits.\n"
		       "# TYPE stapcs_cache_hits_total counter\n"
		       "stapcs_cache_hits_total %llu\n"
		       "# HELP stapcs_cache_misses_total Module cache misses.\n"
		       "# TYPE stapcs_cache_misses_total counter\n"
		       "stapcs_cache_misses_total %llu\n"
		       "# HELP stapcs_cache_bytes Bytes in the module cache.\n"
		       "# TYPE stapcs_cache_bytes gauge\n"
		       "stapcs_cache_bytes %llu\n",
		  (unsigned long long)st.hits, (unsigned long long)st.misses, (unsigned long long)st.bytes);
	sb_printf(&sb, "# HELP stapcs_build_seconds Wall-clock time of builds.\n"
		       "# TYPE stapcs_build_seconds histogram\n");
	unsigned long cum = 0;
	for (size_t b = 0; b < NBUCKET; b++) {
		cum += hist[b];
		sb_printf(&sb, "stapcs_build_seconds_bucket{le=\"%g\"} %lu\n", buckets[b], cum);
	}
	sb_printf(&sb, "stapcs_build_seconds_bucket{le=\"+Inf\"} %lu\n"
		       "stapcs_build_seconds_sum %.3f\n"
		       "stapcs_build_seconds_count %lu\n", hist_count, hist_sum, hist_count);
	sb_printf(&sb, "# HELP stapcs_queue_depth Builds waiting for a slot.\n"
		       "# TYPE stapcs_queue_depth gauge\n"
		       "stapcs_queue_depth %d\n"
		       "# HELP stapcs_builds_running Builds running now.\n"
		       "# TYPE stapcs_builds_running gauge\n"
		       "stapcs_builds_running %d\n", st.waiting, st.busy);
	sb_printf(&sb, "# HELP stapcs_kernel_requests_total Requests matched to each kernel.\n"
		       "# TYPE stapcs_kernel_requests_total counter\n");
	for (size_t i = 0; i <= MAX_KERNELS; i++)
		if (kernels[i].n)
			sb_printf(&sb, "stapcs_kernel_requests_total{kernel=\"%s\"} %lu\n",
				  kernels[i].name, kernels[i].n);
	pthread_mutex_unlock(&mlock);
	return sb_detach(&sb);
}

/* Text into HTML: module and kernel names are ours or checked, but the
 * page escapes everything it did not write itself. */
static void html_text(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': sb_printf(sb, "&lt;"); break;
		case '>': sb_printf(sb, "&gt;"); break;
		case '&': sb_printf(sb, "&amp;"); break;
		case '"': sb_printf(sb, "&quot;"); break;
		default: sb_putn(sb, s, 1);
		}
	}
}

/* One bar per recent build, oldest on the left, height = seconds. */
static void build_chart(struct strbuf *sb, const struct recent_build *rb, size_t n)
{
	double max = 0.001;
	for (size_t i = 0; i < n; i++)
		if (rb[i].ms > max)
			max = rb[i].ms;
	const int w = 600, h = 160;
	int bar = n ? (w - 40) / (int)n : 0;
	if (bar > 40)
		bar = 40;
	sb_printf(sb, "<svg id=\"build-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		      "height=\"%d\" role=\"img\" aria-label=\"build times\">\n"
		      "<line x1=\"30\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n"
		      "<text x=\"2\" y=\"12\" font-size=\"10\">%.1f s</text>\n", w, h + 20, h, w, h,
		  max / 1000);
	for (size_t i = 0; i < n; i++) {
		int bh = (int)(rb[i].ms / max * (h - 10));
		if (bh < 1)
			bh = 1;
		sb_printf(sb, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\">"
			      "<title>%.0f ms</title></rect>\n", 32 + (int)i * bar, h - bh,
			  bar > 2 ? bar - 2 : 1, bh,
			  rb[i].rc ? "#c0392b" : rb[i].cached ? "#7f8c8d" : "#2e86c1", rb[i].ms);
	}
	sb_printf(sb, "</svg>\n");
}

char *metrics_status_page(void)
{
	struct strbuf sb;
	sb_init(&sb);
	struct live st = live_now();
	size_t nk = 0;
	struct kstore_kernel *k = kstore_list(&nk);
	sb_printf(&sb, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
		       "<title>stap-serverd status</title>\n<style>body{font-family:sans-serif;"
		       "margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
		       "padding:2px 8px}</style></head><body>\n<h1>stap-serverd status</h1>\n");
	sb_printf(&sb, "<p id=\"cache\">Cache hit rate: %.0f%% (%llu hits, %llu misses, "
		       "%llu bytes)</p>\n", st.hits + st.misses ? 100.0 * (double)st.hits / (double)(st.hits + st.misses) : 0.0,
		  (unsigned long long)st.hits, (unsigned long long)st.misses, (unsigned long long)st.bytes);
	sb_printf(&sb, "<p id=\"queue\">Builds running: %d; waiting: %d</p>\n", st.busy, st.waiting);
	sb_printf(&sb, "<h2>Kernels</h2>\n<table id=\"kernels\"><tr><th>release</th>"
		       "<th>build-id</th></tr>\n");
	for (size_t i = 0; i < nk; i++) {
		sb_printf(&sb, "<tr><td>");
		html_text(&sb, k[i].release);
		sb_printf(&sb, "</td><td>");
		html_text(&sb, k[i].build_id ? k[i].build_id : "unknown");
		sb_printf(&sb, "</td></tr>\n");
	}
	sb_printf(&sb, "</table>\n");
	kstore_free(k, nk);

	struct recent_build rb[RECENT];
	pthread_mutex_lock(&mlock);
	size_t n = nrecent;
	for (size_t i = 0; i < n; i++)	/* oldest first */
		rb[i] = recent[(recent_next + RECENT - n + i) % RECENT];
	pthread_mutex_unlock(&mlock);
	sb_printf(&sb, "<h2>Recent builds</h2>\n<table id=\"recent\"><tr><th>time (UTC)</th>"
		       "<th>protocol</th><th>kernel</th><th>module</th><th>rc</th><th>source</th>"
		       "<th>ms</th></tr>\n");
	for (size_t i = n; i-- > 0;) {
		char when[32];
		struct tm tm;
		gmtime_r(&rb[i].when, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
		sb_printf(&sb, "<tr><td>%s</td><td>%s</td><td>", when, rb[i].protocol);
		html_text(&sb, rb[i].release);
		sb_printf(&sb, "</td><td>");
		html_text(&sb, rb[i].module);
		sb_printf(&sb, "</td><td>%d</td><td>%s</td><td>%.0f</td></tr>\n", rb[i].rc,
			  rb[i].cached ? "cache" : "built", rb[i].ms);
	}
	sb_printf(&sb, "</table>\n<h2>Build times</h2>\n");
	build_chart(&sb, rb, n);
	sb_printf(&sb, "</body></html>\n");
	return sb_detach(&sb);
}
