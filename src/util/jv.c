/* jv.c - number-preserving JSON values: a one-pass parser, constructors, the compact and
 * canonical writers, and the jansson bridge. */
#include "util/jv.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonw.h"
#include "util/xalloc.h"

struct jv_member {
    const char *key;      /* NUL-terminated UTF-8 in the arena */
    size_t key_len;       /* bytes, excluding the terminator */
    struct jv *value;     /* never NULL */
};

struct jv {
    enum jv_type type;
    unsigned char text_is_repr;  /* JV_REAL: the text is fmt_double(d) already (jv_real) */
    union {
        struct {
            const char *p;     /* string bytes, number token or raw text; NUL-terminated */
            size_t len;        /* bytes, excluding the terminator */
            double d;          /* JV_REAL from jv_real() only: the value (see num_value) */
        } s;
        struct {
            struct jv **items; /* in the arena; NULL while cap is 0 */
            size_t len, cap;   /* used and allocated slots */
        } arr;
        struct {
            struct jv_member *items;
            size_t len, cap;
        } obj;
    } u;
};

/* Read-only singletons; the mutators refuse them by type, so the casts below never lead to a
 * write. */
static const struct jv null_node = { .type = JV_NULL };
static const struct jv true_node = { .type = JV_TRUE };
static const struct jv false_node = { .type = JV_FALSE };

/* Objects up to this size are deduplicated and sorted by simple quadratic loops. */
#define SMALL_OBJECT 16

static const char hex_digits[] = "0123456789abcdef";

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Length of the valid UTF-8 sequence at s (n bytes available) starting with a byte >= 0x80,
 * or 0 if it is invalid (overlong, surrogate, beyond U+10FFFF, truncated). *cp gets the
 * code point. */
static size_t utf8_decode(const unsigned char *s, size_t n, unsigned int *cp)
{
    size_t len, i;
    unsigned int c;

    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        len = 2, c = s[0] & 0x1F;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        len = 3, c = s[0] & 0x0F;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        len = 4, c = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
        (len == 4 && (c < 0x10000 || c > 0x10FFFF)))
        return 0;
    *cp = c;
    return len;
}

/* Length of the JSON number token at the start of s (n bytes), 0 if there is none. Greedy as
 * Python's NUMBER_RE: "1." is the token "1" followed by ".". *real tells whether it has a
 * fraction or an exponent. */
static size_t scan_number(const unsigned char *s, size_t n, int *real)
{
    size_t i = 0, j;

    *real = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0') {
        i++;
    } else if (i < n && s[i] >= '1' && s[i] <= '9') {
        while (i < n && is_digit(s[i]))
            i++;
    } else {
        return 0;
    }
    if (i + 1 < n && s[i] == '.' && is_digit(s[i + 1])) {
        for (i += 2; i < n && is_digit(s[i]); i++)
            ;
        *real = 1;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        j = i + 1;
        if (j < n && (s[j] == '+' || s[j] == '-'))
            j++;
        if (j < n && is_digit(s[j])) {
            for (i = j + 1; i < n && is_digit(s[i]); i++)
                ;
            *real = 1;
        }
    }
    return i;
}

/* A node of the given type with len bytes of text (plus NUL) in the same allocation. */
static struct jv *text_node(struct arena *a, enum jv_type type, const void *p, size_t len)
{
    struct jv *v = arena_alloc(a, sizeof(*v) + len + 1);
    char *text = (char *)(v + 1);

    memcpy(text, p, len);
    text[len] = '\0';
    v->type = type;
    v->text_is_repr = 0;
    v->u.s.p = text;
    v->u.s.len = len;
    v->u.s.d = 0.0;
    return v;
}

/* Parsed numbers keep only their token: strtod() runs when a value is asked for (writers,
 * jv_double), which keeps the parser fast for stored JSON that is only passed through. */
static struct jv *number_node(struct arena *a, const void *p, size_t len, int real)
{
    return text_node(a, real ? JV_REAL : JV_INT, p, len);
}

/* The double of a JV_INT or JV_REAL. */
static double num_value(const struct jv *v)
{
    return v->text_is_repr ? v->u.s.d : strtod(v->u.s.p, NULL);
}

/* ---- Duplicate keys and key order ---- */

