/* TLS over NSPR sockets, both ends of the compile-service connection.
 *
 * Server: no client certificates, TLS 1.2 and 1.3, the handshake is left
 * to the first read (SystemTap's clients drive it).  Client: no NSS path
 * validation at all -- the caller's check function decides on the exact
 * peer certificate, which is how SystemTap's trust stores work (a
 * self-signed certificate is trusted because it is in the store), and
 * name mismatches are ignored as SystemTap does.  The client never
 * resumes a session, so every connection runs the check.
 *
 * Every wait is bounded by the caller's timeout; blocking NSPR sockets
 * with per-call intervals. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cert.h>
#include <prerror.h>
#include <prio.h>
#include <prnetdb.h>
#include <secerr.h>
#include <ssl.h>
#include <sslerr.h>
#include <sslproto.h>

#include "nss_int.h"
#include "util.h"

enum { MAX_WAIT_MS = 6 * 3600 * 1000 };   /* NSPR intervals stay valid below this */

/* A time budget for one call.  forever when timeout_ms < 0. */
struct deadline {
	PRIntervalTime start, total;
	bool forever;
};

static struct deadline deadline_start(int timeout_ms)
{
	struct deadline d = { PR_IntervalNow(), 0, timeout_ms < 0 };
	if (!d.forever)
		d.total = PR_MillisecondsToInterval(
			(PRUint32)(timeout_ms > MAX_WAIT_MS ? MAX_WAIT_MS : timeout_ms));
	return d;
}

/* Ticks left, PR_INTERVAL_NO_TIMEOUT when forever, 0 when spent. */
static PRIntervalTime deadline_left(const struct deadline *d)
{
	if (d->forever)
		return PR_INTERVAL_NO_TIMEOUT;
	PRIntervalTime used = (PRIntervalTime)(PR_IntervalNow() - d->start);
	return used >= d->total ? 0 : d->total - used;
}

static bool is_timeout(PRErrorCode e)
{
	return e == PR_IO_TIMEOUT_ERROR || e == PR_WOULD_BLOCK_ERROR;
}

/* ---- server ---- */

/* Requests and responses are written whole, then the peer waits: Nagle's
 * algorithm would only hold the last segment back for a delayed ACK
 * (about 40 ms per exchange, measured by bench/server.sh). */
static void no_delay(PRFileDesc *tcp)
{
	PRSocketOptionData opt = { .option = PR_SockOpt_NoDelay, .value.no_delay = PR_TRUE };
	PR_SetSocketOption(tcp, &opt);
}

/* A socket carrying the server configuration that SSL_ImportFD copies:
 * everything that can fail happens here, before the caller's socket is
 * touched. */
static PRFileDesc *server_model(const struct server_identity *id, char *err, size_t errlen)
{
	SSLVersionRange range = { SSL_LIBRARY_VERSION_TLS_1_2, SSL_LIBRARY_VERSION_TLS_1_3 };
	PRFileDesc *base = PR_NewTCPSocket();
	if (!base) {
		nss_fail(err, errlen, "cannot create a socket");
		return NULL;
	}
	PRFileDesc *model = SSL_ImportFD(NULL, base);
	if (!model) {
		nss_fail(err, errlen, "cannot create a TLS socket");
		PR_Close(base);
		return NULL;
	}
	if (SSL_OptionSet(model, SSL_SECURITY, PR_TRUE) != SECSuccess ||
	    SSL_OptionSet(model, SSL_HANDSHAKE_AS_SERVER, PR_TRUE) != SECSuccess ||
	    SSL_OptionSet(model, SSL_HANDSHAKE_AS_CLIENT, PR_FALSE) != SECSuccess ||
	    SSL_OptionSet(model, SSL_REQUEST_CERTIFICATE, PR_FALSE) != SECSuccess ||
	    SSL_OptionSet(model, SSL_REQUIRE_CERTIFICATE, SSL_REQUIRE_NEVER) != SECSuccess ||
	    SSL_VersionRangeSet(model, &range) != SECSuccess) {
		nss_fail(err, errlen, "cannot configure TLS");
		PR_Close(model);
		return NULL;
	}
	if (SSL_ConfigServerCert(model, id->cert, id->key, NULL, 0) != SECSuccess) {
		nss_fail(err, errlen, "cannot use the server certificate %s for TLS", id->certinfo);
		PR_Close(model);
		return NULL;
	}
	return model;
}

