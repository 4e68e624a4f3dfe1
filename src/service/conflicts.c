/* conflicts.c - supersede rules (spec/behavior.md §6): group by kind, Jaccard over word sets. */
#include "service/conflicts.h"

#include <stdlib.h>
#include <string.h>

#include "util/ts.h"
#include "util/utf8.h"

/* A word of a token set: a view into a lower-cased copy of the content. */
struct word {
    const char *p;
    size_t len;
};

struct tokset {
    struct word *words;   /* sorted by bytes, no duplicates */
    size_t n;
};

static int word_cmp(const void *x, const void *y)
{
    const struct word *a = x, *b = y;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->p, b->p, n);

    if (c)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

/* tokset(s) = set(split(lower(s))), as a sorted array of distinct words. */
static void tokset_build(struct arena *a, const char *s, struct tokset *out)
{
    size_t len, i = 0, n = 0, k, sp;
    const char *low = utf8_lower(a, s, strlen(s), &len);

    out->words = arena_alloc(a, (len / 2 + 1) * sizeof(*out->words));
    while (i < len) {
        size_t start;

        while (i < len && (sp = utf8_space_len(low + i, len - i)) > 0)
            i += sp;
        if (i == len)
            break;
        start = i;
        while (i < len && utf8_space_len(low + i, len - i) == 0)
            i++;
        out->words[n].p = low + start;
        out->words[n].len = i - start;
        n++;
    }
    qsort(out->words, n, sizeof(*out->words), word_cmp);
    out->n = 0;
    for (k = 0; k < n; k++) {
        if (out->n == 0 || word_cmp(&out->words[out->n - 1], &out->words[k]) != 0)
            out->words[out->n++] = out->words[k];
    }
}

/* |A∩B| / |A∪B| by merging the two sorted sets; -1 when either is empty. */
static double tokset_jaccard(const struct tokset *x, const struct tokset *y)
{
    size_t i = 0, j = 0, common = 0;

    if (x->n == 0 || y->n == 0)
        return -1.0;
    while (i < x->n && j < y->n) {
        int c = word_cmp(&x->words[i], &y->words[j]);

        if (c == 0)
            common++;
        i += c <= 0;
        j += c >= 0;
    }
    return (double)common / (double)(x->n + y->n - common);
}

double conflicts_jaccard(struct arena *a, const char *x, const char *y)
{
    struct tokset tx, ty;

    tokset_build(a, x, &tx);
    tokset_build(a, y, &ty);
    return tokset_jaccard(&tx, &ty);
}

double conflicts_threshold(const char *kind)
{
    return strcmp(kind, "profile_fact") == 0 ? 0.6 : 0.8;
}

struct conflicts_words {
    struct tokset set;
};

struct conflicts_words *conflicts_words(struct arena *a, const char *s)
{
    struct conflicts_words *w = arena_alloc(a, sizeof(*w));

    tokset_build(a, s ? s : "", &w->set);
    return w;
}

double conflicts_words_jaccard(const struct conflicts_words *x,
                               const struct conflicts_words *y)
{
    return tokset_jaccard(&x->set, &y->set);
}

static void supersede(struct memory *older, const struct memory *newer, int64_t now)
{
    older->status = "superseded";
    older->valid_to = newer->valid_from != TS_NULL ? newer->valid_from : now;
    older->updated_at = now;
}

/* Resolve one kind's group: idx[0..n) index mems in load order. */
static size_t resolve_group(struct memory *mems, const struct tokset *sets, const size_t *idx,
                            size_t n, int64_t now, unsigned char *superseded)
{
    double thr = conflicts_threshold(mems[idx[0]].kind);
    size_t i, j, count = 0;

    for (i = 0; i < n; i++) {
        struct memory *older = &mems[idx[i]];

        if (strcmp(older->status, "active") != 0)
            continue;
        for (j = i + 1; j < n; j++) {
            const struct memory *newer = &mems[idx[j]];

            if (strcmp(newer->status, "active") != 0 ||
                tokset_jaccard(&sets[idx[i]], &sets[idx[j]]) < thr)
                continue;
            supersede(older, newer, now);
            if (superseded)
                superseded[idx[i]] = 1;
            count++;
            break;
        }
    }
    return count;
}

size_t conflicts_resolve_list(struct arena *a, struct memory *mems, size_t n, int64_t now,
                              unsigned char *superseded)
{
    struct tokset *sets;
    size_t *idx, i, j, count = 0;
    unsigned char *grouped;

    if (n < 2)
        return 0;
    sets = arena_alloc(a, n * sizeof(*sets));
    idx = arena_alloc(a, n * sizeof(*idx));
    grouped = arena_calloc(a, n, 1);
    for (i = 0; i < n; i++)
        tokset_build(a, mems[i].content ? mems[i].content : "", &sets[i]);
    /* Groups in order of each kind's first appearance, members in load order (which is
     * already created_at then insertion order: the stable sort of step 3 is a no-op). */
    for (i = 0; i < n; i++) {
        size_t m = 0;

        if (grouped[i])
            continue;
        for (j = i; j < n; j++) {
            if (!grouped[j] && strcmp(mems[j].kind, mems[i].kind) == 0) {
                grouped[j] = 1;
                idx[m++] = j;
            }
        }
        if (m >= 2)
            count += resolve_group(mems, sets, idx, m, now, superseded);
    }
    return count;
}

int conflicts_resolve(struct arena *a, store *st, const char *tenant, const char *subject,
                      int64_t now, struct memory **out, size_t *nout, struct err *err)
{
    struct memory_rows rows;
    struct memory *mems;
    unsigned char *flags;
    size_t n, i, k = 0;

    *out = NULL;
    *nout = 0;
    if (store_memory_list_active(st, a, &(struct store_scope){ .tenant = tenant,
                                                               .subject = subject },
                                 &(struct memory_query){ .order = MEMORY_OLDEST_FIRST,
                                                         .limit = CONFLICTS_LOAD_MAX },
                                 &rows, err) < 0)
        return -1;
    mems = rows.items;
    n = rows.n;
    flags = arena_calloc(a, n ? n : 1, 1);
    if (conflicts_resolve_list(a, mems, n, now, flags) == 0)
        return 0;
    *out = arena_alloc(a, n * sizeof(**out));
    for (i = 0; i < n; i++) {
        if (!flags[i])
            continue;
        if (store_memory_supersede(st, tenant, mems[i].id, mems[i].valid_to, now, err) < 0)
            return -1;
        (*out)[k++] = mems[i];
    }
    *nout = k;
    return 0;
}
