/* jv.c - number-preserving JSON values: the node model (text nodes, key order, duplicate
 * keys), accessors and constructors. The parser is in jv_parse.c, the writers in
 * jv_write.c and jv_float.c; jv-internal.h holds what they share. */
#include "util/jv-internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* Read-only singletons; the mutators refuse them by type, so the casts below never lead to a
 * write. */
static const struct jv null_node = { .type = JV_NULL };
static const struct jv true_node = { .type = JV_TRUE };
static const struct jv false_node = { .type = JV_FALSE };

/* A node of the given type with len bytes of text (plus NUL) in the same allocation. */
struct jv *jv_text_node(struct arena *a, enum jv_type type, const void *p, size_t len)
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
struct jv *jv_number_node(struct arena *a, const void *p, size_t len, int real)
{
    return jv_text_node(a, real ? JV_REAL : JV_INT, p, len);
}

/* The double of a JV_INT or JV_REAL. */
double jv_num_value(const struct jv *v)
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
void jv_sort_members(const struct jv_member **ptrs, const struct jv_member *m, size_t n)
{
    size_t i, j;

    for (i = 0; i < n; i++)
        ptrs[i] = &m[i];
    if (n > JV_SMALL_OBJECT) {
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
size_t jv_dedupe_members(struct jv_member *m, size_t n)
{
    const struct jv_member *small[JV_SMALL_OBJECT], **ptrs = small;
    size_t i, j, k, out = 0;

    if (n < 2)
        return n;
    if (n > JV_SMALL_OBJECT)
        ptrs = xmalloc(n * sizeof(*ptrs));
    jv_sort_members(ptrs, m, n);
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
        return jv_num_value(v);
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

    return jv_text_node(a, JV_INT, text, (size_t)len);
}

struct jv *jv_real(struct arena *a, double d)
{
    char text[32];
    size_t len = jv_fmt_double(d, text);
    struct jv *v = jv_text_node(a, JV_REAL, text, len);

    v->u.s.d = d;
    v->text_is_repr = 1;
    return v;
}

struct jv *jv_number_token(struct arena *a, const char *text)
{
    size_t n = strlen(text);
    int real;

    if (n == 0 || jv_scan_number((const unsigned char *)text, n, &real) != n)
        return NULL;
    return jv_number_node(a, text, n, real);
}

struct jv *jv_strn(struct arena *a, const char *s, size_t n)
{
    return jv_text_node(a, JV_STRING, s, n);
}

struct jv *jv_str(struct arena *a, const char *s)
{
    return jv_strn(a, s, strlen(s));
}

struct jv *jv_rawn(struct arena *a, const char *text, size_t n)
{
    return jv_text_node(a, JV_RAW, text, n);
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
