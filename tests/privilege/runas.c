/* runas UID GID[,GID...] COMMAND [ARG...]: runs COMMAND with real,
 * effective and saved uid UID, gid the first GID and exactly the listed
 * supplementary groups (tests/privilege: the users of ref §10 without
 * relying on /etc/group member lists or a login). */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	gid_t groups[32];
	size_t n = 0;
	char *list, *tok, *save = NULL;
	uid_t uid;

	if (argc < 4) {
		fprintf(stderr, "usage: runas UID GID[,GID...] COMMAND [ARG...]\n");
		return 127;
	}
	uid = (uid_t)strtoul(argv[1], NULL, 10);
	list = argv[2];
	for (tok = strtok_r(list, ",", &save); tok && n < 32; tok = strtok_r(NULL, ",", &save))
		groups[n++] = (gid_t)strtoul(tok, NULL, 10);
	if (n == 0 || setgroups(n, groups) || setresgid(groups[0], groups[0], groups[0]) ||
	    setresuid(uid, uid, uid)) {
		fprintf(stderr, "runas: %s\n", strerror(errno));
		return 127;
	}
	execvp(argv[3], argv + 3);
	fprintf(stderr, "runas: %s: %s\n", argv[3], strerror(errno));
	return 127;
}
