/* sqlite-internal.h - what the files of the SQLite backend share: the connection handle, the
 * statement cache, error reporting, value binding and reading, and the row readers.
 *
 * One file per area (sqlite_episodes.c, sqlite_jobs.c, ...). An area keeps its SQL beside
 * its code as `static const char SQL_X[] = "...";` and runs it with sq_stmt(), which prepares
 * it on first use and caches it per connection, keyed by the address of the text: adding a
 * statement never touches a shared list. Its ops are declared here and listed in the table
 * in sqlite.c. Timestamps are stored as fixed-width TEXT (ts_format_fixed), so text order is
 * time order; JSON as TEXT; embeddings as BLOBs of little-endian float32.
 */
#ifndef ENGRAM_STORE_SQLITE_INTERNAL_H
#define ENGRAM_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>

#include "store/store-internal.h"
#include "util/buf.h"

#define SQ_BUSY_TIMEOUT_MS 5000

/* Column lists in the order sq_read_episode() and sq_read_memory() expect. */
#define SQ_EPISODE_COLS                                                                   \
    "id, subject_id, tenant_id, session_id, source, type, payload, metadata, provenance, " \
    "idempotency_key, created_at, last_compiled_at, occurred_at"
#define SQ_MEMORY_COLS                                                                    \
    "id, subject_id, tenant_id, kind, content, summary, confidence, valid_from, valid_to, " \
    "source_episode_ids, metadata, status, embedding, sensitivity_labels, created_at, "    \
    "updated_at"

/* One prepared statement of the cache. */
struct sq_cached {
    const char *sql;        /* the caller's static text; its address is the key */
    sqlite3_stmt *stmt;     /* owned; finalized by sq_close */
};

struct sqlite_store {
    struct store base;          /* must be first: store * converts to this */
    sqlite3 *db;                /* the connection; owned */
    struct sq_cached *cache;    /* statements prepared so far, in first-use order; owned */
    size_t ncache, cache_cap;
    struct sq_ckpt *ckpt;       /* this file's background checkpointer, or NULL; counted */
    int writing;                /* the open transaction is a write one (sq_ckpt_write_begin) */
    int bulk;                   /* the counter triggers stand aside (sqlite_counters.c) */
    int bulk_schema_known;      /* bulk_ok is that of schema_version bulk_schema */
    int bulk_ok;                /* the schema's counter triggers can stand aside */
    int64_t bulk_schema;
};

/* ---- counters of bulk writes (sqlite_counters.c) ---- */

/* The option name the counter triggers ask sqlite_compileoption_used() about (schema step
 * counters_bulk_writes): 1 on an Engram connection inside a bulk write, 0 everywhere else. */
#define SQ_BULK_OPTION "ENGRAM_BULK_COUNTERS"
#define SQ_BULK_OFF "NOT sqlite_compileoption_used('" SQ_BULK_OPTION "')"

enum sq_bulk_table { SQ_BULK_EPISODES, SQ_BULK_MEMORIES };

/* A bulk write in progress: the rows of table from seq lo on are its own. on: the counters
 * are this code's (0 on a schema before step counters_bulk_writes, whose triggers keep
 * them as ever). */
struct sq_runs;
struct sq_bulk {
    enum sq_bulk_table table;
    int64_t lo;
    int on;
    int fed;                /* rows came through sq_bulk_add */
    struct sq_runs *runs;   /* owned until sq_bulk_end */
};

/* One inserted row as the counters read it: what the insert stored (tenant NULL for none,
 * created_at in the fixed-width form). */
struct sq_bulk_row {
    const char *subject, *tenant, *session, *created;
    int first_of_session;   /* set by sq_bulk_add */
};

/* How many triggers step counters_bulk_writes gave SQ_BULK_OFF: the C side takes over only
 * when all have it. */
#define SQ_BULK_TRIGGERS 7

/* 1 when the schema's counter triggers stand aside in bulk (step counters_bulk_writes
 * applied, none of them replaced since), checked again whenever the schema changed; -1 on
 * error. */
int sq_bulk_schema(struct sqlite_store *s, struct err *err);

