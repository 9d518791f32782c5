/* common/nss.h against real NSS: a server certificate database is
 * generated once (RSA 4096, a second or two) in a temporary directory,
 * then its certificate strings, signatures, trust stores and TLS are
 * exercised.  Nothing of NSS is mocked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <prerror.h>
#include <prio.h>
#include <prnetdb.h>
#include <secerr.h>

#include "nss.h"
#include "util.h"

enum { IO_MS = 5000 };

/* The world every test shares (built by setup). */
static struct {
	char *top;                 /* temporary directory */
	char *server;              /* top/server: the generated database */
	struct server_identity id; /* its certificate and key (nss_start'ed) */
	enum cert_db_state check_before_start;  /* cert_db_check before nss_start */
	char check_msg[256];
	time_t generated;          /* when, for the serial */
	unsigned char module[4096];/* a "module" to sign */
} g;

/* ---- helpers ---- */

static char *path_in(const char *name)
{
	return xasprintf("%s/%s", g.top, name);
}

static void remove_tree(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

/* Length of the DER element at *p (tag at p[0]); *hdr gets the header size. */
static size_t der_element(const unsigned char *p, size_t *hdr)
{
	if (p[1] < 0x80) {
		*hdr = 2;
		return p[1];
	}
	size_t n = p[1] & 0x7f, len = 0;
	for (size_t i = 0; i < n; i++)
		len = len << 8 | p[2 + i];
	*hdr = 2 + n;
	return len;
}

/* The serial's content bytes, found by hand: Certificate SEQUENCE, then
 * TBSCertificate SEQUENCE, then [0] version, then the INTEGER. */
static const unsigned char *der_serial(const unsigned char *der, size_t *len)
{
	size_t hdr;
	const unsigned char *p = der;
	der_element(p, &hdr);
	p += hdr;                          /* into Certificate */
	der_element(p, &hdr);
	p += hdr;                          /* into TBSCertificate */
	if (p[0] == 0xa0) {                /* skip [0] version */
		size_t vlen = der_element(p, &hdr);
		p += hdr + vlen;
	}
	assert_int_equal(p[0], 0x02);
	*len = der_element(p, &hdr);
	return p + hdr;
}

static void assert_colon_hex(const char *s, size_t bytes)
{
	assert_int_equal(strlen(s), bytes * 3 - 1);
	for (size_t i = 0; s[i]; i++) {
		if (i % 3 == 2)
			assert_int_equal(s[i], ':');
		else
			assert_non_null(strchr("0123456789abcdef", s[i]));
	}
}

static void sign(const void *mod, size_t len, bool sha1, unsigned char **sig, size_t *siglen)
{
	char err[256];
	int rc = module_sign(&g.id, mod, len, sha1, sig, siglen, err, sizeof err);
	if (rc < 0)
		fail_msg("module_sign: %s", err);
	assert_int_equal(*siglen, 512);   /* RSA 4096 */
}

static enum sgn_result verify(const char *store, const void *mod, size_t len,
			      const void *sig, size_t siglen, char *msg, size_t msglen)
{
	return module_verify(store, mod, len, sig, siglen, msg, msglen);
}

/* A store (under top) that trusts the server certificate. */
static char *trusting_store(const char *name)
{
	char err[256];
	char *store = path_in(name);
	if (trust_add_cert(store, g.id.der, g.id.derlen, err, sizeof err) < 0)
		fail_msg("trust_add_cert: %s", err);
	return store;
}

/* ---- set-up ---- */

static int setup(void **state)
{
	char tmpl[] = "/tmp/stap-unit-nss-XXXXXX", err[512];

	if (!mkdtemp(tmpl))
		return -1;
	g.top = xstrdup(tmpl);
	g.server = path_in("server");
	g.generated = time(NULL);
	char *extra[] = { "extra1.example.org", "extra2" };
	/* before any nss_start: the functions keep NSS up themselves */
	if (cert_db_generate(g.server, extra, 2, err, sizeof err) < 0) {
		fprintf(stderr, "cert_db_generate: %s\n", err);
		return -1;
	}
	g.check_before_start = cert_db_check(g.server, g.check_msg, sizeof g.check_msg);
	if (nss_start(g.server, false, err, sizeof err) < 0 ||
	    server_identity_load(&g.id, err, sizeof err) < 0) {
		fprintf(stderr, "nss_start/server_identity_load: %s\n", err);
		return -1;
	}
	for (size_t i = 0; i < sizeof g.module; i++)
		g.module[i] = (unsigned char)(i * 131 + 7);
	return 0;
}

static int teardown(void **state)
{
	server_identity_free(&g.id);
	nss_stop();
	remove_tree(g.top);
	free(g.server);
	free(g.top);
	return 0;
}

/* ---- names and strings ---- */

static void test_db_spec(void **state)
{
	char *s = nss_db_spec("/etc/systemtap/staprun");
	assert_string_equal(s, "sql:/etc/systemtap/staprun");
	free(s);
	s = nss_db_spec("dbm:/old/db");
	assert_string_equal(s, "dbm:/old/db");
	free(s);
}

static void test_error_text(void **state)
{
	char buf[256];
	PR_SetError(SEC_ERROR_CA_CERT_INVALID, 0);
	assert_string_equal(nss_error_text(buf, sizeof buf),
			    "-8156 SEC_ERROR_CA_CERT_INVALID: Issuer certificate is invalid.");
	char tiny[8];
	PR_SetError(SEC_ERROR_CA_CERT_INVALID, 0);
	assert_string_equal(nss_error_text(tiny, sizeof tiny), "-8156 S");
}

static void test_serial_string(void **state)
{
	size_t len;
	const unsigned char *raw = der_serial(g.id.der, &len);
	/* SystemTap's serial: microseconds >> 19, a 4-byte value with its top
	 * bit set, hence a leading 00 and exactly five fields */
	assert_int_equal(len, 5);
	assert_int_equal(raw[0], 0x00);
	assert_colon_hex(g.id.certinfo, 5);
	char *expect = xasprintf("%02x:%02x:%02x:%02x:%02x", raw[0], raw[1], raw[2], raw[3], raw[4]);
	assert_string_equal(g.id.certinfo, expect);
	free(expect);
	char *again = cert_serial_string(g.id.der, g.id.derlen);
	assert_string_equal(again, g.id.certinfo);
	free(again);

	uint64_t serial = (uint64_t)raw[1] << 24 | (uint64_t)raw[2] << 16 | (uint64_t)raw[3] << 8 | raw[4];
	uint64_t t0 = ((uint64_t)g.generated * 1000000) >> 19;
	uint64_t t1 = ((uint64_t)time(NULL) * 1000000 + 1000000) >> 19;
	assert_true(serial >= t0 - 2 && serial <= t1);
}

static void test_serial_rejects_garbage(void **state)
{
	assert_null(cert_serial_string(NULL, 0));
	assert_null(cert_serial_string((const unsigned char *)"abc", 3));
	assert_null(cert_serial_string(g.id.der, g.id.derlen - 1));
	assert_null(cert_serial_string(g.id.der, 40));
	unsigned char *longer = xmalloc(g.id.derlen + 1);
	memcpy(longer, g.id.der, g.id.derlen);
	longer[g.id.derlen] = 0;
	assert_null(cert_serial_string(longer, g.id.derlen + 1));
	free(longer);
	/* a lone INTEGER is no certificate */
	static const unsigned char integer[] = { 0x02, 0x01, 0x05 };
	assert_null(cert_serial_string(integer, sizeof integer));
}

static void test_fingerprint(void **state)
{
	/* SHA-1("abc"), FIPS 180 */
	char *fp = cert_sha1_fingerprint((const unsigned char *)"abc", 3);
	assert_string_equal(fp, "a9:99:3e:36:47:06:81:6a:ba:3e:25:71:78:50:c2:6c:9c:d0:d8:9d");
	free(fp);
	fp = cert_sha1_fingerprint(g.id.der, g.id.derlen);
	assert_non_null(fp);
	assert_colon_hex(fp, 20);
	free(fp);
}

/* ---- the server database ---- */

static void test_db_check(void **state)
{
	char msg[256];

	assert_int_equal(g.check_before_start, CERT_DB_VALID);
	assert_non_null(strstr(g.check_msg, "Certificate found in database"));
	assert_int_equal(cert_db_check(g.server, msg, sizeof msg), CERT_DB_VALID);
	assert_non_null(strstr(msg, g.server));

	char *missing = path_in("no-such-db");
	assert_int_equal(cert_db_check(missing, msg, sizeof msg), CERT_DB_MISSING);
	assert_non_null(strstr(msg, "does not exist"));
	free(missing);

	char *empty = path_in("empty-dir");
	assert_int_equal(mkdir(empty, 0700), 0);
	assert_int_equal(cert_db_check(empty, msg, sizeof msg), CERT_DB_MISSING);
	free(empty);

	/* a trust store has the certificate but not its key */
	char *store = trusting_store("check-store");
	assert_int_equal(cert_db_check(store, msg, sizeof msg), CERT_DB_ERROR);
	assert_non_null(strstr(msg, "no private key"));
	free(store);
}

static void test_db_files(void **state)
{
	struct stat st;
	char *p = path_in("server");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	free(p);
	static const char *const files[] = { "cert9.db", "key4.db", "stap.cert" };
	for (size_t i = 0; i < 3; i++) {
		p = xasprintf("%s/%s", g.server, files[i]);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		free(p);
	}
	size_t len;
	p = xasprintf("%s/stap.cert", g.server);
	char *cert = read_file_bounded(p, 1 << 20, &len);
	assert_non_null(cert);
	assert_int_equal(len, g.id.derlen);
	assert_memory_equal(cert, g.id.der, len);
	free(cert);
	free(p);
}

static void test_generate_refuses_started_db(void **state)
{
	char err[256];
	assert_int_equal(cert_db_generate(g.server, NULL, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "started with"));
	/* and left it alone */
	assert_int_equal(cert_db_check(g.server, err, sizeof err), CERT_DB_VALID);
}

static void test_identity(void **state)
{
	assert_non_null(g.id.cert);
	assert_non_null(g.id.key);
	assert_true(g.id.derlen > 1000);
	assert_int_equal(g.id.der[0], 0x30);
}

/* ---- signatures ---- */

static void test_sign_verify_trusted(void **state)
{
	char *store = trusting_store("sign-store");
	unsigned char *sig;
	size_t siglen;
	char msg[256];

	sign(g.module, sizeof g.module, false, &sig, &siglen);
	assert_int_equal(verify(store, g.module, sizeof g.module, sig, siglen, msg, sizeof msg),
			 SGN_TRUSTED);
	assert_non_null(strstr(msg, "SHA-256"));
	assert_non_null(strstr(msg, g.id.certinfo));
	free(sig);

	sign(g.module, sizeof g.module, true, &sig, &siglen);
	assert_int_equal(verify(store, g.module, sizeof g.module, sig, siglen, msg, sizeof msg),
			 SGN_TRUSTED);
	assert_non_null(strstr(msg, "SHA-1"));
	free(sig);

	/* an empty module is a module too */
	sign("", 0, false, &sig, &siglen);
	assert_int_equal(verify(store, "", 0, sig, siglen, msg, sizeof msg), SGN_TRUSTED);
	free(sig);
	free(store);
}

static void test_verify_altered(void **state)
{
	char *store = trusting_store("altered-store");
	unsigned char *sig, copy[sizeof g.module + 1];
	size_t siglen;
	char msg[256];
	static const size_t where[] = { 0, 1000, sizeof g.module - 1 };

	for (int sha1 = 0; sha1 <= 1; sha1++) {
		sign(g.module, sizeof g.module, sha1, &sig, &siglen);
		for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
			memcpy(copy, g.module, sizeof g.module);
			copy[where[i]] ^= 0x01;
			assert_int_equal(verify(store, copy, sizeof g.module, sig, siglen,
						msg, sizeof msg), SGN_ALTERED);
			assert_non_null(strstr(msg, "changed"));
		}
		/* one byte more, one byte less */
		memcpy(copy, g.module, sizeof g.module);
		copy[sizeof g.module] = 0;
		assert_int_equal(verify(store, copy, sizeof g.module + 1, sig, siglen, msg, sizeof msg),
				 SGN_ALTERED);
		assert_int_equal(verify(store, copy, sizeof g.module - 1, sig, siglen, msg, sizeof msg),
				 SGN_ALTERED);
		free(sig);
	}
	free(store);
}

