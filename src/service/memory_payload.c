/* memory_payload.c - export subjects into a "statewave-memory-payload" document and import one
 * back, all-or-nothing (spec/api.md §6.3-§6.5, backup-snapshots.md §6). */
#include "service/memory_payload.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/embed.h"
#include "service/episodes.h"
#include "util/buf.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/utf8.h"
#include "util/uuid.h"

#define EXPORT_PAGE 1000      /* rows per store read */
#define EMBED_CHUNK 128       /* memories per provider call after an import */
#define RESERVED_TARGET "demo_web_"

static const char *const scope_names[] = {
    [PAYLOAD_SCOPE_EPISODES] = "episodes",
    [PAYLOAD_SCOPE_MEMORIES] = "memories",
    [PAYLOAD_SCOPE_EPISODES_AND_MEMORIES] = "episodes_and_memories",
    [PAYLOAD_SCOPE_ALL] = "episodes_memories_sources",
};

static const char *const strategy_names[] = {
    [PAYLOAD_CREATE_COPY] = "create_copy",
    [PAYLOAD_MERGE] = "merge",
    [PAYLOAD_CANCEL] = "cancel",
};

/* The top-level keys an imported payload may have (§6.5 step 3). */
static const char *const allowed_keys[] = {
    "format", "format_version", "export_id", "exported_at", "export_scope",
    "subjects", "episodes", "memories", "sources", "metadata",
};

static int name_index(const char *const *names, size_t n, const char *name)
{
    size_t i;

    for (i = 0; name && i < n; i++) {
        if (strcmp(names[i], name) == 0)
            return (int)i;
    }
    return -1;
}

const char *memory_payload_scope_name(enum payload_scope scope)
{
    return scope_names[scope];
}

int memory_payload_scope_parse(const char *name, enum payload_scope *out)
{
    int i = name_index(scope_names, sizeof(scope_names) / sizeof(scope_names[0]), name);

    if (i < 0)
        return -1;
    *out = (enum payload_scope)i;
    return 0;
}

const char *memory_payload_strategy_name(enum payload_strategy strategy)
{
    return strategy_names[strategy];
}

int memory_payload_strategy_parse(const char *name, enum payload_strategy *out)
{
    int i = name_index(strategy_names, sizeof(strategy_names) / sizeof(strategy_names[0]), name);

    if (i < 0)
        return -1;
    *out = (enum payload_strategy)i;
    return 0;
}

/* ---- Python's repr() and str() of JSON values, for the reference's messages ---- */

static void py_repr(struct buf *b, const struct jv *v);

/* repr(str): single quotes unless the text holds ' and no ", backslash escapes for the quote,
 * '\' and control characters (C0, DEL and C1 as \xNN); other characters raw. */
static void py_repr_str(struct buf *b, const char *s, size_t n)
{
    char q = memchr(s, '\'', n) && !memchr(s, '"', n) ? '"' : '\'';
    const unsigned char *p = (const unsigned char *)s;
    size_t i;

    buf_putc(b, q);
    for (i = 0; i < n; i++) {
        if (p[i] == (unsigned char)q || p[i] == '\\') {
            buf_putc(b, '\\');
            buf_putc(b, (char)p[i]);
        } else if (p[i] == '\n') {
            buf_puts(b, "\\n");
        } else if (p[i] == '\r') {
            buf_puts(b, "\\r");
        } else if (p[i] == '\t') {
            buf_puts(b, "\\t");
        } else if (p[i] < 0x20 || p[i] == 0x7f) {
            buf_printf(b, "\\x%02x", p[i]);
        } else if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) {
            buf_printf(b, "\\x%02x", p[++i]);
        } else {
            buf_putc(b, (char)p[i]);
        }
    }
    buf_putc(b, q);
}

static void py_repr_number(struct buf *b, const struct jv *v)
{
    char num[40];
    double d;

    if (jv_is_int(v)) {
        const char *t = jv_number_text(v);

        buf_puts(b, strcmp(t, "-0") == 0 ? "0" : t);
        return;
    }
    d = jv_double(v);
    if (isinf(d)) {
        buf_puts(b, d < 0 ? "-inf" : "inf");
        return;
    }
    fmt_double(d, num);
    buf_puts(b, num);
}

