/* admin_subjects.c - the admin subject explorer and the admin deletes (spec/api.md §7.4,
 * §7.5): GET /admin/subjects[/{id}[/sla|/memories|/episodes|...]], DELETE
 * /admin/subjects/{id}, POST /admin/subjects/preview-delete and /bulk-delete. /admin is
 * cross-tenant: the tenant header is ignored, the tenant_id parameter filters exactly (an
 * empty one is no filter, as in the reference). */
#include "api/api.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/explorer.h"
#include "service/service.h"
#include "service/subjects.h"
#include "util/jv.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/uuid.h"

#define SAMPLE_MAX 20 /* pairs shown by a delete preview */
#define OLDER_THAN_DAYS_MAX 100000

/* subject_id in the path: 1..256 code points, as on /v1. */
static const struct v_str subject_rule = { .min = 1, .max = 256 };

/* ---- query parameters ---- */

/* A Literal[...] query parameter: absent → def, one of the n names → its index, else a 422
 * literal_error. */
static int query_literal(struct vctx *v, struct req *req, const char *name,
                         const char *const *names, size_t n, int def)
{
    const char *s = req_query(req, name);
    int i;

    if (!s)
        return def;
    i = v_literal(v, v_loc(v, "query", name), s, jv_str(v->a, s), names, n);
    return i < 0 ? def : i;
}

/* limit (1..max, default def) and offset (0..EXPLORER_OFFSET_MAX) into *limit / *offset. */
static void query_page(struct vctx *v, struct req *req, int64_t def, int64_t max, size_t *limit,
                       size_t *offset)
{
    int64_t l = def, o = 0;

    v_query_int(v, req, "limit", (struct v_int){ .def = def, .min = 1, .max = max }, &l);
    v_query_int(v, req, "offset", (struct v_int){ .def = 0, .min = 0, .max = EXPLORER_OFFSET_MAX },
                &o);
    *limit = (size_t)l;
    *offset = (size_t)o;
}

/* The path's subject (index 0), NULL after recording a problem. */
static const char *path_subject(struct vctx *v, struct req *req)
{
    return v_path_string(v, req, 0, "subject_id", subject_rule);
}

/* Path parameter index as a UUID (any case, lowered into out); else 400 `msg`. */
static int path_uuid_400(struct req *req, int index, char out[UUID_STR_LEN], const char *msg)
{
    const char *s = req->params[index];
    size_t i;

    if (!s || strlen(s) != UUID_STR_LEN - 1 || !uuid_valid(s))
        return err_set(&req->err, ERR_INVALID, "%s", msg);
    for (i = 0; i < UUID_STR_LEN - 1; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[UUID_STR_LEN - 1] = '\0';
    return 0;
}

/* ---- rendering ---- */

static struct jv *real_or_null(struct arena *a, double d)
{
    return isnan(d) ? jv_null() : jv_real(a, d);
}

static struct jv *page_json(struct arena *a, const char *key, struct jv *items, int64_t total,
                            size_t limit, size_t offset)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, key, items);
    jv_object_set(a, o, "total", jv_int(a, total));
    jv_object_set(a, o, "limit", jv_int(a, (int64_t)limit));
    jv_object_set(a, o, "offset", jv_int(a, (int64_t)offset));
    return o;
}

static struct jv *listed_json(struct arena *a, const struct explorer_subject *x)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "subject_id", jv_str(a, x->subject_id));
    jv_object_set(a, o, "tenant_id", render_str_or_null(a, x->tenant_id));
    jv_object_set(a, o, "episode_count", jv_int(a, x->episode_count));
    jv_object_set(a, o, "memory_count", jv_int(a, x->memory_count));
    jv_object_set(a, o, "session_count", jv_int(a, x->session_count));
    jv_object_set(a, o, "last_episode_at", render_ts_offset(a, x->last_episode_at));
    jv_object_set(a, o, "health_state", render_str_or_null(a, x->health_state));
    jv_object_set(a, o, "health_score", x->health_state ? jv_int(a, x->health_score) : jv_null());
    jv_object_set(a, o, "open_sessions", jv_int(a, x->open_sessions));
    return o;
}

