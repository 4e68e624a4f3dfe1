/* postgres_history.c - PostgreSQL backend: a subject's rows as they stood at an instant (the
 * as_of reads of spec/api.md §11) and context receipts (§5.4). */
#include "store/postgres/postgres-internal.h"

#include <stdio.h>

#include "util/ts.h"

/* Memories visible at $3: created by then, not deleted, not yet superseded (valid_to after
 * it); with $6 every row created by then. The embedding is never sent. */
#define MEM_AS_OF                                                                          \
    "SELECT id, subject_id, tenant_id, kind, content, summary, confidence, valid_from,"    \
    " valid_to, array_to_json(source_episode_ids), metadata, status, NULL::bytea,"         \
    " sensitivity_labels, created_at, updated_at FROM memories"                            \
    " WHERE COALESCE(tenant_id, '') = $1 AND subject_id = $2 AND created_at <= $3"         \
    " AND ($6::boolean OR (status <> 'deleted' AND (valid_to IS NULL OR valid_to > $3)))"  \
    " AND ($4::text IS NULL OR kind = $4::text)"
static const char SQL_MEM_AS_OF_OLDEST[] = MEM_AS_OF " ORDER BY created_at, seq LIMIT $5";
static const char SQL_MEM_AS_OF_NEWEST[] = MEM_AS_OF " ORDER BY created_at DESC, seq LIMIT $5";
#define EP_AS_OF                                                                           \
    "SELECT " PG_EPISODE_COLS " FROM episodes WHERE COALESCE(tenant_id, '') = $1"          \
    " AND subject_id = $2 AND created_at <= $3"
static const char SQL_EP_AS_OF_OLDEST[] = EP_AS_OF " ORDER BY created_at, seq LIMIT $4";
static const char SQL_EP_AS_OF_NEWEST[] =
    EP_AS_OF " ORDER BY created_at DESC, seq DESC LIMIT $4";

#define RECEIPT_COLS                                                                       \
    "id, tenant_id, subject_id, mode, created_at, body, signature, key_id, algorithm"
static const char SQL_RECEIPT_INSERT[] =
    "INSERT INTO context_receipts (" RECEIPT_COLS ")"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
static const char SQL_RECEIPT_GET[] =
    "SELECT " RECEIPT_COLS " FROM context_receipts"
    " WHERE COALESCE(tenant_id, '') = $1 AND id = $2";
static const char SQL_RECEIPT_LIST[] =
    "SELECT " RECEIPT_COLS " FROM context_receipts WHERE COALESCE(tenant_id, '') = $1"
    " AND subject_id = $2 AND ($3::timestamptz IS NULL OR created_at >= $3::timestamptz)"
    " AND ($4::timestamptz IS NULL OR created_at <= $4::timestamptz)"
    " AND ($5::text IS NULL OR id < $5::text) ORDER BY id DESC LIMIT $6";

int pgst_memory_list_as_of(store *st, struct arena *a, const struct store_scope *sc,
                           const struct as_of_query *aq, struct memory_rows *out,
                           struct err *err)
{
    char when[TS_STR_LEN], lim[PG_INT_LEN];
    const char *vals[6] = { pgst_tenant_key(sc->tenant), sc->subject,
                            pgst_ts_param(aq->as_of, when), aq->kind,
                            pgst_size_param(aq->limit ? aq->limit : SIZE_MAX, lim),
                            aq->every_status ? "true" : "false" };
    void *rows = NULL;
    PGresult *r;
    int ret;

    r = pgst_exec(pgst_downcast(st), aq->order == MEMORY_NEWEST_FIRST ? SQL_MEM_AS_OF_NEWEST
                                                                      : SQL_MEM_AS_OF_OLDEST,
                  6, vals, err);
    ret = pgst_take_rows(a, r, sizeof(*out->items), pgst_read_memory, &rows, &out->n, err);
    out->items = rows;
    return ret;
}

int pgst_episode_list_as_of(store *st, struct arena *a, const struct store_scope *sc,
                            const struct as_of_query *aq, struct episode_rows *out,
                            struct err *err)
{
    char when[TS_STR_LEN], lim[PG_INT_LEN];
    const char *vals[4] = { pgst_tenant_key(sc->tenant), sc->subject,
                            pgst_ts_param(aq->as_of, when),
                            pgst_size_param(aq->limit ? aq->limit : SIZE_MAX, lim) };
    void *rows = NULL;
    PGresult *r;
    int ret;

    r = pgst_exec(pgst_downcast(st), aq->order == MEMORY_NEWEST_FIRST ? SQL_EP_AS_OF_NEWEST
                                                                      : SQL_EP_AS_OF_OLDEST,
                  4, vals, err);
    ret = pgst_take_rows(a, r, sizeof(*out->items), pgst_read_episode, &rows, &out->n, err);
    out->items = rows;
    return ret;
}

int pgst_receipt_insert(store *st, const struct receipt_row *rr, struct err *err)
{
    char created[TS_STR_LEN];
    const char *vals[9] = { rr->id, pgst_tenant_value(rr->tenant_id), rr->subject_id,
                            rr->mode, pgst_ts_param(rr->created_at, created), rr->body,
                            rr->signature, rr->key_id, rr->algorithm };

    return pgst_exec_void(pgst_downcast(st), SQL_RECEIPT_INSERT, 9, vals, err);
}

static int read_receipt(struct arena *a, const PGresult *r, int row, void *out)
{
    struct receipt_row *rr = out;

    snprintf(rr->id, sizeof(rr->id), "%s", PQgetvalue(r, row, 0));
    rr->tenant_id = pgst_col_str(a, r, row, 1);
    rr->subject_id = pgst_col_str(a, r, row, 2);
    rr->mode = pgst_col_str(a, r, row, 3);
    rr->body = pgst_col_str(a, r, row, 5);
    rr->signature = pgst_col_str(a, r, row, 6);
    rr->key_id = pgst_col_str(a, r, row, 7);
    rr->algorithm = pgst_col_str(a, r, row, 8);
    return pgst_col_ts(r, row, 4, &rr->created_at);
}

int pgst_receipt_get(store *st, struct arena *a, const char *tenant, const char *id,
                     struct receipt_row **out, struct err *err)
{
    const char *vals[2] = { pgst_tenant_key(tenant), id };
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_RECEIPT_GET, 2, vals, err);
    void *row;
    int ret = pgst_take_one(a, r, sizeof(**out), read_receipt, &row, err);

    *out = row;
    return ret;
}

int pgst_receipt_list(store *st, struct arena *a, const struct store_scope *sc,
                      const struct receipt_query *rq, struct receipt_rows *out,
                      struct err *err)
{
    char since[TS_STR_LEN], until[TS_STR_LEN], lim[PG_INT_LEN];
    const char *vals[6] = { pgst_tenant_key(sc->tenant), sc->subject,
                            pgst_ts_param(rq->since, since), pgst_ts_param(rq->until, until),
                            rq->before_id, pgst_size_param(rq->limit, lim) };
    void *rows = NULL;
    PGresult *r;
    int ret;

    r = pgst_exec(pgst_downcast(st), SQL_RECEIPT_LIST, 6, vals, err);
    ret = pgst_take_rows(a, r, sizeof(*out->items), read_receipt, &rows, &out->n, err);
    out->items = rows;
    return ret;
}
