/* context.c - context assembly's reads (spec/behavior.md §10.2): the candidate memories, the
 * semantic union, the newest episodes, breadcrumb sources and resolutions; then the pure
 * pipeline of context_rank.c and context_render.c. */
#include "service/context.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "service/context-internal.h"
#include "service/context_cache.h"
#include "service/embed.h"
#include "service/search.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

/* The three candidate lists, in packing order. */
static const struct {
    const char *kind;
    size_t limit;
} candidate_kinds[] = {
    { "profile_fact", CONTEXT_FACTS_MAX },
    { "procedure", CONTEXT_PROCEDURES_MAX },
    { "episode_summary", CONTEXT_SUMMARIES_MAX },
};

/* The memories nearest to the task (semantic providers only). */
struct nearest {
    struct memory *rows;   /* distance order */
    double *dist;
    size_t n;
};

/* Fill nr with the CONTEXT_SEMANTIC_MAX nearest memories; on any failure nr stays empty
 * (the union is skipped, as when the query embedding fails). */
static void semantic_nearest(struct arena *a, store *st, const char *tenant,
                             const struct context_request *rq, struct nearest *nr)
{
    struct err err = ERR_INIT;
    float *qvec;

    memset(nr, 0, sizeof(*nr));
    if (!embed_semantic())
        return;
    if (embed_query(a, st, rq->task, &qvec, &err) < 0 ||
        search_nearest(a, st, tenant, rq->subject_id, NULL, qvec, embed_dim(),
                       CONTEXT_SEMANTIC_MAX, &nr->rows, &nr->dist, &nr->n, &err) < 0) {
        log_write(LOG_WARN, "context: semantic candidates skipped: %s", err.msg);
        memset(nr, 0, sizeof(*nr));
    }
    err_release(&err);
}

static int has_id(const struct memory *rows, size_t n, const char *id)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(rows[i].id, id) == 0)
            return 1;
    }
    return 0;
}

/* sem[] for the candidates: 8 × max(0, 1 − d) for the nearest ones, NAN for the others;
 * NULL when no memory was near (word overlap only). */
static const double *semantic_relevance(struct arena *a, const struct nearest *nr,
                                        const struct memory *mems, size_t n)
{
    double *sem;
    size_t i, j;

    if (nr->n == 0)
        return NULL;
    sem = arena_alloc(a, (n + 1) * sizeof(*sem));
    for (i = 0; i < n; i++) {
        sem[i] = NAN;
        for (j = 0; j < nr->n && strcmp(nr->rows[j].id, mems[i].id) != 0; j++)
            ;
        if (j < nr->n)
            sem[i] = 8.0 * fmax(0.0, 1.0 - nr->dist[j]);
    }
    return sem;
}

/* Append to out the nearest rows of kind that are not yet among out (distance order). */
static size_t union_kind(const struct nearest *nr, const char *kind, struct memory *out,
                         size_t n)
{
    size_t j;

    for (j = 0; j < nr->n; j++) {
        if (strcmp(nr->rows[j].kind, kind) == 0 && !has_id(out, n, nr->rows[j].id))
            out[n++] = nr->rows[j];
    }
    return n;
}

/* 1 if kind is one of the candidate kinds. */
static int candidate_kind(const char *kind)
{
    size_t k;

    for (k = 0; k < sizeof(candidate_kinds) / sizeof(candidate_kinds[0]); k++) {
        if (strcmp(candidate_kinds[k].kind, kind) == 0)
            return 1;
    }
    return 0;
}

/* The source ids of the nearest memories that can join a candidate list (union_kind), for
 * the store to fetch with the candidates' own. */
static size_t nearest_sources(struct arena *a, const struct nearest *nr, const char ***out)
{
    const char **ids = NULL, **src;
    size_t i, n = 0, k;

    for (i = 0; i < nr->n; i++) {
        if (!candidate_kind(nr->rows[i].kind))
            continue;
        k = context_source_ids(a, nr->rows[i].source_episode_ids, &src);
        if (k) {
            const char **more = arena_alloc(a, (n + k) * sizeof(*more));

            if (n)
                memcpy(more, ids, n * sizeof(*more));
            memcpy(more + n, src, k * sizeof(*more));
            ids = more;
            n += k;
        }
    }
    *out = ids;
    return n;
}