static void test_verify_garbage_sgn(void **state)
{
	char *store = trusting_store("garbage-store");
	unsigned char junk[512], *sig;
	size_t siglen;
	char msg[256];

	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (unsigned char)(i * 7 + 3);
	assert_int_equal(verify(store, g.module, sizeof g.module, junk, sizeof junk, msg, sizeof msg),
			 SGN_UNTRUSTED);
	assert_int_equal(verify(store, g.module, sizeof g.module, junk, 511, msg, sizeof msg),
			 SGN_UNTRUSTED);
	assert_int_equal(verify(store, g.module, sizeof g.module, junk, 0, msg, sizeof msg),
			 SGN_UNTRUSTED);
	/* a real signature with one bit flipped no longer recovers */
	sign(g.module, sizeof g.module, false, &sig, &siglen);
	sig[100] ^= 0x10;
	assert_int_equal(verify(store, g.module, sizeof g.module, sig, siglen, msg, sizeof msg),
			 SGN_UNTRUSTED);
	/* the right signature with a byte more than the key has */
	sig[100] ^= 0x10;
	unsigned char *longer = xcalloc(1, siglen + 1);
	memcpy(longer, sig, siglen);
	assert_int_equal(verify(store, g.module, sizeof g.module, longer, siglen + 1, msg, sizeof msg),
			 SGN_UNTRUSTED);
	free(longer);
	free(sig);
	free(store);
}

