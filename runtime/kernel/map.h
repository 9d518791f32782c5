/* Associative arrays with SystemTap's semantics (language.md 3.6).
 *
 * A map has a fixed shape -- 1..STP_MAP_MAX_KEYS key columns, each a long
 * or a string, and a value that is a long, a string or a statistic -- and
 * a fixed capacity (MAXMAPENTRIES or the declared size).  All entries are
 * preallocated in one block the caller provides (stp_map_mem_size bytes;
 * vmalloc/kmalloc in the module, calloc in tests); nothing allocates after
 * stp_map_init.  Strings, keys and values, are truncated to
 * MAXSTRINGLEN-1 chars.  Locking and per-CPU copies belong to the caller:
 * a statistics array is one map per CPU plus one aggregate map filled by
 * stp_map_aggregate.
 *
 * Semantics:
 *  - reading a missing key (stp_map_find, stp_map_get_*) creates nothing;
 *    any store creates the entry, even storing 0 or "";
 *  - a full plain map refuses new keys with STP_MAP_EOVERFLOW: the caller
 *    raises "Array overflow, check MAXMAPENTRIES" (or "Array overflow,
 *    check size limit (N)" for a declared size); a full wrap map (`%`)
 *    evicts its oldest entry (the head of the list) instead;
 *  - the list order: a new key is appended, overwriting keeps the
 *    position, stp_map_sort re-links the whole list (stable), and
 *    stp_map_sortn moves the top n to the front as SystemTap's
 *    _stp_map_sortn does; an unsorted foreach walks the list.
 */
#ifndef STP_MAP_H
#define STP_MAP_H

#include "stp_types.h"
#include "stat.h"

#ifndef MAXSTRINGLEN
#define MAXSTRINGLEN 512
#endif
#ifndef MAXMAPENTRIES
#define MAXMAPENTRIES 2048
#endif
#define STP_MAP_MAX_KEYS 9

enum stp_map_type { STP_MAP_LONG, STP_MAP_STRING, STP_MAP_STAT };

/* A key position or a lookup key: num for long columns, str for string
 * columns (NULL reads as ""). */
union stp_key {
	int64_t num;
	const char *str;
};

/* Errors */
#define STP_MAP_EOVERFLOW (-1)  /* plain map full */
#define STP_MAP_EINVAL    (-2)  /* bad shape or too little memory */

/* Sort columns besides 0 (value) and 1..nkeys (key column): statistics
 * aggregates, as runtime/map.c numbers them.  Value sorts of a stats map
 * use @count. */
#define STP_SORT_COUNT (-5)
#define STP_SORT_SUM   (-4)
#define STP_SORT_MIN   (-3)
#define STP_SORT_MAX   (-2)
#define STP_SORT_AVG   (-1)

struct stp_map_link {
	struct stp_map_link *next, *prev;
};

/* An entry; keys and value follow at the map's offsets. */
struct stp_map_node {
	struct stp_map_link list;    /* list order (or the free pool) */
	struct stp_map_node *chain;  /* next in the hash bucket */
	uint32_t hash;
	uint32_t pad;
	char data[];
};

struct stp_map {
	enum stp_map_type type;
	int nkeys;
	bool str_key[STP_MAP_MAX_KEYS];      /* column i is a string */
	size_t key_off[STP_MAP_MAX_KEYS];    /* offsets in node->data */
	size_t val_off, node_size;
	const struct stp_hist *hist;          /* STP_MAP_STAT: the shape */
	uint32_t max_entries, num;
	uint32_t nbuckets;                    /* a power of two */
	bool wrap;
	uint64_t seed;
	struct stp_map_node **buckets;
	char *nodes;                          /* max_entries nodes */
	struct stp_map_link head;             /* entries in list order */
	struct stp_map_link pool;             /* free nodes */
};

/* Bytes of memory a map of this shape needs. */
size_t stp_map_mem_size(enum stp_map_type type, int nkeys, const bool *str_key,
			const struct stp_hist *hist, uint32_t max_entries);

/* Set up m over mem (at least stp_map_mem_size bytes, 8-byte aligned).
 * hist is used (not copied) for STP_MAP_STAT and may be NULL otherwise.
 * seed varies the hash (SystemTap seeds it randomly at module load). */
