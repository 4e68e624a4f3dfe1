/* postgres_admin.c - PostgreSQL backend: the operator's overview (tenants, tenant audit,
 * usage, dashboard counts; spec/api.md §7.6) and the rows a bundled starter pack owns (§7.7).
 * Tenant filters use the COALESCE(tenant_id, '') expression indexes ('' = no tenant). */
#include "store/postgres/postgres-internal.h"

#include <string.h>

#include "util/ts.h"

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

/* One table's four counts from the usage_daily rollup (schema step 16; its shards summed).
 * $1 the tenant key, $2 / $3 / $4 the cut-offs today / 7 days / 30 days, $5 / $6 / $8 their UTC
 * days, $7 / $9 the midnights after the 7- and 30-day cut-offs. Today's cut-off is a midnight:
 * the days from it. The others: the days after the cut-off's day, plus the rows of that day
 * created at or after the cut-off (the created_at index over at most one day). TK is the
 * rollup's tenant filter, TR the rows'. Each statement names every parameter. */
#define ROLLUP(kind, tk, cond) \
    "(SELECT COALESCE(sum(n), 0) FROM usage_daily WHERE kind = " kind tk " AND " cond ")"
#define PARTIAL_DAY(t, tr, from, to) \
    "(SELECT count(*) FROM " t " WHERE created_at >= " from "::timestamptz AND created_at < " \
    to "::timestamptz" tr ")"
#define USAGE(t, kind, tk, tr) \
    ROLLUP(kind, tk, "day >= $5::date") "," \
    ROLLUP(kind, tk, "day > $6::date") " + " PARTIAL_DAY(t, tr, "$3", "$7") "," \
    ROLLUP(kind, tk, "day > $8::date") " + " PARTIAL_DAY(t, tr, "$4", "$9") "," \
    ROLLUP(kind, tk, "true") ","
#define USAGE_TABLES(tk, tr) \
    USAGE("episodes", "1", tk, tr) USAGE("memories", "2", tk, tr) \
    USAGE("compile_jobs", "3", tk, tr) USAGE("webhook_events", "4", tk, tr)

/* Active subjects: each subject's newest episode is since a cut-off exactly when the subject
 * has an episode since it. Subjects outside the reserved ones are counted by subject_days
 * (schema step 22, shards summed: kind 1 distinct subjects at the day of their newest episode,
 * kind 2 one tenant's pairs): the days after the cut-off's day, plus the subjects whose newest
 * episode is in that day from the cut-off on (ix_subject_stats_last over one day; without a
 * tenant, a subject counts there when none of its pairs is newer than that day, probed through
 * ix_subject_stats_subject: a scalar subquery per candidate, which the planner cannot turn into
 * an anti join that would read every newer pair). Reserved subjects have no pair in subject_stats and are read from
 * their episodes through ix_episodes_reserved. */
#define SUBJECT_DAYS(key, cond)                                                            \
    "(SELECT COALESCE(sum(n), 0) FROM subject_days WHERE " key " AND " cond ")"
#define SD_ALL "kind = 1 AND tenant_key = ''"
#define SD_TENANT "kind = 2 AND tenant_key = $1::text"
#define PARTIAL_ALL(from, to)                                                              \
    "(SELECT count(DISTINCT s.subject_id) FROM subject_stats s WHERE s.episode_count > 0"  \
    " AND s.last_episode_at >= " from "::timestamptz AND s.last_episode_at < " to          \
    "::timestamptz AND (SELECT max(o.last_episode_at) FROM subject_stats o"                \
    " WHERE o.subject_id = s.subject_id COLLATE \"C\" AND o.episode_count > 0) < " to      \
    "::timestamptz)"
#define PARTIAL_TENANT(from, to)                                                           \
    "(SELECT count(*) FROM subject_stats WHERE episode_count > 0"                          \
    " AND last_episode_at >= " from "::timestamptz AND last_episode_at < " to              \
    "::timestamptz AND COALESCE(tenant_id, '') = $1::text)"
#define ACTIVE(sd, partial, tr)                                                            \
    SUBJECT_DAYS(sd, "day > $6::date") " + " partial("$3", "$7") " + r7,"                  \
    SUBJECT_DAYS(sd, "day > $8::date") " + " partial("$4", "$9") " + r30,"                 \
    SUBJECT_DAYS(sd, "true") " + rt FROM (SELECT"                                          \
    " count(*) FILTER (WHERE m >= $3::timestamptz) AS r7,"                                 \
    " count(*) FILTER (WHERE m >= $4::timestamptz) AS r30, count(*) AS rt FROM ("          \
    " SELECT max(created_at) AS m FROM episodes WHERE engram_stats_reserved(subject_id)" tr \
    " GROUP BY subject_id) x) res"

