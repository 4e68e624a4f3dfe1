/* postgres-internal.h - what the files of the PostgreSQL backend share: the connection handle,
 * running statements (prepared once per connection), error reporting, parameters, column
 * readers and row readers.
 *
 * One file per area (postgres_episodes.c, postgres_jobs.c, ...). An area keeps its SQL beside
 * its code as `static const char SQL_X[] = "...";` and runs it with pgst_exec(), which prepares
 * it on first use under a generated name ("s0", "s1", ...) keyed by the address of the text:
 * adding a statement never touches a shared list. Its ops are declared here and listed in the
 * table in postgres.c.
 *
 * Values travel as text parameters, never spliced into SQL: timestamps as
 * `YYYY-MM-DDTHH:MM:SS.ffffffZ` and back in the session's UTC ISO form, JSON as jsonb text
 * (compacted on the way out), bytea in hex. Tenants: '' stands for "no tenant" in filters
 * (`COALESCE(tenant_id, '') = $n`, pgst_tenant_key) and is written as NULL (pgst_tenant_value),
 * so the two spellings never split one space in two.
 */
#ifndef ENGRAM_STORE_POSTGRES_INTERNAL_H
#define ENGRAM_STORE_POSTGRES_INTERNAL_H

#include <libpq-fe.h>

#include "store/store-internal.h"
#include "util/buf.h"
#include "util/ts.h"

/* Column lists in the order pgst_read_episode() and pgst_read_memory() expect. */
#define PG_EPISODE_COLS                                                                   \
    "id, subject_id, tenant_id, session_id, source, type, payload, metadata, provenance, " \
    "idempotency_key, created_at, last_compiled_at, occurred_at"
#define PG_MEMORY_COLS                                                                    \
    "id, subject_id, tenant_id, kind, content, summary, confidence, valid_from, valid_to, " \
    "array_to_json(source_episode_ids), metadata, status, embedding, sensitivity_labels, "  \
    "created_at, updated_at"

/* The insert of one memory, $1..$16 as pgst_memory_params() fills them. source_episode_ids is
 * uuid[] in the table and a JSON array in struct memory: it goes in through
 * json_array_elements_text, its order kept by ordinality. */
#define PG_MEMORY_INSERT_INTO                                                              \
    "INSERT INTO memories (id, subject_id, tenant_id, kind, content, summary, confidence,"   \
    " valid_from, valid_to, source_episode_ids, metadata, status, embedding,"               \
    " sensitivity_labels, created_at, updated_at)"
#define PG_MEMORY_VALUES                                                                   \
    "($1, $2, $3, $4, $5, $6, $7, $8, $9,"                                                  \
    " ARRAY(SELECT e::uuid FROM json_array_elements_text($10::json) WITH ORDINALITY"         \
    " AS t(e, i) ORDER BY i), $11, $12, $13, $14, $15, $16)"
#define PG_MEMORY_INSERT PG_MEMORY_INSERT_INTO " VALUES " PG_MEMORY_VALUES

#define PG_INT_LEN 24   /* bytes for pgst_int_param / pgst_size_param text */

struct pgst_store {
    struct store base;          /* must be first: store.c sees only this */
    PGconn *conn;               /* owned; PQfinish on close */
    const char **prepared;      /* SQL texts prepared so far; index i is named "s<i>"; owned
                                 * array of borrowed static strings */
    size_t nprepared, prepared_cap;
    int pooled;                 /* 1 through a transaction pooler (pgbouncer): no statement
                                 * is prepared across transactions, no SET, no session lock */
    char *conninfo;             /* owned; what the connection was opened with */
    PGconn *lock_conn;          /* pooled: the connection whose open transaction holds the
                                 * maintenance lock (pgst_maint_trylock); owned, or NULL */
    /* The open transaction's episodes inserted by pgst_episode_insert*, whose counters
     * pgst_tx_commit writes (schema step 21, episodes_counted): their subjects, tenants, created_at and
     * sessions, each a list of array literal elements ("a","b",NULL). */
    struct buf counted[4];
};

/* Before COMMIT: the counters of the episodes the transaction inserted through
 * pgst_episode_insert* (engram_episodes_counted, schema step 21), pipelined with sql (the
 * COMMIT) in one round trip; r gets the COMMIT's result. Without any, sql alone. */
