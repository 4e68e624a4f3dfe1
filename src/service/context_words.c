/* context_words.c - the text primitives context ranking is defined with (spec/behavior.md
 * §0.1): lower, split, strip, word sets; and the small scoring helpers built on them. */
#include "service/context-internal.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/ccache.h"
#include "util/jv.h"
#include "util/ts.h"
#include "util/utf8.h"
#include "util/xalloc.h"

char *context_lower(struct arena *a, const char *s)
{
    return s ? utf8_lower(a, s, strlen(s), NULL) : arena_strdup(a, "");
}

size_t context_split(struct arena *a, const char *s, const char ***out)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    const char **words;
    size_t n = 0, cap = 16, len = strlen((const char *)p), i = 0, start = 0, step = 0;
    int in_word = 0;

    words = arena_alloc(a, cap * sizeof(*words));
    for (;;) {
        int space = 1;

        if (i < len) {
            uint32_t c;

            step = utf8_next(p + i, len - i, &c);
            space = utf8_is_space(c);
        }
        if (!space && !in_word) {
            start = i;
            in_word = 1;
        }
        if (space && in_word) {
            if (n == cap) {
                const char **bigger = arena_alloc(a, 2 * cap * sizeof(*words));

                memcpy(bigger, words, cap * sizeof(*words));
                words = bigger;
                cap *= 2;
            }
            words[n++] = arena_strndup(a, (const char *)p + start, i - start);
            in_word = 0;
        }
        if (i >= len)
            break;
        i += step;
    }
    *out = words;
    return n;
}

