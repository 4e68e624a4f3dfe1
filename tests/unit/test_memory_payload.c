/* test_memory_payload.c - unit tests for service/memory_payload: the subject-id rule, derive()
 * and resolve() (on a scratch SQLite database), the serialised-size check, and payload
 * validation and planning (messages exact, defaults, stamps, id remapping, numbers kept). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/memory_payload.h"
#include "util/ts.h"

#define NOW 1777629600123456LL   /* 2026-05-01T10:00:00.123456Z */
#define RULE_MSG " must be 1-128 characters of letters, digits, underscore, dot, dash, or colon."

static struct {
    store *st;
    char path[64];
} g;

static const struct payload_limits LIMITS = {
    .max_bytes = 1u << 20,
    .max_subjects = 3,
    .max_episodes = 50,
    .max_memories = 50,
    .embedding_dim = 4,
};

static int setup(void **state)
{
    *state = arena_new();
    return 0;
}

static int teardown(void **state)
{
    arena_free(*state);
    return 0;
}

static struct jv *parse(struct arena *a, const char *text)
{
    struct jv *v = jv_parse(a, text, strlen(text), NULL, NULL);

    assert_non_null(v);
    return v;
}

/* Plan text; expect failure with kind and message. */
static void plan_fails(struct arena *a, const char *text, enum err_kind kind, const char *msg)
{
    struct payload_plan plan;
    struct err err = ERR_INIT;

    assert_int_equal(memory_payload_plan(a, parse(a, text), &LIMITS, NOW, &plan, &err), -1);
    assert_int_equal(err.kind, kind);
    assert_string_equal(err.msg, msg);
    err_release(&err);
}

static void plan_ok(struct arena *a, const char *text, struct payload_plan *plan)
{
    struct err err = ERR_INIT;

    if (memory_payload_plan(a, parse(a, text), &LIMITS, NOW, plan, &err) < 0)
        fail_msg("plan failed: %s", err.msg);
}

/* A payload with the given extra top-level members (text after the version). */
static const char *payload(struct arena *a, const char *rest)
{
    return arena_printf(a, "{\"format\":\"statewave-memory-payload\",\"format_version\":1%s%s}",
                        *rest ? "," : "", rest);
}

/* ---- the subject-id rule ---- */

static void test_memory_payload_id_rule(void **state)
{
    static const char *const good[] = { "user-1", "tenant-a:agent-7", "support_v2.1", "A.b_c-d:e",
                                        "x" };
    static const char *const badids[] = { "", "has spaces", "weird/path", "caf\xc3\xa9",
                                          "_snapshot/x", "tab\t", "a\n" };
    struct arena *a = *state;
    struct err err = ERR_INIT;
    char long_id[130];
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(memory_payload_check_id(good[i], "f", 0, &err), 0);
    memset(long_id, 'x', 128);
    long_id[128] = '\0';
    assert_int_equal(memory_payload_check_id(long_id, "f", 0, &err), 0);
    long_id[128] = 'x';
    long_id[129] = '\0';
    assert_int_equal(memory_payload_check_id(long_id, "target_subject_id", 1, &err), -1);
    assert_int_equal(err.kind, ERR_INVALID);
    assert_string_equal(err.msg, "'target_subject_id'" RULE_MSG);
    for (i = 0; i < sizeof(badids) / sizeof(badids[0]); i++) {
        assert_int_equal(memory_payload_check_id(badids[i], "subject_ids", 1, &err), -1);
        assert_string_equal(err.msg, "'subject_ids'" RULE_MSG);
    }
    assert_int_equal(memory_payload_check_id(NULL, "f", 1, &err), -1);
    /* demo_web_ is a valid source, never a target. */
    assert_int_equal(memory_payload_check_id("demo_web_abc", "f", 1, &err), 0);
    assert_int_equal(memory_payload_check_id("demo_web_abc", "target_subject_id", 0, &err), -1);
    assert_int_equal(err.kind, ERR_INVALID);
    assert_string_equal(err.msg, "'target_subject_id' uses a reserved prefix (demo_web_).");
    (void)a;
}

/* ---- derive() ---- */

static void assert_derived(const char *got, const char *base)
{
    size_t n = strlen(base), i;

    assert_int_equal(strlen(got), n + 9);
    assert_memory_equal(got, base, n);
    assert_int_equal(got[n], '-');
    for (i = n + 1; i < n + 9; i++)
        assert_true((got[i] >= '0' && got[i] <= '9') || (got[i] >= 'a' && got[i] <= 'f'));
}

