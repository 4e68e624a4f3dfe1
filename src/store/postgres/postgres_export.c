/* postgres_export.c - PostgreSQL backend: subject export and import (spec/backup-snapshots.md
 * §1, §3): counts and keyset pages of a subject's rows ordered by (created_at, id), which ids
 * are already taken, and inserting rows exactly as given: episodes pipelined
 * (pgst_exec_rows), memories one INSERT of column arrays per batch. */
#include "store/postgres/postgres-internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/ts.h"
#include "util/vcode.h"
#include "util/xalloc.h"

/* $1 subject, $2 every tenant (true) or only $3 ('' = no tenant); the same scope below. */
#define SCOPE "subject_id = $1 AND ($2::boolean OR COALESCE(tenant_id, '') = $3)"

static const char SQL_COUNT[] =
    "SELECT (SELECT count(*) FROM episodes WHERE " SCOPE "),"
    " (SELECT count(*) FROM memories WHERE " SCOPE ")";
/* Pages walk ix_*_subject_created_id; timestamptz then uuid order is the text order of the
 * fixed-width timestamp and the lower-case UUID, so both backends page alike. */
static const char SQL_EP_FIRST[] =
    "SELECT " PG_EPISODE_COLS " FROM episodes WHERE " SCOPE
    " ORDER BY created_at, id LIMIT $4";
static const char SQL_EP_NEXT[] =
    "SELECT " PG_EPISODE_COLS " FROM episodes WHERE " SCOPE
    " AND (created_at, id) > ($5::timestamptz, $6::uuid) ORDER BY created_at, id LIMIT $4";
static const char SQL_MEM_FIRST[] =
    "SELECT " PG_MEMORY_COLS " FROM memories WHERE " SCOPE
    " ORDER BY created_at, id LIMIT $4";
static const char SQL_MEM_NEXT[] =
    "SELECT " PG_MEMORY_COLS " FROM memories WHERE " SCOPE
    " AND (created_at, id) > ($5::timestamptz, $6::uuid) ORDER BY created_at, id LIMIT $4";
/* The ids travel as one uuid[] parameter: one round trip for any number. */
static const char SQL_EP_TAKEN[] = "SELECT count(*) FROM episodes WHERE id = ANY($1::uuid[])";
static const char SQL_MEM_TAKEN[] = "SELECT count(*) FROM memories WHERE id = ANY($1::uuid[])";
/* No ON CONFLICT: an existing id must fail the import, not vanish from it. */
static const char SQL_EP_ADD[] =
    "INSERT INTO episodes (" PG_EPISODE_COLS ")"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

int pgst_export_count(store *st, const struct store_scope *sc, struct row_counts *out,
                      struct err *err)
{
    const char *vals[3] = { sc->subject, sc->all_tenants ? "true" : "false",
                            pgst_tenant_key(sc->tenant) };
    PGresult *r = pgst_exec(pgst_downcast(st), SQL_COUNT, 3, vals, err);

    memset(out, 0, sizeof(*out));
    if (!r)
        return -1;
    out->episodes = pgst_col_int(r, 0, 0);
    out->memories = pgst_col_int(r, 0, 1);
    PQclear(r);
    return 0;
}

/* One page of rows: sql[0] for the first page, sql[1] after the cursor's key. */
static int read_page(struct pgst_store *ps, struct arena *a, const char *const sql[2],
                     const struct store_scope *sc, const struct store_cursor *cur, size_t size,
                     pgst_row_reader *read, void **out, size_t *n, struct err *err)
{
    char lim[PG_INT_LEN], after[TS_STR_LEN];
    const char *vals[6] = {
        sc->subject, sc->all_tenants ? "true" : "false", pgst_tenant_key(sc->tenant),
        pgst_size_param(cur->limit, lim), pgst_ts_param(cur->after_created, after),
        cur->after_id,
    };
    PGresult *r;
    int ret;

    *out = arena_calloc(a, 1, size);
    *n = 0;
    if (cur->after_id && (!pgst_id_ok(cur->after_id) || cur->after_created == TS_NULL))
        return err_set(err, ERR_INVALID, "export page key is not a row's (created_at, id)");
    r = pgst_exec(ps, sql[cur->after_id != NULL], cur->after_id ? 6 : 4, vals, err);
    if (!r)
        return -1;
    ret = pgst_collect_rows(a, r, size, read, out, n, err);
    PQclear(r);
    return ret;
}

