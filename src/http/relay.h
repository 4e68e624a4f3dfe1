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

/* Hand fd (libmicrohttpd's end of a new connection, client address sa) to the HTTP engine.
 * Returns 0, or -1 when it was refused (fd is closed by then in either case). */
typedef int relay_hand_fn(void *ctx, int fd, const struct sockaddr *sa, socklen_t salen);

/* Listen on ss (port 0: any free port) and start the relay thread. max_conns bounds the
 * client connections it holds (more are closed at once). NULL with err set on failure. */
struct relay *relay_start(const struct sockaddr_storage *ss, int max_conns,
                          relay_hand_fn *hand, void *ctx, struct err *err);
/* The port listened on. */
int relay_port(const struct relay *rl);
/* The engine starts serving the connection whose engine-side socket is fd: the connection
 * stays allocated until relay_release. NULL when fd is not (or no longer) the relay's. */
struct relay_conn *relay_claim(struct relay *rl, int fd);
/* One request of the connection was answered (its response fully written by the engine). */
void relay_answered(struct relay_conn *c);
/* The engine is done with the connection. */
void relay_release(struct relay_conn *c);
/* Stop accepting connections (the listening socket is closed). */
void relay_stop_accepting(struct relay *rl);
/* Forward what the engine wrote (for at most a moment), close every connection, free. Call
 * after the engine has stopped. */
void relay_stop(struct relay *rl);

#endif
