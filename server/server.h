/* stap-serverd's parts and what they share.
 *
 * Threading model (stated once): the main thread accepts connections; each
 * connection gets its own detached thread (at most max_conns at a time)
 * that reads the request, answers from the cache or waits for a build
 * slot, and writes the response.  A build runs in a forked child process
 * (server/build.c) with resource limits; at most max_builds children run
 * at once, the rest wait in FIFO order (server/queue.c).  Identical
 * requests in flight share one build.  NSS is used only by the parent's
 * threads, never by a build child.  The Avahi announcement (avahi.c) has
 * one thread of its own, an avahi threaded poll.  The HTTP API (http.c)
 * answers from libmicrohttpd's thread pool and gives each of its builds a
 * thread of its own that goes through the same queue. */
#ifndef STAP_SERVER_H
#define STAP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "csproto.h"
#include "nss.h"
#include "util.h"

/* Configuration: the command line, with defaults (server/serverd.c). */
struct server_config {
	int port;                   /* --port, 0 = any */
	const char *listen;         /* --listen ADDR, NULL = every address */
	struct ptrvec kernels;      /* -r KVER|DIR */
	bool all_kernels;           /* -i: every /lib/modules/KVER/build */
	const char *arch;           /* -a; only x86_64 is supported */
	struct ptrvec includes;     /* -I DIR for every build */
	struct ptrvec defines;      /* -D NAME[=VAL] for every build */
	struct ptrvec build_opts;   /* -B OPT (kbuild make options): advertised, ignored */
	const char *runtime;        /* -R DIR */
	const char *ssl_dir;        /* --ssl DIR (TLS key and .sgn signing) */
	const char *log_path;       /* --log FILE */
	const char *cache_dir;      /* --cache DIR */
	uint64_t cache_max;         /* --cache-size bytes */
	const char *tmp_root;       /* $TMPDIR or /tmp */
	const char *max_privilege;  /* --privilege: highest level built */
	int max_builds;             /* --max-threads (0 = one at a time) */
	int max_conns;              /* connections handled at once */
	size_t max_compressed;      /* --max-compressed-request */
	size_t max_uncompressed;    /* --max-request-size */
	int idle_timeout_s;         /* first bytes of a request */
	int read_timeout_s;         /* the whole request */
	int write_timeout_s;        /* each write of the response */
	int build_timeout_s;        /* wall clock of one build */
	int build_cpu_s;            /* RLIMIT_CPU of one build */
	uint64_t build_mem;         /* RLIMIT_AS of one build */
	uint64_t build_fsize;       /* RLIMIT_FSIZE of one build */
	bool keep;                  /* -k: keep per-request directories */
	const char *tapset_dir;     /* the translator's library */
	const char *runtime_dir;    /* the module runtime (-R or default) */
};
extern struct server_config cfg;
extern int server_port;             /* the SystemTap protocol port, once bound */
extern char *runtime_cache_dir;     /* builds' runtime object cache (translator/rtcache.h) */
/* A size: digits, then K, M or G (binary); no sign.  serverd.c */
bool parse_size(const char *s, uint64_t *out);

/* --- log.c ---------------------------------------------------------------- */
int log_open(const char *path);        /* NULL: stderr */
int log_reopen(void);                  /* SIGHUP: the file again, by name (rotation) */
void server_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- config.c: the configuration file (--config FILE) ---------------------------- */
/* FILE's KEY=VALUE lines as stap-serverd options (appended to args), to be
 * parsed before the command line's.  0, or -1 with a message in err. */
int config_read_args(const char *path, struct ptrvec *args, char *err, size_t errlen);
/* The command line gave the long option NAME ("privilege", however it was
 * abbreviated): the file does not override it on SIGHUP.  serverd.c's
 * option parsing calls this for each option of the command line. */
void config_command_line_option(const char *name);
/* SIGHUP: reads FILE again; the limits and --privilege change for the next
 * requests (unless the command line set them), other changes are logged. */
void config_reload(const char *path);

/* --- kstore.c: the kernels this server builds for ----------------------------- */
struct kstore_kernel {
	char *release;
	char *kernel_arg;           /* what the translator gets as -r */
	char *build_id;             /* NULL when only headers are known */
	char *build_dir;            /* its kbuild tree */
};
/* The kernel table: -r kernels, -i kernels, every kernel store entry and
 * the running kernel when its tree exists.  Scanned again on each call,
 * so kernels added to or removed from the store are seen at once.
 * Caller frees with kstore_free. */
