/* memory_payload.c - the "statewave-memory-payload" format's shared rules (scope and
 * strategy names, Python-style messages, the subject-id rule, derive() and resolve(), the
 * serialised size) and the export (spec/api.md §6.3-§6.4, backup-snapshots.md §6). Checking
 * an imported payload is in memory_payload_plan.c, writing it in memory_payload_import.c. */
#include "service/memory_payload-internal.h"

#include <math.h>
#include <string.h>

#include "service/episodes.h"
#include "util/jv.h"
#include "util/pyrepr.h"
#include "util/ts.h"
#include "util/uuid.h"

#define EXPORT_PAGE 1000      /* rows per store read */
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

int mp_name_index(const char *const *names, size_t n, const char *name)
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
    int i = mp_name_index(scope_names, sizeof(scope_names) / sizeof(scope_names[0]), name);

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
    int i = mp_name_index(strategy_names, sizeof(strategy_names) / sizeof(strategy_names[0]),
                          name);

    if (i < 0)
        return -1;
    *out = (enum payload_strategy)i;
    return 0;
}

/* Python truthiness: None, False, 0, 0.0, "", [] and {} are false; a missing key too. */
int mp_py_falsy(const struct jv *v)
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
    struct row_counts c;

    if (store_export_count(st, &(struct store_scope){ .subject = subject, .all_tenants = 1 },
                           &c, err) < 0)
        return -1;
    *eps = c.episodes;
    *mems = c.memories;
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
    pyrepr_str(&r, id, strlen(id));
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

struct jv *mp_ts_jv(struct arena *a, int64_t us)
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
    jv_object_set(a, o, "created_at", mp_ts_jv(a, ep->created_at));
    jv_object_set(a, o, "last_compiled_at", mp_ts_jv(a, ep->last_compiled_at));
    if (ep->occurred_at != TS_NULL)   /* Engram: only when set, like the subject export */
        jv_object_set(a, o, "occurred_at", mp_ts_jv(a, ep->occurred_at));
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
    jv_object_set(a, o, "valid_from", mp_ts_jv(a, m->valid_from));
    jv_object_set(a, o, "valid_to", mp_ts_jv(a, m->valid_to));
    jv_object_set(a, o, "source_episode_ids", stored(a, m->source_episode_ids, "[]"));
    jv_object_set(a, o, "status", jv_str(a, m->status));
    jv_object_set(a, o, "metadata", stored(a, m->metadata, "{}"));
    jv_object_set(a, o, "created_at", mp_ts_jv(a, m->created_at));
    jv_object_set(a, o, "updated_at", mp_ts_jv(a, m->updated_at));
    return o;
}

/* Append every episode of subject (tenant filter as in the request), by (created_at, id). */
static int export_episodes(struct arena *a, store *st, const char *subject, const char *tenant,
                           struct jv *out, struct err *err)
{
    const struct store_scope sc = { .tenant = tenant, .subject = subject,
                                    .all_tenants = tenant == NULL };
    struct store_cursor cur = { .limit = EXPORT_PAGE };
    struct episode_rows page;
    size_t n, i;

    do {
        if (store_export_episodes(st, a, &sc, &cur, &page, err) < 0)
            return -1;
        n = page.n;
        for (i = 0; i < n; i++)
            jv_array_append(a, out, episode_record(a, &page.items[i]));
        if (n) {
            cur.after_created = page.items[n - 1].created_at;
            cur.after_id = page.items[n - 1].id;
        }
    } while (n == EXPORT_PAGE);
    return 0;
}

static int export_memories(struct arena *a, store *st, const char *subject, const char *tenant,
                           struct jv *out, struct err *err)
{
    const struct store_scope sc = { .tenant = tenant, .subject = subject,
                                    .all_tenants = tenant == NULL };
    struct store_cursor cur = { .limit = EXPORT_PAGE };
    struct memory_rows page;
    size_t n, i;

    do {
        if (store_export_memories(st, a, &sc, &cur, &page, err) < 0)
            return -1;
        n = page.n;
        for (i = 0; i < n; i++)
            jv_array_append(a, out, memory_record(a, &page.items[i]));
        if (n) {
            cur.after_created = page.items[n - 1].created_at;
            cur.after_id = page.items[n - 1].id;
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
    jv_object_set(a, o, "exported_at", mp_ts_jv(a, ts_now()));
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
    jv_object_set(a, doc, "exported_at", mp_ts_jv(a, ts_now()));
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
