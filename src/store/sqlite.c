/* sqlite.c - the SQLite backend of store_ops: one connection per store (WAL, busy_timeout),
 * every statement prepared once per connection and cached, timestamps as fixed-width TEXT. */
#include "store/store-internal.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/migrations.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/xalloc.h"

#define SQ_BUSY_TIMEOUT_MS 5000

/* Every statement a connection runs after setup, prepared on first use. */
enum sq_stmt {
    SQ_BEGIN,
    SQ_COMMIT,
    SQ_ROLLBACK,
    SQ_PING,
    SQ_MIG_TABLE_EXISTS,
    SQ_MIG_CURRENT,
    SQ_MIG_RECORD,
    SQ_EP_INSERT,
    SQ_EP_BY_IDEM,
    SQ_EP_LIST,
    SQ_MEM_LIST,
    SQ_SUBJECTS,
    SQ_EP_DELETE,
    SQ_MEM_DELETE,
    SQ_COUNT
};

#define EP_COLS "id, subject_id, tenant_id, session_id, source, type, payload, metadata, " \
    "provenance, idempotency_key, created_at, last_compiled_at"
#define MEM_COLS "id, subject_id, tenant_id, kind, content, summary, confidence, valid_from, " \
    "valid_to, source_episode_ids, metadata, status, embedding, sensitivity_labels, " \
    "created_at, updated_at"
/* Literal prefixes (never LIKE, whose `_` matches any character); both are ASCII, so a
 * character substr equals a byte prefix. */
#define NOT_RESERVED "substr(subject_id, 1, 10) <> '_snapshot/'" \
    " AND substr(subject_id, 1, 15) <> '_bootstrap_tmp/'"

static const char *const stmt_sql[SQ_COUNT] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_PING] = "SELECT 1",
    [SQ_MIG_TABLE_EXISTS] =
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
    [SQ_MIG_CURRENT] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
    [SQ_MIG_RECORD] = "INSERT INTO schema_migrations (version, name, applied_at) "
                      "VALUES (?1, ?2, ?3)",
    [SQ_EP_INSERT] = "INSERT INTO episodes (" EP_COLS ") "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
                     "ON CONFLICT (COALESCE(tenant_id, ''), subject_id, idempotency_key) "
                     "WHERE idempotency_key IS NOT NULL DO NOTHING",
    [SQ_EP_BY_IDEM] = "SELECT " EP_COLS " FROM episodes "
                      "WHERE COALESCE(tenant_id, '') = COALESCE(?1, '') AND subject_id = ?2 "
                      "AND idempotency_key = ?3",
    [SQ_EP_LIST] = "SELECT " EP_COLS " FROM episodes WHERE tenant_id IS ?1 AND subject_id = ?2 "
                   "ORDER BY created_at, seq LIMIT ?3 OFFSET ?4",
    [SQ_MEM_LIST] = "SELECT " MEM_COLS " FROM memories "
                    "WHERE tenant_id IS ?1 AND subject_id = ?2 "
                    "ORDER BY created_at, seq LIMIT ?3 OFFSET ?4",
    [SQ_SUBJECTS] = "SELECT subject_id, SUM(ne), SUM(nm) FROM ("
                    "SELECT subject_id, COUNT(*) AS ne, 0 AS nm FROM episodes "
                    "WHERE tenant_id IS ?1 AND " NOT_RESERVED " GROUP BY subject_id "
                    "UNION ALL "
                    "SELECT subject_id, 0, COUNT(*) FROM memories "
                    "WHERE tenant_id IS ?1 AND " NOT_RESERVED " GROUP BY subject_id"
                    ") GROUP BY subject_id ORDER BY subject_id LIMIT ?2 OFFSET ?3",
    [SQ_EP_DELETE] = "DELETE FROM episodes WHERE tenant_id IS ?1 AND subject_id = ?2",
    [SQ_MEM_DELETE] = "DELETE FROM memories WHERE tenant_id IS ?1 AND subject_id = ?2",
};

