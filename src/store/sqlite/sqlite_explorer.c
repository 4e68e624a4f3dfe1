/* sqlite_explorer.c - SQLite backend: the admin subject explorer's reads and the pair
 * selection of the admin deletes (spec/api.md §7.4, §7.5). The pair listings read
 * subject_stats (its schema step), whose triggers keep it; the per-subject reads walk the
 * subject_id indexes. Every statement is static text: optional filters are `?n IS NULL OR`
 * terms, and the sort orders are one statement each. */
#include "store/sqlite/sqlite-internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/ts.h"

/* ---- GET /admin/subjects ----
 * ?1 every tenant, ?2 the tenant, ?3 search (NULL = none), ?4 health state (NULL = none),
 * ?5 has open (-1 any, 0, 1), ?6 limit, ?7 offset. The health cache is joined on its unique
 * key, written exactly as the index is. */
#define LIST_FROM                                                                        \
    "FROM subject_stats s LEFT JOIN subject_health_cache h "                            \
    "ON COALESCE(h.tenant_id, '') = COALESCE(s.tenant_id, '') AND h.subject_id = s.subject_id "
#define LIST_WHERE_NO_HEALTH                                                             \
    "WHERE s.episode_count > 0 AND (?1 OR s.tenant_id IS ?2) "                          \
    "AND (?3 IS NULL OR s.subject_id LIKE '%' || ?3 || '%') "                           \
    "AND (?5 < 0 OR (s.open_sessions > 0) = ?5) "
#define LIST_WHERE LIST_WHERE_NO_HEALTH "AND (?4 IS NULL OR h.last_state = ?4) "
/* A page is read in two steps: the inner query picks the page's rowids walking one sort
 * index, which covers every filter (its schema step), so an offset skips index entries only;
 * the outer one reads those rows and their health. The health cache joins the inner query
 * only when it filters on it. */
#define ORDER(key, dir) \
    key " " dir ", s.subject_id " dir ", COALESCE(s.tenant_id, '') " dir
#define INNER(order) \
    "SELECT s.rowid AS rid FROM subject_stats s " LIST_WHERE_NO_HEALTH "AND ?4 IS NULL " \
    "ORDER BY " order " LIMIT ?6 OFFSET ?7"
#define INNER_HEALTH(order) \
    "SELECT s.rowid AS rid " LIST_FROM LIST_WHERE "ORDER BY " order " LIMIT ?6 OFFSET ?7"
#define OUTER(inner, order) \
    "SELECT s.subject_id, s.tenant_id, s.episode_count, s.memory_count, s.session_count, " \
    "s.open_sessions, s.last_episode_at, h.last_state, h.last_score FROM (" inner ") p "    \
    "CROSS JOIN subject_stats s ON s.rowid = p.rid LEFT JOIN subject_health_cache h "        \
    "ON COALESCE(h.tenant_id, '') = COALESCE(s.tenant_id, '') AND h.subject_id = s.subject_id " \
    "ORDER BY " order
/* The same through the subject_id trigram index (schema step 15), for a selective search:
 * the candidates are the ids holding the pattern's rarest trigrams (?8, an FTS5 query of
 * those trigrams: a superset of the matches), each is looked up in subject_stats by
 * subject_id, where the search's LIKE decides, and the page is sorted from those rows. The
 * join order is forced: the index first. */
#define FTS_FROM                                                                         \
    "FROM subject_search f CROSS JOIN subject_search_ids i ON i.id = f.rowid "           \
    "CROSS JOIN subject_stats s ON s.subject_id = i.subject_id "
#define FTS_MATCH "AND f.subject_search MATCH ?8 "
#define FTS_HEALTH_JOIN                                                                  \
    "LEFT JOIN subject_health_cache h ON COALESCE(h.tenant_id, '') = COALESCE(s.tenant_id, '') " \
    "AND h.subject_id = s.subject_id "
#define INNER_FTS(order) \
    "SELECT s.rowid AS rid " FTS_FROM LIST_WHERE_NO_HEALTH FTS_MATCH "AND ?4 IS NULL "   \
    "ORDER BY " order " LIMIT ?6 OFFSET ?7"
