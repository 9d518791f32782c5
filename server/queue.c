/* Build slots and shared builds.  At most `slots` builds run at once;
 * requests that find every slot busy wait in arrival order (tickets);
 * a cancelled one leaves at once and the turn passes over its ticket.
 * A request whose key is already being built waits for that build
 * instead of starting its own, and all of them get the same result. */
#define _GNU_SOURCE
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gelf.h>
#include <libelf.h>

#include "privilege.h"
#include "server.h"

struct inflight {
	struct cache_key key;
	bool done;
	struct build_result result;
	int waiters;                /* requests waiting for this build, besides its owner */
	bool cancelled;             /* its owner gave up before a slot: joins nobody */
	pthread_cond_t done_cv;
	struct inflight *next;
};

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slot_cv = PTHREAD_COND_INITIALIZER;
static int free_slots, n_busy, n_waiting;
static unsigned long next_ticket, serving;
static unsigned long *skipped;     /* tickets cancelled out of turn: the turn passes over them */
static size_t nskipped, skipped_cap;
static struct inflight *building;

void queue_init(int slots)
{
	free_slots = slots > 0 ? slots : 1;
}

void queue_stats(int *busy, int *waiting)
{
	pthread_mutex_lock(&qlock);
	*busy = n_busy;
	*waiting = n_waiting;
	pthread_mutex_unlock(&qlock);
}

static char *dup_bytes(const void *p, size_t n)
{
	if (!p)
		return NULL;
	char *c = xmalloc(n + 1);
	memcpy(c, p, n);
	c[n] = '\0';
	return c;
}

void build_result_copy(struct build_result *to, const struct build_result *from)
{
	*to = *from;
	to->out = dup_bytes(from->out, from->outlen);
	to->err = dup_bytes(from->err, from->errlen);
	to->module_name = from->module_name ? xstrdup(from->module_name) : NULL;
	to->module = (unsigned char *)dup_bytes(from->module, from->modlen);
	to->sgn = (unsigned char *)dup_bytes(from->sgn, from->sgnlen);
	to->mok_cert = (unsigned char *)dup_bytes(from->mok_cert, from->mok_certlen);
}

static void append_err(struct build_result *r, const char *text)
{
	char *more = xasprintf("%.*s%s", (int)r->errlen, r->err ? r->err : "", text);
	free(r->err);
	r->err = more;
	r->errlen = strlen(more);
}

/* Secure Boot: sign with the client's MOK that we hold, or offer one of
 * ours (rc 1: the client must enrol it first), as SystemTap's server does. */
static void mok_step(struct build_job *job, struct build_result *r)
{
	if (!r->module || r->rc != 0)
		return;
	if (job->mok_sign) {
		char *path = xasprintf("%s/response/stap000000/%s", job->dir, r->module_name);
		size_t len;
		unsigned char *signed_mod = NULL;
		if (mok_sign(job->mok_sign, job->kernel->build_dir, path) == 0 &&
		    (signed_mod = (unsigned char *)read_file_bounded(path, 1u << 30, &len))) {
			free(r->module);
			r->module = signed_mod;
			r->modlen = len;
			char *msg = xasprintf("Module signed with MOK, fingerprint \"%s\"\n", job->mok_sign);
			append_err(r, msg);
			free(msg);
		} else {
			append_err(r, "Server: the module could not be signed with the MOK\n");
			r->rc = 1;
			r->transient = true;
		}
		free(path);
	} else if (job->mok_offer) {
		append_err(r, "Server: No matching machine owner key (MOK) available on the server to sign the\n"
			      " module.\n");
		r->mok_cert = mok_cert(job->mok_offer, &r->mok_certlen);
		if (r->mok_cert)
			append_err(r, "Server: The server has no machine owner key (MOK) in common with this\n"
				      "system. Use the following command to import a server MOK into this\n"
				      "system, then reboot:\n\n\t# sudo mokutil --import signing_key.x509\n");
		r->rc = 1;
	}
}

bool sgn_wants_sha1(const struct cs_request *req)
{
	return cs_version_compare(req->client_version, "4.0") < 0;
}

bool client_wants_v4_transport(const struct cs_request *req)
{
	return cs_version_compare(req->client_version, "5.0") < 0;
}

/* The level a built module records in its .stap_privilege section (what
 * staprun will hold it to), or -1 when it has no such 4-byte section. */
static int module_level(const unsigned char *image, size_t len)
{
	elf_version(EV_CURRENT);
	Elf *e = elf_memory((char *)image, len);
	size_t shstrndx;
	int level = -1;
	if (!e || elf_getshdrstrndx(e, &shstrndx) != 0) {
		if (e)
			elf_end(e);
		return -1;
	}
	for (Elf_Scn *scn = elf_nextscn(e, NULL); scn; scn = elf_nextscn(e, scn)) {
		GElf_Shdr sh;
		const char *name;
		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(e, shstrndx, sh.sh_name)) ||
		    strcmp(name, ".stap_privilege") != 0)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		int32_t v;
		if (d && d->d_buf && d->d_size == sizeof v) {
			memcpy(&v, d->d_buf, sizeof v);
			level = v;
		}
		break;
	}
	elf_end(e);
	return level;
}

/* A .sgn for modules below stapdev (SystemTap signs only those), and only
 * when the module itself says the level that was requested and allowed:
 * whatever the words said, the module's section is what staprun reads. */
