/* The runtime object cache of pass 4 (see rtcache.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "rtcache.h"
#include "sha256.h"

enum { MAX_CACHED_FILE = 8 * 1024 * 1024 };

/* Where the build directory stands in a cached .cmd file. */
static const char placeholder[] = "@STAPCS_BUILD_DIR@";

static void hash_str(struct sha256 *h, const char *s)
{
	/* with its length, so that concatenations cannot collide */
	uint64_t n = strlen(s);
	sha256_update(h, &n, sizeof n);
	sha256_update(h, s, n);
}

/* A file's contents under a label; false when it cannot be read. */
static bool hash_file(struct sha256 *h, const char *label, const char *path)
{
	size_t len;
	char *text = read_file_bounded(path, MAX_CACHED_FILE, &len);
	if (!text)
		return false;
	hash_str(h, label);
	uint64_t n = len;
	sha256_update(h, &n, sizeof n);
	sha256_update(h, text, len);
	free(text);
	return true;
}

/* The compiler kbuild runs: the first word of CONFIG_CC_VERSION_TEXT
 * ("gcc-12 (Debian ...) 12.2.0"), found on PATH; its real path, size and
 * mtime stand for it (an upgraded compiler is a new key). */
static void hash_compiler(struct sha256 *h, const char *auto_conf)
{
	const char *v = strstr(auto_conf, "\nCONFIG_CC_VERSION_TEXT=");
	if (!v)
		return;
	v += strlen("\nCONFIG_CC_VERSION_TEXT=");
	if (*v == '"')
		v++;
	size_t n = strcspn(v, " \"\n");
	char *cc = xstrndup(v, n);
	const char *path = getenv("PATH");
	char *dirs = xstrdup(path ? path : "/usr/bin:/bin");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", d, cc);
		char *real = realpath(p, NULL);
		struct stat st;
		free(p);
		if (real && stat(real, &st) == 0 && S_ISREG(st.st_mode)) {
			char *id = xasprintf("%s %lld %lld.%09ld", real, (long long)st.st_size,
					     (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
			hash_str(h, id);
			free(id);
			free(real);
			break;
		}
		free(real);
	}
	free(dirs);
	free(cc);
}

bool rtcache_key(struct rtcache *c, const char *kernel_build, const char *flags,
		 const char *build_dir, const struct ptrvec *files)
{
	struct sha256 h;
	sha256_init(&h);
	hash_str(&h, "stapcs runtime object 1 " PACKAGE_VERSION);
	hash_str(&h, flags);

	/* the kernel tree: where it is, its configuration and release */
	char *real = realpath(kernel_build, NULL);
	if (!real)
		return false;
	hash_str(&h, real);
	free(real);
	char *conf_path = xasprintf("%s/include/config/auto.conf", kernel_build);
	size_t len;
	char *auto_conf = read_file_bounded(conf_path, MAX_CACHED_FILE, &len);
	free(conf_path);
	if (!auto_conf)
		return false;
	hash_str(&h, auto_conf);
	hash_compiler(&h, auto_conf);
	free(auto_conf);
	static const char *const generated[] = { "include/generated/autoconf.h",
						 "include/generated/utsrelease.h" };
	for (size_t k = 0; k < sizeof generated / sizeof generated[0]; k++) {
		char *p = xasprintf("%s/%s", kernel_build, generated[k]);
		bool ok = hash_file(&h, generated[k], p);
		free(p);
		if (!ok)
			return false;
	}

	/* the runtime as copied, and stap_rt.c */
	for (size_t k = 0; k < files->n; k++) {
		char *p = xasprintf("%s/%s", build_dir, (const char *)files->v[k]);
		bool ok = hash_file(&h, files->v[k], p);
		free(p);
		if (!ok)
			return false;
	}
	sha256_hex(&h, c->key);
	return true;
}

/* Copy from -> to (created with `mode`), replacing each of the n strings
 * subst[2i] by subst[2i+1]; the copy gets mtime `mt` when set. */
static bool copy_subst(const char *from, const char *to, const char *const *subst, size_t n,
		       const struct timespec *mt, mode_t mode)
{
	size_t len;
	char *text = read_file_bounded(from, MAX_CACHED_FILE, &len);
	if (!text)
		return false;
	struct strbuf out;
	sb_init(&out);
	for (const char *p = text, *end = text + len; p < end;) {
		size_t i;
		for (i = 0; i < n; i++) {
			size_t fl = strlen(subst[2 * i]);
			if (fl && (size_t)(end - p) >= fl && !memcmp(p, subst[2 * i], fl)) {
				sb_puts(&out, subst[2 * i + 1]);
				p += fl;
				break;
			}
		}
		if (i == n)
			sb_putc(&out, *p++);
	}
	free(text);
	bool ok = false;
	int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd >= 0) {
		ok = write_all(fd, out.s, out.len) == 0;
		if (ok && mt) {
			struct timespec times[2] = { *mt, *mt };
			ok = futimens(fd, times) == 0;
		}
		ok = close(fd) == 0 && ok;
		if (!ok)
			unlink(to);
	}
	sb_free(&out);
	return ok;
}

/* What a .cmd file names that changes from build to build: the build
 * directory, and the module name kbuild defines for every unit (stap_rt.c
 * undefines it).  Pairs of (in the build, in the cache). */
