/* test_context_explain.c - the score terms context ranking keeps for `explain` (spec/api.md
 * §11): off, nothing is kept and nothing changes; on, every item's terms add up to its score
 * (same double), in the formula's order (behavior.md §10.3), and the ranking is the same.
 * In-memory rows, a fixed clock, no database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "service/context.h"
#include "util/ts.h"

#include "arena_fixture.h"

#define NOW INT64_C(1717243200000000)
#define MIN INT64_C(60000000)

static struct memory mem(int n, const char *kind, const char *content, int64_t created,
                         int64_t valid_to)
{
    struct memory m = { .subject_id = "s", .kind = kind, .content = content, .summary = "",
                        .confidence = 1.0, .valid_from = created, .valid_to = valid_to,
                        .source_episode_ids = "[]", .metadata = "{}", .status = "active",
                        .sensitivity_labels = "[]", .created_at = created,
                        .updated_at = created };

    snprintf(m.id, sizeof(m.id), "00000000-0000-4000-8000-%012d", n);
    return m;
}

static struct episode ep(int n, const char *source, const char *text, const char *session,
                         int64_t created)
{
    struct episode e = { .subject_id = "s", .source = source, .type = "message",
                         .metadata = "{}", .provenance = "{}", .session_id = session,
                         .created_at = created, .last_compiled_at = TS_NULL,
                         .occurred_at = TS_NULL };

    snprintf(e.id, sizeof(e.id), "00000000-0000-4000-9000-%012d", n);
    e.payload = arena_printf(arena, "{\"text\":\"%s\"}", text);
    return e;
}

static void input(struct context_input *in, struct memory *mems, size_t nm,
                  struct episode *eps, size_t ne, struct resolution *res, size_t nr)
{
    memset(in, 0, sizeof(*in));
    in->memories = mems;
    in->nmemories = nm;
    in->episodes = eps;
    in->nepisodes = ne;
    in->resolutions = res;
    in->nresolutions = nr;
    in->now = NOW;
}

static double sum(const struct context_terms *t)
{
    double s = 0.0;
    size_t i;

    for (i = 0; i < t->n; i++)
        s += t->value[i];
    return s;
}

static double term(const struct context_terms *t, const char *name)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        if (strcmp(t->name[i], name) == 0)
            return t->value[i];
    }
    fail_msg("no term %s", name);
    return 0.0;
}

static void test_explain_terms(void **state)
{
    struct memory mems[] = {
        mem(1, "profile_fact", "I like green tea", NOW - 10 * MIN, TS_NULL),
        mem(2, "procedure", "Reset the router first", NOW - 5 * MIN, TS_NULL),
        mem(3, "episode_summary", "user: tea order late", NOW - 1 * MIN, NOW - MIN),
    };
    struct episode eps[] = {
        ep(1, "assistant", "Your tea order is delayed, outage at the depot", "s1", NOW - 9 * MIN),
        ep(2, "user", "ok", "s2", NOW - 2 * MIN),
    };
    struct resolution res[] = { { .session_id = "s2", .status = "open", .updated_at = NOW } };
    struct context_request rq = { .subject_id = "s", .task = "where is my tea order",
                                  .budget = 4000, .session_id = "s1" };
    struct context_input in;
    struct context_item *plain, *told;
    size_t n1, n2, i;

    (void)state;
    input(&in, mems, 3, eps, 2, res, 1);
    context_rank(arena, &rq, &in, &plain, &n1);
    rq.explain = 1;
    context_rank(arena, &rq, &in, &told, &n2);
    assert_int_equal(n1, 5);
    assert_int_equal(n2, 5);
    for (i = 0; i < n1; i++) {
        assert_null(plain[i].terms);
        assert_non_null(told[i].terms);
        assert_ptr_equal(plain[i].memory, told[i].memory);
        assert_ptr_equal(plain[i].episode, told[i].episode);
        assert_true(plain[i].score == told[i].score);
        assert_true(sum(told[i].terms) == told[i].score);
        if (i)
            assert_true(told[i - 1].score >= told[i].score);
    }
    for (i = 0; i < n2; i++) {
        const struct context_terms *t = told[i].terms;

        if (told[i].memory) {
            assert_int_equal(t->n, 5);
            assert_string_equal(t->name[0], "kind");
            assert_string_equal(t->name[4], "breadcrumb");
            if (told[i].memory == &mems[2])   /* valid_to in the past: −4 */
                assert_true(term(t, "temporal") == -4.0);
            if (told[i].memory == &mems[0])
                assert_true(term(t, "kind") == 10.0);
        } else if (told[i].episode == &eps[0]) {   /* request session, acting, urgent */
            assert_true(term(t, "base") == 3.0);
            assert_true(term(t, "session") == 6.0);
            assert_true(term(t, "acting") == 2.0);
            assert_true(term(t, "urgency") == 2.0);
        } else {   /* open session, short text */
            assert_true(term(t, "open_session") == 4.0);
            assert_true(term(t, "short_text") == -2.0);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_explain_terms, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
