/* jv_write.c - the two jv writers: the response writer (compact wire form, plus
 * jv_write_str() for text streamed without a tree) and the export checksum's canonical form
 * (spec/backup-snapshots.md §2.2). Doubles are formatted by jv_float.c. */
#include "util/jv-internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"
#include "util/xalloc.h"

static const char hex_digits[] = "0123456789abcdef";

/* The two-character escape of an ASCII byte, or NULL if it has none. */
static const char *short_escape(unsigned char c)
{
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '\b': return "\\b";
    case '\f': return "\\f";
    default: return NULL;
    }
}

/* \uXXXX with lowercase hex for a code point up to U+FFFF. */
static void put_u_escape(struct buf *out, unsigned int cp)
{
    char u[6] = { '\\', 'u', hex_digits[(cp >> 12) & 15], hex_digits[(cp >> 8) & 15],
                  hex_digits[(cp >> 4) & 15], hex_digits[cp & 15] };

    buf_append(out, u, sizeof(u));
}

static void put_ascii_escape(struct buf *out, unsigned char c)
{
    const char *esc = short_escape(c);

    if (esc)
        buf_append(out, esc, 2);
    else
        put_u_escape(out, c);
}

/* Nonzero when one of the eight bytes of w is below 0x20, '"' or '\\' (the classic
 * "has a zero byte" test on w, w ^ '"' and w ^ '\\'; exact about whether any byte matches,
 * and bytes of 0x80 and up never do). */
static inline uint64_t needs_escape8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t quote = w ^ (ones * '"'), bslash = w ^ (ones * '\\');

    return ((w - ones * 0x20) | (quote - ones) | (bslash - ones)) & ~w & high;
}

/* Wire form: raw UTF-8, only '"', '\' and control characters escaped. The one string escaper
 * of the response writer: jv_write_compact() and streamed responses both come here. */
void jv_write_str(struct buf *out, const char *s, size_t n)
{
    size_t i, run = 0;

    buf_putc(out, '"');
    for (i = 0; i < n; i++) {
        unsigned char c;
        uint64_t w;

        /* Eight bytes at a time while none needs escaping: most text never does. */
        while (i + 8 <= n && (memcpy(&w, s + i, 8), !needs_escape8(w)))
            i += 8;
        if (i == n)
            break;
        c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_append(out, s + run, i - run);
        put_ascii_escape(out, c);
        run = i + 1;
    }
    buf_append(out, s + run, n - run);
    buf_putc(out, '"');
}

/* Canonical form: pure ASCII; U+007F and up as \uXXXX, above U+FFFF as a surrogate pair;
 * an invalid UTF-8 byte as \ufffd. */
static void canonical_string(struct buf *out, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0, step;
    unsigned int cp;

    buf_putc(out, '"');
    while (i < n) {
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') {
            i++;
            continue;
        }
        buf_append(out, str + run, i - run);
        if (s[i] < 0x80) {
            put_ascii_escape(out, s[i]);
            step = 1;
        } else {
            step = utf8_decode(s + i, n - i, &cp);
            if (!step) {
                cp = 0xFFFD;
                step = 1;
            }
            if (cp >= 0x10000) {
                put_u_escape(out, 0xD800 + ((cp - 0x10000) >> 10));
                cp = 0xDC00 + ((cp - 0x10000) & 0x3FF);
            }
            put_u_escape(out, cp);
        }
        i += step;
        run = i;
    }
    buf_append(out, str + run, n - run);
    buf_putc(out, '"');
}

/* An integer token as Python prints the integer: verbatim, except "-0". */
static void write_int(struct buf *out, const struct jv *v)
{
    if (v->u.s.len == 2 && memcmp(v->u.s.p, "-0", 2) == 0)
        buf_putc(out, '0');
    else
        buf_append(out, v->u.s.p, v->u.s.len);
}

/* A real as Python's repr(float); with keep_overflow, a token beyond the double range is
 * written as it came instead of as Infinity. */
