/* webhooks.c - webhook events: the envelope, recording in the caller's transaction, and the
 * deliverer thread (spec/api.md §1.12, behavior.md §12).
 *
 * The deliverer claims up to WEBHOOK_CLAIM_MAX due events with a lease (store_webhook_claim),
 * so other processes sharing the database skip them, then POSTs them one by one with libcurl.
 * It runs a pass when woken after a commit (webhooks_wake), when a retry it scheduled falls
 * due, and at least every WEBHOOK_POLL_SECONDS (events recorded by other processes, leases
 * of a process that died). Stopping aborts the attempt in flight and hands the events still
 * held back to the queue.
 */
#include "service/webhooks.h"

#include <curl/curl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"
#include "util/config.h"
#include "util/jv.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/utf8.h"
#include "util/uuid.h"
#include "util/worker.h"

#define SEC INT64_C(1000000)
#define CLAIM_GRACE (30 * SEC)   /* claim lease beyond the longest possible pass */
#define ERROR_TEXT_MAX 200       /* code points of the answer or error kept in last_error */
#define ANSWER_KEEP 1024         /* bytes of an answer kept (enough for 200 code points) */

static struct {
    struct worker w;              /* the deliverer: woken when events were committed */
    int curl_ready;               /* curl_global_init succeeded */
} dl = { .w = WORKER_INIT };

static atomic_int stopping;              /* read by curl's progress callback */
static _Thread_local int recorded;       /* this thread recorded events since its last wake */

int webhooks_enabled(void)
{
    return cfg && cfg->webhook_url && *cfg->webhook_url;
}

static int64_t timeout_us(void)
{
    double s = cfg && cfg->webhook_timeout > 0 ? cfg->webhook_timeout : 5.0;

    return (int64_t)(s * 1e6);
}

/* ---- recording ---- */

char *webhooks_envelope(const char *event, int64_t now, const struct jv *data)
{
    char stamp[TS_STR_LEN];
    struct buf b = BUF_INIT;
    size_t n = ts_format_offset(now, stamp, sizeof(stamp));

    buf_puts(&b, "{\"event\":");
    jv_write_str(&b, event, strlen(event));
    buf_puts(&b, ",\"timestamp\":");
    jv_write_str(&b, stamp, n);
    buf_puts(&b, ",\"data\":");
    if (data)
        jv_write_compact(&b, data);
    else
        buf_puts(&b, "{}");
    buf_putc(&b, '}');
    return buf_detach(&b, NULL);
}

int webhooks_record(store *st, const char *event, const struct jv *data, struct err *err)
{
    struct webhook_event ev;
    char *payload;
    int rc;

    if (!webhooks_enabled())
        return 0;
    memset(&ev, 0, sizeof(ev));
    uuid_v4(ev.id);
    ev.event = event;
    ev.status = "pending";
    ev.max_attempts = WEBHOOK_MAX_ATTEMPTS;
    ev.created_at = ev.next_attempt_at = ts_now();
    ev.last_attempt_at = ev.delivered_at = TS_NULL;
    payload = webhooks_envelope(event, ev.created_at, data);
    ev.payload = payload;
    rc = store_webhook_insert(st, &ev, err);
    free(payload);
    if (rc == 0)
        recorded = 1;
    return rc;
}

void webhooks_wake(void)
{
    if (!recorded)
        return;
    recorded = 0;
    worker_wake(&dl.w);
}

double webhooks_backoff(int attempts)
{
    double scale = cfg ? cfg->webhook_backoff_scale : 1.0;
    uint32_t r;

    if (attempts < 1)
        attempts = 1;
    random_bytes(&r, sizeof(r));
    return 30.0 * pow(4.0, attempts - 1) * (0.5 + (double)r / 4294967295.0) * scale;
}

/* ---- one POST ---- */

