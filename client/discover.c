/* Compile servers on the LAN: browses Avahi for `_stap._tcp` and
 * resolves each service into its address, port, host name and TXT
 * records (docs/protocol.md, "Discovery").  The browse runs on a simple
 * poll for at most DISCOVER_MS, or less when the daemon says it has
 * shown everything and every resolution has answered.
 *
 * An IPv6 address keeps the interface it was found on, so that a
 * link-local one can be connected to ("fe80::1%eth0").
 *
 * Only a `mok_info=` record is a MOK fingerprint: SystemTap 4.8's client
 * takes every record after the first mok_info as one, which we do not. */
#include "config.h"

#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/simple-watch.h>

#include "remote_internal.h"
#include "util.h"

enum {
	DISCOVER_MS = 2000,         /* the longest a browse takes */
	MAX_SERVERS = 256,          /* resolutions kept; more are ignored */
	MAX_RESOLVERS = 256,        /* resolutions asked for at once */
};

struct browse {
	AvahiSimplePoll *poll;
	AvahiClient *client;
	int pending;                /* resolvers not yet answered */
	bool all_for_now;           /* the browser showed what it knows */
	struct online_server *found;
	size_t nfound;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool same_server(const struct online_server *a, const struct online_server *b)
{
	return strcmp(a->addr, b->addr) == 0 && a->port == b->port &&
	       strcmp(a->sysinfo ? a->sysinfo : "", b->sysinfo ? b->sysinfo : "") == 0 &&
	       strcmp(a->certinfo ? a->certinfo : "", b->certinfo ? b->certinfo : "") == 0;
}

void online_server_read_txt(struct online_server *s, AvahiStringList *txt)
{
	struct ptrvec moks = { 0 };
	for (AvahiStringList *l = txt; l; l = avahi_string_list_get_next(l)) {
		char *key = NULL, *value = NULL;
		if (avahi_string_list_get_pair(l, &key, &value, NULL) < 0)
			continue;
		char **slot = !strcmp(key, "sysinfo") ? &s->sysinfo
			    : !strcmp(key, "certinfo") ? &s->certinfo
			    : !strcmp(key, "version") ? &s->version : NULL;
		if (slot && value && !*slot)
			*slot = xstrdup(value);
		else if (!strcmp(key, "mok_info") && value && *value)
			pv_push(&moks, xstrdup(value));
		avahi_free(key);
		avahi_free(value);
	}
	s->moks = (char **)moks.v;
	s->nmoks = moks.n;
	if (!s->version)
		s->version = xstrdup("1.0");   /* servers before versions were announced */
}

void online_server_clear(struct online_server *s)
{
	free(s->host);
	free(s->addr);
	free(s->sysinfo);
	free(s->certinfo);
	free(s->version);
	strv_free(s->moks, s->nmoks);
}

/* The address as SystemTap shows and uses it: an IPv6 address carries
 * the interface Avahi found it on as its scope, printed by getnameinfo
 * (as NSPR's PR_NetAddrToString does): "fe80::1%eth0" for a link-local
 * address, which is usable only with it, "2001:db8::1%2" otherwise. */
static void address_text(const AvahiAddress *a, AvahiIfIndex iface, char *out, size_t outlen)
{
	avahi_address_snprint(out, outlen < AVAHI_ADDRESS_STR_MAX ? outlen : AVAHI_ADDRESS_STR_MAX, a);
	if (a->proto != AVAHI_PROTO_INET6 || iface <= 0)
		return;
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_scope_id = (uint32_t)iface };
	memcpy(&sin6.sin6_addr, a->data.ipv6.address, sizeof sin6.sin6_addr);
	char host[NI_MAXHOST];
	if (getnameinfo((const struct sockaddr *)&sin6, sizeof sin6, host, sizeof host,
			NULL, 0, NI_NUMERICHOST) == 0 && strlen(host) < outlen)
		strcpy(out, host);
}

static void resolve_callback(AvahiServiceResolver *r, AvahiIfIndex iface, AvahiProtocol proto,
			     AvahiResolverEvent event, const char *name, const char *type,
			     const char *domain, const char *host, const AvahiAddress *a,
			     uint16_t port, AvahiStringList *txt, AvahiLookupResultFlags flags,
			     void *userdata)
{
	struct browse *b = userdata;
	if (event == AVAHI_RESOLVER_FOUND && b->nfound < MAX_SERVERS) {
		char addr[AVAHI_ADDRESS_STR_MAX + IF_NAMESIZE + 1];
		address_text(a, iface, addr, sizeof addr);
		struct online_server s = {
			.host = xstrdup(host ? host : "unknown"),
			.addr = xstrdup(addr),
			.port = port,
		};
		online_server_read_txt(&s, txt);
		bool dup = false;
		for (size_t i = 0; i < b->nfound && !dup; i++)
			dup = same_server(&b->found[i], &s);
		if (dup) {
			online_server_clear(&s);
		} else {
			b->found = xrealloc(b->found, (b->nfound + 1) * sizeof *b->found);
			b->found[b->nfound++] = s;
		}
	}
	b->pending--;
	avahi_service_resolver_free(r);
}

