/* test_store.c - the store contract suite: written only against store.h, so it runs unchanged
 * on every backend. ENGRAM_TEST_DATABASE_URL picks the database (default: a fresh SQLite temp
 * file). Every test makes its own subject and tenant ids, so a shared database is fine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/ts.h"

#include "store_harness.h"   /* g, group and test setup, ids, episode and memory rows */

static size_t count_eps(struct arena *a, const char *tenant, const char *subject)
{
    struct episode_rows er;
    struct err err = ERR_INIT;
    size_t n = 99;

    assert_int_equal(store_episode_list(g.st, a,
                                        &(struct store_scope){ .tenant = tenant,
                                                               .subject = subject },
                                        &(struct store_page){ .limit = 1000 }, &er, &err), 0);
    n = er.n;
    return n;
}

/* ---- schema ---- */

static void test_store_migrate_twice(void **state)
{
    struct migrate_result res;
    struct err err = ERR_INIT;
    int current, latest;

    (void)state;
    assert_int_equal(store_schema_version(g.st, &current, &latest, &err), 0);
    if (g.tmp_path[0]) {
        /* A fresh database: the first run applied every step. */
        assert_int_equal(g.first.from_version, 0);
        assert_int_equal(g.first.applied, latest);
    }
    assert_int_equal(g.first.to_version, latest);
    assert_int_equal(store_migrate(g.st, &res, &err), 0);
    assert_int_equal(res.applied, 0);
    assert_int_equal(res.from_version, latest);
    assert_int_equal(res.to_version, latest);
}

static void test_store_schema_version(void **state)
{
    struct err err = ERR_INIT;
    int current = -1, latest = -1;

    (void)state;
    assert_int_equal(store_schema_version(g.st, &current, &latest, &err), 0);
    assert_true(latest >= 1);
    assert_int_equal(current, latest);
}

static void test_store_ping(void **state)
{
    struct err err = ERR_INIT;

    (void)state;
    assert_int_equal(store_ping(g.st, &err), 0);
}

/* A second connection to the same database sees the schema and committed rows. */
static void test_store_second_connection(void **state)
{
    struct episode_rows er;
    struct arena *a = *state;
    const char *subject = uniq(a, "conn2");
    struct migrate_result res;
    struct err err = ERR_INIT;
    store *st2;
    size_t n;

    add_ep(a, NULL, subject, T0);
    assert_int_equal(store_open(g.ops, g.conninfo, &st2, &err), 0);
    assert_int_equal(store_migrate(st2, &res, &err), 0);
    assert_int_equal(res.applied, 0);
    assert_int_equal(store_episode_list(st2, a, &(struct store_scope){ .subject = subject },
                                        &(struct store_page){ .limit = 10 }, &er, &err), 0);
    n = er.n;
    assert_int_equal(n, 1);
    store_close(st2);
}

/* ---- episodes ---- */