/* Overload sqlite_compileoption_used() on s's connection (see sqlite_counters.c). */
int sq_register_counters(struct sqlite_store *s);
/* Around statements that insert rows of one table (inside a transaction): begin notes where
 * the new rows start and puts the counter triggers aside; end (ret: the statements' result,
 * 0 or -1) puts them back and, when ret is 0, adds the new rows to subject_stats,
 * usage_daily and context_gen: one upsert per run of rows of a (tenant, day), the runs of
 * pairs in one statement per table. Returns ret, or -1 when the
 * counters could not be written (the caller's transaction must then roll back). */
int sq_bulk_begin(struct sqlite_store *s, enum sq_bulk_table t, struct sq_bulk *b,
                  struct err *err);
int sq_bulk_end(struct sqlite_store *s, struct sq_bulk *b, int ret, struct err *err);
/* sq_bulk_begin for a path that gives every row it inserts to sq_bulk_add (one episode, the
 * ingest writer's group): no bound of the new rows is read, and end counts the rows sorted by
 * (tenant, subject), one run per pair even when the pairs alternate. The strings of the
 * rows given (but created) must live until end. */
int sq_bulk_begin_rows(struct sqlite_store *s, enum sq_bulk_table t, struct sq_bulk *b,
                       struct err *err);
/* ep as the counters read it, as sq_bind_episode stores it (tenant '' is NULL, created_at in
 * the fixed-width form, into ts of TS_STR_LEN bytes). */
void sq_bulk_episode_row(const struct episode *ep, struct sq_bulk_row *out, char *ts);
/* The row the connection inserted last, given by a bulk path that inserts row by row: end then
 * needs no read of the rows (whose pages a large insert may have pushed out of the cache). A
 * path that gives none is scanned by end. */
int sq_bulk_add(struct sqlite_store *s, struct sq_bulk *b, const struct sq_bulk_row *row,
                struct err *err);
/* Bump the context generation of (subject, tenant) once. */
int sq_gen_bump(struct sqlite_store *s, const char *subject, const char *tenant,
                struct err *err);

/* ---- background checkpoints (sqlite_checkpoint.c) ---- */

/* Pages in the WAL that wake the checkpointer (SQLite's own autocheckpoint default), and
 * pages at which the committing connection checkpoints itself: 64 MiB of 4 KiB pages, also
 * the size the WAL file is truncated back to (journal_size_limit, sqlite.c). */
#define SQ_CKPT_PAGES 1000
#define SQ_CKPT_INLINE_PAGES 16384
/* The hard cap, 128 MiB of 4 KiB pages: past it writers are held back until a RESTART
 * checkpoint starts the WAL over (sq_ckpt_write_begin). With the largest
 * single transaction on top, the WAL stays under 256 MiB whatever the mix of work. */
#define SQ_CKPT_CAP_PAGES 32768
#define SQ_PAGES_PER_MIB 256      /* 4 KiB pages */

struct sq_ckpt;

/* Route db's checkpoints to the checkpointer of path (created on first use): returns the
 * reference to hand back to sq_ckpt_detach, or NULL for a path without a file. */
struct sq_ckpt *sq_ckpt_attach(sqlite3 *db, const char *path);

/* Around every write transaction on db (whose checkpointer is c; NULL: nothing to do):
 * write_begin before BEGIN, write_end after its COMMIT or ROLLBACK (or a failed BEGIN). When
 * a commit took the WAL past SQ_CKPT_CAP_PAGES, write_begin holds new writers back, waits for
 * the ones under way, and runs a RESTART checkpoint on db so that the WAL starts over
 * (readers never wait). Otherwise one uncontended mutex. */
void sq_ckpt_write_begin(struct sq_ckpt *c, sqlite3 *db);
void sq_ckpt_write_end(struct sq_ckpt *c);

/* Drop a reference; the last one stops the thread (after its checkpoint in progress) and
 * closes its connection. Call after closing the connection that attached. NULL: nothing. */
void sq_ckpt_detach(struct sq_ckpt *c);

