/* jv_parse.c - the one-pass JSON parser behind jv_parse(), and the lexing helper (number
 * tokens) the constructors and the canonical writer share; UTF-8 is util/utf8. */
#include "util/jv-internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/hmap.h"
#include "util/utf8.h"
#include "util/xalloc.h"

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Length of the JSON number token at the start of s (n bytes), 0 if there is none. Greedy as
 * Python's NUMBER_RE: "1." is the token "1" followed by ".". *real tells whether it has a
 * fraction or an exponent. */
size_t jv_scan_number(const unsigned char *s, size_t n, int *real)
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
    struct hmap keys;        /* recent keys → their arena copy (texts of INTERN_MIN_TEXT+) */
    struct hmap strs;        /* recent short string values → their node (val.ptr) */
    size_t budget;           /* bytes the parse may take: arena growth and the stacks above */
    size_t arena_base;       /* arena_used() when the parse began */
};

const char jv_msg_over_budget[] = "document too large to parse";


/*
 * Documents repeat themselves: every row of an export has the same keys, and kinds, statuses,
 * sources and subject ids recur in row after row. Keys and string values of at most
 * INTERN_MAX bytes of texts of INTERN_MIN_TEXT bytes or more go through a map of recent ones
 * (util/hmap, started afresh once it holds INTERN_SLOTS), so a repeat shares the first copy
 * (the model's nodes are immutable and may sit in several containers) instead of costing a
 * node and its text again. An import of 10,000 episodes and 10,000 memories needs about a
 * quarter less.
 */
#define INTERN_SLOTS 512
#define INTERN_MAX 48
/* Smaller texts are parsed without: the tables would cost more than they save. */
#define INTERN_MIN_TEXT (64 * 1024)

/* The entry of s[0..len) in the intern map m; *added tells whether it is new, and the caller
 * then points its key at an arena copy and sets its value. A map that fills up starts afresh
 * (with the new entry alone), so it never grows past its first size. */
static struct hmap_entry *intern(struct hmap *m, const char *s, size_t len, int *added)
{
    uint32_t h = hmap_hash(s, len);
    struct hmap_entry *e = hmap_put_hashed(m, s, len, h, added);

    if (*added && m->count >= INTERN_SLOTS) {
        hmap_clear(m);
        e = hmap_put_hashed(m, s, len, h, added);
    }
    return e;
}

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

    buf_append(b, u, utf8_encode(cp, u));
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

/* The one-digit integers, shared by every parse (nodes are immutable): an array of small
 * numbers then costs one pointer per element. */
static const struct jv digits[10] = {
    { .type = JV_INT, .u.s = { "0", 1, 0.0 } }, { .type = JV_INT, .u.s = { "1", 1, 0.0 } },
    { .type = JV_INT, .u.s = { "2", 1, 0.0 } }, { .type = JV_INT, .u.s = { "3", 1, 0.0 } },
    { .type = JV_INT, .u.s = { "4", 1, 0.0 } }, { .type = JV_INT, .u.s = { "5", 1, 0.0 } },
    { .type = JV_INT, .u.s = { "6", 1, 0.0 } }, { .type = JV_INT, .u.s = { "7", 1, 0.0 } },
    { .type = JV_INT, .u.s = { "8", 1, 0.0 } }, { .type = JV_INT, .u.s = { "9", 1, 0.0 } },
};

static struct jv *parse_number(struct parser *p)
{
    int real;
    size_t len = jv_scan_number(p->s + p->pos, p->n - p->pos, &real);
    struct jv *v;

    if (!len)
        return fail(p, p->pos, "Expecting value");
    if (len == 1) {
        p->pos++;
        return (struct jv *)&digits[p->s[p->pos - 1] - '0'];
    }
    v = jv_number_node(p->a, p->s + p->pos, len, real);
    p->pos += len;
    return v;
}

static struct jv *parse_string_value(struct parser *p)
{
    struct hmap_entry *e;
    struct jv *v;
    const char *str;
    size_t len;
    int added;

    if (scan_string(p, &str, &len) < 0)
        return NULL;
    if (len > INTERN_MAX || p->n < INTERN_MIN_TEXT)
        return jv_text_node(p->a, JV_STRING, str, len);
    e = intern(&p->strs, str, len, &added);
    if (!added)
        return e->val.ptr;
    v = jv_text_node(p->a, JV_STRING, str, len);
    e->key = v->u.s.p;   /* str may lie in the scratch buffer */
    e->val.ptr = v;
    return v;
}

/* Whether growing a stack by extra bytes keeps the parse within its budget (else an error
 * is recorded): the stacks of one long array or object must not double past it. */
static int may_grow(struct parser *p, size_t extra)
{
    if (p->budget == SIZE_MAX)
        return 1;
    if (arena_used(p->a) - p->arena_base + p->capvals * sizeof(*p->vals) +
        p->capmems * sizeof(*p->mems) + extra <= p->budget)
        return 1;
    fail_at(p, p->pos, jv_msg_over_budget);
    return 0;
}

