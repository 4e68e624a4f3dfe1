/* compiler_llm.c - the LLM compiler (spec/data-model.md §3, behavior.md §8): episode texts in
 * batches of at most 6000 characters, up to 4 chat completions in flight, each reply parsed
 * into memories; a batch whose call fails falls back to the heuristic compiler. */
#include "service/compiler.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "service/llm.h"
#include "service/text.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/jv.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#define LLM_TEXT_MAX 4000          /* code points of an episode's text sent to the model */
#define LLM_BATCH_CHARS 6000       /* code points per batch */
#define LLM_IN_FLIGHT 4            /* chat calls at once, per compile call */
#define LLM_TOKENS_PER_EPISODE 500
#define LLM_MAX_TOKENS 3000
#define LLM_SUMMARY_MAX 200
#define LLM_DEFAULT_CONFIDENCE 0.7
#define LLM_DEFAULT_MODEL "gpt-4o-mini"

/* Engram's wording of the obligations in spec/data-model.md §3.2. */
static const char system_prompt[] =
    "You are the memory-extraction engine of Statewave, a memory service for AI agents. "
    "You receive one or more episodes (conversations, notes, documents) and turn them into "
    "memories.\n"
    "\n"
    "Use only these kinds:\n"
    "- profile_fact: a general statement that stays true for a long time (who someone is, "
    "what they use or prefer, how their setup looks). Never a transient value such as a "
    "one-off number, status or timestamp.\n"
    "- episode_summary: what happened in the episode, or what a section of it explains.\n"
    "- procedure: steps or a workflow to follow.\n"
    "\n"
    "Every memory is an object with the keys kind, content, summary (one sentence, at most "
    "200 characters), confidence (a number from 0.0 to 1.0) and episode_index (the 0-based "
    "number of the episode it comes from, within this request).\n"
    "\n"
    "Rules:\n"
    "- Extract every distinct fact as its own memory. Do not merge unrelated facts.\n"
    "- Use only what the episodes say. Never invent, guess or embellish.\n"
    "- Values inside code blocks, JSON samples and shell examples are illustrations, not "
    "facts: never turn them into profile_fact memories. Extract the surrounding prose "
    "instead. An episode made mostly of examples gets a single episode_summary; an episode "
    "with nothing worth keeping gets no memory at all.\n"
    "- Answer with JSON only, without code fences or any other text.";

static const char *const llm_kinds[] = { "profile_fact", "episode_summary", "procedure" };

/* One episode's text as the model sees it. */
struct ep_text {
    const struct episode *ep;
    const char *text;      /* text(payload) cut to LLM_TEXT_MAX code points (arena) */
    size_t chars;          /* its length in code points */
};

/* One chat call: texts[first .. first + count). */
struct batch {
    size_t first, count;
    char *body;            /* request JSON (heap); NULL if it could not be built */
    char *reply;           /* choices[0].message.content (heap); NULL when the call failed */
    struct err err;        /* why the call failed */
};

/* Batches shared by the worker threads of one compile call. */
struct pool {
    pthread_mutex_t lock;
    struct batch *b;
    size_t n;
    size_t next;           /* the next batch to start (guarded by lock) */
};

/* What every memory of one compile call shares. */
struct compile_ctx {
    struct arena *a;
    const char *tenant;
    int64_t now;
    const char *metadata;  /* {"compiler":"llm","model":M} (arena) */
};

/* Memories collected in emission order (heap; copied into the arena at the end). */
struct memvec {
    struct memory *v;
    size_t n, cap;
};

static void memvec_push(struct memvec *mv, const struct memory *m)
{
    if (mv->n == mv->cap) {
        mv->cap = mv->cap ? mv->cap * 2 : 16;
        mv->v = xrealloc(mv->v, mv->cap * sizeof(*mv->v));
    }
    mv->v[mv->n++] = *m;
}

static const char *model_name(void)
{
    return cfg->llm_model && *cfg->llm_model ? cfg->llm_model : LLM_DEFAULT_MODEL;
}

/* ---- input: texts and batches ---- */

/* The non-empty texts of eps, each cut to LLM_TEXT_MAX code points; returns the count. */
static size_t prepare_texts(struct arena *a, const struct episode *eps, size_t n,
                            struct ep_text *out)
{
    size_t i, nt = 0;

