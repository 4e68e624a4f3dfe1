/* sqlite_memories.c - SQLite backend: writing and reading single memories, listing a subject's
 * active memories, and the query-embedding cache (data-model.md §2.5). The cache stores nothing
 * for texts over SQ_QCACHE_MAX_TEXT bytes, as the PostgreSQL backend must (see the header). */
#include "store/sqlite/sqlite-internal.h"

#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "util/utf8.h"

static const char SQL_MEM_INSERT[] =
    "INSERT INTO memories (" SQ_MEMORY_COLS ") "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";
static const char SQL_MEM_GET[] =
    "SELECT " SQ_MEMORY_COLS " FROM memories WHERE tenant_id IS ?1 AND id = ?2";
/* SQ_MEMORY_COLS with the embedding read only when ?5 asks for it: SQLite evaluates columns
 * lazily, so a skipped vector is never read from its overflow pages. */
#define ACTIVE_SELECT                                                                      \
    "SELECT id, subject_id, tenant_id, kind, content, summary, confidence, valid_from, "   \
    "valid_to, source_episode_ids, metadata, status, CASE WHEN ?5 THEN embedding END, "    \
    "sensitivity_labels, created_at, updated_at FROM memories "                            \
    "WHERE tenant_id IS ?1 AND subject_id = ?2 AND status = 'active' "                    \
    "AND (?4 = 0 OR embedding IS NOT NULL) "
/* With a kind, `kind = ?3` is an equality, so ix_memories_active_kind (subject, kind,
 * created_at DESC, seq) delivers the newest rows in order and LIMIT stops the scan. */
static const char SQL_MEM_ACTIVE_OLDEST[] =
    ACTIVE_SELECT "AND ?3 IS NULL ORDER BY created_at, seq LIMIT ?6";
static const char SQL_MEM_ACTIVE_NEWEST[] =
    ACTIVE_SELECT "AND ?3 IS NULL ORDER BY created_at DESC, seq LIMIT ?6";
static const char SQL_MEM_KIND_OLDEST[] =
    ACTIVE_SELECT "AND kind = ?3 ORDER BY created_at, seq LIMIT ?6";
static const char SQL_MEM_KIND_NEWEST[] =
    ACTIVE_SELECT "AND kind = ?3 ORDER BY created_at DESC, seq LIMIT ?6";
/* The vector scan: id, created_at and seq sit in the record beside the vector, so nothing
 * else of the row is decoded. */
static const char SQL_MEM_VECTORS[] =
    "SELECT id, created_at, seq, embedding FROM memories "
    "WHERE tenant_id IS ?1 AND subject_id = ?2 AND status = 'active' "
    "AND embedding IS NOT NULL AND (?3 IS NULL OR kind = ?3)";
/* The text scan, newest first: id and content sit before the vector in the record, so no
 * overflow page is read. The order is an index walk (ix_memories_active_newest, or
 * ix_memories_active_kind with a kind), so rows come as they are found and a stopped scan
 * reads no further. created_at and seq say where a stopped walk was. */
static const char SQL_MEM_TEXT[] =
    "SELECT id, content, created_at, seq FROM memories WHERE tenant_id IS ?1 "
    "AND subject_id = ?2 AND status = 'active' AND ?3 IS NULL ORDER BY created_at DESC, seq";
static const char SQL_MEM_TEXT_KIND[] =
    "SELECT id, content, created_at, seq FROM memories WHERE tenant_id IS ?1 "
    "AND subject_id = ?2 AND status = 'active' AND kind = ?3 ORDER BY created_at DESC, seq";
/* The rest of a walk that found too few matches in its first rows, driven by the trigram index
 * (schema step 8): the rows holding every trigram of ?4 in sequence (a superset of the rows
 * containing the needle: the index folds case at least as far as ASCII does), narrowed by
 * LIKE ?5 (SQLite's LIKE folds ASCII letters only: exactly search's rule), after the walk's
 * last row (?6, ?7; NULL = from the start), in the walk's order. */
