/* The HTTP/JSON API (docs/http-api.md) on libmicrohttpd.
 *
 * Threading: MHD's own thread pool (POOL_THREADS) answers requests; none
 * of them ever builds.  A submission is checked and keyed at once
 * (server/request.c, the same code the SystemTap protocol uses), put in
 * the job table and handed to a detached job thread that runs it through
 * queue_build like a connection thread would.  Long-polls wait on one
 * condition variable, at most MAX_LONG_POLLS at a time so that they never
 * occupy the whole pool.  The job table is bounded: finished jobs expire
 * after JOB_TTL_S, or earlier (oldest first) when the table is full; a
 * slot is reused only once its job thread has exited.  One client address
 * holds at most MAX_JOBS_PER_CLIENT unfinished jobs, and the requests the
 * job threads hold (unpacked) are at most MAX_HELD_BYTES together.
 *
 * NSS (request keys, signing) is restarted by a certificate reload:
 * http_hold_nss makes new submissions 503 and job threads wait before
 * their builds, and waits for those that use it; http_release_nss ends
 * that. */
#define _GNU_SOURCE
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <json-c/json.h>
#include <keyhi.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pk11pub.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <secasn1.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "server.h"

enum {
	POOL_THREADS = 8,
	MAX_CONNECTIONS = 512,      /* open at once (MHD shares them among the pool) */
	MAX_CONNECTIONS_PER_IP = 64,
	MAX_LONG_POLLS = POOL_THREADS / 2,
	MAX_WAIT_S = 60,            /* ?wait= above this is cut to it */
	MAX_BODY = 4 << 20,         /* a submission's JSON */
	MAX_FILES = 64,
	MAX_WORDS = 256,            /* options + args */
	MAX_NAME = 128,             /* a file name */
	MAX_JOBS = 256,             /* the job table */
	MAX_JOBS_PER_CLIENT = 16,   /* queued or building, from one client address */
	MAX_HELD_BYTES = 512 << 20, /* unpacked requests held by all job threads */
	JOB_TTL_S = 600,            /* a finished job is kept this long */
	DRAIN_GRACE_S = 2,          /* at shutdown, serving on after the last build */
};

int http_port;
const char *http_listen;
bool http_plain;

enum job_state { JOB_QUEUED, JOB_BUILDING, JOB_DONE, JOB_FAILED, JOB_CANCELLED };
static const char *const state_names[] = { "queued", "building", "done", "failed", "cancelled" };

struct job {
	bool used;
	bool thread_alive;          /* its job thread has not exited: the slot stays */
	char id[33];                /* 128 random bits, hex */
	enum job_state state;
	atomic_bool started;        /* got a slot or shares a build (set under queue.c's lock) */
	time_t created, finished;
	char peer[64];
	char addr[INET6_ADDRSTRLEN];  /* the client's address, for MAX_JOBS_PER_CLIENT */
	size_t held;                /* its unpacked request's bytes, in held_bytes */
	struct prepared_request p;  /* owned by the job thread until it finishes */
	struct build_result r;      /* when finished */
	bool wants_zip;             /* submitted as a request archive */
	unsigned char *response;    /* then its response archive, when finished */
	size_t response_len;
};

static struct MHD_Daemon *daemon_;
static pthread_mutex_t jlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t jcv = PTHREAD_COND_INITIALIZER;  /* any job changed state */
static struct job jobs[MAX_JOBS];
static int running_threads, long_polls;
static int submitting;             /* submissions admitted, not yet answered or started */
static size_t held_bytes;          /* the jobs' `held`, while their threads run */
static bool nss_held;              /* http_hold_nss: nothing may start using NSS */
static int nss_users;              /* submissions and job threads using NSS now */
static atomic_bool stopping;       /* shutting down: new builds get 503 */
static atomic_bool closing;        /* the builds are over: long-polls end at once */

/* --- responses ------------------------------------------------------------------------ */

static enum MHD_Result send_body(struct MHD_Connection *c, unsigned status, const char *type,
				 const void *body, size_t len, const char *location)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
								   MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (location)
		MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, location);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, location ? location : "GET");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_object *o,
				 const char *location)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *text = xasprintf("%s\n", s);
	enum MHD_Result ret = send_body(c, status, "application/json", text, strlen(text),
					status == MHD_HTTP_METHOD_NOT_ALLOWED ? NULL : location);
	free(text);
	json_object_put(o);
	return ret;
}

/* {"error": msg, "status": N[, "field": field]} */
static enum MHD_Result vsend_error(struct MHD_Connection *c, unsigned status, const char *field,
				   const char *fmt, va_list ap)
{
	char *msg;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "error", json_object_new_string(msg ? msg : "error"));
	json_object_object_add(o, "status", json_object_new_int((int)status));
	if (field)
		json_object_object_add(o, "field", json_object_new_string(field));
	free(msg);
	return send_json(c, status, o, NULL);
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *field,
				  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *field,
				  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	enum MHD_Result ret = vsend_error(c, status, field, fmt, ap);
	va_end(ap);
	return ret;
}

/* A submission not taken: counted as a refused request (outcome
 * "refused") and by its reason (REFUSE_NONE: request.c counted it). */
static enum MHD_Result refuse(struct MHD_Connection *c, unsigned status, const char *field,
			      enum refusal why, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static enum MHD_Result refuse(struct MHD_Connection *c, unsigned status, const char *field,
			      enum refusal why, const char *fmt, ...)
{
	metrics_rejected(why);
	metrics_request("http", "refused");
	va_list ap;
	va_start(ap, fmt);
	enum MHD_Result ret = vsend_error(c, status, field, fmt, ap);
	va_end(ap);
	return ret;
}

static enum MHD_Result method_not_allowed(struct MHD_Connection *c, const char *allow)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "error", json_object_new_string("method not allowed here"));
	json_object_object_add(o, "status", json_object_new_int(405));
	json_object_object_add(o, "allow", json_object_new_string(allow));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *text = xasprintf("%s\n", s);
	enum MHD_Result ret = send_body(c, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json", text,
					strlen(text), allow);
	free(text);
	json_object_put(o);
	return ret;
}

/* --- the job table ---------------------------------------------------------------------- */

static void job_clear(struct job *j)
{
	build_result_free(&j->r);
	free(j->response);
	memset(j, 0, sizeof *j);
}

/* A free slot: unused, expired, or the oldest finished job.  NULL when
 * every slot holds a job still queued or building, or one whose thread
 * has not exited yet (a cancelled job's still uses its slot).  Under jlock. */
