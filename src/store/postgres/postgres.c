/* postgres.c - the PostgreSQL backend of store_ops, over libpq: the connection, running
 * statements (each prepared once per connection, lazily), errors, transactions, and the ops
 * table. Each area's ops live in postgres_<area>.c; postgres-internal.h says how values
 * travel. */
#include "store/postgres/postgres-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xalloc.h"

static const char SQL_BEGIN[] = "BEGIN";
static const char SQL_BEGIN_READ[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_PING[] = "SELECT 1";
static const char SQL_HEARTBEAT[] = "INSERT INTO heartbeat (id, beat_at) VALUES (1, now())"
                                    " ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at";

struct pgst_store *pgst_downcast(store *st)
{
    if (st->ops != &store_postgres_ops)
        BUG("postgres op called on a store of another backend");
    return (struct pgst_store *)st;
}

/* ---- errors ---------------------------------------------------------------------------- */

void pgst_one_line(const char *msg, char *out, size_t size)
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
static void describe(struct pgst_store *ps, const PGresult *r, char *out, size_t size)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char msg[512];

    pgst_one_line(primary ? primary : PQerrorMessage(ps->conn), msg, sizeof(msg));
    if (state)
        snprintf(out, size, "%s (SQLSTATE %s)", msg, state);
    else
        snprintf(out, size, "%s", msg[0] ? msg : "unknown error");
}

/* 1 if r failed on a primary-key violation (SQLSTATE 23505 on the constraint "<table>_pkey",
 * the id of every table that has one); the table name goes into table. */
static int pkey_conflict(const PGresult *r, char *table, size_t size)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *tbl = r ? PQresultErrorField(r, PG_DIAG_TABLE_NAME) : NULL;
    const char *con = r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL;
    size_t len;

    if (!state || strcmp(state, "23505") != 0 || !tbl || !con)
        return 0;
    len = strlen(tbl);
    if (len >= size || strncmp(con, tbl, len) != 0 || strcmp(con + len, "_pkey") != 0)
        return 0;
    memcpy(table, tbl, len + 1);
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

/* 1 if the SQLSTATE of r says the database cannot serve (not that the statement is wrong),
 * with the reason in *why: 53100 disk_full, 25006 read_only_sql_transaction, class 08
 * (connection exception), 57P01-57P03 (shutting down, crashed, starting up). */
static int state_down(const PGresult *r, enum store_down *why)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    if (!state)
        return 0;
    if (strcmp(state, "53100") == 0)
        *why = STORE_DOWN_FULL;
    else if (strcmp(state, "25006") == 0)
        *why = STORE_DOWN_READONLY;
    else if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
             strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0)
        *why = STORE_DOWN_UNREACHABLE;
    else
        return 0;
    return 1;
}

/* 1 when the server aborted r's transaction for conflicting with another (deadlock 40P01,
 * serialization failure 40001): the same transaction run again may well commit. */
static int state_retryable(const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    return state && (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0);
}

int pgst_fail(struct pgst_store *ps, PGresult *r, const char *what, struct err *err)
{
    char why[600], table[64];
    enum store_down down = STORE_DOWN_UNREACHABLE;
    int is_down;

    describe(ps, r, why, sizeof(why));
    if (pkey_conflict(r, table, sizeof(table))) {
        PQclear(r);
        log_write(LOG_INFO, "postgres: %s: %s", what, why);
        return err_set(err, ERR_CONFLICT, "%s id already exists", row_noun(table));
    }
    if (state_retryable(r)) {
        PQclear(r);
        log_write(LOG_WARN, "postgres: %s: %s", what, why);
        return err_set_code(err, ERR_UNAVAILABLE, STORE_RETRY_CODE,
                            "The transaction conflicted with another one; retry.");
    }
    is_down = state_down(r, &down);
    PQclear(r);
    if (PQstatus(ps->conn) != CONNECTION_OK) {
        log_write(LOG_ERROR, "postgres connection lost: %s: %s", what, why);
        store_note_connection_lost();
        ps->base.broken = 1;
        ps->base.in_tx = 0;
        store_fail_unavailable(err, STORE_DOWN_UNREACHABLE);
        err_cause(err, "postgres connection lost: %s: %s", what, why);
        return -1;
    }
    log_write(LOG_ERROR, "postgres: %s failed: %s", what, why);
    if (is_down) {
        store_fail_unavailable(err, down);
        err_cause(err, "postgres: %s failed: %s", what, why);
        return -1;
    }
    return err_set(err, ERR_INTERNAL, "postgres: %s failed: %s", what, why);
}

