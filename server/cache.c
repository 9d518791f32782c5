/* The module cache: one directory per result, named by the SHA-256 of
 * everything that changes it (conn.c computes the key), holding rc,
 * stdout, stderr and, after a successful pass 4, NAME.ko and its .sgn.
 *
 *   CACHE/ab/abcdef.../{rc,stdout,stderr,module,NAME.ko[,NAME.ko.sgn]}
 *
 * An entry is written in CACHE/tmp.* and renamed into place, so readers
 * (other threads, another server on the same directory, a restart) see a
 * whole entry or none.  The total size is bounded: the least recently
 * used entries (directory mtime, touched on every hit) go first. */
#define _GNU_SOURCE
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

struct cache_entry {
	char key[65];
	uint64_t bytes;
	struct timespec used;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static char *cache_root;
static uint64_t cache_limit, cache_bytes, n_hits, n_misses;
static struct cache_entry *entries;
static size_t nentries;

void build_result_free(struct build_result *r)
{
	free(r->out);
	free(r->err);
	free(r->module_name);
	free(r->module);
	free(r->sgn);
	free(r->mok_cert);
	memset(r, 0, sizeof *r);
}

static char *entry_dir(const char *key)
{
	return xasprintf("%s/%.2s/%s", cache_root, key, key);
}

static uint64_t dir_bytes(const char *dir)
{
	uint64_t total = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] != '.' && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			total += (uint64_t)st.st_size;
	}
	closedir(d);
	return total;
}

static bool hex_key(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static void remember(const char *key, uint64_t bytes, struct timespec used)
{
	entries = xrealloc(entries, (nentries + 1) * sizeof *entries);
	struct cache_entry *e = &entries[nentries++];
	memcpy(e->key, key, 65);
	e->bytes = bytes;
	e->used = used;
	cache_bytes += bytes;
}

/* cache_lock held. */
static void evict(void)
{
	while (cache_bytes > cache_limit && nentries > 0) {
		size_t old = 0;
		for (size_t i = 1; i < nentries; i++) {
			if (entries[i].used.tv_sec < entries[old].used.tv_sec ||
			    (entries[i].used.tv_sec == entries[old].used.tv_sec &&
			     entries[i].used.tv_nsec < entries[old].used.tv_nsec))
				old = i;
		}
		char *dir = entry_dir(entries[old].key);
		remove_tree(dir);
		free(dir);
		cache_bytes -= entries[old].bytes;
		entries[old] = entries[--nentries];
	}
}

int cache_init(const char *dir, uint64_t max_bytes)
{
	cache_root = xstrdup(dir);
	cache_limit = max_bytes;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -1;
	DIR *top = opendir(dir);
	if (!top)
		return -1;
	struct dirent *e;
	while ((e = readdir(top))) {
		if (strncmp(e->d_name, "tmp.", 4) == 0) {	/* left by a crash */
			char *t = xasprintf("%s/%s", dir, e->d_name);
			remove_tree(t);
			free(t);
			continue;
		}
		if (strlen(e->d_name) != 2)
			continue;
		char *sub = xasprintf("%s/%s", dir, e->d_name);
		DIR *d = opendir(sub);
		struct dirent *k;
		while (d && (k = readdir(d))) {
			struct stat st;
			if (!hex_key(k->d_name) || fstatat(dirfd(d), k->d_name, &st, 0) != 0)
				continue;
			char *ed = xasprintf("%s/%s", sub, k->d_name);
			remember(k->d_name, dir_bytes(ed), st.st_mtim);
			free(ed);
		}
		if (d)
			closedir(d);
		free(sub);
	}
	closedir(top);
	pthread_mutex_lock(&cache_lock);
	evict();
	pthread_mutex_unlock(&cache_lock);
	return 0;
}

static bool read_whole(int dfd, const char *name, char **buf, size_t *len, size_t max)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		close(fd);
		return false;
	}
	char *b = xmalloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, b + got, (size_t)st.st_size - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != (size_t)st.st_size) {
		free(b);
		return false;
	}
	b[got] = '\0';
	*buf = b;
	*len = got;
	return true;
}

/* A hit: the entry becomes the most recently used (its directory's mtime
 * too, so the order survives a restart). */
static void note_hit(const char *key, const char *dir)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	utimensat(AT_FDCWD, dir, NULL, 0);
	pthread_mutex_lock(&cache_lock);
	n_hits++;
	for (size_t i = 0; i < nentries; i++)
		if (strcmp(entries[i].key, key) == 0)
			entries[i].used = now;
	pthread_mutex_unlock(&cache_lock);
}

