/* sqlite.c - the SQLite backend of store_ops: the connection (WAL, busy_timeout), its statement
 * cache, transactions, and the ops table. Each area's ops live in sqlite_<area>.c. */
#include "store/sqlite/sqlite-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "util/ts.h"
#include "util/xalloc.h"

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_BEGIN_READ[] = "BEGIN DEFERRED";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_PING[] = "SELECT 1";
static const char SQL_HEARTBEAT[] = "INSERT INTO heartbeat (id, beat_at) VALUES (1, ?1)"
                                    " ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at";

struct sqlite_store *sq_downcast(store *st)
{
    if (st->ops != &store_sqlite_ops)
        BUG("sqlite backend called with a foreign store");
    return (struct sqlite_store *)st;
}

/* 1 if rc is a unique violation on a row's id, which SQLite reports as "UNIQUE constraint
 * failed: episodes.id"; the table name goes into table. */
static int id_conflict(struct sqlite_store *s, int rc, char *table, size_t size)
{
    static const char prefix[] = "UNIQUE constraint failed: ";
    const char *msg, *dot;
    size_t len;

    if (rc != SQLITE_CONSTRAINT_UNIQUE && rc != SQLITE_CONSTRAINT_PRIMARYKEY)
        return 0;
    msg = sqlite3_errmsg(s->db);
    if (strncmp(msg, prefix, strlen(prefix)) != 0)
        return 0;
    msg += strlen(prefix);
    dot = strchr(msg, '.');
    if (!dot || strcmp(dot, ".id") != 0)
        return 0;
    len = (size_t)(dot - msg);
    if (len >= size)
        return 0;
    memcpy(table, msg, len);
    table[len] = '\0';
    return 1;
}

/* What a conflict message calls a row of table. */
static const char *row_noun(const char *table)
{
    if (strcmp(table, "episodes") == 0)
        return "episode";
    if (strcmp(table, "memories") == 0)
        return "memory";
    return table;
}

int sq_fail(struct sqlite_store *s, const char *what, int rc, struct err *err)
{
    int primary = rc & 0xff;
    char table[64];

    if (id_conflict(s, rc, table, sizeof(table))) {
        log_write(LOG_INFO, "sqlite %s: %s", what, sqlite3_errmsg(s->db));
        return err_set(err, ERR_CONFLICT, "%s id already exists", row_noun(table));
    }
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        log_write(LOG_ERROR, "sqlite %s: database still locked after busy_timeout %d ms: %s "
                  "(code %d)", what, SQ_BUSY_TIMEOUT_MS, sqlite3_errmsg(s->db), rc);
    else
        log_write(LOG_ERROR, "sqlite %s failed: %s (code %d)", what,
                  sqlite3_errcode(s->db) == rc ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc),
                  rc);
    if (primary == SQLITE_IOERR || primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB ||
        primary == SQLITE_CANTOPEN)
        s->base.broken = 1;
    /* A connection that SQLite opened read-only (the file was not writable) stays so:
     * reopen it, so that writes work again once the file is. */
    if (primary == SQLITE_READONLY && sqlite3_db_readonly(s->db, "main") == 1)
        s->base.broken = 1;
    switch (primary) {
    case SQLITE_FULL:
        store_fail_unavailable(err, STORE_DOWN_FULL);
        break;
    case SQLITE_READONLY:
        store_fail_unavailable(err, STORE_DOWN_READONLY);
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
        store_fail_unavailable(err, STORE_DOWN_UNREACHABLE);
        break;
    default:
        return err_set(err, ERR_INTERNAL, "sqlite %s failed: %s", what, sqlite3_errmsg(s->db));
    }
    err_cause(err, "sqlite %s failed: %s", what, sqlite3_errmsg(s->db));
    return -1;
}

/* The injected fault's result code, as SQLite itself would report it. */
static int fault_code(enum store_fault f)
{
    switch (f) {
    case STORE_FAULT_FULL:
        return SQLITE_FULL;
    case STORE_FAULT_READONLY:
        return SQLITE_READONLY;
    case STORE_FAULT_IOERR:
        return SQLITE_IOERR_WRITE;
    case STORE_FAULT_NONE:
        break;
    }
    return SQLITE_OK;
}

int sq_step(sqlite3_stmt *q)
{
    /* Only a statement's first step is a new statement; rows after it are not counted. */
    if (__builtin_expect(store_fault_armed, 0) && !sqlite3_stmt_busy(q)) {
        enum store_fault f = store_fault_next();

        if (f != STORE_FAULT_NONE)
            return fault_code(f);
    }
    return sqlite3_step(q);
}

/* ---- statements ---- */

/* A linear scan: a connection prepares a few dozen statements, and comparing that many
 * pointers costs far less than the step that follows. */
