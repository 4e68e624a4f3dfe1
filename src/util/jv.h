/* jv.h - number-preserving JSON values in an arena: parse, build, and write them in the wire
 * (compact) form or in the export checksum's canonical form (spec/backup-snapshots.md §2.2).
 * The one JSON model of Engram: jv.c (model), jv_parse.c (parser), jv_write.c (the response
 * writer and the canonical writer), jv_float.c (doubles as Python prints them).
 *
 * Why not jansson: it rejects integers beyond 64 bits and cannot keep 1 apart from 1.0 once
 * JSON_DECODE_INT_AS_REAL is on. A jv number keeps its token text, so both survive.
 *
 * Invariants:
 *  - Every node and every byte it points at lives in the arena it was made from (the parser's
 *    or a constructor's); nothing is refcounted or freed on its own. arena_free() ends them all.
 *  - Strings are UTF-8 bytes with a length, plus a NUL terminator after the last byte. Parsed
 *    strings are valid UTF-8 without U+0000 and without surrogates.
 *  - An object never holds two equal keys (memcmp of the UTF-8 bytes); its members keep their
 *    insertion order, which the compact writer keeps and the canonical writer sorts.
 *  - Containers hold pointers: a value may sit in several containers, but never (directly or
 *    indirectly) in itself, and it must live at least as long as every container holding it.
 *  - JV_NULL, JV_TRUE and JV_FALSE nodes are shared read-only singletons.
 *  - Numbers: JV_INT is a token without '.', 'e' or 'E' (any magnitude), JV_REAL a token with
 *    one of them. Both keep the token text; a real's value is its nearest double, computed by
 *    strtod() when asked for (±HUGE_VAL beyond the range; the C locale's '.' is assumed).
 */
#ifndef ENGRAM_UTIL_JV_H
#define ENGRAM_UTIL_JV_H

#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/buf.h"

enum jv_type {
    JV_NULL,
    JV_FALSE,
    JV_TRUE,
    JV_INT,    /* number token without . e E, any magnitude */
    JV_REAL,   /* number token with . e or E */
    JV_STRING,
    JV_ARRAY,
    JV_OBJECT,
    JV_RAW,    /* already-serialised JSON text, spliced by the writers */
};

/* Containers deeper than this are refused by jv_parse() ("nesting too deep"). */
#define JV_MAX_DEPTH 512

struct jv;

/*
 * Parse n bytes of UTF-8 JSON text (not NUL-terminated necessarily; the text is borrowed and
 * not kept): exactly one value, with optional whitespace (space, tab, CR, LF) around it.
 * Strict RFC 8259: no NaN/Infinity, no trailing commas, no comments, no BOM; strings must be
 * valid UTF-8 without raw control characters; escapes are decoded and surrogate pairs combined.
 * A lone surrogate escape or \u0000 is refused with "invalid unicode". Duplicate keys: the
 * last value wins and sits where the key first appeared (Python dict semantics). At most
 * JV_MAX_DEPTH nested arrays/objects.
 *
 * Returns the value, allocated from a. On error returns NULL, sets *err_pos to the byte offset
 * of the problem and *err_msg to a static string; either pointer may be NULL. The messages
 * are Python's json module's where it has one ("Expecting value", "Expecting ',' delimiter",
 * "Expecting ':' delimiter", "Expecting property name enclosed in double quotes",
 * "Unterminated string starting at", "Invalid control character at", "Invalid \\escape",
 * "Invalid \\uXXXX escape", "Extra data") plus "invalid unicode", "invalid UTF-8" and
 * "nesting too deep". Python counts code points where err_pos counts bytes. Nodes made before
 * the error stay in the arena until it is freed.
 */
struct jv *jv_parse(struct arena *a, const char *text, size_t n, size_t *err_pos,
                    const char **err_msg);

/*
 * jv_parse() with a memory budget: the parse may take at most max_bytes (what it allocates
 * from a, plus its working stacks). Past it the parse stops with err_msg ==
 * jv_msg_over_budget ("document too large to parse"; compare the pointer) and err_pos where
 * it stopped. Hostile text costs far more than its size otherwise (an array of "10"s takes 14
 * times its text); request bodies are parsed with max_bytes = jv_parse_budget(n).
 */
