/* fuzz_router.c - path decoding (http_decode) and routing (router_match over the real route
 * table, api_routes). The input is a request line without the version: `METHOD PATH`.
 *
 * Invariants:
 *  - http_decode never grows its input, keeps text without '%' (and, with plus_space, '+')
 *    as it is, and refuses only text holding an escaped NUL (%00);
 *  - a matched route has the request's method and exactly as many decoded parameters as its
 *    pattern has {names}, none of them empty;
 *  - routing is stable under re-encoding: the path rebuilt from the matched pattern with
 *    every parameter byte percent-encoded matches the same route with the same parameters
 *    (ids containing '/', '%', '?' or '+' survive, literal routes cannot capture them).
 */
#include <string.h>

#include "api/api.h"
#include "fuzz.h"
#include "http/router.h"
#include "util/arena.h"
#include "util/buf.h"

static void check_decode(struct arena *a, const char *s, size_t n, int plus_space)
{
    char *out = http_decode(a, s, n, plus_space);

    if (!out) {
        FUZZ_CHECK(memmem(s, n, "%00", 3) != NULL, "decode refused input without %00");
        return;
    }
    FUZZ_CHECK(strlen(out) <= n, "decoded text is longer than its input");
    if (!memchr(s, '%', n) && !(plus_space && memchr(s, '+', n)) && !memchr(s, '\0', n))
        FUZZ_CHECK(strlen(out) == n && memcmp(out, s, n) == 0, "plain text changed by decode");
}

static size_t count_params(const char *pattern)
{
    size_t n = 0;

    for (; *pattern; pattern++)
        n += *pattern == '{';
    return n;
}

/* The path of pattern with each {name} replaced by the next parameter, fully %-encoded. */
static void rebuild(struct buf *out, const char *pattern, const char *const *params)
{
    size_t k = 0;
    const char *p;

    for (p = pattern; *p; p++) {
        const char *s;

        if (*p != '{') {
            buf_putc(out, *p);
            continue;
        }
        for (s = params[k++]; *s; s++)
            buf_printf(out, "%%%02X", (unsigned char)*s);
        p = strchr(p, '}');
    }
}

static void check_route(struct arena *a, const char *method, const char *path)
{
    const struct route *r = NULL, *r2 = NULL;
    const char *params[REQ_MAX_PARAMS] = { 0 }, *params2[REQ_MAX_PARAMS] = { 0 };
    struct buf again = BUF_INIT;
    size_t i, np;

    if (router_match(api_routes, api_routes_count, method, path, a, &r, params) != ROUTE_FOUND)
        return;
    FUZZ_CHECK(r && strcmp(r->method, method) == 0, "matched a route of another method");
    np = count_params(r->pattern);
    for (i = 0; i < REQ_MAX_PARAMS; i++)
        FUZZ_CHECK((i < np) == (params[i] != NULL && *params[i]), "parameter count or empty");
    rebuild(&again, r->pattern, params);
    FUZZ_CHECK(router_match(api_routes, api_routes_count, method, again.data, a, &r2, params2) ==
                       ROUTE_FOUND &&
                   r2 == r,
               "re-encoded path routes elsewhere");
    for (i = 0; i < np; i++)
        FUZZ_CHECK(strcmp(params[i], params2[i]) == 0, "re-encoded parameter decodes differently");
    buf_release(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena *a = arena_new();
    const char *text = (const char *)data, *sp = memchr(text, ' ', size);
    char *method, *path;
    size_t plen;

    check_decode(a, text, size, 0);
    check_decode(a, text, size, 1);
    if (sp) {
        method = arena_strndup(a, text, (size_t)(sp - text));
        plen = size - (size_t)(sp + 1 - text);
        path = arena_strndup(a, sp + 1, plen); /* stops at a NUL, as a C string would */
        path[strcspn(path, "?")] = '\0';       /* the server routes the path without query */
        check_route(a, method, path);
    }
    arena_free(a);
    return 0;
}
