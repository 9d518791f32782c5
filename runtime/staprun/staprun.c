/* staprun: decides whether the caller may load a module, loads it, and
 * hands over to stapio.  Installed setuid root, group stapusr, mode 4750.
 *
 *   staprun [options] MODULE[.ko] [name=value ...]   check, load, run stapio
 *   staprun -A NAME                                  re-attach stapio
 *   staprun -d NAME | '*'                            unload
 *
 * The rules and every message are in docs/privilege.md; the numbers Fn
 * below are the findings on SystemTap's staprun that doc answers.  In
 * short: the caller's files are opened with the caller's identity and
 * read once; the checks (signature, privilege, kernel, name, options) and
 * init_module() all use that one buffer; a root-only helper process
 * removes the module whenever the run does not end in an asked-for
 * detach; stapio runs with the caller's ids and no way back to root.
 *
 * Exit status: stapio's after the hand-over; 255 when the caller is not
 * allowed (or the module was altered); 1 for any other failure. */
#define _GNU_SOURCE
#include "common.h"
#include "modimage.h"
#include "privilege.h"
#include "secure.h"
#include "unloader.h"
#include "nss.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef STAPIO_PATH
#define STAPIO_PATH "/usr/local/libexec/stapcs/stapio"
#endif
#ifndef STP_TRUST_STORE
#define STP_TRUST_STORE "/etc/systemtap/staprun"
#endif
#define STP_SGN_SIZE_MAX (64 * 1024)
#define EXIT_REFUSED 255

static const char *prog = "staprun";

/* The caller, as the kernel started us. */
static struct {
	uid_t uid;
	gid_t gid;
	int cred;		/* privilege mask (privilege.h) */
	char **env;		/* the caller's environment, for stapio only */
} caller;

static char modname[STP_MODNAME_MAX + 1];
static char *empty_env[] = { NULL };

/* --- start-up hardening (F6, F10) --------------------------------------- */

static const int limited[] = { RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_AS, RLIMIT_NOFILE };
static struct rlimit saved_limits[sizeof(limited) / sizeof(limited[0])];

/* Runs before anything reads input: fds 0-2 exist, no other fd is
 * inherited, the environment is empty (the caller's is kept aside for
 * stapio), a known umask, not dumpable, limits the caller set cannot cut
 * a check or a load short, and the signals that would stop a load are
 * held (a pending Ctrl-C reaches stapio, which ends the run in order). */
