/* What the parts of the thin client (remote.c, server_spec.c,
 * remote_request.c, remote_response.c, remote_conn.c, trust_cmd.c) share.
 * Not a public face: stap.c includes remote.h only. */
#ifndef STAP_CLIENT_REMOTE_INTERNAL_H
#define STAP_CLIENT_REMOTE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "nss.h"
#include "remote.h"

/* ---- server_spec.c: --use-server=SPEC (docs/protocol.md, servers) ---- */

/* One address to try. */
struct server_addr {
	char *addr;             /* numeric IPv4 or IPv6 (no brackets), as tls_client_connect wants */
	int port;
	char *host;             /* the name given (SNI, messages); NULL for a numeric spec */
};

enum spec_kind {
	SPEC_ADDRESS,           /* an address or a host name, with a port */
	SPEC_SERIAL,            /* a certificate serial: found only through Avahi */
};

struct server_spec {
	char *text;             /* as given, for messages */
	enum spec_kind kind;
	char *serial;           /* SPEC_SERIAL: lower-case "00:cc:26:2e:ed" */
	int port;               /* 0 when none was given */
	struct server_addr *addrs;  /* SPEC_ADDRESS: every address the name resolves to */
	size_t naddrs;
};

/* Parses (and for host names resolves) one spec.  A missing port is an
 * error until Avahi discovery lands.  0, or -1 with err. */
int server_spec_parse(const char *text, struct server_spec *out, char *err, size_t errlen);
void server_spec_free(struct server_spec *s);
/* --use-server values may hold comma lists; returns the single items
 * (empty ones dropped) as a new array of new strings. */
char **server_specs_split(char *const *specs, size_t n, size_t *nout);
void server_specs_free(char **v, size_t n);
/* "127.0.0.1:5555", "[::1]:5555", "name (127.0.0.1:5555)": heap. */
char *server_addr_text(const struct server_addr *a);

/* ---- remote_conn.c: NSS, trust stores, connecting ---- */

#define GLOBAL_SSL_STORE "/etc/systemtap/ssl/client"   /* trust for every user */
#define SIGNER_STORE "/etc/systemtap/staprun"           /* module signers, read by staprun */
#define CONNECT_TIMEOUT_MS (30 * 1000)
#define DEFAULT_REPLY_TIMEOUT_S (15 * 60)               /* a build may take minutes */

/* nss_start_nodb the first time; 0, or -1 after printing why. */
int remote_nss_start(void);
/* $SYSTEMTAP_DIR/ssl/client, else ~/.systemtap/ssl/client.  Heap. */
char *private_ssl_store(void);
/* $STAP_CLIENT_TIMEOUT (seconds) or the default, in milliseconds. */
int reply_timeout_ms(void);
/* Creates dir's missing parents (0755), not dir itself.  0 or -1 (errno). */
int make_parent_dirs(const char *dir);

/* The check used for compiles: the peer's certificate must be in the
 * private or the global store.  Records why not. */
struct trusted_check {
	const char *stores[2];  /* private, global */
	char why[256];          /* set when a certificate was refused */
};
bool trusted_peer_check(const unsigned char *der, size_t derlen, void *arg);

/* The check used by --trust-servers: accepts anything, keeps the DER. */
struct record_check {
	unsigned char *der;     /* heap, the peer's certificate */
	size_t derlen;
};
bool record_peer_check(const unsigned char *der, size_t derlen, void *arg);

/* Connects to a, printing "Attempting ..." at -vv.  NULL with err. */
PRFileDesc *remote_connect(const struct server_addr *a, tls_peer_check check, void *arg,
			   int verbose, char *err, size_t errlen);

/* ---- remote_request.c: the request archive ---- */

/* Everything stap sends, as an archive in memory.  0, or -1 after
 * printing an error. */
int remote_request_zip(const struct remote_request *rq, unsigned char **zip, size_t *len);

/* ---- mok.c: Secure Boot ---- */
/* sig_enforce, securelevel, lockdown, or SYSTEMTAP_SIGN (SYSTEMTAP_NOSIGN wins). */
bool modules_must_be_signed(void);
/* Fingerprints of enrolled Systemtap MOKs, or the one word "missing";
 * -1 (message printed) when mokutil fails.  Caller frees each and *fps. */
int mok_fingerprints(char ***fps, size_t *n);

/* ---- remote_response.c: what the server sent back ---- */

/* Prints, checks and copies out the response (docs/protocol.md, client
 * processing).  Returns stap's exit status; *module_out as remote_compile.
 * keep_dir: the kept temp directory (-k), where the response is also
 * unpacked, or NULL. */
int remote_response_process(const unsigned char *zip, size_t len,
			    const struct remote_request *rq, const char *keep_dir,
			    char **module_out);

/* Messages: "stap: ERROR: ..." / "stap: WARNING: ..." on stderr. */
void remote_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void remote_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
