/* deadline.c - header deadlines: a list of the connections waiting for a header, checked
 * by one thread four times a second. */
#include "http/deadline.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "util/log.h"
#include "util/ts.h"
#include "util/worker.h"
#include "util/xalloc.h"

#define TICK_US (250 * 1000)   /* how often deadlines are checked */

struct deadline {
    struct deadline *prev, *next;    /* in ds->armed while a header is awaited */
    int fd;                          /* the connection's socket */
    int64_t due_us;                  /* monotonic time the header must be complete by */
    int armed;                       /* 1 while in the list */
    int shut;                        /* 1 once shut down (the close is on its way) */
};

struct deadlines {
    pthread_mutex_t lock;            /* guards the list and every deadline's fields */
    struct worker watcher;           /* the thread that checks the list */
    struct deadline *armed;          /* connections waiting for a header */
};

static void unlink_locked(struct deadlines *ds, struct deadline *d)
{
    if (!d->armed)
        return;
    if (d->prev)
        d->prev->next = d->next;
    else
        ds->armed = d->next;
    if (d->next)
        d->next->prev = d->prev;
    d->prev = d->next = NULL;
    d->armed = 0;
}

static void link_locked(struct deadlines *ds, struct deadline *d)
{
    d->prev = NULL;
    d->next = ds->armed;
    if (ds->armed)
        ds->armed->prev = d;
    ds->armed = d;
    d->armed = 1;
}

/* Shut down every connection past its deadline; returns how many. Called with the lock. */
static int expire_locked(struct deadlines *ds, int64_t now)
{
    struct deadline *d;
    int n = 0;

    for (d = ds->armed; d; d = d->next) {
        if (d->shut || d->due_us > now)
            continue;
        shutdown(d->fd, SHUT_RDWR);
        d->shut = 1;
        n++;
    }
    return n;
}

static void watch(struct worker *w, int slot)
{
    struct deadlines *ds = (struct deadlines *)((char *)w - offsetof(struct deadlines, watcher));
    unsigned long seen;
    int n;

    (void)slot;
    while (!worker_stopping(w, &seen)) {
        worker_sleep(w, seen, TICK_US);
        pthread_mutex_lock(&ds->lock);
        n = expire_locked(ds, ts_monotonic());
        pthread_mutex_unlock(&ds->lock);
        if (n)
            log_write(LOG_WARN, "closed %d connection(s) that did not complete a request "
                      "header in time", n);
    }
}

struct deadlines *deadlines_new(void)
{
    struct deadlines *ds = xcalloc(1, sizeof(*ds));

    pthread_mutex_init(&ds->lock, NULL);
    ds->watcher = (struct worker)WORKER_INIT;
    if (worker_start(&ds->watcher, 1, watch) < 0)
        BUG("cannot start the header deadline thread");
    return ds;
}

void deadlines_free(struct deadlines *ds)
{
    if (!ds)
        return;
    worker_stop(&ds->watcher);
    pthread_mutex_destroy(&ds->watcher.lock);
    pthread_mutex_destroy(&ds->lock);
    free(ds);
}

struct deadline *deadline_add(struct deadlines *ds, int fd, int64_t due_us)
{
    struct deadline *d = xcalloc(1, sizeof(*d));

    d->fd = fd;
    d->due_us = due_us;
    pthread_mutex_lock(&ds->lock);
    link_locked(ds, d);
    pthread_mutex_unlock(&ds->lock);
    return d;
}

void deadline_disarm(struct deadlines *ds, struct deadline *d)
{
    pthread_mutex_lock(&ds->lock);
    unlink_locked(ds, d);
    pthread_mutex_unlock(&ds->lock);
}

void deadline_arm(struct deadlines *ds, struct deadline *d, int64_t due_us)
{
    pthread_mutex_lock(&ds->lock);
    d->due_us = due_us;
    if (!d->armed)
        link_locked(ds, d);
    pthread_mutex_unlock(&ds->lock);
}

void deadline_remove(struct deadlines *ds, struct deadline *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&ds->lock);
    unlink_locked(ds, d);
    pthread_mutex_unlock(&ds->lock);
    free(d);
}
