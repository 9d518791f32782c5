/* Safe file access for staprun; see secure.h. */
#define _GNU_SOURCE
#include "secure.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <unistd.h>

#define MAX_SYMLINKS 16

static void say(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

bool stp_root_controlled(const struct stat *st)
{
	return st->st_uid == 0 && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* The caller's file-system identity for one open; back to root after.
 * Changing fsuid resets the dumpable flag, so it is cleared again. */
static void fs_identity(uid_t uid, gid_t gid)
{
	setfsgid(gid);
	setfsuid(uid);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static int open_as(const char *path, uid_t uid, gid_t gid, struct stat *st,
		   enum stp_read_result *why, char *err, size_t errlen)
{
	char proc[64];
	int pfd, fd = -1, e;

	fs_identity(uid, gid);
	pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	e = errno;
	if (pfd >= 0 && fstat(pfd, st) == 0) {
		if (!S_ISREG(st->st_mode)) {
			*why = STP_READ_NOT_REGULAR;
			say(err, errlen, S_ISLNK(st->st_mode) ? "'%s' is a symbolic link" :
			    "'%s' is not a regular file", path);
		} else {
			/* reopening the O_PATH handle checks read permission
			 * as the caller on the inode already looked at */
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
			fd = open(proc, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
			e = errno;
			if (fd < 0) {
				*why = STP_READ_ERROR;
				say(err, errlen, "Couldn't open '%s': %s", path, strerror(e));
			}
		}
	} else if (pfd >= 0) {
		*why = STP_READ_ERROR;
		say(err, errlen, "Couldn't examine '%s': %s", path, strerror(errno));
	} else if (e == ENOENT || e == ENOTDIR) {
		*why = STP_READ_MISSING;
		say(err, errlen, "'%s' does not exist", path);
	} else if (e == ELOOP) {
		*why = STP_READ_NOT_REGULAR;
		say(err, errlen, "'%s' is a symbolic link", path);
	} else {
		*why = STP_READ_ERROR;
		say(err, errlen, "Couldn't open '%s': %s", path, strerror(e));
	}
	if (pfd >= 0)
		close(pfd);
	fs_identity(0, 0);
	return fd;
}

enum stp_read_result stp_read_as_user(const char *path, uid_t uid, gid_t gid, size_t max,
				      char **buf, size_t *len, struct stat *st,
				      char *err, size_t errlen)
{
	enum stp_read_result why = STP_READ_OK;
	struct stat now;
	size_t done = 0, size;
	char *b;
	int fd = open_as(path, uid, gid, st, &why, err, errlen);

	if (fd < 0)
		return why;
	/* the inode opened must be the one examined */
	if (fstat(fd, &now) || now.st_dev != st->st_dev || now.st_ino != st->st_ino ||
	    !S_ISREG(now.st_mode)) {
		say(err, errlen, "'%s' changed while it was opened", path);
		close(fd);
		return STP_READ_ERROR;
	}
	*st = now;
	if (now.st_size <= 0 || (unsigned long long)now.st_size > max) {
		say(err, errlen, "'%s': size %lld is out of range (1 to %zu bytes)",
		    path, (long long)now.st_size, max);
		close(fd);
		return STP_READ_TOO_BIG;
	}
	size = (size_t)now.st_size;
	b = malloc(size);
	if (!b) {
		say(err, errlen, "'%s': out of memory", path);
		close(fd);
		return STP_READ_ERROR;
	}
	while (done < size) {
		ssize_t r = read(fd, b + done, size - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			say(err, errlen, r < 0 ? "Couldn't read '%s': %s" : "Unexpected EOF reading '%s'%s",
			    path, r < 0 ? strerror(errno) : "");
			free(b);
			close(fd);
			return STP_READ_ERROR;
		}
		done += (size_t)r;
	}
	close(fd);
	*buf = b;
	*len = size;
	return STP_READ_OK;
}

/* Splits the front component off *rest into comp (no '/'). */
static bool next_component(const char **rest, char *comp, size_t cap)
{
	const char *p = *rest;
	size_t n;

	while (*p == '/')
		p++;
	n = strcspn(p, "/");
	if (n == 0 || n >= cap)
		return false;
	memcpy(comp, p, n);
	comp[n] = '\0';
	*rest = p + n;
	return true;
}

int stp_open_trusted_dir(const char *path, char *err, size_t errlen)
{
	char todo[2 * PATH_MAX], comp[NAME_MAX + 1], link[PATH_MAX], shown[PATH_MAX];
	const char *rest;
	struct stat st;
	int dir, next, links = 0;

	if (path[0] != '/' || strlen(path) >= PATH_MAX) {
		say(err, errlen, "'%s' is not an absolute path", path);
		return -1;
	}
	snprintf(todo, sizeof(todo), "%s", path);
	rest = todo;
	snprintf(shown, sizeof(shown), "/");
	dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0 || fstat(dir, &st) || !stp_root_controlled(&st)) {
		say(err, errlen, "'/' is not owned by root or is writable by others");
		goto fail;
	}
	while (next_component(&rest, comp, sizeof(comp))) {
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			say(err, errlen, "'%s': '..' is not allowed in a trusted path", path);
			goto fail;
		}
		if (fstatat(dir, comp, &st, AT_SYMLINK_NOFOLLOW)) {
			say(err, errlen, "'%s%s%s': %s", shown, shown[1] ? "/" : "", comp,
			    strerror(errno));
			goto fail;
		}
		if (S_ISLNK(st.st_mode)) {
			/* the link sits in a root-controlled directory; walk
			 * its target the same way, component by component */
			ssize_t n = readlinkat(dir, comp, link, sizeof(link) - 1);
			char again[2 * PATH_MAX];

			if (n <= 0 || ++links > MAX_SYMLINKS) {
				say(err, errlen, "'%s': too many or unreadable symbolic links", path);
				goto fail;
			}
			link[n] = '\0';
			snprintf(again, sizeof(again), "%s%s", link, rest);
			snprintf(todo, sizeof(todo), "%s", again);
			rest = todo;
			if (link[0] == '/') {
				close(dir);
				dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (dir < 0)
					goto fail;
				snprintf(shown, sizeof(shown), "/");
			}
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			say(err, errlen, "'%s%s%s' is not a directory", shown, shown[1] ? "/" : "", comp);
			goto fail;
		}
		if (!stp_root_controlled(&st)) {
			say(err, errlen, "'%s%s%s' must be owned by root and writable by nobody else",
			    shown, shown[1] ? "/" : "", comp);
			goto fail;
		}
		next = openat(dir, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			say(err, errlen, "'%s': %s", comp, strerror(errno));
			goto fail;
		}
		close(dir);
		dir = next;
		{
			size_t sl = strlen(shown);

			snprintf(shown + sl, sizeof(shown) - sl, "%s%s", sl > 1 ? "/" : "", comp);
		}
	}
	while (*rest == '/')
		rest++;
	if (*rest) {
		say(err, errlen, "'%s': a path component is too long", path);
		goto fail;
	}
	return dir;
fail:
	if (dir >= 0)
		close(dir);
	return -1;
}