static struct job *job_slot(void)
{
	time_t now = time(NULL);
	struct job *oldest = NULL;
	for (int i = 0; i < MAX_JOBS; i++) {
		struct job *j = &jobs[i];
		bool over = j->used && j->state >= JOB_DONE && !j->thread_alive;
		if (over && now - j->finished > JOB_TTL_S)
			job_clear(j);
		if (!j->used)
			return j;
		if (over && (!oldest || j->finished < oldest->finished))
			oldest = j;
	}
	if (oldest)
		job_clear(oldest);
	return oldest;
}

/* Jobs of one client address still queued or building (or being
 * submitted).  Under jlock. */
static int client_jobs(const char *addr)
{
	int n = 0;
	for (int i = 0; i < MAX_JOBS; i++)
		if (jobs[i].used && jobs[i].state < JOB_DONE && strcmp(jobs[i].addr, addr) == 0)
			n++;
	return n;
}

static struct job *job_find(const char *id)
{
	for (int i = 0; i < MAX_JOBS; i++)
		if (jobs[i].used && strcmp(jobs[i].id, id) == 0)
			return &jobs[i];
	return NULL;
}

/* Called by queue.c, possibly under its lock: takes no lock of ours
 * (cancel_job takes jlock, then queue.c's). */
static void job_started(struct build_job *bj)
{
	struct job *j = bj->owner;
	atomic_store(&j->started, true);
}

static enum job_state state_of(const struct job *j)
{
	return j->state == JOB_QUEUED && atomic_load(&j->started) ? JOB_BUILDING : j->state;
}

/* A user of NSS (http_hold_nss) starts: false while NSS is held, or, with
 * wait, once it is no longer.  Under jlock. */
static bool nss_enter(bool wait)
{
	while (nss_held && wait)
		pthread_cond_wait(&jcv, &jlock);
	if (nss_held)
		return false;
	nss_users++;
	return true;
}

static void nss_leave(void)
{
	pthread_mutex_lock(&jlock);
	nss_users--;
	pthread_cond_broadcast(&jcv);
	pthread_mutex_unlock(&jlock);
}

/* The slot j stays j's until the very end (job_slot looks at thread_alive). */
static void *job_thread(void *arg)
{
	struct job *j = arg;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct build_result r;
	pthread_mutex_lock(&jlock);
	nss_enter(true);	/* the build is signed */
	pthread_mutex_unlock(&jlock);
	int rc = request_build(&j->p, j->peer, &r);
	nss_leave();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (rc != 0) {
		memset(&r, 0, sizeof r);
		r.rc = 1;
		r.err = xstrdup("Server: the server cannot make a temporary directory\n");
		r.errlen = strlen(r.err);
	}
	const char *release = j->p.job.kernel->release;
	size_t zlen = 0;
	unsigned char *zip = j->wants_zip ? request_response_zip(&j->p.req, &r, &zlen) : NULL;
	server_log("HTTP build %s from %s complete: kernel %s, rc %d, %s, %.0f ms", j->id, j->peer,
		   release, r.rc, r.cached ? "from the cache" : "built", ms);
	pthread_mutex_lock(&jlock);
	bool cancelled = j->p.job.cancel;
	if (cancelled) {	/* shown as cancelled from the start: no result */
		free(zip);
		zip = NULL;
		zlen = 0;
	}
	j->r = r;
	j->response = zip;
	j->response_len = zlen;
	j->state = cancelled ? JOB_CANCELLED : r.rc == 0 && r.module ? JOB_DONE : JOB_FAILED;
	if (!cancelled)
		j->finished = time(NULL);
	if (!cancelled)
		metrics_recent("http", release, r.module_name, r.rc, r.cached, ms);
	metrics_request("http", cancelled ? "cancelled" : r.rc != 0 ? "failed"
				: r.cached ? "cached" : "built");
	request_release(&j->p);
	held_bytes -= j->held;
	j->held = 0;
	running_threads--;
	j->thread_alive = false;
	pthread_cond_broadcast(&jcv);
	pthread_mutex_unlock(&jlock);
	return NULL;
}

/* --- a submission: JSON to a request archive in SystemTap's layout ------------------------ */

struct submission {
	struct zip_writer *w;
	struct ptrvec words;        /* borrowed strings (from the JSON) or owned in `owned` */
	struct ptrvec owned;
	int nargv;
};

static bool file_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > MAX_NAME || s[0] == '.')
		return false;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && *s != '.' && *s != '_' && *s != '-')
			return false;
	return true;
}

static bool hex_ok(const char *s, size_t lo, size_t hi)
{
	size_t n = strlen(s);
	if (n < lo || n > hi)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static void word(struct submission *s, const char *w)
{
	pv_push(&s->words, (void *)w);
}

static const char *owned(struct submission *s, char *w)
{
	pv_push(&s->owned, w);
	return w;
}

/* The error of a submission: status, field and message. */
struct bad {
	unsigned status;
	const char *field;
	char msg[256];
};

#define BAD(b, st, fld, ...) \
	((b)->status = (st), (b)->field = (fld), snprintf((b)->msg, sizeof (b)->msg, __VA_ARGS__), -1)

static int string_array(json_object *o, const char *field, size_t *count, struct bad *b)
{
	if (!o)
		return 0;
	if (!json_object_is_type(o, json_type_array))
		return BAD(b, 400, field, "'%s' must be an array of strings", field);
	size_t n = json_object_array_length(o);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(o, i);
		if (!json_object_is_type(e, json_type_string))
			return BAD(b, 400, field, "'%s'[%zu] must be a string", field, i);
		if ((size_t)json_object_get_string_len(e) != strlen(json_object_get_string(e)))
			return BAD(b, 400, field, "'%s'[%zu] contains a NUL byte", field, i);
	}
	*count += n;
	if (*count > MAX_WORDS)
		return BAD(b, 413, field, "more than %d options and arguments", MAX_WORDS);
	return 0;
}

static int zip_text(struct zip_writer *w, const char *name, const char *text)
{
	return zip_writer_add(w, name, text, strlen(text), 0644);
}

