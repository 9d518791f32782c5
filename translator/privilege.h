/* What each privilege level may put in a module (docs/language.md,
 * "Privilege levels"): the level names and their bits, and the rule pass 2
 * applies to every call of a function with embedded C.  The rule for probe
 * points is a column of the family table in probes.c.
 *
 * The bits are SystemTap's; modules carry them in .stap_privilege and
 * staprun sends them back as the loader's credentials, so they are frozen. */
#ifndef STAP_PRIVILEGE_H
#define STAP_PRIVILEGE_H

#include <stdbool.h>

#include "../runtime/kernel/privilege_levels.h"   /* the bits and names, one copy */

struct functiondecl;

enum {
	PR_NONE = STP_PR_NONE,
	PR_STAPUSR = STP_PR_STAPUSR,
	PR_STAPSYS = STP_PR_STAPSYS,
	PR_STAPDEV = STP_PR_STAPDEV,
};

/* The bit of "stapusr", "stapsys" or "stapdev"; PR_NONE for anything else. */
int privilege_from_name(const char *name);

/* SystemTap's display name of a mask: the highest level it contains,
 * "none" for 0, "unknown" for bits that name no level. */
static inline const char *privilege_name(int mask)
{
	return stp_pr_name(mask);
}

/* have contains every bit of need. */
static inline bool privilege_contains(int have, int need)
{
	return stp_pr_contains(have, need);
}

/* A level with neither stapsys nor stapdev: what the run-time checks of
 * stapusr modules and the stapusr-only rules apply to. */
bool privilege_is_unprivileged(int level);

/* Why a call may not be made. */
enum call_refusal {
	CALL_ALLOWED,
	CALL_NEEDS_PRIVILEGE,   /* untagged embedded C at stapusr: reported at
				   the function ("function may not be used when
				   --privilege=stapusr is specified") */
	CALL_NEEDS_GURU,        /* a guru function called from a script without
				   -g: reported at the call ("function may not
				   be used unless -g is specified") */
};

/* The rule for one piece of embedded C, from its pragmas: at stapusr it
 * must carry unprivileged or myproc-unprivileged; a guru one may be called
 * only from privileged code (a tapset file, or a script under -g) at any
 * level, stapdev included. */
enum call_refusal privilege_code_refusal(int level, const char *code, bool caller_privileged);

/* The rule for calling f: every piece of embedded C in it (its %{ %} body,
 * or %{ %} statements of a tapset function written in the language) must
 * pass; the first refusal is the answer. */
enum call_refusal privilege_call_refusal(int level, const struct functiondecl *f,
					 bool caller_privileged);

#endif
