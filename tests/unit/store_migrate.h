/* store_migrate.h - what the migration suites share: a fresh database migrated only up to an
 * older schema version, as an older release left it, so that a suite can write rows there
 * and then run the remaining steps. SQLite: the harness's temp file; PostgreSQL: a new
 * database beside ENGRAM_TEST_DATABASE_URL's, dropped at the end. Include after
 * store_raw.h. */
#ifndef ENGRAM_TESTS_UNIT_STORE_MIGRATE_H
#define ENGRAM_TESTS_UNIT_STORE_MIGRATE_H

#include <unistd.h>

#include "store/migrations.h"

/* The pairs whose counters differ from a count of their rows (sessions, newest episode and
 * open resolutions included), both ways: a row missing on either side counts. Both backends. */
static const char SQL_STATS_WRONG[] =
    "WITH t AS (SELECT subject_id, tk, sum(e) AS e, sum(m) AS m, sum(o) AS o, max(last) AS last,"
    " max(sess) AS sess FROM ("
    " SELECT subject_id, COALESCE(tenant_id, '') AS tk, count(*) AS e, 0 AS m, 0 AS o,"
    " max(created_at) AS last, count(DISTINCT session_id) AS sess FROM episodes GROUP BY 1, 2"
    " UNION ALL SELECT subject_id, COALESCE(tenant_id, ''), 0, count(*), 0, NULL, 0"
    " FROM memories GROUP BY 1, 2"
    " UNION ALL SELECT subject_id, COALESCE(tenant_id, ''), 0, 0, count(*), NULL, 0"
    " FROM resolutions WHERE status = 'open' GROUP BY 1, 2) x GROUP BY 1, 2)"
    " SELECT count(*) FROM t FULL JOIN subject_stats s ON s.subject_id = t.subject_id"
    " AND COALESCE(s.tenant_id, '') = t.tk WHERE t.subject_id IS NULL OR s.subject_id IS NULL"
    " OR s.episode_count <> t.e OR s.memory_count <> t.m OR s.open_sessions <> t.o"
    " OR s.session_count <> t.sess OR s.last_episode_at IS DISTINCT FROM t.last";

/* An episode of subject in tenant with that session (NULL: none), created at. */
static inline struct episode session_ep(const char *tenant, const char *subject,
                                        const char *session, int64_t at)
{
    struct episode ep = make_ep(tenant, subject, at);

    ep.session_id = session;
    return ep;
}

/* An open resolution of subject (no tenant) for session, created at T0. */
static inline void add_open_resolution(struct arena *a, const char *subject, const char *session)
{
    add_resolution(a, subject,
                   &(struct res_row){ .id = new_id(a),
                                      .session_id = session,
                                      .status = "open",
                                      .metadata = "{}",
                                      .created_at = T0,
                                      .updated_at = T0 });
}

/* subject_stats equals a count of the rows, and nothing is left pending (PostgreSQL). */
static inline void stats_counters_right(struct arena *a)
{
    assert_int_equal(raw_count(a, SQL_STATS_WRONG), 0);
    if (!is_sqlite())
        assert_int_equal(raw_count(a, "SELECT count(*) FROM subject_stats_pending"), 0);
}

static struct {
    char pg_admin[512]; /* the server's URL (engram_test) while the suite owns a database */
    char pg_db[40];
} old_db;

/* The version before the step named name, on the backend ENGRAM_TEST_DATABASE_URL names
 * (SQLite when unset; read before the database is open); -1 when there is no such step. */
static inline int version_before(const char *name)
{
    const char *url = getenv("ENGRAM_TEST_DATABASE_URL");
    int sqlite = !url || strncmp(url, "postgres", 8) != 0;
    const struct migration *steps = sqlite ? sqlite_migrations : postgres_migrations;
    size_t i, n = sqlite ? sqlite_migrations_count : postgres_migrations_count;

    for (i = 0; i < n; i++)
        if (strcmp(steps[i].name, name) == 0)
            return steps[i].version - 1;
    return -1;
}

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
