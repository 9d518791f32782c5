/* The unloader process; see unloader.h. */
#define _GNU_SOURCE
#include "unloader.h"
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ANSWER_WAIT_MS 30000	/* for the unloader's answer to UNLOAD */
#define BUSY_TRIES 100		/* x 20 ms: a dying stapio may still hold .cmd */

/* Is name still loaded and still owner's (its .cmd says who loaded it)? */
static bool still_ours(const char *name, uid_t owner)
{
	char cmd[300];
	struct stat st;

	snprintf(cmd, sizeof(cmd), STP_PROC_DIR "/%s/.cmd", name);
	return lstat(cmd, &st) == 0 && st.st_uid == owner;
}

static int remove_when_free(const char *prog, const char *name)
{
	char cmd[300];
	int fd;

	snprintf(cmd, sizeof(cmd), STP_PROC_DIR "/%s/.cmd", name);
	for (int i = 0; i < BUSY_TRIES; i++) {
		fd = open(cmd, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0 || errno != EBUSY)
			break;
		nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	}
	if (fd >= 0)
		close(fd);
	return stp_remove_module(prog, name, 0);
}

static void serve(int sock, const char *name, uid_t owner, const char *prog)
{
	char verdict;
	ssize_t n;

	do
		n = read(sock, &verdict, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && (verdict == STP_UNLOADER_DETACH || verdict == STP_UNLOADER_NOT_LOADED))
		return;
	if (n == 1 && verdict == STP_UNLOADER_UNLOAD) {
		char answer = remove_when_free(prog, name) == 0 ? '0' : '1';

		if (write(sock, &answer, 1) != 1)
			return;
		return;
	}
	/* the run ended without a word: stapio died or was killed */
	if (still_ours(name, owner) && remove_when_free(prog, name) == 0)
		stp_msg(prog, "module %s removed (stapio ended without removing it)", name);
}

/* In the grandchild: root for good, alone, deaf to the caller's signals. */
static void become_unloader(int sock)
{
	static const int deaf[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN,
				    SIGTTOU, SIGPIPE, SIGUSR1, SIGUSR2, SIGALRM };
	sigset_t none;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	for (size_t i = 0; i < sizeof(deaf) / sizeof(deaf[0]); i++)
		signal(deaf[i], SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	if (setgroups(0, NULL) || setresgid(0, 0, 0) || setresuid(0, 0, 0))
		_exit(1);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
	}
	close_range((unsigned)sock + 1, ~0U, 0);
	if (chdir("/"))
		_exit(1);
}

int stp_unloader_start(const char *name, uid_t owner, const char *prog)
{
	int sv[2], status;
	pid_t child;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		stp_msg(prog, "cannot start the unloader: %s", strerror(errno));
		return -1;
	}
	child = fork();
	if (child < 0) {
		stp_msg(prog, "cannot start the unloader: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (child == 0) {
		/* the grandchild is adopted by init: nobody of the caller's
		 * waits for it or can be confused by its exit */
		close(sv[1]);
		if (fork() != 0)
			_exit(0);
		if (dup2(sv[0], 3) != 3)
			_exit(1);
		become_unloader(3);
		serve(3, name, owner, prog);
		_exit(0);
	}
	close(sv[0]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	return sv[1];
}

int stp_unloader_tell(int fd, char verdict)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char answer;

	if (write(fd, &verdict, 1) != 1)
		return -1;
	if (verdict != STP_UNLOADER_UNLOAD)
		return 0;
	if (poll(&p, 1, ANSWER_WAIT_MS) != 1 || read(fd, &answer, 1) != 1)
		return -1;
	return answer == '0' ? 0 : -1;
}