static void cmd_substitutions(const char *build_dir, const char *modname, char *pairs[6])
{
	pairs[0] = xstrdup(build_dir);
	pairs[1] = xstrdup(placeholder);
	pairs[2] = xasprintf("-DKBUILD_MODNAME='\"%s\"' ", modname);
	pairs[3] = xstrdup("-DKBUILD_MODNAME='\"@STAPCS_MODNAME@\"' ");
	pairs[4] = xasprintf("-D__KBUILD_MODNAME=kmod_%s ", modname);
	pairs[5] = xstrdup("-D__KBUILD_MODNAME=kmod_@STAPCS_MODNAME@ ");
}

static void swap_pairs(char *pairs[6])
{
	for (int i = 0; i < 6; i += 2) {
		char *t = pairs[i];
		pairs[i] = pairs[i + 1];
		pairs[i + 1] = t;
	}
}

static void free_pairs(char *pairs[6])
{
	for (int i = 0; i < 6; i++)
		free(pairs[i]);
}

bool rtcache_place(struct rtcache *c, const char *build_dir, const char *modname)
{
	if (!c->dir || !c->key[0])
		return false;
	char *obj = xasprintf("%s/%s.o", c->dir, c->key);
	char *cmd = xasprintf("%s/%s.cmd", c->dir, c->key);
	char *to_obj = xasprintf("%s/stap_rt.o", build_dir);
	char *to_cmd = xasprintf("%s/.stap_rt.o.cmd", build_dir);
	struct stat st;
	char *pairs[6];
	cmd_substitutions(build_dir, modname, pairs);
	swap_pairs(pairs);   /* cache -> build */
	bool ok = stat(obj, &st) == 0 && S_ISREG(st.st_mode) &&
		  copy_subst(cmd, to_cmd, (const char *const *)pairs, 3, NULL, 0644) &&
		  copy_subst(obj, to_obj, NULL, 0, &st.st_mtim, 0644);
	free_pairs(pairs);
	if (ok) {
		c->placed = true;
		c->mtime = st.st_mtim;
		utimensat(AT_FDCWD, cmd, NULL, 0);   /* used: the last to go */
	} else {
		unlink(to_obj);
		unlink(to_cmd);
	}
	free(obj);
	free(cmd);
	free(to_obj);
	free(to_cmd);
	return ok;
}

struct entry {
	struct timespec used;    /* mtime of KEY.cmd: set when the entry is used */
	char key[65];
};

static int by_use(const void *a, const void *b)
{
	const struct timespec *x = &((const struct entry *)a)->used;
	const struct timespec *y = &((const struct entry *)b)->used;
	if (x->tv_sec != y->tv_sec)
		return x->tv_sec < y->tv_sec ? -1 : 1;
	return (x->tv_nsec > y->tv_nsec) - (x->tv_nsec < y->tv_nsec);
}

/* Keep at most RTCACHE_MAX_ENTRIES entries: the least recently used go. */
static void prune(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct entry *ent = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (strlen(de->d_name) != 64 + 4 || strcmp(de->d_name + 64, ".cmd") != 0 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 2 * RTCACHE_MAX_ENTRIES;
			ent = xrealloc(ent, cap * sizeof *ent);
		}
		ent[n].used = st.st_mtim;
		memcpy(ent[n].key, de->d_name, 64);
		ent[n].key[64] = '\0';
		n++;
	}
	closedir(d);
	if (n > RTCACHE_MAX_ENTRIES) {
		qsort(ent, n, sizeof *ent, by_use);
		for (size_t k = 0; k < n - RTCACHE_MAX_ENTRIES; k++) {
			char *o = xasprintf("%s/%s.o", dir, ent[k].key);
			char *m = xasprintf("%s/%s.cmd", dir, ent[k].key);
			unlink(m);
			unlink(o);
			free(o);
			free(m);
		}
	}
	free(ent);
}

void rtcache_store(struct rtcache *c, const char *build_dir, const char *modname)
{
	if (!c->dir || !c->key[0])
		return;
	char *obj = xasprintf("%s/stap_rt.o", build_dir);
	char *cmd = xasprintf("%s/.stap_rt.o.cmd", build_dir);
	struct stat st;
	if (stat(obj, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (c->placed && st.st_mtim.tv_sec == c->mtime.tv_sec &&
	     st.st_mtim.tv_nsec == c->mtime.tv_nsec))
		goto out;   /* nothing compiled in this build */
	/* private directories: the objects go into modules */
	if (mkdirs(c->dir, 0700) != 0)
		goto out;
	char *tmp_obj = xasprintf("%s/.%s.o.%ld", c->dir, c->key, (long)getpid());
	char *tmp_cmd = xasprintf("%s/.%s.cmd.%ld", c->dir, c->key, (long)getpid());
	char *to_obj = xasprintf("%s/%s.o", c->dir, c->key);
	char *to_cmd = xasprintf("%s/%s.cmd", c->dir, c->key);
	unlink(tmp_obj);
	unlink(tmp_cmd);
	char *pairs[6];
	cmd_substitutions(build_dir, modname, pairs);
	/* the .cmd first: an entry counts when its .o is there */
	if (copy_subst(cmd, tmp_cmd, (const char *const *)pairs, 3, NULL, 0600) &&
	    copy_subst(obj, tmp_obj, NULL, 0, &st.st_mtim, 0600) &&
	    rename(tmp_cmd, to_cmd) == 0 && rename(tmp_obj, to_obj) == 0)
		prune(c->dir);
	free_pairs(pairs);
	unlink(tmp_obj);
	unlink(tmp_cmd);
	free(tmp_obj);
	free(tmp_cmd);
	free(to_obj);
	free(to_cmd);
out:
	free(obj);
	free(cmd);
}

void rtcache_free(struct rtcache *c)
{
	free(c->dir);
	c->dir = NULL;
}