/* The test-only fault hook (store_fault_next) before the statement sql: 0 to run it, else -1
 * with err set as the real failure would be (disk full, read-only, or an I/O error: a 500).
 * The server is left as a real failure leaves it: a failed COMMIT ends the transaction
 * (rolled back), any other failed statement aborts it (later ones fail until ROLLBACK). */
static int injected(struct pgst_store *ps, const char *sql, const char *what, struct err *err)
{
    enum store_fault f = store_fault_next();

    if (__builtin_expect(f == STORE_FAULT_NONE, 1))
        return 0;
    log_write(LOG_ERROR, "postgres: %s failed: injected fault %d", what, (int)f);
    if (PQtransactionStatus(ps->conn) == PQTRANS_INTRANS)
        PQclear(PQexec(ps->conn, sql == SQL_COMMIT ? "ROLLBACK" : "SELECT 1/0"));
    if (f == STORE_FAULT_FULL)
        return store_fail_unavailable(err, STORE_DOWN_FULL);
    if (f == STORE_FAULT_READONLY)
        return store_fail_unavailable(err, STORE_DOWN_READONLY);
    return err_set(err, ERR_INTERNAL, "database error");
}

/* ---- running statements ---------------------------------------------------------------- */

/* What log lines call statement i: its name and the start of its SQL on one line. */
static void stmt_label(size_t i, const char *sql, char *out, size_t size)
{
    char head[61];

    pgst_one_line(sql, head, sizeof(head));
    snprintf(out, size, "statement s%zu '%s%s'", i, head,
             strlen(head) + 1 == sizeof(head) ? "..." : "");
}

/* Index of sql among the statements prepared on this connection, preparing it as "s<index>"
 * on first use. A linear scan: a connection prepares a few dozen statements. Through a
 * pooler nothing is prepared (the next transaction may run on another server connection):
 * the senders below send the text with its parameters, and *index is 0. */
static int prepare(struct pgst_store *ps, const char *sql, size_t *index, struct err *err)
{
    char name[32], what[128];
    PGresult *r;
    size_t i;

    *index = 0;
    if (ps->pooled)
        return 0;
    for (i = 0; i < ps->nprepared; i++) {
        if (ps->prepared[i] == sql) {
            *index = i;
            return 0;
        }
    }
    snprintf(name, sizeof(name), "s%zu", i);
    r = PQprepare(ps->conn, name, sql, 0, NULL);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        stmt_label(i, sql, what, sizeof(what));
        return pgst_fail(ps, r, what, err);
    }
    PQclear(r);
    if (ps->nprepared == ps->prepared_cap) {
        ps->prepared_cap = ps->prepared_cap ? 2 * ps->prepared_cap : 32;
        ps->prepared = xrealloc(ps->prepared, ps->prepared_cap * sizeof(*ps->prepared));
    }
    ps->prepared[ps->nprepared++] = sql;
    *index = i;
    return 0;
}

/* Send statement sql (prepared as "s<index>", or as text through a pooler) without waiting. */
static int send_query(struct pgst_store *ps, const char *sql, size_t index, int nparams,
                      const char *const *values, int binary)
{
    char name[32];

    if (ps->pooled)
        return PQsendQueryParams(ps->conn, sql, nparams, NULL, values, NULL, NULL, binary);
    snprintf(name, sizeof(name), "s%zu", index);
    return PQsendQueryPrepared(ps->conn, name, nparams, values, NULL, NULL, binary);
}

/* Reconnect a connection found dead (the server restarted, an administrator ended the
 * session): statements are prepared again on first use. */
