/* fake_http.h - a fake HTTP server for the provider tests (test_embed.c, test_llm.c):
 * libmicrohttpd on a free loopback port, one thread per connection, answering each request
 * through the test's fake_answer_fn and recording what it was asked.
 *
 * Header only: the Makefile links each tests/unit/test_*.c into its own binary and nothing
 * else. Include it once, from the test. It defines the test's `fk` (the server and its
 * record), and its functions are static inline. Use: fake_start() in the group setup,
 * fake_config() for a configuration aimed at the server, fk.answer and fake_reset() before
 * each test's requests, fake_stop() in the group teardown.
 */
#ifndef ENGRAM_TESTS_UNIT_FAKE_HTTP_H
#define ENGRAM_TESTS_UNIT_FAKE_HTTP_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"
#include "util/config.h"

#define FAKE_MAX_RECORDED 64   /* request bodies fk.bodies keeps */

/* How the fake server answers one request (n: 1-based call number): *status (200 unless
 * set), the body in resp (sent as application/json), and *delay_ms to wait before sending. */
typedef void fake_answer_fn(int n, const char *path, const char *body, int *status,
                            struct buf *resp, int *delay_ms);

static struct {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t lock;
    fake_answer_fn *answer;
    int calls;                         /* requests answered so far */
    int in_flight, peak;               /* requests being answered now, and the most at once */
    int gen;                           /* bumped by fake_reset: a straggler from an earlier
                                        * test leaves in_flight alone */
    char path[256];                    /* of the last request */
    char auth[256];                    /* its Authorization header, "" if none */
    struct buf body;                   /* its body */
    char *bodies[FAKE_MAX_RECORDED];   /* request bodies in arrival order (heap) */
    volatile int stopping;             /* ends delays early at teardown */
} fk = { .lock = PTHREAD_MUTEX_INITIALIZER, .body = BUF_INIT };

/* Sleep ms milliseconds in steps of 10, cut short once the server is stopping. */
static inline void fake_sleep(int ms)
{
    struct timespec t = { 0, 10 * 1000000L };
    int i;

    for (i = 0; i < ms / 10 && !fk.stopping; i++)
        nanosleep(&t, NULL);
}

/* Record a request that is about to be answered; its call number, and in *gen the
 * generation to hand to fake_leave. */
static inline int fake_enter(const char *url, const char *auth, const struct buf *body,
                             int *gen)
{
    int n;

    pthread_mutex_lock(&fk.lock);
    *gen = fk.gen;
    n = ++fk.calls;
    if (++fk.in_flight > fk.peak)
        fk.peak = fk.in_flight;
    snprintf(fk.path, sizeof(fk.path), "%s", url);
    snprintf(fk.auth, sizeof(fk.auth), "%s", auth ? auth : "");
    buf_reset(&fk.body);
    buf_append(&fk.body, body->data, body->len);
    if (n <= FAKE_MAX_RECORDED)
        fk.bodies[n - 1] = strdup(body->data);
    pthread_mutex_unlock(&fk.lock);
    return n;
}

static inline void fake_leave(int gen)
{
    pthread_mutex_lock(&fk.lock);
    if (gen == fk.gen)
        fk.in_flight--;
    pthread_mutex_unlock(&fk.lock);
}

/* libmicrohttpd's handler: gathers the upload in *con_cls, then answers through fk.answer. */
static inline enum MHD_Result fake_on_request(void *cls, struct MHD_Connection *c,
                                              const char *url, const char *method,
                                              const char *version, const char *upload,
                                              size_t *upload_size, void **con_cls)
{
    struct buf *body = *con_cls, resp = BUF_INIT;
    struct MHD_Response *r;
    int status = 200, delay = 0, n, gen;
    enum MHD_Result ret;

    (void)cls, (void)method, (void)version;
    if (!body) {
        body = calloc(1, sizeof(*body));
        buf_init(body);
        *con_cls = body;
        return MHD_YES;
    }
    if (*upload_size) {
        buf_append(body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    n = fake_enter(url, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"), body,
                   &gen);
    fk.answer(n, url, body->data, &status, &resp, &delay);
    fake_sleep(delay);
    fake_leave(gen);
    r = MHD_create_response_from_buffer(resp.len, resp.data, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    ret = MHD_queue_response(c, (unsigned int)status, r);
    MHD_destroy_response(r);
    buf_release(&resp);
    return ret;
}

/* Frees the upload buffer of a finished request. */
static inline void fake_on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                                     enum MHD_RequestTerminationCode toe)
{
    struct buf *body = *con_cls;

    (void)cls, (void)c, (void)toe;
    if (body) {
        buf_release(body);
        free(body);
        *con_cls = NULL;
    }
}

/* Forget the recorded bodies and counts; fk.path, fk.auth and fk.body stay until the next
 * request. */
static inline void fake_reset(void)
{
    int i;

    pthread_mutex_lock(&fk.lock);
    for (i = 0; i < FAKE_MAX_RECORDED; i++) {
        free(fk.bodies[i]);
        fk.bodies[i] = NULL;
    }
    fk.calls = fk.in_flight = fk.peak = 0;
    fk.gen++;
    pthread_mutex_unlock(&fk.lock);
}

/* Start the server on 127.0.0.1 and a free port (fk.port); asserts that it started. */
static inline void fake_start(void)
{
    struct sockaddr_in sa;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fk.stopping = 0;
    fk.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                            NULL, NULL, fake_on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_NOTIFY_COMPLETED, fake_on_completed, NULL,
                            MHD_OPTION_END);
    assert_non_null(fk.d);
    fk.port = MHD_get_daemon_info(fk.d, MHD_DAEMON_INFO_BIND_PORT)->port;
    assert_true(fk.port > 0);
}

/* Stop the server (delays end early) and free everything it recorded. */
static inline void fake_stop(void)
{
    fk.stopping = 1;
    MHD_stop_daemon(fk.d);
    fk.d = NULL;
    fake_reset();
    buf_release(&fk.body);
}

/* Requests answered since the last fake_reset. */
static inline int fake_calls(void)
{
    int n;

    pthread_mutex_lock(&fk.lock);
    n = fk.calls;
    pthread_mutex_unlock(&fk.lock);
    return n;
}

/* ---- the client's configuration ---- */

static char fake_base_url[64];   /* "http://127.0.0.1:<fk.port>", for fake_config */

/* Reset *c to the settings the tests start from, the OpenAI-compatible client aimed at the
 * server: API base http://127.0.0.1:<fk.port>, key "sk-test-key", chat model "gpt-test",
 * embedding model "embed-test", a 5 s timeout, 2 retries, temperature 0.1, everything else
 * zero. The test sets what it needs on top and points cfg at *c. */
static inline void fake_config(struct config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(fake_base_url, sizeof(fake_base_url), "http://127.0.0.1:%d", fk.port);
    c->llm_api_base = fake_base_url;
    c->llm_api_key = (char *)"sk-test-key";
    c->llm_model = (char *)"gpt-test";
    c->llm_embedding_model = (char *)"embed-test";
    c->llm_timeout = 5;
    c->llm_max_retries = 2;
    c->llm_temperature = 0.1;
}

#endif
