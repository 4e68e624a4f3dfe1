/* llm.c - OpenAI-compatible HTTP client (chat completions, embeddings) over libcurl. */
#include "service/llm.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"
#include "util/config.h"
#include "util/jv.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#define LLM_DEFAULT_BASE "https://api.openai.com/v1"
#define LLM_MAX_RESPONSE ((size_t)256 << 20)   /* a bigger answer is refused */
#define LLM_BACKOFF_MS 250                      /* first retry delay; doubles each time */
#define LLM_BACKOFF_MAX_MS 4000

static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static int global_ready;   /* 1 once curl_global_init succeeded (guarded by global_lock) */

int llm_setup(struct err *err)
{
    int ok;

    pthread_mutex_lock(&global_lock);
    if (!global_ready)
        global_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    ok = global_ready;
    pthread_mutex_unlock(&global_lock);
    if (!ok) {
        log_write(LOG_ERROR, "llm: curl_global_init failed");
        return err_set(err, ERR_INTERNAL, "curl_global_init failed");
    }
    return 0;
}

void llm_shutdown(void)
{
    pthread_mutex_lock(&global_lock);
    if (global_ready)
        curl_global_cleanup();
    global_ready = 0;
    pthread_mutex_unlock(&global_lock);
}

char *llm_url(const char *path)
{
    const char *base = cfg && cfg->llm_api_base && *cfg->llm_api_base ? cfg->llm_api_base
                                                                        : LLM_DEFAULT_BASE;
    size_t n = strlen(base);
    struct buf b = BUF_INIT;

    while (n && base[n - 1] == '/')
        n--;
    buf_append(&b, base, n);
    if (n < 3 || memcmp(base + n - 3, "/v1", 3) != 0)
        buf_puts(&b, "/v1");
    buf_puts(&b, path);
    return buf_detach(&b, NULL);
}

static long timeout_ms_of(double seconds)
{
    if (!(seconds > 0))
        seconds = 60;
    return (long)(seconds * 1000.0 + 0.5);
}

/* ---- one POST ---- */

/* curl's write callback: append to the buf, refusing answers past LLM_MAX_RESPONSE (curl
 * then fails with CURLE_WRITE_ERROR). */
static size_t on_data(char *p, size_t size, size_t nmemb, void *userdata)
{
    struct buf *body = userdata;
    size_t n = size * nmemb;

    if (body->len + n > LLM_MAX_RESPONSE)
        return 0;
    buf_append(body, p, n);
    return n;
}

static struct curl_slist *make_headers(void)
{
    struct curl_slist *h = NULL;
    const char *key = cfg ? cfg->llm_api_key : NULL;

    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Accept: application/json");
    h = curl_slist_append(h, "Expect:");   /* no 100-continue round trip on big bodies */
    if (key && *key) {
        struct buf auth = BUF_INIT;

        buf_printf(&auth, "Authorization: Bearer %s", key);
        h = curl_slist_append(h, auth.data);
        buf_release(&auth);
    }
    return h;
}

/* What one attempt came to. */
enum attempt_result {
    ATTEMPT_OK,          /* a 2xx answer */
    ATTEMPT_RETRYABLE,   /* connection error, 408, 429, 5xx */
    ATTEMPT_FATAL,       /* any other HTTP status or curl failure */
    ATTEMPT_TIMEOUT,     /* the deadline passed */
};

/* Failures of the connection itself, worth another attempt; anything else curl reports (a
 * malformed URL, an unsupported scheme, a bad certificate, an oversized answer) is not. */
static int connection_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

static enum attempt_result classify(CURLcode rc, long status)
{
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return ATTEMPT_TIMEOUT;
    if (rc != CURLE_OK)
        return connection_error(rc) ? ATTEMPT_RETRYABLE : ATTEMPT_FATAL;
    if (status >= 200 && status < 300)
        return ATTEMPT_OK;
    if (status == 408 || status == 429 || status >= 500)
        return ATTEMPT_RETRYABLE;
    return ATTEMPT_FATAL;
}

/* One request on h with timeout_ms left; fills body, *status and *rc. */
static enum attempt_result attempt(CURL *h, long timeout_ms, struct buf *body, long *status,
                                   CURLcode *rc)
{
    buf_reset(body);
    *status = 0;
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    *rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    return classify(*rc, *status);
}

static void sleep_ms(long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&t, &t) != 0)
        ;
}

static CURL *make_handle(const char *url, const char *body, struct curl_slist *headers,
                         struct buf *answer)
{
    CURL *h = curl_easy_init();

    if (!h)
        return NULL;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, answer);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);   /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(h, CURLOPT_USERAGENT, "engram");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    return h;
}

