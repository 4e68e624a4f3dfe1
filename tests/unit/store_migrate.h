/* store_migrate.h - what the migration suites share: a fresh database migrated only up to an
 * older schema version, as an older release left it, so that a suite can write rows there
 * and then run the remaining steps. SQLite: the harness's temp file; PostgreSQL: a new
 * database beside ENGRAM_TEST_DATABASE_URL's, dropped at the end. Include after
 * store_raw.h. */
#ifndef ENGRAM_TESTS_UNIT_STORE_MIGRATE_H
#define ENGRAM_TESTS_UNIT_STORE_MIGRATE_H

#include <unistd.h>

#include "store/migrations.h"

static struct {
    char pg_admin[512]; /* the server's URL (engram_test) while the suite owns a database */
    char pg_db[40];
} old_db;

/* Group setup: open the fresh database and migrate it up to version only. */
static inline int open_old_database(int version)
{
    struct err err = ERR_INIT;
    struct migrate_result mr;
    char *slash;
    PGconn *c;
    PGresult *r;
    char sql[128], url[1024];

    if (open_database() < 0)
        return -1;
    if (!is_sqlite()) {
        snprintf(old_db.pg_admin, sizeof(old_db.pg_admin), "%s", g.conninfo);
        snprintf(old_db.pg_db, sizeof(old_db.pg_db), "engram_mig_%d", (int)getpid());
        c = PQconnectdb(old_db.pg_admin);
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", old_db.pg_db);
        r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "CREATE DATABASE: %s", PQerrorMessage(c));
            return -1;
        }
        PQclear(r);
        PQfinish(c);
        store_close(g.st);
        slash = strrchr(g.conninfo, '/');
        if (!slash)
            return -1;
        *slash = '\0';
        snprintf(url, sizeof(url), "%s/%s", g.conninfo, old_db.pg_db);
        free(g.conninfo);
        g.conninfo = strdup(url);
        if (store_open(g.ops, g.conninfo, &g.st, &err) < 0)
            return -1;
    }
    store_migrate_upto = version;
    if (store_migrate(g.st, &mr, &err) < 0 || mr.to_version != version) {
        fprintf(stderr, "migrate to %d failed: %s\n", version, err.msg);
        return -1;
    }
    store_migrate_upto = 0;
    return 0;
}

/* Group teardown: close everything, drop the PostgreSQL database. */
static inline int close_old_database(void **state)
{
    PGconn *c;
    char sql[128];

    snap_group_teardown(state);
    if (old_db.pg_db[0]) {
        c = PQconnectdb(old_db.pg_admin);
        snprintf(sql, sizeof(sql), "DROP DATABASE %s", old_db.pg_db);
        PQclear(PQexec(c, sql));
        PQfinish(c);
    }
    return 0;
}

#endif
