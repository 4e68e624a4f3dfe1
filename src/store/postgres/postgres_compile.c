/* postgres_compile.c - PostgreSQL backend: the episode side of the memory loop (uncompiled
 * episodes, marking them compiled, the newest episodes, episodes by id), a forced recompile's
 * reset, and a subject's resolutions. */
#include "store/postgres/postgres-internal.h"

#include <string.h>

#include "util/buf.h"
#include "util/ts.h"

static const char SQL_EP_UNCOMPILED[] =
    "SELECT " PG_EPISODE_COLS " FROM episodes WHERE COALESCE(tenant_id, '') = $1"
    " AND subject_id = $2 AND last_compiled_at IS NULL ORDER BY created_at, seq LIMIT $3";
/* Exact reverse insertion order, so a cut at the limit keeps the most recent rows. */
static const char SQL_EP_RECENT[] =
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
/* The source episodes of context's candidates, in the same round trip as the candidates:
 * the newest active memories of each kind ($3, at most $4 each, 0 = no limit, as
 * SQL_MEM_KIND_NEWEST picks them), their source ids and the extra ids $5, looked up by
 * primary key alone as SQL_EP_BY_IDS does (the tenant is checked on the rows). */
static const char SQL_CTX_SOURCES[] =
    "SELECT " PG_EPISODE_COLS " FROM episodes WHERE id = ANY(ARRAY("
    "SELECT unnest(m.source_episode_ids)"
    " FROM unnest($3::text[], $4::bigint[]) AS k(kind, lim)"
    " CROSS JOIN LATERAL (SELECT source_episode_ids FROM memories"
    " WHERE COALESCE(tenant_id, '') = $1 AND subject_id = $2 AND status = 'active'"
    " AND kind = k.kind ORDER BY created_at DESC, seq LIMIT NULLIF(k.lim, 0)) AS m"
    " UNION SELECT unnest($5::uuid[])))";
/* One statement, so it is atomic on its own and also fits inside a caller's transaction. */
static const char SQL_RESET[] =
    "WITH m AS (DELETE FROM memories WHERE COALESCE(tenant_id, '') = $1"
    " AND subject_id = $2 RETURNING 1),"
    " e AS (UPDATE episodes SET last_compiled_at = NULL WHERE COALESCE(tenant_id, '') = $1"
    " AND subject_id = $2 AND last_compiled_at IS NOT NULL RETURNING 1)"
    " SELECT (SELECT count(*) FROM m), (SELECT count(*) FROM e)";
static const char SQL_RESOLUTIONS[] =
    "SELECT session_id, status, resolution_summary, updated_at FROM resolutions"
    " WHERE COALESCE(tenant_id, '') = $1 AND subject_id = $2 ORDER BY updated_at DESC, seq";

/* Two keys: a fixed class for "compile/restore writer of a subject" and a hash of the pair. */
static const char SQL_SUBJECT_LOCK[] =
    "SELECT pg_advisory_xact_lock(1701013614, hashtext($1 || chr(31) || $2))";

int pgst_subject_lock(store *st, const char *tenant, const char *subject, struct err *err)
{
    const char *vals[2] = { pgst_tenant_key(tenant), subject };

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
                                 const char *tenant, const char *subject, size_t limit,
                                 struct episode **out, size_t *n, struct err *err)
{
    char lim[PG_INT_LEN];
    const char *vals[3] = { pgst_tenant_key(tenant), subject, pgst_size_param(limit, lim) };
    PGresult *r = pgst_exec(pgst_downcast(st), sql, 3, vals, err);
    void *rows = NULL;
    int ret;

    *out = NULL;
    *n = 0;
    if (!r)
        return -1;
    ret = pgst_collect_rows(a, r, sizeof(**out), pgst_read_episode, &rows, n, err);
    PQclear(r);
    *out = rows;
    return ret;
}

int pgst_episode_list_uncompiled(store *st, struct arena *a, const char *tenant,
                               const char *subject, size_t limit, struct episode **out,
                               size_t *n, struct err *err)
{
    return list_subject_episodes(st, a, SQL_EP_UNCOMPILED, tenant, subject, limit, out, n,
                                 err);
}