static void test_memory_payload_derive(void **state)
{
    struct arena *a = *state;
    struct err err = ERR_INIT;
    const char *x, *y;
    char base[121];

    assert_int_equal(memory_payload_derive(a, "user-42", &x, &err), 0);
    assert_derived(x, "user-42");
    assert_int_equal(memory_payload_derive(a, "user-42", &y, &err), 0);
    assert_string_not_equal(x, y);
    assert_int_equal(memory_payload_derive(a, "", &x, &err), 0);
    assert_derived(x, "imported-subject");
    assert_int_equal(memory_payload_derive(a, NULL, &x, &err), 0);
    assert_derived(x, "imported-subject");
    assert_int_equal(memory_payload_derive(a, "demo_web_abc__support-agent", &x, &err), 0);
    assert_derived(x, "imported-abc__support-agent");
    /* 120 + 9 = 129 characters: over the rule's limit. */
    memset(base, 'b', 120);
    base[120] = '\0';
    assert_int_equal(memory_payload_derive(a, base, &x, &err), -1);
    assert_int_equal(err.kind, ERR_INVALID);
    assert_string_equal(err.msg, "'subject_id'" RULE_MSG);
    assert_int_equal(memory_payload_derive(a, "has spaces", &x, &err), -1);
    assert_string_equal(err.msg, "'subject_id'" RULE_MSG);
    /* Engram: a reserved subject id is never a target, not even derived. */
    assert_int_equal(memory_payload_derive(a, "_snapshot/demo/v1", &x, &err), -1);
    assert_int_equal(err.kind, ERR_INVALID);
    assert_string_equal(err.msg, "Subject id '_snapshot/demo/v1' uses a reserved prefix "
                        "(_snapshot/)");
    assert_int_equal(memory_payload_derive(a, "_bootstrap_tmp/x", &x, &err), -1);
    assert_string_equal(err.msg, "Subject id '_bootstrap_tmp/x' uses a reserved prefix "
                        "(_bootstrap_tmp/)");
}

/* ---- resolve() on a scratch SQLite database ---- */

static int open_db(void **state)
{
    struct migrate_result res;
    struct err err = ERR_INIT;
    int fd;

    snprintf(g.path, sizeof(g.path), "/tmp/engram-payload-test-XXXXXX.db");
    fd = mkstemps(g.path, 3);
    if (fd < 0)
        return -1;
    close(fd);
    if (store_open(&store_sqlite_ops, g.path, &g.st, &err) < 0 ||
        store_migrate(g.st, &res, &err) < 0) {
        fprintf(stderr, "cannot open %s: %s\n", g.path, err.msg);
        return -1;
    }
    (void)state;
    return 0;
}

