/* --use-server=SPEC: which server a spec names.  Forms, tried in
 * SystemTap's order (docs/protocol.md, "Server specifications"):
 *   [ADDR]:PORT or a bare IPv6 ADDR (optionally %IFACE)
 *   a.b.c.d:PORT
 *   a certificate serial, five colon fields (00:cc:26:2e:ed[:PORT])
 *   NAME:PORT, resolved with getaddrinfo
 * Without a port (and for a serial) the server is looked up among the
 * servers Avahi finds (server_select.c); here such a spec keeps its
 * address, or its name, with port 0. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "remote_internal.h"
#include "util.h"

enum {
	MAX_SPEC_LEN = 1024,
	MAX_ADDRS_PER_NAME = 16,     /* getaddrinfo answers beyond this are not tried */
};

/* "5555" -> 5555; -1 unless a decimal 1..65535. */
static int parse_port(const char *s)
{
	if (!*s || strlen(s) > 5)
		return -1;
	int port = 0;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		port = port * 10 + (*p - '0');
	}
	return port >= 1 && port <= 65535 ? port : -1;
}

static void add_addr(struct server_spec *s, const char *addr, int port, const char *host)
{
	for (size_t i = 0; i < s->naddrs; i++)
		if (strcmp(s->addrs[i].addr, addr) == 0)
			return;   /* getaddrinfo repeats addresses per socket type */
	s->addrs = xrealloc(s->addrs, (s->naddrs + 1) * sizeof *s->addrs);
	s->addrs[s->naddrs++] = (struct server_addr){
		.addr = xstrdup(addr), .port = port, .host = host ? xstrdup(host) : NULL,
	};
}

/* A numeric address (with an optional %scope for IPv6) in its canonical
 * text form; false if addr is not numeric for family. */
static bool numeric_address(const char *addr, int family, char *out, size_t outlen)
{
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST };
	struct addrinfo *res = NULL;
	if (getaddrinfo(addr, NULL, &hints, &res) != 0 || !res)
		return false;
	bool ok = getnameinfo(res->ai_addr, res->ai_addrlen, out, (socklen_t)outlen,
			      NULL, 0, NI_NUMERICHOST) == 0;
	freeaddrinfo(res);
	return ok;
}

/* An address without a port: matched against Avahi's servers later. */
static int no_port(struct server_spec *s, const char *canon)
{
	add_addr(s, canon, 0, NULL);
	return 1;
}

/* [ADDR], [ADDR]:PORT, or a bare IPv6 address.  1 parsed, 0 not this
 * form, -1 error. */
static int parse_ipv6(const char *text, struct server_spec *s, char *err, size_t errlen)
{
	char canon[NI_MAXHOST];
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close)
			return 0;
		char *inside = xstrndup(text + 1, (size_t)(close - text - 1));
		bool ok = numeric_address(inside, AF_INET6, canon, sizeof canon);
		free(inside);
		if (!ok)
			return 0;
		if (close[1] == '\0')
			return no_port(s, canon);
		int port = close[1] == ':' ? parse_port(close + 2) : -1;
		if (port < 0) {
			snprintf(err, errlen, "server '%s': bad port after ']' (want [ADDR]:1..65535)", text);
			return -1;
		}
		s->port = port;
		add_addr(s, canon, port, NULL);
		return 1;
	}
	if (!numeric_address(text, AF_INET6, canon, sizeof canon))
		return 0;
	return no_port(s, canon);   /* ADDR:PORT is ambiguous: brackets carry a port */
}

