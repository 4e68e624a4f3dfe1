/* postgres_admin.c - PostgreSQL backend: the operator's overview (tenants, tenant audit,
 * usage, dashboard counts; spec/api.md §7.6) and the rows a bundled starter pack owns (§7.7).
 * Tenant filters use the COALESCE(tenant_id, '') expression indexes ('' = no tenant). */
#include "store/postgres/postgres-internal.h"

#include <string.h>

/* Distinct tenants by index seeks (a "loose index scan"): one seek of the tenant index per
 * tenant, never a scan of the episodes. '' (no tenant) sorts first and is skipped. */
static const char SQL_TENANTS[] =
    "WITH RECURSIVE t(v) AS ("
    " SELECT MIN(COALESCE(tenant_id, '')) FROM episodes WHERE COALESCE(tenant_id, '') > ''"
    " UNION ALL"
    " SELECT (SELECT MIN(COALESCE(tenant_id, '')) FROM episodes"
    " WHERE COALESCE(tenant_id, '') > t.v) FROM t WHERE t.v IS NOT NULL)"
    " SELECT v FROM t WHERE v IS NOT NULL LIMIT $1 OFFSET $2";

static const char SQL_TENANT_AUDIT[] =
    "SELECT (SELECT count(*) FROM episodes WHERE COALESCE(tenant_id, '') = ''),"
    " (SELECT count(*) FROM memories WHERE COALESCE(tenant_id, '') = ''),"
    " (SELECT count(*) FROM compile_jobs WHERE COALESCE(tenant_id, '') = '')";

/* One table's four counts: $2 today, $3 7 days, $4 30 days. */
#define USAGE_ALL(t)                                                                       \
    "(SELECT count(*) FROM " t " WHERE created_at >= $2::timestamptz),"                    \
    "(SELECT count(*) FROM " t " WHERE created_at >= $3::timestamptz),"                    \
    "(SELECT count(*) FROM " t " WHERE created_at >= $4::timestamptz),"                    \
    "(SELECT count(*) FROM " t "),"
#define TENANT_IS " AND COALESCE(tenant_id, '') = $1::text"
#define USAGE_TENANT(t)                                                                    \
    "(SELECT count(*) FROM " t " WHERE created_at >= $2::timestamptz" TENANT_IS "),"       \
    "(SELECT count(*) FROM " t " WHERE created_at >= $3::timestamptz" TENANT_IS "),"       \
    "(SELECT count(*) FROM " t " WHERE created_at >= $4::timestamptz" TENANT_IS "),"       \
    "(SELECT count(*) FROM " t " WHERE true" TENANT_IS "),"

/* Active subjects in one pass: each subject's newest episode (the (subject_id, created_at)
 * index, in order) is since a cut-off exactly when the subject has an episode since it. */
#define ACTIVE(where)                                                                      \
    "WITH act AS (SELECT count(*) FILTER (WHERE m >= $3::timestamptz) AS a7,"              \
    " count(*) FILTER (WHERE m >= $4::timestamptz) AS a30, count(*) AS total"             \
    " FROM (SELECT max(created_at) AS m FROM episodes" where " GROUP BY subject_id) x)"     \
    " SELECT "

/* $1 is unused here but keeps both statements' parameters alike. */
static const char SQL_USAGE_ALL[] =
    ACTIVE(" WHERE $1::text IS NULL OR true") USAGE_ALL("episodes") USAGE_ALL("memories")
    USAGE_ALL("compile_jobs") USAGE_ALL("webhook_events") " a7, a30, total FROM act";
static const char SQL_USAGE_TENANT[] =
    ACTIVE(" WHERE COALESCE(tenant_id, '') = $1::text") USAGE_TENANT("episodes")
    USAGE_TENANT("memories") USAGE_TENANT("compile_jobs") USAGE_TENANT("webhook_events")
    " a7, a30, total FROM act";

static const char SQL_OVERVIEW[] =
    "SELECT (SELECT count(*) FROM episodes), (SELECT count(*) FROM memories),"
    " (SELECT count(DISTINCT subject_id) FROM episodes),"
    " (SELECT count(*) FROM subject_health_cache WHERE last_state = 'healthy'),"
    " (SELECT count(*) FROM subject_health_cache WHERE last_state = 'watch'),"
    " (SELECT count(*) FROM subject_health_cache WHERE last_state = 'at_risk'),"
    " (SELECT count(*) FROM (SELECT DISTINCT COALESCE(tenant_id, '') AS t, subject_id"
    "  FROM episodes) e WHERE NOT EXISTS (SELECT 1 FROM subject_health_cache c"
    "  WHERE COALESCE(c.tenant_id, '') = e.t AND c.subject_id = e.subject_id))";

/* $1 subject, $2 pack id, $3 legacy pack name. */
#define OWNED " (metadata->>'starter_pack_id' = $2 OR metadata->>'pack' = $3)"

