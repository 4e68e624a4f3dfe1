/* test_err.c - unit tests for util/err: codes per kind, the 500 message, details replaced and forgotten. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "util/err.h"
#include "util/arena.h"
#include "util/jv.h"

static void assert_err_empty(const struct err *e)
{
    assert_int_equal(e->kind, ERR_NONE);
    assert_null(e->code);
    assert_string_equal(e->msg, "");
    assert_null(e->details);
}

static void test_err_init(void **state)
{
    struct err e;
    struct err s = ERR_INIT;

    (void)state;
    memset(&e, 0x5a, sizeof(e));
    err_init(&e);
    assert_err_empty(&e);
    assert_err_empty(&s);
}

static void test_err_set_returns_minus_one(void **state)
{
    struct err e = ERR_INIT;

    (void)state;
    assert_int_equal(err_set(&e, ERR_NOT_FOUND, "Subject not found"), -1);
    assert_int_equal(err_set(&e, ERR_VALIDATION, "x"), -1);
    assert_int_equal(err_set(&e, ERR_INTERNAL, "x"), -1);
    assert_int_equal(err_set_code(&e, ERR_FORBIDDEN, "invalid_api_key", "x"), -1);
    err_release(&e);
}

static void test_err_set_http_error(void **state)
{
    static const enum err_kind kinds[] = { ERR_INVALID, ERR_UNAUTHORIZED, ERR_FORBIDDEN,
                                           ERR_NOT_FOUND, ERR_METHOD, ERR_CONFLICT,
                                           ERR_TOO_LARGE, ERR_RATE_LIMITED, ERR_UNAVAILABLE };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        struct err e = ERR_INIT;

        err_set(&e, kinds[i], "Episode %s not found (%d)", "abc", 7);
        assert_int_equal(e.kind, kinds[i]);
        assert_string_equal(e.code, "http_error");
        assert_string_equal(e.msg, "Episode abc not found (7)");
        assert_null(e.details);
        err_release(&e);
    }
}

static void test_err_set_validation_error(void **state)
{
    struct err e = ERR_INIT;

    (void)state;
    err_set(&e, ERR_VALIDATION, "Request validation failed");
    assert_int_equal(e.kind, 422);
    assert_string_equal(e.code, "validation_error");
    assert_string_equal(e.msg, "Request validation failed");
    err_release(&e);
}

static void test_err_set_internal_hides_cause(void **state)
{
    struct err e = ERR_INIT;

    (void)state;
    err_set(&e, ERR_INTERNAL, "sqlite3_step: %s (SELECT * FROM %s)", "disk I/O error",
            "episodes");
    assert_int_equal(e.kind, 500);
    assert_string_equal(e.code, "internal_error");
    assert_string_equal(e.msg, "An unexpected error occurred");
    assert_null(strstr(e.msg, "sqlite"));
    err_release(&e);
}

static void test_err_set_code_explicit(void **state)
{
    struct err e = ERR_INIT;

    (void)state;
    err_set_code(&e, ERR_UNAUTHORIZED, "missing_api_key", "Missing %s header.", "X-API-Key");
    assert_int_equal(e.kind, ERR_UNAUTHORIZED);
    assert_string_equal(e.code, "missing_api_key");
    assert_string_equal(e.msg, "Missing X-API-Key header.");
    err_release(&e);

    err_set_code(&e, ERR_VALIDATION, "custom_422", "bad");
    assert_string_equal(e.code, "custom_422");          /* explicit code wins over the default */
    assert_string_equal(e.msg, "bad");
    err_release(&e);

    err_set_code(&e, ERR_NOT_FOUND, NULL, "nope");        /* NULL falls back to the default */
    assert_string_equal(e.code, "http_error");
    assert_string_equal(e.msg, "nope");
    err_release(&e);
}

static void test_err_set_overwrites_previous(void **state)
{
    struct err e = ERR_INIT;

    (void)state;
    err_set(&e, ERR_VALIDATION, "first");
    err_set(&e, ERR_NOT_FOUND, "second");
    assert_int_equal(e.kind, ERR_NOT_FOUND);
    assert_string_equal(e.code, "http_error");
    assert_string_equal(e.msg, "second");
    err_set(&e, ERR_INTERNAL, "third");
    assert_string_equal(e.code, "internal_error");
    assert_string_equal(e.msg, "An unexpected error occurred");
    err_release(&e);
}

static void test_err_message_truncated_safely(void **state)
{
    struct err e = ERR_INIT;
    char long_msg[4000];

    (void)state;
    memset(long_msg, 'm', sizeof(long_msg) - 1);
    long_msg[sizeof(long_msg) - 1] = '\0';
    err_set(&e, ERR_INVALID, "%s", long_msg);
    assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
    assert_memory_equal(e.msg, long_msg, sizeof(e.msg) - 1);
    err_release(&e);
}

static void test_err_release_forgets_details(void **state)
{
    struct arena *a = arena_new();
    struct err e = ERR_INIT;
    struct jv *details = jv_array(a);

    (void)state;
    err_set(&e, ERR_VALIDATION, "Request validation failed");
    jv_array_append(a, details, jv_str(a, "missing"));
    e.details = details;
    /* the details live in the arena: err_release forgets them, the arena frees them */
    err_release(&e);
    assert_err_empty(&e);
    assert_int_equal(jv_array_size(details), 1);

    /* a later error replaces an earlier one whole, details included */
    e.details = details;
    err_set(&e, ERR_NOT_FOUND, "Subject not found");
    assert_null(e.details);
    arena_free(a);
}

static void test_err_release_null_and_empty(void **state)
{
    struct err e = ERR_INIT;

    (void)state;
    err_release(NULL);
    err_release(&e);
    assert_err_empty(&e);
    err_set(&e, ERR_CONFLICT, "c");
    err_release(&e);
    err_release(&e);       /* twice */
    assert_err_empty(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_init),
        cmocka_unit_test(test_err_set_returns_minus_one),
        cmocka_unit_test(test_err_set_http_error),
        cmocka_unit_test(test_err_set_validation_error),
        cmocka_unit_test(test_err_set_internal_hides_cause),
        cmocka_unit_test(test_err_set_code_explicit),
        cmocka_unit_test(test_err_set_overwrites_previous),
        cmocka_unit_test(test_err_message_truncated_safely),
        cmocka_unit_test(test_err_release_forgets_details),
        cmocka_unit_test(test_err_release_null_and_empty),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
