/* context.h - context assembly (spec/behavior.md §10): fetch the candidates, rank them, pack
 * them under a token budget and render the bundle's text.
 *
 * The work is split in two: context_assemble() reads the store; context_build() and the
 * helpers below are pure functions of their inputs (rows, request, a fixed `now`), so the
 * whole ranking can be tested without a database. Same inputs → byte-identical output.
 * Everything returned lives in the caller's arena. */
#ifndef ENGRAM_SERVICE_CONTEXT_H
#define ENGRAM_SERVICE_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define CONTEXT_FACTS_MAX 50        /* newest profile_fact candidates */
#define CONTEXT_PROCEDURES_MAX 20   /* newest procedure candidates */
#define CONTEXT_SUMMARIES_MAX 30    /* newest episode_summary candidates */
#define CONTEXT_EPISODES_MAX 30     /* newest episodes (the reference: oldest; DESIGN.md) */
#define CONTEXT_SEMANTIC_MAX 100    /* nearest memories joining with a semantic provider */
#define CONTEXT_TASK_MAX 4000       /* task length limit, code points */
#define CONTEXT_MAX_TOKENS_MAX 128000
#define CONTEXT_RESERVE 10          /* tokens kept free per packed item (§10.5) */

struct context_request {
    const char *subject_id;
    const char *task;
    int64_t budget;           /* max_tokens (or the configured default) */
    const char *session_id;   /* NULL or "" = no request session */
    int has_as_of;            /* 1: as the subject stood at as_of (spec/api.md §11) */
    int64_t as_of;
    int explain;              /* 1: keep each item's score terms (context_item.terms) */
};

/* A row's JSON as the API writes it (see context_set_renderers). */
struct context_json {
    const char *s;
    size_t n;
};

struct context_prepared;

/* Everything ranking reads, as fetched from the store (or built by a test). */
struct context_input {
    const struct memory *memories;   /* candidates: facts, procedures, summaries, each in
                                      * candidate order (newest first, then semantic union) */
    size_t nmemories;
    const double *sem;               /* NULL (word overlap only), or per memory its semantic
                                      * relevance 8 × max(0, 1 − d); NAN = not among the
                                      * nearest, use word overlap */
    const struct episode *episodes;  /* fetched episodes, oldest first */
    size_t nepisodes;
    const struct episode *sources;   /* source episodes of the candidates (breadcrumbs) */
    size_t nsources;
    const struct resolution *resolutions;   /* the subject's, newest updated_at first */
    size_t nresolutions;
    int64_t now;                     /* compared with valid_to only */
    /* Optional (inputs from the context cache): per memory and per episode, its JSON as the
     * renderers set by context_set_renderers write it (same order as memories, episodes);
     * NULL when not kept. */
    const struct context_json *memory_json;
    const struct context_json *episode_json;
    /* Optional (inputs from the context cache): what ranking and packing derive from these
     * rows alone, whatever the request (context_prepare); NULL: derived per request. */
    const struct context_prepared *prep;
};

enum context_section {
    CONTEXT_FACTS,        /* profile_fact: "## About this user" */
    CONTEXT_PROCEDURES,   /* procedure: "## Procedures" */
    CONTEXT_HISTORY,      /* episode_summary and any other kind: "## Recent history" */
    CONTEXT_EPISODES,     /* raw episodes: "## Recent interactions" */
};

/* The terms of one item's score (spec/behavior.md §10.3), in the order they are added up:
 * kept only when the request asks for an explanation. */
#define CONTEXT_TERMS_MAX 12
struct context_terms {
    size_t n;
    const char *name[CONTEXT_TERMS_MAX];
    double value[CONTEXT_TERMS_MAX];
};

/* One ranked candidate. */
struct context_item {
    const struct memory *memory;     /* NULL for an episode */
    const struct episode *episode;   /* NULL for a memory */
    double score;
    enum context_section section;
    const char *text;                /* episodes: payload text; memories: NULL */
    const char *line;                /* the rendered item line (set by packing) */
    size_t tokens;                   /* tokens of line (set by packing) */
    int included;                    /* packed under the budget */
    struct context_terms *terms;     /* rq->explain only, else NULL */
};

struct context_session {
    const char *session_id;
    size_t episode_count;
    int64_t first_at;
    int64_t last_at;
};

/* The assembled bundle (§10.7); every list in inclusion order. */
struct context_bundle {
    const struct memory **facts;        /* included profile facts */
    size_t nfacts;
    const struct memory **summaries;    /* included history items (summaries) */
    size_t nsummaries;
    const struct memory **procedures;
    size_t nprocedures;
    const struct episode **episodes;
    size_t nepisodes;
    struct context_session *sessions;   /* one per distinct non-null session of episodes */
    size_t nsessions;
    const char *text;                   /* assembled_context */
    size_t token_estimate;              /* tokens(text) */
    struct context_item *items;         /* every ranked item, highest score first */
    size_t nitems;
    struct context_input input;         /* the rows ranked (context_assemble only) */
};

