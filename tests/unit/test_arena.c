/* test_arena.c - unit tests for util/arena: alignment, small and large allocations, string
 * helpers, calloc zeroing, reset, arena_used and arena_defer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"

#define ALIGNED16(p) (((uintptr_t)(p) & 15) == 0)

struct chunk {
    unsigned char *p;
    size_t n;
    unsigned char fill;
};

/* Allocate n bytes, check alignment, and fill them so overlaps show up in check_chunks(). */
static void take(struct arena *a, struct chunk *c, size_t n, unsigned char fill)
{
    c->p = arena_alloc(a, n);
    c->n = n;
    c->fill = fill;
    assert_non_null(c->p);
    assert_true(ALIGNED16(c->p));
    memset(c->p, fill, n);
}

static void check_chunks(const struct chunk *c, size_t count)
{
    size_t i, j;

    for (i = 0; i < count; i++)
        for (j = 0; j < c[i].n; j++)
            if (c[i].p[j] != c[i].fill)
                fail_msg("chunk %zu (size %zu) byte %zu overwritten", i, c[i].n, j);
}

static void test_arena_new_and_free(void **state)
{
    struct arena *a = arena_new();

    (void)state;
    assert_non_null(a);
    assert_int_equal(arena_used(a), 0);
    arena_free(a);
}

static void test_arena_free_null(void **state)
{
    (void)state;
    arena_free(NULL);
}

static void test_arena_alloc_aligned_16(void **state)
{
    struct arena *a = arena_new();
    static struct chunk c[2000];
    size_t i, k = 0;

    (void)state;
    /* every size from 0 to 600, so each possible misalignment of the bump pointer occurs */
    for (i = 0; i <= 600; i++, k++)
        take(a, &c[k], i, (unsigned char)k);
    /* odd sizes around the block size and the one-off threshold */
    {
        static const size_t odd[] = { 4095, 4096, 4097, 8191, 8192, 8193, 1, 3, 12345, 7,
                                      100001, 5, 65537, 9 };

        for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++, k++)
            take(a, &c[k], odd[i], (unsigned char)k);
    }
    /* aligned for any type: a long double and a max_align_t fit */
    for (i = 0; i < 500; i++, k++) {
        take(a, &c[k], 1 + i % 17, (unsigned char)k);
        assert_int_equal((uintptr_t)c[k].p % _Alignof(max_align_t), 0);
    }
    check_chunks(c, k);
    arena_free(a);
}

static void test_arena_many_small_allocations(void **state)
{
    struct arena *a = arena_new();
    enum { N = 100000 };
    struct chunk *c = calloc(N, sizeof(*c));
    size_t i, total = 0;

    (void)state;
    assert_non_null(c);
    for (i = 0; i < N; i++) {
        size_t n = 1 + (i * 7919) % 64;

        take(a, &c[i], n, (unsigned char)(i * 31));
        total += n;
    }
    check_chunks(c, N);
    assert_int_equal(arena_used(a), total);
    free(c);
    arena_free(a);
}

static void test_arena_large_allocations(void **state)
{
    struct arena *a = arena_new();
    static const size_t sizes[] = { 5000, 10, 8192, 20, 8193, 16 << 20, 3, 1 << 20, 4097, 1,
                                    (1 << 20) + 1, 64, 4 << 20, 2 };
    struct chunk c[sizeof(sizes) / sizeof(sizes[0])];
    size_t i, total = 0;

    (void)state;
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        take(a, &c[i], sizes[i], (unsigned char)(0x11 * (i + 1)));
        total += sizes[i];
    }
    check_chunks(c, sizeof(sizes) / sizeof(sizes[0]));
    assert_int_equal(arena_used(a), total);
    arena_free(a);
}

/* A large one-off allocation while the current block is mostly empty must not disturb
 * the small allocations that follow it. */
static void test_arena_large_then_small_continue(void **state)
{
    struct arena *a = arena_new();
    struct chunk c[400];
    size_t i;

    (void)state;
    take(a, &c[0], 100, 1);
    take(a, &c[1], 1 << 20, 2);
    for (i = 2; i < 400; i++)
        take(a, &c[i], 50, (unsigned char)i);
    check_chunks(c, 400);
    arena_free(a);
}

static void test_arena_strdup(void **state)
{
    struct arena *a = arena_new();
    char *s;

    (void)state;
    s = arena_strdup(a, "hello");
    assert_string_equal(s, "hello");
    s = arena_strdup(a, "");
    assert_string_equal(s, "");
    assert_null(arena_strdup(a, NULL));
    arena_free(a);
}

static void test_arena_strdup_long(void **state)
{
    struct arena *a = arena_new();
    static const size_t lens[] = { 255, 256, 257, 1000, 5000, 9000, 100000 };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        char *src = malloc(lens[i] + 1);
        char *s;

        assert_non_null(src);
        memset(src, 'a' + (int)i, lens[i]);
        src[lens[i]] = '\0';
        s = arena_strdup(a, src);
        assert_ptr_not_equal(s, src);
        assert_int_equal(strlen(s), lens[i]);
        assert_string_equal(s, src);
        free(src);
    }
    arena_free(a);
}

