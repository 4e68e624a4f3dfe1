/* episodes.h - recording episodes: reserved-prefix rule, one clock read per request,
 * idempotency keys, and all-or-nothing batches. Knows neither HTTP nor SQL. */
#ifndef ENGRAM_SERVICE_EPISODES_H
#define ENGRAM_SERVICE_EPISODES_H

#include <stddef.h>

#include "store/store.h"

#define EPISODES_BATCH_MAX 100

/* Refuse a write to a reserved subject id: 400 "Subject id '<id>' uses a reserved prefix
 * (<prefix>)". Returns 0 when the id may be written. */
int subject_check_writable(const char *subject, struct err *err);

/* Store n validated episodes for tenant (NULL = none). Fills each id, tenant_id and the
 * shared created_at. When an idempotency key names an existing episode, eps[i] becomes that
 * episode. n > 1 runs in one transaction: on any failure nothing is written. With webhooks on,
 * the event (spec/api.md §1.12) is recorded in the same transaction, for the episodes that
 * were new.
 * Strings of replaced episodes live in arena a. */
int episodes_record(struct arena *a, store *st, const char *tenant, struct episode *eps,
                    size_t n, struct err *err);
/* episodes_record for one episode, saying whether it was new: *duplicate = 1 when its
 * idempotency key named an existing episode (which *ep then is). */
int episodes_record_one(struct arena *a, store *st, const char *tenant, struct episode *ep,
                        int *duplicate, struct err *err);
/* Parse the RFC 3339 text of an episode time (occurred_at, the timeline bounds): the forms of
 * ts_parse (no offset means UTC), between years 0001 and 9999 once in UTC. Returns 0 and sets
 * *us, or -1 when s is no such time. */
int episodes_parse_time(const char *s, int64_t *us);
/* episodes_record for POST /v1/episodes/batch: one transaction, and its webhook event is
 * episodes.batch_created whatever n (a single ingest fires episode.created). */
int episodes_record_batch(struct arena *a, store *st, const char *tenant, struct episode *eps,
                          size_t n, struct err *err);

/* One single-episode write handed to the group commit queue (issue 22). */
struct episode_job {
    struct arena *a;            /* where a replayed episode's strings go (the request's) */
    struct episode *ep;         /* validated; its id, tenant and created_at are filled */
    /* Queued (episodes_record_async returned 1): called once on the writer thread with the
     * result below; the job must stay alive until then, and is not touched after. */
    void (*done)(struct episode_job *job);
    void *ctx;                  /* the caller's */
    unsigned char fresh;        /* result: 1 = new, 0 = an idempotent replay (*ep is it) */
    int rc;                     /* result: 0, or -1 with err set */
    struct err err;
    int finished;               /* internal */
    struct episode_job *next;   /* internal */
};

/* episodes_record for job->ep without waiting for the commit: 1 when the episode was queued
 * for the ingest writer (job->done(job) follows, on another thread); 0 when it was written
 * now (no writer running, or a backend that does not queue: job->rc, fresh set); -1 with err
 * set when it was refused before any write (reserved subject prefix). */
int episodes_record_async(store *st, const char *tenant, struct episode_job *job,
                          struct err *err);

/* The ingest writer thread of the group commit queue (service start-up and shut-down).
 * STATEWAVE_INGEST_GROUP_COMMIT: auto (SQLite always; PostgreSQL when its commits wait for a
 * WAL flush: fsync and synchronous_commit on), on, off (no writer: every request commits for
 * itself, as before issue 22). Stopping writes what is queued first. */
int episodes_writer_start(struct err *err);
void episodes_writer_stop(void);

/* Counters of the queue since start (bench and tests). */
struct episodes_group_stats {
    unsigned long long groups;      /* groups led */
    unsigned long long episodes;    /* episodes written through the queue */
    unsigned long long commits;     /* transactions committed for them */
    unsigned long long replays;     /* groups rolled back and replayed one by one */
    unsigned long long largest;     /* the largest group */
};
void episodes_group_stats(struct episodes_group_stats *out);

#endif
