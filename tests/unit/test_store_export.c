/* test_store_export.c - the store contract suite for subject export and import (the ops under
 * "subject export and import" in store.h): written only against store.h, so it runs unchanged
 * on every backend. ENGRAM_TEST_DATABASE_URL picks the database (default: a fresh SQLite temp
 * file). Every test makes its own subject and tenant ids, so a shared database is fine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/ts.h"
#include "util/vcode.h"

#include "store_harness.h"   /* g, group and test setup, ids, episode and memory rows */

#define DIM 8                   /* embedding size of the small tests */

/* ---- rows ---- */

static struct memory make_mem(const char *tenant, const char *subject, const char *status,
                              int64_t created_at)
{
    return make_mem_with(tenant, subject, "profile_fact", "likes tea", status, created_at);
}

/* ---- reading a whole subject back, page by page ---- */

/* Every episode (mems 0) or memory (mems 1) of the scope, read in pages of `page` rows,
 * appended in page order. */
static void *export_all(struct arena *a, store *st, const struct store_scope *sc, int mems,
                        size_t page, size_t *total)
{
    size_t size = mems ? sizeof(struct memory) : sizeof(struct episode), n, count = 0;
    struct err err = ERR_INIT;
    const char *after_id = NULL;
    int64_t after = TS_NULL;
    char *all = NULL, *grown;

    for (;;) {
        struct store_cursor cur = { .after_created = after, .after_id = after_id, .limit = page };
        struct episode_rows er = { NULL, 0 };
        struct memory_rows mr = { NULL, 0 };
        const void *rows;

        if (mems)
            assert_int_equal(store_export_memories(st, a, sc, &cur, &mr, &err), 0);
        else
            assert_int_equal(store_export_episodes(st, a, sc, &cur, &er, &err), 0);
        rows = mems ? (const void *)mr.items : (const void *)er.items;
        n = mems ? mr.n : er.n;
        assert_true(n <= page);
        if (n == 0)
            break;
        grown = arena_alloc(a, (count + n) * size);
        if (count)
            memcpy(grown, all, count * size);
        memcpy(grown + count * size, rows, n * size);
        all = grown;
        count += n;
        after = mems ? mr.items[n - 1].created_at : er.items[n - 1].created_at;
        after_id = arena_strdup(a, mems ? mr.items[n - 1].id : er.items[n - 1].id);
        if (n < page)
            break;
    }
    *total = count;
    return all;
}

static struct episode *export_all_eps(struct arena *a, store *st, const struct store_scope *sc,
                                      size_t page, size_t *total)
{
    return export_all(a, st, sc, 0, page, total);
}

static struct memory *export_all_mems(struct arena *a, store *st, const struct store_scope *sc,
                                      size_t page, size_t *total)
{
    return export_all(a, st, sc, 1, page, total);
}

static int cmp_key(int64_t ta, const char *ia, int64_t tb, const char *ib)
{
    if (ta != tb)
        return ta < tb ? -1 : 1;
    return strcmp(ia, ib);
}

static int cmp_ep(const void *x, const void *y)
{
    const struct episode *a = x, *b = y;

    return cmp_key(a->created_at, a->id, b->created_at, b->id);
}

static int cmp_mem(const void *x, const void *y)
{
    const struct memory *a = x, *b = y;

    return cmp_key(a->created_at, a->id, b->created_at, b->id);
}

static void assert_count(const struct store_scope *sc, int64_t want_eps, int64_t want_mems)
{
    struct row_counts rc;
    struct err err = ERR_INIT;
    int64_t eps = -1, mems = -1;

    assert_int_equal(store_export_count(g.st, sc, &rc, &err), 0);
    eps = rc.episodes;
    mems = rc.memories;
    assert_int_equal(eps, want_eps);
    assert_int_equal(mems, want_mems);
}

/* ---- counts and scopes ---- */

