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

#endif
