/* vcode.c - compact vector codes (see vcode.h). Built with -O3 (Makefile) so that GCC
 * vectorises vcode_dot; target_clones adds an AVX2 build of it that the loader picks on CPUs
 * that have AVX2 (an ifunc), the baseline (SSE2 on x86-64) elsewhere. */
#include "util/vcode.h"

#include <math.h>
#include <string.h>

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

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
int32_t
vcode_dot(const int8_t *a, const int8_t *b, size_t n)
{
    int32_t sum = 0;
    size_t i;

    for (i = 0; i < n; i++)
        sum += (int16_t)a[i] * (int16_t)b[i];
    return sum;
}

double vcode_cosine(const unsigned char *a, const unsigned char *b, size_t dim)
{
    return (double)vcode_scale(a) * vcode_scale(b) *
           vcode_dot((const int8_t *)(a + VCODE_HEADER), (const int8_t *)(b + VCODE_HEADER), dim);
}
