/* sqlite_search.c - SQLite backend: the search engine's own reads (issue 18) and the SQL
 * functions its indexes need on every connection: ranked full text over memories_fts (FTS5,
 * unicode61, schema step 12) with the FTS5 auxiliary function engram_terms() that counts how
 * many of a query's phrases a row holds; the compact vector codes of memory_codes (schema
 * step 13), computed with engram_vector_code() by its triggers and by the codes' deferred
 * part (step 19, sq_search_codes_sync below). Both functions exist on Engram's connections
 * only: another client (the sqlite3 shell) can read the database, but writing memories there
 * fails on the missing function rather than leave the side table behind. */
#include "store/sqlite/sqlite-internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/vcode.h"

/* engram_vector_code(embedding): the compact code of a stored vector (NULL for NULL). */
static void fn_vector_code(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const unsigned char *blob;
    unsigned char *code;
    size_t dim;

    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    blob = sqlite3_value_blob(argv[0]);
    dim = (size_t)sqlite3_value_bytes(argv[0]) / 4;
    code = sqlite3_malloc64(vcode_size(dim));
    if (!code) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    vcode_encode_le(blob, dim, code);
    sqlite3_result_blob64(ctx, code, vcode_size(dim), sqlite3_free);
}

/* engram_terms(fts): how many distinct phrases of the MATCH expression this row holds. */
static void fn_terms(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int nval,
                     sqlite3_value **vals)
{
    unsigned char seen[STORE_RANK_TERMS_MAX] = { 0 };
    int ninst, i, phrase, col, off, count = 0;

    (void)nval;
    (void)vals;
    if (api->xInstCount(fts, &ninst) != SQLITE_OK) {
        sqlite3_result_error(ctx, "engram_terms: xInstCount failed", -1);
        return;
    }
    for (i = 0; i < ninst; i++) {
        if (api->xInst(fts, i, &phrase, &col, &off) != SQLITE_OK)
            continue;
        if (phrase >= 0 && phrase < STORE_RANK_TERMS_MAX && !seen[phrase]) {
            seen[phrase] = 1;
            count++;
        }
    }
    sqlite3_result_int(ctx, count);
}

/* The connection's FTS5 API, or NULL when SQLite was built without FTS5. */
static fts5_api *fts5_of(sqlite3 *db)
{
    fts5_api *api = NULL;
    sqlite3_stmt *q;

    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &q, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_pointer(q, 1, (void *)&api, "fts5_api_ptr", NULL);
    (void)sqlite3_step(q);
    sqlite3_finalize(q);
    return api;
}

int sq_register_search_functions(sqlite3 *db)
{
    fts5_api *api = fts5_of(db);
    int rc;

    if (!api)
        return SQLITE_ERROR;
    rc = api->xCreateFunction(api, "engram_terms", NULL, fn_terms, NULL);
    if (rc != SQLITE_OK)
        return rc;
    return sqlite3_create_function_v2(db, "engram_vector_code", 1,
                                      SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                      fn_vector_code, NULL, NULL, NULL);
}

/* ---- compact vector codes ---- */

/* ix_memory_codes_subject gives a subject's active rows; only id and code are read. */
static const char SQL_CODES_SCAN[] =
    "SELECT id, code, kind FROM memory_codes WHERE subject_id = ?2 AND tenant_id IS ?1 "
    "AND active = 1 AND (?3 IS NULL OR kind = ?3)";
static const char SQL_CODES_GEN[] =
    "SELECT gen FROM memory_codes_gen WHERE subject_id = ?2 AND tenant_key = ifnull(?1, '')";
static const char SQL_VECTORS_BY_IDS[] =
    "SELECT id, created_at, seq, embedding FROM memories WHERE +tenant_id IS ?1 "
    "AND id IN (SELECT value FROM json_each(?2)) AND embedding IS NOT NULL";

