/* sqlite_rows.c - SQLite backend: binding values and whole rows (episodes, memories), reading
 * columns, and reading whole rows into the caller's arena. */
#include "store/sqlite/sqlite-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/ts.h"
#include "util/xalloc.h"

/* ---- binding ---- */

int sq_bind_str(sqlite3_stmt *q, int i, const char *v)
{
    if (!v)
        return sqlite3_bind_null(q, i);
    return sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
}

int sq_bind_tenant(sqlite3_stmt *q, int i, const char *tenant)
{
    return sq_bind_str(q, i, tenant && *tenant ? tenant : NULL);
}

int sq_bind_ts(sqlite3_stmt *q, int i, int64_t us)
{
    char text[TS_STR_LEN];
    size_t n;

    if (us == TS_NULL)
        return sqlite3_bind_null(q, i);
    n = ts_format_fixed(us, text, sizeof(text));
    return sqlite3_bind_text(q, i, text, (int)n, SQLITE_TRANSIENT);
}

int sq_bind_count(sqlite3_stmt *q, int i, size_t v, int is_limit)
{
    if (v > (size_t)INT64_MAX)
        return sqlite3_bind_int64(q, i, is_limit ? -1 : INT64_MAX);
    return sqlite3_bind_int64(q, i, (sqlite3_int64)v);
}

void sq_bind_page(sqlite3_stmt *q, const struct store_scope *sc, const struct store_page *pg)
{
    sq_bind_tenant(q, 1, sc->tenant);
    sq_bind_str(q, 2, sc->subject);
    sq_bind_count(q, 3, pg->limit, 1);
    sq_bind_count(q, 4, pg->offset, 0);
}

int sq_bind_json(sqlite3_stmt *q, int i, const char *json, const char *fallback)
{
    return sq_bind_str(q, i, json ? json : fallback);
}

int sq_bind_vec(sqlite3_stmt *q, int i, const float *v, size_t dim)
{
    unsigned char *blob;
    size_t k;

    if (!v || dim == 0)
        return sqlite3_bind_null(q, i);
    if (dim > (size_t)INT32_MAX / 4)
        return SQLITE_TOOBIG;
    blob = xmalloc(4 * dim);
    for (k = 0; k < dim; k++) {
        uint32_t u;

        memcpy(&u, &v[k], sizeof(u));
        blob[4 * k] = (unsigned char)(u & 0xff);
        blob[4 * k + 1] = (unsigned char)(u >> 8 & 0xff);
        blob[4 * k + 2] = (unsigned char)(u >> 16 & 0xff);
        blob[4 * k + 3] = (unsigned char)(u >> 24 & 0xff);
    }
    /* SQLite takes the buffer and frees it, even when binding fails. */
    return sqlite3_bind_blob(q, i, blob, (int)(4 * dim), free);
}

/* ---- binding rows ---- */

int sq_bind_episode(sqlite3_stmt *q, const void *row)
{
    const struct episode *ep = row;
    int bad = 0;

    bad |= sq_bind_str(q, 1, ep->id) != SQLITE_OK;
    bad |= sq_bind_str(q, 2, ep->subject_id) != SQLITE_OK;
    bad |= sq_bind_tenant(q, 3, ep->tenant_id) != SQLITE_OK;
    bad |= sq_bind_str(q, 4, ep->session_id) != SQLITE_OK;
    bad |= sq_bind_str(q, 5, ep->source) != SQLITE_OK;
    bad |= sq_bind_str(q, 6, ep->type) != SQLITE_OK;
    bad |= sq_bind_str(q, 7, ep->payload) != SQLITE_OK;
    bad |= sq_bind_json(q, 8, ep->metadata, "{}") != SQLITE_OK;
    bad |= sq_bind_json(q, 9, ep->provenance, "{}") != SQLITE_OK;
    bad |= sq_bind_str(q, 10, ep->idempotency_key) != SQLITE_OK;
    bad |= sq_bind_ts(q, 11, ep->created_at) != SQLITE_OK;
    bad |= sq_bind_ts(q, 12, ep->last_compiled_at) != SQLITE_OK;
    bad |= sq_bind_ts(q, 13, ep->occurred_at) != SQLITE_OK;
    return bad ? -1 : 0;
}

