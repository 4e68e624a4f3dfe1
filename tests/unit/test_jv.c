/* test_jv.c - unit tests for util/jv: parsing (numbers kept, duplicates, errors), the compact
 * and canonical writers against Python's json.dumps, the §2.3 checksum vectors, jv_fmt_double over
 * every power of two, and constructors. Expected strings come from
 * Python 3.11. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "util/jv.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct conv {
    const char *in;    /* JSON text */
    const char *want;  /* expected output */
};

struct bad_doc {
    const char *in;    /* JSON text (NUL-terminated, so no NUL bytes) */
    size_t pos;        /* expected error offset */
    const char *msg;   /* expected message */
};

static int setup(void **state)
{
    *state = arena_new();
    return 0;
}

static int teardown(void **state)
{
    arena_free(*state);
    return 0;
}

static struct jv *parse_ok(struct arena *a, const char *text)
{
    size_t pos = 0;
    const char *msg = NULL;
    struct jv *v = jv_parse(a, text, strlen(text), &pos, &msg);

    if (!v)
        fail_msg("parse of '%s' failed at %zu: %s", text, pos, msg);
    return v;
}

/* The compact / canonical text of v, copied into the arena. */
static const char *compact_str(struct arena *a, const struct jv *v)
{
    struct buf b = BUF_INIT;
    char *s;

    jv_write_compact(&b, v);
    s = arena_strndup(a, b.data, b.len);
    buf_release(&b);
    return s;
}

static const char *canon_str(struct arena *a, const struct jv *v)
{
    struct buf b = BUF_INIT;
    char *s;

    assert_int_equal(jv_write_canonical(&b, v), 0);
    s = arena_strndup(a, b.data, b.len);
    buf_release(&b);
    return s;
}

static void sha256_hex(const char *s, size_t n, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;

    assert_int_equal(EVP_Digest(s, n, md, &mdlen, EVP_sha256(), NULL), 1);
    assert_int_equal(mdlen, 32);
    for (i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* ---- Round trips ---- */

static void test_jv_compact_round_trips(void **state)
{
    static const struct conv cases[] = {
        { "null", "null" },
        { "true", "true" },
        { "false", "false" },
        { "0", "0" },
        { "-0", "0" },
        { "  42 \n", "42" },
        { "\"plain\"", "\"plain\"" },
        { "\"\"", "\"\"" },
        { "[]", "[]" },
        { "{}", "{}" },
        { "[ ]", "[]" },
        { "{ }", "{}" },
        { "[1, 2 ,3]", "[1,2,3]" },
        { "{\"a\" : 1 , \"b\":[true,false,null]}", "{\"a\":1,\"b\":[true,false,null]}" },
        { "[1.0, 1E2, 0.10, 1e-5, -0.0, 2.5e+3, 1e16, 123456789012345678901234567890]",
          "[1.0,100.0,0.1,1e-05,-0.0,2500.0,1e+16,123456789012345678901234567890]" },
        { "{\"n\":{\"m\":{\"o\":[[],[{}],{\"p\":\"\"}]}}}",
          "{\"n\":{\"m\":{\"o\":[[],[{}],{\"p\":\"\"}]}}}" },
        { "\"\\u00e9\\u2615\\ud83d\\ude00\\/\\\"\\\\\"",
          "\"\xc3\xa9\xe2\x98\x95\xf0\x9f\x98\x80/\\\"\\\\\"" },
        { "\"Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x98\x80\"",
          "\"Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x98\x80\"" },
        { "\"\\b\\f\\n\\r\\t\\u0001\\u001F\\u007f\x7f\"",
          "\"\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\x7f\"" },
        { "[-1.5e-7, 0.6, 3.0e0, 100e-2]", "[-1.5e-07,0.6,3.0,1.0]" },
        { "{\"z\":1,\"a\":2,\"m\":{\"y\":[3,{\"b\":4,\"a\":5}]}}",
          "{\"z\":1,\"a\":2,\"m\":{\"y\":[3,{\"b\":4,\"a\":5}]}}" },
        { "\t[\r\n\"x\" ,\n{\"k\":\"v\"}]  ", "[\"x\",{\"k\":\"v\"}]" },
        /* Beyond the double range the token is kept (valid JSON, same value on re-parse);
         * underflow is an ordinary 0.0 / -0.0. */
        { "[1E400, -1e400, 1e-400, -1e-400]", "[1E400,-1e400,0.0,-0.0]" },
        { "{\"emb\":[0.10000000149011612,-2.5,5.960464477539063e-08]}",
          "{\"emb\":[0.10000000149011612,-2.5,5.960464477539063e-08]}" },
    };
    struct arena *a = *state;
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        const char *once = compact_str(a, parse_ok(a, cases[i].in));

        assert_string_equal(once, cases[i].want);
        /* The compact form is a fixed point. */
        assert_string_equal(compact_str(a, parse_ok(a, once)), once);
    }
}

static void test_jv_duplicate_keys_last_wins_first_position(void **state)
{
    static const struct conv cases[] = {
        { "{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":3,\"b\":2}" },
        { "{\"k\":\"v\",\"k\":2,\"j\":{\"k\":1,\"k\":[3]}}", "{\"k\":2,\"j\":{\"k\":[3]}}" },
        { "{\"x\":1,\"x\":2,\"x\":3,\"y\":0,\"x\":4}", "{\"x\":4,\"y\":0}" },
        /* Escaped and raw spellings of one key are one key. */
        { "{\"\\u00e9\":1,\"\xc3\xa9\":2}", "{\"\xc3\xa9\":2}" },
        /* A prefix is a different key. */
        { "{\"ab\":1,\"a\":2,\"ab\":3}", "{\"ab\":3,\"a\":2}" },
    };
    struct arena *a = *state;
    struct buf big = BUF_INIT;
    struct jv *v;
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++)
        assert_string_equal(compact_str(a, parse_ok(a, cases[i].in)), cases[i].want);

    /* Past the small-object threshold (sorting path): 40 keys, each written three times. */
    buf_putc(&big, '{');
    for (i = 0; i < 120; i++)
        buf_printf(&big, "%s\"k%02zu\":%zu", i ? "," : "", i % 40, i);
    buf_putc(&big, '}');
    v = parse_ok(a, big.data);
    assert_int_equal(jv_object_size(v), 40);
    for (i = 0; i < 40; i++) {
        char key[8];
        int64_t n;

        snprintf(key, sizeof(key), "k%02zu", i);
        assert_string_equal(jv_object_key(v, i, NULL), key);
        assert_int_equal(jv_int64(jv_object_value(v, i), &n), 0);
        assert_int_equal(n, (int64_t)(i + 80));
    }
    assert_string_equal(canon_str(a, parse_ok(a, "{\"b\":1,\"a\":2,\"b\":3}")),
                        "{\"a\": 2, \"b\": 3}");
    buf_release(&big);
}

