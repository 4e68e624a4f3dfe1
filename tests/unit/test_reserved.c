/* test_reserved.c - unit tests for util/reserved.h: which subject ids are Engram's own. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "util/reserved.h"

static void test_reserved_prefix_of(void **state)
{
    (void)state;
    assert_string_equal(reserved_prefix_of("_snapshot/demo/v1"), RESERVED_SNAPSHOT);
    assert_string_equal(reserved_prefix_of("_snapshot/"), RESERVED_SNAPSHOT);
    assert_string_equal(reserved_prefix_of("_bootstrap_tmp/x"), RESERVED_BOOTSTRAP);
    assert_null(reserved_prefix_of("_snapshot")); /* the slash belongs to it */
    assert_null(reserved_prefix_of("_snapshotx/a"));
    assert_null(reserved_prefix_of("_bootstrap_tmp"));
    assert_null(reserved_prefix_of("x_snapshot/"));
    assert_null(reserved_prefix_of("_SNAPSHOT/a")); /* literal, case-sensitive */
    assert_null(reserved_prefix_of(""));
    assert_null(reserved_prefix_of("user-1"));
}

/* The SQL filters compute the lengths from the literals; the spec's ids are ASCII, so a
 * character count is a byte count. */
static void test_reserved_prefixes_are_ascii(void **state)
{
    const char *p;

    (void)state;
    for (p = RESERVED_SNAPSHOT RESERVED_BOOTSTRAP; *p; p++)
        assert_true((unsigned char)*p < 0x80);
    assert_int_equal(strlen(RESERVED_SNAPSHOT), 10);
    assert_int_equal(strlen(RESERVED_BOOTSTRAP), 15);
    assert_true(reserved_has_prefix("abc", ""));
    assert_false(reserved_has_prefix("ab", "abc"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserved_prefix_of),
        cmocka_unit_test(test_reserved_prefixes_are_ascii),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