static void write_real(struct buf *out, const struct jv *v, int keep_overflow)
{
    char num[32];
    double d;

    if (v->text_is_repr) {
        buf_append(out, v->u.s.p, v->u.s.len);
        return;
    }
    d = jv_num_value(v);
    if (keep_overflow && !isfinite(d)) {
        buf_append(out, v->u.s.p, v->u.s.len);
        return;
    }
    buf_append(out, num, jv_fmt_double(d, num));
}

/* Literals and numbers, shared by both writers; returns 0 if v is none of them. */
static int write_scalar(struct buf *out, const struct jv *v, int compact)
{
    switch (v->type) {
    case JV_NULL: buf_append(out, "null", 4); return 1;
    case JV_TRUE: buf_append(out, "true", 4); return 1;
    case JV_FALSE: buf_append(out, "false", 5); return 1;
    case JV_INT: write_int(out, v); return 1;
    case JV_REAL: write_real(out, v, compact); return 1;
    default: return 0;
    }
}

void jv_write_compact(struct buf *out, const struct jv *v)
{
    size_t i;

    if (write_scalar(out, v, 1))
        return;
    switch (v->type) {
    case JV_STRING:
        jv_write_str(out, v->u.s.p, v->u.s.len);
        break;
    case JV_RAW:
        buf_append(out, v->u.s.p, v->u.s.len);
        break;
    case JV_ARRAY:
        buf_putc(out, '[');
        for (i = 0; i < v->u.arr.len; i++) {
            if (i)
                buf_putc(out, ',');
            jv_write_compact(out, v->u.arr.items[i]);
        }
        buf_putc(out, ']');
        break;
    case JV_OBJECT:
        buf_putc(out, '{');
        for (i = 0; i < v->u.obj.len; i++) {
            if (i)
                buf_putc(out, ',');
            jv_write_str(out, v->u.obj.items[i].key, v->u.obj.items[i].key_len);
            buf_putc(out, ':');
            jv_write_compact(out, v->u.obj.items[i].value);
        }
        buf_putc(out, '}');
        break;
    default:
        BUG("jv_write_compact: unknown type");
    }
}

const char *jv_compact_text(struct arena *a, const struct jv *v)
{
    struct buf b = BUF_INIT;
    const char *text;

    jv_write_compact(&b, v);
    text = arena_strndup(a, b.data, b.len);
    buf_release(&b);
    return text;
}

static int canonical_array(struct buf *out, const struct jv *v)
{
    size_t i;

    buf_putc(out, '[');
    for (i = 0; i < v->u.arr.len; i++) {
        if (i)
            buf_append(out, ", ", 2);
        if (jv_write_canonical(out, v->u.arr.items[i]) < 0)
            return -1;
    }
    buf_putc(out, ']');
    return 0;
}

static int canonical_object(struct buf *out, const struct jv *v)
{
    const struct jv_member *small[JV_SMALL_OBJECT], **sorted = small;
    size_t i, n = v->u.obj.len;
    int rc = 0;

    if (n > JV_SMALL_OBJECT)
        sorted = xmalloc(n * sizeof(*sorted));
    jv_sort_members(sorted, v->u.obj.items, n);
    buf_putc(out, '{');
    for (i = 0; i < n && rc == 0; i++) {
        if (i)
            buf_append(out, ", ", 2);
        canonical_string(out, sorted[i]->key, sorted[i]->key_len);
        buf_append(out, ": ", 2);
        rc = jv_write_canonical(out, sorted[i]->value);
    }
    buf_putc(out, '}');
    if (sorted != small)
        free(sorted);
    return rc;
}

static int canonical_cb(const struct jv *v, void *out)
{
    return jv_write_canonical(out, v);
}

int jv_write_canonical(struct buf *out, const struct jv *v)
{
    if (write_scalar(out, v, 0))
        return 0;
    switch (v->type) {
    case JV_STRING:
        canonical_string(out, v->u.s.p, v->u.s.len);
        return 0;
    case JV_ARRAY:
        return canonical_array(out, v);
    case JV_OBJECT:
        return canonical_object(out, v);
    case JV_RAW:
        return jv_with_raw_parsed(v, canonical_cb, out);
    default:
        BUG("jv_write_canonical: unknown type");
    }
}