/* Everything but the source episodes, in one store op: the candidate memories (§10.2: per
 * kind the newest active ones, then, with a semantic provider, the nearest memories of that
 * kind not already present; sem[] from the nearest), the newest CONTEXT_EPISODES_MAX
 * episodes and the resolutions. PostgreSQL brings the source episodes in the same round
 * trip; *have_sources says whether they came. */
static int fetch_reads(struct arena *a, store *st, const char *tenant,
                       const struct context_request *rq, struct context_input *in,
                       int *have_sources, struct err *err)
{
    struct context_reads r;
    struct memory *all;
    struct episode *sorted;
    struct nearest nr;
    const char **extra;
    size_t k, n = 0, i, cap;

    semantic_nearest(a, st, tenant, rq, &nr);
    memset(&r, 0, sizeof(r));
    r.nkinds = sizeof(candidate_kinds) / sizeof(candidate_kinds[0]);
    for (k = 0; k < r.nkinds; k++) {
        r.kinds[k] = candidate_kinds[k].kind;
        r.limits[k] = candidate_kinds[k].limit;
    }
    r.episodes = CONTEXT_EPISODES_MAX;
    r.nextra = nearest_sources(a, &nr, &extra);
    r.extra_sources = extra;
    if (store_context_read(st, a, &(struct store_scope){ .tenant = tenant,
                                                         .subject = rq->subject_id },
                           &r, err) < 0)
        return -1;
    *have_sources = r.have_sources;
    if (r.have_sources) {
        in->sources = r.sources;
        in->nsources = r.nsources;
    }

    cap = nr.n + CONTEXT_FACTS_MAX + CONTEXT_PROCEDURES_MAX + CONTEXT_SUMMARIES_MAX;
    all = arena_calloc(a, cap + 1, sizeof(*all));
    for (k = 0; k < r.nkinds; k++) {
        size_t start = n;

        memcpy(all + n, r.memories[k], r.nmemories[k] * sizeof(*all));
        n += r.nmemories[k];
        n = start + union_kind(&nr, candidate_kinds[k].kind, all + start, n - start);
    }
    in->memories = all;
    in->nmemories = n;
    in->sem = semantic_relevance(a, &nr, all, n);

    /* The store lists episodes in exact reverse insertion order (created_at, then seq, both
     * descending), so reversing gives created_at ascending with equal timestamps in
     * insertion order (behavior.md §0.2). */
    sorted = arena_calloc(a, r.nrecent + 1, sizeof(*sorted));
    for (i = 0; i < r.nrecent; i++)
        sorted[i] = r.recent[r.nrecent - 1 - i];
    in->episodes = sorted;
    in->nepisodes = r.nrecent;

    /* As the reference: no resolutions without episodes. */
    if (in->nepisodes) {
        in->resolutions = r.resolutions;
        in->nresolutions = r.nresolutions;
    }
    return 0;
}

int context_read_as_of(struct arena *a, store *st, const char *tenant,
                       const struct context_request *rq, struct context_input *in,
                       struct err *err)
{
    const struct store_scope sc = { .tenant = tenant, .subject = rq->subject_id };
    struct as_of_query q = { .as_of = rq->as_of, .order = MEMORY_NEWEST_FIRST };
    struct memory_rows kinds[ARRAY_SIZE(candidate_kinds)];
    struct episode_rows recent;
    struct resolution_rows res;
    struct memory *all;
    struct episode *sorted;
    struct resolution *kept;
    size_t k, n = 0, i;

    for (k = 0; k < ARRAY_SIZE(candidate_kinds); k++) {
        q.kind = candidate_kinds[k].kind;
        q.limit = candidate_kinds[k].limit;
        if (store_memory_list_as_of(st, a, &sc, &q, &kinds[k], err) < 0)
            return -1;
        n += kinds[k].n;
    }
    all = arena_calloc(a, n + 1, sizeof(*all));
    for (k = 0, n = 0; k < ARRAY_SIZE(candidate_kinds); k++) {
        memcpy(all + n, kinds[k].items, kinds[k].n * sizeof(*all));
        n += kinds[k].n;
    }
    in->memories = all;
    in->nmemories = n;
    in->sem = NULL;