#define TK_ALL " AND $1::text IS NULL AND $2::timestamptz IS NOT NULL"
#define TK_TENANT " AND tenant_key = $1::text AND $2::timestamptz IS NOT NULL"
#define TR_TENANT " AND COALESCE(tenant_id, '') = $1::text"
static const char SQL_USAGE_ALL[] =
    "SELECT " USAGE_TABLES(TK_ALL, "") ACTIVE(SD_ALL, PARTIAL_ALL, "");
static const char SQL_USAGE_TENANT[] =
    "SELECT " USAGE_TABLES(TK_TENANT, TR_TENANT) ACTIVE(SD_TENANT, PARTIAL_TENANT, TR_TENANT);

/* The dashboard: row counts from the rollup; subjects and (subject, tenant) pairs with
 * episodes from subject_days (all pairs less those with a cached health: one probe per cached
 * pair, as the state counts read every cached pair), plus the reserved ones from their
 * episodes. */
#define NO_HEALTH(t, sid)                                                                  \
    " NOT EXISTS (SELECT 1 FROM subject_health_cache c WHERE COALESCE(c.tenant_id, '') = " t \
    " AND c.subject_id = " sid ")"
static const char SQL_OVERVIEW[] =
    "SELECT (SELECT COALESCE(sum(n), 0) FROM usage_daily WHERE kind = 1),"
    " (SELECT COALESCE(sum(n), 0) FROM usage_daily WHERE kind = 2),"
    " (SELECT COALESCE(sum(n), 0) FROM subject_days WHERE kind = 1 AND tenant_key = '')"
    " + (SELECT count(DISTINCT subject_id) FROM episodes"
    " WHERE engram_stats_reserved(subject_id)),"
    " (SELECT count(*) FROM subject_health_cache WHERE last_state = 'healthy'),"
    " (SELECT count(*) FROM subject_health_cache WHERE last_state = 'watch'),"
    " (SELECT count(*) FROM subject_health_cache WHERE last_state = 'at_risk'),"
    " (SELECT COALESCE(sum(n), 0) FROM subject_days WHERE kind = 2)"
    " - (SELECT count(*) FROM subject_health_cache c WHERE EXISTS (SELECT 1 FROM subject_stats s"
    " WHERE COALESCE(s.tenant_id, '') = COALESCE(c.tenant_id, '') AND s.subject_id = c.subject_id"
    " AND s.episode_count > 0))"
    " + (SELECT count(*) FROM (SELECT DISTINCT COALESCE(tenant_id, '') AS t, subject_id"
    " FROM episodes WHERE engram_stats_reserved(subject_id)) e WHERE"
    NO_HEALTH("e.t", "e.subject_id") ")";

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

#define DAY_US (86400LL * 1000000LL)

/* The UTC day of us ("YYYY-MM-DD") into day; the next midnight's timestamp into next. */
static void day_bounds(int64_t us, char day[TS_STR_LEN], char next[TS_STR_LEN])
{
    int64_t midnight = us - ((us % DAY_US) + DAY_US) % DAY_US;

    ts_format_fixed(us, day, TS_STR_LEN);
    day[10] = '\0';
    pgst_ts_param(midnight + DAY_US, next);
}

int pgst_usage(store *st, const struct usage_query *q, struct usage_report *out,
               struct err *err)
{
    char today[TS_STR_LEN], d7[TS_STR_LEN], d30[TS_STR_LEN], today_day[TS_STR_LEN],
        d7_day[TS_STR_LEN], d30_day[TS_STR_LEN], unused[TS_STR_LEN], d7_next[TS_STR_LEN],
        d30_next[TS_STR_LEN];
    const char *vals[9];
    int64_t v[19];

    memset(out, 0, sizeof(*out));
    day_bounds(q->today, today_day, unused);
    day_bounds(q->d7, d7_day, d7_next);
    day_bounds(q->d30, d30_day, d30_next);
    vals[0] = q->tenant ? pgst_tenant_key(q->tenant) : NULL;
    vals[1] = pgst_ts_param(q->today, today);
    vals[2] = pgst_ts_param(q->d7, d7);
    vals[3] = pgst_ts_param(q->d30, d30);
    vals[4] = today_day;
    vals[5] = d7_day;
    vals[6] = d7_next;
    vals[7] = d30_day;
    vals[8] = d30_next;
    if (one_row_ints(pgst_downcast(st), q->tenant ? SQL_USAGE_TENANT : SQL_USAGE_ALL, 9, vals,
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
