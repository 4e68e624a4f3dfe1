/* test_store.c - the store contract suite: written only against store.h, so it runs unchanged
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

#define T0 1717243200123457LL   /* 2024-06-01T12:00:00.123457Z */

static struct {
    const struct store_ops *ops;
    char *conninfo;
    store *st;
    char tmp_path[64];           /* SQLite temp file we created, "" otherwise */
    struct migrate_result first; /* result of the setup's migrate */
} g;

/* A fresh id with a random suffix: "<prefix>-<12 hex>", in the arena. */
static const char *uniq(struct arena *a, const char *prefix)
{
    char hex[13];

    random_hex(hex, 12);
    return arena_printf(a, "%s-%s", prefix, hex);
}

static struct episode make_ep(const char *tenant, const char *subject, int64_t created_at)
{
    struct episode ep = {
        .subject_id = subject,
        .tenant_id = tenant,
        .source = "chat",
        .type = "message",
        .payload = "{\"text\":\"hi\"}",
        .metadata = "{}",
        .provenance = "{}",
        .created_at = created_at,
        .last_compiled_at = TS_NULL,
    };

    uuid_v4(ep.id);
    return ep;
}

/* Insert ep and assert the insert happened. */
static void insert_ok(struct arena *a, struct episode *ep)
{
    struct err err = ERR_INIT;
    int inserted = -1;

    assert_int_equal(store_episode_insert(g.st, a, ep, &inserted, &err), 0);
    assert_int_equal(inserted, 1);
}

static void add_ep(struct arena *a, const char *tenant, const char *subject, int64_t at)
{
    struct episode ep = make_ep(tenant, subject, at);

    insert_ok(a, &ep);
}

static size_t count_eps(struct arena *a, const char *tenant, const char *subject)
{
    struct err err = ERR_INIT;
    struct episode *eps;
    size_t n = 99;

    assert_int_equal(store_episode_list(g.st, a, tenant, subject, 1000, 0, &eps, &n, &err), 0);
    return n;
}

