/* handoff.c - the handoff brief (behavior.md §14.5). */
#include "service/handoff.h"

#include <math.h>
#include <string.h>

#include "service/episodes.h"
#include "service/support-internal.h"
#include "service/text.h"
#include "service/tokens.h"
#include "util/buf.h"
#include "util/utf8.h"
#include "util/xalloc.h"

/* Current-session episodes that count as something tried (besides assistant messages). */
static const char *const step_sources[] = { "agent", "system", "tool" };
static const char *const step_types[] = { "action", "tool_call", "resolution_attempt" };

/* The first max code points of s (arena). */
static const char *cut(struct arena *a, const char *s, size_t max)
{
    return arena_strndup(a, s, utf8_prefix_bytes(s, strlen(s), max));
}

static void strs_init(struct arena *a, struct handoff_strs *l, size_t cap)
{
    l->items = arena_alloc(a, (cap + 1) * sizeof(*l->items));
    l->n = 0;
}

/* The episodes split by session: the request's (cur) and the others, each with its text. */
struct split {
    const struct episode **cur, **other;
    const char **cur_text, **other_text;
    size_t ncur, nother;
};

static void split_episodes(struct arena *a, const struct handoff_request *rq,
                           const struct handoff_input *in, struct split *s)
{
    size_t i, n = in->nepisodes + 1;

    s->cur = arena_alloc(a, n * sizeof(*s->cur));
    s->other = arena_alloc(a, n * sizeof(*s->other));
    s->cur_text = arena_alloc(a, n * sizeof(*s->cur_text));
    s->other_text = arena_alloc(a, n * sizeof(*s->other_text));
    s->ncur = s->nother = 0;
    for (i = 0; i < in->nepisodes; i++) {
        const struct episode *ep = &in->episodes[i];
        const char *text = payload_text(a, ep->payload ? ep->payload : "{}");

        if (support_same(ep->session_id, rq->session_id)) {
            s->cur_text[s->ncur] = text;
            s->cur[s->ncur++] = ep;
        } else {
            s->other_text[s->nother] = text;
            s->other[s->nother++] = ep;
        }
    }
}

/* "[source/type] " + text[:200] of the first of the first 10 current-session episodes with
 * text, plus " (+ N more messages in session)" for the others with text among them. */
static const char *active_issue(struct arena *a, const struct split *s)
{
    const char *first = NULL;
    size_t i, k = 0;

    for (i = 0; i < s->ncur && i < HANDOFF_ISSUE_SCAN; i++) {
        if (!*s->cur_text[i])
            continue;
        if (k++ == 0)
            first = arena_printf(a, "[%s/%s] %s", s->cur[i]->source, s->cur[i]->type,
                                 cut(a, s->cur_text[i], 200));
    }
    if (k == 0)
        return "";
    if (k == 1)
        return first;
    return arena_printf(a, "%s (+ %zu more messages in session)", first, k - 1);
}

static int is_step(const struct episode *ep)
{
    if (support_in_set(ep->source, step_sources, ARRAY_SIZE(step_sources)) ||
        support_in_set(ep->type, step_types, ARRAY_SIZE(step_types)))
        return 1;
    return ep->type && ep->source && strcmp(ep->type, "message") == 0 &&
           strcmp(ep->source, "assistant") == 0;
}

static void attempted_steps(struct arena *a, const struct split *s, struct handoff *out)
{
    size_t i;

    strs_init(a, &out->attempted_steps, HANDOFF_STEPS_MAX);
    for (i = 0; i < s->ncur && out->attempted_steps.n < HANDOFF_STEPS_MAX; i++) {
        if (*s->cur_text[i] && is_step(s->cur[i]))
            out->attempted_steps.items[out->attempted_steps.n++] = cut(a, s->cur_text[i], 150);
    }
}

/* "[source/type]" + " [sid]" + " " + text[:120] for the first 5 other-session episodes with
 * text; their ids (all 5) go to the provenance. */
