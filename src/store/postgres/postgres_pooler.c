/* postgres_pooler.c - PostgreSQL through a transaction pooler (pgbouncer pool_mode=transaction):
 * deciding whether one is in between, session settings that survive it, and the maintenance
 * lock as a transaction lock. Each transaction may run on another server connection, so
 * nothing may rely on session state: statements are sent with their text (postgres.c's
 * senders; the unnamed statement inside one transaction), no SET outside a transaction, and
 * no session advisory lock. docs/SCALING.md says what this costs. */
#include "store/postgres/postgres-internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/config.h"
#include "util/log.h"

/* On a direct connection: the settings the text forms rely on, for the session. */
static const char SQL_SESSION_SET[] = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD';"
                                      " SET bytea_output = 'hex'; SET extra_float_digits = 1";
/* Where the server listens (NULL on a Unix socket) and the settings a pooler hands us. */
static const char SQL_SESSION_PROBE[] =
    "SELECT inet_server_port(), current_setting('TimeZone'), current_setting('DateStyle'),"
    " current_setting('bytea_output'), current_setting('extra_float_digits')";
/* The maintenance pass's lock through a pooler: the key of pgst_maintenance_trylock's session
 * lock, so a direct process and a pooled one on one database still exclude each other. */
static const char SQL_MAINT_XACT_TRYLOCK[] =
    "BEGIN; SELECT pg_try_advisory_xact_lock(5003049977013685620)";

static pthread_once_t startup_once = PTHREAD_ONCE_INIT;

static void set_startup_env(void)
{
    setenv("PGTZ", "UTC", 1);
    setenv("PGDATESTYLE", "ISO, YMD", 1);
}

void pgst_startup_settings(void)
{
    pthread_once(&startup_once, set_startup_env);
}

/* 1 if the server listens elsewhere than where we connected: a pooler or proxy between. */
static int detected(struct pgst_store *ps, const PGresult *r)
{
    const char *host = PQhost(ps->conn), *port = PQport(ps->conn);
    int ours = port && *port ? atoi(port) : 5432;
    int on_socket = host && host[0] == '/';

    if (PQgetisnull(r, 0, 0))   /* the server side is a Unix socket */
        return !on_socket;
    return on_socket || atoi(PQgetvalue(r, 0, 0)) != ours;
}

/* Through a pooler the server's own settings must be the ones the text forms need. */
static int settings_ok(const PGresult *r, char *why, size_t size)
{
    const char *tz = PQgetvalue(r, 0, 1), *ds = PQgetvalue(r, 0, 2);
    const char *bytea = PQgetvalue(r, 0, 3), *efd = PQgetvalue(r, 0, 4);

    if (strcmp(tz, "UTC") != 0 && strcmp(tz, "Etc/UTC") != 0)
        snprintf(why, size, "TimeZone is '%s', want UTC", tz);
    else if (strncmp(ds, "ISO", 3) != 0)
        snprintf(why, size, "DateStyle is '%s', want ISO", ds);
    else if (strcmp(bytea, "hex") != 0)
        snprintf(why, size, "bytea_output is '%s', want hex", bytea);
    else if (atoi(efd) < 1)
        snprintf(why, size, "extra_float_digits is '%s', want 1", efd);
    else
        return 1;
    return 0;
}

int pgst_session_setup(struct pgst_store *ps, struct err *err)
{
    static int told;   /* the mode is logged once per process */
    int pooler = store_pooler();
    PGresult *r;
    char why[160];

    ps->pooled = pooler == CONFIG_POOLER_PGBOUNCER;
    if (pooler == CONFIG_POOLER_AUTO || ps->pooled) {
        r = PQexec(ps->conn, SQL_SESSION_PROBE);
        if (!r || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
            return pgst_fail(ps, r, "session probe", err);
        if (pooler == CONFIG_POOLER_AUTO)
            ps->pooled = detected(ps, r);
        if (ps->pooled && !settings_ok(r, why, sizeof(why))) {
            PQclear(r);
            log_write(LOG_ERROR, "postgres through a pooler: %s (set it for the database: "
                      "ALTER DATABASE ... SET ...)", why);
            return err_set(err, ERR_INTERNAL, "postgres through a pooler: %s", why);
        }
        PQclear(r);
    }
    if (ps->pooled && !__atomic_exchange_n(&told, 1, __ATOMIC_RELAXED))
        log_write(LOG_INFO, "postgres: transaction pooler mode (%s): statements are not "
                  "prepared across transactions, no session state",
                  pooler == CONFIG_POOLER_AUTO ? "detected: the server listens on another "
                  "port than the one connected to; STATEWAVE_DATABASE_POOLER=none turns it off"
                  : "STATEWAVE_DATABASE_POOLER=pgbouncer");
    if (ps->pooled)
        return 0;
    r = PQexec(ps->conn, SQL_SESSION_SET);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
        return pgst_fail(ps, r, "session setup", err);
    PQclear(r);
    return 0;
}

/* ---- the maintenance lock ---- */

/* The lock connection's failure: logged, the connection closed (which ends its transaction
 * and so releases the lock), err set to a 503. */
static int lock_conn_fail(struct pgst_store *ps, PGresult *r, const char *what,
                          struct err *err)
{
    char why[512];

    pgst_one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(ps->lock_conn), why,
                  sizeof(why));
    PQclear(r);
    log_write(LOG_ERROR, "postgres: maintenance lock: %s failed: %s", what, why);
    PQfinish(ps->lock_conn);
    ps->lock_conn = NULL;
    store_fail_unavailable(err, STORE_DOWN_UNREACHABLE);
    err_cause(err, "postgres: maintenance lock: %s failed: %s", what, why);
    return -1;
}

int pgst_maint_trylock(store *st, int *acquired, struct err *err)
{
    struct pgst_store *ps = pgst_downcast(st);
    PGresult *r;

    *acquired = 0;
    if (!ps->pooled)
        return pgst_maintenance_trylock(st, acquired, err);
    if (!ps->lock_conn) {
        ps->lock_conn = pgst_connect(ps->conninfo);
        if (!ps->lock_conn || PQstatus(ps->lock_conn) != CONNECTION_OK)
            return lock_conn_fail(ps, NULL, "connecting", err);
    }
    r = PQexec(ps->lock_conn, SQL_MAINT_XACT_TRYLOCK);
    if (!r || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        return lock_conn_fail(ps, r, "pg_try_advisory_xact_lock", err);
    *acquired = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (*acquired)
        return 0;   /* the open transaction holds it until pgst_maint_unlock */
    r = PQexec(ps->lock_conn, "ROLLBACK");
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
        return lock_conn_fail(ps, r, "ROLLBACK", err);
    PQclear(r);
    return 0;
}

int pgst_maint_unlock(store *st, struct err *err)
{
    struct pgst_store *ps = pgst_downcast(st);
    PGresult *r;

    if (!ps->pooled)
        return pgst_maintenance_unlock(st, err);
    if (!ps->lock_conn)
        return 0;
    r = PQexec(ps->lock_conn, "COMMIT");
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
        return lock_conn_fail(ps, r, "COMMIT", err);
    PQclear(r);
    return 0;
}