/* A MemItem (§7.4). */
static struct jv *mem_item_json(struct arena *a, const struct memory *m)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "id", jv_str(a, m->id));
    jv_object_set(a, o, "kind", jv_str(a, m->kind));
    jv_object_set(a, o, "content", jv_str(a, m->content));
    jv_object_set(a, o, "summary", jv_str(a, m->summary ? m->summary : ""));
    jv_object_set(a, o, "confidence", jv_real(a, m->confidence));
    jv_object_set(a, o, "status", jv_str(a, m->status));
    jv_object_set(a, o, "source_episode_ids", render_stored_json(a, m->source_episode_ids, "[]"));
    jv_object_set(a, o, "valid_from", render_ts_offset(a, m->valid_from));
    jv_object_set(a, o, "valid_to", render_ts_offset(a, m->valid_to));
    jv_object_set(a, o, "created_at", render_ts_offset(a, m->created_at));
    return o;
}

static struct jv *mem_items_json(struct arena *a, const struct memory *m, size_t n)
{
    struct jv *arr = jv_array(a);
    size_t i;

    for (i = 0; i < n; i++)
        jv_array_append(a, arr, mem_item_json(a, &m[i]));
    return arr;
}

/* An episode's common members (EpItem and a timeline event, §7.4). */
static void episode_members(struct arena *a, struct jv *o, const struct episode *ep)
{
    jv_object_set(a, o, "id", jv_str(a, ep->id));
    jv_object_set(a, o, "source", jv_str(a, ep->source));
    jv_object_set(a, o, "type", jv_str(a, ep->type));
    jv_object_set(a, o, "payload", render_stored_json(a, ep->payload, "{}"));
    jv_object_set(a, o, "metadata", render_stored_json(a, ep->metadata, "{}"));
    jv_object_set(a, o, "provenance", render_stored_json(a, ep->provenance, "{}"));
    jv_object_set(a, o, "created_at", render_ts_offset(a, ep->created_at));
}

static struct jv *ep_item_json(struct arena *a, const struct episode *ep)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "id", jv_str(a, ep->id));
    jv_object_set(a, o, "session_id", render_str_or_null(a, ep->session_id));
    episode_members(a, o, ep);
    return o;
}

/* ---- GET /admin/subjects ---- */

static const char *const sort_names[] = { "subject_id", "last_activity", "episode_count",
                                          "memory_count" };
static const enum explorer_sort sorts[] = { EXPLORER_SORT_SUBJECT, EXPLORER_SORT_LAST_ACTIVITY,
                                            EXPLORER_SORT_EPISODES, EXPLORER_SORT_MEMORIES };
static const char *const order_names[] = { "asc", "desc" };

static void read_list_query(struct vctx *v, struct req *req, struct explorer_subject_query *q)
{
    q->tenant = req_query_filter(req, "tenant_id");
    q->all_tenants = !q->tenant;
    q->search = req_query_filter(req, "search");
    q->health_state = req_query_filter(req, "health_state");
    q->has_open = -1;
    if (req_query(req, "has_open_sessions"))
        v_query_bool(v, req, "has_open_sessions", &q->has_open);
    q->sort = sorts[query_literal(v, req, "sort_by", sort_names, 4, 1)];
    q->descending = query_literal(v, req, "sort_order", order_names, 2, 1);
    query_page(v, req, 50, EXPLORER_LIMIT_MAX, &q->limit, &q->offset);
}

int api_admin_subjects_list(struct req *req)
{
    struct arena *a = req->arena;
    struct explorer_subject_query q = { 0 };
    struct explorer_subject_rows rows;
    struct jv *list;
    struct vctx v;
    size_t i;
    store *st;

    v_init(&v, a);
    read_list_query(&v, req, &q);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || explorer_list(a, st, &q, ts_now(), &rows, &req->err) < 0)
        return -1;
    list = jv_array(a);
    for (i = 0; i < rows.n; i++)
        jv_array_append(a, list, listed_json(a, &rows.items[i]));
    return http_reply_json(req, 200, page_json(a, "subjects", list, rows.total, q.limit, q.offset));
}

/* ---- GET /admin/subjects/{id} and /sla ---- */

static struct jv *detail_json(struct arena *a, const char *subject, const struct explorer_detail *d)
{
    struct jv *o = jv_object(a), *sum = jv_object(a), *health = jv_object(a);

