/* test_vcode.c - unit tests for util/vcode: the dot product (the AVX2 loop where the CPU has
 * it) equals a plain integer sum for every int8 value, every length and every alignment, and
 * the encoder gives the bytes of the code's scalar definition, and a code's cosine
 * approximates the vectors' own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/vcode.h"

static uint64_t rng = 42;

static int8_t rand_i8(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (int8_t)(rng >> 56);
}

static int32_t reference_dot(const int8_t *a, const int8_t *b, size_t n)
{
    int32_t sum = 0;
    size_t i;

    for (i = 0; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

/* Random components over the whole int8 range, lengths 0..200 and 1536, every start offset
 * 0..3 (unaligned loads), and the extremes (-128 · -128 in every lane, the largest sum). */
static void test_vcode_dot_matches_plain_sum(void **state)
{
    enum { MAX = 1536 + 8 };
    int8_t a[MAX], b[MAX];
    size_t n, off, i;

    (void)state;
    for (i = 0; i < MAX; i++) {
        a[i] = rand_i8();
        b[i] = rand_i8();
    }
    for (off = 0; off < 4; off++) {
        for (n = 0; n <= 200; n++)
            assert_int_equal(vcode_dot(a + off, b + off, n), reference_dot(a + off, b + off, n));
        assert_int_equal(vcode_dot(a + off, b + off, 1536), reference_dot(a + off, b + off, 1536));
    }
    for (i = 0; i < MAX; i++)
        a[i] = b[i] = -128;
    assert_int_equal(vcode_dot(a, b, 1536), 1536 * 128 * 128);
    for (i = 0; i < MAX; i++)
        b[i] = 127;
    assert_int_equal(vcode_dot(a, b, 1536), -1536 * 128 * 127);
}

/* The scalar definition of the code (vcode.h), evaluated here in plain double arithmetic: the
 * library's encoder (an AVX2 clone where the CPU has it) must give the same bytes. */
static void reference_encode(const float *x, size_t dim, unsigned char *out)
{
    double norm = 0, max = 0, scale, v;
    float f;
    uint32_t u;
    size_t i;

    for (i = 0; i < dim; i++) {
        norm += (double)x[i] * x[i];
        max = fabs(x[i]) > max ? fabs(x[i]) : max;
    }
    norm = sqrt(norm);
    scale = norm > 0 && max > 0 ? max / norm / 127.0 : 0;
    for (i = 0; i < dim; i++) {
        v = scale > 0 ? nearbyint(x[i] / norm / scale) : 0;
        out[VCODE_HEADER + i] = (unsigned char)(int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
    f = (float)scale;
    memcpy(&u, &f, sizeof(u));
    for (i = 0; i < VCODE_HEADER; i++)
        out[i] = (unsigned char)(u >> (8 * i));
}

static void test_vcode_encode_matches_reference(void **state)
{
    enum { DIM = 1536 };
    float x[DIM];
    unsigned char got[DIM + VCODE_HEADER], want[DIM + VCODE_HEADER];
    size_t i, round, dim;

    (void)state;
    for (round = 0; round < 50; round++) {
        for (i = 0; i < DIM; i++)
            x[i] = (float)rand_i8() * (round % 3 == 0 ? 1e-3f : round % 3 == 1 ? 1.0f : 7e4f);
        dim = round < 40 ? DIM : round; /* short vectors: the loops' tails */
        vcode_encode(x, dim, got);
        reference_encode(x, dim, want);
        assert_memory_equal(got, want, dim + VCODE_HEADER);
    }
    memset(x, 0, sizeof(x));
    vcode_encode(x, DIM, got);
    reference_encode(x, DIM, want);
    assert_memory_equal(got, want, DIM + VCODE_HEADER);
}

static void test_vcode_cosine_approximates(void **state)
{
    enum { DIM = 1536 };
    float x[DIM], y[DIM];
    unsigned char cx[DIM + VCODE_HEADER], cy[DIM + VCODE_HEADER];
    double dot = 0, nx = 0, ny = 0;
    size_t i;

    (void)state;
    for (i = 0; i < DIM; i++) {
        x[i] = (float)rand_i8();
        y[i] = x[i] + (float)rand_i8() / 4;
        dot += (double)x[i] * y[i];
        nx += (double)x[i] * x[i];
        ny += (double)y[i] * y[i];
    }
    vcode_encode(x, DIM, cx);
    vcode_encode(y, DIM, cy);
    assert_true(fabs(vcode_cosine(cx, cy, DIM) - dot / sqrt(nx * ny)) < 0.01);
    assert_true(fabs(vcode_cosine(cx, cx, DIM) - 1.0) < 0.01);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vcode_dot_matches_plain_sum),
        cmocka_unit_test(test_vcode_encode_matches_reference),
        cmocka_unit_test(test_vcode_cosine_approximates),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
