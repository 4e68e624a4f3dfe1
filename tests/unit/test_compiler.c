/* test_compiler.c - unit tests for the heuristic compiler (spec/behavior.md §4, §19.1).
 * Expected facts were checked against Python's re module running the reference patterns. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "service/compiler.h"
#include "util/buf.h"
#include "util/jv.h"
#include "util/ts.h"
#include "util/utf8.h"
#include "util/uuid.h"

#define NOW INT64_C(1777629601000000)
#define CREATED INT64_C(1777629000123456)
#define EP_ID "3f2a9c0d-1b7e-4a55-9c0d-1b7e4a553f2a"

static struct arena *arena;

static int setup(void **state)
{
    struct err err = ERR_INIT;

    (void)state;
    arena = arena_new();
    return compiler_setup(&err);
}

static int teardown(void **state)
{
    (void)state;
    compiler_shutdown();
    arena_free(arena);
    return 0;
}

/* An episode whose payload is the given JSON object text. */
static struct episode make_episode(const char *payload)
{
    struct episode ep;

    memset(&ep, 0, sizeof(ep));
    memcpy(ep.id, EP_ID, sizeof(EP_ID));
    ep.subject_id = "user-42";
    ep.source = "chat";
    ep.type = "message";
    ep.payload = arena_strdup(arena, payload);
    ep.metadata = "{}";
    ep.provenance = "{}";
    ep.created_at = CREATED;
    ep.last_compiled_at = TS_NULL;
    return ep;
}

/* {"text": t} as JSON text. */
static const char *text_payload(const char *t)
{
    struct buf b = BUF_INIT;
    const char *copy;

    buf_puts(&b, "{\"text\":");
    jv_write_str(&b, t, strlen(t));
    buf_putc(&b, '}');
    copy = arena_strndup(arena, b.data, b.len);
    buf_release(&b);
    return copy;
}

static size_t compile_payload(const char *payload, struct memory **out)
{
    struct episode ep = make_episode(payload);
    struct err err = ERR_INIT;
    size_t n;

    assert_int_equal(compile_heuristic(arena, &ep, 1, NULL, NOW, out, &n, &err), 0);
    return n;
}

/* The facts of text t: want is a NULL-terminated list, in order. */
static void expect_facts(const char *t, const char *const *want)
{
    struct memory *m;
    size_t n = compile_payload(text_payload(t), &m), i, k = 0;

    assert_true(n >= 1);
    assert_string_equal(m[0].kind, "episode_summary");
    for (i = 1; i < n; i++) {
        assert_string_equal(m[i].kind, "profile_fact");
        if (!want[k])
            fail_msg("text [%s]: unexpected fact [%s]", t, m[i].content);
        if (strcmp(m[i].content, want[k]) != 0)
            fail_msg("text [%s]: fact %zu is [%s], want [%s]", t, k, m[i].content, want[k]);
        k++;
    }
    if (want[k])
        fail_msg("text [%s]: missing fact [%s]", t, want[k]);
}

#define FACTS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NO_FACTS ((const char *const[]){ NULL })

static void test_compiler_spec_examples(void **state)
{
    (void)state;
    expect_facts("user: My name is Alice and I work at Acme Corp.",
                 FACTS("My name is Alice", "I work at Acme Corp"));
    expect_facts("user: I prefer Node.js for APIs", FACTS("I prefer Node"));
    expect_facts("assistant: I am Max", FACTS("I am Max"));
    expect_facts("user: I am on the Enterprise plan.", FACTS("I am on the Enterprise plan"));
    expect_facts("My favourite colour", NO_FACTS);
}

static void test_compiler_golden_path_facts(void **state)
{
    (void)state;
    expect_facts("user: My name is Alice Chen and I work at Globex Corporation. I am on the "
                 "Enterprise plan.\nassistant: Welcome Alice! How can I help you today?",
                 FACTS("My name is Alice Chen", "I work at Globex Corporation",
                       "I am on the Enterprise plan"));
    expect_facts("user: I prefer email notifications over Slack. My email is alice@globex.com."
                 "\nassistant: Got it, I have updated your preference.",
                 FACTS("I prefer email notifications over Slack"));
    expect_facts("user: We had a billing issue last week \u2014 we were double-charged for the "
                 "March invoice.\nassistant: I see the double charge.", NO_FACTS);
}

static void test_compiler_no_word_boundaries(void **state)
{
    (void)state;
    expect_facts("taxi use x", FACTS("i use x"));
    expect_facts("I am at home, I am on call", FACTS("I am at home", "I am on call"));
}

static void test_compiler_curly_apostrophe_does_not_match(void **state)
{
    (void)state;
    expect_facts("I\u2019m Bob and I\u2019m from Paris", NO_FACTS);
    expect_facts("i'm from Paris, France", FACTS("i'm from Paris"));
}

