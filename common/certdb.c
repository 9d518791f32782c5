/* The compile server's certificate database in SystemTap's form:
 * generating it, checking it at start-up, loading the server's identity,
 * and the two strings a certificate is known by (serial "certinfo" and
 * SHA-1 fingerprint).
 *
 * Clients keep every server certificate under one nickname, which NSS
 * allows only for certificates with the same subject DER; hence the
 * subject is built AVA by AVA as PrintableStrings, exactly as SystemTap's
 * tools make it, and there is no basicConstraints (a CA:TRUE certificate
 * cannot be trusted on first use by SystemTap's clients). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cert.h>
#include <certdb.h>
#include <cryptohi.h>
#include <keyhi.h>
#include <pk11pub.h>
#include <prtime.h>
#include <secasn1.h>
#include <secder.h>
#include <secerr.h>
#include <secoid.h>

#include "nss_int.h"
#include "util.h"

enum { SERVER_KEY_BITS = 4096, SERVER_KEY_EXPONENT = 65537, VALID_MONTHS = 12 };

/* ---- certinfo and fingerprint ---- */

/* Just enough of a Certificate to reach the serial; the other fields are
 * skipped but their tags checked, so that garbage is refused. */
struct serial_view {
	SECItem version;     /* [0] EXPLICIT INTEGER, optional */
	SECItem serial_der;  /* the serial INTEGER, tag and length included */
	SECItem serial;      /* its content bytes, as encoded */
};

static const SEC_ASN1Template tbs_view_template[] = {
	{ SEC_ASN1_SEQUENCE, 0, NULL, sizeof(struct serial_view) },
	{ SEC_ASN1_OPTIONAL | SEC_ASN1_EXPLICIT | SEC_ASN1_CONSTRUCTED |
	  SEC_ASN1_CONTEXT_SPECIFIC | 0,
	  offsetof(struct serial_view, version), SEC_ASN1_SUB(SEC_IntegerTemplate), 0 },
	{ SEC_ASN1_SAVE, offsetof(struct serial_view, serial_der), NULL, 0 },
	{ SEC_ASN1_INTEGER, offsetof(struct serial_view, serial), NULL, 0 },
	{ SEC_ASN1_SKIP | SEC_ASN1_SEQUENCE, 0, NULL, 0 },   /* signature */
	{ SEC_ASN1_SKIP | SEC_ASN1_SEQUENCE, 0, NULL, 0 },   /* issuer */
	{ SEC_ASN1_SKIP | SEC_ASN1_SEQUENCE, 0, NULL, 0 },   /* validity */
	{ SEC_ASN1_SKIP | SEC_ASN1_SEQUENCE, 0, NULL, 0 },   /* subject */
	{ SEC_ASN1_SKIP | SEC_ASN1_SEQUENCE, 0, NULL, 0 },   /* subjectPublicKeyInfo */
	{ SEC_ASN1_SKIP_REST, 0, NULL, 0 },                  /* ids, extensions */
	{ 0, 0, NULL, 0 }
};

static const SEC_ASN1Template cert_view_template[] = {
	{ SEC_ASN1_SEQUENCE, 0, NULL, sizeof(struct serial_view) },
	{ SEC_ASN1_INLINE, 0, tbs_view_template, 0 },
	{ SEC_ASN1_SKIP | SEC_ASN1_SEQUENCE, 0, NULL, 0 },   /* signatureAlgorithm */
	{ SEC_ASN1_SKIP | SEC_ASN1_BIT_STRING, 0, NULL, 0 }, /* signatureValue */
	{ 0, 0, NULL, 0 }
};

/* Decodes der into view (pointing into arena or der); false if der is not
 * a certificate. */
static bool view_cert(PLArenaPool *arena, const unsigned char *der, size_t derlen,
		      struct serial_view *view)
{
	SECItem item = { siBuffer, (unsigned char *)der, (unsigned int)derlen };

	memset(view, 0, sizeof *view);
	return der && derlen > 0 && derlen <= UINT_MAX &&
	       SEC_QuickDERDecodeItem(arena, view, cert_view_template, &item) == SECSuccess &&
	       view->serial.len > 0;
}

