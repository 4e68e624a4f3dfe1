/* test_store_counters_bulk.c - SQLite's step counters_bulk_writes (issue 18): the bulk paths
 * (insert_many of episodes and memories: import, compile, record copies; the set-based
 * subject copy of snapshot, restore, clone and fork; mark-compiled) keep subject_stats,
 * usage_daily and context_gen from C while the per-row triggers stand aside. On a database
 * the step before it made: rows written there (triggers alone), the migration, then every
 * bulk path with sessions known and new, two tenants, two days, a reserved subject and runs
 * of a pair broken by another; after each, every subject_stats row and every usage_daily
 * count must equal a count of the tables (and subject_days, which triggers on subject_stats
 * keep, a count of subject_stats), and each pair written must have a new context
 * generation. A bulk write that fails part-way (a duplicate id, an injected fault at each of
 * its statements in turn) must leave all three tables as they were. Another connection (no
 * overload of sqlite_compileoption_used) still counts through the triggers. PostgreSQL has
 * no such step: skipped there. The single-episode paths (one episode, the ingest writer's
 * group) count from C as well, checked the same way, failed groups included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite-internal.h" /* SQ_BULK_OPTION, SQ_BULK_TRIGGERS */
#include "store/store-internal.h"         /* store_fault_arm */
#include "store/store.h"
#include "util/ts.h"

#include "store_harness.h"
#include "store_raw.h"
#include "store_migrate.h"

#define RESERVED "_snapshot/"

static int old_version(void)
{
    size_t i;

    for (i = 0; i < sqlite_migrations_count; i++)
        if (strcmp(sqlite_migrations[i].name, "counters_bulk_writes") == 0)
            return sqlite_migrations[i].version - 1;
    return -1;
}

static int setup(void **state)
{
    const char *url = getenv("ENGRAM_TEST_DATABASE_URL");

    if (url && strncmp(url, "postgres", 8) == 0)
        return group_setup(state);
    return old_version() > 0 ? open_old_database(old_version()) : -1;
}

/* Pairs whose subject_stats row differs from a count of the tables (reserved subjects have
 * no row), both ways. */
#define NOT_RESERVED(t) "substr(" t ".subject_id, 1, 10) <> '" RESERVED "'"
static const char SQL_STATS_WRONG_PAIRS[] =
    "WITH t AS (SELECT subject_id, tk, sum(e) AS e, sum(m) AS m, sum(o) AS o, max(last) AS last,"
    " max(sess) AS sess FROM ("
    " SELECT subject_id, COALESCE(tenant_id, '') AS tk, count(*) AS e, 0 AS m, 0 AS o,"
    " max(created_at) AS last, count(DISTINCT session_id) AS sess FROM episodes x WHERE "
    NOT_RESERVED("x") " GROUP BY 1, 2"
    " UNION ALL SELECT subject_id, COALESCE(tenant_id, ''), 0, count(*), 0, NULL, 0"
    " FROM memories x WHERE " NOT_RESERVED("x") " GROUP BY 1, 2"
    " UNION ALL SELECT subject_id, COALESCE(tenant_id, ''), 0, 0, count(*), NULL, 0"
    " FROM resolutions x WHERE status = 'open' AND " NOT_RESERVED("x") " GROUP BY 1, 2) y"
    " GROUP BY 1, 2)"
    " SELECT count(*) FROM t FULL JOIN subject_stats s ON s.subject_id = t.subject_id"
    " AND COALESCE(s.tenant_id, '') = t.tk WHERE t.subject_id IS NULL OR s.subject_id IS NULL"
    " OR s.episode_count <> t.e OR s.memory_count <> t.m OR s.open_sessions <> t.o"
    " OR s.session_count <> t.sess OR s.last_episode_at IS NOT t.last";

