/* The compile-server protocol's archives as data (csproto.h): reading a
 * request the way SystemTap's stap-serverd does, minus its crashes and
 * with limits; building a request as its client does; reading a response
 * as its client does.  Layout facts: docs/protocol.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csproto.h"
#include "util.h"

enum {
	MAX_VERSION = 64,         /* bytes of a version string */
	MAX_VERSION_PARTS = 16,   /* dot-separated numbers in it */
	MAX_RELEASE = 128,        /* bytes of a kernel release */
	MAX_ARCH = 64,
	MAX_BUILD_ID = 128,       /* hex digits of a build-id */
	MAX_LINES = 100,          /* locale / MOK lines looked at (real ones: < 10) */
	MAX_QUOTED = 256,         /* bytes of a refused line echoed back */
};

/* The environment variables SystemTap's client sends, in sorted order. */
static const char *const locale_keys[] = {
	"LANG", "LC_ALL", "LC_COLLATE", "LC_CTYPE",
	"LC_MESSAGES", "LC_MONETARY", "LC_NUMERIC", "LC_TIME",
};


/* Character classes in ASCII, whatever the locale says. */
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
static bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }
static bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* ---- versions ---- */

/* Splits a dotted version of len bytes into part[]; the number of parts,
 * or 0 when it is not a dotted number.  Each part is read as strtoul
 * base 0 reads it ("0x10" is 16), but it must start with a digit (no
 * sign, no blank) and be used up entirely. */
static size_t version_parts(const char *s, size_t len, unsigned long part[MAX_VERSION_PARTS])
{
	if (!s || len == 0 || len > MAX_VERSION)
		return 0;
	size_t n = 0;
	for (const char *p = s, *end = s + len;;) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		const char *stop = dot ? dot : end;
		char word[MAX_VERSION + 1], *rest;
		size_t wlen = (size_t)(stop - p);
		if (wlen == 0 || n == MAX_VERSION_PARTS || !is_digit(p[0]))
			return 0;
		memcpy(word, p, wlen);
		word[wlen] = 0;
		errno = 0;
		part[n++] = strtoul(word, &rest, 0);
		if (*rest || errno)
			return 0;
		if (!dot)
			return n;
		p = dot + 1;
	}
}

/* Anything that is not a version counts as the original protocol, 1.0. */
static size_t version_or_1_0(const char *s, unsigned long part[MAX_VERSION_PARTS])
{
	size_t n = s ? version_parts(s, strlen(s), part) : 0;
	if (n == 0) {
		part[0] = 1;
		part[1] = 0;
		n = 2;
	}
	return n;
}

int cs_version_compare(const char *a, const char *b)
{
	unsigned long pa[MAX_VERSION_PARTS], pb[MAX_VERSION_PARTS];
	size_t na = version_or_1_0(a, pa), nb = version_or_1_0(b, pb);
	for (size_t k = 0; k < na && k < nb; k++)
		if (pa[k] != pb[k])
			return pa[k] < pb[k] ? -1 : 1;
	return na < nb ? -1 : na > nb;
}

char *cs_version_from_file(const char *data, size_t len)
{
	size_t k = 0;
	while (k < len && is_space(data[k]))
		k++;
	size_t start = k;
	while (k < len && data[k] && !is_space(data[k]))
		k++;
	unsigned long part[MAX_VERSION_PARTS];
	if (version_parts(data + start, k - start, part) == 0)
		return xstrdup("1.0");
	return xstrndup(data + start, k - start);
}

/* ---- single checks ---- */

bool cs_locale_key_ok(const char *key)
{
	for (size_t k = 0; key && k < sizeof locale_keys / sizeof *locale_keys; k++)
		if (strcmp(key, locale_keys[k]) == 0)
			return true;
	return false;
}

static bool locale_value_ok_n(const char *v, size_t len)
{
	for (size_t k = 0; k < len; k++) {
		char c = v[k];
		if (!is_digit(c) && !is_lower(c) && !is_upper(c) && !strchr("@_.=-", c))
			return false;
	}
	return true;
}

bool cs_locale_value_ok(const char *value)
{
	return value && locale_value_ok_n(value, strlen(value));
}

static bool mok_ok_n(const char *fp, size_t len)
{
	if (len == 7 && memcmp(fp, "missing", 7) == 0)
		return true;
	if (len < 5 || (len + 1) % 3 != 0)
		return false;
	for (size_t k = 0; k < len; k++)
		if (k % 3 == 2 ? fp[k] != ':' : !is_hex(fp[k]))
			return false;
	return true;
}

bool cs_mok_fingerprint_ok(const char *fp)
{
	return fp && mok_ok_n(fp, strlen(fp));
}

