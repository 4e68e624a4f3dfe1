/* postgres_resolutions.c - PostgreSQL backend: the support tier's rows, resolutions (listing
 * and the read-then-write upsert, one statement) and the per-(tenant, subject) health cache. */
#include "store/postgres/postgres-internal.h"

#include <stdint.h>
#include <stdio.h>

#define RES_COLS                                                                      \
    "id, subject_id, tenant_id, session_id, status, resolution_summary, resolved_at," \
    " metadata_, created_at, updated_at"

/* $1 tenant key, $2 subject, $3 status (NULL = any), $4 limit. */
static const char SQL_QUERY[] =
    "SELECT " RES_COLS " FROM resolutions WHERE COALESCE(tenant_id, '') = $1"
    " AND subject_id = $2 AND ($3::text IS NULL OR status = $3::text)"
    " ORDER BY updated_at DESC, seq LIMIT $4";
/* $1 tenant key, $2 subject, $3 session, $4 status, $5 summary, $6 resolved_at, $7 metadata,
 * $8 updated_at, $9 id of a new row, $10 tenant value. The newest row of the key gets the new
 * state (several rows of one key exist only when a snapshot restore brought copies next to an
 * existing resolution); without one, a row is inserted. The caller holds the subject lock, so
 * no concurrent upsert of the key inserts between the read and the write. */
static const char SQL_UPSERT[] =
    "WITH target AS (SELECT id FROM resolutions WHERE COALESCE(tenant_id, '') = $1::text"
    " AND subject_id = $2::text AND session_id = $3::text"
    " ORDER BY updated_at DESC, seq LIMIT 1 FOR UPDATE),"
    " upd AS (UPDATE resolutions r SET status = $4::text, resolution_summary = $5::text,"
    " resolved_at = $6::timestamptz, metadata_ = $7::json, updated_at = $8::timestamptz"
    " FROM target WHERE r.id = target.id RETURNING r.id, r.subject_id, r.tenant_id,"
    " r.session_id, r.status, r.resolution_summary, r.resolved_at, r.metadata_, r.created_at,"
    " r.updated_at),"
    " ins AS (INSERT INTO resolutions (id, subject_id, tenant_id, session_id, status,"
    " resolution_summary, resolved_at, metadata_, created_at, updated_at)"
    " SELECT $9::uuid, $2::text, $10::text, $3::text, $4::text, $5::text, $6::timestamptz,"
    " $7::json, $8::timestamptz, $8::timestamptz WHERE NOT EXISTS (SELECT 1 FROM target)"
    " RETURNING " RES_COLS ")"
    " SELECT * FROM upd UNION ALL SELECT * FROM ins";
static const char SQL_CACHE_GET[] =
    "SELECT last_state, last_score, updated_at FROM subject_health_cache"
    " WHERE COALESCE(tenant_id, '') = $1 AND subject_id = $2";
static const char SQL_CACHE_PUT[] =
    "INSERT INTO subject_health_cache (tenant_id, subject_id, last_state, last_score,"
    " updated_at) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT ((COALESCE(tenant_id, '')), subject_id) DO UPDATE SET"
    " last_state = excluded.last_state, last_score = excluded.last_score,"
    " updated_at = excluded.updated_at";
static const char SQL_CACHE_DELETE[] =
    "DELETE FROM subject_health_cache WHERE COALESCE(tenant_id, '') = $1 AND subject_id = $2";

int pgst_read_resolution_row(struct arena *a, const PGresult *r, int row, void *out)
{
    struct resolution *res = out;

    snprintf(res->id, sizeof(res->id), "%s", PQgetvalue(r, row, 0));
    res->subject_id = pgst_col_str(a, r, row, 1);
    res->tenant_id = pgst_col_str(a, r, row, 2);
    res->session_id = pgst_col_str(a, r, row, 3);
    res->status = pgst_col_str(a, r, row, 4);
    res->resolution_summary = pgst_col_str(a, r, row, 5);
    res->metadata = pgst_col_str(a, r, row, 7); /* a json column keeps the text as written */
    if (pgst_col_ts(r, row, 6, &res->resolved_at) < 0 ||
        pgst_col_ts(r, row, 8, &res->created_at) < 0 ||
        pgst_col_ts(r, row, 9, &res->updated_at) < 0)
        return -1;
    return 0;
}

