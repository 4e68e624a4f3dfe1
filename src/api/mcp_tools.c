/* mcp_tools.c - the MCP server's tools: the reference MCP server's six (spec/api.md §11.1),
 * with the same names, argument shapes, results and error form, and Engram's own
 * engram_handoff (the support tier's handoff brief, spec/api.md §4.2). Each tool's arguments are
 * declared once, in a table that both validates a call and writes the tool's input JSON
 * Schema, so the two cannot drift. The tools call the service layer directly. */
#include "api/mcp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/render.h"
#include "service/service.h"
#include "service/compile.h"
#include "service/context.h"
#include "service/episodes.h"
#include "service/handoff.h"
#include "service/search.h"
#include "service/subjects.h"
#include "store/store.h"
#include "util/jv.h"
#include "util/ts.h"
#include "util/utf8.h"

#define SUBJECT_PATTERN "^[A-Za-z0-9_.:-]+$"
#define TIMELINE_TEXT_MAX 500 /* code points of a payload shown as JSON (the reference: 500) */
#define ARGS_MAX 8

enum arg_kind {
    ARG_SUBJECT, /* a subject id: 1..256 characters of SUBJECT_PATTERN */
    ARG_TEXT,    /* a string; required ones must not be empty; max code points (0: none) */
    ARG_TIME,    /* an RFC 3339 timestamp */
    ARG_INT,     /* an integer in [min, max]; def when absent */
    ARG_BOOL,    /* true or false; false when absent */
    ARG_OBJECT,  /* any JSON object */
    ARG_KINDS,   /* up to TIMELINE_KINDS_MAX episode types of 1..128 characters */
    ARG_SOURCE,  /* {type, id, url?}: where an ingested episode came from */
};

struct tool_arg {
    const char *name;
    enum arg_kind kind;
    int required;
    int64_t min, max, def; /* ARG_INT: range and default; ARG_TEXT: max (0: none) */
    const char *doc;
};

/* A call being run: its arguments by position in the tool's table (NULL: absent). */
struct call {
    struct arena *a;
    const struct mcp_session *s;
    const struct tool *tool;
    const struct jv *arg[ARGS_MAX];
    struct mcp_tool_error *e;
};

typedef int tool_fn(struct call *c, store *st, struct jv **result);

struct tool {
    const char *name;
    const char *description;
    const struct tool_arg *args;
    size_t nargs;
    tool_fn *run;
};

/* ---- errors ---- */

__attribute__((format(printf, 4, 5))) static int fail(struct call *c, const char *code,
                                                      const char *hint, const char *fmt, ...)
{
    va_list ap;

    c->e->rpc_code = MCP_TOOL_ERROR;
    c->e->code = code;
    c->e->hint = hint;
    c->e->retryable = 0;
    va_start(ap, fmt);
    vsnprintf(c->e->message, sizeof(c->e->message), fmt, ap);
    va_end(ap);
    return -1;
}

/* A service failure in the words the reference's client gives an HTTP failure. */
static int fail_err(struct call *c, const struct err *err)
{
    int status = (int)err->kind;

    if (status == ERR_NOT_FOUND)
        fail(c, "not_found", NULL, "%s", err->msg);
    else if (status == ERR_RATE_LIMITED)
        fail(c, "rate_limited", NULL, "%s", err->msg);
    else if (status >= 500)
        fail(c, "network", "a server-side failure: try again", "Engram request failed (%d): %s",
             status, err->msg);
    else
        fail(c, "ingest_failed", NULL, "Engram request failed (%d): %s", status, err->msg);
    c->e->retryable = status >= 500 || status == ERR_RATE_LIMITED;
    return -1;
}

/* ---- reading the arguments ---- */

static int subject_ok(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > 256)
        return 0;
    for (i = 0; i < len; i++) {
        char ch = s[i];

        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == ':' || ch == '-'))
            return 0;
    }
    return 1;
}

