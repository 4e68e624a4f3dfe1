/* postgres_explorer.c - PostgreSQL backend: the admin subject explorer's reads and the pair
 * selection of the admin deletes (spec/api.md §7.4, §7.5). The same statements as
 * sqlite_explorer.c in PostgreSQL's dialect: pair listings read subject_stats (its schema step),
 * per-subject reads walk the subject_id indexes, optional filters are `$n IS NULL OR` terms
 * and each sort order is its own statement. */
#include "store/postgres/postgres-internal.h"

#include <string.h>

#include "util/buf.h"
#include "util/ts.h"

/* ---- GET /admin/subjects ----
 * $1 every tenant, $2 the tenant key, $3 search, $4 health state, $5 has open (-1, 0, 1),
 * $6 limit, $7 offset. */
#define LIST_FROM                                                                        \
    " FROM subject_stats s LEFT JOIN subject_health_cache h"                            \
    " ON COALESCE(h.tenant_id, '') = COALESCE(s.tenant_id, '') AND h.subject_id = s.subject_id"
#define LIST_FILTERS                                                                     \
    " WHERE s.episode_count > 0 AND ($1::boolean OR COALESCE(s.tenant_id, '') = $2::text)" \
    " AND ($5::int < 0 OR (s.open_sessions > 0) = ($5::int = 1))"
/* Without a search, and with one: a statement of its own, so that its plans (the trigram
 * index of schema step 15 or a sort index walk, chosen by the pattern) are never shared with
 * the plain listing's. */
#define LIST_WHERE_NO_HEALTH LIST_FILTERS " AND $3::text IS NULL"
/* `subject_id ILIKE '%' || $3 || '%'` exactly (schema step subject_search_fold): ILIKE folds
 * both sides with lower() and matches bytes; subject_fold holds the id's fold. */
#define LIST_WHERE_NO_HEALTH_SEARCH LIST_FILTERS \
    " AND s.subject_fold LIKE lower('%' || $3::text || '%')"
#define HEALTH_FILTER " AND ($4::text IS NULL OR h.last_state = $4::text)"
#define LIST_WHERE LIST_WHERE_NO_HEALTH HEALTH_FILTER
#define LIST_WHERE_SEARCH LIST_WHERE_NO_HEALTH_SEARCH HEALTH_FILTER
/* A page in two steps, as on SQLite: the inner query picks the page's keys with an
 * index-only scan of one sort index (which INCLUDEs what the filters read), the outer one
 * reads those rows and their health; the cache joins the inner query only to filter on it. */
#define ORDER(key, dir) \
    key " " dir ", s.subject_id COLLATE \"C\" " dir ", COALESCE(s.tenant_id, '') COLLATE \"C\" " dir
#define ORDER_SUBJECT(dir) \
    "s.subject_id COLLATE \"C\" " dir ", COALESCE(s.tenant_id, '') COLLATE \"C\" " dir
#define INNER(order) \
    "SELECT s.subject_id AS sid, COALESCE(s.tenant_id, '') AS tkey FROM subject_stats s" \
    LIST_WHERE_NO_HEALTH " AND $4::text IS NULL ORDER BY " order " LIMIT $6 OFFSET $7"
#define INNER_HEALTH(order) \
    "SELECT s.subject_id AS sid, COALESCE(s.tenant_id, '') AS tkey" LIST_FROM LIST_WHERE \
    " ORDER BY " order " LIMIT $6 OFFSET $7"
#define OUTER(inner, order) \
    "SELECT s.subject_id, s.tenant_id, s.episode_count, s.memory_count, s.session_count," \
    " s.open_sessions, s.last_episode_at, h.last_state, h.last_score FROM (" inner ") p"  \
    " JOIN subject_stats s ON COALESCE(s.tenant_id, '') = p.tkey AND s.subject_id = p.sid" \
    " LEFT JOIN subject_health_cache h ON COALESCE(h.tenant_id, '') = p.tkey"             \
    " AND h.subject_id = p.sid ORDER BY " order
#define INNER_SEARCH(order) \
    "SELECT s.subject_id AS sid, COALESCE(s.tenant_id, '') AS tkey FROM subject_stats s" \
    LIST_WHERE_NO_HEALTH_SEARCH " AND $4::text IS NULL ORDER BY " order " LIMIT $6 OFFSET $7"
