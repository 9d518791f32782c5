/* staprun: loads a module and hands over to stapio.
 *
 *   staprun [options] MODULE.ko [name=value ...]   load, set up, exec stapio
 *   staprun -A NAME                                re-attach stapio
 *   staprun -d NAME                                unload
 *
 * Root only for now (privilege checks come in their own issue).  The
 * module file is read into memory once and that buffer is what
 * init_module() gets.  Once the module is in, every failure removes it
 * again (F9).  Exit status: stapio's after a successful hand-over; else 1.
 */
#define _GNU_SOURCE
#include "common.h"
#include "modimage.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef STAPIO_PATH
#define STAPIO_PATH "/usr/local/libexec/stapcs/stapio"
#endif

static const char *prog = "staprun";
static char modname[STP_MODNAME_MAX + 1];
static bool inserted;

static void remove_inserted(void)
{
	if (inserted && syscall(SYS_delete_module, modname, O_NONBLOCK) == 0)
		inserted = false;
	if (inserted)
		stp_msg(prog, "Couldn't remove module '%s': %s.", modname, strerror(errno));
}

static const char *moderror(int e)
{
	switch (e) {
	case ENOEXEC: return "Invalid module format";
	case ENOENT: return "Unknown symbol in module";
	case ESRCH: return "Module has wrong symbol version";
	case EINVAL: return "Invalid parameters";
	default: return strerror(e);
	}
}

/* Resolves the module argument to a path (§3.2 of the reference). */
static int module_path(const char *arg, char *path, size_t cap)
{
	struct utsname u;
	size_t n = strlen(arg);
	int r;

	if (strchr(arg, '/') || (n > 3 && !strcmp(arg + n - 3, ".ko")))
		r = snprintf(path, cap, "%s", arg);
	else if (uname(&u) == 0)
		r = snprintf(path, cap, "/lib/modules/%s/systemtap/%s.ko", u.release, arg);
	else
		r = -1;
	if (r < 0 || (size_t)r >= cap) {
		stp_msg(prog, "'%s': bad module path", arg);
		return -1;
	}
	return 0;
}

/* Reads the whole regular file into memory (F3: never a FIFO or device). */
static int read_module(const char *path, char **image, size_t *size)
{
	struct stat st;
	size_t done = 0;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		stp_msg(prog, "Couldn't open '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		stp_msg(prog, "'%s' is not a regular file", path);
		goto fail;
	}
	if (st.st_size <= 0 || st.st_size > STP_MODULE_SIZE_MAX) {
		stp_msg(prog, "'%s': size %lld is out of range (1 to %ld bytes)",
			path, (long long)st.st_size, STP_MODULE_SIZE_MAX);
		goto fail;
	}
	buf = malloc((size_t)st.st_size);
	if (!buf) {
		stp_msg(prog, "'%s': out of memory", path);
		goto fail;
	}
	while (done < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + done, (size_t)st.st_size - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			stp_msg(prog, r < 0 ? "Couldn't read '%s': %s" :
				"Unexpected EOF reading '%s'%s", path,
				r < 0 ? strerror(errno) : "");
			free(buf);
			goto fail;
		}
		done += (size_t)r;
	}
	close(fd);
	*image = buf;
	*size = done;
	return 0;
fail:
	close(fd);
	return -1;
}

/* "_stp_bufsize=N" then the validated name=value options (F7). */
static int module_options(const struct stp_options *o, char *out, size_t cap)
{
	size_t len;
	int i;

	len = (size_t)snprintf(out, cap, "_stp_bufsize=%d", o->bufsize_mb);
	for (i = 0; i < o->nmodopts; i++) {
		if (!stp_modopt_valid(o->modopts[i])) {
			stp_msg(prog, "invalid module option '%s': expected name=value, "
				"an identifier not starting with _stp, no blanks or quotes",
				o->modopts[i]);
			return -1;
		}
		if (len + 1 + strlen(o->modopts[i]) + 1 > cap) {
			stp_msg(prog, "module options are too long (limit %zu bytes)", cap - 1);
			return -1;
		}
		len += (size_t)sprintf(out + len, " %s", o->modopts[i]);
	}
	return 0;
}

static int open_module_dir(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), STP_PROC_DIR "/%s", name);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd < 0)
		stp_msg(prog, "Cannot attach to module %s control channel; not running? (%s: %s)",
			name, path, strerror(errno));
	return fd;
}

/* Root's part of the set-up: credentials (all privileges: root) and the
 * time zone.  The module refuses STP_START until the credentials came. */
static int send_setup(int dirfd)
{
	struct stp_msg_privilege_credentials pc = { .pc_group_mask = 0xE };
	struct stp_msg_tzinfo tz;
	enum stp_numbering num;
	struct tm tm;
	time_t now = time(NULL);
	int fd, rc;

	fd = openat(dirfd, ".cmd", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		stp_msg(prog, "Cannot attach to module %s control channel; not running? (%s)",
			modname, strerror(errno));
		return -1;
	}
	rc = stp_ctl_probe(fd, STP_IDX_PRIVILEGE_CREDENTIALS, &pc, sizeof(pc), &num);
	if (rc == 0) {
		memset(&tz, 0, sizeof(tz));
		localtime_r(&now, &tm);
		tz.tz_gmtoff = -tm.tm_gmtoff;
		snprintf(tz.tz_name, sizeof(tz.tz_name), "%s", tm.tm_zone ? tm.tm_zone : "");
		rc = stp_ctl_send(fd, num, STP_IDX_TZINFO, &tz, sizeof(tz));
	}
	close(fd);
	if (rc) {
		stp_msg(prog, "Couldn't set up module %s: %s", modname, strerror(-rc));
		return -1;
	}
	return 0;
}