static int integral(const struct jv *v, int64_t *out)
{
    double d;

    if (jv_int64(v, out) == 0)
        return 1;
    if (jv_type(v) != JV_REAL)
        return 0;
    d = jv_double(v);
    if (d != d || d < -9.0e15 || d > 9.0e15 || d != (double)(int64_t)d)
        return 0;
    *out = (int64_t)d;
    return 1;
}

/* A non-empty string of at most max code points (0: no limit) at key of obj. */
static int text_ok(const struct jv *obj, const char *key, int64_t max)
{
    size_t len;
    const char *s = mcp_str(jv_object_get(obj, key), &len);

    return s && len > 0 && (max == 0 || utf8_count(s, len) <= (size_t)max);
}

static int check_kinds(struct call *c, const struct tool_arg *d, const struct jv *v)
{
    size_t i, len;
    const char *k;

    if (jv_type(v) != JV_ARRAY || jv_array_size(v) > TIMELINE_KINDS_MAX)
        return fail(c, "config_invalid", "e.g. [\"note\", \"chat\"]",
                    "%s must be an array of at most %d strings", d->name, TIMELINE_KINDS_MAX);
    for (i = 0; i < jv_array_size(v); i++) {
        k = jv_string(jv_array_get(v, i), &len);
        if (!k || len == 0 || utf8_count(k, len) > 128 || memchr(k, ',', len))
            return fail(c, "config_invalid", "an episode type is 1 to 128 characters, no commas",
                        "%s[%zu] must be an episode type", d->name, i);
    }
    return 0;
}

static int check_source(struct call *c, const struct tool_arg *d, const struct jv *v)
{
    const struct jv *url = jv_object_get(v, "url");

    if (jv_type(v) != JV_OBJECT)
        return fail(c, "config_invalid", "source is {type, id, url?}", "expected object for %s.%s",
                    c->tool->name, d->name);
    if (!text_ok(v, "type", 256))
        return fail(c, "config_invalid", "source.type is 1 to 256 characters",
                    "missing required string field: source.type");
    if (!text_ok(v, "id", 0))
        return fail(c, "config_invalid", NULL, "missing required string field: source.id");
    if (url && jv_type(url) != JV_STRING)
        return fail(c, "config_invalid", NULL, "source.url must be a string");
    return 0;
}

/* Check one present argument against its declaration. */
static int check_arg(struct call *c, const struct tool_arg *d, const struct jv *v)
{
    const char *s;
    size_t len;
    int64_t i, t;

    switch (d->kind) {
    case ARG_SUBJECT:
        s = jv_string(v, &len);
        if (!s || !subject_ok(s, len))
            return fail(c, "config_invalid", "letters, digits and _ . : - (e.g. repo:owner.name)",
                        "%s must be 1 to 256 characters matching %s", d->name, SUBJECT_PATTERN);
        return 0;
    case ARG_TEXT:
        s = jv_string(v, &len);
        if (!s || (d->required && len == 0))
            return fail(c, "config_invalid", NULL, "missing required string field: %s", d->name);
        if (d->max && utf8_count(s, len) > (size_t)d->max)
            return fail(c, "config_invalid", NULL, "%s must be at most %lld characters", d->name,
                        (long long)d->max);
        return 0;
    case ARG_TIME:
        s = jv_string(v, &len);
        if (!s || episodes_parse_time(s, &t) < 0)
            return fail(c, "config_invalid", "e.g. 2026-05-01T10:00:00Z",
                        "%s must be an RFC 3339 timestamp", d->name);
        return 0;
    case ARG_INT:
        if (!integral(v, &i) || i < d->min || i > d->max)
            return fail(c, "config_invalid", NULL, "%s must be an integer from %lld to %lld",
                        d->name, (long long)d->min, (long long)d->max);
        return 0;
    case ARG_BOOL:
        if (jv_type(v) != JV_TRUE && jv_type(v) != JV_FALSE)
            return fail(c, "config_invalid", NULL, "%s must be true or false", d->name);
        return 0;
    case ARG_OBJECT:
        if (jv_type(v) != JV_OBJECT)
            return fail(c, "config_invalid", NULL, "expected object for %s.%s", c->tool->name,
                        d->name);
        return 0;
    case ARG_KINDS:
        return check_kinds(c, d, v);
    case ARG_SOURCE:
        return check_source(c, d, v);
    }
    return 0;
}