static const char SQL_MEM_TEXT_TRGM[] =
    "SELECT m.id, m.content, m.created_at, m.seq FROM memories_trgm f "
    "CROSS JOIN memories m ON m.seq = f.rowid WHERE memories_trgm MATCH ?4 "
    "AND m.tenant_id IS ?1 AND m.subject_id = ?2 AND m.status = 'active' "
    "AND (?3 IS NULL OR m.kind = ?3) AND m.content LIKE ?5 ESCAPE '\\' "
    "AND (?6 IS NULL OR m.created_at < ?6 OR (m.created_at = ?6 AND m.seq > ?7)) "
    "ORDER BY m.created_at DESC, m.seq";
/* How many rows the walk reads before the trigram index takes over: a frequent needle fills
 * the limit from the newest rows, a rare one is found through the index. */
#define TEXT_WALK_ROWS 256
/* By id, the embedding left out; the unary `+` keeps the planner on the id index. */
static const char SQL_MEM_BY_IDS[] =
    "SELECT id, subject_id, tenant_id, kind, content, summary, confidence, valid_from, "
    "valid_to, source_episode_ids, metadata, status, NULL, sensitivity_labels, created_at, "
    "updated_at FROM memories WHERE +tenant_id IS ?1 "
    "AND id IN (SELECT value FROM json_each(?2))";
static const char SQL_MEM_SUPERSEDE[] =
    "UPDATE memories SET status = 'superseded', valid_to = ?3, updated_at = ?4 "
    "WHERE tenant_id IS ?1 AND id = ?2";
static const char SQL_MEM_SET_EMBEDDING[] = "UPDATE memories SET embedding = ?2 WHERE id = ?1";
static const char SQL_MEM_SET_LABELS[] =
    "UPDATE memories SET sensitivity_labels = ?3, updated_at = ?4 "
    "WHERE tenant_id IS ?1 AND id = ?2";
static const char SQL_QC_GET[] =
    "SELECT embedding FROM query_embedding_cache "
    "WHERE text_key = ?1 AND model = ?2 AND expires_at > ?3";
static const char SQL_QC_PUT[] =
    "INSERT INTO query_embedding_cache (text_key, model, embedding, expires_at, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (text_key, model) "
    "DO UPDATE SET embedding = excluded.embedding, expires_at = excluded.expires_at";
static const char SQL_QC_PURGE[] = "DELETE FROM query_embedding_cache WHERE expires_at < ?1";

int sq_memory_insert(store *st, const struct memory *m, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_MEM_INSERT, err);

    if (!q)
        return -1;
    if (sq_bind_memory(q, m) < 0) {
        sq_reset(q);
        return sq_fail(s, "memory insert bind", sqlite3_errcode(s->db), err);
    }
    return sq_step_done(s, q, "memory insert", err);
}

int sq_memory_list_active(store *st, struct arena *a, const struct store_scope *sc,
                          const struct memory_query *mq, struct memory_rows *out,
                          struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    const char *kind = mq->kind;
    const char *sql = mq->order == MEMORY_NEWEST_FIRST
                          ? (kind ? SQL_MEM_KIND_NEWEST : SQL_MEM_ACTIVE_NEWEST)
                          : (kind ? SQL_MEM_KIND_OLDEST : SQL_MEM_ACTIVE_OLDEST);
    sqlite3_stmt *q = sq_stmt(s, sql, err);
    size_t limit = mq->limit ? mq->limit : SIZE_MAX;   /* SIZE_MAX binds as LIMIT -1 */
    void *rows = NULL;
    int ret = -1;

    out->n = 0;
    if (q) {
        sq_bind_tenant(q, 1, sc->tenant);
        sq_bind_str(q, 2, sc->subject);
        sq_bind_str(q, 3, kind);
        sqlite3_bind_int(q, 4, (mq->flags & MEMORY_WITH_EMBEDDING) != 0);
        sqlite3_bind_int(q, 5, (mq->flags & MEMORY_LOAD_EMBEDDING) != 0);
        sq_bind_count(q, 6, limit, 1);
        ret = sq_collect_rows(s, a, q, sizeof(*out->items), limit, sq_read_memory, &rows,
                              &out->n, err);
    }
    out->items = rows;
    return ret;
}