    for (i = 0; i < n; i++) {
        const char *t = payload_text(a, eps[i].payload);
        size_t len = strlen(t), cut = utf8_prefix_bytes(t, len, LLM_TEXT_MAX);

        if (len == 0)
            continue;
        out[nt].ep = &eps[i];
        out[nt].text = cut < len ? arena_strndup(a, t, cut) : t;
        out[nt].chars = utf8_count(t, cut);
        nt++;
    }
    return nt;
}

/* Greedy batches of at most LLM_BATCH_CHARS code points; a text that alone reaches the
 * limit gets a batch of its own. Returns the number of batches written to out. */
static size_t make_batches(const struct ep_text *t, size_t nt, struct batch *out)
{
    size_t i, nb = 0, chars = 0;
    int open = 0;   /* 1 while out[nb - 1] takes more texts */

    for (i = 0; i < nt; i++) {
        int alone = t[i].chars >= LLM_BATCH_CHARS;

        if (!open || alone || chars + t[i].chars > LLM_BATCH_CHARS) {
            out[nb].first = i;
            out[nb].count = 0;
            nb++;
            chars = 0;
        }
        out[nb - 1].count++;
        chars += t[i].chars;
        open = !alone;
    }
    return nb;
}

/* ---- the request ---- */

static char *user_message(const struct ep_text *t, size_t count)
{
    struct buf b = BUF_INIT;
    size_t i;

    buf_printf(&b, "Extract the memories from the %zu episode%s below and answer with a JSON "
               "object whose only key, \"memories\", holds the array of memories.\n\n",
               count, count == 1 ? "" : "s");
    for (i = 0; i < count; i++) {
        if (i)
            buf_puts(&b, "\n\n");
        buf_printf(&b, "--- Episode %zu ---\n", i);
        buf_puts(&b, t[i].text);
    }
    return buf_detach(&b, NULL);
}

static struct jv *message(struct arena *a, const char *role, struct jv *content)
{
    struct jv *m = jv_object(a);

    jv_object_set(a, m, "role", jv_str(a, role));
    jv_object_set(a, m, "content", content);
    return m;
}

/* The chat completion request for one batch (heap), or NULL if a text is not valid UTF-8. */
static char *request_body(const struct ep_text *t, size_t count)
{
    size_t max_tokens = count * LLM_TOKENS_PER_EPISODE, len;
    char *user = user_message(t, count), *body = NULL;
    struct arena *a = arena_new();
    struct jv *o = jv_object(a), *msgs = jv_array(a), *format = jv_object(a);
    struct buf b = BUF_INIT;

    len = strlen(user);
    if (utf8_valid_len(user, len) != len)
        goto cleanup;
    jv_object_set(a, o, "model", jv_str(a, model_name()));
    jv_object_set(a, o, "temperature", jv_real(a, cfg->llm_temperature));
    jv_object_set(a, o, "max_tokens", jv_int(a, max_tokens < LLM_MAX_TOKENS
                                                    ? (int64_t)max_tokens : LLM_MAX_TOKENS));
    jv_object_set(a, format, "type", jv_str(a, "json_object"));
    jv_object_set(a, o, "response_format", format);
    jv_array_append(a, msgs, message(a, "system", jv_str(a, system_prompt)));
    jv_array_append(a, msgs, message(a, "user", jv_strn(a, user, len)));
    jv_object_set(a, o, "messages", msgs);
    jv_write_compact(&b, o);
    body = buf_detach(&b, NULL);

cleanup:
    free(user);
    arena_free(a);
    return body;
}

/* ---- running the calls ---- */

static void *batch_worker(void *arg)
{
    struct pool *p = arg;
    struct batch *b;

    for (;;) {
        pthread_mutex_lock(&p->lock);
        b = p->next < p->n ? &p->b[p->next++] : NULL;
        pthread_mutex_unlock(&p->lock);
        if (!b)
            return NULL;
        if (!b->body)
            err_set(&b->err, ERR_INVALID, "episode text is not valid UTF-8");
        else if (llm_chat(b->body, &b->reply, &b->err) < 0)
            b->reply = NULL;
    }
}

/* Run every batch's call, at most LLM_IN_FLIGHT at once; this thread is one of the workers,
 * so a failure to start threads only lowers the parallelism. */
