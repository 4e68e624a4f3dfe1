/* openapi.c - GET /openapi.json: the OpenAPI 3.1 document, built by walking api_routes and
 * taking each route's description from api_route_docs (route_docs.c). */
#include "api/openapi.h"

#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "http/middleware.h"
#include "http/ratelimit.h"
#include "util/config.h"
#include "util/jv.h"
#include "util/xalloc.h"

const struct route_doc *openapi_route_doc(const char *name)
{
    size_t i;

    for (i = 0; i < api_route_docs_count; i++) {
        if (strcmp(api_route_docs[i].route, name) == 0)
            return &api_route_docs[i];
    }
    return NULL;
}

struct jv *openapi_fragment(struct arena *a, const char *fragment)
{
    char *text = arena_strdup(a, fragment);
    struct jv *v;
    char *p;

    for (p = text; *p; p++) {
        if (*p == '\'')
            *p = '"';
    }
    v = jv_parse(a, text, strlen(text), NULL, NULL);
    if (!v)
        BUG("openapi: a schema fragment is not valid JSON");
    return v;
}

static struct jv *str(struct arena *a, const char *s)
{
    return jv_str(a, s);
}

/* {"$ref": "#/components/<kind>/<name>"} */
static struct jv *ref(struct arena *a, const char *kind, const char *name)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "$ref", jv_str(a, arena_printf(a, "#/components/%s/%s", kind, name)));
    return o;
}

static struct jv *media(struct arena *a, const char *type, struct jv *schema, struct jv *example)
{
    struct jv *content = jv_object(a), *m = jv_object(a);

    if (schema)
        jv_object_set(a, m, "schema", schema);
    if (example)
        jv_object_set(a, m, "example", example);
    jv_object_set(a, content, type, m);
    return content;
}

/* {"X-Request-ID": {"$ref": ...}}: every answer carries the request id (spec/api.md §1.6). */
static struct jv *request_id_header(struct arena *a)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "X-Request-ID", ref(a, "headers", "RequestId"));
    return o;
}

static struct jv *response(struct arena *a, const struct route_doc_response *r)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "description", str(a, r->description));
    jv_object_set(a, o, "headers", request_id_header(a));
    if (r->schema || r->media)
        jv_object_set(a, o, "content",
                      media(a, r->media ? r->media : "application/json",
                            r->schema ? openapi_fragment(a, r->schema) : NULL, NULL));
    return o;
}

/* Add the shared error answer name under status unless the route describes its own. */
static void add_error(struct arena *a, struct jv *responses, const char *status, const char *name)
{
    if (!jv_object_get(responses, status))
        jv_object_set(a, responses, status, ref(a, "responses", name));
}

static struct jv *responses(struct arena *a, const struct route *r, const struct route_doc *d,
                            const struct config *c)
{
    struct jv *out = jv_object(a);
    int open = middleware_path_open(r->pattern);
    size_t i;

    for (i = 0; d && i < sizeof(d->responses) / sizeof(d->responses[0]); i++) {
        if (d->responses[i].status == 0)
            break;
        jv_object_set(a, out, arena_printf(a, "%d", d->responses[i].status),
                      response(a, &d->responses[i]));
    }
    if (jv_object_size(out) == 0)
        jv_object_set(a, out, "200", response(a, &(struct route_doc_response){ 200, "OK", 0, 0 }));
    if (d && (d->params || d->body))
        add_error(a, out, "422", "ValidationError");
    if (d && d->body) {
        add_error(a, out, "413", "BodyTooLarge");
        add_error(a, out, "503", "Busy");
    }
    if (d && (d->flags & ROUTE_DOC_SNAPSHOTS))
        add_error(a, out, "404", "SnapshotsDisabled");
    if (!open) {
        add_error(a, out, "401", "MissingApiKey");
        add_error(a, out, "403", "InvalidApiKey");
        if (c->require_tenant)
            add_error(a, out, "400", "MissingTenant");
    }
    if (!ratelimit_path_exempt(r->pattern))
        add_error(a, out, "429", "RateLimited");
    add_error(a, out, "500", "InternalError");
    return out;
}

