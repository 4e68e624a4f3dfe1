/* test_embed.c - embedding providers: the stub's test vectors, cosine, the none/stub flags, and
 * the openai provider against a fake OpenAI-compatible server run inside this test
 * (libmicrohttpd on a loopback port): request shape, index order, response errors, timeout,
 * no retries, the L1 query cache and the L2 database cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/embed.h"
#include "service/llm.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/jv.h"
#include "util/ts.h"

#include "fake_http.h"   /* fk, fake_start, fake_stop, fake_reset, fake_calls, fake_config */

/* ---- configuration ---- */

static struct config tcfg;

static void use_provider(const char *provider, int dims)
{
    struct err err = ERR_INIT;

    fake_config(&tcfg);
    tcfg.embedding_provider = (char *)provider;
    tcfg.embedding_dimensions = dims;
    cfg = &tcfg;
    embed_shutdown();
    assert_int_equal(embed_setup(&err), 0);
    fake_reset();
}

static int setup(void **state)
{
    (void)state;
    fake_start();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_stop();
    embed_shutdown();
    return 0;
}

/* ---- answers ---- */

#define DIM 4

/* The vector the fake provider gives input text t: (len, first byte, 1, 0). */
static void fake_vector(const char *t, float *v)
{
    v[0] = (float)strlen(t);
    v[1] = (float)(unsigned char)t[0];
    v[2] = 1;
    v[3] = 0;
}

/* Answer every input of an embeddings request, listed in reverse order with indices, and
 * with `width` numbers per vector. */
static void answer_vectors(const char *body, struct buf *resp, int width)
{
    struct arena *a = arena_new();
    struct jv *req = jv_parse(a, body, strlen(body), NULL, NULL);
    struct jv *input = req ? jv_object_get(req, "input") : NULL;
    size_t i, n = input ? jv_array_size(input) : 0;
    int j;

    buf_puts(resp, "{\"object\":\"list\",\"data\":[");
    for (i = n; i-- > 0;) {
        float v[DIM];

        fake_vector(jv_string(jv_array_get(input, i), NULL), v);
        buf_printf(resp, "%s{\"object\":\"embedding\",\"index\":%zu,\"embedding\":[",
                   i + 1 == n ? "" : ",", i);
        for (j = 0; j < width; j++)
            buf_printf(resp, "%s%g", j ? "," : "", j < DIM ? v[j] : 0.5);
        buf_puts(resp, "]}");
    }
    buf_puts(resp, "],\"model\":\"embed-test\"}");
    arena_free(a);
}

static void answer_ok(int n, const char *path, const char *body, int *status, struct buf *resp,
                      int *delay)
{
    (void)n, (void)path, (void)status, (void)delay;
    answer_vectors(body, resp, DIM);
}

static void answer_wrong_length(int n, const char *path, const char *body, int *status,
                                struct buf *resp, int *delay)
{
    (void)n, (void)path, (void)status, (void)delay;
    answer_vectors(body, resp, DIM + 1);
}

static void answer_500(int n, const char *path, const char *body, int *status,
                       struct buf *resp, int *delay)
{
    (void)n, (void)path, (void)body, (void)delay;
    *status = 500;
    buf_puts(resp, "{\"error\":{\"message\":\"boom\"}}");
}

static void answer_slow(int n, const char *path, const char *body, int *status,
                        struct buf *resp, int *delay)
{
    (void)n, (void)path, (void)status;
    *delay = 2000;
    answer_vectors(body, resp, DIM);
}

static void answer_no_data(int n, const char *path, const char *body, int *status,
                           struct buf *resp, int *delay)
{
    (void)n, (void)path, (void)body, (void)status, (void)delay;
    buf_puts(resp, "{\"object\":\"list\"}");
}

static void answer_no_index(int n, const char *path, const char *body, int *status,
                            struct buf *resp, int *delay)
{
    (void)n, (void)path, (void)body, (void)status, (void)delay;
    buf_puts(resp, "{\"data\":[{\"embedding\":[1,0,0,0]},{\"embedding\":[0,1,0,0]}]}");
}

/* ---- the stub ---- */

