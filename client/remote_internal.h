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
	char *name;             /* a host name given without a port: matched against Avahi */
	struct server_addr *addrs;  /* SPEC_ADDRESS: every address the name resolves to */
	size_t naddrs;
};

/* Parses (and for host names with a port resolves) one spec.  Without a
 * port, an address keeps port 0 and a name goes to `name`, both to be
 * matched against Avahi's servers; so does a NAME.local:PORT that
 * getaddrinfo does not know.  0, or -1 with err. */
int server_spec_parse(const char *text, struct server_spec *out, char *err, size_t errlen);
void server_spec_free(struct server_spec *s);
/* --use-server values may hold comma lists; returns the single items
 * (empty ones dropped) as a new array of new strings (strv_free). */
char **server_specs_split(char *const *specs, size_t n, size_t *nout);
/* Two numeric addresses name the same host: the same bytes, and for
 * IPv6 the same scope when both have one ("fe80::1" is "fe80::1%eth0"
 * and "fe80::1%2" when eth0 is interface 2), as SystemTap compares them. */
bool server_addr_same(const char *a, const char *b);
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

/* ---- discover.c: servers announced through Avahi (_stap._tcp) ---- */

/* One resolved announcement. */
struct online_server {
	char *host;             /* the Avahi host name ("vm.local") */
	char *addr;             /* numeric IPv4 or IPv6 */
	int port;
	char *sysinfo;          /* "KVER ARCH", NULL when not announced */
	char *certinfo;         /* "00:cc:26:2e:ed", NULL when not announced */
	char *version;          /* "4.8"; "1.0" when not announced */
	char **moks;            /* mok_info values only */
	size_t nmoks;
};
/* Browses for at most about 2 s.  0, or -1 after printing why (no daemon):
 * then there are no online servers. */
int discover_servers(struct online_server **out, size_t *n);
void online_servers_free(struct online_server *s, size_t n);
void online_server_clear(struct online_server *s);
/* Fills sysinfo, certinfo, version (default "1.0") and the MOKs from
 * one resolution's TXT list: the first value of each key; as MOKs only
 * mok_info values, never the records that follow them. */
struct AvahiStringList;
void online_server_read_txt(struct online_server *s, struct AvahiStringList *txt);
/* Dotted versions; unknown forms count as "1.0". */
int version_compare(const char *a, const char *b);
/* sysinfo is "release arch" or "arch", and when the client needs signed
 * modules (nmoks > 0) a fingerprint is shared ("missing" matches all). */
bool online_server_compatible(const struct online_server *s, const char *release,
			      const char *arch, char *const *moks, size_t nmoks);
/* The certinfo is the serial of a certificate in store (NSS started). */
bool online_server_in_store(const struct online_server *s, const char *store);

/* ---- list_servers.c: --list-servers ---- */

/* One line of the listing, SystemTap's format: " host=... address=...
 * port=... sysinfo=\"...\" version=... certinfo=\"...\"" and the MOKs;
 * a server without an address is "address=offline port=unknown", absent
 * fields "unknown".  Heap, no newline. */
char *list_server_line(const struct online_server *s);

/* ---- server_select.c: specs and Avahi together ---- */

/* Fills the addresses of specs that need Avahi: no spec at all (the
 * default servers: online, trusted, compatible and, unless stapdev,
 * signer, newest version first), a spec without a port (online servers
 * of that name or address, compatible and signer), a certificate serial,
 * or a NAME.local the resolver does not know.  rq NULL: no filters (for
 * --trust-servers).  Returns the specs to try (heap), *n their count,
 * and with none *why may say SystemTap's reason ("No servers online to
 * select from.").  NSS must be started. */
struct server_spec *servers_to_try(char *const *specs, size_t nspecs,
				   const struct remote_request *rq, size_t *n, const char **why);

/* ---- remote_request.c: the request archive ---- */

/* Everything stap sends, as an archive in memory.  0, or -1 after
 * printing an error. */
int remote_request_zip(const struct remote_request *rq, unsigned char **zip, size_t *len);

/* ---- mok.c: Secure Boot ---- */
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
