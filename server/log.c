/* The server's log: one line per event, "<date>: <message>", as
 * stap-serverd writes it, to --log FILE (appended) or stderr.  Lines from
 * different threads never interleave.  Under systemd, stderr is the
 * journal (JOURNAL_STREAM is set), which stamps each line itself: the date
 * is left out there.  log_reopen (SIGHUP) opens the file again by name, so
 * that a rotated log is followed. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

static FILE *log_out;
static const char *log_path;        /* NULL: stderr */
static bool log_dated = true;       /* false: the journal dates the lines */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static FILE *open_append(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "a");
	if (!f) {
		close(fd);
		return NULL;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

int log_open(const char *path)
{
	log_path = path;
	if (!path) {
		const char *js = getenv("JOURNAL_STREAM");
		log_dated = !(js && *js);
		log_out = stderr;
		return 0;
	}
	log_out = open_append(path);
	return log_out ? 0 : -1;
}

int log_reopen(void)
{
	if (!log_path)
		return 0;
	FILE *f = open_append(log_path);
	if (!f)
		return -1;
	pthread_mutex_lock(&log_lock);
	FILE *old = log_out;
	log_out = f;
	pthread_mutex_unlock(&log_lock);
	if (old && old != stderr)
		fclose(old);
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
	if (log_dated)
		fprintf(f, "%s: ", when);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	fflush(f);
	pthread_mutex_unlock(&log_lock);
	va_end(ap);
}
