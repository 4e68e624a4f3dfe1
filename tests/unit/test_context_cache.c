/* test_context_cache.c - unit tests for service/context_cache: an entry is found only at its
 * generation and connection epoch, under its own (tenant, subject); a held entry outlives its
 * eviction and its replacement; the byte budget evicts the least recently used first and
 * refuses entries over an eighth of it; budget 0 keeps nothing; a request's arena gives its
 * entry back; many threads at once. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "service/context_cache.h"
#include "util/arena.h"

/* A published entry for (tenant, subject) at gen holding `bytes` bytes and one memory whose
 * content is tag; returned held. */
static struct ctx_entry *publish(const char *tenant, const char *subject, int64_t gen, size_t bytes,
                                 const char *tag)
{
    struct ctx_entry *b = context_cache_builder();
    struct arena *a = context_cache_arena(b);
    struct memory *m = arena_calloc(a, 1, sizeof(*m));
    struct context_input in;

    m->content = arena_strdup(a, tag);
    if (bytes)
        memset(arena_alloc(a, bytes), 0x5a, bytes);
    memset(&in, 0, sizeof(in));
    in.memories = m;
    in.nmemories = 1;
    context_cache_set_input(b, &in);
    context_cache_put(b, tenant, subject, gen, 0, 1);
    return b;
}

static const char *content(const struct ctx_entry *e)
{
    return context_cache_input(e)->memories[0].content;
}

static int setup(void **state)
{
    (void)state;
    context_cache_configure((size_t)8 << 20);
    context_cache_clear();
    return 0;
}

static void test_keys_and_generations(void **state)
{
    struct ctx_entry *e;

    (void)state;
    context_cache_release(publish(NULL, "s1", 5, 0, "none-s1"));
    context_cache_release(publish("t", "s1", 5, 0, "t-s1"));
    context_cache_release(publish("t\x1fs", "1", 5, 0, "other"));
    assert_null(context_cache_get(NULL, "s1", 4, 0));
    assert_null(context_cache_get(NULL, "s1", 6, 0));
    assert_null(context_cache_get("", "s1", 5, 0)); /* the empty tenant is not no tenant */
    assert_null(context_cache_get(NULL, "s1", 5, 1)); /* read before a connection was lost */
    e = context_cache_get(NULL, "s1", 5, 0);
    assert_non_null(e);
    assert_string_equal(content(e), "none-s1");
    context_cache_release(e);
    e = context_cache_get("t", "s1", 5, 0);
    assert_non_null(e);
    assert_string_equal(content(e), "t-s1");
    context_cache_release(e);
    /* a newer generation replaces the entry */
    context_cache_release(publish("t", "s1", 9, 0, "t-s1-9"));
    assert_null(context_cache_get("t", "s1", 5, 0));
    e = context_cache_get("t", "s1", 9, 0);
    assert_non_null(e);
    assert_string_equal(content(e), "t-s1-9");
    context_cache_release(e);
}

static void test_held_entry_outlives_replacement(void **state)
{
    struct ctx_entry *old, *held;

    (void)state;
    old = publish(NULL, "h", 1, 0, "first");
    context_cache_release(old);
    held = context_cache_get(NULL, "h", 1, 0);
    assert_non_null(held);
    context_cache_release(publish(NULL, "h", 2, 0, "second"));
    context_cache_clear();
    assert_string_equal(content(held), "first"); /* still readable (ASan would tell) */
    context_cache_release(held);
}

static void test_budget_evicts_oldest(void **state)
{
    struct context_cache_stats st;
    struct ctx_entry *e;
    char name[16];
    int i;

    (void)state;
    /* 8 MiB budget, entries of about 0.93 MiB: eight fit, the ninth evicts the least recently
     * used, which is s1 after s0 was read again. */
    for (i = 0; i < 8; i++) {
        snprintf(name, sizeof(name), "s%d", i);
        context_cache_release(publish(NULL, name, 1, 950 << 10, name));
    }
    e = context_cache_get(NULL, "s0", 1, 0);
    assert_non_null(e);
    context_cache_release(e);
    context_cache_release(publish(NULL, "s8", 1, 950 << 10, "s8"));
    context_cache_stats(&st);
    assert_true(st.bytes <= (size_t)8 << 20);
    assert_int_equal(st.entries, 8);
    assert_null(context_cache_get(NULL, "s1", 1, 0));
    e = context_cache_get(NULL, "s0", 1, 0);
    assert_non_null(e);
    context_cache_release(e);
    /* over an eighth of the budget: used by its request, never kept */
    e = publish(NULL, "huge", 1, (size_t)1100 << 10, "huge");
    assert_string_equal(content(e), "huge");
    context_cache_release(e);
    assert_null(context_cache_get(NULL, "huge", 1, 0));
    /* shrinking the budget drops what no longer fits; 0 keeps nothing */
    context_cache_configure((size_t)2 << 20);
    context_cache_stats(&st);
    assert_true(st.bytes <= (size_t)2 << 20);
    context_cache_configure(0);
    context_cache_stats(&st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.bytes, 0);
    context_cache_release(publish(NULL, "s9", 1, 0, "s9"));
    assert_null(context_cache_get(NULL, "s9", 1, 0));
    assert_int_equal(context_cache_budget(), 0);
}

static void test_released_with_arena(void **state)
{
    struct arena *req = arena_new();
    struct ctx_entry *e;

    (void)state;
    context_cache_release(publish(NULL, "r", 3, 0, "r"));
    e = context_cache_get(NULL, "r", 3, 0);
    assert_non_null(e);
    context_cache_release_with(req, e);
    context_cache_clear(); /* the map's reference goes; the request's stays */
    assert_string_equal(content(e), "r");
    arena_free(req); /* the last reference: freed (LeakSanitizer) */
}

/* A small private generator (rand_r is not in C11). */
static unsigned next_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    char name[16], tag[32];
    int i;

    for (i = 0; i < 3000; i++) {
        int s = (int)(next_rand(&seed) % 12), gen = (int)(next_rand(&seed) % 3);
        struct ctx_entry *e;

        snprintf(name, sizeof(name), "w%d", s);
        snprintf(tag, sizeof(tag), "%s@%d", name, gen);
        e = context_cache_get(NULL, name, gen, 0);
        if (!e)
            e = publish(NULL, name, gen, (size_t)(next_rand(&seed) % 4) << 14, tag);
        if (strcmp(content(e), tag) != 0)
            return (void *)1;
        context_cache_release(e);
    }
    return NULL;
}

static void test_threads(void **state)
{
    pthread_t t[8];
    void *bad;
    uintptr_t i;

    (void)state;
    context_cache_configure((size_t)1 << 20); /* small: evictions all the time */
    for (i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)(i + 1)), 0);
    for (i = 0; i < 8; i++) {
        assert_int_equal(pthread_join(t[i], &bad), 0);
        assert_null(bad);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_keys_and_generations, setup),
        cmocka_unit_test_setup(test_held_entry_outlives_replacement, setup),
        cmocka_unit_test_setup(test_budget_evicts_oldest, setup),
        cmocka_unit_test_setup(test_released_with_arena, setup),
        cmocka_unit_test_setup(test_threads, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    context_cache_clear();
    return rc;
}
