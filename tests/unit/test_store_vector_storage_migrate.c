/* test_store_vector_storage_migrate.c - the PostgreSQL step vector_storage_external (issue 22)
 * on a database the step before it made: memories.embedding and
 * query_embedding_cache.embedding go from EXTENDED (compression tried) to EXTERNAL (out of
 * line, never compressed). A vector that compresses (all zeros) is stored compressed before
 * the step; after it, that vector must read back byte for byte, a subject copy of it (what a
 * restore does) must carry the same vector and code, and a new one must be stored
 * uncompressed. SQLite has no such step (its storage has no compression); there
 * the test only checks that. ENGRAM_TEST_DATABASE_URL picks the backend; on PostgreSQL the
 * test makes its own database on that server (and drops it). */
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

#define STEP "vector_storage_external"
#define DIM 1536 /* a provider's size: 6 KB, past the TOAST threshold */

static int is_pg_url(void)
{
    const char *url = getenv("ENGRAM_TEST_DATABASE_URL");

    return url && strncmp(url, "postgres", 8) == 0;
}

/* The version of the PostgreSQL step before STEP; read before the database is open. */
static int old_version(void)
{
    size_t i;

    for (i = 1; i < postgres_migrations_count; i++)
        if (strcmp(postgres_migrations[i].name, STEP) == 0)
            return postgres_migrations[i - 1].version;
    return -1;
}

static int setup(void **state)
{
    if (!is_pg_url())
        return group_setup(state);
    return old_version() > 0 ? open_old_database(old_version()) : -1;
}

static float zeros[DIM], noise[DIM];

/* One memory of subject with the vector v, inserted; returns its id. */
static const char *insert_vec(struct arena *a, const char *subject, const float *v)
{
    struct memory m = make_mem(NULL, subject, T0);
    struct err err = ERR_INIT;

    m.embedding = v;
    m.embedding_dim = DIM;
    assert_int_equal(store_memory_insert_many(g.st, &m, 1, &err), 0);
    return arena_strdup(a, m.id);
}

/* 1 when the memory's vector is stored compressed. */
static int compressed(struct arena *a, const char *id)
{
    return (int)raw_count(a, arena_printf(a,
                                          "SELECT (pg_column_size(embedding)"
                                          " < octet_length(embedding))::int FROM memories"
                                          " WHERE id = %s",
                                          lit(a, id)));
}

static const char *storage(struct arena *a, const char *table)
{
    const char **row = raw_row(a,
                               arena_printf(a,
                                            "SELECT attstorage::text FROM pg_attribute"
                                            " WHERE attrelid = '%s'::regclass"
                                            " AND attname = 'embedding'",
                                            table),
                               1);

    assert_non_null(row);
    return row[0];
}

/* The only memory of subject, with its vector. */
static struct memory *only_mem(struct arena *a, const char *subject)
{
    size_t n;
    struct memory *m = list_mems(a, NULL, subject, &n);

    assert_int_equal(n, 1);
    assert_int_equal(m->embedding_dim, DIM);
    return m;
}

static void test_vectors_across_the_step(void **state)
{
    struct arena *a = *state;
    const char *src = uniq(a, "vsrc"), *dst = uniq(a, "vdst"), *later = uniq(a, "vnew");
    const char *old_id, *new_id_, *copy_id;
    struct err err = ERR_INIT;
    struct migrate_result mr;
    struct row_counts n;
    int current, latest;
    size_t k;

    if (!is_pg_url()) {
        size_t i;

        for (i = 0; i < sqlite_migrations_count; i++)
            assert_string_not_equal(sqlite_migrations[i].name, STEP);
        skip();
    }
    for (k = 0; k < DIM; k++)
        noise[k] = (float)((k * 2654435761u) % 1000003) / 1000003.0f - 0.5f;

    /* before the step: the default storage compresses what compresses */
    assert_string_equal(storage(a, "memories"), "x");
    old_id = insert_vec(a, src, zeros);
    assert_int_equal(compressed(a, old_id), 1);

    assert_int_equal(store_migrate(g.st, &mr, &err), 0);
    assert_int_equal(mr.from_version, old_version());
    assert_int_equal(store_schema_version(g.st, &current, &latest, &err), 0);
    assert_int_equal(current, latest);
    assert_string_equal(storage(a, "memories"), "e");
    assert_string_equal(storage(a, "query_embedding_cache"), "e");

    /* the old compressed value reads back as it was written */
    assert_memory_equal(only_mem(a, src)->embedding, zeros, sizeof(zeros));

    /* a copy of it (a restore's statement) has the same vector and code (PostgreSQL copies
     * the stored form, compressed here, as it is) */
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(
        store_subject_copy(
            g.st,
            &(struct subject_copy){ .src_subject = src, .dst_subject = dst, .clamp_at = TS_NULL },
            &n, &err),
        0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    assert_int_equal(n.memories, 1);
    copy_id = only_mem(a, dst)->id;
    assert_memory_equal(only_mem(a, dst)->embedding, zeros, sizeof(zeros));
    assert_int_equal(raw_count(a, arena_printf(a,
                                               "SELECT count(*) FROM memory_codes c"
                                               " JOIN memory_codes s ON s.code = c.code"
                                               " WHERE c.memory_id = %s AND s.memory_id = %s",
                                               lit(a, copy_id), lit(a, old_id))),
                     1);

    /* new vectors, compressible or not, are stored as they are */
    new_id_ = insert_vec(a, later, zeros);
    assert_int_equal(compressed(a, new_id_), 0);
    assert_memory_equal(only_mem(a, later)->embedding, zeros, sizeof(zeros));
    insert_vec(a, later, noise);
    assert_int_equal(raw_count(a, arena_printf(a,
                                               "SELECT count(*) FROM memories"
                                               " WHERE subject_id = %s"
                                               " AND pg_column_size(embedding) >= %d",
                                               lit(a, later), 4 * DIM)),
                     2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_vectors_across_the_step, test_setup, test_teardown),
    };

    return cmocka_run_group_tests(tests, setup, close_old_database);
}
