/* test_store_cleanup.c - the store contract suite for cleanup (candidates by literal prefix,
 * age, tenant and reserved prefixes; the purge of a subject's rows) and the maintenance lock,
 * run unchanged on every backend. ENGRAM_TEST_DATABASE_URL picks the database (default: a
 * fresh SQLite temp file). Every test makes its own subjects and tenants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/ts.h"

#include "store_harness.h"   /* g, group and test setup, ids, episode and memory rows */
#include "store_raw.h"       /* raw SQL beneath the interface, resolution and memory rows */

/* ---- cleanup ---- */

/* The candidates for prefix whose subject contains mark, as "tenant|subject;" lines in
 * order (tenant "-" for none). */
static const char *candidates(struct arena *a, const char *prefix, int all_tenants,
                              const char *tenant, int64_t cutoff, size_t limit,
                              const char *mark)
{
    struct subject_ref_rows cr;
    struct err err = ERR_INIT;
    struct subject_ref *refs;
    const char *s = "";
    size_t n, i;

    assert_int_equal(store_cleanup_candidates(g.st, a,
                                              &(struct cleanup_query){ .prefix = prefix,
                                                                       .tenant = tenant,
                                                                       .all_tenants = all_tenants,
                                                                       .cutoff = cutoff,
                                                                       .limit = limit },
                                              &cr, &err), 0);
    refs = cr.items;
    n = cr.n;
    assert_true(n <= limit);
    for (i = 0; i < n; i++) {
        if (!strstr(refs[i].subject_id, mark))
            continue;
        s = arena_printf(a, "%s%s|%s;", s, refs[i].tenant_id ? refs[i].tenant_id : "-",
                         refs[i].subject_id);
    }
    return s;
}

static void add_mem_aged(const char *tenant, const char *subject, int64_t created,
                         int64_t updated)
{
    struct memory m = make_mem(tenant, subject, created);

    m.updated_at = updated;
    add_mem(&m);
}

static void test_store_cleanup_literal_prefix(void **state)
{
    struct arena *a = *state;
    const char *p = uniq(a, "cl");
    const int64_t cutoff = T0 + DAY;
    const char *live = arena_printf(a, "%s/live_1", p), *lives = arena_printf(a, "%s/lives-x", p);
    const char *pct = arena_printf(a, "%s/a%%b", p), *axb = arena_printf(a, "%s/axb", p);
    const char *und = arena_printf(a, "%s/a_c", p), *abc = arena_printf(a, "%s/abc", p);
    const char *e1 = arena_printf(a, "%s/edge-1", p), *e2 = arena_printf(a, "%s/edge-2", p);
    const char *fresh = arena_printf(a, "%s/fresh", p);

    add_ep(a, NULL, live, T0);
    add_ep(a, NULL, lives, T0);
    add_ep(a, NULL, pct, T0);
    add_ep(a, NULL, axb, T0);
    add_ep(a, NULL, und, T0);
    add_ep(a, NULL, abc, T0);
    add_ep(a, NULL, e1, cutoff);       /* not strictly before the cutoff */
    add_ep(a, NULL, e2, cutoff - 1);
    add_ep(a, NULL, fresh, T0);
    add_ep(a, NULL, fresh, cutoff + DAY);

    assert_string_equal(candidates(a, arena_printf(a, "%s/live_", p), 1, NULL, cutoff, 100, p),
                        arena_printf(a, "-|%s;", live));
    assert_string_equal(candidates(a, arena_printf(a, "%s/a%%", p), 1, NULL, cutoff, 100, p),
                        arena_printf(a, "-|%s;", pct));
    assert_string_equal(candidates(a, arena_printf(a, "%s/a_", p), 1, NULL, cutoff, 100, p),
                        arena_printf(a, "-|%s;", und));
    assert_string_equal(candidates(a, arena_printf(a, "%s/edge", p), 1, NULL, cutoff, 100, p),
                        arena_printf(a, "-|%s;", e2));
    /* Byte order ('%' < '_' < 'a' < 'e' < 'f' < 'l'), and the limit cuts that order. */
    assert_string_equal(candidates(a, arena_printf(a, "%s/", p), 1, NULL, cutoff, 100, p),
                        arena_printf(a, "-|%s;-|%s;-|%s;-|%s;-|%s;-|%s;-|%s;", pct, und, abc,
                                     axb, e2, live, lives));
    assert_string_equal(candidates(a, arena_printf(a, "%s/", p), 1, NULL, cutoff, 2, p),
                        arena_printf(a, "-|%s;-|%s;", pct, und));
    assert_string_equal(candidates(a, arena_printf(a, "%s/zzz", p), 1, NULL, cutoff, 100, p),
                        "");
}