#define INNER_HEALTH_SEARCH(order) \
    "SELECT s.subject_id AS sid, COALESCE(s.tenant_id, '') AS tkey" LIST_FROM LIST_WHERE_SEARCH \
    " ORDER BY " order " LIMIT $6 OFFSET $7"
#define LIST_PAIR(name, order) \
    static const char name[] = OUTER(INNER(order), order); \
    static const char name##_HEALTH[] = OUTER(INNER_HEALTH(order), order); \
    static const char name##_SEARCH[] = OUTER(INNER_SEARCH(order), order); \
    static const char name##_SEARCH_HEALTH[] = OUTER(INNER_HEALTH_SEARCH(order), order);

LIST_PAIR(SQL_LIST_LAST_DESC, ORDER("s.last_episode_at", "DESC"))
LIST_PAIR(SQL_LIST_LAST_ASC, ORDER("s.last_episode_at", "ASC"))
LIST_PAIR(SQL_LIST_SUBJECT_DESC, ORDER_SUBJECT("DESC"))
LIST_PAIR(SQL_LIST_SUBJECT_ASC, ORDER_SUBJECT("ASC"))
LIST_PAIR(SQL_LIST_EPISODES_DESC, ORDER("s.episode_count", "DESC"))
LIST_PAIR(SQL_LIST_EPISODES_ASC, ORDER("s.episode_count", "ASC"))
LIST_PAIR(SQL_LIST_MEMORIES_DESC, ORDER("s.memory_count", "DESC"))
LIST_PAIR(SQL_LIST_MEMORIES_ASC, ORDER("s.memory_count", "ASC"))
static const char SQL_LIST_COUNT[] =
    "SELECT count(*) FROM subject_stats s" LIST_WHERE_NO_HEALTH " AND $4::text IS NULL";
static const char SQL_LIST_COUNT_HEALTH[] = "SELECT count(*)" LIST_FROM LIST_WHERE;
static const char SQL_LIST_COUNT_SEARCH[] =
    "SELECT count(*) FROM subject_stats s" LIST_WHERE_NO_HEALTH_SEARCH " AND $4::text IS NULL";
static const char SQL_LIST_COUNT_HEALTH_SEARCH[] = "SELECT count(*)" LIST_FROM LIST_WHERE_SEARCH;

/* ---- one subject ----
 * $1 subject, $2 every tenant, $3 the tenant key. */
#define SCOPE "subject_id = $1 AND ($2::boolean OR COALESCE(tenant_id, '') = $3::text)"

static const char SQL_SUMMARY[] =
    "SELECT (SELECT count(*) FROM episodes WHERE " SCOPE "),"
    " (SELECT count(*) FROM memories WHERE " SCOPE "),"
    " (SELECT count(DISTINCT session_id) FROM episodes WHERE " SCOPE "),"
    " (SELECT count(DISTINCT session_id) FROM resolutions WHERE " SCOPE "),"
    " (SELECT min(created_at) FROM episodes WHERE " SCOPE "),"
    " (SELECT max(created_at) FROM episodes WHERE " SCOPE "),"
    " (SELECT min(tenant_id) FROM episodes WHERE " SCOPE "),"
    " (SELECT count(*) FROM subject_stats WHERE " SCOPE "),"
    " (SELECT tenant_id FROM subject_stats WHERE " SCOPE " LIMIT 1)";

/* $4 session, $5 type, $6 search, $7 limit, $8 offset. */
#define EP_WHERE                                                                          \
    " WHERE " SCOPE " AND ($4::text IS NULL OR session_id = $4::text)"                    \
    " AND ($5::text IS NULL OR type = $5::text) AND ($6::text IS NULL"                    \
    " OR payload::text ILIKE '%' || $6::text || '%' OR type ILIKE '%' || $6::text || '%'" \
    " OR source ILIKE '%' || $6::text || '%' OR session_id ILIKE '%' || $6::text || '%')"
static const char SQL_EP_NEWEST[] =
    "SELECT " PG_EPISODE_COLS " FROM episodes" EP_WHERE
    " ORDER BY created_at DESC, seq DESC LIMIT $7 OFFSET $8";
static const char SQL_EP_OLDEST[] =
    "SELECT " PG_EPISODE_COLS " FROM episodes" EP_WHERE
    " ORDER BY created_at, seq LIMIT $7 OFFSET $8";
