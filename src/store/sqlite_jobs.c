/* sqlite_jobs.c - SQLite backend: compile jobs (the compile_jobs table). */
#include "store/sqlite-internal.h"

/* Every tenant: this feeds the operator's readiness check, not a tenant's view. */
static const char SQL_JOBS_STUCK[] =
    "SELECT COUNT(*) FROM compile_jobs WHERE status = 'running' AND started_at < ?1";

int sq_compile_job_count_stuck(store *st, int64_t started_before, int64_t *n,
                               struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_JOBS_STUCK, err);

    *n = 0;
    if (!q)
        return -1;
    sq_bind_ts(q, 1, started_before);
    return sq_query_int64(s, q, "count stuck compile jobs", n, err);
}
