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
#include <sechash.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

const struct server_identity *server_id;
char toolchain_hash[65];

/* The highest privilege the words ask for; the translator reads them the
 * same way (the last --privilege or --unprivileged wins). */
static const char *requested_privilege(const struct cs_request *req)
{
	const char *p = "stapdev";
	for (size_t i = 0; i < req->argc; i++) {
		const char *w = req->argv[i];
		if (strcmp(w, "--") == 0)
			break;
		if (strncmp(w, "--privilege=", 12) == 0)
			p = w + 12;
		else if (strcmp(w, "--unprivileged") == 0)
			p = "stapusr";
	}
	return p;
}

static int privilege_rank(const char *p)
{
	return strcmp(p, "stapusr") == 0 ? 1 : strcmp(p, "stapsys") == 0 ? 2 : 3;
}

/* --- the cache key ------------------------------------------------------------------ */

static void hash_field(HASHContext *h, const char *tag, const void *p, size_t n)
{
	unsigned char len[8];
	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)((uint64_t)n >> (8 * i));
	HASH_Update(h, (const unsigned char *)tag, (unsigned)strlen(tag) + 1);
	HASH_Update(h, len, sizeof len);
	if (n)
		HASH_Update(h, p, (unsigned)n);
}

static void hash_str(HASHContext *h, const char *tag, const char *s)
{
	hash_field(h, tag, s ? s : "", s ? strlen(s) : 0);
}

static int by_name(const void *a, const void *b)
{
	const struct zip_entry *x = *(const struct zip_entry *const *)a;
	const struct zip_entry *y = *(const struct zip_entry *const *)b;
	return strcmp(x->name, y->name);
}

static void hex(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
	out[2 * n] = '\0';
}

/* Everything that changes a build's result: the translator, tapsets and
 * runtime (toolchain_hash), the kernel, the words, the accepted locale,
 * the script and tapset files, the server's own -I/-D, and the signer. */
static void cache_key_of(const struct cs_request *req, const struct zip_archive *files,
			 const struct kstore_kernel *k, const char *privilege,
			 const struct build_job *job, struct cache_key *key)
{
	HASHContext *h = HASH_Create(HASH_AlgSHA256);
	HASH_Begin(h);
	hash_str(h, "format", "stapcs-cache-1");
	hash_str(h, "toolchain", toolchain_hash);
	hash_str(h, "kernel", k->release);
	hash_str(h, "kernel-arg", k->kernel_arg);
	hash_str(h, "build-id", k->build_id);
	for (size_t i = 0; i < req->argc; i++)
		hash_str(h, "arg", req->argv[i]);
	for (size_t i = 0; i < req->nlocale; i++)
		hash_str(h, "locale", req->locale[i]);
	const struct zip_entry **sorted = xcalloc(files->n + 1, sizeof *sorted);
	for (size_t i = 0; i < files->n; i++)
		sorted[i] = &files->e[i];
	qsort(sorted, files->n, sizeof *sorted, by_name);
	for (size_t i = 0; i < files->n; i++) {
		if (strncmp(sorted[i]->name, "script/", 7) && strncmp(sorted[i]->name, "tapset/", 7))
			continue;
		hash_str(h, sorted[i]->is_dir ? "dir" : "file", sorted[i]->name);
		if (!sorted[i]->is_dir)
			hash_field(h, "data", sorted[i]->data, sorted[i]->size);
	}
	free(sorted);
	for (size_t i = 0; i < cfg.includes.n; i++)
		hash_str(h, "server-I", cfg.includes.v[i]);
	for (size_t i = 0; i < cfg.defines.n; i++)
		hash_str(h, "server-D", cfg.defines.v[i]);
	hash_str(h, "transport", client_wants_v4_transport(req) ? "4.x" : "5.x");
	hash_str(h, "privilege", privilege);
	hash_str(h, "mok-sign", job->mok_sign);
	hash_str(h, "mok-offer", job->mok_offer);
	if (strcmp(privilege, "stapdev") != 0) {
		hash_str(h, "signer", server_id->certinfo);
		hash_str(h, "sgn-hash",
			 sgn_wants_sha1(req) ? "sha1" : "sha256");
	}
	unsigned char d[32];
	unsigned len = 0;
	HASH_End(h, d, &len, sizeof d);
	HASH_Destroy(h);
	hex(d, sizeof d, key->hex);
}

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