/* The route's own parameters, then the tenant header where it applies: every /v1 route is
 * tenant-scoped; with STATEWAVE_REQUIRE_TENANT every route outside the open list needs it. */
static struct jv *parameters(struct arena *a, const struct route *r, const struct route_doc *d,
                             const struct config *c)
{
    struct jv *list = d && d->params ? openapi_fragment(a, d->params) : jv_array(a);
    int open = middleware_path_open(r->pattern);

    if (!open && (strncmp(r->pattern, "/v1/", 4) == 0 || c->require_tenant))
        jv_array_append(a, list, ref(a, "parameters", "TenantHeader"));
    return list;
}

static struct jv *operation(struct arena *a, const struct route *r, const struct config *c)
{
    const struct route_doc *d = openapi_route_doc(r->name);
    struct jv *op = jv_object(a), *tags = jv_array(a), *params;

    jv_object_set(a, op, "operationId", str(a, r->name));
    jv_array_append(a, tags, str(a, d ? d->tag : "undescribed"));
    jv_object_set(a, op, "tags", tags);
    jv_object_set(a, op, "summary", str(a, d ? d->summary : "Undescribed route"));
    if (d && d->description)
        jv_object_set(a, op, "description", str(a, d->description));
    if (d && (d->flags & ROUTE_DOC_ENGRAM))
        jv_object_set(a, op, "x-engram-extension", jv_bool(a, 1));
    if (middleware_path_open(r->pattern))
        jv_object_set(a, op, "security", jv_array(a));
    params = parameters(a, r, d, c);
    if (jv_array_size(params) > 0)
        jv_object_set(a, op, "parameters", params);
    if (d && d->body) {
        struct jv *body = jv_object(a);

        jv_object_set(a, body, "required", jv_bool(a, 1));
        jv_object_set(a, body, "content",
                      media(a, "application/json", openapi_fragment(a, d->body),
                            d->example ? openapi_fragment(a, d->example) : NULL));
        jv_object_set(a, op, "requestBody", body);
    }
    jv_object_set(a, op, "responses", responses(a, r, d, c));
    return op;
}

static void lower(char *s)
{
    for (; *s; s++) {
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
    }
}

static struct jv *paths(struct arena *a, const struct config *c)
{
    struct jv *out = jv_object(a);
    size_t i;

    for (i = 0; i < api_routes_count; i++) {
        const struct route *r = &api_routes[i];
        struct jv *item = jv_object_get(out, r->pattern);
        char *method = arena_strdup(a, r->method);

        if (!item) {
            item = jv_object(a);
            jv_object_set(a, out, r->pattern, item);
        }
        lower(method);
        jv_object_set(a, item, method, operation(a, r, c));
    }
    return out;
}

/* The error envelope answers every route shares (spec/api.md §1.9). */
static struct jv *error_response(struct arena *a, const char *description, const char *code,
                                 const char *message)
{
    struct jv *o = jv_object(a), *example = jv_object(a), *err = jv_object(a);

    jv_object_set(a, err, "code", str(a, code));
    jv_object_set(a, err, "message", str(a, message));
    jv_object_set(a, example, "error", err);
    jv_object_set(a, o, "description", str(a, description));
    jv_object_set(a, o, "headers", request_id_header(a));
    jv_object_set(a, o, "content",
                  media(a, "application/json", ref(a, "schemas", "ErrorEnvelope"), example));
    return o;
}

