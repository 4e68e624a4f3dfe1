/* ccache.h - a bounded, thread-safe cache keyed by content: byte-string keys (copied in) to a
 * number or a byte blob (copied in and out). A key is the whole input a value was computed
 * from, so an entry never goes stale and nothing needs invalidating: a changed row is a new
 * key. Used for what context assembly computes from memory texts that seldom change (token
 * counts, word sets).
 *
 * The cache is split in shards by key hash, each with its own mutex, map and arena; a shard
 * whose arena passes its share of max_bytes is emptied whole (cheap, and the working set of
 * a few subjects refills it at once). Lookups compare the whole key, never only its hash.
 */
#ifndef ENGRAM_UTIL_CCACHE_H
#define ENGRAM_UTIL_CCACHE_H

#include <stddef.h>

#include "util/arena.h"

struct ccache;

/* A cache holding about max_bytes of keys and values (at least 64 KiB per shard). */
struct ccache *ccache_new(size_t max_bytes);
/* Accepts NULL. */
void ccache_free(struct ccache *c);

/* 1 and *num set when key[0..klen) holds a number, else 0. */
int ccache_get_num(struct ccache *c, const void *key, size_t klen, size_t *num);
/* Store num for key[0..klen) (replacing any value). */
void ccache_put_num(struct ccache *c, const void *key, size_t klen, size_t num);
/* A copy (in a) of the blob stored for key[0..klen), its length in *len; NULL when absent. */
void *ccache_get_blob(struct ccache *c, struct arena *a, const void *key, size_t klen,
                      size_t *len);
/* Store a copy of val[0..len) for key[0..klen) (replacing any value). */
void ccache_put_blob(struct ccache *c, const void *key, size_t klen, const void *val,
                     size_t len);

/* Entries dropped so far because a shard filled up (for tests). */
size_t ccache_evictions(struct ccache *c);

#endif