#define INNER_FTS_HEALTH(order) \
    "SELECT s.rowid AS rid " FTS_FROM FTS_HEALTH_JOIN LIST_WHERE FTS_MATCH               \
    "ORDER BY " order " LIMIT ?6 OFFSET ?7"
#define LIST_PAIR(name, order) \
    static const char name[] = OUTER(INNER(order), order); \
    static const char name##_HEALTH[] = OUTER(INNER_HEALTH(order), order); \
    static const char name##_SEARCH[] = OUTER(INNER_FTS(order), order); \
    static const char name##_SEARCH_HEALTH[] = OUTER(INNER_FTS_HEALTH(order), order);

LIST_PAIR(SQL_LIST_LAST_DESC, ORDER("s.last_episode_at", "DESC"))
LIST_PAIR(SQL_LIST_LAST_ASC, ORDER("s.last_episode_at", "ASC"))
LIST_PAIR(SQL_LIST_SUBJECT_DESC, "s.subject_id DESC, COALESCE(s.tenant_id, '') DESC")
LIST_PAIR(SQL_LIST_SUBJECT_ASC, "s.subject_id ASC, COALESCE(s.tenant_id, '') ASC")
LIST_PAIR(SQL_LIST_EPISODES_DESC, ORDER("s.episode_count", "DESC"))
LIST_PAIR(SQL_LIST_EPISODES_ASC, ORDER("s.episode_count", "ASC"))
LIST_PAIR(SQL_LIST_MEMORIES_DESC, ORDER("s.memory_count", "DESC"))
LIST_PAIR(SQL_LIST_MEMORIES_ASC, ORDER("s.memory_count", "ASC"))
/* The count needs the health cache only to filter on it. */
static const char SQL_LIST_COUNT[] =
    "SELECT COUNT(*) FROM subject_stats s " LIST_WHERE_NO_HEALTH "AND ?4 IS NULL";
static const char SQL_LIST_COUNT_HEALTH[] = "SELECT COUNT(*) " LIST_FROM LIST_WHERE;
static const char SQL_LIST_COUNT_FTS[] =
    "SELECT COUNT(*) " FTS_FROM LIST_WHERE_NO_HEALTH FTS_MATCH "AND ?4 IS NULL";
static const char SQL_LIST_COUNT_FTS_HEALTH[] =
    "SELECT COUNT(*) " FTS_FROM FTS_HEALTH_JOIN LIST_WHERE FTS_MATCH;
/* How many subject ids hold the trigram of FTS5 query ?1, counted up to ?2 (the index reads
 * its list of ids lazily: the count costs at most ?2 steps, where the vocabulary table would
 * read a common trigram's whole list). */
static const char SQL_TRIGRAM_IDS[] =
    "SELECT COUNT(*) FROM (SELECT 1 FROM subject_search WHERE subject_search MATCH ?1"
    " LIMIT ?2)";

/* ---- one subject ----
 * ?1 subject, ?2 every tenant, ?3 the tenant. */
#define SCOPE "subject_id = ?1 AND (?2 OR tenant_id IS ?3)"

static const char SQL_SUMMARY[] =
    "SELECT (SELECT COUNT(*) FROM episodes WHERE " SCOPE "), "
    "(SELECT COUNT(*) FROM memories WHERE " SCOPE "), "
    "(SELECT COUNT(DISTINCT session_id) FROM episodes WHERE " SCOPE
    " AND session_id IS NOT NULL), "
    "(SELECT COUNT(DISTINCT session_id) FROM resolutions WHERE " SCOPE "), "
    "(SELECT MIN(created_at) FROM episodes WHERE " SCOPE "), "
    "(SELECT MAX(created_at) FROM episodes WHERE " SCOPE "), "
    "(SELECT MIN(tenant_id) FROM episodes WHERE " SCOPE "), "
    "(SELECT COUNT(*) FROM subject_stats WHERE " SCOPE "), "
    "(SELECT tenant_id FROM subject_stats WHERE " SCOPE " LIMIT 1)";