/* usage_daily's episode and memory counts against the tables, both ways. */
static const char SQL_USAGE_WRONG[] =
    "WITH t AS (SELECT 1, COALESCE(tenant_id, ''), substr(created_at, 1, 10), count(*)"
    " FROM episodes GROUP BY 2, 3 UNION ALL SELECT 2, COALESCE(tenant_id, ''),"
    " substr(created_at, 1, 10), count(*) FROM memories GROUP BY 2, 3),"
    " u AS (SELECT kind, tenant_key, day, n FROM usage_daily WHERE kind IN (1, 2) AND n <> 0)"
    " SELECT (SELECT count(*) FROM (SELECT * FROM u EXCEPT SELECT * FROM t))"
    " + (SELECT count(*) FROM (SELECT * FROM t EXCEPT SELECT * FROM u))";

/* subject_days (the step before this one, issue 16, kept by triggers on subject_stats, which
 * the bulk paths write from C) against subject_stats, both ways. */
static const char SQL_DAYS_WRONG[] =
    "WITH t AS (SELECT 2, COALESCE(tenant_id, ''), substr(last_episode_at, 1, 10), count(*)"
    " FROM subject_stats WHERE episode_count > 0 GROUP BY 2, 3 UNION ALL SELECT 1, '', d,"
    " count(*) FROM (SELECT max(substr(last_episode_at, 1, 10)) AS d FROM subject_stats"
    " WHERE episode_count > 0 GROUP BY subject_id) GROUP BY 3),"
    " u AS (SELECT kind, tenant_key, day, n FROM subject_days WHERE n <> 0)"
    " SELECT (SELECT count(*) FROM (SELECT * FROM u EXCEPT SELECT * FROM t))"
    " + (SELECT count(*) FROM (SELECT * FROM t EXCEPT SELECT * FROM u))";

/* The four tables as one text, to compare before and after a failed write. */
static const char SQL_DUMP[] =
    "SELECT ifnull((SELECT group_concat(x, '|') FROM (SELECT subject_id || ',' ||"
    " ifnull(tenant_id, '~') || ',' || episode_count || ',' || memory_count || ',' ||"
    " session_count || ',' || open_sessions || ',' || ifnull(last_episode_at, '~') AS x"
    " FROM subject_stats ORDER BY 1)), '') || '#' || ifnull((SELECT group_concat(x, '|')"
    " FROM (SELECT kind || ',' || tenant_key || ',' || day || ',' || n AS x FROM usage_daily"
    " ORDER BY 1)), '') || '#' || ifnull((SELECT group_concat(x, '|') FROM (SELECT"
    " subject_id || ',' || tenant_key || ',' || gen AS x FROM context_gen ORDER BY 1)), '')"
    " || '#' || ifnull((SELECT group_concat(x, '|') FROM (SELECT kind || ',' || tenant_key"
    " || ',' || day || ',' || n AS x FROM subject_days ORDER BY 1)), '')";

static void counters_right(struct arena *a, const char *what)
{
    int64_t stats = raw_count(a, SQL_STATS_WRONG_PAIRS), usage = raw_count(a, SQL_USAGE_WRONG);
    int64_t days = raw_count(a, SQL_DAYS_WRONG);

    if (stats || usage || days)
        fail_msg("%s: %lld subject_stats pairs, %lld usage_daily rows and %lld subject_days "
                 "rows differ from the tables", what, (long long)stats, (long long)usage,
                 (long long)days);
}

static const char *dump(struct arena *a)
{
    const char **row = raw_row(a, SQL_DUMP, 1);

    assert_non_null(row);
    return row[0];
}

static int64_t gen_of(struct arena *a, const char *subject, const char *tenant)
{
    return raw_count(a, arena_printf(a,
                                     "SELECT ifnull((SELECT gen FROM context_gen WHERE"
                                     " subject_id = %s AND tenant_key = %s), 0)",
                                     lit(a, subject), lit(a, tenant ? tenant : "")));
}

static int64_t stat_of(struct arena *a, const char *col, const char *subject, const char *tenant)
{
    return raw_count(a, arena_printf(a,
                                     "SELECT ifnull((SELECT %s FROM subject_stats WHERE"
                                     " subject_id = %s AND tenant_id IS %s), -1)",
                                     col, lit(a, subject), lit(a, tenant)));
}

/* engram_vector_code(), which Engram registers on its connections, for the raw one: the
 * memory_codes insert trigger names it (its WHEN is false for a row without a vector). */
static void no_code(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    sqlite3_result_null(ctx);
}

