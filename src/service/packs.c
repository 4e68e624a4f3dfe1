/* packs.c - the bundled starter packs: reading the embedded bundle, listing the manifests,
 * turning a pack's records into new rows and importing them (spec/api.md §7.7). */
#include "service/packs.h"

#include <string.h>

#include "service/episodes.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/jv.h"
#include "util/log.h"
#include "util/pyrepr.h"
#include "util/ts.h"
#include "util/uuid.h"

/* The bundle (packs_data.S): one JSON line per pack. */
extern const char packs_bundle_data[];
extern const uint64_t packs_bundle_size;

/* ---- reading the bundle ---- */

/* A manifest member that must be a string when present (absent or null: NULL). */
static int manifest_str(struct pack_info *p, const struct jv *m, const char *key,
                        const char **out, struct arena *a)
{
    const struct jv *v = jv_object_get(m, key);

    *out = NULL;
    if (!v || jv_type(v) == JV_NULL)
        return 0;
    *out = jv_string(v, NULL);
    if (*out)
        return 0;
    p->error = arena_printf(a, "Starter pack '%s' has a malformed manifest: '%s' must be a "
                               "string.", p->pack_id, key);
    return -1;
}

static int manifest_count(struct pack_info *p, const struct jv *m, const char *key,
                          int64_t *out, struct arena *a)
{
    const struct jv *v = jv_object_get(m, key);

    *out = 0;
    if (!v || jv_type(v) == JV_NULL || (jv_type(v) == JV_INT && jv_int64(v, out) == 0 &&
                                        *out >= 0))
        return 0;
    p->error = arena_printf(a, "Starter pack '%s' has a malformed manifest: '%s' must be a "
                               "count.", p->pack_id, key);
    return -1;
}

static int manifest_format(struct arena *a, struct pack_info *p, const struct jv *m)
{
    const struct jv *f = jv_object_get(m, "format");
    const char *s = f ? jv_string(f, NULL) : NULL;
    struct buf r = BUF_INIT;

    if (s && strcmp(s, PACKS_FORMAT) == 0)
        return 0;
    pyrepr_value(&r, f);
    p->error = arena_printf(a, "Starter pack '%s' has unexpected format %s; expected '%s'.",
                            p->pack_id, r.data, PACKS_FORMAT);
    buf_release(&r);
    return -1;
}

/* Check the manifest m of p and copy its fields; p->error says what is wrong. */
static void read_manifest(struct arena *a, struct pack_info *p, const struct jv *m)
{
    const struct jv *tags;

    if (jv_type(m) != JV_OBJECT) {
        p->error = arena_printf(a, "Starter pack '%s' has no manifest object.", p->pack_id);
        return;
    }
    if (manifest_format(a, p, m) < 0 ||
        manifest_str(p, m, "display_name", &p->display_name, a) < 0 ||
        manifest_str(p, m, "description", &p->description, a) < 0 ||
        manifest_str(p, m, "version", &p->version, a) < 0 ||
        manifest_str(p, m, "created_at", &p->created_at, a) < 0 ||
        manifest_str(p, m, "subject_id_suggestion", &p->subject_id_suggestion, a) < 0 ||
        manifest_count(p, m, "episode_count", &p->episode_count, a) < 0 ||
        manifest_count(p, m, "memory_count", &p->memory_count, a) < 0 ||
        manifest_count(p, m, "source_count", &p->source_count, a) < 0)
        return;
    tags = jv_object_get(m, "tags");
    p->tags = tags && jv_type(tags) == JV_ARRAY ? tags : jv_array(a);
}

/* records[key] as an array (absent: empty); otherwise the pack is broken. */
static const struct jv *records(struct arena *a, struct pack *out, const struct jv *line,
                                const char *key)
{
    const struct jv *v = jv_object_get(line, key);

    if (!v)
        return jv_array(a);
    if (jv_type(v) == JV_ARRAY)
        return v;
    out->info.error = arena_printf(a, "Starter pack '%s': %s must be a list.",
                                   out->info.pack_id, key);
    return NULL;
}

