/* utf8.c - UTF-8 decoding, counting and validation, Python's whitespace and lower(). */
#include "util/utf8.h"

#include <stdlib.h>
#include <string.h>
#include <unicase.h>

size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len, i;
    uint32_t c;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
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

size_t utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t utf8_count(const char *s, size_t n)
{
    size_t i, count = 0;

    for (i = 0; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    }
    return count;
}

size_t utf8_valid_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    uint32_t cp;

    while (i < n) {
        size_t l = u[i] < 0x80 ? 1 : utf8_decode(u + i, n - i, &cp);

        if (l == 0)
            break;
        i += l;
    }
    return i;
}

size_t utf8_prefix_bytes(const char *s, size_t n, size_t max_cp)
{
    size_t i, count = 0;

    for (i = 0; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (count == max_cp)
                return i;
            count++;
        }
    }
    return n;
}

size_t utf8_space_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t cp;
    size_t len;

    if (n == 0)
        return 0;
    if (u[0] < 0x80)
        return utf8_is_space(u[0]);
    len = utf8_decode(u, n, &cp);
    return len && utf8_is_space(cp) ? len : 0;
}

/* ASCII letters lowered in place; returns 1 if s[0..n) is all ASCII. */
static int lower_ascii(char *s, size_t n)
{
    size_t i;
    int ascii = 1;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 'A' && c <= 'Z')
            s[i] = (char)(c + ('a' - 'A'));
        else if (c >= 0x80)
            ascii = 0;
    }
    return ascii;
}

char *utf8_lower(struct arena *a, const char *s, size_t n, size_t *out_len)
{
    char *out = arena_strndup(a, s, n);
    uint8_t *low;
    size_t len = n;

    /* ASCII (most text) maps to itself but for A-Z: no need to ask the library. */
    if (!lower_ascii(out, n) && utf8_valid_len(s, n) == n) {
        low = u8_tolower((const uint8_t *)s, n, NULL, NULL, NULL, &len);
        if (low) {
            out = arena_alloc(a, len + 1);
            memcpy(out, low, len);
            out[len] = '\0';
            free(low);
        } else {
            len = n; /* out of memory inside the library: ASCII lowering only */
        }
    }
    if (out_len)
        *out_len = len;
    return out;
}