static const char SQL_EP_COUNT[] = "SELECT count(*) FROM episodes" EP_WHERE;

#define MEM_COLS_NO_VEC                                                                     \
    "id, subject_id, tenant_id, kind, content, summary, confidence, valid_from, valid_to, " \
    "array_to_json(source_episode_ids), metadata, status, NULL::bytea, sensitivity_labels, " \
    "created_at, updated_at"
/* $4 id, $5 not id, $6 status, $7 kind, $8 search, $9 cited ids, $10 created after, $11
 * created before, $12 limit, $13 offset. */
#define MEM_WHERE                                                                           \
    " WHERE " SCOPE " AND ($4::uuid IS NULL OR id = $4::uuid)"                              \
    " AND ($5::uuid IS NULL OR id <> $5::uuid) AND ($6::text IS NULL OR status = $6::text)" \
    " AND ($7::text IS NULL OR kind = $7::text) AND ($8::text IS NULL"                      \
    " OR content ILIKE '%' || $8::text || '%' OR summary ILIKE '%' || $8::text || '%'"      \
    " OR kind ILIKE '%' || $8::text || '%')"                                                \
    " AND ($9::uuid[] IS NULL OR source_episode_ids && $9::uuid[])"                         \
    " AND ($10::timestamptz IS NULL OR created_at > $10::timestamptz)"                      \
    " AND ($11::timestamptz IS NULL OR created_at < $11::timestamptz)"
static const char SQL_MEM_NEWEST[] =
    "SELECT " MEM_COLS_NO_VEC " FROM memories" MEM_WHERE
    " ORDER BY created_at DESC, seq DESC LIMIT $12 OFFSET $13";
static const char SQL_MEM_OLDEST[] =
    "SELECT " MEM_COLS_NO_VEC " FROM memories" MEM_WHERE
    " ORDER BY created_at, seq LIMIT $12 OFFSET $13";
static const char SQL_MEM_COUNT[] = "SELECT count(*) FROM memories" MEM_WHERE;

/* $4 session (NULL = any), $5 limit. */
static const char SQL_RESOLUTIONS[] =
    "SELECT id, subject_id, tenant_id, session_id, status, resolution_summary, resolved_at,"
    " metadata_, created_at, updated_at FROM resolutions WHERE " SCOPE
    " AND ($4::text IS NULL OR session_id = $4::text) ORDER BY updated_at DESC, seq LIMIT $5";

/* $4 the episode ids: one row per id cited at least once. */
static const char SQL_CITING[] =
    "SELECT e::text, count(*) FROM memories m, unnest(m.source_episode_ids) e"
    " WHERE m.subject_id = $1 AND ($2::boolean OR COALESCE(m.tenant_id, '') = $3::text)"
    " AND e = ANY($4::uuid[]) GROUP BY e";

/* $1 LIKE prefix (NULL = any), $2 exact subject, $3 every tenant, $4 the tenant key, $5 older
 * than, $6 pairs with episodes only, $7 / $8 the range of subject_id (byte order) that the
 * prefix's literal head spans ($8 NULL: no end), so that the subject_id index is read over
 * that range only. */
static const char SQL_MATCH[] =
    "SELECT subject_id, tenant_id, episode_count, memory_count, last_episode_at"
    " FROM subject_stats WHERE subject_id COLLATE \"C\" >= $7::text"
    " AND ($8::text IS NULL OR subject_id COLLATE \"C\" < $8::text)"
    " AND ($1::text IS NULL OR subject_id LIKE $1::text || '%')"
    " AND ($2::text IS NULL OR subject_id = $2::text)"
    " AND ($3::boolean OR COALESCE(tenant_id, '') = $4::text)"
    " AND ($5::timestamptz IS NULL OR last_episode_at < $5::timestamptz)"
    " AND (episode_count > 0 OR (NOT $6::boolean AND memory_count > 0))"
    " ORDER BY subject_id COLLATE \"C\", COALESCE(tenant_id, '') COLLATE \"C\"";

static void scope_params(const struct store_scope *sc, const char *vals[3])
{
    vals[0] = sc->subject;
    vals[1] = sc->all_tenants ? "true" : "false";
    vals[2] = pgst_tenant_key(sc->all_tenants ? NULL : sc->tenant);
}

