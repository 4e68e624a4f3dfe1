/* test_store_explorer.c - the store contract suite for the admin explorer's reads and the
 * delete selection (spec/api.md §7.4, §7.5), run unchanged on every backend: subject_stats,
 * kept by the schema's triggers, follows every kind of write (episode and memory inserts,
 * subject deletes, compile resets, resolution upserts and raw resolution rows, set-based
 * copies) and leaves reserved subjects out; the listing's sorts, filters and pages; the
 * memory and episode pages; citing counts. ENGRAM_TEST_DATABASE_URL picks the database
 * (default: a fresh SQLite temp file). Every test makes its own subjects and tenants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/ts.h"

#include "store_harness.h" /* g, group and test setup, ids, episode and memory rows */
#include "store_raw.h"     /* raw SQL beneath the interface, resolution and memory rows */

/* The pairs whose subject starts with prefix (every tenant; memory-only pairs too) as
 * "subject|tenant|episodes|memories;" lines in order, tenant "-" for none. */
static const char *pairs(struct arena *a, const char *prefix)
{
    const struct subject_selector sel = { .prefix = prefix,
                                          .all_tenants = 1,
                                          .older_than = TS_NULL };
    struct subject_match_rows m;
    struct err err = ERR_INIT;
    const char *s = "";
    size_t i;

    assert_int_equal(store_subject_match(g.st, a, &sel, &m, &err), 0);
    for (i = 0; i < m.n; i++)
        s = arena_printf(a, "%s%s|%s|%lld|%lld;", s, m.items[i].subject_id,
                         m.items[i].tenant_id ? m.items[i].tenant_id : "-",
                         (long long)m.items[i].episode_count, (long long)m.items[i].memory_count);
    return s;
}

/* The listing of pairs matching search, in q's order, as "subject|tenant|sessions|open;". */
static const char *listed(struct arena *a, struct explorer_subject_query q, int64_t *total)
{
    struct explorer_subject_rows rows;
    struct err err = ERR_INIT;
    const char *s = "";
    size_t i;

    q.all_tenants = !q.tenant;
    if (!q.limit)
        q.limit = 50;
    assert_int_equal(store_explorer_subjects(g.st, a, &q, &rows, &err), 0);
    for (i = 0; i < rows.n; i++)
        s = arena_printf(a, "%s%s|%s|%lld|%lld;", s, rows.items[i].subject_id,
                         rows.items[i].tenant_id ? rows.items[i].tenant_id : "-",
                         (long long)rows.items[i].session_count,
                         (long long)rows.items[i].open_sessions);
    if (total)
        *total = rows.total;
    return s;
}

static struct episode session_ep(struct arena *a, const char *tenant, const char *subject,
                                 const char *session, int64_t at)
{
    struct episode ep = make_ep(tenant, subject, at);

    ep.session_id = session;
    insert_ok(a, &ep);
    return ep;
}

