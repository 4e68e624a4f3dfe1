/* postgres_jobs.c - PostgreSQL backend: compile jobs (the compile_jobs table). */
#include "store/postgres-internal.h"

#include "util/ts.h"

/* Every tenant: this feeds the operator's readiness check, not a tenant's view. */
static const char SQL_JOBS_STUCK[] =
    "SELECT count(*) FROM compile_jobs WHERE status = 'running' AND started_at < $1";

int pg_compile_job_count_stuck(store *st, int64_t started_before, int64_t *n,
                               struct err *err)
{
    char before[TS_STR_LEN];
    const char *vals[1] = { pg_ts_param(started_before, before) };

    return pg_exec_int64(pg_downcast(st), SQL_JOBS_STUCK, 1, vals, n, err);
}
