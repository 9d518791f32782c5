/* Who may load what (docs/privilege.md).  The mask values are SystemTap's,
 * frozen because modules carry them in their .stap_privilege section. */
#ifndef STAPRUN_PRIVILEGE_H
#define STAPRUN_PRIVILEGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* the masks, stp_pr_contains() and stp_pr_name(): shared with the
 * module's own check (its pure part builds in user space) */
#include "../kernel/privilege.h"

#define STP_PR_ALL (STP_PR_STAPUSR | STP_PR_STAPSYS | STP_PR_STAPDEV)

/* The stap groups' ids; have_* is false for a group the system lacks. */
struct stp_groups {
	gid_t usr, sys, dev;
	bool have_usr, have_sys, have_dev;
};

/* The stap groups of the group database (getgrnam). */
void stp_groups_lookup(struct stp_groups *g);

/* Credentials of a non-root caller whose real gid is gid and whose
 * supplementary groups are groups[0..n): stapdev implies stapsys implies
 * stapusr.  Pure: decided from the process's own ids, never from
 * /etc/group member lists (a user added but not logged in again has no
 * membership, as with SystemTap). */
int stp_credentials(const struct stp_groups *g, gid_t gid, const gid_t *groups, size_t n);

/* The level a module asks for, from its .stap_privilege section: absent
 * (len 0 and present false) means an old stapusr module (safe only because
 * it is signed); anything but a 4-byte 2, 4 or 8 means stapdev. */
int stp_required_from_section(bool present, const void *data, size_t len);

/* F8: a name a non-root caller may load: "stap_" then 1 to 50 letters,
 * digits or '_' (so that nobody can squat a kernel module's name). */
bool stp_modname_allowed(const char *name);

#endif
