/* sqlite_counters.c - SQLite backend: the derived counters (subject_stats, usage_daily,
 * context_gen) of bulk writes, kept from C with one statement per table instead of per-row
 * triggers.
 *
 * Triggers keep the counters for every writer (schema steps 6, 16, 17, 18). A row trigger
 * costs each inserted row an upsert per counter table, about 83,000 instructions an episode
 * or memory for the three, more than the row's own insert: an import, a compile's memories,
 * a restore paid that per row. The insert and mark-compiled triggers now carry
 * `WHEN NOT sqlite_compileoption_used('ENGRAM_BULK_COUNTERS')` (schema step
 * counters_bulk_writes). SQLite's built-in answers 0 for that name, as it does for any
 * option it was not compiled with, so every other connection (the sqlite3 shell, an
 * operator's script, Python's sqlite3) fires the triggers as before. Engram's connections
 * overload the built-in (sq_register_counters) with one that answers the connection's bulk
 * flag for that name and passes every other name to sqlite3_compileoption_used(). A bulk
 * path sets the flag around its row statements only (sq_bulk_begin), then clears it and
 * brings the counters up to the rows it wrote (sq_bulk_add as it inserts each row, or
 * sq_bulk_end's one read of the new rows; one upsert per run of rows of a pair or of a
 * (tenant, day), the pairs' runs of subject_stats and context_gen each in one statement at
 * the end), inside the same transaction: a rollback takes the rows and the counts away
 * together, and nothing but those rows is written while the flag is up. On a schema before
 * the step (a store opened without migrating, as the migration tests do) the triggers keep
 * the counters and this code stands aside instead (sq_bulk_schema).
 *
 * The rows of one bulk statement are the table's seq range [lo, hi]: an INTEGER PRIMARY KEY
 * without AUTOINCREMENT is assigned max(seq) + 1, so the rows a statement adds are exactly
 * those above the maximum seen before it (lo - 1), up to the maximum after it (hi).
 */
#include "store/sqlite/sqlite-internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/reserved.h"
#include "util/ts.h"
#include "util/xalloc.h"

/* What the overload answers sqlite_compileoption_used(SQ_BULK_OPTION) with: the flag. */
static void fn_option_used(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const struct sqlite_store *s = sqlite3_user_data(ctx);
    const char *name = (const char *)sqlite3_value_text(argv[0]);

    (void)argc;
    if (!name)
        return; /* NULL, as the built-in answers */
    if (strcmp(name, SQ_BULK_OPTION) == 0)
        sqlite3_result_int(ctx, s->bulk);
    else
        sqlite3_result_int(ctx, sqlite3_compileoption_used(name));
}

int sq_register_counters(struct sqlite_store *s)
{
    /* Not SQLITE_DETERMINISTIC: the answer changes between statements of one connection, so
     * it must not be folded into a constant of a prepared statement. */
    return sqlite3_create_function_v2(s->db, "sqlite_compileoption_used", 1,
                                      SQLITE_UTF8 | SQLITE_INNOCUOUS, s, fn_option_used, NULL, NULL,
                                      NULL);
}

/* The new rows of a statement that inserted them from a SELECT (a subject copy), in seq
 * order, with what the counters read: subject, tenant, created_at and (episodes) whether the
 * row is its pair's first of its session, step 6's test, so that the sum over the rows is the
 * number of sessions the pair did not have. The pages are the ones the statement just wrote,
 * still in the connection's cache. */
static const char SQL_EP_SCAN[] =
    "SELECT subject_id, tenant_id, created_at,"
    " n.session_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM episodes o"
    " WHERE o.subject_id = n.subject_id AND o.tenant_id IS n.tenant_id"
    " AND o.session_id = n.session_id AND o.seq < n.seq)"
    " FROM episodes n WHERE n.seq BETWEEN ?1 AND ?2 ORDER BY n.seq";