/* Match args to the tool's table: unknown names refused (additionalProperties: false),
 * required ones present, each valid. */
static int read_args(struct call *c, const struct jv *args)
{
    const struct tool *t = c->tool;
    const char *key;
    size_t i, k;

    if (args && jv_type(args) != JV_OBJECT)
        return fail(c, "config_invalid", NULL, "expected object for %s", t->name);
    for (i = 0; i < mcp_size(args); i++) {
        key = jv_object_key(args, i, NULL);
        for (k = 0; k < t->nargs && strcmp(key, t->args[k].name) != 0; k++)
            ;
        if (k == t->nargs)
            return fail(c, "config_invalid", "see the tool's inputSchema",
                        "unknown argument for %s: %s", t->name, key);
        c->arg[k] = jv_object_value(args, i);
    }
    for (k = 0; k < t->nargs; k++) {
        if (!c->arg[k] && t->args[k].required)
            return fail(c, "config_invalid", NULL, "missing required %s field: %s",
                        t->args[k].kind == ARG_SOURCE ? "object" : "string", t->args[k].name);
        if (c->arg[k] && check_arg(c, &t->args[k], c->arg[k]) < 0)
            return -1;
    }
    return 0;
}

static const char *str_arg(struct call *c, size_t k)
{
    return mcp_str(c->arg[k], NULL);
}

static int64_t int_arg(struct call *c, size_t k)
{
    int64_t v = c->tool->args[k].def;

    if (c->arg[k])
        integral(c->arg[k], &v);
    return v;
}

static int64_t time_arg(struct call *c, size_t k)
{
    int64_t t = TS_NULL;

    if (c->arg[k])
        episodes_parse_time(str_arg(c, k), &t);
    return t;
}

/* ---- result pieces ---- */

/* {id, subject, kind, text}: a memory as the reference's MCP server shows it. */
static struct jv *memory_item(struct arena *a, const struct memory *m)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "id", jv_str(a, m->id));
    jv_object_set(a, o, "subject", jv_str(a, m->subject_id));
    jv_object_set(a, o, "kind", jv_str(a, m->kind));
    jv_object_set(a, o, "text",
                  jv_str(a, m->content && *m->content ? m->content
                            : m->summary              ? m->summary
                                                      : ""));
    return o;
}

/* ---- the tools ---- */

enum { IN_SUBJECT, IN_KIND, IN_TEXT, IN_OCCURRED, IN_SOURCE, IN_IDEM, IN_METADATA };

static const struct tool_arg ingest_args[] = {
    { "subject", ARG_SUBJECT, 1, 0, 0, 0,
      "Memory subject (e.g. repo:owner.name, customer:acme, user-42)" },
    { "kind", ARG_TEXT, 1, 0, 128, 0, "Event kind, stored as the episode type (e.g. note)" },
    { "text", ARG_TEXT, 1, 0, 0, 0, "What happened, as text" },
    { "occurred_at", ARG_TIME, 1, 0, 0, 0, "When it happened (RFC 3339 timestamp)" },
    { "source", ARG_SOURCE, 1, 0, 0, 0, "Where it came from: {type, id, url?}" },
    { "idempotency_key", ARG_TEXT, 1, 0, 256, 0,
      "A stable key: ingesting the same key again returns the first episode" },
    { "metadata", ARG_OBJECT, 0, 0, 0, 0, "Free-form metadata stored with the episode" },
};

