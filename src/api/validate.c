/* validate.c - 422 details in the reference's shape, read straight from the parsed body. */
#include "api/validate.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service/episodes.h"
#include "util/jv.h"
#include "util/utf8.h"

void v_init(struct vctx *v, struct arena *a)
{
    v->a = a;
    v->details = NULL;
}

int v_finish(struct vctx *v, struct err *err)
{
    if (!v->details)
        return 0;
    err_set(err, ERR_VALIDATION, "Request validation failed");
    err->details = v->details;
    v->details = NULL;
    return -1;
}

void v_add(struct vctx *v, const char *type, struct jv *loc, const char *msg,
           const struct jv *input, struct jv *ctx)
{
    struct jv *item = jv_object(v->a);

    if (!v->details)
        v->details = jv_array(v->a);
    jv_object_set(v->a, item, "type", jv_str(v->a, type));
    jv_object_set(v->a, item, "loc", loc);
    jv_object_set(v->a, item, "msg", jv_str(v->a, msg));
    /* Inputs are only ever written, never changed: the cast shares the parsed node. */
    jv_object_set(v->a, item, "input", input ? (struct jv *)input : jv_null());
    if (ctx)
        jv_object_set(v->a, item, "ctx", ctx);
    jv_array_append(v->a, v->details, item);
}

struct jv *v_loc(struct vctx *v, const char *part, const char *key)
{
    struct jv *loc = jv_array(v->a);

    jv_array_append(v->a, loc, jv_str(v->a, part));
    if (key)
        jv_array_append(v->a, loc, jv_str(v->a, key));
    return loc;
}

struct jv *v_loc_item(struct vctx *v, const char *part, const char *list, size_t index,
                      const char *key)
{
    struct jv *loc = v_loc(v, part, list);

    jv_array_append(v->a, loc, jv_int(v->a, (int64_t)index));
    if (key)
        jv_array_append(v->a, loc, jv_str(v->a, key));
    return loc;
}

struct jv *v_ctx_int(struct vctx *v, const char *key, int64_t val)
{
    struct jv *c = jv_object(v->a);

    jv_object_set(v->a, c, key, jv_int(v->a, val));
    return c;
}

static const char *last_key(const struct jv *loc)
{
    return jv_string(jv_array_get(loc, jv_array_size(loc) - 1), NULL);
}

int api_json_content_type(const char *ct)
{
    const char *semi;
    size_t n;

    if (!ct)
        return 1;
    semi = strchr(ct, ';');
    n = semi ? (size_t)(semi - ct) : strlen(ct);
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    if (n == strlen("application/json") && strncasecmp(ct, "application/json", n) == 0)
        return 1;
    return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
           strncasecmp(ct + n - 5, "+json", 5) == 0;
}

int v_json_invalid(struct vctx *v, size_t pos, const char *msg, struct err *err)
{
    struct jv *loc = v_loc(v, "body", NULL), *ctx = jv_object(v->a);

    jv_array_append(v->a, loc, jv_int(v->a, (int64_t)pos));
    jv_object_set(v->a, ctx, "error", jv_str(v->a, msg ? msg : "invalid JSON"));
    v_add(v, "json_invalid", loc, "JSON decode error", jv_object(v->a), ctx);
    return v_finish(v, err);
}

/* Whether v holds a number no double can hold (1e400, or an integer past the double range):
 * the reference's json module reads it as inf, which no field accepts and no column stores. */
static int has_huge_number(const struct jv *v)
{
    size_t i;

    switch (jv_type(v)) {
    case JV_REAL:
        return !isfinite(jv_double(v));
    case JV_INT: {
        int64_t x;

        return jv_int64(v, &x) < 0 && !isfinite(jv_double(v));
    }
    case JV_ARRAY:
        for (i = 0; i < jv_array_size(v); i++) {
            if (has_huge_number(jv_array_get(v, i)))
                return 1;
        }
        return 0;
    case JV_OBJECT:
        for (i = 0; i < jv_object_size(v); i++) {
            if (has_huge_number(jv_object_value(v, i)))
                return 1;
        }
        return 0;
    default:
        return 0;
    }
}

int api_body_over_budget(struct req *req, struct err *err)
{
    return err_set(err, ERR_TOO_LARGE,
                   "Request body too complex: its JSON would take more than %zu bytes to parse",
                   jv_parse_budget(req->body.len));
}

