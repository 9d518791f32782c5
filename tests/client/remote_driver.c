/* remote_driver: a stand-in for stap(1) that calls the thin client
 * (client/remote.h) the way stap will, for tests/client/run.sh.
 *
 *   remote_driver --use-server=SPEC [--use-server=SPEC ...]
 *                 [--trust-servers=SPEC] [-p N] [-r KVER] [-a ARCH] [-m NAME]
 *                 [-I DIR] [--privilege=X] [-v] [-k] [-e SCRIPT | FILE] [ARGS...]
 *
 * Words go to the server as stap glues them ("-p4", "-eSCRIPT"); -I, -k
 * and the server options stay here.  Exit status: remote_compile's or
 * remote_trust's; 2 for a usage error. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "remote.h"
#include "util.h"

static void usage(void)
{
	fprintf(stderr, "usage: remote_driver --use-server=SPEC [--trust-servers=SPEC] [-p N] "
		"[-r KVER] [-a ARCH] [-m NAME] [-I DIR] [--privilege=X] [-v] [-k] "
		"[-e SCRIPT | FILE] [ARGS...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	progname = "stap";
	enum { OPT_USE_SERVER = 256, OPT_TRUST, OPT_PRIVILEGE };
	static const struct option longopts[] = {
		{ "use-server", required_argument, NULL, OPT_USE_SERVER },
		{ "trust-servers", required_argument, NULL, OPT_TRUST },
		{ "privilege", required_argument, NULL, OPT_PRIVILEGE },
		{ NULL, 0, NULL, 0 },
	};
	struct ptrvec servers = { 0 }, words = { 0 }, includes = { 0 };
	const char *trust = NULL, *script = NULL, *kernel = NULL, *arch = NULL;
	const char *privilege = "stapdev";
	int pass = 5, verbose = 0, c;
	bool keep = false, module_name = false, have_e = false;
	struct utsname u;
	uname(&u);

	while ((c = getopt_long(argc, argv, "+p:r:a:m:I:e:vk", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_USE_SERVER:
			pv_push(&servers, optarg);
			break;
		case OPT_TRUST:
			trust = optarg;
			break;
		case OPT_PRIVILEGE:
			privilege = optarg;
			pv_push(&words, xasprintf("--privilege=%s", optarg));
			break;
		case 'p':
			pass = atoi(optarg);
			if (pass < 1 || pass > 5)
				usage();
			pv_push(&words, xasprintf("-p%s", optarg));
			break;
		case 'r':
			kernel = optarg;
			pv_push(&words, xasprintf("-r%s", optarg));
			break;
		case 'a':
			arch = optarg;
			pv_push(&words, xasprintf("-a%s", optarg));
			break;
		case 'm':
			module_name = true;
			pv_push(&words, xasprintf("-m%s", optarg));
			break;
		case 'I':
			pv_push(&includes, optarg);
			break;
		case 'e':
			have_e = true;
			pv_push(&words, xasprintf("-e%s", optarg));
			break;
		case 'v':
			verbose++;
			pv_push(&words, xstrdup("-v"));
			break;
		case 'k':
			keep = true;
			break;
		default:
			usage();
		}
	}
	if (trust) {
		int rc = remote_trust(trust, (char *const *)servers.v, servers.n, verbose);
		pv_free(&servers);
		for (size_t i = 0; i < words.n; i++)
			free(words.v[i]);
		pv_free(&words);
		pv_free(&includes);
		return rc;
	}

	if (!have_e) {
		if (optind >= argc)
			usage();
		script = argv[optind++];
	}
	bool foreign = (kernel && strcmp(kernel, u.release) != 0) || (arch && strcmp(arch, u.machine) != 0);
	struct remote_request rq = {
		.script_path = script,
		.include_dirs = (char *const *)includes.v,
		.ninclude = includes.n,
		.words = (char *const *)words.v,
		.nwords = words.n,
		.script_args = argv + optind,
		.nargs = (size_t)(argc - optind),
		.kernel_release = kernel ? kernel : u.release,
		.arch = arch ? arch : u.machine,
		.foreign_kernel = foreign,
		.last_pass = foreign && pass > 4 ? 4 : pass,
		.module_name_given = module_name,
		.verbose = verbose,
		.keep_tmp = keep,
		.privilege = privilege,
	};
	char *ko = NULL;
	int rc = remote_compile((char *const *)servers.v, servers.n, &rq, &ko);
	if (ko && rq.last_pass == 5)
		fprintf(stderr, "remote_driver: module %s (pass 5 would run it)\n", ko);
	free(ko);
	for (size_t i = 0; i < words.n; i++)
		free(words.v[i]);
	pv_free(&words);
	pv_free(&servers);
	pv_free(&includes);
	return rc;
}
