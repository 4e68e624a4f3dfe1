/* subject_health.c - the health score and its alerts (behavior.md §14.2, §14.3). */
#include "service/subject_health.h"

#include <string.h>

#include "service/context-internal.h" /* lower(), split() of behavior.md §0.1 */
#include "service/support-internal.h"
#include "service/webhooks.h"
#include "util/jv.h"
#include "util/ts.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#define DAY_US (86400LL * 1000000LL)
#define HOUR_US (3600LL * 1000000LL)

/* Sources of §14.2 #7 and #8 (narrower than the SLA's, a reference quirk). */
static const char *const user_sources[] = { "user", "chat", "support-chat" };
static const char *const agent_sources[] = { "assistant", "agent", "system", "tool" };
/* Health urgency keywords, substrings of the lowercased message ("down" matches "download"). */
static const char *const urgency[] = {
    "urgent", "critical", "asap", "emergency", "escalat", "broken", "down",
    "outage", "blocker",  "p0",   "p1",        "sev1",    "sev2",
};
/* Words ov() ignores. */
static const char *const overlap_stop[] = {
    "the", "a",  "an", "is", "are", "was", "were", "it", "to",  "of",   "and",  "or",
    "for", "in", "on", "at", "by",  "my",  "i",    "we", "you", "this", "that", "with",
};

/* Everything the signals look at, computed once. */
struct health_ctx {
    struct arena *a;
    const struct subject_health_input *in;
    const char ***contents; /* per episode: its non-empty message contents */
    size_t *ncontents;
    struct subject_health *out;
};

static void add_factor(struct health_ctx *h, const char *signal, int64_t impact, const char *detail)
{
    struct health_factor *f = &h->out->factors[h->out->nfactors++];

    f->signal = signal;
    f->impact = impact;
    f->detail = detail;
    h->out->score += impact;
}

/* Member key of v when v is an object, else NULL (the jv accessors want a value). */
static struct jv *member(const struct jv *v, const char *key)
{
    return v && jv_type(v) == JV_OBJECT ? jv_object_get(v, key) : NULL;
}

/* The non-empty string contents of payload.messages[] (health reads nothing else). */
static size_t message_contents(struct arena *a, const char *payload, const char ***out)
{
    struct jv *p = payload ? jv_parse(a, payload, strlen(payload), NULL, NULL) : NULL;
    struct jv *msgs = member(p, "messages");
    size_t n = msgs && jv_type(msgs) == JV_ARRAY ? jv_array_size(msgs) : 0, i, k = 0;
    const char **texts = arena_alloc(a, (n + 1) * sizeof(*texts));

    for (i = 0; i < n; i++) {
        struct jv *c = member(jv_array_get(msgs, i), "content");
        size_t len = 0;
        const char *text = c && jv_type(c) == JV_STRING ? jv_string(c, &len) : NULL;

        if (text && len)
            texts[k++] = text;
    }
    *out = texts;
    return k;
}

/* The status of session sid among the resolutions, or NULL. */
static const char *session_status(const struct subject_health_input *in, const char *sid)
{
    size_t i;

    for (i = 0; i < in->nresolutions; i++) {
        if (sid && strcmp(in->resolutions[i].session_id, sid) == 0)
            return in->resolutions[i].status;
    }
    return NULL;
}

static size_t count_status(const struct subject_health_input *in, const char *status)
{
    size_t i, n = 0;

    for (i = 0; i < in->nresolutions; i++)
        n += strcmp(in->resolutions[i].status, status) == 0;
    return n;
}

/* ---- #1 unresolved issues, #2 repeated issues ---- */

static void unresolved_issues(struct health_ctx *h)
{
    size_t n = count_status(h->in, "open");

    if (n > 0)
        add_factor(h, "unresolved_issues", -(int64_t)(15 * n < 45 ? 15 * n : 45),
                   arena_printf(h->a, "%zu open session(s)", n));
}

/* The message contents of the episodes whose session has this resolution status, joined by
 * spaces. */
static const char *status_text(struct health_ctx *h, const char *status)
{
    struct buf b = BUF_INIT;
    const char *out;
    size_t i, j;

    for (i = 0; i < h->in->nepisodes; i++) {
        const char *st = session_status(h->in, h->in->episodes[i].session_id);

        if (!st || strcmp(st, status) != 0)
            continue;
        for (j = 0; j < h->ncontents[i]; j++) {
            if (b.len)
                buf_putc(&b, ' ');
            buf_puts(&b, h->contents[i][j]);
        }
    }
    out = arena_strdup(h->a, b.data);
    buf_release(&b);
    return out;
}

