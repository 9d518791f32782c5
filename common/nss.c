/* Starting and stopping NSS, databases opened for one operation, NSS
 * error text.
 *
 * Model: the process has at most one main database (nss_start) or none
 * (nss_start_nodb).  Every other database -- trust stores, a database
 * being checked or generated -- is opened as an extra PKCS#11 slot of
 * NSS's own software token for the length of one call and closed again
 * (SECMOD_OpenUserDB/SECMOD_CloseUserDB), inside an NSS_InitContext that
 * keeps NSS up when nothing else started it.  A plain NSS_InitContext
 * with a database would do the opening too, but NSS never closes a
 * database opened that way while NSS stays up, and reopening it read-write
 * after a read-only open makes a second slot: stores would pile up in a
 * long-running server. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nss/nss.h>   /* NSS's own; "nss.h" is ours */
#include <pk11pub.h>
#include <prerror.h>
#include <secerr.h>
#include <ssl.h>
#include <sslproto.h>

#include "nss_int.h"
#include "util.h"

static pthread_mutex_t nss_mutex = PTHREAD_MUTEX_INITIALIZER;
static bool nss_started;             /* nss_start or nss_start_nodb succeeded */
static char *main_dir;               /* nss_start's directory (realpath), or NULL */
static bool server_cache_ready;      /* SSL_ConfigServerSessionIDCache done */

void nss_lock(void)
{
	pthread_mutex_lock(&nss_mutex);
}

void nss_unlock(void)
{
	pthread_mutex_unlock(&nss_mutex);
}

const char *nss_error_text(char *buf, size_t n)
{
	PRErrorCode code = PR_GetError();
	const char *name = PR_ErrorToName(code);
	const char *text = PR_ErrorToString(code, PR_LANGUAGE_I_DEFAULT);

	if (code == 0)
		snprintf(buf, n, "0 (no NSS error code)");
	else
		snprintf(buf, n, "%d %s: %s", (int)code, name ? name : "(unnamed)",
			 text && *text ? text : "unknown error");
	return buf;
}

static void vformat(char *err, size_t errlen, const char *fmt, va_list ap)
{
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
}

void nss_plain_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vformat(err, errlen, fmt, ap);
	va_end(ap);
}

void nss_fail(char *err, size_t errlen, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	nss_error_text(text, sizeof text);   /* before anything resets the code */
	va_start(ap, fmt);
	vformat(err, errlen, fmt, ap);
	va_end(ap);
	if (err && errlen) {
		size_t used = strlen(err);
		snprintf(err + used, errlen - used, ": %s", text);
	}
}

char *nss_db_spec(const char *dir)
{
	if (strchr(dir, ':'))
		return xstrdup(dir);
	return xasprintf("sql:%s", dir);
}

bool nss_db_present(const char *dir)
{
	if (strncmp(dir, "sql:", 4) == 0)
		dir += 4;
	else if (strchr(dir, ':'))
		return true;   /* another database type: let NSS say */
	char *path = xasprintf("%s/cert9.db", dir);
	bool present = access(path, F_OK) == 0;
	free(path);
	return present;
}

int nss_make_dirs(const char *dir, mode_t mode, char *err, size_t errlen)
{
	char *path = xstrdup(dir);
	int rc = 0;

	for (char *p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(path, mode) < 0 && errno != EEXIST) {
			nss_plain_fail(err, errlen, "cannot create %s: %s", path, strerror(errno));
			rc = -1;
			break;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	free(path);
	struct stat st;
	if (rc == 0 && (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))) {
		nss_plain_fail(err, errlen, "%s is not a directory", dir);
		rc = -1;
	}
	return rc;
}

const char *nss_main_dir(void)
{
	return main_dir;
}

char *nss_colon_hex(const unsigned char *p, size_t len)
{
	char *s = xmalloc(len ? len * 3 : 1);
	for (size_t i = 0; i < len; i++)
		sprintf(s + 3 * i, i + 1 < len ? "%02x:" : "%02x", p[i]);
	if (!len)
		s[0] = '\0';
	return s;
}

bool nss_is_stap_nickname(const char *nick)
{
	if (!nick)
		return false;
	const char *colon = strrchr(nick, ':');
	return strcmp(colon ? colon + 1 : nick, STAP_CERT_NICKNAME) == 0;
}

CERTCertList *nss_stap_certs_in_slot(PK11SlotInfo *slot, char *err, size_t errlen)
{
	CERTCertList *all = PK11_ListCertsInSlot(slot);
	if (!all) {
		nss_fail(err, errlen, "cannot list the certificates of %s", PK11_GetTokenName(slot));
		return NULL;
	}
	CERTCertList *ours = CERT_NewCertList();
	if (!ours) {
		CERT_DestroyCertList(all);
		nss_fail(err, errlen, "cannot list certificates");
		return NULL;
	}
	for (CERTCertListNode *n = CERT_LIST_HEAD(all); !CERT_LIST_END(n, all);
	     n = CERT_LIST_NEXT(n)) {
		/* appData is the nickname the certificate has in this slot */
		if (!nss_is_stap_nickname(n->appData))
			continue;
		CERTCertificate *c = CERT_DupCertificate(n->cert);
		if (CERT_AddCertToListTail(ours, c) != SECSuccess)
			CERT_DestroyCertificate(c);
	}
	CERT_DestroyCertList(all);
	return ours;
}

static int server_cache_config_locked(char *err, size_t errlen);

