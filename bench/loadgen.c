/* loadgen.c - closed-loop HTTP/1.1 load generator for `make bench`.
 *
 * N keep-alive connections, one thread each, each sending its next request as soon as the
 * previous response has been read in full. Prints one JSON line with the request count,
 * throughput and latency percentiles of the measured window (a warm-up is not counted).
 *
 *   loadgen -p PORT [-c CONNS] [-d SECONDS | -n REQUESTS] [-w WARMUP_SECONDS]
 *           [-m METHOD] [-b BODY | -B BODYFILE] [-H 'Name: value']... [-s SEQ0] [-e STATUS]
 *           PATH
 *
 * PATH and BODY are templates, expanded for every request:
 *   {seq}     a process-wide counter (starts at SEQ0, default 0): unique per request
 *   {conn}    the connection's index, 0..CONNS-1
 *   {rand:K}  a uniform pseudo-random integer in [0, K)
 *   {name:K}  the counter spelled as a capitalised word made of letters only ("Kbaab"),
 *             reduced modulo K when K > 0 (for texts that must match [A-Z][a-z]+)
 * A request whose status is not STATUS (default: any 2xx) counts as an error; the first
 * error's status and body start go to stderr. Exit 0 when at least one request succeeded
 * and none failed, 1 otherwise, 2 on bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEADERS 16
#define RESP_INIT 65536

struct opts {
    const char *host;
    int port;
    int conns;
    double seconds;        /* measured window; 0 = use total */
    long total;            /* requests in -n mode */
    double warmup;
    const char *method;
    char *body_tpl;
    const char *path_tpl;
    const char *headers[MAX_HEADERS];
    int nheaders;
    long seq0;
    int expect;            /* 0 = any 2xx */
};

struct samples {
    uint64_t *v;           /* latencies in ns */
    size_t n, cap;
};

struct worker {
    pthread_t tid;
    int index;
    const struct opts *o;
    struct samples lat;
    long ok, errors, reconnects;
    uint64_t bytes_in;
    long status_count[6]; /* by first digit */
    uint64_t rng;
};

/* Phase: 0 warm-up (not recorded), 1 measuring, 2 stop. */
static atomic_int phase;
static atomic_long seq;
static atomic_long budget;        /* -n mode: requests left to start */
static atomic_int first_error_shown;
static struct sockaddr_storage target;
static socklen_t target_len;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *msg)
{
    fprintf(stderr, "loadgen: %s\n", msg);
    exit(2);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        die("out of memory");
    return p;
}

/* ---- a growable byte buffer ---- */

struct sbuf {
    char *p;
    size_t len, cap;
};

static void sb_need(struct sbuf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    while (b->len + extra + 1 > b->cap)
        b->cap = b->cap ? b->cap * 2 : 4096;
    b->p = xrealloc(b->p, b->cap);
}

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    sb_need(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_addf(struct sbuf *b, const char *fmt, long v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), fmt, v);

    sb_add(b, tmp, (size_t)n);
}

/* xorshift64* */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* A capitalised word of letters only that encodes v: "K" + base-26 digits, at least 4. */
static void add_name(struct sbuf *b, unsigned long v)
{
    char tmp[32];
    int n = 0, i;

    do {
        tmp[n++] = (char)('a' + v % 26);
        v /= 26;
    } while (v || n < 4);
    sb_add(b, "K", 1);
    for (i = n - 1; i >= 0; i--)
        sb_add(b, &tmp[i], 1);
}

/* Expand a template into b (appending). */
static void expand(struct sbuf *b, const char *tpl, long myseq, struct worker *w)
{
    const char *p = tpl, *q;

    while ((q = strchr(p, '{')) != NULL) {
        sb_add(b, p, (size_t)(q - p));
        if (strncmp(q, "{seq}", 5) == 0) {
            sb_addf(b, "%ld", myseq);
            p = q + 5;
        } else if (strncmp(q, "{conn}", 6) == 0) {
            sb_addf(b, "%ld", w->index);
            p = q + 6;
        } else if (strncmp(q, "{rand:", 6) == 0 || strncmp(q, "{name:", 6) == 0) {
            char *end;
            long k = strtol(q + 6, &end, 10);

            if (*end != '}')
                die("bad {rand:K} or {name:K} in a template");
            if (q[1] == 'r')
                sb_addf(b, "%ld", k > 0 ? (long)(rng_next(&w->rng) % (uint64_t)k) : 0);
            else
                add_name(b, k > 0 ? (unsigned long)(myseq % k) : (unsigned long)myseq);
            p = end + 1;
        } else {
            sb_add(b, "{", 1);
            p = q + 1;
        }
    }
    sb_add(b, p, strlen(p));
}

