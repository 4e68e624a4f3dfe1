/* context_rank.c - scoring the context candidates (spec/behavior.md §10.3), repeat-issue
 * detection (§10.4) and the stable sort by score. Pure: no database, no clock. */
#include "service/context-internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "service/text.h"
#include "util/buf.h"
#include "util/jv.h"
#include "util/utf8.h"
#include "util/xalloc.h"

/* Breadcrumb stop-words (§10.3). */
static const char *const crumb_stop[] = {
    "statewave", "documentation", "guide", "overview", "the", "a", "an", "of", "for", "to",
    "on", "in", "with", "is", "are", "be", "use", "using", "how", "what", "why", "which",
    "when", "where", "do", "does", "i", "my", "we", "&", ">", "\xE2\x80\xBA", "-",
};

/* Issue-keyword stop-words (§10.4). */
static const char *const issue_stop[] = {
    "i", "me", "my", "we", "our", "you", "your", "he", "she", "it", "they", "them", "their",
    "this", "that", "is", "am", "are", "was", "were", "be", "been", "being", "have", "has",
    "had", "do", "does", "did", "will", "would", "shall", "should", "can", "could", "may",
    "might", "must", "a", "an", "the", "and", "but", "or", "nor", "for", "so", "yet", "at",
    "by", "from", "in", "into", "of", "on", "to", "up", "with", "as", "if", "then", "else",
    "when", "where", "how", "what", "which", "who", "whom", "why", "all", "any", "each",
    "every", "no", "not", "only", "very", "just", "also", "too", "hi", "hello", "thanks",
    "thank", "okay", "ok", "yes", "please", "hey", "sure", "got", "get", "let", "know",
    "think", "want", "need", "help",
};

static const char crumb_strip[] = "?.,:;()[]{}'\"";

#define RESOLVED_SUMMARIES_MAX 20   /* newest resolved resolutions read for summaries (§10.4) */

/* Everything one ranking needs, computed once. */
struct ranker {
    struct arena *a;
    const struct context_input *in;
    const char *session;              /* the request session, NULL when none */
    struct context_words task;        /* T = tokset(task) */
    struct context_words open;        /* sessions with an "open" resolution */
    struct context_words resolved;    /* sessions with a "resolved" resolution */
    struct context_words repeat6;     /* repeat-issue sessions with a summary */
    struct context_words repeat4;     /* repeat-issue sessions without one */
    struct context_words covered;     /* episode ids cited by a candidate summary */
    const char **texts;               /* text(payload) of each fetched episode */
    int explain;                      /* keep each item's terms */
};

/* A source episode's breadcrumb value against the task. */
struct crumb {
    const char *id;
    double value;
};

/* ---- breadcrumbs ---- */

/* Strip the breadcrumb characters from both ends of each word, drop empty words and
 * stop-words: Q (from the task words) or B (from a breadcrumb's words). */
static void crumb_words(struct arena *a, const char *const *w, size_t n,
                        struct context_words *out)
{
    const char **kept = arena_alloc(a, (n + 1) * sizeof(*kept));
    size_t i, k = 0;

    for (i = 0; i < n; i++) {
        const char *s = w[i];
        size_t len = strlen(s);

        while (len && strchr(crumb_strip, s[0]))
            s++, len--;
        while (len && strchr(crumb_strip, s[len - 1]))
            len--;
        if (len)
            kept[k++] = arena_strndup(a, s, len);
    }
    context_words_set(kept, k, out);
    context_words_drop(out, crumb_stop, ARRAY_SIZE(crumb_stop));
}

