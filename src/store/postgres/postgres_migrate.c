/* postgres_migrate.c - PostgreSQL backend: applying the schema steps of schema_postgres.c, each
 * in its own transaction under an advisory lock, and reporting the schema version. */
#include "store/postgres/postgres-internal.h"

#include <stdio.h>
#include <string.h>

#include "store/migrations.h"
#include "util/log.h"
#include "util/ts.h"

/* The version of the step that creates memory_codes (schema_postgres.c), found by its name. */
static int codes_step(void)
{
    size_t i;

    for (i = 0; i < postgres_migrations_count; i++)
        if (strcmp(postgres_migrations[i].name, "search_vector_codes") == 0)
            return postgres_migrations[i].version;
    return 0;
}

/* Key of the advisory lock that serialises migration steps across processes ("engram"). */
static const char SQL_MIGRATE_LOCK[] = "SELECT pg_advisory_xact_lock(111524856357229)";
static const char SQL_MIGRATIONS_CREATE[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
    " name text NOT NULL, applied_at timestamptz NOT NULL)";
static const char SQL_MIGRATIONS_EXISTS[] =
    "SELECT to_regclass('schema_migrations') IS NOT NULL";
static const char SQL_MIGRATIONS_MAX[] =
    "SELECT COALESCE(max(version), 0) FROM schema_migrations";
static const char SQL_MIGRATION_APPLIED[] = "SELECT 1 FROM schema_migrations WHERE version = $1";
static const char SQL_MIGRATION_RECORD[] =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)";

static int latest_version(void)
{
    return postgres_migrations_count ?
        postgres_migrations[postgres_migrations_count - 1].version : 0;
}

/* Highest applied step; 0 when schema_migrations does not exist yet. */
static int read_version(struct pgst_store *ps, int *version, struct err *err)
{
    PGresult *r = pgst_exec(ps, SQL_MIGRATIONS_EXISTS, 0, NULL, err);
    int64_t v;
    int exists;

    if (!r)
        return -1;
    exists = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    *version = 0;
    if (!exists)
        return 0;
    if (pgst_exec_int64(ps, SQL_MIGRATIONS_MAX, 0, NULL, &v, err) < 0)
        return -1;
    *version = (int)v;
    return 0;
}

/* 1 if step m is recorded, 0 if not, -1 on failure. */
static int step_applied(struct pgst_store *ps, const struct migration *m, struct err *err)
{
    char v[PG_INT_LEN];
    const char *vals[1] = { pgst_int_param(m->version, v) };
    PGresult *r = pgst_exec(ps, SQL_MIGRATION_APPLIED, 1, vals, err);
    int applied;

    if (!r)
        return -1;
    applied = PQntuples(r) > 0;
    PQclear(r);
    return applied;
}

/* The step's DDL (several statements, constant text) and its bookkeeping row. */
static int step_run(struct pgst_store *ps, const struct migration *m, struct err *err)
{
    char v[PG_INT_LEN], now[TS_STR_LEN];
    const char *vals[3] = { pgst_int_param(m->version, v), m->name, NULL };
    PGresult *r = PQexec(ps->conn, m->sql);

    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        if (strstr(m->sql, "CREATE EXTENSION") && r &&
            (strstr(PQresultErrorMessage(r), "extension") ||
             strstr(PQresultErrorMessage(r), "permission")))
            log_write(LOG_ERROR, "postgres: migration %d '%s' creates an extension (pg_trgm): "
                      "it ships with PostgreSQL's contrib modules (Debian: the postgresql-15 "
                      "package) and needs CREATE privilege on the database",
                      m->version, m->name);
        return pgst_fail(ps, r, m->name, err);
    }
    PQclear(r);
    vals[2] = pgst_ts_param(ts_now(), now);
    return pgst_exec_void(ps, SQL_MIGRATION_RECORD, 3, vals, err);
}

/* Apply step m in its own transaction under the migration lock, unless another process
 * applied it meanwhile. Sets *applied to 1 when this call applied it. */
static int step_apply(struct pgst_store *ps, const struct migration *m, int *applied,
                      struct err *err)
{
    int done;

    *applied = 0;
    if (pgst_tx_begin(&ps->base, err) < 0)
        return -1;
    if (pgst_exec_void(ps, SQL_MIGRATE_LOCK, 0, NULL, err) < 0 ||
        pgst_exec_void(ps, SQL_MIGRATIONS_CREATE, 0, NULL, err) < 0)
        goto cleanup;
    done = step_applied(ps, m, err);
    if (done < 0)
        goto cleanup;
    if (!done && step_run(ps, m, err) < 0)
        goto cleanup;
    if (pgst_tx_commit(&ps->base, err) < 0)
        return -1;
    *applied = !done;
    if (*applied)
        log_write(LOG_INFO, "postgres: applied migration %d '%s'", m->version, m->name);
    return 0;
cleanup:
    pgst_tx_rollback(&ps->base);
    return -1;
}

int pgst_migrate(store *st, struct migrate_result *res, struct err *err)
{
    struct pgst_store *ps = pgst_downcast(st);
    size_t i;
    int applied;

    memset(res, 0, sizeof(*res));
    if (st->in_tx) {
        log_write(LOG_ERROR, "postgres: migrate inside an open transaction");
        return err_set(err, ERR_INTERNAL, "database error");
    }
    if (read_version(ps, &res->from_version, err) < 0)
        return -1;
    for (i = 0; i < postgres_migrations_count; i++) {
        if (postgres_migrations[i].version <= res->from_version)
            continue;
        if (store_migrate_upto > 0 && postgres_migrations[i].version > store_migrate_upto)
            break;
        if (step_apply(ps, &postgres_migrations[i], &applied, err) < 0)
            return -1;
        res->applied += applied;
    }
    if (read_version(ps, &res->to_version, err) < 0)
        return -1;
    /* The search_vector_codes step made memory_codes empty: its codes come from the stored
     * vectors, computed here (idempotent, so a process that saw the old schema too may run it
     * again). */
    if (res->from_version < codes_step() && res->to_version >= codes_step() &&
        pgst_codes_fill(ps, NULL, err) < 0)
        return -1;
    return 0;
}

int pgst_schema_version(store *st, int *current, int *latest, struct err *err)
{
    *latest = latest_version();
    return read_version(pgst_downcast(st), current, err);
}