/* ---- connection ---- */

static int connect_target(void)
{
    int fd = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;

    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&target, target_len) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Read buffer of one connection: bytes [start, len) are unread. */
struct rbuf {
    char *p;
    size_t start, len, cap;
};

static int fill(int fd, struct rbuf *r)
{
    ssize_t k;

    if (r->start > 0 && r->start == r->len)
        r->start = r->len = 0;
    if (r->len == r->cap) {
        if (r->start > 0) {
            memmove(r->p, r->p + r->start, r->len - r->start);
            r->len -= r->start;
            r->start = 0;
        } else {
            r->cap *= 2;
            r->p = xrealloc(r->p, r->cap);
        }
    }
    do {
        k = recv(fd, r->p + r->len, r->cap - r->len, 0);
    } while (k < 0 && errno == EINTR);
    if (k <= 0)
        return -1;
    r->len += (size_t)k;
    return 0;
}

struct response {
    int status;
    int close;             /* server said Connection: close */
    const char *body;      /* points into the read buffer; valid until the next read */
    size_t body_len;
};

/* Find the end of the header block at r->p + r->start; returns its length incl. CRLFCRLF. */
static size_t header_end(const struct rbuf *r)
{
    const char *s = r->p + r->start;
    size_t n = r->len - r->start, i;

    for (i = 3; i < n; i++) {
        if (s[i] == '\n' && s[i - 1] == '\r' && s[i - 2] == '\n' && s[i - 3] == '\r')
            return i + 1;
    }
    return 0;
}

/* Read one response: headers then body (Content-Length or chunked). 0 ok, -1 on error. */
static int read_response(int fd, struct rbuf *r, struct sbuf *chunked, struct response *out)
{
    size_t hlen, i;
    long clen = -1;
    int is_chunked = 0;
    const char *h;

    while ((hlen = header_end(r)) == 0) {
        if (fill(fd, r) < 0)
            return -1;
    }
    h = r->p + r->start;
    if (hlen < 12 || strncmp(h, "HTTP/1.", 7) != 0)
        return -1;
    out->status = atoi(h + 9);
    out->close = 0;
    for (i = 0; i < hlen; i++) {
        const char *line = h + i;

        if (i > 0 && h[i - 1] != '\n')
            continue;
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            clen = strtol(line + 15, NULL, 10);
        else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 &&
                 strncasecmp(line + 18, " chunked", 8) == 0)
            is_chunked = 1;
        else if (strncasecmp(line, "Connection:", 11) == 0 &&
                 strncasecmp(line + 11, " close", 6) == 0)
            out->close = 1;
    }
    r->start += hlen;
    if (!is_chunked) {
        if (clen < 0)
            clen = 0;   /* our server always sends a length; anything else is treated empty */
        while (r->len - r->start < (size_t)clen) {
            if (fill(fd, r) < 0)
                return -1;
        }
        out->body = r->p + r->start;
        out->body_len = (size_t)clen;
        r->start += (size_t)clen;
        return 0;
    }
    chunked->len = 0;
    for (;;) {
        char *end;
        const char *nl;
        long sz;

        while ((nl = memchr(r->p + r->start, '\n', r->len - r->start)) == NULL) {
            if (fill(fd, r) < 0)
                return -1;
        }
        sz = strtol(r->p + r->start, &end, 16);
        r->start = (size_t)(nl - r->p) + 1;
        while (r->len - r->start < (size_t)sz + 2) {
            if (fill(fd, r) < 0)
                return -1;
        }
        sb_add(chunked, r->p + r->start, (size_t)sz);
        r->start += (size_t)sz + 2;
        if (sz == 0)
            break;
    }
    out->body = chunked->p ? chunked->p : "";
    out->body_len = chunked->len;
    return 0;
}

