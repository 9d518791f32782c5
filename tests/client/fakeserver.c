/* fakeserver: a hostile compile server for tests/client/run.sh.  It
 * speaks the wire protocol (TLS with a stap-style certificate, a 4-byte
 * length, the request; a response archive until close) and answers every
 * request with one hand-made response chosen by SCENARIO, so the client's
 * refusals can be tested.  Loopback only (127.0.0.1, a port the kernel
 * picks, written to PORTFILE).
 *
 *   fakeserver gen DBDIR
 *   fakeserver serve DBDIR PORTFILE SCENARIO [REQUEST_COPY]
 *
 * The archives are written by hand (stored entries, Unix modes) because
 * common/zip.c rightly refuses to write symlinks or "../" names.  The
 * process ends after MAX_LIFETIME_S whatever happens. */
#include "config.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <prio.h>
#include <prinrval.h>
#include <prnetdb.h>
#include <prthread.h>

#include "nss.h"
#include "util.h"

enum {
	MAX_LIFETIME_S = 300,
	MAX_REQUEST = 1024 * 1024,
	IO_TIMEOUT_MS = 10 * 1000,
	HANG_S = 60,
	BIG_MIB = 257,              /* just above the client's 256 MiB cap */
};

/* ---- a tiny zip writer: stored entries only ---- */

struct zentry { const char *name; const char *data; unsigned mode; };

