/* search_bench.c - the search engine's own figures (issue 18), below HTTP: one subject of N
 * memories with DIM-float embeddings, then text searches (a term no row holds, a term every
 * row holds, a term one row holds; each once untimed first), and semantic searches through
 * search_nearest (compact codes, re-ranked) against search_nearest_exact, with recall@10 of
 * the first against the second.
 *
 *   search_bench URL N DIM QUERIES [EXACT]
 *
 * URL is a STATEWAVE_DATABASE_URL; the schema is migrated first. The subject is
 * "search-bench-N-DIM"; when it already holds N memories nothing is inserted (so a second
 * run measures a warm database). Vectors are pseudo-random Gaussian (a fixed seed): the hard
 * case for quantisation, every neighbour nearly as far as the next. Prints one JSON line per
 * figure: {"figure": …, "p50_ms": …, "p99_ms": …} and {"figure": "recall@10", "value": …}.
 * EXACT (default QUERIES) is how many of the queries also run through the exact scan, which
 * recall@10 compares with: at 100,000 memories each exact scan reads 600 MB.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/search.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/err.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/uuid.h"

#define BATCH 500
#define K 10

static uint64_t rng = 0x18;

static double gauss(void)
{
    double u, v;

    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    u = ((double)(rng >> 11) + 1) / 9007199254740993.0;
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    v = (double)(rng >> 11) / 9007199254740992.0;
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

static void random_vector(float *v, size_t dim)
{
    size_t i;

    for (i = 0; i < dim; i++)
        v[i] = (float)gauss();
}

/* SEARCH_BENCH_CPU=1: this process's CPU time instead of wall time (a loaded machine;
 * meaningful for SQLite only, where the database works in this process). */