PGresult *pgst_episodes_counted_commit(struct pgst_store *ps, const char *sql, struct err *err);
/* Forget the episodes noted for pgst_episodes_counted_commit (a new or ended transaction). */
void pgst_counted_reset(struct pgst_store *ps);

/* ---- connection, errors, statements (postgres.c) ---- */

/* The PostgreSQL store behind st; BUG() if st belongs to another backend. */
struct pgst_store *pgst_downcast(store *st);

/* Copy a libpq message into out as one line: each run of whitespace becomes one space. */
void pgst_one_line(const char *msg, char *out, size_t size);

/* Log why `what` failed (SQLSTATE and message), mark the store broken if the connection is
 * gone, PQclear(r) (r may be NULL) and return -1 with err set to ERR_INTERNAL, or, when the
 * database's state is the cause, to the 503 of store_fail_unavailable: a lost connection,
 * class 08 or 57P01-57P03 "service_unavailable", 53100 "database_full", 25006
 * "database_readonly". A primary-key
 * violation (SQLSTATE 23505 on "<table>_pkey") is no database failure but a result:
 * ERR_CONFLICT "<episode|memory|table> id already exists", logged as info. */
int pgst_fail(struct pgst_store *ps, PGresult *r, const char *what, struct err *err);

/* Run sql with nparams text parameters (a NULL value is SQL NULL). sql is prepared on first
 * use and kept for the connection's life; the cache is keyed by the pointer, not the text:
 * pass a string with static storage whose content never changes (a `static const char
 * SQL_X[]`), never a buffer built at run time. Returns the result (command or rows), which
 * the caller frees with PQclear, or NULL with err set after logging the cause. */
PGresult *pgst_exec(struct pgst_store *ps, const char *sql, int nparams,
                  const char *const *values, struct err *err);
/* pgst_exec for a statement whose rows are of no interest. */
int pgst_exec_void(struct pgst_store *ps, const char *sql, int nparams, const char *const *values,
                 struct err *err);
/* pgst_exec for a statement returning one integer: column 0 of row 0 into *out (0 when there
 * is no row or it is NULL). */
int pgst_exec_int64(struct pgst_store *ps, const char *sql, int nparams,
                  const char *const *values, int64_t *out, struct err *err);

/* Run sql (a static string, prepared once per connection as pgst_exec's statements are)
 * whose result is of no interest; failures as pgst_exec reports them. lengths and formats as
 * PQexecParams takes them (NULL: every parameter is text; format 1 is binary, e.g. a bytea's
 * raw bytes or an array in array_recv's format). No second try on a dead connection: for
 * statements inside a transaction. */
int pgst_exec_binary(struct pgst_store *ps, const char *sql, int nparams,
                     const char *const *values, const int *lengths, const int *formats,
                     struct err *err);

/* Called for row `row` of r by pgst_exec_stream: 0 for the next row, 1 to stop, -1 to stop
 * with err set. */
typedef int pgst_row_fn(void *ctx, const PGresult *r, int row, struct err *err);

/* pgst_exec_stream's flags (its `binary` argument): every column in binary format; planned
 * for its parameters at every run (an unnamed statement, never a prepared one whose generic
 * plan would serve every value alike). */
#define PGST_BINARY 1
#define PGST_REPLAN 2

/* Run sql (prepared as by pgst_exec, unless PGST_REPLAN) in single-row mode and call fn for
 * each row as it arrives, so a large result is never held whole; binary holds the flags
 * above (1 = PGST_BINARY). fn returning nonzero stops the calls (the rest of the result is read and
 * dropped): 1 returns 0, -1 returns -1 with err as fn set it. A failing statement is logged
 * as pgst_fail does. No second try on a dead connection: fn may already have seen rows. */
int pgst_exec_stream(struct pgst_store *ps, const char *sql, int nparams,
                   const char *const *values, int binary, pgst_row_fn *fn, void *ctx,
                   struct err *err);

#define PG_PIPELINE_BATCH 1000   /* rows pgst_exec_rows sends per round trip */

/* One statement of a pgst_exec_many call. */
struct pgst_query {
    const char *sql;            /* prepared as by pgst_exec */
    int nparams;
    const char *const *vals;
};

/* Statements per pgst_exec_many call, at most. */
#define PG_MANY_MAX 8

/* Run n different statements in one round trip (libpq pipeline mode, one sync) and give
 * each its result in out[i] (the caller PQclears them). All or nothing: on failure every
 * out[i] is NULL and err is set as pgst_exec sets it. Outside a transaction a connection found
 * dead is reconnected and the batch sent once more, as pgst_exec does. */