/* The end of a scan: fn's last answer next (0: the rows ran out with rc), the statement
 * reset. */
static int scan_end(struct sqlite_store *s, sqlite3_stmt *q, int next, int rc, const char *what,
                    struct err *err)
{
    if (next == 0 && rc != SQLITE_DONE) {
        sq_fail(s, what, rc, err);
        next = -1;
    }
    sq_reset(q);
    return next < 0 ? -1 : 0;
}

/* A scan's statement, bound: ?1 tenant, ?2 subject, ?3 kind (NULL = every kind). */
static sqlite3_stmt *scan_start(struct sqlite_store *s, const char *sql,
                                const struct store_scope *sc, const char *kind, struct err *err)
{
    sqlite3_stmt *q = sq_stmt(s, sql, err);

    if (q) {
        sq_bind_tenant(q, 1, sc->tenant);
        sq_bind_str(q, 2, sc->subject);
        sq_bind_str(q, 3, kind);
    }
    return q;
}

int sq_vector_rows(struct sqlite_store *s, sqlite3_stmt *q, memory_vector_fn *fn, void *ctx,
                   struct err *err)
{
    struct memory_vector row;
    int rc = SQLITE_DONE, next = 0;

    while (next == 0 && (rc = sq_step(q)) == SQLITE_ROW) {
        row.id = (const char *)sqlite3_column_text(q, 0);
        row.seq = sqlite3_column_int64(q, 2);
        row.vec = sqlite3_column_blob(q, 3);
        row.bytes = (size_t)sqlite3_column_bytes(q, 3);
        if (!row.id || sq_col_ts(q, 1, &row.created_at) < 0) {
            sq_reset(q);
            return sq_bad_timestamp("memories", err);
        }
        next = fn(ctx, &row, err);
    }
    return scan_end(s, q, next, rc, "memory vector scan", err);
}

int sq_memory_scan_vectors(store *st, const struct store_scope *sc, const char *kind,
                           memory_vector_fn *fn, void *ctx, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = scan_start(s, SQL_MEM_VECTORS, sc, kind, err);

    return q ? sq_vector_rows(s, q, fn, ctx, err) : -1;
}

/* The FTS5 query for rows holding needle's trigrams in sequence: needle as one quoted
 * string (its '"' doubled), in the arena. */
static char *trigram_phrase(struct arena *a, const char *needle)
{
    size_t n = strlen(needle), i, k = 0;
    char *out = arena_alloc(a, 2 * n + 3);

    out[k++] = '"';
    for (i = 0; i < n; i++) {
        if (needle[i] == '"')
            out[k++] = '"';
        out[k++] = needle[i];
    }
    out[k++] = '"';
    out[k] = '\0';
    return out;
}

/* '%' needle '%' with LIKE's own characters escaped by '\', in the arena. */
static char *like_pattern(struct arena *a, const char *needle)
{
    size_t n = strlen(needle), i, k = 0;
    char *out = arena_alloc(a, 2 * n + 3);

    out[k++] = '%';
    for (i = 0; i < n; i++) {
        if (needle[i] == '%' || needle[i] == '_' || needle[i] == '\\')
            out[k++] = '\\';
        out[k++] = needle[i];
    }
    out[k++] = '%';
    out[k] = '\0';
    return out;
}

