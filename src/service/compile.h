/* compile.h - compiling a subject: take its uncompiled episodes, run the configured compiler,
 * insert the memories, mark the episodes, resolve conflicts, commit once; then embed. */
#ifndef ENGRAM_SERVICE_COMPILE_H
#define ENGRAM_SERVICE_COMPILE_H

#include <stddef.h>

#include "store/store.h"

#define COMPILE_BATCH_MAX 500   /* uncompiled episodes taken per call */

struct compile_result {
    struct memory *memories;    /* new memories in emission order, as they stand after
                                 * conflict resolution */
    size_t nmemories;
    size_t episodes_compiled;   /* episodes consumed (0: nothing to do) */
};

/* Compile (tenant, subject) in one transaction; force first deletes the subject's memories
 * and marks every episode uncompiled. A reserved subject id is refused (400). */
int compile_subject(struct arena *a, store *st, const char *tenant, const char *subject,
                    int force, struct compile_result *res, struct err *err);
/* How many episodes of (tenant, subject) still wait for a compile, counted up to
 * COMPILE_BATCH_MAX (one more compile call takes them): *n. */
int compile_pending(struct arena *a, store *st, const char *tenant, const char *subject,
                    size_t *n, struct err *err);

#endif
