/* The compile-server protocol's request and response archives as data
 * (SystemTap's layout; docs/protocol.md), with the checks that keep a
 * hostile request from hurting the server.  Pure logic: no sockets, no
 * NSS, no files. */
#ifndef STAP_COMMON_CSPROTO_H
#define STAP_COMMON_CSPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include "zip.h"

/* The protocol version we speak (SystemTap's release numbering). */
#define CS_PROTOCOL_VERSION "4.8"

/* Dotted versions ("4.8", "1.6.1", "0x10"): compares numerically part by
 * part, a missing part is smaller ("1.6" < "1.6.1").  Anything that is not
 * such a number (empty, "abc", "4.8beta", overlong) counts as "1.0": never
 * fatal.  Returns <0, 0, >0. */
int cs_version_compare(const char *a, const char *b);
/* The version a peer sent: its first whitespace-separated word, or "1.0"
 * when there is none or it is not a dotted number.  Caller frees. */
char *cs_version_from_file(const char *data, size_t len);

/* One request, as read from its archive. */
struct cs_request {
	char *client_version;   /* "4.8"; "1.0" if absent or unusable */
	char *kernel_release;   /* from "sysinfo: REL ARCH"; NULL if unusable */
	char *arch;             /* may be NULL */
	char *kernel_build_id;  /* our extension entry "kernel_build_id": lower hex; NULL if absent or malformed */
	char **argv;            /* argv1..argvN as sent (no gap; later ones after a gap dropped) */
	size_t argc;
	char **locale;          /* accepted "KEY=VALUE" lines */
	size_t nlocale;
	char **mok;             /* well-formed mok_fingerprints lines ("missing" allowed) */
	size_t nmok;
	bool mok_sent;          /* the entry was present (even if every line was refused) */
	char **notes;           /* "Server: ..." lines the client should see (refused locale or MOK lines) */
	size_t nnotes;
};

/* Fills r from an archive read with zip_read_mem.  Never fails on content
 * the protocol tolerates (refusals become notes); returns -1 with err only
 * when the request cannot be served at all: no sysinfo, or a sysinfo
 * without the "sysinfo:" label and a release word. */
int cs_request_parse(const struct zip_archive *z, struct cs_request *r,
		     char *err, size_t errlen);
void cs_request_free(struct cs_request *r);

/* Single checks, also used by the client before sending. */
bool cs_locale_key_ok(const char *key);          /* one of SystemTap's 8 */
bool cs_locale_value_ok(const char *value);      /* ^[a-zA-Z0-9@_.=-]*$ */
bool cs_mok_fingerprint_ok(const char *fp);      /* ^[0-9a-f]{2}(:[0-9a-f]{2})+$ or "missing" */
bool cs_kernel_release_ok(const char *rel);      /* ^[a-z0-9_.+-]+$, 1..128 bytes (also -r) */

/* Builds a request archive (client side): version, sysinfo, locale (from
 * the environment variables SystemTap sends, sorted), argv1..N, the files
 * given (each stored under its name, which must pass zip_name_ok), and
 * kernel_build_id / mok_fingerprints when non-NULL.  0 or -1. */
struct cs_file { const char *name; const void *data; size_t size; };
int cs_request_build(const char *kernel_release, const char *arch,
		     const char *build_id, char *const *argv, size_t argc,
		     const struct cs_file *files, size_t nfiles,
		     char *const *mok, size_t nmok,
		     unsigned char **zip, size_t *ziplen);

/* One response, as read from its archive (client side). */
struct cs_response {
	char *server_version;   /* "1.0" if absent or unusable */
	bool has_rc;
	int rc;
	char *out, *err;        /* stdout / stderr texts ("" if absent) */
	size_t outlen, errlen;
	const struct zip_entry *module;     /* the one stap??????/NAME.ko, or NULL */
	const struct zip_entry *signature;  /* NAME.ko.sgn beside it, or NULL */
	const struct zip_entry *mok_cert;   /* signing_key.x509, or NULL */
};
/* Points into z (which must outlive r).  -1 with err on a malformed
 * response: more than one stap?????? directory or module, a non-integer
 * rc. */
int cs_response_parse(const struct zip_archive *z, struct cs_response *r,
		      char *err, size_t errlen);
void cs_response_free(struct cs_response *r);

#endif
