/* test_store_jobs.c - the store contract suite for durable compile jobs: insert and get,
 * leases and their claims (in order, from two connections, concurrently, beside a writer),
 * the stuck count, the retention delete, and the operator's view (list, delete by filter,
 * counts per status). Written only against store.h, so it runs unchanged on every
 * backend; ENGRAM_TEST_DATABASE_URL picks the database (default: a fresh SQLite temp file). */
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

/* ---- compile jobs ---- */

/* Before any job exists (this runs first), nothing is stuck, in a transaction or not. */
static void test_store_job_count_stuck_empty(void **state)
{
    struct err err = ERR_INIT;
    int64_t n = 99;

    (void)state;
    assert_int_equal(store_job_count_stuck(g.st, ts_now(), &n, &err), 0);
    assert_int_equal(n, 0);
    n = 99;
    assert_int_equal(store_job_count_stuck(g.st, T0, &n, &err), 0);
    assert_int_equal(n, 0);
    /* It works inside a transaction too (readiness may share a connection). */
    assert_int_equal(store_tx_begin(g.st, &err), 0);
    n = 99;
    assert_int_equal(store_job_count_stuck(g.st, ts_now(), &n, &err), 0);
    assert_int_equal(n, 0);
    store_tx_rollback(g.st);
}

/* ---- compile jobs ---- */

#define FAR_FUTURE 4102444800000000LL   /* 2100-01-01: every lease has expired by then */

static struct compile_job make_job(struct arena *a, const char *tenant, const char *subject,
                                   int64_t created_at)
{
    struct compile_job job = {
        .subject_id = subject,
        .tenant_id = tenant,
        .status = "pending",
        .created_at = created_at,
        .started_at = TS_NULL,
        .completed_at = TS_NULL,
        .lease_expires_at = TS_NULL,
    };

    (void)a;
    random_hex(job.id, 8);
    return job;
}

static void job_insert_ok(const struct compile_job *job)
{
    struct err err = ERR_INIT;

    assert_int_equal(store_job_insert(g.st, job, &err), 0);
}

static struct compile_job *job_claim(struct arena *a, store *st, int64_t now, int64_t until)
{
    struct err err = ERR_INIT;
    struct compile_job *job = (void *)1;

    assert_int_equal(store_job_claim(st, a, now, until, &job, &err), 0);
    return job;
}

static struct compile_job *job_get(struct arena *a, const char *tenant, const char *id)
{
    struct err err = ERR_INIT;
    struct compile_job *job = (void *)1;

    assert_int_equal(store_job_get(g.st, a, tenant, id, &job, &err), 0);
    return job;
}

static void job_finish_ok(const char *id)
{
    struct err err = ERR_INIT;

    assert_int_equal(store_job_finish(g.st,
                                      &(struct job_outcome){ .id = id, .status = "completed",
                                                             .memories_created = 0, .error = NULL,
                                                             .completed_at = T0 },
                                      &err), 0);
}

/* Claims take the oldest job of every tenant: finish whatever an earlier test (or an earlier
 * run on a shared database) left claimable, so each job test starts from an empty queue. */
static void drain_jobs(struct arena *a)
{
    struct compile_job *job;

    while ((job = job_claim(a, g.st, FAR_FUTURE, FAR_FUTURE + 1)) != NULL)
        job_finish_ok(job->id);
}