static const char SQL_MEM_SCAN[] =
    "SELECT subject_id, tenant_id, created_at, 0"
    " FROM memories n WHERE n.seq BETWEEN ?1 AND ?2 ORDER BY n.seq";

#define STATS_UPSERT "ON CONFLICT (COALESCE(tenant_id, ''), subject_id) DO UPDATE SET "
/* The runs of several pairs in one statement, ?1 a JSON array of [subject, tenant or null,
 * rows, sessions, last] (memories: [subject, tenant, rows]): each statement on subject_stats
 * keeps a statement journal (its triggers), which copies every page it touches, so one
 * statement for all the pairs of a write instead of one per pair. A pair may come twice (its
 * rows in two runs): the upsert adds row by row. */
#define RUN_COL(i) "json_extract(value, '$[" #i "]')"
static const char SQL_EP_STATS_MANY[] =
    "INSERT INTO subject_stats (subject_id, tenant_id, episode_count, session_count,"
    " last_episode_at) SELECT " RUN_COL(0) ", " RUN_COL(1) ", " RUN_COL(2) ", " RUN_COL(3) ", "
    RUN_COL(4) " FROM json_each(?1) WHERE true " STATS_UPSERT
    "episode_count = episode_count + excluded.episode_count,"
    " session_count = session_count + excluded.session_count,"
    " last_episode_at = MAX(COALESCE(last_episode_at, ''), excluded.last_episode_at)";
static const char SQL_MEM_STATS_MANY[] =
    "INSERT INTO subject_stats (subject_id, tenant_id, memory_count) SELECT " RUN_COL(0) ", "
    RUN_COL(1) ", " RUN_COL(2) " FROM json_each(?1) WHERE true " STATS_UPSERT
    "memory_count = memory_count + excluded.memory_count";
static const char SQL_GEN_BUMP_MANY[] =
    "INSERT INTO context_gen SELECT " RUN_COL(0) ", ifnull(" RUN_COL(1) ", ''), 1"
    " FROM json_each(?1) WHERE true"
    " ON CONFLICT (subject_id, tenant_key) DO UPDATE SET gen = gen + 1";
/* The pending runs are written out past this many bytes of JSON (a bound on memory). */
#define RUNS_JSON_MAX (256 * 1024)

/* One run of a (tenant, day): step 16's rollup, reserved subjects included. */
static const char SQL_USAGE[] =
    "INSERT INTO usage_daily VALUES (?1, ifnull(?2, ''), ?3, ?4)"
    " ON CONFLICT (kind, tenant_key, day) DO UPDATE SET n = n + excluded.n";
static const char SQL_GEN_BUMP[] =
    "INSERT INTO context_gen VALUES (?1, ifnull(?2, ''), 1)"
    " ON CONFLICT (subject_id, tenant_key) DO UPDATE SET gen = gen + 1";

static const char SQL_EP_MAX[] = "SELECT ifnull(max(seq), 0) FROM episodes";
static const char SQL_MEM_MAX[] = "SELECT ifnull(max(seq), 0) FROM memories";

struct bulk_table {
    const char *max, *scan, *stats;
    int usage_kind;
};

static const struct bulk_table bulk_tables[] = {
    [SQ_BULK_EPISODES] = { SQL_EP_MAX, SQL_EP_SCAN, SQL_EP_STATS_MANY, 1 },
    [SQ_BULK_MEMORIES] = { SQL_MEM_MAX, SQL_MEM_SCAN, SQL_MEM_STATS_MANY, 2 },
};

static int max_seq(struct sqlite_store *s, enum sq_bulk_table t, int64_t *out, struct err *err)
{
    sqlite3_stmt *q = sq_stmt(s, bulk_tables[t].max, err);

    return q ? sq_query_int64(s, q, "bulk rows", out, err) : -1;
}

static const char SQL_SCHEMA_VERSION[] = "PRAGMA schema_version";
static const char SQL_BULK_TRIGGERS[] =
    "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
    " AND instr(sql, '" SQ_BULK_OPTION "') > 0";