/* stapio beside this staprun, else the installed one. */
static void stapio_path(char *out, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			snprintf(out, cap, "%.*s/stapio", (int)(slash - self), self);
			if (access(out, X_OK) == 0)
				return;
		}
	}
	snprintf(out, cap, "%s", STAPIO_PATH);
}

static void exec_stapio(const struct stp_options *o, int dirfd)
{
	char path[PATH_MAX], fdarg[16], tmo[16], pid[16];
	const char *argv[32];
	int argc = 0, i;

	stapio_path(path, sizeof(path));
	snprintf(fdarg, sizeof(fdarg), "%d", dirfd);
	snprintf(tmo, sizeof(tmo), "%d", o->reader_timeout_ms);
	argv[argc++] = path;
	for (i = 0; i < o->verbose && i < 4; i++)
		argv[argc++] = "-v";
	if (o->quiet_warnings)
		argv[argc++] = "-w";
	if (o->attach)
		argv[argc++] = "-A";
	if (o->load_only)
		argv[argc++] = "-L";
	if (o->daemon)
		argv[argc++] = "-D";
	if (o->command) {
		argv[argc++] = "-c";
		argv[argc++] = o->command;
	}
	if (o->target_pid) {
		snprintf(pid, sizeof(pid), "%d", o->target_pid);
		argv[argc++] = "-x";
		argv[argc++] = pid;
	}
	if (o->outfile) {
		argv[argc++] = "-o";
		argv[argc++] = o->outfile;
	}
	argv[argc++] = "-C";
	argv[argc++] = o->color == STP_COLOR_NEVER ? "never" :
		       o->color == STP_COLOR_ALWAYS ? "always" : "auto";
	argv[argc++] = "-T";
	argv[argc++] = tmo;
	argv[argc++] = "-F";
	argv[argc++] = fdarg;
	argv[argc++] = modname;
	argv[argc] = NULL;

	/* F10: no privilege can come back through the exec */
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (setresgid(getgid(), getgid(), getgid()) ||
	    setresuid(getuid(), getuid(), getuid())) {
		stp_msg(prog, "cannot drop privileges: %s", strerror(errno));
		return;
	}
	execv(path, (char **)argv);
	stp_msg(prog, "cannot run %s: %s", path, strerror(errno));
}

static int load(const struct stp_options *o)
{
	char path[PATH_MAX], opts[8192], *image = NULL;
	size_t size;
	int dirfd;

	if (module_options(o, opts, sizeof(opts)) ||
	    module_path(o->module, path, sizeof(path)) ||
	    read_module(path, &image, &size))
		return 1;
	if (o->rename) {
		char newname[STP_MODNAME_MAX + 1];

		if (stp_modimage_rename(image, size, modname, (int)getpid(),
					newname, sizeof(newname), prog)) {
			free(image);
			return 1;
		}
		snprintf(modname, sizeof(modname), "%s", newname);
	}
	if (o->verbose)
		stp_msg(prog, "loading %s (%zu bytes) as %s with \"%s\"", path, size,
			modname, opts);
	if (syscall(SYS_init_module, image, size, opts) != 0) {
		int e = errno;

		stp_msg(prog, "Couldn't insert module '%s': %s", path, moderror(e));
		if (e == EEXIST && !o->rename)
			stp_msg(prog, "Rerun with staprun option '-R' to rename this module.");
		free(image);
		return 1;
	}
	free(image);
	inserted = true;

	dirfd = open_module_dir(modname);
	if (dirfd < 0 || send_setup(dirfd)) {
		remove_inserted();
		return 1;
	}
	exec_stapio(o, dirfd);
	remove_inserted();		/* F9: exec failed */
	return 1;
}

int main(int argc, char **argv)
{
	struct stp_options o;
	int rc, dirfd;

	setvbuf(stderr, NULL, _IOLBF, 0);
	rc = stp_parse_options(prog, argc, argv, &o);
	if (rc)
		return rc < 0 ? 1 : 0;
	if (o.relay_fd >= 0) {
		stp_msg(prog, "Relay basedir -F option is invalid for staprun");
		return 1;
	}
	if (getuid() != 0 || geteuid() != 0) {
		stp_msg(prog, "only root may run staprun for now (privilege checks come later)");
		return 1;
	}
	if (stp_module_name(prog, o.module, modname, sizeof(modname)))
		return 1;
	if (o.delete_mod)
		return stp_remove_module(prog, modname, o.verbose);
	if (o.attach) {
		dirfd = open_module_dir(modname);
		if (dirfd < 0)
			return 1;
		exec_stapio(&o, dirfd);
		return 1;
	}
	return load(&o);
}
