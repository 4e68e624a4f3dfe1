/* handoff.h - the handoff brief for a session (spec/api.md §4.2, behavior.md §14.5): the
 * customer, the active issue, what was tried, resolution history, health and SLA, rendered as
 * markdown notes trimmed to a token budget. */
#ifndef ENGRAM_SERVICE_HANDOFF_H
#define ENGRAM_SERVICE_HANDOFF_H

#include <stddef.h>
#include <stdint.h>

#include "service/subject_health.h"
#include "service/sla.h"
#include "store/store.h"

#define HANDOFF_FACTS_MAX 20        /* newest active profile facts read */
#define HANDOFF_EPISODES_MAX 30     /* oldest episodes read (the reference's window) */
#define HANDOFF_RESOLUTIONS_MAX 20  /* most recently updated resolutions read */
#define HANDOFF_DEFAULT_TOKENS 4000 /* budget without max_tokens (fixed, not configurable) */
#define HANDOFF_MAX_TOKENS 16000
#define HANDOFF_REASON_MAX 256
#define HANDOFF_STEPS_MAX 5
#define HANDOFF_KEY_FACTS_MAX 8
#define HANDOFF_CONTEXT_MAX 5 /* other-session episodes looked at */
#define HANDOFF_ISSUE_SCAN 10 /* current-session episodes looked at */

struct handoff_request {
    const char *subject_id;
    const char *session_id;
    const char *reason;
    int64_t budget; /* max_tokens, or HANDOFF_DEFAULT_TOKENS */
};

/* What the brief is built from (behavior.md §14.5). */
struct handoff_input {
    const struct memory *facts; /* active profile facts, newest first */
    size_t nfacts;
    const struct episode *episodes; /* oldest first */
    size_t nepisodes;
    const struct resolution *resolutions; /* most recently updated first */
    size_t nresolutions;
    const struct subject_health *health;
    const struct sla_summary *sla; /* default thresholds */
};

/* A list of strings in the arena. */
struct handoff_strs {
    const char **items;
    size_t n;
};

/* The brief; everything in the arena. */
struct handoff {
    const char *customer_summary;
    const char *active_issue;            /* "" when the session has no text */
    struct handoff_strs attempted_steps; /* at most HANDOFF_STEPS_MAX */
    struct handoff_strs key_facts;       /* at most HANDOFF_KEY_FACTS_MAX */
    struct handoff_strs recent_context;  /* at most HANDOFF_CONTEXT_MAX */
    const struct resolution *history;    /* every resolution read (resolution_history) */
    size_t nhistory;
    const struct subject_health *health; /* health_factors: its first SUBJECT_HEALTH_TOP_FACTORS */
    const char *notes;                   /* markdown, trimmed to the budget */
    size_t token_estimate;               /* min(tokens(notes before trimming), budget) */
    struct handoff_strs fact_ids;        /* every fact read */
    struct handoff_strs episode_ids;     /* the first HANDOFF_ISSUE_SCAN current-session ones */
    struct handoff_strs context_episode_ids; /* the first HANDOFF_CONTEXT_MAX other ones */
};

/* The brief for rq from in (behavior.md §14.5). Pure. */
void handoff_build(struct arena *a, const struct handoff_request *rq,
                   const struct handoff_input *in, struct handoff *out);

/* The markdown notes (untrimmed) of a built brief. Pure; exposed for tests. */
const char *handoff_notes(struct arena *a, const struct handoff_request *rq,
                          const struct handoff *h, const struct sla_summary *sla);

/* notes cut to the first budget tokens, as tiktoken decodes them (a character cut in two
 * becomes U+FFFD); *tokens = min(tokens(notes), budget). Pure. */
const char *handoff_trim(struct arena *a, const char *notes, int64_t budget, size_t *tokens);

/* POST /v1/handoff: read the subject's rows in tenant, assess its health (cache update and
 * alert, as GET …/health does) and SLA at now, and build the brief. A reserved subject id is
 * refused (400, no write into a snapshot). Never "not found"; -1 with err set otherwise. */
int handoff_assemble(struct arena *a, store *st, const char *tenant,
                     const struct handoff_request *rq, int64_t now, struct handoff *out,
                     struct err *err);

#endif