/* Tests: the two thresholds above (0: back to the default), and how many checkpoints the
 * thread of path has run so far (0 when path has none). */
void sq_ckpt_tune(int pages, int inline_pages);
/* Tests: the hard cap above (0: back to the default). */
void sq_ckpt_tune_cap(int cap_pages);
/* The hard cap in force, in pages (tests). */
int sq_ckpt_cap(void);
/* Tests: make the next n opens of a checkpointer's connection fail. */
void sq_ckpt_fail_opens(int n);
uint64_t sq_ckpt_runs(const char *path);

/* ---- connection, errors, statements (sqlite.c) ---- */

/* The SQLite store behind st; BUG() if st belongs to another backend. */
struct sqlite_store *sq_downcast(store *st);

/* Log the SQLite error behind rc ("sqlite <what> failed: ..."), mark the store broken when
 * the connection cannot be trusted any more (I/O error, corruption), and return -1 with
 * err set to ERR_INTERNAL "database error", or, when the database's state is the cause, to
 * the 503 of store_fail_unavailable: SQLITE_FULL "database_full", SQLITE_READONLY
 * "database_readonly", busy past busy_timeout or unopenable "service_unavailable". A unique
 * violation on a row's id is no database failure but a result: ERR_CONFLICT
 * "<episode|memory|table> id already exists", logged as info. */
int sq_fail(struct sqlite_store *s, const char *what, int rc, struct err *err);

/* The prepared statement for sql, prepared (SQLITE_PREPARE_PERSISTENT) on first use and kept
 * until the store closes; NULL with err set if it cannot be prepared. The cache is keyed by
 * the pointer, not the text: pass a string with static storage whose content never changes
 * (a `static const char SQL_X[]`), never a buffer built at run time. */
sqlite3_stmt *sq_stmt(struct sqlite_store *s, const char *sql, struct err *err);

/* sqlite3_step(q), with the test-only fault hook (store_fault_next) before a statement's
 * first step. Every step of the backend goes through here. */
int sq_step(sqlite3_stmt *q);

/* Make a cached statement ready for its next use (reset, bindings cleared). */
void sq_reset(sqlite3_stmt *q);

/* Step the bound statement q once, expecting no row; always leaves q reset. */
int sq_step_done(struct sqlite_store *s, sqlite3_stmt *q, const char *what, struct err *err);

/* Run sql (cached, no parameters, no rows). */
int sq_exec(struct sqlite_store *s, const char *sql, struct err *err);

/* Step the bound statement q and read column 0 of its first row into *out (0 when there is
 * no row); always leaves q reset. */
int sq_query_int64(struct sqlite_store *s, sqlite3_stmt *q, const char *what, int64_t *out,
                   struct err *err);

int sq_open(const char *path, store **out, struct err *err);
void sq_close(store *st);
int sq_ping(store *st, struct err *err);
int sq_heartbeat(store *st, struct err *err);
int sq_tx_begin(store *st, struct err *err);
int sq_tx_commit(store *st, struct err *err);
void sq_tx_rollback(store *st);
/* BEGIN DEFERRED: the first read pins the snapshot; ended by sq_tx_commit / sq_tx_rollback. */
int sq_tx_begin_read(store *st, struct err *err);

/* ---- values and rows (sqlite_rows.c) ---- */

/* Binders return the SQLite result code. Text is bound SQLITE_STATIC: keep it alive until
 * the statement is reset. */
int sq_bind_str(sqlite3_stmt *q, int i, const char *v);                 /* NULL = SQL NULL */
int sq_bind_tenant(sqlite3_stmt *q, int i, const char *tenant);         /* NULL or '' = NULL */
int sq_bind_ts(sqlite3_stmt *q, int i, int64_t us);                     /* TS_NULL = NULL */
/* A size_t limit or offset; past INT64_MAX a limit means "no limit" (-1). */
int sq_bind_count(sqlite3_stmt *q, int i, size_t v, int is_limit);
/* (tenant, subject, limit, offset) to ?1..?4 of a per-subject page query. */
void sq_bind_page(sqlite3_stmt *q, const struct store_scope *sc, const struct store_page *pg);
/* JSON text; NULL binds `fallback` (e.g. "{}" or "[]"), which may itself be NULL. */
int sq_bind_json(sqlite3_stmt *q, int i, const char *json, const char *fallback);
/* dim floats as a little-endian float32 BLOB (copied); NULL or dim 0 = SQL NULL. */
int sq_bind_vec(sqlite3_stmt *q, int i, const float *v, size_t dim);

