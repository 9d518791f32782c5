/* The HTTP/JSON API (docs/http-api.md) on libmicrohttpd.
 *
 * Threading: MHD's own thread pool (POOL_THREADS) answers requests; none
 * of them ever builds.  A submission is checked and keyed at once
 * (server/request.c, the same code the SystemTap protocol uses), put in
 * the job table and handed to a detached job thread that runs it through
 * queue_build like a connection thread would.  Long-polls wait on one
 * condition variable, at most MAX_LONG_POLLS at a time so that they never
 * occupy the whole pool.  The job table is bounded: finished jobs expire
 * after JOB_TTL_S, or earlier (oldest first) when the table is full. */
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
	char id[33];                /* 128 random bits, hex */
	enum job_state state;
	atomic_bool started;        /* got a slot or shares a build (set under queue.c's lock) */
	time_t created, finished;
	char peer[64];
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
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *field,
				  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *field,
				  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "error", json_object_new_string(msg ? msg : "error"));
	json_object_object_add(o, "status", json_object_new_int((int)status));
	if (field)
		json_object_object_add(o, "field", json_object_new_string(field));
	free(msg);
	if (status != MHD_HTTP_NOT_FOUND && status != MHD_HTTP_METHOD_NOT_ALLOWED &&
	    status != MHD_HTTP_CONFLICT)
		metrics_request("http", "refused");
	return send_json(c, status, o, NULL);
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
 * every slot holds a job still queued or building.  Under jlock. */
