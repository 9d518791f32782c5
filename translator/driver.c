/* stap's options (stap(1)) and the local passes.  The stap command and
 * the compile server's workers share this parser; a worker parses a
 * client's words in client_options mode, which refuses what SystemTap
 * refuses after --client-options, plus the holes SystemTap leaves open
 * (--sign-module, -d: both make the server read its own files). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "driver.h"
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
"  -a ARCH         target architecture (x86_64 only)\n"
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
"  --use-server[=HOST[:PORT][,...]]\n"
"                  compile on a compile server (stap-serverd) instead of here;\n"
"                  without HOST, on the best one found through Avahi\n"
"  --use-http-server=URL\n"
"                  the same through a server's HTTP API (https://HOST:PORT)\n"
"  --trust-servers=[ssl,signer,all-users,revoke,no-prompt]\n"
"                  trust (or stop trusting) the --use-server servers\n"
"  --list-servers[=online,trusted,compatible,signer,specified,all]\n"
"                  list the compile servers announced on the LAN (Avahi)\n"
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

enum {
	OPT_COMPAT = 256, OPT_PRIV, OPT_UNPRIV, OPT_TAPSET_DIR, OPT_USE_SERVER,
	OPT_TRUST_SERVERS, OPT_FORWARD, OPT_IGNORED, OPT_REFUSED, OPT_NO_TIME_LIMITS, OPT_NO_CACHE,
	OPT_LIST_SERVERS, OPT_USE_HTTP_SERVER,
};

static bool matches(const char *pattern, const char *s)
{
	regex_t re;
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB | REG_ICASE))
		return false;
	bool ok = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static void forward(struct stap_options *o, int c, const char *arg)
{
	if (arg)
		pv_push(&o->server_words, xasprintf("-%c%s", c, arg));
	else
		pv_push(&o->server_words, xasprintf("-%c", c));
}

static void split_servers(struct stap_options *o, const char *arg)
{
	o->use_server = true;
	if (!arg)
		return;
	char *copy = xstrdup(arg), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		pv_push(&o->servers, xstrdup(t));
	free(copy);
}

/* A path inside the request directory: relative, under script/ or
 * tapset/, with no "." or ".." component. */
static bool request_path_ok(const char *p)
{
	if (strncmp(p, "script/", 7) != 0 && strncmp(p, "tapset/", 7) != 0)
		return false;
	for (const char *c = p; *c;) {
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
		if (*c == '/')
			c++;
	}
	return true;
}

/* The checks SystemTap makes on a client's words, after parsing. */
static bool check_client_words(struct stap_options *o, const struct stap_mode *mode)
{
	struct session *s = &o->s;
	bool ok = true;
	if (strcmp(s->privilege, "stapdev") != 0) {
		if (s->include_dirs.n) {
			fprintf(stderr, "You can't specify -I when --privilege=%s is specified.\n",
				s->privilege);
			ok = false;
		}
		if (s->defines.n) {
			fprintf(stderr, "You can't specify -D when --privilege=%s is specified.\n",
				s->privilege);
			ok = false;
		}
		if (s->module_name) {
			fprintf(stderr, "You can't specify -m when --privilege=%s is specified.\n",
				s->privilege);
			ok = false;
		}
	}
	/* the script and -I directories are the client's files in the
	 * request directory: relative, no way out of it */
	if (o->script && !request_path_ok(o->script)) {
		fprintf(stderr, "ERROR: the script '%s' is not a file of the request\n", o->script);
		ok = false;
	}
	for (size_t i = 0; i < s->include_dirs.n; i++) {
		if (!request_path_ok(s->include_dirs.v[i])) {
			fprintf(stderr, "ERROR: -I %s is not a directory of the request\n",
				(const char *)s->include_dirs.v[i]);
			ok = false;
		}
	}
	if (o->kernel && strcmp(o->kernel, mode->release) != 0 &&
	    strcmp(o->kernel, mode->kernel) != 0) {
		fprintf(stderr, "ERROR: -r %s does not name the kernel of this request (%s)\n",
			o->kernel, mode->release);
		ok = false;
	}
	o->kernel = mode->kernel;
	if (o->pass > 4)
		o->pass = 4;
	return ok;
}

