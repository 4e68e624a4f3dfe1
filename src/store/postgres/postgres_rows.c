/* postgres_rows.c - PostgreSQL backend: text parameters (those of whole episode and memory
 * inserts too), reading columns, and reading whole rows into the caller's arena. */
#include "store/postgres/postgres-internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/ts.h"

/* ---- parameters ------------------------------------------------------------------------ */

const char *pgst_tenant_key(const char *tenant)
{
    return tenant ? tenant : "";
}

const char *pgst_tenant_value(const char *tenant)
{
    return tenant && *tenant ? tenant : NULL;
}

const char *pgst_ts_param(int64_t us, char *out)
{
    if (us == TS_NULL)
        return NULL;
    ts_format_fixed(us, out, TS_STR_LEN);
    return out;
}

const char *pgst_size_param(size_t v, char out[PG_INT_LEN])
{
    uint64_t u = v > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : (uint64_t)v;

    snprintf(out, PG_INT_LEN, "%" PRIu64, u);
    return out;
}

const char *pgst_int_param(int64_t v, char out[PG_INT_LEN])
{
    snprintf(out, PG_INT_LEN, "%" PRId64, v);
    return out;
}

const char *pgst_json_param(const char *json, const char *fallback)
{
    return json ? json : fallback;
}

const char *pgst_vector_param(struct arena *a, const float *v, size_t dim)
{
    static const char digits[] = "0123456789abcdef";
    char *out, *w;
    size_t k;
    int b;

    if (!v || dim == 0)
        return NULL;
    out = arena_alloc(a, 2 + 8 * dim + 1);
    w = out;
    *w++ = '\\';
    *w++ = 'x';
    for (k = 0; k < dim; k++) {
        uint32_t u;

        memcpy(&u, &v[k], sizeof(u));
        for (b = 0; b < 4; b++) {
            unsigned byte = u >> (8 * b) & 0xff;

            *w++ = digits[byte >> 4];
            *w++ = digits[byte & 0xf];
        }
    }
    *w = '\0';
    return out;
}

const char *pgst_bytea_param(struct arena *a, const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *out = arena_alloc(a, 2 + 2 * n + 1), *w = out;
    size_t k;

    *w++ = '\\';
    *w++ = 'x';
    for (k = 0; k < n; k++) {
        *w++ = digits[p[k] >> 4];
        *w++ = digits[p[k] & 0xf];
    }
    *w = '\0';
    return out;
}

void pgst_episode_params(const struct episode *ep, struct pgst_episode_text *t,
                       const char *vals[PG_EPISODE_NPARAMS])
{
    vals[0] = ep->id;
    vals[1] = ep->subject_id;
    vals[2] = pgst_tenant_value(ep->tenant_id);
    vals[3] = ep->session_id;
    vals[4] = ep->source;
    vals[5] = ep->type;
    vals[6] = ep->payload;
    vals[7] = pgst_json_param(ep->metadata, "{}");
    vals[8] = pgst_json_param(ep->provenance, "{}");
    vals[9] = ep->idempotency_key;
    vals[10] = pgst_ts_param(ep->created_at, t->created);
    vals[11] = pgst_ts_param(ep->last_compiled_at, t->compiled);
    vals[12] = pgst_ts_param(ep->occurred_at, t->occurred);
}

void pgst_memory_params(const struct memory *m, const char *vec, struct pgst_memory_text *t,
                      const char *vals[PG_MEMORY_NPARAMS])
{
    snprintf(t->confidence, sizeof(t->confidence), "%.17g", m->confidence);
    vals[0] = m->id;
    vals[1] = m->subject_id;
    vals[2] = pgst_tenant_value(m->tenant_id);
    vals[3] = m->kind;
    vals[4] = m->content;
    vals[5] = m->summary ? m->summary : "";
    vals[6] = t->confidence;
    vals[7] = pgst_ts_param(m->valid_from, t->valid_from);
    vals[8] = pgst_ts_param(m->valid_to, t->valid_to);
    vals[9] = pgst_json_param(m->source_episode_ids, "[]");
    vals[10] = pgst_json_param(m->metadata, "{}");
    vals[11] = m->status ? m->status : "active";
    vals[12] = vec;
    vals[13] = pgst_json_param(m->sensitivity_labels, "[]");
    vals[14] = pgst_ts_param(m->created_at, t->created);
    vals[15] = pgst_ts_param(m->updated_at, t->updated);
}

/* ---- reading columns ------------------------------------------------------------------- */

