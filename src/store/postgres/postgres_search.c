/* postgres_search.c - PostgreSQL backend: the search engine's own reads (issue 18): ranked
 * full text over the 'simple' tsvector of memories.content (ix_memories_content_tsv, schema
 * step 9). */
#include "store/postgres/postgres-internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/vcode.h"
#include "util/xalloc.h"

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
                          const struct memory_rank_query *q, struct store_ids *out, struct err *err)
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
    ret =
        pgst_exec_stream(pgst_downcast(st), SQL_MEM_RANK, 6, vals, PGST_REPLAN, rank_row, &rr, err);
    buf_release(&tsq);
    buf_release(&list);
    out->items = rr.ids;
    out->n = ret < 0 ? 0 : rr.n;
    return ret;
}

/* The text indexes (pg_trgm and tsvector GIN, schema step 9) are maintained by the writes
 * themselves (GIN defers into its pending list on its own): nothing to bring up to date. */
int pgst_search_text_sync(store *st, struct err *err)
{
    (void)st;
    (void)err;
    return 0;
}

/* The codes are written with every vector (pgst_memory_set_embeddings, insert, import) or by
 * pgst_codes_fill after a set-based copy: nothing to bring up to date. */
int pgst_search_codes_sync(store *st, struct err *err)
{
    (void)st;
    (void)err;
    return 0;
}

/* ---- compact vector codes (memory_codes, schema step 10) ---- */

static const char SQL_CODES_GEN[] =
    "SELECT gen FROM memory_codes_gen WHERE subject_id = $2 AND tenant_key = $1";
static const char SQL_CODES_SCAN[] =
    "SELECT memory_id::text, code, kind FROM memory_codes WHERE subject_id = $2 AND tenant_key = $1"
    " AND active AND ($3::text IS NULL OR kind = $3::text)";
static const char SQL_VECTORS_BY_IDS[] =
    "SELECT id::text, created_at, seq, embedding FROM memories"
    " WHERE COALESCE(tenant_id, '') = $1 AND id = ANY($2::uuid[]) AND embedding IS NOT NULL";
/* $1 ids; $2 their codes end to end in one bytea, $3 bytes each: one row each, its filter
 * columns from the memory row. One hex bytea instead of a bytea[] literal: the server parses
 * hex at a few ns a character, an array literal of quoted hex elements ten times slower (a
 * batch of 256 vectors spent 87 ms in bind). */
#define CODES_SPLIT(col, param, width)                                                   \
    "substring(" param "::bytea FROM (c.n::integer - 1) * " width "::integer + 1 FOR "  \
    width "::integer) AS " col
static const char SQL_CODES_PUT[] =
    "INSERT INTO memory_codes (memory_id, subject_id, tenant_key, kind, active, created_at,"
    " valid_to, code) SELECT m.id, m.subject_id, COALESCE(m.tenant_id, ''), m.kind,"
    " m.status = 'active', m.created_at, m.valid_to, c.code"
    " FROM (SELECT c.id, " CODES_SPLIT("code", "$2", "$3")
    " FROM unnest($1::uuid[]) WITH ORDINALITY AS c (id, n)) c JOIN memories m ON m.id = c.id"
    " ON CONFLICT (memory_id) DO UPDATE SET code = EXCLUDED.code";
/* Memories with a vector and no code, a batch at a time: of one scope, or of every subject. */
#define CODES_FILL_BATCH "500"
static const char SQL_CODES_MISSING_SCOPE[] =
    "SELECT m.id::text, m.embedding FROM memories m WHERE COALESCE(m.tenant_id, '') = $1"
    " AND m.subject_id = $2 AND m.embedding IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM memory_codes c WHERE c.memory_id = m.id)"
    " LIMIT " CODES_FILL_BATCH;
static const char SQL_CODES_MISSING_ALL[] =
    "SELECT m.id::text, m.embedding FROM memories m WHERE m.embedding IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM memory_codes c WHERE c.memory_id = m.id)"
    " LIMIT " CODES_FILL_BATCH;

struct code_scan {
    memory_code_fn *fn;
    void *ctx;
};

static int code_row(void *ctx, const PGresult *r, int row, struct err *err)
{
    const struct code_scan *cs = ctx;
    struct memory_code c = { PQgetvalue(r, row, 0), PQgetvalue(r, row, 2),
                             (const unsigned char *)PQgetvalue(r, row, 1),
                             (size_t)PQgetlength(r, row, 1) };

    return cs->fn(cs->ctx, &c, err);
}

int pgst_memory_scan_codes(store *st, const struct store_scope *sc,
                           const struct memory_code_scan *cs, memory_code_fn *fn, void *ctx,
                           struct err *err)
{
    const char *vals[3] = { pgst_tenant_key(sc->tenant), sc->subject, cs->kind };
    struct code_scan scan = { fn, ctx };

