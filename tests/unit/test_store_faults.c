/* test_store_faults.c - every all-or-nothing operation, failed at each of its statements in
 * turn, leaves the database exactly as it was and answers a clean error (issue #14; C-STYLE
 * §11 "fault injection", in the spirit of SQLite's *fault.test files).
 *
 * For each operation the test calls the service function the API calls, with the store's
 * fault hook (store-internal.h) armed to fail statement N, for N = 1, 2, ... until the
 * operation runs to the end without reaching statement N. After every injected failure: the
 * answer is -1 with the error the fault maps to (disk full: 503 database_full; an I/O error:
 * 500 internal_error), no transaction is left open, and a dump of every row of every table
 * (read on a second connection) equals the dump taken before. Odd N inject a full disk, even
 * N an I/O error. Runs on SQLite and on PostgreSQL (ENGRAM_TEST_DATABASE_URL), like the
 * other store suites. The readiness write probe (the heartbeat) is covered the same way.
 */
#include "store_harness.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>

#include "service/backup.h"
#include "service/cleanup.h"
#include "service/compile.h"
#include "service/compiler.h"
#include "service/episodes.h"
#include "service/memory_clone.h"
#include "service/memory_payload.h"
#include "service/packs.h"
#include "service/snapshots.h"
#include "service/subjects.h"
#include "store/store-internal.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/jv.h"

/* More statements than any operation here runs: a loop that reaches it has a bug. */
#define MAX_STEPS 400

static struct config tcfg;

/* PostgreSQL: the last webhook event before the suite ran. The operations record webhook
 * events (a webhook URL is configured, so that they are part of every transaction); on the
 * shared database a server of the API suite would deliver them later, so teardown deletes
 * the ones made here. */
static char events_before[32] = "0";

/* ---- a dump of every row, on a second connection ---- */

static int is_sqlite(void)
{
    return strcmp(g.ops->name, "sqlite") == 0;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Every row of table as one line each ('|' between columns), sorted, into out. */
static void dump_sqlite_table(sqlite3 *db, struct arena *a, const char *table, struct buf *out)
{
    char *sql = arena_printf(a, "SELECT * FROM \"%s\"", table);
    sqlite3_stmt *q = NULL;
    const char **rows = NULL;
    size_t n = 0, cap = 0, i;
    int c;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
        struct buf row = BUF_INIT;

        for (c = 0; c < sqlite3_column_count(q); c++) {
            const unsigned char *v = sqlite3_column_text(q, c);

            buf_printf(&row, "%s|", v ? (const char *)v : "NULL");
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            rows = realloc(rows, cap * sizeof(*rows));
        }
        rows[n++] = arena_strdup(a, row.data);
        buf_release(&row);
    }
    sqlite3_finalize(q);
    if (n > 0)
        qsort(rows, n, sizeof(*rows), cmp_str);
    buf_printf(out, "== %s (%zu)\n", table, n);
    for (i = 0; i < n; i++)
        buf_printf(out, "%s\n", rows[i]);
    free(rows);
}

