/* test_router.c - route matching, 404/405, per-segment percent-decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "http/router.h"

static int h_a(struct req *req) { (void)req; return 0; }
static int h_b(struct req *req) { (void)req; return 1; }

static const struct route routes[] = {
    { "GET", "/v1/subjects", h_a, "list" },
    { "DELETE", "/v1/subjects/{subject_id}", h_b, "delete" },
    { "GET", "/v1/memories/compile/{job_id}", h_a, "job" },
    { "POST", "/admin/snapshots/{id}/restore", h_b, "restore" },
};

static enum route_match match(const char *method, const char *path, const struct route **r,
                              const char **params, struct arena *a)
{
    return router_match(routes, sizeof(routes) / sizeof(routes[0]), method, path, a, r, params);
}

static void test_router_static_and_params(void **state)
{
    struct arena *a = arena_new();
    const struct route *r;
    const char *params[REQ_MAX_PARAMS];

    (void)state;
    assert_int_equal(match("GET", "/v1/subjects", &r, params, a), ROUTE_FOUND);
    assert_string_equal(r->name, "list");
    assert_int_equal(match("DELETE", "/v1/subjects/user-1", &r, params, a), ROUTE_FOUND);
    assert_string_equal(r->name, "delete");
    assert_string_equal(params[0], "user-1");
    assert_int_equal(match("POST", "/admin/snapshots/abc/restore", &r, params, a), ROUTE_FOUND);
    assert_string_equal(params[0], "abc");
    arena_free(a);
}

static void test_router_not_found_and_bad_method(void **state)
{
    struct arena *a = arena_new();
    const struct route *r;
    const char *params[REQ_MAX_PARAMS];

    (void)state;
    assert_int_equal(match("GET", "/v1/nothing", &r, params, a), ROUTE_NOT_FOUND);
    assert_null(r);
    assert_int_equal(match("POST", "/v1/subjects", &r, params, a), ROUTE_BAD_METHOD);
    assert_int_equal(match("GET", "/v1/subjects/", &r, params, a), ROUTE_NOT_FOUND);
    assert_int_equal(match("DELETE", "/v1/subjects/a/b", &r, params, a), ROUTE_NOT_FOUND);
    assert_int_equal(match("GET", "/v1/subjects/x", &r, params, a), ROUTE_BAD_METHOD);
    assert_int_equal(match("GET", "", &r, params, a), ROUTE_NOT_FOUND);
    assert_int_equal(match("GET", "/", &r, params, a), ROUTE_NOT_FOUND);
    arena_free(a);
}

static void test_router_decodes_each_segment(void **state)
{
    struct arena *a = arena_new();
    const struct route *r;
    const char *params[REQ_MAX_PARAMS];

    (void)state;
    /* %2F stays inside one segment: split on the raw '/', then decode. */
    assert_int_equal(match("DELETE", "/v1/subjects/_snapshot%2Fx%2Fv1", &r, params, a),
                     ROUTE_FOUND);
    assert_string_equal(params[0], "_snapshot/x/v1");
    assert_int_equal(match("DELETE", "/v1/subjects/user%3A42", &r, params, a), ROUTE_FOUND);
    assert_string_equal(params[0], "user:42");
    assert_int_equal(match("DELETE", "/v1/subjects/a+b%20c", &r, params, a), ROUTE_FOUND);
    assert_string_equal(params[0], "a+b c");
    assert_int_equal(match("DELETE", "/v1/subjects/caf%C3%A9", &r, params, a), ROUTE_FOUND);
    assert_string_equal(params[0], "caf\xc3\xa9");
    /* A bad escape is kept verbatim; an encoded NUL never matches. */
    assert_int_equal(match("DELETE", "/v1/subjects/100%zz", &r, params, a), ROUTE_FOUND);
    assert_string_equal(params[0], "100%zz");
    assert_int_equal(match("DELETE", "/v1/subjects/a%00b", &r, params, a), ROUTE_NOT_FOUND);
    arena_free(a);
}

static void test_router_decode_query_plus(void **state)
{
    struct arena *a = arena_new();

    (void)state;
    assert_string_equal(http_decode(a, "a+b%2B", 6, 1), "a b+");
    assert_string_equal(http_decode(a, "a+b%2B", 6, 0), "a+b+");
    assert_string_equal(http_decode(a, "%4", 2, 0), "%4");
    assert_string_equal(http_decode(a, "%41", 3, 0), "A");
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_router_static_and_params),
        cmocka_unit_test(test_router_not_found_and_bad_method),
        cmocka_unit_test(test_router_decodes_each_segment),
        cmocka_unit_test(test_router_decode_query_plus),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
