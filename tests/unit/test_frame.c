/* test_frame.c - unit tests for http/frame: the strict HTTP/1.1 framing check in front of
 * libmicrohttpd. Every case is fed whole and one byte at a time: the result must not depend
 * on how the bytes arrive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http/frame.h"

struct outcome {
    int status;              /* 0: no error */
    const char *msg;
    uint64_t requests;       /* complete requests */
    size_t at;               /* bytes accepted */
    int idle;
};

static struct outcome feed_whole(const char *p, size_t n)
{
    struct frame fr;
    struct outcome o;

    frame_init(&fr);
    o.at = frame_feed(&fr, p, n);
    o.status = fr.status;
    o.msg = fr.msg;
    o.requests = fr.requests;
    o.idle = frame_idle(&fr);
    return o;
}

static struct outcome feed_bytes(const char *p, size_t n)
{
    struct frame fr;
    struct outcome o = { 0 };
    size_t i;

    frame_init(&fr);
    for (i = 0; i < n; i++) {
        if (frame_feed(&fr, p + i, 1) != 1)
            break;
    }
    o.at = i;
    o.status = fr.status;
    o.msg = fr.msg;
    o.requests = fr.requests;
    o.idle = frame_idle(&fr);
    return o;
}

/* data (NUL-free text) has `requests` complete requests and then the error status (0: none),
 * whole or byte by byte. */
static void expect(const char *data, uint64_t requests, int status, const char *msg)
{
    size_t n = strlen(data);
    struct outcome a = feed_whole(data, n), b = feed_bytes(data, n);

    if (a.status != status || a.requests != requests)
        fail_msg("%.60s: status %d after %llu requests, want %d after %llu", data, a.status,
                 (unsigned long long)a.requests, status, (unsigned long long)requests);
    assert_int_equal(b.status, a.status);
    assert_int_equal(b.requests, a.requests);
    assert_int_equal(b.at, a.at);
    if (msg)
        assert_string_equal(a.msg, msg);
    if (!status)
        assert_int_equal(a.at, n);
}

#define GET "GET /healthz HTTP/1.1\r\nHost: t\r\n"
#define POST "POST /v1/episodes HTTP/1.1\r\nHost: t\r\n"

