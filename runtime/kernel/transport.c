// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The control channel and the session life cycle.
 *
 * /proc/systemtap/<module>/.cmd carries one message per read() or write():
 * a u32 type then the payload (docs/runtime-transport.md).  Messages to
 * stapio wait on a ready list; they come from a fixed pool so that probe
 * context never allocates.  Probe context only queues; a 20 ms timer wakes
 * the reader (waking from inside an arbitrary probe could deadlock) and
 * sends STP_REQUEST_EXIT once after exit was requested.  Messages queued
 * while handling a write() wake the reader at once.
 *
 * Locking: stp_ctl.lock (raw, irq-safe) guards the ready and free lists
 * and is only ever tried from probe context; stp_ctl.write_mutex
 * serialises writers and the session transitions made from them.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/proc_fs.h>
#include <linux/namei.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/wait.h>
#include <linux/poll.h>
#include <linux/timer.h>
#include <linux/uaccess.h>
#include <linux/cred.h>
#include <linux/sched.h>
#include <linux/stdarg.h>
#include "transport.h"

#define STP_CTL_TIMER_INTERVAL ((HZ + 49) / 50)	/* 20 ms, at least a jiffy */
#define STP_CTL_TRYLOCK_SPINS 1000

struct stp_ctl_msg {
	struct list_head list;
	u32 type;
	u32 len;			/* payload bytes in data[] */
	bool pooled;			/* goes back to the free list when read */
	bool queued;			/* on the ready list (fixed slots) */
	char data[STP_CTL_PAYLOAD_MAX];
};

enum stp_fixed_slot {
	SLOT_START, SLOT_EXIT, SLOT_TRANSPORT, SLOT_REQUEST_EXIT,
	SLOT_FULL_WARN, SLOT_FULL_ERR, SLOT_FULL_SYSTEM, SLOT_COUNT
};

static const char *const stp_full_texts[] = {
	[SLOT_FULL_WARN] = "WARNING: too many pending (warning) messages\n",
	[SLOT_FULL_ERR] = "ERROR: too many pending (error) messages\n",
	[SLOT_FULL_SYSTEM] = "WARNING: too many pending (system) messages\n",
};

static struct {
	raw_spinlock_t lock;		/* ready and free lists */
	struct list_head ready;
	struct list_head free;
	struct stp_ctl_msg *pool;	/* STP_CTL_POOL_BUFFERS messages */
	struct stp_ctl_msg fixed[SLOT_COUNT];
	wait_queue_head_t wait;		/* readers of .cmd */
	struct mutex write_mutex;	/* writers; start/stop transitions */
	struct timer_list timer;
	atomic_t attached;		/* .cmd is open (exclusive) */
	struct proc_dir_entry *dir;	/* /proc/systemtap/<module> */
	struct proc_dir_entry *cmd;
} stp_ctl;

static struct {
	atomic_t exit_requested;	/* exit() or error: ask stapio to stop */
	atomic_t request_exit_sent;
	bool start_requested;		/* STP_START seen (write_mutex) */
	bool probes_started;		/* stp_probes_start() returned 0 */
	bool cleaned_up;		/* stp_probes_stop() done (write_mutex) */
	bool have_credentials;		/* root sent PRIVILEGE_CREDENTIALS */
	int privilege_mask;
	int target_pid;
	s64 tz_gmtoff;
	char tz_name[STP_TZ_NAME_LEN];
	int remote_id;
	char remote_uri[STP_REMOTE_URI_LEN];
	unsigned int relocations;	/* recorded, not used yet */
} stp_sess;

/* enum stp_session_state; read by every handler (transport.h) */
atomic_t stp_session_state_v = ATOMIC_INIT(STP_SESSION_STARTING);

int stp_target_pid(void)
{
	return stp_sess.target_pid;
}

int stp_privilege_mask(void)
{
	return stp_sess.privilege_mask;
}

/* --- the message pool ---------------------------------------------------- */