/* a.b.c.d[:PORT].  1, 0, -1 as parse_ipv6. */
static int parse_ipv4(const char *text, struct server_spec *s, char *err, size_t errlen)
{
	const char *colon = strchr(text, ':');
	char *addr = colon ? xstrndup(text, (size_t)(colon - text)) : xstrdup(text);
	struct in_addr in;
	int ok = inet_pton(AF_INET, addr, &in);
	free(addr);
	if (ok != 1)
		return 0;
	char canon[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &in, canon, sizeof canon);
	if (!colon)
		return no_port(s, canon);
	int port = parse_port(colon + 1);
	if (port < 0) {
		snprintf(err, errlen, "server '%s': bad port (want a.b.c.d:1..65535)", text);
		return -1;
	}
	s->port = port;
	add_addr(s, canon, port, NULL);
	return 1;
}

/* Five colon-separated hex fields of one or two digits, then an optional
 * decimal port.  1, 0, -1 as parse_ipv6. */
static int parse_serial(const char *text, struct server_spec *s, char *err, size_t errlen)
{
	char *copy = xstrdup(text);
	char *fields[7];
	size_t n = 0;
	for (char *p = copy;; ) {
		if (n == 7)
			break;
		fields[n++] = p;
		char *c = strchr(p, ':');
		if (!c)
			break;
		*c = '\0';
		p = c + 1;
	}
	int rc = 0;
	if (n != 5 && n != 6)
		goto out;
	for (size_t i = 0; i < 5; i++) {
		size_t len = strlen(fields[i]);
		if (len < 1 || len > 2 || !isxdigit((unsigned char)fields[i][0]) ||
		    (len == 2 && !isxdigit((unsigned char)fields[i][1])))
			goto out;
	}
	int port = 0;
	if (n == 6 && (port = parse_port(fields[5])) < 0) {
		snprintf(err, errlen, "server '%s': bad port after the certificate serial", text);
		rc = -1;
		goto out;
	}
	struct strbuf sb;
	sb_init(&sb);
	for (size_t i = 0; i < 5; i++) {
		if (i)
			sb_putc(&sb, ':');
		if (strlen(fields[i]) == 1)
			sb_putc(&sb, '0');
		for (const char *p = fields[i]; *p; p++)
			sb_putc(&sb, (char)tolower((unsigned char)*p));
	}
	s->kind = SPEC_SERIAL;
	s->serial = sb_detach(&sb);
	s->port = port;
	rc = 1;
out:
	free(copy);
	return rc;
}

static bool host_name_ok(const char *name)
{
	if (!*name || strlen(name) > 253 || name[0] == '-' || name[0] == '.')
		return false;
	bool numeric = true;   /* "1.2.3" is a broken address, not a name for getaddrinfo */
	for (const char *p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
			return false;
		if (!isdigit((unsigned char)*p) && *p != '.')
			numeric = false;
	}
	return !numeric;
}

/* NAME[:PORT], every address getaddrinfo gives. */
static int parse_host(const char *text, struct server_spec *s, char *err, size_t errlen)
{
	const char *name_start = text;
	if (strncmp(name_start, "https://", 8) == 0)
		name_start += 8;
	else if (strncmp(name_start, "https:", 6) == 0)
		name_start += 6;
	const char *colon = strrchr(name_start, ':');
	char *name = colon ? xstrndup(name_start, (size_t)(colon - name_start)) : xstrdup(name_start);
	int rc = -1;
	if (!host_name_ok(name)) {
		snprintf(err, errlen, "server '%s' is not an address, a host name or a certificate serial", text);
		goto out;
	}
	if (!colon) {
		s->name = name;     /* found through Avahi */
		return 0;
	}
	int port = parse_port(colon + 1);
	if (port < 0) {
		snprintf(err, errlen, "server '%s': bad port (want NAME:1..65535)", text);
		goto out;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(name, NULL, &hints, &res);
	size_t len = strlen(name);
	if (gai != 0 && len > 6 && strcasecmp(name + len - 6, ".local") == 0) {
		s->name = name;     /* an Avahi name the resolver does not know */
		s->port = port;
		return 0;
	}
	if (gai != 0) {
		snprintf(err, errlen, "cannot resolve server '%s': %s", name, gai_strerror(gai));
		goto out;
	}
	for (struct addrinfo *ai = res; ai && s->naddrs < MAX_ADDRS_PER_NAME; ai = ai->ai_next) {
		char num[NI_MAXHOST];
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, num, sizeof num, NULL, 0, NI_NUMERICHOST) == 0)
			add_addr(s, num, port, name);
	}
	freeaddrinfo(res);
	s->port = port;
	if (s->naddrs == 0) {
		snprintf(err, errlen, "server '%s' has no usable address", name);
		goto out;
	}
	rc = 0;
