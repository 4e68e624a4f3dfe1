/* test_store_ratelimit.c - the store contract suite for the ops under "rate limits and job
 * admin" in store.h: distributed rate-limit windows, and the operator's job list, purge and
 * counts. Written only against store.h, so it runs unchanged on every backend;
 * ENGRAM_TEST_DATABASE_URL picks the database (default: a fresh SQLite temp file). Every test
 * makes its own keys, subjects and tenants, so a shared database is fine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/ts.h"

#include "store_harness.h"   /* g, group and test setup, ids */

/* ---- rate-limit windows ---- */

static int64_t hit(store *st, const char *key, int64_t window, int64_t now)
{
    struct err err = ERR_INIT;
    int64_t count = -1;

    assert_int_equal(store_ratelimit_hit(st, key, window, now, &count, &err), 0);
    return count;
}

static void test_store_ratelimit_hit_counts_per_window(void **state)
{
    struct arena *a = *state;
    const char *k = uniq(a, "10.0.0.1"), *other = uniq(a, "10.0.0.2");

    assert_int_equal(hit(g.st, k, 1717243200, T0), 1);
    assert_int_equal(hit(g.st, k, 1717243200, T0 + 1), 2);
    assert_int_equal(hit(g.st, k, 1717243200, T0 + 2), 3);
    assert_int_equal(hit(g.st, other, 1717243200, T0 + 3), 1);
    assert_int_equal(hit(g.st, k, 1717243260, T0 + 60 * SEC), 1);   /* the next window */
    assert_int_equal(hit(g.st, k, 1717243200, T0 + 61 * SEC), 4);   /* a late hit counts */
}

/* Windows are shared by every connection (and so by every process on the database). */
static void test_store_ratelimit_hit_two_connections(void **state)
{
    struct arena *a = *state;
    const char *k = uniq(a, "::1");
    struct err err = ERR_INIT;
    store *st2;

    assert_int_equal(store_open(g.ops, g.conninfo, &st2, &err), 0);
    assert_int_equal(hit(g.st, k, 1717243200, T0), 1);
    assert_int_equal(hit(st2, k, 1717243200, T0), 2);
    assert_int_equal(hit(g.st, k, 1717243200, T0), 3);
    assert_int_equal(hit(st2, k, 1717243200, T0), 4);
    store_close(st2);
}

#define NHITS 200

struct hitter {
    store *st;
    const char *key;
    int ok;        /* hits counted */
    int busy;      /* hits refused with ERR_UNAVAILABLE (SQLite lock contention) */
    int failed;    /* any other failure */
};

static void *hit_many(void *arg)
{
    struct hitter *h = arg;
    int i;

    for (i = 0; i < NHITS; i++) {
        struct err err = ERR_INIT;
        int64_t count;

        if (store_ratelimit_hit(h->st, h->key, 1717243200, T0, &count, &err) == 0)
            h->ok++;
        else if (err.kind == ERR_UNAVAILABLE)
            h->busy++;
        else
            h->failed++;
        err_release(&err);
    }
    return NULL;
}

/* Two threads on two connections at once: the upsert is atomic, no hit is lost. SQLite may
 * refuse a hit after its short busy timeout (the limiter then fails open); such a hit is
 * not counted, and PostgreSQL never refuses one. */
static void test_store_ratelimit_hit_concurrent(void **state)
{
    struct arena *a = *state;
    const char *k = uniq(a, "198.51.100.7");
    struct hitter h[2] = { { NULL, k, 0, 0, 0 }, { NULL, k, 0, 0, 0 } };
    struct err err = ERR_INIT;
    pthread_t th[2];
    int i;

    for (i = 0; i < 2; i++)
        assert_int_equal(store_open(g.ops, g.conninfo, &h[i].st, &err), 0);
    for (i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hit_many, &h[i]), 0);
    for (i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        store_close(h[i].st);
    }
    assert_int_equal(h[0].failed + h[1].failed, 0);
    if (strcmp(g.ops->name, "postgres") == 0)
        assert_int_equal(h[0].busy + h[1].busy, 0);
    assert_int_equal(hit(g.st, k, 1717243200, T0), h[0].ok + h[1].ok + 1);
}

/* Windows before the cutoff go; the cutoff's own window and later stay. */
static void test_store_ratelimit_purge(void **state)
{
    struct arena *a = *state;
    const char *k = uniq(a, "192.0.2.1");
    struct err err = ERR_INIT;
    int64_t deleted = -1;

    hit(g.st, k, 60, T0);
    hit(g.st, k, 120, T0);
    hit(g.st, k, 120, T0);
    hit(g.st, k, 180, T0);
    hit(g.st, k, 180, T0);
    assert_int_equal(store_ratelimit_purge(g.st, 180, &deleted, &err), 0);
    assert_true(deleted >= 2);   /* ours, and any an earlier run left that old */
    assert_int_equal(hit(g.st, k, 60, T0), 1);
    assert_int_equal(hit(g.st, k, 120, T0), 1);
    assert_int_equal(hit(g.st, k, 180, T0), 3);
    assert_int_equal(store_ratelimit_purge(g.st, 240, &deleted, &err), 0);
    assert_true(deleted >= 3);
    assert_int_equal(store_ratelimit_purge(g.st, 240, &deleted, &err), 0);
    assert_int_equal(deleted, 0);
}