/* The subjects every test writes to. */
static struct {
    const char *s1, *s2, *s3, *rsv;
} sub;

/* Episodes of s1 (no tenant: sessions x known, z new twice, none, a second day), of s2 in
 * tenant ta, of the reserved subject, then s1 again (y: a new session in a second run). */
static size_t mixed_episodes(struct episode *eps, int64_t t)
{
    size_t n = 0;

    eps[n++] = session_ep(NULL, sub.s1, "x", t + 1 * SEC);
    eps[n++] = session_ep(NULL, sub.s1, "z", t + 2 * SEC);
    eps[n++] = session_ep(NULL, sub.s1, "z", t + 3 * SEC);
    eps[n++] = session_ep(NULL, sub.s1, NULL, t + DAY);
    eps[n++] = session_ep("ta", sub.s2, "w", t + 4 * SEC);
    eps[n++] = session_ep("ta", sub.s2, NULL, t + 5 * SEC);
    eps[n++] = session_ep(NULL, sub.rsv, "x", t + 6 * SEC);
    eps[n++] = session_ep(NULL, sub.s1, "y", t + 7 * SEC);
    return n;
}

static size_t mixed_memories(struct memory *mems, int64_t t)
{
    size_t n = 0;

    mems[n++] = make_mem_with(NULL, sub.s1, "profile_fact", "m1", "active", t);
    mems[n++] = make_mem_with(NULL, sub.s1, "profile_fact", "m2", "active", t + DAY);
    mems[n++] = make_mem_with("ta", sub.s2, "profile_fact", "m3", "active", t);
    mems[n++] = make_mem_with(NULL, sub.rsv, "profile_fact", "m4", "active", t);
    mems[n++] = make_mem_with(NULL, sub.s1, "episode_summary", "m5", "superseded", t);
    return n;
}

/* Step 19's triggers count what the bulk paths write; the migration keeps the counts. */
static void test_rows_before_and_after_the_step(void **state)
{
    struct arena *a = *state;
    struct err err = ERR_INIT;
    struct migrate_result mr;
    struct episode eps[8];
    struct memory mems[5];
    int current, latest;

    if (!is_sqlite())
        skip();
    /* for every test of the group: the arena goes with this one */
    sub.s1 = strdup(uniq(a, "one"));
    sub.s2 = strdup(uniq(a, "two"));
    sub.s3 = strdup(uniq(a, "three"));
    sub.rsv = strdup(uniq(a, RESERVED "r"));
    add_ep(a, NULL, sub.s1, T0);
    assert_int_equal(store_episode_insert_many(g.st, eps, mixed_episodes(eps, T0), &err), 0);
    assert_int_equal(store_memory_insert_many(g.st, mems, mixed_memories(mems, T0), &err), 0);
    add_open_resolution(a, sub.s1, "x");
    counters_right(a, "before the step");

    assert_int_equal(store_migrate(g.st, &mr, &err), 0);
    assert_int_equal(mr.from_version, old_version());
    assert_int_equal(store_schema_version(g.st, &current, &latest, &err), 0);
    assert_int_equal(current, latest);
    counters_right(a, "after the step");
    /* another connection does not know the option: the triggers fire there */
    assert_int_equal(raw_count(a, "SELECT sqlite_compileoption_used('ENGRAM_BULK_COUNTERS')"),
                     0);
    /* every counter trigger of the schema stands aside for Engram's connections, as many as
     * the C side expects (else it leaves the counting to the triggers, right but slow) */
    assert_int_equal(raw_count(a, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
                                  " AND instr(sql, '" SQ_BULK_OPTION "') > 0"),
                     SQ_BULK_TRIGGERS);
}

