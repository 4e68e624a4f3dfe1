/* ratelimit.c - the rate-limit step of the pipeline: exempt paths, the client's address as
 * the key, and the 429; the budgets themselves are service/ratelimit.c. */
#include "http/ratelimit.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "http/metrics.h"
#include "service/ratelimit.h"
#include "util/config.h"

/* Paths never limited: the probes (spec/api.md §1.7) and, Engram's own, /metrics, so that a
 * scraper neither gets throttled nor spends the budget of clients behind the same address. */
int ratelimit_path_exempt(const char *path)
{
    return strcmp(path, "/healthz") == 0 || strcmp(path, "/health") == 0 ||
           strcmp(path, "/readyz") == 0 || strcmp(path, "/ready") == 0 ||
           strcmp(path, "/metrics") == 0;
}

/* The peer address as text into out; "unknown" when there is none. */
static void client_key(struct req *req, char *out, size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    const char *ok = NULL;

    if (sa && sa->sa_family == AF_INET)
        ok = inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
                       (socklen_t)size);
    else if (sa && sa->sa_family == AF_INET6)
        ok = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
                       (socklen_t)size);
    if (!ok)
        snprintf(out, size, "unknown");
}

int ratelimit_check(struct req *req, struct err *err)
{
    char key[INET6_ADDRSTRLEN + 1];
    int retry;

    if (cfg->rate_limit_rpm <= 0 || ratelimit_path_exempt(req->path))
        return 0;
    client_key(req, key, sizeof(key));
    retry = ratelimit_take(key);
    if (retry == 0)
        return 0;
    req->retry_after = retry;
    metrics_count_rate_limited();
    return err_set_code(err, ERR_RATE_LIMITED, "rate_limited",
                        "Rate limit exceeded. Max %d requests per minute.", cfg->rate_limit_rpm);
}
