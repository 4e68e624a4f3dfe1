/* postgres_deletions.c - PostgreSQL backend, Engram extensions: the subject delete that hands
 * back the deleted ids, the counts a deletion receipt's verification reads, deletion
 * receipts, and fork lineage (README "Provable deletion", "Fork and diff"). */
#include "store/postgres/postgres-internal.h"

#include <stdio.h>
#include <string.h>

#include "util/ts.h"

#define RECEIPT_COLS                                                              \
    "id, tenant_id, subject_id, deleted_at, episodes_deleted, memories_deleted, " \
    "resolutions_deleted, digest"
#define LINEAGE_COLS                                                                 \
    "tenant_id, subject_id, source_subject_id, source_tenant_id, as_of, forked_at, " \
    "episodes_copied, memories_copied"
#define OF_SUBJECT "COALESCE(tenant_id, '') = $1 AND subject_id = $2"

/* One statement: the rows subject_delete removes, their ids as rows (any order). */
static const char SQL_DELETE_IDS[] =
    "WITH e AS (DELETE FROM episodes WHERE " OF_SUBJECT " RETURNING id),"
    " m AS (DELETE FROM memories WHERE " OF_SUBJECT " RETURNING id),"
    " r AS (DELETE FROM resolutions WHERE " OF_SUBJECT " RETURNING id),"
    " h AS (DELETE FROM subject_health_cache WHERE " OF_SUBJECT "),"
    " l AS (DELETE FROM subject_lineage WHERE " OF_SUBJECT ")"
    " SELECT 'e', id::text FROM e UNION ALL SELECT 'm', id::text FROM m"
    " UNION ALL SELECT 'r', id::text FROM r";
static const char SQL_ROWS_BEFORE[] =
    "SELECT (SELECT count(*) FROM episodes WHERE " OF_SUBJECT " AND created_at <= $3),"
    " (SELECT count(*) FROM memories WHERE " OF_SUBJECT " AND created_at <= $3),"
    " (SELECT count(*) FROM resolutions WHERE " OF_SUBJECT " AND created_at <= $3)";

static const char SQL_RECEIPT_INSERT[] =
    "INSERT INTO deletion_receipts (" RECEIPT_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
static const char SQL_RECEIPT_GET[] = "SELECT " RECEIPT_COLS " FROM deletion_receipts WHERE id = $1"
                                      " AND COALESCE(tenant_id, '') = $2";

/* One statement: insert, or replace the lineage of the pair (ux_subject_lineage_key). */
static const char SQL_LINEAGE_PUT[] =
    "INSERT INTO subject_lineage (" LINEAGE_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    " ON CONFLICT ((COALESCE(tenant_id, '')), subject_id) DO UPDATE SET"
    " source_subject_id = EXCLUDED.source_subject_id,"
    " source_tenant_id = EXCLUDED.source_tenant_id, as_of = EXCLUDED.as_of,"
    " forked_at = EXCLUDED.forked_at, episodes_copied = EXCLUDED.episodes_copied,"
    " memories_copied = EXCLUDED.memories_copied";
static const char SQL_LINEAGE_GET[] =
    "SELECT " LINEAGE_COLS " FROM subject_lineage WHERE " OF_SUBJECT;

/* ---- the delete that reports its ids ---- */

int pgst_subject_delete_ids(store *st, struct arena *a, const struct store_scope *sc,
                            struct row_counts *out, struct store_ids *ids, struct err *err)
{
    const char *vals[2] = { pgst_tenant_key(sc->tenant), sc->subject };
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_DELETE_IDS, 2, vals, err);
    const char **items;
    int i, n;

    memset(out, 0, sizeof(*out));
    ids->items = NULL;
    ids->n = 0;
    if (!r)
        return -1;
    n = PQntuples(r);
    items = arena_alloc(a, ((size_t)n + 1) * sizeof(*items));
    for (i = 0; i < n; i++) {
        char table = PQgetvalue(r, i, 0)[0];

        items[i] = pgst_col_str(a, r, i, 1);
        if (table == 'e')
            out->episodes++;
        else if (table == 'm')
            out->memories++;
        else
            out->resolutions++;
    }
    PQclear(r);
    ids->items = items;
    ids->n = (size_t)n;
    return 0;
}

int pgst_subject_rows_before(store *st, const struct store_scope *sc, int64_t before,
                             struct row_counts *out, struct err *err)
{
    char at[TS_STR_LEN];
    const char *vals[3] = { pgst_tenant_key(sc->tenant), sc->subject, pgst_ts_param(before, at) };