int sq_memory_scan_codes(store *st, const struct store_scope *sc, const struct memory_code_scan *cs,
                         memory_code_fn *fn, void *ctx, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_CODES_SCAN, err);
    struct memory_code row;
    int rc = SQLITE_DONE, next = 0;

    if (!q)
        return -1;
    sq_bind_tenant(q, 1, sc->tenant);
    sq_bind_str(q, 2, sc->subject);
    sq_bind_str(q, 3, cs->kind);
    while (next == 0 && (rc = sq_step(q)) == SQLITE_ROW) {
        row.id = (const char *)sqlite3_column_text(q, 0);
        row.code = sqlite3_column_blob(q, 1);
        row.bytes = (size_t)sqlite3_column_bytes(q, 1);
        row.kind = (const char *)sqlite3_column_text(q, 2);
        if (!row.id || !row.code || !row.kind) {
            sq_reset(q);
            return sq_fail(s, "memory code scan", SQLITE_NOMEM, err);
        }
        next = fn(ctx, &row, err);
    }
    sq_reset(q);
    if (next == 0 && rc != SQLITE_DONE)
        return sq_fail(s, "memory code scan", rc, err);
    return next < 0 ? -1 : 0;
}

int sq_memory_codes_gen(store *st, const struct store_scope *sc, int64_t *gen, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_CODES_GEN, err);
    int rc;

    *gen = 0;
    if (!q)
        return -1;
    sq_bind_tenant(q, 1, sc->tenant);
    sq_bind_str(q, 2, sc->subject);
    rc = sq_step(q);
    if (rc == SQLITE_ROW)
        *gen = sqlite3_column_int64(q, 0);
    sq_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sq_fail(s, "memory codes generation", rc, err);
    return 0;
}

int sq_memory_vectors_by_ids(store *st, const char *tenant, const struct store_ids *ids,
                             memory_vector_fn *fn, void *ctx, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    struct buf list = BUF_INIT;
    sqlite3_stmt *q = NULL;
    int ret = 0;

    if (sq_ids_json(&list, ids->items, ids->n) > 0) {
        q = sq_stmt(s, SQL_VECTORS_BY_IDS, err);
        ret = -1;
        if (q) {
            sq_bind_tenant(q, 1, tenant);
            sq_bind_str(q, 2, list.data);
            ret = sq_vector_rows(s, q, fn, ctx, err);
        }
    }
    buf_release(&list);
    return ret;
}

/* Driven by the full-text index: its matches joined to their rows by seq, then filtered. */
static const char SQL_MEM_RANK[] =
    "SELECT m.id FROM memories_fts f CROSS JOIN memories m ON m.seq = f.rowid "
    "WHERE memories_fts MATCH ?4 AND m.tenant_id IS ?1 AND m.subject_id = ?2 "
    "AND m.status = 'active' AND (?3 IS NULL OR m.kind = ?3) "
    "ORDER BY engram_terms(memories_fts) DESC, bm25(memories_fts), m.created_at DESC, m.seq "
    "LIMIT ?5";

/* "t1" OR "t2" …: each term one FTS5 string (its '"' doubled), in the arena. */
static char *or_query(struct arena *a, const struct memory_rank_query *rq)
{
    struct buf b = BUF_INIT;
    size_t i, k;
    char *out;

    for (i = 0; i < rq->nterms; i++) {
        buf_puts(&b, i ? " OR \"" : "\"");
        for (k = 0; rq->terms[i][k]; k++) {
            if (rq->terms[i][k] == '"')
                buf_putc(&b, '"');
            buf_putc(&b, rq->terms[i][k]);
        }
        buf_putc(&b, '"');
    }
    out = arena_strndup(a, b.data, b.len);
    buf_release(&b);
    return out;
}

/* One id column into the arena. */
static int read_id(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    const char *id = (const char *)sqlite3_column_text(q, 0);

    if (!id)
        return err_set(err, ERR_INTERNAL, "database error");
    *(const char **)row = arena_strdup(a, id);
    return 0;
}

int sq_memory_rank_text(store *st, struct arena *a, const struct store_scope *sc,
                        const struct memory_rank_query *rq, struct store_ids *out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_MEM_RANK, err);
    void *rows = NULL;
    int ret;

    out->items = NULL;
    out->n = 0;
    if (!q)
        return -1;
    sq_bind_tenant(q, 1, sc->tenant);
    sq_bind_str(q, 2, sc->subject);
    sq_bind_str(q, 3, rq->kind);
    sqlite3_bind_text(q, 4, or_query(a, rq), -1, SQLITE_STATIC);
    sq_bind_count(q, 5, rq->limit, 1);
    ret = sq_collect_rows(s, a, q, sizeof(const char *), rq->limit, read_id, &rows, &out->n, err);
    out->items = rows;
    return ret;
}

