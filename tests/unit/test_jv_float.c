/* test_jv_float.c - unit tests for util/jv_float.c, the float formatting of the jv writers: the fast shortest-digits path
 * (Schubfach) against the slow snprintf/strtod search it replaced, on millions of random
 * doubles and widened float32 values and on the edge cases; its power-of-ten table and
 * logarithm helpers against exact arithmetic; the spec §2.2 reference outputs; a timing print.
 *
 * This file #includes jv_float.c instead of testing through jv.h alone: the oracle
 * shortest_digits_slow(), the fast path without its fallback and the table helpers are all
 * static. The linker then never pulls libengram.a's jv_float.o, so nothing is defined twice.
 *
 * JV_FLOAT_TEST_COUNT sets the size of each random run (default 2,000,000; 100,000 under the
 * sanitizers, which make the oracle about ten times slower).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/jv_float.c"

#if defined(__SANITIZE_ADDRESS__)
#define DEFAULT_COUNT 100000
#else
#define DEFAULT_COUNT 2000000
#endif

#define FIRST_USE_THREADS 4

static uint64_t rng_state = 0x243f6a8885a308d3u;

/* splitmix64: a small generator, seeded the same way every run. */
static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static long test_count(void)
{
    const char *s = getenv("JV_FLOAT_TEST_COUNT");

    return s && *s ? strtol(s, NULL, 10) : DEFAULT_COUNT;
}

static double bits_to_double(uint64_t bits)
{
    double d;

    memcpy(&d, &bits, sizeof(d));
    return d;
}

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The layout the old jv_fmt_double() produced (with sprintf), over given digits: the reference
 * for the new memcpy-based layout code. */
static void reference_layout(int negative, const char *digits, int k, char *out, size_t size)
{
    const char *sign = negative ? "-" : "";
    char zeros[32];
    int n = (int)strlen(digits);

    memset(zeros, '0', sizeof(zeros));
    if (k > -4 && k <= 0)
        snprintf(out, size, "%s0.%.*s%s", sign, -k, zeros, digits);
    else if (k > 0 && k <= 16 && k >= n)
        snprintf(out, size, "%s%s%.*s.0", sign, digits, k - n, zeros);
    else if (k > 0 && k <= 16)
        snprintf(out, size, "%s%.*s.%s", sign, k, digits, digits + k);
    else
        snprintf(out, size, "%s%c%s%se%c%02d", sign, digits[0], n > 1 ? "." : "", digits + 1,
                 k - 1 < 0 ? '-' : '+', abs(k - 1));
}

/* Compare everything for one finite double: the fast digits (which must not need the
 * fallback) with the slow oracle, jv_shortest_digits() itself, and jv_fmt_double() with the
 * reference layout of the slow digits. */
static void check_value(double d)
{
    char fast[32], slow[32], pub[32], got[40], want[64];
    int ef = 0, es = 0, ep = 0, n;
    size_t len;

    if (d == 0.0) {
        len = jv_fmt_double(d, got);
        assert_string_equal(got, signbit(d) ? "-0.0" : "0.0");
        assert_int_equal(len, strlen(got));
        return;
    }
    n = shortest_digits_fast(d, fast, &ef);
    if (n < 0)
        fail_msg("fast path undecided for %a", d);
    shortest_digits_slow(fabs(d), slow, &es);
    if (strcmp(fast, slow) != 0 || ef != es || (size_t)n != strlen(fast))
        fail_msg("%a (%.17g): fast 0.%s e%d, slow 0.%s e%d", d, d, fast, ef, slow, es);
    jv_shortest_digits(fabs(d), pub, &ep);
    if (strcmp(pub, slow) != 0 || ep != es)
        fail_msg("%a: jv_shortest_digits 0.%s e%d, slow 0.%s e%d", d, pub, ep, slow, es);
    len = jv_fmt_double(d, got);
    reference_layout(d < 0, slow, es, want, sizeof(want));
    if (strcmp(got, want) != 0 || len != strlen(got))
        fail_msg("%a: jv_fmt_double '%s' (%zu), reference '%s'", d, got, len, want);
}

static void check_both_signs(double d)
{
    check_value(d);
    check_value(-d);
}

