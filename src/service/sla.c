/* sla.c - the SLA summary (behavior.md §14.4). */
#include "service/sla.h"

#include <math.h>
#include <string.h>

#include "service/support-internal.h"
#include "util/ts.h"
#include "util/xalloc.h"

static const char *const user_sources[] = {
    "user", "chat", "support-chat", "support_chat", "customer", "manual_input",
};
static const char *const agent_sources[] = {
    "assistant", "agent", "system", "tool", "support", "staff",
};

/* The resolution of session sid: the reference indexes them in a dict, so the last one of
 * the list wins when a session has several. NULL when none. */
static const struct resolution *resolution_of(const struct sla_input *in, const char *sid)
{
    size_t i;

    for (i = in->nresolutions; i > 0; i--) {
        if (support_same(in->resolutions[i - 1].session_id, sid))
            return &in->resolutions[i - 1];
    }
    return NULL;
}

/* The distinct session ids of the episodes, in order of first appearance (arena). */
static size_t session_ids(struct arena *a, const struct sla_input *in, const char ***out)
{
    const char **ids = arena_alloc(a, (in->nepisodes + 1) * sizeof(*ids));
    size_t i, j, n = 0;

    for (i = 0; i < in->nepisodes; i++) {
        const char *sid = in->episodes[i].session_id;

        if (!sid)
            continue;
        for (j = 0; j < n && strcmp(ids[j], sid) != 0; j++)
            ;
        if (j == n)
            ids[n++] = sid;
    }
    *out = ids;
    return n;
}

/* The first episode of sid whose source is in set (NULL: any source) and that is not before
 * `from` (TS_NULL: any time); NULL when none. */
static const struct episode *first_of(const struct sla_input *in, const char *sid,
                                      const char *const *set, size_t nset, int64_t from)
{
    size_t i;

    for (i = 0; i < in->nepisodes; i++) {
        const struct episode *ep = &in->episodes[i];

        if (support_same(ep->session_id, sid) && (!set || support_in_set(ep->source, set, nset)) &&
            (from == TS_NULL || ep->created_at >= from))
            return ep;
    }
    return NULL;
}

static double seconds(int64_t from, int64_t to)
{
    return (double)(to - from) / 1e6;
}

/* One session's figures under t. */
static void session_sla(const struct sla_input *in, const char *sid, const struct sla_thresholds *t,
                        struct sla_session *s)
{
    const struct resolution *r = resolution_of(in, sid);
    const struct episode *user = first_of(in, sid, user_sources, ARRAY_SIZE(user_sources), TS_NULL);
    const struct episode *reply = first_of(in, sid, agent_sources, ARRAY_SIZE(agent_sources),
                                           user ? user->created_at : TS_NULL);

    memset(s, 0, sizeof(*s));
    s->session_id = sid;
    s->status = r ? r->status : "unknown";
    s->first_message_at = (user ? user : first_of(in, sid, NULL, 0, TS_NULL))->created_at;
    s->first_response_at = reply ? reply->created_at : TS_NULL;
    s->resolved_at = TS_NULL;
    s->first_response_seconds = s->resolution_seconds = s->open_duration_seconds = NAN;
    if (user && reply) {
        s->first_response_seconds = seconds(user->created_at, reply->created_at);
        s->first_response_breached = s->first_response_seconds > t->first_response_minutes * 60.0;
    }
    if (user && r && r->resolved_at != TS_NULL) {
        s->resolved_at = r->resolved_at;
        s->resolution_seconds = seconds(user->created_at, r->resolved_at);
        s->resolution_breached = s->resolution_seconds > t->resolution_hours * 3600.0;
    }
    if (user && strcmp(s->status, "open") == 0)
        s->open_duration_seconds = seconds(user->created_at, in->now);
}

/* The mean of the non-NAN values (NAN when there are none). */
struct mean {
    double sum;
    size_t n;
};

static void mean_add(struct mean *m, double v)
{
    if (!isnan(v)) {
        m->sum += v;
        m->n++;
    }
}

static double mean_of(const struct mean *m)
{
    return m->n ? m->sum / (double)m->n : NAN;
}

void sla_compute(struct arena *a, const struct sla_input *in, const struct sla_thresholds *t,
                 struct sla_summary *out)
{
    struct mean fr = { 0.0, 0 }, res = { 0.0, 0 };
    const char **ids;
    size_t i;

    memset(out, 0, sizeof(*out));
    out->nsessions = out->total_sessions = session_ids(a, in, &ids);
    out->sessions = arena_calloc(a, out->nsessions + 1, sizeof(*out->sessions));
    for (i = 0; i < out->nsessions; i++) {
        struct sla_session *s = &out->sessions[i];

        session_sla(in, ids[i], t, s);
        out->resolved_sessions += strcmp(s->status, "resolved") == 0;
        out->open_sessions += strcmp(s->status, "open") == 0;
        out->first_response_breach_count += s->first_response_breached;
        out->resolution_breach_count += s->resolution_breached;
        mean_add(&fr, s->first_response_seconds);
        mean_add(&res, s->resolution_seconds);
    }
    out->avg_first_response_seconds = mean_of(&fr);
    out->avg_resolution_seconds = mean_of(&res);
}

int sla_assess(struct arena *a, store *st, const char *tenant, const char *subject,
               const struct sla_thresholds *t, int64_t now, struct sla_summary *out,
               struct err *err)
{
    struct store_scope sc = { .tenant = tenant, .subject = subject };
    struct resolution_query q = { .limit = SLA_RESOLUTIONS_MAX };
    struct store_page pg = { .limit = SLA_EPISODES_MAX };
    struct sla_input in = { NULL, 0, NULL, 0, now };
    struct resolution_rows res;
    struct episode_rows eps;

    if (!store_subject_reserved(subject)) {
        if (store_resolution_query(st, a, &sc, &q, &res, err) < 0 ||
            store_episode_list(st, a, &sc, &pg, &eps, err) < 0)
            return -1;
        in.resolutions = res.items;
        in.nresolutions = res.n;
        in.episodes = eps.items;
        in.nepisodes = eps.n;
    }
    sla_compute(a, &in, t, out);
    return 0;
}