static void recent_context(struct arena *a, const struct split *s, struct handoff *out)
{
    size_t i;

    strs_init(a, &out->recent_context, HANDOFF_CONTEXT_MAX);
    strs_init(a, &out->context_episode_ids, HANDOFF_CONTEXT_MAX);
    for (i = 0; i < s->nother && i < HANDOFF_CONTEXT_MAX; i++) {
        const struct episode *ep = s->other[i];

        out->context_episode_ids.items[out->context_episode_ids.n++] = ep->id;
        if (!*s->other_text[i])
            continue;
        out->recent_context.items[out->recent_context.n++] =
            arena_printf(a, "[%s/%s]%s%s%s %s", ep->source, ep->type, ep->session_id ? " [" : "",
                         ep->session_id ? ep->session_id : "", ep->session_id ? "]" : "",
                         cut(a, s->other_text[i], 120));
    }
}

static void facts(struct arena *a, const struct handoff_request *rq, const struct handoff_input *in,
                  struct handoff *out)
{
    struct buf b = BUF_INIT;
    size_t i;

    strs_init(a, &out->key_facts, HANDOFF_KEY_FACTS_MAX);
    strs_init(a, &out->fact_ids, in->nfacts);
    for (i = 0; i < in->nfacts; i++) {
        out->fact_ids.items[out->fact_ids.n++] = in->facts[i].id;
        if (i < HANDOFF_KEY_FACTS_MAX)
            out->key_facts.items[out->key_facts.n++] = in->facts[i].content;
    }
    if (in->nfacts == 0) {
        out->customer_summary = arena_printf(a, "Subject: %s", rq->subject_id);
        return;
    }
    buf_printf(&b, "%s \xE2\x80\x94 ", rq->subject_id);
    for (i = 0; i < in->nfacts && i < 3; i++)
        buf_printf(&b, "%s%s", i ? "; " : "", in->facts[i].content);
    out->customer_summary = arena_strdup(a, b.data);
    buf_release(&b);
}

void handoff_build(struct arena *a, const struct handoff_request *rq,
                   const struct handoff_input *in, struct handoff *out)
{
    struct split s;
    size_t i;

    memset(out, 0, sizeof(*out));
    split_episodes(a, rq, in, &s);
    out->active_issue = active_issue(a, &s);
    attempted_steps(a, &s, out);
    recent_context(a, &s, out);
    facts(a, rq, in, out);
    strs_init(a, &out->episode_ids, HANDOFF_ISSUE_SCAN);
    for (i = 0; i < s.ncur && i < HANDOFF_ISSUE_SCAN; i++)
        out->episode_ids.items[out->episode_ids.n++] = s.cur[i]->id;
    out->history = in->resolutions;
    out->nhistory = in->nresolutions;
    out->health = in->health;
    out->notes =
        handoff_trim(a, handoff_notes(a, rq, out, in->sla), rq->budget, &out->token_estimate);
}

/* ---- the notes ---- */

static const char *state_icon(const char *state)
{
    if (strcmp(state, "at_risk") == 0)
        return "\xF0\x9F\x94\xB4"; /* U+1F534 red circle */
    if (strcmp(state, "watch") == 0)
        return "\xF0\x9F\x9F\xA1"; /* U+1F7E1 yellow circle */
    if (strcmp(state, "healthy") == 0)
        return "\xF0\x9F\x9F\xA2"; /* U+1F7E2 green circle */
    return "\xE2\x9A\xAA";         /* U+26AA white circle */
}

static void notes_health(struct buf *b, const struct subject_health *h)
{
    size_t i;
    const char *p;

    buf_printf(b, "## Customer Health\n%s Health: ", state_icon(h->state));
    for (p = h->state; *p; p++)
        buf_putc(b, (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p));
    buf_printf(b, " (score: %lld)", (long long)h->score);
    for (i = 0; i < h->nfactors && i < SUBJECT_HEALTH_TOP_FACTORS; i++)
        buf_printf(b, "%s%s", i ? "; " : " \xE2\x80\x94 ", h->factors[i].detail);
    buf_puts(b, "\n\n");
}