/* ---- Numbers ---- */

static void test_jv_big_ints_survive(void **state)
{
    static const char *const ints[] = {
        "12345678901234567890",                       /* 20 digits, > UINT64_MAX / 2 */
        "98765432109876543210",                       /* 20 digits, > UINT64_MAX */
        "-12345678901234567890",
        "1234567890123456789012345678901234567890",   /* 40 digits */
        "-1234567890123456789012345678901234567890",
        "9223372036854775808",                        /* INT64_MAX + 1 */
        "-9223372036854775809",
    };
    struct arena *a = *state;
    size_t i;

    for (i = 0; i < ARRAY_LEN(ints); i++) {
        struct jv *v = parse_ok(a, ints[i]);
        const char *doc = arena_printf(a, "{\"order\": [%s]}", ints[i]);
        int64_t out = 7;

        assert_int_equal(jv_type(v), JV_INT);
        assert_true(jv_is_int(v));
        assert_string_equal(jv_number_text(v), ints[i]);
        assert_string_equal(compact_str(a, v), ints[i]);
        assert_string_equal(canon_str(a, v), ints[i]);
        assert_int_equal(jv_int64(v, &out), -1);
        assert_int_equal(out, 7);
        assert_string_equal(canon_str(a, parse_ok(a, doc)),
                            arena_printf(a, "{\"order\": [%s]}", ints[i]));
        assert_string_equal(compact_str(a, parse_ok(a, doc)),
                            arena_printf(a, "{\"order\":[%s]}", ints[i]));
    }
    assert_true(jv_double(parse_ok(a, "98765432109876543210")) == 98765432109876543210.0);
}

static void test_jv_minus_zero(void **state)
{
    struct arena *a = *state;
    struct jv *v = parse_ok(a, "-0");
    int64_t out = 5;

    assert_int_equal(jv_type(v), JV_INT);
    assert_string_equal(jv_number_text(v), "-0");
    assert_string_equal(compact_str(a, v), "0");
    assert_string_equal(canon_str(a, v), "0");
    assert_int_equal(jv_int64(v, &out), 0);
    assert_int_equal(out, 0);
    assert_string_equal(canon_str(a, parse_ok(a, "[-0, -0.0, 0, 0.0, -0e0]")),
                        "[0, -0.0, 0, 0.0, -0.0]");
    assert_string_equal(canon_str(a, jv_number_token(a, "-0")), "0");
}

static void test_jv_int64_bounds(void **state)
{
    static const struct {
        const char *text;
        int rc;
        int64_t want;
    } cases[] = {
        { "0", 0, 0 },
        { "1", 0, 1 },
        { "-1", 0, -1 },
        { "9223372036854775807", 0, INT64_MAX },
        { "-9223372036854775808", 0, INT64_MIN },
        { "9223372036854775808", -1, 0 },
        { "-9223372036854775809", -1, 0 },
        { "18446744073709551616", -1, 0 },
        { "1.0", -1, 0 },
        { "1e2", -1, 0 },
    };
    struct arena *a = *state;
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        int64_t out = 0;

        assert_int_equal(jv_int64(parse_ok(a, cases[i].text), &out), cases[i].rc);
        if (cases[i].rc == 0)
            assert_true(out == cases[i].want);
    }
    assert_int_equal(jv_int64(parse_ok(a, "\"1\""), &(int64_t){ 0 }), -1);
}

/* Every row of the §2.2 float table, as tokens and as jv_real() values. */
static void test_jv_float_table(void **state)
{
    static const struct conv tokens[] = {
        { "1.0", "1.0" },
        { "1E2", "100.0" },
        { "0.1", "0.1" },
        { "0.6", "0.6" },
        { "0.6666666666666666", "0.6666666666666666" },
        { "0.66666666666666666666", "0.6666666666666666" },
        { "5.9604644775390625e-08", "5.960464477539063e-08" },
        { "0.10000000149011612", "0.10000000149011612" },
        { "-0.0", "-0.0" },
        { "1e16", "1e+16" },
        { "1e15", "1000000000000000.0" },
        { "0.0001", "0.0001" },
        { "0.00001", "1e-05" },
        { "1.5e-7", "1.5e-07" },
        { "618970019642690137449562112.0", "6.189700196426902e+26" },
        { "5e-324", "5e-324" },
        { "4.9406564584124654e-324", "5e-324" },
        { "1.7976931348623157e308", "1.7976931348623157e+308" },
        { "1e400", "Infinity" },
        { "-1e400", "-Infinity" },
    };
    static const struct {
        double d;
        const char *want;
    } reals[] = {
        { 1.0, "1.0" }, { 100.0, "100.0" }, { 0.1, "0.1" }, { 0.6, "0.6" },
        { 2.0 / 3.0, "0.6666666666666666" }, { 0x1p-24, "5.960464477539063e-08" },
        { (double)0.1f, "0.10000000149011612" }, { -0.0, "-0.0" }, { 1e16, "1e+16" },
        { 1e15, "1000000000000000.0" }, { 0.0001, "0.0001" }, { 0.00001, "1e-05" },
        { 1.5e-7, "1.5e-07" }, { 0x1p89, "6.189700196426902e+26" },
        { 4.9406564584124654e-324, "5e-324" },
        { 1.7976931348623157e308, "1.7976931348623157e+308" },
    };
    struct arena *a = *state;
    size_t i;

    for (i = 0; i < ARRAY_LEN(tokens); i++) {
        struct jv *v = parse_ok(a, tokens[i].in);

        assert_int_equal(jv_type(v), JV_REAL);
        assert_false(jv_is_int(v));
        assert_string_equal(canon_str(a, v), tokens[i].want);
    }
    for (i = 0; i < ARRAY_LEN(reals); i++) {
        struct jv *v = jv_real(a, reals[i].d);

        assert_string_equal(canon_str(a, v), reals[i].want);
        assert_string_equal(compact_str(a, v), reals[i].want);
        assert_string_equal(jv_number_text(v), reals[i].want);
        assert_true(jv_double(v) == reals[i].d);
    }
    assert_true(signbit(jv_double(parse_ok(a, "-0.0"))));
    assert_true(jv_double(parse_ok(a, "2.5")) == 2.5);
    assert_true(jv_double(parse_ok(a, "-7")) == -7.0);
}

/* Significant digits of a %g / jv_fmt_double string, trailing zeros (and ".0") ignored. */
static size_t sig_digits(const char *s)
{
    size_t n = 0, zeros = 0;
    int started = 0;

    for (; *s && *s != 'e'; s++) {
        if (*s < '0' || *s > '9')
            continue;
        if (*s == '0' && !started)
            continue;
        started = 1;
        if (*s == '0') {
            zeros++;
        } else {
            n += zeros + 1;
            zeros = 0;
        }
    }
    return n;
}

