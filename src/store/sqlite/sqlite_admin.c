/* sqlite_admin.c - SQLite backend: the operator's overview (tenants, tenant audit, usage,
 * dashboard counts; spec/api.md §7.6) and the rows a bundled starter pack owns (§7.7). */
#include "store/sqlite/sqlite-internal.h"

#include <string.h>

#include "util/reserved.h"
#include "util/ts.h"

/* Distinct tenants by index seeks: each step asks the (tenant_id, subject_id) index for the
 * next tenant after the last one, so the cost is one seek per tenant, not one per episode. */
static const char SQL_TENANTS[] =
    "WITH RECURSIVE t(v) AS ("
    " SELECT MIN(tenant_id) FROM episodes WHERE tenant_id IS NOT NULL"
    " UNION ALL"
    " SELECT (SELECT MIN(tenant_id) FROM episodes WHERE tenant_id > t.v) FROM t"
    " WHERE t.v IS NOT NULL)"
    " SELECT v FROM t WHERE v IS NOT NULL LIMIT ?1 OFFSET ?2";

static const char SQL_TENANT_AUDIT[] =
    "SELECT (SELECT COUNT(*) FROM episodes WHERE tenant_id IS NULL),"
    " (SELECT COUNT(*) FROM memories WHERE tenant_id IS NULL),"
    " (SELECT COUNT(*) FROM compile_jobs WHERE tenant_id IS NULL)";

/* One table's four counts from the usage_daily rollup (schema step 16). ?1 the tenant (NULL =
 * every tenant), ?2 / ?3 / ?4 the cut-offs today / 7 days / 30 days, ?5 / ?6 / ?8 their UTC
 * days, ?7 / ?9 the midnights after the 7- and 30-day cut-offs. Today's cut-off is a midnight:
 * the days from it. The others: the days after the cut-off's day, plus the rows of that day
 * created at or after the cut-off (the created_at index over at most one day). */
#define ROLLUP(kind, cond) \
    "(SELECT COALESCE(SUM(n), 0) FROM usage_daily WHERE kind = " kind \
    " AND (?1 IS NULL OR tenant_key = ?1) AND " cond ")"
#define PARTIAL_DAY(t, from, to) \
    "(SELECT COUNT(*) FROM " t " WHERE created_at >= " from " AND created_at < " to \
    " AND (?1 IS NULL OR tenant_id = ?1))"
#define USAGE(t, kind) \
    ROLLUP(kind, "day >= ?5") "," \
    ROLLUP(kind, "day > ?6") " + " PARTIAL_DAY(t, "?3", "?7") "," \
    ROLLUP(kind, "day > ?8") " + " PARTIAL_DAY(t, "?4", "?9") "," \
    ROLLUP(kind, "1") ","

/* A subject id that is reserved (spec/api.md §7.4), for the episodes index (GLOB: a range). */
#define RESERVED_GLOB(col) \
    "(" col " GLOB '" RESERVED_SNAPSHOT "*' OR " col " GLOB '" RESERVED_BOOTSTRAP "*')"

/* Active subjects: each subject's newest episode is since a cut-off exactly when the subject
 * has an episode since it. Subjects outside the reserved ones are counted by subject_days
 * (schema step 20: kind 1 distinct subjects at the day of their newest episode, kind 2 one
 * tenant's pairs): the days after the cut-off's day, plus the subjects whose newest episode is
 * in that day from the cut-off on (ix_subject_stats_last over one day; without a tenant, a
 * subject counts there when none of its pairs is newer than that day). Reserved subjects have
 * no pair in subject_stats and are read from their episodes (the subject_id index over their
 * prefixes). */
#define SUBJECT_DAYS(cond)                                                                  \
    "(SELECT COALESCE(SUM(n), 0) FROM subject_days WHERE kind = CASE WHEN ?1 IS NULL THEN 1" \
    " ELSE 2 END AND tenant_key = COALESCE(?1, '') AND " cond ")"
#define SUBJECTS_PARTIAL_DAY(from, to)                                                      \
    "CASE WHEN ?1 IS NULL THEN (SELECT COUNT(DISTINCT s.subject_id) FROM subject_stats s"   \
    " WHERE s.episode_count > 0 AND s.last_episode_at >= " from                             \
    " AND s.last_episode_at < " to " AND NOT EXISTS (SELECT 1 FROM subject_stats o"         \
    " WHERE o.subject_id = s.subject_id AND o.episode_count > 0"                            \
    " AND o.last_episode_at >= " to ")) ELSE (SELECT COUNT(*) FROM subject_stats"           \
    " WHERE episode_count > 0 AND last_episode_at >= " from " AND last_episode_at < " to    \
    " AND tenant_id = ?1) END"
