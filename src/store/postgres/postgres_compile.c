/* postgres_compile.c - PostgreSQL backend: the episode side of the memory loop (uncompiled
 * episodes, marking them compiled, the newest episodes, episodes by id), a forced recompile's
 * reset, and a subject's resolutions. The context read, which pipelines several of these,
 * is in postgres_context.c. */
#include "store/postgres/postgres-internal.h"

#include <string.h>

#include "util/buf.h"
#include "util/ts.h"

static const char SQL_EP_UNCOMPILED[] =
    "SELECT " PG_EPISODE_COLS " FROM episodes WHERE COALESCE(tenant_id, '') = $1"
    " AND subject_id = $2 AND last_compiled_at IS NULL ORDER BY created_at, seq LIMIT $3";
/* Exact reverse insertion order, so a cut at the limit keeps the most recent rows. */
const char PG_SQL_EP_RECENT[] =
    "SELECT " PG_EPISODE_COLS " FROM episodes WHERE COALESCE(tenant_id, '') = $1"
    " AND subject_id = $2 ORDER BY created_at DESC, seq DESC LIMIT $3";
/* The ids travel as one uuid[] parameter (see ids_array): one round trip for any number. */
static const char SQL_EP_MARK[] =
    "UPDATE episodes SET last_compiled_at = $1 WHERE COALESCE(tenant_id, '') = $2"
    " AND id = ANY($3::uuid[])";
/* By primary key alone, so that the plan is a probe per id whatever the statistics say: with
 * the tenant filter beside it, a table not yet analysed ran it as a scan of the tenant index
 * (every episode of the tenant). The tenant is checked on the rows instead (an id names one
 * row, so this filters exactly as the SQL would). */
static const char SQL_EP_BY_IDS[] =
    "SELECT " PG_EPISODE_COLS " FROM episodes WHERE id = ANY($1::uuid[])";
/* One statement, so it is atomic on its own and also fits inside a caller's transaction. */
static const char SQL_RESET[] =
    "WITH m AS (DELETE FROM memories WHERE COALESCE(tenant_id, '') = $1"
    " AND subject_id = $2 RETURNING 1),"
    " e AS (UPDATE episodes SET last_compiled_at = NULL WHERE COALESCE(tenant_id, '') = $1"
    " AND subject_id = $2 AND last_compiled_at IS NOT NULL RETURNING 1)"
    " SELECT (SELECT count(*) FROM m), (SELECT count(*) FROM e)";
const char PG_SQL_RESOLUTIONS[] =
    "SELECT session_id, status, resolution_summary, updated_at FROM resolutions"
    " WHERE COALESCE(tenant_id, '') = $1 AND subject_id = $2 ORDER BY updated_at DESC, seq";

/* Two keys: a fixed class for "compile/restore writer of a subject" and a hash of the pair. */
static const char SQL_SUBJECT_LOCK[] =
    "SELECT pg_advisory_xact_lock(1701013614, hashtext($1 || chr(31) || $2))";

int pgst_subject_lock(store *st, const struct store_scope *sc, struct err *err)
{
    const char *vals[2] = { pgst_tenant_key(sc->tenant), sc->subject };

    return pgst_exec_void(pgst_downcast(st), SQL_SUBJECT_LOCK, 2, vals, err);
}

