/* Associative arrays: preallocated nodes, a seeded hash table, and a list
 * that keeps SystemTap's iteration order (see map.h). */
#include "map.h"

#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

static struct stp_map_node *node_of(struct stp_map_link *l)
{
	return (struct stp_map_node *)((char *)l - offsetof(struct stp_map_node, list));
}

static void link_init(struct stp_map_link *h)
{
	h->next = h->prev = h;
}

static void link_del(struct stp_map_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
}

/* insert l after pos */
static void link_add_after(struct stp_map_link *l, struct stp_map_link *pos)
{
	l->prev = pos;
	l->next = pos->next;
	pos->next->prev = l;
	pos->next = l;
}

static void link_add_tail(struct stp_map_link *l, struct stp_map_link *head)
{
	link_add_after(l, head->prev);
}

static uint32_t bucket_count(uint32_t max_entries)
{
	uint32_t n = 16;

	while (n < max_entries && n < (1u << 30))
		n <<= 1;
	return n;
}

static size_t value_size(enum stp_map_type type, const struct stp_hist *hist)
{
	if (type == STP_MAP_LONG)
		return sizeof(int64_t);
	if (type == STP_MAP_STRING)
		return ALIGN8(MAXSTRINGLEN);
	return sizeof(struct stp_stat) + (size_t)hist->buckets * sizeof(int64_t);
}

/* Node layout; returns the node size or 0 for a bad shape. */
static size_t layout(enum stp_map_type type, int nkeys, const bool *str_key,
		     const struct stp_hist *hist, size_t *key_off, size_t *val_off)
{
	size_t off = 0;
	int i;

	if (nkeys < 1 || nkeys > STP_MAP_MAX_KEYS || (type == STP_MAP_STAT && !hist))
		return 0;
	for (i = 0; i < nkeys; i++) {
		key_off[i] = off;
		off += str_key && str_key[i] ? ALIGN8(MAXSTRINGLEN) : sizeof(int64_t);
	}
	*val_off = off;
	off += value_size(type, hist);
	return ALIGN8(sizeof(struct stp_map_node) + off);
}

size_t stp_map_mem_size(enum stp_map_type type, int nkeys, const bool *str_key,
			const struct stp_hist *hist, uint32_t max_entries)
{
	size_t key_off[STP_MAP_MAX_KEYS], val_off;
	size_t node = layout(type, nkeys, str_key, hist, key_off, &val_off);

	if (!node || max_entries == 0)
		return 0;
	return bucket_count(max_entries) * sizeof(struct stp_map_node *) +
	       (size_t)max_entries * node;
}

static struct stp_map_node *node_at(const struct stp_map *m, uint32_t i)
{
	return (struct stp_map_node *)(m->nodes + (size_t)i * m->node_size);
}

int stp_map_init(struct stp_map *m, enum stp_map_type type, int nkeys, const bool *str_key,
		 const struct stp_hist *hist, uint32_t max_entries, bool wrap, uint64_t seed,
		 void *mem, size_t mem_size)
{
	size_t need = stp_map_mem_size(type, nkeys, str_key, hist, max_entries);
	uint32_t i;
	int k;

	if (!need || !mem || mem_size < need)
		return STP_MAP_EINVAL;
	memset(m, 0, sizeof(*m));
	m->node_size = layout(type, nkeys, str_key, hist, m->key_off, &m->val_off);
	m->type = type;
	m->nkeys = nkeys;
	for (k = 0; k < nkeys; k++)
		m->str_key[k] = str_key && str_key[k];
	m->hist = hist;
	m->max_entries = max_entries;
	m->wrap = wrap;
	m->seed = seed;
	m->nbuckets = bucket_count(max_entries);
	m->buckets = mem;
	m->nodes = (char *)mem + m->nbuckets * sizeof(struct stp_map_node *);
	memset(m->buckets, 0, m->nbuckets * sizeof(struct stp_map_node *));
	link_init(&m->head);
	link_init(&m->pool);
	for (i = 0; i < max_entries; i++)
		link_add_tail(&node_at(m, i)->list, &m->pool);
	return 0;
}