static int close_db(void **state)
{
    char p[80];

    store_close(g.st);
    unlink(g.path);
    snprintf(p, sizeof(p), "%s-wal", g.path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", g.path);
    unlink(p);
    (void)state;
    return 0;
}

static const char *uniq(struct arena *a, const char *prefix)
{
    char hex[13];

    random_hex(hex, 12);
    return arena_printf(a, "%s-%s", prefix, hex);
}

static void add_episode(struct arena *a, const char *tenant, const char *subject)
{
    struct episode ep = {
        .subject_id = subject, .tenant_id = tenant, .source = "chat", .type = "message",
        .payload = "{}", .metadata = "{}", .provenance = "{}", .created_at = NOW,
        .last_compiled_at = TS_NULL, .occurred_at = TS_NULL,
    };
    struct err err = ERR_INIT;
    int inserted;

    uuid_v4(ep.id);
    assert_int_equal(store_episode_insert(g.st, a, &ep, &inserted, &err), 0);
}

static void add_memory(const char *tenant, const char *subject)
{
    struct memory m = {
        .subject_id = subject, .tenant_id = tenant, .kind = "profile_fact", .content = "c",
        .summary = "c", .confidence = 0.5, .valid_from = NOW, .valid_to = TS_NULL,
        .source_episode_ids = "[]", .metadata = "{}", .status = "active",
        .sensitivity_labels = "[]", .created_at = NOW, .updated_at = NOW,
    };
    struct err err = ERR_INIT;

    uuid_v4(m.id);
    assert_int_equal(store_memory_insert(g.st, &m, &err), 0);
}

static void test_memory_payload_resolve(void **state)
{
    struct arena *a = *state;
    struct err err = ERR_INIT;
    const char *free_id = uniq(a, "free"), *full = uniq(a, "full"), *mem_only = uniq(a, "mem");
    const char *out;

    add_episode(a, "tenant-a", full);    /* populated counts every tenant */
    add_episode(a, NULL, full);
    add_memory("tenant-b", full);
    add_memory("tenant-c", mem_only);

    /* explicit target */
    assert_int_equal(memory_payload_resolve(a, g.st, free_id, "x", PAYLOAD_CANCEL, &out, &err),
                     0);
    assert_string_equal(out, free_id);
    assert_int_equal(memory_payload_resolve(a, g.st, full, "x", PAYLOAD_MERGE, &out, &err), 0);
    assert_string_equal(out, full);
    assert_int_equal(memory_payload_resolve(a, g.st, full, "x", PAYLOAD_CREATE_COPY, &out,
                                            &err), 0);
    assert_derived(out, full);
    assert_int_equal(memory_payload_resolve(a, g.st, full, "x", PAYLOAD_CANCEL, &out, &err), -1);
    assert_int_equal(err.kind, ERR_CONFLICT);
    assert_string_equal(err.msg, arena_printf(a, "Subject '%s' already has data (2 episodes, 1 "
                        "memories). Pick a different target id, choose 'merge', or delete the "
                        "existing subject first.", full));
    assert_int_equal(memory_payload_resolve(a, g.st, mem_only, "x", PAYLOAD_CANCEL, &out, &err),
                     -1);
    assert_int_equal(err.kind, ERR_CONFLICT);

    /* no explicit target: the suggestion when free, else derived */
    assert_int_equal(memory_payload_resolve(a, g.st, NULL, free_id, PAYLOAD_CANCEL, &out, &err),
                     0);
    assert_string_equal(out, free_id);
    assert_int_equal(memory_payload_resolve(a, g.st, "", full, PAYLOAD_CANCEL, &out, &err), 0);
    assert_derived(out, full);
    assert_int_equal(memory_payload_resolve(a, g.st, NULL, mem_only, PAYLOAD_MERGE, &out, &err),
                     0);
    assert_derived(out, mem_only);
    assert_int_equal(memory_payload_resolve(a, g.st, NULL, "demo_web_v1", PAYLOAD_MERGE, &out,
                                            &err), 0);
    assert_derived(out, "imported-v1");
}

/* ---- the size check ---- */

static void test_memory_payload_size(void **state)
{
    static const struct {
        const char *in;
        size_t want;   /* len(json.dumps(json.loads(in))), Python 3.11 */
    } cases[] = {
        { "{\"a\": \"\xc3\xa9\xe2\x98\x95\xf0\x9f\x98\x80\", \"n\": 1E2, \"b\": [true, null, "
          "false], \"s\": \"\\\"\\\\\\n\\u0001\\u007f/\", \"big\": "
          "123456789012345678901234567890, \"f\": 0.1, \"e\": 1e-7, \"o\": {}, \"l\": []}", 178 },
        { "{\"format\":\"statewave-memory-payload\",\"format_version\":1,\"subjects\":[{\"original"
          "_subject_id\":\"s\",\"metadata\":{\"blob\":\"xxxx\"}}],\"episodes\":[],\"memories\":[]}",
          165 },
        { "[]", 2 },
        { "{\"k\\u00e9y\": -0, \"x\": -0.0, \"y\": 1.5e300}", 41 },
    };
    struct arena *a = *state;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct jv *v = parse(a, cases[i].in);
        struct buf canon = BUF_INIT;

        assert_int_equal(memory_payload_size(v, SIZE_MAX - 1), cases[i].want);
        /* The same length as the (sorted) canonical form. */
        assert_int_equal(jv_write_canonical(&canon, v), 0);
        assert_int_equal(canon.len, cases[i].want);
        buf_release(&canon);
        /* At the limit it fits; one byte less and counting stops early. */
        assert_int_equal(memory_payload_size(v, cases[i].want), cases[i].want);
        assert_int_equal(memory_payload_size(v, cases[i].want - 1), cases[i].want);
    }
    assert_int_equal(memory_payload_size(parse(a, "[\"xxxxxxxxxxxxxxxxxxxx\", 1, 2, 3]"), 5), 6);
}