/* Every bulk path after the step. */
static void test_bulk_paths_keep_the_counters(void **state)
{
    struct arena *a = *state;
    struct err err = ERR_INIT;
    struct episode eps[8], one;
    struct memory mems[5];
    struct row_counts rc;
    const char *ids[8];
    int64_t g1, g2, g3;
    size_t i, n;

    if (!is_sqlite())
        skip();
    g1 = gen_of(a, sub.s1, NULL);
    g2 = gen_of(a, sub.s2, "ta");
    n = mixed_episodes(eps, T0 + 2 * DAY);
    eps[1].session_id = eps[2].session_id = "z2"; /* new to s1, twice */
    assert_int_equal(store_episode_insert_many(g.st, eps, n, &err), 0);
    counters_right(a, "episodes inserted in bulk");
    assert_int_equal(stat_of(a, "session_count", sub.s1, NULL), 4); /* x, z, y, z2 */
    assert_int_equal(stat_of(a, "session_count", sub.s2, "ta"), 1);
    assert_true(gen_of(a, sub.s1, NULL) > g1);
    assert_true(gen_of(a, sub.s2, "ta") > g2);

    g1 = gen_of(a, sub.s1, NULL);
    assert_int_equal(store_memory_insert_many(g.st, mems, mixed_memories(mems, T0 + 3 * DAY),
                                              &err),
                     0);
    counters_right(a, "memories inserted in bulk");
    assert_true(gen_of(a, sub.s1, NULL) > g1);

    /* mark-compiled: the generation of s1 moves, s2's does not */
    g1 = gen_of(a, sub.s1, NULL);
    g2 = gen_of(a, sub.s2, "ta");
    for (i = 0; i < 4; i++)
        ids[i] = eps[i].id;
    assert_int_equal(store_episode_mark_compiled(g.st, NULL, ids, 4, T0 + 4 * DAY, &err), 0);
    assert_true(gen_of(a, sub.s1, NULL) > g1);
    assert_int_equal(gen_of(a, sub.s2, "ta"), g2);
    counters_right(a, "after mark-compiled");

    /* the set-based copy (restore, clone, fork) into a new pair, then a capture into a
     * reserved subject (snapshot) */
    g3 = gen_of(a, sub.s3, "tb");
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_subject_copy(g.st,
                                        &(struct subject_copy){ .src_subject = sub.s1,
                                                                .dst_subject = sub.s3,
                                                                .dst_tenant = "tb",
                                                                .clamp_at = TS_NULL,
                                                                .mark_snapshot_id = "snap" },
                                        &rc, &err),
                     0);
    assert_int_equal(store_subject_copy(g.st,
                                        &(struct subject_copy){ .src_subject = sub.s2,
                                                                .src_tenant = "ta",
                                                                .dst_subject = sub.rsv,
                                                                .dst_tenant = "ta",
                                                                .keep_res_tenant = 1,
                                                                .clamp_at = TS_NULL,
                                                                .mark_original_id = 1 },
                                        &rc, &err),
                     0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    counters_right(a, "after subject copies");
    assert_true(gen_of(a, sub.s3, "tb") > g3);
    assert_int_equal(stat_of(a, "episode_count", sub.s3, "tb"),
                     stat_of(a, "episode_count", sub.s1, NULL));
    assert_int_equal(stat_of(a, "session_count", sub.s3, "tb"),
                     stat_of(a, "session_count", sub.s1, NULL));
    assert_int_equal(stat_of(a, "episode_count", sub.rsv, "ta"), -1); /* no row */

    /* outside bulk writes the triggers count again: one episode through the store, one
     * episode and one memory from another connection */
    raw_open();
    assert_int_equal(sqlite3_create_function_v2(raw.sqlite, "engram_vector_code", 1,
                                                SQLITE_UTF8, NULL, no_code, NULL, NULL, NULL),
                     SQLITE_OK);
    one = session_ep(NULL, sub.s1, "v", T0 + 5 * DAY);
    insert_ok(a, &one);
    raw_exec(a, arena_printf(a,
                             "INSERT INTO episodes (id, subject_id, session_id, source, type,"
                             " payload, created_at) VALUES (%s, %s, 'u', 'chat', 'message',"
                             " '{}', %s)",
                             lit(a, new_id(a)), lit(a, sub.s2), ts_lit(a, T0 + 6 * DAY)));
    raw_exec(a, arena_printf(a,
                             "INSERT INTO memories (id, subject_id, kind, content, valid_from,"
                             " created_at, updated_at) VALUES (%s, %s, 'profile_fact', 'raw',"
                             " %s, %s, %s)",
                             lit(a, new_id(a)), lit(a, sub.s3), ts_lit(a, T0), ts_lit(a, T0),
                             ts_lit(a, T0)));
    raw_exec(a, arena_printf(a,
                             "INSERT INTO episodes (id, subject_id, session_id, source, type,"
                             " payload, created_at) VALUES (%s, %s, 'u', 'chat', 'message',"
                             " '{}', %s)",
                             lit(a, new_id(a)), lit(a, sub.rsv), ts_lit(a, T0 + 6 * DAY)));
    counters_right(a, "after single and foreign writes");
    assert_int_equal(stat_of(a, "session_count", sub.s1, NULL), 5); /* + v */
}