/* What one attempt came to. */
struct outcome {
    CURLcode rc;                  /* CURLE_OK when an answer came */
    long status;                  /* HTTP status of the answer */
    char answer[ANSWER_KEEP];     /* its first bytes (not NUL-terminated) */
    size_t answer_len;
    char error[CURL_ERROR_SIZE];  /* curl's detail of a transport error */
};

static size_t on_answer(char *p, size_t size, size_t nmemb, void *userdata)
{
    struct outcome *o = userdata;
    size_t n = size * nmemb, room = sizeof(o->answer) - o->answer_len;

    memcpy(o->answer + o->answer_len, p, n < room ? n : room);
    o->answer_len += n < room ? n : room;
    return n;
}

/* Abort the transfer when the deliverer is stopping. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)userdata, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return atomic_load(&stopping) ? 1 : 0;
}

/* One handle for the thread's life: the connection to the receiver is kept alive. */
static CURL *make_handle(struct curl_slist *headers)
{
    long timeout_ms = (long)(timeout_us() / 1000);
    CURL *h = curl_easy_init();

    if (!h)
        return NULL;
    curl_easy_setopt(h, CURLOPT_URL, cfg->webhook_url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_answer);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);   /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(h, CURLOPT_USERAGENT, "engram");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
    return h;
}

static void post(CURL *h, const char *payload, struct outcome *o)
{
    memset(o, 0, sizeof(*o));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(payload));
    curl_easy_setopt(h, CURLOPT_WRITEDATA, o);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, o->error);
    o->rc = curl_easy_perform(h);
    if (o->rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &o->status);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
}

/* ---- the outcome as last_error ---- */

/* Append the first max code points of s[0..n) to b as valid UTF-8: an invalid byte or a NUL
 * becomes U+FFFD, as a lenient decoder shows it (and as a text column accepts it). */
static void append_text(struct buf *b, const char *s, size_t n, size_t max)
{
    static const char replacement[] = "\xef\xbf\xbd";
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, count = 0, len;

    while (i < n && count < max) {
        len = u[i] < 0x80 ? 1 : u[i] < 0xE0 ? 2 : u[i] < 0xF0 ? 3 : 4;
        if (u[i] == 0 || len > n - i || utf8_valid_len(s + i, len) != len) {
            buf_append(b, replacement, 3);
            i++;
        } else {
            buf_append(b, s + i, len);
            i += len;
        }
        count++;
    }
}

/* The error class a Python HTTP client would name for a transport failure. */
static const char *error_type(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return "TimeoutException";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
        return "ConnectError";
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return "RemoteProtocolError";
    case CURLE_SEND_ERROR:
        return "WriteError";
    case CURLE_RECV_ERROR:
        return "ReadError";
    case CURLE_UNSUPPORTED_PROTOCOL:
        return "UnsupportedProtocol";
    case CURLE_URL_MALFORMAT:
        return "InvalidURL";
    default:
        return "TransportError";
    }
}

/* last_error (behavior.md §12) into the arena, and a short reason for the log (never the
 * answer's body) into why. */
static const char *describe(struct arena *a, const struct outcome *o, char *why, size_t size)
{
    const char *detail = o->error[0] ? o->error : curl_easy_strerror(o->rc);
    struct buf b = BUF_INIT;
    const char *text;

    if (o->rc == CURLE_OK) {
        buf_printf(&b, "HTTP %ld: ", o->status);
        append_text(&b, o->answer, o->answer_len, ERROR_TEXT_MAX);
        snprintf(why, size, "HTTP %ld", o->status);
    } else {
        buf_printf(&b, "%s: ", error_type(o->rc));
        append_text(&b, detail, strlen(detail), ERROR_TEXT_MAX);
        snprintf(why, size, "%s: %s", error_type(o->rc), detail);
    }
    text = arena_strndup(a, b.data, b.len);
    buf_release(&b);
    return text;
}

/* ---- the deliverer ---- */

