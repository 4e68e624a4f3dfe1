/* sqlite_migrate.c - SQLite backend: applying the schema steps of schema_sqlite.c, one locked
 * transaction per step, and reporting the schema version. */
#include "store/sqlite/sqlite-internal.h"

#include "store/migrations.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/xalloc.h"

static const char SQL_MIG_TABLE_EXISTS[] =
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
static const char SQL_MIG_CURRENT[] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
static const char SQL_MIG_RECORD[] =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)";

static const char schema_migrations_ddl[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " applied_at TEXT NOT NULL"
    ") STRICT";

int store_migrate_upto;

static int latest_version(void)
{
    if (store_migrate_upto > 0)
        return store_migrate_upto;
    return sqlite_migrations_count ? sqlite_migrations[sqlite_migrations_count - 1].version
                                   : 0;
}

/* Single integer result of sql, which takes no parameters (0 when it returns no row). */
static int query_int(struct sqlite_store *s, const char *sql, int *out, struct err *err)
{
    sqlite3_stmt *q = sq_stmt(s, sql, err);
    int64_t v;

    *out = 0;
    if (!q || sq_query_int64(s, q, sql, &v, err) < 0)
        return -1;
    *out = (int)v;
    return 0;
}

static int current_version(struct sqlite_store *s, int *current, struct err *err)
{
    int exists;

    if (query_int(s, SQL_MIG_TABLE_EXISTS, &exists, err) < 0)
        return -1;
    if (!exists) {
        *current = 0;
        return 0;
    }
    return query_int(s, SQL_MIG_CURRENT, current, err);
}

int sq_schema_version(store *st, int *current, int *latest, struct err *err)
{
    *latest = latest_version();
    return current_version(sq_downcast(st), current, err);
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
        return sq_fail(s, m->name, rc, err);
    q = sq_stmt(s, SQL_MIG_RECORD, err);
    if (!q)
        return -1;
    sqlite3_bind_int(q, 1, m->version);
    sq_bind_str(q, 2, m->name);
    sq_bind_ts(q, 3, ts_now());
    if (sq_step_done(s, q, "record migration", err) < 0)
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
        sq_fail(s, "create schema_migrations", rc, err);
        goto cleanup;
    }
    if (query_int(s, SQL_MIG_CURRENT, version, err) < 0)
        goto cleanup;
    *done = *version >= latest_version();
    if (!*done) {
        m = find_step(*version + 1);
        if (!m)
            BUG("sqlite_migrations has a gap");
        if (apply_step(s, m, err) < 0)
            goto cleanup;
    }
    return sq_tx_commit(&s->base, err);
cleanup:
    sq_tx_rollback(&s->base);
    return -1;
}

int sq_migrate(store *st, struct migrate_result *res, struct err *err)
{
    struct sqlite_store *s = sq_downcast(st);
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