    q.kind = NULL;
    q.limit = CONTEXT_EPISODES_MAX;
    if (store_episode_list_as_of(st, a, &sc, &q, &recent, err) < 0)
        return -1;
    sorted = arena_calloc(a, recent.n + 1, sizeof(*sorted));   /* oldest first, as above */
    for (i = 0; i < recent.n; i++)
        sorted[i] = recent.items[recent.n - 1 - i];
    in->episodes = sorted;
    in->nepisodes = recent.n;
    if (in->nepisodes == 0)
        return 0;
    if (store_resolution_list(st, a, &sc, &res, err) < 0)
        return -1;
    kept = arena_calloc(a, res.n + 1, sizeof(*kept));
    for (i = 0, n = 0; i < res.n; i++) {
        if (res.items[i].updated_at <= rq->as_of)
            kept[n++] = res.items[i];
    }
    in->resolutions = kept;
    in->nresolutions = n;
    return 0;
}

/* The distinct source ids of every candidate memory (arena). */
static void source_id_set(struct arena *a, const struct context_input *in,
                          struct context_words *set)
{
    size_t cap = 16, n = 0, i, j, k;
    const char **ids = arena_alloc(a, cap * sizeof(*ids));

    for (i = 0; i < in->nmemories; i++) {
        const char **src;

        k = context_source_ids(a, in->memories[i].source_episode_ids, &src);
        for (j = 0; j < k; j++) {
            if (n == cap) {
                const char **bigger = arena_alloc(a, 2 * cap * sizeof(*ids));

                memcpy(bigger, ids, n * sizeof(*ids));
                ids = bigger;
                cap *= 2;
            }
            ids[n++] = src[j];
        }
    }
    context_words_set(ids, n, set);
}

/* The source episodes of every candidate memory (by id), for breadcrumbs. */
static int fetch_sources(struct arena *a, store *st, const char *tenant,
                         struct context_input *in, struct err *err)
{
    struct context_words set;
    struct episode_rows rows;

    source_id_set(a, in, &set);
    in->sources = NULL;
    in->nsources = 0;
    if (set.n == 0)
        return 0;
    if (store_episode_get_many(st, a, tenant, &(struct store_ids){ set.w, set.n }, &rows,
                               err) < 0)
        return -1;
    in->sources = rows.items;
    in->nsources = rows.n;
    return 0;
}

/* Everything context reads of the subject as it stands (no as_of), into in. */
static int read_today(struct arena *a, store *st, const char *tenant,
                      const struct context_request *rq, struct context_input *in,
                      struct err *err)
{
    int have_sources = 0;

    if (fetch_reads(a, st, tenant, rq, in, &have_sources, err) < 0)
        return -1;
    if (!have_sources && fetch_sources(a, st, tenant, in, err) < 0)
        return -1;
    return 0;
}

/* 1 when the subject's generation alone tells whether in's rows still stand: every source
 * id of a candidate names an episode of the subject itself, found among the sources. A
 * source in another subject, or not found (it could appear in another subject later), is a
 * row the generation does not cover: such inputs are used once and not kept. */
static int cacheable(struct arena *a, const char *subject, const struct context_input *in)
{
    struct context_words set;
    size_t i;

    source_id_set(a, in, &set);
    if (set.n != in->nsources)
        return 0;
    for (i = 0; i < in->nsources; i++) {
        if (!in->sources[i].subject_id || strcmp(in->sources[i].subject_id, subject) != 0)
            return 0;
    }
    return 1;
}

/* Set by every API context request (always the same two functions), read when an entry is
 * built: atomics, so that the first requests of several threads do not race. */
static void (*render_memory)(struct buf *, const struct memory *);
static void (*render_episode)(struct buf *, const struct episode *);

void context_set_renderers(void (*memory)(struct buf *, const struct memory *),
                           void (*episode)(struct buf *, const struct episode *))
{
    __atomic_store_n(&render_memory, memory, __ATOMIC_RELAXED);
    __atomic_store_n(&render_episode, episode, __ATOMIC_RELAXED);
}

/* The JSON of each of the n rows of size bytes at rows, written by put (arena a). */
static const struct context_json *rows_json(struct arena *a, const void *rows, size_t n,
                                            size_t size,
                                            void (*put)(struct buf *, const void *))
{
    struct context_json *out = arena_calloc(a, n + 1, sizeof(*out));
    struct buf b = BUF_INIT;
    size_t i;

    for (i = 0; i < n; i++) {
        b.len = 0;
        put(&b, (const char *)rows + i * size);
        out[i].s = arena_memdup(a, b.data, b.len);
        out[i].n = b.len;
    }
    buf_release(&b);
    return out;
}