/* A bulk write that fails leaves subject_stats, usage_daily and context_gen as they were. */
static void test_failed_bulk_writes_change_nothing(void **state)
{
    struct arena *a = *state;
    struct err err = ERR_INIT;
    struct episode eps[8];
    struct memory mems[5];
    const char *before, *ids[8];
    int64_t nth;
    size_t n, m, i;
    int ok;

    if (!is_sqlite())
        skip();
    /* a duplicate id as the last row: its own transaction rolls back */
    before = dump(a);
    n = mixed_episodes(eps, T0 + 7 * DAY);
    memcpy(eps[n - 1].id, eps[0].id, sizeof(eps[0].id));
    assert_int_equal(store_episode_insert_many(g.st, eps, n - 1, &err), 0);
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    n = mixed_episodes(eps, T0 + 8 * DAY);
    m = mixed_memories(mems, T0 + 8 * DAY);
    assert_int_equal(store_episode_insert_many(g.st, eps, n, &err), 0);
    memcpy(mems[m - 1].id, mems[0].id, sizeof(mems[0].id));
    assert_int_equal(store_memory_insert_many(g.st, mems, m, &err), -1);
    assert_int_equal(err.kind, ERR_CONFLICT);
    err_release(&err);
    err_init(&err);
    store_tx_rollback(g.st);
    counters_right(a, "after a rolled-back import");
    /* the first insert_many committed on its own: only its rows were added */
    assert_string_not_equal(dump(a), before);

    /* a fault at each statement of a transaction of every bulk path in turn */
    for (nth = 1; nth < 500; nth++) {
        n = mixed_episodes(eps, T0 + 9 * DAY);
        m = mixed_memories(mems, T0 + 9 * DAY);
        for (i = 0; i < n; i++)
            ids[i] = eps[i].id;
        before = dump(a);
        store_fault_arm(nth, nth % 2 ? STORE_FAULT_FULL : STORE_FAULT_IOERR);
        ok = store_tx_begin(g.st, &err) == 0;
        if (ok) {
            ok = store_episode_insert_many(g.st, eps, n, &err) == 0 &&
                 store_memory_insert_many(g.st, mems, m, &err) == 0 &&
                 store_episode_mark_compiled(g.st, NULL, ids, n, T0 + 10 * DAY, &err) == 0 &&
                 store_subject_copy(g.st,
                                    &(struct subject_copy){ .src_subject = sub.s2,
                                                            .src_tenant = "ta",
                                                            .dst_subject = sub.s3,
                                                            .dst_tenant = "tc",
                                                            .clamp_at = TS_NULL },
                                    &(struct row_counts){ 0 }, &err) == 0 &&
                 store_tx_commit(g.st, &err) == 0;
            if (!ok)
                store_tx_rollback(g.st);
        }
        store_fault_disarm();
        g.st->broken = 0; /* an injected I/O error marks the connection; keep it */
        err_release(&err);
        err_init(&err);
        counters_right(a, arena_printf(a, "fault at statement %lld", (long long)nth));
        if (ok) {
            assert_false(store_fault_fired());
            break;
        }
        assert_string_equal(dump(a), before);
    }
    assert_true(nth > 10); /* the fault reached statements of every path first */
    assert_true(nth < 500);
}

/* The episodes of one group of the ingest writer: pairs alternating (s1, s2 in ta, s1 in
 * ta: the same subject in another tenant), a session new to s1 twice in the group, one known
 * to it, the reserved subject, a second day, and a replay of an earlier episode of the group
 * (its idempotency key). */
