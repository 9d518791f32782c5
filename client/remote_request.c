/* The request archive stap sends to a compile server, in SystemTap's
 * layout (docs/protocol.md, "Request archive"): the script under
 * script/<absolute path>, each -I tree's .stp/.stpm files under
 * tapset/<absolute path>, the argv words in SystemTap's order, sysinfo,
 * locale and the running kernel's build-id. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "csproto.h"
#include "kernel.h"
#include "remote_internal.h"
#include "util.h"
#include "zip.h"

enum {
	MAX_REQUEST_BYTES = 16 * 1024 * 1024,  /* script + tapset files, uncompressed */
	MAX_REQUEST_FILES = 500,               /* the archive reader allows 1000 entries */
	MAX_TAPSET_DEPTH = 16,                 /* directory levels below an -I dir */
};

/* The files and words of one request while it is being collected. */
struct request {
	struct cs_file *files;  /* names and data owned here */
	size_t nfiles;
	size_t bytes;           /* sum of file sizes, against MAX_REQUEST_BYTES */
	struct ptrvec argv;     /* char *, owned */
	int verbose;
};

static void request_free(struct request *r)
{
	for (size_t i = 0; i < r->nfiles; i++) {
		free((char *)r->files[i].name);
		free((void *)r->files[i].data);
	}
	free(r->files);
	for (size_t i = 0; i < r->argv.n; i++)
		free(r->argv.v[i]);
	pv_free(&r->argv);
}

static void add_word(struct request *r, const char *w)
{
	pv_push(&r->argv, xstrdup(w));
}

/* Takes name and data. */
static int add_file(struct request *r, char *name, char *data, size_t size)
{
	if (!zip_name_ok(name)) {
		remote_error("cannot send '%s' to the server: not a usable archive name", name);
		free(name);
		free(data);
		return -1;
	}
	if (r->nfiles >= MAX_REQUEST_FILES) {
		remote_error("more than %d script and tapset files to send to the server",
			     MAX_REQUEST_FILES);
		free(name);
		free(data);
		return -1;
	}
	r->files = xrealloc(r->files, (r->nfiles + 1) * sizeof *r->files);
	r->files[r->nfiles++] = (struct cs_file){ .name = name, .data = data, .size = size };
	r->bytes += size;
	return 0;
}

static size_t bytes_left(const struct request *r)
{
	return r->bytes < MAX_REQUEST_BYTES ? MAX_REQUEST_BYTES - r->bytes : 0;
}

static void too_big(const char *what)
{
	remote_error("%s: the files to send to the server exceed %d MiB", what,
		     MAX_REQUEST_BYTES / (1024 * 1024));
}

/* Reads path (following symlinks: it is the user's own file) within what
 * is left of the size budget. */
static char *read_bounded(struct request *r, const char *path, size_t *len)
{
	size_t left = bytes_left(r);
	char *data = left ? read_file_bounded(path, left, len) : (errno = EFBIG, NULL);
	if (!data) {
		if (errno == EFBIG)
			too_big(path);
		else
			remote_error("cannot read '%s': %s", path, strerror(errno));
	}
	return data;
}

