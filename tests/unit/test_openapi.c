/* test_openapi.c - GET /openapi.json's source of truth: every route of api_routes has its
 * description in route_docs.c (and no description outlives its route), every fragment is
 * JSON, path parameters match the route pattern, and the document follows the configuration
 * (tenant header name, API key). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/openapi.h"
#include "util/config.h"
#include "util/jv.h"

/* The fragment as JSON, or NULL (reported with what) when it does not parse. */
static struct jv *parse_fragment(struct arena *a, const char *fragment, const char *what)
{
    char *text = arena_strdup(a, fragment), *p;
    struct jv *v;
    const char *msg = NULL;
    size_t pos = 0;

    for (p = text; *p; p++) {
        if (*p == '\'')
            *p = '"';
    }
    v = jv_parse(a, text, strlen(text), &pos, &msg);
    if (!v)
        print_error("%s: fragment is not JSON (%s at byte %zu): %s\n", what, msg, pos, text);
    return v;
}

static void test_openapi_every_route_is_described(void **state)
{
    size_t i, missing = 0;

    (void)state;
    for (i = 0; i < api_routes_count; i++) {
        if (!openapi_route_doc(api_routes[i].name)) {
            print_error("route %s %s (%s) has no entry in src/api/route_docs.c\n",
                        api_routes[i].method, api_routes[i].pattern, api_routes[i].name);
            missing++;
        }
    }
    assert_int_equal(missing, 0);
}

static void test_openapi_every_description_has_its_route(void **state)
{
    size_t i, j, stale = 0;

    (void)state;
    for (i = 0; i < api_route_docs_count; i++) {
        int found = 0;

        for (j = 0; j < api_routes_count; j++)
            found += strcmp(api_routes[j].name, api_route_docs[i].route) == 0;
        if (found != 1) {
            print_error("route_docs.c entry '%s' matches %d routes (want 1)\n",
                        api_route_docs[i].route, found);
            stale++;
        }
        for (j = 0; j < i; j++) {
            if (strcmp(api_route_docs[j].route, api_route_docs[i].route) == 0) {
                print_error("route_docs.c describes '%s' twice\n", api_route_docs[i].route);
                stale++;
            }
        }
    }
    assert_int_equal(stale, 0);
}

static void test_openapi_fragments_are_json(void **state)
{
    struct arena *a = arena_new();
    size_t i, j, bad = 0;

    (void)state;
    for (i = 0; i < api_doc_schemas_count; i++)
        bad += !parse_fragment(a, api_doc_schemas[i].schema, api_doc_schemas[i].name);
    for (i = 0; i < api_route_docs_count; i++) {
        const struct route_doc *d = &api_route_docs[i];

        bad += d->params && !parse_fragment(a, d->params, d->route);
        bad += d->body && !parse_fragment(a, d->body, d->route);
        bad += d->example && !parse_fragment(a, d->example, d->route);
        if (d->body && !d->example) {
            print_error("%s: a body without an example\n", d->route);
            bad++;
        }
        for (j = 0; j < 4 && d->responses[j].status; j++)
            bad += d->responses[j].schema && !parse_fragment(a, d->responses[j].schema, d->route);
    }
    arena_free(a);
    assert_int_equal(bad, 0);
}

/* The {names} of pattern, in order, against the documented path parameters. */
static int path_params_match(struct arena *a, const struct route *r)
{
    const struct route_doc *d = openapi_route_doc(r->name);
    struct jv *params = d && d->params ? parse_fragment(a, d->params, r->name) : jv_array(a);
    const char *p = r->pattern;
    size_t n = 0, documented = 0, i;

    for (i = 0; i < jv_array_size(params); i++) {
        struct jv *in = jv_object_get(jv_array_get(params, i), "in");

        documented += in && strcmp(jv_string(in, NULL), "path") == 0;
    }
    while ((p = strchr(p, '{')) != NULL) {
        const char *end = strchr(p, '}');
        struct jv *param = jv_array_get(params, n);
        struct jv *name = jv_object_get(param, "name");
        size_t len = (size_t)(end - p - 1);

        if (!name || strlen(jv_string(name, NULL)) != len ||
            memcmp(jv_string(name, NULL), p + 1, len) != 0 ||
            !jv_is_true(jv_object_get(param, "required"))) {
            print_error("%s: path parameter %zu of %s is not documented first, required\n", r->name,
                        n, r->pattern);
            return 0;
        }
        n++;
        p = end;
    }
    if (n != documented) {
        print_error("%s: %zu path parameters documented, %zu in %s\n", r->name, documented, n,
                    r->pattern);
        return 0;
    }
    return 1;
}

static void test_openapi_path_parameters_match_patterns(void **state)
{
    struct arena *a = arena_new();
    size_t i, bad = 0;

    (void)state;
    for (i = 0; i < api_routes_count; i++)
        bad += !path_params_match(a, &api_routes[i]);
    arena_free(a);
    assert_int_equal(bad, 0);
}

