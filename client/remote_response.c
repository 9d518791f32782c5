/* What stap does with a compile server's response (docs/protocol.md,
 * "Client processing of the response"), as SystemTap does it, without
 * trusting the server: the archive is read in memory by common/zip.c
 * (symlinks, "..", absolute names and bombs refused), only the basename
 * of the module entry is used, it must look like a module name, and files
 * land in the current directory through a fresh temporary file and a
 * rename, so no symlink placed there is followed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csproto.h"
#include "remote_internal.h"
#include "util.h"
#include "zip.h"

/* A response holds the translator's whole build tree (~130 entries, a few
 * MiB); these are far above that and keep a hostile server's archive in
 * memory bounds. */
static const struct zip_limits response_limits = {
	.max_entries = 4000,
	.max_total = 256u * 1024 * 1024,
	.max_entry = 128u * 1024 * 1024,
};

/* Writes text to f, leaving out the lines drop() picks. */
static void print_filtered(FILE *f, const char *text, size_t len,
			   bool (*drop)(const char *line, size_t n))
{
	size_t start = 0;
	while (start < len) {
		const char *nl = memchr(text + start, '\n', len - start);
		size_t n = nl ? (size_t)(nl - (text + start)) : len - start;
		if (!drop || !drop(text + start, n))
			fwrite(text + start, 1, n + (nl ? 1 : 0), f);
		start += n + 1;
	}
}

/* The server's module-path line (and any other output line ending in
 * .ko), which SystemTap hides. */
static bool ko_line(const char *line, size_t n)
{
	return n >= 3 && memcmp(line + n - 3, ".ko", 3) == 0;
}

/* Servers older than 1.6 say where they kept their temporary files. */
static bool keeping_line(const char *line, size_t n)
{
	static const char prefix[] = "Keeping temporary directory";
	return n >= sizeof prefix - 1 && memcmp(line, prefix, sizeof prefix - 1) == 0;
}

/* ^[A-Za-z0-9_]+\.ko$ */
static bool module_file_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n < 4 || strcmp(name + n - 3, ".ko") != 0)
		return false;
	for (size_t i = 0; i < n - 3; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* Writes name in the current directory: a new temporary file (O_EXCL, so
 * nothing that exists is opened), then rename, which replaces a symlink
 * called name instead of following it. */
static int write_in_cwd(const char *name, const void *data, size_t len)
{
	char *tmp = xasprintf(".%s.XXXXXX", name);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		remote_error("cannot create a file for %s in the current directory: %s", name,
			     strerror(errno));
		free(tmp);
		return -1;
	}
	mode_t mask = umask(022);
	umask(mask);
	const unsigned char *p = data;
	size_t left = len;
	int rc = 0;
	while (left > 0 && rc == 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = -1;
		else {
			p += w;
			left -= (size_t)w;
		}
	}
	if (rc == 0 && fchmod(fd, 0644 & ~mask) < 0)
		rc = -1;
	if (close(fd) < 0)
		rc = -1;
	if (rc == 0 && rename(tmp, name) < 0)
		rc = -1;
	if (rc < 0) {
		remote_error("cannot write %s in the current directory: %s", name, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

/* The NAME of the -m word among the forwarded options, or NULL. */
static const char *module_name_word(const struct remote_request *rq)
{
	const char *name = NULL;
	for (size_t i = 0; i < rq->nwords; i++)
		if (strncmp(rq->words[i], "-m", 2) == 0 && rq->words[i][2])
			name = rq->words[i] + 2;
	return name;
}

/* Pass 4 and 5: the one module (and its signature) into the current
 * directory.  0 or -1 after printing why. */
static int copy_module(const struct cs_response *r, const struct remote_request *rq,
		       char **module_out)
{
	if (!r->module) {
		remote_error("No module was returned by the server.");
		return -1;
	}
	const char *ko = base_name(r->module->name);
	if (!module_file_name_ok(ko)) {
		remote_error("the server's module '%s' does not have a module's name "
			     "([A-Za-z0-9_]+.ko); not using it", r->module->name);
		return -1;
	}
	const char *wanted = module_name_word(rq);
	if (rq->module_name_given && wanted &&
	    (strncmp(ko, wanted, strlen(wanted)) != 0 || strcmp(ko + strlen(wanted), ".ko") != 0)) {
		remote_error("the server returned module %s, not %s.ko as -m asked", ko, wanted);
		return -1;
	}
	if (write_in_cwd(ko, r->module->data, r->module->size) < 0)
		return -1;
	if (r->signature) {
		char *sgn = xasprintf("%s.sgn", ko);
		int rc = write_in_cwd(sgn, r->signature->data, r->signature->size);
		free(sgn);
		if (rc < 0)
			return -1;
	}
	if (rq->last_pass == 4)
		printf("%s\n", ko);
	if (module_out)
		*module_out = xstrdup(ko);
	return 0;
}

/* -k: the response unpacked as <keep_dir>/server, for a look afterwards. */
static void keep_unpacked(const struct zip_archive *z, const char *keep_dir)
{
	char *dir = xasprintf("%s/server", keep_dir);
	char err[256] = "";
	int fd = -1;
	if (mkdir(dir, 0700) < 0 || (fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)) < 0)
		snprintf(err, sizeof err, "%s", strerror(errno));
	else if (zip_extract_at(z, fd, err, sizeof err) == 0)
		err[0] = '\0';
	if (err[0])
		remote_warning("cannot unpack the server response into %s: %s", dir, err);
	if (fd >= 0)
		close(fd);
	free(dir);
}

int remote_response_process(const unsigned char *zip, size_t len,
			    const struct remote_request *rq, const char *keep_dir,
			    char **module_out)
{
	char err[512];
	struct zip_archive z = { 0 };
	struct cs_response r = { 0 };
	int status = 1;
	if (len == 0) {
		remote_error("Unable to unzip the server response: the server sent nothing");
		return 1;
	}
	if (zip_read_mem(zip, len, &response_limits, &z, err, sizeof err) < 0) {
		remote_error("Unable to unzip the server response: %s", err);
		return 1;
	}
	if (keep_dir)
		keep_unpacked(&z, keep_dir);
	if (cs_response_parse(&z, &r, err, sizeof err) < 0) {
		remote_error("unusable server response: %s", err);
		goto out;
	}

	bool old_server = cs_version_compare(r.server_version, "1.6") < 0;
	if (old_server)
		fprintf(stderr, "Server protocol version is %s\n"
			"The server does not use localization information passed by the client\n",
			r.server_version);
	print_filtered(stdout, r.out, r.outlen, ko_line);
	fflush(stdout);
	print_filtered(stderr, r.err, r.errlen, old_server ? keeping_line : NULL);
	fflush(stderr);

	/* the server's MOK certificate, for the user to enroll (SystemTap
	 * copies it whatever rc says: it comes with a failure) */
	if (r.mok_cert && write_in_cwd("signing_key.x509", r.mok_cert->data, r.mok_cert->size) < 0)
		goto out;

	if (!r.has_rc) {
		/* SystemTap's words; a server says nothing more when it does
		 * not support the kernel that was asked for */
		remote_error("Unable to open file 'rc' of the server response for reading: "
			     "No such file or directory");
		goto out;
	}
	if (r.rc != 0)
		goto out;
	if (rq->last_pass >= 4 && copy_module(&r, rq, module_out) < 0)
		goto out;
	status = 0;
out:
	fflush(stdout);
	cs_response_free(&r);
	zip_archive_free(&z);
	return status;
}
