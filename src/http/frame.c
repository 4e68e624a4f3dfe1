/* frame.c - a strict, incremental HTTP/1.1 request framing check (see frame.h). One byte at a
 * time through the head and the chunk lines; bodies and chunk data are skipped in one step. */
#include "http/frame.h"

#include <string.h>
#include <strings.h>

enum {
    F_START,        /* before a request line (empty lines are skipped) */
    F_START_LF,     /* a CR before the request line: LF due */
    F_METHOD,
    F_TARGET,
    F_VERSION,
    F_LINE_LF,      /* CR after the request line: LF due */
    F_FIELD,        /* start of a header line (or the end of the head) */
    F_NAME,
    F_VALUE,
    F_VALUE_LF,     /* CR after a header value: LF due */
    F_HEAD_LF,      /* CR of the empty line ending the head: LF due */
    F_BODY,         /* Content-Length body bytes */
    F_CHUNK_SIZE,
    F_CHUNK_EXT,    /* after the size: whitespace and extensions up to the line end */
    F_CHUNK_LF,     /* CR after the chunk line: LF due */
    F_CHUNK_DATA,
    F_DATA_CR,      /* CRLF after chunk data */
    F_DATA_LF,
    F_TRAILER,      /* start of a trailer line (or the end of the message) */
    F_TRAILER_LINE,
    F_TRAILER_LF,
    F_END_LF,       /* CR of the empty line ending the trailers: LF due */
    F_FAILED
};