static int key_cmp(const struct jv_member *x, const struct jv_member *y)
{
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);

    if (c)
        return c;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static int key_equal(const struct jv_member *m, const char *key, size_t len)
{
    return m->key_len == len && memcmp(m->key, key, len) == 0;
}

/* qsort order of member pointers: by key, then by position (pointers into one array). */
static int member_ptr_cmp(const void *pa, const void *pb)
{
    const struct jv_member *x = *(const struct jv_member *const *)pa;
    const struct jv_member *y = *(const struct jv_member *const *)pb;
    int c = key_cmp(x, y);

    if (c)
        return c;
    return (x > y) - (x < y);
}

/* Sort pointers to the n members at m by key (stable for equal keys). */
static void sort_members(const struct jv_member **ptrs, const struct jv_member *m, size_t n)
{
    size_t i, j;

    for (i = 0; i < n; i++)
        ptrs[i] = &m[i];
    if (n > SMALL_OBJECT) {
        qsort(ptrs, n, sizeof(*ptrs), member_ptr_cmp);
        return;
    }
    for (i = 1; i < n; i++) {
        const struct jv_member *t = ptrs[i];

        for (j = i; j > 0 && key_cmp(ptrs[j - 1], t) > 0; j--)
            ptrs[j] = ptrs[j - 1];
        ptrs[j] = t;
    }
}

/* Collapse equal keys among the n members at m, Python style: the first position, the last
 * value. Returns the new count; O(n log n), so hostile input cannot make it quadratic. */
static size_t dedupe_members(struct jv_member *m, size_t n)
{
    const struct jv_member *small[SMALL_OBJECT], **ptrs = small;
    size_t i, j, k, out = 0;

    if (n < 2)
        return n;
    if (n > SMALL_OBJECT)
        ptrs = xmalloc(n * sizeof(*ptrs));
    sort_members(ptrs, m, n);
    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && key_cmp(ptrs[i], ptrs[j]) == 0; j++)
            ;
        if (j - i < 2)
            continue;
        /* ptrs[i] is the first occurrence, ptrs[j - 1] the last (ties sort by position). */
        m[ptrs[i] - m].value = ptrs[j - 1]->value;
        for (k = i + 1; k < j; k++)
            m[ptrs[k] - m].value = NULL;
    }
    if (ptrs != small)
        free(ptrs);
    for (i = 0; i < n; i++) {
        if (m[i].value)
            m[out++] = m[i];
    }
    return out;
}

/* ---- Parser ---- */

struct parser {
    struct arena *a;
    const unsigned char *s;  /* the text (borrowed) */
    size_t n;                /* its length */
    size_t pos;              /* next byte to read */
    int depth;               /* open arrays and objects */
    const char *err;         /* first error message, NULL while none */
    size_t err_pos;          /* its byte offset */
    struct buf scratch;      /* decoded text of the current string when it has escapes */
    struct jv **vals;        /* elements of every open array, innermost last */
    size_t nvals, capvals;
    struct jv_member *mems;  /* members of every open object, innermost last */
    size_t nmems, capmems;
};

/* Byte classes inside a string: 0 = plain ASCII, copied as is. */
enum { SC_PLAIN, SC_QUOTE, SC_ESCAPE, SC_CONTROL, SC_HIGH };

static unsigned char string_class(unsigned char c)
{
    if (c == '"')
        return SC_QUOTE;
    if (c == '\\')
        return SC_ESCAPE;
    if (c < 0x20)
        return SC_CONTROL;
    return c < 0x80 ? SC_PLAIN : SC_HIGH;
}

/* Record the first error. fail_at returns 0 (a byte count), fail_rc -1, fail NULL, so that
 * every caller fails in one statement. */
static size_t fail_at(struct parser *p, size_t pos, const char *msg)
{
    if (!p->err) {
        p->err = msg;
        p->err_pos = pos;
    }
    return 0;
}

static int fail_rc(struct parser *p, size_t pos, const char *msg)
{
    fail_at(p, pos, msg);
    return -1;
}

static struct jv *fail(struct parser *p, size_t pos, const char *msg)
{
    fail_at(p, pos, msg);
    return NULL;
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->n) {
        unsigned char c = p->s[p->pos];

        if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
            break;
        p->pos++;
    }
}