/* ---- job admin ---- */

static struct compile_job *add_job(struct arena *a, const char *tenant, const char *subject,
                                   const char *status, int64_t created_at)
{
    struct compile_job *job = arena_calloc(a, 1, sizeof(*job));
    struct err err = ERR_INIT;

    random_hex(job->id, 8);
    job->subject_id = subject;
    job->tenant_id = tenant;
    job->status = status;
    job->memories_created = strcmp(status, "completed") == 0 ? 3 : 0;
    job->error = strcmp(status, "failed") == 0 ? "boom" : NULL;
    job->created_at = created_at;
    job->started_at = strcmp(status, "pending") == 0 ? TS_NULL : created_at + 1;
    job->completed_at = strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0
                            ? created_at + 2 : TS_NULL;
    job->lease_expires_at = strcmp(status, "running") == 0 ? created_at + 3600 * SEC : TS_NULL;
    assert_int_equal(store_job_insert(g.st, job, &err), 0);
    return job;
}

static struct compile_job *list(struct arena *a, const char *status, const char *subject,
                                const char *tenant, size_t limit, size_t offset, size_t *n,
                                int64_t *total)
{
    struct job_rows jr;
    struct job_filter f = { status, subject, tenant, 0 };
    struct compile_job *jobs = (void *)1;
    struct err err = ERR_INIT;

    assert_int_equal(store_job_list(g.st, a, &f,
                                    &(struct store_page){ .limit = limit, .offset = offset }, &jr,
                                    &err), 0);
    jobs = jr.items;
    *n = jr.n;
    *total = jr.total;
    assert_non_null(jobs);
    return jobs;
}

static int64_t delete_jobs(const char *status, const char *subject, const char *tenant)
{
    struct job_filter f = { status, subject, tenant, 0 };
    struct err err = ERR_INIT;
    int64_t deleted = -1;

    assert_int_equal(store_job_delete(g.st, &f, &deleted, &err), 0);
    return deleted;
}

/* End the live jobs of subject and delete everything of it. */
static void remove_subject_jobs(struct arena *a, const char *subject)
{
    struct compile_job *jobs;
    struct err err = ERR_INIT;
    int64_t total;
    size_t n, i;

    jobs = list(a, NULL, subject, NULL, 1000, 0, &n, &total);
    for (i = 0; i < n; i++)
        assert_int_equal(store_job_finish(g.st,
                                          &(struct job_outcome){ .id = jobs[i].id,
                                                                 .status = "failed",
                                                                 .memories_created = 0,
                                                                 .error = "test over",
                                                                 .completed_at = T0 },
                                          &err),
                         0);
    delete_jobs(NULL, subject, NULL);
    list(a, NULL, subject, NULL, 10, 0, &n, &total);
    assert_int_equal(total, 0);
}

static void test_store_job_list_newest_first_and_pages(void **state)
{
    struct arena *a = *state;
    const char *s = uniq(a, "jobs"), *t = uniq(a, "tn");
    struct compile_job *j1 = add_job(a, t, s, "completed", T0);
    struct compile_job *j2 = add_job(a, NULL, s, "failed", T0 + SEC);
    struct compile_job *j3 = add_job(a, t, s, "running", T0 + 2 * SEC);
    struct compile_job *j4 = add_job(a, t, s, "pending", T0 + 2 * SEC);   /* tie: inserted later */
    struct compile_job *got;
    int64_t total = -1;
    size_t n;

    got = list(a, NULL, s, NULL, 10, 0, &n, &total);
    assert_int_equal(n, 4);
    assert_int_equal(total, 4);
    assert_string_equal(got[0].id, j4->id);
    assert_string_equal(got[1].id, j3->id);
    assert_string_equal(got[2].id, j2->id);
    assert_string_equal(got[3].id, j1->id);
    /* Every field round-trips. */
    assert_string_equal(got[3].subject_id, s);
    assert_string_equal(got[3].tenant_id, t);
    assert_string_equal(got[3].status, "completed");
    assert_int_equal(got[3].memories_created, 3);
    assert_null(got[3].error);
    assert_int_equal(got[3].created_at, T0);
    assert_int_equal(got[3].started_at, T0 + 1);
    assert_int_equal(got[3].completed_at, T0 + 2);
    assert_null(got[2].tenant_id);
    assert_string_equal(got[2].error, "boom");
    assert_int_equal(got[0].started_at, TS_NULL);
    assert_int_equal(got[0].completed_at, TS_NULL);
    /* Pages: total counts every match whatever the page. */
    got = list(a, NULL, s, NULL, 2, 1, &n, &total);
    assert_int_equal(n, 2);
    assert_int_equal(total, 4);
    assert_string_equal(got[0].id, j3->id);
    assert_string_equal(got[1].id, j2->id);
    list(a, NULL, s, NULL, 2, 4, &n, &total);
    assert_int_equal(n, 0);
    assert_int_equal(total, 4);
    remove_subject_jobs(a, s);
}

