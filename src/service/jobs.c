/* jobs.c - durable compile jobs (spec/data-model.md §4, behavior.md §5.2–§5.3).
 *
 * A job is a compile_jobs row. Worker threads claim rows with a lease (store_job_claim), run
 * compile_subject, and end the row completed or failed. One keeper thread renews the lease of
 * every running job every lease/3 and, hourly, purges old terminal jobs and expired
 * rate-limit windows (distributed strategy). A worker that finds nothing to claim sleeps on a
 * condition variable for at most a second, so jobs submitted by other processes and jobs
 * whose worker died (expired lease) are picked up too: a job accepted
 * with 202 reaches a terminal state across restarts. Compile is idempotent, so a re-run after
 * a crash creates nothing twice.
 *
 * The memories a job produced are never stored with the row: this process keeps them for
 * FINISHED_TTL after the job ends, for the polling endpoint.
 */
#include "service/jobs.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/episodes.h"
#include "util/config.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/utf8.h"
#include "util/uuid.h"
#include "util/worker.h"
#include "util/xalloc.h"

#define SEC INT64_C(1000000)
#define IDLE_WAIT_US (1 * SEC)          /* longest sleep of an idle worker */
#define FINISHED_TTL (300 * SEC)        /* how long finished jobs' memories are kept */
#define PURGE_EVERY (3600 * SEC)        /* retention purge period (first pass after one) */
#define ID_ATTEMPTS 8                   /* 8-hex ids: retries on a collision */

/* A job this process finished: its memories, for jobs_lookup. */
struct finished {
    char id[40];
    char *tenant;             /* heap; NULL = no tenant */
    int64_t expires;          /* monotonic microseconds */
    struct arena *arena;      /* owns memories and their strings */
    struct memory *memories;
    size_t n;
    struct finished *next;
};

/* The job a worker is running (id[0] == '\0': idle); the keeper renews its lease. */
struct running {
    char id[40];
    int64_t renew_at;         /* monotonic microseconds */
};

static struct {
    pthread_mutex_t lock;         /* guards running and finished */
    struct worker workers;        /* woken by every submit */
    struct worker keeper;
    int started;                  /* jobs_start ran (jobs_stop has work to do) */
    struct running *running;      /* one slot per worker */
    int nworkers;
    struct finished *finished;    /* newest first */
} jobs = { .lock = PTHREAD_MUTEX_INITIALIZER, .workers = WORKER_INIT, .keeper = WORKER_INIT };

static int64_t lease_us(void)
{
    return (int64_t)(cfg ? cfg->compile_lease_seconds : 60) * SEC;
}

/* ---- finished jobs' memories ---- */

static const char *dup_or_null(struct arena *a, const char *s)
{
    return s ? arena_strdup(a, s) : NULL;
}

static void copy_memories(struct arena *a, const struct memory *src, size_t n,
                          struct memory **out)
{
    struct memory *dst = arena_alloc(a, (n ? n : 1) * sizeof(*dst));
    size_t i;

    for (i = 0; i < n; i++) {
        dst[i] = src[i];
        dst[i].subject_id = dup_or_null(a, src[i].subject_id);
        dst[i].tenant_id = dup_or_null(a, src[i].tenant_id);
        dst[i].kind = dup_or_null(a, src[i].kind);
        dst[i].content = dup_or_null(a, src[i].content);
        dst[i].summary = dup_or_null(a, src[i].summary);
        dst[i].source_episode_ids = dup_or_null(a, src[i].source_episode_ids);
        dst[i].metadata = dup_or_null(a, src[i].metadata);
        dst[i].status = dup_or_null(a, src[i].status);
        dst[i].sensitivity_labels = dup_or_null(a, src[i].sensitivity_labels);
        dst[i].embedding = NULL;   /* never shown by the polling endpoint */
        dst[i].embedding_dim = 0;
    }
    *out = dst;
}

static void finished_free(struct finished *f)
{
    if (!f)
        return;
    arena_free(f->arena);
    free(f->tenant);
    free(f);
}

