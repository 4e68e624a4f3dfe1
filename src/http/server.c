/* server.c - libmicrohttpd glue: one struct req per request, the middleware pipeline, and
 * the limits that keep a hostile client cheap (headers checked before the body, bodies counted
 * server-wide, per-IP and header-timeout connection limits, memory handed back). Clients
 * connect to the relay (relay.c), which checks the framing of every request and hands each
 * connection to libmicrohttpd through a socket pair. */
#include "http/server.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <strings.h>

#include "http/deadline.h"
#include "http/middleware.h"
#include "http/relay.h"
#include "util/config.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/xalloc.h"

struct http_server {
    struct MHD_Daemon **daemons; /* one per relay worker, run by that worker's thread */
    int ndaemons;
    struct relay *relay;       /* the listening socket and every connection's front end */
    struct deadlines *deadlines; /* each request header's deadline (header timeout) */
    const struct route *routes;
    size_t nroutes;
    int port;
    atomic_int inflight;       /* requests received and not yet completed */
    atomic_size_t body_bytes;  /* request body bytes held server-wide (cfg->max_inflight_body) */
    atomic_llong log_second;   /* the second of the last libmicrohttpd messages logged */
    atomic_int log_count;      /* messages logged in that second */
    atomic_int log_dropped;    /* messages dropped since the last one logged */
};

/* What the server keeps per connection (MHD's socket context). */
struct conn_ctx {
    struct deadline *deadline; /* the header deadline */
    struct relay_conn *relay;  /* the relay's side: told of every answer */
};

/* What the server keeps per request beside the struct req the handlers see. */
struct upload {
    struct req req;            /* first: *con_cls points at the upload, handlers get &req */
    size_t counted;            /* body bytes of this request in srv->body_bytes */
    size_t body_peak;          /* the largest the body buffer was (for malloc_trim) */
    struct deadline *deadline; /* the connection's header deadline */
    int discard;               /* the answer was decided on the headers: read, drop the body */
};

#define DRAIN_WAIT_US (30 * 1000000)   /* longest wait for in-flight requests at stop */
#define CONN_POOL_BYTES (64 * 1024)     /* MHD's per-connection memory: above the relay's
                                          * limits on the request line and headers */
#define LINGER_MIN_BYTES (64u * 1024 * 1024) /* body bytes read and dropped before an answer */
#define LINGER_US (30 * 1000000)       /* ... and for at most this long */
#define TRIM_AFTER_BYTES (1024 * 1024) /* malloc_trim() after a body at least this large */
#define MHD_LOG_PER_SECOND 10          /* libmicrohttpd messages logged per second at most */

/* Keep the raw path: we split on '/' first and decode each segment ourselves. Query
 * arguments are decoded by req_query(). */
