/* postgres_ratelimit.c - PostgreSQL backend: distributed rate-limit windows (rate_limit_hits,
 * shared by every process on the database). */
#include "store/postgres/postgres-internal.h"

#include <stdlib.h>

#include "util/ts.h"

/* One statement: the row lock of (key, window_start) serialises concurrent hits of every
 * process, so no hit is lost. */
static const char SQL_RL_HIT[] =
    "INSERT INTO rate_limit_hits (key, window_start, hit_count, updated_at)"
    " VALUES ($1, $2, 1, $3) ON CONFLICT (key, window_start) DO UPDATE SET"
    " hit_count = rate_limit_hits.hit_count + 1, updated_at = EXCLUDED.updated_at"
    " RETURNING hit_count";
static const char SQL_RL_PURGE[] = "DELETE FROM rate_limit_hits WHERE window_start < $1";

int pgst_ratelimit_hit(store *st, const char *key, int64_t window_start, int64_t now,
                       int64_t *count, struct err *err)
{
    char start[PG_INT_LEN], when[TS_STR_LEN];
    const char *vals[3] = { key, pgst_int_param(window_start, start), pgst_ts_param(now, when) };

    return pgst_exec_int64(pgst_downcast(st), SQL_RL_HIT, 3, vals, count, err);
}

int pgst_ratelimit_purge(store *st, int64_t before, int64_t *deleted, struct err *err)
{
    char cut[PG_INT_LEN];
    const char *vals[1] = { pgst_int_param(before, cut) };
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_RL_PURGE, 1, vals, err);

    *deleted = 0;
    if (!r)
        return -1;
    *deleted = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return 0;
}
