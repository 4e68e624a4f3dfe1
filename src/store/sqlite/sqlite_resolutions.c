/* sqlite_resolutions.c - SQLite backend: the support tier's rows, resolutions (listing and the
 * read-then-write upsert) and the per-(tenant, subject) health cache. */
#include "store/sqlite/sqlite-internal.h"

#include <stdint.h>

#define RES_COLS                                                                       \
    "id, subject_id, tenant_id, session_id, status, resolution_summary, resolved_at, " \
    "metadata_, created_at, updated_at"

/* ?1 tenant, ?2 subject, ?3 status (NULL = any), ?4 limit. */
static const char SQL_QUERY[] =
    "SELECT " RES_COLS " FROM resolutions WHERE tenant_id IS ?1 AND subject_id = ?2 "
    "AND (?3 IS NULL OR status = ?3) ORDER BY updated_at DESC, seq LIMIT ?4";
/* The newest row of the key gets the new state (several rows of one key exist only when a
 * snapshot restore brought copies next to an existing resolution). */
static const char SQL_UPDATE[] =
    "UPDATE resolutions SET status = ?4, resolution_summary = ?5, resolved_at = ?6, "
    "metadata_ = ?7, updated_at = ?8 WHERE seq = (SELECT seq FROM resolutions "
    "WHERE tenant_id IS ?1 AND subject_id = ?2 AND session_id = ?3 "
    "ORDER BY updated_at DESC, seq LIMIT 1) RETURNING " RES_COLS;
static const char SQL_INSERT[] =
    "INSERT INTO resolutions (tenant_id, subject_id, session_id, status, resolution_summary, "
    "resolved_at, metadata_, updated_at, created_at, id) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9) RETURNING " RES_COLS;
static const char SQL_CACHE_GET[] =
    "SELECT last_state, last_score, updated_at FROM subject_health_cache "
    "WHERE COALESCE(tenant_id, '') = COALESCE(?1, '') AND subject_id = ?2";
static const char SQL_CACHE_PUT[] =
    "INSERT INTO subject_health_cache (tenant_id, subject_id, last_state, last_score, "
    "updated_at) VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT (COALESCE(tenant_id, ''), subject_id) DO UPDATE SET "
    "last_state = excluded.last_state, last_score = excluded.last_score, "
    "updated_at = excluded.updated_at";
static const char SQL_CACHE_DELETE[] =
    "DELETE FROM subject_health_cache "
    "WHERE COALESCE(tenant_id, '') = COALESCE(?1, '') AND subject_id = ?2";

int sq_read_resolution(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    struct resolution *r = row;

    sq_col_id(q, 0, r->id);
    r->subject_id = sq_col_str(a, q, 1);
    r->tenant_id = sq_col_str(a, q, 2);
    r->session_id = sq_col_str(a, q, 3);
    r->status = sq_col_str(a, q, 4);
    r->resolution_summary = sq_col_str(a, q, 5);
    r->metadata = sq_col_str(a, q, 7);
    if (sq_col_ts(q, 6, &r->resolved_at) < 0 || sq_col_ts(q, 8, &r->created_at) < 0 ||
        sq_col_ts(q, 9, &r->updated_at) < 0)
        return sq_bad_timestamp("resolutions", err);
    return 0;
}

int sq_resolution_query(store *st, struct arena *a, const struct store_scope *sc,
                        const struct resolution_query *rq, struct resolution_rows *out,
                        struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_QUERY, err);
    void *rows = NULL;
    int ret = -1;

    out->n = 0;
    if (q) {
        sq_bind_tenant(q, 1, sc->tenant);
        sq_bind_str(q, 2, sc->subject);
        sq_bind_str(q, 3, rq->status);
        sq_bind_count(q, 4, rq->limit ? rq->limit : SIZE_MAX, 1);
        ret = sq_collect_rows(s, a, q, sizeof(*out->items), rq->limit ? rq->limit : 16,
                              sq_read_resolution, &rows, &out->n, err);
    }
    out->items = rows;
    return ret;
}

