/* Private to the NSS part of libstapcommon (nss.c, certdb.c, sign.c,
 * trust.c, tls.c): the process lock, databases opened for one operation,
 * error formatting.  Users include nss.h only. */
#ifndef STAP_COMMON_NSS_INT_H
#define STAP_COMMON_NSS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cert.h>
#include <nss/nss.h>   /* NSS's own; "nss.h" is ours */
#include <pk11pub.h>

#include "nss.h"

/* One lock for everything that opens or closes databases or starts and
 * stops NSS, so that a store opened by one thread never overlaps
 * nss_start/nss_stop or another store's open/close in another. */
void nss_lock(void);
void nss_unlock(void);

/* A database directory opened as its own PKCS#11 slot for the length of
 * one operation.  The context keeps NSS up even when nothing else started
 * it; the slot is closed again unless it is nss_start's main database. */
struct nss_store {
	NSSInitContext *ctx;   /* no-database context held while open */
	PK11SlotInfo *slot;    /* the database's token */
	bool close_slot;       /* false when slot is the main database */
};
/* Caller holds nss_lock.  readwrite creates the database when missing
 * (the directory must exist).  0 or -1 with err. */
int nss_store_open(struct nss_store *st, const char *dir, bool readwrite,
		   char *err, size_t errlen);
void nss_store_close(struct nss_store *st);
/* A database just created takes writes only once it has a password: the
 * empty one (as certutil -N --empty-password).  No-op on older ones. */
int nss_init_new_db(PK11SlotInfo *slot, const char *dir, char *err, size_t errlen);

/* SSL_ConfigServerSessionIDCache once per nss_start (tls_server_wrap). */
int nss_server_cache_config(char *err, size_t errlen);

/* True if dir holds an NSS sql database (cert9.db). */
bool nss_db_present(const char *dir);
/* mkdir -p; directories it creates get mode.  0 or -1 with err. */
int nss_make_dirs(const char *dir, mode_t mode, char *err, size_t errlen);
/* The directory nss_start opened, or NULL (nodb or not started). */
const char *nss_main_dir(void);

/* err = the formatted text; nss_fail appends ": " and nss_error_text. */
void nss_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void nss_plain_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* nick is STAP_CERT_NICKNAME, with or without a "token:" prefix. */
bool nss_is_stap_nickname(const char *nick);
/* The certificates of a slot listed under STAP_CERT_NICKNAME (each node
 * holds a reference); NULL with err on failure. */
CERTCertList *nss_stap_certs_in_slot(PK11SlotInfo *slot, char *err, size_t errlen);

/* The DER INTEGER (tag and length included) of the certificate's serial,
 * as PKCS#11 objects name it; SECITEM_FreeItem(item, PR_TRUE).  certdb.c. */
SECItem *nss_serial_der(const SECItem *der);

/* Imports der into slot under STAP_CERT_NICKNAME (if not there yet) and
 * sets its trust from a certutil trust string ("P,P,P").  trust.c. */
int nss_import_trusted(PK11SlotInfo *slot, const SECItem *der, const char *trust,
		       char *err, size_t errlen);

/* Lower-case colon hex of len bytes; caller frees. */
char *nss_colon_hex(const unsigned char *p, size_t len);

#endif