/* {text, source_id, source_url?}: the payload the reference's MCP server stores. */
static const char *ingest_payload(struct call *c)
{
    const struct jv *src = c->arg[IN_SOURCE], *url = jv_object_get(src, "url");
    struct jv *p = jv_object(c->a);

    jv_object_set(c->a, p, "text", (struct jv *)c->arg[IN_TEXT]);
    jv_object_set(c->a, p, "source_id", jv_object_get(src, "id"));
    if (mcp_str(url, NULL) && *mcp_str(url, NULL))
        jv_object_set(c->a, p, "source_url", (struct jv *)url);
    return jv_compact_text(c->a, p);
}

/* The metadata as sent plus "idempotency_key", as the reference's MCP server stores it. */
static const char *ingest_metadata(struct call *c)
{
    const struct jv *in = c->arg[IN_METADATA];
    struct jv *m = jv_object(c->a);
    size_t i;

    for (i = 0; i < mcp_size(in); i++)
        jv_object_set(c->a, m, jv_object_key(in, i, NULL), jv_object_value(in, i));
    jv_object_set(c->a, m, "idempotency_key", (struct jv *)c->arg[IN_IDEM]);
    return jv_compact_text(c->a, m);
}

static int run_ingest(struct call *c, store *st, struct jv **result)
{
    struct episode ep;
    struct err err = ERR_INIT;
    int duplicate, rc;

    memset(&ep, 0, sizeof(ep));
    ep.subject_id = str_arg(c, IN_SUBJECT);
    ep.type = str_arg(c, IN_KIND);
    ep.source = jv_string(jv_object_get(c->arg[IN_SOURCE], "type"), NULL);
    ep.payload = ingest_payload(c);
    ep.metadata = ingest_metadata(c);
    ep.provenance = "{}";
    ep.idempotency_key = str_arg(c, IN_IDEM);
    ep.occurred_at = time_arg(c, IN_OCCURRED);
    rc = episodes_record_one(c->a, st, c->s->tenant, &ep, &duplicate, &err);
    if (rc < 0) {
        fail_err(c, &err);
        err_release(&err);
        return -1;
    }
    *result = jv_object(c->a);
    jv_object_set(c->a, *result, "id", jv_str(c->a, ep.id));
    jv_object_set(c->a, *result, "idempotency_key", (struct jv *)c->arg[IN_IDEM]);
    jv_object_set(c->a, *result, "duplicate", jv_bool(c->a, duplicate));
    return 0;
}

enum { SE_SUBJECT, SE_QUERY, SE_LIMIT };

static const struct tool_arg search_args[] = {
    { "subject", ARG_SUBJECT, 1, 0, 0, 0, "Memory subject to search" },
    { "query", ARG_TEXT, 1, 0, 0, 0, "Free text, matched case-insensitively in the memories" },
    { "limit", ARG_INT, 0, 1, 50, 10, "Most memories to return" },
};

static int run_search(struct call *c, store *st, struct jv **result)
{
    struct search_query sq = { .subject_id = str_arg(c, SE_SUBJECT),
                               .q = str_arg(c, SE_QUERY),
                               .limit = (size_t)int_arg(c, SE_LIMIT) };
    struct err err = ERR_INIT;
    struct memory *mems;
    size_t i, n;

    if (search_memories(c->a, st, c->s->tenant, &sq, &mems, &n, &err) < 0) {
        fail_err(c, &err);
        err_release(&err);
        return -1;
    }
    *result = jv_array(c->a);
    for (i = 0; i < n; i++)
        jv_array_append(c->a, *result, memory_item(c->a, &mems[i]));
    return 0;
}

enum { CX_SUBJECT, CX_QUERY, CX_MAX_TOKENS };

static const struct tool_arg context_args[] = {
    { "subject", ARG_SUBJECT, 1, 0, 0, 0, "Memory subject" },
    { "query", ARG_TEXT, 1, 0, CONTEXT_TASK_MAX, 0,
      "The task at hand: it ranks the facts and procedures" },
    { "max_tokens", ARG_INT, 0, 100, 32000, 2000, "Token budget of the assembled context" },
};

