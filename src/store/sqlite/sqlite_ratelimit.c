/* sqlite_ratelimit.c - SQLite backend: distributed rate-limit windows (rate_limit_hits) and the
 * operator's view of compile jobs (list, purge by filter, counts per status). */
#include "store/sqlite/sqlite-internal.h"

#include <stdio.h>

/* The columns read_job expects, as sqlite_jobs.c reads them. */
#define JOB_COLS                                                                        \
    "id, subject_id, tenant_id, status, memories_created, error, force, created_at, "  \
    "started_at, completed_at, lease_expires_at"
/* ?1 status, ?2 subject_id, ?3 tenant_id: NULL means "any". */
#define JOB_FILTER                                                                      \
    "(?1 IS NULL OR status = ?1) AND (?2 IS NULL OR subject_id = ?2) "                  \
    "AND (?3 IS NULL OR tenant_id = ?3)"

/* The whole upsert happens in the first step; RETURNING hands back the new count. */
static const char SQL_RL_HIT[] =
    "INSERT INTO rate_limit_hits (key, window_start, hit_count, updated_at) "
    "VALUES (?1, ?2, 1, ?3) ON CONFLICT (key, window_start) DO UPDATE SET "
    "hit_count = hit_count + 1, updated_at = excluded.updated_at RETURNING hit_count";
static const char SQL_RL_PURGE[] = "DELETE FROM rate_limit_hits WHERE window_start < ?1";
static const char SQL_JOB_LIST[] =
    "SELECT " JOB_COLS " FROM compile_jobs WHERE " JOB_FILTER
    " ORDER BY created_at DESC, seq DESC LIMIT ?4 OFFSET ?5";
static const char SQL_JOB_COUNT[] = "SELECT COUNT(*) FROM compile_jobs WHERE " JOB_FILTER;
static const char SQL_JOB_DELETE[] =
    "DELETE FROM compile_jobs WHERE status IN ('completed', 'failed') AND " JOB_FILTER;
static const char SQL_JOB_BY_STATUS[] =
    "SELECT status, COUNT(*) FROM compile_jobs GROUP BY status ORDER BY status";

/* ---- rate limits ---- */

/* Step the bound upsert q to its end under the short busy timeout; *count from its row. */
static int step_hit(struct sqlite_store *s, sqlite3_stmt *q, int64_t *count, struct err *err)
{
    int rc;

    sqlite3_busy_timeout(s->db, STORE_RATELIMIT_BUSY_MS);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *count = sqlite3_column_int64(q, 0);
        rc = sqlite3_step(q);
    }
    sq_reset(q);
    sqlite3_busy_timeout(s->db, SQ_BUSY_TIMEOUT_MS);
    if (rc == SQLITE_DONE)
        return 0;
    *count = 0;
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        return err_set(err, ERR_UNAVAILABLE, "database busy");
    return sq_fail(s, "rate limit hit", rc, err);
}

int sq_ratelimit_hit(store *st, const char *key, int64_t window_start, int64_t now,
                     int64_t *count, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_RL_HIT, err);

    *count = 0;
    if (!q)
        return -1;
    sq_bind_str(q, 1, key);
    sqlite3_bind_int64(q, 2, window_start);
    sq_bind_ts(q, 3, now);
    return step_hit(s, q, count, err);
}

int sq_ratelimit_purge(store *st, int64_t before, int64_t *deleted, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_RL_PURGE, err);

    *deleted = 0;
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, before);
    if (sq_step_done(s, q, "rate limit purge", err) < 0)
        return -1;
    *deleted = sqlite3_changes64(s->db);
    return 0;
}

/* ---- job admin ---- */

static void bind_filter(sqlite3_stmt *q, const struct job_filter *f)
{
    sq_bind_str(q, 1, f->status);
    sq_bind_str(q, 2, f->subject_id);
    sq_bind_str(q, 3, f->tenant_id);
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

int sq_job_list(store *st, struct arena *a, const struct job_filter *f, size_t limit,
                size_t offset, struct compile_job **out, size_t *n, int64_t *total,
                struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *count = sq_stmt(s, SQL_JOB_COUNT, err);
    sqlite3_stmt *q = count ? sq_stmt(s, SQL_JOB_LIST, err) : NULL;
    void *rows;

    *out = NULL;
    *n = 0;
    *total = 0;
    if (!q)
        return -1;
    bind_filter(count, f);
    if (sq_query_int64(s, count, "count compile jobs", total, err) < 0)
        return -1;
    bind_filter(q, f);
    sq_bind_count(q, 4, limit, 1);
    sq_bind_count(q, 5, offset, 0);
    if (sq_collect_rows(s, a, q, sizeof(**out), limit, read_job, &rows, n, err) < 0)
        return -1;
    *out = rows;
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

int sq_job_count_by_status(store *st, struct arena *a, struct status_count **out, size_t *n,
                           struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_JOB_BY_STATUS, err);
    void *rows;

    *out = NULL;
    *n = 0;
    if (!q)
        return -1;
    if (sq_collect_rows(s, a, q, sizeof(**out), 8, read_status_count, &rows, n, err) < 0)
        return -1;
    *out = rows;
    return 0;
}
