/* cleanup.h - removal of stale ephemeral subjects (spec/backup-snapshots.md §7): the cleanup
 * itself, as POST /admin/cleanup and `engram cleanup` run it, and the background maintenance
 * loop that runs it every STATEWAVE_CLEANUP_INTERVAL_SECONDS when snapshots are enabled. */
#ifndef ENGRAM_SERVICE_CLEANUP_H
#define ENGRAM_SERVICE_CLEANUP_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define CLEANUP_DEFAULT_PREFIX "live_"
#define CLEANUP_DEFAULT_MAX_AGE_HOURS 24
#define CLEANUP_LIST_MAX 1000     /* pairs a dry run lists */

struct cleanup_in {
    const char *prefix;           /* literal subject id prefix; "" is refused (400) */
    int64_t max_age_hours;        /* >= 0: a pair qualifies when older than now - this */
    int all_tenants;              /* 1: every tenant (tenant ignored) */
    const char *tenant;           /* else only this tenant (NULL = the no-tenant space) */
    int dry_run;                  /* 1: find and count, delete nothing */
};

struct cleanup_result {
    int64_t subjects_cleaned;     /* (tenant, subject) pairs deleted, or found by a dry run */
    struct subject_ref *subjects; /* dry run: the first CLEANUP_LIST_MAX pairs (arena) */
    size_t nsubjects;
};

/* 0001-01-01T00:00:00Z: older than any stored row, and within every backend's range. */
#define CLEANUP_FAR_PAST (INT64_C(-62135596800) * 1000000)

/* The cutoff instant: now - hours, never before CLEANUP_FAR_PAST (huge ages saturate). */
int64_t cleanup_cutoff(int64_t now, int64_t max_age_hours);

/*
 * Delete, in one transaction, the episodes, memories, resolutions and health-cache rows of
 * every (tenant, subject) pair whose id starts with the literal prefix and whose newest
 * episode (for a pair without episodes: newest memory update) is older than the cutoff
 * (§7.2). `_snapshot/` subjects are never touched. A dry run only counts and lists.
 * Errors: 400 "prefix must not be empty"; ERR_INTERNAL on a store failure (nothing deleted).
 */
int cleanup_run(struct arena *a, store *st, const struct cleanup_in *in, int64_t now,
                struct cleanup_result *out, struct err *err);

/* Start the background loop when cfg->enable_snapshots is on (else do nothing): one thread,
 * with its own connection, first pass one interval after the start. */
int cleanup_loop_start(struct err *err);
/* Stop the loop promptly (a pass in progress finishes first); safe when it never started. */
void cleanup_loop_stop(void);

#endif