/* A pair's age is its newest episode, or without episodes its newest memory update. */
static void test_store_cleanup_memory_only_pairs(void **state)
{
    struct arena *a = *state;
    const char *p = uniq(a, "clm");
    const int64_t cutoff = T0 + DAY;
    const char *old = arena_printf(a, "%s/mem-old", p), *upd = arena_printf(a, "%s/mem-upd", p);
    const char *eps_new = arena_printf(a, "%s/eps-new", p);
    const char *eps_old = arena_printf(a, "%s/eps-old", p);

    add_mem_aged(NULL, old, T0, T0);
    add_mem_aged(NULL, old, T0, T0 + 5);
    add_mem_aged(NULL, upd, T0, cutoff + 1);          /* created long ago, updated since */
    add_ep(a, NULL, eps_new, cutoff + DAY);
    add_mem_aged(NULL, eps_new, T0, T0);
    add_ep(a, NULL, eps_old, T0);
    add_mem_aged(NULL, eps_old, T0, cutoff + DAY);    /* episodes decide, not memories */
    assert_string_equal(candidates(a, p, 1, NULL, cutoff, 100, p),
                        arena_printf(a, "-|%s;-|%s;", eps_old, old));
}

static void test_store_cleanup_tenants(void **state)
{
    struct arena *a = *state;
    const char *p = uniq(a, "clt");
    const char *subject = arena_printf(a, "%s/k", p), *tx = uniq(a, "tx"), *ty = uniq(a, "ty");
    const char *tm = uniq(a, "tm");
    const int64_t cutoff = T0 + DAY;

    add_ep(a, tx, subject, T0);
    add_ep(a, NULL, subject, T0);
    add_ep(a, ty, subject, cutoff + DAY);
    add_mem_aged(tm, subject, T0, T0);                /* a memory-only pair of a 4th space */
    add_mem_aged(ty, subject, T0, T0);
    assert_string_equal(candidates(a, p, 1, NULL, cutoff, 100, p),
                        arena_printf(a, "-|%s;%s|%s;%s|%s;", subject, tm, subject, tx,
                                     subject));
    assert_string_equal(candidates(a, p, 0, tx, cutoff, 100, p),
                        arena_printf(a, "%s|%s;", tx, subject));
    assert_string_equal(candidates(a, p, 0, NULL, cutoff, 100, p),
                        arena_printf(a, "-|%s;", subject));
    assert_string_equal(candidates(a, p, 0, tm, cutoff, 100, p),
                        arena_printf(a, "%s|%s;", tm, subject));
    assert_string_equal(candidates(a, p, 0, ty, cutoff, 100, p), "");
}

/* `_snapshot/` never; `_bootstrap_tmp/` only when the prefix names it. */
static void test_store_cleanup_reserved(void **state)
{
    struct arena *a = *state;
    const char *p = uniq(a, "clr");
    const char *snap = arena_printf(a, "_snapshot/%s/v1", p);
    const char *boot = arena_printf(a, "_bootstrap_tmp/%s", p);
    const int64_t cutoff = T0 + DAY;

    add_ep(a, NULL, snap, T0);
    add_mem_aged(NULL, snap, T0, T0);
    add_ep(a, NULL, boot, T0);
    assert_string_equal(candidates(a, arena_printf(a, "_snapshot/%s", p), 1, NULL, cutoff, 1000,
                                   p), "");
    assert_string_equal(candidates(a, "_snapshot/", 1, NULL, cutoff, 100000, p), "");
    assert_string_equal(candidates(a, "_", 1, NULL, cutoff, 100000, p), "");
    assert_string_equal(candidates(a, "_boot", 1, NULL, cutoff, 100000, p), "");
    assert_string_equal(candidates(a, "_bootstrap_tmp", 1, NULL, cutoff, 100000, p), "");
    assert_string_equal(candidates(a, "_bootstrap_tmp/", 1, NULL, cutoff, 100000, p),
                        arena_printf(a, "-|%s;", boot));
    assert_string_equal(candidates(a, boot, 1, NULL, cutoff, 1000, p),
                        arena_printf(a, "-|%s;", boot));
}

/* ---- purge ---- */

static int64_t count_health(struct arena *a, const char *subject)
{
    return raw_count(a, arena_printf(a, "SELECT count(*) FROM subject_health_cache"
                                        " WHERE subject_id = %s", lit(a, subject)));
}

static void add_health(struct arena *a, const char *tenant, const char *subject)
{
    raw_exec(a, arena_printf(a, "INSERT INTO subject_health_cache (subject_id, tenant_id,"
                                " last_state, last_score, updated_at) VALUES (%s, %s, 'healthy',"
                                " 90, %s)", lit(a, subject), lit(a, tenant), ts_lit(a, T0)));
}

