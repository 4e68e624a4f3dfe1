/* test_backup.c - unit tests for service/backup: the export records and the checksum against
 * the worked example of spec/backup-snapshots.md §2.3, the streaming export against a real
 * store, every validation step of the import (§3.2) with its exact message, the id conflict
 * check, preserve_ids=false remapping, and locating an "invalid unicode" parse error.
 * The store is ENGRAM_TEST_DATABASE_URL when set, else a fresh SQLite file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/backup.h"
#include "util/config.h"
#include "util/ts.h"
#include "util/uuid.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static struct config tcfg;

static struct {
    store *st;
    char *conninfo;
    char tmp_path[64];   /* SQLite temp file we created, "" otherwise */
} g;

/* ---- the worked example (§2.3) ---- */

#define EX_EP_ID "0b6f5c1e-3d1a-4c8e-9a57-2f1e6d0c4b3a"
#define EX_MEM_ID "5d2c7a90-8e41-4b6f-a3d2-9c0e1f7b8a64"

static const char ex_episode_compact[] =
    "{\"id\":\"" EX_EP_ID "\",\"subject_id\":\"user-42\",\"tenant_id\":null,\"source\":\"chat\","
    "\"type\":\"message\",\"payload\":{\"text\":\"Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x98\x80\","
    "\"n\":3,\"z\":[1.0,0.1,1e-05]},\"metadata\":{},\"provenance\":{\"b\":true,\"a\":null},"
    "\"created_at\":\"2026-05-01T10:00:00.123456+00:00\",\"last_compiled_at\":null}";

static const char ex_memory_compact[] =
    "{\"id\":\"" EX_MEM_ID "\",\"subject_id\":\"user-42\",\"tenant_id\":null,"
    "\"kind\":\"profile_fact\",\"content\":\"Lives in Z\xc3\xbcrich\",\"summary\":\"Lives in "
    "Z\xc3\xbcrich\",\"confidence\":0.6,\"valid_from\":\"2026-05-01T10:00:00.123456+00:00\","
    "\"valid_to\":null,\"source_episode_ids\":[\"" EX_EP_ID "\"],\"metadata\":{},"
    "\"status\":\"active\",\"embedding\":[0.10000000149011612,-2.5,5.960464477539063e-08],"
    "\"created_at\":\"2026-05-01T10:00:01+00:00\",\"updated_at\":\"2026-05-01T10:00:01+00:00\"}";

static const char ex_checksum[] =
    "dde2c5d376aec30f0c0e488d1b3ee1893abde3ebc768cc538f4cd0a69dc1f6d0";

static int64_t ts(const char *s)
{
    int64_t us = 0;

    assert_int_equal(ts_parse(s, &us), 0);
    return us;
}

static struct episode example_episode(void)
{
    struct episode ep = {
        .id = EX_EP_ID,
        .subject_id = "user-42",
        .source = "chat",
        .type = "message",
        .payload = "{\"text\":\"Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x98\x80\",\"n\":3,"
                   "\"z\":[1.0,0.1,1e-05]}",
        .metadata = "{}",
        .provenance = "{\"b\":true,\"a\":null}",
        .created_at = ts("2026-05-01T10:00:00.123456+00:00"),
        .last_compiled_at = TS_NULL,
        .occurred_at = TS_NULL,
    };

    return ep;
}

static const float ex_embedding[] = { 0.1f, -2.5f, 5.960464477539063e-08f };

static struct memory example_memory(void)
{
    struct memory m = {
        .id = EX_MEM_ID,
        .subject_id = "user-42",
        .kind = "profile_fact",
        .content = "Lives in Z\xc3\xbcrich",
        .summary = "Lives in Z\xc3\xbcrich",
        .confidence = 0.6,
        .valid_from = ts("2026-05-01T10:00:00.123456+00:00"),
        .valid_to = TS_NULL,
        .source_episode_ids = "[\"" EX_EP_ID "\"]",
        .metadata = "{}",
        .status = "active",
        .embedding = ex_embedding,
        .embedding_dim = 3,
        .sensitivity_labels = "[]",
        .created_at = ts("2026-05-01T10:00:01+00:00"),
        .updated_at = ts("2026-05-01T10:00:01+00:00"),
    };

    return m;
}

