/* relay.c - the front end between clients and libmicrohttpd (see relay.h). Worker threads,
 * each with one epoll set: the shared listening socket (EPOLLEXCLUSIVE), both sockets of each
 * of its connections (edge-triggered), its engine's epoll descriptor and an eventfd to wake
 * it. Client bytes are checked by frame_feed() as they are read, then written to the engine's
 * socket; the engine runs in the same thread and its bytes go back untouched. */
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
#include "util/buf.h"
#include "util/config.h"
#include "util/jv.h"
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
#define ACCEPT_BATCH 16                 /* connections one worker accepts per wake-up */
#define IP_BUCKETS 1024                 /* the per-address connection counts */
#define IP_KEY 17                       /* family byte and 16 address bytes */

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

struct worker;

struct relay_conn {
    struct relay *rl;
    struct worker *w;          /* the thread that serves it */
    unsigned char ip[IP_KEY];  /* the client's address, counted in rl's per-IP table */
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
    char answer[1280];         /* our error response (the id may double, escaped) */
    size_t answer_off, answer_len;
    struct relay_conn *next, *prev; /* in w->slow (RC_ERROR, RC_LINGER) or w->dead */
    int listed;
    struct relay_conn *anext, *aprev; /* in w->all until closed */
    struct relay_conn *knext;  /* in w->answered: the engine wrote an answer this round */
    int kicked;
    unsigned long m_reads;     /* reads that got engine bytes */
    unsigned long m_reads_seen; /* m_reads when the last answer was counted */
};

/* One client address and its open connections. */
struct ip_count {
    struct ip_count *next;
    unsigned char key[IP_KEY];
    int n;
};

struct worker {
    struct relay *rl;
    int id;
    int epfd, wakefd;
    atomic_int wake_pending;   /* wakefd written and not yet drained: later wakes skip it */
    pthread_t thread;
    pthread_t self;            /* set by the thread itself: the engine's callbacks run on it */
    int started;
    struct end wake_tag, listen_tag, engine_tag;
    struct relay_conn *answered; /* answers written by the engine this round (a ref each) */
    struct relay_conn *slow;   /* connections needing a look without events */
    struct relay_conn *dead;   /* closed this round, freed after the events are handled */
    struct relay_conn *all;    /* every open connection */
};

struct relay {
    int lfd;
    int port;
    int max_conns, max_per_ip;
    atomic_int nconns;
    struct relay_engine eng;
    struct worker *workers;
    int nworkers;
    atomic_int stopping;
    pthread_mutex_t lock;      /* guards table and ips */
    struct relay_conn **table; /* by the engine's fd: connections not yet claimed */
    size_t ntable;
    struct ip_count *ips[IP_BUCKETS];
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

/* Put c on a list (a no-op when it is on one: a connection is on at most one). */
static void enlist(struct relay_conn **head, struct relay_conn *c)
{
    if (c->listed)
        return;
    c->prev = NULL;
    c->next = *head;
    if (*head)
        (*head)->prev = c;
    *head = c;
    c->listed = 1;
}

/* ---- per-address counts ---- */

static void ip_key(const struct sockaddr_storage *sa, unsigned char key[IP_KEY])
{
    memset(key, 0, IP_KEY);
    key[0] = (unsigned char)sa->ss_family;
    if (sa->ss_family == AF_INET)
        memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    else if (sa->ss_family == AF_INET6)
        memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
}

static struct ip_count **ip_slot(struct relay *rl, const unsigned char key[IP_KEY])
{
    uint32_t h = 2166136261u;
    struct ip_count **p;
    int i;