bool cs_kernel_release_ok(const char *rel)
{
	size_t len = rel ? strlen(rel) : 0;
	if (len == 0 || len > MAX_RELEASE)
		return false;
	for (size_t k = 0; k < len; k++)
		if (!is_digit(rel[k]) && !is_lower(rel[k]) && !strchr("_.+-", rel[k]))
			return false;
	return true;
}

/* -a's rule: ^[a-z0-9_-]+$ */
static bool arch_ok(const char *arch)
{
	size_t len = strlen(arch);
	if (len == 0 || len > MAX_ARCH)
		return false;
	for (size_t k = 0; k < len; k++)
		if (!is_digit(arch[k]) && !is_lower(arch[k]) && arch[k] != '_' && arch[k] != '-')
			return false;
	return true;
}

static bool build_id_ok_n(const char *id, size_t len)
{
	if (len < 2 || len > MAX_BUILD_ID)
		return false;
	for (size_t k = 0; k < len; k++)
		if (!is_hex(id[k]))
			return false;
	return true;
}

/* ---- request, server side ---- */

/* A regular file entry called `name`, or NULL. */
static const struct zip_entry *file_entry(const struct zip_archive *z, const char *name)
{
	const struct zip_entry *e = zip_find(z, name);
	return e && !e->is_dir ? e : NULL;
}

static void push(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = s;
}

/* A refused line as the note shows it: control bytes as '?', cut long. */
static char *quoted(const char *s, size_t len)
{
	size_t n = len < MAX_QUOTED ? len : MAX_QUOTED;
	char *q = xmalloc(n + 4);
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)s[k];
		q[k] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	strcpy(q + n, n < len ? "..." : "");
	return q;
}

static void note(struct cs_request *r, const char *fmt, const char *s, size_t len)
{
	char *q = quoted(s, len);
	char *msg = xasprintf(fmt, q);
	push(&r->notes, &r->nnotes, xasprintf("Server: %s", msg));
	free(msg);
	free(q);
}

/* Calls line() for each '\n'-terminated line of e (a last line without
 * '\n' counts), at most MAX_LINES of them; true if some were left. */
static bool each_line(const struct zip_entry *e, struct cs_request *r,
		      void (*line)(struct cs_request *, const char *, size_t))
{
	const char *p = (const char *)e->data, *end = p + e->size;
	for (size_t n = 0; p < end; n++) {
		if (n == MAX_LINES)
			return true;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;
		line(r, p, (size_t)(stop - p));
		p = nl ? nl + 1 : end;
	}
	return false;
}

/* The checks and messages of stap-serverd's locale handling. */
static void locale_line(struct cs_request *r, const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);
	if (!eq) {
		note(r, "Localization key=value line '%s' cannot be parsed", s, len);
		return;
	}
	size_t klen = (size_t)(eq - s);
	char *key = xstrndup(s, klen);
	if (memchr(s, 0, klen) || !cs_locale_key_ok(key))
		note(r, "Localization key '%s' not found in global list", s, klen);
	else if (!locale_value_ok_n(eq + 1, len - klen - 1))
		note(r, "Localization value '%s' contains illegal characters", eq + 1, len - klen - 1);
	else
		push(&r->locale, &r->nlocale, xstrndup(s, len));
	free(key);
}

static void mok_line(struct cs_request *r, const char *s, size_t len)
{
	if (mok_ok_n(s, len))
		push(&r->mok, &r->nmok, xstrndup(s, len));
	else
		note(r, "MOK fingerprint value '%s' isn't in the correct format", s, len);
}

/* "sysinfo: RELEASE ARCH"; only a missing label or release is fatal. */
static int parse_sysinfo(const struct zip_archive *z, struct cs_request *r, char *err, size_t errlen)
{
	const struct zip_entry *e = file_entry(z, "sysinfo");
	if (!e)
		return set_err(err, errlen, "the request has no sysinfo");
	const char *p = (const char *)e->data;   /* NUL-terminated */
	char *word[3] = { NULL, NULL, NULL };
	for (size_t k = 0; k < 3; k++) {
		while (is_space(*p))
			p++;
		size_t n = 0;
		while (p[n] && !is_space(p[n]))
			n++;
		if (n)
			word[k] = xstrndup(p, n);
		p += n;
	}
	int rc = 0;
	if (!word[0] || strcmp(word[0], "sysinfo:") != 0 || !word[1])
		rc = set_err(err, errlen, "the request's sysinfo is not 'sysinfo: RELEASE ARCH'");
	else {
		if (cs_kernel_release_ok(word[1]))
			r->kernel_release = xstrdup(word[1]);
		if (word[2] && arch_ok(word[2]))
			r->arch = xstrdup(word[2]);
	}
	for (size_t k = 0; k < 3; k++)
		free(word[k]);
	return rc;
}

