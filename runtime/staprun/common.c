/* Shared by staprun and stapio; see common.h. */
#define _GNU_SOURCE
#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void stp_msg(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void stp_load_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGTSTP);
}

void stp_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [options] MODULE [name=value ...]\n"
		"  -v        more verbose (repeatable)\n"
		"  -w        drop WARNING messages from the module\n"
		"  -b N      relay buffer of N MB per CPU (1-4095)\n"
		"  -x PID    target() process\n"
		"  -c CMD    run CMD (as you) once the probes are running; stop when it exits\n"
		"  -o FILE   write the script's output to FILE\n"
		"  -D        run in the background (needs -o)\n"
		"  -A        attach to a loaded module      -L  load, start and detach\n"
		"  -d        remove a loaded module (MODULE is its name)\n"
		"  -R        rename the module to NAME_PID before loading\n"
		"  -T MS     trace reader poll timeout (default 200)\n"
		"  -C WHEN   colour: never, auto, always\n"
		"Exit status: 0 clean run, 1 error (an ERROR from the script included).\n",
		prog);
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int usage_error(const char *prog, const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	fprintf(stderr, "Try '%s -h' for usage.\n", prog);
	return -1;
}

static int make_absolute(const char *prog, struct stp_options *o)
{
	char cwd[2048];
	int n;

	if (o->outfile[0] == '/')
		return 0;
	if (!getcwd(cwd, sizeof(cwd)))
		return usage_error(prog, "Unable to make output file name absolute: %s",
				   strerror(errno));
	n = snprintf(o->outfile_buf, sizeof(o->outfile_buf), "%s/%s", cwd,
		     o->outfile);
	if (n < 0 || (size_t)n >= sizeof(o->outfile_buf))
		return usage_error(prog, "Filename %s is too long.", o->outfile);
	o->outfile = o->outfile_buf;
	return 0;
}

int stp_parse_options(const char *prog, int argc, char **argv,
		      struct stp_options *o)
{
	int c;
	long v;

	memset(o, 0, sizeof(*o));
	o->reader_timeout_ms = 200;
	o->color = STP_COLOR_AUTO;
	o->relay_fd = -1;
	o->unloader_fd = -1;
	optind = 0;	/* glibc: full re-initialisation */
	opterr = 1;
	while ((c = getopt(argc, argv, "+vwb:x:t:c:o:dADLRT:C:F:U:hV")) != -1) {
		switch (c) {
		case 'v': o->verbose++; break;
		case 'w': o->quiet_warnings = true; break;
		case 'b':
			if (parse_int(optarg, 1, STP_BUFSIZE_MAX_MB, &v))
				return usage_error(prog, "Invalid buffer size '%s' (should be 1-4095).", optarg);
			o->bufsize_mb = (int)v;
			break;
		case 'x':
		case 't':
			if (parse_int(optarg, 1, 0x7fffffff, &v))
				return usage_error(prog, "Invalid target pid '%s'.", optarg);
			o->target_pid = (int)v;
			break;
		case 'c': o->command = optarg; break;
		case 'o': o->outfile = optarg; break;
		case 'd': o->delete_mod = true; break;
		case 'A': o->attach = true; break;
		case 'D': o->daemon = true; break;
		case 'L': o->load_only = true; break;
		case 'R': o->rename = true; break;
		case 'T':
			if (parse_int(optarg, 1, 60000, &v))
				return usage_error(prog, "Invalid reader timeout value '%s' (should be 1-60000).", optarg);
			o->reader_timeout_ms = (int)v;
			break;
		case 'C':
			if (!strcmp(optarg, "never"))
				o->color = STP_COLOR_NEVER;
			else if (!strcmp(optarg, "auto"))
				o->color = STP_COLOR_AUTO;
			else if (!strcmp(optarg, "always"))
				o->color = STP_COLOR_ALWAYS;
			else
				return usage_error(prog, "Invalid option '%s' for -C.", optarg);
			break;
		case 'F':
			if (parse_int(optarg, 0, 1 << 20, &v))
				return usage_error(prog, "Invalid file descriptor option '%s'.", optarg);
			o->relay_fd = (int)v;
			break;
		case 'U':
			if (parse_int(optarg, 0, 1 << 20, &v))
				return usage_error(prog, "Invalid file descriptor option '%s'.", optarg);
			o->unloader_fd = (int)v;
			break;
		case 'h': stp_usage(prog); return 1;
		case 'V': printf("%s (stapcs) protocol 5.x and 4.x\n", prog); fflush(stdout); return 1;
		default: fprintf(stderr, "Try '%s -h' for usage.\n", prog); return -1;
		}
	}
	if (optind >= argc)
		return usage_error(prog, "%s", "Need a module name or path to load.");
	o->module = argv[optind++];
	for (; optind < argc; optind++) {
		if (o->nmodopts >= STP_MAX_MODOPTIONS - 1)
			return usage_error(prog, "Too many module options (limit %s).", "63");
		o->modopts[o->nmodopts++] = argv[optind];
	}

