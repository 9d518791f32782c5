/* The module side of the transport to stapio: the control file .cmd, the
 * per-CPU relay files trace0..N-1 under /proc/systemtap/<module>/, and the
 * session life cycle.  Contract: docs/runtime-transport.md.
 */
#ifndef STP_TRANSPORT_H
#define STP_TRANSPORT_H

#include <linux/types.h>
#include <linux/atomic.h>
#include <linux/uidgid.h>
#include "transport_msgs.h"

/* provided by the generated code */
int stp_probes_start(void);   /* register probes and run begin probes; 0 or -errno */
void stp_probes_stop(void);   /* unregister probes, then run end (or error) probes */
extern const char stp_module_name[];
/* provided by the transport */
void stp_print(const char *buf, size_t len);   /* append to this CPU's buffer */
void stp_print_flush(void);                    /* flush this CPU's buffer */
/* Whether this CPU's buffer holds output (set by stp_print, cleared by a
 * flush): handlers that print nothing skip the flush call. */
DECLARE_PER_CPU(bool, stp_print_dirty);
void stp_warn(const char *fmt, ...);           /* "WARNING: ..." via OOB */
void stp_error(const char *fmt, ...);          /* "ERROR: ...", then exit */
void stp_request_exit(void);                   /* script exit() */
void stp_system(const char *cmd);              /* script system() */
enum stp_session_state { STP_SESSION_STARTING, STP_SESSION_RUNNING, STP_SESSION_ERROR,
                         STP_SESSION_STOPPING, STP_SESSION_STOPPED };
/* the state, read inline: every probe handler asks first */
extern atomic_t stp_session_state_v;
static inline int stp_session_state(void)
{
	return atomic_read(&stp_session_state_v);
}

/*
 * More of the transport's face.
 *
 * stp_print() and stp_print_flush() keep one probe's output in one record
 * only when the caller does not migrate between CPUs in between, so
 * generated handlers run with preemption disabled (as kprobe and timer
 * handlers are anyway).  Both are safe in any context; output that cannot
 * be buffered is counted as a transport failure and reported at exit.
 */
void stp_print_flush_all(void);		/* every CPU's buffer (shutdown) */
/* Give the reader up to max_ms to take what is in the relay buffers (before
 * the final exit message: a 4.x stapio stops reading when it gets it). */
void stp_relay_wait_drained(unsigned int max_ms);
void stp_relay_wake_readers(void);	/* readers with data waiting (timer) */
int stp_target_pid(void);		/* pid from STP_START (target()) */
kuid_t stp_loader_uid(void);		/* real uid/gid of init_module's caller */
kgid_t stp_loader_gid(void);
int stp_privilege_mask(void);		/* from STP_PRIVILEGE_CREDENTIALS, 0 if none */

/* Shared between module.c, transport.c and relay.c; not for generated code. */
extern unsigned int stp_bufsize_mb;	/* module parameter _stp_bufsize */
extern atomic_t stp_transport_failures;

int stp_transport_init(size_t bytes_per_cpu); /* files; queues STP_TRANSPORT */
void stp_transport_exit(void);
struct proc_dir_entry;
int stp_relay_init(struct proc_dir_entry *dir, size_t bytes_per_cpu);
void stp_relay_exit(void);
void stp_relay_set_overwrite(bool overwrite);
void stp_session_cleanup(void);	/* stop probes once (module unload) */

#endif /* STP_TRANSPORT_H */
