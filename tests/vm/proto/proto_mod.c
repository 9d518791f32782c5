// SPDX-License-Identifier: GPL-2.0
/*
 * A hand-written stand-in for a generated module, exercising the runtime
 * transport (runtime/kernel/transport.h).  Its behaviour is chosen with the
 * module parameter "mode" (a script global as far as staprun knows):
 *
 *   lines   begin prints "begin" then lines 1..count; a 10 ms timer prints
 *           "tick N" until ticks reaches limit, then calls exit(); end
 *           prints "end"                      (limit 0 = run until stopped)
 *   exit    begin prints "begin" and calls exit() at once
 *   warn    begin warns, prints, and exits
 *   error   begin prints, then stp_error(); error probe prints "error probe"
 *   system  begin asks stapio to run "echo from-system"
 *   big     begin prints count lines of 100 bytes (several records each)
 *   fail    stp_probes_start() fails with -EINVAL
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/timer.h>
#include <linux/preempt.h>
#include "transport.h"

const char stp_module_name[] = KBUILD_MODNAME;

static char *mode = "lines";
module_param(mode, charp, 0);
static int count = 5;
module_param(count, int, 0);
static int limit = 3;
module_param(limit, int, 0);

static struct timer_list tick_timer;
static bool timer_on;
static atomic_t ticks = ATOMIC_INIT(0);

static void out(const char *fmt, ...)
{
	char buf[160];
	va_list args;
	int n;

	va_start(args, fmt);
	n = vscnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	stp_print(buf, n);
}

static void tick_fn(struct timer_list *t)
{
	int n = atomic_inc_return(&ticks);

	if (limit && n > limit)
		return;
	out("tick %d\n", n);
	stp_print_flush();
	if (limit && n == limit)
		stp_request_exit();
	else
		mod_timer(&tick_timer, jiffies + msecs_to_jiffies(10));
}

static bool is(const char *m)
{
	return strcmp(mode, m) == 0;
}

int stp_probes_start(void)
{
	int i;

	if (is("fail"))
		return -EINVAL;
	preempt_disable();
	out("begin target=%d\n", stp_target_pid());
	if (is("lines")) {
		for (i = 1; i <= count; i++)
			out("line %d\n", i);
	} else if (is("exit")) {
		stp_request_exit();
	} else if (is("warn")) {
		stp_warn("something odd: %d", 42);
		out("after warning\n");
		stp_request_exit();
	} else if (is("error")) {
		out("before error\n");
		stp_error("it broke near %s", "begin");
	} else if (is("system")) {
		stp_system("echo from-system");
		stp_request_exit();
	} else if (is("big")) {
		for (i = 1; i <= count; i++)
			out("%08d %090d\n", i, 0);
		stp_request_exit();
	}
	stp_print_flush();
	preempt_enable();

	if (is("lines")) {
		timer_setup(&tick_timer, tick_fn, 0);
		mod_timer(&tick_timer, jiffies + msecs_to_jiffies(10));
		timer_on = true;
	}
	return 0;
}

void stp_probes_stop(void)
{
	if (timer_on) {
		timer_delete_sync(&tick_timer);
		/* the callback may have re-armed it before the delete */
		timer_delete_sync(&tick_timer);
		timer_on = false;
	}
	preempt_disable();
	if (stp_session_state() == STP_SESSION_ERROR)
		out("error probe\n");
	else
		out("end ticks=%d\n", min(atomic_read(&ticks), limit ? limit : INT_MAX));
	stp_print_flush();
	preempt_enable();
}