static size_t group_episodes(struct episode *eps, int64_t t, const char *key)
{
    size_t n = 0;

    eps[n++] = session_ep(NULL, sub.s1, "g1", t + 1 * SEC);
    eps[n++] = session_ep("ta", sub.s2, "w", t + 2 * SEC);
    eps[n++] = session_ep("ta", sub.s1, "g1", t + 3 * SEC);
    eps[n++] = session_ep(NULL, sub.s1, "g1", t + 4 * SEC);
    eps[n++] = session_ep(NULL, sub.rsv, "x", t + 5 * SEC);
    eps[n++] = session_ep("ta", sub.s2, NULL, t + DAY);
    eps[n++] = session_ep(NULL, sub.s1, "x", t + 6 * SEC);
    eps[n++] = session_ep("ta", sub.s2, "w2", t + 7 * SEC);
    eps[n] = session_ep("ta", sub.s2, "w3", t + 8 * SEC); /* the replay of eps[1] */
    eps[1].idempotency_key = eps[n].idempotency_key = key;
    return n + 1;
}

/* Insert the n episodes as one group in its own transaction; -1 when it failed (rolled
 * back). */
static int insert_group(struct arena *a, struct episode *eps, size_t n, int *inserted,
                        struct err *err)
{
    struct arena *as[9];
    struct episode *ps[9];
    size_t i;

    for (i = 0; i < n; i++) {
        as[i] = a;
        ps[i] = &eps[i];
    }
    if (store_tx_begin(g.st, err) < 0)
        return -1;
    if (store_episode_insert_group(g.st, as, ps, n, inserted, err) < 0 ||
        store_tx_commit(g.st, err) < 0) {
        store_tx_rollback(g.st);
        return -1;
    }
    return 0;
}

/* The single-episode paths (store_episode_insert, the ingest writer's
 * store_episode_insert_group) count from C too: exact after each, replays counted once,
 * a failing group or episode (a duplicate id, an injected fault at each statement) changes
 * nothing. */