/* Drop expired entries; lock held. */
static void prune_finished(int64_t now)
{
    struct finished **pp = &jobs.finished;

    while (*pp) {
        struct finished *f = *pp;

        if (f->expires <= now) {
            *pp = f->next;
            finished_free(f);
        } else {
            pp = &f->next;
        }
    }
}

static void remember(const struct compile_job *job, const struct compile_result *res)
{
    struct finished *f = xcalloc(1, sizeof(*f));
    int64_t now = ts_monotonic();

    snprintf(f->id, sizeof(f->id), "%s", job->id);
    f->tenant = job->tenant_id ? xstrdup(job->tenant_id) : NULL;
    f->expires = now + FINISHED_TTL;
    f->arena = arena_new();
    copy_memories(f->arena, res->memories, res->nmemories, &f->memories);
    f->n = res->nmemories;
    pthread_mutex_lock(&jobs.lock);
    prune_finished(now);
    f->next = jobs.finished;
    jobs.finished = f;
    pthread_mutex_unlock(&jobs.lock);
}

static int same_tenant(const char *x, const char *y)
{
    return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

/* Copy the remembered memories of job id (of tenant) into a; 0 when not remembered. */
static int recall(struct arena *a, const char *tenant, const char *id, struct memory **out,
                  size_t *n)
{
    struct finished *f;
    int found = 0;

    pthread_mutex_lock(&jobs.lock);
    prune_finished(ts_monotonic());
    for (f = jobs.finished; f; f = f->next) {
        if (strcmp(f->id, id) == 0 && same_tenant(f->tenant, tenant)) {
            copy_memories(a, f->memories, f->n, out);
            *n = f->n;
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&jobs.lock);
    return found;
}

/* ---- workers ---- */

static void set_running(int slot, const char *id)
{
    pthread_mutex_lock(&jobs.lock);
    snprintf(jobs.running[slot].id, sizeof(jobs.running[slot].id), "%s", id ? id : "");
    jobs.running[slot].renew_at = ts_monotonic() + lease_us() / 3;
    pthread_mutex_unlock(&jobs.lock);
}

static void finish(store *st, const struct compile_job *job, int ok, size_t created,
                   const char *error)
{
    struct err err = ERR_INIT;

    if (store_job_finish(st,
                         &(struct job_outcome){ .id = job->id,
                                                .status = ok ? "completed" : "failed",
                                                .memories_created = (int64_t)created,
                                                .error = ok ? NULL : error,
                                                .completed_at = ts_now() },
                         &err) < 0)
        log_write(LOG_WARN, "compile job '%s': recording the end failed (%s); it will run "
                  "again when its lease expires", job->id, err.msg);
    err_release(&err);
}

static void run_job(struct arena *a, store *st, int slot, const struct compile_job *job)
{
    struct compile_result res;
    struct err err = ERR_INIT;
    int rc;

    set_running(slot, job->id);
    rc = compile_subject(a, st, job->tenant_id, job->subject_id, job->force, &res, &err);
    set_running(slot, NULL);
    if (rc == 0) {
        remember(job, &res);
        finish(st, job, 1, res.nmemories, NULL);
        log_write(LOG_INFO, "compile job '%s' completed: subject '%s', %zu memories", job->id,
                  job->subject_id, res.nmemories);
    } else {
        finish(st, job, 0, 0, err.msg);
        log_write(LOG_WARN, "compile job '%s' failed: subject '%s': %s", job->id,
                  job->subject_id, err.msg);
    }
    err_release(&err);
}

/* Claim and run one job: 1 when one ran, 0 when there was nothing, -1 on a store error. */
static int work_once(struct arena *a, int slot, int *failing)
{
    struct compile_job *job = NULL;
    struct err err = ERR_INIT;
    int64_t now = ts_now();
    store *st = store_thread(&err);

    if (!st || store_job_claim(st, a, now, now + lease_us(), &job, &err) < 0) {
        if (!*failing)
            log_write(LOG_WARN, "compile worker: cannot claim jobs: %s", err.msg);
        *failing = 1;
        err_release(&err);
        return -1;
    }
    *failing = 0;
    if (!job)
        return 0;
    run_job(a, st, slot, job);
    return 1;
}

static void compile_main(struct worker *w, int slot)
{
    struct arena *a = arena_new();
    unsigned long seen;
    int failing = 0;

    while (!worker_stopping(w, &seen)) {
        arena_reset(a);
        if (work_once(a, slot, &failing) == 1)
            continue;
        worker_sleep(w, seen, IDLE_WAIT_US);
    }
    arena_free(a);
    store_thread_drop();
}

/* ---- keeper: lease renewal and retention ---- */

/* Ids of running jobs whose renewal is due (lock held); at most cap. */
static int due_renewals(char (*ids)[40], int cap, int64_t now)
{
    int i, n = 0;

    for (i = 0; i < jobs.nworkers && n < cap; i++) {
        struct running *r = &jobs.running[i];

        if (r->id[0] && r->renew_at <= now) {
            memcpy(ids[n++], r->id, sizeof(r->id));
            r->renew_at = now + lease_us() / 3;
        }
    }
    return n;
}

static void renew_all(char (*ids)[40], int n)
{
    struct err err = ERR_INIT;
    store *st;
    int i;

    if (n == 0)
        return;
    st = store_thread(&err);
    for (i = 0; st && i < n; i++) {
        if (store_job_renew(st, ids[i], ts_now() + lease_us(), &err) < 0)
            break;
    }
    if (err.kind != ERR_NONE)
        log_write(LOG_WARN, "compile jobs: lease renewal failed: %s", err.msg);
    err_release(&err);
}

static void purge_old(void)
{
    struct err err = ERR_INIT;
    int64_t deleted = 0;
    store *st;

    if (!cfg || cfg->job_retention_hours <= 0)
        return;
    st = store_thread(&err);
    if (!st ||
        store_job_delete(st,
                         &(struct job_filter){ .created_before = ts_now() -
                                                   (int64_t)cfg->job_retention_hours * 3600 *
                                                       SEC },
                         &deleted, &err) < 0)
        log_write(LOG_WARN, "compile jobs: retention purge failed: %s", err.msg);
    else if (deleted > 0)
        log_write(LOG_INFO, "compile jobs: purged %lld finished jobs older than %d hours",
                  (long long)deleted, cfg->job_retention_hours);
    err_release(&err);
}

/* Distributed rate limiting keeps the current window and the five before it (data-model.md
 * §5); older rows are dead weight. */
static void purge_rate_limits(void)
{
    struct err err = ERR_INIT;
    int64_t deleted = 0, window;
    store *st;

    if (!cfg || cfg->rate_limit_rpm <= 0 || !cfg->rate_limit_distributed)
        return;
    window = ts_now() / SEC / 60 * 60;
    st = store_thread(&err);
    if (!st || store_ratelimit_purge(st, window - 300, &deleted, &err) < 0)
        log_write(LOG_WARN, "rate limit: purging old windows failed: %s", err.msg);
    else if (deleted > 0)
        log_write(LOG_INFO, "rate limit: purged %lld old windows", (long long)deleted);
    err_release(&err);
}

static void keeper_main(struct worker *w, int slot)
{
    int64_t next_purge = ts_monotonic() + PURGE_EVERY;
    char (*ids)[40] = xcalloc((size_t)jobs.nworkers, sizeof(*ids));
    unsigned long seen;
    int n;

    (void)slot;
    while (!worker_stopping(w, &seen)) {
        worker_sleep(w, seen, IDLE_WAIT_US);
        if (worker_stopping(w, &seen))
            break;
        pthread_mutex_lock(&jobs.lock);
        n = due_renewals(ids, jobs.nworkers, ts_monotonic());
        pthread_mutex_unlock(&jobs.lock);
        renew_all(ids, n);
        if (ts_monotonic() >= next_purge) {
            purge_old();
            purge_rate_limits();
            next_purge += PURGE_EVERY;
        }
    }
    free(ids);
    store_thread_drop();
}

/* ---- lifecycle ---- */

int jobs_start(struct err *err)
{
    int n = cfg && cfg->compile_workers > 0 ? cfg->compile_workers : 1;

    if (jobs.started)
        return 0;
    jobs.running = xcalloc((size_t)n, sizeof(*jobs.running));
    jobs.nworkers = n;
    jobs.started = 1;
    if (worker_start(&jobs.workers, n, compile_main) == 0 &&
        worker_start(&jobs.keeper, 1, keeper_main) == 0)
        return 0;
    jobs_stop();
    return err_set(err, ERR_INTERNAL, "cannot start the compile job threads");
}

void jobs_stop(void)
{
    if (!jobs.started)
        return;
    worker_stop(&jobs.workers);   /* the workers first: the keeper renews their leases */
    worker_stop(&jobs.keeper);
    pthread_mutex_lock(&jobs.lock);
    while (jobs.finished) {
        struct finished *f = jobs.finished;

        jobs.finished = f->next;
        finished_free(f);
    }
    jobs.started = 0;
    pthread_mutex_unlock(&jobs.lock);
    free(jobs.running);
    jobs.running = NULL;
    jobs.nworkers = 0;
}

int jobs_submit(struct arena *a, store *st, const char *tenant, const char *subject, int force,
                struct compile_job *out, struct err *err)
{
    char uuid[UUID_STR_LEN];
    int attempt;

    if (subject_check_writable(subject, err) < 0)
        return -1;
    memset(out, 0, sizeof(*out));
    out->subject_id = arena_strdup(a, subject);
    out->tenant_id = tenant ? arena_strdup(a, tenant) : NULL;
    out->status = "pending";
    out->force = force ? 1 : 0;
    out->created_at = ts_now();
    out->started_at = out->completed_at = out->lease_expires_at = TS_NULL;
    for (attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
        uuid_v4(uuid);
        memcpy(out->id, uuid, 8);
        out->id[8] = '\0';
        if (store_job_insert(st, out, err) == 0) {
            worker_wake(&jobs.workers);
            return 0;
        }
        if (err->kind != ERR_CONFLICT)
            return -1;
        err_release(err);
    }
    return err_set(err, ERR_INTERNAL, "no free compile job id after %d attempts", attempt);
}

int jobs_lookup(struct arena *a, store *st, const char *tenant, const char *id,
                struct compile_job **job, struct memory **memories, size_t *nmemories,
                struct err *err)
{
    *job = NULL;
    *memories = NULL;
    *nmemories = 0;
    if (strlen(id) >= sizeof((*job)->id))
        return 0;   /* longer than any id: unknown */
    if (store_job_get(st, a, tenant, id, job, err) < 0)
        return -1;
    if (*job && strcmp((*job)->status, "completed") == 0)
        recall(a, tenant, id, memories, nmemories);
    return 0;
}

/* ---- the operator's view ---- */

/* Whether a filter value can match stored text at all (it must be valid UTF-8). */
static int filter_possible(const struct job_filter *f)
{
    const char *v[] = { f->status, f->subject_id, f->tenant_id };
    size_t i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        if (v[i] && utf8_valid_len(v[i], strlen(v[i])) != strlen(v[i]))
            return 0;
    }
    return 1;
}

int jobs_list(struct arena *a, store *st, const struct job_filter *f,
              const struct store_page *pg, struct job_rows *out, struct err *err)
{
    memset(out, 0, sizeof(*out));
    if (!filter_possible(f))
        return 0;
    if (store_job_list(st, a, f, pg, out, err) < 0) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return 0;
}

int jobs_purge(store *st, const struct job_filter *f, int64_t *deleted, struct err *err)
{
    *deleted = 0;
    if (!f->status && !f->subject_id && !f->tenant_id)
        return err_set(err, ERR_INVALID, "at least one filter is required");
    if (f->status && strcmp(f->status, "completed") != 0 && strcmp(f->status, "failed") != 0)
        return err_set(err, ERR_INVALID,
                       "status must be one of ('completed', 'failed'); got '%s'", f->status);
    if (!filter_possible(f))
        return 0;
    return store_job_delete(st, f, deleted, err);
}

int jobs_count_by_status(struct arena *a, store *st, struct status_count_rows *out,
                         struct err *err)
{
    return store_job_count_by_status(st, a, out, err);
}