/* ?4 session, ?5 type, ?6 search, ?7 limit, ?8 offset. */
#define EP_WHERE                                                                         \
    "WHERE " SCOPE " AND (?4 IS NULL OR session_id = ?4) AND (?5 IS NULL OR type = ?5) " \
    "AND (?6 IS NULL OR payload LIKE '%' || ?6 || '%' OR type LIKE '%' || ?6 || '%' "   \
    "OR source LIKE '%' || ?6 || '%' OR session_id LIKE '%' || ?6 || '%') "
static const char SQL_EP_NEWEST[] =
    "SELECT " SQ_EPISODE_COLS " FROM episodes " EP_WHERE
    "ORDER BY created_at DESC, seq DESC LIMIT ?7 OFFSET ?8";
static const char SQL_EP_OLDEST[] =
    "SELECT " SQ_EPISODE_COLS " FROM episodes " EP_WHERE
    "ORDER BY created_at, seq LIMIT ?7 OFFSET ?8";
static const char SQL_EP_COUNT[] = "SELECT COUNT(*) FROM episodes " EP_WHERE;

/* The memory columns without the embedding (read as NULL: "no embedding"). */
#define MEM_COLS_NO_VEC                                                                   \
    "id, subject_id, tenant_id, kind, content, summary, confidence, valid_from, valid_to, " \
    "source_episode_ids, metadata, status, NULL, sensitivity_labels, created_at, updated_at"
/* ?4 id, ?5 not id, ?6 status, ?7 kind, ?8 search, ?9 cited ids (JSON array), ?10 created
 * after, ?11 created before, ?12 limit, ?13 offset. */
#define MEM_WHERE                                                                        \
    "WHERE " SCOPE " AND (?4 IS NULL OR id = ?4) AND (?5 IS NULL OR id <> ?5) "          \
    "AND (?6 IS NULL OR status = ?6) AND (?7 IS NULL OR kind = ?7) "                     \
    "AND (?8 IS NULL OR content LIKE '%' || ?8 || '%' OR summary LIKE '%' || ?8 || '%' " \
    "OR kind LIKE '%' || ?8 || '%') "                                                   \
    "AND (?9 IS NULL OR EXISTS (SELECT 1 FROM json_each(memories.source_episode_ids) j " \
    "WHERE j.value IN (SELECT value FROM json_each(?9)))) "                             \
    "AND (?10 IS NULL OR created_at > ?10) AND (?11 IS NULL OR created_at < ?11) "
static const char SQL_MEM_NEWEST[] =
    "SELECT " MEM_COLS_NO_VEC " FROM memories " MEM_WHERE
    "ORDER BY created_at DESC, seq DESC LIMIT ?12 OFFSET ?13";
static const char SQL_MEM_OLDEST[] =
    "SELECT " MEM_COLS_NO_VEC " FROM memories " MEM_WHERE
    "ORDER BY created_at, seq LIMIT ?12 OFFSET ?13";
static const char SQL_MEM_COUNT[] = "SELECT COUNT(*) FROM memories " MEM_WHERE;

/* ?4 session (NULL = any), ?5 limit. */
static const char SQL_RESOLUTIONS[] =
    "SELECT id, subject_id, tenant_id, session_id, status, resolution_summary, resolved_at, "
    "metadata_, created_at, updated_at FROM resolutions WHERE " SCOPE
    " AND (?4 IS NULL OR session_id = ?4) ORDER BY updated_at DESC, seq LIMIT ?5";

/* ?4 the episode ids (JSON array): one row per id cited at least once. */
static const char SQL_CITING[] =
    "SELECT j.value, COUNT(*) FROM memories m, json_each(m.source_episode_ids) j "
    "WHERE m.subject_id = ?1 AND (?2 OR m.tenant_id IS ?3) "
    "AND j.value IN (SELECT value FROM json_each(?4)) GROUP BY j.value";

/* ---- the pairs of a delete ----
 * ?1 prefix as a GLOB pattern (NULL = any), ?2 exact subject, ?3 every tenant, ?4 the tenant,
 * ?5 older than (NULL = any), ?6 pairs with episodes only, ?7 / ?8 the range of subject_id
 * the prefix's literal head spans (?8 an empty BLOB, which sorts after every TEXT, when it
 * has no end): the subject_id index is read over that range only. */
