/* ratelimit.c - the rate-limit step: per-IP sliding windows in memory, or fixed windows
 * counted in the database (spec/api.md §1.7, data-model.md §5). */
#include "http/ratelimit.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/metrics.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/xalloc.h"

#define WINDOW_SECONDS 60
#define FIRST_BUCKETS 64

/* ---- the memory strategy ---- */

/* One key's accepted hits: a ring of monotonic times, oldest at head. */
struct rl_key {
    struct rl_key *next;   /* bucket chain */
    int64_t *hits;         /* ring of cap slots; owned */
    size_t head;           /* slot of the oldest hit */
    size_t count;          /* hits held */
    size_t cap;            /* slots; grows up to rpm */
    char name[];           /* the key, NUL-terminated */
};

struct ratelimit_window {
    pthread_mutex_t lock;   /* guards everything below */
    size_t rpm;             /* hits allowed per window (>= 1) */
    struct rl_key **buckets;
    size_t nbuckets;        /* a power of two */
    size_t nkeys;
    int64_t next_sweep;     /* monotonic time of the next sweep; 0 = not yet set */
};

/* FNV-1a: a handful of bytes per key, spread well enough for IP addresses. */
static size_t hash_key(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return (size_t)h;
}

struct ratelimit_window *ratelimit_window_new(int rpm)
{
    struct ratelimit_window *w = xcalloc(1, sizeof(*w));

    pthread_mutex_init(&w->lock, NULL);
    w->rpm = rpm > 0 ? (size_t)rpm : 1;
    w->nbuckets = FIRST_BUCKETS;
    w->buckets = xcalloc(w->nbuckets, sizeof(*w->buckets));
    return w;
}

static void key_free(struct rl_key *k)
{
    free(k->hits);
    free(k);
}

void ratelimit_window_free(struct ratelimit_window *w)
{
    size_t i;

    if (!w)
        return;
    for (i = 0; i < w->nbuckets; i++) {
        while (w->buckets[i]) {
            struct rl_key *k = w->buckets[i];

            w->buckets[i] = k->next;
            key_free(k);
        }
    }
    free(w->buckets);
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

/* Double the bucket array and rehash; lock held. */
static void grow_buckets(struct ratelimit_window *w)
{
    size_t n = w->nbuckets * 2, i;
    struct rl_key **b = xcalloc(n, sizeof(*b));

    for (i = 0; i < w->nbuckets; i++) {
        while (w->buckets[i]) {
            struct rl_key *k = w->buckets[i];
            size_t j = hash_key(k->name) & (n - 1);

            w->buckets[i] = k->next;
            k->next = b[j];
            b[j] = k;
        }
    }
    free(w->buckets);
    w->buckets = b;
    w->nbuckets = n;
}

/* The entry of key, created when missing; lock held. */
static struct rl_key *find_or_add(struct ratelimit_window *w, const char *key)
{
    size_t i = hash_key(key) & (w->nbuckets - 1), len;
    struct rl_key *k;

    for (k = w->buckets[i]; k; k = k->next) {
        if (strcmp(k->name, key) == 0)
            return k;
    }
    if (w->nkeys >= 2 * w->nbuckets) {
        grow_buckets(w);
        i = hash_key(key) & (w->nbuckets - 1);
    }
    len = strlen(key);
    k = xcalloc(1, sizeof(*k) + len + 1);
    memcpy(k->name, key, len + 1);
    k->next = w->buckets[i];
    w->buckets[i] = k;
    w->nkeys++;
    return k;
}

/* Prune every key and free the empty ones; lock held. */
static void sweep_locked(struct ratelimit_window *w, int64_t now)
{
    size_t i;

    for (i = 0; i < w->nbuckets; i++) {
        struct rl_key **pp = &w->buckets[i];

        while (*pp) {
            struct rl_key *k = *pp;

            prune(k, now);
            if (k->count == 0) {
                *pp = k->next;
                key_free(k);
                w->nkeys--;
            } else {
                pp = &k->next;
            }
        }
    }
    w->next_sweep = now + RATELIMIT_WINDOW_US;
}

size_t ratelimit_window_sweep(struct ratelimit_window *w, int64_t now_us)
{
    size_t kept;

    pthread_mutex_lock(&w->lock);
    sweep_locked(w, now_us);
    kept = w->nkeys;
    pthread_mutex_unlock(&w->lock);
    return kept;
}

size_t ratelimit_window_keys(struct ratelimit_window *w)
{
    size_t n;

    pthread_mutex_lock(&w->lock);
    n = w->nkeys;
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
        double left = (double)WINDOW_SECONDS -
                      (double)(now_us - k->hits[k->head]) / 1000000.0;

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
        q--;   /* floor, also before 1970 */
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
            log_write(LOG_WARN, "rate limit: counting in the database failed (%s); allowing "
                      "requests until it works again", err.msg);
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
static struct ratelimit_window *memory_window;   /* lives as long as the process */

static void memory_init(void)
{
    memory_window = ratelimit_window_new(cfg->rate_limit_rpm);
}

/* ---- the pipeline step ---- */

/* Paths never limited: the probes (spec/api.md §1.7) and, Engram's own, /metrics, so that a
 * scraper neither gets throttled nor spends the budget of clients behind the same address. */
int ratelimit_path_exempt(const char *path)
{
    return strcmp(path, "/healthz") == 0 || strcmp(path, "/health") == 0 ||
           strcmp(path, "/readyz") == 0 || strcmp(path, "/ready") == 0 ||
           strcmp(path, "/metrics") == 0;
}

/* The peer address as text into out; "unknown" when there is none. */
static void client_key(struct req *req, char *out, size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    const char *ok = NULL;

    if (sa && sa->sa_family == AF_INET)
        ok = inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
                       (socklen_t)size);
    else if (sa && sa->sa_family == AF_INET6)
        ok = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
                       (socklen_t)size);
    if (!ok)
        snprintf(out, size, "unknown");
}

int ratelimit_check(struct req *req, struct err *err)
{
    char key[INET6_ADDRSTRLEN + 1];
    int retry;

    if (cfg->rate_limit_rpm <= 0 || ratelimit_path_exempt(req->path))
        return 0;
    client_key(req, key, sizeof(key));
    if (cfg->rate_limit_distributed) {
        retry = distributed_hit(key);
    } else {
        pthread_once(&memory_once, memory_init);
        retry = ratelimit_window_hit(memory_window, key, ts_monotonic());
    }
    if (retry == 0)
        return 0;
    req->retry_after = retry;
    metrics_count_rate_limited();
    return err_set_code(err, ERR_RATE_LIMITED, "rate_limited",
                        "Rate limit exceeded. Max %d requests per minute.", cfg->rate_limit_rpm);
}