static int run_context(struct call *c, store *st, struct jv **result)
{
    struct context_request rq = { .subject_id = str_arg(c, CX_SUBJECT),
                                  .task = str_arg(c, CX_QUERY),
                                  .budget = int_arg(c, CX_MAX_TOKENS) };
    struct context_bundle b;
    struct err err = ERR_INIT;
    struct jv *mems;
    size_t i;

    if (context_assemble(c->a, st, c->s->tenant, &rq, ts_now(), &b, &err) < 0) {
        fail_err(c, &err);
        err_release(&err);
        return -1;
    }
    mems = jv_array(c->a);
    for (i = 0; i < b.nfacts; i++)
        jv_array_append(c->a, mems, memory_item(c->a, b.facts[i]));
    for (i = 0; i < b.nprocedures; i++)
        jv_array_append(c->a, mems, memory_item(c->a, b.procedures[i]));
    *result = jv_object(c->a);
    jv_object_set(c->a, *result, "subject", jv_str(c->a, rq.subject_id));
    jv_object_set(c->a, *result, "assembled_context", jv_str(c->a, b.text));
    jv_object_set(c->a, *result, "token_estimate", jv_int(c->a, (int64_t)b.token_estimate));
    jv_object_set(c->a, *result, "memories", mems);
    return 0;
}

enum { HO_SUBJECT, HO_SESSION, HO_REASON, HO_MAX_TOKENS };

static const struct tool_arg handoff_args[] = {
    { "subject", ARG_SUBJECT, 1, 0, 0, 0, "Memory subject: the customer" },
    { "session_id", ARG_TEXT, 1, 0, 256, 0, "The support session being handed over" },
    { "reason", ARG_TEXT, 0, 0, HANDOFF_REASON_MAX, 0,
      "Why it is handed over (default: escalation)" },
    { "max_tokens", ARG_INT, 0, 1, HANDOFF_MAX_TOKENS, HANDOFF_DEFAULT_TOKENS,
      "Token budget of the handoff notes" },
};

/* POST /v1/handoff's brief, same body (spec/api.md §4.2). */
static int run_handoff(struct call *c, store *st, struct jv **result)
{
    const char *reason = str_arg(c, HO_REASON);
    struct handoff_request rq = { .subject_id = str_arg(c, HO_SUBJECT),
                                  .session_id = str_arg(c, HO_SESSION),
                                  .reason = reason ? reason : "escalation",
                                  .budget = int_arg(c, HO_MAX_TOKENS) };
    struct handoff h;
    struct err err = ERR_INIT;
    int64_t now = ts_now();

    if (handoff_assemble(c->a, st, c->s->tenant, &rq, now, &h, &err) < 0) {
        fail_err(c, &err);
        err_release(&err);
        return -1;
    }
    *result = api_handoff_json(c->a, &rq, &h, now);
    return 0;
}

enum { TL_SUBJECT, TL_SINCE, TL_UNTIL, TL_KINDS, TL_LIMIT };

static const struct tool_arg timeline_args[] = {
    { "subject", ARG_SUBJECT, 1, 0, 0, 0, "Memory subject" },
    { "since", ARG_TIME, 0, 0, 0, 0,
      "Only episodes that happened at or after this RFC 3339 time (occurred_at, else when "
      "recorded)" },
    { "until", ARG_TIME, 0, 0, 0, 0, "Only episodes that happened at or before this time" },
    { "kinds", ARG_KINDS, 0, 0, 0, 0, "Only episodes of these kinds (episode types)" },
    { "limit", ARG_INT, 0, 1, TIMELINE_LIMIT_MAX, TIMELINE_LIMIT, "Most episodes to return" },
};

/* payload.text when it is a string, else the payload as JSON cut at 500 characters. */
static struct jv *episode_text(struct arena *a, const struct episode *ep)
{
    const char *payload = ep->payload ? ep->payload : "{}";
    struct jv *p = jv_parse(a, payload, strlen(payload), NULL, NULL);
    struct jv *text = mcp_is(p, JV_OBJECT) ? jv_object_get(p, "text") : NULL;