int pgst_export_episodes(store *st, struct arena *a, const struct store_scope *sc,
                         const struct store_cursor *cur, struct episode_rows *out,
                         struct err *err)
{
    static const char *const sql[2] = { SQL_EP_FIRST, SQL_EP_NEXT };
    void *rows = NULL;
    int ret;

    ret = read_page(pgst_downcast(st), a, sql, sc, cur, sizeof(*out->items), pgst_read_episode,
                    &rows, &out->n, err);
    out->items = rows;
    return ret;
}

int pgst_export_memories(store *st, struct arena *a, const struct store_scope *sc,
                         const struct store_cursor *cur, struct memory_rows *out,
                         struct err *err)
{
    static const char *const sql[2] = { SQL_MEM_FIRST, SQL_MEM_NEXT };
    void *rows = NULL;
    int ret;

    ret = read_page(pgst_downcast(st), a, sql, sc, cur, sizeof(*out->items), pgst_read_memory,
                    &rows, &out->n, err);
    out->items = rows;
    return ret;
}

/* ---- ids already taken ---------------------------------------------------------------- */

/* How many rows sql ($1 = a uuid[]) counts for the canonical ids among ids; any other string
 * could never have been stored, and would make the uuid cast fail. */
static int count_taken(store *st, const char *sql, const char *const *ids, size_t n,
                       int64_t *count, struct err *err)
{
    struct buf list = BUF_INIT;
    const char *vals[1];
    size_t used;
    int ret = 0;

    *count = 0;
    used = pgst_ids_array(&list, ids, n);   /* an id that is not canonical was never stored */
    vals[0] = list.data;
    if (used > 0)
        ret = pgst_exec_int64(pgst_downcast(st), sql, 1, vals, count, err);
    buf_release(&list);
    return ret;
}

int pgst_episode_ids_taken(store *st, const char *const *ids, size_t n, int64_t *count,
                         struct err *err)
{
    return count_taken(st, SQL_EP_TAKEN, ids, n, count, err);
}

int pgst_memory_ids_taken(store *st, const char *const *ids, size_t n, int64_t *count,
                        struct err *err)
{
    return count_taken(st, SQL_MEM_TAKEN, ids, n, count, err);
}

/* ---- inserting rows as given, pipelined ------------------------------------------------ */

/* The parameters of SQL_EP_ADD for row i, as postgres_episodes.c sends them; their text in a
 * (pgst_exec_rows resets it after each row). */
static void episode_params(const void *rows, size_t i, struct arena *a, const char **vals)
{
    pgst_episode_params((const struct episode *)rows + i,
                      arena_alloc(a, sizeof(struct pgst_episode_text)), vals);
}

static const char *episode_id(const void *rows, size_t i)
{
    return ((const struct episode *)rows)[i].id;
}

/* One kind of row insert_many writes. */
struct row_kind {
    const char *noun;                                /* "episode": for messages */
    const char *sql;                                 /* the INSERT */
    int nparams;
    void (*params)(const void *rows, size_t i, struct arena *a, const char **vals);
    const char *(*id)(const void *rows, size_t i);
};

static const struct row_kind episode_rows = {
    "episode", SQL_EP_ADD, PG_EPISODE_NPARAMS, episode_params, episode_id,
};

/* Insert the n rows, all or nothing (inside the caller's transaction, else in one of ours).
 * Ids are checked before the first write. */
static int insert_many(store *st, const struct row_kind *k, const void *rows, size_t n,
                       struct err *err)
{
    struct pgst_store *ps = pgst_downcast(st);
    const struct pgst_rows batch = { rows, n, k->params };
    size_t i, failed;
    int own, ret;

    for (i = 0; i < n; i++)
        if (!pgst_id_ok(k->id(rows, i)))
            return err_set(err, ERR_INVALID, "%s id '%s' is not a lower-case UUID", k->noun,
                           k->id(rows, i));
    if (n == 0)
        return 0;
    if (store_tx_enter(&ps->base, &own, err) < 0)
        return -1;
    ret = pgst_exec_rows(ps, k->sql, k->nparams, &batch, &failed, err);
    if (ret < 0 && err->kind == ERR_CONFLICT && failed < n)
        err_set(err, ERR_CONFLICT, "%s '%s' already exists", k->noun, k->id(rows, failed));
    return store_tx_leave(&ps->base, own, ret, err);
}

