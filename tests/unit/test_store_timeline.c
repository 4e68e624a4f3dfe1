/* test_store_timeline.c - the store contract suite for episode occurred_at and the filtered
 * timeline read (episode_list_window): written only against store.h, so it runs unchanged on
 * every backend. ENGRAM_TEST_DATABASE_URL picks the database (default: a fresh SQLite temp
 * file). Every test makes its own subject and tenant ids, so a shared database is fine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/ts.h"

#include "store_harness.h" /* g, group and test setup, ids, episode and memory rows */

#define HOUR (3600 * SEC)

/* An episode of type `type` created at created, happened at occurred (TS_NULL: not said). */
static struct episode put(struct arena *a, const char *tenant, const char *subject,
                          const char *type, int64_t created, int64_t occurred)
{
    struct episode ep = make_ep(tenant, subject, created);

    ep.type = type;
    ep.occurred_at = occurred;
    insert_ok(a, &ep);
    return ep;
}

static size_t window(struct arena *a, const struct store_scope *sc, const struct episode_window *w,
                     struct episode **out)
{
    struct err err = ERR_INIT;
    struct episode_rows rows = { NULL, 99 };

    assert_int_equal(store_episode_list_window(g.st, a, sc, w, &rows, &err), 0);
    assert_non_null(rows.items);
    *out = rows.items;
    return rows.n;
}

/* occurred_at goes in and comes out exactly; NULL stays NULL; other reads carry it too. */
static void test_store_occurred_at_round_trip(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "occ");
    struct episode e1 = put(a, NULL, subject, "m", T0, T0 - 5 * HOUR + 1);
    struct episode e2 = put(a, NULL, subject, "m", T0 + 1, TS_NULL);
    const struct store_scope sc = { .subject = subject };
    struct err err = ERR_INIT;
    struct episode_rows rows;

    assert_int_equal(
        store_episode_list(g.st, a, &sc, &(struct store_page){ .limit = 10 }, &rows, &err), 0);
    assert_int_equal(rows.n, 2);
    assert_string_equal(rows.items[0].id, e1.id);
    assert_true(rows.items[0].occurred_at == T0 - 5 * HOUR + 1);
    assert_string_equal(rows.items[1].id, e2.id);
    assert_true(rows.items[1].occurred_at == TS_NULL);
    assert_int_equal(store_episode_list_recent(g.st, a, &sc, 1, &rows, &err), 0);
    assert_true(rows.n == 1 && rows.items[0].occurred_at == TS_NULL);
}

/* The window: bounds inclusive on COALESCE(occurred_at, created_at), that order, the limit. */
static void test_store_episode_window_bounds(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "win");
    struct episode late = put(a, NULL, subject, "m", T0, T0 + 3 * HOUR);
    struct episode none = put(a, NULL, subject, "m", T0 + 2 * HOUR, TS_NULL);
    struct episode early = put(a, NULL, subject, "m", T0 + 4 * HOUR, T0 + HOUR);
    const struct store_scope sc = { .subject = subject };
    struct episode_window w = { .since = TS_NULL, .until = TS_NULL, .limit = 10 };
    struct episode *eps;

    assert_int_equal(window(a, &sc, &w, &eps), 3);
    assert_string_equal(eps[0].id, early.id);
    assert_string_equal(eps[1].id, none.id);
    assert_string_equal(eps[2].id, late.id);
    w.since = T0 + 2 * HOUR; /* inclusive: `none` sits exactly on it */
    assert_int_equal(window(a, &sc, &w, &eps), 2);
    assert_string_equal(eps[0].id, none.id);
    w.until = T0 + 3 * HOUR - 1;
    assert_int_equal(window(a, &sc, &w, &eps), 1);
    assert_string_equal(eps[0].id, none.id);
    w.since = TS_NULL;
    w.until = T0 + HOUR;
    assert_int_equal(window(a, &sc, &w, &eps), 1);
    assert_string_equal(eps[0].id, early.id);
    w.until = TS_NULL;
    w.limit = 2;
    assert_int_equal(window(a, &sc, &w, &eps), 2);
    assert_string_equal(eps[1].id, none.id);
}

/* kinds filters on type; tenants stay apart; equal times keep insertion order. */
static void test_store_episode_window_kinds_tenants(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "kinds"), *tenant = uniq(a, "tn");
    struct episode n1 = put(a, NULL, subject, "note", T0, T0);
    struct episode c1 = put(a, NULL, subject, "chat \"q\"", T0, T0);
    struct episode n2 = put(a, NULL, subject, "note", T0 - HOUR, T0);
    struct episode t1 = put(a, tenant, subject, "note", T0, T0);
    struct store_scope sc = { .subject = subject };
    struct episode_window w = {
        .since = TS_NULL, .until = TS_NULL, .kinds_json = "[\"note\"]", .limit = 10
    };
    struct episode *eps;

    assert_int_equal(window(a, &sc, &w, &eps), 2);
    assert_string_equal(eps[0].id, n1.id);
    assert_string_equal(eps[1].id, n2.id);
    w.kinds_json = "[\"note\",\"chat \\\"q\\\"\"]";
    assert_int_equal(window(a, &sc, &w, &eps), 3);
    assert_string_equal(eps[1].id, c1.id);
    w.kinds_json = "[\"other\"]";
    assert_int_equal(window(a, &sc, &w, &eps), 0);
    w.kinds_json = NULL;
    sc.tenant = tenant;
    assert_int_equal(window(a, &sc, &w, &eps), 1);
    assert_string_equal(eps[0].id, t1.id);
    sc.subject = uniq(a, "nobody");
    assert_int_equal(window(a, &sc, &w, &eps), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_store_occurred_at_round_trip),
        T(test_store_episode_window_bounds),
        T(test_store_episode_window_kinds_tenants),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
