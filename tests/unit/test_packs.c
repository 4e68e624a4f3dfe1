/* test_packs.c - unit tests for service/packs: reading one line of the starter-pack bundle
 * (a broken manifest becomes the pack's __error, spec/api.md §7.7) and the bundle built into
 * the binary (every pack readable, each found by id with its records). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "service/packs.h"
#include "util/jv.h"

#include "arena_fixture.h" /* arena, setup, teardown */

#define MANIFEST(extra)                                                                      \
    "{\"format\":\"statewave-starter-pack\",\"pack_id\":\"p1\",\"display_name\":\"P\","      \
    "\"version\":\"1.2.3\",\"episode_count\":1,\"memory_count\":0" extra "}"

static void parse(const char *line, struct pack *out)
{
    packs_parse(arena, line, strlen(line), out);
}

static void expect_error(const char *line, const char *want)
{
    struct pack p;

    parse(line, &p);
    if (!p.info.error || strcmp(p.info.error, want) != 0)
        fail_msg("line %s\n  error [%s]\n  want  [%s]", line, p.info.error ? p.info.error : "",
                 want);
}

static void test_packs_parse_good_line(void **state)
{
    struct pack p;

    (void)state;
    parse("{\"pack_id\":\"p1\",\"kind\":\"demo_agent\",\"manifest\":" MANIFEST(",\"tags\":[\"a\"]")
          ",\"episodes\":[{\"id\":\"e1\"}],\"memories\":[]}", &p);
    assert_null(p.info.error);
    assert_string_equal(p.info.pack_id, "p1");
    assert_string_equal(p.info.kind, "demo_agent");
    assert_string_equal(p.info.display_name, "P");
    assert_string_equal(p.info.version, "1.2.3");
    assert_null(p.info.description);   /* absent: null in the listing */
    assert_int_equal(p.info.episode_count, 1);
    assert_int_equal(p.info.source_count, 0);
    assert_int_equal(jv_array_size(p.info.tags), 1);
    assert_int_equal(jv_array_size(p.episodes), 1);
    assert_int_equal(jv_array_size(p.memories), 0);
}

/* Each broken manifest is listed with pack_id, kind and __error, never dropped. */
static void test_packs_parse_broken_manifest(void **state)
{
    struct pack p;

    (void)state;
    expect_error("{\"pack_id\":\"p1\",\"kind\":\"demo_agent\",\"manifest\":{\"format\":\"zip\"}}",
                 "Starter pack 'p1' has unexpected format 'zip'; expected "
                 "'statewave-starter-pack'.");
    expect_error("{\"pack_id\":\"p1\",\"kind\":\"demo_agent\",\"manifest\":{}}",
                 "Starter pack 'p1' has unexpected format None; expected "
                 "'statewave-starter-pack'.");
    expect_error("{\"pack_id\":\"p1\",\"kind\":\"demo_agent\",\"manifest\":[]}",
                 "Starter pack 'p1' has no manifest object.");
    expect_error("{\"pack_id\":\"p1\",\"kind\":\"x\",\"manifest\":" MANIFEST(",\"version\":7") "}",
                 "Starter pack 'p1' has a malformed manifest: 'version' must be a string.");
    expect_error("{\"pack_id\":\"p1\",\"kind\":\"x\",\"manifest\":"
                 MANIFEST(",\"memory_count\":-1") "}",
                 "Starter pack 'p1' has a malformed manifest: 'memory_count' must be a count.");
    expect_error("{\"pack_id\":\"p1\",\"kind\":\"x\",\"manifest\":" MANIFEST("")
                 ",\"episodes\":{}}", "Starter pack 'p1': episodes must be a list.");
    expect_error("{\"pack_id\":\"p1\",\"manifest\":", "Starter pack entry is not readable.");
    expect_error("{\"kind\":\"demo_agent\",\"manifest\":{}}",
                 "Starter pack entry is not readable.");
    expect_error("{\"pack_id\":7,\"manifest\":{}}", "Starter pack entry is not readable.");
    expect_error("[1]", "Starter pack entry is not readable.");
    parse("{\"pack_id\":\"p9\",\"kind\":\"support_docs\",\"manifest\":{\"format\":1}}", &p);
    assert_string_equal(p.info.pack_id, "p9");
    assert_string_equal(p.info.kind, "support_docs");
    assert_non_null(p.info.error);
}

/* The bundle built into the binary: six readable packs in the spec's kinds. */
static void test_packs_bundled(void **state)
{
    struct pack_info *list;
    struct pack *pack;
    struct err err = ERR_INIT;
    size_t n = packs_list(arena, &list), i, demos = 0;

    (void)state;
    assert_int_equal(n, 6);
    assert_string_equal(list[0].pack_id, "statewave-support-agent");
    assert_string_equal(list[0].kind, "support_docs");
    for (i = 0; i < n; i++) {
        assert_null(list[i].error);
        demos += strcmp(list[i].kind, "demo_agent") == 0 &&
                 strncmp(list[i].pack_id, "demo-", 5) == 0;
        assert_int_equal(packs_find(arena, list[i].pack_id, &pack, &err), 0);
        assert_non_null(pack);
        assert_int_equal(jv_array_size(pack->episodes), (size_t)list[i].episode_count);
        assert_int_equal(jv_array_size(pack->memories), (size_t)list[i].memory_count);
    }
    assert_int_equal(demos, 5);
    assert_int_equal(packs_find(arena, "demo-", &pack, &err), 0);
    assert_null(pack);
    assert_int_equal(packs_find(arena, "x\",\"kind", &pack, &err), 0);
    assert_null(pack);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packs_parse_good_line),
        cmocka_unit_test(test_packs_parse_broken_manifest),
        cmocka_unit_test(test_packs_bundled),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