PRFileDesc *tls_server_wrap(PRFileDesc *tcp, const struct server_identity *id,
			    char *err, size_t errlen)
{
	if (!tcp || !id || !id->cert || !id->key) {
		nss_plain_fail(err, errlen, "tls_server_wrap: no socket or no server identity");
		return NULL;
	}
	if (nss_server_cache_config(err, errlen) < 0)
		return NULL;
	PRFileDesc *model = server_model(id, err, errlen);
	if (!model)
		return NULL;
	/* SSL_ImportFD pushes the TLS layer onto tcp: the pointer stays the
	 * top of the stack, so after a failure below the caller's PR_Close(tcp)
	 * still closes everything */
	no_delay(tcp);
	PRFileDesc *ssl = SSL_ImportFD(model, tcp);
	if (!ssl)
		nss_fail(err, errlen, "cannot start TLS on the connection");
	else if (SSL_ResetHandshake(ssl, PR_TRUE) != SECSuccess) {
		nss_fail(err, errlen, "cannot start the TLS handshake");
		ssl = NULL;
	}
	PR_Close(model);
	return ssl;
}

/* ---- client ---- */

struct peer_judge {
	tls_peer_check check;   /* the caller's verdict */
	void *arg;
	bool refused;           /* check said no (to tell it from other failures) */
};

static SECStatus judge_peer(void *arg, PRFileDesc *fd, PRBool check_sig, PRBool is_server)
{
	struct peer_judge *j = arg;
	CERTCertificate *peer = SSL_PeerCertificate(fd);
	bool ok = false;

	if (peer && j && j->check)
		ok = j->check(peer->derCert.data, peer->derCert.len, j->arg);
	if (peer)
		CERT_DestroyCertificate(peer);
	if (!ok) {
		if (j)
			j->refused = true;
		PORT_SetError(SEC_ERROR_UNTRUSTED_CERT);
		return SECFailure;
	}
	return SECSuccess;
}

static bool is_numeric_address(const char *s)
{
	PRNetAddr a;
	return PR_StringToNetAddr(s, &a) == PR_SUCCESS;
}

static int client_options(PRFileDesc *ssl, const char *host, struct peer_judge *judge)
{
	SSLVersionRange range = { SSL_LIBRARY_VERSION_TLS_1_2, SSL_LIBRARY_VERSION_TLS_1_3 };

	if (SSL_OptionSet(ssl, SSL_SECURITY, PR_TRUE) != SECSuccess ||
	    SSL_OptionSet(ssl, SSL_HANDSHAKE_AS_CLIENT, PR_TRUE) != SECSuccess ||
	    SSL_OptionSet(ssl, SSL_HANDSHAKE_AS_SERVER, PR_FALSE) != SECSuccess ||
	    SSL_OptionSet(ssl, SSL_NO_CACHE, PR_TRUE) != SECSuccess ||
	    SSL_VersionRangeSet(ssl, &range) != SECSuccess ||
	    SSL_AuthCertificateHook(ssl, judge_peer, judge) != SECSuccess)
		return -1;
	if (host && *host && !is_numeric_address(host) && SSL_SetURL(ssl, host) != SECSuccess)
		return -1;
	return SSL_ResetHandshake(ssl, PR_FALSE) == SECSuccess ? 0 : -1;
}

PRFileDesc *tls_client_connect(const char *addr, int port, const char *host,
			       tls_peer_check check, void *arg, int timeout_ms,
			       char *err, size_t errlen)
{
	struct deadline dl = deadline_start(timeout_ms);
	struct peer_judge judge = { check, arg, false };
	PRNetAddr na;

	if (!addr || PR_StringToNetAddr(addr, &na) != PR_SUCCESS) {
		nss_plain_fail(err, errlen, "%s is not a numeric IPv4 or IPv6 address",
			       addr ? addr : "(null)");
		return NULL;
	}
	if (port <= 0 || port > 65535) {
		nss_plain_fail(err, errlen, "bad port %d", port);
		return NULL;
	}
	if (PR_NetAddrFamily(&na) == PR_AF_INET6)
		na.ipv6.port = PR_htons((PRUint16)port);
	else
		na.inet.port = PR_htons((PRUint16)port);

	PRFileDesc *tcp = PR_OpenTCPSocket(PR_NetAddrFamily(&na));
	if (!tcp) {
		nss_fail(err, errlen, "cannot create a socket");
		return NULL;
	}
	if (PR_Connect(tcp, &na, deadline_left(&dl)) != PR_SUCCESS) {
		nss_fail(err, errlen, "cannot connect to %s port %d", addr, port);
		PR_Close(tcp);
		return NULL;
	}
	no_delay(tcp);
	PRFileDesc *ssl = SSL_ImportFD(NULL, tcp);
	if (!ssl) {
		nss_fail(err, errlen, "cannot start TLS");
		PR_Close(tcp);
		return NULL;
	}
	if (client_options(ssl, host, &judge) < 0) {
		nss_fail(err, errlen, "cannot configure TLS");
		PR_Close(ssl);
		return NULL;
	}
	if (SSL_ForceHandshakeWithTimeout(ssl, deadline_left(&dl)) != SECSuccess) {
		if (judge.refused)
			nss_plain_fail(err, errlen, "the certificate of the server at %s port %d "
				       "is not trusted", addr, port);
		else
			nss_fail(err, errlen, "TLS handshake with %s port %d failed", addr, port);
		PR_Close(ssl);
		return NULL;
	}
	/* judge lives on this stack: nothing may call the hook with it now */
	SSL_AuthCertificateHook(ssl, judge_peer, NULL);
	return ssl;
}