/* Run sql and read its rows into *out. */
static int run_rows(struct pgst_store *ps, struct arena *a, const char *sql, int nparams,
                    const char *const *vals, struct resolution_rows *out, struct err *err)
{
    PGresult *r = pgst_exec(ps, sql, nparams, vals, err);
    void *rows = NULL;
    int ret;

    ret = pgst_take_rows(a, r, sizeof(*out->items), pgst_read_resolution_row, &rows, &out->n,
                         err);
    out->items = rows;
    return ret;
}

int pgst_resolution_query(store *st, struct arena *a, const struct store_scope *sc,
                          const struct resolution_query *q, struct resolution_rows *out,
                          struct err *err)
{
    char lim[PG_INT_LEN];
    const char *vals[4] = {
        pgst_tenant_key(sc->tenant),
        sc->subject,
        q->status,
        pgst_size_param(q->limit ? q->limit : SIZE_MAX, lim),
    };

    return run_rows(pgst_downcast(st), a, SQL_QUERY, 4, vals, out, err);
}

int pgst_resolution_upsert(store *st, struct arena *a, struct resolution *r, struct err *err)
{
    char resolved[TS_STR_LEN], updated[TS_STR_LEN];
    const char *vals[10] = {
        pgst_tenant_key(r->tenant_id),
        r->subject_id,
        r->session_id,
        r->status,
        r->resolution_summary,
        pgst_ts_param(r->resolved_at, resolved),
        pgst_json_param(r->metadata, "{}"),
        pgst_ts_param(r->updated_at, updated),
        r->id,
        pgst_tenant_value(r->tenant_id),
    };
    struct resolution_rows rows;

    if (run_rows(pgst_downcast(st), a, SQL_UPSERT, 10, vals, &rows, err) < 0)
        return -1;
    if (rows.n != 1)
        return err_set(err, ERR_INTERNAL, "database error");
    *r = rows.items[0];
    return 0;
}

int pgst_health_cache_get(store *st, struct arena *a, const struct store_scope *sc,
                          struct health_cache_entry *out, int *found, struct err *err)
{
    const char *vals[2] = { pgst_tenant_key(sc->tenant), sc->subject };
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_CACHE_GET, 2, vals, err);
    int64_t updated;

    *found = 0;
    if (!r)
        return -1;
    if (PQntuples(r) > 0) {
        if (pgst_col_ts(r, 0, 2, &updated) < 0) {
            PQclear(r);
            return err_set(err, ERR_INTERNAL, "database error");
        }
        out->state = pgst_col_str(a, r, 0, 0);
        out->score = pgst_col_int(r, 0, 1);
        out->updated_at = updated;
        *found = 1;
    }
    PQclear(r);
    return 0;
}

int pgst_health_cache_put(store *st, const struct store_scope *sc,
                          const struct health_cache_entry *e, struct err *err)
{
    char score[PG_INT_LEN], updated[TS_STR_LEN];
    const char *vals[5] = {
        pgst_tenant_value(sc->tenant), sc->subject, e->state, pgst_int_param(e->score, score),
        pgst_ts_param(e->updated_at, updated),
    };

    return pgst_exec_void(pgst_downcast(st), SQL_CACHE_PUT, 5, vals, err);
}

int pgst_health_cache_delete(store *st, const struct store_scope *sc, struct err *err)
{
    const char *vals[2] = { pgst_tenant_key(sc->tenant), sc->subject };

    return pgst_exec_void(pgst_downcast(st), SQL_CACHE_DELETE, 2, vals, err);
}
