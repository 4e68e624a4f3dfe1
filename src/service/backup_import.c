/* backup_import.c - subject import (spec/backup-snapshots.md §3): every check of §3.2 in
 * order, each with the spec's exact message, then all rows in one transaction. */
#include "service/backup.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "service/episodes.h"
#include "util/config.h"
#include "util/hmap.h"
#include "util/jv.h"
#include "util/ts.h"
#include "util/utf8.h"
#include "util/uuid.h"

/* Column limits of the schema (spec/data-model.md), checked so that a long value is a 400
 * naming the field rather than a database error on one backend. */
#define SOURCE_MAX_CHARS 256
#define TYPE_MAX_CHARS 128
#define KIND_MAX_CHARS 64
#define STATUS_MAX_CHARS 32

/* The jv accessors do not take NULL, which jv_object_get() returns for a missing key. */
static int is_type(const struct jv *v, enum jv_type t)
{
    return v && jv_type(v) == t;
}

static const char *string_of(const struct jv *v, size_t *n)
{
    return is_type(v, JV_STRING) ? jv_string(v, n) : NULL;
}

int backup_import_check_size(size_t n, struct err *err)
{
    if (n > cfg->import_max_bytes)
        return err_set(err, ERR_TOO_LARGE, "Request body too large (limit %zu bytes)",
                       cfg->import_max_bytes);
    return 0;
}

/* ---- Python's str() of a JSON value, for the step 1 message (§0) ---- */

static void py_repr(struct buf *out, const struct jv *v);

static void py_repr_string(struct buf *out, const char *s, size_t n)
{
    char quote = memchr(s, '\'', n) && !memchr(s, '"', n) ? '"' : '\'';
    size_t i;

    buf_putc(out, quote);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\\' || c == (unsigned char)quote)
            buf_printf(out, "\\%c", c);
        else if (c == '\n')
            buf_puts(out, "\\n");
        else if (c == '\r')
            buf_puts(out, "\\r");
        else if (c == '\t')
            buf_puts(out, "\\t");
        else if (c < 0x20 || c == 0x7f)
            buf_printf(out, "\\x%02x", c);
        else
            buf_putc(out, (char)c);
    }
    buf_putc(out, quote);
}

static void py_str(struct buf *out, const struct jv *v)
{
    char num[32];
    const char *s;
    size_t n;
    double d;

    switch (v ? jv_type(v) : JV_NULL) {
    case JV_NULL: buf_puts(out, "None"); return;
    case JV_TRUE: buf_puts(out, "True"); return;
    case JV_FALSE: buf_puts(out, "False"); return;
    case JV_INT:
        s = jv_number_text(v);
        buf_puts(out, strcmp(s, "-0") == 0 ? "0" : s);
        return;
    case JV_REAL:
        d = jv_double(v);
        if (isinf(d))
            buf_puts(out, d < 0 ? "-inf" : "inf");
        else
            buf_append(out, num, jv_fmt_double(d, num));
        return;
    case JV_STRING:
        s = jv_string(v, &n);
        buf_append(out, s, n);
        return;
    default:
        py_repr(out, v);
    }
}

/* repr() of a container: what str() prints for lists and dicts. */
static void py_repr(struct buf *out, const struct jv *v)
{
    size_t i, n;
    const char *s;

    switch (jv_type(v)) {
    case JV_STRING:
        s = jv_string(v, &n);
        py_repr_string(out, s, n);
        return;
    case JV_ARRAY:
        buf_putc(out, '[');
        for (i = 0; i < jv_array_size(v); i++) {
            if (i)
                buf_puts(out, ", ");
            py_repr(out, jv_array_get(v, i));
        }
        buf_putc(out, ']');
        return;
    case JV_OBJECT:
        buf_putc(out, '{');
        for (i = 0; i < jv_object_size(v); i++) {
            if (i)
                buf_puts(out, ", ");
            s = jv_object_key(v, i, &n);
            py_repr_string(out, s, n);
            buf_puts(out, ": ");
            py_repr(out, jv_object_value(v, i));
        }
        buf_putc(out, '}');
        return;
    default:
        py_str(out, v);
    }
}

