/* test_store_admin.c - store contract tests for the operator's overview (tenant list, tenant
 * audit, usage windows, dashboard counts; spec/api.md §7.6) and the rows a starter pack owns
 * (§7.7), run unchanged on SQLite and on PostgreSQL. The database may hold other suites' rows,
 * so counts are checked as deltas, and tenant-filtered counts exactly (fresh tenants). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "store/store.h"
#include "util/ts.h"

#include "store_harness.h"   /* g, group and test setup, ids */

#define DAY (86400 * SEC)

static int listed(const struct string_rows *r, const char *t)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        if (strcmp(r->items[i], t) == 0)
            return (int)i;
    return -1;
}

static void tenants(struct arena *a, size_t limit, size_t offset, struct string_rows *out)
{
    struct err err = ERR_INIT;
    struct store_page pg = { limit, offset };

    assert_int_equal(store_tenant_list(g.st, a, &pg, out, &err), 0);
}

static void test_store_tenant_list(void **state)
{
    struct arena *a = *state;
    const char *t1 = uniq(a, "tl-a"), *t2 = uniq(a, "tl-b"), *tm = uniq(a, "tl-m");
    struct string_rows all, page;
    struct memory m;
    size_t i;

    add_ep(a, t2, uniq(a, "s"), T0);
    add_ep(a, t1, uniq(a, "s"), T0);
    add_ep(a, t1, uniq(a, "s"), T0);
    add_ep(a, NULL, uniq(a, "s"), T0);
    m = make_mem_with(tm, uniq(a, "s"), "profile_fact", "x", "active", T0);
    add_mem(&m);
    tenants(a, 100000, 0, &all);
    assert_int_equal(listed(&all, tm), -1);   /* memories alone make no tenant */
    assert_true(listed(&all, t1) >= 0 && listed(&all, t2) > listed(&all, t1));
    for (i = 0; i + 1 < all.n; i++)
        assert_string_not_equal(all.items[i], all.items[i + 1]);   /* distinct */
    tenants(a, 1, (size_t)listed(&all, t2), &page);
    assert_int_equal(page.n, 1);
    assert_string_equal(page.items[0], t2);
    tenants(a, 10, all.n, &page);
    assert_int_equal(page.n, 0);
}

static void usage(const char *tenant, int64_t now, struct usage_report *out)
{
    struct usage_query q = { tenant, now - now % DAY, now - 7 * DAY, now - 30 * DAY };
    struct err err = ERR_INIT;

    assert_int_equal(store_usage(g.st, &q, out, &err), 0);
}

static void expect_counts(const struct usage_counts *c, int64_t today, int64_t d7, int64_t d30,
                          int64_t total)
{
    assert_int_equal(c->today, today);
    assert_int_equal(c->d7, d7);
    assert_int_equal(c->d30, d30);
    assert_int_equal(c->total, total);
}

/* Rows of a fresh tenant, created now, 3, 10 and 60 days ago: each window counts its own. */
static void test_store_usage_windows(void **state)
{
    struct arena *a = *state;
    const char *t = uniq(a, "us"), *s1 = uniq(a, "s"), *s2 = uniq(a, "s");
    int64_t now = ts_now();
    struct usage_report u, all_before, all_after;
    struct memory m;

    usage(NULL, now, &all_before);
    add_ep(a, t, s1, now - SEC);
    add_ep(a, t, s1, now - 3 * DAY);
    add_ep(a, t, s2, now - 10 * DAY);
    add_ep(a, t, s2, now - 60 * DAY);
    add_ep(a, uniq(a, "other"), s1, now - SEC);
    m = make_mem_with(t, s1, "profile_fact", "x", "active", now - 3 * DAY);
    add_mem(&m);
    usage(t, now, &u);
    expect_counts(&u.episodes, 1, 2, 3, 4);
    expect_counts(&u.memories, 0, 1, 1, 1);
    expect_counts(&u.compile_jobs, 0, 0, 0, 0);
    expect_counts(&u.webhooks, 0, 0, 0, 0);
    assert_int_equal(u.active_7d, 1);
    assert_int_equal(u.active_30d, 2);
    assert_int_equal(u.active_total, 2);
    usage(NULL, now, &all_after);
    assert_int_equal(all_after.episodes.total - all_before.episodes.total, 5);
    assert_int_equal(all_after.episodes.today - all_before.episodes.today, 2);
    assert_int_equal(all_after.memories.d7 - all_before.memories.d7, 1);
    usage(uniq(a, "nobody"), now, &u);
    expect_counts(&u.episodes, 0, 0, 0, 0);
}