int api_body_object(struct req *req, struct jv **out, struct err *err)
{
    struct vctx v;
    const char *msg = NULL;
    size_t pos = 0;
    struct jv *root;

    *out = NULL;
    v_init(&v, req->arena);
    if (!api_json_content_type(req_header(req, "Content-Type")) || req->body.len == 0) {
        v_add(&v, "missing", v_loc(&v, "body", NULL), "Field required", NULL, NULL);
        return v_finish(&v, err);
    }
    root = jv_parse_bounded(req->arena, req->body.data, req->body.len,
                            jv_parse_budget(req->body.len), &pos, &msg);
    if (!root && msg == jv_msg_over_budget)
        return api_body_over_budget(req, err);
    if (!root)
        return v_json_invalid(&v, pos, msg, err);
    if (has_huge_number(root))
        return v_json_invalid(&v, 0, "number out of range", err);
    if (jv_type(root) != JV_OBJECT) {
        v_add(&v, "model_attributes_type", v_loc(&v, "body", NULL),
              "Input should be a valid dictionary or object to extract fields from", root, NULL);
        return v_finish(&v, err);
    }
    *out = root;
    return 0;
}

static void missing(struct vctx *v, const struct jv *obj, struct jv *loc)
{
    v_add(v, "missing", loc, "Field required", obj, NULL);
}

/* The length problems of a string of cps code points, or 0 when it fits. plural_min: the
 * body validators say "1 character", "2 characters"; the path and query ones always say
 * "character" (the reference's two messages). */
static int check_length(struct vctx *v, struct jv *loc, const struct jv *input, size_t cps,
                        struct v_str rule, int plural_min)
{
    char msg[96];

    if (cps < rule.min) {
        snprintf(msg, sizeof(msg), "String should have at least %zu character%s", rule.min,
                 plural_min && rule.min != 1 ? "s" : "");
        v_add(v, "string_too_short", loc, msg, input,
              v_ctx_int(v, "min_length", (int64_t)rule.min));
        return -1;
    }
    if (rule.max && cps > rule.max) {
        snprintf(msg, sizeof(msg), "String should have at most %zu characters", rule.max);
        v_add(v, "string_too_long", loc, msg, input, v_ctx_int(v, "max_length", (int64_t)rule.max));
        return -1;
    }
    return 0;
}

const char *v_string(struct vctx *v, const struct jv *obj, struct jv *loc, struct v_str rule)
{
    const struct jv *val = jv_object_get(obj, last_key(loc));
    const char *s;
    size_t len;

    if (rule.present)
        *rule.present = val != NULL;
    if (!val) {
        if (rule.flags & V_REQUIRED)
            missing(v, obj, loc);
        return NULL;
    }
    if (jv_type(val) == JV_NULL && (rule.flags & V_NULLABLE))
        return NULL;
    s = jv_string(val, &len);
    if (!s) {
        v_add(v, "string_type", loc, "Input should be a valid string", val, NULL);
        return NULL;
    }
    if (check_length(v, loc, val, utf8_count(s, len), rule, 1) < 0)
        return NULL;
    return s;
}

const struct jv *v_object(struct vctx *v, const struct jv *obj, struct jv *loc, enum v_flags flags)
{
    const struct jv *val = jv_object_get(obj, last_key(loc));

    if (!val) {
        if (flags & V_REQUIRED)
            missing(v, obj, loc);
        return NULL;
    }
    if (jv_type(val) != JV_OBJECT) {
        v_add(v, "dict_type", loc, "Input should be a valid dictionary", val, NULL);
        return NULL;
    }
    return val;
}

static int parse_int_string(const char *s, int64_t *out)
{
    char *end;
    long long x;
    double d;

    while (*s == ' ')
        s++;
    errno = 0;
    x = strtoll(s, &end, 10);
    if (end != s && errno == 0) {
        while (*end == ' ')
            end++;
        if (*end == '\0')
            return *out = x, 0;
    }
    d = strtod(s, &end);
    while (*end == ' ')
        end++;
    if (end == s || *end || !isfinite(d) || d != floor(d) || fabs(d) > 9.0e15)
        return -1;
    *out = (int64_t)d;
    return 0;
}

