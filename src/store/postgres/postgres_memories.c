/* postgres_memories.c - PostgreSQL backend: writing and reading single memories, listing a
 * subject's active memories, and the query-embedding cache (data-model.md §2.5). The cache
 * stores nothing for texts over PG_QCACHE_MAX_TEXT bytes (its primary key could not hold them).
 *
 * source_episode_ids is uuid[] here and a JSON array in struct memory: it goes in through
 * json_array_elements_text (order kept by ordinality) and comes out as array_to_json.
 * confidence goes out as %.17g and comes back in the shortest exact form (the session sets
 * extra_float_digits), so a double round-trips bit for bit. */
#include "store/postgres/postgres-internal.h"

#include <string.h>

#include "util/log.h"
#include "util/ts.h"
#include "util/vcode.h"

static const char SQL_MEM_INSERT[] = PG_MEMORY_INSERT;
static const char SQL_MEM_GET[] =
    "SELECT " PG_MEMORY_COLS " FROM memories WHERE COALESCE(tenant_id, '') = $1 AND id = $2";
/* PG_MEMORY_COLS with the embedding sent only when $5 asks for it. */
#define ACTIVE_SELECT                                                                      \
    "SELECT id, subject_id, tenant_id, kind, content, summary, confidence, valid_from,"    \
    " valid_to, array_to_json(source_episode_ids), metadata, status,"                      \
    " CASE WHEN $5::boolean THEN embedding END, sensitivity_labels, created_at, updated_at" \
    " FROM memories WHERE COALESCE(tenant_id, '') = $1 AND subject_id = $2"               \
    " AND status = 'active' AND (NOT $4::boolean OR embedding IS NOT NULL)"
/* With a kind, `kind = $3` is an equality, so ix_memories_active_kind (subject, kind,
 * created_at DESC, seq) delivers the newest rows in order and LIMIT stops the scan. */
static const char SQL_MEM_ACTIVE_OLDEST[] =
    ACTIVE_SELECT " AND $3::text IS NULL ORDER BY created_at, seq LIMIT $6";
static const char SQL_MEM_ACTIVE_NEWEST[] =
    ACTIVE_SELECT " AND $3::text IS NULL ORDER BY created_at DESC, seq LIMIT $6";
static const char SQL_MEM_KIND_OLDEST[] =
    ACTIVE_SELECT " AND kind = $3::text ORDER BY created_at, seq LIMIT $6";
static const char SQL_MEM_KIND_NEWEST[] =
    ACTIVE_SELECT " AND kind = $3::text ORDER BY created_at DESC, seq LIMIT $6";
/* The vector scan, its results in binary format (scan_row): the vectors arrive as raw
 * bytes, not as hex text twice their size. */
static const char SQL_MEM_VECTORS[] =
    "SELECT id::text, created_at, seq, embedding FROM memories"
    " WHERE COALESCE(tenant_id, '') = $1 AND subject_id = $2 AND status = 'active'"
    " AND embedding IS NOT NULL AND ($3::text IS NULL OR kind = $3::text)";
/* The text scan, newest first, in memory_list_active's order. */
static const char SQL_MEM_TEXT[] =
    "SELECT id::text, content FROM memories"
    " WHERE COALESCE(tenant_id, '') = $1 AND subject_id = $2 AND status = 'active'"
    " AND $3::text IS NULL ORDER BY created_at DESC, seq";
static const char SQL_MEM_TEXT_KIND[] =
    "SELECT id::text, content FROM memories"
    " WHERE COALESCE(tenant_id, '') = $1 AND subject_id = $2 AND status = 'active'"
    " AND kind = $3::text ORDER BY created_at DESC, seq";
/* The same with a substring, in two statements planned for their values at each run (a
 * generic plan cannot know that one subject holds 100,000 memories and the next three). $4 is a LIKE pattern over
 * the ASCII-folded content, exactly search's rule, so the rows are exactly the matches; $5
 * the most wanted. First the newest TEXT_WALK_ROWS rows, filtered (a frequent needle is done
 * there); then the older rows through ix_memories_content_trgm (a rare needle is found
 * without reading the subject). */
