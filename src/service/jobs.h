/* jobs.h - durable asynchronous compile jobs (spec/data-model.md §4): rows in compile_jobs,
 * claimed with a renewed lease by background worker threads, resumed after a restart. */
#ifndef ENGRAM_SERVICE_JOBS_H
#define ENGRAM_SERVICE_JOBS_H

#include "service/compile.h"
#include "store/store.h"

/* Start cfg->compile_workers worker threads (each with its own connection). */
int jobs_start(struct err *err);
/* Stop the workers: a running job finishes first. */
void jobs_stop(void);
/* Record a pending job for (tenant, subject) and wake a worker; *out is the new row. */
int jobs_submit(struct arena *a, store *st, const char *tenant, const char *subject, int force,
                struct compile_job *out, struct err *err);
/* The job as the polling endpoint shows it: the row (tenant-scoped) and, when this process
 * ran it and still remembers it, the memories it produced (*memories NULL otherwise). */
int jobs_lookup(struct arena *a, store *st, const char *tenant, const char *id,
                struct compile_job **job, struct memory **memories, size_t *nmemories,
                struct err *err);

/* ---- the operator's view (spec/api.md §7.2): jobs of every tenant ---- */

/* One page of the jobs matching f (NULL members are no filter), newest first, into *out (rows
 * in the arena). A filter value that is not UTF-8 text matches no stored job: an empty
 * page. Returns -1 with err set (and an empty page) when the store fails. */
int jobs_list(struct arena *a, store *st, const struct job_filter *f,
              const struct store_page *pg, struct job_rows *out, struct err *err);
/* Delete the finished jobs matching f: at least one filter is required (400), and a status
 * filter must be completed or failed (400). *deleted = how many. */
int jobs_purge(store *st, const struct job_filter *f, int64_t *deleted, struct err *err);
/* Compile jobs per status in every tenant (for the metrics gauges). */
int jobs_count_by_status(struct arena *a, store *st, struct status_count_rows *out,
                         struct err *err);

#endif
