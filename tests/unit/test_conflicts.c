/* test_conflicts.c - unit tests for conflict resolution (spec/behavior.md §6): the worked
 * table, thresholds, grouping by kind, same-compile duplicates, and the tokset rules. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "service/conflicts.h"
#include "util/ts.h"

#include "arena_fixture.h"   /* arena, setup, teardown */

#define T0 INT64_C(1777629000000000)
#define NOW INT64_C(1777630000000000)

static struct memory mem(const char *kind, const char *content, int64_t created)
{
    struct memory m;

    memset(&m, 0, sizeof(m));
    snprintf(m.id, sizeof(m.id), "00000000-0000-4000-8000-%012lld", (long long)created % 1000);
    m.subject_id = "user-42";
    m.kind = kind;
    m.content = content;
    m.summary = content;
    m.status = "active";
    m.valid_from = created - 1000;
    m.valid_to = TS_NULL;
    m.created_at = created;
    m.updated_at = created;
    return m;
}

/* Resolve [older, newer] of one kind; returns 1 when older was superseded. */
static int pair_superseded(const char *kind, const char *older, const char *newer)
{
    struct memory m[2];
    unsigned char flags[2] = { 0, 0 };
    size_t n;

    m[0] = mem(kind, older, T0);
    m[1] = mem(kind, newer, T0 + 1);
    n = conflicts_resolve_list(arena, m, 2, NOW, flags);
    assert_int_equal(flags[1], 0);
    assert_string_equal(m[1].status, "active");
    assert_int_equal(n, flags[0]);
    if (!flags[0]) {
        assert_string_equal(m[0].status, "active");
        assert_true(m[0].valid_to == TS_NULL);
        assert_true(m[0].updated_at == T0);
        return 0;
    }
    assert_string_equal(m[0].status, "superseded");
    assert_true(m[0].valid_to == m[1].valid_from);
    assert_true(m[0].updated_at == NOW);
    return 1;
}

static void test_conflicts_worked_table(void **state)
{
    (void)state;
    assert_true(pair_superseded("profile_fact", "my name is Alice Chen",
                                "my name is Alice Chen-Smith"));
    assert_true(pair_superseded("profile_fact", "My name is Alice", "My name is Bob"));
    assert_true(pair_superseded("profile_fact", "I work at Acme", "I work at Globex"));
    assert_false(pair_superseded("profile_fact", "I prefer vim", "I prefer emacs"));
    assert_false(pair_superseded("profile_fact", "my name is Alice",
                                 "I work at Globex Corporation"));
    assert_true(pair_superseded("episode_summary", "The user asked about billing",
                                "The user asked about billing issues"));
    assert_false(pair_superseded("profile_fact", "", "anything"));
    assert_false(pair_superseded("episode_summary", "anything", ""));
    assert_false(pair_superseded("profile_fact", " \t\n", " "));
}

static void test_conflicts_jaccard_values(void **state)
{
    (void)state;
    assert_true(fabs(conflicts_jaccard(arena, "my name is Alice Chen",
                                       "my name is Alice Chen-Smith") - 4.0 / 6.0) < 1e-12);
    assert_true(conflicts_jaccard(arena, "My name is Alice", "My name is Bob") == 0.6);
    assert_true(conflicts_jaccard(arena, "I prefer vim", "I prefer emacs") == 0.5);
    assert_true(conflicts_jaccard(arena, "", "x") < 0);
    /* lower-cased; sets, so repeats count once; punctuation stays attached */
    assert_true(conflicts_jaccard(arena, "I PREFER Vim vim", "i prefer vim") == 1.0);
    assert_true(conflicts_jaccard(arena, "billing?", "billing") == 0.0);
    /* split on runs of Unicode whitespace, ends ignored */
    assert_true(conflicts_jaccard(arena, "\u3000a\u00a0b\u2003 c\n", "a b c") == 1.0);
    assert_true(conflicts_jaccard(arena, "a\u00a0b", "a b x y") == 0.5);
}

static void test_conflicts_thresholds_by_kind(void **state)
{
    (void)state;
    /* 3/4 = 0.75: enough for a fact, not for other kinds */
    assert_true(pair_superseded("profile_fact", "a b c", "a b c d"));
    assert_false(pair_superseded("episode_summary", "a b c", "a b c d"));
    assert_false(pair_superseded("procedure", "a b c", "a b c d"));
    /* 4/5 = 0.8: enough for every kind (>=) */
    assert_true(pair_superseded("episode_summary", "a b c d", "a b c d e"));
    assert_true(pair_superseded("artifact_ref", "a b c d", "a b c d e"));
    /* 0.5 < 0.6 */
    assert_false(pair_superseded("profile_fact", "a b", "a c"));
}