static void test_store_job_insert_get(void **state)
{
    struct arena *a = *state;
    const char *t = uniq(a, "tn"), *s = uniq(a, "job");
    struct compile_job job = make_job(a, t, s, T0), dup = make_job(a, NULL, s, T0), *got;
    struct err err = ERR_INIT;

    drain_jobs(a);
    job.force = 1;
    job_insert_ok(&job);
    memcpy(dup.id, job.id, sizeof(dup.id));
    assert_int_equal(store_job_insert(g.st, &dup, &err), -1);
    assert_int_equal(err.kind, ERR_CONFLICT);
    err_release(&err);
    got = job_get(a, t, job.id);
    assert_non_null(got);
    assert_string_equal(got->id, job.id);
    assert_string_equal(got->subject_id, s);
    assert_string_equal(got->tenant_id, t);
    assert_string_equal(got->status, "pending");
    assert_int_equal(got->memories_created, 0);
    assert_null(got->error);
    assert_int_equal(got->force, 1);
    assert_int_equal(got->created_at, T0);
    assert_int_equal(got->started_at, TS_NULL);
    assert_int_equal(got->completed_at, TS_NULL);
    assert_int_equal(got->lease_expires_at, TS_NULL);
    /* Strict isolation: another tenant (or none) sees no such job. */
    assert_null(job_get(a, NULL, job.id));
    assert_null(job_get(a, uniq(a, "tn"), job.id));
    assert_null(job_get(a, t, "00000000"));
    dup.force = 0;
    random_hex(dup.id, 8);
    job_insert_ok(&dup);
    got = job_get(a, NULL, dup.id);
    assert_null(got->tenant_id);
    assert_int_equal(got->force, 0);
    drain_jobs(a);
}

static void test_store_job_lease_lifecycle(void **state)
{
    struct arena *a = *state;
    const char *t = uniq(a, "tn"), *s = uniq(a, "job");
    struct compile_job job = make_job(a, t, s, T0), failing = make_job(a, t, s, T0 + 1), *got;
    struct err err = ERR_INIT;

    drain_jobs(a);
    job_insert_ok(&job);
    got = job_claim(a, g.st, T0 + 10, T0 + 70);
    assert_non_null(got);
    assert_string_equal(got->id, job.id);
    assert_string_equal(got->status, "running");
    assert_string_equal(got->subject_id, s);
    assert_string_equal(got->tenant_id, t);
    assert_int_equal(got->started_at, T0 + 10);
    assert_int_equal(got->lease_expires_at, T0 + 70);
    assert_int_equal(job_get(a, t, job.id)->lease_expires_at, T0 + 70);
    assert_null(job_claim(a, g.st, T0 + 20, T0 + 80));   /* leased: nobody else gets it */
    assert_int_equal(store_job_renew(g.st, job.id, T0 + 100, &err), 0);
    assert_null(job_claim(a, g.st, T0 + 80, T0 + 140));  /* renewed past 80 */
    /* The lease expired (its worker died): the job is claimed again, started_at kept. */
    got = job_claim(a, g.st, T0 + 200, T0 + 260);
    assert_non_null(got);
    assert_string_equal(got->id, job.id);
    assert_int_equal(got->started_at, T0 + 10);
    assert_int_equal(got->lease_expires_at, T0 + 260);
    assert_int_equal(store_job_finish(g.st,
                                      &(struct job_outcome){ .id = job.id, .status = "completed",
                                                             .memories_created = 3, .error = NULL,
                                                             .completed_at = T0 + 300 },
                                      &err), 0);
    got = job_get(a, t, job.id);
    assert_string_equal(got->status, "completed");
    assert_int_equal(got->memories_created, 3);
    assert_null(got->error);
    assert_int_equal(got->completed_at, T0 + 300);
    assert_int_equal(got->lease_expires_at, TS_NULL);
    assert_null(job_claim(a, g.st, FAR_FUTURE, FAR_FUTURE + 1));   /* terminal: never again */
    /* A renew of a finished job changes nothing. */
    assert_int_equal(store_job_renew(g.st, job.id, T0 + 999, &err), 0);
    assert_int_equal(job_get(a, t, job.id)->lease_expires_at, TS_NULL);

    job_insert_ok(&failing);
    assert_non_null(job_claim(a, g.st, T0 + 10, T0 + 70));
    assert_int_equal(store_job_finish(g.st,
                                      &(struct job_outcome){ .id = failing.id, .status = "failed",
                                                             .memories_created = 0,
                                                             .error = "boom \xe2\x9c\x97",
                                                             .completed_at = T0 + 20 },
                                      &err), 0);
    got = job_get(a, t, failing.id);
    assert_string_equal(got->status, "failed");
    assert_string_equal(got->error, "boom \xe2\x9c\x97");
    assert_int_equal(got->completed_at, T0 + 20);
    assert_null(job_claim(a, g.st, FAR_FUTURE, FAR_FUTURE + 1));
}

