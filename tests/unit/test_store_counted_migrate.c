/* test_store_counted_migrate.c - the step episodes_counted (issue 22; PostgreSQL step 21) on a
 * database the step before it made: rows written there through the triggers, then the step,
 * then every way the store inserts episodes, alone and in transactions (committed and rolled
 * back, several pairs in one transaction, idempotent replays, sessions new and repeated,
 * quoting in the ids), and an INSERT that is not the store's (an operator's, or an import's):
 * subject_stats must equal a count of the rows, usage_daily the episodes per (tenant, day),
 * every pair its context_gen row with a new generation after each write, and nothing stays
 * pending. SQLite has no such step (its triggers keep the counters): there the same writes run
 * on the latest schema, so the suite says the same thing on both backends. */
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

#include "store_harness.h"
#include "store_raw.h"
#include "store_migrate.h"

/* The version before the step on PostgreSQL; 0 on SQLite (no such step: the latest). Read
 * before the database is open. */
static int old_version(void)
{
    const char *url = getenv("ENGRAM_TEST_DATABASE_URL");
    size_t i;

    if (!url || strncmp(url, "postgres", 8) != 0)
        return 0;
    for (i = 0; i < postgres_migrations_count; i++)
        if (strcmp(postgres_migrations[i].name, "episodes_counted") == 0)
            return postgres_migrations[i].version - 1;
    return -1;
}

static int setup(void **state)
{
    int v = old_version();

    if (v == 0)
        return group_setup(state);
    return v > 0 ? open_old_database(v) : -1;
}

static int teardown(void **state)
{
    return old_version() == 0 ? group_teardown(state) : close_old_database(state);
}

/* (tenant, day) pairs whose usage_daily episode count differs from the episodes, both ways. */
static const char SQL_USAGE_WRONG_PG[] =
    "SELECT count(*) FROM (SELECT COALESCE(tenant_id, '') AS t,"
    " (created_at AT TIME ZONE 'UTC')::date AS d, count(*) AS n FROM episodes GROUP BY 1, 2) e"
    " FULL JOIN (SELECT tenant_key, day, sum(n) AS n FROM usage_daily WHERE kind = 1"
    " GROUP BY 1, 2) u ON u.tenant_key = e.t AND u.day = e.d WHERE u.n IS DISTINCT FROM e.n";

/* The generation of (subject, tenant key), or -1 without a row. */
static int64_t gen_of(struct arena *a, const char *subject, const char *tenant)
{
    const char **row = raw_row(a, arena_printf(a, "SELECT gen FROM context_gen WHERE"
                                                  " subject_id = %s AND tenant_key = %s",
                                               lit(a, subject), lit(a, tenant ? tenant : "")),
                               1);

    return row ? strtoll(row[0], NULL, 10) : -1;
}

/* Every counter right, nothing pending, every pair with episodes a generation. */
static void counters_right(struct arena *a)
{
    stats_counters_right(a);
    assert_int_equal(raw_count(a, "SELECT count(*) FROM (SELECT DISTINCT subject_id,"
                                  " COALESCE(tenant_id, '') AS t FROM episodes) e"
                                  " WHERE NOT EXISTS (SELECT 1 FROM context_gen g WHERE"
                                  " g.subject_id = e.subject_id AND g.tenant_key = e.t)"),
                     0);
    if (is_sqlite())
        return;
    assert_int_equal(raw_count(a, SQL_USAGE_WRONG_PG), 0);
    assert_int_equal(raw_count(a, "SELECT count(*) FROM usage_pending"), 0);
    assert_int_equal(raw_count(a, "SELECT count(*) FROM context_gen_pending"), 0);
}

static void insert_one(struct episode *ep, int want_inserted)
{
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    int inserted = -1;

    assert_int_equal(store_episode_insert(g.st, a, ep, &inserted, &err), 0);
    assert_int_equal(inserted, want_inserted);
    arena_free(a);
}