static const char schema_migrations_ddl[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " applied_at TEXT NOT NULL"
    ") STRICT";

struct sqlite_store {
    struct store base;                  /* must be first: store * converts to this */
    sqlite3 *db;                        /* the connection; owned */
    sqlite3_stmt *stmts[SQ_COUNT];      /* prepared on first use; finalized by close */
};

/* Reads one result row into the row at `row` (strings in the arena). */
typedef int row_reader(struct arena *a, sqlite3_stmt *q, void *row, struct err *err);

static struct sqlite_store *downcast(store *st)
{
    if (st->ops != &store_sqlite_ops)
        BUG("sqlite backend called with a foreign store");
    return (struct sqlite_store *)st;
}

/* Log the SQLite error behind rc and fail with ERR_INTERNAL. */
static int db_fail(struct sqlite_store *s, const char *what, int rc, struct err *err)
{
    int primary = rc & 0xff;

    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        log_write(LOG_ERROR, "sqlite %s: database still locked after busy_timeout %d ms: %s",
                  what, SQ_BUSY_TIMEOUT_MS, sqlite3_errmsg(s->db));
    else
        log_write(LOG_ERROR, "sqlite %s failed: %s (code %d)", what, sqlite3_errmsg(s->db),
                  rc);
    if (primary == SQLITE_IOERR || primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB ||
        primary == SQLITE_CANTOPEN)
        s->base.broken = 1;
    return err_set(err, ERR_INTERNAL, "database error");
}

/* The cached statement id, prepared on first use; NULL with err set on failure. */
static sqlite3_stmt *stmt_get(struct sqlite_store *s, enum sq_stmt id, struct err *err)
{
    int rc;

    if (s->stmts[id])
        return s->stmts[id];
    rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[id],
                            NULL);
    if (rc != SQLITE_OK) {
        db_fail(s, "prepare", rc, err);
        return NULL;
    }
    return s->stmts[id];
}