static void put_memory(struct buf *b, const void *m)
{
    __atomic_load_n(&render_memory, __ATOMIC_RELAXED)(b, m);
}

static void put_episode(struct buf *b, const void *ep)
{
    __atomic_load_n(&render_episode, __ATOMIC_RELAXED)(b, ep);
}

/* Keep the JSON of in's memories and episodes with them (arena a), when the API gave its
 * renderers: a cached request then copies each row's bytes instead of writing them. */
static void keep_json(struct arena *a, struct context_input *in)
{
    if (!__atomic_load_n(&render_memory, __ATOMIC_RELAXED) ||
        !__atomic_load_n(&render_episode, __ATOMIC_RELAXED))
        return;
    in->memory_json = rows_json(a, in->memories, in->nmemories, sizeof(*in->memories),
                                put_memory);
    in->episode_json = rows_json(a, in->episodes, in->nepisodes, sizeof(*in->episodes),
                                 put_episode);
}

const struct context_json *context_memory_json(const struct context_bundle *b,
                                               const struct memory *m)
{
    const struct context_input *in = &b->input;

    if (!in->memory_json || m < in->memories || m >= in->memories + in->nmemories)
        return NULL;
    return &in->memory_json[m - in->memories];
}

const struct context_json *context_episode_json(const struct context_bundle *b,
                                                const struct episode *ep)
{
    const struct context_input *in = &b->input;

    if (!in->episode_json || ep < in->episodes || ep >= in->episodes + in->nepisodes)
        return NULL;
    return &in->episode_json[ep - in->episodes];
}

/* read_today through the context cache (context_cache.h): the subject's generation first,
 * then its entry, or the rows read into a new one. The entry is held until a is freed. */
static int read_cached(struct arena *a, store *st, const char *tenant,
                       const struct context_request *rq, struct context_input *in,
                       struct err *err)
{
    const struct store_scope sc = { .tenant = tenant, .subject = rq->subject_id };
    /* An entry is stamped with the connection epoch from before its generation was read and
     * looked up with the one from after: an entry made before a connection was lost (a
     * failover) is never found again, nor one whose rows were read across the loss. */
    uint64_t epoch = store_connection_epoch();
    struct ctx_entry *e;
    int64_t gen;

    if (store_context_gen(st, &sc, &gen, err) < 0)
        return -1;
    e = context_cache_get(tenant, rq->subject_id, gen, store_connection_epoch());
    if (!e) {
        struct context_input rows;

        memset(&rows, 0, sizeof(rows));
        e = context_cache_builder();
        if (read_today(context_cache_arena(e), st, tenant, rq, &rows, err) < 0) {
            context_cache_release(e);
            return -1;
        }
        keep_json(context_cache_arena(e), &rows);
        context_prepare(context_cache_arena(e), &rows);
        context_cache_set_input(e, &rows);
        context_cache_put(e, tenant, rq->subject_id, gen, epoch,
                          cacheable(a, rq->subject_id, &rows));
    }
    context_cache_release_with(a, e);
    *in = *context_cache_input(e);
    return 0;
}

int context_assemble(struct arena *a, store *st, const char *tenant,
                     const struct context_request *rq, int64_t now, struct context_bundle *out,
                     struct err *err)
{
    struct context_input in;
    int ret = 0;

    memset(&in, 0, sizeof(in));
    if (store_subject_reserved(rq->subject_id))
        ret = 0;
    else if (rq->has_as_of)
        ret = context_read_as_of(a, st, tenant, rq, &in, err) < 0 ||
                      fetch_sources(a, st, tenant, &in, err) < 0 ? -1 : 0;
    else if (!embed_semantic() && context_cache_budget() > 0)
        ret = read_cached(a, st, tenant, rq, &in, err);
    else
        ret = read_today(a, st, tenant, rq, &in, err);
    if (ret < 0)
        return -1;
    in.now = rq->has_as_of ? rq->as_of : now;
    context_build(a, rq, &in, out);
    out->input = in;
    return 0;
}