int sq_bulk_schema(struct sqlite_store *s, struct err *err)
{
    sqlite3_stmt *q = sq_stmt(s, SQL_SCHEMA_VERSION, err);
    int64_t version, n;

    if (!q || sq_query_int64(s, q, "schema version", &version, err) < 0)
        return -1;
    if (s->bulk_schema_known && s->bulk_schema == version)
        return s->bulk_ok;
    q = sq_stmt(s, SQL_BULK_TRIGGERS, err);
    if (!q || sq_query_int64(s, q, "bulk triggers", &n, err) < 0)
        return -1;
    s->bulk_schema_known = 1;
    s->bulk_schema = version;
    s->bulk_ok = n == SQ_BULK_TRIGGERS;
    return s->bulk_ok;
}

/* A text kept across rows; NULL stays NULL. */
struct text {
    struct buf b;
    int null;
};

/* t = the first n bytes of v at most (n = SIZE_MAX: all of it). */
static void text_setn(struct text *t, const char *v, size_t n)
{
    buf_reset(&t->b);
    t->null = v == NULL;
    if (v)
        buf_append(&t->b, v, strnlen(v, n));
}

static void text_set(struct text *t, const char *v)
{
    text_setn(t, v, SIZE_MAX);
}

/* t equals the first n bytes of v (n = SIZE_MAX: all of it). */
static int text_eq(const struct text *t, const char *v, size_t n)
{
    if (!v || t->null)
        return !v && t->null;
    if (n == SIZE_MAX)
        n = strlen(v);
    else
        n = strnlen(v, n);
    return n == t->b.len && memcmp(v, t->b.data, n) == 0;
}

static void bind_text(sqlite3_stmt *q, int i, const struct text *t)
{
    if (t->null)
        sqlite3_bind_null(q, i);
    else
        sqlite3_bind_text(q, i, t->b.data, (int)t->b.len, SQLITE_STATIC);
}

/* A row of a sorted bulk write (sq_bulk_begin_rows), kept until sq_bulk_end: the strings
 * are the caller's but created_at. */
struct kept_row {
    const char *subject, *tenant;
    char created[TS_STR_LEN];
    int null_created, first_of_session;
};

/* The rows of one pair (stats, generation) and of one (tenant, day) (usage) read so far. */
struct sq_runs {
    const struct bulk_table *t;
    struct text subject, tenant, last, usage_tenant, day;
    int64_t rows, sessions, usage_rows;
    int counted; /* the subject is not reserved */
    struct buf stats_json, gen_json; /* runs written out so far, not yet in the tables */
    int sort;    /* rows are kept and counted at the end, sorted by pair */
    struct kept_row *kept;
    size_t nkept, kept_cap;
};

/* A JSON string of t (null for NULL). */
static void json_text(struct buf *b, const struct text *t)
{
    size_t i;

    if (t->null) {
        buf_puts(b, "null");
        return;
    }
    buf_putc(b, '"');
    for (i = 0; i < t->b.len; i++) {
        unsigned char c = (unsigned char)t->b.data[i];

        if (c == '"' || c == '\\')
            buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            buf_printf(b, "\\u%04x", c);
        else
            buf_putc(b, (char)c);
    }
    buf_putc(b, '"');
}

/* Run one of the *_MANY statements over the runs in j, then empty it. */
static int write_runs(struct sqlite_store *s, const char *sql, struct buf *j, const char *what,
                      struct err *err)
{
    sqlite3_stmt *q;
    int ret = -1;

    if (j->len == 0)
        return 0;
    buf_putc(j, ']');
    q = sq_stmt(s, sql, err);
    if (q) {
        sqlite3_bind_text(q, 1, j->data, (int)j->len, SQLITE_STATIC);
        ret = sq_step_done(s, q, what, err); /* resets q: nothing points into j after */
    }
    buf_reset(j);
    return ret;
}