static void notes_sla(struct buf *b, const struct sla_summary *sla)
{
    struct buf lines = BUF_INIT;
    double age = 0.0;
    size_t i;

    if (sla->first_response_breach_count)
        buf_printf(&lines,
                   "- \xE2\x9A\xA0\xEF\xB8\x8F First-response SLA breached in %zu "
                   "session(s)\n",
                   sla->first_response_breach_count);
    if (sla->resolution_breach_count)
        buf_printf(&lines,
                   "- \xE2\x9A\xA0\xEF\xB8\x8F Resolution SLA breached in %zu "
                   "session(s)\n",
                   sla->resolution_breach_count);
    if (sla->open_sessions) {
        for (i = 0; i < sla->nsessions; i++) {
            if (!isnan(sla->sessions[i].open_duration_seconds) &&
                sla->sessions[i].open_duration_seconds > age)
                age = sla->sessions[i].open_duration_seconds;
        }
        buf_printf(&lines, "- Open issue age: %.1fh\n", age / 3600.0);
    }
    if (!isnan(sla->avg_first_response_seconds))
        buf_printf(&lines, "- Avg first response: %.1f min\n",
                   sla->avg_first_response_seconds / 60.0);
    if (sla->total_sessions > 0 && lines.len)
        buf_printf(b, "## SLA Status\n%s\n", lines.data);
    buf_release(&lines);
}

static void notes_list(struct buf *b, const char *header, const struct handoff_strs *l, size_t max)
{
    size_t i;

    if (l->n == 0)
        return;
    buf_printf(b, "%s\n", header);
    for (i = 0; i < l->n && i < max; i++)
        buf_printf(b, "- %s\n", l->items[i]);
    buf_putc(b, '\n');
}

static void notes_resolutions(struct buf *b, const struct handoff *h)
{
    size_t i, open = 0, resolved = 0;

    for (i = 0; i < h->nhistory; i++) {
        if (strcmp(h->history[i].status, "resolved") != 0)
            open++;
    }
    if (h->nhistory == 0)
        return;
    if (open)
        buf_puts(b, "## Open Issues\n");
    for (i = 0; i < h->nhistory; i++) {
        const struct resolution *r = &h->history[i];

        if (strcmp(r->status, "resolved") != 0)
            buf_printf(b, "- [%s] %s\n", r->session_id,
                       r->resolution_summary ? r->resolution_summary : "No summary");
    }
    for (i = 0; i < h->nhistory && resolved < 3; i++) {
        const struct resolution *r = &h->history[i];

        if (strcmp(r->status, "resolved") != 0)
            continue;
        if (resolved++ == 0)
            buf_puts(b, "## Previously Resolved\n");
        buf_printf(b, "- [%s] %s\n", r->session_id,
                   r->resolution_summary ? r->resolution_summary : "Resolved");
    }
    buf_putc(b, '\n');
}

const char *handoff_notes(struct arena *a, const struct handoff_request *rq,
                          const struct handoff *h, const struct sla_summary *sla)
{
    struct buf b = BUF_INIT;
    const char *out;

    buf_printf(&b, "# Handoff Brief \xE2\x80\x94 %s\nReason: %s\nSession: %s\n\n", rq->subject_id,
               rq->reason, rq->session_id);
    buf_printf(&b, "## Customer\n%s\n\n", h->customer_summary);
    notes_health(&b, h->health);
    notes_sla(&b, sla);
    if (*h->active_issue)
        buf_printf(&b, "## Active Issue\n%s\n\n", h->active_issue);
    notes_list(&b, "## What Has Been Tried", &h->attempted_steps, HANDOFF_STEPS_MAX);
    notes_resolutions(&b, h);
    notes_list(&b, "## Key Facts", &h->key_facts, HANDOFF_KEY_FACTS_MAX);
    notes_list(&b, "## Recent Context (other sessions)", &h->recent_context, SIZE_MAX);
    /* Every part above ends with "\n"; the reference joins its parts with "\n", which has
     * one fewer: the last part is always the empty line closing a section. */
    b.data[--b.len] = '\0';
    out = arena_strdup(a, b.data);
    buf_release(&b);
    return out;
}

const char *handoff_trim(struct arena *a, const char *notes, int64_t budget, size_t *tokens)
{
    size_t n = strlen(notes), count = tokens_count(notes, n), keep, valid;
    char *out;

    *tokens = count;
    if (budget < 0 || count <= (size_t)budget)
        return notes;
    *tokens = (size_t)budget;
    keep = tokens_prefix_bytes(notes, n, (size_t)budget);
    valid = utf8_valid_len(notes, keep);
    if (valid == keep)
        return arena_strndup(a, notes, keep);
    /* The last token ends inside a character: its bytes decode to one U+FFFD. */
    out = arena_alloc(a, valid + 4);
    memcpy(out, notes, valid);
    memcpy(out + valid, "\xEF\xBF\xBD", 4);
    return out;
}