static void py_repr_container(struct buf *b, const struct jv *v)
{
    int obj = jv_type(v) == JV_OBJECT;
    size_t i, n = obj ? jv_object_size(v) : jv_array_size(v), klen;

    buf_putc(b, obj ? '{' : '[');
    for (i = 0; i < n; i++) {
        if (i)
            buf_puts(b, ", ");
        if (obj) {
            const char *k = jv_object_key(v, i, &klen);

            py_repr_str(b, k, klen);
            buf_puts(b, ": ");
            py_repr(b, jv_object_value(v, i));
        } else {
            py_repr(b, jv_array_get(v, i));
        }
    }
    buf_putc(b, obj ? '}' : ']');
}

static void py_repr(struct buf *b, const struct jv *v)
{
    size_t n;
    const char *s;

    switch (v ? jv_type(v) : JV_NULL) {
    case JV_NULL:
        buf_puts(b, "None");
        break;
    case JV_TRUE:
        buf_puts(b, "True");
        break;
    case JV_FALSE:
        buf_puts(b, "False");
        break;
    case JV_INT:
    case JV_REAL:
        py_repr_number(b, v);
        break;
    case JV_STRING:
        s = jv_string(v, &n);
        py_repr_str(b, s, n);
        break;
    case JV_ARRAY:
    case JV_OBJECT:
        py_repr_container(b, v);
        break;
    case JV_RAW:
        s = jv_raw_text(v, &n);
        buf_append(b, s, n);
        break;
    }
}

/* str(v): a string as it is, anything else as repr(). */
static void py_str(struct buf *b, const struct jv *v)
{
    size_t n;
    const char *s = v ? jv_string(v, &n) : NULL;

    if (s)
        buf_append(b, s, n);
    else
        py_repr(b, v);
}

/* Python truthiness: None, False, 0, 0.0, "", [] and {} are false; a missing key too. */
static int py_falsy(const struct jv *v)
{
    int64_t i;

    switch (v ? jv_type(v) : JV_NULL) {
    case JV_NULL:
    case JV_FALSE:
        return 1;
    case JV_INT:
        return jv_int64(v, &i) == 0 && i == 0;
    case JV_REAL:
        return jv_double(v) == 0.0;
    case JV_STRING:
        return jv_string(v, NULL)[0] == '\0';
    case JV_ARRAY:
        return jv_array_size(v) == 0;
    case JV_OBJECT:
        return jv_object_size(v) == 0;
    default:
        return 0;
    }
}

/* ---- subject ids: the rule, derive(), resolve() ---- */

static int id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-' || c == ':';
}

int memory_payload_check_id(const char *id, const char *field, int allow_reserved,
                            struct err *err)
{
    size_t n = id ? strlen(id) : 0, i;

    for (i = 0; i < n && id_char(id[i]); i++)
        ;
    if (n == 0 || n > 128 || i < n)
        return err_set(err, ERR_INVALID, "'%s' must be 1-128 characters of letters, digits, "
                       "underscore, dot, dash, or colon.", field);
    if (!allow_reserved && strncmp(id, RESERVED_TARGET, strlen(RESERVED_TARGET)) == 0)
        return err_set(err, ERR_INVALID, "'%s' uses a reserved prefix (%s).", field,
                       RESERVED_TARGET);
    return 0;
}

int memory_payload_derive(struct arena *a, const char *base, const char **out,
                          struct err *err)
{
    char hex[9];
    const char *cand;

    if (!base || !*base)
        base = "imported-subject";
    if (subject_check_writable(base, err) < 0)
        return -1;
    if (strncmp(base, RESERVED_TARGET, strlen(RESERVED_TARGET)) == 0)
        base = arena_printf(a, "imported-%s", base + strlen(RESERVED_TARGET));
    random_hex(hex, 8);
    cand = arena_printf(a, "%s-%s", base, hex);
    if (memory_payload_check_id(cand, "subject_id", 0, err) < 0)
        return -1;
    *out = cand;
    return 0;
}

