/* Pass 3: C code for the kernel module, from the elaborated program. */
#ifndef STAP_EMIT_H
#define STAP_EMIT_H

#include <stdbool.h>

#include "elab.h"

/* Write the module's C source into out.  Returns false (with errors
 * reported) for constructs this translator cannot generate yet. */
bool emit_module(struct program *prog, const char *module_name, struct strbuf *out);

/* ---- shared between emit.c and emit_code.c ---- */

/* One body being generated: a probe handler or a function. */
struct unit {
	struct program *prog;
	struct strbuf decls;        /* fields of its locals struct */
	struct strbuf code;         /* statements */
	int ntemps;
	int nlabels;
	int indent;
	int loop;                   /* label number of the innermost loop */
	const char *errlabel;       /* where a script error goes: catch or out */
	struct functiondecl *func;  /* NULL in a probe */
	struct derived_probe *probe;
	struct ptrvec entries;      /* @entry(...) operands of a return probe */
	bool uses_regex;            /* needs the regex scratch in the context */
	bool ok;
};

void emit_body(struct unit *u, const struct stmt *body);
const char *emit_condition(struct unit *u, const struct expr *cond);
/* The entry half of a return probe: its @entry values into `d->eK`. */
void emit_entry_values(struct unit *u);
const char *c_type(enum exp_type t);
char *c_function(const struct functiondecl *f);    /* caller frees */
void c_string_literal(struct strbuf *sb, const char *s, size_t len);

#endif
