/* worker.c - background thread pools with a stop flag and a wake-up (see worker.h). */
#include "util/worker.h"

#include <stdlib.h>

#include "util/cond.h"
#include "util/xalloc.h"

static void *thread_main(void *arg)
{
    struct worker_thread *t = arg;

    t->w->run(t->w, t->slot);
    return NULL;
}

/* Stop and join the first n threads of w; destroy the cond. */
static void stop_threads(struct worker *w, int n)
{
    int i;

    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
    for (i = 0; i < n; i++)
        pthread_join(w->threads[i].id, NULL);
    pthread_mutex_lock(&w->lock);
    w->started = 0;   /* before the cond goes: worker_wake signals only a started worker */
    pthread_mutex_unlock(&w->lock);
    pthread_cond_destroy(&w->wake);
    free(w->threads);
    w->threads = NULL;
    w->nthreads = 0;
}

int worker_start(struct worker *w, int n, worker_fn *run)
{
    int i;

    if (w->started)
        return 0;
    cond_init_monotonic(&w->wake);
    w->stop = 0;
    w->run = run;
    w->threads = xcalloc((size_t)n, sizeof(*w->threads));
    pthread_mutex_lock(&w->lock);
    w->started = 1;   /* from here worker_wake signals: no wake-up is lost while starting */
    pthread_mutex_unlock(&w->lock);
    for (i = 0; i < n; i++) {
        w->threads[i].w = w;
        w->threads[i].slot = i;
        if (pthread_create(&w->threads[i].id, NULL, thread_main, &w->threads[i]) != 0) {
            stop_threads(w, i);
            return -1;
        }
    }
    w->nthreads = n;
    return 0;
}

void worker_stop(struct worker *w)
{
    if (!w->started)
        return;
    stop_threads(w, w->nthreads);
}

int worker_running(struct worker *w)
{
    int started;

    pthread_mutex_lock(&w->lock);
    started = w->started;
    pthread_mutex_unlock(&w->lock);
    return started;
}

void worker_wake(struct worker *w)
{
    pthread_mutex_lock(&w->lock);
    w->wakes++;
    if (w->started)
        pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

int worker_stopping(struct worker *w, unsigned long *seen)
{
    int stop;

    pthread_mutex_lock(&w->lock);
    stop = w->stop;
    *seen = w->wakes;
    pthread_mutex_unlock(&w->lock);
    return stop;
}

void worker_sleep(struct worker *w, unsigned long seen, int64_t us)
{
    if (us <= 0)
        return;
    pthread_mutex_lock(&w->lock);
    if (!w->stop && w->wakes == seen)
        cond_wait_us(&w->wake, &w->lock, us);
    pthread_mutex_unlock(&w->lock);
}
