/* One connection of SystemTap's compile-server protocol (docs/protocol.md):
 *
 *   client -> server   signed big-endian 32-bit LEN, then LEN bytes of zip
 *   server -> client   a zip, until the server closes
 *
 * LEN 0 is a trust probe and gets nothing back.  Every other refusal gets
 * a response the client can show (version, rc 1 and a "Server: ..." line
 * in stderr) and a line in the log; nothing a client sends can stop the
 * server from serving the others. */
#define _GNU_SOURCE
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <prio.h>
#include <prnetdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

const struct server_identity *server_id;
char toolchain_hash[65];

/* --- responses ------------------------------------------------------------------------ */

static void send_bytes(PRFileDesc *fd, const unsigned char *buf, size_t len, const char *peer)
{
	char err[256];
	if (tls_write_full(fd, buf, len, cfg.write_timeout_s * 1000, err, sizeof err) != 0)
		server_log("Request from %s: response not delivered: %s", peer, err);
}

static void send_zip(PRFileDesc *fd, struct zip_writer *w, const char *peer)
{
	unsigned char *buf;
	size_t len;
	if (zip_writer_finish(w, &buf, &len) != 0) {
		server_log("Request from %s: cannot make the response archive", peer);
		return;
	}
	send_bytes(fd, buf, len, peer);
	free(buf);
}

/* version, rc 1 and the message: what a client shows for a refusal. */
static void send_refusal(PRFileDesc *fd, const char *peer, const char *msg)
{
	struct zip_writer *w = zip_writer_new();
	char *text = xasprintf("Server: %s\n", msg);
	zip_writer_add(w, "version", CS_PROTOCOL_VERSION, strlen(CS_PROTOCOL_VERSION), 0644);
	zip_writer_add(w, "rc", "1", 1, 0644);
	zip_writer_add(w, "stdout", "", 0, 0600);
	zip_writer_add(w, "stderr", text, strlen(text), 0600);
	send_zip(fd, w, peer);
	free(text);
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

void remove_tree(const char *path)
{
	nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* --- one request -------------------------------------------------------------------------- */

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static void handle(PRFileDesc *fd, const char *peer, const unsigned char *body, size_t len,
		   const struct timespec *t0)
{
	struct prepared_request p;
	if (request_prepare(body, len, peer, &p) != 0) {
		send_refusal(fd, peer, p.message);
		metrics_request("systemtap", "refused");
		request_release(&p);
		return;
	}
	const char *release = p.job.kernel->release;
	unsigned char *ready = NULL;
	size_t ready_len = 0;
	struct build_result r;
	if (p.req.nnotes == 0 && cache_get_response(&p.key, &ready, &ready_len)) {
		send_bytes(fd, ready, ready_len, peer);
		server_log("Request from %s complete: kernel %s, %s, %.0f ms", peer, release,
			   "from the cache", ms_since(t0));
		metrics_request("systemtap", "cached");
		metrics_recent("systemtap", release, NULL, 0, true, ms_since(t0));
		free(ready);
	} else if (request_build(&p, peer, &r) != 0) {
		send_refusal(fd, peer, "the server cannot make a temporary directory");
		metrics_request("systemtap", "refused");
	} else {
		size_t zlen = 0;
		unsigned char *zip = request_response_zip(&p.req, &r, &zlen);
		if (zip)
			send_bytes(fd, zip, zlen, peer);
		else
			server_log("Request from %s: cannot make the response archive", peer);
		/* without per-request notes the archive is the same for
		 * every request of this key: keep it, the next hit is sent
		 * as it is (no inflating and deflating the module again) */
		if (zip && !r.transient && p.req.nnotes == 0)
			cache_put_response(&p.key, zip, zlen);
		free(zip);
		server_log("Request from %s complete: kernel %s, rc %d, %s, %.0f ms", peer,
			   release, r.rc, r.cached ? "from the cache" : "built", ms_since(t0));
		metrics_request("systemtap", r.rc == 0 ? (r.cached ? "cached" : "built") : "failed");
		metrics_recent("systemtap", release, r.module_name, r.rc, r.cached, ms_since(t0));
		build_result_free(&r);
	}
	request_release(&p);
}

/* The announced len bytes, within read_timeout_s in all.  Memory grows
 * with what arrives, not with what was announced. */
static int read_body(PRFileDesc *fd, size_t len, unsigned char **body, char *err, size_t errlen)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	size_t got = 0;
	*body = NULL;
	while (got < len) {
		size_t chunk = len - got < (1u << 20) ? len - got : (1u << 20);
		double left = cfg.read_timeout_s * 1000.0 - ms_since(&t0);
		if (left < 1) {
			snprintf(err, errlen, "timed out after %zu of %zu bytes", got, len);
			return -1;
		}
		*body = xrealloc(*body, got + chunk);
		if (tls_read_full(fd, *body + got, chunk, (int)left, err, errlen) != 0)
			return -1;
		got += chunk;
	}
	return 0;
}

void conn_serve(void *arg)
{
	PRFileDesc *tcp = arg;
	char peer[80] = "?", err[256];
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	PRNetAddr addr;
	if (PR_GetPeerName(tcp, &addr) == PR_SUCCESS) {
		char ip[64];
		if (PR_NetAddrToString(&addr, ip, sizeof ip) == PR_SUCCESS)
			snprintf(peer, sizeof peer, "%s:%u", ip, (unsigned)PR_ntohs(PR_NetAddrInetPort(&addr)));
	}
	PRFileDesc *fd = tls_server_wrap(tcp, server_id, err, sizeof err);
	if (!fd) {
		server_log("Connection from %s: TLS set-up failed: %s", peer, err);
		PR_Close(tcp);
		return;
	}
	unsigned char hdr[4];
	if (tls_read_full(fd, hdr, sizeof hdr, cfg.idle_timeout_s * 1000, err, sizeof err) != 0) {
		server_log("Connection from %s: no request: %s", peer, err);
		PR_Close(fd);
		return;
	}
	int32_t len = (int32_t)(((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) |
				((uint32_t)hdr[2] << 8) | hdr[3]);
	if (len == 0) {
		server_log("Trust probe from %s", peer);
	} else if (len < 0) {
		server_log("Request from %s refused: invalid request size: negative value (%d)",
			   peer, len);
		send_refusal(fd, peer, "invalid request size: negative value");
		metrics_rejected(REFUSE_SIZE);
	} else if ((size_t)len > cfg.max_compressed) {
		char *m = xasprintf("the request is %d bytes; this server accepts at most %zu "
				    "(--max-compressed-request)", len, cfg.max_compressed);
		server_log("Request from %s refused: %s", peer, m);
		send_refusal(fd, peer, m);
		metrics_rejected(REFUSE_SIZE);
		free(m);
	} else {
		unsigned char *body = NULL;
		if (read_body(fd, (size_t)len, &body, err, sizeof err) != 0) {
			server_log("Request from %s: incomplete request of %d bytes: %s", peer, len,
				   err);
			send_refusal(fd, peer, "the request ended before its announced size");
			metrics_rejected(REFUSE_INCOMPLETE);
		} else {
			server_log("Request from %s: %d bytes", peer, len);
			handle(fd, peer, body, (size_t)len, &t0);
		}
		free(body);
	}
	PR_Close(fd);
}