    return pgst_exec_stream(pgst_downcast(st), SQL_CODES_SCAN, 3, vals, PGST_BINARY, code_row,
                            &scan, err);
}

int pgst_memory_codes_gen(store *st, const struct store_scope *sc, int64_t *gen, struct err *err)
{
    const char *vals[2] = { pgst_tenant_key(sc->tenant), sc->subject };

    return pgst_exec_int64(pgst_downcast(st), SQL_CODES_GEN, 2, vals, gen, err);
}

int pgst_memory_vectors_by_ids(store *st, const char *tenant, const struct store_ids *ids,
                               memory_vector_fn *fn, void *ctx, struct err *err)
{
    struct pgst_vector_scan scan = { fn, ctx };
    struct buf list = BUF_INIT;
    const char *vals[2] = { pgst_tenant_key(tenant), NULL };
    int ret = 0;

    if (pgst_ids_array(&list, ids->items, ids->n) > 0) {
        vals[1] = list.data;
        ret = pgst_exec_stream(pgst_downcast(st), SQL_VECTORS_BY_IDS, 2, vals, PGST_BINARY,
                               pgst_vector_row, &scan, err);
    }
    buf_release(&list);
    return ret;
}

/* Append bytes to a bytea's hex text (opened with "\\x"). */
static void put_hex(struct buf *b, const unsigned char *p, size_t bytes)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < bytes; i++) {
        buf_putc(b, digits[p[i] >> 4]);
        buf_putc(b, digits[p[i] & 0xf]);
    }
}

/* Append dim floats to a bytea's hex text, little-endian float32 (the stored form). */
static void put_vector(struct buf *b, const float *v, size_t dim)
{
    unsigned char le[4];
    uint32_t u;
    size_t k;

    for (k = 0; k < dim; k++) {
        memcpy(&u, &v[k], sizeof(u));
        le[0] = (unsigned char)u;
        le[1] = (unsigned char)(u >> 8);
        le[2] = (unsigned char)(u >> 16);
        le[3] = (unsigned char)(u >> 24);
        put_hex(b, le, 4);
    }
}

/* The codes of one batch: ids as a uuid[] literal, the codes end to end as one hex bytea,
 * all of width bytes (codes of other widths go in their own batch). */
struct code_batch {
    struct buf ids, codes;
    size_t n, width;
};

static void batch_start(struct code_batch *cb, size_t width)
{
    buf_reset(&cb->ids);
    buf_reset(&cb->codes);
    buf_putc(&cb->ids, '{');
    buf_puts(&cb->codes, "\\x");
    cb->n = 0;
    cb->width = width;
}

static void batch_add(struct code_batch *cb, const char *id, const unsigned char *code)
{
    buf_printf(&cb->ids, "%s%s", cb->n ? "," : "", id);
    put_hex(&cb->codes, code, cb->width);
    cb->n++;
}


/* Write the batch's codes (nothing for none). */
static int batch_write(struct pgst_store *ps, struct code_batch *cb, struct err *err)
{
    char width[PG_INT_LEN];
    const char *vals[3];

    if (cb->n == 0)
        return 0;
    buf_putc(&cb->ids, '}');
    vals[0] = cb->ids.data;
    vals[1] = cb->codes.data;
    vals[2] = pgst_size_param(cb->width, width);
    return pgst_exec_void(ps, SQL_CODES_PUT, 3, vals, err);
}

/* Encode one vector (NULL or dim 0: the empty code) and add it to cb, starting a new batch
 * when its width differs from the batch's; *code is the caller's scratch, grown as needed. */
static int batch_put(struct pgst_store *ps, struct code_batch *cb, unsigned char **code,
                     size_t *cap, const char *id, const float *vec, size_t dim, struct err *err)
{
    size_t width = vcode_size(vec ? dim : 0);
    int ret = 0;

    if (width > *cap) {
        *cap = width;
        *code = xrealloc(*code, *cap);
    }
    if (width != cb->width) {
        ret = batch_write(ps, cb, err);
        batch_start(cb, width);
    }
    vcode_encode(vec, vec ? dim : 0, *code);
    batch_add(cb, id, *code);
    return ret;
}

static void batch_release(struct code_batch *cb)
{
    buf_release(&cb->ids);
    buf_release(&cb->codes);
}

int pgst_codes_put(struct pgst_store *ps, const struct memory *mems, size_t n, struct err *err)
{
    struct code_batch cb = { BUF_INIT, BUF_INIT, 0, 0 };
    unsigned char *code = NULL;
    size_t i, cap = 0;
    int ret = 0;

    for (i = 0; ret == 0 && i < n; i++) {
        if (!mems[i].embedding || mems[i].embedding_dim == 0)
            continue;
        ret = batch_put(ps, &cb, &code, &cap, mems[i].id, mems[i].embedding,
                        mems[i].embedding_dim, err);
    }
    if (ret == 0)
        ret = batch_write(ps, &cb, err);
    free(code);
    batch_release(&cb);
    return ret;
}