int sq_memory_set_embeddings(store *st, const char *const *ids, const float *vecs, size_t n,
                             size_t dim, struct err *err)
{
    size_t i;
    int own, ret = 0;

    if (store_tx_enter(st, &own, err) < 0)
        return -1;
    for (i = 0; i < n && ret == 0; i++)
        ret = sq_memory_set_embedding(st, ids[i], vecs + i * dim, dim, err);
    return store_tx_leave(st, own, ret, err);
}

/* ---- the deferred parts: the text indexes (schema step 14), the codes (step 19) ---- */

/* A deferred part: rows above its mark (a one-row table) are not in it yet. */
struct deferred {
    const char *what;
    const char *behind;  /* is any memory above the mark? */
    const char *fill[2]; /* the statements that bring it up to every row (NULL ends) */
    const char *mark;    /* the mark to the highest seq */
};

static const struct deferred text_part = {
    "text index",
    "SELECT (SELECT ifnull(max(seq), 0) FROM memories) > (SELECT seq FROM search_text_indexed)",
    { "INSERT INTO memories_trgm (rowid, content) SELECT seq, content FROM memories"
      " WHERE seq > (SELECT seq FROM search_text_indexed)",
      "INSERT INTO memories_fts (rowid, content) SELECT seq, content FROM memories"
      " WHERE seq > (SELECT seq FROM search_text_indexed)" },
    "UPDATE search_text_indexed SET seq = max(seq, (SELECT ifnull(max(seq), 0) FROM memories))",
};

/* OR REPLACE: a code another path wrote above the mark is computed again from the vector. */
static const struct deferred codes_part = {
    "vector codes",
    "SELECT (SELECT ifnull(max(seq), 0) FROM memories) > (SELECT seq FROM search_codes_indexed)",
    { "INSERT OR REPLACE INTO memory_codes (seq, id, subject_id, tenant_id, kind, active,"
      " created_at, valid_to, code) SELECT seq, id, subject_id, tenant_id, kind,"
      " status = 'active', created_at, valid_to, engram_vector_code(embedding) FROM memories"
      " WHERE seq > (SELECT seq FROM search_codes_indexed) AND embedding IS NOT NULL",
      NULL },
    "UPDATE search_codes_indexed SET seq = max(seq, (SELECT ifnull(max(seq), 0) FROM memories))",
};

/* Is any memory above the part's mark? */
static int part_behind(struct sqlite_store *s, const struct deferred *d, int64_t *behind,
                       struct err *err)
{
    sqlite3_stmt *q = sq_stmt(s, d->behind, err);

    return q ? sq_query_int64(s, q, d->what, behind, err) : -1;
}

/* Bring part d up to every memory: a read when it is, else one write transaction. */
static int part_sync(store *st, const struct deferred *d, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q;
    int64_t behind = 0;
    size_t i;
    int own, ret;

    if (part_behind(s, d, &behind, err) < 0)
        return -1;
    if (!behind)
        return 0;
    if (store_tx_enter(st, &own, err) < 0)
        return -1;
    /* Read again inside the write transaction: another connection may have done it. */
    ret = part_behind(s, d, &behind, err);
    for (i = 0; ret == 0 && behind && i < 2 && d->fill[i]; i++)
        ret = (q = sq_stmt(s, d->fill[i], err)) ? sq_step_done(s, q, d->what, err) : -1;
    if (ret == 0 && behind)
        ret = (q = sq_stmt(s, d->mark, err)) ? sq_step_done(s, q, d->what, err) : -1;
    return store_tx_leave(st, own, ret, err);
}

int sq_search_text_sync(store *st, struct err *err)
{
    return part_sync(st, &text_part, err);
}

int sq_search_codes_sync(store *st, struct err *err)
{
    return part_sync(st, &codes_part, err);
}