static struct jv *operation(struct jv *doc, const char *pattern, const char *method)
{
    return jv_object_get(jv_object_get(jv_object_get(doc, "paths"), pattern), method);
}

static void test_openapi_document_lists_every_route(void **state)
{
    struct arena *a = arena_new();
    struct config c = { 0 };
    char header[] = "X-Tenant-ID";
    struct jv *doc;
    size_t i, n = 0, j;

    (void)state;
    c.tenant_header = header;
    doc = openapi_document(a, &c);
    assert_string_equal(jv_string(jv_object_get(doc, "openapi"), NULL), "3.1.0");
    for (i = 0; i < api_routes_count; i++) {
        char method[8];
        struct jv *op;

        for (j = 0; api_routes[i].method[j] && j < sizeof(method) - 1; j++)
            method[j] = (char)(api_routes[i].method[j] | 0x20);
        method[j] = '\0';
        op = operation(doc, api_routes[i].pattern, method);
        assert_non_null(op);
        assert_string_equal(jv_string(jv_object_get(op, "operationId"), NULL), api_routes[i].name);
        /* every answer names X-Request-ID (its own, or the shared error answer's) */
        for (j = 0; j < jv_object_size(jv_object_get(op, "responses")); j++) {
            struct jv *resp = jv_object_value(jv_object_get(op, "responses"), j);
            struct jv *ref = jv_object_get(resp, "$ref");
            const char *to = ref ? jv_string(ref, NULL) : NULL;

            if (to)
                resp = jv_object_get(jv_object_get(jv_object_get(doc, "components"), "responses"),
                                     to + strlen("#/components/responses/"));
            assert_non_null(jv_object_get(jv_object_get(resp, "headers"), "X-Request-ID"));
        }
    }
    for (i = 0; i < jv_object_size(jv_object_get(doc, "paths")); i++)
        n += jv_object_size(jv_object_value(jv_object_get(doc, "paths"), i));
    assert_int_equal(n, api_routes_count);
    arena_free(a);
}

static void test_openapi_follows_the_configuration(void **state)
{
    struct arena *a = arena_new();
    struct config c = { 0 };
    char header[] = "X-Org", key[] = "secret";
    struct jv *doc, *tenant, *security;

    (void)state;
    c.tenant_header = header;
    c.require_tenant = 1;
    c.api_key = key;
    doc = openapi_document(a, &c);
    tenant = jv_object_get(jv_object_get(jv_object_get(doc, "components"), "parameters"),
                           "TenantHeader");
    assert_string_equal(jv_string(jv_object_get(tenant, "name"), NULL), "X-Org");
    assert_true(jv_is_true(jv_object_get(tenant, "required")));
    /* a key is configured: no empty (anonymous) security alternative */
    security = jv_object_get(doc, "security");
    assert_int_equal(jv_array_size(security), 2);
    /* open paths need no key; the others answer 401/403 and 400 missing_tenant */
    assert_int_equal(
        jv_array_size(jv_object_get(operation(doc, "/openapi.json", "get"), "security")), 0);
    assert_non_null(
        jv_object_get(jv_object_get(operation(doc, "/v1/context", "post"), "responses"), "400"));
    assert_non_null(
        jv_object_get(jv_object_get(operation(doc, "/v1/context", "post"), "responses"), "401"));
    assert_null(
        jv_object_get(jv_object_get(operation(doc, "/healthz", "get"), "responses"), "401"));

    c.api_key = NULL;
    c.require_tenant = 0;
    doc = openapi_document(a, &c);
    assert_int_equal(jv_array_size(jv_object_get(doc, "security")), 3);
    tenant = jv_object_get(jv_object_get(jv_object_get(doc, "components"), "parameters"),
                           "TenantHeader");
    assert_false(jv_is_true(jv_object_get(tenant, "required")));
    assert_null(
        jv_object_get(jv_object_get(operation(doc, "/v1/context", "post"), "responses"), "400"));
    arena_free(a);
}

static void test_openapi_marks_engram_extensions(void **state)
{
    struct arena *a = arena_new();
    struct config c = { 0 };
    char header[] = "X-Tenant-ID";
    struct jv *doc;

    (void)state;
    c.tenant_header = header;
    doc = openapi_document(a, &c);
    assert_true(
        jv_is_true(jv_object_get(operation(doc, "/openapi.json", "get"), "x-engram-extension")));
    assert_true(jv_is_true(jv_object_get(operation(doc, "/metrics", "get"), "x-engram-extension")));
    assert_null(jv_object_get(operation(doc, "/v1/episodes", "post"), "x-engram-extension"));
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openapi_every_route_is_described),
        cmocka_unit_test(test_openapi_every_description_has_its_route),
        cmocka_unit_test(test_openapi_fragments_are_json),
        cmocka_unit_test(test_openapi_path_parameters_match_patterns),
        cmocka_unit_test(test_openapi_document_lists_every_route),
        cmocka_unit_test(test_openapi_follows_the_configuration),
        cmocka_unit_test(test_openapi_marks_engram_extensions),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