static int flush_runs(struct sqlite_store *s, struct sq_runs *r, struct err *err)
{
    if (write_runs(s, r->t->stats, &r->stats_json, "bulk subject_stats", err) < 0)
        return -1;
    return write_runs(s, SQL_GEN_BUMP_MANY, &r->gen_json, "bulk context_gen", err);
}

/* Open the next element of the JSON array j with the pair: `[subject,tenant` (or `,[`...). */
static void pair_open(struct buf *j, const struct sq_runs *r)
{
    buf_puts(j, j->len ? ",[" : "[[");
    json_text(j, &r->subject);
    buf_putc(j, ',');
    json_text(j, &r->tenant);
}

/* Add the pair's run to the pending ones (written by flush_runs). */
static int flush_pair(struct sqlite_store *s, struct sq_runs *r, struct err *err)
{
    if (r->rows == 0)
        return 0;
    if (r->counted) {
        pair_open(&r->stats_json, r);
        buf_printf(&r->stats_json, ",%lld", (long long)r->rows);
        if (r->t->usage_kind == 1) {
            buf_printf(&r->stats_json, ",%lld,", (long long)r->sessions);
            json_text(&r->stats_json, &r->last);
        }
        buf_putc(&r->stats_json, ']');
    }
    pair_open(&r->gen_json, r);
    buf_putc(&r->gen_json, ']');
    r->rows = r->sessions = 0;
    if (r->stats_json.len + r->gen_json.len > RUNS_JSON_MAX)
        return flush_runs(s, r, err);
    return 0;
}

static int flush_usage(struct sqlite_store *s, struct sq_runs *r, struct err *err)
{
    sqlite3_stmt *q;

    if (r->usage_rows == 0)
        return 0;
    q = sq_stmt(s, SQL_USAGE, err);
    if (!q)
        return -1;
    sqlite3_bind_int(q, 1, r->t->usage_kind);
    bind_text(q, 2, &r->usage_tenant);
    bind_text(q, 3, &r->day);
    sqlite3_bind_int64(q, 4, r->usage_rows);
    r->usage_rows = 0;
    return sq_step_done(s, q, "bulk usage_daily", err);
}

/* Add one row to the runs, writing a run out when the row starts another. The UTC day is the
 * first 10 characters of created_at, ASCII in the fixed-width form: 10 bytes. */
static int add_row(struct sqlite_store *s, struct sq_runs *r, const struct sq_bulk_row *row,
                   struct err *err)
{
    if (r->rows && (!text_eq(&r->subject, row->subject, SIZE_MAX) ||
                    !text_eq(&r->tenant, row->tenant, SIZE_MAX)) &&
        flush_pair(s, r, err) < 0)
        return -1;
    if (r->rows == 0) {
        text_set(&r->subject, row->subject);
        text_set(&r->tenant, row->tenant);
        text_set(&r->last, row->created);
        /* step 6's substr() test: the prefixes are ASCII, so a prefix of characters is one of
         * bytes */
        r->counted = row->subject && !reserved_prefix_of(row->subject);
    } else if (row->created && (r->last.null || strcmp(row->created, r->last.b.data) > 0)) {
        text_set(&r->last, row->created);
    }
    r->rows++;
    r->sessions += row->first_of_session != 0;

    if (r->usage_rows && (!text_eq(&r->usage_tenant, row->tenant, SIZE_MAX) ||
                          !text_eq(&r->day, row->created, 10)) &&
        flush_usage(s, r, err) < 0)
        return -1;
    if (r->usage_rows == 0) {
        text_set(&r->usage_tenant, row->tenant);
        text_setn(&r->day, row->created, 10);
    }
    r->usage_rows++;
    return 0;
}

static void runs_free(struct sq_runs *r)
{
    if (!r)
        return;
    buf_release(&r->subject.b);
    buf_release(&r->tenant.b);
    buf_release(&r->last.b);
    buf_release(&r->usage_tenant.b);
    buf_release(&r->day.b);
    buf_release(&r->stats_json);
    buf_release(&r->gen_json);
    free(r->kept);
    free(r);
}

