/* NSS for the compile service: the server's certificate database in
 * SystemTap's form, the trust stores clients and staprun read, module
 * signatures (.sgn), and TLS over NSPR sockets.  Facts: docs/protocol.md
 * (reference: shared ref/protocol.md sections 2, 9 and 10).
 *
 * Every function returns 0 on success and -1 with a one-line reason in
 * err (no "ERROR:" prefix, no newline) unless it says otherwise.  Database
 * directories are plain paths; "sql:" is added here. */
#ifndef STAP_COMMON_NSS_H
#define STAP_COMMON_NSS_H

#include <stdbool.h>
#include <stddef.h>
#include <prio.h>

#define STAP_CERT_NICKNAME "stap-server"

/* --- process-wide start ------------------------------------------------
 * nss_start opens `dir` as the process's main database (read-only unless
 * readwrite), nss_start_nodb starts NSS with no database (clients: trust
 * stores are opened one at a time by the trust_* functions).  Both enable
 * TLS 1.2 and 1.3 with the domestic cipher policy.  Call once. */
int nss_start(const char *dir, bool readwrite, char *err, size_t errlen);
int nss_start_nodb(char *err, size_t errlen);
void nss_stop(void);
/* The directory's NSS spec: "sql:DIR" unless DIR already has a ':'.  Caller frees. */
char *nss_db_spec(const char *dir);

/* --- the server's certificate (SystemTap's form) -------------------------
 * RSA 4096, e = 65537, sha256WithRSAEncryption, v3; serial = microseconds
 * since the epoch >> 19; subject = issuer = OU=Systemtap, CN=Systemtap
 * Compile Server, both PrintableString, byte for byte as SystemTap's;
 * valid from now for 12 months; SAN = DNS:<nodename>, DNS:<nodename up to
 * the first dot>.local, then extra_names; Netscape cert type (critical)
 * SSL server + object signing + object signing CA; no basicConstraints.
 * Stored as STAP_CERT_NICKNAME with trust "PCu,,PCu"; the DER also goes to
 * DIR/stap.cert.  Any old database in DIR is removed first; the directory
 * is created 0700 if missing; files are 0600. */
int cert_db_generate(const char *dir, char *const *extra_names, size_t nextra,
		     char *err, size_t errlen);

enum cert_db_state {
	CERT_DB_VALID,      /* certificate present and valid now for SSL server and object signing */
	CERT_DB_MISSING,    /* no database in dir */
	CERT_DB_NO_CERT,    /* database without our certificate */
	CERT_DB_EXPIRED,    /* certificate present but not valid now */
	CERT_DB_ERROR,      /* cannot be read (message in msg) */
};
/* Looks at dir without nss_start (uses its own context).  msg gets a line
 * for the log ("Certificate found in database DIR, valid until ..."). */
enum cert_db_state cert_db_check(const char *dir, char *msg, size_t msglen);

/* The certificate and key of the database given to nss_start. */
struct server_identity {
	void *cert;                 /* CERTCertificate * */
	void *key;                  /* SECKEYPrivateKey * */
	unsigned char *der;         /* the certificate, DER */
	size_t derlen;
	char *certinfo;             /* serial as colon hex: "00:cc:26:2e:ed" */
};
int server_identity_load(struct server_identity *id, char *err, size_t errlen);
void server_identity_free(struct server_identity *id);

/* "00:cc:26:2e:ed": the serial's DER INTEGER content bytes, lower-case
 * colon hex (what SystemTap calls certinfo).  NULL if der is not a
 * certificate.  Caller frees. */
char *cert_serial_string(const unsigned char *der, size_t derlen);
/* SHA-1 over the DER, lower-case colon hex (MOK fingerprints). */
char *cert_sha1_fingerprint(const unsigned char *der, size_t derlen);

