/* Pass 2: elaboration.  Loads the tapset library, resolves probe points,
 * aliases, functions and globals, infers types, and prints the result. */
#ifndef STAP_ELABORATE_H
#define STAP_ELABORATE_H

#include <stdbool.h>

struct session;
struct stapfile;

/* Run pass 2 on the parsed user script; print its result when pass == 2.
 * Returns false when there were errors (already reported). */
bool elaborate_and_report(struct session *s, struct stapfile *user, int pass);
/* Pass 5: execs staprun on ko (returns only on failure, false). */
bool run_staprun(struct session *s, const char *ko);

#endif
