/* Control messages and data framing shared by the module and stapio.
 *
 * The numbering is SystemTap's: 5.x numbers are the 4.x numbers plus 0x50.
 * Inside a module the numbering is fixed at compile time (5.x, or 4.x with
 * -DSTP_TRANSPORT_V4); stapio speaks both and finds out which one the
 * module uses (docs/runtime-transport.md).  This header compiles in user
 * space too (STP_USER_TEST), so it holds only constants and plain structs.
 */
#ifndef STP_TRANSPORT_MSGS_H
#define STP_TRANSPORT_MSGS_H

#include "stp_types.h"

/* Message index: the 4.x number.  The wire value is base + index. */
enum stp_msg_index {
	STP_IDX_START = 0,		/* io->mod and mod->io: struct stp_msg_start */
	STP_IDX_EXIT = 1,		/* io->mod: please stop; mod->io: stopped */
	STP_IDX_OOB_DATA = 2,		/* mod->io: "WARNING: ..." / "ERROR: ..." text */
	STP_IDX_SYSTEM = 3,		/* mod->io: NUL-terminated shell command */
	STP_IDX_TRANSPORT = 4,		/* mod->io: module is ready for STP_START */
	STP_IDX_CONNECT = 5,		/* unused */
	STP_IDX_DISCONNECT = 6,		/* unused */
	STP_IDX_BULK = 7,		/* io->mod: asks for bulk mode (refused) */
	STP_IDX_READY = 8,		/* io->mod: first message; a no-op */
	STP_IDX_RELOCATION = 9,		/* root only: struct stp_msg_relocation */
	STP_IDX_BUF_INFO = 10,		/* unused */
	STP_IDX_SUBBUFS_CONSUMED = 11,	/* unused */
	STP_IDX_REALTIME_DATA = 12,	/* unused (transport version 1) */
	STP_IDX_REQUEST_EXIT = 13,	/* mod->io: script called exit() */
	STP_IDX_TZINFO = 14,		/* root only: struct stp_msg_tzinfo */
	STP_IDX_PRIVILEGE_CREDENTIALS = 15, /* root only: int32 group mask */
	STP_IDX_REMOTE_ID = 16,		/* root only: struct stp_msg_remote_id */
	STP_IDX_PLACEHOLDER = 17,	/* 4.x STP_MAX_CMD */
	STP_IDX_NAMESPACES_PID = 18,	/* io->mod: int32 pid (ignored) */
	STP_IDX_MNT_NS_FDS = 19,	/* 5.x only: two fds (ignored) */
	STP_IDX_MAX = 20
};

#define STP_MSG_BASE_V5 0x50
#define STP_MSG_BASE_V4 0

#ifndef STP_USER_TEST
#ifdef STP_TRANSPORT_V4
#define STP_MSG_BASE STP_MSG_BASE_V4
#define STP_MSG_LIMIT 18	/* 4.x accepts 0..17; 18 is NAMESPACES_PID */
#else
#define STP_MSG_BASE STP_MSG_BASE_V5
#define STP_MSG_LIMIT STP_IDX_MAX
#endif
#define STP_MSG(idx) ((uint32_t)(STP_MSG_BASE + (idx)))
#endif

/* Payloads (host byte order, no padding surprises: all naturally aligned). */
struct stp_msg_start {
	int32_t target;		/* io->mod: target pid or 0 */
	int32_t res;		/* mod->io: stp_probes_start() result */
};

#define STP_MODULE_NAME_LEN 128
#define STP_SYMBOL_NAME_LEN 128
#define STP_TZ_NAME_LEN 64
#define STP_REMOTE_URI_LEN 128

struct stp_msg_relocation {
	char module[STP_MODULE_NAME_LEN];
	char reloc[STP_SYMBOL_NAME_LEN];
	uint64_t address;
};
#define STP_RELOCATION_LEGACY_LEN (64 + 64 + 8)

struct stp_msg_tzinfo {
	int64_t tz_gmtoff;
	char tz_name[STP_TZ_NAME_LEN];
};

struct stp_msg_privilege_credentials {
	int32_t pc_group_mask;
};

struct stp_msg_remote_id {
	int32_t remote_id;
	char remote_uri[STP_REMOTE_URI_LEN];
};

struct stp_msg_ns_pid {
	int32_t target;
};

/* Control-channel limits. */
#define STP_CTL_PAYLOAD_MAX 384		/* largest payload the module sends */
#define STP_CTL_POOL_BUFFERS 256	/* pooled message buffers */
#define STP_CTL_WRITE_MAX 1024		/* largest write the module accepts */

/* Data channel: each print flush is one record, header then payload. */
#define STP_TRACE_MAGIC0 0xF0
#define STP_TRACE_MAGIC1 0x9F
#define STP_TRACE_MAGIC2 0xA9
#define STP_TRACE_MAGIC3 0xBA
#define STP_TRACE_HDR_V5 12		/* magic[4], u32 sequence, u32 len */
#define STP_TRACE_HDR_V4 8		/* u32 sequence, u32 len */
#define STP_TRACE_PAYLOAD_MAX (128 * 1024) /* readers reject longer records */
#define STP_PRINT_BUF_SIZE 8192		/* per-CPU print buffer */

/* Module parameter _stp_bufsize, MB per CPU (0 = default). */
#define STP_BUFSIZE_DEFAULT_MB 16
#define STP_BUFSIZE_MAX_MB 4095

#endif /* STP_TRANSPORT_MSGS_H */
