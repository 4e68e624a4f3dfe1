/* store_harness.h - the setup the store contract suites (test_store*.c) share: the database
 * (ENGRAM_TEST_DATABASE_URL, default a fresh SQLite temp file), migrated once per group, an
 * arena per test, fresh ids, and the episode and memory rows the suites build.
 *
 * Header only: the Makefile links each tests/unit/test_*.c into its own binary and nothing
 * else, so there is no harness object to link. Include it once, from the suite. It defines the
 * suite's `g` (the open store, shared by these helpers and the tests), and its functions are
 * static inline so that a suite which leaves some unused gets no warning. The helpers report
 * a failure through cmocka's asserts, which end the running test.
 */
#ifndef ENGRAM_TESTS_UNIT_STORE_HARNESS_H
#define ENGRAM_TESTS_UNIT_STORE_HARNESS_H

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
#define SEC 1000000LL           /* one second, in the microseconds of every timestamp */

static struct {
    const struct store_ops *ops;   /* the backend the URL picked */
    char *conninfo;                /* owned; what store_open was given */
    store *st;                     /* the suite's connection, open between group setup and
                                    * teardown */
    char tmp_path[64];             /* SQLite temp file we created, "" otherwise */
    struct migrate_result first;   /* result of the group setup's migrate */
} g;

/* ---- the database ---- */

/* Open g.st on ENGRAM_TEST_DATABASE_URL, or on a new SQLite temp file when it is unset or
 * empty; -1 (said on stderr) if the database cannot be opened. */
static inline int open_database(void)
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

/* cmocka group setup: open the database and migrate it, keeping the result in g.first. */
static inline int group_setup(void **state)
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

/* Remove the SQLite database at path with its -wal, -shm and -journal files. */
static inline void remove_sqlite_files(const char *path)
{
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
    char name[96];
    size_t i;

    for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        snprintf(name, sizeof(name), "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

/* cmocka group teardown: close g.st and remove the temp file if we made one. */
static inline int group_teardown(void **state)
{
    (void)state;
    store_close(g.st);
    free(g.conninfo);
    if (g.tmp_path[0])
        remove_sqlite_files(g.tmp_path);
    return 0;
}

/* cmocka test setup and teardown: each test gets a fresh arena as *state. */
static inline int test_setup(void **state)
{
    *state = arena_new();
    return 0;
}

static inline int test_teardown(void **state)
{
    arena_free(*state);
    return 0;
}

/* ---- ids and rows ---- */

/* A fresh id with a random suffix: "<prefix>-<12 hex>", in the arena. */
static inline const char *uniq(struct arena *a, const char *prefix)
{
    char hex[13];

    random_hex(hex, 12);
    return arena_printf(a, "%s-%s", prefix, hex);
}

/* A chat message episode of (tenant, subject) with a fresh id; not inserted. */
static inline struct episode make_ep(const char *tenant, const char *subject,
                                     int64_t created_at)
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
        .occurred_at = TS_NULL,
    };

    uuid_v4(ep.id);
    return ep;
}

/* Insert ep and assert the insert happened. */
static inline void insert_ok(struct arena *a, struct episode *ep)
{
    struct err err = ERR_INIT;
    int inserted = -1;

    assert_int_equal(store_episode_insert(g.st, a, ep, &inserted, &err), 0);
    assert_int_equal(inserted, 1);
}

/* Insert make_ep(tenant, subject, at) and return it. */
static inline struct episode add_ep(struct arena *a, const char *tenant, const char *subject,
                                    int64_t at)
{
    struct episode ep = make_ep(tenant, subject, at);

    insert_ok(a, &ep);
    return ep;
}

/* A memory of (tenant, subject) with a fresh id, valid from created_at on, no embedding; not
 * inserted. The suites' make_mem() pick kind, content and status. */
static inline struct memory make_mem_with(const char *tenant, const char *subject,
                                          const char *kind, const char *content,
                                          const char *status, int64_t created_at)
{
    struct memory m = {
        .subject_id = subject,
        .tenant_id = tenant,
        .kind = kind,
        .content = content,
        .summary = "",
        .confidence = 1.0,
        .valid_from = created_at,
        .valid_to = TS_NULL,
        .source_episode_ids = "[]",
        .metadata = "{}",
        .status = status,
        .sensitivity_labels = "[]",
        .created_at = created_at,
        .updated_at = created_at,
    };

    uuid_v4(m.id);
    return m;
}

/* Insert m and assert it went in. */
static inline void add_mem(const struct memory *m)
{
    struct err err = ERR_INIT;

    assert_int_equal(store_memory_insert(g.st, m, &err), 0);
}

/* dim floats in [-0.5, 0.5) of a pattern fixed by seed, in the arena. */
static inline float *test_vec(struct arena *a, size_t dim, unsigned seed)
{
    float *v = arena_alloc(a, dim * sizeof(*v));
    size_t i;

    for (i = 0; i < dim; i++)
        v[i] = (float)((seed * 31 + i * 7) % 97) / 97.0f - 0.5f;
    return v;
}

/* ---- comparing ---- */

/* got equals want, where want NULL means got must be NULL too. */
static inline void assert_str_or_null(const char *got, const char *want)
{
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
}

/* got equals want in every column (the confidence bit for bit, the vector byte for byte). */
static inline void assert_mem_equal(const struct memory *got, const struct memory *want)
{
    assert_string_equal(got->id, want->id);
    assert_string_equal(got->subject_id, want->subject_id);
    assert_str_or_null(got->tenant_id, want->tenant_id);
    assert_string_equal(got->kind, want->kind);
    assert_string_equal(got->content, want->content);
    assert_string_equal(got->summary, want->summary);
    assert_memory_equal(&got->confidence, &want->confidence, sizeof(double));
    assert_int_equal(got->valid_from, want->valid_from);
    assert_int_equal(got->valid_to, want->valid_to);
    assert_string_equal(got->source_episode_ids, want->source_episode_ids);
    assert_string_equal(got->metadata, want->metadata);
    assert_string_equal(got->status, want->status);
    assert_int_equal(got->embedding_dim, want->embedding_dim);
    if (want->embedding)
        assert_memory_equal(got->embedding, want->embedding,
                            want->embedding_dim * sizeof(float));
    else
        assert_null(got->embedding);
    assert_string_equal(got->sensitivity_labels, want->sensitivity_labels);
    assert_int_equal(got->created_at, want->created_at);
    assert_int_equal(got->updated_at, want->updated_at);
}

/* The ids of rows joined by ',' (each followed by one), in the arena. */
static inline const char *ep_ids(struct arena *a, const struct episode *eps, size_t n)
{
    const char *s = "";
    size_t i;

    for (i = 0; i < n; i++)
        s = arena_printf(a, "%s%s,", s, eps[i].id);
    return s;
}

static inline const char *mem_ids(struct arena *a, const struct memory *ms, size_t n)
{
    const char *s = "";
    size_t i;

    for (i = 0; i < n; i++)
        s = arena_printf(a, "%s%s,", s, ms[i].id);
    return s;
}

#endif
