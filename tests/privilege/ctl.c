/* ctl: control-channel probes for tests/privilege (ref §10 cases 45-47).
 *
 *   ctl loadas UID FILE.ko   init_module with real uid UID (euid root), as a
 *                            loader would, and no set-up messages after it
 *   ctl rootmsgs NAME        as the module's owner: each root-only message
 *                            (RELOCATION, TZINFO, PRIVILEGE_CREDENTIALS,
 *                            REMOTE_ID) and START must be refused (EPERM)
 *   ctl open NAME            opens .cmd; prints "open ok" or the error
 *
 * Prints one line per check; exit 0 when every check got what it wanted. */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int open_cmd(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), STP_PROC_DIR "/%s/.cmd", name);
	return open(path, O_RDWR | O_CLOEXEC);
}

static int load_as(uid_t uid, const char *file)
{
	static char image[64 << 20];
	int fd = open(file, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, image, sizeof(image));

	if (n <= 0 || setresuid(uid, 0, 0)) {
		perror(file);
		return 1;
	}
	if (syscall(SYS_init_module, image, (size_t)n, "_stp_bufsize=0")) {
		perror("init_module");
		return 1;
	}
	printf("loaded\n");
	return 0;
}

/* Every root-only message and START: each must get -EPERM. */
static int root_messages(const char *name)
{
	struct stp_msg_relocation rel = { "kernel", "_stext", 0xffffffff81000000ull };
	struct stp_msg_tzinfo tz = { 0, "UTC" };
	struct stp_msg_privilege_credentials pc = { 0xE };
	struct stp_msg_remote_id rid = { 1, "uri" };
	struct stp_msg_start st = { 0, 0 };
	struct { const char *what; unsigned idx; const void *p; size_t len; } m[] = {
		{ "RELOCATION", STP_IDX_RELOCATION, &rel, sizeof(rel) },
		{ "TZINFO", STP_IDX_TZINFO, &tz, sizeof(tz) },
		{ "PRIVILEGE_CREDENTIALS", STP_IDX_PRIVILEGE_CREDENTIALS, &pc, sizeof(pc) },
		{ "REMOTE_ID", STP_IDX_REMOTE_ID, &rid, sizeof(rid) },
		{ "START", STP_IDX_START, &st, sizeof(st) },
	};
	int fd = open_cmd(name), bad = 0;

	if (fd < 0) {
		printf("open: %s\n", strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		int rc = stp_ctl_send(fd, STP_NUM_V5, m[i].idx, m[i].p, m[i].len);

		printf("%s: %s\n", m[i].what, rc ? strerror(-rc) : "accepted");
		bad += rc != -EPERM;
	}
	close(fd);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "loadas"))
		return load_as((uid_t)atoi(argv[2]), argv[3]);
	if (argc == 3 && !strcmp(argv[1], "rootmsgs"))
		return root_messages(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "open")) {
		int fd = open_cmd(argv[2]);

		printf(fd < 0 ? "open: %s\n" : "open ok%s\n", fd < 0 ? strerror(errno) : "");
		return fd < 0;
	}
	fprintf(stderr, "usage: ctl loadas UID FILE | rootmsgs NAME | open NAME\n");
	return 2;
}