static void test_memory_payload_size_limit_413(void **state)
{
    struct arena *a = *state;
    struct payload_limits lim = LIMITS;
    struct payload_plan plan;
    struct err err = ERR_INIT;
    const char *text = payload(a, "\"subjects\":[{\"original_subject_id\":\"s\"}]");

    lim.max_bytes = 103;   /* json.dumps of that payload is 103 bytes */
    assert_int_equal(memory_payload_plan(a, parse(a, text), &lim, NOW, &plan, &err), 0);
    lim.max_bytes = 102;
    assert_int_equal(memory_payload_plan(a, parse(a, text), &lim, NOW, &plan, &err), -1);
    assert_int_equal(err.kind, ERR_TOO_LARGE);
    assert_string_equal(err.msg, "Payload exceeds size limit (102 bytes).");
}

/* ---- validation: header (§6.5 steps 1-5) ---- */

static void test_memory_payload_format_and_version(void **state)
{
    struct arena *a = *state;

    plan_fails(a, "{\"format\":\"wrong\",\"format_version\":1}", ERR_INVALID,
               "Unexpected payload format 'wrong'; expected 'statewave-memory-payload'.");
    plan_fails(a, "{\"format_version\":1}", ERR_INVALID,
               "Unexpected payload format None; expected 'statewave-memory-payload'.");
    plan_fails(a, "{\"format\":5}", ERR_INVALID,
               "Unexpected payload format 5; expected 'statewave-memory-payload'.");
    plan_fails(a, "{\"format\":\"it's\"}", ERR_INVALID,
               "Unexpected payload format \"it's\"; expected 'statewave-memory-payload'.");
    /* repr() escapes what str.isprintable() refuses, not only control characters */
    plan_fails(a, "{\"format\":\"\\u00ad\\u2028\\ue000\"}", ERR_INVALID,
               "Unexpected payload format '\\xad\\u2028\\ue000'; expected "
               "'statewave-memory-payload'.");
    plan_fails(a, "[]", ERR_INVALID, "Payload must be a JSON object.");
    plan_fails(a, "{\"format\":\"statewave-memory-payload\"}", ERR_INVALID,
               "Unsupported format_version None; expected 1.");
    plan_fails(a, "{\"format\":\"statewave-memory-payload\",\"format_version\":null}", ERR_INVALID,
               "Unsupported format_version None; expected 1.");
    plan_fails(a, "{\"format\":\"statewave-memory-payload\",\"format_version\":2}", ERR_INVALID,
               "Unsupported format_version 2; expected 1.");
    plan_fails(a, "{\"format\":\"statewave-memory-payload\",\"format_version\":\"2\"}", ERR_INVALID,
               "Unsupported format_version 2; expected 1.");
    plan_fails(a, "{\"format\":\"statewave-memory-payload\",\"format_version\":\"abc\"}",
               ERR_INVALID, "Unsupported format_version abc; expected 1.");
    plan_fails(a, "{\"format\":\"statewave-memory-payload\",\"format_version\":\"1.0\"}",
               ERR_INVALID, "Unsupported format_version 1.0; expected 1.");
    plan_fails(a, "{\"format\":\"statewave-memory-payload\",\"format_version\":2.50}", ERR_INVALID,
               "Unsupported format_version 2.5; expected 1.");
    plan_fails(a, "{\"format\":\"statewave-memory-payload\",\"format_version\":false}",
               ERR_INVALID, "Unsupported format_version False; expected 1.");
    plan_fails(a, "{\"format\":\"statewave-memory-payload\",\"format_version\":[1]}", ERR_INVALID,
               "Unsupported format_version [1]; expected 1.");
}

static void test_memory_payload_version_accepts_int_conversions(void **state)
{
    static const char *const ok[] = { "1", "1.0", "1.9", "true", "\"1\"", "\" 1 \"", "\"+1\"",
                                      "\"01\"", "\"0_1\"", "1E0",
                                      "\"0001\"", "\"+0_1\"", "\"\\t1\\n\"" };
    struct arena *a = *state;
    struct payload_plan plan;
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        plan_ok(a, arena_printf(a, "{\"format\":\"statewave-memory-payload\","
                                "\"format_version\":%s}", ok[i]), &plan);
    plan_fails(a, "{\"format\":\"statewave-memory-payload\",\"format_version\":\"1_\"}",
               ERR_INVALID, "Unsupported format_version 1_; expected 1.");
    plan_fails(a, "{\"format\":\"statewave-memory-payload\",\"format_version\":\"-1\"}",
               ERR_INVALID, "Unsupported format_version -1; expected 1.");
    plan_fails(a, "{\"format\":\"statewave-memory-payload\",\"format_version\":\"10\"}",
               ERR_INVALID, "Unsupported format_version 10; expected 1.");
    plan_fails(a, "{\"format\":\"statewave-memory-payload\",\"format_version\":\"1__0\"}",
               ERR_INVALID, "Unsupported format_version 1__0; expected 1.");
    plan_fails(a, "{\"format\":\"statewave-memory-payload\",\"format_version\":\"11\"}",
               ERR_INVALID, "Unsupported format_version 11; expected 1.");
    plan_fails(a, "{\"format\":\"statewave-memory-payload\",\"format_version\":\"\"}",
               ERR_INVALID, "Unsupported format_version ; expected 1.");
    plan_fails(a, "{\"format\":\"statewave-memory-payload\",\"format_version\":0.5}",
               ERR_INVALID, "Unsupported format_version 0.5; expected 1.");
}