static void run_batches(struct batch *b, size_t n)
{
    struct pool p = { PTHREAD_MUTEX_INITIALIZER, b, n, 0 };
    pthread_t th[LLM_IN_FLIGHT - 1];
    size_t want = n < LLM_IN_FLIGHT ? n : LLM_IN_FLIGHT, started = 0, i;

    for (i = 1; i < want; i++) {
        if (pthread_create(&th[started], NULL, batch_worker, &p) == 0)
            started++;
    }
    batch_worker(&p);
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&p.lock);
}

/* ---- the reply ---- */

static int py_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* s without leading and trailing whitespace, in place (s is writable). */
static char *strip(char *s)
{
    size_t n;

    while (*s && py_space(*s))
        s++;
    n = strlen(s);
    while (n && py_space(s[n - 1]))
        n--;
    s[n] = '\0';
    return s;
}

/* The reply text with a code fence removed (spec/data-model.md §3.3 step 1), in place. */
static char *unfence(char *s)
{
    char *p, *last = NULL;

    s = strip(s);
    if (strncmp(s, "```", 3) != 0)
        return s;
    p = strchr(s, '\n');
    s = p ? p + 1 : s + strlen(s);
    for (p = strstr(s, "```"); p; p = strstr(p + 1, "```"))
        last = p;
    if (last)
        *last = '\0';
    return strip(s);
}

/* The item list of a parsed reply: an array (possibly empty) in the arena a. */
static const struct jv *items_of(struct arena *a, struct jv *root)
{
    static const char *const keys[] = { "memories", "items", "results" };
    struct jv *list;
    size_t i;

    if (jv_type(root) == JV_ARRAY)
        return root;
    list = jv_array(a);
    if (jv_type(root) != JV_OBJECT)
        return list;
    for (i = 0; i < ARRAY_SIZE(keys); i++) {
        struct jv *v = jv_object_get(root, keys[i]);

        if (v && jv_type(v) == JV_ARRAY)
            return v;
    }
    if (jv_object_get(root, "kind") && jv_object_get(root, "content"))
        jv_array_append(a, list, root);
    return list;
}

static int is_type(const struct jv *v, enum jv_type t)
{
    return v && jv_type(v) == t;
}

/* Python's bool(v) for a JSON value (NULL = missing = false). */
static int truthy(const struct jv *v)
{
    size_t len;

    if (!v)
        return 0;
    switch (jv_type(v)) {
    case JV_OBJECT: return jv_object_size(v) > 0;
    case JV_ARRAY: return jv_array_size(v) > 0;
    case JV_STRING: return jv_string(v, &len) && len > 0;
    case JV_INT:
    case JV_REAL: return jv_double(v) != 0;
    case JV_TRUE: return 1;
    case JV_FALSE:
    case JV_NULL:
    case JV_RAW: return 0;
    }
    return 0;
}

/* Python's str(v): strings verbatim, other values as Python prints them (the same
 * rendering payload_text() applies to a non-string "text"). */
static const char *py_str(struct arena *a, const struct jv *v)
{
    struct buf b = BUF_INIT;
    const char *s;
    size_t len;

    if (is_type(v, JV_STRING)) {
        s = jv_string(v, &len);
        return arena_strndup(a, s, len);
    }
    buf_puts(&b, "{\"text\":");
    jv_write_compact(&b, v);
    buf_putc(&b, '}');
    s = payload_text(a, b.data);
    buf_release(&b);
    return s;
}

/* sep.join(str(x) for x in arr). */
static const char *py_join(struct arena *a, const struct jv *arr, const char *sep)
{
    struct buf b = BUF_INIT;
    const char *s;
    size_t i;

    for (i = 0; i < jv_array_size(arr); i++) {
        if (i)
            buf_puts(&b, sep);
        buf_puts(&b, py_str(a, jv_array_get(arr, i)));
    }
    s = arena_strndup(a, b.data, b.len);
    buf_release(&b);
    return s;
}

/* s[:n] in code points. */
static const char *cut(struct arena *a, const char *s, size_t n)
{
    size_t len = strlen(s), bytes = utf8_prefix_bytes(s, len, n);

    return bytes < len ? arena_strndup(a, s, bytes) : s;
}

