/* validate.h - request validation with the spec's 422 `details` items
 * ({type, loc, msg, input, ctx?}, spec/api.md §1.9), lenient like the reference. */
#ifndef ENGRAM_API_VALIDATE_H
#define ENGRAM_API_VALIDATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "http/req.h"

struct vctx {
    json_t *details;   /* array of detail items; NULL until the first problem */
};

/* A location: loc[0] is "body", "query" or "path", then keys or indices. */
struct vloc {
    const char *part;          /* "body" | "query" | "path" */
    const char *keys[4];       /* up to 4 path elements; NULL-terminated */
    long index;                /* when >= 0, inserted after keys[0] (batch item) */
};

void v_init(struct vctx *v);
/* Move the collected details into err as a 422 validation_error; returns -1.
 * Returns 0 (and does nothing) when there were no problems. */
int v_finish(struct vctx *v, struct err *err);
/* Record one problem. input is borrowed (NULL → JSON null); ctx is stolen (may be NULL). */
void v_add(struct vctx *v, const char *type, json_t *loc, const char *msg, json_t *input,
           json_t *ctx);
/* Build a loc array: part, then the elements. */
json_t *v_loc(const char *part, const char *key);
json_t *v_loc_item(const char *part, const char *list, size_t index, const char *key);

/* Read the request body as a JSON object (spec §1.1 content types). On failure fills err
 * with a 422 (json_invalid, model_attributes_type, missing) or a 413 (a parse over budget)
 * and returns -1. The caller owns
 * *out (json_decref), a jansson copy for validation; req->body_jv is the same body with every
 * number kept as sent (write stored JSON from it). */
int api_body_object(struct req *req, json_t **out, struct err *err);
/* Fill err with the 413 of a body whose parse would take more memory than jv_parse_budget()
 * allows for its size (bodies are parsed with jv_parse_bounded); returns -1. */
int api_body_over_budget(struct req *req, struct err *err);

/* String field rules. Returns the string (borrowed from obj) or NULL, recording a problem
 * when the value is wrong or when required and missing. min/max count code points;
 * max 0 = unlimited. *present tells whether the key existed (may be NULL). With nullable,
 * an explicit null is accepted and returns NULL with *present = 1. */
const char *v_string(struct vctx *v, json_t *obj, json_t *loc, int required, size_t min,
                     size_t max, int nullable, int *present);
/* Object field: returns the object (borrowed) or NULL. A missing optional key returns NULL
 * without a problem. null is refused. */
json_t *v_object(struct vctx *v, json_t *obj, json_t *loc, int required);
/* Lenient integer (JSON int, integral float, numeric string) in [min, max]. Returns 0 and sets
 * *out, or -1 after recording a problem. raw is the JSON value. */
int v_int_value(struct vctx *v, json_t *raw, json_t *loc, int64_t min, int64_t max,
                int64_t *out);
/* Lenient query integer: absent → def. */
int v_query_int(struct vctx *v, struct req *req, const char *name, int64_t def, int64_t min,
                int64_t max, int64_t *out);
/* Required query string with code-point limits; NULL after recording a problem. */
const char *v_query_string(struct vctx *v, struct req *req, const char *name, size_t min,
                           size_t max);
/* Path parameter `index` named name, with code-point limits; NULL after recording a
 * problem (also for bytes that are not valid UTF-8). */
const char *v_path_string(struct vctx *v, struct req *req, int index, const char *name,
                          size_t min, size_t max);
/* Lenient boolean from a JSON value (true/false, 0/1, "yes"/"no"/…). */
int v_bool_value(struct vctx *v, json_t *raw, json_t *loc, int *out);

#endif