static const char SQL_PACK_ROWS[] =
    "SELECT (SELECT count(*) FROM episodes WHERE subject_id = $1),"
    " (SELECT count(*) FROM episodes WHERE subject_id = $1 AND" OWNED "),"
    " (SELECT count(*) FROM memories WHERE subject_id = $1),"
    " (SELECT count(*) FROM memories WHERE subject_id = $1 AND" OWNED "),"
    " COALESCE((SELECT metadata::text FROM episodes WHERE subject_id = $1 AND" OWNED
    " ORDER BY seq DESC LIMIT 1),"
    " (SELECT metadata::text FROM memories WHERE subject_id = $1 AND" OWNED
    " ORDER BY seq DESC LIMIT 1))";
static const char SQL_PACK_DELETE[] =
    "WITH e AS (DELETE FROM episodes WHERE subject_id = $1 AND" OWNED " RETURNING 1),"
    " m AS (DELETE FROM memories WHERE subject_id = $1 AND" OWNED " RETURNING 1)"
    " SELECT (SELECT count(*) FROM e), (SELECT count(*) FROM m)";

static int read_string(struct arena *a, const PGresult *r, int row, void *out)
{
    *(const char **)out = pgst_col_str(a, r, row, 0);
    return 0;
}

int pgst_tenant_list(store *st, struct arena *a, const struct store_page *pg,
                     struct string_rows *out, struct err *err)
{
    char lim[PG_INT_LEN], off[PG_INT_LEN];
    const char *vals[2] = { pgst_size_param(pg->limit, lim), pgst_size_param(pg->offset, off) };
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_TENANTS, 2, vals, err);
    void *rows = NULL;
    int ret = pgst_take_rows(a, r, sizeof(*out->items), read_string, &rows, &out->n, err);

    out->items = rows;
    return ret;
}

/* Run sql and copy the first n columns of its one row into v; r is cleared. */
static int one_row_ints(struct pgst_store *ps, const char *sql, int nparams,
                        const char *const *vals, int64_t *v, int n, struct err *err)
{
    PGresult *r = pgst_exec(ps, sql, nparams, vals, err);
    int i;

    if (!r)
        return -1;
    for (i = 0; i < n; i++)
        v[i] = PQntuples(r) > 0 ? pgst_col_int(r, 0, i) : 0;
    PQclear(r);
    return 0;
}

int pgst_tenant_audit(store *st, struct null_tenant_counts *out, struct err *err)
{
    int64_t v[3];

    memset(out, 0, sizeof(*out));
    if (one_row_ints(pgst_downcast(st), SQL_TENANT_AUDIT, 0, NULL, v, 3, err) < 0)
        return -1;
    out->episodes = v[0];
    out->memories = v[1];
    out->compile_jobs = v[2];
    return 0;
}

int pgst_usage(store *st, const struct usage_query *q, struct usage_report *out,
               struct err *err)
{
    char today[TS_STR_LEN], d7[TS_STR_LEN], d30[TS_STR_LEN];
    const char *vals[4] = { q->tenant ? pgst_tenant_key(q->tenant) : NULL,
                            pgst_ts_param(q->today, today), pgst_ts_param(q->d7, d7),
                            pgst_ts_param(q->d30, d30) };
    int64_t v[19];

    memset(out, 0, sizeof(*out));
    if (one_row_ints(pgst_downcast(st), q->tenant ? SQL_USAGE_TENANT : SQL_USAGE_ALL, 4, vals,
                     v, 19, err) < 0)
        return -1;
    store_usage_from_row(out, v);
    return 0;
}

int pgst_overview(store *st, struct overview_counts *out, struct err *err)
{
    int64_t v[7];

    memset(out, 0, sizeof(*out));
    if (one_row_ints(pgst_downcast(st), SQL_OVERVIEW, 0, NULL, v, 7, err) < 0)
        return -1;
    store_overview_from_row(out, v);
    return 0;
}

int pgst_pack_rows(store *st, struct arena *a, const struct pack_owner *o,
                   struct pack_rows *out, struct err *err)
{
    const char *vals[3] = { o->subject, o->pack_id, o->legacy_pack };
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_PACK_ROWS, 3, vals, err);

    memset(out, 0, sizeof(*out));
    if (!r)
        return -1;
    if (PQntuples(r) > 0) {
        out->total.episodes = pgst_col_int(r, 0, 0);
        out->owned.episodes = pgst_col_int(r, 0, 1);
        out->total.memories = pgst_col_int(r, 0, 2);
        out->owned.memories = pgst_col_int(r, 0, 3);
        out->newest_metadata = pgst_col_str(a, r, 0, 4);
    }
    PQclear(r);
    return 0;
}

int pgst_pack_rows_delete(store *st, const struct pack_owner *o, struct row_counts *out,
                          struct err *err)
{
    const char *vals[3] = { o->subject, o->pack_id, o->legacy_pack };
    int64_t v[2];

    memset(out, 0, sizeof(*out));
    if (one_row_ints(pgst_downcast(st), SQL_PACK_DELETE, 3, vals, v, 2, err) < 0)
        return -1;
    out->episodes = v[0];
    out->memories = v[1];
    return 0;
}