static void test_store_export_count_scopes(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "exp-count"), *other = uniq(a, "exp-count-other");
    const char *ta = uniq(a, "ta"), *tb = uniq(a, "tb");
    struct memory m;

    add_ep(a, ta, subject, T0);
    add_ep(a, ta, subject, T0 + 1);
    add_ep(a, NULL, subject, T0);
    add_ep(a, ta, other, T0);
    m = make_mem(ta, subject, "active", T0);
    add_mem(&m);
    m = make_mem(NULL, subject, "superseded", T0);
    add_mem(&m);
    m = make_mem(NULL, subject, "deleted", T0);
    add_mem(&m);
    m = make_mem(tb, subject, "active", T0);
    add_mem(&m);
    m = make_mem(tb, other, "active", T0);
    add_mem(&m);

    assert_count(&(struct store_scope){ .subject = subject, .all_tenants = 1 }, 3, 4);
    assert_count(&(struct store_scope){ .tenant = ta, .subject = subject, .all_tenants = 1 }, 3,
                 4);   /* tenant ignored */
    assert_count(&(struct store_scope){ .tenant = ta, .subject = subject }, 2, 1);
    assert_count(&(struct store_scope){ .subject = subject }, 1, 2);
    assert_count(&(struct store_scope){ .tenant = "", .subject = subject }, 1,
                 2);   /* '' is the no-tenant space */
    assert_count(&(struct store_scope){ .tenant = tb, .subject = subject }, 0, 1);
    assert_count(&(struct store_scope){ .tenant = uniq(a, "tc"), .subject = subject }, 0, 0);
    assert_count(&(struct store_scope){ .subject = uniq(a, "exp-none"), .all_tenants = 1 }, 0, 0);
}

/* ---- order and pages ---- */

/* Episodes with many equal created_at values, inserted in an order unrelated to their ids:
 * every page size reassembles exactly the (created_at, id) order. */
static void test_store_export_episode_order_pages(void **state)
{
    static const size_t pages[] = { 1, 2, 7, 1000 };
    struct arena *a = *state;
    const char *subject = uniq(a, "exp-order"), *tenant = uniq(a, "t"), *want;
    struct episode eps[23], *got;
    size_t i, k, n;

    for (i = 0; i < 23; i++)
        eps[i] = add_ep(a, i % 3 == 0 ? NULL : tenant, subject, T0 + (int64_t)(i % 4) * 1000000);
    qsort(eps, 23, sizeof(eps[0]), cmp_ep);
    want = ep_ids(a, eps, 23);
    for (k = 0; k < sizeof(pages) / sizeof(pages[0]); k++) {
        got = export_all_eps(a, g.st, &(struct store_scope){ .subject = subject, .all_tenants = 1 },
                             pages[k], &n);
        assert_int_equal(n, 23);
        assert_string_equal(ep_ids(a, got, n), want);
    }
    /* One tenant only: the same order, restricted. */
    got = export_all_eps(a, g.st, &(struct store_scope){ .subject = subject }, 2, &n);
    assert_int_equal(n, 8);
    for (i = 1; i < n; i++)
        assert_true(cmp_ep(&got[i - 1], &got[i]) < 0);
    for (i = 0; i < n; i++)
        assert_null(got[i].tenant_id);
}

static void test_store_export_memory_order_pages(void **state)
{
    static const size_t pages[] = { 1, 2, 7, 1000 };
    struct arena *a = *state;
    const char *subject = uniq(a, "exp-morder"), *want;
    struct memory ms[17], *got;
    size_t i, k, n;

    for (i = 0; i < 17; i++) {
        ms[i] = make_mem(i % 2 ? uniq(a, "t") : NULL, subject, "active",
                         T0 + (int64_t)(i % 3));
        add_mem(&ms[i]);
    }
    qsort(ms, 17, sizeof(ms[0]), cmp_mem);
    want = mem_ids(a, ms, 17);
    for (k = 0; k < sizeof(pages) / sizeof(pages[0]); k++) {
        got = export_all_mems(a, g.st,
                              &(struct store_scope){ .subject = subject, .all_tenants = 1 },
                              pages[k], &n);
        assert_int_equal(n, 17);
        assert_string_equal(mem_ids(a, got, n), want);
    }
}