/* The 46 powers of two where a "%.{p}e until it round-trips" loop differs from Python, plus
 * the ends of the range. */
static const struct {
    int exp2;
    const char *repr;
} pow2_python[] = {
    { -1074, "5e-324" }, { -1022, "2.2250738585072014e-308" }, { 1023, "8.98846567431158e+307" },
    { 0, "1.0" }, { 52, "4503599627370496.0" }, { 53, "9007199254740992.0" },
    { 54, "1.8014398509481984e+16" }, { -14, "6.103515625e-05" }, { -13, "0.0001220703125" },
    { -1017, "7.120236347223045e-307" }, { -1007, "7.291122019556398e-304" },
    { -957, "8.209073602596753e-289" }, { -921, "5.641232424577593e-278" },
    { -808, "5.858190679279809e-244" }, { -791, "7.678447687145631e-239" },
    { -788, "6.142758149716505e-238" }, { -778, "6.290184345309701e-235" },
    { -705, "5.940911144672375e-213" }, { -695, "6.083493012144512e-210" },
    { -662, "5.225680706521042e-200" }, { -652, "5.351097043477547e-197" },
    { -549, "5.426657103235053e-166" }, { -509, "5.966672584960166e-154" },
    { -496, "4.887898181599368e-150" }, { -489, "6.256509672447191e-148" },
    { -383, "5.075883674631299e-116" }, { -366, "6.653062250012736e-111" },
    { -296, "7.854549544476363e-90" }, { -140, "7.174648137343064e-43" },
    { -97, "6.310887241768095e-30" }, { -77, "6.617444900424222e-24" },
    { -44, "5.684341886080802e-14" }, { -24, "5.960464477539063e-08" },
    { 89, "6.189700196426902e+26" }, { 122, "5.316911983139664e+36" },
    { 132, "5.444517870735016e+39" }, { 172, "5.986310706507379e+51" },
    { 182, "6.129982163463556e+54" }, { 275, "6.070840288205404e+82" },
    { 305, "6.518515124270356e+91" }, { 345, "7.167183174968974e+103" },
    { 378, "6.156563468186638e+113" }, { 398, "6.455624695217272e+119" },
    { 405, "8.263199609878108e+121" }, { 481, "6.243497100631985e+144" },
    { 534, "5.623642243178996e+160" }, { 544, "5.758609657015292e+163" },
    { 554, "5.896816288783659e+166" }, { 574, "6.183260036827614e+172" },
    { 594, "6.483618076376552e+178" }, { 710, "5.386379163185535e+213" },
    { 803, "5.334411546303884e+241" }, { 863, "6.150157786156811e+259" },
    { 896, "5.282945311356653e+269" }, { 976, "6.386688990511104e+293" },
};

static void test_jv_fmt_double_powers_of_two(void **state)
{
    int e;
    size_t i, count = 0;

    (void)state;
    for (e = -1074; e <= 1023; e++) {
        double d = ldexp(1.0, e);
        char out[40], g17[40];

        jv_fmt_double(d, out);
        snprintf(g17, sizeof(g17), "%.17g", d);
        if (strtod(out, NULL) != d)
            fail_msg("2^%d: '%s' does not read back", e, out);
        if (sig_digits(out) > sig_digits(g17))
            fail_msg("2^%d: '%s' longer than '%s'", e, out, g17);
        jv_fmt_double(-d, out);
        assert_true(strtod(out, NULL) == -d);
        count++;
    }
    assert_int_equal(count, 2098);
    for (i = 0; i < ARRAY_LEN(pow2_python); i++) {
        char out[40];

        jv_fmt_double(ldexp(1.0, pow2_python[i].exp2), out);
        if (strcmp(out, pow2_python[i].repr) != 0)
            fail_msg("2^%d: got '%s', Python '%s'", pow2_python[i].exp2, out, pow2_python[i].repr);
    }
}

/* ---- Strings ---- */

/* jv_write_str() skips eight bytes at a time: every byte value at every position of a
 * 19-byte run of letters (so in the first and second word, and in the byte-wise tail) is
 * escaped exactly as a byte-at-a-time escaper does; so are two specials in one word. */
static void reference_escape(struct buf *b, const char *s, size_t n)
{
    size_t i;

    buf_putc(b, '"');
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\')
            buf_printf(b, "\\%c", c);
        else if (c == '\n')
            buf_puts(b, "\\n");
        else if (c == '\r')
            buf_puts(b, "\\r");
        else if (c == '\t')
            buf_puts(b, "\\t");
        else if (c == '\b')
            buf_puts(b, "\\b");
        else if (c == '\f')
            buf_puts(b, "\\f");
        else if (c < 0x20)
            buf_printf(b, "\\u%04x", c);
        else
            buf_putc(b, (char)c);
    }
    buf_putc(b, '"');
}

static void test_jv_write_str_word_at_a_time(void **state)
{
    struct buf got = BUF_INIT, want = BUF_INIT;
    char s[19];
    size_t pos, pos2;
    int c;

    (void)state;
    for (pos = 0; pos < sizeof(s); pos++) {
        for (c = 0; c < 256; c++) {
            memset(s, 'x', sizeof(s));
            s[pos] = (char)c;
            s[(pos + 5) % sizeof(s)] = (char)0xC3;   /* a byte >= 0x80 never escapes */
            buf_reset(&got);
            buf_reset(&want);
            jv_write_str(&got, s, sizeof(s));
            reference_escape(&want, s, sizeof(s));
            assert_int_equal(got.len, want.len);
            assert_memory_equal(got.data, want.data, want.len);
        }
        for (pos2 = 0; pos2 < sizeof(s); pos2++) {
            memset(s, 'y', sizeof(s));
            s[pos] = '"';
            s[pos2] = '\x01';
            buf_reset(&got);
            buf_reset(&want);
            jv_write_str(&got, s, sizeof(s));
            reference_escape(&want, s, sizeof(s));
            assert_int_equal(got.len, want.len);
            assert_memory_equal(got.data, want.data, want.len);
        }
    }
    buf_release(&got);
    buf_release(&want);
}

/* The streaming jv_write_str() and jv_write_compact() share one escaper: every byte value,
 * alone and between letters, and a control character as an object key, read the same; the
 * control characters are escaped exactly as Python's json.dumps(ensure_ascii=False) does
 * (lower-case hex, U+007F and everything above it raw). */
