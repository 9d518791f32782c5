/* csbench: timing client and TLS echo floor for bench/server.sh, built on
 * common/nss.h (the same NSS stack and calls our server and client use).
 *
 *   csbench echo-server DBDIR PORTFILE
 *       nss_start(DBDIR) (a copy of the server's certificate database: the
 *       same 4096-bit RSA key); listen on 127.0.0.1, port chosen by the
 *       kernel and written to PORTFILE; for each connection: TLS handshake,
 *       read ECHO_BYTES, send them back, close.  One connection at a time.
 *       Stops on SIGTERM or after IDLE_LIMIT_S seconds without a connection.
 *   csbench echo ADDR PORT ROUNDS
 *       ROUNDS times: connect + handshake, send ECHO_BYTES, read them back,
 *       close.  One line per round: microseconds.
 *   csbench request ADDR PORT ZIP ROUNDS
 *       ROUNDS times: connect + handshake, send the 4-byte length and ZIP,
 *       read the response to EOF, close.  One line per round:
 *       "MICROSECONDS RESPONSE_BYTES RC KO" (RC: the response's rc entry,
 *       -1 if it has none or is not a zip; KO: 1 if it carries a .ko).
 *       With CSBENCH_SAVE=PATH in the environment, the last response is
 *       written to PATH (for its stderr when something failed).
 *   csbench probe ADDR PORT SECONDS
 *       until a trust probe (length 0) gets through the handshake, at most
 *       SECONDS: exit 0 once it does, 1 if it never did.
 *   csbench --nodelay echo|request ...
 *       the same, with TCP_NODELAY set on the client's socket once the
 *       handshake is done.  common/tls.c does not set it, so without it the
 *       first write after the handshake can wait for the peer's delayed ACK
 *       (~40 ms on Linux): the diagnostic rows of bench/server.sh show how
 *       much of a round trip that is.
 * Clients accept any certificate (like tests/server/rawclient) and, as
 * common/tls.c does, never resume a TLS session: every round is a full
 * handshake, as a new stap process would do.  Requests are sent as our
 * client sends them (client/remote.c): the length, then the body, two
 * writes.  Only the round trip is timed, not NSS start-up.
 * Exit 2 on usage or set-up errors, 1 if a round failed (why: on stderr). */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <prio.h>
#include <prnetdb.h>

#include "nss.h"
#include "util.h"
#include "zip.h"

