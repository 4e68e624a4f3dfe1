/* server.c - libmicrohttpd glue: one struct req per request, the middleware pipeline. */
#include "http/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <strings.h>

#include "http/middleware.h"
#include "util/config.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/xalloc.h"

struct http_server {
    struct MHD_Daemon *daemon;
    const struct route *routes;
    size_t nroutes;
    int port;
    atomic_int inflight;       /* requests received and not yet completed */
};

#define DRAIN_WAIT_US (30 * 1000000)   /* longest wait for in-flight requests at stop */

/* Keep the raw path: we split on '/' first and decode each segment ourselves. Query
 * arguments are decoded by req_query(). */
static size_t keep_raw(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static struct req *req_new(struct MHD_Connection *conn, const char *method, const char *url)
{
    struct arena *a = arena_new();
    struct req *req = arena_calloc(a, 1, sizeof(*req));
    const char *q = strchr(url, '?');

    req->conn = conn;
    req->arena = a;
    req->method = arena_strdup(a, method);
    req->path = q ? arena_strndup(a, url, (size_t)(q - url)) : arena_strdup(a, url);
    buf_init(&req->body);
    err_init(&req->err);
    req->started_us = ts_monotonic();
    return req;
}

static void req_free(struct req *req)
{
    buf_release(&req->body);
    err_release(&req->err);
    arena_free(req->arena);
}

/* The declared Content-Length, or -1 when absent or malformed. */
static long long content_length(struct req *req)
{
    const char *cl = req_header(req, "Content-Length");
    char *end;
    unsigned long long n;

    if (!cl)
        return -1;
    n = strtoull(cl, &end, 10);
    return end == cl || *end || n > (unsigned long long)INT64_MAX ? -1 : (long long)n;
}

/* Append upload data under the running cap. Past the cap the rest is read and dropped (MHD
 * cannot answer in the middle of an upload) and the 413 goes out at the end; a client that
 * keeps sending more than twice the cap is disconnected. Returns -1 to disconnect. */
static int collect(struct req *req, const char *data, size_t *size)
{
    if (!req->body_too_large) {
        if (req->body.len + *size > cfg->max_body_bytes) {
            req->body_too_large = 1;
            buf_release(&req->body);
        } else {
            buf_append(&req->body, data, *size);
        }
    }
    if (req->body_too_large) {
        req->dropped += *size;
        if (req->dropped > cfg->max_body_bytes * 2)
            return -1;
    }
    *size = 0;
    return 0;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    struct http_server *srv = cls;
    struct req *req = *con_cls;
    long long declared;

    (void)version;
    if (!req) {
        req = req_new(conn, method, url);
        *con_cls = req;
        atomic_fetch_add(&srv->inflight, 1);
        declared = content_length(req);
        if (declared > (long long)cfg->max_body_bytes) {
            /* Refuse before reading the body; the connection is closed after. */
            req->body_too_large = 1;
            return middleware_run(req, srv->routes, srv->nroutes) == 0 ? MHD_YES : MHD_NO;
        }
        if (declared > 0)
            buf_grow(&req->body, (size_t)declared);   /* one allocation of the right size */
        return MHD_YES;
    }
    req->calls++;
    if (req->status)
        return (*upload_data_size = 0), MHD_YES;   /* already answered (413) */
    if (*upload_data_size)
        return collect(req, upload_data, upload_data_size) == 0 ? MHD_YES : MHD_NO;
    return middleware_run(req, srv->routes, srv->nroutes) == 0 ? MHD_YES : MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct req *req = *con_cls;

    (void)conn;
    if (!req)
        return;
    atomic_fetch_sub(&srv->inflight, 1);
    middleware_log(req, toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
    req_free(req);
    *con_cls = NULL;
}

static int bind_addr(struct sockaddr_storage *ss, struct err *err)
{
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    const char *host = strcmp(cfg->host, "localhost") == 0 ? "127.0.0.1" : cfg->host;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)cfg->port);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)cfg->port);
        return 0;
    }
    return err_set(err, ERR_INVALID, "STATEWAVE_HOST: not an IP address: '%s'", cfg->host);
}

struct http_server *http_server_start(const struct route *routes, size_t nroutes,
                                      struct err *err)
{
    struct http_server *srv = xcalloc(1, sizeof(*srv));
    struct sockaddr_storage ss;
    /* poll(), not epoll: libmicrohttpd 0.9.75 can abort in MHD_quiesce_daemon() when a
     * worker removed the listen socket from its epoll set at the same moment. */
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG |
                         MHD_USE_ITC;
    const union MHD_DaemonInfo *info;

    if (bind_addr(&ss, err) < 0)
        goto fail;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    srv->routes = routes;
    srv->nroutes = nroutes;
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_access, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->workers,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_UNESCAPE_CALLBACK, keep_raw, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->connection_timeout,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)4096,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
        MHD_OPTION_END);
    if (!srv->daemon) {
        err_set(err, ERR_INVALID, "cannot listen on %s:%d (address in use or not permitted)",
                cfg->host, cfg->port);
        goto fail;
    }
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : cfg->port;
    return srv;
fail:
    free(srv);
    return NULL;
}

void http_server_stop(struct http_server *srv)
{
    if (!srv)
        return;
    if (srv->daemon) {
        struct timespec tick = { 0, 10 * 1000 * 1000 };
        int64_t waited = 0;

        /* Stop accepting, let requests already received finish, then close. */
        MHD_quiesce_daemon(srv->daemon);
        while (atomic_load(&srv->inflight) > 0 && waited < DRAIN_WAIT_US) {
            nanosleep(&tick, NULL);
            waited += 10000;
        }
        MHD_stop_daemon(srv->daemon);
    }
    free(srv);
}

int http_server_port(const struct http_server *srv)
{
    return srv->port;
}
