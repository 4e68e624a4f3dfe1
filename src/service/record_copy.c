/* record_copy.c - copy one subject's records into another (see record_copy.h). */
#include "service/record_copy.h"

#include <string.h>

#include "util/hmap.h"
#include "util/ts.h"
#include "util/uuid.h"

/* A copy in progress: the plan, the source scope, the old → new episode id map, the read
 * position and the counts. */
struct copier {
    const struct record_copy_plan *p;
    store *st;
    struct store_scope src;
    struct arena *a; /* the id map's strings */
    struct hmap ids; /* source episode id → copy's id (val.ptr) */
    struct store_cursor cur;
    char after_id[UUID_STR_LEN];
    struct row_counts n;
};

/* The JSON object text json with every key of stamp set, and id under key (when key is not
 * NULL), in arena a. A stored value that is not an object becomes one. */
static const char *stamped(struct arena *a, const char *json, const struct jv *stamp,
                           const char *key, const char *id)
{
    struct jv *obj = json ? jv_parse(a, json, strlen(json), NULL, NULL) : NULL;
    size_t i, len;

    if (!stamp && !key)
        return json;
    if (!obj || jv_type(obj) != JV_OBJECT)
        obj = jv_object(a);
    if (key)
        jv_object_set(a, obj, key, jv_str(a, id));
    for (i = 0; stamp && i < jv_object_size(stamp); i++) {
        const char *k = jv_object_key(stamp, i, &len);

        jv_object_setn(a, obj, k, len, jv_object_value(stamp, i));
    }
    return jv_compact_text(a, obj);
}

/* Move the cursor past the page's last row. */
static void advance(struct copier *c, int64_t created, const char *id)
{
    c->cur.after_created = created;
    memcpy(c->after_id, id, UUID_STR_LEN);
    c->after_id[UUID_STR_LEN - 1] = '\0';
    c->cur.after_id = c->after_id;
}

/* The copy of ep (strings in page arena pa), its new id remembered in the map. */
static void copy_episode(struct copier *c, struct arena *pa, const struct episode *ep,
                         struct episode *out)
{
    const struct record_copy_plan *p = c->p;
    struct hmap_entry *e;

    *out = *ep;
    uuid_v4(out->id);
    out->subject_id = p->dst_subject;
    out->tenant_id = p->dst_tenant;
    out->session_id = p->keep_sessions ? ep->session_id : NULL;
    out->idempotency_key = NULL;
    out->metadata = stamped(pa, ep->metadata, p->episode_metadata, p->episode_id_key, ep->id);
    out->provenance = stamped(pa, ep->provenance, p->episode_provenance, p->episode_id_key, ep->id);
    e = hmap_put(&c->ids, arena_strdup(c->a, ep->id), strlen(ep->id), NULL);
    e->val.ptr = arena_strdup(c->a, out->id);
}

/* Copy one page of episodes; *more = a full page was read. */
static int episode_page(struct copier *c, struct arena *pa, int *more, struct err *err)
{
    const struct record_copy_plan *p = c->p;
    struct episode_rows rows;
    struct episode *copies;
    size_t i, n = 0;

    if (store_export_episodes(c->st, pa, &c->src, &c->cur, &rows, err) < 0)
        return -1;
    *more = rows.n == c->cur.limit;
    if (rows.n == 0)
        return 0;
    copies = arena_calloc(pa, rows.n, sizeof(*copies));
    for (i = 0; i < rows.n; i++)
        if (!p->keep_episode || p->keep_episode(&rows.items[i], p->ctx))
            copy_episode(c, pa, &rows.items[i], &copies[n++]);
    advance(c, rows.items[rows.n - 1].created_at, rows.items[rows.n - 1].id);
    c->n.episodes += (int64_t)n;
    return n ? store_episode_insert_many(c->st, copies, n, err) : 0;
}

/* The source_episode_ids JSON array text ids remapped through the copied episodes: a copied
 * id becomes its copy's, another canonical UUID stays, anything else is dropped. */
static const char *remapped(struct copier *c, struct arena *pa, const char *ids)
{
    const struct jv *in = ids ? jv_parse(pa, ids, strlen(ids), NULL, NULL) : NULL;
    struct jv *out = jv_array(pa);
    struct hmap_entry *e;
    const char *id;
    size_t i;

    for (i = 0; in && jv_type(in) == JV_ARRAY && i < jv_array_size(in); i++) {
        id = jv_string(jv_array_get(in, i), NULL);
        if (!id)
            continue;
        e = hmap_get(&c->ids, id, strlen(id));
        if (e)
            jv_array_append(pa, out, jv_str(pa, e->val.ptr));
        else if (uuid_valid(id))
            jv_array_append(pa, out, jv_str(pa, id));
    }
    return jv_compact_text(pa, out);
}

static void copy_memory(struct copier *c, struct arena *pa, const struct memory *m,
                        struct memory *out)
{
    const struct record_copy_plan *p = c->p;

    *out = *m;
    uuid_v4(out->id);
    out->subject_id = p->dst_subject;
    out->tenant_id = p->dst_tenant;
    if (p->fill_empty_summary && (!m->summary || !*m->summary))
        out->summary = m->content;
    out->source_episode_ids = remapped(c, pa, m->source_episode_ids);
    out->metadata = stamped(pa, m->metadata, p->memory_metadata, p->memory_id_key, m->id);
}

/* Copy one page of memories; *more = a full page was read. */
static int memory_page(struct copier *c, struct arena *pa, int *more, struct err *err)
{
    const struct record_copy_plan *p = c->p;
    struct memory_rows rows;
    struct memory *copies;
    size_t i, n = 0;

    if (store_export_memories(c->st, pa, &c->src, &c->cur, &rows, err) < 0)
        return -1;
    *more = rows.n == c->cur.limit;
    if (rows.n == 0)
        return 0;
    copies = arena_calloc(pa, rows.n, sizeof(*copies));
    for (i = 0; i < rows.n; i++)
        if (!p->keep_memory || p->keep_memory(&rows.items[i], p->ctx))
            copy_memory(c, pa, &rows.items[i], &copies[n++]);
    advance(c, rows.items[rows.n - 1].created_at, rows.items[rows.n - 1].id);
    c->n.memories += (int64_t)n;
    return n ? store_memory_insert_many(c->st, copies, n, err) : 0;
}

/* Run page over the whole source from the start, one page arena at a time. */
static int copy_all(struct copier *c,
                    int (*page)(struct copier *c, struct arena *pa, int *more, struct err *err),
                    struct err *err)
{
    struct arena *pa;
    int more = 1, rc = 0;

    c->cur = (struct store_cursor){ .after_created = TS_NULL, .limit = RECORD_COPY_PAGE };
    while (rc == 0 && more) {
        pa = arena_new();
        rc = page(c, pa, &more, err);
        arena_free(pa);
    }
    return rc;
}

int record_copy_run(struct arena *a, store *st, const struct record_copy_plan *p,
                    struct row_counts *out, struct err *err)
{
    struct copier c = { .p = p, .st = st, .a = a };
    int rc = 0;

    memset(out, 0, sizeof(*out));
    c.src = (struct store_scope){ .tenant = p->src_tenant,
                                  .subject = p->src_subject,
                                  .all_tenants = p->src_all_tenants };
    hmap_init(a, &c.ids, 64);
    if (p->episodes)
        rc = copy_all(&c, episode_page, err);
    if (rc == 0 && p->memories)
        rc = copy_all(&c, memory_page, err);
    if (rc == 0)
        *out = c.n;
    return rc;
}
