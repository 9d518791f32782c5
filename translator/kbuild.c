/* Pass 4: build the module with kbuild against the target kernel's tree.
 *
 * The generated source and the runtime's .c files go into a private
 * directory; kbuild runs there (`make -C BUILD M=DIR modules`, no shell);
 * the .ko is copied out.  Paths of the private directory are mapped away
 * in debug information so that the same input gives the same bytes. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kbuild.h"
#include "rtcache.h"
#include "session.h"
#include "util.h"

enum { MAX_RUNTIME_FILE = 4 * 1024 * 1024 };

static bool write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return false;
	if (write_all(fd, text, len) != 0) {
		close(fd);
		return false;
	}
	return close(fd) == 0;
}

static bool copy_file(const char *from, const char *to)
{
	size_t len;
	char *text = read_file_bounded(from, MAX_RUNTIME_FILE, &len);
	if (!text)
		return false;
	bool ok = write_file(to, text, len);
	free(text);
	return ok;
}

/* mtime of path := mt; kbuild compares it with a cached stap_rt.o's */
static bool set_mtime(const char *path, const struct timespec *mt)
{
	struct timespec times[2] = { *mt, *mt };
	return utimensat(AT_FDCWD, path, times, 0) == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runtime parts a module compiles only when its code calls them: maps,
 * statistics and histograms, the regex VM.  Leaving them out of a script
 * that uses none of them saves about a third of the compile (measured on
 * hello.stp: 2.3 s -> 1.5 s for the unit); a part left out by mistake
 * would fail the link, never run wrong. */
static const struct {
	const char *file;
	const char *calls[5];   /* any of these in the generated code */
} optional_parts[] = {
	{ "map.c", { "stp_map_", NULL } },
	{ "stat.c", { "stp_stat_", "stp_hist_", "stp_print_hist", "stp_map_", NULL } },
	{ "regex.c", { "stp_regex_", NULL } },
};

static bool is_optional_part(const char *name)
{
	for (size_t k = 0; k < sizeof optional_parts / sizeof optional_parts[0]; k++)
		if (!strcmp(name, optional_parts[k].file))
			return true;
	return false;
}

static bool runtime_part_needed(const char *name, const char *source)
{
	for (size_t k = 0; k < sizeof optional_parts / sizeof optional_parts[0]; k++) {
		if (strcmp(name, optional_parts[k].file) != 0)
			continue;
		for (const char *const *c = optional_parts[k].calls; *c; c++)
			if (strstr(source, *c))
				return true;
		return false;
	}
	return true;
}

/* Copy the runtime's .c and .h files into dir, keeping their mtimes, and
 * write the two units: stap_all.c, the script (probes.c) with the
 * optional parts it calls, and stap_rt.c, the parts every module has.
 * stap_rt.c's object does not depend on the script or the module name,
 * so the runtime object cache (rtcache.h) can keep it.  `files` gets the
 * names of the files stap_rt.o is made from (for its cache key). */
static bool copy_runtime(struct session *s, const char *runtime, const char *dir,
			 const char *source, struct strbuf *objects, struct ptrvec *files)
{
	struct strbuf unity, rt;
	sb_init(&unity);
	sb_init(&rt);
	sb_puts(&unity, "/* the script and the optional runtime parts it calls */\n"
		"#include \"probes.c\"\n");
	/* KBUILD_MODNAME names the module the unit is linked into; no part
	 * uses it, and fixing it keeps the object the same for every module */
	sb_puts(&rt, "/* the runtime parts every module has: one object for all modules */\n"
		"#undef KBUILD_MODNAME\n#define KBUILD_MODNAME \"stap\"\n"
		"#undef __KBUILD_MODNAME\n#define __KBUILD_MODNAME kmod_stap\n");
	DIR *d = opendir(runtime);
	if (!d) {
		fprintf(s->diag.out, "stap: ERROR: cannot open the runtime directory '%s': %s\n",
			runtime, strerror(errno));
		return false;
	}
	struct ptrvec names = { 0 };
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n > 2 && de->d_name[0] != '.' &&
		    (!strcmp(de->d_name + n - 2, ".c") || !strcmp(de->d_name + n - 2, ".h")))
			pv_push(&names, xstrdup(de->d_name));
	}
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof *names.v, cmp_names);
	bool ok = true;
	struct timespec newest = { 0, 0 };
	for (size_t k = 0; k < names.n; k++) {
		const char *name = names.v[k];
		char *from = xasprintf("%s/%s", runtime, name);
		char *to = xasprintf("%s/%s", dir, name);
		struct stat st;
		if (stat(from, &st) != 0 || !copy_file(from, to) || !set_mtime(to, &st.st_mtim)) {
			fprintf(s->diag.out, "stap: ERROR: cannot copy '%s': %s\n", from, strerror(errno));
			ok = false;
		} else if (st.st_mtim.tv_sec > newest.tv_sec ||
			   (st.st_mtim.tv_sec == newest.tv_sec && st.st_mtim.tv_nsec > newest.tv_nsec)) {
			newest = st.st_mtim;
		}
		size_t n = strlen(name);
		bool optional = is_optional_part(name);
		if (!strcmp(name + n - 2, ".c") && optional && runtime_part_needed(name, source))
			sb_printf(&unity, "#include \"%s\"\n", name);
		if (!strcmp(name + n - 2, ".c") && !optional)
			sb_printf(&rt, "#include \"%s\"\n", name);
		if (!optional || strcmp(name + n - 2, ".c") != 0)
			pv_push(files, names.v[k]);
		else
			free(names.v[k]);
		free(from);
		free(to);
	}
	pv_free(&names);
	char *path = xasprintf("%s/stap_all.c", dir);
	ok = ok && write_file(path, unity.s, unity.len);
	free(path);
	/* as old as the newest runtime file, so that a cached object built
	 * from the same files is up to date for kbuild */
	path = xasprintf("%s/stap_rt.c", dir);
	ok = ok && write_file(path, rt.s, rt.len) && set_mtime(path, &newest);
	free(path);
	pv_push(files, xstrdup("stap_rt.c"));
	sb_free(&unity);
	sb_free(&rt);
	sb_puts(objects, " stap_all.o stap_rt.o");
	return ok;
}

