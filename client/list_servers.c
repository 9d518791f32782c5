/* stap --list-servers[=PROPS]: the servers that have every property
 * asked for, in SystemTap's format (docs/protocol.md, "--list-servers"),
 * on stderr, newest protocol version first. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "remote_internal.h"
#include "util.h"

enum { PROP_ONLINE = 1, PROP_TRUSTED = 2, PROP_SIGNER = 4, PROP_COMPATIBLE = 8,
       PROP_SPECIFIED = 16, PROP_ALL = 32 };

static unsigned parse_props(const char *text)
{
	static const struct { const char *name; unsigned bit; } known[] = {
		{ "online", PROP_ONLINE }, { "trusted", PROP_TRUSTED }, { "signer", PROP_SIGNER },
		{ "compatible", PROP_COMPATIBLE }, { "specified", PROP_SPECIFIED }, { "all", PROP_ALL },
	};
	unsigned props = 0;
	char *copy = xstrdup(text), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; i < sizeof known / sizeof known[0]; i++)
			if (strcmp(t, known[i].name) == 0)
				break;
		if (i < sizeof known / sizeof known[0])
			props |= known[i].bit;
		else
			fprintf(stderr, "WARNING: unsupported compile server property: %s\n", t);
	}
	free(copy);
	return props;
}

/* Certificates of a trust store that no online server has: offline. */
static void add_offline(struct online_server **list, size_t *n, const char *store)
{
	unsigned char **ders = NULL;
	size_t *lens = NULL, nd = 0;
	char err[256];
	if (trust_list(store, &ders, &lens, &nd, err, sizeof err) < 0)
		return;
	for (size_t i = 0; i < nd; i++) {
		char *serial = cert_serial_string(ders[i], lens[i]);
		bool known = !serial;
		for (size_t k = 0; k < *n && !known; k++)
			known = (*list)[k].certinfo && strcmp((*list)[k].certinfo, serial) == 0;
		if (!known) {
			*list = xrealloc(*list, (*n + 1) * sizeof **list);
			(*list)[(*n)++] = (struct online_server){ .certinfo = serial };
			serial = NULL;
		}
		free(serial);
		free(ders[i]);
	}
	free(ders);
	free(lens);
}

/* one of the --use-server specs names s */
static bool specified(const struct online_server *s, char *const *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char err[256];
		struct server_spec sp;
		if (server_spec_parse(items[i], &sp, err, sizeof err) < 0)
			continue;
		bool hit = !sp.port || sp.port == s->port;
		if (sp.kind == SPEC_SERIAL) {
			hit = hit && s->certinfo && strcmp(sp.serial, s->certinfo) == 0;
		} else if (sp.name) {
			size_t len = strlen(sp.name);
			hit = hit && s->host && (strcasecmp(s->host, sp.name) == 0 ||
				 (strncasecmp(s->host, sp.name, len) == 0 &&
				  strcasecmp(s->host + len, ".local") == 0));
		} else {
			bool addr = false;
			for (size_t k = 0; k < sp.naddrs; k++)
				addr |= s->addr && strcmp(sp.addrs[k].addr, s->addr) == 0;
			hit = hit && addr;
		}
		server_spec_free(&sp);
		if (hit)
			return true;
	}
	return false;
}

static int by_version_desc(const void *a, const void *b)
{
	const struct online_server *x = a, *y = b;
	return version_compare(y->version, x->version);
}

static void print_server(const struct online_server *s)
{
	fprintf(stderr, " host=%s", s->host ? s->host : "unknown");
	fprintf(stderr, " address=%s", s->addr ? s->addr : "offline");
	if (s->addr)
		fprintf(stderr, " port=%d", s->port);
	else
		fprintf(stderr, " port=unknown");
	fprintf(stderr, " sysinfo=\"%s\" version=%s certinfo=\"%s\"",
		s->sysinfo ? s->sysinfo : "unknown", s->version ? s->version : "unknown",
		s->certinfo);
	if (s->nmoks) {
		fprintf(stderr, " mok_fingerprints=\"");
		for (size_t i = 0; i < s->nmoks; i++)
			fprintf(stderr, "%s%s", i ? ", " : "", s->moks[i]);
		fputc('"', stderr);
	}
	fputc('\n', stderr);
}

int remote_list_servers(const char *props_text, char *const *specs, size_t nspecs,
			const struct remote_request *rq)
{
	bool stapdev = strcmp(rq->privilege, "stapdev") == 0;
	const char *text = props_text && *props_text ? props_text
		: stapdev ? "online,trusted,compatible" : "online,trusted,compatible,signer";
	unsigned props = parse_props(text);
	size_t nitems;
	char **items = server_specs_split(specs, nspecs, &nitems);
	if (remote_nss_start() < 0) {
		server_specs_free(items, nitems);
		return 1;
	}
	struct online_server *list = NULL;
	size_t n = 0;
	if (props & (PROP_ONLINE | PROP_ALL | PROP_SPECIFIED | PROP_COMPATIBLE))
		discover_servers(&list, &n);
	char *priv = private_ssl_store();
	if (props & (PROP_ALL | PROP_TRUSTED) && !(props & PROP_ONLINE)) {
		add_offline(&list, &n, priv);
		add_offline(&list, &n, GLOBAL_SSL_STORE);
	}
	if (props & (PROP_ALL | PROP_SIGNER) && !(props & PROP_ONLINE))
		add_offline(&list, &n, SIGNER_STORE);

	char **moks = NULL;
	size_t nmoks = 0;
	if ((props & PROP_COMPATIBLE) && modules_must_be_signed() &&
	    mok_fingerprints(&moks, &nmoks) < 0)
		nmoks = 0;
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		struct online_server *s = &list[i];
		bool keep = s->certinfo != NULL;
		if (keep && (props & PROP_TRUSTED))
			keep = online_server_in_store(s, priv) ||
			       online_server_in_store(s, GLOBAL_SSL_STORE);
		if (keep && (props & PROP_SIGNER))
			keep = online_server_in_store(s, SIGNER_STORE);
		if (keep && (props & PROP_COMPATIBLE))
			keep = online_server_compatible(s, rq->kernel_release, rq->arch, moks, nmoks);
		if (keep && (props & PROP_SPECIFIED) && nitems)
			keep = specified(s, items, nitems);
		if (keep)
			list[kept++] = *s;
		else
			online_server_clear(s);
	}
	if (kept > 1)
		qsort(list, kept, sizeof *list, by_version_desc);
	fprintf(stderr, "Systemtap Compile Server Status for '%s'\n", text);
	for (size_t i = 0; i < kept; i++)
		print_server(&list[i]);
	if (kept == 0)
		fprintf(stderr, "No servers found\n");
	online_servers_free(list, kept);
	for (size_t i = 0; i < nmoks; i++)
		free(moks[i]);
	free(moks);
	free(priv);
	server_specs_free(items, nitems);
	return 0;
}