static struct job *job_slot(void)
{
	time_t now = time(NULL);
	struct job *oldest = NULL;
	for (int i = 0; i < MAX_JOBS; i++) {
		struct job *j = &jobs[i];
		if (j->used && j->state >= JOB_DONE && now - j->finished > JOB_TTL_S)
			job_clear(j);
		if (!j->used)
			return j;
		if (j->state >= JOB_DONE && (!oldest || j->finished < oldest->finished))
			oldest = j;
	}
	if (oldest)
		job_clear(oldest);
	return oldest;
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

static void *job_thread(void *arg)
{
	struct job *j = arg;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct build_result r;
	int rc = request_build(&j->p, j->peer, &r);
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
	j->r = r;
	j->response = zip;
	j->response_len = zlen;
	j->state = cancelled ? JOB_CANCELLED : r.rc == 0 && r.module ? JOB_DONE : JOB_FAILED;
	j->finished = time(NULL);
	if (!cancelled)
		metrics_recent("http", release, r.module_name, r.rc, r.cached, ms);
	metrics_request("http", cancelled ? "cancelled" : r.rc != 0 ? "failed"
				: r.cached ? "cached" : "built");
	request_release(&j->p);
	running_threads--;
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

static void peer_of(struct MHD_Connection *c, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, n, "?");
	if (!ci || !ci->client_addr)
		return;
	char ip[INET6_ADDRSTRLEN] = "?";
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
		snprintf(out, n, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
		snprintf(out, n, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
	}
}

static enum MHD_Result enqueue(struct MHD_Connection *c, const unsigned char *zip, size_t ziplen,
			       bool wants_zip);

static enum MHD_Result submit(struct MHD_Connection *c, struct upload *u)
{
	if (u->too_large) {
		metrics_rejected(REFUSE_SIZE);
		return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
				  "the body is larger than %zu bytes", u->limit);
	}
	if (u->is_zip)
		return enqueue(c, (unsigned char *)u->body.s, u->body.len, true);
	const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	if (!type || strncasecmp(type, "application/json", 16) != 0 ||
	    (type[16] && type[16] != ';' && type[16] != ' ')) {
		metrics_rejected(REFUSE_JSON);
		return send_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, NULL,
				  "Content-Type must be application/json (or application/zip: a request archive)");
	}
	struct json_tokener *tok = json_tokener_new_ex(16);
	json_object *top = json_tokener_parse_ex(tok, u->body.s ? u->body.s : "", (int)u->body.len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	bool trailing = top && tok->char_offset < (int)u->body.len &&
			strspn(u->body.s + tok->char_offset, " \t\r\n") !=
				u->body.len - (size_t)tok->char_offset;
	json_tokener_free(tok);
	if (!top || jerr != json_tokener_success || trailing) {
		json_object_put(top);
		metrics_rejected(REFUSE_JSON);
		return send_error(c, MHD_HTTP_BAD_REQUEST, NULL, "the body is not JSON: %s",
				  trailing ? "text after the value" :
				  jerr == json_tokener_continue ? "unexpected end" :
				  json_tokener_error_desc(jerr));
	}
	struct bad b = { 0 };
	unsigned char *zip = NULL;
	size_t ziplen = 0;
	int rc = submission_zip(top, &zip, &ziplen, &b);
	json_object_put(top);
	if (rc != 0) {
		metrics_rejected(b.status == 413 ? REFUSE_SIZE : REFUSE_JSON);
		return send_error(c, b.status, b.field, "%s", b.msg);
	}
	enum MHD_Result ret = enqueue(c, zip, ziplen, false);
	free(zip);
	return ret;
}

/* A request archive (from JSON, or as sent): checked and keyed now,
 * built by a job thread. */
static enum MHD_Result enqueue(struct MHD_Connection *c, const unsigned char *zip, size_t ziplen,
			       bool wants_zip)
{
	char peer[64];
	peer_of(c, peer, sizeof peer);
	server_log("HTTP request from %s: %zu bytes%s", peer, ziplen,
		   wants_zip ? " (request archive)" : "");

	pthread_mutex_lock(&jlock);
	struct job *j = stopping ? NULL : job_slot();
	if (j)
		j->used = true;	/* reserved */
	pthread_mutex_unlock(&jlock);
	if (!j) {
		metrics_rejected(REFUSE_BUSY);
		if (stopping)
			return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
					  "the server is shutting down");
		return send_error(c, MHD_HTTP_TOO_MANY_REQUESTS, NULL,
				  "%d builds are already queued or running; try again later",
				  MAX_JOBS);
	}
	struct prepared_request p;
	if (request_prepare(zip, ziplen, peer, &p) != 0) {
		pthread_mutex_lock(&jlock);
		j->used = false;
		pthread_mutex_unlock(&jlock);
		enum MHD_Result ret = send_error(c, MHD_HTTP_BAD_REQUEST,
						 p.refusal == REFUSE_KERNEL ? "kernel" :
						 p.refusal == REFUSE_PRIVILEGE ? "privilege" : NULL,
						 "%s", p.message);
		request_release(&p);
		return ret;
	}
	unsigned char rnd[16];
	if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) {
		for (size_t i = 0; i < sizeof rnd; i++)
			rnd[i] = (unsigned char)rand();
	}
	pthread_mutex_lock(&jlock);
	for (size_t i = 0; i < sizeof rnd; i++)
		sprintf(j->id + 2 * i, "%02x", rnd[i]);
	j->state = JOB_QUEUED;
	j->created = time(NULL);
	snprintf(j->peer, sizeof j->peer, "%s", peer);
	j->p = p;
	j->p.job.req = &j->p.req;	/* p moved: its job points into it */
	j->p.job.files = &j->p.z;
	j->p.job.started = job_started;
	j->p.job.owner = j;
	j->wants_zip = wants_zip;
	char id[33];
	memcpy(id, j->id, sizeof id);
	running_threads++;
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, job_thread, j) != 0) {
		running_threads--;
		request_release(&j->p);
		job_clear(j);
		pthread_mutex_unlock(&jlock);
		pthread_attr_destroy(&attr);
		return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "no thread for the build");
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
	if (j->state >= JOB_DONE) {
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

/* New builds are refused (503) at once; queued ones are cancelled; the
 * builds under way finish while the API still answers, so that their
 * clients can follow them and fetch the modules (DRAIN_GRACE_S more after
 * the last), as connection threads finish their requests; then the
 * daemon stops. */
int http_builds_running(void)
{
	pthread_mutex_lock(&jlock);
	int n = running_threads;
	pthread_mutex_unlock(&jlock);
	return n;
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
	bool drained = running_threads > 0;
	if (drained)
		server_log("HTTP API: waiting for %d build%s under way", running_threads,
			   running_threads == 1 ? "" : "s");
	while (running_threads > 0) {
		struct timespec tick;
		clock_gettime(CLOCK_REALTIME, &tick);
		tick.tv_nsec += 200 * 1000 * 1000;
		if (tick.tv_nsec >= 1000000000) {
			tick.tv_sec++;
			tick.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&jcv, &jlock, &tick);
		if (running_threads > 0 && give_up && give_up()) {
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
