/* sqlite_deletions.c - SQLite backend, Engram extensions: the subject delete that hands back
 * the deleted ids, the counts a deletion receipt's verification reads, deletion receipts, and
 * fork lineage (README "Provable deletion", "Fork and diff"). */
#include "store/sqlite/sqlite-internal.h"

#include <stdio.h>
#include <string.h>

#include "util/ts.h"

#define RECEIPT_COLS                                                              \
    "id, tenant_id, subject_id, deleted_at, episodes_deleted, memories_deleted, " \
    "resolutions_deleted, digest"
#define LINEAGE_COLS                                                                 \
    "tenant_id, subject_id, source_subject_id, source_tenant_id, as_of, forked_at, " \
    "episodes_copied, memories_copied"

/* ?1 tenant, ?2 subject: the same rows subject_delete removes. */
static const char SQL_EP_DELETE_IDS[] =
    "DELETE FROM episodes WHERE tenant_id IS ?1 AND subject_id = ?2 RETURNING id";
static const char SQL_MEM_DELETE_IDS[] =
    "DELETE FROM memories WHERE tenant_id IS ?1 AND subject_id = ?2 RETURNING id";
static const char SQL_RES_DELETE_IDS[] =
    "DELETE FROM resolutions WHERE tenant_id IS ?1 AND subject_id = ?2 RETURNING id";
static const char SQL_HEALTH_DELETE[] =
    "DELETE FROM subject_health_cache WHERE tenant_id IS ?1 AND subject_id = ?2";
static const char SQL_LINEAGE_DELETE[] =
    "DELETE FROM subject_lineage WHERE tenant_id IS ?1 AND subject_id = ?2";

/* ?1 tenant, ?2 subject, ?3 the instant (fixed-width text, so text order is time order). */
static const char SQL_ROWS_BEFORE[] =
    "SELECT (SELECT COUNT(*) FROM episodes WHERE tenant_id IS ?1 AND subject_id = ?2"
    " AND created_at <= ?3),"
    " (SELECT COUNT(*) FROM memories WHERE tenant_id IS ?1 AND subject_id = ?2"
    " AND created_at <= ?3),"
    " (SELECT COUNT(*) FROM resolutions WHERE tenant_id IS ?1 AND subject_id = ?2"
    " AND created_at <= ?3)";

static const char SQL_RECEIPT_INSERT[] =
    "INSERT INTO deletion_receipts (" RECEIPT_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char SQL_RECEIPT_GET[] =
    "SELECT " RECEIPT_COLS " FROM deletion_receipts WHERE tenant_id IS ?1 AND id = ?2";

static const char SQL_LINEAGE_INSERT[] =
    "INSERT INTO subject_lineage (" LINEAGE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char SQL_LINEAGE_GET[] =
    "SELECT " LINEAGE_COLS " FROM subject_lineage WHERE tenant_id IS ?1 AND subject_id = ?2";

/* ---- the delete that reports its ids ---- */

static int read_id(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    (void)err;
    *(const char **)row = sq_col_str(a, q, 0);
    return 0;
}

/* Run one DELETE ... RETURNING id of sc; its ids appended to *ids (grown in the arena). */
static int delete_ids(struct sqlite_store *s, struct arena *a, const char *sql,
                      const struct store_scope *sc, struct store_ids *ids, int64_t *count,
                      struct err *err)
{
    sqlite3_stmt *q = sq_stmt(s, sql, err);
    void *rows = NULL;
    const char **all;
    size_t n = 0;

    if (!q)
        return -1;
    sq_bind_tenant(q, 1, sc->tenant);
    sq_bind_str(q, 2, sc->subject);
    if (sq_collect_rows(s, a, q, sizeof(const char *), 64, read_id, &rows, &n, err) < 0)
        return -1;
    all = arena_alloc(a, (ids->n + n + 1) * sizeof(*all));
    if (ids->n)
        memcpy(all, ids->items, ids->n * sizeof(*all));
    if (n)
        memcpy(all + ids->n, rows, n * sizeof(*all));
    ids->items = all;
    ids->n += n;
    *count = (int64_t)n;
    return 0;
}

int sq_subject_delete_ids(store *st, struct arena *a, const struct store_scope *sc,
                          struct row_counts *out, struct store_ids *ids, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    struct row_counts n = { 0, 0, 0 };

    memset(out, 0, sizeof(*out));
    ids->items = arena_alloc(a, sizeof(const char *));
    ids->n = 0;
    if (delete_ids(s, a, SQL_EP_DELETE_IDS, sc, ids, &n.episodes, err) < 0 ||
        delete_ids(s, a, SQL_MEM_DELETE_IDS, sc, ids, &n.memories, err) < 0 ||
        delete_ids(s, a, SQL_RES_DELETE_IDS, sc, ids, &n.resolutions, err) < 0 ||
        sq_subject_write(s, SQL_HEALTH_DELETE, sc, NULL, err) < 0 ||
        sq_subject_write(s, SQL_LINEAGE_DELETE, sc, NULL, err) < 0) {
        ids->n = 0;
        return -1;
    }
    *out = n;
    return 0;
}