static void test_memory_payload_unknown_fields_and_subject_cap(void **state)
{
    struct arena *a = *state;
    struct payload_plan plan;

    plan_fails(a, payload(a, "\"zeta\":1,\"subjects\":[],\"evil\":\"drop_table\""), ERR_INVALID,
               "Payload contains unknown fields: ['evil', 'zeta']");
    plan_ok(a, payload(a, "\"export_id\":\"e\",\"exported_at\":\"t\",\"export_scope\":\"x\","
                          "\"subjects\":[],\"episodes\":[],\"memories\":[],\"sources\":[],"
                          "\"metadata\":{}"), &plan);
    plan_fails(a, payload(a, "\"subjects\":[{},{},{},{}]"), ERR_TOO_LARGE,
               "Too many subjects: 4 > limit 3.");
    plan_ok(a, payload(a, "\"subjects\":[{},{},{}]"), &plan);
    assert_int_equal(plan.nsubjects, 0);
}

/* ---- validation: structure (Engram: 400 naming the first bad field) ---- */

static void test_memory_payload_subject_entries(void **state)
{
    struct arena *a = *state;
    struct payload_plan plan;

    plan_fails(a, payload(a, "\"subjects\":[{\"original_subject_id\":\"ok\"},"
                             "{\"original_subject_id\":\"has spaces\"}]"),
               ERR_INVALID, "'subjects[].original_subject_id'" RULE_MSG);
    plan_fails(a, payload(a, "\"subjects\":[{\"original_subject_id\":7}]"), ERR_INVALID,
               "Invalid payload: subjects[0].original_subject_id: expected a string");
    plan_fails(a, payload(a, "\"subjects\":[\"user-1\"]"), ERR_INVALID,
               "Invalid payload: subjects[0]: expected an object");
    plan_ok(a, payload(a, "\"subjects\":[{\"original_subject_id\":\"demo_web_x\"},"
                          "{\"original_subject_id\":null},"
                          "{\"original_subject_id\":\"b\"}]"), &plan);
    assert_int_equal(plan.nsubjects, 2);
    assert_string_equal(plan.subjects[0], "demo_web_x");
    assert_string_equal(plan.subjects[1], "b");
}

