/* stap --use-http-server=URL: a compile through stap-serverd's HTTP API
 * (docs/http-api.md).  The request archive is the one --use-server sends
 * (remote_request.c); it is POSTed as application/zip, the build is
 * long-polled, and its response archive (module, .sgn, messages) is
 * handled by remote_response.c exactly as --use-server's.  HTTP/1.1, one
 * request per connection, over our NSS TLS with the --use-server trust
 * rules; plain http:// only to a loopback address. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <prio.h>
#include <prnetdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "remote_internal.h"
#include "util.h"

enum {
	MAX_ANSWER_BYTES = 256 * 1024 * 1024,  /* a response archive, as remote.c allows */
	POLL_WAIT_S = 30,                      /* ?wait= of each long-poll */
	POLL_PAUSE_MIN_MS = 1000,              /* after a poll answered before its wait: */
	POLL_PAUSE_MAX_MS = 10 * 1000,         /*   pauses double from MIN to MAX */
};

struct http_target {
	bool tls;
	struct server_addr addr;   /* numeric address, port, host name for SNI */
	char *host_header;         /* "HOST:PORT" */
	char *where;               /* the URL, for messages */
};

struct http_answer {
	int status;
	char *location;            /* Location header, or NULL */
	unsigned char *body;       /* NUL-terminated */
	size_t len;
};

static void answer_free(struct http_answer *a)
{
	free(a->location);
	free(a->body);
	memset(a, 0, sizeof *a);
}

static bool is_loopback(const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, addr, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* https://HOST[:PORT][/] or http://LOOPBACK[:PORT][/]: 0, or -1 after a message. */
static int parse_url(const char *url, struct http_target *t)
{
	memset(t, 0, sizeof *t);
	const char *rest;
	if (strncmp(url, "https://", 8) == 0) {
		t->tls = true;
		rest = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		rest = url + 7;
	} else {
		remote_error("--use-http-server=%s: the URL must start with https:// "
			     "(or http:// to a loopback address)", url);
		return -1;
	}
	char *hostport = xstrdup(rest);
	size_t n = strlen(hostport);
	while (n && hostport[n - 1] == '/')
		hostport[--n] = '\0';
	if (strchr(hostport, '/') || !n) {
		remote_error("--use-http-server=%s: give the server only (SCHEME://HOST[:PORT]), "
			     "no path", url);
		free(hostport);
		return -1;
	}
	char *colon = strrchr(hostport, ':');
	bool has_port = colon && (hostport[0] != '[' || colon > strchr(hostport, ']'));
	char *spec = has_port ? xstrdup(hostport)
			      : xasprintf("%s:%d", hostport, t->tls ? 443 : 80);
	struct server_spec s;
	char err[256] = "";
	int parsed = server_spec_parse(spec, &s, err, sizeof err);
	if (parsed != 0 || s.kind != SPEC_ADDRESS || s.naddrs == 0) {
		remote_error("--use-http-server=%s: %s", url,
			     parsed != 0 ? err
			     : s.kind == SPEC_SERIAL ? "a certificate serial is not a host; "
						       "give an address or a host name"
			     : "the host has no address");
		if (parsed == 0)
			server_spec_free(&s);
		free(spec);
		free(hostport);
		return -1;
	}
	t->addr.addr = xstrdup(s.addrs[0].addr);
	t->addr.port = s.addrs[0].port;
	t->addr.host = s.addrs[0].host ? xstrdup(s.addrs[0].host) : NULL;
	server_spec_free(&s);
	t->host_header = spec;
	t->where = xstrdup(url);
	free(hostport);
	if (!t->tls && !is_loopback(t->addr.addr)) {
		remote_error("--use-http-server=%s: plain http:// is used only to a loopback "
			     "address; use https://", url);
		return -1;
	}
	return 0;
}

static void target_free(struct http_target *t)
{
	free(t->addr.addr);
	free(t->addr.host);
	free(t->host_header);
	free(t->where);
}

static PRFileDesc *plain_connect(const struct server_addr *a, char *err, size_t errlen)
{
	PRNetAddr na;
	if (PR_StringToNetAddr(a->addr, &na) != PR_SUCCESS) {
		snprintf(err, errlen, "bad address %s", a->addr);
		return NULL;
	}
	PR_InitializeNetAddr(PR_IpAddrNull, (PRUint16)a->port, &na);
	PR_StringToNetAddr(a->addr, &na);
	na.inet.port = PR_htons((PRUint16)a->port);
	if (na.raw.family == PR_AF_INET6)
		na.ipv6.port = PR_htons((PRUint16)a->port);
	PRFileDesc *fd = PR_OpenTCPSocket(na.raw.family);
	if (!fd || PR_Connect(fd, &na, PR_MillisecondsToInterval(CONNECT_TIMEOUT_MS)) != PR_SUCCESS) {
		char buf[128];
		snprintf(err, errlen, "cannot connect: %s", nss_error_text(buf, sizeof buf));
		if (fd)
			PR_Close(fd);
		return NULL;
	}
	return fd;
}

static const char *header_value(const char *head, const char *name)
{
	size_t n = strlen(name);
	for (const char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
		const char *h = l + 2;
		if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
			h += n + 1;
			while (*h == ' ' || *h == '\t')
				h++;
			return h;
		}
	}
	return NULL;
}