/* The significant words of s: split(lower(s)), longer than 2 code points, minus the stop list
 * (a sorted set, as context_words_of makes). */
static void significant_words(struct arena *a, const char *s, struct context_words *out)
{
    struct context_words all;
    size_t i;

    context_words_of(a, s, &all);
    context_words_drop(&all, overlap_stop, ARRAY_SIZE(overlap_stop));
    out->w = all.w;
    out->n = 0;
    for (i = 0; i < all.n; i++) {
        if (utf8_count(all.w[i], strlen(all.w[i])) > 2)
            out->w[out->n++] = all.w[i];
    }
}

static int overlaps(struct arena *a, const char *x, const char *y)
{
    struct context_words wx, wy;

    significant_words(a, x, &wx);
    significant_words(a, y, &wy);
    if (wx.n == 0 || wy.n == 0)
        return 0;
    return (double)context_words_common(&wx, &wy) / (double)(wx.n < wy.n ? wx.n : wy.n) >= 0.3;
}

static void repeated_issues(struct health_ctx *h)
{
    const char *open, *resolved;

    if (count_status(h->in, "open") == 0 || count_status(h->in, "resolved") == 0)
        return;
    open = status_text(h, "open");
    resolved = status_text(h, "resolved");
    if (*open && *resolved && overlaps(h->a, open, resolved))
        add_factor(h, "repeated_issues", -20, "Open issues resemble previously resolved ones");
}

/* ---- #3 escalations, #4 idle open issue, #5 recent resolution, #6 resolution rate ---- */

static int urgent_episode(struct health_ctx *h, size_t i)
{
    size_t j, k;

    for (j = 0; j < h->ncontents[i]; j++) {
        const char *low = context_lower(h->a, h->contents[i][j]);

        for (k = 0; k < ARRAY_SIZE(urgency); k++) {
            if (strstr(low, urgency[k]))
                return 1;
        }
    }
    return 0;
}

static void escalations(struct health_ctx *h)
{
    size_t i, c = 0;

    for (i = 0; i < h->in->nepisodes; i++)
        c += urgent_episode(h, i);
    if (c > 0)
        add_factor(h, "escalations", -(int64_t)(10 * c < 20 ? 10 * c : 20),
                   arena_printf(h->a, "%zu episode(s) with urgency markers", c));
}

/* Whole days from t to now, rounded down (Python's timedelta.days). */
static int64_t whole_days(int64_t now, int64_t t)
{
    int64_t d = now - t;

    return d >= 0 ? d / DAY_US : -((-d + DAY_US - 1) / DAY_US);
}

static void idle_open_issue(struct health_ctx *h)
{
    size_t i, j;

    for (i = 0; i < h->in->nresolutions; i++) {
        const struct resolution *r = &h->in->resolutions[i];
        int64_t latest = TS_NULL, days;

        if (strcmp(r->status, "open") != 0)
            continue;
        for (j = 0; j < h->in->nepisodes; j++) {
            const struct episode *ep = &h->in->episodes[j];

            if (support_same(ep->session_id, r->session_id) && ep->created_at > latest)
                latest = ep->created_at;
        }
        if (latest == TS_NULL)
            continue;
        days = whole_days(h->in->now, latest);
        if (days >= 7) {
            add_factor(h, "idle_open_issue", -15,
                       arena_printf(h->a, "Session %s idle for %lld days", r->session_id,
                                    (long long)days));
            return;
        }
    }
}

static void recent_resolution(struct health_ctx *h)
{
    size_t i, n = 0;

    for (i = 0; i < h->in->nresolutions; i++) {
        const struct resolution *r = &h->in->resolutions[i];

        if (strcmp(r->status, "resolved") == 0 && r->resolved_at != TS_NULL &&
            whole_days(h->in->now, r->resolved_at) <= 7)
            n++;
    }
    if (n > 0)
        add_factor(h, "recent_resolution", 10,
                   arena_printf(h->a, "%zu session(s) resolved in last 7 days", n));
}

static void high_resolution_rate(struct health_ctx *h)
{
    size_t total = h->in->nresolutions, res = count_status(h->in, "resolved");

    if (total < 2 || (double)res / (double)total < 0.8)
        return;
    /* The reference's f"{rate:.0%}": rate * 100 in double, then printed with no decimals,
     * which rounds the exact binary value half to even, as printf does. */
    add_factor(h, "high_resolution_rate", 10,
               arena_printf(h->a, "%.0f%% sessions resolved (%zu/%zu)",
                            (double)res / (double)total * 100.0, res, total));
}

