/* Zip archives in memory (zip.h): a reader that refuses whatever a hostile
 * peer could use against us, an extractor that never leaves its directory,
 * and a writer of small archives.  libarchive does the format; this file
 * decides what is acceptable.
 *
 * Reading is done by libarchive's seekable zip reader, which finds the
 * entries through the central directory as Info-ZIP's unzip does.  Before
 * libarchive sees the bytes we insist that the end-of-central-directory
 * record closes the buffer (a cut-off archive is refused as a whole, not
 * read in part) and check every central-directory entry as stored, since
 * libarchive rewrites some names and types.  Its entries must then carry
 * names the central directory lists: a local header that says something
 * else is refused.  Sizes are enforced on the bytes libarchive inflates. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "zip.h"

enum {
	MAX_NAME = 4096,            /* bytes of one entry name (zip_name_ok) */
	EOCD_SIZE = 22,             /* end-of-central-directory record, no comment */
	EOCD_MAX_COMMENT = 65535,
	READ_CHUNK = 64 * 1024,     /* bytes asked of libarchive at a time */
	BOMB_RATIO = 1000,          /* uncompressed : archive size beyond which ... */
	BOMB_FLOOR = 1 << 20,       /* ... and above this many bytes, it is a bomb */
	SHOWN_MAX = 80,             /* characters of a name quoted in a message */
	STORE_BELOW = 64,           /* entries smaller than this are not deflated */
};

const struct zip_limits zip_default_limits = {
	.max_entries = 1000,
	.max_total = 64 << 20,
	.max_entry = 16 << 20,
};

/* ---- messages ---- */


/* A name fit for a one-line message: control bytes become '?', long
 * names are cut with "...". */
struct shown { char s[SHOWN_MAX + 4]; };