#define EMPTY_LINES_MAX 8       /* empty lines accepted before a request line */
#define CHUNK_LINE_MAX 4096     /* chunk size line with its extensions */
#define CHUNK_DIGITS_MAX 16     /* hex digits of a chunk size (64 bits) */

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A field-value or extension byte: visible ASCII, space, tab, or obs-text. */
static int is_field_byte(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static void reset_request(struct frame *fr)
{
    uint64_t requests = fr->requests;

    memset(fr, 0, sizeof(*fr));
    fr->requests = requests;
    fr->state = F_START;
}

void frame_init(struct frame *fr)
{
    memset(fr, 0, sizeof(*fr));
    fr->state = F_START;
}

int frame_idle(const struct frame *fr)
{
    return fr->state == F_START && fr->line == 0;
}

static int fail(struct frame *fr, int status, const char *msg)
{
    fr->status = status;
    fr->msg = msg;
    fr->state = F_FAILED;
    return -1;
}

static void finish_request(struct frame *fr)
{
    fr->requests++;
    reset_request(fr);
}

/* The HTTP-version text of the request line: HTTP/1.x, else 505 for another major version
 * and 400 for anything that is not a version. */
static int check_version(struct frame *fr)
{
    const char *v = fr->version;

    if (fr->line != 8 || strncmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' ||
        v[6] != '.' || v[7] < '0' || v[7] > '9')
        return fail(fr, 400, "Malformed request line");
    if (v[5] != '1')
        return fail(fr, 505, "HTTP Version Not Supported (only HTTP/1.0 and HTTP/1.1)");
    fr->http10 = v[7] == '0';
    return 0;
}

/* Trim optional whitespace around the kept value. */
static const char *trimmed_value(struct frame *fr, size_t *len)
{
    const char *v = fr->value;
    size_t n = fr->value_len < FRAME_VALUE_KEEP ? fr->value_len : FRAME_VALUE_KEEP;

    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    *len = n;
    return v;
}

static int content_length_field(struct frame *fr, const char *v, size_t n)
{
    uint64_t cl = 0;
    size_t i;

    if (n == 0)
        return fail(fr, 400, "Invalid Content-Length header");
    for (i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return fail(fr, 400, "Invalid Content-Length header");
    }
    for (i = 0; i < n; i++) {
        uint64_t d = (uint64_t)(v[i] - '0');

        if (cl > (INT64_MAX - d) / 10 || fr->value_len > FRAME_VALUE_KEEP)
            return fail(fr, 413, NULL);    /* past 63 bits: no body cap can admit it */
        cl = cl * 10 + d;
    }
    if (fr->has_length && cl != fr->content_length)
        return fail(fr, 400, "Conflicting Content-Length headers");
    fr->has_length = 1;
    fr->content_length = cl;
    return 0;
}

/* A complete header line: the fields that frame the body are checked. */
static int end_field(struct frame *fr)
{
    size_t n;
    const char *v = trimmed_value(fr, &n);

    if (++fr->fields > FRAME_FIELDS_MAX)
        return fail(fr, 431, "Request Header Fields Too Large (limit 100 fields)");
    if (fr->name_len == 14 && strncasecmp(fr->name, "Content-Length", 14) == 0)
        return content_length_field(fr, v, n);
    if (fr->name_len == 17 && strncasecmp(fr->name, "Transfer-Encoding", 17) == 0) {
        if (fr->chunked)
            return fail(fr, 400, "Repeated Transfer-Encoding header");
        if (n != 7 || strncasecmp(v, "chunked", 7) != 0)
            return fail(fr, 501, "Transfer-Encoding not supported (only chunked)");
        fr->chunked = 1;
        return 0;
    }
    if (fr->name_len == 12 && strncasecmp(fr->name, "X-Request-ID", 12) == 0 &&
        fr->value_len <= REQUEST_ID_MAX) {
        memcpy(fr->request_id, v, n);
        fr->request_id[n] = '\0';
    }
    return 0;
}

/* The empty line after the headers: what follows is the body, if any. */
static int end_head(struct frame *fr)
{
    if (fr->chunked && fr->has_length)
        return fail(fr, 400, "Both Content-Length and Transfer-Encoding");
    if (fr->chunked && fr->http10)
        return fail(fr, 400, "Transfer-Encoding in an HTTP/1.0 request");
    fr->head = 0;
    fr->line = 0;
    fr->name_len = 0;
    fr->value_len = 0;
    if (fr->chunked) {
        fr->state = F_CHUNK_SIZE;
    } else if (fr->content_length > 0) {
        fr->remaining = fr->content_length;
        fr->state = F_BODY;
    } else {
        finish_request(fr);
    }
    return 0;
}

/* One byte of the request line. */
static int line_byte(struct frame *fr, unsigned char c)
{
    switch (fr->state) {
    case F_START:
        if (c == '\r' || c == '\n') {
            if (++fr->line > EMPTY_LINES_MAX)
                return fail(fr, 400, "Malformed request line");
            fr->state = c == '\r' ? F_START_LF : F_START;
            return 0;
        }
        fr->line = 0;
        fr->state = F_METHOD;
        /* fall through */
    case F_METHOD:
        if (c == ' ' && fr->method_len > 0) {
            fr->state = F_TARGET;
            return 0;
        }
        if (!is_tchar(c) || fr->method_len >= FRAME_METHOD_MAX)
            return fail(fr, 400, "Malformed request line");
        fr->method[fr->method_len++] = (char)c;
        return 0;
    case F_START_LF:
        if (c != '\n')
            return fail(fr, 400, "Malformed request line");
        fr->state = F_START;
        return 0;
    case F_TARGET:
        if (c == ' ' && fr->target > 0) {
            fr->state = F_VERSION;
            fr->line = 0;
            return 0;
        }
        if (c <= 0x20 || c == 0x7f)
            return fail(fr, 400, "Malformed request line");
        if (++fr->target > FRAME_URI_MAX)
            return fail(fr, 414, "URI Too Long (limit 8192 bytes)");
        if ((c == '&' || c == ';' || c == '?') && ++fr->args > FRAME_ARGS_MAX)
            return fail(fr, 414, "URI Too Long (limit 256 query arguments)");
        return 0;
    case F_VERSION:
        if (c == '\r' || c == '\n') {
            if (check_version(fr) < 0)
                return -1;
            fr->state = c == '\r' ? F_LINE_LF : F_FIELD;
            return 0;
        }
        if (fr->line >= sizeof(fr->version) - 1)
            return fail(fr, 400, "Malformed request line");
        fr->version[fr->line++] = (char)c;
        return 0;
    case F_LINE_LF:
        if (c != '\n')
            return fail(fr, 400, "Malformed request line");
        fr->state = F_FIELD;
        return 0;
    }
    return fail(fr, 400, "Malformed request line");
}

/* One byte of the header section. */
static int head_byte(struct frame *fr, unsigned char c)
{
    if (++fr->head > FRAME_HEADERS_MAX)
        return fail(fr, 431, "Request Header Fields Too Large (limit 16384 bytes)");
    switch (fr->state) {
    case F_FIELD:
        if (c == '\r' || c == '\n') {
            fr->state = F_HEAD_LF;
            return c == '\n' ? end_head(fr) : 0;
        }
        fr->name_len = 0;
        fr->value_len = 0;
        fr->state = F_NAME;
        /* fall through */
    case F_NAME:
        if (c == ':' && fr->name_len > 0) {
            fr->state = F_VALUE;
            return 0;
        }
        if (!is_tchar(c))
            return fail(fr, 400, "Malformed header line");
        if (fr->name_len < sizeof(fr->name))
            fr->name[fr->name_len] = (char)c;
        fr->name_len++;
        return 0;
    case F_VALUE:
        if (c == '\r' || c == '\n') {
            fr->state = c == '\r' ? F_VALUE_LF : F_FIELD;
            return c == '\n' ? end_field(fr) : 0;
        }
        if (!is_field_byte(c))
            return fail(fr, 400, "Malformed header line");
        if (fr->value_len < FRAME_VALUE_KEEP)
            fr->value[fr->value_len] = (char)c;
        fr->value_len++;
        return 0;
    case F_VALUE_LF:
        if (c != '\n')
            return fail(fr, 400, "Malformed header line");
        fr->state = F_FIELD;
        return end_field(fr);
    case F_HEAD_LF:
        if (c != '\n')
            return fail(fr, 400, "Malformed header line");
        return end_head(fr);
    }
    return fail(fr, 400, "Malformed header line");
}

/* One byte of a chunk line, the CRLF after chunk data, or the trailers. */
static int chunk_byte(struct frame *fr, unsigned char c)
{
    int h;

    switch (fr->state) {
    case F_CHUNK_SIZE:
        h = http_hexval((char)c);
        if (h >= 0) {
            if (++fr->chunk_digits > CHUNK_DIGITS_MAX)
                return fail(fr, 413, NULL);
            fr->remaining = fr->remaining * 16 + (uint64_t)h;
            fr->line++;
            return 0;
        }
        if (fr->chunk_digits == 0)
            return fail(fr, 400, "Malformed chunked encoding");
        fr->state = F_CHUNK_EXT;
        /* fall through */
    case F_CHUNK_EXT:
        /* ";" extension ... (RFC 9112 allows whitespace before the ';', libmicrohttpd
         * does not: refused here rather than by its HTML page). */
        if (c == '\r') {
            fr->state = F_CHUNK_LF;
            return 0;
        }
        if (c != '\n') {
            if (c == ';')
                fr->value_len = 1;
            else if (!fr->value_len)
                return fail(fr, 400, "Malformed chunked encoding");
            if (!is_field_byte(c) || ++fr->line > CHUNK_LINE_MAX)
                return fail(fr, 400, "Malformed chunked encoding");
            return 0;
        }
        /* fall through */
    case F_CHUNK_LF:
        if (c != '\n')
            return fail(fr, 400, "Malformed chunked encoding");
        fr->line = 0;
        fr->chunk_digits = 0;
        fr->value_len = 0;
        fr->state = fr->remaining ? F_CHUNK_DATA : F_TRAILER;
        return 0;
    case F_DATA_CR:
        if (c == '\n') {
            fr->state = F_CHUNK_SIZE;
            return 0;
        }
        if (c != '\r')
            return fail(fr, 400, "Malformed chunked encoding");
        fr->state = F_DATA_LF;
        return 0;
    case F_DATA_LF:
        if (c != '\n')
            return fail(fr, 400, "Malformed chunked encoding");
        fr->state = F_CHUNK_SIZE;
        return 0;
    }
    return fail(fr, 400, "Malformed chunked encoding");
}

/* One byte of the trailer section (header lines, not interpreted). */
static int trailer_byte(struct frame *fr, unsigned char c)
{
    if (++fr->head > FRAME_HEADERS_MAX)
        return fail(fr, 431, "Request Header Fields Too Large (limit 16384 bytes)");
    switch (fr->state) {
    case F_TRAILER:
        if (c == '\r') {
            fr->state = F_END_LF;
            return 0;
        }
        if (c == '\n') {
            finish_request(fr);
            return 0;
        }
        fr->name_len = 0;
        fr->value_len = 0;
        fr->state = F_TRAILER_LINE;
        /* fall through */
    case F_TRAILER_LINE:
        /* name ":" value, the name a token, the value field bytes. */
        if (c == '\r' || c == '\n') {
            if (!fr->value_len)
                return fail(fr, 400, "Malformed chunked encoding");
            fr->state = c == '\r' ? F_TRAILER_LF : F_TRAILER;
            return 0;
        }
        if (fr->value_len) {
            if (!is_field_byte(c))
                return fail(fr, 400, "Malformed chunked encoding");
        } else if (c == ':' && fr->name_len) {
            fr->value_len = 1;
        } else if (is_tchar(c)) {
            fr->name_len++;
        } else {
            return fail(fr, 400, "Malformed chunked encoding");
        }
        return 0;
    case F_TRAILER_LF:
    case F_END_LF:
        if (c != '\n')
            return fail(fr, 400, "Malformed chunked encoding");
        if (fr->state == F_END_LF)
            finish_request(fr);
        else
            fr->state = F_TRAILER;
        return 0;
    }
    return fail(fr, 400, "Malformed chunked encoding");
}

size_t frame_feed(struct frame *fr, const char *p, size_t n)
{
    size_t i = 0;
    int rc;

    if (fr->state == F_FAILED)
        return 0;
    while (i < n) {
        unsigned char c = (unsigned char)p[i];

        switch (fr->state) {
        case F_BODY:
        case F_CHUNK_DATA: {
            size_t take = n - i < fr->remaining ? n - i : (size_t)fr->remaining;

            fr->remaining -= take;
            i += take;
            if (fr->remaining == 0) {
                if (fr->state == F_BODY)
                    finish_request(fr);
                else
                    fr->state = F_DATA_CR;
            }
            continue;
        }
        case F_START:
        case F_START_LF:
        case F_METHOD:
        case F_TARGET:
        case F_VERSION:
        case F_LINE_LF:
            rc = line_byte(fr, c);
            break;
        case F_FIELD:
        case F_NAME:
        case F_VALUE:
        case F_VALUE_LF:
        case F_HEAD_LF:
            rc = head_byte(fr, c);
            break;
        case F_TRAILER:
        case F_TRAILER_LINE:
        case F_TRAILER_LF:
        case F_END_LF:
            rc = trailer_byte(fr, c);
            break;
        default:
            rc = chunk_byte(fr, c);
            break;
        }
        if (rc < 0)
            return i;
        i++;
    }
    return n;
}
