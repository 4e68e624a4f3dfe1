/* test_ts.c - unit tests for util/ts: the three text forms, parsing, and round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/ts.h"

#define SEC INT64_C(1000000)

/* Seconds since the epoch, checked against `date -u -d ... +%s`. */
#define T_2026_05_01_100001 INT64_C(1777629601)
#define T_2024_02_29_120000 INT64_C(1709208000)
#define T_2000_02_29_000000 INT64_C(951782400)
#define T_1900_01_01_000000 INT64_C(-2208988800)
#define T_1900_03_01_000000 INT64_C(-2203891200)
#define T_1600_02_29_000000 INT64_C(-11670998400)
#define T_2301_01_01_000000 INT64_C(10445328000)

static void expect_z(int64_t us, const char *want)
{
    char out[TS_STR_LEN];
    size_t n = ts_format_z(us, out, sizeof(out));

    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void expect_offset(int64_t us, const char *want)
{
    char out[TS_STR_LEN];
    size_t n = ts_format_offset(us, out, sizeof(out));

    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void expect_fixed(int64_t us, const char *want)
{
    char out[TS_STR_LEN];
    size_t n = ts_format_fixed(us, out, sizeof(out));

    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void expect_parse(const char *s, int64_t want)
{
    int64_t us = 12345;

    if (ts_parse(s, &us) != 0)
        fail_msg("ts_parse rejected \"%s\"", s);
    if (us != want)
        fail_msg("ts_parse(\"%s\") = %lld, want %lld", s, (long long)us, (long long)want);
}

static void expect_reject(const char *s)
{
    int64_t us = 12345;

    if (ts_parse(s, &us) != -1)
        fail_msg("ts_parse accepted \"%s\" as %lld", s ? s : "(null)", (long long)us);
    assert_int_equal(us, 12345);   /* untouched on failure */
}

/* ---- formatting ---- */

static void test_ts_format_z_drops_zero_fraction(void **state)
{
    (void)state;
    expect_z(T_2026_05_01_100001 * SEC, "2026-05-01T10:00:01Z");
}

static void test_ts_format_z_keeps_fraction(void **state)
{
    (void)state;
    expect_z(T_2026_05_01_100001 * SEC + 123456, "2026-05-01T10:00:01.123456Z");
    expect_z(T_2026_05_01_100001 * SEC + 1, "2026-05-01T10:00:01.000001Z");
    expect_z(T_2026_05_01_100001 * SEC + 100000, "2026-05-01T10:00:01.100000Z");
    expect_z(T_2026_05_01_100001 * SEC + 999999, "2026-05-01T10:00:01.999999Z");
}

static void test_ts_format_offset(void **state)
{
    (void)state;
    expect_offset(T_2026_05_01_100001 * SEC, "2026-05-01T10:00:01+00:00");
    expect_offset(T_2026_05_01_100001 * SEC + 123456, "2026-05-01T10:00:01.123456+00:00");
    expect_offset(0, "1970-01-01T00:00:00+00:00");
}

static void test_ts_format_fixed_always_six_digits(void **state)
{
    (void)state;
    expect_fixed(T_2026_05_01_100001 * SEC, "2026-05-01T10:00:01.000000Z");
    expect_fixed(T_2026_05_01_100001 * SEC + 123456, "2026-05-01T10:00:01.123456Z");
    expect_fixed(T_2026_05_01_100001 * SEC + 7, "2026-05-01T10:00:01.000007Z");
    expect_fixed(0, "1970-01-01T00:00:00.000000Z");
    expect_fixed(-1, "1969-12-31T23:59:59.999999Z");
}

static void test_ts_format_epoch_zero(void **state)
{
    (void)state;
    expect_z(0, "1970-01-01T00:00:00Z");
    expect_z(1, "1970-01-01T00:00:00.000001Z");
    expect_z(SEC, "1970-01-01T00:00:01Z");
    expect_z(86400 * SEC, "1970-01-02T00:00:00Z");
}

static void test_ts_format_before_1970(void **state)
{
    (void)state;
    expect_z(-1, "1969-12-31T23:59:59.999999Z");
    expect_z(-SEC, "1969-12-31T23:59:59Z");
    expect_z(-SEC + 1, "1969-12-31T23:59:59.000001Z");
    expect_z(-SEC - 1, "1969-12-31T23:59:58.999999Z");
    expect_z(-86400 * SEC, "1969-12-31T00:00:00Z");
    expect_z(-86400 * SEC - 1, "1969-12-30T23:59:59.999999Z");
    expect_z(T_1900_01_01_000000 * SEC, "1900-01-01T00:00:00Z");
    expect_z(T_1900_01_01_000000 * SEC + 500000, "1900-01-01T00:00:00.500000Z");
    expect_z(T_1900_03_01_000000 * SEC - SEC, "1900-02-28T23:59:59Z");   /* 1900: no leap */
    expect_z(T_1600_02_29_000000 * SEC, "1600-02-29T00:00:00Z");
}

static void test_ts_format_leap_days(void **state)
{
    (void)state;
    expect_z(T_2024_02_29_120000 * SEC, "2024-02-29T12:00:00Z");
    expect_z((T_2024_02_29_120000 - 12 * 3600) * SEC - 1, "2024-02-28T23:59:59.999999Z");
    expect_z((T_2024_02_29_120000 + 12 * 3600) * SEC, "2024-03-01T00:00:00Z");
    expect_z(T_2000_02_29_000000 * SEC, "2000-02-29T00:00:00Z");
    expect_z((T_2000_02_29_000000 + 86400) * SEC, "2000-03-01T00:00:00Z");
    expect_z(T_2301_01_01_000000 * SEC - 1, "2300-12-31T23:59:59.999999Z");
}

static void test_ts_format_extremes_do_not_overflow(void **state)
{
    char out[TS_STR_LEN];

    (void)state;
    /* not meaningful dates, but must not trip UBSan or overrun out */
    assert_true(ts_format_z(TS_NULL, out, sizeof(out)) < sizeof(out));
    assert_true(ts_format_fixed(INT64_MAX, out, sizeof(out)) < sizeof(out));
    assert_true(ts_format_offset(INT64_MIN + 1, out, sizeof(out)) < sizeof(out));
}

static void test_ts_format_truncates_to_size(void **state)
{
    char out[11];
    size_t n;

    (void)state;
    memset(out, '#', sizeof(out));
    n = ts_format_z(T_2026_05_01_100001 * SEC, out, sizeof(out));
    assert_int_equal(n, 10);
    assert_string_equal(out, "2026-05-01");
}

/* The three forms against gmtime_r and snprintf, at random instants of years 0000-9999 and
 * at the edges of that range (the digit-by-digit writer covers it; snprintf the rest). */
static void reference(int64_t us, int form, char *out, size_t size)
{
    int64_t secs = us / SEC, frac = us % SEC;
    time_t t;
    struct tm tm;
    char fr[16] = "";

    if (frac < 0) {
        frac += SEC;
        secs--;
    }
    t = (time_t)secs;
    gmtime_r(&t, &tm);
    if (frac || form == 2)
        snprintf(fr, sizeof(fr), ".%06lld", (long long)frac);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fr, form == 1 ? "+00:00" : "Z");
}

static void check_forms(int64_t us)
{
    char got[TS_STR_LEN + 8], want[TS_STR_LEN + 8];
    int form;

    for (form = 0; form < 3; form++) {
        size_t n = form == 0 ? ts_format_z(us, got, sizeof(got))
                 : form == 1 ? ts_format_offset(us, got, sizeof(got))
                 : ts_format_fixed(us, got, sizeof(got));

        reference(us, form, want, sizeof(want));
        if (strcmp(got, want) != 0 || n != strlen(want))
            fail_msg("form %d of %lld: '%s' (%zu), want '%s'", form, (long long)us, got, n,
                     want);
    }
}

static uint64_t rng(void);

static void test_ts_format_matches_gmtime(void **state)
{
    const int64_t lo = INT64_C(-62167219200) * SEC;          /* 0000-01-01T00:00:00Z */
    const int64_t hi = INT64_C(253402300800) * SEC - 1;      /* 9999-12-31T23:59:59.999999Z */
    int64_t us;
    int i;

    (void)state;
    check_forms(lo);
    check_forms(hi);
    check_forms(0);
    check_forms(-1);
    check_forms(1);
    for (i = 0; i < 200000; i++) {
        us = lo + (int64_t)(rng() % (uint64_t)(hi - lo));
        if (i % 3 == 0)
            us -= ((us % SEC) + SEC) % SEC;
        check_forms(us);
    }
}

/* Fixed form: text order equals time order. */
static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rng(void)
{
    /* xorshift64*: deterministic, so failures reproduce */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

/* A random instant in [1900-01-01, 2301-01-01), sometimes on a whole second. */
static int64_t random_us(void)
{
    uint64_t span = (uint64_t)(T_2301_01_01_000000 - T_1900_01_01_000000) * (uint64_t)SEC;
    int64_t us = T_1900_01_01_000000 * SEC + (int64_t)(rng() % span);

    if (rng() % 4 == 0)
        us -= ((us % SEC) + SEC) % SEC;
    return us;
}

static void test_ts_format_fixed_sorts_like_time(void **state)
{
    int i;

    (void)state;
    for (i = 0; i < 20000; i++) {
        int64_t a = random_us(), b = rng() % 2 ? random_us() : a + (int64_t)(rng() % 3) - 1;
        char sa[TS_STR_LEN], sb[TS_STR_LEN];
        int c;

        ts_format_fixed(a, sa, sizeof(sa));
        ts_format_fixed(b, sb, sizeof(sb));
        c = strcmp(sa, sb);
        if ((c > 0) - (c < 0) != (a > b) - (a < b))
            fail_msg("%s vs %s for %lld vs %lld", sa, sb, (long long)a, (long long)b);
    }
}

/* ---- parsing ---- */

static void test_ts_parse_z(void **state)
{
    (void)state;
    expect_parse("2026-05-01T10:00:01Z", T_2026_05_01_100001 * SEC);
    expect_parse("2026-05-01T10:00:01z", T_2026_05_01_100001 * SEC);
    expect_parse("2026-05-01t10:00:01Z", T_2026_05_01_100001 * SEC);
    expect_parse("1970-01-01T00:00:00Z", 0);
    expect_parse("1969-12-31T23:59:59.999999Z", -1);
}

static void test_ts_parse_offsets(void **state)
{
    const int64_t t = T_2026_05_01_100001 * SEC;

    (void)state;
    expect_parse("2026-05-01T10:00:01+00:00", t);
    expect_parse("2026-05-01T10:00:01-00:00", t);
    expect_parse("2026-05-01T12:00:01+02:00", t);      /* converted to UTC */
    expect_parse("2026-05-01T05:00:01-05:00", t);
    expect_parse("2026-05-01T15:30:01+0530", t);
    expect_parse("2026-05-01T15:30:01+05:30", t);
    expect_parse("2026-05-01T15:00:01+05", t);
    expect_parse("2026-05-01T06:15:01-0345", t);
    /* an offset that crosses midnight, a month and a year */
    expect_parse("2026-05-01T00:30:00+02:00", (T_2026_05_01_100001 - 10 * 3600 - 1 - 5400) * SEC);
    expect_parse("1970-01-01T01:00:00+01:00", 0);
    expect_parse("1969-12-31T23:00:00-01:00", 0);
    expect_parse("2024-03-01T01:00:00+13:00", (T_2024_02_29_120000) * SEC);
}

static void test_ts_parse_space_separator(void **state)
{
    (void)state;
    expect_parse("2026-05-01 10:00:01Z", T_2026_05_01_100001 * SEC);
    expect_parse("2026-05-01 10:00:01", T_2026_05_01_100001 * SEC);
    expect_parse("2026-05-01 12:00:01.5+02:00", T_2026_05_01_100001 * SEC + 500000);
}

static void test_ts_parse_fraction_digits(void **state)
{
    const int64_t t = T_2026_05_01_100001 * SEC;

    (void)state;
    expect_parse("2026-05-01T10:00:01.1Z", t + 100000);
    expect_parse("2026-05-01T10:00:01.12Z", t + 120000);
    expect_parse("2026-05-01T10:00:01.123Z", t + 123000);
    expect_parse("2026-05-01T10:00:01.1234Z", t + 123400);
    expect_parse("2026-05-01T10:00:01.12345Z", t + 123450);
    expect_parse("2026-05-01T10:00:01.123456Z", t + 123456);
    expect_parse("2026-05-01T10:00:01.1234567Z", t + 123456);      /* truncated, not rounded */
    expect_parse("2026-05-01T10:00:01.12345678Z", t + 123456);
    expect_parse("2026-05-01T10:00:01.123456789Z", t + 123456);
    expect_parse("2026-05-01T10:00:01.999999999Z", t + 999999);
    expect_parse("2026-05-01T10:00:01.000000Z", t);
    expect_parse("2026-05-01T10:00:01.0+00:00", t);
    expect_parse("1969-12-31T23:59:59.5Z", -500000);
}

static void test_ts_parse_no_offset_is_utc(void **state)
{
    (void)state;
    expect_parse("2026-05-01T10:00:01", T_2026_05_01_100001 * SEC);
    expect_parse("2026-05-01T10:00:01.123456", T_2026_05_01_100001 * SEC + 123456);
}

/* backup-snapshots.md §3.5: ENG MUST accept `YYYY-MM-DD` alone and `HH:MM` without seconds. */
static void test_ts_parse_optional_time_parts(void **state)
{
    const int64_t midnight = (T_2026_05_01_100001 - 10 * 3600 - 1) * SEC;

    (void)state;
    expect_parse("2026-05-01", midnight);
    expect_parse("2024-02-29", (T_2024_02_29_120000 - 12 * 3600) * SEC);
    expect_parse("1969-12-31", -86400 * SEC);
    expect_parse("2026-05-01T10:00", midnight + 10 * 3600 * SEC);
    expect_parse("2026-05-01 10:00", midnight + 10 * 3600 * SEC);
    expect_parse("2026-05-01T10:00Z", midnight + 10 * 3600 * SEC);
    expect_parse("2026-05-01T12:00+02:00", midnight + 10 * 3600 * SEC);
    expect_parse("2026-05-01T12:00+0200", midnight + 10 * 3600 * SEC);
    expect_reject("2023-02-29");
    expect_reject("2026-13-01");
}

static void test_ts_parse_leap_days(void **state)
{
    (void)state;
    expect_parse("2024-02-29T12:00:00Z", T_2024_02_29_120000 * SEC);
    expect_parse("2000-02-29T00:00:00Z", T_2000_02_29_000000 * SEC);
    expect_parse("1600-02-29T00:00:00Z", T_1600_02_29_000000 * SEC);
    expect_parse("1900-03-01T00:00:00Z", T_1900_03_01_000000 * SEC);
    expect_parse("1900-01-01T00:00:00Z", T_1900_01_01_000000 * SEC);
}

static void test_ts_parse_rejects_bad_dates(void **state)
{
    (void)state;
    expect_reject("2023-02-29T00:00:00Z");
    expect_reject("1900-02-29T00:00:00Z");
    expect_reject("2100-02-29T00:00:00Z");
    expect_reject("2024-02-30T00:00:00Z");
    expect_reject("2024-13-01T00:00:00Z");
    expect_reject("2024-00-01T00:00:00Z");
    expect_reject("2024-01-00T00:00:00Z");
    expect_reject("2024-01-32T00:00:00Z");
    expect_reject("2024-04-31T00:00:00Z");
    expect_reject("2024-01-01T24:00:00Z");
    expect_reject("2024-01-01T23:60:00Z");
    expect_reject("2024-01-01T23:59:61Z");
}

static void test_ts_parse_rejects_garbage(void **state)
{
    (void)state;
    expect_reject(NULL);
    expect_reject("");
    expect_reject("garbage");
    expect_reject("now");
    expect_reject("2026");
    expect_reject("2026-05-01T");
    expect_reject("2026-05-01Z");                   /* a date alone takes no offset */
    expect_reject("2026-05-01+02:00");
    expect_reject("2026-05-01 ");
    expect_reject("2026-05-01T10Z");                /* minutes are required */
    expect_reject("2026-05-01T10");
    expect_reject("2026-05-01T10:0");
    expect_reject("2026-05-01T10:00:");             /* colon without seconds */
    expect_reject("2026-05-01T10:00:0Z");
    expect_reject("2026-05-01T10:00.5Z");           /* fraction without seconds */
    expect_reject("2026-5-01T10:00:01Z");
    expect_reject("26-05-01T10:00:01Z");
    expect_reject("2026/05/01T10:00:01Z");
    expect_reject("2026-05-01X10:00:01Z");
    expect_reject("2026-05-01T10-00-01Z");
    expect_reject("2026-05-01T10:00:01.Z");         /* dot without digits */
    expect_reject("2026-05-01T10:00:01.");
    expect_reject("2026-05-01T10:00:01,5Z");
    expect_reject("+2026-05-01T10:00:01Z");
    expect_reject(" 2026-05-01T10:00:01Z");
    expect_reject("2026-05-01T10:00:01 Z");
    expect_reject("1777629601");
}

static void test_ts_parse_rejects_trailing_junk(void **state)
{
    (void)state;
    expect_reject("2026-05-01T10:00:01Zjunk");
    expect_reject("2026-05-01T10:00:01Z ");
    expect_reject("2026-05-01T10:00:01ZZ");
    expect_reject("2026-05-01T10:00:01+02:00x");
    expect_reject("2026-05-01T10:00:01+02:00Z");
    expect_reject("2026-05-01T10:00:01+02:000");
    expect_reject("2026-05-01T10:00:01+0200 ");
    expect_reject("2026-05-01T10:00:01.123abc");
    expect_reject("2026-05-01T10:00:01 ");
    expect_reject("2026-05-01T10:00:01x");
}

static void test_ts_parse_rejects_bad_offsets(void **state)
{
    (void)state;
    expect_reject("2026-05-01T10:00:01+");
    expect_reject("2026-05-01T10:00:01+5");
    expect_reject("2026-05-01T10:00:01+05:");       /* colon without minutes */
    expect_reject("2026-05-01T10:00:01+05:3");
    expect_reject("2026-05-01T10:00:01+053");
    expect_reject("2026-05-01T10:00:01+24:00");
    expect_reject("2026-05-01T10:00:01+05:60");
    expect_reject("2026-05-01T10:00:01+ab:cd");
    expect_reject("2026-05-01T10:00:01*02:00");
    expect_reject("2026-05-01T10:00:01+05::30");
}

/* ---- round trips ---- */

/* Fuzz finding fuzz/findings/ts/crash-45f80268: an offset moved "0000-01-01T00:02+10" into
 * year -1, which the writers print as "-001-12-31T14:02:00Z", text ts_parse refuses (and a
 * stored fixed form that sorts wrong). Times outside years 0000-9999 UTC are refused. */
static void test_ts_parse_rejects_years_out_of_range(void **state)
{
    int64_t us = 0;
    char out[TS_STR_LEN];

    (void)state;
    assert_int_equal(ts_parse("0000-01-01T00:02+10", &us), -1);
    assert_int_equal(ts_parse("0000-01-01T00:00:00.000001+00:01", &us), -1);
    assert_int_equal(ts_parse("9999-12-31T23:59:59-00:01", &us), -1);
    assert_int_equal(ts_parse("9999-12-31T23:30-01", &us), -1);
    assert_int_equal(ts_parse("0000-01-01T00:00:00Z", &us), 0);
    ts_format_z(us, out, sizeof(out));
    assert_string_equal(out, "0000-01-01T00:00:00Z");
    assert_int_equal(ts_parse("0000-01-01T10:00+10:00", &us), 0);
    ts_format_z(us, out, sizeof(out));
    assert_string_equal(out, "0000-01-01T00:00:00Z");
    assert_int_equal(ts_parse("9999-12-31T23:59:59.999999Z", &us), 0);
    ts_format_z(us, out, sizeof(out));
    assert_string_equal(out, "9999-12-31T23:59:59.999999Z");
    assert_int_equal(ts_parse("9999-12-31T22:59:59+00:00", &us), 0);
}

static void test_ts_round_trip_random(void **state)
{
    int i;

    (void)state;
    rng_state = UINT64_C(0x2545f4914f6cdd1d);
    for (i = 0; i < 100000; i++) {
        int64_t us = random_us(), back;
        char s[TS_STR_LEN];

        ts_format_z(us, s, sizeof(s));
        if (ts_parse(s, &back) != 0 || back != us)
            fail_msg("Z form %s: %lld != %lld", s, (long long)back, (long long)us);
        ts_format_offset(us, s, sizeof(s));
        if (ts_parse(s, &back) != 0 || back != us)
            fail_msg("offset form %s: %lld != %lld", s, (long long)back, (long long)us);
        ts_format_fixed(us, s, sizeof(s));
        if (ts_parse(s, &back) != 0 || back != us)
            fail_msg("fixed form %s: %lld != %lld", s, (long long)back, (long long)us);
    }
}

/* Write the local time us + offset with an explicit "+HH:MM" and parse it back to us. */
static void test_ts_round_trip_random_offsets(void **state)
{
    int i;

    (void)state;
    rng_state = UINT64_C(0xdeadbeefcafef00d);
    for (i = 0; i < 50000; i++) {
        int64_t us = random_us(), back;
        int off = (int)(rng() % (2 * 23 * 60 + 1)) - 23 * 60;   /* -23:00 .. +23:00 */
        int a = off < 0 ? -off : off;
        char s[TS_STR_LEN + 8];
        size_t n;

        n = ts_format_fixed(us + (int64_t)off * 60 * SEC, s, sizeof(s));
        assert_int_equal(s[n - 1], 'Z');
        snprintf(s + n - 1, sizeof(s) - n + 1, "%c%02d:%02d", off < 0 ? '-' : '+', a / 60,
                 a % 60);
        if (ts_parse(s, &back) != 0 || back != us)
            fail_msg("%s: %lld != %lld", s, (long long)back, (long long)us);
    }
}

/* Every day from 1900 to 2300 formats to the next calendar day and parses back. */
static void test_ts_round_trip_every_day(void **state)
{
    int64_t day;
    int y = 1900, m = 1, d = 1;
    static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    (void)state;
    for (day = T_1900_01_01_000000 / 86400; day < T_2301_01_01_000000 / 86400; day++) {
        char want[64], got[TS_STR_LEN];
        int64_t back;
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

        snprintf(want, sizeof(want), "%04d-%02d-%02dT23:59:59.999999Z", y, m, d);
        ts_format_z((day + 1) * 86400 * SEC - 1, got, sizeof(got));
        assert_string_equal(got, want);
        assert_int_equal(ts_parse(want, &back), 0);
        assert_int_equal(back, (day + 1) * 86400 * SEC - 1);
        if (++d > dim[m - 1] + (m == 2 && leap)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    assert_int_equal(y, 2301);
}

/* ---- clocks ---- */

static void test_ts_now_and_monotonic(void **state)
{
    int64_t a, b;

    (void)state;
    assert_true(ts_now() > T_2024_02_29_120000 * SEC);
    a = ts_monotonic();
    b = ts_monotonic();
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ts_format_z_drops_zero_fraction),
        cmocka_unit_test(test_ts_parse_rejects_years_out_of_range),
        cmocka_unit_test(test_ts_format_z_keeps_fraction),
        cmocka_unit_test(test_ts_format_offset),
        cmocka_unit_test(test_ts_format_fixed_always_six_digits),
        cmocka_unit_test(test_ts_format_epoch_zero),
        cmocka_unit_test(test_ts_format_before_1970),
        cmocka_unit_test(test_ts_format_leap_days),
        cmocka_unit_test(test_ts_format_extremes_do_not_overflow),
        cmocka_unit_test(test_ts_format_truncates_to_size),
        cmocka_unit_test(test_ts_format_matches_gmtime),
        cmocka_unit_test(test_ts_format_fixed_sorts_like_time),
        cmocka_unit_test(test_ts_parse_z),
        cmocka_unit_test(test_ts_parse_offsets),
        cmocka_unit_test(test_ts_parse_space_separator),
        cmocka_unit_test(test_ts_parse_fraction_digits),
        cmocka_unit_test(test_ts_parse_no_offset_is_utc),
        cmocka_unit_test(test_ts_parse_optional_time_parts),
        cmocka_unit_test(test_ts_parse_leap_days),
        cmocka_unit_test(test_ts_parse_rejects_bad_dates),
        cmocka_unit_test(test_ts_parse_rejects_garbage),
        cmocka_unit_test(test_ts_parse_rejects_trailing_junk),
        cmocka_unit_test(test_ts_parse_rejects_bad_offsets),
        cmocka_unit_test(test_ts_round_trip_random),
        cmocka_unit_test(test_ts_round_trip_random_offsets),
        cmocka_unit_test(test_ts_round_trip_every_day),
        cmocka_unit_test(test_ts_now_and_monotonic),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