int sq_bind_memory(sqlite3_stmt *q, const void *row)
{
    const struct memory *m = row;
    int bad = 0;

    bad |= sq_bind_str(q, 1, m->id) != SQLITE_OK;
    bad |= sq_bind_str(q, 2, m->subject_id) != SQLITE_OK;
    bad |= sq_bind_tenant(q, 3, m->tenant_id) != SQLITE_OK;
    bad |= sq_bind_str(q, 4, m->kind) != SQLITE_OK;
    bad |= sq_bind_str(q, 5, m->content) != SQLITE_OK;
    bad |= sq_bind_str(q, 6, m->summary ? m->summary : "") != SQLITE_OK;
    bad |= sqlite3_bind_double(q, 7, m->confidence) != SQLITE_OK;
    bad |= sq_bind_ts(q, 8, m->valid_from) != SQLITE_OK;
    bad |= sq_bind_ts(q, 9, m->valid_to) != SQLITE_OK;
    bad |= sq_bind_json(q, 10, m->source_episode_ids, "[]") != SQLITE_OK;
    bad |= sq_bind_json(q, 11, m->metadata, "{}") != SQLITE_OK;
    bad |= sq_bind_str(q, 12, m->status ? m->status : "active") != SQLITE_OK;
    bad |= sq_bind_vec(q, 13, m->embedding, m->embedding_dim) != SQLITE_OK;
    bad |= sq_bind_json(q, 14, m->sensitivity_labels, "[]") != SQLITE_OK;
    bad |= sq_bind_ts(q, 15, m->created_at) != SQLITE_OK;
    bad |= sq_bind_ts(q, 16, m->updated_at) != SQLITE_OK;
    return bad ? -1 : 0;
}

/* ---- reading columns ---- */

const char *sq_col_str(struct arena *a, sqlite3_stmt *q, int i)
{
    const char *p = (const char *)sqlite3_column_text(q, i);

    if (!p)
        return NULL;
    return arena_strndup(a, p, (size_t)sqlite3_column_bytes(q, i));
}

int sq_col_ts(sqlite3_stmt *q, int i, int64_t *out)
{
    const char *p = (const char *)sqlite3_column_text(q, i);

    *out = TS_NULL;
    if (!p)
        return 0;
    return ts_parse(p, out);
}

void sq_col_id(sqlite3_stmt *q, int i, char out[UUID_STR_LEN])
{
    const char *p = (const char *)sqlite3_column_text(q, i);

    snprintf(out, UUID_STR_LEN, "%s", p ? p : "");
}

const float *sq_col_vec(struct arena *a, sqlite3_stmt *q, int i, size_t *dim)
{
    const unsigned char *p = sqlite3_column_blob(q, i);
    size_t bytes = (size_t)sqlite3_column_bytes(q, i), k;
    float *v;

    *dim = 0;
    if (!p || bytes == 0 || bytes % 4 != 0)
        return NULL;
    v = arena_alloc(a, bytes);
    for (k = 0; k < bytes / 4; k++) {
        uint32_t u = (uint32_t)p[4 * k] | (uint32_t)p[4 * k + 1] << 8 |
                     (uint32_t)p[4 * k + 2] << 16 | (uint32_t)p[4 * k + 3] << 24;

        memcpy(&v[k], &u, sizeof(u));
    }
    *dim = bytes / 4;
    return v;
}

int sq_bad_timestamp(const char *table, struct err *err)
{
    log_write(LOG_ERROR, "sqlite: malformed timestamp in table '%s'", table);
    return err_set(err, ERR_INTERNAL, "database error");
}

/* ---- reading rows ---- */

