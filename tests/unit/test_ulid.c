/* test_ulid.c - ULIDs (util/ulid.h): the Crockford form, the time prefix, and monotonic
 * order within one millisecond and across them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/ulid.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* The 48-bit millisecond time of the first 10 characters. */
static uint64_t time_of(const char *u)
{
    uint64_t t = 0;
    int i;

    for (i = 0; i < 10; i++)
        t = t * 32 + (uint64_t)(strchr(alphabet, u[i]) - alphabet);
    return t;
}

static void test_ulid_form_and_time(void **state)
{
    char u[ULID_LEN + 1];
    int64_t us = INT64_C(1717243200123457);   /* 2024-06-01T12:00:00.123457Z */

    (void)state;
    ulid_new(u, us);
    assert_int_equal(strlen(u), ULID_LEN);
    assert_true(ulid_valid(u));
    assert_true(time_of(u) == (uint64_t)(us / 1000));
    assert_memory_equal(u, "01HZ9TQGKV", 10);   /* 1717243200123 in base 32 */
    assert_false(ulid_valid("01HZ8K"));
    assert_false(ulid_valid("81HZ8K0000000000000000000U"));   /* over 48 bits of time */
    assert_false(ulid_valid("01HZ8K000000000000000000IL"));   /* I and L are not digits */
}

static void test_ulid_monotonic(void **state)
{
    char prev[ULID_LEN + 1], cur[ULID_LEN + 1];
    int64_t us = INT64_C(1717243300000000);
    int i;

    (void)state;
    ulid_new(prev, us);
    for (i = 0; i < 1000; i++) {
        /* the same millisecond, then a clock that steps back: still increasing */
        ulid_new(cur, i < 500 ? us : us - 5000);
        assert_true(strcmp(prev, cur) < 0);
        memcpy(prev, cur, sizeof(cur));
    }
    ulid_new(cur, us + 1000);
    assert_true(strcmp(prev, cur) < 0);
    assert_true(time_of(cur) == (uint64_t)((us + 1000) / 1000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ulid_form_and_time),
        cmocka_unit_test(test_ulid_monotonic),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