/* ---- keys and hashing ---- */

static const char *key_text(const char *s)
{
	return s ? s : "";
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint32_t hash_key(const struct stp_map *m, const union stp_key *key)
{
	uint64_t h = mix(m->seed ^ 0x9e3779b97f4a7c15ULL);
	int i;

	for (i = 0; i < m->nkeys; i++) {
		if (m->str_key[i]) {
			const char *s = key_text(key[i].str);
			size_t n;

			/* only the chars a stored key keeps */
			for (n = 0; s[n] && n < MAXSTRINGLEN - 1; n++)
				h = (h ^ (unsigned char)s[n]) * 0x100000001b3ULL;
			h = mix(h ^ n);
		} else {
			h = mix(h ^ (uint64_t)key[i].num);
		}
	}
	return (uint32_t)(h ^ (h >> 32));
}

int64_t stp_map_key_long(const struct stp_map *m, const struct stp_map_node *n, int col)
{
	int64_t v;

	memcpy(&v, n->data + m->key_off[col], sizeof(v));
	return v;
}

const char *stp_map_key_str(const struct stp_map *m, const struct stp_map_node *n, int col)
{
	return n->data + m->key_off[col];
}

static bool key_col_equal(const struct stp_map *m, const struct stp_map_node *n, int i,
			  const union stp_key *key)
{
	if (m->str_key[i])
		return strncmp(stp_map_key_str(m, n, i), key_text(key[i].str),
			       MAXSTRINGLEN - 1) == 0;
	return stp_map_key_long(m, n, i) == key[i].num;
}

bool stp_map_node_matches(const struct stp_map *m, const struct stp_map_node *n,
			  const union stp_key *key, const bool *wild)
{
	int i;

	for (i = 0; i < m->nkeys; i++)
		if (!(wild && wild[i]) && !key_col_equal(m, n, i, key))
			return false;
	return true;
}

static void store_key(const struct stp_map *m, struct stp_map_node *n,
		      const union stp_key *key)
{
	int i;

	for (i = 0; i < m->nkeys; i++) {
		char *dst = n->data + m->key_off[i];

		if (m->str_key[i]) {
			const char *s = key_text(key[i].str);
			size_t len = strlen(s);

			if (len > MAXSTRINGLEN - 1)
				len = MAXSTRINGLEN - 1;
			memcpy(dst, s, len);
			dst[len] = '\0';
		} else {
			memcpy(dst, &key[i].num, sizeof(int64_t));
		}
	}
}

/* The key of a node, for looking it up in another map of the shape. */
static void node_key(const struct stp_map *m, const struct stp_map_node *n, union stp_key *key)
{
	int i;

	for (i = 0; i < m->nkeys; i++) {
		if (m->str_key[i])
			key[i].str = stp_map_key_str(m, n, i);
		else
			key[i].num = stp_map_key_long(m, n, i);
	}
}

/* ---- hash table ---- */

static struct stp_map_node **bucket(const struct stp_map *m, uint32_t hash)
{
	return &m->buckets[hash & (m->nbuckets - 1)];
}

static void unhash(struct stp_map *m, struct stp_map_node *n)
{
	struct stp_map_node **pp = bucket(m, n->hash);

	while (*pp && *pp != n)
		pp = &(*pp)->chain;
	if (*pp)
		*pp = n->chain;
	n->chain = NULL;
}

struct stp_map_node *stp_map_find(const struct stp_map *m, const union stp_key *key)
{
	uint32_t h = hash_key(m, key);
	struct stp_map_node *n;

	for (n = *bucket(m, h); n; n = n->chain)
		if (n->hash == h && stp_map_node_matches(m, n, key, NULL))
			return n;
	return NULL;
}

/* ---- values ---- */

int64_t *stp_map_node_long(const struct stp_map *m, struct stp_map_node *n)
{
	return (int64_t *)(void *)(n->data + m->val_off);
}

char *stp_map_node_str(const struct stp_map *m, struct stp_map_node *n)
{
	return n->data + m->val_off;
}

struct stp_stat *stp_map_node_stat(const struct stp_map *m, struct stp_map_node *n)
{
	return (struct stp_stat *)(void *)(n->data + m->val_off);
}

static void clear_value(const struct stp_map *m, struct stp_map_node *n)
{
	if (m->type == STP_MAP_LONG)
		*stp_map_node_long(m, n) = 0;
	else if (m->type == STP_MAP_STRING)
		stp_map_node_str(m, n)[0] = '\0';
	else
		stp_stat_clear(m->hist, stp_map_node_stat(m, n));
}

/* A node for a new key: from the pool, or the oldest entry of a wrap map. */
static struct stp_map_node *take_node(struct stp_map *m)
{
	struct stp_map_node *n;

	if (m->pool.next != &m->pool) {
		n = node_of(m->pool.next);
		m->num++;
	} else if (m->wrap && m->head.next != &m->head) {
		n = node_of(m->head.next);
		unhash(m, n);
	} else {
		return NULL;
	}
	link_del(&n->list);
	return n;
}

struct stp_map_node *stp_map_lookup_create(struct stp_map *m, const union stp_key *key,
					   int *err)
{
	struct stp_map_node *n = stp_map_find(m, key), **b;

	if (n)
		return n;
	n = take_node(m);
	if (!n) {
		if (err)
			*err = STP_MAP_EOVERFLOW;
		return NULL;
	}
	store_key(m, n, key);
	clear_value(m, n);
	n->hash = hash_key(m, key);
	b = bucket(m, n->hash);
	n->chain = *b;
	*b = n;
	link_add_tail(&n->list, &m->head);
	return n;
}

int64_t stp_map_get_long(const struct stp_map *m, const union stp_key *key)
{
	struct stp_map_node *n = stp_map_find(m, key);

	return n ? *stp_map_node_long(m, n) : 0;
}

const char *stp_map_get_str(const struct stp_map *m, const union stp_key *key)
{
	struct stp_map_node *n = stp_map_find(m, key);

	return n ? stp_map_node_str(m, n) : "";
}

const struct stp_stat *stp_map_get_stat(const struct stp_map *m, const union stp_key *key)
{
	struct stp_map_node *n = stp_map_find(m, key);

	return n ? stp_map_node_stat(m, n) : NULL;
}

int stp_map_set_long(struct stp_map *m, const union stp_key *key, int64_t val)
{
	int err = 0;
	struct stp_map_node *n = stp_map_lookup_create(m, key, &err);

	if (n)
		*stp_map_node_long(m, n) = val;
	return err;
}

int stp_map_add_long(struct stp_map *m, const union stp_key *key, int64_t delta)
{
	int err = 0;
	struct stp_map_node *n = stp_map_lookup_create(m, key, &err);

	if (n)
		*stp_map_node_long(m, n) = (int64_t)((uint64_t)*stp_map_node_long(m, n) +
						     (uint64_t)delta);
	return err;
}

/* strlcat into a value of MAXSTRINGLEN bytes */
static void str_append(char *dst, const char *src)
{
	size_t used = strlen(dst), len = strlen(src);

	if (len > MAXSTRINGLEN - 1 - used)
		len = MAXSTRINGLEN - 1 - used;
	memmove(dst + used, src, len);
	dst[used + len] = '\0';
}

int stp_map_set_str(struct stp_map *m, const union stp_key *key, const char *val)
{
	int err = 0;
	struct stp_map_node *n = stp_map_lookup_create(m, key, &err);

	if (n) {
		char *dst = stp_map_node_str(m, n);

		if (dst != val) {
			dst[0] = '\0';
			str_append(dst, key_text(val));
		}
	}
	return err;
}

int stp_map_append_str(struct stp_map *m, const union stp_key *key, const char *val)
{
	int err = 0;
	struct stp_map_node *n = stp_map_lookup_create(m, key, &err);

	if (n)
		str_append(stp_map_node_str(m, n), key_text(val));
	return err;
}

int stp_map_add_stat(struct stp_map *m, const union stp_key *key, int64_t val)
{
	int err = 0;
	struct stp_map_node *n = stp_map_lookup_create(m, key, &err);

	if (n)
		stp_stat_add(m->hist, stp_map_node_stat(m, n), val);
	return err;
}

/* ---- membership, deletion, iteration ---- */

bool stp_map_exists(const struct stp_map *m, const union stp_key *key)
{
	return stp_map_find(m, key) != NULL;
}

struct stp_map_node *stp_map_first(const struct stp_map *m)
{
	return m->head.next == &m->head ? NULL : node_of(m->head.next);
}

struct stp_map_node *stp_map_next(const struct stp_map *m, const struct stp_map_node *n)
{
	return n->list.next == &m->head ? NULL : node_of(n->list.next);
}

bool stp_map_exists_matching(const struct stp_map *m, const union stp_key *key,
			     const bool *wild)
{
	struct stp_map_node *n;

	for (n = stp_map_first(m); n; n = stp_map_next(m, n))
		if (stp_map_node_matches(m, n, key, wild))
			return true;
	return false;
}

static void release(struct stp_map *m, struct stp_map_node *n)
{
	unhash(m, n);
	link_del(&n->list);
	link_add_after(&n->list, &m->pool);
	m->num--;
}

void stp_map_delete(struct stp_map *m, const union stp_key *key)
{
	struct stp_map_node *n = stp_map_find(m, key);

	if (n)
		release(m, n);
}

int stp_map_delete_matching(struct stp_map *m, const union stp_key *key, const bool *wild)
{
	struct stp_map_node *n = stp_map_first(m), *next;
	int count = 0;

	for (; n; n = next) {
		next = stp_map_next(m, n);
		if (stp_map_node_matches(m, n, key, wild)) {
			release(m, n);
			count++;
		}
	}
	return count;
}

void stp_map_clear(struct stp_map *m)
{
	while (m->head.next != &m->head)
		release(m, node_of(m->head.next));
}

/* ---- sorting ---- */

static int64_t stat_column(const struct stp_stat *s, int column)
{
	switch (column) {
	case STP_SORT_SUM:
		return s->sum;
	case STP_SORT_MIN:
		return s->min;
	case STP_SORT_MAX:
		return s->max;
	case STP_SORT_AVG:
		return s->count ? s->sum / s->count : 0;
	default:
		return s->count;
	}
}

static int cmp_long(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

/* <0, 0, >0 as a sorts before, with, after b in ascending order */
static int compare(const struct stp_map *m, struct stp_map_node *a, struct stp_map_node *b,
		   int column)
{
	if (column > 0) {
		if (m->str_key[column - 1])
			return strcmp(stp_map_key_str(m, a, column - 1),
				      stp_map_key_str(m, b, column - 1));
		return cmp_long(stp_map_key_long(m, a, column - 1),
				stp_map_key_long(m, b, column - 1));
	}
	if (m->type == STP_MAP_STAT)
		return cmp_long(stat_column(stp_map_node_stat(m, a), column),
				stat_column(stp_map_node_stat(m, b), column));
	if (m->type == STP_MAP_STRING)
		return strcmp(stp_map_node_str(m, a), stp_map_node_str(m, b));
	return cmp_long(*stp_map_node_long(m, a), *stp_map_node_long(m, b));
}

/* true when a must come after b (strictly) */
static bool after(const struct stp_map *m, struct stp_map_link *a, struct stp_map_link *b,
		  int column, int dir)
{
	int c = compare(m, node_of(a), node_of(b), column);

	return dir < 0 ? c < 0 : c > 0;
}

struct sort_ctx {
	const struct stp_map *m;
	int column, dir;
};

/* Merge two NULL-terminated chains (linked by next); a's entries win ties. */
static struct stp_map_link *merge(const struct sort_ctx *s, struct stp_map_link *a,
				  struct stp_map_link *b)
{
	struct stp_map_link first, *tail = &first;

	while (a && b) {
		if (after(s->m, a, b, s->column, s->dir)) {
			tail->next = b;
			b = b->next;
		} else {
			tail->next = a;
			a = a->next;
		}
		tail = tail->next;
	}
	tail->next = a ? a : b;
	return first.next;
}

static struct stp_map_link *merge_sort(const struct sort_ctx *s, struct stp_map_link *l,
				       uint32_t n)
{
	struct stp_map_link *right, *p = l;
	uint32_t i;

	if (n < 2)
		return l;
	for (i = 1; i < n / 2; i++)
		p = p->next;
	right = p->next;
	p->next = NULL;
	return merge(s, merge_sort(s, l, n / 2), merge_sort(s, right, n - n / 2));
}

void stp_map_sort(struct stp_map *m, int column, int dir)
{
	struct sort_ctx s = { m, column, dir };
	struct stp_map_link *chain, *prev = &m->head;

	if (m->num < 2)
		return;
	m->head.prev->next = NULL;
	chain = merge_sort(&s, m->head.next, m->num);
	m->head.next = chain;
	for (; chain; prev = chain, chain = chain->next)
		chain->prev = prev;
	prev->next = &m->head;
	m->head.prev = prev;
}

static void swap_with_next(struct stp_map_link *a)
{
	struct stp_map_link *b = a->next;

	link_del(a);
	link_add_after(a, b);
}

/* SystemTap's _stp_map_sortn for 0 < n <= 30: bubble passes over the
 * first n entries, then each later entry that beats the n-th is inserted
 * into place and the displaced n-th entry slides out of the top n. */
static void partial_sort(struct stp_map *m, int n, int column, int dir)
{
	struct stp_map_link *head = &m->head, *a = head->next, *c, *last, *tmp;
	int swaps = 1, num;

	while (swaps) {
		num = n;
		swaps = 0;
		a = head->next;
		c = a->next->next;
		while (a->next != head && --num > 0) {
			if (after(m, a, a->next, column, dir)) {
				swaps++;
				swap_with_next(a);
			}
			a = c->prev;
			c = c->next;
		}
	}
	last = a;
	for (a = a->next; a != head; a = tmp) {
		tmp = a->next;
		for (c = last; c != head && after(m, c, a, column, dir); c = c->prev)
			;
		if (c != last) {
			link_del(a);
			link_add_after(a, c);
			last = last->prev;
		}
	}
}

void stp_map_sortn(struct stp_map *m, int n, int column, int dir)
{
	if (n == 0 || n > 30)
		stp_map_sort(m, column, dir);
	else if (m->num > 0)
		partial_sort(m, n, column, dir);
}

/* ---- per-CPU aggregation ---- */

static int aggregate_key(struct stp_map *out, struct stp_map *const *parts, int nparts,
			 const struct stp_stat **scratch, const union stp_key *key)
{
	struct stp_map_node *n, *o;
	int err = 0, i, k = 0;

	if (stp_map_find(out, key))
		return 0;
	o = stp_map_lookup_create(out, key, &err);
	if (!o)
		return err;
	for (i = 0; i < nparts; i++) {
		n = stp_map_find(parts[i], key);
		if (n)
			scratch[k++] = stp_map_node_stat(parts[i], n);
	}
	stp_stat_aggregate(out->hist, stp_map_node_stat(out, o), scratch, k);
	return 0;
}

int stp_map_aggregate(struct stp_map *out, struct stp_map *const *parts, int nparts,
		      const struct stp_stat **scratch)
{
	union stp_key key[STP_MAP_MAX_KEYS];
	struct stp_map_node *n;
	int i, err;

	stp_map_clear(out);
	for (i = 0; i < nparts; i++) {
		for (n = stp_map_first(parts[i]); n; n = stp_map_next(parts[i], n)) {
			node_key(parts[i], n, key);
			err = aggregate_key(out, parts, nparts, scratch, key);
			if (err)
				return err;
		}
	}
	return 0;
}
