/* stap: the command users run.  Options follow stap(1); this file parses
 * them and drives the passes of the translator. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "elab.h"
#include "elaborate.h"
#include "session.h"
#include "util.h"

#ifndef STAP_RUNTIME_DIR
#define STAP_RUNTIME_DIR "/usr/local/share/systemtap/runtime/kernel"
#endif
#ifndef STAP_TAPSET_DIR
#define STAP_TAPSET_DIR "/usr/local/share/systemtap/tapset"
#endif

static void usage(FILE *out)
{
	fprintf(out,
"Usage: stap [OPTIONS] FILE [ARGS...]        run a script file\n"
"   or: stap [OPTIONS] -e SCRIPT [ARGS...]   run a script given inline\n"
"\n"
"Options:\n"
"  -p NUM          stop after pass NUM: 1 parse, 2 elaborate, 3 translate\n"
"                  to C, 4 build the module (5, the default, runs it with staprun)\n"
"  -e SCRIPT       script text instead of a file\n"
"  -I DIR          also look for tapset files in DIR\n"
"  -D NAME[=VAL]   define a C macro for the module\n"
"  -r KVER|DIR     target kernel release or build tree (default: running)\n"
"  -g              guru mode: allow embedded C in the script\n"
"  -m NAME         module name (default stap_ and a hash of the script)\n"
"  -k              keep the build directory of pass 4\n"
"  -o FILE, -c CMD, -x PID, -s MB, -G VAR=VAL, -w\n"
"                  handed to staprun in pass 5\n"
"  -u              unoptimized: keep unused code in pass 2\n"
"  -v              more verbose (repeatable; -p2 -v prints the bodies)\n"
"  --compatible=V  language compatibility level (default 4.8)\n"
"  --privilege=L   stapusr, stapsys or stapdev (default)\n"
"  --unprivileged  same as --privilege=stapusr\n"
"  --tapset-dir=DIR  use DIR as the tapset library (default %s)\n"
"  -V, --version   print version and exit\n"
"  -h, --help      print this help and exit\n"
"\n"
"Exit status: 0 success, 1 errors in the script or its use.\n",
		STAP_TAPSET_DIR);
}

static void version(void)
{
	printf("Systemtap-compatible translator (stapcs %s), language level 4.8\n",
	       PACKAGE_VERSION);
}

enum { OPT_COMPAT = 256, OPT_PRIV, OPT_UNPRIV, OPT_TAPSET_DIR, OPT_IGNORED };

int main(int argc, char **argv)
{
	progname = "stap";
	struct session s;
	session_init(&s);
	const char *script = NULL;        /* file name */
	const char *inline_script = NULL; /* -e text */
	const char *kernel = NULL;
	int pass = 5;
	bool want_tapset_env = true;

	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "compatible", required_argument, NULL, OPT_COMPAT },
		{ "privilege", required_argument, NULL, OPT_PRIV },
		{ "unprivileged", no_argument, NULL, OPT_UNPRIV },
		{ "tapset-dir", required_argument, NULL, OPT_TAPSET_DIR },
		/* stap(1) options that matter only from pass 3 on: accepted now so
		 * that existing command lines keep working */
		{ "all-modules", no_argument, NULL, OPT_IGNORED },
		{ "ldd", no_argument, NULL, OPT_IGNORED },
		{ "skip-badvars", no_argument, NULL, OPT_IGNORED },
		{ "suppress-handler-errors", no_argument, NULL, OPT_IGNORED },
		{ "suppress-time-limits", no_argument, NULL, OPT_IGNORED },
		{ "disable-cache", no_argument, NULL, OPT_IGNORED },
		{ "poison-cache", no_argument, NULL, OPT_IGNORED },
		{ "modinfo", required_argument, NULL, OPT_IGNORED },
		{ "runtime", required_argument, NULL, OPT_IGNORED },
		{ "sysroot", required_argument, NULL, OPT_IGNORED },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	/* As in stap(1), options may also follow the script name; "--" ends them. */
	while ((c = getopt_long(argc, argv, "hVp:e:I:D:r:guvm:kc:x:T:o:s:bwtFG:S:d:P", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			session_free(&s);
			return 0;
		case 'V':
			version();
			session_free(&s);
			return 0;
		case 'p': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > 5) {
				fprintf(stderr, "stap: invalid pass number '%s' (1-5)\n", optarg);
				session_free(&s);
				return 1;
			}
			pass = (int)n;
			break;
		}
		case 'e':
			inline_script = optarg;
			break;
		case 'I':
			pv_push(&s.include_dirs, optarg);
			break;
		case 'D':
			pv_push(&s.defines, optarg);
			break;
		case 'r':
			kernel = optarg;
			break;
		case 'g':
			s.guru = true;
			break;
		case 'u':
			s.unoptimized = true;
			break;
		case 'v':
			s.verbose++;
			break;
		case 'm':
			s.module_name = optarg;
			break;
		case 'c': case 'x': case 'o': case 's': case 'G': {
			/* pass 5 hands these to staprun (-s is its -b) */
			char flag[3] = { '-', c == 's' ? 'b' : c, 0 };
			pv_push(&s.staprun_args, xstrdup(flag));
			pv_push(&s.staprun_args, xstrdup(optarg));
			break;
		}
		case 'w':
			pv_push(&s.staprun_args, xstrdup("-w"));
			break;
		case 'k':
			/* keep pass 4's build directory; translator/kbuild.c says where */
			setenv("STAP_KEEP_BUILD", "1", 1);
			break;
		case 'T': case 'b': case 't': case 'F': case 'S': case 'd':
		case 'P':
			/* accepted for compatibility; not used yet */
			break;
		case OPT_COMPAT:
			s.compat = optarg;
			break;
		case OPT_PRIV:
			if (strcmp(optarg, "stapusr") && strcmp(optarg, "stapsys") &&
			    strcmp(optarg, "stapdev")) {
				fprintf(stderr, "stap: invalid privilege level '%s' "
					"(stapusr, stapsys or stapdev)\n", optarg);
				session_free(&s);
				return 1;
			}
			s.privilege = optarg;
			break;
		case OPT_UNPRIV:
			s.privilege = "stapusr";
			break;
		case OPT_IGNORED:
			break;
		case OPT_TAPSET_DIR:
			s.tapset_dir = optarg;
			want_tapset_env = false;
			break;
		default:
			fprintf(stderr, "Try 'stap --help' for more information.\n");
			session_free(&s);
			return 1;
		}
	}
	{
		const char *rt = getenv("SYSTEMTAP_RUNTIME");
		s.runtime_dir = rt && *rt ? rt : STAP_RUNTIME_DIR;
	}
	if (want_tapset_env) {
		const char *env = getenv("SYSTEMTAP_TAPSET");
		s.tapset_dir = env && *env ? env : STAP_TAPSET_DIR;
	}
	if (!inline_script) {
		if (optind >= argc) {
			fprintf(stderr, "stap: a script file or -e SCRIPT is required\n"
				"Try 'stap --help' for more information.\n");
			session_free(&s);
			return 1;
		}
		script = argv[optind++];
		if (!strcmp(script, "-"))
			script = "/dev/stdin";
	}
	s.args = argv + optind;
	s.nargs = argc - optind;
	if (!session_set_kernel(&s, kernel)) {
		/* the kernel store contradicts itself: already reported */
		session_free(&s);
		return 1;
	}

	struct source_file *src;
	if (script) {
		src = session_load_file(&s, script, false);
	} else {
		src = session_add_text(&s, "<input>", inline_script, false);
	}
	int rc = 0;
	if (!src) {
		rc = 1;
		goto out;
	}
	tapset_load_macros(&s);   /* library macros are visible to the script */
	struct stapfile *user = parse_file(&s, src);
	if (pass == 1) {
		if (diag_errors(&s.diag)) {
			fprintf(stderr, "%d parse error%s.\nPass 1: parse failed.\n",
				s.diag.parse_errors, s.diag.parse_errors == 1 ? "" : "s");
			rc = 1;
			goto out;
		}
		struct strbuf sb;
		sb_init(&sb);
		sb_printf(&sb, "# parse tree dump\n# file %s\n", src->name);
		print_file(&sb, user);
		fwrite(sb.s, 1, sb.len, stdout);
		sb_free(&sb);
		goto out;
	}
	rc = elaborate_and_report(&s, user, pass) ? 0 : 1;
out:
	session_free(&s);
	return rc;
}