static struct jv *error_responses(struct arena *a, const struct config *c)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "ValidationError",
                  error_response(a,
                                 "The body, query or path failed validation (details "
                                 "lists every problem).",
                                 "validation_error", "Request validation failed"));
    jv_object_set(a, o, "MissingApiKey",
                  error_response(a, "STATEWAVE_API_KEY is set and no key was sent.",
                                 "missing_api_key", "X-API-Key header is required."));
    jv_object_set(a, o, "InvalidApiKey",
                  error_response(a, "The key sent is not the configured one.", "invalid_api_key",
                                 "Invalid API key."));
    jv_object_set(a, o, "MissingTenant",
                  error_response(a,
                                 "STATEWAVE_REQUIRE_TENANT is on and the tenant header is "
                                 "missing or empty.",
                                 "missing_tenant",
                                 arena_printf(a, "%s header is required.", c->tenant_header)));
    jv_object_set(a, o, "RateLimited",
                  error_response(a,
                                 "More than STATEWAVE_RATE_LIMIT_RPM requests in a minute "
                                 "from this address (see Retry-After).",
                                 "rate_limited",
                                 "Rate limit exceeded. Max 120 requests per minute."));
    jv_object_set(
        a, o, "SnapshotsDisabled",
        error_response(a, "STATEWAVE_ENABLE_SNAPSHOTS is off.", "http_error", "Not found"));
    jv_object_set(a, o, "BodyTooLarge",
                  error_response(a,
                                 "The body is over STATEWAVE_MAX_BODY_BYTES, or its JSON "
                                 "would take too much memory to parse.",
                                 "http_error",
                                 arena_printf(a, "Request body too large (limit %zu bytes)",
                                              c->max_body_bytes)));
    jv_object_set(a, o, "Busy",
                  error_response(a,
                                 "Too many request bytes in flight "
                                 "(STATEWAVE_MAX_INFLIGHT_BODY_BYTES); see Retry-After.",
                                 "service_unavailable",
                                 "Server busy: too many request bytes in flight; retry later"));
    jv_object_set(a, o, "InternalError",
                  error_response(a, "An unexpected failure (logged with the request id).",
                                 "internal_error", "An unexpected error occurred"));
    return o;
}

static struct jv *schemas(struct arena *a)
{
    struct jv *o = jv_object(a);
    size_t i;

    for (i = 0; i < api_doc_schemas_count; i++)
        jv_object_set(a, o, api_doc_schemas[i].name,
                      openapi_fragment(a, api_doc_schemas[i].schema));
    return o;
}

static struct jv *api_key_scheme(struct arena *a, const char *in, const char *name,
                                 const char *description)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "type", str(a, "apiKey"));
    jv_object_set(a, o, "in", str(a, in));
    jv_object_set(a, o, "name", str(a, name));
    jv_object_set(a, o, "description", str(a, description));
    return o;
}

static struct jv *tenant_parameter(struct arena *a, const struct config *c)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "name", str(a, c->tenant_header));
    jv_object_set(a, o, "in", str(a, "header"));
    jv_object_set(a, o, "required", jv_bool(a, c->require_tenant));
    jv_object_set(a, o, "description",
                  str(a, "The tenant (STATEWAVE_TENANT_HEADER names this header). /v1 writes "
                         "stamp it and reads see only its rows; without it, rows without a "
                         "tenant. /admin routes ignore it (they take tenant_id)."));
    jv_object_set(a, o, "schema", openapi_fragment(a, "{'type':'string','maxLength':256}"));
    return o;
}

static struct jv *headers(struct arena *a)
{
    struct jv *o = jv_object(a), *h = jv_object(a);

    jv_object_set(a, h, "description",
                  str(a, "The request id: the inbound X-Request-ID echoed, else 16 hex "
                         "characters made here (also error.request_id)."));
    jv_object_set(a, h, "schema", openapi_fragment(a, "{'type':'string'}"));
    jv_object_set(a, o, "RequestId", h);
    return o;
}

static struct jv *components(struct arena *a, const struct config *c)
{
    struct jv *o = jv_object(a), *params = jv_object(a), *sec = jv_object(a);

