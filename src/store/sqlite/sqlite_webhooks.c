/* sqlite_webhooks.c - SQLite backend: the outbound webhook queue (the webhook_events table):
 * insert inside the caller's transaction, the deliverer's lease-based claim, delivery state,
 * and the operator's list, stats, lookup and purge. */
#include "store/sqlite/sqlite-internal.h"

#include <string.h>

#define WEBHOOK_COLS                                                                     \
    "id, tenant_id, event, payload, status, attempts, max_attempts, last_attempt_at, "  \
    "next_attempt_at, last_error, http_status, created_at, delivered_at"

/* ?1 status, ?2 event, ?3 tenant: each NULL = no filter. */
#define FILTER "(?1 IS NULL OR status = ?1) AND (?2 IS NULL OR event = ?2) " \
               "AND (?3 IS NULL OR tenant_id = ?3)"

static const char SQL_INSERT[] =
    "INSERT INTO webhook_events (" WEBHOOK_COLS ") "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
/* One statement: SQLite takes the write lock before it reads, so two connections can never
 * claim the same row. */
static const char SQL_CLAIM[] =
    "UPDATE webhook_events SET next_attempt_at = ?2 WHERE seq IN ("
    "SELECT seq FROM webhook_events WHERE status = 'pending' "
    "AND (next_attempt_at IS NULL OR next_attempt_at <= ?1) "
    "ORDER BY next_attempt_at NULLS FIRST, seq LIMIT ?3) RETURNING " WEBHOOK_COLS;
/* The claim's test as a read: an idle deliverer polls with this and never takes SQLite's one
 * write lock (which an UPDATE takes even when it matches nothing). */
static const char SQL_ANY_DUE[] =
    "SELECT 1 FROM webhook_events WHERE status = 'pending' "
    "AND (next_attempt_at IS NULL OR next_attempt_at <= ?1) LIMIT 1";
static const char SQL_UPDATE[] =
    "UPDATE webhook_events SET status = ?2, attempts = ?3, last_attempt_at = ?4, "
    "next_attempt_at = ?5, last_error = ?6, http_status = ?7, delivered_at = ?8 "
    "WHERE id = ?1";
static const char SQL_LIST[] =
    "SELECT " WEBHOOK_COLS " FROM webhook_events WHERE " FILTER " "
    "ORDER BY created_at DESC, seq DESC LIMIT ?4 OFFSET ?5";
static const char SQL_COUNT[] = "SELECT COUNT(*) FROM webhook_events WHERE " FILTER;
static const char SQL_STATS[] =
    "SELECT COUNT(*) FILTER (WHERE status = 'pending'), "
    "COUNT(*) FILTER (WHERE status = 'delivered'), "
    "COUNT(*) FILTER (WHERE status = 'dead_letter'), COUNT(*) FROM webhook_events";
static const char SQL_GET[] = "SELECT " WEBHOOK_COLS " FROM webhook_events WHERE id = ?1";
static const char SQL_PURGE[] =
    "DELETE FROM webhook_events WHERE status IN ('delivered', 'dead_letter') AND " FILTER;

static int read_event(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    struct webhook_event *ev = row;

    sq_col_id(q, 0, ev->id);
    ev->tenant_id = sq_col_str(a, q, 1);
    ev->event = sq_col_str(a, q, 2);
    ev->payload = sq_col_str(a, q, 3);
    ev->status = sq_col_str(a, q, 4);
    ev->attempts = sqlite3_column_int64(q, 5);
    ev->max_attempts = sqlite3_column_int64(q, 6);
    ev->last_error = sq_col_str(a, q, 9);
    ev->http_status = sqlite3_column_int(q, 10);
    if (sq_col_ts(q, 7, &ev->last_attempt_at) < 0 || sq_col_ts(q, 8, &ev->next_attempt_at) < 0 ||
        sq_col_ts(q, 11, &ev->created_at) < 0 || sq_col_ts(q, 12, &ev->delivered_at) < 0)
        return sq_bad_timestamp("webhook_events", err);
    return 0;
}

static void bind_filter(sqlite3_stmt *q, const struct webhook_filter *f)
{
    sq_bind_str(q, 1, f ? f->status : NULL);
    sq_bind_str(q, 2, f ? f->event : NULL);
    sq_bind_str(q, 3, f ? f->tenant : NULL);
}

static void bind_http_status(sqlite3_stmt *q, int i, int status)
{
    if (status > 0)
        sqlite3_bind_int(q, i, status);
    else
        sqlite3_bind_null(q, i);
}