/* Make a cached statement ready for its next use. */
static void stmt_done(sqlite3_stmt *q)
{
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

/* Step q (already bound) to completion, expecting no rows; always leaves q reset. */
static int step_done(struct sqlite_store *s, sqlite3_stmt *q, const char *what, struct err *err)
{
    int rc = sqlite3_step(q);

    if (rc != SQLITE_DONE) {
        db_fail(s, what, rc, err);
        stmt_done(q);
        return -1;
    }
    stmt_done(q);
    return 0;
}

/* Run a cached statement that takes no parameters and returns no rows. */
static int exec_cached(struct sqlite_store *s, enum sq_stmt id, struct err *err)
{
    sqlite3_stmt *q = stmt_get(s, id, err);

    if (!q)
        return -1;
    return step_done(s, q, stmt_sql[id], err);
}

/* ---- binding and reading values ---- */

static int bind_str(sqlite3_stmt *q, int i, const char *v)
{
    if (!v)
        return sqlite3_bind_null(q, i);
    return sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
}

/* A NULL or '' tenant is the "no tenant" space, stored as NULL. */
static int bind_tenant(sqlite3_stmt *q, int i, const char *tenant)
{
    return bind_str(q, i, tenant && *tenant ? tenant : NULL);
}

static int bind_ts(sqlite3_stmt *q, int i, int64_t us)
{
    char text[TS_STR_LEN];
    size_t n;

    if (us == TS_NULL)
        return sqlite3_bind_null(q, i);
    n = ts_format_fixed(us, text, sizeof(text));
    return sqlite3_bind_text(q, i, text, (int)n, SQLITE_TRANSIENT);
}

/* A size_t limit or offset as an SQL integer; a huge limit means "no limit" (-1). */
static int bind_count(sqlite3_stmt *q, int i, size_t v, int is_limit)
{
    if (v > (size_t)INT64_MAX)
        return sqlite3_bind_int64(q, i, is_limit ? -1 : INT64_MAX);
    return sqlite3_bind_int64(q, i, (sqlite3_int64)v);
}

/* Column i as an arena string; NULL for SQL NULL. */
static const char *col_str(struct arena *a, sqlite3_stmt *q, int i)
{
    const char *p = (const char *)sqlite3_column_text(q, i);

    if (!p)
        return NULL;
    return arena_strndup(a, p, (size_t)sqlite3_column_bytes(q, i));
}

/* Column i as a timestamp (TS_NULL for SQL NULL); -1 if the text is not a timestamp. */
static int col_ts(sqlite3_stmt *q, int i, int64_t *out)
{
    const char *p = (const char *)sqlite3_column_text(q, i);

    *out = TS_NULL;
    if (!p)
        return 0;
    return ts_parse(p, out);
}

static void col_id(sqlite3_stmt *q, int i, char out[UUID_STR_LEN])
{
    const char *p = (const char *)sqlite3_column_text(q, i);

    snprintf(out, UUID_STR_LEN, "%s", p ? p : "");
}

/* Column i (a BLOB of little-endian float32) as an arena float array; a missing or
 * malformed blob gives NULL and dim 0 (data-model.md §1.4: "no embedding"). */
static const float *col_vec(struct arena *a, sqlite3_stmt *q, int i, size_t *dim)
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

static int bad_timestamp(const char *table, struct err *err)
{
    log_write(LOG_ERROR, "sqlite: malformed timestamp in table '%s'", table);
    return err_set(err, ERR_INTERNAL, "database error");
}

static int read_episode(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    struct episode *ep = row;

    col_id(q, 0, ep->id);
    ep->subject_id = col_str(a, q, 1);
    ep->tenant_id = col_str(a, q, 2);
    ep->session_id = col_str(a, q, 3);
    ep->source = col_str(a, q, 4);
    ep->type = col_str(a, q, 5);
    ep->payload = col_str(a, q, 6);
    ep->metadata = col_str(a, q, 7);
    ep->provenance = col_str(a, q, 8);
    ep->idempotency_key = col_str(a, q, 9);
    if (col_ts(q, 10, &ep->created_at) < 0 || col_ts(q, 11, &ep->last_compiled_at) < 0)
        return bad_timestamp("episodes", err);
    return 0;
}

static int read_memory(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    struct memory *m = row;

    col_id(q, 0, m->id);
    m->subject_id = col_str(a, q, 1);
    m->tenant_id = col_str(a, q, 2);
    m->kind = col_str(a, q, 3);
    m->content = col_str(a, q, 4);
    m->summary = col_str(a, q, 5);
    m->confidence = sqlite3_column_double(q, 6);
    m->source_episode_ids = col_str(a, q, 9);
    m->metadata = col_str(a, q, 10);
    m->status = col_str(a, q, 11);
    m->embedding = col_vec(a, q, 12, &m->embedding_dim);
    m->sensitivity_labels = col_str(a, q, 13);
    if (col_ts(q, 7, &m->valid_from) < 0 || col_ts(q, 8, &m->valid_to) < 0 ||
        col_ts(q, 14, &m->created_at) < 0 || col_ts(q, 15, &m->updated_at) < 0)
        return bad_timestamp("memories", err);
    return 0;
}

static int read_subject_count(struct arena *a, sqlite3_stmt *q, void *row, struct err *err)
{
    struct subject_count *c = row;

    (void)err;
    c->subject_id = col_str(a, q, 0);
    c->episode_count = sqlite3_column_int64(q, 1);
    c->memory_count = sqlite3_column_int64(q, 2);
    return 0;
}

/* Step the bound statement q to the end, reading each row with `read` into an arena array of
 * `size`-byte rows (never NULL, even when empty). Leaves q reset. */
static int collect_rows(struct sqlite_store *s, struct arena *a, sqlite3_stmt *q, size_t size,
                        size_t limit, row_reader *read, void **out, size_t *n, struct err *err)
{
    size_t cap = limit == 0 ? 1 : limit < 64 ? limit : 64, count = 0;
    char *rows = arena_alloc(a, cap * size);
    int rc;

    for (;;) {
        rc = sqlite3_step(q);
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
            goto fail;
        count++;
    }
    if (rc != SQLITE_DONE) {
        db_fail(s, "select", rc, err);
        goto fail;
    }
    stmt_done(q);
    *out = rows;
    *n = count;
    return 0;
fail:
    stmt_done(q);
    *n = 0;
    return -1;
}

/* ---- connection ---- */

/* mkdir -p of the directory that will hold the database file path. */
static int make_parent_dirs(const char *path)
{
    char *dir = xstrdup(path), *slash = strrchr(dir, '/'), *p;
    int ret = 0;

    if (!slash || slash == dir)
        goto cleanup;
    *slash = '\0';
    for (p = dir + 1;; p++) {
        char c = *p;

        if (c != '/' && c != '\0')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
            log_write(LOG_ERROR, "cannot create directory '%s': %s", dir, strerror(errno));
            ret = -1;
            goto cleanup;
        }
        *p = c;
        if (c == '\0')
            break;
    }
cleanup:
    free(dir);
    return ret;
}