static int populated(store *st, const char *subject, int64_t *eps, int64_t *mems,
                     struct err *err)
{
    if (store_export_count(st, subject, 1, NULL, eps, mems, err) < 0)
        return -1;
    return *eps > 0 || *mems > 0;
}

static int resolve_explicit(struct arena *a, store *st, const char *id,
                            enum payload_strategy strategy, const char **out, struct err *err)
{
    struct buf r = BUF_INIT;
    int64_t eps, mems;
    int full = populated(st, id, &eps, &mems, err);

    if (full < 0)
        return -1;
    if (!full || strategy == PAYLOAD_MERGE) {
        *out = id;
        return 0;
    }
    if (strategy == PAYLOAD_CREATE_COPY)
        return memory_payload_derive(a, id, out, err);
    py_repr_str(&r, id, strlen(id));
    err_set(err, ERR_CONFLICT, "Subject %s already has data (%lld episodes, %lld memories). "
            "Pick a different target id, choose 'merge', or delete the existing subject "
            "first.", r.data, (long long)eps, (long long)mems);
    buf_release(&r);
    return -1;
}

int memory_payload_resolve(struct arena *a, store *st, const char *explicit_id,
                           const char *suggested, enum payload_strategy strategy,
                           const char **out, struct err *err)
{
    int64_t eps, mems;
    int full;

    if (explicit_id && *explicit_id)
        return resolve_explicit(a, st, explicit_id, strategy, out, err);
    if (strncmp(suggested, RESERVED_TARGET, strlen(RESERVED_TARGET)) == 0)
        return memory_payload_derive(a, suggested, out, err);
    full = populated(st, suggested, &eps, &mems, err);
    if (full < 0)
        return -1;
    if (full)
        return memory_payload_derive(a, suggested, out, err);
    if (memory_payload_check_id(suggested, "subject_id", 0, err) < 0)
        return -1;
    *out = suggested;
    return 0;
}

/* ---- the serialised size (json.dumps, ensure_ascii) ---- */

struct counter {
    size_t total;
    size_t limit;
    struct buf scratch;       /* one number at a time */
};

/* Bytes of the ASCII-escaped JSON string: '"' and '\' and the five short escapes take 2,
 * other controls and everything from U+007F take \uXXXX (6), above U+FFFF a pair (12). */
static size_t string_size(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, total = 2;

    while (i < n) {
        unsigned char c = p[i];

        if (c >= 0x80) {
            size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

            total += len == 4 ? 12 : 6;
            i += len;
            continue;
        }
        if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' ||
            c == '\f')
            total += 2;
        else if (c < 0x20 || c == 0x7f)
            total += 6;
        else
            total += 1;
        i++;
    }
    return total;
}

static void count_value(struct counter *c, const struct jv *v)
{
    size_t i, n, klen;
    const char *s;

    if (c->total > c->limit)
        return;
    switch (jv_type(v)) {
    case JV_NULL:
    case JV_TRUE:
        c->total += 4;
        return;
    case JV_FALSE:
        c->total += 5;
        return;
    case JV_STRING:
        s = jv_string(v, &n);
        c->total += string_size(s, n);
        return;
    case JV_ARRAY:
        n = jv_array_size(v);
        c->total += 2 + (n ? 2 * (n - 1) : 0);
        for (i = 0; i < n; i++)
            count_value(c, jv_array_get(v, i));
        return;
    case JV_OBJECT:
        n = jv_object_size(v);
        c->total += 2 + (n ? 2 * (n - 1) : 0);
        for (i = 0; i < n && c->total <= c->limit; i++) {
            s = jv_object_key(v, i, &klen);
            c->total += string_size(s, klen) + 2;
            count_value(c, jv_object_value(v, i));
        }
        return;
    default:   /* numbers and raw text: as the canonical writer prints them */
        buf_reset(&c->scratch);
        jv_write_canonical(&c->scratch, v);
        c->total += c->scratch.len;
        return;
    }
}