int pgst_episode_insert_many(store *st, const struct episode *eps, size_t n, struct err *err)
{
    return insert_many(st, &episode_rows, eps, n, err);
}

/* ---- memories: one INSERT per batch ----
 * A compile, an import or a clone writes its memories as one INSERT per batch of MEM_BATCH
 * rows, not one statement each: each statement costs its own execution and the statement
 * triggers (subject_stats) fire once per statement; and the codes of their vectors go in the
 * same statement. The rows travel column by column, one array parameter per column in binary
 * format (SQL_MEM_INSERT_ARRAYS): the statement's text is the same for any number of rows, so
 * it is prepared once per connection. The multi-row VALUES list it replaces (16 parameters a
 * row, a new text for every batch) cost the server more to parse, plan and copy than to run
 * (a quarter of a compile's instructions in the PostgreSQL backend, docs/PERFORMANCE.md).
 * 128 rows a batch: with 1,024 the server's page faults on its multi-megabyte parameters
 * (38,800 against 17,900 for a 3-compile run) cost more system time than the fewer
 * statements saved; 64 and 256 measured the same CPU as 128. */
#define MEM_BATCH 128
static const char SQL_MEM_IDS_TAKEN[] =
    "SELECT id::text FROM memories WHERE id = ANY($1::uuid[]) ORDER BY 1";

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Rows of one id ordered by id, then by index. */
struct id_at {
    const char *id;
    size_t i;
};

static int cmp_id_at(const void *x, const void *y)
{
    const struct id_at *p = x, *q = y;
    int c = strcmp(p->id, q->id);

    return c ? c : (p->i > q->i) - (p->i < q->i);
}

/* The first row, in order, whose id is taken, by a stored row (taken: sorted, ntaken) or by an
 * earlier row of mems; n when none is: the row a one-statement-a-row insert would fail on. */
static size_t first_clash(struct arena *a, const struct memory *mems, size_t n,
                          const char **taken, size_t ntaken)
{
    struct id_at *by_id = arena_alloc(a, n * sizeof(*by_id));
    size_t i, clash = n;

    for (i = 0; i < n; i++)
        by_id[i] = (struct id_at){ mems[i].id, i };
    qsort(by_id, n, sizeof(*by_id), cmp_id_at);
    for (i = 1; i < n; i++)
        if (strcmp(by_id[i].id, by_id[i - 1].id) == 0 && by_id[i].i < clash)
            clash = by_id[i].i;
    for (i = 0; i < clash; i++) {
        const char *id = mems[i].id;

        if (ntaken && bsearch(&id, taken, ntaken, sizeof(*taken), cmp_str))
            return i;
    }
    return clash;
}

/* Which ids of mems[0..n) are stored already: sorted, into *taken (arena). */
static int ids_taken(struct pgst_store *ps, struct arena *a, const struct memory *mems,
                     size_t n, const char ***taken, size_t *ntaken, struct err *err)
{
    struct buf ids = BUF_INIT;
    const char *vals[1];
    PGresult *r;
    size_t i;

    buf_putc(&ids, '{');
    for (i = 0; i < n; i++)
        buf_printf(&ids, "%s%s", i ? "," : "", mems[i].id);
    buf_putc(&ids, '}');
    vals[0] = ids.data;
    r = pgst_exec(ps, SQL_MEM_IDS_TAKEN, 1, vals, err);
    buf_release(&ids);
    *ntaken = 0;
    if (!r)
        return -1;
    *taken = arena_alloc(a, ((size_t)PQntuples(r) + 1) * sizeof(**taken));
    for (i = 0; i < (size_t)PQntuples(r); i++)
        (*taken)[(*ntaken)++] = arena_strdup(a, PQgetvalue(r, (int)i, 0));
    PQclear(r);
    return 0;
}

/* The columns of one batch as PostgreSQL binary arrays (array_recv's format: ndim, has-null
 * flag, element type, then per dimension its size and lower bound, then each element as a
 * length, -1 for NULL, and its bytes). */
