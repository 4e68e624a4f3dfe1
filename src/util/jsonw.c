/* jsonw.c - compact JSON output with Python-compatible float formatting. */
#include "util/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse "d.ddd…e±x" produced by %.*e into bare digits and a 0.DIGITS exponent. */
static void split_sci(const char *s, char *digits, int *exp10)
{
    int n = 0;
    const char *e = strchr(s, 'e');

    for (; s < e; s++) {
        if (*s >= '0' && *s <= '9')
            digits[n++] = *s;
    }
    digits[n] = '\0';
    *exp10 = atoi(e + 1) + 1;
}

static double digits_value(const char *digits, int exp10)
{
    char buf[48];

    snprintf(buf, sizeof(buf), "0.%se%d", digits, exp10);
    return strtod(buf, NULL);
}

/* Add delta (+1 or -1) to the last digit of a digit string, with carry/borrow.
 * Returns 0 on success, -1 if the result would change the digit count. */
static int bump_last(char *digits, int *exp10, int delta)
{
    int i = (int)strlen(digits) - 1;

    while (i >= 0) {
        int d = digits[i] - '0' + delta;

        if (d >= 0 && d <= 9) {
            digits[i] = (char)('0' + d);
            break;
        }
        digits[i] = delta > 0 ? '0' : '9';
        i--;
    }
    if (i < 0) {
        if (delta < 0)
            return -1;
        memmove(digits + 1, digits, strlen(digits) + 1);
        digits[0] = '1';
        digits[strlen(digits) - 1] = '\0';
        (*exp10)++;
    }
    if (digits[0] == '0')
        return -1;
    return 0;
}

static void strip_zeros(char *digits)
{
    size_t n = strlen(digits);

    while (n > 1 && digits[n - 1] == '0')
        digits[--n] = '\0';
}

/* The p-significant-digit decimal that reads back as d and is nearest to it, if any:
 * only the correctly rounded value and its two neighbours can be inside d's rounding
 * interval. Returns 1 and fills digits/exp10 when one exists. */
static int digits_at(double d, int p, char *digits, int *exp10)
{
    char buf[40], cand[24], best[24] = "";
    double best_err = INFINITY;
    int e, ce, best_e = 0, delta;

    snprintf(buf, sizeof(buf), "%.*e", p - 1, d);
    split_sci(buf, cand, &e);
    if (digits_value(cand, e) == d) {
        memcpy(digits, cand, sizeof(cand));
        *exp10 = e;
        return 1;
    }
    /* Near powers of two the gap below is half the gap above: a neighbour may hit. */
    for (delta = -1; delta <= 1; delta += 2) {
        char nb[24];
        double v;

        memcpy(nb, cand, sizeof(nb));
        ce = e;
        if (bump_last(nb, &ce, delta) < 0)
            continue;
        v = digits_value(nb, ce);
        if (v == d && fabs(v - d) <= best_err) {
            best_err = fabs(v - d);
            memcpy(best, nb, sizeof(best));
            best_e = ce;
        }
    }
    if (!best[0])
        return 0;
    memcpy(digits, best, sizeof(best));
    *exp10 = best_e;
    return 1;
}

/* Whether some p-digit decimal reads back as d only grows with p (append a zero), so the
 * shortest length is found by bisection: about four probes instead of up to seventeen. */
void shortest_digits(double d, char *out, int *exp10)
{
    char digits[24];
    int lo = 1, hi = 17, e;

    while (lo < hi) {
        int mid = (lo + hi) / 2;

        if (digits_at(d, mid, digits, &e))
            hi = mid;
        else
            lo = mid + 1;
    }
    if (!digits_at(d, lo, digits, &e)) {
        char buf[40];

        snprintf(buf, sizeof(buf), "%.16e", d);
        split_sci(buf, digits, &e);
    }
    strip_zeros(digits);
    memcpy(out, digits, strlen(digits) + 1);
    *exp10 = e;
}

size_t fmt_double(double d, char *out)
{
    char digits[24];
    int k, n, o = 0, i;

    if (isnan(d))
        return (size_t)sprintf(out, "NaN");
    if (isinf(d))
        return (size_t)sprintf(out, d < 0 ? "-Infinity" : "Infinity");
    if (d == 0.0)
        return (size_t)sprintf(out, signbit(d) ? "-0.0" : "0.0");
    if (d < 0)
        out[o++] = '-';
    shortest_digits(fabs(d), digits, &k);
    n = (int)strlen(digits);
    if (k > -4 && k <= 16) {
        if (k <= 0) {
            o += sprintf(out + o, "0.");
            for (i = 0; i < -k; i++)
                out[o++] = '0';
            o += sprintf(out + o, "%s", digits);
        } else if (k >= n) {
            o += sprintf(out + o, "%s", digits);
            for (i = 0; i < k - n; i++)
                out[o++] = '0';
            o += sprintf(out + o, ".0");
        } else {
            o += sprintf(out + o, "%.*s.%s", k, digits, digits + k);
        }
    } else {
        out[o++] = digits[0];
        if (n > 1)
            o += sprintf(out + o, ".%s", digits + 1);
        o += sprintf(out + o, "e%c%02d", k - 1 < 0 ? '-' : '+', abs(k - 1));
    }
    out[o] = '\0';
    return (size_t)o;
}

static void write_string(struct buf *out, const char *s, size_t n)
{
    size_t i, start = 0;

    buf_putc(out, '"');
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[8];

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_append(out, s + start, i - start);
        start = i + 1;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            snprintf(u, sizeof(u), "\\u%04x", c);
            esc = u;
        }
        buf_puts(out, esc);
    }
    buf_append(out, s + start, n - start);
    buf_putc(out, '"');
}

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
            write_string(out, key, strlen(key));
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
        write_string(out, json_string_value(v), json_string_length(v));
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
