/* jv_float.c - doubles as Python's repr(float) prints them, for both jv writers: shortest
 * round-trip digits by Schubfach (exact, about 30 ns), with the slow snprintf/strtod search kept
 * as the fallback and as the test oracle (tests/unit/test_jv_float.c). */
#include "util/jv.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* Parse "d.ddd…e±x" produced by %.*e into bare digits and a 0.DIGITS exponent. */
static void split_sci(const char *s, char *digits, int *exp10)
{
    int n = 0;
    const char *e = strchr(s, 'e');

    for (; s < e; s++) {
        if (*s >= '0' && *s <= '9')
            digits[n++] = *s;
    }
    digits[n] = '\0';
    *exp10 = atoi(e + 1) + 1;
}

static double digits_value(const char *digits, int exp10)
{
    char buf[48];

    snprintf(buf, sizeof(buf), "0.%se%d", digits, exp10);
    return strtod(buf, NULL);
}

/* Add delta (+1 or -1) to the last digit of a digit string, with carry/borrow.
 * Returns 0 on success, -1 if the result would change the digit count. */
static int bump_last(char *digits, int *exp10, int delta)
{
    int i = (int)strlen(digits) - 1;

    while (i >= 0) {
        int d = digits[i] - '0' + delta;

        if (d >= 0 && d <= 9) {
            digits[i] = (char)('0' + d);
            break;
        }
        digits[i] = delta > 0 ? '0' : '9';
        i--;
    }
    if (i < 0) {
        if (delta < 0)
            return -1;
        memmove(digits + 1, digits, strlen(digits) + 1);
        digits[0] = '1';
        digits[strlen(digits) - 1] = '\0';
        (*exp10)++;
    }
    if (digits[0] == '0')
        return -1;
    return 0;
}

static void strip_zeros(char *digits)
{
    size_t n = strlen(digits);

    while (n > 1 && digits[n - 1] == '0')
        digits[--n] = '\0';
}

/* The p-significant-digit decimal that reads back as d and is nearest to it, if any:
 * only the correctly rounded value and its two neighbours can be inside d's rounding
 * interval. Returns 1 and fills digits/exp10 when one exists. */
static int digits_at(double d, int p, char *digits, int *exp10)
{
    char buf[40], cand[24], best[24] = "";
    double best_err = INFINITY;
    int e, ce, best_e = 0, delta;

    snprintf(buf, sizeof(buf), "%.*e", p - 1, d);
    split_sci(buf, cand, &e);
    if (digits_value(cand, e) == d) {
        memcpy(digits, cand, sizeof(cand));
        *exp10 = e;
        return 1;
    }
    /* Near powers of two the gap below is half the gap above: a neighbour may hit. */
    for (delta = -1; delta <= 1; delta += 2) {
        char nb[24];
        double v;

        memcpy(nb, cand, sizeof(nb));
        ce = e;
        if (bump_last(nb, &ce, delta) < 0)
            continue;
        v = digits_value(nb, ce);
        if (v == d && fabs(v - d) <= best_err) {
            best_err = fabs(v - d);
            memcpy(best, nb, sizeof(best));
            best_e = ce;
        }
    }
    if (!best[0])
        return 0;
    memcpy(digits, best, sizeof(best));
    *exp10 = best_e;
    return 1;
}

/* The reference implementation of jv_shortest_digits(): slow (about 3 us: snprintf and strtod
 * per probe) but simple enough to trust. It is the fallback of the fast path and the oracle of
 * tests/unit/test_jv_float.c. Whether some p-digit decimal reads back as d only grows with p
 * (append a zero), so the shortest length is found by bisection: about four probes instead of
 * up to seventeen. */
static void shortest_digits_slow(double d, char *out, int *exp10)
{
    char digits[24];
    int lo = 1, hi = 17, e;

    while (lo < hi) {
        int mid = (lo + hi) / 2;

        if (digits_at(d, mid, digits, &e))
            hi = mid;
        else
            lo = mid + 1;
    }
    if (!digits_at(d, lo, digits, &e)) {
        char buf[40];

        snprintf(buf, sizeof(buf), "%.16e", d);
        split_sci(buf, digits, &e);
    }
    strip_zeros(digits);
    memcpy(out, digits, strlen(digits) + 1);
    *exp10 = e;
}

