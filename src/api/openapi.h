/* openapi.h - the description of every served route (route_docs.c) and the OpenAPI 3.1
 * document built from it and from the route table (openapi.c), served at GET /openapi.json.
 *
 * One source of truth: the paths and methods come from api_routes itself; each route's
 * parameters, body and responses come from its entry in api_route_docs, found by the route's
 * name. A route without an entry (or an entry without a route) fails tests/unit/test_openapi.c.
 *
 * Schema fragments are JSON written with single quotes in place of double quotes, so that they
 * read as JSON inside C string literals: "{'type':'string','minLength':1}". They never hold a
 * literal apostrophe (write \u0027 if one is ever needed). openapi_fragment() turns one into a
 * jv value. */
#ifndef ENGRAM_API_OPENAPI_H
#define ENGRAM_API_OPENAPI_H

#include <stddef.h>

#include "util/arena.h"

struct jv;
struct config;

enum route_doc_flags {
    ROUTE_DOC_ENGRAM = 1 << 0,    /* an Engram extension (x-engram-extension: true) */
    ROUTE_DOC_SNAPSHOTS = 1 << 1, /* answers 404 unless STATEWAVE_ENABLE_SNAPSHOTS is on */
};

struct route_doc_response {
    int status; /* 0 ends the list */
    const char *description;
    const char *schema; /* fragment: the JSON body schema; NULL = none described */
    const char *media;  /* media type; NULL = application/json */
};

struct route_doc {
    const char *route;       /* the route's name in api_routes ("episodes.create") */
    const char *tag;         /* the spec's tier: core, support, seed, admin, extra, engram */
    const char *summary;     /* one line */
    const char *description; /* more text (markdown) or NULL */
    unsigned flags;          /* enum route_doc_flags */
    const char *params;      /* fragment: array of Parameter objects (path first) or NULL */
    const char *body;        /* fragment: the request body schema or NULL (no body) */
    const char *example;     /* fragment: a body the validators accept, NULL without body */
    struct route_doc_response responses[4]; /* success answers (and route-specific errors) */
};

/* The descriptions, one per route of api_routes (route_docs.c). */
extern const struct route_doc api_route_docs[];
extern const size_t api_route_docs_count;

/* A named reusable schema (#/components/schemas/<name>). */
struct route_doc_schema {
    const char *name;
    const char *schema; /* fragment */
};
extern const struct route_doc_schema api_doc_schemas[];
extern const size_t api_doc_schemas_count;

/* The description of the route named name, or NULL. */
const struct route_doc *openapi_route_doc(const char *name);

/* Parse a single-quoted fragment (see above) into a jv value in a. Calls BUG() on a fragment
 * that is not valid JSON: fragments are compiled-in constants, and test_openapi parses them
 * all. */
struct jv *openapi_fragment(struct arena *a, const char *fragment);

/* The OpenAPI 3.1 document of every route in api_routes, for the configuration c (the tenant
 * header's name, whether a key or the tenant header is required), in a. Never fails. */
struct jv *openapi_document(struct arena *a, const struct config *c);

#endif