static int revive(struct pgst_store *ps)
{
    struct err ignored = ERR_INIT;

    PQreset(ps->conn);
    if (PQstatus(ps->conn) != CONNECTION_OK)
        return -1;
    ps->nprepared = 0;
    if (pgst_session_setup(ps, &ignored) < 0) {
        err_release(&ignored);
        return -1;
    }
    ps->base.broken = 0;
    log_write(LOG_INFO, "postgres connection re-established");
    return 0;
}

static PGresult *exec_once(struct pgst_store *ps, const char *sql, int nparams,
                           const char *const *values, struct err *err)
{
    char name[32], what[128];
    PGresult *r;
    ExecStatusType s;
    size_t i = 0;

    if (ps->base.broken)
        return store_fail_unavailable(err, STORE_DOWN_UNREACHABLE), NULL;
    if (injected(ps, sql, "exec", err) < 0)
        return NULL;
    if (prepare(ps, sql, &i, err) < 0)
        return NULL;
    if (ps->pooled) {
        r = PQexecParams(ps->conn, sql, nparams, NULL, values, NULL, NULL, 0);
    } else {
        snprintf(name, sizeof(name), "s%zu", i);
        r = PQexecPrepared(ps->conn, name, nparams, values, NULL, NULL, 0);
    }
    s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        stmt_label(i, sql, what, sizeof(what));
        return pgst_fail(ps, r, what, err), NULL;
    }
    return r;
}

int pgst_exec_binary(struct pgst_store *ps, const char *sql, int nparams,
                     const char *const *values, const int *lengths, const int *formats,
                     struct err *err)
{
    char name[32], what[128];
    PGresult *r;
    ExecStatusType s;
    size_t i = 0;

    if (ps->base.broken)
        return store_fail_unavailable(err, STORE_DOWN_UNREACHABLE);
    if (injected(ps, sql, "exec", err) < 0)
        return -1;
    if (prepare(ps, sql, &i, err) < 0)
        return -1;
    if (ps->pooled) {
        r = PQexecParams(ps->conn, sql, nparams, NULL, values, lengths, formats, 0);
    } else {
        snprintf(name, sizeof(name), "s%zu", i);
        r = PQexecPrepared(ps->conn, name, nparams, values, lengths, formats, 0);
    }
    s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        stmt_label(i, sql, what, sizeof(what));
        return pgst_fail(ps, r, what, err);
    }
    PQclear(r);
    return 0;
}

/* Run sql. A connection that turns out dead outside a transaction is reconnected and the
 * statement tried once more: every worker thread would otherwise fail one request after a
 * database restart. Inside a transaction the failure stands (the transaction is gone). */
PGresult *pgst_exec(struct pgst_store *ps, const char *sql, int nparams,
                  const char *const *values, struct err *err)
{
    int in_tx = ps->base.in_tx;
    PGresult *r = exec_once(ps, sql, nparams, values, err);

    if (r || in_tx || !ps->base.broken || revive(ps) < 0)
        return r;
    err_release(err);
    return exec_once(ps, sql, nparams, values, err);
}

int pgst_exec_void(struct pgst_store *ps, const char *sql, int nparams, const char *const *values,
                 struct err *err)
{
    PGresult *r = pgst_exec(ps, sql, nparams, values, err);

    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

int pgst_exec_int64(struct pgst_store *ps, const char *sql, int nparams,
                  const char *const *values, int64_t *out, struct err *err)
{
    PGresult *r = pgst_exec(ps, sql, nparams, values, err);

    *out = 0;
    if (!r)
        return -1;
    if (PQntuples(r) > 0 && PQnfields(r) > 0)
        *out = pgst_col_int(r, 0, 0);
    PQclear(r);
    return 0;
}

/* ---- one statement, its rows one at a time ---------------------------------------------- */

int pgst_exec_stream(struct pgst_store *ps, const char *sql, int nparams,
                   const char *const *values, int binary, pgst_row_fn *fn, void *ctx,
                   struct err *err)
{
    char what[128];
    PGresult *r, *bad = NULL;
    size_t i = 0;
    int row, stopped = 0;   /* fn's last answer: 1 done, -1 failed */

