/* stapio: the conversation with a loaded module, run as the user.
 *
 *   stapio [options] -F DIRFD NAME      (exec'ed by staprun)
 *
 * Main loop (docs/runtime-transport.md): STP_READY, then on STP_TRANSPORT
 * open the trace files and send STP_START{target}; relay OOB warnings and
 * errors to stderr, run STP_SYSTEM commands, answer STP_REQUEST_EXIT with
 * STP_EXIT, and on the module's STP_EXIT drain the output and unload.
 * SIGINT/SIGTERM/SIGHUP ask for STP_EXIT; the third one tears down at once.
 * Exit status: 0 clean, 1 after an ERROR, a failed start, a failed -c
 * command or a failed unload.
 */
#define _GNU_SOURCE
#include "common.h"
#include "unloader.h"
#include "relay_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define STP_WARN_DEDUP_MAX 1024

static const char *prog = "stapio";
static struct stp_options opt;
static char modname[STP_MODNAME_MAX + 1];
static int dirfd = -1, cmdfd = -1;
static enum stp_numbering num = STP_NUM_V5;
static FILE *out;
static bool error_seen, exit_sent, color;
static bool teardown_now;		/* third signal: no drain, no handshake */
static pid_t child = -1;
static int child_go = -1;		/* write end: releases the -c child */
static int sigpipe_fds[2] = { -1, -1 };
static char *warned[STP_WARN_DEDUP_MAX];
static int nwarned;

static void on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int e = errno;

	if (write(sigpipe_fds[1], &c, 1) < 0)
		(void)0;	/* the pipe is full: a signal is pending anyway */
	errno = e;
}

static void setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	/* with -c, Ctrl-C is for the command; its exit stops the session */
	if (opt.command)
		signal(SIGINT, SIG_IGN);
	else
		sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* staprun holds these during the load; one that came meanwhile (Ctrl-C)
 * is delivered now, to the handlers above. */
static void unblock_signals(void)
{
	sigset_t held;

	stp_load_signals(&held);
	sigprocmask(SIG_UNBLOCK, &held, NULL);
}

static int send_msg(unsigned idx, const void *p, size_t len)
{
	int rc = stp_ctl_send(cmdfd, num, idx, p, len);

	if (rc)
		stp_msg(prog, "sending message %u to %s: %s", idx, modname, strerror(-rc));
	return rc;
}

static void send_exit(void)
{
	if (!exit_sent && send_msg(STP_IDX_EXIT, NULL, 0) == 0)
		exit_sent = true;
}

/* --- -c CMD ---------------------------------------------------------------- */

/* Forks the command, parked until release_child(true). */
static int start_child(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return -1;
	child = fork();
	if (child < 0)
		return -1;
	if (child == 0) {
		char c;

		close(p[1]);
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		if (read(p[0], &c, 1) != 1)
			_exit(127);	/* stapio gave up: never run it */
		execl("/bin/sh", "sh", "-c", opt.command, (char *)NULL);
		fprintf(stderr, "stapio: cannot run /bin/sh: %s\n", strerror(errno));
		_exit(127);
	}
	close(p[0]);
	child_go = p[1];
	return 0;
}

static void release_child(bool go)
{
	if (child_go < 0)
		return;
	if (go) {
		if (write(child_go, "g", 1) != 1)
			stp_msg(prog, "cannot start the -c command");
	} else if (child > 0) {
		kill(child, SIGKILL);
	}
	close(child_go);
	child_go = -1;
}

static void reap_child(void)
{
	int status;

	if (child <= 0 || waitpid(child, &status, WNOHANG) != child)
		return;
	child = -1;
	if (WIFEXITED(status) && WEXITSTATUS(status)) {
		fprintf(stderr, "WARNING: Child process exited with status %d\n",
			WEXITSTATUS(status));
		error_seen = true;
	} else if (WIFSIGNALED(status)) {
		fprintf(stderr, "WARNING: Child process exited with signal %d (%s)\n",
			WTERMSIG(status), strsignal(WTERMSIG(status)));
		error_seen = true;
	}
	send_exit();
}

/* --- messages from the module ---------------------------------------------- */

static void print_tagged(const char *tag, const char *sgr, const char *body,
			 size_t len)
{
	if (color)
		fprintf(stderr, "\033[%sm%s\033[m %.*s\n", sgr, tag, (int)len, body);
	else
		fprintf(stderr, "%s %.*s\n", tag, (int)len, body);
}

static bool seen_warning(const char *body, size_t len)
{
	int i;

	if (opt.verbose)
		return false;
	for (i = 0; i < nwarned; i++)
		if (strlen(warned[i]) == len && !memcmp(warned[i], body, len))
			return true;
	if (nwarned < STP_WARN_DEDUP_MAX) {
		warned[nwarned] = strndup(body, len);
		if (warned[nwarned])
			nwarned++;
	} else if (nwarned == STP_WARN_DEDUP_MAX) {
		fprintf(stderr, "WARNING deduplication table full\n");
		nwarned++;
	}
	return false;
}