char *cert_serial_string(const unsigned char *der, size_t derlen)
{
	PLArenaPool *arena = PORT_NewArena(1024);
	struct serial_view view;
	char *s = NULL;

	if (!arena)
		return NULL;
	if (view_cert(arena, der, derlen, &view))
		s = nss_colon_hex(view.serial.data, view.serial.len);
	PORT_FreeArena(arena, PR_FALSE);
	return s;
}

SECItem *nss_serial_der(const SECItem *der)
{
	PLArenaPool *arena = PORT_NewArena(1024);
	struct serial_view view;
	SECItem *copy = NULL;

	if (!arena)
		return NULL;
	if (view_cert(arena, der->data, der->len, &view))
		copy = SECITEM_DupItem(&view.serial_der);
	PORT_FreeArena(arena, PR_FALSE);
	return copy;
}

char *cert_sha1_fingerprint(const unsigned char *der, size_t derlen)
{
	unsigned char digest[20];
	char *s = NULL;

	if (!der || derlen > INT_MAX)
		return NULL;
	/* a context keeps NSS up when this is called before nss_start */
	nss_lock();
	NSSInitContext *ctx = NSS_InitContext("", "", "", "", NULL,
					      NSS_INIT_READONLY | NSS_INIT_NOCERTDB |
					      NSS_INIT_NOMODDB | NSS_INIT_FORCEOPEN |
					      NSS_INIT_NOROOTINIT);
	if (ctx) {
		if (PK11_HashBuf(SEC_OID_SHA1, digest, der, (PRInt32)derlen) == SECSuccess)
			s = nss_colon_hex(digest, sizeof digest);
		NSS_ShutdownContext(ctx);
	}
	nss_unlock();
	return s;
}

/* ---- generating the database ---- */

static void format_time(PRTime t, char *buf, size_t n)
{
	PRExplodedTime x;
	PR_ExplodeTime(t, PR_GMTParameters, &x);
	PR_FormatTime(buf, (int)n, "%Y-%m-%d %H:%M:%S UTC", &x);
}

/* OU=Systemtap, CN=Systemtap Compile Server, both PrintableString. */
static CERTName *stap_subject(void)
{
	CERTName *name = CERT_CreateName(NULL);
	if (!name)
		return NULL;
	static const struct { SECOidTag tag; const char *value; } avas[] = {
		{ SEC_OID_AVA_ORGANIZATIONAL_UNIT_NAME, "Systemtap" },
		{ SEC_OID_AVA_COMMON_NAME, "Systemtap Compile Server" },
	};
	for (size_t i = 0; i < sizeof avas / sizeof avas[0]; i++) {
		CERTAVA *ava = CERT_CreateAVA(name->arena, avas[i].tag, SEC_ASN1_PRINTABLE_STRING,
					      (char *)avas[i].value);
		CERTRDN *rdn = ava ? CERT_CreateRDN(name->arena, ava, NULL) : NULL;
		if (!rdn || CERT_AddRDN(name, rdn) != SECSuccess) {
			CERT_DestroyName(name);
			return NULL;
		}
	}
	return name;
}