/* ---- reading the store ---- */

/*
 * One read serves the brief, the health and the SLA: each takes the oldest N episodes and the
 * N most recently updated resolutions, so the widest window (the SLA's 500 episodes, health's
 * 200 resolutions) holds the others as prefixes.
 */
#define READ_EPISODES SLA_EPISODES_MAX
#define READ_RESOLUTIONS SUBJECT_HEALTH_RESOLUTIONS_MAX
_Static_assert(READ_EPISODES >= SUBJECT_HEALTH_EPISODES_MAX &&
                   READ_EPISODES >= HANDOFF_EPISODES_MAX,
               "the episode windows must nest");
_Static_assert(READ_RESOLUTIONS >= SLA_RESOLUTIONS_MAX &&
                   READ_RESOLUTIONS >= HANDOFF_RESOLUTIONS_MAX,
               "the resolution windows must nest");

static size_t min_size(size_t x, size_t y)
{
    return x < y ? x : y;
}

/* The facts, episodes and resolutions of §14.5 into in, and the wider windows into all. */
static int read_rows(struct arena *a, store *st, const struct store_scope *sc,
                     struct handoff_input *in, struct sla_input *all, struct err *err)
{
    struct memory_query mq = { .kind = "profile_fact", .order = MEMORY_NEWEST_FIRST,
                               .limit = HANDOFF_FACTS_MAX };
    struct resolution_query rq = { .limit = READ_RESOLUTIONS };
    struct store_page pg = { .limit = READ_EPISODES };
    struct memory_rows facts;
    struct episode_rows eps;
    struct resolution_rows res;

    if (store_memory_list_active(st, a, sc, &mq, &facts, err) < 0 ||
        store_episode_list(st, a, sc, &pg, &eps, err) < 0 ||
        store_resolution_query(st, a, sc, &rq, &res, err) < 0)
        return -1;
    in->facts = facts.items;
    in->nfacts = facts.n;
    in->episodes = all->episodes = eps.items;
    all->nepisodes = eps.n;
    in->nepisodes = min_size(eps.n, HANDOFF_EPISODES_MAX);
    in->resolutions = all->resolutions = res.items;
    all->nresolutions = res.n;
    in->nresolutions = min_size(res.n, HANDOFF_RESOLUTIONS_MAX);
    return 0;
}

int handoff_assemble(struct arena *a, store *st, const char *tenant,
                     const struct handoff_request *rq, int64_t now, struct handoff *out,
                     struct err *err)
{
    static const struct sla_thresholds defaults = { SLA_FIRST_RESPONSE_MINUTES,
                                                    SLA_RESOLUTION_HOURS };
    struct subject_health *health = arena_alloc(a, sizeof(*health));
    struct sla_summary *sla = arena_alloc(a, sizeof(*sla));
    struct sla_input all = { NULL, 0, NULL, 0, now };
    struct subject_health_input hin;
    struct handoff_input in;

    memset(&in, 0, sizeof(in));
    if (subject_check_writable(rq->subject_id, err) < 0 ||
        read_rows(a, st, &(struct store_scope){ .tenant = tenant, .subject = rq->subject_id },
                  &in, &all, err) < 0)
        return -1;
    hin.resolutions = all.resolutions;
    hin.nresolutions = min_size(all.nresolutions, SUBJECT_HEALTH_RESOLUTIONS_MAX);
    hin.episodes = all.episodes;
    hin.nepisodes = min_size(all.nepisodes, SUBJECT_HEALTH_EPISODES_MAX);
    hin.now = now;
    subject_health_compute(a, &hin, health);
    all.nresolutions = min_size(all.nresolutions, SLA_RESOLUTIONS_MAX);
    sla_compute(a, &all, &defaults, sla);
    if (subject_health_record(a, st, tenant, rq->subject_id, health, now, err) < 0)
        return -1;
    in.health = health;
    in.sla = sla;
    handoff_build(a, rq, &in, out);
    return 0;
}
