/* test_store_support.c - the store contract suite for the support tier (resolution_query,
 * resolution_upsert, the health cache, and the purge of both with a subject): written only
 * against store.h, so it runs unchanged on every backend. ENGRAM_TEST_DATABASE_URL picks the
 * database (default: a fresh SQLite temp file). Every test makes its own subject ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/ts.h"

#include "store_harness.h" /* g, group and test setup, ids */

/* A resolution of (tenant, subject, session) with a fresh id, at time `at`; not stored. */
static struct resolution make_res(const char *tenant, const char *subject, const char *session,
                                  const char *status, int64_t at)
{
    struct resolution r = {
        .session_id = session,
        .status = status,
        .resolution_summary = NULL,
        .updated_at = at,
        .subject_id = subject,
        .tenant_id = tenant,
        .resolved_at = strcmp(status, "resolved") == 0 ? at : TS_NULL,
        .metadata = "{}",
        .created_at = TS_NULL,
    };

    uuid_v4(r.id);
    return r;
}

/* Upsert r in a transaction holding the subject lock, as the service does. */
static void upsert(struct arena *a, struct resolution *r)
{
    struct err err = ERR_INIT;

    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_subject_lock(g.st,
                                        &(struct store_scope){ .tenant = r->tenant_id,
                                                               .subject = r->subject_id },
                                        &err),
                     0);
    assert_int_equal(store_resolution_upsert(g.st, a, r, &err), 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
}

static size_t query(struct arena *a, const char *tenant, const char *subject, const char *status,
                    size_t limit, struct resolution **out)
{
    struct store_scope sc = { .tenant = tenant, .subject = subject };
    struct resolution_query q = { .status = status, .limit = limit };
    struct resolution_rows rows = { NULL, 99 };
    struct err err = ERR_INIT;

    assert_int_equal(store_resolution_query(g.st, a, &sc, &q, &rows, &err), 0);
    *out = rows.items;
    return rows.n;
}

/* 1: the first upsert of a key inserts the row exactly as given. */
static void test_store_resolution_insert(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "res-ins");
    struct resolution r = make_res("t1", subject, "sess-1", "resolved", T0);
    char id[UUID_STR_LEN];
    struct resolution *rows;

    memcpy(id, r.id, sizeof(id));
    r.resolution_summary = "Issued refund";
    r.metadata = "{\"agent\":\"ada\",\"n\":1}";
    upsert(a, &r);
    assert_string_equal(r.id, id);
    assert_int_equal(r.created_at, T0);
    assert_int_equal(r.updated_at, T0);
    assert_int_equal(r.resolved_at, T0);

    assert_int_equal(query(a, "t1", subject, NULL, 50, &rows), 1);
    assert_string_equal(rows[0].id, id);
    assert_string_equal(rows[0].subject_id, subject);
    assert_string_equal(rows[0].tenant_id, "t1");
    assert_string_equal(rows[0].session_id, "sess-1");
    assert_string_equal(rows[0].status, "resolved");
    assert_string_equal(rows[0].resolution_summary, "Issued refund");
    assert_string_equal(rows[0].metadata, "{\"agent\":\"ada\",\"n\":1}");
    assert_int_equal(rows[0].created_at, T0);
    assert_int_equal(rows[0].resolved_at, T0);
}

/* 2: a second upsert of the key updates that row: id and created_at kept, everything else
 * replaced (metadata too, not merged), resolved_at cleared. */
static void test_store_resolution_update(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "res-upd");
    struct resolution r1 = make_res(NULL, subject, "sess-1", "resolved", T0);
    struct resolution r2 = make_res(NULL, subject, "sess-1", "open", T0 + 60 * SEC);
    struct resolution *rows;
    char first[UUID_STR_LEN];

    r1.resolution_summary = "done";
    r1.metadata = "{\"a\":1}";
    upsert(a, &r1);
    memcpy(first, r1.id, sizeof(first));
    r2.metadata = "{\"b\":2}";
    upsert(a, &r2);
    assert_string_equal(r2.id, first);
    assert_int_equal(r2.created_at, T0);
    assert_int_equal(r2.updated_at, T0 + 60 * SEC);

    assert_int_equal(query(a, NULL, subject, NULL, 0, &rows), 1);
    assert_string_equal(rows[0].id, first);
    assert_string_equal(rows[0].status, "open");
    assert_null(rows[0].resolution_summary);
    assert_int_equal(rows[0].resolved_at, TS_NULL);
    assert_string_equal(rows[0].metadata, "{\"b\":2}");
    assert_int_equal(rows[0].created_at, T0);
    assert_int_equal(rows[0].updated_at, T0 + 60 * SEC);
}