out:
	free(name);
	return rc;
}

int server_spec_parse(const char *text, struct server_spec *out, char *err, size_t errlen)
{
	*out = (struct server_spec){ .text = xstrdup(text), .kind = SPEC_ADDRESS };
	int r;
	if (strlen(text) > MAX_SPEC_LEN) {
		snprintf(err, errlen, "server specification longer than %d bytes", MAX_SPEC_LEN);
		r = -1;
	} else if ((r = parse_ipv6(text, out, err, errlen)) == 0 &&
		   (r = parse_ipv4(text, out, err, errlen)) == 0 &&
		   (r = parse_serial(text, out, err, errlen)) == 0) {
		r = parse_host(text, out, err, errlen) == 0 ? 1 : -1;
	}
	if (r < 0) {
		server_spec_free(out);
		return -1;
	}
	return 0;
}

void server_spec_free(struct server_spec *s)
{
	for (size_t i = 0; i < s->naddrs; i++) {
		free(s->addrs[i].addr);
		free(s->addrs[i].host);
	}
	free(s->addrs);
	free(s->text);
	free(s->serial);
	free(s->name);
	*s = (struct server_spec){ 0 };
}

char **server_specs_split(char *const *specs, size_t n, size_t *nout)
{
	struct ptrvec v = { 0 };
	for (size_t i = 0; i < n; i++) {
		const char *p = specs[i];
		while (p && *p) {
			const char *comma = strchr(p, ',');
			size_t len = comma ? (size_t)(comma - p) : strlen(p);
			if (len)
				pv_push(&v, xstrndup(p, len));
			p = comma ? comma + 1 : NULL;
		}
	}
	*nout = v.n;
	return (char **)v.v;   /* a zero ptrvec gives NULL, which the caller may free */
}

/* The numeric address text as a socket address; false if it is not one. */
static bool to_sockaddr(const char *text, struct sockaddr_storage *ss)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST };
	struct addrinfo *res = NULL;
	if (!text || getaddrinfo(text, NULL, &hints, &res) != 0 || !res)
		return false;
	bool ok = res->ai_addrlen <= sizeof *ss;
	if (ok)
		memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return ok;
}

bool server_addr_same(const char *a, const char *b)
{
	struct sockaddr_storage x = { 0 }, y = { 0 };
	if (!to_sockaddr(a, &x) || !to_sockaddr(b, &y) || x.ss_family != y.ss_family)
		return false;
	if (x.ss_family == AF_INET)
		return ((struct sockaddr_in *)&x)->sin_addr.s_addr ==
		       ((struct sockaddr_in *)&y)->sin_addr.s_addr;
	const struct sockaddr_in6 *x6 = (struct sockaddr_in6 *)&x, *y6 = (struct sockaddr_in6 *)&y;
	if (x6->sin6_scope_id && y6->sin6_scope_id && x6->sin6_scope_id != y6->sin6_scope_id)
		return false;
	return memcmp(&x6->sin6_addr, &y6->sin6_addr, sizeof x6->sin6_addr) == 0;
}

char *server_addr_text(const struct server_addr *a)
{
	bool v6 = strchr(a->addr, ':') != NULL;
	if (a->host)
		return xasprintf("%s (%s%s%s:%d)", a->host, v6 ? "[" : "", a->addr, v6 ? "]" : "", a->port);
	return xasprintf("%s%s%s:%d", v6 ? "[" : "", a->addr, v6 ? "]" : "", a->port);
}
