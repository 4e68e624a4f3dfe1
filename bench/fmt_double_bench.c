/* fmt_double_bench.c - time jv_fmt_double() on float32 values widened to double (the embedding
 * case) and on random finite doubles. After `make`:
 *   cc -O2 -Isrc -o build/release/bench/fmt_double_bench bench/fmt_double_bench.c \
 *      build/release/libengram.a -lpthread -lm
 *   build/release/bench/fmt_double_bench [count]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/jv.h"

#define COUNT 1000000

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

/* splitmix64: a small, good-enough generator for test inputs. */
static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double time_values(const double *v, size_t n)
{
    char out[32];
    size_t i, total = 0;
    double t0 = now_ns();

    for (i = 0; i < n; i++)
        total += jv_fmt_double(v[i], out);
    if (total == 0)
        puts("impossible");
    return (now_ns() - t0) / (double)n;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : COUNT;
    double *f32 = malloc(n * sizeof(*f32)), *f64 = malloc(n * sizeof(*f64));
    size_t i;

    if (!f32 || !f64)
        return 1;
    for (i = 0; i < n; i++) {
        uint64_t r = next_u64();
        float f = (float)((double)(r >> 11) / 9007199254740992.0 * 2.0 - 1.0) * 0.25f;
        double d;

        f32[i] = f;
        do {
            r = next_u64();
            memcpy(&d, &r, sizeof(d));
        } while (d != d || d - d != 0.0);
        f64[i] = d;
    }
    printf("float32 widened: %.1f ns/double\n", time_values(f32, n));
    printf("random bits:     %.1f ns/double\n", time_values(f64, n));
    free(f32);
    free(f64);
    return 0;
}
