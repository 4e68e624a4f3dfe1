/* fuzz_ts.c - the timestamp parser (ts_parse) and the three writers.
 *
 * Invariants, for any input (taken as one NUL-terminated string, cut at the first NUL):
 *  - ts_parse either fails or gives a time whose Z, offset and fixed forms all parse back to
 *    exactly that time;
 *  - the fixed form is the storage form: `YYYY-MM-DDTHH:MM:SS.ffffffZ`, 27 characters for the
 *    years 0000-9999 that every accepted input has (four year digits).
 */
#include <string.h>

#include "fuzz.h"
#include "util/ts.h"

static void round_trip(int64_t us, size_t (*fmt)(int64_t, char *, size_t), const char *form)
{
    char out[TS_STR_LEN];
    int64_t back = 0;
    size_t n = fmt(us, out, sizeof(out));

    FUZZ_CHECK(n > 0 && n < sizeof(out) && strlen(out) == n, form);
    FUZZ_CHECK(ts_parse(out, &back) == 0, form);
    FUZZ_CHECK(back == us, form);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[256], fixed[TS_STR_LEN];
    int64_t us = 0;
    size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;

    memcpy(s, data, n);
    s[n] = '\0';
    if (ts_parse(s, &us) < 0)
        return 0;
    round_trip(us, ts_format_z, "Z form does not parse back to the same time");
    round_trip(us, ts_format_offset, "offset form does not parse back to the same time");
    round_trip(us, ts_format_fixed, "fixed form does not parse back to the same time");
    FUZZ_CHECK(ts_format_fixed(us, fixed, sizeof(fixed)) == 27 && fixed[26] == 'Z' &&
                   fixed[19] == '.',
               "fixed form is not YYYY-MM-DDTHH:MM:SS.ffffffZ");
    return 0;
}
