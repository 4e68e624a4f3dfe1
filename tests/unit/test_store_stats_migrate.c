/* test_store_stats_migrate.c - PostgreSQL's step subject_stats_per_statement (issue 22) on a
 * database the step before it made: rows written under step 14's row triggers, then the
 * migration, then writes of every shape the statement triggers see (one row per statement,
 * many rows in one INSERT … SELECT, episodes of new and known sessions in one transaction,
 * deletes, a subject delete, a resolution closed); after each, subject_stats must equal a
 * count of the rows and nothing may be left pending. SQLite has no such step: skipped there
 * (its counters are checked by test_store_explorer). */
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
    size_t i;

    for (i = 0; i < postgres_migrations_count; i++)
        if (strcmp(postgres_migrations[i].name, "subject_stats_per_statement") == 0)
            return postgres_migrations[i].version - 1;
    return -1;
}

static int setup(void **state)
{
    const char *url = getenv("ENGRAM_TEST_DATABASE_URL");

    (void)state;
    if (!url || strncmp(url, "postgres", 8) != 0)
        return group_setup(state);
    return old_version() > 0 ? open_old_database(old_version()) : -1;
}

static int64_t sessions_of(struct arena *a, const char *subject)
{
    return raw_count(a, arena_printf(a,
                                     "SELECT session_count FROM subject_stats"
                                     " WHERE subject_id = %s",
                                     lit(a, subject)));
}

static void test_counters_across_the_step(void **state)
{
    struct arena *a = *state;
    const char *s1 = uniq(a, "one"), *s2 = uniq(a, "two"), *s3 = uniq(a, "three");
    struct err err = ERR_INIT;
    struct migrate_result mr;
    struct row_counts rc;
    struct episode eps[5];
    struct memory mems[3];
    int current, latest;
    size_t i;
    static const char *const changes[] = {
        "DELETE FROM episodes WHERE subject_id = %s AND session_id = 'z'",
        "DELETE FROM memories WHERE subject_id = %s AND content IN ('m1', 'm2', 'm3')",
        "UPDATE resolutions SET status = 'resolved' WHERE subject_id = %s AND session_id = 'q0'",
        "DELETE FROM resolutions WHERE subject_id = %s AND session_id = 'q2'",
    };

    if (is_sqlite())
        skip();
    /* step 14: row triggers */
    eps[0] = session_ep(NULL, s1, "x", T0);
    eps[1] = session_ep(NULL, s1, "x", T0 + SEC);
    eps[2] = session_ep(NULL, s1, "y", T0 + 2 * SEC);
    eps[3] = session_ep("ta", s2, "x", T0 + 3 * SEC);
    eps[4] = session_ep("ta", s2, NULL, T0 + 4 * SEC);
    assert_int_equal(store_episode_insert_many(g.st, eps, 5, &err), 0);
    mems[0] = make_mem_with(NULL, s1, "profile_fact", "a", "active", T0);
    mems[1] = make_mem_with(NULL, s1, "profile_fact", "b", "active", T0);
    mems[2] = make_mem_with("ta", s2, "profile_fact", "c", "active", T0);
    assert_int_equal(store_memory_insert_many(g.st, mems, 3, &err), 0);
    add_open_resolution(a, s1, "x");
    stats_counters_right(a);
    assert_int_equal(sessions_of(a, s1), 2);

    assert_int_equal(store_migrate(g.st, &mr, &err), 0);
    assert_int_equal(mr.from_version, old_version());
    assert_int_equal(store_schema_version(g.st, &current, &latest, &err), 0);
    assert_int_equal(current, latest);
    stats_counters_right(a);

    /* one transaction: a known session (x), a new one (z, two episodes), none; memories */
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    eps[0] = session_ep(NULL, s1, "x", T0 + 10 * SEC);
    eps[1] = session_ep(NULL, s1, "z", T0 + 11 * SEC);
    eps[2] = session_ep(NULL, s1, "z", T0 + 12 * SEC);
    eps[3] = session_ep(NULL, s1, NULL, T0 + 13 * SEC);
    assert_int_equal(store_episode_insert_many(g.st, eps, 4, &err), 0);
    mems[0] = make_mem_with(NULL, s1, "profile_fact", "d", "active", T0);
    mems[1] = make_mem_with(NULL, s1, "profile_fact", "e", "active", T0);
    assert_int_equal(store_memory_insert_many(g.st, mems, 2, &err), 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    stats_counters_right(a);
    assert_int_equal(sessions_of(a, s1), 3); /* x, y and z; no session is none */

    /* many rows in one statement: two sessions of three new episodes, memories, resolutions
     * one open and one not */
    raw_exec(a, arena_printf(a,
                             "INSERT INTO episodes (id, subject_id, source, type, payload,"
                             " session_id, created_at) SELECT gen_random_uuid(), %s, 'chat',"
                             " 'message', '{}', 'q' || (i %% 2), %s::timestamptz"
                             " + i * interval '1 second' FROM generate_series(1, 6) i",
                             lit(a, s3), ts_lit(a, T0)));
    raw_exec(a, arena_printf(a,
                             "INSERT INTO memories (id, subject_id, kind, content)"
                             " SELECT gen_random_uuid(), %s, 'profile_fact', 'm' || i"
                             " FROM generate_series(1, 7) i",
                             lit(a, s3)));
    raw_exec(a, arena_printf(a,
                             "INSERT INTO resolutions (id, subject_id, session_id, status)"
                             " VALUES (gen_random_uuid(), %s, 'q0', 'open'),"
                             " (gen_random_uuid(), %s, 'q1', 'resolved'),"
                             " (gen_random_uuid(), %s, 'q2', 'open')",
                             lit(a, s3), lit(a, s3), lit(a, s3)));
    stats_counters_right(a);
    assert_int_equal(sessions_of(a, s3), 2);
    assert_int_equal(raw_count(a, arena_printf(a,
                                               "SELECT open_sessions FROM subject_stats"
                                               " WHERE subject_id = %s",
                                               lit(a, s3))),
                     2);

    /* deletes: a session's episodes (recount), memories, a resolution closed, one deleted */
    for (i = 0; i < sizeof(changes) / sizeof(changes[0]); i++)
        raw_exec(a, arena_printf(a, changes[i], lit(a, i == 0 ? s1 : s3)));
    stats_counters_right(a);
    assert_int_equal(sessions_of(a, s1), 2);

    /* a subject delete takes its counters away */
    assert_int_equal(store_subject_delete(
                         g.st, &(struct store_scope){ .tenant = "ta", .subject = s2 }, &rc, &err),
                     0);
    assert_int_equal(rc.episodes, 2);
    stats_counters_right(a);
    assert_int_equal(raw_count(a, arena_printf(a,
                                               "SELECT count(*) FROM subject_stats"
                                               " WHERE subject_id = %s",
                                               lit(a, s2))),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counters_across_the_step, test_setup, test_teardown),
    };

    return cmocka_run_group_tests(tests, setup, close_old_database);
}