/* Where a text scan stands: rows handed to fn, fn's last answer, the last row's place. */
struct text_walk {
    memory_text_fn *fn;
    void *ctx;
    size_t budget;          /* stop (more = 1) after this many rows; 0 = no budget */
    size_t rows;
    int next;               /* fn's last answer */
    int more;               /* 1: the budget ran out before the rows or fn did */
    char last_at[40];       /* the last row's created_at (text, as stored) and seq */
    int64_t last_seq;
};

/* Hand q's rows to w->fn until fn, the rows or the budget end; 0, or -1 with err set. */
static int text_walk_run(struct sqlite_store *s, sqlite3_stmt *q, struct text_walk *w,
                         struct err *err)
{
    struct memory_text row;
    const char *at;
    int rc = SQLITE_DONE;

    while (w->next == 0 && (rc = sq_step(q)) == SQLITE_ROW) {
        row.id = (const char *)sqlite3_column_text(q, 0);
        row.content = (const char *)sqlite3_column_text(q, 1);
        at = (const char *)sqlite3_column_text(q, 2);
        if (!row.id || !row.content || !at) {
            sq_reset(q);
            return sq_fail(s, "memory text scan", SQLITE_NOMEM, err);
        }
        snprintf(w->last_at, sizeof(w->last_at), "%s", at);
        w->last_seq = sqlite3_column_int64(q, 3);
        w->next = w->fn(w->ctx, &row, err);
        if (w->next == 0 && w->budget && ++w->rows == w->budget) {
            w->more = 1;
            break;
        }
    }
    if (w->more && rc == SQLITE_ROW) {
        sq_reset(q);
        return 0;
    }
    w->more = 0;
    return scan_end(s, q, w->next, rc, "memory text scan", err);
}

int sq_memory_scan_text(store *st, const struct store_scope *sc,
                        const struct memory_text_scan *ts, memory_text_fn *fn, void *ctx,
                        struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    const char *kind = ts->kind, *needle = ts->contains;
    int indexed = needle && utf8_count(needle, strlen(needle)) >= STORE_TRIGRAM_MIN;
    struct text_walk w = { .fn = fn, .ctx = ctx, .budget = indexed ? TEXT_WALK_ROWS : 0 };
    sqlite3_stmt *q = scan_start(s, kind ? SQL_MEM_TEXT_KIND : SQL_MEM_TEXT, sc, kind, err);
    struct arena *a;
    int ret;

    if (!q || text_walk_run(s, q, &w, err) < 0)
        return -1;
    if (!w.more)
        return 0;
    /* The newest rows did not satisfy fn: the index finds the rest. */
    q = scan_start(s, SQL_MEM_TEXT_TRGM, sc, kind, err);
    if (!q)
        return -1;
    a = arena_new();
    sqlite3_bind_text(q, 4, trigram_phrase(a, needle), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 5, like_pattern(a, needle), -1, SQLITE_TRANSIENT);
    arena_free(a);
    sqlite3_bind_text(q, 6, w.last_at, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 7, w.last_seq);
    w.budget = 0;
    ret = text_walk_run(s, q, &w, err);
    return ret;
}

int sq_memory_get_many(store *st, struct arena *a, const char *tenant,
                       const struct store_ids *ids, struct memory_rows *out, struct err *err)
{
    void *rows;
    int ret = sq_rows_by_ids(sq_downcast(st), a, SQL_MEM_BY_IDS, tenant, ids,
                             sizeof(*out->items), sq_read_memory, &rows, &out->n, err);

    out->items = rows;
    return ret;
}

int sq_memory_supersede(store *st, const char *tenant, const char *id, int64_t valid_to,
                        int64_t updated_at, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_MEM_SUPERSEDE, err);

    if (!q)
        return -1;
    sq_bind_tenant(q, 1, tenant);
    sq_bind_str(q, 2, id);
    sq_bind_ts(q, 3, valid_to);
    sq_bind_ts(q, 4, updated_at);
    return sq_step_done(s, q, "memory supersede", err);
}

