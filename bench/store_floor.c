/* store_floor.c - the storage floor of `make bench`: raw episode inserts through the store
 * interface (store_episode_insert), in one process and one thread, with the same row as the
 * HTTP ingest scenario, so ingest figures can be read against what the database itself can do.
 *
 *   store_floor URL SECONDS BATCH [SEQ0]
 *
 * URL is a STATEWAVE_DATABASE_URL (sqlite:///abs/path or postgresql://…); the schema is
 * migrated first. BATCH 1 commits every row on its own (autocommit, as a single-episode POST
 * does today); BATCH > 1 wraps BATCH rows in one transaction (what a batch POST or a group
 * commit does). Runs for about SECONDS after a short warm-up and prints one JSON line:
 * {"rows": N, "seconds": S, "rows_per_s": R, "commits_per_s": C, "p50_ms": …, "p99_ms": …}
 * where the latencies are per commit.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "util/arena.h"
#include "util/err.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/uuid.h"

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* The same capitalised letters-only word as loadgen's {name:0}. */
static void name_of(unsigned long v, char *out)
{
    char tmp[32];
    int n = 0, i, o = 0;

    do {
        tmp[n++] = (char)('a' + v % 26);
        v /= 26;
    } while (v || n < 4);
    out[o++] = 'K';
    for (i = n - 1; i >= 0; i--)
        out[o++] = tmp[i];
    out[o] = '\0';
}

/* Insert `batch` rows (one transaction when batch > 1). */
static int insert_rows(store *st, struct arena *a, long *seq, long batch, struct err *err)
{
    long i;
    int inserted;

    if (batch > 1 && store_tx_begin(st, err) < 0)
        return -1;
    for (i = 0; i < batch; i++) {
        struct episode ep;
        char name[32], subject[32];
        char *payload;

        name_of((unsigned long)*seq, name);
        /* loadgen's ingest body: subject "s-{conn}", same payload text shape. */
        snprintf(subject, sizeof(subject), "s-%ld", *seq % 16);
        payload = arena_printf(a, "{\"text\":\"My name is %s Smith and I work at %s Corp.\"}",
                               name, name);
        memset(&ep, 0, sizeof(ep));
        uuid_v4(ep.id);
        ep.subject_id = subject;
        ep.tenant_id = NULL;
        ep.session_id = NULL;
        ep.source = "chat";
        ep.type = "message";
        ep.payload = payload;
        ep.metadata = "{}";
        ep.provenance = "{}";
        ep.idempotency_key = NULL;
        ep.created_at = ts_now();
        ep.last_compiled_at = TS_NULL;
        if (store_episode_insert(st, a, &ep, &inserted, err) < 0) {
            if (batch > 1)
                store_tx_rollback(st);
            return -1;
        }
        (*seq)++;
    }
    if (batch > 1 && store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct err err = ERR_INIT;
    const struct store_ops *ops;
    struct migrate_result mr;
    struct arena *a;
    char *conninfo = NULL;
    store *st = NULL;
    double seconds;
    long batch, seq, rows = 0;
    uint64_t t0, deadline, warm_end, *lat = NULL;
    size_t nlat = 0, cap = 0;

    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: store_floor URL SECONDS BATCH [SEQ0]\n");
        return 2;
    }
    seconds = atof(argv[2]);
    batch = atol(argv[3]);
    seq = argc == 5 ? atol(argv[4]) : 0;
    if (seconds <= 0 || batch < 1) {
        fprintf(stderr, "store_floor: SECONDS > 0 and BATCH >= 1\n");
        return 2;
    }
    log_setup(LOG_WARN, 1);
    ops = store_backend_for(argv[1], &conninfo, &err);
    if (!ops || store_open(ops, conninfo, &st, &err) < 0 || store_migrate(st, &mr, &err) < 0) {
        fprintf(stderr, "store_floor: %s\n", err.msg);
        return 1;
    }
    a = arena_new();

    /* Warm-up: a tenth of the time, at most one second (statements prepared, caches warm). */
    t0 = now_ns();
    warm_end = t0 + (uint64_t)(seconds * 1e8 > 1e9 ? 1e9 : seconds * 1e8);
    while (now_ns() < warm_end) {
        if (insert_rows(st, a, &seq, batch, &err) < 0)
            goto cleanup;
        arena_reset(a);
    }
    t0 = now_ns();
    deadline = t0 + (uint64_t)(seconds * 1e9);
    for (;;) {
        uint64_t s = now_ns();

        if (s >= deadline)
            break;
        if (insert_rows(st, a, &seq, batch, &err) < 0)
            goto cleanup;
        arena_reset(a);
        rows += batch;
        if (nlat == cap) {
            cap = cap ? cap * 2 : 65536;
            lat = realloc(lat, cap * sizeof(*lat));
            if (!lat)
                goto cleanup;
        }
        lat[nlat++] = now_ns() - s;
    }
    {
        double secs = (double)(now_ns() - t0) / 1e9;

        qsort(lat, nlat, sizeof(*lat), cmp_u64);
        printf("{\"rows\": %ld, \"seconds\": %.4f, \"rows_per_s\": %.1f, \"commits_per_s\": %.1f,"
               " \"p50_ms\": %.4f, \"p99_ms\": %.4f, \"batch\": %ld, \"backend\": \"%s\"}\n",
               rows, secs, (double)rows / secs, (double)nlat / secs,
               nlat ? (double)lat[nlat / 2] / 1e6 : 0.0,
               nlat ? (double)lat[(size_t)((double)(nlat - 1) * 0.99)] / 1e6 : 0.0, batch,
               store_backend_name(st));
    }
    free(lat);
    arena_free(a);
    store_close(st);
    free(conninfo);
    return 0;

cleanup:
    fprintf(stderr, "store_floor: %s\n", err.msg);
    free(lat);
    arena_free(a);
    store_close(st);
    free(conninfo);
    return 1;
}