    jv_object_set(a, sum, "episode_count", jv_int(a, d->summary.episode_count));
    jv_object_set(a, sum, "memory_count", jv_int(a, d->summary.memory_count));
    jv_object_set(a, sum, "session_count", jv_int(a, d->session_count));
    jv_object_set(a, sum, "first_seen_at", render_ts_offset(a, d->summary.first_seen_at));
    jv_object_set(a, sum, "last_activity_at", render_ts_offset(a, d->summary.last_activity_at));
    jv_object_set(a, health, "score", jv_int(a, d->health.score));
    jv_object_set(a, health, "state", jv_str(a, d->health.state));
    jv_object_set(a, health, "factors",
                  support_factors_json(a, &d->health, SUBJECT_HEALTH_FACTORS_MAX));
    jv_object_set(a, o, "subject_id", jv_str(a, subject));
    jv_object_set(a, o, "tenant_id", render_str_or_null(a, d->tenant_id));
    jv_object_set(a, o, "summary", sum);
    jv_object_set(a, o, "health", health);
    jv_object_set(a, o, "sla", support_sla_json(a, NULL, &d->sla, 0));
    return o;
}

int api_admin_subjects_get(struct req *req)
{
    struct explorer_detail d;
    const char *subject;
    struct vctx v;
    store *st;

    v_init(&v, req->arena);
    subject = path_subject(&v, req);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || explorer_detail(req->arena, st, subject, req_query_filter(req, "tenant_id"),
                               ts_now(), &d, &req->err) < 0)
        return -1;
    return http_reply_json(req, 200, detail_json(req->arena, subject, &d));
}

/* GET /admin/subjects/{id}/sla: the §4.4 body without subject_id; the reference's zero body
 * when the computation fails. */
int api_admin_subjects_sla(struct req *req)
{
    struct arena *a = req->arena;
    struct err e = ERR_INIT;
    struct sla_summary s;
    const char *subject;
    struct jv *out;
    struct vctx v;
    store *st;
    int rc;

    v_init(&v, a);
    subject = path_subject(&v, req);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&e);
    rc = st ? explorer_sla(a, st, subject, req_query_filter(req, "tenant_id"), ts_now(), &s, &e)
            : -1;
    if (rc == 0)
        return http_reply_json(req, 200, support_sla_json(a, NULL, &s, 1));
    log_write(LOG_WARN, "request %s: subject SLA failed: %s", req->request_id, e.msg);
    err_release(&e);
    out = jv_object(a);
    jv_object_set(a, out, "total_sessions", jv_int(a, 0));
    jv_object_set(a, out, "resolved_sessions", jv_int(a, 0));
    jv_object_set(a, out, "open_sessions", jv_int(a, 0));
    jv_object_set(a, out, "sessions", jv_array(a));
    return http_reply_json(req, 200, out);
}

/* ---- memories, episodes, citing memories ---- */

static const char *const status_names[] = { "all", "active", "superseded" };

/* Render a MemItem page. */
static int reply_memories(struct req *req, const struct explorer_memory_rows *rows,
                          const struct explorer_memory_query *q)
{
    struct arena *a = req->arena;

    return http_reply_json(req, 200,
                           page_json(a, "memories", mem_items_json(a, rows->items, rows->n),
                                     rows->total, q->limit, q->offset));
}

int api_admin_subjects_memories(struct req *req)
{
    struct explorer_memory_query q = { .created_after = TS_NULL, .created_before = TS_NULL };
    struct explorer_memory_rows rows;
    const char *subject;
    struct vctx v;
    int status;
    store *st;

    v_init(&v, req->arena);
    subject = path_subject(&v, req);
    status = query_literal(&v, req, "status", status_names, 3, 0);
    q.status = status ? status_names[status] : NULL;
    q.kind = req_query_filter(req, "kind");
    q.search = req_query_filter(req, "search");
    query_page(&v, req, 50, EXPLORER_LIMIT_MAX, &q.limit, &q.offset);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || explorer_memories(req->arena, st, subject, req_query_filter(req, "tenant_id"), &q,
                                 &rows, &req->err) < 0)
        return -1;
    return reply_memories(req, &rows, &q);
}

int api_admin_subjects_citing(struct req *req)
{
    struct explorer_memory_query q = { .created_after = TS_NULL, .created_before = TS_NULL };
    struct explorer_memory_rows rows;
    char episode_id[UUID_STR_LEN];
    const char *subject, *cites[1];
    struct vctx v;
    store *st;

    v_init(&v, req->arena);
    subject = path_subject(&v, req);
    query_page(&v, req, 50, EXPLORER_LIMIT_MAX, &q.limit, &q.offset);
    if (v_finish(&v, &req->err) < 0 ||
        path_uuid_400(req, 1, episode_id, "Invalid episode_id format") < 0)
        return -1;
    cites[0] = episode_id;
    q.cites = cites;
    q.ncites = 1;
    st = service_store(&req->err);
    if (!st || explorer_memories(req->arena, st, subject, req_query_filter(req, "tenant_id"), &q,
                                 &rows, &req->err) < 0)
        return -1;
    return reply_memories(req, &rows, &q);
}