/* Every status is exported, with its embedding (or none) bit for bit. */
static void test_store_export_memories_every_status(void **state)
{
    static const char *const statuses[] = { "active", "superseded", "deleted", "archived-x" };
    struct arena *a = *state;
    const char *subject = uniq(a, "exp-status");
    struct memory ms[4], *got;
    size_t i, n;

    for (i = 0; i < 4; i++) {
        ms[i] = make_mem(NULL, subject, statuses[i], T0 + (int64_t)i);
        if (i != 2) {
            ms[i].embedding = test_vec(a, DIM, (unsigned)i + 1);
            ms[i].embedding_dim = DIM;
        }
        add_mem(&ms[i]);
    }
    got = export_all_mems(a, g.st, &(struct store_scope){ .subject = subject }, 3, &n);
    assert_int_equal(n, 4);
    for (i = 0; i < 4; i++) {
        assert_string_equal(got[i].id, ms[i].id);
        assert_string_equal(got[i].status, statuses[i]);
        assert_int_equal(got[i].embedding_dim, ms[i].embedding_dim);
        if (ms[i].embedding)
            assert_memory_equal(got[i].embedding, ms[i].embedding, DIM * sizeof(float));
        else
            assert_null(got[i].embedding);
    }
}

/* all_tenants, one tenant and the no-tenant space select exactly their rows. */
static void test_store_export_tenant_scope(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "exp-scope"), *ta = uniq(a, "ta"), *tb = uniq(a, "tb");
    struct episode ea, eb, en, *got;
    struct memory ma = make_mem(ta, subject, "active", T0), *mgot;
    size_t n;
    const struct store_scope in_none = { .subject = subject };

    ea = add_ep(a, ta, subject, T0);
    eb = add_ep(a, tb, subject, T0 + 1);
    en = add_ep(a, NULL, subject, T0 + 2);
    add_mem(&ma);

    got = export_all_eps(a, g.st, &(struct store_scope){ .subject = subject, .all_tenants = 1 }, 10,
                         &n);
    assert_string_equal(ep_ids(a, got, n), arena_printf(a, "%s,%s,%s,", ea.id, eb.id, en.id));
    assert_string_equal(got[0].tenant_id, ta);
    assert_string_equal(got[1].tenant_id, tb);
    assert_null(got[2].tenant_id);
    got = export_all_eps(a, g.st, &(struct store_scope){ .tenant = tb, .subject = subject }, 10,
                         &n);
    assert_string_equal(ep_ids(a, got, n), arena_printf(a, "%s,", eb.id));
    got = export_all_eps(a, g.st, &in_none, 10, &n);
    assert_string_equal(ep_ids(a, got, n), arena_printf(a, "%s,", en.id));
    mgot = export_all_mems(a, g.st, &in_none, 10, &n);
    assert_int_equal(n, 0);
    mgot = export_all_mems(a, g.st, &(struct store_scope){ .tenant = ta, .subject = subject }, 10,
                           &n);
    assert_string_equal(mem_ids(a, mgot, n), arena_printf(a, "%s,", ma.id));
}

/* A page key that is not a row's (created_at, id) is refused the same way on every backend. */
static void test_store_export_bad_page_key(void **state)
{
    struct memory_rows mr;
    struct episode_rows er;
    struct arena *a = *state;
    struct err err = ERR_INIT;
    size_t n = 99;
    const struct store_scope every_tenant = { .subject = "s", .all_tenants = 1 };

    assert_int_equal(store_export_episodes(g.st, a, &every_tenant,
                                           &(struct store_cursor){ .after_created = T0,
                                                                   .after_id = "not-a-uuid",
                                                                   .limit = 10 },
                                           &er, &err), -1);
    n = er.n;
    assert_int_equal(err.kind, ERR_INVALID);
    assert_int_equal(n, 0);
    err_release(&err);
    assert_int_equal(store_export_memories(g.st, a, &every_tenant,
                                           &(struct store_cursor){
                                               .after_created = TS_NULL,
                                               .after_id = "0b6c2c0e-5d3e-4e4f-9a51-1c3b4f0e2a77",
                                               .limit = 10 },
                                           &mr, &err), -1);
    n = mr.n;
    assert_int_equal(err.kind, ERR_INVALID);
}

/* ---- the read transaction ---- */

/* Inside a read transaction, counts and pages stay as they were while another connection
 * commits new rows; after the commit the new rows show. */
