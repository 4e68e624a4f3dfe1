/* test_ccache.c - unit tests for util/ccache: numbers and blobs by whole key (keys equal in
 * hash prefix or length are distinct), copies in and out, replacing a value, a full shard
 * emptied and refilled, and many threads at once. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "util/arena.h"
#include "util/ccache.h"

static void test_ccache_numbers(void **state)
{
    struct ccache *c = ccache_new(1 << 20);
    size_t v = 0;

    (void)state;
    assert_false(ccache_get_num(c, "abc", 3, &v));
    ccache_put_num(c, "abc", 3, 7);
    ccache_put_num(c, "ab", 2, 8);
    ccache_put_num(c, "", 0, 9);
    assert_true(ccache_get_num(c, "abc", 3, &v));
    assert_int_equal(v, 7);
    assert_true(ccache_get_num(c, "abcd", 3, &v));   /* only the first klen bytes count */
    assert_int_equal(v, 7);
    assert_true(ccache_get_num(c, "ab", 2, &v));
    assert_int_equal(v, 8);
    assert_true(ccache_get_num(c, "", 0, &v));
    assert_int_equal(v, 9);
    assert_false(ccache_get_num(c, "abd", 3, &v));
    ccache_put_num(c, "abc", 3, 70);
    assert_true(ccache_get_num(c, "abc", 3, &v));
    assert_int_equal(v, 70);
    ccache_free(c);
    ccache_free(NULL);
}

static void test_ccache_blobs_are_copies(void **state)
{
    struct ccache *c = ccache_new(1 << 20);
    struct arena *a = arena_new();
    char key[8] = "key-1", val[6] = "hello";
    size_t len = 0;
    char *got;

    (void)state;
    assert_null(ccache_get_blob(c, a, key, 5, &len));
    ccache_put_blob(c, key, 5, val, 5);
    memcpy(key, "key-X", 5);   /* the cache kept copies of both */
    memcpy(val, "XXXXX", 5);
    assert_null(ccache_get_blob(c, a, key, 5, &len));
    got = ccache_get_blob(c, a, "key-1", 5, &len);
    assert_non_null(got);
    assert_int_equal(len, 5);
    assert_memory_equal(got, "hello", 5);
    got[0] = 'J';              /* the caller's copy: the cache's stays */
    got = ccache_get_blob(c, a, "key-1", 5, &len);
    assert_memory_equal(got, "hello", 5);
    ccache_put_blob(c, "empty", 5, "", 0);
    assert_non_null(ccache_get_blob(c, a, "empty", 5, &len));
    assert_int_equal(len, 0);
    arena_free(a);
    ccache_free(c);
}

/* Far more than the bound: shards empty themselves, and what was just put is always there. */
static void test_ccache_bounded(void **state)
{
    struct ccache *c = ccache_new(0);   /* the minimum: 64 KiB per shard */
    char key[32];
    size_t i, v;

    (void)state;
    for (i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "segment number %zu", i);
        ccache_put_num(c, key, strlen(key), i);
        assert_true(ccache_get_num(c, key, strlen(key), &v));
        assert_int_equal(v, i);
    }
    assert_true(ccache_evictions(c) > 0);
    /* a dropped key is a miss, never a wrong value */
    for (i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "segment number %zu", i);
        if (ccache_get_num(c, key, strlen(key), &v))
            assert_int_equal(v, i);
    }
    ccache_free(c);
}

static struct ccache *shared;

static void *worker(void *arg)
{
    size_t i, v;
    char key[32];

    (void)arg;
    for (i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "k%zu", i % 500);
        if (ccache_get_num(shared, key, strlen(key), &v)) {
            if (v != (i % 500) * 3)
                return (void *)1;
        } else {
            ccache_put_num(shared, key, strlen(key), (i % 500) * 3);
        }
    }
    return NULL;
}

static void test_ccache_threads(void **state)
{
    pthread_t t[8];
    void *ret;
    size_t i;

    (void)state;
    shared = ccache_new(1 << 16);
    for (i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)i), 0);
    for (i = 0; i < 8; i++) {
        assert_int_equal(pthread_join(t[i], &ret), 0);
        assert_null(ret);
    }
    ccache_free(shared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ccache_numbers),
        cmocka_unit_test(test_ccache_blobs_are_copies),
        cmocka_unit_test(test_ccache_bounded),
        cmocka_unit_test(test_ccache_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
