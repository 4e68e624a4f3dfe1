/* validate.h - request validation on the parsed body (jv) with the spec's 422 `details` items
 * ({type, loc, msg, input, ctx?}, spec/api.md §1.9), lenient like the reference.
 *
 * Every rule is a named option struct written with designated initialisers, so a call reads
 * on its own: v_string(v, body, loc, (struct v_str){ .flags = V_REQUIRED, .min = 1, .max = 256 }).
 * Locations, details and the strings returned all live in the vctx's arena (the request's).
 */
#ifndef ENGRAM_API_VALIDATE_H
#define ENGRAM_API_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "http/req.h"
#include "util/uuid.h"

struct jv;

struct vctx {
    struct arena *a;    /* where locations, details and inputs are made (the request's) */
    struct jv *details; /* array of detail items; NULL until the first problem */
};

enum v_flags {
    V_OPTIONAL = 0,      /* none of the below: a missing key is no problem */
    V_REQUIRED = 1 << 0, /* a missing key is a "missing" problem */
    V_NULLABLE = 1 << 1, /* an explicit null is accepted (and read as absent) */
};

/* A string rule: min/max count code points, max 0 = unlimited. */
struct v_str {
    enum v_flags flags;
    size_t min, max;
    int *present; /* when not NULL: set to whether the key exists */
};

/* An integer rule: the accepted range [min, max] and, for query parameters, the value of an
 * absent parameter. */
struct v_int {
    int64_t def, min, max;
};

void v_init(struct vctx *v, struct arena *a);
/* Move the collected details into err as a 422 validation_error; returns -1.
 * Returns 0 (and does nothing) when there were no problems. */
int v_finish(struct vctx *v, struct err *err);
/* Record one problem. input is borrowed (NULL → JSON null); loc and ctx (may be NULL) are
 * kept by pointer (they live in the arena). */
void v_add(struct vctx *v, const char *type, struct jv *loc, const char *msg,
           const struct jv *input, struct jv *ctx);
/* Build a loc array: part, then the key (NULL: none). */
struct jv *v_loc(struct vctx *v, const char *part, const char *key);
/* part, list, index, then key (NULL: none): a member of a list item. */
struct jv *v_loc_item(struct vctx *v, const char *part, const char *list, size_t index,
                      const char *key);
/* A ctx object holding one integer member, as the length and range problems carry. */
struct jv *v_ctx_int(struct vctx *v, const char *key, int64_t val);

/* application/json, any application/...+json, or no Content-Type at all (spec §1.1). */
int api_json_content_type(const char *ct);
/* Record the 422 json_invalid problem of a body that does not parse (pos: byte offset, msg:
 * the parser's message) and move it into err; returns -1. */
int v_json_invalid(struct vctx *v, size_t pos, const char *msg, struct err *err);

/* Read the request body as a JSON object (spec §1.1 content types), parsed once with jv
 * (numbers kept as sent) within the parse budget of its size. On failure fills err with a
 * 422 (json_invalid, model_attributes_type, missing) or a 413 (api_body_over_budget) and
 * returns -1. *out lives in the request arena. */
int api_body_object(struct req *req, struct jv **out, struct err *err);
/* Fill err with the 413 of a body whose parse would take more memory than jv_parse_budget()
 * allows for its size (bodies are parsed with jv_parse_bounded); returns -1. */
int api_body_over_budget(struct req *req, struct err *err);

/* The string at the last key of loc in obj, per rule (recording a problem when it is wrong,
 * or required and missing). Returns it (NUL-terminated, in the arena) or NULL. With
 * V_NULLABLE an explicit null returns NULL without a problem. */
const char *v_string(struct vctx *v, const struct jv *obj, struct jv *loc, struct v_str rule);
/* The object at the last key of loc in obj, or NULL. A missing key is a problem only with
 * V_REQUIRED; null is refused. */
const struct jv *v_object(struct vctx *v, const struct jv *obj, struct jv *loc, enum v_flags flags);
/* Lenient integer (JSON int, integral float, numeric string) in [rule.min, rule.max] from the
 * value raw. Returns 0 and sets *out, or -1 after recording a problem. */
int v_int_value(struct vctx *v, const struct jv *raw, struct jv *loc, struct v_int rule,
                int64_t *out);
/* Lenient query integer: absent → rule.def. */
int v_query_int(struct vctx *v, struct req *req, const char *name, struct v_int rule, int64_t *out);
/* Required query string with code-point limits (rule.flags is not used); NULL after recording
 * a problem. */
const char *v_query_string(struct vctx *v, struct req *req, const char *name, struct v_str rule);
/* Path parameter `index` named name, with code-point limits; NULL after recording a
 * problem (also for bytes that are not valid UTF-8). */
const char *v_path_string(struct vctx *v, struct req *req, int index, const char *name,
                          struct v_str rule);
/* Path parameter `index` named name as a lower-case canonical UUID into out; -1 after
 * recording a problem (uuid_parsing for text that is no UUID). */
int v_path_uuid(struct vctx *v, struct req *req, int index, const char *name,
                char out[UUID_STR_LEN]);
/* The size of the array list against [min, max] items: 0 when it fits, else -1 after
 * recording too_short or too_long with the reference's ctx (field_type, min_length or
 * max_length, actual_length). */
int v_list_size(struct vctx *v, struct jv *loc, const struct jv *list, size_t min, size_t max);
/* A Literal[...] value: the index of s among the n names, or -1 after recording a 422
 * literal_error at loc (input: the value as sent, `Input should be 'a', 'b' or 'c'`, ctx
 * {"expected": ...}). s NULL (not a string) is never one of them. */
int v_literal(struct vctx *v, struct jv *loc, const char *s, const struct jv *input,
              const char *const *names, size_t n);
/* Lenient boolean from a JSON value (true/false, 0/1, "yes"/"no"/…). */
int v_bool_value(struct vctx *v, const struct jv *raw, struct jv *loc, int *out);
/* Lenient query boolean: absent → 0. */
void v_query_bool(struct vctx *v, struct req *req, const char *name, int *out);
/* Engram's as_of (spec/api.md §11): the RFC 3339 text s (NULL = absent) found at loc. *has
 * = 1 and *out set for a valid time; *has = 0 when absent; else a datetime_parsing problem. */
void v_as_of(struct vctx *v, const char *s, struct jv *loc, int *has, int64_t *out);

/* A Literal[...] body field: absent → def, else one of the n names (its index in *out), else
 * a 422 literal_error (v_literal). */
void v_body_literal(struct vctx *v, const struct jv *body, const char *key,
                    const char *const *names, size_t n, int def, int *out);

#endif