static void test_jv_write_str_matches_compact(void **state)
{
    static const char *const python_ctl[32] = {
        "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006",
        "\\u0007", "\\b", "\\t", "\\n", "\\u000b", "\\f", "\\r", "\\u000e", "\\u000f",
        "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016",
        "\\u0017", "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d",
        "\\u001e", "\\u001f",
    };
    struct arena *a = *state;
    struct buf streamed = BUF_INIT, tree = BUF_INIT;
    char s[3] = { 'a', 0, 'b' }, want[16];
    struct jv *obj;
    int c;

    for (c = 0; c < 256; c++) {
        s[1] = (char)c;
        buf_reset(&streamed);
        buf_reset(&tree);
        jv_write_str(&streamed, s, 3);
        jv_write_compact(&tree, jv_strn(a, s, 3));
        assert_int_equal(streamed.len, tree.len);
        assert_memory_equal(streamed.data, tree.data, tree.len);
        if (c < 0x20)
            snprintf(want, sizeof(want), "\"a%sb\"", python_ctl[c]);
        else if (c == '"' || c == '\\')
            snprintf(want, sizeof(want), "\"a\\%cb\"", c);
        else
            snprintf(want, sizeof(want), "\"a%cb\"", c);
        assert_int_equal(streamed.len, strlen(want));
        assert_memory_equal(streamed.data, want, streamed.len);
    }
    obj = jv_object(a);
    jv_object_set(a, obj, "k\x1f", jv_str(a, "v\x1f"));
    assert_string_equal(compact_str(a, obj), "{\"k\\u001f\":\"v\\u001f\"}");
    buf_release(&streamed);
    buf_release(&tree);
}

static void test_jv_string_escaping(void **state)
{
    static const struct {
        const char *raw;      /* UTF-8 content */
        const char *compact;  /* wire form */
        const char *canon;    /* checksum form */
    } cases[] = {
        { "\"", "\"\\\"\"", "\"\\\"\"" },
        { "\\", "\"\\\\\"", "\"\\\\\"" },
        { "/", "\"/\"", "\"/\"" },
        { "a\nb\rc\td\be\ff", "\"a\\nb\\rc\\td\\be\\ff\"", "\"a\\nb\\rc\\td\\be\\ff\"" },
        { "\x01\x1f\x0b", "\"\\u0001\\u001f\\u000b\"", "\"\\u0001\\u001f\\u000b\"" },
        { "\x7f", "\"\x7f\"", "\"\\u007f\"" },
        { "~ ", "\"~ \"", "\"~ \"" },
        { "\xc3\xa9", "\"\xc3\xa9\"", "\"\\u00e9\"" },
        { "\xe2\x98\x95", "\"\xe2\x98\x95\"", "\"\\u2615\"" },
        { "\xef\xbf\xbf", "\"\xef\xbf\xbf\"", "\"\\uffff\"" },
        { "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"", "\"\\ud83d\\ude00\"" },
        { "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"", "\"\\udbff\\udfff\"" },
        { "\xe2\x80\xa8", "\"\xe2\x80\xa8\"", "\"\\u2028\"" },
        { "Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x98\x80",
          "\"Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x98\x80\"",
          "\"Caf\\u00e9 \\u2615 \\ud83d\\ude00\"" },
    };
    struct arena *a = *state;
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        struct jv *v = jv_str(a, cases[i].raw);
        struct jv *back;
        size_t len;

        assert_string_equal(compact_str(a, v), cases[i].compact);
        assert_string_equal(canon_str(a, v), cases[i].canon);
        /* Both forms parse back to the same bytes. */
        back = parse_ok(a, cases[i].canon);
        assert_string_equal(jv_string(back, &len), cases[i].raw);
        assert_int_equal(len, strlen(cases[i].raw));
        back = parse_ok(a, cases[i].compact);
        assert_string_equal(jv_string(back, NULL), cases[i].raw);
    }
    /* A NUL from a constructor is escaped too; invalid bytes become U+FFFD when canonical. */
    assert_string_equal(compact_str(a, jv_strn(a, "a\0b", 3)), "\"a\\u0000b\"");
    assert_string_equal(canon_str(a, jv_strn(a, "a\0b", 3)), "\"a\\u0000b\"");
    assert_string_equal(canon_str(a, jv_str(a, "x\xff")), "\"x\\ufffd\"");
}

static void test_jv_escapes_decode(void **state)
{
    static const struct conv cases[] = {
        { "\"\\u0041\\u00E9\\u00e9\"", "A\xc3\xa9\xc3\xa9" },
        { "\"\\uD83D\\uDE00\"", "\xf0\x9f\x98\x80" },
        { "\"\\ud800\\udc00\"", "\xf0\x90\x80\x80" },
        { "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t" },
        { "\"x\\u0001y\"", "x\x01y" },
    };
    struct arena *a = *state;
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++)
        assert_string_equal(jv_string(parse_ok(a, cases[i].in), NULL), cases[i].want);
    /* Keys decode the same way, so canonical sorting sees code points. */
    assert_string_equal(canon_str(a, parse_ok(a, "{\"\\ud83d\\ude00\":1,\"\\uffff\":2,\"z\":3}")),
                        "{\"z\": 3, \"\\uffff\": 2, \"\\ud83d\\ude00\": 1}");
}

/* ---- Canonical form and the checksum ---- */

static void test_jv_canonical_sorts_every_depth(void **state)
{
    static const struct conv cases[] = {
        { "{\"z\":1,\"a\":2,\"m\":{\"y\":[3,{\"b\":4,\"a\":5}]}}",
          "{\"a\": 2, \"m\": {\"y\": [3, {\"a\": 5, \"b\": 4}]}, \"z\": 1}" },
        { "{\"b\":1,\"a\":1,\"\":0,\"ab\":2,\"B\":3}",
          "{\"\": 0, \"B\": 3, \"a\": 1, \"ab\": 2, \"b\": 1}" },
        { "[{}, [], [[]], {\"a\":{}}]", "[{}, [], [[]], {\"a\": {}}]" },
        { "{\"\xc3\xa9\":1,\"z\":2,\"\xf0\x9f\x98\x80\":3,\"\xef\xbf\xbf\":4}",
          "{\"z\": 2, \"\\u00e9\": 1, \"\\uffff\": 4, \"\\ud83d\\ude00\": 3}" },
        { "[true,false,null,1,1.0,\"s\"]", "[true, false, null, 1, 1.0, \"s\"]" },
    };
    struct arena *a = *state;
    struct buf big = BUF_INIT;
    const char *c;
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++)
        assert_string_equal(canon_str(a, parse_ok(a, cases[i].in)), cases[i].want);

    /* A large object (qsort path): keys k99..k00 come out ascending. */
    buf_putc(&big, '{');
    for (i = 100; i-- > 0;)
        buf_printf(&big, "\"k%02zu\":%zu%s", i, i, i ? "," : "");
    buf_putc(&big, '}');
    c = canon_str(a, parse_ok(a, big.data));
    assert_int_equal(strncmp(c, "{\"k00\": 0, \"k01\": 1, ", 21), 0);
    assert_non_null(strstr(c, "\"k98\": 98, \"k99\": 99}"));
    buf_release(&big);
}