/* Takes the list lock from any context; gives up rather than deadlock when
 * a probe fires on this CPU while the lock is held. */
static bool stp_ctl_trylock(unsigned long *flags)
{
	int i;

	local_irq_save(*flags);
	for (i = 0; i < STP_CTL_TRYLOCK_SPINS; i++) {
		if (raw_spin_trylock(&stp_ctl.lock))
			return true;
		cpu_relax();
	}
	local_irq_restore(*flags);
	return false;
}

static void stp_ctl_unlock(unsigned long flags)
{
	raw_spin_unlock(&stp_ctl.lock);
	local_irq_restore(flags);
}

static struct stp_ctl_msg *stp_ctl_get(u32 type)
{
	struct stp_ctl_msg *m = NULL;
	unsigned long flags;

	if (!stp_ctl_trylock(&flags))
		return NULL;
	if (!list_empty(&stp_ctl.free)) {
		m = list_first_entry(&stp_ctl.free, struct stp_ctl_msg, list);
		list_del_init(&m->list);
	}
	stp_ctl_unlock(flags);
	if (m) {
		m->type = type;
		m->len = 0;
	}
	return m;
}

/* Queues m (pooled or fixed); a fixed slot already queued stays once. */
static bool stp_ctl_queue(struct stp_ctl_msg *m)
{
	unsigned long flags;

	if (!stp_ctl_trylock(&flags))
		return false;
	if (!m->queued) {
		m->queued = true;
		list_add_tail(&m->list, &stp_ctl.ready);
	}
	stp_ctl_unlock(flags);
	return true;
}

static void stp_ctl_release(struct stp_ctl_msg *m)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&stp_ctl.lock, flags);
	m->queued = false;
	if (m->pooled)
		list_add(&m->list, &stp_ctl.free);
	raw_spin_unlock_irqrestore(&stp_ctl.lock, flags);
}

static bool stp_ctl_pending(void)
{
	unsigned long flags;
	bool pending;

	raw_spin_lock_irqsave(&stp_ctl.lock, flags);
	pending = !list_empty(&stp_ctl.ready);
	raw_spin_unlock_irqrestore(&stp_ctl.lock, flags);
	return pending;
}

/* Queues a fixed-slot message with a payload; process context only. */
static void stp_ctl_send_fixed(enum stp_fixed_slot slot, const void *data,
			       u32 len)
{
	struct stp_ctl_msg *m = &stp_ctl.fixed[slot];

	if (m->queued)
		return;
	if (len)
		memcpy(m->data, data, len);
	m->len = len;
	stp_ctl_queue(m);
}

/* --- messages from probe context ----------------------------------------- */

static void stp_oob_vsend(const char *prefix, enum stp_fixed_slot full,
			  const char *fmt, va_list args)
{
	struct stp_ctl_msg *m = stp_ctl_get(STP_MSG(STP_IDX_OOB_DATA));
	size_t plen = strlen(prefix);

	if (!m) {
		stp_ctl_queue(&stp_ctl.fixed[full]);
		return;
	}
	memcpy(m->data, prefix, plen);
	m->len = plen + vscnprintf(m->data + plen, STP_CTL_PAYLOAD_MAX - plen,
				   fmt, args);
	/* vscnprintf kept a byte for its NUL, so the newline always fits */
	if (m->data[m->len - 1] != '\n')
		m->data[m->len++] = '\n';
	if (!stp_ctl_queue(m))
		stp_ctl_release(m);
}

void stp_warn(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	stp_oob_vsend("WARNING: ", SLOT_FULL_WARN, fmt, args);
	va_end(args);
}

void stp_request_exit(void)
{
	atomic_cmpxchg(&stp_session_state_v, STP_SESSION_RUNNING,
		       STP_SESSION_STOPPING);
	atomic_cmpxchg(&stp_session_state_v, STP_SESSION_STARTING,
		       STP_SESSION_STOPPING);
	atomic_set(&stp_sess.exit_requested, 1);
}

