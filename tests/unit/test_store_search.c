/* test_store_search.c - the store contract suite for the search reads (memory_scan_vectors,
 * memory_scan_text, memory_get_many) and the two search paths over them: search_nearest and
 * search_memories' text path (spec/behavior.md §7.5, §9). Written only against store.h, so it
 * runs unchanged on every backend; ENGRAM_TEST_DATABASE_URL picks the database (default: a
 * fresh SQLite temp file). Every test makes its own subjects and tenants, so a shared
 * database is fine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/embed.h"
#include "service/search.h"
#include "store/store.h"
#include "util/ts.h"
#include "util/utf8.h"

#include "store_harness.h"   /* g, group and test setup, ids, memory rows */

#define DIM 8

/* Every active memory, newest first. */
static const struct memory_query newest_first = { .order = MEMORY_NEWEST_FIRST };

/* An active profile_fact of (tenant, subject) created at `at`, with vec (DIM floats) or none;
 * inserted. */
static struct memory put(const char *tenant, const char *subject, const char *kind,
                         const char *status, int64_t at, const float *vec)
{
    struct memory m = make_mem_with(tenant, subject, kind, "c", status, at);

    m.embedding = vec;
    m.embedding_dim = vec ? DIM : 0;
    add_mem(&m);
    return m;
}

/* What a scan saw: rows in arrival order, vectors decoded. */
struct seen {
    struct arena *a;
    size_t n;
    const char *id[64];
    int64_t created_at[64], seq[64];
    float vec[64][DIM];
    size_t bytes[64];
    size_t stop_after;   /* fail on this row (0 = never) */
};

static int see(void *ctx, const struct memory_vector *row, struct err *err)
{
    struct seen *s = ctx;
    size_t k;

    assert_true(s->n < 64);
    if (s->stop_after && s->n + 1 == s->stop_after)
        return err_set(err, ERR_INVALID, "stopped at row %zu", s->n + 1);
    s->id[s->n] = arena_strdup(s->a, row->id);
    s->created_at[s->n] = row->created_at;
    s->seq[s->n] = row->seq;
    s->bytes[s->n] = row->bytes;
    for (k = 0; k < DIM && row->bytes == DIM * 4; k++) {
        const unsigned char *p = row->vec + 4 * k;
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;

        memcpy(&s->vec[s->n][k], &u, sizeof(u));
    }
    s->n++;
    return 0;
}

static size_t find(const struct seen *s, const char *id)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (strcmp(s->id[i], id) == 0)
            return i;
    fail_msg("%s: not scanned", id);
    return 0;
}

static void scan(struct seen *s, const char *tenant, const char *subject, const char *kind)
{
    struct err err = ERR_INIT;

    assert_int_equal(store_memory_scan_vectors(g.st,
                                               &(struct store_scope){ .tenant = tenant,
                                                                      .subject = subject },
                                               kind, see, s, &err), 0);
}

/* The scan hands over exactly the active rows with a vector, each with its stored bytes,
 * created_at and an insertion-ordered seq. */
static void test_store_scan_vectors_rows(void **state)
{
    struct arena *a = *state;
    const char *subj = uniq(a, "scan"), *tenant = uniq(a, "ts");
    const float *v1 = test_vec(a, DIM, 1), *v2 = test_vec(a, DIM, 2), *v3 = test_vec(a, DIM, 3);
    struct memory m1, m2, m3;
    struct seen s = { .a = a };
    size_t i1, i2, i3;

    m1 = put(tenant, subj, "profile_fact", "active", T0 + 5 * SEC, v1);
    m2 = put(tenant, subj, "procedure", "active", T0 + 5 * SEC, v2);   /* same time: seq */
    m3 = put(tenant, subj, "profile_fact", "active", T0, v3);
    put(tenant, subj, "profile_fact", "active", T0, NULL);             /* no vector */
    put(tenant, subj, "profile_fact", "superseded", T0, v1);           /* not active */
    put(NULL, subj, "profile_fact", "active", T0, v1);                 /* other tenant */
    put(tenant, uniq(a, "other"), "profile_fact", "active", T0, v1);   /* other subject */

    scan(&s, tenant, subj, NULL);
    assert_int_equal(s.n, 3);
    i1 = find(&s, m1.id);
    i2 = find(&s, m2.id);
    i3 = find(&s, m3.id);
    assert_int_equal(s.bytes[i1], DIM * 4);
    assert_memory_equal(s.vec[i1], v1, DIM * sizeof(float));
    assert_memory_equal(s.vec[i2], v2, DIM * sizeof(float));
    assert_memory_equal(s.vec[i3], v3, DIM * sizeof(float));
    assert_int_equal(s.created_at[i1], T0 + 5 * SEC);
    assert_int_equal(s.created_at[i3], T0);
    assert_true(s.seq[i1] < s.seq[i2]);
    assert_true(s.seq[i2] < s.seq[i3]);

    memset(&s, 0, sizeof(s));
    s.a = a;
    scan(&s, tenant, subj, "procedure");
    assert_int_equal(s.n, 1);
    assert_string_equal(s.id[0], m2.id);

    memset(&s, 0, sizeof(s));
    s.a = a;
    scan(&s, tenant, uniq(a, "empty"), NULL);
    assert_int_equal(s.n, 0);
}