int sq_subject_rows_before(store *st, const struct store_scope *sc, int64_t before,
                           struct row_counts *out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_ROWS_BEFORE, err);
    int rc;

    memset(out, 0, sizeof(*out));
    if (!q)
        return -1;
    sq_bind_tenant(q, 1, sc->tenant);
    sq_bind_str(q, 2, sc->subject);
    sq_bind_ts(q, 3, before);
    rc = sq_step(q);
    if (rc == SQLITE_ROW) {
        out->episodes = sqlite3_column_int64(q, 0);
        out->memories = sqlite3_column_int64(q, 1);
        out->resolutions = sqlite3_column_int64(q, 2);
    }
    sq_reset(q);
    if (rc != SQLITE_ROW)
        return sq_fail(s, "rows before", rc, err);
    return 0;
}

/* ---- receipts ---- */

int sq_deletion_insert(store *st, const struct deletion_receipt *r, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q;

    if (!sq_id_ok(r->id) || !r->subject_id)
        return err_set(err, ERR_INVALID, "Invalid deletion receipt");
    q = sq_stmt(s, SQL_RECEIPT_INSERT, err);
    if (!q)
        return -1;
    sq_bind_str(q, 1, r->id);
    sq_bind_tenant(q, 2, r->tenant_id);
    sq_bind_str(q, 3, r->subject_id);
    sq_bind_ts(q, 4, r->deleted_at);
    sqlite3_bind_int64(q, 5, r->episodes_deleted);
    sqlite3_bind_int64(q, 6, r->memories_deleted);
    sqlite3_bind_int64(q, 7, r->resolutions_deleted);
    sq_bind_str(q, 8, r->digest);
    return sq_step_done(s, q, "deletion receipt insert", err);
}

static int read_receipt(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    struct deletion_receipt *r = row;
    const char *digest;

    sq_col_id(q, 0, r->id);
    r->tenant_id = sq_col_str(a, q, 1);
    r->subject_id = sq_col_str(a, q, 2);
    if (sq_col_ts(q, 3, &r->deleted_at) < 0)
        return sq_bad_timestamp("deletion_receipts", err);
    r->episodes_deleted = sqlite3_column_int64(q, 4);
    r->memories_deleted = sqlite3_column_int64(q, 5);
    r->resolutions_deleted = sqlite3_column_int64(q, 6);
    digest = (const char *)sqlite3_column_text(q, 7);
    snprintf(r->digest, sizeof(r->digest), "%s", digest ? digest : "");
    return 0;
}

int sq_deletion_get(store *st, struct arena *a, const char *tenant, const char *id,
                    struct deletion_receipt **out, struct err *err)
{
    void *row;
    int ret;

    *out = NULL;
    if (!sq_id_ok(id))
        return 0;
    ret = sq_lookup(sq_downcast(st), a, SQL_RECEIPT_GET, tenant, id, sizeof(**out),
                    read_receipt, &row, err);
    *out = row;
    return ret;
}

/* ---- lineage ---- */

int sq_lineage_put(store *st, const struct subject_lineage *l, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    const struct store_scope sc = { .tenant = l->tenant_id, .subject = l->subject_id };
    sqlite3_stmt *q;
    int own, ret = -1;

    if (store_tx_enter(st, &own, err) < 0)
        return -1;
    if (sq_subject_write(s, SQL_LINEAGE_DELETE, &sc, NULL, err) < 0)
        goto done;
    q = sq_stmt(s, SQL_LINEAGE_INSERT, err);
    if (!q)
        goto done;
    sq_bind_tenant(q, 1, l->tenant_id);
    sq_bind_str(q, 2, l->subject_id);
    sq_bind_str(q, 3, l->source_subject_id);
    sq_bind_tenant(q, 4, l->source_tenant_id);
    sq_bind_ts(q, 5, l->as_of);
    sq_bind_ts(q, 6, l->forked_at);
    sqlite3_bind_int64(q, 7, l->episodes_copied);
    sqlite3_bind_int64(q, 8, l->memories_copied);
    ret = sq_step_done(s, q, "lineage insert", err);
done:
    return store_tx_leave(st, own, ret, err);
}

static int read_lineage(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    struct subject_lineage *l = row;

    l->tenant_id = sq_col_str(a, q, 0);
    l->subject_id = sq_col_str(a, q, 1);
    l->source_subject_id = sq_col_str(a, q, 2);
    l->source_tenant_id = sq_col_str(a, q, 3);
    if (sq_col_ts(q, 4, &l->as_of) < 0 || sq_col_ts(q, 5, &l->forked_at) < 0)
        return sq_bad_timestamp("subject_lineage", err);
    l->episodes_copied = sqlite3_column_int64(q, 6);
    l->memories_copied = sqlite3_column_int64(q, 7);
    return 0;
}

int sq_lineage_get(store *st, struct arena *a, const struct store_scope *sc,
                   struct subject_lineage **out, struct err *err)
{
    void *row;
    int ret = sq_lookup(sq_downcast(st), a, SQL_LINEAGE_GET, sc->tenant, sc->subject,
                        sizeof(**out), read_lineage, &row, err);

    *out = row;
    return ret;
}
