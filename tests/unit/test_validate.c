/* test_validate.c - api/validate on parsed bodies: the rule structs, and the 422 details
 * written exactly as the reference writes them (type, loc, msg, input, ctx). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "api/validate.h"
#include "util/jv.h"

struct fixture {
    struct arena *a;
    struct vctx v;
    struct err err;
};

static int setup(void **state)
{
    struct fixture *f = test_calloc(1, sizeof(*f));

    f->a = arena_new();
    v_init(&f->v, f->a);
    err_init(&f->err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    err_release(&f->err);
    arena_free(f->a);
    test_free(f);
    return 0;
}

static struct jv *parse(struct fixture *f, const char *text)
{
    struct jv *v = jv_parse(f->a, text, strlen(text), NULL, NULL);

    assert_non_null(v);
    return v;
}

/* v_finish() moved the details into f->err: they must read exactly want. */
static void assert_details(struct fixture *f, const char *want)
{
    struct buf out = BUF_INIT;

    assert_int_equal(v_finish(&f->v, &f->err), -1);
    assert_int_equal(f->err.kind, ERR_VALIDATION);
    assert_string_equal(f->err.code, "validation_error");
    jv_write_compact(&out, f->err.details);
    assert_string_equal(out.data, want);
    buf_release(&out);
}

static void test_validate_string_rules(void **state)
{
    struct fixture *f = *state;
    struct jv *body = parse(f, "{\"a\":\"x\\u001f\",\"b\":null,\"c\":\"\",\"d\":7}");
    const struct v_str one_to_two = { .flags = V_REQUIRED, .min = 1, .max = 2 };
    int present = -1;

    assert_string_equal(v_string(&f->v, body, v_loc(&f->v, "body", "a"), one_to_two), "x\x1f");
    assert_null(v_string(&f->v, body, v_loc(&f->v, "body", "b"),
                         (struct v_str){ .flags = V_NULLABLE, .present = &present }));
    assert_int_equal(present, 1);
    assert_null(
        v_string(&f->v, body, v_loc(&f->v, "body", "zz"), (struct v_str){ .present = &present }));
    assert_int_equal(present, 0);
    assert_null(f->v.details); /* nothing wrong so far */
    assert_null(v_string(&f->v, body, v_loc(&f->v, "body", "c"), one_to_two));
    assert_null(v_string(&f->v, body, v_loc(&f->v, "body", "d"), one_to_two));
    assert_null(v_string(&f->v, body, v_loc(&f->v, "body", "b"), one_to_two));
    assert_details(f, "[{\"type\":\"string_too_short\",\"loc\":[\"body\",\"c\"],"
                      "\"msg\":\"String should have at least 1 character\",\"input\":\"\","
                      "\"ctx\":{\"min_length\":1}},"
                      "{\"type\":\"string_type\",\"loc\":[\"body\",\"d\"],"
                      "\"msg\":\"Input should be a valid string\",\"input\":7},"
                      "{\"type\":\"string_type\",\"loc\":[\"body\",\"b\"],"
                      "\"msg\":\"Input should be a valid string\",\"input\":null}]");
}

static void test_validate_missing_echoes_the_object(void **state)
{
    struct fixture *f = *state;
    struct jv *body = parse(f, "{\"other\":1.0,\"big\":123456789012345678901234567890}");

    assert_null(v_object(&f->v, body, v_loc(&f->v, "body", "payload"), V_OPTIONAL));
    assert_null(f->v.details);
    assert_null(v_object(&f->v, body, v_loc(&f->v, "body", "payload"), V_REQUIRED));
    assert_details(
        f, "[{\"type\":\"missing\",\"loc\":[\"body\",\"payload\"],\"msg\":\"Field required\","
           "\"input\":{\"other\":1.0,\"big\":123456789012345678901234567890}}]");
}

