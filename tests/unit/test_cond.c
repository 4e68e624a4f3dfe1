/* test_cond.c - unit tests for util/cond: a monotonic wait ends by itself after its time, and a
 * signal ends it early. No assertion on durations (C-STYLE.md §11): only that each wait
 * returns, with the lock held again. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>

#include "util/cond.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond;
static int flag;

static void test_cond_wait_times_out(void **state)
{
    (void)state;
    cond_init_monotonic(&cond);
    pthread_mutex_lock(&lock);
    cond_wait_us(&cond, &lock, 1000);                      /* nobody signals: returns after 1 ms */
    cond_wait_us(&cond, &lock, 999999);                    /* tv_nsec carries into tv_sec */
    assert_int_equal(pthread_mutex_trylock(&lock), EBUSY); /* held again */
    pthread_mutex_unlock(&lock);
    pthread_cond_destroy(&cond);
}

static void *signaller(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    flag = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void test_cond_signal_wakes(void **state)
{
    pthread_t t;

    (void)state;
    cond_init_monotonic(&cond);
    flag = 0;
    pthread_mutex_lock(&lock);
    assert_int_equal(pthread_create(&t, NULL, signaller, NULL), 0);
    while (!flag)
        cond_wait_us(&cond, &lock, 3600 * INT64_C(1000000)); /* an hour: only a signal ends it */
    pthread_mutex_unlock(&lock);
    pthread_join(t, NULL);
    pthread_cond_destroy(&cond);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cond_wait_times_out),
        cmocka_unit_test(test_cond_signal_wakes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
