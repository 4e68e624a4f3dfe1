/* test_text.c - unit tests for service/text: payload text extraction (spec/behavior.md §3.1),
 * including the Python rendering of non-string values. Expected strings were produced by
 * Python 3's str() of json.loads(payload) values. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "service/text.h"

#include "arena_fixture.h"   /* arena, setup, teardown */

static void expect_text(const char *payload, const char *want)
{
    const char *got = payload_text(arena, payload);

    if (strcmp(got, want) != 0)
        fail_msg("payload_text(%s)\n  got  [%s]\n  want [%s]", payload, got, want);
}

static void test_text_messages_lines(void **state)
{
    (void)state;
    expect_text("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "user: hi");
    expect_text("{\"messages\":[{\"role\":\"user\",\"content\":\"My name is Alice.\"},"
                "{\"role\":\"assistant\",\"content\":\"Welcome!\"}]}",
                "user: My name is Alice.\nassistant: Welcome!");
    expect_text("{\"messages\":[]}", "");
}

static void test_text_messages_missing_and_non_string(void **state)
{
    (void)state;
    expect_text("{\"messages\":[{\"role\":null,\"content\":1.5},{\"content\":\"x\"},"
                "{\"role\":\"user\"}]}", "None: 1.5\n: x\nuser: ");
    expect_text("{\"messages\":[{\"role\":\"user\",\"content\":true,\"extra\":1}]}",
                "user: True");
    expect_text("{\"messages\":[{\"role\":\"user\",\"content\":{\"a\":[1,\"x\",null]}}]}",
                "user: {'a': [1, 'x', None]}");
}

static void test_text_messages_not_a_list_of_objects(void **state)
{
    (void)state;
    /* The reference answers 500; we decided "" (behavior.md §3.1). */
    expect_text("{\"messages\":\"user: hi\",\"text\":\"fallback is not used\"}", "");
    expect_text("{\"messages\":{\"role\":\"user\",\"content\":\"hi\"}}", "");
    expect_text("{\"messages\":null,\"text\":\"t\"}", "");
    expect_text("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},\"oops\"]}", "");
    expect_text("{\"messages\":[42]}", "");
}

static void test_text_precedence(void **state)
{
    (void)state;
    expect_text("{\"messages\":[{\"role\":\"a\",\"content\":\"b\"}],\"text\":\"t\"}", "a: b");
    expect_text("{\"text\":\"Hello, how can I help you today?\",\"content\":\"c\"}",
                "Hello, how can I help you today?");
    expect_text("{\"content\":\"Some content\"}", "Some content");
    expect_text("{}", "");
    expect_text("{\"foo\":\"bar\",\"baz\":42}", "");
    expect_text("{\"text\":\"\"}", "");
}

static void test_text_scalars_as_python(void **state)
{
    (void)state;
    expect_text("{\"text\":null}", "None");
    expect_text("{\"text\":true}", "True");
    expect_text("{\"content\":false}", "False");
    expect_text("{\"text\":42}", "42");
    expect_text("{\"text\":-7}", "-7");
    expect_text("{\"text\":1.0}", "1.0");
    expect_text("{\"text\":12345678901234}", "12345678901234");
    expect_text("{\"text\":[1e16,0.1,-0.0,1.0,1e-05,1.5e300,100000.0,1e22,0.5e-6]}",
                "[1e+16, 0.1, -0.0, 1.0, 1e-05, 1.5e+300, 100000.0, 1e+22, 5e-07]");
}

/* Numbers as Python's json module reads them: ints exact at any size, reals as floats. */
static void test_text_numbers_beyond_int64_and_double(void **state)
{
    (void)state;
    expect_text("{\"text\":123456789012345678901234567890}", "123456789012345678901234567890");
    expect_text("{\"text\":[-0,1e400,-1e400,1E2,-0.0,-12345678901234567890123]}",
                "[0, inf, -inf, 100.0, -0.0, -12345678901234567890123]");
}

/* Duplicate keys: the last value wins, at the first key's place (a Python dict). */
static void test_text_duplicate_keys(void **state)
{
    (void)state;
    expect_text("{\"text\":\"a\",\"text\":\"b\"}", "b");
    expect_text("{\"text\":{\"k\":1,\"j\":2,\"k\":3}}", "{'k': 3, 'j': 2}");
}

static void test_text_containers_as_python(void **state)
{
    (void)state;
    expect_text("{\"text\":[]}", "[]");
    expect_text("{\"text\":{}}", "{}");
    expect_text("{\"text\":[1,2]}", "[1, 2]");
    expect_text("{\"text\":{\"a\":[1,\"x\",null,true,false,{}],\"b\":{\"c\":[]}}}",
                "{'a': [1, 'x', None, True, False, {}], 'b': {'c': []}}");
}

static void test_text_string_repr_escapes(void **state)
{
    (void)state;
    expect_text("{\"text\":{\"k\":\"it's\"}}", "{'k': \"it's\"}");
    expect_text("{\"text\":{\"k\":\"a'b\\\"c\"}}", "{'k': 'a\\'b\"c'}");
    expect_text("{\"text\":[\"\\r\",\"'\\\"\",\"\\\\'\"]}", "['\\r', '\\'\"', \"\\\\'\"]");
    expect_text("{\"text\":[\"a\\nb\\t\\\\\"]}", "['a\\nb\\t\\\\']");
    expect_text("{\"text\":[\"\\u0001\\u007f\\u0085\\u00a0\\u00e9\\u2028\\u200b\\ue000"
                "\\ud83d\\ude00\\u00ad\"]}",
                "['\\x01\\x7f\\x85\\xa0\xc3\xa9\\u2028\\u200b\\ue000\xf0\x9f\x98\x80\\xad']");
    /* unassigned code points (Cn) are not printable either: U+0378, U+2A6E0 (Unicode 14.0) */
    expect_text("{\"text\":[\"\\u0378\\ud869\\udee0\\u1f00\"]}",
                "['\\u0378\\U0002a6e0\xe1\xbc\x80']");
}

static void test_text_strings_verbatim_at_top_level(void **state)
{
    (void)state;
    expect_text("{\"text\":\"line1\\nit's \\\"q\\\" \\u00e9\"}", "line1\nit's \"q\" \xc3\xa9");
    expect_text("{\"messages\":[{\"role\":\"user\",\"content\":\"a\\tb\"}]}", "user: a\tb");
}

static void test_text_bad_input_is_empty(void **state)
{
    (void)state;
    expect_text("not json", "");
    expect_text("[1,2]", "");
    expect_text("\"text\"", "");
    assert_string_equal(payload_text(arena, NULL), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_messages_lines),
        cmocka_unit_test(test_text_messages_missing_and_non_string),
        cmocka_unit_test(test_text_messages_not_a_list_of_objects),
        cmocka_unit_test(test_text_precedence),
        cmocka_unit_test(test_text_scalars_as_python),
        cmocka_unit_test(test_text_numbers_beyond_int64_and_double),
        cmocka_unit_test(test_text_duplicate_keys),
        cmocka_unit_test(test_text_containers_as_python),
        cmocka_unit_test(test_text_string_repr_escapes),
        cmocka_unit_test(test_text_strings_verbatim_at_top_level),
        cmocka_unit_test(test_text_bad_input_is_empty),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