static void test_arena_strndup(void **state)
{
    struct arena *a = arena_new();
    char big[600];
    char *s;

    (void)state;
    s = arena_strndup(a, "abcdef", 3);
    assert_string_equal(s, "abc");
    s = arena_strndup(a, "abcdef", 0);
    assert_string_equal(s, "");
    s = arena_strndup(a, "abc", 3);
    assert_string_equal(s, "abc");
    /* source need not be NUL-terminated */
    s = arena_strndup(a, (const char[]){ 'x', 'y', 'z' }, 3);
    assert_string_equal(s, "xyz");

    memset(big, 'k', sizeof(big));
    s = arena_strndup(a, big, 300);
    assert_int_equal(strlen(s), 300);
    assert_memory_equal(s, big, 300);
    s = arena_strndup(a, big, sizeof(big));
    assert_int_equal(strlen(s), sizeof(big));
    arena_free(a);
}

static void test_arena_memdup(void **state)
{
    struct arena *a = arena_new();
    unsigned char bin[300];
    unsigned char *p;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)(i * 13);
    p = arena_memdup(a, bin, sizeof(bin));
    assert_true(ALIGNED16(p));
    assert_memory_equal(p, bin, sizeof(bin));
    arena_free(a);
}

static void test_arena_printf(void **state)
{
    struct arena *a = arena_new();
    char *s;

    (void)state;
    s = arena_printf(a, "%s=%d", "n", 42);
    assert_string_equal(s, "n=42");
    s = arena_printf(a, "%s", "");
    assert_string_equal(s, "");
    assert_true(ALIGNED16(s));
    arena_free(a);
}

/* arena_printf formats into a 256-byte stack buffer first: check lengths around it. */
static void test_arena_printf_long(void **state)
{
    struct arena *a = arena_new();
    static const size_t lens[] = { 254, 255, 256, 257, 300, 4096, 9000, 200000 };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        char *src = malloc(lens[i] + 1);
        char *s;

        assert_non_null(src);
        memset(src, 'A' + (int)i, lens[i]);
        src[lens[i]] = '\0';
        s = arena_printf(a, "<%s>%zu", src, lens[i]);
        assert_int_equal(s[0], '<');
        assert_memory_equal(s + 1, src, lens[i]);
        assert_int_equal(s[lens[i] + 1], '>');
        {
            char tail[32];

            snprintf(tail, sizeof(tail), "%zu", lens[i]);
            assert_string_equal(s + lens[i] + 2, tail);
        }
        free(src);
    }
    arena_free(a);
}

static void test_arena_calloc_zeroes(void **state)
{
    struct arena *a = arena_new();
    unsigned char *p, *q;
    size_t i;
    int *ints;

    (void)state;
    /* dirty the first block, reset, then calloc must hand back zeroed memory */
    p = arena_alloc(a, 4000);
    memset(p, 0xAA, 4000);
    arena_reset(a);
    q = arena_calloc(a, 1000, 4);
    assert_true(ALIGNED16(q));
    for (i = 0; i < 4000; i++)
        if (q[i])
            fail_msg("byte %zu not zeroed", i);

    ints = arena_calloc(a, 3000, sizeof(int));   /* spills into a new block */
    for (i = 0; i < 3000; i++)
        assert_int_equal(ints[i], 0);
    ints = arena_calloc(a, 1 << 18, sizeof(int)); /* large one-off */
    for (i = 0; i < (1 << 18); i++)
        if (ints[i])
            fail_msg("int %zu not zeroed", i);

    assert_non_null(arena_calloc(a, 0, 8));
    assert_non_null(arena_calloc(a, 8, 0));
    arena_free(a);
}

static void test_arena_reset_reuses(void **state)
{
    struct arena *a = arena_new();
    int round;

    (void)state;
    for (round = 0; round < 50; round++) {
        struct chunk c[300];
        size_t i, total = 0;

        for (i = 0; i < 300; i++) {
            size_t n = i % 50 == 49 ? 20000 : 1 + (i * 37 + (size_t)round) % 200;

            take(a, &c[i], n, (unsigned char)(i + (size_t)round));
            total += n;
        }
        check_chunks(c, 300);
        assert_int_equal(arena_used(a), total);
        arena_reset(a);
        assert_int_equal(arena_used(a), 0);
    }
    arena_free(a);
}

/* arena.h: reset "keeps the first block for reuse". A large one-off allocation made while the
 * first block was the only one used to be chained behind it, and reset then kept the one-off
 * block (of whatever size) and freed the first block. */
