/* vcache.h - the process-wide cache of subjects' compact vector codes (issue 18): what a
 * semantic search of a large subject reads instead of scanning memory_codes again. An entry
 * is (tenant, subject) → every active code of the subject as of one generation
 * (store_memory_codes_gen); a search that reads another generation rebuilds it. Entries are
 * immutable and counted: a search holds one without the lock while it scores. At most
 * VCACHE_BUDGET bytes in all; the least recently used entry goes first. Subjects with fewer
 * than VCACHE_MIN_ROWS codes are not kept (the table answers them fast). */
#ifndef ENGRAM_SERVICE_VCACHE_H
#define ENGRAM_SERVICE_VCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define VCACHE_BUDGET ((size_t)256 << 20)
#define VCACHE_MIN_ROWS 64

struct vc_entry;

/* The entry of (tenant, subject) at generation gen with codes of dimension dim, held (give
 * it back with vcache_release), or NULL. */
struct vc_entry *vcache_get(const char *tenant, const char *subject, int64_t gen, size_t dim);
void vcache_release(struct vc_entry *e);

/* A new entry being filled from a scan of one subject's codes (every kind). */
struct vc_entry *vcache_builder(size_t dim);
/* Add one row; -1 when it cannot be kept (another width, or over the budget): discard the
 * builder then. */
int vcache_add(struct vc_entry *b, const struct memory_code *row);
/* Publish b as (tenant, subject) at gen (replacing an older entry), or free it when it is
 * too small to keep. b is the cache's afterwards. */
void vcache_put(struct vc_entry *b, const char *tenant, const char *subject, int64_t gen);
void vcache_discard(struct vc_entry *b);

/* Rows of an entry. */
size_t vcache_rows(const struct vc_entry *e);
const char *vcache_id(const struct vc_entry *e, size_t i);
const char *vcache_kind(const struct vc_entry *e, size_t i);
const unsigned char *vcache_code(const struct vc_entry *e, size_t i);

/* Drop every entry (tests, shutdown). */
void vcache_clear(void);

#endif