/* Binds one row to ?1..?n of a statement whose parameters follow SQ_EPISODE_COLS /
 * SQ_MEMORY_COLS (the inserts); 0, or -1 if a value could not be bound. The row's strings are
 * bound SQLITE_STATIC: keep them alive until the statement is reset. */
typedef int sq_row_binder(sqlite3_stmt *q, const void *row);

/* Binders for INSERT (SQ_EPISODE_COLS) / (SQ_MEMORY_COLS); row is a struct episode / memory.
 * NULL JSON binds its empty form ("{}" or "[]"), a NULL summary "", a NULL status "active". */
int sq_bind_episode(sqlite3_stmt *q, const void *row);
int sq_bind_memory(sqlite3_stmt *q, const void *row);

/* Column i as an arena string; NULL for SQL NULL. JSON columns read the same way. */
const char *sq_col_str(struct arena *a, sqlite3_stmt *q, int i);
/* Column i as a timestamp (TS_NULL for SQL NULL); -1 if the text is not a timestamp. */
int sq_col_ts(sqlite3_stmt *q, int i, int64_t *out);
/* Column i into a uuid buffer ("" for NULL). */
void sq_col_id(sqlite3_stmt *q, int i, char out[UUID_STR_LEN]);
/* Column i (little-endian float32 BLOB) as an arena array; a missing or malformed blob gives
 * NULL and *dim 0 (data-model.md §1.4: "no embedding"). */
const float *sq_col_vec(struct arena *a, sqlite3_stmt *q, int i, size_t *dim);

/* Log a malformed timestamp in table and return -1 with ERR_INTERNAL. */
int sq_bad_timestamp(const char *table, struct err *err);

/* Reads the current result row of q into `row` (strings in the arena); -1 with err set. */
typedef int sq_row_reader(struct arena *a, sqlite3_stmt *q, void *row, struct err *err);

/* Readers for SELECT SQ_EPISODE_COLS / SQ_MEMORY_COLS; row is a struct episode / memory. */
int sq_read_episode(struct arena *a, sqlite3_stmt *q, void *row, struct err *err);
int sq_read_memory(struct arena *a, sqlite3_stmt *q, void *row, struct err *err);

/* Step the bound statement q to the end, reading each row with `read` into an arena array of
 * `size`-byte zeroed rows (never NULL, even when empty; `limit` only sizes the first
 * allocation). Leaves q reset; *n = 0 on failure. */
int sq_collect_rows(struct sqlite_store *s, struct arena *a, sqlite3_stmt *q, size_t size,
                    size_t limit, sq_row_reader *read, void **out, size_t *n,
                    struct err *err);
/* The same for a lookup by a unique key: *row points at the first row q returned, or is NULL
 * when it returned none (and on failure). */
int sq_collect_one(struct sqlite_store *s, struct arena *a, sqlite3_stmt *q, size_t size,
                   sq_row_reader *read, void **row, struct err *err);
/* A lookup by (tenant, key): prepare sql, bind ?1 to tenant (sq_bind_tenant) and ?2 to key,
 * and collect the first row as sq_collect_one does (*row NULL when there is none). */
int sq_lookup(struct sqlite_store *s, struct arena *a, const char *sql, const char *tenant,
              const char *key, size_t size, sq_row_reader *read, void **row, struct err *err);

/* ---- migrations (sqlite_migrate.c) ---- */

int sq_migrate(store *st, struct migrate_result *res, struct err *err);
int sq_schema_version(store *st, int *current, int *latest, struct err *err);

/* ---- episodes (sqlite_episodes.c) ---- */