/*
 * The fast path: Schubfach (Raffaello Giulietti, "The Schubfach way to render doubles", 2020).
 *
 * A positive double is v = c * 2^q. Every real in its rounding interval R reads back as v:
 * R = [v - 2^(q-1), v + 2^(q-1)], or [v - 2^(q-2), v + 2^(q-1)] when c = 2^52 starts a binade
 * (the gap below is half the gap above); the two ends belong to R only when c is even, as
 * strtod rounds ties to even. Take k with 10^k <= width(R) < 10^(k+1). Then R holds at most
 * one multiple of 10^(k+1), and at least one of s * 10^k and t * 10^k, s = floor(v / 10^k),
 * t = s + 1:
 *   - a multiple of 10^(k+1) inside R is the only decimal that short, so it is the answer;
 *   - otherwise the answer is s or t (in units of 10^k), whichever lies in R; if both do, the
 *     one nearer to v, the even one on an exact tie (Gay's dtoa mode 0, Python's repr).
 * The comparisons use 4v / 10^k and the two ends of R scaled the same way (the ends are
 * multiples of 2^(q-2), hence the 4), each known as its floor with the lowest bit set when it
 * is not an integer ("round to odd"). Compared with the even integers 4s, 4s + 2 (the midpoint
 * of s and t) and 4t, that loses nothing, equality included.
 */

#define MANT_BITS 52
#define MANT_MASK ((UINT64_C(1) << MANT_BITS) - 1)
#define HIDDEN_BIT (UINT64_C(1) << MANT_BITS)
#define EXP_MASK 0x7ff
#define EXP_BIAS 1075  /* q = biased exponent - EXP_BIAS for normal numbers */
#define Q_MIN (-1074)  /* q of the subnormals and of the smallest binade */

/* g(k) over-estimates 10^-k by less than one unit of its 126 bits: with
 * r = flog2_pow10(-k) - POW10_BITS, (g - 1) * 2^r <= 10^-k < g * 2^r and 2^125 < g <= 2^126.
 * The k range is what q in [Q_MIN, 971] needs. Built by tables_build(). */
#define POW10_BITS 125
#define POW10_K_MIN (-324)
#define POW10_K_MAX 292

static unsigned __int128 pow10_g[POW10_K_MAX - POW10_K_MIN + 1];
static char digit_pairs[200];  /* "00" "01" … "99" */
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
static atomic_int tables_ready; /* set (release) at the end of tables_build() */

/* floor(e * log10(2)), floor(log10(3/4 * 2^e)) and floor(e * log2(10)): each logarithm times
 * 2^41 or 2^38, rounded down, then a shift. Exact for every e this file passes (test_jv_float.c
 * checks the whole range against exact powers). >> on a negative int64_t is an arithmetic
 * shift in GCC, which this file needs anyway for unsigned __int128. */
static int flog10_pow2(int e)
{
    return (int)(((int64_t)e * INT64_C(661971961083)) >> 41);
}

static int flog10_three_quarters_pow2(int e)
{
    return (int)(((int64_t)e * INT64_C(661971961083) - INT64_C(274743187321)) >> 41);
}

static int flog2_pow10(int e)
{
    return (int)(((int64_t)e * INT64_C(913124641741)) >> 38);
}

/*
 * Exact unsigned integers of BIG_LIMBS x 32 bits, enough for 10^324 and 2^BIG_SHIFT. They only
 * build and check pow10_g, once per process. Every operation that would lose bits calls BUG().
 */
#define BIG_LIMBS 40
#define BIG_SHIFT 1120  /* 2^BIG_SHIFT / 10^292 still has more than 126 bits */

struct big {
    uint32_t limb[BIG_LIMBS];  /* least significant first */
};

static void big_set_u128(struct big *b, unsigned __int128 v)
{
    int i;

    memset(b, 0, sizeof(*b));
    for (i = 0; i < 4; i++) {
        b->limb[i] = (uint32_t)v;
        v >>= 32;
    }
}