/* A worker reads the clock, then claims: a job inserted between the two must not start
 * before it was created (started_at is never before created_at). */
static void test_store_job_claim_before_created(void **state)
{
    struct arena *a = *state;
    const char *t = uniq(a, "tn"), *s = uniq(a, "job");
    struct compile_job job = make_job(a, t, s, T0 + 500), *got;

    drain_jobs(a);
    job_insert_ok(&job);
    got = job_claim(a, g.st, T0 + 10, T0 + 70);
    assert_non_null(got);
    assert_string_equal(got->id, job.id);
    assert_int_equal(got->started_at, T0 + 500);
    assert_int_equal(job_get(a, t, job.id)->started_at, T0 + 500);
    job_finish_ok(job.id);
}

static void test_store_job_claim_order(void **state)
{
    struct arena *a = *state;
    const char *s = uniq(a, "job");
    struct compile_job ja = make_job(a, NULL, s, T0 + 5), jb = make_job(a, NULL, s, T0);
    struct compile_job jc = make_job(a, NULL, s, T0), jd = make_job(a, uniq(a, "tn"), s, T0 - 1);
    struct compile_job *got;

    drain_jobs(a);
    job_insert_ok(&ja);
    job_insert_ok(&jb);
    job_insert_ok(&jc);
    job_insert_ok(&jd);
    /* Oldest first over every tenant; equal created_at by insertion order. */
    assert_string_equal(job_claim(a, g.st, T0, T0 + 1000)->id, jd.id);
    assert_string_equal(job_claim(a, g.st, T0, T0 + 1000)->id, jb.id);
    assert_string_equal(job_claim(a, g.st, T0, T0 + 1000)->id, jc.id);
    got = job_claim(a, g.st, T0, T0 + 1000);
    assert_string_equal(got->id, ja.id);
    assert_int_equal(got->started_at, T0 + 5);   /* created at T0 + 5: never starts before */
    assert_null(job_claim(a, g.st, T0 + 999, T0 + 2000));
    job_finish_ok(ja.id);
    job_finish_ok(jb.id);
    job_finish_ok(jc.id);
    job_finish_ok(jd.id);
}

#define PURGE_T 1000000LL   /* 1970: older than every other test's jobs */

/* The retention purge is a delete by created_before: terminal jobs older than the cutoff. */
static void test_store_job_delete_created_before(void **state)
{
    struct arena *a = *state;
    const char *s = uniq(a, "job");
    struct compile_job done = make_job(a, NULL, s, PURGE_T), failed = make_job(a, NULL, s, PURGE_T);
    struct compile_job newer = make_job(a, NULL, s, PURGE_T + 5);
    struct compile_job pending = make_job(a, NULL, s, PURGE_T - 5);
    struct compile_job running = make_job(a, NULL, s, PURGE_T - 4);
    struct err err = ERR_INIT;
    int64_t deleted = -1;

    drain_jobs(a);
    done.status = "completed";
    failed.status = "failed";
    newer.status = "completed";
    running.status = "running";
    running.lease_expires_at = FAR_FUTURE + 2;
    job_insert_ok(&done);
    job_insert_ok(&failed);
    job_insert_ok(&newer);
    job_insert_ok(&pending);
    job_insert_ok(&running);
    assert_int_equal(store_job_delete(g.st, &(struct job_filter){ .created_before = PURGE_T + 1 },
                                      &deleted, &err), 0);
    assert_int_equal(deleted, 2);   /* terminal and older than the cutoff only */
    assert_null(job_get(a, NULL, done.id));
    assert_null(job_get(a, NULL, failed.id));
    assert_non_null(job_get(a, NULL, newer.id));
    assert_non_null(job_get(a, NULL, pending.id));
    assert_non_null(job_get(a, NULL, running.id));
    /* Clean up: finish the live ones and purge everything of this test. */
    job_finish_ok(pending.id);
    job_finish_ok(running.id);
    assert_int_equal(store_job_delete(g.st, &(struct job_filter){ .created_before = PURGE_T + 6 },
                                      &deleted, &err), 0);
    assert_int_equal(deleted, 3);
}