static int open_database(void)
{
    const char *url = getenv("ENGRAM_TEST_DATABASE_URL");
    char default_url[96];
    struct err err = ERR_INIT;
    int fd;

    if (!url || !*url) {
        snprintf(g.tmp_path, sizeof(g.tmp_path), "/tmp/engram-store-test-XXXXXX.db");
        fd = mkstemps(g.tmp_path, 3);
        if (fd < 0)
            return -1;
        close(fd);
        snprintf(default_url, sizeof(default_url), "sqlite://%s", g.tmp_path);
        url = default_url;
    }
    g.ops = store_backend_for(url, &g.conninfo, &err);
    if (!g.ops || store_open(g.ops, g.conninfo, &g.st, &err) < 0) {
        fprintf(stderr, "cannot open test database: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int group_setup(void **state)
{
    struct err err = ERR_INIT;

    (void)state;
    if (open_database() < 0)
        return -1;
    if (store_migrate(g.st, &g.first, &err) < 0) {
        fprintf(stderr, "migrate failed: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static void remove_sqlite_files(const char *path)
{
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
    char name[96];
    size_t i;

    for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        snprintf(name, sizeof(name), "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

static int group_teardown(void **state)
{
    (void)state;
    store_close(g.st);
    free(g.conninfo);
    if (g.tmp_path[0])
        remove_sqlite_files(g.tmp_path);
    return 0;
}

static int test_setup(void **state)
{
    *state = arena_new();
    return 0;
}

static int test_teardown(void **state)
{
    arena_free(*state);
    return 0;
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
    struct arena *a = *state;
    const char *subject = uniq(a, "conn2");
    struct migrate_result res;
    struct err err = ERR_INIT;
    struct episode *eps;
    store *st2;
    size_t n;

    add_ep(a, NULL, subject, T0);
    assert_int_equal(store_open(g.ops, g.conninfo, &st2, &err), 0);
    assert_int_equal(store_migrate(st2, &res, &err), 0);
    assert_int_equal(res.applied, 0);
    assert_int_equal(store_episode_list(st2, a, NULL, subject, 10, 0, &eps, &n, &err), 0);
    assert_int_equal(n, 1);
    store_close(st2);
}

/* ---- episodes ---- */

static void test_store_episode_list_order(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "order");
    struct episode e1 = make_ep(NULL, subject, T0);
    struct episode e2 = make_ep(NULL, subject, T0);
    struct episode e3 = make_ep(NULL, subject, T0 - 1);
    struct episode e4 = make_ep(NULL, subject, T0);
    struct err err = ERR_INIT;
    struct episode *eps;
    size_t n;

    insert_ok(a, &e1);
    insert_ok(a, &e2);
    insert_ok(a, &e3);
    insert_ok(a, &e4);
    assert_int_equal(store_episode_list(g.st, a, NULL, subject, 10, 0, &eps, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_string_equal(eps[0].id, e3.id);   /* earliest created_at first */
    assert_string_equal(eps[1].id, e1.id);   /* equal created_at: insertion order */
    assert_string_equal(eps[2].id, e2.id);
    assert_string_equal(eps[3].id, e4.id);
    assert_int_equal(store_episode_list(g.st, a, NULL, subject, 2, 1, &eps, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(eps[0].id, e1.id);
    assert_string_equal(eps[1].id, e2.id);
    assert_int_equal(store_episode_list(g.st, a, NULL, subject, 10, 4, &eps, &n, &err), 0);
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
    assert_int_equal(store_episode_list(g.st, a, ta, subject, 10, 0, &eps, &n, &err), 0);
    assert_string_equal(eps[0].tenant_id, ta);
    assert_int_equal(store_episode_list(g.st, a, NULL, subject, 10, 0, &eps, &n, &err), 0);
    assert_null(eps[0].tenant_id);
    assert_int_equal(store_subject_list(g.st, a, tb, 100, 0, &subs, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_subject_list(g.st, a, ta, 100, 0, &subs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(subs[0].subject_id, subject);
    assert_int_equal(subs[0].episode_count, 2);
}

/* An empty tenant string is the "no tenant" space, never a tenant of its own. */
static void test_store_empty_tenant_is_null(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "empty-tenant");
    struct err err = ERR_INIT;
    struct episode *eps;
    size_t n;

    add_ep(a, "", subject, T0);
    assert_int_equal(store_episode_list(g.st, a, NULL, subject, 10, 0, &eps, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_null(eps[0].tenant_id);
    assert_int_equal(count_eps(a, "", subject), 1);
}

/* ---- memories ---- */

/* There is no memory write op yet: only the empty case can be checked. */
static void test_store_memory_list_empty(void **state)
{
    struct arena *a = *state;
    struct err err = ERR_INIT;
    struct memory *mems;
    size_t n = 99;

    assert_int_equal(store_memory_list(g.st, a, NULL, uniq(a, "nomem"), 10, 0, &mems, &n,
                                       &err), 0);
    assert_int_equal(n, 0);
}

/* ---- subjects ---- */

static void test_store_subject_list(void **state)
{
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
    assert_int_equal(store_subject_list(g.st, a, tenant, 100, 0, &subs, &n, &err), 0);
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (i = 0; i < n; i++) {
        assert_string_equal(subs[i].subject_id, arena_printf(a, "%s%s", want[i], sfx));
        assert_int_equal(subs[i].episode_count, strcmp(want[i], "a") == 0 ? 2 : 1);
        assert_int_equal(subs[i].memory_count, 0);
    }
    assert_int_equal(store_subject_list(g.st, a, tenant, 2, 3, &subs, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(subs[0].subject_id, arena_printf(a, "a%s", sfx));
    assert_string_equal(subs[1].subject_id, arena_printf(a, "b%s", sfx));
    assert_int_equal(store_subject_list(g.st, a, tenant, 5, 5, &subs, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(subs[1].subject_id, arena_printf(a, "\xc3\xa9t\xc3\xa9%s", sfx));
    assert_int_equal(store_subject_list(g.st, a, tenant, 5, 7, &subs, &n, &err), 0);
    assert_int_equal(n, 0);
}

static void test_store_subject_delete(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "del"), *other = uniq(a, "keep"), *tenant = uniq(a, "tn");
    struct err err = ERR_INIT;
    int64_t ne = -1, nm = -1;

    add_ep(a, tenant, subject, T0);
    add_ep(a, tenant, subject, T0);
    add_ep(a, NULL, subject, T0);
    add_ep(a, tenant, other, T0);
    assert_int_equal(store_subject_delete(g.st, tenant, subject, &ne, &nm, &err), 0);
    assert_int_equal(ne, 2);
    assert_int_equal(nm, 0);
    assert_int_equal(count_eps(a, tenant, subject), 0);
    assert_int_equal(count_eps(a, NULL, subject), 1);   /* other tenant space untouched */
    assert_int_equal(count_eps(a, tenant, other), 1);   /* other subject untouched */
    assert_int_equal(store_subject_delete(g.st, tenant, subject, &ne, &nm, &err), 0);
    assert_int_equal(ne, 0);
    assert_int_equal(nm, 0);
    assert_int_equal(store_subject_delete(g.st, NULL, subject, &ne, &nm, &err), 0);
    assert_int_equal(ne, 1);
}

static void test_store_subject_delete_in_transaction(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "deltx");
    struct err err = ERR_INIT;
    int64_t ne = -1, nm = -1;

    add_ep(a, NULL, subject, T0);
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_subject_delete(g.st, NULL, subject, &ne, &nm, &err), 0);
    assert_int_equal(ne, 1);
    store_tx_rollback(g.st);
    assert_int_equal(count_eps(a, NULL, subject), 1);
}

/* ---- transactions ---- */

static void test_store_tx_rollback(void **state)
{
    struct arena *a = *state;
    const char *subject = uniq(a, "rollback");
    struct err err = ERR_INIT;
    struct subject_count *subs;
    const char *tenant = uniq(a, "rbt");
    size_t n;

    assert_int_equal(store_tx_begin(g.st, &err), 0);
    add_ep(a, tenant, subject, T0);
    add_ep(a, tenant, subject, T0);
    assert_int_equal(count_eps(a, tenant, subject), 2);   /* visible inside */
    store_tx_rollback(g.st);
    assert_int_equal(count_eps(a, tenant, subject), 0);
    assert_int_equal(store_subject_list(g.st, a, tenant, 10, 0, &subs, &n, &err), 0);
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
    assert_int_equal(store_episode_list(g.st, a, ep.tenant_id, subject, 10, 0, &eps, &n, &err),
                     0);
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
    assert_int_equal(store_episode_list(g.st, a, NULL, subject, 10, 0, &eps, &n, &err), 0);
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

/* ---- compile jobs ---- */

/* There is no compile job write op yet: only the empty case can be checked. */
static void test_store_compile_job_count_stuck_empty(void **state)
{
    struct err err = ERR_INIT;
    int64_t n = 99;

    (void)state;
    assert_int_equal(store_compile_job_count_stuck(g.st, ts_now(), &n, &err), 0);
    assert_int_equal(n, 0);
    n = 99;
    assert_int_equal(store_compile_job_count_stuck(g.st, T0, &n, &err), 0);
    assert_int_equal(n, 0);
    /* It works inside a transaction too (readiness may share a connection). */
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    n = 99;
    assert_int_equal(store_compile_job_count_stuck(g.st, ts_now(), &n, &err), 0);
    assert_int_equal(n, 0);
    store_tx_rollback(g.st);
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
    struct err err = ERR_INIT;
    struct episode *eps;
    const char *ids = "";
    size_t i, n;

    assert_int_equal(store_episode_list(st, a, NULL, subject, 100, 0, &eps, &n, &err), 0);
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

/* The copy opens as a database of its own, holds what was committed before the backup and
 * nothing a concurrent, uncommitted transaction wrote; an existing file is never replaced. */
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
    /* A stale temp file of a crashed backup is replaced. */
    write_file(arena_printf(a, "%s.tmp", path), "not a database");
    assert_int_equal(store_backup(g.st, path, &err), 0);
    store_tx_commit(writer, &err);
    store_close(writer);
    assert_int_equal(access(arena_printf(a, "%s.tmp", path), F_OK), -1);

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
    assert_int_equal(access(arena_printf(a, "%s.tmp", path), F_OK), -1);

    remove_sqlite_files(path);
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
        T(test_store_compile_job_count_stuck_empty),
        T(test_store_backup_postgres_refuses),
        T(test_store_backup_sqlite),
        T(test_store_sqlite_creates_parent_dirs),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
