/* postgres_jobs.c - PostgreSQL backend: compile jobs (the compile_jobs table): insert, read, the
 * workers' lease-based claim (FOR UPDATE SKIP LOCKED, so many processes share one queue),
 * renew and finish, the readiness count, and the operator's view (list, delete by filter,
 * counts per status). */
#include "store/postgres/postgres-internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/ts.h"

#define JOB_COLS                                                                        \
    "id, subject_id, tenant_id, status, memories_created, error, force, created_at,"   \
    " started_at, completed_at, lease_expires_at"

/* Every tenant: this feeds the operator's readiness check, not a tenant's view. */
static const char SQL_JOBS_STUCK[] =
    "SELECT count(*) FROM compile_jobs WHERE status = 'running' AND started_at < $1";
static const char SQL_JOB_INSERT[] =
    "INSERT INTO compile_jobs (" JOB_COLS ")"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    " ON CONFLICT (id) DO NOTHING RETURNING 1";
static const char SQL_JOB_GET[] =
    "SELECT " JOB_COLS " FROM compile_jobs WHERE id = $1 AND COALESCE(tenant_id, '') = $2";
/* The row a concurrent claimer holds is skipped, never waited for nor taken twice. A running
 * job without a lease (never written by Engram) counts as expired, so nothing stays running
 * forever. */
static const char SQL_JOB_CLAIM[] =
    "UPDATE compile_jobs SET status = 'running',"
    " started_at = COALESCE(started_at, GREATEST(created_at, $1)),"
    " lease_expires_at = $2 WHERE id = (SELECT id FROM compile_jobs"
    " WHERE status = 'pending' OR (status = 'running'"
    " AND (lease_expires_at IS NULL OR lease_expires_at < $1))"
    " ORDER BY created_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING " JOB_COLS;
static const char SQL_JOB_RENEW[] =
    "UPDATE compile_jobs SET lease_expires_at = $2 WHERE id = $1 AND status = 'running'";
static const char SQL_JOB_FINISH[] =
    "UPDATE compile_jobs SET status = $2, memories_created = $3, error = $4,"
    " completed_at = $5, lease_expires_at = NULL WHERE id = $1";
/* $1 status, $2 subject_id, $3 tenant_id, $4 created_before: NULL means "any". */
#define JOB_FILTER                                                                      \
    "($1::text IS NULL OR status = $1::text) AND ($2::text IS NULL OR subject_id = $2::text)" \
    " AND ($3::text IS NULL OR tenant_id = $3::text)"                                   \
    " AND ($4::timestamptz IS NULL OR created_at < $4::timestamptz)"
static const char SQL_JOB_LIST[] =
    "SELECT " JOB_COLS " FROM compile_jobs WHERE " JOB_FILTER
    " ORDER BY created_at DESC, seq DESC LIMIT $5 OFFSET $6";
static const char SQL_JOB_COUNT[] = "SELECT count(*) FROM compile_jobs WHERE " JOB_FILTER;
static const char SQL_JOB_DELETE[] =
    "DELETE FROM compile_jobs WHERE status IN ('completed', 'failed') AND " JOB_FILTER;
static const char SQL_JOB_BY_STATUS[] =
    "SELECT status, count(*) FROM compile_jobs GROUP BY status ORDER BY status COLLATE \"C\"";

int pgst_job_count_stuck(store *st, int64_t started_before, int64_t *n, struct err *err)
{
    char before[TS_STR_LEN];
    const char *vals[1] = { pgst_ts_param(started_before, before) };

    return pgst_exec_int64(pgst_downcast(st), SQL_JOBS_STUCK, 1, vals, n, err);
}

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

/* Run sql and read its one row, if any, into *out. */
static int one_job(struct pgst_store *ps, struct arena *a, const char *sql, int nparams,
                   const char *const *vals, struct compile_job **out, struct err *err)
{
    PGresult *r = pgst_exec(ps, sql, nparams, vals, err);
    void *row;
    int ret = pgst_take_one(a, r, sizeof(**out), read_job, &row, err);

    *out = row;
    return ret;
}

