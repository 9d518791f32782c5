/* Session set-up: the target kernel's identity and .config, loaded files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "ast.h"
#include "session.h"
#include "util.h"

enum { MAX_SCRIPT_BYTES = 64 * 1024 * 1024, MAX_CONFIG_BYTES = 16 * 1024 * 1024 };

void session_init(struct session *s)
{
	memset(s, 0, sizeof *s);
	arena_init(&s->arena);
	diag_init(&s->diag, stderr);
	s->compat = "4.8";
	s->privilege = "stapdev";
	s->tapset_dir = NULL;
}

void session_free(struct session *s)
{
	for (size_t i = 0; i < s->files.n; i++) {
		struct source_file *f = s->files.v[i];
		free(f->name);
		free(f->text);
		free(f);
	}
	pv_free(&s->files);
	for (size_t i = 0; i < s->stapfiles.n; i++) {
		struct stapfile *f = s->stapfiles.v[i];
		pv_free(&f->probes);
		pv_free(&f->aliases);
		pv_free(&f->functions);
		pv_free(&f->globals);
		pv_free(&f->embeds);
	}
	pv_free(&s->stapfiles);
	pv_free(&s->library_macros);
	pv_free(&s->include_dirs);
	pv_free(&s->defines);
	struct kernel_info *k = &s->kernel;
	free(k->release);
	free(k->version);
	free(k->arch);
	free(k->build_dir);
	free(k->config_path);
	for (size_t i = 0; i < k->nconfig; i++)
		free(k->config[i]);
	free(k->config);
	arena_free(&s->arena);
}

static int cmp_config(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_config(struct kernel_info *k, const char *path)
{
	size_t len;
	char *text = read_file_bounded(path, MAX_CONFIG_BYTES, &len);
	if (!text)
		return;
	k->config_path = xstrdup(path);
	size_t cap = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "CONFIG_", 7) != 0 || !strchr(line, '='))
			continue;
		if (k->nconfig == cap) {
			cap = cap ? cap * 2 : 1024;
			k->config = xrealloc(k->config, cap * sizeof *k->config);
		}
		k->config[k->nconfig++] = xstrdup(line);
	}
	free(text);
	if (k->nconfig)
		qsort(k->config, k->nconfig, sizeof *k->config, cmp_config);
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Read a one-line file such as include/config/kernel.release. */
static char *read_line_file(const char *path)
{
	char *text = read_file_bounded(path, 4096, NULL);
	if (!text)
		return NULL;
	text[strcspn(text, "\r\n")] = '\0';
	return text;
}

void session_set_kernel(struct session *s, const char *r)
{
	struct kernel_info *k = &s->kernel;
	struct utsname u;
	uname(&u);
	free(k->arch);
	k->arch = xstrdup(strcmp(u.machine, "amd64") == 0 ? "x86_64" : u.machine);
	free(k->release);
	free(k->build_dir);
	if (r && strchr(r, '/')) {
		/* -r BUILDDIR */
		k->build_dir = xstrdup(r);
		char *path = xasprintf("%s/include/config/kernel.release", r);
		k->release = read_line_file(path);
		free(path);
		if (!k->release)
			k->release = xstrdup("unknown");
	} else {
		k->release = xstrdup(r ? r : u.release);
		k->build_dir = xasprintf("/lib/modules/%s/build", k->release);
	}
	free(k->version);
	k->version = xstrndup(k->release, strcspn(k->release, "-"));

	char *path = xasprintf("%s/.config", k->build_dir);
	if (is_dir(k->build_dir))
		load_config(k, path);
	free(path);
	if (!k->config_path) {
		path = xasprintf("/boot/config-%s", k->release);
		load_config(k, path);
		free(path);
	}
}

const char *session_kconfig(struct session *s, const char *name)
{
	struct kernel_info *k = &s->kernel;
	if (!k->config_path && !k->config_warned) {
		k->config_warned = true;
		fprintf(s->diag.out,
			"WARNING: no .config found for kernel %s (looked in %s and /boot); "
			"CONFIG_* conditions see every option unset\n",
			k->release ? k->release : "?", k->build_dir ? k->build_dir : "?");
	}
	size_t n = strlen(name);
	size_t lo = 0, hi = k->nconfig;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *c = k->config[mid];
		int cmp = strncmp(c, name, n);
		if (cmp == 0 && c[n] != '=')
			cmp = c[n] < '=' ? -1 : 1;
		if (cmp == 0) {
			const char *v = c + n + 1;
			return v;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return "";
}

static struct source_file *add_file(struct session *s, char *name, char *text, size_t len,
				    bool privileged)
{
	struct source_file *f = xcalloc(1, sizeof *f);
	f->name = name;
	f->text = text;
	f->len = len;
	f->privileged = privileged;
	size_t n = strlen(name);
	f->is_macro_lib = n > 5 && strcmp(name + n - 5, ".stpm") == 0;
	f->index = (int)s->files.n;
	pv_push(&s->files, f);
	return f;
}

struct source_file *session_load_file(struct session *s, const char *path, bool privileged)
{
	size_t len;
	char *text = read_file_bounded(path, MAX_SCRIPT_BYTES, &len);
	if (!text) {
		fprintf(s->diag.out, "%s: ERROR: cannot read '%s': %s\n", progname, path,
			errno == EFBIG ? "file larger than 64 MiB" : strerror(errno));
		s->diag.parse_errors++;
		return NULL;
	}
	if (memchr(text, '\0', len))
		len = strlen(text);   /* a NUL byte ends the script, as in SystemTap */
	return add_file(s, xstrdup(path), text, len, privileged);
}

struct source_file *session_add_text(struct session *s, const char *name, const char *text,
				     bool privileged)
{
	return add_file(s, xstrdup(name), xstrdup(text), strlen(text), privileged);
}
