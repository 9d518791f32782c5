/* stap-gen-cert [DIR] [EXTRA_NAME...]: a new certificate database for a
 * compile server, in SystemTap's form (common/certdb.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nss.h"
#include "util.h"

static const char usage[] =
	"Usage: stap-gen-cert [DIR] [EXTRA_NAME...]\n"
	"Make a new certificate database for a compile server in DIR (default\n"
	"$SYSTEMTAP_DIR/ssl/server, else ~/.systemtap/ssl/server), replacing any\n"
	"database there: an RSA 4096 key and a self-signed certificate for\n"
	"\"OU=Systemtap, CN=Systemtap Compile Server\", valid for one year, naming\n"
	"this host, HOST.local and each EXTRA_NAME.  The certificate is stored as\n"
	"\"" STAP_CERT_NICKNAME "\" and also written to DIR/stap.cert (DER).\n"
	"\n"
	"Exit status: 0 on success, 1 on error.\n";

int main(int argc, char **argv)
{
	char err[512];

	progname = "stap-gen-cert";
	int first = 1;
	if (argc > 1 && strcmp(argv[1], "--") == 0)
		first = 2;
	else if (argc > 1 && cli_is_help(argv[1])) {
		fputs(usage, stdout);
		return 0;
	} else if (argc > 1 && argv[1][0] == '-') {
		cli_error("unknown option %s (see --help)", argv[1]);
		return 1;
	}
	char *dir = first < argc ? xstrdup(argv[first]) : default_server_db();
	int nextra = first < argc ? argc - first - 1 : 0;
	int rc = cert_db_generate(dir, nextra > 0 ? argv + first + 1 : NULL, (size_t)nextra,
				  err, sizeof err);
	if (rc < 0)
		cli_error("cannot make a certificate database in %s: %s", dir, err);
	free(dir);
	return rc < 0 ? 1 : 0;
}