#define PG_OID_TEXT 25
#define PG_OID_BYTEA 17
#define MEM_NCOLS (PG_MEMORY_NPARAMS + 1)   /* the memory's 16 columns, then its code */
#define MEM_EMBEDDING_COL 12                /* the vector, 0-based */

static void put_be32(struct buf *b, uint32_t v)
{
    unsigned char x[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 8), (unsigned char)v };

    buf_append(b, (const char *)x, sizeof(x));
}

/* Start a one-dimensional array of n elements of type oid; the has-null flag is patched by
 * array_finish. */
static void array_start(struct buf *b, uint32_t oid, size_t n)
{
    put_be32(b, 1);
    put_be32(b, 0);
    put_be32(b, oid);
    put_be32(b, (uint32_t)n);
    put_be32(b, 1);
}

static void array_put(struct buf *b, const char *v, size_t len, int *has_null)
{
    if (!v) {
        put_be32(b, UINT32_MAX);   /* -1 */
        *has_null = 1;
        return;
    }
    put_be32(b, (uint32_t)len);
    buf_append(b, v, len);
}

static void array_finish(struct buf *b, int has_null)
{
    b->data[7] = (char)(has_null != 0);
}

/* The vector as its stored bytes (little-endian float32) and its compact code, straight from
 * memory: binary, as hex text cost the server a decode of 12 KB per vector at bind time and
 * this process the encode. */
static void put_vector(struct buf *b, const struct memory *m)
{
    unsigned char *w;

    put_be32(b, (uint32_t)(4 * m->embedding_dim));
    buf_grow(b, 4 * m->embedding_dim);
    w = (unsigned char *)b->data + b->len;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(w, m->embedding, 4 * m->embedding_dim);   /* already the stored byte order */
#else
    {
        uint32_t u;
        size_t k;

        for (k = 0; k < m->embedding_dim; k++) {
            memcpy(&u, &m->embedding[k], sizeof(u));
            *w++ = (unsigned char)u;
            *w++ = (unsigned char)(u >> 8);
            *w++ = (unsigned char)(u >> 16);
            *w++ = (unsigned char)(u >> 24);
        }
    }
#endif
    b->len += 4 * m->embedding_dim;
    b->data[b->len] = '\0';
}

static void put_code(struct buf *b, const struct memory *m)
{
    size_t size = vcode_size(m->embedding_dim);

    put_be32(b, (uint32_t)size);
    buf_grow(b, size);
    vcode_encode(m->embedding, m->embedding_dim, (unsigned char *)b->data + b->len);
    b->len += size;
    b->data[b->len] = '\0';
}

static int has_vector(const struct memory *m)
{
    return m->embedding && m->embedding_dim > 0;
}

/* The rows in the order given (the set-returning functions in the select list run in
 * step, one row at a time: nothing is materialised or sorted, unlike unnest in FROM, which
 * stores its rows, vectors and all, in a tuple store first), each column cast from text as the
 * one-row statement's parameters are; then the codes of the rows with a vector (memory_codes,
 * as pgst_codes_put writes them). */
static const char SQL_MEM_INSERT_ARRAYS[] =
    "WITH m AS (" PG_MEMORY_INSERT_INTO " SELECT r.id::uuid, r.subject_id, r.tenant_id, r.kind,"
    " r.content, r.summary, r.confidence::float8, r.valid_from::timestamptz,"
    " r.valid_to::timestamptz, ARRAY(SELECT e::uuid FROM json_array_elements_text(r.sources::json)"
    " WITH ORDINALITY AS t(e, i) ORDER BY i), r.metadata::json, r.status, r.embedding,"
    " r.labels::json, r.created_at::timestamptz, r.updated_at::timestamptz"
    " FROM (SELECT unnest($1::text[]) AS id, unnest($2::text[]) AS subject_id,"
    " unnest($3::text[]) AS tenant_id, unnest($4::text[]) AS kind,"
    " unnest($5::text[]) AS content, unnest($6::text[]) AS summary,"
    " unnest($7::text[]) AS confidence, unnest($8::text[]) AS valid_from,"
    " unnest($9::text[]) AS valid_to, unnest($10::text[]) AS sources,"
    " unnest($11::text[]) AS metadata, unnest($12::text[]) AS status,"
    " unnest($13::bytea[]) AS embedding, unnest($14::text[]) AS labels,"
    " unnest($15::text[]) AS created_at, unnest($16::text[]) AS updated_at) r"
    " RETURNING id, subject_id, tenant_id, kind, status, created_at, valid_to)"
    " INSERT INTO memory_codes (memory_id, subject_id, tenant_key, kind, active, created_at,"
    " valid_to, code) SELECT m.id, m.subject_id, COALESCE(m.tenant_id, ''), m.kind,"
    " m.status = 'active', m.created_at, m.valid_to, c.code FROM m JOIN"
    " (SELECT unnest($1::text[])::uuid AS id, unnest($17::bytea[]) AS code) c ON c.id = m.id"
    " WHERE c.code IS NOT NULL";

