/* stap --use-server: one compile through the first server that answers
 * and is trusted (docs/protocol.md, "Wire framing").  The request goes as
 * a 4-byte signed big-endian length and the archive; the response is an
 * archive read to EOF, bounded in size and time. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "remote_internal.h"
#include "util.h"

enum { MAX_RESPONSE_BYTES = 256 * 1024 * 1024 };

/* -k: $TMPDIR/stapXXXXXX, kept; NULL after a warning. */
static char *make_keep_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = xasprintf("%s/stapXXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		remote_warning("cannot create a temporary directory %s: %s", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

static void keep_file(const char *dir, const char *name, const void *data, size_t len)
{
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	bool ok = fd >= 0;
	const unsigned char *p = data;
	while (ok && len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		ok = w > 0;
		if (ok) {
			p += w;
			len -= (size_t)w;
		}
	}
	if (!ok)
		remote_warning("cannot keep %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(path);
}

/* Tries every address of every spec (completed through Avahi where
 * needed) until one is trusted and completes the handshake.  *used gets
 * a text for messages. */
static PRFileDesc *connect_trusted(char *const *specs, size_t nspecs,
				   const struct remote_request *rq, char **used)
{
	int verbose = rq->verbose;
	const char *why = NULL;
	size_t n;
	struct server_spec *s = servers_to_try(specs, nspecs, rq, &n, &why);
	char *priv = private_ssl_store();
	struct trusted_check check = { .stores = { priv, GLOBAL_SSL_STORE } };
	PRFileDesc *fd = NULL;
	size_t tried = 0;
	for (size_t i = 0; i < n && !fd; i++) {
		char err[512];
		for (size_t k = 0; k < s[i].naddrs && !fd; k++) {
			tried++;
			check.why[0] = '\0';
			fd = remote_connect(&s[i].addrs[k], trusted_peer_check, &check, verbose,
					    err, sizeof err);
			if (fd) {
				*used = server_addr_text(&s[i].addrs[k]);
			} else if (verbose >= 1) {
				char *t = server_addr_text(&s[i].addrs[k]);
				fprintf(stderr, "  Unable to connect to %s: %s\n", t,
					check.why[0] ? check.why : err);
				free(t);
			}
		}
	}
	if (!fd) {
		fputs(tried ? "Unable to connect to a server.\n"
			    : "Unable to find a suitable compile server.  [man stap-server]\n", stderr);
		if (!tried && why)
			fprintf(stderr, "%s\n", why);
	}
	for (size_t i = 0; i < n; i++)
		server_spec_free(&s[i]);
	free(s);
	free(priv);
	return fd;
}

/* Sends the request and reads the whole response.  0 or -1 after
 * printing why. */
static int exchange(PRFileDesc *fd, const char *server, const unsigned char *req, size_t reqlen,
		    unsigned char **resp, size_t *resplen, int verbose)
{
	char err[512];
	int timeout = reply_timeout_ms();
	if (reqlen > INT32_MAX) {
		remote_error("the request is too large to send (%zu bytes)", reqlen);
		return -1;
	}
	unsigned char hdr[4] = {
		(unsigned char)(reqlen >> 24), (unsigned char)(reqlen >> 16),
		(unsigned char)(reqlen >> 8), (unsigned char)reqlen,
	};
	if (verbose >= 2)
		fprintf(stderr, "Sending a request of %zu bytes to %s\n", reqlen, server);
	if (tls_write_full(fd, hdr, sizeof hdr, timeout, err, sizeof err) < 0 ||
	    tls_write_full(fd, req, reqlen, timeout, err, sizeof err) < 0) {
		remote_error("cannot send the request to %s: %s", server, err);
		return -1;
	}
	if (tls_read_to_eof(fd, MAX_RESPONSE_BYTES, timeout, resp, resplen, err, sizeof err) < 0) {
		if (strstr(err, "timed out"))
			remote_error("reading the response of %s: %s (waited %d s; "
				     "STAP_CLIENT_TIMEOUT=SECONDS waits longer)", server, err,
				     timeout / 1000);
		else if (strstr(err, "more than"))
			remote_error("reading the response of %s: %s (responses are limited to %d MiB)",
				     server, err, MAX_RESPONSE_BYTES / (1024 * 1024));
		else
			remote_error("reading the response of %s: %s", server, err);
		*resp = NULL;
		return -1;
	}
	if (verbose >= 2)
		fprintf(stderr, "Received a response of %zu bytes from %s\n", *resplen, server);
	return 0;
}

int remote_compile(char *const *specs, size_t nspecs, const struct remote_request *rq,
		   char **module_out)
{
	if (module_out)
		*module_out = NULL;
	int status = 1;
	unsigned char *req = NULL, *resp = NULL;
	size_t reqlen = 0, resplen = 0;
	char *keep_dir = rq->keep_tmp ? make_keep_dir() : NULL;
	char *server = NULL;
	PRFileDesc *fd = NULL;

	if (remote_request_zip(rq, &req, &reqlen) < 0)
		goto out;
	if (keep_dir)
		keep_file(keep_dir, "client.zip", req, reqlen);
	if (remote_nss_start() < 0)
		goto out;
	if (!(fd = connect_trusted(specs, nspecs, rq, &server)))
		goto out;
	int ex = exchange(fd, server, req, reqlen, &resp, &resplen, rq->verbose);
	PR_Close(fd);
	if (ex < 0)
		goto out;
	if (keep_dir)
		keep_file(keep_dir, "server.zip", resp, resplen);
	status = remote_response_process(resp, resplen, rq, keep_dir, module_out);
out:
	fflush(stdout);
	if (status != 0)
		fprintf(stderr, "Passes: via server failed.  Try again with another '-v' option.\n");
	if (keep_dir)
		fprintf(stderr, "Keeping temporary directory \"%s\"\n", keep_dir);
	free(keep_dir);
	free(server);
	free(req);
	free(resp);
	return status;
}
