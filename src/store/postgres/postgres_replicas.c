/* postgres_replicas.c - read replicas (streaming standbys) for the read endpoints: the list
 * (STATEWAVE_DATABASE_REPLICA_URLS), each one's state checked in the background (replayed
 * LSN, lag), and the routing of one request's reads (store_request_begin / store_thread_routed):
 * with an X-Engram-Read-After LSN a replica that has replayed it, else the primary; without,
 * the primary, unless reads may be eventual (STATEWAVE_REPLICA_READS=eventual), when a
 * replica within the lag limit serves them. The replicas' connections are per thread, like
 * the primary's (store_thread). docs/SCALING.md has the contract. */
#include "store/postgres/postgres-internal.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/ts.h"
#include "util/worker.h"
#include "util/xalloc.h"

#define CHECK_EVERY_US (250LL * 1000)   /* the health loop's period */

static const char SQL_PRIMARY_LSN[] = "SELECT pg_current_wal_lsn()::text";
static const char SQL_REPLICA_STATE[] =
    "SELECT pg_is_in_recovery(), COALESCE(pg_last_wal_replay_lsn(), pg_current_wal_lsn())::text";
static const char SQL_REPLAYED[] = "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn";

struct replica {
    char *conninfo;            /* owned */
    char name[96];             /* host:port for /readyz and the logs */
    /* under state_lock: */
    int healthy;               /* answered the last check */
    int was_healthy;           /* for one log line per change */
    uint64_t replayed;         /* its replayed LSN at the last check */
    int64_t behind_since;      /* ts_monotonic() when it was first seen behind the primary's
                                * LSN of that time; 0 = caught up */
    uint64_t behind_target;    /* the primary LSN it had to reach */
    int64_t lag_ms;            /* how long it has been behind (0 = caught up) */
    char why[160];             /* the last failure */
};

static struct replica *replicas;
static size_t nreplicas;
static int eventual;
static int64_t max_lag_ms = 1000;
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;

static _Thread_local store *thread_replicas[STORE_MAX_REPLICAS];   /* opened lazily */
static _Thread_local size_t rr;                 /* round robin over the replicas */

/* The request this thread is serving. */
static _Thread_local struct {
    int read_ok;               /* a read endpoint */
    uint64_t after;            /* X-Engram-Read-After; 0 = none */
    int write;                 /* a write endpoint: report the LSN */
    store *chosen;             /* the connection its first store call got: every call of
                                * one request reads from the same server */
} req;

/* ---- LSNs ---- */

int store_lsn_parse(const char *s, uint64_t *out)
{
    unsigned long hi, lo;
    char *end;

    if (!s || !*s || strchr(s, '-') || strchr(s, ' ') || strchr(s, '+'))
        return -1;
    hi = strtoul(s, &end, 16);
    if (*end != '/' || end == s || end - s > 8)
        return -1;
    s = end + 1;
    lo = strtoul(s, &end, 16);
    if (*end != '\0' || end == s || end - s > 8)
        return -1;
    *out = ((uint64_t)hi << 32) | (uint64_t)lo;
    return 0;
}

static void lsn_format(uint64_t lsn, char *out, size_t size)
{
    snprintf(out, size, "%" PRIX64 "/%" PRIX64, lsn >> 32, lsn & 0xffffffffu);
}

/* ---- set-up ---- */

/* The name of a URL for logs and /readyz: its host:port, never its password. */
static void name_of(const char *url, char *out, size_t size)
{
    const char *p = strstr(url, "://"), *at, *end;

    p = p ? p + 3 : url;
    at = strchr(p, '@');
    end = p + strcspn(p, "/?");
    if (at && at < end)
        p = at + 1;
    snprintf(out, size, "%.*s", (int)(end - p), p);
}

static int is_url_start(const char *s)
{
    return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0 ||
           strncmp(s, "postgresql+", 11) == 0;
}

int store_replicas_setup(const char *urls, int reads_eventual, int lag_ms, struct err *err)
{
    const char *p = urls, *next;
    char *conninfo;

    eventual = reads_eventual;
    max_lag_ms = lag_ms;
    if (!urls || !*urls)
        return 0;
    while (*p) {
        /* A comma starts the next URL only before a scheme: a multi-host URL has commas. */
        next = p;
        while ((next = strchr(next + 1, ',')) && !is_url_start(next + 1))
            ;
        {
            size_t len = next ? (size_t)(next - p) : strlen(p);
            char *one = xstrndup(p, len);

            if (!store_backend_for(one, &conninfo, err) || !is_url_start(one)) {
                free(one);
                free(conninfo);
                if (!err->kind)
                    err_set(err, ERR_INVALID, "not a postgresql:// URL");
                return -1;
            }
            free(one);
        }
        if (nreplicas == STORE_MAX_REPLICAS) {
            free(conninfo);
            return err_set(err, ERR_INVALID, "more than %d replicas", STORE_MAX_REPLICAS);
        }
        replicas = xrealloc(replicas, (nreplicas + 1) * sizeof(*replicas));
        memset(&replicas[nreplicas], 0, sizeof(*replicas));
        replicas[nreplicas].conninfo = conninfo;
        name_of(conninfo, replicas[nreplicas].name, sizeof(replicas[nreplicas].name));
        nreplicas++;
        p = next ? next + 1 : p + strlen(p);
    }
    return 0;
}