/* The response archive of a result; NULL if it cannot be made. */
static unsigned char *result_zip(const struct cs_request *req, const struct build_result *r,
				 size_t *len)
{
	struct zip_writer *w = zip_writer_new();
	char rc[16];
	snprintf(rc, sizeof rc, "%d", r->rc);
	struct strbuf err;
	sb_init(&err);
	for (size_t i = 0; i < req->nnotes; i++)
		sb_printf(&err, "%s\n", req->notes[i]);
	sb_putn(&err, r->err ? r->err : "", r->errlen);
	zip_writer_add(w, "version", CS_PROTOCOL_VERSION, strlen(CS_PROTOCOL_VERSION), 0644);
	zip_writer_add(w, "rc", rc, strlen(rc), 0644);
	zip_writer_add(w, "stdout", r->out ? r->out : "", r->outlen, 0600);
	zip_writer_add(w, "stderr", err.s, err.len, 0600);
	zip_writer_add_dir(w, "stap000000");
	if (r->module_name && r->module) {
		char *ko = xasprintf("stap000000/%s", r->module_name);
		zip_writer_add(w, ko, r->module, r->modlen, 0644);
		if (r->mok_cert)
			zip_writer_add(w, "signing_key.x509", r->mok_cert, r->mok_certlen, 0644);
		if (r->sgn) {
			char *sgn = xasprintf("%s.sgn", ko);
			zip_writer_add(w, sgn, r->sgn, r->sgnlen, 0644);
			free(sgn);
		}
		free(ko);
	}
	sb_free(&err);
	unsigned char *buf;
	return zip_writer_finish(w, &buf, len) == 0 ? buf : NULL;
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
	char err[512];
	struct zip_archive z = { 0 };
	struct zip_limits lim = zip_default_limits;
	lim.max_total = cfg.max_uncompressed;
	lim.max_entry = cfg.max_uncompressed;
	if (zip_read_mem(body, len, &lim, &z, err, sizeof err) != 0) {
		server_log("Request from %s refused: %s", peer, err);
		char *m = xasprintf("the request archive was refused: %s", err);
		send_refusal(fd, peer, m);
		free(m);
		return;
	}
	struct cs_request req = { 0 };
	if (cs_request_parse(&z, &req, err, sizeof err) != 0) {
		server_log("Request from %s refused: %s", peer, err);
		send_refusal(fd, peer, err);
		zip_archive_free(&z);
		return;
	}
	server_log("Client version is %s", req.client_version);
	for (size_t i = 0; i < req.nnotes; i++)
		server_log("%s", req.notes[i]);

	size_t nk = 0;
	struct kstore_kernel *kernels = kstore_list(&nk);
	char *why = NULL;
	struct kstore_kernel *k = kstore_match(kernels, nk, req.kernel_release, req.arch,
					       req.kernel_build_id, &why);
	const char *privilege = requested_privilege(&req);
	struct strbuf words;
	sb_init(&words);
	for (size_t i = 0; i < req.argc; i++)
		sb_printf(&words, "%s ", req.argv[i]);
	server_log("Options passed from the client: %s", words.s);
	sb_free(&words);
	if (!k) {
		server_log("Request from %s refused: %s", peer, why);
		send_refusal(fd, peer, why);
	} else if (privilege_rank(privilege) > privilege_rank(cfg.max_privilege)) {
		char *m = xasprintf("this server builds modules up to --privilege=%s only; "
				    "the request asks for %s", cfg.max_privilege, privilege);
		server_log("Request from %s refused: %s", peer, m);
		send_refusal(fd, peer, m);
		free(m);
	} else {
		struct build_job job = {
			.req = &req, .files = &z, .kernel = k, .privilege = privilege,
		};
		char *mok_sign = NULL, *mok_offer = NULL;
		if (req.mok_sent) {
			mok_sign = mok_find(req.mok, req.nmok);
			if (!mok_sign)
				mok_offer = mok_any_or_create();
			job.mok_sign = mok_sign;
			job.mok_offer = mok_offer;
		}
		struct cache_key key;
		cache_key_of(&req, &z, k, privilege, &job, &key);
		char *dir = xasprintf("%s/stap-server.XXXXXX", cfg.tmp_root);
		unsigned char *ready = NULL;
		size_t ready_len = 0;
		if (req.nnotes == 0 && cache_get_response(&key, &ready, &ready_len)) {
			send_bytes(fd, ready, ready_len, peer);
			server_log("Request from %s complete: kernel %s, %s, %.0f ms", peer, k->release,
				   "from the cache", ms_since(t0));
			free(ready);
		} else if (!mkdtemp(dir)) {
			server_log("Request from %s: cannot make a directory in %s: %s", peer,
				   cfg.tmp_root, strerror(errno));
			send_refusal(fd, peer, "the server cannot make a temporary directory");
		} else {
			job.dir = dir;
			struct build_result r;
			queue_build(&key, &job, &r);
			size_t zlen = 0;
			unsigned char *zip = result_zip(&req, &r, &zlen);
			if (zip)
				send_bytes(fd, zip, zlen, peer);
			else
				server_log("Request from %s: cannot make the response archive", peer);
			/* without per-request notes the archive is the same for
			 * every request of this key: keep it, the next hit is sent
			 * as it is (no inflating and deflating the module again) */
			if (zip && !r.transient && req.nnotes == 0)
				cache_put_response(&key, zip, zlen);
			free(zip);
			server_log("Request from %s complete: kernel %s, rc %d, %s, %.0f ms", peer,
				   k->release, r.rc, r.cached ? "from the cache" : "built",
				   ms_since(t0));
			build_result_free(&r);
			if (cfg.keep)
				server_log("Keeping temporary directory %s", dir);
			else
				remove_tree(dir);
		}
		free(dir);
		free(mok_sign);
		free(mok_offer);
	}
	free(why);
	kstore_free(kernels, nk);
	cs_request_free(&req);
	zip_archive_free(&z);
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
	} else if ((size_t)len > cfg.max_compressed) {
		char *m = xasprintf("the request is %d bytes; this server accepts at most %zu "
				    "(--max-compressed-request)", len, cfg.max_compressed);
		server_log("Request from %s refused: %s", peer, m);
		send_refusal(fd, peer, m);
		free(m);
	} else {
		unsigned char *body = NULL;
		if (read_body(fd, (size_t)len, &body, err, sizeof err) != 0) {
			server_log("Request from %s: incomplete request of %d bytes: %s", peer, len,
				   err);
			send_refusal(fd, peer, "the request ended before its announced size");
		} else {
			server_log("Request from %s: %d bytes", peer, len);
			handle(fd, peer, body, (size_t)len, &t0);
		}
		free(body);
	}
	PR_Close(fd);
}