/* 2^x2 * m compared with 10^y10, exactly: <0, 0 or >0. */
static int cmp_scaled(uint32_t m, int x2, int y10)
{
    struct big l, r;
    int a = x2 < 0 ? -x2 : 0, b = y10 < 0 ? -y10 : 0, i;

    big_set_u128(&l, m);
    big_shl(&l, x2 + a);
    for (i = 0; i < b; i++)
        big_mul_small(&l, 10);
    big_set_u128(&r, 1);
    for (i = 0; i < y10 + b; i++)
        big_mul_small(&r, 10);
    big_shl(&r, a);
    return big_cmp(&l, &r);
}

struct first_use {
    double value;      /* formatted by the thread */
    char out[40];      /* what jv_fmt_double() wrote */
};

static void *first_use_thread(void *arg)
{
    struct first_use *fu = arg;

    jv_fmt_double(fu->value, fu->out);
    return NULL;
}

/* Runs first: threads race to build the tables through pthread_once. */
static void test_jv_float_tables_first_use_threads(void **state)
{
    pthread_t th[FIRST_USE_THREADS];
    struct first_use fu[FIRST_USE_THREADS];
    int i;

    (void)state;
    for (i = 0; i < FIRST_USE_THREADS; i++) {
        fu[i].value = (double)(float)(0.1 * (i + 1));
        assert_int_equal(pthread_create(&th[i], NULL, first_use_thread, &fu[i]), 0);
    }
    for (i = 0; i < FIRST_USE_THREADS; i++) {
        char want[40];
        char digits[32];
        int k;

        assert_int_equal(pthread_join(th[i], NULL), 0);
        shortest_digits_slow(fu[i].value, digits, &k);
        reference_layout(0, digits, k, want, sizeof(want));
        assert_string_equal(fu[i].out, want);
    }
    assert_string_equal(fu[0].out, "0.10000000149011612");
}

/* flog10_pow2, flog10_three_quarters_pow2 and flog2_pow10 over every argument the fast path
 * passes, against exact powers; and the shift h keeps x << h within 64 bits. */
static void test_jv_float_log_helpers_exact(void **state)
{
    int q, e, h_min = 99, h_max = -99;

    (void)state;
    for (q = Q_MIN; q <= 971; q++) {
        int k = flog10_pow2(q), k34 = flog10_three_quarters_pow2(q), h;

        if (cmp_scaled(1, q, k) < 0 || cmp_scaled(1, q, k + 1) >= 0)
            fail_msg("flog10_pow2(%d) = %d", q, k);
        if (cmp_scaled(3, q - 2, k34) < 0 || cmp_scaled(3, q - 2, k34 + 1) >= 0)
            fail_msg("flog10_three_quarters_pow2(%d) = %d", q, k34);
        assert_true(k >= POW10_K_MIN && k <= POW10_K_MAX);
        assert_true(k34 >= POW10_K_MIN && k34 <= POW10_K_MAX);
        h = q + flog2_pow10(-k) + 2;
        h_min = h < h_min ? h : h_min;
        h_max = h > h_max ? h : h_max;
        h = q + flog2_pow10(-k34) + 2;
        h_min = h < h_min ? h : h_min;
        h_max = h > h_max ? h : h_max;
    }
    /* cbr < 2^55, so cbr << h fits in 64 bits for h <= 8. */
    print_message("h in [%d, %d]\n", h_min, h_max);
    assert_true(h_min >= 0 && h_max <= 8);
    for (e = -POW10_K_MAX; e <= -POW10_K_MIN; e++) {
        int f = flog2_pow10(e);

        /* 2^f <= 10^e < 2^(f+1) */
        if (cmp_scaled(1, f, e) > 0 || cmp_scaled(1, f + 1, e) <= 0)
            fail_msg("flog2_pow10(%d) = %d", e, f);
    }
}

/* The table is built (and checked by multiplying back) at first use; here it is checked once
 * more by independent means: exact 128-bit powers of ten for small k, long double elsewhere. */
