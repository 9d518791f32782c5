/* The thin client: compile through a compile server (`stap --use-server`)
 * and manage trust in servers (`--trust-servers`).  Speaks SystemTap's
 * protocol (docs/protocol.md), so it works against SystemTap's
 * stap-serverd as well as ours. */
#ifndef STAP_CLIENT_REMOTE_H
#define STAP_CLIENT_REMOTE_H

#include <stdbool.h>
#include <stddef.h>

/* What stap(1)'s option parser collected for the server. */
struct remote_request {
	const char *script_path;        /* script file; "-" for stdin; NULL when -e was used */
	char *const *include_dirs;      /* -I DIR, in order */
	size_t ninclude;
	char *const *words;             /* forwarded options in command-line order, glued as
					 * SystemTap sends them: "-p4", "-eprobe begin{}",
					 * "-r6.1.0-56-amd64", "--privilege=stapusr", "-DX=1" */
	size_t nwords;
	char *const *script_args;       /* after the script: sent after a "--" word */
	size_t nargs;
	const char *kernel_release;     /* -r value, or the running kernel's */
	const char *arch;               /* -a value, or the running machine's */
	bool foreign_kernel;            /* -r/-a name another kernel: no build-id is sent */
	int last_pass;                  /* 1..5; 5 means "fetch the module, the caller runs it" */
	bool module_name_given;         /* -m: keep our name */
	int verbose;                    /* -v count */
	bool keep_tmp;                  /* -k: keep the client's temp directory and say where */
	const char *privilege;          /* "stapusr" | "stapsys" | "stapdev" */
};

/* Compiles through the first server of `specs` (each HOST[:PORT], IPv4,
 * [IPv6][:PORT] or a certificate serial; see docs/protocol.md) that
 * answers and is trusted.  Prints the server's stdout and stderr.  At pass
 * 4 and 5 the module (and its .sgn) is copied to the current directory and
 * *module_out gets its file name (caller frees); at pass 4 the name is
 * printed as SystemTap does.  Returns the exit status for stap (0 or 1).
 *
 * Each spec may be a comma list.  A port is required for now (servers
 * without one, and certificate serials, need Avahi discovery, not yet
 * supported); no specs at all is an error for the same reason.  Every
 * message is printed here, including SystemTap's closing "Passes: via
 * server failed.  Try again with another '-v' option." on failure and
 * "Keeping temporary directory ..." for -k, so the caller adds none.
 * *module_out is a bare file name ("stap_1234.ko") in the current
 * directory.  The reply may take up to $STAP_CLIENT_TIMEOUT seconds
 * (default 15 minutes; connect and handshake at most 30 s). */
int remote_compile(char *const *specs, size_t nspecs, const struct remote_request *rq,
		   char **module_out);

/* --trust-servers=SPEC with --use-server=SPECS: adds (or with "revoke"
 * removes) trust in those servers as SSL peers for this user, for all
 * users, or as module signers for staprun.  Returns 0 or 1.
 *
 * SPEC is a comma list of ssl, signer, all-users, revoke, no-prompt;
 * without no-prompt the question is asked on stderr and answered on
 * stdin.  Revoking works by HOST:PORT (the server is asked for its
 * certificate) or by certificate serial (no connection). */
int remote_trust(const char *trust_spec, char *const *specs, size_t nspecs, int verbose);

#endif