static const char *dump_sqlite(struct arena *a)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    struct buf out = BUF_INIT;
    const char *tables[128];
    size_t n = 0, i;
    const char *res;

    assert_int_equal(sqlite3_open_v2(g.conninfo, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type = 'table'"
                                            " AND name NOT LIKE 'sqlite_%' ORDER BY name",
                                        -1, &q, NULL), SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW && n < 128)
        tables[n++] = arena_strdup(a, (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    for (i = 0; i < n; i++)
        dump_sqlite_table(db, a, tables[i], &out);
    sqlite3_close(db);
    res = arena_strdup(a, out.data);
    buf_release(&out);
    return res;
}

static const char *dump_postgres(struct arena *a)
{
    static const char tables_sql[] =
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        " AND table_type = 'BASE TABLE' ORDER BY table_name";
    PGconn *pg = PQconnectdb(g.conninfo);
    PGresult *t, *r;
    struct buf out = BUF_INIT;
    const char *res;
    int i;

    assert_int_equal(PQstatus(pg), CONNECTION_OK);
    t = PQexec(pg, tables_sql);
    assert_int_equal(PQresultStatus(t), PGRES_TUPLES_OK);
    for (i = 0; i < PQntuples(t); i++) {
        const char *name = PQgetvalue(t, i, 0);
        char *sql = arena_printf(a, "SELECT count(*), coalesce(string_agg(x::text, E'\\n'"
                                    " ORDER BY x::text), '') FROM \"%s\" x", name);

        r = PQexec(pg, sql);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        buf_printf(&out, "== %s (%s)\n%s\n", name, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
        PQclear(r);
    }
    PQclear(t);
    PQfinish(pg);
    res = arena_strdup(a, out.data);
    buf_release(&out);
    return res;
}

static const char *dump(struct arena *a)
{
    return is_sqlite() ? dump_sqlite(a) : dump_postgres(a);
}

/* ---- the loop ---- */

/* One operation under test: runs it once on g.st; 0 or -1 with err set. */
typedef int fault_op(struct arena *a, void *ctx, struct err *err);

/* The error an injected fault must come back as. */
static void check_fault_error(const struct err *err, enum store_fault f, long n)
{
    if (f == STORE_FAULT_FULL) {
        if (err->kind != ERR_UNAVAILABLE || !err->code || strcmp(err->code, "database_full"))
            fail_msg("step %ld (disk full): got %d %s '%s', want 503 database_full", n,
                     (int)err->kind, err->code ? err->code : "-", err->msg);
    } else if (err->kind != ERR_INTERNAL || !err->code ||
               strcmp(err->code, "internal_error") != 0) {
        fail_msg("step %ld (I/O error): got %d %s '%s', want 500 internal_error", n,
                 (int)err->kind, err->code ? err->code : "-", err->msg);
    }
}

/* Fail statement 1, 2, ... of op in turn until op completes: every failure leaves the dump
 * unchanged and answers the fault's error. Returns how many statements op ran. */
static long run_faults(const char *what, fault_op *op, void *ctx)
{
    long n;

    for (n = 1; n <= MAX_STEPS; n++) {
        struct arena *step = arena_new();
        enum store_fault f = n % 2 ? STORE_FAULT_FULL : STORE_FAULT_IOERR;
        struct err err = ERR_INIT;
        const char *before = dump(step);
        int rc, fired;

        store_fault_arm(n, f);
        rc = op(step, ctx, &err);
        fired = store_fault_fired();
        store_fault_disarm();
        if (!fired) {
            if (rc != 0)
                fail_msg("%s: failed without a fault at step %ld: %s", what, n, err.msg);
            err_release(&err);
            arena_free(step);
            return n - 1;
        }
        if (rc == 0)
            fail_msg("%s: statement %ld failed (injected) and the operation still succeeded",
                     what, n);
        check_fault_error(&err, f, n);
        if (g.st->in_tx)
            fail_msg("%s: step %ld left a transaction open", what, n);
        g.st->broken = 0;   /* an I/O error marks the connection for a reconnect; keep it */
        if (strcmp(before, dump(step)) != 0)
            fail_msg("%s: failing statement %ld changed the database", what, n);
        err_release(&err);
        arena_free(step);
    }
    fail_msg("%s: still failing after %d statements", what, MAX_STEPS);
    return -1;
}

/* ---- data ---- */

static const char CHAT[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"My name is Alice "
                           "Smith. I live in Paris. I prefer green tea over coffee.\"}]}";

/* n chat episodes of (tenant, subject), one second apart, not inserted. */
static struct episode *chat_eps(struct arena *a, const char *tenant, const char *subject,
                                size_t n)
{
    struct episode *eps = arena_calloc(a, n, sizeof(*eps));
    size_t i;

    for (i = 0; i < n; i++) {
        eps[i] = make_ep(tenant, subject, T0 + (int64_t)i * SEC);
        eps[i].payload = CHAT;
        eps[i].session_id = "s1";
    }
    return eps;
}

/* A subject with n episodes, compiled (so it has memories too). */
static void seed_subject(struct arena *a, const char *tenant, const char *subject, size_t n)
{
    struct compile_result res;
    struct err err = ERR_INIT;

    assert_int_equal(episodes_record_batch(a, g.st, tenant, chat_eps(a, tenant, subject, n), n,
                                           &err), 0);
    assert_int_equal(compile_subject(a, g.st, tenant, subject, 0, &res, &err), 0);
    assert_true(res.nmemories > 0);
}

/* ---- the operations ---- */

struct subject_ctx {
    const char *tenant, *subject, *target;
    const char *name;                      /* snapshot name (unique per run) */
    const struct jv *doc;
    const char *snapshot_id;
};

static int op_batch(struct arena *a, void *ctx, struct err *err)
{
    struct subject_ctx *c = ctx;

    return episodes_record_batch(a, g.st, c->tenant, chat_eps(a, c->tenant, c->subject, 5), 5,
                                 err);
}

/* One episode through the single-ingest path (on SQLite the group commit queue: alone, a
 * group of one). */
static int op_single(struct arena *a, void *ctx, struct err *err)
{
    struct subject_ctx *c = ctx;
    int duplicate;

    return episodes_record_one(a, g.st, c->tenant, chat_eps(a, c->tenant, c->subject, 1),
                               &duplicate, err);
}

static int op_compile(struct arena *a, void *ctx, struct err *err)
{
    struct subject_ctx *c = ctx;
    struct compile_result res;

    if (compile_subject(a, g.st, c->tenant, c->subject, 0, &res, err) < 0)
        return -1;
    return res.nmemories > 0 ? 0 : err_set(err, ERR_VALIDATION, "compile wrote no memories");
}

static int op_subject_import(struct arena *a, void *ctx, struct err *err)
{
    struct subject_ctx *c = ctx;
    struct backup_import_opts o = { c->target, NULL, 0 };
    struct backup_import_result res;

    return backup_import(a, g.st, c->doc, &o, &res, err);
}

static int op_memory_import(struct arena *a, void *ctx, struct err *err)
{
    struct subject_ctx *c = ctx;
    struct payload_limits lim = { 50u << 20, 100, 10000, 10000, 3 };
    struct payload_import_result res;

    return memory_payload_import(a, g.st, c->doc, c->tenant, PAYLOAD_CREATE_COPY, &lim, &res,
                                 err);
}

static int op_snapshot_create(struct arena *a, void *ctx, struct err *err)
{
    struct subject_ctx *c = ctx;
    struct snapshot_create_in in = { c->name, 1, c->subject, NULL, 1, NULL };
    struct snapshot_create_result res;

    if (snapshots_create(a, g.st, &in, &res, err) < 0)
        return -1;
    return res.created ? 0 : err_set(err, ERR_CONFLICT, "snapshot existed");
}

static int op_snapshot_restore(struct arena *a, void *ctx, struct err *err)
{
    struct subject_ctx *c = ctx;
    struct snapshot_restore_in in = { c->snapshot_id, NULL, 0, 0, c->target, c->tenant };
    struct snapshot_restore_result res;

    return snapshots_restore(a, g.st, &in, &res, err);
}

static int op_subject_delete(struct arena *a, void *ctx, struct err *err)
{
    struct subject_ctx *c = ctx;
    int64_t e = 0, m = 0;

    (void)a;
    if (subjects_delete(g.st, c->tenant, c->subject, &e, &m, err) < 0)
        return -1;
    return e > 0 && m > 0 ? 0 : err_set(err, ERR_NOT_FOUND, "nothing deleted");
}

static int op_cleanup(struct arena *a, void *ctx, struct err *err)
{
    struct subject_ctx *c = ctx;
    struct cleanup_in in = { c->subject, 1, 1, NULL, 0 };
    struct cleanup_result res;

    if (cleanup_run(a, g.st, &in, ts_now(), &res, err) < 0)
        return -1;
    return res.subjects_cleaned >= 2 ? 0 : err_set(err, ERR_NOT_FOUND, "nothing cleaned");
}

/* The admin delete of a subject living in two tenants: both pairs or nothing. */
static int op_admin_delete(struct arena *a, void *ctx, struct err *err)
{
    struct subject_ctx *c = ctx;
    struct subjects_deleted gone;

    if (subjects_admin_delete(a, g.st, c->subject, NULL, &gone, err) < 0)
        return -1;
    return gone.subjects == 2 ? 0 : err_set(err, ERR_NOT_FOUND, "not both pairs deleted");
}

/* The bulk delete of every pair under a prefix (three of them): all or nothing. */
static int op_bulk_delete(struct arena *a, void *ctx, struct err *err)
{
    struct subject_ctx *c = ctx;
    const struct subject_selector sel = { .prefix = c->name, .all_tenants = 1,
                                          .older_than = TS_NULL, .with_episodes_only = 1 };
    struct subjects_deleted gone;

    if (subjects_bulk_delete(a, g.st, &sel, 3, &gone, err) < 0)
        return -1;
    return gone.subjects == 3 ? 0 : err_set(err, ERR_NOT_FOUND, "not every pair deleted");
}

static int op_clone(struct arena *a, void *ctx, struct err *err)
{
    struct subject_ctx *c = ctx;
    struct payload_limits lim = { 50u << 20, 100, 10000, 10000, 3 };
    const struct clone_in in = { c->subject, c->target, "copy", "beta", PAYLOAD_SCOPE_ALL,
                                 "op@example.com" };
    struct clone_result res;

    if (memory_clone(a, g.st, &in, &lim, &res, err) < 0)
        return -1;
    return res.episodes == 6 && res.memories > 0 ? 0 : err_set(err, ERR_NOT_FOUND, "short");
}

static int op_pack_import(struct arena *a, void *ctx, struct err *err)
{
    struct subject_ctx *c = ctx;
    struct pack_import_in in = { "demo-devops-agent", c->target, "On-call bot", c->tenant,
                                 PAYLOAD_CREATE_COPY, 0 };
    struct pack_import_result res;

    return packs_import(a, g.st, &in, &res, err);
}

static int op_support_reseed(struct arena *a, void *ctx, struct err *err)
{
    struct support_reseed rs;

    (void)ctx;
    memset(&rs, 0, sizeof(rs));
    rs.force = 1;
    rs.reason = "faults";
    if (packs_support_reseed(a, g.st, &rs, err) < 0)
        return -1;
    return rs.updated ? 0 : err_set(err, ERR_CONFLICT, "the reseed wrote nothing");
}

static int op_heartbeat(struct arena *a, void *ctx, struct err *err)
{
    (void)a;
    (void)ctx;
    return store_heartbeat(g.st, err);
}

/* ---- the tests ---- */

static void test_faults_batch_ingest(void **state)
{
    struct arena *a = *state;
    struct subject_ctx c = { "acme", uniq(a, "fb"), NULL, NULL, NULL, NULL };

    assert_true(run_faults("batch ingest", op_batch, &c) >= 3);
}

static void test_faults_single_ingest(void **state)
{
    struct arena *a = *state;
    struct subject_ctx c = { "acme", uniq(a, "fs"), NULL, NULL, NULL, NULL };

    assert_true(run_faults("single ingest", op_single, &c) >= 2);
}

/*
 * Group commit under faults: 8 threads, each on its own connection, post 25 single episodes
 * at once, each post with the thread's statement 1, 2, 3 or 4 armed to fail. A thread that
 * leads a group fails somewhere in the group's transaction (its BEGIN, the first or a later
 * insert, a webhook event, the COMMIT): the group must roll back whole and be replayed one
 * episode at a time, so that every post either succeeded, its episode stored once, or failed
 * with the injected error and stored nothing. Counted at the end: the subject's rows are
 * exactly the successful posts' episodes.
 */
#define GROUP_THREADS 8
#define GROUP_POSTS 25

struct group_worker {
    const char *subject;
    int ok;                         /* posts that succeeded */
    int failed;                     /* posts that failed with the injected error */
    char ids[GROUP_POSTS][UUID_STR_LEN];
    const char *problem;            /* NULL, or what went wrong */
};

static void *group_worker_main(void *arg)
{
    struct group_worker *w = arg;
    struct err err = ERR_INIT;
    store *st = NULL;
    int i;

    if (store_open(g.ops, g.conninfo, &st, &err) < 0) {
        w->problem = "cannot open a connection";
        return NULL;
    }
    for (i = 0; i < GROUP_POSTS && !w->problem; i++) {
        struct arena *a = arena_new();
        struct episode *ep = chat_eps(a, "acme", w->subject, 1);
        int duplicate = 0, rc;

        store_fault_arm(1 + (i % 4), i % 2 ? STORE_FAULT_FULL : STORE_FAULT_IOERR);
        rc = episodes_record_one(a, st, "acme", ep, &duplicate, &err);
        store_fault_disarm();
        st->broken = 0;   /* an injected I/O error marks the connection; keep it */
        if (rc == 0) {
            snprintf(w->ids[w->ok++], UUID_STR_LEN, "%s", ep->id);
        } else if (err.kind == ERR_UNAVAILABLE || err.kind == ERR_INTERNAL) {
            w->failed++;
        } else {
            w->problem = "a post failed with another error";
        }
        err_release(&err);
        arena_free(a);
    }
    store_close(st);
    return NULL;
}

static void test_faults_group_commit(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "fg");
    struct group_worker w[GROUP_THREADS];
    pthread_t t[GROUP_THREADS];
    struct episode_rows rows;
    struct err err = ERR_INIT;
    int i, j, ok = 0;
    size_t k;

    memset(w, 0, sizeof(w));
    for (i = 0; i < GROUP_THREADS; i++) {
        w[i].subject = subject;
        assert_int_equal(pthread_create(&t[i], NULL, group_worker_main, &w[i]), 0);
    }
    for (i = 0; i < GROUP_THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    for (i = 0; i < GROUP_THREADS; i++) {
        if (w[i].problem)
            fail_msg("thread %d: %s", i, w[i].problem);
        ok += w[i].ok;
    }
    assert_int_equal(store_episode_list(g.st, a, &(struct store_scope){ .tenant = "acme", .subject = subject },
                                        &(struct store_page){ .limit = 1000 }, &rows, &err), 0);
    assert_int_equal((int)rows.n, ok);
    for (i = 0; i < GROUP_THREADS; i++) {
        for (j = 0; j < w[i].ok; j++) {
            for (k = 0; k < rows.n && strcmp(rows.items[k].id, w[i].ids[j]) != 0; k++)
                ;
            if (k == rows.n)
                fail_msg("thread %d: episode %s succeeded but is not stored", i, w[i].ids[j]);
        }
    }
}

static void test_faults_compile(void **state)
{
    struct arena *a = *state;
    struct subject_ctx c = { "acme", uniq(a, "fc"), NULL, NULL, NULL, NULL };
    struct err err = ERR_INIT;

    assert_int_equal(episodes_record_batch(a, g.st, c.tenant, chat_eps(a, c.tenant, c.subject, 4),
                                           4, &err), 0);
    assert_true(run_faults("compile", op_compile, &c) >= 3);
}

/* The export document of a seeded subject, parsed. */
static const struct jv *export_doc(struct arena *a, const char *subject)
{
    struct backup_export_opts o = { subject, NULL, NULL };
    struct backup_export *x = NULL;
    struct buf out = BUF_INIT;
    struct err err = ERR_INIT;
    const struct jv *doc;
    const char *msg = NULL;
    size_t pos = 0;
    int rc;

    assert_int_equal(backup_export_begin(g.st, &o, &x, &err), 0);
    while ((rc = backup_export_next(x, &out, &err)) == 1)
        ;
    assert_int_equal(rc, 0);
    backup_export_free(x);
    doc = jv_parse(a, out.data, out.len, &pos, &msg);
    buf_release(&out);
    assert_non_null(doc);
    return doc;
}

static void test_faults_subject_import(void **state)
{
    struct arena *a = *state;
    struct subject_ctx c = { "acme", uniq(a, "fi"), uniq(a, "fi-target"), NULL, NULL, NULL };

    seed_subject(a, c.tenant, c.subject, 3);
    c.doc = export_doc(a, c.subject);
    assert_true(run_faults("subject import", op_subject_import, &c) >= 3);
}

static void test_faults_memory_import(void **state)
{
    struct arena *a = *state;
    struct subject_ctx c = { "acme", uniq(a, "fm"), NULL, NULL, NULL, NULL };
    struct payload_limits lim = { 50u << 20, 100, 10000, 10000, 3 };
    struct payload_export_in in = { &c.subject, 1, NULL, PAYLOAD_SCOPE_ALL };
    struct err err = ERR_INIT;

    const struct jv *exported;
    struct buf text = BUF_INIT;
    const char *msg = NULL;
    size_t pos = 0;

    seed_subject(a, c.tenant, c.subject, 3);
    exported = memory_payload_export(a, g.st, &in, &lim, &err);
    assert_non_null(exported);
    /* What a client sends back: the document as text, parsed again. */
    jv_write_compact(&text, exported);
    c.doc = jv_parse(a, text.data, text.len, &pos, &msg);
    buf_release(&text);
    assert_non_null(c.doc);
    assert_true(run_faults("memory import", op_memory_import, &c) >= 3);
}

static void test_faults_snapshot_create_and_restore(void **state)
{
    struct arena *a = *state;
    struct subject_ctx c = { "acme", uniq(a, "fs"), uniq(a, "fs-target"), uniq(a, "faults"),
                             NULL, NULL };
    struct snapshot_create_in in = { uniq(a, "faults-r"), 1, NULL, NULL, 1, NULL };
    struct snapshot_create_result res;
    struct err err = ERR_INIT;

    seed_subject(a, c.tenant, c.subject, 3);
    assert_true(run_faults("snapshot create", op_snapshot_create, &c) >= 3);
    in.source_subject = c.subject;
    assert_int_equal(snapshots_create(a, g.st, &in, &res, &err), 0);
    c.snapshot_id = arena_strdup(a, res.snap.id);
    assert_true(run_faults("snapshot restore", op_snapshot_restore, &c) >= 3);
}

static void test_faults_subject_delete(void **state)
{
    struct arena *a = *state;
    struct subject_ctx c = { "acme", uniq(a, "fd"), NULL, NULL, NULL, NULL };

    seed_subject(a, c.tenant, c.subject, 3);
    assert_true(run_faults("subject delete", op_subject_delete, &c) >= 2);
}

/* Admin deletes (spec/api.md §7.5): every pair in one transaction; subject_stats (kept by
 * triggers) is in the dump, so its rows must come back too. */
static void test_faults_admin_deletes(void **state)
{
    struct arena *a = *state;
    const char *prefix = uniq(a, "fb");
    struct subject_ctx c = { "acme", uniq(a, "fa"), NULL, prefix, NULL, NULL };

    seed_subject(a, "acme", c.subject, 2);
    seed_subject(a, "beta", c.subject, 2);
    assert_true(run_faults("admin delete", op_admin_delete, &c) >= 3);
    seed_subject(a, "acme", arena_printf(a, "%s-1", prefix), 2);
    seed_subject(a, "beta", arena_printf(a, "%s-1", prefix), 2);
    seed_subject(a, NULL, arena_printf(a, "%s-2", prefix), 2);
    assert_true(run_faults("bulk delete", op_bulk_delete, &c) >= 4);
}

/* Clone (spec/api.md §7.1): the target is written whole or not at all. */
static void test_faults_clone(void **state)
{
    struct arena *a = *state;
    struct subject_ctx c = { "acme", uniq(a, "fc"), uniq(a, "fc-target"), NULL, NULL, NULL };

    seed_subject(a, "acme", c.subject, 3);
    seed_subject(a, "beta", c.subject, 3);
    assert_true(run_faults("clone", op_clone, &c) >= 3);
}

static void test_faults_cleanup(void **state)
{
    struct arena *a = *state;
    const char *prefix = uniq(a, "fz");
    struct subject_ctx c = { NULL, prefix, NULL, NULL, NULL, NULL };
    struct episode *eps;

    /* Two stale subjects under the prefix, in two tenants, two days old. */
    eps = chat_eps(a, "acme", arena_printf(a, "%s-1", prefix), 2);
    eps[0].created_at = eps[1].created_at = ts_now() - 48 * 3600 * SEC;
    insert_ok(a, &eps[0]);
    insert_ok(a, &eps[1]);
    eps = chat_eps(a, NULL, arena_printf(a, "%s-2", prefix), 1);
    eps[0].created_at = ts_now() - 48 * 3600 * SEC;
    insert_ok(a, &eps[0]);
    assert_true(run_faults("cleanup", op_cleanup, &c) >= 2);
}

/* A starter pack import (spec/api.md §7.7): resolve the target, write every record. */
static void test_faults_pack_import(void **state)
{
    struct arena *a = *state;
    struct subject_ctx c = { "acme", NULL, uniq(a, "fp"), NULL, NULL, NULL };

    assert_true(run_faults("starter pack import", op_pack_import, &c) >= 3);
}

/* The support reseed: the owned rows deleted and the docs pack written again, operator rows
 * kept, or nothing at all. */
static void test_faults_support_reseed(void **state)
{
    struct arena *a = *state;
    struct episode *ep = chat_eps(a, NULL, tcfg.support_subject_id, 1);
    struct err err = ERR_INIT;

    assert_int_equal(op_support_reseed(a, NULL, &err), 0);
    insert_ok(a, &ep[0]);   /* an operator's row beside the pack's */
    assert_true(run_faults("support reseed", op_support_reseed, NULL) >= 4);
}

/* The readiness write probe: a full disk answers 503 database_full, a read-only database
 * 503 database_readonly (what /readyz reports), and neither leaves anything behind. */
static void test_faults_heartbeat(void **state)
{
    struct err err = ERR_INIT;

    (void)state;
    assert_int_equal(run_faults("heartbeat", op_heartbeat, NULL), 1);
    store_fault_arm(1, STORE_FAULT_READONLY);
    assert_int_equal(store_heartbeat(g.st, &err), -1);
    store_fault_disarm();
    g.st->broken = 0;
    assert_int_equal(err.kind, ERR_UNAVAILABLE);
    assert_string_equal(err.code, "database_readonly");
    assert_int_equal(store_heartbeat(g.st, &err), 0);
}

/* The hook is per thread and one-shot: disarmed it changes nothing, and a fault armed past
 * the end of an operation is never delivered. */
static void test_faults_hook(void **state)
{
    struct err err = ERR_INIT;

    (void)state;
    assert_int_equal(store_fault_fired(), 0);
    store_fault_arm(1000, STORE_FAULT_FULL);
    assert_int_equal(store_ping(g.st, &err), 0);
    assert_int_equal(store_fault_fired(), 0);
    store_fault_disarm();
    store_fault_arm(2, STORE_FAULT_FULL);
    assert_int_equal(store_ping(g.st, &err), 0);
    assert_int_equal(store_ping(g.st, &err), -1);
    assert_int_equal(store_fault_fired(), 1);
    assert_int_equal(store_ping(g.st, &err), 0);   /* one shot */
    store_fault_disarm();
    err_release(&err);
}

/* PostgreSQL: run sql on a connection of its own; the first value of its first row, if any,
 * into out. */
static void pg_exec_one(const char *sql, char *out, size_t size)
{
    PGconn *pg = PQconnectdb(g.conninfo);
    PGresult *r = PQexec(pg, sql);

    if (out && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        snprintf(out, size, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(pg);
}

static int faults_setup(void **state)
{
    static const char *const env[] = { "STATEWAVE_WEBHOOK_URL=http://127.0.0.1:9/hook",
                                       "STATEWAVE_ENABLE_SNAPSHOTS=true",
                                       "STATEWAVE_EMBEDDING_DIMENSIONS=3",
                                       "STATEWAVE_SUPPORT_SUBJECT_ID=faults-support-docs",
                                       NULL };
    struct err err = ERR_INIT;

    /* config_load takes environ's type; the strings are only read. */
    if (config_load(&tcfg, (char *const *)env, NULL, &err) < 0) {
        fprintf(stderr, "config: %s\n", err.msg);
        return -1;
    }
    cfg = &tcfg;
    if (compiler_setup(&err) < 0) {
        fprintf(stderr, "compiler: %s\n", err.msg);
        return -1;
    }
    if (group_setup(state) < 0)
        return -1;
    if (!is_sqlite())
        pg_exec_one("SELECT coalesce(max(seq), 0) FROM webhook_events", events_before,
                    sizeof(events_before));
    return 0;
}

static int faults_teardown(void **state)
{
    char sql[96];
    int ret;

    if (!is_sqlite()) {
        snprintf(sql, sizeof(sql), "DELETE FROM webhook_events WHERE seq > %s", events_before);
        pg_exec_one(sql, NULL, 0);
    }
    ret = group_teardown(state);

    compiler_shutdown();
    cfg = NULL;
    config_release(&tcfg);
    return ret;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_faults_hook, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_faults_heartbeat, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_faults_batch_ingest, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_faults_single_ingest, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_faults_group_commit, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_faults_compile, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_faults_subject_import, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_faults_memory_import, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_faults_snapshot_create_and_restore, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_faults_subject_delete, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_faults_cleanup, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_faults_admin_deletes, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_faults_clone, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_faults_pack_import, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_faults_support_reseed, test_setup, test_teardown),
    };

    return cmocka_run_group_tests(tests, faults_setup, faults_teardown);
}