/* The SAN list: nodename, <nodename up to the first dot>.local, extras. */
static int add_alt_names(void *exts, PLArenaPool *arena, char *const *extra, size_t nextra,
			 char *err, size_t errlen)
{
	struct utsname u;
	if (uname(&u) < 0) {
		nss_plain_fail(err, errlen, "uname: %s", strerror(errno));
		return -1;
	}
	size_t short_len = strcspn(u.nodename, ".");
	char *local = PORT_ArenaAlloc(arena, short_len + sizeof ".local");
	if (!local) {
		nss_fail(err, errlen, "out of memory");
		return -1;
	}
	memcpy(local, u.nodename, short_len);
	strcpy(local + short_len, ".local");

	size_t n = 2 + nextra;
	CERTGeneralName *names = PORT_ArenaZNewArray(arena, CERTGeneralName, n);
	char *nodename = PORT_ArenaStrdup(arena, u.nodename);
	if (!names || !nodename) {
		nss_fail(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *dns = i == 0 ? nodename : i == 1 ? local : extra[i - 2];
		names[i].type = certDNSName;
		names[i].name.other.type = siAsciiString;
		names[i].name.other.data = (unsigned char *)dns;
		names[i].name.other.len = (unsigned int)strlen(dns);
		/* a circular list, as NSS keeps general names */
		names[i].l.next = &names[(i + 1) % n].l;
		names[i].l.prev = &names[(i + n - 1) % n].l;
	}
	SECItem encoded = { siBuffer, NULL, 0 };
	if (CERT_EncodeAltNameExtension(arena, names, &encoded) != SECSuccess ||
	    CERT_AddExtension(exts, SEC_OID_X509_SUBJECT_ALT_NAME, &encoded, PR_FALSE, PR_TRUE)
	    != SECSuccess) {
		nss_fail(err, errlen, "cannot encode the subject alternative names");
		return -1;
	}
	return 0;
}

/* SAN, then Netscape cert type (critical), in that order in the DER as in
 * SystemTap's certificates; NSS puts each new extension in front. */
static int add_extensions(CERTCertificate *cert, char *const *extra, size_t nextra,
			  char *err, size_t errlen)
{
	void *exts = CERT_StartCertExtensions(cert);
	if (!exts) {
		nss_fail(err, errlen, "cannot start the certificate extensions");
		return -1;
	}
	unsigned char type = NS_CERT_TYPE_SSL_SERVER | NS_CERT_TYPE_OBJECT_SIGNING |
			     NS_CERT_TYPE_OBJECT_SIGNING_CA;
	SECItem bits = { siBuffer, &type, 1 };
	if (CERT_EncodeAndAddBitStrExtension(exts, SEC_OID_NS_CERT_EXT_CERT_TYPE, &bits, PR_TRUE)
	    != SECSuccess) {
		CERT_FinishExtensions(exts);
		nss_fail(err, errlen, "cannot encode the Netscape certificate type");
		return -1;
	}
	if (add_alt_names(exts, cert->arena, extra, nextra, err, errlen) < 0) {
		CERT_FinishExtensions(exts);
		return -1;
	}
	if (CERT_FinishExtensions(exts) != SECSuccess) {
		nss_fail(err, errlen, "cannot add the certificate extensions");
		return -1;
	}
	return 0;
}

/* The self-signed certificate for the key pair, DER in *der (PORT
 * allocated; SECITEM_FreeItem). */
static int make_certificate(SECKEYPublicKey *pub, SECKEYPrivateKey *priv,
			    char *const *extra, size_t nextra, SECItem *der,
			    char *err, size_t errlen)
{
	CERTName *subject = NULL;
	CERTSubjectPublicKeyInfo *spki = NULL;
	CERTCertificateRequest *req = NULL;
	CERTValidity *validity = NULL;
	CERTCertificate *cert = NULL;
	int rc = -1;

	PRTime now = PR_Now();
	PRExplodedTime until;
	PR_ExplodeTime(now, PR_GMTParameters, &until);
	until.tm_month += VALID_MONTHS;
	PR_NormalizeTime(&until, PR_GMTParameters);

	subject = stap_subject();
	spki = SECKEY_CreateSubjectPublicKeyInfo(pub);
	if (!subject || !spki) {
		nss_fail(err, errlen, "cannot build the certificate subject");
		goto out;
	}
	req = CERT_CreateCertificateRequest(subject, spki, NULL);
	validity = CERT_CreateValidity(now, PR_ImplodeTime(&until));
	if (!req || !validity) {
		nss_fail(err, errlen, "cannot build the certificate");
		goto out;
	}
	/* the serial is the time in units of 2^19 microseconds (SystemTap's) */
	cert = CERT_CreateCertificate((unsigned long)(now >> 19), subject, validity, req);
	if (!cert) {
		nss_fail(err, errlen, "cannot build the certificate");
		goto out;
	}
	if (!SEC_ASN1EncodeInteger(cert->arena, &cert->version, SEC_CERTIFICATE_VERSION_3) ||
	    SECOID_SetAlgorithmID(cert->arena, &cert->signature,
				  SEC_OID_PKCS1_SHA256_WITH_RSA_ENCRYPTION, NULL) != SECSuccess) {
		nss_fail(err, errlen, "cannot build the certificate");
		goto out;
	}
	if (add_extensions(cert, extra, nextra, err, errlen) < 0)
		goto out;

	SECItem tbs = { siBuffer, NULL, 0 };
	if (!SEC_ASN1EncodeItem(cert->arena, &tbs, cert, SEC_ASN1_GET(CERT_CertificateTemplate))) {
		nss_fail(err, errlen, "cannot encode the certificate");
		goto out;
	}
	SECItem signed_der = { siBuffer, NULL, 0 };
	if (SEC_DerSignData(cert->arena, &signed_der, tbs.data, (int)tbs.len, priv,
			    SEC_OID_PKCS1_SHA256_WITH_RSA_ENCRYPTION) != SECSuccess) {
		nss_fail(err, errlen, "cannot sign the certificate");
		goto out;
	}
	if (SECITEM_CopyItem(NULL, der, &signed_der) != SECSuccess) {
		nss_fail(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (cert)
		CERT_DestroyCertificate(cert);
	if (validity)
		CERT_DestroyValidity(validity);
	if (req)
		CERT_DestroyCertificateRequest(req);
	if (spki)
		SECKEY_DestroySubjectPublicKeyInfo(spki);
	if (subject)
		CERT_DestroyName(subject);
	return rc;
}

/* Every file a database of any NSS era keeps, and ours. */
static const char *const db_files[] = {
	"cert9.db", "key4.db", "pkcs11.txt", "cert8.db", "key3.db", "secmod.db", "pw", "stap.cert",
};

static int remove_old_db(const char *dir, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof db_files / sizeof db_files[0]; i++) {
		char *path = xasprintf("%s/%s", dir, db_files[i]);
		int e = unlink(path) < 0 ? errno : 0;
		free(path);
		if (e && e != ENOENT) {
			nss_plain_fail(err, errlen, "cannot remove the old database file %s/%s: %s",
				       dir, db_files[i], strerror(e));
			return -1;
		}
	}
	return 0;
}

static void make_db_private(const char *dir)
{
	for (size_t i = 0; i < sizeof db_files / sizeof db_files[0]; i++) {
		char *path = xasprintf("%s/%s", dir, db_files[i]);
		chmod(path, 0600);
		free(path);
	}
}

static int write_file(const char *path, const unsigned char *data, size_t len, mode_t mode,
		      char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		nss_plain_fail(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	if (write_all(fd, data, len) != 0) {
		nss_plain_fail(err, errlen, "cannot write %s: %s", path,
			       errno == EIO ? "short write" : strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) < 0) {
		nss_plain_fail(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Key pair, certificate, import with trust, stap.cert: in an open store. */
static int fill_db(PK11SlotInfo *slot, const char *dir, char *const *extra, size_t nextra,
		   char *err, size_t errlen)
{
	PK11RSAGenParams params = { SERVER_KEY_BITS, SERVER_KEY_EXPONENT };
	SECKEYPublicKey *pub = NULL;
	SECKEYPrivateKey *priv = NULL;
	SECItem der = { siBuffer, NULL, 0 };
	int rc = -1;

	if (nss_init_new_db(slot, dir, err, errlen) < 0)
		return -1;
	if (PK11_Authenticate(slot, PR_TRUE, NULL) != SECSuccess) {
		nss_fail(err, errlen, "cannot log in to the database %s", dir);
		return -1;
	}
	priv = PK11_GenerateKeyPair(slot, CKM_RSA_PKCS_KEY_PAIR_GEN, &params, &pub,
				    PR_TRUE, PR_TRUE, NULL);
	if (!priv) {
		nss_fail(err, errlen, "cannot generate an RSA key pair");
		goto out;
	}
	if (make_certificate(pub, priv, extra, nextra, &der, err, errlen) < 0)
		goto out;
	if (nss_import_trusted(slot, &der, "PCu,,PCu", err, errlen) < 0)
		goto out;
	char *path = xasprintf("%s/stap.cert", dir);
	rc = write_file(path, der.data, der.len, 0600, err, errlen);
	free(path);
out:
	SECITEM_FreeItem(&der, PR_FALSE);
	if (pub)
		SECKEY_DestroyPublicKey(pub);
	if (priv)
		SECKEY_DestroyPrivateKey(priv);
	return rc;
}

int cert_db_generate(const char *dir, char *const *extra_names, size_t nextra,
		     char *err, size_t errlen)
{
	struct nss_store st;
	int rc = -1;

	for (size_t i = 0; i < nextra; i++) {
		if (!extra_names[i] || !*extra_names[i]) {
			nss_plain_fail(err, errlen, "empty extra DNS name");
			return -1;
		}
	}
	if (nss_make_dirs(dir, 0700, err, errlen) < 0)
		return -1;
	nss_lock();
	char real[PATH_MAX];
	if (nss_main_dir() && realpath(dir, real) && strcmp(real, nss_main_dir()) == 0) {
		nss_plain_fail(err, errlen, "%s is the database NSS was started with "
			       "(stop NSS before replacing it)", dir);
		goto out;
	}
	if (remove_old_db(dir, err, errlen) < 0)
		goto out;
	if (nss_store_open(&st, dir, true, err, errlen) < 0)
		goto out;
	rc = fill_db(st.slot, dir, extra_names, nextra, err, errlen);
	nss_store_close(&st);
	make_db_private(dir);
out:
	nss_unlock();
	return rc;
}

/* ---- checking it ---- */

/* The stap-server certificate of slot that has its private key there:
 * valid now if one is, else the newest.  A reference, or NULL. */
static CERTCertificate *pick_identity(PK11SlotInfo *slot, bool *valid_now, int *ncerts,
				      char *err, size_t errlen)
{
	CERTCertificate *best = NULL;
	bool best_valid = false;
	PRTime best_from = 0;

	*ncerts = 0;
	CERTCertList *certs = nss_stap_certs_in_slot(slot, err, errlen);
	if (!certs)
		return NULL;
	for (CERTCertListNode *n = CERT_LIST_HEAD(certs); !CERT_LIST_END(n, certs);
	     n = CERT_LIST_NEXT(n)) {
		(*ncerts)++;
		SECKEYPrivateKey *key = PK11_FindPrivateKeyFromCert(slot, n->cert, NULL);
		if (!key)
			continue;
		SECKEY_DestroyPrivateKey(key);
		PRTime from = 0, until = 0;
		CERT_GetCertTimes(n->cert, &from, &until);
		bool valid = CERT_CheckCertValidTimes(n->cert, PR_Now(), PR_FALSE) ==
			     secCertTimeValid;
		if (!best || (valid && !best_valid) || (valid == best_valid && from > best_from)) {
			if (best)
				CERT_DestroyCertificate(best);
			best = CERT_DupCertificate(n->cert);
			best_valid = valid;
			best_from = from;
		}
	}
	CERT_DestroyCertList(certs);
	*valid_now = best_valid;
	return best;
}

static enum cert_db_state check_open_db(PK11SlotInfo *slot, const char *dir,
					char *msg, size_t msglen)
{
	char err[256] = "";
	bool valid_time = false;
	int ncerts = 0;

	CERTCertificate *cert = pick_identity(slot, &valid_time, &ncerts, err, sizeof err);
	if (!cert) {
		if (err[0]) {
			nss_plain_fail(msg, msglen, "%s", err);
			return CERT_DB_ERROR;
		}
		if (ncerts > 0) {
			nss_plain_fail(msg, msglen, "The certificate in database %s has no private key",
				       dir);
			return CERT_DB_ERROR;
		}
		nss_plain_fail(msg, msglen, "No certificate found in database %s", dir);
		return CERT_DB_NO_CERT;
	}
	PRTime from = 0, until = 0;
	char from_s[64], until_s[64];
	CERT_GetCertTimes(cert, &from, &until);
	format_time(from, from_s, sizeof from_s);
	format_time(until, until_s, sizeof until_s);

	enum cert_db_state state = CERT_DB_EXPIRED;
	CERTCertDBHandle *db = CERT_GetDefaultCertDB();
	if (!valid_time) {
		nss_plain_fail(msg, msglen, "Certificate in database %s is not valid now "
			       "(valid from %s until %s)", dir, from_s, until_s);
	} else if (CERT_VerifyCertNow(db, cert, PR_TRUE, certUsageSSLServer, NULL) != SECSuccess ||
		   CERT_VerifyCertNow(db, cert, PR_TRUE, certUsageObjectSigner, NULL) != SECSuccess) {
		nss_fail(msg, msglen, "Certificate in database %s is not valid for an SSL server "
			 "and object signing", dir);
	} else {
		nss_plain_fail(msg, msglen, "Certificate found in database %s, valid from %s until %s",
			       dir, from_s, until_s);
		state = CERT_DB_VALID;
	}
	CERT_DestroyCertificate(cert);
	return state;
}

enum cert_db_state cert_db_check(const char *dir, char *msg, size_t msglen)
{
	struct nss_store st;
	struct stat sb;
	char err[256];

	if (stat(dir, &sb) < 0 || !nss_db_present(dir)) {
		nss_plain_fail(msg, msglen, "Certificate database %s does not exist", dir);
		return CERT_DB_MISSING;
	}
	char *pw = xasprintf("%s/pw", dir);
	bool obsolete = access(pw, F_OK) == 0;
	free(pw);
	if (obsolete) {
		/* SystemTap's old password-protected databases */
		nss_plain_fail(msg, msglen, "Certificate database %s is obsolete", dir);
		return CERT_DB_MISSING;
	}
	nss_lock();
	if (nss_store_open(&st, dir, false, err, sizeof err) < 0) {
		nss_unlock();
		nss_plain_fail(msg, msglen, "%s", err);
		return CERT_DB_ERROR;
	}
	enum cert_db_state state = check_open_db(st.slot, dir, msg, msglen);
	nss_store_close(&st);
	nss_unlock();
	return state;
}

/* ---- the server's identity ---- */

int server_identity_load(struct server_identity *id, char *err, size_t errlen)
{
	int rc = -1;
	bool valid = false;
	int ncerts = 0;

	memset(id, 0, sizeof *id);
	nss_lock();
	if (!nss_main_dir()) {
		nss_plain_fail(err, errlen, "NSS was not started with a certificate database");
		goto out;
	}
	PK11SlotInfo *slot = PK11_GetInternalKeySlot();
	if (!slot) {
		nss_fail(err, errlen, "no database slot");
		goto out;
	}
	if (PK11_NeedLogin(slot) && !PK11_IsLoggedIn(slot, NULL) &&
	    PK11_Authenticate(slot, PR_TRUE, NULL) != SECSuccess) {
		nss_fail(err, errlen, "the database %s is password protected (not supported)",
			 nss_main_dir());
		PK11_FreeSlot(slot);
		goto out;
	}
	char why[256] = "";
	CERTCertificate *cert = pick_identity(slot, &valid, &ncerts, why, sizeof why);
	if (!cert) {
		if (why[0])
			nss_plain_fail(err, errlen, "%s", why);
		else
			nss_plain_fail(err, errlen, "no %s certificate with its private key in %s",
				       STAP_CERT_NICKNAME, nss_main_dir());
		PK11_FreeSlot(slot);
		goto out;
	}
	SECKEYPrivateKey *key = PK11_FindPrivateKeyFromCert(slot, cert, NULL);
	PK11_FreeSlot(slot);
	if (!key) {
		nss_fail(err, errlen, "cannot find the private key of the server certificate");
		CERT_DestroyCertificate(cert);
		goto out;
	}
	id->cert = cert;
	id->key = key;
	id->derlen = cert->derCert.len;
	id->der = xmalloc(id->derlen ? id->derlen : 1);
	memcpy(id->der, cert->derCert.data, id->derlen);
	id->certinfo = cert_serial_string(id->der, id->derlen);
	if (!id->certinfo)
		id->certinfo = xstrdup("");
	rc = 0;
out:
	nss_unlock();
	return rc;
}

void server_identity_free(struct server_identity *id)
{
	if (id->cert)
		CERT_DestroyCertificate(id->cert);
	if (id->key)
		SECKEY_DestroyPrivateKey(id->key);
	free(id->der);
	free(id->certinfo);
	memset(id, 0, sizeof *id);
}