static void save(store *st, const struct webhook_event *ev)
{
    struct err err = ERR_INIT;

    if (store_webhook_update(st, ev, &err) < 0)
        log_write(LOG_WARN, "webhook event '%s': recording the attempt failed (%s); it is "
                  "retried when its claim expires", ev->id, err.msg);
    err_release(&err);
}

/* Record the outcome of attempt number ev->attempts + 1; *next_due gets the retry time. */
static void settle(struct arena *a, store *st, struct webhook_event *ev, int64_t started,
                   const struct outcome *o, int64_t *next_due)
{
    int max = ev->max_attempts > 0 ? (int)ev->max_attempts : WEBHOOK_MAX_ATTEMPTS;
    char why[CURL_ERROR_SIZE + 64];
    double delay;

    ev->attempts++;
    ev->last_attempt_at = started;
    ev->http_status = o->rc == CURLE_OK ? (int)o->status : 0;
    if (o->rc == CURLE_OK && o->status >= 200 && o->status < 300) {
        ev->status = "delivered";
        ev->delivered_at = ts_now();
        ev->next_attempt_at = TS_NULL;
        save(st, ev);
        return;
    }
    ev->last_error = describe(a, o, why, sizeof(why));
    if (ev->attempts >= max) {
        ev->status = "dead_letter";
        ev->next_attempt_at = TS_NULL;
        log_write(LOG_WARN, "webhook event '%s' (%s): attempt %d of %d failed: %s; giving up "
                  "(dead_letter)", ev->id, ev->event, (int)ev->attempts, max, why);
    } else {
        delay = webhooks_backoff((int)ev->attempts);
        ev->next_attempt_at = ts_now() + (int64_t)(delay * 1e6);
        if (*next_due == TS_NULL || ev->next_attempt_at < *next_due)
            *next_due = ev->next_attempt_at;
        log_write(LOG_WARN, "webhook event '%s' (%s): attempt %d of %d failed: %s; next "
                  "attempt in %.1f s", ev->id, ev->event, (int)ev->attempts, max, why, delay);
    }
    save(st, ev);
}

/* Hand an event this pass will not attempt back to the queue: due now, attempts unchanged. */
static void release(store *st, struct webhook_event *ev)
{
    ev->next_attempt_at = ts_now();
    save(st, ev);
}

/* Oldest first: the claim returns its rows in no particular order. */
static int by_created(const void *x, const void *y)
{
    const struct webhook_event *a = x, *b = y;

    if (a->created_at != b->created_at)
        return a->created_at < b->created_at ? -1 : 1;
    return strcmp(a->id, b->id);
}

/* One pass: claim due events and attempt each, oldest first. Returns how many were claimed,
 * or -1 with err set when the store failed. */
static int deliver_due(struct arena *a, store *st, CURL *h, int64_t *next_due,
                       struct err *err)
{
    struct webhook_rows claimed;
    struct webhook_event *evs;
    struct outcome *o = arena_alloc(a, sizeof(*o));
    int64_t now = ts_now();
    size_t n, i;

    if (store_webhook_claim(st, a,
                            &(struct store_claim){
                                .now = now,
                                .lease_until = now + WEBHOOK_CLAIM_MAX * timeout_us() +
                                               CLAIM_GRACE,
                                .limit = WEBHOOK_CLAIM_MAX },
                            &claimed, err) < 0)
        return -1;
    evs = claimed.items;
    n = claimed.n;
    if (n > 1)
        qsort(evs, n, sizeof(*evs), by_created);
    for (i = 0; i < n; i++) {
        int64_t started = ts_now();

        if (atomic_load(&stopping)) {
            release(st, &evs[i]);
            continue;
        }
        post(h, evs[i].payload, o);
        if (o->rc == CURLE_ABORTED_BY_CALLBACK)
            release(st, &evs[i]);
        else
            settle(a, st, &evs[i], started, o, next_due);
    }
    return (int)n;
}