#define TEXT_SCOPE                                                                          \
    " COALESCE(tenant_id, '') = $1 AND subject_id = $2 AND status = 'active'"              \
    " AND ($3::text IS NULL OR kind = $3::text)"
#define TEXT_WALK_ROWS "256"
static const char SQL_MEM_TEXT_NEWEST[] =
    "SELECT id::text, content FROM (SELECT id, content, created_at, seq FROM memories"
    " WHERE" TEXT_SCOPE " ORDER BY created_at DESC, seq LIMIT " TEXT_WALK_ROWS ") w"
    " WHERE lower(content COLLATE \"C\") LIKE $4::text ORDER BY created_at DESC, seq LIMIT $5";
static const char SQL_MEM_TEXT_OLDER[] =
    "WITH w AS (SELECT created_at, seq FROM memories WHERE" TEXT_SCOPE
    " ORDER BY created_at DESC, seq OFFSET " TEXT_WALK_ROWS " - 1 LIMIT 1)"
    " SELECT m.id::text, m.content FROM memories m, w WHERE"
    " COALESCE(m.tenant_id, '') = $1 AND m.subject_id = $2 AND m.status = 'active'"
    " AND ($3::text IS NULL OR m.kind = $3::text)"
    " AND lower(m.content COLLATE \"C\") LIKE $4::text"
    " AND (m.created_at < w.created_at OR (m.created_at = w.created_at AND m.seq > w.seq))"
    " ORDER BY m.created_at DESC, m.seq LIMIT $5";
/* By id, the embedding left out. */
static const char SQL_MEM_BY_IDS[] =
    "SELECT id, subject_id, tenant_id, kind, content, summary, confidence, valid_from,"
    " valid_to, array_to_json(source_episode_ids), metadata, status, NULL::bytea,"
    " sensitivity_labels, created_at, updated_at FROM memories"
    " WHERE COALESCE(tenant_id, '') = $1 AND id = ANY($2::uuid[])";
static const char SQL_MEM_SUPERSEDE[] =
    "UPDATE memories SET status = 'superseded', valid_to = $3, updated_at = $4"
    " WHERE COALESCE(tenant_id, '') = $1 AND id = $2";
/* The vector and its compact code (memory_codes, schema step 10) in one statement: $3 is the
 * code, NULL with the vector. */
static const char SQL_MEM_SET_EMBEDDING[] =
    "WITH u AS (UPDATE memories SET embedding = $2 WHERE id = $1"
    " RETURNING id, subject_id, tenant_id, kind, status, created_at, valid_to),"
    " d AS (DELETE FROM memory_codes WHERE memory_id = $1 AND $3::bytea IS NULL)"
    " INSERT INTO memory_codes (memory_id, subject_id, tenant_key, kind, active, created_at,"
    " valid_to, code) SELECT id, subject_id, COALESCE(tenant_id, ''), kind, status = 'active',"
    " created_at, valid_to, $3::bytea FROM u WHERE $3::bytea IS NOT NULL"
    " ON CONFLICT (memory_id) DO UPDATE SET code = EXCLUDED.code";
static const char SQL_MEM_SET_LABELS[] =
    "UPDATE memories SET sensitivity_labels = $3, updated_at = $4"
    " WHERE COALESCE(tenant_id, '') = $1 AND id = $2 RETURNING 1";
static const char SQL_QC_GET[] =
    "SELECT embedding FROM query_embedding_cache"
    " WHERE text_key = $1 AND model = $2 AND expires_at > $3";
static const char SQL_QC_PUT[] =
    "INSERT INTO query_embedding_cache (text_key, model, embedding, expires_at, created_at)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (text_key, model)"
    " DO UPDATE SET embedding = EXCLUDED.embedding, expires_at = EXCLUDED.expires_at";
static const char SQL_QC_PURGE[] = "DELETE FROM query_embedding_cache WHERE expires_at < $1";

/* Run the insert with the vector (if any) already in hex form. */
static int insert_memory(struct pgst_store *ps, const struct memory *m, const char *vec,
                         struct err *err)
{
    struct pgst_memory_text text;
    const char *vals[PG_MEMORY_NPARAMS];