static const char SQL_MATCH[] =
    "SELECT subject_id, tenant_id, episode_count, memory_count, last_episode_at "
    "FROM subject_stats WHERE subject_id >= ?7 AND subject_id < ?8 "
    "AND (?1 IS NULL OR subject_id GLOB ?1) "
    "AND (?2 IS NULL OR subject_id = ?2) AND (?3 OR tenant_id IS ?4) "
    "AND (?5 IS NULL OR last_episode_at < ?5) "
    "AND (episode_count > 0 OR (NOT ?6 AND memory_count > 0)) "
    "ORDER BY subject_id, COALESCE(tenant_id, '')";

static void bind_scope(sqlite3_stmt *q, const struct store_scope *sc)
{
    sq_bind_str(q, 1, sc->subject);
    sqlite3_bind_int(q, 2, sc->all_tenants != 0);
    sq_bind_tenant(q, 3, sc->all_tenants ? NULL : sc->tenant);
}

/* A fixed-width timestamp bound at i (TS_NULL = NULL); buf must outlive the statement. */
static void bind_ts_opt(sqlite3_stmt *q, int i, int64_t us, char buf[TS_STR_LEN])
{
    if (us == TS_NULL) {
        sqlite3_bind_null(q, i);
        return;
    }
    ts_format_fixed(us, buf, TS_STR_LEN);
    sqlite3_bind_text(q, i, buf, -1, SQLITE_STATIC);
}

/* Run the bound count statement q into *total. */
static int count_rows(struct sqlite_store *s, sqlite3_stmt *q, int64_t *total, struct err *err)
{
    return sq_query_int64(s, q, "explorer count", total, err);
}

/* ---- GET /admin/subjects ---- */

/* The page statement of q's sort order and filters; fts: through the trigram index. */
static const char *list_sql(const struct explorer_subject_query *q, int fts)
{
    static const char *const sql[][2][4] = EXPLORER_LIST_TABLE;

    return sql[q->sort][q->descending != 0][2 * (fts != 0) + (q->health_state != NULL)];
}

/* Whether search is better answered through the trigram index than by walking a sort index
 * over every pair, and with which trigrams. The index only narrows by a literal run of 3 or
 * more characters, and a pattern most ids match costs more through it (a lookup per
 * candidate) than the walk. So: for each ASCII trigram of the pattern's literal runs (up to
 * SEARCH_LOOKUPS), how many ids hold it, counted up to SEARCH_INDEX_MAX + 1 (an upper bound
 * of the matches); the index is used when the rarest is held by at most
 * SEARCH_INDEX_MAX ids, and queried with the two rarest only (FTS5 would otherwise read
 * every trigram's list, the common ones' too). Trigrams with other bytes are not folded here
 * and not looked up; a pattern without an ASCII trigram walks. */
#define SEARCH_INDEX_MAX 5000
#define SEARCH_LOOKUPS 8

struct trigram_pick {
    char tri[2][3];
    int64_t docs[2];                /* -1: none */
};

/* The ASCII trigram at p folded to lower case into tri; 0 when it has another byte. */
static int ascii_trigram(const char *p, char tri[3])
{
    int j;

    for (j = 0; j < 3; j++) {
        if ((unsigned char)p[j] >= 0x80)
            return 0;
        tri[j] = (char)(p[j] >= 'A' && p[j] <= 'Z' ? p[j] - 'A' + 'a' : p[j]);
    }
    return 1;
}

/* Keep tri (held by n ids) if it is one of the two rarest seen. */
static void pick_rarest(struct trigram_pick *k, const char tri[3], int64_t n)
{
    int i = k->docs[0] < 0 || n < k->docs[0] ? 0 : k->docs[1] < 0 || n < k->docs[1] ? 1 : 2;

    if (i == 2 || (i == 1 && memcmp(k->tri[0], tri, 3) == 0))
        return;
    if (i == 0 && memcmp(k->tri[0], tri, 3) != 0) {
        memcpy(k->tri[1], k->tri[0], 3);
        k->docs[1] = k->docs[0];
    }
    memcpy(k->tri[i], tri, 3);
    k->docs[i] = n;
}