static uint64_t now_ns(void)
{
    static int cpu = -1;
    struct timespec ts;

    if (cpu < 0)
        cpu = getenv("SEARCH_BENCH_CPU") && strcmp(getenv("SEARCH_BENCH_CPU"), "1") == 0;
    clock_gettime(cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void word(char *out, const char *prefix, unsigned long v)
{
    char tmp[16];
    int n = 0, i, o;

    do {
        tmp[n++] = (char)('a' + v % 26);
        v /= 26;
    } while (v || n < 4);
    o = snprintf(out, 8, "%s", prefix);
    for (i = n - 1; i >= 0; i--)
        out[o++] = tmp[i];
    out[o] = '\0';
}

static void print_latency(const char *figure, uint64_t *ns, size_t n)
{
    qsort(ns, n, sizeof(*ns), cmp_u64);
    printf("{\"figure\": \"%s\", \"p50_ms\": %.3f, \"p99_ms\": %.3f}\n", figure, ns[n / 2] / 1e6,
           ns[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1e6);
    fflush(stdout);
}

static int fill(store *st, const char *subject, size_t n, size_t dim, struct err *err)
{
    struct memory *m = calloc(BATCH, sizeof(*m));
    float *vecs = malloc(BATCH * dim * sizeof(*vecs));
    char(*text)[192] = malloc(BATCH * sizeof(*text));
    char a[32], b[32], c[32], d[32];
    int64_t t0 = ts_now() - (int64_t)n * 1000;
    size_t i, k, j;

    for (i = 0; i < n; i += BATCH) {
        k = n - i < BATCH ? n - i : BATCH;
        for (j = 0; j < k; j++) {
            word(a, "K", i + j);
            word(b, "Q", i + j);
            word(c, "W", i + j);
            word(d, "Z", i + j);
            snprintf(text[j], sizeof(text[j]), "My name is %s %s and I work at %s %s.", a, b, c, d);
            random_vector(vecs + j * dim, dim);
            memset(&m[j], 0, sizeof(m[j]));
            uuid_v4(m[j].id);
            m[j].subject_id = subject;
            m[j].kind = "profile_fact";
            m[j].content = text[j];
            m[j].summary = "";
            m[j].confidence = 1;
            m[j].valid_from = m[j].created_at = m[j].updated_at = t0 + (int64_t)(i + j) * 1000;
            m[j].valid_to = TS_NULL;
            m[j].source_episode_ids = "[]";
            m[j].metadata = "{}";
            m[j].status = "active";
            m[j].embedding = vecs + j * dim;
            m[j].embedding_dim = dim;
            m[j].sensitivity_labels = "[]";
        }
        if (store_tx_begin(st, err) < 0 || store_memory_insert_many(st, m, k, err) < 0 ||
            store_tx_commit(st, err) < 0) {
            store_tx_rollback(st);
            return -1;
        }
    }
    free(m);
    free(vecs);
    free(text);
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const texts[][2] = { { "text, no row holds it", "corp" },
                                            { "text, every row holds it", "name" },
                                            { "text, one row holds it", "Kaaab Q" } };
    const struct store_ops *ops;
    char *conninfo = NULL, subject[64];
    struct err err = ERR_INIT;
    struct migrate_result mr;
    struct memory_rows rows;
    store *st = NULL;
    size_t n, dim, nq, nexact, i, t, got_n, hits = 0, total = 0, a2, b2;
    uint64_t *ns, t1;
    char(*got_ids)[UUID_STR_LEN];
    size_t *got_cnt;
    float *q;

    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: search_bench URL N DIM QUERIES [EXACT]\n");
        return 2;
    }
    n = strtoul(argv[2], NULL, 10);
    dim = strtoul(argv[3], NULL, 10);
    nq = strtoul(argv[4], NULL, 10);
    nexact = argc == 6 ? strtoul(argv[5], NULL, 10) : nq;
    if (n == 0 || dim == 0 || nq == 0 || nexact == 0 || nexact > nq)
        return 2;
    log_setup(LOG_WARN, 1);
    ops = store_backend_for(argv[1], &conninfo, &err);
    if (!ops || store_open(ops, conninfo, &st, &err) < 0 || store_migrate(st, &mr, &err) < 0)
        goto fail;
    snprintf(subject, sizeof(subject), "search-bench-%zu-%zu", n, dim);
    {
        struct arena *a = arena_new();
        int ok = store_memory_list_active(st, a, &(struct store_scope){ .subject = subject },
                                          &(struct memory_query){ .limit = n }, &rows, &err);

        arena_free(a);
        if (ok < 0)
            goto fail;
    }
    if (rows.n < n) {
        t1 = now_ns();
        if (fill(st, subject, n - rows.n, dim, &err) < 0)
            goto fail;
        fprintf(stderr, "search_bench: %zu memories inserted in %.1f s\n", n - rows.n,
                (now_ns() - t1) / 1e9);
    }
    ns = calloc(nq, sizeof(*ns));
    /* Each text query once untimed first (statements prepared, the index's pages read), as
     * the HTTP bench warms up before it counts. */
    for (t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
        for (i = 0; i <= nq; i++) {
            struct arena *a = arena_new();
            struct search_query sq = { .subject_id = subject, .q = texts[t][1], .limit = 20 };
            struct memory *out;

            t1 = now_ns();
            if (search_memories(a, st, NULL, &sq, &out, &got_n, &err) < 0)
                goto fail;
            if (i > 0)
                ns[i - 1] = now_ns() - t1;
            else if (t == 0)   /* SQLite indexes the rows written since the last search here */
                printf("{\"figure\": \"text, first query (brings the text indexes up to "
                       "date)\", \"ms\": %.3f}\n",
                       (now_ns() - t1) / 1e6);
            arena_free(a);
        }
        print_latency(texts[t][0], ns, nq);
    }
    q = malloc(dim * sizeof(*q));
    {
        /* The first semantic search of the subject fills the code cache (service/vcache.c):
         * timed on its own, so the figures below are the steady state. */
        struct arena *a = arena_new();
        struct memory *got;

        rng = 0x2929;
        random_vector(q, dim);
        t1 = now_ns();
        if (search_nearest(a, st, NULL, subject, NULL, q, dim, K, &got, NULL, &got_n, &err) < 0)
            goto fail;
        printf("{\"figure\": \"semantic, first query (fills the cache)\", \"ms\": %.3f}\n",
               (now_ns() - t1) / 1e6);
        arena_free(a);
    }
    /* The compact searches first, timed alone (on PostgreSQL an exact scan between them
     * would push the re-rank's vectors out of the buffer cache), their ids kept; then the
     * exact scans, timed, each compared with the compact answer of the same query. */
    got_ids = calloc(nq * K, sizeof(*got_ids));
    got_cnt = calloc(nq, sizeof(*got_cnt));
    for (t = 0; t < 2; t++) {
        rng = 0x1818;
        for (i = 0; i < (t == 0 ? nq : nexact); i++) {
            struct arena *a = arena_new();
            struct memory *got;

            random_vector(q, dim);
            t1 = now_ns();
            if ((t == 0 ? search_nearest : search_nearest_exact)(a, st, NULL, subject, NULL, q, dim,
                                                                 K, &got, NULL, &got_n, &err) < 0)
                goto fail;
            ns[i] = now_ns() - t1;
            if (t == 0) {
                got_cnt[i] = got_n;
                for (b2 = 0; b2 < got_n && b2 < K; b2++)
                    memcpy(got_ids[i * K + b2], got[b2].id, UUID_STR_LEN);
            } else {
                for (a2 = 0; a2 < got_n; a2++)
                    for (b2 = 0; b2 < got_cnt[i] && b2 < K; b2++)
                        hits += strcmp(got[a2].id, got_ids[i * K + b2]) == 0;
                total += got_n;
            }
            arena_free(a);
        }
        print_latency(t == 0 ? "semantic, compact codes + re-rank" : "semantic, exact scan", ns,
                      t == 0 ? nq : nexact);
    }
    free(got_ids);
    free(got_cnt);
    printf("{\"figure\": \"recall@10\", \"value\": %.4f}\n", total ? (double)hits / total : 0);
    free(q);
    free(ns);
    store_close(st);
    free(conninfo);
    return 0;
fail:
    fprintf(stderr, "search_bench: %s\n", err.msg);
    store_close(st);
    free(conninfo);
    return 1;
}
