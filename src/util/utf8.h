/* utf8.h - the few UTF-8 helpers the spec's string rules need (lengths in code points). */
#ifndef ENGRAM_UTIL_UTF8_H
#define ENGRAM_UTIL_UTF8_H

#include <stddef.h>

/* Number of code points in the n bytes at s (s is assumed valid UTF-8). */
size_t utf8_count(const char *s, size_t n);
/* Length of the longest prefix of s[0..n) that is valid UTF-8 and ends on a character
 * boundary. */
size_t utf8_valid_len(const char *s, size_t n);
/* Byte length of the first max_cp code points of s (n bytes). */
size_t utf8_prefix_bytes(const char *s, size_t n, size_t max_cp);

#endif
