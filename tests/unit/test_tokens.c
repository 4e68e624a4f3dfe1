/* test_tokens.c - unit tests for service/tokens: cl100k_base counts of spec/behavior.md §10.1 and
 * §19.2, long input, invalid UTF-8 and concurrent use. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "service/tokens.h"
#include "util/buf.h"

#define KIB ((size_t)1 << 10)

static size_t count_str(const char *s)
{
    return tokens_count(s, strlen(s));
}

/* Appends s to b until b holds at least min bytes; returns how many copies it appended. */
static size_t repeat_into(struct buf *b, const char *s, size_t min)
{
    size_t copies = 0;

    while (b->len < min) {
        buf_append(b, s, strlen(s));
        copies++;
    }
    return copies;
}

/* The assembled context of §19.2 with max_tokens=500 (token_estimate 183). */
static const char GOLDEN_500[] =
    "## Task\n"
    "Customer is asking about their billing issue\n"
    "\n"
    "## About this user\n"
    "- My name is Alice Chen\n"
    "- I work at Globex Corporation\n"
    "- I am on the Enterprise plan\n"
    "- I prefer email notifications over Slack\n"
    "\n"
    "## Recent history\n"
    "- We had a billing issue last week \xE2\x80\x94 we were double-charged for the March "
    "invoice. \xE2\x86\x92 I see the double charge. I have initiated a refund for the duplicate "
    "payment.\n"
    "- My name is Alice Chen and I work at Globex Corporation. I am on the Enterprise plan. "
    "\xE2\x86\x92 Welcome Alice! How can I help you today?\n"
    "- I prefer email notifications over Slack. My email is alice@globex.com. \xE2\x86\x92 Got "
    "it, I have updated your preference.\n"
    "- Can you help me upgrade our team from 5 to 20 seats? \xE2\x86\x92 Sure, I have upgraded "
    "your team to 20 seats. Your next invoice will reflect the change.\n";

/* The same example with max_tokens=100: the 4 facts and S3 only (token_estimate 87). */
static const char GOLDEN_100[] =
    "## Task\n"
    "Customer is asking about their billing issue\n"
    "\n"
    "## About this user\n"
    "- My name is Alice Chen\n"
    "- I work at Globex Corporation\n"
    "- I am on the Enterprise plan\n"
    "- I prefer email notifications over Slack\n"
    "\n"
    "## Recent history\n"
    "- We had a billing issue last week \xE2\x80\x94 we were double-charged for the March "
    "invoice. \xE2\x86\x92 I see the double charge. I have initiated a refund for the duplicate "
    "payment.\n";

static const char PARAGRAPH[] =
    "The quick brown fox jumps over the lazy dog. Customers often ask about billing, refunds "
    "and invoices; support agents answer within 24 hours. It's 2024, and we've shipped 12345 "
    "features!\n";