static const char *show(struct shown *b, const char *name)
{
	size_t k = 0;
	for (; name[k] && k < SHOWN_MAX; k++) {
		unsigned char c = (unsigned char)name[k];
		b->s[k] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (name[k])
		memcpy(b->s + k, "...", 3), k += 3;
	b->s[k] = 0;
	return b->s;
}

/* ---- names ---- */

/* Why `name` is not a safe relative entry name, or NULL when it is. */
static const char *name_problem(const char *name)
{
	size_t len = strlen(name);
	if (len == 0)
		return "empty name";
	if (len > MAX_NAME)
		return "name longer than 4096 bytes";
	if (name[0] == '/')
		return "absolute name";
	if (strchr(name, '\\'))
		return "backslash in name";
	for (const char *c = name;;) {
		size_t n = strcspn(c, "/");
		if (n == 0)
			return "empty component";
		if (n == 1 && c[0] == '.')
			return "'.' component";
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return "'..' component";
		if (!c[n])
			return NULL;
		c += n + 1;
	}
}

bool zip_name_ok(const char *name)
{
	return name && !name_problem(name);
}

/* ---- reading ---- */

static unsigned get16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

/* One entry as the central directory lists it. */
struct listed {
	char *name;             /* without a directory's trailing '/' */
	unsigned perm;          /* permission bits; 0 when not made on Unix */
};

/* Where the central directory is, as the end record tells. */
struct eocd {
	size_t entries;
	size_t cd_off, cd_size;
};

/* The end-of-central-directory record must close the buffer exactly
 * (after its comment), so a cut-off archive is refused as a whole. */
static int find_eocd(const unsigned char *p, size_t len, const struct zip_limits *lim,
		     struct eocd *out, char *err, size_t errlen)
{
	if (len < EOCD_SIZE)
		return set_err(err, errlen, "not a zip archive (%zu bytes, too short; truncated?)", len);
	size_t lowest = len - EOCD_SIZE > EOCD_MAX_COMMENT ? len - EOCD_SIZE - EOCD_MAX_COMMENT : 0;
	for (size_t pos = len - EOCD_SIZE + 1; pos-- > lowest;) {
		const unsigned char *e = p + pos;
		if (memcmp(e, "PK\5\6", 4) != 0 || get16(e + 20) != len - pos - EOCD_SIZE)
			continue;
		unsigned on_disk = get16(e + 8), total = get16(e + 10);
		uint32_t cd_size = get32(e + 12), cd_off = get32(e + 16);
		if (get16(e + 4) != 0 || get16(e + 6) != 0 || on_disk != total)
			return set_err(err, errlen, "multi-part zip archives are not accepted");
		if (total == 0xffff || cd_size == 0xffffffff || cd_off == 0xffffffff)
			return set_err(err, errlen, "zip64 archives are not accepted (far beyond the size limits)");
		if ((uint64_t)cd_off + cd_size > pos)
			return set_err(err, errlen, "damaged zip archive: its central directory lies outside it");
		if (total > lim->max_entries)
			return set_err(err, errlen, "too many entries in the archive (%u; the limit is %zu)",
				    total, lim->max_entries);
		*out = (struct eocd){ total, cd_off, cd_size };
		return 0;
	}
	return set_err(err, errlen, "not a zip archive, or truncated (no end-of-central-directory record at its end)");
}

static const char *special_kind(unsigned type)
{
	switch (type) {
	case AE_IFCHR: return "character devices";
	case AE_IFBLK: return "block devices";
	case AE_IFIFO: return "fifos";
	case AE_IFSOCK: return "sockets";
	default: return "special files";
	}
}

/* Checks each entry of the central directory as stored, before libarchive
 * reads (and rewrites: it turns '\\' into '/') names and types.  The
 * count must be what the end record says.  Collects a struct listed for
 * each entry in `listed`. */
static int scan_directory(const unsigned char *p, const struct eocd *end,
			  struct ptrvec *listed, char *err, size_t errlen)
{
	const unsigned char *c = p + end->cd_off, *stop = c + end->cd_size;
	for (size_t k = 0; k < end->entries; k++) {
		if (stop - c < 46 || memcmp(c, "PK\1\2", 4) != 0)
			return set_err(err, errlen, "damaged zip archive: central directory entry %zu is cut short",
				    k + 1);
		size_t nlen = get16(c + 28), xlen = get16(c + 30), clen = get16(c + 32);
		if ((size_t)(stop - c) < 46 + nlen + xlen + clen)
			return set_err(err, errlen, "damaged zip archive: central directory entry %zu is cut short",
				    k + 1);
		char *name = xstrndup((const char *)c + 46, nlen);
		size_t len = strlen(name);
		const char *why = len < nlen ? "NUL in name" : NULL;
		unsigned mode = get32(c + 38) >> 16;
		bool unix_made = c[5] == 3;
		if (len > 1 && name[len - 1] == '/')
			name[len - 1] = 0;      /* how zip marks a directory */
		if (!why)
			why = name_problem(name);
		struct shown sh;
		int rc = 0;
		if (why)
			rc = set_err(err, errlen, "entry '%s' refused: %s", show(&sh, name), why);
		else if (unix_made && (mode & S_IFMT) == S_IFLNK)
			rc = set_err(err, errlen, "entry '%s': symbolic links are not accepted", show(&sh, name));
		else if (unix_made && (mode & S_IFMT) && !S_ISREG(mode) && !S_ISDIR(mode))
			rc = set_err(err, errlen, "entry '%s': %s are not accepted", show(&sh, name),
				  special_kind(mode & S_IFMT));
		if (rc) {
			free(name);
			return rc;
		}
		struct listed *l = xmalloc(sizeof *l);
		*l = (struct listed){ name, unix_made ? mode & 0777 : 0 };
		pv_push(listed, l);
		c += 46 + nlen + xlen + clen;
	}
	if (c != stop)
		return set_err(err, errlen, "damaged zip archive: its central directory holds more than "
			    "the %zu entries its end record lists", end->entries);
	return 0;
}

/* State of one zip_read_mem. */
struct reader {
	struct archive *a;
	const struct zip_limits *lim;
	size_t input_len;          /* bytes of the archive, for the bomb ratio */
	uint64_t total;            /* uncompressed file bytes read so far */
	const struct strmap *central;  /* name -> struct listed */
	struct zip_archive z;      /* entries so far (owned) */
	size_t cap;                /* slots allocated in z.e */
	unsigned char *chunk;      /* READ_CHUNK bytes of scratch */
	char *err;
	size_t errlen;
};

static const char *archive_msg(struct archive *a)
{
	const char *m = archive_error_string(a);
	return m ? m : "unknown error";
}

/* Adds `got` bytes to the data of entry `name`, enforcing every size limit
 * on the bytes actually produced, whatever the headers said. */
static int take_bytes(struct reader *r, const char *name, unsigned char **data,
		      size_t *len, size_t *cap, size_t got)
{
	const struct zip_limits *lim = r->lim;
	struct shown sh;
	if (got > lim->max_entry - *len)
		return set_err(r->err, r->errlen, "entry '%s' is too large (over %zu bytes)",
			    show(&sh, name), lim->max_entry);
	r->total += got;
	if (r->total > lim->max_total)
		return set_err(r->err, r->errlen, "archive too large (over %zu bytes uncompressed)",
			    lim->max_total);
	if (r->total > BOMB_FLOOR && r->total / BOMB_RATIO >= r->input_len)
		return set_err(r->err, r->errlen,
			    "compression ratio over %d:1 (%llu bytes from a %zu-byte archive): refusing a zip bomb",
			    BOMB_RATIO, (unsigned long long)r->total, r->input_len);
	if (*len + got + 1 > *cap) {
		size_t want = *cap ? *cap : 256;
		while (want < *len + got + 1)
			want *= 2;
		if (want - 1 > lim->max_entry)     /* (no overflow with SIZE_MAX limits) */
			want = lim->max_entry + 1;
		*data = xrealloc(*data, want);
		*cap = want;
	}
	memcpy(*data + *len, r->chunk, got);
	*len += got;
	return 0;
}

/* Reads the data of the current (regular file) entry into e. */
static int read_data(struct reader *r, struct archive_entry *ae, struct zip_entry *e)
{
	struct shown sh;
	bool declared = archive_entry_size_is_set(ae);
	int64_t size = archive_entry_size(ae);
	if (declared && (size < 0 || (uint64_t)size > r->lim->max_entry))
		return set_err(r->err, r->errlen, "entry '%s' is too large (%lld bytes; the limit is %zu)",
			    show(&sh, e->name), (long long)size, r->lim->max_entry);
	if (declared && r->total + (uint64_t)size > r->lim->max_total)
		return set_err(r->err, r->errlen, "archive too large (over %zu bytes uncompressed)",
			    r->lim->max_total);

	size_t cap = declared ? (size_t)size + 1 : 0;
	e->data = cap ? xmalloc(cap) : NULL;
	for (;;) {
		la_ssize_t got = archive_read_data(r->a, r->chunk, READ_CHUNK);
		if (got == 0)
			break;
		if (got < 0)
			return set_err(r->err, r->errlen, "damaged zip archive: entry '%s': %s",
				    show(&sh, e->name), archive_msg(r->a));
		if (take_bytes(r, e->name, &e->data, &e->size, &cap, (size_t)got))
			return -1;
	}
	if (declared && (uint64_t)size != e->size)
		return set_err(r->err, r->errlen,
			    "damaged zip archive: entry '%s' says %lld bytes but holds %zu",
			    show(&sh, e->name), (long long)size, e->size);
	if (!e->data)
		e->data = xmalloc(1);
	e->data[e->size] = 0;
	return 0;
}

/* Checks the header just read and appends its entry (with its data). */
static int take_entry(struct reader *r, struct archive_entry *ae)
{
	struct shown sh;
	const char *raw = archive_entry_pathname(ae);
	if (!raw)
		raw = archive_entry_pathname_utf8(ae);
	if (!raw)
		return set_err(r->err, r->errlen, "entry %zu: its name cannot be read", r->z.n + 1);
	if (r->z.n >= r->lim->max_entries)
		return set_err(r->err, r->errlen, "too many entries in the archive (the limit is %zu)",
			    r->lim->max_entries);

	unsigned type = archive_entry_filetype(ae);
	if (archive_entry_hardlink(ae))
		return set_err(r->err, r->errlen, "entry '%s': hard links are not accepted", show(&sh, raw));
	if (type == AE_IFLNK)
		return set_err(r->err, r->errlen, "entry '%s': symbolic links are not accepted", show(&sh, raw));
	if (type != AE_IFREG && type != AE_IFDIR)
		return set_err(r->err, r->errlen, "entry '%s': %s are not accepted",
			    show(&sh, raw), special_kind(type));
	if (archive_entry_is_encrypted(ae))
		return set_err(r->err, r->errlen, "entry '%s' is encrypted", show(&sh, raw));

	size_t len = strlen(raw);
	if (type == AE_IFDIR && len > 1 && raw[len - 1] == '/')
		len--;
	char *name = xstrndup(raw, len);
	const char *why = name_problem(name);
	if (why) {
		set_err(r->err, r->errlen, "entry '%s' refused: %s", show(&sh, raw), why);
		free(name);
		return -1;
	}
	/* libarchive takes names from the local headers */
	const struct ptrvec *listed = strmap_get(r->central, name);
	if (!listed) {
		set_err(r->err, r->errlen, "damaged zip archive: entry '%s' is named differently "
		     "in the central directory", show(&sh, raw));
		free(name);
		return -1;
	}

	if (r->z.n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->z.e = xrealloc(r->z.e, r->cap * sizeof *r->z.e);
	}
	struct zip_entry *e = &r->z.e[r->z.n++];
	*e = (struct zip_entry){ .name = name, .is_dir = type == AE_IFDIR,
				 .mode = ((const struct listed *)listed->v[0])->perm };
	if (e->is_dir)
		return archive_read_data_skip(r->a) == ARCHIVE_OK ? 0
			: set_err(r->err, r->errlen, "damaged zip archive: %s", archive_msg(r->a));
	return read_data(r, ae, e);
}

/* No name twice (also not as a file and a directory), and nothing below
 * a file: either would make extraction depend on order. */
static int check_tree(struct reader *r)
{
	struct strmap seen = { 0 };
	struct shown sh;
	int rc = 0;
	for (size_t k = 0; k < r->z.n && rc == 0; k++) {
		const struct zip_entry *e = &r->z.e[k];
		const struct ptrvec *prev = strmap_get(&seen, e->name);
		if (prev) {
			const struct zip_entry *p = prev->v[0];
			rc = set_err(r->err, r->errlen, p->is_dir == e->is_dir
				  ? "duplicate entry '%s'"
				  : "entry '%s' appears both as a file and as a directory",
				  show(&sh, e->name));
		}
		strmap_add(&seen, e->name, (void *)e);
	}
	for (size_t k = 0; k < r->z.n && rc == 0; k++) {
		char *path = xstrdup(r->z.e[k].name);
		for (char *slash = strchr(path, '/'); slash && rc == 0; slash = strchr(slash + 1, '/')) {
			*slash = 0;
			const struct ptrvec *up = strmap_get(&seen, path);
			if (up && !((const struct zip_entry *)up->v[0])->is_dir) {
				struct shown sh2;
				rc = set_err(r->err, r->errlen, "entry '%s' lies below the file '%s'",
					  show(&sh, r->z.e[k].name), show(&sh2, path));
			}
			*slash = '/';
		}
		free(path);
	}
	strmap_free(&seen);
	return rc;
}

static int read_all(struct reader *r, const void *buf, size_t len, size_t expected)
{
	if (archive_read_support_format_zip_seekable(r->a) != ARCHIVE_OK
	    || archive_read_open_memory(r->a, buf, len) != ARCHIVE_OK)
		return set_err(r->err, r->errlen, "not a zip archive: %s", archive_msg(r->a));
	for (;;) {
		struct archive_entry *ae;
		int rc = archive_read_next_header(r->a, &ae);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc != ARCHIVE_OK)
			return set_err(r->err, r->errlen, "damaged zip archive: %s", archive_msg(r->a));
		if (take_entry(r, ae))
			return -1;
	}
	if (r->z.n != expected)
		return set_err(r->err, r->errlen,
			    "damaged zip archive: its directory lists %zu entries but %zu were read",
			    expected, r->z.n);
	return check_tree(r);
}

