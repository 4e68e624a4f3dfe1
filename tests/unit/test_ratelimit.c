/* test_ratelimit.c - the memory limiter (sliding window per key, Retry-After arithmetic,
 * sweeps that keep memory bounded) and the distributed strategy's window arithmetic, through
 * service/ratelimit.h with an explicit clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>

#include "service/ratelimit.h"

#define S INT64_C(1000000)   /* one second in microseconds */
#define T0 (1000 * S)        /* an arbitrary monotonic origin */

static void test_ratelimit_allows_rpm_then_rejects(void **state)
{
    struct ratelimit_window *w = ratelimit_window_new(2);

    (void)state;
    assert_int_equal(ratelimit_window_hit(w, "1.2.3.4", T0), 0);
    assert_int_equal(ratelimit_window_hit(w, "1.2.3.4", T0 + 1 * S), 0);
    /* Third hit 2 s after the oldest: int(60 - 2) + 1. */
    assert_int_equal(ratelimit_window_hit(w, "1.2.3.4", T0 + 2 * S), 59);
    /* The rejected hit was not recorded: one second later only the clock moved. */
    assert_int_equal(ratelimit_window_hit(w, "1.2.3.4", T0 + 3 * S), 58);
    ratelimit_window_free(w);
}

static void test_ratelimit_window_slides(void **state)
{
    struct ratelimit_window *w = ratelimit_window_new(2);

    (void)state;
    assert_int_equal(ratelimit_window_hit(w, "k", T0), 0);
    assert_int_equal(ratelimit_window_hit(w, "k", T0 + 30 * S), 0);
    assert_int_equal(ratelimit_window_hit(w, "k", T0 + 60 * S - 1), 1);
    /* Exactly 60 s old: gone, so one slot is free again. */
    assert_int_equal(ratelimit_window_hit(w, "k", T0 + 60 * S), 0);
    /* Full again; the oldest is now the hit at +30 s. */
    assert_int_equal(ratelimit_window_hit(w, "k", T0 + 61 * S), 30);
    assert_int_equal(ratelimit_window_hit(w, "k", T0 + 90 * S), 0);
    ratelimit_window_free(w);
}

static void test_ratelimit_retry_after_truncates(void **state)
{
    struct ratelimit_window *w = ratelimit_window_new(1);

    (void)state;
    assert_int_equal(ratelimit_window_hit(w, "k", T0), 0);
    assert_int_equal(ratelimit_window_hit(w, "k", T0), 61);             /* int(60.0) + 1 */
    assert_int_equal(ratelimit_window_hit(w, "k", T0 + S / 2), 60);     /* int(59.5) + 1 */
    assert_int_equal(ratelimit_window_hit(w, "k", T0 + 59 * S + S / 2), 1);
    assert_int_equal(ratelimit_window_hit(w, "k", T0 + 60 * S - 1), 1); /* int(1e-6) + 1 */
    ratelimit_window_free(w);
}

static void test_ratelimit_keys_are_independent(void **state)
{
    struct ratelimit_window *w = ratelimit_window_new(1);

    (void)state;
    assert_int_equal(ratelimit_window_hit(w, "10.0.0.1", T0), 0);
    assert_int_equal(ratelimit_window_hit(w, "10.0.0.2", T0), 0);
    assert_int_equal(ratelimit_window_hit(w, "::1", T0), 0);
    assert_int_not_equal(ratelimit_window_hit(w, "10.0.0.1", T0 + S), 0);
    assert_int_not_equal(ratelimit_window_hit(w, "::1", T0 + S), 0);
    assert_int_equal(ratelimit_window_keys(w), 3);
    ratelimit_window_free(w);
}

/* The ring grows up to rpm slots and keeps the hits in order across the wrap. */
static void test_ratelimit_ring_wraps_in_order(void **state)
{
    struct ratelimit_window *w = ratelimit_window_new(5);
    int i;

    (void)state;
    for (i = 0; i < 5; i++)
        assert_int_equal(ratelimit_window_hit(w, "k", T0 + i * S), 0);
    assert_int_equal(ratelimit_window_hit(w, "k", T0 + 5 * S), 56);
    /* The hit at T0 leaves; the new one goes into its slot. */
    assert_int_equal(ratelimit_window_hit(w, "k", T0 + 60 * S), 0);
    /* Held: +1 +2 +3 +4 +60; the oldest is +1. */
    assert_int_equal(ratelimit_window_hit(w, "k", T0 + 60 * S + S / 2), 1);
    assert_int_equal(ratelimit_window_hit(w, "k", T0 + 61 * S), 0);
    assert_int_equal(ratelimit_window_hit(w, "k", T0 + 61 * S), 2);   /* oldest +2 */
    ratelimit_window_free(w);
}