sqlite3_stmt *sq_stmt(struct sqlite_store *s, const char *sql, struct err *err)
{
    sqlite3_stmt *q = NULL;
    size_t i;
    int rc;

    for (i = 0; i < s->ncache; i++)
        if (s->cache[i].sql == sql)
            return s->cache[i].stmt;
    rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(q);
        sq_fail(s, "prepare", rc, err);
        return NULL;
    }
    if (s->ncache == s->cache_cap) {
        s->cache_cap = s->cache_cap ? 2 * s->cache_cap : 32;
        s->cache = xrealloc(s->cache, s->cache_cap * sizeof(*s->cache));
    }
    s->cache[s->ncache].sql = sql;
    s->cache[s->ncache].stmt = q;
    s->ncache++;
    return q;
}

void sq_reset(sqlite3_stmt *q)
{
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

int sq_step_done(struct sqlite_store *s, sqlite3_stmt *q, const char *what, struct err *err)
{
    int rc = sq_step(q);

    if (rc != SQLITE_DONE) {
        sq_fail(s, what, rc, err);
        sq_reset(q);
        return -1;
    }
    sq_reset(q);
    return 0;
}

int sq_exec(struct sqlite_store *s, const char *sql, struct err *err)
{
    sqlite3_stmt *q = sq_stmt(s, sql, err);

    if (!q)
        return -1;
    return sq_step_done(s, q, sql, err);
}

int sq_query_int64(struct sqlite_store *s, sqlite3_stmt *q, const char *what, int64_t *out,
                   struct err *err)
{
    int rc = sq_step(q);

    *out = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sq_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sq_fail(s, what, rc, err);
    return 0;
}

/* ---- connection ---- */

/* mkdir -p of the directory that will hold the database file path. */
static int make_parent_dirs(const char *path, struct err *err)
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
            ret = err_set(err, ERR_INTERNAL, "cannot create directory '%s': %s", dir,
                          strerror(errno));
            log_write(LOG_ERROR, "%s", err->cause);
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
        return sq_fail(s, "journal_mode=WAL", rc, err);
    return 0;
}

static int configure(struct sqlite_store *s, struct err *err)
{
    /* 16 MiB page cache per connection and in-memory temp tables: a snapshot restore of
     * 400 memories with 1536-float embeddings halves its memories statement with them.
     * journal_size_limit: a WAL grown past it is truncated back when it restarts. */
    static const char pragmas[] = "PRAGMA foreign_keys = OFF;"
                                  "PRAGMA cache_size = -16384;"
                                  "PRAGMA temp_store = MEMORY;"
                                  "PRAGMA journal_size_limit = 67108864;";
    int rc;

    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, SQ_BUSY_TIMEOUT_MS);
    if (set_wal(s, err) < 0)
        return -1;
    rc = sqlite3_exec(s->db, pragmas, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, store_sqlite_sync_full() ? "PRAGMA synchronous = FULL"
                                                          : "PRAGMA synchronous = NORMAL",
                          NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(s, "connection setup", rc, err);
    rc = sq_register_functions(s->db);
    if (rc == SQLITE_OK)
        rc = sq_register_search_functions(s->db);
    if (rc == SQLITE_OK)
        rc = sq_register_counters(s);
    if (rc != SQLITE_OK)
        return sq_fail(s, "registering SQL functions", rc, err);
    return 0;
}

/* A write transaction ended: let the checkpointer's gate know. */
static void end_write(struct sqlite_store *s)
{
    if (!s->writing)
        return;
    s->writing = 0;
    sq_ckpt_write_end(s->ckpt);
}

void sq_close(store *st)
{
    struct sqlite_store *s;
    size_t i;

    if (!st)
        return;
    s = sq_downcast(st);
    if (s->db && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    for (i = 0; i < s->ncache; i++)
        sqlite3_finalize(s->cache[i].stmt);
    free(s->cache);
    if (s->db && sqlite3_close(s->db) != SQLITE_OK)
        log_write(LOG_ERROR, "sqlite close failed: %s", sqlite3_errmsg(s->db));
    end_write(s);
    sq_ckpt_detach(s->ckpt);
    free(s);
}

/* Why opening path failed, in the operator's words: SQLite's "unable to open database file"
 * hides the errno, and its last system errno is often that of a fallback call. */
static const char *open_failure_reason(const char *path, sqlite3 *db)
{
    char *dir, *slash;
    int e;

    if (access(path, R_OK | W_OK) < 0 && errno != ENOENT)
        return strerror(errno);
    if (access(path, F_OK) < 0) {
        dir = xstrdup(path);
        slash = strrchr(dir, '/');
        if (slash)
            *(slash == dir ? slash + 1 : slash) = '\0';
        e = access(slash ? dir : ".", W_OK | X_OK) < 0 ? errno : 0;
        free(dir);
        if (e)
            return strerror(e);
    }
    e = db ? sqlite3_system_errno(db) : 0;
    return e ? strerror(e) : "unknown cause";
}

int sq_open(const char *path, store **out, struct err *err)
{
    struct sqlite_store *s = xcalloc(1, sizeof(*s));
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc;

    s->base.ops = &store_sqlite_ops;
    *out = NULL;
    if (path[0] != ':' && make_parent_dirs(path, err) < 0)
        goto cleanup;
    rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        store_fail_unavailable(err, STORE_DOWN_UNREACHABLE);
        err_cause(err, "cannot open SQLite database '%s': %s: %s", path,
                  s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc),
                  open_failure_reason(path, s->db));
        log_write(LOG_ERROR, "%s", err->cause);
        goto cleanup;
    }
    if (configure(s, err) < 0)
        goto cleanup;
    /* SQLite opens a file it may not write read-only, and the connection stays so: used for
     * this request, it is reopened at the next, so that writes work again on every worker
     * once the file is writable. */
    if (sqlite3_db_readonly(s->db, "main") == 1)
        s->base.broken = 1;
    s->ckpt = sq_ckpt_attach(s->db, path);
    *out = &s->base;
    return 0;
