/* context_cache.h - the process-wide cache of context inputs (issue 22): per (tenant,
 * subject), every row POST /v1/context reads of the subject today (the newest memories of
 * each candidate kind, the newest episodes, the resolutions, the candidates' source
 * episodes), as of one context generation (store_context_gen, schema step "context_gen": a
 * number the database changes inside every transaction that writes one of the subject's
 * episodes, memories or resolutions).
 *
 * A request reads the generation first (one indexed row, from the same connection, primary
 * or replica, that would serve the rows), then takes the entry of that generation or reads
 * the rows and publishes them under it. Reading the generation before the rows is what
 * makes an entry sound: rows read after generation g are those of g unless a write came in
 * between, and that write changed the generation, so the entry is never found again. Only
 * the rows are cached; everything that depends on the request (the task, the budget, the
 * session, the clock: validity windows) is computed per request from them, so a cached
 * answer is byte for byte the uncached one.
 *
 * Entries are immutable once published and counted: a request holds its entry until its
 * arena is freed (arena_defer). At most the configured budget (STATEWAVE_CONTEXT_CACHE_MB)
 * in all, the least recently used entry goes first; an entry larger than an eighth of the
 * budget is used by its request and not kept. Budget 0 turns the cache off. */
#ifndef ENGRAM_SERVICE_CONTEXT_CACHE_H
#define ENGRAM_SERVICE_CONTEXT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "service/context.h"

#define CONTEXT_CACHE_DEFAULT_MB 64

struct ctx_entry;

/* The budget in bytes (0 = off); context_cache_configure drops what no longer fits. */
void context_cache_configure(size_t bytes);
size_t context_cache_budget(void);

/* The entry of (tenant, subject) at gen, read in connection epoch epoch
 * (store_connection_epoch), held (release it), or NULL. */
struct ctx_entry *context_cache_get(const char *tenant, const char *subject, int64_t gen,
                                    uint64_t epoch);
void context_cache_release(struct ctx_entry *e);
/* Release e when arena a is freed. */
void context_cache_release_with(struct arena *a, struct ctx_entry *e);

/* A new entry to fill: read the rows into its arena, then set its input. */
struct ctx_entry *context_cache_builder(void);
struct arena *context_cache_arena(struct ctx_entry *b);
void context_cache_set_input(struct ctx_entry *b, const struct context_input *in);
/* Publish b as (tenant, subject) at gen and epoch, replacing an older entry, unless keep is
 * 0 or it is too large to keep. b stays held by the caller either way. */
void context_cache_put(struct ctx_entry *b, const char *tenant, const char *subject,
                       int64_t gen, uint64_t epoch, int keep);

/* What an entry holds (input.now is the caller's to set). */
const struct context_input *context_cache_input(const struct ctx_entry *e);

/* Counters since start (tests, bench): lookups that found their entry, and those that did
 * not. Entries and bytes held now. */
struct context_cache_stats {
    uint64_t hits, misses;
    size_t entries, bytes;
};
void context_cache_stats(struct context_cache_stats *out);

/* Drop every entry (tests, shutdown). */
void context_cache_clear(void);

#endif