static void test_store_tenant_audit_and_overview(void **state)
{
    struct arena *a = *state;
    struct null_tenant_counts n0, n1;
    struct overview_counts o0, o1;
    struct health_cache_entry h = { "watch", 55, T0 };
    struct store_scope sc = { NULL, uniq(a, "ov"), 0 };
    struct err err = ERR_INIT;
    struct memory m;

    assert_int_equal(store_tenant_audit(g.st, &n0, &err), 0);
    assert_int_equal(store_overview(g.st, &o0, &err), 0);
    add_ep(a, NULL, sc.subject, T0);
    add_ep(a, NULL, sc.subject, T0 + SEC);
    add_ep(a, uniq(a, "t"), uniq(a, "ov"), T0);
    m = make_mem_with(NULL, sc.subject, "profile_fact", "x", "active", T0);
    add_mem(&m);
    assert_int_equal(store_tenant_audit(g.st, &n1, &err), 0);
    assert_int_equal(n1.episodes - n0.episodes, 2);
    assert_int_equal(n1.memories - n0.memories, 1);
    assert_int_equal(n1.compile_jobs - n0.compile_jobs, 0);
    assert_int_equal(store_overview(g.st, &o1, &err), 0);
    assert_int_equal(o1.episodes - o0.episodes, 3);
    assert_int_equal(o1.memories - o0.memories, 1);
    assert_int_equal(o1.subjects - o0.subjects, 2);
    assert_int_equal(o1.unknown - o0.unknown, 2);
    assert_int_equal(store_health_cache_put(g.st, &sc, &h, &err), 0);
    assert_int_equal(store_overview(g.st, &o0, &err), 0);
    assert_int_equal(o0.unknown, o1.unknown - 1);
    assert_int_equal(o0.watch, o1.watch + 1);
}

/* Owned rows: metadata.starter_pack_id = the pack or metadata.pack = the legacy name; the
 * newest owned row's metadata; the delete takes only those, in every tenant. */
static void test_store_pack_rows(void **state)
{
    struct arena *a = *state;
    const char *s = uniq(a, "pk");
    struct pack_owner o = { s, "the-pack", "legacy-pack" };
    struct episode e1 = make_ep(NULL, s, T0), e2 = make_ep("acme", s, T0 + SEC);
    struct episode e3 = make_ep(NULL, s, T0 + 2 * SEC), e4 = make_ep(NULL, s, T0);
    struct memory m1 = make_mem_with(NULL, s, "profile_fact", "x", "active", T0);
    struct memory m2 = make_mem_with(NULL, s, "profile_fact", "y", "active", T0);
    struct err err = ERR_INIT;
    struct row_counts del;
    struct pack_rows r;

    e1.metadata = "{\"starter_pack_id\":\"the-pack\",\"starter_pack_version\":\"1\"}";
    e2.metadata = "{\"pack\":\"legacy-pack\"}";
    e3.metadata = "{\"starter_pack_id\":\"the-pack\",\"starter_pack_version\":\"2\"}";
    e4.metadata = "{\"starter_pack_id\":\"another\"}";
    m1.metadata = "{\"starter_pack_id\":\"the-pack\"}";
    insert_ok(a, &e1);
    insert_ok(a, &e2);
    insert_ok(a, &e3);
    insert_ok(a, &e4);
    add_mem(&m1);
    add_mem(&m2);
    assert_int_equal(store_pack_rows(g.st, a, &o, &r, &err), 0);
    assert_int_equal(r.total.episodes, 4);
    assert_int_equal(r.owned.episodes, 3);
    assert_int_equal(r.total.memories, 2);
    assert_int_equal(r.owned.memories, 1);
    assert_non_null(r.newest_metadata);
    assert_non_null(strstr(r.newest_metadata, "\"starter_pack_version\":\"2\""));
    assert_int_equal(store_pack_rows_delete(g.st, &o, &del, &err), 0);
    assert_int_equal(del.episodes, 3);
    assert_int_equal(del.memories, 1);
    assert_int_equal(store_pack_rows(g.st, a, &o, &r, &err), 0);
    assert_int_equal(r.total.episodes, 1);
    assert_int_equal(r.owned.episodes, 0);
    assert_int_equal(r.total.memories, 1);
    assert_null(r.newest_metadata);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_store_tenant_list),
        T(test_store_usage_windows),
        T(test_store_tenant_audit_and_overview),
        T(test_store_pack_rows),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