void stp_error(const char *fmt, ...)
{
	va_list args;
	int old;

	va_start(args, fmt);
	stp_oob_vsend("ERROR: ", SLOT_FULL_ERR, fmt, args);
	va_end(args);
	/* error probes instead of end probes, unless already shutting down */
	do {
		old = atomic_read(&stp_session_state_v);
		if (old != STP_SESSION_STARTING && old != STP_SESSION_RUNNING &&
		    old != STP_SESSION_STOPPING)
			break;
	} while (atomic_cmpxchg(&stp_session_state_v, old, STP_SESSION_ERROR) != old);
	atomic_set(&stp_sess.exit_requested, 1);
}

void stp_system(const char *cmd)
{
	struct stp_ctl_msg *m = stp_ctl_get(STP_MSG(STP_IDX_SYSTEM));
	size_t len = strnlen(cmd, STP_CTL_PAYLOAD_MAX);

	if (!m) {
		stp_ctl_queue(&stp_ctl.fixed[SLOT_FULL_SYSTEM]);
		return;
	}
	if (len >= STP_CTL_PAYLOAD_MAX) {
		stp_ctl_release(m);
		stp_warn("system() command too long (%zu bytes, limit %d)",
			 strlen(cmd), STP_CTL_PAYLOAD_MAX - 1);
		return;
	}
	memcpy(m->data, cmd, len + 1);
	m->len = len + 1;
	if (!stp_ctl_queue(m))
		stp_ctl_release(m);
}

/* --- the timer ------------------------------------------------------------ */

static void stp_ctl_timer_fn(struct timer_list *t)
{
	if (atomic_read(&stp_sess.exit_requested) && stp_sess.probes_started &&
	    !atomic_xchg(&stp_sess.request_exit_sent, 1))
		stp_ctl_queue(&stp_ctl.fixed[SLOT_REQUEST_EXIT]);
	if (stp_ctl_pending())
		wake_up_interruptible(&stp_ctl.wait);
	/* A wake-up lost between a flush and the reader's next poll costs at
	 * most one interval; a 4.x stapio polls with no timeout. */
	stp_relay_wake_readers();
	if (atomic_read(&stp_ctl.attached))
		mod_timer(&stp_ctl.timer, jiffies + STP_CTL_TIMER_INTERVAL);
}

/* --- session transitions (write_mutex held) ----------------------------- */

/* Stops probes once (end or error probes run inside stp_probes_stop),
 * flushes every print buffer, and reports transport failures. */
static void stp_session_cleanup_locked(void)
{
	int failures;

	if (stp_sess.cleaned_up)
		return;
	stp_sess.cleaned_up = true;
	if (stp_sess.probes_started) {
		atomic_cmpxchg(&stp_session_state_v, STP_SESSION_RUNNING,
			       STP_SESSION_STOPPING);
		atomic_cmpxchg(&stp_session_state_v, STP_SESSION_STARTING,
			       STP_SESSION_STOPPING);
		stp_probes_stop();
	}
	atomic_set(&stp_session_state_v, STP_SESSION_STOPPED);
	stp_print_flush_all();
	failures = atomic_read(&stp_transport_failures);
	if (failures)
		stp_warn("There were %d transport failures. Try stap -s to increase the buffer size from %u.",
			 failures, stp_bufsize_mb);
}

/* Cleans up, then answers STP_EXIT.  The reader first gets up to 500 ms
 * to take what is buffered: a 4.x stapio stops its reader threads as soon
 * as the answer arrives and drops what they have not read. */
static void stp_session_finish_locked(void)
{
	stp_session_cleanup_locked();
	stp_relay_wait_drained(500);
	stp_ctl_send_fixed(SLOT_EXIT, NULL, 0);
	wake_up_interruptible(&stp_ctl.wait);
}

void stp_session_cleanup(void)
{
	mutex_lock(&stp_ctl.write_mutex);
	stp_session_cleanup_locked();
	mutex_unlock(&stp_ctl.write_mutex);
}