/* spec/backup-snapshots.md §2.3, byte for byte. */
static const char worked_records[] =
    "{\"episodes\":[{\"id\":\"0b6f5c1e-3d1a-4c8e-9a57-2f1e6d0c4b3a\",\"subject_id\":\"user-42\","
    "\"tenant_id\":null,\"source\":\"chat\",\n"
    " \"type\":\"message\",\"payload\":{\"text\":\"Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x98\x80\","
    "\"n\":3,\"z\":[1.0,0.1,1e-05]},\"metadata\":{},\n"
    " \"provenance\":{\"b\":true,\"a\":null},\"created_at\":\"2026-05-01T10:00:00.123456+00:00\","
    "\"last_compiled_at\":null}],\n"
    "\"memories\":[{\"id\":\"5d2c7a90-8e41-4b6f-a3d2-9c0e1f7b8a64\",\"subject_id\":\"user-42\","
    "\"tenant_id\":null,\"kind\":\"profile_fact\",\n"
    " \"content\":\"Lives in Z\xc3\xbcrich\",\"summary\":\"Lives in Z\xc3\xbcrich\","
    "\"confidence\":0.6,\n"
    " \"valid_from\":\"2026-05-01T10:00:00.123456+00:00\",\"valid_to\":null,\n"
    " \"source_episode_ids\":[\"0b6f5c1e-3d1a-4c8e-9a57-2f1e6d0c4b3a\"],\"metadata\":{},"
    "\"status\":\"active\",\n"
    " \"embedding\":[0.10000000149011612,-2.5,5.960464477539063e-08],\n"
    " \"created_at\":\"2026-05-01T10:00:01+00:00\",\"updated_at\":\"2026-05-01T10:00:01+00:00\"}]}";

static const char worked_canon[] =
    "{\"episodes\": [{\"created_at\": \"2026-05-01T10:00:00.123456+00:00\", \"id\": "
    "\"0b6f5c1e-3d1a-4c8e-9a57-2f1e6d0c4b3a\", \"last_compiled_at\": null, \"metadata\": {}, "
    "\"payload\": {\"n\": 3, \"text\": \"Caf\\u00e9 \\u2615 \\ud83d\\ude00\", \"z\": [1.0, 0.1, "
    "1e-05]}, \"provenance\": {\"a\": null, \"b\": true}, \"source\": \"chat\", \"subject_id\": "
    "\"user-42\", \"tenant_id\": null, \"type\": \"message\"}], \"memories\": [{\"confidence\": "
    "0.6, \"content\": \"Lives in Z\\u00fcrich\", \"created_at\": \"2026-05-01T10:00:01+00:00\", "
    "\"embedding\": [0.10000000149011612, -2.5, 5.960464477539063e-08], \"id\": "
    "\"5d2c7a90-8e41-4b6f-a3d2-9c0e1f7b8a64\", \"kind\": \"profile_fact\", \"metadata\": {}, "
    "\"source_episode_ids\": [\"0b6f5c1e-3d1a-4c8e-9a57-2f1e6d0c4b3a\"], \"status\": \"active\", "
    "\"subject_id\": \"user-42\", \"summary\": \"Lives in Z\\u00fcrich\", \"tenant_id\": null, "
    "\"updated_at\": \"2026-05-01T10:00:01+00:00\", \"valid_from\": "
    "\"2026-05-01T10:00:00.123456+00:00\", \"valid_to\": null}]}";

static void test_jv_worked_example_checksum(void **state)
{
    struct arena *a = *state;
    struct jv *doc = parse_ok(a, worked_records);
    struct jv *rebuilt = jv_object(a);
    const char *c;
    char hex[65];

    c = canon_str(a, doc);
    assert_string_equal(c, worked_canon);
    sha256_hex(c, strlen(c), hex);
    assert_string_equal(hex, "dde2c5d376aec30f0c0e488d1b3ee1893abde3ebc768cc538f4cd0a69dc1f6d0");

    /* Built the export's way: memories first, records spliced as JV_RAW compact text. */
    jv_object_set(a, rebuilt, "memories", jv_object_get(doc, "memories"));
    jv_object_set(a, rebuilt, "episodes", jv_array(a));
    jv_array_append(a, jv_object_get(rebuilt, "episodes"),
                    jv_raw(a, compact_str(a, jv_array_get(jv_object_get(doc, "episodes"), 0))));
    assert_string_equal(canon_str(a, rebuilt), worked_canon);
}

static void test_jv_empty_document_checksum(void **state)
{
    struct arena *a = *state;
    struct jv *doc = jv_object(a);
    const char *c;
    char hex[65];

    jv_object_set(a, doc, "memories", jv_array(a));
    jv_object_set(a, doc, "episodes", jv_array(a));
    c = canon_str(a, doc);
    assert_string_equal(c, "{\"episodes\": [], \"memories\": []}");
    sha256_hex(c, strlen(c), hex);
    assert_string_equal(hex, "743a461383d986fa6fd7653ca7d0f5f5fb50bfd4b5aaa418e37f7d70a30796e5");
    assert_string_equal(canon_str(a, parse_ok(a, " { \"memories\" : [ ] , \"episodes\":[]}")), c);
}

/* ---- Errors ---- */