/* ---- #7 resolution SLA breaches, #8 slow first response ---- */

/* The first episode of session sid whose source is in set, at or after `from` (TS_NULL: any
 * time); NULL when none. */
static const struct episode *first_of(const struct subject_health_input *in, const char *sid,
                                      const char *const *set, size_t nset, int64_t from)
{
    size_t i;

    for (i = 0; i < in->nepisodes; i++) {
        const struct episode *ep = &in->episodes[i];

        if (support_same(ep->session_id, sid) && support_in_set(ep->source, set, nset) &&
            (from == TS_NULL || ep->created_at >= from))
            return ep;
    }
    return NULL;
}

static void sla_resolution_breaches(struct health_ctx *h)
{
    size_t i, b = 0;

    for (i = 0; i < h->in->nresolutions; i++) {
        const struct resolution *r = &h->in->resolutions[i];
        const struct episode *first;

        if (strcmp(r->status, "resolved") != 0 || r->resolved_at == TS_NULL)
            continue;
        first = first_of(h->in, r->session_id, user_sources, ARRAY_SIZE(user_sources), TS_NULL);
        if (first && r->resolved_at - first->created_at > 24 * HOUR_US)
            b++;
    }
    if (b > 0)
        add_factor(h, "sla_resolution_breaches", -(int64_t)(10 * b < 20 ? 10 * b : 20),
                   arena_printf(h->a, "%zu session(s) exceeded 24h resolution SLA", b));
}

static void slow_first_response(struct health_ctx *h)
{
    double sum = 0.0, avg;
    size_t i, n = 0;

    for (i = 0; i < h->in->nresolutions; i++) {
        const char *sid = h->in->resolutions[i].session_id;
        const struct episode *user =
            first_of(h->in, sid, user_sources, ARRAY_SIZE(user_sources), TS_NULL);
        const struct episode *reply =
            user ? first_of(h->in, sid, agent_sources, ARRAY_SIZE(agent_sources), user->created_at)
                 : NULL;

        if (reply) {
            sum += (double)(reply->created_at - user->created_at) / 1e6;
            n++;
        }
    }
    if (n == 0)
        return;
    avg = sum / (double)n;
    if (avg > 600.0)
        add_factor(
            h, "slow_first_response", -5,
            arena_printf(h->a, "Avg first response %.1f min (threshold: 10 min)", avg / 60.0));
}

/* ---- the score ---- */

const char *subject_health_state(int64_t score)
{
    if (score >= 70)
        return "healthy";
    return score >= 40 ? "watch" : "at_risk";
}

void subject_health_compute(struct arena *a, const struct subject_health_input *in,
                            struct subject_health *out)
{
    struct health_ctx h = { a, in, NULL, NULL, out };
    size_t i;

    memset(out, 0, sizeof(*out));
    out->score = 100;
    h.contents = arena_alloc(a, (in->nepisodes + 1) * sizeof(*h.contents));
    h.ncontents = arena_alloc(a, (in->nepisodes + 1) * sizeof(*h.ncontents));
    for (i = 0; i < in->nepisodes; i++)
        h.ncontents[i] = message_contents(a, in->episodes[i].payload, &h.contents[i]);
    unresolved_issues(&h);
    repeated_issues(&h);
    escalations(&h);
    idle_open_issue(&h);
    recent_resolution(&h);
    high_resolution_rate(&h);
    sla_resolution_breaches(&h);
    slow_first_response(&h);
    if (out->score < 0)
        out->score = 0;
    if (out->score > 100)
        out->score = 100;
    out->state = subject_health_state(out->score);
}

/* ---- alerts and the cache ---- */

static int severity(const char *state)
{
    if (state && strcmp(state, "at_risk") == 0)
        return 2;
    return state && strcmp(state, "watch") == 0 ? 1 : 0;
}

const char *subject_health_alert(const char *previous, const char *current)
{
    int before = severity(previous), after = severity(current);

    if (after > before)
        return "subject.health_degraded";
    if (after < before && previous)
        return "subject.health_improved";
    return NULL;
}

/* The alert's data: {subject_id, previous_state, current_state, score, factors[<=3],
 * generated_at} (spec/api.md §1.12), generated_at in the offset form. */
