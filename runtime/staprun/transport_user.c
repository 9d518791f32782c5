/* Pure logic of stapio's side of the transport; see transport_user.h. */
#include "transport_user.h"

#include <stdlib.h>
#include <string.h>

/* --- control messages ---------------------------------------------------- */

uint32_t stp_msg_type(enum stp_numbering num, unsigned idx)
{
	return (num == STP_NUM_V5 ? STP_MSG_BASE_V5 : STP_MSG_BASE_V4) + idx;
}

int stp_msg_index(enum stp_numbering num, uint32_t type)
{
	uint32_t base = num == STP_NUM_V5 ? STP_MSG_BASE_V5 : STP_MSG_BASE_V4;
	uint32_t limit = num == STP_NUM_V5 ? STP_IDX_MAX : STP_IDX_MNT_NS_FDS;

	if (type < base || type - base >= limit)
		return -1;
	return (int)(type - base);
}

long stp_msg_encode(enum stp_numbering num, unsigned idx, const void *payload,
		    size_t len, void *out, size_t cap)
{
	uint32_t type = stp_msg_type(num, idx);

	if (len > cap || cap - len < sizeof(type))
		return -1;
	memcpy(out, &type, sizeof(type));
	if (len)
		memcpy((char *)out + sizeof(type), payload, len);
	return (long)(sizeof(type) + len);
}

static bool has_prefix(const char *t, size_t len, const char *p)
{
	size_t n = strlen(p);

	return len >= n && memcmp(t, p, n) == 0;
}

enum stp_oob_kind stp_oob_classify(const char *text, size_t len,
				   const char **body, size_t *body_len)
{
	enum stp_oob_kind kind = STP_OOB_OTHER;
	size_t skip = 0;

	if (has_prefix(text, len, "WARNING: ")) {
		kind = STP_OOB_WARNING;
		skip = strlen("WARNING: ");
	} else if (has_prefix(text, len, "ERROR: ")) {
		kind = STP_OOB_ERROR;
		skip = strlen("ERROR: ");
	}
	*body = text + skip;
	len -= skip;
	while (len && (text[skip + len - 1] == '\0' ||
		       text[skip + len - 1] == '\n'))
		len--;
	*body_len = len;
	return kind;
}

/* --- the record framer ---------------------------------------------------- */

static const unsigned char stp_magic[4] = {
	STP_TRACE_MAGIC0, STP_TRACE_MAGIC1, STP_TRACE_MAGIC2, STP_TRACE_MAGIC3
};

void stp_framer_init(struct stp_framer *f, enum stp_numbering num)
{
	memset(f, 0, sizeof(*f));
	f->num = num;
}

void stp_framer_free(struct stp_framer *f)
{
	free(f->buf);
	f->buf = NULL;
	f->len = f->cap = 0;
}

int stp_framer_feed(struct stp_framer *f, const void *data, size_t len)
{
	if (f->cap - f->len < len) {
		size_t cap = f->cap ? f->cap : 65536;
		unsigned char *nb;

		while (cap - f->len < len)
			cap *= 2;
		nb = realloc(f->buf, cap);
		if (!nb)
			return -1;
		f->buf = nb;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, data, len);
	f->len += len;
	return 0;
}

/* Drops n bytes from the front, counting the non-zero ones as skipped. */
static void framer_skip(struct stp_framer *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (f->buf[i])
			f->skipped_bytes++;
	memmove(f->buf, f->buf + n, f->len - n);
	f->len -= n;
}

/* V5: index of the first possible magic start (a partial magic at the end
 * counts), or f->len. */
static size_t framer_find_magic(const struct stp_framer *f)
{
	size_t i, k;

	for (i = 0; i < f->len; i++) {
		for (k = 0; k < 4 && i + k < f->len; k++)
			if (f->buf[i + k] != stp_magic[k])
				break;
		if (k == 4 || i + k == f->len)
			return i;
	}
	return f->len;
}