int sq_commits_flush(store *st, int *flushes, struct err *err);
int sq_episode_insert_group(store *st, struct arena *const *as, struct episode *const *eps,
                            size_t n, int *inserted, struct err *err);
int sq_episode_insert(store *st, struct arena *a, struct episode *ep, int *inserted,
                      struct err *err);
int sq_episode_list_window(store *st, struct arena *a, const struct store_scope *sc,
                           const struct episode_window *w, struct episode_rows *out,
                           struct err *err);
int sq_episode_list(store *st, struct arena *a, const struct store_scope *sc,
                    const struct store_page *pg, struct episode_rows *out, struct err *err);

/* ---- subjects and their memories (sqlite_subjects.c) ---- */

int sq_memory_list(store *st, struct arena *a, const struct store_scope *sc,
                   const struct store_page *pg, struct memory_rows *out, struct err *err);
int sq_subject_list(store *st, struct arena *a, const char *tenant,
                    const struct store_page *pg, struct subject_count_rows *out,
                    struct err *err);
int sq_subject_delete(store *st, const struct store_scope *sc, struct row_counts *out,
                      struct err *err);
/* Run sql, an UPDATE or DELETE of one subject's rows (?1 tenant, ?2 subject); *count gets the
 * rows it changed (NULL: not wanted). */
int sq_subject_write(struct sqlite_store *s, const char *sql, const struct store_scope *sc,
                     int64_t *count, struct err *err);

/* ---- the memory loop, episode side (sqlite_compile.c) ---- */

int sq_episode_list_uncompiled(store *st, struct arena *a, const struct store_scope *sc,
                               size_t limit, struct episode_rows *out, struct err *err);
int sq_episode_mark_compiled(store *st, const char *tenant, const char *const *ids, size_t n,
                             int64_t at, struct err *err);
int sq_episode_list_recent(store *st, struct arena *a, const struct store_scope *sc,
                           size_t limit, struct episode_rows *out, struct err *err);
/* The usable ids among ids (sq_id_ok: the PostgreSQL backend skips the same) as a JSON array
 * of strings into b, for `id IN (SELECT value FROM json_each(?))`: one statement for any
 * number of ids. Returns how many went in. */
size_t sq_ids_json(struct buf *b, const char *const *ids, size_t n);
/* The rows of sql (?1 the tenant, ?2 a JSON array of ids, as `id IN (SELECT value FROM
 * json_each(?2))`) for the usable ids (canonical lower-case UUIDs; the PostgreSQL backend
 * skips the same), read with read into *out / *n (size bytes each): one statement for any
 * number of ids. */
int sq_rows_by_ids(struct sqlite_store *s, struct arena *a, const char *sql, const char *tenant,
                   const struct store_ids *ids, size_t size, sq_row_reader *read, void **out,
                   size_t *n, struct err *err);
int sq_episode_get_many(store *st, struct arena *a, const char *tenant,
                        const struct store_ids *ids, struct episode_rows *out, struct err *err);
int sq_subject_lock(store *st, const struct store_scope *sc, struct err *err);
int sq_compile_reset(store *st, const struct store_scope *sc, int64_t *memories_deleted,
                     struct err *err);
int sq_resolution_list(store *st, struct arena *a, const struct store_scope *sc,
                       struct resolution_rows *out, struct err *err);

/* ---- memories and the query-embedding cache (sqlite_memories.c) ---- */

/* qcache_put stores nothing (and succeeds) for texts longer than this many bytes, so both
 * backends behave alike: PostgreSQL's primary-key index cannot hold keys past ~2.7 KB. A
 * text that is never stored is never found either: qcache_get misses without a query. */
#define SQ_QCACHE_MAX_TEXT 2000

int sq_memory_insert(store *st, const struct memory *m, struct err *err);
int sq_memory_list_active(store *st, struct arena *a, const struct store_scope *sc,
                          const struct memory_query *mq, struct memory_rows *out,
                          struct err *err);
int sq_memory_supersede(store *st, const char *tenant, const char *id, int64_t valid_to,
                        int64_t updated_at, struct err *err);
int sq_memory_set_embedding(store *st, const char *id, const float *vec, size_t dim,
                            struct err *err);
