/* labels.h - sensitivity labels of a memory (spec/api.md §5.3, EXTRA). */
#ifndef ENGRAM_SERVICE_LABELS_H
#define ENGRAM_SERVICE_LABELS_H

#include "store/store.h"

/* Replace the labels of memory id (tenant-scoped) with labels_json (a compact JSON array of
 * normalised labels) and read the memory back into *out (arena a). *out is NULL when no such
 * memory exists in the tenant. Returns -1 with err set on a storage failure. */
int labels_replace(struct arena *a, store *st, const char *tenant, const char *id,
                   const char *labels_json, struct memory **out, struct err *err);

#endif