static void trigram_query(struct buf *b, const struct trigram_pick *k);

static int search_trigrams(struct sqlite_store *s, const char *search, struct trigram_pick *k,
                           struct err *err)
{
    struct trigram_pick one = { .docs = { 0, -1 } };
    sqlite3_stmt *q = NULL;
    struct buf b;
    int lookups = 0;
    const char *p;
    size_t run, i;
    char tri[3];
    int64_t n;

    k->docs[0] = k->docs[1] = -1;
    if (!store_search_has_trigram(search))
        return 0;
    buf_init(&b);
    for (p = search; *p && lookups < SEARCH_LOOKUPS; p += run ? run : 1) {
        run = strcspn(p, "%_\\");
        for (i = 0; i + 3 <= run && lookups < SEARCH_LOOKUPS; i++) {
            if (!ascii_trigram(p + i, tri))
                continue;
            if (!q && !(q = sq_stmt(s, SQL_TRIGRAM_IDS, err)))
                return -1;
            one.docs[0] = 0;
            memcpy(one.tri[0], tri, 3);
            buf_reset(&b);
            trigram_query(&b, &one);
            sqlite3_bind_text(q, 1, b.data, (int)b.len, SQLITE_TRANSIENT);
            sqlite3_bind_int64(q, 2, SEARCH_INDEX_MAX + 1);
            if (sq_query_int64(s, q, "explorer search estimate", &n, err) < 0) {
                buf_release(&b);
                return -1;
            }
            lookups++;
            pick_rarest(k, tri, n);
        }
    }
    buf_release(&b);
    return 0;
}

/* The FTS5 query of k's trigrams into b: each a quoted string (`"` doubled), ANDed. */
static void trigram_query(struct buf *b, const struct trigram_pick *k)
{
    int i, j;

    for (i = 0; i < 2 && k->docs[i] >= 0; i++) {
        buf_append(b, i ? " \"" : "\"", i ? 2 : 1);
        for (j = 0; j < 3; j++)
            buf_append(b, k->tri[i][j] == '"' ? "\"\"" : &k->tri[i][j],
                       k->tri[i][j] == '"' ? 2 : 1);
        buf_append(b, "\"", 1);
    }
}

/* fts: the FTS5 query of the trigram statements (NULL for the others). */
static void bind_list(sqlite3_stmt *q, const struct explorer_subject_query *lq, int paged,
                      const struct buf *fts)
{
    if (fts)
        sqlite3_bind_text(q, 8, fts->data, (int)fts->len, SQLITE_STATIC);
    sqlite3_bind_int(q, 1, lq->all_tenants != 0);
    sq_bind_tenant(q, 2, lq->all_tenants ? NULL : lq->tenant);
    sq_bind_str(q, 3, lq->search);
    sq_bind_str(q, 4, lq->health_state);
    sqlite3_bind_int(q, 5, lq->has_open);
    if (paged) {
        sq_bind_count(q, 6, lq->limit, 1);
        sq_bind_count(q, 7, lq->offset, 0);
    }
}

static int read_listed(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    struct explorer_subject *x = row;

    x->subject_id = sq_col_str(a, q, 0);
    x->tenant_id = sq_col_str(a, q, 1);
    x->episode_count = sqlite3_column_int64(q, 2);
    x->memory_count = sqlite3_column_int64(q, 3);
    x->session_count = sqlite3_column_int64(q, 4);
    x->open_sessions = sqlite3_column_int64(q, 5);
    x->health_state = sq_col_str(a, q, 7);
    x->health_score = sqlite3_column_int64(q, 8);
    if (sq_col_ts(q, 6, &x->last_episode_at) < 0)
        return sq_bad_timestamp("subject_stats", err);
    return 0;
}

