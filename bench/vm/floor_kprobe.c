// SPDX-License-Identifier: GPL-2.0
/*
 * floor_kprobe: the hand-written floor for bench/probe-cost.sh -- one kprobe
 * on a function (default __x64_sys_getppid, module parameter "sym"),
 * registered exactly as the stap runtime does (symbol_name, offset 0, a
 * pre_handler), whose handler only counts the hit: a per-CPU counter, the
 * cheapest SMP-correct count.  The total is read from
 * /sys/module/floor_kprobe/parameters/hits and logged at unload.
 */
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>

static char *sym = "__x64_sys_getppid";
module_param(sym, charp, 0444);
MODULE_PARM_DESC(sym, "function to probe");

static DEFINE_PER_CPU(unsigned long, floor_hits);

static unsigned long total_hits(void)
{
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(floor_hits, cpu);
	return sum;
}

static int hits_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%lu\n", total_hits());
}

static const struct kernel_param_ops hits_ops = {
	.get = hits_get,
};
module_param_cb(hits, &hits_ops, NULL, 0444);
MODULE_PARM_DESC(hits, "hits so far");

static int floor_pre(struct kprobe *p, struct pt_regs *regs)
{
	this_cpu_inc(floor_hits);
	return 0;
}

static struct kprobe floor_kp = {
	.pre_handler = floor_pre,
};

static int __init floor_init(void)
{
	int rc;

	floor_kp.symbol_name = sym;
	rc = register_kprobe(&floor_kp);
	if (rc)
		pr_err("floor_kprobe: register_kprobe(%s): %d\n", sym, rc);
	return rc;
}

static void __exit floor_exit(void)
{
	unregister_kprobe(&floor_kp);
	pr_info("floor_kprobe: %lu hits on %s\n", total_hits(), sym);
}

module_init(floor_init);
module_exit(floor_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("bench/probe-cost.sh floor: a counting kprobe");
