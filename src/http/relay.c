/* relay.c - the front end between clients and libmicrohttpd (see relay.h). One thread, one
 * epoll set (edge-triggered): the listening socket, both sockets of every connection, and an
 * eventfd to wake it. Client bytes are checked by frame_feed() as they are read, then written
 * to the engine's socket; the engine's bytes go back untouched. */
#include "http/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "http/frame.h"
#include "http/middleware.h"
#include "util/config.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/uuid.h"
#include "util/xalloc.h"

#define RELAY_BUF (16 * 1024)          /* bytes buffered per direction and connection */
#define EVENTS_MAX 64
#define SLOW_TICK_MS 10                /* re-check connections waiting on time or answers */
#define ANSWER_WAIT_US (30 * 1000000LL) /* longest wait for earlier answers before an error */
#define LINGER_US (1000000LL)           /* read and drop client bytes this long after closing */
#define STOP_FLUSH_US (2000000LL)       /* at stop: longest wait to forward what is written */
#define FD_TABLE_MAX (1 << 20)

enum conn_state {
    RC_OPEN,      /* relaying */
    RC_ERROR,     /* framing broke: forwarding the earlier requests' answers, then ours */
    RC_ANSWER,    /* our error answer is being written */
    RC_LINGER,    /* write side closed: reading and dropping until the client closes */
    RC_DEAD
};

struct end {
    struct relay_conn *c;
    int client;                /* 1: the client's socket, 0: the engine's */
};

struct dir {
    char data[RELAY_BUF];
    size_t off, len;
};

struct relay_conn {
    struct relay *rl;
    int cfd, mfd;              /* client socket, our end of the engine's pair (-1: closed) */
    int peer;                  /* the engine's end (its fd number, for relay_claim) */
    atomic_int refs;           /* the relay's, and the engine's once claimed */
    atomic_ullong answered;    /* requests the engine answered */
    struct end cend, mend;
    struct frame fr;
    struct dir up, down;       /* client -> engine, engine -> client */
    int c_in, c_out, m_in, m_out; /* readiness (edge-triggered) */
    int c_eof, m_eof, m_shut;
    int c_hup, m_hup;          /* the peer's end of stream was signalled: read until it */
    int m_gone;                /* the engine stopped reading (its answers may still come) */
    int draining;              /* RC_ERROR: reading the engine's last bytes */
    int state;
    int64_t since_us;          /* entered RC_ERROR or RC_LINGER */
    int64_t request_us;        /* the current request's first byte */
    char answer[1024];         /* our error response */
    size_t answer_off, answer_len;
    struct relay_conn *next, *prev; /* in rl->slow (RC_ERROR, RC_LINGER) or rl->dead */
    int listed;
    struct relay_conn *anext, *aprev; /* in rl->all until closed */
};

struct relay {
    int lfd, epfd, wakefd;
    int port;
    int max_conns, nconns;
    relay_hand_fn *hand;
    void *ctx;
    pthread_t thread;
    atomic_int stop_accepting, stopping;
    struct end wake_tag, listen_tag;
    pthread_mutex_t lock;      /* guards table */
    struct relay_conn **table; /* by the engine's fd: connections not yet claimed */
    size_t ntable;
    struct relay_conn *slow;   /* connections needing a look without events */
    struct relay_conn *dead;   /* closed this round, freed after the events are handled */
    struct relay_conn *all;    /* every open connection */
};

/* ---- lists ---- */

static void unlist(struct relay_conn **head, struct relay_conn *c)
{
    if (!c->listed)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        *head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
    c->listed = 0;
}

static void enlist(struct relay_conn **head, struct relay_conn *c)
{
    c->prev = NULL;
    c->next = *head;
    if (*head)
        (*head)->prev = c;
    *head = c;
    c->listed = 1;
}

/* ---- the engine's side ---- */

static void conn_unref(struct relay_conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        free(c);
}

struct relay_conn *relay_claim(struct relay *rl, int fd)
{
    struct relay_conn *c = NULL;

    pthread_mutex_lock(&rl->lock);
    if (fd >= 0 && (size_t)fd < rl->ntable && rl->table[fd]) {
        c = rl->table[fd];
        rl->table[fd] = NULL;
        atomic_fetch_add(&c->refs, 1);
    }
    pthread_mutex_unlock(&rl->lock);
    return c;
}

void relay_answered(struct relay_conn *c)
{
    if (c)
        atomic_fetch_add(&c->answered, 1);
}

