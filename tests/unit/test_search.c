/* test_search.c - unit tests for service/search's pure part: the literal case-insensitive
 * matcher of the text path (spec/behavior.md §9). No database; both search paths over a
 * store are tested on every backend in test_store_search.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "service/search.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_contains_is_case_insensitive),
        cmocka_unit_test(test_search_contains_is_literal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
