/* What staprun and stapio share: the command line, module names, and
 * talking to a module's .cmd file. */
#ifndef STAPRUN_COMMON_H
#define STAPRUN_COMMON_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport_user.h"

#define STP_MAX_MODOPTIONS 64		/* module argument + 63 options */
#define STP_MODNAME_MAX 56		/* kernel MODULE_NAME_LEN - sizeof(long) */
#define STP_MODULE_SIZE_MAX (512L << 20) /* refuse bigger .ko files */
#define STP_PROC_DIR "/proc/systemtap"

struct stp_options {
	int verbose;			/* -v, repeatable */
	bool quiet_warnings;		/* -w */
	int bufsize_mb;			/* -b N, 0 = module default */
	int target_pid;			/* -x PID */
	const char *command;		/* -c CMD */
	const char *outfile;		/* -o FILE (absolute after parsing) */
	bool delete_mod;		/* -d */
	bool attach;			/* -A */
	bool load_only;			/* -L */
	bool daemon;			/* -D */
	bool rename;			/* -R */
	int reader_timeout_ms;		/* -T MS, default 200 */
	enum { STP_COLOR_NEVER, STP_COLOR_AUTO, STP_COLOR_ALWAYS } color; /* -C */
	int relay_fd;			/* -F FD (stapio only), -1 = none */
	int unloader_fd;		/* -U FD (stapio only): unloader.h, -1 = none */
	const char *module;		/* first operand: path or name */
	const char *modopts[STP_MAX_MODOPTIONS]; /* name=value operands */
	int nmodopts;
	char outfile_buf[4096];
};

/* Parses argv for prog ("staprun" or "stapio"); prints the message and
 * returns -1 on a usage error, 1 after --help/-V (exit 0), else 0. */
int stp_parse_options(const char *prog, int argc, char **argv,
		      struct stp_options *o);
void stp_usage(const char *prog);

/* Module name of a path or name argument ("dir/stap_x.ko" -> "stap_x");
 * returns -1 (with a message) when it is empty or too long. */
int stp_module_name(const char *prog, const char *arg, char *name, size_t cap);

/* F7: a module option must be name=value with an identifier name that
 * does not start with "_stp", and a value without blanks or quotes. */
bool stp_modopt_valid(const char *opt);

/* One message on .cmd under numbering num; returns 0 or -errno. */
int stp_ctl_send(int fd, enum stp_numbering num, unsigned idx,
		 const void *payload, size_t len);

/* Numbering of the module behind fd, found by sending idx (a message the
 * module accepts from us) with payload, 5.x first.  0 or -errno. */
int stp_ctl_probe(int fd, unsigned idx, const void *payload, size_t len,
		  enum stp_numbering *num);

/* Removes module name: .cmd must exist and not be attached.  Returns the
 * exit status for staprun -d. */
int stp_remove_module(const char *prog, const char *name, int verbose);

/* The signals staprun holds while it loads a module and stapio releases
 * once its handlers are in place (a Ctrl-C meanwhile ends the run in
 * order instead of orphaning the module). */
void stp_load_signals(sigset_t *set);

void stp_msg(const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