/* One batch of pgst_codes_fill: the codes of the rows of r. */
static int codes_from_rows(struct pgst_store *ps, PGresult *r, struct err *err)
{
    struct code_batch cb = { BUF_INIT, BUF_INIT, 0, 0 };
    unsigned char *code = NULL;
    size_t dim, cap = 0;
    struct arena *a = arena_new();
    const float *vec;
    int i, ret = 0;

    for (i = 0; ret == 0 && i < PQntuples(r); i++) {
        vec = pgst_col_vector(a, r, i, 1, &dim);
        ret = batch_put(ps, &cb, &code, &cap, PQgetvalue(r, i, 0), vec, vec ? dim : 0, err);
    }
    if (ret == 0)
        ret = batch_write(ps, &cb, err);
    free(code);
    arena_free(a);
    batch_release(&cb);
    return ret;
}

int pgst_codes_fill(struct pgst_store *ps, const struct store_scope *sc, struct err *err)
{
    const char *vals[2] = { sc ? pgst_tenant_key(sc->tenant) : NULL, sc ? sc->subject : NULL };
    PGresult *r;
    int rows, ret;

    do {
        r = sc ? pgst_exec(ps, SQL_CODES_MISSING_SCOPE, 2, vals, err)
               : pgst_exec(ps, SQL_CODES_MISSING_ALL, 0, NULL, err);
        if (!r)
            return -1;
        rows = PQntuples(r);
        ret = rows > 0 ? codes_from_rows(ps, r, err) : 0;
        PQclear(r);
    } while (ret == 0 && rows > 0);
    return ret;
}

/* Vectors and their codes for many memories: one UPDATE and one upsert of codes per batch.
 * $1 the ids; $2 the vectors and $4 the codes, each end to end in one hex bytea, $3 and $5
 * bytes each (see SQL_CODES_PUT). */
#define SET_EMBEDDINGS_BATCH 256
static const char SQL_SET_EMBEDDINGS[] =
    "WITH v AS MATERIALIZED (SELECT c.id, " CODES_SPLIT("vec", "$2", "$3") ", "
    CODES_SPLIT("code", "$4", "$5") " FROM unnest($1::uuid[]) WITH ORDINALITY AS c (id, n)),"
    " u AS (UPDATE memories m SET embedding = v.vec FROM v WHERE m.id = v.id"
    " RETURNING m.id, m.subject_id, m.tenant_id, m.kind, m.status, m.created_at, m.valid_to)"
    " INSERT INTO memory_codes (memory_id, subject_id, tenant_key, kind, active, created_at,"
    " valid_to, code) SELECT u.id, u.subject_id, COALESCE(u.tenant_id, ''), u.kind,"
    " u.status = 'active', u.created_at, u.valid_to, v.code FROM u JOIN v ON v.id = u.id"
    " ON CONFLICT (memory_id) DO UPDATE SET code = EXCLUDED.code";

int pgst_memory_set_embeddings(store *st, const char *const *ids, const float *vecs, size_t n,
                               size_t dim, struct err *err)
{
    struct pgst_store *ps = pgst_downcast(st);
    struct code_batch cb = { BUF_INIT, BUF_INIT, 0, 0 };
    unsigned char *code = xmalloc(vcode_size(dim));
    struct buf vl = BUF_INIT;
    char vwidth[PG_INT_LEN], cwidth[PG_INT_LEN];
    const char *vals[5];
    size_t i, start;
    int own, ret = 0;

    if (store_tx_enter(st, &own, err) < 0) {
        free(code);
        return -1;
    }
    for (start = 0; ret == 0 && start < n; start += SET_EMBEDDINGS_BATCH) {
        batch_start(&cb, vcode_size(dim));
        buf_reset(&vl);
        buf_puts(&vl, "\\x");
        for (i = start; i < n && i < start + SET_EMBEDDINGS_BATCH; i++) {
            if (!pgst_id_ok(ids[i]))
                continue;
            put_vector(&vl, vecs + i * dim, dim);
            vcode_encode(vecs + i * dim, dim, code);
            batch_add(&cb, ids[i], code);
        }
        if (cb.n == 0)
            continue;
        buf_putc(&cb.ids, '}');
        vals[0] = cb.ids.data;
        vals[1] = vl.data;
        vals[2] = pgst_size_param(dim * sizeof(float), vwidth);
        vals[3] = cb.codes.data;
        vals[4] = pgst_size_param(cb.width, cwidth);
        ret = pgst_exec_void(ps, SQL_SET_EMBEDDINGS, 5, vals, err);
    }
    ret = store_tx_leave(st, own, ret, err);
    free(code);
    batch_release(&cb);
    buf_release(&vl);
    return ret;
}
