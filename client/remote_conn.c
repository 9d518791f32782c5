/* Connecting to a compile server: NSS without a database, the trust
 * stores a client reads (docs/protocol.md, "Trust stores"), and the two
 * ways of judging the server's certificate: trusted for a compile, or
 * merely recorded for --trust-servers. */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "remote_internal.h"
#include "util.h"

enum { MAX_REPLY_TIMEOUT_S = 6 * 3600 };   /* common/tls.c waits at most this long */

void remote_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fflush(stdout);
	fprintf(stderr, "%s: ERROR: ", progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void remote_warning(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fflush(stdout);
	fprintf(stderr, "%s: WARNING: ", progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int remote_nss_start(void)
{
	static int started;   /* 1 done, -1 failed: NSS is started once per process */
	if (started == 0) {
		char err[256];
		if (nss_start_nodb(err, sizeof err) == 0) {
			started = 1;
		} else {
			remote_error("cannot start NSS: %s", err);
			started = -1;
		}
	}
	return started == 1 ? 0 : -1;
}

char *private_ssl_store(void)
{
	const char *dir = getenv("SYSTEMTAP_DIR");
	if (dir && *dir)
		return xasprintf("%s/ssl/client", dir);
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(geteuid());
		home = pw && pw->pw_dir ? pw->pw_dir : "/";
	}
	return xasprintf("%s/.systemtap/ssl/client", home);
}

static int parse_reply_timeout_ms(void)
{
	const char *s = getenv("STAP_CLIENT_TIMEOUT");
	if (!s || !*s)
		return DEFAULT_REPLY_TIMEOUT_S * 1000;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > MAX_REPLY_TIMEOUT_S) {
		remote_warning("STAP_CLIENT_TIMEOUT='%s' is not a number of seconds from 1 to %d; "
			       "waiting up to %d seconds", s, MAX_REPLY_TIMEOUT_S, DEFAULT_REPLY_TIMEOUT_S);
		return DEFAULT_REPLY_TIMEOUT_S * 1000;
	}
	return (int)v * 1000;
}

int reply_timeout_ms(void)
{
	static int ms;   /* read once, so a bad value is reported once */
	if (ms == 0)
		ms = parse_reply_timeout_ms();
	return ms;
}

int make_parent_dirs(const char *dir)
{
	char *path = xstrdup(dir);
	char *last = strrchr(path, '/');
	int rc = 0;
	if (last && last != path) {
		*last = '\0';
		rc = mkdirs(path, 0755);
	}
	int e = errno;
	free(path);
	errno = e;
	return rc;
}

bool trusted_peer_check(const unsigned char *der, size_t derlen, void *arg)
{
	struct trusted_check *c = arg;
	bool store_error = false;
	for (size_t i = 0; i < 2; i++) {
		if (!c->stores[i])
			continue;
		int r = trust_has_cert(c->stores[i], der, derlen);
		if (r == 1)
			return true;
		if (r < 0)
			store_error = true;
	}
	char *serial = cert_serial_string(der, derlen);
	snprintf(c->why, sizeof c->why,
		 "the server's certificate (serial %s) is not in %s or %s%s; "
		 "add it with --trust-servers",
		 serial ? serial : "unknown", c->stores[0] ? c->stores[0] : "-",
		 c->stores[1] ? c->stores[1] : "-",
		 store_error ? " (one of them cannot be read)" : "");
	free(serial);
	return false;
}

bool record_peer_check(const unsigned char *der, size_t derlen, void *arg)
{
	struct record_check *c = arg;
	free(c->der);
	c->der = xmalloc(derlen ? derlen : 1);
	memcpy(c->der, der, derlen);
	c->derlen = derlen;
	return true;
}

PRFileDesc *remote_connect(const struct server_addr *a, tls_peer_check check, void *arg,
			   int verbose, char *err, size_t errlen)
{
	if (verbose >= 2) {
		char *t = server_addr_text(a);
		fprintf(stderr, "Attempting SSL connection with %s\n", t);
		free(t);
	}
	int timeout = CONNECT_TIMEOUT_MS;
	int reply = reply_timeout_ms();
	if (reply < timeout)
		timeout = reply;   /* a short STAP_CLIENT_TIMEOUT shortens everything */
	return tls_client_connect(a->addr, a->port, a->host, check, arg, timeout, err, errlen);
}
