/* postgres.c - the PostgreSQL backend of store_ops, over libpq.
 *
 * Every statement is prepared once per connection (lazily, on first use) and run with
 * PQexecPrepared, values as parameters only; the one exception is a migration step's own
 * constant DDL. Values travel as text: timestamps as `YYYY-MM-DDTHH:MM:SS.ffffffZ` and back
 * in the session's UTC ISO form, JSON as jsonb text (compacted here), bytea in hex.
 * Tenants: '' stands for "no tenant" in filters (`COALESCE(tenant_id, '') = $n`) and is
 * written as NULL, so the two spellings never split one space in two.
 */
#include "store/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store/migrations.h"
#include "store/store-internal.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/xalloc.h"

/* Key of the advisory lock that serialises migration steps across processes ("engram"). */
#define MIGRATE_LOCK_SQL "SELECT pg_advisory_xact_lock(111524856357229)"

#define EPISODE_COLS                                                                      \
    "id, subject_id, tenant_id, session_id, source, type, payload, metadata, provenance, " \
    "idempotency_key, created_at, last_compiled_at"
#define MEMORY_COLS                                                                       \
    "id, subject_id, tenant_id, kind, content, summary, confidence, valid_from, valid_to, " \
    "array_to_json(source_episode_ids), metadata, status, embedding, sensitivity_labels, "  \
    "created_at, updated_at"

enum stmt_id {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_PING,
    ST_MIGRATE_LOCK,
    ST_MIGRATIONS_CREATE,
    ST_MIGRATIONS_EXISTS,
    ST_MIGRATIONS_MAX,
    ST_MIGRATION_APPLIED,
    ST_MIGRATION_RECORD,
    ST_EPISODE_INSERT,
    ST_EPISODE_BY_KEY,
    ST_EPISODE_LIST,
    ST_MEMORY_LIST,
    ST_SUBJECT_LIST,
    ST_SUBJECT_DELETE,
    ST_COUNT
};

struct stmt {
    const char *name;   /* prepared-statement name, also used in log lines */
    const char *sql;
};

static const struct stmt stmts[ST_COUNT] = {
    [ST_BEGIN] = { "begin", "BEGIN" },
    [ST_COMMIT] = { "commit", "COMMIT" },
    [ST_ROLLBACK] = { "rollback", "ROLLBACK" },
    [ST_PING] = { "ping", "SELECT 1" },
    [ST_MIGRATE_LOCK] = { "migrate_lock", MIGRATE_LOCK_SQL },
    [ST_MIGRATIONS_CREATE] = { "migrations_create",
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
        " name text NOT NULL, applied_at timestamptz NOT NULL)" },
    [ST_MIGRATIONS_EXISTS] = { "migrations_exists",
        "SELECT to_regclass('schema_migrations') IS NOT NULL" },
    [ST_MIGRATIONS_MAX] = { "migrations_max",
        "SELECT COALESCE(max(version), 0) FROM schema_migrations" },
    [ST_MIGRATION_APPLIED] = { "migration_applied",
        "SELECT 1 FROM schema_migrations WHERE version = $1" },
    [ST_MIGRATION_RECORD] = { "migration_record",
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)" },
    [ST_EPISODE_INSERT] = { "episode_insert",
        "INSERT INTO episodes (id, subject_id, tenant_id, session_id, source, type, payload,"
        " metadata, provenance, idempotency_key, created_at, last_compiled_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        " ON CONFLICT ((COALESCE(tenant_id, '')), subject_id, idempotency_key)"
        " WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING payload, metadata, provenance" },
    [ST_EPISODE_BY_KEY] = { "episode_by_key",
        "SELECT " EPISODE_COLS " FROM episodes WHERE COALESCE(tenant_id, '') = $1"
        " AND subject_id = $2 AND idempotency_key = $3" },
    [ST_EPISODE_LIST] = { "episode_list",
        "SELECT " EPISODE_COLS " FROM episodes WHERE COALESCE(tenant_id, '') = $1"
        " AND subject_id = $2 ORDER BY created_at, seq LIMIT $3 OFFSET $4" },
    [ST_MEMORY_LIST] = { "memory_list",
        "SELECT " MEMORY_COLS " FROM memories WHERE COALESCE(tenant_id, '') = $1"
        " AND subject_id = $2 ORDER BY created_at, seq LIMIT $3 OFFSET $4" },
    [ST_SUBJECT_LIST] = { "subject_list",
        "SELECT subject_id, sum(ne)::int8, sum(nm)::int8 FROM ("
        " SELECT subject_id, count(*) AS ne, 0 AS nm FROM episodes"
        " WHERE COALESCE(tenant_id, '') = $1 GROUP BY subject_id"
        " UNION ALL"
        " SELECT subject_id, 0, count(*) FROM memories"
        " WHERE COALESCE(tenant_id, '') = $1 GROUP BY subject_id) s"
        " WHERE left(subject_id, 10) <> '_snapshot/'"
        " AND left(subject_id, 15) <> '_bootstrap_tmp/'"
        " GROUP BY subject_id ORDER BY subject_id COLLATE \"C\" LIMIT $2 OFFSET $3" },
    /* One statement, so it is atomic on its own and also fits inside a caller's transaction. */
    [ST_SUBJECT_DELETE] = { "subject_delete",
        "WITH e AS (DELETE FROM episodes WHERE COALESCE(tenant_id, '') = $1"
        " AND subject_id = $2 RETURNING 1),"
        " m AS (DELETE FROM memories WHERE COALESCE(tenant_id, '') = $1"
        " AND subject_id = $2 RETURNING 1)"
        " SELECT (SELECT count(*) FROM e), (SELECT count(*) FROM m)" },
};