/* 3: the key includes the tenant, and no tenant matches only no tenant. */
static void test_store_resolution_tenants(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "res-ten");
    struct resolution none = make_res(NULL, subject, "s", "open", T0);
    struct resolution t1 = make_res("t1", subject, "s", "resolved", T0 + SEC);
    struct resolution t2 = make_res("t2", subject, "s", "unresolved", T0 + 2 * SEC);
    struct resolution *rows;

    upsert(a, &none);
    upsert(a, &t1);
    upsert(a, &t2);
    assert_string_not_equal(none.id, t1.id);
    assert_string_not_equal(t1.id, t2.id);

    assert_int_equal(query(a, NULL, subject, NULL, 50, &rows), 1);
    assert_string_equal(rows[0].status, "open");
    assert_null(rows[0].tenant_id);
    assert_int_equal(query(a, "t1", subject, NULL, 50, &rows), 1);
    assert_string_equal(rows[0].status, "resolved");
    assert_int_equal(query(a, "t2", subject, NULL, 50, &rows), 1);
    assert_string_equal(rows[0].status, "unresolved");
    assert_int_equal(query(a, "t3", subject, NULL, 50, &rows), 0);
}

/* 4: newest updated_at first (ties in insertion order), the status filter and the limit. */
static void test_store_resolution_order(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "res-ord");
    struct resolution r[4] = {
        make_res("t", subject, "s-a", "open", T0 + 10 * SEC),
        make_res("t", subject, "s-b", "resolved", T0 + 30 * SEC),
        make_res("t", subject, "s-c", "open", T0 + 20 * SEC),
        make_res("t", subject, "s-d", "open", T0 + 20 * SEC),
    };
    struct resolution *rows;
    size_t i;

    for (i = 0; i < 4; i++)
        upsert(a, &r[i]);
    assert_int_equal(query(a, "t", subject, NULL, 50, &rows), 4);
    assert_string_equal(rows[0].session_id, "s-b");
    assert_string_equal(rows[1].session_id, "s-c");
    assert_string_equal(rows[2].session_id, "s-d");
    assert_string_equal(rows[3].session_id, "s-a");
    assert_int_equal(query(a, "t", subject, "open", 50, &rows), 3);
    assert_string_equal(rows[0].session_id, "s-c");
    assert_int_equal(query(a, "t", subject, "resolved", 50, &rows), 1);
    assert_int_equal(query(a, "t", subject, "unresolved", 50, &rows), 0);
    assert_int_equal(query(a, "t", subject, NULL, 2, &rows), 2);
    assert_string_equal(rows[1].session_id, "s-c");
}

static int cache_get(struct arena *a, const char *tenant, const char *subject,
                     struct health_cache_entry *e)
{
    struct store_scope sc = { .tenant = tenant, .subject = subject };
    struct err err = ERR_INIT;
    int found = -1;

    memset(e, 0, sizeof(*e));
    assert_int_equal(store_health_cache_get(g.st, a, &sc, e, &found, &err), 0);
    return found;
}

static void cache_put(const char *tenant, const char *subject, const char *state, int score,
                      int64_t at)
{
    struct store_scope sc = { .tenant = tenant, .subject = subject };
    struct health_cache_entry e = { state, score, at };
    struct err err = ERR_INIT;

    assert_int_equal(store_health_cache_put(g.st, &sc, &e, &err), 0);
}

/* 5: the health cache is one row per (tenant, subject): overwritten, never shared. */
static void test_store_health_cache(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "health");
    struct health_cache_entry e;
    struct err err = ERR_INIT;

    assert_int_equal(cache_get(a, NULL, subject, &e), 0);
    cache_put(NULL, subject, "watch", 55, T0);
    cache_put("t1", subject, "at_risk", 20, T0 + SEC);
    assert_int_equal(cache_get(a, NULL, subject, &e), 1);
    assert_string_equal(e.state, "watch");
    assert_int_equal(e.score, 55);
    assert_int_equal(e.updated_at, T0);
    cache_put(NULL, subject, "healthy", 90, T0 + 2 * SEC);
    assert_int_equal(cache_get(a, NULL, subject, &e), 1);
    assert_string_equal(e.state, "healthy");
    assert_int_equal(e.score, 90);
    assert_int_equal(e.updated_at, T0 + 2 * SEC);
    assert_int_equal(cache_get(a, "t1", subject, &e), 1);
    assert_string_equal(e.state, "at_risk");
    assert_int_equal(cache_get(a, "t2", subject, &e), 0);

    assert_int_equal(store_health_cache_delete(g.st, &(struct store_scope){ .subject = subject },
                                               &err),
                     0);
    assert_int_equal(cache_get(a, NULL, subject, &e), 0);
    assert_int_equal(cache_get(a, "t1", subject, &e), 1);
}