static void test_jv_float_pow10_table(void **state)
{
    unsigned __int128 p = 1;
    int j, k;

    (void)state;
    tables_need();
    assert_true(pow10_g[0 - POW10_K_MIN] == ((unsigned __int128)1 << 125) + 1);
    for (j = 0; j <= 38; j++) {
        int bits = 128 - (p >> 64 ? __builtin_clzll((uint64_t)(p >> 64))
                                  : 64 + __builtin_clzll((uint64_t)p));
        unsigned __int128 want = bits <= 126 ? p << (126 - bits) : p >> (bits - 126);

        if (pow10_g[-j - POW10_K_MIN] != want + 1)
            fail_msg("g(%d) is not the top of 10^%d", -j, j);
        p *= 10;
    }
    for (k = POW10_K_MIN; k <= POW10_K_MAX; k++) {
        unsigned __int128 g = pow10_g[k - POW10_K_MIN];
        long double approx = ldexpl((long double)g, flog2_pow10(-k) - POW10_BITS);
        long double ratio = approx / powl(10.0L, (long double)-k);

        assert_true(g >> 125 == 1 && g > ((unsigned __int128)1 << 125));
        if (fabsl(ratio - 1.0L) > 1e-17L)
            fail_msg("g(%d): g * 2^r / 10^-k = 1 + %Lg", k, ratio - 1.0L);
    }
}

/* (a) random bit patterns: every exponent, every sign. */
static void test_jv_float_random_bits(void **state)
{
    long n = test_count(), done = 0;

    (void)state;
    while (done < n) {
        double d = bits_to_double(next_u64());

        if (!isfinite(d))
            continue;
        check_value(d);
        done++;
    }
    print_message("%ld random finite doubles identical\n", done);
}

/* (b) float32 values widened to double, the embedding case: half random float32 bit patterns,
 * half uniform in [-1, 1) as embedding components are. */
static void test_jv_float_random_float32(void **state)
{
    long n = test_count(), done = 0;

    (void)state;
    while (done < n) {
        uint64_t r = next_u64();
        uint32_t u = (uint32_t)r;
        float f;

        if (done & 1)
            f = (float)((double)(r >> 11) / 9007199254740992.0 * 2.0 - 1.0);
        else
            memcpy(&f, &u, sizeof(f));
        if (!isfinite(f))
            continue;
        check_value((double)f);
        done++;
    }
    print_message("%ld widened float32 values identical\n", done);
}

/* (c) powers of two and ten, subnormals, the extremes, every exponent with edge mantissas. */
static void test_jv_float_edge_values(void **state)
{
    static const uint64_t mantissas[] = {
        0, 1, 2, 3, 5, 9, UINT64_C(1) << 51, (UINT64_C(1) << 51) + 1, (UINT64_C(1) << 51) - 1,
        MANT_MASK - 1, MANT_MASK,
    };
    long count = 0, sub_n = test_count() / 10;
    uint64_t be, t;
    char out[40];
    int e;
    size_t i;

    (void)state;
    for (e = -1074; e <= 1023; e++, count += 2)
        check_both_signs(ldexp(1.0, e));
    for (e = -323; e <= 308; e++) {
        char tok[16];
        double d;

        snprintf(tok, sizeof(tok), "1e%d", e);
        d = strtod(tok, NULL);
        check_both_signs(d);
        check_both_signs(nextafter(d, 0.0));
        check_both_signs(nextafter(d, INFINITY));
        count += 6;
    }
    for (be = 0; be <= 2046; be++) {
        for (i = 0; i < ARRAY_SIZE(mantissas); i++) {
            if (be == 0 && mantissas[i] == 0)
                continue;
            check_value(bits_to_double(be << MANT_BITS | mantissas[i]));
            count++;
        }
        for (i = 0; i < 4; i++, count++)
            check_value(bits_to_double(be << MANT_BITS | (next_u64() & MANT_MASK)));
    }
    for (t = 1; t <= (uint64_t)sub_n; t++, count++)
        check_value(bits_to_double(t));  /* the smallest subnormals, one by one */
    for (t = 0; t < 1000; t++, count++)
        check_value(bits_to_double(MANT_MASK - t));  /* the largest subnormals */
    check_both_signs(DBL_MAX);
    check_both_signs(DBL_MIN);
    check_both_signs(nextafter(DBL_MAX, 0.0));
    check_both_signs(nextafter(DBL_MIN, 0.0));
    check_value(0.0);
    check_value(-0.0);
    count += 10;
    jv_fmt_double(bits_to_double(MANT_MASK), out);
    assert_string_equal(out, "2.225073858507201e-308");
    jv_fmt_double(bits_to_double(1), out);
    assert_string_equal(out, "5e-324");
    print_message("%ld edge values identical\n", count);
}