#define NJOBS 20

/* Index of id among the test jobs, or -1. */
static int job_index(char ids[][40], const char *id)
{
    int i;

    for (i = 0; i < NJOBS; i++)
        if (strcmp(ids[i], id) == 0)
            return i;
    return -1;
}

/* Insert NJOBS jobs (created_at ties included) and remember their ids. */
static void insert_jobs(struct arena *a, char ids[][40])
{
    const char *s = uniq(a, "jobs");
    int i;

    for (i = 0; i < NJOBS; i++) {
        struct compile_job job = make_job(a, NULL, s, T0 + i % 3);

        job_insert_ok(&job);
        memcpy(ids[i], job.id, sizeof(job.id));
    }
}

/* Two connections claiming in turn never get the same job; every job is claimed once. */
static void test_store_job_claim_two_connections(void **state)
{
    struct arena *a = *state;
    char ids[NJOBS][40];
    int claimed[NJOBS] = { 0 }, i, turn, idle = 0;
    struct err err = ERR_INIT;
    store *st2, *sts[2];

    drain_jobs(a);
    assert_int_equal(store_open(g.ops, g.conninfo, &st2, &err), 0);
    sts[0] = g.st;
    sts[1] = st2;
    insert_jobs(a, ids);
    for (turn = 0; idle < 2; turn++) {
        struct compile_job *job = job_claim(a, sts[turn % 2], T0 + 10, T0 + 1000);

        if (!job) {
            idle++;
            continue;
        }
        idle = 0;
        i = job_index(ids, job->id);
        assert_true(i >= 0);
        claimed[i]++;
    }
    store_close(st2);
    for (i = 0; i < NJOBS; i++) {
        assert_int_equal(claimed[i], 1);
        job_finish_ok(ids[i]);
    }
}

struct claimer {
    store *st;
    char got[NJOBS + 1][40];   /* ids claimed, in order */
    int n;
    int failed;                /* a claim returned an error */
};

static void *claim_all(void *arg)
{
    struct claimer *c = arg;
    struct arena *a = arena_new();

    for (;;) {
        struct err err = ERR_INIT;
        struct compile_job *job;

        if (store_job_claim(c->st, a, T0 + 10, T0 + 1000, &job, &err) < 0) {
            c->failed = 1;
            err_release(&err);
            break;
        }
        if (!job || c->n == NJOBS + 1)
            break;
        memcpy(c->got[c->n++], job->id, sizeof(job->id));
    }
    arena_free(a);
    return NULL;
}

/* An idle poll is a read: it answers "nothing to claim" at once while another connection
 * holds the write lock (on SQLite an UPDATE would wait out busy_timeout, 5 s, then fail),
 * and claims the job once the writer has committed it. */
static void test_store_job_poll_beside_a_writer(void **state)
{
    struct arena *a = *state;
    struct compile_job job = make_job(a, NULL, uniq(a, "poll"), T0), *got;
    struct err err = ERR_INIT;
    store *writer;
    int64_t start;

    drain_jobs(a);
    assert_int_equal(store_open(g.ops, g.conninfo, &writer, &err), 0);
    assert_int_equal(store_tx_begin(writer, &err), 0);
    assert_int_equal(store_job_insert(writer, &job, &err), 0);
    start = ts_monotonic();
    assert_int_equal(store_job_claim(g.st, a, FAR_FUTURE, FAR_FUTURE + 1, &got, &err), 0);
    assert_null(got);
    /* A functional bound, far below busy_timeout: the poll did not wait for the lock. */
    assert_true(ts_monotonic() - start < 2 * SEC);
    assert_int_equal(store_tx_commit(writer, &err), 0);
    store_close(writer);
    got = job_claim(a, g.st, FAR_FUTURE, FAR_FUTURE + 1);
    assert_non_null(got);
    assert_string_equal(got->id, job.id);
    job_finish_ok(job.id);
}

