/* Reading and editing a module image in memory (staprun -R). */
#ifndef STAPRUN_MODIMAGE_H
#define STAPRUN_MODIMAGE_H

#include <stddef.h>

/* Finds ELF64 section name in image; returns 0 and its file range, or -1
 * (not ELF64, truncated, or no such section). */
int stp_modimage_section(const char *image, size_t size, const char *name,
			 size_t *off, size_t *len);

/* -R: renames module old to a name of the same length ending in "_PID"
 * inside .gnu.linkonce.this_module; writes the new name (or old, when it
 * is too short, after a warning) to out.  0 or -1 with a message. */
int stp_modimage_rename(char *image, size_t size, const char *old, int pid,
			char *out, size_t cap, const char *prog);

#endif
