/* labels.c - PATCH /v1/memories/{memory_id}/labels (spec/api.md §5.3, EXTRA): replace a
 * memory's sensitivity labels. As documented: labels are trimmed, lower-cased (ASCII),
 * deduplicated and sorted (byte order); at most LABELS_MAX; an empty label is refused. */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "util/ts.h"
#include "util/utf8.h"

#define LABELS_MAX 32       /* labels per memory */
#define LABEL_MAX_CHARS 64  /* code points per label */

static json_t *ctx_of(const char *key, json_int_t val)
{
    json_t *c = json_object();

    json_object_set_new(c, key, json_integer(val));
    return c;
}

/* One label at list index i: a string of 1..LABEL_MAX_CHARS code points. */
static int check_label(struct vctx *v, json_t *item, size_t i)
{
    json_t *loc = v_loc_item("body", "sensitivity_labels", i, NULL);
    size_t cps;

    if (!json_is_string(item)) {
        v_add(v, "string_type", loc, "Input should be a valid string", item, NULL);
        return -1;
    }
    cps = utf8_count(json_string_value(item), json_string_length(item));
    if (cps < 1) {
        v_add(v, "string_too_short", loc, "String should have at least 1 character", item,
              ctx_of("min_length", 1));
        return -1;
    }
    if (cps > LABEL_MAX_CHARS) {
        v_add(v, "string_too_long", loc, "String should have at most 64 characters", item,
              ctx_of("max_length", LABEL_MAX_CHARS));
        return -1;
    }
    json_decref(loc);
    return 0;
}

/* The label trimmed of surrounding whitespace and lower-cased (ASCII), in the arena. */
static char *normalise(struct arena *a, const char *s, size_t n)
{
    char *out;
    size_t i;

    while (n && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' ||
                 *s == '\v'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
                 s[n - 1] == '\r' || s[n - 1] == '\f' || s[n - 1] == '\v'))
        n--;
    out = arena_strndup(a, s, n);
    for (i = 0; i < n; i++) {
        if (out[i] >= 'A' && out[i] <= 'Z')
            out[i] = (char)(out[i] - 'A' + 'a');
    }
    return out;
}

static int cmp_label(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* body.sensitivity_labels → a new normalised, deduplicated, sorted array, or NULL after
 * recording problems. */
static json_t *parse_labels(struct vctx *v, struct arena *a, json_t *body)
{
    json_t *list = json_object_get(body, "sensitivity_labels"), *out, *ctx;
    const char **labels;
    char msg[96];
    size_t i, n;
    int bad = 0;

    if (!list) {
        v_add(v, "missing", v_loc("body", "sensitivity_labels"), "Field required", body, NULL);
        return NULL;
    }
    if (!json_is_array(list)) {
        v_add(v, "list_type", v_loc("body", "sensitivity_labels"),
              "Input should be a valid list", list, NULL);
        return NULL;
    }
    if (json_array_size(list) > LABELS_MAX) {
        ctx = json_pack("{s:s,s:i,s:i}", "field_type", "List", "max_length", LABELS_MAX,
                        "actual_length", (int)json_array_size(list));
        snprintf(msg, sizeof(msg), "List should have at most %d items after validation, not "
                 "%zu", LABELS_MAX, json_array_size(list));
        v_add(v, "too_long", v_loc("body", "sensitivity_labels"), msg, list, ctx);
        return NULL;
    }
    labels = arena_calloc(a, json_array_size(list) + 1, sizeof(*labels));
    for (i = 0; i < json_array_size(list); i++) {
        json_t *item = json_array_get(list, i);
        json_t *norm;

        if (!json_is_string(item)) {
            bad |= check_label(v, item, i) < 0;
            continue;
        }
        labels[i] = normalise(a, json_string_value(item), json_string_length(item));
        norm = json_string(labels[i]);
        bad |= check_label(v, norm ? norm : item, i) < 0;
        json_decref(norm);
    }
    if (bad)
        return NULL;
    n = json_array_size(list);
    qsort(labels, n, sizeof(*labels), cmp_label);
    out = json_array();
    for (i = 0; i < n; i++) {
        if (i == 0 || strcmp(labels[i], labels[i - 1]) != 0)
            json_array_append_new(out, json_string(labels[i]));
    }
    return out;
}

/* The path id as a lowercase canonical UUID into out, or -1 after recording a problem. */
static int parse_memory_id(struct vctx *v, struct req *req, char out[UUID_STR_LEN])
{
    const char *id = v_path_string(v, req, 0, "memory_id", 1, 0);
    json_t *input;
    size_t i;

    if (!id)
        return -1;
    if (!uuid_valid(id)) {
        input = json_string(id);
        v_add(v, "uuid_parsing", v_loc("path", "memory_id"), "Input should be a valid UUID",
              input, NULL);
        json_decref(input);
        return -1;
    }
    for (i = 0; i < UUID_STR_LEN; i++)
        out[i] = (char)(id[i] >= 'A' && id[i] <= 'F' ? id[i] - 'A' + 'a' : id[i]);
    return 0;
}

static char *labels_text(struct arena *a, json_t *labels)
{
    char *text = json_dumps(labels, JSON_COMPACT);
    char *copy = arena_strdup(a, text ? text : "[]");

    free(text);
    return copy;
}

int api_memories_labels(struct req *req)
{
    char id[UUID_STR_LEN];
    struct memory *m = NULL;
    json_t *body, *labels = NULL, *out;
    const char *text;
    struct vctx v;
    int found = 0;
    store *st;

    v_init(&v);
    parse_memory_id(&v, req, id);
    if (api_body_object(req, &body, &req->err) < 0) {
        json_decref(v.details);
        return -1;
    }
    labels = parse_labels(&v, req->arena, body);
    json_decref(body);
    if (v_finish(&v, &req->err) < 0) {
        json_decref(labels);
        return -1;
    }
    text = labels_text(req->arena, labels);
    json_decref(labels);
    st = store_thread(&req->err);
    if (!st ||
        store_memory_set_labels(st,
                                &(struct label_update){ .tenant = req->tenant, .memory_id = id,
                                                        .labels_json = text,
                                                        .updated_at = ts_now() },
                                &found, &req->err) < 0 ||
        (found && store_memory_get(st, req->arena, req->tenant, id, &m, &req->err) < 0))
        return -1;
    if (!found || !m)
        return err_set(&req->err, ERR_NOT_FOUND, "Memory not found");
    out = render_memory(m);
    if (!json_object_get(out, "sensitivity_labels"))
        json_object_set_new(out, "sensitivity_labels", render_stored_json(m->sensitivity_labels,
                                                                          "[]"));
    return http_reply_json(req, 200, out);
}