static void test_embed_stub_sha512_prefix(void **state)
{
    static const unsigned char seed[] = { 'h', 'e', 'l', 'l', 'o', 0, 0, 0, 0 };
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hlen;
    char hex[33];
    int i;

    (void)state;
    assert_int_equal(EVP_Digest(seed, sizeof(seed), h, &hlen, EVP_sha512(), NULL), 1);
    assert_int_equal(hlen, 64);
    for (i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    assert_string_equal(hex, "a0d2fdc9137839fc96aab064c82997e6");
}

static void test_embed_stub_vectors(void **state)
{
    static const double want4[] = { 0.240824489, -0.796265612, 0.166301447, 0.529441659 };
    static const double want1536[] = { 0.01124636, -0.037185128, 0.007766178 };
    double *v = malloc(1536 * sizeof(*v));
    double sum = 0;
    int i;

    (void)state;
    embed_stub("hello", 5, 4, v);
    for (i = 0; i < 4; i++)
        assert_true(fabs(v[i] - want4[i]) < 1e-8);
    embed_stub("hello", 5, 1536, v);
    for (i = 0; i < 3; i++)
        assert_true(fabs(v[i] - want1536[i]) < 1e-8);
    for (i = 0; i < 1536; i++)
        sum += v[i] * v[i];
    assert_true(fabs(sum - 1.0) < 1e-12);
    embed_stub("", 0, 20, v);   /* the empty string is valid input */
    for (i = 0; i < 20; i++)
        assert_true(v[i] >= -1 && v[i] <= 1 && v[i] != 0);
    free(v);
}

static void test_embed_stub_cosine(void **state)
{
    const char *texts[] = { "hello", "hello world" };
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    float *v, *q;

    (void)state;
    use_provider("stub", 1536);
    assert_int_equal(embed_texts(a, texts, 2, &v, &err), 0);
    assert_true(fabs(embed_cosine(v, v + 1536, 1536) - 0.050353395) < 1e-7);
    assert_true(fabs(embed_cosine(v, v, 1536) - 1.0) < 1e-6);
    /* embed_query(T) is embed_texts([T])[0] and never touches the store. */
    assert_int_equal(embed_query(a, NULL, "hello world", &q, &err), 0);
    assert_memory_equal(q, v + 1536, 1536 * sizeof(float));
    assert_int_equal(fake_calls(), 0);
    arena_free(a);
}

static void test_embed_cosine_zero(void **state)
{
    const float zero[3] = { 0, 0, 0 }, x[3] = { 1, 2, 3 }, y[3] = { -1, -2, -3 };

    (void)state;
    assert_true(embed_cosine(zero, zero, 3) == 0);
    assert_true(embed_cosine(zero, x, 3) == 0);
    assert_true(embed_cosine(x, zero, 3) == 0);
    assert_true(fabs(embed_cosine(x, y, 3) + 1.0) < 1e-12);
}

/* The cosine as first written: one loop, three sums. */
static double cosine_one_loop(const float *x, const float *y, size_t d)
{
    double dot = 0, nx = 0, ny = 0;
    size_t i;

    for (i = 0; i < d; i++) {
        dot += (double)x[i] * y[i];
        nx += (double)x[i] * x[i];
        ny += (double)y[i] * y[i];
    }
    if (nx == 0 || ny == 0)
        return 0;
    return dot / (sqrt(nx) * sqrt(ny));
}

/* embed_cosine, embed_cosine_nx and embed_cosine_nx4 give the one-loop value to the bit, on
 * vectors of varied scale, a zero vector and the query itself: the nearest-neighbour order
 * (and its ties) cannot depend on which form scored a row. */
static void test_embed_cosine_forms_agree(void **state)
{
    enum { D = 1536, N = 12 };
    static float v[N][D], q[D];
    const float *y[4];
    double nx, four[4];
    unsigned seed = 7;
    size_t i, k;

    (void)state;
    for (k = 0; k < N; k++) {
        for (i = 0; i < D; i++) {
            seed = seed * 1103515245u + 12345u;
            v[k][i] = (float)((int)(seed >> 9) % 20001 - 10000) / (k % 3 ? 7.0f : 0.013f);
        }
    }
    memset(v[5], 0, sizeof(v[5]));
    memcpy(q, v[0], sizeof(q));
    memcpy(v[7], q, sizeof(q));
    nx = embed_norm2(q, D);
    for (k = 0; k < N; k++) {
        double want = cosine_one_loop(q, v[k], D);

        assert_true(embed_cosine(q, v[k], D) == want);
        assert_true(embed_cosine_nx(q, nx, v[k], D) == want);
    }
    for (k = 0; k + 4 <= N; k += 4) {
        y[0] = v[k];
        y[1] = v[k + 1];
        y[2] = v[k + 2];
        y[3] = v[k + 3];
        embed_cosine_nx4(q, nx, y, D, four);
        for (i = 0; i < 4; i++)
            assert_true(four[i] == cosine_one_loop(q, v[k + i], D));
    }
    y[0] = y[1] = y[2] = y[3] = v[1];
    embed_cosine_nx4(v[5], 0, y, D, four);   /* a zero query */
    for (i = 0; i < 4; i++)
        assert_true(four[i] == 0);
}

static void test_embed_provider_flags(void **state)
{
    const char *texts[] = { "a" };
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    float *v;

    (void)state;
    use_provider("none", 8);
    assert_int_equal(embed_available(), 0);
    assert_int_equal(embed_semantic(), 0);
    assert_int_equal(embed_dim(), 8);
    assert_int_equal(embed_texts(a, texts, 1, &v, &err), -1);
    assert_null(v);
    err_release(&err);
    assert_int_equal(embed_query(a, NULL, "a", &v, &err), -1);
    err_release(&err);

    use_provider("stub", 8);
    assert_int_equal(embed_available(), 1);
    assert_int_equal(embed_semantic(), 0);
    assert_int_equal(embed_texts(a, texts, 0, &v, &err), 0);   /* nothing to do */

    use_provider("openai", 8);
    assert_int_equal(embed_available(), 1);
    assert_int_equal(embed_semantic(), 1);
    assert_int_equal(embed_texts(a, texts, 0, &v, &err), 0);   /* empty input: no request */
    assert_int_equal(fake_calls(), 0);

    use_provider("litellm", 8);
    assert_int_equal(embed_semantic(), 1);

    tcfg.embedding_provider = (char *)"word2vec";
    assert_int_equal(embed_setup(&err), -1);
    err_release(&err);
    assert_int_equal(embed_available(), 0);
    arena_free(a);
}

/* ---- the openai provider ---- */

static void test_embed_openai_request_and_order(void **state)
{
    const char *texts[] = { "alpha", "bravo!", "c" };
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    struct jv *req, *input;
    int64_t dim = 0;
    float *v, want[DIM];
    size_t i;

    (void)state;
    use_provider("openai", DIM);
    fk.answer = answer_ok;
    assert_int_equal(embed_texts(a, texts, 3, &v, &err), 0);
    assert_int_equal(fake_calls(), 1);   /* one request for every text */
    assert_string_equal(fk.path, "/v1/embeddings");
    assert_string_equal(fk.auth, "Bearer sk-test-key");
    req = jv_parse(a, fk.body.data, fk.body.len, NULL, NULL);
    assert_non_null(req);
    assert_int_equal(jv_object_size(req), 3);
    assert_string_equal(jv_string(jv_object_get(req, "model"), NULL), "embed-test");
    assert_int_equal(jv_int64(jv_object_get(req, "dimensions"), &dim), 0);
    assert_int_equal(dim, DIM);
    input = jv_object_get(req, "input");
    assert_int_equal(jv_array_size(input), 3);
    for (i = 0; i < 3; i++)
        assert_string_equal(jv_string(jv_array_get(input, i), NULL), texts[i]);
    /* The server listed the vectors in reverse: they come back in input order. */
    for (i = 0; i < 3; i++) {
        fake_vector(texts[i], want);
        assert_memory_equal(v + i * DIM, want, sizeof(want));
    }
    arena_free(a);
}

static void test_embed_openai_base_and_key(void **state)
{
    const char *texts[] = { "x" };
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    char base[80];
    float *v;

    (void)state;
    use_provider("openai", DIM);
    fk.answer = answer_ok;
    snprintf(base, sizeof(base), "http://127.0.0.1:%d/v1/", fk.port);
    tcfg.llm_api_base = base;   /* already ends in /v1: nothing appended */
    tcfg.llm_api_key = NULL;    /* no key: no Authorization header */
    assert_int_equal(embed_texts(a, texts, 1, &v, &err), 0);
    assert_string_equal(fk.path, "/v1/embeddings");
    assert_string_equal(fk.auth, "");
    arena_free(a);
}

static void test_embed_openai_order_without_index(void **state)
{
    const char *texts[] = { "a", "b" };
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    float *v;

    (void)state;
    use_provider("openai", DIM);
    fk.answer = answer_no_index;
    assert_int_equal(embed_texts(a, texts, 2, &v, &err), 0);
    assert_true(v[0] == 1 && v[DIM + 1] == 1);
    arena_free(a);
}

/* A failing provider call: returns -1 after exactly one request, with err's code. */
static void expect_failure(fake_answer_fn *answer, const char *code)
{
    const char *texts[] = { "alpha", "bravo" };
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    float *v;

    use_provider("openai", DIM);
    tcfg.llm_timeout = 0.3;
    fk.answer = answer;
    assert_int_equal(embed_texts(a, texts, 2, &v, &err), -1);
    assert_null(v);
    assert_string_equal(err.code, code);
    assert_int_equal(fake_calls(), 1);   /* no retries on the embedding path */
    err_release(&err);
    arena_free(a);
}

static void test_embed_openai_wrong_length(void **state)
{
    (void)state;
    expect_failure(answer_wrong_length, "upstream_llm_error");
}

static void test_embed_openai_http_500(void **state)
{
    (void)state;
    expect_failure(answer_500, "upstream_llm_error");
}

static void test_embed_openai_no_data(void **state)
{
    (void)state;
    expect_failure(answer_no_data, "upstream_llm_error");
}

static void test_embed_openai_timeout(void **state)
{
    int64_t t0 = ts_monotonic();

    (void)state;
    expect_failure(answer_slow, "upstream_llm_timeout");
    assert_true(ts_monotonic() - t0 < 1500000);   /* the deadline, not the server, ended it */
}

static void test_embed_openai_connection_refused(void **state)
{
    const char *texts[] = { "a" };
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    float *v;

    (void)state;
    use_provider("openai", DIM);
    tcfg.llm_api_base = (char *)"http://127.0.0.1:1";
    assert_int_equal(embed_texts(a, texts, 1, &v, &err), -1);
    assert_string_equal(err.code, "upstream_llm_error");
    err_release(&err);
    arena_free(a);
}

/* ---- the query caches ---- */

static void test_embed_l1_cache(void **state)
{
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    float *v, *w, want[DIM];
    char q[32];
    int i;

    (void)state;
    use_provider("openai", DIM);
    fk.answer = answer_ok;
    assert_int_equal(embed_query(a, NULL, "what plan am I on", &v, &err), 0);
    assert_int_equal(fake_calls(), 1);
    fake_vector("what plan am I on", want);
    assert_memory_equal(v, want, sizeof(want));
    assert_int_equal(embed_query(a, NULL, "what plan am I on", &w, &err), 0);
    assert_int_equal(fake_calls(), 1);   /* a hit */
    assert_memory_equal(w, want, sizeof(want));
    assert_int_equal(embed_query(a, NULL, "What plan am I on", &w, &err), 0);
    assert_int_equal(fake_calls(), 2);   /* exact text: no normalisation */

    /* 256 entries: keep the first one recent, fill up with 255 others, then one more evicts
     * the least recently used ("What plan am I on"), not the first. */
    assert_int_equal(embed_query(a, NULL, "what plan am I on", &w, &err), 0);
    for (i = 0; i < 255; i++) {
        snprintf(q, sizeof(q), "query %d", i);
        assert_int_equal(embed_query(a, NULL, q, &w, &err), 0);
    }
    assert_int_equal(fake_calls(), 2 + 255);
    assert_int_equal(embed_query(a, NULL, "what plan am I on", &w, &err), 0);
    assert_int_equal(fake_calls(), 2 + 255);
    assert_int_equal(embed_query(a, NULL, "What plan am I on", &w, &err), 0);
    assert_int_equal(fake_calls(), 2 + 255 + 1);
    arena_free(a);
}

static void test_embed_l1_failure_not_cached(void **state)
{
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    float *v;

    (void)state;
    use_provider("openai", DIM);
    fk.answer = answer_500;
    assert_int_equal(embed_query(a, NULL, "q", &v, &err), -1);
    err_release(&err);
    fk.answer = answer_ok;
    assert_int_equal(embed_query(a, NULL, "q", &v, &err), 0);
    assert_int_equal(fake_calls(), 2);
    arena_free(a);
}

static store *open_sqlite(char *path, size_t size)
{
    const struct store_ops *ops;
    struct migrate_result res;
    struct err err = ERR_INIT;
    char url[128], *conninfo = NULL;
    store *st = NULL;
    int fd;

    snprintf(path, size, "/tmp/engram-test-embed-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    snprintf(url, sizeof(url), "sqlite://%s", path);
    ops = store_backend_for(url, &conninfo, &err);
    assert_non_null(ops);
    assert_int_equal(store_open(ops, conninfo, &st, &err), 0);
    assert_int_equal(store_migrate(st, &res, &err), 0);
    free(conninfo);
    return st;
}

static void remove_db(const char *path)
{
    char p[96];

    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

/* The query cache's vector for (text, model) as read at now: NULL on a miss; *dim its size. */
static float *cached(struct arena *a, store *st, const char *text, const char *model,
                     int64_t now, size_t *dim)
{
    struct qcache_lookup q = { .text = text, .model = model, .now = now };
    struct err err = ERR_INIT;

    assert_int_equal(store_qcache_get(st, a, &q, &err), 0);
    *dim = q.dim;
    return q.vec;
}

static void test_embed_l2_cache(void **state)
{
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    float *v, *got, want[DIM];
    char path[64];
    size_t d;
    store *st;

    (void)state;
    st = open_sqlite(path, sizeof(path));
    use_provider("openai", DIM);
    fk.answer = answer_ok;
    fake_vector("reset my password", want);
    assert_int_equal(embed_query(a, st, "reset my password", &v, &err), 0);
    assert_int_equal(fake_calls(), 1);
    assert_memory_equal(v, want, sizeof(want));

    /* Written under (text, model) with a 24 h expiry. */
    got = cached(a, st, "reset my password", "embed-test", ts_now(), &d);
    assert_non_null(got);
    assert_int_equal(d, DIM);
    assert_memory_equal(got, want, sizeof(want));
    got = cached(a, st, "reset my password", "embed-test", ts_now() + 86400LL * 1000000 + 1000000,
                 &d);
    assert_null(got);

    /* A fresh process (empty L1) finds it in the database. */
    use_provider("openai", DIM);
    assert_int_equal(embed_query(a, st, "reset my password", &v, &err), 0);
    assert_int_equal(fake_calls(), 0);
    assert_memory_equal(v, want, sizeof(want));

    /* Another model is another key. */
    use_provider("openai", DIM);
    tcfg.llm_embedding_model = (char *)"embed-other";
    assert_int_equal(embed_query(a, st, "reset my password", &v, &err), 0);
    assert_int_equal(fake_calls(), 1);

    /* A provider failure writes nothing. */
    fk.answer = answer_500;
    assert_int_equal(embed_query(a, st, "never cached", &v, &err), -1);
    err_release(&err);
    got = cached(a, st, "never cached", "embed-other", ts_now(), &d);
    assert_null(got);
    store_close(st);
    remove_db(path);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embed_stub_sha512_prefix),
        cmocka_unit_test(test_embed_stub_vectors),
        cmocka_unit_test(test_embed_stub_cosine),
        cmocka_unit_test(test_embed_cosine_zero),
        cmocka_unit_test(test_embed_cosine_forms_agree),
        cmocka_unit_test(test_embed_provider_flags),
        cmocka_unit_test(test_embed_openai_request_and_order),
        cmocka_unit_test(test_embed_openai_base_and_key),
        cmocka_unit_test(test_embed_openai_order_without_index),
        cmocka_unit_test(test_embed_openai_wrong_length),
        cmocka_unit_test(test_embed_openai_http_500),
        cmocka_unit_test(test_embed_openai_no_data),
        cmocka_unit_test(test_embed_openai_timeout),
        cmocka_unit_test(test_embed_openai_connection_refused),
        cmocka_unit_test(test_embed_l1_cache),
        cmocka_unit_test(test_embed_l1_failure_not_cached),
        cmocka_unit_test(test_embed_l2_cache),
    };

    /* The fake server is on loopback: no proxy may stand in between. */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    return cmocka_run_group_tests(tests, setup, teardown);
}
