/* test_subject_health.c - unit tests for service/subject_health: the worked examples of
 * spec/behavior.md §19.7 (H1-H9), each signal's cap, the resolution-rate rounding and the
 * alert transitions of §14.3, built from in-memory rows with a fixed clock N; no database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "service/subject_health.h"

#include "support_rows.h"

#define N INT64_C(1777464000000000) /* 2026-04-29T12:00:00Z */

static struct subject_health run(const struct resolution *res, size_t nres,
                                 const struct episode *eps, size_t neps)
{
    struct subject_health_input in = { res, nres, eps, neps, N };
    struct subject_health r;

    subject_health_compute(A, &in, &r);
    return r;
}

static void assert_factor(const struct subject_health *r, size_t i, const char *signal,
                          int64_t impact, const char *detail)
{
    assert_true(i < r->nfactors);
    assert_string_equal(r->factors[i].signal, signal);
    assert_int_equal(r->factors[i].impact, impact);
    if (detail)
        assert_string_equal(r->factors[i].detail, detail);
}

/* H1: nothing at all: 100, healthy, no factors. */
static void test_subject_health_h1_empty(void **state)
{
    struct subject_health r = run(NULL, 0, NULL, 0);

    (void)state;
    assert_int_equal(r.score, 100);
    assert_string_equal(r.state, "healthy");
    assert_int_equal(r.nfactors, 0);
}

/* H2: two open sessions, one message with "broken". */
static void test_subject_health_h2_open_and_escalation(void **state)
{
    struct resolution res[2] = {
        res_row("sess-1", "open", NULL, TS_NULL, N - MINUTE),
        res_row("sess-2", "open", NULL, TS_NULL, N - 2 * MINUTE),
    };
    struct episode eps[2] = {
        ep_chat("sess-1", "need help", N - HOUR),
        ep_chat("sess-2", "still broken", N - HOUR / 2),
    };
    struct subject_health r = run(res, 2, eps, 2);

    (void)state;
    assert_int_equal(r.score, 60);
    assert_string_equal(r.state, "watch");
    assert_int_equal(r.nfactors, 2);
    assert_factor(&r, 0, "unresolved_issues", -30, "2 open session(s)");
    assert_factor(&r, 1, "escalations", -10, "1 episode(s) with urgency markers");
}

/* H3: an open issue that resembles a resolved one. */
static void test_subject_health_h3_repeated_issue(void **state)
{
    struct resolution res[2] = {
        res_row("sess-new", "open", NULL, TS_NULL, N),
        res_row("sess-old", "resolved", NULL, N - 30 * DAY, N - 30 * DAY),
    };
    struct episode eps[2] = {
        ep_chat("sess-old", "payment gateway timeout error", N - 30 * DAY),
        ep_chat("sess-new", "payment gateway timeout happening again", N),
    };
    struct subject_health r = run(res, 2, eps, 2);

    (void)state;
    assert_int_equal(r.score, 65);
    assert_string_equal(r.state, "watch");
    assert_int_equal(r.nfactors, 2);
    assert_factor(&r, 0, "unresolved_issues", -15, "1 open session(s)");
    assert_factor(&r, 1, "repeated_issues", -20, "Open issues resemble previously resolved ones");
}

/* H4: two recent resolutions: +10 +10, clamped to 100. */
static void test_subject_health_h4_recent_and_rate(void **state)
{
    struct resolution res[2] = {
        res_row("sess-1", "resolved", NULL, N - 2 * DAY, N - 2 * DAY),
        res_row("sess-2", "resolved", NULL, N - 5 * DAY, N - 5 * DAY),
    };
    struct episode eps[2] = {
        ep_chat("sess-2", "billing question", N - 6 * DAY),
        ep_chat("sess-1", "login issue", N - 3 * DAY),
    };
    struct subject_health r = run(res, 2, eps, 2);

    (void)state;
    assert_int_equal(r.score, 100);
    assert_string_equal(r.state, "healthy");
    assert_int_equal(r.nfactors, 2);
    assert_factor(&r, 0, "recent_resolution", 10, "2 session(s) resolved in last 7 days");
    assert_factor(&r, 1, "high_resolution_rate", 10, "100% sessions resolved (2/2)");
}

/* H5: two urgent episodes (no sessions). */
static void test_subject_health_h5_escalations(void **state)
{
    struct episode eps[2] = {
        ep_chat(NULL, "this is urgent and critical", N - HOUR),
        ep_chat(NULL, "we have an outage blocker", N),
    };
    struct subject_health r = run(NULL, 0, eps, 2);

    (void)state;
    assert_int_equal(r.score, 80);
    assert_string_equal(r.state, "healthy");
    assert_int_equal(r.nfactors, 1);
    assert_factor(&r, 0, "escalations", -20, "2 episode(s) with urgency markers");
}