void relay_release(struct relay_conn *c)
{
    if (c)
        conn_unref(c);
}

static void unregister(struct relay *rl, struct relay_conn *c)
{
    pthread_mutex_lock(&rl->lock);
    if (c->peer >= 0 && (size_t)c->peer < rl->ntable && rl->table[c->peer] == c)
        rl->table[c->peer] = NULL;
    pthread_mutex_unlock(&rl->lock);
}

/* ---- closing ---- */

static void close_engine(struct relay_conn *c)
{
    if (c->mfd >= 0)
        close(c->mfd);
    c->mfd = -1;
    c->m_eof = 1;
}

static void conn_close(struct relay_conn *c)
{
    struct relay *rl = c->rl;

    if (c->state == RC_DEAD)
        return;
    unlist(&rl->slow, c);
    if (c->aprev)
        c->aprev->anext = c->anext;
    else
        rl->all = c->anext;
    if (c->anext)
        c->anext->aprev = c->aprev;
    close_engine(c);
    close(c->cfd);
    c->cfd = -1;
    c->state = RC_DEAD;
    unregister(rl, c);
    rl->nconns--;
    enlist(&rl->dead, c);     /* freed once this round's events are handled */
}

/* Nothing more goes to the client: close our write side and read what it still sends for a
 * moment, so that an answer is not lost to a reset while the client is still sending. */
static void begin_linger(struct relay_conn *c)
{
    close_engine(c);
    if (c->c_eof || atomic_load(&c->rl->stopping)) {
        conn_close(c);
        return;
    }
    shutdown(c->cfd, SHUT_WR);
    c->state = RC_LINGER;
    c->since_us = ts_monotonic();
    c->c_in = 1;
    enlist(&c->rl->slow, c);
}

/* ---- the error answer ---- */

static const char *reason(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    }
    return "Error";
}

/* Build the envelope for the broken framing and log the request. */
static void build_answer(struct relay_conn *c)
{
    struct frame *fr = &c->fr;
    char msg[128], rid[REQUEST_ID_MAX + 1];
    char body[512];
    int blen;

    if (fr->msg)
        snprintf(msg, sizeof(msg), "%s", fr->msg);
    else
        snprintf(msg, sizeof(msg), "Request body too large (limit %zu bytes)",
                 cfg->max_body_bytes);
    if (middleware_request_id_ok(fr->request_id))
        snprintf(rid, sizeof(rid), "%s", fr->request_id);
    else
        random_hex(rid, 16);
    /* msg and rid are printable ASCII without quotes or backslashes: no escaping needed. */
    blen = snprintf(body, sizeof(body),
                    "{\"error\":{\"code\":\"http_error\",\"message\":\"%s\",\"request_id\":\"%s\"}}",
                    msg, rid);
    c->answer_len = (size_t)snprintf(c->answer, sizeof(c->answer),
                                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                                     "X-Request-ID: %s\r\nContent-Length: %d\r\n"
                                     "Connection: close\r\n\r\n%s",
                                     fr->status, reason(fr->status), rid, blen, body);
    middleware_log_refused(fr->method_len ? fr->method : "-", fr->status, rid, c->request_us,
                           msg);
}

static void begin_error(struct relay_conn *c)
{
    build_answer(c);
    c->state = RC_ERROR;
    c->since_us = ts_monotonic();
    enlist(&c->rl->slow, c);
}

/* ---- moving bytes ---- */

static void make_room(struct dir *d)
{
    if (d->len == 0)
        d->off = 0;
    else if (d->off + d->len == RELAY_BUF && d->off > 0) {
        memmove(d->data, d->data + d->off, d->len);
        d->off = 0;
    }
}