size_t memory_payload_size(const struct jv *v, size_t limit)
{
    struct counter c = { 0, limit, BUF_INIT };

    count_value(&c, v);
    buf_release(&c.scratch);
    return c.total > limit ? limit + 1 : c.total;
}

/* ---- export ---- */

static struct jv *ts_jv(struct arena *a, int64_t us)
{
    char s[TS_STR_LEN];

    if (us == TS_NULL)
        return jv_null();
    ts_format_offset(us, s, sizeof(s));
    return jv_str(a, s);
}

/* Stored compact JSON text, spliced as it is (numbers stay as stored). */
static struct jv *stored(struct arena *a, const char *text, const char *fallback)
{
    return jv_raw(a, text && *text ? text : fallback);
}

static struct jv *episode_record(struct arena *a, const struct episode *ep)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "original_episode_id", jv_str(a, ep->id));
    jv_object_set(a, o, "subject_id", jv_str(a, ep->subject_id));
    jv_object_set(a, o, "source", jv_str(a, ep->source));
    jv_object_set(a, o, "type", jv_str(a, ep->type));
    jv_object_set(a, o, "payload", stored(a, ep->payload, "{}"));
    jv_object_set(a, o, "metadata", stored(a, ep->metadata, "{}"));
    jv_object_set(a, o, "provenance", stored(a, ep->provenance, "{}"));
    jv_object_set(a, o, "created_at", ts_jv(a, ep->created_at));
    jv_object_set(a, o, "last_compiled_at", ts_jv(a, ep->last_compiled_at));
    return o;
}

static struct jv *memory_record(struct arena *a, const struct memory *m)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "original_memory_id", jv_str(a, m->id));
    jv_object_set(a, o, "subject_id", jv_str(a, m->subject_id));
    jv_object_set(a, o, "kind", jv_str(a, m->kind));
    jv_object_set(a, o, "content", jv_str(a, m->content));
    jv_object_set(a, o, "summary", jv_str(a, m->summary));
    jv_object_set(a, o, "confidence", jv_real(a, m->confidence));
    jv_object_set(a, o, "valid_from", ts_jv(a, m->valid_from));
    jv_object_set(a, o, "valid_to", ts_jv(a, m->valid_to));
    jv_object_set(a, o, "source_episode_ids", stored(a, m->source_episode_ids, "[]"));
    jv_object_set(a, o, "status", jv_str(a, m->status));
    jv_object_set(a, o, "metadata", stored(a, m->metadata, "{}"));
    jv_object_set(a, o, "created_at", ts_jv(a, m->created_at));
    jv_object_set(a, o, "updated_at", ts_jv(a, m->updated_at));
    return o;
}

/* Append every episode of subject (tenant filter as in the request), by (created_at, id). */
static int export_episodes(struct arena *a, store *st, const char *subject, const char *tenant,
                           struct jv *out, struct err *err)
{
    const char *after_id = NULL;
    int64_t after = 0;
    struct episode *rows;
    size_t n, i;

    do {
        if (store_export_episodes(st, a, subject, tenant == NULL, tenant, after, after_id,
                                  EXPORT_PAGE, &rows, &n, err) < 0)
            return -1;
        for (i = 0; i < n; i++)
            jv_array_append(a, out, episode_record(a, &rows[i]));
        if (n) {
            after = rows[n - 1].created_at;
            after_id = rows[n - 1].id;
        }
    } while (n == EXPORT_PAGE);
    return 0;
}

static int export_memories(struct arena *a, store *st, const char *subject, const char *tenant,
                           struct jv *out, struct err *err)
{
    const char *after_id = NULL;
    int64_t after = 0;
    struct memory *rows;
    size_t n, i;

    do {
        if (store_export_memories(st, a, subject, tenant == NULL, tenant, after, after_id,
                                  EXPORT_PAGE, &rows, &n, err) < 0)
            return -1;
        for (i = 0; i < n; i++)
            jv_array_append(a, out, memory_record(a, &rows[i]));
        if (n) {
            after = rows[n - 1].created_at;
            after_id = rows[n - 1].id;
        }
    } while (n == EXPORT_PAGE);
    return 0;
}

