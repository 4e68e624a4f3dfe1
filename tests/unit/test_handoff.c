/* test_handoff.c - unit tests for service/handoff: the worked examples of spec/behavior.md
 * §19.9 (exact notes and their cl100k token counts), the derivation rules of §14.5 and the
 * trim to the token budget, from in-memory rows (health and SLA computed from the same rows,
 * as handoff_assemble does); no database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "service/handoff.h"
#include "service/tokens.h"

#include "support_rows.h"

#define N INT64_C(1777464000000000) /* 2026-04-29T12:00:00Z */

static int group_setup(void **state)
{
    struct err err = ERR_INIT;

    (void)state;
    if (tokens_setup(&err) < 0) {
        fprintf(stderr, "tokens_setup: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tokens_shutdown();
    return 0;
}

/* Build the brief of rq over these rows, with health and SLA (default thresholds) computed
 * from them at N. */
static struct handoff build(const struct handoff_request *rq, const struct memory *facts,
                            size_t nfacts, const struct episode *eps, size_t neps,
                            const struct resolution *res, size_t nres)
{
    static const struct sla_thresholds defaults = { 5.0, 24.0 };
    struct subject_health_input hin = { res, nres, eps, neps, N };
    struct sla_input sin = { res, nres, eps, neps, N };
    struct subject_health *health = arena_alloc(A, sizeof(*health));
    struct sla_summary *sla = arena_alloc(A, sizeof(*sla));
    struct handoff_input in = { facts, nfacts, eps, neps, res, nres, health, sla };
    struct handoff h;

    subject_health_compute(A, &hin, health);
    sla_compute(A, &sin, &defaults, sla);
    handoff_build(A, rq, &in, &h);
    return h;
}

static struct memory fact(const char *content)
{
    struct memory m;

    memset(&m, 0, sizeof(m));
    uuid_v4(m.id);
    m.subject_id = "user-42";
    m.kind = "profile_fact";
    m.content = content;
    m.status = "active";
    return m;
}

/* §19.9, first example: an empty subject. */
static void test_handoff_empty_subject(void **state)
{
    struct handoff_request rq = { "user-1", "sess-1", "escalation", 4000 };
    struct handoff h = build(&rq, NULL, 0, NULL, 0, NULL, 0);

    (void)state;
    assert_string_equal(h.notes, "# Handoff Brief \xE2\x80\x94 user-1\nReason: escalation\n"
                                 "Session: sess-1\n\n## Customer\nSubject: user-1\n\n"
                                 "## Customer Health\n\xF0\x9F\x9F\xA2 Health: HEALTHY "
                                 "(score: 100)\n");
    assert_int_equal(h.token_estimate, 45);
    assert_string_equal(h.customer_summary, "Subject: user-1");
    assert_string_equal(h.active_issue, "");
    assert_int_equal(h.attempted_steps.n, 0);
    assert_int_equal(h.recent_context.n, 0);
    assert_int_equal(h.nhistory, 0);
    assert_int_equal(h.health->score, 100);
}

static const char example_notes[] =
    "# Handoff Brief \xE2\x80\x94 user-42\n"
    "Reason: escalation\n"
    "Session: sess-1\n"
    "\n"
    "## Customer\n"
    "user-42 \xE2\x80\x94 I am on the Enterprise plan; I work at Globex Corporation\n"
    "\n"
    "## Customer Health\n"
    "\xF0\x9F\x9F\xA2 Health: HEALTHY (score: 95) \xE2\x80\x94 1 open session(s); "
    "1 session(s) resolved in last 7 days\n"
    "\n"
    "## SLA Status\n"
    "- Open issue age: 0.5h\n"
    "- Avg first response: 2.0 min\n"
    "\n"
    "## Active Issue\n"
    "[chat/message] user: My billing is incorrect again (+ 1 more messages in session)\n"
    "\n"
    "## What Has Been Tried\n"
    "- assistant: I checked your account and see a duplicate charge\n"
    "\n"
    "## Open Issues\n"
    "- [sess-1] No summary\n"
    "## Previously Resolved\n"
    "- [sess-0] Issued refund\n"
    "\n"
    "## Key Facts\n"
    "- I am on the Enterprise plan\n"
    "- I work at Globex Corporation\n"
    "\n"
    "## Recent Context (other sessions)\n"
    "- [chat/message] [sess-0] user: My invoice from March looks wrong\n";

/* The rows of §19.9's second example into the arrays. */
static void example_rows(struct memory facts[2], struct episode eps[3], struct resolution res[2])
{
    facts[0] = fact("I am on the Enterprise plan");
    facts[1] = fact("I work at Globex Corporation");
    eps[0] = ep_chat("sess-0", "My invoice from March looks wrong", N - 2 * HOUR);
    eps[1] = ep_chat("sess-1", "My billing is incorrect again", N - 30 * MINUTE);
    eps[2] = ep_msg("sess-1", "assistant", "assistant",
                    "I checked your account and see a duplicate charge", N - 28 * MINUTE);
    res[0] = res_row("sess-1", "open", NULL, TS_NULL, N - 20 * MINUTE);
    res[1] = res_row("sess-0", "resolved", "Issued refund", N - HOUR, N - HOUR);
}

/* §19.9, second example: every field, the notes byte for byte and 219 tokens. */
static void test_handoff_worked_example(void **state)
{
    struct handoff_request rq = { "user-42", "sess-1", "escalation", 4000 };
    struct memory facts[2];
    struct episode eps[3];
    struct resolution res[2];
    struct handoff h;

    (void)state;
    example_rows(facts, eps, res);
    h = build(&rq, facts, 2, eps, 3, res, 2);
    assert_string_equal(h.notes, example_notes);
    assert_int_equal(h.token_estimate, 219);
    assert_int_equal(tokens_count(example_notes, strlen(example_notes)), 219);
    assert_int_equal(h.health->score, 95);
    assert_string_equal(h.health->state, "healthy");
    assert_int_equal(h.attempted_steps.n, 1);
    assert_string_equal(h.attempted_steps.items[0],
                        "assistant: I checked your account and see a duplicate charge");
    assert_int_equal(h.key_facts.n, 2);
    assert_int_equal(h.recent_context.n, 1);
    assert_int_equal(h.episode_ids.n, 2);
    assert_string_equal(h.episode_ids.items[0], eps[1].id);
    assert_string_equal(h.episode_ids.items[1], eps[2].id);
    assert_int_equal(h.context_episode_ids.n, 1);
    assert_string_equal(h.context_episode_ids.items[0], eps[0].id);
    assert_int_equal(h.fact_ids.n, 2);
    assert_int_equal(h.nhistory, 2);
}

/* A budget below the notes' size keeps exactly the first `budget` tokens. */
static void test_handoff_trim_to_budget(void **state)
{
    struct handoff_request rq = { "user-42", "sess-1", "escalation", 50 };
    struct memory facts[2];
    struct episode eps[3];
    struct resolution res[2];
    struct handoff h;
    size_t keep = tokens_prefix_bytes(example_notes, strlen(example_notes), 50);

    (void)state;
    example_rows(facts, eps, res);
    h = build(&rq, facts, 2, eps, 3, res, 2);
    assert_int_equal(h.token_estimate, 50);
    assert_int_equal(strlen(h.notes), keep);
    assert_memory_equal(h.notes, example_notes, keep);
    assert_int_equal(tokens_count(h.notes, strlen(h.notes)), 50);
    rq.budget = 219;
    h = build(&rq, facts, 2, eps, 3, res, 2);
    assert_string_equal(h.notes, example_notes);
    assert_int_equal(h.token_estimate, 219);
}

/* A cut inside a character decodes its bytes to one U+FFFD, as tiktoken's decode does. */
static void test_handoff_trim_splits_character(void **state)
{
    static const char text[] = "\xF0\x9F\x9F\xA2 Health: HEALTHY";
    size_t tokens = 0;
    const char *out = handoff_trim(A, text, 1, &tokens);

    (void)state;
    assert_int_equal(tokens, 1);
    assert_string_equal(out, "\xEF\xBF\xBD");
    out = handoff_trim(A, text, 1000, &tokens);
    assert_string_equal(out, text);
    assert_int_equal(tokens, tokens_count(text, strlen(text)));
}

/* §14.5's lists: active issue among the first 10 current-session episodes, steps capped at
 * 5, other-session context 5 (ids of all 5, lines only for those with text), key facts 8,
 * customer summary 3 facts. */
static void test_handoff_derivation_caps(void **state)
{
    struct handoff_request rq = { "u", "cur", "billing", 4000 };
    struct memory facts[10];
    struct episode eps[20];
    struct handoff h;
    size_t i, k = 0;

    (void)state;
    for (i = 0; i < 10; i++)
        facts[i] = fact(arena_printf(A, "fact %zu", i));
    eps[k++] = ep_msg("cur", "tool", "tool", "ran diagnostics", N - 100 * MINUTE);
    for (i = 0; i < 12; i++)
        eps[k++] = ep_msg("cur", "agent", "agent", arena_printf(A, "step %zu", i),
                          N - (int64_t)(90 - i) * MINUTE);
    eps[k] = ep_chat("other", "", N - 50 * MINUTE);
    eps[k++].payload = "{}";
    for (i = 0; i < 6; i++)
        eps[k++] = ep_chat(i % 2 ? NULL : "old", arena_printf(A, "ctx %zu", i),
                           N - (int64_t)(40 - i) * MINUTE);
    h = build(&rq, facts, 10, eps, k, NULL, 0);
    assert_string_equal(h.active_issue,
                        "[tool/message] tool: ran diagnostics (+ 9 more messages in session)");
    assert_int_equal(h.attempted_steps.n, 5);
    assert_string_equal(h.attempted_steps.items[0], "tool: ran diagnostics");
    assert_string_equal(h.attempted_steps.items[4], "agent: step 3");
    assert_int_equal(h.episode_ids.n, 10);
    assert_int_equal(h.context_episode_ids.n, 5);
    assert_int_equal(h.recent_context.n, 4);
    assert_string_equal(h.recent_context.items[0], "[chat/message] [old] user: ctx 0");
    assert_string_equal(h.recent_context.items[1], "[chat/message] user: ctx 1");
    assert_int_equal(h.key_facts.n, 8);
    assert_int_equal(h.fact_ids.n, 10);
    assert_string_equal(h.customer_summary, "u \xE2\x80\x94 fact 0; fact 1; fact 2");
    assert_non_null(strstr(h.notes, "Reason: billing\n"));
    assert_null(strstr(h.notes, "## Open Issues"));
    assert_null(strstr(h.notes, "- fact 8"));
}

/* Text is cut by code points: 200 for the active issue, 150 for steps, 120 for context. */
static void test_handoff_cuts_code_points(void **state)
{
    struct handoff_request rq = { "u", "cur", "escalation", 16000 };
    char *long_text = arena_alloc(A, 2 * 300 + 1);
    struct episode eps[2];
    struct handoff h;
    size_t i;

    (void)state;
    for (i = 0; i < 300; i++)
        memcpy(long_text + 2 * i, "\xC3\xA9", 2); /* é, two bytes each */
    long_text[600] = '\0';
    eps[0] = ep_msg("cur", "agent", "agent", long_text, N - HOUR);
    eps[1] = ep_chat("prev", long_text, N - 2 * HOUR);
    h = build(&rq, NULL, 0, eps, 2, NULL, 0);
    /* "[agent/message] " + 200 code points of "agent: éé…" */
    assert_int_equal(strlen(h.active_issue), strlen("[agent/message] ") + 7 + 2 * 193);
    assert_int_equal(strlen(h.attempted_steps.items[0]), 7 + 2 * 143);
    assert_int_equal(strlen(h.recent_context.items[0]),
                     strlen("[chat/message] [prev] ") + 6 + 2 * 114);
}

/* Open Issues list every non-resolved resolution; Previously Resolved the first 3 resolved. */
static void test_handoff_resolution_sections(void **state)
{
    struct handoff_request rq = { "u", "s9", "escalation", 4000 };
    struct resolution res[6] = {
        res_row("a", "unresolved", NULL, TS_NULL, N - MINUTE),
        res_row("b", "resolved", NULL, N - 2 * MINUTE, N - 2 * MINUTE),
        res_row("c", "resolved", "Fixed c", N - 3 * MINUTE, N - 3 * MINUTE),
        res_row("d", "open", "Looking into d", TS_NULL, N - 4 * MINUTE),
        res_row("e", "resolved", "Fixed e", N - 5 * MINUTE, N - 5 * MINUTE),
        res_row("f", "resolved", "Fixed f", N - 6 * MINUTE, N - 6 * MINUTE),
    };
    struct handoff h = build(&rq, NULL, 0, NULL, 0, res, 6);
    static const char tail[] = "\n\n## Open Issues\n- [a] No summary\n- [d] Looking into d\n"
                               "## Previously Resolved\n- [b] Resolved\n- [c] Fixed c\n"
                               "- [e] Fixed e\n";

    (void)state;
    assert_true(strlen(h.notes) > strlen(tail));
    assert_string_equal(h.notes + strlen(h.notes) - strlen(tail), tail);
    assert_null(strstr(h.notes, "[f]"));
    assert_int_equal(h.nhistory, 6);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, rows_setup, rows_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_handoff_empty_subject),       T(test_handoff_worked_example),
        T(test_handoff_trim_to_budget),      T(test_handoff_trim_splits_character),
        T(test_handoff_derivation_caps),     T(test_handoff_cuts_code_points),
        T(test_handoff_resolution_sections),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
