/* libFuzzer (and AFL++) target for the translator's front end: the fuzz
 * input is a script; it goes through pass 1 (lex, preprocess, parse) and,
 * when that succeeds, pass 2 (library, probes, resolution, types) in
 * process, exactly as `stap -p2 -r 6.1.0-56-amd64` would run them.
 *
 * Leading comment lines of the corpus's own header format steer options,
 * so seeds from tests/corpus keep their meaning and the fuzzer can reach
 * option-dependent code:
 *   # args: a b c     script arguments for $1 @1 $# @# (default: see below)
 *   # flags: -g -u -v --unprivileged --privilege=L --compatible=V
 *
 * Environment:
 *   STAP_FUZZ_TAPSET=DIR   tapset library root (default: the checkout's)
 *   STAP_FUZZ_NO_TAPSETS=1 pass 2 without the library (much faster; the
 *                          library's macros are still loaded)
 *   STAP_FUZZ_RELOAD_MACROS=1  lex and parse the library's *.stpm files for
 *                          every input, as stap does (default: once; that
 *                          took 70% of the time of a run without library)
 *   STAP_FUZZ_VERBOSE=1    let diagnostics and the -p2 listing through
 *                          (for looking at one input; never while fuzzing)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "elab.h"
#include "elaborate.h"
#include "session.h"
#include "util.h"

#ifndef FUZZ_TAPSET_DIR
#define FUZZ_TAPSET_DIR "tapset"
#endif

enum {
	MAX_ARGS = 8,          /* script arguments taken from "# args:" */
	MAX_HEADER = 512,      /* bytes of one header line that are looked at */
};

static FILE *sink;              /* /dev/null, or stderr when verbose */
/* The target kernel's facts, read once: its .config has 10,000 lines and
 * reading and sorting it for every input took about half the run time.
 * Pass 1 and 2 only read these, so every session borrows them. */
static struct kernel_info kernel;
/* Owner of the library macros when they are read once: their tokens and
 * trees live in its arena; sessions get copies of the vector of pointers.
 * Macros and tokens are not changed after definition. */
static struct session macro_home;
static bool reload_macros;
static const char *tapset_dir;
static bool no_tapsets;

/* Used when the input has no "# args:" line: a number, a word, and an
 * expression, so $1, @2 and $3 all lex something of their own. */
static char *default_args[] = { "42", "hello", "1 + 2" };

/* Options of one run, read from the input's header lines. */
struct run_options {
	char line[MAX_HEADER + 1];  /* copy of the "# args:" line, cut in words */
	char *args[MAX_ARGS];
	int nargs;
	bool have_args;
	bool guru, unoptimized, unprivileged;
	int verbose;
	char compat[16];
};

static void read_args(struct run_options *o, const char *p, size_t n)
{
	if (n > MAX_HEADER)
		n = MAX_HEADER;
	memcpy(o->line, p, n);
	o->line[n] = '\0';
	o->have_args = true;
	o->nargs = 0;
	for (char *w = strtok(o->line, " \t"); w && o->nargs < MAX_ARGS;
	     w = strtok(NULL, " \t"))
		o->args[o->nargs++] = w;
}

static void read_flags(struct run_options *o, const char *p, size_t n)
{
	char buf[MAX_HEADER + 1];
	if (n > MAX_HEADER)
		n = MAX_HEADER;
	memcpy(buf, p, n);
	buf[n] = '\0';
	for (char *w = strtok(buf, " \t"); w; w = strtok(NULL, " \t")) {
		if (!strcmp(w, "-g"))
			o->guru = true;
		else if (!strcmp(w, "-u"))
			o->unoptimized = true;
		else if (!strcmp(w, "-v"))
			o->verbose++;
		else if (!strcmp(w, "--unprivileged") || !strcmp(w, "--privilege=stapusr"))
			o->unprivileged = true;
		else if (!strncmp(w, "--compatible=", 13))
			snprintf(o->compat, sizeof o->compat, "%s", w + 13);
	}
}