static void test_conflicts_kinds_never_mix(void **state)
{
    struct memory m[2];
    unsigned char flags[2] = { 0, 0 };

    (void)state;
    m[0] = mem("profile_fact", "I use vim", T0);
    m[1] = mem("episode_summary", "I use vim", T0 + 1);
    assert_int_equal(conflicts_resolve_list(arena, m, 2, NOW, flags), 0);
    assert_string_equal(m[0].status, "active");
}

/* One compile: equal created_at, so list order (insertion order) decides "older". */
static void test_conflicts_same_compile_duplicates(void **state)
{
    struct memory m[4];
    unsigned char flags[4] = { 0 };

    (void)state;
    m[0] = mem("episode_summary", "user: I use vim. I use vim.", T0);
    m[1] = mem("profile_fact", "I use vim", T0);
    m[2] = mem("profile_fact", "I use vim", T0);
    m[3] = mem("profile_fact", "My name is Bob", T0);
    m[2].valid_from = T0 - 5;
    assert_int_equal(conflicts_resolve_list(arena, m, 4, NOW, flags), 1);
    assert_int_equal(flags[1], 1);
    assert_string_equal(m[1].status, "superseded");
    assert_true(m[1].valid_to == T0 - 5);
    assert_true(m[1].updated_at == NOW);
    assert_string_equal(m[2].status, "active");
    assert_string_equal(m[0].status, "active");
    assert_string_equal(m[3].status, "active");
}

static void test_conflicts_chain_and_first_newer_wins(void **state)
{
    struct memory m[4];
    unsigned char flags[4] = { 0 };

    (void)state;
    m[0] = mem("profile_fact", "My name is Alice", T0);
    m[1] = mem("profile_fact", "I work at Globex", T0 + 1);
    m[2] = mem("profile_fact", "My name is Bob", T0 + 2);
    m[3] = mem("profile_fact", "My name is Carol", T0 + 3);
    assert_int_equal(conflicts_resolve_list(arena, m, 4, NOW, flags), 2);
    /* Alice is superseded by the first newer conflicting memory (Bob), Bob by Carol. */
    assert_string_equal(m[0].status, "superseded");
    assert_true(m[0].valid_to == m[2].valid_from);
    assert_string_equal(m[1].status, "active");
    assert_string_equal(m[2].status, "superseded");
    assert_true(m[2].valid_to == m[3].valid_from);
    assert_string_equal(m[3].status, "active");
}

static void test_conflicts_null_valid_from_uses_now(void **state)
{
    struct memory m[2];

    (void)state;
    m[0] = mem("profile_fact", "My name is Alice", T0);
    m[1] = mem("profile_fact", "My name is Bob", T0 + 1);
    m[1].valid_from = TS_NULL;
    assert_int_equal(conflicts_resolve_list(arena, m, 2, NOW, NULL), 1);
    assert_true(m[0].valid_to == NOW);
}

static void test_conflicts_small_inputs(void **state)
{
    struct memory m[1];

    (void)state;
    assert_int_equal(conflicts_resolve_list(arena, NULL, 0, NOW, NULL), 0);
    m[0] = mem("profile_fact", "x", T0);
    assert_int_equal(conflicts_resolve_list(arena, m, 1, NOW, NULL), 0);
}

/* lower() is Python's str.lower(), not ASCII folding: the same as the context matcher's. */
static void test_conflicts_unicode_lower(void **state)
{
    (void)state;
    assert_true(conflicts_jaccard(arena, "Mein Name ist ÄRGER", "mein name ist ärger") == 1.0);
    assert_true(conflicts_jaccard(arena, "ΟΔΟΣ Σοφία", "οδος σοφία") == 1.0);   /* final sigma */
    assert_true(conflicts_jaccard(arena, "Я живу в МОСКВЕ", "я живу в москве") == 1.0);
    /* U+0130 lowers to "i̇" (i + U+0307), not to "i" */
    assert_true(conflicts_jaccard(arena, "\u0130stanbul", "istanbul") == 0.0);
    assert_true(conflicts_jaccard(arena, "\u0130stanbul", "i\u0307stanbul") == 1.0);
    /* lower(), not casefold(): ß stays ß */
    assert_true(conflicts_jaccard(arena, "STRASSE", "straße") == 0.0);
    assert_true(pair_superseded("profile_fact", "MEIN NAME IST ÅSA", "mein name ist åsa"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conflicts_worked_table),
        cmocka_unit_test(test_conflicts_jaccard_values),
        cmocka_unit_test(test_conflicts_thresholds_by_kind),
        cmocka_unit_test(test_conflicts_kinds_never_mix),
        cmocka_unit_test(test_conflicts_same_compile_duplicates),
        cmocka_unit_test(test_conflicts_chain_and_first_newer_wins),
        cmocka_unit_test(test_conflicts_null_valid_from_uses_now),
        cmocka_unit_test(test_conflicts_small_inputs),
        cmocka_unit_test(test_conflicts_unicode_lower),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