/* Run argv with stdout and stderr into log; returns the exit status. */
static int run_logged(char *const argv[], const char *log)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void show_log_tail(FILE *out, const char *log, int lines)
{
	size_t len;
	char *text = read_file_bounded(log, 16 * 1024 * 1024, &len);
	if (!text)
		return;
	const char *p = text + len;
	int seen = 0;
	while (p > text && seen <= lines)
		if (*--p == '\n')
			seen++;
	fputs(p == text ? p : p + 1, out);
	free(text);
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *path = xasprintf("%s/%s", dir, de->d_name);
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(path);
		else
			unlink(path);
		free(path);
	}
	closedir(d);
	rmdir(dir);
}

char *kbuild_module(struct session *s, const char *name, const char *source,
		    const char *runtime_dir, const char *out_dir)
{
	const char *build = s->kernel.build_dir;
	struct stat st;
	if (!build || stat(build, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(s->diag.out,
			"stap: ERROR: no kernel build tree for %s at '%s'\n"
			"stap: install linux-headers-%s, or prepare the kernel with stap-prep\n",
			s->kernel.release, build ? build : "?", s->kernel.release);
		return NULL;
	}
	const char *tmp = getenv("TMPDIR");
	char *dir = xasprintf("%s/stapcs-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		fprintf(s->diag.out, "stap: ERROR: cannot create a build directory: %s\n",
			strerror(errno));
		free(dir);
		return NULL;
	}
	char *result = NULL;
	struct strbuf kbuild, objects;
	struct ptrvec rt_files = { 0 };
	struct rtcache cache = { 0 };
	sb_init(&kbuild);
	sb_init(&objects);
	char *src = xasprintf("%s/probes.c", dir);
	if (!write_file(src, source, strlen(source)) ||
	    !copy_runtime(s, runtime_dir, dir, source, &objects, &rt_files))
		goto out;
	sb_printf(&kbuild, "obj-m := %s.o\n%s-y :=%s\n", name, name, objects.s);
	size_t flags_at = kbuild.len;   /* what follows reaches every unit */
	/* reproducible: no private paths in the debug information */
	sb_printf(&kbuild, "ccflags-y := -I$(src) -ffile-prefix-map=$(src)=stap\n");
	/* no DWARF: nothing reads it (stacks come from ORC, symbols from
	 * kallsyms); it was a sixth of the compile and most of the .ko */
	sb_printf(&kbuild, "ccflags-y += -g0\n");
	for (size_t k = 0; k < s->defines.n; k++)
		sb_printf(&kbuild, "ccflags-y += -D%s\n", (const char *)s->defines.v[k]);
	char *kb = xasprintf("%s/Kbuild", dir);
	bool wrote = write_file(kb, kbuild.s, kbuild.len);
	free(kb);
	if (!wrote)
		goto out;

	/* KCFLAGS reaches every compile, kbuild's own NAME.mod.c included */
	static const char kcflags_fmt[] = "KCFLAGS=-ffile-prefix-map=%s=stap";
	if (s->cache_dir) {
		cache.dir = xstrdup(s->cache_dir);
		char *flags = xasprintf("%s\n%s", kbuild.s + flags_at, kcflags_fmt);
		if (rtcache_key(&cache, build, flags, dir, &rt_files))
			rtcache_place(&cache, dir, name);
		free(flags);
	}
	char *mflag = xasprintf("M=%s", dir);
	char *jobs = xasprintf("-j%ld", sysconf(_SC_NPROCESSORS_ONLN) > 0
					 ? sysconf(_SC_NPROCESSORS_ONLN) : 1);
	char *kcflags = xasprintf(kcflags_fmt, dir);
	char *argv[] = { "make", "-C", (char *)build, mflag, jobs, kcflags, "modules", NULL };
	char *log = xasprintf("%s/build.log", dir);
	int rc = run_logged(argv, log);
	if (rc != 0 && cache.placed) {
		/* never let a cached object be the reason a build fails */
		char *o = xasprintf("%s/stap_rt.o", dir), *c = xasprintf("%s/.stap_rt.o.cmd", dir);
		unlink(o);
		unlink(c);
		free(o);
		free(c);
		cache.placed = false;
		rc = run_logged(argv, log);
	}
	if (rc != 0) {
		fprintf(s->diag.out, "stap: ERROR: kbuild failed (exit status %d); its output ends:\n",
			rc);
		show_log_tail(s->diag.out, log, 30);
	} else {
		rtcache_store(&cache, dir, name);
		char *ko = xasprintf("%s/%s.ko", dir, name);
		result = xasprintf("%s/%s.ko", out_dir, name);
		if (!copy_file(ko, result)) {
			fprintf(s->diag.out, "stap: ERROR: cannot write '%s': %s\n", result,
				strerror(errno));
			free(result);
			result = NULL;
		}
		free(ko);
	}
	free(mflag);
	free(jobs);
	free(kcflags);
	free(log);
out:
	free(src);
	sb_free(&kbuild);
	sb_free(&objects);
	for (size_t k = 0; k < rt_files.n; k++)
		free(rt_files.v[k]);
	pv_free(&rt_files);
	rtcache_free(&cache);
	if (!getenv("STAP_KEEP_BUILD"))
		remove_tree(dir);
	else
		fprintf(s->diag.out, "stap: build directory kept: %s\n", dir);
	free(dir);
	return result;
}
