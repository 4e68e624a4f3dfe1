/* req.h - one HTTP request as the handlers see it, and the reply helpers.
 * Everything hanging off a request is allocated from req->arena and freed with it. */
#ifndef ENGRAM_HTTP_REQ_H
#define ENGRAM_HTTP_REQ_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"

struct MHD_Connection;
struct MHD_Response;
struct route;
struct jv;
struct req;

/* A deferred reply (http_defer): runs on the connection's worker thread once the work is
 * done, and replies (0), or returns -1 with req->err set. */
typedef int http_resume_fn(struct req *req, void *ctx);

#define REQ_MAX_PARAMS 4
#define REQUEST_ID_MAX 128

struct req {
    struct MHD_Connection *conn;
    struct arena *arena;          /* freed when the request completes */
    const char *method;
    const char *path;             /* raw (still percent-encoded) path, no query */
    struct buf body;              /* collected upload, capped at cfg->max_body_bytes */
    int body_too_large;           /* the cap was passed: answer 413 */
    size_t dropped;               /* upload bytes read and dropped past the cap */
    char request_id[REQUEST_ID_MAX + 1];
    const char *tenant;           /* tenant header value; NULL = no tenant */
    const struct route *route;    /* matched route, NULL before routing */
    const char *params[REQ_MAX_PARAMS]; /* percent-decoded path parameters, in pattern order */
    struct err err;               /* filled by a handler that returns -1 */
    int64_t started_us;           /* monotonic start time */
    int status;                   /* status of the reply sent, 0 before */
    int calls;                    /* access-handler calls so far */
    int retry_after;              /* > 0: the reply carries Retry-After (429, rate limiter) */
    http_resume_fn *resume;       /* http_defer: the reply still to run, NULL otherwise */
    void *resume_ctx;
    atomic_int park;              /* http_defer's hand-off between the two threads */
};

/* Defer the reply (issue 22): a handler that handed its work to another thread calls this and
 * returns 0 without replying. The connection waits without holding its worker thread (which
 * serves its other connections meanwhile) until the other thread calls http_wake(req); then
 * fn(req, ctx) runs on the worker thread and replies. The request, its arena and its body stay
 * alive until then. */
void http_defer(struct req *req, http_resume_fn *fn, void *ctx);
/* http_defer's states: the worker thread parks the connection (SUSPENDED) unless the other
 * thread finished first (DONE); whichever comes second resumes it. */
enum { HTTP_PARK_NONE, HTTP_PARK_QUEUED, HTTP_PARK_SUSPENDED, HTTP_PARK_DONE };
/* The deferred work of req is done (call once, from any thread; req must not be touched by
 * the caller afterwards). */
void http_wake(struct req *req);
/* Server side of http_defer, after the handler returned: 1 when the connection is now
 * suspended until http_wake, 0 when the work was already done (run req->resume now). */
int http_park(struct req *req);

/* Reply with status and the JSON body (borrowed; written compactly by jv_write_compact).
 * Returns 0, or -1 if the response could not be queued. */
int http_reply_json(struct req *req, int status, const struct jv *body);
/* The same for a body already written as compact JSON into body, whose text is taken (body
 * is left empty). */
int http_reply_buf(struct req *req, int status, struct buf *body);
/* 1 if e is a store failure: 500 internal_error, or a 503 of a database that cannot serve now
 * (service_unavailable, database_full, database_readonly: answered with Retry-After). */
int http_err_is_database(const struct err *e);
/* Reply with the error envelope built from req->err (or e when non-NULL). Returns 0. */
int http_reply_error(struct req *req, const struct err *e);
/* Reply with a plain-text body. Returns 0. */
int http_reply_text(struct req *req, int status, const char *text);

/* Reply with status, content type ctype and the len bytes at data, which are not copied and
 * must outlive the response (data compiled into the binary). headers: NULL, or name/value
 * pairs ending with NULL, added to the reply. Returns 0, or -1 if it could not be queued. */
int http_reply_static(struct req *req, int status, const char *ctype, const void *data,
                      size_t len, const char *const *headers);

/* A streamed body (http_reply_stream): append the next bytes to out and return 1 while more
 * follows, 0 once the body is complete, -1 on a failure (the connection is then closed
 * without the end of the body, so the client sees a truncated response). It runs on the
 * worker thread of the connection, between the reads of other connections of that thread. */
typedef int http_stream_fn(void *ctx, struct buf *out);
/* Releases ctx once the response is done: complete, failed, or dropped by the client. */
typedef void http_stream_free_fn(void *ctx);

/* Reply with status and a body of content type ctype produced by fn as the client reads it
 * (chunked transfer encoding; memory stays bounded by what one fn call appends). ctx belongs
 * to the response from this call on: free_fn(ctx) runs exactly once, also when queueing
 * fails. Returns 0, or -1 if the response could not be queued. */
int http_reply_stream(struct req *req, int status, const char *ctype, http_stream_fn *fn,
                      http_stream_free_fn *free_fn, void *ctx);

/* Request header (case-insensitive name) or NULL. */
const char *req_header(struct req *req, const char *name);
/* Query parameter, percent-decoded ('+' is a space), or NULL when absent. */
const char *req_query(struct req *req, const char *name);

/* req_query(), with an empty value read as absent (NULL): a filter parameter, where
 * "?status=" means no filter. */
const char *req_query_filter(struct req *req, const char *name);
/* The value of hex digit c (either case), or -1. */
int http_hexval(char c);
/* Percent-decode s (n bytes) into the arena. plus_space: '+' means ' ' (query strings).
 * Returns NULL if the result would contain a NUL byte or invalid escapes are kept verbatim. */
char *http_decode(struct arena *a, const char *s, size_t n, int plus_space);

#endif
