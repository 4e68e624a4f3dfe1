/* vcode.h - compact vector codes for nearest-neighbour search (issue 18): a vector is
 * normalised to unit length and scaled so that its largest component is ±127, then rounded to
 * int8. A code is VCODE_HEADER bytes (the scale, float32 little-endian: component i of the
 * unit vector is about code[i] * scale) followed by one int8 per dimension, a quarter of the
 * float32 vector's size. Two codes' dot product, an integer sum scored with SIMD (AVX2 when
 * the CPU has it, chosen at run time), times both scales, approximates the cosine of the two
 * vectors; the search re-ranks its best candidates with the exact vectors.
 */
#ifndef ENGRAM_UTIL_VCODE_H
#define ENGRAM_UTIL_VCODE_H

#include <stddef.h>
#include <stdint.h>

#define VCODE_HEADER 4

static inline size_t vcode_size(size_t dim)
{
    return VCODE_HEADER + dim;
}

/* Encode the dim floats x into out (vcode_size(dim) bytes). A zero vector gets scale 0. */
void vcode_encode(const float *x, size_t dim, unsigned char *out);
/* The same from a stored vector: dim float32 values, little-endian. */
void vcode_encode_le(const unsigned char *blob, size_t dim, unsigned char *out);
/* The dimension of a code of `bytes` bytes, or (size_t)-1 when it is too short. */
static inline size_t vcode_dim(size_t bytes)
{
    return bytes < VCODE_HEADER ? (size_t)-1 : bytes - VCODE_HEADER;
}
/* The scale of code c. */
float vcode_scale(const unsigned char *c);
/* Sum of a[i] * b[i] over n int8 components (the SIMD loop). */
int32_t vcode_dot(const int8_t *a, const int8_t *b, size_t n);
/* The approximate cosine of the vectors behind codes a and b (both of dimension dim). */
double vcode_cosine(const unsigned char *a, const unsigned char *b, size_t dim);

#endif
