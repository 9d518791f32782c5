// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The data channel: per-CPU print buffers flushed as framed records into
 * a relay channel, read through /proc/systemtap/<module>/trace<cpu>.
 *
 * Record = header + payload.  5.x header: magic F0 9F A9 BA, u32 sequence,
 * u32 length (12 bytes); 4.x (STP_TRANSPORT_V4): u32 sequence, u32 length.
 * Sequence numbers come from one global counter starting at 1, so stapio
 * can merge the per-CPU streams in order.  A header never straddles a
 * sub-buffer (the rest of the sub-buffer becomes relay padding, which the
 * reader never sees); a payload may continue in the next sub-buffer.  A
 * record that does not fit in the free space is dropped whole and counted
 * as a transport failure, so the stream never holds a torn record while
 * attached.
 *
 * The relay channel is opened without base file name (buffers only); the
 * trace files are our own procfs files with our own read and poll, which
 * hand out only sub-buffers that no writer can still be filling: a read
 * first closes the current sub-buffer under the CPU's lock.
 *
 * Locking: one raw spinlock per CPU guards that CPU's print buffer and its
 * relay buffer bookkeeping.  Probe context only ever tries it, a bounded
 * number of times, so a probe firing inside our own locked region drops
 * its output instead of deadlocking.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/percpu.h>
#include <linux/cpu.h>
#include <linux/proc_fs.h>
#include <linux/relay.h>
#include <linux/irq_work.h>
#include <linux/poll.h>
#include <linux/uaccess.h>
#include <linux/slab.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include "transport.h"

#define STP_PRINT_TRYLOCK_SPINS 1000

struct stp_cpu_chan {
	raw_spinlock_t lock;		/* buf/len and rbuf's offsets */
	struct rchan_buf *rbuf;		/* NULL for CPUs onlined later */
	size_t len;			/* bytes in buf */
	char buf[STP_PRINT_BUF_SIZE];
};

atomic_t stp_transport_failures = ATOMIC_INIT(0);
static atomic_t stp_seq = ATOMIC_INIT(0);
static struct stp_cpu_chan __percpu *stp_chans;
static struct rchan *stp_rchan;
static struct proc_dir_entry **stp_trace_files;	/* [nr_cpu_ids] */
static bool stp_overwrite;

void stp_relay_set_overwrite(bool overwrite)
{
	WRITE_ONCE(stp_overwrite, overwrite);
}

/* --- relay callbacks ------------------------------------------------------ */

/* Attached: refuse a new sub-buffer while all are unread (drop new data).
 * Detached: overwrite the oldest (flight recorder). */
static int stp_subbuf_start(struct rchan_buf *buf, void *subbuf,
			    void *prev_subbuf, size_t prev_padding)
{
	return READ_ONCE(stp_overwrite) || !relay_buf_full(buf);
}

/*
 * relay_open(NULL, ...) still calls this once per CPU, only to learn
 * is_global, and (6.1, 6.12) gives up on a NULL answer although it never
 * uses the dentry.  So it gets a token that is neither NULL nor an error;
 * no file is created and buf->dentry stays NULL.
 */
static char stp_no_dentry;

static struct dentry *stp_create_buf_file(const char *filename,
					  struct dentry *parent, umode_t mode,
					  struct rchan_buf *buf, int *is_global)
{
	if (filename)
		return NULL;	/* never asked: no base file name */
	return (struct dentry *)&stp_no_dentry;
}

static int stp_remove_buf_file(struct dentry *dentry)
{
	return 0;
}

static const struct rchan_callbacks stp_relay_callbacks = {
	.subbuf_start = stp_subbuf_start,
	.create_buf_file = stp_create_buf_file,
	.remove_buf_file = stp_remove_buf_file,
};

/* --- writing ------------------------------------------------------------- */

static bool stp_chan_trylock(struct stp_cpu_chan *c)
{
	int i;

	for (i = 0; i < STP_PRINT_TRYLOCK_SPINS; i++) {
		if (raw_spin_trylock(&c->lock))
			return true;
		cpu_relax();
	}
	return false;
}