struct pg_store {
    struct store base;                  /* must be first: store.c sees only this */
    PGconn *conn;                       /* owned; PQfinish on close */
    unsigned char prepared[ST_COUNT];   /* 1 once stmts[i] is prepared on this connection */
};

static struct pg_store *pg_of(store *st)
{
    if (st->ops != &store_postgres_ops)
        BUG("postgres op called on a store of another backend");
    return (struct pg_store *)st;
}

/* ---- errors ---------------------------------------------------------------------------- */

/* Copy a libpq message into out as one line: each run of whitespace becomes one space. */
static void one_line(const char *msg, char *out, size_t size)
{
    size_t i, n = 0;
    int space = 0;

    for (i = 0; msg && msg[i] && n + 1 < size; i++) {
        if (msg[i] == ' ' || msg[i] == '\n' || msg[i] == '\r' || msg[i] == '\t') {
            space = n > 0;
            continue;
        }
        if (space && n + 2 < size)
            out[n++] = ' ';
        space = 0;
        out[n++] = msg[i];
    }
    out[n] = '\0';
}

/* The cause of a failed call: SQLSTATE and primary message when the server sent one. */
static void describe(struct pg_store *ps, const PGresult *r, char *out, size_t size)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char msg[512];

    one_line(primary ? primary : PQerrorMessage(ps->conn), msg, sizeof(msg));
    if (state)
        snprintf(out, size, "%s (SQLSTATE %s)", msg, state);
    else
        snprintf(out, size, "%s", msg[0] ? msg : "unknown error");
}

/* Log why `what` failed, mark the store broken if the connection is gone, free r and
 * return -1 with err set. */
static int fail(struct pg_store *ps, PGresult *r, const char *what, struct err *err)
{
    char why[600];

    describe(ps, r, why, sizeof(why));
    PQclear(r);
    if (PQstatus(ps->conn) != CONNECTION_OK) {
        log_write(LOG_ERROR, "postgres connection lost: %s: %s", what, why);
        ps->base.broken = 1;
        ps->base.in_tx = 0;
    } else {
        log_write(LOG_ERROR, "postgres: %s failed: %s", what, why);
    }
    return err_set(err, ERR_INTERNAL, "database error");
}

/* ---- running statements ---------------------------------------------------------------- */

static int prepare(struct pg_store *ps, enum stmt_id id, struct err *err)
{
    PGresult *r;

    if (ps->prepared[id])
        return 0;
    r = PQprepare(ps->conn, stmts[id].name, stmts[id].sql, 0, NULL);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
        return fail(ps, r, stmts[id].name, err);
    PQclear(r);
    ps->prepared[id] = 1;
    return 0;
}

/* Run statement id with n text parameters (NULL = SQL NULL). Returns the result, which the
 * caller frees with PQclear, or NULL with err set. */
