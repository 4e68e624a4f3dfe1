/* pyrepr.c - Python's repr() of JSON values. Printability comes from libunistring's Unicode
 * tables (version 14.0 in Debian 12's libunistring 1.0, the version Python 3.11 uses). */
#include "util/pyrepr.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unictype.h>

#include "util/utf8.h"

/* Python's str.isprintable() for one non-ASCII code point: not "Other" (Cc Cf Cs Co Cn) and
 * not a separator (Zs Zl Zp; the ASCII space is handled by the caller). */
static int printable(uint32_t c)
{
    return !uc_is_general_category(c, UC_CATEGORY_C) && !uc_is_general_category(c, UC_CATEGORY_Z);
}

static void put_escaped(struct buf *out, uint32_t c)
{
    if (c <= 0xFF)
        buf_printf(out, "\\x%02x", (unsigned)c);
    else if (c <= 0xFFFF)
        buf_printf(out, "\\u%04x", (unsigned)c);
    else
        buf_printf(out, "\\U%08x", (unsigned)c);
}

/* One ASCII byte of a repr with quote q. */
static void put_ascii(struct buf *out, unsigned char c, char q)
{
    if (c == (unsigned char)q || c == '\\') {
        buf_putc(out, '\\');
        buf_putc(out, (char)c);
    } else if (c == '\t') {
        buf_puts(out, "\\t");
    } else if (c == '\n') {
        buf_puts(out, "\\n");
    } else if (c == '\r') {
        buf_puts(out, "\\r");
    } else if (c < 0x20 || c == 0x7F) {
        put_escaped(out, c);
    } else {
        buf_putc(out, (char)c);
    }
}

void pyrepr_str(struct buf *out, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    char q = memchr(s, '\'', n) && !memchr(s, '"', n) ? '"' : '\'';
    size_t i = 0, len;
    uint32_t c;

    buf_putc(out, q);
    while (i < n) {
        if (u[i] < 0x80) {
            put_ascii(out, u[i++], q);
            continue;
        }
        len = utf8_next(u + i, n - i, &c);
        if (len == 1 || !printable(c))
            put_escaped(out, c);
        else
            buf_append(out, s + i, len);
        i += len;
    }
    buf_putc(out, q);
}

static void put_number(struct buf *out, const struct jv *v)
{
    char num[40];
    double d;

    if (jv_is_int(v)) {
        const char *t = jv_number_text(v);

        buf_puts(out, strcmp(t, "-0") == 0 ? "0" : t);
        return;
    }
    d = jv_double(v);
    if (isinf(d)) {
        buf_puts(out, d < 0 ? "-inf" : "inf");
        return;
    }
    jv_fmt_double(d, num);
    buf_puts(out, num);
}

static void put_container(struct buf *out, const struct jv *v)
{
    int obj = jv_type(v) == JV_OBJECT;
    size_t i, n = obj ? jv_object_size(v) : jv_array_size(v), klen;

    buf_putc(out, obj ? '{' : '[');
    for (i = 0; i < n; i++) {
        if (i)
            buf_puts(out, ", ");
        if (obj) {
            const char *k = jv_object_key(v, i, &klen);

            pyrepr_str(out, k, klen);
            buf_puts(out, ": ");
            pyrepr_value(out, jv_object_value(v, i));
        } else {
            pyrepr_value(out, jv_array_get(v, i));
        }
    }
    buf_putc(out, obj ? '}' : ']');
}

void pyrepr_value(struct buf *out, const struct jv *v)
{
    const char *s;
    size_t n;

    switch (v ? jv_type(v) : JV_NULL) {
    case JV_NULL:
        buf_puts(out, "None");
        break;
    case JV_TRUE:
        buf_puts(out, "True");
        break;
    case JV_FALSE:
        buf_puts(out, "False");
        break;
    case JV_INT:
    case JV_REAL:
        put_number(out, v);
        break;
    case JV_STRING:
        s = jv_string(v, &n);
        pyrepr_str(out, s, n);
        break;
    case JV_ARRAY:
    case JV_OBJECT:
        put_container(out, v);
        break;
    case JV_RAW:
        s = jv_raw_text(v, &n);
        buf_append(out, s, n);
        break;
    }
}

void pyrepr_text(struct buf *out, const struct jv *v)
{
    size_t n;
    const char *s = v && jv_type(v) == JV_STRING ? jv_string(v, &n) : NULL;

    if (s)
        buf_append(out, s, n);
    else
        pyrepr_value(out, v);
}