static void test_memory_payload_structure_errors(void **state)
{
    static const struct {
        const char *rest;
        const char *msg;
    } cases[] = {
        { "\"episodes\":{\"a\":1}", "Invalid payload: episodes: expected an array" },
        { "\"memories\":\"x\"", "Invalid payload: memories: expected an array" },
        { "\"subjects\":5", "Invalid payload: subjects: expected an array" },
        { "\"episodes\":[{\"subject_id\":\"s\"},null]",
          "Invalid payload: episodes[1]: expected an object" },
        { "\"episodes\":[{\"subject_id\":\"s\",\"source\":1},null]",
          "Invalid payload: episodes[0].source: expected a string" },
        { "\"memories\":[[]],\"episodes\":[{\"subject_id\":\"s\",\"type\":false},4]",
          "Invalid payload: episodes[1]: expected an object" },
        { "\"episodes\":[{\"subject_id\":5}]",
          "Invalid payload: episodes[0].subject_id: expected a string" },
        { "\"episodes\":[{\"subject_id\":\"s\",\"source\":5}]",
          "Invalid payload: episodes[0].source: expected a string" },
        { "\"episodes\":[{\"subject_id\":\"s\",\"type\":{\"a\":1}}]",
          "Invalid payload: episodes[0].type: expected a string" },
        { "\"episodes\":[{\"subject_id\":\"s\",\"payload\":[1]}]",
          "Invalid payload: episodes[0].payload: expected an object" },
        { "\"episodes\":[{\"subject_id\":\"s\",\"metadata\":\"m\"}]",
          "Invalid payload: episodes[0].metadata: expected an object" },
        { "\"episodes\":[{\"subject_id\":\"s\"},{\"subject_id\":\"s\",\"provenance\":true}]",
          "Invalid payload: episodes[1].provenance: expected an object" },
        { "\"episodes\":[{\"subject_id\":\"s\",\"type\":\"" 
          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}]",
          "Invalid payload: episodes[0].type: longer than 128 characters" },
        { "\"memories\":[{\"subject_id\":\"s\",\"kind\":["
          "\"x\"]}]", "Invalid payload: memories[0].kind: expected a string" },
        { "\"memories\":[{\"subject_id\":\"s\",\"kind\":\"kx"
          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}]",
          "Invalid payload: memories[0].kind: longer than 64 characters" },
        { "\"memories\":[{\"subject_id\":\"s\",\"content\":42}]",
          "Invalid payload: memories[0].content: expected a string" },
        { "\"memories\":[{\"subject_id\":\"s\",\"summary\":42}]",
          "Invalid payload: memories[0].summary: expected a string" },
        { "\"memories\":[{\"subject_id\":\"s\",\"confidence\":null}]",
          "Invalid payload: memories[0].confidence: expected a number" },
        { "\"memories\":[{\"subject_id\":\"s\",\"confidence\":\"high\"}]",
          "Invalid payload: memories[0].confidence: expected a number" },
        { "\"memories\":[{\"subject_id\":\"s\",\"confidence\":1e400}]",
          "Invalid payload: memories[0].confidence: expected a finite number" },
        { "\"memories\":[{\"subject_id\":\"s\",\"source_episode_ids\":\"abc\"}]",
          "Invalid payload: memories[0].source_episode_ids: expected an array" },
        { "\"memories\":[{\"subject_id\":\"s\",\"status\":1}]",
          "Invalid payload: memories[0].status: expected a string" },
        { "\"memories\":[{\"subject_id\":\"s\",\"metadata\":[]},{\"subject_id\":\"s\","
          "\"metadata\":[1]}]", "Invalid payload: memories[1].metadata: expected an object" },
        { "\"memories\":[{\"subject_id\":\"s\",\"embedding\":[1,2,3]}]",
          "Invalid payload: memories[0].embedding: expected null or an array of 4 numbers" },
        { "\"memories\":[{\"subject_id\":\"s\",\"embedding\":[1,2,\"3\",4]}]",
          "Invalid payload: memories[0].embedding: expected null or an array of 4 numbers" },
        { "\"memories\":[{\"subject_id\":\"s\",\"embedding\":{}}]",
          "Invalid payload: memories[0].embedding: expected null or an array of 4 numbers" },
    };
    struct arena *a = *state;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        plan_fails(a, payload(a, cases[i].rest), ERR_INVALID, cases[i].msg);
}

/* ---- planning: defaults, stamps, groups, remapping ---- */

static void test_memory_payload_defaults_and_stamps(void **state)
{
    struct arena *a = *state;
    struct payload_plan plan;
    const struct episode *ep;
    const struct memory *m;
    char at[TS_STR_LEN];

    ts_format_offset(NOW, at, sizeof(at));
    plan_ok(a, payload(a, "\"export_id\":\"e1\",\"subjects\":[{\"original_subject_id\":\"s\"}],"
                          "\"episodes\":[{\"subject_id\":\"s\",\"created_at\":\"garbage\"}],"
                          "\"memories\":[{\"subject_id\":\"s\","
                          "\"content\":\"Lives in Z\xc3\xbcrich\",\"summary\":\"\","
                          "\"metadata\":{\"a\":1,\"imported_at\":\"old\"},"
                          "\"valid_to\":\"2026-05-02\","
                          "\"created_at\":\"2026-05-01T12:00:00+02:00\"}]"),
            &plan);
    assert_int_equal(plan.ngroups, 1);
    assert_string_equal(plan.groups[0].original, "s");
    assert_int_equal(plan.groups[0].listed, 1);
    assert_null(plan.groups[0].target);
    assert_int_equal(plan.groups[0].nepisodes, 1);
    ep = &plan.groups[0].episodes[0];
    assert_true(uuid_valid(ep->id));
    assert_string_equal(ep->source, "memory-pack");
    assert_string_equal(ep->type, "imported");
    assert_string_equal(ep->payload, "{}");
    assert_string_equal(ep->metadata, arena_printf(a, "{\"imported_from_export_id\":\"e1\","
                        "\"original_subject_id\":\"s\",\"imported_at\":\"%s\"}", at));
    assert_string_equal(ep->provenance, ep->metadata);
    assert_null(ep->session_id);
    assert_true(ep->created_at == NOW);
    assert_true(ep->last_compiled_at == TS_NULL);

    m = &plan.groups[0].memories[0];
    assert_true(uuid_valid(m->id));
    assert_string_equal(m->kind, "fact");
    assert_string_equal(m->content, "Lives in Z\xc3\xbcrich");
    assert_string_equal(m->summary, m->content);
    assert_true(m->confidence == 0.9);
    assert_string_equal(m->status, "active");
    assert_string_equal(m->source_episode_ids, "[]");
    assert_string_equal(m->sensitivity_labels, "[]");
    assert_null(m->embedding);
    /* An existing stamp key keeps its place and gets the new value. */
    assert_string_equal(m->metadata, arena_printf(a, "{\"a\":1,\"imported_at\":\"%s\","
                        "\"imported_from_export_id\":\"e1\",\"original_subject_id\":\"s\"}", at));
    assert_true(m->valid_from == NOW);
    assert_true(m->valid_to == 1777680000000000LL);    /* 2026-05-02T00:00:00Z */
    assert_true(m->created_at == 1777629600000000LL);  /* 10:00 UTC */
    assert_true(m->updated_at == NOW);
}