    if (mcp_is(text, JV_STRING))
        return text;
    return jv_strn(a, payload, utf8_prefix_bytes(payload, strlen(payload), TIMELINE_TEXT_MAX));
}

static int run_timeline(struct call *c, store *st, struct jv **result)
{
    const struct jv *kinds = c->arg[TL_KINDS];
    struct timeline_query q = { .tenant = c->s->tenant,
                                .subject = str_arg(c, TL_SUBJECT),
                                .since = time_arg(c, TL_SINCE),
                                .until = time_arg(c, TL_UNTIL),
                                .limit = c->arg[TL_LIMIT] ? (size_t)int_arg(c, TL_LIMIT) : 0 };
    const char **names = arena_calloc(c->a, mcp_size(kinds) + 1, sizeof(*names));
    struct err err = ERR_INIT;
    struct timeline tl;
    struct jv *o;
    size_t i;

    /* Without since, until, kinds and limit: the reference's timeline (oldest 100, in the
     * order recorded), as the reference's MCP server then asks for nothing else. */
    for (i = 0; i < mcp_size(kinds); i++)
        names[i] = jv_string(jv_array_get(kinds, i), NULL);
    q.kinds = names;
    q.nkinds = mcp_size(kinds);
    if (subjects_timeline_query(c->a, st, &q, &tl, &err) < 0) {
        fail_err(c, &err);
        err_release(&err);
        return -1;
    }
    *result = jv_array(c->a);
    for (i = 0; i < tl.nepisodes; i++) {
        const struct episode *ep = &tl.episodes[i];

        o = jv_object(c->a);
        jv_object_set(c->a, o, "id", jv_str(c->a, ep->id));
        jv_object_set(c->a, o, "subject", jv_str(c->a, ep->subject_id));
        jv_object_set(c->a, o, "kind", jv_str(c->a, ep->type));
        jv_object_set(c->a, o, "text", episode_text(c->a, ep));
        jv_object_set(
            c->a, o, "occurred_at",
            render_ts_z(c->a, ep->occurred_at != TS_NULL ? ep->occurred_at : ep->created_at));
        jv_array_append(c->a, *result, o);
    }
    return 0;
}

enum { CO_SUBJECT, CO_FORCE };

static const struct tool_arg compile_args[] = {
    { "subject", ARG_SUBJECT, 1, 0, 0, 0, "Memory subject" },
    { "force", ARG_BOOL, 0, 0, 0, 0,
      "Recompile every episode (the subject's memories are rebuilt)" },
};

static int run_compile(struct call *c, store *st, struct jv **result)
{
    const char *subject = str_arg(c, CO_SUBJECT);
    struct compile_result res;
    struct err err = ERR_INIT;
    size_t left = 0;

    if (compile_subject(c->a, st, c->s->tenant, subject, mcp_is(c->arg[CO_FORCE], JV_TRUE), &res,
                        &err) < 0 ||
        compile_pending(c->a, st, c->s->tenant, subject, &left, &err) < 0) {
        fail_err(c, &err);
        err_release(&err);
        return -1;
    }
    *result = jv_object(c->a);
    jv_object_set(c->a, *result, "subject", jv_str(c->a, subject));
    jv_object_set(c->a, *result, "status", jv_str(c->a, "succeeded"));
    jv_object_set(c->a, *result, "memoriesCreated", jv_int(c->a, (int64_t)res.nmemories));
    jv_object_set(c->a, *result, "remaining", jv_int(c->a, (int64_t)left));
    jv_object_set(c->a, *result, "hasMore", jv_bool(c->a, left > 0));
    return 0;
}

enum { LS_LIMIT, LS_OFFSET };

static const struct tool_arg list_args[] = {
    { "limit", ARG_INT, 0, 1, 200, 50, "Most subjects to return" },
    { "offset", ARG_INT, 0, 0, INT32_MAX, 0, "Subjects to skip (pagination)" },
};

