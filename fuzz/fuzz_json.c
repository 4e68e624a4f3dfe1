/* fuzz_json.c - the JSON parser (jv_parse) and both writers.
 *
 * Invariants, for any input:
 *  - jv_parse either returns a value or fails with a message and an offset inside the text;
 *  - the compact (wire) form of a parsed value parses again, and writing that value compact
 *    gives the same bytes (the wire form is a fixed point);
 *  - the canonical (checksum) form is pure ASCII, the same for the value and for its compact
 *    round trip (what an import recomputes equals what the export hashed), and, unless it
 *    holds Python's Infinity/NaN (a real beyond the double range), parses back to a value
 *    whose canonical form is the same bytes.
 */
#include <string.h>

#include "fuzz.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/jv.h"

static void check_canonical(struct arena *a, const struct jv *v, const struct buf *compact)
{
    struct buf k1 = BUF_INIT, k2 = BUF_INIT;
    const struct jv *again;
    size_t i;

    FUZZ_CHECK(jv_write_canonical(&k1, v) == 0, "canonical writer fails on a parsed value");
    for (i = 0; i < k1.len; i++)
        FUZZ_CHECK((unsigned char)k1.data[i] < 0x80, "canonical form is not pure ASCII");
    again = jv_parse(a, compact->data, compact->len, NULL, NULL);
    FUZZ_CHECK(jv_write_canonical(&k2, again) == 0, "canonical writer fails after round trip");
    FUZZ_CHECK(k1.len == k2.len && memcmp(k1.data, k2.data, k1.len) == 0,
               "canonical form changes over a compact round trip");
    again = jv_parse(a, k1.data, k1.len, NULL, NULL);
    if (!again) {
        FUZZ_CHECK(strstr(k1.data, "Infinity") || strstr(k1.data, "NaN"),
                   "canonical form is not JSON though it holds no Infinity/NaN");
    } else {
        buf_reset(&k2);
        FUZZ_CHECK(jv_write_canonical(&k2, again) == 0, "canonical writer fails on itself");
        FUZZ_CHECK(k1.len == k2.len && memcmp(k1.data, k2.data, k1.len) == 0,
                   "canonical form is not a fixed point");
    }
    buf_release(&k1);
    buf_release(&k2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena *a = arena_new();
    struct buf c1 = BUF_INIT, c2 = BUF_INIT;
    const char *msg = NULL;
    size_t pos = (size_t)-1;
    const struct jv *v = jv_parse(a, (const char *)data, size, &pos, &msg);
    const struct jv *v2;

    if (!v) {
        FUZZ_CHECK(msg && *msg, "parse failure without a message");
        FUZZ_CHECK(pos <= size, "parse error offset past the end of the text");
        goto cleanup;
    }
    jv_write_compact(&c1, v);
    v2 = jv_parse(a, c1.data, c1.len, &pos, &msg);
    FUZZ_CHECK(v2 != NULL, "compact form does not parse");
    jv_write_compact(&c2, v2);
    FUZZ_CHECK(c1.len == c2.len && memcmp(c1.data, c2.data, c1.len) == 0,
               "compact form is not a fixed point");
    FUZZ_CHECK(jv_type(v2) == jv_type(v), "compact round trip changes the type");
    check_canonical(a, v, &c1);
cleanup:
    buf_release(&c1);
    buf_release(&c2);
    arena_free(a);
    return 0;
}