/* Run the count statement sql with vals into *total. */
static int count_rows(struct pgst_store *ps, const char *sql, int n, const char *const *vals,
                      int64_t *total, struct err *err)
{
    return pgst_exec_int64(ps, sql, n, vals, total, err);
}

/* Run sql with vals and read its rows with read into *items / *n. */
static int page_rows(struct pgst_store *ps, struct arena *a, const char *sql, int nvals,
                     const char *const *vals, size_t size, pgst_row_reader *read, void **items,
                     size_t *n, struct err *err)
{
    PGresult *r = pgst_exec(ps, sql, nvals, vals, err);

    return pgst_take_rows(a, r, size, read, items, n, err);
}

/* ---- GET /admin/subjects ---- */

static const char *list_sql(const struct explorer_subject_query *q)
{
    static const char *const sql[][2][4] = EXPLORER_LIST_TABLE;

    return sql[q->sort][q->descending != 0][2 * (q->search != NULL) + (q->health_state != NULL)];
}

static int read_listed(struct arena *a, const PGresult *r, int row, void *out)
{
    struct explorer_subject *x = out;

    x->subject_id = pgst_col_str(a, r, row, 0);
    x->tenant_id = pgst_col_str(a, r, row, 1);
    x->episode_count = pgst_col_int(r, row, 2);
    x->memory_count = pgst_col_int(r, row, 3);
    x->session_count = pgst_col_int(r, row, 4);
    x->open_sessions = pgst_col_int(r, row, 5);
    x->health_state = pgst_col_str(a, r, row, 7);
    x->health_score = pgst_col_int(r, row, 8);
    return pgst_col_ts(r, row, 6, &x->last_episode_at);
}

/* A search's count and page, planned for their pattern at every run (PGST_REPLAN): the
 * prepared statement's generic plan, after its fifth run, chose the trigram index for every
 * pattern alike, and a pattern without a trigram (`7`) then read the whole index and
 * rechecked every row (about 80 ms on 100,000 subjects against 12 ms for the walk). */
struct search_page {
    struct arena *a;
    struct explorer_subject_rows *out;
    size_t cap;
};

static int search_total(void *ctx, const PGresult *r, int row, struct err *err)
{
    (void)err;
    *(int64_t *)ctx = pgst_col_int(r, row, 0);
    return 0;
}

static int search_row(void *ctx, const PGresult *r, int row, struct err *err)
{
    struct search_page *p = ctx;

    if (p->out->n == p->cap)
        return err_set(err, ERR_INTERNAL, "database error"), -1;
    if (read_listed(p->a, r, row, &p->out->items[p->out->n]) < 0)
        return err_set(err, ERR_INTERNAL, "database error"), -1;
    p->out->n++;
    return 0;
}

static int search_subjects(struct pgst_store *ps, struct arena *a,
                           const struct explorer_subject_query *q, const char *count_sql,
                           const char *const *vals, struct explorer_subject_rows *out,
                           struct err *err)
{
    struct search_page page = { a, out, q->limit };

    out->items = arena_calloc(a, page.cap ? page.cap : 1, sizeof(*out->items));
    if (pgst_exec_stream(ps, count_sql, 5, vals, PGST_REPLAN, search_total, &out->total, err) < 0)
        return -1;
    /* No page past the last match: a pattern nothing matches costs one pass, not two. */
    if (out->total <= (int64_t)q->offset)
        return 0;
    return pgst_exec_stream(ps, list_sql(q), 7, vals, PGST_REPLAN, search_row, &page, err);
}

int pgst_explorer_subjects(store *st, struct arena *a, const struct explorer_subject_query *q,
                           struct explorer_subject_rows *out, struct err *err)
{
    static const char *const count_sql[2][2] = {
        { SQL_LIST_COUNT, SQL_LIST_COUNT_HEALTH },
        { SQL_LIST_COUNT_SEARCH, SQL_LIST_COUNT_HEALTH_SEARCH },
    };
    struct pgst_store *ps = pgst_downcast(st);
    char open[PG_INT_LEN], lim[PG_INT_LEN], off[PG_INT_LEN];
    const char *vals[7] = { q->all_tenants ? "true" : "false",
                            pgst_tenant_key(q->all_tenants ? NULL : q->tenant), q->search,
                            q->health_state, pgst_int_param(q->has_open, open),
                            pgst_size_param(q->limit, lim), pgst_size_param(q->offset, off) };
    void *rows = NULL;

