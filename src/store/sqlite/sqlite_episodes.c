/* sqlite_episodes.c - SQLite backend: inserting episodes (idempotency keys included) and
 * listing a subject's episodes. */
#include "store/sqlite/sqlite-internal.h"

#include "util/log.h"
#include "util/ts.h"

static const char SQL_EP_INSERT[] =
    "INSERT INTO episodes (" SQ_EPISODE_COLS ") "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
    "ON CONFLICT (COALESCE(tenant_id, ''), subject_id, idempotency_key) "
    "WHERE idempotency_key IS NOT NULL DO NOTHING";
static const char SQL_EP_BY_IDEM[] =
    "SELECT " SQ_EPISODE_COLS " FROM episodes "
    "WHERE COALESCE(tenant_id, '') = COALESCE(?1, '') AND subject_id = ?2 "
    "AND idempotency_key = ?3";
static const char SQL_EP_LIST[] =
    "SELECT " SQ_EPISODE_COLS " FROM episodes WHERE tenant_id IS ?1 AND subject_id = ?2 "
    "ORDER BY created_at, seq LIMIT ?3 OFFSET ?4";

/* Overwrite *ep with the episode holding ep's (tenant, subject, idempotency key). */
static int load_by_idem(struct sqlite_store *s, struct arena *a, struct episode *ep,
                        struct err *err)
{
    sqlite3_stmt *q = sq_stmt(s, SQL_EP_BY_IDEM, err);
    void *rows;
    size_t n;

    if (!q)
        return -1;
    sq_bind_tenant(q, 1, ep->tenant_id);
    sq_bind_str(q, 2, ep->subject_id);
    sq_bind_str(q, 3, ep->idempotency_key);
    if (sq_collect_rows(s, a, q, sizeof(*ep), 1, sq_read_episode, &rows, &n, err) < 0)
        return -1;
    if (n != 1) {
        log_write(LOG_ERROR, "sqlite episode insert: idempotency conflict but no row found");
        return err_set(err, ERR_INTERNAL, "database error");
    }
    *ep = *(struct episode *)rows;
    return 0;
}

/* Insert ep (b's counters given the row), or on an idempotent replay read the stored one. */
static int insert_one(struct sqlite_store *s, struct sq_bulk *b, struct arena *a,
                      struct episode *ep, int *inserted, struct err *err)
{
    sqlite3_stmt *q = sq_stmt(s, SQL_EP_INSERT, err);
    struct sq_bulk_row row;
    char ts[TS_STR_LEN];

    *inserted = 0;
    if (!q)
        return -1;
    if (sq_bind_episode(q, ep) < 0) {
        sq_reset(q);
        return sq_fail(s, "episode insert bind", sqlite3_errcode(s->db), err);
    }
    if (sq_step_done(s, q, "episode insert", err) < 0)
        return -1;
    if (sqlite3_changes(s->db) != 1)
        return load_by_idem(s, a, ep, err);
    *inserted = 1;
    if (!b->on)
        return 0;
    sq_bulk_episode_row(ep, &row, ts);
    return sq_bulk_add(s, b, &row, err);
}

/*
 * The counters (subject_stats, usage_daily, context_gen) of the episodes inserted here are
 * written from C (sqlite_counters.c), not by the per-row triggers: one statement for the
 * pairs of the episodes on each of subject_stats and context_gen, one upsert per (tenant,
 * day) on usage_daily, in the same transaction as the rows. A
 * group of the ingest writer, whose episodes are one request's each and whose pairs
 * alternate, is counted sorted by pair. A failing statement rolls the transaction back,
 * rows and counts together. (A lone episode, sq_episode_insert, is counted by the triggers.)
 */
int sq_episode_insert_group(store *st, struct arena *const *as, struct episode *const *eps,
                            size_t n, int *inserted, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    struct sq_bulk b;
    size_t i;
    int ret = 0;

    if (sq_bulk_begin_rows(s, SQ_BULK_EPISODES, &b, err) < 0)
        return -1;
    for (i = 0; ret == 0 && i < n; i++)
        ret = insert_one(s, &b, as[i], eps[i], &inserted[i], err);
    return sq_bulk_end(s, &b, ret, err);
}

int sq_commits_flush(store *st, int *flushes, struct err *err)
{
    (void)st;
    (void)err;
    *flushes = store_sqlite_sync_full();
    return 0;
}

/* One episode alone: the triggers count it, inside the INSERT. Counting from C costs a lone
 * episode more (its own transaction where there was the INSERT's autocommit, a statement and
 * a statement journal per counter table: 561,000 instructions a request against 448,000 at
 * one connection, docs/PERFORMANCE.md); it pays only for the pairs of a group. */
int sq_episode_insert(store *st, struct arena *a, struct episode *ep, int *inserted,
                      struct err *err)
{
    struct sq_bulk none = { .on = 0 };

    return insert_one(sq_downcast(st), &none, a, ep, inserted, err);
}

int sq_episode_list(store *st, struct arena *a, const struct store_scope *sc,
                    const struct store_page *pg, struct episode_rows *out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_EP_LIST, err);
    void *rows = NULL;
    int ret = -1;

    out->n = 0;
    if (q) {
        sq_bind_page(q, sc, pg);
        ret = sq_collect_rows(s, a, q, sizeof(*out->items), pg->limit, sq_read_episode, &rows,
                              &out->n, err);
    }
    out->items = rows;
    return ret;
}

/* The bounds are fixed-width text, so an open one is a text below (above) every timestamp;
 * the same expression as the index ix_episodes_subject_when, so the range is an index range. */
static const char SQL_EP_WINDOW[] =
    "SELECT " SQ_EPISODE_COLS " FROM episodes WHERE subject_id = ?2 AND tenant_id IS ?1 "
    "AND COALESCE(occurred_at, created_at) >= ?3 AND COALESCE(occurred_at, created_at) <= ?4 "
    "AND (?5 IS NULL OR type IN (SELECT value FROM json_each(?5))) "
    "ORDER BY COALESCE(occurred_at, created_at), seq LIMIT ?6";

static int bind_bound(sqlite3_stmt *q, int i, int64_t us, const char *open)
{
    if (us == TS_NULL)
        return sqlite3_bind_text(q, i, open, -1, SQLITE_STATIC);
    return sq_bind_ts(q, i, us);
}

int sq_episode_list_window(store *st, struct arena *a, const struct store_scope *sc,
                           const struct episode_window *w, struct episode_rows *out,
                           struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_EP_WINDOW, err);
    void *rows = NULL;
    int ret = -1, bad = 0;

    out->n = 0;
    if (q) {
        bad |= sq_bind_tenant(q, 1, sc->tenant) != SQLITE_OK;
        bad |= sq_bind_str(q, 2, sc->subject) != SQLITE_OK;
        bad |= bind_bound(q, 3, w->since, "") != SQLITE_OK;
        bad |= bind_bound(q, 4, w->until, "~") != SQLITE_OK;
        bad |= sq_bind_str(q, 5, w->kinds_json) != SQLITE_OK;
        bad |= sqlite3_bind_int64(q, 6, (sqlite3_int64)w->limit) != SQLITE_OK;
        if (bad) {
            sq_reset(q);
            ret = sq_fail(s, "episode window bind", sqlite3_errcode(s->db), err);
        } else {
            ret = sq_collect_rows(s, a, q, sizeof(*out->items), w->limit, sq_read_episode,
                                  &rows, &out->n, err);
        }
    }
    out->items = rows;
    return ret;
}