/* mems[0..n) (n <= MEM_BATCH) in one statement, with the compact codes of their vectors. */
static int insert_memory_batch(struct pgst_store *ps, const struct memory *mems, size_t n,
                               struct err *err)
{
    struct pgst_memory_text *text = xcalloc(n, sizeof(*text));
    const char **row = xcalloc(n * PG_MEMORY_NPARAMS, sizeof(*row));
    struct buf cols[MEM_NCOLS];
    const char *vals[MEM_NCOLS];
    int lengths[MEM_NCOLS], formats[MEM_NCOLS];
    size_t i, c;
    int ret;

    for (i = 0; i < n; i++)
        pgst_memory_params(&mems[i], NULL, &text[i], row + i * PG_MEMORY_NPARAMS);
    for (c = 0; c < MEM_NCOLS; c++) {
        int has_null = 0;

        cols[c] = (struct buf)BUF_INIT;
        array_start(&cols[c], c == MEM_EMBEDDING_COL || c == PG_MEMORY_NPARAMS ? PG_OID_BYTEA
                                                                             : PG_OID_TEXT,
                    n);
        for (i = 0; i < n; i++) {
            const char *v = c < PG_MEMORY_NPARAMS ? row[i * PG_MEMORY_NPARAMS + c] : NULL;

            if ((c == MEM_EMBEDDING_COL || c == PG_MEMORY_NPARAMS) && has_vector(&mems[i]))
                (c == MEM_EMBEDDING_COL ? put_vector : put_code)(&cols[c], &mems[i]);
            else
                array_put(&cols[c], v, v ? strlen(v) : 0, &has_null);
        }
        array_finish(&cols[c], has_null);
        vals[c] = cols[c].data;
        lengths[c] = (int)cols[c].len;
        formats[c] = 1;
    }
    ret = pgst_exec_binary(ps, SQL_MEM_INSERT_ARRAYS, MEM_NCOLS, vals, lengths, formats, err);
    for (c = 0; c < MEM_NCOLS; c++)
        buf_release(&cols[c]);
    free(row);
    free(text);
    return ret;
}

/* All or nothing, in the caller's transaction or one of ours: ids checked first (the same
 * errors, for the same row, as inserting row by row would give: ERR_INVALID for a malformed
 * id before anything is written, ERR_CONFLICT naming the first row whose id is taken). */
int pgst_memory_insert_many(store *st, const struct memory *mems, size_t n, struct err *err)
{
    struct pgst_store *ps = pgst_downcast(st);
    struct arena *a;
    const char **taken = NULL;
    size_t i, ntaken = 0, clash;
    int own, ret;

    for (i = 0; i < n; i++)
        if (!pgst_id_ok(mems[i].id))
            return err_set(err, ERR_INVALID, "memory id '%s' is not a lower-case UUID",
                           mems[i].id);
    if (n == 0)
        return 0;
    if (store_tx_enter(&ps->base, &own, err) < 0)
        return -1;
    a = arena_new();
    ret = ids_taken(ps, a, mems, n, &taken, &ntaken, err);
    if (ret == 0 && (clash = first_clash(a, mems, n, taken, ntaken)) < n)
        ret = err_set(err, ERR_CONFLICT, "memory '%s' already exists", mems[clash].id);
    for (i = 0; ret == 0 && i < n; i += MEM_BATCH)
        ret = insert_memory_batch(ps, mems + i, n - i < MEM_BATCH ? n - i : MEM_BATCH, err);
    arena_free(a);
    return store_tx_leave(&ps->base, own, ret, err);
}