int api_admin_subjects_episodes(struct req *req)
{
    struct arena *a = req->arena;
    struct explorer_episode_query q = { 0 };
    struct explorer_episode_rows rows;
    const char *subject;
    struct jv *list;
    struct vctx v;
    size_t i;
    store *st;

    v_init(&v, a);
    subject = path_subject(&v, req);
    q.session_id = req_query_filter(req, "session_id");
    q.type = req_query_filter(req, "type");
    q.search = req_query_filter(req, "search");
    query_page(&v, req, 50, EXPLORER_LIMIT_MAX, &q.limit, &q.offset);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || explorer_episodes(a, st, subject, req_query_filter(req, "tenant_id"), &q, &rows,
                                 &req->err) < 0)
        return -1;
    list = jv_array(a);
    for (i = 0; i < rows.n; i++)
        jv_array_append(a, list, ep_item_json(a, &rows.items[i]));
    return http_reply_json(req, 200, page_json(a, "episodes", list, rows.total, q.limit, q.offset));
}

/* ---- related memories ---- */

/* A Rel (§7.4). */
static struct jv *rel_json(struct arena *a, const struct memory *m, const char *relationship)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "id", jv_str(a, m->id));
    jv_object_set(a, o, "kind", jv_str(a, m->kind));
    jv_object_set(a, o, "content", jv_str(a, m->content));
    jv_object_set(a, o, "summary", jv_str(a, m->summary ? m->summary : ""));
    jv_object_set(a, o, "confidence", jv_real(a, m->confidence));
    jv_object_set(a, o, "status", jv_str(a, m->status));
    jv_object_set(a, o, "created_at", render_ts_offset(a, m->created_at));
    jv_object_set(a, o, "relationship", jv_str(a, relationship));
    return o;
}

static struct jv *rels_json(struct arena *a, const struct memory *m, size_t n,
                            const char *relationship)
{
    struct jv *arr = jv_array(a);
    size_t i;

    for (i = 0; i < n; i++)
        jv_array_append(a, arr, rel_json(a, &m[i], relationship));
    return arr;
}

static struct jv *related_json(struct arena *a, const struct explorer_related *r)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "memory_id", jv_str(a, r->target->id));
    jv_object_set(a, o, "status", jv_str(a, r->target->status));
    jv_object_set(a, o, "created_at", render_ts_offset(a, r->target->created_at));
    jv_object_set(a, o, "superseding_memory",
                  r->superseding ? rel_json(a, r->superseding, "supersedes") : jv_null());
    /* "superseded_by" for the memories this one superseded: the reference's naming. */
    jv_object_set(a, o, "superseded_memories",
                  rels_json(a, r->superseded, r->nsuperseded, "superseded_by"));
    jv_object_set(a, o, "sibling_memories", rels_json(a, r->siblings, r->nsiblings, "sibling"));
    jv_object_set(a, o, "source_episode_count", jv_int(a, (int64_t)r->source_episode_count));
    return o;
}

int api_admin_subjects_related(struct req *req)
{
    struct explorer_related r;
    char memory_id[UUID_STR_LEN];
    const char *subject;
    struct vctx v;
    store *st;

    v_init(&v, req->arena);
    subject = path_subject(&v, req);
    if (v_finish(&v, &req->err) < 0 ||
        path_uuid_400(req, 1, memory_id, "Invalid memory_id format") < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || explorer_related(req->arena, st, subject, req_query_filter(req, "tenant_id"),
                                memory_id, &r, &req->err) < 0)
        return -1;
    return http_reply_json(req, 200, related_json(req->arena, &r));
}

/* ---- a session's timeline ---- */

static struct jv *resolution_event(struct arena *a, const struct explorer_timeline *t)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "event_type", jv_str(a, "resolution"));
    jv_object_set(a, o, "resolved_at", render_ts_offset(a, t->resolved_at));
    jv_object_set(a, o, "status", jv_str(a, t->resolution_status));
    return o;
}

/* The episodes oldest first, the resolution event before the first episode created after
 * resolved_at (or at the end). */