static void harden(void)
{
	sigset_t hold;

	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			_exit(1);
	close_range(3, ~0U, 0);
	caller.uid = getuid();
	caller.gid = getgid();
	caller.env = environ;
	environ = empty_env;
	umask(022);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	for (size_t i = 0; i < sizeof(limited) / sizeof(limited[0]); i++) {
		struct rlimit max = { RLIM_INFINITY, RLIM_INFINITY };

		getrlimit(limited[i], &saved_limits[i]);
		if (limited[i] == RLIMIT_NOFILE)
			max.rlim_cur = max.rlim_max = 1024;
		if (geteuid() == 0)
			setrlimit(limited[i], &max);
	}
	stp_load_signals(&hold);
	sigprocmask(SIG_BLOCK, &hold, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The caller's environment value of name, for root callers' overrides. */
static const char *caller_env(const char *name)
{
	size_t n = strlen(name);

	for (char **e = caller.env; e && *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/* F13: root in a user namespace is not root; init_module would refuse
 * anyway, but nothing should be decided on such an id. */
static bool initial_user_namespace(void)
{
	char buf[128];
	unsigned long a, b, c;
	FILE *f = fopen("/proc/self/uid_map", "re");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, sizeof(buf), f) && sscanf(buf, "%lu %lu %lu", &a, &b, &c) == 3 &&
	     a == 0 && b == 0 && c == 4294967295UL && !fgets(buf, sizeof(buf), f);
	fclose(f);
	return ok;
}

/* --- who is calling (F12) ------------------------------------------------- */

static int credentials(void)
{
	struct stp_groups g = { 0 };
	gid_t groups[NGROUPS_MAX];
	int n;

	if (caller.uid == 0)
		return STP_PR_ALL;
	stp_groups_lookup(&g);
	n = getgroups(NGROUPS_MAX, groups);
	if (n < 0) {
		stp_msg(prog, "Unable to retrieve group list: %s", strerror(errno));
		return STP_PR_NONE;
	}
	return stp_credentials(&g, caller.gid, groups, (size_t)n);
}

static int refuse_normal_user(void)
{
	stp_msg(prog, "You are trying to run systemtap as a normal user.  You should "
		"either be root, or be part of group \"stapusr\" and possibly the groups "
		"\"stapsys\" or \"stapdev\".");
	return EXIT_REFUSED;
}

/* --- the root-only unloader ----------------------------------------------- */

static int unloader_fd = -1;

/* Tells the unloader how the run ended and, for an unload, waits for it. */
static int finish(char verdict, int rc)
{
	if (unloader_fd >= 0) {
		int r = stp_unloader_tell(unloader_fd, verdict);

		if (verdict == STP_UNLOADER_UNLOAD && r)
			rc = rc ? rc : 1;
		close(unloader_fd);
		unloader_fd = -1;
	}
	return rc;
}

/* --- a loaded module's control directory (-d, -A, after loading) --------- */

/* The module's /proc/systemtap directory, checked to be the caller's:
 * .cmd belongs to the real uid that loaded it (root may use any). */
static int open_module_dir(const char *name, bool quiet_missing)
{
	char path[256];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), STP_PROC_DIR "/%s", name);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (!quiet_missing)
			stp_msg(prog, "Cannot attach to module %s control channel; not running? "
				"(%s: %s)", name, path, strerror(errno));
		return -1;
	}
	if (fstatat(fd, ".cmd", &st, AT_SYMLINK_NOFOLLOW) != 0) {
		stp_msg(prog, "'%s' is not a systemtap module (%s/.cmd: %s)", name, path,
			strerror(errno));
		close(fd);
		return -1;
	}
	if (caller.uid != 0 && st.st_uid != caller.uid) {
		stp_msg(prog, "Module %s belongs to another user (uid %u); you may only "
			"attach to or remove your own modules.", name, (unsigned)st.st_uid);
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

static int remove_one(const char *name)
{
	int fd = open_module_dir(name, false);

	if (fd < 0)
		return errno == EPERM ? EXIT_REFUSED : 1;
	close(fd);
	return stp_remove_module(prog, name, 1);
}

/* -d '*': every unattached module of the caller (root: of anyone). */
static int remove_all(void)
{
	DIR *d = opendir(STP_PROC_DIR);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		char cmd[300];

		if (e->d_name[0] == '.' || strlen(e->d_name) > STP_MODNAME_MAX)
			continue;
		snprintf(cmd, sizeof(cmd), STP_PROC_DIR "/%s/.cmd", e->d_name);
		if (lstat(cmd, &st) || (caller.uid != 0 && st.st_uid != caller.uid))
			continue;
		if (stp_remove_module(prog, e->d_name, 1))
			rc = 1;
	}
	closedir(d);
	return rc;
}

/* --- the module and its signature ------------------------------------------ */

/* Resolves the module argument to a path (ref §3.2): a path as given; a
 * bare NAME is NAME.ko in the blessed directory. */
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

struct module {
	char path[PATH_MAX];
	char *image;
	size_t size;
	struct stat st;		/* of the file read */
	struct stp_modimage_info info;
	char *sgn;		/* NULL: no usable .sgn */
	size_t sgnlen;
};

static int read_module(struct module *m)
{
	char err[PATH_MAX + 128], sgnpath[PATH_MAX + 8];
	struct stat sst;
	enum stp_read_result r;

	r = stp_read_as_user(m->path, caller.uid, caller.gid, STP_MODULE_SIZE_MAX,
			     &m->image, &m->size, &m->st, err, sizeof(err));
	if (r != STP_READ_OK) {
		stp_msg(prog, "%s", err);
		return -1;
	}
	/* the .sgn: missing, odd or garbage only means "not signed" (F15) */
	snprintf(sgnpath, sizeof(sgnpath), "%s.sgn", m->path);
	r = stp_read_as_user(sgnpath, caller.uid, caller.gid, STP_SGN_SIZE_MAX,
			     &m->sgn, &m->sgnlen, &sst, err, sizeof(err));
	if (r != STP_READ_OK && r != STP_READ_MISSING)
		stp_msg(prog, "WARNING: ignoring the signature: %s", err);
	return 0;
}

/* F8: the kernel names the module from inside the file; a file named
 * otherwise would leave us looking for the wrong control directory. */
static int check_name(struct module *m)
{
	const struct stp_modimage_info *mi = &m->info;

	if (stp_modimage_inspect(m->image, m->size, &m->info)) {
		stp_msg(prog, "'%s' is not a kernel module for this machine (no valid "
			".gnu.linkonce.this_module section)", m->path);
		return -1;
	}
	if (strcmp(mi->elf_name, modname) != 0 ||
	    (mi->info_name[0] && strcmp(mi->info_name, modname) != 0)) {
		stp_msg(prog, "The module file %s is named '%s' but the module inside calls "
			"itself '%s'; rename the file to %s.ko.", m->path, modname, mi->elf_name,
			mi->elf_name);
		return -1;
	}
	return 0;
}

/* Files of the trust store NSS may open, checked through the store's
 * fd (F2): regular, root's, writable by nobody else. */
static const char *const store_files[] = {
	"cert9.db", "key4.db", "pkcs11.txt", "cert8.db", "key3.db", "secmod.db",
};

static bool trust_store_usable(char *why, size_t cap)
{
	int dir = stp_open_trusted_dir(STP_TRUST_STORE, why, cap);
	bool ok = dir >= 0, any = false;

	for (size_t i = 0; ok && i < sizeof(store_files) / sizeof(store_files[0]); i++) {
		struct stat st;

		if (fstatat(dir, store_files[i], &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (!S_ISREG(st.st_mode) || !stp_root_controlled(&st)) {
			snprintf(why, cap, "%s/%s must be a regular file owned by root and "
				 "writable by nobody else", STP_TRUST_STORE, store_files[i]);
			ok = false;
		}
		any = true;
	}
	if (ok && !any) {
		snprintf(why, cap, "%s holds no certificate database", STP_TRUST_STORE);
		ok = false;
	}
	if (dir >= 0)
		close(dir);
	return ok;
}

/* F15: ALTERED ends the run for everyone; every other outcome only says
 * whether the signature can vouch for the module. */
static enum sgn_result check_signature(const struct module *m, int verbose)
{
	char msg[512];
	enum sgn_result r;

	if (!m->sgn) {
		if (verbose)
			stp_msg(prog, "Signature file %s.sgn not found", m->path);
		return SGN_UNTRUSTED;
	}
	if (!trust_store_usable(msg, sizeof(msg))) {
		stp_msg(prog, "WARNING: Unable to use the trust store: %s", msg);
		return SGN_ERROR;
	}
	r = module_verify(STP_TRUST_STORE, m->image, m->size, m->sgn, m->sgnlen,
			  msg, sizeof(msg));
	switch (r) {
	case SGN_ALTERED:
		stp_msg(prog, "Unable to verify the signed module %s.  It may have been "
			"altered since it was created. (%s)", m->path, msg);
		break;
	case SGN_ERROR:
		stp_msg(prog, "WARNING: Unable to check the signature of %s: %s", m->path, msg);
		break;
	case SGN_UNTRUSTED:
		if (verbose)
			stp_msg(prog, "The signature of %s is not by a trusted signer (%s)",
				m->path, msg);
		break;
	case SGN_TRUSTED:
		if (verbose)
			stp_msg(prog, "Module %s is signed by a trusted signer", m->path);
		break;
	}
	return r;
}

/* F1: an unsigned module is allowed when the file read is an entry of
 * the blessed directory itself - the same inode, found from a directory
 * walked from "/" through root's components only - owned by root and
 * writable by nobody else.  Subdirectories are not blessed. */
static int check_blessed(const struct module *m)
{
	char dir[PATH_MAX], why[PATH_MAX + 128];
	const char *base = strrchr(m->path, '/');
	struct utsname u;
	struct stat st;
	int fd;

	base = base ? base + 1 : m->path;
	if (uname(&u) != 0)
		return -1;
	snprintf(dir, sizeof(dir), "/lib/modules/%s/systemtap", u.release);
	fd = stp_open_trusted_dir(dir, why, sizeof(why));
	if (fd < 0) {
		stp_msg(prog, "Members of the \"stapusr\" and \"stapsys\" groups can only use "
			"unsigned modules within the \"%s\" directory.  That directory cannot "
			"be used: %s", dir, why);
		return -1;
	}
	if (fstatat(fd, base, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_dev != m->st.st_dev || st.st_ino != m->st.st_ino) {
		close(fd);
		stp_msg(prog, "Members of the \"stapusr\" and \"stapsys\" groups can only use "
			"unsigned modules within the \"%s\" directory.  Module \"%s\" does not "
			"exist within that directory.", dir, m->path);
		return -1;
	}
	close(fd);
	if (m->st.st_uid != 0) {
		stp_msg(prog, "The module \"%s\" must be owned by root.", m->path);
		return -1;
	}
	if (!stp_root_controlled(&m->st)) {
		stp_msg(prog, "The module \"%s\" must not be writable by group or others.",
			m->path);
		return -1;
	}
	return 0;
}

/* Decides whether the caller may load m, whose signature check said
 * sig; sets caller.cred to what the module is told.  0, or the exit
 * status. */
static int authorize(const struct module *m, enum sgn_result sig)
{
	if (caller.uid == 0 || stp_pr_contains(caller.cred, STP_PR_STAPDEV))
		return 0;
	if (sig == SGN_TRUSTED) {
		if (stp_pr_contains(caller.cred, m->info.required))
			return 0;
		stp_msg(prog, "Your privilege credentials (%s) are insufficient to load the "
			"module %s (%s required)", stp_pr_name(caller.cred), m->path,
			stp_pr_name(m->info.required));
		return EXIT_REFUSED;
	}
	if (check_blessed(m) == 0) {
		caller.cred = STP_PR_ALL;	/* the administrator approved it */
		return 0;
	}
	stp_msg(prog, "Unable to verify the signature for the module %s.", m->path);
	return EXIT_REFUSED;
}

/* The running kernel's build-id from /sys/kernel/notes; "" if unknown. */
static void running_build_id(char *hex, size_t cap)
{
	char notes[4096];
	ssize_t n = -1;
	int fd = open("/sys/kernel/notes", O_RDONLY | O_CLOEXEC);

	hex[0] = '\0';
	if (fd >= 0) {
		n = read(fd, notes, sizeof(notes));
		close(fd);
	}
	if (n <= 0 || stp_notes_build_id(notes, (size_t)n, hex, cap))
		hex[0] = '\0';
}

/* Built for this kernel?  Build-id first (exact), then the release in
 * vermagic (the kernel itself checks the rest of vermagic). */
static int check_kernel(const struct module *m, int verbose)
{
	const struct stp_modimage_info *mi = &m->info;
	char running[130];
	struct utsname u;
	size_t rl;

	running_build_id(running, sizeof(running));
	if (mi->build_id[0] && running[0] && strcmp(mi->build_id, running) != 0) {
		stp_msg(prog, "Module %s was built for a kernel with build-id %s, but the "
			"running kernel's build-id is %s.  Build it again for this kernel.",
			m->path, mi->build_id, running);
		return -1;
	}
	if (verbose && !(mi->build_id[0] && running[0]))
		stp_msg(prog, "no kernel build-id to compare (module: %s, running: %s); "
			"checking the release only", mi->build_id[0] ? mi->build_id : "none",
			running[0] ? running : "unknown");
	if (uname(&u) != 0)
		return -1;
	rl = strlen(u.release);
	if (mi->vermagic[0] && (strncmp(mi->vermagic, u.release, rl) != 0 ||
				(mi->vermagic[rl] != ' ' && mi->vermagic[rl] != '\0'))) {
		stp_msg(prog, "Module %s was built for kernel \"%.*s\", but the running kernel "
			"is %s.  Build it again for this kernel.", m->path,
			(int)strcspn(mi->vermagic, " "), mi->vermagic, u.release);
		return -1;
	}
	return 0;
}

/* F7: "_stp_bufsize=N" from -b, then only name=value options naming a
 * parameter the module declares (a script global). */
static int module_options(const struct stp_options *o, const struct module *m,
			  char *out, size_t cap)
{
	size_t len = (size_t)snprintf(out, cap, "_stp_bufsize=%d", o->bufsize_mb);

	for (int i = 0; i < o->nmodopts; i++) {
		const char *opt = o->modopts[i];
		char name[64];

		if (!stp_modopt_valid(opt)) {
			stp_msg(prog, "invalid module option '%s': expected name=value with a "
				"script global's name (not _stp...) and no blanks or quotes", opt);
			return -1;
		}
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(opt, "="), opt);
		if (!stp_modimage_declares_param(m->image, &m->info, name)) {
			stp_msg(prog, "invalid module option '%s': module %s has no global "
				"named '%s' that can be set at load time", opt, modname, name);
			return -1;
		}
		if (len + 1 + strlen(opt) + 1 > cap) {
			stp_msg(prog, "module options are too long (limit %zu bytes)", cap - 1);
			return -1;
		}
		len += (size_t)snprintf(out + len, cap - len, " %s", opt);
	}
	return 0;
}

/* SystemTap's rule, but the override is root's only (F6). */
static int check_fips(void)
{
	char c = '0';
	int fd = open("/proc/sys/crypto/fips_enabled", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = '0';
		close(fd);
	}
	if (c == '0' || (caller.uid == 0 && caller_env("STAP_FIPS_OVERRIDE")))
		return 0;
	stp_msg(prog, "Couldn't insert module in FIPS mode '%s': Operation not permitted",
		modname);
	return -1;
}

/* --- loading --------------------------------------------------------------- */

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

/* Root's part of the set-up (F11): the credentials (the module refuses
 * STP_START until they came, and compares them with its own level) and
 * the time zone.  .cmd being busy means someone opened it first. */
static int send_setup(int dirfd)
{
	struct stp_msg_privilege_credentials pc = { .pc_group_mask = caller.cred };
	struct stp_msg_tzinfo tz;
	enum stp_numbering num;
	struct tm tm;
	time_t now = time(NULL);
	int fd, rc;

	fd = openat(dirfd, ".cmd", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		stp_msg(prog, errno == EBUSY ?
			"Cannot set up module %s: another process opened its control channel "
			"first (%s); the module is removed." :
			"Cannot attach to module %s control channel; not running? (%s)",
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

/* F10: the caller's ids for good - verified - and no privilege can come
 * back through an exec. */
static int drop_privileges(void)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	for (size_t i = 0; i < sizeof(limited) / sizeof(limited[0]); i++)
		setrlimit(limited[i], &saved_limits[i]);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    setresgid(caller.gid, caller.gid, caller.gid) ||
	    setresuid(caller.uid, caller.uid, caller.uid) ||
	    getresuid(&r, &e, &s) || getresgid(&rg, &eg, &sg) ||
	    r != caller.uid || e != caller.uid || s != caller.uid ||
	    rg != caller.gid || eg != caller.gid || sg != caller.gid ||
	    (caller.uid != 0 && (setresuid(-1, 0, -1) == 0 || geteuid() == 0))) {
		stp_msg(prog, "cannot drop privileges: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void exec_stapio(const struct stp_options *o, int dirfd)
{
	char path[PATH_MAX], fdarg[16], ufd[16], tmo[16], pid[16];
	const char *argv[40];
	int argc = 0, i;

	stapio_path(path, sizeof(path));
	snprintf(fdarg, sizeof(fdarg), "%d", dirfd);
	snprintf(ufd, sizeof(ufd), "%d", unloader_fd);
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
	argv[argc++] = "-U";
	argv[argc++] = ufd;
	argv[argc++] = modname;
	argv[argc] = NULL;

	if (drop_privileges())
		return;
	/* the fds stapio needs survive the exec; nothing else was opened
	 * without O_CLOEXEC */
	fcntl(dirfd, F_SETFD, 0);
	fcntl(unloader_fd, F_SETFD, 0);
	execve(path, (char **)argv, caller.env);
	stp_msg(prog, "cannot run %s: %s", path, strerror(errno));
}

static int load(const struct stp_options *o)
{
	struct module m = { 0 };
	char opts[8192];
	int rc, dirfd;

	enum sgn_result sig;

	if (module_path(o->module, m.path, sizeof(m.path)) || check_fips() || read_module(&m))
		return 1;
	/* first, as SystemTap does: an altered module stops everyone */
	sig = check_signature(&m, o->verbose);
	if (sig == SGN_ALTERED)
		return EXIT_REFUSED;
	if (check_name(&m))
		return 1;
	rc = authorize(&m, sig);
	if (rc)
		return rc;
	if (check_kernel(&m, o->verbose) || module_options(o, &m, opts, sizeof(opts)))
		return 1;
	free(m.sgn);
	if (o->rename) {
		char newname[STP_MODNAME_MAX + 1];

		/* after the checks: the renamed bytes are never checked again */
		if (stp_modimage_rename(m.image, m.size, modname, (int)getpid(),
					newname, sizeof(newname), prog))
			return 1;
		snprintf(modname, sizeof(modname), "%s", newname);
	}
	unloader_fd = stp_unloader_start(modname, caller.uid, prog);
	if (unloader_fd < 0)
		return 1;
	if (o->verbose)
		stp_msg(prog, "loading %s (%zu bytes) as %s with \"%s\", credentials %s",
			m.path, m.size, modname, opts, stp_pr_name(caller.cred));
	if (syscall(SYS_init_module, m.image, m.size, opts) != 0) {
		int e = errno;

		stp_msg(prog, "Couldn't insert module '%s': %s", m.path, moderror(e));
		if (e == EEXIST && !o->rename)
			stp_msg(prog, "Rerun with staprun option '-R' to rename this module.");
		free(m.image);
		return finish(STP_UNLOADER_NOT_LOADED, 1);
	}
	free(m.image);
	dirfd = open_module_dir(modname, false);
	if (dirfd < 0 || send_setup(dirfd))
		return finish(STP_UNLOADER_UNLOAD, 1);
	exec_stapio(o, dirfd);
	return finish(STP_UNLOADER_UNLOAD, 1);	/* F9: stapio did not start */
}

static int attach(const struct stp_options *o)
{
	int dirfd = open_module_dir(modname, false);

	if (dirfd < 0)
		return errno == EPERM ? EXIT_REFUSED : 1;
	/* a failed attach leaves the module as it was */
	unloader_fd = stp_unloader_start(modname, caller.uid, prog);
	if (unloader_fd < 0)
		return 1;
	exec_stapio(o, dirfd);
	return finish(STP_UNLOADER_DETACH, 1);
}

int main(int argc, char **argv)
{
	struct stp_options o;
	int rc;

	harden();
	setvbuf(stderr, NULL, _IOLBF, 0);
	rc = stp_parse_options(prog, argc, argv, &o);
	if (rc)
		return rc < 0 ? 1 : 0;
	if (o.relay_fd >= 0) {
		stp_msg(prog, "Relay basedir -F option is invalid for staprun");
		return 1;
	}
	if (o.unloader_fd >= 0) {
		stp_msg(prog, "Unloader -U option is invalid for staprun");
		return 1;
	}
	if (geteuid() != 0) {
		stp_msg(prog, "The effective user ID of staprun must be set to the root user.  "
			"Check permissions on staprun and ensure it is a setuid root program.");
		return 1;
	}
	if (!initial_user_namespace()) {
		stp_msg(prog, "staprun must run in the initial user namespace: root inside "
			"a user namespace cannot load kernel modules.");
		return 1;
	}
	caller.cred = credentials();
	if (caller.cred == STP_PR_NONE)
		return refuse_normal_user();
	if (o.delete_mod && !strcmp(o.module, "*"))
		return remove_all();
	if (stp_module_name(prog, o.module, modname, sizeof(modname)))
		return 1;
	if (caller.uid != 0 && !stp_modname_allowed(modname)) {
		stp_msg(prog, "Module name '%s' is not allowed: modules of users other than "
			"root must be named stap_ followed by letters, digits or '_' "
			"(at most 55 characters in all).", modname);
		return EXIT_REFUSED;
	}
	if (o.delete_mod)
		return remove_one(modname);
	if (o.attach)
		return attach(&o);
	return load(&o);
}