/* Python truthiness: None, False, 0, 0.0, "", [] and {} are false. */
static int py_truthy(const struct jv *v)
{
    switch (v ? jv_type(v) : JV_NULL) {
    case JV_NULL:
    case JV_FALSE:
        return 0;
    case JV_INT:
    case JV_REAL:
        return jv_double(v) != 0.0;
    case JV_STRING:
        return jv_string(v, NULL)[0] != '\0';
    case JV_ARRAY:
        return jv_array_size(v) > 0;
    case JV_OBJECT:
        return jv_object_size(v) > 0;
    default:
        return 1;
    }
}

/* ---- step 4: structure, one record at a time ---- */

/* Ids seen so far in one list: a map from each canonical UUID to its record index (the
 * preserve_ids=false remap reuses it). */

/* Add id with its index; 0 if it was new, -1 if already there. */
static int id_set_add(struct hmap *s, const char *id, size_t index)
{
    int added;
    struct hmap_entry *e = hmap_put(s, id, strlen(id), &added);

    if (!added)
        return -1;
    e->val.num = index;
    return 0;
}

/* The index stored for id, or -1 (also for a NULL id). */
static long id_set_find(const struct hmap *s, const char *id)
{
    const struct hmap_entry *e = id ? hmap_get(s, id, strlen(id)) : NULL;

    return e ? (long)e->val.num : -1;
}

/* One record under validation: where it is, for messages. */
struct rec {
    struct arena *a;
    const struct jv *obj;
    const char *list;       /* "episodes" | "memories" */
    size_t index;
    struct err *err;
};