#define ACTIVE                                                                             \
    "WITH res AS (SELECT COALESCE(SUM(m >= ?3), 0) AS r7, COALESCE(SUM(m >= ?4), 0) AS r30," \
    " COUNT(*) AS rt FROM (SELECT MAX(created_at) AS m FROM episodes WHERE "                \
    RESERVED_GLOB("subject_id") " AND (?1 IS NULL OR tenant_id = ?1) GROUP BY subject_id))" \
    " SELECT "

static const char SQL_USAGE[] =
    ACTIVE USAGE("episodes", "1") USAGE("memories", "2") USAGE("compile_jobs", "3")
    USAGE("webhook_events", "4")
    SUBJECT_DAYS("day > ?6") " + " SUBJECTS_PARTIAL_DAY("?3", "?7") " + r7,"
    SUBJECT_DAYS("day > ?8") " + " SUBJECTS_PARTIAL_DAY("?4", "?9") " + r30,"
    SUBJECT_DAYS("1") " + rt FROM res";

/* The dashboard: row counts from the rollup; subjects and (subject, tenant) pairs with
 * episodes from subject_days (all pairs less those with a cached health: one probe per cached
 * pair, as the state counts read every cached pair), plus the reserved ones from their
 * episodes. */
#define NO_HEALTH(t, s)                                                                     \
    " NOT EXISTS (SELECT 1 FROM subject_health_cache c WHERE COALESCE(c.tenant_id, '') ="   \
    " COALESCE(" t ", '') AND c.subject_id = " s ")"
static const char SQL_OVERVIEW[] =
    "SELECT (SELECT COALESCE(SUM(n), 0) FROM usage_daily WHERE kind = 1),"
    " (SELECT COALESCE(SUM(n), 0) FROM usage_daily WHERE kind = 2),"
    " (SELECT COALESCE(SUM(n), 0) FROM subject_days WHERE kind = 1)"
    " + (SELECT COUNT(DISTINCT subject_id) FROM episodes WHERE " RESERVED_GLOB("subject_id") "),"
    " (SELECT COUNT(*) FROM subject_health_cache WHERE last_state = 'healthy'),"
    " (SELECT COUNT(*) FROM subject_health_cache WHERE last_state = 'watch'),"
    " (SELECT COUNT(*) FROM subject_health_cache WHERE last_state = 'at_risk'),"
    " (SELECT COALESCE(SUM(n), 0) FROM subject_days WHERE kind = 2)"
    " - (SELECT COUNT(*) FROM subject_health_cache c WHERE EXISTS (SELECT 1 FROM subject_stats s"
    " WHERE COALESCE(s.tenant_id, '') = COALESCE(c.tenant_id, '') AND s.subject_id = c.subject_id"
    " AND s.episode_count > 0))"
    " + (SELECT COUNT(*) FROM (SELECT DISTINCT tenant_id, subject_id FROM episodes WHERE "
    RESERVED_GLOB("subject_id") ") e WHERE" NO_HEALTH("e.tenant_id", "e.subject_id") ")";

/* ?1 subject, ?2 pack id, ?3 legacy pack name. */
#define OWNED                                                                              \
    " (json_extract(metadata, '$.starter_pack_id') = ?2"                                   \
    " OR json_extract(metadata, '$.pack') = ?3)"

static const char SQL_PACK_ROWS[] =
    "SELECT (SELECT COUNT(*) FROM episodes WHERE subject_id = ?1),"
    " (SELECT COUNT(*) FROM episodes WHERE subject_id = ?1 AND" OWNED "),"
    " (SELECT COUNT(*) FROM memories WHERE subject_id = ?1),"
    " (SELECT COUNT(*) FROM memories WHERE subject_id = ?1 AND" OWNED "),"
    " COALESCE((SELECT metadata FROM episodes WHERE subject_id = ?1 AND" OWNED
    " ORDER BY seq DESC LIMIT 1),"
    " (SELECT metadata FROM memories WHERE subject_id = ?1 AND" OWNED
    " ORDER BY seq DESC LIMIT 1))";
static const char SQL_PACK_DELETE_EPISODES[] =
    "DELETE FROM episodes WHERE subject_id = ?1 AND" OWNED;
static const char SQL_PACK_DELETE_MEMORIES[] =
    "DELETE FROM memories WHERE subject_id = ?1 AND" OWNED;

static int read_string(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    (void)err;
    *(const char **)row = sq_col_str(a, q, 0);
    return 0;
}

int sq_tenant_list(store *st, struct arena *a, const struct store_page *pg,
                   struct string_rows *out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_TENANTS, err);
    void *rows = NULL;
    int ret = -1;

    out->n = 0;
    if (q) {
        sq_bind_count(q, 1, pg->limit, 1);
        sq_bind_count(q, 2, pg->offset, 0);
        ret = sq_collect_rows(s, a, q, sizeof(*out->items), pg->limit, read_string, &rows,
                              &out->n, err);
    }
    out->items = rows;
    return ret;
}