const char *pgst_col_str(struct arena *a, const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return NULL;
    return arena_strndup(a, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
}

const char *pgst_col_json(struct arena *a, const PGresult *r, int row, int col)
{
    const char *s = PQgetvalue(r, row, col);
    size_t i, n = (size_t)PQgetlength(r, row, col), k = 0;
    int in_str = 0;
    char *out;

    if (PQgetisnull(r, row, col))
        return NULL;
    out = arena_alloc(a, n + 1);
    for (i = 0; i < n; i++) {
        char c = s[i];

        if (in_str && c == '\\' && i + 1 < n) {
            out[k++] = c;
            out[k++] = s[++i];
            continue;
        }
        if (c == '"')
            in_str = !in_str;
        else if (!in_str && (c == ' ' || c == '\n' || c == '\t' || c == '\r'))
            continue;
        out[k++] = c;
    }
    out[k] = '\0';
    return out;
}

int pgst_col_ts(const PGresult *r, int row, int col, int64_t *out)
{
    if (PQgetisnull(r, row, col)) {
        *out = TS_NULL;
        return 0;
    }
    if (ts_parse(PQgetvalue(r, row, col), out) == 0)
        return 0;
    log_write(LOG_ERROR, "postgres: unreadable timestamp '%s'", PQgetvalue(r, row, col));
    return -1;
}

int64_t pgst_col_int(const PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

const float *pgst_col_vector(struct arena *a, const PGresult *r, int row, int col, size_t *dim)
{
    const char *s = PQgetvalue(r, row, col);
    size_t i, hex = (size_t)PQgetlength(r, row, col), nbytes;
    float *v;

    *dim = 0;
    if (PQgetisnull(r, row, col) || hex < 2 || s[0] != '\\' || s[1] != 'x')
        return NULL;
    nbytes = (hex - 2) / 2;
    if (nbytes == 0 || nbytes % 4 != 0 || (hex - 2) % 2 != 0)
        return NULL;
    v = arena_alloc(a, nbytes);
    for (i = 0; i < nbytes / 4; i++) {
        const char *p = s + 2 + i * 8;
        uint32_t u = 0;
        int b;

        for (b = 0; b < 4; b++) {
            int hi = hex_nibble(p[2 * b]), lo = hex_nibble(p[2 * b + 1]);

            if (hi < 0 || lo < 0)
                return NULL;
            u |= (uint32_t)(hi << 4 | lo) << (8 * b);
        }
        memcpy(&v[i], &u, sizeof(u));
    }
    *dim = nbytes / 4;
    return v;
}

void *pgst_rows_alloc(struct arena *a, const PGresult *r, size_t sz, size_t *n)
{
    *n = (size_t)PQntuples(r);
    return arena_calloc(a, *n ? *n : 1, sz);
}

/* ---- reading rows ---------------------------------------------------------------------- */

int pgst_read_episode(struct arena *a, const PGresult *r, int row, void *out)
{
    struct episode *ep = out;

    snprintf(ep->id, sizeof(ep->id), "%s", PQgetvalue(r, row, 0));
    ep->subject_id = pgst_col_str(a, r, row, 1);
    ep->tenant_id = pgst_col_str(a, r, row, 2);
    ep->session_id = pgst_col_str(a, r, row, 3);
    ep->source = pgst_col_str(a, r, row, 4);
    ep->type = pgst_col_str(a, r, row, 5);
    ep->payload = pgst_col_json(a, r, row, 6);
    ep->metadata = pgst_col_json(a, r, row, 7);
    ep->provenance = pgst_col_json(a, r, row, 8);
    ep->idempotency_key = pgst_col_str(a, r, row, 9);
    if (pgst_col_ts(r, row, 10, &ep->created_at) < 0 ||
        pgst_col_ts(r, row, 11, &ep->last_compiled_at) < 0 ||
        pgst_col_ts(r, row, 12, &ep->occurred_at) < 0)
        return -1;
    return 0;
}

int pgst_read_memory(struct arena *a, const PGresult *r, int row, void *out)
{
    struct memory *m = out;

    snprintf(m->id, sizeof(m->id), "%s", PQgetvalue(r, row, 0));
    m->subject_id = pgst_col_str(a, r, row, 1);
    m->tenant_id = pgst_col_str(a, r, row, 2);
    m->kind = pgst_col_str(a, r, row, 3);
    m->content = pgst_col_str(a, r, row, 4);
    m->summary = pgst_col_str(a, r, row, 5);
    m->confidence = strtod(PQgetvalue(r, row, 6), NULL);
    m->source_episode_ids = pgst_col_json(a, r, row, 9);
    m->metadata = pgst_col_json(a, r, row, 10);
    m->status = pgst_col_str(a, r, row, 11);
    m->embedding = pgst_col_vector(a, r, row, 12, &m->embedding_dim);
    m->sensitivity_labels = pgst_col_json(a, r, row, 13);
    if (pgst_col_ts(r, row, 7, &m->valid_from) < 0 || pgst_col_ts(r, row, 8, &m->valid_to) < 0 ||
        pgst_col_ts(r, row, 14, &m->created_at) < 0 || pgst_col_ts(r, row, 15, &m->updated_at) < 0)
        return -1;
    return 0;
}

int pgst_collect_rows(struct arena *a, const PGresult *r, size_t size, pgst_row_reader *read,
                    void **out, size_t *n, struct err *err)
{
    char *rows = pgst_rows_alloc(a, r, size, n);
    size_t i;

    *out = NULL;
    for (i = 0; i < *n; i++) {
        if (read(a, r, (int)i, rows + i * size) < 0) {
            *n = 0;
            return err_set(err, ERR_INTERNAL, "database error");
        }
    }
    *out = rows;
    return 0;
}

int pgst_take_rows(struct arena *a, PGresult *r, size_t size, pgst_row_reader *read,
                   void **out, size_t *n, struct err *err)
{
    int ret;

    *out = NULL;
    *n = 0;
    if (!r)
        return -1;
    ret = pgst_collect_rows(a, r, size, read, out, n, err);
    PQclear(r);
    return ret;
}

int pgst_take_one(struct arena *a, PGresult *r, size_t size, pgst_row_reader *read, void **row,
                  struct err *err)
{
    size_t n;
    int ret = pgst_take_rows(a, r, size, read, row, &n, err);

    if (n == 0)
        *row = NULL;
    return ret;
}

int pgst_take_counts(PGresult *r, struct row_counts *out)
{
    memset(out, 0, sizeof(*out));
    if (!r)
        return -1;
    out->episodes = pgst_col_int(r, 0, 0);
    out->memories = pgst_col_int(r, 0, 1);
    out->resolutions = pgst_col_int(r, 0, 2);
    PQclear(r);
    return 0;
}
