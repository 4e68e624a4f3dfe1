/* subject_health.h - a subject's health score (spec/api.md §4.3, behavior.md §14.2) and its
 * alerts (§14.3): the pure score over resolutions and episodes, and the assessment that reads the
 * store, rewrites the (tenant, subject) health cache and records a subject.health_* webhook
 * event in the same transaction when the state changed. */
#ifndef ENGRAM_SERVICE_SUBJECT_HEALTH_H
#define ENGRAM_SERVICE_SUBJECT_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define SUBJECT_HEALTH_RESOLUTIONS_MAX 200 /* newest-updated resolutions read */
#define SUBJECT_HEALTH_EPISODES_MAX 200    /* oldest episodes read (the reference's window) */
#define SUBJECT_HEALTH_FACTORS_MAX 8       /* one per signal */
#define SUBJECT_HEALTH_TOP_FACTORS 3       /* factors in an alert and in a handoff */

struct health_factor {
    const char *signal; /* unresolved_issues, repeated_issues, ... */
    int64_t impact;     /* signed score change */
    const char *detail; /* the spec's wording, in the arena */
};

struct subject_health {
    int64_t score;     /* clamped to 0..100 */
    const char *state; /* healthy (>= 70) | watch (>= 40) | at_risk */
    struct health_factor factors[SUBJECT_HEALTH_FACTORS_MAX]; /* in signal order */
    size_t nfactors;
};

/* What the score reads. */
struct subject_health_input {
    const struct resolution *resolutions; /* newest updated_at first */
    size_t nresolutions;
    const struct episode *episodes; /* oldest first */
    size_t nepisodes;
    int64_t now;
};

/* The score, state and factors of in (behavior.md §14.2); strings in the arena. Pure. */
void subject_health_compute(struct arena *a, const struct subject_health_input *in,
                            struct subject_health *out);

/* "healthy", "watch" or "at_risk" for a clamped score. */
const char *subject_health_state(int64_t score);

/* The alert a new state fires (behavior.md §14.3): "subject.health_degraded" when current is
 * worse than previous, "subject.health_improved" when better and a cache row existed, else
 * NULL. previous NULL = no cache row (counts as healthy). */
const char *subject_health_alert(const char *previous, const char *current);

/* GET /v1/subjects/{id}/health: read the subject's rows in tenant, compute the health at now,
 * then in one transaction rewrite its cache row and record the alert event, if any. A reserved
 * subject id is an unknown subject (100, healthy) and touches nothing. Never "not found";
 * -1 with err set when the store fails. */
/* Rewrite the cache row of (tenant, subject) with h and record the alert event h's state
 * fires, in one transaction (the second half of subject_health_assess, for a caller that
 * computed h from rows it read itself). -1 with err set when the store fails. */
int subject_health_record(struct arena *a, store *st, const char *tenant, const char *subject,
                          const struct subject_health *h, int64_t now, struct err *err);

int subject_health_assess(struct arena *a, store *st, const char *tenant, const char *subject,
                          int64_t now, struct subject_health *out, struct err *err);

#endif
