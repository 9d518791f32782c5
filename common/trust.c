/* Trust stores: the NSS databases that say which compile servers a
 * client talks to (~/.systemtap/ssl/client, /etc/systemtap/ssl/client)
 * and which signers staprun accepts (/etc/systemtap/staprun).
 *
 * SystemTap's layout: every trusted certificate sits under the one
 * nickname "stap-server" with trust "P,P,P" (all certificates of stap
 * servers share one subject, so NSS allows that).  Each call opens the
 * store by itself (nss_store_open) and closes it before returning. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cert.h>
#include <certdb.h>
#include <pk11pub.h>
#include <pkcs11t.h>
#include <pkcs11n.h>
#include <secerr.h>

#include "nss_int.h"
#include "util.h"

/* ---- trust objects of one slot ----
 *
 * NSS's own CERT_ChangeCertTrust writes to whichever open database holds
 * the certificate and already has trust for it: with nss_start's database
 * open read-write, trusting the server's own certificate in a client store
 * would rewrite the server database instead.  So the trust object is
 * written here, in the store's slot only, as NSS itself stores it
 * (CKO_NSS_TRUST named by issuer and serial, with the certificate's SHA-1
 * and MD5), and read back the same way. */

/* The trust level NSS stores for one column of a certutil trust string
 * (the mapping NSS applies when it writes trust). */
static CK_TRUST ck_trust(unsigned int flags, bool client_auth)
{
	unsigned int delegator = client_auth ? CERTDB_TRUSTED_CLIENT_CA
					     : CERTDB_TRUSTED_CA | CERTDB_NS_TRUSTED_CA;
	if (flags & delegator)
		return CKT_NSS_TRUSTED_DELEGATOR;
	if (flags & CERTDB_TRUSTED)
		return CKT_NSS_TRUSTED;
	if (flags & CERTDB_TERMINAL_RECORD)
		return CKT_NSS_NOT_TRUSTED;
	if (flags & CERTDB_VALID_CA)
		return CKT_NSS_VALID_DELEGATOR;
	return CKT_NSS_MUST_VERIFY_TRUST;
}

/* The slot's trust object for (issuer, serial), or NULL; the caller
 * frees it with PK11_DestroyGenericObject (the token object stays). */
static PK11GenericObject *find_trust(PK11SlotInfo *slot, const SECItem *issuer,
				     const SECItem *serial)
{
	PK11GenericObject *objs = PK11_FindGenericObjects(slot, CKO_NSS_TRUST), *found = NULL;

	for (PK11GenericObject *o = objs; o && !found; o = PK11_GetNextGenericObject(o)) {
		SECItem is = { siBuffer, NULL, 0 }, sn = { siBuffer, NULL, 0 };
		if (PK11_ReadRawAttribute(PK11_TypeGeneric, o, CKA_ISSUER, &is) == SECSuccess &&
		    PK11_ReadRawAttribute(PK11_TypeGeneric, o, CKA_SERIAL_NUMBER, &sn) == SECSuccess &&
		    SECITEM_CompareItem(&is, issuer) == SECEqual &&
		    SECITEM_CompareItem(&sn, serial) == SECEqual)
			found = o;
		SECITEM_FreeItem(&is, PR_FALSE);
		SECITEM_FreeItem(&sn, PR_FALSE);
	}
	if (found) {
		PK11GenericObject *rest = found == objs ? PK11_GetNextGenericObject(found) : objs;
		PK11_UnlinkGenericObject(found);
		objs = rest;
	}
	if (objs)
		PK11_DestroyGenericObjects(objs);
	return found;
}