/* True when hlen + len bytes fit without refusing a sub-buffer. */
static bool stp_relay_room(struct rchan_buf *b, size_t hlen, size_t len)
{
	size_t size = b->chan->subbuf_size;
	size_t used = b->subbufs_produced - b->subbufs_consumed;
	size_t whole, cur;

	if (READ_ONCE(stp_overwrite))
		return true;
	if (used + 1 >= b->chan->n_subbufs)
		whole = 0;
	else
		whole = b->chan->n_subbufs - used - 1;
	cur = b->offset <= size ? size - b->offset : 0;
	if (cur < hlen)
		cur = 0;
	return hlen + len <= cur + whole * size;
}

/* Appends bytes at the write position, opening sub-buffers as needed. */
static bool stp_relay_put(struct rchan_buf *b, const char *p, size_t len,
			  bool whole)
{
	size_t size = b->chan->subbuf_size;

	while (len) {
		size_t n;

		if (b->offset >= size || (whole && b->offset + len > size)) {
			if (!relay_switch_subbuf(b, min(len, size)))
				return false;
		}
		n = min(len, size - b->offset);
		memcpy(b->data + b->offset, p, n);
		b->offset += n;
		p += n;
		len -= n;
	}
	return true;
}

static size_t stp_make_header(char *h, u32 len)
{
	u32 seq = atomic_inc_return(&stp_seq);
	size_t n = 0;

#ifndef STP_TRANSPORT_V4
	h[0] = (char)STP_TRACE_MAGIC0;
	h[1] = (char)STP_TRACE_MAGIC1;
	h[2] = (char)STP_TRACE_MAGIC2;
	h[3] = (char)STP_TRACE_MAGIC3;
	n = 4;
#endif
	memcpy(h + n, &seq, sizeof(seq));
	memcpy(h + n + 4, &len, sizeof(len));
	return n + 8;
}

/* c->lock held, irqs off. */
static void stp_flush_locked(struct stp_cpu_chan *c)
{
	struct rchan_buf *b = c->rbuf;
	char hdr[STP_TRACE_HDR_V5];
	size_t hlen, len = c->len;

	if (!len)
		return;
	c->len = 0;
#ifdef STP_TRANSPORT_V4
	hlen = STP_TRACE_HDR_V4;
#else
	hlen = STP_TRACE_HDR_V5;
#endif
	if (!b || !stp_relay_room(b, hlen, len)) {
		atomic_inc(&stp_transport_failures);
		return;
	}
	stp_make_header(hdr, len);
	if (!stp_relay_put(b, hdr, hlen, true) ||
	    !stp_relay_put(b, c->buf, len, false))
		atomic_inc(&stp_transport_failures);
	smp_mb();	/* pairs with the reader's poll_wait() */
	if (waitqueue_active(&b->read_wait))
		irq_work_queue(&b->wakeup_work);
}

DEFINE_PER_CPU(bool, stp_print_dirty);

void stp_print(const char *s, size_t len)
{
	struct stp_cpu_chan *c;
	unsigned long flags;

	if (!stp_chans || !len)
		return;
	local_irq_save(flags);
	c = this_cpu_ptr(stp_chans);
	if (!stp_chan_trylock(c)) {
		atomic_inc(&stp_transport_failures);
		goto out;
	}
	while (len) {
		size_t n = min(len, sizeof(c->buf) - c->len);

		if (!n) {
			stp_flush_locked(c);
			continue;
		}
		memcpy(c->buf + c->len, s, n);
		c->len += n;
		__this_cpu_write(stp_print_dirty, true);
		s += n;
		len -= n;
	}
	raw_spin_unlock(&c->lock);
out:
	local_irq_restore(flags);
}

void stp_print_flush(void)
{
	struct stp_cpu_chan *c;
	unsigned long flags;

	if (!stp_chans)
		return;
	local_irq_save(flags);
	c = this_cpu_ptr(stp_chans);
	if (c->len) {
		if (stp_chan_trylock(c)) {
			stp_flush_locked(c);
			raw_spin_unlock(&c->lock);
		} else {
			atomic_inc(&stp_transport_failures);
		}
	}
	if (!c->len)
		__this_cpu_write(stp_print_dirty, false);
	local_irq_restore(flags);
}