static void test_compiler_case_rules(void **state)
{
    (void)state;
    expect_facts("MY NAME IS Bob", FACTS("MY NAME IS Bob"));
    expect_facts("my name is bob", NO_FACTS);
    expect_facts("My name is \u00c9mile", NO_FACTS);   /* the name part is ASCII A-Z/a-z */
    expect_facts("I USE Emacs", FACTS("I USE Emacs"));
}

static void test_compiler_unicode_whitespace(void **state)
{
    (void)state;
    expect_facts("I am\u00a0Zoe\u2003Smith", FACTS("I am\u00a0Zoe\u2003Smith"));
    expect_facts("I am  Zoe Smith", FACTS("I am  Zoe Smith"));
    /* strip() removes Unicode whitespace only at the ends, before the '.' / ',' drops. */
    expect_facts("I work at \u3000Acme\u3000\u3000.", FACTS("I work at \u3000Acme\u3000\u3000"));
    expect_facts("I use\nvim", FACTS("I use\nvim"));
    expect_facts("I use vim\r\nand", FACTS("I use vim"));
    expect_facts("I live in Berlin\nnext", FACTS("I live in Berlin"));
}

static void test_compiler_trailing_punctuation(void **state)
{
    (void)state;
    expect_facts("I work at Acme...", FACTS("I work at Acme"));
    expect_facts("I work at   Acme  ,,", FACTS("I work at   Acme  "));
    expect_facts("I work at \u00dcn\u00efcode GmbH. ok", FACTS("I work at \u00dcn\u00efcode GmbH"));
}

static void test_compiler_duplicates_kept_in_pattern_order(void **state)
{
    (void)state;
    expect_facts("I use vim. I use vim.", FACTS("I use vim", "I use vim"));
    expect_facts("I use vim. My name is Bob. I live in Rome. I use vim",
                 FACTS("My name is Bob", "I live in Rome", "I use vim", "I use vim"));
}

static void expect_uuid_v4(const char *id)
{
    assert_true(uuid_valid(id));
    assert_int_equal(id[14], '4');
    for (; *id; id++)
        assert_false(*id >= 'A' && *id <= 'F');
}