static void test_frame_good_requests(void **state)
{
    (void)state;
    expect(GET "\r\n", 1, 0, NULL);
    expect(GET "\r\n" GET "\r\n" GET "\r\n", 3, 0, NULL);
    expect("\r\n\n" GET "\r\n", 1, 0, NULL);
    expect("GET / HTTP/1.0\n\n", 1, 0, NULL);                       /* bare LF */
    expect(POST "Content-Length: 5\r\n\r\nhello" GET "\r\n", 2, 0, NULL);
    expect(POST "Content-Length:  5 \r\nContent-Length: 5\r\n\r\nhello", 1, 0, NULL);
    expect(POST "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 1, 0, NULL);
    expect(POST "Transfer-Encoding: Chunked\r\n\r\n5;a=b\r\nhello\r\n3\r\nabc\r\n0\r\n"
                "X-T: 1\r\n\r\n" GET "\r\n", 2, 0, NULL);
    expect(GET "X-Empty:\r\nX-Obs: caf\xc3\xa9\r\n\r\n", 1, 0, NULL);
    expect(POST "Content-Length: 10\r\n\r\nhel", 0, 0, NULL);       /* body still due */
}

static void test_frame_idle(void **state)
{
    (void)state;
    assert_true(feed_whole(GET "\r\n", strlen(GET "\r\n")).idle);
    assert_false(feed_whole("GE", 2).idle);
    assert_false(feed_whole(POST "Content-Length: 3\r\n\r\n", strlen(POST) + 22).idle);
}

static void test_frame_request_line(void **state)
{
    (void)state;
    expect("GARBAGE\r\n\r\n", 0, 400, "Malformed request line");
    expect("GET /healthz\r\n\r\n", 0, 400, "Malformed request line");
    expect("GET  / HTTP/1.1\r\n\r\n", 0, 400, "Malformed request line");
    expect("GET / HTTP/1.1 \r\n\r\n", 0, 400, "Malformed request line");
    expect("GET / HTTP/1.1\rX\n\r\n", 0, 400, "Malformed request line");
    expect("GET / HTTP/1.10\r\n\r\n", 0, 400, "Malformed request line");
    expect("G@T / HTTP/1.1\r\n\r\n", 0, 400, "Malformed request line");
    expect("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", 0, 400, NULL);
    expect(GET "\r\nBAD\r\n\r\n", 1, 400, "Malformed request line");
    expect("GET / HTTP/2.0\r\n\r\n", 0, 505, NULL);
    expect("GET / HTTP/0.9\r\n\r\n", 0, 505, NULL);
}

static void test_frame_headers(void **state)
{
    (void)state;
    expect(GET "NoColon\r\n\r\n", 0, 400, "Malformed header line");
    expect(GET "Bad Name: x\r\n\r\n", 0, 400, "Malformed header line");
    expect(GET "Name : x\r\n\r\n", 0, 400, "Malformed header line");
    expect(GET " folded\r\n\r\n", 0, 400, "Malformed header line");
    expect(GET ": x\r\n\r\n", 0, 400, "Malformed header line");
    expect(GET "X: a\rb\r\n\r\n", 0, 400, "Malformed header line");
    expect(GET "X: a\x7f\r\n\r\n", 0, 400, "Malformed header line");
}

static void test_frame_lengths(void **state)
{
    (void)state;
    expect(POST "Content-Length: x\r\n\r\n", 0, 400, "Invalid Content-Length header");
    expect(POST "Content-Length:\r\n\r\n", 0, 400, "Invalid Content-Length header");
    expect(POST "Content-Length: 1,1\r\n\r\n", 0, 400, "Invalid Content-Length header");
    expect(POST "Content-Length: 1\r\nContent-Length: 2\r\n\r\n", 0, 400,
           "Conflicting Content-Length headers");
    expect(POST "Content-Length: 9223372036854775807\r\n\r\n", 0, 0, NULL);
    expect(POST "Content-Length: 9223372036854775808\r\n\r\n", 0, 413, NULL);
    expect(POST "Transfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n", 0, 400,
           "Both Content-Length and Transfer-Encoding");
    expect("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400,
           "Transfer-Encoding in an HTTP/1.0 request");
    expect(POST "Transfer-Encoding: gzip\r\n\r\n", 0, 501, NULL);
    expect(POST "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400,
           "Repeated Transfer-Encoding header");
}

static void test_frame_chunks(void **state)
{
    (void)state;
#define TE POST "Transfer-Encoding: chunked\r\n\r\n"
    expect(TE "zz\r\n", 0, 400, "Malformed chunked encoding");
    expect(TE "5x\r\n", 0, 400, "Malformed chunked encoding");
    expect(TE "5 ;a\r\n", 0, 400, "Malformed chunked encoding");
    expect(TE "5\r\nhelloXX", 0, 400, "Malformed chunked encoding");
    expect(TE "0\r\nbad trailer\r\n\r\n", 0, 400, "Malformed chunked encoding");
    expect(TE "0\r\n\rX", 0, 400, "Malformed chunked encoding");
    expect(TE "ffffffffffffffff\r\n", 0, 0, NULL);
    expect(TE "10000000000000000\r\n", 0, 413, NULL);
#undef TE
}

static void test_frame_sizes(void **state)
{
    char buf[40000];
    int i, n;

    (void)state;
    n = snprintf(buf, sizeof(buf), "GET /");
    memset(buf + n, 'a', 8192);
    snprintf(buf + n + 8192, sizeof(buf) - (size_t)n - 8192, " HTTP/1.1\r\n\r\n");
    expect(buf, 0, 414, "URI Too Long (limit 8192 bytes)");
    n = snprintf(buf, sizeof(buf), "GET /?");
    for (i = 0; i < 257; i++)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "a&");
    snprintf(buf + n, sizeof(buf) - (size_t)n, " HTTP/1.1\r\n\r\n");
    expect(buf, 0, 414, "URI Too Long (limit 256 query arguments)");
    n = snprintf(buf, sizeof(buf), GET "X: ");
    memset(buf + n, 'p', 17000);
    snprintf(buf + n + 17000, sizeof(buf) - (size_t)n - 17000, "\r\n\r\n");
    expect(buf, 0, 431, "Request Header Fields Too Large (limit 16384 bytes)");
    n = snprintf(buf, sizeof(buf), GET);
    for (i = 0; i < 101; i++)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "X-%d: 1\r\n", i);
    snprintf(buf + n, sizeof(buf) - (size_t)n, "\r\n");
    expect(buf, 0, 431, "Request Header Fields Too Large (limit 100 fields)");
}

static void test_frame_request_id(void **state)
{
    struct frame fr;
    const char *in = POST "X-Request-ID:  abc-1 \r\nContent-Length: q\r\n\r\n";

    (void)state;
    frame_init(&fr);
    frame_feed(&fr, in, strlen(in));
    assert_int_equal(fr.status, 400);
    assert_string_equal(fr.request_id, "abc-1");
    assert_string_equal(fr.method, "POST");
    /* After an error nothing more is accepted. */
    assert_int_equal(frame_feed(&fr, GET "\r\n", 4), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_good_requests), cmocka_unit_test(test_frame_idle),
        cmocka_unit_test(test_frame_request_line),  cmocka_unit_test(test_frame_headers),
        cmocka_unit_test(test_frame_lengths),       cmocka_unit_test(test_frame_chunks),
        cmocka_unit_test(test_frame_sizes),         cmocka_unit_test(test_frame_request_id),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