/* Whether a reader has taken everything written to b so far. */
static bool stp_relay_drained(struct rchan_buf *b)
{
	return READ_ONCE(b->subbufs_consumed) == READ_ONCE(b->subbufs_produced) &&
	       READ_ONCE(b->bytes_consumed) >= READ_ONCE(b->offset);
}

/* Whether a read would return data now (what poll reports). */
static bool stp_relay_readable(struct rchan_buf *b)
{
	size_t offset = READ_ONCE(b->offset);

	return READ_ONCE(b->subbufs_produced) != READ_ONCE(b->subbufs_consumed) ||
	       (offset && offset <= b->chan->subbuf_size);
}

void stp_relay_wake_readers(void)
{
	int cpu;

	if (!stp_chans)
		return;
	smp_mb();	/* the data before the wait-queue test, as relay does */
	for_each_possible_cpu(cpu) {
		struct rchan_buf *b = per_cpu_ptr(stp_chans, cpu)->rbuf;

		if (b && waitqueue_active(&b->read_wait) && stp_relay_readable(b))
			wake_up_interruptible(&b->read_wait);
	}
}

void stp_relay_wait_drained(unsigned int max_ms)
{
	unsigned long until = jiffies + msecs_to_jiffies(max_ms);
	int cpu;

	if (!stp_chans)
		return;
	for_each_possible_cpu(cpu) {
		struct rchan_buf *b = per_cpu_ptr(stp_chans, cpu)->rbuf;

		while (b && !stp_relay_drained(b) && time_before(jiffies, until)) {
			stp_relay_wake_readers();
			msleep(10);
		}
	}
}

void stp_print_flush_all(void)
{
	unsigned long flags;
	int cpu;

	if (!stp_chans)
		return;
	for_each_possible_cpu(cpu) {
		struct stp_cpu_chan *c = per_cpu_ptr(stp_chans, cpu);

		raw_spin_lock_irqsave(&c->lock, flags);
		stp_flush_locked(c);
		per_cpu(stp_print_dirty, cpu) = false;
		raw_spin_unlock_irqrestore(&c->lock, flags);
	}
}

/* --- the trace files ------------------------------------------------------ */

static int stp_trace_open(struct inode *inode, struct file *file)
{
	if (!try_module_get(THIS_MODULE))
		return -ENODEV;
	file->private_data = pde_data(inode);
	return 0;
}

static int stp_trace_release(struct inode *inode, struct file *file)
{
	module_put(THIS_MODULE);
	return 0;
}

/* Bytes of complete, unread data: closes the current sub-buffer first. */
static bool stp_trace_next(struct stp_cpu_chan *c, const char **src,
			   size_t *avail, size_t *consumed)
{
	struct rchan_buf *b = c->rbuf;
	size_t size = b->chan->subbuf_size, n = b->chan->n_subbufs, idx;

	if (b->subbufs_produced == b->subbufs_consumed) {
		if (b->offset == 0 || b->offset > size)
			return false;
		relay_switch_subbuf(b, 0);
		if (b->subbufs_produced == b->subbufs_consumed)
			return false;
	}
	if (b->subbufs_produced - b->subbufs_consumed > n) {
		/* overwritten while detached: skip to the oldest survivor */
		b->subbufs_consumed = b->subbufs_produced - n;
		b->bytes_consumed = 0;
	}
	idx = b->subbufs_consumed % n;
	*src = (const char *)b->start + idx * size + b->bytes_consumed;
	*avail = size - b->padding[idx] - b->bytes_consumed;
	*consumed = b->subbufs_consumed;
	return true;
}

