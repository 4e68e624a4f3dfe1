/* jsonw.c - the jansson side of the response writer, kept only until src/api and src/http stop
 * building jansson trees: json_raw() and json_write_compact(json_t *). Strings and floats go
 * through the jv writer's json_write_str() and fmt_double(), so both trees print alike. */
#include "util/jsonw.h"

#include <string.h>

#define RAW_KEY "\xffraw"

json_t *json_raw(const char *text)
{
    json_t *o = json_object();

    json_object_set_new_nocheck(o, RAW_KEY, json_string_nocheck(text));
    return o;
}

static const char *raw_text(const json_t *v)
{
    json_t *s;

    if (json_object_size(v) != 1)
        return NULL;
    s = json_object_get(v, RAW_KEY);
    return s ? json_string_value(s) : NULL;
}

void json_write_compact(struct buf *out, const json_t *v)
{
    char num[40];
    const char *key;
    json_t *item;
    size_t i, first = 1;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        key = raw_text(v);
        if (key) {
            buf_puts(out, key);
            break;
        }
        buf_putc(out, '{');
        json_object_foreach((json_t *)v, key, item) {
            if (!first)
                buf_putc(out, ',');
            first = 0;
            json_write_str(out, key, strlen(key));
            buf_putc(out, ':');
            json_write_compact(out, item);
        }
        buf_putc(out, '}');
        break;
    case JSON_ARRAY:
        buf_putc(out, '[');
        for (i = 0; i < json_array_size(v); i++) {
            if (i)
                buf_putc(out, ',');
            json_write_compact(out, json_array_get(v, i));
        }
        buf_putc(out, ']');
        break;
    case JSON_STRING:
        json_write_str(out, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        buf_append(out, num, fmt_double(json_real_value(v), num));
        break;
    case JSON_TRUE:
        buf_puts(out, "true");
        break;
    case JSON_FALSE:
        buf_puts(out, "false");
        break;
    case JSON_NULL:
        buf_puts(out, "null");
        break;
    }
}
