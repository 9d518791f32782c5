/* Module signatures (<module>.ko.sgn): the raw PKCS#1 v1.5 RSA block over
 * the whole module, as SystemTap's servers write and staprun reads.
 *
 * Verifying tells a wrong key from a changed module: each certificate's
 * public key "recovers" the signed DigestInfo; a key that recovers a
 * well-padded block made the signature, and then the block either equals
 * the DigestInfo of these module bytes (trusted) or not (altered).  The
 * comparison is on the whole encoded DigestInfo, so nothing but the exact
 * standard encoding of SHA-256 or SHA-1 passes. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cert.h>
#include <cryptohi.h>
#include <hasht.h>
#include <keyhi.h>
#include <pk11pub.h>
#include <secasn1.h>
#include <secdig.h>
#include <secerr.h>
#include <secoid.h>

#include "nss_int.h"
#include "util.h"

enum { CHUNK = 1 << 20 };   /* bytes handed to NSS per update */

int module_sign(const struct server_identity *id, const void *mod, size_t len,
		bool sha1, unsigned char **sig, size_t *siglen,
		char *err, size_t errlen)
{
	SECItem out = { siBuffer, NULL, 0 };
	const unsigned char *p = mod;
	int rc = -1;

	*sig = NULL;
	*siglen = 0;
	if (!id || !id->key) {
		nss_plain_fail(err, errlen, "no signing key loaded");
		return -1;
	}
	SECOidTag alg = sha1 ? SEC_OID_PKCS1_SHA1_WITH_RSA_ENCRYPTION
			     : SEC_OID_PKCS1_SHA256_WITH_RSA_ENCRYPTION;
	SGNContext *ctx = SGN_NewContext(alg, id->key);
	if (!ctx || SGN_Begin(ctx) != SECSuccess) {
		nss_fail(err, errlen, "cannot start a %s signature", sha1 ? "SHA-1" : "SHA-256");
		goto out;
	}
	for (size_t done = 0; done < len; ) {
		size_t n = len - done < CHUNK ? len - done : CHUNK;
		if (SGN_Update(ctx, p + done, (unsigned int)n) != SECSuccess) {
			nss_fail(err, errlen, "cannot sign the module");
			goto out;
		}
		done += n;
	}
	if (SGN_End(ctx, &out) != SECSuccess) {
		nss_fail(err, errlen, "cannot sign the module");
		goto out;
	}
	*sig = xmalloc(out.len ? out.len : 1);
	memcpy(*sig, out.data, out.len);
	*siglen = out.len;
	rc = 0;
out:
	if (ctx)
		SGN_DestroyContext(ctx, PR_TRUE);
	SECITEM_FreeItem(&out, PR_FALSE);
	return rc;
}

/* The DER DigestInfo a signature of mod with hash would carry; PORT
 * allocated (SECITEM_FreeItem), data NULL on failure. */
static SECItem digest_info(SECOidTag hash, const unsigned char *mod, size_t len)
{
	SECItem enc = { siBuffer, NULL, 0 };
	unsigned char digest[HASH_LENGTH_MAX];
	unsigned int dlen = 0;

	PK11Context *ctx = PK11_CreateDigestContext(hash);
	if (!ctx)
		return enc;
	SECStatus s = PK11_DigestBegin(ctx);
	for (size_t done = 0; s == SECSuccess && done < len; ) {
		size_t n = len - done < CHUNK ? len - done : CHUNK;
		s = PK11_DigestOp(ctx, mod + done, (unsigned int)n);
		done += n;
	}
	if (s == SECSuccess)
		s = PK11_DigestFinal(ctx, digest, &dlen, sizeof digest);
	PK11_DestroyContext(ctx, PR_TRUE);
	if (s != SECSuccess)
		return enc;
	SGNDigestInfo *di = SGN_CreateDigestInfo(hash, digest, dlen);
	if (!di)
		return enc;
	if (!SEC_ASN1EncodeItem(NULL, &enc, di, SEC_ASN1_GET(sgn_DigestInfoTemplate))) {
		SECITEM_FreeItem(&enc, PR_FALSE);
		enc.data = NULL;
		enc.len = 0;
	}
	SGN_DestroyDigestInfo(di);
	return enc;
}