/* Checks the JSON of a submission and writes its request archive. */
static int submission_zip(json_object *top, unsigned char **zip, size_t *ziplen, struct bad *b)
{
	static const char *const known[] = {
		"files", "script", "options", "args", "kernel", "arch", "privilege",
		"mok_fingerprints",
	};
	if (!json_object_is_type(top, json_type_object))
		return BAD(b, 400, NULL, "the body must be a JSON object");
	json_object_object_foreach(top, key, val) {
		(void)val;
		size_t i = 0;
		while (i < sizeof known / sizeof *known && strcmp(known[i], key) != 0)
			i++;
		if (i == sizeof known / sizeof *known)
			return BAD(b, 400, NULL, "unknown field '%.64s'", key);
	}
	json_object *files, *script = NULL, *options = NULL, *args = NULL, *kernel, *arch = NULL,
		    *priv = NULL, *mok = NULL, *release, *build_id = NULL;
	if (!json_object_object_get_ex(top, "files", &files) ||
	    !json_object_is_type(files, json_type_object) || json_object_object_length(files) == 0)
		return BAD(b, 400, "files", "'files' must be an object of file name -> content");
	if (json_object_object_length(files) > MAX_FILES)
		return BAD(b, 413, "files", "more than %d files", MAX_FILES);
	json_object_object_foreach(files, name, content) {
		if (!file_name_ok(name))
			return BAD(b, 400, "files", "file name '%.64s' refused: letters, digits, "
				   "'.', '_', '-' only, not starting with '.', at most %d bytes",
				   name, MAX_NAME);
		if (!json_object_is_type(content, json_type_string))
			return BAD(b, 400, "files", "the content of '%.64s' must be a string", name);
	}
	json_object_object_get_ex(top, "script", &script);
	const char *main_name;
	if (script) {
		if (!json_object_is_type(script, json_type_string))
			return BAD(b, 400, "script", "'script' must be a string");
		main_name = json_object_get_string(script);
		if (!json_object_object_get_ex(files, main_name, NULL))
			return BAD(b, 400, "script", "'script' names no entry of 'files'");
	} else if (json_object_object_length(files) == 1) {
		struct json_object_iterator it = json_object_iter_begin(files);
		main_name = json_object_iter_peek_name(&it);
	} else {
		return BAD(b, 400, "script", "'script' is needed with more than one file");
	}
	size_t nwords = 0;
	json_object_object_get_ex(top, "options", &options);
	json_object_object_get_ex(top, "args", &args);
	json_object_object_get_ex(top, "mok_fingerprints", &mok);
	if (string_array(options, "options", &nwords, b) || string_array(args, "args", &nwords, b))
		return -1;
	size_t nmok = 0;
	if (string_array(mok, "mok_fingerprints", &nmok, b))
		return -1;
	for (size_t i = 0; i < nmok; i++)
		if (!cs_mok_fingerprint_ok(json_object_get_string(json_object_array_get_idx(mok, i))))
			return BAD(b, 400, "mok_fingerprints", "'mok_fingerprints'[%zu] is not a "
				   "fingerprint (aa:bb:...)", i);
	if (!json_object_object_get_ex(top, "kernel", &kernel) ||
	    !json_object_is_type(kernel, json_type_object) ||
	    !json_object_object_get_ex(kernel, "release", &release) ||
	    !json_object_is_type(release, json_type_string))
		return BAD(b, 400, "kernel", "'kernel' must be an object with a 'release' string");
	json_object_object_foreach(kernel, kkey, kval) {
		(void)kval;
		if (strcmp(kkey, "release") && strcmp(kkey, "build_id"))
			return BAD(b, 400, "kernel", "unknown field 'kernel.%.64s'", kkey);
	}
	if (!cs_kernel_release_ok(json_object_get_string(release)))
		return BAD(b, 400, "kernel", "'kernel.release' is not a kernel release");
	if (json_object_object_get_ex(kernel, "build_id", &build_id) &&
	    (!json_object_is_type(build_id, json_type_string) ||
	     !hex_ok(json_object_get_string(build_id), 2, 128)))
		return BAD(b, 400, "kernel", "'kernel.build_id' must be lower-case hex");
	if (json_object_object_get_ex(top, "arch", &arch) &&
	    (!json_object_is_type(arch, json_type_string) ||
	     strcmp(json_object_get_string(arch), "x86_64") != 0))
		return BAD(b, 400, "arch", "'arch' must be \"x86_64\" (the only one built here)");
	if (json_object_object_get_ex(top, "privilege", &priv) &&
	    (!json_object_is_type(priv, json_type_string) ||
	     (strcmp(json_object_get_string(priv), "stapusr") &&
	      strcmp(json_object_get_string(priv), "stapsys") &&
	      strcmp(json_object_get_string(priv), "stapdev"))))
		return BAD(b, 400, "privilege", "'privilege' must be stapusr, stapsys or stapdev");

	struct submission s = { .w = zip_writer_new() };
	const char *rel = json_object_get_string(release);
	char *sysinfo = xasprintf("sysinfo: %s %s", rel, arch ? json_object_get_string(arch) : "x86_64");
	int rc = zip_text(s.w, "version", CS_PROTOCOL_VERSION) | zip_text(s.w, "sysinfo", sysinfo);
	free(sysinfo);
	word(&s, owned(&s, xasprintf("script/%s", main_name)));
	bool tapsets = false;
	json_object_object_foreach(files, fname, fcontent) {
		bool is_main = strcmp(fname, main_name) == 0;
		char *entry = xasprintf("%s/%s", is_main ? "script" : "tapset/http", fname);
		rc |= zip_writer_add(s.w, entry, json_object_get_string(fcontent),
				     (size_t)json_object_get_string_len(fcontent), 0644);
		free(entry);
		tapsets |= !is_main;
	}
	if (tapsets) {
		word(&s, "-I");
		word(&s, "tapset/http");
	}
	for (size_t i = 0; options && i < json_object_array_length(options); i++)
		word(&s, json_object_get_string(json_object_array_get_idx(options, i)));
	if (priv)
		word(&s, owned(&s, xasprintf("--privilege=%s", json_object_get_string(priv))));
	if (args && json_object_array_length(args)) {
		word(&s, "--");
		for (size_t i = 0; i < json_object_array_length(args); i++)
			word(&s, json_object_get_string(json_object_array_get_idx(args, i)));
	}
	for (size_t i = 0; i < s.words.n; i++) {
		char entry[32];
		snprintf(entry, sizeof entry, "argv%zu", i + 1);
		rc |= zip_text(s.w, entry, s.words.v[i]);
	}
	if (build_id)
		rc |= zip_text(s.w, "kernel_build_id", json_object_get_string(build_id));
	if (mok) {
		struct strbuf sb;
		sb_init(&sb);
		for (size_t i = 0; i < nmok; i++)
			sb_printf(&sb, "%s\n", json_object_get_string(json_object_array_get_idx(mok, i)));
		rc |= zip_writer_add(s.w, "mok_fingerprints", sb.s, sb.len, 0644);
		sb_free(&sb);
	}
	for (size_t i = 0; i < s.owned.n; i++)
		free(s.owned.v[i]);
	pv_free(&s.owned);
	pv_free(&s.words);
	if (rc) {
		zip_writer_abort(s.w);
		return BAD(b, 400, "files", "the request could not be assembled");
	}
	if (zip_writer_finish(s.w, zip, ziplen) != 0)
		return BAD(b, 400, "files", "the request could not be assembled");
	return 0;
}

/* --- endpoints ---------------------------------------------------------------------------- */