    if (ps->base.broken)
        return store_fail_unavailable(err, STORE_DOWN_UNREACHABLE);
    if (injected(ps, sql, "streamed query", err) < 0)
        return -1;
    if (binary & PGST_REPLAN) {
        stmt_label(SIZE_MAX, sql, what, sizeof(what));
        if (!PQsendQueryParams(ps->conn, sql, nparams, NULL, values, NULL, NULL,
                               binary & PGST_BINARY))
            return pgst_fail(ps, NULL, what, err);
    } else {
        if (prepare(ps, sql, &i, err) < 0)
            return -1;
        stmt_label(i, sql, what, sizeof(what));
        if (!send_query(ps, sql, i, nparams, values, binary & PGST_BINARY))
            return pgst_fail(ps, NULL, what, err);
    }
    /* Without single-row mode the rows come as one result: read the same way. */
    (void)PQsetSingleRowMode(ps->conn);
    while ((r = PQgetResult(ps->conn)) != NULL) {
        switch (PQresultStatus(r)) {
        case PGRES_SINGLE_TUPLE:
        case PGRES_TUPLES_OK:
            for (row = 0; !stopped && row < PQntuples(r); row++)
                stopped = fn(ctx, r, row, err);
            PQclear(r);
            break;
        default:
            if (bad)
                PQclear(r);
            else
                bad = r;
            break;
        }
    }
    if (bad || PQstatus(ps->conn) != CONNECTION_OK) {
        if (stopped < 0)
            err_release(err);   /* the statement's failure is the one to report */
        return pgst_fail(ps, bad, what, err);
    }
    return stopped < 0 ? -1 : 0;
}

/* ---- several different statements in one round trip ------------------------------------ */

/* Read the results of the `sent` queries of one pipelined batch up to its sync. With keep,
 * query i's result goes to keep[i] (the caller's to PQclear); without, results are dropped.
 * The first failing query's index goes to *failed and its result to *bad (the caller's to
 * PQclear); later queries of the batch are skipped by the server (PGRES_PIPELINE_ABORTED).
 * Returns -1 if the connection failed before the sync arrived. */
static int read_batch(struct pgst_store *ps, size_t sent, PGresult **keep, size_t *failed,
                      PGresult **bad)
{
    size_t ended = 0;   /* queries whose results are complete (each ends with a NULL) */
    PGresult *r;

    for (;;) {
        r = PQgetResult(ps->conn);
        if (!r) {
            if (PQstatus(ps->conn) != CONNECTION_OK || ++ended > sent)
                return -1;   /* no sync will come */
            continue;
        }
        switch (PQresultStatus(r)) {
        case PGRES_PIPELINE_SYNC:
            PQclear(r);
            return 0;
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
            if (keep && ended < sent && !keep[ended] && !*bad)
                keep[ended] = r;
            else
                PQclear(r);
            break;
        case PGRES_PIPELINE_ABORTED:
            PQclear(r);
            break;
        default:
            if (*bad) {
                PQclear(r);
                break;
            }
            *bad = r;
            *failed = ended;
            break;
        }
    }
}

/* Send the n queries and one sync, then read every result up to the sync: out[i] gets query
 * i's result (read_batch). Returns -1 if the connection failed. */
static int many_round_trip(struct pgst_store *ps, size_t n, const struct pgst_query *q,
                           const size_t *index, PGresult **out, size_t *failed,
                           PGresult **bad)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!send_query(ps, q[i].sql, index[i], q[i].nparams, q[i].vals, 0))
            return -1;
    }
    if (!PQpipelineSync(ps->conn))
        return -1;
    return read_batch(ps, n, out, failed, bad);
}

static void leave_pipeline(struct pgst_store *ps);

