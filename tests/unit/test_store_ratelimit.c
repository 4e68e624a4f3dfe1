/* test_store_ratelimit.c - the store contract suite for distributed rate-limit windows
 * (ratelimit_hit, ratelimit_purge). Written only against store.h, so it runs unchanged on every
 * backend;
 * ENGRAM_TEST_DATABASE_URL picks the database (default: a fresh SQLite temp file). Every test
 * makes its own keys, subjects and tenants, so a shared database is fine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/ts.h"

#include "store_harness.h"   /* g, group and test setup, ids */

/* ---- rate-limit windows ---- */

static int64_t hit(store *st, const char *key, int64_t window, int64_t now)
{
    struct err err = ERR_INIT;
    int64_t count = -1;

    assert_int_equal(store_ratelimit_hit(st, key, window, now, &count, &err), 0);
    return count;
}

static void test_store_ratelimit_hit_counts_per_window(void **state)
{
    struct arena *a = *state;
    const char *k = uniq(a, "10.0.0.1"), *other = uniq(a, "10.0.0.2");

    assert_int_equal(hit(g.st, k, 1717243200, T0), 1);
    assert_int_equal(hit(g.st, k, 1717243200, T0 + 1), 2);
    assert_int_equal(hit(g.st, k, 1717243200, T0 + 2), 3);
    assert_int_equal(hit(g.st, other, 1717243200, T0 + 3), 1);
    assert_int_equal(hit(g.st, k, 1717243260, T0 + 60 * SEC), 1);   /* the next window */
    assert_int_equal(hit(g.st, k, 1717243200, T0 + 61 * SEC), 4);   /* a late hit counts */
}

/* Windows are shared by every connection (and so by every process on the database). */
static void test_store_ratelimit_hit_two_connections(void **state)
{
    struct arena *a = *state;
    const char *k = uniq(a, "::1");
    struct err err = ERR_INIT;
    store *st2;

    assert_int_equal(store_open(g.ops, g.conninfo, &st2, &err), 0);
    assert_int_equal(hit(g.st, k, 1717243200, T0), 1);
    assert_int_equal(hit(st2, k, 1717243200, T0), 2);
    assert_int_equal(hit(g.st, k, 1717243200, T0), 3);
    assert_int_equal(hit(st2, k, 1717243200, T0), 4);
    store_close(st2);
}

#define NHITS 200

struct hitter {
    store *st;
    const char *key;
    int ok;        /* hits counted */
    int busy;      /* hits refused with ERR_UNAVAILABLE (SQLite lock contention) */
    int failed;    /* any other failure */
};

static void *hit_many(void *arg)
{
    struct hitter *h = arg;
    int i;

    for (i = 0; i < NHITS; i++) {
        struct err err = ERR_INIT;
        int64_t count;

        if (store_ratelimit_hit(h->st, h->key, 1717243200, T0, &count, &err) == 0)
            h->ok++;
        else if (err.kind == ERR_UNAVAILABLE)
            h->busy++;
        else
            h->failed++;
        err_release(&err);
    }
    return NULL;
}

/* Two threads on two connections at once: the upsert is atomic, no hit is lost. SQLite may
 * refuse a hit after its short busy timeout (the limiter then fails open); such a hit is
 * not counted, and PostgreSQL never refuses one. */
static void test_store_ratelimit_hit_concurrent(void **state)
{
    struct arena *a = *state;
    const char *k = uniq(a, "198.51.100.7");
    struct hitter h[2] = { { NULL, k, 0, 0, 0 }, { NULL, k, 0, 0, 0 } };
    struct err err = ERR_INIT;
    pthread_t th[2];
    int i;

    for (i = 0; i < 2; i++)
        assert_int_equal(store_open(g.ops, g.conninfo, &h[i].st, &err), 0);
    for (i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hit_many, &h[i]), 0);
    for (i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        store_close(h[i].st);
    }
    assert_int_equal(h[0].failed + h[1].failed, 0);
    if (strcmp(g.ops->name, "postgres") == 0)
        assert_int_equal(h[0].busy + h[1].busy, 0);
    assert_int_equal(hit(g.st, k, 1717243200, T0), h[0].ok + h[1].ok + 1);
}

/* Windows before the cutoff go; the cutoff's own window and later stay. */
static void test_store_ratelimit_purge(void **state)
{
    struct arena *a = *state;
    const char *k = uniq(a, "192.0.2.1");
    struct err err = ERR_INIT;
    int64_t deleted = -1;

    hit(g.st, k, 60, T0);
    hit(g.st, k, 120, T0);
    hit(g.st, k, 120, T0);
    hit(g.st, k, 180, T0);
    hit(g.st, k, 180, T0);
    assert_int_equal(store_ratelimit_purge(g.st, 180, &deleted, &err), 0);
    assert_true(deleted >= 2);   /* ours, and any an earlier run left that old */
    assert_int_equal(hit(g.st, k, 60, T0), 1);
    assert_int_equal(hit(g.st, k, 120, T0), 1);
    assert_int_equal(hit(g.st, k, 180, T0), 3);
    assert_int_equal(store_ratelimit_purge(g.st, 240, &deleted, &err), 0);
    assert_true(deleted >= 3);
    assert_int_equal(store_ratelimit_purge(g.st, 240, &deleted, &err), 0);
    assert_int_equal(deleted, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_store_ratelimit_hit_counts_per_window),
        T(test_store_ratelimit_hit_two_connections),
        T(test_store_ratelimit_hit_concurrent),
        T(test_store_ratelimit_purge),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
