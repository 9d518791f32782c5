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
 * Each spec may be a comma list.  Specs without a port, certificate
 * serials and no specs at all are completed through Avahi
 * (client/server_select.c): no specs means the online, trusted,
 * compatible (and below stapdev, signer) servers, newest first.  Every
 * message is printed here, including SystemTap's closing "Passes: via
 * server failed.  Try again with another '-v' option." on failure and
 * "Keeping temporary directory ..." for -k, so the caller adds none.
 * *module_out is a bare file name ("stap_1234.ko") in the current
 * directory.  The reply may take up to $STAP_CLIENT_TIMEOUT seconds
 * (default 15 minutes; connect and handshake at most 30 s). */
int remote_compile(char *const *specs, size_t nspecs, const struct remote_request *rq,
		   char **module_out);

/* --use-http-server=URL: the same compile through the HTTP API of
 * stap-serverd (docs/http-api.md): https://HOST:PORT, whose certificate
 * must be trusted as for --use-server, or http:// to a loopback address.
 * Submits the request archive, long-polls, fetches the response archive
 * (module, .sgn, messages) and handles it as remote_compile does. */
int remote_http_compile(const char *url, const struct remote_request *rq, char **module_out);

/* --trust-servers=SPEC with --use-server=SPECS: adds (or with "revoke"
 * removes) trust in those servers as SSL peers for this user, for all
 * users, or as module signers for staprun.  Returns 0 or 1.
 *
 * SPEC is a comma list of ssl, signer, all-users, revoke, no-prompt;
 * without no-prompt the question is asked on stderr and answered on
 * stdin.  Revoking works by HOST:PORT (the server is asked for its
 * certificate) or by certificate serial (no connection). */
int remote_trust(const char *trust_spec, char *const *specs, size_t nspecs, int verbose);

/* The kernel loads only signed modules: sig_enforce, securelevel,
 * lockdown, or SYSTEMTAP_SIGN; SYSTEMTAP_NOSIGN turns the three checks
 * off (SYSTEMTAP_SIGN wins, as in SystemTap).  Then --use-server is
 * switched on (client/stap.c) and the MOKs go with the request. */
bool modules_must_be_signed(void);

/* --list-servers[=PROPS]: prints the servers that have every property
 * of the comma list PROPS (online, trusted, signer, compatible,
 * specified, all; NULL or "" for the default) in SystemTap's format on
 * stderr.  rq gives the kernel, arch and privilege for "compatible" and
 * the default.  Returns 0. */
int remote_list_servers(const char *props, char *const *specs, size_t nspecs,
			const struct remote_request *rq);

#endif