/* (f) doubles whose rounding interval ends, or which themselves lie, exactly on a multiple of
 * 10^m, m = k or k + 1: (2c - 1) 2^(q-1), c 2^q or (2c + 1) 2^(q-1) divisible by 10^m, which
 * takes 0 <= m < q and 5^m dividing 2c - 1, c or 2c + 1. The parity of c decides whether an end
 * belongs to the interval; random values almost never land there. */
static void test_jv_float_interval_ends_on_decimals(void **state)
{
    long count = 0;
    int q, m, side, i;

    (void)state;
    for (q = 1; q <= 100; q++) {
        int k = flog10_pow2(q);

        for (m = k; m <= k + 1; m++) {
            uint64_t p5 = 1;

            if (m < 0 || m >= q || m > 23)
                continue;
            for (i = 0; i < m; i++)
                p5 *= 5;
            for (side = -1; side <= 1; side++) {
                /* 2c + side = 0 (mod 5^m) */
                uint64_t r = side == 0 ? 0 : (p5 - (uint64_t)side) / 2 % p5;

                for (i = 0; i < 20; i++) {
                    uint64_t c0 = HIDDEN_BIT + (i ? next_u64() % HIDDEN_BIT : 0);
                    uint64_t c = c0 - c0 % p5 + r;

                    if (c < HIDDEN_BIT)
                        c += p5;
                    if (c > MANT_MASK + HIDDEN_BIT)
                        continue;
                    check_both_signs(ldexp((double)c, q));
                    count += 2;
                    if (c + p5 <= MANT_MASK + HIDDEN_BIT) {
                        check_both_signs(ldexp((double)(c + p5), q));  /* other parity */
                        count += 2;
                    }
                }
            }
        }
    }
    print_message("%ld values with decimal interval ends identical\n", count);
}

/* (d) the spec §2.2 reference outputs (Python 3.11), plus the non-finite spellings. */
static void test_jv_float_spec_table(void **state)
{
    static const struct {
        const char *token;  /* strtod input */
        const char *want;   /* Python's repr */
    } table[] = {
        { "1.0", "1.0" }, { "1E2", "100.0" }, { "0.1", "0.1" }, { "0.6", "0.6" },
        { "1e16", "1e+16" }, { "1e15", "1000000000000000.0" }, { "0.0001", "0.0001" },
        { "0.00001", "1e-05" }, { "1.5e-7", "1.5e-07" }, { "0x1p-24", "5.960464477539063e-08" },
        { "0x1p89", "6.189700196426902e+26" }, { "5e-324", "5e-324" }, { "-0.0", "-0.0" },
        { "1.7976931348623157e308", "1.7976931348623157e+308" }, { "-2.5", "-2.5" },
        { "0x1p-44", "5.684341886080802e-14" }, { "123456789012345678", "1.2345678901234568e+17" },
        { "9007199254740993", "9007199254740992.0" }, { "1e22", "1e+22" }, { "1e23", "1e+23" },
        { "0.3", "0.3" }, { "2.2250738585072014e-308", "2.2250738585072014e-308" },
    };
    char out[40];
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(table); i++) {
        double d = strtod(table[i].token, NULL);

        jv_fmt_double(d, out);
        if (strcmp(out, table[i].want) != 0)
            fail_msg("%s: got '%s', want '%s'", table[i].token, out, table[i].want);
        check_value(d);
    }
    jv_fmt_double(2.0 / 3.0, out);
    assert_string_equal(out, "0.6666666666666666");
    jv_fmt_double((double)0.1f, out);
    assert_string_equal(out, "0.10000000149011612");
    assert_int_equal(jv_fmt_double(INFINITY, out), 8);
    assert_string_equal(out, "Infinity");
    assert_int_equal(jv_fmt_double(-INFINITY, out), 9);
    assert_string_equal(out, "-Infinity");
    assert_int_equal(jv_fmt_double(NAN, out), 3);
    assert_string_equal(out, "NaN");
}

/* (e) integers: every one up to a bound, around 2^53 and 2^54, around powers of ten, random
 * ones below and above 2^53. */
