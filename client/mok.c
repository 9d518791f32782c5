/* Secure Boot on the client: whether this kernel loads only signed
 * modules, and which machine owner keys (MOKs) of SystemTap's are
 * enrolled (`mokutil --list-enrolled`), so that a server can sign with a
 * key this machine trusts (docs/protocol.md, mok_fingerprints). */
#define _GNU_SOURCE
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "csproto.h"
#include "remote_internal.h"
#include "util.h"

static bool file_says(const char *path, const char *word)
{
	size_t len;
	char *s = read_file_bounded(path, 4096, &len);
	bool yes = s && strstr(s, word) != NULL;
	free(s);
	return yes;
}

bool modules_must_be_signed(void)
{
	/* SystemTap's order: SYSTEMTAP_SIGN wins over SYSTEMTAP_NOSIGN */
	if (getenv("SYSTEMTAP_SIGN"))
		return true;
	if (getenv("SYSTEMTAP_NOSIGN"))
		return false;
	const char *sysfs = getenv("STAP_SYSFS");
	const char *root = sysfs && *sysfs ? sysfs : "/sys";
	char *p = xasprintf("%s/module/module/parameters/sig_enforce", root);
	bool yes = file_says(p, "Y");
	free(p);
	p = xasprintf("%s/kernel/security/securelevel", root);
	yes = yes || file_says(p, "1");
	free(p);
	p = xasprintf("%s/kernel/security/lockdown", root);
	yes = yes || file_says(p, "[integrity]") || file_says(p, "[confidentiality]");
	free(p);
	return yes;
}

/* mokutil's output, at most 1 MiB, within 30 s (SystemTap 4.8 spins for
 * ever when mokutil prints nothing; here that is simply "no keys"). */
static char *run_mokutil(int *status)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return NULL;
	pid_t pid = fork();
	if (pid < 0)
		return NULL;
	if (pid == 0) {
		dup2(fds[1], 1);
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 2);
		}
		execlp("mokutil", "mokutil", "--list-enrolled", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	struct strbuf out;
	sb_init(&out);
	time_t until = time(NULL) + 30;
	for (;;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		int left = (int)(until - time(NULL));
		if (left <= 0 || poll(&pfd, 1, left * 1000) <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		char buf[4096];
		ssize_t r = read(fds[0], buf, sizeof buf);
		if (r <= 0)
			break;
		if (out.len < (1u << 20))
			sb_putn(&out, buf, (size_t)r);
	}
	close(fds[0]);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return sb_detach(&out);
}

int mok_fingerprints(char ***fps, size_t *n)
{
	*fps = NULL;
	*n = 0;
	int status = 0;
	char *out = run_mokutil(&status);
	if (!out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "Failed to get list of machine owner keys (MOK) for module signing: "
			"rc %d\n", out && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		free(out);
		return -1;
	}
	/* "SHA1 Fingerprint: aa:bb:..." then, some lines later, "Issuer: ...";
	 * the key counts when its issuer names Systemtap */
	char *pending = NULL, *save = NULL;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		while (isspace((unsigned char)*line))
			line++;
		const char *v = NULL;
		if (strncmp(line, "SHA1 Fingerprint:", 17) == 0)
			v = line + 17;
		if (v) {
			while (isspace((unsigned char)*v))
				v++;
			free(pending);
			pending = xstrdup(v);
			for (char *c = pending; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			pending[strcspn(pending, " \t\r")] = '\0';
		} else if (pending && strncmp(line, "Issuer:", 7) == 0) {
			if (strstr(line, "Systemtap") && cs_mok_fingerprint_ok(pending)) {
				*fps = xrealloc(*fps, (*n + 1) * sizeof **fps);
				(*fps)[(*n)++] = pending;
			} else {
				free(pending);
			}
			pending = NULL;
		}
	}
	free(pending);
	free(out);
	if (*n == 0) {		/* no Systemtap key enrolled: the server may offer one */
		*fps = xmalloc(sizeof **fps);
		(*fps)[0] = xstrdup("missing");
		*n = 1;
	}
	return 0;
}