static void test_store_episode_list_order(void **state)
{
    struct episode_rows er;
    struct arena *a = *state;
    const char *subject = uniq(a, "order");
    struct episode e1 = make_ep(NULL, subject, T0);
    struct episode e2 = make_ep(NULL, subject, T0);
    struct episode e3 = make_ep(NULL, subject, T0 - 1);
    struct episode e4 = make_ep(NULL, subject, T0);
    struct err err = ERR_INIT;
    struct episode *eps;
    size_t n;
    const struct store_scope in_none = { .subject = subject };

    insert_ok(a, &e1);
    insert_ok(a, &e2);
    insert_ok(a, &e3);
    insert_ok(a, &e4);
    assert_int_equal(store_episode_list(g.st, a, &in_none, &(struct store_page){ .limit = 10 }, &er,
                                        &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 4);
    assert_string_equal(eps[0].id, e3.id);   /* earliest created_at first */
    assert_string_equal(eps[1].id, e1.id);   /* equal created_at: insertion order */
    assert_string_equal(eps[2].id, e2.id);
    assert_string_equal(eps[3].id, e4.id);
    assert_int_equal(store_episode_list(g.st, a, &in_none,
                                        &(struct store_page){ .limit = 2, .offset = 1 }, &er,
                                        &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 2);
    assert_string_equal(eps[0].id, e1.id);
    assert_string_equal(eps[1].id, e2.id);
    assert_int_equal(store_episode_list(g.st, a, &in_none,
                                        &(struct store_page){ .limit = 10, .offset = 4 }, &er,
                                        &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 0);
}

/* Insert ep with key; assert whether it was inserted; returns the id the store reports. */
static const char *insert_keyed(struct arena *a, const char *tenant, const char *subject,
                                const char *key, const char *payload, int want_inserted)
{
    struct episode ep = make_ep(tenant, subject, T0);
    struct err err = ERR_INIT;
    int inserted = -1;

    ep.idempotency_key = key;
    ep.payload = payload;
    assert_int_equal(store_episode_insert(g.st, a, &ep, &inserted, &err), 0);
    assert_int_equal(inserted, want_inserted);
    return arena_strdup(a, ep.id);
}

static void test_store_idempotency_key(void **state)
{
    struct arena *a = *state;
    const char *s1 = uniq(a, "idem"), *s2 = uniq(a, "idem"), *tenant = uniq(a, "tenant");
    const char *first, *again;
    struct episode ep = make_ep(NULL, s1, T0 + 5);
    struct err err = ERR_INIT;
    int inserted = -1;

    first = insert_keyed(a, NULL, s1, "k1", "{\"n\":1}", 1);
    /* Same key, subject and (no) tenant: the original comes back, whole. */
    ep.idempotency_key = "k1";
    ep.payload = "{\"n\":2}";
    assert_int_equal(store_episode_insert(g.st, a, &ep, &inserted, &err), 0);
    assert_int_equal(inserted, 0);
    assert_string_equal(ep.id, first);
    assert_string_equal(ep.payload, "{\"n\":1}");
    assert_string_equal(ep.idempotency_key, "k1");
    assert_null(ep.tenant_id);
    assert_int_equal(ep.created_at, T0);
    /* Same key elsewhere: new rows. */
    insert_keyed(a, NULL, s2, "k1", "{}", 1);
    insert_keyed(a, tenant, s1, "k1", "{}", 1);
    again = insert_keyed(a, tenant, s1, "k1", "{}", 0);
    assert_string_not_equal(again, first);
    insert_keyed(a, NULL, s1, "k2", "{}", 1);
    /* No key: never deduplicated. */
    add_ep(a, NULL, s1, T0);
    add_ep(a, NULL, s1, T0);
    assert_int_equal(count_eps(a, NULL, s1), 4);
    assert_int_equal(count_eps(a, tenant, s1), 1);
}

static void test_store_idempotency_in_transaction(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "idemtx");
    const char *first, *second;
    struct err err = ERR_INIT;

    assert_int_equal(store_tx_begin(g.st, &err), 0);
    first = insert_keyed(a, NULL, subject, "k", "{}", 1);
    second = insert_keyed(a, NULL, subject, "k", "{}", 0);
    assert_string_equal(first, second);
    add_ep(a, NULL, subject, T0);   /* the transaction is still usable */
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    assert_int_equal(count_eps(a, NULL, subject), 2);
}

static void test_store_tenant_isolation(void **state)
{
    struct subject_count_rows sr;
    struct episode_rows er;
    struct arena *a = *state;
    const char *subject = uniq(a, "iso");
    const char *ta = uniq(a, "tenant-a"), *tb = uniq(a, "tenant-b");
    struct err err = ERR_INIT;
    struct subject_count *subs;
    struct episode *eps;
    size_t n;

    add_ep(a, ta, subject, T0);
    add_ep(a, ta, subject, T0);
    add_ep(a, NULL, subject, T0);
    assert_int_equal(count_eps(a, ta, subject), 2);
    assert_int_equal(count_eps(a, tb, subject), 0);
    assert_int_equal(count_eps(a, NULL, subject), 1);
    assert_int_equal(store_episode_list(g.st, a,
                                        &(struct store_scope){ .tenant = ta, .subject = subject },
                                        &(struct store_page){ .limit = 10 }, &er, &err), 0);
    eps = er.items;
    n = er.n;
    assert_string_equal(eps[0].tenant_id, ta);
    assert_int_equal(store_episode_list(g.st, a, &(struct store_scope){ .subject = subject },
                                        &(struct store_page){ .limit = 10 }, &er, &err), 0);
    eps = er.items;
    n = er.n;
    assert_null(eps[0].tenant_id);
    assert_int_equal(store_subject_list(g.st, a, tb, &(struct store_page){ .limit = 100 }, &sr,
                                        &err), 0);
    subs = sr.items;
    n = sr.n;
    assert_int_equal(n, 0);
    assert_int_equal(store_subject_list(g.st, a, ta, &(struct store_page){ .limit = 100 }, &sr,
                                        &err), 0);
    subs = sr.items;
    n = sr.n;
    assert_int_equal(n, 1);
    assert_string_equal(subs[0].subject_id, subject);
    assert_int_equal(subs[0].episode_count, 2);
}

/* An empty tenant string is the "no tenant" space, never a tenant of its own. */
static void test_store_empty_tenant_is_null(void **state)
{
    struct episode_rows er;
    struct arena *a = *state;
    const char *subject = uniq(a, "empty-tenant");
    struct err err = ERR_INIT;
    struct episode *eps;
    size_t n;

    add_ep(a, "", subject, T0);
    assert_int_equal(store_episode_list(g.st, a, &(struct store_scope){ .subject = subject },
                                        &(struct store_page){ .limit = 10 }, &er, &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 1);
    assert_null(eps[0].tenant_id);
    assert_int_equal(count_eps(a, "", subject), 1);
}

/* ---- memories ---- */

static void test_store_memory_list_empty(void **state)
{
    struct memory_rows mr;
    struct arena *a = *state;
    struct err err = ERR_INIT;
    size_t n = 99;

    assert_int_equal(store_memory_list(g.st, a,
                                       &(struct store_scope){ .subject = uniq(a, "nomem") },
                                       &(struct store_page){ .limit = 10 }, &mr, &err), 0);
    n = mr.n;
    assert_int_equal(n, 0);
}

/* ---- subjects ---- */

static void test_store_subject_list(void **state)
{
    struct subject_count_rows sr;
    struct arena *a = *state;
    const char *tenant = uniq(a, "subjects");   /* a tenant of our own: we see only ours */
    static const char *const ids[] = {
        "b", "a", "_snapshot/x", "_bootstrap_tmp/x", "xsnapshot/a", "_snapshotX", "B",
        "\xc3\xa9t\xc3\xa9", "_bootstrap_tmpX/y",
    };
    static const char *const want[] = {
        "B", "_bootstrap_tmpX/y", "_snapshotX", "a", "b", "xsnapshot/a", "\xc3\xa9t\xc3\xa9",
    };
    const char *sfx = uniq(a, "");
    struct err err = ERR_INIT;
    struct subject_count *subs;
    size_t i, n;

    for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        add_ep(a, tenant, arena_printf(a, "%s%s", ids[i], sfx), T0);
    add_ep(a, tenant, arena_printf(a, "a%s", sfx), T0);
    add_ep(a, NULL, arena_printf(a, "a%s", sfx), T0);   /* another tenant space */
    assert_int_equal(store_subject_list(g.st, a, tenant, &(struct store_page){ .limit = 100 }, &sr,
                                        &err), 0);
    subs = sr.items;
    n = sr.n;
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (i = 0; i < n; i++) {
        assert_string_equal(subs[i].subject_id, arena_printf(a, "%s%s", want[i], sfx));
        assert_int_equal(subs[i].episode_count, strcmp(want[i], "a") == 0 ? 2 : 1);
        assert_int_equal(subs[i].memory_count, 0);
    }
    assert_int_equal(store_subject_list(g.st, a, tenant,
                                        &(struct store_page){ .limit = 2, .offset = 3 }, &sr,
                                        &err), 0);
    subs = sr.items;
    n = sr.n;
    assert_int_equal(n, 2);
    assert_string_equal(subs[0].subject_id, arena_printf(a, "a%s", sfx));
    assert_string_equal(subs[1].subject_id, arena_printf(a, "b%s", sfx));
    assert_int_equal(store_subject_list(g.st, a, tenant,
                                        &(struct store_page){ .limit = 5, .offset = 5 }, &sr,
                                        &err), 0);
    subs = sr.items;
    n = sr.n;
    assert_int_equal(n, 2);
    assert_string_equal(subs[1].subject_id, arena_printf(a, "\xc3\xa9t\xc3\xa9%s", sfx));
    assert_int_equal(store_subject_list(g.st, a, tenant,
                                        &(struct store_page){ .limit = 5, .offset = 7 }, &sr,
                                        &err), 0);
    subs = sr.items;
    n = sr.n;
    assert_int_equal(n, 0);
}

static void test_store_subject_delete(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "del"), *other = uniq(a, "keep"), *tenant = uniq(a, "tn");
    const struct store_scope sc = { .tenant = tenant, .subject = subject };
    struct row_counts dc = { -1, -1, -1 };
    struct err err = ERR_INIT;

    add_ep(a, tenant, subject, T0);
    add_ep(a, tenant, subject, T0);
    add_ep(a, NULL, subject, T0);
    add_ep(a, tenant, other, T0);
    assert_int_equal(store_subject_delete(g.st, &sc, &dc, &err), 0);
    assert_int_equal(dc.episodes, 2);
    assert_int_equal(dc.memories, 0);
    assert_int_equal(count_eps(a, tenant, subject), 0);
    assert_int_equal(count_eps(a, NULL, subject), 1);   /* other tenant space untouched */
    assert_int_equal(count_eps(a, tenant, other), 1);   /* other subject untouched */
    assert_int_equal(store_subject_delete(g.st, &sc, &dc, &err), 0);
    assert_int_equal(dc.episodes, 0);
    assert_int_equal(dc.memories, 0);
    assert_int_equal(store_subject_delete(g.st, &(struct store_scope){ .subject = subject }, &dc,
                                          &err), 0);
    assert_int_equal(dc.episodes, 1);
}

static void test_store_subject_delete_in_transaction(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "deltx");
    struct row_counts dc = { -1, -1, -1 };
    struct err err = ERR_INIT;

    add_ep(a, NULL, subject, T0);
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_subject_delete(g.st, &(struct store_scope){ .subject = subject }, &dc,
                                          &err), 0);
    assert_int_equal(dc.episodes, 1);
    store_tx_rollback(g.st);
    assert_int_equal(count_eps(a, NULL, subject), 1);
}

/* ---- transactions ---- */

