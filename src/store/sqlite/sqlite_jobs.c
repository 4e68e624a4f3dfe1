/* sqlite_jobs.c - SQLite backend: compile jobs (the compile_jobs table): insert, read, the
 * worker's lease-based claim, renew and finish, the readiness count, and the operator's view
 * (list, delete by filter, counts per status). */
#include "store/sqlite/sqlite-internal.h"

#include <stdio.h>

#include "util/ts.h"

#define JOB_COLS                                                                        \
    "id, subject_id, tenant_id, status, memories_created, error, force, created_at, "  \
    "started_at, completed_at, lease_expires_at"

/* Every tenant: this feeds the operator's readiness check, not a tenant's view. */
static const char SQL_JOBS_STUCK[] =
    "SELECT COUNT(*) FROM compile_jobs WHERE status = 'running' AND started_at < ?1";
static const char SQL_JOB_INSERT[] =
    "INSERT INTO compile_jobs (" JOB_COLS ") "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (id) DO NOTHING";
static const char SQL_JOB_GET[] =
    "SELECT " JOB_COLS " FROM compile_jobs WHERE id = ?1 AND tenant_id IS ?2";
/* One statement: SQLite takes the write lock before reading, so two connections can never
 * pick the same row. A running job without a lease (never written by Engram) counts as
 * expired, so nothing stays running forever. */
static const char SQL_JOB_CLAIM[] =
    "UPDATE compile_jobs SET status = 'running', "
    "started_at = COALESCE(started_at, max(created_at, ?1)), "
    "lease_expires_at = ?2 WHERE seq = (SELECT seq FROM compile_jobs "
    "WHERE status = 'pending' OR (status = 'running' "
    "AND (lease_expires_at IS NULL OR lease_expires_at < ?1)) "
    "ORDER BY created_at, seq LIMIT 1) RETURNING " JOB_COLS;
/* The claim's test as a read: an idle worker polls with this and never takes SQLite's one
 * write lock (which an UPDATE takes even when it matches nothing), so it never makes a
 * request's write wait. */
static const char SQL_JOB_ANY[] =
    "SELECT 1 FROM compile_jobs WHERE status = 'pending' OR (status = 'running' "
    "AND (lease_expires_at IS NULL OR lease_expires_at < ?1)) LIMIT 1";
static const char SQL_JOB_RENEW[] =
    "UPDATE compile_jobs SET lease_expires_at = ?2 WHERE id = ?1 AND status = 'running'";
static const char SQL_JOB_FINISH[] =
    "UPDATE compile_jobs SET status = ?2, memories_created = ?3, error = ?4, "
    "completed_at = ?5, lease_expires_at = NULL WHERE id = ?1";
/* ?1 status, ?2 subject_id, ?3 tenant_id, ?4 created_before: NULL means "any". */
#define JOB_FILTER                                                                      \
    "(?1 IS NULL OR status = ?1) AND (?2 IS NULL OR subject_id = ?2) "                  \
    "AND (?3 IS NULL OR tenant_id = ?3) AND (?4 IS NULL OR created_at < ?4)"
static const char SQL_JOB_LIST[] =
    "SELECT " JOB_COLS " FROM compile_jobs WHERE " JOB_FILTER
    " ORDER BY created_at DESC, seq DESC LIMIT ?5 OFFSET ?6";
static const char SQL_JOB_COUNT[] = "SELECT COUNT(*) FROM compile_jobs WHERE " JOB_FILTER;
static const char SQL_JOB_DELETE[] =
    "DELETE FROM compile_jobs WHERE status IN ('completed', 'failed') AND " JOB_FILTER;
static const char SQL_JOB_BY_STATUS[] =
    "SELECT status, COUNT(*) FROM compile_jobs GROUP BY status ORDER BY status";

int sq_job_count_stuck(store *st, int64_t started_before, int64_t *n, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_JOBS_STUCK, err);

    *n = 0;
    if (!q)
        return -1;
    sq_bind_ts(q, 1, started_before);
    return sq_query_int64(s, q, "count stuck compile jobs", n, err);
}

static int read_job(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    struct compile_job *job = row;
    const char *id = (const char *)sqlite3_column_text(q, 0);

    snprintf(job->id, sizeof(job->id), "%s", id ? id : "");
    job->subject_id = sq_col_str(a, q, 1);
    job->tenant_id = sq_col_str(a, q, 2);
    job->status = sq_col_str(a, q, 3);
    job->memories_created = sqlite3_column_int64(q, 4);
    job->error = sq_col_str(a, q, 5);
    job->force = sqlite3_column_int(q, 6) != 0;
    if (sq_col_ts(q, 7, &job->created_at) < 0 || sq_col_ts(q, 8, &job->started_at) < 0 ||
        sq_col_ts(q, 9, &job->completed_at) < 0 || sq_col_ts(q, 10, &job->lease_expires_at) < 0)
        return sq_bad_timestamp("compile_jobs", err);
    return 0;
}

/* Step q (bound) and read its one row, if any, into *out. */
static int one_job(struct sqlite_store *s, struct arena *a, sqlite3_stmt *q,
                   struct compile_job **out, struct err *err)
{
    void *row;
    int ret = sq_collect_one(s, a, q, sizeof(**out), read_job, &row, err);