static void test_ratelimit_sweep_drops_idle_keys(void **state)
{
    struct ratelimit_window *w = ratelimit_window_new(3);
    char key[32];
    int i;

    (void)state;
    for (i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "10.%d.%d.%d", i / 65536, i / 256 % 256, i % 256);
        assert_int_equal(ratelimit_window_hit(w, key, T0 + i), 0);
    }
    assert_int_equal(ratelimit_window_keys(w), 5000);
    assert_int_equal(ratelimit_window_hit(w, "10.0.0.7", T0 + S), 0);   /* still held */
    assert_int_equal(ratelimit_window_sweep(w, T0 + 30 * S), 5000);
    /* 60 s after the first 5000 hits only the key hit at T0 + 1 s keeps a hit. */
    assert_int_equal(ratelimit_window_sweep(w, T0 + 60 * S + 5000), 1);
    assert_int_equal(ratelimit_window_sweep(w, T0 + 61 * S), 0);
    assert_int_equal(ratelimit_window_hit(w, "10.0.0.7", T0 + 62 * S), 0);
    assert_int_equal(ratelimit_window_keys(w), 1);
    ratelimit_window_free(w);
}

/* Without explicit sweeps, a hit more than a window after the last sweep runs one. */
static void test_ratelimit_hit_sweeps_by_itself(void **state)
{
    struct ratelimit_window *w = ratelimit_window_new(2);
    char key[32];
    int i;

    (void)state;
    for (i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "192.0.2.%d", i);
        ratelimit_window_hit(w, key, T0);
    }
    assert_int_equal(ratelimit_window_keys(w), 100);
    ratelimit_window_hit(w, "198.51.100.1", T0 + 10 * S);
    assert_int_equal(ratelimit_window_keys(w), 101);
    ratelimit_window_hit(w, "198.51.100.2", T0 + 70 * S);
    assert_int_equal(ratelimit_window_keys(w), 1);
    ratelimit_window_free(w);
}

#define NTHREADS 8
#define HITS_EACH 1000
#define RPM_SHARED 5000

struct hitter {
    struct ratelimit_window *w;
    int allowed;
};

static void *hit_many(void *arg)
{
    struct hitter *h = arg;
    int i;

    for (i = 0; i < HITS_EACH; i++) {
        if (ratelimit_window_hit(h->w, "203.0.113.9", T0 + 5 * S) == 0)
            h->allowed++;
    }
    return NULL;
}

/* Concurrent hits on one key: exactly rpm of them are allowed. */
static void test_ratelimit_threads_share_one_budget(void **state)
{
    struct ratelimit_window *w = ratelimit_window_new(RPM_SHARED);
    struct hitter h[NTHREADS];
    pthread_t th[NTHREADS];
    int i, allowed = 0;

    (void)state;
    for (i = 0; i < NTHREADS; i++) {
        h[i].w = w;
        h[i].allowed = 0;
        assert_int_equal(pthread_create(&th[i], NULL, hit_many, &h[i]), 0);
    }
    for (i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        allowed += h[i].allowed;
    }
    assert_int_equal(allowed, RPM_SHARED);
    ratelimit_window_free(w);
}

static void test_ratelimit_fixed_window_arithmetic(void **state)
{
    (void)state;
    assert_int_equal(ratelimit_window_start(0), 0);
    assert_int_equal(ratelimit_window_start(59), 0);
    assert_int_equal(ratelimit_window_start(60), 60);
    assert_int_equal(ratelimit_window_start(1717243219), 1717243200);
    assert_int_equal(ratelimit_window_start(-1), -60);
    assert_int_equal(ratelimit_retry_after_fixed(120, 120), 60);
    assert_int_equal(ratelimit_retry_after_fixed(150, 120), 30);
    assert_int_equal(ratelimit_retry_after_fixed(179, 120), 1);
    assert_int_equal(ratelimit_retry_after_fixed(185, 120), 1);   /* never below 1 */
}

static void test_ratelimit_free_accepts_null(void **state)
{
    (void)state;
    ratelimit_window_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratelimit_allows_rpm_then_rejects),
        cmocka_unit_test(test_ratelimit_window_slides),
        cmocka_unit_test(test_ratelimit_retry_after_truncates),
        cmocka_unit_test(test_ratelimit_keys_are_independent),
        cmocka_unit_test(test_ratelimit_ring_wraps_in_order),
        cmocka_unit_test(test_ratelimit_sweep_drops_idle_keys),
        cmocka_unit_test(test_ratelimit_hit_sweeps_by_itself),
        cmocka_unit_test(test_ratelimit_threads_share_one_budget),
        cmocka_unit_test(test_ratelimit_fixed_window_arithmetic),
        cmocka_unit_test(test_ratelimit_free_accepts_null),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
