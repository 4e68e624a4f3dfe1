/* explorer.c - the admin subject explorer (spec/api.md §7.4). */
#include "service/explorer.h"

#include <string.h>

#include "util/jv.h"
#include "util/ts.h"

/* Whose rows: every tenant without one, else exactly that tenant. */
static struct store_scope scope(const char *subject, const char *tenant)
{
    struct store_scope sc = { .tenant = tenant, .subject = subject, .all_tenants = !tenant };

    return sc;
}

int explorer_list(struct arena *a, store *st, const struct explorer_subject_query *q, int64_t now,
                  struct explorer_subject_rows *out, struct err *err)
{
    struct subject_health h;
    size_t i;

    if (store_explorer_subjects(st, a, q, out, err) < 0)
        return -1;
    for (i = 0; i < out->n; i++) {
        struct explorer_subject *x = &out->items[i];

        if (x->health_state)
            continue;
        if (subject_health_assess(a, st, x->tenant_id, x->subject_id, now, &h, err) < 0)
            return -1;
        x->health_state = h.state;
        x->health_score = h.score;
    }
    return 0;
}

/* What the health and the SLA read of subject in tenant (NULL = every tenant): the newest
 * nres resolutions and the oldest neps episodes. */
static int support_rows(struct arena *a, store *st, const struct store_scope *sc, size_t nres,
                        size_t neps, struct resolution_rows *res, struct explorer_episode_rows *eps,
                        struct err *err)
{
    const struct explorer_episode_query eq = { .oldest_first = 1, .no_total = 1, .limit = neps };

    return store_explorer_resolutions(st, a, sc, NULL, nres, res, err) < 0 ||
                   store_explorer_episodes(st, a, sc, &eq, eps, err) < 0
               ? -1
               : 0;
}

int explorer_sla(struct arena *a, store *st, const char *subject, const char *tenant, int64_t now,
                 struct sla_summary *out, struct err *err)
{
    const struct sla_thresholds t = { SLA_FIRST_RESPONSE_MINUTES, SLA_RESOLUTION_HOURS };
    const struct store_scope sc = scope(subject, tenant);
    struct sla_input in = { NULL, 0, NULL, 0, now };
    struct resolution_rows res;
    struct explorer_episode_rows eps;

    if (!store_subject_reserved(subject)) {
        if (support_rows(a, st, &sc, SLA_RESOLUTIONS_MAX, SLA_EPISODES_MAX, &res, &eps, err) < 0)
            return -1;
        in.resolutions = res.items;
        in.nresolutions = res.n;
        in.episodes = eps.items;
        in.nepisodes = eps.n;
    }
    sla_compute(a, &in, &t, out);
    return 0;
}

/* The health of subject across several tenant spaces: computed, not cached (it is no
 * pair's). */
static int health_across(struct arena *a, store *st, const char *subject, int64_t now,
                         struct subject_health *out, struct err *err)
{
    const struct store_scope sc = scope(subject, NULL);
    struct subject_health_input in = { NULL, 0, NULL, 0, now };
    struct resolution_rows res;
    struct explorer_episode_rows eps;

    if (support_rows(a, st, &sc, SUBJECT_HEALTH_RESOLUTIONS_MAX, SUBJECT_HEALTH_EPISODES_MAX, &res,
                     &eps, err) < 0)
        return -1;
    in.resolutions = res.items;
    in.nresolutions = res.n;
    in.episodes = eps.items;
    in.nepisodes = eps.n;
    subject_health_compute(a, &in, out);
    return 0;
}

int explorer_detail(struct arena *a, store *st, const char *subject, const char *tenant,
                    int64_t now, struct explorer_detail *out, struct err *err)
{
    const struct store_scope sc = scope(subject, tenant);
    struct explorer_summary *s = &out->summary;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!store_subject_reserved(subject) && store_explorer_summary(st, a, &sc, s, err) < 0)
        return -1;
    if (s->episode_count == 0 && s->memory_count == 0)
        return err_set(err, ERR_NOT_FOUND, "Subject '%s' not found", subject);
    out->tenant_id = tenant ? tenant : s->any_tenant;
    out->session_count =
        s->episode_sessions > s->resolution_sessions ? s->episode_sessions : s->resolution_sessions;
    if (tenant || s->npairs <= 1)
        rc = subject_health_assess(a, st, tenant ? tenant : s->pair_tenant, subject, now,
                                   &out->health, err);
    else
        rc = health_across(a, st, subject, now, &out->health, err);
    if (rc < 0)
        return -1;
    return explorer_sla(a, st, subject, tenant, now, &out->sla, err);
}