static void test_store_job_list_filters(void **state)
{
    struct arena *a = *state;
    const char *s = uniq(a, "jobs"), *s2 = uniq(a, "jobs"), *t = uniq(a, "tn");
    struct compile_job *j1 = add_job(a, t, s, "completed", T0);
    struct compile_job *j2 = add_job(a, NULL, s, "completed", T0 + SEC);
    struct compile_job *j3 = add_job(a, t, s2, "failed", T0 + 2 * SEC);
    struct compile_job *got;
    int64_t total;
    size_t n;

    got = list(a, "completed", s, NULL, 10, 0, &n, &total);
    assert_int_equal(total, 2);
    assert_string_equal(got[0].id, j2->id);
    got = list(a, NULL, NULL, t, 10, 0, &n, &total);
    assert_int_equal(total, 2);
    assert_string_equal(got[0].id, j3->id);
    assert_string_equal(got[1].id, j1->id);
    got = list(a, "completed", NULL, t, 10, 0, &n, &total);
    assert_int_equal(total, 1);
    assert_string_equal(got[0].id, j1->id);
    list(a, "failed", s, t, 10, 0, &n, &total);
    assert_int_equal(total, 0);
    /* A tenant filter never matches jobs without a tenant; an unknown tenant matches none. */
    list(a, NULL, s, uniq(a, "tn"), 10, 0, &n, &total);
    assert_int_equal(total, 0);
    list(a, NULL, s, "", 10, 0, &n, &total);
    assert_int_equal(total, 0);
    list(a, "no-such-status", s, NULL, 10, 0, &n, &total);
    assert_int_equal(total, 0);
    remove_subject_jobs(a, s);
    remove_subject_jobs(a, s2);
}

static void test_store_job_delete_terminal_only(void **state)
{
    struct arena *a = *state;
    const char *s = uniq(a, "jobs"), *t = uniq(a, "tn");
    struct compile_job *pending = add_job(a, t, s, "pending", T0);
    struct compile_job *running = add_job(a, t, s, "running", T0 + 1);
    struct compile_job *got;
    int64_t total;
    size_t n;

    add_job(a, t, s, "completed", T0 + 2);
    add_job(a, t, s, "completed", T0 + 3);
    add_job(a, NULL, s, "failed", T0 + 4);
    /* A non-terminal status filter deletes nothing. */
    assert_int_equal(delete_jobs("pending", s, NULL), 0);
    assert_int_equal(delete_jobs("running", NULL, t), 0);
    assert_int_equal(delete_jobs("completed", s, NULL), 2);
    assert_int_equal(delete_jobs(NULL, NULL, t), 0);    /* the tenant's rest is live */
    assert_int_equal(delete_jobs(NULL, s, NULL), 1);    /* the failed one */
    got = list(a, NULL, s, NULL, 10, 0, &n, &total);
    assert_int_equal(total, 2);
    assert_string_equal(got[0].id, running->id);
    assert_string_equal(got[1].id, pending->id);
    remove_subject_jobs(a, s);
}

static int64_t status_count(const struct status_count *c, size_t n, const char *status)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(c[i].status, status) == 0)
            return c[i].count;
    }
    return 0;
}

static void counts(struct arena *a, struct status_count **c, size_t *n)
{
    struct status_count_rows scr;
    struct err err = ERR_INIT;
    size_t i;

    assert_int_equal(store_job_count_by_status(g.st, a, &scr, &err), 0);
    *c = scr.items;
    *n = scr.n;
    for (i = 1; i < *n; i++)
        assert_true(strcmp((*c)[i - 1].status, (*c)[i].status) < 0);
    for (i = 0; i < *n; i++)
        assert_true((*c)[i].count > 0);
}

static void test_store_job_count_by_status(void **state)
{
    struct arena *a = *state;
    const char *s = uniq(a, "jobs");
    struct status_count *before, *after;
    size_t nb, na;

    counts(a, &before, &nb);
    add_job(a, NULL, s, "pending", T0);
    add_job(a, uniq(a, "tn"), s, "pending", T0);
    add_job(a, NULL, s, "running", T0);
    add_job(a, NULL, s, "completed", T0);
    add_job(a, uniq(a, "tn"), s, "failed", T0);
    add_job(a, NULL, s, "failed", T0);
    counts(a, &after, &na);
    assert_int_equal(status_count(after, na, "pending") - status_count(before, nb, "pending"), 2);
    assert_int_equal(status_count(after, na, "running") - status_count(before, nb, "running"), 1);
    assert_int_equal(status_count(after, na, "completed") -
                     status_count(before, nb, "completed"), 1);
    assert_int_equal(status_count(after, na, "failed") - status_count(before, nb, "failed"), 2);
    remove_subject_jobs(a, s);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_store_ratelimit_hit_counts_per_window),
        T(test_store_ratelimit_hit_two_connections),
        T(test_store_ratelimit_hit_concurrent),
        T(test_store_ratelimit_purge),
        T(test_store_job_list_newest_first_and_pages),
        T(test_store_job_list_filters),
        T(test_store_job_delete_terminal_only),
        T(test_store_job_count_by_status),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