    for (i = 0; i < IP_KEY; i++)
        h = (h ^ key[i]) * 16777619u;
    for (p = &rl->ips[h % IP_BUCKETS]; *p; p = &(*p)->next) {
        if (memcmp((*p)->key, key, IP_KEY) == 0)
            break;
    }
    return p;
}

/* Count one more connection from key: 0, or -1 when that address is at its cap. Under the
 * lock. */
static int ip_take_locked(struct relay *rl, const unsigned char key[IP_KEY])
{
    struct ip_count **p = ip_slot(rl, key);

    if (!*p) {
        *p = xcalloc(1, sizeof(**p));
        memcpy((*p)->key, key, IP_KEY);
    }
    if (rl->max_per_ip > 0 && (*p)->n >= rl->max_per_ip)
        return -1;
    (*p)->n++;
    return 0;
}

static void ip_give_locked(struct relay *rl, const unsigned char key[IP_KEY])
{
    struct ip_count **p = ip_slot(rl, key), *e = *p;

    if (e && --e->n <= 0) {
        *p = e->next;
        free(e);
    }
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
    struct worker *w;

    if (!c)
        return;
    atomic_fetch_add(&c->answered, 1);
    /* On the connection's own thread (the engine runs there): its answer is in the socket
     * pair now, so the relay forwards it right after this round's engine run instead of
     * waiting for epoll to report the engine's side readable in another round (issue 22). */
    w = c->w;
    if (w && !c->kicked && pthread_equal(pthread_self(), w->self)) {
        /* Engine bytes read since the last answer: this answer (at least its start) was
         * already forwarded, as for a resumed request whose answer libmicrohttpd counts
         * one run after writing it; a read now would only find the socket empty. */
        int fresh = c->m_reads == c->m_reads_seen;

        c->m_reads_seen = c->m_reads;
        if (!fresh)
            return;
        c->kicked = 1;
        atomic_fetch_add(&c->refs, 1);
        c->knext = w->answered;
        w->answered = c;
    }
}

void relay_release(struct relay_conn *c)
{
    if (c)
        conn_unref(c);
}

/* Forget c's engine descriptor and give its address's slot back. */
static void unregister(struct relay *rl, struct relay_conn *c)
{
    pthread_mutex_lock(&rl->lock);
    if (c->peer >= 0 && (size_t)c->peer < rl->ntable && rl->table[c->peer] == c)
        rl->table[c->peer] = NULL;
    ip_give_locked(rl, c->ip);
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
    struct worker *w = c->w;

    if (c->state == RC_DEAD)
        return;
    unlist(&w->slow, c);
    if (c->aprev)
        c->aprev->anext = c->anext;
    else
        w->all = c->anext;
    if (c->anext)
        c->anext->aprev = c->aprev;
    close_engine(c);
    close(c->cfd);
    c->cfd = -1;
    c->state = RC_DEAD;
    unregister(rl, c);
    atomic_fetch_sub(&rl->nconns, 1);
    enlist(&w->dead, c);      /* freed once this round's events are handled */
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
    enlist(&c->w->slow, c);
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
    struct buf body = BUF_INIT;

    if (fr->msg)
        snprintf(msg, sizeof(msg), "%s", fr->msg);
    else
        snprintf(msg, sizeof(msg), "Request body too large (limit %zu bytes)",
                 cfg->max_body_bytes);
    if (middleware_request_id_ok(fr->request_id))
        snprintf(rid, sizeof(rid), "%s", fr->request_id);
    else
        random_hex(rid, 16);
    /* The client's id may hold quotes or backslashes: written as a JSON string. */
    buf_puts(&body, "{\"error\":{\"code\":\"http_error\",\"message\":");
    jv_write_str(&body, msg, strlen(msg));
    buf_puts(&body, ",\"request_id\":");
    jv_write_str(&body, rid, strlen(rid));
    buf_puts(&body, "}}");
    c->answer_len = (size_t)snprintf(c->answer, sizeof(c->answer),
                                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                                     "X-Request-ID: %s\r\nContent-Length: %zu\r\n"
                                     "Connection: close\r\n\r\n%s",
                                     fr->status, reason(fr->status), rid, body.len, body.data);
    buf_release(&body);
    middleware_log_refused(fr->method_len ? fr->method : "-", fr->status, rid, c->request_us,
                           msg);
}

static void begin_error(struct relay_conn *c)
{
    build_answer(c);
    c->state = RC_ERROR;
    c->since_us = ts_monotonic();
    enlist(&c->w->slow, c);
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
    c->m_reads++;
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
    unlist(&c->w->slow, c);
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
        if (c->c_eof && !c->up.len && !c->m_eof) {
            /* The client sent all it will. A request it left incomplete can never be
             * answered: the answers to the ones before it go out, then the connection
             * closes (as for broken framing, without an answer of ours). Otherwise the
             * engine hears of the end, and once every request is answered the connection
             * closes (libmicrohttpd's epoll mode may not notice the end by itself). */
            if (!frame_idle(&c->fr)) {
                c->state = RC_ERROR;
                c->since_us = ts_monotonic();
                enlist(&c->w->slow, c);
                pump(c);
                return;
            }
            if (!c->m_shut) {
                shutdown(c->mfd, SHUT_WR);
                c->m_shut = 1;
            }
            if (atomic_load(&c->answered) >= c->fr.requests && !c->down.len) {
                c->state = RC_ERROR;    /* drain what is written, then close */
                c->since_us = ts_monotonic();
                enlist(&c->w->slow, c);
                pump(c);
                return;
            }
            enlist(&c->w->slow, c);   /* re-checked each tick until answered */
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

static int watch_fd(struct worker *w, int fd, struct end *tag, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = tag };

    return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
}

#define CONN_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

/* Admit one more connection from key under the caps: 0, or -1 (text says why). */
static int admit(struct relay *rl, const unsigned char key[IP_KEY], char *text, size_t size)
{
    int rc = 0;

    if (atomic_fetch_add(&rl->nconns, 1) >= rl->max_conns) {
        atomic_fetch_sub(&rl->nconns, 1);
        snprintf(text, size, "connection refused: %d open (STATEWAVE_MAX_CONNECTIONS)",
                 rl->max_conns);
        return -1;
    }
    pthread_mutex_lock(&rl->lock);
    rc = ip_take_locked(rl, key);
    pthread_mutex_unlock(&rl->lock);
    if (rc < 0) {
        atomic_fetch_sub(&rl->nconns, 1);
        snprintf(text, size, "connection refused: %d open from that address "
                 "(STATEWAVE_MAX_CONNECTIONS_PER_IP)", rl->max_per_ip);
    }
    return rc;
}

static void take_connection(struct worker *w, int cfd, struct sockaddr_storage *sa,
                            socklen_t salen)
{
    struct relay *rl = w->rl;
    struct relay_conn *c;
    unsigned char key[IP_KEY];
    char why[128];
    int pair[2], one = 1;

    ip_key(sa, key);
    if (admit(rl, key, why, sizeof(why)) < 0) {
        close(cfd);
        rl->eng.refused(rl->eng.ctx, why);
        return;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) < 0 ||
        (size_t)pair[1] >= rl->ntable) {
        if (errno != EMFILE && errno != ENFILE) {
            close(pair[0]);
            close(pair[1]);
        }
        pthread_mutex_lock(&rl->lock);
        ip_give_locked(rl, key);
        pthread_mutex_unlock(&rl->lock);
        atomic_fetch_sub(&rl->nconns, 1);
        close(cfd);
        rl->eng.refused(rl->eng.ctx, "connection refused: out of file descriptors");
        return;
    }
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c = xcalloc(1, sizeof(*c));
    c->rl = rl;
    c->w = w;
    memcpy(c->ip, key, IP_KEY);
    c->cfd = cfd;
    c->mfd = pair[0];
    c->peer = pair[1];
    atomic_init(&c->refs, 1);
    c->cend = (struct end){ c, 1 };
    c->mend = (struct end){ c, 0 };
    c->c_out = c->m_out = 1;
    c->state = RC_OPEN;
    frame_init(&c->fr);
    c->anext = w->all;
    if (w->all)
        w->all->aprev = c;
    w->all = c;
    if (watch_fd(w, cfd, &c->cend, CONN_EVENTS) < 0 ||
        watch_fd(w, c->mfd, &c->mend, CONN_EVENTS) < 0) {
        close(pair[1]);
        conn_close(c);
        return;
    }
    pthread_mutex_lock(&rl->lock);
    rl->table[c->peer] = c;
    pthread_mutex_unlock(&rl->lock);
    if (rl->eng.hand(rl->eng.ctx, w->id, c->peer, (struct sockaddr *)sa, salen) < 0)
        conn_close(c);
}

static void accept_some(struct worker *w)
{
    int i;

    for (i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage sa;
        socklen_t salen = sizeof(sa);
        int fd = accept4(w->rl->lfd, (struct sockaddr *)&sa, &salen,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE)
                w->rl->eng.refused(w->rl->eng.ctx, "accept: out of file descriptors");
            return;
        }
        take_connection(w, fd, &sa, salen);
    }
}

