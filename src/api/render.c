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
