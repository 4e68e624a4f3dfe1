/* deadline.h - header deadlines: a connection must complete each request header within a
 * fixed time, however it trickles its bytes (libmicrohttpd 0.9.75 only has an idle timeout,
 * which a client sending one byte every few seconds never trips). */
#ifndef ENGRAM_HTTP_DEADLINE_H
#define ENGRAM_HTTP_DEADLINE_H

#include <stdint.h>

struct deadlines;
struct deadline;

/* Start the watcher thread. Connections whose deadline passes get shutdown(2): the server's
 * own poll then sees the socket end and closes it as usual. Never fails (aborts on OOM). */
struct deadlines *deadlines_new(void);
/* Stop the watcher and free ds; accepts NULL. Call it after the daemon has stopped (its
 * close notifications have removed every connection by then). */
void deadlines_free(struct deadlines *ds);

/* Register a new connection on socket fd whose first header is due by due_us (monotonic
 * microseconds). The handle belongs to the connection; release it with deadline_remove(). */
struct deadline *deadline_add(struct deadlines *ds, int fd, int64_t due_us);
/* The header is complete: no deadline until deadline_arm() sets the next one. */
void deadline_disarm(struct deadlines *ds, struct deadline *d);
/* The next header of the connection is due by due_us. */
void deadline_arm(struct deadlines *ds, struct deadline *d, int64_t due_us);
/* The connection is closing: forget it and free d (before its socket is closed, so that a
 * reused descriptor is never shut down). Accepts NULL. */
void deadline_remove(struct deadlines *ds, struct deadline *d);

#endif