static char *read_stdin(struct request *r, size_t *len)
{
	size_t cap = 4096, n = 0, left = bytes_left(r);
	char *buf = xmalloc(cap + 1);
	for (;;) {
		if (n == cap) {
			if (cap >= left) {
				too_big("the script on standard input");
				free(buf);
				return NULL;
			}
			cap = cap * 2 > left ? left : cap * 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t got = read(STDIN_FILENO, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			remote_error("cannot read the script from standard input: %s", strerror(errno));
			free(buf);
			return NULL;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The absolute canonical path of an existing file or directory; refuses "/"
 * (it would be stored as "script/" or "tapset/"). */
static char *canonical(const char *path, const char *what)
{
	char *abs = realpath(path, NULL);
	if (!abs) {
		remote_error("cannot send %s '%s' to the server: %s", what, path, strerror(errno));
		return NULL;
	}
	if (strcmp(abs, "/") == 0) {
		remote_error("cannot send %s '%s' to the server: it is the root directory", what, path);
		free(abs);
		return NULL;
	}
	return abs;
}

/* script/<abs path> (its word comes first in argv), or script/- for stdin. */
static int add_script(struct request *r, const char *path)
{
	size_t len = 0;
	char *data, *name;
	if (strcmp(path, "-") == 0) {
		if (!(data = read_stdin(r, &len)))
			return -1;
		name = xstrdup("script/-");
	} else {
		char *abs = canonical(path, "script");
		if (!abs)
			return -1;
		data = read_bounded(r, abs, &len);
		name = xasprintf("script/%s", abs + 1);
		free(abs);
		if (!data) {
			free(name);
			return -1;
		}
	}
	add_word(r, name);
	return add_file(r, name, data, len);
}

static bool is_tapset_name(const char *name)
{
	size_t n = strlen(name);
	return (n > 4 && strcmp(name + n - 4, ".stp") == 0) ||
	       (n > 5 && strcmp(name + n - 5, ".stpm") == 0);
}

/* Whether path is root or below it (both canonical). */
static bool inside(const char *path, const char *root)
{
	size_t n = strlen(root);
	return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static int add_tapset_tree(struct request *r, const char *root, const char *dir,
			   const char *entry_dir, int depth);

/* One directory entry of an -I tree.  Symlinks are followed only to
 * regular files inside the tree (zip -r in SystemTap follows all of them;
 * a link out of the tree would send files the user did not mean to send,
 * and a link to a directory can loop). */
static int add_tapset_entry(struct request *r, const char *root, const char *path,
			    const char *entry, int depth)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return 0;   /* gone meanwhile */
	if (S_ISDIR(st.st_mode))
		return add_tapset_tree(r, root, path, entry, depth + 1);
	if (S_ISLNK(st.st_mode)) {
		char *target = realpath(path, NULL);
		bool ok = target && inside(target, root) && stat(target, &st) == 0 &&
			  S_ISREG(st.st_mode);
		if (!ok && r->verbose && is_tapset_name(path))
			fprintf(stderr, "Not sending %s: a symlink %s\n", path,
				!target || !inside(target, root) ? "out of its -I directory"
								: "to something other than a file");
		free(target);
		if (!ok)
			return 0;
	}
	if (!S_ISREG(st.st_mode) || !is_tapset_name(path))
		return 0;
	size_t len = 0;
	char *data = read_bounded(r, path, &len);
	if (!data)
		return -1;
	return add_file(r, xstrdup(entry), data, len);
}

static int add_tapset_tree(struct request *r, const char *root, const char *dir,
			   const char *entry_dir, int depth)
{
	if (depth > MAX_TAPSET_DEPTH) {
		remote_error("-I %s: directories nested deeper than %d levels", root, MAX_TAPSET_DEPTH);
		return -1;
	}
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		remote_error("cannot read directory '%s': %s", dir, strerror(errno));
		return -1;
	}
	int rc = 0;
	for (int i = 0; i < n; i++) {
		const char *d = names[i]->d_name;
		if (rc == 0 && strcmp(d, ".") != 0 && strcmp(d, "..") != 0) {
			char *path = xasprintf("%s/%s", dir, d);
			char *entry = xasprintf("%s/%s", entry_dir, d);
			rc = add_tapset_entry(r, root, path, entry, depth);
			free(path);
			free(entry);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

/* -I DIR: the words "-I" "tapset/<abs>" and the tree's tapset files. */
static int add_include_dir(struct request *r, const char *dir)
{
	char *abs = canonical(dir, "-I directory");
	if (!abs)
		return -1;
	struct stat st;
	int rc = -1;
	if (stat(abs, &st) < 0 || !S_ISDIR(st.st_mode)) {
		remote_error("-I %s: not a directory", dir);
		goto out;
	}
	char *entry = xasprintf("tapset/%s", abs + 1);
	add_word(r, "-I");
	add_word(r, entry);
	rc = add_tapset_tree(r, abs, abs, entry, 0);
	free(entry);
out:
	free(abs);
	return rc;
}

/* The running kernel's NT_GNU_BUILD_ID from /sys/kernel/notes (under
 * $STAP_SYSFS when set, as common/kernel.c reads it), or NULL. */

int remote_request_zip(const struct remote_request *rq, unsigned char **zip, size_t *len)
{
	struct request r = { .verbose = rq->verbose };
	int rc = -1;
	char *build_id = NULL;
	if (rq->script_path && add_script(&r, rq->script_path) < 0)
		goto out;
	for (size_t i = 0; i < rq->ninclude; i++)
		if (add_include_dir(&r, rq->include_dirs[i]) < 0)
			goto out;
	for (size_t i = 0; i < rq->nwords; i++)
		add_word(&r, rq->words[i]);
	if (rq->nargs) {
		add_word(&r, "--");
		for (size_t i = 0; i < rq->nargs; i++)
			add_word(&r, rq->script_args[i]);
	}

	struct utsname u;
	uname(&u);
	const char *release = rq->kernel_release ? rq->kernel_release : u.release;
	const char *arch = rq->arch ? rq->arch : u.machine;
	if (!cs_kernel_release_ok(release)) {
		remote_error("kernel release '%s' cannot be sent to a server", release);
		goto out;
	}
	if (!rq->foreign_kernel)
		build_id = kernel_running_build_id();
	if (rq->verbose >= 2)
		fprintf(stderr, "Request: %zu words, %zu files (%zu bytes), kernel %s %s, build-id %s\n",
			r.argv.n, r.nfiles, r.bytes, release, arch, build_id ? build_id : "(none)");
	char **mok = NULL;
	size_t nmok = 0;
	if (rq->last_pass >= 4 && modules_must_be_signed() && mok_fingerprints(&mok, &nmok) < 0)
		goto out;
	int built = cs_request_build(release, arch, build_id, (char *const *)r.argv.v, r.argv.n,
				     r.files, r.nfiles, mok, nmok, zip, len);
	strv_free(mok, nmok);
	if (built < 0) {
		remote_error("cannot build the request archive (kernel '%s', arch '%s', "
			     "%zu words, %zu files)", release, arch, r.argv.n, r.nfiles);
		goto out;
	}
	rc = 0;
out:
	free(build_id);
	request_free(&r);
	return rc;
}