static void put_utf8(struct buf *b, unsigned int cp)
{
    char u[4];

    if (cp < 0x80) {
        u[0] = (char)cp;
        buf_append(b, u, 1);
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        buf_append(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        buf_append(b, u, 3);
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        buf_append(b, u, 4);
    }
}

/* The 4 hex digits at s[i..i+4) as a number, or -1 if they are missing or not hex. */
static long hex4(const struct parser *p, size_t i)
{
    long v = 0;
    size_t k;

    if (i + 4 > p->n)
        return -1;
    for (k = i; k < i + 4; k++) {
        unsigned char c = p->s[k];

        if (is_digit(c))
            v = v * 16 + (c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v * 16 + (c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v = v * 16 + (c - 'A' + 10);
        else
            return -1;
    }
    return v;
}

/* Decode the \u escape at s[i] (pairing surrogates) into scratch; returns the bytes read,
 * or 0 after recording an error. Malformed hex is reported at the 'u', as Python does;
 * bad code points at the backslash. */
static size_t decode_u_escape(struct parser *p, size_t i)
{
    long cp = hex4(p, i + 2), lo;

    if (cp < 0)
        return fail_at(p, i + 1, "Invalid \\uXXXX escape");
    if (cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
        return fail_at(p, i, "invalid unicode");
    if (cp < 0xD800 || cp > 0xDBFF) {
        put_utf8(&p->scratch, (unsigned int)cp);
        return 6;
    }
    if (i + 8 > p->n || p->s[i + 6] != '\\' || p->s[i + 7] != 'u')
        return fail_at(p, i, "invalid unicode");
    lo = hex4(p, i + 8);
    if (lo < 0)
        return fail_at(p, i + 7, "Invalid \\uXXXX escape");
    if (lo < 0xDC00 || lo > 0xDFFF)
        return fail_at(p, i, "invalid unicode");
    put_utf8(&p->scratch, (unsigned int)(0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)));
    return 12;
}

/* Decode the escape at s[i] (a backslash) into scratch; returns the bytes read, or 0 after
 * recording an error. quote is the offset of the string's opening quote. */
static size_t decode_escape(struct parser *p, size_t i, size_t quote)
{
    char c;

    if (i + 1 >= p->n)
        return fail_at(p, quote, "Unterminated string starting at");
    switch (p->s[i + 1]) {
    case '"': c = '"'; break;
    case '\\': c = '\\'; break;
    case '/': c = '/'; break;
    case 'b': c = '\b'; break;
    case 'f': c = '\f'; break;
    case 'n': c = '\n'; break;
    case 'r': c = '\r'; break;
    case 't': c = '\t'; break;
    case 'u': return decode_u_escape(p, i);
    default: return fail_at(p, i, "Invalid \\escape");
    }
    buf_putc(&p->scratch, c);
    return 2;
}

/* Read the string whose opening quote is at pos. On success *out and *len describe its decoded
 * bytes (in the input when it has no escapes, else in scratch, valid until the next string)
 * and pos moves past the closing quote. Returns 0, or -1 after recording an error. */
static int scan_string(struct parser *p, const char **out, size_t *len)
{
    const unsigned char *s = p->s;
    size_t quote = p->pos, i = quote + 1, run = i, step;
    int escaped = 0;
    unsigned int cp;

    for (;;) {
        if (i >= p->n)
            return fail_rc(p, quote, "Unterminated string starting at");
        switch (string_class(s[i])) {
        case SC_PLAIN:
            i++;
            continue;
        case SC_QUOTE:
            break;
        case SC_ESCAPE:
            if (!escaped)
                buf_reset(&p->scratch);
            escaped = 1;
            buf_append(&p->scratch, s + run, i - run);
            step = decode_escape(p, i, quote);
            if (!step)
                return -1;
            i += step;
            run = i;
            continue;
        case SC_CONTROL:
            return fail_rc(p, i, "Invalid control character at");
        default:
            step = utf8_decode(s + i, p->n - i, &cp);
            if (!step)
                return fail_rc(p, i, "invalid UTF-8");
            i += step;
            continue;
        }
        break;
    }
    if (escaped) {
        buf_append(&p->scratch, s + run, i - run);
        *out = p->scratch.data;
        *len = p->scratch.len;
    } else {
        *out = (const char *)s + quote + 1;
        *len = i - quote - 1;
    }
    p->pos = i + 1;
    return 0;
}

static struct jv *parse_value(struct parser *p);

static struct jv *parse_literal(struct parser *p, const char *word, const struct jv *node)
{
    size_t len = strlen(word);

    if (p->n - p->pos < len || memcmp(p->s + p->pos, word, len) != 0)
        return fail(p, p->pos, "Expecting value");
    p->pos += len;
    return (struct jv *)node;
}

static struct jv *parse_number(struct parser *p)
{
    int real;
    size_t len = scan_number(p->s + p->pos, p->n - p->pos, &real);
    struct jv *v;

    if (!len)
        return fail(p, p->pos, "Expecting value");
    v = number_node(p->a, p->s + p->pos, len, real);
    p->pos += len;
    return v;
}

static struct jv *parse_string_value(struct parser *p)
{
    const char *str;
    size_t len;

    if (scan_string(p, &str, &len) < 0)
        return NULL;
    return text_node(p->a, JV_STRING, str, len);
}

static void push_value(struct parser *p, struct jv *v)
{
    if (p->nvals == p->capvals) {
        p->capvals = p->capvals ? 2 * p->capvals : 64;
        p->vals = xrealloc(p->vals, p->capvals * sizeof(*p->vals));
    }
    p->vals[p->nvals++] = v;
}

static void push_member(struct parser *p, const char *key, size_t len, struct jv *v)
{
    struct jv_member *m;

    if (p->nmems == p->capmems) {
        p->capmems = p->capmems ? 2 * p->capmems : 32;
        p->mems = xrealloc(p->mems, p->capmems * sizeof(*p->mems));
    }
    m = &p->mems[p->nmems++];
    m->key = arena_strndup(p->a, key, len);
    m->key_len = len;
    m->value = v;
}

/* Enter a container at pos; fails past JV_MAX_DEPTH. */
static int enter(struct parser *p)
{
    if (p->depth >= JV_MAX_DEPTH)
        return fail_rc(p, p->pos, "nesting too deep");
    p->depth++;
    p->pos++;
    skip_ws(p);
    return 0;
}

/* After an element: 1 at the closing byte (consumed), 0 after a comma, -1 on error. */
static int next_or_close(struct parser *p, unsigned char close)
{
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == close) {
        p->pos++;
        return 1;
    }
    if (p->pos < p->n && p->s[p->pos] == ',') {
        p->pos++;
        skip_ws(p);
        return 0;
    }
    return fail_rc(p, p->pos, "Expecting ',' delimiter");
}

static struct jv *parse_array(struct parser *p)
{
    size_t base = p->nvals, count;
    struct jv *arr, *item;
    int r = 0;

    if (enter(p) < 0)
        return NULL;
    if (p->pos < p->n && p->s[p->pos] == ']') {
        p->pos++;
        r = 1;
    }
    while (r == 0) {
        item = parse_value(p);
        if (!item)
            return NULL;
        push_value(p, item);
        r = next_or_close(p, ']');
    }
    if (r < 0)
        return NULL;
    count = p->nvals - base;
    arr = arena_alloc(p->a, sizeof(*arr));
    arr->type = JV_ARRAY;
    arr->u.arr.items = count ? arena_memdup(p->a, p->vals + base, count * sizeof(*p->vals)) : NULL;
    arr->u.arr.len = arr->u.arr.cap = count;
    p->nvals = base;
    p->depth--;
    return arr;
}

/* One "key": value member at pos (just past '{' or ','); returns 0 or -1. */
static int parse_member(struct parser *p)
{
    const char *key;
    size_t len, idx;
    struct jv *v;

    if (p->pos >= p->n || p->s[p->pos] != '"')
        return fail_rc(p, p->pos, "Expecting property name enclosed in double quotes");
    if (scan_string(p, &key, &len) < 0)
        return -1;
    /* The key may live in scratch, which the value's strings reuse: copy it first. */
    idx = p->nmems;
    push_member(p, key, len, jv_null());
    skip_ws(p);
    if (p->pos >= p->n || p->s[p->pos] != ':')
        return fail_rc(p, p->pos, "Expecting ':' delimiter");
    p->pos++;
    v = parse_value(p);
    if (!v)
        return -1;
    /* parse_value() may have grown (moved) mems: index, don't keep a pointer. */
    p->mems[idx].value = v;
    return 0;
}

static struct jv *parse_object(struct parser *p)
{
    size_t base = p->nmems, count;
    struct jv *obj;
    int r = 0;

    if (enter(p) < 0)
        return NULL;
    if (p->pos < p->n && p->s[p->pos] == '}') {
        p->pos++;
        r = 1;
    }
    while (r == 0) {
        if (parse_member(p) < 0)
            return NULL;
        r = next_or_close(p, '}');
    }
    if (r < 0)
        return NULL;
    count = dedupe_members(p->mems + base, p->nmems - base);
    obj = arena_alloc(p->a, sizeof(*obj));
    obj->type = JV_OBJECT;
    obj->u.obj.items = count ? arena_memdup(p->a, p->mems + base, count * sizeof(*p->mems))
                             : NULL;
    obj->u.obj.len = obj->u.obj.cap = count;
    p->nmems = base;
    p->depth--;
    return obj;
}

static struct jv *parse_value(struct parser *p)
{
    skip_ws(p);
    if (p->pos >= p->n)
        return fail(p, p->pos, "Expecting value");
    switch (p->s[p->pos]) {
    case '{': return parse_object(p);
    case '[': return parse_array(p);
    case '"': return parse_string_value(p);
    case 't': return parse_literal(p, "true", &true_node);
    case 'f': return parse_literal(p, "false", &false_node);
    case 'n': return parse_literal(p, "null", &null_node);
    default: return parse_number(p);
    }
}

struct jv *jv_parse(struct arena *a, const char *text, size_t n, size_t *err_pos,
                    const char **err_msg)
{
    struct parser p = { .a = a, .s = (const unsigned char *)text, .n = n };
    struct jv *v;

    buf_init(&p.scratch);
    v = parse_value(&p);
    if (v) {
        skip_ws(&p);
        if (p.pos < n)
            v = fail(&p, p.pos, "Extra data");
    }
    buf_release(&p.scratch);
    free(p.vals);
    free(p.mems);
    if (!v) {
        if (err_pos)
            *err_pos = p.err_pos;
        if (err_msg)
            *err_msg = p.err;
    }
    return v;
}

/* ---- Accessors ---- */

enum jv_type jv_type(const struct jv *v)
{
    return v->type;
}

const char *jv_string(const struct jv *v, size_t *len)
{
    if (v->type != JV_STRING)
        return NULL;
    if (len)
        *len = v->u.s.len;
    return v->u.s.p;
}

const char *jv_number_text(const struct jv *v)
{
    return v->type == JV_INT || v->type == JV_REAL ? v->u.s.p : NULL;
}

const char *jv_raw_text(const struct jv *v, size_t *len)
{
    if (v->type != JV_RAW)
        return NULL;
    if (len)
        *len = v->u.s.len;
    return v->u.s.p;
}

int jv_is_int(const struct jv *v)
{
    return v->type == JV_INT;
}

int jv_is_true(const struct jv *v)
{
    return v->type == JV_TRUE;
}

int jv_int64(const struct jv *v, int64_t *out)
{
    const char *s;
    uint64_t mag = 0, limit;
    int neg;

    if (v->type != JV_INT)
        return -1;
    s = v->u.s.p;
    neg = *s == '-';
    s += neg;
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *s; s++) {
        unsigned d = (unsigned)(*s - '0');

        if (mag > (limit - d) / 10)
            return -1;
        mag = mag * 10 + d;
    }
    if (neg)
        *out = mag ? -(int64_t)(mag - 1) - 1 : 0;
    else
        *out = (int64_t)mag;
    return 0;
}

double jv_double(const struct jv *v)
{
    if (v->type == JV_REAL || v->type == JV_INT)
        return num_value(v);
    return 0.0;
}

size_t jv_array_size(const struct jv *v)
{
    return v->type == JV_ARRAY ? v->u.arr.len : 0;
}

size_t jv_object_size(const struct jv *v)
{
    return v->type == JV_OBJECT ? v->u.obj.len : 0;
}

struct jv *jv_array_get(const struct jv *v, size_t i)
{
    return v->type == JV_ARRAY && i < v->u.arr.len ? v->u.arr.items[i] : NULL;
}

const char *jv_object_key(const struct jv *v, size_t i, size_t *len)
{
    if (v->type != JV_OBJECT || i >= v->u.obj.len)
        return NULL;
    if (len)
        *len = v->u.obj.items[i].key_len;
    return v->u.obj.items[i].key;
}

struct jv *jv_object_value(const struct jv *v, size_t i)
{
    return v->type == JV_OBJECT && i < v->u.obj.len ? v->u.obj.items[i].value : NULL;
}

struct jv *jv_object_getn(const struct jv *v, const char *key, size_t len)
{
    size_t i;

    if (v->type != JV_OBJECT)
        return NULL;
    for (i = 0; i < v->u.obj.len; i++) {
        if (key_equal(&v->u.obj.items[i], key, len))
            return v->u.obj.items[i].value;
    }
    return NULL;
}

struct jv *jv_object_get(const struct jv *v, const char *key)
{
    return jv_object_getn(v, key, strlen(key));
}

/* ---- Constructors ---- */

struct jv *jv_null(void)
{
    return (struct jv *)&null_node;
}

struct jv *jv_bool(struct arena *a, int b)
{
    (void)a;
    return (struct jv *)(b ? &true_node : &false_node);
}

struct jv *jv_int(struct arena *a, int64_t i)
{
    char text[24];
    int len = snprintf(text, sizeof(text), "%" PRId64, i);

    return text_node(a, JV_INT, text, (size_t)len);
}

struct jv *jv_real(struct arena *a, double d)
{
    char text[32];
    size_t len = fmt_double(d, text);
    struct jv *v = text_node(a, JV_REAL, text, len);

    v->u.s.d = d;
    v->text_is_repr = 1;
    return v;
}

struct jv *jv_number_token(struct arena *a, const char *text)
{
    size_t n = strlen(text);
    int real;

    if (n == 0 || scan_number((const unsigned char *)text, n, &real) != n)
        return NULL;
    return number_node(a, text, n, real);
}

struct jv *jv_strn(struct arena *a, const char *s, size_t n)
{
    return text_node(a, JV_STRING, s, n);
}

struct jv *jv_str(struct arena *a, const char *s)
{
    return jv_strn(a, s, strlen(s));
}

struct jv *jv_rawn(struct arena *a, const char *text, size_t n)
{
    return text_node(a, JV_RAW, text, n);
}

struct jv *jv_raw(struct arena *a, const char *text)
{
    return jv_rawn(a, text, strlen(text));
}

static struct jv *container_node(struct arena *a, enum jv_type type)
{
    struct jv *v = arena_calloc(a, 1, sizeof(*v));

    v->type = type;
    return v;
}

struct jv *jv_array(struct arena *a)
{
    return container_node(a, JV_ARRAY);
}

struct jv *jv_object(struct arena *a)
{
    return container_node(a, JV_OBJECT);
}

/* Grow an arena array of *cap elements of size sz holding len of them; returns the new
 * storage (the old one stays in the arena, unused). */
static void *grow(struct arena *a, void *items, size_t len, size_t *cap, size_t sz)
{
    size_t ncap = *cap ? 2 * *cap : 8;
    void *n = arena_calloc(a, ncap, sz);

    if (len)
        memcpy(n, items, len * sz);
    *cap = ncap;
    return n;
}

void jv_array_append(struct arena *a, struct jv *arr, struct jv *v)
{
    if (arr->type != JV_ARRAY || !v)
        BUG("jv_array_append on a non-array or with a NULL value");
    if (arr->u.arr.len == arr->u.arr.cap)
        arr->u.arr.items = grow(a, arr->u.arr.items, arr->u.arr.len, &arr->u.arr.cap,
                                sizeof(*arr->u.arr.items));
    arr->u.arr.items[arr->u.arr.len++] = v;
}

void jv_object_setn(struct arena *a, struct jv *obj, const char *key, size_t len,
                    struct jv *v)
{
    struct jv_member *m;
    size_t i;

    if (obj->type != JV_OBJECT || !v)
        BUG("jv_object_set on a non-object or with a NULL value");
    for (i = 0; i < obj->u.obj.len; i++) {
        if (key_equal(&obj->u.obj.items[i], key, len)) {
            obj->u.obj.items[i].value = v;
            return;
        }
    }
    if (obj->u.obj.len == obj->u.obj.cap)
        obj->u.obj.items = grow(a, obj->u.obj.items, obj->u.obj.len, &obj->u.obj.cap,
                                sizeof(*obj->u.obj.items));
    m = &obj->u.obj.items[obj->u.obj.len++];
    m->key = arena_strndup(a, key, len);
    m->key_len = len;
    m->value = v;
}

void jv_object_set(struct arena *a, struct jv *obj, const char *key, struct jv *v)
{
    jv_object_setn(a, obj, key, strlen(key), v);
}

/* ---- Writers ---- */

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

/* Wire form: raw UTF-8, only '"', '\' and control characters escaped. */
static void compact_string(struct buf *out, const char *s, size_t n)
{
    size_t i, run = 0;

    buf_putc(out, '"');
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

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
    d = num_value(v);
    if (keep_overflow && !isfinite(d)) {
        buf_append(out, v->u.s.p, v->u.s.len);
        return;
    }
    buf_append(out, num, fmt_double(d, num));
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
        compact_string(out, v->u.s.p, v->u.s.len);
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
            compact_string(out, v->u.obj.items[i].key, v->u.obj.items[i].key_len);
            buf_putc(out, ':');
            jv_write_compact(out, v->u.obj.items[i].value);
        }
        buf_putc(out, '}');
        break;
    default:
        BUG("jv_write_compact: unknown type");
    }
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
    const struct jv_member *small[SMALL_OBJECT], **sorted = small;
    size_t i, n = v->u.obj.len;
    int rc = 0;

    if (n > SMALL_OBJECT)
        sorted = xmalloc(n * sizeof(*sorted));
    sort_members(sorted, v->u.obj.items, n);
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