/* Fill err for the final outcome of a request to path. */
static int fail(enum attempt_result r, const char *path, CURLcode rc, long status,
                struct err *err)
{
    if (r == ATTEMPT_TIMEOUT)
        return err_set_code(err, LLM_ERR_TIMEOUT, "upstream_llm_timeout",
                            "upstream %s timed out", path);
    if (rc == CURLE_WRITE_ERROR)
        return err_set_code(err, LLM_ERR_UPSTREAM, "upstream_llm_error",
                            "upstream %s: answer larger than %zu bytes", path,
                            LLM_MAX_RESPONSE);
    if (rc != CURLE_OK)
        return err_set_code(err, LLM_ERR_UPSTREAM, "upstream_llm_error",
                            "upstream %s failed: %s", path, curl_easy_strerror(rc));
    return err_set_code(err, LLM_ERR_UPSTREAM, "upstream_llm_error",
                        "upstream %s answered HTTP %ld", path, status);
}

/* Milliseconds to wait before retry number `done` (1-based), or -1 when it would not fit
 * before the deadline. */
static long backoff_ms(int done, int64_t deadline)
{
    long ms = LLM_BACKOFF_MS;
    int i;

    for (i = 1; i < done && ms < LLM_BACKOFF_MAX_MS; i++)
        ms *= 2;
    if (ms > LLM_BACKOFF_MAX_MS)
        ms = LLM_BACKOFF_MAX_MS;
    if (ts_monotonic() + (int64_t)ms * 1000 >= deadline)
        return -1;
    return ms;
}

static int run_attempts(CURL *h, const char *path, long timeout_ms, int retries,
                        struct buf *answer, long *status, struct err *err)
{
    int64_t deadline = ts_monotonic() + (int64_t)timeout_ms * 1000;
    enum attempt_result r = ATTEMPT_TIMEOUT;
    CURLcode rc = CURLE_OK;
    int done = 0;
    long wait;

    for (;;) {
        int64_t left = (deadline - ts_monotonic()) / 1000;

        if (left <= 0) {
            r = ATTEMPT_TIMEOUT;
            break;
        }
        r = attempt(h, (long)left, answer, status, &rc);
        done++;
        if (r != ATTEMPT_RETRYABLE || done > retries)
            break;
        wait = backoff_ms(done, deadline);
        if (wait < 0)
            break;
        if (rc != CURLE_OK)
            log_write(LOG_WARN, "llm: POST '%s' failed (%s), retry %d of %d in %ld ms", path,
                      curl_easy_strerror(rc), done, retries, wait);
        else
            log_write(LOG_WARN, "llm: POST '%s' answered HTTP %ld, retry %d of %d in %ld ms",
                      path, *status, done, retries, wait);
        sleep_ms(wait);
    }
    if (r == ATTEMPT_OK)
        return 0;
    return fail(r, path, rc, *status, err);
}

int llm_post_json(const char *path, const char *body, long timeout_ms, int retries,
                  char **response, long *status, struct err *err)
{
    struct buf answer = BUF_INIT;
    struct curl_slist *headers = NULL;
    char *url = NULL;
    CURL *h = NULL;
    long st = 0;
    int ret = -1;

    *response = NULL;
    if (llm_setup(err) < 0)
        goto cleanup;
    url = llm_url(path);
    headers = make_headers();
    h = make_handle(url, body, headers, &answer);
    if (!h) {
        err_set_code(err, LLM_ERR_UPSTREAM, "upstream_llm_error", "curl_easy_init failed");
        goto cleanup;
    }
    ret = run_attempts(h, path, timeout_ms, retries < 0 ? 0 : retries, &answer, &st, err);
    if (ret == 0)
        *response = buf_detach(&answer, NULL);

cleanup:
    if (status)
        *status = st;
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    free(url);
    buf_release(&answer);
    return ret;
}

static int bad_response(const char *path, const char *why, struct err *err)
{
    return err_set_code(err, LLM_ERR_UPSTREAM, "upstream_llm_error",
                        "upstream %s: unexpected response (%s)", path, why);
}

/* The member key of v, or NULL when v is NULL or not an object: lets lookups chain. */
static struct jv *member(const struct jv *v, const char *key)
{
    return v ? jv_object_get(v, key) : NULL;
}

/* Element i of v, or NULL when v is NULL, not an array or too short. */
static struct jv *element(const struct jv *v, size_t i)
{
    return v ? jv_array_get(v, i) : NULL;
}

/* ---- chat completions ---- */

int llm_chat(const char *body, char **content, struct err *err)
{
    struct arena *a = NULL;
    const struct jv *root, *msg, *text;
    char *resp = NULL;
    size_t len;
    int ret = -1;

    *content = NULL;
    if (llm_post_json("/chat/completions", body, timeout_ms_of(cfg->llm_timeout),
                      cfg->llm_max_retries, &resp, NULL, err) < 0)
        return -1;
    a = arena_new();
    root = jv_parse(a, resp, strlen(resp), NULL, NULL);
    msg = member(element(member(root, "choices"), 0), "message");
    if (!msg || jv_type(msg) != JV_OBJECT) {
        bad_response("/chat/completions", "no choices[0].message", err);
        goto cleanup;
    }
    text = jv_object_get(msg, "content");
    if (text && jv_type(text) == JV_STRING) {
        const char *str = jv_string(text, &len);

        *content = xstrndup(str, len);
    } else if (!text || jv_type(text) == JV_NULL) {
        *content = xstrdup("");
    } else {
        bad_response("/chat/completions", "message content is not a string", err);
        goto cleanup;
    }
    ret = 0;

cleanup:
    arena_free(a);
    free(resp);
    return ret;
}