static struct sq_runs *runs_new(const struct bulk_table *t)
{
    struct sq_runs *r = xcalloc(1, sizeof(*r));

    r->t = t;
    r->subject = r->tenant = r->last = r->usage_tenant = r->day = (struct text){ BUF_INIT, 1 };
    r->stats_json = r->gen_json = (struct buf)BUF_INIT;
    return r;
}

/* sq_bulk_begin (rows 0) and sq_bulk_begin_rows (rows 1). */
static int bulk_start(struct sqlite_store *s, enum sq_bulk_table t, struct sq_bulk *b, int rows,
                      struct err *err)
{
    if (s->bulk)
        BUG("sq_bulk_begin inside a bulk write");
    b->table = t;
    b->runs = NULL;
    b->fed = rows; /* rows: every row comes through sq_bulk_add, nothing to scan */
    b->lo = 0;
    b->on = sq_bulk_schema(s, err);
    if (b->on <= 0)
        return b->on;
    if (!rows) {
        if (max_seq(s, t, &b->lo, err) < 0)
            return -1;
        b->lo++;
    }
    b->runs = runs_new(&bulk_tables[t]);
    b->runs->sort = rows;
    s->bulk = 1;
    return 0;
}

int sq_bulk_begin(struct sqlite_store *s, enum sq_bulk_table t, struct sq_bulk *b,
                  struct err *err)
{
    return bulk_start(s, t, b, 0, err);
}

int sq_bulk_begin_rows(struct sqlite_store *s, enum sq_bulk_table t, struct sq_bulk *b,
                       struct err *err)
{
    return bulk_start(s, t, b, 1, err);
}

void sq_bulk_episode_row(const struct episode *ep, struct sq_bulk_row *out, char *ts)
{
    *out = (struct sq_bulk_row){ .subject = ep->subject_id,
                                 .tenant = ep->tenant_id && *ep->tenant_id ? ep->tenant_id
                                                                           : NULL,
                                 .session = ep->session_id };
    if (ep->created_at != TS_NULL) {
        ts_format_fixed(ep->created_at, ts, TS_STR_LEN);
        out->created = ts;
    }
}

static void keep_row(struct sq_runs *r, const struct sq_bulk_row *row)
{
    struct kept_row *k;

    if (r->nkept == r->kept_cap) {
        r->kept_cap = r->kept_cap ? 2 * r->kept_cap : 8;
        r->kept = xrealloc(r->kept, r->kept_cap * sizeof(*r->kept));
    }
    k = &r->kept[r->nkept++];
    k->subject = row->subject;
    k->tenant = row->tenant;
    k->null_created = row->created == NULL;
    k->created[0] = '\0';
    if (row->created)
        snprintf(k->created, sizeof(k->created), "%s", row->created);
    k->first_of_session = row->first_of_session;
}