static int set_slot_trust(PK11SlotInfo *slot, CERTCertificate *cert, const CERTCertTrust *t,
			  char *err, size_t errlen)
{
	CK_TRUST sa = ck_trust(t->sslFlags, false), ca = ck_trust(t->sslFlags, true);
	CK_TRUST cs = ck_trust(t->objectSigningFlags, false), ep = ck_trust(t->emailFlags, false);
	CK_BBOOL step_up = (t->sslFlags & CERTDB_GOVT_APPROVED_CA) ? CK_TRUE : CK_FALSE;
	SECItem *serial = nss_serial_der(&cert->derCert);
	int rc = -1;

	if (!serial) {
		nss_plain_fail(err, errlen, "not a certificate");
		return -1;
	}
	PK11GenericObject *obj = find_trust(slot, &cert->derIssuer, serial);
	if (obj) {
		const struct { CK_ATTRIBUTE_TYPE type; void *value; size_t size; } set[] = {
			{ CKA_TRUST_SERVER_AUTH, &sa, sizeof sa },
			{ CKA_TRUST_CLIENT_AUTH, &ca, sizeof ca },
			{ CKA_TRUST_CODE_SIGNING, &cs, sizeof cs },
			{ CKA_TRUST_EMAIL_PROTECTION, &ep, sizeof ep },
			{ CKA_TRUST_STEP_UP_APPROVED, &step_up, sizeof step_up },
		};
		rc = 0;
		for (size_t i = 0; i < sizeof set / sizeof set[0] && rc == 0; i++) {
			SECItem v = { siBuffer, set[i].value, (unsigned int)set[i].size };
			if (PK11_WriteRawAttribute(PK11_TypeGeneric, obj, set[i].type, &v) != SECSuccess)
				rc = -1;
		}
		PK11_DestroyGenericObject(obj);
	} else {
		unsigned char sha1[20], md5[16];
		CK_OBJECT_CLASS cls = CKO_NSS_TRUST;
		CK_BBOOL on_token = CK_TRUE;
		CK_ATTRIBUTE tmpl[] = {
			{ CKA_TOKEN, &on_token, sizeof on_token },
			{ CKA_CLASS, &cls, sizeof cls },
			{ CKA_CERT_SHA1_HASH, sha1, sizeof sha1 },
			{ CKA_CERT_MD5_HASH, md5, sizeof md5 },
			{ CKA_ISSUER, cert->derIssuer.data, cert->derIssuer.len },
			{ CKA_SERIAL_NUMBER, serial->data, serial->len },
			{ CKA_TRUST_SERVER_AUTH, &sa, sizeof sa },
			{ CKA_TRUST_CLIENT_AUTH, &ca, sizeof ca },
			{ CKA_TRUST_CODE_SIGNING, &cs, sizeof cs },
			{ CKA_TRUST_EMAIL_PROTECTION, &ep, sizeof ep },
			{ CKA_TRUST_STEP_UP_APPROVED, &step_up, sizeof step_up },
		};
		if (PK11_HashBuf(SEC_OID_SHA1, sha1, cert->derCert.data, (PRInt32)cert->derCert.len)
		    == SECSuccess &&
		    PK11_HashBuf(SEC_OID_MD5, md5, cert->derCert.data, (PRInt32)cert->derCert.len)
		    == SECSuccess) {
			obj = PK11_CreateGenericObject(slot, tmpl, sizeof tmpl / sizeof tmpl[0], PR_TRUE);
			if (obj) {
				PK11_DestroyGenericObject(obj);   /* the struct; the object stays */
				rc = 0;
			}
		}
	}
	if (rc < 0)
		nss_fail(err, errlen, "cannot set the trust of the certificate");
	SECITEM_FreeItem(serial, PR_TRUE);
	return rc;
}

/* 1 if the slot's trust for cert admits it as a TLS peer (P or C in the
 * first column), 0 if not, -1 if the slot has no trust object for it. */
static int slot_trusts(PK11SlotInfo *slot, CERTCertificate *cert)
{
	SECItem *serial = nss_serial_der(&cert->derCert);
	if (!serial)
		return 0;
	PK11GenericObject *obj = find_trust(slot, &cert->derIssuer, serial);
	SECITEM_FreeItem(serial, PR_TRUE);
	if (!obj)
		return -1;
	SECItem v = { siBuffer, NULL, 0 };
	int trusted = 0;
	if (PK11_ReadRawAttribute(PK11_TypeGeneric, obj, CKA_TRUST_SERVER_AUTH, &v) == SECSuccess &&
	    v.len == sizeof(CK_TRUST)) {
		CK_TRUST level;
		memcpy(&level, v.data, sizeof level);
		trusted = level == CKT_NSS_TRUSTED || level == CKT_NSS_TRUSTED_DELEGATOR;
	}
	SECITEM_FreeItem(&v, PR_FALSE);
	PK11_DestroyGenericObject(obj);
	return trusted;
}