int pgst_exec_many(struct pgst_store *ps, size_t n, const struct pgst_query *q, PGresult **out,
                 struct err *err);

/* The rows of a pgst_exec_rows call. */
struct pgst_rows {
    const void *rows;   /* the caller's array, borrowed */
    size_t n;           /* how many */
    /* Fill vals with the statement's text parameters for row i; what they point to may be
     * allocated from a, which is reset once the row is sent. */
    void (*params)(const void *rows, size_t i, struct arena *a, const char **vals);
};

/* Run sql (prepared as by pgst_exec) once for each row, in libpq pipeline mode: rows go out in
 * batches of PG_PIPELINE_BATCH, each costing one round trip instead of one per row. Must run
 * inside a transaction, which undoes earlier rows when a later one fails. Stops at the first
 * failing row: -1 with err set as pgst_fail sets it (ERR_CONFLICT for an existing id) and
 * *failed = its index (rows->n when the connection failed). Every result is read and the
 * connection leaves pipeline mode, usable (its transaction aborted) unless it was lost. */
int pgst_exec_rows(struct pgst_store *ps, const char *sql, int nparams, const struct pgst_rows *rows,
                 size_t *failed, struct err *err);

/* The maintenance lock of the ops table: the session advisory lock of
 * pgst_maintenance_trylock on a direct connection; through a pooler, a transaction lock
 * (pg_try_advisory_xact_lock) held by an open transaction on a second connection until
 * pgst_maint_unlock (postgres_pooler.c). */
int pgst_maint_trylock(store *st, int *acquired, struct err *err);
int pgst_maint_unlock(store *st, struct err *err);
/* Settle ps->pooled for a new connection (STATEWAVE_DATABASE_POOLER, or detected: the server
 * listens on another port, or on a socket, than the one Engram connected to) and set up its
 * session: SETs on a direct connection; through a pooler a check that the server's defaults
 * are what the text forms need (the startup packet asks for them, see pgst_open).
 * (postgres_pooler.c) */
int pgst_session_setup(struct pgst_store *ps, struct err *err);
/* Once per process, before the first connection: PGTZ=UTC and PGDATESTYLE=ISO, YMD, which
 * libpq sends in every startup packet, so that a pooler applies them to whichever server
 * connection serves us (pgbouncer tracks both). */
void pgst_startup_settings(void);

/* A new libpq connection to url with Engram's defaults (connect_timeout 10, UTF8, the
 * application name); check PQstatus. */
PGconn *pgst_connect(const char *url);
int pgst_open(const char *url, store **out, struct err *err);
void pgst_close(store *st);
int pgst_ping(store *st, struct err *err);
int pgst_heartbeat(store *st, struct err *err);
int pgst_tx_begin(store *st, struct err *err);
int pgst_tx_commit(store *st, struct err *err);
void pgst_tx_rollback(store *st);
/* BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; ended by pgst_tx_commit / pgst_tx_rollback. */
int pgst_tx_begin_read(store *st, struct err *err);

/* ---- parameters, columns, rows (postgres_rows.c) ---- */

/* The filter value of a tenant space: '' for "no tenant". */
const char *pgst_tenant_key(const char *tenant);
/* The stored value of a tenant: NULL for "no tenant" ('' included). */
const char *pgst_tenant_value(const char *tenant);
/* A timestamp parameter written into out (TS_STR_LEN bytes), or NULL for TS_NULL. */
const char *pgst_ts_param(int64_t us, char *out);
/* A LIMIT/OFFSET parameter in out; sizes past INT64_MAX mean "no limit". */
const char *pgst_size_param(size_t v, char out[PG_INT_LEN]);
/* An integer parameter in out. */
const char *pgst_int_param(int64_t v, char out[PG_INT_LEN]);
/* JSON text for a jsonb parameter; NULL gives `fallback` (e.g. "{}"), which may be NULL. */
const char *pgst_json_param(const char *json, const char *fallback);
/* dim floats as a bytea parameter in hex form (`\x…`, little-endian float32), in the arena;
 * NULL (SQL NULL) when v is NULL or dim is 0. */
const char *pgst_vector_param(struct arena *a, const float *v, size_t dim);
/* n bytes as a bytea parameter in hex form (\x…), in the arena. */
const char *pgst_bytea_param(struct arena *a, const unsigned char *p, size_t n);

