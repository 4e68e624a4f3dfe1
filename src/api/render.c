/* render.c - episode and memory objects for /v1 responses. */
#include "api/render.h"

#include <string.h>

#include "util/jsonw.h"
#include "util/log.h"
#include "util/ts.h"

json_t *render_ts_z(int64_t us)
{
    char buf[TS_STR_LEN];

    if (us == TS_NULL)
        return json_null();
    ts_format_z(us, buf, sizeof(buf));
    return json_string(buf);
}

json_t *render_stored_json(const char *text, const char *fallback)
{
    /* Stored JSON is written by us (compact, numbers as sent): splice it as it is. */
    return json_raw(text && *text ? text : fallback);
}

json_t *render_ts_offset(int64_t us)
{
    char buf[TS_STR_LEN];

    if (us == TS_NULL)
        return json_null();
    ts_format_offset(us, buf, sizeof(buf));
    return json_string(buf);
}

json_t *render_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *render_episode(const struct episode *ep)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", json_string(ep->id));
    json_object_set_new(o, "subject_id", json_string(ep->subject_id));
    json_object_set_new(o, "source", json_string(ep->source));
    json_object_set_new(o, "type", json_string(ep->type));
    json_object_set_new(o, "payload", render_stored_json(ep->payload, "{}"));
    json_object_set_new(o, "metadata", render_stored_json(ep->metadata, "{}"));
    json_object_set_new(o, "provenance", render_stored_json(ep->provenance, "{}"));
    json_object_set_new(o, "session_id", render_str_or_null(ep->session_id));
    json_object_set_new(o, "created_at", render_ts_z(ep->created_at));
    /* Engram (spec/api.md §11): when the event happened; null when the client did not say. */
    json_object_set_new(o, "occurred_at", render_ts_z(ep->occurred_at));
    return o;
}

/* EXTRA sensitivity_labels (spec/api.md §5.3): emitted only when the memory has labels, so
 * unlabelled memories keep the reference's exact shape. */
static void add_labels(json_t *o, const struct memory *m)
{
    const char *labels = m->sensitivity_labels;

    if (labels && *labels && strcmp(labels, "[]") != 0)
        json_object_set_new(o, "sensitivity_labels", render_stored_json(labels, "[]"));
}

json_t *render_memory(const struct memory *m)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", json_string(m->id));
    json_object_set_new(o, "subject_id", json_string(m->subject_id));
    json_object_set_new(o, "kind", json_string(m->kind));
    json_object_set_new(o, "content", json_string(m->content));
    json_object_set_new(o, "summary", json_string(m->summary ? m->summary : ""));
    json_object_set_new(o, "confidence", json_real(m->confidence));
    json_object_set_new(o, "valid_from", render_ts_z(m->valid_from));
    json_object_set_new(o, "valid_to", render_ts_z(m->valid_to));
    json_object_set_new(o, "source_episode_ids", render_stored_json(m->source_episode_ids,
                                                                    "[]"));
    json_object_set_new(o, "metadata", render_stored_json(m->metadata, "{}"));
    json_object_set_new(o, "status", json_string(m->status));
    json_object_set_new(o, "created_at", render_ts_z(m->created_at));
    json_object_set_new(o, "updated_at", render_ts_z(m->updated_at));
    add_labels(o, m);
    return o;
}

/* ---- the same shapes written straight into a buffer (hot responses: no jansson tree) ----
 * Member order and formats are exactly those of the json_t renderers above, as written by
 * json_write_compact (tests/unit/test_render.c compares the two). */

static void put_key(struct buf *out, const char *key, int first)
{
    if (!first)
        buf_putc(out, ',');
    json_write_str(out, key, strlen(key));
    buf_putc(out, ':');
}

static void put_str(struct buf *out, const char *key, const char *s)
{
    put_key(out, key, 0);
    json_write_str(out, s, strlen(s));
}

static void put_str_or_null(struct buf *out, const char *key, const char *s)
{
    put_key(out, key, 0);
    if (s)
        json_write_str(out, s, strlen(s));
    else
        buf_puts(out, "null");
}

static void put_stored(struct buf *out, const char *key, const char *text, const char *fallback)
{
    put_key(out, key, 0);
    buf_puts(out, text && *text ? text : fallback);
}

void render_ts_z_to(struct buf *out, int64_t us)
{
    char ts[TS_STR_LEN];
    size_t n;

    if (us == TS_NULL) {
        buf_puts(out, "null");
        return;
    }
    n = ts_format_z(us, ts, sizeof(ts));
    json_write_str(out, ts, n);
}

static void put_ts(struct buf *out, const char *key, int64_t us)
{
    put_key(out, key, 0);
    render_ts_z_to(out, us);
}

/* '{' and the first member, "id". */
static void open_with_id(struct buf *out, const char *id)
{
    buf_putc(out, '{');
    put_key(out, "id", 1);
    json_write_str(out, id, strlen(id));
}

void render_episode_to(struct buf *out, const struct episode *ep)
{
    open_with_id(out, ep->id);
    put_str(out, "subject_id", ep->subject_id);
    put_str(out, "source", ep->source);
    put_str(out, "type", ep->type);
    put_stored(out, "payload", ep->payload, "{}");
    put_stored(out, "metadata", ep->metadata, "{}");
    put_stored(out, "provenance", ep->provenance, "{}");
    put_str_or_null(out, "session_id", ep->session_id);
    put_ts(out, "created_at", ep->created_at);
    put_ts(out, "occurred_at", ep->occurred_at);
    buf_putc(out, '}');
}

void render_memory_to(struct buf *out, const struct memory *m)
{
    const char *labels = m->sensitivity_labels;
    char num[40];

    open_with_id(out, m->id);
    put_str(out, "subject_id", m->subject_id);
    put_str(out, "kind", m->kind);
    put_str(out, "content", m->content);
    put_str(out, "summary", m->summary ? m->summary : "");
    put_key(out, "confidence", 0);
    buf_append(out, num, fmt_double(m->confidence, num));
    put_ts(out, "valid_from", m->valid_from);
    put_ts(out, "valid_to", m->valid_to);
    put_stored(out, "source_episode_ids", m->source_episode_ids, "[]");
    put_stored(out, "metadata", m->metadata, "{}");
    put_str(out, "status", m->status);
    put_ts(out, "created_at", m->created_at);
    put_ts(out, "updated_at", m->updated_at);
    if (labels && *labels && strcmp(labels, "[]") != 0)   /* as add_labels */
        put_stored(out, "sensitivity_labels", labels, "[]");
    buf_putc(out, '}');
}