int pgst_job_insert(store *st, const struct compile_job *job, struct err *err)
{
    char made[PG_INT_LEN], created[TS_STR_LEN], started[TS_STR_LEN], completed[TS_STR_LEN],
        lease[TS_STR_LEN];
    const char *vals[11] = {
        job->id, job->subject_id, pgst_tenant_value(job->tenant_id),
        job->status ? job->status : "pending", pgst_int_param(job->memories_created, made),
        job->error, job->force ? "true" : "false", pgst_ts_param(job->created_at, created),
        pgst_ts_param(job->started_at, started), pgst_ts_param(job->completed_at, completed),
        pgst_ts_param(job->lease_expires_at, lease),
    };
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_JOB_INSERT, 11, vals, err);
    int inserted;

    if (!r)
        return -1;
    inserted = PQntuples(r) > 0;
    PQclear(r);
    if (!inserted)
        return err_set(err, ERR_CONFLICT, "compile job '%s' already exists", job->id);
    return 0;
}

int pgst_job_get(store *st, struct arena *a, const char *tenant, const char *id,
               struct compile_job **out, struct err *err)
{
    const char *vals[2] = { id, pgst_tenant_key(tenant) };

    return one_job(pgst_downcast(st), a, SQL_JOB_GET, 2, vals, out, err);
}

int pgst_job_claim(store *st, struct arena *a, int64_t now, int64_t lease_until,
                 struct compile_job **out, struct err *err)
{
    char when[TS_STR_LEN], until[TS_STR_LEN];
    const char *vals[2] = { pgst_ts_param(now, when), pgst_ts_param(lease_until, until) };

    return one_job(pgst_downcast(st), a, SQL_JOB_CLAIM, 2, vals, out, err);
}

int pgst_job_renew(store *st, const char *id, int64_t lease_until, struct err *err)
{
    char until[TS_STR_LEN];
    const char *vals[2] = { id, pgst_ts_param(lease_until, until) };

    return pgst_exec_void(pgst_downcast(st), SQL_JOB_RENEW, 2, vals, err);
}

int pgst_job_finish(store *st, const struct job_outcome *o, struct err *err)
{
    char made[PG_INT_LEN], completed[TS_STR_LEN];
    const char *vals[5] = { o->id, o->status, pgst_int_param(o->memories_created, made),
                            o->error, pgst_ts_param(o->completed_at, completed) };

    return pgst_exec_void(pgst_downcast(st), SQL_JOB_FINISH, 5, vals, err);
}

/* ---- the operator's view ---- */

/* The filter's parameters $1..$4; before holds the timestamp's text. */
static void filter_params(const struct job_filter *f, char before[TS_STR_LEN],
                          const char *vals[4])
{
    vals[0] = f->status;
    vals[1] = f->subject_id;
    vals[2] = f->tenant_id;
    vals[3] = pgst_ts_param(f->created_before ? f->created_before : TS_NULL, before);
}

int pgst_job_list(store *st, struct arena *a, const struct job_filter *f,
                  const struct store_page *pg, struct job_rows *out, struct err *err)
{
    struct pgst_store *ps = pgst_downcast(st);
    char lim[PG_INT_LEN], off[PG_INT_LEN], before[TS_STR_LEN];
    const char *vals[6];
    PGresult *r;
    void *rows = NULL;
    int ret;

    filter_params(f, before, vals);
    vals[4] = pgst_size_param(pg->limit, lim);
    vals[5] = pgst_size_param(pg->offset, off);
    out->items = NULL;
    out->n = 0;
    if (pgst_exec_int64(ps, SQL_JOB_COUNT, 4, vals, &out->total, err) < 0)
        return -1;
    r = pgst_exec(ps, SQL_JOB_LIST, 6, vals, err);
    if (!r)
        return -1;
    ret = pgst_collect_rows(a, r, sizeof(*out->items), read_job, &rows, &out->n, err);
    PQclear(r);
    if (ret == 0)
        out->items = rows;
    return ret;
}

int pgst_job_delete(store *st, const struct job_filter *f, int64_t *deleted, struct err *err)
{
    char before[TS_STR_LEN];
    const char *vals[4];
    PGresult *r;

    filter_params(f, before, vals);
    r = pgst_exec(pgst_downcast(st), SQL_JOB_DELETE, 4, vals, err);
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

int pgst_job_count_by_status(store *st, struct arena *a, struct status_count_rows *out,
                             struct err *err)
{
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_JOB_BY_STATUS, 0, NULL, err);
    void *rows = NULL;
    int ret;

    ret = pgst_take_rows(a, r, sizeof(*out->items), read_status_count, &rows, &out->n, err);
    out->items = rows;
    return ret;
}
