/* Test helper for tests/certs/run.sh: a TLS echo server and client on
 * loopback, built from common/nss.h's tls_* calls.
 *
 *   tlsecho server DBDIR PORTFILE MAXCONN
 *       nss_start(DBDIR); listen on 127.0.0.1 (port chosen by the kernel,
 *       written to PORTFILE); for at most MAXCONN connections (and until
 *       30 s pass without one, or SIGTERM): read 5 bytes, send them back,
 *       close.
 *   tlsecho client PORT CERTFILE      trust exactly the DER in CERTFILE
 *   tlsecho client PORT --store DIR   trust what trust_has_cert(DIR) trusts
 *       send "ping\n", print "accepted: ping" (exit 0) or "refused: why"
 *       (exit 1).
 * Exit 2 on usage or set-up errors. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <prio.h>
#include <prnetdb.h>

#include "nss.h"
#include "util.h"

enum { IO_TIMEOUT_MS = 5000, IDLE_TIMEOUT_S = 30 };

struct trust_spec {
	const char *store;       /* trust_has_cert store, or NULL */
	unsigned char *der;      /* else exactly this certificate */
	size_t derlen;
};

static bool check_peer(const unsigned char *der, size_t derlen, void *arg)
{
	const struct trust_spec *t = arg;
	if (t->store)
		return trust_has_cert(t->store, der, derlen) == 1;
	return derlen == t->derlen && memcmp(der, t->der, derlen) == 0;
}

static int client(int port, struct trust_spec *t)
{
	char err[512], buf[6] = "";
	PRFileDesc *fd = tls_client_connect("127.0.0.1", port, "localhost", check_peer, t,
					    IO_TIMEOUT_MS, err, sizeof err);
	if (!fd) {
		printf("refused: %s\n", err);
		return 1;
	}
	int rc = 1;
	if (tls_write_full(fd, "ping\n", 5, IO_TIMEOUT_MS, err, sizeof err) < 0 ||
	    tls_read_full(fd, buf, 5, IO_TIMEOUT_MS, err, sizeof err) < 0) {
		printf("refused: %s\n", err);
	} else {
		buf[4] = '\0';
		printf("accepted: %s\n", buf);
		rc = 0;
	}
	PR_Close(fd);
	return rc;
}

static volatile sig_atomic_t stop;   /* SIGTERM: finish cleanly (sanitizer reports) */

static void on_term(int sig)
{
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
	if (PR_Bind(l, &a) != PR_SUCCESS || PR_Listen(l, 5) != PR_SUCCESS ||
	    PR_GetSockName(l, &a) != PR_SUCCESS) {
		PR_Close(l);
		return NULL;
	}
	*port = PR_ntohs(a.inet.port);
	return l;
}

static int server(const char *dbdir, const char *portfile, int maxconn)
{
	char err[512];
	struct server_identity id;
	int port = 0;

	if (nss_start(dbdir, false, err, sizeof err) < 0 ||
	    server_identity_load(&id, err, sizeof err) < 0) {
		fprintf(stderr, "tlsecho: %s\n", err);
		return 2;
	}
	PRFileDesc *l = listen_loopback(&port);
	if (!l) {
		fprintf(stderr, "tlsecho: cannot listen on 127.0.0.1: %s\n",
			nss_error_text(err, sizeof err));
		return 2;
	}
	/* the script polls for the file: write it whole, then rename */
	char *tmp = xasprintf("%s.tmp", portfile);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, portfile) < 0) {
		fprintf(stderr, "tlsecho: cannot write %s\n", portfile);
		return 2;
	}
	free(tmp);
	signal(SIGTERM, on_term);
	for (int i = 0, idle = 0; i < maxconn && idle < IDLE_TIMEOUT_S && !stop; ) {
		PRNetAddr peer;
		PRFileDesc *tcp = PR_Accept(l, &peer, PR_SecondsToInterval(1));
		if (!tcp) {
			idle++;
			continue;
		}
		idle = 0;
		i++;
		PRFileDesc *ssl = tls_server_wrap(tcp, &id, err, sizeof err);
		char buf[5];
		if (!ssl) {
			printf("conn %d: wrap failed: %s\n", i, err);
			PR_Close(tcp);
		} else if (tls_read_full(ssl, buf, 5, IO_TIMEOUT_MS, err, sizeof err) < 0 ||
			   tls_write_full(ssl, buf, 5, IO_TIMEOUT_MS, err, sizeof err) < 0) {
			printf("conn %d: %s\n", i, err);
			PR_Close(ssl);
		} else {
			printf("conn %d: echoed\n", i);
			PR_Close(ssl);
		}
		fflush(stdout);
	}
	PR_Close(l);
	server_identity_free(&id);
	nss_stop();
	return 0;
}

int main(int argc, char **argv)
{
	char err[512];

	progname = "tlsecho";
	if (argc == 5 && strcmp(argv[1], "server") == 0)
		return server(argv[2], argv[3], atoi(argv[4]));
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "client") == 0) {
		struct trust_spec t = { NULL, NULL, 0 };
		if (argc == 5 && strcmp(argv[3], "--store") == 0) {
			t.store = argv[4];
		} else if (argc == 4) {
			t.der = (unsigned char *)read_file_bounded(argv[3], 1 << 20, &t.derlen);
			if (!t.der) {
				fprintf(stderr, "tlsecho: cannot read %s\n", argv[3]);
				return 2;
			}
		} else {
			fprintf(stderr, "tlsecho: bad arguments\n");
			return 2;
		}
		if (nss_start_nodb(err, sizeof err) < 0) {
			fprintf(stderr, "tlsecho: %s\n", err);
			return 2;
		}
		int rc = client(atoi(argv[2]), &t);
		free(t.der);
		nss_stop();
		return rc;
	}
	fprintf(stderr, "tlsecho: bad arguments (see the comment in tlsecho.c)\n");
	return 2;
}