    jv_object_set(a, o, "schemas", schemas(a));
    jv_object_set(a, o, "responses", error_responses(a, c));
    jv_object_set(a, o, "headers", headers(a));
    jv_object_set(a, params, "TenantHeader", tenant_parameter(a, c));
    jv_object_set(a, o, "parameters", params);
    jv_object_set(a, sec, "ApiKeyHeader",
                  api_key_scheme(a, "header", "X-API-Key",
                                 "The shared key of STATEWAVE_API_KEY (a non-empty header wins "
                                 "over the query parameter)."));
    jv_object_set(a, sec, "ApiKeyQuery",
                  api_key_scheme(a, "query", "api_key", "The same key as a query parameter."));
    jv_object_set(a, o, "securitySchemes", sec);
    return o;
}

/* Either key form satisfies the server; with no key configured nothing is needed ({}). */
static struct jv *security(struct arena *a, const struct config *c)
{
    struct jv *list = jv_array(a), *h = jv_object(a), *q = jv_object(a);

    jv_object_set(a, h, "ApiKeyHeader", jv_array(a));
    jv_object_set(a, q, "ApiKeyQuery", jv_array(a));
    jv_array_append(a, list, h);
    jv_array_append(a, list, q);
    if (!c->api_key)
        jv_array_append(a, list, jv_object(a));
    return list;
}

static const char *const tag_names[][2] = {
    { "core", "The ingest, compile and retrieve loop, liveness and readiness." },
    { "support", "Support-agent features: resolutions, handoff, health score, SLA." },
    { "seed", "Admin portability: subject export and import, snapshots, cleanup." },
    { "admin", "Other operator endpoints under /admin." },
    { "extra", "Endpoints the SDKs call that the reference server does not serve." },
    { "engram", "Engram's own surfaces (x-engram-extension)." },
};

static struct jv *tags(struct arena *a)
{
    struct jv *list = jv_array(a);
    size_t i;

    for (i = 0; i < sizeof(tag_names) / sizeof(tag_names[0]); i++) {
        struct jv *t = jv_object(a);

        jv_object_set(a, t, "name", str(a, tag_names[i][0]));
        jv_object_set(a, t, "description", str(a, tag_names[i][1]));
        jv_array_append(a, list, t);
    }
    return list;
}

static struct jv *info(struct arena *a)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "title", str(a, "Engram"));
    jv_object_set(a, o, "version", str(a, "v1"));
    jv_object_set(a, o, "summary",
                  str(a, "A memory server for AI agents, compatible with the "
                         "Statewave v1 HTTP API."));
    jv_object_set(a, o, "description",
                  str(a, "Every route this server serves. Errors use one envelope "
                         "`{\"error\": {\"code\", \"message\", \"details\"?, \"request_id\"?}}`. "
                         "Unknown body fields are ignored. Operations and fields marked "
                         "`x-engram-extension: true` are Engram's own, not the reference's."));
    return o;
}

struct jv *openapi_document(struct arena *a, const struct config *c)
{
    struct jv *doc = jv_object(a), *servers = jv_array(a), *server = jv_object(a);

    jv_object_set(a, doc, "openapi", str(a, "3.1.0"));
    jv_object_set(a, doc, "info", info(a));
    jv_object_set(a, server, "url", str(a, "/"));
    jv_array_append(a, servers, server);
    jv_object_set(a, doc, "servers", servers);
    jv_object_set(a, doc, "tags", tags(a));
    jv_object_set(a, doc, "security", security(a, c));
    jv_object_set(a, doc, "paths", paths(a, c));
    jv_object_set(a, doc, "components", components(a, c));
    return doc;
}

/* GET /openapi.json */
int api_openapi(struct req *req)
{
    struct buf out = BUF_INIT;

    jv_write_compact(&out, openapi_document(req->arena, cfg));
    return http_reply_buf(req, 200, &out);
}
