/* stap --list-servers[=PROPS]: the servers that have every property
 * asked for, in SystemTap's format (docs/protocol.md, "--list-servers"),
 * on stderr, newest protocol version first.
 *
 * What is listed comes from the servers SystemTap calls "all": those
 * Avahi announces and those whose certificate is in a trust store (the
 * private and global SSL stores, the signer store).  A certificate that
 * no announcement carries is a server that is not online: it is listed
 * with the host name its certificate gives (the first subject alternative
 * name), "address=offline port=unknown", and nothing else known.  A
 * trusted server that is online shows what Avahi says of it, its Avahi
 * host name included (SystemTap merges the announcement into the entry
 * it makes from the certificate). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cert.h>
#include <certt.h>
#include <secitem.h>

#include "remote_internal.h"
#include "util.h"

enum { PROP_ALL = 1, PROP_SPECIFIED = 2, PROP_ONLINE = 4, PROP_TRUSTED = 8,
       PROP_SIGNER = 16, PROP_COMPATIBLE = 32 };

enum { MAX_CERT_HOST = 255 };   /* longer names are cut (a DNS name fits) */

/* One server the listing knows of. */
struct known {
	struct online_server s;  /* s.addr NULL: only a certificate in a store (offline),
				  * s.host then its first subject alternative name */
	bool trusted;            /* certificate in the private or the global SSL store */
	bool signer;             /* certificate in the signer store */
	size_t order;            /* discovery order, to sort ties the same way each time */
};

static unsigned parse_props(const char *text)
{
	static const struct { const char *name; unsigned bit; } names[] = {
		{ "online", PROP_ONLINE }, { "trusted", PROP_TRUSTED }, { "signer", PROP_SIGNER },
		{ "compatible", PROP_COMPATIBLE }, { "specified", PROP_SPECIFIED }, { "all", PROP_ALL },
	};
	unsigned props = 0;
	char *copy = xstrdup(text), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; i < sizeof names / sizeof names[0]; i++)
			if (strcmp(t, names[i].name) == 0)
				break;
		if (i < sizeof names / sizeof names[0])
			props |= names[i].bit;
		else
			fprintf(stderr, "WARNING: unsupported compile server property: %s\n", t);
	}
	free(copy);
	return props;
}

/* The first subject alternative name of a certificate, which SystemTap
 * shows as a trusted server's host.  NULL, after SystemTap's message,
 * when there is none; such a certificate is not listed. */
static char *cert_host_name(const unsigned char *der, size_t len)
{
	SECItem item = { siBuffer, (unsigned char *)der, (unsigned int)len };
	CERTCertificate *cert = len <= 0xffffffffu
		? CERT_NewTempCertificate(CERT_GetDefaultCertDB(), &item, NULL, PR_FALSE, PR_TRUE)
		: NULL;
	if (!cert)
		return NULL;
	SECItem ext = { siBuffer, NULL, 0 };
	char *name = NULL;
	if (CERT_FindCertExtension(cert, SEC_OID_X509_SUBJECT_ALT_NAME, &ext) != SECSuccess ||
	    !ext.data) {
		fprintf(stderr, "Unable to find alt name extension on server certificate: \n");
		CERT_DestroyCertificate(cert);
		return NULL;
	}
	PLArenaPool *arena = PORT_NewArena(DER_DEFAULT_CHUNKSIZE);
	CERTGeneralName *names = arena ? CERT_DecodeAltNameExtension(arena, &ext) : NULL;
	if (names && names->type == certDNSName && names->name.other.len > 0) {
		size_t n = names->name.other.len < MAX_CERT_HOST ? names->name.other.len
								  : MAX_CERT_HOST;
		name = xstrndup((const char *)names->name.other.data, n);
		for (char *p = name; *p; p++)   /* a store may hold anything: no control bytes out */
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '?';
	} else {
		fprintf(stderr, "Unable to decode alt name extension on server certificate: \n");
	}
	if (arena)
		PORT_FreeArena(arena, PR_FALSE);
	SECITEM_FreeItem(&ext, PR_FALSE);
	CERT_DestroyCertificate(cert);
	return name;
}

static void mark(struct known *e, bool signer_store)
{
	if (signer_store)
		e->signer = true;
	else
		e->trusted = true;
}

/* Marks the servers whose certificate is in store as trusted (or as
 * signers), adding those that are not online. */
static void add_store(struct known **list, size_t *n, const char *store, bool signer_store)
{
	unsigned char **ders = NULL;
	size_t *lens = NULL, nd = 0;
	char err[256];
	if (trust_list(store, &ders, &lens, &nd, err, sizeof err) < 0)
		return;
	for (size_t i = 0; i < nd; i++) {
		char *serial = cert_serial_string(ders[i], lens[i]);
		char *host = serial ? cert_host_name(ders[i], lens[i]) : NULL;
		bool seen = false;
		for (size_t k = 0; host && k < *n; k++) {
			struct known *e = &(*list)[k];
			if (!e->s.certinfo || strcmp(e->s.certinfo, serial) != 0)
				continue;
			mark(e, signer_store);
			seen = true;
		}
		if (host && !seen) {
			*list = xrealloc(*list, (*n + 1) * sizeof **list);
			struct known *e = &(*list)[*n];
			*e = (struct known){ .s = { .certinfo = serial, .host = host }, .order = *n };
			mark(e, signer_store);
			(*n)++;
			serial = host = NULL;
		}
		free(host);
		free(serial);
		free(ders[i]);
	}
	free(ders);
	free(lens);
}