    pgst_memory_params(m, vec, &text, vals);
    return pgst_exec_void(ps, SQL_MEM_INSERT, PG_MEMORY_NPARAMS, vals, err);
}

int pgst_memory_insert(store *st, const struct memory *m, struct err *err)
{
    struct arena *a = NULL;
    const char *vec = NULL;
    int ret;

    if (m->embedding && m->embedding_dim > 0) {
        a = arena_new();
        vec = pgst_vector_param(a, m->embedding, m->embedding_dim);
    }
    ret = insert_memory(pgst_downcast(st), m, vec, err);
    arena_free(a);
    if (ret == 0 && vec)
        ret = pgst_codes_put(pgst_downcast(st), m, 1, err);
    return ret;
}

const char *pgst_memory_active_sql(const struct memory_query *mq)
{
    if (mq->order == MEMORY_NEWEST_FIRST)
        return mq->kind ? SQL_MEM_KIND_NEWEST : SQL_MEM_ACTIVE_NEWEST;
    return mq->kind ? SQL_MEM_KIND_OLDEST : SQL_MEM_ACTIVE_OLDEST;
}

void pgst_memory_active_params(const struct store_scope *sc, const struct memory_query *mq,
                               char lim[PG_INT_LEN],
                               const char *vals[PG_MEMORY_ACTIVE_NPARAMS])
{
    vals[0] = pgst_tenant_key(sc->tenant);
    vals[1] = sc->subject;
    vals[2] = mq->kind;
    vals[3] = mq->flags & MEMORY_WITH_EMBEDDING ? "true" : "false";
    vals[4] = mq->flags & MEMORY_LOAD_EMBEDDING ? "true" : "false";
    vals[5] = pgst_size_param(mq->limit == 0 ? SIZE_MAX : mq->limit, lim);   /* 0: no limit */
}

int pgst_memory_list_active(store *st, struct arena *a, const struct store_scope *sc,
                            const struct memory_query *mq, struct memory_rows *out,
                            struct err *err)
{
    char lim[PG_INT_LEN];
    const char *vals[PG_MEMORY_ACTIVE_NPARAMS];
    void *rows = NULL;
    PGresult *r;
    int ret;

    pgst_memory_active_params(sc, mq, lim, vals);
    r = pgst_exec(pgst_downcast(st), pgst_memory_active_sql(mq), PG_MEMORY_ACTIVE_NPARAMS, vals,
                  err);
    ret = pgst_take_rows(a, r, sizeof(*out->items), pgst_read_memory, &rows, &out->n, err);
    out->items = rows;
    return ret;
}

/* A big-endian 8-byte integer column in binary format; -1 if it is not 8 bytes. */
static int binary_int64(const PGresult *r, int row, int col, int64_t *out)
{
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    uint64_t v = 0;
    int i;

    if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
        return -1;
    for (i = 0; i < 8; i++)
        v = v << 8 | p[i];
    *out = (int64_t)v;
    return 0;
}

/* One row of SQL_MEM_VECTORS in binary format: id as text, created_at as µs since
 * 2000-01-01 (timestamptz), seq, the vector's bytes. */
int pgst_vector_row(void *ctx, const PGresult *r, int row, struct err *err)
{
    static const int64_t pgst_epoch_us = 946684800LL * 1000000;   /* 2000-01-01 in Unix µs */
    const struct pgst_vector_scan *sc = ctx;
    struct memory_vector v;

    v.id = PQgetvalue(r, row, 0);
    v.vec = (const unsigned char *)PQgetvalue(r, row, 3);
    v.bytes = (size_t)PQgetlength(r, row, 3);
    if (binary_int64(r, row, 1, &v.created_at) < 0 || binary_int64(r, row, 2, &v.seq) < 0 ||
        v.created_at > INT64_MAX - pgst_epoch_us) {
        log_write(LOG_ERROR, "postgres: memory vector scan: unexpected column format");
        return err_set(err, ERR_INTERNAL, "database error");
    }
    v.created_at += pgst_epoch_us;
    return sc->fn(sc->ctx, &v, err);
}

