/* labels.c - PATCH /v1/memories/{memory_id}/labels (spec/api.md §5.3, EXTRA): replace a
 * memory's sensitivity labels. As documented: labels are trimmed, lower-cased (ASCII),
 * deduplicated and sorted (byte order); at most LABELS_MAX; an empty label is refused. */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/labels.h"
#include "util/jv.h"
#include "util/utf8.h"

#define LABELS_MAX 32       /* labels per memory */
#define LABEL_MAX_CHARS 64  /* code points per label */

/* One label at list index i: a string of 1..LABEL_MAX_CHARS code points. */
static int check_label(struct vctx *v, const struct jv *item, size_t i)
{
    struct jv *loc = v_loc_item(v, "body", "sensitivity_labels", i, NULL);
    size_t cps, len;
    const char *s = jv_string(item, &len);

    if (!s) {
        v_add(v, "string_type", loc, "Input should be a valid string", item, NULL);
        return -1;
    }
    cps = utf8_count(s, len);
    if (cps < 1) {
        v_add(v, "string_too_short", loc, "String should have at least 1 character", item,
              v_ctx_int(v, "min_length", 1));
        return -1;
    }
    if (cps > LABEL_MAX_CHARS) {
        v_add(v, "string_too_long", loc, "String should have at most 64 characters", item,
              v_ctx_int(v, "max_length", LABEL_MAX_CHARS));
        return -1;
    }
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

/* body.sensitivity_labels → a normalised, deduplicated, sorted array, or NULL after
 * recording problems. */
static struct jv *parse_labels(struct vctx *v, struct arena *a, const struct jv *body)
{
    const struct jv *list = jv_object_get(body, "sensitivity_labels");
    const char **labels;
    struct jv *out;
    size_t i, n;
    int bad = 0;

    if (!list) {
        v_add(v, "missing", v_loc(v, "body", "sensitivity_labels"), "Field required", body,
              NULL);
        return NULL;
    }
    if (jv_type(list) != JV_ARRAY) {
        v_add(v, "list_type", v_loc(v, "body", "sensitivity_labels"),
              "Input should be a valid list", list, NULL);
        return NULL;
    }
    if (v_list_size(v, v_loc(v, "body", "sensitivity_labels"), list, 0, LABELS_MAX) < 0)
        return NULL;
    n = jv_array_size(list);
    labels = arena_calloc(a, n + 1, sizeof(*labels));
    for (i = 0; i < n; i++) {
        const struct jv *item = jv_array_get(list, i);
        size_t len;
        const char *s = jv_string(item, &len);

        if (!s) {
            bad |= check_label(v, item, i) < 0;
            continue;
        }
        labels[i] = normalise(a, s, len);
        bad |= check_label(v, jv_str(a, labels[i]), i) < 0;
    }
    if (bad)
        return NULL;
    qsort(labels, n, sizeof(*labels), cmp_label);
    out = jv_array(a);
    for (i = 0; i < n; i++) {
        if (i == 0 || strcmp(labels[i], labels[i - 1]) != 0)
            jv_array_append(a, out, jv_str(a, labels[i]));
    }
    return out;
}

int api_memories_labels(struct req *req)
{
    struct arena *a = req->arena;
    char id[UUID_STR_LEN];
    struct memory *m = NULL;
    struct jv *body, *labels, *out;
    struct buf text = BUF_INIT;
    struct vctx v;
    store *st;
    int rc;

    v_init(&v, a);
    v_path_uuid(&v, req, 0, "memory_id", id);
    if (api_body_object(req, &body, &req->err) < 0)
        return -1;
    labels = parse_labels(&v, a, body);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st)
        return -1;
    jv_write_compact(&text, labels);
    rc = labels_replace(a, st, req->tenant, id, text.data, &m, &req->err);
    buf_release(&text);
    if (rc < 0)
        return -1;
    if (!m)
        return err_set(&req->err, ERR_NOT_FOUND, "Memory not found");
    out = render_memory(a, m);
    if (!jv_object_get(out, "sensitivity_labels"))
        jv_object_set(a, out, "sensitivity_labels",
                      render_stored_json(a, m->sensitivity_labels, "[]"));
    return http_reply_json(req, 200, out);
}