static int run_list(struct call *c, store *st, struct jv **result)
{
    struct subject_count *subs;
    struct err err = ERR_INIT;
    struct jv *list, *o;
    size_t i, n;

    if (subjects_list(c->a, st, c->s->tenant, (size_t)int_arg(c, LS_LIMIT),
                      (size_t)int_arg(c, LS_OFFSET), &subs, &n, &err) < 0) {
        fail_err(c, &err);
        err_release(&err);
        return -1;
    }
    list = jv_array(c->a);
    for (i = 0; i < n; i++) {
        o = jv_object(c->a);
        jv_object_set(c->a, o, "subject_id", jv_str(c->a, subs[i].subject_id));
        jv_object_set(c->a, o, "episode_count", jv_int(c->a, subs[i].episode_count));
        jv_object_set(c->a, o, "memory_count", jv_int(c->a, subs[i].memory_count));
        jv_array_append(c->a, list, o);
    }
    *result = jv_object(c->a);
    jv_object_set(c->a, *result, "subjects", list);
    jv_object_set(c->a, *result, "total", jv_int(c->a, (int64_t)n)); /* as /v1 (§1.10) */
    return 0;
}

#define TOOL(name, desc, args, fn)                           \
    {                                                        \
        name, desc, args, sizeof(args) / sizeof(args[0]), fn \
    }

static const struct tool tools[] = {
    TOOL("statewave_ingest_episode",
         "Ingest a single normalized episode into memory. Episodes are deduplicated on "
         "idempotency_key.",
         ingest_args, run_ingest),
    TOOL("statewave_search_memories",
         "Search compiled memories (not raw episodes) of a subject by free-text query.",
         search_args, run_search),
    TOOL("statewave_get_context",
         "Retrieve compact, ranked context for a subject and a task. Use this in agent "
         "prompts instead of stuffing raw chat history.",
         context_args, run_context),
    TOOL("statewave_get_timeline",
         "Retrieve a chronological timeline of a subject's episodes, filterable by time and "
         "kind. Useful for audit, change-log and replay.",
         timeline_args, run_timeline),
    TOOL("statewave_compile_subject",
         "Compile a subject's new episodes into durable memories, so they become recallable. "
         "Call again while hasMore is true.",
         compile_args, run_compile),
    TOOL("statewave_list_subjects",
         "List the memory subjects with their episode and memory counts. Read-only.", list_args,
         run_list),
    TOOL("engram_handoff",
         "Engram: a handoff brief for a support session (customer summary, active issue, what "
         "was tried, resolution history, health, SLA) with markdown notes within a token "
         "budget, for the agent or human taking over.",
         handoff_args, run_handoff),
};

#define NTOOLS (sizeof(tools) / sizeof(tools[0]))

/* ---- the input schemas, written from the tables ---- */

static struct jv *str_schema(struct arena *a, int64_t min, int64_t max)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "type", jv_str(a, "string"));
    if (min)
        jv_object_set(a, o, "minLength", jv_int(a, min));
    if (max)
        jv_object_set(a, o, "maxLength", jv_int(a, max));
    return o;
}

static struct jv *source_schema(struct arena *a)
{
    struct jv *o = jv_object(a), *props = jv_object(a), *req = jv_array(a);

    jv_object_set(a, o, "type", jv_str(a, "object"));
    jv_object_set(a, props, "type", str_schema(a, 1, 256));
    jv_object_set(a, props, "id", str_schema(a, 1, 0));
    jv_object_set(a, props, "url", str_schema(a, 0, 0));
    jv_object_set(a, o, "properties", props);
    jv_array_append(a, req, jv_str(a, "type"));
    jv_array_append(a, req, jv_str(a, "id"));
    jv_object_set(a, o, "required", req);
    return o;
}

static struct jv *arg_schema(struct arena *a, const struct tool_arg *d)
{
    struct jv *o = NULL, *items;