enum {
	ECHO_BYTES = 1024,          /* the floor's payload: about one request's size */
	IO_TIMEOUT_MS = 900000,     /* a cold build answers in seconds; never wait for ever */
	IDLE_LIMIT_S = 1800,        /* echo server: give up when nobody comes */
	MAX_RESPONSE = 256u << 20,
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool accept_any(const unsigned char *der, size_t len, void *arg)
{
	(void)der; (void)len; (void)arg;
	return true;
}

static bool nodelay;   /* --nodelay */

static PRFileDesc *connect_tls(const char *addr, int port, char *err, size_t errlen)
{
	PRFileDesc *fd = tls_client_connect(addr, port, NULL, accept_any, NULL, IO_TIMEOUT_MS,
					    err, errlen);
	if (fd && nodelay) {
		PRSocketOptionData o = { .option = PR_SockOpt_NoDelay, .value.no_delay = PR_TRUE };
		PR_SetSocketOption(fd, &o);
	}
	return fd;
}

/* --- the floor: echo ------------------------------------------------------- */

static int echo_round(const char *addr, int port)
{
	char err[512];
	unsigned char out[ECHO_BYTES], in[ECHO_BYTES];
	memset(out, 'x', sizeof out);
	int64_t t0 = now_us();
	PRFileDesc *fd = connect_tls(addr, port, err, sizeof err);
	if (!fd) {
		fprintf(stderr, "csbench: echo connect: %s\n", err);
		return 1;
	}
	int rc = 0;
	if (tls_write_full(fd, out, sizeof out, IO_TIMEOUT_MS, err, sizeof err) < 0 ||
	    tls_read_full(fd, in, sizeof in, IO_TIMEOUT_MS, err, sizeof err) < 0) {
		fprintf(stderr, "csbench: echo: %s\n", err);
		rc = 1;
	} else if (memcmp(in, out, sizeof in) != 0) {
		fprintf(stderr, "csbench: echo: the bytes came back changed\n");
		rc = 1;
	}
	PR_Close(fd);
	if (rc == 0)
		printf("%lld\n", (long long)(now_us() - t0));
	return rc;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static PRFileDesc *listen_loopback(int *port)
{
	PRNetAddr a;
	PRSocketOptionData reuse = { .option = PR_SockOpt_Reuseaddr, .value.reuse_addr = PR_TRUE };
	PRFileDesc *l = PR_OpenTCPSocket(PR_AF_INET);
	if (!l)
		return NULL;
	PR_SetSocketOption(l, &reuse);
	PR_InitializeNetAddr(PR_IpAddrLoopback, 0, &a);
	if (PR_Bind(l, &a) != PR_SUCCESS || PR_Listen(l, 64) != PR_SUCCESS ||
	    PR_GetSockName(l, &a) != PR_SUCCESS) {
		PR_Close(l);
		return NULL;
	}
	*port = PR_ntohs(a.inet.port);
	return l;
}

static bool write_port_file(const char *path, int port)
{
	char *tmp = xasprintf("%s.tmp", path);   /* the script polls: write whole, rename */
	FILE *f = fopen(tmp, "w");
	bool ok = f && fprintf(f, "%d\n", port) > 0;
	if (f)
		ok = fclose(f) == 0 && ok;
	ok = ok && rename(tmp, path) == 0;
	free(tmp);
	return ok;
}

static void echo_serve_one(PRFileDesc *tcp, const struct server_identity *id)
{
	char err[512];
	unsigned char buf[ECHO_BYTES];
	PRFileDesc *ssl = tls_server_wrap(tcp, id, err, sizeof err);
	if (!ssl) {
		fprintf(stderr, "csbench: echo-server: %s\n", err);
		PR_Close(tcp);
		return;
	}
	if (tls_read_full(ssl, buf, sizeof buf, 10000, err, sizeof err) < 0 ||
	    tls_write_full(ssl, buf, sizeof buf, 10000, err, sizeof err) < 0)
		fprintf(stderr, "csbench: echo-server: %s\n", err);
	PR_Close(ssl);
}

static int echo_server(const char *dbdir, const char *portfile)
{
	char err[512];
	struct server_identity id;
	int port = 0;
	if (nss_start(dbdir, false, err, sizeof err) < 0 ||
	    server_identity_load(&id, err, sizeof err) < 0) {
		fprintf(stderr, "csbench: echo-server: %s\n", err);
		return 2;
	}
	PRFileDesc *l = listen_loopback(&port);
	if (!l || !write_port_file(portfile, port)) {
		fprintf(stderr, "csbench: echo-server: cannot listen on 127.0.0.1 or write %s\n", portfile);
		return 2;
	}
	signal(SIGTERM, on_term);
	for (int idle = 0; idle < IDLE_LIMIT_S && !stop; ) {
		PRNetAddr peer;
		PRFileDesc *tcp = PR_Accept(l, &peer, PR_SecondsToInterval(1));
		if (!tcp) {
			idle++;
			continue;
		}
		idle = 0;
		echo_serve_one(tcp, &id);
	}
	PR_Close(l);
	server_identity_free(&id);
	nss_stop();
	return 0;
}

/* --- compile-server requests ----------------------------------------------- */

/* rc entry of a response zip, -1 if none; *has_ko when a .ko is in it. */
static int response_rc(const unsigned char *buf, size_t len, bool *has_ko)
{
	struct zip_archive z;
	char err[256];
	*has_ko = false;
	if (zip_read_mem(buf, len, &zip_default_limits, &z, err, sizeof err) < 0)
		return -1;
	const struct zip_entry *rc = zip_find(&z, "rc");
	int v = rc && rc->data ? atoi((const char *)rc->data) : -1;
	for (size_t i = 0; i < z.n; i++) {
		size_t n = strlen(z.e[i].name);
		if (n > 3 && strcmp(z.e[i].name + n - 3, ".ko") == 0)
			*has_ko = true;
	}
	zip_archive_free(&z);
	return v;
}

/* One exchange: the length (0: a trust probe), the body, the whole answer. */
static int exchange(const char *addr, int port, const char *body, size_t blen,
		    unsigned char **resp, size_t *rlen, char *err, size_t errlen)
{
	*resp = NULL;
	*rlen = 0;
	PRFileDesc *fd = connect_tls(addr, port, err, errlen);
	if (!fd)
		return -1;
	uint32_t n = (uint32_t)blen;
	unsigned char hdr[4] = { n >> 24, n >> 16, n >> 8, n };
	int rc = tls_write_full(fd, hdr, 4, IO_TIMEOUT_MS, err, errlen);
	if (rc == 0 && blen)
		rc = tls_write_full(fd, body, blen, IO_TIMEOUT_MS, err, errlen);
	if (rc == 0)
		rc = tls_read_to_eof(fd, MAX_RESPONSE, IO_TIMEOUT_MS, resp, rlen, err, errlen);
	PR_Close(fd);
	return rc;
}

static int request_round(const char *addr, int port, const char *body, size_t blen)
{
	char err[512];
	unsigned char *resp;
	size_t rlen;
	int64_t t0 = now_us();
	int rc = exchange(addr, port, body, blen, &resp, &rlen, err, sizeof err);
	int64_t t = now_us() - t0;
	if (rc < 0) {
		fprintf(stderr, "csbench: request: %s\n", err);
		free(resp);
		return 1;
	}
	const char *save = getenv("CSBENCH_SAVE");
	FILE *f = save ? fopen(save, "wb") : NULL;
	if (f) {
		fwrite(resp, 1, rlen, f);
		fclose(f);
	}
	bool ko;
	int src = response_rc(resp, rlen, &ko);
	printf("%lld %zu %d %d\n", (long long)t, rlen, src, ko ? 1 : 0);
	free(resp);
	return 0;
}

static int probe(const char *addr, int port, int seconds)
{
	char err[512];
	int64_t end = now_us() + (int64_t)seconds * 1000000;
	do {
		unsigned char *resp;
		size_t rlen;
		int rc = exchange(addr, port, "", 0, &resp, &rlen, err, sizeof err);
		free(resp);
		if (rc == 0)
			return 0;
		usleep(200000);
	} while (now_us() < end);
	fprintf(stderr, "csbench: probe: no TLS server at %s:%d after %d s: %s\n", addr, port, seconds, err);
	return 1;
}

static int client_start(void)
{
	char err[512];
	if (nss_start_nodb(err, sizeof err) < 0) {
		fprintf(stderr, "csbench: %s\n", err);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	progname = "csbench";
	if (argc > 1 && strcmp(argv[1], "--nodelay") == 0) {
		nodelay = true;
		argv++;
		argc--;
	}
	const char *mode = argc > 1 ? argv[1] : "";
	if (argc == 4 && strcmp(mode, "echo-server") == 0)
		return echo_server(argv[2], argv[3]);

	int rc = 0;
	if (argc == 5 && strcmp(mode, "echo") == 0) {
		int rounds = atoi(argv[4]);
		if (client_start() < 0)
			return 2;
		for (int i = 0; i < rounds; i++)
			rc |= echo_round(argv[2], atoi(argv[3]));
	} else if (argc == 6 && strcmp(mode, "request") == 0) {
		size_t blen;
		char *body = read_file_bounded(argv[4], 64u << 20, &blen);
		int rounds = atoi(argv[5]);
		if (!body) {
			fprintf(stderr, "csbench: cannot read %s\n", argv[4]);
			return 2;
		}
		if (client_start() < 0)
			return 2;
		for (int i = 0; i < rounds; i++)
			rc |= request_round(argv[2], atoi(argv[3]), body, blen);
		free(body);
	} else if (argc == 5 && strcmp(mode, "probe") == 0) {
		if (client_start() < 0)
			return 2;
		rc = probe(argv[2], atoi(argv[3]), atoi(argv[4]));
	} else {
		fprintf(stderr, "csbench: bad arguments (see the comment at the top of bench/csbench.c)\n");
		return 2;
	}
	fflush(stdout);
	nss_stop();
	return rc;
}
