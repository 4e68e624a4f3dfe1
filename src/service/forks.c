/* forks.c - fork and diff of subjects (Engram extension). The fork is one transaction around
 * one store_subject_copy(), the copy snapshot restore uses: there is one place where a
 * subject's rows are copied. */
#include "service/forks.h"

#include <stdlib.h>
#include <string.h>

#include "service/conflicts.h"
#include "service/snapshots.h"
#include "util/ts.h"
#include "util/utf8.h"

/* ---- fork ---- */

static void fill_lineage(struct arena *a, const struct fork_in *in, const struct row_counts *n,
                         struct subject_lineage *l)
{
    l->subject_id = arena_strdup(a, in->target_subject);
    l->tenant_id = in->target_tenant ? arena_strdup(a, in->target_tenant) : NULL;
    l->source_subject_id = arena_strdup(a, in->source_subject);
    l->source_tenant_id = in->source_tenant ? arena_strdup(a, in->source_tenant) : NULL;
    l->as_of = in->has_as_of ? in->as_of : TS_NULL;
    l->forked_at = ts_now();
    l->episodes_copied = n->episodes;
    l->memories_copied = n->memories;
}

static int fork_in_tx(struct arena *a, store *st, const struct fork_in *in, struct fork_result *out,
                      struct err *err)
{
    const struct store_scope target = { .tenant = in->target_tenant,
                                        .subject = in->target_subject };
    struct subject_copy spec;
    struct row_counts n;

    if (store_subject_lock(st, &target, err) < 0 ||
        snapshots_check_target_empty(st, in->target_tenant, in->target_subject, err) < 0)
        return -1;
    memset(&spec, 0, sizeof(spec));
    spec.src_subject = in->source_subject;
    spec.src_tenant = in->source_tenant;
    spec.dst_subject = in->target_subject;
    spec.dst_tenant = in->target_tenant;
    spec.clamp_at = in->has_as_of ? in->as_of : TS_NULL;
    spec.has_as_of = in->has_as_of;
    spec.as_of = in->as_of;
    if (store_subject_copy(st, &spec, &n, err) < 0)
        return -1;
    if (n.episodes == 0 && n.memories == 0)
        return err_set(err, ERR_NOT_FOUND,
                       in->has_as_of ? "Subject '%s' had no episodes or memories at as_of"
                                     : "Subject '%s' not found",
                       in->source_subject);
    fill_lineage(a, in, &n, &out->lineage);
    out->resolutions_copied = n.resolutions;
    /* The target's last health state (it may have had resolutions) says nothing of the copy. */
    if (store_health_cache_delete(st, &target, err) < 0)
        return -1;
    return store_lineage_put(st, &out->lineage, err);
}

int forks_create(struct arena *a, store *st, const struct fork_in *in, struct fork_result *out,
                 struct err *err)
{
    memset(out, 0, sizeof(*out));
    if (snapshots_check_target(in->target_subject, err) < 0)
        return -1;
    if (store_subject_reserved(in->source_subject))
        return err_set(err, ERR_NOT_FOUND, "Subject '%s' not found", in->source_subject);
    if (store_tx_begin(st, err) < 0)
        return -1;
    if (fork_in_tx(a, st, in, out, err) < 0 || store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return 0;
}

int forks_lineage(struct arena *a, store *st, const char *tenant, const char *subject,
                  struct subject_lineage **out, struct err *err)
{
    if (store_lineage_get(st, a, &(struct store_scope){ .tenant = tenant, .subject = subject }, out,
                          err) < 0)
        return -1;
    if (!*out)
        return err_set(err, ERR_NOT_FOUND, "Subject '%s' is not a fork", subject);
    return 0;
}

/* ---- diff ---- */

char *forks_normalise(struct arena *a, const char *content)
{
    size_t len, i = 0, n = 0, sp;
    const char *low = utf8_lower(a, content ? content : "", content ? strlen(content) : 0, &len);
    char *out = arena_alloc(a, len + 1);

    while (i < len) {
        int space = 0;

        while (i < len && (sp = utf8_space_len(low + i, len - i)) > 0) {
            i += sp;
            space = 1;
        }
        if (i == len)
            break;
        if (space && n > 0)
            out[n++] = ' ';
        out[n++] = low[i++];
    }
    out[n] = '\0';
    return out;
}

/* One memory of a side, with its comparison key. */
struct entry {
    const struct memory *m;
    const char *norm;
    size_t ord; /* position in the side's load order */
    int matched;
};

static int entry_cmp(const void *x, const void *y)
{
    const struct entry *p = *(const struct entry *const *)x, *q = *(const struct entry *const *)y;
    int c = strcmp(p->m->kind, q->m->kind);

    if (c == 0)
        c = strcmp(p->norm, q->norm);
    if (c == 0)
        c = p->ord < q->ord ? -1 : p->ord > q->ord;
    return c;
}

/* The active memories of side s, oldest first, with their keys. */
static int load_side(struct arena *a, store *st, const struct diff_side *s, struct entry **out,
                     size_t *n, struct err *err)
{
    struct memory_rows rows;
    size_t i;

    *n = 0;
    *out = arena_calloc(a, 1, sizeof(**out));
    if (store_subject_reserved(s->subject))
        return 0; /* a reserved id behaves as a subject that does not exist */
    if (store_memory_list_active(
            st, a, &(struct store_scope){ .tenant = s->tenant, .subject = s->subject },
            &(struct memory_query){ .order = MEMORY_OLDEST_FIRST, .limit = FORKS_DIFF_MAX + 1 },
            &rows, err) < 0)
        return -1;
    if (rows.n > FORKS_DIFF_MAX)
        return err_set(err, ERR_INVALID,
                       "Subject '%s' has more than %d active memories; a "
                       "diff compares at most %d",
                       s->subject, FORKS_DIFF_MAX, FORKS_DIFF_MAX);
    *out = arena_calloc(a, rows.n ? rows.n : 1, sizeof(**out));
    for (i = 0; i < rows.n; i++) {
        (*out)[i].m = &rows.items[i];
        (*out)[i].norm = forks_normalise(a, rows.items[i].content);
        (*out)[i].ord = i;
    }
    *n = rows.n;
    return 0;
}

/* Pointers to the n entries, sorted by (kind, normalised content, load order). */
static struct entry **sorted(struct arena *a, struct entry *e, size_t n)
{
    struct entry **p = arena_alloc(a, (n ? n : 1) * sizeof(*p));
    size_t i;