/* Step q (bound) once and copy its first n integer columns into vals. */
static int one_row_ints(struct sqlite_store *s, sqlite3_stmt *q, const char *what,
                        int64_t *vals, int n, struct err *err)
{
    int rc = sq_step(q), i;

    if (rc == SQLITE_ROW) {
        for (i = 0; i < n; i++)
            vals[i] = sqlite3_column_int64(q, i);
    }
    sq_reset(q);
    if (rc != SQLITE_ROW)
        return sq_fail(s, what, rc, err);
    return 0;
}

int sq_tenant_audit(store *st, struct null_tenant_counts *out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_TENANT_AUDIT, err);
    int64_t v[3];

    memset(out, 0, sizeof(*out));
    if (!q || one_row_ints(s, q, "tenant audit", v, 3, err) < 0)
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
    ts_format_fixed(midnight + DAY_US, next, TS_STR_LEN);
}

int sq_usage(store *st, const struct usage_query *uq, struct usage_report *out,
             struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_USAGE, err);
    char today[TS_STR_LEN], today_next[TS_STR_LEN], d7[TS_STR_LEN], d7_next[TS_STR_LEN],
        d30[TS_STR_LEN], d30_next[TS_STR_LEN];
    int64_t v[19];

    memset(out, 0, sizeof(*out));
    if (!q)
        return -1;
    day_bounds(uq->today, today, today_next);
    day_bounds(uq->d7, d7, d7_next);
    day_bounds(uq->d30, d30, d30_next);
    sq_bind_str(q, 1, uq->tenant);
    sq_bind_ts(q, 2, uq->today);
    sq_bind_ts(q, 3, uq->d7);
    sq_bind_ts(q, 4, uq->d30);
    sqlite3_bind_text(q, 5, today, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, d7, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 7, d7_next, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 8, d30, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 9, d30_next, -1, SQLITE_STATIC);
    if (one_row_ints(s, q, "usage counts", v, 19, err) < 0)
        return -1;
    store_usage_from_row(out, v);
    return 0;
}

int sq_overview(store *st, struct overview_counts *out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_OVERVIEW, err);
    int64_t v[7];

    memset(out, 0, sizeof(*out));
    if (!q || one_row_ints(s, q, "dashboard counts", v, 7, err) < 0)
        return -1;
    store_overview_from_row(out, v);
    return 0;
}

static void bind_owner(sqlite3_stmt *q, const struct pack_owner *o)
{
    sq_bind_str(q, 1, o->subject);
    sq_bind_str(q, 2, o->pack_id);
    sq_bind_str(q, 3, o->legacy_pack);
}

int sq_pack_rows(store *st, struct arena *a, const struct pack_owner *o, struct pack_rows *out,
                 struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_PACK_ROWS, err);
    int rc;

    memset(out, 0, sizeof(*out));
    if (!q)
        return -1;
    bind_owner(q, o);
    rc = sq_step(q);
    if (rc == SQLITE_ROW) {
        out->total.episodes = sqlite3_column_int64(q, 0);
        out->owned.episodes = sqlite3_column_int64(q, 1);
        out->total.memories = sqlite3_column_int64(q, 2);
        out->owned.memories = sqlite3_column_int64(q, 3);
        out->newest_metadata = sq_col_str(a, q, 4);
    }
    sq_reset(q);
    if (rc != SQLITE_ROW)
        return sq_fail(s, "pack rows", rc, err);
    return 0;
}

static int delete_owned(struct sqlite_store *s, const char *sql, const struct pack_owner *o,
                        int64_t *count, struct err *err)
{
    sqlite3_stmt *q = sq_stmt(s, sql, err);

    if (!q)
        return -1;
    bind_owner(q, o);
    if (sq_step_done(s, q, "pack rows delete", err) < 0)
        return -1;
    *count = sqlite3_changes64(s->db);
    return 0;
}

int sq_pack_rows_delete(store *st, const struct pack_owner *o, struct row_counts *out,
                        struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    struct row_counts n = { 0, 0, 0 };
    int own, ret = 0;

    memset(out, 0, sizeof(*out));
    if (store_tx_enter(st, &own, err) < 0)
        return -1;
    if (delete_owned(s, SQL_PACK_DELETE_EPISODES, o, &n.episodes, err) < 0 ||
        delete_owned(s, SQL_PACK_DELETE_MEMORIES, o, &n.memories, err) < 0)
        ret = -1;
    if (store_tx_leave(st, own, ret, err) < 0)
        return -1;
    *out = n;
    return 0;
}
