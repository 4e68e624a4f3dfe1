/* context_explain.c - Engram's `explain` on POST /v1/context (spec/api.md §11): per selected
 * item the terms of its score (behavior.md §10.3), and why each other candidate of the
 * subject was left out: budget (ranked, did not fit), filtered (an episode a candidate
 * summary already covers, a memory of a kind context never reads, a deleted memory),
 * superseded (no longer valid at the instant answered for), limit (beyond the newest-N
 * candidate pools). */
#include "service/context.h"

#include <string.h>

#include "service/context-internal.h"
#include "util/jv.h"
#include "util/ts.h"

#define EXPLAIN_SCAN_MAX 5000   /* rows of each table looked at for `dropped` */

static const char *const candidate_kinds[] = { "profile_fact", "procedure", "episode_summary" };

static struct jv *item_json(struct arena *a, const char *id, const char *type)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "id", jv_str(a, id));
    jv_object_set(a, o, "type", jv_str(a, type));
    return o;
}

static void drop(struct arena *a, struct jv *list, const char *id, const char *type,
                 const char *reason)
{
    struct jv *o = item_json(a, id, type);

    jv_object_set(a, o, "reason", jv_str(a, reason));
    jv_array_append(a, list, o);
}

static struct jv *selected_json(struct arena *a, const struct context_item *it)
{
    struct jv *o = item_json(a, it->memory ? it->memory->id : it->episode->id,
                             it->memory ? "memory" : "episode");
    struct jv *terms = jv_object(a);
    size_t i;

    jv_object_set(a, o, "score", jv_real(a, it->score));
    for (i = 0; it->terms && i < it->terms->n; i++)
        jv_object_set(a, terms, it->terms->name[i], jv_real(a, it->terms->value[i]));
    jv_object_set(a, o, "components", terms);
    return o;
}

/* The ids of the rows ranking was given (the candidate pools). */
static void pool_ids(struct arena *a, const struct context_input *in, struct context_words *out)
{
    const char **ids = arena_alloc(a, (in->nmemories + in->nepisodes + 1) * sizeof(*ids));
    size_t i, n = 0;

    for (i = 0; i < in->nmemories; i++)
        ids[n++] = in->memories[i].id;
    for (i = 0; i < in->nepisodes; i++)
        ids[n++] = in->episodes[i].id;
    context_words_set(ids, n, out);
}

static void ranked_ids(struct arena *a, const struct context_bundle *b, struct context_words *out)
{
    const char **ids = arena_alloc(a, (b->nitems + 1) * sizeof(*ids));
    size_t i;

    for (i = 0; i < b->nitems; i++)
        ids[i] = b->items[i].memory ? b->items[i].memory->id : b->items[i].episode->id;
    context_words_set(ids, b->nitems, out);
}

static int is_candidate_kind(const char *kind)
{
    size_t k;

    for (k = 0; kind && k < sizeof(candidate_kinds) / sizeof(candidate_kinds[0]); k++) {
        if (strcmp(kind, candidate_kinds[k]) == 0)
            return 1;
    }
    return 0;
}

/* Why memory m (created by the instant answered for), not among the candidates, was left
 * out. */
static const char *memory_reason(const struct memory *m, const struct context_request *rq)
{
    int deleted = m->status && strcmp(m->status, "deleted") == 0;
    int superseded;

    if (rq->has_as_of)
        superseded = m->valid_to != TS_NULL && m->valid_to <= rq->as_of;
    else
        superseded = m->status && strcmp(m->status, "superseded") == 0;
    if (deleted || !is_candidate_kind(m->kind))
        return "filtered";
    return superseded ? "superseded" : "limit";
}

/* The subject's memories (every status) and episodes created by the instant answered for,
 * oldest first, at most EXPLAIN_SCAN_MAX of each, without embeddings. */
static int scan_memories(struct arena *a, store *st, const struct store_scope *sc,
                         const struct context_request *rq, int64_t at,
                         const struct context_words *pool, struct jv *dropped, struct err *err)
{
    const struct as_of_query q = { .as_of = at, .limit = EXPLAIN_SCAN_MAX, .every_status = 1 };
    struct memory_rows rows;
    const char *why;
    size_t i;

    if (store_memory_list_as_of(st, a, sc, &q, &rows, err) < 0)
        return -1;
    for (i = 0; i < rows.n; i++) {
        const struct memory *m = &rows.items[i];

        if (!context_words_has(pool, m->id) && (why = memory_reason(m, rq)))
            drop(a, dropped, m->id, "memory", why);
    }
    return 0;
}

static int scan_episodes(struct arena *a, store *st, const struct store_scope *sc, int64_t at,
                         const struct context_words *pool, struct jv *dropped, struct err *err)
{
    const struct as_of_query q = { .as_of = at, .limit = EXPLAIN_SCAN_MAX };
    struct episode_rows rows;
    size_t i;

    if (store_episode_list_as_of(st, a, sc, &q, &rows, err) < 0)
        return -1;
    for (i = 0; i < rows.n; i++) {
        if (!context_words_has(pool, rows.items[i].id))
            drop(a, dropped, rows.items[i].id, "episode", "limit");
    }
    return 0;
}

int context_explain(struct arena *a, store *st, const char *tenant,
                    const struct context_request *rq, const struct context_bundle *b,
                    int64_t now, struct jv **out, struct err *err)
{
    int64_t at = rq->has_as_of ? rq->as_of : now;
    const struct store_scope sc = { .tenant = tenant, .subject = rq->subject_id };
    struct jv *selected = jv_array(a), *dropped = jv_array(a);
    struct context_words pool, ranked;
    size_t i;

    for (i = 0; i < b->nitems; i++) {
        const struct context_item *it = &b->items[i];

        if (it->included)
            jv_array_append(a, selected, selected_json(a, it));
        else
            drop(a, dropped, it->memory ? it->memory->id : it->episode->id,
                 it->memory ? "memory" : "episode", "budget");
    }
    ranked_ids(a, b, &ranked);
    for (i = 0; i < b->input.nepisodes; i++) {   /* covered by a candidate summary */
        if (!context_words_has(&ranked, b->input.episodes[i].id))
            drop(a, dropped, b->input.episodes[i].id, "episode", "filtered");
    }
    pool_ids(a, &b->input, &pool);
    if (!store_subject_reserved(rq->subject_id) &&
        (scan_memories(a, st, &sc, rq, at, &pool, dropped, err) < 0 ||
         scan_episodes(a, st, &sc, at, &pool, dropped, err) < 0))
        return -1;
    *out = jv_object(a);
    jv_object_set(a, *out, "selected", selected);
    jv_object_set(a, *out, "dropped", dropped);
    return 0;
}
