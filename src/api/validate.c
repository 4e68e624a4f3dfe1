/* validate.c - 422 details in the reference's shape. */
#include "api/validate.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/jv.h"
#include "util/utf8.h"

void v_init(struct vctx *v)
{
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

void v_add(struct vctx *v, const char *type, json_t *loc, const char *msg, json_t *input,
           json_t *ctx)
{
    json_t *item = json_object();

    if (!v->details)
        v->details = json_array();
    json_object_set_new(item, "type", json_string(type));
    json_object_set_new(item, "loc", loc);
    json_object_set_new(item, "msg", json_string(msg));
    json_object_set(item, "input", input ? input : json_null());
    if (ctx)
        json_object_set_new(item, "ctx", ctx);
    json_array_append_new(v->details, item);
}

json_t *v_loc(const char *part, const char *key)
{
    json_t *loc = json_array();

    json_array_append_new(loc, json_string(part));
    if (key)
        json_array_append_new(loc, json_string(key));
    return loc;
}

json_t *v_loc_item(const char *part, const char *list, size_t index, const char *key)
{
    json_t *loc = v_loc(part, list);

    json_array_append_new(loc, json_integer((json_int_t)index));
    if (key)
        json_array_append_new(loc, json_string(key));
    return loc;
}

static const char *last_key(json_t *loc)
{
    return json_string_value(json_array_get(loc, json_array_size(loc) - 1));
}

static int json_content_type(const char *ct)
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

static int json_invalid(struct vctx *v, size_t pos, const char *msg, struct err *err)
{
    json_t *loc = v_loc("body", NULL), *ctx = json_object(), *empty = json_object();

    json_array_append_new(loc, json_integer((json_int_t)pos));
    json_object_set_new(ctx, "error", json_string(msg));
    v_add(v, "json_invalid", loc, "JSON decode error", empty, ctx);
    json_decref(empty);
    return v_finish(v, err);
}

int api_body_over_budget(struct req *req, struct err *err)
{
    return err_set(err, ERR_TOO_LARGE,
                   "Request body too complex: its JSON would take more than %zu bytes to parse",
                   jv_parse_budget(req->body.len));
}

/* The body is parsed once with jv, which keeps every number as sent (integers beyond 64
 * bits, 1e20); validation then reads a jansson copy and stored JSON is written from jv. */
int api_body_object(struct req *req, json_t **out, struct err *err)
{
    struct vctx v;
    const char *msg = NULL;
    size_t pos = 0;
    struct jv *root;

    *out = NULL;
    req->body_jv = NULL;
    v_init(&v);
    if (!json_content_type(req_header(req, "Content-Type")) || req->body.len == 0) {
        v_add(&v, "missing", v_loc("body", NULL), "Field required", NULL, NULL);
        return v_finish(&v, err);
    }
    root = jv_parse_bounded(req->arena, req->body.data, req->body.len,
                            jv_parse_budget(req->body.len), &pos, &msg);
    if (!root && msg == jv_msg_over_budget)
        return api_body_over_budget(req, err);
    if (!root)
        return json_invalid(&v, pos, msg, err);
    *out = jv_to_jansson(root);
    if (!*out)
        return json_invalid(&v, 0, "number out of range", err);
    if (!json_is_object(*out)) {
        v_add(&v, "model_attributes_type", v_loc("body", NULL),
              "Input should be a valid dictionary or object to extract fields from", *out, NULL);
        json_decref(*out);
        *out = NULL;
        return v_finish(&v, err);
    }
    req->body_jv = root;
    return 0;
}

static json_t *ctx_int(const char *key, json_int_t val)
{
    json_t *c = json_object();

    json_object_set_new(c, key, json_integer(val));
    return c;
}

static void missing(struct vctx *v, json_t *obj, json_t *loc)
{
    v_add(v, "missing", loc, "Field required", obj, NULL);
}

const char *v_string(struct vctx *v, json_t *obj, json_t *loc, int required, size_t min,
                     size_t max, int nullable, int *present)
{
    json_t *val = json_object_get(obj, last_key(loc));
    size_t cps;
    char msg[96];

    if (present)
        *present = val != NULL;
    if (!val) {
        if (required)
            missing(v, obj, loc);
        else
            json_decref(loc);
        return NULL;
    }
    if (json_is_null(val) && nullable)
        return json_decref(loc), NULL;
    if (!json_is_string(val)) {
        v_add(v, "string_type", loc, "Input should be a valid string", val, NULL);
        return NULL;
    }
    cps = utf8_count(json_string_value(val), json_string_length(val));
    if (cps < min) {
        snprintf(msg, sizeof(msg), "String should have at least %zu character%s", min,
                 min == 1 ? "" : "s");
        v_add(v, "string_too_short", loc, msg, val, ctx_int("min_length", (json_int_t)min));
        return NULL;
    }
    if (max && cps > max) {
        snprintf(msg, sizeof(msg), "String should have at most %zu characters", max);
        v_add(v, "string_too_long", loc, msg, val, ctx_int("max_length", (json_int_t)max));
        return NULL;
    }
    json_decref(loc);
    return json_string_value(val);
}

json_t *v_object(struct vctx *v, json_t *obj, json_t *loc, int required)
{
    json_t *val = json_object_get(obj, last_key(loc));

    if (!val) {
        if (required)
            missing(v, obj, loc);
        else
            json_decref(loc);
        return NULL;
    }
    if (!json_is_object(val)) {
        v_add(v, "dict_type", loc, "Input should be a valid dictionary", val, NULL);
        return NULL;
    }
    json_decref(loc);
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

static int range_check(struct vctx *v, json_t *raw, json_t *loc, int64_t min, int64_t max,
                       int64_t x)
{
    char msg[96];

    if (x < min) {
        snprintf(msg, sizeof(msg), "Input should be greater than or equal to %lld",
                 (long long)min);
        v_add(v, "greater_than_equal", loc, msg, raw, ctx_int("ge", min));
        return -1;
    }
    if (x > max) {
        snprintf(msg, sizeof(msg), "Input should be less than or equal to %lld", (long long)max);
        v_add(v, "less_than_equal", loc, msg, raw, ctx_int("le", max));
        return -1;
    }
    json_decref(loc);
    return 0;
}

int v_int_value(struct vctx *v, json_t *raw, json_t *loc, int64_t min, int64_t max,
                int64_t *out)
{
    int64_t x;

    if (json_is_integer(raw)) {
        x = json_integer_value(raw);
    } else if (json_is_real(raw) && json_real_value(raw) == floor(json_real_value(raw)) &&
               fabs(json_real_value(raw)) < 9.0e15) {
        x = (int64_t)json_real_value(raw);
    } else if (json_is_string(raw) && parse_int_string(json_string_value(raw), &x) == 0) {
        /* numeric string accepted */
    } else if (json_is_real(raw)) {
        v_add(v, "int_from_float", loc, "Input should be a valid integer, got a number with a "
              "fractional part", raw, NULL);
        return -1;
    } else {
        v_add(v, json_is_string(raw) ? "int_parsing" : "int_type", loc,
              json_is_string(raw) ? "Input should be a valid integer, unable to parse string "
                                    "as an integer" : "Input should be a valid integer",
              raw, NULL);
        return -1;
    }
    if (range_check(v, raw, loc, min, max, x) < 0)
        return -1;
    *out = x;
    return 0;
}

int v_query_int(struct vctx *v, struct req *req, const char *name, int64_t def, int64_t min,
                int64_t max, int64_t *out)
{
    const char *s = req_query(req, name);
    json_t *raw;
    int ret;

    *out = def;
    if (!s)
        return 0;
    raw = json_string(s);
    if (!raw)
        raw = json_string("");
    ret = v_int_value(v, raw, v_loc("query", name), min, max, out);
    json_decref(raw);
    return ret;
}

static const char *check_text(struct vctx *v, const char *s, json_t *loc, size_t min,
                              size_t max)
{
    json_t *holder = json_object();
    const char *res = NULL;
    size_t cps;
    char msg[96];

    if (!s) {
        v_add(v, "missing", loc, "Field required", NULL, NULL);
        goto done;
    }
    if (utf8_valid_len(s, strlen(s)) != strlen(s)) {
        v_add(v, "string_unicode", loc, "Input should be a valid string, unable to parse raw "
              "data as a unicode string", NULL, NULL);
        goto done;
    }
    cps = utf8_count(s, strlen(s));
    json_object_set_new(holder, "v", json_string(s));
    if (cps < min) {
        snprintf(msg, sizeof(msg), "String should have at least %zu character", min);
        v_add(v, "string_too_short", loc, msg, json_object_get(holder, "v"),
              ctx_int("min_length", (json_int_t)min));
    } else if (max && cps > max) {
        snprintf(msg, sizeof(msg), "String should have at most %zu characters", max);
        v_add(v, "string_too_long", loc, msg, json_object_get(holder, "v"),
              ctx_int("max_length", (json_int_t)max));
    } else {
        json_decref(loc);
        res = s;
    }
done:
    json_decref(holder);
    return res;
}

const char *v_query_string(struct vctx *v, struct req *req, const char *name, size_t min,
                           size_t max)
{
    return check_text(v, req_query(req, name), v_loc("query", name), min, max);
}

const char *v_path_string(struct vctx *v, struct req *req, int index, const char *name,
                          size_t min, size_t max)
{
    return check_text(v, req->params[index], v_loc("path", name), min, max);
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

int v_bool_value(struct vctx *v, json_t *raw, json_t *loc, int *out)
{
    if (json_is_boolean(raw)) {
        *out = json_is_true(raw);
    } else if (json_is_integer(raw) && (json_integer_value(raw) == 0 ||
                                        json_integer_value(raw) == 1)) {
        *out = (int)json_integer_value(raw);
    } else if (json_is_real(raw) && (json_real_value(raw) == 0.0 ||
                                     json_real_value(raw) == 1.0)) {
        *out = json_real_value(raw) == 1.0;
    } else if (!(json_is_string(raw) && bool_word(json_string_value(raw), out) == 0)) {
        v_add(v, json_is_string(raw) ? "bool_parsing" : "bool_type", loc,
              json_is_string(raw) ? "Input should be a valid boolean, unable to interpret input"
                                  : "Input should be a valid boolean", raw, NULL);
        return -1;
    }
    json_decref(loc);
    return 0;
}