/* Run the bound upsert statement q (UPDATE or INSERT … RETURNING) and read the row it
 * returns into *r; *done = 0 when it touched no row. */
static int upsert_step(struct sqlite_store *s, struct arena *a, sqlite3_stmt *q,
                       struct resolution *r, int *done, struct err *err)
{
    void *row;

    if (sq_collect_one(s, a, q, sizeof(*r), sq_read_resolution, &row, err) < 0)
        return -1;
    *done = row != NULL;
    if (row)
        *r = *(struct resolution *)row;
    return 0;
}

/* Bind the key and the new state: ?1 tenant, ?2 subject, ?3 session, ?4 status, ?5 summary,
 * ?6 resolved_at, ?7 metadata, ?8 updated_at. */
static void bind_state(sqlite3_stmt *q, const struct resolution *r)
{
    sq_bind_tenant(q, 1, r->tenant_id);
    sq_bind_str(q, 2, r->subject_id);
    sq_bind_str(q, 3, r->session_id);
    sq_bind_str(q, 4, r->status);
    sq_bind_str(q, 5, r->resolution_summary);
    sq_bind_ts(q, 6, r->resolved_at);
    sq_bind_json(q, 7, r->metadata, "{}");
    sq_bind_ts(q, 8, r->updated_at);
}

static int upsert_rows(struct sqlite_store *s, struct arena *a, struct resolution *r,
                       struct err *err)
{
    sqlite3_stmt *q = sq_stmt(s, SQL_UPDATE, err);
    int done = 0;

    if (!q)
        return -1;
    bind_state(q, r);
    if (upsert_step(s, a, q, r, &done, err) < 0)
        return -1;
    if (done)
        return 0;
    q = sq_stmt(s, SQL_INSERT, err);
    if (!q)
        return -1;
    bind_state(q, r);
    sq_bind_str(q, 9, r->id);
    if (upsert_step(s, a, q, r, &done, err) < 0)
        return -1;
    return done ? 0 : err_set(err, ERR_INTERNAL, "database error");
}

int sq_resolution_upsert(store *st, struct arena *a, struct resolution *r, struct err *err)
{
    int own, ret;

    if (store_tx_enter(st, &own, err) < 0)
        return -1;
    ret = upsert_rows(sq_downcast(st), a, r, err);
    return store_tx_leave(st, own, ret, err);
}

static int read_cache(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    struct health_cache_entry *e = row;

    e->state = sq_col_str(a, q, 0);
    e->score = sqlite3_column_int64(q, 1);
    if (sq_col_ts(q, 2, &e->updated_at) < 0)
        return sq_bad_timestamp("subject_health_cache", err);
    return 0;
}

int sq_health_cache_get(store *st, struct arena *a, const struct store_scope *sc,
                        struct health_cache_entry *out, int *found, struct err *err)
{
    void *row;

    *found = 0;
    if (sq_lookup(sq_downcast(st), a, SQL_CACHE_GET, sc->tenant, sc->subject, sizeof(*out),
                  read_cache, &row, err) < 0)
        return -1;
    if (row) {
        *out = *(struct health_cache_entry *)row;
        *found = 1;
    }
    return 0;
}

int sq_health_cache_put(store *st, const struct store_scope *sc,
                        const struct health_cache_entry *e, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_CACHE_PUT, err);

    if (!q)
        return -1;
    sq_bind_tenant(q, 1, sc->tenant);
    sq_bind_str(q, 2, sc->subject);
    sq_bind_str(q, 3, e->state);
    sqlite3_bind_int64(q, 4, e->score);
    sq_bind_ts(q, 5, e->updated_at);
    return sq_step_done(s, q, "health cache write", err);
}

int sq_health_cache_delete(store *st, const struct store_scope *sc, struct err *err)
{
    return sq_subject_write(sq_downcast(st), SQL_CACHE_DELETE, sc, NULL, err);
}
