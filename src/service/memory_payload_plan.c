/* memory_payload_plan.c - checking an imported "statewave-memory-payload" document and
 * turning it into a plan of new records, touching no database (spec/api.md §6.5). */
#include "service/memory_payload-internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jv.h"
#include "util/ts.h"
#include "util/utf8.h"
#include "util/uuid.h"

/* The top-level keys an imported payload may have (§6.5 step 3). */
static const char *const allowed_keys[] = {
    "format", "format_version", "export_id", "exported_at", "export_scope",
    "subjects", "episodes", "memories", "sources", "metadata",
};

/* ---- import: string → index over util/hmap ---- */

size_t mp_strmap_get(const struct hmap *m, const char *key)
{
    const struct hmap_entry *e = hmap_get(m, key, strlen(key));

    return e ? e->val.num : SIZE_MAX;
}

void mp_strmap_put(struct hmap *m, const char *key, size_t val)
{
    hmap_put(m, key, strlen(key), NULL)->val.num = val;
}

/* ---- import: checking the payload ---- */

static int check_format(const struct jv *payload, struct err *err)
{
    const struct jv *f = jv_object_get(payload, "format");
    const char *s = f ? jv_string(f, NULL) : NULL;
    struct buf r = BUF_INIT;

    if (s && strcmp(s, PAYLOAD_FORMAT) == 0)
        return 0;
    pyrepr_value(&r, f);
    err_set(err, ERR_INVALID, "Unexpected payload format %s; expected '%s'.", r.data,
            PAYLOAD_FORMAT);
    buf_release(&r);
    return -1;
}

/* Python int(s) == 1 for a string: whitespace around, an optional sign, digits with single
 * underscores between them, leading zeros allowed. */
static int int_string_is_one(const char *s)
{
    const char *end;
    int neg = 0, one = 0;

    while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || (end[-1] >= '\t' && end[-1] <= '\r')))
        end--;
    if (s < end && (*s == '+' || *s == '-'))
        neg = *s++ == '-';
    if (s == end || *s == '_' || end[-1] == '_')
        return 0;
    for (; s < end; s++) {
        if (*s == '_') {
            if (s[1] == '_')
                return 0;
            continue;
        }
        if (*s < '0' || *s > '9')
            return 0;
        if (!one && *s == '0')
            continue;
        if (one || *s != '1')
            return 0;   /* another digit: the value is not 1 */
        one = 1;
    }
    return !neg && one;
}

/* Python int(v) == 1. Reals truncate (1.5 is 1); true is 1. */
static int version_is_one(const struct jv *v)
{
    int64_t i;
    double d;

    switch (v ? jv_type(v) : JV_NULL) {
    case JV_TRUE:
        return 1;
    case JV_INT:
        return jv_int64(v, &i) == 0 && i == 1;
    case JV_REAL:
        d = jv_double(v);
        return isfinite(d) && trunc(d) == 1.0;
    case JV_STRING:
        return int_string_is_one(jv_string(v, NULL));
    default:
        return 0;
    }
}