int zip_read_mem(const void *buf, size_t len, const struct zip_limits *lim,
		 struct zip_archive *out, char *err, size_t errlen)
{
	*out = (struct zip_archive){ 0 };
	if (err && errlen)
		err[0] = 0;
	if (!lim)
		lim = &zip_default_limits;
	if (len == 0 || !buf)
		return set_err(err, errlen, "not a zip archive (empty input)");
	struct eocd end = { 0, 0, 0 };
	if (find_eocd(buf, len, lim, &end, err, errlen))
		return -1;
	struct ptrvec listed = { 0 };
	struct strmap central = { 0 };
	int rc = scan_directory(buf, &end, &listed, err, errlen);
	for (size_t k = 0; k < listed.n; k++) {
		struct listed *l = listed.v[k];
		strmap_add(&central, l->name, l);
	}

	struct reader r = { .lim = lim, .central = &central, .input_len = len,
			    .err = err, .errlen = errlen };
	/* libarchive does not read an empty archive */
	if (rc == 0 && end.entries > 0) {
		r.a = archive_read_new();
		r.chunk = xmalloc(READ_CHUNK);
		rc = r.a ? read_all(&r, buf, len, end.entries)
			 : set_err(err, errlen, "out of memory (libarchive)");
		archive_read_free(r.a);
		free(r.chunk);
	}
	strmap_free(&central);
	for (size_t k = 0; k < listed.n; k++) {
		free(((struct listed *)listed.v[k])->name);
		free(listed.v[k]);
	}
	pv_free(&listed);
	if (rc) {
		zip_archive_free(&r.z);
		return -1;
	}
	*out = r.z;
	return 0;
}