struct jv *jv_parse_bounded(struct arena *a, const char *text, size_t n, size_t max_bytes,
                            size_t *err_pos, const char **err_msg);
extern const char jv_msg_over_budget[];
/* The budget of n bytes of text: JV_BUDGET_FACTOR times n, plus JV_BUDGET_BASE. Real documents
 * stay well below it (an export of 20,000 episodes takes 2.3 times its text; an array of
 * 13-digit numbers 5 times). */
#define JV_BUDGET_BASE (1024 * 1024)
#define JV_BUDGET_FACTOR 6
size_t jv_parse_budget(size_t n);

/* ---- Accessors. They never fail: on a wrong type or index they return NULL / 0. ---- */

enum jv_type jv_type(const struct jv *v);
/* JV_STRING: its bytes (NUL-terminated, owned by the arena) and, if len is not NULL, their
 * count. NULL for any other type. */
const char *jv_string(const struct jv *v, size_t *len);
/* JV_INT / JV_REAL: the token text ("12", "1E2", "-0"; for jv_real() values the jv_fmt_double()
 * text), NUL-terminated, owned by the arena. NULL for any other type. */
const char *jv_number_text(const struct jv *v);
/* JV_RAW: the spliced text and, if len is not NULL, its length. NULL for any other type. */
const char *jv_raw_text(const struct jv *v, size_t *len);
/* 1 if v is a JV_INT, else 0. */
int jv_is_int(const struct jv *v);
/* 1 if v is JV_TRUE, else 0 (JV_FALSE and every other type). */
int jv_is_true(const struct jv *v);
/* JV_INT within int64_t: store it in *out and return 0. Return -1 (out untouched) for an
 * integer out of range or a value that is not a JV_INT. "-0" gives 0. */
int jv_int64(const struct jv *v, int64_t *out);
/* JV_REAL: its double; JV_INT: the nearest double (±HUGE_VAL beyond the range); 0.0 for any
 * other type. */
double jv_double(const struct jv *v);
/* Number of elements of a JV_ARRAY, members of a JV_OBJECT; 0 for any other type. */
size_t jv_array_size(const struct jv *v);
size_t jv_object_size(const struct jv *v);
/* Element i of a JV_ARRAY; NULL if v is not an array or i >= its size. */
struct jv *jv_array_get(const struct jv *v, size_t i);
/* Key (NUL-terminated; length into *len when len is not NULL) and value of member i of a
 * JV_OBJECT, in insertion order; NULL if v is not an object or i >= its size. */
const char *jv_object_key(const struct jv *v, size_t i, size_t *len);
struct jv *jv_object_value(const struct jv *v, size_t i);
/* The value under key (NUL-terminated, or len bytes) in a JV_OBJECT; NULL if absent or v is
 * not an object. Linear search: objects are small records. */
struct jv *jv_object_get(const struct jv *v, const char *key);
struct jv *jv_object_getn(const struct jv *v, const char *key, size_t len);

/* ---- Constructors. Everything is copied into the arena a; none of them fails (running out
 * of memory aborts), except jv_number_token() on a malformed token. ---- */

/* The shared null / true / false singletons (a is not used by jv_bool). */
struct jv *jv_null(void);
struct jv *jv_bool(struct arena *a, int b);
/* A JV_INT holding i. */
struct jv *jv_int(struct arena *a, int64_t i);
/* A JV_REAL holding d, with the jv_fmt_double() text. d should be finite: both writers print
 * ±inf and NaN as Python does (Infinity, -Infinity, NaN), which is not valid JSON. */
struct jv *jv_real(struct arena *a, double d);
/* A number from a JSON number token (the whole NUL-terminated text must be one token, e.g.
 * "123456789012345678901234567890", "-0", "1.5e-7"): JV_INT or JV_REAL as jv_parse() would
 * make it. Returns NULL if text is not exactly one valid token. */
struct jv *jv_number_token(struct arena *a, const char *text);
/* A JV_STRING holding a copy of s (NUL-terminated) or of n bytes at s (which may contain
 * NULs). The bytes should be valid UTF-8: the compact writer copies them as they are, the
 * canonical writer turns each invalid byte into \ufffd. */