/* Scan the leading "# args:" / "# flags:" lines of text. */
static void read_header(struct run_options *o, const char *text)
{
	memset(o, 0, sizeof *o);
	const char *p = text;
	for (;;) {
		size_t n = strcspn(p, "\n");
		if (!strncmp(p, "# args:", 7))
			read_args(o, p + 7, n - 7);
		else if (!strncmp(p, "# flags:", 8))
			read_flags(o, p + 8, n - 8);
		else
			break;
		if (!p[n])
			break;
		p += n + 1;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	bool verbose = getenv("STAP_FUZZ_VERBOSE") && *getenv("STAP_FUZZ_VERBOSE");
	const char *env = getenv("STAP_FUZZ_TAPSET");
	tapset_dir = env && *env ? env : FUZZ_TAPSET_DIR;
	env = getenv("STAP_FUZZ_NO_TAPSETS");
	no_tapsets = env && *env && strcmp(env, "0");
	env = getenv("STAP_FUZZ_RELOAD_MACROS");
	reload_macros = env && *env && strcmp(env, "0");
	if (verbose) {
		sink = stderr;
	} else {
		sink = fopen("/dev/null", "w");
		if (!sink) {
			perror("fuzz_front: /dev/null");
			exit(1);
		}
		/* the -p2 listing goes to stdout; libFuzzer reports on stderr */
		if (!freopen("/dev/null", "w", stdout)) {
			perror("fuzz_front: /dev/null");
			exit(1);
		}
	}

	struct session s;
	session_init(&s);
	s.diag.out = sink;
	session_set_kernel(&s, "6.1.0-56-amd64");
	kernel = s.kernel;
	memset(&s.kernel, 0, sizeof s.kernel);
	session_free(&s);

	if (!reload_macros) {
		session_init(&macro_home);
		macro_home.diag.out = sink;
		macro_home.tapset_dir = tapset_dir;
		macro_home.kernel = kernel;
		tapset_load_macros(&macro_home);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the translator reads NUL-terminated text; an embedded NUL simply
	 * ends the script early, as it would for a file read by stap */
	char *text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';

	struct run_options o;
	read_header(&o, text);

	struct session s;
	session_init(&s);
	s.diag.out = sink;
	s.tapset_dir = tapset_dir;
	s.no_tapsets = no_tapsets;
	if (o.have_args) {
		s.args = o.args;
		s.nargs = o.nargs;
	} else {
		s.args = default_args;
		s.nargs = (int)(sizeof default_args / sizeof *default_args);
	}
	s.guru = o.guru;
	s.unoptimized = o.unoptimized;
	s.verbose = o.verbose;
	if (o.unprivileged)
		s.privilege = "stapusr";
	if (o.compat[0])
		s.compat = o.compat;
	s.kernel = kernel;   /* a copy: per-session flags such as config_warned reset */

	struct source_file *src = session_add_text(&s, "<fuzz>", text, false);
	if (src) {
		if (reload_macros) {
			tapset_load_macros(&s);
		} else {
			for (size_t k = 0; k < macro_home.library_macros.n; k++)
				pv_push(&s.library_macros, macro_home.library_macros.v[k]);
		}
		struct stapfile *user = parse_file(&s, src);
		if (user && diag_errors(&s.diag) == 0)
			elaborate_and_report(&s, user, 2);
	}
	fflush(stdout);
	memset(&s.kernel, 0, sizeof s.kernel);  /* borrowed, not the session's */
	session_free(&s);
	free(text);
	return 0;
}

#ifdef FUZZ_STANDALONE
#include <fcntl.h>
#include <unistd.h>

/* A plain driver for builds without libFuzzer (AFL++ in file mode, or a
 * quick look at one input): run each file named on the command line, or
 * stdin when there is none. */
static int run_fd(int fd)
{
	size_t cap = 4096, n = 0;
	uint8_t *buf = xmalloc(cap);
	ssize_t got;
	while ((got = read(fd, buf + n, cap - n)) > 0) {
		n += (size_t)got;
		if (n == cap)
			buf = xrealloc(buf, cap *= 2);
	}
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	LLVMFuzzerInitialize(&argc, &argv);
#ifdef __AFL_LOOP
	while (__AFL_LOOP(1000))
		run_fd(0);
	return 0;
#else
	if (argc < 2)
		return run_fd(0);
	for (int k = 1; k < argc; k++) {
		int fd = open(argv[k], O_RDONLY);
		if (fd < 0) {
			perror(argv[k]);
			return 1;
		}
		run_fd(fd);
		close(fd);
	}
	return 0;
#endif
}
#endif