static ssize_t stp_trace_read(struct file *file, char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	struct stp_cpu_chan *c = file->private_data;
	struct rchan_buf *b = c->rbuf;
	unsigned long flags;
	ssize_t total = 0;

	if (!b)
		return -ENODATA;
	while ((size_t)total < count) {
		const char *src;
		size_t avail, consumed, n;
		bool more;

		raw_spin_lock_irqsave(&c->lock, flags);
		more = stp_trace_next(c, &src, &avail, &consumed);
		raw_spin_unlock_irqrestore(&c->lock, flags);
		if (!more)
			break;
		n = min(avail, count - total);
		/* the writer never enters an unread sub-buffer while attached */
		if (n && copy_to_user(ubuf + total, src, n))
			return total ? total : -EFAULT;
		total += n;

		raw_spin_lock_irqsave(&c->lock, flags);
		if (b->subbufs_consumed == consumed) {
			b->bytes_consumed += n;
			if (n == avail) {
				b->subbufs_consumed++;
				b->bytes_consumed = 0;
			}
		}
		raw_spin_unlock_irqrestore(&c->lock, flags);
	}
	return total ? total : -ENODATA;
}

static __poll_t stp_trace_poll(struct file *file, poll_table *wait)
{
	struct stp_cpu_chan *c = file->private_data;
	struct rchan_buf *b = c->rbuf;

	if (!b)
		return 0;
	poll_wait(file, &b->read_wait, wait);
	return stp_relay_readable(b) ? EPOLLIN | EPOLLRDNORM : 0;
}

static const struct proc_ops stp_trace_ops = {
	.proc_open = stp_trace_open,
	.proc_release = stp_trace_release,
	.proc_read = stp_trace_read,
	.proc_poll = stp_trace_poll,
	.proc_lseek = noop_llseek,
};

/* --- set-up and tear-down ------------------------------------------------- */

int stp_relay_init(struct proc_dir_entry *dir, size_t bytes_per_cpu)
{
	size_t nsubbufs = max_t(size_t, bytes_per_cpu / PAGE_SIZE, 2);
	int cpu, rc = -ENOMEM;

	stp_chans = alloc_percpu(struct stp_cpu_chan);
	if (!stp_chans)
		return -ENOMEM;
	for_each_possible_cpu(cpu)
		raw_spin_lock_init(&per_cpu_ptr(stp_chans, cpu)->lock);
	stp_trace_files = kcalloc(nr_cpu_ids, sizeof(*stp_trace_files),
				  GFP_KERNEL);
	if (!stp_trace_files)
		goto err;

	stp_rchan = relay_open(NULL, NULL, PAGE_SIZE, nsubbufs,
			       &stp_relay_callbacks, NULL);
	if (!stp_rchan) {
		pr_err("%s: relay_open(%zu x %lu bytes per CPU) failed\n",
		       THIS_MODULE->name, nsubbufs, PAGE_SIZE);
		goto err;
	}
	cpus_read_lock();
	for_each_online_cpu(cpu) {
		struct stp_cpu_chan *c = per_cpu_ptr(stp_chans, cpu);
		char name[sizeof("trace") + 10];

		c->rbuf = *per_cpu_ptr(stp_rchan->buf, cpu);
		if (!c->rbuf)
			continue;
		snprintf(name, sizeof(name), "trace%d", cpu);
		stp_trace_files[cpu] = proc_create_data(name, 0400, dir,
							&stp_trace_ops, c);
		if (!stp_trace_files[cpu]) {
			cpus_read_unlock();
			goto err;
		}
		proc_set_user(stp_trace_files[cpu], stp_loader_uid(),
			      stp_loader_gid());
	}
	cpus_read_unlock();
	return 0;

err:
	stp_relay_exit();
	return rc;
}

void stp_relay_exit(void)
{
	int cpu;

	if (stp_trace_files) {
		for (cpu = 0; cpu < nr_cpu_ids; cpu++)
			proc_remove(stp_trace_files[cpu]);
		kfree(stp_trace_files);
		stp_trace_files = NULL;
	}
	if (stp_rchan) {
		relay_close(stp_rchan);
		stp_rchan = NULL;
	}
	if (stp_chans) {
		free_percpu(stp_chans);
		stp_chans = NULL;
	}
}