int stap_parse_options(int argc, char **argv, struct stap_options *o,
		       const struct stap_mode *mode)
{
	static const struct stap_mode local = { 0 };
	if (!mode)
		mode = &local;
	memset(o, 0, sizeof *o);
	session_init(&o->s);
	o->pass = 5;
	o->want_tapset_env = true;
	o->s.out_dir = mode->out_dir;
	bool client = mode->client_options;
	bool no_cache = false;

	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "compatible", required_argument, NULL, OPT_COMPAT },
		{ "privilege", required_argument, NULL, OPT_PRIV },
		{ "unprivileged", no_argument, NULL, OPT_UNPRIV },
		{ "tapset-dir", required_argument, NULL, OPT_TAPSET_DIR },
		{ "use-server", optional_argument, NULL, OPT_USE_SERVER },
		{ "trust-servers", optional_argument, NULL, OPT_TRUST_SERVERS },
		/* accepted and forwarded to a server, no effect here yet */
		{ "skip-badvars", no_argument, NULL, OPT_FORWARD },
		{ "suppress-time-limits", no_argument, NULL, OPT_NO_TIME_LIMITS },
		{ "vp", required_argument, NULL, OPT_FORWARD },
		/* stap(1) options that do not change what we build */
		{ "suppress-handler-errors", no_argument, NULL, OPT_IGNORED },
		{ "color", optional_argument, NULL, OPT_IGNORED },
		{ "disable-cache", no_argument, NULL, OPT_NO_CACHE },
		/* refused from compile-server clients, ignored locally */
		{ "all-modules", no_argument, NULL, OPT_REFUSED },
		{ "ldd", no_argument, NULL, OPT_REFUSED },
		{ "poison-cache", no_argument, NULL, OPT_REFUSED },
		{ "clean-cache", no_argument, NULL, OPT_REFUSED },
		{ "modinfo", required_argument, NULL, OPT_REFUSED },
		{ "runtime", required_argument, NULL, OPT_REFUSED },
		{ "sysroot", required_argument, NULL, OPT_REFUSED },
		{ "sysenv", required_argument, NULL, OPT_REFUSED },
		{ "tmpdir", required_argument, NULL, OPT_REFUSED },
		{ "sign-module", optional_argument, NULL, OPT_REFUSED },
		{ "list-servers", optional_argument, NULL, OPT_LIST_SERVERS },
		{ "use-server-on-error", optional_argument, NULL, OPT_REFUSED },
		{ "use-http-server", required_argument, NULL, OPT_USE_HTTP_SERVER },
		{ "remote", required_argument, NULL, OPT_REFUSED },
		{ "remote-prefix", no_argument, NULL, OPT_REFUSED },
		{ "debug", no_argument, NULL, OPT_REFUSED },
		{ NULL, 0, NULL, 0 },
	};
	int c, idx;
	bool bad = false, no_time_limits = false;
	optind = 0;		/* a worker may parse more than once */
	opterr = 1;
	/* As in stap(1), options may also follow the script name; "--" ends them. */
	while ((c = getopt_long(argc, argv, "hVp:e:I:D:r:a:guvm:kc:x:T:o:s:bwtFG:S:d:PRB:iqWL:l:E:",
				longopts, &idx)) != -1) {
		if (client && (c == 'R' || c == 'k' || c == 'i' || c == 'q' || c == 'B' ||
			       c == 'd' || c == 'h' || c == 'V')) {
			fprintf(stderr, "ERROR: -%c invalid with --client-options\n", c);
			bad = true;
			continue;
		}
		if (client && (c == OPT_REFUSED || c == OPT_USE_SERVER || c == OPT_TRUST_SERVERS ||
			       c == OPT_TAPSET_DIR || c == OPT_USE_HTTP_SERVER ||
			       c == OPT_LIST_SERVERS)) {
			fprintf(stderr, "ERROR: --%s is invalid with --client-options\n",
				longopts[idx].name);
			bad = true;
			continue;
		}
		switch (c) {
		case 'h':
			usage(stdout);
			return STAP_OPTS_EXIT_OK;
		case 'V':
			version();
			return STAP_OPTS_EXIT_OK;
		case 'p': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > 5) {
				fprintf(stderr, "stap: invalid pass number '%s' (1-5)\n", optarg);
				return STAP_OPTS_EXIT_ERROR;
			}
			o->pass = (int)n;
			forward(o, c, optarg);
			break;
		}
		case 'e':
			o->inline_script = optarg;
			forward(o, c, optarg);
			break;
		case 'I':
			pv_push(&o->s.include_dirs, optarg);
			break;
		case 'D':
			if (client && !matches("^[a-z_][a-z_0-9]*(=-?[a-z_0-9]+)?$", optarg)) {
				fprintf(stderr, "ERROR: -D %s: not NAME or NAME=VALUE\n", optarg);
				bad = true;
				break;
			}
			pv_push(&o->s.defines, optarg);
			forward(o, c, optarg);
			break;
		case 'r':
			if (client && !matches("^[a-z0-9_.+-]+$", optarg)) {
				fprintf(stderr, "ERROR: -r %s: not a kernel release\n", optarg);
				bad = true;
				break;
			}
			o->kernel = optarg;
			forward(o, c, optarg);
			break;
		case 'a':
			if (!matches("^[a-z0-9_-]+$", optarg)) {
				fprintf(stderr, "stap: ERROR: -a %s: not an architecture name\n", optarg);
				return STAP_OPTS_EXIT_ERROR;
			}
			o->arch = optarg;
			forward(o, c, optarg);
			break;
		case 'g':
			o->s.guru = true;
			forward(o, c, NULL);
			break;
		case 'u':
			o->s.unoptimized = true;
			forward(o, c, NULL);
			break;
		case 'v':
			o->s.verbose++;
			forward(o, c, NULL);
			break;
		case 'm':
			if (!matches("^[a-z0-9_]+$", optarg)) {
				fprintf(stderr, "stap: ERROR: -m %s: module names are lower-case "
					"letters, digits and '_'\n", optarg);
				if (client) {
					bad = true;
					break;
				}
				return STAP_OPTS_EXIT_ERROR;
			}
			o->s.module_name = optarg;
			forward(o, c, optarg);
			break;
		case 'c': case 'x': case 'o': case 's': case 'G': {
			/* pass 5 hands these to staprun (-s is its -b) */
			char flag[3] = { '-', c == 's' ? 'b' : c, 0 };
			pv_push(&o->s.staprun_args, xstrdup(flag));
			pv_push(&o->s.staprun_args, xstrdup(optarg));
			if (c != 'G')
				forward(o, c, optarg);
			break;
		}
		case 'w':
			pv_push(&o->s.staprun_args, xstrdup("-w"));
			forward(o, c, NULL);
			break;
		case 'k':
			/* keep pass 4's build directory; translator/kbuild.c says where */
			setenv("STAP_KEEP_BUILD", "1", 1);
			o->keep = true;
			break;
		case 't': case 'b': case 'F': case 'P': case 'W':
			forward(o, c, NULL);	/* accepted for compatibility; not used yet */
			break;
		case 'S': case 'd': case 'L': case 'l': case 'E':
			forward(o, c, optarg);
			break;
		case 'T': case 'R': case 'B': case 'i': case 'q':
			break;		/* local only; no effect yet */
		case OPT_COMPAT:
			o->s.compat = optarg;
			pv_push(&o->server_words, xasprintf("--compatible=%s", optarg));
			break;
		case OPT_PRIV:
			if (strcmp(optarg, "stapusr") && strcmp(optarg, "stapsys") &&
			    strcmp(optarg, "stapdev")) {
				fprintf(stderr, "stap: invalid privilege level '%s' "
					"(stapusr, stapsys or stapdev)\n", optarg);
				return STAP_OPTS_EXIT_ERROR;
			}
			o->s.privilege = optarg;
			o->privilege_given = true;
			pv_push(&o->server_words, xasprintf("--privilege=%s", optarg));
			break;
		case OPT_UNPRIV:
			o->s.privilege = "stapusr";
			o->privilege_given = true;
			pv_push(&o->server_words, xstrdup("--unprivileged"));
			break;
		case OPT_USE_SERVER:
			split_servers(o, optarg);
			break;
		case OPT_USE_HTTP_SERVER:
			o->use_server = true;
			o->http_server = optarg;
			break;
		case OPT_TRUST_SERVERS:
			o->trust_servers = optarg ? optarg : "ssl";
			break;
		case OPT_LIST_SERVERS:
			o->list_servers = optarg ? optarg : "";
			break;
		case OPT_FORWARD:
			pv_push(&o->server_words, optarg
				? xasprintf("--%s=%s", longopts[idx].name, optarg)
				: xasprintf("--%s", longopts[idx].name));
			break;
		case OPT_NO_TIME_LIMITS:
			no_time_limits = true;
			pv_push(&o->server_words, xstrdup("--suppress-time-limits"));
			break;
		case OPT_NO_CACHE:
			/* locally: no runtime object cache; from a server client
			 * it is one of the options the server refuses (above) */
			no_cache = !client;
			break;
		case OPT_IGNORED:
		case OPT_REFUSED:
			break;
		case OPT_TAPSET_DIR:
			o->s.tapset_dir = optarg;
			o->want_tapset_env = false;
			break;
		default:
			if (client) {
				bad = true;
				break;
			}
			fprintf(stderr, "Try 'stap --help' for more information.\n");
			return STAP_OPTS_EXIT_ERROR;
		}
	}
	if (o->s.guru && strcmp(o->s.privilege, "stapdev") != 0) {
		fprintf(stderr, "You can't specify -g and --privilege=%s together.\n",
			o->s.privilege);
		bad = true;
	}
	/* it lifts MAXACTION, MAXTRYLOCK and overload processing: guru only.
	 * SystemTap wants -g before it on the line; either order does here */
	if (no_time_limits && !o->s.guru) {
		fprintf(stderr, "ERROR --suppress-time-limits requires guru mode (-g)\n");
		bad = true;
	}
	if (bad)
		return STAP_OPTS_EXIT_ERROR;

	const char *rt = getenv("SYSTEMTAP_RUNTIME");
	o->s.runtime_dir = rt && *rt ? rt : STAP_RUNTIME_DIR;
	if (client) {
		o->s.cache_dir = mode->cache_dir;
	} else if (!no_cache) {
		/* beside SystemTap's own cache: $SYSTEMTAP_DIR/cache */
		const char *d = getenv("SYSTEMTAP_DIR"), *home = getenv("HOME");
		if (d && *d)
			o->s.cache_dir = arena_printf(&o->s.arena, "%s/cache/runtime", d);
		else if (home && *home)
			o->s.cache_dir = arena_printf(&o->s.arena, "%s/.systemtap/cache/runtime", home);
	}
	if (o->want_tapset_env) {
		const char *env = getenv("SYSTEMTAP_TAPSET");
		o->s.tapset_dir = env && *env ? env : STAP_TAPSET_DIR;
	}
	if (!o->inline_script && !o->trust_servers && !o->list_servers) {
		if (optind >= argc) {
			fprintf(stderr, "stap: a script file or -e SCRIPT is required\n"
				"Try 'stap --help' for more information.\n");
			return STAP_OPTS_EXIT_ERROR;
		}
		o->script = argv[optind++];
	}
	o->s.args = argv + optind;
	o->s.nargs = argc - optind;
	if (client && !check_client_words(o, mode))
		return STAP_OPTS_EXIT_ERROR;
	return STAP_OPTS_RUN;
}