static uint32_t crc32_of(const void *buf, size_t n)
{
	const unsigned char *p = buf;
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

static void put16(struct strbuf *sb, unsigned v)
{
	sb_putc(sb, (char)(v & 0xff));
	sb_putc(sb, (char)((v >> 8) & 0xff));
}

static void put32(struct strbuf *sb, uint32_t v)
{
	put16(sb, v & 0xffff);
	put16(sb, v >> 16);
}

static char *make_zip(const struct zentry *e, size_t n, size_t *len)
{
	struct strbuf out, cd;
	sb_init(&out);
	sb_init(&cd);
	for (size_t i = 0; i < n; i++) {
		size_t nlen = strlen(e[i].name), dlen = e[i].data ? strlen(e[i].data) : 0;
		uint32_t crc = crc32_of(e[i].data ? e[i].data : "", dlen);
		uint32_t off = (uint32_t)out.len;
		put32(&out, 0x04034b50);
		put16(&out, 10); put16(&out, 0); put16(&out, 0);     /* version, flags, stored */
		put16(&out, 0); put16(&out, 0x21);                   /* 1980-01-01 00:00 */
		put32(&out, crc); put32(&out, (uint32_t)dlen); put32(&out, (uint32_t)dlen);
		put16(&out, (unsigned)nlen); put16(&out, 0);
		sb_putn(&out, e[i].name, nlen);
		sb_putn(&out, e[i].data ? e[i].data : "", dlen);

		put32(&cd, 0x02014b50);
		put16(&cd, 3u << 8 | 20); put16(&cd, 10); put16(&cd, 0); put16(&cd, 0);
		put16(&cd, 0); put16(&cd, 0x21);
		put32(&cd, crc); put32(&cd, (uint32_t)dlen); put32(&cd, (uint32_t)dlen);
		put16(&cd, (unsigned)nlen); put16(&cd, 0); put16(&cd, 0);
		put16(&cd, 0); put16(&cd, 0);
		put32(&cd, (uint32_t)e[i].mode << 16);
		put32(&cd, off);
		sb_putn(&cd, e[i].name, nlen);
	}
	uint32_t cd_off = (uint32_t)out.len;
	sb_putn(&out, cd.s, cd.len);
	put32(&out, 0x06054b50);
	put16(&out, 0); put16(&out, 0);
	put16(&out, (unsigned)n); put16(&out, (unsigned)n);
	put32(&out, (uint32_t)cd.len); put32(&out, cd_off);
	put16(&out, 0);
	sb_free(&cd);
	*len = out.len;
	return sb_detach(&out);
}

/* ---- scenarios ---- */

#define F 0100644u
#define D 040755u
#define L 0120777u
#define KO_LINE "<server>/.systemtap/cache/ab/stap_abc.ko\n"

struct scenario { const char *name; struct zentry e[8]; size_t n; };

static const struct scenario scenarios[] = {
	{ "good", { { "version", "4.8", F }, { "rc", "0", F },
		    { "stdout", "hello from the server\n" KO_LINE, F },
		    { "stderr", "a server warning\n", F }, { "stap000000/", NULL, D },
		    { "stap000000/stap_abc.ko", "MODULE BYTES", F },
		    { "stap000000/stap_abc.ko.sgn", "SIGNATURE", F } }, 7 },
	{ "symlink", { { "version", "4.8", F }, { "rc", "0", F }, { "stdout", KO_LINE, F },
		       { "stap000000/", NULL, D }, { "stap000000/x.ko", "/etc/passwd", L } }, 5 },
	{ "dotdot", { { "version", "4.8", F }, { "rc", "0", F }, { "stdout", "x\n", F },
		      { "stap000000/../../evil.ko", "EVIL", F } }, 4 },
	{ "dotdot2", { { "version", "4.8", F }, { "rc", "0", F }, { "../evil.ko", "EVIL", F } }, 3 },
	{ "absolute", { { "version", "4.8", F }, { "rc", "0", F }, { "/tmp/evil.ko", "EVIL", F } }, 3 },
	{ "twodirs", { { "version", "4.8", F }, { "rc", "0", F },
		       { "stap000000/a.ko", "A", F }, { "stap000001/b.ko", "B", F } }, 4 },
	{ "twoko", { { "version", "4.8", F }, { "rc", "0", F },
		     { "stap000000/a.ko", "A", F }, { "stap000000/b.ko", "B", F } }, 4 },
	{ "badname", { { "version", "4.8", F }, { "rc", "0", F },
		       { "stap000000/evil-name.ko", "EVIL", F } }, 3 },
	{ "nomodule", { { "version", "4.8", F }, { "rc", "0", F }, { "stdout", "", F } }, 3 },
	{ "rcabc", { { "version", "4.8", F }, { "rc", "abc", F }, { "stdout", "out\n", F } }, 3 },
	{ "rc3", { { "version", "4.8", F }, { "rc", "3", F }, { "stderr", "semantic error: x\n", F } }, 3 },
	{ "norc", { { "version", "4.8", F } }, 1 },
	{ "noversion", { { "rc", "0", F }, { "stdout", "old server\n", F },
			 { "stderr", "Keeping temporary directory \"/tmp/x\"\nkept line\n", F } }, 3 },
	{ "versionabc", { { "version", "abc", F }, { "rc", "0", F }, { "stdout", "odd version\n", F } }, 3 },
	{ "mok", { { "version", "4.8", F }, { "rc", "1", F },
		   { "stderr", "Server: No matching machine owner key (MOK) available on the server to sign the\n", F },
		   { "signing_key.x509", "CERT", F } }, 4 },
};

static const struct scenario *find_scenario(const char *name)
{
	for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
		if (strcmp(scenarios[i].name, name) == 0)
			return &scenarios[i];
	return NULL;
}

static void send_big(PRFileDesc *fd)
{
	char err[256];
	size_t chunk = 1024 * 1024;
	char *buf = xcalloc(1, chunk);
	for (int i = 0; i < BIG_MIB; i++)
		if (tls_write_full(fd, buf, chunk, IO_TIMEOUT_MS, err, sizeof err) < 0)
			break;   /* the client stopped reading: that is the point */
	free(buf);
}

static void serve_one(PRFileDesc *tcp, const struct server_identity *id, const char *scenario,
		      const char *copy_path)
{
	char err[256];
	PRFileDesc *fd = tls_server_wrap(tcp, id, err, sizeof err);
	if (!fd) {
		fprintf(stderr, "fakeserver: %s\n", err);
		PR_Close(tcp);
		return;
	}
	unsigned char hdr[4];
	if (tls_read_full(fd, hdr, 4, IO_TIMEOUT_MS, err, sizeof err) < 0) {
		fprintf(stderr, "fakeserver: reading the length: %s\n", err);
		goto out;
	}
	int32_t len = (int32_t)((uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
				(uint32_t)hdr[2] << 8 | hdr[3]);
	if (len == 0) {
		fprintf(stderr, "fakeserver: probe\n");
		goto out;
	}
	if (len < 0 || len > MAX_REQUEST)
		goto out;
	char *req = xmalloc((size_t)len);
	if (tls_read_full(fd, req, (size_t)len, IO_TIMEOUT_MS, err, sizeof err) < 0) {
		fprintf(stderr, "fakeserver: reading the request: %s\n", err);
		free(req);
		goto out;
	}
	if (copy_path) {
		FILE *f = fopen(copy_path, "wb");
		if (f) {
			fwrite(req, 1, (size_t)len, f);
			fclose(f);
		}
	}
	free(req);
	fprintf(stderr, "fakeserver: request of %d bytes, answering '%s'\n", (int)len, scenario);
	if (strcmp(scenario, "close") == 0)
		goto out;
	if (strcmp(scenario, "hang") == 0) {
		sleep(HANG_S);
		goto out;
	}
	if (strcmp(scenario, "big") == 0) {
		send_big(fd);
		goto out;
	}
	const struct scenario *s = find_scenario(scenario);
	size_t zlen;
	char *zip = make_zip(s->e, s->n, &zlen);
	if (tls_write_full(fd, zip, zlen, IO_TIMEOUT_MS, err, sizeof err) < 0)
		fprintf(stderr, "fakeserver: sending: %s\n", err);
	free(zip);
out:
	PR_Close(fd);
}

static int serve(const char *db, const char *portfile, const char *scenario, const char *copy)
{
	char err[256];
	if (!find_scenario(scenario) && strcmp(scenario, "close") != 0 &&
	    strcmp(scenario, "hang") != 0 && strcmp(scenario, "big") != 0) {
		fprintf(stderr, "fakeserver: unknown scenario %s\n", scenario);
		return 2;
	}
	struct server_identity id;
	if (nss_start(db, false, err, sizeof err) < 0 || server_identity_load(&id, err, sizeof err) < 0) {
		fprintf(stderr, "fakeserver: %s\n", err);
		return 1;
	}
	PRFileDesc *lsock = PR_OpenTCPSocket(PR_AF_INET);
	PRNetAddr addr;
	PR_InitializeNetAddr(PR_IpAddrLoopback, 0, &addr);
	if (!lsock || PR_Bind(lsock, &addr) != PR_SUCCESS || PR_Listen(lsock, 8) != PR_SUCCESS ||
	    PR_GetSockName(lsock, &addr) != PR_SUCCESS) {
		fprintf(stderr, "fakeserver: cannot listen on 127.0.0.1: %s\n",
			nss_error_text(err, sizeof err));
		return 1;
	}
	char *tmp = xasprintf("%s.tmp", portfile);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%u\n", (unsigned)PR_ntohs(addr.inet.port)) < 0 || fclose(f) != 0 ||
	    rename(tmp, portfile) < 0) {
		fprintf(stderr, "fakeserver: cannot write %s\n", portfile);
		return 1;
	}
	free(tmp);
	for (;;) {
		PRNetAddr peer;
		PRFileDesc *tcp = PR_Accept(lsock, &peer, PR_INTERVAL_NO_TIMEOUT);
		if (!tcp) {
			PR_Sleep(PR_MillisecondsToInterval(100));
			continue;
		}
		serve_one(tcp, &id, scenario, copy);
	}
}

int main(int argc, char **argv)
{
	progname = "fakeserver";
	alarm(MAX_LIFETIME_S);   /* default action: the process ends */
	char err[256];
	if (argc == 3 && strcmp(argv[1], "gen") == 0) {
		if (cert_db_generate(argv[2], NULL, 0, err, sizeof err) < 0) {
			fprintf(stderr, "fakeserver: %s\n", err);
			return 1;
		}
		return 0;
	}
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "serve") == 0)
		return serve(argv[2], argv[3], argv[4], argc == 6 ? argv[5] : NULL);
	fprintf(stderr, "usage: fakeserver gen DBDIR | serve DBDIR PORTFILE SCENARIO [REQUEST_COPY]\n");
	return 2;
}