struct upload {
	struct strbuf body;
	bool too_large;
	bool is_zip;                /* Content-Type: application/zip */
	size_t limit;               /* MAX_BODY, or cfg.max_compressed for an archive */
};

/* The client as "ADDR:PORT" (for the log) and its address alone. */
static void peer_of(struct MHD_Connection *c, char *out, size_t n, char *addr, size_t addrlen)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, n, "?");
	snprintf(addr, addrlen, "?");
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, addr, (socklen_t)addrlen);
		snprintf(out, n, "%s:%u", addr, (unsigned)ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, addr, (socklen_t)addrlen);
		snprintf(out, n, "[%s]:%u", addr, (unsigned)ntohs(in6->sin6_port));
	}
}

static enum MHD_Result enqueue(struct MHD_Connection *c, const unsigned char *zip, size_t ziplen,
			       bool wants_zip);

static enum MHD_Result submit(struct MHD_Connection *c, struct upload *u)
{
	if (u->too_large)
		return refuse(c, MHD_HTTP_CONTENT_TOO_LARGE, NULL, REFUSE_SIZE,
			      "the body is larger than %zu bytes", u->limit);
	if (u->is_zip)
		return enqueue(c, (unsigned char *)u->body.s, u->body.len, true);
	const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	if (!type || strncasecmp(type, "application/json", 16) != 0 ||
	    (type[16] && type[16] != ';' && type[16] != ' '))
		return refuse(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, NULL, REFUSE_JSON,
			      "Content-Type must be application/json (or application/zip: a request archive)");
	struct json_tokener *tok = json_tokener_new_ex(16);
	json_object *top = json_tokener_parse_ex(tok, u->body.s ? u->body.s : "", (int)u->body.len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	bool trailing = top && tok->char_offset < (int)u->body.len &&
			strspn(u->body.s + tok->char_offset, " \t\r\n") !=
				u->body.len - (size_t)tok->char_offset;
	json_tokener_free(tok);
	if (!top || jerr != json_tokener_success || trailing) {
		json_object_put(top);
		return refuse(c, MHD_HTTP_BAD_REQUEST, NULL, REFUSE_JSON, "the body is not JSON: %s",
			      trailing ? "text after the value" :
			      jerr == json_tokener_continue ? "unexpected end" :
			      json_tokener_error_desc(jerr));
	}
	struct bad b = { 0 };
	unsigned char *zip = NULL;
	size_t ziplen = 0;
	int rc = submission_zip(top, &zip, &ziplen, &b);
	json_object_put(top);
	if (rc != 0)
		return refuse(c, b.status, b.field, b.status == 413 ? REFUSE_SIZE : REFUSE_JSON,
			      "%s", b.msg);
	enum MHD_Result ret = enqueue(c, zip, ziplen, false);
	free(zip);
	return ret;
}

/* Whether request_prepare refused an archive for its size (413, as a
 * JSON body too large): zip_read_mem's messages for its limits. */
static bool archive_too_large(const struct prepared_request *p)
{
	static const char pre[] = "the request archive was refused: ";
	if (p->refusal != REFUSE_ARCHIVE || !p->message ||
	    strncmp(p->message, pre, sizeof pre - 1) != 0)
		return false;
	const char *m = p->message + sizeof pre - 1;
	if (strncmp(m, "archive too large (", 19) == 0 ||
	    strncmp(m, "too many entries in the archive (", 33) == 0)
		return true;
	/* "entry 'NAME' is too large (...)": NAME is the client's, so the
	 * fixed part is the one after its last occurrence */
	static const char mid[] = "' is too large (";
	const char *rest = NULL;
	for (const char *t = m; (t = strstr(t, mid)); t++)
		rest = t + sizeof mid - 1;
	if (strncmp(m, "entry '", 7) != 0 || !rest)
		return false;
	unsigned long long got, limit;
	int end = -1;
	if (sscanf(rest, "over %llu bytes)%n", &limit, &end) == 1 && end > 0 && !rest[end])
		return true;
	end = -1;
	return sscanf(rest, "%llu bytes; the limit is %llu)%n", &got, &limit, &end) == 2 &&
	       end > 0 && !rest[end];
}

/* Bytes a prepared request holds until its job thread ends. */
static size_t unpacked_size(const struct prepared_request *p)
{
	size_t n = 0;
	for (size_t i = 0; i < p->z.n; i++)
		n += p->z.e[i].size + strlen(p->z.e[i].name);
	return n;
}

/* Why a submission from addr cannot be taken now (NULL: it can), with
 * its status and reason.  Under jlock. */
static const char *not_admitted(const char *addr, unsigned *status, enum refusal *why)
{
	*status = MHD_HTTP_SERVICE_UNAVAILABLE;
	*why = REFUSE_BUSY;
	if (stopping)
		return "the server is shutting down";
	if (nss_held)
		return "the server is loading a new certificate; try again in a few seconds";
	*why = REFUSE_MEMORY;
	if (held_bytes >= MAX_HELD_BYTES)
		return "the builds waiting hold too much memory; try again later";
	*status = MHD_HTTP_TOO_MANY_REQUESTS;
	*why = REFUSE_CLIENT_LIMIT;
	if (client_jobs(addr) >= MAX_JOBS_PER_CLIENT)
		return "this client address has too many builds queued or running; "
		       "try again when one has ended";
	*why = REFUSE_BUSY;
	return NULL;
}

/* A request archive (from JSON, or as sent): checked and keyed now,
 * built by a job thread. */
static enum MHD_Result enqueue(struct MHD_Connection *c, const unsigned char *zip, size_t ziplen,
			       bool wants_zip)
{
	char peer[64], addr[INET6_ADDRSTRLEN];
	peer_of(c, peer, sizeof peer, addr, sizeof addr);
	server_log("HTTP request from %s: %zu bytes%s", peer, ziplen,
		   wants_zip ? " (request archive)" : "");
	unsigned char rnd[16];	/* the id: whoever knows it may follow and cancel the build */
	if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
		return refuse(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, REFUSE_TMPDIR,
			      "no random bytes for a build id: %s", strerror(errno));

	unsigned status;
	enum refusal why;
	pthread_mutex_lock(&jlock);
	const char *no = not_admitted(addr, &status, &why);
	struct job *j = no ? NULL : job_slot();
	if (j) {
		j->used = true;	/* reserved: counts for its client at once */
		snprintf(j->addr, sizeof j->addr, "%s", addr);
		nss_enter(false);	/* not held: not_admitted said so */
		submitting++;	/* http_stop waits for its answer */
	}
	pthread_mutex_unlock(&jlock);
	if (no) {
		if (status == MHD_HTTP_TOO_MANY_REQUESTS)
			return refuse(c, status, NULL, why, "%s (at most %d)", no, MAX_JOBS_PER_CLIENT);
		if (why == REFUSE_MEMORY)
			return refuse(c, status, NULL, why, "%s (at most %d MiB)", no,
				      MAX_HELD_BYTES >> 20);
		return refuse(c, status, NULL, why, "%s", no);
	}
	if (!j)
		return refuse(c, MHD_HTTP_TOO_MANY_REQUESTS, NULL, REFUSE_BUSY,
			      "%d builds are already queued or running; try again later", MAX_JOBS);

	struct prepared_request p;
	int prepared = request_prepare(zip, ziplen, peer, &p);
	nss_leave();
	size_t bytes = prepared == 0 ? unpacked_size(&p) : 0;
	pthread_mutex_lock(&jlock);
	submitting--;
	pthread_cond_broadcast(&jcv);
	/* stopping again: http_stop may have begun while it was prepared */
	bool late_stop = prepared == 0 && stopping;
	bool late_memory = prepared == 0 && !late_stop && held_bytes + bytes > MAX_HELD_BYTES;
	if (prepared != 0 || late_stop || late_memory) {
		job_clear(j);	/* the reservation */
		pthread_mutex_unlock(&jlock);
		enum MHD_Result ret;
		if (prepared != 0)
			ret = refuse(c, archive_too_large(&p) ? MHD_HTTP_CONTENT_TOO_LARGE :
				     MHD_HTTP_BAD_REQUEST,
				     p.refusal == REFUSE_KERNEL ? "kernel" :
				     p.refusal == REFUSE_PRIVILEGE ? "privilege" : NULL,
				     REFUSE_NONE, "%s", p.message);
		else if (late_stop)
			ret = refuse(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, REFUSE_BUSY,
				     "the server is shutting down");
		else
			ret = refuse(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, REFUSE_MEMORY,
				     "the builds waiting hold too much memory; try again later "
				     "(at most %d MiB)", MAX_HELD_BYTES >> 20);
		request_release(&p);
		return ret;
	}
	for (size_t i = 0; i < sizeof rnd; i++)
		sprintf(j->id + 2 * i, "%02x", rnd[i]);
	explicit_bzero(rnd, sizeof rnd);
	j->state = JOB_QUEUED;
	j->created = time(NULL);
	snprintf(j->peer, sizeof j->peer, "%s", peer);
	j->p = p;
	j->p.job.req = &j->p.req;	/* p moved: its job points into it */
	j->p.job.files = &j->p.z;
	j->p.job.started = job_started;
	j->p.job.owner = j;
	j->wants_zip = wants_zip;
	j->held = bytes;
	char id[33];
	memcpy(id, j->id, sizeof id);
	/* under jlock: http_stop (which sets stopping under it) either
	 * refused this above or sees the thread in running_threads */
	running_threads++;
	held_bytes += bytes;
	j->thread_alive = true;
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, job_thread, j) != 0) {
		running_threads--;
		held_bytes -= bytes;
		request_release(&j->p);
		job_clear(j);
		pthread_mutex_unlock(&jlock);
		pthread_attr_destroy(&attr);
		return refuse(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, REFUSE_TMPDIR,
			      "no thread for the build");
	}
	pthread_attr_destroy(&attr);
	pthread_mutex_unlock(&jlock);
	server_log("HTTP build %s queued for %s", id, peer);

	char *loc = xasprintf("/v1/builds/%s", id);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "state", json_object_new_string("queued"));
	json_object_object_add(o, "location", json_object_new_string(loc));
	enum MHD_Result ret = send_json(c, MHD_HTTP_ACCEPTED, o, loc);
	free(loc);
	return ret;
}

