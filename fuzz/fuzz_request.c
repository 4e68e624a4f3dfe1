/* fuzz_request.c - whole requests: the input is raw bytes on one connection to the real
 * server (http_server_start with the real route table, middleware and handlers, the service
 * layer and a SQLite database on tmpfs), running in this process. libmicrohttpd parses the
 * bytes, so everything from the request line to the SQL sees them.
 *
 * An input whose header block (up to the first CRLF CRLF) names neither Content-Length nor
 * Transfer-Encoding and is followed by a body gets a Content-Length header for that body:
 * the seeds are stored that way, so a mutated body still arrives whole. An input with its
 * own framing is sent exactly as it is.
 *
 * Invariants: every response the server writes has a valid status line and never the status
 * 500 (a request is a client's doing; the database is healthy), every final answer has an
 * X-Request-ID and no error is an HTML page (broken framing too gets the envelope); a JSON
 * response's body is
 * valid JSON, and an error status (>= 400) with a JSON body carries the error envelope
 * {"error": {...}}; the server closes the connection once the client has (no hang).
 * Memory errors, leaks and undefined behaviour anywhere on the way abort through the
 * sanitizers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "api/api.h"
#include "fuzz.h"
#include "fuzz_server.h"
#include "http/server.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/jv.h"

#define IO_TIMEOUT_S 20 /* longest wait for the server to answer and close */

static struct config config;
static struct http_server *server;
static int port;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char *env[] = { fuzz_db_url,
                    (char *)"STATEWAVE_HOST=127.0.0.1",
                    (char *)"STATEWAVE_PORT=0",
                    (char *)"STATEWAVE_WORKERS=2",
                    (char *)"STATEWAVE_ENABLE_SNAPSHOTS=true",
                    (char *)"STATEWAVE_MAX_BODY_BYTES=1048576",
                    NULL };
    struct err err = ERR_INIT;

    (void)argc, (void)argv;
    signal(SIGPIPE, SIG_IGN);
    fuzz_server_setup(&config, env);
    server = http_server_start(api_routes, api_routes_count, &err);
    FUZZ_CHECK(server != NULL, err.msg);
    port = http_server_port(server);
    return 0;
}

/* Case-insensitive search for header name (with its ':') in the header block. */
static int has_header(const char *head, size_t n, const char *name)
{
    size_t len = strlen(name), i;

    for (i = 0; i + len <= n; i++) {
        if ((i == 0 || head[i - 1] == '\n') && strncasecmp(head + i, name, len) == 0)
            return 1;
    }
    return 0;
}

/* The bytes to send: the input, with a Content-Length header added as described above. */
static void frame(const uint8_t *data, size_t size, struct buf *out)
{
    const char *text = (const char *)data, *end = memmem(text, size, "\r\n\r\n", 4);
    size_t head, body;

    if (!end) {
        buf_append(out, text, size);
        return;
    }
    head = (size_t)(end - text) + 2; /* through the CRLF of the last header line */
    body = size - head - 2;
    if (body == 0 || has_header(text, head, "content-length:") ||
        has_header(text, head, "transfer-encoding:")) {
        buf_append(out, text, size);
        return;
    }
    buf_append(out, text, head);
    buf_printf(out, "Content-Length: %zu\r\n", body);
    buf_append(out, text + head, size - head);
}

static int connect_server(void)
{
    struct sockaddr_in sa;
    struct timeval tv = { IO_TIMEOUT_S, 0 };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    FUZZ_CHECK(fd >= 0, "socket");
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    FUZZ_CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect to the server");
    return fd;
}

/* Send the request, close our side, read everything until the server closes. */
static void exchange(const struct buf *req, struct buf *resp)
{
    int fd = connect_server();
    size_t off = 0;
    char chunk[16384];

    while (off < req->len) {
        ssize_t n = send(fd, req->data + off, req->len - off, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue; /* libFuzzer's -timeout alarm (SIGALRM) interrupts blocking calls */
        if (n <= 0)
            break; /* the server may answer early (413, 400) and close */
        off += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    for (;;) {
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);

        if (n == 0)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (errno != ECONNRESET)
                fprintf(stderr, "recv: %s\n", strerror(errno));
            FUZZ_CHECK(errno == ECONNRESET, "the server neither answered nor closed");
            break;
        }
        buf_append(resp, chunk, (size_t)n);
    }
    close(fd);
}

/* Check one JSON body of status. */
static void check_json(int status, const char *body, size_t n)
{
    struct arena *a = arena_new();
    const struct jv *v = jv_parse(a, body, n, NULL, NULL);

    FUZZ_CHECK(v != NULL, "a JSON response body is not JSON");
    if (status >= 400) {
        const struct jv *e = jv_object_get(v, "error");

        FUZZ_CHECK(e && jv_type(e) == JV_OBJECT, "an error response without the error envelope");
    }
    arena_free(a);
}

/* Check the first response in resp (its body unless the request was HEAD). A pipelined
 * request's answers after the first are not checked: a HEAD among them would make their
 * framing ambiguous. */
static void check_response(const struct buf *resp, int head_request)
{
    const char *p = resp->data, *head_end = memmem(p, resp->len, "\r\n\r\n", 4), *cl;
    size_t head_len, body_len;
    int status;

    if (!head_end)
        return; /* nothing, or cut short: the server may close on garbage */
    head_len = (size_t)(head_end - p) + 4;
    FUZZ_CHECK(head_len > 12 && memcmp(p, "HTTP/1.", 7) == 0 && p[8] == ' ', "not a status line");
    status = atoi(p + 9);
    FUZZ_CHECK(status >= 100 && status <= 599, "status out of range");
    FUZZ_CHECK(status != 500, "500 for a request");
    /* Every final answer is the server's own, framing errors included (the relay's): an
     * X-Request-ID, and no error is libmicrohttpd's HTML page. */
    FUZZ_CHECK(status < 200 || memmem(p, head_len, "X-Request-ID: ", 14), "no X-Request-ID");
    FUZZ_CHECK(status < 400 || !memmem(p, head_len, "text/html", 9), "an HTML error page");
    cl = memmem(p, head_len, "Content-Length: ", 16);
    if (!cl || head_request)
        return; /* chunked (a streamed export) or no body */
    body_len = strtoul(cl + 16, NULL, 10);
    if (body_len > resp->len - head_len)
        return;
    if (memmem(p, head_len, "Content-Type: application/json", 30))
        check_json(status, p + head_len, body_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf req = BUF_INIT, resp = BUF_INIT;

    frame(data, size, &req);
    exchange(&req, &resp);
    check_response(&resp, size >= 5 && memcmp(data, "HEAD ", 5) == 0);
    buf_release(&req);
    buf_release(&resp);
    return 0;
}
