/* postgres_export.c - PostgreSQL backend: subject export and import (spec/backup-snapshots.md
 * §1, §3): counts and keyset pages of a subject's rows ordered by (created_at, id), which ids
 * are already taken, and inserting rows exactly as given: episodes pipelined
 * (pgst_exec_rows), memories a multi-row INSERT per batch. */
#include "store/postgres/postgres-internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/ts.h"
#include "util/vcode.h"

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
 * A compile, an import or a clone writes its memories as one multi-row INSERT per batch, not
 * one statement each: each statement costs its own execution and the statement triggers
 * (subject_stats) fire once per statement; pipelined one-row statements spent 0.36 ms a row
 * of a 1,002-memory compile (docs/PERFORMANCE.md); and the codes of their vectors go in the
 * same statement, one bytea parameter each, not as one bytea[] literal whose parsing cost
 * another 0.09 ms a row. 17 parameters a row; a batch of 256 holds at most 256 vectors' text
 * at a time. */
#define MEM_BATCH 256
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

/* The types of PG_MEMORY_VALUES' parameters, in order: the first VALUES row of a batch casts
 * to them, and the rows after it take its types. */
#define MEM_EMBEDDING_PARAM 12 /* $13, the vector, 0-based */
static const char *const mem_param_types[PG_MEMORY_NPARAMS] = {
    "uuid", "varchar", "varchar", "varchar", "text", "text", "float8", "timestamptz",
    "timestamptz", "json", "json", "varchar", "bytea", "json", "timestamptz", "timestamptz",
};

/* Append one VALUES row of parameters $(base + 1) .. $(base + 16), typed on the first row. */
static void put_values_row(struct buf *b, size_t base)
{
    size_t k;

    buf_putc(b, '(');
    for (k = 0; k < PG_MEMORY_NPARAMS; k++) {
        buf_printf(b, "%s$%zu", k ? ", " : "", base + k + 1);
        if (base == 0)
            buf_printf(b, "::%s", mem_param_types[k]);
    }
    buf_putc(b, ')');
}

/* Binary bytea parameters: a vector as its stored bytes (little-endian float32) and the
 * compact code of it, straight from memory, where hex text cost the server a decode of
 * 12 KB per vector at bind time and this process the encode. */
static const char *vector_bytes(struct arena *a, const struct memory *m)
{
    unsigned char *out = arena_alloc(a, 4 * m->embedding_dim), *w = out;
    uint32_t u;
    size_t k;

    for (k = 0; k < m->embedding_dim; k++) {
        memcpy(&u, &m->embedding[k], sizeof(u));
        *w++ = (unsigned char)u;
        *w++ = (unsigned char)(u >> 8);
        *w++ = (unsigned char)(u >> 16);
        *w++ = (unsigned char)(u >> 24);
    }
    return (const char *)out;
}

static const char *code_bytes(struct arena *a, const struct memory *m)
{
    unsigned char *code = arena_alloc(a, vcode_size(m->embedding_dim));

    vcode_encode(m->embedding, m->embedding_dim, code);
    return (const char *)code;
}

/* mems[0..n) (n <= MEM_BATCH) in one statement, with the compact codes of their vectors
 * (memory_codes, as pgst_codes_put writes them): the memories' parameters first, then one
 * code each for the rows with a vector. */
static int insert_memory_batch(struct pgst_store *ps, const struct memory *mems, size_t n,
                               struct err *err)
{
    struct arena *a = arena_new();
    const char **vals = arena_alloc(a, n * (PG_MEMORY_NPARAMS + 1) * sizeof(*vals));
    int *lengths = arena_calloc(a, n * (PG_MEMORY_NPARAMS + 1), sizeof(*lengths));
    int *formats = arena_calloc(a, n * (PG_MEMORY_NPARAMS + 1), sizeof(*formats));
    struct buf sql = BUF_INIT, codes = BUF_INIT;
    size_t i, vec, nvals = n * PG_MEMORY_NPARAMS;
    int ret;

    /* The rows as a VALUES list, their uuid[] built once in the SELECT: a subquery in each
     * VALUES row made planning a 256-row batch cost as much as running it. */
    buf_puts(&sql, "WITH v (id, subject_id, tenant_id, kind, content, summary, confidence,"
                   " valid_from, valid_to, sources, metadata, status, embedding, labels,"
                   " created_at, updated_at) AS (VALUES ");
    for (i = 0; i < n; i++) {
        if (i)
            buf_puts(&sql, ", ");
        put_values_row(&sql, i * PG_MEMORY_NPARAMS);
        pgst_memory_params(&mems[i], NULL, arena_alloc(a, sizeof(struct pgst_memory_text)),
                           vals + i * PG_MEMORY_NPARAMS);
        if (mems[i].embedding && mems[i].embedding_dim > 0) {
            vec = i * PG_MEMORY_NPARAMS + MEM_EMBEDDING_PARAM;
            vals[vec] = vector_bytes(a, &mems[i]);
            lengths[vec] = (int)(4 * mems[i].embedding_dim);
            formats[vec] = 1;
            vals[nvals] = code_bytes(a, &mems[i]);
            lengths[nvals] = (int)vcode_size(mems[i].embedding_dim);
            formats[nvals] = 1;
            buf_printf(&codes, "%s($%zu::uuid, $%zu::bytea)", codes.len ? ", " : "",
                       i * PG_MEMORY_NPARAMS + 1, ++nvals);
        }
    }
    buf_puts(&sql, "), m AS (" PG_MEMORY_INSERT_INTO " SELECT id, subject_id, tenant_id, kind,"
                   " content, summary, confidence, valid_from, valid_to,"
                   " ARRAY(SELECT e::uuid FROM json_array_elements_text(v.sources)"
                   " WITH ORDINALITY AS t(e, i) ORDER BY i), metadata, status, embedding, labels,"
                   " created_at, updated_at FROM v"
                   " RETURNING id, subject_id, tenant_id, kind, status, created_at, valid_to)");
    if (codes.len) {
        buf_puts(&sql, " INSERT INTO memory_codes (memory_id, subject_id, tenant_key, kind,"
                       " active, created_at, valid_to, code) SELECT m.id, m.subject_id,"
                       " COALESCE(m.tenant_id, ''), m.kind, m.status = 'active', m.created_at,"
                       " m.valid_to, c.code FROM m JOIN (VALUES ");
        buf_puts(&sql, codes.data);
        buf_puts(&sql, ") AS c (id, code) ON c.id = m.id");
    } else {
        buf_puts(&sql, " SELECT count(*) FROM m");
    }
    ret = pgst_exec_unnamed(ps, sql.data, (int)nvals, vals, lengths, formats, err);
    buf_release(&sql);
    buf_release(&codes);
    arena_free(a);
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
