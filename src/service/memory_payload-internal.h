/* memory_payload-internal.h - what the files of the memory_payload module share: Python's
 * truthiness of JSON values for the reference's messages (repr() and str() are util/pyrepr),
 * the offset-form timestamp, name lookup, and the string map the import uses. Seen only by
 * memory_payload.c (names, subject-id rules, size, export), memory_payload_plan.c (checking a
 * payload into a plan) and memory_payload_import.c (targets, the write, embeddings).
 */
#ifndef ENGRAM_SERVICE_MEMORY_PAYLOAD_INTERNAL_H
#define ENGRAM_SERVICE_MEMORY_PAYLOAD_INTERNAL_H

#include "service/memory_payload.h"

#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/hmap.h"
#include "util/pyrepr.h"

/* ---- memory_payload.c ---- */

/* The index of name among the n names, or -1 (also for a NULL name). */
int mp_name_index(const char *const *names, size_t n, const char *name);

/* Python truthiness: None, False, 0, 0.0, "", [] and {} are false; a missing key too. */
int mp_py_falsy(const struct jv *v);

/* An offset-form timestamp string, or jv null for TS_NULL. */
struct jv *mp_ts_jv(struct arena *a, int64_t us);

/* ---- memory_payload_plan.c: string → index over a util/hmap (hmap_init it first) ---- */

/* The value of key, or SIZE_MAX. */
size_t mp_strmap_get(const struct hmap *m, const char *key);
/* Set key (kept by pointer: it must outlive the map) to val. */
void mp_strmap_put(struct hmap *m, const char *key, size_t val);

#endif
