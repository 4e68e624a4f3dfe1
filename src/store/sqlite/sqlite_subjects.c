/* sqlite_subjects.c - SQLite backend: a subject's memories, the subject list with counts, and
 * deleting a subject. */
#include "store/sqlite/sqlite-internal.h"

#include <string.h>

#include "util/reserved.h"

/* Literal prefixes (never LIKE, whose `_` matches any character); both are ASCII, so a
 * character substr equals a byte prefix. */
#define NOT_RESERVED \
    "substr(subject_id, 1, length('" RESERVED_SNAPSHOT "')) <> '" RESERVED_SNAPSHOT "'" \
    " AND substr(subject_id, 1, length('" RESERVED_BOOTSTRAP "')) <> '" RESERVED_BOOTSTRAP "'"

static const char SQL_MEM_LIST[] =
    "SELECT " SQ_MEMORY_COLS " FROM memories "
    "WHERE tenant_id IS ?1 AND subject_id = ?2 "
    "ORDER BY created_at, seq LIMIT ?3 OFFSET ?4";
static const char SQL_SUBJECTS[] =
    "SELECT subject_id, SUM(ne), SUM(nm) FROM ("
    "SELECT subject_id, COUNT(*) AS ne, 0 AS nm FROM episodes "
    "WHERE tenant_id IS ?1 AND " NOT_RESERVED " GROUP BY subject_id "
    "UNION ALL "
    "SELECT subject_id, 0, COUNT(*) FROM memories "
    "WHERE tenant_id IS ?1 AND " NOT_RESERVED " GROUP BY subject_id"
    ") GROUP BY subject_id ORDER BY subject_id LIMIT ?2 OFFSET ?3";
static const char SQL_EP_DELETE[] =
    "DELETE FROM episodes WHERE tenant_id IS ?1 AND subject_id = ?2";
static const char SQL_MEM_DELETE[] =
    "DELETE FROM memories WHERE tenant_id IS ?1 AND subject_id = ?2";
static const char SQL_RES_DELETE[] =
    "DELETE FROM resolutions WHERE tenant_id IS ?1 AND subject_id = ?2";
static const char SQL_HEALTH_DELETE[] =
    "DELETE FROM subject_health_cache WHERE tenant_id IS ?1 AND subject_id = ?2";
static const char SQL_LINEAGE_DELETE[] =
    "DELETE FROM subject_lineage WHERE tenant_id IS ?1 AND subject_id = ?2";

int sq_memory_list(store *st, struct arena *a, const struct store_scope *sc,
                   const struct store_page *pg, struct memory_rows *out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_MEM_LIST, err);
    void *rows = NULL;
    int ret = -1;

    out->n = 0;
    if (q) {
        sq_bind_page(q, sc, pg);
        ret = sq_collect_rows(s, a, q, sizeof(*out->items), pg->limit, sq_read_memory, &rows,
                              &out->n, err);
    }
    out->items = rows;
    return ret;
}

static int read_subject_count(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    struct subject_count *c = row;

    (void)err;
    c->subject_id = sq_col_str(a, q, 0);
    c->episode_count = sqlite3_column_int64(q, 1);
    c->memory_count = sqlite3_column_int64(q, 2);
    return 0;
}

int sq_subject_list(store *st, struct arena *a, const char *tenant,
                    const struct store_page *pg, struct subject_count_rows *out,
                    struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_SUBJECTS, err);
    void *rows = NULL;
    int ret = -1;

    out->n = 0;
    if (q) {
        sq_bind_tenant(q, 1, tenant);
        sq_bind_count(q, 2, pg->limit, 1);
        sq_bind_count(q, 3, pg->offset, 0);
        ret = sq_collect_rows(s, a, q, sizeof(*out->items), pg->limit, read_subject_count,
                              &rows, &out->n, err);
    }
    out->items = rows;
    return ret;
}

int sq_subject_write(struct sqlite_store *s, const char *sql, const struct store_scope *sc,
                     int64_t *count, struct err *err)
{
    sqlite3_stmt *q = sq_stmt(s, sql, err);

    if (!q)
        return -1;
    sq_bind_tenant(q, 1, sc->tenant);
    sq_bind_str(q, 2, sc->subject);
    if (sq_step_done(s, q, "subject write", err) < 0)
        return -1;
    if (count)
        *count = sqlite3_changes64(s->db);
    return 0;
}

int sq_subject_delete(store *st, const struct store_scope *sc, struct row_counts *out,
                      struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    struct row_counts n = { 0, 0, 0 };
    int own, ret = 0;

    memset(out, 0, sizeof(*out));
    if (store_tx_enter(st, &own, err) < 0)
        return -1;
    if (sq_subject_write(s, SQL_EP_DELETE, sc, &n.episodes, err) < 0 ||
        sq_subject_write(s, SQL_MEM_DELETE, sc, &n.memories, err) < 0 ||
        sq_subject_write(s, SQL_RES_DELETE, sc, &n.resolutions, err) < 0 ||
        sq_subject_write(s, SQL_HEALTH_DELETE, sc, NULL, err) < 0 ||
        sq_subject_write(s, SQL_LINEAGE_DELETE, sc, NULL, err) < 0)
        ret = -1;
    if (store_tx_leave(st, own, ret, err) < 0)
        return -1;
    *out = n;
    return 0;
}