int pgst_memory_scan_vectors(store *st, const struct store_scope *sc, const char *kind,
                             memory_vector_fn *fn, void *ctx, struct err *err)
{
    const char *vals[3] = { pgst_tenant_key(sc->tenant), sc->subject, kind };
    struct pgst_vector_scan scan = { fn, ctx };

    return pgst_exec_stream(pgst_downcast(st), SQL_MEM_VECTORS, 3, vals, 1, pgst_vector_row,
                            &scan, err);
}

/* The text scan's callback and its context, for text_row. */
struct text_scan {
    memory_text_fn *fn;
    void *ctx;
    size_t rows;   /* rows handed to fn */
    int next;      /* fn's last answer */
};

static int text_row(void *ctx, const PGresult *r, int row, struct err *err)
{
    struct text_scan *sc = ctx;
    struct memory_text t = { PQgetvalue(r, row, 0), PQgetvalue(r, row, 1) };

    sc->rows++;
    sc->next = sc->fn(sc->ctx, &t, err);
    return sc->next;
}

/* '%' needle '%' with ASCII letters lowered and LIKE's own characters escaped, in a. */
static char *like_pattern(struct arena *a, const char *needle)
{
    size_t n = strlen(needle), i, k = 0;
    char *out = arena_alloc(a, 2 * n + 3), c;

    out[k++] = '%';
    for (i = 0; i < n; i++) {
        c = needle[i];
        if (c == '%' || c == '_' || c == '\\')
            out[k++] = '\\';
        out[k++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    out[k++] = '%';
    out[k] = '\0';
    return out;
}

int pgst_memory_scan_text(store *st, const struct store_scope *sc,
                          const struct memory_text_scan *ts, memory_text_fn *fn, void *ctx,
                          struct err *err)
{
    const char *vals[5] = { pgst_tenant_key(sc->tenant), sc->subject, ts->kind, NULL, NULL };
    struct text_scan scan = { fn, ctx, 0, 0 };
    size_t want = ts->limit ? ts->limit : SIZE_MAX;
    char lim[PG_INT_LEN];
    struct arena *a;
    int ret;

    if (!ts->contains)
        return pgst_exec_stream(pgst_downcast(st), ts->kind ? SQL_MEM_TEXT_KIND : SQL_MEM_TEXT,
                                3, vals, 0, text_row, &scan, err);
    a = arena_new();
    vals[3] = like_pattern(a, ts->contains);
    vals[4] = pgst_size_param(want, lim);
    ret = pgst_exec_stream(pgst_downcast(st), SQL_MEM_TEXT_NEWEST, 5, vals, PGST_REPLAN, text_row, &scan,
                           err);
    if (ret == 0 && scan.next == 0 && scan.rows < want) {
        vals[4] = pgst_size_param(want == SIZE_MAX ? want : want - scan.rows, lim);
        ret = pgst_exec_stream(pgst_downcast(st), SQL_MEM_TEXT_OLDER, 5, vals, PGST_REPLAN, text_row,
                               &scan, err);
    }
    arena_free(a);
    return ret;
}

int pgst_memory_get_many(store *st, struct arena *a, const char *tenant,
                         const struct store_ids *ids, struct memory_rows *out,
                         struct err *err)
{
    void *rows;
    int ret = pgst_rows_by_ids(pgst_downcast(st), a, SQL_MEM_BY_IDS, pgst_tenant_key(tenant),
                               ids, sizeof(*out->items), pgst_read_memory, &rows, &out->n, err);

    out->items = rows;
    return ret;
}

int pgst_memory_supersede(store *st, const char *tenant, const char *id, int64_t valid_to,
                        int64_t updated_at, struct err *err)
{
    char to[TS_STR_LEN], updated[TS_STR_LEN];
    const char *vals[4] = { pgst_tenant_key(tenant), id, pgst_ts_param(valid_to, to),
                            pgst_ts_param(updated_at, updated) };

    if (!pgst_id_ok(id))
        return 0;
    return pgst_exec_void(pgst_downcast(st), SQL_MEM_SUPERSEDE, 4, vals, err);
}

int pgst_memory_set_embedding(store *st, const char *id, const float *vec, size_t dim,
                            struct err *err)
{
    struct arena *a;
    const char *vals[3] = { id, NULL, NULL };
    unsigned char *code;
    int ret;

    if (!pgst_id_ok(id))
        return 0;
    a = arena_new();
    vals[1] = pgst_vector_param(a, vec, dim);
    if (vals[1]) {
        code = arena_alloc(a, vcode_size(dim));
        vcode_encode(vec, dim, code);
        vals[2] = pgst_bytea_param(a, code, vcode_size(dim));
    }
    ret = pgst_exec_void(pgst_downcast(st), SQL_MEM_SET_EMBEDDING, 3, vals, err);
    arena_free(a);
    return ret;
}

int pgst_memory_get(store *st, struct arena *a, const char *tenant, const char *id,
                  struct memory **out, struct err *err)
{
    const char *vals[2] = { pgst_tenant_key(tenant), id };
    void *row;
    int ret;

    *out = NULL;
    if (!pgst_id_ok(id))
        return 0;
    ret = pgst_take_one(a, pgst_exec(pgst_downcast(st), SQL_MEM_GET, 2, vals, err),
                        sizeof(**out), pgst_read_memory, &row, err);
    *out = row;
    return ret;
}

int pgst_memory_set_labels(store *st, const struct label_update *u, int *found,
                           struct err *err)
{
    char updated[TS_STR_LEN];
    const char *vals[4] = { pgst_tenant_key(u->tenant), u->memory_id,
                            pgst_json_param(u->labels_json, "[]"),
                            pgst_ts_param(u->updated_at, updated) };
    PGresult *r;

    *found = 0;
    if (!pgst_id_ok(u->memory_id))
        return 0;
    r = pgst_exec(pgst_downcast(st), SQL_MEM_SET_LABELS, 4, vals, err);
    if (!r)
        return -1;
    *found = PQntuples(r) > 0;
    PQclear(r);
    return 0;
}

/* ---- query-embedding cache ------------------------------------------------------------- */

int pgst_qcache_get(store *st, struct arena *a, struct qcache_lookup *lk, struct err *err)
{
    char when[TS_STR_LEN];
    const char *vals[3] = { lk->text, lk->model, pgst_ts_param(lk->now, when) };
    PGresult *r;

    lk->vec = NULL;
    lk->dim = 0;
    if (strlen(lk->text) > PG_QCACHE_MAX_TEXT)
        return 0;
    r = pgst_exec(pgst_downcast(st), SQL_QC_GET, 3, vals, err);
    if (!r)
        return -1;
    if (PQntuples(r) > 0)   /* the arena copy is the caller's */
        lk->vec = (float *)pgst_col_vector(a, r, 0, 0, &lk->dim);
    PQclear(r);
    return 0;
}

/* The upsert (vec: the vector in hex form) then the purge, in the transaction qcache_put
 * holds. */
static int qcache_write(struct pgst_store *ps, const struct qcache_write *w, const char *vec,
                        struct err *err)
{
    char created[TS_STR_LEN], expires[TS_STR_LEN], purge[TS_STR_LEN];
    const char *put[5] = { w->text, w->model, vec, pgst_ts_param(w->expires_at, expires),
                           pgst_ts_param(w->now, created) };
    const char *del[1] = { pgst_ts_param(w->purge_before, purge) };

    if (pgst_exec_void(ps, SQL_QC_PUT, 5, put, err) < 0)
        return -1;
    return pgst_exec_void(ps, SQL_QC_PURGE, 1, del, err);
}

int pgst_qcache_put(store *st, const struct qcache_write *w, struct err *err)
{
    struct pgst_store *ps = pgst_downcast(st);
    struct arena *a;
    int own, ret;

    if (!w->vec || w->dim == 0)
        return err_set(err, ERR_INVALID, "query cache: empty embedding");
    if (strlen(w->text) > PG_QCACHE_MAX_TEXT) {
        log_write(LOG_DEBUG, "query cache: text of %zu bytes not cached (limit %d)",
                  strlen(w->text), PG_QCACHE_MAX_TEXT);
        return 0;
    }
    if (store_tx_enter(&ps->base, &own, err) < 0)
        return -1;
    a = arena_new();
    ret = qcache_write(ps, w, pgst_vector_param(a, w->vec, w->dim), err);
    arena_free(a);
    return store_tx_leave(&ps->base, own, ret, err);
}
