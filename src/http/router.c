/* router.c - match a request against the static route table. */
#include "http/router.h"

#include <string.h>

/* Compare one pattern against a raw path. Returns 1 on match, filling params. */
static int match_path(const char *pattern, const char *path, struct arena *a,
                      const char **params)
{
    const char *p = pattern, *s = path;
    size_t np = 0;

    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return 0;
        p++, s++;
        {
            const char *pe = strchr(p, '/'), *se = strchr(s, '/');
            size_t pl = pe ? (size_t)(pe - p) : strlen(p);
            size_t sl = se ? (size_t)(se - s) : strlen(s);

            if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
                char *v;

                if (sl == 0 || np >= REQ_MAX_PARAMS)
                    return 0;
                v = http_decode(a, s, sl, 0);
                if (!v)
                    return 0;
                params[np++] = v;
            } else if (pl != sl || memcmp(p, s, pl) != 0) {
                return 0;
            }
            p += pl;
            s += sl;
        }
    }
    return *p == '\0' && *s == '\0';
}

enum route_match router_match(const struct route *routes, size_t n, const char *method,
                              const char *path, struct arena *a, const struct route **out,
                              const char **params)
{
    enum route_match res = ROUTE_NOT_FOUND;
    size_t i;

    *out = NULL;
    for (i = 0; i < n; i++) {
        const char *tmp[REQ_MAX_PARAMS] = { 0 };

        if (!match_path(routes[i].pattern, path, a, tmp))
            continue;
        if (strcmp(routes[i].method, method) != 0) {
            res = ROUTE_BAD_METHOD;
            continue;
        }
        memcpy(params, tmp, sizeof(tmp));
        *out = &routes[i];
        return ROUTE_FOUND;
    }
    return res;
}
