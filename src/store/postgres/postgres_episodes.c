/* postgres_episodes.c - PostgreSQL backend: inserting episodes (idempotency keys included) and
 * listing a subject's episodes. */
#include "store/postgres/postgres-internal.h"

#include "util/log.h"
#include "util/ts.h"

static const char SQL_EPISODE_INSERT[] =
    "INSERT INTO episodes (" PG_EPISODE_COLS ")"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    " ON CONFLICT ((COALESCE(tenant_id, '')), subject_id, idempotency_key)"
    " WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING 1";
static const char SQL_EPISODE_BY_KEY[] =
    "SELECT " PG_EPISODE_COLS " FROM episodes WHERE COALESCE(tenant_id, '') = $1"
    " AND subject_id = $2 AND idempotency_key = $3";
static const char SQL_EPISODE_LIST[] =
    "SELECT " PG_EPISODE_COLS " FROM episodes WHERE COALESCE(tenant_id, '') = $1"
    " AND subject_id = $2 ORDER BY created_at, seq LIMIT $3 OFFSET $4";

/* Insert ep; *inserted = 0 when its idempotency key already names an episode. JSON columns
 * are `json` (text kept as sent), so ep already holds what later reads return. */
static int episode_try_insert(struct pgst_store *ps, struct episode *ep, int *inserted,
                              struct err *err)
{
    struct pgst_episode_text text;
    const char *vals[PG_EPISODE_NPARAMS];
    PGresult *r;

    pgst_episode_params(ep, &text, vals);
    r = pgst_exec(ps, SQL_EPISODE_INSERT, PG_EPISODE_NPARAMS, vals, err);
    if (!r)
        return -1;
    *inserted = PQntuples(r) > 0;
    PQclear(r);
    return 0;
}

/* The episode holding ep's idempotency key, into *ep; *found = 0 if there is none. */
static int episode_by_key(struct pgst_store *ps, struct arena *a, struct episode *ep,
                          int *found, struct err *err)
{
    const char *vals[3] = { pgst_tenant_key(ep->tenant_id), ep->subject_id,
                            ep->idempotency_key };
    PGresult *r = pgst_exec(ps, SQL_EPISODE_BY_KEY, 3, vals, err);
    int ret = 0;

    if (!r)
        return -1;
    *found = PQntuples(r) > 0;
    if (*found && pgst_read_episode(a, r, 0, ep) < 0)
        ret = err_set(err, ERR_INTERNAL, "database error");
    PQclear(r);
    return ret;
}

int pgst_episode_insert(store *st, struct arena *a, struct episode *ep, int *inserted,
                      struct err *err)
{
    struct pgst_store *ps = pgst_downcast(st);
    int attempt, found;

    if (ep->id[0] == '\0')
        uuid_v4(ep->id);
    if (ep->created_at == TS_NULL)
        ep->created_at = ts_now();
    /* A conflicting row deleted between the two statements: insert again, once. */
    for (attempt = 0; attempt < 2; attempt++) {
        if (episode_try_insert(ps, ep, inserted, err) < 0)
            return -1;
        if (*inserted)
            return 0;
        if (episode_by_key(ps, a, ep, &found, err) < 0)
            return -1;
        if (found)
            return 0;
    }
    log_write(LOG_ERROR, "postgres: episode_insert: idempotency key conflict did not resolve");
    return err_set(err, ERR_INTERNAL, "database error");
}

int pgst_episode_list(store *st, struct arena *a, const struct store_scope *sc,
                      const struct store_page *pg, struct episode_rows *out, struct err *err)
{
    char lim[PG_INT_LEN], off[PG_INT_LEN];
    const char *vals[4] = { pgst_tenant_key(sc->tenant), sc->subject,
                            pgst_size_param(pg->limit, lim), pgst_size_param(pg->offset, off) };
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_EPISODE_LIST, 4, vals, err);
    void *rows = NULL;
    int ret;

    out->items = NULL;
    out->n = 0;
    if (!r)
        return -1;
    ret = pgst_collect_rows(a, r, sizeof(*out->items), pgst_read_episode, &rows, &out->n, err);
    PQclear(r);
    out->items = rows;
    return ret;
}