static size_t keep_raw(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static struct upload *upload_new(struct MHD_Connection *conn, const char *method,
                                 const char *url)
{
    struct arena *a = arena_new();
    struct upload *u = arena_calloc(a, 1, sizeof(*u));
    struct req *req = &u->req;
    const char *q = strchr(url, '?');

    req->conn = conn;
    req->arena = a;
    req->method = arena_strdup(a, method);
    req->path = q ? arena_strndup(a, url, (size_t)(q - url)) : arena_strdup(a, url);
    buf_init(&req->body);
    err_init(&req->err);
    req->started_us = ts_monotonic();
    return u;
}

/* Give the request's body bytes back to the server-wide count, and free its buffer. */
static void drop_body(struct http_server *srv, struct upload *u)
{
    atomic_fetch_sub(&srv->body_bytes, u->counted);
    u->counted = 0;
    if (u->req.body.cap > u->body_peak)
        u->body_peak = u->req.body.cap;
    buf_release(&u->req.body);
}

static void upload_free(struct http_server *srv, struct upload *u)
{
    int big;

    drop_body(srv, u);
    big = u->body_peak >= TRIM_AFTER_BYTES || u->req.dropped >= TRIM_AFTER_BYTES ||
          arena_used(u->req.arena) >= TRIM_AFTER_BYTES;
    err_release(&u->req.err);
    arena_free(u->req.arena);
    /* A large body leaves many small free chunks (JSON copies) that malloc keeps; hand
     * whole free pages back to the system so that the process returns near idle. */
    if (big)
        malloc_trim(0);
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

/* 1 when a body follows the headers (a length above 0, or chunked). */
static int has_body(struct req *req)
{
    return content_length(req) > 0 || req_header(req, "Transfer-Encoding");
}

/* 1 when the client waits for "100 Continue" before it sends the body. */
static int expects_continue(struct req *req)
{
    const char *e = req_header(req, "Expect");

    return e && strcasecmp(e, "100-continue") == 0;
}

/* Body bytes read and dropped before an answer decided early is sent. */
static size_t linger_bytes(void)
{
    return 2 * cfg->max_body_bytes > LINGER_MIN_BYTES ? 2 * cfg->max_body_bytes
                                                      : LINGER_MIN_BYTES;
}

static int set_busy(struct req *req)
{
    req->retry_after = 1;
    return err_set_code(&req->err, ERR_UNAVAILABLE, "service_unavailable",
                        "Server busy: too many request bytes in flight; retry later");
}

/* Count n more body bytes server-wide. A request alone is always admitted up to the body cap;
 * past cfg->max_inflight_body with other bodies in flight it is refused (-1). */
static int reserve(struct http_server *srv, struct upload *u, size_t n)
{
    size_t before = atomic_fetch_add(&srv->body_bytes, n);

    if (before > u->counted && before + n > cfg->max_inflight_body) {
        atomic_fetch_sub(&srv->body_bytes, n);
        return -1;
    }
    u->counted += n;
    return 0;
}

/* The headers are in: decide everything that needs no body (spec order: request id, key,
 * rate limit, tenant, route; then the sizes). An error found here is answered before the body:
 * at once when the client waits for 100 Continue (it then never sends the body) or when the
 * body is too large to drain; otherwise the body is read and dropped and the answer goes out
 * once the client has sent it, so that a client still sending never sees a broken pipe. */
static enum MHD_Result admit(struct http_server *srv, struct upload *u, const char *url)
{
    struct req *req = &u->req;
    long long declared = content_length(req);

    (void)url;
    if (middleware_admit(req, srv->routes, srv->nroutes) == 0) {
        if (declared > (long long)cfg->max_body_bytes)
            req->body_too_large = 1;
        else if (declared > 0 && atomic_load(&srv->body_bytes) > 0 &&
                 atomic_load(&srv->body_bytes) + (size_t)declared > cfg->max_inflight_body)
            set_busy(req);
        else
            return MHD_YES;
    }
    if (!has_body(req))
        return MHD_YES;                       /* answered on the next call, keep-alive */
    if (expects_continue(req) || declared > (long long)linger_bytes())
        return middleware_run(req) == 0 ? MHD_YES : MHD_NO;
    u->discard = 1;
    return MHD_YES;
}

/* Append upload data under the caps, or drop it when the request is already decided. */
static enum MHD_Result take(struct http_server *srv, struct upload *u, const char *data,
                            size_t *size)
{
    struct req *req = &u->req;

    if (!u->discard && !req->body_too_large) {
        if (req->body.len + *size > cfg->max_body_bytes) {
            req->body_too_large = 1;
            drop_body(srv, u);
        } else if (reserve(srv, u, *size) < 0) {
            set_busy(req);
            u->discard = 1;
            drop_body(srv, u);
        } else {
            buf_append(&req->body, data, *size);
        }
    }
    if (u->discard || req->body_too_large) {
        req->dropped += *size;
        if (req->dropped > linger_bytes() || ts_monotonic() - req->started_us > LINGER_US)
            return MHD_NO;                    /* drained long enough: close */
    }
    *size = 0;
    return MHD_YES;
}

/* A header is complete: its deadline is off, and from now on the connection's idle timeout
 * is the keep-alive one (set once per connection; MHD started it with the header timeout). */
static void header_done(struct http_server *srv, struct upload *u)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(u->req.conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_ctx *cc = ci ? ci->socket_context : NULL;

    u->deadline = cc ? cc->deadline : NULL;
    if (u->deadline)
        deadline_disarm(srv->deadlines, u->deadline);
    ci = MHD_get_connection_info(u->req.conn, MHD_CONNECTION_INFO_CONNECTION_TIMEOUT);
    if (!ci || ci->connection_timeout != (unsigned int)cfg->connection_timeout)
        MHD_set_connection_option(u->req.conn, MHD_CONNECTION_OPTION_TIMEOUT,
                                  (unsigned int)cfg->connection_timeout);
}

/* The relay worker that serves conn. */
static struct relay_worker *worker_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_ctx *cc = ci ? ci->socket_context : NULL;

    return cc ? relay_conn_worker(cc->relay) : NULL;
}

void http_wake(struct req *req)
{
    struct MHD_Connection *conn = req->conn;
    struct relay_worker *w;

    if (atomic_exchange(&req->park, HTTP_PARK_DONE) != HTTP_PARK_SUSPENDED)
        return;   /* the worker thread has not parked it: it sees DONE itself */
    /* Suspended: nothing touches the connection until it is resumed, so its worker can be
     * read first; the engine's own wake-up does not reach the relay's epoll set. */
    w = worker_of(conn);
    MHD_resume_connection(conn);
    relay_wake_worker(w);
}

int http_park(struct req *req)
{
    int expect = HTTP_PARK_QUEUED;

    if (atomic_load(&req->park) == HTTP_PARK_DONE)
        return 0;
    MHD_suspend_connection(req->conn);
    if (!atomic_compare_exchange_strong(&req->park, &expect, HTTP_PARK_SUSPENDED)) {
        MHD_resume_connection(req->conn);   /* done in between: MHD calls us again */
        relay_wake_worker(worker_of(req->conn));
    }
    return 1;
}

/* A new connection owes its first header within the header timeout; a closing one is
 * forgotten (before MHD closes its socket). */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *srv = cls;
    const union MHD_ConnectionInfo *ci;
    struct conn_ctx *cc = *socket_context;

    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (cc) {
            deadline_remove(srv->deadlines, cc->deadline);
            relay_release(cc->relay);
            free(cc);
        }
        *socket_context = NULL;
        return;
    }
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return;
    cc = xcalloc(1, sizeof(*cc));
    cc->relay = relay_claim(srv->relay, ci->connect_fd);
    cc->deadline = deadline_add(srv->deadlines, ci->connect_fd,
                                ts_monotonic() + cfg->header_timeout * 1000000LL);
    *socket_context = cc;
}