static void test_store_tx_rollback(void **state)
{
    struct subject_count_rows sr;
    struct arena *a = *state;
    const char *subject = uniq(a, "rollback");
    struct err err = ERR_INIT;
    const char *tenant = uniq(a, "rbt");
    size_t n;

    assert_int_equal(store_tx_begin(g.st, &err), 0);
    add_ep(a, tenant, subject, T0);
    add_ep(a, tenant, subject, T0);
    assert_int_equal(count_eps(a, tenant, subject), 2);   /* visible inside */
    store_tx_rollback(g.st);
    assert_int_equal(count_eps(a, tenant, subject), 0);
    assert_int_equal(store_subject_list(g.st, a, tenant, &(struct store_page){ .limit = 10 }, &sr,
                                        &err), 0);
    n = sr.n;
    assert_int_equal(n, 0);
    /* The connection is usable afterwards, and a commit keeps rows. */
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    add_ep(a, tenant, subject, T0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    assert_int_equal(count_eps(a, tenant, subject), 1);
}

/* ---- round trips ---- */

/* A JSON object of roughly `size` bytes with multi-byte characters. */
static char *big_json(struct arena *a, size_t size)
{
    static const char chunk[] = "h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x8e\x89 ";
    size_t clen = sizeof(chunk) - 1, reps = size / clen, i;
    char *p = arena_alloc(a, reps * clen + 32), *w = p;

    memcpy(w, "{\"text\":\"", 9);
    w += 9;
    for (i = 0; i < reps; i++, w += clen)
        memcpy(w, chunk, clen);
    memcpy(w, "\"}", 3);
    return p;
}

static void test_store_unicode_large_payload(void **state)
{
    struct episode_rows er;
    struct arena *a = *state;
    const char *subject = uniq(a, "\xe4\xb8\xbb\xe9\xa2\x98/\xf0\x9f\x98\x80 x");
    struct episode ep = make_ep(uniq(a, "t\xc3\xa9nant"), subject, T0);
    struct err err = ERR_INIT;
    struct episode *eps;
    size_t n;

    ep.payload = big_json(a, 2 * 1024 * 1024);
    ep.metadata = "{\"k\":\"\xe2\x82\xac \\\"quoted\\\" \\\\ \\n\"}";
    ep.provenance = "{\"src\":[1,2.5,null,true]}";
    ep.session_id = "sess-\xc3\xbc";
    ep.source = "s\xc3\xb8urce";
    ep.type = "t\xc3\xbfpe";
    insert_ok(a, &ep);
    assert_int_equal(store_episode_list(g.st, a,
                                        &(struct store_scope){ .tenant = ep.tenant_id,
                                                               .subject = subject },
                                        &(struct store_page){ .limit = 10 }, &er, &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 1);
    assert_string_equal(eps[0].id, ep.id);
    assert_string_equal(eps[0].subject_id, subject);
    assert_string_equal(eps[0].tenant_id, ep.tenant_id);
    assert_string_equal(eps[0].session_id, ep.session_id);
    assert_string_equal(eps[0].source, ep.source);
    assert_string_equal(eps[0].type, ep.type);
    assert_int_equal(strlen(eps[0].payload), strlen(ep.payload));
    assert_true(strcmp(eps[0].payload, ep.payload) == 0);
    assert_string_equal(eps[0].metadata, ep.metadata);
    assert_string_equal(eps[0].provenance, ep.provenance);
    assert_null(eps[0].idempotency_key);
}

static void test_store_timestamps_round_trip(void **state)
{
    struct episode_rows er;
    struct arena *a = *state;
    const char *subject = uniq(a, "ts");
    static const int64_t values[] = {
        T0, 1, 0, 4102444800000001LL /* 2100-01-01T00:00:00.000001Z */, 951782400999999LL,
    };
    struct err err = ERR_INIT;
    struct episode *eps;
    size_t i, n;

    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct episode ep = make_ep(NULL, subject, values[i]);

        ep.last_compiled_at = i % 2 ? values[i] + 999999 : TS_NULL;
        insert_ok(a, &ep);
    }
    assert_int_equal(store_episode_list(g.st, a, &(struct store_scope){ .subject = subject },
                                        &(struct store_page){ .limit = 10 }, &er, &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 5);
    /* Ascending created_at: 0, 1, 2000-02-29…, T0, 2100… */
    assert_int_equal(eps[0].created_at, 0);
    assert_int_equal(eps[0].last_compiled_at, TS_NULL);
    assert_int_equal(eps[1].created_at, 1);
    assert_int_equal(eps[1].last_compiled_at, 1 + 999999);
    assert_int_equal(eps[2].created_at, 951782400999999LL);
    assert_int_equal(eps[3].created_at, T0);
    assert_int_equal(eps[3].last_compiled_at, TS_NULL);
    assert_int_equal(eps[4].created_at, 4102444800000001LL);
    assert_int_equal(eps[4].last_compiled_at, 4102444800000001LL + 999999);
}

/* ---- the memory loop: episodes ---- */

/* 1 if id is one of the n episodes. */
static int has_ep(const struct episode *eps, size_t n, const char *id)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(eps[i].id, id) == 0)
            return 1;
    return 0;
}

