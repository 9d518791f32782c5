/* mkzip: writes zip archives a well-behaved client never sends, for the
 * server's tests (libarchive directly, so no name is refused).
 *
 *   mkzip OUT SPEC...
 *     f:NAME=TEXT      a file with TEXT ("\n" is a newline)
 *     F:NAME=PATH      a file with the contents of PATH
 *     z:NAME=SIZE      a file of SIZE zero bytes (deflated: a "bomb")
 *     l:NAME=TARGET    a symbolic link
 *     h:NAME=TARGET    a hard link
 *     c:NAME           a character device (a file entry whose Unix mode
 *                      is patched to S_IFCHR afterwards: libarchive
 *                      will not write one)
 *     d:NAME           a directory
 * Exit status 0, or 1 with a message. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

static char *unescape(const char *s)
{
	struct strbuf sb;
	sb_init(&sb);
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == 'n') {
			sb_putc(&sb, '\n');
			s++;
		} else {
			sb_putc(&sb, *s);
		}
	}
	return sb_detach(&sb);
}

/* Central directory record of NAME: Unix host, mode S_IFCHR | 0644. */
static bool make_device(const char *path, const char *name)
{
	size_t len;
	unsigned char *z = (unsigned char *)read_file_bounded(path, 1u << 30, &len);
	size_t nl = strlen(name);
	bool done = false;
	for (size_t i = 0; z && i + 46 <= len; i++) {
		if (memcmp(z + i, "PK\1\2", 4) != 0)
			continue;
		size_t n = (size_t)z[i + 28] | (size_t)z[i + 29] << 8;
		if (n != nl || i + 46 + n > len || memcmp(z + i + 46, name, n) != 0)
			continue;
		uint32_t attr = (uint32_t)(S_IFCHR | 0644) << 16;
		z[i + 5] = 3;		/* made by: Unix */
		for (int b = 0; b < 4; b++)
			z[i + 38 + b] = (unsigned char)(attr >> (8 * b));
		done = true;
	}
	FILE *f = z && done ? fopen(path, "wb") : NULL;
	bool ok = f && fwrite(z, 1, len, f) == len;
	if (f)
		ok = fclose(f) == 0 && ok;
	if (!ok)
		fprintf(stderr, "mkzip: cannot make %s a device entry\n", name);
	free(z);
	return ok;
}

int main(int argc, char **argv)
{
	struct ptrvec devices = { 0 };
	progname = "mkzip";
	if (argc < 2) {
		fprintf(stderr, "usage: mkzip OUT SPEC...\n");
		return 1;
	}
	struct archive *a = archive_write_new();
	archive_write_set_format_zip(a);
	if (archive_write_open_filename(a, argv[1]) != ARCHIVE_OK) {
		fprintf(stderr, "mkzip: %s\n", archive_error_string(a));
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		char kind = argv[i][0];
		char *name = xstrdup(argv[i] + 2), *value = strchr(name, '=');
		if (value)
			*value++ = '\0';
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, name);
		archive_entry_set_perm(e, 0644);
		char *data = NULL;
		size_t len = 0;
		switch (kind) {
		case 'f': data = unescape(value ? value : ""); len = strlen(data); break;
		case 'F': data = read_file_bounded(value, 1u << 30, &len); break;
		case 'z': len = strtoull(value, NULL, 0); data = xcalloc(1, len + 1); break;
		case 'l': archive_entry_set_filetype(e, AE_IFLNK); archive_entry_set_symlink(e, value); break;
		case 'h': archive_entry_set_hardlink(e, value); break;
		case 'c': data = xstrdup("x"); len = 1; pv_push(&devices, xstrdup(name)); break;
		case 'd': archive_entry_set_filetype(e, AE_IFDIR); archive_entry_set_perm(e, 0755); break;
		default: fprintf(stderr, "mkzip: unknown spec %s\n", argv[i]); return 1;
		}
		if (kind == 'f' || kind == 'F' || kind == 'z' || kind == 'c') {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_size(e, (la_int64_t)len);
		}
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    (len && archive_write_data(a, data, len) != (la_ssize_t)len)) {
			fprintf(stderr, "mkzip: %s: %s\n", name, archive_error_string(a));
			return 1;
		}
		archive_entry_free(e);
		free(data);
		free(name);
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		fprintf(stderr, "mkzip: %s\n", archive_error_string(a));
		return 1;
	}
	archive_write_free(a);
	for (size_t i = 0; i < devices.n; i++)
		if (!make_device(argv[1], devices.v[i]))
			return 1;
	return 0;
}