static void test_counters_across_the_step(void **state)
{
    struct arena *a = *state;
    /* a quote-free id with the characters an array literal must escape */
    const char *s1 = arena_printf(a, "%s\"{x,y}\\", uniq(a, "one"));
    const char *s2 = uniq(a, "two"), *s3 = uniq(a, "three");
    struct err err = ERR_INIT;
    struct migrate_result mr;
    struct episode old[3], ep, many[4];
    struct arena *as[4];
    struct episode *ptrs[4];
    int inserted[4], current, latest, i;
    int64_t g1, g2, g3;

    /* before the step: the triggers count */
    old[0] = session_ep(NULL, s1, "x", T0);
    old[1] = session_ep("ta", s2, "x", T0 + SEC);
    old[2] = session_ep("ta", s2, NULL, T0 + 2 * SEC);
    assert_int_equal(store_episode_insert_many(g.st, old, 3, &err), 0);
    counters_right(a);
    if (old_version() > 0) {
        assert_int_equal(store_migrate(g.st, &mr, &err), 0);
        assert_int_equal(mr.from_version, old_version());
        assert_int_equal(store_schema_version(g.st, &current, &latest, &err), 0);
        assert_int_equal(current, latest);
    }
    counters_right(a);

    /* alone: without a session, with a session seen before and with a new one */
    g1 = gen_of(a, s1, NULL);
    ep = make_ep(NULL, s1, T0 + 3 * SEC);
    insert_one(&ep, 1);
    assert_true(gen_of(a, s1, NULL) > g1);
    ep = session_ep(NULL, s1, "x", T0 + 4 * SEC);
    insert_one(&ep, 1);
    ep = session_ep("ta", s2, "new", T0 - 86400 * SEC);   /* another day, older */
    insert_one(&ep, 1);
    counters_right(a);

    /* an idempotent replay counts nothing; the first of its key counts once */
    ep = make_ep("ta", s3, T0 + 5 * SEC);
    ep.idempotency_key = "k1";
    insert_one(&ep, 1);
    ep = make_ep("ta", s3, T0 + 6 * SEC);
    ep.idempotency_key = "k1";
    insert_one(&ep, 0);
    counters_right(a);

    /* one transaction, three pairs, sessions, a replay inside it: counted at commit */
    g1 = gen_of(a, s1, NULL);
    g2 = gen_of(a, s2, "ta");
    g3 = gen_of(a, s3, "ta");
    many[0] = session_ep("ta", s3, "y", T0 + 7 * SEC);
    many[1] = session_ep(NULL, s1, "z", T0 + 8 * SEC);
    many[2] = session_ep("ta", s2, "x", T0 + 9 * SEC);
    many[3] = make_ep("ta", s3, T0 + 10 * SEC);
    many[3].idempotency_key = "k1";
    for (i = 0; i < 4; i++) {
        as[i] = a;
        ptrs[i] = &many[i];
    }
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_episode_insert_group(g.st, as, ptrs, 4, inserted, &err), 0);
    assert_int_equal(inserted[0] + inserted[1] + inserted[2] + inserted[3], 3);
    ep = session_ep(NULL, s1, "z", T0 + 11 * SEC);
    insert_one(&ep, 1);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    counters_right(a);
    assert_true(gen_of(a, s1, NULL) > g1);
    assert_true(gen_of(a, s2, "ta") > g2);
    assert_true(gen_of(a, s3, "ta") > g3);

    /* a transaction rolled back leaves no count and no generation behind */
    g1 = gen_of(a, s1, NULL);
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    ep = session_ep(NULL, s1, "w", T0 + 12 * SEC);
    insert_one(&ep, 1);
    store_tx_rollback(g.st);
    counters_right(a);
    assert_int_equal(gen_of(a, s1, NULL), g1);

    /* an INSERT that is not the store's keeps the triggers */
    raw_exec(a, arena_printf(a, "INSERT INTO episodes (id, subject_id, tenant_id, session_id,"
                                " source, type, payload, created_at) VALUES ('%s', %s, 'tb',"
                                " 'q', 'chat', 'message', '{}', %s)",
                             new_id(a), lit(a, s2), ts_lit(a, T0 + 13 * SEC)));
    counters_right(a);
    assert_true(gen_of(a, s2, "tb") > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counters_across_the_step, test_setup,
                                        test_teardown),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