static int exec_many_once(struct pgst_store *ps, size_t n, const struct pgst_query *q,
                          PGresult **out, struct err *err)
{
    size_t index[PG_MANY_MAX], i, failed = 0;
    PGresult *bad = NULL;
    char what[128];
    int ret;

    for (i = 0; i < n; i++)
        out[i] = NULL;
    if (ps->base.broken)
        return store_fail_unavailable(err, STORE_DOWN_UNREACHABLE);
    if (injected(ps, q[0].sql, "pipelined batch", err) < 0)
        return -1;
    for (i = 0; i < n; i++) {   /* PQprepare waits for its answer: before the pipeline */
        if (prepare(ps, q[i].sql, &index[i], err) < 0)
            return -1;
    }
    if (!PQenterPipelineMode(ps->conn))
        return pgst_fail(ps, NULL, "entering pipeline mode", err);
    ret = many_round_trip(ps, n, q, index, out, &failed, &bad);
    leave_pipeline(ps);
    if (ret == 0 && !bad)
        return 0;
    for (i = 0; i < n; i++) {
        PQclear(out[i]);
        out[i] = NULL;
    }
    if (!bad)
        failed = 0;   /* the connection failed: blame the first */
    stmt_label(index[failed], q[failed].sql, what, sizeof(what));
    return pgst_fail(ps, bad, what, err);
}

int pgst_exec_many(struct pgst_store *ps, size_t n, const struct pgst_query *q, PGresult **out,
                 struct err *err)
{
    int in_tx = ps->base.in_tx;

    if (n > PG_MANY_MAX)
        BUG("pg_exec_many: too many statements");
    if (exec_many_once(ps, n, q, out, err) == 0)
        return 0;
    if (in_tx || !ps->base.broken || revive(ps) < 0)
        return -1;
    err_release(err);
    return exec_many_once(ps, n, q, out, err);
}

/* ---- running one statement for many rows: pipeline mode --------------------------------- */

/* Send rows [first, end) of a pgst_exec_rows call and one sync, then read every result. Each
 * row's parameters are built in a, which is reset after the row is sent (libpq has copied
 * them). Returns -1 if the connection failed. */
static int run_batch(struct pgst_store *ps, const char *name, int nparams, const char **vals,
                     const struct pgst_rows *rows, size_t first, size_t end, struct arena *a,
                     size_t *failed, PGresult **bad)
{
    size_t i, sent = 0, in_batch = 0;
    int ret = 0;

    for (i = first; i < end; i++) {
        rows->params(rows->rows, i, a, vals);
        ret = PQsendQueryPrepared(ps->conn, name, nparams, vals, NULL, NULL, 0) ? 0 : -1;
        arena_reset(a);
        if (ret < 0)
            break;
        sent++;
    }
    if (!PQpipelineSync(ps->conn))
        return -1;
    if (read_batch(ps, sent, NULL, &in_batch, bad) < 0)
        return -1;
    if (*bad)
        *failed = first + in_batch;
    return ret;
}

/* Leave pipeline mode; a pipeline that will not close (results still pending) leaves the
 * connection unusable, so it is marked broken and reopened by its owner. */
static void leave_pipeline(struct pgst_store *ps)
{
    char why[512];

    if (PQexitPipelineMode(ps->conn))
        return;
    pgst_one_line(PQerrorMessage(ps->conn), why, sizeof(why));
    log_write(LOG_ERROR, "postgres: cannot leave pipeline mode: %s", why);
    ps->base.broken = 1;
    ps->base.in_tx = 0;
}