int pgst_episode_list_recent(store *st, struct arena *a, const char *tenant, const char *subject,
                           size_t limit, struct episode **out, size_t *n, struct err *err)
{
    return list_subject_episodes(st, a, SQL_EP_RECENT, tenant, subject, limit, out, n, err);
}

/* The usable ids (pgst_id_ok) as a uuid[] literal `{a,b}` into b (a UUID needs no quoting),
 * for one `= ANY($n::uuid[])` parameter; returns how many went in. */
static size_t ids_array(struct buf *b, const char *const *ids, size_t n)
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

    if (ids_array(&list, ids, n) > 0) {
        const char *vals[3] = { pgst_ts_param(at, when), pgst_tenant_key(tenant), list.data };

        ret = pgst_exec_void(pgst_downcast(st), SQL_EP_MARK, 3, vals, err);
    }
    buf_release(&list);
    return ret;
}

/* Keep the n episodes at eps that belong to the tenant key want (in place); the new count. */
static size_t keep_tenant(struct episode *eps, size_t n, const char *want)
{
    size_t i, kept = 0;

    for (i = 0; i < n; i++) {
        if (strcmp(pgst_tenant_key(eps[i].tenant_id), want) == 0)
            eps[kept++] = eps[i];
    }
    return kept;
}

int pgst_rows_by_ids(struct pgst_store *ps, struct arena *a, const char *sql, const char *tenant_key,
                   const char *const *ids, size_t nids, size_t size, pgst_row_reader *read,
                   void **out, size_t *n, struct err *err)
{
    struct buf list = BUF_INIT;
    const char *vals[2] = { tenant_key, NULL };
    PGresult *r = NULL;
    int ret = 0;

    *n = 0;
    *out = NULL;
    if (ids_array(&list, ids, nids) == 0) {
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

int pgst_episode_get_many(store *st, struct arena *a, const char *tenant, const char *const *ids,
                        size_t nids, struct episode **out, size_t *n, struct err *err)
{
    void *rows;
    int ret = pgst_rows_by_ids(pgst_downcast(st), a, SQL_EP_BY_IDS, NULL, ids, nids, sizeof(**out),
                             pgst_read_episode, &rows, n, err);

    *out = rows;
    if (ret == 0)
        *n = keep_tenant(*out, *n, pgst_tenant_key(tenant));
    return ret;
}

int pgst_compile_reset(store *st, const char *tenant, const char *subject,
                     int64_t *memories_deleted, struct err *err)
{
    const char *vals[2] = { pgst_tenant_key(tenant), subject };
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_RESET, 2, vals, err);

    *memories_deleted = 0;
    if (!r)
        return -1;
    *memories_deleted = pgst_col_int(r, 0, 0);
    PQclear(r);
    return 0;
}

static int read_resolution(struct arena *a, const PGresult *r, int row, void *out)
{
    struct resolution *res = out;

    res->session_id = pgst_col_str(a, r, row, 0);
    res->status = pgst_col_str(a, r, row, 1);
    res->resolution_summary = pgst_col_str(a, r, row, 2);
    return pgst_col_ts(r, row, 3, &res->updated_at);
}

int pgst_resolution_list(store *st, struct arena *a, const char *tenant, const char *subject,
                       struct resolution **out, size_t *n, struct err *err)
{
    const char *vals[2] = { pgst_tenant_key(tenant), subject };
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_RESOLUTIONS, 2, vals, err);
    void *rows = NULL;
    int ret;

    *out = NULL;
    *n = 0;
    if (!r)
        return -1;
    ret = pgst_collect_rows(a, r, sizeof(**out), read_resolution, &rows, n, err);
    PQclear(r);
    *out = rows;
    return ret;
}

/* ---- context reads: one round trip ---- */