/* The same from two threads at once: SQLite's write lock and PostgreSQL's SKIP LOCKED. */
static void test_store_job_claim_concurrent(void **state)
{
    struct arena *a = *state;
    char ids[NJOBS][40];
    struct claimer c[2];
    int claimed[NJOBS] = { 0 }, i, k;
    struct err err = ERR_INIT;
    pthread_t th[2];

    drain_jobs(a);
    insert_jobs(a, ids);
    memset(c, 0, sizeof(c));
    for (k = 0; k < 2; k++) {
        assert_int_equal(store_open(g.ops, g.conninfo, &c[k].st, &err), 0);
        assert_int_equal(pthread_create(&th[k], NULL, claim_all, &c[k]), 0);
    }
    for (k = 0; k < 2; k++) {
        pthread_join(th[k], NULL);
        store_close(c[k].st);
        assert_int_equal(c[k].failed, 0);
        for (i = 0; i < c[k].n; i++) {
            int at = job_index(ids, c[k].got[i]);

            assert_true(at >= 0);
            claimed[at]++;
        }
    }
    for (i = 0; i < NJOBS; i++) {
        assert_int_equal(claimed[i], 1);
        job_finish_ok(ids[i]);
    }
}

/* ---- the operator's view: list, delete by filter, counts per status ---- */

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
                                          &err), 0);
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

/* created_before narrows the list and the delete like any other filter, with the others. */
static void test_store_job_filter_created_before(void **state)
{
    struct arena *a = *state;
    const char *s = uniq(a, "jobs"), *s2 = uniq(a, "jobs");
    struct compile_job *old = add_job(a, NULL, s, "completed", T0);
    struct compile_job *old_live = add_job(a, NULL, s, "pending", T0 + 1);
    struct compile_job *young = add_job(a, NULL, s, "completed", T0 + SEC);
    struct job_filter f = { .subject_id = s, .created_before = T0 + SEC };
    struct compile_job *got;
    struct job_rows rows;
    struct err err = ERR_INIT;
    int64_t deleted = -1, total;
    size_t n;

    add_job(a, NULL, s2, "completed", T0);   /* as old, in another subject */
    assert_int_equal(store_job_list(g.st, a, &f, &(struct store_page){ .limit = 10 }, &rows,
                                    &err), 0);
    assert_int_equal(rows.total, 2);   /* old and old_live: not young, not the other subject */
    assert_string_equal(rows.items[0].id, old_live->id);
    assert_string_equal(rows.items[1].id, old->id);
    assert_int_equal(store_job_delete(g.st, &f, &deleted, &err), 0);
    assert_int_equal(deleted, 1);      /* old only: old_live is not terminal */
    got = list(a, NULL, s, NULL, 10, 0, &n, &total);
    assert_int_equal(n, 2);
    assert_string_equal(got[0].id, young->id);
    assert_string_equal(got[1].id, old_live->id);
    list(a, NULL, s2, NULL, 10, 0, &n, &total);
    assert_int_equal(n, 1);            /* the other subject's old job stays */
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
        T(test_store_job_count_stuck_empty),
        T(test_store_job_insert_get),
        T(test_store_job_lease_lifecycle),
        T(test_store_job_claim_before_created),
        T(test_store_job_claim_order),
        T(test_store_job_delete_created_before),
        T(test_store_job_claim_two_connections),
        T(test_store_job_claim_concurrent),
        T(test_store_job_poll_beside_a_writer),
        T(test_store_job_list_newest_first_and_pages),
        T(test_store_job_list_filters),
        T(test_store_job_filter_created_before),
        T(test_store_job_delete_terminal_only),
        T(test_store_job_count_by_status),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