/* 400 "Invalid document: <list>[<i>].<field>: <reason>". */
static int bad(const struct rec *r, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(const struct rec *r, const char *field, const char *fmt, ...)
{
    char reason[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (!field)
        return err_set(r->err, ERR_INVALID, "Invalid document: %s[%zu]: %s", r->list, r->index,
                       reason);
    return err_set(r->err, ERR_INVALID, "Invalid document: %s[%zu].%s: %s", r->list, r->index,
                   field, reason);
}

/* 1 if s (n bytes) is a lowercase canonical 8-4-4-4-12 UUID (§0). */
static int uuid_canonical(const char *s, size_t n)
{
    size_t i;

    if (n != 36 || !uuid_valid(s))
        return 0;
    for (i = 0; i < n; i++) {
        if (s[i] >= 'A' && s[i] <= 'F')
            return 0;
    }
    return 1;
}

/* A string field. Missing: "missing" when required, else *out = NULL. With nullable, null
 * gives *out = NULL. max_chars 0 = no limit. */
static int field_string(const struct rec *r, const char *key, int required, int nullable,
                        size_t max_chars, const char **out)
{
    const struct jv *v = jv_object_get(r->obj, key);
    const char *s;
    size_t n;

    *out = NULL;
    if (!v)
        return required ? bad(r, key, "missing") : 0;
    if (nullable && jv_type(v) == JV_NULL)
        return 0;
    if (jv_type(v) != JV_STRING)
        return bad(r, key, nullable ? "expected a string or null" : "expected a string");
    s = jv_string(v, &n);
    if (max_chars && utf8_count(s, n) > max_chars)
        return bad(r, key, "too long (max %zu characters)", max_chars);
    *out = s;
    return 0;
}

/* The record's id: present, a canonical UUID, not seen before in this list. */
static int field_id(const struct rec *r, struct hmap *seen, const char **out)
{
    size_t n;

    if (field_string(r, "id", 1, 0, 0, out) < 0)
        return -1;
    jv_string(jv_object_get(r->obj, "id"), &n);
    if (!uuid_canonical(*out, n))
        return bad(r, "id", "invalid UUID");
    if (id_set_add(seen, *out, r->index) < 0)
        return bad(r, "id", "duplicate id");
    return 0;
}

/* A timestamp (§3.5 syntax, years 1-9999), or with optional: missing / null = TS_NULL. */
static int field_ts(const struct rec *r, const char *key, int optional, int64_t *out)
{
    const char *s;

    *out = TS_NULL;
    if (field_string(r, key, !optional, optional, 0, &s) < 0)
        return -1;
    if (!s)
        return 0;
    if (ts_parse(s, out) < 0 || strncmp(s, "0000", 4) == 0)
        return bad(r, key, "invalid timestamp");
    return 0;
}

/* An object field as compact JSON text; missing = "{}" unless required. */
static int field_object(const struct rec *r, const char *key, int required, const char **out)
{
    const struct jv *v = jv_object_get(r->obj, key);
    struct buf b = BUF_INIT;

    *out = "{}";
    if (!v)
        return required ? bad(r, key, "missing") : 0;
    if (jv_type(v) != JV_OBJECT)
        return bad(r, key, "expected an object");
    jv_write_compact(&b, v);
    *out = arena_strndup(r->a, b.data, b.len);
    buf_release(&b);
    return 0;
}

/* An array of strings (each a canonical UUID when uuids), as compact JSON text; missing =
 * "[]". *arr gets the array (NULL when missing). */
static int field_strings(const struct rec *r, const char *key, int uuids, const char **out,
                         const struct jv **arr)
{
    const struct jv *v = jv_object_get(r->obj, key);
    struct buf b = BUF_INIT;
    size_t i, n;

    *out = "[]";
    *arr = NULL;
    if (!v)
        return 0;
    if (jv_type(v) != JV_ARRAY)
        return bad(r, key, "expected an array of strings");
    for (i = 0; i < jv_array_size(v); i++) {
        const struct jv *e = jv_array_get(v, i);
        const char *s = jv_string(e, &n);

        if (!s)
            return bad(r, arena_printf(r->a, "%s[%zu]", key, i), "expected a string");
        if (uuids && !uuid_canonical(s, n))
            return bad(r, arena_printf(r->a, "%s[%zu]", key, i), "invalid UUID");
    }
    jv_write_compact(&b, v);
    *out = arena_strndup(r->a, b.data, b.len);
    buf_release(&b);
    *arr = v;
    return 0;
}

/* confidence: any finite number; missing = 1.0. */
static int field_confidence(const struct rec *r, double *out)
{
    const struct jv *v = jv_object_get(r->obj, "confidence");

    *out = 1.0;
    if (!v)
        return 0;
    if (jv_type(v) != JV_INT && jv_type(v) != JV_REAL)
        return bad(r, "confidence", "expected a number");
    *out = jv_double(v);
    if (!isfinite(*out))
        return bad(r, "confidence", "expected a finite number");
    return 0;
}

/* embedding: null, or exactly cfg->embedding_dimensions finite numbers, stored as float32. */
static int field_embedding(const struct rec *r, struct memory *m)
{
    const struct jv *v = jv_object_get(r->obj, "embedding");
    size_t dim = (size_t)cfg->embedding_dimensions, i;
    float *vec;

    m->embedding = NULL;
    m->embedding_dim = 0;
    if (!v || jv_type(v) == JV_NULL)
        return 0;
    if (jv_type(v) != JV_ARRAY)
        return bad(r, "embedding", "expected an array of numbers or null");
    if (jv_array_size(v) != dim)
        return bad(r, "embedding", "expected %zu numbers (STATEWAVE_EMBEDDING_DIMENSIONS), "
                   "got %zu", dim, jv_array_size(v));
    vec = arena_alloc(r->a, dim * sizeof(*vec));
    for (i = 0; i < dim; i++) {
        const struct jv *e = jv_array_get(v, i);
        double d = jv_double(e);

        if ((jv_type(e) != JV_INT && jv_type(e) != JV_REAL) || !isfinite(d))
            return bad(r, arena_printf(r->a, "embedding[%zu]", i), "expected a finite number");
        vec[i] = (float)d;
        if (!isfinite(vec[i]))
            return bad(r, arena_printf(r->a, "embedding[%zu]", i), "out of float32 range");
    }
    m->embedding = vec;
    m->embedding_dim = dim;
    return 0;
}

/* Everything §3.2 step 4 needs to know besides the records. */
struct plan {
    const char *subject;          /* target subject */
    int per_row_tenant;           /* 1: each row keeps its own tenant_id (§3.3, ENG) */
    const char *tenant;           /* the one tenant otherwise (NULL = none) */
    struct episode *eps;
    size_t neps;
    struct memory *mems;
    size_t nmems;
    const struct jv **sources;    /* each memory's source_episode_ids array (or NULL) */
    struct hmap ep_ids, mem_ids;
};

/* The tenant a row is written under: "" is the no-tenant space (NULL in the store). */
static const char *row_tenant(const struct plan *p, const char *own)
{
    const char *t = p->per_row_tenant ? own : p->tenant;

    return t && *t ? t : NULL;
}

static int parse_episode(const struct rec *r, struct plan *p, struct episode *ep)
{
    const char *id, *tenant;

    if (jv_type(r->obj) != JV_OBJECT)
        return bad(r, NULL, "expected an object");
    memset(ep, 0, sizeof(*ep));
    if (field_id(r, &p->ep_ids, &id) < 0 ||
        field_string(r, "tenant_id", 0, 1, BACKUP_ID_MAX_CHARS, &tenant) < 0 ||
        field_string(r, "session_id", 0, 1, BACKUP_ID_MAX_CHARS, &ep->session_id) < 0 ||
        field_string(r, "source", 1, 0, SOURCE_MAX_CHARS, &ep->source) < 0 ||
        field_string(r, "type", 1, 0, TYPE_MAX_CHARS, &ep->type) < 0 ||
        field_object(r, "payload", 1, &ep->payload) < 0 ||
        field_object(r, "metadata", 0, &ep->metadata) < 0 ||
        field_object(r, "provenance", 0, &ep->provenance) < 0 ||
        field_ts(r, "created_at", 0, &ep->created_at) < 0 ||
        field_ts(r, "last_compiled_at", 1, &ep->last_compiled_at) < 0 ||
        field_ts(r, "occurred_at", 1, &ep->occurred_at) < 0)
        return -1;
    memcpy(ep->id, id, UUID_STR_LEN);
    ep->subject_id = p->subject;
    ep->tenant_id = row_tenant(p, tenant);
    return 0;
}

static int parse_memory(const struct rec *r, struct plan *p, struct memory *m,
                        const struct jv **sources)
{
    const char *id, *tenant, *status;
    const struct jv *labels;

    if (jv_type(r->obj) != JV_OBJECT)
        return bad(r, NULL, "expected an object");
    memset(m, 0, sizeof(*m));
    if (field_id(r, &p->mem_ids, &id) < 0 ||
        field_string(r, "tenant_id", 0, 1, BACKUP_ID_MAX_CHARS, &tenant) < 0 ||
        field_string(r, "kind", 1, 0, KIND_MAX_CHARS, &m->kind) < 0 ||
        field_string(r, "content", 1, 0, 0, &m->content) < 0 ||
        field_string(r, "summary", 0, 0, 0, &m->summary) < 0 ||
        field_confidence(r, &m->confidence) < 0 ||
        field_ts(r, "valid_from", 0, &m->valid_from) < 0 ||
        field_ts(r, "valid_to", 1, &m->valid_to) < 0 ||
        field_strings(r, "source_episode_ids", 1, &m->source_episode_ids, sources) < 0 ||
        field_object(r, "metadata", 0, &m->metadata) < 0 ||
        field_string(r, "status", 0, 0, STATUS_MAX_CHARS, &status) < 0 ||
        field_strings(r, "sensitivity_labels", 0, &m->sensitivity_labels, &labels) < 0 ||
        field_embedding(r, m) < 0 ||
        field_ts(r, "created_at", 0, &m->created_at) < 0 ||
        field_ts(r, "updated_at", 0, &m->updated_at) < 0)
        return -1;
    memcpy(m->id, id, UUID_STR_LEN);
    m->subject_id = p->subject;
    m->tenant_id = row_tenant(p, tenant);
    m->summary = m->summary ? m->summary : "";
    m->status = status ? status : "active";
    return 0;
}

static int doc_bad(struct err *err, const char *path, const char *reason)
{
    return err_set(err, ERR_INVALID, "Invalid document: %s: %s", path, reason);
}

/* `episodes` / `memories`: an array, or missing (= empty). */
static int list_of(const struct jv *doc, const char *key, const struct jv **out,
                   struct err *err)
{
    *out = jv_object_get(doc, key);
    if (*out && jv_type(*out) != JV_ARRAY)
        return doc_bad(err, key, "expected an array");
    return 0;
}

/* counts.<key> must be the integer n (ENG, §2.6). A document without counts has nothing
 * to disagree with. */
static int check_count(const struct jv *counts, const char *key, size_t n, struct err *err)
{
    const struct jv *v = jv_object_get(counts, key);
    char path[32], reason[96];
    int64_t x;

    snprintf(path, sizeof(path), "counts.%s", key);
    if (!v)
        return doc_bad(err, path, "missing");
    if (jv_int64(v, &x) < 0)
        return doc_bad(err, path, "expected an integer");
    if (x < 0 || (uint64_t)x != n) {
        snprintf(reason, sizeof(reason), "%lld does not match the %zu %s of the document",
                 (long long)x, n, key);
        return doc_bad(err, path, reason);
    }
    return 0;
}

static int check_counts(const struct jv *doc, size_t neps, size_t nmems, struct err *err)
{
    const struct jv *counts = jv_object_get(doc, "counts");

    if (!counts)
        return 0;
    if (jv_type(counts) != JV_OBJECT)
        return doc_bad(err, "counts", "expected an object");
    if (check_count(counts, "episodes", neps, err) < 0 ||
        check_count(counts, "memories", nmems, err) < 0)
        return -1;
    return 0;
}

/* The top-level subject_id and tenant_id, where they are used (§3.3). */
static int check_header(const struct jv *doc, const struct backup_import_opts *o,
                        struct plan *p, struct err *err)
{
    const struct jv *subject = jv_object_get(doc, "subject_id");
    const struct jv *tenant = jv_object_get(doc, "tenant_id");
    size_t n;

    if (!(o->target_subject && *o->target_subject)) {
        if (!is_type(subject, JV_STRING))
            return doc_bad(err, "subject_id", "expected a string");
        p->subject = jv_string(subject, &n);
        if (utf8_count(p->subject, n) > BACKUP_ID_MAX_CHARS)
            return doc_bad(err, "subject_id", "too long (max 256 characters)");
    }
    if (o->target_tenant) {
        p->tenant = o->target_tenant;
        return 0;
    }
    if (!tenant || jv_type(tenant) == JV_NULL) {
        p->per_row_tenant = 1;
        return 0;
    }
    if (jv_type(tenant) != JV_STRING)
        return doc_bad(err, "tenant_id", "expected a string or null");
    p->tenant = jv_string(tenant, &n);
    if (utf8_count(p->tenant, n) > BACKUP_ID_MAX_CHARS)
        return doc_bad(err, "tenant_id", "too long (max 256 characters)");
    return 0;
}

/* Step 4: every record, in document order; the first bad field decides the message. */
static int check_structure(struct arena *a, const struct jv *doc,
                           const struct backup_import_opts *o, struct plan *p,
                           struct err *err)
{
    const struct jv *eps, *mems;
    struct rec r = { a, NULL, "episodes", 0, err };

    if (check_header(doc, o, p, err) < 0 || list_of(doc, "episodes", &eps, err) < 0 ||
        list_of(doc, "memories", &mems, err) < 0)
        return -1;
    p->neps = eps ? jv_array_size(eps) : 0;
    p->nmems = mems ? jv_array_size(mems) : 0;
    if (check_counts(doc, p->neps, p->nmems, err) < 0)
        return -1;
    p->eps = arena_calloc(a, p->neps + 1, sizeof(*p->eps));
    p->mems = arena_calloc(a, p->nmems + 1, sizeof(*p->mems));
    p->sources = arena_calloc(a, p->nmems + 1, sizeof(*p->sources));
    hmap_init(a, &p->ep_ids, p->neps);
    hmap_init(a, &p->mem_ids, p->nmems);
    for (r.index = 0; r.index < p->neps; r.index++) {
        r.obj = jv_array_get(eps, r.index);
        if (parse_episode(&r, p, &p->eps[r.index]) < 0)
            return -1;
    }
    r.list = "memories";
    for (r.index = 0; r.index < p->nmems; r.index++) {
        r.obj = jv_array_get(mems, r.index);
        if (parse_memory(&r, p, &p->mems[r.index], &p->sources[r.index]) < 0)
            return -1;
    }
    return 0;
}

/* ---- steps 1-3 ---- */

static int check_version(const struct jv *doc, struct err *err)
{
    const struct jv *v = jv_object_get(doc, "format_version");
    struct buf b = BUF_INIT;
    size_t n = 0;
    const char *s = string_of(v, &n);

    if (s && n == strlen(BACKUP_FORMAT_VERSION) && memcmp(s, BACKUP_FORMAT_VERSION, n) == 0)
        return 0;
    py_str(&b, v);
    err_set(err, ERR_INVALID, "Unsupported format version: %s (expected 1.0)", b.data);
    buf_release(&b);
    return -1;
}

static int check_checksum(const struct jv *doc, struct err *err)
{
    const struct jv *given = jv_object_get(doc, "checksum");
    char hex[BACKUP_CHECKSUM_HEX];
    size_t n = 0;
    const char *s = string_of(given, &n);

    if (backup_checksum_of(jv_object_get(doc, "episodes"), jv_object_get(doc, "memories"),
                           hex) < 0)
        return err_set(err, ERR_INTERNAL, "checksum failed");
    if (s && n == BACKUP_CHECKSUM_HEX - 1 && memcmp(s, hex, n) == 0)
        return 0;
    return err_set(err, ERR_INVALID,
                   "Checksum mismatch \xe2\x80\x94 export file may be corrupted or tampered with");
}

/* Step 3: target_subject_id if non-empty, else a truthy document.subject_id. */
static int check_target(const struct jv *doc, const struct backup_import_opts *o,
                        struct plan *p, struct err *err)
{
    if (o->target_subject && *o->target_subject) {
        p->subject = o->target_subject;
        return 0;
    }
    if (py_truthy(jv_object_get(doc, "subject_id")))
        return 0;   /* its type is checked with the structure (step 4) */
    return err_set(err, ERR_INVALID, "No subject_id specified and none found in export document");
}

/* ---- step 6 and the write ---- */

static int conflict(int64_t neps, int64_t nmems, struct err *err)
{
    if (nmems > 0)
        return err_set(err, ERR_INVALID, "ID conflict: %lld episode(s) and %lld memory(ies) "
                       "already exist. Use preserve_ids=false to generate new IDs, or delete "
                       "existing data first.", (long long)neps, (long long)nmems);
    return err_set(err, ERR_INVALID, "ID conflict: %lld episode(s) already exist. Use "
                   "preserve_ids=false to generate new IDs, or delete existing data first.",
                   (long long)neps);
}

static const char **id_list(struct arena *a, const struct plan *p, int episodes)
{
    size_t i, n = episodes ? p->neps : p->nmems;
    const char **ids = arena_alloc(a, (n + 1) * sizeof(*ids));

    for (i = 0; i < n; i++)
        ids[i] = episodes ? p->eps[i].id : p->mems[i].id;
    return ids;
}

/* How many of the document's ids exist already: conflict() when any does. */
static int check_ids_free(struct arena *a, store *st, const struct plan *p, struct err *err)
{
    int64_t neps = 0, nmems = 0;

    if (p->neps && store_episode_ids_taken(st, id_list(a, p, 1), p->neps, &neps, err) < 0)
        return -1;
    if (p->nmems && store_memory_ids_taken(st, id_list(a, p, 0), p->nmems, &nmems, err) < 0)
        return -1;
    if (neps || nmems)
        return conflict(neps, nmems, err);
    return 0;
}

/* preserve_ids=false (§3.4): fresh UUIDs everywhere; each memory's source_episode_ids goes
 * through the old->new episode map, order kept, unknown ids unchanged. */
static void assign_new_ids(struct arena *a, struct plan *p)
{
    struct buf b = BUF_INIT;
    size_t i, j;

    for (i = 0; i < p->neps; i++)
        uuid_v4(p->eps[i].id);   /* ep_ids keeps pointing at the old ids in the document */
    for (i = 0; i < p->nmems; i++) {
        const struct jv *src = p->sources[i];

        uuid_v4(p->mems[i].id);
        if (!src)
            continue;
        buf_reset(&b);
        buf_putc(&b, '[');
        for (j = 0; j < jv_array_size(src); j++) {
            const char *old = jv_string(jv_array_get(src, j), NULL);
            long k = id_set_find(&p->ep_ids, old);

            buf_printf(&b, "%s\"%s\"", j ? "," : "", k >= 0 ? p->eps[k].id : old);
        }
        buf_putc(&b, ']');
        p->mems[i].source_episode_ids = arena_strndup(a, b.data, b.len);
    }
    buf_release(&b);
}

/* Forget the health cache of every (tenant, subject) the rows land in (backup-snapshots.md
 * §3.7: per-subject caches of the target are invalidated), so the next health computation
 * compares with "no cached state" rather than with data the import changed. */
static int invalidate_health(store *st, const struct episode *eps, size_t neps,
                             const struct memory *mems, size_t nmems, struct err *err)
{
    const char *done_tenant = NULL, *done_subject = NULL;
    size_t i;

    for (i = 0; i < neps + nmems; i++) {
        const char *t = i < neps ? eps[i].tenant_id : mems[i - neps].tenant_id;
        const char *sub = i < neps ? eps[i].subject_id : mems[i - neps].subject_id;

        if (done_subject && strcmp(sub, done_subject) == 0 &&
            ((!t && !done_tenant) || (t && done_tenant && strcmp(t, done_tenant) == 0)))
            continue;
        if (store_health_cache_delete(st, &(struct store_scope){ .tenant = t, .subject = sub },
                                      err) < 0)
            return -1;
        done_tenant = t;
        done_subject = sub;
    }
    return 0;
}

/* One transaction: the step 6 check, then every episode, then every memory, then the health
 * caches they invalidate. A unique violation (a concurrent import of the same ids) is reported
 * like step 6. */
static int write_all(struct arena *a, store *st, const struct plan *p, int preserve_ids,
                     struct err *err)
{
    int64_t neps = 0, nmems = 0;

    if (store_tx_begin(st, err) < 0)
        return -1;
    if ((preserve_ids && check_ids_free(a, st, p, err) < 0) ||
        (p->neps && store_episode_insert_many(st, p->eps, p->neps, err) < 0) ||
        (p->nmems && store_memory_insert_many(st, p->mems, p->nmems, err) < 0) ||
        invalidate_health(st, p->eps, p->neps, p->mems, p->nmems, err) < 0 ||
        store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        if (err->kind != ERR_CONFLICT)
            return -1;
        err_release(err);
        err_init(err);
        if (p->neps && store_episode_ids_taken(st, id_list(a, p, 1), p->neps, &neps, err) < 0)
            return -1;
        if (p->nmems && store_memory_ids_taken(st, id_list(a, p, 0), p->nmems, &nmems,
                                               err) < 0)
            return -1;
        return conflict(neps, nmems, err);
    }
    return 0;
}

int backup_import(struct arena *a, store *st, const struct jv *doc,
                  const struct backup_import_opts *o, struct backup_import_result *res,
                  struct err *err)
{
    struct plan p;

    memset(&p, 0, sizeof(p));
    memset(res, 0, sizeof(*res));
    if (jv_type(doc) != JV_OBJECT)
        return err_set(err, ERR_INVALID, "Invalid document: expected a JSON object");
    if (check_version(doc, err) < 0 || check_checksum(doc, err) < 0 ||
        check_target(doc, o, &p, err) < 0 || check_structure(a, doc, o, &p, err) < 0 ||
        subject_check_writable(p.subject, err) < 0)
        return -1;
    if (!o->preserve_ids)
        assign_new_ids(a, &p);
    if (write_all(a, st, &p, o->preserve_ids, err) < 0)
        return -1;
    res->subject_id = arena_strdup(a, p.subject);
    res->tenant_id = p.per_row_tenant ? NULL : p.tenant ? arena_strdup(a, p.tenant) : NULL;
    res->episodes_imported = (int64_t)p.neps;
    res->memories_imported = (int64_t)p.nmems;
    res->ids_preserved = o->preserve_ids != 0;
    return 0;
}
