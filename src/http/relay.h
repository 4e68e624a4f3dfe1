/* relay.h - the server's front end: it owns the listening socket, and every client connection
 * reaches libmicrohttpd through it (a socket pair per connection, handed over with
 * MHD_add_connection). Each byte a client sends passes the strict framing check of frame.h on
 * its way; the first request whose framing is broken (malformed request line or header line,
 * bad Content-Length, bad chunk, HTTP major version other than 1, target or headers past
 * their limits) is answered here with the JSON error envelope and an X-Request-ID, after the
 * answers to the requests before it, and the connection is closed. libmicrohttpd therefore
 * never sees a request it would answer with its own HTML page. */
#ifndef ENGRAM_HTTP_RELAY_H
#define ENGRAM_HTTP_RELAY_H

#include <sys/socket.h>

#include "util/err.h"

struct relay;
struct relay_conn;
struct relay_worker;

/* The HTTP engine (libmicrohttpd), one instance per worker thread of the relay: each worker
 * runs the relay's connections and its engine in the same thread, so that a request and its
 * answer cross no thread. */
struct relay_engine {
    /* Hand fd (the engine's end of a new connection, client address sa) to worker's engine.
     * Returns 0, or -1 when it was refused (fd is closed by then in either case). */
    int (*hand)(void *ctx, int worker, int fd, const struct sockaddr *sa, socklen_t salen);
    /* The descriptor that becomes readable when worker's engine has work (an epoll set). */
    int (*fd)(void *ctx, int worker);
    /* Let worker's engine do what it can without waiting. */
    void (*run)(void *ctx, int worker);
    /* Milliseconds until worker's engine must run again (its timeouts), -1: no limit. */
    int (*timeout_ms)(void *ctx, int worker);
    /* A connection was refused by a limit (text says which); the caller logs it. */
    void (*refused)(void *ctx, const char *text);
    void *ctx;
};

/* Listen on ss (port 0: any free port) and start `workers` worker threads. At most
 * max_conns client connections at once, and max_per_ip from one address (0: no cap); more are
 * closed at once. *out is set before the first connection can reach the engine. NULL (and
 * *out NULL) with err set on failure. */
struct relay *relay_start(const struct sockaddr_storage *ss, int workers, int max_conns,
                          int max_per_ip, const struct relay_engine *eng, struct relay **out,
                          struct err *err);
/* The port listened on. */
int relay_port(const struct relay *rl);
/* The engine starts serving the connection whose engine-side socket is fd: the connection
 * stays allocated until relay_release. NULL when fd is not (or no longer) the relay's. */
struct relay_conn *relay_claim(struct relay *rl, int fd);
/* One request of the connection was answered (its response fully written by the engine). */
void relay_answered(struct relay_conn *c);
/* The worker thread that serves c (it lives until relay_stop). */
struct relay_worker *relay_conn_worker(struct relay_conn *c);
/* Make worker run its engine soon (any thread): a connection the engine resumed from another
 * thread has work that no socket of the worker announces. */
void relay_wake_worker(struct relay_worker *worker);
/* The engine is done with the connection. */
void relay_release(struct relay_conn *c);
/* Stop accepting connections (the listening socket is closed). */
void relay_stop_accepting(struct relay *rl);
/* Forward what the engines wrote (for at most a moment), stop the workers, close every
 * connection, free. The engines may be stopped after this (no worker runs them any more). */
void relay_stop(struct relay *rl);

#endif
