/* Running probe handlers: the per-CPU contexts, the global lock, the
 * begin/end/error sequence and timers.  Included by the generated module
 * after it has defined `struct context` (runtime.h says what that holds).
 *
 * One handler runs per CPU at a time: a probe that fires while its CPU's
 * context is busy is skipped and counted, never run nested.  Handlers take
 * one lock for the script's globals with bounded try-locking (MAXTRYLOCK
 * tries, TRYLOCKDELAY apart); failing to get it also skips the probe. */
#ifndef STP_CONTEXT_H
#define STP_CONTEXT_H

#ifndef STP_OVERLOAD_INTERVAL
#define STP_OVERLOAD_INTERVAL 1000000000LL   /* cycles */
#endif
#ifndef STP_OVERLOAD_THRESHOLD
#define STP_OVERLOAD_THRESHOLD 500000000LL   /* cycles of handlers per interval */
#endif

/* One context per possible CPU, vmalloc'd: a context holds the locals of
 * the largest probe, function frames, a print buffer and perhaps regex
 * scratch, more than the per-CPU allocator's units allow.  The per-CPU
 * pointer costs a handler one %gs-relative load. */
static DEFINE_PER_CPU(struct context *, stp_context);
static bool stp_contexts_ready;

static void stp_contexts_free(void)
{
	int cpu;
	stp_contexts_ready = false;
	for_each_possible_cpu(cpu) {
		vfree(per_cpu(stp_context, cpu));
		per_cpu(stp_context, cpu) = NULL;
	}
}

static int stp_contexts_alloc(void)
{
	int cpu;
	for_each_possible_cpu(cpu) {
		per_cpu(stp_context, cpu) = vzalloc(sizeof(struct context));
		if (!per_cpu(stp_context, cpu)) {
			stp_contexts_free();
			return -ENOMEM;
		}
	}
	stp_contexts_ready = true;
	return 0;
}
/* Handlers run with interrupts off, so the lock needs none of the
 * preemption and interrupt bookkeeping of spinlock_t: the arch lock
 * alone (a compare-and-swap to take, a store to release). */
static arch_spinlock_t stp_globals_lock = __ARCH_SPIN_LOCK_UNLOCKED;
static atomic_t stp_skipped = ATOMIC_INIT(0);
static atomic_t stp_errors = ATOMIC_INIT(0);    /* script run-time errors */

/* Per CPU: handler cycles in the current overload interval. */
struct stp_overload {
	cycles_t start;
	cycles_t used;
	unsigned int hits;	/* handlers run on this CPU (sampling) */
};

/* Overload accounting times one handler in STP_OVERLOAD_SAMPLE and counts
 * it that many times: reading the cycle counter twice per hit was a third
 * of a counting kprobe's cost (bench/probe-cost.sh).  A handler that is
 * slow every time is still seen within a few hits. */
#ifndef STP_OVERLOAD_SAMPLE
#define STP_OVERLOAD_SAMPLE 8
#endif
static DEFINE_PER_CPU(struct stp_overload, stp_overload);

/* A probe was skipped; too many end the session (MAXSKIPPED). */
static void stp_skip(void)
{
	if (atomic_inc_return(&stp_skipped) == MAXSKIPPED + 1)
		stp_error("Skipped too many probes, check MAXSKIPPED or try again with stap -t for more details.");
}

/* The globals' lock was taken by a handler on another CPU: try again
 * MAXTRYLOCK times, TRYLOCKDELAY us apart, else skip the probe.  Out of
 * line, so that the uncontended path keeps its registers free. */
static noinline bool stp_lock_contended(void)
{
	for (int tries = 0; tries < MAXTRYLOCK; tries++) {
		udelay(TRYLOCKDELAY);
		if (arch_spin_trylock(&stp_globals_lock))
			return true;
	}
	stp_skip();
	return false;
}

/* Handlers that take more than STP_OVERLOAD_THRESHOLD of every
 * STP_OVERLOAD_INTERVAL cycles on a CPU end the session. */
/* The start of a handler when this one is timed, else 0.  Interrupts are off. */
static cycles_t stp_account_begin(void)
{
#ifndef STP_NO_OVERLOAD
	/* one %gs-relative add, no per-CPU address computation */
	if (__this_cpu_inc_return(stp_overload.hits) % STP_OVERLOAD_SAMPLE == 1)
		return get_cycles() | 1;	/* never 0 */
#endif
	return 0;
}