void packs_parse(struct arena *a, const char *line, size_t len, struct pack *out)
{
    struct jv *v = jv_parse(a, line, len, NULL, NULL);
    const struct jv *id = v ? jv_object_get(v, "pack_id") : NULL;
    const struct jv *kind = v ? jv_object_get(v, "kind") : NULL;

    memset(out, 0, sizeof(*out));
    out->info.pack_id = id && jv_string(id, NULL) ? jv_string(id, NULL) : "(unknown)";
    out->info.kind = kind && jv_string(kind, NULL) ? jv_string(kind, NULL) : "demo_agent";
    if (!v || jv_type(v) != JV_OBJECT || !id || !jv_string(id, NULL)) {
        out->info.error = "Starter pack entry is not readable.";
        return;
    }
    read_manifest(a, &out->info, jv_object_get(v, "manifest"));
    if (out->info.error)
        return;
    out->episodes = records(a, out, v, "episodes");
    if (out->episodes)
        out->memories = records(a, out, v, "memories");
}

/* Call fn for each line of the bundle until it returns nonzero. */
static void each_line(int (*fn)(void *ctx, const char *line, size_t len), void *ctx)
{
    const char *p = packs_bundle_data, *end = packs_bundle_data + packs_bundle_size;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

        if (len && fn(ctx, p, len))
            return;
        p += len + 1;
    }
}

struct list_ctx {
    struct arena *a;
    struct pack_info *items;
    size_t n, cap;
};

static int list_one(void *ctx, const char *line, size_t len)
{
    struct list_ctx *c = ctx;
    struct pack p;

    if (c->n == c->cap) {
        struct pack_info *grown = arena_alloc(c->a, (c->cap * 2 + 8) * sizeof(*grown));

        if (c->n)
            memcpy(grown, c->items, c->n * sizeof(*grown));
        c->items = grown;
        c->cap = c->cap * 2 + 8;
    }
    packs_parse(c->a, line, len, &p);
    c->items[c->n++] = p.info;
    return 0;
}

size_t packs_list(struct arena *a, struct pack_info **out)
{
    struct list_ctx c = { a, NULL, 0, 0 };

    each_line(list_one, &c);
    *out = c.items ? c.items : arena_alloc(a, sizeof(**out));
    return c.n;
}

struct find_ctx {
    struct arena *a;
    const char *id;
    struct pack *found;
};

/* Cheap test first: only a line holding "pack_id":"<id>" is parsed. */
static int find_one(void *ctx, const char *line, size_t len)
{
    struct find_ctx *c = ctx;
    char *needle = arena_printf(c->a, "{\"pack_id\":\"%s\",", c->id);
    size_t n = strlen(needle);

    if (len < n || memcmp(line, needle, n) != 0)
        return 0;
    c->found = arena_alloc(c->a, sizeof(*c->found));
    packs_parse(c->a, line, len, c->found);
    return 1;
}

int packs_find(struct arena *a, const char *pack_id, struct pack **out, struct err *err)
{
    struct find_ctx c = { a, pack_id, NULL };

    *out = NULL;
    if (strchr(pack_id, '"') || strchr(pack_id, '\\'))
        return 0;
    each_line(find_one, &c);
    if (c.found && c.found->info.error) {
        log_write(LOG_ERROR, "starter pack '%s' is broken: %s", pack_id, c.found->info.error);
        return err_set(err, ERR_INTERNAL, "Starter pack '%s' is damaged.", pack_id);
    }
    *out = c.found;
    return 0;
}

/* ---- records into rows ---- */

/* What every imported row is stamped with. */
struct stamps {
    struct jv *meta;                    /* merged into every metadata object */
    struct jv *prov;                    /* merged into every episode's provenance */
};

struct planner {
    struct arena *a;
    const struct pack *pack;
    int64_t now;
    struct episode *eps;
    const char **old_ids;               /* eps[i]'s id in the pack */
    size_t neps;
    struct memory *mems;
    size_t nmems;
};