static void test_backup_worked_example(void **state)
{
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    struct episode ep = example_episode();
    struct memory m = example_memory();
    struct backup_checksum c;
    struct buf b = BUF_INIT;
    char hex[BACKUP_CHECKSUM_HEX];
    struct jv *er, *mr;

    (void)state;
    er = backup_episode_record(a, &ep, &err);
    mr = backup_memory_record(a, &m, &err);
    assert_non_null(er);
    assert_non_null(mr);
    jv_write_compact(&b, er);
    assert_string_equal(b.data, ex_episode_compact);
    buf_reset(&b);
    jv_write_compact(&b, mr);
    assert_string_equal(b.data, ex_memory_compact);

    backup_checksum_init(&c);
    assert_int_equal(backup_checksum_add(&c, er), 0);
    backup_checksum_next_list(&c);
    assert_int_equal(backup_checksum_add(&c, mr), 0);
    backup_checksum_final(&c, hex);
    backup_checksum_release(&c);
    assert_string_equal(hex, ex_checksum);
    buf_release(&b);
    arena_free(a);
}

/* The importer's checksum over parsed lists gives the same digest; missing lists hash as []. */
static void test_backup_checksum_of(void **state)
{
    struct arena *a = arena_new();
    struct buf text = BUF_INIT;
    char hex[BACKUP_CHECKSUM_HEX];
    struct jv *eps, *mems;

    (void)state;
    buf_printf(&text, "[%s]", ex_episode_compact);
    eps = jv_parse(a, text.data, text.len, NULL, NULL);
    buf_reset(&text);
    buf_printf(&text, "[%s]", ex_memory_compact);
    mems = jv_parse(a, text.data, text.len, NULL, NULL);
    assert_int_equal(backup_checksum_of(eps, mems, hex), 0);
    assert_string_equal(hex, ex_checksum);
    assert_int_equal(backup_checksum_of(NULL, NULL, hex), 0);
    assert_string_equal(hex, "743a461383d986fa6fd7653ca7d0f5f5fb50bfd4b5aaa418e37f7d70a30796e5");
    assert_int_equal(backup_checksum_of(jv_array(a), NULL, hex), 0);
    assert_string_equal(hex, "743a461383d986fa6fd7653ca7d0f5f5fb50bfd4b5aaa418e37f7d70a30796e5");
    /* A list that is not an array is hashed as it stands: null differs from []. */
    assert_int_equal(backup_checksum_of(jv_null(), NULL, hex), 0);
    assert_string_not_equal(hex,
                            "743a461383d986fa6fd7653ca7d0f5f5fb50bfd4b5aaa418e37f7d70a30796e5");
    buf_release(&text);
    arena_free(a);
}

/* ENG-only keys appear only when set; confidence 1 is written 1.0. */
static void test_backup_eng_keys(void **state)
{
    struct arena *a = arena_new();
    struct err err = ERR_INIT;
    struct episode ep = example_episode();
    struct memory m = example_memory();
    struct buf b = BUF_INIT;

    (void)state;
    ep.session_id = "sess-1";
    ep.tenant_id = "acme";
    m.sensitivity_labels = "[\"pii\"]";
    m.confidence = 1.0;
    m.embedding = NULL;
    jv_write_compact(&b, backup_episode_record(a, &ep, &err));
    assert_non_null(strstr(b.data, "\"tenant_id\":\"acme\",\"session_id\":\"sess-1\",\"source\""));
    buf_reset(&b);
    jv_write_compact(&b, backup_memory_record(a, &m, &err));
    assert_non_null(strstr(b.data, "\"confidence\":1.0,"));
    assert_non_null(strstr(b.data, "\"status\":\"active\",\"sensitivity_labels\":[\"pii\"],"
                                   "\"embedding\":null,"));
    buf_release(&b);
    arena_free(a);
}

/* ---- the store ---- */