size_t store_replica_count(void)
{
    return nreplicas;
}

/* ---- the background check ---- */

static struct worker loop = WORKER_INIT;
static char *loop_conninfo;   /* the primary's, for the loop */

/* One value of one row from sql on conn (text); NULL on failure, with why. */
static PGresult *ask(PGconn *conn, const char *sql, int nparams, const char *const *vals)
{
    PGresult *r = PQexecParams(conn, sql, nparams, NULL, vals, NULL, NULL, 0);

    if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        return r;
    PQclear(r);
    return NULL;
}

static int check_primary(PGconn **conn, const char *conninfo, uint64_t *lsn)
{
    PGresult *r;
    int ok;

    if (!*conn || PQstatus(*conn) != CONNECTION_OK) {
        if (*conn)
            PQfinish(*conn);
        *conn = pgst_connect(conninfo);
    }
    r = PQstatus(*conn) == CONNECTION_OK ? ask(*conn, SQL_PRIMARY_LSN, 0, NULL) : NULL;
    ok = r && store_lsn_parse(PQgetvalue(r, 0, 0), lsn) == 0;
    PQclear(r);
    return ok ? 0 : -1;
}

static void check_replica(struct replica *rp, PGconn **conn, int have_primary, uint64_t primary)
{
    PGresult *r = NULL;
    uint64_t replayed = 0;
    char why[160] = "";
    int ok;

    if (!*conn || PQstatus(*conn) != CONNECTION_OK) {
        if (*conn)
            PQfinish(*conn);
        *conn = pgst_connect(rp->conninfo);
    }
    if (PQstatus(*conn) == CONNECTION_OK)
        r = ask(*conn, SQL_REPLICA_STATE, 0, NULL);
    ok = r && store_lsn_parse(PQgetvalue(r, 0, 1), &replayed) == 0;
    if (!ok)
        pgst_one_line(r ? "unexpected answer" : PQerrorMessage(*conn), why, sizeof(why));
    PQclear(r);
    pthread_mutex_lock(&state_lock);
    rp->healthy = ok;
    if (ok) {
        int64_t now = ts_monotonic();

        rp->replayed = replayed;
        if (!have_primary || replayed >= primary) {
            rp->behind_since = 0;   /* caught up (or nothing newer can be known) */
        } else if (!rp->behind_since || replayed >= rp->behind_target) {
            rp->behind_since = now;  /* behind a newer target: count from now */
            rp->behind_target = primary;
        }
        rp->lag_ms = rp->behind_since ? (now - rp->behind_since) / 1000 : 0;
    } else {
        snprintf(rp->why, sizeof(rp->why), "%s", why[0] ? why : "unreachable");
    }
    if (ok != rp->was_healthy)
        log_write(ok ? LOG_INFO : LOG_WARN, "replica %s %s%s%s", rp->name,
                  ok ? "is serving reads" : "is unavailable", ok ? "" : ": ", ok ? "" : rp->why);
    rp->was_healthy = ok;
    pthread_mutex_unlock(&state_lock);
}

static void loop_main(struct worker *w, int slot)
{
    PGconn **conns = xcalloc(nreplicas + 1, sizeof(*conns));
    uint64_t primary = 0;
    unsigned long seen;
    size_t i;

    (void)slot;
    while (!worker_stopping(w, &seen)) {
        int up = check_primary(&conns[nreplicas], loop_conninfo, &primary) == 0;

        for (i = 0; i < nreplicas; i++)
            check_replica(&replicas[i], &conns[i], up, primary);
        worker_sleep(w, seen, CHECK_EVERY_US);
    }
    for (i = 0; i <= nreplicas; i++) {
        if (conns[i])
            PQfinish(conns[i]);
    }
    free(conns);
}

int store_replicas_start(struct err *err)
{
    size_t i;

    if (!nreplicas || worker_running(&loop) || !store_setup_conninfo())
        return 0;
    loop_conninfo = xstrdup(store_setup_conninfo());
    /* The first check before serving, so that reads may use the replicas at once. */
    {
        PGconn *p = NULL, *c = NULL;
        uint64_t primary = 0;
        int up = check_primary(&p, loop_conninfo, &primary) == 0;

        for (i = 0; i < nreplicas; i++) {
            check_replica(&replicas[i], &c, up, primary);
            if (c)
                PQfinish(c);
            c = NULL;
        }
        if (p)
            PQfinish(p);
    }
    if (worker_start(&loop, 1, loop_main) < 0)
        return err_set(err, ERR_INTERNAL, "cannot start the replica health thread");
    log_write(LOG_INFO, "read replicas: %zu, reads %s (max lag %d ms)", nreplicas,
              eventual ? "eventual" : "from the primary unless X-Engram-Read-After",
              (int)max_lag_ms);
    return 0;
}

void store_replicas_stop(void)
{
    worker_stop(&loop);
    free(loop_conninfo);
    loop_conninfo = NULL;
}

