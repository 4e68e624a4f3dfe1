/* test_webhooks.c - webhook events (service/webhooks.h): the backoff bounds of behavior.md
 * §19.10, the envelope's exact text, and recording (a row only when a URL is set, written in
 * the caller's transaction). Recording runs against a temporary SQLite database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/webhooks.h"
#include "util/config.h"
#include "util/jv.h"
#include "util/ts.h"

#define T0 1717243200123457LL   /* 2024-06-01T12:00:00.123457Z */
#define SAMPLES 4000

static struct config tcfg;

/* ---- backoff ---- */

/* min and max of SAMPLES delays after failed attempt n. */
static void sample(int n, double *lo, double *hi)
{
    int i;

    *lo = 1e300;
    *hi = -1;
    for (i = 0; i < SAMPLES; i++) {
        double d = webhooks_backoff(n);

        *lo = d < *lo ? d : *lo;
        *hi = d > *hi ? d : *hi;
    }
}

/* After failures 1, 2, 3 (and 4) the delay lies in [15, 45], [60, 180], [240, 720] s
 * ([960, 2880]); the random factor covers its range (about 30·4^(n−1) × [0.5, 1.5]). */
static void test_webhooks_backoff_bounds(void **state)
{
    static const double base[] = { 30, 120, 480, 1920 };
    double lo, hi;
    int n;

    (void)state;
    cfg = NULL;
    for (n = 1; n <= 4; n++) {
        sample(n, &lo, &hi);
        assert_true(lo >= 0.5 * base[n - 1]);
        assert_true(hi <= 1.5 * base[n - 1]);
        assert_true(lo < 0.55 * base[n - 1]);   /* not a constant: the whole range is used */
        assert_true(hi > 1.45 * base[n - 1]);
    }
}

/* STATEWAVE_WEBHOOK_BACKOFF_SCALE (tests only) multiplies every delay. */
static void test_webhooks_backoff_scale(void **state)
{
    double lo, hi;

    (void)state;
    memset(&tcfg, 0, sizeof(tcfg));
    tcfg.webhook_backoff_scale = 0.001;
    cfg = &tcfg;
    sample(1, &lo, &hi);
    assert_true(lo >= 0.015 && hi <= 0.045);
    sample(3, &lo, &hi);
    assert_true(lo >= 0.240 && hi <= 0.720);
    cfg = NULL;
}

/* ---- envelope ---- */

static void test_webhooks_envelope_text(void **state)
{
    struct arena *a = arena_new();
    struct jv *data = jv_object(a);
    char *text;

    (void)state;
    jv_object_set(a, data, "id", jv_str(a, "0b7e"));
    jv_object_set(a, data, "subject_id", jv_str(a, "user-é\"42\x1f"));
    text = webhooks_envelope("episode.created", T0, data);
    assert_string_equal(text, "{\"event\":\"episode.created\","
                              "\"timestamp\":\"2024-06-01T12:00:00.123457+00:00\","
                              "\"data\":{\"id\":\"0b7e\",\"subject_id\":\"user-é\\\"42\\u001f\"}}");
    free(text);

    data = jv_object(a);
    jv_object_set(a, data, "subject_id", jv_str(a, "s"));
    jv_object_set(a, data, "episodes_deleted", jv_int(a, 0));
    jv_object_set(a, data, "memories_deleted", jv_int(a, 3));
    text = webhooks_envelope("subject.deleted", 1717243200000000LL, data);
    assert_string_equal(text, "{\"event\":\"subject.deleted\","
                              "\"timestamp\":\"2024-06-01T12:00:00+00:00\","
                              "\"data\":{\"subject_id\":\"s\",\"episodes_deleted\":0,"
                              "\"memories_deleted\":3}}");
    free(text);

    text = webhooks_envelope("subject.deleted", 1717243200000000LL, NULL);
    assert_string_equal(text, "{\"event\":\"subject.deleted\","
                              "\"timestamp\":\"2024-06-01T12:00:00+00:00\",\"data\":{}}");
    free(text);
    arena_free(a);
}

/* ---- recording ---- */

static struct {
    char path[64];
    store *st;
} db;

static int db_setup(void **state)
{
    struct migrate_result res;
    struct err err = ERR_INIT;
    char *conninfo = NULL, url[96];
    const struct store_ops *ops;
    int fd;

    (void)state;
    snprintf(db.path, sizeof(db.path), "/tmp/engram-webhooks-unit-XXXXXX.db");
    fd = mkstemps(db.path, 3);
    if (fd < 0)
        return -1;
    close(fd);
    snprintf(url, sizeof(url), "sqlite://%s", db.path);
    ops = store_backend_for(url, &conninfo, &err);
    if (!ops || store_open(ops, conninfo, &db.st, &err) < 0 ||
        store_migrate(db.st, &res, &err) < 0) {
        fprintf(stderr, "test database: %s\n", err.msg);
        free(conninfo);
        return -1;
    }
    free(conninfo);
    return 0;
}

