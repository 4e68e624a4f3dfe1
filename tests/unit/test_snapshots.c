/* test_snapshots.c - unit tests for service/snapshots and service/cleanup: the snapshot name
 * and version rule, the hidden subject id, the restore shift and clamp arithmetic, the
 * cleanup cutoff, and the checks that answer before any database access. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "service/cleanup.h"
#include "service/snapshots.h"
#include "util/ts.h"

#define SEC INT64_C(1000000)
#define HOUR (3600 * SEC)

static void test_snapshots_name_rule_accepts(void **state)
{
    char longest[SNAPSHOT_NAME_MAX + 1];

    (void)state;
    assert_true(snapshot_name_valid("a"));
    assert_true(snapshot_name_valid("Z"));
    assert_true(snapshot_name_valid("7"));
    assert_true(snapshot_name_valid("sarah-startup"));
    assert_true(snapshot_name_valid("v1.2_beta-3"));
    assert_true(snapshot_name_valid("A.b_C-d.9"));
    memset(longest, 'x', SNAPSHOT_NAME_MAX);
    longest[SNAPSHOT_NAME_MAX] = '\0';
    assert_true(snapshot_name_valid(longest));
}

static void test_snapshots_name_rule_refuses(void **state)
{
    static const char *const bad[] = {
        "", "-a", ".a", "_a", "a/b", "a b", " a", "a ", "a\tb", "a:b", "a%b", "a*b",
        "caf\xc3\xa9", "\xc3\xa9t\xc3\xa9", "a\nb", "a+b", "a@b", "a,b",
    };
    char toolong[SNAPSHOT_NAME_MAX + 2];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (snapshot_name_valid(bad[i]))
            fail_msg("name '%s' must be refused", bad[i]);
    }
    assert_false(snapshot_name_valid(NULL));
    memset(toolong, 'x', SNAPSHOT_NAME_MAX + 1);
    toolong[SNAPSHOT_NAME_MAX + 1] = '\0';
    assert_false(snapshot_name_valid(toolong));
}

static void test_snapshots_version_rule(void **state)
{
    (void)state;
    assert_true(snapshot_version_valid(1));
    assert_true(snapshot_version_valid(4));
    assert_true(snapshot_version_valid(INT32_MAX));
    assert_false(snapshot_version_valid(0));
    assert_false(snapshot_version_valid(-1));
    assert_false(snapshot_version_valid((int64_t)INT32_MAX + 1));
    assert_false(snapshot_version_valid(INT64_MIN));
    assert_false(snapshot_version_valid(INT64_MAX));
}

static void test_snapshots_source_subject(void **state)
{
    struct arena *a = arena_new();

    (void)state;
    assert_string_equal(snapshot_source_subject(a, "sarah-startup", 4),
                        "_snapshot/sarah-startup/v4");
    assert_string_equal(snapshot_source_subject(a, "x", INT32_MAX),
                        "_snapshot/x/v2147483647");
    arena_free(a);
}

/* R3: the newest episode lands exactly on now; differences are kept to the µs; created and
 * updated times never pass now; NULL stays NULL. */
static void test_snapshots_shift_and_clamp(void **state)
{
    int64_t now = 1780000000 * SEC + 123456, newest = 1700000000 * SEC + 999999;
    int64_t older = newest - 3 * HOUR - 17, later = newest + 2 * 24 * HOUR + 5;
    int64_t shift = snapshot_shift(now, newest);

    (void)state;
    assert_int_equal(newest + shift, now);
    assert_int_equal(snapshot_shift_clamped(newest, shift, now), now);
    assert_int_equal(snapshot_shift_clamped(older, shift, now), now - 3 * HOUR - 17);
    assert_int_equal(now - snapshot_shift_clamped(older, shift, now), newest - older);
    assert_int_equal(snapshot_shift_clamped(later, shift, now), now);   /* clamped */
    assert_int_equal(snapshot_shift_clamped(TS_NULL, shift, now), TS_NULL);
    /* A source in the future shifts backwards. */
    shift = snapshot_shift(now, now + 10 * SEC);
    assert_int_equal(shift, -10 * SEC);
    assert_int_equal(snapshot_shift_clamped(now + 10 * SEC, shift, now), now);
    assert_int_equal(snapshot_shift_clamped(now + 4 * SEC, shift, now), now - 6 * SEC);
}