/* What the public key of cert makes of sig: -1 not its signature, 0 its
 * signature of something else, 1 of SHA-256 digest, 2 of SHA-1. */
static int match_cert(CERTCertificate *cert, const SECItem *sig,
		      const SECItem *di256, const SECItem *di1)
{
	SECKEYPublicKey *pub = CERT_ExtractPublicKey(cert);
	int result = -1;

	if (!pub)
		return -1;
	if (SECKEY_GetPublicKeyType(pub) == rsaKey) {
		unsigned int size = SECKEY_PublicKeyStrength(pub);
		SECItem rec = { siBuffer, xmalloc(size ? size : 1), size };
		if (size == sig->len && PK11_VerifyRecover(pub, sig, &rec, NULL) == SECSuccess) {
			if (di256->data && SECITEM_CompareItem(&rec, di256) == SECEqual)
				result = 1;
			else if (di1->data && SECITEM_CompareItem(&rec, di1) == SECEqual)
				result = 2;
			else
				result = 0;
		}
		free(rec.data);
	}
	SECKEY_DestroyPublicKey(pub);
	return result;
}

static enum sgn_result verify_in_slot(PK11SlotInfo *slot, const char *store_dir,
				      const unsigned char *mod, size_t len, const SECItem *sig,
				      char *msg, size_t msglen)
{
	SECItem di256 = digest_info(SEC_OID_SHA256, mod, len);
	SECItem di1 = digest_info(SEC_OID_SHA1, mod, len);
	enum sgn_result result = SGN_UNTRUSTED;
	char *who = NULL;

	if (!di256.data || !di1.data) {
		nss_fail(msg, msglen, "cannot hash the module");
		result = SGN_ERROR;
		goto out;
	}
	CERTCertList *certs = PK11_ListCertsInSlot(slot);
	if (!certs) {
		nss_fail(msg, msglen, "cannot list the certificates of %s", store_dir);
		result = SGN_ERROR;
		goto out;
	}
	int how = -1;
	for (CERTCertListNode *n = CERT_LIST_HEAD(certs); !CERT_LIST_END(n, certs);
	     n = CERT_LIST_NEXT(n)) {
		int m = match_cert(n->cert, sig, &di256, &di1);
		if (m < 0 || (m == 0 && result == SGN_ALTERED))
			continue;
		free(who);
		who = cert_serial_string(n->cert->derCert.data, n->cert->derCert.len);
		how = m;
		result = m > 0 ? SGN_TRUSTED : SGN_ALTERED;
		if (m > 0)
			break;
	}
	CERT_DestroyCertList(certs);
	if (result == SGN_TRUSTED)
		nss_plain_fail(msg, msglen, "signed by certificate %s of %s (%s)",
			       who ? who : "?", store_dir, how == 1 ? "SHA-256" : "SHA-1");
	else if (result == SGN_ALTERED)
		nss_plain_fail(msg, msglen, "the module was changed after certificate %s of %s "
			       "signed it", who ? who : "?", store_dir);
	else
		nss_plain_fail(msg, msglen, "no certificate in %s made this signature", store_dir);
out:
	free(who);
	SECITEM_FreeItem(&di256, PR_FALSE);
	SECITEM_FreeItem(&di1, PR_FALSE);
	return result;
}

enum sgn_result module_verify(const char *store_dir, const void *mod, size_t len,
			      const void *sig, size_t siglen, char *msg, size_t msglen)
{
	struct nss_store st;
	char err[256];

	if (!nss_db_present(store_dir)) {
		nss_plain_fail(msg, msglen, "no certificate database in %s", store_dir);
		return SGN_UNTRUSTED;
	}
	if (!sig || siglen == 0 || siglen > UINT_MAX) {
		nss_plain_fail(msg, msglen, "empty or oversized signature");
		return SGN_UNTRUSTED;
	}
	nss_lock();
	if (nss_store_open(&st, store_dir, false, err, sizeof err) < 0) {
		nss_unlock();
		nss_plain_fail(msg, msglen, "%s", err);
		return SGN_ERROR;
	}
	SECItem sigitem = { siBuffer, (unsigned char *)sig, (unsigned int)siglen };
	enum sgn_result r = verify_in_slot(st.slot, store_dir, mod, len, &sigitem, msg, msglen);
	nss_store_close(&st);
	nss_unlock();
	return r;
}