static void handle_oob(const char *text, size_t len)
{
	const char *body;
	size_t blen;

	switch (stp_oob_classify(text, len, &body, &blen)) {
	case STP_OOB_WARNING:
		if (!opt.quiet_warnings && !seen_warning(body, blen))
			print_tagged("WARNING:", "00;33", body, blen);
		break;
	case STP_OOB_ERROR:
		print_tagged("ERROR:", "01;31", body, blen);
		error_seen = true;
		break;
	default:
		fwrite(text, 1, strnlen(text, len), stderr);
		break;
	}
}

/* sh -c CMD as the user, detached: we only wait for the middle child. */
static void handle_system(const char *cmd, size_t len)
{
	pid_t pid;

	if (!len || cmd[len - 1] != '\0') {
		stp_msg(prog, "ignoring an unterminated system() command");
		return;
	}
	pid = fork();
	if (pid == 0) {
		/* before we are reaped: a copy of .cmd would keep us attached */
		closefrom(3);
		if (fork() == 0) {
			setsid();
			signal(SIGPIPE, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static int start_relay(bool resumed)
{
	if (stp_relay_start(dirfd, num, out, opt.reader_timeout_ms, resumed,
			    opt.verbose)) {
		stp_msg(prog, "cannot read the output of module %s", modname);
		return -1;
	}
	return 0;
}

enum loop_result { LOOP_GO, LOOP_DONE, LOOP_FAIL, LOOP_DETACH };

static enum loop_result handle_message(const char *buf, size_t n)
{
	uint32_t type;
	int idx;

	if (n < sizeof(type))
		return LOOP_GO;
	memcpy(&type, buf, sizeof(type));
	buf += sizeof(type);
	n -= sizeof(type);
	idx = stp_msg_index(num, type);
	switch (idx) {
	case STP_IDX_TRANSPORT: {
		struct stp_msg_start st = { .target = child > 0 ? child : opt.target_pid };

		if (!opt.load_only && start_relay(false))
			return LOOP_FAIL;
		return send_msg(STP_IDX_START, &st, sizeof(st)) ? LOOP_FAIL : LOOP_GO;
	}
	case STP_IDX_START: {
		struct stp_msg_start st = { 0, 0 };

		memcpy(&st, buf, n < sizeof(st) ? n : sizeof(st));
		if (st.res) {
			stp_msg(prog, "module %s failed to start: %s", modname,
				strerror(st.res < 0 ? -st.res : st.res));
			release_child(false);
			return LOOP_FAIL;
		}
		release_child(true);
		return opt.load_only ? LOOP_DETACH : LOOP_GO;
	}
	case STP_IDX_OOB_DATA:
		handle_oob(buf, n);
		return LOOP_GO;
	case STP_IDX_SYSTEM:
		handle_system(buf, n);
		return LOOP_GO;
	case STP_IDX_REQUEST_EXIT:
		send_exit();
		return LOOP_GO;
	case STP_IDX_EXIT:
		return LOOP_DONE;
	default:
		fprintf(stderr, "WARNING: Ignored message of type %u\n", type);
		return LOOP_GO;
	}
}

/* Reads every queued message; returns LOOP_GO to keep polling. */
static enum loop_result drain_messages(void)
{
	char buf[sizeof(uint32_t) + 8192];

	for (;;) {
		ssize_t n = read(cmdfd, buf, sizeof(buf));
		enum loop_result r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return LOOP_GO;
		if (n <= 0) {
			stp_msg(prog, "reading %s/.cmd: %s", modname,
				n < 0 ? strerror(errno) : "end of file");
			return LOOP_FAIL;
		}
		r = handle_message(buf, (size_t)n);
		if (r != LOOP_GO)
			return r;
	}
}

/* Returns true to tear down at once. */
/* true: leave the loop with *r. */
static bool handle_signals(int *nsig, enum loop_result *r)
{
	unsigned char sigs[64];
	ssize_t n = read(sigpipe_fds[0], sigs, sizeof(sigs));
	ssize_t i;

	*r = LOOP_FAIL;
	for (i = 0; i < n; i++) {
		if (opt.verbose)
			stp_msg(prog, "signal %d", sigs[i]);
		if (sigs[i] == SIGCHLD) {
			reap_child();
			continue;
		}
		if (sigs[i] == SIGQUIT) {	/* Ctrl-\: detach, the module runs on */
			*r = LOOP_DETACH;
			return true;
		}
		if (++*nsig > 2) {
			teardown_now = true;
			return true;
		}
		send_exit();
	}
	return false;
}

static enum loop_result main_loop(void)
{
	int nsig = 0;

	if (stp_ctl_probe(cmdfd, STP_IDX_READY, NULL, 0, &num)) {
		stp_msg(prog, "module %s does not answer STP_READY in 5.x or 4.x numbering",
			modname);
		return LOOP_FAIL;
	}
	if (opt.verbose)
		stp_msg(prog, "module %s speaks the %s transport", modname,
			num == STP_NUM_V5 ? "5.x" : "4.x");
	if (opt.attach && start_relay(true))
		return LOOP_FAIL;
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = cmdfd, .events = POLLIN },
			{ .fd = sigpipe_fds[0], .events = POLLIN },
		};
		enum loop_result r;

		if (poll(p, 2, 500) < 0 && errno != EINTR)
			return LOOP_FAIL;
		if (p[1].revents & POLLIN && handle_signals(&nsig, &r))
			return r;
		r = drain_messages();
		if (r != LOOP_GO)
			return r;
	}
}

/* --- start and finish ------------------------------------------------------- */

/* Started by staprun: its unloader (unloader.h) hears how the run ended.
 * 0, or -1 when an asked-for removal did not happen. */
static int tell_unloader(char verdict)
{
	int rc;

	if (opt.unloader_fd < 0)
		return 0;
	rc = stp_unloader_tell(opt.unloader_fd, verdict);
	close(opt.unloader_fd);
	opt.unloader_fd = -1;
	return rc;
}

static int unload(void)
{
	char path[4200], self[4096];
	ssize_t n;
	pid_t pid;
	int status;

	if (opt.unloader_fd >= 0) {
		if (tell_unloader(STP_UNLOADER_UNLOAD) == 0)
			return 0;
		stp_msg(prog, "Couldn't remove module '%s'.", modname);
		return 1;
	}
	if (geteuid() == 0)
		return stp_remove_module(prog, modname, opt.verbose);
	/* not root: the staprun beside us removes it */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(path, sizeof(path), "%s/staprun", self);
	pid = fork();
	if (pid == 0) {
		execl(path, "staprun", "-d", modname, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 255;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int open_output(void)
{
	int fd;

	if (!opt.outfile) {
		out = stdout;
		return 0;
	}
	fd = open(opt.outfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0 || !(out = fdopen(fd, "w"))) {
		stp_msg(prog, "cannot open output file %s: %s", opt.outfile, strerror(errno));
		return -1;
	}
	return 0;
}

static int daemonize(void)
{
	pid_t pid = fork();
	int null;

	if (pid < 0)
		return -1;
	if (pid > 0) {
		printf("%d\n", pid);
		fflush(stdout);
		_exit(0);
	}
	setsid();
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	return 0;
}

static int finish(enum loop_result r)
{
	int rc = (r == LOOP_FAIL || error_seen) ? 1 : 0;

	release_child(false);
	stp_relay_stop(teardown_now);
	if (out && out != stdout)
		fclose(out);
	else
		fflush(stdout);
	close(cmdfd);
	cmdfd = -1;
	if (r == LOOP_DETACH) {
		tell_unloader(STP_UNLOADER_DETACH);
		fprintf(stderr, "\nDisconnecting from systemtap module.\n"
			"To reconnect, type \"staprun -A %s\"\n", modname);
		return 0;
	}
	if (unload())
		rc = 1;
	if (child > 0) {
		waitpid(child, NULL, 0);
		child = -1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	enum loop_result r;
	int rc;

	setvbuf(stderr, NULL, _IOLBF, 0);
	rc = stp_parse_options(prog, argc, argv, &opt);
	if (rc)
		return rc < 0 ? 1 : 0;
	if (stp_module_name(prog, opt.module, modname, sizeof(modname)))
		return 1;
	color = opt.color == STP_COLOR_ALWAYS ||
		(opt.color == STP_COLOR_AUTO && isatty(2) && getenv("TERM") &&
		 strcmp(getenv("TERM"), "dumb"));
	if (opt.unloader_fd >= 0)
		fcntl(opt.unloader_fd, F_SETFD, FD_CLOEXEC);
	if (opt.relay_fd >= 0) {
		dirfd = opt.relay_fd;
		fcntl(dirfd, F_SETFD, FD_CLOEXEC);
	} else {
		char path[256];

		snprintf(path, sizeof(path), STP_PROC_DIR "/%s", modname);
		dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	cmdfd = dirfd < 0 ? -1 : openat(dirfd, ".cmd", O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (cmdfd < 0) {
		stp_msg(prog, "Cannot attach to module %s control channel; not running? (%s)",
			modname, strerror(errno));
		/* a failed attach leaves the module as it was; a fresh load goes */
		if (opt.attach)
			tell_unloader(STP_UNLOADER_DETACH);
		else if (opt.unloader_fd >= 0)
			unload();
		return 1;
	}
	if (pipe2(sigpipe_fds, O_CLOEXEC | O_NONBLOCK)) {
		stp_msg(prog, "pipe: %s", strerror(errno));
		return 1;
	}
	setup_signals();
	unblock_signals();
	if (opt.daemon && daemonize()) {
		stp_msg(prog, "cannot run in the background: %s", strerror(errno));
		return finish(LOOP_FAIL);
	}
	if (open_output())
		return finish(LOOP_FAIL);
	if (opt.command && start_child()) {
		stp_msg(prog, "cannot start '%s': %s", opt.command, strerror(errno));
		return finish(LOOP_FAIL);
	}
	r = main_loop();
	return finish(r);
}
