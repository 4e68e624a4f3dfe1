/* test_store_history.c - the store contract suite for the as_of reads (memory_list_as_of,
 * episode_list_as_of: spec/api.md §11) and context receipts (receipt_insert, receipt_get,
 * receipt_list: §5.4), written only against store.h so it runs unchanged on every backend
 * (ENGRAM_TEST_DATABASE_URL; default a fresh SQLite temp file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store-internal.h"
#include "store/store.h"
#include "util/ts.h"
#include "util/ulid.h"

#include "store_harness.h"

static struct memory make_mem(const char *tenant, const char *subject, const char *kind,
                              const char *content, int64_t created)
{
    return make_mem_with(tenant, subject, kind, content, "active", created);
}

static size_t mems_as_of(struct arena *a, const struct store_scope *sc,
                         const struct as_of_query *q, struct memory **out)
{
    struct err err = ERR_INIT;
    struct memory_rows rows = { NULL, 99 };

    assert_int_equal(store_memory_list_as_of(g.st, a, sc, q, &rows, &err), 0);
    assert_non_null(rows.items);
    *out = rows.items;
    return rows.n;
}

static size_t eps_as_of(struct arena *a, const struct store_scope *sc,
                        const struct as_of_query *q, struct episode **out)
{
    struct err err = ERR_INIT;
    struct episode_rows rows = { NULL, 99 };

    assert_int_equal(store_episode_list_as_of(g.st, a, sc, q, &rows, &err), 0);
    assert_non_null(rows.items);
    *out = rows.items;
    return rows.n;
}

/* Visible at t: created by t, not deleted, valid_to NULL or after t. */
static void test_store_memories_as_of(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "asof");
    const struct store_scope sc = { .subject = subject };
    struct memory old = make_mem(NULL, subject, "profile_fact", "old", T0);
    struct memory gone = make_mem(NULL, subject, "profile_fact", "gone", T0 + 1);
    struct memory fresh = make_mem(NULL, subject, "profile_fact", "new", T0 + 10 * SEC);
    struct memory sum = make_mem(NULL, subject, "episode_summary", "s", T0 + 2);
    struct memory *rows;
    struct err err = ERR_INIT;

    gone.status = "deleted";
    add_mem(&old);
    add_mem(&gone);
    add_mem(&fresh);
    add_mem(&sum);
    /* old is superseded at T0 + 10 s */
    assert_int_equal(store_memory_supersede(g.st, NULL, old.id, T0 + 10 * SEC, T0 + 10 * SEC,
                                            &err), 0);
    /* before anything: nothing */
    assert_int_equal(mems_as_of(a, &sc, &(struct as_of_query){ .as_of = T0 - 1 }, &rows), 0);
    /* at T0 + 5 s: old (superseded later) and the summary, newest first */
    assert_int_equal(mems_as_of(a, &sc,
                                &(struct as_of_query){ .as_of = T0 + 5 * SEC,
                                                       .order = MEMORY_NEWEST_FIRST },
                                &rows),
                     2);
    assert_string_equal(rows[0].id, sum.id);
    assert_string_equal(rows[1].id, old.id);
    assert_string_equal(rows[1].status, "superseded");
    assert_null(rows[1].embedding);
    /* kind and limit */
    assert_int_equal(mems_as_of(a, &sc,
                                &(struct as_of_query){ .as_of = T0 + 5 * SEC,
                                                       .kind = "profile_fact" },
                                &rows),
                     1);
    assert_string_equal(rows[0].id, old.id);
    assert_int_equal(mems_as_of(a, &sc,
                                &(struct as_of_query){ .as_of = T0 + 5 * SEC, .limit = 1 },
                                &rows),
                     1);
    assert_string_equal(rows[0].id, old.id);   /* oldest first by default */
    /* at the supersession instant: valid_to is not after it, so old is gone; new is there */
    assert_int_equal(mems_as_of(a, &sc,
                                &(struct as_of_query){ .as_of = T0 + 10 * SEC,
                                                       .kind = "profile_fact" },
                                &rows),
                     1);
    assert_string_equal(rows[0].id, fresh.id);
    /* every_status: every row created by then, deleted and superseded ones too */
    assert_int_equal(mems_as_of(a, &sc,
                                &(struct as_of_query){ .as_of = T0 + 10 * SEC,
                                                       .every_status = 1 },
                                &rows),
                     4);
    assert_string_equal(mem_ids(a, rows, 4),
                        mem_ids(a, (struct memory[]){ old, gone, sum, fresh }, 4));
}