int explorer_memories(struct arena *a, store *st, const char *subject, const char *tenant,
                      const struct explorer_memory_query *q, struct explorer_memory_rows *out,
                      struct err *err)
{
    const struct store_scope sc = scope(subject, tenant);

    memset(out, 0, sizeof(*out));
    out->items = arena_calloc(a, 1, sizeof(*out->items));
    if (store_subject_reserved(subject))
        return 0;
    return store_explorer_memories(st, a, &sc, q, out, err);
}

int explorer_episodes(struct arena *a, store *st, const char *subject, const char *tenant,
                      const struct explorer_episode_query *q, struct explorer_episode_rows *out,
                      struct err *err)
{
    const struct store_scope sc = scope(subject, tenant);

    memset(out, 0, sizeof(*out));
    out->items = arena_calloc(a, 1, sizeof(*out->items));
    if (store_subject_reserved(subject))
        return 0;
    return store_explorer_episodes(st, a, &sc, q, out, err);
}

/* The first max ids of the JSON array text ids (strings only) into out; returns how many,
 * and the array's length in *total. */
static size_t source_ids(struct arena *a, const char *ids, const char **out, size_t max,
                         size_t *total)
{
    const struct jv *arr = ids ? jv_parse(a, ids, strlen(ids), NULL, NULL) : NULL;
    size_t i, n = 0;

    *total = arr && jv_type(arr) == JV_ARRAY ? jv_array_size(arr) : 0;
    for (i = 0; i < *total && n < max; i++) {
        const char *s = jv_string(jv_array_get(arr, i), NULL);

        if (s)
            out[n++] = s;
    }
    return n;
}

/* 1 if id is the id of one of the n memories. */
static int among(const char *id, const struct memory *m, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(m[i].id, id) == 0)
            return 1;
    return 0;
}

/* The siblings of t: memories sharing one of its first source episodes, newest first, less
 * those already named as superseding or superseded. */
static int siblings(struct arena *a, store *st, const struct store_scope *sc,
                    struct explorer_related *out, struct err *err)
{
    const char *ids[EXPLORER_SIBLING_SOURCES];
    struct explorer_memory_query q = { .exclude_id = out->target->id,
                                       .created_after = TS_NULL,
                                       .created_before = TS_NULL,
                                       .limit = EXPLORER_SIBLINGS_MAX };
    struct explorer_memory_rows rows;
    size_t i, kept = 0;

    q.cites = ids;
    q.ncites = source_ids(a, out->target->source_episode_ids, ids, EXPLORER_SIBLING_SOURCES,
                          &out->source_episode_count);
    out->siblings = arena_calloc(a, 1, sizeof(*out->siblings));
    if (q.ncites == 0)
        return 0;
    if (store_explorer_memories(st, a, sc, &q, &rows, err) < 0)
        return -1;
    for (i = 0; i < rows.n; i++) {
        if ((out->superseding && strcmp(out->superseding->id, rows.items[i].id) == 0) ||
            among(rows.items[i].id, out->superseded, out->nsuperseded))
            continue;
        rows.items[kept++] = rows.items[i];
    }
    out->siblings = rows.items;
    out->nsiblings = kept;
    return 0;
}

/* The superseding memory of a superseded t, or the memories an active t superseded. */
static int lineage(struct arena *a, store *st, const struct store_scope *sc,
                   struct explorer_related *out, struct err *err)
{
    const struct memory *t = out->target;
    struct explorer_memory_query q = {
        .exclude_id = t->id, .kind = t->kind, .created_after = TS_NULL, .created_before = TS_NULL
    };
    struct explorer_memory_rows rows;

