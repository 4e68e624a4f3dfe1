/* memory_clone.c - POST /admin/memory/clone (see memory_clone.h). */
#include "service/memory_clone.h"

#include <stdio.h>
#include <string.h>

#include "service/record_copy.h"
#include "util/jv.h"
#include "util/ts.h"

static int scope_has_episodes(enum payload_scope s)
{
    return s != PAYLOAD_SCOPE_MEMORIES;
}

static int scope_has_memories(enum payload_scope s)
{
    return s != PAYLOAD_SCOPE_EPISODES;
}

/* The checks that need no write: ids, the source's existence, the limits. */
static int check(store *st, const struct clone_in *in, const struct payload_limits *lim,
                 struct err *err)
{
    struct row_counts n;

    if (memory_payload_check_id(in->source, "source_subject_id", 1, err) < 0 ||
        (in->target && memory_payload_check_id(in->target, "target_subject_id", 0, err) < 0))
        return -1;
    if (store_export_count(st, &(struct store_scope){ .subject = in->source, .all_tenants = 1 }, &n,
                           err) < 0)
        return -1;
    if (n.episodes == 0 && n.memories == 0)
        return err_set(err, ERR_NOT_FOUND,
                       "Source subject '%s' not found (no episodes or memories under that id).",
                       in->source);
    if (scope_has_episodes(in->scope) && (size_t)n.episodes > lim->max_episodes)
        return err_set(err, ERR_TOO_LARGE, "Too many episodes: %lld > limit %zu.",
                       (long long)n.episodes, lim->max_episodes);
    if (scope_has_memories(in->scope) && (size_t)n.memories > lim->max_memories)
        return err_set(err, ERR_TOO_LARGE, "Too many memories: %lld > limit %zu.",
                       (long long)n.memories, lim->max_memories);
    return 0;
}

/* The stamps every copy gets: cloned_from_subject_id, cloned_at, cloned_by when sent, and
 * (with_name) display_name when given. */
static struct jv *stamps(struct arena *a, const struct clone_in *in, const char *at, int with_name)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "cloned_from_subject_id", jv_str(a, in->source));
    jv_object_set(a, o, "cloned_at", jv_str(a, at));
    if (in->cloned_by)
        jv_object_set(a, o, "cloned_by", jv_str(a, in->cloned_by));
    if (with_name && in->display_name && *in->display_name)
        jv_object_set(a, o, "display_name", jv_str(a, in->display_name));
    return o;
}

/* Resolve the target and copy, inside the open transaction. */
static int copy(struct arena *a, store *st, const struct clone_in *in, const char *at,
                struct clone_result *out, struct err *err)
{
    char *suggested = arena_printf(a, "%s-clone", in->source);
    struct record_copy_plan p = {
        .src_subject = in->source,
        .src_all_tenants = 1,
        .dst_tenant = in->tenant,
        .episodes = scope_has_episodes(in->scope),
        .memories = scope_has_memories(in->scope),
        .fill_empty_summary = 1,
        .episode_metadata = stamps(a, in, at, 1),
        .episode_provenance = stamps(a, in, at, 0),
        .memory_metadata = stamps(a, in, at, 1),
        .episode_id_key = "original_episode_id",
        .memory_id_key = "original_memory_id",
    };
    struct row_counts n;

    if (memory_payload_resolve(a, st, in->target, suggested, PAYLOAD_CANCEL, &out->target, err) < 0)
        return -1;
    p.dst_subject = out->target;
    if (record_copy_run(a, st, &p, &n, err) < 0)
        return -1;
    out->episodes = n.episodes;
    out->memories = n.memories;
    return 0;
}

int memory_clone(struct arena *a, store *st, const struct clone_in *in,
                 const struct payload_limits *lim, struct clone_result *out, struct err *err)
{
    char at[TS_STR_LEN];

    memset(out, 0, sizeof(*out));
    if (check(st, in, lim, err) < 0)
        return -1;
    out->cloned_at = ts_now();
    ts_format_offset(out->cloned_at, at, sizeof(at));
    if (store_tx_begin(st, err) < 0)
        return -1;
    if (copy(a, st, in, at, out, err) < 0 || store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return 0;
}
