/* A request turned into a build: what the SystemTap protocol (conn.c)
 * and the HTTP API (http.c) share.  Both hand over a request archive in
 * SystemTap's layout (docs/protocol.md); the same parser, kernel match,
 * privilege rule, MOK choice and cache key apply to both, so a request
 * gets the same module, the same refusal and the same cache entry
 * whichever way it came. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <sechash.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

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
 * the script and tapset files, the server's own -I/-D, and the signer.
 * -1 when NSS cannot hash. */
static int cache_key_of(const struct cs_request *req, const struct zip_archive *files,
			 const struct kstore_kernel *k, const char *privilege,
			 const struct build_job *job, struct cache_key *key)
{
	HASHContext *h = HASH_Create(HASH_AlgSHA256);
	if (!h)		/* NSS not running, or out of memory */
		return -1;
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
	return 0;
}

/* --- the response archive ------------------------------------------------------------------ */

/* The response archive of a result; NULL if it cannot be made. */
unsigned char *request_response_zip(const struct cs_request *req, const struct build_result *r,
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

/* --- prepare, build, release -------------------------------------------------------------- */

static int refuse(struct prepared_request *p, const char *peer, enum refusal why, char *msg)
{
	server_log("Request from %s refused: %s", peer, msg);
	p->refusal = why;
	p->message = msg;
	metrics_rejected(why);
	return -1;
}

int request_prepare(const unsigned char *zip, size_t len, const char *peer,
		    struct prepared_request *p)
{
	char err[512];
	memset(p, 0, sizeof *p);
	struct zip_limits lim = zip_default_limits;
	lim.max_total = cfg.max_uncompressed;
	lim.max_entry = cfg.max_uncompressed;
	if (zip_read_mem(zip, len, &lim, &p->z, err, sizeof err) != 0)
		return refuse(p, peer, REFUSE_ARCHIVE,
			      xasprintf("the request archive was refused: %s", err));
	if (cs_request_parse(&p->z, &p->req, err, sizeof err) != 0)
		return refuse(p, peer, REFUSE_REQUEST, xstrdup(err));
	server_log("Client version is %s", p->req.client_version);
	for (size_t i = 0; i < p->req.nnotes; i++)
		server_log("%s", p->req.notes[i]);

	p->kernels = kstore_list(&p->nk);
	char *why = NULL;
	struct kstore_kernel *k = kstore_match(p->kernels, p->nk, p->req.kernel_release,
					       p->req.arch, p->req.kernel_build_id, &why);
	p->privilege = requested_privilege(&p->req);
	struct strbuf words;
	sb_init(&words);
	for (size_t i = 0; i < p->req.argc; i++)
		sb_printf(&words, "%s ", p->req.argv[i]);
	server_log("Options passed from the client: %s", words.s);
	sb_free(&words);
	if (!k)
		return refuse(p, peer, REFUSE_KERNEL, why);
	if (privilege_rank(p->privilege) > privilege_rank(cfg.max_privilege))
		return refuse(p, peer, REFUSE_PRIVILEGE,
			      xasprintf("this server builds modules up to --privilege=%s only; "
					"the request asks for %s", cfg.max_privilege, p->privilege));
	p->job = (struct build_job){
		.req = &p->req, .files = &p->z, .kernel = k, .privilege = p->privilege,
	};
	if (p->req.mok_sent) {
		p->mok_sign = mok_find(p->req.mok, p->req.nmok);
		if (!p->mok_sign)
			p->mok_offer = mok_any_or_create();
		p->job.mok_sign = p->mok_sign;
		p->job.mok_offer = p->mok_offer;
	}
	if (cache_key_of(&p->req, &p->z, k, p->privilege, &p->job, &p->key) != 0)
		return refuse(p, peer, REFUSE_TMPDIR, xasprintf("the server cannot key the request "
								 "(NSS error %d)", (int)PORT_GetError()));
	metrics_kernel(k->release);
	return 0;
}

int request_build(struct prepared_request *p, const char *peer, struct build_result *r)
{
	char *dir = xasprintf("%s/stap-server.XXXXXX", cfg.tmp_root);
	if (!mkdtemp(dir)) {
		server_log("Request from %s: cannot make a directory in %s: %s", peer,
			   cfg.tmp_root, strerror(errno));
		free(dir);
		memset(r, 0, sizeof *r);
		metrics_rejected(REFUSE_TMPDIR);
		return -1;
	}
	p->job.dir = dir;
	queue_build(&p->key, &p->job, r);
	if (cfg.keep)
		server_log("Keeping temporary directory %s", dir);
	else
		remove_tree(dir);
	p->job.dir = NULL;
	free(dir);
	return 0;
}

void request_release(struct prepared_request *p)
{
	free(p->message);
	free(p->mok_sign);
	free(p->mok_offer);
	kstore_free(p->kernels, p->nk);
	cs_request_free(&p->req);
	zip_archive_free(&p->z);
	memset(p, 0, sizeof *p);
}