static int group_setup(void **state)
{
    const char *url = getenv("ENGRAM_TEST_DATABASE_URL");
    const struct store_ops *ops;
    struct migrate_result mr;
    struct err err = ERR_INIT;
    char default_url[96];
    int fd;

    (void)state;
    memset(&tcfg, 0, sizeof(tcfg));
    tcfg.embedding_dimensions = 3;
    tcfg.import_max_bytes = 1000;
    cfg = &tcfg;
    if (!url || !*url) {
        snprintf(g.tmp_path, sizeof(g.tmp_path), "/tmp/engram-backup-test-XXXXXX.db");
        fd = mkstemps(g.tmp_path, 3);
        if (fd < 0)
            return -1;
        close(fd);
        snprintf(default_url, sizeof(default_url), "sqlite://%s", g.tmp_path);
        url = default_url;
    }
    ops = store_backend_for(url, &g.conninfo, &err);
    if (!ops || store_open(ops, g.conninfo, &g.st, &err) < 0 ||
        store_migrate(g.st, &mr, &err) < 0) {
        fprintf(stderr, "cannot open test database: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    static const char *const suffixes[] = { "", "-wal", "-shm" };
    char name[96];
    size_t i;

    (void)state;
    store_close(g.st);
    free(g.conninfo);
    for (i = 0; g.tmp_path[0] && i < ARRAY_LEN(suffixes); i++) {
        snprintf(name, sizeof(name), "%s%s", g.tmp_path, suffixes[i]);
        unlink(name);
    }
    return 0;
}

static const char *uniq(struct arena *a, const char *prefix)
{
    char hex[13];

    random_hex(hex, 12);
    return arena_printf(a, "%s-%s", prefix, hex);
}

/* ---- export through the store ---- */

static void insert_episodes(struct arena *a, const char *tenant, const char *subject, int n,
                            int64_t at)
{
    struct err err = ERR_INIT;
    int i, inserted;

    for (i = 0; i < n; i++) {
        struct episode ep = example_episode();

        uuid_v4(ep.id);
        ep.subject_id = subject;
        ep.tenant_id = tenant;
        ep.created_at = at;   /* one created_at: the order is decided by the id */
        assert_int_equal(store_episode_insert(g.st, a, &ep, &inserted, &err), 0);
    }
}

/* Run a whole export into out; returns backup_export_begin's result. */
static int export_all(const char *subject, const char *tenant, struct buf *out,
                      struct err *err)
{
    struct backup_export_opts o = { subject, tenant, tenant };
    struct backup_export *x;
    int rc;

    if (backup_export_begin(g.st, &o, &x, err) < 0)
        return -1;
    do {
        rc = backup_export_next(x, out, err);
    } while (rc == 1);
    backup_export_free(x);
    return rc;
}

static void test_backup_export_document(void **state)
{
    struct arena *a = arena_new();
    const char *subject = uniq(a, "exp"), *tenant = uniq(a, "t");
    struct err err = ERR_INIT;
    struct buf out = BUF_INIT;
    char hex[BACKUP_CHECKSUM_HEX];
    struct jv *doc, *eps;
    size_t i;

    (void)state;
    insert_episodes(a, NULL, subject, BACKUP_PAGE_ROWS + 7, ts("2026-05-01T10:00:00Z"));
    insert_episodes(a, tenant, subject, 3, ts("2026-05-01T09:00:00Z"));
    assert_int_equal(export_all(subject, NULL, &out, &err), 0);
    doc = jv_parse(a, out.data, out.len, NULL, NULL);
    assert_non_null(doc);
    assert_string_equal(jv_object_key(doc, 0, NULL), "format_version");
    assert_string_equal(jv_object_key(doc, 7, NULL), "checksum");
    eps = jv_object_get(doc, "episodes");
    assert_int_equal(jv_array_size(eps), BACKUP_PAGE_ROWS + 10);
    assert_int_equal(jv_type(jv_object_get(doc, "tenant_id")), JV_NULL);
    /* (created_at, id) order across pages: ids ascend within the one shared created_at. */
    for (i = 4; i < jv_array_size(eps); i++)
        assert_true(strcmp(jv_string(jv_object_get(jv_array_get(eps, i - 1), "id"), NULL),
                           jv_string(jv_object_get(jv_array_get(eps, i), "id"), NULL)) < 0);
    assert_int_equal(backup_checksum_of(eps, jv_object_get(doc, "memories"), hex), 0);
    assert_string_equal(jv_string(jv_object_get(doc, "checksum"), NULL), hex);

    buf_reset(&out);
    assert_int_equal(export_all(subject, tenant, &out, &err), 0);
    doc = jv_parse(a, out.data, out.len, NULL, NULL);
    assert_int_equal(jv_array_size(jv_object_get(doc, "episodes")), 3);
    assert_string_equal(jv_string(jv_object_get(doc, "tenant_id"), NULL), tenant);
    buf_release(&out);
    arena_free(a);
}

static void test_backup_export_not_found(void **state)
{
    struct err err = ERR_INIT;
    struct buf out = BUF_INIT;

    (void)state;
    assert_int_equal(export_all("nobody-here-at-all", NULL, &out, &err), -1);
    assert_int_equal(err.kind, ERR_NOT_FOUND);
    assert_string_equal(err.msg, "No data found for subject 'nobody-here-at-all'");
    assert_int_equal(out.len, 0);
    err_release(&err);
    assert_int_equal(export_all("_snapshot/x/v1", NULL, &out, &err), -1);
    assert_string_equal(err.msg, "No data found for subject '_snapshot/x/v1'");
    /* The read transaction was closed: the connection takes a write transaction. */
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    store_tx_rollback(g.st);
    err_release(&err);
    buf_release(&out);
}

/* ---- import validation (§3.2), one broken document per row ---- */

#define E1 "0b6f5c1e-3d1a-4c8e-9a57-2f1e6d0c4b3a"
#define M1 "5d2c7a90-8e41-4b6f-a3d2-9c0e1f7b8a64"

#define GOOD_EPISODE                                                                           \
    "{\"id\":\"" E1 "\",\"subject_id\":\"user-42\",\"tenant_id\":null,\"source\":\"chat\","   \
    "\"type\":\"message\",\"payload\":{\"text\":\"hi\"},\"metadata\":{},\"provenance\":{},"   \
    "\"created_at\":\"2026-05-01T10:00:00.123456+00:00\",\"last_compiled_at\":null}"

#define GOOD_MEMORY                                                                            \
    "{\"id\":\"" M1 "\",\"subject_id\":\"user-42\",\"tenant_id\":null,"                        \
    "\"kind\":\"profile_fact\",\"content\":\"c\",\"summary\":\"s\",\"confidence\":0.6,"        \
    "\"valid_from\":\"2026-05-01T10:00:00+00:00\",\"valid_to\":null,"                         \
    "\"source_episode_ids\":[\"" E1 "\"],\"metadata\":{},\"status\":\"active\","              \
    "\"embedding\":[0.1,-2.5,3],\"created_at\":\"2026-05-01T10:00:01+00:00\","                \
    "\"updated_at\":\"2026-05-01T10:00:01+00:00\"}"

static const char good_doc[] =
    "{\"format_version\":\"1.0\",\"exported_at\":\"2026-05-01T10:00:00+00:00\","
    "\"subject_id\":\"user-42\",\"tenant_id\":null,\"counts\":{\"episodes\":1,\"memories\":1},"
    "\"episodes\":[" GOOD_EPISODE "],\"memories\":[" GOOD_MEMORY "],\"checksum\":\"FIX\"}";

struct broken {
    const char *find;     /* replaced once in good_doc (NULL: nothing) */
    const char *repl;
    int keep_checksum;    /* 1: leave "FIX" (or the replacement) as the checksum */
    const char *target;   /* opts.target_subject */
    const char *want;     /* exact message */
};

#define DASH "\xe2\x80\x94"

static const struct broken broken_docs[] = {
    /* step 1 */
    { "\"format_version\":\"1.0\"", "\"format_version\":\"1\"", 0, NULL,
      "Unsupported format version: 1 (expected 1.0)" },
    { "\"format_version\":\"1.0\"", "\"format_version\":1.0", 0, NULL,
      "Unsupported format version: 1.0 (expected 1.0)" },
    { "\"format_version\":\"1.0\"", "\"format_version\":99.0", 0, NULL,
      "Unsupported format version: 99.0 (expected 1.0)" },
    { "\"format_version\":\"1.0\"", "\"format_version\":\"1.00\"", 0, NULL,
      "Unsupported format version: 1.00 (expected 1.0)" },
    { "\"format_version\":\"1.0\",", "", 0, NULL,
      "Unsupported format version: None (expected 1.0)" },
    { "\"format_version\":\"1.0\"", "\"format_version\":null", 0, NULL,
      "Unsupported format version: None (expected 1.0)" },
    { "\"format_version\":\"1.0\"", "\"format_version\":true", 0, NULL,
      "Unsupported format version: True (expected 1.0)" },
    { "\"format_version\":\"1.0\"", "\"format_version\":[1,\"a\"]", 0, NULL,
      "Unsupported format version: [1, 'a'] (expected 1.0)" },
    /* step 2 */
    { NULL, NULL, 1, NULL,
      "Checksum mismatch " DASH " export file may be corrupted or tampered with" },
    { ",\"checksum\":\"FIX\"", "", 1, NULL,
      "Checksum mismatch " DASH " export file may be corrupted or tampered with" },
    { "\"text\":\"hi\"", "\"text\":\"hi!\"", 2, NULL,
      "Checksum mismatch " DASH " export file may be corrupted or tampered with" },
    /* step 3 */
    { "\"subject_id\":\"user-42\",\"tenant_id\":null,\"counts\"",
      "\"subject_id\":\"\",\"tenant_id\":null,\"counts\"", 0, NULL,
      "No subject_id specified and none found in export document" },
    { "\"subject_id\":\"user-42\",\"tenant_id\":null,\"counts\"",
      "\"subject_id\":null,\"tenant_id\":null,\"counts\"", 0, "",
      "No subject_id specified and none found in export document" },
    /* step 4 */
    { "\"subject_id\":\"user-42\",\"tenant_id\":null,\"counts\"",
      "\"subject_id\":42,\"tenant_id\":null,\"counts\"", 0, NULL,
      "Invalid document: subject_id: expected a string" },
    { "\"tenant_id\":null,\"counts\"", "\"tenant_id\":7,\"counts\"", 0, NULL,
      "Invalid document: tenant_id: expected a string or null" },
    { "\"episodes\":[" GOOD_EPISODE "]", "\"episodes\":{}", 0, NULL,
      "Invalid document: episodes: expected an array" },
    { "\"memories\":1}", "\"memories\":2}", 0, NULL,
      "Invalid document: counts.memories: 2 does not match the 1 memories of the document" },
    { "\"counts\":{\"episodes\":1,", "\"counts\":{\"episodes\":\"1\",", 0, NULL,
      "Invalid document: counts.episodes: expected an integer" },
    { "\"episodes\":[" GOOD_EPISODE "]", "\"episodes\":[7]", 0, NULL,
      "Invalid document: episodes[0]: expected an object" },
    { "\"source\":\"chat\",", "", 0, NULL, "Invalid document: episodes[0].source: missing" },
    { "\"type\":\"message\"", "\"type\":5", 0, NULL,
      "Invalid document: episodes[0].type: expected a string" },
    { "{\"id\":\"" E1 "\",\"subject_id\"", "{\"id\":\"not-a-uuid\",\"subject_id\"", 0, NULL,
      "Invalid document: episodes[0].id: invalid UUID" },
    { "{\"id\":\"" E1 "\",\"subject_id\"",
      "{\"id\":\"0B6F5C1E-3D1A-4C8E-9A57-2F1E6D0C4B3A\",\"subject_id\"", 0, NULL,
      "Invalid document: episodes[0].id: invalid UUID" },
    { "\"payload\":{\"text\":\"hi\"}", "\"payload\":[1]", 0, NULL,
      "Invalid document: episodes[0].payload: expected an object" },
    { "\"created_at\":\"2026-05-01T10:00:00.123456+00:00\"",
      "\"created_at\":\"2026-13-01T10:00:00\"", 0, NULL,
      "Invalid document: episodes[0].created_at: invalid timestamp" },
    { "\"last_compiled_at\":null", "\"last_compiled_at\":\"yesterday\"", 0, NULL,
      "Invalid document: episodes[0].last_compiled_at: invalid timestamp" },
    { "\"episodes\":[" GOOD_EPISODE "],\"memories\":[" GOOD_MEMORY "]",
      "\"episodes\":[" GOOD_EPISODE "," GOOD_EPISODE "],\"memories\":[" GOOD_MEMORY "]", 0, NULL,
      "Invalid document: counts.episodes: 1 does not match the 2 episodes of the document" },
    { "\"counts\":{\"episodes\":1,\"memories\":1},\"episodes\":[" GOOD_EPISODE "]",
      "\"counts\":{\"episodes\":2,\"memories\":1},\"episodes\":[" GOOD_EPISODE ","
      GOOD_EPISODE "]", 0, NULL, "Invalid document: episodes[1].id: duplicate id" },
    { "\"kind\":\"profile_fact\",", "", 0, NULL, "Invalid document: memories[0].kind: missing" },
    { "\"confidence\":0.6", "\"confidence\":\"high\"", 0, NULL,
      "Invalid document: memories[0].confidence: expected a number" },
    { "\"valid_to\":null", "\"valid_to\":\"2026-05-01 10:00\"", 0, NULL, NULL },
    { "\"updated_at\":\"2026-05-01T10:00:01+00:00\"", "\"updated_at\":\"2026-05-01T25:00\"", 0,
      NULL, "Invalid document: memories[0].updated_at: invalid timestamp" },
    { "\"source_episode_ids\":[\"" E1 "\"]", "\"source_episode_ids\":[\"" E1 "\",\"x\"]", 0,
      NULL, "Invalid document: memories[0].source_episode_ids[1]: invalid UUID" },
    { "\"source_episode_ids\":[\"" E1 "\"]", "\"source_episode_ids\":\"" E1 "\"", 0, NULL,
      "Invalid document: memories[0].source_episode_ids: expected an array of strings" },
    { "\"embedding\":[0.1,-2.5,3]", "\"embedding\":[0.1,-2.5]", 0, NULL,
      "Invalid document: memories[0].embedding: expected 3 numbers "
      "(STATEWAVE_EMBEDDING_DIMENSIONS), got 2" },
    { "\"embedding\":[0.1,-2.5,3]", "\"embedding\":[0.1,1e400,3]", 0, NULL,
      "Invalid document: memories[0].embedding[1]: expected a finite number" },
    { "\"embedding\":[0.1,-2.5,3]", "\"embedding\":[0.1,\"x\",3]", 0, NULL,
      "Invalid document: memories[0].embedding[1]: expected a finite number" },
    { "\"embedding\":[0.1,-2.5,3]", "\"embedding\":[0.1,1e39,3]", 0, NULL,
      "Invalid document: memories[0].embedding[1]: out of float32 range" },
    { "\"embedding\":[0.1,-2.5,3]", "\"embedding\":{}", 0, NULL,
      "Invalid document: memories[0].embedding: expected an array of numbers or null" },
    { "\"status\":\"active\"", "\"status\":null", 0, NULL,
      "Invalid document: memories[0].status: expected a string" },
    { "\"status\":\"active\"", "\"sensitivity_labels\":[1]", 0, NULL,
      "Invalid document: memories[0].sensitivity_labels[0]: expected a string" },
    /* step 5 */
    { "\"subject_id\":\"user-42\",\"tenant_id\":null,\"counts\"",
      "\"subject_id\":\"_snapshot/demo/v1\",\"tenant_id\":null,\"counts\"", 0, NULL,
      "Subject id '_snapshot/demo/v1' uses a reserved prefix (_snapshot/)" },
    { NULL, NULL, 0, "_bootstrap_tmp/x",
      "Subject id '_bootstrap_tmp/x' uses a reserved prefix (_bootstrap_tmp/)" },
};

/* good_doc with one replacement, parsed, with a correct checksum unless keep_checksum. */
static struct jv *make_doc(struct arena *a, const char *find, const char *repl, int keep)
{
    struct buf b = BUF_INIT;
    const char *at = find ? strstr(good_doc, find) : NULL;
    char hex[BACKUP_CHECKSUM_HEX];
    struct jv *doc;

    if (find)
        assert_non_null(at);
    if (at) {
        buf_append(&b, good_doc, (size_t)(at - good_doc));
        buf_puts(&b, repl);
        buf_puts(&b, at + strlen(find));
    } else {
        buf_puts(&b, good_doc);
    }
    doc = jv_parse(a, b.data, b.len, NULL, NULL);
    assert_non_null(doc);
    if (keep == 2) {   /* the checksum of good_doc itself: the edit is then detected */
        struct jv *orig = jv_parse(a, good_doc, strlen(good_doc), NULL, NULL);

        assert_int_equal(backup_checksum_of(jv_object_get(orig, "episodes"),
                                            jv_object_get(orig, "memories"), hex), 0);
        jv_object_set(a, doc, "checksum", jv_str(a, hex));
    } else if (!keep) {
        assert_int_equal(backup_checksum_of(jv_object_get(doc, "episodes"),
                                            jv_object_get(doc, "memories"), hex), 0);
        jv_object_set(a, doc, "checksum", jv_str(a, hex));
    }
    buf_release(&b);
    return doc;
}

static void test_backup_import_validation_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(broken_docs); i++) {
        const struct broken *t = &broken_docs[i];
        struct arena *a = arena_new();
        struct jv *doc = make_doc(a, t->find, t->repl, t->keep_checksum);
        struct backup_import_opts o = { t->target, NULL, 1 };
        struct backup_import_result res;
        struct err err = ERR_INIT;
        store *st = t->want ? NULL : g.st;   /* a broken document never reaches the store */
        int rc;

        /* A valid variant (want NULL) is imported under a fresh subject with new ids. */
        if (!t->want) {
            o.target_subject = "valid-variant";
            o.preserve_ids = 0;
        }
        rc = backup_import(a, st, doc, &o, &res, &err);
        if (t->want) {
            if (rc == 0 || strcmp(err.msg, t->want) != 0)
                fail_msg("case %zu: got %s '%s', want '%s'", i, rc == 0 ? "success" : "error",
                         err.msg, t->want);
            assert_int_equal(err.kind, ERR_INVALID);
        } else if (rc != 0) {
            fail_msg("case %zu: valid variant refused: %s", i, err.msg);
        }
        err_release(&err);
        arena_free(a);
    }
}

