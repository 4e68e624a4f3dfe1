/* test_store_search_fold_migrate.c - the PostgreSQL step subject_search_fold (issue 16) on a
 * database the step before it made: subjects written there (ids in both cases, non-ASCII
 * letters among them) must have their fold after the step (the column's backfill), the
 * explorer's search must answer what the database's own `subject_id ILIKE` answers, through
 * the indexes the step rebuilt (the trigram index and the sort indexes hold the fold), and a
 * subject written after the step has its fold too. SQLite has no such step (its LIKE folds
 * ASCII only and its search reads an FTS5 index): the test checks that and skips there. */
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

#define STEP "subject_search_fold"

static int is_pg_url(void)
{
    const char *url = getenv("ENGRAM_TEST_DATABASE_URL");

    return url && strncmp(url, "postgres", 8) == 0;
}

static int setup(void **state)
{
    if (!is_pg_url())
        return group_setup(state);
    return version_before(STEP) > 0 ? open_old_database(version_before(STEP)) : -1;
}

static void insert(const char *subject, int64_t at)
{
    struct err err = ERR_INIT;
    struct episode ep = make_ep("tfold", subject, at);

    assert_int_equal(store_episode_insert_many(g.st, &ep, 1, &err), 0);
}

/* The explorer's answer to search over tenant tfold as "id;id;..." in subject_id order, and
 * its total; the database's own ILIKE scan of the episodes in the same form. */
static const char *listed(struct arena *a, const char *search, int64_t *total)
{
    struct explorer_subject_query q = { .tenant = "tfold", .search = search, .has_open = -1,
                                        .sort = EXPLORER_SORT_SUBJECT, .limit = 100 };
    struct explorer_subject_rows rows;
    struct err err = ERR_INIT;
    const char *s = "";
    size_t i;

    assert_int_equal(store_explorer_subjects(g.st, a, &q, &rows, &err), 0);
    for (i = 0; i < rows.n; i++)
        s = arena_printf(a, "%s%s;", s, rows.items[i].subject_id);
    *total = rows.total;
    return s;
}

static const char *scanned(struct arena *a, const char *search, int64_t *n)
{
    const char **row = raw_row(
        a,
        arena_printf(a,
                     "SELECT COALESCE(string_agg(subject_id || ';', '' ORDER BY subject_id"
                     " COLLATE \"C\"), ''), count(*) FROM (SELECT DISTINCT subject_id"
                     " FROM episodes WHERE tenant_id = 'tfold'"
                     " AND subject_id ILIKE '%%' || %s || '%%') x",
                     lit(a, search)),
        2);

    *n = strtoll(row[1], NULL, 10);
    return row[0] ? row[0] : "";
}

static void search_right(struct arena *a)
{
    static const char *const patterns[] = { "a",   "A",  "é",   "É",   "σ",  "Σ", "ς", "ö",
                                            "Ö",   "x",  "-",   "%",   "_",  "ab", "AB",
                                            "ÉΣ",  "éσ", "aÖ-", "BÉσ", "zz", "b_", "a%Σ" };
    size_t i;

    for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        int64_t total, n;
        const char *got = listed(a, patterns[i], &total), *want = scanned(a, patterns[i], &n);

        assert_string_equal(got, want);
        assert_int_equal(total, n);
    }
}

static void test_fold_across_the_step(void **state)
{
    static const char *const before[] = { "ab-ÉΣ", "AB-éσ", "Aö-x", "aÖ-X", "bÉσ", "zz", "b_c" };
    struct arena *a = *state;
    struct err err = ERR_INIT;
    struct migrate_result mr;
    int current, latest;
    size_t i;

    if (!is_pg_url()) {
        for (i = 0; i < sqlite_migrations_count; i++)
            assert_string_not_equal(sqlite_migrations[i].name, STEP);
        skip();
    }
    for (i = 0; i < sizeof(before) / sizeof(before[0]); i++)
        insert(before[i], T0 + (int64_t)i * SEC);
    assert_int_equal(raw_count(a, "SELECT count(*) FROM information_schema.columns"
                                  " WHERE table_name = 'subject_stats'"
                                  " AND column_name = 'subject_fold'"),
                     0);

    assert_int_equal(store_migrate(g.st, &mr, &err), 0);
    assert_int_equal(mr.from_version, version_before(STEP));
    assert_int_equal(store_schema_version(g.st, &current, &latest, &err), 0);
    assert_int_equal(current, latest);
    assert_int_equal(raw_count(a, "SELECT count(*) FROM subject_stats"
                                  " WHERE subject_fold IS DISTINCT FROM lower(subject_id)"),
                     0);
    assert_int_equal(raw_count(a, "SELECT count(*) FROM subject_stats WHERE tenant_id = 'tfold'"),
                     7);
    /* the trigram index and every sort index read the fold */
    assert_int_equal(raw_count(a, "SELECT count(*) FROM pg_indexes WHERE tablename ="
                                  " 'subject_stats' AND indexdef LIKE '%subject_fold%'"
                                  " AND indexname IN ('ix_subject_stats_search',"
                                  " 'ix_subject_stats_last', 'ix_subject_stats_subject',"
                                  " 'ix_subject_stats_episodes', 'ix_subject_stats_memories')"),
                     5);
    search_right(a);

    /* written after the step: the generated column follows every writer */
    insert("AB-ΣΣ", T0 + 10 * SEC);
    insert("ab-öÖ", T0 + 11 * SEC);
    raw_exec(a, "DELETE FROM episodes WHERE tenant_id = 'tfold' AND subject_id = 'zz'");
    assert_int_equal(raw_count(a, "SELECT count(*) FROM subject_stats"
                                  " WHERE subject_fold IS DISTINCT FROM lower(subject_id)"),
                     0);
    search_right(a);
    stats_counters_right(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fold_across_the_step, test_setup, test_teardown),
    };

    return cmocka_run_group_tests(tests, setup, close_old_database);
}