static PGresult *run(struct pg_store *ps, enum stmt_id id, int n, const char *const *vals,
                     struct err *err)
{
    PGresult *r;
    ExecStatusType s;

    if (ps->base.broken)
        return err_set(err, ERR_INTERNAL, "database error"), NULL;
    if (prepare(ps, id, err) < 0)
        return NULL;
    r = PQexecPrepared(ps->conn, stmts[id].name, n, vals, NULL, NULL, 0);
    s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        return fail(ps, r, stmts[id].name, err), NULL;
    return r;
}

/* Run a statement whose rows are of no interest. */
static int run_void(struct pg_store *ps, enum stmt_id id, int n, const char *const *vals,
                    struct err *err)
{
    PGresult *r = run(ps, id, n, vals, err);

    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

/* ---- parameters ------------------------------------------------------------------------ */

/* The filter value of a tenant space: '' for "no tenant". */
static const char *tenant_key(const char *tenant)
{
    return tenant ? tenant : "";
}

/* The stored value of a tenant: NULL for "no tenant" ('' included). */
static const char *tenant_value(const char *tenant)
{
    return tenant && *tenant ? tenant : NULL;
}

/* A timestamp parameter in out (TS_STR_LEN bytes), or NULL for TS_NULL. */
static const char *ts_param(int64_t us, char *out)
{
    if (us == TS_NULL)
        return NULL;
    ts_format_fixed(us, out, TS_STR_LEN);
    return out;
}

/* A LIMIT/OFFSET parameter; sizes past INT64_MAX mean "no limit". */
static const char *size_param(size_t v, char out[24])
{
    uint64_t u = v > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : (uint64_t)v;

    snprintf(out, 24, "%" PRIu64, u);
    return out;
}

/* ---- reading columns ------------------------------------------------------------------- */

static const char *col_str(struct arena *a, const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return NULL;
    return arena_strndup(a, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
}

/* jsonb text with the whitespace jsonb adds after ',' and ':' removed (strings untouched). */
static const char *col_json(struct arena *a, const PGresult *r, int row, int col)
{
    const char *s = PQgetvalue(r, row, col);
    size_t i, n = (size_t)PQgetlength(r, row, col), k = 0;
    int in_str = 0;
    char *out;

    if (PQgetisnull(r, row, col))
        return NULL;
    out = arena_alloc(a, n + 1);
    for (i = 0; i < n; i++) {
        char c = s[i];

        if (in_str && c == '\\' && i + 1 < n) {
            out[k++] = c;
            out[k++] = s[++i];
            continue;
        }
        if (c == '"')
            in_str = !in_str;
        else if (!in_str && (c == ' ' || c == '\n' || c == '\t' || c == '\r'))
            continue;
        out[k++] = c;
    }
    out[k] = '\0';
    return out;
}

/* A timestamptz column (session TimeZone is UTC) as microseconds; TS_NULL for NULL. */
static int col_ts(const PGresult *r, int row, int col, int64_t *out)
{
    if (PQgetisnull(r, row, col)) {
        *out = TS_NULL;
        return 0;
    }
    if (ts_parse(PQgetvalue(r, row, col), out) == 0)
        return 0;
    log_write(LOG_ERROR, "postgres: unreadable timestamp '%s'", PQgetvalue(r, row, col));
    return -1;
}

static int64_t col_int(const PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A bytea column in hex form (`\x…`) holding little-endian float32 values. Sets *dim = 0
 * and returns NULL for NULL or for a value that is not whole floats ("no embedding"). */
static const float *col_vector(struct arena *a, const PGresult *r, int row, int col,
                               size_t *dim)
{
    const char *s = PQgetvalue(r, row, col);
    size_t i, hex = (size_t)PQgetlength(r, row, col), nbytes;
    float *v;

    *dim = 0;
    if (PQgetisnull(r, row, col) || hex < 2 || s[0] != '\\' || s[1] != 'x')
        return NULL;
    nbytes = (hex - 2) / 2;
    if (nbytes == 0 || nbytes % 4 != 0 || (hex - 2) % 2 != 0)
        return NULL;
    v = arena_alloc(a, nbytes);
    for (i = 0; i < nbytes / 4; i++) {
        const char *p = s + 2 + i * 8;
        uint32_t u = 0;
        int b;

        for (b = 0; b < 4; b++) {
            int hi = hex_nibble(p[2 * b]), lo = hex_nibble(p[2 * b + 1]);

            if (hi < 0 || lo < 0)
                return NULL;
            u |= (uint32_t)(hi << 4 | lo) << (8 * b);
        }
        memcpy(&v[i], &u, sizeof(u));
    }
    *dim = nbytes / 4;
    return v;
}

/* Rows of r as an array of n elements of size sz in the arena (never NULL). */
static void *rows_alloc(struct arena *a, const PGresult *r, size_t sz, size_t *n)
{
    *n = (size_t)PQntuples(r);
    return arena_calloc(a, *n ? *n : 1, sz);
}

/* ---- connection ------------------------------------------------------------------------ */

/* Session settings the text forms above rely on. Constant SQL, no values. */
static int session_setup(struct pg_store *ps, struct err *err)
{
    PGresult *r = PQexec(ps->conn, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD';"
                                   " SET bytea_output = 'hex'; SET extra_float_digits = 1");

    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
        return fail(ps, r, "session setup", err);
    PQclear(r);
    return 0;
}

/* Server notices (e.g. "already exists, skipping") go to the debug log, not to stderr. */
static void on_notice(void *arg, const char *msg)
{
    char line[512];

    (void)arg;
    if (!log_enabled(LOG_DEBUG))
        return;
    one_line(msg, line, sizeof(line));
    log_write(LOG_DEBUG, "postgres notice: %s", line);
}

static int pg_open(const char *url, store **out, struct err *err)
{
    /* Later keywords override earlier ones, so the URL may override the timeout. */
    static const char *const keys[] = { "connect_timeout", "dbname",
                                        "fallback_application_name", "client_encoding", NULL };
    const char *const vals[] = { "10", url, "engram", "UTF8", NULL };
    struct pg_store *ps = xcalloc(1, sizeof(*ps));
    char why[512];

    ps->base.ops = &store_postgres_ops;
    *out = NULL;
    ps->conn = PQconnectdbParams(keys, vals, 1);
    if (!ps->conn || PQstatus(ps->conn) != CONNECTION_OK) {
        one_line(ps->conn ? PQerrorMessage(ps->conn) : "out of memory", why, sizeof(why));
        log_write(LOG_ERROR, "postgres connect failed: %s", why);
        err_set(err, ERR_INTERNAL, "database error");
        goto fail;
    }
    PQsetNoticeProcessor(ps->conn, on_notice, NULL);
    if (session_setup(ps, err) < 0)
        goto fail;
    *out = &ps->base;
    return 0;
fail:
    PQfinish(ps->conn);
    free(ps);
    return -1;
}

static void pg_close(store *st)
{
    struct pg_store *ps;

    if (!st)
        return;
    ps = pg_of(st);
    PQfinish(ps->conn);
    free(ps);
}

static int pg_ping(store *st, struct err *err)
{
    return run_void(pg_of(st), ST_PING, 0, NULL, err);
}

/* ---- transactions ---------------------------------------------------------------------- */

static int pg_tx_begin(store *st, struct err *err)
{
    struct pg_store *ps = pg_of(st);

    if (st->in_tx) {
        log_write(LOG_ERROR, "postgres: begin inside an open transaction");
        return err_set(err, ERR_INTERNAL, "database error");
    }
    if (run_void(ps, ST_BEGIN, 0, NULL, err) < 0)
        return -1;
    st->in_tx = 1;
    return 0;
}

/* COMMIT of a failed transaction "succeeds" as ROLLBACK: report that as a failure. */
static int pg_tx_commit(store *st, struct err *err)
{
    struct pg_store *ps = pg_of(st);
    PGresult *r;
    int rolled_back;

    if (!st->in_tx) {
        log_write(LOG_ERROR, "postgres: commit without a transaction");
        return err_set(err, ERR_INTERNAL, "database error");
    }
    r = run(ps, ST_COMMIT, 0, NULL, err);
    st->in_tx = 0;
    if (!r)
        return -1;
    rolled_back = strcmp(PQcmdStatus(r), "ROLLBACK") == 0;
    PQclear(r);
    if (rolled_back) {
        log_write(LOG_ERROR, "postgres: commit of a failed transaction rolled it back");
        return err_set(err, ERR_INTERNAL, "database error");
    }
    return 0;
}

static void pg_tx_rollback(store *st)
{
    struct pg_store *ps = pg_of(st);
    struct err ignored = ERR_INIT;

    if (!st->in_tx)
        return;
    st->in_tx = 0;
    if (st->broken)
        return;
    run_void(ps, ST_ROLLBACK, 0, NULL, &ignored);
    err_release(&ignored);
}

/* ---- migrations ------------------------------------------------------------------------ */

static int latest_version(void)
{
    return postgres_migrations_count ?
        postgres_migrations[postgres_migrations_count - 1].version : 0;
}

/* Highest applied step; 0 when schema_migrations does not exist yet. */
static int read_version(struct pg_store *ps, int *version, struct err *err)
{
    PGresult *r = run(ps, ST_MIGRATIONS_EXISTS, 0, NULL, err);
    int exists;

    if (!r)
        return -1;
    exists = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    *version = 0;
    if (!exists)
        return 0;
    r = run(ps, ST_MIGRATIONS_MAX, 0, NULL, err);
    if (!r)
        return -1;
    *version = (int)col_int(r, 0, 0);
    PQclear(r);
    return 0;
}

/* 1 if step m is recorded, 0 if not, -1 on failure. */
static int step_applied(struct pg_store *ps, const struct migration *m, struct err *err)
{
    char v[16];
    const char *vals[1] = { v };
    PGresult *r;
    int applied;

    snprintf(v, sizeof(v), "%d", m->version);
    r = run(ps, ST_MIGRATION_APPLIED, 1, vals, err);
    if (!r)
        return -1;
    applied = PQntuples(r) > 0;
    PQclear(r);
    return applied;
}

/* The step's DDL (several statements, constant text) and its bookkeeping row. */
static int step_run(struct pg_store *ps, const struct migration *m, struct err *err)
{
    char v[16], now[TS_STR_LEN];
    const char *vals[3] = { v, m->name, now };
    PGresult *r = PQexec(ps->conn, m->sql);

    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
        return fail(ps, r, m->name, err);
    PQclear(r);
    snprintf(v, sizeof(v), "%d", m->version);
    ts_format_fixed(ts_now(), now, sizeof(now));
    return run_void(ps, ST_MIGRATION_RECORD, 3, vals, err);
}

/* Apply step m in its own transaction under the migration lock, unless another process
 * applied it meanwhile. Sets *applied to 1 when this call applied it. */
static int step_apply(struct pg_store *ps, const struct migration *m, int *applied,
                      struct err *err)
{
    int done;

    *applied = 0;
    if (pg_tx_begin(&ps->base, err) < 0)
        return -1;
    if (run_void(ps, ST_MIGRATE_LOCK, 0, NULL, err) < 0 ||
        run_void(ps, ST_MIGRATIONS_CREATE, 0, NULL, err) < 0)
        goto fail;
    done = step_applied(ps, m, err);
    if (done < 0)
        goto fail;
    if (!done && step_run(ps, m, err) < 0)
        goto fail;
    if (pg_tx_commit(&ps->base, err) < 0)
        return -1;
    *applied = !done;
    if (*applied)
        log_write(LOG_INFO, "postgres: applied migration %d '%s'", m->version, m->name);
    return 0;
fail:
    pg_tx_rollback(&ps->base);
    return -1;
}

static int pg_migrate(store *st, struct migrate_result *res, struct err *err)
{
    struct pg_store *ps = pg_of(st);
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
        if (step_apply(ps, &postgres_migrations[i], &applied, err) < 0)
            return -1;
        res->applied += applied;
    }
    return read_version(ps, &res->to_version, err);
}

static int pg_schema_version(store *st, int *current, int *latest, struct err *err)
{
    *latest = latest_version();
    return read_version(pg_of(st), current, err);
}

/* ---- episodes -------------------------------------------------------------------------- */

static int episode_from_row(struct arena *a, const PGresult *r, int row, struct episode *ep)
{
    snprintf(ep->id, sizeof(ep->id), "%s", PQgetvalue(r, row, 0));
    ep->subject_id = col_str(a, r, row, 1);
    ep->tenant_id = col_str(a, r, row, 2);
    ep->session_id = col_str(a, r, row, 3);
    ep->source = col_str(a, r, row, 4);
    ep->type = col_str(a, r, row, 5);
    ep->payload = col_json(a, r, row, 6);
    ep->metadata = col_json(a, r, row, 7);
    ep->provenance = col_json(a, r, row, 8);
    ep->idempotency_key = col_str(a, r, row, 9);
    if (col_ts(r, row, 10, &ep->created_at) < 0 || col_ts(r, row, 11, &ep->last_compiled_at) < 0)
        return -1;
    return 0;
}

/* Insert ep; *inserted = 0 when its idempotency key already names an episode. On insert,
 * ep's JSON fields become the stored (jsonb) form, so every later read returns the same. */
static int episode_try_insert(struct pg_store *ps, struct arena *a, struct episode *ep,
                              int *inserted, struct err *err)
{
    char created[TS_STR_LEN], compiled[TS_STR_LEN];
    const char *vals[12] = {
        ep->id, ep->subject_id, tenant_value(ep->tenant_id), ep->session_id, ep->source,
        ep->type, ep->payload, ep->metadata ? ep->metadata : "{}",
        ep->provenance ? ep->provenance : "{}", ep->idempotency_key,
        ts_param(ep->created_at, created), ts_param(ep->last_compiled_at, compiled),
    };
    PGresult *r = run(ps, ST_EPISODE_INSERT, 12, vals, err);

    if (!r)
        return -1;
    *inserted = PQntuples(r) > 0;
    if (*inserted) {
        ep->payload = col_json(a, r, 0, 0);
        ep->metadata = col_json(a, r, 0, 1);
        ep->provenance = col_json(a, r, 0, 2);
    }
    PQclear(r);
    return 0;
}

/* The episode holding ep's idempotency key, into *ep; *found = 0 if there is none. */
static int episode_by_key(struct pg_store *ps, struct arena *a, struct episode *ep,
                          int *found, struct err *err)
{
    const char *vals[3] = { tenant_key(ep->tenant_id), ep->subject_id, ep->idempotency_key };
    PGresult *r = run(ps, ST_EPISODE_BY_KEY, 3, vals, err);
    int ret = 0;

    if (!r)
        return -1;
    *found = PQntuples(r) > 0;
    if (*found && episode_from_row(a, r, 0, ep) < 0)
        ret = err_set(err, ERR_INTERNAL, "database error");
    PQclear(r);
    return ret;
}

static int pg_episode_insert(store *st, struct arena *a, struct episode *ep, int *inserted,
                             struct err *err)
{
    struct pg_store *ps = pg_of(st);
    int attempt, found;

    if (ep->id[0] == '\0')
        uuid_v4(ep->id);
    if (ep->created_at == TS_NULL)
        ep->created_at = ts_now();
    /* A conflicting row deleted between the two statements: insert again, once. */
    for (attempt = 0; attempt < 2; attempt++) {
        if (episode_try_insert(ps, a, ep, inserted, err) < 0)
            return -1;
        if (*inserted)
            return 0;
        if (episode_by_key(ps, a, ep, &found, err) < 0)
            return -1;
        if (found)
            return 0;
    }
    log_write(LOG_ERROR, "postgres: episode_insert: idempotency key conflict did not resolve");
    return err_set(err, ERR_INTERNAL, "database error");
}

static int pg_episode_list(store *st, struct arena *a, const char *tenant, const char *subject,
                           size_t limit, size_t offset, struct episode **out, size_t *n,
                           struct err *err)
{
    char lim[24], off[24];
    const char *vals[4] = { tenant_key(tenant), subject, size_param(limit, lim),
                            size_param(offset, off) };
    PGresult *r = run(pg_of(st), ST_EPISODE_LIST, 4, vals, err);
    struct episode *eps;
    size_t i;

    *out = NULL;
    *n = 0;
    if (!r)
        return -1;
    eps = rows_alloc(a, r, sizeof(*eps), n);
    for (i = 0; i < *n; i++) {
        if (episode_from_row(a, r, (int)i, &eps[i]) < 0) {
            PQclear(r);
            *n = 0;
            return err_set(err, ERR_INTERNAL, "database error");
        }
    }
    PQclear(r);
    *out = eps;
    return 0;
}

/* ---- memories -------------------------------------------------------------------------- */

static int memory_from_row(struct arena *a, const PGresult *r, int row, struct memory *m)
{
    snprintf(m->id, sizeof(m->id), "%s", PQgetvalue(r, row, 0));
    m->subject_id = col_str(a, r, row, 1);
    m->tenant_id = col_str(a, r, row, 2);
    m->kind = col_str(a, r, row, 3);
    m->content = col_str(a, r, row, 4);
    m->summary = col_str(a, r, row, 5);
    m->confidence = strtod(PQgetvalue(r, row, 6), NULL);
    m->source_episode_ids = col_json(a, r, row, 9);
    m->metadata = col_json(a, r, row, 10);
    m->status = col_str(a, r, row, 11);
    m->embedding = col_vector(a, r, row, 12, &m->embedding_dim);
    m->sensitivity_labels = col_json(a, r, row, 13);
    if (col_ts(r, row, 7, &m->valid_from) < 0 || col_ts(r, row, 8, &m->valid_to) < 0 ||
        col_ts(r, row, 14, &m->created_at) < 0 || col_ts(r, row, 15, &m->updated_at) < 0)
        return -1;
    return 0;
}

static int pg_memory_list(store *st, struct arena *a, const char *tenant, const char *subject,
                          size_t limit, size_t offset, struct memory **out, size_t *n,
                          struct err *err)
{
    char lim[24], off[24];
    const char *vals[4] = { tenant_key(tenant), subject, size_param(limit, lim),
                            size_param(offset, off) };
    PGresult *r = run(pg_of(st), ST_MEMORY_LIST, 4, vals, err);
    struct memory *ms;
    size_t i;

    *out = NULL;
    *n = 0;
    if (!r)
        return -1;
    ms = rows_alloc(a, r, sizeof(*ms), n);
    for (i = 0; i < *n; i++) {
        if (memory_from_row(a, r, (int)i, &ms[i]) < 0) {
            PQclear(r);
            *n = 0;
            return err_set(err, ERR_INTERNAL, "database error");
        }
    }
    PQclear(r);
    *out = ms;
    return 0;
}

/* ---- subjects -------------------------------------------------------------------------- */

static int pg_subject_list(store *st, struct arena *a, const char *tenant, size_t limit,
                           size_t offset, struct subject_count **out, size_t *n,
                           struct err *err)
{
    char lim[24], off[24];
    const char *vals[3] = { tenant_key(tenant), size_param(limit, lim),
                            size_param(offset, off) };
    PGresult *r = run(pg_of(st), ST_SUBJECT_LIST, 3, vals, err);
    struct subject_count *sc;
    size_t i;

    *out = NULL;
    *n = 0;
    if (!r)
        return -1;
    sc = rows_alloc(a, r, sizeof(*sc), n);
    for (i = 0; i < *n; i++) {
        sc[i].subject_id = col_str(a, r, (int)i, 0);
        sc[i].episode_count = col_int(r, (int)i, 1);
        sc[i].memory_count = col_int(r, (int)i, 2);
    }
    PQclear(r);
    *out = sc;
    return 0;
}

static int pg_subject_delete(store *st, const char *tenant, const char *subject,
                             int64_t *episodes_deleted, int64_t *memories_deleted,
                             struct err *err)
{
    const char *vals[2] = { tenant_key(tenant), subject };
    PGresult *r = run(pg_of(st), ST_SUBJECT_DELETE, 2, vals, err);

    *episodes_deleted = 0;
    *memories_deleted = 0;
    if (!r)
        return -1;
    *episodes_deleted = col_int(r, 0, 0);
    *memories_deleted = col_int(r, 0, 1);
    PQclear(r);
    return 0;
}

const struct store_ops store_postgres_ops = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .migrate = pg_migrate,
    .schema_version = pg_schema_version,
    .ping = pg_ping,
    .tx_begin = pg_tx_begin,
    .tx_commit = pg_tx_commit,
    .tx_rollback = pg_tx_rollback,
    .episode_insert = pg_episode_insert,
    .episode_list = pg_episode_list,
    .memory_list = pg_memory_list,
    .subject_list = pg_subject_list,
    .subject_delete = pg_subject_delete,
};
