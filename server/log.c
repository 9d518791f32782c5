/* The server's log: one line per event, "<date>: <message>", as
 * stap-serverd writes it, to --log FILE (appended) or stderr.  Lines from
 * different threads never interleave. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

static FILE *log_out;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

int log_open(const char *path)
{
	if (!path) {
		log_out = stderr;
		return 0;
	}
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return -1;
	log_out = fdopen(fd, "a");
	if (!log_out) {
		close(fd);
		return -1;
	}
	setvbuf(log_out, NULL, _IOLBF, 0);
	return 0;
}

void server_log(const char *fmt, ...)
{
	char when[64];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(when, sizeof when, "%a %b %e %H:%M:%S %Y", &tm);
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&log_lock);
	FILE *f = log_out ? log_out : stderr;
	fprintf(f, "%s: ", when);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	fflush(f);
	pthread_mutex_unlock(&log_lock);
	va_end(ap);
}