int stap_translate(struct stap_options *o)
{
	struct session *s = &o->s;
	if (!session_set_kernel(s, o->kernel))
		return 1;	/* the kernel store contradicts itself: already reported */
	struct source_file *src;
	if (o->script)
		src = session_load_file(s, strcmp(o->script, "-") ? o->script : "/dev/stdin",
					false);
	else
		src = session_add_text(s, "<input>", o->inline_script, false);
	if (!src)
		return 1;
	tapset_load_macros(s);   /* library macros are visible to the script */
	struct stapfile *user = parse_file(s, src);
	if (o->pass == 1) {
		if (diag_errors(&s->diag)) {
			fprintf(stderr, "%d parse error%s.\nPass 1: parse failed.\n",
				s->diag.parse_errors, s->diag.parse_errors == 1 ? "" : "s");
			return 1;
		}
		struct strbuf sb;
		sb_init(&sb);
		sb_printf(&sb, "# parse tree dump\n# file %s\n", src->name);
		print_file(&sb, user);
		fwrite(sb.s, 1, sb.len, stdout);
		sb_free(&sb);
		return 0;
	}
	return elaborate_and_report(s, user, o->pass) ? 0 : 1;
}

void stap_options_free(struct stap_options *o)
{
	for (size_t k = 0; k < o->server_words.n; k++)
		free(o->server_words.v[k]);
	pv_free(&o->server_words);
	for (size_t k = 0; k < o->servers.n; k++)
		free(o->servers.v[k]);
	pv_free(&o->servers);
	session_free(&o->s);
}
