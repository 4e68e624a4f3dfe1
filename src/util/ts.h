/* ts.h - timestamps as int64 microseconds since the Unix epoch (UTC), and their text forms.
 *
 * Forms: Z form `2026-04-24T12:00:00.123456Z` and offset form `...+00:00` (fraction dropped
 * when zero, as the reference prints them); fixed form `...00.000000Z` (always 6 digits) for
 * storage, so text order equals time order.
 */
#ifndef ENGRAM_UTIL_TS_H
#define ENGRAM_UTIL_TS_H

#include <stddef.h>
#include <stdint.h>

#define TS_NULL INT64_MIN   /* "no timestamp" (SQL NULL) */
#define TS_STR_LEN 40       /* enough for every form + NUL */

int64_t ts_now(void);
/* Monotonic clock in microseconds, for durations. */
int64_t ts_monotonic(void);
/* Each writes a NUL-terminated string into out (size >= TS_STR_LEN) and returns its length. */
size_t ts_format_z(int64_t us, char *out, size_t size);
size_t ts_format_offset(int64_t us, char *out, size_t size);
size_t ts_format_fixed(int64_t us, char *out, size_t size);
/* Parse an RFC 3339 / ISO-8601 timestamp: `T` or space separator, optional fraction (digits
 * beyond 6 are truncated), `Z`, `+HH:MM`, `+HHMM` or `+HH` offsets; no offset means UTC.
 * Returns 0 and sets *us, or -1 if s is not a valid timestamp or its UTC time falls outside
 * the years 0000-9999 that the writers print. */
int ts_parse(const char *s, int64_t *us);

#endif