/* The n strings as a text[] literal `{"a","b"}` into b, each quoted and escaped. */
static void text_array(struct buf *b, const char *const *items, size_t n)
{
    const char *c;
    size_t i;

    buf_putc(b, '{');
    for (i = 0; i < n; i++) {
        buf_puts(b, i ? ",\"" : "\"");
        for (c = items[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                buf_putc(b, '\\');
            buf_putc(b, *c);
        }
        buf_putc(b, '"');
    }
    buf_putc(b, '}');
}

/* Rows of the result r into *out / *n as pgst_collect_rows reads them; r is cleared. */
static int take_rows(struct arena *a, PGresult *r, size_t size, pgst_row_reader *read,
                     void **out, size_t *n, struct err *err)
{
    int ret = pgst_collect_rows(a, r, size, read, out, n, err);

    PQclear(r);
    return ret;
}

int pgst_context_read(store *st, struct arena *a, const char *tenant, const char *subject,
                    struct context_reads *r, struct err *err)
{
    const char *mvals[CONTEXT_READ_KINDS][PG_MEMORY_ACTIVE_NPARAMS];
    char mlim[CONTEXT_READ_KINDS][PG_INT_LEN], elim[PG_INT_LEN];
    const char *evals[3] = { pgst_tenant_key(tenant), subject, pgst_size_param(r->episodes, elim) };
    const char *rvals[2] = { pgst_tenant_key(tenant), subject };
    const char *svals[5] = { pgst_tenant_key(tenant), subject, NULL, NULL, NULL };
    struct buf kinds = BUF_INIT, limits = BUF_INIT, extra = BUF_INIT;
    struct pgst_query q[CONTEXT_READ_KINDS + 3];
    PGresult *res[CONTEXT_READ_KINDS + 3];
    size_t k, n = 0, i;
    void *rows;
    int ret = 0;

    for (k = 0; k < r->nkinds; k++) {
        pgst_memory_active_params(tenant, subject, r->kinds[k], 0, r->limits[k], mlim[k],
                                mvals[k]);
        q[n].sql = pgst_memory_active_sql(r->kinds[k], MEMORY_NEWEST_FIRST);
        q[n].nparams = PG_MEMORY_ACTIVE_NPARAMS;
        q[n++].vals = mvals[k];
    }
    q[n].sql = SQL_EP_RECENT;
    q[n].nparams = 3;
    q[n++].vals = evals;
    q[n].sql = SQL_RESOLUTIONS;
    q[n].nparams = 2;
    q[n++].vals = rvals;
    text_array(&kinds, r->kinds, r->nkinds);
    buf_putc(&limits, '{');
    for (k = 0; k < r->nkinds; k++)
        buf_printf(&limits, "%s%zu", k ? "," : "", r->limits[k]);
    buf_putc(&limits, '}');
    (void)ids_array(&extra, r->extra_sources, r->nextra);
    svals[2] = kinds.data;
    svals[3] = limits.data;
    svals[4] = extra.data;
    q[n].sql = SQL_CTX_SOURCES;
    q[n].nparams = 5;
    q[n++].vals = svals;
    ret = pgst_exec_many(pgst_downcast(st), n, q, res, err);
    buf_release(&kinds);
    buf_release(&limits);
    buf_release(&extra);
    if (ret < 0)
        return -1;
    for (i = 0; i < n; i++) {
        rows = NULL;
        if (ret < 0) {
            PQclear(res[i]);
        } else if (i < r->nkinds) {
            ret = take_rows(a, res[i], sizeof(struct memory), pgst_read_memory, &rows,
                            &r->nmemories[i], err);
            r->memories[i] = rows;
        } else if (i == r->nkinds) {
            ret = take_rows(a, res[i], sizeof(struct episode), pgst_read_episode, &rows,
                            &r->nrecent, err);
            r->recent = rows;
        } else if (i == r->nkinds + 1) {
            ret = take_rows(a, res[i], sizeof(struct resolution), read_resolution, &rows,
                            &r->nresolutions, err);
            r->resolutions = rows;
        } else {
            ret = take_rows(a, res[i], sizeof(struct episode), pgst_read_episode, &rows,
                            &r->nsources, err);
            r->sources = rows;
            if (ret == 0) {
                r->nsources = keep_tenant(r->sources, r->nsources, pgst_tenant_key(tenant));
                r->have_sources = 1;
            }
        }
    }
    return ret;
}