/* The parameters of an episode insert, $1..$13 in PG_EPISODE_COLS order. */
#define PG_EPISODE_NPARAMS 13
/* The parameters of PG_MEMORY_INSERT, $1..$16. */
#define PG_MEMORY_NPARAMS 16

/* Where the parameters of one episode's insert keep the text they point to. */
struct pgst_episode_text {
    char created[TS_STR_LEN];     /* created_at */
    char compiled[TS_STR_LEN];    /* last_compiled_at */
    char occurred[TS_STR_LEN];    /* occurred_at */
};

/* Where the parameters of one memory's insert keep the text they point to. */
struct pgst_memory_text {
    char confidence[32];          /* %.17g, so the double round-trips bit for bit */
    char valid_from[TS_STR_LEN];
    char valid_to[TS_STR_LEN];
    char created[TS_STR_LEN];     /* created_at */
    char updated[TS_STR_LEN];     /* updated_at */
};

/* Fill vals with the parameters that insert ep (or m) exactly as given: the tenant as
 * pgst_tenant_value, NULL JSON as its empty form ("{}" or "[]"), a NULL summary as "", a NULL
 * status as "active". Timestamps and the confidence are written into *t; the other values
 * point into the row, and vec (the embedding as pgst_vector_param gives it, NULL for none) is
 * used as it is. Keep the row, *t and vec alive until the statement has been sent. */
void pgst_episode_params(const struct episode *ep, struct pgst_episode_text *t,
                       const char *vals[PG_EPISODE_NPARAMS]);
void pgst_memory_params(const struct memory *m, const char *vec, struct pgst_memory_text *t,
                      const char *vals[PG_MEMORY_NPARAMS]);

/* Column readers; (row, col) must exist in r. */
const char *pgst_col_str(struct arena *a, const PGresult *r, int row, int col);  /* NULL=NULL */
/* jsonb text with the whitespace jsonb adds after ',' and ':' removed (strings untouched). */
const char *pgst_col_json(struct arena *a, const PGresult *r, int row, int col);
/* A timestamptz (session TimeZone is UTC); TS_NULL for NULL; -1 (logged) if unreadable. */
int pgst_col_ts(const PGresult *r, int row, int col, int64_t *out);
int64_t pgst_col_int(const PGresult *r, int row, int col);                       /* NULL = 0 */
/* A bytea of little-endian float32 values; NULL and *dim 0 for NULL or a malformed value
 * ("no embedding"). */
const float *pgst_col_vector(struct arena *a, const PGresult *r, int row, int col, size_t *dim);

/* Rows of r as a zeroed arena array of *n elements of sz bytes (never NULL). */
void *pgst_rows_alloc(struct arena *a, const PGresult *r, size_t sz, size_t *n);

/* Reads row `row` of r into *out (strings in the arena); -1 (logged) on an unreadable value. */
typedef int pgst_row_reader(struct arena *a, const PGresult *r, int row, void *out);

/* Readers for SELECT PG_EPISODE_COLS / PG_MEMORY_COLS; out is a struct episode / memory. */
int pgst_read_episode(struct arena *a, const PGresult *r, int row, void *out);
int pgst_read_memory(struct arena *a, const PGresult *r, int row, void *out);

/* Read every row of r with `read` into a zeroed arena array of `size`-byte rows (never NULL).
 * r stays the caller's to PQclear. On failure *out = NULL, *n = 0 and err is ERR_INTERNAL. */
int pgst_collect_rows(struct arena *a, const PGresult *r, size_t size, pgst_row_reader *read,
                    void **out, size_t *n, struct err *err);
/* The same for a result the caller hands over: r is cleared. r NULL (its exec failed and set
 * err): *out = NULL, *n = 0 and -1. */
int pgst_take_rows(struct arena *a, PGresult *r, size_t size, pgst_row_reader *read,
                   void **out, size_t *n, struct err *err);
/* The same for a lookup by a unique key: *row points at the first row of r, or is NULL when
 * r has none (and on failure). */
int pgst_take_one(struct arena *a, PGresult *r, size_t size, pgst_row_reader *read, void **row,
                  struct err *err);
/* The first row of r as (episodes, memories, resolutions) counts into *out (zeroed first);
 * r is cleared. r NULL (its exec failed and set err): -1. */
int pgst_take_counts(PGresult *r, struct row_counts *out);