int stp_framer_next(struct stp_framer *f, uint32_t *seq, char **payload,
		    uint32_t *len)
{
	size_t hlen = f->num == STP_NUM_V5 ? STP_TRACE_HDR_V5 : STP_TRACE_HDR_V4;
	size_t moff = f->num == STP_NUM_V5 ? 4 : 0;

	for (;;) {
		uint32_t s, l;

		if (f->num == STP_NUM_V5) {
			size_t at = framer_find_magic(f);

			if (at)
				framer_skip(f, at);
		}
		if (f->len < hlen)
			return 0;
		memcpy(&s, f->buf + moff, 4);
		memcpy(&l, f->buf + moff + 4, 4);
		if (l == 0 || l > STP_TRACE_PAYLOAD_MAX) {
			f->bad_headers++;
			/* V5 resyncs on the next magic; V4 can only slide */
			framer_skip(f, 1);
			continue;
		}
		if (f->len - hlen < l)
			return 0;
		*payload = malloc(l);
		if (!*payload)
			return -1;
		memcpy(*payload, f->buf + hlen, l);
		*seq = s;
		*len = l;
		memmove(f->buf, f->buf + hlen + l, f->len - hlen - l);
		f->len -= hlen + l;
		return 1;
	}
}

/* --- the serializer ------------------------------------------------------- */

void stp_serial_init(struct stp_serial *s, uint64_t wait_ms)
{
	memset(s, 0, sizeof(*s));
	s->wait_ms = wait_ms;
}

void stp_serial_free(struct stp_serial *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->heap[i].data);
	free(s->heap);
	memset(s, 0, sizeof(*s));
}

static void heap_swap(struct stp_record *a, struct stp_record *b)
{
	struct stp_record t = *a;

	*a = *b;
	*b = t;
}

int stp_serial_push(struct stp_serial *s, uint32_t seq, char *data,
		    uint32_t len, uint64_t now_ms)
{
	size_t i;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct stp_record *nh = realloc(s->heap, cap * sizeof(*nh));

		if (!nh) {
			free(data);
			return -1;
		}
		s->heap = nh;
		s->cap = cap;
	}
	i = s->n++;
	s->heap[i] = (struct stp_record){ seq, len, data, now_ms };
	while (i && s->heap[(i - 1) / 2].seq > s->heap[i].seq) {
		heap_swap(&s->heap[(i - 1) / 2], &s->heap[i]);
		i = (i - 1) / 2;
	}
	return 0;
}

static void heap_pop(struct stp_serial *s, struct stp_record *out)
{
	size_t i = 0;

	*out = s->heap[0];
	s->heap[0] = s->heap[--s->n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < s->n && s->heap[l].seq < s->heap[m].seq)
			m = l;
		if (r < s->n && s->heap[r].seq < s->heap[m].seq)
			m = r;
		if (m == i)
			break;
		heap_swap(&s->heap[i], &s->heap[m]);
		i = m;
	}
}

/* The oldest arrival among queued records (the one that waited longest). */
static uint64_t oldest_arrival(const struct stp_serial *s)
{
	uint64_t t = UINT64_MAX;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->heap[i].arrived_ms < t)
			t = s->heap[i].arrived_ms;
	return t;
}

int stp_serial_pop(struct stp_serial *s, uint64_t now_ms, bool drain,
		   struct stp_record *out)
{
	uint32_t next;

	if (!s->n)
		return 0;
	next = s->heap[0].seq;
	if (!drain && next != s->last + 1 && next > s->last &&
	    now_ms - oldest_arrival(s) < s->wait_ms)
		return 0;
	heap_pop(s, out);
	if (s->last && next <= s->last)
		s->unexpected++;
	else if (next > s->last + 1 && s->last)
		s->lost_msgs += next - s->last - 1;
	else if (!s->last && next > 1 && !s->resumed)
		s->lost_msgs += next - 1;
	if (next > s->last)
		s->last = next;
	return 1;
}

long stp_serial_timeout(const struct stp_serial *s, uint64_t now_ms)
{
	uint64_t due;

	if (!s->n)
		return -1;
	if (s->heap[0].seq == s->last + 1 || s->heap[0].seq <= s->last)
		return 0;
	due = oldest_arrival(s) + s->wait_ms;
	return due > now_ms ? (long)(due - now_ms) : 0;
}
