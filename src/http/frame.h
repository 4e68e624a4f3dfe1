/* frame.h - a strict, incremental HTTP/1.1 request framing check (RFC 9112).
 *
 * The front end (relay.c) feeds every byte a client sends through it before libmicrohttpd
 * sees it: request lines, header lines, Content-Length and Transfer-Encoding framing, chunk
 * sizes and trailers. The first byte that breaks the grammar or a limit stops it with the
 * status and message of the JSON error to answer; libmicrohttpd only ever receives requests
 * whose framing is sound, so its own HTML error pages are out of reach. Bodies are counted,
 * never copied. */
#ifndef ENGRAM_HTTP_FRAME_H
#define ENGRAM_HTTP_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "http/req.h"

#define FRAME_URI_MAX 8192        /* request targets longer than this: 414 */
#define FRAME_HEADERS_MAX 16384   /* header (or trailer) section bytes past this: 431 */
#define FRAME_FIELDS_MAX 100      /* header fields past this many: 431 */
#define FRAME_ARGS_MAX 256        /* query arguments past this many: 414 */
#define FRAME_METHOD_MAX 32       /* longer methods: 400 */
#define FRAME_VALUE_KEEP 160      /* bytes of a header value kept (those the framing reads) */

struct frame {
    int state;
    size_t line;                  /* bytes of the current line (chunk lines, the version) */
    size_t target;                /* bytes of the request target */
    size_t args;                  /* query arguments in the target */
    size_t head;                  /* bytes of the header or trailer section */
    size_t fields;                /* header fields */
    uint64_t remaining;           /* body bytes (Content-Length) or chunk bytes still due */
    uint64_t content_length;
    int has_length;               /* a Content-Length header was seen */
    int chunked;                  /* Transfer-Encoding: chunked */
    int http10;                   /* HTTP/1.0 */
    int chunk_digits;             /* hex digits of the chunk size so far */
    char version[16];             /* the HTTP-version text */
    char name[32];                /* the header name (cut: only known names matter) */
    size_t name_len;
    char value[FRAME_VALUE_KEEP + 1];
    size_t value_len;
    char method[FRAME_METHOD_MAX + 1];
    size_t method_len;
    char request_id[REQUEST_ID_MAX + 1]; /* the X-Request-ID header, when one was sent */
    uint64_t requests;            /* requests complete so far */
    int status;                   /* 0, or the error status once the framing broke */
    const char *msg;              /* its message (NULL for 413: the body cap's own) */
};

/* Ready for the first request of a connection. */
void frame_init(struct frame *fr);
/* Check the next n bytes. Returns n, or the offset of the byte that broke the framing (then
 * fr->status and fr->msg say how; every later call returns 0). Requests that end within the
 * bytes are counted in fr->requests. */
size_t frame_feed(struct frame *fr, const char *p, size_t n);
/* 1 when no request is under way (between requests). */
int frame_idle(const struct frame *fr);

#endif