static int range_check(struct vctx *v, const struct jv *raw, struct jv *loc, struct v_int rule,
                       int64_t x)
{
    char msg[96];

    if (x < rule.min) {
        snprintf(msg, sizeof(msg), "Input should be greater than or equal to %lld",
                 (long long)rule.min);
        v_add(v, "greater_than_equal", loc, msg, raw, v_ctx_int(v, "ge", rule.min));
        return -1;
    }
    if (x > rule.max) {
        snprintf(msg, sizeof(msg), "Input should be less than or equal to %lld",
                 (long long)rule.max);
        v_add(v, "less_than_equal", loc, msg, raw, v_ctx_int(v, "le", rule.max));
        return -1;
    }
    return 0;
}

/* A JSON number as an integer, as the validator has always read it: an int64 as it is,
 * a larger integer or a real through its double when that is integral and below 9e15. */
static int number_as_int(const struct jv *raw, int64_t *x)
{
    double d;

    if (jv_int64(raw, x) == 0)
        return 0;
    d = jv_double(raw);
    if (d != floor(d) || fabs(d) >= 9.0e15)
        return -1;
    *x = (int64_t)d;
    return 0;
}

int v_int_value(struct vctx *v, const struct jv *raw, struct jv *loc, struct v_int rule,
                int64_t *out)
{
    enum jv_type t = jv_type(raw);
    int64_t x;

    if ((t == JV_INT || t == JV_REAL) && number_as_int(raw, &x) == 0) {
        /* an integer, or a float without a fractional part */
    } else if (t == JV_STRING && parse_int_string(jv_string(raw, NULL), &x) == 0) {
        /* numeric string accepted */
    } else if (t == JV_REAL || t == JV_INT) {
        v_add(v, "int_from_float", loc,
              "Input should be a valid integer, got a number with a "
              "fractional part",
              raw, NULL);
        return -1;
    } else {
        v_add(v, t == JV_STRING ? "int_parsing" : "int_type", loc,
              t == JV_STRING ? "Input should be a valid integer, unable to parse string "
                               "as an integer"
                             : "Input should be a valid integer",
              raw, NULL);
        return -1;
    }
    if (range_check(v, raw, loc, rule, x) < 0)
        return -1;
    *out = x;
    return 0;
}

/* A query value as a JSON string for the value validators (an invalid UTF-8 value reads as
 * "", as it always has). */
static struct jv *query_value(struct vctx *v, const char *s)
{
    size_t n = strlen(s);

    return jv_strn(v->a, s, utf8_valid_len(s, n) == n ? n : 0);
}

int v_query_int(struct vctx *v, struct req *req, const char *name, struct v_int rule, int64_t *out)
{
    const char *s = req_query(req, name);

    *out = rule.def;
    if (!s)
        return 0;
    return v_int_value(v, query_value(v, s), v_loc(v, "query", name), rule, out);
}

static const char *check_text(struct vctx *v, const char *s, struct jv *loc, struct v_str rule)
{
    size_t n;

    if (!s) {
        v_add(v, "missing", loc, "Field required", NULL, NULL);
        return NULL;
    }
    n = strlen(s);
    if (utf8_valid_len(s, n) != n) {
        v_add(v, "string_unicode", loc,
              "Input should be a valid string, unable to parse raw "
              "data as a unicode string",
              NULL, NULL);
        return NULL;
    }
    if (check_length(v, loc, jv_strn(v->a, s, n), utf8_count(s, n), rule, 0) < 0)
        return NULL;
    return s;
}

const char *v_query_string(struct vctx *v, struct req *req, const char *name, struct v_str rule)
{
    return check_text(v, req_query(req, name), v_loc(v, "query", name), rule);
}

const char *v_path_string(struct vctx *v, struct req *req, int index, const char *name,
                          struct v_str rule)
{
    return check_text(v, req->params[index], v_loc(v, "path", name), rule);
}

int v_path_uuid(struct vctx *v, struct req *req, int index, const char *name,
                char out[UUID_STR_LEN])
{
    const char *id = v_path_string(v, req, index, name, (struct v_str){ .min = 1 });
    size_t i;

    if (!id)
        return -1;
    if (!uuid_valid(id)) {
        v_add(v, "uuid_parsing", v_loc(v, "path", name), "Input should be a valid UUID",
              jv_str(v->a, id), NULL);
        return -1;
    }
    for (i = 0; i < UUID_STR_LEN; i++)
        out[i] = (char)(id[i] >= 'A' && id[i] <= 'F' ? id[i] - 'A' + 'a' : id[i]);
    return 0;
}