static int damaged(struct planner *p, const char *list, size_t i, const char *why,
                   struct err *err)
{
    log_write(LOG_ERROR, "starter pack '%s': %s[%zu]: %s", p->pack->info.pack_id, list, i, why);
    return err_set(err, ERR_INTERNAL, "Starter pack '%s' is damaged.", p->pack->info.pack_id);
}

/* rec[key] as a string; absent or null → def; NULL for another type. */
static const char *rec_str(const struct jv *rec, const char *key, const char *def)
{
    const struct jv *v = jv_object_get(rec, key);

    if (!v || jv_type(v) == JV_NULL)
        return def;
    return jv_string(v, NULL);
}

static int64_t rec_ts(const struct jv *rec, const char *key, int64_t def)
{
    const char *s = rec_str(rec, key, NULL);
    int64_t us;

    return s && ts_parse(s, &us) == 0 ? us : def;
}

/* rec[key] (an object, or absent) with every member of add set into it, as compact JSON. */
static const char *merged(struct arena *a, const struct jv *rec, const char *key,
                          const struct jv *add)
{
    const struct jv *v = jv_object_get(rec, key);
    struct jv *o = jv_object(a);
    struct buf b = BUF_INIT;
    const char *text;
    size_t i;

    for (i = 0; v && jv_type(v) == JV_OBJECT && i < jv_object_size(v); i++)
        jv_object_set(a, o, jv_object_key(v, i, NULL), jv_object_value(v, i));
    for (i = 0; add && i < jv_object_size(add); i++)
        jv_object_set(a, o, jv_object_key(add, i, NULL), jv_object_value(add, i));
    jv_write_compact(&b, o);
    text = arena_strndup(a, b.data, b.len);
    buf_release(&b);
    return text;
}

static int plan_episode(struct planner *p, const struct jv *rec, size_t i,
                        const struct stamps *st, struct err *err)
{
    struct episode *ep = &p->eps[p->neps];
    const struct jv *payload = jv_object_get(rec, "payload");
    struct buf b = BUF_INIT;

    if (jv_type(rec) != JV_OBJECT || (payload && jv_type(payload) != JV_OBJECT))
        return damaged(p, "episodes", i, "not an object with an object payload", err);
    memset(ep, 0, sizeof(*ep));
    uuid_v4(ep->id);
    ep->source = rec_str(rec, "source", "memory-pack");
    ep->type = rec_str(rec, "type", "imported");
    if (!ep->source || !ep->type)
        return damaged(p, "episodes", i, "source and type must be strings", err);
    jv_write_compact(&b, payload ? payload : jv_object(p->a));
    ep->payload = arena_strndup(p->a, b.data, b.len);
    buf_release(&b);
    ep->metadata = merged(p->a, rec, "metadata", st->meta);
    ep->provenance = merged(p->a, rec, "provenance", st->prov);
    ep->created_at = rec_ts(rec, "created_at", p->now);
    ep->last_compiled_at = TS_NULL;
    ep->occurred_at = TS_NULL;
    p->old_ids[p->neps++] = rec_str(rec, "id", NULL);
    return 0;
}

/* source_episode_ids through the pack's old → new episode ids; ids that name no episode of
 * the pack are kept when they are UUIDs, else dropped. */
static const char *sources(struct planner *p, const struct jv *ids)
{
    struct buf b = BUF_INIT;
    const char *text;
    size_t i, k, n = 0;

    buf_putc(&b, '[');
    for (i = 0; ids && jv_type(ids) == JV_ARRAY && i < jv_array_size(ids); i++) {
        const char *old = jv_string(jv_array_get(ids, i), NULL), *id = NULL;

        for (k = 0; old && k < p->neps && !id; k++)
            if (p->old_ids[k] && strcmp(p->old_ids[k], old) == 0)
                id = p->eps[k].id;
        if (!id && old && uuid_valid(old))
            id = old;
        if (id)
            buf_printf(&b, "%s\"%s\"", n++ ? "," : "", id);
    }
    buf_putc(&b, ']');
    text = arena_strndup(p->a, b.data, b.len);
    buf_release(&b);
    return text;
}

