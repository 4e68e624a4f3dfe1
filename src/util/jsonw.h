/* jsonw.h - the jansson side of the response writer, on its way out (issue 13): what still
 * builds jansson trees writes them with json_write_compact(); everything new writes jv trees
 * with jv_write_compact() or streams with json_write_str() / fmt_double() (util/jv.h, which
 * this header includes so its older users keep compiling).
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
#include "util/jv.h"

/* A value that json_write_compact() writes as the given, already serialised JSON text
 * (stored payloads are spliced without being parsed again; numbers stay as stored). It is an
 * object whose only key is not valid UTF-8, which no parsed input can produce; jansson's own
 * dumper must never see it. Returns a new reference. */
json_t *json_raw(const char *text);

/* Append the compact serialisation of v to out: the same bytes jv_write_compact() writes for
 * the same value. */
void json_write_compact(struct buf *out, const json_t *v);

#endif