/* Switch to WAL. When several processes open a fresh database at once, the switch can fail
 * with SQLITE_BUSY without waiting (SQLite skips the busy handler to avoid a deadlock), so
 * retry for as long as busy_timeout would have waited. */
static int set_wal(struct sqlite_store *s, struct err *err)
{
    int rc, waited;

    for (waited = 0;; waited += 10) {
        rc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if ((rc & 0xff) != SQLITE_BUSY || waited >= SQ_BUSY_TIMEOUT_MS)
            break;
        sqlite3_sleep(10);
    }
    if (rc != SQLITE_OK)
        return db_fail(s, "journal_mode=WAL", rc, err);
    return 0;
}

static int configure(struct sqlite_store *s, struct err *err)
{
    static const char pragmas[] = "PRAGMA synchronous = NORMAL;"
                                  "PRAGMA foreign_keys = OFF;";
    int rc;

    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, SQ_BUSY_TIMEOUT_MS);
    if (set_wal(s, err) < 0)
        return -1;
    rc = sqlite3_exec(s->db, pragmas, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return db_fail(s, "connection setup", rc, err);
    return 0;
}

static void sq_close(store *st)
{
    struct sqlite_store *s;
    int i;

    if (!st)
        return;
    s = downcast(st);
    if (s->db && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    for (i = 0; i < SQ_COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    if (s->db && sqlite3_close(s->db) != SQLITE_OK)
        log_write(LOG_ERROR, "sqlite close failed: %s", sqlite3_errmsg(s->db));
    free(s);
}

static int sq_open(const char *path, store **out, struct err *err)
{
    struct sqlite_store *s = xcalloc(1, sizeof(*s));
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc;

    s->base.ops = &store_sqlite_ops;
    *out = NULL;
    if (path[0] != ':' && make_parent_dirs(path) < 0) {
        err_set(err, ERR_INTERNAL, "database error");
        goto fail;
    }
    rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        log_write(LOG_ERROR, "cannot open sqlite database '%s': %s", path,
                  s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        err_set(err, ERR_INTERNAL, "database error");
        goto fail;
    }
    if (configure(s, err) < 0)
        goto fail;
    *out = &s->base;
    return 0;
fail:
    sq_close(&s->base);
    return -1;
}

static int sq_ping(store *st, struct err *err)
{
    struct sqlite_store *s = downcast(st);
    sqlite3_stmt *q = stmt_get(s, SQ_PING, err);
    int rc;

    if (!q)
        return -1;
    rc = sqlite3_step(q);
    stmt_done(q);
    if (rc != SQLITE_ROW)
        return db_fail(s, "ping", rc, err);
    return 0;
}

/* ---- transactions ---- */

static int sq_tx_begin(store *st, struct err *err)
{
    struct sqlite_store *s = downcast(st);

    if (st->in_tx)
        BUG("store_tx_begin inside an open transaction");
    if (exec_cached(s, SQ_BEGIN, err) < 0)
        return -1;
    st->in_tx = 1;
    return 0;
}

static void sq_tx_rollback(store *st)
{
    struct sqlite_store *s = downcast(st);
    struct err ignored = ERR_INIT;

    st->in_tx = 0;
    if (sqlite3_get_autocommit(s->db))
        return;   /* nothing open (SQLite may already have rolled back on error) */
    exec_cached(s, SQ_ROLLBACK, &ignored);
}

/* Commit; on failure the transaction is rolled back and nothing is written. */
static int sq_tx_commit(store *st, struct err *err)
{
    struct sqlite_store *s = downcast(st);

    if (!st->in_tx)
        BUG("store_tx_commit without an open transaction");
    if (exec_cached(s, SQ_COMMIT, err) < 0) {
        sq_tx_rollback(st);
        return -1;
    }
    st->in_tx = 0;
    return 0;
}

/* ---- migrations ---- */

static int latest_version(void)
{
    return sqlite_migrations_count ? sqlite_migrations[sqlite_migrations_count - 1].version
                                   : 0;
}

/* Single integer result of the cached statement id (0 when it returns no row). */
static int query_int(struct sqlite_store *s, enum sq_stmt id, int *out, struct err *err)
{
    sqlite3_stmt *q = stmt_get(s, id, err);
    int rc;

    if (!q)
        return -1;
    rc = sqlite3_step(q);
    *out = rc == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
    stmt_done(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(s, stmt_sql[id], rc, err);
    return 0;
}

static int current_version(struct sqlite_store *s, int *current, struct err *err)
{
    int exists;

    if (query_int(s, SQ_MIG_TABLE_EXISTS, &exists, err) < 0)
        return -1;
    if (!exists) {
        *current = 0;
        return 0;
    }
    return query_int(s, SQ_MIG_CURRENT, current, err);
}

static int sq_schema_version(store *st, int *current, int *latest, struct err *err)
{
    *latest = latest_version();
    return current_version(downcast(st), current, err);
}

static const struct migration *find_step(int version)
{
    size_t i;

    for (i = 0; i < sqlite_migrations_count; i++)
        if (sqlite_migrations[i].version == version)
            return &sqlite_migrations[i];
    return NULL;
}

/* Apply one step's DDL and record it (inside the caller's transaction). */
static int apply_step(struct sqlite_store *s, const struct migration *m, struct err *err)
{
    sqlite3_stmt *q;
    int rc = sqlite3_exec(s->db, m->sql, NULL, NULL, NULL);

    if (rc != SQLITE_OK)
        return db_fail(s, m->name, rc, err);
    q = stmt_get(s, SQ_MIG_RECORD, err);
    if (!q)
        return -1;
    sqlite3_bind_int(q, 1, m->version);
    bind_str(q, 2, m->name);
    bind_ts(q, 3, ts_now());
    if (step_done(s, q, "record migration", err) < 0)
        return -1;
    log_write(LOG_INFO, "sqlite migration %d '%s' applied", m->version, m->name);
    return 0;
}

/* One locked round: read the version and apply the next pending step, if any.
 * Sets *done when nothing is pending. BEGIN IMMEDIATE serialises concurrent processes. */
static int migrate_round(struct sqlite_store *s, int *version, int *done, struct err *err)
{
    const struct migration *m;
    int rc;

    if (sq_tx_begin(&s->base, err) < 0)
        return -1;
    rc = sqlite3_exec(s->db, schema_migrations_ddl, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        db_fail(s, "create schema_migrations", rc, err);
        goto fail;
    }
    if (query_int(s, SQ_MIG_CURRENT, version, err) < 0)
        goto fail;
    *done = *version >= latest_version();
    if (!*done) {
        m = find_step(*version + 1);
        if (!m)
            BUG("sqlite_migrations has a gap");
        if (apply_step(s, m, err) < 0)
            goto fail;
    }
    return sq_tx_commit(&s->base, err);
fail:
    sq_tx_rollback(&s->base);
    return -1;
}

static int sq_migrate(store *st, struct migrate_result *res, struct err *err)
{
    struct sqlite_store *s = downcast(st);
    int version = 0, done = 0, first = 1;

    res->from_version = res->to_version = res->applied = 0;
    while (!done) {
        if (migrate_round(s, &version, &done, err) < 0)
            return -1;
        if (first)
            res->from_version = version;
        first = 0;
        if (!done)
            res->applied++;
    }
    res->to_version = version;
    if (version > latest_version())
        log_write(LOG_WARN, "sqlite schema version %d is newer than this binary's %d",
                  version, latest_version());
    return 0;
}

/* ---- episodes, memories, subjects ---- */

static int bind_episode(sqlite3_stmt *q, const struct episode *ep)
{
    int bad = 0;

    bad |= bind_str(q, 1, ep->id) != SQLITE_OK;
    bad |= bind_str(q, 2, ep->subject_id) != SQLITE_OK;
    bad |= bind_tenant(q, 3, ep->tenant_id) != SQLITE_OK;
    bad |= bind_str(q, 4, ep->session_id) != SQLITE_OK;
    bad |= bind_str(q, 5, ep->source) != SQLITE_OK;
    bad |= bind_str(q, 6, ep->type) != SQLITE_OK;
    bad |= bind_str(q, 7, ep->payload) != SQLITE_OK;
    bad |= bind_str(q, 8, ep->metadata ? ep->metadata : "{}") != SQLITE_OK;
    bad |= bind_str(q, 9, ep->provenance ? ep->provenance : "{}") != SQLITE_OK;
    bad |= bind_str(q, 10, ep->idempotency_key) != SQLITE_OK;
    bad |= bind_ts(q, 11, ep->created_at) != SQLITE_OK;
    bad |= bind_ts(q, 12, ep->last_compiled_at) != SQLITE_OK;
    return bad ? -1 : 0;
}

/* Overwrite *ep with the episode holding ep's (tenant, subject, idempotency key). */
static int load_by_idem(struct sqlite_store *s, struct arena *a, struct episode *ep,
                        struct err *err)
{
    sqlite3_stmt *q = stmt_get(s, SQ_EP_BY_IDEM, err);
    void *rows;
    size_t n;

    if (!q)
        return -1;
    bind_tenant(q, 1, ep->tenant_id);
    bind_str(q, 2, ep->subject_id);
    bind_str(q, 3, ep->idempotency_key);
    if (collect_rows(s, a, q, sizeof(*ep), 1, read_episode, &rows, &n, err) < 0)
        return -1;
    if (n != 1) {
        log_write(LOG_ERROR, "sqlite episode insert: idempotency conflict but no row found");
        return err_set(err, ERR_INTERNAL, "database error");
    }
    *ep = *(struct episode *)rows;
    return 0;
}

static int sq_episode_insert(store *st, struct arena *a, struct episode *ep, int *inserted,
                             struct err *err)
{
    struct sqlite_store *s = downcast(st);
    sqlite3_stmt *q = stmt_get(s, SQ_EP_INSERT, err);

    *inserted = 0;
    if (!q)
        return -1;
    if (bind_episode(q, ep) < 0) {
        stmt_done(q);
        return db_fail(s, "episode insert bind", sqlite3_errcode(s->db), err);
    }
    if (step_done(s, q, "episode insert", err) < 0)
        return -1;
    if (sqlite3_changes(s->db) == 1) {
        *inserted = 1;
        return 0;
    }
    return load_by_idem(s, a, ep, err);
}

/* Bind (tenant, subject, limit, offset) to ?1..?4 of a list statement. */
static void bind_page(sqlite3_stmt *q, const char *tenant, const char *subject, size_t limit,
                      size_t offset)
{
    bind_tenant(q, 1, tenant);
    bind_str(q, 2, subject);
    bind_count(q, 3, limit, 1);
    bind_count(q, 4, offset, 0);
}

static int sq_episode_list(store *st, struct arena *a, const char *tenant, const char *subject,
                           size_t limit, size_t offset, struct episode **out, size_t *n,
                           struct err *err)
{
    struct sqlite_store *s = downcast(st);
    sqlite3_stmt *q = stmt_get(s, SQ_EP_LIST, err);

    void *rows = NULL;
    int ret = -1;

    *n = 0;
    if (q) {
        bind_page(q, tenant, subject, limit, offset);
        ret = collect_rows(s, a, q, sizeof(**out), limit, read_episode, &rows, n, err);
    }
    *out = rows;
    return ret;
}

static int sq_memory_list(store *st, struct arena *a, const char *tenant, const char *subject,
                          size_t limit, size_t offset, struct memory **out, size_t *n,
                          struct err *err)
{
    struct sqlite_store *s = downcast(st);
    sqlite3_stmt *q = stmt_get(s, SQ_MEM_LIST, err);

    void *rows = NULL;
    int ret = -1;

    *n = 0;
    if (q) {
        bind_page(q, tenant, subject, limit, offset);
        ret = collect_rows(s, a, q, sizeof(**out), limit, read_memory, &rows, n, err);
    }
    *out = rows;
    return ret;
}

static int sq_subject_list(store *st, struct arena *a, const char *tenant, size_t limit,
                           size_t offset, struct subject_count **out, size_t *n,
                           struct err *err)
{
    struct sqlite_store *s = downcast(st);
    sqlite3_stmt *q = stmt_get(s, SQ_SUBJECTS, err);

    void *rows = NULL;
    int ret = -1;

    *n = 0;
    if (q) {
        bind_tenant(q, 1, tenant);
        bind_count(q, 2, limit, 1);
        bind_count(q, 3, offset, 0);
        ret = collect_rows(s, a, q, sizeof(**out), limit, read_subject_count, &rows, n, err);
    }
    *out = rows;
    return ret;
}

/* Run one of the per-(tenant, subject) DELETEs and report how many rows went. */
static int delete_rows(struct sqlite_store *s, enum sq_stmt id, const char *tenant,
                       const char *subject, int64_t *count, struct err *err)
{
    sqlite3_stmt *q = stmt_get(s, id, err);

    if (!q)
        return -1;
    bind_tenant(q, 1, tenant);
    bind_str(q, 2, subject);
    if (step_done(s, q, "subject delete", err) < 0)
        return -1;
    *count = sqlite3_changes64(s->db);
    return 0;
}

static int sq_subject_delete(store *st, const char *tenant, const char *subject,
                             int64_t *episodes_deleted, int64_t *memories_deleted,
                             struct err *err)
{
    struct sqlite_store *s = downcast(st);
    int own_tx = !st->in_tx;

    *episodes_deleted = *memories_deleted = 0;
    if (own_tx && sq_tx_begin(st, err) < 0)
        return -1;
    if (delete_rows(s, SQ_EP_DELETE, tenant, subject, episodes_deleted, err) < 0 ||
        delete_rows(s, SQ_MEM_DELETE, tenant, subject, memories_deleted, err) < 0)
        goto fail;
    if (own_tx && sq_tx_commit(st, err) < 0)
        goto fail;
    return 0;
fail:
    if (own_tx)
        sq_tx_rollback(st);
    *episodes_deleted = *memories_deleted = 0;
    return -1;
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .migrate = sq_migrate,
    .schema_version = sq_schema_version,
    .ping = sq_ping,
    .tx_begin = sq_tx_begin,
    .tx_commit = sq_tx_commit,
    .tx_rollback = sq_tx_rollback,
    .episode_insert = sq_episode_insert,
    .episode_list = sq_episode_list,
    .memory_list = sq_memory_list,
    .subject_list = sq_subject_list,
    .subject_delete = sq_subject_delete,
};
