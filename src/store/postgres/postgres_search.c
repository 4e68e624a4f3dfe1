/* postgres_search.c - PostgreSQL backend: the search engine's own reads (issue 18): ranked
 * full text over the 'simple' tsvector of memories.content (ix_memories_content_tsv, schema
 * step 6). */
#include "store/postgres/postgres-internal.h"

#include <string.h>

#include "util/buf.h"

/* $4: the terms OR'ed as a tsquery text ('t1' | 't2' …); $5: the terms one by one, a text[]
 * literal of 't' strings. Planned at every run (PGST_REPLAN): a generic plan cannot know how
 * many memories one subject holds, nor how common a term is. */
#define RANK_TSV "to_tsvector('simple'::regconfig, m.content)"
static const char SQL_MEM_RANK[] =
    "SELECT m.id::text FROM memories m"
    " WHERE COALESCE(m.tenant_id, '') = $1 AND m.subject_id = $2 AND m.status = 'active'"
    " AND ($3::text IS NULL OR m.kind = $3::text)"
    " AND " RANK_TSV " @@ to_tsquery('simple'::regconfig, $4)"
    " ORDER BY (SELECT count(*) FROM unnest($5::text[]) w"
    " WHERE " RANK_TSV " @@ to_tsquery('simple'::regconfig, w)) DESC,"
    " ts_rank_cd(" RANK_TSV ", to_tsquery('simple'::regconfig, $4)) DESC,"
    " m.created_at DESC, m.seq LIMIT $6";

/* The ids as they arrive, into an arena array. */
struct rank_rows {
    struct arena *a;
    const char **ids;
    size_t n, cap;
};

static int rank_row(void *ctx, const PGresult *r, int row, struct err *err)
{
    struct rank_rows *rr = ctx;

    (void)err;
    if (rr->n < rr->cap)
        rr->ids[rr->n++] = arena_strdup(rr->a, PQgetvalue(r, row, 0));
    return rr->n == rr->cap;
}

int pgst_memory_rank_text(store *st, struct arena *a, const struct store_scope *sc,
                          const struct memory_rank_query *q, struct store_ids *out,
                          struct err *err)
{
    struct rank_rows rr = { a, arena_calloc(a, q->limit + 1, sizeof(char *)), 0, q->limit };
    struct buf tsq = BUF_INIT, list = BUF_INIT;
    char lim[PG_INT_LEN];
    const char *vals[6];
    size_t i;
    int ret;

    /* Terms hold no ASCII punctuation (struct memory_rank_query), so neither form needs
     * escaping. */
    buf_putc(&list, '{');
    for (i = 0; i < q->nterms; i++) {
        buf_printf(&tsq, "%s'%s'", i ? " | " : "", q->terms[i]);
        buf_printf(&list, "%s'%s'", i ? "," : "", q->terms[i]);
    }
    buf_putc(&list, '}');
    vals[0] = pgst_tenant_key(sc->tenant);
    vals[1] = sc->subject;
    vals[2] = q->kind;
    vals[3] = tsq.data;
    vals[4] = list.data;
    vals[5] = pgst_size_param(q->limit, lim);
    ret = pgst_exec_stream(pgst_downcast(st), SQL_MEM_RANK, 6, vals, PGST_REPLAN, rank_row, &rr,
                           err);
    buf_release(&tsq);
    buf_release(&list);
    out->items = rr.ids;
    out->n = ret < 0 ? 0 : rr.n;
    return ret;
}