static void test_arena_reset_keeps_first_block(void **state)
{
    struct arena *a = arena_new();
    void *first, *again;

    (void)state;
    first = arena_alloc(a, 16);
    memset(arena_alloc(a, 8 << 20), 1, 8 << 20);
    arena_reset(a);
    again = arena_alloc(a, 16);
    assert_ptr_equal(again, first);

    /* and with several ordinary blocks plus one-offs in between */
    memset(arena_alloc(a, 3000), 2, 3000);
    memset(arena_alloc(a, 1 << 20), 3, 1 << 20);
    for (int i = 0; i < 100; i++)
        memset(arena_alloc(a, 1000), 4, 1000);
    memset(arena_alloc(a, 1 << 20), 5, 1 << 20);
    arena_reset(a);
    assert_ptr_equal(arena_alloc(a, 16), first);
    arena_free(a);
}

static void test_arena_used_counts(void **state)
{
    struct arena *a = arena_new();
    size_t u;

    (void)state;
    assert_int_equal(arena_used(a), 0);
    arena_alloc(a, 10);
    assert_int_equal(arena_used(a), 10);
    arena_alloc(a, 3);                        /* alignment padding is not counted */
    assert_int_equal(arena_used(a), 13);
    arena_strdup(a, "abc");                   /* 3 + NUL */
    assert_int_equal(arena_used(a), 17);
    arena_alloc(a, 100000);                   /* large one-off counts too */
    assert_int_equal(arena_used(a), 100017);
    u = arena_used(a);
    arena_alloc(a, 0);                        /* never less than before */
    assert_true(arena_used(a) >= u);
    arena_reset(a);
    assert_int_equal(arena_used(a), 0);
    arena_free(a);
}

/* Resident memory of this process in KiB (VmRSS of /proc/self/status). */
static long rss_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");

    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    }
    fclose(f);
    assert_true(kib > 0);
    return kib;
}

/* A big request's arena goes back to the system when it is freed: its large blocks are
 * mapped, not kept in malloc's heap (issue 14: 2.4 GB stayed after one large request). Other
 * threads' small allocations made meanwhile (the pins, still alive) must not hold it. */
static void test_arena_free_returns_memory(void **state)
{
    enum { TOTAL = 64 * 1024 * 1024, PIECE = 48, PIN_EVERY = 4096 };
    static void *pins[TOTAL / PIECE / PIN_EVERY + 1];
    const size_t total = TOTAL, piece = PIECE, pin_every = PIN_EVERY;
    struct arena *a = arena_new();
    long before, grown, after;
    size_t i, npins = 0;

    (void)state;
    before = rss_kib();
    for (i = 0; i < total / piece; i++) {
        memset(arena_alloc(a, piece), (int)(i & 0xff), piece);
        if (i % pin_every == 0)
            pins[npins++] = malloc(64);
    }
    grown = rss_kib();
    assert_true(grown - before > 56 * 1024);
    arena_free(a);
    after = rss_kib();
    for (i = 0; i < npins; i++)
        free(pins[i]);
    if (after - before > 8 * 1024)
        fail_msg("RSS %ld KiB before, %ld KiB with the arena, %ld KiB after freeing it", before,
                 grown, after);
}

/* arena_defer: the calls run newest first, once, at free and at reset; a reset arena
 * starts with none. */
static char defer_log[16];
static char tags[] = "abc";

static void note(void *ctx)
{
    size_t n = strlen(defer_log);

    defer_log[n] = *(const char *)ctx;
    defer_log[n + 1] = '\0';
}

static void test_arena_defer(void **state)
{
    struct arena *a = arena_new();

    (void)state;
    defer_log[0] = '\0';
    arena_defer(a, note, &tags[0]);
    arena_defer(a, note, &tags[1]);
    arena_reset(a);
    assert_string_equal(defer_log, "ba");
    arena_reset(a);
    assert_string_equal(defer_log, "ba");
    (void)arena_alloc(a, 300000);   /* a mapped block, freed after the calls */
    arena_defer(a, note, &tags[2]);
    arena_free(a);
    assert_string_equal(defer_log, "bac");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_new_and_free),
        cmocka_unit_test(test_arena_free_null),
        cmocka_unit_test(test_arena_alloc_aligned_16),
        cmocka_unit_test(test_arena_many_small_allocations),
        cmocka_unit_test(test_arena_large_allocations),
        cmocka_unit_test(test_arena_large_then_small_continue),
        cmocka_unit_test(test_arena_strdup),
        cmocka_unit_test(test_arena_strdup_long),
        cmocka_unit_test(test_arena_strndup),
        cmocka_unit_test(test_arena_memdup),
        cmocka_unit_test(test_arena_printf),
        cmocka_unit_test(test_arena_printf_long),
        cmocka_unit_test(test_arena_calloc_zeroes),
        cmocka_unit_test(test_arena_reset_reuses),
        cmocka_unit_test(test_arena_reset_keeps_first_block),
        cmocka_unit_test(test_arena_used_counts),
        cmocka_unit_test(test_arena_free_returns_memory),
        cmocka_unit_test(test_arena_defer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