static int plan_memory(struct planner *p, const struct jv *rec, size_t i,
                       const struct stamps *st, struct err *err)
{
    struct memory *m = &p->mems[p->nmems];
    const struct jv *conf = jv_object_get(rec, "confidence");

    if (jv_type(rec) != JV_OBJECT)
        return damaged(p, "memories", i, "not an object", err);
    memset(m, 0, sizeof(*m));
    uuid_v4(m->id);
    m->kind = rec_str(rec, "kind", "fact");
    m->content = rec_str(rec, "content", "");
    m->summary = rec_str(rec, "summary", m->content);
    m->status = rec_str(rec, "status", "active");
    if (!m->kind || !m->content || !m->summary || !m->status ||
        (conf && jv_type(conf) != JV_INT && jv_type(conf) != JV_REAL))
        return damaged(p, "memories", i, "a field has the wrong type", err);
    m->confidence = conf ? jv_double(conf) : 0.9;
    m->valid_from = rec_ts(rec, "valid_from", p->now);
    m->valid_to = rec_ts(rec, "valid_to", TS_NULL);
    m->source_episode_ids = sources(p, jv_object_get(rec, "source_episode_ids"));
    m->metadata = merged(p->a, rec, "metadata", st->meta);
    m->sensitivity_labels = "[]";
    m->created_at = rec_ts(rec, "created_at", p->now);
    m->updated_at = rec_ts(rec, "updated_at", p->now);
    p->nmems++;
    return 0;
}

/* The pack's records as new rows (subject and tenant unset) into a one-group plan. */
static int plan_pack(struct arena *a, const struct pack *pack, const struct stamps *st,
                     int64_t now, struct payload_plan *plan, struct err *err)
{
    size_t ne = jv_array_size(pack->episodes), nm = jv_array_size(pack->memories), i;
    struct planner p = { a, pack, now, NULL, NULL, 0, NULL, 0 };
    struct payload_group *g;

    p.eps = arena_calloc(a, ne + 1, sizeof(*p.eps));
    p.old_ids = arena_calloc(a, ne + 1, sizeof(*p.old_ids));
    p.mems = arena_calloc(a, nm + 1, sizeof(*p.mems));
    for (i = 0; i < ne; i++)
        if (plan_episode(&p, jv_array_get(pack->episodes, i), i, st, err) < 0)
            return -1;
    for (i = 0; i < nm; i++)
        if (plan_memory(&p, jv_array_get(pack->memories, i), i, st, err) < 0)
            return -1;
    memset(plan, 0, sizeof(*plan));
    g = arena_calloc(a, 1, sizeof(*g));
    g->original = pack->info.pack_id;
    g->episodes = p.eps;
    g->nepisodes = p.neps;
    g->memories = p.mems;
    g->nmemories = p.nmems;
    plan->groups = g;
    plan->ngroups = 1;
    plan->imported_at = now;
    plan->export_id = jv_null();
    return 0;
}

/* Write the plan's one group into target for tenant (inside the caller's transaction). */
static int write_plan(store *st, const struct payload_plan *plan, const char *target,
                      const char *tenant, struct err *err)
{
    struct payload_group *g = plan->groups;
    size_t i;

    if (subject_check_writable(target, err) < 0)
        return -1;
    if (g->nepisodes > cfg->import_max_episodes)
        return err_set(err, ERR_TOO_LARGE, "Too many episodes: %zu > limit %zu.", g->nepisodes,
                       cfg->import_max_episodes);
    if (g->nmemories > cfg->import_max_memories)
        return err_set(err, ERR_TOO_LARGE, "Too many memories: %zu > limit %zu.", g->nmemories,
                       cfg->import_max_memories);
    for (i = 0; i < g->nepisodes; i++) {
        g->episodes[i].subject_id = target;
        g->episodes[i].tenant_id = tenant;
    }
    for (i = 0; i < g->nmemories; i++) {
        g->memories[i].subject_id = target;
        g->memories[i].tenant_id = tenant;
    }
    if ((g->nepisodes && store_episode_insert_many(st, g->episodes, g->nepisodes, err) < 0) ||
        (g->nmemories && store_memory_insert_many(st, g->memories, g->nmemories, err) < 0))
        return -1;
    return 0;
}

