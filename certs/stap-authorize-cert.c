/* stap-authorize-cert CERTFILE [DIR] / --revoke CERTINFO [DIR]: trust or
 * stop trusting a compile server's certificate in a trust store
 * (common/trust.c). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <base64.h>
#include <secitem.h>

#include "cli.h"
#include "nss.h"
#include "util.h"

enum { MAX_CERT_FILE = 1 << 20 };

static const char usage[] =
	"Usage: stap-authorize-cert CERTFILE [DIR]\n"
	"       stap-authorize-cert --revoke CERTINFO [DIR]\n"
	"Add the certificate in CERTFILE (DER or PEM, e.g. a server's stap.cert)\n"
	"to the trust store DIR (default " DEFAULT_SIGNER_DB ", the store\n"
	"staprun checks module signatures against; clients use\n"
	"~/.systemtap/ssl/client and /etc/systemtap/ssl/client), under the\n"
	"nickname \"" STAP_CERT_NICKNAME "\" with trust P,P,P.  The store is created if missing.\n"
	"  --revoke CERTINFO  remove every such certificate whose serial is\n"
	"                     CERTINFO, e.g. 00:cc:26:2e:ed (stap --list-servers)\n"
	"\n"
	"Exit status: 0 on success, 1 on error or when nothing was revoked.\n";

static const char pem_begin[] = "-----BEGIN CERTIFICATE-----";
static const char pem_end[] = "-----END CERTIFICATE-----";

/* The DER of the first PEM certificate in text, or NULL.  *len set. */
static unsigned char *pem_to_der(const char *text, size_t *len)
{
	const char *b = strstr(text, pem_begin);
	if (!b)
		return NULL;
	b += strlen(pem_begin);
	const char *e = strstr(b, pem_end);
	if (!e)
		return NULL;
	char *body = xstrndup(b, (size_t)(e - b));
	SECItem item = { siBuffer, NULL, 0 };
	unsigned char *der = NULL;
	if (ATOB_ConvertAsciiToItem(&item, body) == SECSuccess && item.len > 0) {
		der = xmalloc(item.len);
		memcpy(der, item.data, item.len);
		*len = item.len;
	}
	SECITEM_FreeItem(&item, PR_FALSE);
	free(body);
	return der;
}

static int authorize(const char *file, const char *dir)
{
	char err[512];
	size_t len = 0;
	unsigned char *data = cli_read_file(file, MAX_CERT_FILE, &len);
	if (!data)
		return 1;
	char *serial = cert_serial_string(data, len);
	if (!serial) {
		/* not DER: PEM?  (read_file_bounded NUL-terminates) */
		size_t derlen = 0;
		unsigned char *der = pem_to_der((const char *)data, &derlen);
		if (der) {
			free(data);
			data = der;
			len = derlen;
			serial = cert_serial_string(data, len);
		}
	}
	if (!serial) {
		cli_error("%s: not a certificate (DER or PEM expected)", file);
		free(data);
		return 1;
	}
	int rc = trust_add_cert(dir, data, len, err, sizeof err);
	if (rc < 0)
		cli_error("cannot add certificate %s to %s: %s", serial, dir, err);
	free(serial);
	free(data);
	return rc < 0 ? 1 : 0;
}

static int revoke(const char *certinfo, const char *dir)
{
	char err[512];
	int removed = 0;

	if (trust_remove_serial(dir, certinfo, &removed, err, sizeof err) < 0) {
		cli_error("cannot revoke %s in %s: %s", certinfo, dir, err);
		return 1;
	}
	if (removed == 0) {
		cli_error("no certificate with serial %s in %s", certinfo, dir);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *args[2];
	int revoking;

	progname = "stap-authorize-cert";
	int how = cli_parse(argc, argv, usage, "--revoke", &revoking, args);
	if (how != 0)
		return how < 0;
	if (!args[0]) {
		cli_error(revoking ? "no certificate serial given (see --help)"
				   : "no certificate file given (see --help)");
		return 1;
	}
	const char *dir = args[1] ? args[1] : DEFAULT_SIGNER_DB;
	return revoking ? revoke(args[0], dir) : authorize(args[0], dir);
}
