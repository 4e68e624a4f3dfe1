/* utf8.h - the one UTF-8 decoder, and the string rules of spec/behavior.md §0.1 built on it:
 * lengths in code points, Python's whitespace (str.isspace) and lower() (libunistring). */
#ifndef ENGRAM_UTIL_UTF8_H
#define ENGRAM_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"

/* Decode the UTF-8 sequence at s (n >= 1 bytes available): its length (1 to 4) with *cp set,
 * or 0 when it is not valid UTF-8 (a stray continuation byte, an overlong form, a surrogate,
 * beyond U+10FFFF, or cut short by n). */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* utf8_decode for text that should be valid but is not checked: never 0. A byte that does
 * not start a valid sequence is taken alone, as the code point of its value (U+0080..U+00FF
 * for a high byte), so a scan always moves on. Inline: scans call it once per character. */
static inline size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    len = utf8_decode(s, n, cp);
    if (len)
        return len;
    *cp = s[0];
    return 1;
}
/* Write cp (at most U+10FFFF) as UTF-8 into out[0..4); returns its length. */
size_t utf8_encode(uint32_t cp, char out[4]);

/* Number of code points in the n bytes at s (s is assumed valid UTF-8). */
size_t utf8_count(const char *s, size_t n);
/* Length of the longest prefix of s[0..n) that is valid UTF-8 and ends on a character
 * boundary. */
size_t utf8_valid_len(const char *s, size_t n);
/* Byte length of the first max_cp code points of s (n bytes). */
size_t utf8_prefix_bytes(const char *s, size_t n, size_t max_cp);

/* 1 if cp is whitespace as Python's str.isspace() says (what str.split() and str.strip()
 * cut on): \t..\r, \x1c..\x1f, space, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028,
 * U+2029, U+202F, U+205F, U+3000. Inline for the same reason as utf8_next. */
static inline int utf8_is_space(uint32_t c)
{
    if (c < 0x80)
        return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}
/* Length in bytes of the whitespace character at s[0..n), 0 when s does not start with one
 * (or n is 0). */
size_t utf8_space_len(const char *s, size_t n);

/* lower(s) of spec/behavior.md §0.1: Python's str.lower(), the full Unicode lowercase mapping
 * (libunistring's u8_tolower: special casings such as U+0130 → "i̇", and the final sigma).
 * Returns a NUL-terminated copy of s[0..n) in arena a (*out_len gets its length when not
 * NULL). Invalid UTF-8 is copied with only its ASCII letters lowered. */
char *utf8_lower(struct arena *a, const char *s, size_t n, size_t *out_len);

#endif