/* The servers SystemTap calls "all": online, then trusted, then signers. */
static struct known *all_servers(const char *priv_store, size_t *n)
{
	struct online_server *online = NULL;
	size_t nonline = 0;
	if (discover_servers(&online, &nonline) < 0)
		nonline = 0;
	struct known *list = xcalloc(nonline ? nonline : 1, sizeof *list);
	for (size_t i = 0; i < nonline; i++)
		list[i] = (struct known){ .s = online[i], .order = i };
	free(online);   /* the strings now belong to list */
	*n = nonline;
	add_store(&list, n, priv_store, false);
	add_store(&list, n, GLOBAL_SSL_STORE, false);
	add_store(&list, n, SIGNER_STORE, true);
	return list;
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
				addr |= s->addr && server_addr_same(sp.addrs[k].addr, s->addr);
			hit = hit && addr;
		}
		server_spec_free(&sp);
		if (hit)
			return true;
	}
	return false;
}

/* Newest version first; a server known only from its certificate (no
 * version) last, as SystemTap orders an empty version. */
static int by_version_desc(const void *a, const void *b)
{
	const struct known *x = a, *y = b;
	if (!x->s.version != !y->s.version)
		return x->s.version ? -1 : 1;
	int c = x->s.version ? version_compare(y->s.version, x->s.version) : 0;
	return c ? c : (x->order > y->order) - (x->order < y->order);
}

char *list_server_line(const struct online_server *s)
{
	struct strbuf sb;
	sb_init(&sb);
	sb_printf(&sb, " host=%s", s->host ? s->host : "unknown");
	if (s->addr)
		sb_printf(&sb, " address=%s port=%d", s->addr, s->port);
	else
		sb_printf(&sb, " address=offline port=unknown");
	sb_printf(&sb, " sysinfo=\"%s\" version=%s certinfo=\"%s\"",
		  s->sysinfo ? s->sysinfo : "unknown", s->version ? s->version : "unknown",
		  s->certinfo ? s->certinfo : "unknown");
	if (s->nmoks) {
		sb_printf(&sb, " mok_fingerprints=\"");
		for (size_t i = 0; i < s->nmoks; i++)
			sb_printf(&sb, "%s%s", i ? ", " : "", s->moks[i]);
		sb_putc(&sb, '"');
	}
	return sb_detach(&sb);
}

/* the server has every property asked for */
static bool wanted(const struct known *e, unsigned props, const struct remote_request *rq,
		   char *const *moks, size_t nmoks, char *const *items, size_t nitems)
{
	if (!props || !e->s.certinfo)   /* no certificate: not listed, as SystemTap */
		return false;
	if ((props & PROP_SPECIFIED) && !specified(&e->s, items, nitems))
		return false;
	if ((props & (PROP_ONLINE | PROP_COMPATIBLE)) && !e->s.addr)
		return false;
	if ((props & PROP_TRUSTED) && !e->trusted)
		return false;
	if ((props & PROP_SIGNER) && !e->signer)
		return false;
	return !(props & PROP_COMPATIBLE) ||
	       online_server_compatible(&e->s, rq->kernel_release, rq->arch, moks, nmoks);
}

int remote_list_servers(const char *props_text, char *const *specs, size_t nspecs,
			const struct remote_request *rq)
{
	bool stapdev = strcmp(rq->privilege, "stapdev") == 0;
	const char *dflt = stapdev ? "online,trusted,compatible" : "online,trusted,compatible,signer";
	size_t nitems;
	char **items = server_specs_split(specs, nspecs, &nitems);
	/* no PROPS: "specified", which without --use-server is the default */
	const char *text = props_text && *props_text ? props_text : "specified";
	if (strcmp(text, "specified") == 0 && nitems == 0)
		text = dflt;
	unsigned props = parse_props(text);
	if ((props & PROP_SPECIFIED) && nitems == 0)   /* the default servers */
		props = (props & ~(unsigned)PROP_SPECIFIED) | parse_props(dflt);
	if (remote_nss_start() < 0) {
		strv_free(items, nitems);
		return 1;
	}
	char *priv = private_ssl_store();
	size_t n;
	struct known *list = all_servers(priv, &n);

	char **moks = NULL;
	size_t nmoks = 0;
	if ((props & PROP_COMPATIBLE) && modules_must_be_signed() &&
	    mok_fingerprints(&moks, &nmoks) < 0)
		nmoks = 0;
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		struct known *e = &list[i];
		if (wanted(e, props, rq, moks, nmoks, items, nitems))
			list[kept++] = *e;
		else
			online_server_clear(&e->s);
	}
	if (kept > 1)
		qsort(list, kept, sizeof *list, by_version_desc);
	fprintf(stderr, "Systemtap Compile Server Status for '%s'\n", text);
	for (size_t i = 0; i < kept; i++) {
		char *line = list_server_line(&list[i].s);
		fprintf(stderr, "%s\n", line);
		free(line);
		online_server_clear(&list[i].s);
	}
	if (kept == 0)
		fprintf(stderr, "No servers found\n");
	free(list);
	strv_free(moks, nmoks);
	free(priv);
	strv_free(items, nitems);
	return 0;
}
