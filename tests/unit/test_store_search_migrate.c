/* test_store_search_migrate.c - issue 18's schema steps on a database an older release made:
 * a fresh database migrated only up to OLD_VERSION (the last step before the search engine),
 * memories written there with raw SQL, then the full migration; text search (the trigram
 * index), ranked full text (its word index) and the compact vector codes (memory_codes, with
 * their backfill) must then answer for those memories. ENGRAM_TEST_DATABASE_URL picks the
 * backend; on PostgreSQL the test makes its own database on that server (and drops it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/search.h"
#include "store/store.h"
#include "util/ts.h"

#include "store_harness.h"
#include "store_raw.h"
#include "store_migrate.h"

#define OLD_VERSION 10 /* the schema before issue 18's steps (search_text_index is 11) */
#define DIM 16
#define ROWS 120

static int mig_setup(void **state)
{
    (void)state;
    return open_old_database(OLD_VERSION);
}

/* A vector as a blob literal of its little-endian float32 bytes. */
static const char *vec_lit(struct arena *a, const float *v)
{
    char *hex = arena_alloc(a, 8 * DIM + 1);
    size_t k;

    for (k = 0; k < DIM; k++) {
        uint32_t u;

        memcpy(&u, &v[k], sizeof(u));
        snprintf(hex + 8 * k, 9, "%02x%02x%02x%02x", u & 0xff, u >> 8 & 0xff, u >> 16 & 0xff,
                 u >> 24);
    }
    return is_sqlite() ? arena_printf(a, "X'%s'", hex) : arena_printf(a, "'\\x%s'::bytea", hex);
}

static void test_old_database_gets_the_search_indexes(void **state)
{
    struct arena *a = *state;
    const char *subj = uniq(a, "old"), *words[] = { "harbour", "lights", "meadow", "river" };
    float vecs[ROWS][DIM], q[DIM];
    unsigned seed = 18;
    struct migrate_result mr;
    struct err err = ERR_INIT;
    struct memory *got, *exact;
    size_t n, nexact, i, k, want;
    int current, latest;

    for (i = 0; i < ROWS; i++) {
        for (k = 0; k < DIM; k++) {
            seed = seed * 1103515245u + 12345u;
            vecs[i][k] = (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
        }
        raw_exec(a, arena_printf(
                        a,
                        "INSERT INTO memories (id, subject_id, kind, content, valid_from, status,"
                        " embedding, created_at, updated_at) VALUES (%s, %s, 'profile_fact',"
                        " 'Row %zu: the %s at dusk', %s, %s, %s, %s, %s)",
                        lit(a, new_id(a)), lit(a, subj), i, words[i % 4],
                        ts_lit(a, T0 + (int64_t)i * SEC), i % 10 == 9 ? "'superseded'" : "'active'",
                        vec_lit(a, vecs[i]), ts_lit(a, T0 + (int64_t)i * SEC),
                        ts_lit(a, T0 + (int64_t)i * SEC)));
    }
    for (k = 0; k < DIM; k++)
        q[k] = vecs[7][k] + 0.01f;

    assert_int_equal(store_migrate(g.st, &mr, &err), 0);
    assert_int_equal(mr.from_version, OLD_VERSION);
    assert_int_equal(store_schema_version(g.st, &current, &latest, &err), 0);
    assert_int_equal(current, latest);

    /* text: "meadow" (indexed), newest first, active only */
    {
        struct search_query sq = { .subject_id = subj, .q = "MEADOW at", .limit = 100 };

        assert_int_equal(search_memories(a, g.st, NULL, &sq, &got, &n, &err), 0);
        for (i = ROWS, want = 0; i-- > 0;) {
            if (i % 4 != 2 || i % 10 == 9)
                continue;
            assert_true(want < n);
            assert_string_equal(got[want].content,
                                arena_printf(a, "Row %zu: the meadow at dusk", i));
            want++;
        }
        assert_int_equal(n, want);
    }
    /* ranked full text: the rows holding "river" (all of them hold "dusk") first */
    {
        struct search_query sq = {
            .subject_id = subj, .q = "river dusk", .limit = 100, .mode = SEARCH_MODE_BM25
        };

        for (i = 0, want = 0; i < ROWS; i++)
            want += i % 4 == 3 && i % 10 != 9; /* the active rows holding "river" */
        assert_int_equal(search_memories(a, g.st, NULL, &sq, &got, &n, &err), 0);
        assert_int_equal(n, 100); /* of ROWS - ROWS / 10 active rows: the limit */
        for (i = 0; i < n; i++)
            assert_int_equal(strstr(got[i].content, "river") != NULL, i < want);
    }
    /* compact vectors: the backfilled codes give the exact answer */
    assert_int_equal(search_nearest(a, g.st, NULL, subj, NULL, q, DIM, 5, &got, NULL, &n, &err), 0);
    assert_int_equal(
        search_nearest_exact(a, g.st, NULL, subj, NULL, q, DIM, 5, &exact, NULL, &nexact, &err), 0);
    assert_int_equal(n, 5);
    assert_int_equal(nexact, 5);
    for (i = 0; i < n; i++)
        assert_string_equal(got[i].id, exact[i].id);
    assert_string_equal(got[0].content, "Row 7: the river at dusk");
    assert_int_equal(raw_count(a, arena_printf(a,
                                               "SELECT count(*) FROM memory_codes"
                                               " WHERE subject_id = %s",
                                               lit(a, subj))),
                     ROWS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_old_database_gets_the_search_indexes, test_setup,
                                        test_teardown),
    };

    return cmocka_run_group_tests(tests, mig_setup, close_old_database);
}