static int stp_handle_start(const struct stp_msg_start *req)
{
	struct stp_msg_start reply;
	int rc;

	/* F11: only after staprun (root) has set the session up */
	if (!stp_sess.have_credentials)
		return -EPERM;
	if (stp_sess.start_requested)
		return 0;
	stp_sess.start_requested = true;
	stp_sess.target_pid = req->target;

	rc = stp_probes_start();
	if (rc == 0) {
		stp_sess.probes_started = true;
		atomic_cmpxchg(&stp_session_state_v, STP_SESSION_STARTING,
			       STP_SESSION_RUNNING);
	} else {
		atomic_set(&stp_session_state_v, STP_SESSION_ERROR);
		stp_sess.cleaned_up = true;	/* nothing registered to stop */
	}
	stp_print_flush_all();
	reply.target = req->target;
	reply.res = rc;
	stp_ctl_send_fixed(SLOT_START, &reply, sizeof(reply));
	wake_up_interruptible(&stp_ctl.wait);
	return 0;
}

/* RELOCATION, TZINFO, PRIVILEGE_CREDENTIALS, REMOTE_ID: root's set-up. */
static int stp_handle_root_only(unsigned int idx, const char *p, size_t len)
{
	if (!uid_eq(current_euid(), GLOBAL_ROOT_UID))
		return -EPERM;
	if (stp_sess.start_requested)
		return -EPERM;	/* F16: nothing changes once probes may run */

	switch (idx) {
	case STP_IDX_RELOCATION:
		if (len < STP_RELOCATION_LEGACY_LEN)
			return 1;
		stp_sess.relocations++;
		return 0;
	case STP_IDX_TZINFO: {
		const struct stp_msg_tzinfo *tz = (const void *)p;

		if (len < sizeof(*tz))
			return 1;
		stp_sess.tz_gmtoff = tz->tz_gmtoff;
		strscpy(stp_sess.tz_name, tz->tz_name, sizeof(stp_sess.tz_name));
		return 0;
	}
	case STP_IDX_PRIVILEGE_CREDENTIALS: {
		const struct stp_msg_privilege_credentials *pc = (const void *)p;

		if (len < sizeof(*pc))
			return 1;
		stp_sess.privilege_mask = pc->pc_group_mask;
		stp_sess.have_credentials = true;
		return 0;
	}
	case STP_IDX_REMOTE_ID: {
		const struct stp_msg_remote_id *r = (const void *)p;

		if (len < sizeof(*r))
			return 1;
		stp_sess.remote_id = r->remote_id;
		strscpy(stp_sess.remote_uri, r->remote_uri,
			sizeof(stp_sess.remote_uri));
		return 0;
	}
	}
	return -EINVAL;
}

/*
 * One message: returns 0 when handled, 1 when ignored (payload too short,
 * the caller then returns 0 as SystemTap does), or -errno.
 */
static int stp_ctl_dispatch(u32 type, const char *p, size_t len)
{
	unsigned int idx;

	if (type < STP_MSG_BASE || type - STP_MSG_BASE >= STP_MSG_LIMIT)
		return -EINVAL;
	idx = type - STP_MSG_BASE;

	switch (idx) {
	case STP_IDX_START:
		if (len < sizeof(struct stp_msg_start))
			return 1;
		return stp_handle_start((const void *)p);
	case STP_IDX_EXIT:
		stp_session_finish_locked();
		return 0;
	case STP_IDX_READY:
		return 0;
	case STP_IDX_BULK:
		return -EINVAL;		/* no bulk mode */
	case STP_IDX_RELOCATION:
	case STP_IDX_TZINFO:
	case STP_IDX_PRIVILEGE_CREDENTIALS:
	case STP_IDX_REMOTE_ID:
		return stp_handle_root_only(idx, p, len);
	case STP_IDX_NAMESPACES_PID:
		return len < sizeof(struct stp_msg_ns_pid) ? 1 : 0;
	case STP_IDX_MNT_NS_FDS:
		return len < 2 * sizeof(int32_t) ? 1 : 0;
	}
	return -EINVAL;
}

