/* The runtime as a generated module sees it: kernel headers that tapset
 * embedded C expects, the language helpers, the transport, and the
 * common part of the per-CPU probe context.  The generated code then
 * defines `struct context` and includes context.h. */
#ifndef STP_RUNTIME_H
#define STP_RUNTIME_H

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/cred.h>
#include <linux/uaccess.h>
#include <linux/string.h>
#include <linux/random.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/timekeeping.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <linux/delay.h>
#include <linux/slab.h>
#include <linux/jiffies.h>
#include <linux/kprobes.h>
#include <linux/timex.h>
#include <linux/moduleparam.h>
#include <asm/irq_regs.h>
#include <linux/stacktrace.h>
#include <asm/unwind.h>

#include <linux/vmalloc.h>
#include <linux/math64.h>

#include "lang.h"
#include "stat.h"
#include "map.h"
#include "format.h"
#include "stp_string.h"
#include "regex.h"
#include "transport.h"
#include "privilege.h"

/* Fields every context has; the locals unions follow them. */
#define STP_CONTEXT_COMMON                                                  \
	int busy;                   /* a handler runs on this CPU */        \
	const char *probe_point;    /* pp() of the running probe */         \
	const char *probe_name;                                             \
	int probe_type;                                                     \
	const char *last_error;     /* set: unwind to catch or handler end */\
	const char *last_stmt;      /* where, for the error message */      \
	char error_buffer[MAXSTRINGLEN];                                    \
	int aborted;                /* error that try/catch cannot catch */ \
	long actionremaining;       /* MAXACTION budget of this run */      \
	int nesting;                /* index of the current function frame */\
	int overload_next;          /* `next` in a function: try the next one */\
	void *entry_data;           /* @entry values of this kretprobe hit */\
	struct kretprobe_instance *ri; /* the function return being probed */\
	char tok_str[MAXSTRINGLEN]; /* tokenize(): the string being split, */\
	char *tok_start, *tok_end;  /* kept across runs on this CPU */      \
	struct stp_re_match last_match; /* the last =~, for matched()  */\
	struct pt_regs *kregs;                                              \
	struct pt_regs *uregs;                                              \
	int user_mode_p;                                                    \
	char printbuf[8192];        /* printf output before stp_print */

/* Probe kinds the runtime knows how to register. */
enum stp_probe_kind {
	STP_PROBE_BEGIN,
	STP_PROBE_END,
	STP_PROBE_ERROR,
	STP_PROBE_NEVER,
	STP_PROBE_TIMER,
	STP_PROBE_KPROBE,       /* kprobe.function / .statement(ADDR).absolute */
	STP_PROBE_KRETPROBE,    /* kprobe.function(...).return */
	STP_PROBE_PROFILE,      /* timer.profile.tick: every tick on every CPU */
};

struct context;

/* What kind of probe a handler runs for, as tapset C code (probe_type(),
 * is_return(), probefunc()) sees it in CONTEXT->probe_type.  The names
 * are SystemTap's runtime interface; only some kinds exist here yet. */
enum stp_probe_type {
	stp_probe_type_been,
	stp_probe_type_timer,
	stp_probe_type_hrtimer,
	stp_probe_type_profile_timer,
	stp_probe_type_perf,
	stp_probe_type_procfs,
	stp_probe_type_netfilter,
	stp_probe_type_kprobe,
	stp_probe_type_kretprobe,
	stp_probe_type_uprobe,
	stp_probe_type_uretprobe,
	stp_probe_type_hwbkpt,
	stp_probe_type_tracepoint,
	stp_probe_type_utrace,
	stp_probe_type_utrace_syscall,
};

/* Kernel return addresses of the probed code, innermost first (the probe
 * address itself first when the probe has registers); at most max. */
unsigned int stp_kstack(struct context *c, unsigned long *entries, unsigned int max);


/* One derived probe, as the generated table describes it. */
struct stp_probe {
	const char *pp;
	void (*body)(struct context *c);
	enum stp_probe_kind kind;
	int64_t priority;          /* begin/end/error order */
	int64_t interval_ns;       /* timers */
	int64_t randomize_ns;
	const char *symbol;        /* kprobes: "func" or "module:func" */
	unsigned long address;     /* kprobes: absolute address, or 0 */
	int maxactive;             /* kretprobes, 0 = default */
	bool optional;             /* `?`/`!`: registration may fail quietly */
	int (*cond)(struct context *c); /* `probe P if (cond)`, or NULL */
	void (*entry)(struct context *c); /* kretprobes with @entry: run at entry */
	size_t entry_size;               /* bytes of @entry values per instance */
	/* kprobes: this probe's own handler (STP_KPROBE_HANDLER in context.h) */
	int (*kprobe_pre)(struct kprobe *kp, struct pt_regs *regs);
	int (*kretprobe_ret)(struct kretprobe_instance *ri, struct pt_regs *regs);
};

extern const struct stp_probe stp_probes[];
extern const size_t stp_nprobes;

/* Script globals are module parameters (staprun NAME=VALUE, stap -G):
 * 64-bit integers with base detection, like SystemTap's. */
static int stp_param_set_s64(const char *val, const struct kernel_param *kp)
{
	return kstrtoll(val, 0, (long long *)kp->arg);
}

static int stp_param_get_s64(char *buf, const struct kernel_param *kp)
{
	return sprintf(buf, "%lld\n", *(long long *)kp->arg);
}

static const struct kernel_param_ops stp_param_ops_s64 __maybe_unused = {
	.set = stp_param_set_s64,
	.get = stp_param_get_s64,
};

/* defined by the generated code: arrays and statistics */
static int stp_globals_init(void);
static void stp_globals_free(void);

/* One action of the MAXACTION budget; running out is not catchable. */
#define STP_ACTION()                                                         \
	do {                                                                 \
		if (unlikely(--c->actionremaining < 0)) {                    \
			c->last_error = "MAXACTION exceeded";                \
			c->aborted = 1;                                      \
			goto out;                                            \
		}                                                            \
	} while (0)

/* Names that tapset embedded C uses, as SystemTap spells them. */
#define CONTEXT c
#define THIS l
#define STAP_ERROR(...)                                                      \
	do {                                                                 \
		snprintf(CONTEXT->error_buffer, MAXSTRINGLEN, __VA_ARGS__);  \
		CONTEXT->last_error = CONTEXT->error_buffer;                 \
		goto out;                                                    \
	} while (0)
#define STAP_PRINTF(...) stp_printf_kernel(__VA_ARGS__)

void stp_printf_kernel(const char *fmt, ...) __printf(1, 2);

#endif