static struct jv *subject_entry(struct arena *a, const char *subject, const char *tenant)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "original_subject_id", jv_str(a, subject));
    jv_object_set(a, o, "tenant_id", tenant ? jv_str(a, tenant) : jv_null());
    jv_object_set(a, o, "display_name", jv_null());
    jv_object_set(a, o, "tags", jv_array(a));
    jv_object_set(a, o, "metadata", jv_object(a));
    jv_object_set(a, o, "exported_at", ts_jv(a, ts_now()));
    return o;
}

static int export_check(const struct payload_export_in *in, const struct payload_limits *lim,
                        struct err *err)
{
    size_t i;

    if (in->nsubjects == 0)
        return err_set(err, ERR_INVALID, "subject_ids is required.");
    if (in->nsubjects > lim->max_subjects)
        return err_set(err, ERR_TOO_LARGE, "Too many subjects in one export: %zu > limit %zu.",
                       in->nsubjects, lim->max_subjects);
    for (i = 0; i < in->nsubjects; i++) {
        /* Reserved ids (`_snapshot/…`) contain '/', so the rule refuses them here. */
        if (memory_payload_check_id(in->subject_ids[i], "subject_ids", 1, err) < 0)
            return -1;
    }
    return 0;
}

static struct jv *export_metadata(struct arena *a, const struct jv *subjects,
                                  const struct jv *eps, const struct jv *mems)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "statewave_version", jv_str(a, "0.1"));
    jv_object_set(a, o, "subject_count", jv_int(a, (int64_t)jv_array_size(subjects)));
    jv_object_set(a, o, "episode_count", jv_int(a, (int64_t)jv_array_size(eps)));
    jv_object_set(a, o, "memory_count", jv_int(a, (int64_t)jv_array_size(mems)));
    jv_object_set(a, o, "source_count", jv_int(a, 0));
    return o;
}

/* Read every subject inside one read transaction. */
static int export_read(struct arena *a, store *st, const struct payload_export_in *in,
                       struct jv *subjects, struct jv *eps, struct jv *mems, struct err *err)
{
    int with_eps = in->scope != PAYLOAD_SCOPE_MEMORIES;
    int with_mems = in->scope != PAYLOAD_SCOPE_EPISODES;
    size_t i;

    if (store_tx_begin_read(st, err) < 0)
        return -1;
    for (i = 0; i < in->nsubjects; i++) {
        const char *sid = in->subject_ids[i];

        jv_array_append(a, subjects, subject_entry(a, sid, in->tenant));
        if ((with_eps && export_episodes(a, st, sid, in->tenant, eps, err) < 0) ||
            (with_mems && export_memories(a, st, sid, in->tenant, mems, err) < 0)) {
            store_tx_rollback(st);
            return -1;
        }
    }
    if (store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        return -1;
    }
    return 0;
}

struct jv *memory_payload_export(struct arena *a, store *st, const struct payload_export_in *in,
                                 const struct payload_limits *lim, struct err *err)
{
    struct jv *doc, *subjects, *eps, *mems;
    char uuid[UUID_STR_LEN], hex[33];
    size_t i, j;

    if (export_check(in, lim, err) < 0)
        return NULL;
    subjects = jv_array(a);
    eps = jv_array(a);
    mems = jv_array(a);
    doc = jv_object(a);
    /* export_id is uuid4().hex: the 32 hex digits of a random UUID. */
    uuid_v4(uuid);
    for (i = 0, j = 0; uuid[i]; i++) {
        if (uuid[i] != '-')
            hex[j++] = uuid[i];
    }
    hex[j] = '\0';
    jv_object_set(a, doc, "format", jv_str(a, PAYLOAD_FORMAT));
    jv_object_set(a, doc, "format_version", jv_int(a, PAYLOAD_FORMAT_VERSION));
    jv_object_set(a, doc, "export_id", jv_str(a, hex));
    jv_object_set(a, doc, "exported_at", ts_jv(a, ts_now()));
    jv_object_set(a, doc, "export_scope", jv_str(a, memory_payload_scope_name(in->scope)));
    if (export_read(a, st, in, subjects, eps, mems, err) < 0)
        return NULL;
    jv_object_set(a, doc, "subjects", subjects);
    jv_object_set(a, doc, "episodes", eps);
    jv_object_set(a, doc, "memories", mems);
    jv_object_set(a, doc, "sources", jv_array(a));
    jv_object_set(a, doc, "metadata", export_metadata(a, subjects, eps, mems));
    return doc;
}