/* The import stamps of §7.7: metadata gets starter_pack_id, starter_pack_version,
 * imported_at (and display_name); provenance gets starter_pack_id. */
static void import_stamps(struct arena *a, const struct pack *pack, const char *display_name,
                          int64_t now, struct stamps *st)
{
    char at[TS_STR_LEN];

    ts_format_offset(now, at, sizeof(at));
    st->meta = jv_object(a);
    jv_object_set(a, st->meta, "starter_pack_id", jv_str(a, pack->info.pack_id));
    jv_object_set(a, st->meta, "starter_pack_version",
                  pack->info.version ? jv_str(a, pack->info.version) : jv_null());
    jv_object_set(a, st->meta, "imported_at", jv_str(a, at));
    if (display_name)
        jv_object_set(a, st->meta, "display_name", jv_str(a, display_name));
    st->prov = jv_object(a);
    jv_object_set(a, st->prov, "starter_pack_id", jv_str(a, pack->info.pack_id));
}

int packs_import(struct arena *a, store *st, const struct pack_import_in *in,
                 struct pack_import_result *res, struct err *err)
{
    const char *explicit_id = in->target_subject_id && *in->target_subject_id
                                  ? in->target_subject_id : NULL;
    struct payload_plan plan;
    struct stamps stamps;
    struct pack *pack;

    memset(res, 0, sizeof(*res));
    res->imported_at = ts_now();
    if (packs_find(a, in->pack_id, &pack, err) < 0)
        return -1;
    if (!pack)
        return err_set(err, ERR_NOT_FOUND, "Starter pack '%s' not found.", in->pack_id);
    if (explicit_id && memory_payload_check_id(explicit_id, "target_subject_id",
                                               in->allow_reserved_target, err) < 0)
        return -1;
    import_stamps(a, pack, in->display_name, res->imported_at, &stamps);
    if (plan_pack(a, pack, &stamps, res->imported_at, &plan, err) < 0 ||
        store_tx_begin(st, err) < 0)
        return -1;
    if (memory_payload_resolve(a, st, explicit_id,
                               pack->info.subject_id_suggestion ? pack->info.subject_id_suggestion
                                                                : pack->info.pack_id,
                               in->strategy, &res->target_subject_id, err) < 0 ||
        write_plan(st, &plan, res->target_subject_id, in->tenant, err) < 0 ||
        store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        return -1;
    }
    res->episodes = plan.groups->nepisodes;
    res->memories = plan.groups->nmemories;
    memory_payload_embed_new(a, st, &plan);
    log_write(LOG_INFO, "starter pack '%s' imported into '%s': %zu episode(s), %zu memory(ies)",
              in->pack_id, res->target_subject_id, res->episodes, res->memories);
    return 0;
}

/* ---- the support docs subject ---- */

static struct pack_owner support_owner(void)
{
    struct pack_owner o = { cfg->support_subject_id, cfg->support_pack_id,
                            PACKS_LEGACY_SUPPORT };

    return o;
}

/* A string member of the newest owned row's metadata, or NULL. */
static const char *stamp(const struct jv *meta, const char *key)
{
    const struct jv *v = meta ? jv_object_get(meta, key) : NULL;

    return v ? jv_string(v, NULL) : NULL;
}

/* The state, given the bundled pack (read under the caller's transaction, if any). */
static int read_state(struct arena *a, store *st, const struct pack *pack,
                      struct support_state *out, struct err *err)
{
    struct pack_owner o = support_owner();
    const struct jv *meta;