bool cache_get(const struct cache_key *k, struct build_result *r)
{
	if (!cache_root)
		return false;
	memset(r, 0, sizeof *r);
	char *dir = entry_dir(k->hex);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char *rc = NULL, *name = NULL;
	size_t n;
	bool ok = dfd >= 0 && read_whole(dfd, "rc", &rc, &n, 32) &&
		  read_whole(dfd, "stdout", &r->out, &r->outlen, 64 << 20) &&
		  read_whole(dfd, "stderr", &r->err, &r->errlen, 64 << 20);
	if (ok) {
		r->rc = atoi(rc);
		if (read_whole(dfd, "module", &name, &n, 256) && n > 0) {
			r->module_name = name;
			name = NULL;
			char *sgn = xasprintf("%s.sgn", r->module_name);
			ok = read_whole(dfd, r->module_name, (char **)&r->module, &r->modlen,
					1u << 30);
			if (ok && read_whole(dfd, sgn, (char **)&r->sgn, &r->sgnlen, 1 << 16) == false)
				r->sgn = NULL;
			free(sgn);
		}
		if (!read_whole(dfd, "signing_key.x509", (char **)&r->mok_cert, &r->mok_certlen, 1 << 16))
			r->mok_cert = NULL;
	}
	if (dfd >= 0)
		close(dfd);
	free(rc);
	free(name);
	if (ok) {
		note_hit(k->hex, dir);
	} else {
		pthread_mutex_lock(&cache_lock);
		n_misses++;
		pthread_mutex_unlock(&cache_lock);
	}
	free(dir);
	if (!ok)
		build_result_free(r);
	r->cached = ok;
	return ok;
}

static bool write_at(int dfd, const char *name, const void *buf, size_t len)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	const char *p = buf;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w <= 0) {
			close(fd);
			return false;
		}
		p += w;
		len -= (size_t)w;
	}
	return close(fd) == 0;
}

void cache_put(const struct cache_key *k, const struct build_result *r)
{
	if (!cache_root || cache_limit == 0)
		return;
	char *tmp = xasprintf("%s/tmp.XXXXXX", cache_root);
	if (!mkdtemp(tmp)) {
		free(tmp);
		return;
	}
	int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char rc[16];
	snprintf(rc, sizeof rc, "%d", r->rc);
	bool ok = dfd >= 0 && write_at(dfd, "rc", rc, strlen(rc)) &&
		  write_at(dfd, "stdout", r->out ? r->out : "", r->outlen) &&
		  write_at(dfd, "stderr", r->err ? r->err : "", r->errlen);
	if (ok && r->module_name) {
		char *sgn = xasprintf("%s.sgn", r->module_name);
		ok = write_at(dfd, "module", r->module_name, strlen(r->module_name)) &&
		     write_at(dfd, r->module_name, r->module, r->modlen) &&
		     (!r->sgn || write_at(dfd, sgn, r->sgn, r->sgnlen));
		free(sgn);
	}
	if (ok && r->mok_cert)
		ok = write_at(dfd, "signing_key.x509", r->mok_cert, r->mok_certlen);
	if (dfd >= 0)
		close(dfd);
	char *sub = xasprintf("%s/%.2s", cache_root, k->hex);
	char *dir = entry_dir(k->hex);
	mkdir(sub, 0700);
	pthread_mutex_lock(&cache_lock);
	if (ok && rename(tmp, dir) == 0) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		remember(k->hex, dir_bytes(dir), now);
		evict();
	} else {
		remove_tree(tmp);	/* failed, or another writer was first */
	}
	pthread_mutex_unlock(&cache_lock);
	free(sub);
	free(dir);
	free(tmp);
}

bool cache_get_response(const struct cache_key *k, unsigned char **zip, size_t *len)
{
	if (!cache_root)
		return false;
	char *dir = entry_dir(k->hex);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	bool ok = dfd >= 0 && read_whole(dfd, "response.zip", (char **)zip, len, 1u << 30);
	if (dfd >= 0)
		close(dfd);
	if (ok)
		note_hit(k->hex, dir);
	free(dir);
	return ok;
}

void cache_put_response(const struct cache_key *k, const unsigned char *zip, size_t len)
{
	if (!cache_root || cache_limit == 0)
		return;
	char *dir = entry_dir(k->hex);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		free(dir);
		return;
	}
	char tmp[64];
	snprintf(tmp, sizeof tmp, "response.zip.%ld", (long)gettid());
	bool ok = write_at(dfd, tmp, zip, len) && renameat(dfd, tmp, dfd, "response.zip") == 0;
	if (!ok)
		unlinkat(dfd, tmp, 0);
	close(dfd);
	if (ok) {
		pthread_mutex_lock(&cache_lock);
		for (size_t i = 0; i < nentries; i++) {
			if (strcmp(entries[i].key, k->hex) == 0) {
				cache_bytes += len;
				entries[i].bytes += len;
			}
		}
		evict();
		pthread_mutex_unlock(&cache_lock);
	}
	free(dir);
}

void cache_stats(uint64_t *hits, uint64_t *misses, uint64_t *bytes)
{
	pthread_mutex_lock(&cache_lock);
	*hits = n_hits;
	*misses = n_misses;
	*bytes = cache_bytes;
	pthread_mutex_unlock(&cache_lock);
}