static void big_set_pow2(struct big *b, int e)
{
    memset(b, 0, sizeof(*b));
    b->limb[e / 32] = UINT32_C(1) << (e % 32);
}

static void big_mul_small(struct big *b, uint32_t m)
{
    uint64_t carry = 0;
    int i;

    for (i = 0; i < BIG_LIMBS; i++) {
        uint64_t x = (uint64_t)b->limb[i] * m + carry;

        b->limb[i] = (uint32_t)x;
        carry = x >> 32;
    }
    if (carry)
        BUG("jv_float: bignum overflow");
}

/* b = floor(b / m). */
static void big_div_small(struct big *b, uint32_t m)
{
    uint64_t rem = 0;
    int i;

    for (i = BIG_LIMBS - 1; i >= 0; i--) {
        uint64_t x = rem << 32 | b->limb[i];

        b->limb[i] = (uint32_t)(x / m);
        rem = x % m;
    }
}

/* b = b * 2^s. */
static void big_shl(struct big *b, int s)
{
    struct big r;
    int i;

    memset(&r, 0, sizeof(r));
    for (i = 0; i < BIG_LIMBS; i++) {
        uint64_t x = (uint64_t)b->limb[i] << (s % 32);
        int j = i + s / 32;

        if (x == 0)
            continue;
        if (j >= BIG_LIMBS || (x >> 32 != 0 && j + 1 >= BIG_LIMBS))
            BUG("jv_float: bignum overflow");
        r.limb[j] |= (uint32_t)x;
        if (x >> 32)
            r.limb[j + 1] |= (uint32_t)(x >> 32);
    }
    *b = r;
}

/* out = a * m. */
static void big_mul_u128(struct big *out, const struct big *a, unsigned __int128 m)
{
    uint32_t acc[BIG_LIMBS + 4] = { 0 };
    int i, j;

    for (i = 0; i < BIG_LIMBS; i++) {
        uint64_t carry = 0;

        for (j = 0; j < 4; j++) {
            uint64_t x = (uint64_t)a->limb[i] * (uint32_t)(m >> (32 * j)) + acc[i + j] + carry;

            acc[i + j] = (uint32_t)x;
            carry = x >> 32;
        }
        acc[i + 4] = (uint32_t)carry;
    }
    for (i = BIG_LIMBS; i < BIG_LIMBS + 4; i++) {
        if (acc[i])
            BUG("jv_float: bignum overflow");
    }
    memcpy(out->limb, acc, sizeof(out->limb));
}

static int big_cmp(const struct big *a, const struct big *b)
{
    int i;

    for (i = BIG_LIMBS - 1; i >= 0; i--) {
        if (a->limb[i] != b->limb[i])
            return a->limb[i] < b->limb[i] ? -1 : 1;
    }
    return 0;
}

static int big_bitlen(const struct big *b)
{
    int i;

    for (i = BIG_LIMBS - 1; i >= 0; i--) {
        if (b->limb[i])
            return 32 * i + 32 - __builtin_clz(b->limb[i]);
    }
    return 0;
}

static uint32_t big_limb(const struct big *b, int i)
{
    return i < BIG_LIMBS ? b->limb[i] : 0;
}

/* floor(b / 2^lo) mod 2^128. */
static unsigned __int128 big_bits(const struct big *b, int lo)
{
    unsigned __int128 v = 0;
    int i, base = lo / 32, sh = lo % 32;

    for (i = 3; i >= 0; i--)
        v = v << 32 | big_limb(b, base + i);
    if (sh)
        v = v >> sh | (unsigned __int128)big_limb(b, base + 4) << (128 - sh);
    return v;
}

static void store_pow10(int k, unsigned __int128 g_minus_1)
{
    if (g_minus_1 >> POW10_BITS != 1)
        BUG("jv_float: power of ten outside 126 bits");
    pow10_g[k - POW10_K_MIN] = g_minus_1 + 1;
}

/* k <= 0: 10^-k is an integer and g - 1 is its leading 126 bits. Each entry is checked by
 * shifting back: (g - 1) * 2^r <= 10^-k < g * 2^r (exact when r < 0). */
