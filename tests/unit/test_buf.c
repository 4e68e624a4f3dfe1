/* test_buf.c - unit tests for util/buf: growth, NUL termination, binary content, detach. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

#define MIB ((size_t)1 << 20)

/* The invariants every public function must keep (buf.h). */
static void assert_buf_ok(const struct buf *b)
{
    assert_non_null(b->data);
    assert_int_equal(b->data[b->len], '\0');
    if (b->cap)
        assert_true(b->len < b->cap);
    else
        assert_int_equal(b->len, 0);
}

static void test_buf_init_is_empty(void **state)
{
    struct buf b;
    struct buf s = BUF_INIT;

    (void)state;
    memset(&b, 0x5a, sizeof(b));
    buf_init(&b);
    assert_buf_ok(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_string_equal(b.data, "");
    assert_ptr_equal(b.data, buf_empty);

    assert_buf_ok(&s);
    assert_int_equal(s.len, 0);
    assert_string_equal(s.data, "");
    buf_release(&b);
    buf_release(&s);
}

static void test_buf_append_grows(void **state)
{
    struct buf b = BUF_INIT;
    size_t i;

    (void)state;
    for (i = 0; i < 20000; i++) {
        char c = (char)('a' + i % 26);

        buf_append(&b, &c, 1);
        assert_int_equal(b.len, i + 1);
        assert_int_equal(b.data[i], c);
        assert_buf_ok(&b);
    }
    for (i = 0; i < 20000; i++)
        assert_int_equal(b.data[i], (char)('a' + i % 26));
    assert_int_equal(strlen(b.data), 20000);
    buf_release(&b);
}

static void test_buf_append_large_chunks_past_1mib(void **state)
{
    struct buf b = BUF_INIT;
    size_t chunk = 300000, i, total = 0;
    char *src = malloc(chunk);

    (void)state;
    assert_non_null(src);
    for (i = 0; i < chunk; i++)
        src[i] = (char)('0' + i % 10);
    for (i = 0; i < 8; i++) {
        buf_append(&b, src, chunk);
        total += chunk;
        assert_int_equal(b.len, total);
        assert_buf_ok(&b);
    }
    assert_true(b.len > 2 * MIB);
    for (i = 0; i < total; i++)
        if (b.data[i] != (char)('0' + (i % chunk) % 10))
            fail_msg("byte %zu differs", i);
    free(src);
    buf_release(&b);
}

static void test_buf_append_zero_bytes(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    buf_append(&b, "x", 0);
    assert_buf_ok(&b);
    assert_int_equal(b.len, 0);
    buf_puts(&b, "");
    assert_buf_ok(&b);
    assert_int_equal(b.len, 0);
    buf_puts(&b, "abc");
    buf_append(&b, NULL, 0);
    assert_string_equal(b.data, "abc");
    assert_int_equal(b.len, 3);
    buf_release(&b);
}

static void test_buf_puts_and_putc(void **state)
{
    struct buf b = BUF_INIT;
    int i;

    (void)state;
    buf_puts(&b, "hello");
    buf_putc(&b, ',');
    buf_putc(&b, ' ');
    buf_puts(&b, "world");
    assert_string_equal(b.data, "hello, world");
    assert_int_equal(b.len, 12);
    assert_buf_ok(&b);
    buf_release(&b);

    /* putc alone, from empty, across many growths */
    for (i = 0; i < 5000; i++) {
        buf_putc(&b, (char)('A' + i % 26));
        assert_buf_ok(&b);
    }
    assert_int_equal(b.len, 5000);
    assert_int_equal(b.data[4999], 'A' + 4999 % 26);
    buf_release(&b);
}

static void test_buf_printf_formats(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    buf_printf(&b, "%d-%s-%05.1f-%c", 42, "x", 3.14159, 'z');
    assert_string_equal(b.data, "42-x-003.1-z");
    assert_int_equal(b.len, strlen("42-x-003.1-z"));
    buf_printf(&b, "[%zu]", (size_t)7);
    assert_string_equal(b.data, "42-x-003.1-z[7]");
    assert_int_equal(b.len, 15);
    assert_buf_ok(&b);
    buf_release(&b);
}

static void test_buf_printf_empty_output(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    buf_printf(&b, "%s", "");
    assert_buf_ok(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    buf_puts(&b, "ab");
    buf_printf(&b, "%s", "");
    assert_string_equal(b.data, "ab");
    assert_int_equal(b.len, 2);
    buf_release(&b);
}

static void test_buf_printf_grows_past_1mib(void **state)
{
    struct buf b = BUF_INIT;
    size_t n = MIB + MIB / 2, i;
    char *big = malloc(n + 1);

    (void)state;
    assert_non_null(big);
    for (i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n] = '\0';

    /* One printf bigger than 1 MiB into an empty buffer. */
    buf_printf(&b, "<%s>", big);
    assert_int_equal(b.len, n + 2);
    assert_buf_ok(&b);
    assert_int_equal(b.data[0], '<');
    assert_memory_equal(b.data + 1, big, n);
    assert_int_equal(b.data[n + 1], '>');

    /* And one more onto a buffer that already holds more than 1 MiB. */
    buf_printf(&b, "%s|%d", big, 7);
    assert_int_equal(b.len, 2 * n + 4);
    assert_buf_ok(&b);
    assert_memory_equal(b.data + n + 2, big, n);
    assert_string_equal(b.data + 2 * n + 2, "|7");
    free(big);
    buf_release(&b);
}

static void test_buf_printf_many_small_past_1mib(void **state)
{
    struct buf b = BUF_INIT;
    char expect[32];
    size_t i, off = 0;

    (void)state;
    for (i = 0; b.len <= MIB; i++) {
        buf_printf(&b, "%zu,", i);
        assert_buf_ok(&b);
    }
    /* read it back */
    for (size_t j = 0; j < i; j++) {
        int n = snprintf(expect, sizeof(expect), "%zu,", j);

        assert_memory_equal(b.data + off, expect, (size_t)n);
        off += (size_t)n;
    }
    assert_int_equal(off, b.len);
    buf_release(&b);
}

/* Output that exactly fills the spare room, and output one byte more than it. */
static void test_buf_printf_at_capacity_boundary(void **state)
{
    size_t extra;

    (void)state;
    for (extra = 0; extra < 4; extra++) {
        struct buf b = BUF_INIT;
        char *s;
        size_t room, want;

        buf_puts(&b, "abc");
        room = b.cap - b.len - 1;   /* bytes that fit without growing */
        want = room + extra;
        s = malloc(want + 1);
        assert_non_null(s);
        memset(s, 'q', want);
        s[want] = '\0';
        buf_printf(&b, "%s", s);
        assert_int_equal(b.len, 3 + want);
        assert_buf_ok(&b);
        assert_memory_equal(b.data, "abc", 3);
        assert_memory_equal(b.data + 3, s, want);
        free(s);
        buf_release(&b);
    }
}

static void vappend(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vappend(struct buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

static void test_buf_vprintf_grows(void **state)
{
    struct buf b = BUF_INIT;
    char pad[1000];

    (void)state;
    memset(pad, 'p', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    vappend(&b, "%s", "x");
    vappend(&b, "%s%d", pad, 12345);
    assert_int_equal(b.len, 1 + 999 + 5);
    assert_int_equal(b.data[0], 'x');
    assert_string_equal(b.data + 1000, "12345");
    assert_buf_ok(&b);
    buf_release(&b);
}

static void test_buf_binary_content(void **state)
{
    struct buf b = BUF_INIT;
    unsigned char bytes[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bytes); i++)
        bytes[i] = (unsigned char)i;      /* includes NUL and 0xff */
    buf_append(&b, bytes, sizeof(bytes));
    buf_append(&b, "\0\0", 2);
    buf_putc(&b, '\0');
    buf_append(&b, bytes, sizeof(bytes));
    assert_int_equal(b.len, 2 * sizeof(bytes) + 3);
    assert_buf_ok(&b);
    assert_memory_equal(b.data, bytes, sizeof(bytes));
    assert_memory_equal(b.data + sizeof(bytes), "\0\0\0", 3);
    assert_memory_equal(b.data + sizeof(bytes) + 3, bytes, sizeof(bytes));
    assert_int_equal(strlen(b.data), 0);   /* content starts with NUL; len is what counts */
    buf_release(&b);
}

static void test_buf_reset_keeps_capacity(void **state)
{
    struct buf b = BUF_INIT;
    size_t cap;

    (void)state;
    buf_reset(&b);                 /* on the static empty string: must not write to it */
    assert_buf_ok(&b);
    assert_int_equal(b.len, 0);

    buf_puts(&b, "some text that goes away");
    cap = b.cap;
    buf_reset(&b);
    assert_buf_ok(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(b.cap, cap);
    buf_puts(&b, "new");
    assert_string_equal(b.data, "new");
    buf_release(&b);
}

static void test_buf_grow_reserves(void **state)
{
    struct buf b = BUF_INIT;
    char *before;

    (void)state;
    buf_grow(&b, 0);
    assert_buf_ok(&b);
    buf_grow(&b, 5000);
    assert_true(b.cap >= 5001);
    assert_int_equal(b.len, 0);
    assert_buf_ok(&b);
    before = b.data;
    buf_append(&b, "0123456789", 10);
    buf_grow(&b, 100);
    assert_ptr_equal(b.data, before);  /* already enough room: no reallocation */
    assert_string_equal(b.data, "0123456789");
    buf_release(&b);
}

static void test_buf_detach_returns_heap_string(void **state)
{
    struct buf b = BUF_INIT;
    size_t len = 99;
    char *p;

    (void)state;
    buf_puts(&b, "detached");
    buf_append(&b, "\0x", 2);
    p = buf_detach(&b, &len);
    assert_non_null(p);
    assert_int_equal(len, 10);
    assert_memory_equal(p, "detached\0x", 11);   /* terminator included */
    /* the buffer is empty and usable again */
    assert_buf_ok(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    buf_puts(&b, "again");
    assert_string_equal(b.data, "again");
    assert_string_equal(p, "detached");
    free(p);
    buf_release(&b);
}

static void test_buf_detach_empty_is_freeable(void **state)
{
    struct buf b = BUF_INIT;
    size_t len = 99;
    char *p;

    (void)state;
    p = buf_detach(&b, &len);
    assert_non_null(p);
    assert_ptr_not_equal(p, buf_empty);
    assert_int_equal(len, 0);
    assert_string_equal(p, "");
    free(p);                          /* must be a heap pointer */
    assert_buf_ok(&b);

    /* NULL len is allowed */
    buf_puts(&b, "xy");
    p = buf_detach(&b, NULL);
    assert_string_equal(p, "xy");
    free(p);
    p = buf_detach(&b, NULL);
    assert_string_equal(p, "");
    free(p);
    buf_release(&b);
}

static void test_buf_release_null_and_empty(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    buf_release(NULL);
    buf_release(&b);                  /* never allocated */
    assert_buf_ok(&b);
    buf_release(&b);                  /* twice */
    assert_buf_ok(&b);
    assert_ptr_equal(b.data, buf_empty);

    buf_puts(&b, "allocated");
    buf_release(&b);
    assert_buf_ok(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_string_equal(b.data, "");
    buf_release(&b);                  /* released buffer releases again */
    buf_puts(&b, "reuse");
    assert_string_equal(b.data, "reuse");
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_init_is_empty),
        cmocka_unit_test(test_buf_append_grows),
        cmocka_unit_test(test_buf_append_large_chunks_past_1mib),
        cmocka_unit_test(test_buf_append_zero_bytes),
        cmocka_unit_test(test_buf_puts_and_putc),
        cmocka_unit_test(test_buf_printf_formats),
        cmocka_unit_test(test_buf_printf_empty_output),
        cmocka_unit_test(test_buf_printf_grows_past_1mib),
        cmocka_unit_test(test_buf_printf_many_small_past_1mib),
        cmocka_unit_test(test_buf_printf_at_capacity_boundary),
        cmocka_unit_test(test_buf_vprintf_grows),
        cmocka_unit_test(test_buf_binary_content),
        cmocka_unit_test(test_buf_reset_keeps_capacity),
        cmocka_unit_test(test_buf_grow_reserves),
        cmocka_unit_test(test_buf_detach_returns_heap_string),
        cmocka_unit_test(test_buf_detach_empty_is_freeable),
        cmocka_unit_test(test_buf_release_null_and_empty),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