/* One pass with this thread's connection; a failure is logged once per run of failures. */
static int pass(struct arena *a, CURL *h, int64_t *next_due, int *failing)
{
    struct err err = ERR_INIT;
    store *st = store_thread(&err);
    int n = -1;

    if (!h)
        err_set(&err, ERR_INTERNAL, "curl_easy_init failed");
    else if (st)
        n = deliver_due(a, st, h, next_due, &err);
    if (n < 0 && !*failing)
        log_write(LOG_WARN, "webhook deliverer: cannot claim events: %s", err.msg);
    *failing = n < 0;
    err_release(&err);
    return n;
}

/* How long to sleep after a pass that claimed n events: not at all when the pass was full,
 * else until the next poll or the earliest retry this thread scheduled. */
static int64_t idle_us(int n, int64_t next_due)
{
    int64_t wait = WEBHOOK_POLL_SECONDS * SEC, now = ts_now();

    if (n == WEBHOOK_CLAIM_MAX)
        return 0;
    if (next_due != TS_NULL && next_due - now < wait)
        wait = next_due > now ? next_due - now : 0;
    return wait;
}

static void deliverer_main(struct worker *w, int slot)
{
    struct curl_slist *headers = NULL;
    struct arena *a = arena_new();
    int64_t next_due = TS_NULL, wait;
    unsigned long seen;
    int n, failing = 0;
    CURL *h;

    (void)slot;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");   /* no 100-continue round trip */
    h = make_handle(headers);
    while (!worker_stopping(w, &seen)) {
        arena_reset(a);
        if (next_due != TS_NULL && next_due <= ts_now())
            next_due = TS_NULL;   /* this pass takes it; failures set it anew */
        n = pass(a, h, &next_due, &failing);
        wait = n < 0 ? WEBHOOK_POLL_SECONDS * SEC : idle_us(n, next_due);
        worker_sleep(w, seen, wait);
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    arena_free(a);
    store_thread_drop();
}

/* ---- lifecycle ---- */

int webhooks_start(struct err *err)
{
    if (worker_running(&dl.w) || !webhooks_enabled())
        return 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return err_set(err, ERR_INTERNAL, "webhooks: curl_global_init failed");
    dl.curl_ready = 1;
    atomic_store(&stopping, 0);
    if (worker_start(&dl.w, 1, deliverer_main) < 0) {
        curl_global_cleanup();
        dl.curl_ready = 0;
        return err_set(err, ERR_INTERNAL, "cannot start the webhook deliverer thread");
    }
    return 0;
}

void webhooks_stop(void)
{
    if (!worker_running(&dl.w))
        return;
    atomic_store(&stopping, 1);
    worker_stop(&dl.w);
    if (dl.curl_ready)
        curl_global_cleanup();
    dl.curl_ready = 0;
}

/* ---- the operator's view ---- */

int webhooks_list(struct arena *a, store *st, const struct webhook_filter *f,
                  const struct store_page *pg, struct webhook_rows *out, struct err *err)
{
    return store_webhook_list(st, a, f, pg, out, err);
}

int webhooks_stats(store *st, struct webhook_stats *out, struct err *err)
{
    return store_webhook_stats(st, out, err);
}

int webhooks_get(struct arena *a, store *st, const char *id, struct webhook_event **out,
                 struct err *err)
{
    return store_webhook_get(st, a, id, out, err);
}

int webhooks_purge(store *st, const struct webhook_filter *f, int64_t *deleted,
                   struct err *err)
{
    *deleted = 0;
    if (!f->status && !f->event && !f->tenant)
        return err_set(err, ERR_INVALID, "at least one filter is required");
    if (f->status && strcmp(f->status, "delivered") != 0 && strcmp(f->status, "dead_letter") != 0)
        return err_set(err, ERR_INVALID,
                       "status must be one of ('delivered', 'dead_letter'); got '%s'", f->status);
    return store_webhook_purge(st, f, deleted, err);
}