/* ---- migrations (postgres_migrate.c) ---- */

int pgst_migrate(store *st, struct migrate_result *res, struct err *err);
int pgst_schema_version(store *st, int *current, int *latest, struct err *err);

/* ---- episodes (postgres_episodes.c) ---- */

int pgst_commits_flush(store *st, int *flushes, struct err *err);
int pgst_episode_insert_group(store *st, struct arena *const *as, struct episode *const *eps,
                              size_t n, int *inserted, struct err *err);
int pgst_episode_insert(store *st, struct arena *a, struct episode *ep, int *inserted,
                      struct err *err);
int pgst_episode_list_window(store *st, struct arena *a, const struct store_scope *sc,
                             const struct episode_window *w, struct episode_rows *out,
                             struct err *err);
int pgst_episode_list(store *st, struct arena *a, const struct store_scope *sc,
                      const struct store_page *pg, struct episode_rows *out, struct err *err);

/* ---- subjects and their memories (postgres_subjects.c) ---- */

int pgst_memory_list(store *st, struct arena *a, const struct store_scope *sc,
                     const struct store_page *pg, struct memory_rows *out, struct err *err);
int pgst_subject_list(store *st, struct arena *a, const char *tenant,
                      const struct store_page *pg, struct subject_count_rows *out,
                      struct err *err);
int pgst_subject_delete(store *st, const struct store_scope *sc, struct row_counts *out,
                        struct err *err);

/* ---- the memory loop, episode side (postgres_compile.c) ---- */

/* 1 if id can name a row of a uuid column: a canonical lower-case UUID. Anything else would
 * make the uuid cast fail (a 500) where SQLite simply finds nothing, so callers treat it as
 * "no such row" without asking the server. */
int pgst_id_ok(const char *id);
/* The rows of sql for the usable ids, read with read into *out / *n (size bytes each), in
 * one round trip. sql takes the ids as a uuid[] in its last parameter: $2 after the tenant
 * key $1, or $1 alone when tenant_key is NULL. */
int pgst_rows_by_ids(struct pgst_store *ps, struct arena *a, const char *sql,
                     const char *tenant_key, const struct store_ids *ids, size_t size,
                     pgst_row_reader *read, void **out, size_t *n, struct err *err);

/* The statements behind episode_list_recent ($1 the tenant key, $2 the subject, $3 the
 * limit) and resolution_list ($1, $2), and the reader of a resolution row; shared with
 * pgst_context_read, which pipelines them. */
extern const char PG_SQL_EP_RECENT[];
extern const char PG_SQL_RESOLUTIONS[];
int pgst_read_resolution(struct arena *a, const PGresult *r, int row, void *out);
/* A whole resolution row: the columns "id, subject_id, tenant_id, session_id, status,
 * resolution_summary, resolved_at, metadata_, created_at, updated_at". */
int pgst_read_resolution_row(struct arena *a, const PGresult *r, int row, void *out);
/* The usable ids (pgst_id_ok) of ids as a uuid[] literal `{a,b}` into b, for one
 * `= ANY($n::uuid[])` parameter; returns how many went in. */
size_t pgst_ids_array(struct buf *b, const char *const *ids, size_t n);
/* Keep the n episodes at eps that belong to the tenant key want (in place); the new count. */
size_t pgst_keep_tenant(struct episode *eps, size_t n, const char *want);

int pgst_episode_list_uncompiled(store *st, struct arena *a, const struct store_scope *sc,
                                 size_t limit, struct episode_rows *out, struct err *err);
int pgst_episode_mark_compiled(store *st, const char *tenant, const char *const *ids, size_t n,
                               int64_t at, struct err *err);
int pgst_episode_list_recent(store *st, struct arena *a, const struct store_scope *sc,
                             size_t limit, struct episode_rows *out, struct err *err);
int pgst_episode_get_many(store *st, struct arena *a, const char *tenant,
                          const struct store_ids *ids, struct episode_rows *out,
                          struct err *err);
int pgst_subject_lock(store *st, const struct store_scope *sc, struct err *err);
int pgst_compile_reset(store *st, const struct store_scope *sc, int64_t *memories_deleted,
                       struct err *err);
int pgst_resolution_list(store *st, struct arena *a, const struct store_scope *sc,
                         struct resolution_rows *out, struct err *err);

/* ---- memories and the query-embedding cache (postgres_memories.c) ---- */

