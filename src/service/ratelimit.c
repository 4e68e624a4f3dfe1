/* ratelimit.c - request budgets: per-key sliding windows in memory, or fixed windows counted
 * in the database (spec/api.md §1.7, data-model.md §5). */
#include "service/ratelimit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/config.h"
#include "util/hmap.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/xalloc.h"

#define WINDOW_SECONDS 60
#define FIRST_KEYS 32

/* ---- the memory strategy ---- */

/* One key's accepted hits: a ring of monotonic times, oldest at head. */
struct rl_key {
    int64_t *hits; /* ring of cap slots; owned */
    size_t head;   /* slot of the oldest hit */
    size_t count;  /* hits held */
    size_t cap;    /* slots; grows up to rpm */
    char name[];   /* the key, NUL-terminated (the map's key points here) */
};

struct ratelimit_window {
    pthread_mutex_t lock; /* guards everything below */
    size_t rpm;           /* hits allowed per window (>= 1) */
    struct hmap keys;     /* key name → struct rl_key * (val.ptr), heap-allocated */
    int64_t next_sweep;   /* monotonic time of the next sweep; 0 = not yet set */
};

struct ratelimit_window *ratelimit_window_new(int rpm)
{
    struct ratelimit_window *w = xcalloc(1, sizeof(*w));

    pthread_mutex_init(&w->lock, NULL);
    w->rpm = rpm > 0 ? (size_t)rpm : 1;
    hmap_init(NULL, &w->keys, FIRST_KEYS);
    return w;
}

static void key_free(struct rl_key *k)
{
    free(k->hits);
    free(k);
}

void ratelimit_window_free(struct ratelimit_window *w)
{
    struct hmap_entry *e;
    size_t pos = 0;

    if (!w)
        return;
    for (e = hmap_next(&w->keys, &pos); e; e = hmap_next(&w->keys, &pos))
        key_free(e->val.ptr);
    hmap_release(&w->keys);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

/* Drop k's hits that are at least one window old. */
static void prune(struct rl_key *k, int64_t now)
{
    while (k->count > 0 && now - k->hits[k->head] >= RATELIMIT_WINDOW_US) {
        k->head = (k->head + 1) % k->cap;
        k->count--;
    }
}

/* Append now to k's ring, growing it (up to rpm slots) when full. */
static void push(struct rl_key *k, size_t rpm, int64_t now)
{
    if (k->count == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 4, i;
        int64_t *hits;

        if (cap > rpm)
            cap = rpm;
        hits = xcalloc(cap, sizeof(*hits));
        for (i = 0; i < k->count; i++)
            hits[i] = k->hits[(k->head + i) % k->cap];
        free(k->hits);
        k->hits = hits;
        k->head = 0;
        k->cap = cap;
    }
    k->hits[(k->head + k->count) % k->cap] = now;
    k->count++;
}

/* The entry of key, created when missing; lock held. */
static struct rl_key *find_or_add(struct ratelimit_window *w, const char *key)
{
    size_t len = strlen(key);
    struct hmap_entry *e = hmap_get(&w->keys, key, len);
    struct rl_key *k;

    if (e)
        return e->val.ptr;
    k = xcalloc(1, sizeof(*k) + len + 1);
    memcpy(k->name, key, len + 1);
    hmap_put(&w->keys, k->name, len, NULL)->val.ptr = k;
    return k;
}

/* hmap_filter callback of the sweep: prune the key, free it when no hit is left. */
static int keep_live(struct hmap_entry *e, void *ctx)
{
    struct rl_key *k = e->val.ptr;

    prune(k, *(const int64_t *)ctx);
    if (k->count > 0)
        return 1;
    key_free(k);
    return 0;
}

/* Prune every key and free the empty ones; lock held. */
static void sweep_locked(struct ratelimit_window *w, int64_t now)
{
    hmap_filter(&w->keys, keep_live, &now);
    w->next_sweep = now + RATELIMIT_WINDOW_US;
}

size_t ratelimit_window_sweep(struct ratelimit_window *w, int64_t now_us)
{
    size_t kept;

    pthread_mutex_lock(&w->lock);
    sweep_locked(w, now_us);
    kept = w->keys.count;
    pthread_mutex_unlock(&w->lock);
    return kept;
}

size_t ratelimit_window_keys(struct ratelimit_window *w)
{
    size_t n;

    pthread_mutex_lock(&w->lock);
    n = w->keys.count;
    pthread_mutex_unlock(&w->lock);
    return n;
}

int ratelimit_window_hit(struct ratelimit_window *w, const char *key, int64_t now_us)
{
    struct rl_key *k;
    int retry = 0;

    pthread_mutex_lock(&w->lock);
    if (w->next_sweep == 0)
        w->next_sweep = now_us + RATELIMIT_WINDOW_US;
    else if (now_us >= w->next_sweep)
        sweep_locked(w, now_us);
    k = find_or_add(w, key);
    prune(k, now_us);
    if (k->count >= w->rpm) {
        /* Truncated toward zero like the reference's int(); the oldest hit is < 60 s old. */
        double left = (double)WINDOW_SECONDS - (double)(now_us - k->hits[k->head]) / 1000000.0;

        retry = (int)left + 1;
    } else {
        push(k, w->rpm, now_us);
    }
    pthread_mutex_unlock(&w->lock);
    return retry;
}

/* ---- the distributed strategy ---- */

int64_t ratelimit_window_start(int64_t t)
{
    int64_t q = t / WINDOW_SECONDS;

    if (t % WINDOW_SECONDS < 0)
        q--; /* floor, also before 1970 */
    return q * WINDOW_SECONDS;
}

int ratelimit_retry_after_fixed(int64_t t, int64_t start)
{
    int64_t left = WINDOW_SECONDS - (t - start);

    return left < 1 ? 1 : (int)left;
}

/* 1 while the database fails, so the warning is logged once per outage, not per request. */
static atomic_int db_failing;

/* Count the hit in the database; 0 = allowed (also on any failure), else Retry-After. */
static int distributed_hit(const char *key)
{
    struct err err = ERR_INIT;
    int64_t now = ts_now(), count = 0, t, start;
    store *st = store_thread(&err);

    t = now / 1000000;
    start = ratelimit_window_start(t);
    if (!st || store_ratelimit_hit(st, key, start, now, &count, &err) < 0) {
        if (!atomic_exchange(&db_failing, 1))
            log_write(LOG_WARN,
                      "rate limit: counting in the database failed (%s); allowing "
                      "requests until it works again",
                      err.msg);
        err_release(&err);
        return 0;
    }
    if (atomic_exchange(&db_failing, 0))
        log_write(LOG_INFO, "rate limit: counting in the database works again");
    if (count > (int64_t)cfg->rate_limit_rpm)
        return ratelimit_retry_after_fixed(t, start);
    return 0;
}

static pthread_once_t memory_once = PTHREAD_ONCE_INIT;
static struct ratelimit_window *memory_window; /* lives as long as the process */

static void memory_init(void)
{
    memory_window = ratelimit_window_new(cfg->rate_limit_rpm);
}

int ratelimit_take(const char *key)
{
    if (cfg->rate_limit_rpm <= 0)
        return 0;
    if (cfg->rate_limit_distributed)
        return distributed_hit(key);
    pthread_once(&memory_once, memory_init);
    return ratelimit_window_hit(memory_window, key, ts_monotonic());
}