int sq_explorer_subjects(store *st, struct arena *a, const struct explorer_subject_query *lq,
                         struct explorer_subject_rows *out, struct err *err)
{
    static const char *const count_sql[2][2] = {
        { SQL_LIST_COUNT, SQL_LIST_COUNT_HEALTH },
        { SQL_LIST_COUNT_FTS, SQL_LIST_COUNT_FTS_HEALTH },
    };
    struct sqlite_store *s = sq_downcast(st);
    struct trigram_pick pick = { .docs = { -1, -1 } };
    sqlite3_stmt *q;
    void *rows = NULL;
    struct buf match;
    int fts, ret = -1;

    memset(out, 0, sizeof(*out));
    buf_init(&match);
    if (lq->search && search_trigrams(s, lq->search, &pick, err) < 0)
        goto cleanup;
    fts = pick.docs[0] >= 0 && pick.docs[0] <= SEARCH_INDEX_MAX;
    if (fts)
        trigram_query(&match, &pick);
    q = sq_stmt(s, count_sql[fts][lq->health_state != NULL], err);
    if (!q)
        goto cleanup;
    bind_list(q, lq, 0, fts ? &match : NULL);
    if (count_rows(s, q, &out->total, err) < 0)
        goto cleanup;
    /* No page past the last match: a search nothing matches (a rare short one walks every
     * pair) costs one pass, not two. */
    if (out->total <= (int64_t)lq->offset) {
        ret = 0;
        goto cleanup;
    }
    q = sq_stmt(s, list_sql(lq, fts), err);
    if (!q)
        goto cleanup;
    bind_list(q, lq, 1, fts ? &match : NULL);
    ret = sq_collect_rows(s, a, q, sizeof(*out->items), lq->limit, read_listed, &rows, &out->n,
                          err);
    out->items = rows;
cleanup:
    buf_release(&match);
    return ret;
}

/* ---- one subject ---- */

int sq_explorer_summary(store *st, struct arena *a, const struct store_scope *sc,
                        struct explorer_summary *out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_SUMMARY, err);
    int rc;

    memset(out, 0, sizeof(*out));
    if (!q)
        return -1;
    bind_scope(q, sc);
    rc = sq_step(q);
    if (rc != SQLITE_ROW) {
        sq_reset(q);
        return sq_fail(s, "explorer summary", rc, err);
    }
    out->episode_count = sqlite3_column_int64(q, 0);
    out->memory_count = sqlite3_column_int64(q, 1);
    out->episode_sessions = sqlite3_column_int64(q, 2);
    out->resolution_sessions = sqlite3_column_int64(q, 3);
    out->any_tenant = sq_col_str(a, q, 6);
    out->npairs = sqlite3_column_int64(q, 7);
    out->pair_tenant = sq_col_str(a, q, 8);
    rc = sq_col_ts(q, 4, &out->first_seen_at) < 0 || sq_col_ts(q, 5, &out->last_activity_at) < 0;
    sq_reset(q);
    return rc ? sq_bad_timestamp("episodes", err) : 0;
}

static void bind_episode_query(sqlite3_stmt *q, const struct store_scope *sc,
                               const struct explorer_episode_query *eq, int paged)
{
    bind_scope(q, sc);
    sq_bind_str(q, 4, eq->session_id);
    sq_bind_str(q, 5, eq->type);
    sq_bind_str(q, 6, eq->search);
    if (paged) {
        sq_bind_count(q, 7, eq->limit, 1);
        sq_bind_count(q, 8, eq->offset, 0);
    }
}

int sq_explorer_episodes(store *st, struct arena *a, const struct store_scope *sc,
                         const struct explorer_episode_query *eq,
                         struct explorer_episode_rows *out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q;
    void *rows = NULL;

    memset(out, 0, sizeof(*out));
    if (!eq->no_total) {
        q = sq_stmt(s, SQL_EP_COUNT, err);
        if (!q)
            return -1;
        bind_episode_query(q, sc, eq, 0);
        if (count_rows(s, q, &out->total, err) < 0)
            return -1;
    }
    q = sq_stmt(s, eq->oldest_first ? SQL_EP_OLDEST : SQL_EP_NEWEST, err);
    if (!q)
        return -1;
    bind_episode_query(q, sc, eq, 1);
    if (sq_collect_rows(s, a, q, sizeof(*out->items), eq->limit, sq_read_episode, &rows,
                        &out->n, err) < 0)
        return -1;
    out->items = rows;
    return 0;
}