int cs_request_parse(const struct zip_archive *z, struct cs_request *r,
		     char *err, size_t errlen)
{
	*r = (struct cs_request){ 0 };
	const struct zip_entry *e = file_entry(z, "version");
	r->client_version = e ? cs_version_from_file((const char *)e->data, e->size)
			      : xstrdup("1.0");
	if (parse_sysinfo(z, r, err, errlen)) {
		cs_request_free(r);
		return -1;
	}

	/* argv1, argv2, ... verbatim, up to the first gap */
	for (size_t k = 1;; k++) {
		char name[32];
		snprintf(name, sizeof name, "argv%zu", k);
		if (!(e = file_entry(z, name)))
			break;
		push(&r->argv, &r->argc, xstrdup((const char *)e->data));
	}

	if ((e = file_entry(z, "kernel_build_id"))) {
		size_t len = e->size;
		if (len && e->data[len - 1] == '\n')
			len--;
		if (build_id_ok_n((const char *)e->data, len))
			r->kernel_build_id = xstrndup((const char *)e->data, len);
	}

	/* SystemTap clients before 1.6 sent neither; their servers ignore them */
	if (cs_version_compare(r->client_version, "1.6") < 0)
		return 0;
	if ((e = file_entry(z, "locale")) && each_line(e, r, locale_line))
		push(&r->notes, &r->nnotes, xasprintf("Server: Localization file has more than %d lines; "
						     "the rest is ignored", MAX_LINES));
	if ((e = file_entry(z, "mok_fingerprints"))) {
		r->mok_sent = true;
		if (each_line(e, r, mok_line))
			push(&r->notes, &r->nnotes, xasprintf("Server: more than %d MOK fingerprints; "
							     "the rest is ignored", MAX_LINES));
	}
	return 0;
}

static void free_strings(char **v, size_t n)
{
	for (size_t k = 0; k < n; k++)
		free(v[k]);
	free(v);
}

void cs_request_free(struct cs_request *r)
{
	free(r->client_version);
	free(r->kernel_release);
	free(r->arch);
	free(r->kernel_build_id);
	free_strings(r->argv, r->argc);
	free_strings(r->locale, r->nlocale);
	free_strings(r->mok, r->nmok);
	free_strings(r->notes, r->nnotes);
	*r = (struct cs_request){ 0 };
}

/* ---- request, client side ---- */

static int add_text(struct zip_writer *w, const char *name, const char *text)
{
	return zip_writer_add(w, name, text, strlen(text), 0644);
}

/* KEY=VALUE\n for each locale variable set in the environment whose
 * value the server would accept anyway. */
static char *locale_text(void)
{
	struct strbuf sb;
	sb_init(&sb);
	for (size_t k = 0; k < sizeof locale_keys / sizeof *locale_keys; k++) {
		const char *v = getenv(locale_keys[k]);
		if (v && cs_locale_value_ok(v))
			sb_printf(&sb, "%s=%s\n", locale_keys[k], v);
	}
	return sb_detach(&sb);
}

static bool request_args_ok(const char *kernel_release, const char *arch, const char *build_id,
			    char *const *argv, size_t argc, char *const *mok, size_t nmok)
{
	if (!cs_kernel_release_ok(kernel_release) || (arch && !arch_ok(arch))
	    || (build_id && !build_id_ok_n(build_id, strlen(build_id))))
		return false;
	for (size_t k = 0; k < argc; k++)
		if (!argv[k])
			return false;
	for (size_t k = 0; mok && k < nmok; k++)
		if (!cs_mok_fingerprint_ok(mok[k]))
			return false;
	return true;
}

int cs_request_build(const char *kernel_release, const char *arch,
		     const char *build_id, char *const *argv, size_t argc,
		     const struct cs_file *files, size_t nfiles,
		     char *const *mok, size_t nmok,
		     unsigned char **zip, size_t *ziplen)
{
	*zip = NULL;
	*ziplen = 0;
	if (!request_args_ok(kernel_release, arch, build_id, argv, argc, mok, nmok))
		return -1;
	struct zip_writer *w = zip_writer_new();
	if (!w)
		return -1;

	int rc = add_text(w, "version", CS_PROTOCOL_VERSION);
	char *text = arch ? xasprintf("sysinfo: %s %s", kernel_release, arch)
			  : xasprintf("sysinfo: %s", kernel_release);
	rc |= add_text(w, "sysinfo", text);
	free(text);
	text = locale_text();
	rc |= add_text(w, "locale", text);
	free(text);
	for (size_t k = 0; rc == 0 && k < argc; k++) {
		char name[32];
		snprintf(name, sizeof name, "argv%zu", k + 1);
		rc |= add_text(w, name, argv[k]);
	}
	for (size_t k = 0; rc == 0 && k < nfiles; k++)
		rc |= zip_writer_add(w, files[k].name, files[k].data, files[k].size, 0644);
	if (rc == 0 && build_id)
		rc |= add_text(w, "kernel_build_id", build_id);
	if (rc == 0 && mok) {
		struct strbuf sb;
		sb_init(&sb);
		for (size_t k = 0; k < nmok; k++)
			sb_printf(&sb, "%s\n", mok[k]);
		rc |= zip_writer_add(w, "mok_fingerprints", sb.s, sb.len, 0644);
		sb_free(&sb);
	}
	if (rc) {
		zip_writer_abort(w);
		return -1;
	}
	return zip_writer_finish(w, zip, ziplen);
}