static void test_store_explorer_stats_follow_writes(void **state)
{
    struct arena *a = *state;
    const char *p = uniq(a, "sf"), *s1 = arena_printf(a, "%s-1", p);
    struct err err = ERR_INIT;
    struct row_counts gone;
    struct memory m = make_mem("ta", s1, T0);
    int64_t deleted;

    session_ep(a, "ta", s1, "x", T0);
    session_ep(a, "ta", s1, "x", T0 + SEC);
    session_ep(a, "ta", s1, "y", T0 + 2 * SEC);
    add_ep(a, NULL, s1, T0);
    add_mem(&m);
    m = make_mem("tb", s1, T0); /* a pair with a memory only */
    add_mem(&m);
    assert_string_equal(pairs(a, p), arena_printf(a, "%s|-|1|0;%s|ta|3|1;%s|tb|0|1;", s1, s1, s1));
    assert_string_equal(listed(a,
                               (struct explorer_subject_query){
                                   .search = p, .has_open = -1, .sort = EXPLORER_SORT_SUBJECT },
                               NULL),
                        arena_printf(a, "%s|-|0|0;%s|ta|2|0;", s1, s1));
    /* a forced recompile deletes the memories of one pair */
    assert_int_equal(store_compile_reset(g.st,
                                         &(struct store_scope){ .tenant = "ta", .subject = s1 },
                                         &deleted, &err),
                     0);
    assert_int_equal(deleted, 1);
    assert_string_equal(pairs(a, p), arena_printf(a, "%s|-|1|0;%s|ta|3|0;%s|tb|0|1;", s1, s1, s1));
    /* deleting a pair drops its row; the others stay */
    assert_int_equal(store_subject_delete(
                         g.st, &(struct store_scope){ .tenant = "ta", .subject = s1 }, &gone, &err),
                     0);
    assert_int_equal(gone.episodes, 3);
    assert_string_equal(pairs(a, p), arena_printf(a, "%s|-|1|0;%s|tb|0|1;", s1, s1));
    assert_int_equal(store_subject_delete(
                         g.st, &(struct store_scope){ .tenant = "tb", .subject = s1 }, &gone, &err),
                     0);
    assert_int_equal(
        store_subject_delete(g.st, &(struct store_scope){ .subject = s1 }, &gone, &err), 0);
    assert_string_equal(pairs(a, p), "");
}

static void test_store_explorer_open_sessions(void **state)
{
    struct arena *a = *state;
    const char *p = uniq(a, "os"), *s1 = arena_printf(a, "%s-1", p);
    struct resolution r = { .session_id = "x",
                            .status = "open",
                            .subject_id = s1,
                            .metadata = "{}",
                            .resolved_at = TS_NULL,
                            .updated_at = T0 };
    struct err err = ERR_INIT;
    int64_t total;

    add_ep(a, NULL, s1, T0);
    uuid_v4(r.id);
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_resolution_upsert(g.st, a, &r, &err), 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    assert_string_equal(
        listed(a, (struct explorer_subject_query){ .search = p, .has_open = 1 }, &total),
        arena_printf(a, "%s|-|0|1;", s1));
    r.status = "resolved";
    r.updated_at = T0 + SEC;
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_resolution_upsert(g.st, a, &r, &err), 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    assert_string_equal(
        listed(a, (struct explorer_subject_query){ .search = p, .has_open = 1 }, &total), "");
    assert_int_equal(total, 0);
    assert_string_equal(
        listed(a, (struct explorer_subject_query){ .search = p, .has_open = 0 }, &total),
        arena_printf(a, "%s|-|0|0;", s1));
    /* raw rows count too: an open resolution of a subject without episodes keeps a row that
     * the listing (pairs with episodes) does not show */
    add_resolution(a, arena_printf(a, "%s-2", p),
                   &(struct res_row){ .id = new_id(a),
                                      .session_id = "z",
                                      .status = "open",
                                      .metadata = "{}",
                                      .resolved_at = TS_NULL,
                                      .created_at = T0,
                                      .updated_at = T0 });
    assert_int_equal(raw_count(a, arena_printf(a,
                                               "SELECT count(*) FROM subject_stats WHERE "
                                               "subject_id = '%s-2' AND open_sessions = 1",
                                               p)),
                     1);
    assert_string_equal(
        listed(a, (struct explorer_subject_query){ .search = p, .has_open = -1 }, NULL),
        arena_printf(a, "%s|-|0|0;", s1));
}