/* ---- the threads ---- */

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

/* Forward the answers the engine wrote this round (see relay_answered). */
static void forward_answered(struct worker *w)
{
    while (w->answered) {
        struct relay_conn *c = w->answered;

        w->answered = c->knext;
        c->kicked = 0;
        if (c->state != RC_DEAD && c->mfd >= 0 && !c->m_eof) {
            c->m_in = 1;
            pump(c);
            c->m_reads_seen = c->m_reads;
        }
        conn_unref(c);
    }
}

static void free_dead(struct worker *w)
{
    while (w->dead) {
        struct relay_conn *c = w->dead;

        unlist(&w->dead, c);
        conn_unref(c);
    }
}

static void visit_slow(struct worker *w)
{
    struct relay_conn *c = w->slow, *next;

    for (; c; c = next) {
        next = c->next;
        pump(c);
    }
}

/* How long the next epoll_wait may sleep. */
static int wait_ms(struct worker *w, int stopping)
{
    int engine = w->rl->eng.timeout_ms(w->rl->eng.ctx, w->id);

    if (w->slow || stopping)
        return engine >= 0 && engine < SLOW_TICK_MS ? engine : SLOW_TICK_MS;
    return engine;
}

/* Stopping: connections with nothing under way or on its way are closed now. */
static void close_idle(struct worker *w)
{
    struct relay_conn *c = w->all, *next;

    for (; c; c = next) {
        next = c->anext;
        if (c->state == RC_OPEN && !c->up.len && !c->down.len && frame_idle(&c->fr) &&
            atomic_load(&c->answered) >= c->fr.requests)
            conn_close(c);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct relay *rl = w->rl;
    struct epoll_event evs[EVENTS_MAX];
    int64_t stop_at = 0;
    int listening = 1;

    w->self = pthread_self();
    for (;;) {
        int stopping = atomic_load(&rl->stopping);
        int i, n = epoll_wait(w->epfd, evs, EVENTS_MAX, wait_ms(w, stopping));

        for (i = 0; i < n; i++) {
            struct end *e = evs[i].data.ptr;

            if (e == &w->wake_tag) {
                uint64_t v;
                int got = (int)read(w->wakefd, &v, sizeof(v));

                /* Drained first, then cleared: a wake that finds the flag still set skipped
                 * its write, and the engine's run below (after its resume) serves it; one
                 * after the clear writes again. (Cleared before the read, a write landing
                 * in between would be drained with the flag left set: no wake ever again.) */
                atomic_store(&w->wake_pending, 0);
                if (got < 0)
                    continue;
            } else if (e == &w->listen_tag) {
                if (listening)
                    accept_some(w);
            } else if (e != &w->engine_tag) {
                handle(&evs[i]);
            }
        }
        /* What the relay wrote to the engine is read, answered and written back in this
         * same thread: the engine runs on every round. */
        rl->eng.run(rl->eng.ctx, w->id);
        forward_answered(w);
        if (stopping && listening) {
            epoll_ctl(w->epfd, EPOLL_CTL_DEL, rl->lfd, NULL);
            listening = 0;
        }
        visit_slow(w);
        free_dead(w);
        if (stopping == 2) {
            close_idle(w);
            if (!stop_at)
                stop_at = ts_monotonic() + STOP_FLUSH_US;
            if (!w->all || ts_monotonic() > stop_at)
                break;
        }
    }
    return NULL;
}

static void wake(struct worker *w)
{
    uint64_t one = 1;

    /* One write until the worker drains it: the ingest writer wakes every request of a
     * group in turn, and one round of the worker serves all of them (issue 22). */
    if (atomic_exchange(&w->wake_pending, 1))
        return;
    if (w->wakefd >= 0 && write(w->wakefd, &one, sizeof(one)) < 0) {
        atomic_store(&w->wake_pending, 0);
        log_write(LOG_WARN, "relay wake-up: %s", strerror(errno));
    }
}

struct relay_worker *relay_conn_worker(struct relay_conn *c)
{
    return c ? (struct relay_worker *)c->w : NULL;
}

void relay_wake_worker(struct relay_worker *worker)
{
    if (worker)
        wake((struct worker *)worker);
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

/* Close every connection still open, join nothing: the workers have stopped. */
static void relay_free(struct relay *rl)
{
    int i;

    for (i = 0; i < rl->nworkers; i++) {
        struct worker *w = &rl->workers[i];

        while (w->all)
            conn_close(w->all);
        free_dead(w);
        if (w->epfd >= 0)
            close(w->epfd);
        if (w->wakefd >= 0)
            close(w->wakefd);
    }
    for (i = 0; i < IP_BUCKETS; i++) {
        while (rl->ips[i]) {
            struct ip_count *e = rl->ips[i];

            rl->ips[i] = e->next;
            free(e);
        }
    }
    if (rl->lfd >= 0)
        close(rl->lfd);
    pthread_mutex_destroy(&rl->lock);
    free(rl->workers);
    free(rl->table);
    free(rl);
}

static int worker_setup(struct relay *rl, struct worker *w, int id)
{
    w->rl = rl;
    w->id = id;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->epfd < 0 || w->wakefd < 0 || watch_fd(w, w->wakefd, &w->wake_tag, EPOLLIN) < 0 ||
        watch_fd(w, rl->lfd, &w->listen_tag, EPOLLIN | EPOLLEXCLUSIVE) < 0 ||
        watch_fd(w, rl->eng.fd(rl->eng.ctx, id), &w->engine_tag, EPOLLIN) < 0)
        return -1;
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return -1;
    w->started = 1;
    return 0;
}

struct relay *relay_start(const struct sockaddr_storage *ss, int workers, int max_conns,
                          int max_per_ip, const struct relay_engine *eng, struct relay **out,
                          struct err *err)
{
    struct relay *rl = xcalloc(1, sizeof(*rl));
    struct rlimit lim;
    int i;

    rl->lfd = -1;
    rl->max_conns = max_conns;
    rl->max_per_ip = max_per_ip;
    rl->eng = *eng;
    rl->nworkers = workers;
    rl->workers = xcalloc((size_t)workers, sizeof(*rl->workers));
    for (i = 0; i < workers; i++)
        rl->workers[i].epfd = rl->workers[i].wakefd = -1;
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
    *out = rl;                /* before any worker can hand a connection over */
    for (i = 0; i < workers; i++) {
        if (worker_setup(rl, &rl->workers[i], i) < 0) {
            err_set(err, ERR_INVALID, "cannot start the connection relay: %s",
                    strerror(errno));
            goto fail;
        }
    }
    return rl;
fail:
    relay_stop(rl);
    *out = NULL;
    return NULL;
}

int relay_port(const struct relay *rl)
{
    return rl->port;
}

void relay_stop_accepting(struct relay *rl)
{
    int i;

    atomic_store(&rl->stopping, 1);
    for (i = 0; i < rl->nworkers; i++)
        wake(&rl->workers[i]);
}

void relay_stop(struct relay *rl)
{
    int i;

    if (!rl)
        return;
    atomic_store(&rl->stopping, 2);
    for (i = 0; i < rl->nworkers; i++)
        wake(&rl->workers[i]);
    for (i = 0; i < rl->nworkers; i++) {
        if (rl->workers[i].started)
            pthread_join(rl->workers[i].thread, NULL);
    }
    /* Whatever is left could not be forwarded in time. */
    relay_free(rl);
}
