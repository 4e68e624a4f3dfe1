/* test_uuid.c - unit tests for util/uuid: v4 format, uniqueness, prefixed ids, validation,
 * random hex. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/uuid.h"

static int is_dash_pos(size_t i)
{
    return i == 8 || i == 13 || i == 18 || i == 23;
}

static int is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void assert_canonical_v4(const char *s)
{
    size_t i;

    assert_int_equal(strlen(s), 36);
    for (i = 0; i < 36; i++) {
        if (is_dash_pos(i)) {
            if (s[i] != '-')
                fail_msg("%s: expected '-' at %zu", s, i);
        } else if (!is_lower_hex(s[i])) {
            fail_msg("%s: not lowercase hex at %zu", s, i);
        }
    }
    if (s[14] != '4')
        fail_msg("%s: version nibble is not 4", s);
    if (!strchr("89ab", s[19]))
        fail_msg("%s: variant nibble is not 8-b", s);
    assert_true(uuid_valid(s));
}

static void test_uuid_v4_format(void **state)
{
    char u[UUID_STR_LEN];
    int i;

    (void)state;
    for (i = 0; i < 2000; i++) {
        memset(u, 'Z', sizeof(u));
        uuid_v4(u);
        assert_int_equal(u[36], '\0');
        assert_canonical_v4(u);
    }
}

/* Over many draws every variant nibble 8..b and every hex digit in random positions appear,
 * so the fixed bits are the only fixed ones. */
static void test_uuid_v4_bits_vary(void **state)
{
    char u[UUID_STR_LEN];
    int seen_variant[4] = { 0 }, seen_digit[16] = { 0 };
    int i, k;

    (void)state;
    for (i = 0; i < 2000; i++) {
        uuid_v4(u);
        seen_variant[strchr("89ab", u[19]) - "89ab"] = 1;
        seen_digit[strchr("0123456789abcdef", u[0]) - "0123456789abcdef"] = 1;
        seen_digit[strchr("0123456789abcdef", u[35]) - "0123456789abcdef"] = 1;
    }
    for (k = 0; k < 4; k++)
        assert_true(seen_variant[k]);
    for (k = 0; k < 16; k++)
        assert_true(seen_digit[k]);
}

static int cmp_uuid(const void *a, const void *b)
{
    return memcmp(a, b, UUID_STR_LEN);
}

static void test_uuid_v4_unique(void **state)
{
    enum { N = 10000 };
    char (*u)[UUID_STR_LEN] = malloc(N * sizeof(*u));
    size_t i;

    (void)state;
    assert_non_null(u);
    for (i = 0; i < N; i++)
        uuid_v4(u[i]);
    qsort(u, N, sizeof(*u), cmp_uuid);
    for (i = 1; i < N; i++)
        if (strcmp(u[i - 1], u[i]) == 0)
            fail_msg("duplicate uuid %s", u[i]);
    free(u);
}

/* uuid_v4 draws its bytes from a per-thread pool (issue 22): ids made on four threads at
 * once, across several refills of each pool, are all distinct and canonical. */
enum { THREADS = 4, PER_THREAD = 2000 };
static char thread_ids[THREADS * PER_THREAD][UUID_STR_LEN];

static void *make_ids(void *arg)
{
    size_t t = (size_t)(uintptr_t)arg, i;

    for (i = 0; i < PER_THREAD; i++)
        uuid_v4(thread_ids[t * PER_THREAD + i]);
    return NULL;
}

static void test_uuid_v4_unique_across_threads(void **state)
{
    pthread_t th[THREADS];
    size_t i;

    (void)state;
    for (i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, make_ids, (void *)(uintptr_t)i), 0);
    for (i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < THREADS * PER_THREAD; i++)
        assert_canonical_v4(thread_ids[i]);
    qsort(thread_ids, THREADS * PER_THREAD, sizeof(thread_ids[0]), cmp_uuid);
    for (i = 1; i < THREADS * PER_THREAD; i++)
        if (strcmp(thread_ids[i - 1], thread_ids[i]) == 0)
            fail_msg("duplicate uuid %s", thread_ids[i]);
}

/* A forked child does not hand out the bytes left in its parent's pool: the child's first
 * ids differ from the parent's next ones. */