static void test_jv_parse_errors(void **state)
{
    static const struct bad_doc cases[] = {
        { "", 0, "Expecting value" },
        { "   ", 3, "Expecting value" },
        { "[", 1, "Expecting value" },
        { "[1", 2, "Expecting ',' delimiter" },
        { "[1,", 3, "Expecting value" },
        { "[1,]", 3, "Expecting value" },
        { "[1 2]", 3, "Expecting ',' delimiter" },
        { "{", 1, "Expecting property name enclosed in double quotes" },
        { "{\"a\"", 4, "Expecting ':' delimiter" },
        { "{\"a\":", 5, "Expecting value" },
        { "{\"a\":1", 6, "Expecting ',' delimiter" },
        { "{\"a\":1,}", 7, "Expecting property name enclosed in double quotes" },
        { "{a:1}", 1, "Expecting property name enclosed in double quotes" },
        { "{\"a\" 1}", 5, "Expecting ':' delimiter" },
        { "\"abc", 0, "Unterminated string starting at" },
        { "[\"a\\", 1, "Unterminated string starting at" },
        { "tru", 0, "Expecting value" },
        { "nul", 0, "Expecting value" },
        { "1 2", 2, "Extra data" },
        { "{} x", 3, "Extra data" },
        { "[1]]", 3, "Extra data" },
        { "01", 1, "Extra data" },
        { "1.", 1, "Extra data" },
        { "[1.]", 2, "Expecting ',' delimiter" },
        { "1e", 1, "Extra data" },
        { "-", 0, "Expecting value" },
        { "+1", 0, "Expecting value" },
        { ".5", 0, "Expecting value" },
        { "NaN", 0, "Expecting value" },
        { "[Infinity]", 1, "Expecting value" },
        { "-Infinity", 0, "Expecting value" },
        { "[1, // c\n2]", 4, "Expecting value" },
        { "/* c */ 1", 0, "Expecting value" },
        { "\"a\tb\"", 2, "Invalid control character at" },
        { "\"a\nb\"", 2, "Invalid control character at" },
        { "\"\\x\"", 1, "Invalid \\escape" },
        { "\"\\u12\"", 2, "Invalid \\uXXXX escape" },
        { "\"\\u12G4\"", 2, "Invalid \\uXXXX escape" },
        { "\"\\ud800\"", 1, "invalid unicode" },
        { "\"\\udc00\"", 1, "invalid unicode" },
        { "\"ab\\ud83dx\"", 3, "invalid unicode" },
        { "\"\\ud83d\\u0041\"", 1, "invalid unicode" },
        { "\"\\ud83d\\ud83d\"", 1, "invalid unicode" },
        { "\"\\ud83d\\uZZZZ\"", 8, "Invalid \\uXXXX escape" },
        { "{\"k\\u0000\":1}", 3, "invalid unicode" },
        { "[\"\\u0000\"]", 2, "invalid unicode" },
        { "\"a\xff\"", 2, "invalid UTF-8" },
        { "\"\xc0\xaf\"", 1, "invalid UTF-8" },
        { "\"ok\xed\xa0\x80\"", 3, "invalid UTF-8" },
        { "\"\xf4\x90\x80\x80\"", 1, "invalid UTF-8" },
        { "\"\xe2\x98\"", 1, "invalid UTF-8" },
        { "\"\x80\"", 1, "invalid UTF-8" },
        { "\xef\xbb\xbf{}", 0, "Expecting value" },
    };
    struct arena *a = *state;
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        size_t pos = 999;
        const char *msg = NULL;
        struct jv *v = jv_parse(a, cases[i].in, strlen(cases[i].in), &pos, &msg);

        if (v || pos != cases[i].pos || !msg || strcmp(msg, cases[i].msg) != 0)
            fail_msg("'%s': want %zu '%s', got %s %zu '%s'", cases[i].in, cases[i].pos,
                     cases[i].msg, v ? "a value" : "NULL", pos, msg ? msg : "(null)");
    }
    /* NULL err pointers are allowed; length bounds the text (no NUL needed). */
    assert_null(jv_parse(a, "[1,", 3, NULL, NULL));
    assert_non_null(jv_parse(a, "[1]xyz", 3, NULL, NULL));
    {
        /* A raw NUL byte is a control character. */
        size_t pos = 0;
        const char *msg = NULL;

        assert_null(jv_parse(a, "\"a\0\"", 4, &pos, &msg));
        assert_int_equal(pos, 2);
        assert_string_equal(msg, "Invalid control character at");
        assert_null(jv_parse(a, "1\0", 2, &pos, &msg));
        assert_int_equal(pos, 1);
        assert_string_equal(msg, "Extra data");
    }
}

static char *nested(int depth, char open, char close)
{
    char *s = malloc(2 * (size_t)depth + 1);
    int i;

    for (i = 0; i < depth; i++) {
        s[i] = open;
        s[2 * depth - 1 - i] = close;
    }
    s[2 * depth] = '\0';
    return s;
}

static void test_jv_nesting_limit(void **state)
{
    struct arena *a = *state;
    char *ok = nested(JV_MAX_DEPTH, '[', ']');
    char *deep = nested(JV_MAX_DEPTH + 1, '[', ']');
    struct buf objs = BUF_INIT;
    size_t pos = 0;
    const char *msg = NULL;
    int i;

    assert_non_null(jv_parse(a, ok, strlen(ok), &pos, &msg));
    assert_string_equal(canon_str(a, jv_parse(a, ok, strlen(ok), NULL, NULL)), ok);
    assert_null(jv_parse(a, deep, strlen(deep), &pos, &msg));
    assert_int_equal(pos, JV_MAX_DEPTH);
    assert_string_equal(msg, "nesting too deep");

    /* Objects count too: 513 levels of {"a": ...}. */
    for (i = 0; i <= JV_MAX_DEPTH; i++)
        buf_puts(&objs, "{\"a\":");
    assert_null(jv_parse(a, objs.data, objs.len, &pos, &msg));
    assert_int_equal(pos, 5 * JV_MAX_DEPTH);
    assert_string_equal(msg, "nesting too deep");

    /* Depth is nesting, not the number of containers. */
    buf_reset(&objs);
    buf_putc(&objs, '[');
    for (i = 0; i < 2000; i++)
        buf_puts(&objs, i ? ",[[]]" : "[[]]");
    buf_putc(&objs, ']');
    assert_non_null(parse_ok(a, objs.data));
    buf_release(&objs);
    free(ok);
    free(deep);
}

/* ---- Constructors and accessors ---- */

static void test_jv_constructors(void **state)
{
    struct arena *a = *state;
    struct jv *obj = jv_object(a), *arr = jv_array(a);
    size_t i, len = 0;
    int64_t n = 0;

    jv_object_set(a, obj, "id", jv_str(a, "x"));
    jv_object_set(a, obj, "n", jv_int(a, INT64_MIN));
    jv_object_set(a, obj, "r", jv_real(a, 0.5));
    jv_object_set(a, obj, "big", jv_number_token(a, "123456789012345678901234567890"));
    jv_object_set(a, obj, "f", jv_number_token(a, "1E2"));
    jv_object_set(a, obj, "t", jv_bool(a, 1));
    jv_object_set(a, obj, "nil", jv_null());
    jv_object_set(a, obj, "id", jv_str(a, "y"));   /* replaced in place */
    jv_object_setn(a, obj, "arrXX", 3, arr);
    for (i = 0; i < 1000; i++)
        jv_array_append(a, arr, jv_int(a, (int64_t)i));
    assert_string_equal(jv_object_key(obj, 0, &len), "id");
    assert_int_equal(len, 2);
    assert_int_equal(jv_object_size(obj), 8);
    assert_int_equal(jv_array_size(arr), 1000);
    assert_int_equal(jv_int64(jv_array_get(arr, 999), &n), 0);
    assert_int_equal(n, 999);
    assert_null(jv_array_get(arr, 1000));
    assert_string_equal(jv_string(jv_object_get(obj, "id"), NULL), "y");
    assert_ptr_equal(jv_object_getn(obj, "arrXX", 3), arr);
    assert_null(jv_object_get(obj, "missing"));
    assert_null(jv_object_get(arr, "id"));
    assert_true(jv_is_true(jv_object_get(obj, "t")));
    assert_false(jv_is_true(jv_bool(a, 0)));
    assert_int_equal(jv_type(jv_null()), JV_NULL);
    assert_int_equal(jv_type(jv_bool(a, 0)), JV_FALSE);

    jv_array_append(a, arr, jv_object(a));
    {
        static const char head[] = "{\"id\":\"y\",\"n\":-9223372036854775808,\"r\":0.5,"
                                   "\"big\":123456789012345678901234567890,\"f\":100.0,"
                                   "\"t\":true,\"nil\":null,\"arr\":[0,1,2,";
        static const char tail[] = ",998,999,{}]}";
        const char *c = compact_str(a, obj);

        assert_int_equal(strncmp(c, head, strlen(head)), 0);
        assert_string_equal(c + strlen(c) - strlen(tail), tail);
    }
    assert_string_equal(canon_str(a, jv_object_get(obj, "f")), "100.0");
    assert_string_equal(jv_number_text(jv_object_get(obj, "f")), "1E2");
    /* Parsed containers grow too. */
    arr = parse_ok(a, "[1]");
    jv_array_append(a, arr, jv_str(a, "two"));
    obj = parse_ok(a, "{\"a\":1}");
    jv_object_set(a, obj, "b", arr);
    jv_object_set(a, obj, "a", jv_real(a, 2.0));
    assert_string_equal(compact_str(a, obj), "{\"a\":2.0,\"b\":[1,\"two\"]}");
}