/* The memory query's parameters; ids, after and before must outlive the statement. */
struct mem_binding {
    struct buf ids;
    char after[TS_STR_LEN];
    char before[TS_STR_LEN];
};

static void bind_memory_query(sqlite3_stmt *q, const struct store_scope *sc,
                              const struct explorer_memory_query *mq, struct mem_binding *b,
                              int paged)
{
    bind_scope(q, sc);
    sq_bind_str(q, 4, mq->id);
    sq_bind_str(q, 5, mq->exclude_id);
    sq_bind_str(q, 6, mq->status);
    sq_bind_str(q, 7, mq->kind);
    sq_bind_str(q, 8, mq->search);
    if (mq->ncites)
        sqlite3_bind_text(q, 9, b->ids.data, (int)b->ids.len, SQLITE_STATIC);
    bind_ts_opt(q, 10, mq->created_after, b->after);
    bind_ts_opt(q, 11, mq->created_before, b->before);
    if (paged) {
        sq_bind_count(q, 12, mq->limit, 1);
        sq_bind_count(q, 13, mq->offset, 0);
    }
}

static int memory_page(struct sqlite_store *s, struct arena *a, const struct store_scope *sc,
                       const struct explorer_memory_query *mq, struct mem_binding *b,
                       struct explorer_memory_rows *out, struct err *err)
{
    sqlite3_stmt *q = sq_stmt(s, SQL_MEM_COUNT, err);
    void *rows = NULL;

    if (!q)
        return -1;
    bind_memory_query(q, sc, mq, b, 0);
    if (count_rows(s, q, &out->total, err) < 0)
        return -1;
    q = sq_stmt(s, mq->oldest_first ? SQL_MEM_OLDEST : SQL_MEM_NEWEST, err);
    if (!q)
        return -1;
    bind_memory_query(q, sc, mq, b, 1);
    if (sq_collect_rows(s, a, q, sizeof(*out->items), mq->limit, sq_read_memory, &rows,
                        &out->n, err) < 0)
        return -1;
    out->items = rows;
    return 0;
}

int sq_explorer_memories(store *st, struct arena *a, const struct store_scope *sc,
                         const struct explorer_memory_query *mq, struct explorer_memory_rows *out,
                         struct err *err)
{
    struct mem_binding b;
    int ret;

    memset(out, 0, sizeof(*out));
    buf_init(&b.ids);
    if (mq->ncites)
        sq_ids_json(&b.ids, mq->cites, mq->ncites);
    ret = memory_page(sq_downcast(st), a, sc, mq, &b, out, err);
    buf_release(&b.ids);
    return ret;
}

int sq_explorer_resolutions(store *st, struct arena *a, const struct store_scope *sc,
                            const char *session, size_t limit, struct resolution_rows *out,
                            struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_RESOLUTIONS, err);
    void *rows = NULL;
    int ret = -1;

    out->n = 0;
    if (q) {
        bind_scope(q, sc);
        sq_bind_str(q, 4, session);
        sq_bind_count(q, 5, limit, 1);
        ret = sq_collect_rows(s, a, q, sizeof(*out->items), limit, sq_read_resolution, &rows,
                              &out->n, err);
    }
    out->items = rows;
    return ret;
}

/* Step q's (id, count) rows into counts[i] for the ids->items[i] they name. */
static int read_citing(struct sqlite_store *s, sqlite3_stmt *q, const struct store_ids *ids,
                       int64_t *counts, struct err *err)
{
    const char *id;
    size_t i;
    int rc;

    while ((rc = sq_step(q)) == SQLITE_ROW) {
        id = (const char *)sqlite3_column_text(q, 0);
        for (i = 0; id && i < ids->n; i++)
            if (strcmp(ids->items[i], id) == 0)
                counts[i] = sqlite3_column_int64(q, 1);
    }
    sq_reset(q);
    return rc == SQLITE_DONE ? 0 : sq_fail(s, "explorer citing counts", rc, err);
}

