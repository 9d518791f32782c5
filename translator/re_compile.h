/* Compiling `=~` patterns (regex.c) for the runtime's Pike VM; the
 * instruction set is the runtime's own (runtime/kernel/regex.h). */
#ifndef STAP_RE_COMPILE_H
#define STAP_RE_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef STP_USER_TEST
#define STP_USER_TEST 1
#endif
#include "../runtime/kernel/regex.h"

struct re_inst {
	int op, arg, x, y;
	bool has_cls;
	uint8_t cls[32];
};

struct re_prog {
	struct re_inst *v;   /* heap, STP_RE_MAX_INSTS entries */
	int n;
	int ngroups;         /* group 0 included */
};

/* false with *err set when the pattern is invalid or too large */
bool regex_compile(const char *pattern, size_t len, struct re_prog *out, const char **err);

#endif
