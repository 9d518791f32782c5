/* proto_ctl NAME: protocol checks against a loaded, unattached test module
 * (tests/vm/proto/run.sh).  Prints one line per check; exit 0 when every
 * check got the expected answer. */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int failures;
static enum stp_numbering num;

static void expect(const char *what, int got, int want)
{
	printf("%s: %s%s\n", what, got ? strerror(-got) : "ok",
	       got == want ? "" : " (UNEXPECTED)");
	if (got != want)
		failures++;
}

static int raw_write(int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	return n < 0 ? -errno : (int)n;
}

/* Sends the four root-only messages; each must get want. */
static void root_only(int fd, const char *when, int want)
{
	struct stp_msg_relocation rel = { "kernel", "_stext", 0xffffffff81000000ull };
	struct stp_msg_tzinfo tz = { 0, "UTC" };
	struct stp_msg_privilege_credentials pc = { 0xE };
	struct stp_msg_remote_id rid = { 1, "uri" };
	char what[96];

	snprintf(what, sizeof(what), "RELOCATION %s", when);
	expect(what, stp_ctl_send(fd, num, STP_IDX_RELOCATION, &rel, sizeof(rel)), want);
	snprintf(what, sizeof(what), "TZINFO %s", when);
	expect(what, stp_ctl_send(fd, num, STP_IDX_TZINFO, &tz, sizeof(tz)), want);
	snprintf(what, sizeof(what), "PRIVILEGE_CREDENTIALS %s", when);
	expect(what, stp_ctl_send(fd, num, STP_IDX_PRIVILEGE_CREDENTIALS, &pc, sizeof(pc)), want);
	snprintf(what, sizeof(what), "REMOTE_ID %s", when);
	expect(what, stp_ctl_send(fd, num, STP_IDX_REMOTE_ID, &rid, sizeof(rid)), want);
}

/* Waits up to ms for message idx; prints the OOB texts on the way. */
static int wait_for(int fd, unsigned idx, int ms)
{
	char buf[4 + 8192];

	while (ms > 0) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;
		uint32_t type;

		poll(&p, 1, 100);
		ms -= 100;
		while ((n = read(fd, buf, sizeof(buf))) >= 4) {
			memcpy(&type, buf, 4);
			if (stp_msg_index(num, type) == (int)idx)
				return 0;
		}
	}
	return -ETIMEDOUT;
}

int main(int argc, char **argv)
{
	struct stp_msg_start st = { 0, 0 };
	char path[256];
	uint32_t junk = 0x77;
	int fd, fd2;

	if (argc != 2) {
		fprintf(stderr, "usage: proto_ctl MODULE_NAME\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/systemtap/%s/.cmd", argv[1]);
	fd = open(path, O_RDWR | O_NONBLOCK);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	fd2 = open(path, O_RDWR);
	expect("second open of .cmd", fd2 < 0 ? -errno : 0, -EBUSY);
	if (fd2 >= 0)
		close(fd2);
	expect("STP_READY (finds the numbering)",
	       stp_ctl_probe(fd, STP_IDX_READY, NULL, 0, &num), 0);
	printf("numbering: %s\n", num == STP_NUM_V5 ? "5.x" : "4.x");
	expect("unknown type 0x77", raw_write(fd, &junk, 4) < 0 ? -EINVAL : 0, -EINVAL);
	expect("short write (2 bytes) is ignored", raw_write(fd, &junk, 2), 0);
	expect("STP_BULK", stp_ctl_send(fd, num, STP_IDX_BULK, "", 1), -EINVAL);
	expect("STP_START before credentials (F11)",
	       stp_ctl_send(fd, num, STP_IDX_START, &st, sizeof(st)), -EPERM);

	/* euid 65534 on an fd root opened: what a user's stapio could send */
	if (setresuid(0, 65534, 0)) {
		perror("setresuid");
		return 1;
	}
	root_only(fd, "from euid 65534", -EPERM);
	if (setresuid(0, 0, 0)) {
		perror("setresuid back");
		return 1;
	}
	root_only(fd, "from root before START", 0);
	expect("STP_START", stp_ctl_send(fd, num, STP_IDX_START, &st, sizeof(st)), 0);
	expect("STP_START reply", wait_for(fd, STP_IDX_START, 3000), 0);
	root_only(fd, "from root after START", -EPERM);
	expect("STP_EXIT", stp_ctl_send(fd, num, STP_IDX_EXIT, NULL, 0), 0);
	expect("STP_EXIT reply", wait_for(fd, STP_IDX_EXIT, 3000), 0);
	close(fd);
	printf("%s\n", failures ? "FAILED" : "all checks passed");
	return failures ? 1 : 0;
}