    memset(out, 0, sizeof(*out));
    if (q->search)
        return search_subjects(ps, a, q, count_sql[1][q->health_state != NULL], vals, out, err);
    if (count_rows(ps, count_sql[q->search != NULL][q->health_state != NULL], 5, vals,
                   &out->total, err) < 0 ||
        page_rows(ps, a, list_sql(q), 7, vals, sizeof(*out->items), read_listed, &rows,
                  &out->n, err) < 0)
        return -1;
    out->items = rows;
    return 0;
}

/* ---- one subject ---- */

int pgst_explorer_summary(store *st, struct arena *a, const struct store_scope *sc,
                          struct explorer_summary *out, struct err *err)
{
    const char *vals[3];
    PGresult *r;
    int bad;

    memset(out, 0, sizeof(*out));
    scope_params(sc, vals);
    r = pgst_exec(pgst_downcast(st), SQL_SUMMARY, 3, vals, err);
    if (!r)
        return -1;
    out->episode_count = pgst_col_int(r, 0, 0);
    out->memory_count = pgst_col_int(r, 0, 1);
    out->episode_sessions = pgst_col_int(r, 0, 2);
    out->resolution_sessions = pgst_col_int(r, 0, 3);
    out->any_tenant = pgst_col_str(a, r, 0, 6);
    out->npairs = pgst_col_int(r, 0, 7);
    out->pair_tenant = pgst_col_str(a, r, 0, 8);
    bad = pgst_col_ts(r, 0, 4, &out->first_seen_at) < 0 ||
          pgst_col_ts(r, 0, 5, &out->last_activity_at) < 0;
    PQclear(r);
    return bad ? err_set(err, ERR_INTERNAL, "database error") : 0;
}

int pgst_explorer_episodes(store *st, struct arena *a, const struct store_scope *sc,
                           const struct explorer_episode_query *q,
                           struct explorer_episode_rows *out, struct err *err)
{
    struct pgst_store *ps = pgst_downcast(st);
    char lim[PG_INT_LEN], off[PG_INT_LEN];
    const char *vals[8] = { NULL, NULL, NULL, q->session_id, q->type, q->search,
                            pgst_size_param(q->limit, lim), pgst_size_param(q->offset, off) };
    void *rows = NULL;

    memset(out, 0, sizeof(*out));
    scope_params(sc, vals);
    if ((!q->no_total && count_rows(ps, SQL_EP_COUNT, 6, vals, &out->total, err) < 0) ||
        page_rows(ps, a, q->oldest_first ? SQL_EP_OLDEST : SQL_EP_NEWEST, 8, vals,
                  sizeof(*out->items), pgst_read_episode, &rows, &out->n, err) < 0)
        return -1;
    out->items = rows;
    return 0;
}

/* The parameters of a memory query; ids and the time buffers must outlive the calls. */
static void memory_params(const struct store_scope *sc, const struct explorer_memory_query *q,
                          struct buf *ids, char when[2][TS_STR_LEN], char page[2][PG_INT_LEN],
                          const char *vals[13])
{
    scope_params(sc, vals);
    vals[3] = q->id;
    vals[4] = q->exclude_id;
    vals[5] = q->status;
    vals[6] = q->kind;
    vals[7] = q->search;
    vals[8] = NULL;
    if (q->ncites) {
        pgst_ids_array(ids, q->cites, q->ncites);
        vals[8] = ids->data;
    }
    vals[9] = pgst_ts_param(q->created_after, when[0]);
    vals[10] = pgst_ts_param(q->created_before, when[1]);
    vals[11] = pgst_size_param(q->limit, page[0]);
    vals[12] = pgst_size_param(q->offset, page[1]);
}

int pgst_explorer_memories(store *st, struct arena *a, const struct store_scope *sc,
                           const struct explorer_memory_query *q,
                           struct explorer_memory_rows *out, struct err *err)
{
    struct pgst_store *ps = pgst_downcast(st);
    char when[2][TS_STR_LEN], page[2][PG_INT_LEN];
    const char *vals[13];
    struct buf ids = BUF_INIT;
    void *rows = NULL;
    int ret = 0;

