/* stap's command line and the local passes, shared by the stap command
 * (client/stap.c) and the compile server's workers, which run a client's
 * words under SystemTap's --client-options rules. */
#ifndef STAP_DRIVER_H
#define STAP_DRIVER_H

#include <stdbool.h>
#include "session.h"

/* How the words are taken. */
struct stap_mode {
	bool client_options;      /* words from a compile-server client: refuse the
				   * options SystemTap refuses after --client-options
				   * (and -d, --sign-module), cap the pass at 4 */
	const char *kernel;       /* client_options: the kernel the server chose
				   * (release or kbuild tree); a client -r must name it */
	const char *release;      /* client_options: that kernel's release */
	const char *out_dir;      /* where pass 4 puts the module (NULL: ".") */
	const char *cache_dir;    /* client_options: the server's runtime object
				   * cache (translator/rtcache.h), or NULL */
};

struct stap_options {
	struct session s;
	const char *script;          /* script file; NULL with -e */
	const char *inline_script;   /* -e */
	const char *kernel;          /* -r */
	const char *arch;            /* -a */
	int pass;                    /* 1..5 (5: run the module) */
	bool want_tapset_env;        /* no --tapset-dir: SYSTEMTAP_TAPSET applies */
	struct ptrvec server_words;  /* options for a compile server, glued as SystemTap sends them */
	struct ptrvec servers;       /* --use-server=SPEC values (split at commas) */
	bool use_server;             /* --use-server given (with or without specs) */
	bool privilege_given;        /* --privilege or --unprivileged on the line */
	const char *http_server;     /* --use-http-server=URL (use_server is set too) */
	const char *trust_servers;   /* --trust-servers=SPEC */
	const char *list_servers;    /* --list-servers[=PROPS] ("" without PROPS) */
	bool keep;                   /* -k */
};

enum { STAP_OPTS_RUN, STAP_OPTS_EXIT_OK, STAP_OPTS_EXIT_ERROR };
/* Parses argv (argv[0] is the program).  RUN: go on; EXIT_OK: --help or
 * --version was printed; EXIT_ERROR: the error was printed. */
int stap_parse_options(int argc, char **argv, struct stap_options *o,
		       const struct stap_mode *mode);
/* Passes 1 to o->pass here (pass 5 execs staprun).  Exit status. */
int stap_translate(struct stap_options *o);
void stap_options_free(struct stap_options *o);

#endif