int sq_read_episode(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    struct episode *ep = row;

    sq_col_id(q, 0, ep->id);
    ep->subject_id = sq_col_str(a, q, 1);
    ep->tenant_id = sq_col_str(a, q, 2);
    ep->session_id = sq_col_str(a, q, 3);
    ep->source = sq_col_str(a, q, 4);
    ep->type = sq_col_str(a, q, 5);
    ep->payload = sq_col_str(a, q, 6);
    ep->metadata = sq_col_str(a, q, 7);
    ep->provenance = sq_col_str(a, q, 8);
    ep->idempotency_key = sq_col_str(a, q, 9);
    if (sq_col_ts(q, 10, &ep->created_at) < 0 || sq_col_ts(q, 11, &ep->last_compiled_at) < 0 ||
        sq_col_ts(q, 12, &ep->occurred_at) < 0)
        return sq_bad_timestamp("episodes", err);
    return 0;
}

int sq_read_memory(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    struct memory *m = row;

    sq_col_id(q, 0, m->id);
    m->subject_id = sq_col_str(a, q, 1);
    m->tenant_id = sq_col_str(a, q, 2);
    m->kind = sq_col_str(a, q, 3);
    m->content = sq_col_str(a, q, 4);
    m->summary = sq_col_str(a, q, 5);
    m->confidence = sqlite3_column_double(q, 6);
    m->source_episode_ids = sq_col_str(a, q, 9);
    m->metadata = sq_col_str(a, q, 10);
    m->status = sq_col_str(a, q, 11);
    m->embedding = sq_col_vec(a, q, 12, &m->embedding_dim);
    m->sensitivity_labels = sq_col_str(a, q, 13);
    if (sq_col_ts(q, 7, &m->valid_from) < 0 || sq_col_ts(q, 8, &m->valid_to) < 0 ||
        sq_col_ts(q, 14, &m->created_at) < 0 || sq_col_ts(q, 15, &m->updated_at) < 0)
        return sq_bad_timestamp("memories", err);
    return 0;
}

int sq_collect_rows(struct sqlite_store *s, struct arena *a, sqlite3_stmt *q, size_t size,
                    size_t limit, sq_row_reader *read, void **out, size_t *n,
                    struct err *err)
{
    size_t cap = limit == 0 ? 1 : limit < 64 ? limit : 64, count = 0;
    char *rows = arena_alloc(a, cap * size);
    int rc;

    for (;;) {
        rc = sq_step(q);
        if (rc != SQLITE_ROW)
            break;
        if (count == cap) {
            char *bigger = arena_alloc(a, 2 * cap * size);

            memcpy(bigger, rows, cap * size);
            rows = bigger;
            cap *= 2;
        }
        memset(rows + count * size, 0, size);
        if (read(a, q, rows + count * size, err) < 0)
            goto cleanup;
        count++;
    }
    if (rc != SQLITE_DONE) {
        sq_fail(s, "select", rc, err);
        goto cleanup;
    }
    sq_reset(q);
    *out = rows;
    *n = count;
    return 0;
cleanup:
    sq_reset(q);
    *n = 0;
    return -1;
}

int sq_collect_one(struct sqlite_store *s, struct arena *a, sqlite3_stmt *q, size_t size,
                   sq_row_reader *read, void **row, struct err *err)
{
    void *rows;
    size_t n;

    *row = NULL;
    if (sq_collect_rows(s, a, q, size, 1, read, &rows, &n, err) < 0)
        return -1;
    if (n > 0)
        *row = rows;
    return 0;
}

int sq_lookup(struct sqlite_store *s, struct arena *a, const char *sql, const char *tenant,
              const char *key, size_t size, sq_row_reader *read, void **row, struct err *err)
{
    sqlite3_stmt *q = sq_stmt(s, sql, err);

    *row = NULL;
    if (!q)
        return -1;
    sq_bind_tenant(q, 1, tenant);
    sq_bind_str(q, 2, key);
    return sq_collect_one(s, a, q, size, read, row, err);
}