int pgst_exec_rows(struct pgst_store *ps, const char *sql, int nparams, const struct pgst_rows *rows,
                 size_t *failed, struct err *err)
{
    char name[32], what[128];
    const char **vals;
    struct arena *a;
    PGresult *bad = NULL;
    size_t i = 0, first;
    int ret = 0;

    *failed = rows->n;
    if (!ps->base.in_tx)
        BUG("pg_exec_rows outside a transaction");
    if (ps->base.broken)
        return store_fail_unavailable(err, STORE_DOWN_UNREACHABLE);
    if (rows->n == 0)
        return 0;
    if (injected(ps, sql, "row pipeline", err) < 0)
        return -1;
    if (prepare(ps, sql, &i, err) < 0)
        return -1;
    snprintf(name, sizeof(name), "s%zu", i);
    stmt_label(i, sql, what, sizeof(what));
    /* Through a pooler: the unnamed statement, prepared once for every row; safe because a
     * transaction keeps its server connection. */
    if (ps->pooled) {
        PGresult *pr = PQprepare(ps->conn, "", sql, 0, NULL);

        if (!pr || PQresultStatus(pr) != PGRES_COMMAND_OK)
            return pgst_fail(ps, pr, what, err);
        PQclear(pr);
        name[0] = '\0';
    }
    if (!PQenterPipelineMode(ps->conn))
        return pgst_fail(ps, NULL, what, err);
    vals = xcalloc((size_t)nparams, sizeof(*vals));
    a = arena_new();
    for (first = 0; ret == 0 && !bad && first < rows->n; first += PG_PIPELINE_BATCH) {
        size_t end = rows->n - first > PG_PIPELINE_BATCH ? first + PG_PIPELINE_BATCH : rows->n;

        ret = run_batch(ps, name, nparams, vals, rows, first, end, a, failed, &bad);
    }
    arena_free(a);
    free(vals);
    leave_pipeline(ps);
    if (ret == 0 && !bad)
        return 0;
    if (!bad)
        *failed = rows->n;   /* the connection failed: no row to blame */
    return pgst_fail(ps, bad, what, err);
}

/* ---- connection ------------------------------------------------------------------------ */

/* Server notices (e.g. "already exists, skipping") go to the debug log, not to stderr. */
static void on_notice(void *arg, const char *msg)
{
    char line[512];

    (void)arg;
    if (!log_enabled(LOG_DEBUG))
        return;
    pgst_one_line(msg, line, sizeof(line));
    log_write(LOG_DEBUG, "postgres notice: %s", line);
}

PGconn *pgst_connect(const char *url)
{
    /* Later keywords override earlier ones, so the URL may override the timeout. */
    static const char *const keys[] = { "connect_timeout", "dbname",
                                        "fallback_application_name", "client_encoding", NULL };
    const char *const vals[] = { "10", url, "engram", "UTF8", NULL };

    pgst_startup_settings();
    return PQconnectdbParams(keys, vals, 1);
}

int pgst_open(const char *url, store **out, struct err *err)
{
    struct pgst_store *ps = xcalloc(1, sizeof(*ps));
    char why[512];
    size_t i;

    ps->base.ops = &store_postgres_ops;
    ps->conninfo = xstrdup(url);
    for (i = 0; i < 4; i++)
        buf_init(&ps->counted[i]);
    *out = NULL;
    ps->conn = pgst_connect(url);
    if (!ps->conn || PQstatus(ps->conn) != CONNECTION_OK) {
        pgst_one_line(ps->conn ? PQerrorMessage(ps->conn) : "out of memory", why, sizeof(why));
        store_fail_unavailable(err, STORE_DOWN_UNREACHABLE);
        err_cause(err, "cannot connect to PostgreSQL: %s", why);
        log_write(LOG_ERROR, "%s", err->cause);
        goto cleanup;
    }
    PQsetNoticeProcessor(ps->conn, on_notice, NULL);
    if (pgst_session_setup(ps, err) < 0)
        goto cleanup;
    *out = &ps->base;
    return 0;
cleanup:
    PQfinish(ps->conn);
    free(ps->conninfo);
    free(ps);
    return -1;
}

void pgst_close(store *st)
{
    struct pgst_store *ps;
    size_t i;

    if (!st)
        return;
    ps = pgst_downcast(st);
    PQfinish(ps->conn);
    if (ps->lock_conn)
        PQfinish(ps->lock_conn);
    free(ps->conninfo);
    free(ps->prepared);
    for (i = 0; i < 4; i++)
        buf_release(&ps->counted[i]);
    free(ps);
}

int pgst_ping(store *st, struct err *err)
{
    return pgst_exec_void(pgst_downcast(st), SQL_PING, 0, NULL, err);
}

/* Outside a transaction the statement commits on its own. */
int pgst_heartbeat(store *st, struct err *err)
{
    return pgst_exec_void(pgst_downcast(st), SQL_HEARTBEAT, 0, NULL, err);
}

/* ---- transactions ---------------------------------------------------------------------- */

