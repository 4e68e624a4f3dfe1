/* sla.h - a subject's SLA summary (spec/api.md §4.4, behavior.md §14.4): per session, the
 * first-response and resolution times against two thresholds. */
#ifndef ENGRAM_SERVICE_SLA_H
#define ENGRAM_SERVICE_SLA_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define SLA_EPISODES_MAX 500    /* oldest episodes read (the reference's window) */
#define SLA_RESOLUTIONS_MAX 200 /* newest-updated resolutions read */
#define SLA_FIRST_RESPONSE_MINUTES 5.0
#define SLA_RESOLUTION_HOURS 24.0

struct sla_thresholds {
    double first_response_minutes; /* >= 0 */
    double resolution_hours;       /* >= 0 */
};

/* One session's figures; a NAN double or a TS_NULL time is JSON null. */
struct sla_session {
    const char *session_id;
    const char *status; /* the resolution's status, or "unknown" */
    int64_t first_message_at;
    int64_t first_response_at;
    int64_t resolved_at; /* only with a first user message */
    double first_response_seconds;
    double resolution_seconds;
    double open_duration_seconds; /* only for status open */
    int first_response_breached;
    int resolution_breached;
};

struct sla_summary {
    size_t total_sessions;
    size_t resolved_sessions;          /* status resolved */
    size_t open_sessions;              /* status open */
    double avg_first_response_seconds; /* NAN when no session has one */
    double avg_resolution_seconds;     /* NAN when no session has one */
    size_t first_response_breach_count;
    size_t resolution_breach_count;
    struct sla_session *sessions; /* in order of first appearance */
    size_t nsessions;
};

/* What the summary reads. */
struct sla_input {
    const struct resolution *resolutions; /* newest updated_at first */
    size_t nresolutions;
    const struct episode *episodes; /* oldest first */
    size_t nepisodes;
    int64_t now;
};

/* The summary of in under t (behavior.md §14.4); arrays in the arena. Pure. */
void sla_compute(struct arena *a, const struct sla_input *in, const struct sla_thresholds *t,
                 struct sla_summary *out);

/* GET /v1/subjects/{id}/sla: read the subject's rows in tenant and summarise them at now.
 * A reserved subject id is an unknown subject (no sessions). Never "not found"; -1 with err
 * set when the store fails. */
int sla_assess(struct arena *a, store *st, const char *tenant, const char *subject,
               const struct sla_thresholds *t, int64_t now, struct sla_summary *out,
               struct err *err);

#endif