/* subject_delete takes every row of the pair: episodes, memories, resolutions and the
 * health cache (it once left resolutions behind, which came back when the id was reused). */
static void test_store_subject_delete_every_table(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "purge"), *tp = uniq(a, "tp"), *to = uniq(a, "to");
    struct row_counts n = { -1, -1, -1 };
    struct err err = ERR_INIT;
    struct memory m;
    int i;
    const struct store_scope in_tp = { .tenant = tp, .subject = subject };

    for (i = 0; i < 2; i++)
        add_ep(a, tp, subject, T0 + i);
    for (i = 0; i < 3; i++) {
        m = make_mem(tp, subject, T0 + i);
        add_mem(&m);
    }
    add_ep(a, to, subject, T0);
    m = make_mem(to, subject, T0);
    add_mem(&m);
    add_resolution(a, subject, &(struct res_row){ new_id(a), "s1", tp, "open", NULL, TS_NULL,
                                                  "{}", T0, T0 });
    add_resolution(a, subject, &(struct res_row){ new_id(a), "s2", to, "open", NULL, TS_NULL,
                                                  "{}", T0, T0 });
    add_health(a, tp, subject);
    add_health(a, to, subject);

    /* Rolled back with the caller's transaction: nothing goes. */
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_subject_delete(g.st, &in_tp, &n, &err), 0);
    assert_int_equal(n.episodes, 2);
    store_tx_rollback(g.st);
    assert_total(subject, 3, 4);

    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_subject_delete(g.st, &in_tp, &n, &err), 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    assert_int_equal(n.episodes, 2);
    assert_int_equal(n.memories, 3);
    assert_int_equal(n.resolutions, 1);
    assert_total(subject, 1, 1);   /* the other tenant's rows stay */
    assert_int_equal(count_resolutions(a, subject), 1);
    assert_int_equal(count_health(a, subject), 1);

    assert_int_equal(store_subject_delete(g.st, &in_tp, &n, &err), 0);
    assert_int_equal(n.episodes + n.memories + n.resolutions, 0);

    /* Outside a transaction (its own): the other tenant's rows, every table. */
    assert_int_equal(store_subject_delete(g.st,
                                          &(struct store_scope){ .tenant = to, .subject = subject },
                                          &n, &err), 0);
    assert_int_equal(n.episodes, 1);
    assert_int_equal(n.memories, 1);
    assert_int_equal(n.resolutions, 1);
    assert_total(subject, 0, 0);
    assert_int_equal(count_resolutions(a, subject), 0);
    assert_int_equal(count_health(a, subject), 0);
}

/* ---- the maintenance lock ---- */

static void test_store_maintenance_lock(void **state)
{
    struct err err = ERR_INIT;
    int got = -1;
    store *other;

    (void)state;
    assert_int_equal(store_open(g.ops, g.conninfo, &other, &err), 0);
    assert_int_equal(store_maintenance_trylock(g.st, &got, &err), 0);
    assert_int_equal(got, 1);
    assert_int_equal(store_maintenance_trylock(other, &got, &err), 0);
    assert_int_equal(got, is_sqlite() ? 1 : 0);   /* PostgreSQL: one holder per cluster */
    if (got)
        assert_int_equal(store_maintenance_unlock(other, &err), 0);
    /* A session lock: a transaction ending does not release it. */
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    assert_int_equal(store_maintenance_trylock(other, &got, &err), 0);
    assert_int_equal(got, is_sqlite() ? 1 : 0);
    if (got)
        assert_int_equal(store_maintenance_unlock(other, &err), 0);

    assert_int_equal(store_maintenance_unlock(g.st, &err), 0);
    assert_int_equal(store_maintenance_trylock(other, &got, &err), 0);
    assert_int_equal(got, 1);
    assert_int_equal(store_maintenance_trylock(g.st, &got, &err), 0);
    assert_int_equal(got, is_sqlite() ? 1 : 0);
    if (got)
        assert_int_equal(store_maintenance_unlock(g.st, &err), 0);
    assert_int_equal(store_maintenance_unlock(other, &err), 0);
    store_close(other);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_store_cleanup_literal_prefix),
        T(test_store_cleanup_memory_only_pairs),
        T(test_store_cleanup_tenants),
        T(test_store_cleanup_reserved),
        T(test_store_subject_delete_every_table),
        T(test_store_maintenance_lock),
    };

    return cmocka_run_group_tests(tests, group_setup, snap_group_teardown);
}