static void test_jv_number_token_validates(void **state)
{
    static const char *const bad[] = {
        "", "01", "1.", ".5", "+1", "-", "1e", "1e+", " 1", "1 ", "NaN", "Infinity", "0x10",
        "1.5.2", "--1", "1e5e5", "-01",
    };
    static const struct {
        const char *text;
        enum jv_type type;
    } good[] = {
        { "0", JV_INT }, { "-0", JV_INT }, { "123456789012345678901234567890", JV_INT },
        { "1.5", JV_REAL }, { "1E2", JV_REAL }, { "1e-7", JV_REAL }, { "-0.0", JV_REAL },
        { "2E+10", JV_REAL },
    };
    struct arena *a = *state;
    size_t i;

    for (i = 0; i < ARRAY_LEN(bad); i++) {
        if (jv_number_token(a, bad[i]))
            fail_msg("'%s' accepted", bad[i]);
    }
    for (i = 0; i < ARRAY_LEN(good); i++) {
        struct jv *v = jv_number_token(a, good[i].text);

        assert_non_null(v);
        assert_int_equal(jv_type(v), good[i].type);
        assert_string_equal(jv_number_text(v), good[i].text);
    }
}

static void test_jv_accessors_wrong_type(void **state)
{
    struct arena *a = *state;
    struct jv *s = jv_str(a, "x");
    struct jv *n = jv_int(a, 3);
    size_t len = 42;

    assert_null(jv_string(n, &len));
    assert_int_equal(len, 42);
    assert_null(jv_number_text(s));
    assert_null(jv_raw_text(s, NULL));
    assert_int_equal(jv_array_size(s), 0);
    assert_int_equal(jv_object_size(n), 0);
    assert_null(jv_array_get(s, 0));
    assert_null(jv_object_key(n, 0, NULL));
    assert_null(jv_object_value(n, 0));
    assert_null(jv_object_key(jv_object(a), 0, NULL));
    assert_true(jv_double(s) == 0.0);
    assert_true(jv_double(n) == 3.0);
    assert_false(jv_is_int(s));
    assert_false(jv_is_true(jv_null()));
}

static void test_jv_raw_splices(void **state)
{
    struct arena *a = *state;
    struct jv *arr = jv_array(a);
    struct buf b = BUF_INIT;
    size_t len = 0;

    jv_array_append(a, arr, jv_raw(a, "{\"b\":1,\"a\":[1E2,\"\xc3\xa9\"]}"));
    jv_array_append(a, arr, jv_rawn(a, "12345678901234567890123xyz", 23));
    assert_string_equal(jv_raw_text(jv_array_get(arr, 1), &len), "12345678901234567890123");
    assert_int_equal(len, 23);
    assert_int_equal(jv_type(jv_array_get(arr, 0)), JV_RAW);
    assert_string_equal(compact_str(a, arr),
                        "[{\"b\":1,\"a\":[1E2,\"\xc3\xa9\"]},12345678901234567890123]");
    assert_string_equal(canon_str(a, arr),
                        "[{\"a\": [100.0, \"\\u00e9\"], \"b\": 1}, 12345678901234567890123]");
    /* Invalid raw text: canonical output fails. */
    jv_array_append(a, arr, jv_raw(a, "{oops"));
    assert_int_equal(jv_write_canonical(&b, arr), -1);
    buf_release(&b);
}

/* Fuzz finding fuzz/findings/json/crash-04423b18: an empty object parsed before any member
 * was seen did pointer arithmetic on the parser's NULL member stack (undefined behaviour that
 * clang's UBSan reports; gcc's does not, so under gcc this test checks the results only). */
static void test_jv_parse_empty_object_first(void **state)
{
    static const char *const texts[] = { "{}", "[{}]", "{\"a\":{}}", "[[],{},{}]" };
    struct arena *a = *state;
    size_t i;

    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        assert_string_equal(compact_str(a, parse_ok(a, texts[i])), texts[i]);
    assert_int_equal(jv_type(parse_ok(a, "{}")), JV_OBJECT);
    assert_int_equal(jv_object_size(parse_ok(a, "{}")), 0);
    assert_null(jv_object_get(parse_ok(a, "{}"), "a"));
    assert_null(jv_parse(a, "{}\"\"{\"{\"", 8, NULL, NULL));
}

/* Repeated keys and short string values share one copy (the parser's intern cache);
 * whatever is shared, every value reads back exactly, colliding slots included, and the
 * document writes back byte for byte. */