static void test_uuid_v4_fork_does_not_repeat(void **state)
{
    enum { K = 8 };
    char mine[K][UUID_STR_LEN], theirs[K][UUID_STR_LEN], first[UUID_STR_LEN];
    int fds[2], status, i, j;
    pid_t pid;

    (void)state;
    uuid_v4(first);   /* the pool is filled and partly used */
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (i = 0; i < K; i++)
            uuid_v4(theirs[i]);
        _exit(write(fds[1], theirs, sizeof(theirs)) == (ssize_t)sizeof(theirs) ? 0 : 1);
    }
    close(fds[1]);
    for (i = 0; i < K; i++)
        uuid_v4(mine[i]);
    assert_int_equal(read(fds[0], theirs, sizeof(theirs)), (ssize_t)sizeof(theirs));
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (i = 0; i < K; i++) {
        assert_canonical_v4(theirs[i]);
        for (j = 0; j < K; j++)
            assert_string_not_equal(mine[i], theirs[j]);
    }
}

/* The prefix fills the first 32 bits exactly; the other random bits still vary and the
 * version and variant bits are set. */
static void test_uuid_v4_prefixed(void **state)
{
    static const uint32_t prefixes[] = { 0, 0xffffffffu, 0x12345678u, 0x80000001u };
    enum { N = 2000 };
    char (*u)[UUID_STR_LEN] = malloc(N * sizeof(*u));
    char want[9];
    int seen_digit[16] = { 0 };
    size_t p, i;
    int k;

    (void)state;
    assert_non_null(u);
    for (p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
        snprintf(want, sizeof(want), "%08x", (unsigned)prefixes[p]);
        for (i = 0; i < N; i++) {
            memset(u[i], 'Z', sizeof(u[i]));
            uuid_v4_prefixed(u[i], prefixes[p]);
            assert_int_equal(u[i][36], '\0');
            assert_canonical_v4(u[i]);
            if (memcmp(u[i], want, 8) != 0)
                fail_msg("%s: prefix is not %s", u[i], want);
            seen_digit[strchr("0123456789abcdef", u[i][9]) - "0123456789abcdef"] = 1;
            seen_digit[strchr("0123456789abcdef", u[i][35]) - "0123456789abcdef"] = 1;
        }
        qsort(u, N, sizeof(*u), cmp_uuid);
        for (i = 1; i < N; i++)
            if (strcmp(u[i - 1], u[i]) == 0)
                fail_msg("duplicate uuid %s", u[i]);
    }
    for (k = 0; k < 16; k++)
        assert_true(seen_digit[k]);
    free(u);
}

/* Prefixes are drawn at random: among 64 draws, many differ and every bit is seen set. */
static void test_uuid_batch_prefix_varies(void **state)
{
    uint32_t first = uuid_batch_prefix(), any = 0;
    int i, differ = 0;

    (void)state;
    for (i = 0; i < 64; i++) {
        uint32_t p = uuid_batch_prefix();

        differ += p != first;
        any |= p;
    }
    assert_true(differ >= 60);
    assert_int_equal(any, 0xffffffffu);
}

static void test_uuid_valid_accepts(void **state)
{
    (void)state;
    assert_true(uuid_valid("123e4567-e89b-42d3-a456-426614174000"));
    assert_true(uuid_valid("123E4567-E89B-42D3-A456-426614174000"));   /* upper case */
    assert_true(uuid_valid("123e4567-E89b-42D3-a456-42661417400F"));   /* mixed case */
    assert_true(uuid_valid("00000000-0000-0000-0000-000000000000"));   /* nil */
    assert_true(uuid_valid("ffffffff-ffff-ffff-ffff-ffffffffffff"));
    assert_true(uuid_valid("123e4567-e89b-12d3-a456-426614174000"));   /* v1: any version */
    assert_true(uuid_valid("01890a5d-ac96-774b-bcce-b302099a8057"));   /* v7 */
}

static void test_uuid_valid_rejects_lengths(void **state)
{
    (void)state;
    assert_false(uuid_valid(NULL));
    assert_false(uuid_valid(""));
    assert_false(uuid_valid("123e4567-e89b-42d3-a456-42661417400"));     /* 35 */
    assert_false(uuid_valid("123e4567-e89b-42d3-a456-4266141740000"));   /* 37 */
    assert_false(uuid_valid("123e4567e89b42d3a456426614174000"));        /* no dashes */
    assert_false(uuid_valid("{123e4567-e89b-42d3-a456-426614174000}"));
    assert_false(uuid_valid("123e4567-e89b-42d3-a456-426614174000 "));
    assert_false(uuid_valid(" 123e4567-e89b-42d3-a456-426614174000"));
}

static void test_uuid_valid_rejects_chars(void **state)
{
    static const char good[] = "123e4567-e89b-42d3-a456-426614174000";
    static const char bad[] = "gGzZ-_ .:/@`G\x7f\xff";
    char s[sizeof(good)];
    size_t i, j;

    (void)state;
    /* every non-dash position, every bad character */
    for (i = 0; i < 36; i++) {
        if (is_dash_pos(i))
            continue;
        for (j = 0; j < sizeof(bad) - 1; j++) {
            memcpy(s, good, sizeof(good));
            s[i] = bad[j];
            if (uuid_valid(s))
                fail_msg("accepted '%c' (0x%02x) at %zu", bad[j], (unsigned char)bad[j], i);
        }
    }
    /* embedded NUL makes it short */
    memcpy(s, good, sizeof(good));
    s[20] = '\0';
    assert_false(uuid_valid(s));
}

