/* context_words.c - the text primitives context ranking is defined with (spec/behavior.md
 * §0.1): lower, split, strip, word sets; and the small scoring helpers built on them. */
#include "service/context-internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/jv.h"
#include "util/ts.h"
#include "util/xalloc.h"

/* Decode one code point at s; *len gets its size. Bytes that do not start a well-formed
 * sequence are taken one by one as themselves. */
static uint32_t decode(const unsigned char *s, size_t *len)
{
    if (s[0] < 0xC0 || s[0] >= 0xF8)
        return *len = 1, s[0];
    if (s[0] < 0xE0 && (s[1] & 0xC0) == 0x80)
        return *len = 2, ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    if (s[0] >= 0xE0 && s[0] < 0xF0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80)
        return *len = 3, ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) |
                         (s[2] & 0x3F);
    if (s[0] >= 0xF0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 &&
        (s[3] & 0xC0) == 0x80)
        return *len = 4, ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
                         ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    return *len = 1, s[0];
}

/* Python's str.isspace(), which str.split() and str.strip() use. */
static int is_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Lowercase of c when it has the same UTF-8 length (two-byte letters only), else c. */
static uint32_t lower_cp(uint32_t c)
{
    if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3AB && c != 0x3A2) ||
        (c >= 0x410 && c <= 0x42F))
        return c + 0x20;
    if (c >= 0x400 && c <= 0x40F)
        return c + 0x50;
    if ((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) ||
        (c >= 0x14A && c <= 0x177))
        return c | 1;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
        return (c & 1) ? c + 1 : c;
    if (c == 0x178)
        return 0xFF;
    if (c == 0x386)
        return 0x3AC;
    if (c >= 0x388 && c <= 0x38A)
        return c + 0x25;
    if (c == 0x38C)
        return 0x3CC;
    if (c == 0x38E || c == 0x38F)
        return c + 0x3F;
    return c;
}

char *context_lower(struct arena *a, const char *s)
{
    char *out = arena_strdup(a, s ? s : "");
    unsigned char *p = (unsigned char *)out;
    size_t len;
    uint32_t c, l;

    while (*p) {
        if (*p < 0x80) {
            if (*p >= 'A' && *p <= 'Z')
                *p = (unsigned char)(*p + 0x20);
            p++;
            continue;
        }
        c = decode(p, &len);
        l = len == 2 ? lower_cp(c) : c;
        if (l != c) {
            p[0] = (unsigned char)(0xC0 | (l >> 6));
            p[1] = (unsigned char)(0x80 | (l & 0x3F));
        }
        p += len;
    }
    return out;
}

size_t context_split(struct arena *a, const char *s, const char ***out)
{
    const unsigned char *p = (const unsigned char *)(s ? s : ""), *start = NULL;
    const char **words;
    size_t n = 0, cap = 16, len = 0;

    words = arena_alloc(a, cap * sizeof(*words));
    for (;;) {
        int space = 1;

        if (*p) {
            uint32_t c = decode(p, &len);

            space = is_space(c);
        }
        if (!space && !start)
            start = p;
        if (space && start) {
            if (n == cap) {
                const char **bigger = arena_alloc(a, 2 * cap * sizeof(*words));

                memcpy(bigger, words, cap * sizeof(*words));
                words = bigger;
                cap *= 2;
            }
            words[n++] = arena_strndup(a, (const char *)start, (size_t)(p - start));
            start = NULL;
        }
        if (!*p)
            break;
        p += len;
    }
    *out = words;
    return n;
}

void context_strip(const char *s, size_t n, const char **start, size_t *len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n, *last = p;
    size_t clen;

    while (p < end && is_space(decode(p, &clen)))
        p += clen;
    *start = (const char *)p;
    /* Forward scan: the end is just after the last non-space code point. */
    last = p;
    while (p < end) {
        uint32_t c = decode(p, &clen);

        p += clen;
        if (!is_space(c))
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
    context_words_of(a, text, &tw);
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
