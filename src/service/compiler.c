/* compiler.c - the heuristic compiler (spec/behavior.md §4): one episode_summary per episode
 * with text, plus one profile_fact per match of five PCRE2 patterns. The patterns are compiled
 * once (with JIT) and shared read-only by every thread; match data is per call. */
#include "service/compiler.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "service/text.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/utf8.h"
#include "util/uuid.h"

#define SUMMARY_CONTENT_MAX 500   /* code points of an episode_summary's content */
#define SUMMARY_MAX 200           /* code points of every summary */

/* Fact patterns P1..P5, in output order. P1's name part is case-sensitive. */
static const struct {
    const char *source;
    uint32_t flags;
} fact_patterns[] = {
    { "(?i:my name is|i'm|i am)\\s+([A-Z][a-z]+(?:\\s[A-Z][a-z]+)*)", 0 },
    { "(?:i work at|i'm at|i am at)\\s+(.+?)(?:\\.|,|\\n|$)", PCRE2_CASELESS },
    { "(?:i am on|i'm on)\\s+(.+?)(?:\\.|,|\\n|$)", PCRE2_CASELESS },
    { "(?:i live in|i'm from|i am from)\\s+(.+?)(?:\\.|,|\\n|$)", PCRE2_CASELESS },
    { "(?:i use|i prefer|my favorite)\\s+(.+?)(?:\\.|,|\\n|$)", PCRE2_CASELESS },
};

#define NPATTERNS (sizeof(fact_patterns) / sizeof(fact_patterns[0]))

static pcre2_code *patterns[NPATTERNS];   /* set by compiler_setup, read-only afterwards */

static int compile_one(size_t i, pcre2_compile_context *cctx, struct err *err)
{
    PCRE2_UCHAR msg[128];
    PCRE2_SIZE off;
    int code;

    patterns[i] = pcre2_compile((PCRE2_SPTR)fact_patterns[i].source, PCRE2_ZERO_TERMINATED,
                                PCRE2_UTF | PCRE2_UCP | fact_patterns[i].flags, &code, &off,
                                cctx);
    if (!patterns[i]) {
        pcre2_get_error_message(code, msg, sizeof(msg));
        log_write(LOG_ERROR, "compiler pattern P%zu does not compile at %zu: %s", i + 1,
                  (size_t)off, (const char *)msg);
        return err_set(err, ERR_INTERNAL, "compiler pattern P%zu does not compile", i + 1);
    }
    code = pcre2_jit_compile(patterns[i], PCRE2_JIT_COMPLETE);
    if (code < 0 && code != PCRE2_ERROR_JIT_BADOPTION)
        log_write(LOG_WARN, "compiler pattern P%zu: no JIT (%d), interpreting", i + 1, code);
    return 0;
}

int compiler_setup(struct err *err)
{
    pcre2_compile_context *cctx;
    size_t i;
    int ret = 0;

    if (patterns[0])
        return 0;
    cctx = pcre2_compile_context_create(NULL);
    /* `.` stops at \n only and `$` matches before a final \n: Python's semantics. */
    pcre2_set_newline(cctx, PCRE2_NEWLINE_LF);
    for (i = 0; i < NPATTERNS && ret == 0; i++)
        ret = compile_one(i, cctx, err);
    pcre2_compile_context_free(cctx);
    if (ret < 0)
        compiler_shutdown();
    return ret;
}

void compiler_shutdown(void)
{
    size_t i;

    for (i = 0; i < NPATTERNS; i++) {
        pcre2_code_free(patterns[i]);
        patterns[i] = NULL;
    }
}

/* f = strip(match), then trailing '.' dropped, then trailing ',' dropped. */
static const char *fact_text(struct arena *a, const char *s, size_t n)
{
    size_t i, sp;

    for (;;) {
        sp = utf8_space_len(s, n);
        if (sp == 0)
            break;
        s += sp;
        n -= sp;
    }
    while (n > 0) {
        /* Step back over one code point and test it. */
        for (i = n - 1; i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80; i--)
            ;
        if (utf8_space_len(s + i, n - i) != n - i)
            break;
        n = i;
    }
    while (n > 0 && s[n - 1] == '.')
        n--;
    while (n > 0 && s[n - 1] == ',')
        n--;
    return arena_strndup(a, s, n);
}

