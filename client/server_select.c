/* Which servers a compile (or a trust change) tries: the --use-server
 * specs, completed from the servers Avahi finds where a spec does not
 * say everything (docs/protocol.md, "Automatic server use and
 * selection").  A spec with an address and a port is used as it is,
 * without Avahi and without filters, as SystemTap does. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "remote_internal.h"
#include "util.h"

/* What the filters need to know about the client. */
struct wants {
	const struct remote_request *rq;   /* NULL: no filters */
	char **moks;                        /* fingerprints when modules must be signed */
	size_t nmoks;
	char *priv_store;
};

static void push_addr(struct server_spec *s, const struct online_server *o, int port)
{
	for (size_t i = 0; i < s->naddrs; i++)
		if (strcmp(s->addrs[i].addr, o->addr) == 0 && s->addrs[i].port == port)
			return;
	s->addrs = xrealloc(s->addrs, (s->naddrs + 1) * sizeof *s->addrs);
	s->addrs[s->naddrs++] = (struct server_addr){
		.addr = xstrdup(o->addr), .port = port, .host = xstrdup(o->host),
	};
}

static bool trusted(const struct online_server *o, const struct wants *w)
{
	return online_server_in_store(o, w->priv_store) ||
	       online_server_in_store(o, GLOBAL_SSL_STORE);
}

/* compatible, and a trusted signer unless the privilege is stapdev */
static bool usable(const struct online_server *o, const struct wants *w)
{
	if (!w->rq)
		return true;
	if (!online_server_compatible(o, w->rq->kernel_release, w->rq->arch, w->moks, w->nmoks))
		return false;
	return strcmp(w->rq->privilege, "stapdev") == 0 || online_server_in_store(o, SIGNER_STORE);
}

/* a spec names this announcement: by serial, name or address */
static bool names(const struct server_spec *s, const struct online_server *o)
{
	if (s->port && s->port != o->port)
		return false;
	if (s->kind == SPEC_SERIAL)
		return o->certinfo && strcmp(o->certinfo, s->serial) == 0;
	if (s->name) {
		size_t n = strlen(s->name);
		return strcasecmp(o->host, s->name) == 0 ||
		       (strncasecmp(o->host, s->name, n) == 0 && strcasecmp(o->host + n, ".local") == 0);
	}
	for (size_t i = 0; i < s->naddrs; i++)
		if (server_addr_same(s->addrs[i].addr, o->addr))
			return true;
	return false;
}

static int by_version_desc(const void *a, const void *b)
{
	const struct online_server *x = a, *y = b;
	return version_compare(y->version, x->version);
}

struct server_spec *servers_to_try(char *const *specs, size_t nspecs,
				   const struct remote_request *rq, size_t *nout, const char **why)
{
	size_t n;
	char **items = server_specs_split(specs, nspecs, &n);
	struct server_spec *out = xcalloc(n ? n : 1, sizeof *out);
	size_t nout_ = 0;
	struct online_server *online = NULL;
	size_t nonline = 0;
	bool browsed = false;
	struct wants w = { .rq = rq, .priv_store = private_ssl_store() };
	*why = NULL;
	if (rq && modules_must_be_signed() && mok_fingerprints(&w.moks, &w.nmoks) < 0)
		w.nmoks = 0;

	if (n == 0) {
		/* the default: online, trusted, compatible (and signer) */
		if (discover_servers(&online, &nonline) < 0 || nonline == 0) {
			*why = "No servers online to select from.";
			goto out;
		}
		browsed = true;
		qsort(online, nonline, sizeof *online, by_version_desc);
		for (size_t i = 0; i < nonline; i++) {
			if (!usable(&online[i], &w) || !trusted(&online[i], &w))
				continue;
			/* one spec holding every qualifying address, best first */
			if (nout_ == 0)
				out[0] = (struct server_spec){ .text = xstrdup("(default servers)") };
			push_addr(&out[0], &online[i], online[i].port);
			nout_ = 1;
		}
		if (nout_ == 0)
			*why = "No servers matched the selection criteria.";
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char err[512];
		struct server_spec s;
		if (server_spec_parse(items[i], &s, err, sizeof err) < 0) {
			remote_error("%s", err);
			continue;
		}
		bool complete = s.kind == SPEC_ADDRESS && s.port && !s.name;
		if (!complete) {
			if (!browsed) {
				browsed = true;
				if (discover_servers(&online, &nonline) < 0)
					nonline = 0;
			}
			bool filter = s.port == 0;
			struct server_spec found = s;
			found.addrs = NULL;
			found.naddrs = 0;
			for (size_t k = 0; k < nonline; k++)
				if (names(&s, &online[k]) && (!filter || usable(&online[k], &w)))
					push_addr(&found, &online[k], online[k].port);
			for (size_t k = 0; k < s.naddrs; k++) {
				free(s.addrs[k].addr);
				free(s.addrs[k].host);
			}
			free(s.addrs);
			s = found;
			if (s.naddrs == 0) {
				remote_error("no server online matches '%s'%s", s.text,
					     filter && rq ? " (compatible with this kernel)" : "");
				server_spec_free(&s);
				continue;
			}
		}
		out[nout_++] = s;
	}
out:
	online_servers_free(online, nonline);
	strv_free(w.moks, w.nmoks);
	free(w.priv_store);
	strv_free(items, n);
	*nout = nout_;
	return out;
}
