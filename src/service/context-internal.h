/* context-internal.h - what the context files (context.c, context_words.c, context_rank.c,
 * context_render.c) share and nobody else needs: the text primitives of spec/behavior.md §0.1
 * and a few word-set operations. */
#ifndef ENGRAM_SERVICE_CONTEXT_INTERNAL_H
#define ENGRAM_SERVICE_CONTEXT_INTERNAL_H

#include <stddef.h>

#include "service/context.h"

/* lower(s): a copy of s (arena) under Python's str.lower() (utf8_lower: the full Unicode
 * lowercase mapping); NULL counts as "". */
char *context_lower(struct arena *a, const char *s);
/* split(s): the words of s between runs of Unicode whitespace (arena copies); returns the
 * count and sets *out. */
size_t context_split(struct arena *a, const char *s, const char ***out);
/* strip(s): *start and *len delimit s without leading and trailing Unicode whitespace. */
void context_strip(const char *s, size_t n, const char **start, size_t *len);
/* Make a word set from n words (sorted, duplicates dropped; the array is reused). */
void context_words_set(const char **w, size_t n, struct context_words *out);
/* context_words_of(s), remembered per text in a process-wide cache (util/ccache): the
 * memory texts ranked by one request are those of the last. */
void context_words_cached(struct arena *a, const char *s, struct context_words *out);
/* x ∪ y (arena). */
void context_words_union(struct arena *a, const struct context_words *x,
                         const struct context_words *y, struct context_words *out);
/* Drop the words of x found in the list stop[0..nstop) (in place). */
void context_words_drop(struct context_words *x, const char *const *stop, size_t nstop);
/* 1 if the word set holds w. */
int context_words_has(const struct context_words *x, const char *w);
/* The uuid strings of a stored source_episode_ids array (arena); unparsable or non-string
 * entries count as none. */
size_t context_source_ids(struct arena *a, const char *json, const char ***out);

/* What context_prepare derives from the rows, per row in the order of its array. */
struct context_prepared {
    struct context_words *memory_words;    /* tokset(content) */
    const char ***memory_sources;          /* the source_episode_ids */
    size_t *memory_nsources;
    const char **memory_lines;             /* the packed item line */
    size_t *memory_tokens;                 /* tokens(line) */
    const char **episode_texts;            /* text(payload) */
    struct context_words *episode_words;   /* tokset(text) */
    unsigned char *episode_urgent;         /* context_urgent(text) */
    const char **episode_lines;
    size_t *episode_tokens;
    struct context_words *source_crumbs;   /* each source's breadcrumb words (B) */
    struct context_words covered;          /* episode ids cited by a candidate summary */
};

/* The item line of a memory in section sec, or of episode ep with text (context_render.c),
 * and the tokens of a line. */
const char *context_memory_line(struct arena *a, const struct memory *m,
                                enum context_section sec);
const char *context_episode_line(struct arena *a, const struct episode *ep, const char *text);
size_t context_line_tokens(const char *line);

/* The candidates of rq as the subject stood at rq->as_of (context_history.c): per kind the
 * newest memories visible then, the newest episodes created by then, the resolutions last
 * updated by then; no semantic union. Sources are left to the caller. */
int context_read_as_of(struct arena *a, store *st, const char *tenant,
                       const struct context_request *rq, struct context_input *in,
                       struct err *err);

#endif