int sq_memory_get(store *st, struct arena *a, const char *tenant, const char *id,
                  struct memory **out, struct err *err);
int sq_memory_scan_vectors(store *st, const struct store_scope *sc, const char *kind,
                           memory_vector_fn *fn, void *ctx, struct err *err);
/* Hand q's rows (id, created_at, seq, vector: memory_scan_vectors' columns) to fn until fn or
 * the rows end; q is reset. 0, or -1 with err set (sqlite_memories.c). */
int sq_vector_rows(struct sqlite_store *s, sqlite3_stmt *q, memory_vector_fn *fn, void *ctx,
                   struct err *err);
int sq_memory_scan_codes(store *st, const struct store_scope *sc,
    const struct memory_code_scan *cs, memory_code_fn *fn, void *ctx, struct err *err);
int sq_memory_vectors_by_ids(store *st, const char *tenant, const struct store_ids *ids,
    memory_vector_fn *fn, void *ctx, struct err *err);
int sq_context_gen(store *st, const struct store_scope *sc, int64_t *gen, struct err *err);
int sq_memory_codes_gen(store *st, const struct store_scope *sc, int64_t *gen,
    struct err *err);
int sq_memory_set_embeddings(store *st, const char *const *ids, const float *vecs,
    size_t n, size_t dim, struct err *err);
int sq_search_text_sync(store *st, struct err *err);
int sq_search_codes_sync(store *st, struct err *err);
int sq_memory_rank_text(store *st, struct arena *a, const struct store_scope *sc,
    const struct memory_rank_query *q, struct store_ids *out, struct err *err);
int sq_memory_scan_text(store *st, const struct store_scope *sc,
    const struct memory_text_scan *ts, memory_text_fn *fn, void *ctx, struct err *err);
int sq_memory_get_many(store *st, struct arena *a, const char *tenant,
                       const struct store_ids *ids, struct memory_rows *out, struct err *err);
int sq_memory_set_labels(store *st, const struct label_update *u, int *found, struct err *err);
int sq_qcache_get(store *st, struct arena *a, struct qcache_lookup *lk, struct err *err);
int sq_qcache_put(store *st, const struct qcache_write *w, struct err *err);

/* ---- subject export and import (sqlite_export.c) ---- */

/* 1 if id is a canonical lower-case UUID, the only form Engram stores as a row id (the
 * PostgreSQL backend applies the same rule). */
int sq_id_ok(const char *id);

int sq_export_count(store *st, const struct store_scope *sc, struct row_counts *out,
                    struct err *err);
int sq_export_episodes(store *st, struct arena *a, const struct store_scope *sc,
                       const struct store_cursor *cur, struct episode_rows *out,
                       struct err *err);
int sq_export_memories(store *st, struct arena *a, const struct store_scope *sc,
                       const struct store_cursor *cur, struct memory_rows *out,
                       struct err *err);
int sq_episode_ids_taken(store *st, const char *const *ids, size_t n, int64_t *count,
                         struct err *err);
int sq_memory_ids_taken(store *st, const char *const *ids, size_t n, int64_t *count,
                        struct err *err);
int sq_episode_insert_many(store *st, const struct episode *eps, size_t n, struct err *err);
int sq_memory_insert_many(store *st, const struct memory *mems, size_t n, struct err *err);

/* ---- snapshots, subject copy, cleanup (sqlite_snapshots.c) ---- */

/* Register the SQL functions the subject copy uses on db: engram_uuid4(prefix) (a fresh
 * UUIDv4 per call, its first 32 bits the integer prefix unless that is NULL) and
 * engram_ts_shift(ts, shift_us, clamp) (a fixed-width timestamp moved by shift_us, at most
 * clamp unless clamp is NULL; NULL stays NULL). Returns the SQLite result code. */
int sq_register_functions(sqlite3 *db);
/* The search engine's SQL functions (sqlite_search.c): engram_terms() for FTS5. */
int sq_register_search_functions(sqlite3 *db);

