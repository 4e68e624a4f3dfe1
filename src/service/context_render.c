/* context_render.c - item lines, packing under the token budget and the bundle's text
 * (spec/behavior.md §10.5–§10.7). Pure: no database, no clock. */
#include "service/context-internal.h"

#include <string.h>

#include "service/tokens.h"
#include "util/buf.h"
#include "util/utf8.h"

#define ARROW " \xE2\x86\x92 "   /* " → " */
#define SHORT_TEXT_MAX 150        /* code points of an episode's text in its line */

/* Length of a leading ^(user|assistant|system):\s* on line[0..n), 0 when there is none. */
static size_t role_prefix(const char *line, size_t n)
{
    static const char *const roles[] = { "user:", "assistant:", "system:" };
    const char *rest;
    size_t i, k, skip;

    for (i = 0; i < 3; i++) {
        k = strlen(roles[i]);
        if (n < k || memcmp(line, roles[i], k) != 0)
            continue;
        context_strip(line + k, n - k, &rest, &skip);
        return (size_t)(rest - line);
    }
    return 0;
}

const char *context_clean_summary(struct arena *a, const char *content)
{
    const char *s, *end, *nl, *line, *first = NULL, *last = NULL;
    size_t n, len, firstlen = 0, lastlen = 0, parts = 0, cut;

    context_strip(content ? content : "", content ? strlen(content) : 0, &s, &n);
    for (end = s + n; s <= end; s = nl + 1) {
        nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl)
            nl = end;
        context_strip(s, (size_t)(nl - s), &line, &len);
        cut = role_prefix(line, len);
        line += cut, len -= cut;
        if (len == 0)
            continue;
        if (parts++ == 0)
            first = line, firstlen = len;
        else
            last = line, lastlen = len;
    }
    if (parts == 0)
        return "";
    if (parts == 1)
        return arena_strndup(a, first, firstlen);
    return arena_printf(a, "%.*s" ARROW "%.*s", (int)firstlen, first, (int)lastlen, last);
}

const char *context_short_episode(struct arena *a, const struct episode *ep, const char *text)
{
    size_t cut;

    if (!text || !*text)
        return arena_printf(a, "[%s/%s] (no text content)", ep->source, ep->type);
    cut = utf8_prefix_bytes(text, strlen(text), SHORT_TEXT_MAX);
    return arena_printf(a, "[%s/%s] %.*s", ep->source, ep->type, (int)cut, text);
}

const char *context_episode_line(struct arena *a, const struct episode *ep, const char *text)
{
    return arena_printf(a, "- %s", context_short_episode(a, ep, text));
}

const char *context_memory_line(struct arena *a, const struct memory *m,
                                enum context_section sec)
{
    if (sec == CONTEXT_HISTORY)
        return arena_printf(a, "- %s", context_clean_summary(a, m->content));
    return arena_printf(a, "- %s", m->content ? m->content : "");
}

static const char *item_line(struct arena *a, const struct context_item *it)
{
    if (it->episode)
        return context_episode_line(a, it->episode, it->text);
    return context_memory_line(a, it->memory, it->section);
}

static const char *task_header(struct arena *a, const char *task)
{
    return arena_printf(a, "## Task\n%s\n", task);
}

/* Item lines and most of the text are the same from one request to the next: counted once
 * (tokens_count_cached), exact all the same. */
static size_t count_tokens(const char *s)
{
    return tokens_count_cached(s, strlen(s));
}

size_t context_line_tokens(const char *line)
{
    return count_tokens(line);
}

void context_pack(struct arena *a, const struct context_request *rq,
                  struct context_item *items, size_t n)
{
    int64_t used = (int64_t)count_tokens(task_header(a, rq->task));
    size_t i;

    for (i = 0; i < n; i++) {
        if (!items[i].line) {   /* else given by ranking, from context_prepare */
            items[i].line = item_line(a, &items[i]);
            items[i].tokens = count_tokens(items[i].line);
        }
        items[i].included = used + (int64_t)items[i].tokens + CONTEXT_RESERVE <= rq->budget;
        if (items[i].included)
            used += (int64_t)items[i].tokens;
    }
}

/* Append "\n" + part: the text is join(parts, "\n"). */
static void part(struct buf *b, const char *s)
{
    buf_putc(b, '\n');
    buf_puts(b, s);
}

static void render_section(struct buf *b, const char *header, const struct context_item *items,
                           size_t n, enum context_section section)
{
    size_t i, count = 0;

    for (i = 0; i < n; i++) {
        if (!items[i].included || items[i].section != section)
            continue;
        if (count++ == 0)
            part(b, header);
        part(b, items[i].line);
    }
    if (count)
        part(b, "");
}