int nss_import_trusted(PK11SlotInfo *slot, const SECItem *der, const char *trust_string,
		       char *err, size_t errlen)
{
	CERTCertTrust trust;
	int rc = -1;

	if (CERT_DecodeTrustString(&trust, trust_string) != SECSuccess) {
		nss_plain_fail(err, errlen, "bad trust string %s", trust_string);
		return -1;
	}
	CERTCertificate *cert = CERT_NewTempCertificate(CERT_GetDefaultCertDB(), (SECItem *)der,
							NULL, PR_FALSE, PR_TRUE);
	if (!cert) {
		nss_fail(err, errlen, "not a certificate");
		return -1;
	}
	/* a certificate already in the slot keeps its object */
	if (PK11_ImportCert(slot, cert, CK_INVALID_HANDLE, STAP_CERT_NICKNAME, PR_FALSE)
	    != SECSuccess) {
		nss_fail(err, errlen, "cannot add the certificate");
		goto out;
	}
	rc = set_slot_trust(slot, cert, &trust, err, errlen);
out:
	CERT_DestroyCertificate(cert);
	return rc;
}

/* Trust stores are read by every user (staprun's by root only, but it
 * checks its owner, not the mode): the databases are 0644, pkcs11.txt is
 * left as NSS made it. */
static void make_store_readable(const char *dir)
{
	static const char *const names[] = { "cert9.db", "key4.db" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		chmod(path, 0644);
		free(path);
	}
}

int trust_add_cert(const char *store_dir, const unsigned char *der, size_t derlen,
		   char *err, size_t errlen)
{
	struct nss_store st;
	SECItem item = { siBuffer, (unsigned char *)der, (unsigned int)derlen };
	char *serial = cert_serial_string(der, derlen);

	if (!serial) {
		nss_plain_fail(err, errlen, "not a certificate (DER expected)");
		return -1;
	}
	free(serial);
	if (nss_make_dirs(store_dir, 0755, err, errlen) < 0)
		return -1;
	nss_lock();
	int rc = nss_store_open(&st, store_dir, true, err, errlen);
	if (rc == 0) {
		rc = nss_init_new_db(st.slot, store_dir, err, errlen);
		if (rc == 0)
			rc = nss_import_trusted(st.slot, &item, "P,P,P", err, errlen);
		nss_store_close(&st);
	}
	nss_unlock();
	if (rc == 0)
		make_store_readable(store_dir);
	return rc;
}

/* Runs fn on every stap-server certificate of the store; fn returns <0
 * to stop with an error.  0 when the store does not exist. */
typedef int (*cert_visitor)(PK11SlotInfo *slot, CERTCertificate *cert, void *arg,
			    char *err, size_t errlen);

static int for_each_stap_cert(const char *store_dir, bool readwrite, cert_visitor fn,
			      void *arg, char *err, size_t errlen)
{
	struct nss_store st;
	int rc = 0;

	if (!nss_db_present(store_dir))
		return 0;
	nss_lock();
	if (nss_store_open(&st, store_dir, readwrite, err, errlen) < 0) {
		nss_unlock();
		return -1;
	}
	CERTCertList *certs = nss_stap_certs_in_slot(st.slot, err, errlen);
	if (!certs) {
		rc = -1;
	} else {
		for (CERTCertListNode *n = CERT_LIST_HEAD(certs); !CERT_LIST_END(n, certs);
		     n = CERT_LIST_NEXT(n)) {
			rc = fn(st.slot, n->cert, arg, err, errlen);
			if (rc < 0)
				break;
		}
		CERT_DestroyCertList(certs);
	}
	nss_store_close(&st);
	nss_unlock();
	return rc;
}

/* ---- trust_has_cert ---- */

struct has_arg {
	SECItem der;
	int found;
};

static int visit_has(PK11SlotInfo *slot, CERTCertificate *cert, void *arg,
		     char *err, size_t errlen)
{
	struct has_arg *h = arg;
	CERTCertTrust trust;

	if (SECITEM_CompareItem(&cert->derCert, &h->der) != SECEqual)
		return 0;
	int t = slot_trusts(slot, cert);
	/* no NSS trust object: a store written in another form (newer NSS
	 * writes PKCS#11 3.2 trust); ask NSS */
	if (t < 0)
		t = CERT_GetCertTrust(cert, &trust) == SECSuccess &&
		    (trust.sslFlags & (CERTDB_TRUSTED | CERTDB_TRUSTED_CA));
	if (t > 0)
		h->found = 1;
	return 0;
}