/* One HTTP/1.1 exchange on a new connection.  0, or -1 after a message. */
static int http_exchange(const struct http_target *t, const char *method, const char *path,
			 const char *type, const void *body, size_t len, struct http_answer *a,
			 int verbose)
{
	memset(a, 0, sizeof *a);
	char err[512] = "";
	struct trusted_check check = { 0 };
	char *priv = private_ssl_store();
	check.stores[0] = priv;
	check.stores[1] = GLOBAL_SSL_STORE;
	PRFileDesc *fd = t->tls ? remote_connect(&t->addr, trusted_peer_check, &check, verbose,
						 err, sizeof err)
				: plain_connect(&t->addr, err, sizeof err);
	free(priv);
	if (!fd) {
		remote_error("cannot connect to %s: %s", t->where, check.why[0] ? check.why : err);
		return -1;
	}
	struct strbuf req;
	sb_init(&req);
	sb_printf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: stap/%s\r\n"
			"Accept: application/json\r\nConnection: close\r\n",
		  method, path, t->host_header, PACKAGE_VERSION);
	if (type)
		sb_printf(&req, "Content-Type: %s\r\nContent-Length: %zu\r\n", type, len);
	sb_printf(&req, "\r\n");
	int timeout = reply_timeout_ms();
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	int rc = -1;
	if (tls_write_full(fd, req.s, req.len, timeout, err, sizeof err) < 0 ||
	    (len && tls_write_full(fd, body, len, timeout, err, sizeof err) < 0)) {
		remote_error("cannot send to %s: %s", t->where, err);
	} else if (tls_read_to_eof(fd, MAX_ANSWER_BYTES, timeout, &raw, &rawlen, err,
				   sizeof err) < 0) {
		remote_error("reading the answer of %s: %s", t->where, err);
	} else {
		unsigned char *end = rawlen >= 4 ? memmem(raw, rawlen, "\r\n\r\n", 4) : NULL;
		int status = 0;
		if (!end || sscanf((char *)raw, "HTTP/1.%*d %d", &status) != 1) {
			remote_error("%s did not answer in HTTP", t->where);
		} else {
			*end = '\0';
			const char *te = header_value((char *)raw, "Transfer-Encoding");
			const char *cl = header_value((char *)raw, "Content-Length");
			size_t blen = rawlen - (size_t)(end + 4 - raw);
			if (te && strncasecmp(te, "chunked", 7) == 0) {
				remote_error("%s answered with a chunked body (not expected here)",
					     t->where);
			} else if (cl && strtoull(cl, NULL, 10) != blen) {
				remote_error("%s: the answer ended early (%zu of %s bytes)", t->where,
					     blen, cl);
			} else {
				a->status = status;
				const char *loc = header_value((char *)raw, "Location");
				if (loc)
					a->location = xstrndup(loc, strcspn(loc, "\r\n"));
				a->body = xmalloc(blen + 1);
				memcpy(a->body, end + 4, blen);
				a->body[blen] = '\0';
				a->len = blen;
				rc = 0;
			}
		}
	}
	sb_free(&req);
	free(raw);
	PR_Close(fd);
	return rc;
}

/* The "error" of a JSON error body, or the status. */
static void report_error(const struct http_target *t, const char *what, const struct http_answer *a)
{
	json_object *o = json_tokener_parse((const char *)a->body);
	json_object *e;
	if (o && json_object_object_get_ex(o, "error", &e) && json_object_is_type(e, json_type_string))
		remote_error("%s: %s: %s (HTTP %d)", t->where, what, json_object_get_string(e), a->status);
	else
		remote_error("%s: %s: HTTP %d", t->where, what, a->status);
	json_object_put(o);
}

/* The string field of a JSON body, copied, or NULL. */
static char *json_text(const struct http_answer *a, const char *field)
{
	json_object *o = json_tokener_parse((const char *)a->body), *v;
	char *s = NULL;
	if (o && json_object_object_get_ex(o, field, &v) && json_object_is_type(v, json_type_string))
		s = xstrdup(json_object_get_string(v));
	json_object_put(o);
	return s;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static void pause_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;	/* ts holds what is left */
}