static const char *item_content(struct arena *a, const struct jv *v)
{
    if (is_type(v, JV_ARRAY))
        return py_join(a, v, "\n");
    if (is_type(v, JV_STRING))
        return py_str(a, v);
    return truthy(v) ? py_str(a, v) : "";
}

static const char *item_summary(struct arena *a, const struct jv *v, const char *content)
{
    if (!truthy(v))
        return cut(a, content, LLM_SUMMARY_MAX);
    if (is_type(v, JV_ARRAY))
        return cut(a, py_join(a, v, " "), LLM_SUMMARY_MAX);
    if (is_type(v, JV_STRING))
        return py_str(a, v);
    return cut(a, py_str(a, v), LLM_SUMMARY_MAX);
}

/* Python's float(s) for a numeric string; -1 when it is not one (or is NaN). */
static int parse_float(const char *s, double *out)
{
    char *buf = xstrdup(s), *p = strip(buf), *end;
    int ret = -1;

    if (*p && !strchr(p, 'x') && !strchr(p, 'X')) {
        *out = strtod(p, &end);
        if (end != p && *end == '\0' && !isnan(*out))
            ret = 0;
    }
    free(buf);
    return ret;
}

/* The item's confidence clamped to [0, 1]; -1 when it is not numeric. */
static int item_confidence(const struct jv *v, double *out)
{
    double c;

    if (!v)
        c = LLM_DEFAULT_CONFIDENCE;
    else if (is_type(v, JV_INT) || is_type(v, JV_REAL))
        c = jv_double(v);
    else if (is_type(v, JV_TRUE) || is_type(v, JV_FALSE))
        c = jv_is_true(v) ? 1.0 : 0.0;
    else if (!is_type(v, JV_STRING) || parse_float(jv_string(v, NULL), &c) < 0)
        return -1;
    if (isnan(c))
        return -1;
    *out = c < 0 ? 0 : c > 1 ? 1 : c;
    return 0;
}

/* episode_index: a JSON integer (or boolean) in [0, count), else 0. */
static size_t item_index(const struct jv *v, size_t count)
{
    int64_t k;

    if (is_type(v, JV_TRUE) || is_type(v, JV_FALSE))
        k = jv_is_true(v);
    else if (!v || jv_int64(v, &k) < 0)
        return 0;
    return k >= 0 && (size_t)k < count ? (size_t)k : 0;
}

static const char *item_kind(const struct jv *v)
{
    size_t i;

    for (i = 0; is_type(v, JV_STRING) && i < ARRAY_SIZE(llm_kinds); i++) {
        if (strcmp(jv_string(v, NULL), llm_kinds[i]) == 0)
            return llm_kinds[i];
    }
    return "episode_summary";
}

static void fill_memory(const struct compile_ctx *c, const struct episode *ep,
                        struct memory *m)
{
    uuid_v4(m->id);
    m->subject_id = ep->subject_id;
    m->tenant_id = c->tenant;
    m->valid_from = ep->created_at;
    m->valid_to = TS_NULL;
    m->source_episode_ids = arena_printf(c->a, "[\"%s\"]", ep->id);
    m->metadata = c->metadata;
    m->status = "active";
    m->embedding = NULL;
    m->embedding_dim = 0;
    m->sensitivity_labels = "[]";
    m->created_at = c->now;
    m->updated_at = c->now;
}

/* One reply item into *m: 0 when it makes a memory, 1 when it is dropped (empty content,
 * or malformed: not an object, non-numeric confidence; the reference fails the whole
 * compile there, a fix the spec allows). */
static int item_memory(const struct compile_ctx *c, const struct jv *item,
                       const struct ep_text *t, size_t count, struct memory *m)
{
    const char *content;

    memset(m, 0, sizeof(*m));
    if (!is_type(item, JV_OBJECT)) {
        log_write(LOG_WARN, "llm compile: skipped a reply item that is not an object");
        return 1;
    }
    content = item_content(c->a, jv_object_get(item, "content"));
    if (!*content)
        return 1;
    if (item_confidence(jv_object_get(item, "confidence"), &m->confidence) < 0) {
        log_write(LOG_WARN, "llm compile: skipped a reply item with a non-numeric confidence");
        return 1;
    }
    m->kind = item_kind(jv_object_get(item, "kind"));
    m->content = content;
    m->summary = item_summary(c->a, jv_object_get(item, "summary"), content);
    fill_memory(c, t[item_index(jv_object_get(item, "episode_index"), count)].ep, m);
    return 0;
}

