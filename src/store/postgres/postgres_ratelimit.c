/* postgres_ratelimit.c - PostgreSQL backend: distributed rate-limit windows (rate_limit_hits,
 * shared by every process on the database) and the operator's view of compile jobs (list,
 * purge by filter, counts per status). */
#include "store/postgres/postgres-internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/ts.h"

/* The columns read_job expects, as postgres_jobs.c reads them. */
#define JOB_COLS                                                                        \
    "id, subject_id, tenant_id, status, memories_created, error, force, created_at,"   \
    " started_at, completed_at, lease_expires_at"
/* $1 status, $2 subject_id, $3 tenant_id: NULL means "any". */
#define JOB_FILTER                                                                      \
    "($1::text IS NULL OR status = $1::text) AND ($2::text IS NULL OR subject_id = $2::text)" \
    " AND ($3::text IS NULL OR tenant_id = $3::text)"

/* One statement: the row lock of (key, window_start) serialises concurrent hits of every
 * process, so no hit is lost. */
static const char SQL_RL_HIT[] =
    "INSERT INTO rate_limit_hits (key, window_start, hit_count, updated_at)"
    " VALUES ($1, $2, 1, $3) ON CONFLICT (key, window_start) DO UPDATE SET"
    " hit_count = rate_limit_hits.hit_count + 1, updated_at = EXCLUDED.updated_at"
    " RETURNING hit_count";
static const char SQL_RL_PURGE[] = "DELETE FROM rate_limit_hits WHERE window_start < $1";
static const char SQL_JOB_LIST[] =
    "SELECT " JOB_COLS " FROM compile_jobs WHERE " JOB_FILTER
    " ORDER BY created_at DESC, seq DESC LIMIT $4 OFFSET $5";
static const char SQL_JOB_COUNT[] = "SELECT count(*) FROM compile_jobs WHERE " JOB_FILTER;
static const char SQL_JOB_DELETE[] =
    "DELETE FROM compile_jobs WHERE status IN ('completed', 'failed') AND " JOB_FILTER;
static const char SQL_JOB_BY_STATUS[] =
    "SELECT status, count(*) FROM compile_jobs GROUP BY status ORDER BY status COLLATE \"C\"";

/* ---- rate limits ---- */

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

/* ---- job admin ---- */

static int read_job(struct arena *a, const PGresult *r, int row, void *out)
{
    struct compile_job *job = out;

    snprintf(job->id, sizeof(job->id), "%s", PQgetvalue(r, row, 0));
    job->subject_id = pgst_col_str(a, r, row, 1);
    job->tenant_id = pgst_col_str(a, r, row, 2);
    job->status = pgst_col_str(a, r, row, 3);
    job->memories_created = pgst_col_int(r, row, 4);
    job->error = pgst_col_str(a, r, row, 5);
    job->force = PQgetvalue(r, row, 6)[0] == 't';
    if (pgst_col_ts(r, row, 7, &job->created_at) < 0 ||
        pgst_col_ts(r, row, 8, &job->started_at) < 0 ||
        pgst_col_ts(r, row, 9, &job->completed_at) < 0 ||
        pgst_col_ts(r, row, 10, &job->lease_expires_at) < 0)
        return -1;
    return 0;
}

int pgst_job_list(store *st, struct arena *a, const struct job_filter *f, size_t limit,
                size_t offset, struct compile_job **out, size_t *n, int64_t *total,
                struct err *err)
{
    struct pgst_store *ps = pgst_downcast(st);
    char lim[PG_INT_LEN], off[PG_INT_LEN];
    const char *vals[5] = { f->status, f->subject_id, f->tenant_id, pgst_size_param(limit, lim),
                            pgst_size_param(offset, off) };
    PGresult *r;
    void *rows = NULL;
    int ret;

    *out = NULL;
    *n = 0;
    if (pgst_exec_int64(ps, SQL_JOB_COUNT, 3, vals, total, err) < 0)
        return -1;
    r = pgst_exec(ps, SQL_JOB_LIST, 5, vals, err);
    if (!r)
        return -1;
    ret = pgst_collect_rows(a, r, sizeof(**out), read_job, &rows, n, err);
    PQclear(r);
    if (ret == 0)
        *out = rows;
    return ret;
}

int pgst_job_delete(store *st, const struct job_filter *f, int64_t *deleted, struct err *err)
{
    const char *vals[3] = { f->status, f->subject_id, f->tenant_id };
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_JOB_DELETE, 3, vals, err);

    *deleted = 0;
    if (!r)
        return -1;
    *deleted = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return 0;
}

static int read_status_count(struct arena *a, const PGresult *r, int row, void *out)
{
    struct status_count *c = out;

    c->status = pgst_col_str(a, r, row, 0);
    c->count = pgst_col_int(r, row, 1);
    if (!c->status)
        c->status = "";
    return 0;
}

int pgst_job_count_by_status(store *st, struct arena *a, struct status_count **out, size_t *n,
                           struct err *err)
{
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_JOB_BY_STATUS, 0, NULL, err);
    void *rows = NULL;
    int ret;

    *out = NULL;
    *n = 0;
    if (!r)
        return -1;
    ret = pgst_collect_rows(a, r, sizeof(**out), read_status_count, &rows, n, err);
    PQclear(r);
    if (ret == 0)
        *out = rows;
    return ret;
}