static void test_store_episodes_as_of(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "asofep"), *tenant = uniq(a, "t");
    struct episode e1 = add_ep(a, tenant, subject, T0);
    struct episode e2 = add_ep(a, tenant, subject, T0 + SEC);
    struct episode e3 = add_ep(a, tenant, subject, T0 + SEC);
    struct store_scope sc = { .tenant = tenant, .subject = subject };
    struct episode *rows;

    add_ep(a, tenant, subject, T0 + 2 * SEC);
    assert_int_equal(eps_as_of(a, &sc, &(struct as_of_query){ .as_of = T0 + SEC }, &rows), 3);
    assert_string_equal(ep_ids(a, rows, 3), ep_ids(a, (struct episode[]){ e1, e2, e3 }, 3));
    /* newest first: the exact reverse insertion order, the limit cutting the oldest */
    assert_int_equal(eps_as_of(a, &sc,
                               &(struct as_of_query){ .as_of = T0 + SEC,
                                                      .order = MEMORY_NEWEST_FIRST,
                                                      .limit = 2 },
                               &rows),
                     2);
    assert_string_equal(ep_ids(a, rows, 2), ep_ids(a, (struct episode[]){ e3, e2 }, 2));
    sc.tenant = NULL;   /* another tenant space sees nothing */
    assert_int_equal(eps_as_of(a, &sc, &(struct as_of_query){ .as_of = T0 + SEC }, &rows), 0);
}

static struct receipt_row put_receipt(struct arena *a, const char *tenant, const char *subject,
                                      int64_t created, const char *sig)
{
    struct receipt_row r = { .tenant_id = tenant, .subject_id = subject, .mode = "retrieval",
                             .created_at = created };
    struct err err = ERR_INIT;

    ulid_new(r.id, created);
    r.body = arena_printf(a, "{\"receipt_id\":\"%s\",\"task\":\"caf\xc3\xa9\"}", r.id);
    if (sig) {
        r.signature = sig;
        r.key_id = "0123456789abcdef";
        r.algorithm = "ed25519";
    }
    assert_int_equal(store_receipt_insert(g.st, &r, &err), 0);
    return r;
}