cleanup:
    sq_close(&s->base);
    return -1;
}

int sq_ping(store *st, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_PING, err);
    int rc;

    if (!q)
        return -1;
    rc = sq_step(q);
    sq_reset(q);
    if (rc != SQLITE_ROW)
        return sq_fail(s, "ping", rc, err);
    return 0;
}

/* Autocommit: the statement is its own transaction, so the probe reaches the WAL. */
int sq_heartbeat(store *st, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
    sqlite3_stmt *q = sq_stmt(s, SQL_HEARTBEAT, err);

    if (!q)
        return -1;
    sq_bind_ts(q, 1, ts_now());
    return sq_step_done(s, q, "heartbeat", err);
}

/* ---- transactions ---- */

int sq_tx_begin(store *st, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);

    if (st->in_tx)
        BUG("store_tx_begin inside an open transaction");
    sq_ckpt_write_begin(s->ckpt, s->db);
    if (sq_exec(s, SQL_BEGIN, err) < 0) {
        sq_ckpt_write_end(s->ckpt);
        return -1;
    }
    st->in_tx = 1;
    s->writing = 1;
    return 0;
}

/* A deferred BEGIN takes no lock: the first read starts SQLite's read transaction, and that
 * pins the snapshot every later read of the transaction sees (WAL keeps it while writers
 * commit). tx_commit and tx_rollback end it like any other transaction. */
int sq_tx_begin_read(store *st, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);

    if (st->in_tx)
        BUG("store_tx_begin_read inside an open transaction");
    if (sq_exec(s, SQL_BEGIN_READ, err) < 0)
        return -1;
    st->in_tx = 1;
    return 0;
}

void sq_tx_rollback(store *st)
{
    struct sqlite_store *s = sq_downcast(st);
    struct err ignored = ERR_INIT;

    st->in_tx = 0;
    if (!sqlite3_get_autocommit(s->db))   /* else SQLite already rolled back on error */
        sq_exec(s, SQL_ROLLBACK, &ignored);
    end_write(s);
}

/* Commit; on failure the transaction is rolled back and nothing is written. */
int sq_tx_commit(store *st, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);

    if (!st->in_tx)
        BUG("store_tx_commit without an open transaction");
    if (sq_exec(s, SQL_COMMIT, err) < 0) {
        sq_tx_rollback(st);
        return -1;
    }
    st->in_tx = 0;
    end_write(s);
    return 0;
}