/* A callback that stops the scan makes it fail with the callback's error, and the store
 * answers the next statement as usual (PostgreSQL reads the rest of the result away). */
static void test_store_scan_vectors_stop(void **state)
{
    struct arena *a = *state;
    const char *subj = uniq(a, "stop");
    struct err err = ERR_INIT;
    struct seen s = { .a = a, .stop_after = 2 };
    struct memory *got;
    struct memory m = put(NULL, subj, "profile_fact", "active", T0, test_vec(a, DIM, 4));
    int i;

    for (i = 0; i < 20; i++)
        put(NULL, subj, "profile_fact", "active", T0 + i, test_vec(a, DIM, (unsigned)i));
    assert_int_equal(store_memory_scan_vectors(g.st, &(struct store_scope){ .subject = subj }, NULL,
                                               see, &s, &err), -1);
    assert_int_equal(err.kind, ERR_INVALID);
    assert_string_equal(err.msg, "stopped at row 2");
    assert_int_equal(s.n, 1);
    err_release(&err);
    assert_int_equal(store_memory_get(g.st, a, NULL, m.id, &got, &err), 0);
    assert_non_null(got);
    assert_string_equal(got->id, m.id);
}

/* get_many: the tenant's rows by id, without vectors; others' rows, unknown and malformed ids
 * are skipped. */
static void test_store_memory_get_many(void **state)
{
    struct memory_rows mr;
    struct arena *a = *state;
    const char *subj = uniq(a, "many"), *tenant = uniq(a, "tm");
    struct memory m1 = put(tenant, subj, "profile_fact", "active", T0, test_vec(a, DIM, 5));
    struct memory m2 = put(tenant, subj, "procedure", "superseded", T0 + 1, NULL);
    struct memory other = put(NULL, subj, "profile_fact", "active", T0, NULL);
    char unknown[UUID_STR_LEN];
    const char *ids[] = { m2.id, other.id, unknown, "not-a-uuid", m1.id, NULL };
    struct err err = ERR_INIT;
    struct memory *out, *one;
    size_t n, i;

    uuid_v4(unknown);
    ids[5] = "";
    assert_int_equal(store_memory_get_many(g.st, a, tenant, &(struct store_ids){ ids, 6 }, &mr,
                                           &err), 0);
    out = mr.items;
    n = mr.n;
    assert_int_equal(n, 2);
    for (i = 0; i < n; i++) {
        assert_true(strcmp(out[i].id, m1.id) == 0 || strcmp(out[i].id, m2.id) == 0);
        assert_null(out[i].embedding);
        assert_int_equal(store_memory_get(g.st, a, tenant, out[i].id, &one, &err), 0);
        assert_string_equal(out[i].kind, one->kind);
        assert_string_equal(out[i].status, one->status);
        assert_string_equal(out[i].content, one->content);
        assert_int_equal(out[i].created_at, one->created_at);
        assert_int_equal(out[i].updated_at, one->updated_at);
        assert_str_or_null(out[i].tenant_id, tenant);
    }
    assert_int_equal(store_memory_get_many(g.st, a, tenant, &(struct store_ids){ ids, 0 }, &mr,
                                           &err), 0);
    out = mr.items;
    n = mr.n;
    assert_int_equal(n, 0);
}

/* ---- search_nearest ---- */

struct ranked_ref {
    double dist;
    size_t index;
};

