/* test_store_subject_days_migrate.c - the step subject_days (issue 16) on a database the step
 * before it made, on both backends: subjects written there (one in two tenants and none, on
 * several days), the step's backfill must equal a recount from subject_stats; then writes after
 * it (a newer day in another tenant of the same subject, same-day episodes, deletes of a pair's
 * newest episode and of a whole pair, an operator's tenant move, a memory-only pair) must keep
 * it equal, with nothing left pending on PostgreSQL. */
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

/* The (kind, tenant, day) buckets whose count differs from a recount of subject_stats: kind 1
 * distinct subjects at the newest day over their pairs, kind 2 pairs at their newest day. */
#define DAYS_WRONG(day, alias)                                                               \
    "SELECT count(*) FROM (SELECT kind, tk, day, sum(n) AS n FROM ("                         \
    " SELECT 2 AS kind, COALESCE(tenant_id, '') AS tk, " day " AS day, count(*) AS n"        \
    " FROM subject_stats WHERE episode_count > 0 GROUP BY 1, 2, 3"                           \
    " UNION ALL SELECT 1, '', d, count(*) FROM (SELECT max(" day ") AS d FROM subject_stats" \
    " WHERE episode_count > 0 GROUP BY subject_id) " alias " GROUP BY 1, 2, 3"               \
    " UNION ALL SELECT kind, tenant_key, day, -n FROM subject_days) w"                       \
    " GROUP BY 1, 2, 3 HAVING sum(n) <> 0) x"
static const char SQL_DAYS_WRONG_SQLITE[] = DAYS_WRONG("substr(last_episode_at, 1, 10)", "a");
static const char SQL_DAYS_WRONG_PG[] =
    DAYS_WRONG("(last_episode_at AT TIME ZONE 'UTC')::date", "a");

static int old_version(void)
{
    return version_before("subject_days");
}

static int setup(void **state)
{
    (void)state;
    return old_version() > 0 ? open_old_database(old_version()) : -1;
}

static void days_right(struct arena *a)
{
    stats_counters_right(a);
    assert_int_equal(raw_count(a, is_sqlite() ? SQL_DAYS_WRONG_SQLITE : SQL_DAYS_WRONG_PG), 0);
    if (!is_sqlite()) {
        assert_int_equal(raw_count(a, "SELECT count(*) FROM subject_days_pending"), 0);
        /* No unlogged sequence (such as an unlogged table's serial): a standby promoted by a
         * failover finds it empty and every nextval fails (tests/ha ha.6). */
        assert_int_equal(raw_count(a, "SELECT count(*) FROM pg_class WHERE relkind = 'S'"
                                      " AND relpersistence = 'u'"),
                         0);
    }
}

static int64_t subjects_on(struct arena *a, int kind, const char *tk, int64_t at)
{
    char day[TS_STR_LEN];

    ts_format_fixed(at, day, sizeof(day));
    day[10] = '\0';
    return raw_count(a, arena_printf(a,
                                     "SELECT COALESCE(sum(n), 0) FROM subject_days WHERE kind = %d"
                                     " AND tenant_key = %s AND day = '%s'",
                                     kind, lit(a, tk), day));
}

static void insert(struct arena *a, const char *tenant, const char *subject, int64_t at)
{
    struct err err = ERR_INIT;
    struct episode ep = make_ep(tenant, subject, at);

    (void)a;
    assert_int_equal(store_episode_insert_many(g.st, &ep, 1, &err), 0);
}

static void test_backfill_and_writes_across_the_step(void **state)
{
    struct arena *a = *state;
    const char *s1 = uniq(a, "multi"), *s2 = uniq(a, "one"), *s3 = uniq(a, "mem");
    struct err err = ERR_INIT;
    struct migrate_result mr;
    struct memory mem;
    int current, latest;

    /* s1: no tenant on day 0, tenant ta on day 2; s2: tenant ta on day 1 (twice) */
    insert(a, NULL, s1, T0);
    insert(a, "ta", s1, T0 + 2 * DAY);
    insert(a, "ta", s2, T0 + DAY);
    insert(a, "ta", s2, T0 + DAY + SEC);

    assert_int_equal(store_migrate(g.st, &mr, &err), 0);
    assert_int_equal(mr.from_version, old_version());
    assert_int_equal(store_schema_version(g.st, &current, &latest, &err), 0);
    assert_int_equal(current, latest);
    days_right(a);
    assert_int_equal(subjects_on(a, 1, "", T0 + 2 * DAY), 1); /* s1 at its newest day */
    assert_int_equal(subjects_on(a, 1, "", T0), 0);
    assert_int_equal(subjects_on(a, 2, "", T0), 1); /* its tenant-less pair */

    /* a newer day in the tenant-less pair moves s1 to it; the same day again changes nothing */
    insert(a, NULL, s1, T0 + 3 * DAY);
    days_right(a);
    assert_int_equal(subjects_on(a, 1, "", T0 + 3 * DAY), 1);
    assert_int_equal(subjects_on(a, 1, "", T0 + 2 * DAY), 0);
    insert(a, NULL, s1, T0 + 3 * DAY + SEC);
    days_right(a);

    /* deleting the pair's newest episodes brings s1 back to its other pair's day */
    raw_exec(a, arena_printf(a,
                             "DELETE FROM episodes WHERE subject_id = %s AND tenant_id IS NULL"
                             " AND created_at > %s",
                             lit(a, s1), ts_lit(a, T0 + DAY)));
    days_right(a);
    assert_int_equal(subjects_on(a, 1, "", T0 + 2 * DAY), 1);

    /* an operator moves s2 to tenant tb, then s1's tenant-less episode into tenant ta */
    raw_exec(a, arena_printf(a, "UPDATE episodes SET tenant_id = 'tb' WHERE subject_id = %s",
                             lit(a, s2)));
    days_right(a);
    assert_int_equal(subjects_on(a, 2, "tb", T0 + DAY), 1);
    assert_int_equal(subjects_on(a, 2, "ta", T0 + DAY), 0);
    raw_exec(a, arena_printf(a, "UPDATE episodes SET tenant_id = 'ta' WHERE subject_id = %s",
                             lit(a, s1)));
    days_right(a);

    /* a memory-only pair is no subject with episodes; a created_at moved back moves the day */
    mem = make_mem_with("ta", s3, "profile_fact", "m", "active", T0);
    assert_int_equal(store_memory_insert_many(g.st, &mem, 1, &err), 0);
    days_right(a);
    raw_exec(a, arena_printf(a, "UPDATE episodes SET created_at = %s WHERE subject_id = %s",
                             ts_lit(a, T0 - 5 * DAY), lit(a, s2)));
    days_right(a);
    assert_int_equal(subjects_on(a, 1, "", T0 - 5 * DAY), 1);

    /* whole subjects deleted */
    raw_exec(a, arena_printf(a, "DELETE FROM episodes WHERE subject_id IN (%s, %s)", lit(a, s1),
                             lit(a, s2)));
    days_right(a);
    assert_int_equal(subjects_on(a, 1, "", T0 + 2 * DAY), 0);
    assert_int_equal(subjects_on(a, 1, "", T0 - 5 * DAY), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backfill_and_writes_across_the_step, test_setup,
                                        test_teardown),
    };

    return cmocka_run_group_tests(tests, setup, close_old_database);
}
