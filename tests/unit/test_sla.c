/* test_sla.c - unit tests for service/sla: the worked examples of spec/behavior.md §19.8
 * (S1-S8) and the session rules of §14.4, from in-memory rows with T = 2024-06-01T12:00:00Z;
 * no database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "service/sla.h"

#include "support_rows.h"

#define T INT64_C(1717243200000000) /* 2024-06-01T12:00:00Z */
#define NOW (T + 48 * HOUR)

static const struct sla_thresholds defaults = { 5.0, 24.0 };

static struct sla_summary run_with(const struct resolution *res, size_t nres,
                                   const struct episode *eps, size_t neps,
                                   const struct sla_thresholds *t)
{
    struct sla_input in = { res, nres, eps, neps, NOW };
    struct sla_summary s;

    sla_compute(A, &in, t, &s);
    return s;
}

static struct sla_summary run(const struct resolution *res, size_t nres, const struct episode *eps,
                              size_t neps)
{
    return run_with(res, nres, eps, neps, &defaults);
}

static struct episode user_at(const char *sid, int64_t at)
{
    return ep_msg(sid, "user", "user", "hello", at);
}

static struct episode agent_at(const char *sid, const char *source, int64_t at)
{
    return ep_msg(sid, source, "assistant", "on it", at);
}

/* S1: a 2-minute first response. */
static void test_sla_s1_first_response(void **state)
{
    struct episode eps[2] = { user_at("s1", T), agent_at("s1", "assistant", T + 2 * MINUTE) };
    struct resolution res[1] = { res_row("s1", "resolved", NULL, T + 2 * MINUTE, T) };
    struct sla_summary s = run(res, 1, eps, 2);

    (void)state;
    assert_int_equal(s.total_sessions, 1);
    assert_string_equal(s.sessions[0].session_id, "s1");
    assert_string_equal(s.sessions[0].status, "resolved");
    assert_int_equal(s.sessions[0].first_message_at, T);
    assert_int_equal(s.sessions[0].first_response_at, T + 2 * MINUTE);
    assert_true(s.sessions[0].first_response_seconds == 120.0);
    assert_false(s.sessions[0].first_response_breached);
    assert_int_equal(s.first_response_breach_count, 0);
    assert_true(s.avg_first_response_seconds == 120.0);
}

/* S2: a 10-minute answer breaches 5 minutes; no resolution is "unknown". */
static void test_sla_s2_breach_unknown(void **state)
{
    struct episode eps[2] = { user_at("s1", T), agent_at("s1", "agent", T + 10 * MINUTE) };
    struct sla_summary s = run(NULL, 0, eps, 2);

    (void)state;
    assert_true(s.sessions[0].first_response_breached);
    assert_int_equal(s.first_response_breach_count, 1);
    assert_string_equal(s.sessions[0].status, "unknown");
    assert_int_equal(s.resolved_sessions, 0);
    assert_int_equal(s.open_sessions, 0);
    assert_int_equal(s.sessions[0].resolved_at, TS_NULL);
    assert_true(isnan(s.sessions[0].resolution_seconds));
    assert_true(isnan(s.sessions[0].open_duration_seconds));
}

/* S3 and S4: resolved after 2 h (within 24 h) and after 30 h (breached). */
static void test_sla_s3_s4_resolution(void **state)
{
    struct episode eps[2] = { user_at("s1", T), agent_at("s1", "assistant", T + MINUTE) };
    struct resolution fast[1] = { res_row("s1", "resolved", NULL, T + 2 * HOUR, T) };
    struct resolution slow[1] = { res_row("s1", "resolved", NULL, T + 30 * HOUR, T) };
    struct sla_summary s = run(fast, 1, eps, 2);

    (void)state;
    assert_true(s.sessions[0].resolution_seconds == 7200.0);
    assert_false(s.sessions[0].resolution_breached);
    assert_int_equal(s.sessions[0].resolved_at, T + 2 * HOUR);
    assert_int_equal(s.resolved_sessions, 1);
    assert_int_equal(s.resolution_breach_count, 0);
    assert_true(s.avg_resolution_seconds == 7200.0);
    s = run(slow, 1, eps, 2);
    assert_true(s.sessions[0].resolution_breached);
    assert_int_equal(s.resolution_breach_count, 1);
}