int stp_map_init(struct stp_map *m, enum stp_map_type type, int nkeys, const bool *str_key,
		 const struct stp_hist *hist, uint32_t max_entries, bool wrap, uint64_t seed,
		 void *mem, size_t mem_size);

/* Lookup without creating; NULL when missing. */
struct stp_map_node *stp_map_find(const struct stp_map *m, const union stp_key *key);

/* Lookup, creating a cleared entry (0, "", empty stats) at the end of the
 * list when missing.  NULL with *err = STP_MAP_EOVERFLOW when full. */
struct stp_map_node *stp_map_lookup_create(struct stp_map *m, const union stp_key *key,
					   int *err);

/* Entry accessors */
int64_t *stp_map_node_long(const struct stp_map *m, struct stp_map_node *n);
char *stp_map_node_str(const struct stp_map *m, struct stp_map_node *n);
struct stp_stat *stp_map_node_stat(const struct stp_map *m, struct stp_map_node *n);
int64_t stp_map_key_long(const struct stp_map *m, const struct stp_map_node *n, int col);
const char *stp_map_key_str(const struct stp_map *m, const struct stp_map_node *n, int col);

/* Reads: 0 / "" / NULL for a missing key, which is not created. */
int64_t stp_map_get_long(const struct stp_map *m, const union stp_key *key);
const char *stp_map_get_str(const struct stp_map *m, const union stp_key *key);
const struct stp_stat *stp_map_get_stat(const struct stp_map *m, const union stp_key *key);

/* Stores: 0 or STP_MAP_EOVERFLOW.  add_long is `+=` (and ++),
 * append_str is `.=`, add_stat is `<<<`. */
int stp_map_set_long(struct stp_map *m, const union stp_key *key, int64_t val);
int stp_map_add_long(struct stp_map *m, const union stp_key *key, int64_t delta);
int stp_map_set_str(struct stp_map *m, const union stp_key *key, const char *val);
int stp_map_append_str(struct stp_map *m, const union stp_key *key, const char *val);
int stp_map_add_stat(struct stp_map *m, const union stp_key *key, int64_t val);

/* `key in m` */
bool stp_map_exists(const struct stp_map *m, const union stp_key *key);

/* Slices: wild[i] true makes column i a `*`.  wild may be NULL (exact). */
bool stp_map_node_matches(const struct stp_map *m, const struct stp_map_node *n,
			  const union stp_key *key, const bool *wild);
bool stp_map_exists_matching(const struct stp_map *m, const union stp_key *key,
			     const bool *wild);

/* delete m[key] (missing is fine), delete m[slice], delete m */
void stp_map_delete(struct stp_map *m, const union stp_key *key);
int stp_map_delete_matching(struct stp_map *m, const union stp_key *key, const bool *wild);
void stp_map_clear(struct stp_map *m);

/* Iteration in list order; NULL at the end. */
struct stp_map_node *stp_map_first(const struct stp_map *m);
struct stp_map_node *stp_map_next(const struct stp_map *m, const struct stp_map_node *n);

static inline uint32_t stp_map_size(const struct stp_map *m)
{
	return m->num;
}

/* Sort the list by column (0 value, 1..nkeys key, STP_SORT_* for stats)
 * ascending (dir > 0) or descending (dir < 0); strings by strcmp; stable.
 * sortn: the `limit n` form -- SystemTap's partial sort for 0 < n <= 30
 * (the first n entries end up sorted, ties in list order, the rest in
 * the order that algorithm leaves), a full sort otherwise. */
void stp_map_sort(struct stp_map *m, int column, int dir);
void stp_map_sortn(struct stp_map *m, int n, int column, int dir);

/* Fill `out` (a STP_MAP_STAT map of the same shape) with the per-CPU
 * maps parts[0..nparts) combined key by key (stp_stat_aggregate, so
 * @variance matches).  Order: parts[0]'s list, then keys first seen in
 * later parts.  scratch holds nparts pointers.  STP_MAP_EOVERFLOW when
 * out cannot hold every key (SystemTap's "aggregation overflow"). */
int stp_map_aggregate(struct stp_map *out, struct stp_map *const *parts, int nparts,
		      const struct stp_stat **scratch);

#endif