void context_strip(const char *s, size_t n, const char **start, size_t *len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n, *last = p;
    size_t clen;
    uint32_t c;

    while (p < end) {
        clen = utf8_next(p, (size_t)(end - p), &c);
        if (!utf8_is_space(c))
            break;
        p += clen;
    }
    *start = (const char *)p;
    /* Forward scan: the end is just after the last non-space code point. */
    last = p;
    while (p < end) {
        p += utf8_next(p, (size_t)(end - p), &c);
        if (!utf8_is_space(c))
            last = p;
    }
    *len = (size_t)(last - (const unsigned char *)*start);
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

void context_words_set(const char **w, size_t n, struct context_words *out)
{
    size_t i, kept = 0;

    if (n > 1)
        qsort(w, n, sizeof(*w), cmp_str);
    for (i = 0; i < n; i++) {
        if (kept && strcmp(w[kept - 1], w[i]) == 0)
            continue;
        w[kept++] = w[i];
    }
    out->w = w;
    out->n = kept;
}

void context_words_of(struct arena *a, const char *s, struct context_words *out)
{
    const char **w;
    size_t n = context_split(a, context_lower(a, s), &w);

    context_words_set(w, n, out);
}

/* Word sets of memory texts: the same few hundred texts are ranked request after request.
 * Keyed by the text itself, so an edited memory is simply a new key. */
#define WORDS_CACHE_BYTES (8u << 20)

static struct ccache *words_cache;
static pthread_once_t words_once = PTHREAD_ONCE_INIT;

static void words_cache_init(void)
{
    words_cache = ccache_new(WORDS_CACHE_BYTES);
}

/* The set from a cached blob: its words one after the other, each ending in '\0'. */
static void words_from_blob(struct arena *a, char *blob, size_t len, struct context_words *out)
{
    size_t n = 0, i;
    const char **w;

    for (i = 0; i < len; i++)
        n += blob[i] == '\0';
    w = arena_alloc(a, (n + 1) * sizeof(*w));
    out->w = w;
    out->n = n;
    for (i = 0; i < len; i += strlen(blob + i) + 1)
        *w++ = blob + i;
}

void context_words_cached(struct arena *a, const char *s, struct context_words *out)
{
    size_t len = 0, i;
    struct buf b = BUF_INIT;
    char *blob;

    pthread_once(&words_once, words_cache_init);
    s = s ? s : "";
    blob = ccache_get_blob(words_cache, a, s, strlen(s), &len);
    if (blob) {
        words_from_blob(a, blob, len, out);
        return;
    }
    context_words_of(a, s, out);
    for (i = 0; i < out->n; i++)
        buf_append(&b, out->w[i], strlen(out->w[i]) + 1);
    ccache_put_blob(words_cache, s, strlen(s), b.data ? b.data : "", b.len);
    buf_release(&b);
}

size_t context_words_common(const struct context_words *x, const struct context_words *y)
{
    size_t i = 0, j = 0, n = 0;

    while (i < x->n && j < y->n) {
        int c = strcmp(x->w[i], y->w[j]);

        if (c == 0)
            n++;
        i += c <= 0;
        j += c >= 0;
    }
    return n;
}

void context_words_union(struct arena *a, const struct context_words *x,
                         const struct context_words *y, struct context_words *out)
{
    const char **w = arena_alloc(a, (x->n + y->n + 1) * sizeof(*w));

    memcpy(w, x->w, x->n * sizeof(*w));
    memcpy(w + x->n, y->w, y->n * sizeof(*w));
    context_words_set(w, x->n + y->n, out);
}

int context_words_has(const struct context_words *x, const char *w)
{
    return x->n && bsearch(&w, x->w, x->n, sizeof(*x->w), cmp_str) != NULL;
}

void context_words_drop(struct context_words *x, const char *const *stop, size_t nstop)
{
    size_t i, j, kept = 0;

    for (i = 0; i < x->n; i++) {
        for (j = 0; j < nstop && strcmp(x->w[i], stop[j]) != 0; j++)
            ;
        if (j == nstop)
            x->w[kept++] = x->w[i];
    }
    x->n = kept;
}

/* jv, not jansson: parsed into the request's arena (no allocation per node, nothing to
 * free), and the strings are used where they lie. */
size_t context_source_ids(struct arena *a, const char *json, const char ***out)
{
    struct jv *arr = json ? jv_parse(a, json, strlen(json), NULL, NULL) : NULL;
    size_t i, n = 0, size = arr ? jv_array_size(arr) : 0;
    const char **ids = arena_alloc(a, size * sizeof(*ids) + 1);

    for (i = 0; i < size; i++) {
        const char *id = jv_string(jv_array_get(arr, i), NULL);

        if (id)
            ids[n++] = id;
    }
    *out = ids;
    return n;
}

double context_rel(struct arena *a, const struct context_words *task, const char *text)
{
    struct context_words tw;
    double r;

    if (task->n == 0 || !text || !*text)
        return 0.0;
    context_words_cached(a, text, &tw);
    r = 5.0 * (double)context_words_common(task, &tw) / (double)task->n;
    return r < 5.0 ? r : 5.0;
}

void context_range(const int64_t *ts, size_t n, int64_t *lo, int64_t *hi)
{
    size_t i;
    int any = 0;

    *lo = *hi = 0;
    for (i = 0; i < n; i++) {
        if (ts[i] == TS_NULL)
            continue;
        if (!any || ts[i] < *lo)
            *lo = ts[i];
        if (!any || ts[i] > *hi)
            *hi = ts[i];
        any = 1;
    }
}

double context_recency(int64_t t, int64_t lo, int64_t hi)
{
    if (t == TS_NULL)
        return 0.0;
    if (hi == lo)
        return 5.0;
    return 5.0 * ((double)(t - lo) / 1e6) / ((double)(hi - lo) / 1e6);
}

double context_temporal(int64_t valid_to, int64_t now)
{
    return valid_to == TS_NULL || valid_to > now ? 3.0 : -4.0;
}

int context_urgent(struct arena *a, const char *text)
{
    static const char *const keywords[] = {
        "urgent", "critical", "blocked", "deadline", "asap", "emergency", "breaking",
        "outage", "downtime", "compliance", "sla", "escalat", "immediately", "production down",
        "p0", "p1", "severity",
    };
    const char *low;
    size_t i;

    if (!text || !*text)
        return 0;
    low = context_lower(a, text);
    for (i = 0; i < ARRAY_SIZE(keywords); i++) {
        if (strstr(low, keywords[i]))
            return 1;
    }
    return 0;
}
