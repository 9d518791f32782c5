/* Zip archives in memory, as the compile-server protocol carries them
 * (docs/protocol.md): reading refuses every trick a hostile peer can play
 * (`..`, absolute names, symlinks, devices, hard links, duplicate names,
 * sizes beyond the limits, a compression ratio that says "bomb"); writing
 * makes small archives (deflate, no extra fields) that Info-ZIP's unzip and
 * SystemTap's clients accept.  Built on libarchive. */
#ifndef STAP_COMMON_ZIP_H
#define STAP_COMMON_ZIP_H

#include <stdbool.h>
#include <stddef.h>

struct zip_limits {
	size_t max_entries;     /* files + directories */
	size_t max_total;       /* sum of uncompressed file sizes */
	size_t max_entry;       /* one file's uncompressed size */
};
/* 1000 entries, 64 MiB total, 16 MiB per file: far above any real request */
extern const struct zip_limits zip_default_limits;

struct zip_entry {
	char *name;             /* normalised: no "./", no trailing '/', never empty */
	unsigned char *data;    /* NUL-terminated copy (data[size] == 0); NULL for dirs */
	size_t size;
	bool is_dir;
	unsigned mode;          /* permission bits from the archive (& 0777), 0 if none */
};

struct zip_archive {
	struct zip_entry *e;    /* in archive order */
	size_t n;
};

/* Reads a whole archive from memory.  0 on success; -1 with a one-line
 * reason in err (no trailing newline, no "ERROR:" prefix) on any refusal
 * or damage, and *out left empty. */
int zip_read_mem(const void *buf, size_t len, const struct zip_limits *lim,
		 struct zip_archive *out, char *err, size_t errlen);
const struct zip_entry *zip_find(const struct zip_archive *z, const char *name);
void zip_archive_free(struct zip_archive *z);

/* Writes every entry below dirfd (directories 0700, files 0600) without
 * ever following a symlink or leaving dirfd (openat with O_NOFOLLOW and
 * O_EXCL, one component at a time).  0 or -1 with err set. */
int zip_extract_at(const struct zip_archive *z, int dirfd, char *err, size_t errlen);

/* Building an archive in memory. */
struct zip_writer;
struct zip_writer *zip_writer_new(void);
/* name as stored; parents are not added implicitly.  0 or -1 (bad name). */
int zip_writer_add(struct zip_writer *w, const char *name, const void *data,
		   size_t size, unsigned mode);
int zip_writer_add_dir(struct zip_writer *w, const char *name);
/* Finishes and hands over the bytes (caller frees *buf); frees w. */
int zip_writer_finish(struct zip_writer *w, unsigned char **buf, size_t *len);
void zip_writer_abort(struct zip_writer *w);

/* Whether `name` is a safe relative entry name: not empty, at most 4096
 * bytes, no leading '/', no empty, "." or ".." component, no NUL, no
 * backslash. */
bool zip_name_ok(const char *name);

#endif