/* The first string past every string that starts with prefix[0..n), in byte order, as a
 * malloc'ed buffer of *len bytes: the prefix with trailing 0xff bytes dropped and its last
 * byte incremented. NULL when there is none (the prefix is empty or all 0xff). */
unsigned char *sq_prefix_successor(const char *prefix, size_t n, size_t *len);
int sq_snapshot_insert(store *st, const struct snapshot *snap, struct err *err);
int sq_snapshot_get(store *st, struct arena *a, const char *id, struct snapshot **out,
                    struct err *err);
int sq_snapshot_find(store *st, struct arena *a, const char *name, int64_t version,
                     struct snapshot **out, struct err *err);
int sq_snapshot_latest(store *st, struct arena *a, const char *name, struct snapshot **out,
                       struct err *err);
int sq_snapshot_list(store *st, struct arena *a, struct snapshot **out, size_t *n,
                     struct err *err);
int sq_subject_copy(store *st, const struct subject_copy *spec, struct row_counts *out,
                    struct err *err);
int sq_subject_newest_episode(store *st, const struct store_scope *sc, int64_t *newest,
                              struct err *err);
int sq_cleanup_candidates(store *st, struct arena *a, const struct cleanup_query *cq,
                          struct subject_ref_rows *out, struct err *err);
int sq_maintenance_trylock(store *st, int *acquired, struct err *err);
int sq_maintenance_unlock(store *st, struct err *err);

/* ---- provable deletion, fork lineage (sqlite_deletions.c) ---- */

int sq_subject_delete_ids(store *st, struct arena *a, const struct store_scope *sc,
                          struct row_counts *out, struct store_ids *ids, struct err *err);
int sq_subject_rows_before(store *st, const struct store_scope *sc, int64_t before,
                           struct row_counts *out, struct err *err);
int sq_deletion_insert(store *st, const struct deletion_receipt *r, struct err *err);
int sq_deletion_get(store *st, struct arena *a, const char *tenant, const char *id,
                    struct deletion_receipt **out, struct err *err);
int sq_lineage_put(store *st, const struct subject_lineage *l, struct err *err);
int sq_lineage_get(store *st, struct arena *a, const struct store_scope *sc,
                   struct subject_lineage **out, struct err *err);

/* ---- compile jobs (sqlite_jobs.c) ---- */

int sq_job_count_stuck(store *st, int64_t started_before, int64_t *n, struct err *err);
int sq_job_insert(store *st, const struct compile_job *job, struct err *err);
int sq_job_get(store *st, struct arena *a, const char *tenant, const char *id,
               struct compile_job **out, struct err *err);
int sq_job_claim(store *st, struct arena *a, int64_t now, int64_t lease_until,
                 struct compile_job **out, struct err *err);
int sq_job_renew(store *st, const char *id, int64_t lease_until, struct err *err);
int sq_job_finish(store *st, const struct job_outcome *o, struct err *err);
int sq_job_list(store *st, struct arena *a, const struct job_filter *f,
                const struct store_page *pg, struct job_rows *out, struct err *err);
int sq_job_delete(store *st, const struct job_filter *f, int64_t *deleted, struct err *err);
int sq_job_count_by_status(store *st, struct arena *a, struct status_count_rows *out,
                           struct err *err);

/* ---- full-database backup (sqlite_backup.c) ---- */

int sq_backup(store *st, const char *path, struct err *err);

/* ---- rate limits (sqlite_ratelimit.c) ---- */

int sq_ratelimit_hit(store *st, const char *key, int64_t window_start, int64_t now,
                     int64_t *count, struct err *err);
int sq_ratelimit_purge(store *st, int64_t before, int64_t *deleted, struct err *err);

/* ---- webhook events (sqlite_webhooks.c) ---- */

int sq_webhook_insert(store *st, const struct webhook_event *ev, struct err *err);
int sq_webhook_claim(store *st, struct arena *a, const struct store_claim *c,
                     struct webhook_rows *out, struct err *err);
int sq_webhook_update(store *st, const struct webhook_event *ev, struct err *err);
int sq_webhook_list(store *st, struct arena *a, const struct webhook_filter *f,
                    const struct store_page *pg, struct webhook_rows *out, struct err *err);