static void build_pow10_nonpositive(void)
{
    struct big p, lo, hi;
    int j;

    big_set_u128(&p, 1);
    for (j = 0; j <= -POW10_K_MIN; j++) {
        int e = big_bitlen(&p) - 1, r = e - POW10_BITS;
        unsigned __int128 top;

        if (e != flog2_pow10(j))
            BUG("jv_float: flog2_pow10 disagrees with an exact power of ten");
        top = r >= 0 ? big_bits(&p, r) : big_bits(&p, 0) << -r;
        if (r >= 0) {
            big_set_u128(&lo, top);
            big_shl(&lo, r);
            big_set_u128(&hi, top + 1);
            big_shl(&hi, r);
            if (big_cmp(&lo, &p) > 0 || big_cmp(&p, &hi) >= 0)
                BUG("jv_float: power-of-ten table failed its check");
        }
        store_pow10(-j, top);
        big_mul_small(&p, 10);
    }
}

/* k > 0: g - 1 = floor(2^n / 10^k), n = -r, taken from floor(2^BIG_SHIFT / 10^k), which is
 * exact after k divisions by 10 since floor(floor(x / a) / b) = floor(x / (a b)). Each entry
 * is checked by multiplying back: (g - 1) * 10^k <= 2^n < g * 10^k. */
static void build_pow10_positive(void)
{
    struct big quot, p10, lo, hi, two_n;
    int k;

    big_set_pow2(&quot, BIG_SHIFT);
    big_set_u128(&p10, 1);
    for (k = 1; k <= POW10_K_MAX; k++) {
        int n = POW10_BITS - flog2_pow10(-k);
        unsigned __int128 top;

        big_div_small(&quot, 10);
        big_mul_small(&p10, 10);
        top = big_bits(&quot, BIG_SHIFT - n);
        big_mul_u128(&lo, &p10, top);
        big_mul_u128(&hi, &p10, top + 1);
        big_set_pow2(&two_n, n);
        if (big_cmp(&lo, &two_n) > 0 || big_cmp(&two_n, &hi) >= 0)
            BUG("jv_float: power-of-ten table failed its check");
        store_pow10(k, top);
    }
}

/* Run once per process through pthread_once: about 0.2 ms, mostly the checks. */
static void tables_build(void)
{
    int i;

    for (i = 0; i < 100; i++) {
        digit_pairs[2 * i] = (char)('0' + i / 10);
        digit_pairs[2 * i + 1] = (char)('0' + i % 10);
    }
    build_pow10_nonpositive();
    build_pow10_positive();
    atomic_store_explicit(&tables_ready, 1, memory_order_release);
}

/* pthread_once() costs a library call per double; the flag spares it once the tables exist. */
static inline void tables_need(void)
{
    if (!atomic_load_explicit(&tables_ready, memory_order_acquire))
        pthread_once(&tables_once, tables_build);
}

/* Whether x * 2^q / 10^k is an integer (x > 0). For k > 0, 10^k <= 2^q makes q > k, so
 * only the factor 5^k can fail to divide; 5^28 > 2^64 > x. */
static int scaled_is_integer(uint64_t x, int q, int k)
{
    uint64_t p5 = 1;
    int i;

    if (k > 0) {
        if (k > 27)
            return 0;
        for (i = 0; i < k; i++)
            p5 *= 5;
        return x % p5 == 0;
    }
    if (q - k >= 0)
        return 1;
    return k - q < 64 && __builtin_ctzll(x) >= k - q;
}

/*
 * x * 2^q / 10^k rounded to odd, with g = pow10_g[k] and h = q + flog2_pow10(-k) + 2 so that
 * the value is exactly cp * (10^-k * 2^-r) / 2^127, cp = x << h < 2^64. Using g instead of
 * 10^-k * 2^-r adds an error in (0, cp / 2^127], so the floor of the product is the floor of
 * the value unless the product lands at most cp / 2^127 above an integer. Then the value is
 * either that integer, which the exact test recognises, or just below it, and the product
 * cannot say which floor is right: return -1 and let the caller fall back. By Giulietti's
 * analysis that does not happen for doubles, and test_jv_float.c fails if it ever does; the
 * fallback keeps the output exact regardless.
 */
