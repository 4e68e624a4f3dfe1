/* text.c - payload text extraction (spec/behavior.md §3.1), with non-string values rendered
 * the way Python's str() prints the value json.loads would have produced. Parsed with jv, so
 * integers of any size keep their digits and duplicate keys behave like a Python dict. */
#include "service/text.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/buf.h"
#include "util/jv.h"

static void put_repr(struct buf *out, const struct jv *v);

/* Decode one UTF-8 sequence at s (valid UTF-8, as jv_parse() guarantees); *len gets its size. */
static uint32_t decode_cp(const unsigned char *s, size_t *len)
{
    if (s[0] < 0x80)
        return *len = 1, s[0];
    if (s[0] < 0xE0)
        return *len = 2, ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    if (s[0] < 0xF0)
        return *len = 3, ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) |
                         (s[2] & 0x3F);
    return *len = 4, ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
                     ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
}

/* Non-ASCII code points Python's str.isprintable() refuses: other (Cc, Cf, Co), separators
 * other than the space (Zs, Zl, Zp) and noncharacters. Unassigned code points (Cn) are
 * printed verbatim: tracking the Unicode database for them is not worth it here. */
static int unprintable(uint32_t c)
{
    static const uint32_t ranges[][2] = {
        { 0x80, 0xA0 }, { 0xAD, 0xAD }, { 0x600, 0x605 }, { 0x61C, 0x61C }, { 0x6DD, 0x6DD },
        { 0x70F, 0x70F }, { 0x890, 0x891 }, { 0x8E2, 0x8E2 }, { 0x1680, 0x1680 },
        { 0x180E, 0x180E }, { 0x2000, 0x200F }, { 0x2028, 0x202F }, { 0x205F, 0x2064 },
        { 0x2066, 0x206F }, { 0x3000, 0x3000 }, { 0xE000, 0xF8FF }, { 0xFDD0, 0xFDEF },
        { 0xFEFF, 0xFEFF }, { 0xFFF9, 0xFFFB }, { 0x110BD, 0x110BD }, { 0x110CD, 0x110CD },
        { 0x13430, 0x1343F }, { 0x1BCA0, 0x1BCA3 }, { 0x1D173, 0x1D17A }, { 0xE0001, 0xE0001 },
        { 0xE0020, 0xE007F }, { 0xF0000, 0x10FFFF },
    };
    size_t i;

    if ((c & 0xFFFE) == 0xFFFE)
        return 1;
    for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        if (c >= ranges[i][0] && c <= ranges[i][1])
            return 1;
    }
    return 0;
}

static void put_escaped_cp(struct buf *out, uint32_t c)
{
    if (c <= 0xFF)
        buf_printf(out, "\\x%02x", (unsigned)c);
    else if (c <= 0xFFFF)
        buf_printf(out, "\\u%04x", (unsigned)c);
    else
        buf_printf(out, "\\U%08x", (unsigned)c);
}

/* repr(str): single quotes unless the text holds ' and no ", Python's escapes. */
static void put_str_repr(struct buf *out, const char *s, size_t n)
{
    char quote = memchr(s, '\'', n) && !memchr(s, '"', n) ? '"' : '\'';
    size_t i = 0, len;

    buf_putc(out, quote);
    while (i < n) {
        unsigned char ch = (unsigned char)s[i];
        uint32_t c = decode_cp((const unsigned char *)s + i, &len);

        if (ch == (unsigned char)quote || ch == '\\') {
            buf_putc(out, '\\');
            buf_putc(out, (char)ch);
        } else if (ch == '\t' || ch == '\n' || ch == '\r') {
            buf_putc(out, '\\');
            buf_putc(out, ch == '\t' ? 't' : ch == '\n' ? 'n' : 'r');
        } else if (ch < 0x20 || ch == 0x7F || (c >= 0x80 && unprintable(c))) {
            put_escaped_cp(out, c);
        } else {
            buf_append(out, s + i, len);
        }
        i += len;
    }
    buf_putc(out, quote);
}

static void put_list_repr(struct buf *out, const struct jv *v)
{
    size_t i;

    buf_putc(out, '[');
    for (i = 0; i < jv_array_size(v); i++) {
        if (i)
            buf_puts(out, ", ");
        put_repr(out, jv_array_get(v, i));
    }
    buf_putc(out, ']');
}

static void put_dict_repr(struct buf *out, const struct jv *v)
{
    const char *key;
    size_t i, len;

    buf_putc(out, '{');
    for (i = 0; i < jv_object_size(v); i++) {
        if (i)
            buf_puts(out, ", ");
        key = jv_object_key(v, i, &len);
        put_str_repr(out, key, len);
        buf_puts(out, ": ");
        put_repr(out, jv_object_value(v, i));
    }
    buf_putc(out, '}');
}

/* str(float): repr digits; a token beyond the double range became inf in Python. */
static void put_float(struct buf *out, double d)
{
    char num[32];

    if (isinf(d)) {
        buf_puts(out, d > 0 ? "inf" : "-inf");
        return;
    }
    jv_fmt_double(d, num);
    buf_puts(out, num);
}

/* str(int): the exact digits at any magnitude ("-0" is 0). */
static void put_int(struct buf *out, const char *token)
{
    buf_puts(out, strcmp(token, "-0") == 0 ? "0" : token);
}

/* repr() of the Python value json.loads makes of v. */
static void put_repr(struct buf *out, const struct jv *v)
{
    const char *s;
    size_t len;

    switch (jv_type(v)) {
    case JV_STRING:
        s = jv_string(v, &len);
        put_str_repr(out, s, len);
        break;
    case JV_INT:
        put_int(out, jv_number_text(v));
        break;
    case JV_REAL:
        put_float(out, jv_double(v));
        break;
    case JV_TRUE:
        buf_puts(out, "True");
        break;
    case JV_FALSE:
        buf_puts(out, "False");
        break;
    case JV_NULL:
        buf_puts(out, "None");
        break;
    case JV_ARRAY:
        put_list_repr(out, v);
        break;
    case JV_OBJECT:
        put_dict_repr(out, v);
        break;
    case JV_RAW:
        break;   /* never produced by jv_parse() */
    }
}

/* str(value): strings verbatim, everything else as repr; a missing value is "". */
static void put_text(struct buf *out, const struct jv *v)
{
    const char *s;
    size_t len;

    if (!v)
        return;
    if (jv_type(v) == JV_STRING) {
        s = jv_string(v, &len);
        buf_append(out, s, len);
    } else {
        put_repr(out, v);
    }
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