static void browse_callback(AvahiServiceBrowser *sb, AvahiIfIndex iface, AvahiProtocol proto,
			    AvahiBrowserEvent event, const char *name, const char *type,
			    const char *domain, AvahiLookupResultFlags flags, void *userdata)
{
	struct browse *b = userdata;
	switch (event) {
	case AVAHI_BROWSER_NEW:
		if (b->pending >= MAX_RESOLVERS)
			break;
		if (avahi_service_resolver_new(b->client, iface, proto, name, type, domain,
					       AVAHI_PROTO_UNSPEC, 0, resolve_callback, b))
			b->pending++;
		break;
	case AVAHI_BROWSER_ALL_FOR_NOW:
		b->all_for_now = true;
		break;
	case AVAHI_BROWSER_FAILURE:
		fprintf(stderr, "Avahi browse failed: %s\n",
			avahi_strerror(avahi_client_errno(b->client)));
		b->all_for_now = true;
		break;
	default:
		break;
	}
}

int discover_servers(struct online_server **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	struct browse b = { 0 };
	int err = 0, rc = -1;
	AvahiServiceBrowser *sb = NULL;
	if (!(b.poll = avahi_simple_poll_new())) {
		fprintf(stderr, "Failed to create Avahi simple poll object\n");
		return -1;
	}
	b.client = avahi_client_new(avahi_simple_poll_get(b.poll), 0, NULL, NULL, &err);
	if (!b.client) {
		fprintf(stderr, "Failed to create Avahi client: %s\n", avahi_strerror(err));
		goto out;
	}
	sb = avahi_service_browser_new(b.client, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, "_stap._tcp",
				       NULL, 0, browse_callback, &b);
	if (!sb) {
		fprintf(stderr, "Failed to create Avahi service browser: %s\n",
			avahi_strerror(avahi_client_errno(b.client)));
		goto out;
	}
	long long deadline = now_ms() + DISCOVER_MS;
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0 || (b.all_for_now && b.pending == 0))
			break;
		if (avahi_simple_poll_iterate(b.poll, (int)left) != 0)
			break;
	}
	rc = 0;
out:
	if (sb)
		avahi_service_browser_free(sb);
	if (b.client)
		avahi_client_free(b.client);   /* frees the resolvers still open */
	avahi_simple_poll_free(b.poll);
	if (rc == 0) {
		*out = b.found;
		*n = b.nfound;
	} else {
		online_servers_free(b.found, b.nfound);
	}
	return rc;
}

void online_servers_free(struct online_server *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		online_server_clear(&s[i]);
	free(s);
}

/* Dotted numbers, piece by piece; anything else counts as "1.0". */
int version_compare(const char *a, const char *b)
{
	const char *va = a && *a && strspn(a, "0123456789.") == strlen(a) ? a : "1.0";
	const char *vb = b && *b && strspn(b, "0123456789.") == strlen(b) ? b : "1.0";
	while (*va || *vb) {
		unsigned long x = strtoul(va, (char **)&va, 10);
		unsigned long y = strtoul(vb, (char **)&vb, 10);
		if (x != y)
			return x < y ? -1 : 1;
		if (*va == '.')
			va++;
		if (*vb == '.')
			vb++;
	}
	return 0;
}

bool online_server_compatible(const struct online_server *s, const char *release,
			      const char *arch, char *const *moks, size_t nmoks)
{
	if (!s->sysinfo)
		return false;
	char *want = xasprintf("%s %s", release, arch);
	bool ok = strcmp(s->sysinfo, want) == 0 || strcmp(s->sysinfo, arch) == 0;
	free(want);
	if (!ok || nmoks == 0)
		return ok;
	for (size_t i = 0; i < nmoks; i++) {
		if (strcmp(moks[i], "missing") == 0)
			return true;
		for (size_t k = 0; k < s->nmoks; k++)
			if (strcasecmp(moks[i], s->moks[k]) == 0)
				return true;
	}
	return false;
}

bool online_server_in_store(const struct online_server *s, const char *store)
{
	if (!s->certinfo)
		return false;
	unsigned char **ders = NULL;
	size_t *lens = NULL, n = 0;
	char err[256];
	if (trust_list(store, &ders, &lens, &n, err, sizeof err) < 0)
		return false;
	bool found = false;
	for (size_t i = 0; i < n; i++) {
		char *serial = cert_serial_string(ders[i], lens[i]);
		found |= serial && strcmp(serial, s->certinfo) == 0;
		free(serial);
		free(ders[i]);
	}
	free(ders);
	free(lens);
	return found;
}