int sq_memory_set_embedding(store *st, const char *id, const float *vec, size_t dim,
                            struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_MEM_SET_EMBEDDING, err);

    if (!q)
        return -1;
    sq_bind_str(q, 1, id);
    if (sq_bind_vec(q, 2, vec, dim) != SQLITE_OK) {
        sq_reset(q);
        return sq_fail(s, "memory embedding bind", sqlite3_errcode(s->db), err);
    }
    return sq_step_done(s, q, "memory set embedding", err);
}

int sq_memory_get(store *st, struct arena *a, const char *tenant, const char *id,
                  struct memory **out, struct err *err)
{
    void *row;
    int ret = sq_lookup(sq_downcast(st), a, SQL_MEM_GET, tenant, id, sizeof(**out),
                        sq_read_memory, &row, err);

    *out = row;
    return ret;
}

int sq_memory_set_labels(store *st, const struct label_update *u, int *found, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_MEM_SET_LABELS, err);

    *found = 0;
    if (!q)
        return -1;
    sq_bind_tenant(q, 1, u->tenant);
    sq_bind_str(q, 2, u->memory_id);
    sq_bind_json(q, 3, u->labels_json, "[]");
    sq_bind_ts(q, 4, u->updated_at);
    if (sq_step_done(s, q, "memory set labels", err) < 0)
        return -1;
    *found = sqlite3_changes64(s->db) > 0;
    return 0;
}

/* ---- query-embedding cache ---- */

int sq_qcache_get(store *st, struct arena *a, struct qcache_lookup *lk, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q;
    int rc;

    lk->vec = NULL;
    lk->dim = 0;
    if (strlen(lk->text) > SQ_QCACHE_MAX_TEXT)
        return 0;
    q = sq_stmt(s, SQL_QC_GET, err);
    if (!q)
        return -1;
    sq_bind_str(q, 1, lk->text);
    sq_bind_str(q, 2, lk->model);
    sq_bind_ts(q, 3, lk->now);
    rc = sq_step(q);
    if (rc == SQLITE_ROW)   /* the arena copy is the caller's */
        lk->vec = (float *)sq_col_vec(a, q, 0, &lk->dim);
    sq_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sq_fail(s, "query cache get", rc, err);
    return 0;
}

/* The upsert then the purge, in the transaction qcache_put holds. */
static int qcache_write(struct sqlite_store *s, const struct qcache_write *w, struct err *err)
{
    sqlite3_stmt *q = sq_stmt(s, SQL_QC_PUT, err);

    if (!q)
        return -1;
    sq_bind_str(q, 1, w->text);
    sq_bind_str(q, 2, w->model);
    if (sq_bind_vec(q, 3, w->vec, w->dim) != SQLITE_OK) {
        sq_reset(q);
        return sq_fail(s, "query cache bind", sqlite3_errcode(s->db), err);
    }
    sq_bind_ts(q, 4, w->expires_at);
    sq_bind_ts(q, 5, w->now);
    if (sq_step_done(s, q, "query cache put", err) < 0)
        return -1;
    q = sq_stmt(s, SQL_QC_PURGE, err);
    if (!q)
        return -1;
    sq_bind_ts(q, 1, w->purge_before);
    return sq_step_done(s, q, "query cache purge", err);
}

int sq_qcache_put(store *st, const struct qcache_write *w, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    int own, ret;

    if (!w->vec || w->dim == 0)
        return err_set(err, ERR_INVALID, "query cache: empty embedding");
    if (strlen(w->text) > SQ_QCACHE_MAX_TEXT) {
        log_write(LOG_DEBUG, "query cache: text of %zu bytes not cached (limit %d)",
                  strlen(w->text), SQ_QCACHE_MAX_TEXT);
        return 0;
    }
    if (store_tx_enter(&s->base, &own, err) < 0)
        return -1;
    ret = qcache_write(s, w, err);
    return store_tx_leave(&s->base, own, ret, err);
}