/* --- module signatures ----------------------------------------------------
 * .sgn = the raw PKCS#1 v1.5 RSA signature block (key-size bytes) over the
 * whole module, DigestInfo SHA-256 (SHA-1 when sha1 is true: for clients
 * that only know it). */
int module_sign(const struct server_identity *id, const void *mod, size_t len,
		bool sha1, unsigned char **sig, size_t *siglen,
		char *err, size_t errlen);

enum sgn_result {
	SGN_TRUSTED,        /* a certificate in the store made this signature of these bytes */
	SGN_UNTRUSTED,      /* no certificate in the store matches; garbage .sgn too */
	SGN_ALTERED,        /* a store key matches the signature but the digest does not: module changed */
	SGN_ERROR,          /* the store cannot be read */
};
/* Tries each certificate of the store (opened read-only in its own
 * context), SHA-256 then SHA-1 digests.  Works with SystemTap's SHA-1 and
 * SHA-256 signatures. */
enum sgn_result module_verify(const char *store_dir, const void *mod, size_t len,
			      const void *sig, size_t siglen, char *msg, size_t msglen);

/* --- trust stores (client SSL peers, staprun signers) ---------------------
 * A certificate is trusted when its exact DER is in the store under
 * STAP_CERT_NICKNAME with trust P,P,P (SystemTap's layout, so stores made
 * by SystemTap's tools work and ours work for them). */
int trust_add_cert(const char *store_dir, const unsigned char *der, size_t derlen,
		   char *err, size_t errlen);     /* creates the store if missing; *.db files 0644 */
/* Removes every stap-server certificate whose serial string is certinfo;
 * *removed gets the count (0 is not an error). */
int trust_remove_serial(const char *store_dir, const char *certinfo, int *removed,
			char *err, size_t errlen);
/* 1 trusted, 0 not (or no store), -1 error. */
int trust_has_cert(const char *store_dir, const unsigned char *der, size_t derlen);
/* Every stap-server certificate of the store, DER; caller frees each and
 * the array. */
int trust_list(const char *store_dir, unsigned char ***ders, size_t **lens, size_t *n,
	       char *err, size_t errlen);

/* --- TLS over NSPR ---------------------------------------------------------- */
/* Server side: wraps an accepted TCP socket; the handshake happens on the
 * first read (the client drives it).  NULL with err on failure. */
PRFileDesc *tls_server_wrap(PRFileDesc *tcp, const struct server_identity *id,
			    char *err, size_t errlen);

/* Client side: how the peer's certificate is judged.  Return true to
 * accept.  der is the peer's certificate. */
typedef bool (*tls_peer_check)(const unsigned char *der, size_t derlen, void *arg);
/* Connects to addr:port (numeric IPv4 or IPv6), sends SNI host when
 * non-NULL and not numeric, and completes the handshake within
 * timeout_ms.  The certificate is accepted only if check says so (name
 * mismatches are ignored, as SystemTap does). */
PRFileDesc *tls_client_connect(const char *addr, int port, const char *host,
			       tls_peer_check check, void *arg, int timeout_ms,
			       char *err, size_t errlen);

/* Reads/writes exactly n bytes within timeout_ms (per call); 0 or -1
 * (err: "timed out", "connection closed after K of N bytes", NSS error). */
int tls_read_full(PRFileDesc *fd, void *buf, size_t n, int timeout_ms, char *err, size_t errlen);
int tls_write_full(PRFileDesc *fd, const void *buf, size_t n, int timeout_ms, char *err, size_t errlen);
/* Reads until EOF, at most max bytes (-1 beyond).  Caller frees *buf. */
int tls_read_to_eof(PRFileDesc *fd, size_t max, int timeout_ms, unsigned char **buf, size_t *len,
		    char *err, size_t errlen);
/* "-8156 SEC_ERROR_CA_CERT_INVALID: Issuer certificate is invalid." for the last NSPR/NSS error. */
const char *nss_error_text(char *buf, size_t n);

#endif