    memset(out, 0, sizeof(*out));
    memory_params(sc, q, &ids, when, page, vals);
    if (count_rows(ps, SQL_MEM_COUNT, 11, vals, &out->total, err) < 0 ||
        page_rows(ps, a, q->oldest_first ? SQL_MEM_OLDEST : SQL_MEM_NEWEST, 13, vals,
                  sizeof(*out->items), pgst_read_memory, &rows, &out->n, err) < 0)
        ret = -1;
    buf_release(&ids);
    out->items = rows;
    return ret;
}

int pgst_explorer_resolutions(store *st, struct arena *a, const struct store_scope *sc,
                              const char *session, size_t limit, struct resolution_rows *out,
                              struct err *err)
{
    char lim[PG_INT_LEN];
    const char *vals[5] = { NULL, NULL, NULL, session, pgst_size_param(limit, lim) };
    void *rows = NULL;
    int ret;

    scope_params(sc, vals);
    ret = page_rows(pgst_downcast(st), a, SQL_RESOLUTIONS, 5, vals, sizeof(*out->items),
                    pgst_read_resolution_row, &rows, &out->n, err);
    out->items = rows;
    return ret;
}

int pgst_explorer_citing_counts(store *st, const struct store_scope *sc,
                                const struct store_ids *ids, int64_t *counts, struct err *err)
{
    struct buf list = BUF_INIT;
    const char *vals[4];
    PGresult *r = NULL;
    size_t i;
    int row;

    memset(counts, 0, ids->n * sizeof(*counts));
    if (pgst_ids_array(&list, ids->items, ids->n) > 0) {
        scope_params(sc, vals);
        vals[3] = list.data;
        r = pgst_exec(pgst_downcast(st), SQL_CITING, 4, vals, err);
        if (!r) {
            buf_release(&list);
            return -1;
        }
        for (row = 0; row < PQntuples(r); row++)
            for (i = 0; i < ids->n; i++)
                if (strcmp(ids->items[i], PQgetvalue(r, row, 0)) == 0)
                    counts[i] = pgst_col_int(r, row, 1);
        PQclear(r);
    }
    buf_release(&list);
    return 0;
}

static int read_match(struct arena *a, const PGresult *r, int row, void *out)
{
    struct subject_match *m = out;

    m->subject_id = pgst_col_str(a, r, row, 0);
    m->tenant_id = pgst_col_str(a, r, row, 1);
    m->episode_count = pgst_col_int(r, row, 2);
    m->memory_count = pgst_col_int(r, row, 3);
    return pgst_col_ts(r, row, 4, &m->last_episode_at);
}

/* The first string past every string starting with head[0..n) in byte order, in out, or
 * NULL when there is none or it would not be valid UTF-8 (a last byte past 0x7e): the range
 * then has no end, which only reads more of the index. */
static const char *head_end(const char *head, size_t n, char *out, size_t size)
{
    if (n == 0 || n >= size || (unsigned char)head[n - 1] >= 0x7e)
        return NULL;
    memcpy(out, head, n);
    out[n - 1]++;
    out[n] = '\0';
    return out;
}

int pgst_subject_match(store *st, struct arena *a, const struct subject_selector *sel,
                       struct subject_match_rows *out, struct err *err)
{
    const char *prefix = sel->subject ? sel->subject : sel->prefix ? sel->prefix : "";
    size_t n = sel->subject ? strlen(prefix) : store_like_head(prefix);
    char older[TS_STR_LEN], end[300];
    const char *vals[8] = { sel->prefix, sel->subject, sel->all_tenants ? "true" : "false",
                            pgst_tenant_key(sel->all_tenants ? NULL : sel->tenant),
                            pgst_ts_param(sel->older_than, older),
                            sel->with_episodes_only ? "true" : "false",
                            arena_strndup(a, prefix, n), head_end(prefix, n, end, sizeof(end)) };
    void *rows = NULL;
    size_t i;
    int ret;

    memset(out, 0, sizeof(*out));
    ret = page_rows(pgst_downcast(st), a, SQL_MATCH, 8, vals, sizeof(*out->items), read_match,
                    &rows, &out->n, err);
    out->items = rows;
    for (i = 0; ret == 0 && i < out->n; i++) {
        out->episodes += out->items[i].episode_count;
        out->memories += out->items[i].memory_count;
    }
    return ret;
}