/* Submits, long-polls and fetches the response archive.  0 or -1.  The
 * whole wait is bounded by reply_timeout_ms().  A poll answered before its
 * ?wait= with the build unfinished (the server's long-poll slots are all
 * taken, or it does not hold answers) is followed by a pause, doubling
 * from POLL_PAUSE_MIN_MS to POLL_PAUSE_MAX_MS, so that the client never
 * polls in a tight loop; a poll that was held resets the pause. */
static int http_build(const struct http_target *t, const unsigned char *req, size_t reqlen,
		      unsigned char **resp, size_t *resplen, int verbose)
{
	struct http_answer a;
	if (http_exchange(t, "POST", "/v1/builds", "application/zip", req, reqlen, &a, verbose) < 0)
		return -1;
	if (a.status != 202 || !a.location || strncmp(a.location, "/v1/builds/", 11) != 0 ||
	    strspn(a.location + 11, "0123456789abcdef") != strlen(a.location + 11)) {
		report_error(t, "the request was refused", &a);
		answer_free(&a);
		return -1;
	}
	char *job = a.location;
	a.location = NULL;
	answer_free(&a);
	if (verbose >= 1)
		fprintf(stderr, "Build %s queued on %s\n", job + 11, t->where);
	const long timeout = reply_timeout_ms();
	struct timespec t0, asked;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long pause = POLL_PAUSE_MIN_MS;
	char *state = NULL, *response = NULL;
	int rc = -1;
	for (;;) {
		long left = timeout - ms_since(&t0);
		int wait_s = left / 1000 < POLL_WAIT_S ? (int)(left / 1000) : POLL_WAIT_S;
		if (wait_s < 1)
			wait_s = 1;
		char *poll = xasprintf("%s?wait=%d", job, wait_s);
		clock_gettime(CLOCK_MONOTONIC, &asked);
		int got = http_exchange(t, "GET", poll, NULL, NULL, 0, &a, verbose);
		free(poll);
		if (got < 0)
			break;
		if (a.status != 200) {
			report_error(t, "following the build", &a);
			answer_free(&a);
			break;
		}
		free(state);
		state = json_text(&a, "state");
		if (state && (strcmp(state, "done") == 0 || strcmp(state, "failed") == 0)) {
			response = json_text(&a, "response_url");
			answer_free(&a);
			break;
		}
		answer_free(&a);
		if (!state || strcmp(state, "cancelled") == 0) {
			remote_error("%s: the build was %s", t->where, state ? state : "lost");
			break;
		}
		if (verbose >= 2)
			fprintf(stderr, "Build %s is %s\n", job + 11, state);
		if (ms_since(&asked) < wait_s * 1000L) {
			left = timeout - ms_since(&t0);
			long p = pause < left ? pause : left;
			if (verbose >= 2 && p > 0)
				fprintf(stderr, "%s answered before the wait: polling again in %ld ms\n",
					t->where, p);
			if (p > 0)
				pause_ms(p);
			pause = pause * 2 < POLL_PAUSE_MAX_MS ? pause * 2 : POLL_PAUSE_MAX_MS;
		} else {
			pause = POLL_PAUSE_MIN_MS;
		}
		if (ms_since(&t0) >= timeout) {
			remote_error("%s: the build did not finish within %ld s "
				     "(STAP_CLIENT_TIMEOUT=SECONDS waits longer)", t->where,
				     timeout / 1000);
			break;
		}
	}
	if (response && strncmp(response, job, strlen(job)) == 0) {
		if (http_exchange(t, "GET", response, NULL, NULL, 0, &a, verbose) == 0) {
			if (a.status == 200) {
				*resp = a.body;
				*resplen = a.len;
				a.body = NULL;
				rc = 0;
			} else {
				report_error(t, "fetching the result", &a);
			}
			answer_free(&a);
		}
	} else if (state && !response && (strcmp(state, "done") == 0 || strcmp(state, "failed") == 0)) {
		remote_error("%s: the server offers no response archive", t->where);
	}
	free(state);
	free(response);
	free(job);
	return rc;
}

int remote_http_compile(const char *url, const struct remote_request *rq, char **module_out)
{
	if (module_out)
		*module_out = NULL;
	int status = 1;
	unsigned char *req = NULL, *resp = NULL;
	size_t reqlen = 0, resplen = 0;
	struct http_target t;
	bool parsed = parse_url(url, &t) == 0;
	if (parsed && remote_request_zip(rq, &req, &reqlen) == 0 && remote_nss_start() == 0 &&
	    http_build(&t, req, reqlen, &resp, &resplen, rq->verbose) == 0)
		status = remote_response_process(resp, resplen, rq, NULL, module_out);
	target_free(&t);
	fflush(stdout);
	if (status != 0)
		fprintf(stderr, "Passes: via server failed.  Try again with another '-v' option.\n");
	free(req);
	free(resp);
	return status;
}
