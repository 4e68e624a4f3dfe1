/* postgres_webhooks.c - PostgreSQL backend: the outbound webhook queue (the webhook_events
 * table): insert inside the caller's transaction, the deliverers' lease-based claim (FOR UPDATE
 * SKIP LOCKED, so many processes share one queue), delivery state, and the operator's list,
 * stats, lookup and purge. */
#include "store/postgres/postgres-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ts.h"

#define WEBHOOK_COLS                                                                     \
    "id, tenant_id, event, payload, status, attempts, max_attempts, last_attempt_at,"   \
    " next_attempt_at, last_error, http_status, created_at, delivered_at"
#define WEBHOOK_COLS_W                                                                   \
    "w.id, w.tenant_id, w.event, w.payload, w.status, w.attempts, w.max_attempts,"      \
    " w.last_attempt_at, w.next_attempt_at, w.last_error, w.http_status, w.created_at,"  \
    " w.delivered_at"

/* $1 status, $2 event, $3 tenant: each NULL = no filter. */
#define FILTER                                                                           \
    "($1::text IS NULL OR status = $1::text) AND ($2::text IS NULL OR event = $2::text)" \
    " AND ($3::text IS NULL OR tenant_id = $3::text)"

static const char SQL_INSERT[] =
    "INSERT INTO webhook_events (" WEBHOOK_COLS ")"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
/* A row another claimer holds is skipped, never waited for nor taken twice; a row it claimed
 * and committed meanwhile fails the recheck of the WHERE clause (its next_attempt_at is now
 * its lease). The locking CTE is evaluated once. */
static const char SQL_CLAIM[] =
    "WITH due AS (SELECT id FROM webhook_events WHERE status = 'pending'"
    " AND (next_attempt_at IS NULL OR next_attempt_at <= $1)"
    " ORDER BY next_attempt_at NULLS FIRST, seq LIMIT $3 FOR UPDATE SKIP LOCKED)"
    " UPDATE webhook_events w SET next_attempt_at = $2 FROM due WHERE w.id = due.id"
    " RETURNING " WEBHOOK_COLS_W;
static const char SQL_UPDATE[] =
    "UPDATE webhook_events SET status = $2, attempts = $3, last_attempt_at = $4,"
    " next_attempt_at = $5, last_error = $6, http_status = $7, delivered_at = $8"
    " WHERE id = $1";
static const char SQL_LIST[] =
    "SELECT " WEBHOOK_COLS " FROM webhook_events WHERE " FILTER
    " ORDER BY created_at DESC, seq DESC LIMIT $4 OFFSET $5";
static const char SQL_COUNT[] = "SELECT count(*) FROM webhook_events WHERE " FILTER;
static const char SQL_STATS[] =
    "SELECT count(*) FILTER (WHERE status = 'pending'),"
    " count(*) FILTER (WHERE status = 'delivered'),"
    " count(*) FILTER (WHERE status = 'dead_letter'), count(*) FROM webhook_events";
static const char SQL_GET[] = "SELECT " WEBHOOK_COLS " FROM webhook_events WHERE id = $1";
static const char SQL_PURGE[] =
    "DELETE FROM webhook_events WHERE status IN ('delivered', 'dead_letter') AND " FILTER;

static int read_event(struct arena *a, const PGresult *r, int row, void *out)
{
    struct webhook_event *ev = out;

    snprintf(ev->id, sizeof(ev->id), "%s", PQgetvalue(r, row, 0));
    ev->tenant_id = pgst_col_str(a, r, row, 1);
    ev->event = pgst_col_str(a, r, row, 2);
    ev->payload = pgst_col_str(a, r, row, 3);   /* a json column keeps the text as written */
    ev->status = pgst_col_str(a, r, row, 4);
    ev->attempts = pgst_col_int(r, row, 5);
    ev->max_attempts = pgst_col_int(r, row, 6);
    ev->last_error = pgst_col_str(a, r, row, 9);
    ev->http_status = (int)pgst_col_int(r, row, 10);
    if (pgst_col_ts(r, row, 7, &ev->last_attempt_at) < 0 ||
        pgst_col_ts(r, row, 8, &ev->next_attempt_at) < 0 ||
        pgst_col_ts(r, row, 11, &ev->created_at) < 0 ||
        pgst_col_ts(r, row, 12, &ev->delivered_at) < 0)
        return -1;
    return 0;
}

/* Run sql and read all its rows into *out. */
static int run_rows(struct pgst_store *ps, struct arena *a, const char *sql, int nparams,
                    const char *const *vals, struct webhook_event **out, size_t *n,
                    struct err *err)
{
    PGresult *r = pgst_exec(ps, sql, nparams, vals, err);
    void *rows = NULL;
    int ret;