static void test_jv_float_integers(void **state)
{
    long i, n = test_count() / 10, count = 0;
    int p;

    (void)state;
    for (i = 1; i <= n; i++, count++)
        check_value((double)i);
    for (i = -3000; i <= 3000; i++, count += 2) {
        check_both_signs(9007199254740992.0 + (double)i);
        check_both_signs(18014398509481984.0 + (double)(2 * i));
    }
    for (p = 1; p <= 22; p++) {
        double base = pow(10.0, p);

        for (i = -50; i <= 50; i++, count++)
            check_value(base + (double)i);
    }
    for (i = 0; i < n; i++, count += 2) {
        uint64_t r = next_u64();

        check_value((double)(r >> 11));  /* below 2^53: exact */
        check_value((double)r);          /* up to 2^64, rounded */
    }
    print_message("%ld integral values identical\n", count);
}

/* jv_write_compact() over one 1536-dimension embedding must equal jv_fmt_double() joined. */
static void check_array_text(const double *v, size_t n, const struct buf *b)
{
    struct buf want = BUF_INIT;
    char num[40];
    size_t i;

    buf_putc(&want, '[');
    for (i = 0; i < n; i++) {
        if (i)
            buf_putc(&want, ',');
        buf_append(&want, num, jv_fmt_double(v[i], num));
    }
    buf_putc(&want, ']');
    assert_int_equal(b->len, want.len);
    assert_memory_equal(b->data, want.data, want.len);
    buf_release(&want);
}

/* Timing print, no assertion: ns per double for widened float32 embedding components (fast
 * and slow), and jv_write_compact() of a 1536-float array as parsed from stored text (each
 * element a number token, so every one goes through strtod() and jv_fmt_double()). */
static void test_jv_float_timing(void **state)
{
    long i, n = test_count() / 2, slow_n = n / 100 + 1, reps = 200;
    double *v = malloc((size_t)n * sizeof(*v)), t0, fast_ns, slow_ns, arr_ns;
    struct arena *a = arena_new();
    struct jv *arr = jv_array(a);
    struct buf b = BUF_INIT;
    char out[40];
    size_t total = 0;
    int k;

    (void)state;
    assert_non_null(v);
    for (i = 0; i < n; i++)
        v[i] = (float)((double)(next_u64() >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    t0 = now_ns();
    for (i = 0; i < n; i++)
        total += jv_fmt_double(v[i], out);
    fast_ns = (now_ns() - t0) / (double)n;
    t0 = now_ns();
    for (i = 0; i < slow_n; i++) {
        shortest_digits_slow(fabs(v[i]) + 1e-300, out, &k);
        total += (size_t)k;
    }
    slow_ns = (now_ns() - t0) / (double)slow_n;
    for (i = 0; i < 1536; i++) {
        int len = snprintf(out, sizeof(out), "%.17g", v[i]);

        if (!strpbrk(out, ".e"))
            memcpy(out + len, ".0", 3);
        jv_array_append(a, arr, jv_number_token(a, out));
    }
    t0 = now_ns();
    for (i = 0; i < reps; i++) {
        buf_reset(&b);
        jv_write_compact(&b, arr);
    }
    arr_ns = (now_ns() - t0) / (double)reps;
    check_array_text(v, 1536, &b);
    print_message("jv_fmt_double, widened float32: %.1f ns/double (slow path %.0f ns, %.0fx)\n",
                  fast_ns, slow_ns, slow_ns / fast_ns);
    print_message("jv_write_compact, 1536 floats: %.1f us/array (%.1f ns/element, %zu bytes)\n",
                  arr_ns / 1000.0, arr_ns / 1536.0, b.len);
    assert_true(total > 0);
    buf_release(&b);
    arena_free(a);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jv_float_tables_first_use_threads),
        cmocka_unit_test(test_jv_float_log_helpers_exact),
        cmocka_unit_test(test_jv_float_pow10_table),
        cmocka_unit_test(test_jv_float_spec_table),
        cmocka_unit_test(test_jv_float_edge_values),
        cmocka_unit_test(test_jv_float_integers),
        cmocka_unit_test(test_jv_float_interval_ends_on_decimals),
        cmocka_unit_test(test_jv_float_random_float32),
        cmocka_unit_test(test_jv_float_random_bits),
        cmocka_unit_test(test_jv_float_timing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
