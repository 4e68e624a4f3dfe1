/* test_store_memory_batch.c - store_memory_insert_many on both backends (issue 22): on
 * PostgreSQL one INSERT per batch of 128 rows whose columns travel as binary array parameters.
 * Every column of rows that mix what can be NULL (tenant, valid_to, vector) reads back as
 * given, the rows are stored in the order given across several batches and a last partial
 * one, and each row with a vector gets its code with the row's own filter columns. */
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

#define DIM 1536

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
        cmocka_unit_test_setup_teardown(test_batch_insert_every_column_and_order, test_setup,
                                        test_teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, snap_group_teardown);
}
