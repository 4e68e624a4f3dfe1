/* test_search.c - unit tests for service/search's pure parts: the literal case-insensitive
 * matcher of the text path (spec/behavior.md §9). No database; the semantic path's
 * nearest-neighbour query is tested on both backends in test_store_search.c. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_contains_is_case_insensitive),
        cmocka_unit_test(test_search_contains_is_literal),
        cmocka_unit_test(test_search_filter_keeps_order_and_limit),
        cmocka_unit_test(test_search_filter_no_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