/* The episode lines of one side of the request session (current = 1: in it). */
static size_t session_lines(struct buf *b, const char *header, const char *session,
                            const struct context_item *items, size_t n, int current)
{
    size_t i, count = 0;

    for (i = 0; i < n; i++) {
        const char *sid;

        if (!items[i].included || items[i].section != CONTEXT_EPISODES)
            continue;
        sid = items[i].episode->session_id;
        if ((sid && strcmp(sid, session) == 0) != current)
            continue;
        if (count++ == 0)
            part(b, header);
        part(b, items[i].line);
    }
    return count;
}

static void render_episodes(struct arena *a, struct buf *b, const char *session,
                            const struct context_item *items, size_t n)
{
    size_t i, any = 0;

    for (i = 0; i < n; i++)
        any += items[i].included && items[i].section == CONTEXT_EPISODES;
    if (!any)
        return;
    if (!session) {
        render_section(b, "## Recent interactions", items, n, CONTEXT_EPISODES);
        return;
    }
    part(b, "## Recent interactions");
    session_lines(b, arena_printf(a, "### Current session (%s)", session), session, items, n,
                  1);
    session_lines(b, "### Previous interactions", session, items, n, 0);
    part(b, "");
}

static const char *render_text(struct arena *a, const struct context_request *rq,
                               const struct context_item *items, size_t n)
{
    const char *session = rq->session_id && *rq->session_id ? rq->session_id : NULL;
    struct buf b = BUF_INIT;
    const char *text;

    buf_puts(&b, task_header(a, rq->task));
    render_section(&b, "## About this user", items, n, CONTEXT_FACTS);
    render_section(&b, "## Procedures", items, n, CONTEXT_PROCEDURES);
    render_section(&b, "## Recent history", items, n, CONTEXT_HISTORY);
    render_episodes(a, &b, session, items, n);
    text = arena_strndup(a, b.data, b.len);
    buf_release(&b);
    return text;
}

/* Group the included episodes by non-null session, in order of first appearance. */
static void render_sessions(struct arena *a, struct context_bundle *out)
{
    size_t i, j;

    out->sessions = arena_calloc(a, out->nepisodes + 1, sizeof(*out->sessions));
    out->nsessions = 0;
    for (i = 0; i < out->nepisodes; i++) {
        const struct episode *ep = out->episodes[i];
        struct context_session *s;

        if (!ep->session_id)
            continue;
        for (j = 0; j < out->nsessions && strcmp(out->sessions[j].session_id,
                                                  ep->session_id) != 0; j++)
            ;
        s = &out->sessions[j];
        if (j == out->nsessions) {
            out->nsessions++;
            s->session_id = ep->session_id;
            s->first_at = s->last_at = ep->created_at;
        }
        s->episode_count++;
        if (ep->created_at < s->first_at)
            s->first_at = ep->created_at;
        if (ep->created_at > s->last_at)
            s->last_at = ep->created_at;
    }
}

void context_render(struct arena *a, const struct context_request *rq,
                    const struct context_item *items, size_t n, struct context_bundle *out)
{
    size_t i;

    memset(out, 0, sizeof(*out));
    out->facts = arena_calloc(a, n + 1, sizeof(*out->facts));
    out->summaries = arena_calloc(a, n + 1, sizeof(*out->summaries));
    out->procedures = arena_calloc(a, n + 1, sizeof(*out->procedures));
    out->episodes = arena_calloc(a, n + 1, sizeof(*out->episodes));
    for (i = 0; i < n; i++) {
        if (!items[i].included)
            continue;
        switch (items[i].section) {
        case CONTEXT_FACTS:
            out->facts[out->nfacts++] = items[i].memory;
            break;
        case CONTEXT_PROCEDURES:
            out->procedures[out->nprocedures++] = items[i].memory;
            break;
        case CONTEXT_HISTORY:
            out->summaries[out->nsummaries++] = items[i].memory;
            break;
        case CONTEXT_EPISODES:
            out->episodes[out->nepisodes++] = items[i].episode;
            break;
        }
    }
    render_sessions(a, out);
    out->text = render_text(a, rq, items, n);
    out->token_estimate = count_tokens(out->text);
}

void context_build(struct arena *a, const struct context_request *rq,
                   const struct context_input *in, struct context_bundle *out)
{
    struct context_item *items;
    size_t n;

    context_rank(a, rq, in, &items, &n);
    context_pack(a, rq, items, n);
    context_render(a, rq, items, n, out);
    out->items = items;
    out->nitems = n;
}
