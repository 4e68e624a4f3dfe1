/* text.c - payload text extraction (spec/behavior.md §3.1), with non-string values rendered
 * the way Python's str() prints the value json.loads would have produced (util/pyrepr). Parsed
 * with jv, so integers of any size keep their digits and duplicate keys behave like a Python
 * dict. */
#include "service/text.h"

#include <string.h>

#include "util/buf.h"
#include "util/jv.h"
#include "util/pyrepr.h"

/* str(value): strings verbatim, everything else as repr; a missing value is "". */
static void put_text(struct buf *out, const struct jv *v)
{
    if (v)
        pyrepr_text(out, v);
}

/* The "role: content" lines of a messages list; -1 when the list is not a list of objects
 * (the reference fails there; we answer ""). */
static int put_messages(struct buf *out, const struct jv *msgs)
{
    size_t i;

    if (jv_type(msgs) != JV_ARRAY)
        return -1;
    for (i = 0; i < jv_array_size(msgs); i++) {
        const struct jv *m = jv_array_get(msgs, i);

        if (jv_type(m) != JV_OBJECT)
            return -1;
        if (i)
            buf_putc(out, '\n');
        put_text(out, jv_object_get(m, "role"));
        buf_puts(out, ": ");
        put_text(out, jv_object_get(m, "content"));
    }
    return 0;
}

const char *payload_text(struct arena *a, const char *payload_json)
{
    struct buf out = BUF_INIT;
    struct arena *scratch;
    const struct jv *payload, *msgs;
    const char *res;

    if (!payload_json)
        return "";
    scratch = arena_new();
    payload = jv_parse(scratch, payload_json, strlen(payload_json), NULL, NULL);
    if (payload && jv_type(payload) == JV_OBJECT) {
        msgs = jv_object_get(payload, "messages");
        if (msgs) {
            if (put_messages(&out, msgs) < 0)
                buf_reset(&out);
        } else if (jv_object_get(payload, "text")) {
            put_text(&out, jv_object_get(payload, "text"));
        } else {
            put_text(&out, jv_object_get(payload, "content"));
        }
    }
    arena_free(scratch);
    res = out.len ? arena_strndup(a, out.data, out.len) : "";
    buf_release(&out);
    return res;
}
