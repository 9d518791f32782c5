/* Pass 4: kbuild of the generated module. */
#ifndef STAP_KBUILD_H
#define STAP_KBUILD_H

struct session;

/* Build module `name` from its C source with the runtime's files against
 * the session's kernel tree; the .ko goes to out_dir.  Returns its path
 * (caller frees) or NULL with the reason printed. */
char *kbuild_module(struct session *s, const char *name, const char *source,
		    const char *runtime_dir, const char *out_dir);

#endif