static inline int scaled_odd(unsigned __int128 g, uint64_t x, int h, int q, int k, uint64_t *out)
{
    uint64_t cp = x << h;
    unsigned __int128 low = (unsigned __int128)(uint64_t)g * cp;
    unsigned __int128 mid = (unsigned __int128)(uint64_t)(g >> 64) * cp + (uint64_t)(low >> 64);
    uint64_t floor_v = (uint64_t)(mid >> 63);
    /* product mod 2^127 = (mid mod 2^63) * 2^64 + (low mod 2^64) */
    int clear = ((uint64_t)mid & (UINT64_MAX >> 1)) != 0 || (uint64_t)low > cp;

    if (clear) {
        *out = floor_v | 1;
        return 0;
    }
    if (!scaled_is_integer(x, q, k))
        return -1;
    *out = floor_v;
    return 0;
}

/* A decimal f * 10^e. */
struct decimal {
    uint64_t f;  /* significand, at most 17 digits */
    int e;       /* exponent of its last digit */
};

/* The shortest decimal in the rounding interval of c * 2^q (c > 0), the nearest to it on a
 * choice. Returns -1 if scaled_odd() cannot decide. */
static int schubfach(uint64_t c, int q, struct decimal *dec)
{
    uint64_t odd = c & 1, cb = c << 2, cbl, cbr = cb + 2, vb, vbl, vbr, s, t, sp10, tp10;
    unsigned __int128 g;
    int k, h, upin, wpin, uin, win;

    if (c != HIDDEN_BIT || q == Q_MIN) {
        cbl = cb - 2;
        k = flog10_pow2(q);
    } else {
        cbl = cb - 1;
        k = flog10_three_quarters_pow2(q);
    }
    h = q + flog2_pow10(-k) + 2;
    g = pow10_g[k - POW10_K_MIN];
    if (scaled_odd(g, cb, h, q, k, &vb) < 0 || scaled_odd(g, cbl, h, q, k, &vbl) < 0 ||
        scaled_odd(g, cbr, h, q, k, &vbr) < 0)
        return -1;
    s = vb >> 2;
    sp10 = s / 10 * 10;
    tp10 = sp10 + 10;
    upin = vbl + odd <= sp10 << 2;
    wpin = (tp10 << 2) + odd <= vbr;
    dec->e = k;
    if (upin != wpin) {
        dec->f = upin ? sp10 : tp10;
        return 0;
    }
    t = s + 1;
    uin = vbl + odd <= s << 2;
    win = (t << 2) + odd <= vbr;
    if (uin != win)
        dec->f = uin ? s : t;
    else if (vb != 4 * s + 2)
        dec->f = vb < 4 * s + 2 ? s : t;
    else
        dec->f = (s & 1) ? t : s;
    return 0;
}

/* Eight digits of x < 10^8, leading zeros included. */
static inline void put8(char *p, uint32_t x)
{
    uint32_t hi = x / 10000, lo = x % 10000;

    memcpy(p, digit_pairs + 2 * (hi / 100), 2);
    memcpy(p + 2, digit_pairs + 2 * (hi % 100), 2);
    memcpy(p + 4, digit_pairs + 2 * (lo / 100), 2);
    memcpy(p + 6, digit_pairs + 2 * (lo % 100), 2);
}

/* The digits of f (0 < f < 10^17) into out without trailing zeros, NUL-terminated. Returns
 * their count; *len gets the count with trailing zeros. Always writes 18 bytes of out, as
 * jv_shortest_digits() may (17 digits and the NUL). */
static int put_digits(uint64_t f, char *out, int *len)
{
    char tmp[34] = { 0 };  /* 17 digits, then room for a fixed-size copy from any start */
    uint32_t hi = (uint32_t)(f / 100000000);
    int first = 0, n;

    tmp[0] = (char)('0' + hi / 100000000);
    put8(tmp + 1, hi % 100000000);
    put8(tmp + 9, (uint32_t)(f % 100000000));
    while (tmp[first] == '0')
        first++;
    *len = 17 - first;
    n = *len;
    while (tmp[first + n - 1] == '0')
        n--;
    memcpy(out, tmp + first, 17);
    out[n] = '\0';
    return n;
}

