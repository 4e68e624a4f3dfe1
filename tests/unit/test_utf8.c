/* test_utf8.c - unit tests for util/utf8: the one decoder (strict and lenient), the encoder,
 * code-point counts, Python's whitespace and Python's str.lower(). Expected lower-case bytes
 * were produced by Python 3.11's str.lower(). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "util/utf8.h"

#include "arena_fixture.h" /* arena, setup, teardown */

static size_t dec(const char *s, size_t n, uint32_t *cp)
{
    *cp = 0xDEADBEEF;
    return utf8_decode((const unsigned char *)s, n, cp);
}

static void test_utf8_decode_valid(void **state)
{
    uint32_t cp;

    (void)state;
    assert_int_equal(dec("A", 1, &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(dec("\xc3\xa9", 2, &cp), 2);
    assert_int_equal(cp, 0xE9);
    assert_int_equal(dec("\xe2\x80\xa8", 3, &cp), 3);
    assert_int_equal(cp, 0x2028);
    assert_int_equal(dec("\xf0\x9f\x98\x80", 4, &cp), 4);
    assert_int_equal(cp, 0x1F600);
    assert_int_equal(dec("\xf4\x8f\xbf\xbf", 4, &cp), 4);
    assert_int_equal(cp, 0x10FFFF);
}

static void test_utf8_decode_invalid(void **state)
{
    uint32_t cp;

    (void)state;
    assert_int_equal(dec("\x80", 1, &cp), 0);             /* stray continuation */
    assert_int_equal(dec("\xc0\xa0", 2, &cp), 0);         /* overlong space */
    assert_int_equal(dec("\xe0\x80\xa0", 3, &cp), 0);     /* overlong */
    assert_int_equal(dec("\xed\xa0\x80", 3, &cp), 0);     /* surrogate U+D800 */
    assert_int_equal(dec("\xf4\x90\x80\x80", 4, &cp), 0); /* beyond U+10FFFF */
    assert_int_equal(dec("\xf5\x80\x80\x80", 4, &cp), 0);
    assert_int_equal(dec("\xc3\xa9", 1, &cp), 0);     /* cut short by n */
    assert_int_equal(dec("\xe2\x28\xa1", 3, &cp), 0); /* bad continuation */
    assert_int_equal(cp, 0xDEADBEEF);                 /* untouched on failure */
}

static void test_utf8_next_is_lenient(void **state)
{
    uint32_t cp;

    (void)state;
    assert_int_equal(utf8_next((const unsigned char *)"\xc3\xa9", 2, &cp), 2);
    assert_int_equal(cp, 0xE9);
    assert_int_equal(utf8_next((const unsigned char *)"\xc0\xa0", 2, &cp), 1);
    assert_int_equal(cp, 0xC0);
    assert_int_equal(utf8_next((const unsigned char *)"\xff", 1, &cp), 1);
    assert_int_equal(cp, 0xFF);
}

static void test_utf8_encode_round_trip(void **state)
{
    static const uint32_t cps[] = { 0, 0x41, 0x7F, 0x80, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF };
    char out[4];
    size_t i, n;
    uint32_t back;

    (void)state;
    for (i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
        n = utf8_encode(cps[i], out);
        assert_int_equal(utf8_decode((const unsigned char *)out, n, &back), n);
        assert_int_equal(back, cps[i]);
    }
}

static void test_utf8_count_valid_prefix(void **state)
{
    (void)state;
    assert_int_equal(utf8_count("h\xc3\xa9llo \xf0\x9f\x98\x80", 11), 7);
    assert_int_equal(utf8_valid_len("ab\xc3\xa9", 4), 4);
    assert_int_equal(utf8_valid_len("ab\xc3", 3), 2);
    assert_int_equal(utf8_valid_len("ab\xed\xa0\x80z", 6), 2);
    assert_int_equal(utf8_prefix_bytes("\xc3\xa9\xc3\xa9x", 5, 2), 4);
    assert_int_equal(utf8_prefix_bytes("ab", 2, 5), 2);
}

static void test_utf8_space_len(void **state)
{
    (void)state;
    assert_int_equal(utf8_space_len(" x", 2), 1);
    assert_int_equal(utf8_space_len("\x1f", 1), 1);
    assert_int_equal(utf8_space_len("\u00a0", 2), 2);
    assert_int_equal(utf8_space_len("\xc2\x85", 2), 2);
    assert_int_equal(utf8_space_len("\u1680", 3), 3);
    assert_int_equal(utf8_space_len("\u2029", 3), 3);
    assert_int_equal(utf8_space_len("\u3000", 3), 3);
    assert_int_equal(utf8_space_len("\u200b", 3), 0); /* zero width: not a space */
    assert_int_equal(utf8_space_len("\u180e", 3), 0); /* not in Python's isspace either */
    assert_int_equal(utf8_space_len("\u00e9", 2), 0);
    assert_int_equal(utf8_space_len("\xe3\x80", 2), 0); /* cut short */
    assert_int_equal(utf8_space_len("x", 1), 0);
    assert_int_equal(utf8_space_len("", 0), 0);
}

static void expect_lower(const char *s, const char *want)
{
    size_t len;
    const char *got = utf8_lower(arena, s, strlen(s), &len);

    if (strcmp(got, want) != 0 || len != strlen(want))
        fail_msg("lower(%s)\n  got  [%s]\n  want [%s]", s, got, want);
}

static void test_utf8_lower_like_python(void **state)
{
    (void)state;
    expect_lower("Hello WORLD 42!", "hello world 42!");
    expect_lower("", "");
    expect_lower("\xc3\x80\xc3\x89\xc3\x8e\xc3\x95\xc3\x9c",
                 "\xc3\xa0\xc3\xa9\xc3\xae\xc3\xb5\xc3\xbc");
    expect_lower("\xce\x9f\xce\x94\xce\x9f\xce\xa3", "\xce\xbf\xce\xb4\xce\xbf\xcf\x82"); /* ς */
    expect_lower("\xce\xa3", "\xcf\x83"); /* a lone Σ is σ */
    expect_lower("A\xce\xa3 B", "a\xcf\x82 b");
    expect_lower("\xc4\xb0", "i\xcc\x87");                /* İ: longer than its input */
    expect_lower("\xc7\x85", "\xc7\x86");                 /* titlecase ǅ */
    expect_lower("\xe1\xba\x9e", "\xc3\x9f");             /* ẞ → ß (lower, not casefold) */
    expect_lower("\xe2\x84\xa6", "\xcf\x89");             /* Ω ohm sign */
    expect_lower("\xe1\x8e\xa0", "\xea\xad\xb0");         /* Cherokee */
    expect_lower("\xf0\x90\x90\x80", "\xf0\x90\x90\xa8"); /* Deseret, 4 bytes */
}

static void test_utf8_lower_invalid_input(void **state)
{
    size_t len;
    const char *got;

    (void)state;
    got = utf8_lower(arena,
                     "AB\xff"
                     "C\xc3\x89",
                     6, &len);
    assert_int_equal(len, 6);
    assert_memory_equal(got,
                        "ab\xff"
                        "c\xc3\x89",
                        6); /* ASCII lowered, the rest kept */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_decode_valid),
        cmocka_unit_test(test_utf8_decode_invalid),
        cmocka_unit_test(test_utf8_next_is_lenient),
        cmocka_unit_test(test_utf8_encode_round_trip),
        cmocka_unit_test(test_utf8_count_valid_prefix),
        cmocka_unit_test(test_utf8_space_len),
        cmocka_unit_test(test_utf8_lower_like_python),
        cmocka_unit_test(test_utf8_lower_invalid_input),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
