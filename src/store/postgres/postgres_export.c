/* postgres_export.c - PostgreSQL backend: subject export and import (spec/backup-snapshots.md
 * §1, §3): counts and keyset pages of a subject's rows ordered by (created_at, id), which ids
 * are already taken, and inserting rows exactly as given, pipelined (pgst_exec_rows). */
#include "store/postgres/postgres-internal.h"

#include <string.h>

#include "util/buf.h"
#include "util/ts.h"

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
static const char SQL_MEM_ADD[] = PG_MEMORY_INSERT;

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

/* The parameters of SQL_MEM_ADD for row i, as postgres_memories.c sends them. */
static void memory_params(const void *rows, size_t i, struct arena *a, const char **vals)
{
    const struct memory *m = (const struct memory *)rows + i;

    pgst_memory_params(m, pgst_vector_param(a, m->embedding, m->embedding_dim),
                     arena_alloc(a, sizeof(struct pgst_memory_text)), vals);
}

static const char *episode_id(const void *rows, size_t i)
{
    return ((const struct episode *)rows)[i].id;
}

static const char *memory_id(const void *rows, size_t i)
{
    return ((const struct memory *)rows)[i].id;
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
static const struct row_kind memory_rows = {
    "memory", SQL_MEM_ADD, PG_MEMORY_NPARAMS, memory_params, memory_id,
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

int pgst_memory_insert_many(store *st, const struct memory *mems, size_t n, struct err *err)
{
    if (insert_many(st, &memory_rows, mems, n, err) < 0)
        return -1;
    return pgst_codes_put(pgst_downcast(st), mems, n, err);
}