/* ---- embeddings ---- */

static char *embed_body(const char *model, const char *const *texts, size_t n, size_t dim,
                        struct err *err)
{
    struct arena *a = arena_new();
    struct jv *o = jv_object(a), *input = jv_array(a);
    struct buf b = BUF_INIT;
    char *body = NULL;
    size_t i, len;

    jv_object_set(a, o, "model", jv_str(a, model));
    for (i = 0; i < n; i++) {
        len = strlen(texts[i]);
        if (utf8_valid_len(texts[i], len) != len) {
            err_set(err, ERR_INVALID, "embedding input %zu is not valid UTF-8", i);
            goto cleanup;
        }
        jv_array_append(a, input, jv_strn(a, texts[i], len));
    }
    jv_object_set(a, o, "input", input);
    jv_object_set(a, o, "dimensions", jv_int(a, (int64_t)dim));
    jv_write_compact(&b, o);
    body = buf_detach(&b, NULL);

cleanup:
    arena_free(a);
    return body;
}

/* The "index" of a data item when it is an integer, else NULL. */
static const struct jv *index_of(const struct jv *item)
{
    const struct jv *k = member(item, "index");

    return k && jv_is_int(k) ? k : NULL;
}

/* Slot of data item i: its "index" when every item has one (checked by the caller), else i.
 * Returns -1 when the index is out of range or already taken. */
static long slot_of(const struct jv *item, size_t i, int by_index, size_t n,
                    const unsigned char *seen)
{
    int64_t k;

    if (!by_index)
        return (long)i;
    if (jv_int64(index_of(item), &k) < 0 || k < 0 || (uint64_t)k >= n || seen[k])
        return -1;
    return (long)k;
}

/* Copy one embedding array of exactly dim numbers into v. */
static int copy_vector(const struct jv *emb, size_t dim, float *v)
{
    size_t j;

    if (!emb || jv_type(emb) != JV_ARRAY || jv_array_size(emb) != dim)
        return -1;
    for (j = 0; j < dim; j++) {
        const struct jv *x = jv_array_get(emb, j);

        if (jv_type(x) != JV_INT && jv_type(x) != JV_REAL)
            return -1;
        v[j] = (float)jv_double(x);
    }
    return 0;
}

static int parse_vectors(const struct jv *root, size_t n, size_t dim, float *out,
                         struct err *err)
{
    const struct jv *data = member(root, "data");
    unsigned char *seen;
    int by_index = 1, ret = -1;
    size_t i;

    if (!data || jv_type(data) != JV_ARRAY)
        return bad_response("/embeddings", "no data array", err);
    if (jv_array_size(data) != n)
        return bad_response("/embeddings", "wrong number of vectors", err);
    for (i = 0; i < n; i++) {
        if (!index_of(jv_array_get(data, i)))
            by_index = 0;
    }
    seen = xcalloc(n, 1);
    for (i = 0; i < n; i++) {
        const struct jv *item = jv_array_get(data, i);
        long k = slot_of(item, i, by_index, n, seen);

        if (k < 0) {
            bad_response("/embeddings", "bad index", err);
            goto cleanup;
        }
        if (copy_vector(member(item, "embedding"), dim, out + (size_t)k * dim) < 0) {
            bad_response("/embeddings", "missing embedding or wrong dimensions", err);
            goto cleanup;
        }
        seen[k] = 1;
    }
    ret = 0;

cleanup:
    free(seen);
    return ret;
}

int llm_embed(const char *model, const char *const *texts, size_t n, size_t dim, float *out,
              struct err *err)
{
    struct arena *a;
    const struct jv *root;
    char *body, *resp = NULL;
    int ret;

    body = embed_body(model, texts, n, dim, err);
    if (!body)
        return -1;
    ret = llm_post_json("/embeddings", body, timeout_ms_of(cfg->llm_timeout), 0, &resp, NULL,
                        err);
    free(body);
    if (ret < 0)
        return -1;
    a = arena_new();
    root = jv_parse(a, resp, strlen(resp), NULL, NULL);
    free(resp);
    if (!root || (jv_type(root) != JV_OBJECT && jv_type(root) != JV_ARRAY))
        ret = bad_response("/embeddings", "invalid JSON", err);
    else
        ret = parse_vectors(root, n, dim, out, err);
    arena_free(a);
    return ret;
}