static void test_store_explorer_reserved_and_copies(void **state)
{
    struct arena *a = *state;
    const char *p = uniq(a, "rc"), *src = arena_printf(a, "%s-src", p);
    const char *snap = arena_printf(a, "_snapshot/%s/v1", p);
    struct err err = ERR_INIT;
    struct row_counts n;

    add_ep(a, NULL, src, T0);
    add_ep(a, NULL, src, T0 + SEC);
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_subject_copy(g.st,
                                        &(struct subject_copy){ .src_subject = src,
                                                                .src_all_tenants = 1,
                                                                .dst_subject = snap,
                                                                .clamp_at = TS_NULL },
                                        &n, &err),
                     0);
    assert_int_equal(
        store_subject_copy(g.st,
                           &(struct subject_copy){ .src_subject = snap,
                                                   .src_all_tenants = 1,
                                                   .dst_subject = arena_printf(a, "%s-dst", p),
                                                   .dst_tenant = "tc",
                                                   .clamp_at = TS_NULL },
                           &n, &err),
        0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    assert_int_equal(n.episodes, 2);
    /* the snapshot source has no row; the restored copy has one */
    assert_int_equal(raw_count(a, arena_printf(a,
                                               "SELECT count(*) FROM subject_stats WHERE "
                                               "subject_id = '%s'",
                                               snap)),
                     0);
    assert_string_equal(pairs(a, p), arena_printf(a, "%s-dst|tc|2|0;%s-src|-|2|0;", p, p));
}

static void test_store_explorer_listing(void **state)
{
    struct arena *a = *state;
    const char *p = uniq(a, "ls");
    struct explorer_subject_query q = { .search = p, .has_open = -1 };
    int64_t total;

    add_ep(a, NULL, arena_printf(a, "%s-a", p), T0 + 3 * SEC);
    add_ep(a, NULL, arena_printf(a, "%s-b", p), T0 + 1 * SEC);
    add_ep(a, NULL, arena_printf(a, "%s-b", p), T0 + 2 * SEC);
    add_ep(a, "tz", arena_printf(a, "%s-c", p), T0 + 5 * SEC);
    q.sort = EXPLORER_SORT_LAST_ACTIVITY;
    q.descending = 1;
    assert_string_equal(listed(a, q, &total),
                        arena_printf(a, "%s-c|tz|0|0;%s-a|-|0|0;%s-b|-|0|0;", p, p, p));
    assert_int_equal(total, 3);
    q.sort = EXPLORER_SORT_EPISODES;
    q.limit = 1;
    q.offset = 0;
    assert_string_equal(listed(a, q, &total), arena_printf(a, "%s-b|-|0|0;", p));
    assert_int_equal(total, 3);
    q.limit = 0;
    q.tenant = "tz";
    assert_string_equal(listed(a, q, &total), arena_printf(a, "%s-c|tz|0|0;", p));
    assert_int_equal(total, 1);
}

static void test_store_explorer_pages(void **state)
{
    struct arena *a = *state;
    const char *s = uniq(a, "pg");
    struct store_scope all = { .subject = s, .all_tenants = 1 };
    struct episode e1 = session_ep(a, "ta", s, "x", T0), e2 = session_ep(a, "tb", s, "y", T0 + SEC);
    struct memory m1 = make_mem("ta", s, T0), m2 = make_mem("tb", s, T0 + SEC);
    const char *ids[2] = { e1.id, e2.id };
    struct explorer_episode_rows eps;
    struct explorer_memory_rows mems;
    struct explorer_summary sum;
    struct err err = ERR_INIT;
    int64_t counts[2];

    m1.source_episode_ids = arena_printf(a, "[\"%s\"]", e1.id);
    m2.source_episode_ids = arena_printf(a, "[\"%s\",\"%s\"]", e1.id, e2.id);
    add_mem(&m1);
    add_mem(&m2);
    assert_int_equal(store_explorer_episodes(g.st, a, &all,
                                             &(struct explorer_episode_query){ .limit = 10 }, &eps,
                                             &err),
                     0);
    assert_int_equal(eps.total, 2);
    assert_string_equal(eps.items[0].id, e2.id); /* newest first */
    assert_int_equal(
        store_explorer_episodes(g.st, a, &(struct store_scope){ .tenant = "ta", .subject = s },
                                &(struct explorer_episode_query){ .limit = 10 }, &eps, &err),
        0);
    assert_int_equal(eps.total, 1);
    assert_int_equal(
        store_explorer_memories(g.st, a, &all,
                                &(struct explorer_memory_query){ .cites = ids + 1,
                                                                 .ncites = 1,
                                                                 .created_after = TS_NULL,
                                                                 .created_before = TS_NULL,
                                                                 .limit = 10 },
                                &mems, &err),
        0);
    assert_int_equal(mems.total, 1);
    assert_string_equal(mems.items[0].id, m2.id);
    assert_null(mems.items[0].embedding);
    assert_int_equal(
        store_explorer_citing_counts(g.st, &all, &(struct store_ids){ ids, 2 }, counts, &err), 0);
    assert_int_equal(counts[0], 2);
    assert_int_equal(counts[1], 1);
    assert_int_equal(store_explorer_summary(g.st, a, &all, &sum, &err), 0);
    assert_int_equal(sum.episode_count, 2);
    assert_int_equal(sum.memory_count, 2);
    assert_int_equal(sum.episode_sessions, 2);
    assert_int_equal(sum.npairs, 2);
    assert_int_equal(sum.first_seen_at, T0);
    assert_int_equal(sum.last_activity_at, T0 + SEC);
    assert_string_equal(sum.any_tenant, "ta");
}