struct kstore_kernel *kstore_list(size_t *n);
void kstore_free(struct kstore_kernel *k, size_t n);
/* Picks the kernel for a request: by build-id when the client sent one,
 * else by release.  NULL with *why (heap) naming the server's kernels. */
struct kstore_kernel *kstore_match(struct kstore_kernel *k, size_t n, const char *release,
				   const char *arch, const char *build_id, char **why);

/* --- cache.c: content-addressed results ------------------------------------------ */
struct build_result {
	int rc;
	char *out, *err;            /* translator stdout/stderr, server paths replaced */
	size_t outlen, errlen;
	char *module_name;          /* "stap_x.ko" or NULL */
	unsigned char *module, *sgn;
	size_t modlen, sgnlen;
	bool cached;                /* came from the cache */
	bool transient;             /* limits, signals, set-up: not worth caching */
	unsigned char *mok_cert;    /* signing_key.x509 for the client to enrol, or NULL */
	size_t mok_certlen;
};
void build_result_free(struct build_result *r);
void build_result_copy(struct build_result *to, const struct build_result *from);
int cache_init(const char *dir, uint64_t max_bytes);
/* 64 lower-hex characters of SHA-256 over everything that changes the result. */
struct cache_key { char hex[65]; };
bool cache_get(const struct cache_key *k, struct build_result *r);
void cache_put(const struct cache_key *k, const struct build_result *r);
/* The whole response archive of an entry, kept for requests without
 * per-request notes: a hit is sent as it is. */
bool cache_get_response(const struct cache_key *k, unsigned char **zip, size_t *len);
void cache_put_response(const struct cache_key *k, const unsigned char *zip, size_t len);
void cache_stats(uint64_t *hits, uint64_t *misses, uint64_t *bytes);

/* --- build.c: one build in a child process ----------------------------------------- */
struct inflight;
struct build_job {
	const struct cs_request *req;
	const struct zip_archive *files;      /* request entries (script/, tapset/) */
	const struct kstore_kernel *kernel;
	const char *privilege;                /* parsed from the words */
	char *dir;                            /* the request's private directory */
	const char *mok_sign;                 /* sign with this MOK (a client fingerprint we hold) */
	const char *mok_offer;                /* no MOK in common: offer this one, rc 1 */
	void (*started)(struct build_job *);  /* optional: it got a slot (or shares a build) */
	void *owner;                          /* for started() */
	/* queue.c's, under its lock */
	struct inflight *inflight;            /* its build while queued or running */
	bool waiting;                         /* waits for a slot */
	bool cancel;                          /* queue_cancel: give up the turn */
};
/* Runs passes 1-4 for the request in a forked child under the limits of
 * cfg; fills r (rc, stdout, stderr, module).  Returns 0, or -1 when the
 * build could not be run at all (r then holds a message). */
int build_run(struct build_job *job, struct build_result *r);
/* SHA-1 .sgn for clients older than 4.0, else SHA-256 (docs/protocol.md). */
bool sgn_wants_sha1(const struct cs_request *req);
/* SystemTap's 4.x control numbers and framing for clients older than
 * 5.0: their staprun/stapio speak nothing else (docs/runtime-transport.md). */
bool client_wants_v4_transport(const struct cs_request *req);
/* Kills every running build (forced shutdown). */
void build_kill_all(void);

/* --- queue.c: build slots and shared in-flight builds ------------------------------- */
void queue_init(int slots);
/* Answers key from the cache, or builds it (once for all concurrent
 * requesters of the same key) when a slot is free, then caches it. */
void queue_build(const struct cache_key *key, struct build_job *job, struct build_result *r);
void queue_stats(int *busy, int *waiting);
/* Cancels job if it still waits for a slot and no other request shares
 * its build: queue_build then returns rc 1 at once.  Whether it did. */
bool queue_cancel(struct build_job *job);

/* --- mok.c: machine owner keys (Secure Boot) ------------------------------------ */
void mok_init(const char *stapdir);
char *mok_find(char *const *fps, size_t n);      /* first fingerprint we hold, or NULL */
char *mok_any_or_create(void);                   /* some MOK of ours, made if none */
unsigned char *mok_cert(const char *fp, size_t *len);
int mok_sign(const char *fp, const char *build_dir, const char *module);
/* Fingerprints of every usable MOK (the Avahi mok_info records); count. */
int mok_list(char ***fps);

