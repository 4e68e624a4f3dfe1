/* test_store_stats_update_migrate.c - the step subject_stats_updates (issue 16) on a database
 * the step before it made, on both backends: rows written there, then an operator's UPDATEs
 * (tenant NULL -> one, a created_at moved back, a session renamed, a memory and an open
 * resolution moved to another tenant) that the older triggers did not follow, so the
 * counters drift; the migration must repair every pair, and the same kinds of UPDATEs after
 * it must keep subject_stats equal to a count of the rows (nothing left pending on
 * PostgreSQL). */
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

static int old_version(void)
{
    return version_before("subject_stats_updates");
}

static int setup(void **state)
{
    (void)state;
    return old_version() > 0 ? open_old_database(old_version()) : -1;
}

static int64_t wrong_pairs(struct arena *a)
{
    return raw_count(a, SQL_STATS_WRONG);
}

/* Every row of subject in table (and condition, "" or " AND …") gets the tenant to. */
static void set_tenant(struct arena *a, const char *table, const char *subject, const char *cond,
                       const char *to)
{
    raw_exec(a, arena_printf(a, "UPDATE %s SET tenant_id = %s WHERE subject_id = %s%s", table,
                             lit(a, to), lit(a, subject), cond));
}

/* An operator's fixes of subject s1 (no tenant) and s2 (tenant ta). */
static void operator_updates(struct arena *a, const char *s1, const char *s2, const char *to)
{
    set_tenant(a, "episodes", s1, " AND session_id = 'x'", to);
    set_tenant(a, "memories", s1, "", to);
    set_tenant(a, "resolutions", s1, "", to);
    /* s2's newest episode goes back before the others; its session is renamed */
    raw_exec(a, arena_printf(a,
                             "UPDATE episodes SET created_at = %s WHERE subject_id = %s"
                             " AND created_at = (SELECT max(created_at) FROM episodes"
                             " WHERE subject_id = %s)",
                             ts_lit(a, T0 - 86400 * SEC), lit(a, s2), lit(a, s2)));
    raw_exec(a, arena_printf(a,
                             "UPDATE episodes SET session_id = 'w' WHERE subject_id = %s"
                             " AND session_id = 'x'",
                             lit(a, s2)));
}

static void test_repair_and_updates_across_the_step(void **state)
{
    struct arena *a = *state;
    const char *s1 = uniq(a, "one"), *s2 = uniq(a, "two");
    struct err err = ERR_INIT;
    struct migrate_result mr;
    struct episode eps[6];
    struct memory mems[2];
    int current, latest;

    eps[0] = session_ep(NULL, s1, "x", T0);
    eps[1] = session_ep(NULL, s1, "x", T0 + SEC);
    eps[2] = session_ep(NULL, s1, "y", T0 + 2 * SEC);
    eps[3] = session_ep("ta", s2, "x", T0 + 3 * SEC);
    eps[4] = session_ep("ta", s2, "y", T0 + 4 * SEC);
    eps[5] = session_ep("ta", s2, "x", T0 + 5 * SEC);
    assert_int_equal(store_episode_insert_many(g.st, eps, 6, &err), 0);
    mems[0] = make_mem_with(NULL, s1, "profile_fact", "a", "active", T0);
    mems[1] = make_mem_with("ta", s2, "profile_fact", "b", "active", T0);
    assert_int_equal(store_memory_insert_many(g.st, mems, 2, &err), 0);
    add_open_resolution(a, s1, "x");
    stats_counters_right(a);

    /* before the step the counters do not follow: they drift */
    operator_updates(a, s1, s2, "tb");
    assert_true(wrong_pairs(a) > 0);

    assert_int_equal(store_migrate(g.st, &mr, &err), 0);
    assert_int_equal(mr.from_version, old_version());
    assert_int_equal(store_schema_version(g.st, &current, &latest, &err), 0);
    assert_int_equal(current, latest);
    stats_counters_right(a); /* repaired */
    assert_int_equal(raw_count(a, arena_printf(a,
                                               "SELECT session_count FROM subject_stats WHERE"
                                               " subject_id = %s AND tenant_id = 'ta'",
                                               lit(a, s2))),
                     2);

    /* after it they follow: the rows go back, then on to another tenant */
    set_tenant(a, "episodes", s1, "", NULL);
    set_tenant(a, "memories", s1, "", NULL);
    set_tenant(a, "resolutions", s1, "", NULL);
    stats_counters_right(a);
    assert_int_equal(raw_count(a, arena_printf(a,
                                               "SELECT count(*) FROM subject_stats"
                                               " WHERE subject_id = %s",
                                               lit(a, s1))),
                     1);
    raw_exec(a, arena_printf(a, "UPDATE episodes SET session_id = 'x' WHERE subject_id = %s",
                             lit(a, s2)));
    stats_counters_right(a);
    operator_updates(a, s1, s2, "tc");
    stats_counters_right(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_repair_and_updates_across_the_step, test_setup,
                                        test_teardown),
    };

    return cmocka_run_group_tests(tests, setup, close_old_database);
}
