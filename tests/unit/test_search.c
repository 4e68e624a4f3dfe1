/* test_search.c - unit tests for service/search's pure parts: the literal case-insensitive
 * matcher of the text path and the cosine ordering of the semantic path (spec/behavior.md §9,
 * §7.5). No database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "service/search.h"

static struct memory mem(int n, const char *content, const float *vec, size_t dim)
{
    struct memory m;

    memset(&m, 0, sizeof(m));
    snprintf(m.id, sizeof(m.id), "00000000-0000-4000-8000-%012d", n);
    m.kind = "profile_fact";
    m.content = content;
    m.status = "active";
    m.embedding = vec;
    m.embedding_dim = vec ? dim : 0;
    return m;
}

static void test_search_contains_is_case_insensitive(void **state)
{
    (void)state;
    assert_true(search_contains_ci("I work at Wayne Enterprises", "Wayne"));
    assert_true(search_contains_ci("I work at Wayne Enterprises", "wayne"));
    assert_true(search_contains_ci("I work at Wayne Enterprises", "WAYNE ENTERPRISES"));
    assert_true(search_contains_ci("I work at Wayne Enterprises", "k at w"));
    assert_true(search_contains_ci("abc", ""));
    assert_true(search_contains_ci("", ""));
    assert_false(search_contains_ci("I work at Wayne Enterprises", "xyznonexistent"));
    assert_false(search_contains_ci("", "a"));
    assert_false(search_contains_ci("Way", "Wayne"));
    /* a partial match followed by the real one */
    assert_true(search_contains_ci("aaab", "aab"));
}

static void test_search_contains_is_literal(void **state)
{
    (void)state;
    /* the reference's ILIKE made % and _ wildcards; we match them literally */
    assert_false(search_contains_ci("I work at Wayne", "W%e"));
    assert_false(search_contains_ci("I work at Wayne", "W_yne"));
    assert_true(search_contains_ci("100% sure", "100%"));
    assert_true(search_contains_ci("snake_case name", "E_C"));
    assert_false(search_contains_ci("anything", "%"));
    assert_false(search_contains_ci("a*b", "a.b"));
    assert_true(search_contains_ci("back\\slash", "K\\S"));
    /* ASCII folding only: other bytes must be equal */
    assert_true(search_contains_ci("Caf\xC3\xA9 au lait", "CAF\xC3\xA9"));
    assert_false(search_contains_ci("Caf\xC3\xA9", "CAF\xC3\x89"));
}

static void test_search_filter_keeps_order_and_limit(void **state)
{
    struct memory m[5] = {
        mem(1, "Wayne one", NULL, 0), mem(2, "other", NULL, 0), mem(3, "wayne two", NULL, 0),
        mem(4, "WAYNE three", NULL, 0), mem(5, "no", NULL, 0),
    };

    (void)state;
    assert_int_equal(search_filter_text(m, 5, "wayne", 2), 2);
    assert_string_equal(m[0].content, "Wayne one");
    assert_string_equal(m[1].content, "wayne two");
}

static void test_search_filter_no_limit(void **state)
{
    struct memory m[3] = {
        mem(1, "a", NULL, 0), mem(2, "b", NULL, 0), mem(3, "A", NULL, 0),
    };

    (void)state;
    assert_int_equal(search_filter_text(m, 3, "a", 0), 2);
    assert_string_equal(m[1].content, "A");
}

static const float QUERY[3] = { 1.0f, 0.0f, 0.0f };

static void test_search_rank_by_cosine_distance(void **state)
{
    static const float far[3] = { -1.0f, 0.0f, 0.0f };         /* d = 2 */
    static const float near[3] = { 1.0f, 0.1f, 0.0f };         /* d ≈ 0.005 */
    static const float orth[3] = { 0.0f, 1.0f, 0.0f };         /* d = 1 */
    static const float same[3] = { 2.0f, 0.0f, 0.0f };         /* d = 0 (length ignored) */
    struct memory m[4] = {
        mem(1, "far", far, 3), mem(2, "near", near, 3), mem(3, "orth", orth, 3),
        mem(4, "same", same, 3),
    };
    struct arena *a = arena_new();
    struct memory *out;
    double *dist;
    size_t n;

    (void)state;
    assert_int_equal(search_rank_by_distance(a, m, 4, QUERY, 3, 0, &out, &dist, &n), 0);
    assert_int_equal(n, 4);
    assert_string_equal(out[0].content, "same");
    assert_string_equal(out[1].content, "near");
    assert_string_equal(out[2].content, "orth");
    assert_string_equal(out[3].content, "far");
    assert_float_equal(dist[0], 0.0, 1e-6);
    assert_float_equal(dist[2], 1.0, 1e-6);
    assert_float_equal(dist[3], 2.0, 1e-6);
    assert_true(dist[1] > 0.0 && dist[1] < 0.01);

    assert_int_equal(search_rank_by_distance(a, m, 4, QUERY, 3, 2, &out, NULL, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(out[1].content, "near");
    arena_free(a);
}

static void test_search_rank_ties_keep_list_order(void **state)
{
    static const float up[3] = { 0.0f, 1.0f, 0.0f };
    static const float side[3] = { 0.0f, 0.0f, 1.0f };
    static const float zero[3] = { 0.0f, 0.0f, 0.0f };   /* cosine 0: distance 1 */
    struct memory m[4] = {
        mem(1, "first", up, 3), mem(2, "second", side, 3), mem(3, "third", zero, 3),
        mem(4, "fourth", up, 3),
    };
    struct arena *a = arena_new();
    struct memory *out;
    size_t n, i;

    (void)state;
    assert_int_equal(search_rank_by_distance(a, m, 4, QUERY, 3, 0, &out, NULL, &n), 0);
    assert_int_equal(n, 4);
    for (i = 0; i < 4; i++)
        assert_string_equal(out[i].id, m[i].id);
    arena_free(a);
}

static void test_search_rank_refuses_width_mismatch(void **state)
{
    static const float two[2] = { 1.0f, 0.0f };
    struct memory m[2] = { mem(1, "ok", QUERY, 3), mem(2, "short", two, 2) };
    struct arena *a = arena_new();
    struct memory *out;
    size_t n = 7;

    (void)state;
    assert_int_equal(search_rank_by_distance(a, m, 2, QUERY, 3, 0, &out, NULL, &n), -1);
    assert_int_equal(n, 0);
    m[1].embedding = NULL;
    m[1].embedding_dim = 0;
    assert_int_equal(search_rank_by_distance(a, m, 2, QUERY, 3, 0, &out, NULL, &n), -1);
    assert_int_equal(search_rank_by_distance(a, m, 0, QUERY, 3, 0, &out, NULL, &n), 0);
    assert_int_equal(n, 0);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_contains_is_case_insensitive),
        cmocka_unit_test(test_search_contains_is_literal),
        cmocka_unit_test(test_search_filter_keeps_order_and_limit),
        cmocka_unit_test(test_search_filter_no_limit),
        cmocka_unit_test(test_search_rank_by_cosine_distance),
        cmocka_unit_test(test_search_rank_ties_keep_list_order),
        cmocka_unit_test(test_search_rank_refuses_width_mismatch),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
