/* Shared pieces of stap-gen-cert, stap-authorize-cert, stap-sign-module. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

char *default_server_db(void)
{
	const char *sdir = getenv("SYSTEMTAP_DIR");
	if (sdir && *sdir)
		return xasprintf("%s/ssl/server", sdir);
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : "/";
	}
	return xasprintf("%s/.systemtap/ssl/server", home);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

unsigned char *cli_read_file(const char *path, size_t max, size_t *len)
{
	char *data = read_file_bounded(path, max, len);
	if (!data)
		cli_error("cannot read %s: %s", path,
			  errno == EFBIG ? "file too large" : strerror(errno));
	return (unsigned char *)data;
}

int cli_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = xasprintf("%s.tmpXXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		cli_error("cannot create %s: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	const unsigned char *p = data;
	size_t done = 0;
	int e = 0;
	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w < 0 ? errno : EIO;
			break;
		}
		done += (size_t)w;
	}
	if (!e && fchmod(fd, mode) < 0)
		e = errno;
	if (close(fd) < 0 && !e)
		e = errno;
	if (!e && rename(tmp, path) < 0)
		e = errno;
	if (e) {
		cli_error("cannot write %s: %s", path, strerror(e));
		unlink(tmp);
	}
	free(tmp);
	return e ? -1 : 0;
}

int cli_is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cli_parse(int argc, char **argv, const char *usage, const char *flag, int *flag_set,
	      const char *args[2])
{
	int nargs = 0, no_more_options = 0;
	args[0] = args[1] = NULL;
	*flag_set = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!no_more_options && strcmp(a, "--") == 0) {
			no_more_options = 1;
		} else if (!no_more_options && cli_is_help(a)) {
			fputs(usage, stdout);
			return 1;
		} else if (!no_more_options && strcmp(a, flag) == 0) {
			*flag_set = 1;
		} else if (!no_more_options && a[0] == '-' && a[1]) {
			cli_error("unknown option %s (see --help)", a);
			return -1;
		} else if (nargs < 2) {
			args[nargs++] = a;
		} else {
			cli_error("too many arguments (see --help)");
			return -1;
		}
	}
	return 0;
}