/* --- .cmd file operations ------------------------------------------------- */

static ssize_t stp_cmd_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	char *kbuf;
	u32 type;
	int rc;

	if (count < sizeof(type))
		return 0;
	if (count > STP_CTL_WRITE_MAX)
		return -EINVAL;
	kbuf = memdup_user(ubuf, count);
	if (IS_ERR(kbuf))
		return PTR_ERR(kbuf);
	memcpy(&type, kbuf, sizeof(type));

	mutex_lock(&stp_ctl.write_mutex);
	rc = stp_ctl_dispatch(type, kbuf + sizeof(type), count - sizeof(type));
	mutex_unlock(&stp_ctl.write_mutex);
	kfree(kbuf);
	if (rc < 0)
		return rc;
	return rc == 1 ? 0 : count;
}

static ssize_t stp_cmd_read(struct file *file, char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	struct stp_ctl_msg *m;
	unsigned long flags;
	size_t len;

	for (;;) {
		raw_spin_lock_irqsave(&stp_ctl.lock, flags);
		m = list_first_entry_or_null(&stp_ctl.ready,
					     struct stp_ctl_msg, list);
		if (m)
			list_del_init(&m->list);
		raw_spin_unlock_irqrestore(&stp_ctl.lock, flags);
		if (m)
			break;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		if (wait_event_interruptible(stp_ctl.wait, stp_ctl_pending()))
			return -ERESTARTSYS;
	}

	/* as SystemTap: a message that does not fit is dropped */
	len = sizeof(m->type) + m->len;
	if (len > count || copy_to_user(ubuf, &m->type, sizeof(m->type)) ||
	    copy_to_user(ubuf + sizeof(m->type), m->data, m->len)) {
		stp_ctl_release(m);
		return -EFAULT;
	}
	stp_ctl_release(m);
	return len;
}