static void test_store_export_read_tx_stable(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "exp-stable"), *before;
    const struct store_scope sc = { .subject = subject, .all_tenants = 1 };
    struct episode late = make_ep(NULL, subject, T0 - 5), batch[3], *got;
    struct memory m = make_mem(NULL, subject, "active", T0 - 5);
    struct err err = ERR_INIT;
    store *writer;
    size_t i, n;
    int inserted;

    add_ep(a, NULL, subject, T0);
    add_ep(a, "t", subject, T0 + 1);
    assert_int_equal(store_open(g.ops, g.conninfo, &writer, &err), 0);

    assert_int_equal(store_tx_begin_read(g.st, &err), 0);
    assert_count(&sc, 2, 0);
    before = ep_ids(a, export_all_eps(a, g.st, &sc, 1, &n), 2);

    assert_int_equal(store_episode_insert(writer, a, &late, &inserted, &err), 0);
    assert_int_equal(store_memory_insert(writer, &m, &err), 0);
    assert_int_equal(store_tx_begin(writer, &err), 0);
    for (i = 0; i < 3; i++)
        batch[i] = make_ep("t", subject, T0 - 10);
    assert_int_equal(store_episode_insert_many(writer, batch, 3, &err), 0);
    assert_int_equal(store_tx_commit(writer, &err), 0);

    assert_count(&sc, 2, 0);
    got = export_all_eps(a, g.st, &sc, 1, &n);
    assert_int_equal(n, 2);
    assert_string_equal(ep_ids(a, got, n), before);
    export_all_mems(a, g.st, &sc, 7, &n);
    assert_int_equal(n, 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);

    assert_count(&sc, 6, 1);
    /* A read transaction also ends with a rollback, and the next one sees the new rows. */
    assert_int_equal(store_tx_begin_read(g.st, &err), 0);
    assert_count(&sc, 6, 1);
    store_tx_rollback(g.st);
    /* And the connection takes a write transaction afterwards. */
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    store_close(writer);
}

/* ---- ids taken ---- */

static void test_store_ids_taken(void **state)
{
    struct arena *a = *state;
    const char *s1 = uniq(a, "exp-ids"), *s2 = uniq(a, "exp-ids2");
    char *upper;
    struct episode e1, e2;
    struct memory m1 = make_mem(uniq(a, "t"), s1, "deleted", T0);
    struct memory m2 = make_mem(NULL, s2, "active", T0);
    char missing[UUID_STR_LEN];
    struct err err = ERR_INIT;
    int64_t count = -1;
    size_t i;

    e1 = add_ep(a, uniq(a, "t"), s1, T0);
    e2 = add_ep(a, NULL, s2, T0);
    add_mem(&m1);
    add_mem(&m2);
    uuid_v4(missing);
    upper = arena_strdup(a, e1.id);
    for (i = 0; upper[i]; i++)
        if (upper[i] >= 'a' && upper[i] <= 'f')
            upper[i] = (char)(upper[i] - 'a' + 'A');
    {
        const char *ids[] = { e1.id, missing, "not-a-uuid", "", e2.id, m1.id, upper, e1.id };
        const char *mids[] = { m1.id, e1.id, "x'); DROP TABLE memories; --", m2.id, missing };

        assert_int_equal(store_episode_ids_taken(g.st, ids, 8, &count, &err), 0);
        assert_int_equal(count, 2);   /* e1 (twice: counted once) and e2 */
        assert_int_equal(store_memory_ids_taken(g.st, mids, 5, &count, &err), 0);
        assert_int_equal(count, 2);
        assert_int_equal(store_episode_ids_taken(g.st, ids + 1, 3, &count, &err), 0);
        assert_int_equal(count, 0);
        assert_int_equal(store_memory_ids_taken(g.st, mids, 0, &count, &err), 0);
        assert_int_equal(count, 0);
    }
}

/* ---- inserting many rows ---- */