static void test_memory_payload_values_kept(void **state)
{
    struct arena *a = *state;
    struct payload_plan plan;
    const struct episode *ep;
    const struct memory *m;

    plan_ok(a, payload(a, "\"export_id\":12345678901234567890123,"
                          "\"episodes\":[{\"subject_id\":\"s\",\"source\":\"chat\","
                          "\"type\":\"msg\","
                          "\"payload\":{\"big\":123456789012345678901234567890,\"f\":1E2,"
                          "\"t\":\"\xe2\x98\x95\"},\"last_compiled_at\":\"2026-05-01T10:00:00Z\"}],"
                          "\"memories\":[{\"subject_id\":\"s\",\"kind\":\"profile_fact\","
                          "\"content\":\"c\",\"summary\":\"sum\",\"confidence\":\"0.25\","
                          "\"status\":\"superseded\",\"embedding\":[0.5,-1,2,1e-3]}]"), &plan);
    ep = &plan.groups[0].episodes[0];
    assert_string_equal(ep->source, "chat");
    assert_string_equal(ep->type, "msg");
    assert_string_equal(ep->payload, "{\"big\":123456789012345678901234567890,\"f\":100.0,"
                        "\"t\":\"\xe2\x98\x95\"}");
    assert_non_null(strstr(ep->metadata, "\"imported_from_export_id\":12345678901234567890123,"));
    assert_true(ep->last_compiled_at == 1777629600000000LL);
    m = &plan.groups[0].memories[0];
    assert_string_equal(m->summary, "sum");
    assert_true(m->confidence == 0.25);
    assert_string_equal(m->status, "superseded");
    assert_int_equal(m->embedding_dim, 4);
    assert_true(m->embedding[0] == 0.5f && m->embedding[1] == -1.0f &&
                m->embedding[3] == 0.001f);
    /* No export_id: the stamp is null. */
    plan_ok(a, payload(a, "\"episodes\":[{\"subject_id\":\"s\"}]"), &plan);
    assert_non_null(strstr(plan.groups[0].episodes[0].metadata,
                           "\"imported_from_export_id\":null,"));
}

static void test_memory_payload_groups(void **state)
{
    struct arena *a = *state;
    struct payload_plan plan;

    plan_ok(a, payload(a, "\"subjects\":[{\"original_subject_id\":\"b\"}],"
                          "\"episodes\":[{\"subject_id\":\"a\",\"type\":\"1\"},{\"type\":\"skip\"},"
                          "{\"subject_id\":\"\",\"source\":5},"
                          "{\"subject_id\":\"b\",\"type\":\"2\"},"
                          "{\"subject_id\":\"a\",\"type\":\"3\"}],"
                          "\"memories\":[{\"subject_id\":\"c\"},{\"subject_id\":null},"
                          "{\"subject_id\":\"b\"}]"), &plan);
    assert_int_equal(plan.ngroups, 3);
    assert_string_equal(plan.groups[0].original, "a");
    assert_int_equal(plan.groups[0].listed, 0);
    assert_int_equal(plan.groups[0].nepisodes, 2);
    assert_string_equal(plan.groups[0].episodes[0].type, "1");
    assert_string_equal(plan.groups[0].episodes[1].type, "3");
    assert_int_equal(plan.groups[0].nmemories, 0);
    assert_string_equal(plan.groups[1].original, "b");
    assert_int_equal(plan.groups[1].listed, 1);
    assert_int_equal(plan.groups[1].nepisodes, 1);
    assert_int_equal(plan.groups[1].nmemories, 1);
    assert_string_equal(plan.groups[2].original, "c");
    assert_int_equal(plan.groups[2].nepisodes, 0);
    assert_int_equal(plan.groups[2].nmemories, 1);
    assert_non_null(strstr(plan.groups[2].memories[0].metadata, "\"original_subject_id\":\"c\""));
}

