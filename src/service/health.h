/* health.h - the readiness checks behind GET /readyz (spec/api.md §3.10, behavior.md §16.1):
 * the database answers and a write commits (a heartbeat upsert, at most once a second), no
 * compile job is stuck, the LLM (not configured). */
#ifndef ENGRAM_SERVICE_HEALTH_H
#define ENGRAM_SERVICE_HEALTH_H

#include "util/arena.h"

#define HEALTH_CHECKS 3
#define HEALTH_MAX_CHECKS (HEALTH_CHECKS + 8)   /* and one per read replica (at most 8) */

struct health_check {
    const char *name;   /* "database", "queue", "llm" */
    const char *status; /* "ok", "fail" or "degraded" */
    const char *detail; /* NULL or a short text (static or in the arena) */
    double latency_ms;  /* rounded to one decimal; 0 when it is not reported */
};

struct health_report {
    const char *status;                        /* "ready", "degraded" or "not_ready" */
    int failed;                                /* the database check failed: the answer is 503 */
    struct health_check checks[HEALTH_MAX_CHECKS]; /* database, queue, llm, then one
                                                    * "replica:<host:port>" per replica */
    size_t nchecks;
};

/* Run the checks on this thread's store connection (a failed ping drops it, so the next
 * request reconnects). Never fails: a failure is a check's status. */
void health_readiness(struct arena *a, struct health_report *r);

#endif