static void record(struct samples *s, uint64_t v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 65536;
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = v;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    const struct opts *o = w->o;
    struct sbuf req = { 0 }, body = { 0 }, path = { 0 }, chunked = { 0 };
    struct rbuf r = { xrealloc(NULL, RESP_INIT), 0, 0, RESP_INIT };
    int fd = -1, i;

    for (;;) {
        struct response resp;
        uint64_t t0, t1;
        long myseq;
        int ph = atomic_load(&phase), good;

        if (ph == 2)
            break;
        if (o->total > 0 && atomic_fetch_sub(&budget, 1) <= 0)
            break;
        myseq = atomic_fetch_add(&seq, 1);
        path.len = body.len = req.len = 0;
        expand(&path, o->path_tpl, myseq, w);
        if (o->body_tpl)
            expand(&body, o->body_tpl, myseq, w);
        sb_add(&req, o->method, strlen(o->method));
        sb_add(&req, " ", 1);
        sb_add(&req, path.p, path.len);
        sb_add(&req, " HTTP/1.1\r\nHost: bench\r\n", 24);
        for (i = 0; i < o->nheaders; i++) {
            sb_add(&req, o->headers[i], strlen(o->headers[i]));
            sb_add(&req, "\r\n", 2);
        }
        if (o->body_tpl) {
            sb_add(&req, "Content-Type: application/json\r\n", 32);
            sb_addf(&req, "Content-Length: %ld\r\n", (long)body.len);
        }
        sb_add(&req, "\r\n", 2);
        if (o->body_tpl)
            sb_add(&req, body.p, body.len);

        if (fd < 0) {
            fd = connect_target();
            if (fd < 0) {
                if (atomic_exchange(&first_error_shown, 1) == 0)
                    fprintf(stderr, "loadgen: connect: %s\n", strerror(errno));
                w->errors++;
                usleep(1000);
                continue;
            }
            r.start = r.len = 0;
        }
        t0 = now_ns();
        if (write_all(fd, req.p, req.len) < 0 || read_response(fd, &r, &chunked, &resp) < 0) {
            /* The server may close an idle keep-alive connection: retry once on a new one. */
            close(fd);
            fd = connect_target();
            w->reconnects++;
            r.start = r.len = 0;
            if (fd < 0 || write_all(fd, req.p, req.len) < 0 ||
                read_response(fd, &r, &chunked, &resp) < 0) {
                if (atomic_exchange(&first_error_shown, 1) == 0)
                    fprintf(stderr, "loadgen: %s %s: %s\n", o->method, path.p,
                            fd < 0 ? "cannot reconnect" : "connection lost");
                if (fd >= 0)
                    close(fd);
                fd = -1;
                w->errors++;
                continue;
            }
        }
        t1 = now_ns();
        good = o->expect ? resp.status == o->expect : resp.status >= 200 && resp.status < 300;
        if (atomic_load(&phase) == 1 || o->total > 0) {
            if (good) {
                w->ok++;
                record(&w->lat, t1 - t0);
            } else {
                w->errors++;
            }
            w->bytes_in += resp.body_len;
            if (resp.status >= 100 && resp.status < 600)
                w->status_count[resp.status / 100]++;
        }
        if (!good && atomic_exchange(&first_error_shown, 1) == 0)
            fprintf(stderr, "loadgen: %s %s -> %d: %.300s\n", o->method, path.p, resp.status,
                    resp.body);
        if (resp.close) {
            close(fd);
            fd = -1;
            w->reconnects++;
        }
    }
    if (fd >= 0)
        close(fd);
    free(req.p);
    free(body.p);
    free(path.p);
    free(chunked.p);
    free(r.p);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, size_t n, double p)
{
    size_t i;

    if (n == 0)
        return 0;
    i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1e6;
}

static double mean_ms(const struct samples *s)
{
    double sum = 0;
    size_t k;

    for (k = 0; k < s->n; k++)
        sum += (double)s->v[k];
    return s->n ? sum / (double)s->n / 1e6 : 0.0;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct sbuf b = { 0 };
    char tmp[65536];
    size_t k;

    if (!f)
        die("cannot open the body file");
    while ((k = fread(tmp, 1, sizeof(tmp), f)) > 0)
        sb_add(&b, tmp, k);
    fclose(f);
    if (!b.p)
        sb_add(&b, "", 0);
    return b.p;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: loadgen -p PORT [-h HOST] [-c CONNS] [-d SECONDS | -n REQUESTS]\n"
            "               [-w WARMUP] [-m METHOD] [-b BODY | -B FILE] [-H 'Name: v']...\n"
            "               [-s SEQ0] [-e STATUS] PATH\n");
    exit(2);
}

static void resolve(const char *host, int port)
{
    struct addrinfo hints = { 0 }, *res;
    char portstr[16];

    hints.ai_socktype = SOCK_STREAM;
    snprintf(portstr, sizeof(portstr), "%d", port);
    if (getaddrinfo(host, portstr, &hints, &res) != 0 || !res)
        die("cannot resolve the host");
    memcpy(&target, res->ai_addr, res->ai_addrlen);
    target_len = res->ai_addrlen;
    freeaddrinfo(res);
}