static void assert_ep_equal(const struct episode *got, const struct episode *want)
{
    assert_string_equal(got->id, want->id);
    assert_string_equal(got->subject_id, want->subject_id);
    assert_str_or_null(got->tenant_id, want->tenant_id);
    assert_str_or_null(got->session_id, want->session_id);
    assert_string_equal(got->source, want->source);
    assert_string_equal(got->type, want->type);
    assert_string_equal(got->payload, want->payload);
    assert_string_equal(got->metadata, want->metadata);
    assert_string_equal(got->provenance, want->provenance);
    assert_str_or_null(got->idempotency_key, want->idempotency_key);
    assert_int_equal(got->created_at, want->created_at);
    assert_int_equal(got->last_compiled_at, want->last_compiled_at);
}

/* n episodes of subject with every field set, varying from row to row. */
static struct episode *rich_eps(struct arena *a, const char *subject, const char *tenant,
                                size_t n)
{
    struct episode *eps = arena_calloc(a, n, sizeof(*eps));
    size_t i;

    for (i = 0; i < n; i++) {
        eps[i] = make_ep(i % 3 ? tenant : NULL, subject, T0 + (int64_t)(i % 50) * 7);
        eps[i].session_id = i % 2 ? arena_printf(a, "sess-%zu", i % 5) : NULL;
        eps[i].source = i % 4 ? "chat" : "email";
        eps[i].payload = arena_printf(a, "{\"n\":%zu,\"text\":\"caf\xc3\xa9 \\\"q\\\"\","
                                         "\"f\":1.5,\"l\":[1,2]}", i);
        eps[i].metadata = i % 2 ? "{\"k\":\"v\"}" : "{}";
        eps[i].provenance = arena_printf(a, "{\"origin\":\"import\",\"i\":%zu}", i);
        eps[i].idempotency_key = i % 5 == 0 ? arena_printf(a, "key-%zu", i) : NULL;
        eps[i].last_compiled_at = i % 2 ? T0 + 1000000 + (int64_t)i : TS_NULL;
    }
    return eps;
}

static struct memory *rich_mems(struct arena *a, const char *subject, const char *tenant,
                                size_t n, size_t dim)
{
    static const char *const statuses[] = { "active", "superseded", "deleted" };
    struct memory *ms = arena_calloc(a, n, sizeof(*ms));
    char e1[UUID_STR_LEN], e2[UUID_STR_LEN];
    size_t i;

    for (i = 0; i < n; i++) {
        ms[i] = make_mem(i % 2 ? tenant : NULL, subject, statuses[i % 3],
                         T0 + (int64_t)(i % 10));
        uuid_v4(e1);
        uuid_v4(e2);
        ms[i].kind = i % 2 ? "procedure" : "episode_summary";
        ms[i].content = arena_printf(a, "content %zu \xe2\x9c\x93", i);
        ms[i].summary = i % 3 ? "a summary" : "";
        ms[i].confidence = 0.1 + (double)i / 3.0;
        ms[i].valid_from = T0 - 1000 - (int64_t)i;
        ms[i].valid_to = i % 3 == 1 ? T0 + 5000 + (int64_t)i : TS_NULL;
        ms[i].source_episode_ids = i % 4 ? arena_printf(a, "[\"%s\",\"%s\"]", e1, e2) : "[]";
        ms[i].metadata = arena_printf(a, "{\"n\":%zu}", i);
        if (i % 5) {
            ms[i].embedding = test_vec(a, dim, (unsigned)i);
            ms[i].embedding_dim = dim;
        }
        ms[i].sensitivity_labels = i % 2 ? "[\"pii\",\"health\"]" : "[]";
        ms[i].updated_at = ms[i].created_at + 17;
    }
    return ms;
}

static double elapsed_ms(int64_t since)
{
    return (double)(ts_monotonic() - since) / 1000.0;
}