static void stp_account(cycles_t begin)
{
#ifndef STP_NO_OVERLOAD
	struct stp_overload *o = this_cpu_ptr(&stp_overload);
	if (!begin)
		return;
	cycles_t now = get_cycles();
	if (now - o->start > (cycles_t)STP_OVERLOAD_INTERVAL) {
		o->start = now;
		o->used = 0;
	}
	o->used += (now - begin) * STP_OVERLOAD_SAMPLE;
	if (o->used > (cycles_t)STP_OVERLOAD_THRESHOLD) {
		o->used = 0;
		stp_error("probe overhead exceeded threshold");
	}
#endif
}

/* Run one probe body if the session is in `state`; regs are the
 * interrupted kernel registers, or NULL; ri the kretprobe instance of a
 * function return (its data holds the @entry values), or NULL.  With `entry` set, runs the probe's entry half instead
 * of its body. */
static __always_inline void stp_run_part(const struct stp_probe *p, int state,
					 struct pt_regs *regs,
					 struct kretprobe_instance *ri, bool entry,
					 enum stp_probe_type type)
{
	struct context *c;
	unsigned long flags;
	cycles_t begin;

	local_irq_save(flags);
	if (stp_session_state() != state)
		goto done;
	c = __this_cpu_read(stp_context);
	/* interrupts are off: only this CPU's own nesting can see busy set */
	if (c->busy) {
		stp_skip();
		goto done;
	}
	c->busy = 1;
	begin = stp_account_begin();
	if (unlikely(!arch_spin_trylock(&stp_globals_lock)) && !stp_lock_contended())
		goto leave;
	c->probe_point = p->pp;
	c->probe_name = p->pp;
	c->last_error = NULL;
	c->last_stmt = NULL;
	c->aborted = 0;
	c->actionremaining = MAXACTION_INTERRUPTIBLE;
	c->nesting = -1;
	c->kregs = regs;	/* uregs, user_mode_p: no user-space probes yet; 0 from vzalloc */
	c->ri = ri;
	c->entry_data = ri && (entry || p->entry) ? ri->data : NULL;
	c->probe_type = type;	/* a constant where the caller is inlined */
	c->overload_next = 0;
	if (entry)
		p->entry(c);
	else if (!p->cond || p->cond(c))
		p->body(c);
	arch_spin_unlock(&stp_globals_lock);
	if (begin)
		stp_account(begin);
	if (c->last_error && c->last_error[0]) {
		/* MAXERRORS = 0: the first error ends the session */
		atomic_inc(&stp_errors);
		if (c->last_stmt)
			stp_error("%s near %s", c->last_error, c->last_stmt);
		else
			stp_error("%s (in probe %s)", c->last_error, p->pp);
	}
	if (__this_cpu_read(stp_print_dirty))
		stp_print_flush();
leave:
	c->busy = 0;
done:
	local_irq_restore(flags);
}

static __always_inline void stp_run(const struct stp_probe *p, int state, struct pt_regs *regs,
				     enum stp_probe_type type)
{
	stp_run_part(p, state, regs, NULL, false, type);
}

/* begin, end and error probes run in ascending priority, script order for
 * equal priorities. */
static void stp_run_kind(enum stp_probe_kind kind, int state)
{
	bool *done = kcalloc(stp_nprobes ? stp_nprobes : 1, sizeof *done, GFP_KERNEL);
	if (!done)
		return;
	for (;;) {
		const struct stp_probe *next = NULL;
		size_t at = 0;
		for (size_t k = 0; k < stp_nprobes; k++) {
			const struct stp_probe *p = &stp_probes[k];
			if (p->kind != kind || done[k])
				continue;
			if (!next || p->priority < next->priority) {
				next = p;
				at = k;
			}
		}
		if (!next)
			break;
		done[at] = true;
		stp_run(next, state, NULL, stp_probe_type_been);
	}
	kfree(done);
}

#ifdef STP_NEED_TIMERS
/* ---- timers: one hrtimer per timer probe ---- */

struct stp_timer {
	struct hrtimer timer;
	const struct stp_probe *probe;
};

static struct stp_timer *stp_timers;
static size_t stp_ntimers;

static ktime_t stp_timer_period(const struct stp_probe *p)
{
	int64_t ns = p->interval_ns;
	if (p->randomize_ns) {
		u32 span = (u32)(2 * p->randomize_ns + 1);
		ns += (int64_t)(get_random_u32() % span) - p->randomize_ns;
	}
	return ns_to_ktime(ns > 0 ? ns : 1);
}

