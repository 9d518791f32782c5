/* Shared set-up for the translator unit tests: a session whose
 * diagnostics go to memory, and one-call wrappers around the passes. */
#ifndef STAP_TEST_HELPERS_H
#define STAP_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ast.h"
#include "elab.h"
#include "elaborate.h"
#include "format.h"
#include "preproc.h"
#include "session.h"
#include "token.h"
#include "util.h"

/* One test's world.  Strings the helpers return live in the session
 * arena and die with th_free(). */
struct th {
	struct session s;
	FILE *diag;          /* open_memstream behind s.diag.out */
	char *diag_buf;
	size_t diag_len;
};

/* Session with no tapset library, kernel from uname, messages captured. */
void th_init(struct th *t);
/* Same, but with the real tapset library of the source tree. */
void th_init_tapsets(struct th *t);
void th_free(struct th *t);

/* Everything printed to s.diag.out so far. */
const char *th_diag(struct th *t);
/* True if the captured messages contain `needle`. */
bool th_diag_has(struct th *t, const char *needle);
int th_errors(struct th *t);

/* Lex `text` (no preprocessing) into out. */
void th_lex(struct th *t, const char *text, struct tokvec *out);
/* Lex and preprocess `text` into out. */
void th_preprocess(struct th *t, const char *text, struct tokvec *out);
/* Preprocessed tokens joined by single spaces, EOF left out ("" if none). */
const char *th_pp_text(struct th *t, const char *text);

/* Parse a script. */
struct stapfile *th_parse(struct th *t, const char *text);
/* Canonical print of a script, or NULL when it had errors. */
const char *th_print(struct th *t, const char *text);
/* Canonical print of one expression, parsed as the statement of
 * "probe begin { EXPR }"; NULL on errors. */
const char *th_expr(struct th *t, const char *expr);
/* print -> parse -> print; true if the two prints are equal (both are
 * returned through first/second when non-NULL). */
bool th_round_trip(struct th *t, const char *text, const char **first, const char **second);

/* Pass 2 on a script; returns elaborate_and_report's verdict and puts the
 * -p2 listing (what went to stdout) in *listing when non-NULL. */
bool th_elab(struct th *t, const char *text, const char **listing);
/* Passes 2 to `pass` (2 or 3): *out gets what was printed (the listing, or
 * the module's C source). */
bool th_elab_pass(struct th *t, const char *text, int pass, const char **out);

/* Temporary kernel build tree with .config `config` and kernel.release
 * `release`; returns its path (heap) for session_set_kernel. */
char *th_make_kernel_dir(const char *release, const char *config);
void th_remove_kernel_dir(char *dir);

/* Assert that haystack contains needle, printing both otherwise. */
#define assert_contains(haystack, needle) \
	th_assert_contains((haystack), (needle), __FILE__, __LINE__)
void th_assert_contains(const char *haystack, const char *needle, const char *file, int line);
#define assert_diag(t, needle) assert_contains(th_diag(t), (needle))

#endif