/* H6: an open session idle for 10 days. */
static void test_subject_health_h6_idle(void **state)
{
    struct resolution res[1] = { res_row("sess-1", "open", NULL, TS_NULL, N - 10 * DAY) };
    struct episode eps[1] = { ep_chat("sess-1", "need help", N - 10 * DAY) };
    struct subject_health r = run(res, 1, eps, 1);

    (void)state;
    assert_int_equal(r.score, 70);
    assert_string_equal(r.state, "healthy");
    assert_int_equal(r.nfactors, 2);
    assert_factor(&r, 0, "unresolved_issues", -15, "1 open session(s)");
    assert_factor(&r, 1, "idle_open_issue", -15, "Session sess-1 idle for 10 days");
}

/* H6 at the edge: 6 days 23 hours is not a week. */
static void test_subject_health_idle_counts_whole_days(void **state)
{
    struct resolution res[1] = { res_row("sess-1", "open", NULL, TS_NULL, N) };
    struct episode eps[1] = { ep_chat("sess-1", "need help", N - 7 * DAY + HOUR) };
    struct subject_health r = run(res, 1, eps, 1);

    (void)state;
    assert_int_equal(r.score, 85);
    assert_int_equal(r.nfactors, 1);
}

/* H7: three old resolutions: no recent one, the rate only. */
static void test_subject_health_h7_rate_only(void **state)
{
    struct resolution res[3] = {
        res_row("s3", "resolved", NULL, N - 10 * DAY, N - 10 * DAY),
        res_row("s2", "resolved", NULL, N - 15 * DAY, N - 15 * DAY),
        res_row("s1", "resolved", NULL, N - 20 * DAY, N - 20 * DAY),
    };
    struct episode eps[3] = {
        ep_chat("s1", "q1", N - 20 * DAY),
        ep_chat("s2", "q2", N - 15 * DAY),
        ep_chat("s3", "q3", N - 10 * DAY),
    };
    struct subject_health r = run(res, 3, eps, 3);

    (void)state;
    assert_int_equal(r.score, 100);
    assert_int_equal(r.nfactors, 1);
    assert_factor(&r, 0, "high_resolution_rate", 10, "100% sessions resolved (3/3)");
}

/* H8: a resolution 30 hours after the first user message breaches the 24 h SLA. */
static void test_subject_health_h8_sla_breach(void **state)
{
    struct resolution res[1] = { res_row("s1", "resolved", NULL, N, N) };
    struct episode eps[1] = { ep_msg("s1", "user", "user", "help", N - 30 * HOUR) };
    struct subject_health r = run(res, 1, eps, 1);

    (void)state;
    assert_int_equal(r.score, 100);
    assert_int_equal(r.nfactors, 2);
    assert_factor(&r, 0, "recent_resolution", 10, "1 session(s) resolved in last 7 days");
    assert_factor(&r, 1, "sla_resolution_breaches", -10,
                  "1 session(s) exceeded 24h resolution SLA");
}

/* H9: a 15-minute first response. */
static void test_subject_health_h9_slow_first_response(void **state)
{
    struct resolution res[1] = { res_row("s1", "resolved", NULL, N, N) };
    struct episode eps[2] = {
        ep_msg("s1", "user", "user", "help", N - 60 * MINUTE),
        ep_msg("s1", "assistant", "assistant", "hi", N - 45 * MINUTE),
    };
    struct subject_health r = run(res, 1, eps, 2);

    (void)state;
    assert_int_equal(r.score, 100);
    assert_int_equal(r.nfactors, 2);
    assert_factor(&r, 0, "recent_resolution", 10, NULL);
    assert_factor(&r, 1, "slow_first_response", -5,
                  "Avg first response 15.0 min (threshold: 10 min)");
}

/* Caps: open sessions at -45, escalations at -20, SLA breaches at -20; clamped at 0. */
static void test_subject_health_caps(void **state)
{
    struct resolution res[8];
    struct episode eps[8];
    char sid[8][8];
    struct subject_health r;
    size_t i;

    (void)state;
    for (i = 0; i < 4; i++) {
        snprintf(sid[i], sizeof(sid[i]), "o%zu", i);
        res[i] = res_row(sid[i], "open", NULL, TS_NULL, N - (int64_t)i * MINUTE);
        eps[i] = ep_chat(sid[i], "urgent: production down", N - (int64_t)i * MINUTE);
    }
    for (i = 4; i < 8; i++) {
        snprintf(sid[i], sizeof(sid[i]), "r%zu", i);
        res[i] = res_row(sid[i], "resolved", NULL, N - 20 * DAY, N - 20 * DAY);
        eps[i] = ep_chat(sid[i], "a question about invoices", N - 30 * DAY);
    }
    r = run(res, 8, eps, 8);
    assert_factor(&r, 0, "unresolved_issues", -45, "4 open session(s)");
    assert_factor(&r, 1, "escalations", -20, "4 episode(s) with urgency markers");
    assert_factor(&r, 2, "sla_resolution_breaches", -20,
                  "4 session(s) exceeded 24h resolution SLA");
    assert_int_equal(r.nfactors, 3);
    assert_int_equal(r.score, 15);
    assert_string_equal(r.state, "at_risk");
}

