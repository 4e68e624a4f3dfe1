/* test_hmap.c - unit tests for util/hmap: put/get, growth, removal with backward shift
 * (checked against a plain array model under many collisions), filter, iteration, arena
 * and heap maps. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "util/hmap.h"

#define NKEYS 2000

static char keys[NKEYS][16];

static int setup(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < NKEYS; i++)
        snprintf(keys[i], sizeof(keys[i]), "key-%zu", i);
    return 0;
}

static struct hmap_entry *get(struct hmap *m, const char *k)
{
    return hmap_get(m, k, strlen(k));
}

static void test_hmap_put_get_grow(void **state)
{
    struct hmap m;
    struct hmap_entry *e;
    size_t i;
    int added;

    (void)state;
    hmap_init(NULL, &m, 0);
    assert_int_equal(m.cap, 16);
    assert_null(get(&m, "missing"));
    for (i = 0; i < NKEYS; i++) {
        e = hmap_put(&m, keys[i], strlen(keys[i]), &added);
        assert_true(added);
        assert_int_equal(e->val.num, 0);
        e->val.num = i + 1;
    }
    assert_int_equal(m.count, NKEYS);
    assert_true(m.cap >= 2 * NKEYS);
    for (i = 0; i < NKEYS; i++) {
        e = get(&m, keys[i]);
        assert_non_null(e);
        assert_int_equal(e->val.num, i + 1);
    }
    e = hmap_put(&m, "key-7", 5, &added); /* another pointer, same bytes */
    assert_false(added);
    assert_int_equal(e->val.num, 8);
    assert_null(get(&m, "key-"));
    assert_null(get(&m, "key-20000"));
    hmap_release(&m);
    hmap_release(&m); /* twice is harmless */
}

static void test_hmap_binary_keys(void **state)
{
    struct hmap m;
    struct arena *a = arena_new();

    (void)state;
    hmap_init(a, &m, 4);
    hmap_put(&m, "a\0b", 3, NULL)->val.num = 1;
    hmap_put(&m, "a\0c", 3, NULL)->val.num = 2;
    hmap_put(&m, "a", 1, NULL)->val.num = 3;
    hmap_put(&m, "", 0, NULL)->val.num = 4;
    assert_int_equal(hmap_get(&m, "a\0b", 3)->val.num, 1);
    assert_int_equal(hmap_get(&m, "a\0c", 3)->val.num, 2);
    assert_int_equal(hmap_get(&m, "a", 1)->val.num, 3);
    assert_int_equal(hmap_get(&m, "", 0)->val.num, 4);
    assert_int_equal(m.count, 4);
    arena_free(a); /* an arena map needs no release */
}

/* Remove keys in a scattered order from a small, crowded map and check every remaining key
 * is still found (the backward shift must never strand an entry behind a hole). */
static void test_hmap_remove_keeps_probe_runs(void **state)
{
    struct hmap m;
    unsigned char present[NKEYS];
    size_t i, k, step;

    (void)state;
    for (step = 1; step < 40; step += 7) {
        hmap_init(NULL, &m, 0);
        for (i = 0; i < 300; i++)
            hmap_put(&m, keys[i], strlen(keys[i]), NULL)->val.num = i;
        memset(present, 1, 300);
        for (k = 0, i = 0; k < 200; k++, i = (i + step * 13 + 1) % 300) {
            struct hmap_entry *e = get(&m, keys[i]);

            if (!present[i]) {
                assert_null(e);
                continue;
            }
            assert_non_null(e);
            hmap_remove(&m, e);
            present[i] = 0;
        }
        for (i = 0; i < 300; i++) {
            struct hmap_entry *e = get(&m, keys[i]);

            if (present[i]) {
                assert_non_null(e);
                assert_int_equal(e->val.num, i);
            } else {
                assert_null(e);
            }
        }
        hmap_release(&m);
    }
}

struct seen {
    unsigned char count[NKEYS];
};

/* Keep the even values; count every visit. */
static int keep_even(struct hmap_entry *e, void *ctx)
{
    struct seen *s = ctx;

    s->count[e->val.num]++;
    return e->val.num % 2 == 0;
}

static void test_hmap_filter_visits_each_once(void **state)
{
    static struct seen s;
    struct hmap m;
    struct hmap_entry *e;
    size_t i, pos = 0, n = 0;

    (void)state;
    hmap_init(NULL, &m, 0);
    for (i = 0; i < 1000; i++)
        hmap_put(&m, keys[i], strlen(keys[i]), NULL)->val.num = i;
    memset(&s, 0, sizeof(s));
    hmap_filter(&m, keep_even, &s);
    for (i = 0; i < 1000; i++) {
        assert_int_equal(s.count[i], 1);
        assert_true((get(&m, keys[i]) != NULL) == (i % 2 == 0));
    }
    assert_int_equal(m.count, 500);
    while ((e = hmap_next(&m, &pos)) != NULL) {
        assert_int_equal(e->val.num % 2, 0);
        n++;
    }
    assert_int_equal(n, 500);
    hmap_clear(&m);
    assert_int_equal(m.count, 0);
    assert_null(get(&m, keys[0]));
    hmap_release(&m);
}

/* A key found in a transient buffer is added, then repointed at a lasting copy (what the JSON
 * parser's intern maps do): later lookups compare against the copy. */
static void test_hmap_put_hashed_repoint_key(void **state)
{
    static const char copy[] = "kind";
    char scratch[8];
    struct hmap m;
    struct hmap_entry *e;
    int added;

    (void)state;
    hmap_init(NULL, &m, 0);
    memcpy(scratch, "kind", 4);
    e = hmap_put_hashed(&m, scratch, 4, hmap_hash(scratch, 4), &added);
    assert_true(added);
    e->key = copy;
    e->val.num = 42;
    memcpy(scratch, "xxxx", 4);
    e = hmap_put_hashed(&m, "kind", 4, hmap_hash("kind", 4), &added);
    assert_false(added);
    assert_ptr_equal(e->key, copy);
    assert_int_equal(e->val.num, 42);
    assert_null(hmap_get(&m, "xxxx", 4));
    hmap_release(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmap_put_get_grow),
        cmocka_unit_test(test_hmap_binary_keys),
        cmocka_unit_test(test_hmap_remove_keeps_probe_runs),
        cmocka_unit_test(test_hmap_filter_visits_each_once),
        cmocka_unit_test(test_hmap_put_hashed_repoint_key),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