/* qcache_put stores nothing (and succeeds) for texts longer than this many bytes: the
 * primary-key btree on (text_key, model) rejects index rows past ~2.7 KB. SQLite applies the
 * same limit, so both backends behave alike; qcache_get misses such texts without a query. */
#define PG_QCACHE_MAX_TEXT 2000

int pgst_memory_insert(store *st, const struct memory *m, struct err *err);
/* The statement behind memory_list_active for (kind, order), and its parameters (lim holds
 * the limit's text). Shared with pgst_context_read, which pipelines it. */
#define PG_MEMORY_ACTIVE_NPARAMS 6
const char *pgst_memory_active_sql(const struct memory_query *mq);
void pgst_memory_active_params(const struct store_scope *sc, const struct memory_query *mq,
                               char lim[PG_INT_LEN],
                               const char *vals[PG_MEMORY_ACTIVE_NPARAMS]);
int pgst_memory_list_active(store *st, struct arena *a, const struct store_scope *sc,
                            const struct memory_query *mq, struct memory_rows *out,
                            struct err *err);
int pgst_memory_supersede(store *st, const char *tenant, const char *id, int64_t valid_to,
                        int64_t updated_at, struct err *err);
int pgst_memory_set_embedding(store *st, const char *id, const float *vec, size_t dim,
                            struct err *err);
int pgst_memory_get(store *st, struct arena *a, const char *tenant, const char *id,
                  struct memory **out, struct err *err);
int pgst_memory_scan_vectors(store *st, const struct store_scope *sc, const char *kind,
                             memory_vector_fn *fn, void *ctx, struct err *err);
/* A vector scan's callback and its context, for pgst_vector_row. */
struct pgst_vector_scan {
    memory_vector_fn *fn;
    void *ctx;
};
/* pgst_row_fn for a binary row (id text, created_at, seq, vector bytea) handed to the
 * pgst_vector_scan's fn as a struct memory_vector. */
int pgst_vector_row(void *ctx, const PGresult *r, int row, struct err *err);
/* Keep memory_codes (schema step 10) in step (postgres_search.c). pgst_codes_put: the codes
 * of the n memories (those with an embedding), which exist in memories. pgst_codes_fill:
 * compute the missing codes of the memories of sc (NULL: of every memory) from their stored
 * vectors; what a set-based copy of memories (snapshot capture and restore, fork, clone)
 * calls for its target afterwards, inside its transaction. */
int pgst_codes_put(struct pgst_store *ps, const struct memory *mems, size_t n,
                   struct err *err);
int pgst_codes_fill(struct pgst_store *ps, const struct store_scope *sc, struct err *err);
int pgst_memory_scan_codes(store *st, const struct store_scope *sc,
    const struct memory_code_scan *cs, memory_code_fn *fn, void *ctx, struct err *err);
int pgst_memory_vectors_by_ids(store *st, const char *tenant, const struct store_ids *ids,
    memory_vector_fn *fn, void *ctx, struct err *err);
int pgst_context_gen(store *st, const struct store_scope *sc, int64_t *gen, struct err *err);
int pgst_memory_codes_gen(store *st, const struct store_scope *sc, int64_t *gen,
    struct err *err);
int pgst_memory_set_embeddings(store *st, const char *const *ids, const float *vecs,
    size_t n, size_t dim, struct err *err);
int pgst_search_text_sync(store *st, struct err *err);
int pgst_search_codes_sync(store *st, struct err *err);
int pgst_memory_rank_text(store *st, struct arena *a, const struct store_scope *sc,
    const struct memory_rank_query *q, struct store_ids *out, struct err *err);
int pgst_memory_scan_text(store *st, const struct store_scope *sc,
    const struct memory_text_scan *ts, memory_text_fn *fn, void *ctx, struct err *err);
int pgst_memory_get_many(store *st, struct arena *a, const char *tenant,
                         const struct store_ids *ids, struct memory_rows *out,
                         struct err *err);
int pgst_memory_set_labels(store *st, const struct label_update *u, int *found,
                           struct err *err);
int pgst_qcache_get(store *st, struct arena *a, struct qcache_lookup *lk, struct err *err);
int pgst_qcache_put(store *st, const struct qcache_write *w, struct err *err);

/* ---- the context read in one round trip (postgres_context.c) ---- */

int pgst_context_read(store *st, struct arena *a, const struct store_scope *sc,
                      struct context_reads *r, struct err *err);

