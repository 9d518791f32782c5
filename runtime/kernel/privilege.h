/* Privilege inside a module: the level it was built for, the check of the
 * loader's credentials at STP_START, and the run-time limits of a stapusr
 * module (docs/language.md, "Privilege levels").
 *
 * The generated code defines STP_PRIVILEGE (2 stapusr, 4 stapsys, 8
 * stapdev: SystemTap's bits, also in the module's .stap_privilege section)
 * before it includes the runtime.  The translator keeps a stapusr script
 * away from kernel memory and from untagged embedded C; what it cannot
 * decide (which task is running when a probe fires) is checked here:
 *   - ownership is ptrace's rule, not SystemTap's euid-only test (F14):
 *     real, effective and saved uids and gids all the loader's, and the
 *     task dumpable; a kernel thread belongs to nobody;
 *   - a myproc-unprivileged tapset function runs only in such a task;
 *   - memory readers touch only user addresses of such a task.
 *
 * The pure parts compile in user space for the unit tests (STP_USER_TEST). */
#ifndef STP_PRIVILEGE_H
#define STP_PRIVILEGE_H

#include "stp_types.h"

#include "privilege_levels.h"

/* The credentials of a task, as global ids, and what ptrace looks at. */
struct stp_task_ids {
	uint32_t uid, euid, suid;
	uint32_t gid, egid, sgid;
	bool user_mm;          /* has an mm and is no kernel thread */
	bool dumpable;         /* get_dumpable(mm) == SUID_DUMP_USER */
};

/*
 * ptrace's rule for a caller without capabilities (__ptrace_may_access):
 * every uid and gid of the task is the loader's, and the task is dumpable.
 * A set-uid or set-gid program someone else started, or one that changed
 * ids and so lost its dumpability, is not the loader's, even when its
 * euid is (SystemTap's euid-only test would say it is).
 */
static inline bool stp_ids_are_loaders(const struct stp_task_ids *t, uint32_t uid,
				       uint32_t gid)
{
	return t->user_mm && t->dumpable &&
	       t->uid == uid && t->euid == uid && t->suid == uid &&
	       t->gid == gid && t->egid == gid && t->sgid == gid;
}

/* [addr, addr + size) lies below limit (TASK_SIZE), without overflow. */
static inline bool stp_range_below(uint64_t addr, uint64_t size, uint64_t limit)
{
	return size <= limit && addr <= limit - size;
}

#ifndef STP_USER_TEST

#include <linux/cred.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/coredump.h>
#include <linux/uidgid.h>
#include "transport.h"

#ifndef STP_PRIVILEGE
#error "the generated module defines STP_PRIVILEGE before it includes the runtime"
#endif

/* A module built for stapusr alone: the run-time limits apply.  A
 * constant, so the checks vanish from stapsys and stapdev modules. */
#define STP_UNPRIVILEGED (!stp_pr_contains(STP_PRIVILEGE, STP_PR_STAPDEV) && \
			  !stp_pr_contains(STP_PRIVILEGE, STP_PR_STAPSYS))

/* The ids of the current task (which a probe interrupted, perhaps). */
static inline void stp_current_ids(struct stp_task_ids *ids)
{
	const struct cred *cred;
	struct mm_struct *mm = current->mm;

	/* the objective credentials, the ones ptrace compares */
	rcu_read_lock();
	cred = __task_cred(current);
	ids->uid = __kuid_val(cred->uid);
	ids->euid = __kuid_val(cred->euid);
	ids->suid = __kuid_val(cred->suid);
	ids->gid = __kgid_val(cred->gid);
	ids->egid = __kgid_val(cred->egid);
	ids->sgid = __kgid_val(cred->sgid);
	rcu_read_unlock();
	ids->user_mm = mm && !(current->flags & PF_KTHREAD);
	ids->dumpable = ids->user_mm && get_dumpable(mm) == SUID_DUMP_USER;
}

/* Does the current task belong to the user who loaded the module?  The
 * name is SystemTap's; tapset C (is_myproc()) calls it. */
static inline int is_myproc(void)
{
	struct stp_task_ids ids;

	stp_current_ids(&ids);
	return stp_ids_are_loaders(&ids, __kuid_val(stp_loader_uid()),
				   __kgid_val(stp_loader_gid()));
}

/* Before a myproc-unprivileged function runs in a stapusr module: false,
 * with the script error set, when the current task is not the loader's.
 * An ordinary error, as in SystemTap: a script's try/catch may catch it. */
#define stp_myproc_ok(c)                                                     \
	(!STP_UNPRIVILEGED || is_myproc() ||                                 \
	 (snprintf((c)->error_buffer, MAXSTRINGLEN,                          \
		   "myproc-unprivileged tapset function called without "     \
		   "is_myproc checking for pid %d (euid %d)",                \
		   current->tgid,                                            \
		   from_kuid_munged(current_user_ns(), current_euid())),     \
	  (c)->last_error = (c)->error_buffer, 0))

/* SystemTap's spelling, for tapset C that asserts by itself. */
#define assert_is_myproc()                                                   \
	do {                                                                 \
		if (!stp_myproc_ok(CONTEXT))                                 \
			goto out;                                            \
	} while (0)

/*
 * May a reader touch [addr, addr + size)?  Always in stapsys and stapdev
 * modules; in a stapusr module only user addresses of a task of the loader
 * (SystemTap checks the same for user and kernel readers, so kernel memory
 * stays out of reach whatever a tapset function passes).
 */
static inline bool stp_mem_access_ok(unsigned long addr, size_t size)
{
	if (!STP_UNPRIVILEGED)
		return true;
	return is_myproc() && stp_range_below(addr, size, TASK_SIZE);
}

/*
 * At STP_START, before anything is registered: the credentials staprun
 * (root) sent must contain the level the module was built for.  0 to go
 * on; otherwise the error has been reported and the start fails.
 */
static inline int stp_check_credentials(void)
{
	int have = stp_privilege_mask();

	if (stp_pr_contains(have, STP_PRIVILEGE))
		return 0;
	stp_error("Your privilege credentials (%s) are insufficient to run this module (%s required).",
		  stp_pr_name(have), stp_pr_name(STP_PRIVILEGE));
	return -EINVAL;
}

#endif /* !STP_USER_TEST */
#endif /* STP_PRIVILEGE_H */
