/* test_render.c - the response renderers that write straight into a buffer
 * (render_memory_to, render_episode_to, render_ts_z_to, render_memories, render_episodes) give
 * byte for byte what jv_write_compact makes of the jv renderers, over the shapes a row can
 * take. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/render.h"
#include "util/jv.h"
#include "util/ts.h"

static void assert_same_memory(const struct memory *m)
{
    struct buf want = BUF_INIT, got = BUF_INIT;
    struct arena *a = arena_new();
    struct jv *list = jv_array(a);

    jv_array_append(a, list, render_memory(a, m));
    jv_array_append(a, list, render_memory(a, m));
    jv_write_compact(&want, jv_array_get(list, 0));
    render_memory_to(&got, m);
    assert_string_equal(got.data, want.data);
    buf_reset(&want);
    buf_reset(&got);
    jv_write_compact(&want, list);
    jv_write_compact(&got, render_memories(a, (const struct memory[]){ *m, *m }, 2));
    arena_free(a);
    assert_string_equal(got.data, want.data);
    buf_release(&want);
    buf_release(&got);
}

static void assert_same_episode(const struct episode *ep)
{
    struct buf want = BUF_INIT, got = BUF_INIT;
    struct arena *a = arena_new();
    struct jv *list = jv_array(a);

    jv_array_append(a, list, render_episode(a, ep));
    jv_write_compact(&want, jv_array_get(list, 0));
    render_episode_to(&got, ep);
    assert_string_equal(got.data, want.data);
    buf_reset(&want);
    buf_reset(&got);
    jv_write_compact(&want, list);
    jv_write_compact(&got, render_episodes(a, ep, 1));
    arena_free(a);
    assert_string_equal(got.data, want.data);
    buf_release(&want);
    buf_release(&got);
}

static void test_render_memory_to(void **state)
{
    static const double confidences[] = { 1.0, 0.6, 0.1 + 0.2, 1e-05, 1e+16, 0.0, -0.0,
                                          0.95, 123456789.125 };
    struct memory m = {
        .id = "0b6f8a5e-6d4f-4c0e-9f5a-1a2b3c4d5e6f",
        .subject_id = "user-42 \"quoted\" \\ back\tslash \xc3\xa9\xe2\x9c\x93",
        .kind = "profile_fact",
        .content = "Line one\nline two \x01 control",
        .summary = NULL,
        .confidence = 1.0,
        .valid_from = 1717243200123457LL,
        .valid_to = TS_NULL,
        .source_episode_ids = "[\"a\",\"b\"]",
        .metadata = "{\"n\":1e20,\"big\":123456789012345678901234567890}",
        .status = "active",
        .sensitivity_labels = "[]",
        .created_at = 1717243200000000LL,
        .updated_at = -1000001,
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(confidences) / sizeof(confidences[0]); i++) {
        m.confidence = confidences[i];
        assert_same_memory(&m);
    }
    m.summary = "a summary";
    m.valid_to = 1717243300000001LL;
    m.sensitivity_labels = "[\"pii\",\"secret\"]";
    assert_same_memory(&m);
    m.source_episode_ids = NULL;   /* stored text missing: the fallbacks */
    m.metadata = "";
    m.sensitivity_labels = NULL;
    assert_same_memory(&m);
}

static void test_render_episode_to(void **state)
{
    struct episode ep = {
        .id = "9c1d2e3f-4a5b-4c6d-8e7f-001122334455",
        .subject_id = "s",
        .source = "chat",
        .type = "message \"x\"",
        .payload = "{\"text\":\"hi\\n\",\"f\":1.0}",
        .metadata = NULL,
        .provenance = "",
        .session_id = NULL,
        .created_at = 0,
        .occurred_at = TS_NULL,
    };

    (void)state;
    assert_same_episode(&ep);
    ep.session_id = "sess-\xe2\x9c\x93";
    ep.metadata = "{\"k\":[1,2,3]}";
    ep.provenance = "{\"restored_from_snapshot\":\"x\"}";
    ep.created_at = 253402300799999999LL;
    ep.occurred_at = 1717243200123457LL;
    assert_same_episode(&ep);
}

static void test_render_ts_z_to(void **state)
{
    static const int64_t times[] = { TS_NULL, 0, 1, -1, 1717243200000000LL,
                                     1717243200123457LL };
    struct buf want = BUF_INIT, got = BUF_INIT;
    struct arena *a = arena_new();
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        struct jv *v = render_ts_z(a, times[i]);

        buf_release(&want);
        buf_release(&got);
        jv_write_compact(&want, v);
        render_ts_z_to(&got, times[i]);
        assert_string_equal(got.data, want.data);
    }
    buf_release(&want);
    buf_release(&got);
    arena_free(a);
}

/* Control characters come out as Python's json.dumps writes them: \u00XX in lower case. */
static void test_render_escapes_lower_case(void **state)
{
    struct memory m = {
        .id = "0b6f8a5e-6d4f-4c0e-9f5a-1a2b3c4d5e6f", .subject_id = "s\x1f", .kind = "k",
        .content = "a\x1f\x1b\x7f", .status = "active", .sensitivity_labels = "[\"a\\u001fb\"]",
    };
    struct buf got = BUF_INIT;

    (void)state;
    render_memory_to(&got, &m);
    assert_non_null(strstr(got.data, "\"subject_id\":\"s\\u001f\""));
    assert_non_null(strstr(got.data, "\"content\":\"a\\u001f\\u001b\x7f\""));
    assert_non_null(strstr(got.data, "\"sensitivity_labels\":[\"a\\u001fb\"]"));
    assert_null(strstr(got.data, "\\u001F"));
    buf_release(&got);
    assert_same_memory(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_memory_to),
        cmocka_unit_test(test_render_episode_to),
        cmocka_unit_test(test_render_ts_z_to),
        cmocka_unit_test(test_render_escapes_lower_case),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
