/* support_rows.h - in-memory episodes and resolutions for the support-tier unit tests
 * (test_health.c, test_sla.c, test_handoff.c), built in one arena with a fixed clock. Header
 * only, static inline, as store_harness.h. */
#ifndef ENGRAM_TESTS_UNIT_SUPPORT_ROWS_H
#define ENGRAM_TESTS_UNIT_SUPPORT_ROWS_H

#include <stdint.h>
#include <string.h>

#include "store/store.h"
#include "util/arena.h"
#include "util/ts.h"

#define MINUTE INT64_C(60000000)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

static struct arena *A; /* every row of a test; reset between tests */

static inline int rows_setup(void **state)
{
    (void)state;
    A = arena_new();
    return 0;
}

static inline int rows_teardown(void **state)
{
    (void)state;
    arena_free(A);
    A = NULL;
    return 0;
}

/* An episode of session sid (NULL = none) from source, with one message {role, content} in
 * its payload, at time at. role and content need no JSON escaping (plain test text). */
static inline struct episode ep_msg(const char *sid, const char *source, const char *role,
                                    const char *content, int64_t at)
{
    struct episode ep;

    memset(&ep, 0, sizeof(ep));
    uuid_v4(ep.id);
    ep.subject_id = "user-42";
    ep.session_id = sid;
    ep.source = source;
    ep.type = "message";
    ep.payload =
        arena_printf(A, "{\"messages\":[{\"role\":\"%s\",\"content\":\"%s\"}]}", role, content);
    ep.metadata = ep.provenance = "{}";
    ep.created_at = at;
    ep.last_compiled_at = TS_NULL;
    return ep;
}

/* A "chat" episode of a user message. */
static inline struct episode ep_chat(const char *sid, const char *content, int64_t at)
{
    return ep_msg(sid, "chat", "user", content, at);
}

/* A resolution of session sid with status, resolved at `resolved` (TS_NULL = not), updated
 * at `updated`. */
static inline struct resolution res_row(const char *sid, const char *status, const char *summary,
                                        int64_t resolved, int64_t updated)
{
    struct resolution r;

    memset(&r, 0, sizeof(r));
    uuid_v4(r.id);
    r.subject_id = "user-42";
    r.session_id = sid;
    r.status = status;
    r.resolution_summary = summary;
    r.resolved_at = resolved;
    r.metadata = "{}";
    r.created_at = r.updated_at = updated;
    return r;
}

#endif