static void test_memory_payload_remap_sources(void **state)
{
    struct arena *a = *state;
    struct payload_plan plan;
    const struct payload_group *ga, *gb;
    char want[256];

    plan_ok(a, payload(a, "\"episodes\":["
                          "{\"subject_id\":\"a\",\"id\":\"old-1\"},"
                          "{\"subject_id\":\"a\",\"original_episode_id\":\"0B6F5C1E-3D1A-4C8E-9A57-"
                          "2F1E6D0C4B3A\"},"
                          "{\"subject_id\":\"a\",\"id\":7},"
                          "{\"subject_id\":\"b\",\"id\":\"old-b\"}],"
                          "\"memories\":["
                          "{\"subject_id\":\"a\",\"source_episode_ids\":[\"old-1\",\"0B6F5C1E-3D1A-"
                          "4C8E-9A57-2F1E6D0C4B3A\",7,\"junk\",null,"
                          "\"{5d2c7a90-8e41-4b6f-a3d2-9c0e1f7b8a64}\",\"old-b\"]},"
                          "{\"subject_id\":\"b\",\"source_episode_ids\":[\"old-1\",\"old-b\","
                          "\"urn:uuid:5D2C7A908E414B6FA3D29C0E1F7B8A64\"]}]"), &plan);
    ga = &plan.groups[0];
    gb = &plan.groups[1];
    /* Within group a: old ids map to the new ids, a UUID that names no episode of the group is
     * kept (normalised), junk and other groups' ids are dropped. */
    snprintf(want, sizeof(want), "[\"%s\",\"%s\",\"%s\",\"5d2c7a90-8e41-4b6f-a3d2-9c0e1f7b8a64\"]",
             ga->episodes[0].id, ga->episodes[1].id, ga->episodes[2].id);
    assert_string_equal(ga->memories[0].source_episode_ids, want);
    snprintf(want, sizeof(want), "[\"%s\",\"5d2c7a90-8e41-4b6f-a3d2-9c0e1f7b8a64\"]",
             gb->episodes[0].id);
    assert_string_equal(gb->memories[0].source_episode_ids, want);
}

static void test_memory_payload_names(void **state)
{
    enum payload_scope scope;
    enum payload_strategy strategy;

    (void)state;
    assert_int_equal(memory_payload_scope_parse("episodes_memories_sources", &scope), 0);
    assert_int_equal(scope, PAYLOAD_SCOPE_ALL);
    assert_int_equal(memory_payload_scope_parse("memories", &scope), 0);
    assert_int_equal(scope, PAYLOAD_SCOPE_MEMORIES);
    assert_int_equal(memory_payload_scope_parse("all", &scope), -1);
    assert_string_equal(memory_payload_scope_name(PAYLOAD_SCOPE_EPISODES_AND_MEMORIES),
                        "episodes_and_memories");
    assert_int_equal(memory_payload_strategy_parse("merge", &strategy), 0);
    assert_int_equal(strategy, PAYLOAD_MERGE);
    assert_int_equal(memory_payload_strategy_parse("Merge", &strategy), -1);
    assert_string_equal(memory_payload_strategy_name(PAYLOAD_CANCEL), "cancel");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_memory_payload_id_rule),
        T(test_memory_payload_derive),
        T(test_memory_payload_resolve),
        T(test_memory_payload_size),
        T(test_memory_payload_size_limit_413),
        T(test_memory_payload_format_and_version),
        T(test_memory_payload_version_accepts_int_conversions),
        T(test_memory_payload_unknown_fields_and_subject_cap),
        T(test_memory_payload_subject_entries),
        T(test_memory_payload_structure_errors),
        T(test_memory_payload_defaults_and_stamps),
        T(test_memory_payload_values_kept),
        T(test_memory_payload_groups),
        T(test_memory_payload_remap_sources),
        T(test_memory_payload_names),
    };

    return cmocka_run_group_tests(tests, open_db, close_db);
}