/* 10,000 episodes in one transaction, every field round-tripping through an export. */
static void test_store_episode_insert_many_round_trip(void **state)
{
    enum { N = 10000 };
    struct arena *a = *state;
    const char *subject = uniq(a, "exp-many"), *tenant = uniq(a, "t");
    struct episode *eps = rich_eps(a, subject, tenant, N), *got;
    struct err err = ERR_INIT;
    int64_t start;
    double ms;
    size_t i, n;
    const struct store_scope every_tenant = { .subject = subject, .all_tenants = 1 };

    start = ts_monotonic();
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_episode_insert_many(g.st, eps, N, &err), 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    ms = elapsed_ms(start);
    fprintf(stderr, "# %s: episode_insert_many %d rows in one transaction: %.1f ms\n",
            g.ops->name, N, ms);

    assert_count(&every_tenant, N, 0);
    start = ts_monotonic();
    got = export_all_eps(a, g.st, &every_tenant,
                         1000, &n);
    fprintf(stderr, "# %s: export_episodes %d rows in pages of 1000: %.1f ms\n", g.ops->name,
            N, elapsed_ms(start));
    assert_int_equal(n, N);
    qsort(eps, N, sizeof(*eps), cmp_ep);
    for (i = 0; i < N; i++)
        assert_ep_equal(&got[i], &eps[i]);
}

static void test_store_memory_insert_many_round_trip(void **state)
{
    enum { N = 1000, BIG_DIM = 1536 };
    struct arena *a = *state;
    const char *subject = uniq(a, "exp-mmany"), *tenant = uniq(a, "t");
    struct memory *ms = rich_mems(a, subject, tenant, N, BIG_DIM), *got;
    struct err err = ERR_INIT;
    int64_t start;
    size_t i, n;
    const struct store_scope every_tenant = { .subject = subject, .all_tenants = 1 };

    start = ts_monotonic();
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_memory_insert_many(g.st, ms, N, &err), 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    fprintf(stderr, "# %s: memory_insert_many %d rows with %d-float embeddings: %.1f ms\n",
            g.ops->name, N, BIG_DIM, elapsed_ms(start));

    assert_count(&every_tenant, 0, N);
    assert_count(&(struct store_scope){ .tenant = tenant, .subject = subject }, 0, N / 2);
    got = export_all_mems(a, g.st, &every_tenant, 7,
                          &n);
    assert_int_equal(n, N);
    qsort(ms, N, sizeof(*ms), cmp_mem);
    for (i = 0; i < N; i++)
        assert_mem_equal(&got[i], &ms[i]);
}

/* The codes memory_insert_many writes with the rows (PostgreSQL: in the insert statement,
 * batch by batch): one per active memory with a vector, each its own vector's code. */
struct code_check {
    const struct memory *ms;
    size_t n, seen;
};

static int check_code(void *ctx, const struct memory_code *row, struct err *err)
{
    struct code_check *cc = ctx;
    unsigned char want[VCODE_HEADER + 64];
    size_t i;

    (void)err;
    for (i = 0; i < cc->n && strcmp(cc->ms[i].id, row->id) != 0; i++)
        ;
    assert_true(i < cc->n);
    assert_non_null(cc->ms[i].embedding);
    assert_string_equal(cc->ms[i].status, "active");
    assert_int_equal(row->bytes, vcode_size(cc->ms[i].embedding_dim));
    vcode_encode(cc->ms[i].embedding, cc->ms[i].embedding_dim, want);
    assert_memory_equal(row->code, want, row->bytes);
    cc->seen++;
    return 0;
}

static void test_store_memory_insert_many_codes(void **state)
{
    enum { N = 600, SMALL_DIM = 8 };
    struct arena *a = *state;
    const char *subject = uniq(a, "exp-mcodes"), *tenant = uniq(a, "t");
    struct memory *ms = rich_mems(a, subject, tenant, N, SMALL_DIM);
    struct code_check cc = { ms, N, 0 };
    struct err err = ERR_INIT;
    size_t i, want = 0;

    assert_int_equal(store_memory_insert_many(g.st, ms, N, &err), 0);
    for (i = 0; i < N; i++) /* no tenant: even rows; active: i % 3 == 0; a vector: i % 5 */
        want += i % 2 == 0 && i % 3 == 0 && i % 5 != 0;
    /* the codes as a search reads them (SQLite computes them then: schema step 19) */
    assert_int_equal(store_search_codes_sync(g.st, &err), 0);
    assert_int_equal(store_memory_scan_codes(g.st,
                                             &(struct store_scope){ .subject = subject },
                                             &(struct memory_code_scan){ 0 }, check_code, &cc,
                                             &err),
                     0);
    assert_int_equal(cc.seen, want);
}