/* ---- the table: one block per area, each filled by its own file ---- */

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",

    /* sqlite.c */
    .open = sq_open,
    .close = sq_close,
    .ping = sq_ping,
    .heartbeat = sq_heartbeat,
    .tx_begin = sq_tx_begin,
    .tx_commit = sq_tx_commit,
    .tx_rollback = sq_tx_rollback,
    .tx_begin_read = sq_tx_begin_read,

    /* sqlite_migrate.c */
    .migrate = sq_migrate,
    .schema_version = sq_schema_version,

    /* sqlite_episodes.c */
    .episode_insert = sq_episode_insert,
    .commits_flush = sq_commits_flush,
    .episode_insert_group = sq_episode_insert_group,
    .episode_list = sq_episode_list,
    .episode_list_window = sq_episode_list_window,

    /* sqlite_subjects.c */
    .memory_list = sq_memory_list,
    .subject_list = sq_subject_list,
    .subject_delete = sq_subject_delete,

    /* sqlite_compile.c */
    .episode_list_uncompiled = sq_episode_list_uncompiled,
    .episode_mark_compiled = sq_episode_mark_compiled,
    .episode_list_recent = sq_episode_list_recent,
    .episode_get_many = sq_episode_get_many,
    .subject_lock = sq_subject_lock,
    .compile_reset = sq_compile_reset,
    .resolution_list = sq_resolution_list,

    /* sqlite_memories.c */
    .memory_insert = sq_memory_insert,
    .memory_list_active = sq_memory_list_active,
    .memory_supersede = sq_memory_supersede,
    .memory_set_embedding = sq_memory_set_embedding,
    .memory_set_embeddings = sq_memory_set_embeddings,
    .memory_get = sq_memory_get,
    .memory_scan_vectors = sq_memory_scan_vectors,
    .memory_scan_text = sq_memory_scan_text,
    .memory_rank_text = sq_memory_rank_text,
    .search_text_sync = sq_search_text_sync,
    .search_codes_sync = sq_search_codes_sync,
    .memory_scan_codes = sq_memory_scan_codes,
    .memory_vectors_by_ids = sq_memory_vectors_by_ids,
    .memory_codes_gen = sq_memory_codes_gen,
    .context_gen = sq_context_gen,
    .memory_get_many = sq_memory_get_many,
    .memory_set_labels = sq_memory_set_labels,
    .qcache_get = sq_qcache_get,
    .qcache_put = sq_qcache_put,

    /* sqlite_export.c */
    .export_count = sq_export_count,
    .export_episodes = sq_export_episodes,
    .export_memories = sq_export_memories,
    .episode_ids_taken = sq_episode_ids_taken,
    .memory_ids_taken = sq_memory_ids_taken,
    .episode_insert_many = sq_episode_insert_many,
    .memory_insert_many = sq_memory_insert_many,

    /* sqlite_snapshots.c */
    .snapshot_insert = sq_snapshot_insert,
    .snapshot_get = sq_snapshot_get,
    .snapshot_find = sq_snapshot_find,
    .snapshot_latest = sq_snapshot_latest,
    .snapshot_list = sq_snapshot_list,
    .subject_copy = sq_subject_copy,
    .subject_newest_episode = sq_subject_newest_episode,
    .cleanup_candidates = sq_cleanup_candidates,
    .maintenance_trylock = sq_maintenance_trylock,
    .maintenance_unlock = sq_maintenance_unlock,

    /* sqlite_jobs.c */
    .job_count_stuck = sq_job_count_stuck,
    .job_insert = sq_job_insert,
    .job_get = sq_job_get,
    .job_claim = sq_job_claim,
    .job_renew = sq_job_renew,
    .job_finish = sq_job_finish,
    .job_list = sq_job_list,
    .job_delete = sq_job_delete,
    .job_count_by_status = sq_job_count_by_status,

    /* sqlite_backup.c */
    .backup = sq_backup,

    /* sqlite_ratelimit.c */
    .ratelimit_hit = sq_ratelimit_hit,
    .ratelimit_purge = sq_ratelimit_purge,

    /* sqlite_webhooks.c */
    .webhook_insert = sq_webhook_insert,
    .webhook_claim = sq_webhook_claim,
    .webhook_update = sq_webhook_update,
    .webhook_list = sq_webhook_list,
    .webhook_stats = sq_webhook_stats,
    .webhook_get = sq_webhook_get,
    .webhook_purge = sq_webhook_purge,
    .explorer_subjects = sq_explorer_subjects,
    .explorer_summary = sq_explorer_summary,
    .explorer_episodes = sq_explorer_episodes,
    .explorer_memories = sq_explorer_memories,
    .explorer_resolutions = sq_explorer_resolutions,
    .explorer_citing_counts = sq_explorer_citing_counts,
    .subject_match = sq_subject_match,
    .tenant_list = sq_tenant_list,
    .tenant_audit = sq_tenant_audit,
    .usage = sq_usage,
    .overview = sq_overview,
    .pack_rows = sq_pack_rows,
    .pack_rows_delete = sq_pack_rows_delete,

    /* sqlite_deletions.c */
    .subject_delete_ids = sq_subject_delete_ids,
    .subject_rows_before = sq_subject_rows_before,
    .deletion_insert = sq_deletion_insert,
    .deletion_get = sq_deletion_get,
    .lineage_put = sq_lineage_put,
    .lineage_get = sq_lineage_get,

    /* sqlite_resolutions.c */
    .resolution_query = sq_resolution_query,
    .resolution_upsert = sq_resolution_upsert,
    .health_cache_get = sq_health_cache_get,
    .health_cache_put = sq_health_cache_put,
    .health_cache_delete = sq_health_cache_delete,

    /* sqlite_history.c */
    .memory_list_as_of = sq_memory_list_as_of,
    .episode_list_as_of = sq_episode_list_as_of,
    .receipt_insert = sq_receipt_insert,
    .receipt_get = sq_receipt_get,
    .receipt_list = sq_receipt_list,
};