    *out = NULL;
    *n = 0;
    if (!r)
        return -1;
    ret = pgst_collect_rows(a, r, sizeof(**out), read_event, &rows, n, err);
    PQclear(r);
    if (ret == 0)
        *out = rows;
    return ret;
}

static const char *status_param(int status, char out[PG_INT_LEN])
{
    return status > 0 ? pgst_int_param(status, out) : NULL;
}

int pgst_webhook_insert(store *st, const struct webhook_event *ev, struct err *err)
{
    char attempts[PG_INT_LEN], max[PG_INT_LEN], http[PG_INT_LEN], last[TS_STR_LEN],
        next[TS_STR_LEN], created[TS_STR_LEN], delivered[TS_STR_LEN];
    const char *vals[13] = {
        ev->id, pgst_tenant_value(ev->tenant_id), ev->event, pgst_json_param(ev->payload, "{}"),
        ev->status ? ev->status : "pending", pgst_int_param(ev->attempts, attempts),
        pgst_int_param(ev->max_attempts, max), pgst_ts_param(ev->last_attempt_at, last),
        pgst_ts_param(ev->next_attempt_at, next), ev->last_error,
        status_param(ev->http_status, http), pgst_ts_param(ev->created_at, created),
        pgst_ts_param(ev->delivered_at, delivered),
    };

    return pgst_exec_void(pgst_downcast(st), SQL_INSERT, 13, vals, err);
}

int pgst_webhook_claim(store *st, struct arena *a, const struct store_claim *c,
                       struct webhook_rows *out, struct err *err)
{
    char when[TS_STR_LEN], until[TS_STR_LEN], lim[PG_INT_LEN];
    const char *vals[3] = { pgst_ts_param(c->now, when), pgst_ts_param(c->lease_until, until),
                            pgst_size_param(c->limit, lim) };
    int ret = run_rows(pgst_downcast(st), a, SQL_CLAIM, 3, vals, &out->items, &out->n, err);

    out->total = (int64_t)out->n;
    return ret;
}

int pgst_webhook_update(store *st, const struct webhook_event *ev, struct err *err)
{
    char attempts[PG_INT_LEN], http[PG_INT_LEN], last[TS_STR_LEN], next[TS_STR_LEN],
        delivered[TS_STR_LEN];
    const char *vals[8] = {
        ev->id, ev->status, pgst_int_param(ev->attempts, attempts),
        pgst_ts_param(ev->last_attempt_at, last), pgst_ts_param(ev->next_attempt_at, next),
        ev->last_error, status_param(ev->http_status, http),
        pgst_ts_param(ev->delivered_at, delivered),
    };

    if (!pgst_id_ok(ev->id))
        return 0;   /* no such row can exist */
    return pgst_exec_void(pgst_downcast(st), SQL_UPDATE, 8, vals, err);
}

int pgst_webhook_list(store *st, struct arena *a, const struct webhook_filter *f,
                      const struct store_page *pg, struct webhook_rows *out, struct err *err)
{
    struct pgst_store *ps = pgst_downcast(st);
    char lim[PG_INT_LEN], off[PG_INT_LEN];
    const char *vals[5] = { f ? f->status : NULL, f ? f->event : NULL, f ? f->tenant : NULL,
                            pgst_size_param(pg->limit, lim), pgst_size_param(pg->offset, off) };

    out->total = 0;
    if (run_rows(ps, a, SQL_LIST, 5, vals, &out->items, &out->n, err) < 0)
        return -1;
    return pgst_exec_int64(ps, SQL_COUNT, 3, vals, &out->total, err);
}

int pgst_webhook_stats(store *st, struct webhook_stats *out, struct err *err)
{
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_STATS, 0, NULL, err);

    memset(out, 0, sizeof(*out));
    if (!r)
        return -1;
    if (PQntuples(r) > 0) {
        out->pending = pgst_col_int(r, 0, 0);
        out->delivered = pgst_col_int(r, 0, 1);
        out->dead_letter = pgst_col_int(r, 0, 2);
        out->total = pgst_col_int(r, 0, 3);
    }
    PQclear(r);
    return 0;
}

int pgst_webhook_get(store *st, struct arena *a, const char *id, struct webhook_event **out,
                   struct err *err)
{
    const char *vals[1] = { id };
    size_t n = 0;

    *out = NULL;
    if (!pgst_id_ok(id))
        return 0;
    if (run_rows(pgst_downcast(st), a, SQL_GET, 1, vals, out, &n, err) < 0)
        return -1;
    if (n == 0)
        *out = NULL;
    return 0;
}

int pgst_webhook_purge(store *st, const struct webhook_filter *f, int64_t *deleted,
                     struct err *err)
{
    const char *vals[3] = { f ? f->status : NULL, f ? f->event : NULL, f ? f->tenant : NULL };
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_PURGE, 3, vals, err);

    *deleted = 0;
    if (!r)
        return -1;
    *deleted = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return 0;
}
