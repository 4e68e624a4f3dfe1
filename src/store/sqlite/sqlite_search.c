/* sqlite_search.c - SQLite backend: the search engine's own reads (issue 18) and the SQL
 * functions its indexes need on every connection: ranked full text over memories_fts (FTS5,
 * unicode61, schema step 6) and the FTS5 auxiliary function engram_terms() that counts how
 * many of a query's phrases a row holds. */
#include "store/sqlite/sqlite-internal.h"

#include <string.h>

/* engram_terms(fts): how many distinct phrases of the MATCH expression this row holds. */
static void fn_terms(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx,
                     int nval, sqlite3_value **vals)
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

    if (!api)
        return SQLITE_ERROR;
    return api->xCreateFunction(api, "engram_terms", NULL, fn_terms, NULL);
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
                        const struct memory_rank_query *rq, struct store_ids *out,
                        struct err *err)
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
    ret = sq_collect_rows(s, a, q, sizeof(const char *), rq->limit, read_id, &rows, &out->n,
                          err);
    out->items = rows;
    return ret;
}