static int io_again(void)
{
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

/* Client -> up, through the framing check. 1 on progress. */
static int read_client(struct relay_conn *c)
{
    struct dir *d = &c->up;
    size_t space, ok;
    ssize_t n;
    char *at;

    make_room(d);
    space = RELAY_BUF - d->off - d->len;
    if (space == 0)
        return 0;
    at = d->data + d->off + d->len;
    n = recv(c->cfd, at, space, 0);
    if (n < 0) {
        if (io_again()) {
            c->c_in = errno == EINTR;
            return 0;
        }
        conn_close(c);
        return 0;
    }
    if (n == 0) {
        c->c_eof = 1;
        c->c_in = 0;
        return 1;
    }
    if ((size_t)n < space && !c->c_hup)
        c->c_in = 0;
    if (frame_idle(&c->fr))
        c->request_us = ts_monotonic();
    ok = frame_feed(&c->fr, at, (size_t)n);
    d->len += ok;
    if (c->fr.status)
        begin_error(c);
    return 1;
}

/* Drop what the client sends after we closed our side. */
static int read_linger(struct relay_conn *c)
{
    char sink[4096];
    ssize_t n = recv(c->cfd, sink, sizeof(sink), 0);

    if (n > 0)
        return 1;
    if (n < 0 && io_again()) {
        c->c_in = errno == EINTR;
        return 0;
    }
    conn_close(c);
    return 0;
}

static int write_engine(struct relay_conn *c)
{
    struct dir *d = &c->up;
    ssize_t n = send(c->mfd, d->data + d->off, d->len, MSG_NOSIGNAL);

    if (n < 0) {
        if (io_again()) {
            c->m_out = errno == EINTR;
            return 0;
        }
        d->len = 0;               /* the engine closed: what it did not read is moot */
        c->m_gone = 1;
        return 1;
    }
    d->off += (size_t)n;
    d->len -= (size_t)n;
    if (d->len)
        c->m_out = 0;
    return 1;
}

static int read_engine(struct relay_conn *c)
{
    struct dir *d = &c->down;
    size_t space;
    ssize_t n;

    make_room(d);
    space = RELAY_BUF - d->off - d->len;
    if (space == 0)
        return 0;
    n = recv(c->mfd, d->data + d->off + d->len, space, 0);
    if (n < 0 && io_again()) {
        c->m_in = errno == EINTR;
        if (!c->m_in && c->draining)
            c->draining = 2;      /* everything the engine had written is read */
        return 0;
    }
    if (n <= 0) {
        c->m_eof = 1;
        c->m_in = 0;
        return 1;
    }
    d->len += (size_t)n;
    if ((size_t)n < space && !c->m_hup) {
        c->m_in = 0;
        if (c->draining)
            c->draining = 2;
    }
    return 1;
}

static int write_client(struct relay_conn *c, const char *p, size_t *len, size_t *off)
{
    ssize_t n = send(c->cfd, p + *off, *len, MSG_NOSIGNAL);

    if (n < 0) {
        if (io_again()) {
            c->c_out = errno == EINTR;
            return 0;
        }
        conn_close(c);
        return 0;
    }
    *off += (size_t)n;
    *len -= (size_t)n;
    if (*len)
        c->c_out = 0;
    return 1;
}

/* RC_ERROR: once every earlier request is answered (or the engine has closed) and its last
 * bytes are read, the engine's side is closed and our answer follows. The engine counts an
 * answer after writing it: the counter seen, one more read until nothing is left gets it all. */
static void advance_error(struct relay_conn *c)
{
    if (c->m_eof || c->m_gone)
        c->up.len = 0;
    if (c->up.len)
        return;
    if (!c->m_eof && !c->draining) {
        if (atomic_load(&c->answered) < c->fr.requests &&
            ts_monotonic() - c->since_us < ANSWER_WAIT_US)
            return;
        c->draining = 1;
        c->m_in = 1;
        return;
    }
    if ((!c->m_eof && c->draining == 1) || c->down.len)
        return;
    close_engine(c);
    unlist(&c->rl->slow, c);
    c->state = RC_ANSWER;
    c->c_out = 1;
}

/* Move bytes both ways until nothing moves, then take the state's next step. */
static void pump(struct relay_conn *c)
{
    for (;;) {
        int moved = 0;

        if (c->state == RC_OPEN && c->c_in && !c->c_eof)
            moved |= read_client(c);
        else if (c->state == RC_LINGER && c->c_in)
            moved |= read_linger(c);
        if (c->state == RC_DEAD)
            return;
        if (c->up.len && c->m_out && !c->m_gone && !c->m_eof)
            moved |= write_engine(c);
        if (!c->m_eof && c->m_in)
            moved |= read_engine(c);
        if (c->down.len && c->c_out)
            moved |= write_client(c, c->down.data, &c->down.len, &c->down.off);
        else if (c->state == RC_ANSWER && c->answer_len && c->c_out)
            moved |= write_client(c, c->answer, &c->answer_len, &c->answer_off);
        if (c->state == RC_DEAD)
            return;
        if (c->state == RC_ERROR) {
            int draining = c->draining;

            advance_error(c);
            moved |= c->state != RC_ERROR || c->draining != draining;
        }
        if (!moved)
            break;
    }
    switch (c->state) {
    case RC_OPEN:
        if (c->c_eof && !c->up.len && !c->m_shut && !c->m_eof) {
            shutdown(c->mfd, SHUT_WR);
            c->m_shut = 1;
        }
        if (c->m_eof && !c->down.len)
            begin_linger(c);
        break;
    case RC_ANSWER:
        if (!c->answer_len)
            begin_linger(c);
        break;
    case RC_LINGER:
        if (ts_monotonic() - c->since_us > LINGER_US)
            conn_close(c);
        break;
    }
}

/* ---- accepting ---- */

static int watch_fd(struct relay *rl, int fd, struct end *tag)
{
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                              .data.ptr = tag };

    return epoll_ctl(rl->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void take_connection(struct relay *rl, int cfd, struct sockaddr_storage *sa,
                            socklen_t salen)
{
    struct relay_conn *c;
    int pair[2], one = 1;

    if (rl->nconns >= rl->max_conns ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) < 0) {
        close(cfd);
        return;
    }
    if ((size_t)pair[1] >= rl->ntable) {
        close(pair[0]);
        close(pair[1]);
        close(cfd);
        return;
    }
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c = xcalloc(1, sizeof(*c));
    c->rl = rl;
    c->cfd = cfd;
    c->mfd = pair[0];
    c->peer = pair[1];
    atomic_init(&c->refs, 1);
    c->cend = (struct end){ c, 1 };
    c->mend = (struct end){ c, 0 };
    c->c_out = c->m_out = 1;
    c->state = RC_OPEN;
    frame_init(&c->fr);
    rl->nconns++;
    c->anext = rl->all;
    if (rl->all)
        rl->all->aprev = c;
    rl->all = c;
    if (watch_fd(rl, cfd, &c->cend) < 0 || watch_fd(rl, c->mfd, &c->mend) < 0) {
        close(pair[1]);
        conn_close(c);
        return;
    }
    pthread_mutex_lock(&rl->lock);
    rl->table[c->peer] = c;
    pthread_mutex_unlock(&rl->lock);
    if (rl->hand(rl->ctx, c->peer, (struct sockaddr *)sa, salen) < 0) {
        unregister(rl, c);
        conn_close(c);
    }
}

static void accept_all(struct relay *rl)
{
    for (;;) {
        struct sockaddr_storage sa;
        socklen_t salen = sizeof(sa);
        int fd = accept4(rl->lfd, (struct sockaddr *)&sa, &salen,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE)
                log_write(LOG_WARN, "accept: %s", strerror(errno));
            return;
        }
        take_connection(rl, fd, &sa, salen);
    }
}