static void test_backup_import_size_cap(void **state)
{
    struct err err = ERR_INIT;

    (void)state;
    assert_int_equal(backup_import_check_size(1000, &err), 0);
    assert_int_equal(backup_import_check_size(1001, &err), -1);
    assert_int_equal(err.kind, ERR_TOO_LARGE);
    assert_string_equal(err.msg, "Request body too large (limit 1000 bytes)");
    err_release(&err);
}

/* A document with fresh ids (so runs never collide), under subject. */
static struct jv *fresh_doc(struct arena *a, const char *subject, char ep_id[UUID_STR_LEN],
                            char mem_id[UUID_STR_LEN])
{
    struct jv *doc = make_doc(a, NULL, NULL, 1), *ep, *mem, *src;
    char hex[BACKUP_CHECKSUM_HEX];

    uuid_v4(ep_id);
    uuid_v4(mem_id);
    ep = jv_array_get(jv_object_get(doc, "episodes"), 0);
    mem = jv_array_get(jv_object_get(doc, "memories"), 0);
    jv_object_set(a, ep, "id", jv_str(a, ep_id));
    jv_object_set(a, mem, "id", jv_str(a, mem_id));
    src = jv_array(a);
    jv_array_append(a, src, jv_str(a, ep_id));
    jv_object_set(a, mem, "source_episode_ids", src);
    jv_object_set(a, doc, "subject_id", jv_str(a, subject));
    assert_int_equal(backup_checksum_of(jv_object_get(doc, "episodes"),
                                        jv_object_get(doc, "memories"), hex), 0);
    jv_object_set(a, doc, "checksum", jv_str(a, hex));
    return doc;
}