static void sign(struct build_job *job, struct build_result *r)
{
	if (!r->module || r->rc != 0 || strcmp(job->privilege, "stapdev") == 0)
		return;
	int level = module_level(r->module, r->modlen);
	if (level != privilege_from_name(job->privilege)) {
		server_log("Module %s records privilege %s, the request %s: not signed",
			   r->module_name, level < 0 ? "none" : privilege_name(level), job->privilege);
		append_err(r, "Server: the module's privilege level is not the one requested; "
			      "it was not signed\n");
		r->rc = 1;
		return;
	}
	char err[256];
	bool sha1 = sgn_wants_sha1(job->req);
	if (module_sign(server_id, r->module, r->modlen, sha1, &r->sgn, &r->sgnlen,
			err, sizeof err) != 0) {
		server_log("Unable to sign module %s: %s", r->module_name, err);
		char *more = xasprintf("%sServer: the module could not be signed: %s\n",
				       r->err ? r->err : "", err);
		free(r->err);
		r->err = more;
		r->errlen = strlen(more);
		r->rc = 1;
		r->transient = true;
	}
}

/* The turn passes from `serving` to the next ticket still waiting.  Under qlock. */
static void next_turn(void)
{
	serving++;
	for (size_t i = 0; i < nskipped;) {
		if (skipped[i] == serving) {
			skipped[i] = skipped[--nskipped];
			serving++;
			i = 0;          /* the next one may be skipped too */
		} else {
			i++;
		}
	}
}

/* A cancelled ticket leaves at once, in turn or not: the turn never
 * stops at it later.  Under qlock. */
static void leave_queue(unsigned long ticket)
{
	if (ticket == serving) {
		next_turn();
		return;
	}
	if (nskipped == skipped_cap) {
		skipped_cap = skipped_cap ? 2 * skipped_cap : 16;
		skipped = xrealloc(skipped, skipped_cap * sizeof *skipped);
	}
	skipped[nskipped++] = ticket;
}

static void run_in_slot(struct build_job *job, struct build_result *r)
{
	pthread_mutex_lock(&qlock);
	unsigned long ticket = next_ticket++;
	n_waiting++;
	if (free_slots == 0 || ticket != serving)
		server_log("Server is busy: request waits for a build slot (%d waiting)", n_waiting);
	job->waiting = true;
	while (!job->cancel && (ticket != serving || free_slots == 0))
		pthread_cond_wait(&slot_cv, &qlock);
	job->waiting = false;
	n_waiting--;
	if (job->cancel) {	/* leaves now, whoever is ahead of it */
		leave_queue(ticket);
		pthread_cond_broadcast(&slot_cv);
		pthread_mutex_unlock(&qlock);
		memset(r, 0, sizeof *r);
		append_err(r, "Server: the build was cancelled before it started\n");
		r->rc = 1;
		r->transient = true;
		return;
	}
	next_turn();
	free_slots--;
	n_busy++;
	pthread_cond_broadcast(&slot_cv);	/* the next ticket may fit too */
	pthread_mutex_unlock(&qlock);

	if (job->started)
		job->started(job);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	build_run(job, r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	metrics_build_time((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	mok_step(job, r);
	sign(job, r);

	pthread_mutex_lock(&qlock);
	free_slots++;
	n_busy--;
	pthread_cond_broadcast(&slot_cv);
	pthread_mutex_unlock(&qlock);
}

bool queue_cancel(struct build_job *job)
{
	pthread_mutex_lock(&qlock);
	struct inflight *f = job->inflight;
	bool ok = job->waiting && f && f->waiters == 0 && !job->cancel;
	if (ok) {
		job->cancel = true;
		f->cancelled = true;
		pthread_cond_broadcast(&slot_cv);
	}
	pthread_mutex_unlock(&qlock);
	return ok;
}

void queue_build(const struct cache_key *key, struct build_job *job, struct build_result *r)
{
	if (cache_get(key, r))
		return;
	pthread_mutex_lock(&qlock);
	for (struct inflight *f = building; f; f = f->next) {
		if (strcmp(f->key.hex, key->hex) != 0 || f->cancelled)
			continue;
		f->waiters++;
		if (job->started)
			job->started(job);	/* shares a build already under way or queued */
		while (!f->done)
			pthread_cond_wait(&f->done_cv, &qlock);
		build_result_copy(r, &f->result);
		r->cached = true;
		if (--f->waiters == 0) {
			build_result_free(&f->result);
			pthread_cond_destroy(&f->done_cv);
			free(f);
		}
		pthread_mutex_unlock(&qlock);
		return;
	}
	struct inflight *mine = xcalloc(1, sizeof *mine);
	mine->key = *key;
	pthread_cond_init(&mine->done_cv, NULL);
	mine->next = building;
	building = mine;
	job->inflight = mine;
	pthread_mutex_unlock(&qlock);

	run_in_slot(job, r);
	pthread_mutex_lock(&qlock);
	job->inflight = NULL;
	pthread_mutex_unlock(&qlock);
	if (!r->transient)
		cache_put(key, r);

	pthread_mutex_lock(&qlock);
	for (struct inflight **pp = &building; *pp; pp = &(*pp)->next) {
		if (*pp == mine) {
			*pp = mine->next;
			break;
		}
	}
	if (mine->waiters > 0) {
		build_result_copy(&mine->result, r);
		mine->done = true;
		pthread_cond_broadcast(&mine->done_cv);
	} else {
		pthread_cond_destroy(&mine->done_cv);
		free(mine);
	}
	pthread_mutex_unlock(&qlock);
}