static void test_store_episode_uncompiled_and_mark(void **state)
{
    struct episode_rows er;
    struct arena *a = *state;
    const char *subject = uniq(a, "uncomp"), *tenant = uniq(a, "tn");
    struct episode e1 = make_ep(tenant, subject, T0 + 2), e2 = make_ep(tenant, subject, T0);
    struct episode e3 = make_ep(tenant, subject, T0), other = make_ep(NULL, subject, T0);
    char unknown[UUID_STR_LEN];
    const char *ids[5] = { e2.id, e1.id, other.id, "not-a-uuid\"]", unknown };
    struct err err = ERR_INIT;
    struct episode *eps;
    size_t n;
    const struct store_scope in_tenant = { .tenant = tenant, .subject = subject };

    uuid_v4(unknown);
    insert_ok(a, &e1);
    insert_ok(a, &e2);
    insert_ok(a, &e3);
    insert_ok(a, &other);
    assert_int_equal(store_episode_list_uncompiled(g.st, a, &in_tenant, 10, &er, &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 3);
    assert_string_equal(eps[0].id, e2.id);   /* oldest first, ties by insertion order */
    assert_string_equal(eps[1].id, e3.id);
    assert_string_equal(eps[2].id, e1.id);
    assert_int_equal(store_episode_list_uncompiled(g.st, a, &in_tenant, 2, &er, &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 2);
    assert_string_equal(eps[1].id, e3.id);

    /* Inside a transaction that rolls back: nothing changes. */
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_episode_mark_compiled(g.st, tenant, ids, 5, T0 + 100, &err), 0);
    store_tx_rollback(g.st);
    assert_int_equal(store_episode_list_uncompiled(g.st, a, &in_tenant, 10, &er, &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 3);

    /* Unknown, malformed and other tenants' ids are skipped. */
    assert_int_equal(store_episode_mark_compiled(g.st, tenant, ids, 5, T0 + 100, &err), 0);
    assert_int_equal(store_episode_mark_compiled(g.st, tenant, ids, 0, T0 + 200, &err), 0);
    assert_int_equal(store_episode_list_uncompiled(g.st, a, &in_tenant, 10, &er, &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 1);
    assert_string_equal(eps[0].id, e3.id);
    assert_int_equal(store_episode_list(g.st, a, &in_tenant, &(struct store_page){ .limit = 10 },
                                        &er, &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(eps[0].last_compiled_at, T0 + 100);   /* e2 */
    assert_int_equal(eps[1].last_compiled_at, TS_NULL);    /* e3 */
    assert_int_equal(eps[2].last_compiled_at, T0 + 100);   /* e1 */
    assert_int_equal(store_episode_list_uncompiled(g.st, a,
                                                   &(struct store_scope){ .subject = subject }, 10,
                                                   &er, &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 1);
    assert_string_equal(eps[0].id, other.id);
}

static void test_store_episode_list_recent(void **state)
{
    struct episode_rows er;
    struct arena *a = *state;
    const char *subject = uniq(a, "recent"), *tenant = uniq(a, "tn");
    struct episode ea = make_ep(tenant, subject, T0), eb = make_ep(tenant, subject, T0 + 5);
    struct episode ec = make_ep(tenant, subject, T0 + 5), ed = make_ep(tenant, subject, T0 - 3);
    struct err err = ERR_INIT;
    struct episode *eps;
    size_t n;
    const struct store_scope in_tenant = { .tenant = tenant, .subject = subject };

    insert_ok(a, &ea);
    insert_ok(a, &eb);
    insert_ok(a, &ec);
    insert_ok(a, &ed);
    add_ep(a, NULL, subject, T0 + 9);   /* another tenant space */
    assert_int_equal(store_episode_list_recent(g.st, a, &in_tenant, 10, &er, &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 4);
    /* Exact reverse insertion order: equal times newest-inserted first, so a cut keeps the
     * most recent rows. */
    assert_string_equal(eps[0].id, ec.id);
    assert_string_equal(eps[1].id, eb.id);
    assert_string_equal(eps[2].id, ea.id);
    assert_string_equal(eps[3].id, ed.id);
    assert_int_equal(store_episode_list_recent(g.st, a, &in_tenant, 1, &er, &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 1);
    assert_string_equal(eps[0].id, ec.id);
    assert_int_equal(store_episode_list_recent(g.st, a,
                                               &(struct store_scope){ .tenant = tenant,
                                                                      .subject = uniq(a, "none") },
                                               5, &er, &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 0);
}

static void test_store_episode_get_many(void **state)
{
    struct episode_rows er;
    struct arena *a = *state;
    const char *subject = uniq(a, "many"), *tenant = uniq(a, "tn");
    struct episode e1 = make_ep(tenant, subject, T0), e2 = make_ep(tenant, uniq(a, "s2"), T0);
    struct episode foreign = make_ep(uniq(a, "tn"), subject, T0);
    struct episode none = make_ep(NULL, subject, T0);
    char unknown[UUID_STR_LEN];
    const char *ids[7] = { unknown, e2.id, foreign.id, "x\"]", e1.id, "", e1.id };
    struct err err = ERR_INIT;
    struct episode *eps;
    size_t n;

    uuid_v4(unknown);
    insert_ok(a, &e1);
    insert_ok(a, &e2);
    insert_ok(a, &foreign);
    assert_int_equal(store_episode_get_many(g.st, a, tenant, &(struct store_ids){ ids, 7 }, &er,
                                            &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 2);   /* e1 once, e2 (another subject of the tenant) */
    assert_true(has_ep(eps, n, e1.id));
    assert_true(has_ep(eps, n, e2.id));
    assert_string_equal(eps[0].tenant_id, tenant);
    assert_int_equal(store_episode_get_many(g.st, a, NULL, &(struct store_ids){ ids, 7 }, &er,
                                            &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 0);
    /* The no-tenant space holds only its own rows, and they come back in it. */
    insert_ok(a, &none);
    ids[0] = none.id;
    assert_int_equal(store_episode_get_many(g.st, a, NULL, &(struct store_ids){ ids, 7 }, &er,
                                            &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 1);
    assert_string_equal(eps[0].id, none.id);
    assert_null(eps[0].tenant_id);
    assert_int_equal(store_episode_get_many(g.st, a, tenant, &(struct store_ids){ ids, 7 }, &er,
                                            &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 2);
    assert_int_equal(store_episode_get_many(g.st, a, tenant, &(struct store_ids){ ids, 0 }, &er,
                                            &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 0);
    assert_non_null(eps);
}

/* ---- the memory loop: memories ---- */

static struct memory make_mem(const char *tenant, const char *subject, const char *kind,
                              int64_t created_at)
{
    return make_mem_with(tenant, subject, kind, "content", "active", created_at);
}

static struct memory *mem_get(struct arena *a, const char *tenant, const char *id)
{
    struct err err = ERR_INIT;
    struct memory *m = (void *)1;

    assert_int_equal(store_memory_get(g.st, a, tenant, id, &m, &err), 0);
    return m;
}

/* dim floats of a fixed pseudo-random pattern (a linear congruential generator, values up to
 * about +-11000), in the arena. */
static float *lcg_vec(struct arena *a, size_t dim, unsigned seed)
{
    float *v = arena_alloc(a, dim * sizeof(*v));
    size_t i;

    for (i = 0; i < dim; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = (float)((int)(seed >> 8 & 0xffff) - 32768) / 3.0f;
    }
    return v;
}

static void assert_vec(const float *got, size_t got_dim, const float *want, size_t dim)
{
    assert_non_null(got);
    assert_int_equal(got_dim, dim);
    assert_memory_equal(got, want, dim * sizeof(*want));
}

static void test_store_memory_round_trip(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "\xe4\xb8\xbbmem"), *tenant = uniq(a, "tn");
    static const float vec[] = { 1.0f / 3, -0.0f, 1e-38f, 3.4028235e38f, 0.1f, -7.5f };
    struct memory m = make_mem(tenant, subject, "profile_fact", T0 + 1), m2, *got;
    char s1[UUID_STR_LEN], s2[UUID_STR_LEN], s3[UUID_STR_LEN];
    double third = 0.1 + 0.2;

    uuid_v4(s1);
    uuid_v4(s2);
    uuid_v4(s3);
    m.content = "\xc3\x9cn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x8e\x89"
                " \"q\" \\ '";
    m.summary = "s\xc3\xbcmmary";
    m.confidence = 0.6;
    m.valid_from = T0;
    m.source_episode_ids = arena_printf(a, "[\"%s\",\"%s\",\"%s\"]", s3, s1, s2);
    m.metadata = "{\"a\":1,\"b\":[true,null,\"\xe2\x82\xac\"]}";
    m.embedding = vec;
    m.embedding_dim = sizeof(vec) / sizeof(vec[0]);
    m.sensitivity_labels = "[\"pii\",\"secret\"]";
    m.updated_at = T0 + 2;
    add_mem(&m);
    got = mem_get(a, tenant, m.id);
    assert_non_null(got);
    assert_string_equal(got->id, m.id);
    assert_string_equal(got->subject_id, subject);
    assert_string_equal(got->tenant_id, tenant);
    assert_string_equal(got->kind, "profile_fact");
    assert_string_equal(got->content, m.content);
    assert_string_equal(got->summary, m.summary);
    assert_memory_equal(&got->confidence, &m.confidence, sizeof(double));
    assert_int_equal(got->valid_from, T0);
    assert_int_equal(got->valid_to, TS_NULL);
    assert_string_equal(got->source_episode_ids, m.source_episode_ids);   /* order kept */
    assert_string_equal(got->metadata, m.metadata);
    assert_string_equal(got->status, "active");
    assert_vec(got->embedding, got->embedding_dim, vec, m.embedding_dim);
    assert_string_equal(got->sensitivity_labels, m.sensitivity_labels);
    assert_int_equal(got->created_at, T0 + 1);
    assert_int_equal(got->updated_at, T0 + 2);

    /* No tenant, a closed validity, no embedding, 0.1 + 0.2 exactly. */
    m2 = make_mem(NULL, subject, "episode_summary", T0);
    m2.confidence = third;
    m2.valid_to = T0 + 7;
    add_mem(&m2);
    got = mem_get(a, NULL, m2.id);
    assert_non_null(got);
    assert_null(got->tenant_id);
    assert_memory_equal(&got->confidence, &third, sizeof(double));
    assert_int_equal(got->valid_to, T0 + 7);
    assert_null(got->embedding);
    assert_int_equal(got->embedding_dim, 0);
    assert_string_equal(got->source_episode_ids, "[]");
    assert_string_equal(got->sensitivity_labels, "[]");

    /* Other tenants, unknown and malformed ids: none, not an error. */
    assert_null(mem_get(a, NULL, m.id));
    assert_null(mem_get(a, uniq(a, "tn"), m.id));
    assert_null(mem_get(a, tenant, m2.id));
    assert_null(mem_get(a, tenant, "not-a-uuid"));
    assert_null(mem_get(a, tenant, s1));
}

static const char *list_active(struct arena *a, const char *tenant, const char *subject,
                               const char *kind, enum memory_sort order, int flags,
                               size_t limit, struct memory **out)
{
    struct memory_rows mr;
    struct err err = ERR_INIT;
    struct memory *ms;
    size_t n;

    assert_int_equal(store_memory_list_active(g.st, a,
                                              &(struct store_scope){ .tenant = tenant,
                                                                     .subject = subject },
                                              &(struct memory_query){ .kind = kind, .order = order,
                                                                      .flags = flags,
                                                                      .limit = limit },
                                              &mr, &err), 0);
    ms = mr.items;
    n = mr.n;
    if (out)
        *out = ms;
    return mem_ids(a, ms, n);
}

#define IDS2(x, y) arena_printf(a, "%s,%s,", (x).id, (y).id)
#define IDS4(w, x, y, z) arena_printf(a, "%s,%s,%s,%s,", (w).id, (x).id, (y).id, (z).id)

static void test_store_memory_list_active(void **state)
{
    struct arena *a = *state;
    const char *s = uniq(a, "active"), *t = uniq(a, "tn");
    float *v1 = lcg_vec(a, 8, 1), *v3 = lcg_vec(a, 8, 3);
    struct memory m1 = make_mem(t, s, "profile_fact", T0), m2 = make_mem(t, s, "profile_fact", T0);
    struct memory m3 = make_mem(t, s, "episode_summary", T0 + 1);
    struct memory m4 = make_mem(t, s, "profile_fact", T0 - 1);
    struct memory m5 = make_mem(t, s, "procedure", T0 + 2), mo = make_mem(NULL, s, "procedure", T0);
    struct memory *ms;

    m1.embedding = v1;
    m1.embedding_dim = 8;
    m3.embedding = v3;
    m3.embedding_dim = 8;
    m4.status = "superseded";
    add_mem(&m1);
    add_mem(&m2);
    add_mem(&m3);
    add_mem(&m4);
    add_mem(&m5);
    add_mem(&mo);
    assert_string_equal(list_active(a, t, s, NULL, MEMORY_OLDEST_FIRST, 0, 0, &ms),
                        IDS4(m1, m2, m3, m5));
    assert_null(ms[0].embedding);   /* not asked for */
    assert_string_equal(list_active(a, t, s, NULL, MEMORY_NEWEST_FIRST, 0, 0, NULL),
                        IDS4(m5, m3, m1, m2));   /* equal created_at: insertion order */
    assert_string_equal(list_active(a, t, s, "profile_fact", MEMORY_OLDEST_FIRST, 0, 0, NULL),
                        IDS2(m1, m2));
    assert_string_equal(list_active(a, t, s, "profile_fact", MEMORY_NEWEST_FIRST, 0, 0, NULL),
                        IDS2(m1, m2));
    assert_string_equal(list_active(a, t, s, NULL, MEMORY_OLDEST_FIRST, 0, 2, NULL),
                        IDS2(m1, m2));
    assert_string_equal(list_active(a, t, s, NULL, MEMORY_NEWEST_FIRST, 0, 2, NULL),
                        IDS2(m5, m3));
    assert_string_equal(list_active(a, t, s, NULL, MEMORY_OLDEST_FIRST, MEMORY_WITH_EMBEDDING,
                                    0, &ms), IDS2(m1, m3));
    assert_null(ms[0].embedding);
    assert_int_equal(ms[0].embedding_dim, 0);
    assert_string_equal(list_active(a, t, s, NULL, MEMORY_NEWEST_FIRST,
                                    MEMORY_WITH_EMBEDDING | MEMORY_LOAD_EMBEDDING, 0, &ms),
                        IDS2(m3, m1));
    assert_vec(ms[0].embedding, ms[0].embedding_dim, v3, 8);
    assert_vec(ms[1].embedding, ms[1].embedding_dim, v1, 8);
    assert_string_equal(list_active(a, t, s, NULL, MEMORY_OLDEST_FIRST, MEMORY_LOAD_EMBEDDING,
                                    0, &ms), IDS4(m1, m2, m3, m5));
    assert_vec(ms[0].embedding, ms[0].embedding_dim, v1, 8);
    assert_null(ms[1].embedding);
    assert_string_equal(list_active(a, t, s, "artifact_ref", MEMORY_OLDEST_FIRST, 0, 0, NULL),
                        "");
    assert_string_equal(list_active(a, NULL, s, NULL, MEMORY_OLDEST_FIRST, 0, 0, NULL),
                        arena_printf(a, "%s,", mo.id));
    assert_string_equal(list_active(a, uniq(a, "tn"), s, NULL, MEMORY_OLDEST_FIRST, 0, 0, NULL),
                        "");
}

/* context_read gives exactly what the single reads give (PostgreSQL sends them as one
 * pipelined batch): per kind the newest active memories of the tenant, the newest episodes
 * in reverse insertion order, the resolutions. */
static void test_store_context_read(void **state)
{
    struct resolution_rows rr;
    struct episode_rows er;
    struct arena *a = *state;
    const char *s = uniq(a, "ctxread"), *t = uniq(a, "tn");
    const char *kinds[3] = { "profile_fact", "procedure", "episode_summary" };
    const size_t limits[3] = { 2, 0, 5 };
    struct memory m[7];
    struct episode e[5], *eps, *want_eps;
    const char *extra[3];
    struct context_reads r;
    struct err err = ERR_INIT;
    size_t k, n, nres;
    int i;
    const struct store_scope in_t = { .tenant = t, .subject = s };

    for (i = 0; i < 4; i++)
        e[i] = add_ep(a, t, s, T0 + i / 2);   /* pairs of equal timestamps */
    e[4] = add_ep(a, NULL, s, T0 + 9);          /* another tenant */
    m[0] = make_mem(t, s, "profile_fact", T0);
    m[1] = make_mem(t, s, "profile_fact", T0 + 2);
    /* Sources: m[1] cites e0 and e4 (the other tenant's), m[0] (beyond the limit) e1. */
    m[1].source_episode_ids = arena_printf(a, "[\"%s\",\"%s\"]", e[0].id, e[4].id);
    m[0].source_episode_ids = arena_printf(a, "[\"%s\"]", e[1].id);
    m[2] = make_mem(t, s, "profile_fact", T0 + 1);
    m[3] = make_mem(t, s, "procedure", T0);
    m[4] = make_mem(t, s, "profile_fact", T0 + 5);
    m[4].status = "superseded";
    m[5] = make_mem(NULL, s, "procedure", T0 + 3);
    m[6] = make_mem(t, s, "artifact_ref", T0);
    for (i = 0; i < 7; i++)
        add_mem(&m[i]);

    memset(&r, 0, sizeof(r));
    r.nkinds = 3;
    for (k = 0; k < 3; k++) {
        r.kinds[k] = kinds[k];
        r.limits[k] = limits[k];
    }
    r.episodes = 3;
    extra[0] = e[2].id;
    extra[1] = "not-a-uuid";
    extra[2] = e[0].id;   /* twice: once cited, once extra */
    r.extra_sources = extra;
    r.nextra = 3;
    assert_int_equal(store_context_read(g.st, a, &in_t, &r, &err), 0);
    /* Sources, where the backend brings them (PostgreSQL): e0 and e2 of the tenant, once
     * each; not e4 (another tenant), not e1 (cited by a memory past the limit). */
    assert_int_equal(r.have_sources, strcmp(g.ops->name, "postgres") == 0);
    if (r.have_sources) {
        assert_int_equal(r.nsources, 2);
        assert_true(has_ep(r.sources, r.nsources, e[0].id));
        assert_true(has_ep(r.sources, r.nsources, e[2].id));
    }
    assert_string_equal(mem_ids(a, r.memories[0], r.nmemories[0]), IDS2(m[1], m[2]));
    assert_string_equal(mem_ids(a, r.memories[1], r.nmemories[1]),
                        arena_printf(a, "%s,", m[3].id));
    assert_int_equal(r.nmemories[2], 0);
    for (k = 0; k < 3; k++)
        assert_string_equal(mem_ids(a, r.memories[k], r.nmemories[k]),
                            list_active(a, t, s, kinds[k], MEMORY_NEWEST_FIRST, 0, limits[k],
                                        NULL));
    assert_int_equal(store_episode_list_recent(g.st, a, &in_t, 3, &er, &err), 0);
    want_eps = er.items;
    n = er.n;
    assert_int_equal(r.nrecent, 3);
    eps = r.recent;
    assert_string_equal(ep_ids(a, eps, r.nrecent), ep_ids(a, want_eps, n));
    assert_int_equal(store_resolution_list(g.st, a, &in_t, &rr, &err), 0);
    nres = rr.n;
    assert_int_equal(r.nresolutions, nres);

    /* An unknown subject: every list empty, not an error. */
    r.nextra = 0;
    assert_int_equal(store_context_read(g.st, a,
                                        &(struct store_scope){ .tenant = t,
                                                               .subject = uniq(a, "nobody") },
                                        &r, &err), 0);
    assert_int_equal(r.nsources, 0);
    for (k = 0; k < 3; k++)
        assert_int_equal(r.nmemories[k], 0);
    assert_int_equal(r.nrecent, 0);
    assert_int_equal(r.nresolutions, 0);
}

static void test_store_memory_supersede(void **state)
{
    struct arena *a = *state;
    const char *s = uniq(a, "supersede"), *t = uniq(a, "tn");
    struct memory m1 = make_mem(t, s, "profile_fact", T0), m2 = make_mem(t, s, "profile_fact", T0);
    struct err err = ERR_INIT;
    struct memory *got;

    add_mem(&m1);
    add_mem(&m2);
    assert_int_equal(store_memory_supersede(g.st, t, m1.id, T0 + 5, T0 + 6, &err), 0);
    got = mem_get(a, t, m1.id);
    assert_string_equal(got->status, "superseded");
    assert_int_equal(got->valid_to, T0 + 5);
    assert_int_equal(got->updated_at, T0 + 6);
    assert_int_equal(got->created_at, T0);
    assert_string_equal(list_active(a, t, s, NULL, MEMORY_OLDEST_FIRST, 0, 0, NULL),
                        arena_printf(a, "%s,", m2.id));
    /* Another tenant's call, an unknown or malformed id: nothing happens. */
    assert_int_equal(store_memory_supersede(g.st, NULL, m2.id, T0 + 5, T0 + 6, &err), 0);
    assert_int_equal(store_memory_supersede(g.st, t, "bad-id", T0 + 5, T0 + 6, &err), 0);
    got = mem_get(a, t, m2.id);
    assert_string_equal(got->status, "active");
    assert_int_equal(got->valid_to, TS_NULL);
}

static void test_store_memory_set_embedding(void **state)
{
    struct arena *a = *state;
    const char *s = uniq(a, "embed"), *t = uniq(a, "tn");
    struct memory m = make_mem(t, s, "profile_fact", T0), *got;
    float *v = lcg_vec(a, 1536, 42), *w = lcg_vec(a, 4, 7);
    char unknown[UUID_STR_LEN];
    struct err err = ERR_INIT;

    uuid_v4(unknown);
    add_mem(&m);
    assert_string_equal(list_active(a, t, s, NULL, MEMORY_OLDEST_FIRST, MEMORY_WITH_EMBEDDING,
                                    0, NULL), "");
    assert_int_equal(store_memory_set_embedding(g.st, m.id, v, 1536, &err), 0);
    got = mem_get(a, t, m.id);
    assert_vec(got->embedding, got->embedding_dim, v, 1536);
    assert_int_equal(got->updated_at, T0);
    assert_string_equal(list_active(a, t, s, NULL, MEMORY_OLDEST_FIRST, MEMORY_WITH_EMBEDDING,
                                    0, NULL), arena_printf(a, "%s,", m.id));
    assert_int_equal(store_memory_set_embedding(g.st, m.id, w, 4, &err), 0);
    got = mem_get(a, t, m.id);
    assert_vec(got->embedding, got->embedding_dim, w, 4);
    assert_int_equal(store_memory_set_embedding(g.st, m.id, NULL, 0, &err), 0);
    got = mem_get(a, t, m.id);
    assert_null(got->embedding);
    assert_int_equal(store_memory_set_embedding(g.st, unknown, w, 4, &err), 0);
    assert_int_equal(store_memory_set_embedding(g.st, "bad-id", w, 4, &err), 0);
}

/* The batch form (issue 22: compile stores its vectors in one call): each memory gets its own
 * vector, unknown and malformed ids match nothing, none at all is a no-op; inside a
 * transaction that rolls back, nothing was written. */
static void test_store_memory_set_embeddings(void **state)
{
    struct arena *a = *state;
    const char *s = uniq(a, "embeds"), *t = uniq(a, "tn");
    struct memory m1 = make_mem(t, s, "profile_fact", T0), m2 = make_mem(t, s, "procedure", T0);
    float *v = lcg_vec(a, 4 * 4, 9), *w = lcg_vec(a, 2 * 4, 3);
    char unknown[UUID_STR_LEN];
    const char *ids[4] = { m1.id, unknown, "bad-id", m2.id };
    const char *two[2] = { m1.id, m2.id };
    struct err err = ERR_INIT;
    struct memory *got;

    uuid_v4(unknown);
    add_mem(&m1);
    add_mem(&m2);
    assert_int_equal(store_memory_set_embeddings(g.st, ids, v, 4, 4, &err), 0);
    got = mem_get(a, t, m1.id);
    assert_vec(got->embedding, got->embedding_dim, v, 4);
    got = mem_get(a, t, m2.id);
    assert_vec(got->embedding, got->embedding_dim, v + 12, 4);
    assert_int_equal(store_memory_set_embeddings(g.st, ids, v, 4, 0, &err), 0);
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_memory_set_embeddings(g.st, two, w, 4, 2, &err), 0);
    store_tx_rollback(g.st);
    got = mem_get(a, t, m2.id);
    assert_vec(got->embedding, got->embedding_dim, v + 12, 4);
    assert_int_equal(store_memory_set_embeddings(g.st, two, w, 4, 2, &err), 0);
    got = mem_get(a, t, m2.id);
    assert_vec(got->embedding, got->embedding_dim, w + 4, 4);
}

static void test_store_memory_set_labels(void **state)
{
    struct arena *a = *state;
    const char *s = uniq(a, "labels"), *t = uniq(a, "tn");
    struct memory m = make_mem(t, s, "profile_fact", T0), *got;
    char unknown[UUID_STR_LEN];
    struct err err = ERR_INIT;
    struct label_update u = { .tenant = t, .memory_id = m.id,
                              .labels_json = "[\"pii\",\"h\xc3\xa9\"]", .updated_at = T0 + 9 };
    int found = -1;

    uuid_v4(unknown);
    add_mem(&m);
    assert_int_equal(store_memory_set_labels(g.st, &u, &found, &err), 0);
    assert_int_equal(found, 1);
    got = mem_get(a, t, m.id);
    assert_string_equal(got->sensitivity_labels, "[\"pii\",\"h\xc3\xa9\"]");
    assert_int_equal(got->updated_at, T0 + 9);
    found = -1;
    assert_int_equal(store_memory_set_labels(g.st,
                                             &(struct label_update){ .tenant = uniq(a, "tn"),
                                                                     .memory_id = m.id,
                                                                     .labels_json = "[]",
                                                                     .updated_at = T0 + 10 },
                                             &found, &err), 0);
    assert_int_equal(found, 0);
    assert_int_equal(store_memory_set_labels(g.st,
                                             &(struct label_update){ .tenant = NULL,
                                                                     .memory_id = m.id,
                                                                     .labels_json = "[]",
                                                                     .updated_at = T0 + 10 },
                                             &found, &err), 0);
    assert_int_equal(found, 0);
    found = -1;
    assert_int_equal(store_memory_set_labels(g.st,
                                             &(struct label_update){ .tenant = t,
                                                                     .memory_id = unknown,
                                                                     .labels_json = "[]",
                                                                     .updated_at = T0 + 10 },
                                             &found, &err), 0);
    assert_int_equal(found, 0);
    assert_int_equal(store_memory_set_labels(g.st,
                                             &(struct label_update){ .tenant = t,
                                                                     .memory_id = "bad-id",
                                                                     .labels_json = "[]",
                                                                     .updated_at = T0 + 10 },
                                             &found, &err), 0);
    assert_int_equal(found, 0);
    got = mem_get(a, t, m.id);
    assert_string_equal(got->sensitivity_labels, "[\"pii\",\"h\xc3\xa9\"]");
    assert_int_equal(got->updated_at, T0 + 9);
    assert_int_equal(store_memory_set_labels(g.st,
                                             &(struct label_update){ .tenant = t, .memory_id = m.id,
                                                                     .labels_json = "[]",
                                                                     .updated_at = T0 + 11 },
                                             &found, &err), 0);
    assert_int_equal(found, 1);
    assert_string_equal(mem_get(a, t, m.id)->sensitivity_labels, "[]");
}

static void test_store_compile_reset(void **state)
{
    struct episode_rows er;
    struct memory_rows mr;
    struct arena *a = *state;
    const char *s = uniq(a, "reset"), *t = uniq(a, "tn"), *s2 = uniq(a, "keep");
    struct episode e1 = make_ep(t, s, T0), e2 = make_ep(t, s, T0), eo = make_ep(NULL, s, T0);
    const char *ids[3] = { e1.id, e2.id, eo.id };
    struct memory m1 = make_mem(t, s, "profile_fact", T0), m2 = make_mem(t, s, "procedure", T0);
    struct memory mo = make_mem(NULL, s, "profile_fact", T0);
    struct memory ms2 = make_mem(t, s2, "profile_fact", T0);
    struct err err = ERR_INIT;
    int64_t deleted = -1;
    size_t n;
    const struct store_scope in_t = { .tenant = t, .subject = s };

    insert_ok(a, &e1);
    insert_ok(a, &e2);
    insert_ok(a, &eo);
    assert_int_equal(store_episode_mark_compiled(g.st, t, ids, 3, T0 + 1, &err), 0);
    assert_int_equal(store_episode_mark_compiled(g.st, NULL, ids, 3, T0 + 1, &err), 0);
    m2.status = "superseded";
    add_mem(&m1);
    add_mem(&m2);
    add_mem(&mo);
    add_mem(&ms2);
    /* Rolled back: nothing changes. */
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_compile_reset(g.st, &in_t, &deleted, &err), 0);
    assert_int_equal(deleted, 2);
    store_tx_rollback(g.st);
    assert_int_equal(store_memory_list(g.st, a, &in_t, &(struct store_page){ .limit = 10 }, &mr,
                                       &err), 0);
    n = mr.n;
    assert_int_equal(n, 2);

    assert_int_equal(store_compile_reset(g.st, &in_t, &deleted, &err), 0);
    assert_int_equal(deleted, 2);   /* every status */
    assert_int_equal(store_memory_list(g.st, a, &in_t, &(struct store_page){ .limit = 10 }, &mr,
                                       &err), 0);
    n = mr.n;
    assert_int_equal(n, 0);
    assert_int_equal(store_episode_list_uncompiled(g.st, a, &in_t, 10, &er, &err), 0);
    n = er.n;
    assert_int_equal(n, 2);
    /* The other tenant space and the other subject are untouched. */
    assert_int_equal(store_episode_list_uncompiled(g.st, a, &(struct store_scope){ .subject = s },
                                                   10, &er, &err), 0);
    n = er.n;
    assert_int_equal(n, 0);
    assert_non_null(mem_get(a, NULL, mo.id));
    assert_non_null(mem_get(a, t, ms2.id));
    assert_int_equal(store_compile_reset(g.st, &in_t, &deleted, &err), 0);
    assert_int_equal(deleted, 0);
}

/* ---- query-embedding cache ---- */

static void qc_get(struct arena *a, const char *text, const char *model, int64_t now,
                   float **v, size_t *dim)
{
    /* vec starts as garbage: a miss must set it to NULL */
    struct qcache_lookup ql = { .text = text, .model = model, .now = now, .vec = (float *)1 };
    struct err err = ERR_INIT;

    assert_int_equal(store_qcache_get(g.st, a, &ql, &err), 0);
    *v = ql.vec;
    *dim = ql.dim;
}

static void qc_put(const char *text, const float *v, size_t dim, int64_t now, int64_t expires,
                   int64_t purge_before)
{
    struct err err = ERR_INIT;

    assert_int_equal(store_qcache_put(g.st,
                                      &(struct qcache_write){ .text = text, .model = "m1", .vec = v,
                                                              .dim = dim, .now = now,
                                                              .expires_at = expires,
                                                              .purge_before = purge_before },
                                      &err), 0);
}

#define DAY_US (86400LL * 1000000)

static void test_store_qcache(void **state)
{
    struct arena *a = *state;
    const char *text = uniq(a, "what is h\xc3\xa9r name?"), *old = uniq(a, "old");
    float *v1 = lcg_vec(a, 16, 1), *v2 = lcg_vec(a, 16, 2), *got;
    size_t dim;

    qc_get(a, text, "m1", T0, &got, &dim);
    assert_null(got);
    qc_put(text, v1, 16, T0, T0 + DAY_US, T0 - 7 * DAY_US);
    qc_get(a, text, "m1", T0, &got, &dim);
    assert_vec(got, dim, v1, 16);
    qc_get(a, text, "m1", T0 + DAY_US - 1, &got, &dim);
    assert_non_null(got);
    qc_get(a, text, "m1", T0 + DAY_US, &got, &dim);   /* expires_at > now, strictly */
    assert_null(got);
    qc_get(a, text, "m2", T0, &got, &dim);            /* keyed by model too */
    assert_null(got);
    /* Upsert replaces the vector and the expiry. */
    qc_put(text, v2, 16, T0 + 10, T0 + 2 * DAY_US, T0 - 7 * DAY_US);
    qc_get(a, text, "m1", T0 + DAY_US, &got, &dim);
    assert_vec(got, dim, v2, 16);
    /* A put deletes rows that expired before purge_before. */
    qc_put(old, v1, 16, T0 - 20 * DAY_US, T0 - 10 * DAY_US, T0 - 30 * DAY_US);
    qc_get(a, old, "m1", T0 - 11 * DAY_US, &got, &dim);
    assert_non_null(got);
    qc_put(text, v2, 16, T0, T0 + DAY_US, T0 - 7 * DAY_US);
    qc_get(a, old, "m1", T0 - 11 * DAY_US, &got, &dim);
    assert_null(got);
}

/* Texts over 2000 bytes are not cached (PostgreSQL's key index cannot hold them). */
static void test_store_qcache_long_text(void **state)
{
    struct arena *a = *state;
    char *at_limit = arena_alloc(a, 2001), *too_long = arena_alloc(a, 3001);
    float *v = lcg_vec(a, 8, 5), *got;
    size_t dim;

    random_hex(at_limit, 2000);
    random_hex(too_long, 3000);
    qc_put(at_limit, v, 8, T0, T0 + DAY_US, T0 - 7 * DAY_US);
    qc_get(a, at_limit, "m1", T0, &got, &dim);
    assert_vec(got, dim, v, 8);
    qc_put(too_long, v, 8, T0, T0 + DAY_US, T0 - 7 * DAY_US);
    qc_get(a, too_long, "m1", T0, &got, &dim);
    assert_null(got);
}

/* ---- resolutions ---- */

/* There is no resolution write op yet: only the empty case can be checked. */
static void test_store_resolution_list_empty(void **state)
{
    struct resolution_rows rr;
    struct arena *a = *state;
    struct err err = ERR_INIT;
    struct resolution *res = NULL;
    size_t n = 99;

    assert_int_equal(store_resolution_list(g.st, a,
                                           &(struct store_scope){ .subject = uniq(a, "nores") },
                                           &rr, &err), 0);
    res = rr.items;
    n = rr.n;
    assert_int_equal(n, 0);
    assert_non_null(res);
    assert_int_equal(store_resolution_list(g.st, a,
                                           &(struct store_scope){ .tenant = uniq(a, "tn"),
                                                                  .subject = uniq(a, "nores") },
                                           &rr, &err), 0);
    res = rr.items;
    n = rr.n;
    assert_int_equal(n, 0);
}

/* ---- full-database backup ---- */

/* PostgreSQL has no native backup op: pg_dump is the tool. */
static void test_store_backup_postgres_refuses(void **state)
{
    struct err err = ERR_INIT;

    (void)state;
    if (strcmp(g.ops->name, "postgres") != 0)
        skip();
    assert_int_equal(store_backup(g.st, "/tmp/engram-never-written.db", &err), -1);
    assert_int_equal(err.kind, ERR_INVALID);
    assert_string_equal(err.msg, "use pg_dump to back up a PostgreSQL database (see README)");
    assert_int_equal(access("/tmp/engram-never-written.db", F_OK), -1);
}

/* Episode ids of (no tenant, subject) in st, in list order, joined by ','. */
static const char *episode_ids(struct arena *a, store *st, const char *subject)
{
    struct episode_rows er;
    struct err err = ERR_INIT;
    struct episode *eps;
    const char *ids = "";
    size_t i, n;

    assert_int_equal(store_episode_list(st, a, &(struct store_scope){ .subject = subject },
                                        &(struct store_page){ .limit = 100 }, &er, &err), 0);
    eps = er.items;
    n = er.n;
    for (i = 0; i < n; i++)
        ids = arena_printf(a, "%s%s,", ids, eps[i].id);
    return ids;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Entries of dir whose name starts with prefix. */
static int count_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

/* The copy opens as a database of its own, holds what was committed before the backup and
 * nothing a concurrent, uncommitted transaction wrote; an existing file is never replaced, and
 * the backup's private temporary file never stays behind. */
static void test_store_backup_sqlite(void **state)
{
    struct arena *a = *state;
    char dir[] = "/tmp/engram-backup-XXXXXX";
    const char *subject = uniq(a, "backup"), *path, *want;
    struct episode late = make_ep(NULL, subject, T0 + 2);
    struct err err = ERR_INIT;
    int current, latest, inserted;
    store *writer, *copy;

    if (strcmp(g.ops->name, "sqlite") != 0)
        skip();
    assert_non_null(mkdtemp(dir));
    path = arena_printf(a, "%s/engram-backup.db", dir);
    add_ep(a, NULL, subject, T0);
    add_ep(a, NULL, subject, T0 + 1);
    add_ep(a, "other-tenant", subject, T0);
    want = episode_ids(a, g.st, subject);
    /* Another connection holds the write lock with a row not yet committed. */
    assert_int_equal(store_open(g.ops, g.conninfo, &writer, &err), 0);
    assert_int_equal(store_tx_begin(writer, &err), 0);
    assert_int_equal(store_episode_insert(writer, a, &late, &inserted, &err), 0);
    /* A file where an older version put its temp file is neither used nor removed. */
    write_file(arena_printf(a, "%s.tmp", path), "not a database");
    assert_int_equal(store_backup(g.st, path, &err), 0);
    store_tx_commit(writer, &err);
    store_close(writer);
    assert_int_equal(count_prefixed(dir, "engram-backup.db.tmp-"), 0);
    assert_int_equal(access(arena_printf(a, "%s.tmp", path), F_OK), 0);

    assert_int_equal(store_open(g.ops, path, &copy, &err), 0);
    assert_int_equal(store_schema_version(copy, &current, &latest, &err), 0);
    assert_int_equal(current, latest);
    assert_string_equal(episode_ids(a, copy, subject), want);
    assert_int_equal(count_eps(a, NULL, subject), 3);   /* the source has the late row */
    store_close(copy);

    err_release(&err);
    assert_int_equal(store_backup(g.st, path, &err), -1);
    assert_int_equal(err.kind, ERR_CONFLICT);
    assert_string_equal(err.msg, arena_printf(a, "backup file '%s' already exists", path));
    assert_int_equal(count_prefixed(dir, "engram-backup.db.tmp-"), 0);

    remove_sqlite_files(path);
    assert_int_equal(unlink(arena_printf(a, "%s.tmp", path)), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* ---- SQLite specifics (skipped on other backends) ---- */

static void test_store_sqlite_creates_parent_dirs(void **state)
{
    struct arena *a = *state;
    char dir[] = "/tmp/engram-store-dir-XXXXXX";
    struct migrate_result res;
    struct err err = ERR_INIT;
    const char *path;
    store *st;

    if (strcmp(g.ops->name, "sqlite") != 0)
        skip();
    assert_non_null(mkdtemp(dir));
    path = arena_printf(a, "%s/a/b/engram.db", dir);
    assert_int_equal(store_open(g.ops, path, &st, &err), 0);
    assert_int_equal(store_migrate(st, &res, &err), 0);
    assert_int_equal(res.from_version, 0);
    assert_true(res.applied >= 1);
    store_close(st);
    assert_int_equal(access(path, F_OK), 0);
    remove_sqlite_files(path);
    assert_int_equal(rmdir(arena_printf(a, "%s/a/b", dir)), 0);
    assert_int_equal(rmdir(arena_printf(a, "%s/a", dir)), 0);
    assert_int_equal(rmdir(dir), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_store_migrate_twice),
        T(test_store_schema_version),
        T(test_store_ping),
        T(test_store_second_connection),
        T(test_store_episode_list_order),
        T(test_store_idempotency_key),
        T(test_store_idempotency_in_transaction),
        T(test_store_tenant_isolation),
        T(test_store_empty_tenant_is_null),
        T(test_store_memory_list_empty),
        T(test_store_subject_list),
        T(test_store_subject_delete),
        T(test_store_subject_delete_in_transaction),
        T(test_store_tx_rollback),
        T(test_store_unicode_large_payload),
        T(test_store_timestamps_round_trip),
        T(test_store_episode_uncompiled_and_mark),
        T(test_store_episode_list_recent),
        T(test_store_episode_get_many),
        T(test_store_memory_round_trip),
        T(test_store_memory_list_active),
        T(test_store_context_read),
        T(test_store_memory_supersede),
        T(test_store_memory_set_embedding),
        T(test_store_memory_set_embeddings),
        T(test_store_memory_set_labels),
        T(test_store_compile_reset),
        T(test_store_qcache),
        T(test_store_qcache_long_text),
        T(test_store_resolution_list_empty),
        T(test_store_backup_postgres_refuses),
        T(test_store_backup_sqlite),
        T(test_store_sqlite_creates_parent_dirs),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