/* ---- the engine as the relay's workers run it: one daemon per worker thread ---- */

/* The relay hands a client's connection over (fd: MHD's end of the pair). */
static int engine_hand(void *ctx, int worker, int fd, const struct sockaddr *sa,
                       socklen_t salen)
{
    struct http_server *srv = ctx;

    return MHD_add_connection(srv->daemons[worker], fd, sa, salen) == MHD_YES ? 0 : -1;
}

static int engine_fd(void *ctx, int worker)
{
    struct http_server *srv = ctx;
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(srv->daemons[worker], MHD_DAEMON_INFO_EPOLL_FD);

    return info ? info->epoll_fd : -1;
}

static void engine_run(void *ctx, int worker)
{
    struct http_server *srv = ctx;

    MHD_run(srv->daemons[worker]);
}

static int engine_timeout_ms(void *ctx, int worker)
{
    struct http_server *srv = ctx;
    MHD_UNSIGNED_LONG_LONG ms;

    if (MHD_get_timeout(srv->daemons[worker], &ms) != MHD_YES)
        return -1;
    return ms > 60000 ? 60000 : (int)ms;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    struct http_server *srv = cls;
    struct upload *u = *con_cls;
    enum MHD_Result rc;

    (void)version;
    if (!u) {
        u = upload_new(conn, method, url);
        *con_cls = u;
        atomic_fetch_add(&srv->inflight, 1);
        header_done(srv, u);
        return admit(srv, u, url);
    }
    u->req.calls++;
    if (u->req.status)
        return (*upload_data_size = 0), MHD_YES;   /* already answered */
    if (*upload_data_size)
        return take(srv, u, upload_data, upload_data_size);
    rc = middleware_run(&u->req) == 0 ? MHD_YES : MHD_NO;
    if (rc == MHD_YES && u->req.resume && !u->req.status) {
        /* Deferred (http_defer): wait for the other thread without holding this one; MHD
         * calls again once it is done, and middleware_run then runs the reply. */
        if (http_park(&u->req))
            return MHD_YES;
        rc = middleware_run(&u->req) == 0 ? MHD_YES : MHD_NO;
    }
    /* The response is queued (it copied what it needs): the body no longer counts. */
    drop_body(srv, u);
    return rc;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct upload *u = *con_cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_ctx *cc = ci ? ci->socket_context : NULL;

    /* Written out: the relay may now follow it with an answer of its own. */
    if (cc)
        relay_answered(cc->relay);
    if (!u)
        return;
    atomic_fetch_sub(&srv->inflight, 1);
    middleware_log(&u->req, toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
    /* Keep-alive: the next header is due within the idle allowance. */
    if (u->deadline)
        deadline_arm(srv->deadlines, u->deadline,
                     ts_monotonic() + cfg->connection_timeout * 1000000LL);
    upload_free(srv, u);
    *con_cls = NULL;
}

/* Whether one more libmicrohttpd message may be logged this second: a flood of refused
 * connections must not become a flood of log lines. *dropped gets the count dropped before. */
static int mhd_log_allowed(struct http_server *srv, int *dropped)
{
    long long now = ts_monotonic() / 1000000;

    if (atomic_exchange(&srv->log_second, now) != now)
        atomic_store(&srv->log_count, 0);
    if (atomic_fetch_add(&srv->log_count, 1) >= MHD_LOG_PER_SECOND) {
        atomic_fetch_add(&srv->log_dropped, 1);
        return 0;
    }
    *dropped = atomic_exchange(&srv->log_dropped, 0);
    return 1;
}

/* 1 for libmicrohttpd's complaints about its socket pair with the relay, which is not a TCP
 * socket and which the relay closes when it has answered a client itself: they say nothing
 * about any client. */
static int pair_artifact(const char *text)
{
    static const char *const noise[] = {
        "Setting TCP_NODELAY option", "Setting TCP_CORK option", "Failed to push the data",
        "Connection socket is closed when reading request due to the error",
    };
    size_t i;

    for (i = 0; i < sizeof(noise) / sizeof(noise[0]); i++) {
        if (strncmp(text, noise[i], strlen(noise[i])) == 0)
            return 1;
    }
    return 0;
}

/* One warning line of the HTTP edge ("libmicrohttpd: ..." or "relay: ..."), within the
 * budget of MHD_LOG_PER_SECOND lines a second. */
static void log_edge(struct http_server *srv, const char *who, char *text)
{
    size_t n = strlen(text);
    int dropped;

    if (!mhd_log_allowed(srv, &dropped))
        return;
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    if (dropped)
        log_write(LOG_WARN, "%s: %s (%d earlier messages not logged: over %d a second)", who,
                  text, dropped, MHD_LOG_PER_SECOND);
    else
        log_write(LOG_WARN, "%s: %s", who, text);
}

/* libmicrohttpd's own messages go to our log as JSON lines, one per message. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char text[512];

    vsnprintf(text, sizeof(text), fmt, ap);
    if (!pair_artifact(text))
        log_edge(cls, "libmicrohttpd", text);
}

/* A connection the relay refused at a limit. */
static void engine_refused(void *ctx, const char *why)
{
    char text[256];

    snprintf(text, sizeof(text), "%s", why);
    log_edge(ctx, "relay", text);
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
    /* The relay listens and runs one daemon in each of its worker threads (external epoll
     * mode); each daemon gets its worker's connections through MHD_add_connection. The
     * relay enforces the connection caps (MHD's would count per daemon). */
    unsigned int flags = MHD_USE_ERROR_LOG | MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET |
                         MHD_ALLOW_SUSPEND_RESUME;
    const struct relay_engine eng = { engine_hand, engine_fd, engine_run, engine_timeout_ms,
                                      engine_refused, srv };
    int i;

    if (bind_addr(&ss, err) < 0)
        goto cleanup;
    /* Fixed thresholds (glibc otherwise raises them after the first large free): buffers from
     * 128 KiB on are mapped and unmapped, so large bodies never stay in the heap. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
    srv->routes = routes;
    srv->nroutes = nroutes;
    srv->deadlines = deadlines_new();
    srv->daemons = xcalloc((size_t)cfg->workers, sizeof(*srv->daemons));
    for (i = 0; i < cfg->workers; i++) {
        srv->daemons[i] = MHD_start_daemon(
            flags, 0, NULL, NULL, on_access, srv,
            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
            MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
            MHD_OPTION_UNESCAPE_CALLBACK, keep_raw, NULL,
            /* Until a complete header has arrived; then cfg->connection_timeout (on_access). */
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->header_timeout,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_POOL_BYTES,
            MHD_OPTION_END);
        if (!srv->daemons[i]) {
            err_set(err, ERR_INVALID, "cannot start the HTTP engine");
            goto cleanup;
        }
        srv->ndaemons++;
    }
    if (!relay_start(&ss, cfg->workers, cfg->max_connections, cfg->max_connections_per_ip,
                     &eng, &srv->relay, err)) {
        err_set(err, ERR_INVALID, "cannot listen on %s:%d (address in use or not permitted)",
                cfg->host, cfg->port);
        goto cleanup;
    }
    srv->port = relay_port(srv->relay);
    return srv;
cleanup:
    for (i = 0; i < srv->ndaemons; i++)
        MHD_stop_daemon(srv->daemons[i]);
    free(srv->daemons);
    deadlines_free(srv->deadlines);
    free(srv);
    return NULL;
}

void http_server_stop(struct http_server *srv)
{
    if (!srv)
        return;
    if (srv->relay) {
        struct timespec tick = { 0, 10 * 1000 * 1000 };
        int64_t waited = 0;
        int i;

        /* Stop accepting, let requests already received finish, then close: the relay's
         * workers first (they run the daemons), then the daemons. */
        relay_stop_accepting(srv->relay);
        while (atomic_load(&srv->inflight) > 0 && waited < DRAIN_WAIT_US) {
            nanosleep(&tick, NULL);
            waited += 10000;
        }
        relay_stop(srv->relay);
        for (i = 0; i < srv->ndaemons; i++)
            MHD_stop_daemon(srv->daemons[i]);
    }
    free(srv->daemons);
    deadlines_free(srv->deadlines);
    free(srv);
}

int http_server_port(const struct http_server *srv)
{
    return srv->port;
}