int v_list_size(struct vctx *v, struct jv *loc, const struct jv *list, size_t min, size_t max)
{
    size_t n = jv_array_size(list);
    int few = n < min;
    struct jv *ctx;
    char msg[96];

    if (n >= min && n <= max)
        return 0;
    ctx = jv_object(v->a);
    jv_object_set(v->a, ctx, "field_type", jv_str(v->a, "List"));
    jv_object_set(v->a, ctx, few ? "min_length" : "max_length",
                  jv_int(v->a, (int64_t)(few ? min : max)));
    jv_object_set(v->a, ctx, "actual_length", jv_int(v->a, (int64_t)n));
    snprintf(msg, sizeof(msg), "List should have at %s %zu item%s after validation, not %zu",
             few ? "least" : "most", few ? min : max, (few ? min : max) == 1 ? "" : "s", n);
    v_add(v, few ? "too_short" : "too_long", loc, msg, list, ctx);
    return -1;
}

static int bool_word(const char *s, int *out)
{
    static const char *const yes[] = { "true", "1", "yes", "on", "t", "y" };
    static const char *const no[] = { "false", "0", "no", "off", "f", "n" };
    size_t i;

    for (i = 0; i < 6; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

/* A JSON number that is exactly 0 or 1 (0, 1, 0.0, 1e0 …): its value into *out. */
static int number_bit(const struct jv *raw, int *out)
{
    int64_t x;
    double d;

    if (jv_type(raw) == JV_INT) {
        if (jv_int64(raw, &x) < 0 || (x != 0 && x != 1))
            return -1;
        *out = (int)x;
        return 0;
    }
    d = jv_double(raw);
    if (d != 0.0 && d != 1.0)
        return -1;
    *out = d == 1.0;
    return 0;
}

int v_bool_value(struct vctx *v, const struct jv *raw, struct jv *loc, int *out)
{
    enum jv_type t = jv_type(raw);

    if (t == JV_TRUE || t == JV_FALSE) {
        *out = t == JV_TRUE;
        return 0;
    }
    if ((t == JV_INT || t == JV_REAL) && number_bit(raw, out) == 0)
        return 0;
    if (t == JV_STRING && bool_word(jv_string(raw, NULL), out) == 0)
        return 0;
    v_add(v, t == JV_STRING ? "bool_parsing" : "bool_type", loc,
          t == JV_STRING ? "Input should be a valid boolean, unable to interpret input"
                         : "Input should be a valid boolean",
          raw, NULL);
    return -1;
}

void v_query_bool(struct vctx *v, struct req *req, const char *name, int *out)
{
    const char *s = req_query(req, name);

    *out = 0;
    if (s)
        v_bool_value(v, query_value(v, s), v_loc(v, "query", name), out);
}

void v_as_of(struct vctx *v, const char *s, struct jv *loc, int *has, int64_t *out)
{
    *has = 0;
    if (!s)
        return;
    if (episodes_parse_time(s, out) == 0) {
        *has = 1;
        return;
    }
    v_add(v, "datetime_parsing", loc, "Input should be a valid datetime", jv_str(v->a, s), NULL);
}

int v_literal(struct vctx *v, struct jv *loc, const char *s, const struct jv *input,
              const char *const *names, size_t n)
{
    char expected[160] = "", msg[200];
    struct jv *ctx;
    size_t i, len;

    for (i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    for (i = 0; i < n; i++) {
        len = strlen(expected);
        snprintf(expected + len, sizeof(expected) - len, "%s'%s'",
                 i == 0       ? ""
                 : i + 1 == n ? " or "
                              : ", ",
                 names[i]);
    }
    snprintf(msg, sizeof(msg), "Input should be %s", expected);
    ctx = jv_object(v->a);
    jv_object_set(v->a, ctx, "expected", jv_str(v->a, expected));
    v_add(v, "literal_error", loc, msg, input, ctx);
    return -1;
}

void v_body_literal(struct vctx *v, const struct jv *body, const char *key,
                    const char *const *names, size_t n, int def, int *out)
{
    const struct jv *val = jv_object_get(body, key);
    int i;

    *out = def;
    if (!val)
        return;
    i = v_literal(v, v_loc(v, "body", key), jv_string(val, NULL), val, names, n);
    if (i >= 0)
        *out = i;
}