    *out = row;
    return ret;
}

int sq_job_insert(store *st, const struct compile_job *job, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_JOB_INSERT, err);

    if (!q)
        return -1;
    sq_bind_str(q, 1, job->id);
    sq_bind_str(q, 2, job->subject_id);
    sq_bind_tenant(q, 3, job->tenant_id);
    sq_bind_str(q, 4, job->status ? job->status : "pending");
    sqlite3_bind_int64(q, 5, job->memories_created);
    sq_bind_str(q, 6, job->error);
    sqlite3_bind_int(q, 7, job->force != 0);
    sq_bind_ts(q, 8, job->created_at);
    sq_bind_ts(q, 9, job->started_at);
    sq_bind_ts(q, 10, job->completed_at);
    sq_bind_ts(q, 11, job->lease_expires_at);
    if (sq_step_done(s, q, "compile job insert", err) < 0)
        return -1;
    if (sqlite3_changes64(s->db) == 0)
        return err_set(err, ERR_CONFLICT, "compile job '%s' already exists", job->id);
    return 0;
}

int sq_job_get(store *st, struct arena *a, const char *tenant, const char *id,
               struct compile_job **out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_JOB_GET, err);

    *out = NULL;
    if (!q)
        return -1;
    sq_bind_str(q, 1, id);
    sq_bind_tenant(q, 2, tenant);
    return one_job(s, a, q, out, err);
}

int sq_job_claim(store *st, struct arena *a, int64_t now, int64_t lease_until,
                 struct compile_job **out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_JOB_ANY, err);
    int64_t any;

    *out = NULL;
    if (!q)
        return -1;
    sq_bind_ts(q, 1, now);
    if (sq_query_int64(s, q, "compile job poll", &any, err) < 0)
        return -1;
    if (!any)
        return 0;
    q = sq_stmt(s, SQL_JOB_CLAIM, err);
    if (!q)
        return -1;
    sq_bind_ts(q, 1, now);
    sq_bind_ts(q, 2, lease_until);
    return one_job(s, a, q, out, err);
}

int sq_job_renew(store *st, const char *id, int64_t lease_until, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_JOB_RENEW, err);

    if (!q)
        return -1;
    sq_bind_str(q, 1, id);
    sq_bind_ts(q, 2, lease_until);
    return sq_step_done(s, q, "compile job renew", err);
}

int sq_job_finish(store *st, const struct job_outcome *o, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_JOB_FINISH, err);

    if (!q)
        return -1;
    sq_bind_str(q, 1, o->id);
    sq_bind_str(q, 2, o->status);
    sqlite3_bind_int64(q, 3, o->memories_created);
    sq_bind_str(q, 4, o->error);
    sq_bind_ts(q, 5, o->completed_at);
    return sq_step_done(s, q, "compile job finish", err);
}

/* ---- the operator's view ---- */

static void bind_filter(sqlite3_stmt *q, const struct job_filter *f)
{
    sq_bind_str(q, 1, f->status);
    sq_bind_str(q, 2, f->subject_id);
    sq_bind_str(q, 3, f->tenant_id);
    sq_bind_ts(q, 4, f->created_before ? f->created_before : TS_NULL);
}

int sq_job_list(store *st, struct arena *a, const struct job_filter *f,
                const struct store_page *pg, struct job_rows *out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *count = sq_stmt(s, SQL_JOB_COUNT, err);
    sqlite3_stmt *q = count ? sq_stmt(s, SQL_JOB_LIST, err) : NULL;
    void *rows;

    out->items = NULL;
    out->n = 0;
    out->total = 0;
    if (!q)
        return -1;
    bind_filter(count, f);
    if (sq_query_int64(s, count, "count compile jobs", &out->total, err) < 0)
        return -1;
    bind_filter(q, f);
    sq_bind_count(q, 5, pg->limit, 1);
    sq_bind_count(q, 6, pg->offset, 0);
    if (sq_collect_rows(s, a, q, sizeof(*out->items), pg->limit, read_job, &rows, &out->n,
                        err) < 0)
        return -1;
    out->items = rows;
    return 0;
}

int sq_job_delete(store *st, const struct job_filter *f, int64_t *deleted, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_JOB_DELETE, err);

    *deleted = 0;
    if (!q)
        return -1;
    bind_filter(q, f);
    if (sq_step_done(s, q, "compile job delete", err) < 0)
        return -1;
    *deleted = sqlite3_changes64(s->db);
    return 0;
}

static int read_status_count(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    struct status_count *c = row;

    (void)err;
    c->status = sq_col_str(a, q, 0);
    c->count = sqlite3_column_int64(q, 1);
    if (!c->status)
        c->status = "";
    return 0;
}

int sq_job_count_by_status(store *st, struct arena *a, struct status_count_rows *out,
                           struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_JOB_BY_STATUS, err);
    void *rows;

    out->items = NULL;
    out->n = 0;
    if (!q)
        return -1;
    if (sq_collect_rows(s, a, q, sizeof(*out->items), 8, read_status_count, &rows, &out->n,
                        err) < 0)
        return -1;
    out->items = rows;
    return 0;
}
