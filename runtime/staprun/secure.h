/* File access for a setuid staprun (docs/privilege.md, findings F1-F4).
 *
 * Two kinds of path: the caller's (module, .sgn), opened with the caller's
 * file-system identity and never followed into anything but a regular
 * file; and root's (trust store, blessed directory), walked component by
 * component, each owned by root and writable by nobody else, so that what
 * was checked is what later opens see. */
#ifndef STAPRUN_SECURE_H
#define STAPRUN_SECURE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

enum stp_read_result {
	STP_READ_OK,
	STP_READ_MISSING,	/* no such file (or a path component missing) */
	STP_READ_NOT_REGULAR,	/* directory, FIFO, device, socket, final symlink */
	STP_READ_TOO_BIG,	/* over the cap, or empty when empties are refused */
	STP_READ_ERROR,		/* permission, I/O, memory: see err */
};

/* Opens path as (uid, gid) - the fs ids are switched for the open and
 * back to root after - after checking through an O_PATH handle that it
 * is a regular file (a FIFO is never opened, a device's open never runs),
 * and reads it whole, at most max bytes.  *st gets the opened file's
 * status (its inode decides blessing, F1).  err gets a one-line reason. */
enum stp_read_result stp_read_as_user(const char *path, uid_t uid, gid_t gid, size_t max,
				      char **buf, size_t *len, struct stat *st,
				      char *err, size_t errlen);

/* Opens an absolute directory path walking it from "/": every component
 * (and every symlink met on the way, whose target is walked the same
 * way) must be owned by root and not writable by group or others; no
 * "..".  Returns an O_PATH directory
 * fd, or -1 with err saying which component failed and why. */
int stp_open_trusted_dir(const char *path, char *err, size_t errlen);

/* The rule above for one file or directory: owned by root, writable by
 * nobody else (stricter than SystemTap, which allows group write on the
 * blessed directory and its modules). */
bool stp_root_controlled(const struct stat *st);

#endif