    return pgst_take_counts(pgst_exec(pgst_downcast(st), SQL_ROWS_BEFORE, 3, vals, err), out);
}

/* ---- receipts ---- */

int pgst_deletion_insert(store *st, const struct deletion_receipt *rc, struct err *err)
{
    char at[TS_STR_LEN], ne[PG_INT_LEN], nm[PG_INT_LEN], nr[PG_INT_LEN];
    const char *vals[8];

    if (!pgst_id_ok(rc->id) || !rc->subject_id)
        return err_set(err, ERR_INVALID, "Invalid deletion receipt");
    vals[0] = rc->id;
    vals[1] = pgst_tenant_value(rc->tenant_id);
    vals[2] = rc->subject_id;
    vals[3] = pgst_ts_param(rc->deleted_at, at);
    vals[4] = pgst_int_param(rc->episodes_deleted, ne);
    vals[5] = pgst_int_param(rc->memories_deleted, nm);
    vals[6] = pgst_int_param(rc->resolutions_deleted, nr);
    vals[7] = rc->digest;
    return pgst_exec_void(pgst_downcast(st), SQL_RECEIPT_INSERT, 8, vals, err);
}

static int read_receipt(struct arena *a, const PGresult *r, int row, void *out)
{
    struct deletion_receipt *rc = out;

    snprintf(rc->id, sizeof(rc->id), "%s", PQgetvalue(r, row, 0));
    rc->tenant_id = pgst_col_str(a, r, row, 1);
    rc->subject_id = pgst_col_str(a, r, row, 2);
    rc->episodes_deleted = pgst_col_int(r, row, 4);
    rc->memories_deleted = pgst_col_int(r, row, 5);
    rc->resolutions_deleted = pgst_col_int(r, row, 6);
    snprintf(rc->digest, sizeof(rc->digest), "%s", PQgetvalue(r, row, 7));
    return pgst_col_ts(r, row, 3, &rc->deleted_at);
}

int pgst_deletion_get(store *st, struct arena *a, const char *tenant, const char *id,
                      struct deletion_receipt **out, struct err *err)
{
    const char *vals[2] = { id, pgst_tenant_key(tenant) };
    void *row;
    int ret;

    *out = NULL;
    if (!pgst_id_ok(id))
        return 0;
    ret = pgst_take_one(a, pgst_exec(pgst_downcast(st), SQL_RECEIPT_GET, 2, vals, err),
                        sizeof(**out), read_receipt, &row, err);
    *out = row;
    return ret;
}

/* ---- lineage ---- */

int pgst_lineage_put(store *st, const struct subject_lineage *l, struct err *err)
{
    char as_of[TS_STR_LEN], at[TS_STR_LEN], ne[PG_INT_LEN], nm[PG_INT_LEN];
    const char *vals[8];

    vals[0] = pgst_tenant_value(l->tenant_id);
    vals[1] = l->subject_id;
    vals[2] = l->source_subject_id;
    vals[3] = pgst_tenant_value(l->source_tenant_id);
    vals[4] = pgst_ts_param(l->as_of, as_of);
    vals[5] = pgst_ts_param(l->forked_at, at);
    vals[6] = pgst_int_param(l->episodes_copied, ne);
    vals[7] = pgst_int_param(l->memories_copied, nm);
    return pgst_exec_void(pgst_downcast(st), SQL_LINEAGE_PUT, 8, vals, err);
}

static int read_lineage(struct arena *a, const PGresult *r, int row, void *out)
{
    struct subject_lineage *l = out;

    l->tenant_id = pgst_col_str(a, r, row, 0);
    l->subject_id = pgst_col_str(a, r, row, 1);
    l->source_subject_id = pgst_col_str(a, r, row, 2);
    l->source_tenant_id = pgst_col_str(a, r, row, 3);
    l->episodes_copied = pgst_col_int(r, row, 6);
    l->memories_copied = pgst_col_int(r, row, 7);
    if (pgst_col_ts(r, row, 4, &l->as_of) < 0)
        return -1;
    return pgst_col_ts(r, row, 5, &l->forked_at);
}

int pgst_lineage_get(store *st, struct arena *a, const struct store_scope *sc,
                     struct subject_lineage **out, struct err *err)
{
    const char *vals[2] = { pgst_tenant_key(sc->tenant), sc->subject };
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_LINEAGE_GET, 2, vals, err);
    void *row;
    int ret = pgst_take_one(a, r, sizeof(**out), read_lineage, &row, err);

    *out = row;
    return ret;
}