/* A growing output array in the arena. */
struct mem_list {
    struct memory *items;
    size_t n, cap;
};

static struct memory *mem_list_push(struct arena *a, struct mem_list *l)
{
    if (l->n == l->cap) {
        struct memory *grown;

        l->cap = l->cap ? l->cap * 2 : 16;
        grown = arena_alloc(a, l->cap * sizeof(*grown));
        if (l->n)
            memcpy(grown, l->items, l->n * sizeof(*grown));
        l->items = grown;
    }
    memset(&l->items[l->n], 0, sizeof(l->items[0]));
    return &l->items[l->n++];
}

static const char *prefix_cp(struct arena *a, const char *s, size_t max_cp)
{
    size_t len = strlen(s);

    return arena_strndup(a, s, utf8_prefix_bytes(s, len, max_cp));
}

/* A memory of ep with every field filled; content and summary are set by the caller. */
static struct memory *new_memory(struct arena *a, struct mem_list *l, const struct episode *ep,
                                 const char *tenant, int64_t now, const char *kind)
{
    struct memory *m = mem_list_push(a, l);

    uuid_v4(m->id);
    m->subject_id = ep->subject_id;
    m->tenant_id = tenant;
    m->kind = kind;
    m->valid_from = ep->created_at;
    m->valid_to = TS_NULL;
    m->source_episode_ids = arena_printf(a, "[\"%s\"]", ep->id);
    m->metadata = "{}";
    m->status = "active";
    m->embedding = NULL;
    m->embedding_dim = 0;
    m->sensitivity_labels = "[]";
    m->created_at = now;
    m->updated_at = now;
    return m;
}

/* Every non-overlapping match of pattern p in t, left to right, as profile facts. */
static void find_facts(struct arena *a, struct mem_list *l, const pcre2_code *p,
                       const struct episode *ep, const char *t, size_t tlen, const char *tenant,
                       int64_t now, pcre2_match_data *md)
{
    PCRE2_SIZE start = 0, *ov = pcre2_get_ovector_pointer(md);
    int rc;

    while (start <= tlen) {
        struct memory *m;
        const char *f;

        rc = pcre2_match(p, (PCRE2_SPTR)t, tlen, start, 0, md, NULL);
        if (rc < 0) {
            if (rc != PCRE2_ERROR_NOMATCH)
                log_write(LOG_WARN, "compiler pattern match failed (%d); episode '%s'", rc,
                          ep->id);
            return;
        }
        f = fact_text(a, t + ov[0], ov[1] - ov[0]);
        m = new_memory(a, l, ep, tenant, now, "profile_fact");
        m->content = f;
        m->summary = prefix_cp(a, f, SUMMARY_MAX);
        m->confidence = 0.6;
        /* The patterns never match empty, but stay safe: always move forward. */
        start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
    }
}

static void compile_episode(struct arena *a, struct mem_list *l, const struct episode *ep,
                            const char *tenant, int64_t now, pcre2_match_data *md)
{
    const char *t = payload_text(a, ep->payload);
    size_t tlen = strlen(t), i;
    struct memory *m;

    if (tlen == 0)
        return;
    m = new_memory(a, l, ep, tenant, now, "episode_summary");
    m->content = prefix_cp(a, t, SUMMARY_CONTENT_MAX);
    m->summary = prefix_cp(a, t, SUMMARY_MAX);
    m->confidence = 0.8;
    for (i = 0; i < NPATTERNS; i++)
        find_facts(a, l, patterns[i], ep, t, tlen, tenant, now, md);
}

int compile_heuristic(struct arena *a, const struct episode *eps, size_t n, const char *tenant,
                      int64_t now, struct memory **out, size_t *nout, struct err *err)
{
    struct mem_list l = { NULL, 0, 0 };
    pcre2_match_data *md;
    size_t i;

    *out = NULL;
    *nout = 0;
    if (!patterns[0])
        return err_set(err, ERR_INTERNAL, "compiler_setup was not called");
    md = pcre2_match_data_create(4, NULL);
    if (!md)
        return err_set(err, ERR_INTERNAL, "out of memory for match data");
    for (i = 0; i < n; i++)
        compile_episode(a, &l, &eps[i], tenant, now, md);
    pcre2_match_data_free(md);
    *out = l.items;
    *nout = l.n;
    return 0;
}
