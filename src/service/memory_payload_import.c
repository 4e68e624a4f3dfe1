/* memory_payload_import.c - importing a "statewave-memory-payload" document, all-or-nothing:
 * plan it, resolve targets, write every record in one transaction, then embed the new
 * memories (spec/api.md §6.5). */
#include "service/memory_payload-internal.h"

#include <string.h>

#include "service/embed.h"
#include "service/episodes.h"
#include "util/log.h"
#include "util/ts.h"

#define EMBED_CHUNK 128       /* memories per provider call after an import */

/* ---- import: targets, the write, embeddings ---- */

static void map_set(struct payload_import_result *res, struct hmap *m, const char *from,
                    const char *to)
{
    size_t i = mp_strmap_get(m, from);

    if (i == SIZE_MAX) {
        i = res->nmap++;
        res->map_from[i] = from;
        mp_strmap_put(m, from, i);
    }
    res->map_to[i] = to;
}

static int check_group(const struct payload_group *g, const struct payload_limits *lim,
                       struct err *err)
{
    if (subject_check_writable(g->target, err) < 0)
        return -1;
    if (g->nepisodes > lim->max_episodes)
        return err_set(err, ERR_TOO_LARGE, "Too many episodes: %zu > limit %zu.", g->nepisodes,
                       lim->max_episodes);
    if (g->nmemories > lim->max_memories)
        return err_set(err, ERR_TOO_LARGE, "Too many memories: %zu > limit %zu.", g->nmemories,
                       lim->max_memories);
    return 0;
}

/* subject_id_map: resolve every listed subject, then derive a target for each unlisted
 * group, checking each group as the reference does before it writes it. */
static int map_targets(struct arena *a, store *st, enum payload_strategy strategy,
                       const struct payload_limits *lim, struct payload_import_result *res,
                       struct err *err)
{
    struct payload_plan *plan = &res->plan;
    size_t cap = plan->nsubjects + plan->ngroups + 1, i, j;
    struct hmap m;
    const char *to;

    res->map_from = arena_alloc(a, cap * sizeof(*res->map_from));
    res->map_to = arena_alloc(a, cap * sizeof(*res->map_to));
    hmap_init(a, &m, cap);
    for (i = 0; i < plan->nsubjects; i++) {
        const char *s = plan->subjects[i];

        if (memory_payload_resolve(a, st, strategy == PAYLOAD_CREATE_COPY ? NULL : s, s,
                                   strategy, &to, err) < 0)
            return -1;
        map_set(res, &m, s, to);
    }
    for (i = 0; i < plan->ngroups; i++) {
        struct payload_group *g = &plan->groups[i];

        j = mp_strmap_get(&m, g->original);
        if (j == SIZE_MAX) {
            if (memory_payload_derive(a, g->original, &to, err) < 0)
                return -1;
            map_set(res, &m, g->original, to);
            j = mp_strmap_get(&m, g->original);
        }
        g->target = res->map_to[j];
        if (check_group(g, lim, err) < 0)
            return -1;
    }
    return 0;
}

static int write_groups(store *st, const char *tenant, struct payload_import_result *res,
                        struct err *err)
{
    size_t i, k;

    for (i = 0; i < res->plan.ngroups; i++) {
        struct payload_group *g = &res->plan.groups[i];

        for (k = 0; k < g->nepisodes; k++) {
            g->episodes[k].subject_id = g->target;
            g->episodes[k].tenant_id = tenant;
        }
        for (k = 0; k < g->nmemories; k++) {
            g->memories[k].subject_id = g->target;
            g->memories[k].tenant_id = tenant;
        }
        if ((g->nepisodes && store_episode_insert_many(st, g->episodes, g->nepisodes, err) < 0) ||
            (g->nmemories && store_memory_insert_many(st, g->memories, g->nmemories, err) < 0))
            return -1;
        res->episodes += g->nepisodes;
        res->memories += g->nmemories;
    }
    return 0;
}

/* The new memories that came without a vector but have content, into *out (arena). */
static size_t missing_vectors(struct arena *a, const struct payload_plan *plan,
                              struct memory ***out)
{
    size_t i, k, n = 0, total = 0;

    for (i = 0; i < plan->ngroups; i++)
        total += plan->groups[i].nmemories;
    *out = arena_alloc(a, (total + 1) * sizeof(**out));
    for (i = 0; i < plan->ngroups; i++) {
        for (k = 0; k < plan->groups[i].nmemories; k++) {
            struct memory *m = &plan->groups[i].memories[k];

            if (!m->embedding && m->content[0])
                (*out)[n++] = m;
        }
    }
    return n;
}

/* Embed n memories' contents in one provider call and store the vectors in one transaction.
 * The vectors live in a scratch arena, so memory stays bounded by one chunk. */
static int embed_chunk(store *st, struct memory **which, size_t n, struct err *err)
{
    struct arena *scratch = arena_new();
    const char **texts = arena_alloc(scratch, n * sizeof(*texts));
    size_t i, dim = embed_dim();
    float *vecs;
    int ret = -1;

    for (i = 0; i < n; i++)
        texts[i] = which[i]->content;
    if (embed_texts(scratch, texts, n, &vecs, err) < 0 || store_tx_begin(st, err) < 0)
        goto cleanup;
    for (i = 0; i < n; i++) {
        if (store_memory_set_embedding(st, which[i]->id, vecs + i * dim, dim, err) < 0)
            break;
    }
    if (i < n || store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        goto cleanup;
    }
    ret = 0;
cleanup:
    arena_free(scratch);
    return ret;
}

/* After the commit: embed the imported memories that came without a vector and have content
 * (behavior.md §7.3), EMBED_CHUNK at a time. Best effort: a failure is logged and the rest
 * keep embedding = null. */
void memory_payload_embed_new(struct arena *a, store *st, const struct payload_plan *plan)
{
    struct err err = ERR_INIT;
    struct memory **which;
    size_t i, n;

    if (!embed_available())
        return;
    n = missing_vectors(a, plan, &which);
    for (i = 0; i < n; i += EMBED_CHUNK) {
        size_t len = n - i < EMBED_CHUNK ? n - i : EMBED_CHUNK;

        if (embed_chunk(st, which + i, len, &err) < 0) {
            log_write(LOG_WARN, "embedding %zu imported memories failed: %s", n - i, err.msg);
            break;
        }
    }
    err_release(&err);
}

int memory_payload_import(struct arena *a, store *st, const struct jv *payload,
                          const char *tenant, enum payload_strategy strategy,
                          const struct payload_limits *lim, struct payload_import_result *res,
                          struct err *err)
{
    memset(res, 0, sizeof(*res));
    if (memory_payload_plan(a, payload, lim, ts_now(), &res->plan, err) < 0)
        return -1;
    if (store_tx_begin(st, err) < 0)
        return -1;
    if (map_targets(a, st, strategy, lim, res, err) < 0 || write_groups(st, tenant, res, err) < 0 ||
        store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        res->episodes = res->memories = 0;
        return -1;
    }
    memory_payload_embed_new(a, st, &res->plan);
    log_write(LOG_INFO, "memory payload imported: %zu subject(s), %zu episode(s), %zu memory(ies)",
              res->nmap, res->episodes, res->memories);
    return 0;
}
