/* libFuzzer target for the compile-server protocol's archives: the input
 * is the bytes a peer sends (a request or a response zip).  It goes
 * through zip_read_mem and, when that accepts it, cs_request_parse and
 * cs_response_parse; an accepted archive is also written again with
 * zip_writer and must read back the same (names, types, data).
 *
 * Mutated zips rarely get past the CRCs, so the same input is also read
 * as a plain list of entries, "NAME\nCONTENT" records separated by NUL
 * bytes (a NAME ending in '/' is a directory), which goes to the two
 * parsers directly: that is how they see every kind of content.
 *
 * Besides sanitizer reports, the target aborts when an accepted archive
 * breaks a promise of zip.h (an unsafe name, a missing NUL after the
 * data, a size over the limits) or does not survive the round trip. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csproto.h"
#include "util.h"
#include "zip.h"

/* Small limits keep each run fast; the code paths are the same. */
static const struct zip_limits limits = {
	.max_entries = 200,
	.max_total = 4 << 20,
	.max_entry = 1 << 20,
};

#define CHECK(cond) do { \
		if (!(cond)) { \
			fprintf(stderr, "fuzz_proto: %s:%d: check failed: %s\n", \
				__FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

static void check_promises(const struct zip_archive *z)
{
	size_t total = 0;
	CHECK(z->n <= limits.max_entries);
	for (size_t k = 0; k < z->n; k++) {
		const struct zip_entry *e = &z->e[k];
		CHECK(zip_name_ok(e->name));
		CHECK(zip_find(z, e->name) == e);       /* no duplicates */
		CHECK(e->mode <= 0777);
		if (e->is_dir) {
			CHECK(e->data == NULL && e->size == 0);
			continue;
		}
		CHECK(e->data != NULL && e->data[e->size] == 0);
		CHECK(e->size <= limits.max_entry);
		total += e->size;
	}
	CHECK(total <= limits.max_total);
}

/* Writes z again and reads it back: the same entries in the same order. */
static void round_trip(const struct zip_archive *z)
{
	struct zip_writer *w = zip_writer_new();
	CHECK(w != NULL);
	for (size_t k = 0; k < z->n; k++) {
		const struct zip_entry *e = &z->e[k];
		int rc = e->is_dir ? zip_writer_add_dir(w, e->name)
				   : zip_writer_add(w, e->name, e->data, e->size, e->mode);
		CHECK(rc == 0);
	}
	unsigned char *buf;
	size_t len;
	CHECK(zip_writer_finish(w, &buf, &len) == 0);
	struct zip_archive back;
	char err[256];
	/* a file of zeros compresses beyond the bomb ratio: not a failure */
	if (zip_read_mem(buf, len, &limits, &back, err, sizeof err) != 0) {
		CHECK(strstr(err, "compression ratio") != NULL);
		free(buf);
		return;
	}
	CHECK(back.n == z->n);
	for (size_t k = 0; k < z->n; k++) {
		const struct zip_entry *a = &z->e[k], *b = &back.e[k];
		CHECK(strcmp(a->name, b->name) == 0);
		CHECK(a->is_dir == b->is_dir);
		CHECK(a->size == b->size);
		CHECK(a->size == 0 || memcmp(a->data, b->data, a->size) == 0);
	}
	zip_archive_free(&back);
	free(buf);
}

static void parse_both(const struct zip_archive *z)
{
	char err[256];
	struct cs_request req;
	if (cs_request_parse(z, &req, err, sizeof err) == 0) {
		CHECK(req.client_version != NULL);
		CHECK(!req.kernel_release || cs_kernel_release_ok(req.kernel_release));
		for (size_t k = 0; k < req.nlocale; k++)
			CHECK(strchr(req.locale[k], '=') != NULL);
		for (size_t k = 0; k < req.nmok; k++)
			CHECK(cs_mok_fingerprint_ok(req.mok[k]));
		for (size_t k = 0; k < req.nnotes; k++)
			CHECK(strncmp(req.notes[k], "Server: ", 8) == 0 && !strchr(req.notes[k], '\n'));
		cs_request_free(&req);
	} else {
		CHECK(err[0] != 0 && req.client_version == NULL);
	}
	struct cs_response resp;
	if (cs_response_parse(z, &resp, err, sizeof err) == 0) {
		CHECK(resp.server_version != NULL && resp.out != NULL && resp.err != NULL);
		CHECK(strlen(resp.out) <= resp.outlen);
		cs_response_free(&resp);
	} else {
		CHECK(err[0] != 0 && resp.server_version == NULL);
	}
}

/* The input as "NAME\nCONTENT" records separated by NUL bytes; records
 * with an unsafe or repeated name are skipped, as zip_read_mem would
 * refuse them. */
static void entries_from_records(const uint8_t *data, size_t size, struct zip_archive *z)
{
	*z = (struct zip_archive){ 0 };
	const char *p = (const char *)data, *end = p + size;
	while (p < end && z->n < limits.max_entries) {
		const char *stop = memchr(p, 0, (size_t)(end - p));
		if (!stop)
			stop = end;
		const char *nl = memchr(p, '\n', (size_t)(stop - p));
		const char *name_end = nl ? nl : stop;
		bool is_dir = name_end > p && name_end[-1] == '/';
		char *name = xstrndup(p, (size_t)(name_end - p - is_dir));
		if (zip_name_ok(name) && !zip_find(z, name)) {
			z->e = xrealloc(z->e, (z->n + 1) * sizeof *z->e);
			struct zip_entry *e = &z->e[z->n++];
			*e = (struct zip_entry){ .name = name, .is_dir = is_dir };
			if (!is_dir) {
				const char *c = nl ? nl + 1 : stop;
				e->size = (size_t)(stop - c);
				e->data = (unsigned char *)xstrndup(c, e->size);
			}
		} else {
			free(name);
		}
		p = stop + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the version reader sees raw peer bytes */
	char *v = cs_version_from_file((const char *)data, size);
	CHECK(cs_version_compare(v, v) == 0);
	free(v);

	struct zip_archive z;
	entries_from_records(data, size, &z);
	parse_both(&z);
	zip_archive_free(&z);

	char err[256] = "";
	if (zip_read_mem(data, size, &limits, &z, err, sizeof err) != 0) {
		CHECK(err[0] != 0 && !strchr(err, '\n'));
		CHECK(z.n == 0 && z.e == NULL);
		return 0;
	}
	check_promises(&z);
	parse_both(&z);
	round_trip(&z);
	zip_archive_free(&z);
	return 0;
}

#ifdef FUZZ_STANDALONE
#include <fcntl.h>
#include <unistd.h>

/* Without libFuzzer: run each file named on the command line once. */
static int run_file(const char *path)
{
	size_t len;
	char *buf = read_file_bounded(path, 64 << 20, &len);
	if (!buf) {
		perror(path);
		return 1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 0;
	for (int k = 1; k < argc; k++)
		rc |= run_file(argv[k]);
	return rc;
}
#endif