/* The delete selection reads the subject_id range of the prefix's literal head, then applies
 * the LIKE pattern: wildcards anywhere, an exact subject that prefixes another, non-ASCII. */
static void test_store_explorer_match_ranges(void **state)
{
    struct arena *a = *state;
    const char *p = uniq(a, "mr");
    struct subject_match_rows m;
    struct err err = ERR_INIT;

    add_ep(a, NULL, arena_printf(a, "%s-ab", p), T0);
    add_ep(a, NULL, arena_printf(a, "%s-abc", p), T0);
    add_ep(a, NULL, arena_printf(a, "%s-xbc", p), T0);
    add_ep(a, NULL, arena_printf(a, "%s-\xc3\xa9t\xc3\xa9", p), T0);
    assert_string_equal(pairs(a, arena_printf(a, "%s-_b", p)),
                        arena_printf(a, "%s-ab|-|1|0;%s-abc|-|1|0;%s-xbc|-|1|0;", p, p, p));
    assert_string_equal(pairs(a, arena_printf(a, "%s-a%%c", p)),
                        arena_printf(a, "%s-abc|-|1|0;", p));
    assert_string_equal(pairs(a, arena_printf(a, "%s-\xc3\xa9", p)),
                        arena_printf(a, "%s-\xc3\xa9t\xc3\xa9|-|1|0;", p));
    assert_string_equal(pairs(a, arena_printf(a, "%s-AB", p)), "");   /* case-sensitive */
    assert_int_equal(store_subject_match(g.st, a,
                                         &(struct subject_selector){
                                             .subject = arena_printf(a, "%s-ab", p),
                                             .all_tenants = 1, .older_than = TS_NULL },
                                         &m, &err), 0);
    assert_int_equal(m.n, 1);
    assert_string_equal(m.items[0].subject_id, arena_printf(a, "%s-ab", p));
}

/* Only a run of 3 characters (UTF-8, not bytes) free of `%`, `_` and `\\` can be narrowed
 * by a trigram index. */
static void test_store_explorer_search_trigram(void **state)
{
    (void)state;
    assert_true(store_search_has_trigram("abc"));
    assert_true(store_search_has_trigram("%x_abc%"));
    assert_true(store_search_has_trigram("\xc3\xa9t\xc3\xa9"));   /* 3 characters, 5 bytes */
    assert_false(store_search_has_trigram(""));
    assert_false(store_search_has_trigram("ab"));
    assert_false(store_search_has_trigram("a_c"));
    assert_false(store_search_has_trigram("ab%cd"));
    assert_false(store_search_has_trigram("ab\\cd"));
    assert_false(store_search_has_trigram("\xc3\xa9t"));            /* 2 characters, 3 bytes */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_store_explorer_stats_follow_writes),
        T(test_store_explorer_open_sessions),
        T(test_store_explorer_reserved_and_copies),
        T(test_store_explorer_listing),
        T(test_store_explorer_pages),
        T(test_store_explorer_match_ranges),
        cmocka_unit_test(test_store_explorer_search_trigram),
    };

    return cmocka_run_group_tests(tests, group_setup, snap_group_teardown);
}
