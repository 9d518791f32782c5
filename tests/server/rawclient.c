/* rawclient: a deliberately misbehaving compile-server client for the
 * server's tests.  Connects over TLS (accepting any certificate), sends a
 * 4-byte length and a body as told, and writes what comes back to stdout.
 *
 *   rawclient [--len N] [--send K] [--idle S] [--read K] [--wait S] ADDR PORT [BODY]
 *
 *   --len N    the length to announce (default: BODY's size); any 32-bit value
 *   --send K   send only the first K bytes of BODY, then stop sending
 *   --idle S   connect, send nothing for S seconds, then close
 *   --read K   read only K bytes of the response, then close
 *   --wait S   after sending, wait S seconds before reading
 * Exit status: 0 a response (maybe empty) was read to its end, 1 otherwise. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nss.h"
#include "util.h"

static bool accept_any(const unsigned char *der, size_t len, void *arg)
{
	(void)der; (void)len; (void)arg;
	return true;
}

int main(int argc, char **argv)
{
	long long announce = 0, send_max = -1, read_max = -1;
	bool announced = false;
	int idle = 0, wait_s = 0, i = 1;
	progname = "rawclient";
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (i + 1 >= argc)
			return 2;
		long long v = strtoll(argv[i + 1], NULL, 0);
		if (!strcmp(argv[i], "--len")) { announce = v; announced = true; }
		else if (!strcmp(argv[i], "--send")) send_max = v;
		else if (!strcmp(argv[i], "--read")) read_max = v;
		else if (!strcmp(argv[i], "--idle")) idle = (int)v;
		else if (!strcmp(argv[i], "--wait")) wait_s = (int)v;
		else return 2;
	}
	if (argc - i < 2)
		return 2;
	const char *addr = argv[i], *bodyfile = argc - i > 2 ? argv[i + 2] : NULL;
	int port = atoi(argv[i + 1]);
	char err[512];
	size_t blen = 0;
	char *body = bodyfile ? read_file_bounded(bodyfile, 1u << 30, &blen) : xstrdup("");
	if (!body) {
		fprintf(stderr, "rawclient: cannot read %s\n", bodyfile);
		return 1;
	}
	if (nss_start_nodb(err, sizeof err) != 0) {
		fprintf(stderr, "rawclient: %s\n", err);
		return 1;
	}
	PRFileDesc *fd = tls_client_connect(addr, port, NULL, accept_any, NULL, 10000, err,
					    sizeof err);
	if (!fd) {
		fprintf(stderr, "rawclient: connect: %s\n", err);
		return 1;
	}
	if (idle) {
		sleep((unsigned)idle);
		PR_Close(fd);
		nss_stop();
		return 0;
	}
	uint32_t n = announced ? (uint32_t)announce : (uint32_t)blen;
	unsigned char hdr[4] = { n >> 24, n >> 16, n >> 8, n };
	size_t to_send = send_max >= 0 && (size_t)send_max < blen ? (size_t)send_max : blen;
	if (tls_write_full(fd, hdr, 4, 10000, err, sizeof err) != 0 ||
	    (to_send && tls_write_full(fd, body, to_send, 30000, err, sizeof err) != 0))
		fprintf(stderr, "rawclient: send: %s\n", err);	/* the server may refuse early */
	if (wait_s)
		sleep((unsigned)wait_s);
	int rc = 0;
	if (read_max >= 0) {
		unsigned char *buf = xmalloc((size_t)read_max + 1);
		if (read_max && tls_read_full(fd, buf, (size_t)read_max, 60000, err, sizeof err) != 0)
			rc = 1;
		free(buf);
	} else {
		unsigned char *buf = NULL;
		size_t len = 0;
		if (tls_read_to_eof(fd, 256u << 20, 900000, &buf, &len, err, sizeof err) != 0) {
			fprintf(stderr, "rawclient: receive: %s\n", err);
			rc = 1;
		}
		if (len)
			fwrite(buf, 1, len, stdout);
		free(buf);
	}
	PR_Close(fd);
	free(body);
	nss_stop();
	return rc;
}
