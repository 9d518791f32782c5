/* Test helper for tests/certs/run.sh: runs one common/nss.h call and
 * prints its answer, so the script can hold it against NSS's and
 * SystemTap's own tools.
 *
 *   nsscheck [--nodb | --db DIR | --dbrw DIR] CMD ARGS...
 *     --nodb / --db DIR / --dbrw DIR
 *                         nss_start_nodb / nss_start(DIR, read-only or
 *                         read-write) first
 *   serial CERT           cert_serial_string
 *   fingerprint CERT      cert_sha1_fingerprint
 *   add STORE CERT        trust_add_cert: prints "added" or the error
 *   has STORE CERT        trust_has_cert: prints 1/0/-1
 *   list STORE            trust_list: one serial per line
 *   verify STORE MOD SGN  module_verify: TRUSTED/UNTRUSTED/ALTERED/ERROR: msg
 *   check DIR             cert_db_check: VALID/MISSING/NO_CERT/EXPIRED/ERROR: msg
 *   identity              server_identity_load (needs --db): prints certinfo
 * Exit 0 when the command ran (whatever its answer), 2 on usage/IO errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nss.h"
#include "util.h"

static unsigned char *slurp(const char *path, size_t *len)
{
	unsigned char *d = (unsigned char *)read_file_bounded(path, 1 << 30, len);
	if (!d) {
		fprintf(stderr, "nsscheck: cannot read %s\n", path);
		exit(2);
	}
	return d;
}

static int run(int argc, char **argv)
{
	char err[512] = "";
	size_t len = 0;

	if (argc == 2 && strcmp(argv[0], "serial") == 0) {
		unsigned char *d = slurp(argv[1], &len);
		char *s = cert_serial_string(d, len);
		printf("%s\n", s ? s : "(null)");
		free(s);
		free(d);
	} else if (argc == 2 && strcmp(argv[0], "fingerprint") == 0) {
		unsigned char *d = slurp(argv[1], &len);
		char *s = cert_sha1_fingerprint(d, len);
		printf("%s\n", s ? s : "(null)");
		free(s);
		free(d);
	} else if (argc == 3 && strcmp(argv[0], "add") == 0) {
		unsigned char *d = slurp(argv[2], &len);
		if (trust_add_cert(argv[1], d, len, err, sizeof err) < 0)
			printf("ERROR: %s\n", err);
		else
			printf("added\n");
		free(d);
	} else if (argc == 3 && strcmp(argv[0], "has") == 0) {
		unsigned char *d = slurp(argv[2], &len);
		printf("%d\n", trust_has_cert(argv[1], d, len));
		free(d);
	} else if (argc == 2 && strcmp(argv[0], "list") == 0) {
		unsigned char **ders;
		size_t *lens, n;
		if (trust_list(argv[1], &ders, &lens, &n, err, sizeof err) < 0) {
			printf("ERROR: %s\n", err);
			return 0;
		}
		for (size_t i = 0; i < n; i++) {
			char *s = cert_serial_string(ders[i], lens[i]);
			printf("%s\n", s ? s : "(null)");
			free(s);
			free(ders[i]);
		}
		free(ders);
		free(lens);
	} else if (argc == 4 && strcmp(argv[0], "verify") == 0) {
		size_t siglen = 0;
		unsigned char *mod = slurp(argv[2], &len);
		unsigned char *sig = slurp(argv[3], &siglen);
		static const char *const names[] = { "TRUSTED", "UNTRUSTED", "ALTERED", "ERROR" };
		enum sgn_result r = module_verify(argv[1], mod, len, sig, siglen, err, sizeof err);
		printf("%s: %s\n", names[r], err);
		free(mod);
		free(sig);
	} else if (argc == 2 && strcmp(argv[0], "check") == 0) {
		static const char *const names[] = { "VALID", "MISSING", "NO_CERT", "EXPIRED", "ERROR" };
		enum cert_db_state s = cert_db_check(argv[1], err, sizeof err);
		printf("%s: %s\n", names[s], err);
	} else if (argc == 1 && strcmp(argv[0], "identity") == 0) {
		struct server_identity id;
		if (server_identity_load(&id, err, sizeof err) < 0) {
			printf("ERROR: %s\n", err);
			return 0;
		}
		printf("%s\n", id.certinfo);
		server_identity_free(&id);
	} else {
		fprintf(stderr, "nsscheck: bad command (see the comment in nsscheck.c)\n");
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char err[512];
	bool started = false;

	progname = "nsscheck";
	argc--, argv++;
	if (argc >= 1 && strcmp(argv[0], "--nodb") == 0) {
		if (nss_start_nodb(err, sizeof err) < 0) {
			fprintf(stderr, "nsscheck: %s\n", err);
			return 2;
		}
		started = true;
		argc--, argv++;
	} else if (argc >= 2 && (strcmp(argv[0], "--db") == 0 || strcmp(argv[0], "--dbrw") == 0)) {
		if (nss_start(argv[1], strcmp(argv[0], "--dbrw") == 0, err, sizeof err) < 0) {
			fprintf(stderr, "nsscheck: %s\n", err);
			return 2;
		}
		started = true;
		argc -= 2, argv += 2;
	}
	int rc = run(argc, argv);
	if (started)
		nss_stop();
	return rc;
}