/* ---- the thread ---- */

static void handle(struct epoll_event *ev)
{
    struct end *e = ev->data.ptr;
    struct relay_conn *c = e->c;
    int in = (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
    int out = (ev->events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0;
    int hup = (ev->events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;

    if (c->state == RC_DEAD)
        return;
    /* A short read normally means "drained"; after the peer's end of stream was signalled
     * that edge will not come again, so reading goes on until recv says 0 or EAGAIN. */
    if (e->client) {
        c->c_in |= in;
        c->c_out |= out;
        c->c_hup |= hup;
    } else {
        c->m_in |= in;
        c->m_out |= out;
        c->m_hup |= hup;
    }
    pump(c);
}

static void free_dead(struct relay *rl)
{
    while (rl->dead) {
        struct relay_conn *c = rl->dead;

        unlist(&rl->dead, c);
        conn_unref(c);
    }
}

static void visit_slow(struct relay *rl)
{
    struct relay_conn *c = rl->slow, *next;

    for (; c; c = next) {
        next = c->next;
        pump(c);
    }
}

static void close_listener(struct relay *rl)
{
    if (rl->lfd >= 0) {
        close(rl->lfd);
        rl->lfd = -1;
    }
}

static void *relay_main(void *arg)
{
    struct relay *rl = arg;
    struct epoll_event evs[EVENTS_MAX];
    int64_t stop_at = 0;

    for (;;) {
        int i, n = epoll_wait(rl->epfd, evs, EVENTS_MAX,
                              rl->slow || stop_at ? SLOW_TICK_MS : -1);

        for (i = 0; i < n; i++) {
            struct end *e = evs[i].data.ptr;

            if (e == &rl->wake_tag) {
                uint64_t v;

                if (read(rl->wakefd, &v, sizeof(v)) < 0)
                    continue;
            } else if (e == &rl->listen_tag) {
                if (rl->lfd >= 0 && !atomic_load(&rl->stop_accepting))
                    accept_all(rl);
            } else {
                handle(&evs[i]);
            }
        }
        if (atomic_load(&rl->stop_accepting))
            close_listener(rl);
        visit_slow(rl);
        free_dead(rl);
        if (atomic_load(&rl->stopping)) {
            if (!stop_at)
                stop_at = ts_monotonic() + STOP_FLUSH_US;
            if (rl->nconns == 0 || ts_monotonic() > stop_at)
                break;
        }
    }
    return NULL;
}

static void wake(struct relay *rl)
{
    uint64_t one = 1;

    if (write(rl->wakefd, &one, sizeof(one)) < 0)
        log_write(LOG_WARN, "relay wake-up: %s", strerror(errno));
}

static int listen_on(struct relay *rl, const struct sockaddr_storage *ss, struct err *err)
{
    socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);
    struct sockaddr_storage got;
    int one = 1;

    rl->lfd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (rl->lfd < 0)
        return err_set(err, ERR_INVALID, "cannot create a socket: %s", strerror(errno));
    setsockopt(rl->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss->ss_family == AF_INET6)
        setsockopt(rl->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(rl->lfd, (const struct sockaddr *)ss, len) < 0 || listen(rl->lfd, 1024) < 0)
        return err_set(err, ERR_INVALID, "%s", strerror(errno));
    len = sizeof(got);
    if (getsockname(rl->lfd, (struct sockaddr *)&got, &len) < 0)
        return err_set(err, ERR_INVALID, "getsockname: %s", strerror(errno));
    rl->port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                               : ((struct sockaddr_in *)&got)->sin_port);
    return 0;
}

static void relay_free(struct relay *rl)
{
    if (rl->lfd >= 0)
        close(rl->lfd);
    if (rl->epfd >= 0)
        close(rl->epfd);
    if (rl->wakefd >= 0)
        close(rl->wakefd);
    pthread_mutex_destroy(&rl->lock);
    free(rl->table);
    free(rl);
}

struct relay *relay_start(const struct sockaddr_storage *ss, int max_conns,
                          relay_hand_fn *hand, void *ctx, struct err *err)
{
    struct relay *rl = xcalloc(1, sizeof(*rl));
    struct rlimit lim;

    rl->lfd = rl->epfd = rl->wakefd = -1;
    rl->max_conns = max_conns;
    rl->hand = hand;
    rl->ctx = ctx;
    pthread_mutex_init(&rl->lock, NULL);
    /* Three descriptors per connection (the client's socket and the pair): take the hard
     * limit on open files, not only the soft one. */
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    rl->ntable = getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < FD_TABLE_MAX
                     ? (size_t)lim.rlim_cur
                     : FD_TABLE_MAX;
    rl->table = xcalloc(rl->ntable, sizeof(*rl->table));
    if (listen_on(rl, ss, err) < 0)
        goto fail;
    rl->epfd = epoll_create1(EPOLL_CLOEXEC);
    rl->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (rl->epfd < 0 || rl->wakefd < 0 || watch_fd(rl, rl->wakefd, &rl->wake_tag) < 0 ||
        watch_fd(rl, rl->lfd, &rl->listen_tag) < 0) {
        err_set(err, ERR_INVALID, "cannot set up the connection relay: %s", strerror(errno));
        goto fail;
    }
    if (pthread_create(&rl->thread, NULL, relay_main, rl) != 0) {
        err_set(err, ERR_INVALID, "cannot start the connection relay thread");
        goto fail;
    }
    return rl;
fail:
    relay_free(rl);
    return NULL;
}

int relay_port(const struct relay *rl)
{
    return rl->port;
}

void relay_stop_accepting(struct relay *rl)
{
    atomic_store(&rl->stop_accepting, 1);
    wake(rl);
}

void relay_stop(struct relay *rl)
{
    if (!rl)
        return;
    atomic_store(&rl->stop_accepting, 1);
    atomic_store(&rl->stopping, 1);
    wake(rl);
    pthread_join(rl->thread, NULL);
    /* Whatever is left could not be forwarded in time. */
    while (rl->all)
        conn_close(rl->all);
    free_dead(rl);
    relay_free(rl);
}