static void test_single_and_group_inserts_keep_the_counters(void **state)
{
    struct arena *a = *state;
    struct err err = ERR_INIT;
    struct episode eps[9], one;
    int inserted[9];
    const char *before, *key = uniq(a, "key");
    int64_t g1, g2, g3, sessions, nth;
    size_t n, i;
    int ok, ok_group, fresh;

    if (!is_sqlite())
        skip();
    g1 = gen_of(a, sub.s1, NULL);
    g2 = gen_of(a, sub.s2, "ta");
    g3 = gen_of(a, sub.s1, "ta");
    sessions = stat_of(a, "session_count", sub.s1, NULL);
    n = group_episodes(eps, T0 + 11 * DAY, key);
    assert_int_equal(insert_group(a, eps, n, inserted, &err), 0);
    for (i = 0; i < n; i++)
        assert_int_equal(inserted[i], i < n - 1);
    assert_string_equal(eps[n - 1].id, eps[1].id); /* the replay read the stored row */
    counters_right(a, "after a group");
    assert_int_equal(stat_of(a, "session_count", sub.s1, NULL), sessions + 1); /* + g1 */
    assert_int_equal(stat_of(a, "session_count", sub.s1, "ta"), 1);
    assert_int_equal(stat_of(a, "episode_count", sub.s1, "ta"), 1);
    assert_int_equal(stat_of(a, "episode_count", sub.rsv, NULL), -1); /* no row */
    assert_true(gen_of(a, sub.s1, NULL) > g1);
    assert_true(gen_of(a, sub.s2, "ta") > g2);
    assert_true(gen_of(a, sub.s1, "ta") > g3);

    /* one episode at a time, outside a transaction (its own) and inside one; a replay */
    n = group_episodes(eps, T0 + 12 * DAY, uniq(a, "key"));
    for (i = 0; i < n; i++) {
        fresh = -1;
        if (i % 2) {
            assert_int_equal(store_episode_insert(g.st, a, &eps[i], &fresh, &err), 0);
        } else {
            assert_int_equal(store_tx_begin(g.st, &err), 0);
            assert_int_equal(store_episode_insert(g.st, a, &eps[i], &fresh, &err), 0);
            assert_int_equal(store_tx_commit(g.st, &err), 0);
        }
        assert_int_equal(fresh, i < n - 1);
        counters_right(a, arena_printf(a, "after single episode %zu", i));
    }

    /* a group whose last episode fails (an id that exists): nothing of it stays, and the
     * episodes written again one by one (the writer's fallback) count exactly once */
    before = dump(a);
    n = group_episodes(eps, T0 + 13 * DAY, uniq(a, "key"));
    one = eps[n - 1];
    memcpy(eps[n - 1].id, eps[0].id, sizeof(eps[0].id));
    eps[n - 1].idempotency_key = NULL;
    assert_int_equal(insert_group(a, eps, n, inserted, &err), -1);
    err_release(&err);
    err_init(&err);
    assert_string_equal(dump(a), before);
    counters_right(a, "after a failed group");
    eps[n - 1] = one;
    for (i = 0; i < n; i++)
        assert_int_equal(store_episode_insert(g.st, a, &eps[i], &fresh, &err), 0);
    counters_right(a, "after the failed group's episodes one by one");

    /* subjects and a tenant that JSON must escape (the runs of a write reach the tables
     * as one JSON array), in a group and in bulk */
    n = 0;
    eps[n++] = session_ep(NULL, uniq(a, "q\"uo\\te"), "s", T0 + 13 * DAY);
    eps[n++] = session_ep("t\"\\\x01", uniq(a, "tab\tnl\n\x1f"), "s", T0 + 13 * DAY);
    eps[n++] = session_ep(NULL, uniq(a, "\xc3\xa9t\xc3\xa9 /\\u0041"), NULL, T0 + 13 * DAY);
    assert_int_equal(insert_group(a, eps, n, inserted, &err), 0);
    counters_right(a, "after a group of subjects JSON escapes");
    assert_int_equal(stat_of(a, "episode_count", eps[1].subject_id, eps[1].tenant_id), 1);
    for (i = 0; i < n; i++)
        eps[i] = session_ep(eps[i].tenant_id, eps[i].subject_id, "s2", T0 + 13 * DAY);
    assert_int_equal(store_episode_insert_many(g.st, eps, n, &err), 0);
    counters_right(a, "after a bulk insert of subjects JSON escapes");
    assert_int_equal(stat_of(a, "session_count", eps[1].subject_id, eps[1].tenant_id), 2);

    /* a fault at each statement of a group, then of a single episode */
    for (nth = 1; nth < 500; nth++) {
        n = group_episodes(eps, T0 + 14 * DAY, arena_printf(a, "fault-%lld", (long long)nth));
        before = dump(a);
        store_fault_arm(nth, nth % 2 ? STORE_FAULT_FULL : STORE_FAULT_IOERR);
        ok_group = insert_group(a, eps, n, inserted, &err) == 0;
        ok = ok_group;
        if (ok) {
            one = session_ep(NULL, sub.s3, "f", T0 + 15 * DAY);
            ok = store_episode_insert(g.st, a, &one, &fresh, &err) == 0;
        }
        store_fault_disarm();
        g.st->broken = 0;
        err_release(&err);
        err_init(&err);
        counters_right(a, arena_printf(a, "single paths, fault at statement %lld",
                                       (long long)nth));
        if (ok) {
            assert_false(store_fault_fired());
            break;
        }
        if (!ok_group) /* the group failed whole */
            assert_string_equal(dump(a), before);
        else /* the single episode failed alone */
            assert_int_equal(raw_count(a, arena_printf(a,
                                                       "SELECT count(*) FROM episodes WHERE"
                                                       " subject_id = %s AND session_id = 'f'",
                                                       lit(a, sub.s3))),
                             0);
    }
    assert_true(nth > 10);
    assert_true(nth < 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rows_before_and_after_the_step, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_bulk_paths_keep_the_counters, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_failed_bulk_writes_change_nothing, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_single_and_group_inserts_keep_the_counters,
                                        test_setup, test_teardown),
    };

    return cmocka_run_group_tests(tests, setup, close_old_database);
}