static int check_version(const struct jv *payload, struct err *err)
{
    const struct jv *v = jv_object_get(payload, "format_version");
    struct buf s = BUF_INIT;

    if (version_is_one(v))
        return 0;
    /* The reference answers 500 for null and non-numeric strings; this is its 400. */
    pyrepr_text(&s, v);
    err_set(err, ERR_INVALID, "Unsupported format_version %s; expected %d.", s.data,
            PAYLOAD_FORMAT_VERSION);
    buf_release(&s);
    return -1;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int check_keys(struct arena *a, const struct jv *payload, struct err *err)
{
    size_t i, n = jv_object_size(payload), nbad = 0;
    const char **bad = arena_alloc(a, (n + 1) * sizeof(*bad));
    struct buf m = BUF_INIT;

    for (i = 0; i < n; i++) {
        const char *k = jv_object_key(payload, i, NULL);

        if (mp_name_index(allowed_keys, sizeof(allowed_keys) / sizeof(allowed_keys[0]), k) < 0)
            bad[nbad++] = k;
    }
    if (nbad == 0)
        return 0;
    qsort(bad, nbad, sizeof(*bad), cmp_str);
    buf_putc(&m, '[');
    for (i = 0; i < nbad; i++) {
        if (i)
            buf_puts(&m, ", ");
        pyrepr_str(&m, bad[i], strlen(bad[i]));
    }
    buf_putc(&m, ']');
    err_set(err, ERR_INVALID, "Payload contains unknown fields: %s", m.data);
    buf_release(&m);
    return -1;
}

/* Steps 1-5 of §6.5. */
static int check_header(struct arena *a, const struct jv *payload,
                        const struct payload_limits *lim, struct err *err)
{
    const struct jv *subjects;

    if (jv_type(payload) != JV_OBJECT)
        return err_set(err, ERR_INVALID, "Payload must be a JSON object.");
    if (check_format(payload, err) < 0 || check_version(payload, err) < 0 ||
        check_keys(a, payload, err) < 0)
        return -1;
    if (memory_payload_size(payload, lim->max_bytes) > lim->max_bytes)
        return err_set(err, ERR_TOO_LARGE, "Payload exceeds size limit (%zu bytes).",
                       lim->max_bytes);
    subjects = jv_object_get(payload, "subjects");
    if (subjects && jv_type(subjects) == JV_ARRAY &&
        jv_array_size(subjects) > lim->max_subjects)
        return err_set(err, ERR_TOO_LARGE, "Too many subjects: %zu > limit %zu.",
                       jv_array_size(subjects), lim->max_subjects);
    return 0;
}

/* Where a record sits, for "Invalid payload: <list>[<index>].<field>: <reason>". */
struct at {
    const char *list;
    size_t index;
};

static int bad(struct err *err, const struct at *at, const char *field, const char *reason)
{
    if (!field)
        return err_set(err, ERR_INVALID, "Invalid payload: %s[%zu]: %s", at->list, at->index,
                       reason);
    return err_set(err, ERR_INVALID, "Invalid payload: %s[%zu].%s: %s", at->list, at->index,
                   field, reason);
}

/* payload[key] as a list: absent or false-y → empty; otherwise it must be an array (whose
 * elements must be objects: checked record by record, so the first bad one is named). */
static int list_field(const struct jv *payload, const char *key, const struct jv **out,
                      size_t *n, struct err *err)
{
    const struct jv *v = jv_object_get(payload, key);

    *out = NULL;
    *n = 0;
    if (mp_py_falsy(v))
        return 0;
    if (jv_type(v) != JV_ARRAY)
        return err_set(err, ERR_INVALID, "Invalid payload: %s: expected an array", key);
    *out = v;
    *n = jv_array_size(v);
    return 0;
}

/* Element at->index of list, which must be an object. */
static const struct jv *record_at(const struct jv *list, const struct at *at, struct err *err)
{
    const struct jv *rec = jv_array_get(list, at->index);

    if (jv_type(rec) != JV_OBJECT)
        return bad(err, at, NULL, "expected an object"), NULL;
    return rec;
}

/* A string field: false-y → def; otherwise a string of at most max_cp code points (0 = any). */
static int str_field(const struct jv *rec, const char *key, const char *def, size_t max_cp,
                     const struct at *at, const char **out, struct err *err)
{
    const struct jv *v = jv_object_get(rec, key);
    char why[64];
    size_t n;

    if (mp_py_falsy(v)) {
        *out = def;
        return 0;
    }
    *out = jv_string(v, &n);
    if (!*out)
        return bad(err, at, key, "expected a string");
    if (max_cp && utf8_count(*out, n) > max_cp) {
        snprintf(why, sizeof(why), "longer than %zu characters", max_cp);
        return bad(err, at, key, why);
    }
    return 0;
}

/* A timestamp: parsed when it is a string in a form ts_parse() knows, else fallback. */
static int64_t ts_field(const struct jv *rec, const char *key, int64_t fallback)
{
    const struct jv *v = jv_object_get(rec, key);
    const char *s = v ? jv_string(v, NULL) : NULL;
    int64_t us;

    return s && *s && ts_parse(s, &us) == 0 ? us : fallback;
}

/* The per-import stamps merged into metadata and provenance. */
struct stamps {
    struct jv *vals[3];       /* imported_from_export_id, original_subject_id, imported_at */
};

static const char *const stamp_keys[3] = {
    "imported_from_export_id", "original_subject_id", "imported_at",
};

/* Everything the record checks build, in payload order; records without a subject_id are
 * left out. */
struct planner {
    struct arena *a;
    const struct payload_limits *lim;
    int64_t now;
    struct buf out;           /* scratch for compact JSON */
    struct jv *export_id;     /* the stamps shared by every group */
    struct jv *imported_at;
    struct hmap groups;     /* subject id → group index */
    struct hmap old_ids;    /* "<group>\1<old episode id>" → index in eps */
    struct payload_group *g;  /* groups in order of first appearance */
    struct jv **g_orig;       /* each group's subject id as a jv string (the stamp) */
    size_t ng;
    struct episode *eps;      /* planned episodes, payload order */
    size_t *eps_group;
    size_t neps;
    struct memory *mems;      /* planned memories, payload order */
    size_t *mems_group;
    size_t nmems;
};

static const char *scratch_copy(struct planner *p)
{
    return arena_strndup(p->a, p->out.data, p->out.len);
}

static void put_member(struct planner *p, int *first, const char *name, size_t len,
                       const struct jv *val)
{
    if (!*first)
        buf_putc(&p->out, ',');
    *first = 0;
    jv_write_compact(&p->out, jv_strn(p->a, name, len));
    buf_putc(&p->out, ':');
    jv_write_compact(&p->out, val);
}

/* dict(rec[key] or {}) updated with the stamps (when st is not NULL), as compact text. Keys
 * that exist keep their place (Python dict.update); written directly, so O(size). */
static int obj_field(struct planner *p, const struct jv *rec, const char *key,
                     const struct stamps *st, const struct at *at, const char **out,
                     struct err *err)
{
    const struct jv *v = jv_object_get(rec, key);
    int seen[3] = { 0, 0, 0 }, first = 1;
    size_t i, k, n, len;

    if (!mp_py_falsy(v) && jv_type(v) != JV_OBJECT)
        return bad(err, at, key, "expected an object");
    n = mp_py_falsy(v) ? 0 : jv_object_size(v);
    buf_reset(&p->out);
    buf_putc(&p->out, '{');
    for (i = 0; i < n; i++) {
        const char *name = jv_object_key(v, i, &len);
        const struct jv *val = jv_object_value(v, i);

        for (k = 0; st && k < 3; k++) {
            if (strlen(stamp_keys[k]) == len && memcmp(stamp_keys[k], name, len) == 0) {
                val = st->vals[k];
                seen[k] = 1;
            }
        }
        put_member(p, &first, name, len, val);
    }
    for (k = 0; st && k < 3; k++) {
        if (!seen[k])
            put_member(p, &first, stamp_keys[k], strlen(stamp_keys[k]), st->vals[k]);
    }
    buf_putc(&p->out, '}');
    *out = scratch_copy(p);
    return 0;
}

/* The group of a record (by its subject_id), or SIZE_MAX for a record without one. */
static int record_group(struct planner *p, const struct jv *rec, const struct at *at,
                        size_t *gi, struct err *err)
{
    const struct jv *v = jv_object_get(rec, "subject_id");
    const char *sid;

    *gi = SIZE_MAX;
    if (mp_py_falsy(v))
        return 0;
    sid = jv_string(v, NULL);
    if (!sid)
        return bad(err, at, "subject_id", "expected a string");
    *gi = mp_strmap_get(&p->groups, sid);
    if (*gi == SIZE_MAX) {
        *gi = p->ng++;
        p->g[*gi].original = sid;
        p->g_orig[*gi] = jv_str(p->a, sid);
        mp_strmap_put(&p->groups, sid, *gi);
    }
    return 0;
}

/* str() of an id-like value as the reference keys its old→new map; NULL for values that can
 * never name an episode. */
static const char *id_text(struct arena *a, const struct jv *v)
{
    char num[40];

    switch (jv_type(v)) {
    case JV_STRING:
        return jv_string(v, NULL);
    case JV_INT:
        return jv_number_text(v);
    case JV_REAL:
        jv_fmt_double(jv_double(v), num);
        return arena_strdup(a, num);
    default:
        return NULL;
    }
}

static int plan_episode(struct planner *p, const struct jv *rec, const struct at *at,
                        struct err *err)
{
    struct episode *ep = &p->eps[p->neps];
    const struct jv *old;
    struct stamps st;
    size_t gi;

    if (record_group(p, rec, at, &gi, err) < 0)
        return -1;
    if (gi == SIZE_MAX)
        return 0;
    st.vals[0] = p->export_id;
    st.vals[1] = p->g_orig[gi];
    st.vals[2] = p->imported_at;
    memset(ep, 0, sizeof(*ep));
    uuid_v4(ep->id);
    if (str_field(rec, "source", "memory-pack", 256, at, &ep->source, err) < 0 ||
        str_field(rec, "type", "imported", 128, at, &ep->type, err) < 0 ||
        obj_field(p, rec, "payload", NULL, at, &ep->payload, err) < 0 ||
        obj_field(p, rec, "metadata", &st, at, &ep->metadata, err) < 0 ||
        obj_field(p, rec, "provenance", &st, at, &ep->provenance, err) < 0)
        return -1;
    ep->created_at = ts_field(rec, "created_at", p->now);
    ep->last_compiled_at = ts_field(rec, "last_compiled_at", TS_NULL);
    ep->occurred_at = ts_field(rec, "occurred_at", TS_NULL);
    old = jv_object_get(rec, "id");
    if (mp_py_falsy(old))
        old = jv_object_get(rec, "original_episode_id");
    if (!mp_py_falsy(old) && id_text(p->a, old)) {
        /* A later episode with the same old id wins, as in a Python dict. */
        mp_strmap_put(&p->old_ids, arena_printf(p->a, "%zu\1%s", gi, id_text(p->a, old)),
                   p->neps);
    }
    p->eps_group[p->neps++] = gi;
    p->g[gi].nepisodes++;
    return 0;
}

/* uuid.UUID(text) as canonical lowercase text: "urn:" and "uuid:" dropped, braces stripped,
 * dashes anywhere, 32 hex digits. Returns 0, or -1 when Python would refuse it. */
static int uuid_normalise(const char *text, char out[UUID_STR_LEN])
{
    char hex[33];
    size_t n = 0, i;
    const char *s = text, *end;

    while (strncmp(s, "urn:", 4) == 0 || strncmp(s, "uuid:", 5) == 0)
        s += s[1] == 'r' ? 4 : 5;
    end = s + strlen(s);
    while (s < end && (*s == '{' || *s == '}'))
        s++;
    while (end > s && (end[-1] == '{' || end[-1] == '}'))
        end--;
    for (; s < end; s++) {
        int x = (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
                (*s >= 'A' && *s <= 'F');

        if (*s == '-')
            continue;
        if (!x || n == 32)
            return -1;
        hex[n++] = (char)(*s >= 'A' && *s <= 'F' ? *s + 32 : *s);
    }
    if (n != 32)
        return -1;
    for (i = 0, n = 0; i < 36; i++)
        out[i] = (i == 8 || i == 13 || i == 18 || i == 23) ? '-' : hex[n++];
    out[36] = '\0';
    return 0;
}

/* source_episode_ids remapped through the group's old→new map; entries neither mapped nor
 * UUIDs are dropped. */
static int sources_field(struct planner *p, const struct jv *rec, size_t gi,
                         const struct at *at, const char **out, struct err *err)
{
    const struct jv *v = jv_object_get(rec, "source_episode_ids");
    char id[UUID_STR_LEN];
    size_t i, n = 0;

    if (!mp_py_falsy(v) && jv_type(v) != JV_ARRAY)
        return bad(err, at, "source_episode_ids", "expected an array");
    buf_reset(&p->out);
    buf_putc(&p->out, '[');
    for (i = 0; !mp_py_falsy(v) && i < jv_array_size(v); i++) {
        const char *t = id_text(p->a, jv_array_get(v, i));
        size_t idx = t ? mp_strmap_get(&p->old_ids, arena_printf(p->a, "%zu\1%s", gi, t))
                       : SIZE_MAX;

        if (idx != SIZE_MAX)
            memcpy(id, p->eps[idx].id, UUID_STR_LEN);
        else if (!t || uuid_normalise(t, id) < 0)
            continue;
        buf_printf(&p->out, "%s\"%s\"", n++ ? "," : "", id);
    }
    buf_putc(&p->out, ']');
    *out = scratch_copy(p);
    return 0;
}

/* float(rec.confidence), 0.9 when absent: numbers, numeric strings, booleans; finite. */
static int confidence_field(const struct jv *rec, const struct at *at, double *out,
                            struct err *err)
{
    const struct jv *v = jv_object_get(rec, "confidence");
    const char *s;
    char *end;

    *out = 0.9;
    switch (v ? jv_type(v) : JV_RAW) {
    case JV_RAW:   /* absent */
        return 0;
    case JV_INT:
    case JV_REAL:
        *out = jv_double(v);
        break;
    case JV_TRUE:
    case JV_FALSE:
        *out = jv_is_true(v) ? 1.0 : 0.0;
        break;
    case JV_STRING:
        s = jv_string(v, NULL);
        *out = strtod(s, &end);
        while (*end == ' ' || (*end >= '\t' && *end <= '\r'))
            end++;
        if (end == s || *end)
            return bad(err, at, "confidence", "expected a number");
        break;
    default:
        return bad(err, at, "confidence", "expected a number");
    }
    if (!isfinite(*out))
        return bad(err, at, "confidence", "expected a finite number");
    return 0;
}

/* null/absent, or exactly lim->embedding_dim finite numbers (stored as float32). */
static int embedding_field(struct planner *p, const struct jv *rec, const struct at *at,
                           struct memory *m, struct err *err)
{
    const struct jv *v = jv_object_get(rec, "embedding");
    size_t i, dim = p->lim->embedding_dim;
    char why[80];
    float *vec;

    if (!v || jv_type(v) == JV_NULL)
        return 0;
    snprintf(why, sizeof(why), "expected null or an array of %zu numbers", dim);
    if (jv_type(v) != JV_ARRAY || jv_array_size(v) != dim)
        return bad(err, at, "embedding", why);
    vec = arena_alloc(p->a, dim * sizeof(*vec));
    for (i = 0; i < dim; i++) {
        const struct jv *x = jv_array_get(v, i);
        double d = jv_double(x);

        if ((jv_type(x) != JV_INT && jv_type(x) != JV_REAL) || !isfinite(d) ||
            fabs(d) > 3.4028234663852886e38)
            return bad(err, at, "embedding", why);
        vec[i] = (float)d;
    }
    m->embedding = vec;
    m->embedding_dim = dim;
    return 0;
}

static int plan_memory(struct planner *p, const struct jv *rec, const struct at *at,
                       struct err *err)
{
    struct memory *m = &p->mems[p->nmems];
    struct stamps st;
    size_t gi;

    if (record_group(p, rec, at, &gi, err) < 0)
        return -1;
    if (gi == SIZE_MAX)
        return 0;
    st.vals[0] = p->export_id;
    st.vals[1] = p->g_orig[gi];
    st.vals[2] = p->imported_at;
    memset(m, 0, sizeof(*m));
    uuid_v4(m->id);
    if (str_field(rec, "kind", "fact", 64, at, &m->kind, err) < 0 ||
        str_field(rec, "content", "", 0, at, &m->content, err) < 0 ||
        str_field(rec, "summary", m->content, 0, at, &m->summary, err) < 0 ||
        confidence_field(rec, at, &m->confidence, err) < 0 ||
        sources_field(p, rec, gi, at, &m->source_episode_ids, err) < 0 ||
        str_field(rec, "status", "active", 32, at, &m->status, err) < 0 ||
        obj_field(p, rec, "metadata", &st, at, &m->metadata, err) < 0 ||
        embedding_field(p, rec, at, m, err) < 0)
        return -1;
    m->valid_from = ts_field(rec, "valid_from", p->now);
    m->valid_to = ts_field(rec, "valid_to", TS_NULL);
    m->created_at = ts_field(rec, "created_at", p->now);
    m->updated_at = ts_field(rec, "updated_at", p->now);
    m->sensitivity_labels = "[]";
    p->mems_group[p->nmems++] = gi;
    p->g[gi].nmemories++;
    return 0;
}

/* subjects[]: each non-empty original_subject_id must satisfy the rule (demo_web_ allowed). */
static int plan_subjects(struct arena *a, const struct jv *list, size_t n,
                         struct payload_plan *plan, struct err *err)
{
    size_t i;

    plan->subjects = arena_alloc(a, (n + 1) * sizeof(*plan->subjects));
    for (i = 0; i < n; i++) {
        struct at at = { "subjects", i };
        const struct jv *rec = record_at(list, &at, err), *v;
        const char *s;

        if (!rec)
            return -1;
        v = jv_object_get(rec, "original_subject_id");
        if (mp_py_falsy(v))
            continue;
        s = jv_string(v, NULL);
        if (!s)
            return bad(err, &at, "original_subject_id", "expected a string");
        if (memory_payload_check_id(s, "subjects[].original_subject_id", 1, err) < 0)
            return -1;
        plan->subjects[plan->nsubjects++] = s;
    }
    return 0;
}

static void planner_init(struct planner *p, struct arena *a, const struct jv *payload,
                         const struct payload_limits *lim, int64_t now, size_t nrec)
{
    struct jv *export_id = jv_object_get(payload, "export_id");

    memset(p, 0, sizeof(*p));
    p->a = a;
    p->lim = lim;
    p->now = now;
    buf_init(&p->out);
    p->export_id = export_id ? export_id : jv_null();
    p->imported_at = mp_ts_jv(a, now);
    hmap_init(a, &p->groups, nrec);
    hmap_init(a, &p->old_ids, nrec);
    p->g = arena_calloc(a, nrec + 1, sizeof(*p->g));
    p->g_orig = arena_calloc(a, nrec + 1, sizeof(*p->g_orig));
    p->eps = arena_alloc(a, (nrec + 1) * sizeof(*p->eps));
    p->eps_group = arena_alloc(a, (nrec + 1) * sizeof(*p->eps_group));
    p->mems = arena_alloc(a, (nrec + 1) * sizeof(*p->mems));
    p->mems_group = arena_alloc(a, (nrec + 1) * sizeof(*p->mems_group));
}

/* Hand the planned records to their groups (payload order kept inside each group). */
static void distribute(struct planner *p, struct payload_plan *plan)
{
    struct hmap listed;
    size_t i;

    hmap_init(p->a, &listed, plan->nsubjects);
    for (i = 0; i < plan->nsubjects; i++)
        mp_strmap_put(&listed, plan->subjects[i], i);
    for (i = 0; i < p->ng; i++) {
        struct payload_group *g = &p->g[i];

        g->episodes = arena_alloc(p->a, (g->nepisodes + 1) * sizeof(*g->episodes));
        g->memories = arena_alloc(p->a, (g->nmemories + 1) * sizeof(*g->memories));
        g->nepisodes = g->nmemories = 0;
        g->listed = mp_strmap_get(&listed, g->original) != SIZE_MAX;
    }
    for (i = 0; i < p->neps; i++) {
        struct payload_group *g = &p->g[p->eps_group[i]];

        g->episodes[g->nepisodes++] = p->eps[i];
    }
    for (i = 0; i < p->nmems; i++) {
        struct payload_group *g = &p->g[p->mems_group[i]];

        g->memories[g->nmemories++] = p->mems[i];
    }
    plan->groups = p->g;
    plan->ngroups = p->ng;
    plan->export_id = p->export_id;
}

static int plan_records(struct planner *p, const struct jv *eps, size_t neps,
                        const struct jv *mems, size_t nmems, struct err *err)
{
    size_t i;

    for (i = 0; i < neps; i++) {
        struct at at = { "episodes", i };
        const struct jv *rec = record_at(eps, &at, err);

        if (!rec || plan_episode(p, rec, &at, err) < 0)
            return -1;
    }
    for (i = 0; i < nmems; i++) {
        struct at at = { "memories", i };
        const struct jv *rec = record_at(mems, &at, err);

        if (!rec || plan_memory(p, rec, &at, err) < 0)
            return -1;
    }
    return 0;
}

int memory_payload_plan(struct arena *a, const struct jv *payload,
                        const struct payload_limits *lim, int64_t now,
                        struct payload_plan *plan, struct err *err)
{
    const struct jv *subjects, *eps, *mems;
    size_t nsubjects, neps, nmems;
    struct planner p;
    int ret;

    memset(plan, 0, sizeof(*plan));
    plan->imported_at = now;
    plan->export_id = jv_null();
    if (check_header(a, payload, lim, err) < 0 ||
        list_field(payload, "subjects", &subjects, &nsubjects, err) < 0 ||
        list_field(payload, "episodes", &eps, &neps, err) < 0 ||
        list_field(payload, "memories", &mems, &nmems, err) < 0 ||
        plan_subjects(a, subjects, nsubjects, plan, err) < 0)
        return -1;
    planner_init(&p, a, payload, lim, now, neps + nmems);
    ret = plan_records(&p, eps, neps, mems, nmems, err);
    if (ret == 0)
        distribute(&p, plan);
    buf_release(&p.out);
    return ret;
}