static __poll_t stp_cmd_poll(struct file *file, poll_table *wait)
{
	__poll_t mask = EPOLLPRI | EPOLLOUT | EPOLLWRNORM;

	poll_wait(file, &stp_ctl.wait, wait);
	if (stp_ctl_pending())
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

/*
 * Open = attach.  The module reference makes rmmod fail (EWOULDBLOCK)
 * while stapio is attached instead of pulling the files from under it.
 */
static int stp_cmd_open(struct inode *inode, struct file *file)
{
	if (!try_module_get(THIS_MODULE))
		return -ENODEV;
	if (atomic_cmpxchg(&stp_ctl.attached, 0, 1)) {
		module_put(THIS_MODULE);
		return -EBUSY;
	}
	stp_relay_set_overwrite(false);
	mod_timer(&stp_ctl.timer, jiffies + STP_CTL_TIMER_INTERVAL);
	return 0;
}

static int stp_cmd_release(struct inode *inode, struct file *file)
{
	/* detached: keep the newest output (flight recorder) until re-attach */
	if (stp_session_state() != STP_SESSION_STOPPED)
		stp_relay_set_overwrite(true);
	atomic_set(&stp_ctl.attached, 0);
	timer_delete_sync(&stp_ctl.timer);
	module_put(THIS_MODULE);
	return 0;
}

static const struct proc_ops stp_cmd_ops = {
	.proc_open = stp_cmd_open,
	.proc_release = stp_cmd_release,
	.proc_read = stp_cmd_read,
	.proc_write = stp_cmd_write,
	.proc_poll = stp_cmd_poll,
	.proc_lseek = noop_llseek,
};

/* --- set-up and tear-down ------------------------------------------------- */

static int stp_ctl_pool_init(void)
{
	int i;

	raw_spin_lock_init(&stp_ctl.lock);
	INIT_LIST_HEAD(&stp_ctl.ready);
	INIT_LIST_HEAD(&stp_ctl.free);
	init_waitqueue_head(&stp_ctl.wait);
	mutex_init(&stp_ctl.write_mutex);
	timer_setup(&stp_ctl.timer, stp_ctl_timer_fn, 0);

	stp_ctl.pool = kvcalloc(STP_CTL_POOL_BUFFERS, sizeof(*stp_ctl.pool),
				GFP_KERNEL);
	if (!stp_ctl.pool)
		return -ENOMEM;
	for (i = 0; i < STP_CTL_POOL_BUFFERS; i++) {
		stp_ctl.pool[i].pooled = true;
		list_add_tail(&stp_ctl.pool[i].list, &stp_ctl.free);
	}

	stp_ctl.fixed[SLOT_START].type = STP_MSG(STP_IDX_START);
	stp_ctl.fixed[SLOT_EXIT].type = STP_MSG(STP_IDX_EXIT);
	stp_ctl.fixed[SLOT_TRANSPORT].type = STP_MSG(STP_IDX_TRANSPORT);
	stp_ctl.fixed[SLOT_REQUEST_EXIT].type = STP_MSG(STP_IDX_REQUEST_EXIT);
	for (i = SLOT_FULL_WARN; i <= SLOT_FULL_SYSTEM; i++) {
		struct stp_ctl_msg *m = &stp_ctl.fixed[i];

		m->type = STP_MSG(STP_IDX_OOB_DATA);
		m->len = strlen(stp_full_texts[i]);
		memcpy(m->data, stp_full_texts[i], m->len);
	}
	return 0;
}

/* /proc/systemtap is shared by every module and never removed. */
static int stp_mkdir_proc_root(void)
{
	struct path path;

	if (kern_path("/proc/systemtap", 0, &path) == 0) {
		path_put(&path);
		return 0;
	}
	/* a concurrent first load may win the race; the lookup below decides */
	proc_mkdir("systemtap", NULL);
	if (kern_path("/proc/systemtap", 0, &path) == 0) {
		path_put(&path);
		return 0;
	}
	return -ENOENT;
}

int stp_transport_init(size_t bytes_per_cpu)
{
	char name[sizeof("systemtap/") + MODULE_NAME_LEN];
	int rc;

	rc = stp_ctl_pool_init();
	if (rc)
		return rc;
	rc = stp_mkdir_proc_root();
	if (rc) {
		pr_err("%s: cannot create /proc/systemtap\n", THIS_MODULE->name);
		goto err_pool;
	}
	snprintf(name, sizeof(name), "systemtap/%s", THIS_MODULE->name);
	stp_ctl.dir = proc_mkdir(name, NULL);
	if (!stp_ctl.dir) {
		pr_err("%s: cannot create /proc/%s\n", THIS_MODULE->name, name);
		rc = -EEXIST;
		goto err_pool;
	}
	rc = stp_relay_init(stp_ctl.dir, bytes_per_cpu);
	if (rc)
		goto err_dir;
	stp_ctl.cmd = proc_create(".cmd", 0600, stp_ctl.dir, &stp_cmd_ops);
	if (!stp_ctl.cmd) {
		rc = -ENOMEM;
		goto err_relay;
	}
	proc_set_user(stp_ctl.cmd, stp_loader_uid(), stp_loader_gid());
	stp_ctl_send_fixed(SLOT_TRANSPORT, NULL, 0);
	return 0;

err_relay:
	stp_relay_exit();
err_dir:
	proc_remove(stp_ctl.dir);
err_pool:
	kvfree(stp_ctl.pool);
	return rc;
}

void stp_transport_exit(void)
{
	/* rmmod while unattached: end probes still run, nothing is sent */
	stp_session_cleanup();
	proc_remove(stp_ctl.cmd);	/* waits for readers and writers */
	timer_delete_sync(&stp_ctl.timer);
	stp_relay_exit();
	proc_remove(stp_ctl.dir);
	kvfree(stp_ctl.pool);
}
