/* jsonw.h - our JSON writers over struct buf.
 *
 * json_write_compact: the wire form of every response, as the reference prints it: no spaces,
 * raw UTF-8, control characters escaped (\n, \t, … or lower-case \u00xx), floats in the
 * shortest form that reads back as the same double (Python's repr: 0.6, 1e-05, 1e+16).
 * jansson's own dumper prints floats with %.17g (0.59999999999999998), so it is not used
 * for output.
 */
#ifndef ENGRAM_UTIL_JSONW_H
#define ENGRAM_UTIL_JSONW_H

#include <jansson.h>
#include <stddef.h>

#include "util/buf.h"

/* A value that json_write_compact() writes as the given, already serialised JSON text
 * (stored payloads are spliced without being parsed again; numbers stay as stored). It is an
 * object whose only key is not valid UTF-8, which no parsed input can produce; jansson's own
 * dumper must never see it. Returns a new reference. */
json_t *json_raw(const char *text);

/* Append the compact serialisation of v to out. */
void json_write_compact(struct buf *out, const json_t *v);
/* Append the n bytes at s as a JSON string, escaped as json_write_compact escapes. For
 * responses written straight into a buffer, without a jansson tree. */
void json_write_str(struct buf *out, const char *s, size_t n);
/* Write d as Python's repr(float) does (shortest round-trip digits; "1.0", "1e-05",
 * "1e+16", "inf"-style values as Infinity/-Infinity/NaN). Returns the length written;
 * out must hold at least 32 bytes. */
size_t fmt_double(double d, char *out);
/* Shortest decimal digits of d (finite, non-zero, positive): digits into out (NUL-terminated,
 * at most 17) and *exp10 such that d = 0.DIGITS x 10^exp10. */
void shortest_digits(double d, char *out, int *exp10);

#endif
