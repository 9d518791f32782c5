/* The user side of the module transport, free of I/O so that it can be
 * unit-tested: message numbering (5.x or 4.x), the record framer of the
 * trace files, and the serializer that merges per-CPU records in sequence
 * order.  Contract: docs/runtime-transport.md. */
#ifndef STAPRUN_TRANSPORT_USER_H
#define STAPRUN_TRANSPORT_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef STP_USER_TEST
#define STP_USER_TEST 1
#endif
#include "transport_msgs.h"

/* --- control messages ---------------------------------------------------- */

enum stp_numbering { STP_NUM_V5, STP_NUM_V4 };

/* Wire type of message idx (enum stp_msg_index) under numbering num. */
uint32_t stp_msg_type(enum stp_numbering num, unsigned idx);
/* Message index of a wire type, or -1 when num has no such message. */
int stp_msg_index(enum stp_numbering num, uint32_t type);
/* Encodes type + payload into out (cap bytes); returns the length or -1. */
long stp_msg_encode(enum stp_numbering num, unsigned idx, const void *payload,
		    size_t len, void *out, size_t cap);

/* What stapio does with an STP_OOB_DATA text. */
enum stp_oob_kind { STP_OOB_WARNING, STP_OOB_ERROR, STP_OOB_OTHER };
/* Classifies text (len bytes, not NUL-terminated); *body is set to the
 * text after the "WARNING: " / "ERROR: " prefix, *body_len to its length
 * without trailing NULs and newlines. */
enum stp_oob_kind stp_oob_classify(const char *text, size_t len,
				   const char **body, size_t *body_len);

/* --- the record framer (one per trace file) ------------------------------ */

struct stp_framer {
	enum stp_numbering num;	/* V5: magic + seq + len; V4: seq + len */
	unsigned char *buf;	/* bytes not yet framed */
	size_t len, cap;
	uint64_t skipped_bytes;	/* non-zero bytes skipped while resyncing */
	uint64_t bad_headers;	/* headers with len 0 or > 128 KiB */
};

void stp_framer_init(struct stp_framer *f, enum stp_numbering num);
void stp_framer_free(struct stp_framer *f);
/* Appends data; returns 0 or -1 (out of memory). */
int stp_framer_feed(struct stp_framer *f, const void *data, size_t len);
/* Takes the next complete record: returns 1 and a malloc'ed payload
 * (*payload, *len, *seq), 0 when more bytes are needed, -1 on OOM. */
int stp_framer_next(struct stp_framer *f, uint32_t *seq, char **payload,
		    uint32_t *len);

/* --- the serializer ------------------------------------------------------- */

struct stp_record {
	uint32_t seq;
	uint32_t len;
	char *data;		/* owned */
	uint64_t arrived_ms;	/* when it was pushed */
};

struct stp_serial {
	struct stp_record *heap; /* min-heap on seq */
	size_t n, cap;
	uint32_t last;		/* last sequence emitted; 0 = none yet */
	uint64_t wait_ms;	/* emit out of order after this long */
	uint64_t lost_msgs;	/* sequence numbers never seen */
	uint64_t unexpected;	/* records older than one already emitted */
	bool resumed;		/* attached late (-A): no loss before the first */
};

void stp_serial_init(struct stp_serial *s, uint64_t wait_ms);
void stp_serial_free(struct stp_serial *s);
/* Takes ownership of data; returns 0 or -1 (OOM, data freed). */
int stp_serial_push(struct stp_serial *s, uint32_t seq, char *data,
		    uint32_t len, uint64_t now_ms);
/* Next record to write, when there is one: the next in sequence, or the
 * oldest once it waited wait_ms (or at once with drain).  Returns 1 and
 * fills *out (caller frees out->data), else 0. */
int stp_serial_pop(struct stp_serial *s, uint64_t now_ms, bool drain,
		   struct stp_record *out);
/* Milliseconds until stp_serial_pop can return something, or -1. */
long stp_serial_timeout(const struct stp_serial *s, uint64_t now_ms);

#endif
