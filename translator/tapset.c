/* The tapset library: every *.stp and *.stpm file under the tapset root
 * and each -I directory, in the subdirectories that fit the target:
 * DIR, DIR/linux, DIR/ARCH, DIR/linux/ARCH.  Macro files are read first
 * (user scripts may use their macros); script files when pass 2 needs
 * them.  Files are taken in name order so every run sees the same library. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "elab.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append to `out` the paths in `dir` ending in `suffix`, sorted. */
static void list_dir(const char *dir, const char *suffix, struct ptrvec *out)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct ptrvec names = {0};
	struct dirent *de;
	size_t sl = strlen(suffix);
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (de->d_name[0] == '.' || n <= sl || strcmp(de->d_name + n - sl, suffix))
			continue;
		pv_push(&names, xasprintf("%s/%s", dir, de->d_name));
	}
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof *names.v, cmp_str);
	for (size_t k = 0; k < names.n; k++)
		pv_push(out, names.v[k]);
	pv_free(&names);
}

static void library_paths(struct session *s, const char *suffix, struct ptrvec *out)
{
	struct ptrvec roots = {0};
	if (s->tapset_dir && *s->tapset_dir)
		pv_push(&roots, (void *)s->tapset_dir);
	for (size_t k = 0; k < s->include_dirs.n; k++)
		pv_push(&roots, s->include_dirs.v[k]);
	const char *arch = s->kernel.arch ? s->kernel.arch : "x86_64";
	for (size_t k = 0; k < roots.n; k++) {
		const char *root = roots.v[k];
		char *sub[4] = {
			xstrdup(root),
			xasprintf("%s/linux", root),
			xasprintf("%s/%s", root, arch),
			xasprintf("%s/linux/%s", root, arch),
		};
		for (int j = 0; j < 4; j++) {
			list_dir(sub[j], suffix, out);
			free(sub[j]);
		}
	}
	pv_free(&roots);
}

void tapset_load_macros(struct session *s)
{
	struct ptrvec paths = {0};
	library_paths(s, ".stpm", &paths);
	for (size_t k = 0; k < paths.n; k++) {
		struct source_file *src = session_load_file(s, paths.v[k], true);
		if (src)
			parse_file(s, src);
		free(paths.v[k]);
	}
	pv_free(&paths);
}

void tapset_parse_library(struct session *s, struct ptrvec *library)
{
	struct ptrvec paths = {0};
	library_paths(s, ".stp", &paths);
	for (size_t k = 0; k < paths.n; k++) {
		struct source_file *src = session_load_file(s, paths.v[k], true);
		if (src)
			pv_push(library, parse_file(s, src));
		free(paths.v[k]);
	}
	pv_free(&paths);
}