int pgst_id_ok(const char *id)
{
    const char *p;

    if (!id || !uuid_valid(id))
        return 0;
    for (p = id; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            return 0;
    return 1;
}

/* Run a per-subject episode query ($1 tenant, $2 subject, $3 limit) into *out. */
static int list_subject_episodes(store *st, struct arena *a, const char *sql,
                                 const struct store_scope *sc, size_t limit,
                                 struct episode_rows *out, struct err *err)
{
    char lim[PG_INT_LEN];
    const char *vals[3] = { pgst_tenant_key(sc->tenant), sc->subject,
                            pgst_size_param(limit, lim) };
    PGresult *r = pgst_exec(pgst_downcast(st), sql, 3, vals, err);
    void *rows = NULL;
    int ret = pgst_take_rows(a, r, sizeof(*out->items), pgst_read_episode, &rows, &out->n, err);

    out->items = rows;
    return ret;
}

int pgst_episode_list_uncompiled(store *st, struct arena *a, const struct store_scope *sc,
                                 size_t limit, struct episode_rows *out, struct err *err)
{
    return list_subject_episodes(st, a, SQL_EP_UNCOMPILED, sc, limit, out, err);
}

int pgst_episode_list_recent(store *st, struct arena *a, const struct store_scope *sc,
                             size_t limit, struct episode_rows *out, struct err *err)
{
    return list_subject_episodes(st, a, PG_SQL_EP_RECENT, sc, limit, out, err);
}

/* A UUID needs no quoting inside the array literal. */
size_t pgst_ids_array(struct buf *b, const char *const *ids, size_t n)
{
    size_t i, used = 0;

    buf_putc(b, '{');
    for (i = 0; i < n; i++) {
        if (!pgst_id_ok(ids[i]))
            continue;
        buf_printf(b, "%s%s", used ? "," : "", ids[i]);
        used++;
    }
    buf_putc(b, '}');
    return used;
}

int pgst_episode_mark_compiled(store *st, const char *tenant, const char *const *ids, size_t n,
                             int64_t at, struct err *err)
{
    struct buf list = BUF_INIT;
    char when[TS_STR_LEN];
    int ret = 0;

    if (pgst_ids_array(&list, ids, n) > 0) {
        const char *vals[3] = { pgst_ts_param(at, when), pgst_tenant_key(tenant), list.data };

        ret = pgst_exec_void(pgst_downcast(st), SQL_EP_MARK, 3, vals, err);
    }
    buf_release(&list);
    return ret;
}

size_t pgst_keep_tenant(struct episode *eps, size_t n, const char *want)
{
    size_t i, kept = 0;

    for (i = 0; i < n; i++) {
        if (strcmp(pgst_tenant_key(eps[i].tenant_id), want) == 0)
            eps[kept++] = eps[i];
    }
    return kept;
}

int pgst_rows_by_ids(struct pgst_store *ps, struct arena *a, const char *sql,
                     const char *tenant_key, const struct store_ids *ids, size_t size,
                     pgst_row_reader *read, void **out, size_t *n, struct err *err)
{
    struct buf list = BUF_INIT;
    const char *vals[2] = { tenant_key, NULL };
    PGresult *r = NULL;
    int ret = 0;

    *n = 0;
    *out = NULL;
    if (pgst_ids_array(&list, ids->items, ids->n) == 0) {
        *out = arena_calloc(a, 1, size);
        goto cleanup;
    }
    vals[tenant_key ? 1 : 0] = list.data;
    r = pgst_exec(ps, sql, tenant_key ? 2 : 1, vals, err);
    ret = r ? pgst_collect_rows(a, r, size, read, out, n, err) : -1;
cleanup:
    PQclear(r);
    buf_release(&list);
    return ret;
}

int pgst_episode_get_many(store *st, struct arena *a, const char *tenant,
                          const struct store_ids *ids, struct episode_rows *out,
                          struct err *err)
{
    void *rows;
    int ret = pgst_rows_by_ids(pgst_downcast(st), a, SQL_EP_BY_IDS, NULL, ids,
                               sizeof(*out->items), pgst_read_episode, &rows, &out->n, err);

    out->items = rows;
    if (ret == 0)
        out->n = pgst_keep_tenant(out->items, out->n, pgst_tenant_key(tenant));
    return ret;
}

int pgst_compile_reset(store *st, const struct store_scope *sc, int64_t *memories_deleted,
                       struct err *err)
{
    const char *vals[2] = { pgst_tenant_key(sc->tenant), sc->subject };
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_RESET, 2, vals, err);

    *memories_deleted = 0;
    if (!r)
        return -1;
    *memories_deleted = pgst_col_int(r, 0, 0);
    PQclear(r);
    return 0;
}

int pgst_read_resolution(struct arena *a, const PGresult *r, int row, void *out)
{
    struct resolution *res = out;

    res->session_id = pgst_col_str(a, r, row, 0);
    res->status = pgst_col_str(a, r, row, 1);
    res->resolution_summary = pgst_col_str(a, r, row, 2);
    return pgst_col_ts(r, row, 3, &res->updated_at);
}

int pgst_resolution_list(store *st, struct arena *a, const struct store_scope *sc,
                         struct resolution_rows *out, struct err *err)
{
    const char *vals[2] = { pgst_tenant_key(sc->tenant), sc->subject };
    PGresult *r = pgst_exec(pgst_downcast(st), PG_SQL_RESOLUTIONS, 2, vals, err);
    void *rows = NULL;
    int ret = pgst_take_rows(a, r, sizeof(*out->items), pgst_read_resolution, &rows, &out->n, err);

    out->items = rows;
    return ret;
}