    switch (d->kind) {
    case ARG_SUBJECT:
        o = str_schema(a, 1, 256);
        jv_object_set(a, o, "pattern", jv_str(a, SUBJECT_PATTERN));
        break;
    case ARG_TEXT:
        o = str_schema(a, d->required ? 1 : 0, d->max);
        break;
    case ARG_TIME:
        o = str_schema(a, 0, 0);
        jv_object_set(a, o, "format", jv_str(a, "date-time"));
        break;
    case ARG_INT:
        o = jv_object(a);
        jv_object_set(a, o, "type", jv_str(a, "integer"));
        jv_object_set(a, o, "minimum", jv_int(a, d->min));
        jv_object_set(a, o, "maximum", jv_int(a, d->max));
        jv_object_set(a, o, "default", jv_int(a, d->def));
        break;
    case ARG_BOOL:
        o = jv_object(a);
        jv_object_set(a, o, "type", jv_str(a, "boolean"));
        jv_object_set(a, o, "default", jv_bool(a, 0));
        break;
    case ARG_OBJECT:
        o = jv_object(a);
        jv_object_set(a, o, "type", jv_str(a, "object"));
        jv_object_set(a, o, "additionalProperties", jv_bool(a, 1));
        break;
    case ARG_KINDS:
        o = jv_object(a);
        items = str_schema(a, 1, 128);
        jv_object_set(a, items, "pattern", jv_str(a, "^[^,]+$"));
        jv_object_set(a, o, "type", jv_str(a, "array"));
        jv_object_set(a, o, "items", items);
        jv_object_set(a, o, "maxItems", jv_int(a, TIMELINE_KINDS_MAX));
        break;
    case ARG_SOURCE:
        o = source_schema(a);
        break;
    }
    jv_object_set(a, o, "description", jv_str(a, d->doc));
    return o;
}

static struct jv *input_schema(struct arena *a, const struct tool *t)
{
    struct jv *o = jv_object(a), *props = jv_object(a), *req = jv_array(a);
    size_t k;

    for (k = 0; k < t->nargs; k++) {
        jv_object_set(a, props, t->args[k].name, arg_schema(a, &t->args[k]));
        if (t->args[k].required)
            jv_array_append(a, req, jv_str(a, t->args[k].name));
    }
    jv_object_set(a, o, "type", jv_str(a, "object"));
    jv_object_set(a, o, "properties", props);
    if (jv_array_size(req) > 0)
        jv_object_set(a, o, "required", req);
    jv_object_set(a, o, "additionalProperties", jv_bool(a, 0));
    return o;
}

struct jv *mcp_tools_list(struct arena *a)
{
    struct jv *list = jv_array(a), *o;
    size_t i;

    for (i = 0; i < NTOOLS; i++) {
        o = jv_object(a);
        jv_object_set(a, o, "name", jv_str(a, tools[i].name));
        jv_object_set(a, o, "description", jv_str(a, tools[i].description));
        jv_object_set(a, o, "inputSchema", input_schema(a, &tools[i]));
        jv_array_append(a, list, o);
    }
    return list;
}

int mcp_tool_call(struct arena *a, const struct mcp_session *s, const char *name,
                  const struct jv *args, struct jv **result, struct mcp_tool_error *e)
{
    struct call c = { .a = a, .s = s, .e = e };
    struct err err = ERR_INIT;
    store *st;
    size_t i;

    *result = NULL;
    for (i = 0; i < NTOOLS && strcmp(name, tools[i].name) != 0; i++)
        ;
    if (i == NTOOLS) {
        c.tool = NULL;
        fail(&c, "unsupported",
             "valid tools: statewave_ingest_episode, statewave_search_memories, "
             "statewave_get_context, statewave_get_timeline, statewave_compile_subject, "
             "statewave_list_subjects",
             "unknown tool: %s", name);
        e->rpc_code = MCP_INVALID_PARAMS;
        return -1;
    }
    c.tool = &tools[i];
    if (read_args(&c, args) < 0)
        return -1;
    st = service_store(&err);
    if (!st) {
        fail_err(&c, &err);
        err_release(&err);
        return -1;
    }
    return c.tool->run(&c, st, result);
}