static void test_compiler_every_field_filled(void **state)
{
    struct episode ep = make_episode("{\"messages\":[{\"role\":\"user\",\"content\":"
                                     "\"My name is Alice and I work at Acme Corp.\"}]}");
    struct err err = ERR_INIT;
    struct memory *m;
    size_t n, i;

    (void)state;
    assert_int_equal(compile_heuristic(arena, &ep, 1, "tenant-a", NOW, &m, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(m[0].kind, "episode_summary");
    assert_string_equal(m[0].content, "user: My name is Alice and I work at Acme Corp.");
    assert_string_equal(m[0].summary, m[0].content);
    assert_true(m[0].confidence == 0.8);
    assert_string_equal(m[1].content, "My name is Alice");
    assert_string_equal(m[2].content, "I work at Acme Corp");
    for (i = 0; i < n; i++) {
        expect_uuid_v4(m[i].id);
        assert_string_equal(m[i].subject_id, "user-42");
        assert_string_equal(m[i].tenant_id, "tenant-a");
        assert_true(m[i].valid_from == CREATED);
        assert_true(m[i].valid_to == TS_NULL);
        assert_string_equal(m[i].source_episode_ids, "[\"" EP_ID "\"]");
        assert_string_equal(m[i].metadata, "{}");
        assert_string_equal(m[i].status, "active");
        assert_string_equal(m[i].sensitivity_labels, "[]");
        assert_null(m[i].embedding);
        assert_true(m[i].created_at == NOW && m[i].updated_at == NOW);
        if (i > 0) {
            assert_string_equal(m[i].kind, "profile_fact");
            assert_true(m[i].confidence == 0.6);
            assert_string_equal(m[i].summary, m[i].content);
        }
    }
    assert_string_not_equal(m[0].id, m[1].id);
}

/* §19.1 C1, C3, C4, C5. */
static void test_compiler_payload_shapes(void **state)
{
    struct memory *m;

    (void)state;
    assert_int_equal(compile_payload("{\"text\":\"Hello, how can I help you today?\"}", &m), 1);
    assert_string_equal(m[0].kind, "episode_summary");
    assert_string_equal(m[0].content, "Hello, how can I help you today?");
    assert_true(m[0].confidence == 0.8);
    assert_int_equal(compile_payload("{}", &m), 0);
    assert_int_equal(compile_payload("{\"foo\":\"bar\",\"baz\":42}", &m), 0);
    assert_int_equal(compile_payload("{\"content\":\"Some content\"}", &m), 1);
    assert_int_equal(compile_payload("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                                     &m), 1);
    assert_string_equal(m[0].content, "user: hi");
    assert_int_equal(compile_payload("{\"text\":\"\"}", &m), 0);
    assert_int_equal(compile_payload("{\"text\":null}", &m), 1);   /* quirk: "None" */
    assert_string_equal(m[0].content, "None");
    assert_int_equal(compile_payload("{\"messages\":\"oops\"}", &m), 0);
}

static const char *repeat(const char *unit, size_t times)
{
    size_t len = strlen(unit), i;
    char *s = arena_alloc(arena, len * times + 1);

    for (i = 0; i < times; i++)
        memcpy(s + i * len, unit, len);
    s[len * times] = '\0';
    return s;
}

/* §19.1 C6, with multibyte text: cuts count code points and never split a sequence. */
static void test_compiler_summary_cuts_in_code_points(void **state)
{
    struct memory *m;
    const char *t;

    (void)state;
    assert_int_equal(compile_payload(text_payload(repeat("a", 600)), &m), 1);
    assert_int_equal(strlen(m[0].content), 500);
    assert_int_equal(strlen(m[0].summary), 200);

    t = repeat("\u00e9\U0001F600\u4e2d", 200);   /* 600 code points, 2+4+3 bytes each three */
    assert_int_equal(compile_payload(text_payload(t), &m), 1);
    assert_int_equal(utf8_count(m[0].content, strlen(m[0].content)), 500);
    assert_int_equal(utf8_valid_len(m[0].content, strlen(m[0].content)), strlen(m[0].content));
    assert_int_equal(strncmp(m[0].content, t, strlen(m[0].content)), 0);
    assert_int_equal(strlen(m[0].content), 166 * 9 + 2 + 4);
    assert_int_equal(utf8_count(m[0].summary, strlen(m[0].summary)), 200);
    assert_int_equal(strlen(m[0].summary), 66 * 9 + 2 + 4);

    t = arena_printf(arena, "I use %s.", repeat("\u00e9", 300));
    assert_int_equal(compile_payload(text_payload(t), &m), 2);
    assert_int_equal(utf8_count(m[1].content, strlen(m[1].content)), 306);
    assert_int_equal(utf8_count(m[1].summary, strlen(m[1].summary)), 200);
    assert_int_equal(strncmp(m[1].summary, "I use \u00e9", 8), 0);
}

/* §19.1 C7: compiling the same list twice gives the same kinds and contents, new ids. */
static void test_compiler_is_a_pure_function(void **state)
{
    struct episode eps[3];
    struct memory *a, *b;
    struct err err = ERR_INIT;
    size_t na, nb, i;

    (void)state;
    eps[0] = make_episode("{\"text\":\"My name is Alice. I use vim.\"}");
    eps[1] = make_episode("{\"foo\":1}");
    eps[2] = make_episode("{\"content\":\"I live in Rome\"}");
    memcpy(eps[2].id, "00000000-0000-4000-8000-000000000002", UUID_STR_LEN);
    eps[2].created_at = CREATED + 5;
    assert_int_equal(compile_heuristic(arena, eps, 3, NULL, NOW, &a, &na, &err), 0);
    assert_int_equal(compile_heuristic(arena, eps, 3, NULL, NOW, &b, &nb, &err), 0);
    assert_int_equal(na, 5);
    assert_int_equal(nb, na);
    for (i = 0; i < na; i++) {
        assert_string_equal(a[i].kind, b[i].kind);
        assert_string_equal(a[i].content, b[i].content);
        assert_string_not_equal(a[i].id, b[i].id);
        assert_null(a[i].tenant_id);
    }
    assert_string_equal(a[3].kind, "episode_summary");
    assert_string_equal(a[3].source_episode_ids, "[\"00000000-0000-4000-8000-000000000002\"]");
    assert_true(a[3].valid_from == CREATED + 5);
    assert_string_equal(a[4].content, "I live in Rome");
}

static void test_compiler_long_text_without_terminator(void **state)
{
    const char *t = arena_printf(arena, "I use %s", repeat("x ", 200000));
    struct memory *m;

    (void)state;
    assert_int_equal(compile_payload(text_payload(t), &m), 2);
    assert_int_equal(strlen(m[1].content), strlen(t) - 1);   /* strip drops the last ' ' */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compiler_spec_examples),
        cmocka_unit_test(test_compiler_golden_path_facts),
        cmocka_unit_test(test_compiler_no_word_boundaries),
        cmocka_unit_test(test_compiler_curly_apostrophe_does_not_match),
        cmocka_unit_test(test_compiler_case_rules),
        cmocka_unit_test(test_compiler_unicode_whitespace),
        cmocka_unit_test(test_compiler_trailing_punctuation),
        cmocka_unit_test(test_compiler_duplicates_kept_in_pattern_order),
        cmocka_unit_test(test_compiler_every_field_filled),
        cmocka_unit_test(test_compiler_payload_shapes),
        cmocka_unit_test(test_compiler_summary_cuts_in_code_points),
        cmocka_unit_test(test_compiler_is_a_pure_function),
        cmocka_unit_test(test_compiler_long_text_without_terminator),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
