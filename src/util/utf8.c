/* utf8.c - UTF-8 counting and validation. */
#include "util/utf8.h"

size_t utf8_count(const char *s, size_t n)
{
    size_t i, count = 0;

    for (i = 0; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    }
    return count;
}

/* Length of the valid sequence starting at s (at most n bytes), or 0 if invalid. */
static size_t seq_len(const unsigned char *s, size_t n)
{
    size_t len, i;
    unsigned int cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        len = 2, cp = s[0] & 0x1F;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        len = 3, cp = s[0] & 0x0F;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        len = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

size_t utf8_valid_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        size_t l = seq_len(u + i, n - i);

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