/* TLS defaults every process gets: 1.2 and 1.3 only, domestic policy. */
static int set_tls_defaults(char *err, size_t errlen)
{
	SSLVersionRange range = { SSL_LIBRARY_VERSION_TLS_1_2, SSL_LIBRARY_VERSION_TLS_1_3 };

	if (NSS_SetDomesticPolicy() != SECSuccess) {
		nss_fail(err, errlen, "cannot set the NSS cipher policy");
		return -1;
	}
	if (SSL_VersionRangeSetDefault(ssl_variant_stream, &range) != SECSuccess) {
		nss_fail(err, errlen, "cannot enable TLS 1.2 and 1.3");
		return -1;
	}
	return 0;
}

int nss_start(const char *dir, bool readwrite, char *err, size_t errlen)
{
	int rc = -1;

	nss_lock();
	if (nss_started) {
		nss_plain_fail(err, errlen, "NSS is already started");
		goto out;
	}
	if (!readwrite && !nss_db_present(dir)) {
		nss_plain_fail(err, errlen, "no certificate database in %s", dir);
		goto out;
	}
	char *spec = nss_db_spec(dir);
	SECStatus s = NSS_Initialize(spec, "", "", SECMOD_DB,
				     readwrite ? 0 : NSS_INIT_READONLY);
	free(spec);
	if (s != SECSuccess) {
		nss_fail(err, errlen, "cannot open the certificate database %s", dir);
		goto out;
	}
	if (set_tls_defaults(err, errlen) < 0 || server_cache_config_locked(err, errlen) < 0) {
		NSS_Shutdown();
		goto out;
	}
	char real[PATH_MAX];
	main_dir = xstrdup(realpath(dir, real) ? real : dir);
	nss_started = true;
	rc = 0;
out:
	nss_unlock();
	return rc;
}

int nss_start_nodb(char *err, size_t errlen)
{
	int rc = -1;

	nss_lock();
	if (nss_started) {
		nss_plain_fail(err, errlen, "NSS is already started");
		goto out;
	}
	if (NSS_NoDB_Init(NULL) != SECSuccess) {
		nss_fail(err, errlen, "cannot start NSS");
		goto out;
	}
	if (set_tls_defaults(err, errlen) < 0) {
		NSS_Shutdown();
		goto out;
	}
	nss_started = true;
	rc = 0;
out:
	nss_unlock();
	return rc;
}

void nss_stop(void)
{
	nss_lock();
	if (nss_started) {
		/* in this order: shutting the server cache down frees the lock
		 * the client cache needs */
		SSL_ClearSessionCache();
		if (server_cache_ready)
			SSL_ShutdownServerSessionIDCache();
		server_cache_ready = false;
		NSS_Shutdown();
		nss_started = false;
	}
	free(main_dir);
	main_dir = NULL;
	nss_unlock();
}

/* Caller holds nss_lock.  NSS replaces the client session cache's lock
 * when the server cache is configured after a TLS socket already
 * exists; nss_start therefore does it first thing. */
static int server_cache_config_locked(char *err, size_t errlen)
{
	if (server_cache_ready)
		return 0;
	if (SSL_ConfigServerSessionIDCache(0, 0, 0, NULL) != SECSuccess) {
		nss_fail(err, errlen, "cannot set up the TLS session cache");
		return -1;
	}
	server_cache_ready = true;
	return 0;
}

int nss_server_cache_config(char *err, size_t errlen)
{
	nss_lock();
	int rc = server_cache_config_locked(err, errlen);
	nss_unlock();
	return rc;
}

int nss_store_open(struct nss_store *st, const char *dir, bool readwrite,
		   char *err, size_t errlen)
{
	memset(st, 0, sizeof *st);
	if (strpbrk(dir, "'\"")) {
		nss_plain_fail(err, errlen, "%s: quotes in a database path are not supported", dir);
		return -1;
	}
	st->ctx = NSS_InitContext("", "", "", "", NULL,
				  NSS_INIT_READONLY | NSS_INIT_NOCERTDB | NSS_INIT_NOMODDB |
				  NSS_INIT_FORCEOPEN | NSS_INIT_NOROOTINIT);
	if (!st->ctx) {
		nss_fail(err, errlen, "cannot start NSS");
		return -1;
	}
	char *spec = nss_db_spec(dir);
	char *module = xasprintf("configdir='%s' certPrefix='' keyPrefix='' "
				 "tokenDescription='stapcs database' %s",
				 spec, readwrite ? "" : "flags=readOnly");
	free(spec);
	st->slot = SECMOD_OpenUserDB(module);
	free(module);
	/* the same directory as nss_start's database comes back as that slot */
	st->close_slot = st->slot && !PK11_IsInternalKeySlot(st->slot);
	if (!st->slot || !PK11_IsPresent(st->slot)) {
		nss_fail(err, errlen, "cannot open the certificate database %s", dir);
		nss_store_close(st);
		return -1;
	}
	if (readwrite && PK11_IsReadOnly(st->slot)) {
		nss_plain_fail(err, errlen, "the certificate database %s is open read-only", dir);
		nss_store_close(st);
		return -1;
	}
	return 0;
}

void nss_store_close(struct nss_store *st)
{
	if (st->slot) {
		if (st->close_slot)
			SECMOD_CloseUserDB(st->slot);
		PK11_FreeSlot(st->slot);
	}
	if (st->ctx)
		NSS_ShutdownContext(st->ctx);
	memset(st, 0, sizeof *st);
}

int nss_init_new_db(PK11SlotInfo *slot, const char *dir, char *err, size_t errlen)
{
	if (PK11_NeedUserInit(slot) && PK11_InitPin(slot, NULL, "") != SECSuccess) {
		nss_fail(err, errlen, "cannot initialise the new database %s", dir);
		return -1;
	}
	return 0;
}
