/* sqlite_ratelimit.c - SQLite backend: distributed rate-limit windows (rate_limit_hits). */
#include "store/sqlite/sqlite-internal.h"

/* The whole upsert happens in the first step; RETURNING hands back the new count. */
static const char SQL_RL_HIT[] =
    "INSERT INTO rate_limit_hits (key, window_start, hit_count, updated_at) "
    "VALUES (?1, ?2, 1, ?3) ON CONFLICT (key, window_start) DO UPDATE SET "
    "hit_count = hit_count + 1, updated_at = excluded.updated_at RETURNING hit_count";
static const char SQL_RL_PURGE[] = "DELETE FROM rate_limit_hits WHERE window_start < ?1";

/* Step the bound upsert q to its end under the short busy timeout; *count from its row. */
static int step_hit(struct sqlite_store *s, sqlite3_stmt *q, int64_t *count, struct err *err)
{
    int rc;

    sqlite3_busy_timeout(s->db, STORE_RATELIMIT_BUSY_MS);
    rc = sq_step(q);
    if (rc == SQLITE_ROW) {
        *count = sqlite3_column_int64(q, 0);
        rc = sq_step(q);
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
