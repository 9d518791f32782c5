/* stap-sign-module MODULE [DIR] [--sha1]: MODULE.sgn with the compile
 * server's key, as staprun checks it (common/sign.c). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nss.h"
#include "util.h"

enum { MAX_MODULE = 1 << 30 };

static const char usage[] =
	"Usage: stap-sign-module MODULE [DIR] [--sha1]\n"
	"Write MODULE.sgn, the signature staprun checks before it lets a\n"
	"non-root user load MODULE: PKCS#1 v1.5 RSA with SHA-256 over the whole\n"
	"file, made with the key of the server certificate database DIR (default\n"
	"$SYSTEMTAP_DIR/ssl/server, else ~/.systemtap/ssl/server).\n"
	"  --sha1   sign with SHA-1 instead, as SystemTap 4.8 servers do\n"
	"\n"
	"Exit status: 0 on success, 1 on error.\n";

int main(int argc, char **argv)
{
	const char *args[2];
	int sha1;
	char err[512];

	progname = "stap-sign-module";
	int how = cli_parse(argc, argv, usage, "--sha1", &sha1, args);
	if (how != 0)
		return how < 0;
	if (!args[0]) {
		cli_error("no module given (see --help)");
		return 1;
	}
	char *dir = args[1] ? xstrdup(args[1]) : default_server_db();
	struct server_identity id = { 0 };
	unsigned char *mod = NULL, *sig = NULL;
	size_t len = 0, siglen = 0;
	int rc = 1;

	mod = cli_read_file(args[0], MAX_MODULE, &len);
	if (!mod)
		goto out;
	if (nss_start(dir, false, err, sizeof err) < 0) {
		cli_error("%s", err);
		goto out;
	}
	if (server_identity_load(&id, err, sizeof err) < 0) {
		cli_error("no signing key in %s: %s", dir, err);
	} else if (module_sign(&id, mod, len, sha1, &sig, &siglen, err, sizeof err) < 0) {
		cli_error("cannot sign %s: %s", args[0], err);
	} else {
		char *out = xasprintf("%s.sgn", args[0]);
		if (cli_write_file(out, sig, siglen, 0644) == 0)
			rc = 0;
		free(out);
	}
	server_identity_free(&id);
	nss_stop();
out:
	free(sig);
	free(mod);
	free(dir);
	return rc;
}