int main(int argc, char **argv)
{
    struct opts o = { "127.0.0.1", 0, 1, 0, 0, 0, "GET", NULL, NULL, { 0 }, 0, 0, 0 };
    struct worker *ws;
    struct samples all = { 0 };
    long ok = 0, errors = 0, reconnects = 0, st[6] = { 0 };
    uint64_t bytes = 0, t_start, t_end = 0;
    double secs;
    int c, i;

    while ((c = getopt(argc, argv, "h:p:c:d:n:w:m:b:B:H:s:e:")) != -1) {
        switch (c) {
        case 'h': o.host = optarg; break;
        case 'p': o.port = atoi(optarg); break;
        case 'c': o.conns = atoi(optarg); break;
        case 'd': o.seconds = atof(optarg); break;
        case 'n': o.total = atol(optarg); break;
        case 'w': o.warmup = atof(optarg); break;
        case 'm': o.method = optarg; break;
        case 'b': o.body_tpl = optarg; break;
        case 'B': o.body_tpl = read_file(optarg); break;
        case 'H':
            if (o.nheaders == MAX_HEADERS)
                die("too many -H");
            o.headers[o.nheaders++] = optarg;
            break;
        case 's': o.seq0 = atol(optarg); break;
        case 'e': o.expect = atoi(optarg); break;
        default: usage();
        }
    }
    if (optind != argc - 1 || o.port <= 0 || o.conns < 1 || (o.seconds <= 0 && o.total <= 0))
        usage();
    o.path_tpl = argv[optind];
    resolve(o.host, o.port);

    atomic_store(&seq, o.seq0);
    atomic_store(&budget, o.total);
    atomic_store(&phase, o.total > 0 || o.warmup <= 0 ? 1 : 0);
    ws = calloc((size_t)o.conns, sizeof(*ws));
    if (!ws)
        die("out of memory");
    t_start = now_ns();
    for (i = 0; i < o.conns; i++) {
        ws[i].index = i;
        ws[i].o = &o;
        ws[i].rng = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)(i + 1) * 0xBF58476D1CE4E5B9ULL);
        if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0)
            die("cannot start a thread");
    }
    if (o.total <= 0) {
        if (o.warmup > 0) {
            usleep((useconds_t)(o.warmup * 1e6));
            atomic_store(&phase, 1);
        }
        t_start = now_ns();
        usleep((useconds_t)(o.seconds * 1e6));
        atomic_store(&phase, 2);
        t_end = now_ns();
    }
    for (i = 0; i < o.conns; i++)
        pthread_join(ws[i].tid, NULL);
    if (o.total > 0)
        t_end = now_ns();
    secs = (double)(t_end - t_start) / 1e9;

    for (i = 0; i < o.conns; i++) {
        size_t k;

        ok += ws[i].ok;
        errors += ws[i].errors;
        reconnects += ws[i].reconnects;
        bytes += ws[i].bytes_in;
        for (k = 0; k < 6; k++)
            st[k] += ws[i].status_count[k];
        for (k = 0; k < ws[i].lat.n; k++)
            record(&all, ws[i].lat.v[k]);
        free(ws[i].lat.v);
    }
    if (all.n)
        qsort(all.v, all.n, sizeof(*all.v), cmp_u64);
    printf("{\"requests\": %ld, \"errors\": %ld, \"reconnects\": %ld, \"seconds\": %.4f, "
           "\"rps\": %.1f, \"p50_ms\": %.4f, \"p90_ms\": %.4f, \"p99_ms\": %.4f, "
           "\"max_ms\": %.4f, \"mean_ms\": %.4f, \"bytes_in\": %llu, "
           "\"status\": {\"2xx\": %ld, \"3xx\": %ld, \"4xx\": %ld, \"5xx\": %ld}}\n",
           ok, errors, reconnects, secs, secs > 0 ? (double)ok / secs : 0.0,
           pct(all.v, all.n, 0.50), pct(all.v, all.n, 0.90), pct(all.v, all.n, 0.99),
           all.n ? (double)all.v[all.n - 1] / 1e6 : 0.0,
           mean_ms(&all),
           (unsigned long long)bytes, st[2], st[3], st[4], st[5]);
    free(all.v);
    free(ws);
    return ok > 0 && errors == 0 ? 0 : 1;
}