/* NULL first, then by bytes. */
static int cmp_opt(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

/* By tenant, then subject: a pair's rows are one run, and a tenant's rows of one day too. */
static int cmp_kept(const void *pa, const void *pb)
{
    const struct kept_row *a = pa, *b = pb;
    int c = cmp_opt(a->tenant, b->tenant);

    return c ? c : cmp_opt(a->subject, b->subject);
}

/* Count the kept rows, sorted: one run per pair instead of one per row when the pairs of a
 * group's rows alternate (the ingest writer's groups: one request's episode each). */
static int add_kept(struct sqlite_store *s, struct sq_runs *r, struct err *err)
{
    size_t i;
    int ret = 0;

    if (r->nkept > 1)
        qsort(r->kept, r->nkept, sizeof(*r->kept), cmp_kept);
    for (i = 0; ret == 0 && i < r->nkept; i++) {
        const struct kept_row *k = &r->kept[i];
        struct sq_bulk_row row = { .subject = k->subject, .tenant = k->tenant,
                                   .created = k->null_created ? NULL : k->created,
                                   .first_of_session = k->first_of_session };

        ret = add_row(s, r, &row, err);
    }
    return ret;
}

static const char SQL_FIRST_OF_SESSION[] =
    "SELECT NOT EXISTS (SELECT 1 FROM episodes WHERE subject_id = ?1 AND tenant_id IS ?2"
    " AND session_id = ?3 AND seq < ?4)";

int sq_bulk_add(struct sqlite_store *s, struct sq_bulk *b, const struct sq_bulk_row *row,
                struct err *err)
{
    struct sq_bulk_row r = *row;
    sqlite3_stmt *q;
    int64_t first = 0;

    if (!b->on)
        return 0;
    b->fed = 1;
    if (b->table == SQ_BULK_EPISODES && row->session) {
        /* the row just inserted is the connection's last: its pair's first of its session
         * when no episode of the pair before it has the session (step 6's test) */
        q = sq_stmt(s, SQL_FIRST_OF_SESSION, err);
        if (!q)
            return -1;
        sq_bind_str(q, 1, row->subject);
        sq_bind_str(q, 2, row->tenant);
        sq_bind_str(q, 3, row->session);
        sqlite3_bind_int64(q, 4, (sqlite3_int64)sqlite3_last_insert_rowid(s->db));
        if (sq_query_int64(s, q, "bulk session", &first, err) < 0)
            return -1;
    }
    r.first_of_session = first != 0;
    if (b->runs->sort) {
        keep_row(b->runs, &r);
        return 0;
    }
    return add_row(s, b->runs, &r, err);
}

/* Read the rows [lo, hi] once (a statement that inserted them from a SELECT: nothing was fed
 * row by row) into the runs. */
static int scan_rows(struct sqlite_store *s, struct sq_bulk *b, int64_t hi, struct err *err)
{
    sqlite3_stmt *q = sq_stmt(s, b->runs->t->scan, err);
    int rc = SQLITE_DONE, ret = 0;

    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, b->lo);
    sqlite3_bind_int64(q, 2, hi);
    while (ret == 0 && (rc = sq_step(q)) == SQLITE_ROW) {
        struct sq_bulk_row row = {
            .subject = (const char *)sqlite3_column_text(q, 0),
            .tenant = (const char *)sqlite3_column_text(q, 1),
            .created = (const char *)sqlite3_column_text(q, 2),
            .first_of_session = sqlite3_column_int(q, 3),
        };

        ret = add_row(s, b->runs, &row, err);
    }
    sq_reset(q);
    if (ret == 0 && rc != SQLITE_DONE)
        ret = sq_fail(s, "bulk counters scan", rc, err);
    return ret;
}

int sq_bulk_end(struct sqlite_store *s, struct sq_bulk *b, int ret, struct err *err)
{
    int64_t hi = 0;

    s->bulk = 0;
    if (ret == 0 && b->on && !b->fed) {
        ret = max_seq(s, b->table, &hi, err);
        if (ret == 0 && hi >= b->lo)
            ret = scan_rows(s, b, hi, err);
    }
    if (ret == 0 && b->on && b->runs->sort)
        ret = add_kept(s, b->runs, err);
    if (ret == 0 && b->on)
        ret = flush_pair(s, b->runs, err);
    if (ret == 0 && b->on)
        ret = flush_runs(s, b->runs, err);
    if (ret == 0 && b->on)
        ret = flush_usage(s, b->runs, err);
    runs_free(b->runs);
    b->runs = NULL;
    return ret < 0 ? -1 : 0;
}

int sq_gen_bump(struct sqlite_store *s, const char *subject, const char *tenant, struct err *err)
{
    sqlite3_stmt *q = sq_stmt(s, SQL_GEN_BUMP, err);

    if (!q)
        return -1;
    sq_bind_str(q, 1, subject);
    sq_bind_tenant(q, 2, tenant);
    return sq_step_done(s, q, "context generation", err);
}