/* --- avahi.c: announcing _stap._tcp on the LAN ------------------------------------- */
extern bool avahi_enabled;             /* --no-avahi clears it */
/* Publishes the server (port server_port) from a thread of its own and
 * follows the kernel store and the MOKs; never fails the server. */
void avahi_start(void);
/* Withdraws the services and stops the thread. */
void avahi_stop(void);

/* --- request.c: a request archive turned into a build (conn.c, http.c) ------------- */
enum refusal {
	REFUSE_NONE, REFUSE_SIZE, REFUSE_INCOMPLETE, REFUSE_ARCHIVE, REFUSE_REQUEST,
	REFUSE_KERNEL, REFUSE_PRIVILEGE, REFUSE_TMPDIR, REFUSE_JSON, REFUSE_BUSY,
	REFUSE_CLIENT_LIMIT, REFUSE_MEMORY,     /* the HTTP API's per-client and memory bounds */
	REFUSE_COUNT
};
struct prepared_request {
	struct zip_archive z;       /* the request's entries */
	struct cs_request req;
	struct kstore_kernel *kernels;  /* the table job.kernel points into */
	size_t nk;
	const char *privilege;
	char *mok_sign, *mok_offer;
	struct build_job job;       /* job.dir set only during request_build */
	struct cache_key key;
	enum refusal refusal;       /* when request_prepare refused */
	char *message;              /* its message (for the client) */
};
/* Reads, checks and keys a request archive (logging as conn.c always
 * did).  0, or -1 with p->refusal and p->message.  Either way the caller
 * calls request_release. */
int request_prepare(const unsigned char *zip, size_t len, const char *peer,
		    struct prepared_request *p);
/* Runs p's build through the queue (cache, shared builds, signing) in a
 * private directory removed afterwards.  -1: no directory could be made. */
int request_build(struct prepared_request *p, const char *peer, struct build_result *r);
void request_release(struct prepared_request *p);
/* The response archive of a result in SystemTap's layout (with the
 * request's notes in stderr); NULL if it cannot be made. */
unsigned char *request_response_zip(const struct cs_request *req, const struct build_result *r,
				    size_t *len);

/* --- metrics.c: counters for GET /metrics and the status page ------------------------ */
void metrics_request(const char *protocol, const char *outcome);  /* protocol: "systemtap", "http" */
void metrics_rejected(enum refusal why);
void metrics_build_time(double seconds);
void metrics_kernel(const char *release);                         /* a request matched it */
void metrics_recent(const char *protocol, const char *release, const char *module,
		    int rc, bool cached, double ms);
char *metrics_text(void);        /* Prometheus text format; caller frees */
char *metrics_status_page(void); /* the HTML of GET /; caller frees */

/* --- http.c: the HTTP/JSON API (docs/http-api.md) ------------------------------------ */
extern int http_port;            /* --http-port, 0 = off */
extern const char *http_listen;  /* --http-listen ADDR */
extern bool http_plain;          /* --http-plain: no TLS (loopback only) */
/* Starts the API when http_port is set; exits the server on a bad
 * configuration (as a bad --port does). */
void http_start(void);
/* Refuses new builds, cancels queued ones, waits for the running ones
 * (their clients then get 2 s to fetch results) and returns true; when
 * give_up() says stop at once it returns false at once, freeing nothing:
 * the server then kills the builds and exits. */
bool http_stop(bool (*give_up)(void));
/* After the server loaded a new certificate (server_id): new HTTPS
 * connections get it; the listening socket and the connections under way
 * stay as they are.  Does nothing for plain HTTP or when the API is off.
 * Main thread only, as http_start and http_stop. */
void http_reload_certificate(void);
int http_builds_running(void);   /* builds the API's threads wait for */
/* Around an NSS restart (a certificate reload): new submissions get 503
 * and job threads wait before their builds; true once no request of the
 * API uses NSS, false (nothing held) after the time a build may take and a
 * minute, or when give_up() says so.  Main thread only. */
bool http_hold_nss(bool (*give_up)(void));
void http_release_nss(void);     /* after http_hold_nss returned true */

/* --- conn.c: one connection ---------------------------------------------------------- */
extern const struct server_identity *server_id;
extern char toolchain_hash[65];        /* translator version, tapsets and runtime */
void conn_serve(void *prfd);           /* PRFileDesc *, closed here */
/* Removes a directory tree, depth first, never following a symlink. */
void remove_tree(const char *path);

#endif