/* An id that exists (in another subject and tenant) fails the batch with ERR_CONFLICT naming
 * it; after the rollback nothing of the batch is visible and the connection works. `at` puts
 * the clash past the first pipelined batch. */
static void conflict_with_existing(struct arena *a, size_t n, size_t at)
{
    const char *subject = uniq(a, "exp-clash");
    struct episode old, *eps = rich_eps(a, subject, NULL, n);
    const char **ids = arena_calloc(a, n, sizeof(*ids));
    struct err err = ERR_INIT;
    int64_t count = -1;
    size_t i;
    const struct store_scope every_tenant = { .subject = subject, .all_tenants = 1 };

    old = add_ep(a, uniq(a, "t"), uniq(a, "exp-clash-old"), T0);
    memcpy(eps[at].id, old.id, sizeof(old.id));
    for (i = 0; i < n; i++)
        ids[i] = eps[i].id;

    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_episode_insert_many(g.st, eps, n, &err), -1);
    assert_int_equal(err.kind, ERR_CONFLICT);
    assert_string_equal(err.msg, arena_printf(a, "episode '%s' already exists", old.id));
    store_tx_rollback(g.st);
    err_release(&err);

    assert_count(&every_tenant, 0, 0);
    assert_int_equal(store_episode_ids_taken(g.st, ids, n, &count, &err), 0);
    assert_int_equal(count, 1);   /* only the old row */
    assert_int_equal(store_ping(g.st, &err), 0);
    /* The same batch without the clash goes in. */
    uuid_v4(eps[at].id);
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_episode_insert_many(g.st, eps, n, &err), 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    assert_count(&every_tenant, (int64_t)n, 0);
}

static void test_store_insert_many_conflict_existing(void **state)
{
    conflict_with_existing(*state, 5, 0);
    conflict_with_existing(*state, 2500, 1700);
}

/* The same for memories, and outside a caller's transaction (the op then uses its own). */
static void test_store_memory_insert_many_conflict(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "exp-mclash");
    struct memory old = make_mem(NULL, uniq(a, "exp-mclash-old"), "active", T0);
    struct memory *ms = rich_mems(a, subject, "t", 4, DIM);
    struct err err = ERR_INIT;
    const struct store_scope every_tenant = { .subject = subject, .all_tenants = 1 };

    add_mem(&old);
    memcpy(ms[2].id, old.id, sizeof(old.id));
    assert_int_equal(store_memory_insert_many(g.st, ms, 4, &err), -1);
    assert_int_equal(err.kind, ERR_CONFLICT);
    assert_string_equal(err.msg, arena_printf(a, "memory '%s' already exists", old.id));
    err_release(&err);
    assert_count(&every_tenant, 0, 0);
    uuid_v4(ms[2].id);
    assert_int_equal(store_memory_insert_many(g.st, ms, 4, &err), 0);
    assert_count(&every_tenant, 0, 4);
}

/* One id twice in the same batch: the second fails the batch. */
static void test_store_insert_many_duplicate_in_batch(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "exp-dup");
    struct episode *eps = rich_eps(a, subject, NULL, 6);
    struct memory *ms = rich_mems(a, subject, NULL, 3, DIM);
    struct err err = ERR_INIT;

    memcpy(eps[4].id, eps[1].id, sizeof(eps[1].id));
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_episode_insert_many(g.st, eps, 6, &err), -1);
    assert_int_equal(err.kind, ERR_CONFLICT);
    assert_string_equal(err.msg, arena_printf(a, "episode '%s' already exists", eps[1].id));
    store_tx_rollback(g.st);
    err_release(&err);

    memcpy(ms[2].id, ms[0].id, sizeof(ms[0].id));
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_memory_insert_many(g.st, ms, 3, &err), -1);
    assert_int_equal(err.kind, ERR_CONFLICT);
    assert_string_equal(err.msg, arena_printf(a, "memory '%s' already exists", ms[0].id));
    store_tx_rollback(g.st);
    err_release(&err);

    assert_count(&(struct store_scope){ .subject = subject, .all_tenants = 1 }, 0, 0);
    assert_int_equal(store_ping(g.st, &err), 0);
}