/* The state of j as JSON.  Under jlock. */
static json_object *job_json(const struct job *j)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(j->id));
	json_object_object_add(o, "state", json_object_new_string(state_names[state_of(j)]));
	if (j->state == JOB_DONE || j->state == JOB_FAILED) {	/* a cancelled one has no result */
		json_object_object_add(o, "rc", json_object_new_int(j->r.rc));
		json_object_object_add(o, "stdout", json_object_new_string_len(j->r.out ? j->r.out : "",
									      (int)j->r.outlen));
		json_object_object_add(o, "stderr", json_object_new_string_len(j->r.err ? j->r.err : "",
									      (int)j->r.errlen));
		json_object_object_add(o, "cached", json_object_new_boolean(j->r.cached));
		if (j->response) {
			char *z = xasprintf("/v1/builds/%s/response.zip", j->id);
			json_object_object_add(o, "response_url", json_object_new_string(z));
			free(z);
		}
		if (j->r.module_name && j->r.module) {
			char *m = xasprintf("/v1/builds/%s/module", j->id);
			json_object_object_add(o, "module", json_object_new_string(j->r.module_name));
			json_object_object_add(o, "module_url", json_object_new_string(m));
			free(m);
			if (j->r.sgn) {
				m = xasprintf("/v1/builds/%s/module.sgn", j->id);
				json_object_object_add(o, "signature_url", json_object_new_string(m));
				free(m);
			}
		}
	}
	return o;
}

static long wait_seconds(struct MHD_Connection *c, bool *bad)
{
	const char *w = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "wait");
	*bad = false;
	if (!w)
		return 0;
	char *end;
	errno = 0;
	long v = strtol(w, &end, 10);
	if (errno || end == w || *end || v < 0) {
		*bad = true;
		return 0;
	}
	return v > MAX_WAIT_S ? MAX_WAIT_S : v;
}

static enum MHD_Result get_job(struct MHD_Connection *c, const char *id)
{
	bool bad;
	long wait = wait_seconds(c, &bad);
	if (bad)
		return send_error(c, MHD_HTTP_BAD_REQUEST, "wait", "?wait= takes whole seconds");
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += wait;
	pthread_mutex_lock(&jlock);
	struct job *j = job_find(id);
	if (j && j->state < JOB_DONE && wait > 0 && long_polls < MAX_LONG_POLLS) {
		long_polls++;
		while ((j = job_find(id)) && j->state < JOB_DONE && !closing &&
		       pthread_cond_timedwait(&jcv, &jlock, &deadline) != ETIMEDOUT)
			;
		j = job_find(id);
		long_polls--;
	}
	if (!j) {
		pthread_mutex_unlock(&jlock);
		return send_error(c, MHD_HTTP_NOT_FOUND, NULL, "no build %.40s (finished builds "
				  "expire after %d s)", id, JOB_TTL_S);
	}
	json_object *o = job_json(j);
	pthread_mutex_unlock(&jlock);
	return send_json(c, MHD_HTTP_OK, o, NULL);
}

enum file_kind { FILE_MODULE, FILE_SGN, FILE_RESPONSE };