/* ---- bounded I/O ---- */

int tls_read_full(PRFileDesc *fd, void *buf, size_t n, int timeout_ms, char *err, size_t errlen)
{
	struct deadline dl = deadline_start(timeout_ms);
	unsigned char *p = buf;
	size_t got = 0;

	while (got < n) {
		PRIntervalTime left = deadline_left(&dl);
		if (left == 0) {
			nss_plain_fail(err, errlen, "timed out");
			return -1;
		}
		size_t want = n - got > (1u << 30) ? (1u << 30) : n - got;
		PRInt32 r = PR_Recv(fd, p + got, (PRInt32)want, 0, left);
		if (r == 0) {
			nss_plain_fail(err, errlen, "connection closed after %zu of %zu bytes", got, n);
			return -1;
		}
		if (r < 0) {
			if (is_timeout(PR_GetError()))
				nss_plain_fail(err, errlen, "timed out");
			else
				nss_fail(err, errlen, "read failed after %zu of %zu bytes", got, n);
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

int tls_write_full(PRFileDesc *fd, const void *buf, size_t n, int timeout_ms, char *err, size_t errlen)
{
	struct deadline dl = deadline_start(timeout_ms);
	const unsigned char *p = buf;
	size_t sent = 0;

	while (sent < n) {
		PRIntervalTime left = deadline_left(&dl);
		if (left == 0) {
			nss_plain_fail(err, errlen, "timed out");
			return -1;
		}
		size_t want = n - sent > (1u << 30) ? (1u << 30) : n - sent;
		PRInt32 w = PR_Send(fd, p + sent, (PRInt32)want, 0, left);
		if (w <= 0) {
			if (w < 0 && is_timeout(PR_GetError()))
				nss_plain_fail(err, errlen, "timed out");
			else
				nss_fail(err, errlen, "write failed after %zu of %zu bytes", sent, n);
			return -1;
		}
		sent += (size_t)w;
	}
	return 0;
}

int tls_read_to_eof(PRFileDesc *fd, size_t max, int timeout_ms, unsigned char **buf, size_t *len,
		    char *err, size_t errlen)
{
	struct deadline dl = deadline_start(timeout_ms);
	/* room for one byte past max, to notice an over-long answer */
	size_t limit = max < SIZE_MAX ? max + 1 : SIZE_MAX;
	size_t cap = limit < 65536 ? limit : 65536, got = 0;
	unsigned char *data = xmalloc(cap);

	*buf = NULL;
	*len = 0;
	for (;;) {
		if (got == cap) {
			cap = cap > limit / 2 ? limit : cap * 2;
			data = xrealloc(data, cap);
		}
		PRIntervalTime left = deadline_left(&dl);
		if (left == 0) {
			nss_plain_fail(err, errlen, "timed out after %zu bytes", got);
			goto fail;
		}
		size_t want = cap - got > (1u << 30) ? (1u << 30) : cap - got;
		PRInt32 r = PR_Recv(fd, data + got, (PRInt32)want, 0, left);
		if (r == 0 || (r < 0 && PR_GetError() == PR_END_OF_FILE_ERROR))
			break;
		if (r < 0) {
			if (is_timeout(PR_GetError()))
				nss_plain_fail(err, errlen, "timed out after %zu bytes", got);
			else
				nss_fail(err, errlen, "read failed after %zu bytes", got);
			goto fail;
		}
		got += (size_t)r;
		if (got > max) {
			nss_plain_fail(err, errlen, "more than %zu bytes", max);
			goto fail;
		}
	}
	*buf = data;
	*len = got;
	return 0;
fail:
	free(data);
	return -1;
}