/* Any other failing row (here a missing payload, past the first pipelined batch on
 * PostgreSQL) is a database error; nothing of the batch stays and the connection works. */
static void test_store_insert_many_database_error(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "exp-dberr");
    struct episode *eps = rich_eps(a, subject, NULL, 1500);
    struct err err = ERR_INIT;
    const struct store_scope every_tenant = { .subject = subject, .all_tenants = 1 };

    eps[1200].payload = NULL;
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_episode_insert_many(g.st, eps, 1500, &err), -1);
    assert_int_equal(err.kind, ERR_INTERNAL);
    store_tx_rollback(g.st);
    err_release(&err);
    assert_count(&every_tenant, 0, 0);
    eps[1200].payload = "{}";
    assert_int_equal(store_episode_insert_many(g.st, eps, 1500, &err), 0);
    assert_count(&every_tenant, 1500, 0);
}

/* A row id that is not a lower-case UUID is refused before anything is written. */
static void test_store_insert_many_bad_id(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "exp-badid");
    struct episode *eps = rich_eps(a, subject, NULL, 3);
    struct memory *ms = rich_mems(a, subject, NULL, 2, DIM);
    struct err err = ERR_INIT;

    snprintf(eps[2].id, sizeof(eps[2].id), "not-a-uuid");
    assert_int_equal(store_episode_insert_many(g.st, eps, 3, &err), -1);
    assert_int_equal(err.kind, ERR_INVALID);
    err_release(&err);
    ms[1].id[0] = 'A';
    assert_int_equal(store_memory_insert_many(g.st, ms, 2, &err), -1);
    assert_int_equal(err.kind, ERR_INVALID);
    err_release(&err);
    assert_int_equal(store_episode_insert_many(g.st, eps, 0, &err), 0);
    assert_count(&(struct store_scope){ .subject = subject, .all_tenants = 1 }, 0, 0);
}

/* The single-row inserts report an existing id as ERR_CONFLICT, never as a database error. */
static void test_store_single_insert_id_conflict(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "exp-one");
    struct episode old, dup = make_ep(uniq(a, "t"), uniq(a, "exp-one-b"), T0);
    struct memory m = make_mem(NULL, subject, "active", T0), mdup;
    struct err err = ERR_INIT;
    int inserted = -1;

    old = add_ep(a, NULL, subject, T0);
    add_mem(&m);
    memcpy(dup.id, old.id, sizeof(old.id));
    assert_int_equal(store_episode_insert(g.st, a, &dup, &inserted, &err), -1);
    assert_int_equal(err.kind, ERR_CONFLICT);
    assert_string_equal(err.msg, "episode id already exists");
    err_release(&err);

    mdup = make_mem("t", uniq(a, "exp-one-c"), "active", T0);
    memcpy(mdup.id, m.id, sizeof(m.id));
    assert_int_equal(store_memory_insert(g.st, &mdup, &err), -1);
    assert_int_equal(err.kind, ERR_CONFLICT);
    assert_string_equal(err.msg, "memory id already exists");
    err_release(&err);

    /* Inside a transaction too; the transaction then rolls back. */
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_memory_insert(g.st, &mdup, &err), -1);
    assert_int_equal(err.kind, ERR_CONFLICT);
    store_tx_rollback(g.st);
    err_release(&err);
    assert_count(&(struct store_scope){ .subject = subject, .all_tenants = 1 }, 1, 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_store_export_count_scopes),
        T(test_store_export_episode_order_pages),
        T(test_store_export_memory_order_pages),
        T(test_store_export_memories_every_status),
        T(test_store_export_tenant_scope),
        T(test_store_export_bad_page_key),
        T(test_store_export_read_tx_stable),
        T(test_store_ids_taken),
        T(test_store_episode_insert_many_round_trip),
        T(test_store_memory_insert_many_round_trip),
        T(test_store_memory_insert_many_codes),
        T(test_store_insert_many_conflict_existing),
        T(test_store_memory_insert_many_conflict),
        T(test_store_insert_many_duplicate_in_batch),
        T(test_store_insert_many_database_error),
        T(test_store_insert_many_bad_id),
        T(test_store_single_insert_id_conflict),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
