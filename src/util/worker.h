/* worker.h - background threads that sleep until a deadline, a wake-up or stop: the compile
 * job workers and their keeper, the webhook deliverer, the cleanup loop, the replica health
 * check and the header-deadline watcher. One struct worker is a pool of one or more threads
 * running the same body.
 *
 * A body loops like this (the wake count read by worker_stopping is the lost-wakeup guard: a
 * worker_wake that lands while the body works makes the next sleep return at once):
 *
 *     while (!worker_stopping(w, &seen)) {
 *         ... one round of work ...
 *         worker_sleep(w, seen, how_long);
 *     }
 */
#ifndef ENGRAM_UTIL_WORKER_H
#define ENGRAM_UTIL_WORKER_H

#include <pthread.h>
#include <stdint.h>

struct worker;

/* The body of each thread of w; slot is 0..n-1, one per thread. It returns once
 * worker_stopping says so, having released what it holds. */
typedef void worker_fn(struct worker *w, int slot);

struct worker_thread {
    pthread_t id;
    struct worker *w;
    int slot;
};

struct worker {
    pthread_mutex_t lock;            /* guards started, stop and wakes */
    pthread_cond_t wake;             /* monotonic; initialised while started */
    int started;                     /* the cond is initialised and the threads run */
    int stop;
    unsigned long wakes;             /* bumped by every worker_wake */
    struct worker_thread *threads;   /* nthreads, owned */
    int nthreads;
    worker_fn *run;
};

/* A worker starts as WORKER_INIT (static, or assigned: `w = (struct worker)WORKER_INIT`). One
 * that is freed afterwards destroys w->lock once stopped. */
#define WORKER_INIT { .lock = PTHREAD_MUTEX_INITIALIZER }

/* Start n threads (n >= 1) running run(w, slot). Returns 0; or -1 when a thread cannot be
 * created, after stopping those that were (w is then as before the call). A worker already
 * started is left alone (0). Called by one owner thread, as is worker_stop. */
int worker_start(struct worker *w, int n, worker_fn *run);
/* Ask the threads to stop, wake them from any sleep and join them. Does nothing when w is
 * not started. */
void worker_stop(struct worker *w);
/* 1 while w is started (between a successful worker_start and worker_stop). */
int worker_running(struct worker *w);
/* Wake one sleeping thread of w and bump the wake count, so that a thread busy now does not
 * go to sleep on its next worker_sleep. Safe from any thread, started or not. */
void worker_wake(struct worker *w);

/* For a body: 1 once stop is asked; else 0, with *seen set to the current wake count. */
int worker_stopping(struct worker *w, unsigned long *seen);
/* For a body: sleep at most us microseconds; return at once when us <= 0, when stop is asked,
 * or when worker_wake was called since worker_stopping read seen. Returns early on a
 * spurious wake-up too: the body re-checks its own condition. */
void worker_sleep(struct worker *w, unsigned long seen, int64_t us);

#endif