static void test_verify_store_without_cert(void **state)
{
	unsigned char *sig;
	size_t siglen;
	char msg[256], err[256];
	int removed = -1;

	sign(g.module, sizeof g.module, false, &sig, &siglen);
	char *none = path_in("no-such-store");
	assert_int_equal(verify(none, g.module, sizeof g.module, sig, siglen, msg, sizeof msg),
			 SGN_UNTRUSTED);
	free(none);

	/* a store that had the certificate and lost it */
	char *store = trusting_store("emptied-store");
	assert_int_equal(trust_remove_serial(store, g.id.certinfo, &removed, err, sizeof err), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(verify(store, g.module, sizeof g.module, sig, siglen, msg, sizeof msg),
			 SGN_UNTRUSTED);
	assert_non_null(strstr(msg, "no certificate"));
	free(store);
	free(sig);
}

static void test_sign_without_key(void **state)
{
	struct server_identity none = { 0 };
	unsigned char *sig = (unsigned char *)"x";
	size_t siglen = 1;
	char err[256];
	assert_int_equal(module_sign(&none, "m", 1, false, &sig, &siglen, err, sizeof err), -1);
	assert_null(sig);
	assert_int_equal(siglen, 0);
	assert_true(err[0] != '\0');
}

/* ---- trust stores ---- */

static void test_trust_round_trip(void **state)
{
	char *store = path_in("round-trip");
	char err[256];
	unsigned char **ders;
	size_t *lens, n = 99;
	int removed = -1;

	assert_int_equal(trust_has_cert(store, g.id.der, g.id.derlen), 0);   /* no store */
	assert_int_equal(trust_list(store, &ders, &lens, &n, err, sizeof err), 0);
	assert_int_equal(n, 0);
	free(ders);
	free(lens);

	for (int round = 0; round < 2; round++) {   /* adding twice keeps one */
		if (trust_add_cert(store, g.id.der, g.id.derlen, err, sizeof err) < 0)
			fail_msg("trust_add_cert: %s", err);
		assert_int_equal(trust_has_cert(store, g.id.der, g.id.derlen), 1);
		assert_int_equal(trust_list(store, &ders, &lens, &n, err, sizeof err), 0);
		assert_int_equal(n, 1);
		assert_int_equal(lens[0], g.id.derlen);
		assert_memory_equal(ders[0], g.id.der, g.id.derlen);
		free(ders[0]);
		free(ders);
		free(lens);
	}
	struct stat st;
	char *db = xasprintf("%s/cert9.db", store);
	assert_int_equal(stat(db, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	free(db);

	assert_int_equal(trust_remove_serial(store, "00:00:00:00:01", &removed, err, sizeof err), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(trust_has_cert(store, g.id.der, g.id.derlen), 1);
	assert_int_equal(trust_remove_serial(store, g.id.certinfo, &removed, err, sizeof err), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(trust_has_cert(store, g.id.der, g.id.derlen), 0);
	assert_int_equal(trust_list(store, &ders, &lens, &n, err, sizeof err), 0);
	assert_int_equal(n, 0);
	free(ders);
	free(lens);
	assert_int_equal(cert_db_check(store, err, sizeof err), CERT_DB_NO_CERT);

	/* and back again */
	assert_int_equal(trust_add_cert(store, g.id.der, g.id.derlen, err, sizeof err), 0);
	assert_int_equal(trust_has_cert(store, g.id.der, g.id.derlen), 1);
	free(store);

	/* the server database kept its own certificate and trust */
	assert_int_equal(cert_db_check(g.server, err, sizeof err), CERT_DB_VALID);
}

static void test_trust_rejects_garbage(void **state)
{
	char *store = path_in("garbage-trust");
	char err[256] = "";
	assert_int_equal(trust_add_cert(store, (const unsigned char *)"garbage", 7, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a certificate"));
	assert_int_equal(trust_has_cert(store, (const unsigned char *)"garbage", 7), 0);
	free(store);
}

/* ---- TLS on loopback ---- */

struct echo_server {
	PRFileDesc *listener;
	int conns;               /* how many to serve */
	int echoed;              /* how many echoed */
};

static void *serve(void *arg)
{
	struct echo_server *s = arg;
	char err[256], buf[5];

	for (int i = 0; i < s->conns; i++) {
		PRNetAddr peer;
		PRFileDesc *tcp = PR_Accept(s->listener, &peer, PR_SecondsToInterval(20));
		if (!tcp)
			break;
		PRFileDesc *ssl = tls_server_wrap(tcp, &g.id, err, sizeof err);
		if (!ssl) {
			PR_Close(tcp);
			continue;
		}
		if (tls_read_full(ssl, buf, 5, IO_MS, err, sizeof err) == 0 &&
		    tls_write_full(ssl, buf, 5, IO_MS, err, sizeof err) == 0)
			s->echoed++;
		PR_Close(ssl);
	}
	return NULL;
}

static bool trust_exact(const unsigned char *der, size_t derlen, void *arg)
{
	return derlen == g.id.derlen && memcmp(der, g.id.der, derlen) == 0;
}

static bool trust_nothing(const unsigned char *der, size_t derlen, void *arg)
{
	return false;
}

static void test_tls_loopback(void **state)
{
	struct echo_server s = { NULL, 2, 0 };
	PRNetAddr a;
	char err[256], buf[6] = "";

	s.listener = PR_OpenTCPSocket(PR_AF_INET);
	assert_non_null(s.listener);
	PR_InitializeNetAddr(PR_IpAddrLoopback, 0, &a);
	assert_int_equal(PR_Bind(s.listener, &a), PR_SUCCESS);
	assert_int_equal(PR_Listen(s.listener, 5), PR_SUCCESS);
	assert_int_equal(PR_GetSockName(s.listener, &a), PR_SUCCESS);
	int port = PR_ntohs(a.inet.port);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, serve, &s), 0);

	PRFileDesc *fd = tls_client_connect("127.0.0.1", port, "localhost", trust_exact, NULL,
					    IO_MS, err, sizeof err);
	if (!fd)
		fail_msg("tls_client_connect: %s", err);
	assert_int_equal(tls_write_full(fd, "ping\n", 5, IO_MS, err, sizeof err), 0);
	assert_int_equal(tls_read_full(fd, buf, 5, IO_MS, err, sizeof err), 0);
	assert_memory_equal(buf, "ping\n", 5);
	/* the server closed: one more byte is EOF */
	assert_int_equal(tls_read_full(fd, buf, 1, IO_MS, err, sizeof err), -1);
	assert_non_null(strstr(err, "closed after 0 of 1"));
	PR_Close(fd);

	fd = tls_client_connect("127.0.0.1", port, NULL, trust_nothing, NULL, IO_MS,
				err, sizeof err);
	assert_null(fd);
	assert_non_null(strstr(err, "not trusted"));

	pthread_join(t, NULL);
	PR_Close(s.listener);
	assert_int_equal(s.echoed, 1);

	/* nobody listening any more */
	fd = tls_client_connect("127.0.0.1", port, NULL, trust_exact, NULL, IO_MS, err, sizeof err);
	assert_null(fd);
	assert_non_null(strstr(err, "cannot connect"));
	assert_null(tls_client_connect("localhost", port, NULL, trust_exact, NULL, IO_MS,
				       err, sizeof err));
	assert_non_null(strstr(err, "not a numeric"));
}

/* Server for test_tls_read_to_eof: connection i sends big[] whole and
 * closes, except the last one, which sends nothing for a second. */
struct bulk_server {
	PRFileDesc *listener;
	int conns;
	const unsigned char *big;
	size_t len;
};

static void *serve_bulk(void *arg)
{
	struct bulk_server *s = arg;
	char err[256], one;

	for (int i = 0; i < s->conns; i++) {
		PRNetAddr peer;
		PRFileDesc *tcp = PR_Accept(s->listener, &peer, PR_SecondsToInterval(20));
		if (!tcp)
			break;
		PRFileDesc *ssl = tls_server_wrap(tcp, &g.id, err, sizeof err);
		if (!ssl) {
			PR_Close(tcp);
			continue;
		}
		if (i + 1 < s->conns)
			tls_write_full(ssl, s->big, s->len, IO_MS, err, sizeof err);
		else   /* silent: drives the handshake, then waits out the client */
			tls_read_full(ssl, &one, 1, 1000, err, sizeof err);
		PR_Close(ssl);
	}
	return NULL;
}

static void test_tls_read_to_eof(void **state)
{
	enum { BIG = 100000 };
	unsigned char *big = xmalloc(BIG), *got;
	struct bulk_server s = { NULL, 3, big, BIG };
	PRNetAddr a;
	char err[256];
	size_t len;

	for (size_t i = 0; i < BIG; i++)
		big[i] = (unsigned char)(i * 13 + i / 256);
	s.listener = PR_OpenTCPSocket(PR_AF_INET);
	assert_non_null(s.listener);
	PR_InitializeNetAddr(PR_IpAddrLoopback, 0, &a);
	assert_int_equal(PR_Bind(s.listener, &a), PR_SUCCESS);
	assert_int_equal(PR_Listen(s.listener, 5), PR_SUCCESS);
	assert_int_equal(PR_GetSockName(s.listener, &a), PR_SUCCESS);
	int port = PR_ntohs(a.inet.port);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, serve_bulk, &s), 0);

	/* exactly the limit: fine */
	PRFileDesc *fd = tls_client_connect("127.0.0.1", port, NULL, trust_exact, NULL, IO_MS,
					    err, sizeof err);
	if (!fd)
		fail_msg("tls_client_connect: %s", err);
	if (tls_read_to_eof(fd, BIG, IO_MS, &got, &len, err, sizeof err) < 0)
		fail_msg("tls_read_to_eof: %s", err);
	assert_int_equal(len, BIG);
	assert_memory_equal(got, big, BIG);
	free(got);
	PR_Close(fd);

	/* one byte under it: refused */
	fd = tls_client_connect("127.0.0.1", port, NULL, trust_exact, NULL, IO_MS, err, sizeof err);
	assert_non_null(fd);
	assert_int_equal(tls_read_to_eof(fd, BIG - 1, IO_MS, &got, &len, err, sizeof err), -1);
	assert_null(got);
	assert_string_equal(err, "more than 99999 bytes");
	PR_Close(fd);

	/* a silent server: the deadline holds */
	fd = tls_client_connect("127.0.0.1", port, NULL, trust_exact, NULL, IO_MS, err, sizeof err);
	assert_non_null(fd);
	PRIntervalTime t0 = PR_IntervalNow();
	assert_int_equal(tls_read_to_eof(fd, BIG, 200, &got, &len, err, sizeof err), -1);
	assert_non_null(strstr(err, "timed out"));
	assert_int_equal(tls_read_full(fd, &len, 1, 100, err, sizeof err), -1);
	assert_string_equal(err, "timed out");
	assert_true(PR_IntervalToMilliseconds(PR_IntervalNow() - t0) < 900);
	PR_Close(fd);

	pthread_join(t, NULL);
	PR_Close(s.listener);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_db_spec),
		cmocka_unit_test(test_error_text),
		cmocka_unit_test(test_serial_string),
		cmocka_unit_test(test_serial_rejects_garbage),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_db_check),
		cmocka_unit_test(test_db_files),
		cmocka_unit_test(test_generate_refuses_started_db),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_sign_verify_trusted),
		cmocka_unit_test(test_verify_altered),
		cmocka_unit_test(test_verify_garbage_sgn),
		cmocka_unit_test(test_verify_store_without_cert),
		cmocka_unit_test(test_sign_without_key),
		cmocka_unit_test(test_trust_round_trip),
		cmocka_unit_test(test_trust_rejects_garbage),
		cmocka_unit_test(test_tls_loopback),
		cmocka_unit_test(test_tls_read_to_eof),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
