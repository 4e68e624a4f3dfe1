/* jv-internal.h - what the files of the jv module share: the node layout and the helpers
 * that more than one of them uses. Seen only by jv.c (model, accessors,
 * constructors), jv_parse.c (the parser) and jv_write.c (the compact and canonical writers);
 * everyone else goes through util/jv.h.
 */
#ifndef ENGRAM_UTIL_JV_INTERNAL_H
#define ENGRAM_UTIL_JV_INTERNAL_H

#include "util/jv.h"

#include <stddef.h>

struct jv_member {
    const char *key;      /* NUL-terminated UTF-8 in the arena */
    size_t key_len;       /* bytes, excluding the terminator */
    struct jv *value;     /* never NULL */
};

struct jv {
    enum jv_type type;
    unsigned char text_is_repr;  /* JV_REAL: the text is jv_fmt_double(d) already (jv_real) */
    union {
        struct {
            const char *p;     /* string bytes, number token or raw text; NUL-terminated */
            size_t len;        /* bytes, excluding the terminator */
            double d;          /* JV_REAL from jv_real() only: the value (see jv_num_value) */
        } s;
        struct {
            struct jv **items; /* in the arena; NULL while cap is 0 */
            size_t len, cap;   /* used and allocated slots */
        } arr;
        struct {
            struct jv_member *items;
            size_t len, cap;
        } obj;
    } u;
};

/* Objects up to this size are deduplicated and sorted by simple quadratic loops. */
#define JV_SMALL_OBJECT 16

/* ---- the model (jv.c) ---- */

/* A node of the given type with len bytes of text (plus NUL) in the same allocation. */
struct jv *jv_text_node(struct arena *a, enum jv_type type, const void *p, size_t len);
/* Parsed numbers keep only their token: strtod() runs when a value is asked for (writers,
 * jv_double), which keeps the parser fast for stored JSON that is only passed through. */
struct jv *jv_number_node(struct arena *a, const void *p, size_t len, int real);
/* The double of a JV_INT or JV_REAL. */
double jv_num_value(const struct jv *v);

/* Sort pointers to the n members at m by key (stable for equal keys). */
void jv_sort_members(const struct jv_member **ptrs, const struct jv_member *m, size_t n);
/* Collapse equal keys among the n members at m, Python style: the first position, the last
 * value. Returns the new count; O(n log n), so hostile input cannot make it quadratic. */
size_t jv_dedupe_members(struct jv_member *m, size_t n);

/* ---- lexing and parsing helpers (jv_parse.c) ---- */

/* Length of the JSON number token at the start of s (n bytes), 0 if there is none. Greedy as
 * Python's NUMBER_RE: "1." is the token "1" followed by ".". *real tells whether it has a
 * fraction or an exponent. */
size_t jv_scan_number(const unsigned char *s, size_t n, int *real);
/* Run fn on the value a JV_RAW holds, parsed in a scratch arena. Returns fn's result, or -1
 * if the text is not valid JSON. */
int jv_with_raw_parsed(const struct jv *raw, int (*fn)(const struct jv *, void *),
                       void *arg);

#endif
