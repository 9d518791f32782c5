// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Module entry and exit for every generated module.
 *
 * init_module: record the loader's real ids (the files under
 * /proc/systemtap/<module>/ belong to them), size the relay buffers from
 * _stp_bufsize, create the transport and queue STP_TRANSPORT.  Probes
 * start only when stapio sends STP_START (transport.c).
 * exit: if stapio never stopped the session, end probes run here.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/cred.h>
#include <linux/mm.h>
#include <linux/cpumask.h>
#include "transport.h"

/* MB per CPU; 0 = default.  Never trusted: checked in stp_buffer_bytes(). */
unsigned int stp_bufsize_mb;
module_param_named(_stp_bufsize, stp_bufsize_mb, uint, 0);
MODULE_PARM_DESC(_stp_bufsize, "relay buffer size per CPU in MB (0 = default)");

static kuid_t stp_uid;
static kgid_t stp_gid;

kuid_t stp_loader_uid(void)
{
	return stp_uid;
}

kgid_t stp_loader_gid(void)
{
	return stp_gid;
}

/*
 * Bytes of relay buffer per CPU, computed in 64 bits (F7): an explicit
 * size beyond 1..4095 MB or beyond free + buffered RAM is refused; the
 * default shrinks to a quarter of that RAM when memory is short.
 */
static int stp_buffer_bytes(u64 *bytes)
{
	u64 avail, cpus = num_online_cpus();
	struct sysinfo si;

	si_meminfo(&si);
	avail = ((u64)si.freeram + si.bufferram) << PAGE_SHIFT;

	if (stp_bufsize_mb > STP_BUFSIZE_MAX_MB) {
		pr_err("%s: invalid _stp_bufsize=%u (should be 0-%d MB)\n",
		       THIS_MODULE->name, stp_bufsize_mb, STP_BUFSIZE_MAX_MB);
		return -EINVAL;
	}
	if (stp_bufsize_mb == 0) {
		*bytes = (u64)STP_BUFSIZE_DEFAULT_MB << 20;
		if (*bytes * cpus > avail / 4)
			*bytes = max_t(u64, avail / 4 / cpus, 2 * PAGE_SIZE);
		return 0;
	}
	*bytes = (u64)stp_bufsize_mb << 20;
	if (*bytes * cpus > avail) {
		pr_err("%s: Not enough free+buffered memory(%lluMB) for log buffer(%lluMB)\n",
		       THIS_MODULE->name, avail >> 20, (*bytes * cpus) >> 20);
		return -ENOMEM;
	}
	return 0;
}

static int __init stp_module_init(void)
{
	u64 bytes;
	int rc;

	stp_uid = current_uid();
	stp_gid = current_gid();
	rc = stp_buffer_bytes(&bytes);
	if (rc)
		return rc;
	if (stp_bufsize_mb == 0)
		stp_bufsize_mb = bytes >> 20;
	return stp_transport_init(bytes);
}

static void __exit stp_module_exit(void)
{
	stp_transport_exit();
}

module_init(stp_module_init);
module_exit(stp_module_exit);
MODULE_LICENSE("GPL");
