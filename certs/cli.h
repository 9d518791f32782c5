/* What the certs/ tools share: default database paths and whole-file
 * reading and writing with messages in the tools' "prog: what: why"
 * form. */
#ifndef STAP_CERTS_CLI_H
#define STAP_CERTS_CLI_H

#include <stddef.h>
#include <sys/types.h>

/* $SYSTEMTAP_DIR/ssl/server, else ~/.systemtap/ssl/server.  Caller frees. */
char *default_server_db(void);
/* Where staprun looks for trusted module signers. */
#define DEFAULT_SIGNER_DB "/etc/systemtap/staprun"

/* Prints "prog: fmt...\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The whole file (at most max bytes) or NULL after cli_error. */
unsigned char *cli_read_file(const char *path, size_t max, size_t *len);
/* Writes the file whole (created with mode, replaced atomically); 0 or -1
 * after cli_error. */
int cli_write_file(const char *path, const void *data, size_t len, mode_t mode);
/* True for -h and --help. */
int cli_is_help(const char *arg);
/* The tools' command line: up to two operands, one optional flag (e.g.
 * "--sha1"), -h/--help, "--".  Returns 0 to go on, 1 after printing usage
 * (exit 0), -1 after an error message (exit 1). */
int cli_parse(int argc, char **argv, const char *usage, const char *flag, int *flag_set,
	      const char *args[2]);

#endif