static enum MHD_Result get_file(struct MHD_Connection *c, const char *id, enum file_kind kind)
{
	pthread_mutex_lock(&jlock);
	struct job *j = job_find(id);
	if (!j) {
		pthread_mutex_unlock(&jlock);
		return send_error(c, MHD_HTTP_NOT_FOUND, NULL, "no build %.40s", id);
	}
	if (j->state < JOB_DONE) {
		pthread_mutex_unlock(&jlock);
		return send_error(c, MHD_HTTP_CONFLICT, NULL, "build %s is still %s", id,
				  state_names[state_of(j)]);
	}
	bool sgn = kind == FILE_SGN;
	const unsigned char *data = kind == FILE_RESPONSE ? j->response : sgn ? j->r.sgn : j->r.module;
	size_t len = kind == FILE_RESPONSE ? j->response_len : sgn ? j->r.sgnlen : j->r.modlen;
	if (!data || (kind != FILE_RESPONSE && j->state != JOB_DONE)) {
		pthread_mutex_unlock(&jlock);
		return send_error(c, MHD_HTTP_NOT_FOUND, NULL, "build %s has no %s", id,
				  kind == FILE_RESPONSE ? "response archive (only for a request "
				  "archive submitted as application/zip)" :
				  sgn ? "signature (stapdev modules are not signed)" : "module");
	}
	char *disp = kind == FILE_RESPONSE ? xstrdup("attachment; filename=\"response.zip\"") :
		xasprintf("attachment; filename=\"%s%s\"", j->r.module_name, sgn ? ".sgn" : "");
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data,
								   MHD_RESPMEM_MUST_COPY);
	pthread_mutex_unlock(&jlock);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, kind == FILE_RESPONSE ?
				"application/zip" : "application/octet-stream");
	MHD_add_response_header(r, "Content-Disposition", disp);
	free(disp);
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result cancel_job(struct MHD_Connection *c, const char *id)
{
	pthread_mutex_lock(&jlock);
	struct job *j = job_find(id);
	if (!j) {
		pthread_mutex_unlock(&jlock);
		return send_error(c, MHD_HTTP_NOT_FOUND, NULL, "no build %.40s", id);
	}
	bool ok = j->state == JOB_QUEUED && queue_cancel(&j->p.job);
	if (!ok) {
		const char *st = state_names[state_of(j)];
		pthread_mutex_unlock(&jlock);
		return send_error(c, MHD_HTTP_CONFLICT, NULL, "build %s is %s: only a queued build "
				  "that no other request shares can be cancelled", id, st);
	}
	j->state = JOB_CANCELLED;
	j->finished = time(NULL);
	json_object *o = job_json(j);
	pthread_cond_broadcast(&jcv);
	pthread_mutex_unlock(&jlock);
	server_log("HTTP build %s cancelled", id);
	return send_json(c, MHD_HTTP_OK, o, NULL);
}

static enum MHD_Result get_kernels(struct MHD_Connection *c)
{
	size_t nk;
	struct kstore_kernel *k = kstore_list(&nk);
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < nk; i++) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "release", json_object_new_string(k[i].release));
		json_object_object_add(e, "arch", json_object_new_string("x86_64"));
		json_object_object_add(e, "build_id", k[i].build_id ?
				       json_object_new_string(k[i].build_id) : NULL);
		json_object_array_add(a, e);
	}
	kstore_free(k, nk);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "kernels", a);
	return send_json(c, MHD_HTTP_OK, o, NULL);
}

static enum MHD_Result get_health(struct MHD_Connection *c)
{
	int busy, waiting;
	queue_stats(&busy, &waiting);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(stopping ? "stopping" : "ok"));
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "builds_running", json_object_new_int(busy));
	json_object_object_add(o, "queue_depth", json_object_new_int(waiting));
	json_object_object_add(o, "max_privilege", json_object_new_string(cfg.max_privilege));
	return send_json(c, stopping ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK, o, NULL);
}

static bool is(const char *m, const char *want)
{
	return strcmp(m, want) == 0;
}

/* "/v1/builds/ID[/tail]": copies ID (32 hex) and points tail after it. */
static bool build_path(const char *url, char *id, const char **tail)
{
	const char *pre = "/v1/builds/";
	if (strncmp(url, pre, strlen(pre)) != 0)
		return false;
	const char *s = url + strlen(pre), *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n > 32)
		return false;
	memcpy(id, s, n);
	id[n] = '\0';
	*tail = slash ? slash : "";
	return true;
}

static enum MHD_Result route(struct MHD_Connection *c, const char *url, const char *m,
			     struct upload *u)
{
	char id[33];
	const char *tail;
	bool get = is(m, "GET") || is(m, "HEAD");
	if (is(url, "/v1/builds")) {
		if (!is(m, "POST"))
			return method_not_allowed(c, "POST");
		return submit(c, u);
	}
	if (build_path(url, id, &tail)) {
		if (!*tail) {
			if (is(m, "DELETE"))
				return cancel_job(c, id);
			return get ? get_job(c, id) : method_not_allowed(c, "GET, HEAD, DELETE");
		}
		if (is(tail, "/module") || is(tail, "/module.sgn") || is(tail, "/response.zip"))
			return get ? get_file(c, id, is(tail, "/module") ? FILE_MODULE :
					      is(tail, "/module.sgn") ? FILE_SGN : FILE_RESPONSE)
				   : method_not_allowed(c, "GET, HEAD");
	} else if (is(url, "/v1/kernels") || is(url, "/v1/health") || is(url, "/metrics") ||
		   is(url, "/")) {
		if (!get)
			return method_not_allowed(c, "GET, HEAD");
		if (is(url, "/v1/kernels"))
			return get_kernels(c);
		if (is(url, "/v1/health"))
			return get_health(c);
		char *text = is(url, "/") ? metrics_status_page() : metrics_text();
		enum MHD_Result ret = send_body(c, MHD_HTTP_OK, is(url, "/") ?
						"text/html; charset=utf-8" :
						"text/plain; version=0.0.4; charset=utf-8",
						text, strlen(text), NULL);
		free(text);
		return ret;
	}
	return send_error(c, MHD_HTTP_NOT_FOUND, NULL, "no such resource: %.100s", url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	(void)cls;
	(void)version;
	struct upload *u = *con_cls;
	if (!u) {
		u = xcalloc(1, sizeof *u);
		sb_init(&u->body);
		*con_cls = u;
		const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
		u->is_zip = type && strcasecmp(type, "application/zip") == 0;
		u->limit = u->is_zip ? cfg.max_compressed : MAX_BODY;
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > u->limit)
			u->too_large = true;
		return MHD_YES;
	}
	if (*data_size) {
		if (!u->too_large && u->body.len + *data_size > u->limit)
			u->too_large = true;
		if (!u->too_large && is(method, "POST"))
			sb_putn(&u->body, data, *data_size);
		*data_size = 0;
		return MHD_YES;
	}
	return route(c, url, method, u);
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct upload *u = *con_cls;
	if (u) {
		sb_free(&u->body);
		free(u);
		*con_cls = NULL;
	}
}

