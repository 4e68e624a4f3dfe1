/* sqlite_history.c - SQLite backend: a subject's rows as they stood at an instant (the as_of
 * reads of spec/api.md §11) and context receipts (§5.4). */
#include "store/sqlite/sqlite-internal.h"

#include <stdio.h>

#include "util/ts.h"

/* Memories visible at ?3: created by then, not deleted, not yet superseded (valid_to after
 * it); with ?6 every row created by then. The embedding is never read. */
#define MEM_AS_OF                                                                          \
    "SELECT id, subject_id, tenant_id, kind, content, summary, confidence, valid_from, "   \
    "valid_to, source_episode_ids, metadata, status, NULL, sensitivity_labels, created_at, " \
    "updated_at FROM memories WHERE tenant_id IS ?1 AND subject_id = ?2 "                  \
    "AND created_at <= ?3 AND (?6 OR (status <> 'deleted' "                              \
    "AND (valid_to IS NULL OR valid_to > ?3))) AND (?4 IS NULL OR kind = ?4) "
static const char SQL_MEM_AS_OF_OLDEST[] = MEM_AS_OF "ORDER BY created_at, seq LIMIT ?5";
static const char SQL_MEM_AS_OF_NEWEST[] = MEM_AS_OF "ORDER BY created_at DESC, seq LIMIT ?5";
#define EP_AS_OF                                                                           \
    "SELECT " SQ_EPISODE_COLS " FROM episodes WHERE tenant_id IS ?1 AND subject_id = ?2 "  \
    "AND created_at <= ?3 "
static const char SQL_EP_AS_OF_OLDEST[] = EP_AS_OF "ORDER BY created_at, seq LIMIT ?4";
static const char SQL_EP_AS_OF_NEWEST[] =
    EP_AS_OF "ORDER BY created_at DESC, seq DESC LIMIT ?4";

#define RECEIPT_COLS                                                                       \
    "id, tenant_id, subject_id, mode, created_at, body, signature, key_id, algorithm"
static const char SQL_RECEIPT_INSERT[] =
    "INSERT INTO context_receipts (" RECEIPT_COLS ") "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_RECEIPT_GET[] =
    "SELECT " RECEIPT_COLS " FROM context_receipts WHERE tenant_id IS ?1 AND id = ?2";
static const char SQL_RECEIPT_LIST[] =
    "SELECT " RECEIPT_COLS " FROM context_receipts WHERE tenant_id IS ?1 AND subject_id = ?2 "
    "AND (?3 IS NULL OR created_at >= ?3) AND (?4 IS NULL OR created_at <= ?4) "
    "AND (?5 IS NULL OR id < ?5) ORDER BY id DESC LIMIT ?6";

/* The statement sql of an as_of listing with ?1..?3 bound (tenant, subject, as_of). */
static sqlite3_stmt *as_of_stmt(struct sqlite_store *s, const char *sql,
                                const struct store_scope *sc, const struct as_of_query *aq,
                                struct err *err)
{
    sqlite3_stmt *q = sq_stmt(s, sql, err);

    if (q) {
        sq_bind_tenant(q, 1, sc->tenant);
        sq_bind_str(q, 2, sc->subject);
        sq_bind_ts(q, 3, aq->as_of);
    }
    return q;
}

int sq_memory_list_as_of(store *st, struct arena *a, const struct store_scope *sc,
                         const struct as_of_query *aq, struct memory_rows *out,
                         struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    size_t limit = aq->limit ? aq->limit : SIZE_MAX;
    sqlite3_stmt *q = as_of_stmt(s, aq->order == MEMORY_NEWEST_FIRST ? SQL_MEM_AS_OF_NEWEST
                                                                     : SQL_MEM_AS_OF_OLDEST,
                                 sc, aq, err);
    void *rows = NULL;
    int ret = -1;

    out->n = 0;
    if (q) {
        sq_bind_str(q, 4, aq->kind);
        sq_bind_count(q, 5, limit, 1);
        sqlite3_bind_int(q, 6, aq->every_status != 0);
        ret = sq_collect_rows(s, a, q, sizeof(*out->items), limit, sq_read_memory, &rows,
                              &out->n, err);
    }
    out->items = rows;
    return ret;
}

int sq_episode_list_as_of(store *st, struct arena *a, const struct store_scope *sc,
                          const struct as_of_query *aq, struct episode_rows *out,
                          struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    size_t limit = aq->limit ? aq->limit : SIZE_MAX;
    sqlite3_stmt *q = as_of_stmt(s, aq->order == MEMORY_NEWEST_FIRST ? SQL_EP_AS_OF_NEWEST
                                                                     : SQL_EP_AS_OF_OLDEST,
                                 sc, aq, err);
    void *rows = NULL;
    int ret = -1;

    out->n = 0;
    if (q) {
        sq_bind_count(q, 4, limit, 1);
        ret = sq_collect_rows(s, a, q, sizeof(*out->items), limit, sq_read_episode, &rows,
                              &out->n, err);
    }
    out->items = rows;
    return ret;
}

int sq_receipt_insert(store *st, const struct receipt_row *r, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_RECEIPT_INSERT, err);

    if (!q)
        return -1;
    sq_bind_str(q, 1, r->id);
    sq_bind_tenant(q, 2, r->tenant_id);
    sq_bind_str(q, 3, r->subject_id);
    sq_bind_str(q, 4, r->mode);
    sq_bind_ts(q, 5, r->created_at);
    sq_bind_str(q, 6, r->body);
    sq_bind_str(q, 7, r->signature);
    sq_bind_str(q, 8, r->key_id);
    sq_bind_str(q, 9, r->algorithm);
    return sq_step_done(s, q, "receipt insert", err);
}

static int read_receipt(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    struct receipt_row *r = row;
    const char *id = (const char *)sqlite3_column_text(q, 0);

    snprintf(r->id, sizeof(r->id), "%s", id ? id : "");
    r->tenant_id = sq_col_str(a, q, 1);
    r->subject_id = sq_col_str(a, q, 2);
    r->mode = sq_col_str(a, q, 3);
    r->body = sq_col_str(a, q, 5);
    r->signature = sq_col_str(a, q, 6);
    r->key_id = sq_col_str(a, q, 7);
    r->algorithm = sq_col_str(a, q, 8);
    if (sq_col_ts(q, 4, &r->created_at) < 0)
        return sq_bad_timestamp("context_receipts", err);
    return 0;
}

int sq_receipt_get(store *st, struct arena *a, const char *tenant, const char *id,
                   struct receipt_row **out, struct err *err)
{
    void *row;
    int ret = sq_lookup(sq_downcast(st), a, SQL_RECEIPT_GET, tenant, id, sizeof(**out),
                        read_receipt, &row, err);

    *out = row;
    return ret;
}

int sq_receipt_list(store *st, struct arena *a, const struct store_scope *sc,
                    const struct receipt_query *rq, struct receipt_rows *out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_RECEIPT_LIST, err);
    void *rows = NULL;
    int ret = -1;

    out->n = 0;
    if (q) {
        sq_bind_tenant(q, 1, sc->tenant);
        sq_bind_str(q, 2, sc->subject);
        sq_bind_ts(q, 3, rq->since);
        sq_bind_ts(q, 4, rq->until);
        sq_bind_str(q, 5, rq->before_id);
        sq_bind_count(q, 6, rq->limit, 1);
        ret = sq_collect_rows(s, a, q, sizeof(*out->items), rq->limit, read_receipt, &rows,
                              &out->n, err);
    }
    out->items = rows;
    return ret;
}