static void test_store_receipts(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "rcpt"), *tenant = uniq(a, "t");
    struct receipt_row r1 = put_receipt(a, tenant, subject, T0, NULL);
    struct receipt_row r2 = put_receipt(a, tenant, subject, T0 + SEC, "c2lnbmF0dXJl");
    struct receipt_row r3 = put_receipt(a, tenant, subject, T0 + 2 * SEC, NULL);
    struct store_scope sc = { .tenant = tenant, .subject = subject };
    struct receipt_query q = { .since = TS_NULL, .until = TS_NULL, .limit = 10 };
    struct receipt_row *got;
    struct receipt_rows rows;
    struct err err = ERR_INIT;

    assert_int_equal(store_receipt_get(g.st, a, tenant, r2.id, &got, &err), 0);
    assert_non_null(got);
    assert_string_equal(got->id, r2.id);
    assert_string_equal(got->body, r2.body);
    assert_string_equal(got->subject_id, subject);
    assert_string_equal(got->tenant_id, tenant);
    assert_string_equal(got->mode, "retrieval");
    assert_true(got->created_at == T0 + SEC);
    assert_string_equal(got->signature, "c2lnbmF0dXJl");
    assert_string_equal(got->key_id, "0123456789abcdef");
    assert_string_equal(got->algorithm, "ed25519");
    assert_int_equal(store_receipt_get(g.st, a, tenant, r1.id, &got, &err), 0);
    assert_null(got->signature);
    assert_null(got->key_id);
    assert_int_equal(store_receipt_get(g.st, a, NULL, r1.id, &got, &err), 0);
    assert_null(got);   /* another tenant space */
    assert_int_equal(store_receipt_get(g.st, a, tenant, "nope", &got, &err), 0);
    assert_null(got);

    assert_int_equal(store_receipt_list(g.st, a, &sc, &q, &rows, &err), 0);
    assert_int_equal(rows.n, 3);
    assert_string_equal(rows.items[0].id, r3.id);
    assert_string_equal(rows.items[2].id, r1.id);
    q.before_id = r3.id;
    q.limit = 1;
    assert_int_equal(store_receipt_list(g.st, a, &sc, &q, &rows, &err), 0);
    assert_int_equal(rows.n, 1);
    assert_string_equal(rows.items[0].id, r2.id);
    q = (struct receipt_query){ .since = T0 + SEC, .until = T0 + SEC, .limit = 10 };
    assert_int_equal(store_receipt_list(g.st, a, &sc, &q, &rows, &err), 0);
    assert_int_equal(rows.n, 1);
    assert_string_equal(rows.items[0].id, r2.id);
    sc.tenant = NULL;
    q = (struct receipt_query){ .since = TS_NULL, .until = TS_NULL, .limit = 10 };
    assert_int_equal(store_receipt_list(g.st, a, &sc, &q, &rows, &err), 0);
    assert_int_equal(rows.n, 0);
    assert_non_null(rows.items);
}

/* The one-row lookups (sq_collect_one, pgst_take_one behind them): a hit hands back the row,
 * a miss NULL and 0, a failed statement -1 with NULL, never a stale pointer. */
static void test_store_one_row_lookups(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "one"), *tenant = uniq(a, "t");
    struct receipt_row r = put_receipt(a, tenant, subject, T0, NULL);
    struct store_scope sc = { .tenant = tenant, .subject = subject };
    struct subject_lineage l = { .subject_id = subject, .tenant_id = tenant,
                                 .source_subject_id = "src", .as_of = TS_NULL,
                                 .forked_at = T0, .episodes_copied = 2, .memories_copied = 3 };
    struct receipt_row *got = &r;
    struct subject_lineage *lin = &l;
    struct err err = ERR_INIT;

    assert_int_equal(store_lineage_get(g.st, a, &sc, &lin, &err), 0);
    assert_null(lin);   /* a miss */
    assert_int_equal(store_lineage_put(g.st, &l, &err), 0);
    assert_int_equal(store_lineage_get(g.st, a, &sc, &lin, &err), 0);
    assert_non_null(lin);
    assert_string_equal(lin->source_subject_id, "src");
    assert_int_equal(lin->memories_copied, 3);

    store_fault_arm(1, STORE_FAULT_IOERR);
    assert_int_equal(store_lineage_get(g.st, a, &sc, &lin, &err), -1);
    store_fault_disarm();
    assert_null(lin);
    assert_int_equal(err.kind, ERR_INTERNAL);
    err_release(&err);

    store_fault_arm(1, STORE_FAULT_IOERR);
    assert_int_equal(store_receipt_get(g.st, a, tenant, r.id, &got, &err), -1);
    store_fault_disarm();
    assert_null(got);
    err_release(&err);
    assert_int_equal(store_receipt_get(g.st, a, tenant, r.id, &got, &err), 0);
    assert_non_null(got);   /* the same lookup, unfaulted: a hit */
    assert_string_equal(got->id, r.id);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_store_memories_as_of),
        T(test_store_episodes_as_of),
        T(test_store_receipts),
        T(test_store_one_row_lookups),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
