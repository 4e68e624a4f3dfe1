/* test_pyrepr.c - unit tests for util/pyrepr: Python's repr() and str() of JSON values. Every
 * expected string was produced by CPython 3.11's repr()/str() of the same text or of
 * json.loads() of the same document (printability follows Unicode 14.0 there and here). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "util/pyrepr.h"

#include "arena_fixture.h" /* arena, setup, teardown */

struct str_case {
    const char *in;
    size_t len;
    const char *want;
};

static void expect_buf(struct buf *b, const char *what, const char *want)
{
    if (strcmp(b->data, want) != 0)
        fail_msg("%s\n  got  [%s]\n  want [%s]", what, b->data, want);
    buf_release(b);
}

/* Quote choice, short escapes, \x \u \U and the isprintable() classes (Cc Cf Cn Co Zs Zl Zp,
 * unassigned code points of Unicode 14.0 included). */
static void test_pyrepr_str_like_python(void **state)
{
    static const struct str_case cases[] = {
        { "plain", 5, "'plain'" },
        { "it's", 4, "\"it's\"" },
        { "say \"hi\"", 8, "'say \"hi\"'" },
        { "both ' and \"", 12, "'both \\' and \"'" },
        { "back\\slash", 10, "'back\\\\slash'" },
        { "tab\x09here\x0anl\x0d"
          "cr",
          14, "'tab\\there\\nnl\\rcr'" },
        { "\x00\x07\x1b\x7f", 4, "'\\x00\\x07\\x1b\\x7f'" },
        { "\xc2\x80\xc2\x9f\xc2\xa0\xc2\xad\xc3\xbf", 10, "'\\x80\\x9f\\xa0\\xad\xc3\xbf'" },
        { "\xc3\xa9 \xc3\xbc \xc3\x9f", 8, "'\xc3\xa9 \xc3\xbc \xc3\x9f'" },
        { "\xcd\xb8", 2, "'\\u0378'" },
        { "\xe2\x80\xa8\xe2\x80\xa9", 6, "'\\u2028\\u2029'" },
        { "\xe2\x80\x8b\xe2\x80\x8e\xef\xbb\xbf", 9, "'\\u200b\\u200e\\ufeff'" },
        { "\xe3\x80\x80\xe1\x9a\x80", 6, "'\\u3000\\u1680'" },
        { "\xee\x80\x80", 3, "'\\ue000'" },
        { "\xf3\xb0\x80\x80", 4, "'\\U000f0000'" },
        { "\xf0\x9f\x98\x80", 4, "'\xf0\x9f\x98\x80'" },
        { "\xf3\xa0\x80\x81", 4, "'\\U000e0001'" },
        { "\xf4\x8f\xbf\xbf", 4, "'\\U0010ffff'" },
        { "\xef\xbf\xbe", 3, "'\\ufffe'" },
        { "\xd8\x80\xd8\x9c", 4, "'\\u0600\\u061c'" },
        { "\xce\xa9 \xe1\xbc\x80", 6, "'\xce\xa9 \xe1\xbc\x80'" },
        { "\xf0\x9d\x85\xb3", 4, "'\\U0001d173'" },
        { "\xf0\xb0\x80\x80", 4, "'\xf0\xb0\x80\x80'" },
        { "\xf0\xaa\x9b\xa0", 4, "'\\U0002a6e0'" },
        { "", 0, "''" },
        { "'", 1, "\"'\"" },
        { "\"", 1, "'\"'" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b = BUF_INIT;

        pyrepr_str(&b, cases[i].in, cases[i].len);
        expect_buf(&b, cases[i].in, cases[i].want);
    }
}

/* Not UTF-8 at all (never produced by jv_parse): each bad byte as \xNN, nothing lost. */
static void test_pyrepr_str_invalid_bytes(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    pyrepr_str(&b, "a\xff\xc3", 3);
    expect_buf(&b, "invalid", "'a\\xff\\xc3'");
}

static void expect_jv(const char *json, const char *want_repr, const char *want_str)
{
    struct jv *v = jv_parse(arena, json, strlen(json), NULL, NULL);
    struct buf b = BUF_INIT;

    if (!v)
        fail_msg("jv_parse(%s) failed", json);
    pyrepr_value(&b, v);
    expect_buf(&b, json, want_repr);
    pyrepr_text(&b, v);
    expect_buf(&b, json, want_str);
}

static void test_pyrepr_value_like_python(void **state)
{
    (void)state;
    expect_jv("{\"a\": [1, 2.5, -0, 1e400, -1e400, true, false, null, \"x'y\"], \"b\": {}, "
              "\"c\": []}",
              "{'a': [1, 2.5, 0, inf, -inf, True, False, None, \"x'y\"], 'b': {}, 'c': []}",
              "{'a': [1, 2.5, 0, inf, -inf, True, False, None, \"x'y\"], 'b': {}, 'c': []}");
    expect_jv("123456789012345678901234567890", "123456789012345678901234567890",
              "123456789012345678901234567890");
    expect_jv("1E2", "100.0", "100.0");
    expect_jv("0.1", "0.1", "0.1");
    expect_jv("[1.0, -0.0, 1e-7, 1e16]", "[1.0, -0.0, 1e-07, 1e+16]", "[1.0, -0.0, 1e-07, 1e+16]");
    expect_jv("\"\\u2028\"", "'\\u2028'", "\xe2\x80\xa8"); /* str() of a str: as it is */
    expect_jv("{\"k\\u0001\": \"\\ud83d\\ude00\\u00ad\"}", "{'k\\x01': '\xf0\x9f\x98\x80\\xad'}",
              "{'k\\x01': '\xf0\x9f\x98\x80\\xad'}");
}

static void test_pyrepr_null_is_none(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    pyrepr_value(&b, NULL);
    expect_buf(&b, "NULL", "None");
    pyrepr_text(&b, NULL);
    expect_buf(&b, "NULL", "None");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pyrepr_str_like_python),
        cmocka_unit_test(test_pyrepr_str_invalid_bytes),
        cmocka_unit_test(test_pyrepr_value_like_python),
        cmocka_unit_test(test_pyrepr_null_is_none),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
