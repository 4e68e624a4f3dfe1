/* postgres_subjects.c - PostgreSQL backend: a subject's memories, the subject list with
 * counts, and deleting a subject. */
#include "store/postgres/postgres-internal.h"

#include <string.h>

#include "util/reserved.h"

static const char SQL_MEMORY_LIST[] =
    "SELECT " PG_MEMORY_COLS " FROM memories WHERE COALESCE(tenant_id, '') = $1"
    " AND subject_id = $2 ORDER BY created_at, seq LIMIT $3 OFFSET $4";
/* Literal prefixes (never LIKE, whose `_` matches any character). */
static const char SQL_SUBJECT_LIST[] =
    "SELECT subject_id, sum(ne)::int8, sum(nm)::int8 FROM ("
    " SELECT subject_id, count(*) AS ne, 0 AS nm FROM episodes"
    " WHERE COALESCE(tenant_id, '') = $1 GROUP BY subject_id"
    " UNION ALL"
    " SELECT subject_id, 0, count(*) FROM memories"
    " WHERE COALESCE(tenant_id, '') = $1 GROUP BY subject_id) s"
    " WHERE left(subject_id, length('" RESERVED_SNAPSHOT "')) <> '" RESERVED_SNAPSHOT "'"
    " AND left(subject_id, length('" RESERVED_BOOTSTRAP "')) <> '" RESERVED_BOOTSTRAP "'"
    " GROUP BY subject_id ORDER BY subject_id COLLATE \"C\" LIMIT $2 OFFSET $3";
/* One statement, so it is atomic on its own and also fits inside a caller's transaction. */
static const char SQL_SUBJECT_DELETE[] =
    "WITH e AS (DELETE FROM episodes WHERE COALESCE(tenant_id, '') = $1"
    " AND subject_id = $2 RETURNING 1),"
    " m AS (DELETE FROM memories WHERE COALESCE(tenant_id, '') = $1"
    " AND subject_id = $2 RETURNING 1),"
    " r AS (DELETE FROM resolutions WHERE COALESCE(tenant_id, '') = $1"
    " AND subject_id = $2 RETURNING 1),"
    " h AS (DELETE FROM subject_health_cache WHERE COALESCE(tenant_id, '') = $1"
    " AND subject_id = $2),"
    " l AS (DELETE FROM subject_lineage WHERE COALESCE(tenant_id, '') = $1"
    " AND subject_id = $2)"
    " SELECT (SELECT count(*) FROM e), (SELECT count(*) FROM m), (SELECT count(*) FROM r)";

int pgst_memory_list(store *st, struct arena *a, const struct store_scope *sc,
                     const struct store_page *pg, struct memory_rows *out, struct err *err)
{
    char lim[PG_INT_LEN], off[PG_INT_LEN];
    const char *vals[4] = { pgst_tenant_key(sc->tenant), sc->subject,
                            pgst_size_param(pg->limit, lim), pgst_size_param(pg->offset, off) };
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_MEMORY_LIST, 4, vals, err);
    void *rows = NULL;
    int ret = pgst_take_rows(a, r, sizeof(*out->items), pgst_read_memory, &rows, &out->n, err);

    out->items = rows;
    return ret;
}

static int read_subject_count(struct arena *a, const PGresult *r, int row, void *out)
{
    struct subject_count *sc = out;

    sc->subject_id = pgst_col_str(a, r, row, 0);
    sc->episode_count = pgst_col_int(r, row, 1);
    sc->memory_count = pgst_col_int(r, row, 2);
    return 0;
}

int pgst_subject_list(store *st, struct arena *a, const char *tenant,
                      const struct store_page *pg, struct subject_count_rows *out,
                      struct err *err)
{
    char lim[PG_INT_LEN], off[PG_INT_LEN];
    const char *vals[3] = { pgst_tenant_key(tenant), pgst_size_param(pg->limit, lim),
                            pgst_size_param(pg->offset, off) };
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_SUBJECT_LIST, 3, vals, err);
    void *rows = NULL;
    int ret = pgst_take_rows(a, r, sizeof(*out->items), read_subject_count, &rows, &out->n, err);

    out->items = rows;
    return ret;
}

int pgst_subject_delete(store *st, const struct store_scope *sc, struct row_counts *out,
                        struct err *err)
{
    const char *vals[2] = { pgst_tenant_key(sc->tenant), sc->subject };

    return pgst_take_counts(pgst_exec(pgst_downcast(st), SQL_SUBJECT_DELETE, 2, vals, err),
                            out);
}