/* --- start and stop ------------------------------------------------------------------------ */

/* The certificates the API has served, oldest first; the last one is
 * given to new connections.  GnuTLS keeps the pointers pick_certificate
 * returns for the whole session, and nothing tells when the last session
 * of an old certificate ended, so a replaced one is kept until http_stop.
 * SIGHUP replaces it only when the database changed, so MAX_IDENTITIES
 * is far more than a server sees between two restarts. */
enum { MAX_IDENTITIES = 32 };
struct tls_identity {
	gnutls_pcert_st pcert;      /* the certificate and its public key */
	gnutls_privkey_t key;
	char *certinfo;             /* its serial, for the log */
};
static pthread_mutex_t idlock = PTHREAD_MUTEX_INITIALIZER;
static struct tls_identity *identities[MAX_IDENTITIES];
static int nidentities;

/* MHD_OPTION_HTTPS_CERT_CALLBACK: called by GnuTLS in each handshake
 * (from the pool threads).  The server has one certificate at a time;
 * what the client asks for (SNI, algorithms) does not change it. */
static int pick_certificate(gnutls_session_t session, const gnutls_datum_t *req_ca_dn,
			    int nreqs, const gnutls_pk_algorithm_t *pk_algos, int npk_algos,
			    gnutls_pcert_st **pcert, unsigned *npcert, gnutls_privkey_t *key)
{
	(void)session;
	(void)req_ca_dn;
	(void)nreqs;
	(void)pk_algos;
	(void)npk_algos;
	pthread_mutex_lock(&idlock);
	struct tls_identity *id = nidentities ? identities[nidentities - 1] : NULL;
	pthread_mutex_unlock(&idlock);
	if (!id) {
		*npcert = 0;
		return -1;          /* the handshake fails */
	}
	*pcert = &id->pcert;
	*npcert = 1;
	*key = id->key;
	return 0;
}

static void identity_free(struct tls_identity *id)
{
	if (!id)
		return;
	gnutls_pcert_deinit(&id->pcert);
	gnutls_privkey_deinit(id->key);     /* GnuTLS zeroes the key's numbers */
	free(id->certinfo);
	free(id);
}

/* The server's key as GnuTLS's.  The key is sensitive in its NSS
 * database (it cannot leave in the clear), so NSS wraps it as an
 * encrypted PKCS#8 (PBES2, AES-256-CBC, PBKDF2 with HMAC-SHA256) under a
 * random one-time password, and GnuTLS unwraps it.  It never touches a
 * file; the password and the wrapped key are wiped at once. */
static gnutls_privkey_t export_key(char *err, size_t errlen)
{
	unsigned char rnd[24];
	char password[2 * sizeof rnd + 1];
	if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) {
		snprintf(err, errlen, "no random bytes for the key's password");
		return NULL;
	}
	for (size_t i = 0; i < sizeof rnd; i++)
		sprintf(password + 2 * i, "%02x", rnd[i]);
	explicit_bzero(rnd, sizeof rnd);
	SECItem pw = { siBuffer, (unsigned char *)password, (unsigned)strlen(password) };
	PK11SlotInfo *slot = PK11_GetInternalKeySlot();
	SECKEYEncryptedPrivateKeyInfo *epki = PK11_ExportEncryptedPrivKeyInfoV2(
		slot, SEC_OID_PKCS5_PBES2, SEC_OID_AES_256_CBC, SEC_OID_HMAC_SHA256, &pw,
		(SECKEYPrivateKey *)server_id->key, 10000, NULL);
	if (slot)
		PK11_FreeSlot(slot);
	SECItem *der = NULL;
	if (epki) {
		der = SEC_ASN1EncodeItem(NULL, NULL, epki, SECKEY_EncryptedPrivateKeyInfoTemplate);
		SECKEY_DestroyEncryptedPrivateKeyInfo(epki, PR_TRUE);
	}
	gnutls_privkey_t key = NULL;
	if (!der) {
		snprintf(err, errlen, "cannot export the server's key from NSS (error %d)",
			 (int)PORT_GetError());
	} else {
		gnutls_datum_t d = { der->data, der->len };
		int rc = gnutls_privkey_init(&key);
		if (rc == 0)
			rc = gnutls_privkey_import_x509_raw(key, &d, GNUTLS_X509_FMT_DER, password, 0);
		if (rc != 0) {
			snprintf(err, errlen, "GnuTLS cannot use the server's key: %s",
				 gnutls_strerror(rc));
			gnutls_privkey_deinit(key);
			key = NULL;
		}
		SECITEM_ZfreeItem(der, PR_TRUE);
	}
	explicit_bzero(password, sizeof password);
	return key;
}

/* The server's certificate and key (server_id) as GnuTLS's, or NULL
 * with a message in err. */
static struct tls_identity *export_identity(char *err, size_t errlen)
{
	struct tls_identity *id = xcalloc(1, sizeof *id);
	gnutls_datum_t d = { server_id->der, (unsigned)server_id->derlen };
	int rc = gnutls_pcert_import_x509_raw(&id->pcert, &d, GNUTLS_X509_FMT_DER, 0);
	if (rc != 0) {
		snprintf(err, errlen, "GnuTLS cannot use the server's certificate: %s",
			 gnutls_strerror(rc));
		free(id);
		return NULL;
	}
	id->key = export_key(err, errlen);
	if (!id->key) {
		gnutls_pcert_deinit(&id->pcert);
		free(id);
		return NULL;
	}
	id->certinfo = xstrdup(server_id->certinfo);
	return id;
}

/* Makes id the one new connections get; false (id untouched) when
 * MAX_IDENTITIES are held already. */
static bool identity_serve(struct tls_identity *id)
{
	pthread_mutex_lock(&idlock);
	bool room = nidentities < MAX_IDENTITIES;
	if (room)
		identities[nidentities++] = id;
	pthread_mutex_unlock(&idlock);
	return room;
}

/* http_stop, once no connection is left */
static void identities_free(void)
{
	pthread_mutex_lock(&idlock);
	for (int i = 0; i < nidentities; i++) {
		identity_free(identities[i]);
		identities[i] = NULL;
	}
	nidentities = 0;
	pthread_mutex_unlock(&idlock);
}

