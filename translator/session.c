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

static void forget_kernel(struct kernel_info *k);

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
	for (size_t i = 0; i < s->staprun_args.n; i++)
		free(s->staprun_args.v[i]);
	pv_free(&s->staprun_args);
	forget_kernel(&s->kernel);
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

static void forget_kernel(struct kernel_info *k)
{
	free(k->release);
	free(k->version);
	free(k->arch);
	free(k->build_dir);
	free(k->config_path);
	for (size_t i = 0; i < k->nconfig; i++)
		free(k->config[i]);
	free(k->config);
	kernel_close(k->rec);
	memset(k, 0, sizeof *k);
}

static const char *origin_text(enum kernel_origin o)
{
	return o == KERNEL_FROM_STORE ? "the kernel store"
	     : o == KERNEL_FROM_BUILD_DIR ? "a kbuild tree" : "/lib/modules";
}

bool session_set_kernel(struct session *s, const char *r)
{
	struct kernel_info *k = &s->kernel;
	forget_kernel(k);
	struct utsname u;
	uname(&u);
	k->arch = xstrdup(strcmp(u.machine, "amd64") == 0 ? "x86_64" : u.machine);

	char *err = NULL;
	k->rec = kernel_open(r, &err);
	if (!k->rec) {
		fprintf(s->diag.out, "%s: ERROR: kernel %s: %s\n", progname,
			r ? r : u.release, err ? err : "cannot be resolved");
		free(err);
		s->diag.semantic_errors++;
		/* names for messages and @kernel_v; nothing is read from disk */
		bool dir = r && strchr(r, '/');
		k->release = xstrdup(dir ? "unknown" : r ? r : u.release);
		k->build_dir = dir ? xstrdup(r) : xasprintf("/lib/modules/%s/build", k->release);
	} else {
		k->release = xstrdup(k->rec->release);
		k->build_dir = xstrdup(k->rec->build_dir);
		if (k->rec->config_path)
			load_config(k, k->rec->config_path);
		if (s->verbose > 0) {
			struct kernel *rec = k->rec;
			fprintf(s->diag.out, "Kernel %s from %s: tree %s, vmlinux %s, build-id %s, "
				"function names: %s\n", rec->release, origin_text(rec->origin),
				rec->build_dir, rec->vmlinux ? rec->vmlinux : "none",
				rec->build_id ? rec->build_id : "none", kernel_names_text(rec->names));
			if (rec->note)
				fprintf(s->diag.out, "Kernel %s: %s\n", rec->release, rec->note);
		}
	}
	k->version = xstrndup(k->release, strcspn(k->release, "-"));
	return k->rec != NULL;
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