static void test_uuid_valid_rejects_dash_positions(void **state)
{
    static const char good[] = "123e4567-e89b-42d3-a456-426614174000";
    char s[sizeof(good)];
    size_t i;

    (void)state;
    /* a dash replaced by a hex digit */
    for (i = 0; i < 36; i++) {
        if (!is_dash_pos(i))
            continue;
        memcpy(s, good, sizeof(good));
        s[i] = 'a';
        assert_false(uuid_valid(s));
    }
    /* a dash moved one place left or right (same length) */
    assert_false(uuid_valid("123e456-7e89b-42d3-a456-426614174000"));
    assert_false(uuid_valid("123e45678-e89b-42d3-a456-42661417400"));
    assert_false(uuid_valid("123e4567-e89-b42d3-a456-426614174000"));
    assert_false(uuid_valid("123e4567-e89b-42d-3a456-426614174000"));
    assert_false(uuid_valid("123e4567-e89b-42d3-a4564-26614174000"));
    /* 8-4-4-4-12 rearranged as 8-4-4-12-4 */
    assert_false(uuid_valid("123e4567-e89b-42d3-a45642661417-4000"));
}

static void check_hex(size_t n)
{
    char *out = malloc(n + 2);
    size_t i;

    assert_non_null(out);
    memset(out, '#', n + 2);
    random_hex(out, n);
    assert_int_equal(out[n], '\0');
    assert_int_equal(out[n + 1], '#');      /* writes exactly n + 1 bytes */
    assert_int_equal(strlen(out), n);
    for (i = 0; i < n; i++)
        if (!is_lower_hex(out[i]))
            fail_msg("n=%zu: bad char 0x%02x at %zu", n, (unsigned char)out[i], i);
    free(out);
}

static void test_uuid_random_hex_length_and_charset(void **state)
{
    static const size_t lens[] = { 0, 1, 2, 3, 15, 16, 31, 32, 33, 63, 64, 65,
                                   127, 128, 129, 255, 256, 257, 1000, 4097 };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
        check_hex(lens[i]);
}

static void test_uuid_random_hex_uses_all_digits(void **state)
{
    char out[4097];
    int seen_even[16] = { 0 }, seen_odd[16] = { 0 };
    size_t i;
    int k;

    (void)state;
    random_hex(out, 4096);
    /* both nibbles of each random byte are used, in every 128-char chunk */
    for (i = 0; i < 4096; i++) {
        int v = (int)(strchr("0123456789abcdef", out[i]) - "0123456789abcdef");

        if (i % 2)
            seen_odd[v] = 1;
        else
            seen_even[v] = 1;
    }
    for (k = 0; k < 16; k++) {
        assert_true(seen_even[k]);
        assert_true(seen_odd[k]);
    }
    /* two draws differ */
    {
        char a[33], b[33];

        random_hex(a, 32);
        random_hex(b, 32);
        assert_string_not_equal(a, b);
    }
}

static void test_uuid_random_bytes_fills(void **state)
{
    unsigned char buf[1024];
    size_t i, nonzero = 0;

    (void)state;
    memset(buf, 0, sizeof(buf));
    random_bytes(buf, 0);
    random_bytes(buf, sizeof(buf));
    for (i = 0; i < sizeof(buf); i++)
        nonzero += buf[i] != 0;
    assert_true(nonzero > 900);   /* expected about 1020 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid_v4_format),
        cmocka_unit_test(test_uuid_v4_bits_vary),
        cmocka_unit_test(test_uuid_v4_unique),
        cmocka_unit_test(test_uuid_v4_unique_across_threads),
        cmocka_unit_test(test_uuid_v4_fork_does_not_repeat),
        cmocka_unit_test(test_uuid_v4_prefixed),
        cmocka_unit_test(test_uuid_batch_prefix_varies),
        cmocka_unit_test(test_uuid_valid_accepts),
        cmocka_unit_test(test_uuid_valid_rejects_lengths),
        cmocka_unit_test(test_uuid_valid_rejects_chars),
        cmocka_unit_test(test_uuid_valid_rejects_dash_positions),
        cmocka_unit_test(test_uuid_random_hex_length_and_charset),
        cmocka_unit_test(test_uuid_random_hex_uses_all_digits),
        cmocka_unit_test(test_uuid_random_bytes_fills),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