static void test_backup_import_id_conflicts(void **state)
{
    struct arena *a = arena_new();
    char ep_id[UUID_STR_LEN], mem_id[UUID_STR_LEN];
    struct jv *doc = fresh_doc(a, uniq(a, "imp"), ep_id, mem_id);
    struct backup_import_opts o = { NULL, "acme", 1 };
    struct backup_import_result res;
    struct err err = ERR_INIT;
    struct jv *mem;
    char other[UUID_STR_LEN];

    (void)state;
    assert_int_equal(backup_import(a, g.st, doc, &o, &res, &err), 0);
    assert_int_equal(res.episodes_imported, 1);
    assert_int_equal(res.memories_imported, 1);
    assert_string_equal(res.tenant_id, "acme");
    assert_true(res.ids_preserved);
    assert_int_equal(backup_import(a, g.st, doc, &o, &res, &err), -1);
    assert_string_equal(err.msg, "ID conflict: 1 episode(s) and 1 memory(ies) already exist. "
                                 "Use preserve_ids=false to generate new IDs, or delete "
                                 "existing data first.");
    err_release(&err);
    /* Only the episode clashes: the reference's exact text. */
    mem = jv_array_get(jv_object_get(doc, "memories"), 0);
    uuid_v4(other);
    jv_object_set(a, mem, "id", jv_str(a, other));
    {
        char hex[BACKUP_CHECKSUM_HEX];

        backup_checksum_of(jv_object_get(doc, "episodes"), jv_object_get(doc, "memories"), hex);
        jv_object_set(a, doc, "checksum", jv_str(a, hex));
    }
    assert_int_equal(backup_import(a, g.st, doc, &o, &res, &err), -1);
    assert_string_equal(err.msg, "ID conflict: 1 episode(s) already exist. Use "
                                 "preserve_ids=false to generate new IDs, or delete existing "
                                 "data first.");
    err_release(&err);
    arena_free(a);
}

