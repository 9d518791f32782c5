/* The kernels this server builds for.  The table is made of the kernel
 * store (common/kernel.h; stap-server adds and removes entries), the -r
 * and -i kernels of the command line, and the running kernel when its
 * kbuild tree exists.  The store is read again whenever its directory
 * changes, so a kernel added while the server runs is served at once. */
#define _GNU_SOURCE
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "kernel.h"
#include "server.h"

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kstore_kernel *table;
static size_t ntable;
static struct timespec table_stamp;	/* store directory's mtime when read */
static bool table_read;

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void add(struct kstore_kernel **t, size_t *n, const char *arg)
{
	char *err = NULL;
	struct kernel *k = kernel_open(arg, &err);
	if (!k) {
		server_log("Kernel %s left out: %s", arg ? arg : "(running)", err ? err : "?");
		free(err);
		return;
	}
	bool usable = k->build_dir && is_dir(k->build_dir);
	bool dup = false;
	for (size_t i = 0; i < *n; i++)
		dup |= strcmp((*t)[i].release, k->release) == 0;
	if (usable && !dup) {
		*t = xrealloc(*t, (*n + 1) * sizeof **t);
		(*t)[*n] = (struct kstore_kernel){
			.release = xstrdup(k->release),
			.kernel_arg = xstrdup(arg ? arg : k->release),
			.build_id = k->build_id ? xstrdup(k->build_id) : NULL,
			.build_dir = xstrdup(k->build_dir),
		};
		(*n)++;
	} else if (!usable && arg) {
		server_log("Kernel %s left out: no kbuild tree at %s", arg,
			   k->build_dir ? k->build_dir : "?");
	}
	kernel_close(k);
}

static void read_table(struct kstore_kernel **t, size_t *n)
{
	const char *store = kernel_store_dir();
	DIR *d = opendir(store);
	if (d) {
		struct dirent *e;
		char **names = NULL;
		size_t nn = 0;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.' || !cs_kernel_release_ok(e->d_name))
				continue;
			names = xrealloc(names, (nn + 1) * sizeof *names);
			names[nn++] = xstrdup(e->d_name);
		}
		closedir(d);
		for (size_t i = 0; i < nn; i++) {
			add(t, n, names[i]);
			free(names[i]);
		}
		free(names);
	}
	for (size_t i = 0; i < cfg.kernels.n; i++)
		add(t, n, cfg.kernels.v[i]);
	if (cfg.all_kernels && (d = opendir("/lib/modules"))) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char *b = xasprintf("/lib/modules/%s/build", e->d_name);
			if (is_dir(b))
				add(t, n, e->d_name);
			free(b);
		}
		closedir(d);
	}
	struct utsname u;
	uname(&u);
	char *b = xasprintf("/lib/modules/%s/build", u.release);
	if (is_dir(b))
		add(t, n, NULL);
	free(b);
}

static struct kstore_kernel *copy_table(size_t *n)
{
	struct kstore_kernel *c = xcalloc(ntable ? ntable : 1, sizeof *c);
	for (size_t i = 0; i < ntable; i++) {
		c[i].release = xstrdup(table[i].release);
		c[i].kernel_arg = xstrdup(table[i].kernel_arg);
		c[i].build_id = table[i].build_id ? xstrdup(table[i].build_id) : NULL;
		c[i].build_dir = xstrdup(table[i].build_dir);
	}
	*n = ntable;
	return c;
}

struct kstore_kernel *kstore_list(size_t *n)
{
	struct stat st;
	struct timespec stamp = { 0, 0 };
	if (stat(kernel_store_dir(), &st) == 0)
		stamp = st.st_mtim;
	pthread_mutex_lock(&table_lock);
	if (!table_read || stamp.tv_sec != table_stamp.tv_sec ||
	    stamp.tv_nsec != table_stamp.tv_nsec) {
		struct kstore_kernel *t = NULL;
		size_t tn = 0;
		read_table(&t, &tn);
		kstore_free(table, ntable);
		table = t;
		ntable = tn;
		table_stamp = stamp;
		table_read = true;
	}
	struct kstore_kernel *c = copy_table(n);
	pthread_mutex_unlock(&table_lock);
	return c;
}

void kstore_free(struct kstore_kernel *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(k[i].release);
		free(k[i].kernel_arg);
		free(k[i].build_id);
		free(k[i].build_dir);
	}
	free(k);
}

static char *kernels_text(const struct kstore_kernel *k, size_t n)
{
	struct strbuf sb;
	sb_init(&sb);
	if (!n)
		sb_puts(&sb, "none");
	for (size_t i = 0; i < n; i++)
		sb_printf(&sb, "%s%s (build-id %s)", i ? ", " : "", k[i].release,
			  k[i].build_id ? k[i].build_id : "unknown");
	return sb_detach(&sb);
}

struct kstore_kernel *kstore_match(struct kstore_kernel *k, size_t n, const char *release,
				   const char *arch, const char *build_id, char **why)
{
	*why = NULL;
	if (arch && strcmp(arch, "x86_64") != 0) {
		*why = xasprintf("architecture %s is not supported; this server builds for x86_64",
				 arch);
		return NULL;
	}
	if (build_id) {
		for (size_t i = 0; i < n; i++)
			if (k[i].build_id && strcmp(k[i].build_id, build_id) == 0)
				return &k[i];
	}
	for (size_t i = 0; release && i < n; i++) {
		if (strcmp(k[i].release, release) != 0)
			continue;
		if (build_id && k[i].build_id) {
			*why = xasprintf("kernel build-id mismatch: the client's kernel %s has build-id "
					 "%s, this server's %s has %s; a module built here would not "
					 "match it", release, build_id, release, k[i].build_id);
			return NULL;
		}
		return &k[i];
	}
	char *list = kernels_text(k, n);
	if (build_id)
		*why = xasprintf("kernel %s (build-id %s) is not supported by this server; it builds "
				 "for: %s", release ? release : "?", build_id, list);
	else
		*why = xasprintf("kernel %s is not supported by this server; it builds for: %s",
				 release ? release : "?", list);
	free(list);
	return NULL;
}