/* Before one more value or member: -1 once the parse has taken more than its budget. */
static int spend(struct parser *p)
{
    return may_grow(p, 0) ? 0 : -1;
}

static int push_value(struct parser *p, struct jv *v)
{
    if (p->nvals == p->capvals) {
        size_t cap = p->capvals ? 2 * p->capvals : 64;

        if (!may_grow(p, (cap - p->capvals) * sizeof(*p->vals)))
            return -1;
        p->capvals = cap;
        p->vals = xrealloc(p->vals, p->capvals * sizeof(*p->vals));
    }
    p->vals[p->nvals++] = v;
    return 0;
}

static int push_member(struct parser *p, const char *key, size_t len, struct jv *v)
{
    struct jv_member *m;

    if (p->nmems == p->capmems) {
        size_t cap = p->capmems ? 2 * p->capmems : 32;

        if (!may_grow(p, (cap - p->capmems) * sizeof(*p->mems)))
            return -1;
        p->capmems = cap;
        p->mems = xrealloc(p->mems, p->capmems * sizeof(*p->mems));
    }
    m = &p->mems[p->nmems++];
    if (len <= INTERN_MAX && p->n >= INTERN_MIN_TEXT) {
        int added;
        struct hmap_entry *e = intern(&p->keys, key, len, &added);

        if (added)
            e->key = arena_strndup(p->a, key, len);
        m->key = e->key;
    } else {
        m->key = arena_strndup(p->a, key, len);
    }
    m->key_len = len;
    m->value = v;
    return 0;
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
        if (push_value(p, item) < 0)
            return NULL;
        r = next_or_close(p, ']');
    }
    if (r < 0)
        return NULL;
    count = p->nvals - base;
    if (!may_grow(p, count * sizeof(*p->vals)))   /* the copy below */
        return NULL;
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
    if (spend(p) < 0 || scan_string(p, &key, &len) < 0)
        return -1;
    /* The key may live in scratch, which the value's strings reuse: copy it first. */
    idx = p->nmems;
    if (push_member(p, key, len, jv_null()) < 0)
        return -1;
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
    /* p->mems is NULL until the first member: no pointer arithmetic on it for {} */
    count = p->nmems > base ? jv_dedupe_members(p->mems + base, p->nmems - base) : 0;
    if (!may_grow(p, count * sizeof(*p->mems)))   /* the copy below */
        return NULL;
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
    if (spend(p) < 0)
        return NULL;
    switch (p->s[p->pos]) {
    case '{': return parse_object(p);
    case '[': return parse_array(p);
    case '"': return parse_string_value(p);
    case 't': return parse_literal(p, "true", jv_bool(p->a, 1));
    case 'f': return parse_literal(p, "false", jv_bool(p->a, 0));
    case 'n': return parse_literal(p, "null", jv_null());
    default: return parse_number(p);
    }
}

size_t jv_parse_budget(size_t n)
{
    return JV_BUDGET_BASE + JV_BUDGET_FACTOR * n;
}

struct jv *jv_parse(struct arena *a, const char *text, size_t n, size_t *err_pos,
                    const char **err_msg)
{
    return jv_parse_bounded(a, text, n, SIZE_MAX, err_pos, err_msg);
}

struct jv *jv_parse_bounded(struct arena *a, const char *text, size_t n, size_t max_bytes,
                            size_t *err_pos, const char **err_msg)
{
    struct parser p = { .a = a, .s = (const unsigned char *)text, .n = n, .budget = max_bytes,
                        .arena_base = arena_used(a) };
    struct jv *v;

    buf_init(&p.scratch);
    if (n >= INTERN_MIN_TEXT) {
        hmap_init(NULL, &p.keys, INTERN_SLOTS);
        hmap_init(NULL, &p.strs, INTERN_SLOTS);
    }
    v = parse_value(&p);
    if (v) {
        skip_ws(&p);
        if (p.pos < n)
            v = fail(&p, p.pos, "Extra data");
    }
    buf_release(&p.scratch);
    free(p.vals);
    free(p.mems);
    hmap_release(&p.keys);
    hmap_release(&p.strs);
    if (!v) {
        if (err_pos)
            *err_pos = p.err_pos;
        if (err_msg)
            *err_msg = p.err;
    }
    return v;
}

/* Run fn on the value a JV_RAW holds, parsed in a scratch arena. Returns fn's result, or -1
 * if the text is not valid JSON. */
int jv_with_raw_parsed(const struct jv *raw, int (*fn)(const struct jv *, void *),
                       void *arg)
{
    struct arena *scratch = arena_new();
    struct jv *v = jv_parse(scratch, raw->u.s.p, raw->u.s.len, NULL, NULL);
    int rc = v ? fn(v, arg) : -1;

    arena_free(scratch);
    return rc;
}