/* preserve_ids=false: new ids; source_episode_ids follow the episode map, order kept,
 * ids outside the document unchanged. */
static void test_backup_import_new_ids_remap(void **state)
{
    struct memory_rows mr;
    struct episode_rows er;
    static const char outside[] = "11111111-2222-4333-8444-555555555555";
    struct arena *a = arena_new();
    const char *subject = uniq(a, "remap");
    char ep_id[UUID_STR_LEN], mem_id[UUID_STR_LEN], hex[BACKUP_CHECKSUM_HEX];
    struct jv *doc = fresh_doc(a, "ignored", ep_id, mem_id), *src;
    struct backup_import_opts o = { subject, NULL, 0 };
    struct backup_import_result res;
    struct err err = ERR_INIT;
    struct episode *eps;
    struct memory *mems;
    size_t n;
    const struct store_scope in_none = { .subject = subject };

    (void)state;
    src = jv_object_get(jv_array_get(jv_object_get(doc, "memories"), 0), "source_episode_ids");
    jv_array_append(a, src, jv_str(a, outside));
    jv_array_append(a, src, jv_str(a, ep_id));
    backup_checksum_of(jv_object_get(doc, "episodes"), jv_object_get(doc, "memories"), hex);
    jv_object_set(a, doc, "checksum", jv_str(a, hex));
    assert_int_equal(backup_import(a, g.st, doc, &o, &res, &err), 0);
    assert_false(res.ids_preserved);
    assert_null(res.tenant_id);   /* per-row mode: both tenants null */
    assert_string_equal(res.subject_id, subject);
    /* Twice: two independent copies. */
    assert_int_equal(backup_import(a, g.st, doc, &o, &res, &err), 0);

    assert_int_equal(store_episode_list(g.st, a, &in_none, &(struct store_page){ .limit = 10 }, &er,
                                        &err), 0);
    eps = er.items;
    n = er.n;
    assert_int_equal(n, 2);
    assert_string_not_equal(eps[0].id, ep_id);
    assert_string_not_equal(eps[1].id, ep_id);
    assert_int_equal(store_memory_list(g.st, a, &in_none, &(struct store_page){ .limit = 10 }, &mr,
                                       &err), 0);
    mems = mr.items;
    n = mr.n;
    assert_int_equal(n, 2);
    assert_string_not_equal(mems[0].id, mem_id);
    {
        const char *want0 = arena_printf(a, "[\"%s\",\"%s\",\"%s\"]", eps[0].id, outside,
                                         eps[0].id);
        const char *want1 = arena_printf(a, "[\"%s\",\"%s\",\"%s\"]", eps[1].id, outside,
                                         eps[1].id);

        assert_true(strcmp(mems[0].source_episode_ids, want0) == 0 ||
                    strcmp(mems[0].source_episode_ids, want1) == 0);
        assert_true(strcmp(mems[1].source_episode_ids, want0) == 0 ||
                    strcmp(mems[1].source_episode_ids, want1) == 0);
        assert_string_not_equal(mems[0].source_episode_ids, mems[1].source_episode_ids);
    }
    assert_int_equal(mems[0].embedding_dim, 3);   /* stored as float32 */
    assert_true(mems[0].embedding[0] == 0.1f && mems[0].embedding[1] == -2.5f &&
                mems[0].embedding[2] == 3.0f);
    arena_free(a);
}