static struct jv *alert_data(struct arena *a, const char *subject, const char *previous,
                             const struct subject_health *r, int64_t now)
{
    struct jv *d = jv_object(a), *factors = jv_array(a);
    char when[TS_STR_LEN];
    size_t i;

    for (i = 0; i < r->nfactors && i < SUBJECT_HEALTH_TOP_FACTORS; i++) {
        struct jv *f = jv_object(a);

        jv_object_set(a, f, "signal", jv_str(a, r->factors[i].signal));
        jv_object_set(a, f, "impact", jv_int(a, r->factors[i].impact));
        jv_object_set(a, f, "detail", jv_str(a, r->factors[i].detail));
        jv_array_append(a, factors, f);
    }
    ts_format_offset(now, when, sizeof(when));
    jv_object_set(a, d, "subject_id", jv_str(a, subject));
    jv_object_set(a, d, "previous_state", jv_str(a, previous ? previous : "healthy"));
    jv_object_set(a, d, "current_state", jv_str(a, r->state));
    jv_object_set(a, d, "score", jv_int(a, r->score));
    jv_object_set(a, d, "factors", factors);
    jv_object_set(a, d, "generated_at", jv_str(a, when));
    return d;
}

/* Rewrite the cache row and record the alert, inside the caller's transaction. */
static int update_cache(struct arena *a, store *st, const char *tenant, const char *subject,
                        const struct subject_health *r, int64_t now, struct err *err)
{
    struct store_scope sc = { .tenant = tenant, .subject = subject };
    struct health_cache_entry e = { NULL, 0, TS_NULL };
    const char *event, *previous;
    int found;

    if (store_subject_lock(st, &sc, err) < 0 ||
        store_health_cache_get(st, a, &sc, &e, &found, err) < 0)
        return -1;
    previous = found ? e.state : NULL;
    event = subject_health_alert(previous, r->state);
    e.state = r->state;
    e.score = r->score;
    e.updated_at = now;
    if (store_health_cache_put(st, &sc, &e, err) < 0)
        return -1;
    if (!event)
        return 0;
    return webhooks_record(st, event, alert_data(a, subject, previous, r, now), err);
}

/* 1 when the cache of (tenant, subject) already holds h's state and score: recording it
 * again would change nothing but the row's updated_at, which nothing reads, and fire no
 * alert (the state is the same). A read, so that the explorer's detail and the health route
 * do not each commit a write transaction (a WAL flush on PostgreSQL) per call. */
static int cache_holds(struct arena *a, store *st, const char *tenant, const char *subject,
                       const struct subject_health *h, struct err *err)
{
    struct store_scope sc = { .tenant = tenant, .subject = subject };
    struct health_cache_entry e = { NULL, 0, TS_NULL };
    int found;

    if (store_health_cache_get(st, a, &sc, &e, &found, err) < 0)
        return -1;
    return found && e.state && strcmp(e.state, h->state) == 0 && e.score == h->score;
}

int subject_health_record(struct arena *a, store *st, const char *tenant, const char *subject,
                          const struct subject_health *h, int64_t now, struct err *err)
{
    int same = cache_holds(a, st, tenant, subject, h, err);

    if (same != 0)
        return same < 0 ? -1 : 0;
    if (store_tx_begin(st, err) < 0)
        return -1;
    if (update_cache(a, st, tenant, subject, h, now, err) < 0 || store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        return -1;
    }
    webhooks_wake();
    return 0;
}

int subject_health_assess(struct arena *a, store *st, const char *tenant, const char *subject,
                          int64_t now, struct subject_health *out, struct err *err)
{
    struct store_scope sc = { .tenant = tenant, .subject = subject };
    struct resolution_query q = { .limit = SUBJECT_HEALTH_RESOLUTIONS_MAX };
    struct store_page pg = { .limit = SUBJECT_HEALTH_EPISODES_MAX };
    struct subject_health_input in = { NULL, 0, NULL, 0, now };
    struct resolution_rows res;
    struct episode_rows eps;

    if (store_subject_reserved(subject)) {
        subject_health_compute(a, &in, out);
        return 0;
    }
    if (store_resolution_query(st, a, &sc, &q, &res, err) < 0 ||
        store_episode_list(st, a, &sc, &pg, &eps, err) < 0)
        return -1;
    in.resolutions = res.items;
    in.nresolutions = res.n;
    in.episodes = eps.items;
    in.nepisodes = eps.n;
    subject_health_compute(a, &in, out);
    return subject_health_record(a, st, tenant, subject, out, now, err);
}