    out->superseded = arena_calloc(a, 1, sizeof(*out->superseded));
    if (strcmp(t->status, "superseded") == 0 && t->source_episode_ids &&
        strcmp(t->source_episode_ids, "[]") != 0) {
        q.status = "active";
        q.created_after = t->created_at;
        q.oldest_first = 1;
        q.limit = 1;
        if (store_explorer_memories(st, a, sc, &q, &rows, err) < 0)
            return -1;
        out->superseding = rows.n ? &rows.items[0] : NULL;
    } else if (strcmp(t->status, "active") == 0) {
        q.status = "superseded";
        q.created_before = t->created_at;
        q.limit = EXPLORER_SUPERSEDED_MAX;
        if (store_explorer_memories(st, a, sc, &q, &rows, err) < 0)
            return -1;
        out->superseded = rows.items;
        out->nsuperseded = rows.n;
    }
    return 0;
}

int explorer_related(struct arena *a, store *st, const char *subject, const char *tenant,
                     const char *memory_id, struct explorer_related *out, struct err *err)
{
    const struct store_scope sc = scope(subject, tenant);
    const struct explorer_memory_query q = {
        .id = memory_id, .created_after = TS_NULL, .created_before = TS_NULL, .limit = 1
    };
    struct explorer_memory_rows rows = { 0 };

    memset(out, 0, sizeof(*out));
    if (!store_subject_reserved(subject) && store_explorer_memories(st, a, &sc, &q, &rows, err) < 0)
        return -1;
    if (rows.n == 0)
        return err_set(err, ERR_NOT_FOUND, "Memory not found");
    out->target = &rows.items[0];
    if (lineage(a, st, &sc, out, err) < 0)
        return -1;
    return siblings(a, st, &sc, out, err);
}

/* The session's resolution (its newest) into out. */
static int session_resolution(struct arena *a, store *st, const struct store_scope *sc,
                              const char *session, struct explorer_timeline *out, struct err *err)
{
    struct resolution_rows res;

    out->resolved_at = TS_NULL;
    if (store_explorer_resolutions(st, a, sc, session, 1, &res, err) < 0)
        return -1;
    if (res.n) {
        out->resolved_at = res.items[0].resolved_at;
        out->resolution_status = res.items[0].status;
    }
    return 0;
}

/* The session's SLA figures and status into out. */
static int session_sla(struct arena *a, store *st, const char *subject, const char *tenant,
                       const char *session, int64_t now, struct explorer_timeline *out,
                       struct err *err)
{
    struct sla_summary sla;
    size_t i;

    if (explorer_sla(a, st, subject, tenant, now, &sla, err) < 0)
        return -1;
    for (i = 0; i < sla.nsessions && !out->sla; i++)
        if (strcmp(sla.sessions[i].session_id, session) == 0)
            out->sla = &sla.sessions[i];
    if (out->sla)
        out->status = out->sla->status;
    else
        out->status = out->resolution_status ? "resolved" : "open";
    return 0;
}

int explorer_session_timeline(struct arena *a, store *st, const char *subject, const char *tenant,
                              const char *session, size_t limit, int64_t now,
                              struct explorer_timeline *out, struct err *err)
{
    const struct store_scope sc = scope(subject, tenant);
    const struct explorer_episode_query eq = { .session_id = session,
                                               .oldest_first = 1,
                                               .limit = limit };
    struct explorer_episode_rows eps;
    const char **ids;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (explorer_episodes(a, st, subject, tenant, &eq, &eps, err) < 0)
        return -1;
    out->episodes = eps.items;
    out->nepisodes = eps.n;
    out->episode_count = eps.total;
    out->citing = arena_calloc(a, eps.n ? eps.n : 1, sizeof(*out->citing));
    ids = arena_calloc(a, eps.n ? eps.n : 1, sizeof(*ids));
    for (i = 0; i < eps.n; i++)
        ids[i] = eps.items[i].id;
    if (eps.n && store_explorer_citing_counts(st, &sc, &(struct store_ids){ ids, eps.n },
                                              out->citing, err) < 0)
        return -1;
    out->resolved_at = TS_NULL;
    if (!store_subject_reserved(subject) && session_resolution(a, st, &sc, session, out, err) < 0)
        return -1;
    return session_sla(a, st, subject, tenant, session, now, out, err);
}
