/* Small helpers shared by every component: allocation that cannot fail
 * silently, a growable string buffer, an arena for trees that die together,
 * and bounded file reading. */
#ifndef STAP_COMMON_UTIL_H
#define STAP_COMMON_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

/* Formats a one-line message into err (control characters become
 * spaces, trailing spaces go) and returns -1: for functions that report
 * failures as "-1 with a reason in err".  err may be NULL. */
int set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Allocation: on failure print "PROG: out of memory" and exit(1). */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);

/* Growable NUL-terminated buffer.  `s` is always valid once initialised. */
struct strbuf {
	char *s;      /* contents, NUL-terminated */
	size_t len;   /* bytes used, not counting the NUL */
	size_t cap;   /* bytes allocated */
};
void sb_init(struct strbuf *sb);
void sb_free(struct strbuf *sb);
void sb_putc(struct strbuf *sb, char c);
void sb_putn(struct strbuf *sb, const char *s, size_t n);
void sb_puts(struct strbuf *sb, const char *s);
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap);
char *sb_detach(struct strbuf *sb);   /* caller frees; sb is reset */

/* Arena: many small allocations freed at once.  Memory is zeroed. */
struct arena_block;
struct arena {
	struct arena_block *head;  /* newest block first */
	size_t total;              /* bytes handed out, for limits and benches */
};
void arena_init(struct arena *a);
void arena_free(struct arena *a);
void *arena_alloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Pointer vector.  Zero-initialised struct is an empty vector. */
struct ptrvec {
	void **v;
	size_t n, cap;
};
void pv_push(struct ptrvec *pv, void *p);
void pv_free(struct ptrvec *pv);
/* Frees v[0..n) and v (NULL is fine). */
void strv_free(char **v, size_t n);

/* String-keyed hash map to pointer vectors: each key collects every value
 * added under it, in order.  Keys are not copied (they must outlive the
 * map: arena or static strings). */
struct strmap_slot;
struct strmap {
	struct strmap_slot *slots;
	size_t cap, used;
};
void strmap_add(struct strmap *m, const char *key, void *value);
/* The values under key, or NULL. */
const struct ptrvec *strmap_get(const struct strmap *m, const char *key);
void strmap_free(struct strmap *m);

/* Read a whole regular file into a NUL-terminated heap buffer, refusing
 * files larger than max_bytes.  Returns NULL with errno set on failure
 * (EFBIG when too large). */
/* mkdir -p: path and every directory above it that is missing, with
 * mode.  0, or -1 with errno. */
int mkdirs(const char *path, mode_t mode);
/* Writes all len bytes to fd, again after EINTR: 0, or -1 with errno
 * (EIO when write wrote nothing). */
int write_all(int fd, const void *buf, size_t len);
char *read_file_bounded(const char *path, size_t max_bytes, size_t *len_out);

/* Name of the running program for messages ("stap", "stap-serverd"). */
extern const char *progname;

#endif