/* jv_shortest_digits() without the fallback: returns the digit count, or -1 when schubfach()
 * cannot decide. Ignores the sign of d. */
static int shortest_digits_fast(double d, char *out, int *exp10)
{
    struct decimal dec;
    uint64_t bits, c;
    int be, q, n, len;

    tables_need();
    memcpy(&bits, &d, sizeof(bits));
    be = (int)(bits >> MANT_BITS) & EXP_MASK;
    c = bits & MANT_MASK;
    q = Q_MIN;
    if (be != 0) {
        c |= HIDDEN_BIT;
        q = be - EXP_BIAS;
    }
    if (q < 0 && q > -MANT_BITS - 1 && (c & ((UINT64_C(1) << -q) - 1)) == 0) {
        /* An integer below 2^53: nothing shorter lies within half a unit of it. */
        dec.f = c >> -q;
        dec.e = 0;
    } else if (schubfach(c, q, &dec) < 0) {
        return -1;
    }
    n = put_digits(dec.f, out, &len);
    *exp10 = dec.e + len;
    return n;
}

/* The shortest digits of d (finite, non-zero; the sign is ignored) and their count. */
static int digits_of(double d, char *out, int *exp10)
{
    int n = shortest_digits_fast(d, out, exp10);

    if (n >= 0)
        return n;
    shortest_digits_slow(fabs(d), out, exp10);
    return (int)strlen(out);
}

void jv_shortest_digits(double d, char *out, int *exp10)
{
    digits_of(d, out, exp10);
}

/* Write s (NUL included) to out; returns its length. */
static size_t put_str(char *out, const char *s)
{
    size_t n = strlen(s);

    memcpy(out, s, n + 1);
    return n;
}

/* Fixed notation of 0.DIGITS x 10^k, -4 < k <= 16 (§2.2 step 3). Returns the length. */
static size_t layout_fixed(char *out, const char *digits, int n, int k)
{
    if (k <= 0) {
        memcpy(out, "0.", 2);
        memset(out + 2, '0', (size_t)-k);
        memcpy(out + 2 - k, digits, (size_t)n);
        return (size_t)(2 - k + n);
    }
    if (k >= n) {
        memcpy(out, digits, (size_t)n);
        memset(out + n, '0', (size_t)(k - n));
        memcpy(out + k, ".0", 2);
        return (size_t)k + 2;
    }
    memcpy(out, digits, (size_t)k);
    out[k] = '.';
    memcpy(out + k + 1, digits + k, (size_t)(n - k));
    return (size_t)n + 1;
}

/* Exponent notation d1.d2…dn e±XX (§2.2 step 4). Returns the length. */
static size_t layout_exp(char *out, const char *digits, int n, int k)
{
    size_t o = 1;
    int x = k - 1;

    out[0] = digits[0];
    if (n > 1) {
        out[1] = '.';
        memcpy(out + 2, digits + 1, (size_t)n - 1);
        o = (size_t)n + 1;
    }
    out[o++] = 'e';
    out[o++] = x < 0 ? '-' : '+';
    if (x < 0)
        x = -x;
    if (x >= 100) {
        out[o++] = (char)('0' + x / 100);
        x %= 100;
    }
    out[o++] = (char)('0' + x / 10);
    out[o++] = (char)('0' + x % 10);
    return o;
}

size_t jv_fmt_double(double d, char *out)
{
    char digits[24];
    size_t o = 0;
    int k, n;

    if (isnan(d))
        return put_str(out, "NaN");
    if (isinf(d))
        return put_str(out, d < 0 ? "-Infinity" : "Infinity");
    if (d == 0.0)
        return put_str(out, signbit(d) ? "-0.0" : "0.0");
    if (d < 0)
        out[o++] = '-';
    n = digits_of(d, digits, &k);
    if (k > -4 && k <= 16)
        o += layout_fixed(out + o, digits, n, k);
    else
        o += layout_exp(out + o, digits, n, k);
    out[o] = '\0';
    return o;
}
