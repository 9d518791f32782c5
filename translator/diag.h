/* Source files, positions and diagnostics.
 *
 * Every token and tree node carries a srcpos.  Errors are collected (a run
 * reports all of them) and printed the way SystemTap users know them:
 *
 *   parse error: expected ')'
 *            at: operator '}' at foo.stp:3:7
 *        source:   if (x { ...
 *                        ^
 */
#ifndef STAP_DIAG_H
#define STAP_DIAG_H

#include <stdbool.h>
#include <stdio.h>

struct source_file {
	char *name;         /* as given on the command line or tapset path */
	char *text;         /* whole contents, NUL-terminated, owned */
	size_t len;
	bool privileged;    /* tapset file: may use %{ %} and private */
	bool is_macro_lib;  /* *.stpm: library macros only */
	int index;          /* order of loading; 0 = user script */
};

struct srcpos {
	const struct source_file *file;  /* NULL for synthesised code */
	int line, col;                   /* 1-based */
};

enum diag_kind { DIAG_PARSE, DIAG_SEMANTIC, DIAG_WARNING };

struct diag {
	FILE *out;          /* where messages go (stderr by default) */
	int parse_errors;
	int semantic_errors;
	int warnings;
	int limit;          /* stop printing after this many errors; 0 = no limit */
	bool suppress;      /* count but print nothing (used by @defined probes) */
	struct diag_held *held; /* while holding: messages to print sorted */
	size_t nheld, capheld;
	bool holding;
	bool note_next;     /* the next message continues the previous one */
};

/* Hold messages and print them in source order at release: the lexer and
 * preprocessor find some errors before the parser reaches earlier ones. */
void diag_hold(struct diag *d);
void diag_release(struct diag *d);

void diag_init(struct diag *d, FILE *out);

/* Report a problem.  `what` describes the token or node at pos
 * ("identifier 'x'", "operator ')'"); may be NULL. */
void diag_report(struct diag *d, enum diag_kind kind, struct srcpos pos,
		 const char *what, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Print just the "source:" line and caret for pos. */
void diag_show_source(FILE *out, struct srcpos pos, int indent);

int diag_errors(const struct diag *d);

#endif