const struct zip_entry *zip_find(const struct zip_archive *z, const char *name)
{
	for (size_t k = 0; k < z->n; k++)
		if (strcmp(z->e[k].name, name) == 0)
			return &z->e[k];
	return NULL;
}

void zip_archive_free(struct zip_archive *z)
{
	for (size_t k = 0; k < z->n; k++) {
		free(z->e[k].name);
		free(z->e[k].data);
	}
	free(z->e);
	*z = (struct zip_archive){ 0 };
}

/* ---- extraction ---- */

/* Opens directory `comp` below `at` (path names it in messages), making it
 * first when `create` and it is missing.  Never follows a symlink. */
static int open_dir(int at, const char *comp, const char *path, bool create,
		    char *err, size_t errlen)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(at, comp, flags);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(at, comp, 0700) < 0 && errno != EEXIST)
			return set_err(err, errlen, "cannot create directory '%s': %s", path, strerror(errno));
		fd = openat(at, comp, flags);
	}
	if (fd >= 0)
		return fd;
	struct stat st;
	int saved = errno;
	if ((saved == ELOOP || saved == ENOTDIR)
	    && fstatat(at, comp, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return set_err(err, errlen, S_ISLNK(st.st_mode) ? "'%s' is a symbolic link: not followed"
			    : "'%s' exists and is not a directory", path);
	errno = saved;
	return set_err(err, errlen, "cannot open directory '%s': %s", path, strerror(errno));
}

static int write_file(int at, const char *comp, const struct zip_entry *e, char *err, size_t errlen)
{
	int fd = openat(at, comp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return set_err(err, errlen, "cannot create '%s': %s", e->name, strerror(errno));
	if (write_all(fd, e->data, e->size) != 0) {
		int saved = errno;
		close(fd);
		return set_err(err, errlen, "cannot write '%s': %s", e->name, strerror(saved));
	}
	if (close(fd) < 0)
		return set_err(err, errlen, "cannot write '%s': %s", e->name, strerror(errno));
	return 0;
}

/* One entry, walking its path one component at a time from dirfd. */
static int extract_one(const struct zip_entry *e, int dirfd, char *err, size_t errlen)
{
	char *path = xstrdup(e->name);
	char *comp = path, *slash;
	int at = dirfd, rc = 0;
	while (rc == 0 && (slash = strchr(comp, '/'))) {
		*slash = 0;
		int next = open_dir(at, comp, path, true, err, errlen);
		if (at != dirfd)
			close(at);
		at = next;
		rc = next < 0 ? -1 : 0;
		*slash = '/';
		comp = slash + 1;
	}
	if (rc == 0 && e->is_dir) {
		int fd = open_dir(at, comp, path, true, err, errlen);
		rc = fd < 0 ? -1 : close(fd);
	} else if (rc == 0) {
		rc = write_file(at, comp, e, err, errlen);
	}
	if (at >= 0 && at != dirfd)
		close(at);
	free(path);
	return rc;
}

int zip_extract_at(const struct zip_archive *z, int dirfd, char *err, size_t errlen)
{
	struct shown sh;
	for (size_t k = 0; k < z->n; k++) {
		const struct zip_entry *e = &z->e[k];
		if (!zip_name_ok(e->name))
			return set_err(err, errlen, "entry '%s' refused: %s",
				    show(&sh, e->name ? e->name : ""),
				    e->name ? name_problem(e->name) : "no name");
		if (extract_one(e, dirfd, err, errlen))
			return -1;
	}
	return 0;
}

/* ---- writing ---- */

struct zip_writer {
	struct archive *a;
	unsigned char *buf;         /* the archive so far */
	size_t len, cap;
	struct strmap names;        /* names added (keys owned by name_store) */
	struct ptrvec name_store;
	bool failed;                /* libarchive refused something: finish fails */
};

static la_ssize_t append_out(struct archive *a, void *client, const void *data, size_t n)
{
	(void)a;
	struct zip_writer *w = client;
	if (w->len + n > w->cap) {
		size_t want = w->cap ? w->cap : 4096;
		while (want < w->len + n)
			want *= 2;
		w->buf = xrealloc(w->buf, want);
		w->cap = want;
	}
	memcpy(w->buf + w->len, data, n);
	w->len += n;
	return (la_ssize_t)n;
}

static void set16(unsigned char *p, unsigned v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
}

static void set32(unsigned char *p, uint32_t v)
{
	set16(p, v & 0xffff);
	set16(p + 2, v >> 16);
}

/* libarchive 3.6 gives every entry a "UT" and a "ux" extra field (20
 * bytes, in both headers) and a 16-byte data descriptor, and has no option
 * to leave them out.  On a request of small entries that is most of the
 * archive, and SystemTap's server drops requests over 5000 bytes.  This
 * copies the archive without them, with the CRC and sizes in the local
 * header (flag bit 3 clear), as Info-ZIP's unzip expects.  *out is NULL
 * when the archive is left as it is (zip64: never for our sizes). */
static int compact(const unsigned char *in, size_t len, unsigned char **out, size_t *outlen)
{
	*out = NULL;
	if (len < EOCD_SIZE || memcmp(in + len - EOCD_SIZE, "PK\5\6", 4) != 0)
		return -1;
	const unsigned char *e = in + len - EOCD_SIZE;
	size_t entries = get16(e + 10);
	uint32_t cd_size = get32(e + 12), cd_off = get32(e + 16);
	if (entries == 0xffff || cd_size == 0xffffffff || cd_off == 0xffffffff)
		return 0;
	if ((uint64_t)cd_off + cd_size > len - EOCD_SIZE)
		return -1;
	unsigned char *buf = xmalloc(len), *cd = xmalloc(cd_size + 1);
	size_t n = 0, cdn = 0;
	const unsigned char *c = in + cd_off, *stop = c + cd_size;
	for (size_t k = 0; k < entries; k++) {
		if (stop - c < 46 || memcmp(c, "PK\1\2", 4) != 0)
			goto bad;
		size_t nlen = get16(c + 28), xlen = get16(c + 30), clen = get16(c + 32);
		uint32_t csize = get32(c + 20), usize = get32(c + 24), off = get32(c + 42);
		if ((size_t)(stop - c) < 46 + nlen + xlen + clen || csize == 0xffffffff
		    || usize == 0xffffffff || off == 0xffffffff) {
			free(buf), free(cd);
			return csize == 0xffffffff || usize == 0xffffffff || off == 0xffffffff ? 0 : -1;
		}
		const unsigned char *l = in + off;
		if ((uint64_t)off + 30 > cd_off || memcmp(l, "PK\3\4", 4) != 0)
			goto bad;
		size_t data = off + 30 + (size_t)get16(l + 26) + get16(l + 28);
		if ((uint64_t)data + csize > cd_off)
			goto bad;

		memcpy(cd + cdn, c, 46);
		set16(cd + cdn + 8, get16(c + 8) & ~8u);
		set16(cd + cdn + 30, 0);
		set16(cd + cdn + 32, 0);
		set32(cd + cdn + 42, (uint32_t)n);
		memcpy(cd + cdn + 46, c + 46, nlen);
		cdn += 46 + nlen;

		memcpy(buf + n, l, 30);
		set16(buf + n + 6, get16(c + 8) & ~8u);
		set32(buf + n + 14, get32(c + 16));
		set32(buf + n + 18, csize);
		set32(buf + n + 22, usize);
		set16(buf + n + 26, (unsigned)nlen);
		set16(buf + n + 28, 0);
		memcpy(buf + n + 30, c + 46, nlen);
		memcpy(buf + n + 30 + nlen, in + data, csize);
		n += 30 + nlen + csize;
		c += 46 + nlen + xlen + clen;
	}
	memcpy(buf + n, cd, cdn);
	memcpy(buf + n + cdn, e, EOCD_SIZE);
	set32(buf + n + cdn + 12, (uint32_t)cdn);
	set32(buf + n + cdn + 16, (uint32_t)n);
	set16(buf + n + cdn + 20, 0);
	free(cd);
	*out = buf;
	*outlen = n + cdn + EOCD_SIZE;
	return 0;
bad:
	free(buf);
	free(cd);
	return -1;
}

struct zip_writer *zip_writer_new(void)
{
	struct zip_writer *w = xcalloc(1, sizeof *w);
	w->a = archive_write_new();
	if (!w->a
	    || archive_write_set_format_zip(w->a) != ARCHIVE_OK
	    || archive_write_zip_set_compression_deflate(w->a) != ARCHIVE_OK
	    || archive_write_set_bytes_per_block(w->a, 0) != ARCHIVE_OK
	    || archive_write_open(w->a, w, NULL, append_out, NULL) != ARCHIVE_OK) {
		zip_writer_abort(w);
		return NULL;
	}
	return w;
}

/* Remembers `name`; false if it was added before. */
static bool claim_name(struct zip_writer *w, const char *name)
{
	if (strmap_get(&w->names, name))
		return false;
	char *copy = xstrdup(name);
	pv_push(&w->name_store, copy);
	strmap_add(&w->names, copy, copy);
	return true;
}

static int write_entry(struct zip_writer *w, const char *name, unsigned type,
		       unsigned perm, const void *data, size_t size)
{
	struct archive_entry *ae = archive_entry_new();
	if (!ae) {
		w->failed = true;
		return -1;
	}
	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, type);
	archive_entry_set_perm(ae, perm);
	archive_entry_set_size(ae, (la_int64_t)size);
	/* tiny entries (versions, argv words) would grow when deflated */
	if (type == AE_IFREG && size < STORE_BELOW)
		archive_write_zip_set_compression_store(w->a);
	else
		archive_write_zip_set_compression_deflate(w->a);
	int rc = archive_write_header(w->a, ae) == ARCHIVE_OK ? 0 : -1;
	for (size_t done = 0; rc == 0 && done < size;) {
		la_ssize_t n = archive_write_data(w->a, (const char *)data + done, size - done);
		if (n <= 0)
			rc = -1;
		else
			done += (size_t)n;
	}
	if (rc == 0 && archive_write_finish_entry(w->a) != ARCHIVE_OK)
		rc = -1;
	archive_entry_free(ae);
	if (rc)
		w->failed = true;
	return rc;
}

int zip_writer_add(struct zip_writer *w, const char *name, const void *data,
		   size_t size, unsigned mode)
{
	if (!w || w->failed || !zip_name_ok(name) || (size && !data) || !claim_name(w, name))
		return -1;
	return write_entry(w, name, AE_IFREG, mode & 0777 ? mode & 0777 : 0644, data, size);
}

int zip_writer_add_dir(struct zip_writer *w, const char *name)
{
	if (!w || w->failed || !name)
		return -1;
	size_t len = strlen(name);
	if (len && name[len - 1] == '/')
		len--;
	char *bare = xstrndup(name, len);
	int rc = -1;
	if (zip_name_ok(bare) && claim_name(w, bare)) {
		char *stored = xasprintf("%s/", bare);   /* how zip marks a directory */
		rc = write_entry(w, stored, AE_IFDIR, 0755, NULL, 0);
		free(stored);
	}
	free(bare);
	return rc;
}

int zip_writer_finish(struct zip_writer *w, unsigned char **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	if (!w)
		return -1;
	if (archive_write_close(w->a) != ARCHIVE_OK)
		w->failed = true;
	if (w->failed) {
		zip_writer_abort(w);
		return -1;
	}
	unsigned char *small;
	size_t small_len;
	if (compact(w->buf, w->len, &small, &small_len)) {
		zip_writer_abort(w);
		return -1;
	}
	if (small) {
		*buf = small;
		*len = small_len;
	} else {
		*buf = w->buf;
		*len = w->len;
		w->buf = NULL;
	}
	zip_writer_abort(w);
	return 0;
}

void zip_writer_abort(struct zip_writer *w)
{
	if (!w)
		return;
	if (w->a)
		archive_write_free(w->a);
	for (size_t k = 0; k < w->name_store.n; k++)
		free(w->name_store.v[k]);
	pv_free(&w->name_store);
	strmap_free(&w->names);
	free(w->buf);
	free(w);
}
