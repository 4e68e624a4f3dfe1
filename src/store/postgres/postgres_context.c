/* postgres_context.c - PostgreSQL backend: what context assembly reads of a subject
 * (store.h struct context_reads) in one round trip: the newest active memories per kind, the
 * newest episodes, the resolutions and the candidates' source episodes, pipelined. */
#include "store/postgres/postgres-internal.h"

#include "util/buf.h"

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

int pgst_context_read(store *st, struct arena *a, const struct store_scope *sc,
                      struct context_reads *r, struct err *err)
{
    const char *tenant = sc->tenant, *subject = sc->subject;
    struct memory_query mq[CONTEXT_READ_KINDS];
    const char *mvals[CONTEXT_READ_KINDS][PG_MEMORY_ACTIVE_NPARAMS];
    char mlim[CONTEXT_READ_KINDS][PG_INT_LEN], elim[PG_INT_LEN];
    const char *evals[3] = { pgst_tenant_key(tenant), subject,
                             pgst_size_param(r->episodes, elim) };
    const char *rvals[2] = { pgst_tenant_key(tenant), subject };
    const char *svals[5] = { pgst_tenant_key(tenant), subject, NULL, NULL, NULL };
    struct buf kinds = BUF_INIT, limits = BUF_INIT, extra = BUF_INIT;
    struct pgst_query q[CONTEXT_READ_KINDS + 3];
    PGresult *res[CONTEXT_READ_KINDS + 3];
    size_t k, n = 0, i;
    void *rows;
    int ret = 0;

    for (k = 0; k < r->nkinds; k++) {
        mq[k] = (struct memory_query){ .kind = r->kinds[k], .order = MEMORY_NEWEST_FIRST,
                                       .limit = r->limits[k] };
        pgst_memory_active_params(sc, &mq[k], mlim[k], mvals[k]);
        q[n].sql = pgst_memory_active_sql(&mq[k]);
        q[n].nparams = PG_MEMORY_ACTIVE_NPARAMS;
        q[n++].vals = mvals[k];
    }
    q[n].sql = PG_SQL_EP_RECENT;
    q[n].nparams = 3;
    q[n++].vals = evals;
    q[n].sql = PG_SQL_RESOLUTIONS;
    q[n].nparams = 2;
    q[n++].vals = rvals;
    text_array(&kinds, r->kinds, r->nkinds);
    buf_putc(&limits, '{');
    for (k = 0; k < r->nkinds; k++)
        buf_printf(&limits, "%s%zu", k ? "," : "", r->limits[k]);
    buf_putc(&limits, '}');
    (void)pgst_ids_array(&extra, r->extra_sources, r->nextra);
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
            ret = pgst_take_rows(a, res[i], sizeof(struct memory), pgst_read_memory, &rows,
                            &r->nmemories[i], err);
            r->memories[i] = rows;
        } else if (i == r->nkinds) {
            ret = pgst_take_rows(a, res[i], sizeof(struct episode), pgst_read_episode, &rows,
                            &r->nrecent, err);
            r->recent = rows;
        } else if (i == r->nkinds + 1) {
            ret = pgst_take_rows(a, res[i], sizeof(struct resolution), pgst_read_resolution, &rows,
                            &r->nresolutions, err);
            r->resolutions = rows;
        } else {
            ret = pgst_take_rows(a, res[i], sizeof(struct episode), pgst_read_episode, &rows,
                            &r->nsources, err);
            r->sources = rows;
            if (ret == 0) {
                r->nsources = pgst_keep_tenant(r->sources, r->nsources, pgst_tenant_key(tenant));
                r->have_sources = 1;
            }
        }
    }
    return ret;
}

/* The subject's context generation (schema step "context_gen"); 0 without a row. */
static const char SQL_CONTEXT_GEN[] =
    "SELECT gen FROM context_gen WHERE subject_id = $2 AND tenant_key = $1";

int pgst_context_gen(store *st, const struct store_scope *sc, int64_t *gen, struct err *err)
{
    const char *vals[2] = { pgst_tenant_key(sc->tenant), sc->subject };

    return pgst_exec_int64(pgst_downcast(st), SQL_CONTEXT_GEN, 2, vals, gen, err);
}