/* ---- import: a small string → index map (open addressing, arena-backed, fixed size) ---- */

struct strmap {
    const char **keys;
    size_t *vals;
    size_t mask;
};

static void strmap_init(struct arena *a, struct strmap *m, size_t expect)
{
    size_t cap = 16;

    while (cap < 2 * expect + 16)
        cap *= 2;
    m->keys = arena_calloc(a, cap, sizeof(*m->keys));
    m->vals = arena_calloc(a, cap, sizeof(*m->vals));
    m->mask = cap - 1;
}

/* The slot of key: an empty one (keys[i] NULL) when key is absent. */
static size_t strmap_slot(const struct strmap *m, const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *p;
    size_t i;

    for (p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    for (i = (size_t)h & m->mask; m->keys[i] && strcmp(m->keys[i], key) != 0;
         i = (i + 1) & m->mask)
        ;
    return i;
}

/* The value of key, or SIZE_MAX. */
static size_t strmap_get(const struct strmap *m, const char *key)
{
    size_t i = strmap_slot(m, key);

    return m->keys[i] ? m->vals[i] : SIZE_MAX;
}

/* Set key (kept by pointer) to val; the map must have been sized for every key. */
static void strmap_put(struct strmap *m, const char *key, size_t val)
{
    size_t i = strmap_slot(m, key);

    m->keys[i] = key;
    m->vals[i] = val;
}

/* ---- import: checking the payload ---- */

static int check_format(const struct jv *payload, struct err *err)
{
    const struct jv *f = jv_object_get(payload, "format");
    const char *s = f ? jv_string(f, NULL) : NULL;
    struct buf r = BUF_INIT;

    if (s && strcmp(s, PAYLOAD_FORMAT) == 0)
        return 0;
    py_repr(&r, f);
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
    py_str(&s, v);
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

        if (name_index(allowed_keys, sizeof(allowed_keys) / sizeof(allowed_keys[0]), k) < 0)
            bad[nbad++] = k;
    }
    if (nbad == 0)
        return 0;
    qsort(bad, nbad, sizeof(*bad), cmp_str);
    buf_putc(&m, '[');
    for (i = 0; i < nbad; i++) {
        if (i)
            buf_puts(&m, ", ");
        py_repr_str(&m, bad[i], strlen(bad[i]));
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
    if (py_falsy(v))
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

    if (py_falsy(v)) {
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
    struct strmap groups;     /* subject id → group index */
    struct strmap old_ids;    /* "<group>\1<old episode id>" → index in eps */
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

    if (!py_falsy(v) && jv_type(v) != JV_OBJECT)
        return bad(err, at, key, "expected an object");
    n = py_falsy(v) ? 0 : jv_object_size(v);
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
    if (py_falsy(v))
        return 0;
    sid = jv_string(v, NULL);
    if (!sid)
        return bad(err, at, "subject_id", "expected a string");
    *gi = strmap_get(&p->groups, sid);
    if (*gi == SIZE_MAX) {
        *gi = p->ng++;
        p->g[*gi].original = sid;
        p->g_orig[*gi] = jv_str(p->a, sid);
        strmap_put(&p->groups, sid, *gi);
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
        fmt_double(jv_double(v), num);
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
    old = jv_object_get(rec, "id");
    if (py_falsy(old))
        old = jv_object_get(rec, "original_episode_id");
    if (!py_falsy(old) && id_text(p->a, old)) {
        /* A later episode with the same old id wins, as in a Python dict. */
        strmap_put(&p->old_ids, arena_printf(p->a, "%zu\1%s", gi, id_text(p->a, old)),
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

    if (!py_falsy(v) && jv_type(v) != JV_ARRAY)
        return bad(err, at, "source_episode_ids", "expected an array");
    buf_reset(&p->out);
    buf_putc(&p->out, '[');
    for (i = 0; !py_falsy(v) && i < jv_array_size(v); i++) {
        const char *t = id_text(p->a, jv_array_get(v, i));
        size_t idx = t ? strmap_get(&p->old_ids, arena_printf(p->a, "%zu\1%s", gi, t))
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
        if (py_falsy(v))
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
    p->imported_at = ts_jv(a, now);
    strmap_init(a, &p->groups, nrec);
    strmap_init(a, &p->old_ids, nrec);
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
    struct strmap listed;
    size_t i;

    strmap_init(p->a, &listed, plan->nsubjects);
    for (i = 0; i < plan->nsubjects; i++)
        strmap_put(&listed, plan->subjects[i], i);
    for (i = 0; i < p->ng; i++) {
        struct payload_group *g = &p->g[i];

        g->episodes = arena_alloc(p->a, (g->nepisodes + 1) * sizeof(*g->episodes));
        g->memories = arena_alloc(p->a, (g->nmemories + 1) * sizeof(*g->memories));
        g->nepisodes = g->nmemories = 0;
        g->listed = strmap_get(&listed, g->original) != SIZE_MAX;
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

/* ---- import: targets, the write, embeddings ---- */

static void map_set(struct payload_import_result *res, struct strmap *m, const char *from,
                    const char *to)
{
    size_t i = strmap_get(m, from);

    if (i == SIZE_MAX) {
        i = res->nmap++;
        res->map_from[i] = from;
        strmap_put(m, from, i);
    }
    res->map_to[i] = to;
}

static int check_group(const struct payload_group *g, const struct payload_limits *lim,
                       struct err *err)
{
    if (subject_check_writable(g->target, err) < 0)
        return -1;
    if (g->nepisodes > lim->max_episodes)
        return err_set(err, ERR_TOO_LARGE, "Too many episodes: %zu > limit %zu.", g->nepisodes,
                       lim->max_episodes);
    if (g->nmemories > lim->max_memories)
        return err_set(err, ERR_TOO_LARGE, "Too many memories: %zu > limit %zu.", g->nmemories,
                       lim->max_memories);
    return 0;
}

/* subject_id_map: resolve every listed subject, then derive a target for each unlisted
 * group, checking each group as the reference does before it writes it. */
static int map_targets(struct arena *a, store *st, enum payload_strategy strategy,
                       const struct payload_limits *lim, struct payload_import_result *res,
                       struct err *err)
{
    struct payload_plan *plan = &res->plan;
    size_t cap = plan->nsubjects + plan->ngroups + 1, i, j;
    struct strmap m;
    const char *to;

    res->map_from = arena_alloc(a, cap * sizeof(*res->map_from));
    res->map_to = arena_alloc(a, cap * sizeof(*res->map_to));
    strmap_init(a, &m, cap);
    for (i = 0; i < plan->nsubjects; i++) {
        const char *s = plan->subjects[i];

        if (memory_payload_resolve(a, st, strategy == PAYLOAD_CREATE_COPY ? NULL : s, s,
                                   strategy, &to, err) < 0)
            return -1;
        map_set(res, &m, s, to);
    }
    for (i = 0; i < plan->ngroups; i++) {
        struct payload_group *g = &plan->groups[i];

        j = strmap_get(&m, g->original);
        if (j == SIZE_MAX) {
            if (memory_payload_derive(a, g->original, &to, err) < 0)
                return -1;
            map_set(res, &m, g->original, to);
            j = strmap_get(&m, g->original);
        }
        g->target = res->map_to[j];
        if (check_group(g, lim, err) < 0)
            return -1;
    }
    return 0;
}

static int write_groups(store *st, const char *tenant, struct payload_import_result *res,
                        struct err *err)
{
    size_t i, k;

    for (i = 0; i < res->plan.ngroups; i++) {
        struct payload_group *g = &res->plan.groups[i];

        for (k = 0; k < g->nepisodes; k++) {
            g->episodes[k].subject_id = g->target;
            g->episodes[k].tenant_id = tenant;
        }
        for (k = 0; k < g->nmemories; k++) {
            g->memories[k].subject_id = g->target;
            g->memories[k].tenant_id = tenant;
        }
        if ((g->nepisodes && store_episode_insert_many(st, g->episodes, g->nepisodes, err) < 0) ||
            (g->nmemories && store_memory_insert_many(st, g->memories, g->nmemories, err) < 0))
            return -1;
        res->episodes += g->nepisodes;
        res->memories += g->nmemories;
    }
    return 0;
}

/* The new memories that came without a vector but have content, into *out (arena). */
static size_t missing_vectors(struct arena *a, const struct payload_plan *plan,
                              struct memory ***out)
{
    size_t i, k, n = 0, total = 0;

    for (i = 0; i < plan->ngroups; i++)
        total += plan->groups[i].nmemories;
    *out = arena_alloc(a, (total + 1) * sizeof(**out));
    for (i = 0; i < plan->ngroups; i++) {
        for (k = 0; k < plan->groups[i].nmemories; k++) {
            struct memory *m = &plan->groups[i].memories[k];

            if (!m->embedding && m->content[0])
                (*out)[n++] = m;
        }
    }
    return n;
}

/* Embed n memories' contents in one provider call and store the vectors in one transaction.
 * The vectors live in a scratch arena, so memory stays bounded by one chunk. */
static int embed_chunk(store *st, struct memory **which, size_t n, struct err *err)
{
    struct arena *scratch = arena_new();
    const char **texts = arena_alloc(scratch, n * sizeof(*texts));
    size_t i, dim = embed_dim();
    float *vecs;
    int ret = -1;

    for (i = 0; i < n; i++)
        texts[i] = which[i]->content;
    if (embed_texts(scratch, texts, n, &vecs, err) < 0 || store_tx_begin(st, err) < 0)
        goto out;
    for (i = 0; i < n; i++) {
        if (store_memory_set_embedding(st, which[i]->id, vecs + i * dim, dim, err) < 0)
            break;
    }
    if (i < n || store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        goto out;
    }
    ret = 0;
out:
    arena_free(scratch);
    return ret;
}

/* After the commit: embed the imported memories that came without a vector and have content
 * (behavior.md §7.3), EMBED_CHUNK at a time. Best effort: a failure is logged and the rest
 * keep embedding = null. */
static void embed_new(struct arena *a, store *st, const struct payload_plan *plan)
{
    struct err err = ERR_INIT;
    struct memory **which;
    size_t i, n;

    if (!embed_available())
        return;
    n = missing_vectors(a, plan, &which);
    for (i = 0; i < n; i += EMBED_CHUNK) {
        size_t len = n - i < EMBED_CHUNK ? n - i : EMBED_CHUNK;

        if (embed_chunk(st, which + i, len, &err) < 0) {
            log_write(LOG_WARN, "embedding %zu imported memories failed: %s", n - i, err.msg);
            break;
        }
    }
    err_release(&err);
}

int memory_payload_import(struct arena *a, store *st, const struct jv *payload,
                          const char *tenant, enum payload_strategy strategy,
                          const struct payload_limits *lim, struct payload_import_result *res,
                          struct err *err)
{
    memset(res, 0, sizeof(*res));
    if (memory_payload_plan(a, payload, lim, ts_now(), &res->plan, err) < 0)
        return -1;
    if (store_tx_begin(st, err) < 0)
        return -1;
    if (map_targets(a, st, strategy, lim, res, err) < 0 || write_groups(st, tenant, res, err) < 0 ||
        store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        res->episodes = res->memories = 0;
        return -1;
    }
    embed_new(a, st, &res->plan);
    log_write(LOG_INFO, "memory payload imported: %zu subject(s), %zu episode(s), %zu memory(ies)",
              res->nmap, res->episodes, res->memories);
    return 0;
}