    for (i = 0; i < n; i++)
        p[i] = &e[i];
    if (n > 1)
        qsort(p, n, sizeof(*p), entry_cmp);
    return p;
}

/* Step 1: equal (kind, normalised content) pairs, in load order within each key. */
static void match_equal(struct arena *a, struct entry *ea, size_t na, struct entry *eb, size_t nb)
{
    struct entry **pa = sorted(a, ea, na), **pb = sorted(a, eb, nb);
    size_t i = 0, j = 0;

    while (i < na && j < nb) {
        int c = strcmp(pa[i]->m->kind, pb[j]->m->kind);

        if (c == 0)
            c = strcmp(pa[i]->norm, pb[j]->norm);
        if (c == 0) {
            pa[i++]->matched = 1;
            pb[j++]->matched = 1;
        } else if (c < 0) {
            i++;
        } else {
            j++;
        }
    }
}

/* Step 2: each left-over memory of a with the best same-fact left-over memory of b. */
static void match_facts(struct arena *a, struct entry *ea, size_t na, struct entry *eb, size_t nb,
                        struct diff_result *out)
{
    struct conflicts_words **wb = arena_calloc(a, nb ? nb : 1, sizeof(*wb));
    size_t i, j;

    out->changed = arena_alloc(a, (na ? na : 1) * sizeof(*out->changed));
    for (j = 0; j < nb; j++) {
        if (!eb[j].matched)
            wb[j] = conflicts_words(a, eb[j].m->content);
    }
    for (i = 0; i < na; i++) {
        struct conflicts_words *wa;
        double best = -1.0, thr;
        size_t pick = nb;

        if (ea[i].matched)
            continue;
        wa = conflicts_words(a, ea[i].m->content);
        thr = conflicts_threshold(ea[i].m->kind);
        for (j = 0; j < nb; j++) {
            double jac;

            if (eb[j].matched || strcmp(eb[j].m->kind, ea[i].m->kind) != 0)
                continue;
            jac = conflicts_words_jaccard(wa, wb[j]);
            if (jac >= thr && jac > best) {
                best = jac;
                pick = j;
            }
        }
        if (pick == nb)
            continue;
        ea[i].matched = eb[pick].matched = 1;
        out->changed[out->nchanged].a = ea[i].m;
        out->changed[out->nchanged].b = eb[pick].m;
        out->nchanged++;
    }
}

/* The entries left unmatched, in load order. */
static const struct memory **left_over(struct arena *a, const struct entry *e, size_t n,
                                       size_t *count)
{
    const struct memory **out = arena_alloc(a, (n ? n : 1) * sizeof(*out));
    size_t i;

    *count = 0;
    for (i = 0; i < n; i++) {
        if (!e[i].matched)
            out[(*count)++] = e[i].m;
    }
    return out;
}

int forks_diff(struct arena *a, store *st, const struct diff_side *x, const struct diff_side *y,
               struct diff_result *out, struct err *err)
{
    struct entry *ea = NULL, *eb = NULL;
    size_t na = 0, nb = 0;

    memset(out, 0, sizeof(*out));
    if (load_side(a, st, x, &ea, &na, err) < 0 || load_side(a, st, y, &eb, &nb, err) < 0)
        return -1;
    match_equal(a, ea, na, eb, nb);
    match_facts(a, ea, na, eb, nb, out);
    out->only_a = left_over(a, ea, na, &out->nonly_a);
    out->only_b = left_over(a, eb, nb, &out->nonly_b);
    return 0;
}