	if (o->attach && o->load_only)
		return usage_error(prog, "%s", "You can't specify the '-A' and '-L' options together.");
	if (o->attach && o->bufsize_mb)
		return usage_error(prog, "%s", "You can't specify the '-A' and '-b' options together.");
	if (o->attach && o->command)
		return usage_error(prog, "%s", "You can't specify the '-A' and '-c' options together.");
	if (o->attach && o->target_pid)
		return usage_error(prog, "%s", "You can't specify the '-A' and '-x' options together.");
	if (o->command && o->target_pid)
		return usage_error(prog, "%s", "You can't specify the '-c' and '-x' options together.");
	if (o->daemon && (o->load_only || o->delete_mod || o->command))
		return usage_error(prog, "%s", "You can't specify the '-D' option with '-L', '-d' or '-c'.");
	if (o->daemon && !o->outfile)
		return usage_error(prog, "%s", "You have to specify output FILE with '-D' option.");
	if ((o->attach || o->delete_mod) && o->nmodopts)
		return usage_error(prog, "%s", "Cannot have module options with attach (-A) or delete (-d).");
	if (o->outfile && make_absolute(prog, o))
		return -1;
	return 0;
}

int stp_module_name(const char *prog, const char *arg, char *name, size_t cap)
{
	const char *base = strrchr(arg, '/');
	const char *dot;
	size_t n;

	base = base ? base + 1 : arg;
	dot = strrchr(base, '.');
	n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	if (n == 0) {
		stp_msg(prog, "'%s': no module name", arg);
		return -1;
	}
	if (n >= STP_MODNAME_MAX || n >= cap) {
		stp_msg(prog, "Module name ('%.*s') is too long (limit %d characters).",
			(int)n, base, STP_MODNAME_MAX - 1);
		return -1;
	}
	memcpy(name, base, n);
	name[n] = '\0';
	return 0;
}

bool stp_modopt_valid(const char *opt)
{
	const char *eq = strchr(opt, '=');
	const char *p;

	if (!eq || eq == opt || !(isalpha((unsigned char)opt[0]) || opt[0] == '_'))
		return false;
	for (p = opt; p < eq; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return false;
	if (!strncmp(opt, "_stp", 4))
		return false;
	for (p = eq + 1; *p; p++)
		if (isspace((unsigned char)*p) || *p == '"' || *p == '\'' ||
		    !isprint((unsigned char)*p))
			return false;
	return eq - opt < 64 && strlen(eq + 1) < 1024;
}

int stp_ctl_send(int fd, enum stp_numbering num, unsigned idx,
		 const void *payload, size_t len)
{
	char buf[STP_CTL_WRITE_MAX];
	long n = stp_msg_encode(num, idx, payload, len, buf, sizeof(buf));
	ssize_t w;

	if (n < 0)
		return -EMSGSIZE;
	do
		w = write(fd, buf, (size_t)n);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	/* a module answers the whole length, or (old ones) the payload */
	if (w != n && (size_t)w != len)
		return -EIO;
	return 0;
}

int stp_ctl_probe(int fd, unsigned idx, const void *payload, size_t len,
		  enum stp_numbering *num)
{
	int rc = stp_ctl_send(fd, STP_NUM_V5, idx, payload, len);

	if (rc == -EINVAL) {
		rc = stp_ctl_send(fd, STP_NUM_V4, idx, payload, len);
		if (rc == 0)
			*num = STP_NUM_V4;
		return rc;
	}
	if (rc == 0)
		*num = STP_NUM_V5;
	return rc;
}

int stp_remove_module(const char *prog, const char *name, int verbose)
{
	char path[256];
	int fd, i, rc = -1;

	snprintf(path, sizeof(path), STP_PROC_DIR "/%s/.cmd", name);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;

		if (e == EBUSY)
			stp_msg(prog, "Cannot remove module %s: stapio is attached to it.", name);
		else
			stp_msg(prog, "'%s' is not a zombie systemtap module: %s: %s",
				name, path, strerror(e));
		return 1;
	}
	close(fd);
	for (i = 0; i < 50; i++) {
		rc = (int)syscall(SYS_delete_module, name, O_NONBLOCK);
		if (rc == 0 || (errno != EINTR && errno != EWOULDBLOCK &&
				errno != EAGAIN))
			break;
		nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	}
	if (rc) {
		stp_msg(prog, "Couldn't remove module '%s': %s.", name, strerror(errno));
		return 1;
	}
	if (verbose)
		stp_msg(prog, "Module %s removed.", name);
	return 0;
}
