/* pyrepr.h - Python's repr() and str() of the values json.loads() makes of JSON (spec/
 * behavior.md §3.1 "as text", and the reference's error messages that quote values). */
#ifndef ENGRAM_UTIL_PYREPR_H
#define ENGRAM_UTIL_PYREPR_H

#include <stddef.h>

#include "util/buf.h"
#include "util/jv.h"

/*
 * repr(str) of the UTF-8 text s[0..n), appended to out, as CPython 3.11 writes it: single
 * quotes unless the text holds ' and no ", then double quotes; a backslash before the quote
 * in use and before '\'; \t \n \r; every other character that str.isprintable() refuses
 * (categories Cc Cf Cs Co Cn Zl Zp, and Zs but for the space, Unicode 14.0 as in Python 3.11)
 * as \xNN up to U+00FF, \uNNNN up to U+FFFF, else \UNNNNNNNN, lower-case hex. Everything
 * else is copied as it is. A byte that is not valid UTF-8 (jv_parse() lets none through)
 * is escaped as \xNN.
 */
void pyrepr_str(struct buf *out, const char *s, size_t n);
/* repr(v): None, True, False, integers with every digit ("-0" as 0), floats in repr's
 * shortest form (inf and -inf beyond the double range), strings as pyrepr_str, lists
 * [a, b] and dicts {'k': v} in document order. NULL is None; a JV_RAW is appended as its
 * text. */
void pyrepr_value(struct buf *out, const struct jv *v);
/* str(v): a string as it is, anything else as repr(v) (so NULL is "None"). */
void pyrepr_text(struct buf *out, const struct jv *v);

#endif