int trust_has_cert(const char *store_dir, const unsigned char *der, size_t derlen)
{
	struct has_arg h = { { siBuffer, (unsigned char *)der, (unsigned int)derlen }, 0 };
	char err[256];

	if (for_each_stap_cert(store_dir, false, visit_has, &h, err, sizeof err) < 0)
		return -1;
	return h.found;
}

/* ---- trust_list ---- */

struct list_arg {
	struct ptrvec ders;     /* unsigned char * */
	size_t *lens;
};

static int visit_list(PK11SlotInfo *slot, CERTCertificate *cert, void *arg,
		      char *err, size_t errlen)
{
	struct list_arg *l = arg;
	unsigned char *copy = xmalloc(cert->derCert.len ? cert->derCert.len : 1);

	memcpy(copy, cert->derCert.data, cert->derCert.len);
	l->lens = xrealloc(l->lens, (l->ders.n + 1) * sizeof *l->lens);
	l->lens[l->ders.n] = cert->derCert.len;
	pv_push(&l->ders, copy);
	return 0;
}

int trust_list(const char *store_dir, unsigned char ***ders, size_t **lens, size_t *n,
	       char *err, size_t errlen)
{
	struct list_arg l = { { NULL, 0, 0 }, NULL };

	*ders = NULL;
	*lens = NULL;
	*n = 0;
	if (for_each_stap_cert(store_dir, false, visit_list, &l, err, errlen) < 0) {
		for (size_t i = 0; i < l.ders.n; i++)
			free(l.ders.v[i]);
		pv_free(&l.ders);
		free(l.lens);
		return -1;
	}
	*ders = (unsigned char **)l.ders.v;
	*lens = l.lens;
	*n = l.ders.n;
	return 0;
}

/* ---- trust_remove_serial ---- */

/* Deletes the certificate's trust object in slot (and only there: the
 * same certificate may be in nss_start's database, which must keep it). */
static void delete_trust_in_slot(PK11SlotInfo *slot, CERTCertificate *cert)
{
	SECItem *serial = nss_serial_der(&cert->derCert);
	if (!serial)
		return;
	PK11GenericObject *obj = find_trust(slot, &cert->derIssuer, serial);
	SECITEM_FreeItem(serial, PR_TRUE);
	if (!obj)
		return;
	CK_OBJECT_HANDLE h = PK11_GetObjectHandle(PK11_TypeGeneric, obj, NULL);
	if (h != CK_INVALID_HANDLE)
		PK11_DestroyTokenObject(slot, h);
	PK11_DestroyGenericObject(obj);
}

struct remove_arg {
	const char *certinfo;
	int removed;
};

static int visit_remove(PK11SlotInfo *slot, CERTCertificate *cert, void *arg,
			char *err, size_t errlen)
{
	struct remove_arg *r = arg;
	char *serial = cert_serial_string(cert->derCert.data, cert->derCert.len);
	bool match = serial && strcasecmp(serial, r->certinfo) == 0;

	free(serial);
	if (!match)
		return 0;
	CK_OBJECT_HANDLE h = PK11_FindCertInSlot(slot, cert, NULL);
	if (h == CK_INVALID_HANDLE)
		return 0;
	delete_trust_in_slot(slot, cert);
	if (PK11_DestroyTokenObject(slot, h) != SECSuccess) {
		nss_fail(err, errlen, "cannot remove certificate %s", r->certinfo);
		return -1;
	}
	r->removed++;
	return 0;
}

int trust_remove_serial(const char *store_dir, const char *certinfo, int *removed,
			char *err, size_t errlen)
{
	struct remove_arg r = { certinfo, 0 };

	*removed = 0;
	if (!certinfo || !*certinfo) {
		nss_plain_fail(err, errlen, "no certificate serial given");
		return -1;
	}
	int rc = for_each_stap_cert(store_dir, true, visit_remove, &r, err, errlen);

	*removed = r.removed;
	return rc;
}