static int cmp_ref(const void *x, const void *y)
{
    const struct ranked_ref *a = x, *b = y;

    if (a->dist != b->dist)
        return a->dist < b->dist ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* The plain algorithm: every active memory with its vector in list order, a stable sort by
 * distance. search_nearest must give the same rows and the same distances, to the bit. */
static void check_against_reference(struct arena *a, const char *tenant, const char *subject,
                                    const char *kind, const float *q, size_t dim,
                                    size_t limit)
{
    struct memory_rows mr;
    struct err err = ERR_INIT;
    struct memory *all, *got;
    struct ranked_ref *ref;
    double *dist;
    size_t nall, n, i, keep;
    const struct store_scope sc = { .tenant = tenant, .subject = subject };
    const struct memory_query mq = { .kind = kind, .order = MEMORY_OLDEST_FIRST,
                                     .flags = MEMORY_WITH_EMBEDDING | MEMORY_LOAD_EMBEDDING };

    assert_int_equal(store_memory_list_active(g.st, a, &sc, &mq, &mr, &err), 0);
    all = mr.items;
    nall = mr.n;
    ref = arena_calloc(a, nall + 1, sizeof(*ref));
    for (i = 0; i < nall; i++) {
        assert_int_equal(all[i].embedding_dim, dim);
        ref[i].dist = 1.0 - embed_cosine(q, all[i].embedding, dim);
        ref[i].index = i;
    }
    qsort(ref, nall, sizeof(*ref), cmp_ref);
    keep = limit && limit < nall ? limit : nall;
    assert_int_equal(search_nearest(a, g.st, tenant, subject, kind, q, dim, limit, &got, &dist,
                                    &n, &err), 0);
    assert_int_equal(n, keep);
    for (i = 0; i < keep; i++) {
        if (strcmp(got[i].id, all[ref[i].index].id) != 0)
            fail_msg("rank %zu: %s, want %s", i, got[i].id, all[ref[i].index].id);
        assert_true(dist[i] == ref[i].dist);
        assert_null(got[i].embedding);
        assert_string_equal(got[i].status, "active");
        assert_string_equal(got[i].content, all[ref[i].index].content);
    }
}

/* Distances ascending; equal distances keep list order, which is created_at and then
 * insertion order (not insertion order alone); limit keeps the nearest. */
static void test_search_nearest_order_and_ties(void **state)
{
    struct arena *a = *state;
    const char *subj = uniq(a, "near");
    static const float q[DIM] = { 1, 0, 0, 0, 0, 0, 0, 0 };
    static const float same[DIM] = { 2, 0, 0, 0, 0, 0, 0, 0 };   /* d = 0 */
    static const float near[DIM] = { 1, 0.1f, 0, 0, 0, 0, 0, 0 };
    static const float orth[DIM] = { 0, 1, 0, 0, 0, 0, 0, 0 };   /* d = 1 */
    static const float zero[DIM] = { 0 };                         /* cosine 0: d = 1 */
    static const float far[DIM] = { -1, 0, 0, 0, 0, 0, 0, 0 };   /* d = 2 */
    struct memory m_far, m_orth_late, m_zero, m_orth_early, m_same, m_near, m_orth_tie;
    struct err err = ERR_INIT;
    struct memory *got;
    double *dist;
    size_t n;

    m_far = put(NULL, subj, "profile_fact", "active", T0, far);
    m_orth_late = put(NULL, subj, "profile_fact", "active", T0 + 9 * SEC, orth);
    m_zero = put(NULL, subj, "procedure", "active", T0 + 2 * SEC, zero);
    m_orth_early = put(NULL, subj, "profile_fact", "active", T0 + 1 * SEC, orth);
    m_same = put(NULL, subj, "profile_fact", "active", T0 + 3 * SEC, same);
    m_near = put(NULL, subj, "profile_fact", "active", T0 + 4 * SEC, near);
    m_orth_tie = put(NULL, subj, "profile_fact", "active", T0 + 2 * SEC, orth);
    put(NULL, subj, "profile_fact", "superseded", T0, q);
    put(NULL, subj, "profile_fact", "active", T0, NULL);

    assert_int_equal(search_nearest(a, g.st, NULL, subj, NULL, q, DIM, 0, &got, &dist, &n,
                                    &err), 0);
    assert_int_equal(n, 7);
    assert_string_equal(got[0].id, m_same.id);
    assert_string_equal(got[1].id, m_near.id);
    assert_string_equal(got[2].id, m_orth_early.id);   /* d = 1: by created_at, */
    assert_string_equal(got[3].id, m_zero.id);         /* then insertion at equal times */
    assert_string_equal(got[4].id, m_orth_tie.id);
    assert_string_equal(got[5].id, m_orth_late.id);
    assert_string_equal(got[6].id, m_far.id);
    assert_true(dist[0] == 1.0 - embed_cosine(q, same, DIM));
    assert_true(dist[3] == 1.0);
    assert_true(dist[6] == 2.0);
    check_against_reference(a, NULL, subj, NULL, q, DIM, 0);

    assert_int_equal(search_nearest(a, g.st, NULL, subj, NULL, q, DIM, 2, &got, NULL, &n,
                                    &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(got[1].id, m_near.id);
    assert_int_equal(search_nearest(a, g.st, NULL, subj, "procedure", q, DIM, 5, &got, &dist,
                                    &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(got[0].id, m_zero.id);
    assert_int_equal(search_nearest(a, g.st, NULL, uniq(a, "none"), NULL, q, DIM, 5, &got,
                                    &dist, &n, &err), 0);
    assert_int_equal(n, 0);
}

/* Many rows of random vectors, several sharing a timestamp, across two tenants and kinds:
 * the same answer as the plain algorithm for every limit and kind. */
static void test_search_nearest_matches_reference(void **state)
{
    struct arena *a = *state;
    const char *subj = uniq(a, "ref"), *tenant = uniq(a, "tr");
    float *q = arena_alloc(a, 64 * sizeof(*q)), *v;
    unsigned seed = 12345;
    size_t i, k;

    for (k = 0; k < 64; k++) {
        seed = seed * 1103515245u + 12345u;
        q[k] = (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
    }
    for (i = 0; i < 150; i++) {
        struct memory m = make_mem_with(i % 7 ? tenant : NULL, subj,
                                        i % 3 ? "profile_fact" : "episode_summary",
                                        arena_printf(a, "row %zu", i), "active",
                                        T0 + (int64_t)(i % 40) * SEC);

        v = arena_alloc(a, 64 * sizeof(*v));
        for (k = 0; k < 64; k++) {
            seed = seed * 1103515245u + 12345u;
            v[k] = (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
        }
        if (i % 11 == 0)
            memcpy(v, q, 64 * sizeof(*v));   /* exact ties at distance 0 */
        m.embedding = v;
        m.embedding_dim = 64;
        add_mem(&m);
    }
    check_against_reference(a, tenant, subj, NULL, q, 64, 0);
    check_against_reference(a, tenant, subj, NULL, q, 64, 10);
    check_against_reference(a, tenant, subj, "episode_summary", q, 64, 7);
    check_against_reference(a, NULL, subj, NULL, q, 64, 0);
}

/* A stored vector of another width fails the query (the callers then fall back), and the
 * read transaction it ran in is closed: the store takes a new transaction. */
static void test_search_nearest_width_mismatch(void **state)
{
    struct arena *a = *state;
    const char *subj = uniq(a, "width");
    struct memory m = make_mem_with(NULL, subj, "profile_fact", "c", "active", T0);
    struct err err = ERR_INIT;
    struct memory *got;
    size_t n = 7;

    put(NULL, subj, "profile_fact", "active", T0, test_vec(a, DIM, 9));
    m.embedding = test_vec(a, 4, 9);
    m.embedding_dim = 4;
    add_mem(&m);
    assert_int_equal(search_nearest(a, g.st, NULL, subj, NULL, test_vec(a, DIM, 1), DIM, 5,
                                    &got, NULL, &n, &err), -1);
    assert_int_equal(err.kind, ERR_INTERNAL);
    assert_int_equal(n, 0);
    err_release(&err);
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
}

/* ---- the text path ---- */

/* What a text scan saw, stopping after `stop` rows (0 = never). */
struct texts {
    struct arena *a;
    size_t n, stop;
    const char *id[64], *content[64];
};

static int see_text(void *ctx, const struct memory_text *row, struct err *err)
{
    struct texts *t = ctx;

    (void)err;
    assert_true(t->n < 64);
    t->id[t->n] = arena_strdup(t->a, row->id);
    t->content[t->n] = arena_strdup(t->a, row->content);
    t->n++;
    return t->stop && t->n == t->stop;
}

/* The text scan gives id and content of the active rows in memory_list_active's newest-first
 * order (created_at descending, insertion order within one created_at), and a callback
 * answering 1 ends it there without an error. */
static void test_store_scan_text_order_and_stop(void **state)
{
    struct memory_rows mr;
    struct arena *a = *state;
    const char *subj = uniq(a, "text"), *tenant = uniq(a, "tt");
    const struct store_scope sc = { .tenant = tenant, .subject = subj };
    struct err err = ERR_INIT;
    struct texts t = { .a = a };
    struct memory *list;
    size_t n, i;
    int k;

    for (k = 0; k < 12; k++) {
        struct memory m = make_mem_with(tenant, subj, k % 3 ? "profile_fact" : "procedure",
                                        arena_printf(a, "content %d", k),
                                        k == 5 ? "superseded" : "active",
                                        T0 + (k % 4) * SEC);

        m.embedding = k % 2 ? test_vec(a, DIM, (unsigned)k) : NULL;
        m.embedding_dim = k % 2 ? DIM : 0;
        add_mem(&m);
    }
    put(NULL, subj, "profile_fact", "active", T0, NULL);   /* another tenant */

    assert_int_equal(store_memory_scan_text(g.st, &sc, &(struct memory_text_scan){ 0 }, see_text, &t, &err), 0);
    assert_int_equal(store_memory_list_active(g.st, a, &sc, &newest_first, &mr, &err), 0);
    list = mr.items;
    n = mr.n;
    assert_int_equal(t.n, 11);
    assert_int_equal(n, 11);
    for (i = 0; i < n; i++) {
        assert_string_equal(t.id[i], list[i].id);
        assert_string_equal(t.content[i], list[i].content);
    }

    memset(&t, 0, sizeof(t));
    t.a = a;
    assert_int_equal(store_memory_scan_text(g.st, &sc, &(struct memory_text_scan){ .kind = "procedure" }, see_text, &t, &err), 0);
    assert_int_equal(store_memory_list_active(g.st, a, &sc,
                                              &(struct memory_query){
                                                  .kind = "procedure", .order = MEMORY_NEWEST_FIRST },
                                              &mr, &err), 0);
    list = mr.items;
    n = mr.n;
    assert_int_equal(t.n, n);
    for (i = 0; i < n; i++)
        assert_string_equal(t.id[i], list[i].id);

    memset(&t, 0, sizeof(t));
    t.a = a;
    t.stop = 3;
    assert_int_equal(store_memory_scan_text(g.st, &sc, &(struct memory_text_scan){ 0 }, see_text, &t, &err), 0);
    assert_int_equal(t.n, 3);
    /* the store is at once usable again */
    assert_int_equal(store_memory_list_active(g.st, a, &sc,
                                              &(struct memory_query){ .order = MEMORY_NEWEST_FIRST,
                                                                      .limit = 2 },
                                              &mr, &err), 0);
    list = mr.items;
    n = mr.n;
    assert_int_equal(n, 2);
}

/* search_memories' text path: the first `limit` active memories, newest first, whose content
 * contains q literally under ASCII case folding, whole rows; the same as filtering the full
 * newest-first list. */
static void test_search_text_matches_filtering_the_list(void **state)
{
    struct memory_rows mr;
    static const char *const words[] = { "Wayne Corp", "wayne", "Acme", "WAYNE%", "w_yne",
                                         "nothing" };
    static const char *const queries[] = { "wayne", "WAYNE%", "_", "acme", "absent", "e" };
    struct arena *a = *state;
    const char *subj = uniq(a, "textsearch"), *tenant = uniq(a, "tx");
    const struct store_scope sc = { .tenant = tenant, .subject = subj };
    struct err err = ERR_INIT;
    struct memory *got, *list;
    size_t n, nlist, i, j, qi, lim;
    int k;

    for (k = 0; k < 40; k++) {
        struct memory m = make_mem_with(tenant, subj, k % 4 ? "profile_fact" : "procedure",
                                        arena_printf(a, "%d: %s", k, words[k % 6]),
                                        k % 9 == 4 ? "superseded" : "active",
                                        T0 + (k % 7) * SEC);

        add_mem(&m);
    }
    assert_int_equal(store_memory_list_active(g.st, a, &sc, &newest_first, &mr, &err), 0);
    list = mr.items;
    nlist = mr.n;
    for (qi = 0; qi < sizeof(queries) / sizeof(queries[0]); qi++) {
        for (lim = 1; lim <= 40; lim += 13) {
            struct search_query sq = { .subject_id = subj, .q = queries[qi], .limit = lim };

            assert_int_equal(search_memories(a, g.st, tenant, &sq, &got, &n, &err), 0);
            for (i = 0, j = 0; i < nlist && j < lim; i++) {
                if (!search_contains_ci(list[i].content, queries[qi]))
                    continue;
                if (j >= n)
                    fail_msg("q '%s' limit %zu: %zu rows, want more", queries[qi], lim, n);
                assert_string_equal(got[j].id, list[i].id);
                assert_string_equal(got[j].content, list[i].content);
                assert_string_equal(got[j].status, "active");
                assert_int_equal(got[j].created_at, list[i].created_at);
                j++;
            }
            assert_int_equal(n, j);
        }
    }
}

/* ---- compact vector codes (issue 18): search_nearest equals the exact search after every
 * kind of write ---- */

#define CDIM 64
#define CROWS 90

/* search_nearest with limit 5 gives the exact search's rows in its order; returns the first
 * id ("" when none). */
static const char *same_as_exact(struct arena *a, const char *subject, const float *q)
{
    struct err err = ERR_INIT;
    struct memory *got, *exact;
    size_t n, nexact, i;

    assert_int_equal(search_nearest(a, g.st, NULL, subject, NULL, q, CDIM, 5, &got, NULL, &n,
                                     &err), 0);
    assert_int_equal(search_nearest_exact(a, g.st, NULL, subject, NULL, q, CDIM, 5, &exact,
                                          NULL, &nexact, &err), 0);
    assert_int_equal(n, nexact);
    for (i = 0; i < n; i++)
        assert_string_equal(got[i].id, exact[i].id);
    return n ? got[0].id : "";
}

static void test_codes_follow_every_write(void **state)
{
    struct arena *a = *state;
    const char *subj = uniq(a, "codes"), *copy = uniq(a, "codes-copy");
    struct memory rows[CROWS];
    float *v, q[CDIM];
    unsigned seed = 77;
    struct err err = ERR_INIT;
    struct row_counts rc;
    size_t i, k;

    for (i = 0; i < CROWS; i++) {
        v = arena_alloc(a, CDIM * sizeof(*v));
        for (k = 0; k < CDIM; k++) {
            seed = seed * 1103515245u + 12345u;
            v[k] = (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
        }
        rows[i] = make_mem_with(NULL, subj, "profile_fact", arena_printf(a, "row %zu", i),
                                "active", T0 + (int64_t)i * SEC);
        rows[i].embedding = v;
        rows[i].embedding_dim = CDIM;
    }
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_memory_insert_many(g.st, rows, CROWS, &err), 0);   /* import */
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    memcpy(q, rows[5].embedding, sizeof(q));
    assert_string_equal(same_as_exact(a, subj, q), rows[5].id);
    assert_string_equal(same_as_exact(a, subj, q), rows[5].id);   /* from the cache now */

    /* superseded: gone from the codes the cache holds too */
    assert_int_equal(store_memory_supersede(g.st, NULL, rows[5].id, T0 + 500 * SEC,
                                            T0 + 500 * SEC, &err), 0);
    assert_string_not_equal(same_as_exact(a, subj, q), rows[5].id);
    /* a new vector, then none */
    assert_int_equal(store_memory_set_embedding(g.st, rows[10].id, q, CDIM, &err), 0);
    assert_string_equal(same_as_exact(a, subj, q), rows[10].id);
    assert_int_equal(store_memory_set_embedding(g.st, rows[10].id, NULL, 0, &err), 0);
    assert_string_not_equal(same_as_exact(a, subj, q), rows[10].id);
    /* many at once (the compile path): rows 20 and 21 get q and row 3's vector */
    {
        const char *ids[2] = { rows[20].id, rows[21].id };
        float two[2 * CDIM];

        memcpy(two, q, sizeof(q));
        memcpy(two + CDIM, rows[3].embedding, sizeof(q));
        assert_int_equal(store_tx_begin(g.st, &err), 0);
        assert_int_equal(store_memory_set_embeddings(g.st, ids, two, 2, CDIM, &err), 0);
        assert_int_equal(store_tx_commit(g.st, &err), 0);
        assert_string_equal(same_as_exact(a, subj, q), rows[20].id);
        assert_string_equal(same_as_exact(a, subj, rows[3].embedding), rows[3].id);
    }
    /* a single insert with a vector */
    {
        struct memory m = make_mem_with(NULL, subj, "procedure", "one more", "active",
                                        T0 + 900 * SEC);

        m.embedding = q;
        m.embedding_dim = CDIM;
        add_mem(&m);
        assert_string_equal(same_as_exact(a, subj, q), rows[20].id);   /* a tie: older first */
        assert_int_equal(store_memory_set_embedding(g.st, rows[20].id, NULL, 0, &err), 0);
        assert_string_equal(same_as_exact(a, subj, q), m.id);
    }
    /* a set-based copy (snapshot capture and restore) carries codes for its copies */
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    assert_int_equal(store_subject_copy(g.st, &(struct subject_copy){ .src_subject = subj,
                                                                      .dst_subject = copy,
                                                                      .clamp_at = TS_NULL },
                                        &rc, &err), 0);
    assert_int_equal(store_tx_commit(g.st, &err), 0);
    assert_int_equal(rc.memories, CROWS + 1);
    assert_string_not_equal(same_as_exact(a, copy, q), "");
    /* deleted: nothing left to find */
    assert_int_equal(store_subject_delete(g.st, &(struct store_scope){ .subject = subj }, &rc,
                                          &err), 0);
    assert_string_equal(same_as_exact(a, subj, q), "");
    assert_string_not_equal(same_as_exact(a, copy, q), "");
}

/* ---- the indexed text path against the scan it replaced (issue 18) ---- */

/* Pieces the random contents and queries are made of: ASCII letters in both cases, LIKE and
 * FTS5 quoting characters, letters whose Unicode case folding differs from ASCII's (the index
 * folds them, the search must not), and multi-byte characters of every width. */
static const char *const pieces[] = {
    "a", "A", "b", "B", "c", "C", "x", "X", "o", "O", " ", "%", "_", "\"", "\\", "'", "*",
    "\xc3\xa9" /* é */, "\xc3\x89" /* É */, "\xc3\x9f" /* ß */, "\xe1\xba\x9e" /* ẞ */,
    "\xc4\xb0" /* İ */, "\xc4\xb1" /* ı */, "\xe2\x84\xaa" /* Kelvin K */, "k", "K",
    "\xce\xa3" /* Σ */, "\xcf\x83" /* σ */, "\xcf\x82" /* ς */, "\xe6\x97\xa5" /* 日 */,
    "\xf0\x9f\x98\x80" /* 😀 */, "1", "-",
};
#define NPIECES (sizeof(pieces) / sizeof(pieces[0]))

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33) % n;
}

/* A string of n random pieces, in a. */
static char *random_text(struct arena *a, size_t n)
{
    char *out = arena_alloc(a, 4 * n + 1);
    size_t i, k = 0, len;
    const char *p;

    for (i = 0; i < n; i++) {
        p = pieces[rnd(NPIECES)];
        len = strlen(p);
        memcpy(out + k, p, len);
        k += len;
    }
    out[k] = '\0';
    return out;
}

/* A query cut from text: `chars` whole characters from a random character start, ASCII
 * letters' case flipped at random; in a. */
static char *cut_query(struct arena *a, const char *text, size_t chars)
{
    size_t nchars = utf8_count(text, strlen(text)), start, i;
    const char *p = text, *end;
    char *q;

    if (nchars == 0)
        return arena_strdup(a, "a");
    if (chars > nchars)
        chars = nchars;
    start = rnd((uint32_t)(nchars - chars + 1));
    for (i = 0; i < start; i++)
        p += utf8_prefix_bytes(p, strlen(p), 1);
    end = p;
    for (i = 0; i < chars; i++)
        end += utf8_prefix_bytes(end, strlen(end), 1);
    q = arena_strndup(a, p, (size_t)(end - p));
    for (i = 0; q[i]; i++) {
        if (((q[i] >= 'a' && q[i] <= 'z') || (q[i] >= 'A' && q[i] <= 'Z')) && rnd(2))
            q[i] ^= 0x20;
    }
    return q;
}

/* nq random queries on sc (cut from its contents with flipped case, and made up, long and
 * under three characters), each through search_memories' text path, against filtering the
 * newest-first list with search_contains_ci, for every limit. */
static void check_text_queries(struct arena *a, const struct store_scope *sc, size_t nq)
{
    static const size_t limits[] = { 1, 3, 20, 100 };
    struct err err = ERR_INIT;
    struct memory_rows mr;
    struct memory *got, *list;
    size_t n, nlist, i, j, qi, lim;
    const char *q;

    assert_int_equal(store_memory_list_active(g.st, a, sc, &newest_first, &mr, &err), 0);
    list = mr.items;
    nlist = mr.n;
    for (qi = 0; qi < nq; qi++) {
        if (qi % 3 == 2 || nlist == 0)
            q = random_text(a, 1 + rnd(6));
        else
            q = cut_query(a, list[rnd((uint32_t)nlist)].content, 1 + rnd(8));
        lim = limits[qi % 4];
        {
            struct search_query sq = { .subject_id = sc->subject,
                                       .kind = qi % 7 == 6 ? "procedure" : NULL, .q = q,
                                       .limit = lim };

            assert_int_equal(search_memories(a, g.st, sc->tenant, &sq, &got, &n, &err), 0);
            for (i = 0, j = 0; i < nlist && j < lim; i++) {
                if (sq.kind && strcmp(list[i].kind, sq.kind) != 0)
                    continue;
                if (!search_contains_ci(list[i].content, q))
                    continue;
                if (j >= n)
                    fail_msg("q '%s' limit %zu: %zu rows, want more", q, lim, n);
                if (strcmp(got[j].id, list[i].id) != 0)
                    fail_msg("q '%s' limit %zu: row %zu is '%s', want '%s'", q, lim, j,
                             got[j].content, list[i].content);
                j++;
            }
            if (n != j)
                fail_msg("q '%s' limit %zu: %zu rows, want %zu", q, lim, n, j);
        }
    }
}

/* count random memories: every fifth of another subject, some superseded. */
static void add_random_mems(struct arena *a, const char *tenant, const char *subj,
                            const char *other, int count)
{
    int k;

    for (k = 0; k < count; k++) {
        struct memory m = make_mem_with(tenant, k % 5 ? subj : other,
                                        k % 3 ? "profile_fact" : "procedure",
                                        random_text(a, 1 + rnd(24)),
                                        k % 11 == 3 ? "superseded" : "active",
                                        T0 + (int64_t)rnd(50) * SEC);

        add_mem(&m);
    }
}

/* count random active memories of subj, the fourth holding marker. */
static void add_marked_mems(struct arena *a, const char *tenant, const char *subj, int count,
                            const char *marker)
{
    int k;

    for (k = 0; k < count; k++) {
        struct memory m = make_mem_with(tenant, subj, "profile_fact",
                                        k == 3 ? marker : random_text(a, 1 + rnd(24)),
                                        "active", T0 + (int64_t)rnd(50) * SEC);

        add_mem(&m);
    }
}

/* Property: for random contents (non-ASCII, mixed case, quoting characters) and random
 * queries, the indexed text path gives exactly what filtering the newest-first list gives. */
static void test_search_text_index_matches_scan(void **state)
{
    struct arena *a = *state;
    const char *subj = uniq(a, "trgm"), *tenant = uniq(a, "tt"), *other = uniq(a, "trgm2");

    rng_state = 0x5eed0018;
    /* More rows than the SQLite walk reads before the index takes over (TEXT_WALK_ROWS). */
    add_random_mems(a, tenant, subj, other, 800);
    check_text_queries(a, &(struct store_scope){ .tenant = tenant, .subject = subj }, 600);
}

/* The text indexes follow writes made after a search brought them up to date (SQLite defers
 * them: schema step 14): rows added above the mark, a subject deleted below it, and rows
 * inserted after the highest rows were deleted (SQLite reuses their seq, at or below the
 * mark); for the substring path and for mode=bm25. */
static void test_search_text_index_follows_writes(void **state)
{
    struct arena *a = *state;
    const char *subj = uniq(a, "fw"), *tenant = uniq(a, "ft"), *last = uniq(a, "fw2");
    const struct store_scope sc = { .tenant = tenant, .subject = subj };
    const struct store_scope sl = { .tenant = tenant, .subject = last };
    struct err err = ERR_INIT;
    struct row_counts rc;
    struct memory *got;
    size_t n;

    rng_state = 0x5eed0019;
    add_random_mems(a, tenant, subj, last, 400);
    check_text_queries(a, &sc, 60);
    add_random_mems(a, tenant, subj, last, 300);   /* above the mark */
    check_text_queries(a, &sc, 60);
    check_text_queries(a, &sl, 30);
    /* The newest rows (the highest seq) are last's: delete them, then write new ones. */
    add_marked_mems(a, tenant, last, 40, "zyxwv marker");
    check_text_queries(a, &sl, 30);   /* brings the mark above last's rows */
    assert_int_equal(store_subject_delete(g.st, &sl, &rc, &err), 0);
    check_text_queries(a, &sl, 10);
    add_marked_mems(a, tenant, last, 30, "qwert marker");
    check_text_queries(a, &sl, 60);
    check_text_queries(a, &sc, 60);
    {
        struct search_query sq = { .subject_id = last, .q = "marker", .limit = 10,
                                   .mode = SEARCH_MODE_BM25 };

        assert_int_equal(search_memories(a, g.st, tenant, &sq, &got, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_string_equal(got[0].content, "qwert marker");
        sq.q = "zyxwv";
        assert_int_equal(search_memories(a, g.st, tenant, &sq, &got, &n, &err), 0);
        assert_int_equal(n, 0);
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_store_scan_vectors_rows),
        T(test_store_scan_vectors_stop),
        T(test_store_memory_get_many),
        T(test_search_nearest_order_and_ties),
        T(test_search_nearest_matches_reference),
        T(test_search_nearest_width_mismatch),
        T(test_store_scan_text_order_and_stop),
        T(test_search_text_matches_filtering_the_list),
        T(test_search_text_index_matches_scan),
        T(test_search_text_index_follows_writes),
        T(test_codes_follow_every_write),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