static void test_snapshots_cleanup_cutoff(void **state)
{
    int64_t now = 1780000000 * SEC + 42;

    (void)state;
    assert_int_equal(cleanup_cutoff(now, 0), now);
    assert_int_equal(cleanup_cutoff(now, 24), now - 24 * HOUR);
    assert_int_equal(cleanup_cutoff(now, 1), now - HOUR);
    /* Huge ages saturate in the far past instead of overflowing. */
    assert_int_equal(cleanup_cutoff(now, INT64_MAX), CLEANUP_FAR_PAST);
    assert_int_equal(cleanup_cutoff(now, INT64_MAX / HOUR), CLEANUP_FAR_PAST);
    assert_int_equal(cleanup_cutoff(now, 100000000), CLEANUP_FAR_PAST);   /* 11,000 years */
    assert_int_equal(cleanup_cutoff(now, 10000), now - 10000 * HOUR);
}

/* Input errors are answered before the store is touched (st may be NULL). */
static void test_snapshots_create_refuses_before_store(void **state)
{
    struct snapshot_create_in in = { "ok-name", 1, "_snapshot/x/v1", NULL, 1, NULL };
    struct snapshot_create_result res;
    struct arena *a = arena_new();
    struct err err = ERR_INIT;

    (void)state;
    assert_int_equal(snapshots_create(a, NULL, &in, &res, &err), -1);
    assert_int_equal(err.kind, ERR_INVALID);
    assert_string_equal(err.msg, "Subject id '_snapshot/x/v1' uses a reserved prefix "
                        "(_snapshot/)");
    in.source_subject = "user-1";
    in.name = "bad name";
    assert_int_equal(snapshots_create(a, NULL, &in, &res, &err), -1);
    assert_int_equal(err.kind, ERR_INVALID);
    assert_string_equal(err.msg, "Invalid snapshot name or version");
    in.name = "good";
    in.version = 0;
    assert_int_equal(snapshots_create(a, NULL, &in, &res, &err), -1);
    assert_string_equal(err.msg, "Invalid snapshot name or version");
    in.version = (int64_t)INT32_MAX + 1;
    assert_int_equal(snapshots_create(a, NULL, &in, &res, &err), -1);
    assert_string_equal(err.msg, "Invalid snapshot name or version");
    err_release(&err);
    arena_free(a);
}

static void test_snapshots_restore_target_rule(void **state)
{
    struct snapshot_restore_in in;
    struct snapshot_restore_result res;
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    char big[300];

    (void)state;
    memset(&in, 0, sizeof(in));
    in.id = "00000000-0000-4000-8000-000000000000";
    in.target_subject = "";
    assert_int_equal(snapshots_restore(a, NULL, &in, &res, &err), -1);
    assert_int_equal(err.kind, ERR_INVALID);
    in.target_subject = "_bootstrap_tmp/x";
    assert_int_equal(snapshots_restore(a, NULL, &in, &res, &err), -1);
    assert_string_equal(err.msg, "Subject id '_bootstrap_tmp/x' uses a reserved prefix "
                        "(_bootstrap_tmp/)");
    memset(big, 'y', 257);
    big[257] = '\0';
    in.target_subject = big;
    assert_int_equal(snapshots_restore(a, NULL, &in, &res, &err), -1);
    assert_int_equal(err.kind, ERR_INVALID);
    err_release(&err);
    arena_free(a);
}

static void test_snapshots_cleanup_empty_prefix(void **state)
{
    struct cleanup_in in = { "", 24, 1, NULL, 0 };
    struct cleanup_result res;
    struct arena *a = arena_new();
    struct err err = ERR_INIT;

    (void)state;
    assert_int_equal(cleanup_run(a, NULL, &in, 0, &res, &err), -1);
    assert_int_equal(err.kind, ERR_INVALID);
    assert_string_equal(err.msg, "prefix must not be empty");
    err_release(&err);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshots_name_rule_accepts),
        cmocka_unit_test(test_snapshots_name_rule_refuses),
        cmocka_unit_test(test_snapshots_version_rule),
        cmocka_unit_test(test_snapshots_source_subject),
        cmocka_unit_test(test_snapshots_shift_and_clamp),
        cmocka_unit_test(test_snapshots_cleanup_cutoff),
        cmocka_unit_test(test_snapshots_create_refuses_before_store),
        cmocka_unit_test(test_snapshots_restore_target_rule),
        cmocka_unit_test(test_snapshots_cleanup_empty_prefix),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