/* ---- subject export and import (postgres_export.c) ---- */

int pgst_export_count(store *st, const struct store_scope *sc, struct row_counts *out,
                      struct err *err);
int pgst_export_episodes(store *st, struct arena *a, const struct store_scope *sc,
                         const struct store_cursor *cur, struct episode_rows *out,
                         struct err *err);
int pgst_export_memories(store *st, struct arena *a, const struct store_scope *sc,
                         const struct store_cursor *cur, struct memory_rows *out,
                         struct err *err);
int pgst_episode_ids_taken(store *st, const char *const *ids, size_t n, int64_t *count,
                         struct err *err);
int pgst_memory_ids_taken(store *st, const char *const *ids, size_t n, int64_t *count,
                        struct err *err);
int pgst_episode_insert_many(store *st, const struct episode *eps, size_t n, struct err *err);
int pgst_memory_insert_many(store *st, const struct memory *mems, size_t n, struct err *err);

/* ---- snapshots, subject copy, cleanup (postgres_snapshots.c) ---- */

int pgst_snapshot_insert(store *st, const struct snapshot *snap, struct err *err);
int pgst_snapshot_get(store *st, struct arena *a, const char *id, struct snapshot **out,
                    struct err *err);
int pgst_snapshot_find(store *st, struct arena *a, const char *name, int64_t version,
                     struct snapshot **out, struct err *err);
int pgst_snapshot_latest(store *st, struct arena *a, const char *name, struct snapshot **out,
                         struct err *err);
int pgst_snapshot_list(store *st, struct arena *a, struct snapshot **out, size_t *n,
                     struct err *err);
int pgst_subject_copy(store *st, const struct subject_copy *spec, struct row_counts *out,
                    struct err *err);
int pgst_subject_newest_episode(store *st, const struct store_scope *sc, int64_t *newest,
                                struct err *err);
int pgst_cleanup_candidates(store *st, struct arena *a, const struct cleanup_query *cq,
                            struct subject_ref_rows *out, struct err *err);
int pgst_maintenance_trylock(store *st, int *acquired, struct err *err);
int pgst_maintenance_unlock(store *st, struct err *err);

/* ---- compile jobs (postgres_jobs.c) ---- */

int pgst_job_count_stuck(store *st, int64_t started_before, int64_t *n, struct err *err);
int pgst_job_insert(store *st, const struct compile_job *job, struct err *err);
int pgst_job_get(store *st, struct arena *a, const char *tenant, const char *id,
               struct compile_job **out, struct err *err);
int pgst_job_claim(store *st, struct arena *a, int64_t now, int64_t lease_until,
                 struct compile_job **out, struct err *err);
int pgst_job_renew(store *st, const char *id, int64_t lease_until, struct err *err);
int pgst_job_finish(store *st, const struct job_outcome *o, struct err *err);
int pgst_job_list(store *st, struct arena *a, const struct job_filter *f,
                  const struct store_page *pg, struct job_rows *out, struct err *err);
int pgst_job_delete(store *st, const struct job_filter *f, int64_t *deleted, struct err *err);
int pgst_job_count_by_status(store *st, struct arena *a, struct status_count_rows *out,
                             struct err *err);

/* ---- full-database backup (postgres_backup.c) ---- */

int pgst_backup(store *st, const char *path, struct err *err);

/* ---- rate limits (postgres_ratelimit.c) ---- */

int pgst_ratelimit_hit(store *st, const char *key, int64_t window_start, int64_t now,
                       int64_t *count, struct err *err);
int pgst_ratelimit_purge(store *st, int64_t before, int64_t *deleted, struct err *err);

/* ---- webhook events (postgres_webhooks.c) ---- */

int pgst_webhook_insert(store *st, const struct webhook_event *ev, struct err *err);
int pgst_webhook_claim(store *st, struct arena *a, const struct store_claim *c,
                       struct webhook_rows *out, struct err *err);
int pgst_webhook_update(store *st, const struct webhook_event *ev, struct err *err);
int pgst_webhook_list(store *st, struct arena *a, const struct webhook_filter *f,
                      const struct store_page *pg, struct webhook_rows *out, struct err *err);
int pgst_webhook_stats(store *st, struct webhook_stats *out, struct err *err);
int pgst_webhook_get(store *st, struct arena *a, const char *id, struct webhook_event **out,
                   struct err *err);