static struct jv *events_json(struct arena *a, const struct explorer_timeline *t)
{
    struct jv *arr = jv_array(a), *o;
    int pending = t->resolved_at != TS_NULL;
    size_t i;

    for (i = 0; i < t->nepisodes; i++) {
        if (pending && t->episodes[i].created_at > t->resolved_at) {
            jv_array_append(a, arr, resolution_event(a, t));
            pending = 0;
        }
        o = jv_object(a);
        jv_object_set(a, o, "event_type", jv_str(a, "episode"));
        episode_members(a, o, &t->episodes[i]);
        jv_object_set(a, o, "citing_memory_count", jv_int(a, t->citing[i]));
        jv_array_append(a, arr, o);
    }
    if (pending)
        jv_array_append(a, arr, resolution_event(a, t));
    return arr;
}

static struct jv *timeline_json(struct arena *a, const char *session,
                                const struct explorer_timeline *t)
{
    const struct sla_session *s = t->sla;
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "session_id", jv_str(a, session));
    jv_object_set(a, o, "status", jv_str(a, t->status));
    jv_object_set(a, o, "first_message_at", render_ts_offset(a, s ? s->first_message_at : TS_NULL));
    jv_object_set(a, o, "first_response_at",
                  render_ts_offset(a, s ? s->first_response_at : TS_NULL));
    jv_object_set(a, o, "resolved_at", render_ts_offset(a, t->resolved_at));
    jv_object_set(a, o, "first_response_seconds",
                  real_or_null(a, s ? s->first_response_seconds : NAN));
    jv_object_set(a, o, "resolution_seconds", real_or_null(a, s ? s->resolution_seconds : NAN));
    jv_object_set(a, o, "first_response_breached", jv_bool(a, s && s->first_response_breached));
    jv_object_set(a, o, "resolution_breached", jv_bool(a, s && s->resolution_breached));
    jv_object_set(a, o, "episode_count", jv_int(a, t->episode_count));
    jv_object_set(a, o, "events", events_json(a, t));
    return o;
}

int api_admin_subjects_session_timeline(struct req *req)
{
    struct explorer_timeline t;
    const char *subject, *session;
    struct vctx v;
    int64_t limit;
    store *st;

    v_init(&v, req->arena);
    subject = path_subject(&v, req);
    session = v_path_string(&v, req, 1, "session_id", subject_rule);
    v_query_int(&v, req, "limit",
                (struct v_int){ .def = 200, .min = 1, .max = EXPLORER_TIMELINE_LIMIT_MAX }, &limit);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st ||
        explorer_session_timeline(req->arena, st, subject, req_query_filter(req, "tenant_id"),
                                  session, (size_t)limit, ts_now(), &t, &req->err) < 0)
        return -1;
    return http_reply_json(req, 200, timeline_json(req->arena, session, &t));
}

/* ---- deletes (§7.5) ---- */

int api_admin_subjects_delete(struct req *req)
{
    struct arena *a = req->arena;
    struct subjects_deleted gone;
    const char *subject;
    struct jv *out;
    struct vctx v;
    store *st;

    v_init(&v, a);
    subject = path_subject(&v, req);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || subjects_admin_delete(a, st, subject, req_query_filter(req, "tenant_id"), &gone,
                                     &req->err) < 0)
        return -1;
    out = jv_object(a);
    jv_object_set(a, out, "subject_id", jv_str(a, subject));
    jv_object_set(a, out, "episodes_deleted", jv_int(a, gone.episodes));
    jv_object_set(a, out, "memories_deleted", jv_int(a, gone.memories));
    return http_reply_json(req, 200, out);
}

/* The selector of a preview or bulk delete from body; *match_all from its match_all. */
static void read_selector(struct vctx *v, const struct jv *body, struct subject_selector *sel,
                          int *match_all)
{
    const struct jv *days = jv_object_get(body, "older_than_days");
    const struct jv *all = jv_object_get(body, "match_all");
    const struct v_str opt = { .flags = V_NULLABLE };
    int64_t n;

    memset(sel, 0, sizeof(*sel));
    sel->older_than = TS_NULL;
    sel->with_episodes_only = 1;
    sel->prefix = v_string(v, body, v_loc(v, "body", "subject_id_prefix"), opt);
    sel->tenant = v_string(v, body, v_loc(v, "body", "tenant_id"), opt);
    if (sel->prefix && !*sel->prefix)
        sel->prefix = NULL;
    if (sel->tenant && !*sel->tenant)
        sel->tenant = NULL;
    sel->all_tenants = !sel->tenant;
    if (days && jv_type(days) != JV_NULL &&
        v_int_value(v, days, v_loc(v, "body", "older_than_days"),
                    (struct v_int){ .min = 0, .max = OLDER_THAN_DAYS_MAX }, &n) == 0)
        sel->older_than = ts_now() - n * 86400 * INT64_C(1000000);
    *match_all = 0;
    if (all)
        v_bool_value(v, all, v_loc(v, "body", "match_all"), match_all);
}