/* ---- response, client side ---- */

/* What the client's glob stap?????? matches at the top level. */
static bool is_tmpdir_name(const char *name, size_t len)
{
	return len == 10 && memcmp(name, "stap", 4) == 0;
}

static int parse_rc(const struct zip_entry *e, struct cs_response *r, char *err, size_t errlen)
{
	const char *s = (const char *)e->data;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	while (is_space(*end))
		end++;
	if (end == s || *end || errno || v < -2147483647 - 1 || v > 2147483647
	    || strlen(s) != e->size) {
		char *q = quoted(s, e->size);
		set_err(err, errlen, "the server's rc is not an integer: '%s'", q);
		free(q);
		return -1;
	}
	r->has_rc = true;
	r->rc = (int)v;
	return 0;
}

static char *text_of(const struct zip_entry *e, size_t *len)
{
	*len = e ? e->size : 0;
	char *s = xmalloc(*len + 1);
	if (e)
		memcpy(s, e->data, e->size);
	s[*len] = 0;
	return s;
}

/* The one stap?????? directory (its name in *dir, *dirlen bytes), or none. */
static int find_tmpdir(const struct zip_archive *z, const char **dir, size_t *dirlen,
		       char *err, size_t errlen)
{
	*dir = NULL;
	*dirlen = 0;
	for (size_t k = 0; k < z->n; k++) {
		const char *name = z->e[k].name;
		size_t len = strcspn(name, "/");
		if (!is_tmpdir_name(name, len))
			continue;
		if (*dir && memcmp(*dir, name, len) != 0)
			return set_err(err, errlen, "Incorrect number of files in server response");
		*dir = name;
		*dirlen = len;
	}
	return 0;
}

/* The one *.ko directly inside the stap?????? directory, or none. */
static int find_module(const struct zip_archive *z, const char *dir, size_t dirlen,
		       const struct zip_entry **module, char *err, size_t errlen)
{
	*module = NULL;
	for (size_t k = 0; dir && k < z->n; k++) {
		const struct zip_entry *e = &z->e[k];
		if (e->is_dir || strlen(e->name) <= dirlen + 1
		    || memcmp(e->name, dir, dirlen) != 0 || e->name[dirlen] != '/')
			continue;
		const char *base = e->name + dirlen + 1;
		if (strchr(base, '/') || base[0] == '.')
			continue;
		size_t blen = strlen(base);
		if (blen <= 3 || strcmp(base + blen - 3, ".ko") != 0)
			continue;
		if (*module)
			return set_err(err, errlen, "Incorrect number of modules in server response");
		*module = e;
	}
	return 0;
}

int cs_response_parse(const struct zip_archive *z, struct cs_response *r,
		      char *err, size_t errlen)
{
	*r = (struct cs_response){ 0 };
	const struct zip_entry *e = file_entry(z, "version");
	r->server_version = e ? cs_version_from_file((const char *)e->data, e->size)
			      : xstrdup("1.0");
	r->out = text_of(file_entry(z, "stdout"), &r->outlen);
	r->err = text_of(file_entry(z, "stderr"), &r->errlen);
	r->mok_cert = file_entry(z, "signing_key.x509");

	const char *dir;
	size_t dirlen;
	if (((e = file_entry(z, "rc")) && parse_rc(e, r, err, errlen))
	    || find_tmpdir(z, &dir, &dirlen, err, errlen)
	    || find_module(z, dir, dirlen, &r->module, err, errlen)) {
		cs_response_free(r);
		return -1;
	}
	if (r->module) {
		char *sgn = xasprintf("%s.sgn", r->module->name);
		r->signature = file_entry(z, sgn);
		free(sgn);
	}
	return 0;
}

void cs_response_free(struct cs_response *r)
{
	free(r->server_version);
	free(r->out);
	free(r->err);
	*r = (struct cs_response){ 0 };
}