/* S5: an open session has an open duration and no resolution time. */
static void test_sla_s5_open(void **state)
{
    struct episode eps[2] = { user_at("s1", T), agent_at("s1", "assistant", T + MINUTE) };
    struct resolution res[1] = { res_row("s1", "open", NULL, TS_NULL, T) };
    struct sla_summary s = run(res, 1, eps, 2);

    (void)state;
    assert_true(isnan(s.sessions[0].resolution_seconds));
    assert_true(s.sessions[0].open_duration_seconds == 48 * 3600.0);
    assert_int_equal(s.open_sessions, 1);
    assert_true(isnan(s.avg_resolution_seconds));
}

/* S6: two sessions; averages over both. */
static void test_sla_s6_averages(void **state)
{
    struct episode eps[4] = {
        user_at("s1", T),
        user_at("s2", T),
        agent_at("s1", "assistant", T + 2 * MINUTE),
        agent_at("s2", "assistant", T + 4 * MINUTE),
    };
    struct resolution res[2] = {
        res_row("s2", "resolved", NULL, T + 3 * HOUR, T + 3 * HOUR),
        res_row("s1", "resolved", NULL, T + HOUR, T + HOUR),
    };
    struct sla_summary s = run(res, 2, eps, 4);

    (void)state;
    assert_int_equal(s.total_sessions, 2);
    assert_string_equal(s.sessions[0].session_id, "s1");
    assert_string_equal(s.sessions[1].session_id, "s2");
    assert_true(s.avg_first_response_seconds == 180.0);
    assert_true(s.avg_resolution_seconds == 7200.0);
    assert_int_equal(s.resolved_sessions, 2);
}

/* S7: nothing: no sessions, null averages. */
static void test_sla_s7_empty(void **state)
{
    struct sla_summary s = run(NULL, 0, NULL, 0);

    (void)state;
    assert_int_equal(s.total_sessions, 0);
    assert_int_equal(s.nsessions, 0);
    assert_true(isnan(s.avg_first_response_seconds));
    assert_true(isnan(s.avg_resolution_seconds));
}

/* S8: S1 with a 1-minute threshold is breached; a 0 threshold breaches any wait. */
static void test_sla_s8_threshold(void **state)
{
    static const struct sla_thresholds one = { 1.0, 24.0 };
    struct episode eps[2] = { user_at("s1", T), agent_at("s1", "assistant", T + 2 * MINUTE) };
    struct sla_summary s = run_with(NULL, 0, eps, 2, &one);

    (void)state;
    assert_true(s.sessions[0].first_response_breached);
    assert_int_equal(s.first_response_breach_count, 1);
}

/* The rest of §14.4: episodes without a session are ignored; sessions in order of first
 * appearance; the wider source sets; a reply before the first user message does not count;
 * without a user message, first_message_at is the session's first episode and any agent
 * episode is the first response, but there is no resolution time. */
static void test_sla_session_rules(void **state)
{
    struct episode eps[6] = {
        agent_at("s2", "staff", T), /* s2: no user message */
        ep_msg(NULL, "user", "user", "no session", T),
        agent_at("s1", "support", T + MINUTE), /* before s1's first user message */
        ep_msg("s1", "customer", "user", "hello", T + 2 * MINUTE),
        ep_msg("s1", "manual_input", "user", "again", T + 3 * MINUTE),
        agent_at("s1", "tool", T + 5 * MINUTE),
    };
    struct resolution res[1] = { res_row("s2", "resolved", NULL, T + HOUR, T + HOUR) };
    struct sla_summary s = run(res, 1, eps, 6);

    (void)state;
    assert_int_equal(s.total_sessions, 2);
    assert_string_equal(s.sessions[0].session_id, "s2");
    assert_int_equal(s.sessions[0].first_message_at, T);
    assert_int_equal(s.sessions[0].first_response_at, T);
    assert_true(isnan(s.sessions[0].first_response_seconds));
    assert_true(isnan(s.sessions[0].resolution_seconds));
    assert_int_equal(s.sessions[0].resolved_at, TS_NULL);
    assert_string_equal(s.sessions[1].session_id, "s1");
    assert_int_equal(s.sessions[1].first_message_at, T + 2 * MINUTE);
    assert_int_equal(s.sessions[1].first_response_at, T + 5 * MINUTE);
    assert_true(s.sessions[1].first_response_seconds == 180.0);
    assert_int_equal(s.resolved_sessions, 1);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, rows_setup, rows_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_sla_s1_first_response), TEST(test_sla_s2_breach_unknown),
        TEST(test_sla_s3_s4_resolution),  TEST(test_sla_s5_open),
        TEST(test_sla_s6_averages),       TEST(test_sla_s7_empty),
        TEST(test_sla_s8_threshold),      TEST(test_sla_session_rules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