static int group_setup(void **state)
{
    struct err err = ERR_INIT;

    (void)state;
    if (tokens_setup(&err) < 0) {
        err_release(&err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tokens_shutdown();
    return 0;
}

static void test_tokens_spec_vectors(void **state)
{
    static const struct {
        const char *text;
        size_t tokens;
    } cases[] = {
        { "## Task\nhelp\n", 5 },
        { "## Task\nCustomer is asking about their billing issue\n", 11 },
        { "hello world", 2 },
        { "- user: hi", 4 },
        { "- My name is Alice Chen", 6 },
        { "\xF0\x9F\x9F\xA2 Health: HEALTHY (score: 100)", 13 },
        { "a \xE2\x86\x92 b \xE2\x80\x94 c", 5 },
        { "  multiple   spaces\n\n\nnewlines", 7 },
        { "I'm here, it's 12345 ok", 10 },
        { "## Task\nhelp\n\n## Recent interactions\n- [chat/message] user: Thanks!\n", 18 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t got = count_str(cases[i].text);

        if (got != cases[i].tokens)
            fail_msg("\"%s\": %zu tokens, want %zu", cases[i].text, got, cases[i].tokens);
    }
}

static void test_tokens_empty_is_zero(void **state)
{
    (void)state;
    assert_int_equal(tokens_count("", 0), 0);
    assert_int_equal(tokens_count("abc", 0), 0);
}

static void test_tokens_special_tokens_are_text(void **state)
{
    (void)state;
    assert_true(count_str("<|endoftext|>") > 1);
    assert_int_equal(count_str("<|endoftext|>"), 7);
}

/* §19.2: the golden-path context text and the per-item token column. */
static void test_tokens_golden_path_context(void **state)
{
    (void)state;
    assert_int_equal(count_str(GOLDEN_500), 183);
    assert_int_equal(count_str(GOLDEN_100), 87);
    assert_int_equal(count_str("- I work at Globex Corporation"), 7);
    assert_int_equal(count_str("- I am on the Enterprise plan"), 7);
    assert_int_equal(count_str("- I prefer email notifications over Slack"), 7);
    assert_int_equal(count_str("- We had a billing issue last week \xE2\x80\x94 we were "
                               "double-charged for the March invoice. \xE2\x86\x92 I see the "
                               "double charge. I have initiated a refund for the duplicate "
                               "payment."), 36);
    assert_int_equal(count_str("- Can you help me upgrade our team from 5 to 20 seats? "
                               "\xE2\x86\x92 Sure, I have upgraded your team to 20 seats. Your "
                               "next invoice will reflect the change."), 37);
}

/* Non-Latin scripts, combining emoji (ZWJ, flags); the count comes from tiktoken's algorithm
 * run over the same ranks. */
static void test_tokens_unicode_text(void **state)
{
    (void)state;
    assert_int_equal(count_str("\xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB\xE3\x81\xA1\xE3\x81\xAF"
                               "\xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x98\x80 \xC3\x9C" "n"
                               "\xC3\xAF" "c\xC3\xB6" "d\xC3\xA9 fa\xC3\xA7" "ade na\xC3\xAF" "ve "
                               "\xE5\x8C\x97\xE4\xBA\xAC \xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5"
                               "\xD1\x82, \xD0\xBC\xD0\xB8\xD1\x80! \xD9\x85\xD8\xB1\xD8\xAD\xD8"
                               "\xA8\xD8\xA7 \xF0\x9F\x87\xAB\xF0\x9F\x87\xB7\xF0\x9F\x91\xA9"
                               "\xE2\x80\x8D\xF0\x9F\x92\xBB"), 44);
}

/* Whitespace is Unicode White_Space, as in tiktoken: U+180E MONGOLIAN VOWEL SEPARATOR is not
 * (PCRE2's own \s would say it is and split " \u180Ea" differently). */
static void test_tokens_whitespace_is_unicode_white_space(void **state)
{
    (void)state;
    assert_int_equal(count_str(" \xE1\xA0\x8E" "a"), 4);
    assert_int_equal(count_str("a\xC2\x85\xC2\x85" "b"), 6);
}

/* 100 KB of prose: the count is the sum over its identical paragraphs. */
static void test_tokens_long_text(void **state)
{
    struct buf b = BUF_INIT;
    size_t copies, one = count_str(PARAGRAPH);

    (void)state;
    assert_int_equal(one, 43);
    copies = repeat_into(&b, PARAGRAPH, 100 * KIB);
    assert_int_equal(tokens_count(b.data, b.len), copies * one);
    buf_release(&b);
}

/* Pieces longer than the stack buffer merge through the heap; same answers as tiktoken. */
static void test_tokens_long_pieces(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    repeat_into(&b, "thequickbrownfoxjumpsoverthelazydog", 30 * 35);
    assert_int_equal(tokens_count(b.data, b.len), 330);
    repeat_into(&b, "thequickbrownfoxjumpsoverthelazydog", 120 * 35);
    assert_int_equal(tokens_count(b.data, b.len), 1320);
    buf_reset(&b);
    repeat_into(&b, "a", 1000);
    assert_int_equal(tokens_count(b.data, b.len), 125);
    buf_reset(&b);
    repeat_into(&b, " ", 1000);
    assert_int_equal(tokens_count(b.data, b.len), 9);
    buf_reset(&b);
    repeat_into(&b, "1", 1000);
    assert_int_equal(tokens_count(b.data, b.len), 334);
    buf_release(&b);
}

/* One 100 KB word and one 100 KB run of spaces finish (no quadratic blow-up, no PCRE2 limit). */
static void test_tokens_huge_piece(void **state)
{
    struct buf b = BUF_INIT;
    size_t n;

    (void)state;
    repeat_into(&b, "thequickbrownfoxjumpsoverthelazydog", 100 * KIB);
    n = tokens_count(b.data, b.len);
    assert_true(n > 0 && n < b.len);
    buf_reset(&b);
    repeat_into(&b, " ", 100 * KIB);
    buf_append(&b, "x", 1);
    n = tokens_count(b.data, b.len);
    assert_true(n > 1 && n < b.len);
    buf_release(&b);
}

/* Bytes that are not UTF-8 count as U+FFFD each, never reach PCRE2 unchecked, never crash. */
static void test_tokens_invalid_utf8(void **state)
{
    static const char *const bad[] = {
        "\xFF", "\x80", "\xC3", "caf\xC3", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xC0\xAF",
        "a\xFF\xFE b \xE2\x82", "\xF0\x9F\x98",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_true(count_str(bad[i]) >= 1);
    assert_int_equal(count_str("\xFF"), count_str("\xEF\xBF\xBD"));
    assert_int_equal(count_str("caf\xFF ok"), 3);
    assert_int_equal(count_str("\x80\xFF abc \xC3"), 3);
    /* An embedded NUL is valid UTF-8 and ordinary text. */
    assert_int_equal(tokens_count("a\0b", 3), 3);
}

struct worker {
    size_t bad;                    /* counts that differed from the expected value */
};

static void *count_golden(void *arg)
{
    struct worker *w = arg;
    int i;

    for (i = 0; i < 200; i++) {
        if (count_str(GOLDEN_500) != 183 || count_str("I'm here, it's 12345 ok") != 10)
            w->bad++;
    }
    return NULL;
}

static void test_tokens_threads_share_tables(void **state)
{
    pthread_t tid[4];
    struct worker w[4];
    size_t i;

    (void)state;
    memset(w, 0, sizeof(w));
    for (i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&tid[i], NULL, count_golden, &w[i]), 0);
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(tid[i], NULL), 0);
        assert_int_equal(w[i].bad, 0);
    }
}

static void test_tokens_setup_twice_is_harmless(void **state)
{
    struct err err = ERR_INIT;

    (void)state;
    assert_int_equal(tokens_setup(&err), 0);
    assert_int_equal(count_str("hello world"), 2);
}

/* tokens_prefix_bytes: the first k tokens end where the pieces and merges say. */
static void test_tokens_prefix_bytes(void **state)
{
    static const char task[] = "## Task\nhelp\n";
    static const char emoji[] = "\xF0\x9F\x9F\xA2 Health";

    (void)state;
    assert_int_equal(tokens_prefix_bytes("hello world", 11, 0), 0);
    assert_int_equal(tokens_prefix_bytes("hello world", 11, 1), 5);
    assert_int_equal(tokens_prefix_bytes("hello world", 11, 2), 11);
    assert_int_equal(tokens_prefix_bytes("hello world", 11, 50), 11);
    assert_int_equal(tokens_prefix_bytes(task, strlen(task), 2), 7);    /* "##", " Task" */
    assert_int_equal(tokens_prefix_bytes(task, strlen(task), 4), 12);   /* + "\n", "help" */
    /* Byte-level BPE: the emoji is several tokens, so one token ends inside it. */
    assert_true(tokens_count(emoji, 4) > 1);
    assert_true(tokens_prefix_bytes(emoji, strlen(emoji), 1) < 4);
    assert_true(tokens_prefix_bytes(emoji, strlen(emoji), 1) > 0);
}

/* Every cut of a long text (short and long pieces) is strictly increasing and ends at n. */
static void test_tokens_prefix_bytes_monotonic(void **state)
{
    char text[2000];
    size_t n, total, k, prev = 0, cut;

    (void)state;
    memset(text, 'a', 600);   /* one 600-byte piece: the heap merge */
    snprintf(text + 600, sizeof(text) - 600, " then some words, 12345 and \xC3\xA9t\xC3\xA9 "
             "caf\xC3\xA9 \xE2\x86\x92 done\n\n");
    n = strlen(text);
    total = tokens_count(text, n);
    for (k = 1; k <= total; k++) {
        cut = tokens_prefix_bytes(text, n, k);
        assert_true(cut > prev);
        prev = cut;
    }
    assert_int_equal(prev, n);
    assert_true(tokens_prefix_bytes(text, n, total - 1) < n);
}

/* tokens_count_cached is tokens_count, exactly, on texts cut where a piece might straddle a
 * cut if the rule were wrong: punctuation, spaces and CRs before the line break, blank lines,
 * lines starting with a space, a digit or a letter (no cut: not printable ASCII punctuation
 * only, but the rule must hold for any printable byte), invalid UTF-8 before the break. Each
 * text twice: the second count comes from the cache. */
static void test_tokens_cached_equals_uncached(void **state)
{
    static const char *const lines[] = {
        "## Task", "What is the user's name and where do they work?", "", "## About this user",
        "- My name is Kaaab Qaaab.", "- ends with punctuation...!", "- trailing spaces   ",
        "- crlf\r", " leading space", "-", "#", "- 12345678", "- \xC3\xA9t\xC3\xA9 caf\xC3\xA9",
        "- \xE2\x86\x92 arrow \xE2\x80\x94", "- bad \xE2\x82", "'s contraction", "x",
        "- [chat/message] user: Thanks!", "\t- tabbed", "- \xF0\x9F\x9F\xA2 emoji", ".",
        "?!", "- a  ", "9 lives", "- user:   spaced", "))", "\xC2\xA0nbsp start",
    };
    size_t nl = sizeof(lines) / sizeof(lines[0]), round, i, k;
    unsigned seed = 22;

    (void)state;
    for (round = 0; round < 400; round++) {
        struct buf b = BUF_INIT;
        size_t parts = 1 + round % 12;

        for (k = 0; k < parts; k++) {
            seed = seed * 1103515245u + 12345u;
            i = (seed >> 16) % nl;
            if (k)
                buf_putc(&b, (seed >> 8) % 5 == 0 ? ' ' : '\n');
            buf_puts(&b, lines[i]);
        }
        if (round % 3 == 0)
            buf_putc(&b, '\n');
        for (k = 0; k < 2; k++) {
            size_t want = tokens_count(b.data ? b.data : "", b.len);
            size_t got = tokens_count_cached(b.data ? b.data : "", b.len);

            if (got != want)
                fail_msg("\"%s\": cached %zu, uncached %zu", b.data, got, want);
        }
        buf_release(&b);
    }
    assert_int_equal(tokens_count_cached("", 0), 0);
    assert_int_equal(tokens_count_cached("## Task\nhelp\n", 13), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens_spec_vectors),
        cmocka_unit_test(test_tokens_empty_is_zero),
        cmocka_unit_test(test_tokens_special_tokens_are_text),
        cmocka_unit_test(test_tokens_golden_path_context),
        cmocka_unit_test(test_tokens_unicode_text),
        cmocka_unit_test(test_tokens_whitespace_is_unicode_white_space),
        cmocka_unit_test(test_tokens_long_text),
        cmocka_unit_test(test_tokens_long_pieces),
        cmocka_unit_test(test_tokens_huge_piece),
        cmocka_unit_test(test_tokens_invalid_utf8),
        cmocka_unit_test(test_tokens_threads_share_tables),
        cmocka_unit_test(test_tokens_setup_twice_is_harmless),
        cmocka_unit_test(test_tokens_prefix_bytes),
        cmocka_unit_test(test_tokens_prefix_bytes_monotonic),
        cmocka_unit_test(test_tokens_cached_equals_uncached),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