void store_replicas_release(void)
{
    size_t i;

    store_replicas_stop();
    for (i = 0; i < nreplicas; i++)
        free(replicas[i].conninfo);
    free(replicas);
    replicas = NULL;
    nreplicas = 0;
    memset(thread_replicas, 0, sizeof(thread_replicas));   /* closed by store_shutdown */
}

size_t store_replica_report(struct store_replica_state *out, size_t max)
{
    size_t i;

    pthread_mutex_lock(&state_lock);
    for (i = 0; i < nreplicas && i < max; i++) {
        out[i].name = replicas[i].name;
        out[i].healthy = replicas[i].healthy;
        out[i].lag_ms = replicas[i].lag_ms;
        lsn_format(replicas[i].replayed, out[i].replayed, sizeof(out[i].replayed));
        snprintf(out[i].why, sizeof(out[i].why), "%s", replicas[i].why);
    }
    pthread_mutex_unlock(&state_lock);
    return i;
}

/* ---- routing one request ---- */

void store_request_begin(int read_endpoint, int write_method, uint64_t read_after)
{
    req.read_ok = read_endpoint;
    req.write = !read_endpoint && write_method;
    req.after = read_after;
}

void store_request_end(void)
{
    memset(&req, 0, sizeof(req));
}

/* This thread's connection to replica i, opened on first use; NULL if it cannot be. */
static store *replica_conn(size_t i)
{
    struct err err = ERR_INIT;
    store *st;

    if (thread_replicas[i] && thread_replicas[i]->broken) {
        store_untrack(thread_replicas[i]);
        store_close(thread_replicas[i]);
        thread_replicas[i] = NULL;
    }
    if (!thread_replicas[i]) {
        if (store_open(&store_postgres_ops, replicas[i].conninfo, &st, &err) < 0) {
            err_release(&err);
            return NULL;
        }
        st->replica = 1;
        store_track(st);
        thread_replicas[i] = st;
    }
    return thread_replicas[i];
}

/* 1 if replica st has replayed lsn (asked now: the background state may be older). */
static int replayed_now(store *st, uint64_t lsn)
{
    struct pgst_store *ps = pgst_downcast(st);
    char text[40];
    const char *vals[1] = { text };
    PGresult *r;
    int yes;

    lsn_format(lsn, text, sizeof(text));
    r = ask(ps->conn, SQL_REPLAYED, 1, vals);
    yes = r && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return yes;
}

static store *pick(struct err *err);

store *store_thread_routed(struct err *err)
{
    if (!nreplicas || !req.read_ok || (!req.after && !eventual))
        return store_thread(err);
    if (req.chosen && !req.chosen->broken)
        return req.chosen;
    req.chosen = pick(err);
    return req.chosen;
}

static store *pick(struct err *err)
{
    size_t k, i;

    for (k = 0; k < nreplicas; k++) {
        int ok, fresh;
        store *st;

        i = (rr + k) % nreplicas;
        pthread_mutex_lock(&state_lock);
        ok = replicas[i].healthy;
        fresh = req.after ? replicas[i].replayed >= req.after
                          : replicas[i].lag_ms <= max_lag_ms;
        pthread_mutex_unlock(&state_lock);
        if (!ok)
            continue;
        if (!fresh && !req.after)
            continue;
        st = replica_conn(i);
        if (!st)
            continue;
        if (!fresh && !replayed_now(st, req.after))
            continue;
        rr = i + 1;
        return st;
    }
    return store_thread(err);
}

/* The LSN a write request reports: the primary's current WAL position after the write
 * committed (so at or past its commit record). Only with replicas configured. */
int store_request_lsn(char *out, size_t size)
{
    struct err err = ERR_INIT;
    store *st;
    PGresult *r;
    int ret = -1;

    out[0] = '\0';
    if (!nreplicas || !req.write)
        return -1;
    st = store_thread(&err);
    if (st && st->ops == &store_postgres_ops && !st->in_tx) {
        r = pgst_exec(pgst_downcast(st), SQL_PRIMARY_LSN, 0, NULL, &err);
        if (r && PQntuples(r) == 1) {
            snprintf(out, size, "%s", PQgetvalue(r, 0, 0));
            ret = 0;
        }
        PQclear(r);
    }
    err_release(&err);
    return ret;
}

/* The endpoints that only read (router names, src/api/routes.c): a replica may serve them.
 * Not here: anything that writes, even a cache (subjects.health, .sla keep the health cache;
 * handoff); search keeps the query-embedding cache, skipped on a replica (store_qcache_put). */
static const char *const read_routes[] = {
    "timeline", "subjects.list", "memories.search", "context", "resolutions.list",
    "memories.compile_status", "admin.jobs_list", "admin.export", "admin.memory_export",
    "admin.snapshots_list", "admin.webhooks_list", "admin.webhooks_stats", "admin.webhooks_get",
};

int store_route_is_read(const char *route_name)
{
    size_t i;

    for (i = 0; route_name && i < sizeof(read_routes) / sizeof(read_routes[0]); i++) {
        if (strcmp(route_name, read_routes[i]) == 0)
            return 1;
    }
    return 0;
}