int sq_webhook_stats(store *st, struct webhook_stats *out, struct err *err);
int sq_webhook_get(store *st, struct arena *a, const char *id, struct webhook_event **out,
                   struct err *err);
int sq_webhook_purge(store *st, const struct webhook_filter *f, int64_t *deleted,
                     struct err *err);

/* ---- the operator's overview, the packs' rows (sqlite_admin.c) ---- */

int sq_tenant_list(store *st, struct arena *a, const struct store_page *pg,
                   struct string_rows *out, struct err *err);
int sq_tenant_audit(store *st, struct null_tenant_counts *out, struct err *err);
int sq_usage(store *st, const struct usage_query *q, struct usage_report *out,
             struct err *err);
int sq_overview(store *st, struct overview_counts *out, struct err *err);
int sq_pack_rows(store *st, struct arena *a, const struct pack_owner *o, struct pack_rows *out,
                 struct err *err);
int sq_pack_rows_delete(store *st, const struct pack_owner *o, struct row_counts *out,
                        struct err *err);

/* ---- the support tier: resolutions and the health cache (sqlite_resolutions.c) ---- */

/* The columns "id, subject_id, tenant_id, session_id, status, resolution_summary,
 * resolved_at, metadata_, created_at, updated_at" into a struct resolution. */
int sq_read_resolution(struct arena *a, sqlite3_stmt *q, void *row, struct err *err);
int sq_resolution_query(store *st, struct arena *a, const struct store_scope *sc,
                        const struct resolution_query *q, struct resolution_rows *out,
                        struct err *err);
int sq_resolution_upsert(store *st, struct arena *a, struct resolution *r, struct err *err);
int sq_health_cache_get(store *st, struct arena *a, const struct store_scope *sc,
                        struct health_cache_entry *out, int *found, struct err *err);
int sq_health_cache_put(store *st, const struct store_scope *sc,
                        const struct health_cache_entry *e, struct err *err);
int sq_health_cache_delete(store *st, const struct store_scope *sc, struct err *err);

/* ---- history (sqlite_history.c) ---- */

int sq_memory_list_as_of(store *st, struct arena *a, const struct store_scope *sc,
                         const struct as_of_query *aq, struct memory_rows *out,
                         struct err *err);
int sq_episode_list_as_of(store *st, struct arena *a, const struct store_scope *sc,
                          const struct as_of_query *aq, struct episode_rows *out,
                          struct err *err);
int sq_receipt_insert(store *st, const struct receipt_row *r, struct err *err);
int sq_receipt_get(store *st, struct arena *a, const char *tenant, const char *id,
                   struct receipt_row **out, struct err *err);
int sq_receipt_list(store *st, struct arena *a, const struct store_scope *sc,
                    const struct receipt_query *rq, struct receipt_rows *out, struct err *err);
/* ---- the admin subject explorer and deletion (sqlite_explorer.c) ---- */

int sq_explorer_subjects(store *st, struct arena *a, const struct explorer_subject_query *q,
                         struct explorer_subject_rows *out, struct err *err);
int sq_explorer_summary(store *st, struct arena *a, const struct store_scope *sc,
                        struct explorer_summary *out, struct err *err);
int sq_explorer_episodes(store *st, struct arena *a, const struct store_scope *sc,
                         const struct explorer_episode_query *q,
                         struct explorer_episode_rows *out, struct err *err);
int sq_explorer_memories(store *st, struct arena *a, const struct store_scope *sc,
                         const struct explorer_memory_query *q, struct explorer_memory_rows *out,
                         struct err *err);
int sq_explorer_resolutions(store *st, struct arena *a, const struct store_scope *sc,
                            const char *session, size_t limit, struct resolution_rows *out,
                            struct err *err);
int sq_explorer_citing_counts(store *st, const struct store_scope *sc,
                              const struct store_ids *ids, int64_t *counts, struct err *err);
int sq_subject_match(store *st, struct arena *a, const struct subject_selector *sel,
                     struct subject_match_rows *out, struct err *err);

#endif
