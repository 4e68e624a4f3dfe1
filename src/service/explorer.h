/* explorer.h - the admin subject explorer (spec/api.md §7.4): the (tenant, subject) listing,
 * one subject's summary with its health and SLA, its memories and episodes, the memories
 * citing an episode, a memory's relatives and a session's timeline. Knows neither HTTP nor
 * SQL.
 *
 * Tenants: every read takes `tenant`; NULL reads every tenant (the admin default: /admin is
 * cross-tenant), else only rows whose tenant_id equals it. Reserved subject ids (`_snapshot/`,
 * `_bootstrap_tmp/`) are subjects without data: 404 where the spec says so, else empty.
 * Every listing is a bounded page (limit, offset) with the total of its matches, read through
 * indexes (the pair listing through subject_stats, store.h).
 */
#ifndef ENGRAM_SERVICE_EXPLORER_H
#define ENGRAM_SERVICE_EXPLORER_H

#include <stddef.h>
#include <stdint.h>

#include "service/sla.h"
#include "service/subject_health.h"
#include "store/store.h"

#define EXPLORER_LIMIT_MAX 200          /* limit of every paged listing */
#define EXPLORER_OFFSET_MAX 100000      /* Engram's bound on offset (422 beyond it) */
#define EXPLORER_TIMELINE_LIMIT_MAX 500 /* episodes in a session timeline */
#define EXPLORER_SUPERSEDED_MAX 5
#define EXPLORER_SIBLINGS_MAX 10
#define EXPLORER_SIBLING_SOURCES 5 /* source episodes a sibling may share */

/*
 * GET /admin/subjects: one page of (tenant, subject) pairs with episodes. A listed pair
 * without a cached health value gets it computed and cached (subject_health_assess, with its
 * alert event) before the page is returned. Items in arena a; -1 with err set when the store
 * fails.
 */
int explorer_list(struct arena *a, store *st, const struct explorer_subject_query *q, int64_t now,
                  struct explorer_subject_rows *out, struct err *err);

struct explorer_detail {
    struct explorer_summary summary;
    const char *tenant_id; /* the tenant asked for, else any episode tenant */
    int64_t session_count; /* max(episode sessions, resolution sessions) */
    struct subject_health health;
    struct sla_summary sla; /* default thresholds */
};

/*
 * GET /admin/subjects/{id}: counts, times, health and SLA of subject. No episodes and no
 * memories (or a reserved id): 404 `Subject '<id>' not found`. The health is cached (with
 * its alert) when it is one pair's: a tenant was given, or the subject lives in one tenant
 * space only; across several tenant spaces it is computed over all of them and not cached.
 */
int explorer_detail(struct arena *a, store *st, const char *subject, const char *tenant,
                    int64_t now, struct explorer_detail *out, struct err *err);

/* GET /admin/subjects/{id}/sla: the SLA of subject (every tenant, or tenant) with the default
 * thresholds; never "not found". */
int explorer_sla(struct arena *a, store *st, const char *subject, const char *tenant, int64_t now,
                 struct sla_summary *out, struct err *err);

/* GET /admin/subjects/{id}/memories, …/episodes, …/episodes/{eid}/citing-memories: one page
 * (q as the store takes it) with its total. */
int explorer_memories(struct arena *a, store *st, const char *subject, const char *tenant,
                      const struct explorer_memory_query *q, struct explorer_memory_rows *out,
                      struct err *err);
int explorer_episodes(struct arena *a, store *st, const char *subject, const char *tenant,
                      const struct explorer_episode_query *q, struct explorer_episode_rows *out,
                      struct err *err);

struct explorer_related {
    struct memory *target;
    struct memory *superseding; /* target superseded: the earliest newer active memory of
                                     * its kind; NULL otherwise */
    struct memory *superseded;  /* target active: older superseded ones of its kind */
    size_t nsuperseded;
    struct memory *siblings; /* sharing one of its first 5 source episodes */
    size_t nsiblings;
    size_t source_episode_count;
};

/* GET /admin/subjects/{id}/memories/{mid}/related (memory_id a canonical UUID): 404 `Memory
 * not found` when subject has no such memory (in tenant). */
int explorer_related(struct arena *a, store *st, const char *subject, const char *tenant,
                     const char *memory_id, struct explorer_related *out, struct err *err);

struct explorer_timeline {
    const char *status;            /* the SLA's status of the session, else resolved when a
                                     * resolution exists, else open */
    const struct sla_session *sla; /* the session in the subject's SLA, NULL when absent */
    int64_t resolved_at;           /* the session's resolution's, TS_NULL without one */
    const char *resolution_status; /* NULL without a resolution */
    struct episode *episodes;      /* oldest first, at most the limit */
    int64_t *citing;               /* per episode: memories of the subject citing it */
    size_t nepisodes;
    int64_t episode_count; /* every episode of the session */
};

/* GET /admin/subjects/{id}/sessions/{sid}/timeline: the session's first `limit` episodes with
 * their citing counts, its resolution and SLA figures. Never "not found". */
int explorer_session_timeline(struct arena *a, store *st, const char *subject, const char *tenant,
                              const char *session, size_t limit, int64_t now,
                              struct explorer_timeline *out, struct err *err);

#endif
