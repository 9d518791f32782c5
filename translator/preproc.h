/* The two preprocessor stages that run between lexer and parser:
 * 1. @define macros (file-local, or library macros from *.stpm files),
 * 2. conditionals %( COND %? tokens [%: tokens] %). */
#ifndef STAP_PREPROC_H
#define STAP_PREPROC_H

#include "token.h"

struct session;

struct macro {
	const char *name;              /* without '@' */
	const char **params;           /* parameter names, without '@' */
	int nparams;
	bool has_parens;               /* @define m() vs @define m */
	bool broken;                   /* its definition had errors: expands to nothing */
	struct token **body;
	size_t nbody;
	struct srcpos pos;
};

/* Expand macros and conditionals of one file's tokens into `out`.
 * Macro definitions in a *.stpm file go to the session's library. */
void preprocess(struct session *s, const struct source_file *f,
		struct tokvec *in, struct tokvec *out);

#endif