/* ---- locating "invalid unicode" ---- */

static void test_backup_json_path(void **state)
{
    static const struct {
        const char *text;
        const char *at;       /* the error offset is where this substring starts */
        const char *skip;
        const char *want;
        int inside;
    } cases[] = {
        { "{\"document\":{\"episodes\":[{\"a\":1},{\"payload\":{\"t\":\"x\\ud800\"}}]}}",
          "\\ud800", "document", "episodes[1].payload.t", 1 },
        { "{\"target_subject_id\":\"\\ud800\",\"document\":{}}", "\\ud800", "document",
          "target_subject_id", 0 },
        { "{\"memories\":[{},{},{\"content\":\"a\\u0000\"}]}", "\\u0000", NULL,
          "memories[2].content", 1 },
        { "{\"memories\":[{\"metadata\":{\"k\\udc00\":1}}]}", "\\udc00", NULL,
          "memories[0].metadata.k", 1 },
        { "[[1,2],[3,\"\\ud800\"]]", "\\ud800", NULL, "[1][1]", 1 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(cases); i++) {
        struct buf out = BUF_INIT;
        size_t pos = (size_t)(strstr(cases[i].text, cases[i].at) - cases[i].text);
        int inside = -1;

        backup_json_path(cases[i].text, strlen(cases[i].text), pos, cases[i].skip, &inside,
                         &out);
        assert_string_equal(out.data, cases[i].want);
        assert_int_equal(inside, cases[i].inside);
        buf_release(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backup_worked_example),
        cmocka_unit_test(test_backup_checksum_of),
        cmocka_unit_test(test_backup_eng_keys),
        cmocka_unit_test(test_backup_export_document),
        cmocka_unit_test(test_backup_export_not_found),
        cmocka_unit_test(test_backup_import_validation_table),
        cmocka_unit_test(test_backup_import_size_cap),
        cmocka_unit_test(test_backup_import_id_conflicts),
        cmocka_unit_test(test_backup_import_new_ids_remap),
        cmocka_unit_test(test_backup_json_path),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