static void test_jv_parse_shares_repeats(void **state)
{
    struct arena *a = *state;
    struct buf text = BUF_INIT, back = BUF_INIT, expect = BUF_INIT;
    const char *long_value = "a string longer than the intern limit of forty-eight bytes!";
    struct jv *doc, *r0, *r1, *row;
    char want[32];
    size_t i;

    buf_puts(&text, "[");
    for (i = 0; i < 3000; i++)   /* far more distinct values than the cache has slots */
        buf_printf(&text, "%s{\"kind\":\"fact\",\"n\":\"v%zu\",\"esc\":\"a\\u0062\","
                   "\"long\":\"%s\"}", i ? "," : "", i % 1500, long_value);
    buf_puts(&text, "]");
    doc = parse_ok(a, text.data);
    assert_int_equal(jv_array_size(doc), 3000);
    r0 = jv_array_get(doc, 0);
    r1 = jv_array_get(doc, 1);
    assert_ptr_equal(jv_object_key(r0, 0, NULL), jv_object_key(r1, 0, NULL));
    assert_ptr_equal(jv_object_get(r0, "kind"), jv_object_get(r1, "kind"));
    assert_ptr_equal(jv_object_get(r0, "esc"), jv_object_get(r1, "esc"));
    assert_string_equal(jv_string(jv_object_get(r0, "esc"), NULL), "ab");
    assert_ptr_not_equal(jv_object_get(r0, "long"), jv_object_get(r1, "long"));
    for (i = 0; i < 3000; i++) {
        row = jv_array_get(doc, i);
        snprintf(want, sizeof(want), "v%zu", i % 1500);
        assert_string_equal(jv_string(jv_object_get(row, "n"), NULL), want);
        assert_string_equal(jv_string(jv_object_get(row, "kind"), NULL), "fact");
        assert_string_equal(jv_string(jv_object_get(row, "long"), NULL), long_value);
    }
    jv_write_compact(&back, doc);
    buf_puts(&expect, "[");
    for (i = 0; i < 3000; i++)
        buf_printf(&expect, "%s{\"kind\":\"fact\",\"n\":\"v%zu\",\"esc\":\"ab\","
                   "\"long\":\"%s\"}", i ? "," : "", i % 1500, long_value);
    buf_puts(&expect, "]");
    assert_string_equal(back.data, expect.data);
    buf_release(&text);
    buf_release(&back);
    buf_release(&expect);
}

/* n copies of item (separated by commas) inside open ... close. */
static void repeat(struct buf *b, const char *open, const char *item, size_t n,
                   const char *close)
{
    size_t i;

    buf_puts(b, open);
    for (i = 0; i < n; i++) {
        if (i)
            buf_putc(b, ',');
        buf_puts(b, item);
    }
    buf_puts(b, close);
}

/* Hostile documents (issue 14: an array of 30M zeros took 2.96 GB): each is stopped by the
 * budget of its size, having taken no more than that budget from the arena. */
static void test_jv_parse_bounded_stops_hostile_documents(void **state)
{
    static const struct {
        const char *open, *item, *close;
    } docs[] = {
        { "{\"payload\":{\"a\":[", "0", "]}}" },   /* shared nodes: only the stack grows */
        { "[", "10", "]" },                         /* a node per 3 bytes */
        { "[", "{}", "]" },
        { "[", "[[]]", "]" },
        { "{\"a\":[", "{\"k\":1,\"l\":2}", "]}" },
    };
    struct arena *a = *state;
    size_t i, pos, base;
    const char *msg;

    for (i = 0; i < ARRAY_LEN(docs); i++) {
        struct buf text = BUF_INIT;
        size_t budget;

        repeat(&text, docs[i].open, docs[i].item, 4000000 / strlen(docs[i].item),
               docs[i].close);
        budget = jv_parse_budget(text.len);
        assert_int_equal(budget, JV_BUDGET_BASE + JV_BUDGET_FACTOR * text.len);
        base = arena_used(a);
        msg = NULL;
        if (jv_parse_bounded(a, text.data, text.len, budget, &pos, &msg))
            fail_msg("doc %zu (%zu bytes) parsed within %zu bytes", i, text.len, budget);
        assert_ptr_equal(msg, jv_msg_over_budget);
        assert_string_equal(msg, "document too large to parse");
        assert_true(pos < text.len);
        if (arena_used(a) - base > budget)
            fail_msg("doc %zu: %zu bytes taken, budget %zu", i, arena_used(a) - base, budget);
        /* Unbounded, the same text parses. */
        assert_non_null(jv_parse(a, text.data, text.len, NULL, NULL));
        buf_release(&text);
    }
}

/* Real documents fit their budget with room to spare: rows like an export's (small integers
 * and short strings, one value per 10 bytes) and an array of 13-digit numbers. */
static void test_jv_parse_bounded_admits_real_documents(void **state)
{
    struct arena *a = *state;
    struct buf text = BUF_INIT;
    size_t i, base;
    struct jv *v;

    buf_puts(&text, "{\"format_version\":\"1.0\",\"episodes\":[");
    for (i = 0; i < 20000; i++)
        buf_printf(&text, "%s{\"id\":\"%08zx-64cb-49f3-b6ca-ee1b77965fee\",\"subject_id\":\"big\","
                   "\"tenant_id\":null,\"source\":\"chat\",\"type\":\"message\",\"payload\":"
                   "{\"b\":%zu,\"i\":%zu,\"text\":\"episode %zu of batch %zu\"},\"metadata\":{},"
                   "\"provenance\":{},\"created_at\":\"2026-12-07T11:36:18.878204+00:00\","
                   "\"last_compiled_at\":null}", i ? "," : "", i, i / 100, i % 100, i % 100,
                   i / 100);
    buf_puts(&text, "]}");
    base = arena_used(a);
    v = jv_parse_bounded(a, text.data, text.len, jv_parse_budget(text.len), NULL, NULL);
    assert_non_null(v);
    assert_int_equal(jv_array_size(jv_object_get(v, "episodes")), 20000);
    assert_true(arena_used(a) - base < 3 * text.len);
    buf_reset(&text);
    repeat(&text, "[", "1765107378878", 1000000, "]");
    assert_non_null(jv_parse_bounded(a, text.data, text.len, jv_parse_budget(text.len), NULL,
                                     NULL));
    buf_release(&text);
}

/* The shared one-digit nodes read and write like any other number. */
static void test_jv_parse_digits_are_numbers(void **state)
{
    struct arena *a = *state;
    struct jv *v = parse_ok(a, "[0,7,9,-1,10,1.5,3e2]");
    int64_t x;

    assert_true(jv_is_int(jv_array_get(v, 0)));
    assert_int_equal(jv_int64(jv_array_get(v, 1), &x), 0);
    assert_int_equal(x, 7);
    assert_true(jv_double(jv_array_get(v, 2)) == 9.0);
    assert_string_equal(compact_str(a, v), "[0,7,9,-1,10,1.5,300.0]");
    assert_true(jv_array_get(parse_ok(a, "[7]"), 0) == jv_array_get(v, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_jv_compact_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jv_parse_shares_repeats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jv_parse_bounded_stops_hostile_documents, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jv_parse_bounded_admits_real_documents, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jv_parse_digits_are_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jv_parse_empty_object_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jv_duplicate_keys_last_wins_first_position, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jv_big_ints_survive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jv_minus_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jv_int64_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jv_float_table, setup, teardown),
        cmocka_unit_test(test_jv_fmt_double_powers_of_two),
        cmocka_unit_test_setup_teardown(test_jv_string_escaping, setup, teardown),
        cmocka_unit_test(test_jv_write_str_word_at_a_time),
        cmocka_unit_test_setup_teardown(test_jv_write_str_matches_compact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jv_escapes_decode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jv_canonical_sorts_every_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jv_worked_example_checksum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jv_empty_document_checksum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jv_parse_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jv_nesting_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jv_constructors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jv_number_token_validates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jv_accessors_wrong_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jv_raw_splices, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