static void test_validate_int_rules(void **state)
{
    struct fixture *f = *state;
    struct jv *body = parse(f, "[3, 4.0, \" 5 \", 2.5, \"x\", true, 0, 1e300, "
                               "123456789012345678901234567890]");
    const struct v_int rule = { .min = 1, .max = 10 };
    int64_t x = 0;
    size_t i;

    for (i = 0; i < 3; i++) {
        assert_int_equal(v_int_value(&f->v, jv_array_get(body, i),
                                     v_loc_item(&f->v, "body", "l", i, NULL), rule, &x),
                         0);
        assert_int_equal(x, (int64_t)i + 3);
    }
    for (i = 3; i < 9; i++)
        assert_int_equal(
            v_int_value(&f->v, jv_array_get(body, i), v_loc(&f->v, "query", "n"), rule, &x), -1);
    assert_int_equal(x, 5);
    assert_details(
        f, "[{\"type\":\"int_from_float\",\"loc\":[\"query\",\"n\"],\"msg\":\"Input should be a "
           "valid integer, got a number with a fractional part\",\"input\":2.5},"
           "{\"type\":\"int_parsing\",\"loc\":[\"query\",\"n\"],\"msg\":\"Input should be a valid "
           "integer, unable to parse string as an integer\",\"input\":\"x\"},"
           "{\"type\":\"int_type\",\"loc\":[\"query\",\"n\"],\"msg\":\"Input should be a valid "
           "integer\",\"input\":true},"
           "{\"type\":\"greater_than_equal\",\"loc\":[\"query\",\"n\"],\"msg\":\"Input should be "
           "greater than or equal to 1\",\"input\":0,\"ctx\":{\"ge\":1}},"
           "{\"type\":\"int_from_float\",\"loc\":[\"query\",\"n\"],\"msg\":\"Input should be a "
           "valid integer, got a number with a fractional part\",\"input\":1e+300},"
           "{\"type\":\"int_from_float\",\"loc\":[\"query\",\"n\"],\"msg\":\"Input should be a "
           "valid integer, got a number with a fractional part\","
           "\"input\":123456789012345678901234567890}]");
}

static void test_validate_bool_and_list(void **state)
{
    struct fixture *f = *state;
    struct jv *body = parse(f, "[true, 0, 1.0, \"Yes\", \"off\", 2, \"maybe\"]");
    static const int want[] = { 1, 0, 1, 1, 0 };
    int b = -1;
    size_t i;

    for (i = 0; i < 5; i++) {
        assert_int_equal(v_bool_value(&f->v, jv_array_get(body, i), v_loc(&f->v, "body", "b"), &b),
                         0);
        assert_int_equal(b, want[i]);
    }
    assert_int_equal(v_bool_value(&f->v, jv_array_get(body, 5), v_loc(&f->v, "body", "b"), &b), -1);
    assert_int_equal(v_bool_value(&f->v, jv_array_get(body, 6), v_loc(&f->v, "body", "b"), &b), -1);
    assert_int_equal(v_list_size(&f->v, v_loc(&f->v, "body", "l"), body, 1, 7), 0);
    assert_int_equal(v_list_size(&f->v, v_loc(&f->v, "body", "l"), body, 1, 2), -1);
    assert_details(
        f, "[{\"type\":\"bool_type\",\"loc\":[\"body\",\"b\"],\"msg\":\"Input should be a valid "
           "boolean\",\"input\":2},"
           "{\"type\":\"bool_parsing\",\"loc\":[\"body\",\"b\"],\"msg\":\"Input should be a valid "
           "boolean, unable to interpret input\",\"input\":\"maybe\"},"
           "{\"type\":\"too_long\",\"loc\":[\"body\",\"l\"],\"msg\":\"List should have at most 2 "
           "items after validation, not 7\",\"input\":[true,0,1.0,\"Yes\",\"off\",2,\"maybe\"],"
           "\"ctx\":{\"field_type\":\"List\",\"max_length\":2,\"actual_length\":7}}]");
}

static void test_validate_json_invalid_and_content_type(void **state)
{
    struct fixture *f = *state;

    assert_true(api_json_content_type(NULL));
    assert_true(api_json_content_type("application/json"));
    assert_true(api_json_content_type("Application/JSON ; charset=utf-8"));
    assert_true(api_json_content_type("application/vnd.api+json"));
    assert_false(api_json_content_type("text/plain"));
    assert_false(api_json_content_type("application/+json"));
    assert_int_equal(v_json_invalid(&f->v, 7, "Expecting value", &f->err), -1);
    f->v.details = f->err.details; /* assert_details() finishes again */
    assert_details(f,
                   "[{\"type\":\"json_invalid\",\"loc\":[\"body\",7],\"msg\":\"JSON decode error\","
                   "\"input\":{},\"ctx\":{\"error\":\"Expecting value\"}}]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_validate_string_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validate_missing_echoes_the_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validate_int_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validate_bool_and_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validate_json_invalid_and_content_type, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