int sq_webhook_insert(store *st, const struct webhook_event *ev, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_INSERT, err);

    if (!q)
        return -1;
    sq_bind_str(q, 1, ev->id);
    sq_bind_tenant(q, 2, ev->tenant_id);
    sq_bind_str(q, 3, ev->event);
    sq_bind_json(q, 4, ev->payload, "{}");
    sq_bind_str(q, 5, ev->status ? ev->status : "pending");
    sqlite3_bind_int64(q, 6, ev->attempts);
    sqlite3_bind_int64(q, 7, ev->max_attempts);
    sq_bind_ts(q, 8, ev->last_attempt_at);
    sq_bind_ts(q, 9, ev->next_attempt_at);
    sq_bind_str(q, 10, ev->last_error);
    bind_http_status(q, 11, ev->http_status);
    sq_bind_ts(q, 12, ev->created_at);
    sq_bind_ts(q, 13, ev->delivered_at);
    return sq_step_done(s, q, "webhook event insert", err);
}

int sq_webhook_claim(store *st, struct arena *a, const struct store_claim *c,
                     struct webhook_rows *out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_ANY_DUE, err);
    void *rows = NULL;
    int64_t any;

    memset(out, 0, sizeof(*out));
    if (!q)
        return -1;
    sq_bind_ts(q, 1, c->now);
    if (sq_query_int64(s, q, "webhook poll", &any, err) < 0)
        return -1;
    if (!any)
        return 0;
    q = sq_stmt(s, SQL_CLAIM, err);
    if (!q)
        return -1;
    sq_bind_ts(q, 1, c->now);
    sq_bind_ts(q, 2, c->lease_until);
    sq_bind_count(q, 3, c->limit, 1);
    if (sq_collect_rows(s, a, q, sizeof(*out->items), c->limit, read_event, &rows, &out->n,
                        err) < 0)
        return -1;
    out->items = rows;
    out->total = (int64_t)out->n;
    return 0;
}

int sq_webhook_update(store *st, const struct webhook_event *ev, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_UPDATE, err);

    if (!q)
        return -1;
    sq_bind_str(q, 1, ev->id);
    sq_bind_str(q, 2, ev->status);
    sqlite3_bind_int64(q, 3, ev->attempts);
    sq_bind_ts(q, 4, ev->last_attempt_at);
    sq_bind_ts(q, 5, ev->next_attempt_at);
    sq_bind_str(q, 6, ev->last_error);
    bind_http_status(q, 7, ev->http_status);
    sq_bind_ts(q, 8, ev->delivered_at);
    return sq_step_done(s, q, "webhook event update", err);
}

int sq_webhook_list(store *st, struct arena *a, const struct webhook_filter *f,
                    const struct store_page *pg, struct webhook_rows *out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_LIST, err);
    sqlite3_stmt *c = q ? sq_stmt(s, SQL_COUNT, err) : NULL;
    void *rows = NULL;

    memset(out, 0, sizeof(*out));
    if (!c)
        return -1;
    bind_filter(q, f);
    sq_bind_count(q, 4, pg->limit, 1);
    sq_bind_count(q, 5, pg->offset, 0);
    if (sq_collect_rows(s, a, q, sizeof(*out->items), pg->limit, read_event, &rows, &out->n,
                        err) < 0)
        return -1;
    out->items = rows;
    bind_filter(c, f);
    return sq_query_int64(s, c, "count webhook events", &out->total, err);
}

int sq_webhook_stats(store *st, struct webhook_stats *out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_STATS, err);
    int rc;

    memset(out, 0, sizeof(*out));
    if (!q)
        return -1;
    rc = sq_step(q);
    if (rc == SQLITE_ROW) {
        out->pending = sqlite3_column_int64(q, 0);
        out->delivered = sqlite3_column_int64(q, 1);
        out->dead_letter = sqlite3_column_int64(q, 2);
        out->total = sqlite3_column_int64(q, 3);
    }
    sq_reset(q);
    if (rc != SQLITE_ROW)
        return sq_fail(s, "webhook event stats", rc, err);
    return 0;
}

int sq_webhook_get(store *st, struct arena *a, const char *id, struct webhook_event **out,
                   struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q;
    void *row = NULL;
    int ret;

    *out = NULL;
    if (!sq_id_ok(id))
        return 0;
    q = sq_stmt(s, SQL_GET, err);
    if (!q)
        return -1;
    sq_bind_str(q, 1, id);
    ret = sq_collect_one(s, a, q, sizeof(**out), read_event, &row, err);
    *out = row;
    return ret;
}

int sq_webhook_purge(store *st, const struct webhook_filter *f, int64_t *deleted,
                     struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_PURGE, err);

    *deleted = 0;
    if (!q)
        return -1;
    bind_filter(q, f);
    if (sq_step_done(s, q, "webhook event purge", err) < 0)
        return -1;
    *deleted = sqlite3_changes64(s->db);
    return 0;
}