void http_reload_certificate(void)
{
	if (!daemon_ || http_plain)
		return;
	char err[256];
	struct tls_identity *id = export_identity(err, sizeof err);
	if (!id) {
		server_log("HTTP API keeps its certificate: %s", err);
		return;
	}
	if (!identity_serve(id)) {
		server_log("HTTP API keeps its certificate: it has served %d since it started, "
			   "the most it holds; restart the server to serve %s", MAX_IDENTITIES,
			   id->certinfo);
		identity_free(id);
		return;
	}
	server_log("HTTP API serves certificate %s to new connections", id->certinfo);
}

void http_start(void)
{
	if (http_port == 0)
		return;
	struct sockaddr_storage ss = { 0 };
	socklen_t sslen;
	const char *addr = http_listen ? http_listen : cfg.listen;
	bool loopback = false;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (!addr) {
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_any;
		in6->sin6_port = htons((uint16_t)http_port);
		sslen = sizeof *in6;
		flags |= MHD_USE_DUAL_STACK;
	} else if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)http_port);
		sslen = sizeof *in;
		loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)http_port);
		sslen = sizeof *in6;
		flags |= MHD_USE_IPv6;
		loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	} else {
		fprintf(stderr, "stap-serverd: --http-listen %s: not a numeric IPv4 or IPv6 address\n",
			addr);
		exit(1);
	}
	if (http_plain && !loopback) {
		fprintf(stderr, "stap-serverd: --http-plain: refused on %s; plain HTTP is served on a "
			"loopback address only (--http-listen 127.0.0.1)\n", addr ? addr : "every address");
		server_log("--http-plain refused: the listen address is not loopback");
		exit(1);
	}
	char err[256];
	if (!http_plain) {
		struct tls_identity *id = export_identity(err, sizeof err);
		if (!id) {
			server_log("HTTP API not started: %s", err);
			fprintf(stderr, "stap-serverd: HTTP API: %s\n", err);
			exit(1);
		}
		identity_serve(id);
		flags |= MHD_USE_TLS;
	}
	gnutls_certificate_retrieve_function2 *pick = pick_certificate;  /* its type checked */
	daemon_ = MHD_start_daemon(flags, (uint16_t)http_port, NULL, NULL, on_request, NULL,
				   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				   MHD_OPTION_THREAD_POOL_SIZE, (unsigned)POOL_THREADS,
				   MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
				   MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS_PER_IP,
				   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(cfg.read_timeout_s + MAX_WAIT_S),
				   MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
				   MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
				   /* no MEM_KEY/MEM_CERT: the callback is all GnuTLS needs */
				   http_plain ? MHD_OPTION_END : MHD_OPTION_HTTPS_CERT_CALLBACK, pick,
				   MHD_OPTION_END);
	(void)sslen;
	if (!daemon_) {
		server_log("HTTP API not started on port %d: %s", http_port, strerror(errno));
		fprintf(stderr, "stap-serverd: --http-port %d: cannot listen\n", http_port);
		exit(1);
	}
	server_log("HTTP API (%s) on [%s]:%d", http_plain ? "plain HTTP" : "HTTPS",
		   addr ? addr : "::", http_port);
}

/* New builds are refused (503) at once, and so are those being prepared
 * when the stop came; queued ones are cancelled; the builds under way
 * finish while the API still answers, so that their clients can follow
 * them and fetch the modules (DRAIN_GRACE_S more after the last), as
 * connection threads finish their requests; then the daemon stops. */
int http_builds_running(void)
{
	pthread_mutex_lock(&jlock);
	int n = running_threads;
	pthread_mutex_unlock(&jlock);
	return n;
}

/* 200 ms from now, for pthread_cond_timedwait on jcv */
static struct timespec tick_from_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_nsec += 200 * 1000 * 1000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

bool http_stop(bool (*give_up)(void))
{
	if (!daemon_)
		return true;
	pthread_mutex_lock(&jlock);
	atomic_store(&stopping, true);
	for (int i = 0; i < MAX_JOBS; i++) {	/* builds not yet started: give up */
		if (jobs[i].used && jobs[i].state == JOB_QUEUED && !atomic_load(&jobs[i].started) &&
		    queue_cancel(&jobs[i].p.job)) {
			jobs[i].state = JOB_CANCELLED;
			jobs[i].finished = time(NULL);
		}
	}
	pthread_cond_broadcast(&jcv);
	/* a submission being prepared gets its 503, or starts its build */
	bool drained = running_threads > 0 || submitting > 0;
	if (running_threads > 0)
		server_log("HTTP API: waiting for %d build%s under way", running_threads,
			   running_threads == 1 ? "" : "s");
	while (running_threads > 0 || submitting > 0) {
		struct timespec tick = tick_from_now();
		pthread_cond_timedwait(&jcv, &jlock, &tick);
		if ((running_threads > 0 || submitting > 0) && give_up && give_up()) {
			/* a second signal: the server kills the builds and
			 * exits; nothing here is freed under their feet */
			server_log("HTTP API: not waiting for %d build%s", running_threads,
				   running_threads == 1 ? "" : "s");
			pthread_mutex_unlock(&jlock);
			return false;
		}
	}
	if (drained) {	/* their clients fetch the results */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += DRAIN_GRACE_S;
		while (pthread_cond_timedwait(&jcv, &jlock, &until) != ETIMEDOUT)
			;
	}
	atomic_store(&closing, true);
	pthread_cond_broadcast(&jcv);
	pthread_mutex_unlock(&jlock);
	MHD_stop_daemon(daemon_);
	daemon_ = NULL;
	pthread_mutex_lock(&jlock);
	for (int i = 0; i < MAX_JOBS; i++)
		if (jobs[i].used)
			job_clear(&jobs[i]);
	pthread_mutex_unlock(&jlock);
	identities_free();
	server_log("HTTP API stopped");
	return true;
}

bool http_hold_nss(bool (*give_up)(void))
{
	if (!daemon_)
		return true;
	pthread_mutex_lock(&jlock);
	nss_held = true;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (nss_users > 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		/* as long as wait_for_nss_idle waits for builds */
		if (now.tv_sec - t0.tv_sec > cfg.build_timeout_s + 60 || (give_up && give_up())) {
			server_log("HTTP API: %d request%s still use%s NSS: certificate not loaded",
				   nss_users, nss_users == 1 ? "" : "s", nss_users == 1 ? "s" : "");
			nss_held = false;
			pthread_cond_broadcast(&jcv);
			pthread_mutex_unlock(&jlock);
			return false;
		}
		struct timespec tick = tick_from_now();
		pthread_cond_timedwait(&jcv, &jlock, &tick);
	}
	pthread_mutex_unlock(&jlock);
	return true;
}

void http_release_nss(void)
{
	pthread_mutex_lock(&jlock);
	nss_held = false;
	pthread_cond_broadcast(&jcv);
	pthread_mutex_unlock(&jlock);
}