/* Fetch the candidates of (tenant, rq->subject_id) and build the bundle at time now.
 * A reserved subject id gives the header-only bundle. Returns -1 with err set when the
 * store fails. */
int context_assemble(struct arena *a, store *st, const char *tenant,
                     const struct context_request *rq, int64_t now, struct context_bundle *out,
                     struct err *err);

/* How the API writes a memory and an episode as JSON (api/render.c): given once, so that the
 * context cache keeps each cached row's JSON beside it (context_input.memory_json). */
struct buf;
void context_set_renderers(void (*memory)(struct buf *, const struct memory *),
                           void (*episode)(struct buf *, const struct episode *));
/* The JSON of bundle b's memory m (one of b->input.memories) or episode ep, or NULL. */
const struct context_json *context_memory_json(const struct context_bundle *b,
                                               const struct memory *m);
const struct context_json *context_episode_json(const struct context_bundle *b,
                                                const struct episode *ep);

/* The explanation of bundle b, assembled for rq with rq->explain set at now (spec/api.md
 * §11): {"selected": [{id, type, score, components}], "dropped": [{id, type, reason}]}.
 * Reads the subject's oldest memories and episodes (at most 5,000 of each, created by the
 * instant answered for) to say why those that were no candidates were left out
 * (context_explain.c). */
struct jv;
int context_explain(struct arena *a, store *st, const char *tenant,
                    const struct context_request *rq, const struct context_bundle *b,
                    int64_t now, struct jv **out, struct err *err);

/* ---- pure pipeline (no database) ---- */

/* Derive in->prep from in's rows (arena a, which must outlive in): the per-row work of
 * ranking and packing that no request changes. context_build gives the same bundle with or
 * without it. */
void context_prepare(struct arena *a, struct context_input *in);

/* Rank, pack and render: the bundle for these rows. */
void context_build(struct arena *a, const struct context_request *rq,
                   const struct context_input *in, struct context_bundle *out);
/* Score every candidate (memories, then the episodes not cited by a candidate summary, oldest
 * first) and sort them by score, highest first (stable). */
void context_rank(struct arena *a, const struct context_request *rq,
                  const struct context_input *in, struct context_item **items, size_t *n);
/* Give each item its line and token count and mark what fits the budget (§10.5). */
void context_pack(struct arena *a, const struct context_request *rq,
                  struct context_item *items, size_t n);
/* Render the packed items (§10.6, §10.7). */
void context_render(struct arena *a, const struct context_request *rq,
                    const struct context_item *items, size_t n, struct context_bundle *out);

/* ---- scoring helpers (§10.3), exposed for unit tests ---- */

/* A set of words: sorted by bytes, distinct. */
struct context_words {
    const char **w;
    size_t n;
};

/* tokset(s): the distinct words of lower(s) split on Unicode whitespace (§0.1). */
void context_words_of(struct arena *a, const char *s, struct context_words *out);
/* |x ∩ y|. */
size_t context_words_common(const struct context_words *x, const struct context_words *y);
/* rel(text) = min(5, 5 × |T ∩ tokset(text)| / |T|); 0 when T or text is empty. */
double context_rel(struct arena *a, const struct context_words *task, const char *text);
/* The range of the non-null timestamps ((0, 0) when there are none). */
void context_range(const int64_t *ts, size_t n, int64_t *lo, int64_t *hi);
/* rec(t): 5 when hi == lo, else 5 × (t − lo) / (hi − lo); 0 for TS_NULL. */
double context_recency(int64_t t, int64_t lo, int64_t hi);
/* +3 when valid_to is TS_NULL or after now, else −4. */
double context_temporal(int64_t valid_to, int64_t now);
/* The breadcrumb bonus of a memory whose source episodes have these n breadcrumbs (NULL or
 * "" entries are skipped): the best 3 × |Q∩B| / min(|Q|,|B|), never above 3. */
double context_breadcrumb_bonus(struct arena *a, const char *task, const char *const *crumbs,
                                size_t n);
/* 1 if lower(text) contains an urgency keyword. */
int context_urgent(struct arena *a, const char *text);
/* A summary's item text (without "- "): clean(content) of §10.5. */
const char *context_clean_summary(struct arena *a, const char *content);
/* An episode's item text (without "- "): "[source/type] " + the first 150 code points of
 * text, or "(no text content)". */
const char *context_short_episode(struct arena *a, const struct episode *ep, const char *text);

#endif