/* 6: purging a subject removes its resolutions and health row, in that tenant only. */
static void test_store_support_purge(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "purge");
    struct resolution mine = make_res("t1", subject, "s", "open", T0);
    struct resolution other = make_res("t2", subject, "s", "open", T0);
    struct health_cache_entry e;
    struct row_counts counts;
    struct resolution *rows;
    struct err err = ERR_INIT;

    upsert(a, &mine);
    upsert(a, &other);
    cache_put("t1", subject, "watch", 55, T0);
    cache_put("t2", subject, "watch", 55, T0);
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_subject_delete(g.st,
                                          &(struct store_scope){ .tenant = "t1",
                                                                 .subject = subject },
                                          &counts, &err),
                     0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    assert_int_equal(counts.resolutions, 1);
    assert_int_equal(query(a, "t1", subject, NULL, 50, &rows), 0);
    assert_int_equal(cache_get(a, "t1", subject, &e), 0);
    assert_int_equal(query(a, "t2", subject, NULL, 50, &rows), 1);
    assert_int_equal(cache_get(a, "t2", subject, &e), 1);
}

/* 7: a rolled-back upsert leaves nothing. */
static void test_store_resolution_rollback(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "res-rb");
    struct resolution r = make_res(NULL, subject, "s", "open", T0);
    struct resolution *rows;
    struct err err = ERR_INIT;

    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_resolution_upsert(g.st, a, &r, &err), 0);
    store_tx_rollback(g.st);
    assert_int_equal(query(a, NULL, subject, NULL, 50, &rows), 0);
}

/* One of two connections upserting the same keys at once, as two server threads would. */
struct upserter {
    store *st;
    const char *subject;
    int failed;
};

#define RACE_ROUNDS 40
#define RACE_SESSIONS 4

static void *upsert_thread(void *arg)
{
    struct upserter *u = arg;
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    int i;

    for (i = 0; i < RACE_ROUNDS && !u->failed; i++) {
        char sid[16];
        struct resolution r;

        snprintf(sid, sizeof(sid), "s-%d", i % RACE_SESSIONS);
        r = make_res("t", u->subject, sid, "open", T0 + i * SEC);
        arena_reset(a);
        if (store_tx_begin(u->st, &err) < 0 ||
            store_subject_lock(u->st,
                               &(struct store_scope){ .tenant = r.tenant_id,
                                                      .subject = r.subject_id },
                               &err) < 0 ||
            store_resolution_upsert(u->st, a, &r, &err) < 0 || store_tx_commit(u->st, &err) < 0)
            u->failed = 1;
    }
    arena_free(a);
    err_release(&err);
    return NULL;
}

/* 8: concurrent upserts of the same keys from two connections never insert a key twice (the
 * subject lock serialises the read-then-write). */
static void test_store_resolution_upsert_concurrent(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "res-race");
    static struct upserter u[2];
    struct resolution *rows;
    struct err err = ERR_INIT;
    pthread_t th[2];
    size_t i;

    for (i = 0; i < 2; i++) {
        memset(&u[i], 0, sizeof(u[i]));
        u[i].subject = subject;
        assert_int_equal(store_open(g.ops, g.conninfo, &u[i].st, &err), 0);
    }
    for (i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, upsert_thread, &u[i]), 0);
    for (i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        store_close(u[i].st);
        assert_false(u[i].failed);
    }
    assert_int_equal(query(a, "t", subject, NULL, 0, &rows), RACE_SESSIONS);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_store_resolution_insert),   T(test_store_resolution_update),
        T(test_store_resolution_tenants),  T(test_store_resolution_order),
        T(test_store_health_cache),        T(test_store_support_purge),
        T(test_store_resolution_rollback), T(test_store_resolution_upsert_concurrent),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
