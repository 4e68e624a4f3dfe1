/* render.c - episode and memory objects for /v1 responses: jv trees and streamed text. */
#include "api/render.h"

#include <string.h>

#include "util/jv.h"
#include "util/log.h"
#include "util/ts.h"

struct jv *render_ts_z(struct arena *a, int64_t us)
{
    char buf[TS_STR_LEN];

    if (us == TS_NULL)
        return jv_null();
    return jv_strn(a, buf, ts_format_z(us, buf, sizeof(buf)));
}

struct jv *render_stored_json(struct arena *a, const char *text, const char *fallback)
{
    /* Stored JSON is written by us (compact, numbers as sent): splice it as it is. */
    return jv_raw(a, text && *text ? text : fallback);
}

struct jv *render_ts_offset(struct arena *a, int64_t us)
{
    char buf[TS_STR_LEN];

    if (us == TS_NULL)
        return jv_null();
    ts_format_offset(us, buf, sizeof(buf));
    return jv_str(a, buf);
}

struct jv *render_str_or_null(struct arena *a, const char *s)
{
    return s ? jv_str(a, s) : jv_null();
}

struct jv *render_episode(struct arena *a, const struct episode *ep)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "id", jv_str(a, ep->id));
    jv_object_set(a, o, "subject_id", jv_str(a, ep->subject_id));
    jv_object_set(a, o, "source", jv_str(a, ep->source));
    jv_object_set(a, o, "type", jv_str(a, ep->type));
    jv_object_set(a, o, "payload", render_stored_json(a, ep->payload, "{}"));
    jv_object_set(a, o, "metadata", render_stored_json(a, ep->metadata, "{}"));
    jv_object_set(a, o, "provenance", render_stored_json(a, ep->provenance, "{}"));
    jv_object_set(a, o, "session_id", render_str_or_null(a, ep->session_id));
    jv_object_set(a, o, "created_at", render_ts_z(a, ep->created_at));
    /* Engram (spec/api.md §11): when the event happened; null when the client did not say. */
    jv_object_set(a, o, "occurred_at", render_ts_z(a, ep->occurred_at));
    return o;
}

/* EXTRA sensitivity_labels (spec/api.md §5.3): emitted only when the memory has labels, so
 * unlabelled memories keep the reference's exact shape. */
static int has_labels(const struct memory *m)
{
    const char *labels = m->sensitivity_labels;

    return labels && *labels && strcmp(labels, "[]") != 0;
}

struct jv *render_memory(struct arena *a, const struct memory *m)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "id", jv_str(a, m->id));
    jv_object_set(a, o, "subject_id", jv_str(a, m->subject_id));
    jv_object_set(a, o, "kind", jv_str(a, m->kind));
    jv_object_set(a, o, "content", jv_str(a, m->content));
    jv_object_set(a, o, "summary", jv_str(a, m->summary ? m->summary : ""));
    jv_object_set(a, o, "confidence", jv_real(a, m->confidence));
    jv_object_set(a, o, "valid_from", render_ts_z(a, m->valid_from));
    jv_object_set(a, o, "valid_to", render_ts_z(a, m->valid_to));
    jv_object_set(a, o, "source_episode_ids", render_stored_json(a, m->source_episode_ids,
                                                                 "[]"));
    jv_object_set(a, o, "metadata", render_stored_json(a, m->metadata, "{}"));
    jv_object_set(a, o, "status", jv_str(a, m->status));
    jv_object_set(a, o, "created_at", render_ts_z(a, m->created_at));
    jv_object_set(a, o, "updated_at", render_ts_z(a, m->updated_at));
    if (has_labels(m))
        jv_object_set(a, o, "sensitivity_labels", render_stored_json(a, m->sensitivity_labels,
                                                                     "[]"));
    return o;
}

static void put_episode(struct buf *out, const void *item)
{
    render_episode_to(out, item);
}

static void put_memory(struct buf *out, const void *item)
{
    render_memory_to(out, item);
}

/* The n items of size bytes at items, each written by put, as one raw array node. */
static struct jv *render_array(struct arena *a, const void *items, size_t n, size_t size,
                               void (*put)(struct buf *, const void *))
{
    struct buf b = BUF_INIT;
    struct jv *v;
    size_t i;

    buf_putc(&b, '[');
    for (i = 0; i < n; i++) {
        if (i)
            buf_putc(&b, ',');
        put(&b, (const char *)items + i * size);
    }
    buf_putc(&b, ']');
    v = jv_rawn(a, b.data, b.len);
    buf_release(&b);
    return v;
}

struct jv *render_episodes(struct arena *a, const struct episode *eps, size_t n)
{
    return render_array(a, eps, n, sizeof(*eps), put_episode);
}

struct jv *render_memories(struct arena *a, const struct memory *mems, size_t n)
{
    return render_array(a, mems, n, sizeof(*mems), put_memory);
}

/* ---- the same shapes written straight into a buffer (hot responses: no tree) ----
 * Member order and formats are exactly those of the jv renderers above, as written by
 * jv_write_compact (tests/unit/test_render.c compares the two). */

static void put_key(struct buf *out, const char *key, int first)
{
    if (!first)
        buf_putc(out, ',');
    jv_write_str(out, key, strlen(key));
    buf_putc(out, ':');
}

static void put_str(struct buf *out, const char *key, const char *s)
{
    put_key(out, key, 0);
    jv_write_str(out, s, strlen(s));
}

static void put_str_or_null(struct buf *out, const char *key, const char *s)
{
    put_key(out, key, 0);
    if (s)
        jv_write_str(out, s, strlen(s));
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
    jv_write_str(out, ts, n);
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
    jv_write_str(out, id, strlen(id));
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
    buf_append(out, num, jv_fmt_double(m->confidence, num));
    put_ts(out, "valid_from", m->valid_from);
    put_ts(out, "valid_to", m->valid_to);
    put_stored(out, "source_episode_ids", m->source_episode_ids, "[]");
    put_stored(out, "metadata", m->metadata, "{}");
    put_str(out, "status", m->status);
    put_ts(out, "created_at", m->created_at);
    put_ts(out, "updated_at", m->updated_at);
    if (has_labels(m))
        put_stored(out, "sensitivity_labels", labels, "[]");
    buf_putc(out, '}');
}
