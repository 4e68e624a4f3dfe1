/* vcode.c - compact vector codes (see vcode.h). Built with -O3 (Makefile) so that GCC
 * vectorises the portable dot product; on x86-64 an AVX2 loop written with intrinsics is
 * chosen at run time on CPUs that have AVX2, the portable one (SSE2) elsewhere. */
#include "util/vcode.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

static void put_scale(unsigned char *out, float scale)
{
    uint32_t u;

    memcpy(&u, &scale, sizeof(u));
    out[0] = (unsigned char)u;
    out[1] = (unsigned char)(u >> 8);
    out[2] = (unsigned char)(u >> 16);
    out[3] = (unsigned char)(u >> 24);
}

float vcode_scale(const unsigned char *c)
{
    uint32_t u = (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24;
    float f;

    memcpy(&f, &u, sizeof(f));
    return f;
}

/* Component i of the vector: from floats (le NULL) or from stored little-endian bytes. */
static float component(const float *x, const unsigned char *le, size_t i)
{
    uint32_t u;
    float f;

    if (!le)
        return x[i];
    le += 4 * i;
    u = (uint32_t)le[0] | (uint32_t)le[1] << 8 | (uint32_t)le[2] << 16 | (uint32_t)le[3] << 24;
    memcpy(&f, &u, sizeof(f));
    return f;
}

/* target_clones: an AVX2 build (which implies SSE4.1, so nearbyint is one rounding
 * instruction, not a call, and the divisions vectorise; AVX2 does not include FMA, so no
 * multiply-add is fused and every result is the baseline's, bit for bit) chosen at load time
 * on CPUs that have it. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void encode(const float *x, const unsigned char *le, size_t dim, unsigned char *out)
{
    double norm = 0, max = 0, scale, v, f;
    int8_t *c = (int8_t *)(out + VCODE_HEADER);
    size_t i;

    for (i = 0; i < dim; i++) {
        f = component(x, le, i);
        norm += f * f;
        if (fabs(f) > max)
            max = fabs(f);
    }
    norm = sqrt(norm);
    if (!(norm > 0) || !(max > 0) || !isfinite(norm)) {
        put_scale(out, 0);
        memset(c, 0, dim);
        return;
    }
    scale = max / norm / 127.0; /* unit-vector units per code step */
    for (i = 0; i < dim; i++) {
        v = nearbyint(component(x, le, i) / norm / scale);
        c[i] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
    put_scale(out, (float)scale);
}

void vcode_encode(const float *x, size_t dim, unsigned char *out)
{
    encode(x, NULL, dim, out);
}

void vcode_encode_le(const unsigned char *blob, size_t dim, unsigned char *out)
{
    encode(NULL, blob, dim, out);
}

/* The portable loop (GCC vectorises it at -O3 with the baseline's 16-byte vectors). */
static int32_t dot_plain(const int8_t *a, const int8_t *b, size_t n)
{
    int32_t sum = 0;
    size_t i;

    for (i = 0; i < n; i++)
        sum += (int16_t)a[i] * (int16_t)b[i];
    return sum;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define VCODE_X86 1
/* AVX2: 32 components a step, each widened to int16 (exact for every int8, -128 included)
 * and multiplied-and-added in pairs into int32 lanes (vpmaddwd): an exact integer sum, the
 * same as dot_plain's. GCC's own vectorisation of dot_plain widened to int32 before adding
 * (three times the instructions); this loop is bound by memory at 100,000 codes. */
__attribute__((target("avx2"))) static int32_t dot_avx2(const int8_t *a, const int8_t *b,
                                                        size_t n)
{
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256(), x0, y0, x1, y1;
    __m128i t;
    size_t i;

    for (i = 0; i + 32 <= n; i += 32) {
        x0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(a + i)));
        y0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(b + i)));
        x1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(a + i + 16)));
        y1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(b + i + 16)));
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(x0, y0));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(x1, y1));
    }
    acc0 = _mm256_add_epi32(acc0, acc1);
    t = _mm_add_epi32(_mm256_castsi256_si128(acc0), _mm256_extracti128_si256(acc0, 1));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
    return _mm_cvtsi128_si32(t) + dot_plain(a + i, b + i, n - i);
}
#endif

int32_t vcode_dot(const int8_t *a, const int8_t *b, size_t n)
{
#ifdef VCODE_X86
    if (__builtin_cpu_supports("avx2"))
        return dot_avx2(a, b, n);
#endif
    return dot_plain(a, b, n);
}

double vcode_cosine(const unsigned char *a, const unsigned char *b, size_t dim)
{
    return (double)vcode_scale(a) * vcode_scale(b) *
           vcode_dot((const int8_t *)(a + VCODE_HEADER), (const int8_t *)(b + VCODE_HEADER), dim);
}