/* Parse one batch's reply into memories; -1 (nothing added) when it is not JSON. */
static int parse_reply(const struct compile_ctx *c, const char *reply, const struct ep_text *t,
                       size_t count, struct memvec *mv)
{
    char *text = unfence(arena_strdup(c->a, reply));
    struct arena *scratch = arena_new();   /* the tree; what memories keep is copied to c->a */
    struct jv *root = jv_parse(scratch, text, strlen(text), NULL, NULL);
    const struct jv *items;
    struct memory m;
    size_t i;

    if (!root) {
        arena_free(scratch);
        return -1;
    }
    items = items_of(scratch, root);
    for (i = 0; i < jv_array_size(items); i++) {
        if (item_memory(c, jv_array_get(items, i), t, count, &m) == 0)
            memvec_push(mv, &m);
    }
    arena_free(scratch);
    return 0;
}

/* The heuristic compiler over one batch's episodes (spec/behavior.md §8 Decide). */
static int fallback(const struct compile_ctx *c, const struct ep_text *t, size_t count,
                    struct memvec *mv, struct err *err)
{
    struct episode *eps = xmalloc(count * sizeof(*eps));
    struct memory *out = NULL;
    size_t i, nout = 0;
    int ret;

    for (i = 0; i < count; i++)
        eps[i] = *t[i].ep;
    ret = compile_heuristic(c->a, eps, count, c->tenant, c->now, &out, &nout, err);
    free(eps);
    for (i = 0; ret == 0 && i < nout; i++)
        memvec_push(mv, &out[i]);
    return ret;
}

static int collect(const struct compile_ctx *c, struct batch *b, size_t nb,
                   const struct ep_text *t, struct memvec *mv, struct err *err)
{
    size_t i;

    for (i = 0; i < nb; i++) {
        const struct ep_text *bt = t + b[i].first;

        if (b[i].reply && parse_reply(c, b[i].reply, bt, b[i].count, mv) == 0)
            continue;
        log_write(LOG_WARN, "llm compile: batch %zu of %zu (%zu episodes) failed: %s; "
                  "using the heuristic compiler for it", i + 1, nb, b[i].count,
                  b[i].reply ? "the reply is not JSON" : b[i].err.msg);
        if (fallback(c, bt, b[i].count, mv, err) < 0)
            return -1;
    }
    return 0;
}

static const char *metadata_json(struct arena *a)
{
    struct jv *o = jv_object(a);
    struct buf b = BUF_INIT;
    const char *s;

    jv_object_set(a, o, "compiler", jv_str(a, "llm"));
    jv_object_set(a, o, "model", jv_str(a, model_name()));
    jv_write_compact(&b, o);
    s = arena_strndup(a, b.data, b.len);
    buf_release(&b);
    return s;
}

int compile_llm(struct arena *a, const struct episode *eps, size_t n, const char *tenant,
                int64_t now, struct memory **out, size_t *nout, struct err *err)
{
    struct compile_ctx c = { a, tenant, now, NULL };
    struct memvec mv = { NULL, 0, 0 };
    struct ep_text *t = NULL;
    struct batch *b = NULL;
    size_t nt, nb = 0, i;
    int ret = -1;

    *out = NULL;
    *nout = 0;
    if (n == 0)
        return 0;
    t = xmalloc(n * sizeof(*t));
    nt = prepare_texts(a, eps, n, t);
    b = xcalloc(nt ? nt : 1, sizeof(*b));
    nb = make_batches(t, nt, b);
    for (i = 0; i < nb; i++) {
        err_init(&b[i].err);
        b[i].body = request_body(t + b[i].first, b[i].count);
    }
    run_batches(b, nb);
    c.metadata = metadata_json(a);
    if (collect(&c, b, nb, t, &mv, err) < 0)
        goto cleanup;
    if (mv.n)
        *out = arena_memdup(a, mv.v, mv.n * sizeof(*mv.v));
    *nout = mv.n;
    ret = 0;

cleanup:
    for (i = 0; i < nb; i++) {
        free(b[i].body);
        free(b[i].reply);
        err_release(&b[i].err);
    }
    free(b);
    free(t);
    free(mv.v);
    return ret;
}