int pgst_webhook_purge(store *st, const struct webhook_filter *f, int64_t *deleted,
                     struct err *err);

/* ---- provable deletion, fork lineage (postgres_deletions.c) ---- */

int pgst_subject_delete_ids(store *st, struct arena *a, const struct store_scope *sc,
                            struct row_counts *out, struct store_ids *ids, struct err *err);
int pgst_subject_rows_before(store *st, const struct store_scope *sc, int64_t before,
                             struct row_counts *out, struct err *err);
int pgst_deletion_insert(store *st, const struct deletion_receipt *r, struct err *err);
int pgst_deletion_get(store *st, struct arena *a, const char *tenant, const char *id,
                      struct deletion_receipt **out, struct err *err);
int pgst_lineage_put(store *st, const struct subject_lineage *l, struct err *err);
int pgst_lineage_get(store *st, struct arena *a, const struct store_scope *sc,
                     struct subject_lineage **out, struct err *err);

/* ---- the operator's overview, the packs' rows (postgres_admin.c) ---- */

int pgst_tenant_list(store *st, struct arena *a, const struct store_page *pg,
                     struct string_rows *out, struct err *err);
int pgst_tenant_audit(store *st, struct null_tenant_counts *out, struct err *err);
int pgst_usage(store *st, const struct usage_query *q, struct usage_report *out,
               struct err *err);
int pgst_overview(store *st, struct overview_counts *out, struct err *err);
int pgst_pack_rows(store *st, struct arena *a, const struct pack_owner *o,
                   struct pack_rows *out, struct err *err);
int pgst_pack_rows_delete(store *st, const struct pack_owner *o, struct row_counts *out,
                          struct err *err);

/* ---- the support tier: resolutions and the health cache (postgres_resolutions.c) ---- */

int pgst_resolution_query(store *st, struct arena *a, const struct store_scope *sc,
                        const struct resolution_query *q, struct resolution_rows *out,
                        struct err *err);
int pgst_resolution_upsert(store *st, struct arena *a, struct resolution *r, struct err *err);
int pgst_health_cache_get(store *st, struct arena *a, const struct store_scope *sc,
                        struct health_cache_entry *out, int *found, struct err *err);
int pgst_health_cache_put(store *st, const struct store_scope *sc,
                        const struct health_cache_entry *e, struct err *err);
int pgst_health_cache_delete(store *st, const struct store_scope *sc, struct err *err);

/* ---- history (postgres_history.c) ---- */

int pgst_memory_list_as_of(store *st, struct arena *a, const struct store_scope *sc,
                           const struct as_of_query *aq, struct memory_rows *out,
                           struct err *err);
int pgst_episode_list_as_of(store *st, struct arena *a, const struct store_scope *sc,
                            const struct as_of_query *aq, struct episode_rows *out,
                            struct err *err);
int pgst_receipt_insert(store *st, const struct receipt_row *rr, struct err *err);
int pgst_receipt_get(store *st, struct arena *a, const char *tenant, const char *id,
                     struct receipt_row **out, struct err *err);
int pgst_receipt_list(store *st, struct arena *a, const struct store_scope *sc,
                      const struct receipt_query *rq, struct receipt_rows *out,
                      struct err *err);
/* ---- the admin subject explorer and deletion (postgres_explorer.c) ---- */

int pgst_explorer_subjects(store *st, struct arena *a, const struct explorer_subject_query *q,
                           struct explorer_subject_rows *out, struct err *err);
int pgst_explorer_summary(store *st, struct arena *a, const struct store_scope *sc,
                          struct explorer_summary *out, struct err *err);
int pgst_explorer_episodes(store *st, struct arena *a, const struct store_scope *sc,
                           const struct explorer_episode_query *q,
                           struct explorer_episode_rows *out, struct err *err);
int pgst_explorer_memories(store *st, struct arena *a, const struct store_scope *sc,
                           const struct explorer_memory_query *q,
                           struct explorer_memory_rows *out, struct err *err);
int pgst_explorer_resolutions(store *st, struct arena *a, const struct store_scope *sc,
                              const char *session, size_t limit, struct resolution_rows *out,
                              struct err *err);
int pgst_explorer_citing_counts(store *st, const struct store_scope *sc,
                                const struct store_ids *ids, int64_t *counts, struct err *err);
int pgst_subject_match(store *st, struct arena *a, const struct subject_selector *sel,
                       struct subject_match_rows *out, struct err *err);

#endif