/* Run fn on the value a JV_RAW holds, parsed in a scratch arena. Returns fn's result, or -1
 * if the text is not valid JSON. */
static int with_raw_parsed(const struct jv *raw, int (*fn)(const struct jv *, void *),
                           void *arg)
{
    struct arena *scratch = arena_new();
    struct jv *v = jv_parse(scratch, raw->u.s.p, raw->u.s.len, NULL, NULL);
    int rc = v ? fn(v, arg) : -1;

    arena_free(scratch);
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
        return with_raw_parsed(v, canonical_cb, out);
    default:
        BUG("jv_write_canonical: unknown type");
    }
}

/* ---- jansson bridge ---- */

static json_t *array_to_jansson(const struct jv *v)
{
    json_t *arr = json_array();
    size_t i;

    for (i = 0; i < v->u.arr.len; i++) {
        json_t *item = jv_to_jansson(v->u.arr.items[i]);

        if (!item || json_array_append_new(arr, item) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *object_to_jansson(const struct jv *v)
{
    json_t *obj = json_object();
    size_t i;

    for (i = 0; i < v->u.obj.len; i++) {
        const struct jv_member *m = &v->u.obj.items[i];
        json_t *item = jv_to_jansson(m->value);

        /* json_object_setn_new() takes item over even when it fails. */
        if (!item || json_object_setn_new(obj, m->key, m->key_len, item) < 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

static int raw_cb(const struct jv *v, void *out)
{
    json_t *j = jv_to_jansson(v);

    *(json_t **)out = j;
    return j ? 0 : -1;
}

json_t *jv_to_jansson(const struct jv *v)
{
    json_t *j = NULL;
    int64_t i;

    switch (v->type) {
    case JV_NULL: return json_null();
    case JV_TRUE: return json_true();
    case JV_FALSE: return json_false();
    case JV_INT:
        if (jv_int64(v, &i) == 0)
            return json_integer((json_int_t)i);
        return json_real(jv_double(v));
    case JV_REAL: return json_real(num_value(v));
    case JV_STRING: return json_stringn(v->u.s.p, v->u.s.len);
    case JV_ARRAY: return array_to_jansson(v);
    case JV_OBJECT: return object_to_jansson(v);
    case JV_RAW:
        with_raw_parsed(v, raw_cb, &j);
        return j;
    }
    return NULL;
}