static struct jv *sample_json(struct arena *a, const struct subject_match_rows *m)
{
    struct jv *arr = jv_array(a), *o;
    size_t i;

    for (i = 0; i < m->n && i < SAMPLE_MAX; i++) {
        o = jv_object(a);
        jv_object_set(a, o, "subject_id", jv_str(a, m->items[i].subject_id));
        jv_object_set(a, o, "tenant_id", render_str_or_null(a, m->items[i].tenant_id));
        jv_object_set(a, o, "episode_count", jv_int(a, m->items[i].episode_count));
        jv_object_set(a, o, "memory_count", jv_int(a, m->items[i].memory_count));
        jv_object_set(a, o, "last_episode_at", render_ts_offset(a, m->items[i].last_episode_at));
        jv_array_append(a, arr, o);
    }
    return arr;
}

int api_admin_subjects_preview_delete(struct req *req)
{
    struct arena *a = req->arena;
    struct subject_selector sel;
    struct subject_match_rows m;
    struct jv *body, *out;
    struct vctx v;
    int match_all;
    store *st;

    if (api_body_object(req, &body, &req->err) < 0)
        return -1;
    v_init(&v, a);
    read_selector(&v, body, &sel, &match_all);
    if (v_finish(&v, &req->err) < 0 || subjects_selector_check(&sel, match_all, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || subjects_preview_delete(a, st, &sel, &m, &req->err) < 0)
        return -1;
    out = jv_object(a);
    jv_object_set(a, out, "matched", jv_int(a, (int64_t)m.n));
    jv_object_set(a, out, "sample", sample_json(a, &m));
    jv_object_set(a, out, "total_episodes", jv_int(a, m.episodes));
    jv_object_set(a, out, "total_memories", jv_int(a, m.memories));
    return http_reply_json(req, 200, out);
}

/* confirm (default false) and the required expected_count of a bulk delete. */
static void read_commit(struct vctx *v, const struct jv *body, int *confirm, int64_t *expected)
{
    const struct jv *c = jv_object_get(body, "confirm");
    const struct jv *e = jv_object_get(body, "expected_count");

    *confirm = 0;
    if (c)
        v_bool_value(v, c, v_loc(v, "body", "confirm"), confirm);
    if (!e)
        v_add(v, "missing", v_loc(v, "body", "expected_count"), "Field required", body, NULL);
    else
        v_int_value(v, e, v_loc(v, "body", "expected_count"),
                    (struct v_int){ .min = INT64_MIN, .max = INT64_MAX }, expected);
}

int api_admin_subjects_bulk_delete(struct req *req)
{
    struct arena *a = req->arena;
    struct subject_selector sel;
    struct subjects_deleted gone;
    struct jv *body, *out;
    int match_all, confirm;
    int64_t expected = 0;
    struct vctx v;
    store *st;

    if (api_body_object(req, &body, &req->err) < 0)
        return -1;
    v_init(&v, a);
    read_selector(&v, body, &sel, &match_all);
    read_commit(&v, body, &confirm, &expected);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    if (!confirm)
        return err_set(&req->err, ERR_INVALID, "confirm must be true to commit a bulk delete");
    if (subjects_selector_check(&sel, match_all, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || subjects_bulk_delete(a, st, &sel, expected, &gone, &req->err) < 0)
        return -1;
    out = jv_object(a);
    jv_object_set(a, out, "deleted_subjects", jv_int(a, gone.subjects));
    jv_object_set(a, out, "deleted_episodes", jv_int(a, gone.episodes));
    jv_object_set(a, out, "deleted_memories", jv_int(a, gone.memories));
    /* All or nothing in one transaction: a failure answers an error, so nothing fails alone. */
    jv_object_set(a, out, "failed", jv_array(a));
    return http_reply_json(req, 200, out);
}
