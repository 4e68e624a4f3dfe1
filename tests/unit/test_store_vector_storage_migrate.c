/* test_store_vector_storage_migrate.c - the PostgreSQL step vector_storage_external (issue
 * 22) on a database the step before it made, and the batch insert of memories
 * (store_memory_insert_many: one statement of array parameters per batch) on both backends.
 *
 * Before the step a vector that pglz can shrink is stored compressed; after it a new one is
 * stored as it is (no compression attempt), and the old row still reads back bit for bit. The
 * batch test checks every column of rows that mix what can be NULL (tenant, valid_to, vector)
 * and the order of more rows than one batch holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/ts.h"

#include "store_harness.h"
#include "store_raw.h"
#include "store_migrate.h"

#define DIM 1536

/* The version before the step on PostgreSQL; on SQLite (no such step) the latest version,
 * so that the batch test runs on a current database there. */
static int old_version(void)
{
    const char *url = getenv("ENGRAM_TEST_DATABASE_URL");
    size_t i;

    if (!url || strncmp(url, "postgres", 8) != 0)
        return sqlite_migrations[sqlite_migrations_count - 1].version;
    for (i = 1; i < postgres_migrations_count; i++)
        if (strcmp(postgres_migrations[i].name, "vector_storage_external") == 0)
            return postgres_migrations[i - 1].version;
    return -1;
}

static int setup(void **state)
{
    (void)state;
    return old_version() > 0 ? open_old_database(old_version()) : -1;
}

static struct memory vec_mem(struct arena *a, const char *subject, const float *vec)
{
    struct memory m = make_mem_with(NULL, subject, "profile_fact", "likes tea", "active", T0);

    (void)a;
    m.embedding = vec;
    m.embedding_dim = DIM;
    return m;
}

static int64_t stored_size(struct arena *a, const char *id)
{
    return raw_count(a, arena_printf(a, "SELECT pg_column_size(embedding) FROM memories"
                                        " WHERE id = %s", lit(a, id)));
}

static void assert_vector(struct arena *a, const char *id, const float *want)
{
    struct err err = ERR_INIT;
    struct memory *got = NULL;

    assert_int_equal(store_memory_get(g.st, a, NULL, id, &got, &err), 0);
    assert_non_null(got);
    assert_int_equal(got->embedding_dim, DIM);
    assert_memory_equal(got->embedding, want, DIM * sizeof(float));
}

static void test_vectors_stored_uncompressed_after_the_step(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "vec");
    const float *vec = test_vec(a, DIM, 3);   /* periodic: pglz shrinks it */
    struct err err = ERR_INIT;
    struct migrate_result mr;
    struct memory before, after;
    int current, latest;

    if (is_sqlite())
        skip();
    before = vec_mem(a, subject, vec);
    assert_int_equal(store_memory_insert_many(g.st, &before, 1, &err), 0);
    assert_true(stored_size(a, before.id) < DIM * 4);   /* compressed */
    assert_int_equal(raw_count(a, "SELECT count(*) FROM pg_attribute WHERE attname = 'embedding'"
                                  " AND attstorage = 'e' AND attrelid IN"
                                  " ('memories'::regclass, 'query_embedding_cache'::regclass)"),
                     0);

    assert_int_equal(store_migrate(g.st, &mr, &err), 0);
    assert_int_equal(mr.from_version, old_version());
    assert_int_equal(store_schema_version(g.st, &current, &latest, &err), 0);
    assert_int_equal(current, latest);
    assert_int_equal(raw_count(a, "SELECT count(*) FROM pg_attribute WHERE attname = 'embedding'"
                                  " AND attstorage = 'e' AND attrelid IN"
                                  " ('memories'::regclass, 'query_embedding_cache'::regclass)"),
                     2);

    after = vec_mem(a, subject, vec);
    assert_int_equal(store_memory_insert_many(g.st, &after, 1, &err), 0);
    assert_true(stored_size(a, after.id) >= DIM * 4);   /* as it is */
    assert_vector(a, before.id, vec);
    assert_vector(a, after.id, vec);
}

#define NBIG 1100   /* more rows than a batch (MEM_BATCH, 128) holds, and a last partial one */

static void test_batch_insert_every_column_and_order(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "batch");
    struct memory *ms = arena_alloc(a, NBIG * sizeof(*ms));
    struct err err = ERR_INIT;
    const char *want = "", **row;
    size_t i;

    for (i = 0; i < NBIG; i++) {
        ms[i] = make_mem_with(i % 3 == 0 ? "tb" : NULL, subject, i % 2 ? "episode_summary"
                                                                       : "profile_fact",
                              arena_printf(a, "row %zu: quote ' backslash \\ tab\t \xc3\xa9", i),
                              i % 5 == 4 ? "superseded" : "active", T0 + (int64_t)(i % 7) * SEC);
        ms[i].summary = i % 4 ? "" : "a summary";
        ms[i].confidence = 1.0 / (double)(i + 3);
        ms[i].valid_to = i % 5 == 4 ? T0 + DAY : TS_NULL;
        ms[i].source_episode_ids =
            i % 2 ? "[]" : arena_printf(a, "[\"%s\",\"%s\"]", new_id(a), new_id(a));
        ms[i].metadata = i % 3 ? "{}" : "{\"k\":[1,\"x\"]}";
        ms[i].sensitivity_labels = i % 6 ? "[]" : "[\"pii\"]";
        if (i % 4 == 1 || i == NBIG - 1) {
            ms[i].embedding = test_vec(a, DIM, (unsigned)i);
            ms[i].embedding_dim = DIM;
        }
        want = arena_printf(a, "%s%s,", want, ms[i].id);
    }
    assert_int_equal(store_memory_insert_many(g.st, ms, NBIG, &err), 0);
    for (i = 0; i < NBIG; i++) {
        struct memory *got = NULL;

        assert_int_equal(store_memory_get(g.st, a, ms[i].tenant_id, ms[i].id, &got, &err), 0);
        assert_non_null(got);
        assert_mem_equal(got, &ms[i]);
    }
    if (is_sqlite())
        return;
    /* inserted in the order given */
    row = raw_row(a, arena_printf(a, "SELECT string_agg(id::text || ',', '' ORDER BY seq)"
                                     " FROM memories WHERE subject_id = %s", lit(a, subject)),
                  1);
    assert_non_null(row);
    assert_string_equal(row[0], want);
    /* one code per vector, with the memory's own columns */
    assert_int_equal(raw_count(a, arena_printf(a, "SELECT count(*) FROM memory_codes c JOIN"
                                                  " memories m ON m.id = c.memory_id WHERE"
                                                  " m.subject_id = %s AND c.subject_id ="
                                                  " m.subject_id AND c.kind = m.kind AND"
                                                  " c.tenant_key = COALESCE(m.tenant_id, '')"
                                                  " AND c.active = (m.status = 'active')"
                                                  " AND c.created_at = m.created_at AND"
                                                  " c.valid_to IS NOT DISTINCT FROM m.valid_to",
                                               lit(a, subject))),
                     raw_count(a, arena_printf(a, "SELECT count(*) FROM memories WHERE"
                                                  " subject_id = %s AND embedding IS NOT NULL",
                                               lit(a, subject))));
    assert_int_equal(raw_count(a, arena_printf(a, "SELECT count(*) FROM memory_codes WHERE"
                                                  " subject_id = %s", lit(a, subject))),
                     NBIG / 4 + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_vectors_stored_uncompressed_after_the_step,
                                        test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_batch_insert_every_column_and_order, test_setup,
                                        test_teardown),
    };

    return cmocka_run_group_tests(tests, setup, close_old_database);
}