struct jv *jv_str(struct arena *a, const char *s);
struct jv *jv_strn(struct arena *a, const char *s, size_t n);
/* An empty JV_ARRAY / JV_OBJECT. */
struct jv *jv_array(struct arena *a);
struct jv *jv_object(struct arena *a);
/* A JV_RAW holding a copy of text (NUL-terminated, or n bytes): one compact JSON value the
 * compact writer splices verbatim. Not checked here; the canonical writer parses it
 * and fails if it is not valid JSON. */
struct jv *jv_raw(struct arena *a, const char *text);
struct jv *jv_rawn(struct arena *a, const char *text, size_t n);
/* Append v (kept by pointer, not copied) to the JV_ARRAY arr; amortised O(1). arr must have
 * been made from a (its storage grows there). Calls BUG() if arr is not an array or v is NULL. */
void jv_array_append(struct arena *a, struct jv *arr, struct jv *v);
/* Set key (copied; NUL-terminated, or len bytes) to v (kept by pointer) in the JV_OBJECT obj:
 * an existing member keeps its position and gets the new value, otherwise the member is
 * appended. O(size) for the lookup. Calls BUG() if obj is not an object or v is NULL. */
void jv_object_set(struct arena *a, struct jv *obj, const char *key, struct jv *v);
void jv_object_setn(struct arena *a, struct jv *obj, const char *key, size_t len,
                    struct jv *v);

/* ---- Writers. They append to out and never fail, except as noted. ---- */

/*
 * The wire form (Python json.dumps(v, ensure_ascii=False, separators=(",", ":"))): no
 * spaces, members in insertion order, raw UTF-8; escapes only for '"', '\' and U+0000-U+001F
 * (\n \r \t \b \f, others \u00xx lowercase). JV_INT: the token ("-0" as "0"). JV_REAL: the
 * shortest round-trip form of jv_fmt_double() (1E2 -> 100.0, 0.10 -> 0.1); a token beyond the
 * double range (1e400) is kept verbatim so the output stays valid JSON that parses back to
 * the same value. JV_RAW: its text verbatim.
 */
void jv_write_compact(struct buf *out, const struct jv *v);
/* The wire form of v as a NUL-terminated string in arena a. */
const char *jv_compact_text(struct arena *a, const struct jv *v);
/*
 * The checksum's canonical form, exactly spec/backup-snapshots.md §2.2 (Python
 * json.dumps(v, sort_keys=True)): members sorted by key bytes at every depth, ", " and ": "
 * separators, pure ASCII output (\uXXXX lowercase from U+007F, surrogate pairs above U+FFFF,
 * '/' unescaped), integers exact at any magnitude ("-0" as "0"), reals via jv_fmt_double()
 * (Infinity / -Infinity beyond the double range, -0.0 as "-0.0"). A JV_RAW is parsed (in a
 * scratch arena) and written canonically.
 * Returns 0, or -1 if a JV_RAW inside v is not valid JSON; out then holds a partial text.
 */
int jv_write_canonical(struct buf *out, const struct jv *v);

/* ---- Streaming helpers of the response writer, for text written straight into a buffer
 * without building a tree. jv_write_compact() uses the same routines, so a string or a real
 * reads the same whichever way it was written. ---- */

/* Append the n bytes at s (UTF-8, may contain NULs) as a JSON string in the wire form:
 * raw UTF-8; '"', '\' and U+0000-U+001F escaped (\n \r \t \b \f, others \u00xx with
 * lower-case hex), as Python's json.dumps(ensure_ascii=False). */
void jv_write_str(struct buf *out, const char *s, size_t n);
/* Write d as Python's repr(float) does (shortest round-trip digits; "1.0", "1e-05",
 * "1e+16"; the non-finite values as Infinity, -Infinity, NaN) into out, NUL-terminated.
 * Returns the length written; out must hold at least 32 bytes. */
size_t jv_fmt_double(double d, char *out);
/* Shortest decimal digits of d (finite, non-zero, positive): digits into out (NUL-terminated,
 * at most 17) and *exp10 such that d = 0.DIGITS x 10^exp10. */
void jv_shortest_digits(double d, char *out, int *exp10);

#endif