/* The resolution rate is rounded half to even: 33/40 = 82.5% prints 82%. */
static void test_subject_health_rate_rounds_half_even(void **state)
{
    struct resolution res[40];
    struct subject_health r;
    size_t i;

    (void)state;
    for (i = 0; i < 40; i++)
        res[i] = res_row(arena_printf(A, "s%zu", i), i < 33 ? "resolved" : "unresolved", NULL,
                         i < 33 ? N - 30 * DAY : TS_NULL, N - 30 * DAY);
    r = run(res, 40, NULL, 0);
    assert_int_equal(r.nfactors, 1);
    assert_factor(&r, 0, "high_resolution_rate", 10, "82% sessions resolved (33/40)");
}

/* As the reference computes it (f"{rate:.0%}": rate * 100 in double, then rounded): 167/200
 * gives 84%, 7/8 gives 88%. */
static void test_subject_health_rate_as_python_formats_it(void **state)
{
    struct resolution res[200];
    struct subject_health r;
    size_t i;

    (void)state;
    for (i = 0; i < 200; i++)
        res[i] = res_row(arena_printf(A, "s%zu", i), i < 167 ? "resolved" : "open", NULL,
                         i < 167 ? N - 30 * DAY : TS_NULL, N - 30 * DAY);
    r = run(res, 200, NULL, 0);
    assert_factor(&r, 1, "high_resolution_rate", 10, "84% sessions resolved (167/200)");
    for (i = 0; i < 8; i++)
        res[i] = res_row(arena_printf(A, "s%zu", i), i < 7 ? "resolved" : "unresolved", NULL,
                         i < 7 ? N - 30 * DAY : TS_NULL, N - 30 * DAY);
    r = run(res, 8, NULL, 0);
    assert_factor(&r, 0, "high_resolution_rate", 10, "88% sessions resolved (7/8)");
}

/* unresolved is neither open nor resolved; "down" matches inside "download". */
static void test_subject_health_quirks(void **state)
{
    struct resolution res[1] = { res_row("s1", "unresolved", NULL, TS_NULL, N) };
    struct episode eps[1] = { ep_chat("s1", "the download page", N) };
    struct subject_health r = run(res, 1, eps, 1);

    (void)state;
    assert_int_equal(r.nfactors, 1);
    assert_factor(&r, 0, "escalations", -10, NULL);
    assert_int_equal(r.score, 90);
}

/* Health reads payload.messages[].content only: a text payload is no message. */
static void test_subject_health_reads_messages_only(void **state)
{
    struct episode ep = ep_chat(NULL, "x", N);
    struct subject_health r;

    (void)state;
    ep.payload = "{\"text\":\"urgent outage\"}";
    r = run(NULL, 0, &ep, 1);
    assert_int_equal(r.nfactors, 0);
    ep.payload = "{\"messages\":[1,\"urgent\",{\"content\":5},{\"content\":\"p0 now\"}]}";
    r = run(NULL, 0, &ep, 1);
    assert_int_equal(r.nfactors, 1);
    ep.payload = "{\"messages\":\"urgent\"}";
    r = run(NULL, 0, &ep, 1);
    assert_int_equal(r.nfactors, 0);
}

/* §14.3 and §19.7's alert rules. */
static void test_subject_health_alert_transitions(void **state)
{
    (void)state;
    assert_string_equal(subject_health_alert("healthy", "watch"), "subject.health_degraded");
    assert_string_equal(subject_health_alert("watch", "at_risk"), "subject.health_degraded");
    assert_string_equal(subject_health_alert("at_risk", "watch"), "subject.health_improved");
    assert_string_equal(subject_health_alert("watch", "healthy"), "subject.health_improved");
    assert_null(subject_health_alert("watch", "watch"));
    assert_string_equal(subject_health_alert(NULL, "at_risk"), "subject.health_degraded");
    assert_string_equal(subject_health_alert(NULL, "watch"), "subject.health_degraded");
    assert_null(subject_health_alert(NULL, "healthy"));
    assert_string_equal(subject_health_state(70), "healthy");
    assert_string_equal(subject_health_state(69), "watch");
    assert_string_equal(subject_health_state(40), "watch");
    assert_string_equal(subject_health_state(39), "at_risk");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, rows_setup, rows_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_subject_health_h1_empty),
        T(test_subject_health_h2_open_and_escalation),
        T(test_subject_health_h3_repeated_issue),
        T(test_subject_health_h4_recent_and_rate),
        T(test_subject_health_h5_escalations),
        T(test_subject_health_h6_idle),
        T(test_subject_health_idle_counts_whole_days),
        T(test_subject_health_h7_rate_only),
        T(test_subject_health_h8_sla_breach),
        T(test_subject_health_h9_slow_first_response),
        T(test_subject_health_caps),
        T(test_subject_health_rate_rounds_half_even),
        T(test_subject_health_rate_as_python_formats_it),
        T(test_subject_health_quirks),
        T(test_subject_health_reads_messages_only),
        T(test_subject_health_alert_transitions),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