static enum hrtimer_restart stp_timer_fired(struct hrtimer *timer)
{
	struct stp_timer *t = container_of(timer, struct stp_timer, timer);
	stp_run(t->probe, STP_SESSION_RUNNING, NULL, stp_probe_type_hrtimer);
	if (stp_session_state() != STP_SESSION_RUNNING)
		return HRTIMER_NORESTART;
	hrtimer_forward_now(timer, stp_timer_period(t->probe));
	return HRTIMER_RESTART;
}

static int stp_timers_start(void)
{
	for (size_t k = 0; k < stp_nprobes; k++)
		stp_ntimers += stp_probes[k].kind == STP_PROBE_TIMER;
	if (!stp_ntimers)
		return 0;
	stp_timers = kcalloc(stp_ntimers, sizeof *stp_timers, GFP_KERNEL);
	if (!stp_timers)
		return -ENOMEM;
	size_t n = 0;
	for (size_t k = 0; k < stp_nprobes; k++) {
		if (stp_probes[k].kind != STP_PROBE_TIMER)
			continue;
		struct stp_timer *t = &stp_timers[n++];
		t->probe = &stp_probes[k];
		hrtimer_init(&t->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
		t->timer.function = stp_timer_fired;
		hrtimer_start(&t->timer, stp_timer_period(t->probe), HRTIMER_MODE_REL);
	}
	return 0;
}

static void stp_timers_stop(void)
{
	for (size_t k = 0; k < stp_ntimers && stp_timers; k++)
		hrtimer_cancel(&stp_timers[k].timer);
	kfree(stp_timers);
	stp_timers = NULL;
	stp_ntimers = 0;
}
#else
static int stp_timers_start(void) { return 0; }
static void stp_timers_stop(void) { }
#endif	/* STP_NEED_TIMERS */

#ifdef STP_NEED_PROFILE
/* ---- timer.profile.tick: a pinned hrtimer on every CPU, one tick apart ---- */

struct stp_profile {
	struct hrtimer timer;
	const struct stp_probe *probe;
};

static DEFINE_PER_CPU(struct stp_profile, stp_profiles);
static const struct stp_probe *stp_profile_probe;

static enum hrtimer_restart stp_profile_fired(struct hrtimer *timer)
{
	struct stp_profile *p = container_of(timer, struct stp_profile, timer);
	stp_run(p->probe, STP_SESSION_RUNNING, get_irq_regs(), stp_probe_type_profile_timer);
	if (stp_session_state() != STP_SESSION_RUNNING)
		return HRTIMER_NORESTART;
	hrtimer_forward_now(timer, ns_to_ktime(TICK_NSEC));
	return HRTIMER_RESTART;
}

static void stp_profile_start_cpu(void *unused)
{
	struct stp_profile *p = this_cpu_ptr(&stp_profiles);
	p->probe = stp_profile_probe;
	hrtimer_init(&p->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED);
	p->timer.function = stp_profile_fired;
	hrtimer_start(&p->timer, ns_to_ktime(TICK_NSEC), HRTIMER_MODE_REL_PINNED);
}

static void stp_profile_start(void)
{
	for (size_t k = 0; k < stp_nprobes; k++)
		if (stp_probes[k].kind == STP_PROBE_PROFILE)
			stp_profile_probe = &stp_probes[k];
	if (stp_profile_probe)
		on_each_cpu(stp_profile_start_cpu, NULL, 1);
}

static void stp_profile_stop(void)
{
	int cpu;
	if (!stp_profile_probe)
		return;
	for_each_online_cpu(cpu)
		hrtimer_cancel(&per_cpu(stp_profiles, cpu).timer);
	stp_profile_probe = NULL;
}
#else
static void stp_profile_start(void) { }
static void stp_profile_stop(void) { }
#endif	/* STP_NEED_PROFILE */

#ifdef STP_NEED_KPROBES
/* ---- kprobes and kretprobes ---- */

struct stp_kprobe {
	struct kprobe kp;
	struct kretprobe rp;
	const struct stp_probe *probe;
	bool registered;
};

static struct stp_kprobe *stp_kprobes;
static size_t stp_nkprobes;

/* Every kprobe has its own handler, generated after the probe table
 * (STP_KPROBE_HANDLER(n) for stp_probes[n]): with the probe a constant,
 * the compiler calls the body directly, or inlines it, instead of an
 * indirect call through the table (bench/probe-cost.sh). */
#define STP_KPROBE_HANDLER(n)                                                   \
	static notrace int stp_kprobe_pre_##n(struct kprobe *kp, struct pt_regs *regs) \
	{                                                                       \
		stp_run(&stp_probes[n], STP_SESSION_RUNNING, regs,              \
			stp_probe_type_kprobe);                                 \
		return 0;                                                       \
	}
#define STP_KRETPROBE_HANDLER(n)                                                \
	static notrace int stp_kretprobe_ret_##n(struct kretprobe_instance *ri, \
					 struct pt_regs *regs)                  \
	{                                                                       \
		stp_run_part(&stp_probes[n], STP_SESSION_RUNNING, regs, ri,     \
			     false, stp_probe_type_kretprobe);                  \
		return 0;                                                       \
	}

