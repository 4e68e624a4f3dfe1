/* test_worker.c - unit tests for util/worker: every thread gets its own slot, stop ends an
 * hour's sleep and joins, a wake ends a sleep, a wake that lands while the body works is not
 * lost, and a worker can be started again after a stop. No assertion on durations
 * (C-STYLE.md §11): a broken wake or stop shows as a test that does not finish. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>

#include "util/worker.h"

#define HOUR (3600 * INT64_C(1000000))

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static unsigned slots_seen;   /* bit i: slot i ran */
static int rounds, exits;

/* Each test's setup: no slot seen, no round, no exit. */
static int reset(void **state)
{
    (void)state;
    pthread_mutex_lock(&lock);
    slots_seen = 0;
    rounds = exits = 0;
    pthread_mutex_unlock(&lock);
    return 0;
}

/* Count a round, then sleep an hour: only a wake or stop ends the sleep. */
static void sleeper(struct worker *w, int slot)
{
    unsigned long seen;

    while (!worker_stopping(w, &seen)) {
        pthread_mutex_lock(&lock);
        slots_seen |= 1u << slot;
        rounds++;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
        worker_sleep(w, seen, HOUR);
    }
    pthread_mutex_lock(&lock);
    exits++;
    pthread_mutex_unlock(&lock);
}

static void wait_rounds(int n)
{
    pthread_mutex_lock(&lock);
    while (rounds < n)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
}

static void test_worker_slots_and_stop(void **state)
{
    struct worker w = WORKER_INIT;

    (void)state;
    assert_int_equal(worker_start(&w, 3, sleeper), 0);
    assert_int_equal(worker_running(&w), 1);
    wait_rounds(3);
    assert_int_equal(worker_start(&w, 3, sleeper), 0);   /* already started: no new thread */
    worker_stop(&w);                                     /* ends three hour-long sleeps */
    assert_int_equal(worker_running(&w), 0);
    assert_int_equal(slots_seen, 7);   /* slots 0, 1 and 2, each once */
    assert_int_equal(exits, 3);        /* all joined */
    assert_null(w.threads);
}

static void test_worker_wake_ends_sleep(void **state)
{
    struct worker w = WORKER_INIT;

    (void)state;
    assert_int_equal(worker_start(&w, 1, sleeper), 0);
    wait_rounds(1);
    worker_wake(&w);
    wait_rounds(2);   /* the hour's sleep ended */
    worker_stop(&w);
    assert_int_equal(exits, 1);
}

static void quit(struct worker *w, int slot)
{
    (void)w;
    (void)slot;
}

/* The body's side driven from this thread: a wake between worker_stopping and worker_sleep
 * makes the sleep return at once. */
static void test_worker_wake_while_busy(void **state)
{
    struct worker w = WORKER_INIT;
    unsigned long seen, again;

    (void)state;
    assert_int_equal(worker_start(&w, 1, quit), 0);
    assert_int_equal(worker_stopping(&w, &seen), 0);
    worker_wake(&w);              /* lands "while the body works" */
    worker_sleep(&w, seen, HOUR); /* returns at once */
    assert_int_equal(worker_stopping(&w, &again), 0);
    assert_int_equal(again, seen + 1);
    worker_sleep(&w, again, 1000);   /* no wake: ends after 1 ms */
    worker_sleep(&w, again, 0);      /* nothing to wait for */
    worker_sleep(&w, again, -5);
    worker_stop(&w);
    assert_int_equal(worker_stopping(&w, &again), 1);
    worker_sleep(&w, again, HOUR);   /* stopped: returns at once */
}

static void test_worker_idle_and_restart(void **state)
{
    struct worker w = WORKER_INIT;
    unsigned long seen;

    (void)state;
    worker_stop(&w);   /* never started: nothing to do */
    worker_wake(&w);   /* counted, nobody to signal */
    assert_int_equal(worker_running(&w), 0);
    assert_int_equal(worker_stopping(&w, &seen), 0);
    assert_int_equal(seen, 1);
    assert_int_equal(worker_start(&w, 2, sleeper), 0);
    wait_rounds(2);
    worker_stop(&w);
    assert_int_equal(worker_start(&w, 1, sleeper), 0);   /* a stopped worker starts again */
    wait_rounds(3);
    assert_int_equal(worker_stopping(&w, &seen), 0);     /* the stop flag was cleared */
    worker_stop(&w);
    assert_int_equal(exits, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_worker_slots_and_stop, reset),
        cmocka_unit_test_setup(test_worker_wake_ends_sleep, reset),
        cmocka_unit_test_setup(test_worker_wake_while_busy, reset),
        cmocka_unit_test_setup(test_worker_idle_and_restart, reset),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