    memset(out, 0, sizeof(*out));
    out->subject_id = o.subject;
    out->pack_id = o.pack_id;
    out->bundled_version = pack->info.version ? pack->info.version : "";
    if (store_pack_rows(st, a, &o, &out->rows, err) < 0)
        return -1;
    meta = out->rows.newest_metadata
               ? jv_parse(a, out->rows.newest_metadata, strlen(out->rows.newest_metadata),
                          NULL, NULL)
               : NULL;
    out->installed_version = stamp(meta, "starter_pack_version");
    out->last_imported_at = stamp(meta, "imported_at");
    out->last_reason = stamp(meta, "reseed_reason");
    return 0;
}

static int support_pack(struct arena *a, struct pack **out, struct err *err)
{
    if (packs_find(a, cfg->support_pack_id, out, err) < 0)
        return -1;
    if (!*out)
        return err_set(err, ERR_NOT_FOUND, "Starter pack '%s' not found.", cfg->support_pack_id);
    return 0;
}

int packs_support_state(struct arena *a, store *st, struct support_state *out,
                        struct err *err)
{
    struct pack *pack;

    if (support_pack(a, &pack, err) < 0)
        return -1;
    return read_state(a, st, pack, out, err);
}

/* The reseed's stamps: the import's, plus reseed_reason in metadata and support_reseed in
 * provenance. */
static void reseed_stamps(struct arena *a, const struct pack *pack, const char *reason,
                          int64_t now, struct stamps *st)
{
    import_stamps(a, pack, NULL, now, st);
    jv_object_set(a, st->meta, "reseed_reason", reason ? jv_str(a, reason) : jv_null());
    jv_object_set(a, st->prov, "support_reseed", jv_bool(a, 1));
}

static const char *outcome_of(const struct support_reseed *rs)
{
    if (rs->force)
        return "force_reseeded";
    return rs->before.installed_version ? "auto_updated" : "seeded";
}

/* Under the subject's lock: read the state, then replace the owned rows when needed. */
static int reseed_locked(struct arena *a, store *st, const struct pack *pack,
                         const struct payload_plan *plan, struct support_reseed *rs,
                         struct err *err)
{
    struct store_scope sc = { NULL, cfg->support_subject_id, 0 };
    struct pack_owner o = support_owner();
    struct row_counts deleted;
    const char *installed;

    if (store_subject_lock(st, &sc, err) < 0 || read_state(a, st, pack, &rs->before, err) < 0)
        return -1;
    installed = rs->before.installed_version;
    if (!rs->force && installed && strcmp(installed, rs->before.bundled_version) == 0) {
        rs->outcome = "already_current";
        return 0;
    }
    if (store_pack_rows_delete(st, &o, &deleted, err) < 0 ||
        store_health_cache_delete(st, &sc, err) < 0 ||
        write_plan(st, plan, o.subject, NULL, err) < 0)
        return -1;
    rs->updated = 1;
    rs->outcome = outcome_of(rs);
    rs->episodes = plan->groups->nepisodes;
    rs->memories = plan->groups->nmemories;
    return 0;
}

int packs_support_reseed(struct arena *a, store *st, struct support_reseed *rs,
                         struct err *err)
{
    int64_t now = ts_now();
    struct payload_plan plan;
    struct stamps stamps;
    struct pack *pack;

    rs->updated = 0;
    rs->episodes = rs->memories = 0;
    rs->reseeded_at = TS_NULL;
    if (support_pack(a, &pack, err) < 0)
        return -1;
    reseed_stamps(a, pack, rs->reason, now, &stamps);
    if (plan_pack(a, pack, &stamps, now, &plan, err) < 0 || store_tx_begin(st, err) < 0)
        return -1;
    if (reseed_locked(a, st, pack, &plan, rs, err) < 0 || store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        rs->updated = 0;
        return -1;
    }
    if (!rs->updated)
        return 0;
    rs->reseeded_at = now;
    memory_payload_embed_new(a, st, &plan);
    log_write(LOG_INFO, "support subject '%s' reseeded from '%s' %s (%s)", cfg->support_subject_id,
              pack->info.pack_id, pack->info.version ? pack->info.version : "", rs->outcome);
    return 0;
}