/* @entry(...) values are computed when the function is entered. */
static int stp_kretprobe_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct kretprobe *rp = get_kretprobe(ri);
	struct stp_kprobe *k = container_of(rp, struct stp_kprobe, rp);
	memset(ri->data, 0, k->probe->entry_size);
	stp_run_part(k->probe, STP_SESSION_RUNNING, regs, ri, true, stp_probe_type_kretprobe);
	return 0;
}

static void stp_kprobes_stop(void)
{
	for (size_t k = 0; k < stp_nkprobes && stp_kprobes; k++) {
		struct stp_kprobe *p = &stp_kprobes[k];
		if (!p->registered)
			continue;
		if (p->probe->kind == STP_PROBE_KRETPROBE) {
			unregister_kretprobe(&p->rp);
			if (p->rp.nmissed)
				atomic_add(p->rp.nmissed, &stp_skipped);
		} else {
			unregister_kprobe(&p->kp);
		}
	}
	kfree(stp_kprobes);
	stp_kprobes = NULL;
	stp_nkprobes = 0;
}

/* A probe that cannot be placed fails the start, unless it is optional. */
static int stp_kprobes_start(void)
{
	size_t n = 0;
	for (size_t k = 0; k < stp_nprobes; k++)
		n += stp_probes[k].kind == STP_PROBE_KPROBE || stp_probes[k].kind == STP_PROBE_KRETPROBE;
	if (!n)
		return 0;
	stp_kprobes = kcalloc(n, sizeof *stp_kprobes, GFP_KERNEL);
	if (!stp_kprobes)
		return -ENOMEM;
	stp_nkprobes = n;
	n = 0;
	for (size_t k = 0; k < stp_nprobes; k++) {
		const struct stp_probe *pr = &stp_probes[k];
		struct stp_kprobe *p;
		int rc;
		if (pr->kind != STP_PROBE_KPROBE && pr->kind != STP_PROBE_KRETPROBE)
			continue;
		p = &stp_kprobes[n++];
		p->probe = pr;
		if (pr->kind == STP_PROBE_KRETPROBE) {
			p->rp.kp.symbol_name = pr->symbol;
			p->rp.handler = pr->kretprobe_ret;
			p->rp.maxactive = pr->maxactive;
			if (pr->entry) {
				p->rp.entry_handler = stp_kretprobe_entry;
				p->rp.data_size = pr->entry_size;
			}
			rc = register_kretprobe(&p->rp);
		} else {
			if (pr->address)
				p->kp.addr = (kprobe_opcode_t *)pr->address;
			else
				p->kp.symbol_name = pr->symbol;
			p->kp.pre_handler = pr->kprobe_pre;
			rc = register_kprobe(&p->kp);
		}
		if (rc == 0) {
			p->registered = true;
		} else if (!pr->optional) {
			stp_warn("probe %s registration error (rc %d)", pr->pp, rc);
			stp_kprobes_stop();
			return rc;
		}
	}
	return 0;
}
#else
static int stp_kprobes_start(void) { return 0; }
static void stp_kprobes_stop(void) { }
#endif	/* STP_NEED_KPROBES */

/* ---- what the transport calls ---- */

/* @variance of one statistic (a single part: SystemTap's merge formula
 * reduces to this). */
static inline int64_t stp_stat_variance1(const struct stp_hist *h, const struct stp_stat *s)
{
	int64_t mean, d, var_s;
	if (s->count < 2)
		return 0;
	mean = div64_s64((int64_t)((uint64_t)s->sum << h->shift), s->count);
	var_s = div64_s64(s->m2, s->count - 1);
	d = s->avg_s - mean;
	return div64_s64(s->count * d * d + (s->count - 1) * var_s, s->count - 1) >> (2 * h->shift);
}

/* print(@hist_*(x)): the rendering can exceed a string, so it is built in
 * a buffer of its own size. */