int sq_explorer_citing_counts(store *st, const struct store_scope *sc,
                              const struct store_ids *ids, int64_t *counts, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q;
    struct buf json;
    int ret;

    memset(counts, 0, ids->n * sizeof(*counts));
    if (ids->n == 0)
        return 0;
    q = sq_stmt(s, SQL_CITING, err);
    if (!q)
        return -1;
    buf_init(&json);
    sq_ids_json(&json, ids->items, ids->n);
    bind_scope(q, sc);
    sqlite3_bind_text(q, 4, json.data, (int)json.len, SQLITE_STATIC);
    ret = read_citing(s, q, ids, counts, err);
    buf_release(&json);
    return ret;
}

/* ---- the pairs of a delete ---- */

/* The LIKE prefix p as a GLOB pattern into b: `%` → `*`, `_` → `?`, GLOB's own `*`, `?` and
 * `[` made literal, then the trailing `*`. GLOB is case-sensitive, as LIKE is on PostgreSQL
 * (SQLite's LIKE is not). */
static void like_prefix_glob(struct buf *b, const char *p)
{
    for (; *p; p++) {
        if (*p == '%')
            buf_append(b, "*", 1);
        else if (*p == '_')
            buf_append(b, "?", 1);
        else if (*p == '*' || *p == '?' || *p == '[')
            buf_printf(b, "[%c]", *p);
        else
            buf_append(b, p, 1);
    }
    buf_append(b, "*", 1);
}

/* ?7 / ?8: the subject_id range of sel's exact subject, else of its LIKE prefix's literal
 * head (store_like_head). */
static void bind_head_range(sqlite3_stmt *q, const struct subject_selector *sel)
{
    const char *prefix = sel->subject ? sel->subject : sel->prefix ? sel->prefix : "";
    size_t n = sel->subject ? strlen(prefix) : store_like_head(prefix), uplen;
    unsigned char *upper = sq_prefix_successor(prefix, n, &uplen);

    sqlite3_bind_text(q, 7, prefix, (int)n, SQLITE_STATIC);
    if (upper)
        sqlite3_bind_text(q, 8, (const char *)upper, (int)uplen, free);
    else
        sqlite3_bind_zeroblob(q, 8, 0);
}

static int read_match(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    struct subject_match *m = row;

    m->subject_id = sq_col_str(a, q, 0);
    m->tenant_id = sq_col_str(a, q, 1);
    m->episode_count = sqlite3_column_int64(q, 2);
    m->memory_count = sqlite3_column_int64(q, 3);
    if (sq_col_ts(q, 4, &m->last_episode_at) < 0)
        return sq_bad_timestamp("subject_stats", err);
    return 0;
}

int sq_subject_match(store *st, struct arena *a, const struct subject_selector *sel,
                     struct subject_match_rows *out, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_MATCH, err);
    char older[TS_STR_LEN];
    void *rows = NULL;
    struct buf glob;
    size_t i;
    int ret;

    memset(out, 0, sizeof(*out));
    if (!q)
        return -1;
    buf_init(&glob);
    if (sel->prefix)
        like_prefix_glob(&glob, sel->prefix);
    sq_bind_str(q, 1, sel->prefix ? glob.data : NULL);
    sq_bind_str(q, 2, sel->subject);
    sqlite3_bind_int(q, 3, sel->all_tenants != 0);
    sq_bind_tenant(q, 4, sel->all_tenants ? NULL : sel->tenant);
    bind_ts_opt(q, 5, sel->older_than, older);
    sqlite3_bind_int(q, 6, sel->with_episodes_only != 0);
    bind_head_range(q, sel);
    ret = sq_collect_rows(s, a, q, sizeof(*out->items), 16, read_match, &rows, &out->n, err);
    buf_release(&glob);
    out->items = rows;
    for (i = 0; ret == 0 && i < out->n; i++) {
        out->episodes += out->items[i].episode_count;
        out->memories += out->items[i].memory_count;
    }
    return ret;
}