/* Begin with sql (SQL_BEGIN or SQL_BEGIN_READ). */
static int begin(store *st, const char *sql, struct err *err)
{
    struct pgst_store *ps = pgst_downcast(st);

    if (st->in_tx) {
        log_write(LOG_ERROR, "postgres: begin inside an open transaction");
        return err_set(err, ERR_INTERNAL, "database error");
    }
    if (pgst_exec_void(ps, sql, 0, NULL, err) < 0)
        return -1;
    st->in_tx = 1;
    pgst_counted_reset(ps);
    return 0;
}

int pgst_tx_begin(store *st, struct err *err)
{
    return begin(st, SQL_BEGIN, err);
}

/* REPEATABLE READ takes its snapshot at the first statement and keeps it to the end. */
int pgst_tx_begin_read(store *st, struct err *err)
{
    return begin(st, SQL_BEGIN_READ, err);
}

/* COMMIT of a failed transaction "succeeds" as ROLLBACK: report that as a failure. */
int pgst_tx_commit(store *st, struct err *err)
{
    struct pgst_store *ps = pgst_downcast(st);
    PGresult *r;
    int rolled_back;

    if (!st->in_tx) {
        log_write(LOG_ERROR, "postgres: commit without a transaction");
        return err_set(err, ERR_INTERNAL, "database error");
    }
    r = pgst_episodes_counted_commit(ps, SQL_COMMIT, err);
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

void pgst_tx_rollback(store *st)
{
    struct pgst_store *ps = pgst_downcast(st);
    struct err ignored = ERR_INIT;

    if (!st->in_tx)
        return;
    st->in_tx = 0;
    pgst_counted_reset(ps);
    if (st->broken)
        return;
    pgst_exec_void(ps, SQL_ROLLBACK, 0, NULL, &ignored);
    err_release(&ignored);
}

/* ---- the table: one block per area, each filled by its own file ------------------------ */

const struct store_ops store_postgres_ops = {
    .name = "postgres",

    /* postgres.c */
    .open = pgst_open,
    .close = pgst_close,
    .ping = pgst_ping,
    .heartbeat = pgst_heartbeat,
    .tx_begin = pgst_tx_begin,
    .tx_commit = pgst_tx_commit,
    .tx_rollback = pgst_tx_rollback,
    .tx_begin_read = pgst_tx_begin_read,

    /* postgres_migrate.c */
    .migrate = pgst_migrate,
    .schema_version = pgst_schema_version,

    /* postgres_episodes.c */
    .episode_insert = pgst_episode_insert,
    .commits_flush = pgst_commits_flush,
    .episode_insert_group = pgst_episode_insert_group,
    .episode_list = pgst_episode_list,
    .episode_list_window = pgst_episode_list_window,

    /* postgres_subjects.c */
    .memory_list = pgst_memory_list,
    .subject_list = pgst_subject_list,
    .subject_delete = pgst_subject_delete,

    /* postgres_compile.c */
    .episode_list_uncompiled = pgst_episode_list_uncompiled,
    .episode_mark_compiled = pgst_episode_mark_compiled,
    .episode_list_recent = pgst_episode_list_recent,
    .episode_get_many = pgst_episode_get_many,
    .subject_lock = pgst_subject_lock,
    .compile_reset = pgst_compile_reset,
    .resolution_list = pgst_resolution_list,

    /* postgres_context.c */
    .context_read = pgst_context_read,

    /* postgres_memories.c */
    .memory_insert = pgst_memory_insert,
    .memory_list_active = pgst_memory_list_active,
    .memory_supersede = pgst_memory_supersede,
    .memory_set_embedding = pgst_memory_set_embedding,
    .memory_set_embeddings = pgst_memory_set_embeddings,
    .memory_get = pgst_memory_get,
    .memory_scan_vectors = pgst_memory_scan_vectors,
    .memory_scan_text = pgst_memory_scan_text,
    .memory_rank_text = pgst_memory_rank_text,
    .search_text_sync = pgst_search_text_sync,
    .search_codes_sync = pgst_search_codes_sync,
    .memory_scan_codes = pgst_memory_scan_codes,
    .memory_vectors_by_ids = pgst_memory_vectors_by_ids,
    .memory_codes_gen = pgst_memory_codes_gen,
    .context_gen = pgst_context_gen,
    .memory_get_many = pgst_memory_get_many,
    .memory_set_labels = pgst_memory_set_labels,
    .qcache_get = pgst_qcache_get,
    .qcache_put = pgst_qcache_put,

    /* postgres_export.c */
    .export_count = pgst_export_count,
    .export_episodes = pgst_export_episodes,
    .export_memories = pgst_export_memories,
    .episode_ids_taken = pgst_episode_ids_taken,
    .memory_ids_taken = pgst_memory_ids_taken,
    .episode_insert_many = pgst_episode_insert_many,
    .memory_insert_many = pgst_memory_insert_many,

    /* postgres_snapshots.c */
    .snapshot_insert = pgst_snapshot_insert,
    .snapshot_get = pgst_snapshot_get,
    .snapshot_find = pgst_snapshot_find,
    .snapshot_latest = pgst_snapshot_latest,
    .snapshot_list = pgst_snapshot_list,
    .subject_copy = pgst_subject_copy,
    .subject_newest_episode = pgst_subject_newest_episode,
    .cleanup_candidates = pgst_cleanup_candidates,
    .maintenance_trylock = pgst_maint_trylock,   /* postgres_pooler.c */
    .maintenance_unlock = pgst_maint_unlock,

    /* postgres_jobs.c */
    .job_count_stuck = pgst_job_count_stuck,
    .job_insert = pgst_job_insert,
    .job_get = pgst_job_get,
    .job_claim = pgst_job_claim,
    .job_renew = pgst_job_renew,
    .job_finish = pgst_job_finish,
    .job_list = pgst_job_list,
    .job_delete = pgst_job_delete,
    .job_count_by_status = pgst_job_count_by_status,

    /* postgres_backup.c */
    .backup = pgst_backup,

    /* postgres_ratelimit.c */
    .ratelimit_hit = pgst_ratelimit_hit,
    .ratelimit_purge = pgst_ratelimit_purge,

    /* postgres_webhooks.c */
    .webhook_insert = pgst_webhook_insert,
    .webhook_claim = pgst_webhook_claim,
    .webhook_update = pgst_webhook_update,
    .webhook_list = pgst_webhook_list,
    .webhook_stats = pgst_webhook_stats,
    .webhook_get = pgst_webhook_get,
    .webhook_purge = pgst_webhook_purge,
    .explorer_subjects = pgst_explorer_subjects,
    .explorer_summary = pgst_explorer_summary,
    .explorer_episodes = pgst_explorer_episodes,
    .explorer_memories = pgst_explorer_memories,
    .explorer_resolutions = pgst_explorer_resolutions,
    .explorer_citing_counts = pgst_explorer_citing_counts,
    .subject_match = pgst_subject_match,
    .tenant_list = pgst_tenant_list,
    .tenant_audit = pgst_tenant_audit,
    .usage = pgst_usage,
    .overview = pgst_overview,
    .pack_rows = pgst_pack_rows,
    .pack_rows_delete = pgst_pack_rows_delete,

    /* postgres_deletions.c */
    .subject_delete_ids = pgst_subject_delete_ids,
    .subject_rows_before = pgst_subject_rows_before,
    .deletion_insert = pgst_deletion_insert,
    .deletion_get = pgst_deletion_get,
    .lineage_put = pgst_lineage_put,
    .lineage_get = pgst_lineage_get,

    /* postgres_resolutions.c */
    .resolution_query = pgst_resolution_query,
    .resolution_upsert = pgst_resolution_upsert,
    .health_cache_get = pgst_health_cache_get,
    .health_cache_put = pgst_health_cache_put,
    .health_cache_delete = pgst_health_cache_delete,

    /* postgres_history.c */
    .memory_list_as_of = pgst_memory_list_as_of,
    .episode_list_as_of = pgst_episode_list_as_of,
    .receipt_insert = pgst_receipt_insert,
    .receipt_get = pgst_receipt_get,
    .receipt_list = pgst_receipt_list,
};