static __maybe_unused void stp_print_hist(const struct stp_hist *h, const struct stp_stat *s)
{
	struct stp_stat *empty = NULL;
	size_t need;
	char *buf;
	if (!s) {
		empty = kzalloc(sizeof *empty + h->buckets * sizeof(int64_t), GFP_ATOMIC);
		if (!empty)
			return;
		s = empty;
	}
	need = stp_hist_render(NULL, 0, h, s) + 1;
	buf = kmalloc(need, GFP_ATOMIC);
	if (buf) {
		stp_hist_render(buf, need, h, s);
		stp_print(buf, need - 1);
		kfree(buf);
	}
	kfree(empty);
}

int stp_probes_start(void)
{
	int rc;
	rc = stp_check_credentials();	/* privilege.h: before anything exists */
	if (rc)
		return rc;
	rc = stp_contexts_alloc();
	if (rc)
		return rc;
	rc = stp_globals_init();
	if (rc) {
		stp_globals_free();
		stp_contexts_free();
		return rc;
	}
	stp_run_kind(STP_PROBE_BEGIN, STP_SESSION_STARTING);
	if (stp_session_state() != STP_SESSION_STARTING)
		return 0;   /* exit() or an error in a begin probe: no timers */
	/* the transport moves the session to RUNNING when this returns;
	 * a probe that fires before then is skipped */
	rc = stp_kprobes_start();
	if (rc)
		return rc;
	rc = stp_timers_start();
	if (rc) {
		stp_kprobes_stop();
		return rc;
	}
	stp_profile_start();
	return 0;
}

void stp_probes_stop(void)
{
	int state = stp_session_state();
	stp_timers_stop();
	stp_profile_stop();
	stp_kprobes_stop();
	if (!stp_contexts_ready)
		return;
	/* the transport has set STOPPING, or ERROR after a script error */
	if (state == STP_SESSION_ERROR)
		stp_run_kind(STP_PROBE_ERROR, STP_SESSION_ERROR);
	else
		stp_run_kind(STP_PROBE_END, state);
	/* the summary SystemTap prints when anything went wrong */
	if (atomic_read(&stp_errors) || atomic_read(&stp_skipped))
		stp_warn("Number of errors: %d, skipped probes: %d",
			 atomic_read(&stp_errors), atomic_read(&stp_skipped));
	stp_globals_free();
	stp_contexts_free();
}

/* ---- kernel stacks ---- */

unsigned int stp_kstack(struct context *c, unsigned long *entries, unsigned int max)
{
	struct pt_regs *regs = c->user_mode_p ? NULL : c->kregs;
	struct unwind_state state;
	unsigned int n = 0;

	if (!regs)      /* begin, end, timers: the handler's own stack */
		return stack_trace_save(entries, max, 0);
	/* as the kernel's arch_stack_walk(): the interrupted address, then
	 * the return addresses above the probe's registers */
	if (n < max)
		entries[n++] = instruction_pointer(regs);
	for (unwind_start(&state, current, regs, NULL);
	     !unwind_done(&state) && n < max; unwind_next_frame(&state)) {
		unsigned long addr = unwind_get_return_address(&state);
		if (!addr)
			break;
		entries[n++] = addr;
	}
	return n;
}

/* ---- printing ---- */

void stp_printf_kernel(const char *fmt, ...)
{
	char buf[MAXSTRINGLEN];
	va_list ap;
	va_start(ap, fmt);
	int n = vscnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	stp_print(buf, n);
}

/* %m and %M read memory fault-safely: kernel, or user space with '#';
 * in a stapusr module only the loader's own user memory. */
static int stp_read_memory(void *ctx, uint64_t addr, void *dst, size_t n, int user)
{
	if (!stp_mem_access_ok(addr, n))
		return -EFAULT;
	if (user)
		return copy_from_user_nofault(dst, (const void __user *)(unsigned long)addr, n) ? -EFAULT : 0;
	return copy_from_kernel_nofault(dst, (const void *)(unsigned long)addr, n) ? -EFAULT : 0;
}

static const struct stp_fmt_mem stp_read_mem __maybe_unused = { stp_read_memory, NULL };

/* A printf that cannot render: the script error SystemTap raises. */
static __maybe_unused void stp_format_error(struct context *c, long rc, int64_t bad)
{
	if (rc == STP_FMT_EFAULT)
		snprintf(c->error_buffer, MAXSTRINGLEN, "kernel read fault at 0x%llx",
			 (unsigned long long)bad);
	else if (rc == STP_FMT_E2BIG)
		snprintf(c->error_buffer, MAXSTRINGLEN, "%lld is too many bytes for a memory dump",
			 (long long)bad);
	else
		snprintf(c->error_buffer, MAXSTRINGLEN, "invalid arguments to a print format");
	c->last_error = c->error_buffer;
}

#endif