/* 3 × |Q∩B| / min(|Q|,|B|) for one breadcrumb; 0 when it does not count. */
/* B: the words of a breadcrumb ('>' and '›' are separators), empty for none. */
static void crumb_set(struct arena *a, const char *crumb, struct context_words *b)
{
    const char **w;
    char *text, *o;
    const char *p;
    size_t n;

    b->w = NULL;
    b->n = 0;
    if (!crumb || !*crumb)
        return;
    o = text = arena_alloc(a, strlen(crumb) + 1);
    for (p = crumb; *p;) {
        if (*p == '>') {
            *o++ = ' ', p++;
        } else if (strncmp(p, "\xE2\x80\xBA", 3) == 0) {
            *o++ = ' ', p += 3;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    n = context_split(a, context_lower(a, text), &w);
    crumb_words(a, w, n, b);
}

/* 3 × |Q∩B| / min(|Q|,|B|); 0 when they share nothing. */
static double crumb_score(const struct context_words *q, const struct context_words *b)
{
    size_t common = b->n && q->n ? context_words_common(q, b) : 0;

    if (common == 0)
        return 0.0;
    return 3.0 * (double)common / (double)(q->n < b->n ? q->n : b->n);
}

static double crumb_value(struct arena *a, const struct context_words *q, const char *crumb)
{
    struct context_words b;

    if (!crumb || !*crumb || q->n == 0)
        return 0.0;
    crumb_set(a, crumb, &b);
    return crumb_score(q, &b);
}

/* Q: the task words, breadcrumb-cleaned. */
static void crumb_query(struct arena *a, const struct context_words *task,
                        struct context_words *q)
{
    crumb_words(a, task->w, task->n, q);
}

double context_breadcrumb_bonus(struct arena *a, const char *task, const char *const *crumbs,
                                size_t n)
{
    struct context_words t, q;
    double best = 0.0, v;
    size_t i;

    context_words_of(a, task, &t);
    crumb_query(a, &t, &q);
    for (i = 0; i < n; i++) {
        v = crumb_value(a, &q, crumbs[i]);
        if (v > best)
            best = v;
    }
    return best < 3.0 ? best : 3.0;
}

/* A non-empty string member key of the object v, else NULL. */
static const char *nonempty_string(const struct jv *v, const char *key)
{
    struct jv *s = v && jv_type(v) == JV_OBJECT ? jv_object_get(v, key) : NULL;
    size_t len = 0;
    const char *text = s ? jv_string(s, &len) : NULL;

    return text && len > 0 ? text : NULL;
}

/* An episode's breadcrumb: payload.breadcrumb, else payload.title, when a non-empty string.
 * The payload is parsed with jv into the request's arena. */
static const char *episode_crumb(struct arena *a, const struct episode *ep)
{
    struct jv *payload = ep->payload ? jv_parse(a, ep->payload, strlen(ep->payload), NULL,
                                                NULL) : NULL;
    const char *crumb = nonempty_string(payload, "breadcrumb");

    return crumb ? crumb : nonempty_string(payload, "title");
}

static int cmp_crumb(const void *x, const void *y)
{
    return strcmp(((const struct crumb *)x)->id, ((const struct crumb *)y)->id);
}

/* The breadcrumb value of every source episode, sorted by id for lookup. */
static struct crumb *crumb_table(struct ranker *r)
{
    struct context_words q;
    struct crumb *t = arena_calloc(r->a, r->in->nsources + 1, sizeof(*t));
    size_t i;

    crumb_query(r->a, &r->task, &q);
    for (i = 0; i < r->in->nsources; i++) {
        t[i].id = r->in->sources[i].id;
        t[i].value = r->in->prep ? crumb_score(&q, &r->in->prep->source_crumbs[i])
                                 : crumb_value(r->a, &q, episode_crumb(r->a, &r->in->sources[i]));
    }
    qsort(t, r->in->nsources, sizeof(*t), cmp_crumb);
    return t;
}

/* BC of a memory: the best value among its source episodes, at most 3. */
static double memory_crumb_bonus(struct ranker *r, size_t index, const struct crumb *table)
{
    const struct context_prepared *p = r->in->prep;
    const char **ids;
    size_t n, i;
    double best = 0.0;

    if (p) {
        ids = p->memory_sources[index];
        n = p->memory_nsources[index];
    } else {
        n = context_source_ids(r->a, r->in->memories[index].source_episode_ids, &ids);
    }
    for (i = 0; i < n && r->in->nsources; i++) {
        struct crumb key = { ids[i], 0.0 };
        const struct crumb *hit = bsearch(&key, table, r->in->nsources, sizeof(*table),
                                          cmp_crumb);

        if (hit && hit->value > best)
            best = hit->value;
    }
    return best < 3.0 ? best : 3.0;
}

/* ---- sets built from the rows ---- */

static void session_sets(struct ranker *r)
{
    size_t n = r->in->nresolutions, i, no = 0, nr = 0;
    const char **open = arena_alloc(r->a, (n + 1) * sizeof(*open));
    const char **resolved = arena_alloc(r->a, (n + 1) * sizeof(*resolved));

    for (i = 0; i < n; i++) {
        const struct resolution *res = &r->in->resolutions[i];

        if (!res->session_id || !res->status)
            continue;
        if (strcmp(res->status, "open") == 0)
            open[no++] = res->session_id;
        else if (strcmp(res->status, "resolved") == 0)
            resolved[nr++] = res->session_id;
    }
    context_words_set(open, no, &r->open);
    context_words_set(resolved, nr, &r->resolved);
}

/* Episode ids in the source_episode_ids of the candidate summaries. */
/* The ids of the episodes cited by the candidate summaries among in's memories. */
static void covered_of(struct arena *a, const struct context_input *in,
                       struct context_words *out)
{
    size_t cap = 16, n = 0, i, j, k;
    const char **ids = arena_alloc(a, cap * sizeof(*ids));

    for (i = 0; i < in->nmemories; i++) {
        const struct memory *m = &in->memories[i];
        const char **src;

        if (!m->kind || strcmp(m->kind, "episode_summary") != 0)
            continue;
        k = context_source_ids(a, m->source_episode_ids, &src);
        for (j = 0; j < k; j++) {
            if (n == cap) {
                const char **bigger = arena_alloc(a, 2 * cap * sizeof(*ids));

                memcpy(bigger, ids, n * sizeof(*ids));
                ids = bigger;
                cap *= 2;
            }
            ids[n++] = src[j];
        }
    }
    context_words_set(ids, n, out);
}

static void covered_set(struct ranker *r)
{
    if (r->in->prep)
        r->covered = r->in->prep->covered;
    else
        covered_of(r->a, r->in, &r->covered);
}

static int same_session(const char *sid, const char *session)
{
    return session && sid && strcmp(sid, session) == 0;
}

/* kw(s) = tokset(s) − STOP. */
static void issue_words(struct arena *a, const char *s, struct context_words *out)
{
    context_words_of(a, s, out);
    context_words_drop(out, issue_stop, ARRAY_SIZE(issue_stop));
}

/* The episode texts of session sid (non-empty ones), joined with " ". */
static const char *session_text(struct ranker *r, const char *sid)
{
    struct buf b = BUF_INIT;
    const char *out;
    size_t i;

    for (i = 0; i < r->in->nepisodes; i++) {
        if (!*r->texts[i] || !same_session(r->in->episodes[i].session_id, sid))
            continue;
        if (b.len)
            buf_putc(&b, ' ');
        buf_puts(&b, r->texts[i]);
    }
    out = arena_strdup(r->a, b.data);
    buf_release(&b);
    return out;
}

/* The newest resolved summary of sid among the 20 newest resolved resolutions, or NULL. */
static const char *resolved_summary(struct ranker *r, const char *sid)
{
    size_t i, seen = 0;

    for (i = 0; i < r->in->nresolutions && seen < RESOLVED_SUMMARIES_MAX; i++) {
        const struct resolution *res = &r->in->resolutions[i];

        if (!res->status || strcmp(res->status, "resolved") != 0)
            continue;
        seen++;
        if (same_session(res->session_id, sid) && res->resolution_summary &&
            *res->resolution_summary)
            return res->resolution_summary;
    }
    return NULL;
}

/* cur = kw(join(CURRENT)) ∪ kw(task); with no request session, the task alone. */
static void current_words(struct ranker *r, const char *task, struct context_words *cur)
{
    struct context_words now, tw;

    issue_words(r->a, r->session ? session_text(r, r->session) : "", &now);
    issue_words(r->a, task, &tw);
    context_words_union(r->a, &now, &tw, cur);
}

/* Is resolved session sid (not the request session) a repeat issue? Sets repeat6/repeat4. */
static void repeat_check(struct ranker *r, const struct context_words *cur, const char *sid,
                         const char **six, size_t *n6, const char **four, size_t *n4)
{
    const char *summary = resolved_summary(r, sid);
    struct context_words texts, sum, prior;

    issue_words(r->a, session_text(r, sid), &texts);
    issue_words(r->a, summary ? summary : "", &sum);
    context_words_union(r->a, &texts, &sum, &prior);
    if (prior.n == 0 || (double)context_words_common(cur, &prior) / (double)cur->n < 0.3)
        return;
    if (summary)
        six[(*n6)++] = sid;
    else
        four[(*n4)++] = sid;
}

static void repeat_sets(struct ranker *r, const char *task)
{
    size_t n = r->in->nepisodes, i, j, n6 = 0, n4 = 0, nseen = 0;
    const char **six = arena_alloc(r->a, (n + 1) * sizeof(*six));
    const char **four = arena_alloc(r->a, (n + 1) * sizeof(*four));
    const char **seen = arena_alloc(r->a, (n + 1) * sizeof(*seen));
    struct context_words cur;

    current_words(r, task, &cur);
    for (i = 0; i < n && cur.n; i++) {
        const char *sid = r->in->episodes[i].session_id;

        if (!*r->texts[i] || !sid || same_session(sid, r->session) ||
            !context_words_has(&r->resolved, sid))
            continue;
        for (j = 0; j < nseen && strcmp(seen[j], sid) != 0; j++)
            ;
        if (j < nseen)
            continue;
        seen[nseen++] = sid;
        repeat_check(r, &cur, sid, six, &n6, four, &n4);
    }
    context_words_set(six, n6, &r->repeat6);
    context_words_set(four, n4, &r->repeat4);
}

/* ---- scores ---- */

static double kind_weight(const char *kind)
{
    if (!kind)
        return 1.0;
    if (strcmp(kind, "profile_fact") == 0)
        return 10.0;
    if (strcmp(kind, "procedure") == 0)
        return 8.0;
    if (strcmp(kind, "episode_summary") == 0)
        return 5.0;
    return 1.0;
}

static enum context_section kind_section(const char *kind)
{
    if (kind && strcmp(kind, "profile_fact") == 0)
        return CONTEXT_FACTS;
    if (kind && strcmp(kind, "procedure") == 0)
        return CONTEXT_PROCEDURES;
    return CONTEXT_HISTORY;
}

/* Record one term of a score when t is not NULL (an explained request). */
static void term(struct context_terms *t, const char *name, double value)
{
    if (t && t->n < CONTEXT_TERMS_MAX) {
        t->name[t->n] = name;
        t->value[t->n++] = value;
    }
}

/* context_rel with the text's word set given. */
static double words_rel(const struct context_words *task, const struct context_words *tw)
{
    double r;

    if (task->n == 0 || tw->n == 0)
        return 0.0;
    r = 5.0 * (double)context_words_common(task, tw) / (double)task->n;
    return r < 5.0 ? r : 5.0;
}

static double memory_score(struct ranker *r, size_t i, int64_t lo, int64_t hi,
                           const struct crumb *table, struct context_terms *t)
{
    const struct memory *m = &r->in->memories[i];
    double rel = r->in->sem && !isnan(r->in->sem[i]) ? r->in->sem[i]
                 : r->in->prep ? words_rel(&r->task, &r->in->prep->memory_words[i])
                               : context_rel(r->a, &r->task, m->content);
    double kind = kind_weight(m->kind), rec = context_recency(m->created_at, lo, hi);
    double temporal = context_temporal(m->valid_to, r->in->now);
    double crumb = memory_crumb_bonus(r, i, table);

    term(t, "kind", kind);
    term(t, "recency", rec);
    term(t, "relevance", rel);
    term(t, "temporal", temporal);
    term(t, "breadcrumb", crumb);
    return kind + rec + rel + temporal + crumb;
}

static int acting(const struct episode *ep)
{
    static const char *const sources[] = { "assistant", "agent", "tool", "system" };
    static const char *const types[] = { "action", "tool_call", "resolution_attempt" };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(sources); i++) {
        if (ep->source && strcmp(ep->source, sources[i]) == 0)
            return 1;
    }
    for (i = 0; i < ARRAY_SIZE(types); i++) {
        if (ep->type && strcmp(ep->type, types[i]) == 0)
            return 1;
    }
    return 0;
}

/* 1 when the text is non-empty but shorter than 20 code points once stripped. */
static int idle_chatter(const char *c)
{
    const char *start;
    size_t len;

    if (!*c)
        return 0;
    context_strip(c, strlen(c), &start, &len);
    return utf8_count(start, len) < 20;
}

/* score += v, recorded as term name when t is not NULL. */
static void add_term(double *score, struct context_terms *t, const char *name, double v)
{
    *score += v;
    term(t, name, v);
}

static double episode_score(struct ranker *r, size_t i, int64_t lo, int64_t hi,
                            struct context_terms *t)
{
    const struct episode *ep = &r->in->episodes[i];
    const struct context_prepared *p = r->in->prep;
    const char *c = r->texts[i], *sid = ep->session_id;
    double rec = context_recency(ep->created_at, lo, hi);
    double rel = p ? words_rel(&r->task, &p->episode_words[i]) : context_rel(r->a, &r->task, c);
    double score = 3.0 + rec + rel;

    term(t, "base", 3.0);
    term(t, "recency", rec);
    term(t, "relevance", rel);
    if (same_session(sid, r->session))
        add_term(&score, t, "session", 6.0);
    if (sid && context_words_has(&r->resolved, sid))
        add_term(&score, t, "resolved_session", -5.0);
    if (sid && context_words_has(&r->repeat6, sid))
        add_term(&score, t, "repeat_issue", 6.0);
    else if (sid && context_words_has(&r->repeat4, sid))
        add_term(&score, t, "repeat_issue", 4.0);
    if (sid && context_words_has(&r->open, sid))
        add_term(&score, t, "open_session", 4.0);
    if (acting(ep))
        add_term(&score, t, "acting", 2.0);
    if (*c && (p ? p->episode_urgent[i] : context_urgent(r->a, c)))
        add_term(&score, t, "urgency", 2.0);
    if (idle_chatter(c))
        add_term(&score, t, "short_text", -2.0);
    return score;
}

/* The terms of one item: a fresh record when the request is explained, else NULL. */
static struct context_terms *item_terms(struct ranker *r)
{
    return r->explain ? arena_calloc(r->a, 1, sizeof(struct context_terms)) : NULL;
}

/* ---- the ranking ---- */

struct order {
    double score;
    size_t index;
};

static int cmp_order(const void *x, const void *y)
{
    const struct order *a = x, *b = y;

    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

static void memory_items(struct ranker *r, struct context_item *items, size_t *n)
{
    const struct context_input *in = r->in;
    int64_t *ts = arena_alloc(r->a, (in->nmemories + 1) * sizeof(*ts)), lo, hi;
    const struct crumb *table = crumb_table(r);
    size_t i;

    for (i = 0; i < in->nmemories; i++)
        ts[i] = in->memories[i].created_at;
    context_range(ts, in->nmemories, &lo, &hi);
    for (i = 0; i < in->nmemories; i++) {
        struct context_item *it = &items[(*n)++];

        memset(it, 0, sizeof(*it));
        it->memory = &in->memories[i];
        it->section = kind_section(in->memories[i].kind);
        if (in->prep) {
            it->line = in->prep->memory_lines[i];
            it->tokens = in->prep->memory_tokens[i];
        }
        it->terms = item_terms(r);
        it->score = memory_score(r, i, lo, hi, table, it->terms);
    }
}

static void episode_items(struct ranker *r, struct context_item *items, size_t *n)
{
    const struct context_input *in = r->in;
    int64_t *ts = arena_alloc(r->a, (in->nepisodes + 1) * sizeof(*ts)), lo, hi;
    size_t i;

    for (i = 0; i < in->nepisodes; i++)
        ts[i] = in->episodes[i].created_at;
    context_range(ts, in->nepisodes, &lo, &hi);
    for (i = 0; i < in->nepisodes; i++) {
        struct context_item *it;

        if (context_words_has(&r->covered, in->episodes[i].id))
            continue;
        it = &items[(*n)++];
        memset(it, 0, sizeof(*it));
        it->episode = &in->episodes[i];
        it->section = CONTEXT_EPISODES;
        it->text = r->texts[i];
        if (in->prep) {
            it->line = in->prep->episode_lines[i];
            it->tokens = in->prep->episode_tokens[i];
        }
        it->terms = item_terms(r);
        it->score = episode_score(r, i, lo, hi, it->terms);
    }
}

static const char *episode_text(struct arena *a, const struct episode *ep)
{
    return payload_text(a, ep->payload ? ep->payload : "{}");
}

static void ranker_init(struct ranker *r, struct arena *a, const struct context_request *rq,
                        const struct context_input *in)
{
    size_t i;

    memset(r, 0, sizeof(*r));
    r->a = a;
    r->in = in;
    r->session = rq->session_id && *rq->session_id ? rq->session_id : NULL;
    r->explain = rq->explain;
    context_words_of(a, rq->task, &r->task);
    r->texts = arena_alloc(a, (in->nepisodes + 1) * sizeof(*r->texts));
    for (i = 0; i < in->nepisodes; i++)
        r->texts[i] = in->prep ? in->prep->episode_texts[i] : episode_text(a, &in->episodes[i]);
    session_sets(r);
    covered_set(r);
    repeat_sets(r, rq->task);
}

void context_rank(struct arena *a, const struct context_request *rq,
                  const struct context_input *in, struct context_item **items, size_t *n)
{
    struct context_item *raw, *sorted;
    struct order *ord;
    struct ranker r;
    size_t i, count = 0;

    ranker_init(&r, a, rq, in);
    raw = arena_calloc(a, in->nmemories + in->nepisodes + 1, sizeof(*raw));
    memory_items(&r, raw, &count);
    episode_items(&r, raw, &count);
    ord = arena_alloc(a, (count + 1) * sizeof(*ord));
    for (i = 0; i < count; i++) {
        ord[i].score = raw[i].score;
        ord[i].index = i;
    }
    qsort(ord, count, sizeof(*ord), cmp_order);
    sorted = arena_calloc(a, count + 1, sizeof(*sorted));
    for (i = 0; i < count; i++)
        sorted[i] = raw[ord[i].index];
    *items = sorted;
    *n = count;
}

void context_prepare(struct arena *a, struct context_input *in)
{
    struct context_prepared *p = arena_calloc(a, 1, sizeof(*p));
    size_t nm = in->nmemories, ne = in->nepisodes, ns = in->nsources, i;

    p->memory_words = arena_calloc(a, nm + 1, sizeof(*p->memory_words));
    p->memory_sources = arena_calloc(a, nm + 1, sizeof(*p->memory_sources));
    p->memory_nsources = arena_calloc(a, nm + 1, sizeof(*p->memory_nsources));
    p->memory_lines = arena_calloc(a, nm + 1, sizeof(*p->memory_lines));
    p->memory_tokens = arena_calloc(a, nm + 1, sizeof(*p->memory_tokens));
    for (i = 0; i < nm; i++) {
        const struct memory *m = &in->memories[i];

        context_words_of(a, m->content ? m->content : "", &p->memory_words[i]);
        p->memory_nsources[i] = context_source_ids(a, m->source_episode_ids,
                                                   &p->memory_sources[i]);
        p->memory_lines[i] = context_memory_line(a, m, kind_section(m->kind));
        p->memory_tokens[i] = context_line_tokens(p->memory_lines[i]);
    }
    p->episode_texts = arena_calloc(a, ne + 1, sizeof(*p->episode_texts));
    p->episode_words = arena_calloc(a, ne + 1, sizeof(*p->episode_words));
    p->episode_urgent = arena_calloc(a, ne + 1, sizeof(*p->episode_urgent));
    p->episode_lines = arena_calloc(a, ne + 1, sizeof(*p->episode_lines));
    p->episode_tokens = arena_calloc(a, ne + 1, sizeof(*p->episode_tokens));
    for (i = 0; i < ne; i++) {
        const char *text = episode_text(a, &in->episodes[i]);

        p->episode_texts[i] = text;
        context_words_of(a, text, &p->episode_words[i]);
        p->episode_urgent[i] = *text && context_urgent(a, text);
        p->episode_lines[i] = context_episode_line(a, &in->episodes[i], text);
        p->episode_tokens[i] = context_line_tokens(p->episode_lines[i]);
    }
    p->source_crumbs = arena_calloc(a, ns + 1, sizeof(*p->source_crumbs));
    for (i = 0; i < ns; i++)
        crumb_set(a, episode_crumb(a, &in->sources[i]), &p->source_crumbs[i]);
    covered_of(a, in, &p->covered);
    in->prep = p;
}