static int db_teardown(void **state)
{
    static const char *const suffixes[] = { "", "-wal", "-shm" };
    char name[96];
    size_t i;

    (void)state;
    store_close(db.st);
    for (i = 0; i < 3; i++) {
        snprintf(name, sizeof(name), "%s%s", db.path, suffixes[i]);
        unlink(name);
    }
    cfg = NULL;
    return 0;
}

static int64_t total_events(void)
{
    struct webhook_stats s;
    struct err err = ERR_INIT;

    assert_int_equal(store_webhook_stats(db.st, &s, &err), 0);
    return s.total;
}

/* behavior.md §19.10: with no URL, recording writes nothing. */
static void test_webhooks_record_without_url_writes_nothing(void **state)
{
    struct err err = ERR_INIT;

    (void)state;
    memset(&tcfg, 0, sizeof(tcfg));
    cfg = &tcfg;
    assert_false(webhooks_enabled());
    tcfg.webhook_url = (char *)"";
    assert_false(webhooks_enabled());
    assert_int_equal(webhooks_record(db.st, "episode.created", jv_null(), &err), 0);
    assert_int_equal(total_events(), 0);
    webhooks_wake();   /* nothing recorded, no deliverer: a no-op */
}

static void test_webhooks_record_writes_pending_row(void **state)
{
    struct webhook_rows wr;
    struct arena *a = arena_new();
    struct webhook_event *evs;
    struct err err = ERR_INIT;
    struct jv *data = jv_object(a), *env;
    int64_t before = ts_now();
    size_t n;

    (void)state;
    memset(&tcfg, 0, sizeof(tcfg));
    tcfg.webhook_url = (char *)"http://127.0.0.1:9/hook";
    cfg = &tcfg;
    assert_true(webhooks_enabled());
    jv_object_set(a, data, "subject_id", jv_str(a, "s1"));
    jv_object_set(a, data, "memories_created", jv_int(a, 2));

    /* Rolled back with the change it describes: no row. */
    assert_int_equal(store_tx_begin(db.st, &err), 0);
    assert_int_equal(webhooks_record(db.st, "memories.compiled", data, &err), 0);
    store_tx_rollback(db.st);
    assert_int_equal(total_events(), 0);

    assert_int_equal(store_tx_begin(db.st, &err), 0);
    assert_int_equal(webhooks_record(db.st, "memories.compiled", data, &err), 0);
    assert_int_equal(store_tx_commit(db.st, &err), 0);
    webhooks_wake();

    assert_int_equal(store_webhook_list(db.st, a, NULL, &(struct store_page){ .limit = 10 }, &wr,
                                        &err), 0);
    evs = wr.items;
    n = wr.n;
    assert_int_equal(n, 1);
    assert_null(evs[0].tenant_id);
    assert_string_equal(evs[0].event, "memories.compiled");
    assert_string_equal(evs[0].status, "pending");
    assert_int_equal(evs[0].attempts, 0);
    assert_int_equal(evs[0].max_attempts, WEBHOOK_MAX_ATTEMPTS);
    assert_true(evs[0].created_at >= before && evs[0].created_at <= ts_now());
    assert_true(evs[0].next_attempt_at == evs[0].created_at);   /* due at once */
    assert_true(evs[0].last_attempt_at == TS_NULL);
    env = jv_parse(a, evs[0].payload, strlen(evs[0].payload), NULL, NULL);
    assert_non_null(env);
    assert_string_equal(jv_string(jv_object_get(env, "event"), NULL), "memories.compiled");
    data = jv_object_get(env, "data");
    assert_string_equal(jv_string(jv_object_get(data, "subject_id"), NULL), "s1");
    assert_string_equal(jv_number_text(jv_object_get(data, "memories_created")), "2");
    arena_free(a);
    cfg = NULL;
}

/* spec/api.md §7.3: a purge needs a filter, and only terminal statuses can be purged. */
static void test_webhooks_purge_rules(void **state)
{
    struct webhook_filter f = { 0 };
    struct err err = ERR_INIT;
    int64_t deleted = -1;

    (void)state;
    assert_int_equal(webhooks_purge(db.st, &f, &deleted, &err), -1);
    assert_int_equal(err.kind, ERR_INVALID);
    assert_string_equal(err.msg, "at least one filter is required");
    assert_int_equal(deleted, 0);
    f.status = "pending";
    assert_int_equal(webhooks_purge(db.st, &f, &deleted, &err), -1);
    assert_int_equal(err.kind, ERR_INVALID);
    assert_string_equal(err.msg,
                        "status must be one of ('delivered', 'dead_letter'); got 'pending'");
    f.status = "delivered";
    err_release(&err);
    assert_int_equal(webhooks_purge(db.st, &f, &deleted, &err), 0);
    assert_int_equal(deleted, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_webhooks_backoff_bounds),
        cmocka_unit_test(test_webhooks_backoff_scale),
        cmocka_unit_test(test_webhooks_envelope_text),
        cmocka_unit_test(test_webhooks_record_without_url_writes_nothing),
        cmocka_unit_test(test_webhooks_record_writes_pending_row),
        cmocka_unit_test(test_webhooks_purge_rules),
    };

    return cmocka_run_group_tests(tests, db_setup, db_teardown);
}
